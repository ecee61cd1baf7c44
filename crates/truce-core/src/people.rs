//! Persons of concern: detainees, prisoners of war, civilians held, missing
//! persons and human remains. Cases with a status history, exchanges that
//! move many cases at once, and tracing matches a person confirms.
//!
//! These are the most sensitive records a mission keeps: only the
//! protection role and admins read them ([`crate::access`]), every read is
//! journaled, and [`redact`] strips names from anything exported to a role
//! that may not see them.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{self, Role};
use crate::error::ValidationErrors;
use crate::geometry::LatLon;
use crate::model::{check_name, check_text, serde_name};
use crate::names;
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::shelter::{Refused, check_date, keep_keys, utc_date};
use crate::time::check_plausible;

/// What sort of case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseKind {
    /// A person detained by a party.
    Detainee,
    /// A member of armed forces captured by a party.
    PrisonerOfWar,
    /// A civilian held by a party.
    CivilianHeld,
    /// A person whose family or party does not know where they are.
    MissingPerson,
    /// Human remains, identified or sought.
    HumanRemains,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CaseStatus {
    /// Held by a party.
    Held,
    /// Released, not (yet) handed over to a party.
    Released,
    /// Returned to a named party.
    Returned,
    /// Whereabouts unknown.
    Missing,
    /// Found alive.
    LocatedAlive,
    /// Known to have died.
    Deceased,
    /// Remains handed over to a named party.
    RemainsTransferred,
    /// Case closed.
    Closed,
}

impl CaseStatus {
    /// Every status.
    pub const ALL: [CaseStatus; 8] = [
        CaseStatus::Held,
        CaseStatus::Released,
        CaseStatus::Returned,
        CaseStatus::Missing,
        CaseStatus::LocatedAlive,
        CaseStatus::Deceased,
        CaseStatus::RemainsTransferred,
        CaseStatus::Closed,
    ];

    /// The statuses a case may go to from this one (whatever its kind).
    pub fn next(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            Held => &[Released, Returned, Missing, Deceased, Closed],
            Released => &[Returned, Missing, Closed],
            Returned => &[Closed],
            Missing => &[LocatedAlive, Held, Deceased, Closed],
            LocatedAlive => &[Held, Released, Returned, Closed],
            Deceased => &[RemainsTransferred, Closed],
            RemainsTransferred => &[Closed],
            Closed => &[],
        }
    }

    /// Whether the move needs the party the person or remains went to.
    pub fn needs_party(self) -> bool {
        matches!(self, CaseStatus::Returned | CaseStatus::RemainsTransferred)
    }
}

impl CaseKind {
    /// Statuses a new case of this kind may start in.
    pub fn initial(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            CaseKind::Detainee | CaseKind::PrisonerOfWar | CaseKind::CivilianHeld => &[Held],
            CaseKind::MissingPerson => &[Missing],
            CaseKind::HumanRemains => &[Missing, Deceased],
        }
    }

    /// Whether a case of this kind may ever be in `s` (remains are never
    /// alive, held or released).
    pub fn allows(self, s: CaseStatus) -> bool {
        use CaseStatus::*;
        match self {
            CaseKind::HumanRemains => matches!(s, Missing | Deceased | RemainsTransferred | Closed),
            _ => true,
        }
    }
}

/// Whether a case of `kind` may move from `from` to `to`.
pub fn can_transition(kind: CaseKind, from: CaseStatus, to: CaseStatus) -> bool {
    kind.allows(to) && from.next().contains(&to)
}

/// Sex as recorded (ICRC forms ask it; it helps tracing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

/// One change of a case's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    /// Status before.
    pub from: CaseStatus,
    /// Status after.
    pub to: CaseStatus,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Who recorded it.
    pub by: String,
    /// Party returned or transferred to.
    #[serde(default)]
    pub party: Option<Uuid>,
    /// The exchange it happened in.
    #[serde(default)]
    pub exchange: Option<Uuid>,
    /// The confirmed tracing match that located the person.
    #[serde(default)]
    pub trace_match: Option<Uuid>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A person of concern (or remains): the only record kind holding names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonCase {
    /// Kind of case.
    pub kind: CaseKind,
    /// The mission's case number, e.g. `PC-0042`.
    pub reference: String,
    /// Full name as first recorded, in any script.
    pub name: String,
    /// Other spellings and scripts of the name.
    #[serde(default)]
    pub alt_names: Vec<String>,
    /// Sex, when known.
    #[serde(default)]
    pub sex: Option<Sex>,
    /// Year of birth, when known.
    #[serde(default)]
    pub birth_year: Option<i32>,
    /// The party holding the person or remains.
    #[serde(default)]
    pub party_holding: Option<Uuid>,
    /// The party the person belongs to or that searches for them.
    #[serde(default)]
    pub party_of_origin: Option<Uuid>,
    /// Last seen where (place name).
    #[serde(default)]
    pub last_seen_place: Option<String>,
    /// Last seen where (position).
    #[serde(default)]
    pub last_seen_at: Option<LatLon>,
    /// Last seen when.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_seen_on: Option<Date>,
    /// Current status; after creation, changed by transitions only.
    pub status: CaseStatus,
    /// Party returned or transferred to (transitions only).
    #[serde(default)]
    pub returned_to: Option<Uuid>,
    /// Every status change (transitions only).
    #[serde(default)]
    pub history: Vec<StatusChange>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Most alternative names a case may list.
pub const MAX_ALT_NAMES: usize = 20;

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    /// New status.
    pub status: CaseStatus,
    /// When it happened; now when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at: Option<Timestamp>,
    /// Party returned or transferred to (required for those statuses).
    #[serde(default)]
    pub party: Option<Uuid>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

impl PersonCase {
    /// Fields only transitions may set after creation.
    pub const ACTION_FIELDS: [&'static str; 3] = ["status", "returned_to", "history"];

    /// Every name of the case.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        std::iter::once(self.name.as_str()).chain(self.alt_names.iter().map(String::as_str))
    }

    /// Applies a transition recorded by `by`, or refuses it: 409 for a move
    /// the state machine does not allow, 422 for bad input.
    pub fn transition(
        &mut self,
        t: Transition,
        by: &str,
        now: Timestamp,
        exchange: Option<Uuid>,
        trace_match: Option<Uuid>,
    ) -> Result<(), Refused> {
        if !can_transition(self.kind, self.status, t.status) {
            return Err(Refused::conflict(format!(
                "a {} case cannot go from {} to {}",
                serde_name(&self.kind),
                serde_name(&self.status),
                serde_name(&t.status)
            )));
        }
        let at = t.at.unwrap_or(now);
        let mut e = ValidationErrors::default();
        check_plausible(at, now, "at", &mut e);
        if let Some(last) = self.history.last()
            && at < last.at
        {
            e.push(
                "at",
                format!("is before the last status change at {}", last.at),
            );
        }
        if t.status.needs_party() && t.party.is_none() {
            e.push(
                "party",
                format!("is required for status {}", serde_name(&t.status)),
            );
        }
        if !t.status.needs_party() && t.party.is_some() {
            e.push(
                "party",
                format!(
                    "is only for returned or remains_transferred, not {}",
                    serde_name(&t.status)
                ),
            );
        }
        check_text(&t.reason, "reason", &mut e);
        e.into_result()?;
        self.history.push(StatusChange {
            from: self.status,
            to: t.status,
            at,
            by: by.to_string(),
            party: t.party,
            exchange,
            trace_match,
            reason: t.reason,
        });
        self.status = t.status;
        if t.party.is_some() {
            self.returned_to = t.party;
        }
        Ok(())
    }
}

impl Record for PersonCase {
    const KIND: EntityKind = EntityKind::PersonCase;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.reference, "reference", &mut e);
        check_name(&self.name, "name", &mut e);
        if self.alt_names.len() > MAX_ALT_NAMES {
            e.push("alt_names", format!("has more than {MAX_ALT_NAMES} names"));
        }
        for (i, n) in self.alt_names.iter().enumerate() {
            check_name(n, &format!("alt_names[{i}]"), &mut e);
        }
        if let Some(y) = self.birth_year {
            let this_year = i32::from(utc_date(ctx.now).year());
            if !(1900..=this_year).contains(&y) {
                e.push("birth_year", format!("must be 1900..{this_year}"));
            }
        }
        if let Some(p) = &self.last_seen_place {
            check_name(p, "last_seen_place", &mut e);
        }
        if let Some(p) = &self.last_seen_at
            && let Err(le) = p.validate()
        {
            e.nest("last_seen_at", le);
        }
        if let Some(d) = self.last_seen_on {
            check_date(d, ctx.now, "last_seen_on", &mut e);
        }
        if !self.kind.allows(self.status) {
            e.push(
                "status",
                format!(
                    "a {} case cannot be {}",
                    serde_name(&self.kind),
                    serde_name(&self.status)
                ),
            );
        }
        // The history must lead from an initial status to the current one.
        match self.history.first() {
            None if !self.kind.initial().contains(&self.status) => e.push(
                "status",
                format!(
                    "a new {} case starts as one of: {}",
                    serde_name(&self.kind),
                    self.kind
                        .initial()
                        .iter()
                        .map(serde_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(first) if !self.kind.initial().contains(&first.from) => {
                e.push("history[0].from", "is not an initial status")
            }
            _ => {}
        }
        for (i, w) in self.history.windows(2).enumerate() {
            if w[0].to != w[1].from {
                e.push(format!("history[{}].from", i + 1), "does not follow on");
            }
        }
        for (i, h) in self.history.iter().enumerate() {
            if !can_transition(self.kind, h.from, h.to) {
                e.push(format!("history[{i}].to"), "is not an allowed transition");
            }
        }
        if let Some(last) = self.history.last()
            && last.to != self.status
        {
            e.push("status", "differs from the last history entry");
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let mut text = self.reference.to_lowercase();
        for n in self.names() {
            text.push(' ');
            text.push_str(&n.to_lowercase());
        }
        let t = self.last_seen_on.map(crate::shelter::day_start);
        IndexFields {
            time_start: t,
            time_end: t,
            bbox: self.last_seen_at.map(|p| [p.lon, p.lat, p.lon, p.lat]),
            geometry: self.last_seen_at.map(|p| p.to_geojson()),
            category: Some(serde_name(&self.kind)),
            status: Some(serde_name(&self.status)),
            parties: self
                .party_holding
                .into_iter()
                .chain(self.party_of_origin)
                .chain(self.returned_to)
                .collect(),
            text,
            refs: self
                .history
                .iter()
                .flat_map(|h| h.exchange.into_iter().chain(h.trace_match))
                .collect(),
            quantity: Some(1.0),
            ..Default::default()
        }
    }
}

/// One direction of an exchange: who handed over whom to whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeLeg {
    /// The party handing over.
    pub from_party: Uuid,
    /// The party receiving.
    pub to_party: Uuid,
    /// Living persons handed over (counted, with or without a case here).
    #[serde(default)]
    pub persons: u32,
    /// Remains handed over.
    #[serde(default)]
    pub remains: u32,
    /// The cases of those handed over that the mission holds.
    #[serde(default)]
    pub cases: Vec<Uuid>,
}

/// An exchange of persons and remains between parties on one day: the event
/// that moves every case it lists, all together or not at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Exchange {
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Where (place name).
    pub place: String,
    /// Where (position).
    #[serde(default)]
    pub location: Option<LatLon>,
    /// Who facilitated (an organisation).
    #[serde(default)]
    pub facilitator: Option<Uuid>,
    /// The agreement it implements, if any.
    #[serde(default)]
    pub agreement: Option<Uuid>,
    /// Who went where.
    pub legs: Vec<ExchangeLeg>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Most legs and cases one exchange may carry.
pub const MAX_EXCHANGE_CASES: usize = 5_000;

impl Exchange {
    /// Every case listed, in order.
    pub fn case_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.legs.iter().flat_map(|l| l.cases.iter().copied())
    }

    /// Persons and remains handed over in all legs.
    pub fn total(&self) -> u64 {
        self.legs
            .iter()
            .map(|l| u64::from(l.persons) + u64::from(l.remains))
            .sum()
    }

    /// Moves every listed case (given as `(id, case)` in the order of
    /// [`Exchange::case_ids`]) to returned or remains transferred, naming the
    /// exchange in each history. Refused whole if any case does not fit: a
    /// 409 names the case whose status forbids it, a 422 names the field.
    pub fn apply_to_cases(
        &self,
        exchange_id: Uuid,
        cases: &mut [(Uuid, PersonCase)],
        by: &str,
        now: Timestamp,
    ) -> Result<(), Refused> {
        let mut k = 0;
        let mut e = ValidationErrors::default();
        for (li, leg) in self.legs.iter().enumerate() {
            let (mut living, mut dead) = (0u32, 0u32);
            for (ci, id) in leg.cases.iter().enumerate() {
                let (cid, case) = &mut cases[k];
                k += 1;
                debug_assert_eq!(cid, id);
                let field = format!("legs[{li}].cases[{ci}]");
                let remains =
                    case.kind == CaseKind::HumanRemains || case.status == CaseStatus::Deceased;
                let to = if remains {
                    dead += 1;
                    CaseStatus::RemainsTransferred
                } else {
                    living += 1;
                    CaseStatus::Returned
                };
                if let Some(h) = case.party_holding
                    && h != leg.from_party
                {
                    return Err(Refused::conflict(format!(
                        "case {} ({field}) is held by another party than legs[{li}].from_party",
                        case.reference
                    )));
                }
                case.transition(
                    Transition {
                        status: to,
                        at: Some(self.at),
                        party: Some(leg.to_party),
                        reason: Some(format!("exchange at {}", self.place)),
                    },
                    by,
                    now,
                    Some(exchange_id),
                    None,
                )
                .map_err(|r| match r {
                    Refused::Conflict(m) => {
                        Refused::conflict(format!("case {} ({field}): {m}", case.reference))
                    }
                    Refused::Invalid(v) => {
                        let mut out = ValidationErrors::default();
                        out.nest(&field, v);
                        Refused::Invalid(out)
                    }
                })?;
            }
            if living > leg.persons {
                e.push(
                    format!("legs[{li}].persons"),
                    format!(
                        "is {} but {living} living persons' cases are listed",
                        leg.persons
                    ),
                );
            }
            if dead > leg.remains {
                e.push(
                    format!("legs[{li}].remains"),
                    format!("is {} but {dead} cases of remains are listed", leg.remains),
                );
            }
        }
        e.into_result()?;
        Ok(())
    }
}

impl Record for Exchange {
    const KIND: EntityKind = EntityKind::Exchange;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_plausible(self.at, ctx.now, "at", &mut e);
        check_name(&self.place, "place", &mut e);
        if let Some(p) = &self.location
            && let Err(le) = p.validate()
        {
            e.nest("location", le);
        }
        if self.legs.is_empty() {
            e.push("legs", "must have at least one leg");
        }
        let mut seen = HashSet::new();
        let mut n = 0;
        for (i, l) in self.legs.iter().enumerate() {
            if l.from_party == l.to_party {
                e.push(format!("legs[{i}].to_party"), "is the same as from_party");
            }
            if l.persons == 0 && l.remains == 0 {
                e.push(format!("legs[{i}].persons"), "a leg hands over someone");
            }
            for (j, c) in l.cases.iter().enumerate() {
                n += 1;
                if !seen.insert(*c) {
                    e.push(format!("legs[{i}].cases[{j}]"), "is listed twice");
                }
            }
            if l.cases.len() as u64 > u64::from(l.persons) + u64::from(l.remains) {
                e.push(
                    format!("legs[{i}].cases"),
                    "lists more cases than persons and remains handed over",
                );
            }
        }
        if n > MAX_EXCHANGE_CASES {
            e.push(
                "legs",
                format!("lists more than {MAX_EXCHANGE_CASES} cases"),
            );
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let mut parties: Vec<Uuid> = Vec::new();
        for l in &self.legs {
            for p in [l.from_party, l.to_party] {
                if !parties.contains(&p) {
                    parties.push(p);
                }
            }
        }
        IndexFields {
            time_start: Some(self.at),
            time_end: Some(self.at),
            bbox: self.location.map(|p| [p.lon, p.lat, p.lon, p.lat]),
            geometry: self.location.map(|p| p.to_geojson()),
            category: Some("exchange".into()),
            status: Some("completed".into()),
            parties,
            text: self.place.to_lowercase(),
            refs: self
                .case_ids()
                .chain(self.facilitator)
                .chain(self.agreement)
                .collect(),
            quantity: Some(self.total() as f64),
            ..Default::default()
        }
    }
}

/// Periods totals are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// UTC day, `YYYY-MM-DD`.
    Day,
    /// Month, `YYYY-MM`.
    Month,
    /// Year, `YYYY`.
    Year,
    /// One period for everything (key empty).
    All,
}

impl Period {
    /// Parses `day`, `month`, `year` or `all`.
    pub fn parse(s: &str) -> Option<Period> {
        Some(match s {
            "day" => Period::Day,
            "month" => Period::Month,
            "year" => Period::Year,
            "all" => Period::All,
            _ => return None,
        })
    }

    /// The key of the period containing `t`.
    pub fn key(self, t: Timestamp) -> String {
        let d = utc_date(t);
        match self {
            Period::Day => d.to_string(),
            Period::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Period::Year => format!("{:04}", d.year()),
            Period::All => String::new(),
        }
    }
}

/// Persons and remains received by one party in one period.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ExchangeTotal {
    /// Period key (see [`Period::key`]).
    pub period: String,
    /// The receiving party.
    pub to_party: Uuid,
    /// Living persons received.
    pub persons: u64,
    /// Remains received.
    pub remains: u64,
    /// Exchanges in which they were.
    pub exchanges: u64,
}

/// "On date D, 105 persons returned to party A and 17 to party B": totals
/// per receiving party and period, over exchanges from `from` to `to`
/// (inclusive, either open), sorted by period then party.
pub fn exchange_totals<'a>(
    exchanges: impl IntoIterator<Item = &'a Exchange>,
    period: Period,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Vec<ExchangeTotal> {
    let mut map: BTreeMap<(String, Uuid), ExchangeTotal> = BTreeMap::new();
    for x in exchanges {
        if from.is_some_and(|f| x.at < f) || to.is_some_and(|t| x.at > t) {
            continue;
        }
        let key = period.key(x.at);
        let mut counted = HashSet::new();
        for l in &x.legs {
            let t = map
                .entry((key.clone(), l.to_party))
                .or_insert_with(|| ExchangeTotal {
                    period: key.clone(),
                    to_party: l.to_party,
                    ..Default::default()
                });
            t.persons += u64::from(l.persons);
            t.remains += u64::from(l.remains);
            if counted.insert(l.to_party) {
                t.exchanges += 1;
            }
        }
    }
    map.into_values().collect()
}

/// A person's decision on a proposed tracing match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MatchDecision {
    /// The two cases are the same person.
    Confirmed,
    /// They are not.
    Rejected,
}

/// A decided tracing match between a missing-person report and a case of a
/// located, held or deceased person (written by the match action only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceMatch {
    /// The missing-person (or missing remains) case.
    pub sought: Uuid,
    /// The case it was matched with.
    pub candidate: Uuid,
    /// The matcher's score when it was decided.
    pub score: f64,
    /// Confirmed or rejected.
    pub decision: MatchDecision,
    /// Who decided.
    pub decided_by: String,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub decided_at: Timestamp,
    /// Why (e.g. "family identified photo").
    #[serde(default)]
    pub reason: Option<String>,
}

impl Record for TraceMatch {
    const KIND: EntityKind = EntityKind::TraceMatch;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.sought == self.candidate {
            e.push("candidate", "is the sought case itself");
        }
        if !(0.0..=1.0).contains(&self.score) {
            e.push("score", "must be 0..1");
        }
        check_name(&self.decided_by, "decided_by", &mut e);
        check_plausible(self.decided_at, ctx.now, "decided_at", &mut e);
        check_text(&self.reason, "reason", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.decided_at),
            time_end: Some(self.decided_at),
            status: Some(serde_name(&self.decision)),
            refs: vec![self.sought, self.candidate],
            quantity: Some(self.score),
            ..Default::default()
        }
    }
}

/// A scored candidate for a sought person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Overall score 0..1.
    pub score: f64,
    /// Best name similarity across all names of both cases.
    pub name_score: f64,
    /// What lowered the score.
    pub penalties: Vec<String>,
}

/// Statuses of cases a missing person may be found among.
pub const FINDABLE: [CaseStatus; 5] = [
    CaseStatus::Held,
    CaseStatus::Released,
    CaseStatus::LocatedAlive,
    CaseStatus::Returned,
    CaseStatus::Deceased,
];

/// Scores `candidate` as the person `sought` describes: name similarity
/// across scripts, lowered for a different sex or a birth year more than
/// two years apart. `None` when the candidate cannot be that person (itself,
/// not a findable status, or remains for a living search and vice versa).
pub fn score_candidate(sought: &PersonCase, candidate: &PersonCase) -> Option<Candidate> {
    if !FINDABLE.contains(&candidate.status) || candidate.kind == CaseKind::MissingPerson {
        return None;
    }
    let dead = candidate.kind == CaseKind::HumanRemains || candidate.status == CaseStatus::Deceased;
    if sought.kind == CaseKind::HumanRemains && !dead {
        return None;
    }
    let name_score = names::best_similarity(sought.names(), candidate.names());
    let mut score = name_score;
    let mut penalties = Vec::new();
    if let (Some(a), Some(b)) = (sought.sex, candidate.sex)
        && a != b
    {
        score *= 0.5;
        penalties.push("different sex".into());
    }
    if let (Some(a), Some(b)) = (sought.birth_year, candidate.birth_year)
        && (a - b).abs() > 2
    {
        score *= 0.8;
        penalties.push(format!("born {a} and {b}"));
    }
    Some(Candidate {
        score,
        name_score,
        penalties,
    })
}

/// Text put in place of a name for a reader who may not see it.
pub const REDACTED: &str = "[redacted]";

/// A record of `kind` as `role` may export it: names, alternative names and
/// free-text notes of people cases are replaced by [`REDACTED`] unless the
/// role may read people records. Other kinds pass unchanged.
pub fn redact(kind: EntityKind, data: &serde_json::Value, role: Role) -> serde_json::Value {
    let mut out = data.clone();
    let may_see = access::max_readable(role, EntityKind::PersonCase).is_some();
    if kind == EntityKind::PersonCase
        && !may_see
        && let serde_json::Value::Object(m) = &mut out
    {
        m.insert("name".into(), REDACTED.into());
        if let Some(serde_json::Value::Array(a)) = m.get_mut("alt_names") {
            a.iter_mut().for_each(|v| *v = REDACTED.into());
        }
        for k in ["notes", "last_seen_place", "last_seen_at", "birth_year"] {
            if m.get(k).is_some_and(|v| !v.is_null()) {
                m.insert(k.into(), serde_json::Value::Null);
            }
        }
        if let Some(serde_json::Value::Array(h)) = m.get_mut("history") {
            for e in h {
                if let serde_json::Value::Object(e) = e {
                    e.insert("reason".into(), serde_json::Value::Null);
                }
            }
        }
    }
    out
}

/// Keeps the fields of the shelter, people and agreements kinds that only a
/// module action may set as they were (or absent, on create), whatever a
/// generic create or update submitted.
pub fn protect_action_fields(
    kind: EntityKind,
    submitted: &mut serde_json::Value,
    existing: Option<&serde_json::Value>,
) {
    match kind {
        EntityKind::ShelterRegistration => keep_keys(
            submitted,
            existing,
            &crate::shelter::ShelterRegistration::ACTION_FIELDS,
        ),
        EntityKind::PersonCase => {
            // A new case chooses its initial status; later, only transitions.
            if existing.is_some() {
                keep_keys(submitted, existing, &PersonCase::ACTION_FIELDS);
            } else {
                keep_keys(submitted, None, &["returned_to", "history"]);
            }
        }
        EntityKind::Provision => keep_keys(
            submitted,
            existing,
            &crate::agreements::Provision::ACTION_FIELDS,
        ),
        EntityKind::Meeting => crate::agreements::Meeting::protect(submitted, existing),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn case(kind: CaseKind, status: CaseStatus) -> PersonCase {
        PersonCase {
            kind,
            reference: "PC-1".into(),
            name: "Test Person".into(),
            alt_names: vec![],
            sex: None,
            birth_year: None,
            party_holding: None,
            party_of_origin: None,
            last_seen_place: None,
            last_seen_at: None,
            last_seen_on: None,
            status,
            returned_to: None,
            history: vec![],
            notes: None,
        }
    }

    fn ctx() -> ValidationContext {
        ValidationContext { now: now() }
    }

    #[test]
    fn closed_is_final_and_returned_needs_a_party() {
        let mut c = case(CaseKind::Detainee, CaseStatus::Held);
        let t = |s| Transition {
            status: s,
            at: None,
            party: None,
            reason: None,
        };
        assert!(matches!(
            c.transition(t(CaseStatus::Returned), "p", now(), None, None),
            Err(Refused::Invalid(e)) if e.0[0].field == "party"
        ));
        assert!(matches!(
            c.transition(t(CaseStatus::RemainsTransferred), "p", now(), None, None),
            Err(Refused::Conflict(_))
        ));
        c.transition(t(CaseStatus::Closed), "p", now(), None, None)
            .unwrap();
        for s in CaseStatus::ALL {
            assert!(c.transition(t(s), "p", now(), None, None).is_err());
        }
        assert_eq!(c.history.len(), 1);
        c.validate(&ctx()).unwrap();
    }

    #[test]
    fn remains_are_never_alive() {
        let mut c = case(CaseKind::HumanRemains, CaseStatus::Deceased);
        c.validate(&ctx()).unwrap();
        let held = Transition {
            status: CaseStatus::Held,
            at: None,
            party: None,
            reason: None,
        };
        assert!(matches!(
            c.transition(held, "p", now(), None, None),
            Err(Refused::Conflict(_))
        ));
        let bad = case(CaseKind::HumanRemains, CaseStatus::Held);
        assert_eq!(bad.validate(&ctx()).unwrap_err().0[0].field, "status");
    }

    #[test]
    fn exchange_moves_every_case_or_none() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let ids = [Uuid::from_u128(10), Uuid::from_u128(11)];
        let x = Exchange {
            at: "2026-11-20T10:00:00Z".parse().unwrap(),
            place: "Crossing point".into(),
            location: None,
            facilitator: None,
            agreement: None,
            legs: vec![ExchangeLeg {
                from_party: a,
                to_party: b,
                persons: 5,
                remains: 0,
                cases: ids.to_vec(),
            }],
            notes: None,
        };
        x.validate(&ctx()).unwrap();
        let mut cases = vec![
            (ids[0], case(CaseKind::PrisonerOfWar, CaseStatus::Held)),
            (ids[1], case(CaseKind::PrisonerOfWar, CaseStatus::Held)),
        ];
        x.apply_to_cases(Uuid::nil(), &mut cases, "p", now())
            .unwrap();
        assert!(cases.iter().all(|(_, c)| c.status == CaseStatus::Returned
            && c.returned_to == Some(b)
            && c.validate(&ctx()).is_ok()));
        // A second time, both are already returned: refused.
        assert!(matches!(
            x.apply_to_cases(Uuid::nil(), &mut cases, "p", now()),
            Err(Refused::Conflict(_))
        ));
        let totals = exchange_totals([&x], Period::Month, None, None);
        assert_eq!(totals.len(), 1);
        assert_eq!((totals[0].persons, totals[0].exchanges), (5, 1));
    }

    #[test]
    fn redaction_hides_names_from_other_roles() {
        let c = serde_json::to_value(case(CaseKind::MissingPerson, CaseStatus::Missing)).unwrap();
        let r = redact(EntityKind::PersonCase, &c, Role::Analyst);
        assert_eq!(r["name"], REDACTED);
        let r = redact(EntityKind::PersonCase, &c, Role::Protection);
        assert_eq!(r["name"], "Test Person");
    }

    fn status() -> impl Strategy<Value = CaseStatus> {
        prop::sample::select(CaseStatus::ALL.to_vec())
    }

    fn kind() -> impl Strategy<Value = CaseKind> {
        prop::sample::select(vec![
            CaseKind::Detainee,
            CaseKind::PrisonerOfWar,
            CaseKind::CivilianHeld,
            CaseKind::MissingPerson,
            CaseKind::HumanRemains,
        ])
    }

    proptest! {
        /// Whatever transitions are tried, a case only ever moves along the
        /// table, a refused move changes nothing, the history chains from
        /// an initial status to the current one, and the record stays valid.
        #[test]
        fn state_machine_holds(k in kind(), moves in prop::collection::vec((status(), any::<bool>()), 0..25)) {
            let mut c = case(k, k.initial()[0]);
            let mut at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            for (s, with_party) in moves {
                at += jiff::SignedDuration::from_hours(1);
                let before = c.clone();
                let t = Transition { status: s, at: Some(at), party: with_party.then_some(Uuid::from_u128(7)), reason: None };
                let allowed = can_transition(k, c.status, s) && with_party == s.needs_party();
                match c.transition(t, "p", now(), None, None) {
                    Ok(()) => { prop_assert!(allowed); prop_assert_eq!(c.status, s); }
                    Err(_) => { prop_assert!(!allowed); prop_assert_eq!(&c, &before); }
                }
                prop_assert!(c.validate(&ctx()).is_ok(), "{:?}", c.validate(&ctx()));
                prop_assert!(k.allows(c.status));
            }
            if c.status == CaseStatus::Closed { prop_assert!(c.status.next().is_empty()); }
        }

        /// Exchange totals equal a naive sum over legs.
        #[test]
        fn exchange_totals_match_naive(legs in prop::collection::vec((0u128..3, 0u128..3, 0u32..50, 0u32..5, 0i64..90), 1..20)) {
            let base: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            let xs: Vec<Exchange> = legs.iter().map(|(f, t, p, r, day)| Exchange {
                at: base + jiff::SignedDuration::from_hours(24 * day),
                place: "X".into(), location: None, facilitator: None, agreement: None,
                legs: vec![ExchangeLeg { from_party: Uuid::from_u128(*f), to_party: Uuid::from_u128(*t), persons: *p, remains: *r, cases: vec![] }],
                notes: None,
            }).collect();
            let totals = exchange_totals(&xs, Period::Month, None, None);
            for party in 0u128..3 {
                let naive: u64 = legs.iter().filter(|l| l.1 == party).map(|l| u64::from(l.2)).sum();
                let got: u64 = totals.iter().filter(|t| t.to_party == Uuid::from_u128(party)).map(|t| t.persons).sum();
                prop_assert_eq!(naive, got);
            }
        }
    }
}
