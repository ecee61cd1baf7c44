//! Protected-site routes beyond generic CRUD: what lies near a site
//! (incidents, hazard areas) and its condition history.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use truce_core::access;
use truce_core::geometry::LatLon;
use truce_core::mine::HazardArea;
use truce_core::sites::{Site, SiteAssessment};
use truce_core::{EntityKind, Sensitivity};
use truce_store::{ListQuery, Store};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem};

/// Protected-site routes (under `/api/v1`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/sites/{id}/nearby", axum::routing::get(nearby_handler))
}

fn query(p: &Principal, kind: EntityKind) -> ListQuery {
    ListQuery::new(
        kind,
        access::max_readable(p.role, kind).unwrap_or(Sensitivity::Public),
    )
}

/// The incidents and hazard areas within `distance_m` of a site (default:
/// its watch radius), nearest first, and its condition assessments, oldest
/// first.
pub async fn nearby(
    store: &dyn Store,
    p: &Principal,
    id: Uuid,
    params: &HashMap<String, String>,
) -> ApiResult<Value> {
    let (env, site) = ops::load::<Site>(store, p, id).await?;
    let distance = match params.get("distance_m").filter(|s| !s.is_empty()) {
        None => site.watch_radius_m,
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|d| d.is_finite() && (0.0..=50_000.0).contains(d))
            .ok_or_else(|| Problem::field("distance_m", "must be 0..50000 metres"))?,
    };
    let [x0, y0, x1, y1] = EntityKind::Site
        .index_of(&env.data)
        .and_then(|i| i.bbox)
        .unwrap_or([
            site.location.lon,
            site.location.lat,
            site.location.lon,
            site.location.lat,
        ]);
    let dy = distance / 110_000.0;
    let dx = dy / y1.abs().max(y0.abs()).min(85.0).to_radians().cos();
    let bbox = [
        (x0 - dx).max(-180.0),
        (y0 - dy).max(-90.0),
        (x1 + dx).min(180.0),
        (y1 + dy).min(90.0),
    ];
    let mut q = query(p, EntityKind::Incident);
    q.bbox = Some(bbox);
    q.from = crate::mine::time_param(params, "from")?;
    q.to = crate::mine::time_param(params, "to")?;
    let mut incidents = Vec::new();
    for e in store.list_all(q).await? {
        let Some(idx) = EntityKind::Incident.index_of(&e.data) else {
            continue;
        };
        let Some([lon, lat, _, _]) = idx.bbox else {
            continue;
        };
        let d = site.distance_to_point_m(LatLon { lat, lon });
        if d <= distance {
            incidents.push(json!({
                "id": e.id, "occurred_at": idx.time_start, "event_type": idx.category,
                "status": idx.status, "distance_m": d.round(),
            }));
        }
    }
    let mut q = query(p, EntityKind::HazardArea);
    q.bbox = Some(bbox);
    let mut hazards = Vec::new();
    for e in store.list_all(q).await? {
        let Ok(h) = serde_json::from_value::<HazardArea>(e.data) else {
            continue;
        };
        let Ok(mp) = h.area.to_geo() else { continue };
        let d = site.distance_to_area_m(&mp);
        if d <= distance {
            hazards.push(json!({
                "id": e.id, "code": h.code, "classification": h.classification,
                "status": h.status, "distance_m": d.round(),
            }));
        }
    }
    let by_distance = |a: &Value, b: &Value| {
        a["distance_m"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&b["distance_m"].as_f64().unwrap_or(0.0))
    };
    incidents.sort_by(by_distance);
    hazards.sort_by(by_distance);
    let mut q = query(p, EntityKind::SiteAssessment);
    q.reference = Some(id);
    let mut history: Vec<(jiff::Timestamp, Value)> = store
        .list_all(q)
        .await?
        .into_iter()
        .filter_map(|e| {
            let a: SiteAssessment = serde_json::from_value(e.data.clone()).ok()?;
            (a.site == id).then(|| (a.assessed_at, e.to_wire()))
        })
        .collect();
    history.sort_by_key(|x| x.0);
    let condition = history.last().map(|h| h.1["condition"].clone());
    Ok(json!({
        "site": env.to_wire(),
        "distance_m": distance,
        "condition": condition,
        "condition_history": history.into_iter().map(|h| h.1).collect::<Vec<_>>(),
        "incidents": incidents,
        "hazard_areas": hazards,
    }))
}

/// `GET /api/v1/sites/{id}/nearby?distance_m=&from=&to=`.
async fn nearby_handler(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let id = ops::parse_id(&id, EntityKind::Site)?;
    Ok(Json(nearby(&*state.store, &p, id, &params).await?))
}
