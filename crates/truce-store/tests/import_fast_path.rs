//! Streamed imports of records already in canonical JSON
//! (`ImportChunk::Creates`, what `truce import` sends) write exactly the
//! rows that create commands (`ImportChunk::Commands`, the general path)
//! write for the same input: record data and index columns, R-tree boxes,
//! journal payloads. Retries and conflicts behave as for commands.

use serde_json::{Value, json};
use sqlx::{Connection, Row};
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_store::sqlite::SqliteStore;
use truce_store::{Change, Command, ImportChunk, NewRecord, NewRecords, Store};
use uuid::Uuid;

fn ctx() -> ValidationContext {
    ValidationContext {
        now: "2026-11-21T00:00:00Z".parse().unwrap(),
    }
}

/// Incidents using every field (text with quotes, new lines and non-ASCII,
/// numbers that are integers and fractions, every optional block) and a
/// few records of other kinds, with their ids and sensitivities.
fn varied() -> Vec<(EntityKind, Uuid, Sensitivity, Value)> {
    let party = Uuid::from_u128(0x0192e0a0_0000_7000_8000_0000000000aa);
    let post = Uuid::from_u128(0x0192e0a0_0000_7000_8000_0000000000bb);
    let mut out = Vec::new();
    for i in 0..60u32 {
        let mut b = json!({
            "occurred_at": format!("2026-10-{:02}T{:02}:{:02}:07Z", 1 + i % 28, i % 24, i),
            "event_type": "explosions_remote_violence",
            "sub_event_type": "shelling_artillery_missile_attack",
            "location": {"lat": 39.5 + f64::from(i) * 0.0125, "lon": 46.25 - f64::from(i) * 0.003},
            "ceasefire_violation": {"kind": "explosion", "perception": "heard", "count": 1 + i % 7},
        });
        match i % 6 {
            0 => {
                b["notes"] = json!(format!(
                    "row {i}: \"quoted\", with commas,\nand Ağdam – Աղդամ 😀 \u{1}"
                ));
                b["location_name"] = json!("Ağdam – east outskirts");
                b["admin1"] = json!("Aghdam");
            }
            1 => {
                b["event_type"] = json!("battles");
                b["sub_event_type"] = json!("armed_clash");
                b["ceasefire_violation"] = json!({
                    "kind": "burst", "perception": "seen", "direction_deg": 271.5,
                    "distance_min_m": 800, "distance_max_m": 1200.25, "count": 12,
                    "attributed_to": party, "observing_post": post, "weapon": "heavy machine gun"
                });
                b["actor1"] = json!("Unit 7");
                b["actor1_party"] = json!(party);
                b["actor2"] = json!("Civilians");
                b["fatalities"] = json!(3);
                b["deaths"] =
                    json!({"side_a": 1, "side_b": 1, "civilians": 1, "low": 2, "high": 5});
            }
            2 => {
                b["event_type"] = json!("violence_against_civilians");
                b["sub_event_type"] = json!("attack");
                b["ceasefire_violation"] = json!(null);
                b["source"] = json!("informant; do not share");
                b["source_scale"] = json!("Local partner");
                b["source_grading"] = json!({"reliability": "C", "credibility": 3});
            }
            3 => {
                b["event_type"] = json!("strategic_developments");
                b["sub_event_type"] = json!("agreement");
                b["ceasefire_violation"] = json!(null);
                b["time_precision"] = json!(2);
                b["geo_precision"] = json!(3);
                b["verification"] = json!({"status": "verified", "by": "desk",
                    "at": "2026-10-30T10:00:00Z", "reason": "patrol confirmed"});
                b["assignee"] = json!("desk");
                b["duplicate_of"] = json!(post);
            }
            4 => {
                b["ceasefire_violation"]["explosion_subtype"] = json!("impact");
                b["sources"] =
                    json!([{"document": post, "start": 3, "end": 19, "text": "four \"impacts\""}]);
            }
            _ => {}
        }
        let sensitivity = [
            Sensitivity::Public,
            Sensitivity::Mission,
            Sensitivity::Restricted,
        ][i as usize % 3];
        out.push((
            EntityKind::Incident,
            Uuid::from_u128(0x0192e0a0_0000_7000_8000_000000001000 + u128::from(i)),
            sensitivity,
            b,
        ));
    }
    out.push((
        EntityKind::Party,
        party,
        Sensitivity::Public,
        json!({"name": "Party A", "short_name": "A"}),
    ));
    out.push((
        EntityKind::Post,
        post,
        Sensitivity::Mission,
        json!({"code": "OP-07", "name": "Post seven", "location": {"lat": 39.9, "lon": 46.6}, "staffed": true}),
    ));
    out
}

fn commands(rows: &[(EntityKind, Uuid, Sensitivity, Value)]) -> ImportChunk {
    ImportChunk::Commands(
        rows.iter()
            .map(|(kind, id, sensitivity, v)| Command {
                actor: "importer".into(),
                reason: Some("import a.csv".into()),
                idempotency: None,
                change: Change::Create {
                    kind: *kind,
                    id: *id,
                    sensitivity: *sensitivity,
                    record: kind.validate_json(v.clone(), &ctx()).unwrap(),
                },
            })
            .collect(),
    )
}

fn creates(rows: &[(EntityKind, Uuid, Sensitivity, Value)]) -> ImportChunk {
    ImportChunk::Creates(NewRecords {
        actor: "importer".into(),
        reason: Some("import a.csv".into()),
        records: rows
            .iter()
            .map(|(kind, id, sensitivity, v)| NewRecord {
                kind: *kind,
                id: *id,
                sensitivity: *sensitivity,
                record: kind.validate_canonical(v.clone(), &ctx()).unwrap(),
            })
            .collect(),
    })
}

async fn stream(store: &SqliteStore, chunks: Vec<ImportChunk>) -> Result<u64, String> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let sender = tokio::spawn(async move {
        for c in chunks {
            if tx.send(c).await.is_err() {
                return;
            }
        }
        let _ = tx.send(ImportChunk::Commit).await;
    });
    let r = store.apply_stream(rx).await.map_err(|e| e.to_string());
    sender.await.unwrap();
    r
}

/// Every row of `table` ordered by `order`, each column as SQL `quote()`
/// text, leaving out the columns in `skip` (clock readings and random ids).
async fn rows(db: &std::path::Path, table: &str, order: &str, skip: &[&str]) -> Vec<Vec<String>> {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{table}')"
    )))
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .filter(|n| !skip.contains(&n.as_str()))
    .collect();
    assert!(columns.len() > 3, "{table}: {columns:?}");
    let select = columns
        .iter()
        .map(|n| format!("'{n}=' || quote({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let out = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {select} FROM {table} ORDER BY {order}"
    )))
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| (0..columns.len()).map(|i| r.get::<String, _>(i)).collect())
    .collect();
    c.close().await.unwrap();
    out
}

/// Records, R-tree and journal of a database, without clock readings,
/// entry ids and the hashes that cover them.
async fn contents(db: &std::path::Path) -> Vec<Vec<Vec<String>>> {
    vec![
        rows(db, "records", "rid", &["created_at", "updated_at"]).await,
        rows(db, "records_rtree", "rid", &[]).await,
        rows(
            db,
            "journal",
            "seq",
            &["entry_id", "at", "prev_hash", "hash"],
        )
        .await,
    ]
}

/// Within one import, each record's times are its journal entry's time.
async fn times_agree(db: &std::path::Path) {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let bad: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM records r JOIN journal j ON j.seq = r.last_seq \
         WHERE r.created_at != j.at OR r.updated_at != j.at",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(bad, 0);
    c.close().await.unwrap();
}

#[tokio::test]
async fn canonical_creates_write_the_same_rows_as_create_commands() {
    let rows_in = varied();
    let (first, second) = rows_in.split_at(40);
    // The second chunk repeats two records of the first (a retry within
    // the import: nothing written for them).
    let mut second = second.to_vec();
    second.insert(3, rows_in[0].clone());
    second.push(rows_in[39].clone());

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("general.db"), dir.path().join("fast.db"));
    let general = SqliteStore::open(&a).await.unwrap();
    let fast = SqliteStore::open(&b).await.unwrap();
    let n_general = stream(&general, vec![commands(first), commands(&second)])
        .await
        .unwrap();
    let n_fast = stream(&fast, vec![creates(first), creates(&second)])
        .await
        .unwrap();
    assert_eq!(n_general, n_fast);
    assert_eq!(fast.count(EntityKind::Incident).await.unwrap(), 60);
    let (vg, vf) = (
        general.verify().await.unwrap(),
        fast.verify().await.unwrap(),
    );
    assert_eq!((vg.entries, vg.records), (vf.entries, vf.records));
    assert_eq!(vf.records, rows_in.len() as u64);
    general.close().await;
    fast.close().await;

    let (cg, cf) = (contents(&a).await, contents(&b).await);
    assert_eq!(cg[0].len(), rows_in.len());
    for (table, (g, f)) in ["records", "records_rtree", "journal"]
        .iter()
        .zip(cg.iter().zip(&cf))
    {
        assert_eq!(g.len(), f.len(), "{table}");
        for (rg, rf) in g.iter().zip(f) {
            assert_eq!(rg, rf, "{table}");
        }
    }
    times_agree(&a).await;
    times_agree(&b).await;
}

#[tokio::test]
async fn reimporting_writes_nothing_and_a_changed_record_refuses_the_whole_import() {
    let rows_in = varied();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let n = rows_in.len() as u64;
    assert_eq!(stream(&store, vec![creates(&rows_in)]).await.unwrap(), n);
    let before = store.head().await.unwrap();

    // The same file again: every record is a retry, nothing is written.
    assert_eq!(
        stream(
            &store,
            vec![creates(&rows_in[..10]), creates(&rows_in[10..])]
        )
        .await
        .unwrap(),
        n
    );
    assert_eq!(store.head().await.unwrap(), before);

    // New records first, then one whose id exists with other content: the
    // whole import is refused and nothing of it is written.
    let mut changed = rows_in[5].clone();
    changed.3["notes"] = json!("edited");
    let mut fresh = rows_in[..20].to_vec();
    for (i, r) in fresh.iter_mut().enumerate() {
        r.1 = Uuid::from_u128(0x0192e0a0_0000_7000_8000_00000000f000 + i as u128);
    }
    let err = stream(&store, vec![creates(&fresh), creates(&[changed])])
        .await
        .unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(store.head().await.unwrap(), before);
    assert_eq!(store.count(EntityKind::Incident).await.unwrap(), 60);
    assert_eq!(store.verify().await.unwrap().records, n);
}
