//! Delivered-tonnage totals over many manifest lines (bench/README.md,
//! "Field operations").
//!
//! Two measurements:
//! - `index`: the core's `TotalsIndex` with N delivered lines (random
//!   corridors, categories, sensitivities and delivery times over a year);
//!   random periods, corridors and categories; per-query latency.
//! - `store` (with `--store`): the same lines written as journaled records
//!   into a temporary SQLite mission, then the server's `TotalsCache`
//!   (journal catch-up, then the index) answering the same queries. The
//!   first query includes the catch-up over the whole journal.

use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use truce_core::logistics::{ItemCategory, ManifestLine, TotalsIndex, TotalsQuery};
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Manifest lines.
    #[arg(long, default_value_t = 1_000_000)]
    lines: usize,
    /// Queries to time.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Also measure through a journaled SQLite store and the server's cache.
    #[arg(long)]
    store: bool,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const CORRIDORS: usize = 6;

fn start() -> Timestamp {
    "2025-11-21T00:00:00Z".parse().expect("time")
}

fn gen_line(rng: &mut StdRng, corridors: &[Uuid]) -> (ManifestLine, Sensitivity) {
    let at = start() + SignedDuration::from_secs(rng.gen_range(0..365 * 86_400));
    let category = ItemCategory::ALL[rng.gen_range(0..7)];
    let (q, unit) = if rng.gen_bool(0.5) {
        (f64::from(rng.gen_range(1..400u32)) / 10.0, "t")
    } else {
        (f64::from(rng.gen_range(100..20_000u32)), "kg")
    };
    let line = ManifestLine {
        convoy: Uuid::from_u128(rng.r#gen()),
        corridor: Some(corridors[rng.gen_range(0..corridors.len())]),
        category,
        item: "item".into(),
        quantity: q,
        unit: unit.into(),
        unit_mass_kg: None,
        destination: None,
        delivered_quantity: Some(q),
        delivered_at: Some(at),
    };
    let s = if rng.gen_bool(0.9) {
        Sensitivity::Mission
    } else {
        Sensitivity::Public
    };
    (line, s)
}

fn gen_query(rng: &mut StdRng, corridors: &[Uuid]) -> TotalsQuery {
    let a = rng.gen_range(0..365 * 86_400);
    let b = rng.gen_range(0..365 * 86_400);
    TotalsQuery {
        from: Some(start() + SignedDuration::from_secs(a.min(b))),
        to: Some(start() + SignedDuration::from_secs(a.max(b))),
        corridor: rng
            .gen_bool(0.5)
            .then(|| corridors[rng.gen_range(0..corridors.len())]),
        category: rng
            .gen_bool(0.5)
            .then(|| ItemCategory::ALL[rng.gen_range(0..7)]),
        max_sensitivity: Sensitivity::Mission,
    }
}

fn report(name: &str, mut us: Vec<f64>) {
    us.sort_by(f64::total_cmp);
    let p = |q: f64| us[((us.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: {} queries, p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        us.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let corridors: Vec<Uuid> = (0..CORRIDORS)
        .map(|i| Uuid::from_u128(i as u128 + 1))
        .collect();
    let lines: Vec<(Uuid, ManifestLine, Sensitivity)> = (0..args.lines)
        .map(|i| {
            let (l, s) = gen_line(&mut rng, &corridors);
            (Uuid::from_u128(1_000_000 + i as u128), l, s)
        })
        .collect();
    let queries: Vec<TotalsQuery> = (0..args.queries)
        .map(|_| gen_query(&mut rng, &corridors))
        .collect();

    let t = Instant::now();
    let mut idx = TotalsIndex::new();
    for (id, l, s) in &lines {
        idx.upsert(*id, Some(l), *s);
    }
    idx.prepare();
    println!(
        "index: {} lines indexed in {:.2} s",
        idx.len(),
        t.elapsed().as_secs_f64()
    );
    let mut us = Vec::new();
    let mut check = 0.0;
    for q in &queries {
        let t = Instant::now();
        let r = idx.totals(q);
        us.push(t.elapsed().as_secs_f64() * 1e6);
        check += r.tonnes;
    }
    report("index", us);
    // The whole year, every category: the largest sum.
    let all = TotalsQuery {
        from: None,
        to: None,
        corridor: None,
        category: None,
        max_sensitivity: Sensitivity::Mission,
    };
    let t = Instant::now();
    let r = idx.totals(&all);
    println!(
        "index: all {} lines, {:.1} t, in {:.1} us (checksum {check:.1})",
        r.lines,
        r.tonnes,
        t.elapsed().as_secs_f64() * 1e6
    );
    // Naive recomputation of a few queries, to check the answers.
    for q in queries.iter().take(20) {
        let want: f64 = lines
            .iter()
            .filter(|(_, l, s)| {
                let at = l.delivered_at.expect("delivered");
                *s <= q.max_sensitivity
                    && q.from.is_none_or(|f| at >= f)
                    && q.to.is_none_or(|t| at <= t)
                    && q.corridor.is_none_or(|c| l.corridor == Some(c))
                    && q.category.is_none_or(|c| l.category == c)
            })
            .map(|(_, l, _)| l.delivered_tonnes())
            .sum();
        let got = idx.totals(q).tonnes;
        anyhow::ensure!(
            (got - want).abs() < 1e-3,
            "index {got} != naive {want} for {q:?}"
        );
    }
    println!("index: 20 answers equal a naive recomputation");

    if args.store {
        tokio::runtime::Runtime::new()?.block_on(store_bench(&lines, &queries))?;
    }
    Ok(())
}

async fn store_bench(
    lines: &[(Uuid, ManifestLine, Sensitivity)],
    queries: &[TotalsQuery],
) -> Result<()> {
    use truce_server::auth::Principal;
    use truce_store::{Change, Command, ImportChunk, Store};
    let dir = std::env::temp_dir().join(format!("truce-totals-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = truce_store::sqlite::SqliteStore::open(&dir.join("bench.db")).await?;
    let ctx = ValidationContext {
        now: Timestamp::now(),
    };
    let t = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.apply_stream(rx).await })
    };
    for chunk in lines.chunks(5000) {
        let mut cmds = Vec::with_capacity(chunk.len());
        for (id, l, s) in chunk {
            let record = EntityKind::ManifestLine
                .validate_json(serde_json::to_value(l)?, &ctx)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            cmds.push(Command {
                actor: "bench".into(),
                reason: None,
                idempotency: None,
                change: Change::Create {
                    kind: EntityKind::ManifestLine,
                    id: *id,
                    sensitivity: *s,
                    record,
                },
            });
        }
        tx.send(ImportChunk::Commands(cmds)).await?;
    }
    tx.send(ImportChunk::Commit).await?;
    writer.await??;
    println!(
        "store: {} journaled lines written in {:.1} s",
        lines.len(),
        t.elapsed().as_secs_f64()
    );
    let p = Principal {
        username: "bench".into(),
        role: truce_core::Role::Logistics,
    };
    let q0 = truce_server::logistics::totals_query(&p, &Default::default())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // Cold: the first query reads the whole journal itself.
    let cold = truce_server::logistics::TotalsCache::default();
    let t = Instant::now();
    let r = cold
        .totals(&store, &q0)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "store: cold first query (catch-up over the whole journal) {:.2} s, {} lines, {:.1} t",
        t.elapsed().as_secs_f64(),
        r.lines,
        r.tonnes
    );
    drop(cold);
    // As a server starts: warm-up in the background, a query arriving
    // during it (waits, then answers from the complete index), and the
    // first query after it.
    let cache = std::sync::Arc::new(truce_server::logistics::TotalsCache::default());
    let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store.clone());
    let t = Instant::now();
    let warm = {
        let (cache, shared) = (cache.clone(), shared.clone());
        tokio::spawn(async move { cache.warm(&*shared).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let tq = Instant::now();
    let during = cache
        .totals(&store, &q0)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let waited = tq.elapsed().as_secs_f64();
    warm.await?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "store: warm-up {:.2} s; a query sent 0.1 s into it answered after {:.2} s with {} lines ({})",
        t.elapsed().as_secs_f64(),
        waited,
        during.lines,
        if during == r {
            "same as cold"
        } else {
            "DIFFERENT"
        }
    );
    anyhow::ensure!(
        during == r,
        "query during warm-up differs from the cold answer"
    );
    let t = Instant::now();
    cache
        .totals(&store, &q0)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "store: first query after warm-up {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut us = Vec::new();
    for q in queries {
        let t = Instant::now();
        cache
            .totals(&store, q)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("store (journal poll + index)", us);
    store.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
