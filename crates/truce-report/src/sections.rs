//! The bulletin's sections. Each module adds its own section by adding one
//! entry to [`sections`]; a section reads the store and returns figures,
//! sentences, a table, a chart or a map, never prose typed by hand.

use async_trait::async_trait;
use geo::{Contains, MultiPolygon, Point};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use truce_core::geometry::Area;
use truce_core::incident::{CEASEFIRE_VIOLATION, Incident, VerificationStatus};
use truce_core::mine::{HazardArea, HazardStatus};
use truce_core::model::{Aor, Post};
use truce_core::{EntityKind, Envelope, Sensitivity};
use truce_store::{ListQuery, Store};

use crate::ReportError;
use crate::compute::Period;

/// One number, with the same number for the previous period when it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Stable key, e.g. `violations.aor.AOR-1`; recomputation compares by it.
    pub key: String,
    /// What a reader sees.
    pub label: String,
    /// The value.
    pub value: f64,
    /// The previous period's value.
    #[serde(default)]
    pub previous: Option<f64>,
}

/// A table of text cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// A daily series for a trend chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// `(YYYY-MM-DD, value)` in date order.
    pub points: Vec<(String, f64)>,
    /// Bar colour (CSS), when not the default red of violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
}

/// What the map figure draws, in WGS84.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MapFigure {
    /// Outlines (AoRs, hazard areas): `(label, GeoJSON geometry, class)`.
    pub areas: Vec<(String, Value, String)>,
    /// Points (incidents, posts): `(lon, lat, class)`.
    pub points: Vec<(f64, f64, String)>,
}

/// A computed section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionData {
    /// Stable id, e.g. `violations`.
    pub id: String,
    /// Heading.
    pub title: String,
    /// Sentences derived from the figures.
    #[serde(default)]
    pub sentences: Vec<String>,
    /// Figures.
    #[serde(default)]
    pub figures: Vec<Figure>,
    /// A table.
    #[serde(default)]
    pub table: Option<Table>,
    /// A trend chart.
    #[serde(default)]
    pub chart: Option<Chart>,
    /// A map.
    #[serde(default)]
    pub map: Option<MapFigure>,
}

impl SectionData {
    pub(crate) fn new(id: &str, title: &str) -> Self {
        SectionData {
            id: id.into(),
            title: title.into(),
            sentences: Vec::new(),
            figures: Vec::new(),
            table: None,
            chart: None,
            map: None,
        }
    }
}

/// What a section may read.
pub struct SectionContext<'a> {
    /// The store, at the bulletin's journal head.
    pub store: &'a dyn Store,
    /// The period reported on.
    pub period: Period,
    /// The period before.
    pub previous: Period,
}

/// A part of the bulletin.
#[async_trait]
pub trait Section: Send + Sync {
    /// Computes the section, or `None` when the mission has nothing for it.
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError>;
}

/// Every section, in bulletin order: the one place a module adds its own.
pub fn sections() -> Vec<Box<dyn Section>> {
    vec![
        Box::new(PostsStaffed),
        Box::new(Violations),
        Box::new(IncidentTable),
        Box::new(crate::modules::Demining),
        Box::new(crate::modules::Deliveries),
        Box::new(crate::modules::ShelterOccupancy),
        Box::new(crate::modules::Returns),
        Box::new(crate::modules::Exchanges),
        Box::new(crate::modules::Agreements),
        Box::new(crate::modules::ProtectedSites),
    ]
}

/// Every record of `q`, following cursors.
pub(crate) async fn all(store: &dyn Store, mut q: ListQuery) -> Result<Vec<Envelope>, ReportError> {
    q.limit = 10_000;
    q.oldest_first = true;
    let mut out = Vec::new();
    loop {
        let page = store.list(&q).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

pub(crate) fn typed<T: serde::de::DeserializeOwned>(envs: &[Envelope]) -> Vec<(Envelope, T)> {
    envs.iter()
        .filter_map(|e| {
            serde_json::from_value(e.data.clone())
                .ok()
                .map(|t| (e.clone(), t))
        })
        .collect()
}

/// Whether an incident counts as a recorded violation: a ceasefire
/// violation not refuted and not merged into another report.
pub(crate) fn counts_as_violation(i: &Incident) -> bool {
    i.ceasefire_violation.is_some()
        && i.verification.status != VerificationStatus::Refuted
        && i.duplicate_of.is_none()
}

struct PostsStaffed;

#[async_trait]
impl Section for PostsStaffed {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let posts = typed::<Post>(
            &all(
                cx.store,
                ListQuery::new(EntityKind::Post, Sensitivity::Restricted),
            )
            .await?,
        );
        if posts.is_empty() {
            return Ok(None);
        }
        let staffed = posts.iter().filter(|(_, p)| p.staffed).count();
        let mut s = SectionData::new("posts", "Observation posts");
        s.sentences.push(format!(
            "{staffed} of {} observation posts were staffed.",
            posts.len()
        ));
        s.figures.push(Figure {
            key: "posts.staffed".into(),
            label: "Posts staffed".into(),
            value: staffed as f64,
            previous: None,
        });
        s.figures.push(Figure {
            key: "posts.total".into(),
            label: "Posts".into(),
            value: posts.len() as f64,
            previous: None,
        });
        Ok(Some(s))
    }
}

struct Violations;

fn in_period(i: &Incident, p: &Period) -> bool {
    p.contains(i.occurred_at)
}

#[async_trait]
impl Section for Violations {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let aors = typed::<Aor>(
            &all(
                cx.store,
                ListQuery::new(EntityKind::Aor, Sensitivity::Restricted),
            )
            .await?,
        );
        let trend = Period::ending(cx.period.to, 30);
        let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
        q.category = Some(CEASEFIRE_VIOLATION.into());
        q.from = Some(Period::new(trend.from.min(cx.previous.from), cx.period.to)?.start());
        q.to = Some(cx.period.end());
        let incidents: Vec<Incident> = typed::<Incident>(&all(cx.store, q).await?)
            .into_iter()
            .map(|(_, i)| i)
            .filter(counts_as_violation)
            .collect();
        let shapes: Vec<(String, String, MultiPolygon<f64>, &Area)> = aors
            .iter()
            .filter_map(|(_, a)| {
                a.area
                    .to_geo()
                    .ok()
                    .map(|g| (a.code.clone(), a.name.clone(), g, &a.area))
            })
            .collect();
        let mut s = SectionData::new("violations", "Ceasefire violations");
        let mut total = (0usize, 0usize);
        for (code, name, shape, _) in &shapes {
            let inside = |p: &Period| {
                incidents
                    .iter()
                    .filter(|i| {
                        in_period(i, p)
                            && shape.contains(&Point::new(i.location.lon, i.location.lat))
                    })
                    .count()
            };
            let (now, before) = (inside(&cx.period), inside(&cx.previous));
            total.0 += now;
            total.1 += before;
            s.figures.push(Figure {
                key: format!("violations.aor.{code}"),
                label: format!("{code} {name}"),
                value: now as f64,
                previous: Some(before as f64),
            });
        }
        let outside = |p: &Period| {
            incidents
                .iter()
                .filter(|i| in_period(i, p))
                .filter(|i| {
                    !shapes
                        .iter()
                        .any(|(_, _, g, _)| g.contains(&Point::new(i.location.lon, i.location.lat)))
                })
                .count()
        };
        let (out_now, out_before) = (outside(&cx.period), outside(&cx.previous));
        if out_now + out_before > 0 || shapes.is_empty() {
            s.figures.push(Figure {
                key: "violations.outside_aor".into(),
                label: "Outside any area of responsibility".into(),
                value: out_now as f64,
                previous: Some(out_before as f64),
            });
        }
        s.figures.push(Figure {
            key: "violations.total".into(),
            label: "All areas".into(),
            value: (total.0 + out_now) as f64,
            previous: Some((total.1 + out_before) as f64),
        });
        if total.0 == 0 && !shapes.is_empty() {
            s.sentences.push(
                "No ceasefire violations were recorded in the area of responsibility.".into(),
            );
        } else if total.0 > 0 {
            s.sentences.push(format!(
                "{} ceasefire violation{} recorded in the area of responsibility ({} in the previous period).",
                total.0,
                if total.0 == 1 { " was" } else { "s were" },
                total.1
            ));
        }
        let mut per_day: std::collections::BTreeMap<String, f64> =
            trend.days().map(|d| (d.to_string(), 0.0)).collect();
        for i in incidents.iter().filter(|i| in_period(i, &trend)) {
            let day = i
                .occurred_at
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date()
                .to_string();
            if let Some(v) = per_day.get_mut(&day) {
                *v += 1.0;
            }
        }
        s.chart = Some(Chart {
            title: "Ceasefire violations per day, last 30 days".into(),
            points: per_day.into_iter().collect(),
            colour: None,
        });
        let mut map = MapFigure::default();
        for (code, _, _, area) in &shapes {
            map.areas.push((
                code.clone(),
                serde_json::to_value(area).unwrap_or(Value::Null),
                "aor".into(),
            ));
        }
        // Hazard areas still open at the end of the period, as recorded.
        for (_, h) in typed::<HazardArea>(
            &all(
                cx.store,
                ListQuery::new(EntityKind::HazardArea, Sensitivity::Restricted),
            )
            .await?,
        ) {
            if matches!(h.status, HazardStatus::Open | HazardStatus::InProgress)
                && h.recorded_at.is_none_or(|t| t <= cx.period.end())
            {
                map.areas.push((
                    h.code.clone(),
                    serde_json::to_value(&h.area).unwrap_or(Value::Null),
                    "hazard".into(),
                ));
            }
        }
        for i in incidents.iter().filter(|i| in_period(i, &cx.period)) {
            map.points
                .push((i.location.lon, i.location.lat, "violation".into()));
        }
        s.map = Some(map);
        Ok(Some(s))
    }
}

struct IncidentTable;

#[async_trait]
impl Section for IncidentTable {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        // Published tables list what may be published: restricted records are
        // counted in the figures above but not described here.
        let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Mission);
        q.from = Some(cx.period.start());
        q.to = Some(cx.period.end());
        let rows: Vec<(Envelope, Incident)> = typed::<Incident>(&all(cx.store, q).await?)
            .into_iter()
            .filter(|(_, i)| in_period(i, &cx.period) && i.duplicate_of.is_none())
            .collect();
        let mut s = SectionData::new("incidents", "Incidents");
        s.figures.push(Figure {
            key: "incidents.count".into(),
            label: "Incidents listed".into(),
            value: rows.len() as f64,
            previous: None,
        });
        let mut sorted = rows;
        sorted.sort_by(|a, b| {
            a.1.occurred_at
                .cmp(&b.1.occurred_at)
                .then(a.0.id.cmp(&b.0.id))
        });
        s.table = Some(Table {
            columns: ["Time (UTC)", "Place", "Type", "Observed", "Status"]
                .map(String::from)
                .to_vec(),
            rows: sorted
                .iter()
                .map(|(_, i)| {
                    vec![
                        i.occurred_at.strftime("%Y-%m-%d %H:%M").to_string(),
                        i.location_name.clone().unwrap_or_else(|| {
                            format!("{:.3}, {:.3}", i.location.lat, i.location.lon)
                        }),
                        i.sub_event_type.as_str().replace('_', " "),
                        i.ceasefire_violation
                            .as_ref()
                            .map(|v| {
                                format!(
                                    "{} x{} ({})",
                                    v.kind.as_str().replace('_', " "),
                                    v.count,
                                    v.perception.as_str()
                                )
                            })
                            .unwrap_or_default(),
                        i.verification.status.as_str().replace('_', " "),
                    ]
                })
                .collect(),
        });
        Ok(Some(s))
    }
}
