//! Tamper evidence: after the server stops, one byte of one journal row is
//! changed directly in the database file, and `truce verify` fails naming
//! that entry. Other kinds of tampering (state edited behind the journal's
//! back, the journal cut short) are caught too.

mod common;

use std::path::Path;

use common::{Api, Mission, Server, incident};
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

async fn connect(db: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(db))
        .await
        .expect("open the database directly")
}

/// Runs one statement on `db` and returns the rows it changed.
async fn execute(db: &Path, sql: &str) -> u64 {
    let mut c = connect(db).await;
    let n = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await
        .expect(sql)
        .rows_affected();
    c.close().await.expect("close");
    n
}

async fn scalar(db: &Path, sql: &str) -> i64 {
    let mut c = connect(db).await;
    let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut c)
        .await
        .expect(sql);
    c.close().await.expect("close");
    v
}

/// `truce verify` must fail (exit 1) with a message containing `needle`.
#[track_caller]
fn assert_verify_fails(db: &Path, needle: &str) -> String {
    let (code, out) = common::verify(db);
    assert_eq!(code, 1, "truce verify should fail:\n{out}");
    assert!(out.contains("FAILED"), "{out}");
    assert!(!out.contains("OK:"), "{out}");
    assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_byte_in_the_journal_is_named_by_verify() {
    let m = Mission::init();
    let token = m.user_with_token("field", "observer");
    let mut server = Server::serve(&m.db).await;
    let api = Api::new(&server, Some(&token));
    let mut ids = Vec::new();
    for i in 1..=9 {
        let mut b = incident();
        b["notes"] = json!(format!("seen from the ridge, marker-{i}"));
        ids.push(
            api.create_incident(&b).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let head = api.head_seq().await;
    // Stop cleanly, so nothing is left half-written.
    server.terminate();
    common::assert_verifies(&m.db);

    // Copies taken by the product itself, one per kind of tampering.
    let copies: Vec<_> = ["payload", "state", "truncated"]
        .into_iter()
        .map(|name| {
            let p = m.path(&format!("{name}.db"));
            common::truce_ok(&m.db, &["backup", p.to_str().unwrap()]);
            common::assert_verifies(&p);
            p
        })
        .collect();

    // 1. One byte of one journal row's payload: marker-7 becomes marker-8.
    let seq = scalar(
        &m.db,
        "SELECT seq FROM journal WHERE payload LIKE '%marker-7%'",
    )
    .await;
    assert!(seq > 0 && (seq as u64) < head, "seq {seq} of head {head}");
    let n = execute(
        &m.db,
        &format!(
            "UPDATE journal SET payload = replace(payload, 'marker-7', 'marker-8') WHERE seq = {seq}"
        ),
    )
    .await;
    assert_eq!(n, 1);
    let out = assert_verify_fails(&m.db, &format!("journal entry {seq}:"));
    assert!(out.contains("altered"), "{out}");
    // The server still starts on it, and the record itself is unchanged.
    let server = Server::serve(&m.db).await;
    let api = Api::new(&server, Some(&token));
    let r = api.get(&format!("/incidents/{}", ids[6])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["notes"], "seen from the ridge, marker-7");
    drop(server);

    // The same edit on an entry's actor, in another copy.
    let p = &copies[0];
    let seq2 = scalar(p, "SELECT seq FROM journal WHERE payload LIKE '%marker-3%'").await;
    let n = execute(
        p,
        &format!("UPDATE journal SET actor = 'fielt' WHERE seq = {seq2}"),
    )
    .await;
    assert_eq!(n, 1);
    assert_verify_fails(p, &format!("journal entry {seq2}:"));

    // 2. The current state edited behind the journal's back.
    let p = &copies[1];
    let n = execute(
        p,
        &format!(
            "UPDATE records SET data = replace(data, 'marker-5', 'marker-6') WHERE id = '{}'",
            ids[4]
        ),
    )
    .await;
    assert_eq!(n, 1);
    let out = assert_verify_fails(p, &format!("record {}", ids[4]));
    assert!(out.contains("differs"), "{out}");

    // 3. The journal cut short: the newest entry deleted.
    let p = &copies[2];
    let n = execute(p, &format!("DELETE FROM journal WHERE seq = {head}")).await;
    assert_eq!(n, 1);
    assert_verify_fails(p, &format!("record {}", ids[8]));
}
