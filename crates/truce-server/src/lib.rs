//! The Truce HTTP API and the embedded web app. The only crate that knows
//! HTTP: it turns requests into core validation and store commands, and
//! store results into JSON, GeoJSON or RFC 9457 problems.
#![forbid(unsafe_code)]

mod admin;
mod agreements;
pub mod auth;
mod bulletins;
mod dashboard;
mod exports;
mod intake;
pub use intake::ingest as ingest_intake_document;
pub mod logistics;
mod mine;
mod openapi;
mod openapi_actions;
mod ops;
mod people;
pub mod problem;
mod records;
mod shelter;
pub mod sites;
pub mod spatial;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::DefaultKeyedRateLimiter;
use serde_json::json;
use tower_http::timeout::TimeoutLayer;
use truce_core::{EntityKind, Sensitivity, access};
use truce_store::{ListQuery, Store};

use crate::auth::{AuthCache, Principal};
use crate::problem::{ApiResult, Problem};

/// Settings of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Session length.
    pub session_hours: u32,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            session_hours: 12,
            body_limit: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The mission's store.
    pub store: Arc<dyn Store>,
    /// Recent credential lookups.
    pub auth_cache: Arc<AuthCache>,
    /// Sign-in attempts per address and user.
    pub login_limiter: Arc<DefaultKeyedRateLimiter<String>>,
    /// A password hash to verify against for unknown users (constant time).
    pub dummy_hash: Arc<str>,
    /// Settings.
    pub config: ServerConfig,
    /// The key that signs bulletins; without one, bulletins answer 503.
    pub mission_key: Option<Arc<truce_report::MissionKey>>,
    /// Delivered-tonnage totals, kept current from the journal.
    pub ops: Arc<logistics::TotalsCache>,
    /// Spatial indexes and road graphs, kept current from the journal.
    pub spatial: Arc<spatial::SpatialCache>,
    /// Held while an intake document is matched against the review queue
    /// and written, so that two reports of one fact posted at once become
    /// one candidate (this server is the only writer of intake records).
    pub intake_queue: Arc<tokio::sync::Mutex<()>>,
}

impl AppState {
    /// State for a store with the given settings.
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        AppState {
            store,
            auth_cache: Arc::new(AuthCache::default()),
            login_limiter: auth::login_limiter(),
            dummy_hash: auth::hash_password("not a real password").into(),
            config,
            mission_key: None,
            ops: Arc::default(),
            spatial: Arc::default(),
            intake_queue: Arc::default(),
        }
    }
}

/// The whole application: API, docs, web app.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/mission", get(mission))
        .route("/journal/head", get(journal_head))
        .route("/bulletins/{date}", get(bulletins::bulletin))
        .route("/basemap/{name}", get(basemap))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route(
            "/admin/users/{username}/disabled",
            axum::routing::put(admin::set_disabled),
        )
        .route(
            "/admin/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route(
            "/admin/tokens/{id}",
            axum::routing::delete(admin::revoke_token),
        )
        .route(
            "/incidents/{id}/verification",
            post(records::verify_incident),
        )
        .merge(ops::routes())
        .merge(shelter::routes())
        .merge(people::routes())
        .merge(agreements::routes())
        .merge(spatial::routes())
        .merge(dashboard::routes())
        .merge(intake::routes())
        .route("/{collection}", get(records::list).post(records::create))
        .route("/{collection}/aggregate", get(records::aggregate))
        .route(
            "/{collection}/{id}",
            get(records::get)
                .put(records::update)
                .delete(records::retract),
        )
        .route("/{collection}/{id}/history", get(records::history))
        .fallback(|| async { Problem::not_found("API route") });
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .merge(openapi::routes())
        .merge(web::routes())
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        // Exports stream for as long as they take: outside the timeout.
        .merge(exports::routes())
        .with_state(state)
}

/// Serves `router` on `listener` until the future `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // So the first totals query after a start does not read the whole journal.
    state.ops.warm_in_background(state.store.clone());
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.head().await {
        Ok(h) => Json(json!({"status": "ok", "journal_seq": h.seq})).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// `GET /api/v1/mission`: the mission record (name, notice, bbox).
async fn mission(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let max = access::max_readable(p.role, EntityKind::Mission).unwrap_or(Sensitivity::Public);
    let mut q = ListQuery::new(EntityKind::Mission, max);
    q.limit = 1;
    let env = state
        .store
        .list(&q)
        .await?
        .items
        .pop()
        .ok_or_else(|| Problem::not_found("mission"))?;
    let mut wire = env.to_wire();
    if let Some(b) = EntityKind::Mission.index_of(&env.data).and_then(|i| i.bbox) {
        wire["bbox"] = json!(b);
    }
    Ok(Json(wire))
}

async fn journal_head(
    State(state): State<AppState>,
    _p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let h = state.store.head().await?;
    Ok(Json(json!({"seq": h.seq, "hash": hex::encode(h.hash)})))
}

/// `GET /api/v1/basemap/{name}`: offline basemap layers the mission holds.
async fn basemap(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let (ct, body) = state
        .store
        .asset(&format!("basemap/{name}"))
        .await?
        .ok_or_else(|| Problem::not_found(format!("basemap layer {name}")))?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&ct).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
}
