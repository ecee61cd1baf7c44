//! Bytes per indexed incident of the structure the **server** holds
//! (bench/README.md, "Spatial engine"): N synthetic incident records become
//! journal entries (canonical `{"data", "sensitivity"}` payloads, as the
//! store writes them) and go through `SpatialCache::apply_entries` and
//! `finish_rebuild`, the code `truce serve` runs at start-up, in batches of
//! 10,000 like its journal reads. A counting global allocator (`cap`)
//! measures the heap the cache holds afterwards, once the entries are gone,
//! and, for comparison, what the id -> sensitivity map the server kept for
//! incidents before this tool existed would take.
//!
//! ```text
//! truce-spatial-mem --incidents 10000000
//! ```

use std::alloc::System;
use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Result, ensure};
use cap::Cap;
use clap::Parser;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use truce_bench::Incident;
use truce_core::journal::{JournalEntry, Op, canonical_json};
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_server::spatial::SpatialCache;
use uuid::Uuid;

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

#[derive(Parser)]
struct Args {
    /// Incident records.
    #[arg(long, default_value_t = 1_000_000)]
    incidents: usize,
    /// Parties incidents are attributed to (`actor1_party`).
    #[arg(long, default_value_t = 8)]
    parties: usize,
    /// Seed.
    #[arg(long, default_value_t = 5)]
    seed: u64,
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One incident's journal entry; the record is what a client would POST
/// (random v4 id, a party, a sensitivity: 70 % mission, 20 % public, 10 %
/// restricted).
fn entry(rng: &mut StdRng, now: Timestamp, seq: u64, parties: &[Uuid]) -> JournalEntry {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let inc = Incident::with_id(rng, now, id);
    let mut data: serde_json::Value = serde_json::from_str(&inc.json()).expect("generated JSON");
    let obj = data.as_object_mut().expect("object");
    obj.remove("id");
    obj.insert(
        "actor1_party".into(),
        json!(parties[rng.gen_range(0..parties.len())]),
    );
    let sensitivity = match rng.gen_range(0..10) {
        0 => Sensitivity::Restricted,
        1 | 2 => Sensitivity::Public,
        _ => Sensitivity::Mission,
    };
    JournalEntry {
        seq,
        entry_id: Uuid::from_u128(u128::from(seq)),
        entity: EntityKind::Incident.as_str().into(),
        entity_id: id,
        op: Op::Create,
        payload: canonical_json(&json!({"data": data, "sensitivity": sensitivity})),
        actor: "loader".into(),
        at: now,
        reason: None,
        idempotency_key: None,
        prev_hash: [0; 32],
        hash: [0; 32],
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.parties > 0, "--parties must be at least 1");
    let now: Timestamp = "2026-11-21T00:00:00Z".parse()?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let parties: Vec<Uuid> = (0..args.parties)
        .map(|i| Uuid::from_u128(0xfa57 + i as u128))
        .collect();
    // The generated records are valid incidents (checked on a sample).
    let ctx = ValidationContext { now };
    for i in 0..100 {
        let e = entry(&mut StdRng::seed_from_u64(i), now, 1, &parties);
        let v: serde_json::Value = serde_json::from_str(&e.payload)?;
        EntityKind::Incident
            .validate_json(v["data"].clone(), &ctx)
            .map_err(|e| anyhow::anyhow!("generated incident is not valid: {e}"))?;
    }
    let cache = SpatialCache::default();
    let base = ALLOC.allocated();
    let t = Instant::now();
    let mut seq = 0u64;
    let mut peak_heap = 0usize;
    while (seq as usize) < args.incidents {
        let batch: Vec<JournalEntry> = (0..10_000.min(args.incidents - seq as usize))
            .map(|_| {
                seq += 1;
                entry(&mut rng, now, seq, &parties)
            })
            .collect();
        cache.apply_entries(&batch).await;
        drop(batch);
        peak_heap = peak_heap.max(ALLOC.allocated() - base);
    }
    let load_s = t.elapsed().as_secs_f64();
    let before_finish = ALLOC.allocated() - base;
    let t = Instant::now();
    cache.finish_rebuild().await;
    let finish_s = t.elapsed().as_secs_f64();
    let held = ALLOC.allocated() - base;
    let (n, estimate) = cache.incident_memory().await;
    ensure!(
        n == args.incidents,
        "{n} incidents indexed of {}",
        args.incidents
    );
    // Until this benchmark, the server also kept a map from every incident
    // id to its sensitivity; what such a map takes, filled the same way.
    let before_map = ALLOC.allocated();
    let mut map: HashMap<Uuid, Sensitivity> = HashMap::new();
    for _ in 0..n {
        map.insert(Uuid::from_u128(rng.r#gen::<u128>()), Sensitivity::Mission);
    }
    let map_bytes = ALLOC.allocated() - before_map;
    drop(map);
    println!(
        "{}",
        json!({
            "bench": "spatial_cache_memory",
            "incidents": n,
            "apply_s": (load_s * 1000.0).round() / 1000.0,
            "finish_rebuild_s": (finish_s * 1000.0).round() / 1000.0,
            "heap_bytes": held,
            "heap_bytes_per_incident": (held as f64 / n as f64 * 10.0).round() / 10.0,
            "heap_bytes_per_incident_before_finish": (before_finish as f64 / n as f64 * 10.0).round() / 10.0,
            "heap_peak_between_batches_per_incident": (peak_heap as f64 / n as f64 * 10.0).round() / 10.0,
            "estimate_bytes_per_incident": (estimate as f64 / n as f64 * 10.0).round() / 10.0,
            "former_id_to_sensitivity_map_bytes_per_incident": (map_bytes as f64 / n as f64 * 10.0).round() / 10.0,
            "peak_rss_mb": peak_rss_kb() / 1024,
        })
    );
    Ok(())
}
