//! Map queries and hazard-aware routing over the spatial engine
//! (`truce-geo`): the server's [`SpatialCache`] holds the incident, hazard
//! and AoR/post indexes and the mission's road network, built at start-up
//! from the stored records (and the histories of hazard areas, AoRs and
//! posts) as of a journal head, and kept current by reading the journal
//! since the last applied entry before every answer (so writes made by the
//! CLI while the server runs are seen too).
//!
//! Routes (under `/api/v1`): `GET /map/incidents` (bbox + time window +
//! category/status/party as GeoJSON), `GET /map/responsible`,
//! `GET /map/posts/nearest`, `GET /map/aor_counts`, `POST /routes`,
//! `POST /routes/check`. Records a role may not read are left out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use futures::StreamExt;
use geo::MultiPolygon;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::access;
use truce_core::geometry::{Area, LatLon, Path as GeoPath};
use truce_core::journal::{JournalEntry, Op};
use truce_core::mine::{HazardArea as CoreHazard, HazardStatus};
use truce_core::model::{Aor, Post};
use truce_core::{EntityKind, Sensitivity};
use truce_geo::{
    AorArea, AreaIndex, AvoidSet, CheckScope, HazardArea, HazardIndex, IncidentIndex,
    IncidentPoint, IncidentQuery, Metric, NoRoute, PostPoint, Profile, RoadGraph, RoadNetwork,
    Search, check_path,
};
use truce_store::{ListQuery, Store};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem, count_param};

/// Name of the mission asset holding the road network (`truce roads import`).
pub const ROADS_ASSET: &str = "roads/graph";

/// Spatial routes (under `/api/v1`).
pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/map/incidents", get(map_incidents))
        .route("/map/responsible", get(responsible))
        .route("/map/posts/nearest", get(nearest_posts))
        .route("/map/aor_counts", get(aor_counts))
        .route("/routes", post(route_handler))
        .route("/routes/check", post(check_handler))
}

#[derive(Debug, Clone)]
struct Hazard {
    code: String,
    area: HazardArea,
}

/// The indexes and what they were built from.
#[derive(Default)]
struct Spatial {
    /// Last journal entry applied.
    seq: u64,
    incidents: IncidentIndex,
    /// Sensitivity of every indexed hazard area, AoR and post (incidents
    /// carry theirs in the index, one byte each instead of a map entry).
    sens: HashMap<Uuid, Sensitivity>,
    hazards: BTreeMap<Uuid, Hazard>,
    hazard_index: Option<Arc<HazardIndex>>,
    aors: BTreeMap<Uuid, AorArea>,
    posts: BTreeMap<Uuid, PostPoint>,
    area_index: Option<Arc<AreaIndex>>,
    roads: Option<Arc<RoadNetwork>>,
    /// Journal head when the road asset was last looked for.
    roads_checked: Option<u64>,
    graphs: HashMap<(Profile, Metric), Arc<RoadGraph>>,
}

/// The server's spatial state, fed from the journal.
#[derive(Default)]
pub struct SpatialCache {
    inner: tokio::sync::Mutex<Spatial>,
}

/// What the incident index holds of an incident (`None`: no point).
fn incident_point(id: Uuid, data: &Value, sensitivity: Sensitivity) -> Option<IncidentPoint> {
    let idx = EntityKind::Incident.index_of(data)?;
    let [lon, lat, _, _] = idx.bbox?;
    Some(IncidentPoint {
        id,
        lon,
        lat,
        time: idx.time_start.map_or(0, |t| t.as_second()),
        category: idx.category.unwrap_or_default(),
        status: idx.status.unwrap_or_default(),
        party: idx.parties.first().map(Uuid::to_string).unwrap_or_default(),
        sensitivity,
    })
}

fn day_of(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

impl Spatial {
    fn apply(&mut self, e: &truce_core::journal::JournalEntry) {
        let Some(kind) = EntityKind::parse(&e.entity) else {
            return;
        };
        if !matches!(
            kind,
            EntityKind::Incident | EntityKind::HazardArea | EntityKind::Aor | EntityKind::Post
        ) {
            return;
        }
        let id = e.entity_id;
        let payload = match e.op {
            Op::Create | Op::Update => e.payload_json(),
            Op::Retract => None,
            _ => return,
        };
        let (data, sens) = match &payload {
            Some(v) => (
                Some(&v["data"]),
                serde_json::from_value(v["sensitivity"].clone()).unwrap_or_default(),
            ),
            None => (None, Sensitivity::Public),
        };
        match data {
            _ if kind == EntityKind::Incident => {}
            Some(_) => {
                self.sens.insert(id, sens);
            }
            None => {
                self.sens.remove(&id);
            }
        }
        match kind {
            EntityKind::Incident => {
                self.put_incident(id, data.and_then(|d| incident_point(id, d, sens)));
            }
            EntityKind::HazardArea => {
                let h = data.and_then(|d| serde_json::from_value::<CoreHazard>(d.clone()).ok());
                match h.and_then(|h| h.area.to_geo().ok().map(|p| (h, p))) {
                    Some((h, polygon)) => {
                        let active =
                            matches!(h.status, HazardStatus::Open | HazardStatus::InProgress);
                        let prev_to = self.hazards.get(&id).and_then(|o| o.area.active_to);
                        let area = HazardArea {
                            id,
                            polygon,
                            active_from: h.recorded_at.map(day_of),
                            // Inactive from the day the journal recorded the change.
                            active_to: if active {
                                None
                            } else {
                                Some(prev_to.unwrap_or_else(|| day_of(e.at)))
                            },
                        };
                        self.hazards.insert(id, Hazard { code: h.code, area });
                    }
                    None => {
                        self.hazards.remove(&id);
                    }
                }
                self.hazard_index = None;
            }
            EntityKind::Aor => {
                let a = data.and_then(|d| serde_json::from_value::<Aor>(d.clone()).ok());
                match a.and_then(|a| a.area.to_geo().ok()) {
                    Some(polygon) => {
                        self.aors.insert(id, AorArea { id, polygon });
                    }
                    None => {
                        self.aors.remove(&id);
                    }
                }
                self.area_index = None;
            }
            EntityKind::Post => {
                match data.and_then(|d| serde_json::from_value::<Post>(d.clone()).ok()) {
                    Some(p) => {
                        self.posts.insert(
                            id,
                            PostPoint {
                                id,
                                lon: p.location.lon,
                                lat: p.location.lat,
                            },
                        );
                    }
                    None => {
                        self.posts.remove(&id);
                    }
                }
                self.area_index = None;
            }
            _ => {}
        }
    }

    /// Indexes an incident's point, or takes out one that has none.
    fn put_incident(&mut self, id: Uuid, point: Option<IncidentPoint>) {
        match point {
            Some(p) if self.incidents.upsert(&p).is_ok() => {}
            _ => {
                self.incidents.remove(id);
            }
        }
    }

    /// After a full read of the journal: the incident index's delta (up to
    /// an eighth of it, with a hash map of its ids) is folded into the
    /// sorted layout, and the hazard and area indexes are built.
    fn finish_rebuild(&mut self) {
        self.incidents.compact();
        self.hazard_index();
        self.area_index();
    }

    fn hazard_index(&mut self) -> Arc<HazardIndex> {
        if let Some(h) = &self.hazard_index {
            return h.clone();
        }
        // Areas the engine refuses (e.g. self-intersecting) are left out one by one.
        let areas: Vec<HazardArea> = self
            .hazards
            .values()
            .filter(|h| HazardIndex::new(vec![h.area.clone()]).is_ok())
            .map(|h| h.area.clone())
            .collect();
        let idx =
            Arc::new(HazardIndex::new(areas).unwrap_or_else(|_| {
                HazardIndex::new(Vec::new()).expect("an empty index is valid")
            }));
        self.hazard_index = Some(idx.clone());
        idx
    }

    fn area_index(&mut self) -> Arc<AreaIndex> {
        if let Some(a) = &self.area_index {
            return a.clone();
        }
        let aors: Vec<AorArea> = self
            .aors
            .values()
            .filter(|a| AreaIndex::new(vec![(*a).clone()], Vec::new()).is_ok())
            .cloned()
            .collect();
        let posts: Vec<PostPoint> = self.posts.values().cloned().collect();
        let idx = Arc::new(
            AreaIndex::new(aors, posts)
                .unwrap_or_else(|_| AreaIndex::new(Vec::new(), Vec::new()).expect("empty")),
        );
        self.area_index = Some(idx.clone());
        idx
    }
}

impl SpatialCache {
    /// Applies the journal since the last applied entry; with `log`, says
    /// how far it got (start-up rebuild).
    async fn catch_up(
        &self,
        store: &dyn Store,
        log: bool,
    ) -> ApiResult<tokio::sync::MutexGuard<'_, Spatial>> {
        let mut s = self.inner.lock().await;
        let started = std::time::Instant::now();
        loop {
            let entries = store.journal(s.seq, 10_000).await?;
            let n = entries.len();
            for e in &entries {
                s.seq = e.seq;
                s.apply(e);
            }
            if log && n > 0 {
                tracing::info!(
                    "spatial index: journal read to entry {} ({} incidents, {} hazard areas, {} AoRs, {} posts)",
                    s.seq,
                    s.incidents.len(),
                    s.hazards.len(),
                    s.aors.len(),
                    s.posts.len()
                );
            }
            if n < 10_000 {
                break;
            }
        }
        if s.roads_checked != Some(s.seq) {
            // The road asset is replaced by `truce roads import` (a journal entry).
            let (_, body) = store.asset(ROADS_ASSET).await?.unwrap_or_default();
            let changed = match &s.roads {
                Some(r) => r.to_bytes() != body,
                None => !body.is_empty(),
            };
            if changed {
                s.graphs.clear();
                s.roads = RoadNetwork::from_bytes(&body).ok().map(Arc::new);
            }
            s.roads_checked = Some(s.seq);
        }
        if log {
            s.finish_rebuild();
            tracing::info!(
                "spatial index ready in {:.1} s: {} incidents, {} hazard areas, {} AoRs, {} posts, road network: {}",
                started.elapsed().as_secs_f64(),
                s.incidents.len(),
                s.hazards.len(),
                s.aors.len(),
                s.posts.len(),
                s.roads
                    .as_ref()
                    .map_or("none".to_string(), |r| format!("{} nodes", r.node_count()))
            );
        }
        Ok(s)
    }

    /// Builds the indexes at start-up, logging progress: from the stored
    /// records as they are after the journal head read first (incidents
    /// straight from their stored JSON, read and parsed on every core;
    /// hazard areas, AoRs and posts from each one's own history, since a
    /// hazard area's inactive date is when the journal recorded its
    /// change), then the journal after that head, as every answer does.
    /// Applying a change twice leaves the same state, so what was written
    /// between the head and the reads ends up as the journal says. The
    /// same state as replaying the whole journal (a test compares them),
    /// without reading every journal entry of a large mission.
    pub async fn rebuild(&self, store: Arc<dyn Store>) -> ApiResult<()> {
        let started = std::time::Instant::now();
        let head = store.head().await?;
        {
            let mut s = self.inner.lock().await;
            let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
            q.oldest_first = true;
            q.limit = 5000;
            let pages = truce_store::read_ahead_map(store.clone(), q, 4, |page| {
                page.iter()
                    .filter_map(|r| {
                        let id = Uuid::parse_str(r.id).ok()?;
                        let data: Value = serde_json::from_str(r.data).ok()?;
                        Some((id, incident_point(id, &data, r.sensitivity)))
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
            let mut pages = std::pin::pin!(pages);
            while let Some(points) = pages.next().await {
                for (id, point) in points? {
                    s.put_incident(id, point);
                }
            }
            tracing::info!(
                "spatial index: {} incidents from the stored records in {:.1} s",
                s.incidents.len(),
                started.elapsed().as_secs_f64()
            );
            for kind in [EntityKind::HazardArea, EntityKind::Aor, EntityKind::Post] {
                let records = store
                    .list_all(ListQuery::new(kind, Sensitivity::Restricted))
                    .await?;
                for r in records {
                    for e in store.history(r.id).await? {
                        if e.seq <= head.seq {
                            s.apply(&e);
                        }
                    }
                }
            }
            s.seq = head.seq;
        }
        self.catch_up(&*store, true).await.map(|_| ())
    }

    /// Rebuilds the indexes by replaying the whole journal: what
    /// [`SpatialCache::rebuild`] must be equal to.
    #[cfg(test)]
    async fn replay(&self, store: &dyn Store) -> ApiResult<()> {
        self.catch_up(store, true).await.map(|_| ())
    }

    /// Applies journal entries the caller read, in order, exactly as the
    /// start-up rebuild does with each batch it reads from the store. Public
    /// so that the memory benchmark (`truce-spatial-mem`) can feed millions
    /// of synthetic entries through the server's own code without a store.
    pub async fn apply_entries(&self, entries: &[JournalEntry]) {
        let mut s = self.inner.lock().await;
        for e in entries {
            s.seq = e.seq;
            s.apply(e);
        }
    }

    /// Ends a rebuild as [`SpatialCache::rebuild`] does after the last
    /// batch (compacts the incident index, builds the hazard and area
    /// indexes); public for the same benchmark.
    pub async fn finish_rebuild(&self) {
        self.inner.lock().await.finish_rebuild();
    }

    /// Indexed incidents and the heap bytes of the incident index (which
    /// holds their sensitivities too), as the index itself counts them: the
    /// issue's "bytes per indexed incident".
    pub async fn incident_memory(&self) -> (usize, usize) {
        let s = self.inner.lock().await;
        (s.incidents.len(), s.incidents.heap_bytes())
    }
}

fn max_for(p: &Principal, kind: EntityKind) -> Sensitivity {
    access::max_readable(p.role, kind).unwrap_or(Sensitivity::Public)
}

/// Which record ids the caller may see.
struct Visibility<'a> {
    sens: &'a HashMap<Uuid, Sensitivity>,
    max: Sensitivity,
}

impl<'a> Visibility<'a> {
    /// What the caller may see of records of `kind` among `sens`.
    fn of(sens: &'a HashMap<Uuid, Sensitivity>, p: &Principal, kind: EntityKind) -> Self {
        Visibility {
            sens,
            max: max_for(p, kind),
        }
    }

    fn sees(&self, id: Uuid) -> bool {
        self.sens.get(&id).is_some_and(|s| *s <= self.max)
    }

    /// For incidents, whose rows carry their sensitivity.
    fn allows(&self, s: Sensitivity) -> bool {
        s <= self.max
    }
}

fn list_param(params: &HashMap<String, String>, k: &str) -> Option<Vec<String>> {
    params
        .get(k)
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
}

fn bbox_param(params: &HashMap<String, String>) -> ApiResult<Option<[f64; 4]>> {
    let Some(v) = params.get("bbox").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| Problem::field("bbox", "four numbers: min_lon,min_lat,max_lon,max_lat"))?;
    match n[..] {
        [a, b, c, d]
            if (-180.0..=180.0).contains(&a)
                && (-180.0..=180.0).contains(&c)
                && (-90.0..=90.0).contains(&b)
                && (-90.0..=90.0).contains(&d)
                && a <= c
                && b <= d =>
        {
            Ok(Some([a, b, c, d]))
        }
        _ => Err(Problem::field(
            "bbox",
            "four numbers: min_lon,min_lat,max_lon,max_lat within WGS84, min <= max",
        )),
    }
}

fn incident_query(params: &HashMap<String, String>) -> ApiResult<IncidentQuery> {
    let from = crate::mine::time_param(params, "from")?;
    let to = crate::mine::time_param(params, "to")?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(Problem::field("from", "is after to"));
    }
    Ok(IncidentQuery {
        bbox: bbox_param(params)?,
        from: from.map(|t| t.as_second()),
        to: to.map(|t| t.as_second()),
        categories: list_param(params, "category"),
        statuses: list_param(params, "status"),
        parties: list_param(params, "party"),
    })
}

fn point_param(params: &HashMap<String, String>) -> ApiResult<[f64; 2]> {
    let num = |k: &str| -> ApiResult<f64> {
        params
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| Problem::field(k, "a number is required"))
    };
    let ll = LatLon {
        lat: num("lat")?,
        lon: num("lon")?,
    };
    ll.validate().map_err(Problem::invalid)?;
    Ok([ll.lon, ll.lat])
}

/// `GET /map/incidents`: incidents in a box and time window, of some
/// categories/statuses/parties, as a GeoJSON FeatureCollection (at most
/// `limit`, default 10,000; `truncated` says when more matched).
async fn map_incidents(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let q = incident_query(&params)?;
    let limit = count_param(&params, "limit", 100_000, 10_000)?;
    let s = state.spatial.catch_up(&*state.store, false).await?;
    let vis = Visibility::of(&s.sens, &p, EntityKind::Incident);
    let mut rows = Vec::new();
    let mut matched = 0usize;
    s.incidents.for_each_row(&q, |r| {
        if !vis.allows(r.sensitivity) {
            return;
        }
        matched += 1;
        rows.push((
            r.time,
            r.id,
            r.sensitivity == Sensitivity::Restricted,
            json!({
                "type": "Feature",
                "id": r.id,
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "time": Timestamp::from_second(r.time).ok(),
                    "category": r.category,
                    "status": r.status,
                    "party": (!r.party.is_empty()).then_some(r.party),
                }
            }),
        ));
    });
    // Newest first, then by id, so pages are stable.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    rows.truncate(limit);
    drop(s);
    // Restricted incidents on the map are reads like any other: journaled.
    let restricted: Vec<Uuid> = rows.iter().filter(|r| r.2).map(|r| r.1).collect();
    if !restricted.is_empty() {
        crate::records::audit(
            &state,
            &p,
            EntityKind::Incident,
            Uuid::nil(),
            json!({"ids": restricted, "query": params}),
        )
        .await?;
    }
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": rows.into_iter().map(|r| r.3).collect::<Vec<_>>(),
        "matched": matched,
        "truncated": matched > limit,
    })))
}

/// `GET /map/responsible?lat=&lon=`: AoRs covering the point and the nearest post.
async fn responsible(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let pt = point_param(&params)?;
    let mut s = state.spatial.catch_up(&*state.store, false).await?;
    let idx = s.area_index();
    let (va, vp) = (
        Visibility::of(&s.sens, &p, EntityKind::Aor),
        Visibility::of(&s.sens, &p, EntityKind::Post),
    );
    let aors: Vec<Uuid> = idx
        .aors_at(pt)
        .into_iter()
        .filter(|a| va.sees(*a))
        .collect();
    let post = idx
        .nearest_posts(pt, s.posts.len())
        .into_iter()
        .find(|n| vp.sees(n.id));
    Ok(Json(json!({
        "aors": aors,
        "post": post.map(|n| json!({"id": n.id, "distance_m": n.distance_m})),
    })))
}

/// `GET /map/posts/nearest?lat=&lon=&k=`: the k nearest posts (geodesic).
async fn nearest_posts(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let pt = point_param(&params)?;
    let k = count_param(&params, "k", 1000, 5)?;
    let mut s = state.spatial.catch_up(&*state.store, false).await?;
    let idx = s.area_index();
    let vis = Visibility::of(&s.sens, &p, EntityKind::Post);
    let posts: Vec<Value> = idx
        .nearest_posts(pt, s.posts.len())
        .into_iter()
        .filter(|n| vis.sees(n.id))
        .take(k)
        .map(|n| json!({"id": n.id, "distance_m": n.distance_m}))
        .collect();
    Ok(Json(json!({ "posts": posts })))
}

/// `GET /map/aor_counts?from=&to=&category=&status=&party=`: incidents
/// counted per AoR per UTC day.
async fn aor_counts(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let q = incident_query(&params)?;
    let mut s = state.spatial.catch_up(&*state.store, false).await?;
    let idx = s.area_index();
    let (vi, va) = (
        Visibility::of(&s.sens, &p, EntityKind::Incident),
        Visibility::of(&s.sens, &p, EntityKind::Aor),
    );
    let mut counts: BTreeMap<(Uuid, Date), u64> = BTreeMap::new();
    s.incidents.for_each_row(&q, |r| {
        if !vi.allows(r.sensitivity) {
            return;
        }
        let Ok(ts) = Timestamp::from_second(r.time) else {
            return;
        };
        for a in idx.aors_at([r.lon, r.lat]) {
            if va.sees(a) {
                *counts.entry((a, day_of(ts))).or_insert(0) += 1;
            }
        }
    });
    let rows: Vec<Value> = counts
        .into_iter()
        .map(|((aor, day), n)| json!({"aor": aor, "day": day, "count": n}))
        .collect();
    Ok(Json(json!({ "counts": rows })))
}

/// Avoid set of `POST /routes`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvoidBody {
    /// Avoid hazard areas active on this day (`true`: today).
    #[serde(default)]
    hazard_areas: Option<HazardsOn>,
    /// Avoid incidents within `within_m` metres of the last `days` days.
    #[serde(default)]
    incidents: Option<RecentIncidents>,
    /// Explicit polygons (GeoJSON Polygon or MultiPolygon).
    #[serde(default)]
    polygons: Vec<Area>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HazardsOn {
    Today(bool),
    On(Date),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecentIncidents {
    within_m: f64,
    days: u32,
}

/// Body of `POST /routes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteBody {
    from: LatLon,
    to: LatLon,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    avoid: AvoidBody,
    #[serde(default)]
    buffer_m: Option<f64>,
}

/// Body of `POST /routes/check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    route: GeoPath,
    #[serde(default)]
    buffer_m: Option<f64>,
    /// Hazard areas active on this day (default today).
    #[serde(default)]
    on: Option<Date>,
    /// Incidents of the last N days (default 7).
    #[serde(default)]
    days: Option<u32>,
}

/// Default buffer for listing what a route passes, metres.
const DEFAULT_BUFFER_M: f64 = 1000.0;
/// Default look-back for incidents near a route, days.
const DEFAULT_INCIDENT_DAYS: u32 = 7;

fn buffer(b: Option<f64>) -> ApiResult<f64> {
    let b = b.unwrap_or(DEFAULT_BUFFER_M);
    if !(0.0..=50_000.0).contains(&b) {
        return Err(Problem::field("buffer_m", "must be 0..50000 metres"));
    }
    Ok(b)
}

/// A polygon (24-gon) that contains the disc of `r` metres around a point:
/// vertices on a circle of `r / cos(pi/24)` so the edges stay outside the
/// disc (1 % margin for the flat-earth step).
fn disc(lon: f64, lat: f64, r: f64) -> MultiPolygon<f64> {
    let n = 24;
    let rv = r / (std::f64::consts::PI / n as f64).cos() * 1.01;
    let dlat = rv / 110_574.0;
    let dlon = rv / (111_320.0 * lat.to_radians().cos().max(1e-6));
    let mut ring: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (
                (lon + dlon * a.cos()).clamp(-180.0, 180.0),
                (lat + dlat * a.sin()).clamp(-90.0, 90.0),
            )
        })
        .collect();
    ring.push(ring[0]);
    MultiPolygon::new(vec![geo::Polygon::new(ring.into(), vec![])])
}

fn no_route_problem(e: &NoRoute, labels: &[String]) -> Problem {
    let (status, slug, reason) = match e {
        NoRoute::InvalidPoint(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "invalid_point",
        ),
        NoRoute::NoRoads => (StatusCode::UNPROCESSABLE_ENTITY, "no-route", "no_roads"),
        NoRoute::OriginInAvoidArea(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-route",
            "origin_in_avoid_area",
        ),
        NoRoute::DestinationInAvoidArea(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-route",
            "destination_in_avoid_area",
        ),
        NoRoute::BlockedByAvoidAreas => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-route",
            "blocked_by_avoid_areas",
        ),
        NoRoute::Disconnected => (StatusCode::UNPROCESSABLE_ENTITY, "no-route", "disconnected"),
    };
    let detail = match e {
        NoRoute::OriginInAvoidArea(i) | NoRoute::DestinationInAvoidArea(i) => format!(
            "{}: {}",
            e.to_string()
                .trim_end_matches(&format!(" #{i}"))
                .trim_end_matches(" avoid area"),
            labels
                .get(*i)
                .cloned()
                .unwrap_or_else(|| format!("avoid area #{i}"))
        ),
        _ => e.to_string(),
    };
    let mut p = Problem::new(status, slug, detail);
    p.title = "No route".into();
    let field = match e {
        NoRoute::InvalidPoint("origin") | NoRoute::OriginInAvoidArea(_) => "from",
        NoRoute::InvalidPoint(_) | NoRoute::DestinationInAvoidArea(_) => "to",
        _ => "avoid",
    };
    p.errors = vec![truce_core::error::FieldError::new(field, reason)];
    p
}

/// `POST /routes`: the exact shortest route under an avoid set, with what
/// it passes within the buffer. Hazard areas added a moment ago count: the
/// avoid set is built per request from the current indexes.
async fn route_handler(
    State(state): State<AppState>,
    p: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (_, v) = ops::body_value(body)?;
    let b: RouteBody = ops::from_value(v)?;
    b.from.validate().map_err(|e| {
        let mut v = truce_core::ValidationErrors::default();
        v.nest("from", e);
        Problem::invalid(v)
    })?;
    b.to.validate().map_err(|e| {
        let mut v = truce_core::ValidationErrors::default();
        v.nest("to", e);
        Problem::invalid(v)
    })?;
    let profile: Profile = b
        .profile
        .as_deref()
        .unwrap_or("car")
        .parse()
        .map_err(|e: String| Problem::field("profile", e))?;
    let metric: Metric = b
        .metric
        .as_deref()
        .unwrap_or("distance")
        .parse()
        .map_err(|e: String| Problem::field("metric", e))?;
    let buffer_m = buffer(b.buffer_m)?;
    let mut explicit = Vec::new();
    for (i, a) in b.avoid.polygons.iter().enumerate() {
        let mp = a.to_geo().map_err(|e| {
            let mut v = truce_core::ValidationErrors::default();
            v.nest(&format!("avoid.polygons[{i}]"), e);
            Problem::invalid(v)
        })?;
        explicit.push(mp);
    }
    if let Some(r) = &b.avoid.incidents
        && !(r.within_m > 0.0 && r.within_m <= 50_000.0 && (1..=3650).contains(&r.days))
    {
        return Err(Problem::field(
            "avoid.incidents",
            "within_m must be 0..50000 and days 1..3650",
        ));
    }
    let now = Timestamp::now();
    let today = day_of(now);
    let mut s = state.spatial.catch_up(&*state.store, false).await?;
    let Some(net) = s.roads.clone() else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no-road-network",
            "this mission has no road network; run `truce roads import FILE`",
        ));
    };
    let graph = match s.graphs.get(&(profile, metric)) {
        Some(g) => g.clone(),
        None => {
            let n = net.clone();
            let g = Arc::new(
                tokio::task::spawn_blocking(move || RoadGraph::build(&n, profile, metric))
                    .await
                    .map_err(|e| {
                        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                    })?,
            );
            s.graphs.insert((profile, metric), g.clone());
            g
        }
    };
    let hazards = s.hazard_index();
    let hmax = max_for(&p, EntityKind::HazardArea);
    let imax = max_for(&p, EntityKind::Incident);
    // The avoid polygons, each with a label for "why no route".
    let mut polygons: Vec<MultiPolygon<f64>> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let hazards_on = match &b.avoid.hazard_areas {
        None | Some(HazardsOn::Today(false)) => None,
        Some(HazardsOn::Today(true)) => Some(today),
        Some(HazardsOn::On(d)) => Some(*d),
    };
    if let Some(day) = hazards_on {
        for a in hazards.areas() {
            if a.active_on(day) && s.sens.get(&a.id).is_some_and(|x| *x <= hmax) {
                polygons.push(a.polygon.clone());
                let code = s.hazards.get(&a.id).map_or("", |h| h.code.as_str());
                labels.push(format!("hazard area {code} ({})", a.id));
            }
        }
    }
    if let Some(r) = &b.avoid.incidents {
        let q = IncidentQuery {
            from: Some((now - SignedDuration::from_hours(24 * i64::from(r.days))).as_second()),
            to: Some(now.as_second() + 1),
            ..Default::default()
        };
        s.incidents.for_each_row(&q, |row| {
            if row.sensitivity <= imax {
                polygons.push(disc(row.lon, row.lat, r.within_m));
                labels.push(format!(
                    "{} m around incident {} ({})",
                    r.within_m, row.id, row.category
                ));
            }
        });
    }
    for (i, mp) in explicit.into_iter().enumerate() {
        polygons.push(mp);
        labels.push(format!("avoid.polygons[{i}]"));
    }
    let incidents_since =
        Some((now - SignedDuration::from_hours(24 * i64::from(DEFAULT_INCIDENT_DAYS))).as_second());
    let sens = s.sens.clone();
    let hazard_codes: HashMap<Uuid, String> = s
        .hazards
        .iter()
        .map(|(id, h)| (*id, h.code.clone()))
        .collect();
    // The incident index stays behind the lock; the route runs without it.
    let avoid_count = polygons.len();
    let from = [b.from.lon, b.from.lat];
    let to = [b.to.lon, b.to.lat];
    let (route, avoid) = {
        let (g, n) = (graph.clone(), net.clone());
        tokio::task::spawn_blocking(move || -> Result<_, Problem> {
            let avoid =
                AvoidSet::new(&n, polygons).map_err(|e| Problem::field("avoid", e.to_string()))?;
            let mut search = Search::default();
            Ok((g.route(&n, from, to, &avoid, &mut search), avoid))
        })
        .await
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??
    };
    let route = route.map_err(|e| no_route_problem(&e, &labels))?;
    let line: geo::LineString<f64> = if route.coords.len() == 1 {
        vec![route.coords[0], route.coords[0]].into()
    } else {
        route.coords.clone().into()
    };
    let scope = CheckScope {
        buffer_m,
        hazards_on: Some(hazards_on.unwrap_or(today)),
        incidents_since,
        incidents_until: Some(now.as_second() + 1),
    };
    let hits = check_path(
        &line,
        &hazards,
        &s.incidents,
        scope,
        |id| hazard_codes.get(&id).cloned().unwrap_or_default(),
        |id| sens.get(&id).is_some_and(|x| *x <= hmax),
        |r| r.sensitivity <= imax,
    )
    .map_err(|e| Problem::field("route", e.to_string()))?;
    Ok(Json(json!({
        "profile": profile.to_string(),
        "metric": if metric == Metric::Distance { "distance" } else { "time" },
        "distance_m": route.distance_m,
        "duration_s": route.duration_s,
        "cost": route.cost,
        "geometry": route.geometry(),
        "from": {"lon": route.from.coord[0], "lat": route.from.coord[1], "snap_m": route.from.distance_m},
        "to": {"lon": route.to.coord[0], "lat": route.to.coord[1], "snap_m": route.to.distance_m},
        "avoid": {"polygons": avoid_count, "blocked_segments": avoid.blocked_count()},
        "buffer_m": buffer_m,
        "hits": hits,
    })))
}

/// `POST /routes/check`: what a given LineString passes (hazard areas
/// active on `on`, incidents of the last `days` days) within `buffer_m`.
async fn check_handler(
    State(state): State<AppState>,
    p: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (_, v) = ops::body_value(body)?;
    let b: CheckBody = ops::from_value(v)?;
    let line = b.route.to_geo().map_err(|e| {
        let mut v = truce_core::ValidationErrors::default();
        v.nest("route", e);
        Problem::invalid(v)
    })?;
    let buffer_m = buffer(b.buffer_m)?;
    let days = b.days.unwrap_or(DEFAULT_INCIDENT_DAYS);
    if !(1..=3650).contains(&days) {
        return Err(Problem::field("days", "must be 1..3650"));
    }
    let now = Timestamp::now();
    let on = b.on.unwrap_or_else(|| day_of(now));
    let mut s = state.spatial.catch_up(&*state.store, false).await?;
    let hazards = s.hazard_index();
    let (hmax, imax) = (
        max_for(&p, EntityKind::HazardArea),
        max_for(&p, EntityKind::Incident),
    );
    let scope = CheckScope {
        buffer_m,
        hazards_on: Some(on),
        incidents_since: Some((now - SignedDuration::from_hours(24 * i64::from(days))).as_second()),
        incidents_until: Some(now.as_second() + 1),
    };
    let hits = check_path(
        &line,
        &hazards,
        &s.incidents,
        scope,
        |id| {
            s.hazards
                .get(&id)
                .map(|h| h.code.clone())
                .unwrap_or_default()
        },
        |id| s.sens.get(&id).is_some_and(|x| *x <= hmax),
        |r| r.sensitivity <= imax,
    )
    .map_err(|e| Problem::field("route", e.to_string()))?;
    Ok(Json(json!({
        "blocking": hits.iter().any(|h| h.blocking),
        "buffer_m": buffer_m,
        "on": on,
        "days": days,
        "hits": hits,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::ValidationContext;
    use truce_store::sqlite::SqliteStore;
    use truce_store::{Change, Command};

    fn cmd(change: Change) -> Command {
        Command {
            actor: "t".into(),
            reason: None,
            idempotency: None,
            change,
        }
    }

    fn valid(kind: EntityKind, v: Value) -> truce_core::ValidRecord {
        let ctx = ValidationContext {
            now: "2026-11-21T00:00:00Z".parse().unwrap(),
        };
        kind.validate_json(v, &ctx).unwrap()
    }

    fn incident(lat: f64, note: &str) -> truce_core::ValidRecord {
        valid(
            EntityKind::Incident,
            json!({"occurred_at": "2026-11-20T10:00:00Z", "event_type": "battles",
                   "sub_event_type": "armed_clash", "location": {"lat": lat, "lon": 46.5},
                   "notes": note}),
        )
    }

    fn hazard(code: &str, status: &str) -> truce_core::ValidRecord {
        valid(
            EntityKind::HazardArea,
            json!({"code": code, "classification": "confirmed", "status": status,
                   "area": {"type": "Polygon", "coordinates": [[[46.9, 39.9], [46.91, 39.9], [46.91, 39.91], [46.9, 39.91], [46.9, 39.9]]]},
                   "area_m2": 100.0, "source": "technical_survey", "contamination": ["ap_mine"],
                   "recorded_at": "2026-11-01T00:00:00Z"}),
        )
    }

    async fn put(s: &SqliteStore, kind: EntityKind, id: Uuid, record: truce_core::ValidRecord) {
        s.apply(cmd(Change::Create {
            kind,
            id,
            sensitivity: Sensitivity::Mission,
            record,
        }))
        .await
        .unwrap();
    }

    /// What a cache holds, comparably.
    async fn state(c: &SpatialCache) -> (u64, Vec<String>, Vec<String>, Vec<Uuid>, Vec<String>) {
        let s = c.inner.lock().await;
        let mut sens: Vec<String> = s.sens.iter().map(|(k, v)| format!("{k} {v:?}")).collect();
        sens.sort();
        let mut incidents = Vec::new();
        s.incidents.for_each_row(&IncidentQuery::default(), |r| {
            incidents.push(format!(
                "{} {} {} {} {} {} {} {:?}",
                r.id, r.lon, r.lat, r.time, r.category, r.status, r.party, r.sensitivity
            ))
        });
        incidents.sort();
        (
            s.seq,
            incidents,
            s.hazards
                .iter()
                .map(|(id, h)| {
                    format!(
                        "{id} {} {:?} {:?}",
                        h.code, h.area.active_from, h.area.active_to
                    )
                })
                .collect(),
            s.aors.keys().chain(s.posts.keys()).copied().collect(),
            sens,
        )
    }

    /// The start-up build from stored records and histories holds what a
    /// replay of the whole journal holds: incidents created, moved and
    /// withdrawn; hazard areas opened, closed on a later day (whose
    /// inactive date comes from the journal) and withdrawn; AoRs, posts.
    #[tokio::test]
    async fn rebuild_from_records_equals_a_journal_replay() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        let ids: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
        for (i, id) in ids.iter().enumerate() {
            put(
                &store,
                EntityKind::Incident,
                *id,
                incident(39.5 + i as f64 / 100.0, "x"),
            )
            .await;
        }
        store
            .apply(cmd(Change::Update {
                kind: EntityKind::Incident,
                id: ids[1],
                if_version: None,
                sensitivity: Some(Sensitivity::Restricted),
                record: incident(39.9, "moved"),
            }))
            .await
            .unwrap();
        store
            .apply(cmd(Change::Retract {
                kind: EntityKind::Incident,
                id: ids[2],
                if_version: None,
            }))
            .await
            .unwrap();
        let (open, closed, gone) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        put(
            &store,
            EntityKind::HazardArea,
            open,
            hazard("CHA-1", "open"),
        )
        .await;
        put(
            &store,
            EntityKind::HazardArea,
            closed,
            hazard("CHA-2", "open"),
        )
        .await;
        put(
            &store,
            EntityKind::HazardArea,
            gone,
            hazard("CHA-3", "open"),
        )
        .await;
        for (id, status) in [(closed, "in_progress"), (closed, "closed")] {
            store
                .apply(cmd(Change::Update {
                    kind: EntityKind::HazardArea,
                    id,
                    if_version: None,
                    sensitivity: None,
                    record: hazard("CHA-2", status),
                }))
                .await
                .unwrap();
        }
        store
            .apply(cmd(Change::Retract {
                kind: EntityKind::HazardArea,
                id: gone,
                if_version: None,
            }))
            .await
            .unwrap();
        let aor = Uuid::now_v7();
        put(
            &store,
            EntityKind::Aor,
            aor,
            valid(
                EntityKind::Aor,
                json!({"code": "AOR-1", "name": "North",
                       "area": {"type": "Polygon", "coordinates": [[[46, 39], [47, 39], [47, 40], [46, 40], [46, 39]]]}}),
            ),
        )
        .await;
        put(
            &store,
            EntityKind::Post,
            Uuid::now_v7(),
            valid(
                EntityKind::Post,
                json!({"code": "OP-1", "name": "Hill", "location": {"lat": 39.5, "lon": 46.5},
                       "aor": aor, "staffed": true}),
            ),
        )
        .await;
        let store: Arc<dyn Store> = Arc::new(store);
        let replayed = SpatialCache::default();
        replayed.replay(&*store).await.unwrap();
        let rebuilt = SpatialCache::default();
        rebuilt.rebuild(store.clone()).await.unwrap();
        let (a, b) = (state(&replayed).await, state(&rebuilt).await);
        assert_eq!(a.1.len(), 5);
        assert!(
            a.1.iter()
                .any(|r| r.contains("39.9 ") && r.ends_with("Restricted"))
        );
        assert_eq!(a.2.len(), 2, "{:?}", a.2);
        let closed_row = a.2.iter().find(|h| h.contains("CHA-2")).unwrap();
        assert!(
            !closed_row.ends_with("None"),
            "closed: inactive from a day: {closed_row}"
        );
        assert_eq!(a.3.len(), 2);
        assert_eq!(a, b);
    }
}
