//! The role matrix over HTTP against the real binary: who may write, who may
//! verify, who may see restricted incidents, and that restricted reads are
//! journaled.

mod common;

use common::{Api, Mission, Server, incident};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_over_http() {
    let m = Mission::init();
    let viewer = m.user_with_token("vera", "viewer");
    let observer = m.user_with_token("otto", "observer");
    let analyst = m.user_with_token("anna", "analyst");
    let server = Server::serve(&m.db).await;

    let anon = Api::new(&server, None);
    let viewer = Api::new(&server, Some(&viewer));
    let observer = Api::new(&server, Some(&observer));
    let analyst = Api::new(&server, Some(&analyst));

    // No credentials: 401 on a write, and on a read of the journal head.
    let r = anon.post("/incidents", &incident()).await;
    r.assert_problem_status(401);
    anon.get("/journal/head").await.assert_problem_status(401);
    // A made-up token is no better.
    let forged = Api::new(&server, Some("truce_not-a-real-token"));
    forged
        .post("/incidents", &incident())
        .await
        .assert_problem_status(401);

    // Viewer may not file incidents.
    let r = viewer.post("/incidents", &incident()).await;
    r.assert_problem_status(403);
    assert!(
        r.json["detail"].as_str().unwrap().contains("viewer"),
        "{}",
        r.text
    );

    // Observer files one.
    let filed = observer.create_incident(&incident()).await;
    let id = filed["id"].as_str().expect("id").to_string();
    assert_eq!(filed["created_by"], "otto");
    assert_eq!(filed["sensitivity"], "mission");
    assert_eq!(filed["verification"]["status"], "reported");

    // Observer may not verify, even their own.
    let r = observer
        .post(
            &format!("/incidents/{id}/verification"),
            &json!({"status": "verified", "reason": "seen myself"}),
        )
        .await;
    r.assert_problem_status(403);
    let r = observer.get(&format!("/incidents/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["verification"]["status"], "reported");
    assert_eq!(r.json["version"], 1);

    // Analyst verifies it.
    let r = analyst
        .post(
            &format!("/incidents/{id}/verification"),
            &json!({"status": "verified", "reason": "crater confirmed by patrol"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["verification"]["status"], "verified");
    assert_eq!(r.json["verification"]["by"], "anna");
    assert_eq!(r.header("etag"), Some("\"2\""));
    for who in [&observer, &analyst] {
        let r = who.get(&format!("/incidents/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["verification"]["status"], "verified");
        assert_eq!(r.json["verification"]["by"], "anna");
        assert_eq!(
            r.json["verification"]["reason"],
            "crater confirmed by patrol"
        );
        assert_eq!(r.json["version"], 2);
        assert_eq!(r.json["updated_by"], "anna");
    }
    // A mission-level incident is not public: the viewer sees nothing.
    viewer
        .get(&format!("/incidents/{id}"))
        .await
        .assert_problem_status(404);

    // Verifying without a reason names the field.
    let r = analyst
        .post(
            &format!("/incidents/{id}/verification"),
            &json!({"status": "refuted"}),
        )
        .await;
    let msg = r.assert_problem(422, "reason");
    assert!(msg.contains("refuted"), "{msg}");

    // A public incident is visible to the viewer.
    let mut public = incident();
    public["sensitivity"] = json!("public");
    let public = analyst.create_incident(&public).await;
    let public_id = public["id"].as_str().unwrap().to_string();
    let r = viewer.get(&format!("/incidents/{public_id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["sensitivity"], "public");

    // A restricted incident, filed by the analyst.
    let mut restricted = incident();
    restricted["sensitivity"] = json!("restricted");
    restricted["notes"] = json!("source protection: informant near the crossing");
    let restricted = analyst.create_incident(&restricted).await;
    let rid = restricted["id"].as_str().unwrap().to_string();
    assert_eq!(restricted["sensitivity"], "restricted");

    let before = analyst.head_seq().await;
    for who in [&viewer, &observer] {
        let r = who.get(&format!("/incidents/{rid}")).await;
        r.assert_problem_status(404);
        // The answer does not tell it apart from a record that does not exist.
        let missing = who
            .get(&format!("/incidents/{}", uuid::Uuid::new_v4()))
            .await;
        missing.assert_problem_status(404);
        assert_eq!(r.json["type"], missing.json["type"]);
        let ids = who.all_ids("incidents").await;
        assert!(!ids.contains(&rid), "restricted incident listed: {ids:?}");
        // Nor can they verify or change it.
        who.post(
            &format!("/incidents/{rid}/verification"),
            &json!({"status": "verified", "reason": "x"}),
        )
        .await
        .assert_problem_status(404);
    }
    // What they could each list.
    assert_eq!(viewer.all_ids("incidents").await, vec![public_id.clone()]);
    let mut seen = observer.all_ids("incidents").await;
    seen.sort();
    let mut expected = vec![id.clone(), public_id.clone()];
    expected.sort();
    assert_eq!(seen, expected);
    // Nothing was journaled for refused reads.
    assert_eq!(analyst.head_seq().await, before);

    // Every read of the restricted record by the analyst is journaled.
    for i in 1..=3 {
        let r = analyst.get(&format!("/incidents/{rid}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["notes"], restricted["notes"]);
        assert_eq!(analyst.head_seq().await, before + i, "after read {i}");
    }
    // So is a list that shows it.
    let before_list = analyst.head_seq().await;
    let ids = analyst.all_ids("incidents").await;
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&rid));
    assert_eq!(analyst.head_seq().await, before_list + 1);
    // Reading an unrestricted record journals nothing.
    let before_plain = analyst.head_seq().await;
    let r = analyst.get(&format!("/incidents/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(analyst.head_seq().await, before_plain);

    // The history of the restricted record hides the reads but the chain
    // (checked by `truce verify`) counts them.
    let h = analyst.get(&format!("/incidents/{rid}/history")).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let ops: Vec<&str> = h.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, vec!["create"]);
    // The history read just above is journaled too.
    assert_eq!(analyst.head_seq().await, before_plain + 1);
    let head = analyst.head_seq().await;
    drop(server);
    let out = common::assert_verifies(&m.db);
    assert!(
        out.contains(&format!("OK: {head} journal entries")),
        "{out}"
    );
}
