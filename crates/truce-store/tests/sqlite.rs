//! Behaviour every backend must show, run against SQLite.

use futures::StreamExt;
use serde_json::json;
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_store::sqlite::SqliteStore;
use truce_store::{Change, Command, Idempotency, ListQuery, Store, StoreError, VerifyError};
use uuid::Uuid;

fn incident(note: &str) -> truce_core::ValidRecord {
    EntityKind::Incident
        .validate_json(
            json!({
                "occurred_at": "2026-11-20T10:00:00Z",
                "event_type": "explosions_remote_violence",
                "sub_event_type": "shelling_artillery_missile_attack",
                "location": {"lat": 39.8, "lon": 46.7},
                "notes": note,
            }),
            &ValidationContext {
                now: "2026-11-21T00:00:00Z".parse().unwrap(),
            },
        )
        .unwrap()
}

fn create(id: Uuid, note: &str, key: Option<&str>) -> Command {
    Command {
        actor: "obs".into(),
        reason: None,
        idempotency: key.map(|k| Idempotency {
            key: k.into(),
            request_hash: [7; 32],
        }),
        change: Change::Create {
            kind: EntityKind::Incident,
            id,
            sensitivity: Sensitivity::Mission,
            record: incident(note),
        },
    }
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn create_update_retract_and_verify() {
    let (_d, s) = open().await;
    let id = Uuid::now_v7();
    let a = s.apply(create(id, "first", None)).await.unwrap();
    assert_eq!(a.record.unwrap().version, 1);
    let upd = Command {
        actor: "ana".into(),
        reason: Some("typo".into()),
        idempotency: None,
        change: Change::Update {
            kind: EntityKind::Incident,
            id,
            if_version: Some(1),
            sensitivity: None,
            record: incident("second"),
        },
    };
    assert_eq!(
        s.apply(upd.clone()).await.unwrap().record.unwrap().version,
        2
    );
    // The same If-Match again is now stale.
    let mut stale = upd.clone();
    if let Change::Update { record, .. } = &mut stale.change {
        *record = incident("third");
    }
    assert!(matches!(
        s.apply(stale).await,
        Err(StoreError::Stale { current: 2, .. })
    ));
    let retract = Command {
        actor: "ana".into(),
        reason: Some("duplicate".into()),
        idempotency: None,
        change: Change::Retract {
            kind: EntityKind::Incident,
            id,
            if_version: None,
        },
    };
    assert!(s.apply(retract).await.unwrap().record.unwrap().retracted);
    let q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    assert!(s.list(&q).await.unwrap().items.is_empty());
    assert_eq!(s.history(id).await.unwrap().len(), 3);
    let r = s.verify().await.unwrap();
    assert_eq!((r.entries, r.records), (3, 1));
}

#[tokio::test]
async fn retries_return_the_first_result() {
    let (_d, s) = open().await;
    let id = Uuid::now_v7();
    let first = s.apply(create(id, "x", Some("k1"))).await.unwrap();
    let again = s.apply(create(id, "x", Some("k1"))).await.unwrap();
    assert!(again.replayed);
    assert_eq!(first.record, again.record);
    // Same client id without the key: still the first result.
    assert!(s.apply(create(id, "x", None)).await.unwrap().replayed);
    // Same id, other content: conflict, nothing written.
    assert!(matches!(
        s.apply(create(id, "y", None)).await,
        Err(StoreError::Conflict(_))
    ));
    // Same key, other request: refused.
    let mut other = create(Uuid::now_v7(), "z", Some("k1"));
    other.idempotency.as_mut().unwrap().request_hash = [8; 32];
    assert!(matches!(
        s.apply(other).await,
        Err(StoreError::IdempotencyMismatch(_))
    ));
    assert_eq!(s.head().await.unwrap().seq, 1);
}

#[tokio::test]
async fn a_retry_after_later_changes_returns_the_first_result() {
    let (_d, s) = open().await;
    let id = Uuid::now_v7();
    let first = s.apply(create(id, "x", Some("k2"))).await.unwrap();
    s.apply(Command {
        actor: "ana".into(),
        reason: None,
        idempotency: None,
        change: Change::Update {
            kind: EntityKind::Incident,
            id,
            if_version: Some(1),
            sensitivity: Some(Sensitivity::Restricted),
            record: incident("changed"),
        },
    })
    .await
    .unwrap();
    // The retry gets what the create answered (version 1, its content and
    // time), not the record as it is now, and writes nothing.
    let again = s.apply(create(id, "x", Some("k2"))).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.seq, first.seq);
    assert_eq!(again.record, first.record);
    assert_eq!(s.head().await.unwrap().seq, 2);
    // Retries in one group commit with their first request get its result too.
    let id2 = Uuid::now_v7();
    let (a, b) = tokio::join!(
        s.apply(create(id2, "y", Some("k3"))),
        s.apply(create(id2, "y", Some("k3")))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.record, b.record);
    assert!(a.replayed != b.replayed);
    assert_eq!(s.head().await.unwrap().seq, 3);
}

#[tokio::test]
async fn history_lists_changes_and_reads_of_a_record_in_order() {
    let (_d, s) = open().await;
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    s.apply(create(id, "x", None)).await.unwrap();
    s.apply(create(other, "o", None)).await.unwrap();
    s.apply(Command {
        actor: "ana".into(),
        reason: None,
        idempotency: None,
        change: Change::AuditRead {
            entity: "incident".into(),
            entity_id: id,
            payload: json!({"id": id}),
        },
    })
    .await
    .unwrap();
    s.apply(Command {
        actor: "ana".into(),
        reason: Some("dup".into()),
        idempotency: None,
        change: Change::Retract {
            kind: EntityKind::Incident,
            id,
            if_version: Some(1),
        },
    })
    .await
    .unwrap();
    let h = s.history(id).await.unwrap();
    let ops: Vec<(u64, &str)> = h.iter().map(|e| (e.seq, e.op.as_str())).collect();
    assert_eq!(ops, [(1, "create"), (3, "read"), (4, "retract")]);
    assert!(h.iter().all(|e| e.entity_id == id));
    assert_eq!(s.history(other).await.unwrap().len(), 1);
    assert!(s.history(Uuid::now_v7()).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_writes_group_commit_without_loss() {
    let (_d, s) = open().await;
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.apply(create(
                Uuid::now_v7(),
                &format!("n{i}"),
                Some(&format!("k{i}")),
            ))
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s.count(EntityKind::Incident).await.unwrap(), 2000);
    assert_eq!(s.verify().await.unwrap().entries, 2000);
}

#[tokio::test]
async fn verify_names_the_altered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    for i in 0..5 {
        s.apply(create(Uuid::now_v7(), &format!("note{i}"), None))
            .await
            .unwrap();
    }
    drop(s);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE journal SET payload = replace(payload, 'note3', 'note9') WHERE seq = 4")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    match s.verify().await {
        Err(VerifyError::Chain(b)) => assert_eq!(b.seq, 4),
        other => panic!("expected a chain break, got {other:?}"),
    }
}

#[tokio::test]
async fn backup_while_writing_verifies() {
    let (dir, s) = open().await;
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..500 {
                s.apply(create(Uuid::now_v7(), &format!("b{i}"), None))
                    .await
                    .unwrap();
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let backup = dir.path().join("backup.db");
    let head = s.backup(&backup).await.unwrap();
    writer.await.unwrap();
    let target = dir.path().join("restored.db");
    let report = SqliteStore::restore(&backup, &target).await.unwrap();
    assert_eq!(report.head, head);
}

#[tokio::test]
async fn atomic_changes_succeed_or_fail_together() {
    let (_d, s) = open().await;
    let a = Uuid::now_v7();
    s.apply(create(a, "a", None)).await.unwrap();
    let b = Uuid::now_v7();
    let upd = |id, v, note: &str| Change::Update {
        kind: EntityKind::Incident,
        id,
        if_version: Some(v),
        sensitivity: None,
        record: incident(note),
    };
    let mut both = create(b, "b", None);
    let create_b = both.change.clone();
    // The update of `a` is stale, so the creation of `b` must not happen either.
    both.change = Change::Atomic(vec![create_b.clone(), upd(a, 9, "a2")]);
    assert!(matches!(
        s.apply(both.clone()).await,
        Err(StoreError::Stale { .. })
    ));
    assert!(s.get(b).await.unwrap().is_none());
    assert_eq!(s.head().await.unwrap().seq, 1);
    both.change = Change::Atomic(vec![create_b, upd(a, 1, "a2")]);
    s.apply(both).await.unwrap();
    assert!(s.get(b).await.unwrap().is_some());
    assert_eq!(s.get(a).await.unwrap().unwrap().version, 2);
    assert_eq!(s.verify().await.unwrap().entries, 3);
}

#[tokio::test]
async fn aggregates_match_a_naive_count() {
    let (_d, s) = open().await;
    for i in 0..30 {
        s.apply(create(Uuid::now_v7(), &format!("n{i}"), None))
            .await
            .unwrap();
    }
    let q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    let all = s.aggregate(&q, truce_store::Grouping::All).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].count, 30);
    assert_eq!(all[0].sum, 30.0);
    let by_day = s.aggregate(&q, truce_store::Grouping::Day).await.unwrap();
    assert_eq!(by_day[0].key, "2026-11-20");
}

#[tokio::test]
async fn replicating_a_journal_rebuilds_the_same_records() {
    let (_d, s) = open().await;
    let a = Uuid::now_v7();
    s.apply(create(a, "a", None)).await.unwrap();
    s.apply(create(Uuid::now_v7(), "b", None)).await.unwrap();
    s.apply(Command {
        actor: "ana".into(),
        reason: Some("dup".into()),
        idempotency: None,
        change: Change::Retract {
            kind: EntityKind::Incident,
            id: a,
            if_version: Some(1),
        },
    })
    .await
    .unwrap();
    let entries = s.journal(0, 1000).await.unwrap();
    let (_d2, copy) = open().await;
    // Halves arrive separately, as from a syncing node.
    copy.replicate(entries[..1].to_vec()).await.unwrap();
    let head = copy.replicate(entries[1..].to_vec()).await.unwrap();
    assert_eq!(head, s.head().await.unwrap());
    assert_eq!(copy.get(a).await.unwrap(), s.get(a).await.unwrap());
    assert_eq!(copy.verify().await.unwrap().records, 2);
    // A gap or a foreign chain is refused and writes nothing.
    assert!(copy.replicate(entries[..1].to_vec()).await.is_err());
    assert_eq!(copy.head().await.unwrap(), head);
}

/// Names of the explicitly created indexes of the records and the journal.
async fn secondary_indexes(path: &std::path::Path) -> Vec<String> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let names = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('records', 'journal') AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    names
}

/// A streamed import large enough for the bulk path (secondary indexes
/// dropped and built again inside the transaction): all or nothing, and the
/// indexes are there afterwards either way.
#[tokio::test]
async fn large_streamed_import_is_all_or_nothing_and_keeps_indexes() {
    use truce_store::ImportChunk;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let s = SqliteStore::open(&path).await.unwrap();
    s.apply(create(Uuid::now_v7(), "before", None))
        .await
        .unwrap();
    let indexes = secondary_indexes(&path).await;
    assert!(indexes.len() >= 4, "{indexes:?}");
    let record = incident("bulk");
    let chunk = move |n: usize| {
        (0..n)
            .map(|_| Command {
                actor: "importer".into(),
                reason: Some("import".into()),
                idempotency: None,
                change: Change::Create {
                    kind: EntityKind::Incident,
                    id: Uuid::new_v4(),
                    sensitivity: Sensitivity::Mission,
                    record: record.clone(),
                },
            })
            .collect::<Vec<_>>()
    };

    // Abandoned after the indexes were dropped: nothing written, all back.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let make = chunk.clone();
    let sender = tokio::spawn(async move {
        for _ in 0..6 {
            tx.send(ImportChunk::Commands(make(4096))).await.unwrap();
        }
    });
    assert!(s.apply_stream(rx).await.is_err());
    sender.await.unwrap();
    assert_eq!(s.count(EntityKind::Incident).await.unwrap(), 1);
    assert_eq!(secondary_indexes(&path).await, indexes);

    // Committed: every row, the same indexes, a journal that verifies.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let sender = tokio::spawn(async move {
        for _ in 0..6 {
            tx.send(ImportChunk::Commands(chunk(4096))).await.unwrap();
        }
        tx.send(ImportChunk::Commit).await.unwrap();
    });
    assert_eq!(s.apply_stream(rx).await.unwrap(), 6 * 4096);
    sender.await.unwrap();
    assert_eq!(s.count(EntityKind::Incident).await.unwrap(), 1 + 6 * 4096);
    assert_eq!(secondary_indexes(&path).await, indexes);
    let q = ListQuery {
        category: Some("explosions_remote_violence".into()),
        ..ListQuery::new(EntityKind::Incident, Sensitivity::Restricted)
    };
    let all = s.aggregate(&q, truce_store::Grouping::All).await.unwrap();
    assert_eq!(all[0].count, 1 + 6 * 4096);
    let report = s.verify().await.unwrap();
    assert_eq!(report.records, 1 + 6 * 4096);
}

/// `list_raw` gives the records `list` gives (same filter, sensitivity
/// and order, page by page), as stored: the id and the canonical JSON of
/// the data; `read_ahead` walks every page; the trait's default (through
/// `list`) agrees with the backend's own.
#[tokio::test]
async fn raw_pages_hold_what_list_gives() {
    let (_d, s) = open().await;
    let sens = [
        Sensitivity::Public,
        Sensitivity::Mission,
        Sensitivity::Restricted,
    ];
    for i in 0..23 {
        let mut cmd = create(Uuid::now_v7(), &format!("n{i} \"quoted\"\n"), None);
        if let Change::Create { sensitivity, .. } = &mut cmd.change {
            *sensitivity = sens[i % 3];
        }
        s.apply(cmd).await.unwrap();
    }
    for max in sens {
        for oldest_first in [true, false] {
            // Filters of every bound type: text, reals (bbox), integers
            // (time window); the last matches nothing.
            for variant in 0..4 {
                let mut q = ListQuery::new(EntityKind::Incident, max);
                q.limit = 4;
                q.oldest_first = oldest_first;
                match variant {
                    1 => q.text = Some("n1".to_string()),
                    2 => {
                        q.bbox = Some([46.0, 39.0, 47.0, 40.0]);
                        q.from = Some("2026-11-20T00:00:00Z".parse().unwrap());
                    }
                    3 => q.bbox = Some([0.0, 0.0, 1.0, 1.0]),
                    _ => {}
                }
                let first = s.list_raw(&q).await.unwrap();
                assert_eq!(first.is_empty(), variant == 3, "variant {variant}");
                let mut pages = 0;
                let mut walk: Vec<String> = Vec::new();
                let mut second_cursor = None;
                loop {
                    let list = s.list(&q).await.unwrap();
                    let raw = s.list_raw(&q).await.unwrap();
                    let default = truce_store::raw_page_via_list(&s, &q).await.unwrap();
                    assert_eq!(raw.next_cursor, list.next_cursor);
                    assert_eq!(raw.len(), list.items.len());
                    for (r, e) in raw.iter().zip(&list.items) {
                        assert_eq!(r.id, e.id.to_string());
                        assert_eq!(r.sensitivity, e.sensitivity);
                        assert!(r.sensitivity <= max);
                        assert_eq!(r.data, truce_core::journal::canonical_json(&e.data));
                    }
                    let d: Vec<_> = default.iter().map(|r| (r.id, r.data)).collect();
                    let o: Vec<_> = raw.iter().map(|r| (r.id, r.data)).collect();
                    assert_eq!(d, o);
                    pages += 1;
                    walk.extend(raw.iter().map(|r| r.id.to_string()));
                    if pages == 1 {
                        second_cursor = list.next_cursor;
                    }
                    match list.next_cursor {
                        Some(c) => q.cursor = Some(c),
                        None => break,
                    }
                }
                q.cursor = None;
                let mut ahead =
                    truce_store::read_ahead(std::sync::Arc::new(s.clone()), q.clone(), 1);
                let mut n = 0;
                while let Some(p) = ahead.recv().await {
                    p.unwrap();
                    n += 1;
                }
                assert_eq!(n, pages, "read_ahead gives every page once");
                // Slices read side by side give the same records in the
                // same order, from the start or from a page's cursor.
                let mut starts = vec![(None, 0)];
                if let Some(c) = second_cursor {
                    starts.push((Some(c), 4));
                }
                for (start, skip) in starts {
                    let mut q = q.clone();
                    q.cursor = start;
                    let sliced =
                        truce_store::read_ahead_map(std::sync::Arc::new(s.clone()), q, 3, |page| {
                            page.iter().map(|r| r.id.to_string()).collect::<Vec<_>>()
                        })
                        .await
                        .unwrap();
                    let ids: Vec<Vec<String>> = sliced.map(Result::unwrap).collect().await;
                    assert_eq!(
                        ids.concat(),
                        walk[skip..],
                        "read_ahead_map, variant {variant}, oldest first {oldest_first}"
                    );
                }
            }
        }
    }
}
fn ctx() -> ValidationContext {
    ValidationContext {
        now: "2026-11-21T00:00:00Z".parse().unwrap(),
    }
}

fn cmd(change: Change) -> Command {
    Command {
        actor: "obs".into(),
        reason: None,
        idempotency: None,
        change,
    }
}

fn line(
    corridor: Option<Uuid>,
    category: &str,
    q: f64,
    delivered_at: Option<&str>,
) -> serde_json::Value {
    json!({"convoy": Uuid::nil(), "corridor": corridor, "category": category, "item": "x",
           "quantity": q, "unit": "t", "delivered_quantity": delivered_at.map(|_| q),
           "delivered_at": delivered_at})
}

/// Delivered totals are what a naive sum over the delivered lines gives,
/// after creates, deliveries recorded as updates, corrections and
/// withdrawals, and after a replay of the journal into another store.
#[tokio::test]
async fn delivered_totals_follow_every_change_of_a_line() {
    use truce_store::{DeliveredQuery, Grouping};
    let (_d, s) = open().await;
    let corridor = Uuid::now_v7();
    let ml = |v| EntityKind::ManifestLine.validate_json(v, &ctx()).unwrap();
    let mut ids = Vec::new();
    for (c, cat, q, at) in [
        (Some(corridor), "food", 10.5, Some("2026-11-18T10:00:00Z")),
        (Some(corridor), "food", 2.25, Some("2026-11-19T23:59:59Z")),
        (None, "fuel", 7.0, Some("2026-11-19T00:00:00Z")),
        (Some(corridor), "medical", 1.0, None),
    ] {
        let id = Uuid::now_v7();
        ids.push(id);
        s.apply(cmd(Change::Create {
            kind: EntityKind::ManifestLine,
            id,
            sensitivity: Sensitivity::Mission,
            record: ml(line(c, cat, q, at)),
        }))
        .await
        .unwrap();
    }
    // The dispatched line is delivered, the first one corrected, the fuel withdrawn.
    for (id, v) in [
        (
            ids[3],
            line(Some(corridor), "medical", 1.0, Some("2026-11-20T08:00:00Z")),
        ),
        (
            ids[0],
            line(Some(corridor), "food", 9.0, Some("2026-11-18T10:00:00Z")),
        ),
    ] {
        s.apply(cmd(Change::Update {
            kind: EntityKind::ManifestLine,
            id,
            if_version: None,
            sensitivity: None,
            record: ml(v),
        }))
        .await
        .unwrap();
    }
    s.apply(cmd(Change::Retract {
        kind: EntityKind::ManifestLine,
        id: ids[2],
        if_version: None,
    }))
    .await
    .unwrap();
    let check = |s: SqliteStore| async move {
        for (from, to) in [
            (None, "2026-11-20T23:59:59Z"),
            (Some("2026-11-19T00:00:00Z"), "2026-11-19T23:59:59Z"),
            (Some("2026-11-20T00:00:00Z"), "2026-11-20T23:59:59Z"),
        ] {
            let to: jiff::Timestamp = to.parse().unwrap();
            let from = from.map(|f: &str| f.parse::<jiff::Timestamp>().unwrap());
            let mut q = ListQuery::new(EntityKind::ManifestLine, Sensitivity::Restricted);
            q.status = Some("delivered".into());
            q.from = from;
            q.to = Some(to);
            let naive: Vec<(String, u64, f64)> = s
                .aggregate(&q, Grouping::Category)
                .await
                .unwrap()
                .into_iter()
                .map(|b| (b.key, b.count, b.sum))
                .collect();
            let kept = s
                .delivered_totals(&DeliveredQuery {
                    from,
                    to,
                    by_day: false,
                    max_sensitivity: Sensitivity::Restricted,
                })
                .await
                .unwrap();
            let mut by_cat: std::collections::BTreeMap<String, (u64, f64)> = Default::default();
            for t in &kept {
                let e = by_cat.entry(t.category.clone()).or_default();
                e.0 += t.lines;
                e.1 += t.tonnes;
                assert_eq!(t.corridor, Some(corridor), "{t:?}");
            }
            let kept: Vec<(String, u64, f64)> =
                by_cat.into_iter().map(|(k, (n, t))| (k, n, t)).collect();
            assert_eq!(kept, naive, "{from:?}..{to}");
        }
        let days = s
            .delivered_totals(&DeliveredQuery {
                from: None,
                to: "2026-11-30T00:00:00Z".parse().unwrap(),
                by_day: true,
                max_sensitivity: Sensitivity::Public,
            })
            .await
            .unwrap();
        assert!(
            days.is_empty(),
            "mission lines hidden from a public reader: {days:?}"
        );
    };
    check(s.clone()).await;
    let (_d2, copy) = open().await;
    copy.replicate(s.journal(0, 1000).await.unwrap())
        .await
        .unwrap();
    check(copy).await;
}

/// `index_rows` and the `starts_from`/`not_category`/`not_status` filters:
/// the same records as `list`, in time order, without their content.
#[tokio::test]
async fn index_rows_match_list_in_time_order() {
    let (_d, s) = open().await;
    let mut made = Vec::new();
    for (i, (at, status, dup)) in [
        ("2026-11-20T12:00:00Z", "verified", false),
        ("2026-11-19T12:00:00Z", "refuted", false),
        ("2026-11-20T01:00:00Z", "reported", true),
        ("2026-11-20T00:00:00Z", "verified", false),
        ("2026-11-18T23:00:00Z", "verified", false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut v = json!({
            "occurred_at": at,
            "event_type": "explosions_remote_violence",
            "sub_event_type": "shelling_artillery_missile_attack",
            "location": {"lat": 39.8, "lon": 46.0 + i as f64 / 10.0},
            "ceasefire_violation": {"kind": "explosion", "perception": "heard", "count": 2},
            "verification": {"status": status, "reason": "checked"},
        });
        if dup {
            v["duplicate_of"] = json!(Uuid::nil());
        }
        let id = Uuid::now_v7();
        made.push((
            at.parse::<jiff::Timestamp>().unwrap(),
            id,
            status,
            dup,
            46.0 + i as f64 / 10.0,
        ));
        s.apply(cmd(Change::Create {
            kind: EntityKind::Incident,
            id,
            sensitivity: Sensitivity::Mission,
            record: EntityKind::Incident.validate_json(v, &ctx()).unwrap(),
        }))
        .await
        .unwrap();
    }
    let from: jiff::Timestamp = "2026-11-19T00:00:00Z".parse().unwrap();
    let to: jiff::Timestamp = "2026-11-20T23:59:59Z".parse().unwrap();
    let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    q.from = Some(from);
    q.starts_from = Some(from);
    q.to = Some(to);
    q.not_category = vec!["duplicate".into()];
    q.not_status = vec!["refuted".into()];
    let rows = s.index_rows(&q).await.unwrap();
    let mut want: Vec<_> = made
        .iter()
        .filter(|(t, _, st, dup, _)| *t >= from && *t <= to && *st != "refuted" && !dup)
        .collect();
    want.sort_by_key(|w| w.0);
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        want.iter().map(|w| w.1).collect::<Vec<_>>()
    );
    for (r, w) in rows.iter().zip(&want) {
        assert_eq!(r.time_start, Some(w.0));
        assert_eq!(r.point, Some((w.4, 39.8)));
        assert!(r.tags.iter().any(|t| t == "ceasefire_violation"));
    }
    let mut listed: Vec<Uuid> = s
        .list(&q)
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.id)
        .collect();
    listed.sort();
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(listed, ids);
    // The duplicate is found by its tag.
    let mut d = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    d.category = Some("duplicate".into());
    assert_eq!(s.index_rows(&d).await.unwrap().len(), 1);
}

#[tokio::test]
async fn fold_wal_empties_the_log_and_keeps_every_record() {
    let (d, s) = open().await;
    let ids: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    for (i, id) in ids.iter().enumerate() {
        s.apply(create(*id, &format!("r{i}"), None)).await.unwrap();
    }
    assert!(s.fold_wal().await.unwrap(), "nothing else reads the file");
    let wal = d.path().join("t.db-wal");
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    // The file alone now holds everything: a read-only open accepts it.
    let ro = SqliteStore::open_read_only(&d.path().join("t.db"))
        .await
        .unwrap();
    for id in &ids {
        assert!(ro.get(*id).await.unwrap().is_some());
    }
    // And the store goes on writing.
    s.apply(create(Uuid::now_v7(), "after", None))
        .await
        .unwrap();
}

#[tokio::test]
async fn read_only_open_refuses_a_database_with_a_pending_wal() {
    let (d, s) = open().await;
    s.apply(create(Uuid::now_v7(), "in the WAL", None))
        .await
        .unwrap();
    let path = d.path().join("t.db");
    let err = SqliteStore::open_read_only(&path)
        .await
        .err()
        .expect("refused while the WAL holds frames");
    assert!(err.to_string().contains("write-ahead log"), "{err}");
}

#[tokio::test]
async fn read_only_copy_exports_the_same_pages() {
    let (d, s) = open().await;
    for i in 0..9 {
        s.apply(create(Uuid::now_v7(), &format!("r{i}"), None))
            .await
            .unwrap();
    }
    // A name SQLite's URI syntax would otherwise cut short.
    let copy = d.path().join("copy #1?.db");
    s.backup(&copy).await.unwrap();
    let ro = SqliteStore::open_read_only(&copy).await.unwrap();
    let mut q = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    q.limit = 4;
    q.oldest_first = true;
    let mut seen = 0;
    loop {
        let (a, b) = (
            s.list_raw(&q).await.unwrap(),
            ro.list_raw(&q).await.unwrap(),
        );
        let ids = |p: &truce_store::RawPage| -> Vec<(String, String)> {
            p.iter()
                .map(|r| (r.id.to_string(), r.data.to_string()))
                .collect()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.next_cursor, b.next_cursor);
        seen += b.len();
        match b.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, 9);
    assert!(matches!(
        ro.apply(create(Uuid::now_v7(), "no", None)).await,
        Err(StoreError::Closed)
    ));
}

/// SQLite's `list_all` finds the rids first and reads the records in
/// chunks side by side (700 records: three chunks); the records and their
/// order must be those of one page after another, in both orders, from a
/// cursor, and with a filter the covering index does not hold.
#[tokio::test]
async fn list_all_in_chunks_gives_the_walk_page_by_page() {
    let (_d, s) = open().await;
    let cmds = (0..700)
        .map(|i| create(Uuid::new_v4(), &format!("note {}", i % 3), None))
        .collect();
    s.apply_all(cmds).await.unwrap();
    async fn pages(s: &SqliteStore, mut q: ListQuery) -> Vec<Uuid> {
        q.limit = 37;
        let mut out = Vec::new();
        loop {
            let page = s.list(&q).await.unwrap();
            out.extend(page.items.iter().map(|e| e.id));
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return out,
            }
        }
    }
    let all = ListQuery::new(EntityKind::Incident, Sensitivity::Restricted);
    let mut queries = Vec::new();
    for oldest_first in [true, false] {
        let mut q = all.clone();
        q.oldest_first = oldest_first;
        queries.push(q.clone());
        let mut filtered = q.clone();
        filtered.text = Some("note 1".into());
        queries.push(filtered);
        let first = s.list(&q).await.unwrap();
        q.cursor = first.next_cursor;
        queries.push(q);
    }
    for q in queries {
        let expected = pages(&s, q.clone()).await;
        assert!(expected.len() > 200, "{q:?}");
        let got: Vec<Uuid> = s
            .list_all(q.clone())
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(got, expected, "{q:?}");
    }
}
