//! The record kinds a mission keeps and the one entry point that turns
//! submitted JSON into a validated record plus the fields stores index.
//!
//! Stores and servers handle records as JSON plus [`IndexFields`], so a new
//! module adds a kind here and needs no new table, handler or migration.

use jiff::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::error::ValidationErrors;

/// The module a kind belongs to: who may write it follows from this
/// (see [`crate::access`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    /// Mission set-up: the mission record itself.
    Mission,
    /// Ceasefire monitoring: parties, organisations, AoRs, posts, patrols, incidents.
    Operations,
    /// Mine action (IMAS): hazard areas, tasks, minefield records, certificates.
    MineAction,
    /// Humanitarian logistics: corridors, convoys, manifests, warehouses, stock.
    Logistics,
    /// Protected sites: infrastructure and heritage.
    Sites,
    /// Shelter, displacement and returns (counts; no names).
    Shelter,
    /// Persons of concern: detainees, prisoners of war, missing persons, remains.
    People,
    /// Agreements, provisions and talks.
    Agreements,
    /// Open-source intake documents and candidate facts.
    Intake,
}

/// Declares every record kind in one list: variant, Rust type, journal
/// name, API collection, module. Adding a kind is adding one line here.
macro_rules! record_kinds {
    ($($(#[$m:meta])* $variant:ident => $ty:path, $name:literal, $collection:literal, $module:ident;)+) => {
        /// Every kind of record; the wire name is also the API collection name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EntityKind {
            $($(#[$m])* $variant,)+
        }

        impl EntityKind {
            /// Every kind.
            pub const ALL: &'static [EntityKind] = &[$(EntityKind::$variant,)+];

            /// The journal and storage name, e.g. `incident`.
            pub fn as_str(self) -> &'static str {
                match self { $(EntityKind::$variant => $name,)+ }
            }

            /// The API collection name, e.g. `incidents`.
            pub fn collection(self) -> &'static str {
                match self { $(EntityKind::$variant => $collection,)+ }
            }

            /// The module the kind belongs to.
            pub fn module(self) -> Module {
                match self { $(EntityKind::$variant => Module::$module,)+ }
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
                match self { $(EntityKind::$variant => check::<$ty>(value, ctx),)+ }
            }

            /// [`EntityKind::validate_json`] for bulk writes: the same gate, but
            /// the record comes back as canonical JSON written straight from the
            /// validated value (the bytes `canonical_json` gives for
            /// `validate_json(..).data`), with no `serde_json::Value` tree.
            pub fn validate_canonical(
                self,
                value: serde_json::Value,
                ctx: &ValidationContext,
            ) -> Result<CanonicalRecord, ValidationErrors> {
                match self { $(EntityKind::$variant => check_canonical::<$ty>(value, ctx),)+ }
            }

            /// Index fields of an already stored record (no validation): what map
            /// layers and exports need from records they did not just validate.
            pub fn index_of(self, data: &serde_json::Value) -> Option<IndexFields> {
                fn idx<R: Record>(v: &serde_json::Value) -> Option<IndexFields> {
                    R::deserialize(v).ok().map(|r| r.index())
                }
                match self { $(EntityKind::$variant => idx::<$ty>(data),)+ }
            }

            /// The record's JSON schema, registering the schemas it refers to.
            #[cfg(feature = "openapi")]
            pub fn schema(
                self,
                schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>,
            ) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                fn add<T: utoipa::ToSchema>(
                    s: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>,
                ) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                    T::schemas(s);
                    s.push((T::name().into_owned(), <T as utoipa::PartialSchema>::schema()));
                    utoipa::openapi::Ref::from_schema_name(T::name()).into()
                }
                match self { $(EntityKind::$variant => add::<$ty>(schemas),)+ }
            }
        }
    };
}

record_kinds! {
    /// The mission itself: name, mandate, area, start date.
    Mission => crate::model::Mission, "mission", "missions", Mission;
    /// A party to the conflict (data, never code).
    Party => crate::model::Party, "party", "parties", Operations;
    /// An organisation: the mission, agencies, NGOs, national authorities.
    Organisation => crate::model::Organisation, "organisation", "organisations", Operations;
    /// An area of responsibility.
    Aor => crate::model::Aor, "aor", "aors", Operations;
    /// An observation post.
    Post => crate::model::Post, "post", "posts", Operations;
    /// A patrol.
    Patrol => crate::model::Patrol, "patrol", "patrols", Operations;
    /// An incident or ceasefire violation.
    Incident => crate::incident::Incident, "incident", "incidents", Operations;
    /// A shelter site (base camp, collective centre) with its capacity.
    ShelterSite => crate::shelter::ShelterSite, "shelter_site", "shelter_sites", Shelter;
    /// A household's stay at a shelter site: counts by sex and age, no names.
    ShelterRegistration => crate::shelter::ShelterRegistration, "shelter_registration", "shelter_registrations", Shelter;
    /// A displacement or return flow.
    Movement => crate::shelter::Movement, "movement", "movements", Shelter;
    /// A detainee, prisoner of war, civilian held, missing person or remains.
    PersonCase => crate::people::PersonCase, "person_case", "person_cases", People;
    /// An exchange of persons and remains (through the exchange action only).
    Exchange => crate::people::Exchange, "exchange", "exchanges", People;
    /// A confirmed or rejected tracing match (through the match action only).
    TraceMatch => crate::people::TraceMatch, "trace_match", "trace_matches", People;
    /// A signed agreement.
    Agreement => crate::agreements::Agreement, "agreement", "agreements", Agreements;
    /// A provision of an agreement with its implementation status over time.
    Provision => crate::agreements::Provision, "provision", "provisions", Agreements;
    /// A meeting or round of talks with its follow-up actions.
    Meeting => crate::agreements::Meeting, "meeting", "meetings", Agreements;
    /// A suspected or confirmed hazardous area (mine action).
    HazardArea => crate::mine::HazardArea, "hazard_area", "hazard_areas", MineAction;
    /// Minefield records handed over by a party.
    MinefieldRecord => crate::mine::MinefieldRecord, "minefield_record", "minefield_records", MineAction;
    /// A survey, clearance or EOD task.
    MineTask => crate::mine::MineTask, "mine_task", "mine_tasks", MineAction;
    /// Land released from a hazard area (through the release action only).
    LandRelease => crate::mine::LandRelease, "land_release", "land_releases", MineAction;
    /// An accident with explosive ordnance.
    MineAccident => crate::mine::MineAccident, "mine_accident", "mine_accidents", MineAction;
    /// A release certificate (through the certification action only).
    ReleaseCertificate => crate::mine::ReleaseCertificate, "release_certificate", "release_certificates", MineAction;
    /// A named road route for convoys.
    Corridor => crate::logistics::Corridor, "corridor", "corridors", Logistics;
    /// A humanitarian convoy.
    Convoy => crate::logistics::Convoy, "convoy", "convoys", Logistics;
    /// A line of a convoy's manifest (through the manifest action only).
    ManifestLine => crate::logistics::ManifestLine, "manifest_line", "manifest_lines", Logistics;
    /// A warehouse with its stock.
    Warehouse => crate::logistics::Warehouse, "warehouse", "warehouses", Logistics;
    /// A stock movement (through the movement action only).
    StockMovement => crate::logistics::StockMovement, "stock_movement", "stock_movements", Logistics;
    /// A request or assessed need at a destination.
    Need => crate::logistics::Need, "need", "needs", Logistics;
    /// A protected site: critical infrastructure or heritage.
    Site => crate::sites::Site, "site", "sites", Sites;
    /// A condition assessment of a protected site.
    SiteAssessment => crate::sites::SiteAssessment, "site_assessment", "site_assessments", Sites;
    /// A press release, bulletin or report fed to intake (through the intake action only).
    IntakeDocument => crate::intake::IntakeDocument, "intake_document", "intake_documents", Intake;
    /// A candidate fact extracted from intake documents, under review (through the intake actions only).
    IntakeCandidate => crate::intake::Candidate, "intake_candidate", "intake_candidates", Intake;
}

impl EntityKind {
    /// Parses a journal name.
    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Parses a collection name.
    pub fn from_collection(s: &str) -> Option<EntityKind> {
        EntityKind::ALL
            .iter()
            .copied()
            .find(|k| k.collection() == s)
    }

    /// For kinds written only through a module action (because writing
    /// them changes another record too), the route to use instead of the
    /// generic create, update and retract.
    pub fn written_by_action(self) -> Option<&'static str> {
        match self {
            EntityKind::LandRelease => Some("POST /api/v1/hazard_areas/{id}/releases"),
            EntityKind::ReleaseCertificate => Some("POST /api/v1/hazard_areas/{id}/certificate"),
            EntityKind::ManifestLine => Some("POST /api/v1/convoys/{id}/manifest"),
            EntityKind::StockMovement => Some("POST /api/v1/warehouses/{id}/movements"),
            EntityKind::IntakeDocument => Some("POST /api/v1/intake/documents"),
            EntityKind::IntakeCandidate => {
                Some("POST /api/v1/intake/candidates/{id}/accept or /reject")
            }
            _ => None,
        }
    }

    /// Records about identifiable persons: readable by protection and admin only.
    pub fn is_people(self) -> bool {
        self.module() == Module::People
    }

    /// The sensitivity a new record gets when the writer names none: people
    /// records are restricted, so that every read of one is journaled.
    pub fn default_sensitivity(self) -> crate::access::Sensitivity {
        if self.is_people() {
            crate::access::Sensitivity::Restricted
        } else {
            crate::access::Sensitivity::default()
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
    let record: R = deserialize_record(value)?;
    record.validate(ctx)?;
    let data = serde_json::to_value(&record).expect("records serialise");
    Ok(ValidRecord {
        index: record.index(),
        data,
    })
}

/// A record that passed validation, as canonical JSON plus index fields:
/// what a bulk import writes. Only validation makes one, so the JSON is
/// always a valid record of its kind in canonical form.
#[derive(Debug, Clone)]
pub struct CanonicalRecord {
    json: String,
    index: IndexFields,
}

impl CanonicalRecord {
    /// The record's canonical JSON: journal payload data and stored data.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// What stores index for queries.
    pub fn index(&self) -> &IndexFields {
        &self.index
    }

    /// The JSON and the index fields, to move into a store's rows.
    pub fn into_parts(self) -> (String, IndexFields) {
        (self.json, self.index)
    }

    /// The same record as a [`ValidRecord`] (for paths that compare or
    /// keep records as JSON values).
    pub fn to_valid(&self) -> ValidRecord {
        ValidRecord {
            data: serde_json::from_str(&self.json).expect("canonical JSON parses"),
            index: self.index.clone(),
        }
    }
}

fn deserialize_record<R: Record>(value: serde_json::Value) -> Result<R, ValidationErrors> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        ValidationErrors::one(field, clean_serde_message(&e.into_inner().to_string()))
    })
}

fn check_canonical<R: Record>(
    value: serde_json::Value,
    ctx: &ValidationContext,
) -> Result<CanonicalRecord, ValidationErrors> {
    let record: R = deserialize_record(value)?;
    record.validate(ctx)?;
    Ok(CanonicalRecord {
        json: crate::canonical::to_canonical_json(&record).expect("records serialise"),
        index: record.index(),
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
    /// Keeps fields that only a dedicated action may set (an incident's
    /// verification) as they were, whatever a create or update submitted.
    pub fn protect_fields(
        self,
        submitted: &mut serde_json::Value,
        existing: Option<&serde_json::Value>,
    ) {
        crate::people::protect_action_fields(self, submitted, existing);
        match self {
            EntityKind::HazardArea => crate::mine::HazardArea::protect(submitted, existing),
            EntityKind::Corridor => crate::logistics::Corridor::protect(submitted, existing),
            EntityKind::Convoy => crate::logistics::Convoy::protect(submitted, existing),
            EntityKind::Warehouse => crate::logistics::Warehouse::protect(submitted, existing),
            _ => {}
        }
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
