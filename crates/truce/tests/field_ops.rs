//! Field operations over HTTP against the real binary: mine action (land
//! release never beyond a hazard area, certificates only for released
//! land), with 409 and 422 problems that write nothing.

mod common;

use common::{Api, Mission, Server, assert_verifies};
use serde_json::{Value, json};

fn hazard(code: &str, m2: f64) -> Value {
    json!({
        "code": code,
        "classification": "confirmed",
        "area": {"type": "Polygon", "coordinates": [[[46.90, 39.90], [46.91, 39.90], [46.91, 39.91], [46.90, 39.91], [46.90, 39.90]]]},
        "area_m2": m2,
        "source": "technical_survey",
        "contamination": ["ap_mine"],
        // Only the release and certificate actions may set these.
        "status": "handed_over",
        "released": {"cleared_m2": 999.0},
    })
}

/// Asserts the journal did not move.
async fn unchanged(api: &Api, head: u64, what: &str) {
    assert_eq!(api.head_seq().await, head, "{what} wrote to the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_action_over_http() {
    let m = Mission::init();
    let mina = m.user_with_token("mina", "mine_action");
    let lou = m.user_with_token("lou", "logistics");
    let server = Server::serve(&m.db).await;
    let mina = Api::new(&server, Some(&mina));
    let lou = Api::new(&server, Some(&lou));

    let r = mina.post("/hazard_areas", &hazard("CHA-1", 1000.0)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["status"], "open", "protected on create: {}", r.text);
    assert_eq!(r.json["released"]["cleared_m2"], 0.0);
    let hid = r.json["id"].as_str().unwrap().to_string();
    let rel = format!("/hazard_areas/{hid}/releases");

    // Land releases are written only through the action.
    let r = mina
        .post(
            "/land_releases",
            &json!({"hazard_area": hid, "method": "cleared", "area_m2": 1.0, "released_at": "2026-11-20T00:00:00Z"}),
        )
        .await;
    r.assert_problem_status(405);
    assert!(r.text.contains("/releases"), "{}", r.text);

    let r = mina
        .post(
            &rel,
            &json!({"method": "cancelled", "area_m2": 600.0, "reason": "NTS found no evidence"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["hazard_area"]["status"], "in_progress");
    assert_eq!(r.json["hazard_area"]["released"]["cancelled_m2"], 600.0);
    assert_eq!(r.json["release"]["area_m2"], 600.0);

    // More than is left: 409, nothing written.
    let head = mina.head_seq().await;
    let r = mina
        .post(&rel, &json!({"method": "cleared", "area_m2": 400.5}))
        .await;
    r.assert_problem_status(409);
    assert!(
        r.json["detail"].as_str().unwrap().contains("400"),
        "{}",
        r.text
    );
    unchanged(&mina, head, "an excessive release").await;
    // Bad input: 422 naming the field, nothing written.
    mina.post(&rel, &json!({"method": "burned", "area_m2": 1.0}))
        .await
        .assert_problem(422, "method");
    mina.post(&rel, &json!({"method": "cleared", "area_m2": -5.0}))
        .await
        .assert_problem(422, "area_m2");
    mina.post(
        &rel,
        &json!({"method": "cleared", "area_m2": 1.0, "colour": "red"}),
    )
    .await
    .assert_problem_status(422);
    mina.post(
        &rel,
        &json!({"method": "cleared", "area_m2": 1.0, "released_at": "3000-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(422, "released_at");
    // Another module's role may not release land.
    lou.post(&rel, &json!({"method": "cleared", "area_m2": 1.0}))
        .await
        .assert_problem_status(403);
    // Not released yet: no certificate.
    let cert = json!({"code": "RC-1", "certified_by": "QA officer", "evidence": ["completion report"], "land_use": ["agriculture"]});
    let r = mina
        .post(&format!("/hazard_areas/{hid}/certificate"), &cert)
        .await;
    r.assert_problem_status(409);
    unchanged(&mina, head, "refused releases and certificates").await;

    let r = mina
        .post(&rel, &json!({"method": "cleared", "area_m2": 400.0}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["hazard_area"]["status"], "closed");

    let head = mina.head_seq().await;
    mina.post(
        &format!("/hazard_areas/{hid}/certificate"),
        &json!({"code": "RC-1", "certified_by": "QA officer", "evidence": []}),
    )
    .await
    .assert_problem(422, "evidence");
    unchanged(&mina, head, "a certificate without evidence").await;
    let r = mina
        .post(&format!("/hazard_areas/{hid}/certificate"), &cert)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["hazard_area"]["status"], "handed_over");
    assert_eq!(r.json["certificate"]["area"]["type"], "Polygon");
    let r = mina
        .post(&format!("/hazard_areas/{hid}/certificate"), &cert)
        .await;
    r.assert_problem_status(409);

    // A generic update cannot reopen the area or rewrite its totals.
    let r = mina.get(&format!("/hazard_areas/{hid}")).await;
    let etag = r.header("etag").unwrap().to_string();
    let mut body = r.json.clone();
    body["status"] = json!("open");
    body["released"] = json!({});
    body["name"] = json!("renamed");
    let r = mina
        .put(&format!("/hazard_areas/{hid}"), &body, Some(&etag))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "handed_over");
    assert_eq!(r.json["released"]["cleared_m2"], 400.0);
    assert_eq!(r.json["name"], "renamed");

    // The area's releases, through the generic reference filter.
    let r = mina.get(&format!("/land_releases?ref={hid}")).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 2, "{}", r.text);
    let r = mina.get("/mine_action/summary").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["land_released"]["cancelled"]["m2"], 600.0,
        "{}",
        r.text
    );
    assert_eq!(
        r.json["land_released"]["cleared"]["m2"], 400.0,
        "{}",
        r.text
    );
    assert_eq!(
        r.json["hazard_areas"]["by_status"]["handed_over"]["count"],
        1
    );

    // A retried release (same Idempotency-Key) is applied once.
    let r = mina.post("/hazard_areas", &hazard("CHA-2", 50.0)).await;
    let h2 = r.json["id"].as_str().unwrap().to_string();
    let send = || {
        Api::send(
            mina.request(
                reqwest::Method::POST,
                &format!("/hazard_areas/{h2}/releases"),
            )
            .header("idempotency-key", "rel-42")
            .json(&json!({"method": "cleared", "area_m2": 30.0})),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send().await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["release"]["id"], first.json["release"]["id"]);
    let r = mina.get(&format!("/hazard_areas/{h2}")).await;
    assert_eq!(r.json["released"]["cleared_m2"], 30.0, "{}", r.text);

    drop(server);
    assert_verifies(&m.db);
}
