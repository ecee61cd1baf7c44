//! The mission's standing records: the mission, parties, organisations,
//! areas of responsibility, observation posts and patrols.

use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::{Area, LatLon, Path};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};

/// Longest free-text field accepted (a day's situation report fits).
pub const MAX_TEXT: usize = 20_000;
/// Longest name or code.
pub const MAX_NAME: usize = 300;

pub(crate) fn check_name(v: &str, field: &str, errs: &mut ValidationErrors) {
    if v.trim().is_empty() {
        errs.push(field, "must not be empty");
    } else if v.chars().count() > MAX_NAME {
        errs.push(field, format!("is longer than {MAX_NAME} characters"));
    }
}

pub(crate) fn check_text(v: &Option<String>, field: &str, errs: &mut ValidationErrors) {
    if let Some(v) = v
        && v.chars().count() > MAX_TEXT
    {
        errs.push(field, format!("is longer than {MAX_TEXT} characters"));
    }
}

fn area_index(area: &Area, field: &str, errs: &mut ValidationErrors) {
    if let Err(e) = area.to_geo() {
        errs.nest(field, e);
    }
}

/// The mission: its name, mandate and where and when it works.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mission {
    /// Full name.
    pub name: String,
    /// The mandate in a sentence or two.
    #[serde(default)]
    pub mandate: Option<String>,
    /// The mission area.
    #[serde(default)]
    pub area: Option<Area>,
    /// First day of operations: "since the mission began" totals start here.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub started_on: Date,
    /// True for demonstration and training data, shown on every screen.
    #[serde(default)]
    pub illustrative: bool,
    /// Notice shown with the data (e.g. that the scenario is illustrative).
    #[serde(default)]
    pub notice: Option<String>,
}

impl Record for Mission {
    const KIND: EntityKind = EntityKind::Mission;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        check_text(&self.mandate, "mandate", &mut e);
        check_text(&self.notice, "notice", &mut e);
        if let Some(a) = &self.area {
            area_index(a, "area", &mut e);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            bbox: self.area.as_ref().and_then(Area::bbox),
            geometry: self
                .area
                .as_ref()
                .map(|a| serde_json::to_value(a).expect("ser")),
            text: self.name.to_lowercase(),
            ..Default::default()
        }
    }
}

/// A party to the conflict. Parties are data: the code never names one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Party {
    /// Name as the mission writes it.
    pub name: String,
    /// Short form for tables.
    #[serde(default)]
    pub short_name: Option<String>,
    /// Other names and spellings, in any script.
    #[serde(default)]
    pub alt_names: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub description: Option<String>,
}

impl Record for Party {
    const KIND: EntityKind = EntityKind::Party;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        if let Some(s) = &self.short_name {
            check_name(s, "short_name", &mut e);
        }
        for (i, n) in self.alt_names.iter().enumerate() {
            check_name(n, &format!("alt_names[{i}]"), &mut e);
        }
        check_text(&self.description, "description", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let mut text = self.name.to_lowercase();
        for n in self.short_name.iter().chain(&self.alt_names) {
            text.push(' ');
            text.push_str(&n.to_lowercase());
        }
        IndexFields {
            text,
            ..Default::default()
        }
    }
}

/// What sort of body an organisation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrganisationKind {
    /// This mission or a unit of it.
    Mission,
    /// A UN agency.
    UnAgency,
    /// A non-governmental organisation (incl. ICRC).
    Ngo,
    /// A national authority (e.g. a mine-action agency).
    NationalAuthority,
    /// Armed forces or their engineers.
    Military,
    /// A commercial contractor.
    Commercial,
    /// Anything else.
    Other,
}

/// An organisation the mission works with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    /// Full name.
    pub name: String,
    /// Acronym.
    #[serde(default)]
    pub short_name: Option<String>,
    /// What sort of body it is.
    pub kind: OrganisationKind,
    /// The party it belongs to, if any.
    #[serde(default)]
    pub party: Option<Uuid>,
}

impl Record for Organisation {
    const KIND: EntityKind = EntityKind::Organisation;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            category: Some(serde_name(&self.kind)),
            parties: self.party.into_iter().collect(),
            text: format!(
                "{} {}",
                self.name.to_lowercase(),
                self.short_name.as_deref().unwrap_or("").to_lowercase()
            ),
            ..Default::default()
        }
    }
}

/// An area of responsibility: the ground a set of posts watches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Aor {
    /// Short code, e.g. `AOR-1`.
    pub code: String,
    /// Name, e.g. "Sector North".
    pub name: String,
    /// The area.
    pub area: Area,
}

impl Record for Aor {
    const KIND: EntityKind = EntityKind::Aor;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_name(&self.name, "name", &mut e);
        area_index(&self.area, "area", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            bbox: self.area.bbox(),
            geometry: Some(serde_json::to_value(&self.area).expect("ser")),
            text: format!("{} {}", self.code, self.name).to_lowercase(),
            ..Default::default()
        }
    }
}

/// An observation post.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Post {
    /// Short code, e.g. `OP-07`.
    pub code: String,
    /// Name, usually the nearest place.
    pub name: String,
    /// Where it stands.
    pub location: LatLon,
    /// The area of responsibility it belongs to.
    #[serde(default)]
    pub aor: Option<Uuid>,
    /// Whether it is staffed now.
    pub staffed: bool,
}

impl Record for Post {
    const KIND: EntityKind = EntityKind::Post;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_name(&self.name, "name", &mut e);
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        IndexFields {
            bbox: Some([lon, lat, lon, lat]),
            geometry: Some(self.location.to_geojson()),
            status: Some(if self.staffed { "staffed" } else { "unstaffed" }.into()),
            text: format!("{} {}", self.code, self.name).to_lowercase(),
            ..Default::default()
        }
    }
}

/// Where a patrol is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PatrolStatus {
    /// Planned, not started.
    Planned,
    /// Out now.
    Underway,
    /// Back.
    Completed,
    /// Called off.
    Cancelled,
}

/// A patrol from a post along a route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Patrol {
    /// Call sign or code.
    pub code: String,
    /// The post it leaves from.
    #[serde(default)]
    pub post: Option<Uuid>,
    /// Patrol leader's name or call sign.
    #[serde(default)]
    pub leader: Option<String>,
    /// Planned departure.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub planned_start: Timestamp,
    /// Planned return.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub planned_end: Timestamp,
    /// The route.
    #[serde(default)]
    pub route: Option<Path>,
    /// Life-cycle state.
    pub status: PatrolStatus,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for Patrol {
    const KIND: EntityKind = EntityKind::Patrol;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        // Planned times may lie in the future; only the order is checked.
        if self.planned_end < self.planned_start {
            e.push("planned_end", "is before planned_start");
        }
        if self.planned_start < crate::time::EARLIEST {
            e.push("planned_start", "is implausibly old");
        }
        if let Some(r) = &self.route
            && let Err(re) = r.to_geo()
        {
            e.nest("route", re);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.planned_start),
            time_end: Some(self.planned_end),
            bbox: self.route.as_ref().and_then(Path::bbox),
            geometry: self
                .route
                .as_ref()
                .map(|r| serde_json::to_value(r).expect("ser")),
            status: Some(serde_name(&self.status)),
            text: format!("{} {}", self.code, self.notes.as_deref().unwrap_or("")).to_lowercase(),
            ..Default::default()
        }
    }
}

/// The wire name of a unit enum variant.
pub fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
