//! Online backup: `truce backup` while a client keeps writing, then
//! `truce restore` into a new database that verifies, whose journal is a
//! prefix of the live one and which holds every write acknowledged before
//! the backup began.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Api, Mission, Server, incident};
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// Every `(seq, hash)` of a database's journal, in order.
async fn journal(db: &Path) -> Vec<(i64, Vec<u8>)> {
    let mut c =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(db).read_only(true))
            .await
            .expect("open database");
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, hash FROM journal ORDER BY seq")
        .fetch_all(&mut c)
        .await
        .expect("journal");
    c.close().await.expect("close");
    rows
}

/// `backup F at journal head SEQ HASH` -> (SEQ, HASH).
fn backup_head(out: &str) -> (u64, String) {
    let rest = out
        .split("at journal head ")
        .nth(1)
        .unwrap_or_else(|| panic!("no head in {out:?}"));
    let mut parts = rest.split_whitespace();
    let seq = parts.next().unwrap().parse().expect("seq");
    let hash = parts.next().expect("hash").to_string();
    assert_eq!(hash.len(), 64, "{out}");
    (seq, hash)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_restores_to_a_verified_prefix() {
    let m = Mission::init();
    let token = m.user_with_token("field", "observer");
    let server = Server::serve(&m.db).await;
    let api = Api::new(&server, Some(&token));
    let head_before = api.head_seq().await;

    // Writers: four clients filing incidents until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (api, stop, acked) = (api.clone(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let mut b = incident();
                    b["notes"] = json!(format!("writer {w} row {i}"));
                    let rec = api.create_incident(&b).await;
                    acked
                        .lock()
                        .unwrap()
                        .push(rec["id"].as_str().unwrap().to_string());
                    i += 1;
                }
            })
        })
        .collect();
    let wait_for = |n: usize| {
        let acked = acked.clone();
        async move {
            for _ in 0..6000 {
                if acked.lock().unwrap().len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("writers stalled before {n} incidents");
        }
    };

    wait_for(200).await;
    let before_backup: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let file = m.path("backup.db");
    let (db, f) = (m.db.clone(), file.clone());
    let out = tokio::task::spawn_blocking(move || {
        common::truce_ok(&db, &["backup", f.to_str().unwrap()])
    })
    .await
    .unwrap();
    let during_backup = acked.lock().unwrap().len();
    let (seq, hash) = backup_head(&out);
    assert!(seq >= head_before + 200, "backup head {seq}: {out}");
    // Writes go on after the backup.
    wait_for(during_backup + 200).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let live_head = api.head_seq().await;
    assert!(live_head > seq, "live {live_head} vs backup {seq}");

    // The backup file is refused as a target a second time.
    let o = common::truce(&m.db, &["backup", file.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", common::describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already exists"),
        "{}",
        common::describe(&o)
    );

    // Restore into a new database, which verifies with the backup's head.
    let restored = m.path("restored.db");
    let out = common::truce_ok(&restored, &["restore", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("{seq} entries verified, head {seq}")),
        "{out}"
    );
    let v = common::assert_verifies(&restored);
    assert!(v.contains(&format!("head {seq} {hash}")), "{v}");

    // The backup's journal is a prefix of the live one.
    let copy = journal(&restored).await;
    let live = journal(&m.db).await;
    assert_eq!(copy.len() as u64, seq);
    assert_eq!(live.len() as u64, live_head);
    assert_eq!(&live[..copy.len()], &copy[..]);
    assert_eq!(hex(&copy.last().unwrap().1), hash);

    // The restored mission serves every incident acknowledged before the
    // backup began, and nothing that was never sent.
    drop(server);
    let server = Server::serve(&restored).await;
    let api = Api::new(&server, Some(&token));
    let ids: HashSet<String> = api.all_ids("incidents").await.into_iter().collect();
    assert_eq!(ids.len() as u64, seq - head_before);
    assert!(ids.is_superset(&before_backup));
    let all: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(ids.is_subset(&all));
    drop(server);
    common::assert_verifies(&m.db);

    // A mistyped backup name restores nothing: the live database is kept
    // as it was, and no empty database appears under the mistyped name.
    let typo = m.path("bakcup.db");
    let o = common::truce(&m.db, &["restore", typo.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", common::describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not found"),
        "{}",
        common::describe(&o)
    );
    assert!(!typo.exists());
    assert_eq!(journal(&m.db).await.len() as u64, live_head);
    common::assert_verifies(&m.db);

    // A file that is no database restores nothing.
    let junk = m.path("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let target = m.path("never.db");
    let o = common::truce(&target, &["restore", junk.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", common::describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing was restored"),
        "{}",
        common::describe(&o)
    );
    assert!(!target.exists());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
