//! Geometry helpers shared by the indexes: validation and geodesic
//! distances from points to segments and polygons.

use geo::{
    BoundingRect, Contains, Coord, CoordsIter, Intersects, Line, LineString, MultiPolygon, Point,
    Validation,
};

use crate::error::GeoError;
use crate::network::{geodesic_m, valid_lon_lat};

/// Checks that a multipolygon has WGS84 coordinates and is valid (closed
/// rings of at least three distinct points, no self-intersection, holes
/// inside their shell).
pub fn validate_multipolygon(mp: &MultiPolygon<f64>) -> Result<(), GeoError> {
    if mp.0.is_empty() {
        return Err(GeoError::InvalidGeometry("empty multipolygon".into()));
    }
    for c in mp.coords_iter() {
        if !valid_lon_lat(c.x, c.y) {
            return Err(GeoError::InvalidGeometry(format!(
                "coordinate ({}, {}) is not WGS84 lon/lat",
                c.x, c.y
            )));
        }
    }
    for p in &mp.0 {
        if p.exterior().0.len() < 4 {
            return Err(GeoError::InvalidGeometry(
                "polygon ring with fewer than three distinct points".into(),
            ));
        }
    }
    if let Some(e) = mp.validation_errors().into_iter().next() {
        return Err(GeoError::InvalidGeometry(e.to_string()));
    }
    Ok(())
}

/// Checks a LineString: at least two points, WGS84 coordinates.
pub fn validate_linestring(ls: &LineString<f64>) -> Result<(), GeoError> {
    if ls.0.len() < 2 {
        return Err(GeoError::InvalidGeometry(
            "a LineString needs at least two points".into(),
        ));
    }
    for c in &ls.0 {
        if !valid_lon_lat(c.x, c.y) {
            return Err(GeoError::InvalidGeometry(format!(
                "coordinate ({}, {}) is not WGS84 lon/lat",
                c.x, c.y
            )));
        }
    }
    Ok(())
}

/// The point of segment `a`–`b` closest to `p`, found in a local
/// equirectangular projection centred on `p` (exact in the limit of short
/// segments; good to centimetres for road and hazard-sized geometry).
pub fn closest_on_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    let k = p.y.to_radians().cos().max(1e-6);
    let (ax, ay) = ((a.x - p.x) * k, a.y - p.y);
    let (bx, by) = ((b.x - p.x) * k, b.y - p.y);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

/// Geodesic metres from `p` to segment `a`–`b`.
pub fn point_segment_m(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let c = closest_on_segment(p, a, b);
    geodesic_m([p.x, p.y], [c.x, c.y])
}

/// Geodesic metres from a point to a LineString (nearest of its segments).
pub fn point_linestring_m(p: Coord<f64>, ls: &LineString<f64>) -> f64 {
    ls.lines()
        .map(|l| point_segment_m(p, l.start, l.end))
        .fold(f64::INFINITY, f64::min)
}

/// Geodesic metres from a point to a multipolygon; 0 inside or on the boundary.
pub fn point_multipolygon_m(p: Coord<f64>, mp: &MultiPolygon<f64>) -> f64 {
    let pt = Point::from(p);
    if mp.intersects(&pt) {
        return 0.0;
    }
    let mut best = f64::INFINITY;
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for l in ring.lines() {
                best = best.min(point_segment_m(p, l.start, l.end));
            }
        }
    }
    best
}

/// Geodesic metres between a LineString and a multipolygon; 0 when they
/// intersect. Vertex-to-segment distances both ways (exact for straight
/// segments in the local projection).
pub fn linestring_multipolygon_m(ls: &LineString<f64>, mp: &MultiPolygon<f64>) -> f64 {
    if ls.intersects(mp) {
        return 0.0;
    }
    let mut best = f64::INFINITY;
    for c in &ls.0 {
        best = best.min(point_multipolygon_m(*c, mp));
    }
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for v in &ring.0 {
                for l in ls.lines() {
                    best = best.min(point_segment_m(*v, l.start, l.end));
                }
            }
        }
    }
    best
}

/// Does the straight (lon/lat) segment meet the multipolygon (inside or boundary)?
pub fn segment_meets(a: [f64; 2], b: [f64; 2], mp: &MultiPolygon<f64>) -> bool {
    let line = Line::new(Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
    mp.intersects(&line)
}

/// Is the point strictly inside or on the boundary?
pub fn covers_point(mp: &MultiPolygon<f64>, p: [f64; 2]) -> bool {
    let pt = Point::new(p[0], p[1]);
    mp.contains(&pt) || mp.intersects(&pt)
}

/// Bounding box ([min lon, min lat], [max lon, max lat]) of a multipolygon.
pub fn bbox(mp: &MultiPolygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    mp.bounding_rect()
        .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Expands a box by `metres` on every side (conservatively, in degrees).
pub fn expand_box(min: [f64; 2], max: [f64; 2], metres: f64) -> ([f64; 2], [f64; 2]) {
    if metres <= 0.0 {
        return (min, max);
    }
    // 110 km per degree of latitude is a lower bound (true value 110.57–111.69 km).
    let dlat = metres / 110_000.0;
    let lat_extreme = min[1].abs().max(max[1].abs()) + dlat;
    let cos = lat_extreme.min(89.9).to_radians().cos();
    let dlon = (metres / (110_000.0 * cos)).min(360.0);
    (
        [min[0] - dlon, (min[1] - dlat).max(-90.0)],
        [max[0] + dlon, (max[1] + dlat).min(90.0)],
    )
}
