//! Geometry as users submit it (GeoJSON-shaped, WGS84 longitude/latitude) and
//! the rules that make it acceptable: ranges, closed rings, no
//! self-intersection, holes inside their shell, a vertex limit.
//!
//! Validity is decided by `geo`'s OGC-style `Validation`; this module adds the
//! checks that `geo` cannot see because its types close rings silently.

use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ValidationErrors;

/// Most vertices one area may have: enough for a digitised minefield or
/// district outline, small enough that one record cannot stall the indexes.
pub const MAX_VERTICES: usize = 10_000;

/// A WGS84 position; `lat` in [-90, 90], `lon` in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatLon {
    /// Latitude in decimal degrees.
    pub lat: f64,
    /// Longitude in decimal degrees.
    pub lon: f64,
}

impl LatLon {
    /// Checks the WGS84 ranges, naming `lat`/`lon` in the error.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        check_lat(self.lat, "lat", &mut errs);
        check_lon(self.lon, "lon", &mut errs);
        errs.into_result()
    }

    /// GeoJSON geometry of this point.
    pub fn to_geojson(&self) -> serde_json::Value {
        serde_json::json!({"type": "Point", "coordinates": [self.lon, self.lat]})
    }
}

fn check_lat(v: f64, field: &str, errs: &mut ValidationErrors) {
    if !v.is_finite() || !(-90.0..=90.0).contains(&v) {
        errs.push(field, format!("latitude {v} is outside -90..90"));
    }
}

fn check_lon(v: f64, field: &str, errs: &mut ValidationErrors) {
    if !v.is_finite() || !(-180.0..=180.0).contains(&v) {
        errs.push(field, format!("longitude {v} is outside -180..180"));
    }
}

/// A GeoJSON position as submitted: `[lon, lat]` or `[lon, lat, alt]`.
pub type Position = Vec<f64>;

/// An area: a GeoJSON Polygon or MultiPolygon, kept exactly as submitted so
/// the journal records what the user sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Area {
    /// One shell and optional holes.
    Polygon {
        /// Rings: the shell first, then holes; each ring closed.
        coordinates: Vec<Vec<Position>>,
    },
    /// Several polygons (e.g. a district with an exclave).
    MultiPolygon {
        /// Polygons, each as in `Polygon`.
        coordinates: Vec<Vec<Vec<Position>>>,
    },
}

impl Area {
    /// Checks the rings and returns the `geo` form for spatial work.
    pub fn to_geo(&self) -> Result<MultiPolygon<f64>, ValidationErrors> {
        let polys: Vec<&Vec<Vec<Position>>> = match self {
            Area::Polygon { coordinates } => vec![coordinates],
            Area::MultiPolygon { coordinates } => coordinates.iter().collect(),
        };
        if polys.is_empty() {
            return Err(ValidationErrors::one("coordinates", "has no polygon"));
        }
        let total: usize = polys.iter().flat_map(|p| p.iter()).map(Vec::len).sum();
        if total > MAX_VERTICES {
            return Err(ValidationErrors::one(
                "coordinates",
                format!("has {total} vertices; the limit is {MAX_VERTICES}"),
            ));
        }
        let multi = matches!(self, Area::MultiPolygon { .. });
        let mut out = Vec::with_capacity(polys.len());
        let mut errs = ValidationErrors::default();
        for (pi, rings) in polys.iter().enumerate() {
            let prefix = if multi {
                format!("coordinates[{pi}]")
            } else {
                "coordinates".to_string()
            };
            match polygon_from_rings(rings) {
                Ok(p) => out.push(p),
                Err(e) => errs.nest(&prefix, e),
            }
        }
        errs.into_result()?;
        let mp = MultiPolygon(out);
        if multi && let Err(e) = mp.check_validation() {
            return Err(ValidationErrors::one("coordinates", e.to_string()));
        }
        Ok(mp)
    }

    /// Bounding box `[min_lon, min_lat, max_lon, max_lat]` of the raw positions.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let mut b = BBox::default();
        match self {
            Area::Polygon { coordinates } => coordinates.iter().flatten().for_each(|p| b.add(p)),
            Area::MultiPolygon { coordinates } => coordinates
                .iter()
                .flatten()
                .flatten()
                .for_each(|p| b.add(p)),
        }
        b.get()
    }
}

/// A path, e.g. a patrol route: a GeoJSON LineString.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Path {
    /// At least two positions.
    LineString {
        /// The positions in order.
        coordinates: Vec<Position>,
    },
}

impl Path {
    /// Checks ranges and length and returns the `geo` form.
    pub fn to_geo(&self) -> Result<LineString<f64>, ValidationErrors> {
        let Path::LineString { coordinates } = self;
        if coordinates.len() < 2 {
            return Err(ValidationErrors::one(
                "coordinates",
                "a LineString needs at least 2 positions",
            ));
        }
        if coordinates.len() > MAX_VERTICES {
            return Err(ValidationErrors::one(
                "coordinates",
                format!(
                    "has {} vertices; the limit is {MAX_VERTICES}",
                    coordinates.len()
                ),
            ));
        }
        Ok(LineString(coords(coordinates, "coordinates")?))
    }

    /// Bounding box `[min_lon, min_lat, max_lon, max_lat]`.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let Path::LineString { coordinates } = self;
        let mut b = BBox::default();
        coordinates.iter().for_each(|p| b.add(p));
        b.get()
    }
}

#[derive(Default)]
struct BBox(Option<[f64; 4]>);

impl BBox {
    fn add(&mut self, p: &Position) {
        if p.len() < 2 {
            return;
        }
        let (x, y) = (p[0], p[1]);
        self.0 = Some(match self.0 {
            None => [x, y, x, y],
            Some([a, b, c, d]) => [a.min(x), b.min(y), c.max(x), d.max(y)],
        });
    }
    fn get(self) -> Option<[f64; 4]> {
        self.0
    }
}

fn coords(positions: &[Position], field: &str) -> Result<Vec<Coord<f64>>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut out = Vec::with_capacity(positions.len());
    for (i, p) in positions.iter().enumerate() {
        if !(2..=3).contains(&p.len()) {
            errs.push(
                format!("{field}[{i}]"),
                "a position is [longitude, latitude] or [longitude, latitude, altitude]",
            );
            continue;
        }
        check_lon(p[0], &format!("{field}[{i}][0]"), &mut errs);
        check_lat(p[1], &format!("{field}[{i}][1]"), &mut errs);
        out.push(Coord { x: p[0], y: p[1] });
    }
    errs.into_result().map(|()| out)
}

fn polygon_from_rings(rings: &[Vec<Position>]) -> Result<Polygon<f64>, ValidationErrors> {
    if rings.is_empty() {
        return Err(ValidationErrors::one(
            "",
            "a polygon needs an exterior ring",
        ));
    }
    let mut errs = ValidationErrors::default();
    let mut geo_rings = Vec::with_capacity(rings.len());
    for (ri, ring) in rings.iter().enumerate() {
        let field = format!("[{ri}]");
        if ring.len() < 4 {
            errs.push(
                &field,
                format!(
                    "a ring needs at least 4 positions (first = last); it has {}",
                    ring.len()
                ),
            );
            continue;
        }
        if ring.first().map(|p| &p[..p.len().min(2)]) != ring.last().map(|p| &p[..p.len().min(2)]) {
            errs.push(
                &field,
                "ring is not closed: the first and last positions differ",
            );
            continue;
        }
        match coords(ring, "") {
            Ok(c) => geo_rings.push(LineString(c)),
            Err(e) => errs.nest(&field, e),
        }
    }
    errs.into_result()?;
    let mut it = geo_rings.into_iter();
    let shell = it.next().expect("checked non-empty");
    let poly = Polygon::new(shell, it.collect());
    poly.check_validation()
        .map_err(|e| ValidationErrors::one("", e.to_string()))?;
    Ok(poly)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> Vec<Position> {
        vec![
            vec![x0, y0],
            vec![x0 + s, y0],
            vec![x0 + s, y0 + s],
            vec![x0, y0 + s],
            vec![x0, y0],
        ]
    }

    #[test]
    fn valid_polygon_with_hole() {
        let a = Area::Polygon {
            coordinates: vec![square(46.0, 39.0, 1.0), square(46.2, 39.2, 0.2)],
        };
        assert!(a.to_geo().is_ok());
        assert_eq!(a.bbox(), Some([46.0, 39.0, 47.0, 40.0]));
    }

    #[test]
    fn unclosed_ring_is_named() {
        let mut ring = square(46.0, 39.0, 1.0);
        ring.pop();
        ring.push(vec![46.0, 39.5]);
        let e = Area::Polygon {
            coordinates: vec![ring],
        }
        .to_geo()
        .unwrap_err();
        assert_eq!(e.0[0].field, "coordinates[0]");
        assert!(e.0[0].message.contains("not closed"), "{e}");
    }

    #[test]
    fn bow_tie_self_intersects() {
        let ring = vec![
            vec![46.0, 39.0],
            vec![47.0, 40.0],
            vec![47.0, 39.0],
            vec![46.0, 40.0],
            vec![46.0, 39.0],
        ];
        let e = Area::Polygon {
            coordinates: vec![ring],
        }
        .to_geo()
        .unwrap_err();
        assert!(e.0[0].message.contains("self-intersection"), "{e}");
    }

    #[test]
    fn hole_outside_shell_rejected() {
        let a = Area::Polygon {
            coordinates: vec![square(46.0, 39.0, 1.0), square(48.0, 39.0, 0.2)],
        };
        assert!(a.to_geo().is_err());
    }

    #[test]
    fn out_of_range_latitude_named() {
        let mut ring = square(46.0, 89.5, 1.0);
        ring[2][1] = 91.0;
        let e = Area::Polygon {
            coordinates: vec![ring],
        }
        .to_geo()
        .unwrap_err();
        assert_eq!(e.0[0].field, "coordinates[0][2][1]");
    }

    #[test]
    fn vertex_limit() {
        let n = MAX_VERTICES + 1;
        let mut ring: Vec<Position> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                vec![46.0 + a.cos(), 39.0 + a.sin()]
            })
            .collect();
        ring.push(ring[0].clone());
        let e = Area::Polygon {
            coordinates: vec![ring],
        }
        .to_geo()
        .unwrap_err();
        assert!(e.0[0].message.contains("limit"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_rings_never_panic(pts in proptest::collection::vec((-200.0f64..200.0, -100.0f64..100.0), 0..12)) {
            let ring: Vec<Position> = pts.iter().map(|(x, y)| vec![*x, *y]).collect();
            let _ = Area::Polygon { coordinates: vec![ring.clone()] }.to_geo();
            let _ = Path::LineString { coordinates: ring }.to_geo();
        }

        #[test]
        fn latlon_accepts_exactly_the_wgs84_ranges(lat in -200.0f64..200.0, lon in -400.0f64..400.0) {
            let ok = LatLon { lat, lon }.validate().is_ok();
            proptest::prop_assert_eq!(ok, (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        }
    }
}
