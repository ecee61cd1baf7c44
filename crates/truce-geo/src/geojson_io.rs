//! Minimal GeoJSON reading (RFC 7946) into `geo` types: polygons for avoid
//! sets and hazard areas, lines for road networks. Anything malformed is an
//! error, never a panic.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use crate::error::GeoError;
use crate::geom::validate_multipolygon;

fn err(m: impl Into<String>) -> GeoError {
    GeoError::GeoJson(m.into())
}

fn position(v: &Value) -> Result<Coord<f64>, GeoError> {
    let a = v
        .as_array()
        .ok_or_else(|| err("a position must be an array"))?;
    if a.len() < 2 {
        return Err(err("a position needs two numbers"));
    }
    let x = a[0]
        .as_f64()
        .ok_or_else(|| err("longitude is not a number"))?;
    let y = a[1]
        .as_f64()
        .ok_or_else(|| err("latitude is not a number"))?;
    Ok(Coord { x, y })
}

fn positions(v: &Value) -> Result<Vec<Coord<f64>>, GeoError> {
    v.as_array()
        .ok_or_else(|| err("expected an array of positions"))?
        .iter()
        .map(position)
        .collect()
}

fn polygon(v: &Value) -> Result<Polygon<f64>, GeoError> {
    let rings = v
        .as_array()
        .ok_or_else(|| err("a polygon is an array of rings"))?;
    let mut rings = rings
        .iter()
        .map(|r| positions(r).map(LineString::new))
        .collect::<Result<Vec<_>, _>>()?;
    if rings.is_empty() {
        return Err(err("a polygon needs an exterior ring"));
    }
    let exterior = rings.remove(0);
    Ok(Polygon::new(exterior, rings))
}

/// Every geometry object in a GeoJSON document (FeatureCollection, Feature,
/// bare geometry, GeometryCollection), with its feature's properties.
pub fn geometries(doc: &Value) -> Result<Vec<(&Value, &Value)>, GeoError> {
    fn walk<'a>(
        v: &'a Value,
        props: &'a Value,
        out: &mut Vec<(&'a Value, &'a Value)>,
    ) -> Result<(), GeoError> {
        match v.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => {
                for f in v
                    .get("features")
                    .and_then(Value::as_array)
                    .ok_or_else(|| err("FeatureCollection without features"))?
                {
                    walk(f, &Value::Null, out)?;
                }
            }
            Some("Feature") => {
                let props = v.get("properties").unwrap_or(&Value::Null);
                match v.get("geometry") {
                    None | Some(Value::Null) => {}
                    Some(g) => walk(g, props, out)?,
                }
            }
            Some("GeometryCollection") => {
                for g in v
                    .get("geometries")
                    .and_then(Value::as_array)
                    .ok_or_else(|| err("GeometryCollection without geometries"))?
                {
                    walk(g, props, out)?;
                }
            }
            Some(_) => out.push((v, props)),
            None => return Err(err("object without a type")),
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(doc, &Value::Null, &mut out)?;
    Ok(out)
}

/// A Polygon or MultiPolygon geometry object as a validated MultiPolygon.
pub fn multipolygon(geometry: &Value) -> Result<MultiPolygon<f64>, GeoError> {
    let coords = geometry
        .get("coordinates")
        .ok_or_else(|| err("geometry without coordinates"))?;
    let mp = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => MultiPolygon::new(vec![polygon(coords)?]),
        Some("MultiPolygon") => MultiPolygon::new(
            coords
                .as_array()
                .ok_or_else(|| err("MultiPolygon coordinates must be an array"))?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        ),
        Some(t) => return Err(err(format!("expected a Polygon or MultiPolygon, got {t}"))),
        None => return Err(err("geometry without a type")),
    };
    validate_multipolygon(&mp)?;
    Ok(mp)
}

/// Every Polygon/MultiPolygon in a GeoJSON document (other geometry types are refused).
pub fn polygons_from_geojson(text: &str) -> Result<Vec<MultiPolygon<f64>>, GeoError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    geometries(&doc)?
        .into_iter()
        .map(|(g, _)| multipolygon(g))
        .collect()
}

/// The LineStrings of a LineString or MultiLineString geometry object.
pub fn lines(geometry: &Value) -> Result<Vec<LineString<f64>>, GeoError> {
    let coords = geometry
        .get("coordinates")
        .ok_or_else(|| err("geometry without coordinates"))?;
    match geometry.get("type").and_then(Value::as_str) {
        Some("LineString") => Ok(vec![LineString::new(positions(coords)?)]),
        Some("MultiLineString") => coords
            .as_array()
            .ok_or_else(|| err("MultiLineString coordinates must be an array"))?
            .iter()
            .map(|l| positions(l).map(LineString::new))
            .collect(),
        Some(t) => Err(err(format!(
            "expected a LineString or MultiLineString, got {t}"
        ))),
        None => Err(err("geometry without a type")),
    }
}
