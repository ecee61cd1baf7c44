//! Mine action in IMAS vocabulary: suspected and confirmed hazardous areas,
//! the minefield records parties hand over, survey and clearance tasks, land
//! release (cancelled, reduced, cleared, in m²), accidents and victims, and
//! release certificates.
//!
//! The one cross-record rule lives in [`HazardArea::apply_release`]: a
//! hazard area never releases more land than it has. Servers write the
//! release and the area's new totals in one atomic change, checked against
//! the version they read.

use geo::GeodesicArea;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::{Area, LatLon};
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::refusal::Refusal;
use crate::time::check_plausible;

/// Areas are compared to this many m²: inputs are rounded to centimetres²,
/// so sums of them differ from exact arithmetic by far less.
pub const EPS_M2: f64 = 0.005;

/// Rounds an area to 0.01 m².
pub fn round_m2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Suspected (SHA) or confirmed (CHA) hazardous area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HazardClass {
    /// Suspected hazardous area: indirect evidence only.
    Suspected,
    /// Confirmed hazardous area: direct evidence of explosive ordnance.
    Confirmed,
}

/// Where a hazard area stands (IMAS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HazardStatus {
    /// Known, no land released yet.
    Open,
    /// Part of the land has been released.
    InProgress,
    /// All of the land has been released.
    Closed,
    /// Certified and handed over to the community.
    HandedOver,
}

/// Explosive ordnance by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrdnanceCategory {
    /// Anti-personnel mine.
    ApMine,
    /// Anti-tank (anti-vehicle) mine.
    AtMine,
    /// Unexploded ordnance.
    Uxo,
    /// Abandoned explosive ordnance.
    Axo,
    /// Cluster submunition.
    ClusterSubmunition,
    /// Improvised explosive device.
    Ied,
}

/// How the mission learned of a hazard area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HazardSource {
    /// Digitised from a minefield record handed over by a party.
    MinefieldRecord,
    /// Non-technical survey.
    NonTechnicalSurvey,
    /// Technical survey.
    TechnicalSurvey,
    /// An accident.
    Accident,
    /// Reported by the community.
    CommunityReport,
    /// Anything else.
    Other,
}

/// Land released from a hazard area so far, by method (m²).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleasedTotals {
    /// Cancelled by non-technical survey.
    #[serde(default)]
    pub cancelled_m2: f64,
    /// Reduced by technical survey.
    #[serde(default)]
    pub reduced_m2: f64,
    /// Cleared.
    #[serde(default)]
    pub cleared_m2: f64,
}

impl ReleasedTotals {
    /// All land released.
    pub fn total_m2(&self) -> f64 {
        self.cancelled_m2 + self.reduced_m2 + self.cleared_m2
    }
}

/// A suspected or confirmed hazardous area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HazardArea {
    /// Reference, e.g. `CHA-0042`.
    pub code: String,
    /// Local name.
    #[serde(default)]
    pub name: Option<String>,
    /// Suspected or confirmed.
    pub classification: HazardClass,
    /// The outline.
    pub area: Area,
    /// Surveyed size in m²; when absent, the outline's geodesic area.
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// Life-cycle state; set by land release and certification only.
    #[serde(default = "open")]
    pub status: HazardStatus,
    /// Explosive ordnance known or suspected in it.
    #[serde(default)]
    pub contamination: Vec<OrdnanceCategory>,
    /// How it became known.
    pub source: HazardSource,
    /// The minefield record it was digitised from (provenance).
    #[serde(default)]
    pub minefield_record: Option<Uuid>,
    /// The map sheet of that record it was digitised from.
    #[serde(default)]
    pub map_sheet: Option<String>,
    /// The party the contamination is attributed to, if any.
    #[serde(default)]
    pub party: Option<Uuid>,
    /// When it was recorded (first report).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub recorded_at: Option<Timestamp>,
    /// Land released so far; set by land release only.
    #[serde(default)]
    pub released: ReleasedTotals,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

fn open() -> HazardStatus {
    HazardStatus::Open
}

impl HazardArea {
    /// Size in m²: the surveyed size, or the outline's geodesic area.
    pub fn size_m2(&self) -> f64 {
        if let Some(a) = self.area_m2 {
            return a;
        }
        self.area
            .to_geo()
            .map(|mp| round_m2(mp.geodesic_area_unsigned()))
            .unwrap_or(0.0)
    }

    /// Land not yet released, m² (never negative).
    pub fn remaining_m2(&self) -> f64 {
        round_m2((self.size_m2() - self.released.total_m2()).max(0.0))
    }

    /// The area after `release`, or why it may not happen: the release
    /// must be positive and fit into the land not yet released, and an area
    /// already handed over releases nothing more.
    pub fn apply_release(&self, release: &LandRelease) -> Result<HazardArea, Refusal> {
        if !(release.area_m2.is_finite() && release.area_m2 > 0.0) {
            return Err(Refusal::field("area_m2", "must be a positive number of m²"));
        }
        if self.status == HazardStatus::HandedOver {
            return Err(Refusal::conflict(format!(
                "hazard area {} is already handed over; nothing is left to release",
                self.code
            )));
        }
        let remaining = self.remaining_m2();
        if release.area_m2 > remaining + EPS_M2 {
            return Err(Refusal::conflict(format!(
                "releasing {} m² from hazard area {} exceeds the {} m² not yet released (size {} m²)",
                release.area_m2,
                self.code,
                remaining,
                self.size_m2()
            )));
        }
        let mut next = self.clone();
        let m = round_m2(release.area_m2);
        let r = &mut next.released;
        match release.method {
            ReleaseMethod::Cancelled => r.cancelled_m2 = round_m2(r.cancelled_m2 + m),
            ReleaseMethod::Reduced => r.reduced_m2 = round_m2(r.reduced_m2 + m),
            ReleaseMethod::Cleared => r.cleared_m2 = round_m2(r.cleared_m2 + m),
        }
        next.status = if next.remaining_m2() <= EPS_M2 {
            HazardStatus::Closed
        } else {
            HazardStatus::InProgress
        };
        Ok(next)
    }

    /// The area after certification: only a closed area (all land
    /// released) may be handed over.
    pub fn certify(&self) -> Result<HazardArea, Refusal> {
        match self.status {
            HazardStatus::Closed => {
                let mut next = self.clone();
                next.status = HazardStatus::HandedOver;
                Ok(next)
            }
            HazardStatus::HandedOver => Err(Refusal::conflict(format!(
                "hazard area {} is already handed over",
                self.code
            ))),
            _ => Err(Refusal::conflict(format!(
                "hazard area {} still has {} m² not released; release all of it before certifying",
                self.code,
                self.remaining_m2()
            ))),
        }
    }

    /// Keeps the fields only actions may set as they were (or at their
    /// initial values for a new record).
    pub fn protect(submitted: &mut serde_json::Value, existing: Option<&serde_json::Value>) {
        protect_keys(submitted, existing, &["status", "released"]);
    }
}

/// Replaces `keys` of `submitted` by those of `existing` (or removes them).
pub(crate) fn protect_keys(
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

fn check_m2(v: f64, field: &str, e: &mut ValidationErrors) {
    if !(v.is_finite() && v > 0.0 && v <= 1.0e10) {
        e.push(field, "must be a positive area in m² (at most 10,000 km²)");
    }
}

impl Record for HazardArea {
    const KIND: EntityKind = EntityKind::HazardArea;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        if let Some(n) = &self.name {
            check_name(n, "name", &mut e);
        }
        if let Some(s) = &self.map_sheet {
            check_name(s, "map_sheet", &mut e);
        }
        if let Err(ae) = self.area.to_geo() {
            e.nest("area", ae);
        }
        if let Some(a) = self.area_m2 {
            check_m2(a, "area_m2", &mut e);
        }
        if let Some(t) = self.recorded_at {
            check_plausible(t, ctx.now, "recorded_at", &mut e);
        }
        for (v, f) in [
            (self.released.cancelled_m2, "released.cancelled_m2"),
            (self.released.reduced_m2, "released.reduced_m2"),
            (self.released.cleared_m2, "released.cleared_m2"),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                e.push(f, "must be 0 or more m²");
            }
        }
        if e.0.is_empty() && self.released.total_m2() > self.size_m2() + EPS_M2 {
            e.push(
                "area_m2",
                format!(
                    "{} m² is less than the {} m² already released",
                    self.size_m2(),
                    self.released.total_m2()
                ),
            );
        }
        if self.minefield_record.is_some() && self.source != HazardSource::MinefieldRecord {
            e.push(
                "minefield_record",
                "only applies when source is minefield_record",
            );
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }

    fn index(&self) -> IndexFields {
        let mut tags: Vec<String> = self.contamination.iter().map(serde_name).collect();
        tags.push(serde_name(&self.source));
        IndexFields {
            time_start: self.recorded_at,
            time_end: self.recorded_at,
            bbox: self.area.bbox(),
            geometry: Some(serde_json::to_value(&self.area).expect("ser")),
            category: Some(serde_name(&self.classification)),
            tags,
            status: Some(serde_name(&self.status)),
            parties: self.party.into_iter().collect(),
            text: format!(
                "{} {} {}",
                self.code,
                self.name.as_deref().unwrap_or(""),
                self.notes.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_lowercase(),
            refs: self.minefield_record.into_iter().collect(),
            quantity: Some(self.remaining_m2()),
        }
    }
}

/// A set of minefield records (maps, forms) handed over by a party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinefieldRecord {
    /// Reference of the hand-over, e.g. `MFR-2026-03`.
    pub code: String,
    /// The party that handed them over.
    pub handed_over_by: Uuid,
    /// The organisation that received them (e.g. the national agency).
    #[serde(default)]
    pub received_by: Option<Uuid>,
    /// When they were received.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    /// Number of packages of maps handed over.
    pub packages: u32,
    /// Map sheets included, by their reference.
    #[serde(default)]
    pub sheets: Vec<String>,
    /// Notes (condition, completeness, how they were verified).
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for MinefieldRecord {
    const KIND: EntityKind = EntityKind::MinefieldRecord;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_plausible(self.received_at, ctx.now, "received_at", &mut e);
        if self.packages == 0 {
            e.push("packages", "must be at least 1");
        }
        for (i, s) in self.sheets.iter().enumerate() {
            check_name(s, &format!("sheets[{i}]"), &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.received_at),
            time_end: Some(self.received_at),
            parties: vec![self.handed_over_by],
            text: format!("{} {}", self.code, self.sheets.join(" ")).to_lowercase(),
            refs: self.received_by.into_iter().collect(),
            quantity: Some(f64::from(self.packages)),
            ..Default::default()
        }
    }
}

/// Kind of mine-action task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskType {
    /// Non-technical survey.
    NonTechnicalSurvey,
    /// Technical survey.
    TechnicalSurvey,
    /// Clearance.
    Clearance,
    /// Spot explosive ordnance disposal.
    SpotEod,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskStatus {
    /// Planned.
    Planned,
    /// Teams on site.
    InProgress,
    /// Suspended (weather, security, access).
    Suspended,
    /// Done.
    Completed,
    /// Called off.
    Cancelled,
}

/// Explosive ordnance of one category found and destroyed by a task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrdnanceCount {
    /// Category.
    pub category: OrdnanceCategory,
    /// Items found.
    pub found: u32,
    /// Items destroyed (in situ or after removal).
    pub destroyed: u32,
}

/// A survey, clearance or EOD task on a hazard area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MineTask {
    /// Task reference.
    pub code: String,
    /// The hazard area worked on.
    pub hazard_area: Uuid,
    /// What is done.
    pub task_type: TaskType,
    /// The organisation doing it.
    pub organisation: Uuid,
    /// Where it stands.
    pub status: TaskStatus,
    /// When work started.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<Timestamp>,
    /// When it was completed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<Timestamp>,
    /// Progress, 0..100 %.
    #[serde(default)]
    pub progress_percent: u8,
    /// Ordnance found and destroyed, by category.
    #[serde(default)]
    pub ordnance: Vec<OrdnanceCount>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl MineTask {
    /// Items destroyed, all categories.
    pub fn destroyed(&self) -> u32 {
        self.ordnance.iter().map(|o| o.destroyed).sum()
    }
}

impl Record for MineTask {
    const KIND: EntityKind = EntityKind::MineTask;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        if self.progress_percent > 100 {
            e.push("progress_percent", "must be 0..100");
        }
        if let Some(t) = self.started_at {
            check_plausible(t, ctx.now, "started_at", &mut e);
        }
        if let Some(t) = self.completed_at {
            check_plausible(t, ctx.now, "completed_at", &mut e);
            if self.started_at.is_some_and(|s| t < s) {
                e.push("completed_at", "is before started_at");
            }
        }
        match self.status {
            TaskStatus::Completed => {
                if self.completed_at.is_none() {
                    e.push("completed_at", "is required when status is completed");
                }
                if self.progress_percent != 100 {
                    e.push("progress_percent", "must be 100 when status is completed");
                }
            }
            TaskStatus::InProgress | TaskStatus::Suspended if self.started_at.is_none() => {
                e.push("started_at", "is required once work has started");
            }
            _ => {}
        }
        let mut seen = Vec::new();
        for (i, o) in self.ordnance.iter().enumerate() {
            if o.destroyed > o.found {
                e.push(
                    format!("ordnance[{i}].destroyed"),
                    "is more than were found",
                );
            }
            if seen.contains(&o.category) {
                e.push(format!("ordnance[{i}].category"), "appears twice");
            }
            seen.push(o.category);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: self.started_at,
            time_end: self.completed_at.or(self.started_at),
            category: Some(serde_name(&self.task_type)),
            tags: self
                .ordnance
                .iter()
                .map(|o| serde_name(&o.category))
                .collect(),
            status: Some(serde_name(&self.status)),
            text: format!("{} {}", self.code, self.notes.as_deref().unwrap_or(""))
                .trim_end()
                .to_lowercase(),
            refs: vec![self.hazard_area, self.organisation],
            quantity: Some(f64::from(self.destroyed())),
            ..Default::default()
        }
    }
}

/// How land was released (IMAS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReleaseMethod {
    /// Cancelled by non-technical survey.
    Cancelled,
    /// Reduced by technical survey.
    Reduced,
    /// Cleared.
    Cleared,
}

/// Land released from a hazard area; written only through the release
/// action, which also updates the area's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LandRelease {
    /// The hazard area.
    pub hazard_area: Uuid,
    /// The task that released it.
    #[serde(default)]
    pub task: Option<Uuid>,
    /// How.
    pub method: ReleaseMethod,
    /// How much, m².
    pub area_m2: f64,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub released_at: Timestamp,
    /// The released part's outline, when surveyed.
    #[serde(default)]
    pub outline: Option<Area>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for LandRelease {
    const KIND: EntityKind = EntityKind::LandRelease;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_m2(self.area_m2, "area_m2", &mut e);
        check_plausible(self.released_at, ctx.now, "released_at", &mut e);
        if let Some(a) = &self.outline
            && let Err(ae) = a.to_geo()
        {
            e.nest("outline", ae);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.released_at),
            time_end: Some(self.released_at),
            bbox: self.outline.as_ref().and_then(Area::bbox),
            geometry: self
                .outline
                .as_ref()
                .map(|a| serde_json::to_value(a).expect("ser")),
            category: Some(serde_name(&self.method)),
            text: self.notes.as_deref().unwrap_or("").to_lowercase(),
            refs: std::iter::once(self.hazard_area).chain(self.task).collect(),
            quantity: Some(round_m2(self.area_m2)),
            ..Default::default()
        }
    }
}

/// Victims of a mine or ordnance accident.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Victims {
    /// Killed.
    #[serde(default)]
    pub killed: u32,
    /// Injured.
    #[serde(default)]
    pub injured: u32,
    /// Of those killed or injured, children under 18.
    #[serde(default)]
    pub children: u32,
    /// Of those killed or injured, deminers at work.
    #[serde(default)]
    pub deminers: u32,
}

/// An accident with explosive ordnance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MineAccident {
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: Timestamp,
    /// Where.
    pub location: LatLon,
    /// The hazard area it happened in, if known.
    #[serde(default)]
    pub hazard_area: Option<Uuid>,
    /// The ordnance, if known.
    #[serde(default)]
    pub ordnance: Option<OrdnanceCategory>,
    /// Victims.
    #[serde(default)]
    pub victims: Victims,
    /// What the victims were doing (farming, herding, travelling, clearance).
    #[serde(default)]
    pub activity: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for MineAccident {
    const KIND: EntityKind = EntityKind::MineAccident;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_plausible(self.occurred_at, ctx.now, "occurred_at", &mut e);
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        let v = self.victims;
        if v.children > v.killed + v.injured {
            e.push("victims.children", "is more than killed + injured");
        }
        if v.deminers > v.killed + v.injured {
            e.push("victims.deminers", "is more than killed + injured");
        }
        if let Some(a) = &self.activity {
            check_name(a, "activity", &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        IndexFields {
            time_start: Some(self.occurred_at),
            time_end: Some(self.occurred_at),
            bbox: Some([lon, lat, lon, lat]),
            geometry: Some(self.location.to_geojson()),
            category: self.ordnance.map(|o| serde_name(&o)),
            text: format!(
                "{} {}",
                self.activity.as_deref().unwrap_or(""),
                self.notes.as_deref().unwrap_or("")
            )
            .trim()
            .to_lowercase(),
            refs: self.hazard_area.into_iter().collect(),
            quantity: Some(f64::from(self.victims.killed + self.victims.injured)),
            ..Default::default()
        }
    }
}

/// What released land is handed over for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LandUse {
    /// Homes.
    Housing,
    /// Farming and grazing.
    Agriculture,
    /// Roads, power, water.
    Infrastructure,
    /// Anything else.
    Other,
}

/// A release certificate: a hazard area handed over as safe. Written only
/// through the certification action, which also marks the area handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseCertificate {
    /// Certificate number.
    pub code: String,
    /// The hazard area released.
    pub hazard_area: Uuid,
    /// The released outline (copied from the hazard area by the action), so
    /// the map can show what is safe.
    #[serde(default)]
    pub area: Option<Area>,
    /// Who certified it (name and function).
    pub certified_by: String,
    /// Their organisation (e.g. the national authority).
    #[serde(default)]
    pub organisation: Option<Uuid>,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub certified_at: Timestamp,
    /// Who received the land (community, municipality).
    #[serde(default)]
    pub handed_over_to: Option<String>,
    /// What the land may be used for.
    #[serde(default)]
    pub land_use: Vec<LandUse>,
    /// Evidence: survey reports, completion reports, photographs (references).
    pub evidence: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for ReleaseCertificate {
    const KIND: EntityKind = EntityKind::ReleaseCertificate;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_name(&self.certified_by, "certified_by", &mut e);
        check_plausible(self.certified_at, ctx.now, "certified_at", &mut e);
        if let Some(a) = &self.area
            && let Err(ae) = a.to_geo()
        {
            e.nest("area", ae);
        }
        if let Some(h) = &self.handed_over_to {
            check_name(h, "handed_over_to", &mut e);
        }
        if self.evidence.is_empty() {
            e.push("evidence", "at least one piece of evidence is required");
        }
        for (i, s) in self.evidence.iter().enumerate() {
            check_name(s, &format!("evidence[{i}]"), &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.certified_at),
            time_end: Some(self.certified_at),
            bbox: self.area.as_ref().and_then(Area::bbox),
            geometry: self
                .area
                .as_ref()
                .map(|a| serde_json::to_value(a).expect("ser")),
            category: self.land_use.first().map(serde_name),
            tags: self.land_use.iter().skip(1).map(serde_name).collect(),
            status: Some("handed_over".into()),
            text: format!("{} {}", self.code, self.certified_by).to_lowercase(),
            refs: std::iter::once(self.hazard_area)
                .chain(self.organisation)
                .collect(),
            ..Default::default()
        }
    }
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

    fn hazard(size: f64) -> HazardArea {
        serde_json::from_value(json!({
            "code": "CHA-1",
            "classification": "confirmed",
            "area": {"type": "Polygon", "coordinates": [[[46.5, 39.5], [46.51, 39.5], [46.51, 39.51], [46.5, 39.5]]]},
            "area_m2": size,
            "source": "technical_survey",
        }))
        .unwrap()
    }

    fn release(method: ReleaseMethod, m2: f64) -> LandRelease {
        LandRelease {
            hazard_area: Uuid::nil(),
            task: None,
            method,
            area_m2: m2,
            released_at: "2026-11-20T00:00:00Z".parse().unwrap(),
            outline: None,
            notes: None,
        }
    }

    #[test]
    fn geodesic_size_when_no_surveyed_size() {
        let mut h = hazard(1.0);
        h.area_m2 = None;
        // ~ half of 0.01° x 0.01° at 39.5° N: 0.5 * 1113 m * 859 m.
        let s = h.size_m2();
        assert!((470_000.0..490_000.0).contains(&s), "{s}");
    }

    #[test]
    fn release_cannot_exceed_remaining_and_closes_at_zero() {
        let h = hazard(1000.0);
        let h = h
            .apply_release(&release(ReleaseMethod::Cancelled, 600.0))
            .unwrap();
        assert_eq!(h.status, HazardStatus::InProgress);
        let err = h
            .apply_release(&release(ReleaseMethod::Cleared, 400.01))
            .unwrap_err();
        assert!(matches!(err, Refusal::Conflict(_)), "{err}");
        let h = h
            .apply_release(&release(ReleaseMethod::Cleared, 400.0))
            .unwrap();
        assert_eq!(h.status, HazardStatus::Closed);
        assert_eq!(h.remaining_m2(), 0.0);
        let h = h.certify().unwrap();
        assert_eq!(h.status, HazardStatus::HandedOver);
        assert!(h.certify().is_err());
        assert!(
            h.apply_release(&release(ReleaseMethod::Cleared, 1.0))
                .is_err()
        );
    }

    #[test]
    fn certify_refused_while_land_remains() {
        let h = hazard(10.0);
        assert!(matches!(h.certify(), Err(Refusal::Conflict(_))));
    }

    #[test]
    fn shrinking_below_released_is_invalid() {
        let mut h = hazard(1000.0)
            .apply_release(&release(ReleaseMethod::Reduced, 800.0))
            .unwrap();
        h.area_m2 = Some(500.0);
        let v = serde_json::to_value(&h).unwrap();
        let e = EntityKind::HazardArea.validate_json(v, &ctx()).unwrap_err();
        assert_eq!(e.0[0].field, "area_m2");
    }

    #[test]
    fn protect_keeps_status_and_released() {
        let existing = json!({"status": "closed", "released": {"cleared_m2": 5.0}});
        let mut sub = json!({"status": "open", "released": {"cleared_m2": 0.0}, "code": "x"});
        HazardArea::protect(&mut sub, Some(&existing));
        assert_eq!(sub["status"], "closed");
        let mut sub = json!({"status": "handed_over", "code": "x"});
        HazardArea::protect(&mut sub, None);
        assert!(sub.get("status").is_none());
    }

    fn method() -> impl Strategy<Value = ReleaseMethod> {
        prop_oneof![
            Just(ReleaseMethod::Cancelled),
            Just(ReleaseMethod::Reduced),
            Just(ReleaseMethod::Cleared)
        ]
    }

    proptest! {
        /// Whatever sequence of releases and certifications is attempted,
        /// the released land never exceeds the size, equals the sum of the
        /// accepted releases, and the status only moves forward.
        #[test]
        fn releases_never_exceed_size(
            size in 1.0f64..100_000.0,
            ops in proptest::collection::vec((method(), 0.0f64..40_000.0, any::<bool>()), 0..40),
        ) {
            let size = round_m2(size);
            let mut h = hazard(size);
            let mut accepted = 0.0;
            for (m, a, certify) in ops {
                let before = h.status;
                if certify {
                    if let Ok(n) = h.certify() { h = n; }
                } else {
                    let a = round_m2(a);
                    match h.apply_release(&release(m, a)) {
                        Ok(n) => { accepted += a; h = n; }
                        Err(_) => prop_assert!(a <= 0.0 || a > h.remaining_m2() + EPS_M2 - 1e-9 || h.status == HazardStatus::HandedOver),
                    }
                }
                prop_assert!(h.status >= before);
                prop_assert!(h.released.total_m2() <= size + EPS_M2);
                prop_assert!((h.released.total_m2() - accepted).abs() < 1e-6 * (1.0 + accepted));
                prop_assert!(h.remaining_m2() >= 0.0);
                let v = serde_json::to_value(&h).unwrap();
                prop_assert!(EntityKind::HazardArea.validate_json(v, &ctx()).is_ok());
            }
        }
    }
}
