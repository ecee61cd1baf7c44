//! Open-source intake as records: the documents analysts feed in and the
//! candidate facts extracted from them, with the review rules (pending ->
//! accepted or rejected, nothing else), the module record a reviewed fact
//! becomes, and the rule that tells when two reports state the same fact.
//!
//! The extraction itself lives in `truce-intake` (which knows nothing of
//! records); the server turns its facts into [`Candidate`]s. Everything here
//! is pure so the rules are tested without a store or HTTP.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::model::{MAX_TEXT, check_name, check_text};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::refusal::Refusal;
use crate::shelter::{check_date, day_start};

/// Largest document accepted, in bytes: a long situation report, not a dump.
pub const MAX_DOCUMENT_BYTES: usize = 1_000_000;

/// Quantity categories the extractor emits, with their normalised unit. An
/// edited candidate must keep to these so it is still counted with the rest.
pub const QUANTITY_CATEGORIES: &[(&str, &str)] = &[
    ("aid.cargo", "t"),
    ("aid.fuel", "t"),
    ("aid.food", "t"),
    ("aid.medical", "t"),
    ("aid.construction", "t"),
    ("people.sheltered", "person"),
    ("people.children", "person"),
    ("people.returned", "person"),
    ("people.displaced", "person"),
    ("people.detainees_returned", "person"),
    ("people.detained", "person"),
    ("people.killed", "person"),
    ("people.injured", "person"),
    ("posts.observation", "count"),
    ("mines.map_packages", "count"),
    ("mines.area_cleared", "m2"),
    ("distance", "km"),
    ("talks.rounds", "count"),
    ("violations.ceasefire", "count"),
];

/// Event types the extractor emits.
pub const EVENT_TYPES: &[&str] = &[
    "ceasefire_violation",
    "incident",
    "delivery",
    "exchange",
    "meeting",
    "agreement",
    "statement",
];

/// How a document was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DocumentFormat {
    /// Plain text.
    #[default]
    Plain,
    /// An HTML page (spans are offsets into the HTML as submitted).
    Html,
}

/// A press release, wire story, bulletin or situation report fed to intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntakeDocument {
    /// Headline or title.
    #[serde(default)]
    pub title: Option<String>,
    /// The text as submitted; candidate spans are byte offsets into it.
    pub text: String,
    /// Plain text or HTML.
    #[serde(default)]
    pub format: DocumentFormat,
    /// Who published it (agency, ministry, newspaper).
    #[serde(default)]
    pub outlet: Option<String>,
    /// Where it was published.
    #[serde(default)]
    pub url: Option<String>,
    /// Day of publication: resolves "on Thursday" in the text.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub published: Option<Date>,
}

impl Record for IntakeDocument {
    const KIND: EntityKind = EntityKind::IntakeDocument;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if let Some(t) = &self.title {
            check_name(t, "title", &mut e);
        }
        if self.text.trim().is_empty() {
            e.push("text", "must not be empty");
        } else if self.text.len() > MAX_DOCUMENT_BYTES {
            e.push("text", format!("is longer than {MAX_DOCUMENT_BYTES} bytes"));
        }
        if let Some(o) = &self.outlet {
            check_name(o, "outlet", &mut e);
        }
        if let Some(u) = &self.url {
            check_name(u, "url", &mut e);
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                e.push("url", "must start with http:// or https://");
            }
        }
        if let Some(d) = self.published {
            check_date(d, ctx.now, "published", &mut e);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let t = self.published.map(day_start);
        IndexFields {
            time_start: t,
            time_end: t,
            category: self.outlet.clone(),
            text: format!(
                "{} {}",
                self.title.as_deref().unwrap_or(""),
                self.outlet.as_deref().unwrap_or("")
            )
            .to_lowercase(),
            ..Default::default()
        }
    }
}

/// Where a fact was read: a document and the exact words. Records created
/// or linked from intake keep these so a figure can be traced to its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceSpan {
    /// The intake document.
    pub document: Uuid,
    /// Byte offset of the first byte in the document's text.
    pub start: u64,
    /// Byte offset after the last byte.
    pub end: u64,
    /// The words the fact came from.
    pub text: String,
    /// The document's outlet, so a reader sees who said it without a lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlet: Option<String>,
}

/// Checks a list of source spans (for candidates and the records that carry them).
pub fn check_sources(sources: &[SourceSpan], field: &str, e: &mut ValidationErrors) {
    for (i, s) in sources.iter().enumerate() {
        if s.start > s.end {
            e.push(format!("{field}[{i}].end"), "must not be before start");
        }
        if s.text.len() > MAX_TEXT {
            e.push(
                format!("{field}[{i}].text"),
                format!("is longer than {MAX_TEXT} bytes"),
            );
        }
        if let Some(o) = &s.outlet {
            check_name(o, &format!("{field}[{i}].outlet"), e);
        }
    }
}

/// What sort of fact a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FactKind {
    /// A figure with category and unit.
    Quantity,
    /// A place from the gazetteer.
    Place,
    /// A calendar day.
    Date,
    /// A party, state or organisation.
    Actor,
    /// The type of event a sentence reports.
    Event,
}

impl FactKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Quantity => "quantity",
            FactKind::Place => "place",
            FactKind::Date => "date",
            FactKind::Actor => "actor",
            FactKind::Event => "event",
        }
    }
}

/// A place a fact names or happened at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceRef {
    /// The gazetteer's name (or the name as written).
    pub name: String,
    /// GeoNames id, when known.
    #[serde(default)]
    pub geonameid: Option<u64>,
    /// Latitude, WGS84.
    pub lat: f64,
    /// Longitude, WGS84.
    pub lon: f64,
}

impl PlaceRef {
    /// Same place: same GeoNames id when both have one, else same name.
    pub fn same(&self, other: &PlaceRef) -> bool {
        match (self.geonameid, other.geonameid) {
            (Some(a), Some(b)) => a == b,
            _ => self.name.to_lowercase() == other.name.to_lowercase(),
        }
    }
}

/// Where a candidate stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CandidateStatus {
    /// Waiting for an analyst.
    #[default]
    Pending,
    /// Accepted: a module record was created or linked, or the fact itself stands.
    Accepted,
    /// Rejected with a reason.
    Rejected,
}

impl CandidateStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Pending => "pending",
            CandidateStatus::Accepted => "accepted",
            CandidateStatus::Rejected => "rejected",
        }
    }
}

/// Who decided a candidate, when, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// The reviewer.
    pub by: String,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Why (required to reject).
    #[serde(default)]
    pub reason: Option<String>,
    /// The record created or linked (none when the fact itself was accepted).
    #[serde(default)]
    pub record: Option<Uuid>,
    /// That record's kind.
    #[serde(default)]
    pub record_kind: Option<String>,
    /// True when an existing record was linked rather than created.
    #[serde(default)]
    pub linked: bool,
    /// Fields the reviewer changed before accepting, with the extracted values.
    #[serde(default)]
    pub edited: Map<String, Value>,
    /// Derived from the reviewer's idempotency key (a UUID v5, not the key),
    /// so a retried decision is recognised and answered, not refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Uuid>,
}

/// A fact proposed by intake, with every report of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// Quantity, place, date, actor or event.
    pub fact_kind: FactKind,
    /// A quantity's category (`aid.food`) or an event's type.
    #[serde(default)]
    pub category: Option<String>,
    /// A quantity's value in `unit`.
    #[serde(default)]
    pub value: Option<f64>,
    /// A quantity's normalised unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// `more_than`, `up_to`, `about`, `less_than`.
    #[serde(default)]
    pub qualifier: Option<String>,
    /// The actor id of the side a quantity concerns.
    #[serde(default)]
    pub party: Option<String>,
    /// The period a quantity covers, as written.
    #[serde(default)]
    pub period: Option<String>,
    /// What a place, date or actor fact is: the GeoNames id or name, the
    /// day, the actor id.
    #[serde(default)]
    pub identity: Option<String>,
    /// The name as written (places, actors).
    #[serde(default)]
    pub name: Option<String>,
    /// The day the fact concerns when the text names one (a date fact's day).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
    /// The day it was reported (publication date of the first source).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub reported_on: Option<Date>,
    /// Where (a place fact's place, or the place named in the same sentence).
    #[serde(default)]
    pub place: Option<PlaceRef>,
    /// Every report of this fact.
    pub sources: Vec<SourceSpan>,
    /// Review state.
    #[serde(default)]
    pub status: CandidateStatus,
    /// The decision, once taken.
    #[serde(default)]
    pub review: Option<Review>,
}

impl Record for Candidate {
    const KIND: EntityKind = EntityKind::IntakeCandidate;
    fn validate(&self, _ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.sources.is_empty() {
            e.push("sources", "must name at least one document");
        }
        check_sources(&self.sources, "sources", &mut e);
        match self.fact_kind {
            FactKind::Quantity => match (&self.category, &self.unit, self.value) {
                (Some(c), Some(u), Some(v)) => {
                    match QUANTITY_CATEGORIES.iter().find(|(k, _)| k == c) {
                        None => e.push("category", format!("{c:?} is not a quantity category")),
                        Some((_, unit)) if unit != u => {
                            e.push("unit", format!("{c} is measured in {unit}"))
                        }
                        _ => {}
                    }
                    if !v.is_finite() || v < 0.0 {
                        e.push("value", "must be a finite number, 0 or more");
                    }
                }
                _ => e.push("value", "a quantity needs category, value and unit"),
            },
            FactKind::Event => match &self.category {
                Some(c) if EVENT_TYPES.contains(&c.as_str()) => {}
                _ => e.push("category", "must be an event type"),
            },
            FactKind::Place => {
                if self.place.is_none() {
                    e.push("place", "a place fact needs its place");
                }
            }
            FactKind::Date => {
                if self.date.is_none() {
                    e.push("date", "a date fact needs its day");
                }
            }
            FactKind::Actor => {
                if self.identity.as_deref().is_none_or(|s| s.trim().is_empty()) {
                    e.push("identity", "an actor fact needs the actor id");
                }
            }
        }
        if let Some(p) = &self.place {
            check_name(&p.name, "place.name", &mut e);
            if !(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon) {
                e.push("place", "lat/lon out of WGS84 range");
            }
        }
        for (v, f) in [
            (&self.name, "name"),
            (&self.party, "party"),
            (&self.period, "period"),
            (&self.identity, "identity"),
        ] {
            if let Some(v) = v {
                check_name(v, f, &mut e);
            }
        }
        match (self.status, &self.review) {
            (CandidateStatus::Pending, Some(_)) => e.push("review", "a pending candidate has none"),
            (CandidateStatus::Accepted | CandidateStatus::Rejected, None) => {
                e.push("review", "a decided candidate needs its review")
            }
            (CandidateStatus::Rejected, Some(r))
                if r.reason.as_deref().is_none_or(|s| s.trim().is_empty()) =>
            {
                e.push("reason", "a rejection needs a reason")
            }
            _ => {}
        }
        if let Some(r) = &self.review {
            check_text(&r.reason, "reason", &mut e);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let t = self.date.or(self.reported_on).map(day_start);
        let mut refs: Vec<Uuid> = Vec::new();
        for s in &self.sources {
            if !refs.contains(&s.document) {
                refs.push(s.document);
            }
        }
        if let Some(r) = self.review.as_ref().and_then(|r| r.record) {
            refs.push(r);
        }
        IndexFields {
            time_start: t,
            time_end: t,
            bbox: self.place.as_ref().map(|p| [p.lon, p.lat, p.lon, p.lat]),
            geometry: self
                .place
                .as_ref()
                .map(|p| json!({"type": "Point", "coordinates": [p.lon, p.lat]})),
            category: Some(
                self.category
                    .clone()
                    .unwrap_or_else(|| self.fact_kind.as_str().to_string()),
            ),
            tags: vec![format!("kind:{}", self.fact_kind.as_str())],
            status: Some(self.status.as_str().to_string()),
            text: self
                .sources
                .iter()
                .map(|s| s.text.to_lowercase())
                .collect::<Vec<_>>()
                .join(" "),
            refs,
            quantity: self.value,
            ..Default::default()
        }
    }
}

/// How long before its publication a report without a date may speak of a
/// fact: its time window is `[published - REPORT_WINDOW_DAYS, published]`.
pub const REPORT_WINDOW_DAYS: i64 = 7;

impl Candidate {
    /// The days the fact may concern: its own day when the text names one,
    /// else the week before publication; none when neither is known.
    pub fn window(&self) -> Option<(Date, Date)> {
        if let Some(d) = self.date {
            return Some((d, d));
        }
        self.reported_on.map(|p| {
            let from = p
                .checked_sub(jiff::Span::new().days(REPORT_WINDOW_DAYS))
                .unwrap_or(p);
            (from, p)
        })
    }

    /// Adds a report of the same fact (twice the same span is kept once).
    pub fn add_source(&mut self, s: SourceSpan) {
        if !self.sources.contains(&s) {
            self.sources.push(s);
        }
    }

    /// Refuses (409) unless the candidate is still pending.
    pub fn check_pending(&self, verb: &str) -> Result<(), Refusal> {
        match self.status {
            CandidateStatus::Pending => Ok(()),
            s => Err(Refusal::conflict(format!(
                "the candidate is {}; only a pending candidate can be {verb}",
                s.as_str()
            ))),
        }
    }

    /// Applies an analyst's corrections before accepting; returns the old
    /// values of the fields changed. Bad values are refused (422).
    pub fn edit(&mut self, edit: &CandidateEdit) -> Result<Map<String, Value>, Refusal> {
        self.check_pending("edited")?;
        let mut next = self.clone();
        if let Some(c) = &edit.category {
            next.category = Some(c.clone());
            if next.fact_kind == FactKind::Quantity
                && edit.unit.is_none()
                && let Some((_, u)) = QUANTITY_CATEGORIES.iter().find(|(k, _)| k == c)
            {
                next.unit = Some((*u).to_string());
            }
        }
        if let Some(v) = edit.value {
            next.value = Some(v);
        }
        if let Some(u) = &edit.unit {
            next.unit = Some(u.clone());
        }
        if let Some(q) = &edit.qualifier {
            next.qualifier = (!q.is_empty()).then(|| q.clone());
        }
        if let Some(p) = &edit.party {
            next.party = (!p.is_empty()).then(|| p.clone());
        }
        if let Some(d) = edit.date {
            next.date = Some(d);
        }
        if let Some(p) = &edit.place {
            next.place = Some(p.clone());
        }
        // Candidate rules need no clock.
        next.validate(&ValidationContext {
            now: Timestamp::UNIX_EPOCH,
        })?;
        let before = serde_json::to_value(&*self).expect("candidates serialise");
        let after = serde_json::to_value(&next).expect("candidates serialise");
        let mut changed = Map::new();
        if let (Value::Object(b), Value::Object(a)) = (before, after) {
            for (k, v) in b {
                if a.get(&k) != Some(&v) {
                    changed.insert(k, v);
                }
            }
        }
        *self = next;
        Ok(changed)
    }

    /// Marks the candidate accepted (409 unless pending).
    pub fn accept(&mut self, review: Review) -> Result<(), Refusal> {
        self.check_pending("accepted")?;
        self.status = CandidateStatus::Accepted;
        self.review = Some(review);
        Ok(())
    }

    /// Marks the candidate rejected: 422 without a reason, 409 unless pending.
    pub fn reject(&mut self, by: &str, at: Timestamp, reason: Option<&str>) -> Result<(), Refusal> {
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Refusal::field("reason", "a rejection needs a reason"))?;
        self.check_pending("rejected")?;
        self.status = CandidateStatus::Rejected;
        self.review = Some(Review {
            by: by.to_string(),
            at,
            reason: Some(reason.to_string()),
            record: None,
            record_kind: None,
            linked: false,
            edited: Map::new(),
            key: None,
        });
        Ok(())
    }

    /// The module record kinds this fact can become. Every candidate can
    /// also be accepted as the reviewed fact itself, or linked to an
    /// existing record.
    pub fn targets(&self) -> &'static [EntityKind] {
        let c = self.category.as_deref().unwrap_or("");
        match (self.fact_kind, c) {
            (FactKind::Quantity, "violations.ceasefire") if self.value.unwrap_or(0.0) >= 1.0 => {
                &[EntityKind::Incident]
            }
            (FactKind::Quantity, "people.killed" | "people.injured") => &[EntityKind::Incident],
            (FactKind::Quantity, "talks.rounds") => &[EntityKind::Meeting],
            (FactKind::Event, "ceasefire_violation" | "incident") => &[EntityKind::Incident],
            (FactKind::Event, "meeting") => &[EntityKind::Meeting],
            _ => &[],
        }
    }

    /// The record of `kind` this candidate becomes, as JSON to validate:
    /// what the fact says, its sources, and the reviewer's `overrides`
    /// (fields the text does not give, such as an incident's sub-event type)
    /// on top. 422 naming the field the text left open (a date, a place)
    /// unless an override supplies it.
    pub fn draft(
        &self,
        kind: EntityKind,
        overrides: &Map<String, Value>,
    ) -> Result<Value, Refusal> {
        if !self.targets().contains(&kind) {
            return Err(Refusal::field(
                "target",
                format!(
                    "a {} {} cannot become a {kind}; accept it as a fact or link a record",
                    self.fact_kind.as_str(),
                    self.category.as_deref().unwrap_or("")
                ),
            ));
        }
        let day = self.date.or(self.reported_on);
        let when = day.map(|d| json!(day_start(d)));
        let quote = self
            .sources
            .first()
            .map(|s| s.text.clone())
            .unwrap_or_default();
        let outlets: Vec<&str> = self
            .sources
            .iter()
            .filter_map(|s| s.outlet.as_deref())
            .collect();
        let mut m = Map::new();
        let c = self.category.as_deref().unwrap_or("");
        match kind {
            EntityKind::Incident => {
                if let Some(w) = when {
                    m.insert("occurred_at".into(), w);
                }
                if let Some(p) = &self.place {
                    m.insert("location".into(), json!({"lat": p.lat, "lon": p.lon}));
                    m.insert("location_name".into(), json!(p.name));
                    m.insert("geo_precision".into(), json!(2));
                }
                let violation = c == "violations.ceasefire" || c == "ceasefire_violation";
                if violation {
                    m.insert("event_type".into(), json!("explosions_remote_violence"));
                    m.insert(
                        "sub_event_type".into(),
                        json!("shelling_artillery_missile_attack"),
                    );
                    let count = self.value.map_or(1, |v| v.round().max(1.0) as u32);
                    m.insert(
                        "ceasefire_violation".into(),
                        json!({"kind": "shot", "perception": "heard", "count": count}),
                    );
                } else {
                    m.insert("event_type".into(), json!("strategic_developments"));
                    m.insert("sub_event_type".into(), json!("other"));
                }
                if c == "people.killed" {
                    m.insert(
                        "fatalities".into(),
                        json!(self.value.map_or(0, |v| v.round() as u32)),
                    );
                }
                if let Some(p) = &self.party {
                    m.insert("actor1".into(), json!(p));
                }
                if !outlets.is_empty() {
                    m.insert("source".into(), json!(outlets.join("; ")));
                }
                m.insert("notes".into(), json!(quote));
            }
            EntityKind::Meeting => {
                m.insert(
                    "title".into(),
                    json!(truncate(&format!("Talks: {quote}"), 300)),
                );
                m.insert("kind".into(), json!("round_of_talks"));
                if let Some(w) = when {
                    m.insert("starts_at".into(), w);
                }
                if let Some(p) = &self.place {
                    m.insert("place".into(), json!(p.name));
                }
                if c == "talks.rounds"
                    && let Some(v) = self.value
                {
                    m.insert("round".into(), json!(format!("{v} rounds reported")));
                }
                m.insert("notes".into(), json!(quote));
            }
            _ => unreachable!("targets() names only incidents and meetings"),
        }
        m.insert("sources".into(), json!(self.sources));
        for (k, v) in overrides {
            if k == "sources" {
                continue;
            }
            m.insert(k.clone(), v.clone());
        }
        let mut e = ValidationErrors::default();
        let required: &[(&str, &str)] = match kind {
            EntityKind::Incident => &[
                (
                    "occurred_at",
                    "the text gives no day; edit the candidate's date or send record.occurred_at",
                ),
                (
                    "location",
                    "the text names no known place; edit the candidate's place or send record.location",
                ),
            ],
            _ => &[
                (
                    "starts_at",
                    "the text gives no day; edit the candidate's date or send record.starts_at",
                ),
                (
                    "place",
                    "the text names no known place; edit the candidate's place or send record.place",
                ),
            ],
        };
        for (f, msg) in required {
            if !m.contains_key(*f) {
                e.push(format!("record.{f}"), *msg);
            }
        }
        e.into_result()?;
        Ok(Value::Object(m))
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// An analyst's corrections to a candidate (absent fields stay; an empty
/// string clears a qualifier or party).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateEdit {
    /// New category (a quantity's unit follows it unless `unit` is given).
    #[serde(default)]
    pub category: Option<String>,
    /// New value.
    #[serde(default)]
    pub value: Option<f64>,
    /// New unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// New qualifier.
    #[serde(default)]
    pub qualifier: Option<String>,
    /// New party.
    #[serde(default)]
    pub party: Option<String>,
    /// The day the fact concerns.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
    /// Where.
    #[serde(default)]
    pub place: Option<PlaceRef>,
}

/// Record kinds that keep the intake sources they were created or linked
/// from in a `sources` field.
pub fn carries_sources(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::Incident | EntityKind::Meeting)
}

/// Adds `sources` to a stored record's JSON (each span once). Refused (422
/// naming `link`) for kinds without a `sources` field.
pub fn add_sources(
    kind: EntityKind,
    data: &mut Value,
    sources: &[SourceSpan],
) -> Result<(), Refusal> {
    if !carries_sources(kind) {
        return Err(Refusal::field(
            "link",
            format!("{kind} records keep no intake sources"),
        ));
    }
    let Value::Object(m) = data else {
        return Err(Refusal::field("link", "the record is not an object"));
    };
    let list = m.entry("sources").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let arr = list.as_array_mut().expect("array");
    for s in sources {
        let v = serde_json::to_value(s).expect("spans serialise");
        if !arr.contains(&v) {
            arr.push(v);
        }
    }
    Ok(())
}

/// Whether two candidates report the same fact, so they are reviewed once
/// with all their sources: same kind, category, unit and identity; the same
/// value; overlapping time windows ([`Candidate::window`]); and the same
/// place and party where both name one. Events, which carry no value,
/// match only when both name the same place. Qualifiers and periods are
/// not compared: "over 500" and "500" of the same delivery are one fact
/// for review, and the reviewer sees both wordings.
pub fn same_fact(a: &Candidate, b: &Candidate) -> bool {
    if a.fact_kind != b.fact_kind
        || a.category != b.category
        || a.unit != b.unit
        || a.identity != b.identity
    {
        return false;
    }
    match (a.value, b.value) {
        (Some(x), Some(y)) if (x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1.0) => {
            return false;
        }
        (Some(_), None) | (None, Some(_)) => return false,
        _ => {}
    }
    if let (Some((a0, a1)), Some((b0, b1))) = (a.window(), b.window())
        && (a1 < b0 || b1 < a0)
    {
        return false;
    }
    match (&a.place, &b.place) {
        (Some(p), Some(q)) if !p.same(q) => return false,
        (None, _) | (_, None) if a.fact_kind == FactKind::Event => return false,
        _ => {}
    }
    if let (Some(p), Some(q)) = (&a.party, &b.party)
        && p != q
    {
        return false;
    }
    true
}

/// The first of `existing` that reports the same fact as `new`.
pub fn find_same<'a, I>(new: &Candidate, existing: I) -> Option<usize>
where
    I: IntoIterator<Item = &'a Candidate>,
{
    existing.into_iter().position(|c| same_fact(new, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn qty(category: &str, value: f64, unit: &str, source: u128) -> Candidate {
        Candidate {
            fact_kind: FactKind::Quantity,
            category: Some(category.into()),
            value: Some(value),
            unit: Some(unit.into()),
            qualifier: None,
            party: None,
            period: None,
            identity: None,
            name: None,
            date: None,
            reported_on: Some("2024-03-12".parse().unwrap()),
            place: None,
            sources: vec![SourceSpan {
                document: doc(source),
                start: 0,
                end: 10,
                text: "120 tonnes".into(),
                outlet: Some("Wire".into()),
            }],
            status: CandidateStatus::Pending,
            review: None,
        }
    }

    fn place(name: &str, id: u64) -> PlaceRef {
        PlaceRef {
            name: name.into(),
            geonameid: Some(id),
            lat: 39.8,
            lon: 46.7,
        }
    }

    fn ctx() -> ValidationContext {
        ValidationContext {
            now: "2026-11-22T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_same_figure_from_two_outlets_is_one_fact() {
        let a = qty("aid.food", 120.0, "t", 1);
        let mut b = qty("aid.food", 120.0, "t", 2);
        b.reported_on = Some("2024-03-13".parse().unwrap());
        b.qualifier = Some("more_than".into());
        assert!(same_fact(&a, &b));
        assert!(same_fact(&b, &a));
    }

    #[test]
    fn different_value_category_unit_place_party_or_day_are_different_facts() {
        let a = qty("aid.food", 120.0, "t", 1);
        assert!(!same_fact(&a, &qty("aid.food", 121.0, "t", 2)));
        assert!(!same_fact(&a, &qty("aid.fuel", 120.0, "t", 2)));
        let mut b = qty("aid.food", 120.0, "t", 2);
        b.unit = Some("count".into());
        assert!(!same_fact(&a, &b));

        let (mut x, mut y) = (a.clone(), qty("aid.food", 120.0, "t", 2));
        x.place = Some(place("Khankendi", 174875));
        y.place = Some(place("Lachin", 174000));
        assert!(!same_fact(&x, &y));
        y.place = Some(place("Stepanakert", 174875));
        assert!(same_fact(&x, &y), "same GeoNames id, other name");
        y.place = None;
        assert!(
            same_fact(&x, &y),
            "a place on one side only does not separate"
        );

        let (mut x, mut y) = (a.clone(), qty("aid.food", 120.0, "t", 2));
        x.party = Some("am".into());
        y.party = Some("az".into());
        assert!(!same_fact(&x, &y));

        let (mut x, mut y) = (a.clone(), qty("aid.food", 120.0, "t", 2));
        x.date = Some("2024-03-10".parse().unwrap());
        y.date = Some("2024-03-11".parse().unwrap());
        assert!(!same_fact(&x, &y), "two named days");
        y.date = None;
        assert!(
            same_fact(&x, &y),
            "a named day inside the other's report window"
        );
        y.reported_on = Some("2024-04-30".parse().unwrap());
        assert!(
            !same_fact(&x, &y),
            "reported weeks later: not the same report"
        );
    }

    #[test]
    fn events_match_only_at_a_named_place() {
        let mut a = qty("aid.food", 1.0, "t", 1);
        a.fact_kind = FactKind::Event;
        a.category = Some("statement".into());
        a.value = None;
        a.unit = None;
        let b = Candidate {
            sources: vec![],
            ..a.clone()
        };
        assert!(!same_fact(&a, &b));
        let (mut a, mut b) = (a, b);
        a.place = Some(place("Lachin", 1));
        b.place = Some(place("Lachin", 1));
        assert!(same_fact(&a, &b));
    }

    #[test]
    fn review_transitions() {
        let now = ctx().now;
        let mut c = qty("violations.ceasefire", 3.0, "count", 1);
        assert!(c.validate(&ctx()).is_ok());
        assert!(matches!(
            c.reject("ana", now, Some("  ")),
            Err(Refusal::Invalid(_))
        ));
        assert_eq!(
            c.status,
            CandidateStatus::Pending,
            "a refused reject changes nothing"
        );
        c.reject("ana", now, Some("duplicate of a patrol report"))
            .unwrap();
        assert!(c.validate(&ctx()).is_ok());
        let review = Review {
            by: "ana".into(),
            at: now,
            reason: None,
            record: None,
            record_kind: None,
            linked: false,
            edited: Map::new(),
            key: None,
        };
        assert!(matches!(
            c.accept(review.clone()),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            c.reject("ana", now, Some("again")),
            Err(Refusal::Conflict(_))
        ));
        assert!(matches!(
            c.edit(&CandidateEdit::default()),
            Err(Refusal::Conflict(_))
        ));
        let mut d = qty("aid.food", 120.0, "t", 1);
        d.accept(review.clone()).unwrap();
        assert_eq!(d.status, CandidateStatus::Accepted);
        assert!(matches!(d.accept(review), Err(Refusal::Conflict(_))));
    }

    #[test]
    fn edits_are_validated_and_reported() {
        let mut c = qty("aid.food", 120.0, "t", 1);
        let changed = c
            .edit(&CandidateEdit {
                value: Some(125.0),
                category: Some("aid.medical".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.value, Some(125.0));
        assert_eq!(changed.get("value"), Some(&json!(120.0)));
        assert_eq!(changed.get("category"), Some(&json!("aid.food")));
        let mut bad = qty("aid.food", 120.0, "t", 1);
        assert!(matches!(
            bad.edit(&CandidateEdit {
                category: Some("aid.weapons".into()),
                ..Default::default()
            }),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            bad.edit(&CandidateEdit {
                value: Some(-1.0),
                ..Default::default()
            }),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn a_violation_count_drafts_a_valid_incident_with_its_sources() {
        let mut c = qty("violations.ceasefire", 4.0, "count", 1);
        c.date = Some("2024-03-11".parse().unwrap());
        let missing = c.draft(EntityKind::Incident, &Map::new()).unwrap_err();
        assert!(format!("{missing:?}").contains("record.location"));
        c.place = Some(place("Khankendi", 174875));
        let v = c.draft(EntityKind::Incident, &Map::new()).unwrap();
        let rec = EntityKind::Incident.validate_json(v, &ctx()).unwrap();
        assert_eq!(rec.data["ceasefire_violation"]["count"], 4);
        assert_eq!(rec.data["sources"][0]["document"], json!(doc(1)));
        assert_eq!(rec.data["sources"][0]["text"], "120 tonnes");
        assert!(matches!(
            c.draft(EntityKind::Meeting, &Map::new()),
            Err(Refusal::Invalid(_))
        ));
        let zero = qty("violations.ceasefire", 0.0, "count", 1);
        assert!(
            zero.targets().is_empty(),
            "no violations is not an incident"
        );
    }

    #[test]
    fn talks_draft_a_meeting_and_overrides_fill_the_gaps() {
        let c = qty("talks.rounds", 2.0, "count", 1);
        let mut o = Map::new();
        o.insert("place".into(), json!("Brussels"));
        let v = c.draft(EntityKind::Meeting, &o).unwrap();
        let rec = EntityKind::Meeting.validate_json(v, &ctx()).unwrap();
        assert_eq!(rec.data["place"], "Brussels");
        assert_eq!(rec.data["sources"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn sources_are_added_once_and_only_to_kinds_that_keep_them() {
        let s = qty("aid.food", 1.0, "t", 1).sources;
        let mut v = json!({"title": "x"});
        add_sources(EntityKind::Meeting, &mut v, &s).unwrap();
        add_sources(EntityKind::Meeting, &mut v, &s).unwrap();
        assert_eq!(v["sources"].as_array().unwrap().len(), 1);
        assert!(add_sources(EntityKind::Convoy, &mut v, &s).is_err());
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            prop::sample::select(vec!["aid.food", "aid.fuel", "people.killed"]),
            prop::sample::select(vec![1.0, 2.0, 120.0]),
            prop::option::of(0u64..3),
            prop::option::of(prop::sample::select(vec!["am", "az"])),
            prop::option::of(0i8..20),
            0i8..20,
        )
            .prop_map(|(cat, v, pl, party, day, pub_day)| {
                let unit = QUANTITY_CATEGORIES
                    .iter()
                    .find(|(k, _)| *k == cat)
                    .unwrap()
                    .1;
                let mut c = qty(cat, v, unit, 1);
                c.place = pl.map(|i| place(&format!("P{i}"), i));
                c.party = party.map(str::to_string);
                c.date = day.map(|d| Date::new(2024, 3, d + 1).unwrap());
                c.reported_on = Some(Date::new(2024, 3, pub_day + 1).unwrap());
                c
            })
    }

    proptest! {
        #[test]
        fn matching_is_symmetric_and_reflexive(a in arb_candidate(), b in arb_candidate()) {
            prop_assert!(same_fact(&a, &a));
            prop_assert_eq!(same_fact(&a, &b), same_fact(&b, &a));
        }

        #[test]
        fn matching_never_joins_different_figures(a in arb_candidate(), b in arb_candidate()) {
            if same_fact(&a, &b) {
                prop_assert_eq!(&a.category, &b.category);
                prop_assert_eq!(a.value, b.value);
                if let (Some(p), Some(q)) = (&a.place, &b.place) {
                    prop_assert!(p.same(q));
                }
                if let (Some(x), Some(y)) = (a.date, b.date) {
                    prop_assert_eq!(x, y);
                }
            }
        }

        #[test]
        fn accepted_or_rejected_stays_decided(a in arb_candidate(), reject in any::<bool>()) {
            let mut c = a;
            let now: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
            if reject { c.reject("a", now, Some("r")).unwrap(); } else {
                c.accept(Review { by: "a".into(), at: now, reason: None, record: None,
                    record_kind: None, linked: false, edited: Map::new(), key: None }).unwrap();
            }
            let before = c.clone();
            prop_assert!(c.reject("b", now, Some("r")).is_err());
            prop_assert!(c.accept(before.review.clone().unwrap()).is_err());
            prop_assert_eq!(c, before);
        }
    }
}
