//! Who is calling: cookie sessions for the browser, bearer tokens for
//! programs; argon2id passwords; login rate limits.
//!
//! Secrets (session cookies, API tokens) are random 256-bit values; only
//! their SHA-256 is stored, so a copy of the database grants no access.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use truce_core::Role;
use truce_core::journal::Hash;
use truce_store::{AccountChange, Change, Command, User};

use crate::AppState;
use crate::problem::{ApiResult, Problem};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "truce_session";
/// How long a credential lookup is trusted before asking the store again;
/// revocations through the API take effect at once, from the CLI within this.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User name, recorded as the actor of every change.
    pub username: String,
    /// Role, deciding what they may read and write.
    pub role: Role,
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random secret with a recognisable prefix, and its stored hash.
pub fn new_secret(prefix: &str) -> (String, Hash) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = secret_hash(&secret);
    (secret, hash)
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> Hash {
    Sha256::digest(secret.as_bytes()).into()
}

/// Short-lived cache of credential lookups, so a busy client costs no
/// database read per request.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<Hash, (Option<Principal>, Instant)>>,
}

impl AuthCache {
    fn get(&self, h: &Hash) -> Option<Option<Principal>> {
        let map = self.entries.lock().expect("auth cache");
        map.get(h)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(p, _)| p.clone())
    }

    fn put(&self, h: Hash, p: Option<Principal>) {
        let mut map = self.entries.lock().expect("auth cache");
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        map.insert(h, (p, Instant::now()));
    }

    /// Forgets every cached lookup (after a revocation or logout).
    pub fn clear(&self) {
        self.entries.lock().expect("auth cache").clear();
    }
}

/// Login attempts allowed per client address and user name.
pub fn login_limiter() -> Arc<DefaultKeyedRateLimiter<String>> {
    let quota = Quota::with_period(Duration::from_secs(6))
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(10).expect("non-zero"));
    Arc::new(RateLimiter::keyed(quota))
}

fn principal(u: User) -> Principal {
    Principal {
        username: u.username,
        role: u.role,
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let (secret, is_token) = match bearer {
            Some(t) => (t, true),
            None => match cookie_value(&parts.headers, SESSION_COOKIE) {
                Some(c) => (c, false),
                None => return Err(Problem::unauthenticated()),
            },
        };
        let h = secret_hash(&secret);
        let found = match state.auth_cache.get(&h) {
            Some(p) => p,
            None => {
                let user = if is_token {
                    state.store.user_by_token(&h).await?
                } else {
                    state.store.user_by_session(&h).await?
                };
                let p = user.map(principal);
                state.auth_cache.put(h, p.clone());
                p
            }
        };
        found.ok_or_else(Problem::unauthenticated)
    }
}

/// Sign-in request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Who is signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// `POST /api/v1/auth/login`: checks the password, starts a session cookie.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let req: LoginRequest =
        serde_json::from_slice(&body).map_err(|e| Problem::bad_json(e.to_string()))?;
    let key = format!("{}|{}", addr.ip(), req.username);
    if state.login_limiter.check_key(&key).is_err() {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many sign-in attempts; wait and try again",
        );
        p.retry_after = Some(6);
        return Err(p);
    }
    let user = state.store.user(&req.username).await?;
    // Verify against a dummy hash when the user is unknown, so timing does
    // not reveal which user names exist.
    let ok = match &user {
        Some(u) => verify_password(&req.password, &u.password_hash) && !u.disabled,
        None => {
            verify_password(&req.password, &state.dummy_hash);
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "unknown user name or wrong password",
        ));
    };
    let (secret, hash) = new_secret("");
    let hours = state.config.session_hours;
    state
        .store
        .apply(Command {
            actor: user.username.clone(),
            reason: Some("sign in".into()),
            idempotency: None,
            change: Change::Account(AccountChange::CreateSession {
                username: user.username.clone(),
                token_hash: hash,
                expires_at: Timestamp::now() + SignedDuration::from_hours(hours as i64),
            }),
        })
        .await?;
    let secure = state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hours * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut res = Json(Me {
        username: user.username,
        role: user.role,
    })
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("ascii cookie"),
    );
    Ok(res)
}

/// `POST /api/v1/auth/logout`: ends the session.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(secret) = cookie_value(&headers, SESSION_COOKIE) {
        state
            .store
            .apply(Command {
                actor: "system".into(),
                reason: Some("sign out".into()),
                idempotency: None,
                change: Change::Account(AccountChange::EndSession {
                    token_hash: secret_hash(&secret),
                }),
            })
            .await?;
        state.auth_cache.clear();
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("truce_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

/// `GET /api/v1/me`.
pub async fn me(p: Principal) -> Json<Me> {
    Json(Me {
        username: p.username,
        role: p.role,
    })
}
