//! The record kinds a mission keeps and the one entry point that turns
//! submitted JSON into a validated record plus the fields stores index.
//!
//! Stores and servers handle records as JSON plus [`IndexFields`], so a new
//! module adds a kind here and needs no new table, handler or migration.

use jiff::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::error::ValidationErrors;

/// Every kind of record; the wire name is also the API collection name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// The mission itself: name, mandate, area, start date.
    Mission,
    /// A party to the conflict (data, never code).
    Party,
    /// An organisation: the mission, agencies, NGOs, national authorities.
    Organisation,
    /// An area of responsibility.
    Aor,
    /// An observation post.
    Post,
    /// A patrol.
    Patrol,
    /// An incident or ceasefire violation.
    Incident,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Mission,
        EntityKind::Party,
        EntityKind::Organisation,
        EntityKind::Aor,
        EntityKind::Post,
        EntityKind::Patrol,
        EntityKind::Incident,
    ];

    /// The journal and storage name, e.g. `incident`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Mission => "mission",
            EntityKind::Party => "party",
            EntityKind::Organisation => "organisation",
            EntityKind::Aor => "aor",
            EntityKind::Post => "post",
            EntityKind::Patrol => "patrol",
            EntityKind::Incident => "incident",
        }
    }

    /// The API collection name, e.g. `incidents`.
    pub fn collection(self) -> &'static str {
        match self {
            EntityKind::Mission => "missions",
            EntityKind::Party => "parties",
            EntityKind::Organisation => "organisations",
            EntityKind::Aor => "aors",
            EntityKind::Post => "posts",
            EntityKind::Patrol => "patrols",
            EntityKind::Incident => "incidents",
        }
    }

    /// Parses a journal name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Parses a collection name.
    pub fn from_collection(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.collection() == s)
    }

    /// Records about identifiable persons: readable by protection and admin only.
    pub fn is_people(self) -> bool {
        false
    }

    /// Deserialises, validates and normalises a submitted record of this kind.
    ///
    /// This is the single gate every write passes (HTTP, CLI import, demo):
    /// unknown fields, wrong types and broken rules come back as
    /// [`ValidationErrors`] naming the field.
    pub fn validate_json(
        self,
        value: serde_json::Value,
        ctx: &ValidationContext,
    ) -> Result<ValidRecord, ValidationErrors> {
        use crate::{incident::Incident, model::*};
        match self {
            EntityKind::Mission => check::<Mission>(value, ctx),
            EntityKind::Party => check::<Party>(value, ctx),
            EntityKind::Organisation => check::<Organisation>(value, ctx),
            EntityKind::Aor => check::<Aor>(value, ctx),
            EntityKind::Post => check::<Post>(value, ctx),
            EntityKind::Patrol => check::<Patrol>(value, ctx),
            EntityKind::Incident => check::<Incident>(value, ctx),
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record that passed validation: its normalised JSON and index fields.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    /// The record as it will be stored and journaled.
    pub data: serde_json::Value,
    /// What stores index for queries.
    pub index: IndexFields,
}

/// Facts about the moment of validation, passed in so validation stays pure.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext {
    /// The server's clock at the time of the request.
    pub now: Timestamp,
}

/// The fields of a record that queries filter on, derived from the record
/// alone (never stored separately from it by hand).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexFields {
    /// Start of the time the record is about (incident time, patrol start).
    pub time_start: Option<Timestamp>,
    /// End of that time; equal to the start for instants.
    pub time_end: Option<Timestamp>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
    /// GeoJSON geometry for map layers.
    pub geometry: Option<serde_json::Value>,
    /// Main classification (e.g. an incident's event type).
    pub category: Option<String>,
    /// Further classifications a `category` filter also matches.
    pub tags: Vec<String>,
    /// Life-cycle state (e.g. verification status).
    pub status: Option<String>,
    /// Parties the record concerns.
    pub parties: Vec<Uuid>,
    /// Free text searched by `q`.
    pub text: String,
    /// Other records this one belongs to or points at (a task's hazard area,
    /// a manifest line's convoy), so lists can ask "everything of X".
    pub refs: Vec<Uuid>,
    /// The record's main amount (tonnes, m², persons), summed by aggregates.
    pub quantity: Option<f64>,
}

/// A record kind with its validation and indexing rules.
pub trait Record: Serialize + DeserializeOwned {
    /// Which kind this is.
    const KIND: EntityKind;
    /// Checks every rule that needs only the record itself.
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors>;
    /// Derives the queryable fields.
    fn index(&self) -> IndexFields;
}

fn check<R: Record>(
    value: serde_json::Value,
    ctx: &ValidationContext,
) -> Result<ValidRecord, ValidationErrors> {
    let record: R = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        ValidationErrors::one(field, clean_serde_message(&e.into_inner().to_string()))
    })?;
    record.validate(ctx)?;
    let data = serde_json::to_value(&record).expect("records serialise");
    Ok(ValidRecord {
        index: record.index(),
        data,
    })
}

/// Drops serde's "at line 1 column 5" suffix, meaningless for a parsed value.
fn clean_serde_message(m: &str) -> String {
    match m.find(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

/// A stored record: the validated data plus what the store knows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Stable id, chosen by the client or the server (UUID v7).
    pub id: Uuid,
    /// Kind of record.
    pub kind: EntityKind,
    /// Starts at 1, +1 per change; the HTTP `ETag`.
    pub version: u64,
    /// Who may read it.
    pub sensitivity: crate::access::Sensitivity,
    /// Withdrawn records stay readable with this flag set.
    pub retracted: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Who changed it last.
    pub updated_by: String,
    /// Journal sequence of the last change.
    pub last_seq: u64,
    /// The record's fields.
    pub data: serde_json::Value,
}

impl Envelope {
    /// The record as API clients see it: its fields plus the metadata.
    pub fn to_wire(&self) -> serde_json::Value {
        let mut out = match &self.data {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        let meta = serde_json::json!({
            "id": self.id,
            "record_type": self.kind.as_str(),
            "version": self.version,
            "sensitivity": self.sensitivity,
            "retracted": self.retracted,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        });
        if let serde_json::Value::Object(m) = meta {
            out.extend(m);
        }
        serde_json::Value::Object(out)
    }
}

/// Fields of [`Envelope::to_wire`] that are metadata, stripped from a
/// submitted body before validation so clients may send back what they read.
pub const WIRE_METADATA: [&str; 9] = [
    "id",
    "record_type",
    "version",
    "sensitivity",
    "retracted",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
];

impl Serialize for EntityKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntityKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EntityKind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown kind {s}")))
    }
}

impl EntityKind {
    /// Index fields of an already stored record (no validation): what map
    /// layers and exports need from records they did not just validate.
    pub fn index_of(self, data: &serde_json::Value) -> Option<IndexFields> {
        use crate::{incident::Incident, model::*};
        fn idx<R: Record>(v: &serde_json::Value) -> Option<IndexFields> {
            R::deserialize(v).ok().map(|r| r.index())
        }
        match self {
            EntityKind::Mission => idx::<Mission>(data),
            EntityKind::Party => idx::<Party>(data),
            EntityKind::Organisation => idx::<Organisation>(data),
            EntityKind::Aor => idx::<Aor>(data),
            EntityKind::Post => idx::<Post>(data),
            EntityKind::Patrol => idx::<Patrol>(data),
            EntityKind::Incident => idx::<Incident>(data),
        }
    }

    /// Keeps fields that only a dedicated action may set (an incident's
    /// verification) as they were, whatever a create or update submitted.
    pub fn protect_fields(
        self,
        submitted: &mut serde_json::Value,
        existing: Option<&serde_json::Value>,
    ) {
        if self == EntityKind::Incident
            && let serde_json::Value::Object(m) = submitted
        {
            match existing.and_then(|e| e.get("verification")) {
                Some(v) => m.insert("verification".into(), v.clone()),
                None => m.remove("verification"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_metadata_never_hides_a_record_field() {
        // An organisation has its own `kind` field; the wire form must keep it.
        let ctx = ValidationContext {
            now: Timestamp::now(),
        };
        let v = EntityKind::Organisation
            .validate_json(json!({"name": "NMAA", "kind": "national_authority"}), &ctx)
            .unwrap();
        let env = Envelope {
            id: Uuid::nil(),
            kind: EntityKind::Organisation,
            version: 1,
            sensitivity: crate::Sensitivity::Public,
            retracted: false,
            created_at: ctx.now,
            created_by: "a".into(),
            updated_at: ctx.now,
            updated_by: "a".into(),
            last_seq: 1,
            data: v.data,
        };
        let wire = env.to_wire();
        assert_eq!(wire["kind"], "national_authority");
        assert_eq!(wire["record_type"], "organisation");
        for field in WIRE_METADATA {
            for name in ["kind", "name", "code", "status"] {
                assert_ne!(field, name, "{field} would shadow a record field");
            }
        }
    }
}
