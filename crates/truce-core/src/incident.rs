//! Incidents: ACLED-compatible events, with the fields monitoring missions
//! record for ceasefire violations, UCDP-style deaths by side, NATO source
//! grading and a verification state.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::LatLon;
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::time::check_plausible;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The wire name.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
        }
    };
}

wire_enum! {
    /// ACLED event type.
    EventType {
        /// Armed clashes and territorial changes.
        Battles = "battles",
        /// Shelling, strikes, mines, IEDs.
        ExplosionsRemoteViolence = "explosions_remote_violence",
        /// Attacks on civilians.
        ViolenceAgainstCivilians = "violence_against_civilians",
        /// Demonstrations.
        Protests = "protests",
        /// Violent demonstrations and mob violence.
        Riots = "riots",
        /// Agreements, arrests, base changes and other non-violent events.
        StrategicDevelopments = "strategic_developments",
    }
}

impl EventType {
    /// ACLED's own label, used in ACLED-shaped exports.
    pub fn acled_label(self) -> &'static str {
        match self {
            EventType::Battles => "Battles",
            EventType::ExplosionsRemoteViolence => "Explosions/Remote violence",
            EventType::ViolenceAgainstCivilians => "Violence against civilians",
            EventType::Protests => "Protests",
            EventType::Riots => "Riots",
            EventType::StrategicDevelopments => "Strategic developments",
        }
    }
}

wire_enum! {
    /// ACLED sub-event type; each belongs to exactly one [`EventType`].
    SubEventType {
        /// Battles.
        ArmedClash = "armed_clash",
        /// Battles.
        GovernmentRegainsTerritory = "government_regains_territory",
        /// Battles.
        NonStateActorOvertakesTerritory = "non_state_actor_overtakes_territory",
        /// Explosions/Remote violence.
        ChemicalWeapon = "chemical_weapon",
        /// Explosions/Remote violence.
        AirDroneStrike = "air_drone_strike",
        /// Explosions/Remote violence.
        SuicideBomb = "suicide_bomb",
        /// Explosions/Remote violence.
        ShellingArtilleryMissileAttack = "shelling_artillery_missile_attack",
        /// Explosions/Remote violence.
        RemoteExplosiveLandmineIed = "remote_explosive_landmine_ied",
        /// Explosions/Remote violence.
        Grenade = "grenade",
        /// Violence against civilians.
        SexualViolence = "sexual_violence",
        /// Violence against civilians.
        Attack = "attack",
        /// Violence against civilians.
        AbductionForcedDisappearance = "abduction_forced_disappearance",
        /// Protests.
        PeacefulProtest = "peaceful_protest",
        /// Protests.
        ProtestWithIntervention = "protest_with_intervention",
        /// Protests.
        ExcessiveForceAgainstProtesters = "excessive_force_against_protesters",
        /// Riots.
        ViolentDemonstration = "violent_demonstration",
        /// Riots.
        MobViolence = "mob_violence",
        /// Strategic developments.
        Agreement = "agreement",
        /// Strategic developments.
        Arrests = "arrests",
        /// Strategic developments.
        ChangeToGroupActivity = "change_to_group_activity",
        /// Strategic developments.
        DisruptedWeaponsUse = "disrupted_weapons_use",
        /// Strategic developments.
        HeadquartersOrBaseEstablished = "headquarters_or_base_established",
        /// Strategic developments.
        LootingPropertyDestruction = "looting_property_destruction",
        /// Strategic developments.
        NonViolentTransferOfTerritory = "non_violent_transfer_of_territory",
        /// Strategic developments.
        Other = "other",
    }
}

impl SubEventType {
    /// The event type this sub-event type belongs to.
    pub fn event_type(self) -> EventType {
        use SubEventType::*;
        match self {
            ArmedClash | GovernmentRegainsTerritory | NonStateActorOvertakesTerritory => {
                EventType::Battles
            }
            ChemicalWeapon
            | AirDroneStrike
            | SuicideBomb
            | ShellingArtilleryMissileAttack
            | RemoteExplosiveLandmineIed
            | Grenade => EventType::ExplosionsRemoteViolence,
            SexualViolence | Attack | AbductionForcedDisappearance => {
                EventType::ViolenceAgainstCivilians
            }
            PeacefulProtest | ProtestWithIntervention | ExcessiveForceAgainstProtesters => {
                EventType::Protests
            }
            ViolentDemonstration | MobViolence => EventType::Riots,
            _ => EventType::StrategicDevelopments,
        }
    }
}

wire_enum! {
    /// What an observer registered (monitoring-mission vocabulary).
    ViolationKind {
        /// An explosion.
        Explosion = "explosion",
        /// A projectile seen or heard in flight.
        ProjectileInFlight = "projectile_in_flight",
        /// A muzzle flash.
        MuzzleFlash = "muzzle_flash",
        /// An illumination flare.
        IlluminationFlare = "illumination_flare",
        /// A burst of fire.
        Burst = "burst",
        /// A single shot.
        Shot = "shot",
    }
}

wire_enum! {
    /// The kind of explosion, when the violation is one.
    ExplosionSubtype {
        /// Impact of a round.
        Impact = "impact",
        /// Airburst.
        Airburst = "airburst",
        /// Outgoing fire.
        Outgoing = "outgoing",
        /// Could not be told.
        Undetermined = "undetermined",
    }
}

wire_enum! {
    /// How it was perceived.
    Perception {
        /// Heard only.
        Heard = "heard",
        /// Seen with the naked eye.
        Seen = "seen",
        /// Recorded by a fixed camera.
        Camera = "camera",
        /// Observed by an unmanned aerial vehicle.
        Uav = "uav",
    }
}

wire_enum! {
    /// Where an incident stands in verification.
    VerificationStatus {
        /// Filed, not yet looked at.
        Reported = "reported",
        /// An analyst is working on it.
        UnderVerification = "under_verification",
        /// Confirmed.
        Verified = "verified",
        /// Could not be confirmed either way.
        Unverified = "unverified",
        /// Shown to be false or falsely attributed.
        Refuted = "refuted",
    }
}

wire_enum! {
    /// NATO admiralty code: reliability of the source.
    Reliability {
        /// Completely reliable.
        A = "A",
        /// Usually reliable.
        B = "B",
        /// Fairly reliable.
        C = "C",
        /// Not usually reliable.
        D = "D",
        /// Unreliable.
        E = "E",
        /// Reliability cannot be judged.
        F = "F",
    }
}

/// The observation details of a ceasefire violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CeasefireViolation {
    /// What was registered.
    pub kind: ViolationKind,
    /// Explosion subtype; only when `kind` is `explosion`.
    #[serde(default)]
    pub explosion_subtype: Option<ExplosionSubtype>,
    /// How it was perceived.
    pub perception: Perception,
    /// Weapon assessment, e.g. "122mm artillery", as the observer judged it.
    #[serde(default)]
    pub weapon: Option<String>,
    /// Bearing from the observer, degrees clockwise from north, 0..360.
    #[serde(default)]
    pub direction_deg: Option<f64>,
    /// Nearest estimated distance from the observer, metres.
    #[serde(default)]
    pub distance_min_m: Option<f64>,
    /// Farthest estimated distance from the observer, metres.
    #[serde(default)]
    pub distance_max_m: Option<f64>,
    /// The post that observed it.
    #[serde(default)]
    pub observing_post: Option<Uuid>,
    /// Approximate number of events (e.g. 12 explosions).
    #[serde(default = "one")]
    pub count: u32,
    /// The party the mission attributes it to, when it does.
    #[serde(default)]
    pub attributed_to: Option<Uuid>,
}

fn one() -> u32 {
    1
}

/// UCDP GED-style deaths by side.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deaths {
    /// Deaths on side A.
    #[serde(default)]
    pub side_a: u32,
    /// Deaths on side B.
    #[serde(default)]
    pub side_b: u32,
    /// Civilian deaths.
    #[serde(default)]
    pub civilians: u32,
    /// Deaths that cannot be attributed.
    #[serde(default)]
    pub unknown: u32,
    /// Lowest credible total.
    #[serde(default)]
    pub low: Option<u32>,
    /// Highest credible total.
    #[serde(default)]
    pub high: Option<u32>,
}

impl Deaths {
    /// UCDP's "best" estimate: the sum of the sides.
    pub fn best(&self) -> u32 {
        self.side_a + self.side_b + self.civilians + self.unknown
    }
}

/// NATO source grading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceGrading {
    /// Reliability of the source, A-F.
    pub reliability: Reliability,
    /// Credibility of the information, 1 (confirmed) to 6 (cannot be judged).
    pub credibility: u8,
}

/// Verification state with who set it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    /// Current state.
    pub status: VerificationStatus,
    /// Who set it.
    #[serde(default)]
    pub by: Option<String>,
    /// When.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at: Option<Timestamp>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Default for Verification {
    fn default() -> Self {
        Verification {
            status: VerificationStatus::Reported,
            by: None,
            at: None,
            reason: None,
        }
    }
}

/// An incident: what happened, where, when, who says so, and how sure we are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    /// When it happened (start, for events that lasted).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: Timestamp,
    /// ACLED time precision: 1 = day known, 2 = week, 3 = month.
    #[serde(default = "one_u8")]
    pub time_precision: u8,
    /// ACLED event type.
    pub event_type: EventType,
    /// ACLED sub-event type; must belong to `event_type`.
    pub sub_event_type: SubEventType,
    /// Where.
    pub location: LatLon,
    /// ACLED geo precision: 1 = exact place, 2 = nearby area, 3 = region.
    #[serde(default = "one_u8")]
    pub geo_precision: u8,
    /// Place name as reported.
    #[serde(default)]
    pub location_name: Option<String>,
    /// First-level administrative area.
    #[serde(default)]
    pub admin1: Option<String>,
    /// Main actor as reported (ACLED actor1).
    #[serde(default)]
    pub actor1: Option<String>,
    /// The party `actor1` belongs to.
    #[serde(default)]
    pub actor1_party: Option<Uuid>,
    /// Second actor (ACLED actor2).
    #[serde(default)]
    pub actor2: Option<String>,
    /// The party `actor2` belongs to.
    #[serde(default)]
    pub actor2_party: Option<Uuid>,
    /// Reported fatalities (ACLED).
    #[serde(default)]
    pub fatalities: u32,
    /// Deaths by side (UCDP GED).
    #[serde(default)]
    pub deaths: Option<Deaths>,
    /// Observation details when this is a ceasefire violation.
    #[serde(default)]
    pub ceasefire_violation: Option<CeasefireViolation>,
    /// Where the report came from.
    #[serde(default)]
    pub source: Option<String>,
    /// ACLED source scale, e.g. "Local partner", "National".
    #[serde(default)]
    pub source_scale: Option<String>,
    /// Admiralty grading of source and information.
    #[serde(default)]
    pub source_grading: Option<SourceGrading>,
    /// Verification state; set through the verification action only.
    #[serde(default)]
    pub verification: Verification,
    /// Who is working on it ("who is working on this").
    #[serde(default)]
    pub assignee: Option<String>,
    /// The incident this one duplicates, when merged.
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
    /// Narrative.
    #[serde(default)]
    pub notes: Option<String>,
    /// The intake documents and exact words this incident was taken from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::intake::SourceSpan>,
}

fn one_u8() -> u8 {
    1
}

impl Incident {
    /// Whether this incident is a ceasefire violation.
    pub fn is_violation(&self) -> bool {
        self.ceasefire_violation.is_some()
    }

    /// Whether it counts as a recorded violation in bulletins: a ceasefire
    /// violation not refuted and not merged into another report. The index
    /// says the same (tag [`CEASEFIRE_VIOLATION`], no tag [`DUPLICATE`],
    /// status not `refuted`), so stores count them without reading records.
    pub fn counts_as_violation(&self) -> bool {
        self.ceasefire_violation.is_some()
            && self.verification.status != VerificationStatus::Refuted
            && self.duplicate_of.is_none()
    }
}

/// The tag that marks ceasefire violations in indexes and filters.
pub const CEASEFIRE_VIOLATION: &str = "ceasefire_violation";

/// The tag of incidents merged into another report (`duplicate_of` set), so
/// counts can leave them out from the index alone.
pub const DUPLICATE: &str = "duplicate";

impl Record for Incident {
    const KIND: EntityKind = EntityKind::Incident;

    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_plausible(self.occurred_at, ctx.now, "occurred_at", &mut e);
        if !(1..=3).contains(&self.time_precision) {
            e.push("time_precision", "must be 1 (day), 2 (week) or 3 (month)");
        }
        if !(1..=3).contains(&self.geo_precision) {
            e.push("geo_precision", "must be 1 (exact), 2 (near) or 3 (region)");
        }
        if self.sub_event_type.event_type() != self.event_type {
            e.push(
                "sub_event_type",
                format!(
                    "{} belongs to {}, not {}",
                    self.sub_event_type.as_str(),
                    self.sub_event_type.event_type().as_str(),
                    self.event_type.as_str()
                ),
            );
        }
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        for (v, f) in [
            (&self.location_name, "location_name"),
            (&self.admin1, "admin1"),
            (&self.actor1, "actor1"),
            (&self.actor2, "actor2"),
            (&self.source_scale, "source_scale"),
            (&self.assignee, "assignee"),
        ] {
            if let Some(v) = v {
                check_name(v, f, &mut e);
            }
        }
        check_text(&self.source, "source", &mut e);
        check_text(&self.notes, "notes", &mut e);
        crate::intake::check_sources(&self.sources, "sources", &mut e);
        if let Some(g) = &self.source_grading
            && !(1..=6).contains(&g.credibility)
        {
            e.push("source_grading.credibility", "must be 1..6");
        }
        if let Some(d) = &self.deaths
            && let (Some(lo), Some(hi)) = (d.low, d.high)
            && lo > hi
        {
            e.push("deaths.low", "is greater than deaths.high");
        }
        if let Some(v) = &self.ceasefire_violation {
            if v.explosion_subtype.is_some() && v.kind != ViolationKind::Explosion {
                e.push(
                    "ceasefire_violation.explosion_subtype",
                    "only applies when kind is explosion",
                );
            }
            if let Some(d) = v.direction_deg
                && !(d.is_finite() && (0.0..360.0).contains(&d))
            {
                e.push("ceasefire_violation.direction_deg", "must be in 0..360");
            }
            for (d, f) in [
                (v.distance_min_m, "distance_min_m"),
                (v.distance_max_m, "distance_max_m"),
            ] {
                if let Some(d) = d
                    && !(d.is_finite() && (0.0..=100_000.0).contains(&d))
                {
                    e.push(
                        format!("ceasefire_violation.{f}"),
                        "must be 0..100000 metres",
                    );
                }
            }
            if let (Some(a), Some(b)) = (v.distance_min_m, v.distance_max_m)
                && a > b
            {
                e.push(
                    "ceasefire_violation.distance_min_m",
                    "is greater than distance_max_m",
                );
            }
            if v.count == 0 {
                e.push("ceasefire_violation.count", "must be at least 1");
            }
            if let Some(w) = &v.weapon {
                check_name(w, "ceasefire_violation.weapon", &mut e);
            }
        }
        if let Some(r) = &self.verification.reason {
            check_name(r, "verification.reason", &mut e);
        }
        e.into_result()
    }

    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        let mut parties: Vec<Uuid> = [
            self.actor1_party,
            self.actor2_party,
            self.ceasefire_violation
                .as_ref()
                .and_then(|v| v.attributed_to),
        ]
        .into_iter()
        .flatten()
        .collect();
        parties.sort();
        parties.dedup();
        let mut text = String::new();
        for s in [
            &self.location_name,
            &self.admin1,
            &self.actor1,
            &self.actor2,
            &self.source,
            &self.notes,
        ]
        .into_iter()
        .flatten()
        {
            text.push_str(&s.to_lowercase());
            text.push(' ');
        }
        let mut tags = vec![serde_name(&self.sub_event_type)];
        if let Some(v) = &self.ceasefire_violation {
            tags.push(CEASEFIRE_VIOLATION.into());
            tags.push(v.kind.as_str().into());
        }
        if self.duplicate_of.is_some() {
            tags.push(DUPLICATE.into());
        }
        IndexFields {
            time_start: Some(self.occurred_at),
            time_end: Some(self.occurred_at),
            bbox: Some([lon, lat, lon, lat]),
            geometry: Some(self.location.to_geojson()),
            category: Some(self.event_type.as_str().into()),
            tags,
            status: Some(self.verification.status.as_str().into()),
            parties,
            text: text.trim_end().to_string(),
            refs: self
                .ceasefire_violation
                .as_ref()
                .and_then(|v| v.observing_post)
                .into_iter()
                .chain(self.duplicate_of)
                .chain(self.sources.iter().map(|s| s.document))
                .collect(),
            quantity: Some(
                self.ceasefire_violation
                    .as_ref()
                    .map_or(1.0, |v| f64::from(v.count)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> ValidationContext {
        ValidationContext {
            now: "2026-11-21T12:00:00Z".parse().unwrap(),
        }
    }

    fn sample() -> serde_json::Value {
        json!({
            "occurred_at": "2026-11-20T23:10:00Z",
            "event_type": "explosions_remote_violence",
            "sub_event_type": "shelling_artillery_missile_attack",
            "location": {"lat": 39.82, "lon": 46.75},
            "ceasefire_violation": {"kind": "explosion", "explosion_subtype": "impact", "perception": "heard", "count": 4}
        })
    }

    #[test]
    fn valid_incident_indexes_as_violation() {
        let v = EntityKind::Incident
            .validate_json(sample(), &ctx())
            .unwrap();
        assert_eq!(
            v.index.category.as_deref(),
            Some("explosions_remote_violence")
        );
        assert!(v.index.tags.iter().any(|t| t == CEASEFIRE_VIOLATION));
        assert_eq!(v.index.status.as_deref(), Some("reported"));
    }

    #[test]
    fn the_index_says_whether_an_incident_counts_as_a_violation() {
        for violation in [true, false] {
            for &status in VerificationStatus::ALL {
                for duplicate in [true, false] {
                    let mut v = sample();
                    if !violation {
                        v["event_type"] = json!("strategic_developments");
                        v["sub_event_type"] = json!("other");
                        v.as_object_mut().unwrap().remove("ceasefire_violation");
                    }
                    v["verification"] = json!({"status": status.as_str(), "reason": "checked"});
                    if duplicate {
                        v["duplicate_of"] = json!(uuid::Uuid::nil());
                    }
                    let r = EntityKind::Incident.validate_json(v, &ctx()).unwrap();
                    let i: Incident = serde_json::from_value(r.data.clone()).unwrap();
                    let tagged = |t: &str| r.index.tags.iter().any(|x| x == t);
                    let by_index = tagged(CEASEFIRE_VIOLATION)
                        && !tagged(DUPLICATE)
                        && r.index.status.as_deref() != Some("refuted");
                    assert_eq!(
                        by_index,
                        i.counts_as_violation(),
                        "{violation} {status:?} {duplicate}"
                    );
                    assert_eq!(
                        i.counts_as_violation(),
                        violation && status != VerificationStatus::Refuted && !duplicate
                    );
                }
            }
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("/location/lat", json!(91.0), "location.lat"),
            ("/event_type", json!("alien_invasion"), "event_type"),
            ("/occurred_at", json!("3000-01-01T00:00:00Z"), "occurred_at"),
            ("/location/lat", json!("north"), "location.lat"),
            ("/sub_event_type", json!("armed_clash"), "sub_event_type"),
            (
                "/ceasefire_violation/perception",
                json!("smelled"),
                "ceasefire_violation.perception",
            ),
        ];
        for (ptr, val, field) in cases {
            let mut v = sample();
            *v.pointer_mut(ptr).unwrap() = val;
            let e = EntityKind::Incident.validate_json(v, &ctx()).unwrap_err();
            assert_eq!(e.0[0].field, field, "{ptr}: {e}");
        }
    }

    #[test]
    fn unknown_field_rejected() {
        let mut v = sample();
        v["colour"] = json!("red");
        let e = EntityKind::Incident.validate_json(v, &ctx()).unwrap_err();
        assert!(e.0[0].message.contains("unknown field"), "{e}");
    }

    #[test]
    fn every_sub_event_type_has_a_parent_that_accepts_it() {
        for s in SubEventType::ALL {
            assert!(EventType::ALL.contains(&s.event_type()));
        }
    }
}

/// A request to change an incident's verification, grading or assignee.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationChange {
    /// New state; unchanged when absent.
    #[serde(default)]
    pub status: Option<VerificationStatus>,
    /// Why; required for verified, unverified and refuted.
    #[serde(default)]
    pub reason: Option<String>,
    /// New source grading.
    #[serde(default)]
    pub source_grading: Option<SourceGrading>,
    /// Who takes it on; an empty string clears it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Marks this incident as a duplicate of another (merge).
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
}

impl Incident {
    /// Applies a verification change by `actor` at `now`.
    pub fn apply_verification(
        &mut self,
        change: VerificationChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if let Some(status) = change.status {
            let conclusive = matches!(
                status,
                VerificationStatus::Verified
                    | VerificationStatus::Unverified
                    | VerificationStatus::Refuted
            );
            let reason = change.reason.clone().filter(|r| !r.trim().is_empty());
            if conclusive && reason.is_none() {
                e.push(
                    "reason",
                    format!("is required to mark an incident {}", status.as_str()),
                );
            }
            self.verification = Verification {
                status,
                by: Some(actor.to_string()),
                at: Some(now),
                reason,
            };
        }
        if let Some(g) = change.source_grading {
            self.source_grading = Some(g);
        }
        if let Some(a) = change.assignee {
            self.assignee = (!a.trim().is_empty()).then_some(a);
        }
        if let Some(d) = change.duplicate_of {
            self.duplicate_of = Some(d);
        }
        e.into_result()
    }
}
