//! Bad requests against the real binary: each is refused with the exact
//! status and a problem document naming the field, and none of them writes
//! anything to the journal.

mod common;

use common::{Api, Mission, Server, incident};
use serde_json::{Value, json};

fn aor(coordinates: Value) -> Value {
    json!({
        "code": "AOR-9",
        "name": "Test sector",
        "area": {"type": "Polygon", "coordinates": coordinates}
    })
}

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body.pointer_mut(pointer).expect("pointer") = value;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_writes_nothing() {
    let m = Mission::init();
    let admin = m.token("admin");
    let server = Server::serve(&m.db).await;
    let api = Api::new(&server, Some(&admin));

    // Valid requests first, so the bad ones below fail for their own reason.
    let good_aor = api
        .post(
            "/aors",
            &aor(json!([[[46, 39], [47, 39], [47, 40], [46, 40], [46, 39]]])),
        )
        .await;
    assert_eq!(good_aor.status, 201, "{}", good_aor.text);
    let created = api.create_incident(&incident()).await;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/incidents/{id}");
    let mut edited = incident();
    edited["notes"] = json!("edited once");
    let r = api.put(&path, &edited, Some("\"1\"")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"2\""));

    let before = api.head_seq().await;

    // Malformed JSON.
    let r = api
        .post_raw("/incidents", r#"{"occurred_at": "2026-11-20T10:00:00Z","#)
        .await;
    r.assert_problem(400, "body");
    // Not an object.
    let r = api.post_raw("/incidents", "[1, 2, 3]").await;
    r.assert_problem(400, "body");

    // Wrong type: latitude as a string.
    let r = api
        .post(
            "/incidents",
            &with(incident(), "/location/lat", json!("39.8")),
        )
        .await;
    r.assert_problem(422, "location.lat");

    // Latitude out of range.
    let r = api
        .post("/incidents", &with(incident(), "/location/lat", json!(91)))
        .await;
    let msg = r.assert_problem(422, "location.lat");
    assert!(!msg.is_empty());
    assert_eq!(r.json["errors"].as_array().unwrap().len(), 1, "{}", r.text);

    // Unknown event type.
    let r = api
        .post(
            "/incidents",
            &with(incident(), "/event_type", json!("alien_invasion")),
        )
        .await;
    r.assert_problem(422, "event_type");

    // A time in the year 3000.
    let r = api
        .post(
            "/incidents",
            &with(incident(), "/occurred_at", json!("3000-01-01T00:00:00Z")),
        )
        .await;
    let msg = r.assert_problem(422, "occurred_at");
    assert!(msg.contains("future"), "{msg}");

    // An AoR whose ring is not closed.
    let r = api
        .post(
            "/aors",
            &aor(json!([[[46, 39], [47, 39], [47, 40], [46, 40]]])),
        )
        .await;
    r.assert_problem_status(422);
    let field = r.json["errors"][0]["field"].as_str().unwrap_or_default();
    assert!(field.starts_with("area.coordinates"), "{}", r.text);

    // A bow-tie: the ring crosses itself.
    let r = api
        .post(
            "/aors",
            &aor(json!([[[46, 39], [47, 40], [47, 39], [46, 40], [46, 39]]])),
        )
        .await;
    r.assert_problem_status(422);
    let field = r.json["errors"][0]["field"].as_str().unwrap_or_default();
    assert!(field.starts_with("area"), "{}", r.text);
    let message = r.json["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("self-intersection"), "{}", r.text);

    // A 20 MB body.
    let mut huge = incident();
    huge["notes"] = json!("x".repeat(20 * 1024 * 1024));
    let r = api
        .post_raw("/incidents", serde_json::to_vec(&huge).unwrap())
        .await;
    r.assert_problem_status(413);

    // PUT with a stale If-Match.
    let r = api.put(&path, &incident(), Some("\"1\"")).await;
    let msg = r.assert_problem(412, "If-Match");
    assert!(msg.contains("version 2"), "{msg}");
    // PUT without If-Match.
    let r = api.put(&path, &incident(), None).await;
    r.assert_problem(428, "If-Match");
    // PUT with an If-Match that is no ETag.
    let r = api.put(&path, &incident(), Some("yesterday")).await;
    r.assert_problem(422, "If-Match");
    // PUT of an invalid body with the right If-Match.
    let r = api
        .put(
            &path,
            &with(incident(), "/location/lat", json!(-90.5)),
            Some("\"2\""),
        )
        .await;
    r.assert_problem(422, "location.lat");

    // The record is as it was, and the journal did not move.
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["version"], 2);
    assert_eq!(r.json["notes"], "edited once");
    assert_eq!(api.head_seq().await, before);
    assert_eq!(api.all_ids("incidents").await, vec![id]);
    assert_eq!(api.all_ids("aors").await.len(), 1);

    // And the server is still healthy.
    let h = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(h.status(), 200);
}
