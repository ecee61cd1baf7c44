//! The module sections of the bulletin: demining, deliveries, shelter,
//! returns, exchanges, agreements and protected sites. Each reads the store
//! only (so recomputation from the journal gives the same figures), and each
//! is present even when its module has no data, saying so plainly.
//!
//! Counts include restricted records (the bulletin is the mission's own
//! product); tables name only what is not restricted, and people are only
//! ever counted, never named.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use async_trait::async_trait;
use jiff::Timestamp;
use truce_core::agreements::{Agreement, ImplementationStatus, Provision};
use truce_core::geometry::LatLon;
use truce_core::incident::{DUPLICATE, VerificationStatus};
use truce_core::logistics::{Corridor, round_t};
use truce_core::mine::{MineAccident, MineTask, round_m2};
use truce_core::model::{Party, serde_name};
use truce_core::people::{Exchange, exchange_totals};
use truce_core::shelter::{FlowVerification, MovementKind, ShelterRegistration, ShelterSite};
use truce_core::sites::{Condition, Site};
use truce_core::{EntityKind, Envelope, Sensitivity};
use truce_store::{DeliveredQuery, DeliveredTotal, Grouping, IndexRow, ListQuery, Store};
use uuid::Uuid;

use crate::ReportError;
use crate::compute::Period;
use crate::render::fmt_value as fmt_n;
use crate::sections::{Chart, Figure, Section, SectionContext, SectionData, Table, all, typed};

fn fig(
    key: impl Into<String>,
    label: impl Into<String>,
    value: f64,
    previous: Option<f64>,
) -> Figure {
    Figure {
        key: key.into(),
        label: label.into(),
        value,
        previous,
    }
}

/// Words for a snake_case code: `partially_implemented` -> `partially implemented`.
fn words(code: &str) -> String {
    code.replace('_', " ")
}

/// Counts and quantity sums of `kind` (filtered by `status`, `reference`)
/// whose time falls in `[from, to]`, grouped by `by`.
async fn sums(
    store: &dyn Store,
    kind: EntityKind,
    status: Option<&str>,
    reference: Option<Uuid>,
    from: Option<Timestamp>,
    to: Timestamp,
    by: Grouping,
) -> Result<BTreeMap<String, (u64, f64)>, ReportError> {
    let mut q = ListQuery::new(kind, Sensitivity::Restricted);
    q.status = status.map(str::to_string);
    q.reference = reference;
    q.from = from;
    q.to = Some(to);
    Ok(store
        .aggregate(&q, by)
        .await?
        .into_iter()
        .map(|b| (b.key, (b.count, b.sum)))
        .collect())
}

/// Records of `kind` whose time span meets `[from, to]`.
async fn records<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    kind: EntityKind,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Vec<(Envelope, T)>, ReportError> {
    let mut q = ListQuery::new(kind, Sensitivity::Restricted);
    q.from = from;
    q.to = to;
    Ok(typed::<T>(&all(store, q).await?))
}

/// A name that may be printed: restricted records are counted, not named.
fn public_name(env: &Envelope, name: &str) -> String {
    if env.sensitivity == Sensitivity::Restricted {
        "(restricted)".into()
    } else {
        name.to_string()
    }
}

/// Party names by id, short form first.
async fn party_names(store: &dyn Store) -> Result<BTreeMap<Uuid, String>, ReportError> {
    Ok(records::<Party>(store, EntityKind::Party, None, None)
        .await?
        .into_iter()
        .map(|(e, p)| (e.id, p.short_name.unwrap_or(p.name)))
        .collect())
}

// ---------------------------------------------------------------------------
// Demining

pub(crate) struct Demining;

const METHODS: [(&str, &str); 3] = [
    ("cancelled", "cancelled (non-technical survey)"),
    ("reduced", "reduced (technical survey)"),
    ("cleared", "cleared"),
];

#[async_trait]
impl Section for Demining {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let store = cx.store;
        let (p, prev) = (cx.period, cx.previous);
        let released = |from: Option<Timestamp>, to: Timestamp| {
            sums(
                store,
                EntityKind::LandRelease,
                None,
                None,
                from,
                to,
                Grouping::Category,
            )
        };
        let now = released(Some(p.start()), p.end()).await?;
        let before = released(Some(prev.start()), prev.end()).await?;
        let cum = released(None, p.end()).await?;
        let m2 =
            |m: &BTreeMap<String, (u64, f64)>, k: &str| round_m2(m.get(k).map_or(0.0, |v| v.1));
        let total = |m: &BTreeMap<String, (u64, f64)>| {
            round_m2(METHODS.iter().map(|(k, _)| m2(m, k)).sum::<f64>())
        };
        let mut s = SectionData::new("demining", "Demining progress");
        for (k, label) in METHODS {
            s.figures.push(fig(
                format!("demining.released.{k}"),
                format!("Land {label}, m²"),
                m2(&now, k),
                Some(m2(&before, k)),
            ));
        }
        s.figures.push(fig(
            "demining.released.total",
            "Land released, m²",
            total(&now),
            Some(total(&before)),
        ));
        for (k, label) in METHODS {
            s.figures.push(fig(
                format!("demining.cumulative.{k}"),
                format!("Land {label} since the mission began, m²"),
                m2(&cum, k),
                None,
            ));
        }
        s.figures.push(fig(
            "demining.cumulative.total",
            "Land released since the mission began, m²",
            total(&cum),
            None,
        ));

        // Ordnance: a task's counts belong to the day it was completed; tasks
        // still under way count toward the cumulative figure as recorded.
        let tasks = records::<MineTask>(store, EntityKind::MineTask, None, Some(p.end())).await?;
        let mut ordnance: BTreeMap<String, [u64; 3]> = BTreeMap::new();
        for (_, t) in &tasks {
            let done = t.completed_at;
            let started = t.started_at.or(done);
            for o in &t.ordnance {
                let e = ordnance.entry(serde_name(&o.category)).or_default();
                let d = u64::from(o.destroyed);
                if done.is_some_and(|c| p.contains(c)) {
                    e[0] += d;
                }
                if done.is_some_and(|c| prev.contains(c)) {
                    e[1] += d;
                }
                if started.is_some_and(|t0| t0 <= p.end()) && done.is_none_or(|c| c <= p.end()) {
                    e[2] += d;
                }
            }
        }
        let (mut o_now, mut o_before, mut o_cum) = (0u64, 0u64, 0u64);
        for (cat, [n, b, c]) in &ordnance {
            o_now += n;
            o_before += b;
            o_cum += c;
            s.figures.push(fig(
                format!("demining.ordnance.{cat}"),
                format!("Ordnance destroyed: {}", ordnance_label(cat)),
                *n as f64,
                Some(*b as f64),
            ));
        }
        s.figures.push(fig(
            "demining.ordnance.total",
            "Ordnance destroyed (tasks completed in the period)",
            o_now as f64,
            Some(o_before as f64),
        ));
        for (cat, [_, _, c]) in &ordnance {
            s.figures.push(fig(
                format!("demining.ordnance_cumulative.{cat}"),
                format!(
                    "Ordnance destroyed since the mission began: {}",
                    ordnance_label(cat)
                ),
                *c as f64,
                None,
            ));
        }
        s.figures.push(fig(
            "demining.ordnance_cumulative.total",
            "Ordnance destroyed since the mission began",
            o_cum as f64,
            None,
        ));

        // Hazard areas still to release, as recorded at the journal head.
        let open = crate::sections::open_hazards(store, p.end()).await?;
        let no_hazards = store.count(EntityKind::HazardArea).await? == 0;
        let open_m2 = round_m2(open.iter().map(|h| h.remaining_m2()).sum());
        s.figures.push(fig(
            "demining.hazards.open",
            "Hazard areas open",
            open.len() as f64,
            None,
        ));
        s.figures.push(fig(
            "demining.hazards.open_m2",
            "Land in open hazard areas still to release, m²",
            open_m2,
            None,
        ));

        // Accidents and victims.
        let accidents =
            records::<MineAccident>(store, EntityKind::MineAccident, None, Some(p.end())).await?;
        let victims = |per: Option<&Period>| {
            let mut v = [0u64; 5];
            for (_, a) in accidents
                .iter()
                .filter(|(_, a)| per.is_none_or(|per| per.contains(a.occurred_at)))
            {
                v[0] += 1;
                v[1] += u64::from(a.victims.killed);
                v[2] += u64::from(a.victims.injured);
                v[3] += u64::from(a.victims.children);
                v[4] += u64::from(a.victims.deminers);
            }
            v
        };
        let (a_now, a_before, a_cum) = (victims(Some(&p)), victims(Some(&prev)), victims(None));
        for (i, (k, label)) in [
            ("accidents", "Mine and ordnance accidents"),
            ("killed", "Persons killed"),
            ("injured", "Persons injured"),
            ("children", "Of the victims, children"),
            ("deminers", "Of the victims, deminers"),
        ]
        .into_iter()
        .enumerate()
        {
            s.figures.push(fig(
                format!("demining.{k}"),
                label,
                a_now[i] as f64,
                Some(a_before[i] as f64),
            ));
        }
        s.figures.push(fig(
            "demining.accidents_cumulative",
            "Accidents since the mission began",
            a_cum[0] as f64,
            None,
        ));
        s.figures.push(fig(
            "demining.victims_cumulative",
            "Persons killed or injured since the mission began",
            (a_cum[1] + a_cum[2]) as f64,
            None,
        ));

        if no_hazards && cum.is_empty() && tasks.is_empty() && accidents.is_empty() {
            s.sentences.push(
                "No demining records (hazard areas, tasks, releases or accidents) are held.".into(),
            );
            return Ok(Some(s));
        }
        if total(&now) > 0.0 {
            s.sentences.push(format!(
                "{} m² of land was released in the period ({} m² cancelled, {} m² reduced, {} m² cleared); {} m² since the mission began.",
                fmt_n(total(&now)),
                fmt_n(m2(&now, "cancelled")),
                fmt_n(m2(&now, "reduced")),
                fmt_n(m2(&now, "cleared")),
                fmt_n(total(&cum))
            ));
        } else {
            s.sentences.push(format!(
                "No land was released in the period; {} m² since the mission began.",
                fmt_n(total(&cum))
            ));
        }
        s.sentences.push(format!(
            "{} item{} of explosive ordnance destroyed in tasks completed in the period; {} since the mission began.",
            o_now,
            if o_now == 1 { " was" } else { "s were" },
            o_cum
        ));
        s.sentences.push(format!(
            "{} hazard area{} remain{} open, with {} m² still to release.",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            if open.len() == 1 { "s" } else { "" },
            fmt_n(open_m2)
        ));
        s.sentences.push(if a_now[0] == 0 {
            "No mine or ordnance accident was recorded in the period.".into()
        } else {
            format!(
                "{} mine or ordnance accident{} recorded in the period: {} killed, {} injured.",
                a_now[0],
                if a_now[0] == 1 { " was" } else { "s were" },
                a_now[1],
                a_now[2]
            )
        });
        Ok(Some(s))
    }
}

fn ordnance_label(code: &str) -> String {
    match code {
        "ap_mine" => "anti-personnel mines".into(),
        "at_mine" => "anti-vehicle mines".into(),
        "uxo" => "unexploded ordnance".into(),
        "axo" => "abandoned ordnance".into(),
        "cluster_submunition" => "cluster submunitions".into(),
        "ied" => "improvised explosive devices".into(),
        other => words(other),
    }
}

// ---------------------------------------------------------------------------
// Deliveries

pub(crate) struct Deliveries;

#[async_trait]
impl Section for Deliveries {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let store = cx.store;
        let (p, prev) = (cx.period, cx.previous);
        // Per-day totals kept by the store: the cumulative figure since
        // the mission began sums days, not every manifest line.
        let trend = Period::ending(p.to, 30);
        let cum_rows = store
            .delivered_totals(&DeliveredQuery {
                from: None,
                to: p.end(),
                by_day: false,
                max_sensitivity: Sensitivity::Restricted,
            })
            .await?;
        let day_rows = store
            .delivered_totals(&DeliveredQuery {
                from: Some(prev.start().min(trend.start())),
                to: p.end(),
                by_day: true,
                max_sensitivity: Sensitivity::Restricted,
            })
            .await?;
        // Lines and tonnes by category of the rows `keep` selects.
        let by_category = |rows: &[DeliveredTotal], keep: &dyn Fn(&DeliveredTotal) -> bool| {
            let mut m: BTreeMap<String, (u64, f64)> = BTreeMap::new();
            for r in rows.iter().filter(|r| keep(r)) {
                let e = m.entry(r.category.clone()).or_default();
                e.0 += r.lines;
                e.1 += r.tonnes;
            }
            m
        };
        let in_period = |per: Period| {
            move |r: &DeliveredTotal| r.day.is_some_and(|d| d >= per.from && d <= per.to)
        };
        let now = by_category(&day_rows, &in_period(p));
        let before = by_category(&day_rows, &in_period(prev));
        let cum = by_category(&cum_rows, &|_| true);
        let t = |m: &BTreeMap<String, (u64, f64)>, k: &str| round_t(m.get(k).map_or(0.0, |v| v.1));
        let total = |m: &BTreeMap<String, (u64, f64)>| round_t(m.values().map(|v| v.1).sum());
        let lines = |m: &BTreeMap<String, (u64, f64)>| m.values().map(|v| v.0).sum::<u64>();
        let mut s = SectionData::new("deliveries", "Deliveries");
        for cat in cum.keys() {
            s.figures.push(fig(
                format!("deliveries.tonnes.{cat}"),
                format!("Delivered: {}, t", words(cat)),
                t(&now, cat),
                Some(t(&before, cat)),
            ));
        }
        s.figures.push(fig(
            "deliveries.tonnes.total",
            "Delivered, all categories, t",
            total(&now),
            Some(total(&before)),
        ));
        s.figures.push(fig(
            "deliveries.lines",
            "Manifest lines delivered",
            lines(&now) as f64,
            Some(lines(&before) as f64),
        ));
        for cat in cum.keys() {
            s.figures.push(fig(
                format!("deliveries.cumulative.{cat}"),
                format!("Delivered since the mission began: {}, t", words(cat)),
                t(&cum, cat),
                None,
            ));
        }
        s.figures.push(fig(
            "deliveries.cumulative.total",
            "Delivered since the mission began, all categories, t",
            total(&cum),
            None,
        ));
        s.sentences.push(if total(&now) > 0.0 {
            format!(
                "{} t of aid were delivered in the period ({} t in the previous period); {} t since the mission began.",
                fmt_n(total(&now)),
                fmt_n(total(&before)),
                fmt_n(total(&cum))
            )
        } else {
            format!(
                "No deliveries were recorded in the period; {} t since the mission began.",
                fmt_n(total(&cum))
            )
        });

        // Per corridor, where the mission has corridors.
        let corridors = records::<Corridor>(store, EntityKind::Corridor, None, None).await?;
        if !corridors.is_empty() {
            let mut rows = Vec::new();
            let (mut via_now, mut via_cum) = (0.0, 0.0);
            for (env, c) in &corridors {
                let mine = |r: &DeliveredTotal| r.corridor == Some(env.id);
                let n = by_category(&day_rows, &|r| mine(r) && in_period(p)(r));
                let k = by_category(&cum_rows, &mine);
                let (n, k) = (total(&n), total(&k));
                via_now += n;
                via_cum += k;
                rows.push(vec![public_name(env, &c.name), fmt_n(n), fmt_n(k)]);
            }
            let (other_now, other_cum) = (
                round_t((total(&now) - via_now).max(0.0)),
                round_t((total(&cum) - via_cum).max(0.0)),
            );
            if other_now > 0.0 || other_cum > 0.0 {
                rows.push(vec![
                    "Not by a corridor".into(),
                    fmt_n(other_now),
                    fmt_n(other_cum),
                ]);
            }
            s.table = Some(Table {
                columns: [
                    "Corridor",
                    "Delivered in the period, t",
                    "Since the mission began, t",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            });
        }

        let per_day: BTreeMap<String, (u64, f64)> = trend
            .days()
            .map(|d| {
                let m = by_category(&day_rows, &|r| r.day == Some(d));
                (
                    d.to_string(),
                    (m.values().map(|v| v.0).sum(), m.values().map(|v| v.1).sum()),
                )
            })
            .collect();
        s.chart = Some(Chart {
            title: "Tonnes delivered per day, last 30 days".into(),
            points: trend
                .days()
                .map(|d| {
                    let k = d.to_string();
                    let v = t(&per_day, &k);
                    (k, v)
                })
                .collect(),
            colour: Some("#1f6f43".into()),
        });
        Ok(Some(s))
    }
}

// ---------------------------------------------------------------------------
// Shelter occupancy

pub(crate) struct ShelterOccupancy;

#[derive(Default, Clone, Copy)]
struct Occ {
    households: u64,
    persons: u64,
    children: u64,
    bands: [u64; 4],
}

fn occupancy(regs: &[(Envelope, ShelterRegistration)], site: Uuid, at: Timestamp) -> Occ {
    let mut o = Occ::default();
    for (_, r) in regs
        .iter()
        .filter(|(_, r)| r.site == site && r.present_at(at))
    {
        o.households += 1;
        o.persons += r.people.total();
        o.children += r.people.children();
        for b in [&r.people.female, &r.people.male] {
            o.bands[0] += u64::from(b.age_0_4);
            o.bands[1] += u64::from(b.age_5_17);
            o.bands[2] += u64::from(b.age_18_59);
            o.bands[3] += u64::from(b.age_60_plus);
        }
    }
    o
}

#[async_trait]
impl Section for ShelterOccupancy {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let store = cx.store;
        let (at, prev_at) = (cx.period.end(), cx.previous.end());
        let sites = records::<ShelterSite>(store, EntityKind::ShelterSite, None, None).await?;
        // Stays that reach the end of the previous period or later.
        let regs = records::<ShelterRegistration>(
            store,
            EntityKind::ShelterRegistration,
            Some(prev_at),
            Some(at),
        )
        .await?;
        let mut s = SectionData::new("shelter", "Shelter occupancy");
        let (mut now, mut before) = (Occ::default(), Occ::default());
        let mut rows = Vec::new();
        for (env, site) in &sites {
            let o = occupancy(&regs, env.id, at);
            let b = occupancy(&regs, env.id, prev_at);
            now.households += o.households;
            now.persons += o.persons;
            now.children += o.children;
            before.households += b.households;
            before.persons += b.persons;
            before.children += b.children;
            let mut row = vec![
                public_name(env, &site.name),
                site.capacity_night.to_string(),
                o.households.to_string(),
                o.persons.to_string(),
                o.children.to_string(),
            ];
            row.extend(o.bands.iter().map(u64::to_string));
            rows.push(row);
        }
        for (k, label, v, b) in [
            ("persons", "Persons sheltered", now.persons, before.persons),
            (
                "children",
                "Of whom children under 18",
                now.children,
                before.children,
            ),
            (
                "households",
                "Households",
                now.households,
                before.households,
            ),
        ] {
            s.figures
                .push(fig(format!("shelter.{k}"), label, v as f64, Some(b as f64)));
        }
        s.figures.push(fig(
            "shelter.sites",
            "Shelter sites",
            sites.len() as f64,
            None,
        ));
        if sites.is_empty() {
            s.sentences.push("No shelter sites are recorded.".into());
            return Ok(Some(s));
        }
        s.sentences.push(format!(
            "At the end of the period {} persons ({} children under 18) in {} households were sheltered in {} site{}; {} at the end of the previous period.",
            now.persons,
            now.children,
            now.households,
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            before.persons
        ));
        s.table = Some(Table {
            columns: [
                "Site",
                "Night capacity",
                "Households",
                "Persons",
                "Children (under 18)",
                "Aged 0–4",
                "Aged 5–17",
                "Aged 18–59",
                "Aged 60+",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(Some(s))
    }
}

// ---------------------------------------------------------------------------
// Returns and displacement

pub(crate) struct Returns;

/// Persons of flows, as `truce_core::shelter::flow_totals` counts them.
struct Flows {
    persons: u64,
    verified_persons: u64,
}

#[async_trait]
impl Section for Returns {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let (p, prev) = (cx.period, cx.previous);
        // Persons of the flows of one kind (category), refuted ones left
        // out, by verification (status): sums the store computes, so the
        // figure since the mission began reads no flow records.
        let flows = |kind: MovementKind, per: Option<Period>| {
            let mut q = ListQuery::new(EntityKind::Movement, Sensitivity::Restricted);
            q.category = Some(serde_name(&kind));
            q.not_status = vec![serde_name(&FlowVerification::Refuted)];
            if let Some(per) = per {
                q.from = Some(per.start());
                q.starts_from = Some(per.start());
            }
            q.to = Some(per.map_or(p.end(), |per| per.end()));
            async move {
                let b = cx.store.aggregate(&q, Grouping::Status).await?;
                let verified = serde_name(&FlowVerification::Verified);
                Ok::<_, ReportError>(Flows {
                    persons: b.iter().map(|b| b.sum).sum::<f64>() as u64,
                    verified_persons: b
                        .iter()
                        .filter(|b| b.key == verified)
                        .map(|b| b.sum)
                        .sum::<f64>() as u64,
                })
            }
        };
        let mut s = SectionData::new("returns", "Returns and displacement");
        for (kind, k, what) in [
            (MovementKind::Return, "returns", "returned home"),
            (
                MovementKind::Displacement,
                "displacement",
                "newly displaced",
            ),
        ] {
            let now = flows(kind, Some(p)).await?;
            let before = flows(kind, Some(prev)).await?;
            let cum = flows(kind, None).await?;
            s.figures.push(fig(
                format!("{k}.persons"),
                format!("Persons {what}"),
                now.persons as f64,
                Some(before.persons as f64),
            ));
            s.figures.push(fig(
                format!("{k}.verified"),
                format!("Persons {what}, verified by the mission"),
                now.verified_persons as f64,
                Some(before.verified_persons as f64),
            ));
            s.figures.push(fig(
                format!("{k}.cumulative"),
                format!("Persons {what} since the mission began"),
                cum.persons as f64,
                None,
            ));
            s.sentences.push(if now.persons > 0 {
                format!(
                    "{} persons {what} in the period ({} verified by the mission); {} since the mission began.",
                    now.persons, now.verified_persons, cum.persons
                )
            } else {
                format!(
                    "No persons were recorded as {what} in the period; {} since the mission began.",
                    cum.persons
                )
            });
        }
        Ok(Some(s))
    }
}

// ---------------------------------------------------------------------------
// Exchanges

pub(crate) struct Exchanges;

#[async_trait]
impl Section for Exchanges {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let (p, prev) = (cx.period, cx.previous);
        let xs = records::<Exchange>(cx.store, EntityKind::Exchange, None, Some(p.end())).await?;
        let names = party_names(cx.store).await?;
        let x: Vec<&Exchange> = xs.iter().map(|(_, x)| x).collect();
        let totals = |from: Option<Timestamp>, to: Timestamp| -> BTreeMap<Uuid, (u64, u64, u64)> {
            exchange_totals(
                x.iter().copied(),
                truce_core::people::Period::All,
                from,
                Some(to),
            )
            .into_iter()
            .map(|t| (t.to_party, (t.persons, t.remains, t.exchanges)))
            .collect()
        };
        let now = totals(Some(p.start()), p.end());
        let before = totals(Some(prev.start()), prev.end());
        let cum = totals(None, p.end());
        let count = |per: &Period| x.iter().filter(|e| per.contains(e.at)).count() as f64;
        let sum = |m: &BTreeMap<Uuid, (u64, u64, u64)>, f: fn(&(u64, u64, u64)) -> u64| {
            m.values().map(f).sum::<u64>() as f64
        };
        let mut s = SectionData::new("exchanges", "Exchanges of persons");
        s.figures.push(fig(
            "exchanges.count",
            "Exchanges",
            count(&p),
            Some(count(&prev)),
        ));
        s.figures.push(fig(
            "exchanges.persons",
            "Persons handed over",
            sum(&now, |v| v.0),
            Some(sum(&before, |v| v.0)),
        ));
        s.figures.push(fig(
            "exchanges.remains",
            "Remains handed over",
            sum(&now, |v| v.1),
            Some(sum(&before, |v| v.1)),
        ));
        s.figures.push(fig(
            "exchanges.cumulative.persons",
            "Persons handed over since the mission began",
            sum(&cum, |v| v.0),
            None,
        ));
        s.figures.push(fig(
            "exchanges.cumulative.remains",
            "Remains handed over since the mission began",
            sum(&cum, |v| v.1),
            None,
        ));
        let name = |id: &Uuid| {
            names
                .get(id)
                .cloned()
                .unwrap_or_else(|| "(party not recorded)".into())
        };
        for party in cum.keys() {
            let n = now.get(party).map_or(0, |v| v.0);
            let b = before.get(party).map_or(0, |v| v.0);
            s.figures.push(fig(
                format!("exchanges.received.{party}"),
                format!("Persons received by {}", name(party)),
                n as f64,
                Some(b as f64),
            ));
        }
        if cum.is_empty() {
            s.sentences
                .push("No exchanges of persons have been recorded.".into());
            return Ok(Some(s));
        }
        s.sentences.push(if now.is_empty() {
            format!(
                "No exchange took place in the period; {} persons and {} remains have been handed over since the mission began.",
                sum(&cum, |v| v.0),
                sum(&cum, |v| v.1)
            )
        } else {
            format!(
                "In the period {} persons and {} remains were handed over: {}.",
                sum(&now, |v| v.0),
                sum(&now, |v| v.1),
                now.iter()
                    .map(|(k, v)| format!("{} received {} persons and {} remains", name(k), v.0, v.1))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        });
        s.table = Some(Table {
            columns: [
                "Party receiving",
                "Persons (period)",
                "Remains (period)",
                "Persons since the mission began",
                "Remains since the mission began",
            ]
            .map(String::from)
            .to_vec(),
            rows: cum
                .iter()
                .map(|(k, c)| {
                    let n = now.get(k).copied().unwrap_or_default();
                    vec![
                        name(k),
                        n.0.to_string(),
                        n.1.to_string(),
                        c.0.to_string(),
                        c.1.to_string(),
                    ]
                })
                .collect(),
        });
        Ok(Some(s))
    }
}

// ---------------------------------------------------------------------------
// Agreements

pub(crate) struct Agreements;

#[async_trait]
impl Section for Agreements {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let (d, d_prev) = (cx.period.to, cx.previous.to);
        let agreements: Vec<(Envelope, Agreement)> =
            records::<Agreement>(cx.store, EntityKind::Agreement, None, None)
                .await?
                .into_iter()
                .filter(|(_, a)| a.signed_on <= d)
                .collect();
        let provisions = records::<Provision>(cx.store, EntityKind::Provision, None, None).await?;
        let mut s = SectionData::new("agreements", "Implementation of agreements");
        let signed: std::collections::HashSet<Uuid> =
            agreements.iter().map(|(e, _)| e.id).collect();
        let counted: Vec<&Provision> = provisions
            .iter()
            .map(|(_, p)| p)
            .filter(|p| signed.contains(&p.agreement))
            .collect();
        let count = |day, st: ImplementationStatus| {
            counted.iter().filter(|p| p.status_on(day) == st).count() as f64
        };
        for st in ImplementationStatus::ALL {
            let k = serde_name(&st);
            s.figures.push(fig(
                format!("agreements.provisions.{k}"),
                format!("Provisions {}", words(&k)),
                count(d, st),
                Some(count(d_prev, st)),
            ));
        }
        s.figures.push(fig(
            "agreements.provisions.total",
            "Provisions of agreements in force",
            counted.len() as f64,
            None,
        ));
        if agreements.is_empty() {
            s.sentences
                .push(format!("No agreement signed by {d} is recorded."));
            return Ok(Some(s));
        }
        s.sentences.push(format!(
            "As of {d}, {} of {} provisions of {} agreement{} were implemented, {} partially implemented and {} not started.",
            count(d, ImplementationStatus::Implemented),
            counted.len(),
            agreements.len(),
            if agreements.len() == 1 { "" } else { "s" },
            count(d, ImplementationStatus::PartiallyImplemented),
            count(d, ImplementationStatus::NotStarted),
        ));
        let mut columns = vec![
            "Agreement".to_string(),
            "Signed".into(),
            "Provisions".into(),
        ];
        columns.extend(ImplementationStatus::ALL.iter().map(|st| {
            let w = words(&serde_name(st));
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }));
        let mut sorted = agreements;
        sorted.sort_by(|a, b| a.1.signed_on.cmp(&b.1.signed_on).then(a.0.id.cmp(&b.0.id)));
        s.table = Some(Table {
            columns,
            rows: sorted
                .iter()
                .map(|(env, a)| {
                    let mine: Vec<&&Provision> =
                        counted.iter().filter(|p| p.agreement == env.id).collect();
                    let mut row = vec![
                        public_name(env, &a.title),
                        a.signed_on.to_string(),
                        mine.len().to_string(),
                    ];
                    row.extend(ImplementationStatus::ALL.iter().map(|st| {
                        mine.iter()
                            .filter(|p| p.status_on(d) == *st)
                            .count()
                            .to_string()
                    }));
                    row
                })
                .collect(),
        });
        Ok(Some(s))
    }
}

// ---------------------------------------------------------------------------
// Protected sites

pub(crate) struct ProtectedSites;

/// Whether a condition (its wire name, as indexed) is damage.
fn damaged(c: &str) -> bool {
    [
        Condition::MinorDamage,
        Condition::MajorDamage,
        Condition::Destroyed,
    ]
    .iter()
    .any(|d| serde_name(d) == c)
}

/// A box that holds every point within the site's watch radius (of its
/// outline or location), so distances are computed only for points in it.
fn watch_box(site: &Site) -> [f64; 4] {
    let [x0, y0, x1, y1] = site.outline.as_ref().and_then(|a| a.bbox()).unwrap_or([
        site.location.lon,
        site.location.lat,
        site.location.lon,
        site.location.lat,
    ]);
    // A degree of latitude is at least 110.5 km; widen generously.
    let dlat = site.watch_radius_m / 100_000.0 + 1e-4;
    let cos = (y0.abs().max(y1.abs()) + dlat).min(89.0).to_radians().cos();
    let dlon = dlat / cos.max(1e-3);
    [x0 - dlon, y0 - dlat, x1 + dlon, y1 + dlat]
}

#[async_trait]
impl Section for ProtectedSites {
    async fn compute(&self, cx: &SectionContext<'_>) -> Result<Option<SectionData>, ReportError> {
        let (p, prev) = (cx.period, cx.previous);
        // Assessments up to the end of the period, from the index alone:
        // time (`assessed_at`), condition (`category`), site (`refs`).
        let mut aq = ListQuery::new(EntityKind::SiteAssessment, Sensitivity::Restricted);
        aq.to = Some(p.end());
        // Incidents of both periods that stand (not refuted, not merged):
        // their time and point only.
        let mut iq = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
        iq.from = Some(prev.start());
        iq.starts_from = Some(prev.start());
        iq.to = Some(p.end());
        iq.not_category = vec![DUPLICATE.into()];
        iq.not_status = vec![VerificationStatus::Refuted.as_str().into()];
        // Three reads side by side: at ten years the assessments alone
        // (thousands of rows spread through the file) are the bulletin's
        // longest read.
        let (sites, assessments, incidents) = futures::try_join!(
            records::<Site>(cx.store, EntityKind::Site, None, None),
            async { Ok(cx.store.index_rows(&aq).await?) },
            async { Ok(cx.store.index_rows(&iq).await?) },
        )?;
        let assessments: Vec<IndexRow> = assessments
            .into_iter()
            .filter(|a| a.time_start.is_some())
            .collect();
        let incidents: Vec<(Timestamp, LatLon)> = incidents
            .into_iter()
            .filter_map(|r| {
                let (lon, lat) = r.point?;
                Some((r.time_start?, LatLon { lat, lon }))
            })
            .collect();
        // Each site's assessments, and the periods as instants, once: the
        // loops below run for every site (hundreds) over thousands of rows.
        let mut of_site: HashMap<Uuid, Vec<&IndexRow>> = HashMap::new();
        for a in &assessments {
            for site in &a.refs {
                let list = of_site.entry(*site).or_default();
                if !list.last().is_some_and(|last| std::ptr::eq(*last, a)) {
                    list.push(a);
                }
            }
        }
        let of_site = |site: Uuid| of_site.get(&site).map_or(&[][..], Vec::as_slice);
        let (this, before) = (p.instants(), prev.instants());
        let latest = |site: Uuid, at: Timestamp| {
            of_site(site)
                .iter()
                .copied()
                .filter(|a| a.time_start.is_some_and(|t| t <= at))
                .max_by(|x, y| x.time_start.cmp(&y.time_start).then(x.id.cmp(&y.id)))
        };
        let condition = |a: Option<&IndexRow>| a.and_then(|a| a.category.clone());
        let assessed_in = |site: Uuid, per: &RangeInclusive<Timestamp>| {
            of_site(site)
                .iter()
                .filter(|a| a.time_start.is_some_and(|t| per.contains(&t)))
                .count()
        };
        let near = |site: &Site, per: &RangeInclusive<Timestamp>| {
            let [x0, y0, x1, y1] = watch_box(site);
            incidents
                .iter()
                .filter(|(t, l)| {
                    per.contains(t) && l.lon >= x0 && l.lon <= x1 && l.lat >= y0 && l.lat <= y1
                })
                .filter(|(_, l)| site.distance_to_point_m(*l) <= site.watch_radius_m)
                .count()
        };
        let mut s = SectionData::new("sites", "Protected sites");
        let mut tot = [0usize; 6];
        let mut rows = Vec::new();
        for (env, site) in &sites {
            let l = latest(env.id, p.end());
            let lb = latest(env.id, prev.end());
            tot[0] += assessed_in(env.id, &this);
            tot[1] += assessed_in(env.id, &before);
            tot[2] += usize::from(condition(l).as_deref().is_some_and(damaged));
            tot[3] += usize::from(condition(lb).as_deref().is_some_and(damaged));
            let (n, nb) = (near(site, &this), near(site, &before));
            tot[4] += n;
            tot[5] += nb;
            rows.push(vec![
                public_name(env, &site.name),
                words(&serde_name(&site.category)),
                condition(l).as_deref().map_or("not assessed".into(), words),
                l.and_then(|a| a.time_start)
                    .map_or(String::new(), |t| t.strftime("%Y-%m-%d").to_string()),
                assessed_in(env.id, &this).to_string(),
                n.to_string(),
            ]);
        }
        s.figures.push(fig(
            "sites.count",
            "Protected sites",
            sites.len() as f64,
            None,
        ));
        s.figures.push(fig(
            "sites.assessments",
            "Condition assessments",
            tot[0] as f64,
            Some(tot[1] as f64),
        ));
        s.figures.push(fig(
            "sites.damaged",
            "Sites whose latest assessment found damage",
            tot[2] as f64,
            Some(tot[3] as f64),
        ));
        s.figures.push(fig(
            "sites.incidents_near",
            "Incidents within a site's watch radius",
            tot[4] as f64,
            Some(tot[5] as f64),
        ));
        if sites.is_empty() {
            s.sentences.push("No protected sites are recorded.".into());
            return Ok(Some(s));
        }
        s.sentences.push(format!(
            "{} of {} protected site{} had damage at their latest assessment; {} assessment{} in the period; {} incident{} recorded within a site's watch radius.",
            tot[2],
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            tot[0],
            if tot[0] == 1 { " was made" } else { "s were made" },
            tot[4],
            if tot[4] == 1 { " was" } else { "s were" },
        ));
        s.table = Some(Table {
            columns: [
                "Site",
                "Category",
                "Latest condition",
                "Assessed",
                "Assessments in the period",
                "Incidents nearby in the period",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(Some(s))
    }
}
