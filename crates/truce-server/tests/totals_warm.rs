//! Delivered-tonnage totals warmed in the background: a query sent while
//! the warm-up runs, and one after lines written during it, both equal a
//! naive recomputation over every line.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use truce_core::logistics::{ItemCategory, ManifestLine, TotalsQuery};
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_server::logistics::TotalsCache;
use truce_store::sqlite::SqliteStore;
use truce_store::{Change, Command, ImportChunk, Store};
use uuid::Uuid;

fn line(i: u64, corridor: Uuid, at: Timestamp) -> ManifestLine {
    let q = (i % 97) as f64 + 0.5;
    ManifestLine {
        convoy: Uuid::from_u128(u128::from(i) + 1),
        corridor: Some(corridor),
        category: ItemCategory::ALL[(i % 7) as usize],
        item: "flour".into(),
        quantity: q,
        unit: if i.is_multiple_of(2) { "t" } else { "kg" }.into(),
        unit_mass_kg: None,
        destination: None,
        delivered_quantity: Some(q),
        delivered_at: Some(at + SignedDuration::from_secs((i % 1000) as i64 * 60)),
    }
}

fn command(id: Uuid, l: &ManifestLine) -> Command {
    let ctx = ValidationContext {
        now: Timestamp::now(),
    };
    Command {
        actor: "test".into(),
        reason: None,
        idempotency: None,
        change: Change::Create {
            kind: EntityKind::ManifestLine,
            id,
            sensitivity: Sensitivity::Mission,
            record: EntityKind::ManifestLine
                .validate_json(serde_json::to_value(l).expect("ser"), &ctx)
                .expect("valid line"),
        },
    }
}

/// Tonnes of the lines of `category`, summed naively.
fn naive(lines: &[ManifestLine], category: Option<ItemCategory>) -> (f64, u64) {
    lines
        .iter()
        .filter(|l| category.is_none_or(|c| l.category == c))
        .fold((0.0, 0), |(t, n), l| (t + l.delivered_tonnes(), n + 1))
}

fn query(category: Option<ItemCategory>) -> TotalsQuery {
    TotalsQuery {
        from: None,
        to: None,
        corridor: None,
        category,
        max_sensitivity: Sensitivity::Mission,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_during_warm_up_answers_from_the_whole_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("store");
    let corridor = Uuid::now_v7();
    let at: Timestamp = "2026-10-01T00:00:00Z".parse().expect("time");
    // Enough lines for several journal batches.
    let mut lines: Vec<ManifestLine> = (0..25_000).map(|i| line(i, corridor, at)).collect();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.apply_stream(rx).await })
    };
    for chunk in lines.chunks(5000) {
        let cmds = chunk.iter().map(|l| command(Uuid::now_v7(), l)).collect();
        tx.send(ImportChunk::Commands(cmds)).await.expect("send");
    }
    tx.send(ImportChunk::Commit).await.expect("commit");
    drop(tx);
    writer.await.expect("join").expect("import");

    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let cache = Arc::new(TotalsCache::default());
    cache.warm_in_background(shared.clone());
    // Sent while the warm-up holds the index: waits, then answers in full.
    let during = cache
        .totals(&store, &query(None))
        .await
        .expect("totals during warm-up");
    let (tonnes, n) = naive(&lines, None);
    assert_eq!(during.lines, n);
    assert!(
        (during.tonnes - tonnes).abs() < 1e-6 * tonnes,
        "{} vs naive {tonnes}",
        during.tonnes
    );
    // Lines written after the warm-up are caught up by the next query.
    let more: Vec<ManifestLine> = (25_000..25_010).map(|i| line(i, corridor, at)).collect();
    for l in &more {
        store
            .apply(command(Uuid::now_v7(), l))
            .await
            .expect("write");
    }
    lines.extend(more);
    for c in [None, Some(ItemCategory::Fuel), Some(ItemCategory::Food)] {
        let t = cache.totals(&store, &query(c)).await.expect("totals");
        let (tonnes, n) = naive(&lines, c);
        assert_eq!(t.lines, n, "{c:?}");
        assert!(
            (t.tonnes - tonnes).abs() <= 1e-6 * tonnes.max(1.0),
            "{c:?}: {} vs naive {tonnes}",
            t.tonnes
        );
    }
    // A second warm-up reads nothing new.
    assert_eq!(cache.warm(&store).await.expect("warm"), 0);
}
