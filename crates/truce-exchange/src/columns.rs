//! The Truce incident columns: dotted paths into the wire record, with the
//! kind of cell and the HXL hashtag of each. Every field of an incident has a
//! column, so a row carries the whole record (minus the store's bookkeeping:
//! version, created/updated by and at, which an import sets anew).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Number, Value};

/// How a cell becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// A JSON string.
    Text,
    /// A JSON number.
    Number,
    /// A JSON value written compactly in one cell: lists of objects, such as
    /// the intake sources of an incident, that no flat column can hold.
    Json,
}

/// One Truce column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Dotted path into the wire record, also the CSV header.
    pub name: &'static str,
    /// How its cells become JSON.
    pub kind: CellKind,
    /// The HXL hashtag with attributes written in the tag row.
    pub hxl: &'static str,
}

const fn col(name: &'static str, kind: CellKind, hxl: &'static str) -> Column {
    Column { name, kind, hxl }
}

use CellKind::{Json as J, Number as N, Text as T};

/// Every incident column, in file order. New columns go at the end so older
/// files keep their meaning.
pub const COLUMNS: &[Column] = &[
    col("id", T, "#event+id"),
    col("sensitivity", T, "#meta+sensitivity"),
    col("occurred_at", T, "#date"),
    col("time_precision", N, "#date+precision"),
    col("event_type", T, "#event+type"),
    col("sub_event_type", T, "#event+type+sub"),
    col("location.lat", N, "#geo+lat"),
    col("location.lon", N, "#geo+lon"),
    col("geo_precision", N, "#geo+precision"),
    col("location_name", T, "#loc+name"),
    col("admin1", T, "#adm1+name"),
    col("actor1", T, "#org+name+actor1"),
    col("actor1_party", T, "#org+code+actor1"),
    col("actor2", T, "#org+name+actor2"),
    col("actor2_party", T, "#org+code+actor2"),
    col("fatalities", N, "#affected+killed"),
    col("ceasefire_violation.kind", T, "#event+violation+kind"),
    col(
        "ceasefire_violation.explosion_subtype",
        T,
        "#event+violation+subtype",
    ),
    col(
        "ceasefire_violation.perception",
        T,
        "#event+violation+perception",
    ),
    col("ceasefire_violation.weapon", T, "#item+weapon"),
    col("ceasefire_violation.direction_deg", N, "#geo+bearing"),
    col("ceasefire_violation.distance_min_m", N, "#geo+distance+min"),
    col("ceasefire_violation.distance_max_m", N, "#geo+distance+max"),
    col("ceasefire_violation.observing_post", T, "#loc+code+post"),
    col("ceasefire_violation.count", N, "#event+violation+num"),
    col(
        "ceasefire_violation.attributed_to",
        T,
        "#org+code+attributed",
    ),
    col("source", T, "#meta+source"),
    col("source_scale", T, "#meta+source+scale"),
    col("source_grading.reliability", T, "#meta+source+reliability"),
    col("source_grading.credibility", N, "#meta+source+credibility"),
    col("verification.status", T, "#status+verification"),
    col("assignee", T, "#contact+assignee"),
    col("notes", T, "#description+notes"),
    col("verification.by", T, "#contact+verification"),
    col("verification.at", T, "#date+verified"),
    col("verification.reason", T, "#description+verification"),
    col("duplicate_of", T, "#event+id+duplicate"),
    col("deaths.side_a", N, "#affected+killed+side_a"),
    col("deaths.side_b", N, "#affected+killed+side_b"),
    col("deaths.civilians", N, "#affected+killed+civilians"),
    col("deaths.unknown", N, "#affected+killed+unknown"),
    col("deaths.low", N, "#affected+killed+min"),
    col("deaths.high", N, "#affected+killed+max"),
    col("sources", J, "#meta+source+document"),
];

static INDEX: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name, i))
        .collect()
});

/// The position of the column named `name` in [`COLUMNS`].
pub fn index_of(name: &str) -> Option<usize> {
    INDEX.get(name).copied()
}

/// Position of a column that must exist (names used by the shapes).
pub(crate) fn ix(name: &str) -> usize {
    index_of(name).unwrap_or_else(|| panic!("{name} is not a Truce column"))
}

/// One incident as cells, one per [`COLUMNS`] entry; empty means absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flat(pub Vec<String>);

impl Flat {
    /// A row with every cell empty.
    pub fn empty() -> Flat {
        Flat(vec![String::new(); COLUMNS.len()])
    }

    /// The cell of the column named `name`.
    pub fn get(&self, name: &str) -> &str {
        &self.0[ix(name)]
    }

    /// Sets the cell of the column named `name`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let i = ix(name);
        self.0[i] = value.into();
    }
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The cells of a wire record (an `Envelope::to_wire` value).
pub fn flatten(wire: &Value) -> Flat {
    Flat(
        COLUMNS
            .iter()
            .map(|c| cell_text(get_path(wire, c.name)))
            .collect(),
    )
}

fn set_path(v: &mut Map<String, Value>, path: &str, value: Value) {
    let mut cur = v;
    let mut parts = path.split('.').peekable();
    while let Some(k) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(k.to_string(), value);
            return;
        }
        let next = cur
            .entry(k.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next.as_object_mut().expect("made an object just above");
    }
}

/// A cell that could not become JSON: the column and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The Truce column.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Parses a number cell as JSON would (so `2` stays an integer and `39.5`
/// keeps its digits).
pub fn parse_number(cell: &str) -> Option<Number> {
    let n: Number = serde_json::from_str(cell.trim()).ok()?;
    Some(n)
}

/// The wire record (with `id` and `sensitivity` when given) of a row of cells.
pub fn unflatten(flat: &Flat) -> Result<Value, CellError> {
    let mut m = Map::new();
    for (c, cell) in COLUMNS.iter().zip(&flat.0) {
        if cell.is_empty() {
            continue;
        }
        let v = match c.kind {
            CellKind::Text => Value::String(cell.clone()),
            CellKind::Number => Value::Number(parse_number(cell).ok_or_else(|| CellError {
                field: c.name,
                message: format!("{cell:?} is not a number"),
            })?),
            CellKind::Json => serde_json::from_str(cell).map_err(|e| CellError {
                field: c.name,
                message: format!("not JSON: {e}"),
            })?,
        };
        set_path(&mut m, c.name, v);
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_tags_are_unique() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
        let mut tags: Vec<_> = COLUMNS
            .iter()
            .map(|c| crate::hxl::normalise(c.hxl).unwrap())
            .collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), COLUMNS.len());
    }

    #[test]
    fn flatten_then_unflatten_keeps_the_fields() {
        let wire = json!({
            "id": "0192e0a0-0000-7000-8000-000000000001",
            "sensitivity": "mission",
            "occurred_at": "2026-11-20T23:10:00Z",
            "location": {"lat": 39.82, "lon": 46.75},
            "fatalities": 2,
            "deaths": {"side_a": 1, "side_b": 1, "civilians": 0, "unknown": 0, "low": null, "high": 3},
            "notes": "a, \"b\"\nc",
        });
        let flat = flatten(&wire);
        assert_eq!(flat.get("location.lat"), "39.82");
        assert_eq!(flat.get("deaths.high"), "3");
        let back = unflatten(&flat).unwrap();
        assert_eq!(back["deaths"]["side_a"], json!(1));
        assert_eq!(back["deaths"].get("low"), None);
        assert_eq!(back["notes"], wire["notes"]);
        assert_eq!(back["location"], wire["location"]);
    }

    #[test]
    fn intake_sources_travel_in_one_json_cell() {
        let sources = json!([{"document": "0192e0a0-0000-7000-8000-00000000000d",
            "start": 10, "end": 42, "text": "three \"violations\", one, at night"}]);
        let wire = json!({"id": "0192e0a0-0000-7000-8000-000000000001", "sources": sources});
        let flat = flatten(&wire);
        assert!(flat.get("sources").starts_with("[{"));
        assert_eq!(unflatten(&flat).unwrap()["sources"], sources);
        let mut bad = flat.clone();
        bad.set("sources", "[{");
        assert_eq!(unflatten(&bad).unwrap_err().field, "sources");
    }

    #[test]
    fn a_bad_number_names_its_column() {
        let mut f = Flat::empty();
        f.set("location.lat", "north");
        let e = unflatten(&f).unwrap_err();
        assert_eq!(e.field, "location.lat");
    }
}
