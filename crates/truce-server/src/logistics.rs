//! Logistics routes beyond generic CRUD: convoy planning with a route
//! check (blocking hazards need a journaled override reason), manifests,
//! convoy status transitions with delivery reconciliation at arrival,
//! corridor status, stock movements that never make stock negative, stock
//! reconciliation, and delivered-tonnage totals for any period.
//!
//! The actions are public functions over a [`Store`] so the CLI runs the
//! very same code as the API.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::access::{self, Action};
use truce_core::geometry::Path as GeoPath;
use truce_core::journal::Op;
use truce_core::logistics::{
    Convoy, ConvoyStatus, Corridor, CorridorStatus, CorridorStatusChange, ItemCategory,
    ManifestLine, Obstacle, RouteCheckRecord, RouteHit, StockMovement, Totals, TotalsIndex,
    TotalsQuery, Warehouse, round_t,
};
use truce_core::mine::HazardArea;
use truce_core::{EntityKind, Sensitivity};
use truce_store::{Change, ListQuery, Store};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem};

/// How far from a route hazards and incidents are listed, metres.
pub const ROUTE_BUFFER_M: f64 = 1000.0;
/// Incidents this recent are listed by the route check.
pub const RECENT_INCIDENT_HOURS: i64 = 72;

/// Logistics routes (under `/api/v1`).
pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/convoys/plan", post(plan_handler))
        .route("/convoys/{id}/manifest", post(manifest_handler))
        .route("/convoys/{id}/status", post(status_handler))
        .route("/corridors/{id}/status", post(corridor_status_handler))
        .route("/warehouses/{id}/movements", post(movement_handler))
        .route("/warehouses/{id}/reconciliation", get(reconcile_handler))
        .route("/logistics/route_check", post(route_check_handler))
        .route("/logistics/totals", get(totals_handler))
}

fn max_for(p: &Principal, kind: EntityKind) -> Sensitivity {
    access::max_readable(p.role, kind).unwrap_or(Sensitivity::Public)
}

/// What a route passes: active hazard areas (open or in progress) it
/// crosses or passes within [`ROUTE_BUFFER_M`], and incidents of the last
/// [`RECENT_INCIDENT_HOURS`] near it.
pub async fn route_hits(
    store: &dyn Store,
    p: &Principal,
    route: &GeoPath,
) -> ApiResult<Vec<RouteHit>> {
    let line = route.to_geo().map_err(|e| {
        let mut v = truce_core::ValidationErrors::default();
        v.nest("route", e);
        Problem::invalid(v)
    })?;
    let mut obstacles = Vec::new();
    let mut q = ListQuery::new(EntityKind::HazardArea, max_for(p, EntityKind::HazardArea));
    q.bbox = route
        .bbox()
        .map(|[a, b, c, d]| [a - 0.05, b - 0.05, c + 0.05, d + 0.05]);
    for env in store.list_all(q).await? {
        let Ok(h) = serde_json::from_value::<HazardArea>(env.data) else {
            continue;
        };
        if !matches!(
            h.status,
            truce_core::mine::HazardStatus::Open | truce_core::mine::HazardStatus::InProgress
        ) {
            continue;
        }
        if let Ok(polygon) = h.area.to_geo() {
            obstacles.push(Obstacle::Area {
                id: env.id,
                label: h.code,
                polygon,
            });
        }
    }
    let mut q = ListQuery::new(EntityKind::Incident, max_for(p, EntityKind::Incident));
    q.bbox = route
        .bbox()
        .map(|[a, b, c, d]| [a - 0.05, b - 0.05, c + 0.05, d + 0.05]);
    q.from = Some(Timestamp::now() - SignedDuration::from_hours(RECENT_INCIDENT_HOURS));
    for env in store.list_all(q).await? {
        if let Some(idx) = EntityKind::Incident.index_of(&env.data)
            && let Some([x, y, _, _]) = idx.bbox
        {
            obstacles.push(Obstacle::Point {
                id: env.id,
                label: idx.category.unwrap_or_default(),
                lon: x,
                lat: y,
            });
        }
    }
    Ok(truce_geo::check_route(&line, &obstacles, ROUTE_BUFFER_M))
}

/// Body of `POST /logistics/route_check`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteCheckBody {
    #[serde(default)]
    corridor: Option<Uuid>,
    #[serde(default)]
    route: Option<GeoPath>,
}

async fn route_of(
    store: &dyn Store,
    p: &Principal,
    corridor: Option<Uuid>,
    route: Option<GeoPath>,
) -> ApiResult<Option<GeoPath>> {
    Ok(match (route, corridor) {
        (Some(r), _) => Some(r),
        (None, Some(c)) => Some(
            ops::load::<Corridor>(store, p, c)
                .await
                .map_err(|_| Problem::field("corridor", format!("corridor {c} does not exist")))?
                .1
                .route,
        ),
        (None, None) => None,
    })
}

/// `POST /api/v1/logistics/route_check`: what a corridor or route passes; writes nothing.
async fn route_check_handler(
    State(state): State<AppState>,
    p: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (_, v) = ops::body_value(body)?;
    let b: RouteCheckBody = ops::from_value(v)?;
    let route = route_of(&*state.store, &p, b.corridor, b.route)
        .await?
        .ok_or_else(|| Problem::field("route", "give a route or a corridor"))?;
    let hits = route_hits(&*state.store, &p, &route).await?;
    Ok(Json(json!({
        "blocking": hits.iter().any(|h| h.blocking),
        "hits": hits,
        "buffer_m": ROUTE_BUFFER_M,
    })))
}

/// Plans a convoy: checks its route and creates it, refusing (409, with
/// the hits) when the route crosses an active hazard area unless
/// `override_reason` says why it may go ahead; the override is journaled
/// on the convoy and as the entry's reason.
pub async fn plan(store: &dyn Store, p: &Principal, body: Value) -> ApiResult<(StatusCode, Value)> {
    ops::require(p, EntityKind::Convoy, Action::Create)?;
    let mut body = body;
    let m = body
        .as_object_mut()
        .ok_or_else(|| Problem::bad_json("the body must be a JSON object"))?;
    let override_reason = match m.remove("override_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => {
            return Err(Problem::field(
                "override_reason",
                "must be a non-empty string",
            ));
        }
    };
    let id = match m.remove("id") {
        None | Some(Value::Null) => Uuid::now_v7(),
        Some(v) => v
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| Problem::field("id", "must be a UUID"))?,
    };
    let reason = m
        .remove("reason")
        .and_then(|v| v.as_str().map(str::to_string));
    EntityKind::Convoy.protect_fields(&mut body, None);
    let mut convoy: Convoy = ops::from_value(body)?;
    if let Some(c) = convoy.corridor {
        let (_, cor) = ops::load::<Corridor>(store, p, c)
            .await
            .map_err(|_| Problem::field("corridor", format!("corridor {c} does not exist")))?;
        if cor.status.status == CorridorStatus::Closed && override_reason.is_none() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "corridor-closed",
                format!(
                    "corridor {} is closed ({}); give override_reason to plan anyway",
                    cor.name,
                    cor.status.reason.as_deref().unwrap_or("no reason given")
                ),
            ));
        }
        if convoy.route.is_none() {
            convoy.route = Some(cor.route);
        }
    }
    ops::valid(&convoy)?;
    let mut hits = Vec::new();
    if let Some(r) = &convoy.route {
        hits = route_hits(store, p, r).await?;
    }
    let blocking = hits.iter().filter(|h| h.blocking).count();
    if blocking > 0 && override_reason.is_none() {
        let mut prob = Problem::new(
            StatusCode::CONFLICT,
            "route-blocked",
            format!(
                "the route crosses {blocking} active hazard area(s): {}; give override_reason to plan anyway",
                hits.iter()
                    .filter(|h| h.blocking)
                    .map(|h| h.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        prob.errors = vec![truce_core::FieldError::new(
            "override_reason",
            "is required: the route crosses an active hazard area",
        )];
        let mut v = serde_json::to_value(&prob).expect("problem");
        v["hits"] = json!(hits);
        return Ok((StatusCode::CONFLICT, v));
    }
    convoy.route_check = Some(RouteCheckRecord {
        at: Timestamp::now(),
        hits,
        override_by: override_reason.as_ref().map(|_| p.username.clone()),
        override_reason: override_reason.clone(),
    });
    let reason = match (&override_reason, reason) {
        (Some(o), _) => Some(format!("route check overridden: {o}")),
        (None, r) => r,
    };
    let mut retry = ops::Retry::new("the convoy");
    loop {
        let changes =
            async { ApiResult::Ok(vec![ops::create(id, Sensitivity::Mission, &convoy)?]) }.await?;
        if retry
            .write(store, p, reason.clone(), None, changes)
            .await?
            .is_some()
        {
            break;
        }
    }
    Ok((StatusCode::CREATED, ops::wire(store, id).await?))
}

async fn plan_handler(
    State(state): State<AppState>,
    p: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (_, v) = ops::body_value(body)?;
    let (status, v) = plan(&*state.store, &p, v).await?;
    let mut res = (status, Json(v)).into_response();
    if status == StatusCode::CONFLICT {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
    }
    Ok(res)
}

/// One line submitted to a manifest.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineBody {
    category: ItemCategory,
    item: String,
    quantity: f64,
    unit: String,
    #[serde(default)]
    unit_mass_kg: Option<f64>,
    #[serde(default)]
    destination: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestBody {
    lines: Vec<LineBody>,
    #[serde(default)]
    reason: Option<String>,
}

/// Adds lines to a planned convoy's manifest (409 once it has left).
pub async fn add_manifest(
    store: &dyn Store,
    p: &Principal,
    convoy_id: Uuid,
    body: Value,
) -> ApiResult<Value> {
    ops::load::<Convoy>(store, p, convoy_id).await?;
    ops::require(p, EntityKind::ManifestLine, Action::Create)?;
    ops::require(p, EntityKind::Convoy, Action::Update)?;
    let b: ManifestBody = ops::from_value(body)?;
    if b.lines.is_empty() {
        return Err(Problem::field("lines", "must have at least one line"));
    }
    let mut ids = Vec::new();
    let mut retry = ops::Retry::new("the convoy");
    loop {
        ids.clear();
        let changes = async {
            let (env, convoy) = ops::load::<Convoy>(store, p, convoy_id).await?;
            if convoy.status != ConvoyStatus::Planned {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "convoy {} is {}; its manifest closed when it was dispatched",
                        convoy.code,
                        convoy.status.as_str()
                    ),
                ));
            }
            let mut next = convoy.clone();
            let mut changes = Vec::new();
            for (i, l) in b.lines.iter().enumerate() {
                let line = ManifestLine {
                    convoy: convoy_id,
                    corridor: convoy.corridor,
                    category: l.category,
                    item: l.item.clone(),
                    quantity: l.quantity,
                    unit: l.unit.clone(),
                    unit_mass_kg: l.unit_mass_kg,
                    destination: l.destination.clone(),
                    delivered_quantity: None,
                    delivered_at: None,
                };
                let t = line.tonnes().map_err(|e| {
                    let mut v = truce_core::ValidationErrors::default();
                    v.nest(&format!("lines[{i}]"), e);
                    Problem::invalid(v)
                })?;
                let rec = line.clone();
                let valid = EntityKind::ManifestLine
                    .validate_json(serde_json::to_value(&rec).expect("ser"), &ops::ctx())
                    .map_err(|e| {
                        let mut v = truce_core::ValidationErrors::default();
                        v.nest(&format!("lines[{i}]"), e);
                        Problem::invalid(v)
                    })?;
                next.manifest_lines += 1;
                next.manifest_tonnes = round_t(next.manifest_tonnes + t);
                let id = Uuid::now_v7();
                ids.push(id);
                changes.push(Change::Create {
                    kind: EntityKind::ManifestLine,
                    id,
                    sensitivity: env.sensitivity,
                    record: valid,
                });
            }
            changes.push(ops::update(&env, &next)?);
            ApiResult::Ok(changes)
        }
        .await?;
        if retry
            .write(store, p, b.reason.clone(), None, changes)
            .await?
            .is_some()
        {
            break;
        }
    }
    let mut lines = Vec::new();
    for id in ids {
        lines.push(ops::wire(store, id).await?);
    }
    Ok(json!({"convoy": ops::wire(store, convoy_id).await?, "lines": lines}))
}

async fn manifest_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let id = ops::parse_id(&id, EntityKind::Convoy)?;
    let (_, v) = ops::body_value(body)?;
    let out = add_manifest(&*state.store, &p, id, v).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A delivered quantity reported at arrival.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Delivered {
    line: Uuid,
    quantity: f64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    status: ConvoyStatus,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    #[serde(default)]
    reason: Option<String>,
    /// At arrival: quantities delivered per line (default: all dispatched).
    #[serde(default)]
    delivered: Vec<Delivered>,
}

/// Moves a convoy to a new status with its time; at arrival, records
/// delivered quantities on every manifest line (all of the dispatched
/// quantity unless `delivered` says otherwise) in the same atomic change.
pub async fn set_status(
    store: &dyn Store,
    p: &Principal,
    convoy_id: Uuid,
    body: Value,
) -> ApiResult<Value> {
    ops::load::<Convoy>(store, p, convoy_id).await?;
    ops::require(p, EntityKind::Convoy, Action::Update)?;
    let b: StatusBody = ops::from_value(body)?;
    let at = b.at.unwrap_or_else(Timestamp::now);
    if at > Timestamp::now() + truce_core::time::MAX_CLOCK_SKEW {
        return Err(Problem::field("at", format!("{at} is in the future")));
    }
    if !b.delivered.is_empty() && b.status != ConvoyStatus::Arrived {
        return Err(Problem::field(
            "delivered",
            "only applies when status is arrived",
        ));
    }
    let mut retry = ops::Retry::new("the convoy");
    loop {
        let changes = async {
            let (env, convoy) = ops::load::<Convoy>(store, p, convoy_id).await?;
            let mut next = convoy.transition(b.status, at, &p.username, b.reason.clone())?;
            let mut changes = Vec::new();
            if b.status == ConvoyStatus::Arrived {
                let mut q = ListQuery::new(EntityKind::ManifestLine, Sensitivity::Restricted);
                q.reference = Some(convoy_id);
                let lines = store.list_all(q).await?;
                for (i, d) in b.delivered.iter().enumerate() {
                    if !lines.iter().any(|l| l.id == d.line) {
                        return Err(Problem::field(
                            &format!("delivered[{i}].line"),
                            "is not a line of this convoy's manifest",
                        ));
                    }
                }
                let mut delivered = 0.0;
                for env_l in &lines {
                    let mut line: ManifestLine = serde_json::from_value(env_l.data.clone())
                        .map_err(|e| {
                            Problem::new(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "internal",
                                e.to_string(),
                            )
                        })?;
                    let pos = b.delivered.iter().position(|d| d.line == env_l.id);
                    let q = pos.map_or(line.quantity, |i| b.delivered[i].quantity);
                    if !(q.is_finite() && q >= 0.0 && q <= line.quantity + 1e-9) {
                        return Err(Problem::field(
                            &format!("delivered[{}].quantity", pos.unwrap_or(0)),
                            format!("must be 0..{} (the quantity dispatched)", line.quantity),
                        ));
                    }
                    line.delivered_quantity = Some(q);
                    line.delivered_at = Some(at);
                    line.corridor = convoy.corridor;
                    delivered += line.delivered_tonnes();
                    changes.push(ops::update(env_l, &line)?);
                }
                next.delivered_tonnes = round_t(delivered);
            }
            changes.push(ops::update(&env, &next)?);
            ApiResult::Ok(changes)
        }
        .await?;
        if retry
            .write(store, p, b.reason.clone(), None, changes)
            .await?
            .is_some()
        {
            break;
        }
    }
    ops::wire(store, convoy_id).await
}

async fn status_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let id = ops::parse_id(&id, EntityKind::Convoy)?;
    let (_, v) = ops::body_value(body)?;
    Ok(Json(set_status(&*state.store, &p, id, v).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorridorStatusBody {
    status: CorridorStatus,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/corridors/{id}/status`: opens, restricts or closes a
/// corridor with a reason and time, keeping the earlier statuses.
async fn corridor_status_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let store = &*state.store;
    let id = ops::parse_id(&id, EntityKind::Corridor)?;
    ops::load::<Corridor>(store, &p, id).await?;
    ops::require(&p, EntityKind::Corridor, Action::Update)?;
    let (_, v) = ops::body_value(body)?;
    let b: CorridorStatusBody = ops::from_value(v)?;
    let mut retry = ops::Retry::new("the corridor");
    loop {
        let changes = async {
            let (env, cor) = ops::load::<Corridor>(store, &p, id).await?;
            let next = cor.set_status(CorridorStatusChange {
                status: b.status,
                at: b.at.unwrap_or_else(Timestamp::now),
                reason: b.reason.clone(),
            })?;
            ApiResult::Ok(vec![ops::update(&env, &next)?])
        }
        .await?;
        if retry
            .write(store, &p, b.reason.clone(), None, changes)
            .await?
            .is_some()
        {
            break;
        }
    }
    Ok(Json(ops::wire(store, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MovementBody {
    direction: truce_core::logistics::Direction,
    category: ItemCategory,
    item: String,
    quantity: f64,
    unit: String,
    #[serde(default)]
    unit_mass_kg: Option<f64>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    #[serde(default)]
    convoy: Option<Uuid>,
    #[serde(default)]
    counterpart: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Records a stock movement and the warehouse's new stock atomically: 409
/// when it would take out more than is in stock, 422 for bad input.
pub async fn move_stock(
    store: &dyn Store,
    p: &Principal,
    warehouse: Uuid,
    body: Value,
    idem: Option<(truce_store::Idempotency, Uuid)>,
) -> ApiResult<(StatusCode, Value)> {
    ops::load::<Warehouse>(store, p, warehouse).await?;
    ops::require(p, EntityKind::StockMovement, Action::Create)?;
    ops::require(p, EntityKind::Warehouse, Action::Update)?;
    let b: MovementBody = ops::from_value(body)?;
    let m = StockMovement {
        warehouse,
        direction: b.direction,
        category: b.category,
        item: b.item,
        quantity: b.quantity,
        unit: b.unit,
        unit_mass_kg: b.unit_mass_kg,
        at: b.at.unwrap_or_else(Timestamp::now),
        convoy: b.convoy,
        counterpart: b.counterpart,
        notes: b.notes,
    };
    let id = idem.as_ref().map_or_else(Uuid::now_v7, |(_, id)| *id);
    async fn answer(store: &dyn Store, id: Uuid, warehouse: Uuid) -> ApiResult<Value> {
        Ok(json!({
            "movement": ops::wire(store, id).await?,
            "warehouse": ops::wire(store, warehouse).await?,
        }))
    }
    if ops::replayed(store, p, &idem).await? {
        return Ok((StatusCode::OK, answer(store, id, warehouse).await?));
    }
    // Bad input first (422), whatever the stock.
    ops::valid(&m)?;
    let mut retry = ops::Retry::new("the warehouse");
    loop {
        let changes = async {
            let (env, wh) = ops::load::<Warehouse>(store, p, warehouse).await?;
            let next = wh.apply_movement(&m)?;
            ApiResult::Ok(vec![
                ops::create(id, env.sensitivity, &m)?,
                ops::update(&env, &next)?,
            ])
        }
        .await?;
        if retry
            .write(
                store,
                p,
                b.reason.clone(),
                idem.clone().map(|i| i.0),
                changes,
            )
            .await?
            .is_some()
        {
            break;
        }
    }
    Ok((StatusCode::CREATED, answer(store, id, warehouse).await?))
}

async fn movement_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let wid = ops::parse_id(&id, EntityKind::Warehouse)?;
    let (v, idem) = ops::action_input(
        &headers,
        &p,
        &format!("/api/v1/warehouses/{wid}/movements"),
        body,
    )?;
    let (status, v) = move_stock(&*state.store, &p, wid, v, idem).await?;
    Ok((status, Json(v)).into_response())
}

/// The warehouse's stock compared with the sum of its movements.
pub async fn reconcile(store: &dyn Store, p: &Principal, warehouse: Uuid) -> ApiResult<Value> {
    let (_, wh) = ops::load::<Warehouse>(store, p, warehouse).await?;
    let mut q = ListQuery::new(EntityKind::StockMovement, Sensitivity::Restricted);
    q.reference = Some(warehouse);
    let moves: Vec<StockMovement> = store
        .list_all(q)
        .await?
        .into_iter()
        .filter_map(|e| serde_json::from_value(e.data).ok())
        .filter(|m: &StockMovement| m.warehouse == warehouse)
        .collect();
    let r = wh.reconcile(&moves);
    Ok(json!({"warehouse": wh.code, "reconciliation": r}))
}

async fn reconcile_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ops::parse_id(&id, EntityKind::Warehouse)?;
    Ok(Json(reconcile(&*state.store, &p, id).await?))
}

/// Delivered manifest lines indexed for totals, kept current from the
/// journal: each query first reads the entries written since the last one.
/// A server warms it at start ([`TotalsCache::warm`], in the background),
/// so the first query does not pay for reading the whole journal; a query
/// that arrives during the warm-up waits for it and answers from the
/// complete index.
#[derive(Default)]
pub struct TotalsCache {
    inner: tokio::sync::Mutex<(TotalsIndex, u64)>,
}

/// Journal entries read per batch while catching up.
const BATCH: u32 = 10_000;

/// The parts of a manifest line's journal payload the index needs.
#[derive(Deserialize)]
struct LinePayload {
    #[serde(default)]
    sensitivity: Sensitivity,
    #[serde(default)]
    data: Option<ManifestLine>,
}

impl TotalsCache {
    /// Reads the journal entries after the last one read into `idx`;
    /// `progress` hears (entries read, journal head) after each batch.
    async fn catch_up(
        store: &dyn Store,
        idx: &mut TotalsIndex,
        seq: &mut u64,
        mut progress: impl FnMut(u64),
    ) -> ApiResult<()> {
        loop {
            let entries = store.journal(*seq, BATCH).await?;
            let n = entries.len();
            for e in entries {
                *seq = e.seq;
                if e.entity != EntityKind::ManifestLine.as_str() {
                    continue;
                }
                match e.op {
                    Op::Create | Op::Update => {
                        // Straight from the payload text into the typed
                        // line: no intermediate JSON tree.
                        let p: Option<LinePayload> = serde_json::from_str(&e.payload).ok();
                        match p {
                            Some(p) => idx.upsert(e.entity_id, p.data.as_ref(), p.sensitivity),
                            None => idx.upsert(e.entity_id, None, Sensitivity::Public),
                        }
                    }
                    Op::Retract => idx.upsert(e.entity_id, None, Sensitivity::Public),
                    _ => {}
                }
            }
            progress(*seq);
            if n < BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Builds the index now, logging progress about every two seconds;
    /// returns the journal entries read. Queries made meanwhile wait for it
    /// (they hold the same lock) and then answer from the complete index.
    ///
    /// An empty index is seeded from the manifest lines as stored, then
    /// catches up with the journal from the head read before them: the
    /// lines are a tenth of a large mission's journal (at 10,000,000
    /// incidents, replaying all 11.2 million entries took 121 s). Entries
    /// after that head are replayed over the seed; a line's upsert replaces
    /// whatever the index held for it, so seeing a change twice is harmless.
    pub async fn warm(&self, store: &dyn Store) -> ApiResult<u64> {
        let started = std::time::Instant::now();
        let mut guard = self.inner.lock().await;
        let (idx, seq) = &mut *guard;
        if let Some(lines) = Self::seed(store, idx, seq).await? {
            tracing::info!(
                "delivered-tonnage totals: {lines} stored manifest lines read in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let from = *seq;
        let head = store.head().await?.seq;
        tracing::info!("delivered-tonnage totals: warming from entry {from} of {head}");
        let mut last = std::time::Instant::now();
        Self::catch_up(store, idx, seq, |s| {
            if last.elapsed() >= std::time::Duration::from_secs(2) {
                last = std::time::Instant::now();
                tracing::info!(
                    "delivered-tonnage totals: warming, {s} of {head} journal entries read ({:.0} %)",
                    100.0 * s as f64 / head.max(1) as f64
                );
            }
        })
        .await?;
        idx.prepare();
        tracing::info!(
            "delivered-tonnage totals: ready, {} journal entries read in {:.1} s",
            *seq - from,
            started.elapsed().as_secs_f64()
        );
        Ok(*seq - from)
    }

    /// Seeds an empty index (`seq` 0) with every stored, unretracted
    /// manifest line and sets `seq` to the journal head read before them;
    /// returns how many lines, or `None` when the index was not empty.
    async fn seed(
        store: &dyn Store,
        idx: &mut TotalsIndex,
        seq: &mut u64,
    ) -> ApiResult<Option<u64>> {
        if *seq != 0 {
            return Ok(None);
        }
        let head = store.head().await?.seq;
        let mut q = ListQuery::new(EntityKind::ManifestLine, Sensitivity::Restricted);
        q.limit = 5_000;
        q.oldest_first = true;
        let mut n = 0;
        loop {
            let page = store.list_raw(&q).await?;
            for r in page.iter() {
                let id: Uuid = r.id.parse().map_err(|e| {
                    Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "corrupt",
                        format!("stored manifest line id {:?}: {e}", r.id),
                    )
                })?;
                let line: Option<ManifestLine> = serde_json::from_str(r.data).ok();
                idx.upsert(id, line.as_ref(), r.sensitivity);
                n += 1;
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        *seq = head;
        Ok(Some(n))
    }

    /// Starts [`TotalsCache::warm`] on a background task.
    pub fn warm_in_background(self: &std::sync::Arc<Self>, store: std::sync::Arc<dyn Store>) {
        let cache = self.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.warm(&*store).await {
                tracing::warn!(
                    "delivered-tonnage totals: warm-up failed ({}); the first query builds the index",
                    e.detail.unwrap_or_default()
                );
            }
        });
    }

    /// Catches up with the journal and answers `q`.
    pub async fn totals(&self, store: &dyn Store, q: &TotalsQuery) -> ApiResult<Totals> {
        let mut guard = self.inner.lock().await;
        let (idx, seq) = &mut *guard;
        Self::seed(store, idx, seq).await?;
        Self::catch_up(store, idx, seq, |_| {}).await?;
        idx.prepare();
        Ok(idx.totals(q))
    }
}

/// Parses the totals query parameters: `from`, `to` (RFC 3339 or dates),
/// or `days` (the last N days), `corridor`, `category`.
pub fn totals_query(p: &Principal, params: &HashMap<String, String>) -> ApiResult<TotalsQuery> {
    let mut from = crate::mine::time_param(params, "from")?;
    let mut to = crate::mine::time_param(params, "to")?;
    if let Some(d) = params.get("days").filter(|s| !s.is_empty()) {
        let d: i64 = d
            .parse()
            .ok()
            .filter(|d| (1..=36_500).contains(d))
            .ok_or_else(|| Problem::field("days", "must be 1..36500"))?;
        if from.is_some() {
            return Err(Problem::field("days", "give either days or from"));
        }
        let now = Timestamp::now();
        from = Some(now - SignedDuration::from_hours(24 * d));
        to = to.or(Some(now));
    }
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(Problem::field("from", "is after to"));
    }
    let corridor = match params.get("corridor").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            Uuid::parse_str(s)
                .map_err(|_| Problem::field("corridor", "must be a corridor UUID"))?,
        ),
    };
    let category = match params.get("category").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ItemCategory::parse(s).ok_or_else(|| {
            Problem::field(
                "category",
                format!(
                    "{s:?} is not one of {}",
                    ItemCategory::ALL.map(|c| c.as_str()).join(", ")
                ),
            )
        })?),
    };
    Ok(TotalsQuery {
        from,
        to,
        corridor,
        category,
        max_sensitivity: max_for(p, EntityKind::ManifestLine),
    })
}

/// `GET /api/v1/logistics/totals?from=&to=|days=&corridor=&category=`:
/// tonnes delivered in the period, in all and by category.
async fn totals_handler(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let q = totals_query(&p, &params)?;
    let t = state.ops.totals(&*state.store, &q).await?;
    Ok(Json(json!({
        "from": q.from,
        "to": q.to,
        "corridor": q.corridor,
        "category": q.category.map(|c| c.as_str()),
        "tonnes": t.tonnes,
        "lines": t.lines,
        "by_category": t.by_category,
    })))
}
