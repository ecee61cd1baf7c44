//! `truce people ...`: totals of returns, displacement and exchanges;
//! a shelter site's occupancy; exports of people records redacted for the
//! role they are meant for. Reads of people records are journaled with the
//! CLI user as actor, as the API journals them.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde_json::json;
use truce_core::people::{self, Exchange, Period};
use truce_core::shelter::{self, Movement, MovementKind, ShelterRegistration, ShelterSite};
use truce_core::{EntityKind, Envelope, Role, Sensitivity};
use truce_store::{Change, Command, ListQuery, Store};
use uuid::Uuid;

/// `truce people` subcommands.
#[derive(Subcommand)]
pub enum PeopleCmd {
    /// Returns and displacement since a day; exchanges per receiving party and period.
    Totals {
        /// First day counted (YYYY-MM-DD); everything when absent.
        #[arg(long)]
        since: Option<Date>,
        /// Last day counted.
        #[arg(long)]
        until: Option<Date>,
        /// Exchange periods: day, month, year or all.
        #[arg(long, default_value = "month")]
        period: String,
    },
    /// A shelter site's occupancy at the end of each of the last days.
    Occupancy {
        /// The site's id.
        site: Uuid,
        /// How many days back.
        #[arg(long, default_value_t = 14)]
        days: i64,
    },
    /// People records as JSON Lines, names redacted unless `--role` may see them.
    Export {
        /// Collection: person_cases, exchanges or trace_matches.
        #[arg(long, default_value = "person_cases")]
        kind: String,
        /// The role the export is for (e.g. analyst: names redacted).
        #[arg(long)]
        role: String,
    },
}

async fn all<T: DeserializeOwned>(
    store: &dyn Store,
    kind: EntityKind,
    reference: Option<Uuid>,
) -> Result<Vec<(Envelope, T)>> {
    let mut q = ListQuery::new(kind, Sensitivity::Restricted);
    q.reference = reference;
    q.limit = 10_000;
    q.oldest_first = true;
    let mut out = Vec::new();
    loop {
        let page = store.list(&q).await?;
        for e in page.items {
            let t = serde_json::from_value(e.data.clone())?;
            out.push((e, t));
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

async fn audit(
    store: &dyn Store,
    actor: &str,
    kind: EntityKind,
    ids: Vec<Uuid>,
    what: &str,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    store
        .apply(Command {
            actor: actor.into(),
            reason: Some(format!("truce people {what}")),
            idempotency: None,
            change: Change::AuditRead {
                entity: kind.as_str().into(),
                entity_id: Uuid::nil(),
                payload: json!({"ids": ids}),
            },
        })
        .await?;
    Ok(())
}

/// Runs a `truce people` subcommand.
pub async fn run(store: &dyn Store, actor: String, cmd: PeopleCmd) -> Result<()> {
    match cmd {
        PeopleCmd::Totals {
            since,
            until,
            period,
        } => {
            let period = Period::parse(&period)
                .ok_or_else(|| anyhow!("--period must be day, month, year or all"))?;
            let flows: Vec<Movement> = all(store, EntityKind::Movement, None)
                .await?
                .into_iter()
                .map(|(_, m)| m)
                .collect();
            let from = since.map(|d| d.to_string()).unwrap_or("the start".into());
            for (kind, verb) in [
                (MovementKind::Return, "returned home"),
                (MovementKind::Displacement, "were displaced"),
            ] {
                let t = shelter::flow_totals(&flows, kind, since, until);
                println!(
                    "{} people {verb} since {from} ({} verified, {} children counted) in {} flows",
                    t.persons, t.verified_persons, t.children, t.movements
                );
            }
            let xs: Vec<(Envelope, Exchange)> = all(store, EntityKind::Exchange, None).await?;
            audit(
                store,
                &actor,
                EntityKind::Exchange,
                xs.iter().map(|(e, _)| e.id).collect(),
                "totals",
            )
            .await?;
            let to_ts = |d: Date| shelter::day_start(d);
            let totals = people::exchange_totals(
                xs.iter().map(|(_, x)| x),
                period,
                since.map(to_ts),
                until
                    .and_then(|d| d.tomorrow().ok())
                    .map(to_ts)
                    .map(|t| t - jiff::SignedDuration::from_nanos(1)),
            );
            println!("exchanges: period, receiving party, persons, remains, exchanges");
            for t in totals {
                let party = match store.get(t.to_party).await? {
                    Some(e) => e.data["name"].as_str().unwrap_or_default().to_string(),
                    None => t.to_party.to_string(),
                };
                println!(
                    "  {:<10} {party:<32} {:>6} {:>6} {:>4}",
                    if t.period.is_empty() {
                        "all"
                    } else {
                        &t.period
                    },
                    t.persons,
                    t.remains,
                    t.exchanges
                );
            }
        }
        PeopleCmd::Occupancy { site, days } => {
            let env = store
                .get(site)
                .await?
                .filter(|e| e.kind == EntityKind::ShelterSite)
                .ok_or_else(|| anyhow!("no shelter site {site}"))?;
            let s: ShelterSite = serde_json::from_value(env.data)?;
            let regs: Vec<ShelterRegistration> =
                all(store, EntityKind::ShelterRegistration, Some(site))
                    .await?
                    .into_iter()
                    .map(|(_, r)| r)
                    .collect();
            let now = Timestamp::now();
            let today = shelter::utc_date(now);
            let from = today.checked_sub(jiff::Span::new().days(days.clamp(0, 999)))?;
            println!(
                "{} (day capacity {}, night capacity {})",
                s.name, s.capacity_day, s.capacity_night
            );
            println!("date        persons children households");
            for (d, o) in shelter::occupancy_series(&regs, from, today) {
                println!(
                    "{d}  {:>7} {:>8} {:>10}",
                    o.persons, o.children, o.households
                );
            }
            for w in shelter::capacity_warnings(&s, &shelter::occupancy_at(&regs, now)) {
                println!("warning: {w}");
            }
        }
        PeopleCmd::Export { kind, role } => {
            let role = Role::parse(&role).ok_or_else(|| anyhow!("unknown role {role:?}"))?;
            let kind = EntityKind::from_collection(&kind)
                .or_else(|| EntityKind::parse(&kind))
                .ok_or_else(|| anyhow!("unknown collection {kind:?}"))?;
            if !kind.is_people() {
                bail!("{} is not a people collection", kind.collection());
            }
            let rows: Vec<(Envelope, serde_json::Value)> = all(store, kind, None).await?;
            audit(
                store,
                &actor,
                kind,
                rows.iter().map(|(e, _)| e.id).collect(),
                &format!("export for {role}"),
            )
            .await?;
            for (env, data) in rows {
                let mut wire = env.to_wire();
                if let (Some(w), serde_json::Value::Object(r)) =
                    (wire.as_object_mut(), people::redact(kind, &data, role))
                {
                    w.extend(r);
                }
                println!("{wire}");
            }
        }
    }
    Ok(())
}
