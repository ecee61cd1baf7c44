//! The CLI writes to the database while the server runs on it (an admin
//! adds a user, creates or revokes a token, imports a file): both go on
//! writing to one unbroken journal.

mod common;

use std::time::{Duration, Instant};

use common::{Api, Mission, Server, incident};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_server_share_one_journal() {
    let m = Mission::init();
    let field_token = m.user_with_token("field", "observer");
    let server = Server::serve(&m.db).await;
    let field = Api::new(&server, Some(&field_token));
    let first = field.create_incident(&incident()).await;

    // An admin adds an analyst and a token from the command line.
    m.add_user("late", "analyst");
    let desk = Api::new(&server, Some(&m.token("late")));
    let r = desk.get("/me").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["role"], "analyst");

    // The server goes on writing after the CLI's entries.
    let second = field.create_incident(&incident()).await;
    let r = desk
        .post(
            &format!("/incidents/{}/verification", first["id"].as_str().unwrap()),
            &json!({"status": "verified", "reason": "two observers"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // An import while serving, then more writes through the server.
    let file = m.path("late.csv");
    std::fs::write(
        &file,
        "occurred_at,event_type,sub_event_type,location.lat,location.lon,notes\n\
         2026-11-19T10:00:00Z,explosions_remote_violence,grenade,39.81,46.71,imported one\n\
         2026-11-19T11:00:00Z,explosions_remote_violence,grenade,39.82,46.72,imported two\n",
    )
    .unwrap();
    let out = common::truce_ok(&m.db, &["import", file.to_str().unwrap()]);
    assert!(out.contains("imported 2 incidents"), "{out}");
    let third = field.create_incident(&incident()).await;
    let ids = desk.all_ids("incidents").await;
    assert_eq!(ids.len(), 5, "{ids:?}");
    for rec in [&first, &second, &third] {
        assert!(ids.contains(&rec["id"].as_str().unwrap().to_string()));
    }

    // A token revoked from the command line stops working within seconds.
    let list = common::truce_ok(&m.db, &["token", "list"]);
    let field_token_id = list
        .lines()
        .find(|l| l.contains(" field "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token of field in:\n{list}"))
        .to_string();
    common::truce_ok(&m.db, &["token", "revoke", &field_token_id]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = field.post("/incidents", &incident()).await;
        if r.status == 401 {
            break;
        }
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(Instant::now() < deadline, "revoked token still accepted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let head = desk.head_seq().await;
    drop(server);
    let out = common::assert_verifies(&m.db);
    assert!(
        out.contains(&format!("OK: {head} journal entries")),
        "{out}"
    );
}
