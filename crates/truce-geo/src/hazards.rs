//! Hazard checks: is a point or a LineString inside or within D metres of
//! any hazard area active on a date; which ones, and how far (geodesic).

use geo::{Coord, LineString, MultiPolygon};
use jiff::civil::Date;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use uuid::Uuid;

use crate::error::GeoError;
use crate::geom::{
    bbox, expand_box, linestring_multipolygon_m, point_multipolygon_m, validate_linestring,
    validate_multipolygon,
};
use crate::network::valid_lon_lat;

/// A hazard area (suspected or confirmed hazardous area, shelling zone...).
#[derive(Debug, Clone)]
pub struct HazardArea {
    /// Record id.
    pub id: Uuid,
    /// Its area.
    pub polygon: MultiPolygon<f64>,
    /// First day it is active (inclusive); `None`: since always.
    pub active_from: Option<Date>,
    /// Last day it is active (inclusive); `None`: still active.
    pub active_to: Option<Date>,
}

impl HazardArea {
    /// Is it active on `day`?
    pub fn active_on(&self, day: Date) -> bool {
        self.active_from.is_none_or(|f| f <= day) && self.active_to.is_none_or(|t| day <= t)
    }
}

/// A hazard near the checked geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HazardHit {
    /// The hazard area.
    pub id: Uuid,
    /// Geodesic metres from the geometry to the area (0 inside or touching).
    pub distance_m: f64,
}

/// Index of hazard areas.
#[derive(Debug)]
pub struct HazardIndex {
    areas: Vec<HazardArea>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

impl HazardIndex {
    /// Builds the index; invalid polygons are refused (with the hazard's id).
    pub fn new(areas: Vec<HazardArea>) -> Result<HazardIndex, GeoError> {
        let mut rects = Vec::with_capacity(areas.len());
        for (i, a) in areas.iter().enumerate() {
            validate_multipolygon(&a.polygon)
                .map_err(|e| GeoError::InvalidGeometry(format!("hazard {}: {e}", a.id)))?;
            if let Some((min, max)) = bbox(&a.polygon) {
                rects.push(GeomWithData::new(
                    Rectangle::from_corners(min, max),
                    i as u32,
                ));
            }
        }
        Ok(HazardIndex {
            areas,
            tree: RTree::bulk_load(rects),
        })
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// True when there is no area.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The areas.
    pub fn areas(&self) -> &[HazardArea] {
        &self.areas
    }

    fn candidates(
        &self,
        min: [f64; 2],
        max: [f64; 2],
        within_m: f64,
        on: Option<Date>,
    ) -> impl Iterator<Item = &HazardArea> {
        let (min, max) = expand_box(min, max, within_m);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|r| &self.areas[r.data as usize])
            .filter(move |a| on.is_none_or(|d| a.active_on(d)))
    }

    fn sorted(mut hits: Vec<HazardHit>) -> Vec<HazardHit> {
        hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
        hits
    }

    /// Hazards active on `on` (all when `None`) within `within_m` metres of a (lon, lat) point.
    pub fn check_point(
        &self,
        p: [f64; 2],
        within_m: f64,
        on: Option<Date>,
    ) -> Result<Vec<HazardHit>, GeoError> {
        if !(valid_lon_lat(p[0], p[1]) && within_m >= 0.0 && within_m.is_finite()) {
            return Err(GeoError::InvalidGeometry(format!(
                "point {p:?} / distance {within_m}"
            )));
        }
        let c = Coord { x: p[0], y: p[1] };
        Ok(Self::sorted(
            self.candidates(p, p, within_m, on)
                .filter_map(|a| {
                    let d = point_multipolygon_m(c, &a.polygon);
                    (d <= within_m).then_some(HazardHit {
                        id: a.id,
                        distance_m: d,
                    })
                })
                .collect(),
        ))
    }

    /// Is the point inside (or on the boundary of) an active hazard? The
    /// fast path of [`HazardIndex::check_point`] with distance 0.
    pub fn point_in_any(&self, p: [f64; 2], on: Option<Date>) -> bool {
        use geo::Intersects;
        let pt = geo::Point::new(p[0], p[1]);
        self.tree
            .locate_all_at_point(&p)
            .map(|r| &self.areas[r.data as usize])
            .any(|a| on.is_none_or(|d| a.active_on(d)) && a.polygon.intersects(&pt))
    }

    /// Hazard areas active on `on` that contain the point or have it on
    /// their boundary (PostGIS `ST_Intersects`).
    pub fn areas_at(&self, p: [f64; 2], on: Option<Date>) -> impl Iterator<Item = &HazardArea> {
        use geo::Intersects;
        let pt = geo::Point::new(p[0], p[1]);
        self.tree
            .locate_all_at_point(&p)
            .map(|r| &self.areas[r.data as usize])
            .filter(move |a| on.is_none_or(|d| a.active_on(d)) && a.polygon.intersects(&pt))
    }

    /// Hazards active on `on` within `within_m` metres of a LineString (a
    /// convoy's planned path): the safe-route check.
    pub fn check_line(
        &self,
        ls: &LineString<f64>,
        within_m: f64,
        on: Option<Date>,
    ) -> Result<Vec<HazardHit>, GeoError> {
        validate_linestring(ls)?;
        if !(within_m >= 0.0 && within_m.is_finite()) {
            return Err(GeoError::InvalidGeometry(format!("distance {within_m}")));
        }
        let mut hits = Vec::new();
        // Per segment, so a long path only tests the areas near it.
        let mut seen = std::collections::HashSet::new();
        for l in ls.lines() {
            let min = [l.start.x.min(l.end.x), l.start.y.min(l.end.y)];
            let max = [l.start.x.max(l.end.x), l.start.y.max(l.end.y)];
            for a in self.candidates(min, max, within_m, on) {
                if seen.insert(a.id) {
                    let d = linestring_multipolygon_m(ls, &a.polygon);
                    if d <= within_m {
                        hits.push(HazardHit {
                            id: a.id,
                            distance_m: d,
                        });
                    }
                }
            }
        }
        Ok(Self::sorted(hits))
    }
}
