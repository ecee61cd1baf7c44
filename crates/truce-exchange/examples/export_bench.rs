//! Export benchmark (run by `bench/exports.sh`): builds a mission database
//! of N incidents through the Store's `apply_stream` (the import path: one
//! journaled transaction, chunks of 4,096 commands), then exports every
//! incident the way `truce export` and the HTTP export do (store pages of
//! 5,000, oldest first, `CsvWriter` of the chosen shape or GeoJSON
//! features) into a byte-counting sink, and prints rows/s with the resident
//! memory at each tenth of the export (flat memory shows as flat numbers).
//!
//! `cargo run --release -p truce-exchange --example export_bench -- DB ROWS [FORMAT...]`
//! An existing DB is reused as it is.

use std::io::Write;
use std::time::Instant;

use serde_json::json;
use tokio::sync::mpsc;
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_exchange::{CsvWriter, Shape, geojson};
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
    for f in formats {
        let shape = match f.as_str() {
            "csv" => Some(Shape::Truce),
            "hxl" => Some(Shape::Hxl),
            "acled" => Some(Shape::Acled),
            "ucdp" => Some(Shape::Ucdp),
            "geojson" => None,
            other => panic!("unknown format {other}"),
        };
        let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
        q.limit = 5000;
        q.oldest_first = true;
        let mut sink = Counting(0);
        let mut csv = shape.map(|s| CsvWriter::new(s, Counting(0)).expect("header"));
        let rss_before = status_kb("VmRSS:");
        let mut rss = Vec::new();
        let t = Instant::now();
        let mut n = 0u64;
        loop {
            let page = store.list(&q).await.expect("list");
            for env in &page.items {
                match &mut csv {
                    Some(w) => w.write(&env.to_wire()).expect("write"),
                    None => {
                        sink.write_all(geojson::SEPARATOR).unwrap();
                        serde_json::to_writer(
                            &mut sink,
                            &geojson::feature(EntityKind::Incident, env),
                        )
                        .unwrap();
                    }
                }
                n += 1;
                if n.is_multiple_of((rows / 10).max(1)) {
                    rss.push(status_kb("VmRSS:") / 1024);
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
        let s = t.elapsed().as_secs_f64();
        println!(
            "export {f}: {n} rows, {bytes} bytes in {s:.2} s = {:.0} rows/s; RSS before {} MiB, at each tenth (MiB): {rss:?}; peak (VmHWM) {} MiB",
            n as f64 / s,
            rss_before / 1024,
            status_kb("VmHWM:") / 1024
        );
    }
}
