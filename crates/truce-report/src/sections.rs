//! The bulletin's sections. Each module adds its own section by adding one
//! entry to [`sections`]; a section reads the store and returns figures,
//! sentences, a table, a chart or a map, never prose typed by hand.

use async_trait::async_trait;
use geo::{Contains, MultiPolygon, Point};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::RangeInclusive;
use truce_core::geometry::Area;
use truce_core::incident::{CEASEFIRE_VIOLATION, DUPLICATE, Incident, VerificationStatus};
use truce_core::mine::{HazardArea, HazardStatus};
use truce_core::model::{Aor, Post};
use truce_core::{EntityKind, Envelope, Sensitivity};
use truce_store::{Grouping, ListQuery, Store};
use uuid::Uuid;

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
    q.oldest_first = true;
    Ok(store.list_all(q).await?)
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

/// The query for the incidents that count as recorded violations
/// ([`Incident::counts_as_violation`]), from the index alone: tagged as violations,
/// not refuted, not merged into another report; starting from `from`.
pub(crate) fn violations_query(from: Timestamp, to: Timestamp) -> ListQuery {
    let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    q.category = Some(CEASEFIRE_VIOLATION.into());
    q.not_category = vec![DUPLICATE.into()];
    q.not_status = vec![VerificationStatus::Refuted.as_str().into()];
    q.from = Some(from);
    q.starts_from = Some(from);
    q.to = Some(to);
    q
}

/// Hazard areas open or in progress at `end`, as recorded at the journal
/// head (read by status, so released areas are not read at all).
pub(crate) async fn open_hazards(
    store: &dyn Store,
    end: Timestamp,
) -> Result<Vec<HazardArea>, ReportError> {
    let mut out = Vec::new();
    for st in [HazardStatus::Open, HazardStatus::InProgress] {
        let mut q = ListQuery::new(EntityKind::HazardArea, Sensitivity::Restricted);
        q.status = Some(truce_core::model::serde_name(&st));
        out.extend(typed::<HazardArea>(&all(store, q).await?));
    }
    // In creation order, as one list of every hazard area gave them.
    out.sort_by_key(|(e, _)| (e.created_at, e.id));
    Ok(out
        .into_iter()
        .map(|(_, h)| h)
        .filter(|h| {
            matches!(h.status, HazardStatus::Open | HazardStatus::InProgress)
                && h.recorded_at.is_none_or(|t| t <= end)
        })
        .collect())
}

#[async_trait]
impl Section for Violations {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let trend = Period::ending(cx.period.to, 30);
        // The AoRs, the violations of this period and the previous one
        // (index rows: time and point only, however many there are) and the
        // 30-day trend (one count per day, computed by the store), read
        // side by side.
        let (aors, incidents, per_day_counts) = futures::try_join!(
            all(
                cx.store,
                ListQuery::new(EntityKind::Aor, Sensitivity::Restricted),
            ),
            async {
                Ok(cx
                    .store
                    .index_rows(&violations_query(cx.previous.start(), cx.period.end()))
                    .await?)
            },
            async {
                Ok(cx
                    .store
                    .aggregate(&violations_query(trend.start(), trend.end()), Grouping::Day)
                    .await?)
            },
        )?;
        let aors = typed::<Aor>(&aors);
        let incidents: Vec<(Timestamp, f64, f64)> = incidents
            .into_iter()
            .filter_map(|r| {
                let (lon, lat) = r.point?;
                Some((r.time_start?, lon, lat))
            })
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
        // The periods as instants, once (the loops run over every incident).
        let (in_period, in_previous) = (cx.period.instants(), cx.previous.instants());
        for (code, name, shape, _) in &shapes {
            let inside = |p: &RangeInclusive<Timestamp>| {
                incidents
                    .iter()
                    .filter(|(t, lon, lat)| {
                        p.contains(t) && shape.contains(&Point::new(*lon, *lat))
                    })
                    .count()
            };
            let (now, before) = (inside(&in_period), inside(&in_previous));
            total.0 += now;
            total.1 += before;
            s.figures.push(Figure {
                key: format!("violations.aor.{code}"),
                label: format!("{code} {name}"),
                value: now as f64,
                previous: Some(before as f64),
            });
        }
        let outside = |p: &RangeInclusive<Timestamp>| {
            incidents
                .iter()
                .filter(|(t, _, _)| p.contains(t))
                .filter(|(_, lon, lat)| {
                    !shapes
                        .iter()
                        .any(|(_, _, g, _)| g.contains(&Point::new(*lon, *lat)))
                })
                .count()
        };
        let (out_now, out_before) = (outside(&in_period), outside(&in_previous));
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
        for b in per_day_counts {
            if let Some(v) = per_day.get_mut(&b.key) {
                *v += b.count as f64;
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
        for h in open_hazards(cx.store, cx.period.end()).await? {
            map.areas.push((
                h.code.clone(),
                serde_json::to_value(&h.area).unwrap_or(Value::Null),
                "hazard".into(),
            ));
        }
        for (_, lon, lat) in incidents.iter().filter(|(t, _, _)| cx.period.contains(*t)) {
            map.points.push((*lon, *lat, "violation".into()));
        }
        s.map = Some(map);
        Ok(Some(s))
    }
}

struct IncidentTable;

/// Rows of the incident table at most: a busy day holds thousands of
/// incidents; the table shows the first ones in time order and says how
/// many more there are and where to get all of them (the export), while
/// the figures count every one.
pub const INCIDENT_TABLE_ROWS: usize = 200;

#[async_trait]
impl Section for IncidentTable {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        // Published tables list what may be published: restricted records are
        // counted in the figures above but not described here.
        let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Mission);
        q.from = Some(cx.period.start());
        q.starts_from = Some(cx.period.start());
        q.to = Some(cx.period.end());
        q.not_category = vec![DUPLICATE.into()];
        let mut listed: Vec<(Timestamp, Uuid)> = cx
            .store
            .index_rows(&q)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.time_start?, r.id)))
            .collect();
        listed.sort();
        let mut s = SectionData::new("incidents", "Incidents");
        s.figures.push(Figure {
            key: "incidents.count".into(),
            label: "Incidents listed".into(),
            value: listed.len() as f64,
            previous: None,
        });
        let mut shown = Vec::new();
        for (_, id) in listed.iter().take(INCIDENT_TABLE_ROWS) {
            if let Some(env) = cx.store.get(*id).await? {
                shown.extend(typed::<Incident>(std::slice::from_ref(&env)));
            }
        }
        if listed.len() > shown.len() {
            s.sentences.push(format!(
                "The table lists the first {} of the {} incidents in time order; every one is counted above and all of them are in the incident export for the period (GET /api/v1/exports/incidents?from={}T00:00:00Z&to={}T23:59:59Z).",
                shown.len(),
                listed.len(),
                cx.period.from,
                cx.period.to
            ));
        }
        s.table = Some(Table {
            columns: ["Time (UTC)", "Place", "Type", "Observed", "Status"]
                .map(String::from)
                .to_vec(),
            rows: shown
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
