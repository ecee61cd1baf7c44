//! Records as GeoJSON features, the way exports write them.

use serde_json::{Value, json};
use truce_core::geometry::LatLon;
use truce_core::record::WIRE_METADATA;
use truce_core::{EntityKind, Envelope, Sensitivity};
use uuid::Uuid;

use crate::raw::StoredRecord;

/// The start of a FeatureCollection an export streams features into.
pub const HEAD: &[u8] = b"{\"type\":\"FeatureCollection\",\"features\":[\n";
/// Between two features.
pub const SEPARATOR: &[u8] = b",\n";
/// The end of the FeatureCollection.
pub const TAIL: &[u8] = b"\n]}\n";

/// A record as a GeoJSON feature. The properties are what an import
/// restores (the record's fields, `id`, `sensitivity`), not the store's
/// bookkeeping (version, created/updated by and at), which an import sets
/// anew: export, import, export gives the same file.
pub fn feature(kind: EntityKind, env: &Envelope) -> Value {
    feature_of(kind, env.id, env.sensitivity, &env.data)
}

/// [`feature`] of a record given by its parts.
pub fn feature_of(kind: EntityKind, id: Uuid, sensitivity: Sensitivity, data: &Value) -> Value {
    let mut props = match data {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let geometry = kind.index_of(data).and_then(|i| i.geometry);
    if matches!(kind, EntityKind::Incident | EntityKind::Post) {
        props.remove("location");
    }
    for k in WIRE_METADATA {
        props.remove(k);
    }
    props.insert("id".into(), json!(id));
    props.insert("sensitivity".into(), json!(sensitivity));
    json!({"type": "Feature", "id": id, "geometry": geometry, "properties": props})
}

/// Writes features of stored records (canonical JSON, as the store holds
/// them) with the bytes `serde_json::to_writer(out, &feature(..))` gives,
/// without building them: incidents are copied key by key from their JSON
/// (sorted already), `id` and `sensitivity` merged in, `location` turned
/// into the Point geometry; only values serde_json would write differently
/// (a float, an unusual escape) are parsed and written again. Other kinds,
/// and any incident whose JSON is not canonical, go through [`feature_of`].
/// Buffers are reused from record to record.
#[derive(Debug, Default)]
pub struct FeatureWriter {
    /// `(key start, key end, value start, value end)` in the record's JSON.
    entries: Vec<(usize, usize, usize, usize)>,
}

impl FeatureWriter {
    /// A writer with empty buffers.
    pub fn new() -> FeatureWriter {
        FeatureWriter::default()
    }

    /// Appends the feature of `record` (of `kind`) to `out`.
    pub fn write(
        &mut self,
        kind: EntityKind,
        record: StoredRecord<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        if kind == EntityKind::Incident && crate::raw::top_entries(record.data, &mut self.entries) {
            self.write_incident(record, out)
        } else {
            let data: Value = serde_json::from_str(record.data)?;
            let id = Uuid::parse_str(record.id).map_err(serde::de::Error::custom)?;
            serde_json::to_writer(out, &feature_of(kind, id, record.sensitivity, &data))
        }
    }

    fn write_incident(
        &self,
        record: StoredRecord<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), serde_json::Error> {
        let data = record.data;
        let key = |e: &(usize, usize, usize, usize)| &data[e.0..e.1];
        let value = |e: &(usize, usize, usize, usize)| &data[e.2..e.3];
        out.extend_from_slice(b"{\"geometry\":");
        let location = self
            .entries
            .iter()
            .find(|e| key(e) == "location")
            .and_then(|e| serde_json::from_str::<LatLon>(value(e)).ok());
        match location {
            Some(LatLon { lat, lon }) => {
                out.extend_from_slice(b"{\"coordinates\":[");
                serde_json::to_writer(&mut *out, &lon)?;
                out.push(b',');
                serde_json::to_writer(&mut *out, &lat)?;
                out.extend_from_slice(b"],\"type\":\"Point\"}");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"id\":");
        serde_json::to_writer(&mut *out, record.id)?;
        out.extend_from_slice(b",\"properties\":{");
        let mut meta = [
            ("id", record.id),
            ("sensitivity", record.sensitivity.as_str()),
        ]
        .into_iter()
        .peekable();
        let mut first = true;
        let mut sep = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
        };
        for e in &self.entries {
            let k = key(e);
            while let Some((m, v)) = meta.next_if(|(m, _)| *m < k) {
                sep(out);
                serde_json::to_writer(&mut *out, m)?;
                out.push(b':');
                serde_json::to_writer(&mut *out, v)?;
            }
            if k == "location" || WIRE_METADATA.contains(&k) {
                continue;
            }
            sep(out);
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
            let v = value(e);
            if written_as_is(v.as_bytes()) {
                out.extend_from_slice(v.as_bytes());
            } else {
                let v: Value = serde_json::from_str(v)?;
                serde_json::to_writer(&mut *out, &v)?;
            }
        }
        for (m, v) in meta {
            sep(out);
            serde_json::to_writer(&mut *out, m)?;
            out.push(b':');
            serde_json::to_writer(&mut *out, v)?;
        }
        out.extend_from_slice(b"},\"type\":\"Feature\"}");
        Ok(())
    }
}

/// Whether serde_json, parsing this JSON value and writing it again, gives
/// the same bytes: no whitespace, integers only (in `i64` range, no `-0`),
/// strings with only the escapes serde_json itself writes.
fn written_as_is(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return false,
                        Some(b'"') => break,
                        Some(b'\\') => {
                            match b.get(i + 1) {
                                Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                                Some(b'u') => {
                                    // serde_json writes \u00XX for the other
                                    // control characters only, in lower case.
                                    let hex = b.get(i + 2..i + 6);
                                    let ok = hex.is_some_and(|h| {
                                        h[0] == b'0'
                                            && h[1] == b'0'
                                            && matches!(h[2], b'0' | b'1')
                                            && matches!(h[3], b'0'..=b'9' | b'a'..=b'f')
                                            && !matches!(
                                                (h[2], h[3]),
                                                (b'0', b'8' | b'9' | b'a' | b'c' | b'd')
                                            )
                                    });
                                    if !ok {
                                        return false;
                                    }
                                    i += 6;
                                }
                                _ => return false,
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                if !crate::raw::plain_integer(&b[start..i]) {
                    return false;
                }
            }
            b' ' | b'\n' | b'\r' | b'\t' => return false,
            _ => i += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serde_json_writes_back_as_they_are() {
        for ok in [
            r#""plain é""#,
            r#""a\"b\\c\n\t\u0001\u001f""#,
            "12",
            "-3",
            "0",
            r#"{"a":[1,true,null,"x"]}"#,
        ] {
            assert!(written_as_is(ok.as_bytes()), "{ok}");
        }
        for rewritten in [
            "1.5",
            "1e3",
            "-0",
            "007",
            "123456789012345678901",
            r#""\u0041""#,
            r#""\u000a""#,
            r#""a\/b""#,
            r#"{"a": 1}"#,
            r#"[1,2.0]"#,
        ] {
            assert!(!written_as_is(rewritten.as_bytes()), "{rewritten}");
        }
    }
}
