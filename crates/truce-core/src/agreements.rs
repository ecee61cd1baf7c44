//! Agreements and talks (PA-X style): agreements with their stage, parties
//! and signatories; provisions by category whose implementation status is
//! reported over time with evidence links to records; meetings and rounds
//! of talks with agenda, outcomes and follow-up actions.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::shelter::{Refused, check_date, day_start, keep_keys};
use crate::time::check_plausible;

/// PA-X agreement stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgreementStage {
    /// Ceasefire or related.
    Ceasefire,
    /// Pre-negotiation or process agreement.
    PreNegotiation,
    /// Substantive (comprehensive or partial).
    Substantive,
    /// Implementation or renegotiation.
    Implementation,
}

/// Who signed, for which party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signatory {
    /// Name (public office holders; not protected personal data).
    pub name: String,
    /// Title or function.
    #[serde(default)]
    pub title: Option<String>,
    /// The party signed for (none for witnesses and mediators).
    #[serde(default)]
    pub party: Option<Uuid>,
}

/// A signed agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    /// Title.
    pub title: String,
    /// Day signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub signed_on: Date,
    /// Where signed.
    #[serde(default)]
    pub place: Option<String>,
    /// The parties bound by it.
    pub parties: Vec<Uuid>,
    /// Who signed.
    #[serde(default)]
    pub signatories: Vec<Signatory>,
    /// PA-X stage.
    pub stage: AgreementStage,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Where the text is (a reference, not a download).
    #[serde(default)]
    pub source: Option<String>,
}

impl Record for Agreement {
    const KIND: EntityKind = EntityKind::Agreement;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.title, "title", &mut e);
        check_date(self.signed_on, ctx.now, "signed_on", &mut e);
        if let Some(p) = &self.place {
            check_name(p, "place", &mut e);
        }
        if self.parties.is_empty() {
            e.push("parties", "must name at least one party");
        }
        for (i, s) in self.signatories.iter().enumerate() {
            check_name(&s.name, &format!("signatories[{i}].name"), &mut e);
            if let Some(p) = s.party
                && !self.parties.contains(&p)
            {
                e.push(
                    format!("signatories[{i}].party"),
                    "is not one of the agreement's parties",
                );
            }
        }
        check_text(&self.summary, "summary", &mut e);
        if let Some(s) = &self.source {
            check_name(s, "source", &mut e);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let t = day_start(self.signed_on);
        IndexFields {
            time_start: Some(t),
            time_end: Some(t),
            category: Some(serde_name(&self.stage)),
            parties: self.parties.clone(),
            text: self.title.to_lowercase(),
            ..Default::default()
        }
    }
}

/// What a provision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProvisionCategory {
    /// Ceasefire and cessation of hostilities.
    Ceasefire,
    /// Withdrawal of forces.
    Withdrawal,
    /// Humanitarian or transport corridors.
    Corridors,
    /// Return of displaced persons and refugees.
    ReturnOfDisplaced,
    /// Exchange of prisoners, detainees and remains.
    ExchangeOfPrisonersAndRemains,
    /// Handover of minefield maps.
    MinefieldMaps,
    /// Border delimitation and demarcation.
    BorderDelimitation,
    /// Unblocking of transport and economic links.
    TransportLinks,
    /// Protection of cultural and religious heritage.
    HeritageProtection,
    /// Anything else.
    Other,
}

/// Implementation status of a provision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImplementationStatus {
    /// Nothing done yet.
    #[default]
    NotStarted,
    /// Work under way.
    InProgress,
    /// Done in part.
    PartiallyImplemented,
    /// Done.
    Implemented,
    /// Stopped.
    Stalled,
    /// Undone after implementation.
    Reversed,
}

impl ImplementationStatus {
    /// Every status.
    pub const ALL: [ImplementationStatus; 6] = [
        ImplementationStatus::NotStarted,
        ImplementationStatus::InProgress,
        ImplementationStatus::PartiallyImplemented,
        ImplementationStatus::Implemented,
        ImplementationStatus::Stalled,
        ImplementationStatus::Reversed,
    ];

    /// Statuses a report may move a provision to from this one. Repeating
    /// the current status (new evidence) is allowed, except for
    /// `not_started`, which nothing returns to.
    pub fn next(self) -> &'static [ImplementationStatus] {
        use ImplementationStatus::*;
        match self {
            NotStarted => &[InProgress, PartiallyImplemented, Implemented, Stalled],
            InProgress => &[InProgress, PartiallyImplemented, Implemented, Stalled],
            PartiallyImplemented => &[InProgress, PartiallyImplemented, Implemented, Stalled],
            Implemented => &[Implemented, Reversed],
            Stalled => &[InProgress, PartiallyImplemented, Implemented, Stalled],
            Reversed => &[InProgress, Stalled, Reversed],
        }
    }
}

/// One report of a provision's status, as of a day, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusReport {
    /// The status.
    pub status: ImplementationStatus,
    /// The day it describes.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub as_of: Date,
    /// Records that show it (an exchange, a minefield record, an incident).
    #[serde(default)]
    pub evidence: Vec<Uuid>,
    /// What was seen.
    #[serde(default)]
    pub note: Option<String>,
    /// Who reported it.
    pub by: String,
    /// When it was recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: Timestamp,
}

/// A provision of an agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provision {
    /// The agreement.
    pub agreement: Uuid,
    /// Article or paragraph, e.g. `Art. 3`.
    pub number: String,
    /// Category.
    pub category: ProvisionCategory,
    /// What it says (summary or text).
    pub text: String,
    /// Current status (status reports only).
    #[serde(default)]
    pub status: ImplementationStatus,
    /// Every status report, oldest first (status reports only).
    #[serde(default)]
    pub history: Vec<StatusReport>,
}

/// Most evidence links one report may carry.
pub const MAX_EVIDENCE: usize = 100;

/// A requested status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusRequest {
    /// The status.
    pub status: ImplementationStatus,
    /// The day it describes.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub as_of: Date,
    /// Records that show it.
    #[serde(default)]
    pub evidence: Vec<Uuid>,
    /// What was seen.
    #[serde(default)]
    pub note: Option<String>,
}

impl Provision {
    /// Fields only status reports may set.
    pub const ACTION_FIELDS: [&'static str; 2] = ["status", "history"];

    /// The status as of day `d` (not started before the first report).
    pub fn status_on(&self, d: Date) -> ImplementationStatus {
        self.history
            .iter()
            .rev()
            .find(|r| r.as_of <= d)
            .map_or(ImplementationStatus::NotStarted, |r| r.status)
    }

    /// Records a status report, or refuses it: 409 for a status the current
    /// one cannot move to, 422 for bad input (evidence is required for
    /// `implemented`; reports go forward in time; `as_of` not before
    /// `signed_on`). Evidence ids are checked by the caller.
    pub fn report(
        &mut self,
        r: StatusRequest,
        signed_on: Date,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Refused> {
        if !self.status.next().contains(&r.status) {
            return Err(Refused::conflict(format!(
                "provision {} cannot go from {} to {}",
                self.number,
                serde_name(&self.status),
                serde_name(&r.status)
            )));
        }
        let mut e = ValidationErrors::default();
        check_date(r.as_of, now, "as_of", &mut e);
        if r.as_of < signed_on {
            e.push(
                "as_of",
                format!("is before the agreement was signed on {signed_on}"),
            );
        }
        if let Some(last) = self.history.last()
            && r.as_of < last.as_of
        {
            e.push(
                "as_of",
                format!("is before the latest report, as of {}", last.as_of),
            );
        }
        if r.status == ImplementationStatus::Implemented && r.evidence.is_empty() {
            e.push("evidence", "is required to report a provision implemented");
        }
        if r.evidence.len() > MAX_EVIDENCE {
            e.push("evidence", format!("has more than {MAX_EVIDENCE} links"));
        }
        check_text(&r.note, "note", &mut e);
        e.into_result()?;
        self.status = r.status;
        self.history.push(StatusReport {
            status: r.status,
            as_of: r.as_of,
            evidence: r.evidence,
            note: r.note,
            by: by.to_string(),
            recorded_at: now,
        });
        Ok(())
    }
}

impl Record for Provision {
    const KIND: EntityKind = EntityKind::Provision;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.number, "number", &mut e);
        if self.text.trim().is_empty() {
            e.push("text", "must not be empty");
        }
        check_text(&Some(self.text.clone()), "text", &mut e);
        let mut prev = ImplementationStatus::NotStarted;
        for (i, r) in self.history.iter().enumerate() {
            if !prev.next().contains(&r.status) {
                e.push(format!("history[{i}].status"), "does not follow on");
            }
            check_date(r.as_of, ctx.now, &format!("history[{i}].as_of"), &mut e);
            prev = r.status;
        }
        if prev != self.status {
            e.push("status", "differs from the latest report");
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let t = self.history.last().map(|r| day_start(r.as_of));
        IndexFields {
            time_start: t,
            time_end: t,
            category: Some(serde_name(&self.category)),
            status: Some(serde_name(&self.status)),
            text: format!("{} {}", self.number, self.text).to_lowercase(),
            refs: std::iter::once(self.agreement)
                .chain(self.history.iter().flat_map(|r| r.evidence.iter().copied()))
                .collect(),
            ..Default::default()
        }
    }
}

/// Counts of provisions by status on one day.
pub fn status_counts<'a>(
    provisions: impl IntoIterator<Item = &'a Provision>,
    d: Date,
) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for p in provisions {
        *m.entry(serde_name(&p.status_on(d))).or_insert(0) += 1;
    }
    m
}

/// What sort of meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MeetingKind {
    /// A round of talks between the parties.
    RoundOfTalks,
    /// A working group or technical meeting.
    WorkingGroup,
    /// A meeting the mission holds with one party.
    Bilateral,
    /// Anything else.
    Other,
}

/// Someone at a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    /// Name or function.
    pub name: String,
    /// Their party.
    #[serde(default)]
    pub party: Option<Uuid>,
    /// Their organisation.
    #[serde(default)]
    pub organisation: Option<Uuid>,
    /// Role at the meeting (head of delegation, mediator, note-taker).
    #[serde(default)]
    pub role: Option<String>,
}

/// Where a follow-up action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ActionStatus {
    /// To do.
    #[default]
    Open,
    /// Done.
    Done,
    /// No longer pursued.
    Dropped,
}

/// An action agreed at a meeting, with its owner and due date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    /// What is to be done.
    pub description: String,
    /// Who does it.
    pub owner: String,
    /// The owner's party, if any.
    #[serde(default)]
    pub owner_party: Option<Uuid>,
    /// When it is due.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub due_on: Option<Date>,
    /// Open, done or dropped (follow-up action only).
    #[serde(default)]
    pub status: ActionStatus,
    /// When it was closed (follow-up action only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub closed_on: Option<Date>,
    /// Who closed it (follow-up action only).
    #[serde(default)]
    pub closed_by: Option<String>,
}

/// A meeting or round of talks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meeting {
    /// Title.
    pub title: String,
    /// What sort.
    pub kind: MeetingKind,
    /// Round label, e.g. "Round 3".
    #[serde(default)]
    pub round: Option<String>,
    /// When it began.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub starts_at: Timestamp,
    /// Where.
    pub place: String,
    /// The agreement it concerns.
    #[serde(default)]
    pub agreement: Option<Uuid>,
    /// Parties present.
    #[serde(default)]
    pub parties: Vec<Uuid>,
    /// Who took part.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// Agenda items.
    #[serde(default)]
    pub agenda: Vec<String>,
    /// Outcomes.
    #[serde(default)]
    pub outcomes: Vec<String>,
    /// Follow-up actions.
    #[serde(default)]
    pub actions: Vec<FollowUp>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The intake documents and exact words this meeting was taken from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::intake::SourceSpan>,
}

/// A requested change of a follow-up action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionUpdate {
    /// `done` or `dropped`.
    pub status: ActionStatus,
    /// The day; today when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub on: Option<Date>,
}

impl Meeting {
    /// Keeps each existing action's status fields; new actions start open.
    pub fn protect(submitted: &mut serde_json::Value, existing: Option<&serde_json::Value>) {
        let old = existing
            .and_then(|e| e.get("actions"))
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default();
        if let Some(serde_json::Value::Array(actions)) = submitted.get_mut("actions") {
            for (i, a) in actions.iter_mut().enumerate() {
                keep_keys(a, old.get(i), &["status", "closed_on", "closed_by"]);
            }
        }
    }

    /// Closes follow-up action `i`: open → done or dropped; anything else
    /// is a 409.
    pub fn close_action(
        &mut self,
        i: usize,
        u: ActionUpdate,
        by: &str,
        now: Timestamp,
    ) -> Result<(), Refused> {
        let a = self
            .actions
            .get_mut(i)
            .ok_or_else(|| Refused::field("action", format!("there is no action {i}")))?;
        if a.status != ActionStatus::Open {
            return Err(Refused::conflict(format!(
                "action {i} is already {}",
                serde_name(&a.status)
            )));
        }
        if u.status == ActionStatus::Open {
            return Err(Refused::field("status", "must be done or dropped"));
        }
        let on = u.on.unwrap_or_else(|| crate::shelter::utc_date(now));
        let mut e = ValidationErrors::default();
        check_date(on, now, "on", &mut e);
        if day_start(on) < day_start(crate::shelter::utc_date(self.starts_at)) {
            e.push("on", "is before the meeting");
        }
        e.into_result()?;
        a.status = u.status;
        a.closed_on = Some(on);
        a.closed_by = Some(by.to_string());
        Ok(())
    }
}

impl Record for Meeting {
    const KIND: EntityKind = EntityKind::Meeting;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.title, "title", &mut e);
        // Meetings may be planned ahead: a year at most.
        if self.starts_at > ctx.now + jiff::SignedDuration::from_hours(24 * 366) {
            e.push("starts_at", "is more than a year ahead");
        } else {
            check_plausible(self.starts_at.min(ctx.now), ctx.now, "starts_at", &mut e);
        }
        check_name(&self.place, "place", &mut e);
        if let Some(r) = &self.round {
            check_name(r, "round", &mut e);
        }
        for (i, p) in self.participants.iter().enumerate() {
            check_name(&p.name, &format!("participants[{i}].name"), &mut e);
        }
        for (i, a) in self.agenda.iter().enumerate() {
            check_name(a, &format!("agenda[{i}]"), &mut e);
        }
        for (i, o) in self.outcomes.iter().enumerate() {
            check_text(&Some(o.clone()), &format!("outcomes[{i}]"), &mut e);
        }
        for (i, a) in self.actions.iter().enumerate() {
            check_name(&a.description, &format!("actions[{i}].description"), &mut e);
            check_name(&a.owner, &format!("actions[{i}].owner"), &mut e);
            if (a.status == ActionStatus::Open) != a.closed_on.is_none() {
                e.push(
                    format!("actions[{i}].closed_on"),
                    "is set exactly when the action is closed",
                );
            }
        }
        check_text(&self.notes, "notes", &mut e);
        crate::intake::check_sources(&self.sources, "sources", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let open = self
            .actions
            .iter()
            .filter(|a| a.status == ActionStatus::Open)
            .count();
        IndexFields {
            time_start: Some(self.starts_at),
            time_end: Some(self.starts_at),
            category: Some(serde_name(&self.kind)),
            status: Some(
                if open > 0 {
                    "actions_open"
                } else {
                    "actions_closed"
                }
                .into(),
            ),
            parties: self.parties.clone(),
            text: format!("{} {}", self.title, self.round.as_deref().unwrap_or("")).to_lowercase(),
            refs: self.agreement.into_iter().collect(),
            quantity: Some(open as f64),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn provision() -> Provision {
        Provision {
            agreement: Uuid::nil(),
            number: "Art. 1".into(),
            category: ProvisionCategory::ExchangeOfPrisonersAndRemains,
            text: "All for all.".into(),
            status: ImplementationStatus::NotStarted,
            history: vec![],
        }
    }

    fn req(s: ImplementationStatus, d: &str, ev: usize) -> StatusRequest {
        StatusRequest {
            status: s,
            as_of: d.parse().unwrap(),
            evidence: (0..ev).map(|i| Uuid::from_u128(i as u128)).collect(),
            note: None,
        }
    }

    #[test]
    fn implemented_needs_evidence_and_history_answers_as_of() {
        let signed: Date = "2026-01-10".parse().unwrap();
        let mut p = provision();
        use ImplementationStatus::*;
        assert!(matches!(
            p.report(req(Implemented, "2026-02-01", 0), signed, "a", now()),
            Err(Refused::Invalid(e)) if e.0[0].field == "evidence"
        ));
        assert!(matches!(
            p.report(req(InProgress, "2026-01-01", 0), signed, "a", now()),
            Err(Refused::Invalid(e)) if e.0[0].field == "as_of"
        ));
        p.report(req(InProgress, "2026-02-01", 0), signed, "a", now())
            .unwrap();
        p.report(req(Implemented, "2026-03-01", 1), signed, "a", now())
            .unwrap();
        assert!(matches!(
            p.report(req(Stalled, "2026-04-01", 0), signed, "a", now()),
            Err(Refused::Conflict(_))
        ));
        assert_eq!(p.status_on("2026-01-31".parse().unwrap()), NotStarted);
        assert_eq!(p.status_on("2026-02-15".parse().unwrap()), InProgress);
        assert_eq!(p.status_on("2026-03-01".parse().unwrap()), Implemented);
        p.validate(&ValidationContext { now: now() }).unwrap();
    }

    proptest! {
        /// Reports only move along the table; a refused report changes
        /// nothing; the record stays valid; status_on(latest) = status.
        #[test]
        fn provision_machine_holds(moves in prop::collection::vec((prop::sample::select(ImplementationStatus::ALL.to_vec()), 0usize..2), 0..20)) {
            let signed: Date = "2026-01-01".parse().unwrap();
            let mut p = provision();
            let mut day = signed;
            for (s, ev) in moves {
                day = day.tomorrow().unwrap();
                let before = p.clone();
                let ok_expected = p.status.next().contains(&s) && !(s == ImplementationStatus::Implemented && ev == 0);
                let r = p.report(StatusRequest { status: s, as_of: day, evidence: (0..ev).map(|i| Uuid::from_u128(i as u128)).collect(), note: None }, signed, "a", now());
                prop_assert_eq!(r.is_ok(), ok_expected);
                if r.is_err() { prop_assert_eq!(&p, &before); }
                let valid = p.validate(&ValidationContext { now: now() }).is_ok();
                prop_assert!(valid);
                prop_assert_eq!(p.status_on(day), p.status);
            }
        }
    }
}
