//! Export benchmark (run by `bench/exports.sh`): builds a mission database
//! of N incidents through the Store's `apply_stream` (the import path: one
//! journaled transaction, chunks of 4,096 commands) unless it exists, then
//! exports every incident the way `truce export` and the HTTP export do
//! (`truce_store::read_ahead_map`: slices of 5,000 cursors, oldest first,
//! each read with `Store::list_raw` and formatted by `Streamed::page` of
//! the chosen shape, `PARALLEL` slices at once, 4 unless set) into a byte-counting sink, and prints rows/s with the
//! resident memory sampled every second and at each tenth of the export
//! (flat memory shows as flat numbers). `FORMAT-legacy` runs the former
//! path (`Store::list` pages, `Envelope::to_wire`) for comparison.
//!
//! `cargo run --release -p truce-exchange --example export_bench -- DB ROWS [FORMAT...]`
//! An existing DB is reused as it is; `READONLY=1` opens it without
//! writing anything to it (`SqliteStore::open_read_only`).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_exchange::{CsvWriter, Shape, StoredRecord, Streamed, geojson};
use truce_store::sqlite::SqliteStore;
use truce_store::{Change, Command, ImportChunk, ListQuery, Store};
use uuid::Uuid;

struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of the process so far (user + system, all threads), in
/// seconds: on a machine shared with other work, rows per CPU second say
/// more than rows per wall second.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')').
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line; the state, field
    // 3, is the first after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Samples VmRSS (MiB) every second until `stop`.
fn sample_rss(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            v.push(status_kb("VmRSS:") / 1024);
            std::thread::sleep(Duration::from_secs(1));
        }
        v
    })
}

async fn build(store: &SqliteStore, rows: u64) {
    let (tx, rx) = mpsc::channel::<ImportChunk>(4);
    let generator = tokio::task::spawn_blocking(move || {
        let ctx = ValidationContext {
            now: jiff::Timestamp::now(),
        };
        let subs = truce_core::incident::SubEventType::ALL;
        let mut chunk = Vec::with_capacity(4096);
        for i in 0..rows {
            let sub = subs[(i % subs.len() as u64) as usize];
            let mut v = json!({
                "occurred_at": jiff::Timestamp::from_second(1_600_000_000 + (i as i64) * 7).unwrap().to_string(),
                "event_type": sub.event_type().as_str(),
                "sub_event_type": sub.as_str(),
                "location": {"lat": 39.0 + (i % 1000) as f64 * 0.001, "lon": 46.0 + (i / 1000 % 1000) as f64 * 0.001},
                "fatalities": i % 3,
                "actor1": "Unit 7",
                "notes": format!("generated incident {i}, shelling reported near the line"),
            });
            if i % 2 == 0 {
                v["ceasefire_violation"] =
                    json!({"kind": "explosion", "perception": "heard", "count": 1 + i % 9});
            }
            let record = EntityKind::Incident.validate_json(v, &ctx).expect("valid");
            chunk.push(Command {
                actor: "bench".into(),
                reason: None,
                idempotency: None,
                change: Change::Create {
                    kind: EntityKind::Incident,
                    id: Uuid::now_v7(),
                    sensitivity: [
                        Sensitivity::Public,
                        Sensitivity::Mission,
                        Sensitivity::Restricted,
                    ][(i % 3) as usize],
                    record,
                },
            });
            if chunk.len() == 4096 {
                tx.blocking_send(ImportChunk::Commands(std::mem::take(&mut chunk)))
                    .expect("store");
            }
        }
        if !chunk.is_empty() {
            tx.blocking_send(ImportChunk::Commands(chunk))
                .expect("store");
        }
        tx.blocking_send(ImportChunk::Commit).expect("store");
    });
    let written = store.apply_stream(rx).await.expect("apply_stream");
    generator.await.expect("generator");
    assert_eq!(written, rows);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = std::path::PathBuf::from(args.get(1).expect("DB path"));
    let rows: u64 = args
        .get(2)
        .expect("ROWS")
        .parse()
        .expect("ROWS is a number");
    let formats: Vec<String> = if args.len() > 3 {
        args[3..].to_vec()
    } else {
        vec!["csv".into()]
    };
    let store = if std::env::var("READONLY").is_ok_and(|v| v == "1") {
        SqliteStore::open_read_only(&db).await.expect("open")
    } else {
        let fresh = !db.exists();
        let store = SqliteStore::open(&db).await.expect("open");
        if fresh {
            let t = Instant::now();
            build(&store, rows).await;
            let s = t.elapsed().as_secs_f64();
            println!(
                "built {rows} incidents in {s:.1} s ({:.0} rows/s) through apply_stream",
                rows as f64 / s
            );
        }
        store
    };
    let store: Arc<dyn Store> = Arc::new(store);
    for f in formats {
        let (name, legacy) = match f.strip_suffix("-legacy") {
            Some(n) => (n, true),
            None => (f.as_str(), false),
        };
        // `read`: the pages read and dropped, nothing formatted (the
        // reading's share of an export).
        let read_only = name == "read";
        let shape = match name {
            "csv" | "read" => Some(Shape::Truce),
            "hxl" => Some(Shape::Hxl),
            "acled" => Some(Shape::Acled),
            "ucdp" => Some(Shape::Ucdp),
            "geojson" => None,
            other => panic!("unknown format {other}"),
        };
        let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
        // PAGE=n tries other page sizes (the CLI and the server use 5,000).
        q.limit = std::env::var("PAGE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5000);
        q.oldest_first = true;
        let rss_before = status_kb("VmRSS:") / 1024;
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_rss(stop.clone());
        let mut tenths = Vec::new();
        let t = Instant::now();
        let cpu = cpu_seconds();
        let (n, bytes) = if legacy {
            export_legacy(&*store, q, shape, rows, &mut tenths).await
        } else {
            export(store.clone(), q, shape, read_only, rows, &mut tenths).await
        };
        let s = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        stop.store(true, Ordering::Relaxed);
        let per_second = sampler.join().expect("sampler");
        println!(
            "export {f}: {n} rows, {bytes} bytes in {s:.2} s = {:.0} rows/s; CPU {cpu:.2} s (all threads) = {:.0} rows per CPU second; load {}; RSS before {rss_before} MiB, at each tenth (MiB): {tenths:?}; every second: min {} max {} MiB ({} samples); peak (VmHWM) {} MiB",
            n as f64 / s,
            n as f64 / cpu.max(1e-9),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("?"),
            per_second.iter().min().copied().unwrap_or(0),
            per_second.iter().max().copied().unwrap_or(0),
            per_second.len(),
            status_kb("VmHWM:") / 1024
        );
    }
}

/// The export as `truce export` runs it: pages read ahead, written from
/// their stored JSON.
async fn export(
    store: Arc<dyn Store>,
    q: ListQuery,
    shape: Option<Shape>,
    read_only: bool,
    rows: u64,
    tenths: &mut Vec<u64>,
) -> (u64, u64) {
    let streamed = shape.map_or(Streamed::Geojson, Streamed::Csv);
    let parallel = std::env::var("PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let formatted = truce_store::read_ahead_map(store, q, parallel, move |page| {
        let records = page.iter().map(|r| StoredRecord {
            id: r.id,
            sensitivity: r.sensitivity,
            data: r.data,
        });
        if read_only {
            return (page.len() as u64, Vec::new());
        }
        (page.len() as u64, streamed.page(records).expect("page"))
    })
    .await
    .expect("last cursor");
    let mut formatted = std::pin::pin!(formatted);
    let mut sink = Counting(0);
    sink.write_all(&streamed.head().expect("head")).unwrap();
    let mut n = 0u64;
    let tenth = (rows / 10).max(1);
    while let Some(page) = formatted.next().await {
        let (len, bytes) = page.expect("page");
        if len == 0 {
            continue;
        }
        if n > 0 {
            sink.write_all(streamed.between()).unwrap();
        }
        sink.write_all(&bytes).unwrap();
        if (n + len) / tenth > n / tenth {
            tenths.push(status_kb("VmRSS:") / 1024);
        }
        n += len;
    }
    sink.write_all(streamed.tail()).unwrap();
    (n, sink.0)
}

/// The former path: `Store::list` pages decoded into envelopes, each
/// copied by `to_wire` before it is written.
async fn export_legacy(
    store: &dyn Store,
    mut q: ListQuery,
    shape: Option<Shape>,
    rows: u64,
    tenths: &mut Vec<u64>,
) -> (u64, u64) {
    let mut sink = Counting(0);
    let mut csv = shape.map(|s| CsvWriter::new(s, Counting(0)).expect("header"));
    let mut n = 0u64;
    loop {
        let page = store.list(&q).await.expect("list");
        for env in &page.items {
            match &mut csv {
                Some(w) => w.write(&env.to_wire()).expect("write"),
                None => {
                    sink.write_all(geojson::SEPARATOR).unwrap();
                    serde_json::to_writer(&mut sink, &geojson::feature(EntityKind::Incident, env))
                        .unwrap();
                }
            }
            n += 1;
            if n.is_multiple_of((rows / 10).max(1)) {
                tenths.push(status_kb("VmRSS:") / 1024);
            }
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let bytes = match csv {
        Some(w) => w.finish().expect("finish").0,
        None => sink.0,
    };
    (n, bytes)
}
