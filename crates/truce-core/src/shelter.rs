//! Shelter, displacement and returns: sites with day and night capacity,
//! household registrations as counts by sex and age band (children under 18
//! apart, no names), check-in and check-out, occupancy over time, and
//! displacement and return flows with their totals.
//!
//! Personal data is minimised on purpose: a registration holds a household
//! code and counts, never a name. Names belong to people cases
//! ([`crate::people`]), readable by the protection role only.

use jiff::civil::Date;
use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::LatLon;
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::time::check_plausible;

/// Why a module action (check-out, case transition, exchange, provision
/// status) is refused: bad input (HTTP 422, naming the field) or a request
/// that does not fit the record's current state (HTTP 409). Either way
/// nothing is written. Shared by the shelter, people and agreements modules.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// The request is malformed or breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The request conflicts with the record's state.
    #[error("{0}")]
    Conflict(String),
}

impl Refused {
    /// A 422 refusal for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Refused {
        Refused::Invalid(ValidationErrors::one(field, message))
    }

    /// A 409 refusal.
    pub fn conflict(message: impl Into<String>) -> Refused {
        Refused::Conflict(message.into())
    }
}

/// Midnight UTC at the start of `d`.
pub fn day_start(d: Date) -> Timestamp {
    d.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MIN)
}

/// The UTC date of `t`.
pub fn utc_date(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

pub(crate) fn check_date(d: Date, now: Timestamp, field: &str, errs: &mut ValidationErrors) {
    check_plausible(day_start(d), now, field, errs);
}

/// Replaces `keys` of `submitted` by those of `existing` (or removes them
/// on create): fields only a module action may set.
pub(crate) fn keep_keys(
    submitted: &mut serde_json::Value,
    existing: Option<&serde_json::Value>,
    keys: &[&str],
) {
    if let serde_json::Value::Object(m) = submitted {
        for k in keys {
            match existing.and_then(|e| e.get(*k)) {
                Some(v) => m.insert((*k).into(), v.clone()),
                None => m.remove(*k),
            };
        }
    }
}

/// What sort of shelter a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SiteKind {
    /// The mission's own base camp, sheltering people in an emergency.
    BaseCamp,
    /// A collective centre (school, dormitory, sports hall).
    CollectiveCentre,
    /// A transit or reception centre.
    TransitCentre,
    /// Anything else.
    Other,
}

/// Whether a site takes people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SiteStatus {
    /// Taking people in.
    #[default]
    Open,
    /// No new check-ins.
    Closed,
}

/// A shelter site with its capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShelterSite {
    /// Name.
    pub name: String,
    /// What sort of site.
    pub kind: SiteKind,
    /// Where it is.
    pub location: LatLon,
    /// People it can hold by day.
    pub capacity_day: u32,
    /// People it can sleep at night (the binding limit).
    pub capacity_night: u32,
    /// Who runs it.
    #[serde(default)]
    pub operator: Option<Uuid>,
    /// Open or closed to check-ins.
    #[serde(default)]
    pub status: SiteStatus,
    /// Since when it shelters people.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub opened_on: Option<Date>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Largest capacity a site may declare.
pub const MAX_CAPACITY: u32 = 1_000_000;

impl Record for ShelterSite {
    const KIND: EntityKind = EntityKind::ShelterSite;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        for (v, f) in [
            (self.capacity_day, "capacity_day"),
            (self.capacity_night, "capacity_night"),
        ] {
            if v > MAX_CAPACITY {
                e.push(f, format!("is above {MAX_CAPACITY}"));
            }
        }
        if let Some(d) = self.opened_on {
            check_date(d, ctx.now, "opened_on", &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        IndexFields {
            bbox: Some([lon, lat, lon, lat]),
            geometry: Some(self.location.to_geojson()),
            category: Some(serde_name(&self.kind)),
            status: Some(serde_name(&self.status)),
            text: self.name.to_lowercase(),
            refs: self.operator.into_iter().collect(),
            quantity: Some(f64::from(self.capacity_night)),
            ..Default::default()
        }
    }
}

/// Persons of one sex by age band; children are the first two bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgeBands {
    /// Aged 0-4.
    #[serde(default)]
    pub age_0_4: u32,
    /// Aged 5-17.
    #[serde(default)]
    pub age_5_17: u32,
    /// Aged 18-59.
    #[serde(default)]
    pub age_18_59: u32,
    /// Aged 60 and over.
    #[serde(default)]
    pub age_60_plus: u32,
}

impl AgeBands {
    /// Everyone.
    pub fn total(&self) -> u64 {
        u64::from(self.age_0_4)
            + u64::from(self.age_5_17)
            + u64::from(self.age_18_59)
            + u64::from(self.age_60_plus)
    }

    /// Children under 18.
    pub fn children(&self) -> u64 {
        u64::from(self.age_0_4) + u64::from(self.age_5_17)
    }
}

/// Counts by sex and age band (the SADD of humanitarian practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Demographics {
    /// Women and girls.
    #[serde(default)]
    pub female: AgeBands,
    /// Men and boys.
    #[serde(default)]
    pub male: AgeBands,
}

impl Demographics {
    /// Everyone.
    pub fn total(&self) -> u64 {
        self.female.total() + self.male.total()
    }

    /// Children under 18.
    pub fn children(&self) -> u64 {
        self.female.children() + self.male.children()
    }
}

/// Displacement status of a household (DESIGN.md vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DisplacementStatus {
    /// Lives here; sheltering temporarily.
    Resident,
    /// Internally displaced.
    Idp,
    /// Crossed an international border.
    Refugee,
    /// Back home or on the way.
    Returnee,
}

/// Whether a household is in the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RegistrationStatus {
    /// In the site.
    #[default]
    CheckedIn,
    /// Left (check-out action only).
    CheckedOut,
}

/// Largest household accepted in one registration.
pub const MAX_HOUSEHOLD: u64 = 100;
/// Longest household code.
pub const MAX_HOUSEHOLD_CODE: usize = 40;

/// One household's stay at a site: counts only, no names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShelterRegistration {
    /// The site.
    pub site: Uuid,
    /// A household code from the registration card (not a name).
    #[serde(default)]
    pub household: Option<String>,
    /// People in the household by sex and age band.
    pub people: Demographics,
    /// Displacement status.
    pub displacement_status: DisplacementStatus,
    /// Where they came from (a place, not an address).
    #[serde(default)]
    pub origin: Option<String>,
    /// When they arrived.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub checked_in_at: Timestamp,
    /// In or out; changed by the check-out action only.
    #[serde(default)]
    pub status: RegistrationStatus,
    /// When they left (check-out action only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub checked_out_at: Option<Timestamp>,
    /// Where they went (check-out action only).
    #[serde(default)]
    pub checked_out_to: Option<String>,
    /// Notes (no personal data).
    #[serde(default)]
    pub notes: Option<String>,
}

impl ShelterRegistration {
    /// Fields only the check-out action may set.
    pub const ACTION_FIELDS: [&'static str; 3] = ["status", "checked_out_at", "checked_out_to"];

    /// Whether the household is in the site at `t`.
    pub fn present_at(&self, t: Timestamp) -> bool {
        self.checked_in_at <= t && self.checked_out_at.is_none_or(|o| o > t)
    }

    /// Checks the household out at `at`; refused if already out.
    pub fn check_out(
        &mut self,
        at: Timestamp,
        to: Option<String>,
        now: Timestamp,
    ) -> Result<(), Refused> {
        if self.status == RegistrationStatus::CheckedOut {
            return Err(Refused::conflict(format!(
                "the household already checked out at {}",
                self.checked_out_at
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            )));
        }
        let mut e = ValidationErrors::default();
        check_plausible(at, now, "at", &mut e);
        if at < self.checked_in_at {
            e.push(
                "at",
                format!("is before the check-in at {}", self.checked_in_at),
            );
        }
        if let Some(t) = &to {
            check_name(t, "to", &mut e);
        }
        e.into_result()?;
        self.status = RegistrationStatus::CheckedOut;
        self.checked_out_at = Some(at);
        self.checked_out_to = to;
        Ok(())
    }
}

impl Record for ShelterRegistration {
    const KIND: EntityKind = EntityKind::ShelterRegistration;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if let Some(h) = &self.household {
            check_name(h, "household", &mut e);
            if h.chars().count() > MAX_HOUSEHOLD_CODE {
                e.push(
                    "household",
                    format!("is a code of at most {MAX_HOUSEHOLD_CODE} characters, not a name"),
                );
            }
        }
        let n = self.people.total();
        if n == 0 {
            e.push("people", "must count at least one person");
        } else if n > MAX_HOUSEHOLD {
            e.push(
                "people",
                format!("counts {n} persons; a household has at most {MAX_HOUSEHOLD}"),
            );
        }
        if let Some(o) = &self.origin {
            check_name(o, "origin", &mut e);
        }
        check_plausible(self.checked_in_at, ctx.now, "checked_in_at", &mut e);
        match (self.status, self.checked_out_at) {
            (RegistrationStatus::CheckedOut, None) => {
                e.push("checked_out_at", "is required when checked out")
            }
            (RegistrationStatus::CheckedIn, Some(_)) => {
                e.push("checked_out_at", "must be empty while checked in")
            }
            (_, Some(o)) if o < self.checked_in_at => {
                e.push("checked_out_at", "is before checked_in_at")
            }
            _ => {}
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.checked_in_at),
            // Open stays reach into the future, so `from` filters find them.
            time_end: Some(self.checked_out_at.unwrap_or(Timestamp::MAX)),
            category: Some(serde_name(&self.displacement_status)),
            status: Some(serde_name(&self.status)),
            text: format!(
                "{} {}",
                self.household.as_deref().unwrap_or(""),
                self.origin.as_deref().unwrap_or("")
            )
            .to_lowercase(),
            refs: vec![self.site],
            quantity: Some(self.people.total() as f64),
            ..Default::default()
        }
    }
}

/// Who is in a site at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Occupancy {
    /// Persons.
    pub persons: u64,
    /// Of whom children under 18.
    pub children: u64,
    /// Women and girls.
    pub female: u64,
    /// Men and boys.
    pub male: u64,
    /// Households.
    pub households: u64,
}

/// Occupancy of a site at `t` from its registrations.
pub fn occupancy_at<'a>(
    regs: impl IntoIterator<Item = &'a ShelterRegistration>,
    t: Timestamp,
) -> Occupancy {
    let mut o = Occupancy::default();
    for r in regs.into_iter().filter(|r| r.present_at(t)) {
        o.persons += r.people.total();
        o.children += r.people.children();
        o.female += r.people.female.total();
        o.male += r.people.male.total();
        o.households += 1;
    }
    o
}

/// Share of night capacity at which a warning is given before it is full.
pub const NEAR_CAPACITY: f64 = 0.9;

/// Warnings about a site's occupancy against its capacity.
pub fn capacity_warnings(site: &ShelterSite, o: &Occupancy) -> Vec<String> {
    let mut w = Vec::new();
    let night = u64::from(site.capacity_night);
    let day = u64::from(site.capacity_day);
    if o.persons > night {
        w.push(format!(
            "over night capacity: {} persons for {night} places",
            o.persons
        ));
    } else if night > 0 && o.persons as f64 >= NEAR_CAPACITY * night as f64 {
        w.push(format!(
            "near night capacity: {} persons for {night} places",
            o.persons
        ));
    }
    if o.persons > day {
        w.push(format!(
            "over day capacity: {} persons for {day} places",
            o.persons
        ));
    }
    w
}

/// Most days an occupancy series may span.
pub const MAX_SERIES_DAYS: i64 = 1_000;

/// Occupancy at the end of each UTC day from `from` to `to` inclusive (at
/// most [`MAX_SERIES_DAYS`] days; later days are cut).
pub fn occupancy_series(
    regs: &[ShelterRegistration],
    from: Date,
    to: Date,
) -> Vec<(Date, Occupancy)> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to && (out.len() as i64) < MAX_SERIES_DAYS {
        let Ok(next) = d.tomorrow() else { break };
        // The end of day d is the instant before the next day starts.
        let end = day_start(next) - jiff::SignedDuration::from_nanos(1);
        out.push((d, occupancy_at(regs, end)));
        d = next;
    }
    out
}

/// Whether a movement is people leaving home or coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MovementKind {
    /// Leaving home (displacement).
    Displacement,
    /// Going home (return).
    Return,
}

/// How sure the mission is that a flow happened as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlowVerification {
    /// Reported, not checked.
    #[default]
    Reported,
    /// Seen or confirmed by the mission.
    Verified,
    /// Found not to have happened as reported (left out of totals).
    Refuted,
}

/// Largest flow one record may carry.
pub const MAX_FLOW: u32 = 10_000_000;

/// A flow of people from one place to another on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Movement {
    /// Displacement or return.
    pub kind: MovementKind,
    /// The day it happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    /// Where from (place name).
    pub from_place: String,
    /// Where from (position).
    #[serde(default)]
    pub from: Option<LatLon>,
    /// Where to (place name).
    pub to_place: String,
    /// Where to (position).
    #[serde(default)]
    pub to: Option<LatLon>,
    /// How many people.
    pub persons: u32,
    /// The same people by sex and age band, when known; must add up.
    #[serde(default)]
    pub people: Option<Demographics>,
    /// Verified or not.
    #[serde(default)]
    pub verification: FlowVerification,
    /// Parties concerned (e.g. the authority of the place of return).
    #[serde(default)]
    pub parties: Vec<Uuid>,
    /// Who reported it.
    #[serde(default)]
    pub source: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for Movement {
    const KIND: EntityKind = EntityKind::Movement;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_date(self.date, ctx.now, "date", &mut e);
        check_name(&self.from_place, "from_place", &mut e);
        check_name(&self.to_place, "to_place", &mut e);
        for (p, f) in [(&self.from, "from"), (&self.to, "to")] {
            if let Some(p) = p
                && let Err(le) = p.validate()
            {
                e.nest(f, le);
            }
        }
        if self.persons == 0 {
            e.push("persons", "must be at least 1");
        } else if self.persons > MAX_FLOW {
            e.push("persons", format!("is above {MAX_FLOW}"));
        }
        if let Some(d) = &self.people
            && d.total() != u64::from(self.persons)
        {
            e.push(
                "people",
                format!("adds up to {} but persons is {}", d.total(), self.persons),
            );
        }
        if let Some(s) = &self.source {
            check_name(s, "source", &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let t = day_start(self.date);
        let geometry = match (self.from, self.to) {
            (Some(a), Some(b)) => Some(serde_json::json!({
                "type": "LineString", "coordinates": [[a.lon, a.lat], [b.lon, b.lat]]
            })),
            (Some(p), None) | (None, Some(p)) => Some(p.to_geojson()),
            (None, None) => None,
        };
        let pts: Vec<LatLon> = self.from.into_iter().chain(self.to).collect();
        let bbox = (!pts.is_empty()).then(|| {
            let f = |g: fn(&LatLon) -> f64, min: bool| {
                pts.iter()
                    .map(g)
                    .fold(if min { f64::MAX } else { f64::MIN }, |a, b| {
                        if min { a.min(b) } else { a.max(b) }
                    })
            };
            [
                f(|p| p.lon, true),
                f(|p| p.lat, true),
                f(|p| p.lon, false),
                f(|p| p.lat, false),
            ]
        });
        IndexFields {
            time_start: Some(t),
            time_end: Some(t),
            bbox,
            geometry,
            category: Some(serde_name(&self.kind)),
            status: Some(serde_name(&self.verification)),
            parties: self.parties.clone(),
            text: format!("{} {}", self.from_place, self.to_place).to_lowercase(),
            quantity: Some(f64::from(self.persons)),
            ..Default::default()
        }
    }
}

/// Totals of flows: "N people returned home since D".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowTotals {
    /// Flows counted (refuted ones are left out).
    pub movements: u64,
    /// Persons in them.
    pub persons: u64,
    /// Of whom in verified flows.
    pub verified_persons: u64,
    /// Children under 18, where flows were counted by age.
    pub children: u64,
}

/// Totals of the flows of `kind` dated from `since` to `until` (inclusive;
/// either open), leaving out refuted ones.
pub fn flow_totals<'a>(
    flows: impl IntoIterator<Item = &'a Movement>,
    kind: MovementKind,
    since: Option<Date>,
    until: Option<Date>,
) -> FlowTotals {
    let mut t = FlowTotals::default();
    for m in flows {
        if m.kind != kind
            || m.verification == FlowVerification::Refuted
            || since.is_some_and(|s| m.date < s)
            || until.is_some_and(|u| m.date > u)
        {
            continue;
        }
        t.movements += 1;
        t.persons += u64::from(m.persons);
        if m.verification == FlowVerification::Verified {
            t.verified_persons += u64::from(m.persons);
        }
        t.children += m.people.map_or(0, |d| d.children());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx() -> ValidationContext {
        ValidationContext {
            now: "2026-11-21T12:00:00Z".parse().unwrap(),
        }
    }

    fn reg(n_girls: u32, n_women: u32, at: &str) -> ShelterRegistration {
        ShelterRegistration {
            site: Uuid::nil(),
            household: Some("HH-1".into()),
            people: Demographics {
                female: AgeBands {
                    age_5_17: n_girls,
                    age_18_59: n_women,
                    ..Default::default()
                },
                male: AgeBands::default(),
            },
            displacement_status: DisplacementStatus::Idp,
            origin: None,
            checked_in_at: at.parse().unwrap(),
            status: RegistrationStatus::CheckedIn,
            checked_out_at: None,
            checked_out_to: None,
            notes: None,
        }
    }

    #[test]
    fn registration_needs_people_and_names_no_one() {
        let e = EntityKind::ShelterRegistration
            .validate_json(
                json!({"site": Uuid::nil(), "people": {}, "displacement_status": "idp",
                       "checked_in_at": "2026-11-20T10:00:00Z"}),
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(e.0[0].field, "people");
        let e = EntityKind::ShelterRegistration
            .validate_json(
                json!({"site": Uuid::nil(), "people": {"female": {"age_18_59": 1}},
                       "displacement_status": "idp", "checked_in_at": "2026-11-20T10:00:00Z",
                       "name": "Someone"}),
                &ctx(),
            )
            .unwrap_err();
        assert!(e.0[0].message.contains("unknown field"), "{e}");
    }

    #[test]
    fn check_out_twice_is_a_conflict() {
        let mut r = reg(2, 1, "2026-11-10T08:00:00Z");
        let now = ctx().now;
        assert!(matches!(
            r.check_out("2026-11-09T08:00:00Z".parse().unwrap(), None, now),
            Err(Refused::Invalid(_))
        ));
        r.check_out("2026-11-12T08:00:00Z".parse().unwrap(), None, now)
            .unwrap();
        assert!(matches!(
            r.check_out("2026-11-13T08:00:00Z".parse().unwrap(), None, now),
            Err(Refused::Conflict(_))
        ));
    }

    #[test]
    fn occupancy_counts_children_apart_and_warns() {
        let mut a = reg(2, 1, "2026-11-10T08:00:00Z");
        let b = reg(0, 2, "2026-11-11T08:00:00Z");
        a.check_out("2026-11-12T08:00:00Z".parse().unwrap(), None, ctx().now)
            .unwrap();
        let regs = vec![a, b];
        let o = occupancy_at(&regs, "2026-11-11T12:00:00Z".parse().unwrap());
        assert_eq!((o.persons, o.children, o.households), (5, 2, 2));
        let s = occupancy_series(
            &regs,
            "2026-11-09".parse().unwrap(),
            "2026-11-12".parse().unwrap(),
        );
        let persons: Vec<u64> = s.iter().map(|(_, o)| o.persons).collect();
        assert_eq!(persons, vec![0, 3, 5, 2]);
        let site = ShelterSite {
            name: "Camp".into(),
            kind: SiteKind::BaseCamp,
            location: LatLon {
                lat: 40.0,
                lon: 46.0,
            },
            capacity_day: 10,
            capacity_night: 4,
            operator: None,
            status: SiteStatus::Open,
            opened_on: None,
            notes: None,
        };
        assert!(capacity_warnings(&site, &o)[0].starts_with("over night"));
    }

    proptest! {
        /// Occupancy at any instant equals the naive count of stays that
        /// contain it, and check-in/check-out never goes backwards.
        #[test]
        fn occupancy_matches_naive(stays in prop::collection::vec((0i64..100, 0i64..100, 1u32..6, any::<bool>()), 0..30), probe in 0i64..220) {
            let base: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            let now = ctx().now;
            let h = |n: i64| base + jiff::SignedDuration::from_hours(n);
            let mut regs = Vec::new();
            for (start, len, n, out) in &stays {
                let mut r = reg(0, *n, "2026-01-01T00:00:00Z");
                r.checked_in_at = h(*start);
                if *out {
                    r.check_out(h(start + len), None, now).unwrap();
                    prop_assert!(r.check_out(h(start + len + 1), None, now).is_err());
                }
                regs.push(r);
            }
            let t = h(probe);
            let naive: u64 = stays.iter().filter(|(s, l, _, out)| *s <= probe && (!out || s + l > probe)).map(|(_, _, n, _)| u64::from(*n)).sum();
            prop_assert_eq!(occupancy_at(&regs, t).persons, naive);
        }
    }
}
