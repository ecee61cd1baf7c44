//! Humanitarian logistics: corridors, convoys with a timestamp per status,
//! manifests with quantities normalised to tonnes, warehouses whose stock
//! never goes below zero and always equals the sum of its movements, needs
//! by destination, and totals for any period.
//!
//! The rules between records are pure functions here
//! ([`Convoy::transition`], [`Warehouse::apply_movement`],
//! [`TotalsIndex`]); servers write their results atomically. The route
//! check ([`RouteHit`] from [`Obstacle`]s) is computed by the spatial
//! engine (`truce_geo::route_check`), which depends on this crate.

use std::collections::HashMap;

use geo::MultiPolygon;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::geometry::{LatLon, Path};
use crate::mine::protect_keys;
use crate::model::{check_name, check_text, serde_name};
use crate::record::{EntityKind, IndexFields, Record, ValidationContext};
use crate::refusal::Refusal;
use crate::time::check_plausible;

// ---------------------------------------------------------------------------
// Quantities

/// Category of relief items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ItemCategory {
    /// Food.
    Food,
    /// Medicines and medical supplies.
    Medical,
    /// Fuel.
    Fuel,
    /// Tents, tarpaulins, blankets.
    Shelter,
    /// Cement, timber, glass, roofing.
    ConstructionMaterial,
    /// Drinking water.
    Water,
    /// Hygiene kits, soap.
    Hygiene,
}

impl ItemCategory {
    /// Every category, in declaration order.
    pub const ALL: [ItemCategory; 7] = [
        ItemCategory::Food,
        ItemCategory::Medical,
        ItemCategory::Fuel,
        ItemCategory::Shelter,
        ItemCategory::ConstructionMaterial,
        ItemCategory::Water,
        ItemCategory::Hygiene,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemCategory::Food => "food",
            ItemCategory::Medical => "medical",
            ItemCategory::Fuel => "fuel",
            ItemCategory::Shelter => "shelter",
            ItemCategory::ConstructionMaterial => "construction_material",
            ItemCategory::Water => "water",
            ItemCategory::Hygiene => "hygiene",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ItemCategory> {
        ItemCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Density in t/m³ for items counted by volume (diesel, water).
    pub fn density_t_per_m3(self) -> Option<f64> {
        match self {
            ItemCategory::Fuel => Some(0.84),
            ItemCategory::Water => Some(1.0),
            _ => None,
        }
    }
}

/// What a unit measures, with its factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Mass: tonnes per unit.
    Mass(f64),
    /// Volume: m³ per unit.
    Volume(f64),
    /// A count of pieces (kits, boxes, pallets); needs a mass per piece.
    Count,
}

/// Parses a unit as people write it (`t`, `tonnes`, `kg`, `litres`, `m3`,
/// `pcs`...), case-insensitively; `None` for anything else.
pub fn parse_unit(u: &str) -> Option<Unit> {
    let u = u.trim().to_lowercase();
    Some(match u.as_str() {
        "t" | "mt" | "tonne" | "tonnes" | "metric ton" | "metric tons" | "metric tonne"
        | "metric tonnes" | "т" => Unit::Mass(1.0),
        "kg" | "kgs" | "kilogram" | "kilograms" | "kilo" | "kilos" | "кг" => Unit::Mass(0.001),
        "g" | "gram" | "grams" => Unit::Mass(1e-6),
        "lb" | "lbs" | "pound" | "pounds" => Unit::Mass(0.000_453_592_37),
        "l" | "litre" | "litres" | "liter" | "liters" | "л" => Unit::Volume(0.001),
        "m3" | "m³" | "cubic metre" | "cubic metres" | "kl" | "kilolitre" | "kilolitres" => {
            Unit::Volume(1.0)
        }
        "pcs" | "pc" | "piece" | "pieces" | "unit" | "units" | "item" | "items" | "kit"
        | "kits" | "box" | "boxes" | "carton" | "cartons" | "bag" | "bags" | "sack" | "sacks"
        | "pallet" | "pallets" | "bottle" | "bottles" | "parcel" | "parcels" | "roll" | "rolls"
        | "sheet" | "sheets" | "tent" | "tents" | "blanket" | "blankets" => Unit::Count,
        _ => return None,
    })
}

/// Rounds tonnes to the gram.
pub fn round_t(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Tonnes are compared to within half a gram.
pub const EPS_T: f64 = 5e-7;

/// A quantity as submitted, with what is needed to express it in tonnes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quantity {
    /// Amount in `unit`.
    pub quantity: f64,
    /// Unit: a mass (`t`, `kg`), a volume (`l`, `m3`, fuel and water only)
    /// or a count (`pcs`, `kits`, with `unit_mass_kg`).
    pub unit: String,
    /// Mass of one counted piece, kg (for count units).
    #[serde(default)]
    pub unit_mass_kg: Option<f64>,
}

/// Tonnes of `q` for items of `category`, or the field at fault.
pub fn tonnes(
    quantity: f64,
    unit: &str,
    unit_mass_kg: Option<f64>,
    category: ItemCategory,
) -> Result<f64, ValidationErrors> {
    if !(quantity.is_finite() && (0.0..=1e9).contains(&quantity)) {
        return Err(ValidationErrors::one(
            "quantity",
            "must be a number from 0 to 1,000,000,000",
        ));
    }
    let t = match parse_unit(unit) {
        None => {
            return Err(ValidationErrors::one(
                "unit",
                format!(
                    "{unit:?} is not a known unit; use t, kg, g, lb, l, m3 or a count (pcs, kits, boxes...)"
                ),
            ));
        }
        Some(Unit::Mass(f)) => quantity * f,
        Some(Unit::Volume(f)) => match category.density_t_per_m3() {
            Some(d) => quantity * f * d,
            None => {
                return Err(ValidationErrors::one(
                    "unit",
                    format!(
                        "volumes convert to tonnes for fuel and water only, not {}",
                        category.as_str()
                    ),
                ));
            }
        },
        Some(Unit::Count) => match unit_mass_kg {
            Some(m) if m.is_finite() && m > 0.0 && m <= 100_000.0 => quantity * m / 1000.0,
            _ => {
                return Err(ValidationErrors::one(
                    "unit_mass_kg",
                    format!("is required (kg per piece, > 0) when the unit is {unit:?}"),
                ));
            }
        },
    };
    Ok(round_t(t))
}

/// A normalised item key: category and lower-cased, trimmed name.
pub fn item_key(category: ItemCategory, item: &str) -> String {
    format!(
        "{}:{}",
        category.as_str(),
        item.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    )
}

// ---------------------------------------------------------------------------
// Corridors

/// Whether a corridor can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CorridorStatus {
    /// Open.
    Open,
    /// Open with conditions (escort, hours, tonnage).
    Restricted,
    /// Closed.
    Closed,
}

/// One change of a corridor's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorridorStatusChange {
    /// New status.
    pub status: CorridorStatus,
    /// Since when.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A checkpoint on a corridor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    /// Name.
    pub name: String,
    /// Where.
    pub location: LatLon,
    /// Who controls it.
    #[serde(default)]
    pub party: Option<Uuid>,
}

/// A named road route for humanitarian convoys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Corridor {
    /// Name, e.g. "Lachin corridor".
    pub name: String,
    /// The road route.
    pub route: Path,
    /// Current status, with reason and time; history in `status_history`.
    pub status: CorridorStatusChange,
    /// Earlier statuses, oldest first (set by the status action).
    #[serde(default)]
    pub status_history: Vec<CorridorStatusChange>,
    /// Checkpoints along it.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Corridor {
    /// The corridor after a status change, or why not: times only move forward.
    pub fn set_status(&self, change: CorridorStatusChange) -> Result<Corridor, Refusal> {
        if change.at < self.status.at {
            return Err(Refusal::field(
                "at",
                format!("is before the current status's time {}", self.status.at),
            ));
        }
        if change.status != CorridorStatus::Open
            && change.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return Err(Refusal::field(
                "reason",
                "is required to restrict or close a corridor",
            ));
        }
        let mut next = self.clone();
        next.status_history
            .push(std::mem::replace(&mut next.status, change));
        Ok(next)
    }

    /// Keeps the fields only the status action may set.
    pub fn protect(submitted: &mut serde_json::Value, existing: Option<&serde_json::Value>) {
        if existing.is_some() {
            protect_keys(submitted, existing, &["status", "status_history"]);
        } else {
            protect_keys(submitted, None, &["status_history"]);
        }
    }
}

impl Record for Corridor {
    const KIND: EntityKind = EntityKind::Corridor;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.name, "name", &mut e);
        if let Err(re) = self.route.to_geo() {
            e.nest("route", re);
        }
        check_plausible(self.status.at, ctx.now, "status.at", &mut e);
        if let Some(r) = &self.status.reason {
            check_name(r, "status.reason", &mut e);
        }
        for (i, c) in self.checkpoints.iter().enumerate() {
            check_name(&c.name, &format!("checkpoints[{i}].name"), &mut e);
            if let Err(le) = c.location.validate() {
                e.nest(&format!("checkpoints[{i}].location"), le);
            }
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.status.at),
            time_end: Some(self.status.at),
            bbox: self.route.bbox(),
            geometry: Some(serde_json::to_value(&self.route).expect("ser")),
            status: Some(serde_name(&self.status.status)),
            parties: self.checkpoints.iter().filter_map(|c| c.party).collect(),
            text: format!(
                "{} {}",
                self.name,
                self.checkpoints
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .trim_end()
            .to_lowercase(),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Convoys

/// Where a convoy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConvoyStatus {
    /// Planned; manifest still open.
    Planned,
    /// Left the loading point.
    Dispatched,
    /// On the corridor.
    InTransit,
    /// Held up (before or after dispatch).
    Delayed,
    /// Delivered at destination (terminal).
    Arrived,
    /// Returned without delivering (terminal).
    TurnedBack,
    /// Called off before dispatch (terminal).
    Cancelled,
}

impl ConvoyStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConvoyStatus::Planned => "planned",
            ConvoyStatus::Dispatched => "dispatched",
            ConvoyStatus::InTransit => "in_transit",
            ConvoyStatus::Delayed => "delayed",
            ConvoyStatus::Arrived => "arrived",
            ConvoyStatus::TurnedBack => "turned_back",
            ConvoyStatus::Cancelled => "cancelled",
        }
    }

    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ConvoyStatus::Arrived | ConvoyStatus::TurnedBack | ConvoyStatus::Cancelled
        )
    }
}

/// One status a convoy took, with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConvoyEvent {
    /// Status taken.
    pub status: ConvoyStatus,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Who recorded it.
    #[serde(default)]
    pub by: Option<String>,
    /// Why (delays, turning back).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A vehicle of a convoy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vehicle {
    /// Kind, e.g. "truck 20 t", "fuel tanker".
    pub kind: String,
    /// Registration plate.
    #[serde(default)]
    pub registration: Option<String>,
    /// Driver.
    #[serde(default)]
    pub driver: Option<String>,
}

/// What the route check found when the convoy was planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteCheckRecord {
    /// When it was checked.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// What the route passes.
    pub hits: Vec<RouteHit>,
    /// Why the planner went ahead despite blocking hazards (journaled).
    #[serde(default)]
    pub override_reason: Option<String>,
    /// Who overrode.
    #[serde(default)]
    pub override_by: Option<String>,
}

/// A humanitarian convoy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Convoy {
    /// Reference, e.g. `CV-2026-031`.
    pub code: String,
    /// Corridor used.
    #[serde(default)]
    pub corridor: Option<Uuid>,
    /// Route (the corridor's, unless another was planned).
    #[serde(default)]
    pub route: Option<Path>,
    /// Loading point.
    pub origin: String,
    /// Destination.
    pub destination: String,
    /// Organisation running it.
    #[serde(default)]
    pub organisation: Option<Uuid>,
    /// Vehicles.
    #[serde(default)]
    pub vehicles: Vec<Vehicle>,
    /// Escort, e.g. "mission patrol".
    #[serde(default)]
    pub escort: Option<String>,
    /// Planned departure.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub planned_departure: Timestamp,
    /// Current status; changed by the status action only.
    #[serde(default = "planned")]
    pub status: ConvoyStatus,
    /// Every status with its time, oldest first; set by the status action.
    #[serde(default)]
    pub history: Vec<ConvoyEvent>,
    /// The route check made at planning.
    #[serde(default)]
    pub route_check: Option<RouteCheckRecord>,
    /// Manifest lines and their tonnes; kept by the manifest action.
    #[serde(default)]
    pub manifest_lines: u32,
    /// Tonnes dispatched on the manifest.
    #[serde(default)]
    pub manifest_tonnes: f64,
    /// Tonnes delivered (at arrival).
    #[serde(default)]
    pub delivered_tonnes: f64,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

fn planned() -> ConvoyStatus {
    ConvoyStatus::Planned
}

impl Convoy {
    /// Whether it was ever dispatched.
    pub fn was_dispatched(&self) -> bool {
        self.history
            .iter()
            .any(|e| e.status == ConvoyStatus::Dispatched)
    }

    /// The statuses it may take next.
    pub fn allowed_next(&self) -> Vec<ConvoyStatus> {
        use ConvoyStatus::*;
        match self.status {
            Planned => vec![Dispatched, Delayed, Cancelled],
            Dispatched => vec![InTransit, Delayed, TurnedBack],
            InTransit => vec![Arrived, Delayed, TurnedBack],
            Delayed if self.was_dispatched() => vec![InTransit, Arrived, TurnedBack],
            Delayed => vec![Dispatched, Cancelled],
            Arrived | TurnedBack | Cancelled => vec![],
        }
    }

    /// The convoy after moving to `to` at `at`, or why not: an illegal
    /// transition is a conflict (409); a time before the last status's is
    /// bad input (422).
    pub fn transition(
        &self,
        to: ConvoyStatus,
        at: Timestamp,
        by: &str,
        reason: Option<String>,
    ) -> Result<Convoy, Refusal> {
        let allowed = self.allowed_next();
        if !allowed.contains(&to) {
            return Err(Refusal::conflict(format!(
                "convoy {} is {}; it can become {} but not {}",
                self.code,
                self.status.as_str(),
                if allowed.is_empty() {
                    "nothing else".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                to.as_str()
            )));
        }
        if let Some(last) = self.history.last()
            && at < last.at
        {
            return Err(Refusal::field(
                "at",
                format!(
                    "{at} is before the convoy became {} at {}",
                    last.status.as_str(),
                    last.at
                ),
            ));
        }
        if matches!(to, ConvoyStatus::Delayed | ConvoyStatus::TurnedBack)
            && reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return Err(Refusal::field(
                "reason",
                format!("is required when a convoy is {}", to.as_str()),
            ));
        }
        let mut next = self.clone();
        next.status = to;
        next.history.push(ConvoyEvent {
            status: to,
            at,
            by: Some(by.to_string()),
            reason,
        });
        Ok(next)
    }

    /// The time it took `status`, the last time it did.
    pub fn time_of(&self, status: ConvoyStatus) -> Option<Timestamp> {
        self.history
            .iter()
            .rev()
            .find(|e| e.status == status)
            .map(|e| e.at)
    }

    /// Keeps the fields only actions may set.
    pub fn protect(submitted: &mut serde_json::Value, existing: Option<&serde_json::Value>) {
        protect_keys(
            submitted,
            existing,
            &[
                "status",
                "history",
                "route_check",
                "manifest_lines",
                "manifest_tonnes",
                "delivered_tonnes",
            ],
        );
    }
}

impl Record for Convoy {
    const KIND: EntityKind = EntityKind::Convoy;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_name(&self.origin, "origin", &mut e);
        check_name(&self.destination, "destination", &mut e);
        if let Some(r) = &self.route
            && let Err(re) = r.to_geo()
        {
            e.nest("route", re);
        }
        if self.planned_departure < crate::time::EARLIEST {
            e.push("planned_departure", "is implausibly old");
        }
        for (i, v) in self.vehicles.iter().enumerate() {
            check_name(&v.kind, &format!("vehicles[{i}].kind"), &mut e);
        }
        if let Some(s) = &self.escort {
            check_name(s, "escort", &mut e);
        }
        // The history is a legal walk from planned with times that never go back.
        let mut walk = Convoy {
            status: ConvoyStatus::Planned,
            history: Vec::new(),
            ..self.clone()
        };
        for (i, ev) in self.history.iter().enumerate() {
            check_plausible(ev.at, ctx.now, &format!("history[{i}].at"), &mut e);
            match walk.transition(ev.status, ev.at, "", ev.reason.clone()) {
                Ok(n) => walk = n,
                Err(_) => {
                    e.push(
                        format!("history[{i}]"),
                        format!(
                            "{} cannot follow {} at that time",
                            ev.status.as_str(),
                            walk.status.as_str()
                        ),
                    );
                    break;
                }
            }
        }
        if walk.status != self.status && e.0.is_empty() {
            e.push("status", "does not match the last status in history");
        }
        for (v, f) in [
            (self.manifest_tonnes, "manifest_tonnes"),
            (self.delivered_tonnes, "delivered_tonnes"),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                e.push(f, "must be 0 or more tonnes");
            }
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let first = self.history.first().map(|e| e.at);
        let last = self.history.last().map(|e| e.at);
        IndexFields {
            time_start: Some(first.unwrap_or(self.planned_departure)),
            time_end: Some(
                last.unwrap_or(self.planned_departure)
                    .max(self.planned_departure),
            ),
            bbox: self.route.as_ref().and_then(Path::bbox),
            geometry: self
                .route
                .as_ref()
                .map(|r| serde_json::to_value(r).expect("ser")),
            status: Some(self.status.as_str().into()),
            text: format!(
                "{} {} {} {}",
                self.code,
                self.origin,
                self.destination,
                self.notes.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_lowercase(),
            refs: self.corridor.into_iter().chain(self.organisation).collect(),
            quantity: Some(if self.status == ConvoyStatus::Arrived {
                self.delivered_tonnes
            } else {
                self.manifest_tonnes
            }),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Manifest lines

/// One line of a convoy's manifest; created by the manifest action,
/// delivered quantities set by the arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestLine {
    /// The convoy.
    pub convoy: Uuid,
    /// The corridor (copied from the convoy).
    #[serde(default)]
    pub corridor: Option<Uuid>,
    /// Category.
    pub category: ItemCategory,
    /// Item, e.g. "wheat flour".
    pub item: String,
    /// Quantity dispatched, in `unit`.
    pub quantity: f64,
    /// Unit.
    pub unit: String,
    /// kg per piece for count units.
    #[serde(default)]
    pub unit_mass_kg: Option<f64>,
    /// Consignee or final destination, when not the convoy's.
    #[serde(default)]
    pub destination: Option<String>,
    /// Quantity delivered, in `unit` (set at arrival).
    #[serde(default)]
    pub delivered_quantity: Option<f64>,
    /// When it was delivered (the convoy's arrival).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<Timestamp>,
}

impl ManifestLine {
    /// Tonnes dispatched.
    pub fn tonnes(&self) -> Result<f64, ValidationErrors> {
        tonnes(self.quantity, &self.unit, self.unit_mass_kg, self.category)
    }

    /// Tonnes delivered (0 before delivery).
    pub fn delivered_tonnes(&self) -> f64 {
        self.delivered_quantity
            .and_then(|q| tonnes(q, &self.unit, self.unit_mass_kg, self.category).ok())
            .unwrap_or(0.0)
    }
}

impl Record for ManifestLine {
    const KIND: EntityKind = EntityKind::ManifestLine;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.item, "item", &mut e);
        if let Err(te) = self.tonnes() {
            e.0.extend(te.0);
        }
        if let Some(d) = &self.destination {
            check_name(d, "destination", &mut e);
        }
        if let Some(q) = self.delivered_quantity {
            if !(q.is_finite() && q >= 0.0) {
                e.push("delivered_quantity", "must be 0 or more");
            } else if q > self.quantity + 1e-9 {
                e.push(
                    "delivered_quantity",
                    format!("{q} is more than the {} dispatched", self.quantity),
                );
            }
            if self.delivered_at.is_none() {
                e.push("delivered_at", "is required with delivered_quantity");
            }
        }
        if let Some(t) = self.delivered_at {
            check_plausible(t, ctx.now, "delivered_at", &mut e);
        }
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: self.delivered_at,
            time_end: self.delivered_at,
            category: Some(self.category.as_str().into()),
            status: Some(
                if self.delivered_at.is_some() {
                    "delivered"
                } else {
                    "dispatched"
                }
                .into(),
            ),
            text: self.item.to_lowercase(),
            refs: std::iter::once(self.convoy).chain(self.corridor).collect(),
            quantity: Some(if self.delivered_at.is_some() {
                self.delivered_tonnes()
            } else {
                self.tonnes().unwrap_or(0.0)
            }),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Warehouses and stock

/// Stock of one item in a warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevel {
    /// Category.
    pub category: ItemCategory,
    /// Item name (as first received).
    pub item: String,
    /// Tonnes in stock.
    pub tonnes: f64,
}

/// A warehouse; its stock changes only through stock movements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warehouse {
    /// Code, e.g. `WH-GOR`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Where.
    pub location: LatLon,
    /// Operator.
    #[serde(default)]
    pub organisation: Option<Uuid>,
    /// Capacity, tonnes.
    #[serde(default)]
    pub capacity_t: Option<f64>,
    /// Stock by item; set by stock movements only.
    #[serde(default)]
    pub stock: Vec<StockLevel>,
    /// Movements applied so far; set by stock movements only.
    #[serde(default)]
    pub movements: u64,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Direction of a stock movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Direction {
    /// Received into the warehouse.
    In,
    /// Issued out of it.
    Out,
}

/// A movement of stock into or out of a warehouse; written only through
/// the movement action, which also updates the warehouse's stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockMovement {
    /// The warehouse.
    pub warehouse: Uuid,
    /// In or out.
    pub direction: Direction,
    /// Category.
    pub category: ItemCategory,
    /// Item.
    pub item: String,
    /// Amount in `unit`.
    pub quantity: f64,
    /// Unit.
    pub unit: String,
    /// kg per piece for count units.
    #[serde(default)]
    pub unit_mass_kg: Option<f64>,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The convoy it was loaded on or came with.
    #[serde(default)]
    pub convoy: Option<Uuid>,
    /// Supplier or recipient.
    #[serde(default)]
    pub counterpart: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl StockMovement {
    /// Tonnes moved (positive).
    pub fn tonnes(&self) -> Result<f64, ValidationErrors> {
        tonnes(self.quantity, &self.unit, self.unit_mass_kg, self.category)
    }

    /// Tonnes with sign: + in, - out.
    pub fn signed_tonnes(&self) -> f64 {
        let t = self.tonnes().unwrap_or(0.0);
        match self.direction {
            Direction::In => t,
            Direction::Out => -t,
        }
    }
}

impl Warehouse {
    /// Tonnes of an item in stock.
    pub fn stock_of(&self, category: ItemCategory, item: &str) -> f64 {
        let k = item_key(category, item);
        self.stock
            .iter()
            .find(|s| item_key(s.category, &s.item) == k)
            .map_or(0.0, |s| s.tonnes)
    }

    /// The warehouse after `m`, or why not: unknown units and bad
    /// quantities are 422; taking out more than is in stock is 409.
    pub fn apply_movement(&self, m: &StockMovement) -> Result<Warehouse, Refusal> {
        let t = m.tonnes()?;
        if t <= 0.0 {
            return Err(Refusal::field("quantity", "must be more than 0"));
        }
        let k = item_key(m.category, &m.item);
        let mut next = self.clone();
        let pos = next
            .stock
            .iter()
            .position(|s| item_key(s.category, &s.item) == k);
        let have = pos.map_or(0.0, |i| next.stock[i].tonnes);
        let after = round_t(match m.direction {
            Direction::In => have + t,
            Direction::Out => have - t,
        });
        if after < -EPS_T {
            return Err(Refusal::conflict(format!(
                "warehouse {} holds {have} t of {} ({}); {t} t cannot be issued",
                self.code,
                m.item,
                m.category.as_str()
            )));
        }
        let after = after.max(0.0);
        if let Some(cap) = self.capacity_t
            && m.direction == Direction::In
            && self.total_tonnes() + t > cap + EPS_T
        {
            return Err(Refusal::conflict(format!(
                "warehouse {} would hold {} t, above its capacity of {cap} t",
                self.code,
                round_t(self.total_tonnes() + t)
            )));
        }
        match pos {
            Some(i) => next.stock[i].tonnes = after,
            None => next.stock.push(StockLevel {
                category: m.category,
                item: m.item.trim().to_string(),
                tonnes: after,
            }),
        }
        next.movements += 1;
        Ok(next)
    }

    /// Tonnes held, all items.
    pub fn total_tonnes(&self) -> f64 {
        round_t(self.stock.iter().map(|s| s.tonnes).sum())
    }

    /// Compares the stock with what `movements` add up to, item by item.
    pub fn reconcile<'a>(
        &self,
        movements: impl IntoIterator<Item = &'a StockMovement>,
    ) -> Reconciliation {
        let mut from_moves: HashMap<String, (ItemCategory, String, f64)> = HashMap::new();
        let mut n = 0;
        for m in movements {
            n += 1;
            let e = from_moves.entry(item_key(m.category, &m.item)).or_insert((
                m.category,
                m.item.trim().to_string(),
                0.0,
            ));
            e.2 = round_t(e.2 + m.signed_tonnes());
        }
        let mut items = Vec::new();
        for s in &self.stock {
            let k = item_key(s.category, &s.item);
            let moved = from_moves.remove(&k).map_or(0.0, |x| x.2);
            items.push(ReconciledItem {
                category: s.category,
                item: s.item.clone(),
                book_tonnes: s.tonnes,
                movements_tonnes: moved,
                difference_tonnes: round_t(s.tonnes - moved),
            });
        }
        for (_, (category, item, moved)) in from_moves {
            items.push(ReconciledItem {
                category,
                item,
                book_tonnes: 0.0,
                movements_tonnes: moved,
                difference_tonnes: round_t(-moved),
            });
        }
        items.sort_by(|a, b| (a.category, &a.item).cmp(&(b.category, &b.item)));
        let consistent = n == self.movements
            && items
                .iter()
                .all(|i| i.difference_tonnes.abs() <= EPS_T * 10.0);
        Reconciliation {
            consistent,
            movements: n,
            recorded_movements: self.movements,
            items,
        }
    }

    /// Keeps the fields only stock movements may set.
    pub fn protect(submitted: &mut serde_json::Value, existing: Option<&serde_json::Value>) {
        protect_keys(submitted, existing, &["stock", "movements"]);
    }
}

/// Stock compared with movements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    /// True when every item matches and no movement is missing.
    pub consistent: bool,
    /// Movements found.
    pub movements: u64,
    /// Movements the warehouse counted.
    pub recorded_movements: u64,
    /// Item by item.
    pub items: Vec<ReconciledItem>,
}

/// One item of a [`Reconciliation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconciledItem {
    /// Category.
    pub category: ItemCategory,
    /// Item.
    pub item: String,
    /// Tonnes the warehouse says it holds.
    pub book_tonnes: f64,
    /// Tonnes the movements add up to.
    pub movements_tonnes: f64,
    /// Book minus movements.
    pub difference_tonnes: f64,
}

impl Record for Warehouse {
    const KIND: EntityKind = EntityKind::Warehouse;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.code, "code", &mut e);
        check_name(&self.name, "name", &mut e);
        if let Err(le) = self.location.validate() {
            e.nest("location", le);
        }
        if let Some(c) = self.capacity_t
            && !(c.is_finite() && c > 0.0)
        {
            e.push("capacity_t", "must be more than 0 tonnes");
        }
        for (i, s) in self.stock.iter().enumerate() {
            if !(s.tonnes.is_finite() && s.tonnes >= 0.0) {
                e.push(format!("stock[{i}].tonnes"), "must be 0 or more");
            }
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        let LatLon { lat, lon } = self.location;
        IndexFields {
            bbox: Some([lon, lat, lon, lat]),
            geometry: Some(self.location.to_geojson()),
            tags: {
                let mut t: Vec<String> = self
                    .stock
                    .iter()
                    .filter(|s| s.tonnes > 0.0)
                    .map(|s| s.category.as_str().to_string())
                    .collect();
                t.sort();
                t.dedup();
                t
            },
            text: format!("{} {}", self.code, self.name).to_lowercase(),
            refs: self.organisation.into_iter().collect(),
            quantity: Some(self.total_tonnes()),
            ..Default::default()
        }
    }
}

impl Record for StockMovement {
    const KIND: EntityKind = EntityKind::StockMovement;
    fn validate(&self, ctx: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.item, "item", &mut e);
        match self.tonnes() {
            Err(te) => e.0.extend(te.0),
            Ok(t) if t <= 0.0 => e.push("quantity", "must be more than 0"),
            Ok(_) => {}
        }
        check_plausible(self.at, ctx.now, "at", &mut e);
        if let Some(c) = &self.counterpart {
            check_name(c, "counterpart", &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: Some(self.at),
            time_end: Some(self.at),
            category: Some(self.category.as_str().into()),
            status: Some(serde_name(&self.direction)),
            text: self.item.to_lowercase(),
            refs: std::iter::once(self.warehouse).chain(self.convoy).collect(),
            quantity: Some(self.tonnes().unwrap_or(0.0)),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Needs

/// Whether a need is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NeedStatus {
    /// Not yet met.
    Open,
    /// Partly met.
    PartlyMet,
    /// Met.
    Met,
}

/// A request or assessed need at a destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Need {
    /// Destination (settlement, site, facility).
    pub destination: String,
    /// Where.
    #[serde(default)]
    pub location: Option<LatLon>,
    /// Category.
    pub category: ItemCategory,
    /// What, e.g. "wheat flour".
    pub item: String,
    /// How much, in `unit`.
    pub quantity: f64,
    /// Unit.
    pub unit: String,
    /// kg per piece for count units.
    #[serde(default)]
    pub unit_mass_kg: Option<f64>,
    /// When it is needed by.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub needed_by: Option<Timestamp>,
    /// Who asked.
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Status.
    pub status: NeedStatus,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

impl Record for Need {
    const KIND: EntityKind = EntityKind::Need;
    fn validate(&self, _: &ValidationContext) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        check_name(&self.destination, "destination", &mut e);
        check_name(&self.item, "item", &mut e);
        if let Err(te) = tonnes(self.quantity, &self.unit, self.unit_mass_kg, self.category) {
            e.0.extend(te.0);
        }
        if let Some(l) = &self.location
            && let Err(le) = l.validate()
        {
            e.nest("location", le);
        }
        if let Some(r) = &self.requested_by {
            check_name(r, "requested_by", &mut e);
        }
        check_text(&self.notes, "notes", &mut e);
        e.into_result()
    }
    fn index(&self) -> IndexFields {
        IndexFields {
            time_start: self.needed_by,
            time_end: self.needed_by,
            bbox: self.location.map(|l| [l.lon, l.lat, l.lon, l.lat]),
            geometry: self.location.map(|l| l.to_geojson()),
            category: Some(self.category.as_str().into()),
            status: Some(serde_name(&self.status)),
            text: format!("{} {}", self.destination, self.item).to_lowercase(),
            quantity: tonnes(self.quantity, &self.unit, self.unit_mass_kg, self.category).ok(),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------
// Route checks

/// Something a route passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteHit {
    /// `hazard_area` or `incident`.
    pub kind: String,
    /// The record.
    pub id: Uuid,
    /// Its code or a short label.
    pub label: String,
    /// Geodesic metres from the route (0: the route crosses it).
    pub distance_m: f64,
    /// True when planning must be overridden (the route crosses an active hazard area).
    pub blocking: bool,
}

/// A hazard area or recent incident a route is checked against.
#[derive(Debug, Clone)]
pub enum Obstacle {
    /// An active hazard area.
    Area {
        /// Record id.
        id: Uuid,
        /// Code.
        label: String,
        /// Outline.
        polygon: MultiPolygon<f64>,
    },
    /// A recent incident.
    Point {
        /// Record id.
        id: Uuid,
        /// Short label.
        label: String,
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
}

// ---------------------------------------------------------------------------
// Totals

/// Delivered tonnes of manifest lines, indexed for sums over any period by
/// corridor and category in O(log n): per (sensitivity, corridor, category)
/// group, delivery times in order with running sums.
#[derive(Debug, Default, Clone)]
pub struct TotalsIndex {
    lines: HashMap<Uuid, LineKey>,
    groups: HashMap<GroupKey, Group>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct LineKey {
    group: GroupKey,
    t_ms: i64,
    tonnes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GroupKey {
    sensitivity: u8,
    corridor: Option<Uuid>,
    category: ItemCategory,
}

#[derive(Debug, Clone, Default)]
struct Group {
    /// (time, tonnes), ordered by time once clean.
    items: Vec<(i64, f64)>,
    /// Running sums of `items` (prefix[i] = sum of items[..=i]).
    prefix: Vec<f64>,
    dirty: bool,
}

impl Group {
    fn push(&mut self, t: i64, tonnes: f64) {
        if !self.dirty && self.items.last().is_none_or(|l| l.0 <= t) {
            let last = self.prefix.last().copied().unwrap_or(0.0);
            self.items.push((t, tonnes));
            self.prefix.push(last + tonnes);
        } else {
            self.items.push((t, tonnes));
            self.dirty = true;
        }
    }

    fn remove(&mut self, t: i64, tonnes: f64) {
        if let Some(i) = self
            .items
            .iter()
            .rposition(|x| x.0 == t && x.1.to_bits() == tonnes.to_bits())
        {
            self.items.remove(i);
            self.dirty = true;
        }
    }

    fn clean(&mut self) {
        if self.dirty {
            self.items.sort_by_key(|x| x.0);
            let mut s = 0.0;
            self.prefix = self
                .items
                .iter()
                .map(|x| {
                    s += x.1;
                    s
                })
                .collect();
            self.dirty = false;
        }
    }

    /// Sum and count of items with from <= t <= to.
    fn sum(&self, from: i64, to: i64) -> (f64, u64) {
        let lo = self.items.partition_point(|x| x.0 < from);
        let hi = self.items.partition_point(|x| x.0 <= to);
        if hi <= lo {
            return (0.0, 0);
        }
        let before = if lo == 0 { 0.0 } else { self.prefix[lo - 1] };
        (self.prefix[hi - 1] - before, (hi - lo) as u64)
    }
}

/// A totals query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TotalsQuery {
    /// Deliveries at or after (inclusive).
    pub from: Option<Timestamp>,
    /// Deliveries at or before (inclusive).
    pub to: Option<Timestamp>,
    /// Only this corridor.
    pub corridor: Option<Uuid>,
    /// Only this category.
    pub category: Option<ItemCategory>,
    /// Most sensitive level the reader may see.
    pub max_sensitivity: crate::Sensitivity,
}

/// Delivered tonnes and lines, in all and by category.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Totals {
    /// Tonnes delivered.
    pub tonnes: f64,
    /// Manifest lines delivered.
    pub lines: u64,
    /// By category: (tonnes, lines).
    pub by_category: std::collections::BTreeMap<String, CategoryTotal>,
}

/// One category of [`Totals`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CategoryTotal {
    /// Tonnes delivered.
    pub tonnes: f64,
    /// Lines delivered.
    pub lines: u64,
}

fn sens_code(s: crate::Sensitivity) -> u8 {
    match s {
        crate::Sensitivity::Public => 0,
        crate::Sensitivity::Mission => 1,
        crate::Sensitivity::Restricted => 2,
    }
}

impl TotalsIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Manifest lines indexed (delivered ones).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no delivered line is indexed.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds, replaces or (when not delivered or retracted) removes a line.
    pub fn upsert(
        &mut self,
        id: Uuid,
        line: Option<&ManifestLine>,
        sensitivity: crate::Sensitivity,
    ) {
        if let Some(old) = self.lines.remove(&id)
            && let Some(g) = self.groups.get_mut(&old.group)
        {
            g.remove(old.t_ms, old.tonnes);
        }
        let Some(line) = line else { return };
        let Some(at) = line.delivered_at else { return };
        let key = LineKey {
            group: GroupKey {
                sensitivity: sens_code(sensitivity),
                corridor: line.corridor,
                category: line.category,
            },
            t_ms: at.as_millisecond(),
            tonnes: line.delivered_tonnes(),
        };
        self.groups
            .entry(key.group)
            .or_default()
            .push(key.t_ms, key.tonnes);
        self.lines.insert(id, key);
    }

    /// Re-sorts groups changed out of time order; call before [`Self::totals`].
    pub fn prepare(&mut self) {
        for g in self.groups.values_mut() {
            g.clean();
        }
    }

    /// Totals for a query. Groups must be prepared (see [`Self::prepare`]);
    /// a group still out of order is summed by a scan.
    pub fn totals(&self, q: &TotalsQuery) -> Totals {
        let from = q.from.map_or(i64::MIN, |t| t.as_millisecond());
        let to = q.to.map_or(i64::MAX, |t| t.as_millisecond());
        let max = sens_code(q.max_sensitivity);
        let mut out = Totals::default();
        for (k, g) in &self.groups {
            if k.sensitivity > max
                || q.corridor.is_some_and(|c| k.corridor != Some(c))
                || q.category.is_some_and(|c| k.category != c)
            {
                continue;
            }
            let (t, n) = if g.dirty {
                g.items
                    .iter()
                    .filter(|x| x.0 >= from && x.0 <= to)
                    .fold((0.0, 0), |(s, n), x| (s + x.1, n + 1))
            } else {
                g.sum(from, to)
            };
            if n == 0 {
                continue;
            }
            let c = out
                .by_category
                .entry(k.category.as_str().to_string())
                .or_default();
            c.tonnes += t;
            c.lines += n;
            out.tonnes += t;
            out.lines += n;
        }
        out.tonnes = round_t(out.tonnes);
        for c in out.by_category.values_mut() {
            c.tonnes = round_t(c.tonnes);
        }
        out
    }
}

#[cfg(test)]
mod tests;
