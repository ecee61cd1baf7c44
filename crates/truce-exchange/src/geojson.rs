//! Records as GeoJSON features, the way exports write them.

use serde_json::{Value, json};
use truce_core::record::WIRE_METADATA;
use truce_core::{EntityKind, Envelope};

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
    let mut props = env.to_wire();
    let geometry = kind.index_of(&env.data).and_then(|i| i.geometry);
    if let Some(m) = props.as_object_mut() {
        if matches!(kind, EntityKind::Incident | EntityKind::Post) {
            m.remove("location");
        }
        for k in WIRE_METADATA {
            if k != "id" && k != "sensitivity" {
                m.remove(k);
            }
        }
    }
    json!({"type": "Feature", "id": env.id, "geometry": geometry, "properties": props})
}
