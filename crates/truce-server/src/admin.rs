//! Users and API tokens over HTTP, for the admin screen: the same account
//! changes as `truce user` and `truce token`, journaled the same way. Admin
//! role only; no endpoint ever returns a password hash or a stored token hash.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::{Role, access};
use truce_store::{AccountChange, Change, Command};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, hash_password, new_secret};
use crate::problem::{ApiResult, Problem};

fn admin_only(p: &Principal) -> ApiResult<()> {
    if access::can_administer(p.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "only an administrator manages users and tokens",
        ))
    }
}

async fn apply(
    state: &AppState,
    p: &Principal,
    why: &str,
    change: AccountChange,
) -> ApiResult<Option<Uuid>> {
    let applied = state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason: Some(why.into()),
            idempotency: None,
            change: Change::Account(change),
        })
        .await?;
    state.auth_cache.clear();
    Ok(applied.created_id)
}

/// `GET /api/v1/admin/users`: every user with role and state.
pub async fn users(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    admin_only(&p)?;
    let users: Vec<Value> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(
            |u| json!({"id": u.id, "username": u.username, "role": u.role, "disabled": u.disabled}),
        )
        .collect();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    Ok(Json(json!({"items": users, "roles": roles})))
}

/// A new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    role: String,
    password: String,
}

/// `POST /api/v1/admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    p: Principal,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    admin_only(&p)?;
    let req: NewUser =
        serde_json::from_slice(&body).map_err(|e| Problem::bad_json(e.to_string()))?;
    let username = req.username.trim().to_string();
    let ok_name = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok_name {
        return Err(Problem::field(
            "username",
            "must be 1..64 letters, digits, '_', '-' or '.'",
        ));
    }
    let role = Role::parse(&req.role)
        .ok_or_else(|| Problem::field("role", format!("{:?} is not a role", req.role)))?;
    if req.password.chars().count() < 10 {
        return Err(Problem::field(
            "password",
            "must have at least 10 characters",
        ));
    }
    let id = apply(
        &state,
        &p,
        "admin: add user",
        AccountChange::CreateUser {
            username: username.clone(),
            role,
            password_hash: hash_password(&req.password),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "username": username, "role": role, "disabled": false})),
    )
        .into_response())
}

/// Enable or disable a user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disabled {
    disabled: bool,
}

/// `PUT /api/v1/admin/users/{username}/disabled`: also ends their sessions.
pub async fn set_disabled(
    State(state): State<AppState>,
    p: Principal,
    Path(username): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    admin_only(&p)?;
    let req: Disabled =
        serde_json::from_slice(&body).map_err(|e| Problem::bad_json(e.to_string()))?;
    if req.disabled && username == p.username {
        return Err(Problem::field(
            "disabled",
            "you cannot disable your own account",
        ));
    }
    if state.store.user(&username).await?.is_none() {
        return Err(Problem::not_found(format!("user {username}")));
    }
    apply(
        &state,
        &p,
        if req.disabled {
            "admin: disable user"
        } else {
            "admin: enable user"
        },
        AccountChange::SetDisabled {
            username: username.clone(),
            disabled: req.disabled,
        },
    )
    .await?;
    Ok(Json(
        json!({"username": username, "disabled": req.disabled}),
    ))
}

/// `GET /api/v1/admin/tokens`: tokens without their secrets.
pub async fn tokens(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    admin_only(&p)?;
    let items: Vec<Value> = state
        .store
        .tokens(None)
        .await?
        .into_iter()
        .map(|t| {
            json!({"id": t.id, "username": t.username, "name": t.name,
                   "created_at": t.created_at, "revoked": t.revoked})
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// A new token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    username: String,
    name: String,
}

/// `POST /api/v1/admin/tokens`: the secret is in this answer only.
pub async fn create_token(
    State(state): State<AppState>,
    p: Principal,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    admin_only(&p)?;
    let req: NewToken =
        serde_json::from_slice(&body).map_err(|e| Problem::bad_json(e.to_string()))?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Problem::field("name", "must be 1..100 characters"));
    }
    if state.store.user(&req.username).await?.is_none() {
        return Err(Problem::field("username", "no such user"));
    }
    let (secret, hash) = new_secret("truce_");
    let id = apply(
        &state,
        &p,
        "admin: create token",
        AccountChange::CreateToken {
            username: req.username.clone(),
            name: name.clone(),
            token_hash: hash,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "username": req.username, "name": name, "secret": secret})),
    )
        .into_response())
}

/// `DELETE /api/v1/admin/tokens/{id}`: revokes.
pub async fn revoke_token(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admin_only(&p)?;
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found(format!("token {id}")))?;
    if !state.store.tokens(None).await?.iter().any(|t| t.id == id) {
        return Err(Problem::not_found(format!("token {id}")));
    }
    apply(
        &state,
        &p,
        "admin: revoke token",
        AccountChange::RevokeToken { id },
    )
    .await?;
    Ok(Json(json!({"id": id, "revoked": true})))
}
