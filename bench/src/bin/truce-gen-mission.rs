//! Builds a large, realistic mission database for the bulletin and export
//! benchmarks (see bench/README.md, "Bulletin at scale").
//!
//! Start from the demo (`truce --db DB demo --load-only --days D`), then run
//! this on the same file: it reads the demo's parties, posts, corridors and
//! module records and writes, day by day in time order over `--years`,
//! `--incidents` incidents (near staffed posts, as the demo's generator
//! places them), `--lines` delivered manifest lines in arrived convoys, and
//! copies of the demo's other module records (shelter registrations, flows,
//! assessments, demining, exchanges, agreements) at fixed yearly rates, each
//! time-shifted and validated again. Everything goes through the store's
//! bulk path (`Store::apply_stream`), one transaction per `--batch-days`
//! days, so the journal and `truce verify` hold. Deterministic for a seed
//! and an end time (`--end`), apart from the UUIDv7 ids.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use truce_core::{EntityKind, Envelope, Sensitivity, ValidationContext};
use truce_store::{Change, Command, ImportChunk, ListQuery, Store};
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Grow a demo mission database into a large benchmark mission")]
struct Args {
    /// The database, holding the demo (`truce demo --load-only`).
    #[arg(long)]
    db: PathBuf,
    /// Incidents to add.
    #[arg(long, default_value_t = 10_000_000)]
    incidents: u64,
    /// Delivered manifest lines to add (in arrived convoys of 4 to 12 lines).
    #[arg(long, default_value_t = 1_000_000)]
    lines: u64,
    /// Years the data spans, ending at `--end`.
    #[arg(long, default_value_t = 10.0)]
    years: f64,
    /// Last instant of the data (RFC 3339); default: now rounded down to the hour.
    #[arg(long)]
    end: Option<Timestamp>,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Days per transaction.
    #[arg(long, default_value_t = 30)]
    batch_days: i64,
}

/// Copies per year of each demo module kind.
const MODULE_RATES: [(EntityKind, u64); 12] = [
    (EntityKind::ShelterRegistration, 2_000),
    (EntityKind::Movement, 730),
    (EntityKind::SiteAssessment, 500),
    (EntityKind::Site, 20),
    (EntityKind::MineAccident, 40),
    (EntityKind::MineTask, 300),
    (EntityKind::LandRelease, 600),
    (EntityKind::HazardArea, 150),
    (EntityKind::Exchange, 15),
    (EntityKind::Agreement, 3),
    (EntityKind::Provision, 30),
    (EntityKind::Meeting, 50),
];

struct PostInfo {
    id: Uuid,
    code: String,
    name: String,
    lat: f64,
    lon: f64,
}

async fn all(store: &dyn Store, kind: EntityKind) -> Result<Vec<Envelope>> {
    let mut q = ListQuery::new(kind, Sensitivity::Restricted);
    q.oldest_first = true;
    Ok(store.list_all(q).await?)
}

/// Every instant and date in a record, as seconds (dates at midnight UTC).
fn times(v: &Value, out: &mut Vec<i64>) {
    match v {
        Value::String(s) => {
            if let Ok(t) = s.parse::<Timestamp>() {
                out.push(t.as_second());
            } else if s.len() == 10
                && let Ok(d) = s.parse::<jiff::civil::Date>()
                && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
            {
                out.push(z.timestamp().as_second());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| times(x, out)),
        Value::Object(m) => m.values().for_each(|x| times(x, out)),
        _ => {}
    }
}

/// Shifts every instant by `secs` and every date by the whole days of it.
fn shift(v: &mut Value, secs: i64) {
    match v {
        Value::String(s) => {
            if let Ok(t) = s.parse::<Timestamp>() {
                *s = (t + SignedDuration::from_secs(secs)).to_string();
            } else if s.len() == 10
                && let Ok(d) = s.parse::<jiff::civil::Date>()
                && let Ok(d2) = d.checked_add(jiff::Span::new().days(secs.div_euclid(86_400)))
            {
                *s = d2.to_string();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift(x, secs)),
        Value::Object(m) => m.values_mut().for_each(|x| shift(x, secs)),
        _ => {}
    }
}

struct Gen {
    rng: StdRng,
    ctx: ValidationContext,
    refused: BTreeMap<String, u64>,
}

impl Gen {
    fn create(
        &mut self,
        kind: EntityKind,
        sensitivity: Sensitivity,
        data: Value,
    ) -> Option<(Uuid, Command)> {
        match kind.validate_json(data, &self.ctx) {
            Ok(record) => {
                let id = Uuid::now_v7();
                Some((
                    id,
                    Command {
                        actor: "bench".into(),
                        reason: Some("benchmark mission (truce-gen-mission)".into()),
                        idempotency: None,
                        change: Change::Create {
                            kind,
                            id,
                            sensitivity,
                            record,
                        },
                    },
                ))
            }
            Err(e) => {
                let n = self.refused.entry(format!("{kind}: {e}")).or_default();
                *n += 1;
                None
            }
        }
    }
}

const VIOLATION_KINDS: [&str; 6] = [
    "explosion",
    "shot",
    "burst",
    "projectile_in_flight",
    "muzzle_flash",
    "illumination_flare",
];
const PERCEPTIONS: [&str; 6] = ["heard", "heard", "heard", "seen", "camera", "uav"];
/// Category, item, unit, kg per piece, least and most per line.
type Item = (
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
    f64,
    f64,
);
const ITEMS: [Item; 7] = [
    ("food", "wheat flour", "t", None, 5.0, 40.0),
    ("fuel", "diesel", "l", None, 5_000.0, 30_000.0),
    (
        "medical",
        "emergency health kit",
        "kg",
        None,
        200.0,
        3_000.0,
    ),
    ("water", "bottled water", "m3", None, 5.0, 20.0),
    ("shelter", "family tent", "tents", Some(32.0), 50.0, 400.0),
    (
        "hygiene",
        "family hygiene kit",
        "kits",
        Some(4.5),
        200.0,
        2_000.0,
    ),
    ("construction_material", "cement", "t", None, 10.0, 150.0),
];

#[allow(clippy::too_many_arguments)]
fn incident(
    g: &mut Gen,
    at: Timestamp,
    end: Timestamp,
    posts: &[PostInfo],
    parties: &[Uuid],
    recent: &mut Vec<Uuid>,
) -> Option<(Uuid, Command)> {
    let rng = &mut g.rng;
    let pi = rng.gen_range(0..posts.len());
    let p = &posts[pi];
    let bearing: f64 = rng.gen_range(0.0..360.0);
    let dist_m: f64 = rng.gen_range(800.0..6000.0);
    let (dlat, dlon) = (
        dist_m * bearing.to_radians().cos() / 111_320.0,
        dist_m * bearing.to_radians().sin() / (111_320.0 * p.lat.to_radians().cos()),
    );
    let age_days = (end - at).get_hours() / 24;
    let status = match (age_days, rng.gen_range(0..20)) {
        (0, _) => "reported",
        (1..=2, 0..=11) => "under_verification",
        (_, 0..=13) => "verified",
        (_, 14) => "refuted",
        (_, 15..=16) => "unverified",
        _ => "reported",
    };
    let is_violation = rng.gen_bool(0.85);
    let mut data = if is_violation {
        let kind = VIOLATION_KINDS[rng.gen_range(0..VIOLATION_KINDS.len())];
        let explosion = kind == "explosion";
        json!({
            "event_type": if explosion { "explosions_remote_violence" } else { "battles" },
            "sub_event_type": if explosion { "shelling_artillery_missile_attack" } else { "armed_clash" },
            "ceasefire_violation": {
                "kind": kind,
                "explosion_subtype": if explosion { json!((["impact", "outgoing", "airburst", "undetermined"][rng.gen_range(0..4)])) } else { Value::Null },
                "perception": (PERCEPTIONS[rng.gen_range(0..PERCEPTIONS.len())]),
                "direction_deg": ((bearing * 10.0).round() / 10.0) % 360.0,
                "distance_min_m": (dist_m * 0.7).round(),
                "distance_max_m": (dist_m * 1.3).round(),
                "observing_post": (p.id),
                "count": rng.gen_range(1..15),
                "attributed_to": match rng.gen_range(0..3) { 0 => json!(parties[0]), 1 => json!(parties[1 % parties.len()]), _ => Value::Null },
            },
            "source": format!("{} observation post", p.code),
            "source_scale": "Mission",
            "source_grading": {"reliability": "A", "credibility": rng.gen_range(1..4)},
        })
    } else {
        json!({
            "event_type": "strategic_developments",
            "sub_event_type": (["looting_property_destruction", "arrests", "other"][rng.gen_range(0..3)]),
            "source": "Local partner report",
            "source_scale": "Local partner",
            "source_grading": {"reliability": (["B", "C", "D"][rng.gen_range(0..3)]), "credibility": rng.gen_range(2..6)},
        })
    };
    data["occurred_at"] = json!(at);
    data["location"] = json!({"lat": ((p.lat + dlat) * 1e5).round() / 1e5, "lon": ((p.lon + dlon) * 1e5).round() / 1e5});
    data["location_name"] = json!(format!("near {}", p.name));
    data["time_precision"] = json!(1);
    data["geo_precision"] = json!(if is_violation { 2 } else { 1 });
    data["verification"] = json!({"status": status, "by": if status == "reported" { Value::Null } else { json!("analyst") }});
    data["notes"] = json!(if is_violation {
        format!("Observed from {} ({}).", p.code, p.name)
    } else {
        "Reported by a local partner; not observed by the mission.".to_string()
    });
    // About 1 % are later merged into an earlier report of the same day.
    if !recent.is_empty() && rng.gen_bool(0.01) {
        data["duplicate_of"] = json!(recent[rng.gen_range(0..recent.len())]);
    }
    let sensitivity = if rng.gen_bool(0.05) {
        Sensitivity::Restricted
    } else if rng.gen_bool(0.5) {
        Sensitivity::Public
    } else {
        Sensitivity::Mission
    };
    let out = g.create(EntityKind::Incident, sensitivity, data)?;
    if recent.len() < 64 {
        recent.push(out.0);
    } else {
        let i = g.rng.gen_range(0..recent.len());
        recent[i] = out.0;
    }
    Some(out)
}

/// An arrived convoy at `arrived` with `n` delivered lines: the convoy (a
/// time-shifted copy of the demo's arrived convoy) and its lines.
fn convoy(
    g: &mut Gen,
    template: &Envelope,
    arrived: Timestamp,
    seq: u64,
    corridors: &[(Uuid, Value)],
    n: u64,
) -> Vec<(Uuid, Command)> {
    let mut data = template.data.clone();
    let mut ts = Vec::new();
    times(&data, &mut ts);
    let last = ts.iter().copied().max().unwrap_or(0);
    shift(&mut data, arrived.as_second() - last);
    // The route stays the corridor's (by reference): a copy of its road
    // geometry in each of 100,000 convoys would be most of the database.
    let (corridor, _) = &corridors[g.rng.gen_range(0..corridors.len())];
    data["corridor"] = json!(corridor);
    data["route"] = Value::Null;
    data["route_check"] = Value::Null;
    data["code"] = json!(format!("CV-B{seq:07}"));
    let at = data["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|e| e["at"].as_str())
        .and_then(|s| s.parse::<Timestamp>().ok())
        .unwrap_or(arrived);
    let cid = Uuid::now_v7();
    let mut lines = Vec::new();
    let (mut dispatched, mut delivered) = (0.0, 0.0);
    for _ in 0..n {
        let (cat, item, unit, mass, lo, hi) = ITEMS[g.rng.gen_range(0..ITEMS.len())];
        let q: f64 = (g.rng.gen_range(lo..hi) * 10.0_f64).round() / 10.0;
        let dq = if g.rng.gen_bool(0.9) {
            q
        } else {
            (q * g.rng.gen_range(0.5..1.0) * 10.0).round() / 10.0
        };
        let l = json!({"convoy": cid, "corridor": corridor, "category": cat, "item": item,
                       "quantity": q, "unit": unit, "unit_mass_kg": mass,
                       "delivered_quantity": dq, "delivered_at": at});
        if let Ok(ml) = serde_json::from_value::<truce_core::logistics::ManifestLine>(l.clone()) {
            dispatched += ml.tonnes().unwrap_or(0.0);
            delivered += ml.delivered_tonnes();
        }
        let s = if g.rng.gen_bool(0.1) {
            Sensitivity::Public
        } else {
            Sensitivity::Mission
        };
        if let Some(c) = g.create(EntityKind::ManifestLine, s, l) {
            lines.push(c);
        }
    }
    data["manifest_lines"] = json!(lines.len());
    data["manifest_tonnes"] = json!(truce_core::logistics::round_t(dispatched));
    data["delivered_tonnes"] = json!(truce_core::logistics::round_t(delivered));
    let mut out = Vec::new();
    if let Ok(record) = EntityKind::Convoy.validate_json(data, &g.ctx) {
        out.push((
            cid,
            Command {
                actor: "bench".into(),
                reason: Some("benchmark mission (truce-gen-mission)".into()),
                idempotency: None,
                change: Change::Create {
                    kind: EntityKind::Convoy,
                    id: cid,
                    sensitivity: template.sensitivity,
                    record,
                },
            },
        ));
    } else {
        *g.refused.entry("convoy copy".into()).or_default() += 1;
    }
    out.extend(lines);
    out
}

/// A copy of `template` whose latest time is `at`.
fn copy(
    g: &mut Gen,
    template: &Envelope,
    at: Timestamp,
    end: Timestamp,
    seq: u64,
) -> Option<(Uuid, Command)> {
    let mut data = template.data.clone();
    let mut ts = Vec::new();
    times(&data, &mut ts);
    let last = ts.iter().copied().max().unwrap_or(0);
    shift(&mut data, at.as_second() - last);
    // Shelter stays last days to months: a copy of a stay still open leaves
    // when that time has passed, so occupancy stays what a site holds.
    if template.kind == EntityKind::ShelterRegistration && data["checked_out_at"].is_null() {
        let out = at + SignedDuration::from_hours(g.rng.gen_range(24..24 * 120));
        if out < end {
            data["status"] = json!("checked_out");
            data["checked_out_at"] = json!(out);
            data["checked_out_to"] = json!("returned home");
        }
    }
    // Names and codes stay distinguishable.
    for key in ["code", "household", "name", "title"] {
        if let Some(s) = data.get(key).and_then(Value::as_str) {
            data[key] = json!(format!("{s} #{seq}"));
        }
    }
    if template.data.get("number").is_some_and(Value::is_string) {
        data["number"] = json!(format!(
            "{}.{seq}",
            template.data["number"].as_str().unwrap_or("")
        ));
    }
    g.create(template.kind, template.sensitivity, data)
}

async fn write(store: &truce_store::sqlite::SqliteStore, cmds: Vec<Command>) -> Result<u64> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.apply_stream(rx).await })
    };
    let mut it = cmds.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<Command> = it.by_ref().take(4096).collect();
        tx.send(ImportChunk::Commands(chunk))
            .await
            .map_err(|_| anyhow!("the store stopped the import"))?;
    }
    tx.send(ImportChunk::Commit)
        .await
        .map_err(|_| anyhow!("the store stopped the import"))?;
    Ok(writer.await??)
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = Args::parse();
    let store = truce_store::sqlite::SqliteStore::open(&a.db)
        .await
        .with_context(|| format!("opening {}", a.db.display()))?;
    let now = Timestamp::now();
    let end = a
        .end
        .unwrap_or_else(|| Timestamp::from_second(now.as_second() / 3600 * 3600).unwrap_or(now));
    let days = (a.years * 365.25).round() as i64;
    let start = end - SignedDuration::from_hours(24 * days);
    let mut g = Gen {
        rng: StdRng::seed_from_u64(a.seed),
        ctx: ValidationContext { now },
        refused: BTreeMap::new(),
    };
    let parties: Vec<Uuid> = all(&store, EntityKind::Party)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    let posts: Vec<PostInfo> = all(&store, EntityKind::Post)
        .await?
        .into_iter()
        .filter(|e| e.data["staffed"] == json!(true))
        .filter_map(|e| {
            Some(PostInfo {
                id: e.id,
                code: e.data["code"].as_str()?.to_string(),
                name: e.data["name"].as_str()?.to_string(),
                lat: e.data["location"]["lat"].as_f64()?,
                lon: e.data["location"]["lon"].as_f64()?,
            })
        })
        .collect();
    let corridors: Vec<(Uuid, Value)> = all(&store, EntityKind::Corridor)
        .await?
        .into_iter()
        .map(|e| (e.id, e.data["route"].clone()))
        .collect();
    let template = all(&store, EntityKind::Convoy)
        .await?
        .into_iter()
        .find(|e| e.data["status"] == json!("arrived"))
        .context("the demo's arrived convoy (run `truce demo --load-only` first)")?;
    if posts.is_empty() || parties.is_empty() || corridors.is_empty() {
        anyhow::bail!("the database holds no demo (posts, parties, corridors)");
    }
    let mut modules = Vec::new();
    for (kind, per_year) in MODULE_RATES {
        let t = all(&store, kind).await?;
        if !t.is_empty() {
            modules.push((kind, (per_year as f64 * a.years).round() as u64, t));
        }
    }
    eprintln!(
        "{} to {} ({days} days): {} incidents ({:.0}/day), {} delivered lines ({:.0}/day), {} staffed posts",
        start,
        end,
        a.incidents,
        a.incidents as f64 / days as f64,
        a.lines,
        a.lines as f64 / days as f64,
        posts.len()
    );
    let t0 = Instant::now();
    let (mut n_inc, mut n_lines, mut n_conv, mut written) = (0u64, 0u64, 0u64, 0u64);
    let mut n_mod: BTreeMap<EntityKind, u64> = BTreeMap::new();
    let mut batch = Vec::new();
    let mut recent = Vec::new();
    for d in 0..days {
        let day0 = start + SignedDuration::from_hours(24 * d);
        // Exact totals: the d-th day brings the running total to d/days of it.
        let due =
            |total: u64| total * (d as u64 + 1) / days as u64 - total * d as u64 / days as u64;
        let mut todays: Vec<(i64, Command)> = Vec::new();
        recent.clear();
        let mut inc_times: Vec<i64> = (0..due(a.incidents))
            .map(|_| g.rng.gen_range(0..86_400_000))
            .collect();
        inc_times.sort_unstable();
        for ms in inc_times {
            let at = day0 + SignedDuration::from_millis(ms);
            if let Some((_, c)) = incident(&mut g, at, end, &posts, &parties, &mut recent) {
                todays.push((ms, c));
                n_inc += 1;
            }
        }
        let mut lines_left = due(a.lines);
        while lines_left > 0 {
            let n = g.rng.gen_range(4..=12).min(lines_left);
            lines_left -= n;
            let ms = g.rng.gen_range(6 * 3_600_000..20 * 3_600_000);
            n_conv += 1;
            let cs = convoy(
                &mut g,
                &template,
                day0 + SignedDuration::from_millis(ms),
                n_conv,
                &corridors,
                n,
            );
            n_lines += cs.len().saturating_sub(1) as u64;
            todays.extend(cs.into_iter().map(|(_, c)| (ms, c)));
        }
        for (kind, total, templates) in &modules {
            for _ in 0..due(*total) {
                let ms = g.rng.gen_range(0..86_400_000);
                let t = &templates[g.rng.gen_range(0..templates.len())];
                let seq = n_mod.get(kind).copied().unwrap_or(0) + 1;
                if let Some((_, c)) =
                    copy(&mut g, t, day0 + SignedDuration::from_millis(ms), end, seq)
                {
                    todays.push((ms, c));
                    n_mod.insert(*kind, seq);
                }
            }
        }
        // Reported in time order (a convoy and its lines stay together).
        todays.sort_by_key(|(ms, _)| *ms);
        batch.extend(todays.into_iter().map(|(_, c)| c));
        if (d + 1) % a.batch_days == 0 || d + 1 == days {
            let n = batch.len() as u64;
            write(&store, std::mem::take(&mut batch)).await?;
            written += n;
            let s = t0.elapsed().as_secs_f64();
            eprintln!(
                "day {}/{days}: {written} records written in {s:.0} s ({:.0}/s); {n_inc} incidents, {n_lines} lines, {n_conv} convoys",
                d + 1,
                written as f64 / s
            );
        }
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "wrote {written} records in {s:.1} s ({:.0}/s): {n_inc} incidents, {n_lines} delivered lines in {n_conv} convoys, modules {:?}",
        written as f64 / s,
        n_mod
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
    );
    for (why, n) in &g.refused {
        println!("refused {n} times: {why}");
    }
    Ok(())
}
