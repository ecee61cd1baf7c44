//! Mine-action routes beyond generic CRUD: land release (never more than a
//! hazard area has), release certificates (only for fully released areas)
//! and a summary for dashboards and bulletins.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::access::{self, Action};
use truce_core::geometry::Area;
use truce_core::mine::{
    HazardArea, LandRelease, LandUse, MineTask, ReleaseCertificate, ReleaseMethod, round_m2,
};
use truce_core::{EntityKind, Sensitivity};
use truce_store::{Grouping, ListQuery};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem};

/// Mine-action routes (under `/api/v1`).
pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/hazard_areas/{id}/releases", post(release))
        .route("/hazard_areas/{id}/certificate", post(certify))
        .route("/mine_action/summary", get(summary))
}

/// Body of `POST /hazard_areas/{id}/releases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    method: ReleaseMethod,
    area_m2: f64,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    released_at: Option<Timestamp>,
    #[serde(default)]
    task: Option<Uuid>,
    #[serde(default)]
    outline: Option<Area>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

/// `POST /api/v1/hazard_areas/{id}/releases`: records land released from a
/// hazard area and adds it to the area's totals, atomically; 409 when it
/// exceeds what is left.
async fn release(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let hid = ops::parse_id(&id, EntityKind::HazardArea)?;
    ops::load::<HazardArea>(&*state.store, &p, hid).await?;
    ops::require(&p, EntityKind::LandRelease, Action::Create)?;
    ops::require(&p, EntityKind::HazardArea, Action::Update)?;
    let (value, idem) = ops::action_input(
        &headers,
        &p,
        &format!("/api/v1/hazard_areas/{hid}/releases"),
        body,
    )?;
    let reason = ops::reason(&headers, &value);
    let b: ReleaseBody = ops::from_value(value)?;
    let release_id = idem.as_ref().map_or_else(Uuid::now_v7, |(_, id)| *id);
    let rel = LandRelease {
        hazard_area: hid,
        task: b.task,
        method: b.method,
        area_m2: round_m2(b.area_m2),
        released_at: b.released_at.unwrap_or_else(Timestamp::now),
        outline: b.outline,
        notes: b.notes,
    };
    if let Some(t) = rel.task {
        let (_, task) = ops::load::<MineTask>(&*state.store, &p, t)
            .await
            .map_err(|_| Problem::field("task", format!("mine task {t} does not exist")))?;
        if task.hazard_area != hid {
            return Err(Problem::field("task", "belongs to another hazard area"));
        }
    }
    if ops::replayed(&*state.store, &p, &idem).await? {
        return Ok(Json(json!({
            "release": ops::wire(&*state.store, release_id).await?,
            "hazard_area": ops::wire(&*state.store, hid).await?,
        }))
        .into_response());
    }
    let mut retry = ops::Retry::new("the hazard area");
    let a = loop {
        let changes = async {
            let (env, hazard) = ops::load::<HazardArea>(&*state.store, &p, hid).await?;
            let next = hazard.apply_release(&rel)?;
            ApiResult::Ok(vec![
                ops::create(release_id, env.sensitivity, &rel)?,
                ops::update(&env, &next)?,
            ])
        }
        .await?;
        if let Some(a) = retry
            .write(
                &*state.store,
                &p,
                reason.clone(),
                idem.clone().map(|i| i.0),
                changes,
            )
            .await?
        {
            break a;
        }
    };
    Ok((
        created_or_replayed(&a),
        Json(json!({
            "release": ops::wire(&*state.store, release_id).await?,
            "hazard_area": ops::wire(&*state.store, hid).await?,
        })),
    )
        .into_response())
}

/// 201 for a write made now, 200 for a replayed `Idempotency-Key`.
fn created_or_replayed(a: &truce_store::Applied) -> StatusCode {
    if a.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

/// Body of `POST /hazard_areas/{id}/certificate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateBody {
    code: String,
    certified_by: String,
    #[serde(default)]
    organisation: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    certified_at: Option<Timestamp>,
    #[serde(default)]
    handed_over_to: Option<String>,
    #[serde(default)]
    land_use: Vec<LandUse>,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
}

/// `POST /api/v1/hazard_areas/{id}/certificate`: hands a fully released
/// area over as safe; 409 while land remains or when already handed over.
async fn certify(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let hid = ops::parse_id(&id, EntityKind::HazardArea)?;
    ops::load::<HazardArea>(&*state.store, &p, hid).await?;
    ops::require(&p, EntityKind::ReleaseCertificate, Action::Create)?;
    ops::require(&p, EntityKind::HazardArea, Action::Update)?;
    let (value, idem) = ops::action_input(
        &headers,
        &p,
        &format!("/api/v1/hazard_areas/{hid}/certificate"),
        body,
    )?;
    let reason = ops::reason(&headers, &value);
    let b: CertificateBody = ops::from_value(value)?;
    let cert_id = idem.as_ref().map_or_else(Uuid::now_v7, |(_, id)| *id);
    if ops::replayed(&*state.store, &p, &idem).await? {
        return Ok(Json(json!({
            "certificate": ops::wire(&*state.store, cert_id).await?,
            "hazard_area": ops::wire(&*state.store, hid).await?,
        }))
        .into_response());
    }
    let mut retry = ops::Retry::new("the hazard area");
    let a = loop {
        let changes = async {
            let (env, hazard) = ops::load::<HazardArea>(&*state.store, &p, hid).await?;
            let cert = ReleaseCertificate {
                code: b.code.clone(),
                hazard_area: hid,
                area: Some(hazard.area.clone()),
                certified_by: b.certified_by.clone(),
                organisation: b.organisation,
                certified_at: b.certified_at.unwrap_or_else(Timestamp::now),
                handed_over_to: b.handed_over_to.clone(),
                land_use: b.land_use.clone(),
                evidence: b.evidence.clone(),
                notes: b.notes.clone(),
            };
            // Bad input is 422 even when the area is not ready (409).
            let create = ops::create(cert_id, env.sensitivity, &cert)?;
            let next = hazard.certify()?;
            ApiResult::Ok(vec![create, ops::update(&env, &next)?])
        }
        .await?;
        if let Some(a) = retry
            .write(
                &*state.store,
                &p,
                reason.clone(),
                idem.clone().map(|i| i.0),
                changes,
            )
            .await?
        {
            break a;
        }
    };
    Ok((
        created_or_replayed(&a),
        Json(json!({
            "certificate": ops::wire(&*state.store, cert_id).await?,
            "hazard_area": ops::wire(&*state.store, hid).await?,
        })),
    )
        .into_response())
}

fn query_for(
    p: &Principal,
    kind: EntityKind,
    params: &HashMap<String, String>,
) -> ApiResult<ListQuery> {
    let max = access::max_readable(p.role, kind).unwrap_or(Sensitivity::Public);
    let mut q = ListQuery::new(kind, max);
    q.from = time_param(params, "from")?;
    q.to = time_param(params, "to")?;
    Ok(q)
}

/// An RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC) from the query.
pub(crate) fn time_param(
    params: &HashMap<String, String>,
    field: &str,
) -> ApiResult<Option<Timestamp>> {
    let Some(v) = params.get(field).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    v.parse::<Timestamp>()
        .ok()
        .or_else(|| {
            v.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .map(Some)
        .ok_or_else(|| {
            Problem::field(
                field,
                format!("{v:?} is not an RFC 3339 time or a YYYY-MM-DD date"),
            )
        })
}

fn buckets(b: Vec<truce_store::Bucket>, label: &str) -> Value {
    let m: BTreeMap<String, Value> = b
        .into_iter()
        .map(|b| (b.key, json!({"count": b.count, label: round_m2(b.sum)})))
        .collect();
    json!(m)
}

/// `GET /api/v1/mine_action/summary?from=&to=`: hazard areas by status and
/// classification with the land still to release; land released by method,
/// ordnance destroyed by category, accidents and victims in the period.
async fn summary(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let store = &state.store;
    // Hazard areas: current state, whatever the period.
    let mut hq = query_for(&p, EntityKind::HazardArea, &HashMap::new())?;
    hq.from = None;
    let by_status = buckets(
        store.aggregate(&hq, Grouping::Status).await?,
        "remaining_m2",
    );
    let by_class = buckets(
        store.aggregate(&hq, Grouping::Category).await?,
        "remaining_m2",
    );
    let rq = query_for(&p, EntityKind::LandRelease, &params)?;
    let released = buckets(store.aggregate(&rq, Grouping::Category).await?, "m2");
    // Ordnance by category: from the tasks active in the period.
    let mut tq = query_for(&p, EntityKind::MineTask, &params)?;
    tq.limit = 10_000;
    let mut ordnance: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    loop {
        let page = store.list(&tq).await?;
        for env in &page.items {
            if let Ok(t) = serde_json::from_value::<MineTask>(env.data.clone()) {
                for o in t.ordnance {
                    let e = ordnance
                        .entry(truce_core::model::serde_name(&o.category))
                        .or_default();
                    e.0 += u64::from(o.found);
                    e.1 += u64::from(o.destroyed);
                }
            }
        }
        match page.next_cursor {
            Some(c) => tq.cursor = Some(c),
            None => break,
        }
    }
    let ordnance: BTreeMap<String, Value> = ordnance
        .into_iter()
        .map(|(k, (f, d))| (k, json!({"found": f, "destroyed": d})))
        .collect();
    let aq = query_for(&p, EntityKind::MineAccident, &params)?;
    let acc = store.aggregate(&aq, Grouping::All).await?;
    let (accidents, victims) = acc.first().map_or((0, 0.0), |b| (b.count, b.sum));
    Ok(Json(json!({
        "from": params.get("from"),
        "to": params.get("to"),
        "hazard_areas": {"by_status": by_status, "by_classification": by_class},
        "land_released": released,
        "ordnance": ordnance,
        "accidents": {"count": accidents, "victims": victims},
    })))
}
