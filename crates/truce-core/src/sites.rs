//! Protected sites: critical infrastructure (water, power, bridges,
//! hospitals, schools) and historical, cultural and religious heritage,
//! each with a location or outline, a custodian, and condition assessments
//! over time with evidence. Incidents and hazard areas near a site are found
//! by distance ([`Site::distance_to_point_m`], [`Site::distance_to_area_m`]).

use geo::{Closest, ClosestPoint, Contains, Distance, Geodesic, Intersects, MultiPolygon, Point};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::{Area, LatLon};
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::time::check_plausible;

/// What a protected site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SiteCategory {
    /// Water supply: pumping stations, reservoirs, treatment plants.
    Water,
    /// Power: plants, substations, lines.
    Power,
    /// A bridge.
    Bridge,
    /// A hospital or clinic.
    Hospital,
    /// A school.
    School,
    /// Historical heritage.
    HistoricalHeritage,
    /// Cultural heritage (museums, libraries, monuments).
    CulturalHeritage,
    /// Religious heritage (churches, mosques, cemeteries).
    ReligiousHeritage,
    /// Anything else.
    Other,
}

/// A site's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Condition {
    /// Undamaged.
    Intact,
    /// Minor damage.
    MinorDamage,
    /// Major damage.
    MajorDamage,
    /// Destroyed.
    Destroyed,
    /// Not assessable (no access).
    Unknown,
}

/// A site under protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    /// Name.
    pub name: String,
    /// Other names and spellings, in any script.
    #[serde(default)]
    pub alt_names: Vec<String>,
    /// What it is.
    pub category: SiteCategory,
    /// Where (a representative point).
    pub location: LatLon,
    /// Its outline, when known.
    #[serde(default)]
    pub outline: Option<Area>,
    /// Who looks after it.
    #[serde(default)]
    pub custodian: Option<String>,
    /// Incidents and hazards within this many metres are listed with it.
    #[serde(default = "default_radius")]
    pub watch_radius_m: f64,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

fn default_radius() -> f64 {
    1000.0
}

fn outline_geo(site: &Site) -> Option<MultiPolygon<f64>> {
    site.outline.as_ref().and_then(|a| a.to_geo().ok())
}

fn ring_distance_m(p: Point<f64>, mp: &MultiPolygon<f64>) -> f64 {
    let mut best = f64::INFINITY;
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            if let Closest::SinglePoint(c) | Closest::Intersection(c) = ring.closest_point(&p) {
                best = best.min(Geodesic.distance(p, c));
            }
        }
    }
    best
}

impl Site {
    /// Geodesic metres from the site (its outline, or its point) to `p`; 0 inside.
    pub fn distance_to_point_m(&self, p: LatLon) -> f64 {
        let pt = Point::new(p.lon, p.lat);
        match outline_geo(self) {
            Some(mp) if mp.contains(&pt) => 0.0,
            Some(mp) => ring_distance_m(pt, &mp),
            None => Geodesic.distance(Point::new(self.location.lon, self.location.lat), pt),
        }
    }

    /// Geodesic metres from the site to an area; 0 when they meet.
    pub fn distance_to_area_m(&self, area: &MultiPolygon<f64>) -> f64 {
        let site_pt = Point::new(self.location.lon, self.location.lat);
        if let Some(mp) = outline_geo(self) {
            if mp.intersects(area) {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for poly in &mp.0 {
                for c in poly.exterior().coords() {
                    best = best.min(ring_distance_m(Point::from(*c), area));
                }
            }
            for poly in &area.0 {
                for c in poly.exterior().coords() {
                    best = best.min(ring_distance_m(Point::from(*c), &mp));
                }
            }
            return best;
        }
        if area.contains(&site_pt) {
            0.0
        } else {
            ring_distance_m(site_pt, area)
        }
    }
}

impl Record for Site {
    const KIND: EntityKind = EntityKind::Site;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        for (i, n) in self.alt_names.iter().enumerate() {
            check_name(n, &format!("alt_names[{i}]"), &mut e);
        }
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        if let Some(a) = &self.outline
            && let Err(ae) = a.to_geo()
        {
            e.nest("outline", ae);
        }
        if let Some(c) = &self.custodian {
            check_name(c, "custodian", &mut e);
        }
        if !(self.watch_radius_m.is_finite() && (0.0..=50_000.0).contains(&self.watch_radius_m)) {
            e.push("watch_radius_m", "must be 0..50000 metres");
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        let (bbox, geometry) = match &self.outline {
            Some(a) => (a.bbox(), serde_json::to_value(a).ok()),
            None => (Some([lon, lat, lon, lat]), Some(self.location.to_geojson())),
        };
        let mut text = self.name.to_lowercase();
        for n in self.alt_names.iter().chain(&self.custodian) {
            text.push(' ');
            text.push_str(&n.to_lowercase());
        }
        IndexFields {
            bbox,
            geometry,
            category: Some(serde_name(&self.category)),
            text,
            ..Default::default()
        }
    }
}

/// A condition assessment of a site, with evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteAssessment {
    /// The site.
    pub site: Uuid,
    /// When it was assessed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub assessed_at: Timestamp,
    /// Condition found.
    pub condition: Condition,
    /// Who assessed it.
    #[serde(default)]
    pub assessed_by: Option<String>,
    /// How: visit, imagery, report.
    #[serde(default)]
    pub method: Option<String>,
    /// Evidence: photographs, imagery, reports (references).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Incidents the damage is attributed to.
    #[serde(default)]
    pub incidents: Vec<Uuid>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for SiteAssessment {
    const KIND: EntityKind = EntityKind::SiteAssessment;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_plausible(self.assessed_at, ctx.now, "assessed_at", &mut e);
        for (v, f) in [(&self.assessed_by, "assessed_by"), (&self.method, "method")] {
            if let Some(v) = v {
                check_name(v, f, &mut e);
            }
        }
        if matches!(
            self.condition,
            Condition::MinorDamage | Condition::MajorDamage | Condition::Destroyed
        ) && self.evidence.is_empty()
        {
            e.push("evidence", "is required to record damage");
        }
        for (i, s) in self.evidence.iter().enumerate() {
            check_name(s, &format!("evidence[{i}]"), &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.assessed_at),
            time_end: Some(self.assessed_at),
            category: Some(serde_name(&self.condition)),
            text: self.notes.as_deref().unwrap_or("").to_lowercase(),
            refs: std::iter::once(self.site)
                .chain(self.incidents.iter().copied())
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> ValidationContext {
        ValidationContext {
            now: "2026-11-21T12:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn distances_from_point_and_outline() {
        let mut s: Site = serde_json::from_value(json!({
            "name": "Bridge", "category": "bridge", "location": {"lat": 39.5, "lon": 46.5}
        }))
        .unwrap();
        let d = s.distance_to_point_m(LatLon {
            lat: 39.509,
            lon: 46.5,
        });
        assert!((990.0..1010.0).contains(&d), "{d}");
        s.outline = Some(
            serde_json::from_value(json!({"type": "Polygon", "coordinates": [[[46.499, 39.499], [46.501, 39.499], [46.501, 39.501], [46.499, 39.501], [46.499, 39.499]]]}))
                .unwrap(),
        );
        assert_eq!(
            s.distance_to_point_m(LatLon {
                lat: 39.5,
                lon: 46.5
            }),
            0.0
        );
        let d = s.distance_to_point_m(LatLon {
            lat: 39.509,
            lon: 46.5,
        });
        assert!((870.0..900.0).contains(&d), "{d}");
        let far: Area = serde_json::from_value(json!({"type": "Polygon", "coordinates": [[[46.6, 39.5], [46.61, 39.5], [46.61, 39.51], [46.6, 39.5]]]})).unwrap();
        let d = s.distance_to_area_m(&far.to_geo().unwrap());
        assert!((8400.0..8600.0).contains(&d), "{d}");
    }

    #[test]
    fn damage_needs_evidence() {
        let v = json!({"site": Uuid::nil(), "assessed_at": "2026-11-20T00:00:00Z", "condition": "major_damage"});
        let e = EntityKind::SiteAssessment
            .validate_json(v, &ctx())
            .unwrap_err();
        assert_eq!(e.0[0].field, "evidence");
    }
}
