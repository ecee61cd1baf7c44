//! Safe-route check: the hazard areas and recent incidents a path (a
//! convoy's planned route, a computed route) passes within a buffer, with
//! geodesic distances, answered from the [`HazardIndex`] and
//! [`IncidentIndex`] (bounding-box pruning, then exact distances).

use std::collections::HashMap;

use geo::LineString;
use jiff::civil::Date;
use truce_core::logistics::{Obstacle, RouteHit};
use uuid::Uuid;

use crate::error::GeoError;
use crate::geom::{expand_box, point_linestring_m, validate_linestring};
use crate::hazards::{HazardArea, HazardIndex};
use crate::incidents::{IncidentIndex, IncidentPoint, IncidentQuery, IncidentRow};

/// What to check a path against.
#[derive(Debug, Clone, Copy)]
pub struct CheckScope {
    /// Buffer around the path, geodesic metres.
    pub buffer_m: f64,
    /// Hazard areas active on this day (all indexed areas when `None`).
    pub hazards_on: Option<Date>,
    /// Incidents at or after this time (Unix seconds; all when `None`).
    pub incidents_since: Option<i64>,
    /// Incidents before this time (Unix seconds; all when `None`).
    pub incidents_until: Option<i64>,
}

/// Hazard areas and incidents within `scope.buffer_m` of `path`: crossed
/// hazard areas first (`blocking`), then by distance (metres, rounded).
/// `hazard_label` names a hazard area (its code); `hazard_visible` and
/// `incident_visible` drop records the caller may not see (an incident
/// row carries its sensitivity). An incident's label is its category.
pub fn check_path(
    path: &LineString<f64>,
    hazards: &HazardIndex,
    incidents: &IncidentIndex,
    scope: CheckScope,
    hazard_label: impl Fn(Uuid) -> String,
    hazard_visible: impl Fn(Uuid) -> bool,
    incident_visible: impl Fn(&IncidentRow<'_>) -> bool,
) -> Result<Vec<RouteHit>, GeoError> {
    validate_linestring(path)?;
    let mut hits: Vec<RouteHit> = hazards
        .check_line(path, scope.buffer_m, scope.hazards_on)?
        .into_iter()
        .filter(|h| hazard_visible(h.id))
        .map(|h| RouteHit {
            kind: "hazard_area".into(),
            id: h.id,
            label: hazard_label(h.id),
            distance_m: h.distance_m.round(),
            blocking: h.distance_m == 0.0,
        })
        .collect();
    // Incidents: per segment, a box query widened by the buffer, then the
    // exact distance to the whole path.
    let mut seen = std::collections::HashSet::new();
    for l in path.lines() {
        let min = [l.start.x.min(l.end.x), l.start.y.min(l.end.y)];
        let max = [l.start.x.max(l.end.x), l.start.y.max(l.end.y)];
        let (min, max) = expand_box(min, max, scope.buffer_m);
        let q = IncidentQuery {
            bbox: Some([min[0], min[1], max[0], max[1]]),
            from: scope.incidents_since,
            to: scope.incidents_until,
            ..Default::default()
        };
        incidents.for_each_row(&q, |r| {
            if !seen.insert(r.id) || !incident_visible(&r) {
                return;
            }
            let d = point_linestring_m(geo::Coord { x: r.lon, y: r.lat }, path);
            if d <= scope.buffer_m {
                hits.push(RouteHit {
                    kind: "incident".into(),
                    id: r.id,
                    label: r.category.to_string(),
                    distance_m: d.round(),
                    blocking: false,
                });
            }
        });
    }
    hits.sort_by(|a, b| {
        b.blocking
            .cmp(&a.blocking)
            .then(a.distance_m.total_cmp(&b.distance_m))
            .then(a.id.cmp(&b.id))
    });
    Ok(hits)
}

/// The route check over a list of obstacles (the convoy-planning form):
/// builds a [`HazardIndex`] of the areas and an [`IncidentIndex`] of the
/// points, then [`check_path`]. Obstacles with unusable geometry are
/// skipped (the store validated them on write); an unusable path gives no hits.
pub fn check_route(
    route: &LineString<f64>,
    obstacles: &[Obstacle],
    buffer_m: f64,
) -> Vec<RouteHit> {
    let mut labels = HashMap::new();
    let mut areas = Vec::new();
    let mut points = Vec::new();
    for o in obstacles {
        match o {
            Obstacle::Area { id, label, polygon } => {
                let area = HazardArea {
                    id: *id,
                    polygon: polygon.clone(),
                    active_from: None,
                    active_to: None,
                };
                // One invalid outline must not hide the others.
                if HazardIndex::new(vec![area.clone()]).is_ok() {
                    labels.insert(*id, label.clone());
                    areas.push(area);
                }
            }
            Obstacle::Point {
                id,
                label,
                lon,
                lat,
            } => points.push(IncidentPoint {
                id: *id,
                lon: *lon,
                lat: *lat,
                time: 0,
                category: label.clone(),
                status: String::new(),
                party: String::new(),
                sensitivity: truce_core::Sensitivity::Public,
            }),
        }
    }
    let Ok(hazards) = HazardIndex::new(areas) else {
        return Vec::new();
    };
    let incidents = IncidentIndex::build(
        points
            .into_iter()
            .filter(|p| crate::network::valid_lon_lat(p.lon, p.lat)),
    )
    .unwrap_or_default();
    let scope = CheckScope {
        buffer_m,
        hazards_on: None,
        incidents_since: None,
        incidents_until: None,
    };
    check_path(
        route,
        &hazards,
        &incidents,
        scope,
        |id| labels.get(&id).cloned().unwrap_or_default(),
        |_| true,
        |_| true,
    )
    .unwrap_or_default()
}
