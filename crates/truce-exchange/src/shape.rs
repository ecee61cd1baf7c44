//! The shapes a table of incidents can take, and the mapping between each
//! shape's columns and the Truce columns ([`crate::columns::COLUMNS`]).
//!
//! - **Truce**: the Truce columns, dotted names (`location.lat`).
//! - **HXL**: the Truce columns with a second header row of HXL hashtags.
//!   On import the tag row decides, so any HXL file using the same tags
//!   (or the aliases in [`crate::hxl`]) imports whatever its header text.
//! - **ACLED**: ACLED's column names and labels (`event_id_cnty`,
//!   `event_date`, `Explosions/Remote violence`, ...).
//! - **UCDP**: UCDP GED's column names and codes (`type_of_violence`,
//!   `where_prec`, `date_prec`, `deaths_a`, `best`, ...).
//!
//! ## What does not map one to one, and how the round trip stays lossless
//!
//! ACLED and UCDP columns that hold a Truce field exactly are filled from
//! it (e.g. ACLED `latitude` = `location.lat`, UCDP `deaths_a` =
//! `deaths.side_a`). Columns the dataset has and Truce does not (ACLED
//! `inter1`, `iso`, `country`; UCDP `conflict_new_id`, `dyad_name`, ...)
//! are written empty and ignored on import. Columns *derived* from Truce
//! fields (ACLED `year`, `disorder_type`; UCDP `type_of_violence`,
//! `where_prec`, `date_prec`, `best`) are computed on export and, on import
//! of a file from elsewhere, turned back into the nearest Truce value
//! (UCDP `where_prec` 4 becomes `geo_precision` 3, `type_of_violence` 3
//! becomes violence against civilians / attack, a date becomes midnight UTC).
//!
//! Every Truce field that no column holds exactly is carried in an extra
//! column named `truce.<field>` after the dataset's own columns (e.g.
//! `truce.occurred_at` with the time of day, `truce.sensitivity`,
//! `truce.ceasefire_violation.kind`). On import a non-empty `truce.` cell
//! wins over what the dataset's columns imply, so export -> import ->
//! export gives the same file; a file from ACLED or UCDP itself has no
//! such columns and imports through the mapping alone. Ids that are not
//! UUIDs (ACLED `ETH9766`, UCDP `244657`) become a UUID v5 of the dataset
//! and the id, so importing the same file twice writes nothing new.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;
use truce_core::incident::{EventType, SubEventType};
use uuid::Uuid;

use crate::columns::{COLUMNS, CellKind, Flat, index_of, ix, unflatten};
use crate::hxl;

/// The shape of a table of incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Truce's own dotted columns.
    Truce,
    /// Truce's columns with an HXL hashtag row.
    Hxl,
    /// ACLED's columns.
    Acled,
    /// UCDP GED's columns.
    Ucdp,
}

/// A dataset's own columns and which of them hold a Truce field exactly.
struct Spec {
    /// The dataset's columns, in its order.
    columns: &'static [&'static str],
    /// `(dataset column, Truce column)` pairs holding the same value.
    exact: &'static [(&'static str, &'static str)],
    /// Truce columns the derived columns give back without loss.
    lossless: &'static [&'static str],
    /// Older or optional columns of the dataset, ignored on import.
    also_known: &'static [&'static str],
    /// Namespace for ids that are not UUIDs.
    id_prefix: &'static str,
}

/// ACLED's columns (the export tool's, 2024).
const ACLED: Spec = Spec {
    columns: &[
        "event_id_cnty",
        "event_date",
        "year",
        "time_precision",
        "disorder_type",
        "event_type",
        "sub_event_type",
        "actor1",
        "assoc_actor_1",
        "inter1",
        "actor2",
        "assoc_actor_2",
        "inter2",
        "interaction",
        "civilian_targeting",
        "iso",
        "region",
        "country",
        "admin1",
        "admin2",
        "admin3",
        "location",
        "latitude",
        "longitude",
        "geo_precision",
        "source",
        "source_scale",
        "notes",
        "fatalities",
        "tags",
        "timestamp",
    ],
    exact: &[
        ("time_precision", "time_precision"),
        ("actor1", "actor1"),
        ("actor2", "actor2"),
        ("admin1", "admin1"),
        ("location", "location_name"),
        ("latitude", "location.lat"),
        ("longitude", "location.lon"),
        ("geo_precision", "geo_precision"),
        ("source", "source"),
        ("source_scale", "source_scale"),
        ("notes", "notes"),
        ("fatalities", "fatalities"),
    ],
    lossless: &["id", "event_type", "sub_event_type"],
    also_known: &["data_id", "event_id_no_cnty", "iso3", "geo_precis"],
    id_prefix: "acled:",
};

/// UCDP GED's columns (GED Global 20.1 codebook order).
const UCDP: Spec = Spec {
    columns: &[
        "id",
        "year",
        "active_year",
        "type_of_violence",
        "conflict_new_id",
        "conflict_name",
        "dyad_new_id",
        "dyad_name",
        "side_a_new_id",
        "side_a",
        "side_b_new_id",
        "side_b",
        "number_of_sources",
        "source_article",
        "source_office",
        "source_date",
        "source_headline",
        "source_original",
        "where_prec",
        "where_coordinates",
        "where_description",
        "adm_1",
        "adm_2",
        "latitude",
        "longitude",
        "country",
        "region",
        "event_clarity",
        "date_prec",
        "date_start",
        "date_end",
        "deaths_a",
        "deaths_b",
        "deaths_civilians",
        "deaths_unknown",
        "best",
        "high",
        "low",
    ],
    exact: &[
        ("side_a", "actor1"),
        ("side_b", "actor2"),
        ("source_article", "source"),
        ("where_coordinates", "location_name"),
        ("adm_1", "admin1"),
        ("latitude", "location.lat"),
        ("longitude", "location.lon"),
        ("deaths_a", "deaths.side_a"),
        ("deaths_b", "deaths.side_b"),
        ("deaths_civilians", "deaths.civilians"),
        ("deaths_unknown", "deaths.unknown"),
        ("high", "deaths.high"),
        ("low", "deaths.low"),
    ],
    lossless: &["id"],
    also_known: &[
        "relid",
        "code_status",
        "conflict_dset_id",
        "dyad_dset_id",
        "side_a_dset_id",
        "side_b_dset_id",
        "geom_wkt",
        "priogrid_gid",
        "country_id",
        "gwnoa",
        "gwnob",
    ],
    id_prefix: "ucdp-ged:",
};

/// The prefix of the extra columns that carry Truce-only fields.
pub const EXTRA_PREFIX: &str = "truce.";

impl Shape {
    /// Every shape.
    pub const ALL: [Shape; 4] = [Shape::Truce, Shape::Hxl, Shape::Acled, Shape::Ucdp];

    fn spec(self) -> Option<&'static Spec> {
        match self {
            Shape::Acled => Some(&ACLED),
            Shape::Ucdp => Some(&UCDP),
            Shape::Truce | Shape::Hxl => None,
        }
    }

    /// The output plan: what each output column holds.
    fn plan(self) -> Vec<(String, Out)> {
        match self.spec() {
            None => COLUMNS
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.to_string(), Out::Col(i)))
                .collect(),
            Some(spec) => {
                let mut plan: Vec<(String, Out)> = spec
                    .columns
                    .iter()
                    .map(|&c| {
                        let out = match spec.exact.iter().find(|(d, _)| *d == c) {
                            Some((_, t)) => Out::Col(ix(t)),
                            None => Out::Derived(Derived::of(self, c)),
                        };
                        (c.to_string(), out)
                    })
                    .collect();
                for (i, c) in COLUMNS.iter().enumerate() {
                    if !spec.exact.iter().any(|(_, t)| *t == c.name)
                        && !spec.lossless.contains(&c.name)
                    {
                        plan.push((format!("{EXTRA_PREFIX}{}", c.name), Out::Col(i)));
                    }
                }
                plan
            }
        }
    }

    /// The header rows written before the data (two for HXL).
    pub fn header_rows(self) -> Vec<Vec<String>> {
        let names: Vec<String> = self.plan().into_iter().map(|(n, _)| n).collect();
        if self == Shape::Hxl {
            let tags = COLUMNS.iter().map(|c| c.hxl.to_string()).collect();
            vec![names, tags]
        } else {
            vec![names]
        }
    }

    /// The kind of each output column (numbers stay numbers in XLSX).
    pub fn kinds(self) -> Vec<CellKind> {
        self.plan()
            .into_iter()
            .map(|(_, out)| match out {
                Out::Col(i) => COLUMNS[i].kind,
                Out::Derived(d) => {
                    if matches!(
                        d,
                        Derived::Year
                            | Derived::TypeOfViolence
                            | Derived::WherePrec
                            | Derived::DatePrec
                            | Derived::Best
                    ) {
                        CellKind::Number
                    } else {
                        CellKind::Text
                    }
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Out {
    Col(usize),
    Derived(Derived),
}

/// A dataset column computed from Truce fields on export, resolved once
/// per export from the shape and the column's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Derived {
    /// ACLED `event_id_cnty`, UCDP `id`.
    Id,
    /// `year`.
    Year,
    /// ACLED `event_date`, UCDP `date_start` and `date_end`.
    Date,
    /// ACLED `disorder_type`.
    DisorderType,
    /// ACLED `event_type` (label).
    AcledEventType,
    /// ACLED `sub_event_type` (label).
    AcledSubEventType,
    /// ACLED `civilian_targeting`.
    CivilianTargeting,
    /// UCDP `type_of_violence`.
    TypeOfViolence,
    /// UCDP `where_prec`.
    WherePrec,
    /// UCDP `date_prec`.
    DatePrec,
    /// UCDP `best`.
    Best,
    /// A dataset column Truce has nothing for: written empty.
    Empty,
}

impl Derived {
    fn of(shape: Shape, column: &str) -> Derived {
        match (shape, column) {
            (Shape::Acled, "event_id_cnty") | (Shape::Ucdp, "id") => Derived::Id,
            (_, "year") => Derived::Year,
            (Shape::Acled, "event_date") | (Shape::Ucdp, "date_start" | "date_end") => {
                Derived::Date
            }
            (Shape::Acled, "disorder_type") => Derived::DisorderType,
            (Shape::Acled, "event_type") => Derived::AcledEventType,
            (Shape::Acled, "sub_event_type") => Derived::AcledSubEventType,
            (Shape::Acled, "civilian_targeting") => Derived::CivilianTargeting,
            (Shape::Ucdp, "type_of_violence") => Derived::TypeOfViolence,
            (Shape::Ucdp, "where_prec") => Derived::WherePrec,
            (Shape::Ucdp, "date_prec") => Derived::DatePrec,
            (Shape::Ucdp, "best") => Derived::Best,
            _ => Derived::Empty,
        }
    }
}

/// The cells of one incident, one per [`COLUMNS`] entry, however they are
/// held: a [`Flat`] row of strings, or text borrowed from the store's
/// canonical JSON ([`crate::raw`]). Rows of every shape are computed from
/// this, so both give the same bytes.
pub trait Cells {
    /// The cell of column `i` of [`COLUMNS`] (empty when absent).
    fn cell(&self, i: usize) -> &str;
}

impl Cells for Flat {
    fn cell(&self, i: usize) -> &str {
        &self.0[i]
    }
}

/// Positions in [`COLUMNS`] of the columns the derived columns read,
/// looked up once rather than by name for every row.
struct Ix {
    id: usize,
    occurred_at: usize,
    event_type: usize,
    sub_event_type: usize,
    geo_precision: usize,
    time_precision: usize,
    fatalities: usize,
    deaths: [usize; 4],
}

static IX: std::sync::LazyLock<Ix> = std::sync::LazyLock::new(|| Ix {
    id: ix("id"),
    occurred_at: ix("occurred_at"),
    event_type: ix("event_type"),
    sub_event_type: ix("sub_event_type"),
    geo_precision: ix("geo_precision"),
    time_precision: ix("time_precision"),
    fatalities: ix("fatalities"),
    deaths: [
        ix("deaths.side_a"),
        ix("deaths.side_b"),
        ix("deaths.civilians"),
        ix("deaths.unknown"),
    ],
});

/// Turns incidents into rows of one shape; built once per export.
pub struct RowWriter {
    plan: Vec<Out>,
}

impl RowWriter {
    /// A writer for `shape`.
    pub fn new(shape: Shape) -> RowWriter {
        RowWriter {
            plan: shape.plan().into_iter().map(|(_, o)| o).collect(),
        }
    }

    /// The cells of one incident.
    pub fn row(&self, flat: &Flat) -> Vec<String> {
        self.cells(flat).map(Cow::into_owned).collect()
    }

    /// The cells of one incident, borrowed from `cells` where they are
    /// copied as they are (most of them).
    pub fn cells<'a, C: Cells + ?Sized>(
        &'a self,
        cells: &'a C,
    ) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        self.plan.iter().map(move |o| match *o {
            Out::Col(i) => Cow::Borrowed(cells.cell(i)),
            Out::Derived(d) => derive_out(d, cells),
        })
    }
}
fn date_of(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

fn event_type_of(wire: &str) -> Option<EventType> {
    EventType::ALL.iter().copied().find(|e| e.as_str() == wire)
}

fn sub_event_type_of(wire: &str) -> Option<SubEventType> {
    SubEventType::ALL
        .iter()
        .copied()
        .find(|e| e.as_str() == wire)
}

/// ACLED's label of a sub-event type.
pub fn acled_sub_event_label(s: SubEventType) -> &'static str {
    use SubEventType::*;
    match s {
        ArmedClash => "Armed clash",
        GovernmentRegainsTerritory => "Government regains territory",
        NonStateActorOvertakesTerritory => "Non-state actor overtakes territory",
        ChemicalWeapon => "Chemical weapon",
        AirDroneStrike => "Air/drone strike",
        SuicideBomb => "Suicide bomb",
        ShellingArtilleryMissileAttack => "Shelling/artillery/missile attack",
        RemoteExplosiveLandmineIed => "Remote explosive/landmine/IED",
        Grenade => "Grenade",
        SexualViolence => "Sexual violence",
        Attack => "Attack",
        AbductionForcedDisappearance => "Abduction/forced disappearance",
        PeacefulProtest => "Peaceful protest",
        ProtestWithIntervention => "Protest with intervention",
        ExcessiveForceAgainstProtesters => "Excessive force against protesters",
        ViolentDemonstration => "Violent demonstration",
        MobViolence => "Mob violence",
        Agreement => "Agreement",
        Arrests => "Arrests",
        ChangeToGroupActivity => "Change to group/activity",
        DisruptedWeaponsUse => "Disrupted weapons use",
        HeadquartersOrBaseEstablished => "Headquarters or base established",
        LootingPropertyDestruction => "Looting/property destruction",
        NonViolentTransferOfTerritory => "Non-violent transfer of territory",
        Other => "Other",
    }
}

/// ACLED's disorder type of an event type.
pub fn acled_disorder_type(e: EventType) -> &'static str {
    match e {
        EventType::Battles
        | EventType::ExplosionsRemoteViolence
        | EventType::ViolenceAgainstCivilians => "Political violence",
        EventType::Protests | EventType::Riots => "Demonstrations",
        EventType::StrategicDevelopments => "Strategic developments",
    }
}

fn derive_out<'a, C: Cells + ?Sized>(d: Derived, f: &'a C) -> Cow<'a, str> {
    let ix = &*IX;
    let occurred = f.cell(ix.occurred_at);
    let event = || event_type_of(f.cell(ix.event_type));
    let text = |s: &'static str| Cow::Borrowed(s);
    match d {
        Derived::Id => Cow::Borrowed(f.cell(ix.id)),
        Derived::Year => Cow::Borrowed(occurred.get(..4).unwrap_or("")),
        Derived::Date => Cow::Borrowed(date_of(occurred)),
        Derived::DisorderType => text(event().map(acled_disorder_type).unwrap_or("")),
        Derived::AcledEventType => text(event().map(|e| e.acled_label()).unwrap_or("")),
        Derived::AcledSubEventType => text(
            sub_event_type_of(f.cell(ix.sub_event_type))
                .map(acled_sub_event_label)
                .unwrap_or(""),
        ),
        Derived::CivilianTargeting => {
            text(if event() == Some(EventType::ViolenceAgainstCivilians) {
                "Civilian targeting"
            } else {
                ""
            })
        }
        Derived::TypeOfViolence => text(if event() == Some(EventType::ViolenceAgainstCivilians) {
            "3"
        } else {
            ""
        }),
        Derived::WherePrec => text(match f.cell(ix.geo_precision) {
            "" | "1" => "1",
            "2" => "2",
            _ => "4",
        }),
        Derived::DatePrec => text(match f.cell(ix.time_precision) {
            "" | "1" => "1",
            "2" => "3",
            _ => "4",
        }),
        Derived::Best => {
            if f.cell(ix.deaths[0]).is_empty() {
                match f.cell(ix.fatalities) {
                    "" => text("0"),
                    x => Cow::Borrowed(x),
                }
            } else {
                let n: u64 = ix
                    .deaths
                    .iter()
                    .map(|&c| f.cell(c).parse::<u64>().unwrap_or(0))
                    .sum();
                Cow::Owned(n.to_string())
            }
        }
        Derived::Empty => text(""),
    }
}

/// A row that could not be read: the file's column and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The column as the file names it.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A header that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

#[derive(Debug, Clone)]
enum Target {
    Ignore,
    /// A Truce column, exactly (Truce/HXL files, exact dataset columns).
    Col(usize),
    /// A dataset column turned into Truce fields by code.
    Derived(&'static str),
    /// A `truce.` column, applied after the dataset's columns.
    Extra(usize),
}

/// How to read the rows of one file, worked out from its header.
#[derive(Debug, Clone)]
pub struct Mapping {
    shape: Shape,
    targets: Vec<Target>,
    names: Vec<String>,
    header_rows: usize,
    /// Truce column -> file column, for error messages.
    file_name: HashMap<&'static str, String>,
}

impl Mapping {
    /// Reads the header of a file of `shape`: its first row and, when there
    /// is one, the row after it (an HXL tag row for Truce and HXL files).
    pub fn new(
        shape: Shape,
        first: &[String],
        second: Option<&[String]>,
    ) -> Result<Mapping, HeaderError> {
        let mut targets = Vec::with_capacity(first.len());
        let mut header_rows = 1;
        let mut names: Vec<String> = first.to_vec();
        match shape {
            Shape::Truce | Shape::Hxl => {
                let tags = if hxl::is_tag_row(first) {
                    Some(first)
                } else if let Some(s) = second.filter(|s| hxl::is_tag_row(s)) {
                    header_rows = 2;
                    Some(s)
                } else {
                    None
                };
                match tags {
                    Some(tags) => {
                        names = tags.to_vec();
                        for t in tags {
                            if t.trim().is_empty() {
                                targets.push(Target::Ignore);
                                continue;
                            }
                            let i = hxl::column_of(t)
                                .ok_or_else(|| HeaderError(format!("unknown HXL hashtag {t:?}")))?;
                            targets.push(Target::Col(i));
                        }
                    }
                    None if shape == Shape::Hxl => {
                        return Err(HeaderError(
                            "no HXL hashtag row in the first two rows".into(),
                        ));
                    }
                    None => {
                        for h in first {
                            let i = index_of(h)
                                .ok_or_else(|| HeaderError(format!("unknown column {h:?}")))?;
                            targets.push(Target::Col(i));
                        }
                    }
                }
            }
            Shape::Acled | Shape::Ucdp => {
                let spec = shape.spec().expect("dataset shapes have a spec");
                for h in first {
                    let t = if let Some(rest) = h.strip_prefix(EXTRA_PREFIX) {
                        Target::Extra(
                            index_of(rest)
                                .ok_or_else(|| HeaderError(format!("unknown column {h:?}")))?,
                        )
                    } else if let Some((_, t)) = spec.exact.iter().find(|(d, _)| d == h) {
                        Target::Col(ix(t))
                    } else if let Some(&c) = spec.columns.iter().find(|c| *c == h) {
                        Target::Derived(c)
                    } else if spec.also_known.contains(&h.as_str()) {
                        Target::Ignore
                    } else {
                        return Err(HeaderError(format!("unknown column {h:?}")));
                    };
                    targets.push(t);
                }
            }
        }
        let mut seen = vec![None::<&str>; COLUMNS.len()];
        let mut file_name = HashMap::new();
        for (t, n) in targets.iter().zip(&names) {
            if let Target::Col(i) | Target::Extra(i) = t {
                if let Some(prev) = seen[*i] {
                    return Err(HeaderError(format!(
                        "columns {prev:?} and {n:?} both hold {}",
                        COLUMNS[*i].name
                    )));
                }
                seen[*i] = Some(n);
                file_name.insert(COLUMNS[*i].name, n.clone());
            }
        }
        for (t, n) in targets.iter().zip(&names) {
            if let Target::Derived(c) = t {
                for f in derived_fields(shape, c) {
                    file_name.entry(*f).or_insert_with(|| n.clone());
                }
            }
        }
        Ok(Mapping {
            shape,
            targets,
            names,
            header_rows,
            file_name,
        })
    }

    /// How many columns the header has.
    pub fn width(&self) -> usize {
        self.targets.len()
    }

    /// How many rows the header took (1, or 2 with an HXL tag row).
    pub fn header_rows(&self) -> usize {
        self.header_rows
    }

    /// The file's name for a Truce field (e.g. `latitude` for
    /// `location.lat` in an ACLED file), for error messages; nested fields
    /// of a record (`location.lat` inside `location`) are matched too.
    pub fn file_column(&self, field: &str) -> String {
        if let Some(n) = self.file_name.get(field) {
            return n.clone();
        }
        match self.shape {
            Shape::Acled | Shape::Ucdp if index_of(field).is_some() => {
                format!("{EXTRA_PREFIX}{field}")
            }
            _ => field.to_string(),
        }
    }

    /// The wire record (with `id` and `sensitivity` when the row has them)
    /// of one data row.
    pub fn read(&self, cells: &[String]) -> Result<Value, FieldError> {
        let mut flat = Flat::empty();
        let mut extras = Vec::new();
        for ((t, cell), name) in self.targets.iter().zip(cells).zip(&self.names) {
            match t {
                Target::Ignore => {}
                Target::Col(i) => flat.0[*i] = cell.clone(),
                Target::Extra(i) => extras.push((*i, cell)),
                Target::Derived(c) => {
                    if !cell.trim().is_empty() {
                        derive_in(self.shape, c, cell.trim(), &mut flat).map_err(|message| {
                            FieldError {
                                field: name.clone(),
                                message,
                            }
                        })?;
                    }
                }
            }
        }
        for (i, cell) in extras {
            if !cell.is_empty() {
                flat.0[i] = cell.clone();
            }
        }
        unflatten(&flat).map_err(|e| FieldError {
            field: self.file_column(e.field),
            message: e.message,
        })
    }
}

/// The Truce fields a derived dataset column sets on import.
fn derived_fields(shape: Shape, column: &str) -> &'static [&'static str] {
    match (shape, column) {
        (Shape::Acled, "event_id_cnty") | (Shape::Ucdp, "id") => &["id"],
        (Shape::Acled, "event_date") | (Shape::Ucdp, "date_start") => &["occurred_at"],
        (Shape::Acled, "event_type") => &["event_type"],
        (Shape::Acled, "sub_event_type") => &["sub_event_type"],
        (Shape::Ucdp, "type_of_violence") => &["event_type", "sub_event_type"],
        (Shape::Ucdp, "where_prec") => &["geo_precision"],
        (Shape::Ucdp, "date_prec") => &["time_precision"],
        (Shape::Ucdp, "best") => &["fatalities"],
        _ => &[],
    }
}

fn foreign_id(prefix: &str, v: &str) -> String {
    match Uuid::parse_str(v) {
        Ok(u) => u.to_string(),
        Err(_) => Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("{prefix}{v}").as_bytes()).to_string(),
    }
}

/// Parses ACLED's and UCDP's date forms: `2023-02-16`, `2023-02-16
/// 00:00:00.000`, `16 May 2025`, `16-May-2025`.
fn parse_date(v: &str) -> Result<String, String> {
    let bad = || format!("{v:?} is not a date (YYYY-MM-DD or 16 May 2025)");
    if let Some(d) = v.get(..10)
        && let Ok(d) = d.parse::<jiff::civil::Date>()
    {
        return Ok(format!("{d}T00:00:00Z"));
    }
    for fmt in ["%d %B %Y", "%d-%B-%Y", "%d %b %Y", "%d-%b-%Y"] {
        if let Ok(d) = jiff::civil::Date::strptime(fmt, v) {
            return Ok(format!("{d}T00:00:00Z"));
        }
    }
    Err(bad())
}

fn label_match(v: &str, label: &str, wire: &str) -> bool {
    v.eq_ignore_ascii_case(label) || v == wire
}

fn derive_in(shape: Shape, column: &str, v: &str, f: &mut Flat) -> Result<(), String> {
    let spec = shape.spec().expect("only dataset shapes derive");
    match (shape, column) {
        (Shape::Acled, "event_id_cnty") | (Shape::Ucdp, "id") => {
            f.set("id", foreign_id(spec.id_prefix, v));
        }
        (Shape::Acled, "event_date") | (Shape::Ucdp, "date_start") => {
            f.set("occurred_at", parse_date(v)?);
        }
        (Shape::Acled, "event_type") => {
            let e = EventType::ALL
                .iter()
                .find(|e| label_match(v, e.acled_label(), e.as_str()))
                .ok_or_else(|| format!("{v:?} is not an ACLED event type"))?;
            f.set("event_type", e.as_str());
        }
        (Shape::Acled, "sub_event_type") => {
            let s = SubEventType::ALL
                .iter()
                .find(|s| label_match(v, acled_sub_event_label(**s), s.as_str()))
                .ok_or_else(|| format!("{v:?} is not an ACLED sub-event type"))?;
            f.set("sub_event_type", s.as_str());
        }
        (Shape::Ucdp, "type_of_violence") => {
            let (e, s) = match v {
                "1" | "2" => (EventType::Battles, SubEventType::ArmedClash),
                "3" => (EventType::ViolenceAgainstCivilians, SubEventType::Attack),
                _ => return Err(format!("{v:?} is not 1, 2 or 3")),
            };
            f.set("event_type", e.as_str());
            f.set("sub_event_type", s.as_str());
        }
        (Shape::Ucdp, "where_prec") => {
            let g = match v {
                "1" => "1",
                "2" => "2",
                "3" | "4" | "5" | "6" | "7" => "3",
                _ => return Err(format!("{v:?} is not a UCDP precision code 1..7")),
            };
            f.set("geo_precision", g);
        }
        (Shape::Ucdp, "date_prec") => {
            let t = match v {
                "1" => "1",
                "2" | "3" => "2",
                "4" | "5" => "3",
                _ => return Err(format!("{v:?} is not a UCDP date precision 1..5")),
            };
            f.set("time_precision", t);
        }
        (Shape::Ucdp, "best") => {
            if v.parse::<u64>().is_err() {
                return Err(format!("{v:?} is not a count of deaths"));
            }
            f.set("fatalities", v);
        }
        // Derived on export only (year, disorder_type, civilian_targeting,
        // date_end): the fields they come from are read elsewhere.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn acled_and_ucdp_headers_start_with_the_datasets_columns() {
        let h = Shape::Acled.header_rows();
        assert_eq!(&h[0][..3], &s(&["event_id_cnty", "event_date", "year"]));
        assert!(h[0].contains(&"truce.occurred_at".to_string()));
        assert!(!h[0].contains(&"truce.location.lat".to_string()));
        let h = Shape::Ucdp.header_rows();
        assert_eq!(h[0][..38].len(), UCDP.columns.len());
        assert!(!h[0].contains(&"truce.deaths.side_a".to_string()));
        assert_eq!(Shape::Hxl.header_rows().len(), 2);
        for shape in Shape::ALL {
            let h = shape.header_rows();
            assert_eq!(h[0].len(), shape.kinds().len());
        }
    }

    #[test]
    fn a_row_from_acled_itself_imports_through_the_mapping() {
        let header = s(&[
            "event_id_cnty",
            "event_date",
            "year",
            "event_type",
            "sub_event_type",
            "actor1",
            "inter1",
            "latitude",
            "longitude",
            "fatalities",
            "iso",
        ]);
        let m = Mapping::new(Shape::Acled, &header, None).unwrap();
        let v = m
            .read(&s(&[
                "AZE123",
                "16 May 2025",
                "2025",
                "Explosions/Remote violence",
                "Shelling/artillery/missile attack",
                "Military Forces",
                "1",
                "39.82",
                "46.75",
                "3",
                "31",
            ]))
            .unwrap();
        assert_eq!(v["occurred_at"], "2025-05-16T00:00:00Z");
        assert_eq!(v["event_type"], "explosions_remote_violence");
        assert_eq!(v["sub_event_type"], "shelling_artillery_missile_attack");
        assert_eq!(v["location"]["lat"], serde_json::json!(39.82));
        assert_eq!(v["fatalities"], serde_json::json!(3));
        // The same foreign id always gives the same UUID.
        let again = m
            .read(&s(&[
                "AZE123",
                "2025-05-16",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ]))
            .unwrap();
        assert_eq!(v["id"], again["id"]);
    }

    #[test]
    fn errors_name_the_files_column() {
        let header = s(&["id", "date_start", "type_of_violence", "latitude"]);
        let m = Mapping::new(Shape::Ucdp, &header, None).unwrap();
        let e = m.read(&s(&["1", "2020-01-01", "9", "1"])).unwrap_err();
        assert_eq!(e.field, "type_of_violence");
        let e = m.read(&s(&["1", "2020-01-01", "1", "north"])).unwrap_err();
        assert_eq!(e.field, "latitude");
        assert_eq!(m.file_column("location.lat"), "latitude");
        assert!(Mapping::new(Shape::Ucdp, &s(&["id", "colour"]), None).is_err());
        assert!(Mapping::new(Shape::Ucdp, &s(&["latitude", "truce.location.lat"]), None).is_err());
    }

    #[test]
    fn hxl_tags_decide_whatever_the_header_says() {
        let first = s(&["Date", "Lat", "Lon", "Comment"]);
        let tags = s(&["#date", "#geo+lat", " #GEO+Lon", ""]);
        let m = Mapping::new(Shape::Hxl, &first, Some(&tags)).unwrap();
        assert_eq!(m.header_rows(), 2);
        let v = m
            .read(&s(&["2026-11-20T10:00:00Z", "39.8", "46.7", "ignored"]))
            .unwrap();
        assert_eq!(v["location"]["lon"], serde_json::json!(46.7));
        assert!(v.get("notes").is_none());
        assert!(Mapping::new(Shape::Hxl, &first, None).is_err());
    }
}
