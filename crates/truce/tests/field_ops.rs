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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logistics_over_http() {
    let m = Mission::init();
    let mina = m.user_with_token("mina", "mine_action");
    let lou = m.user_with_token("lou", "logistics");
    let server = Server::serve(&m.db).await;
    let mina = Api::new(&server, Some(&mina));
    let lou = Api::new(&server, Some(&lou));

    // A corridor, and a confirmed hazard area across it.
    let route = json!({"type": "LineString", "coordinates": [[46.30, 39.50], [46.40, 39.50], [46.50, 39.55]]});
    let r = lou
        .post(
            "/corridors",
            &json!({"name": "Test corridor", "route": route, "status": {"status": "open", "at": "2026-11-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let corridor = r.json["id"].as_str().unwrap().to_string();
    let mut h = hazard("CHA-ROAD", 5000.0);
    h["area"] = json!({"type": "Polygon", "coordinates": [[[46.349, 39.499], [46.351, 39.499], [46.351, 39.501], [46.349, 39.501], [46.349, 39.499]]]});
    let r = mina.post("/hazard_areas", &h).await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Planning: blocked without an override, nothing written.
    let convoy = json!({"code": "CV-1", "corridor": corridor, "origin": "A", "destination": "B", "planned_departure": "2026-11-20T06:00:00Z"});
    let head = lou.head_seq().await;
    let r = lou.post("/convoys/plan", &convoy).await;
    r.assert_problem(409, "override_reason");
    assert_eq!(r.json["hits"][0]["label"], "CHA-ROAD", "{}", r.text);
    assert_eq!(r.json["hits"][0]["blocking"], true);
    unchanged(&lou, head, "a blocked plan").await;
    let mut c = convoy.clone();
    c["override_reason"] = json!("asphalt verified, convoy keeps to the road");
    let r = lou.post("/convoys/plan", &c).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["status"], "planned");
    assert_eq!(r.json["route_check"]["override_by"], "lou");
    assert_eq!(r.json["route"]["type"], "LineString");
    let cid = r.json["id"].as_str().unwrap().to_string();
    let hist = lou.get(&format!("/convoys/{cid}/history")).await;
    assert!(
        hist.text.contains("route check overridden"),
        "{}",
        hist.text
    );

    // Manifest lines only through the action; units are checked.
    lou.post(
        "/manifest_lines",
        &json!({"convoy": cid, "category": "food", "item": "flour", "quantity": 1.0, "unit": "t"}),
    )
    .await
    .assert_problem_status(405);
    let manifest = format!("/convoys/{cid}/manifest");
    let head = lou.head_seq().await;
    lou.post(&manifest, &json!({"lines": [{"category": "food", "item": "flour", "quantity": 1.0, "unit": "bushels"}]}))
        .await
        .assert_problem(422, "lines[0].unit");
    lou.post(&manifest, &json!({"lines": [{"category": "hygiene", "item": "kits", "quantity": 10.0, "unit": "kits"}]}))
        .await
        .assert_problem(422, "lines[0].unit_mass_kg");
    lou.post(
        &manifest,
        &json!({"lines": [{"category": "medicine", "item": "x", "quantity": 1.0, "unit": "t"}]}),
    )
    .await
    .assert_problem(422, "lines[0].category");
    unchanged(&lou, head, "bad manifest lines").await;
    let r = lou
        .post(
            &manifest,
            &json!({"lines": [
                {"category": "food", "item": "wheat flour", "quantity": 20.0, "unit": "t"},
                {"category": "fuel", "item": "diesel", "quantity": 10000.0, "unit": "litres"},
                {"category": "construction_material", "item": "cement", "quantity": 5000.0, "unit": "kg"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["convoy"]["manifest_tonnes"], 33.4, "{}", r.text);
    let flour = r.json["lines"][0]["id"].as_str().unwrap().to_string();

    // Transitions: arriving a convoy never dispatched is a conflict.
    let status = format!("/convoys/{cid}/status");
    let head = lou.head_seq().await;
    let r = lou.post(&status, &json!({"status": "arrived"})).await;
    r.assert_problem_status(409);
    assert!(
        r.json["detail"].as_str().unwrap().contains("planned"),
        "{}",
        r.text
    );
    lou.post(&status, &json!({"status": "landed"}))
        .await
        .assert_problem(422, "status");
    lou.post(&status, &json!({"status": "delayed"}))
        .await
        .assert_problem(422, "reason");
    unchanged(&lou, head, "refused transitions").await;
    let r = lou
        .post(
            &status,
            &json!({"status": "dispatched", "at": "2026-11-20T06:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    lou.post(
        &manifest,
        &json!({"lines": [{"category": "food", "item": "rice", "quantity": 1.0, "unit": "t"}]}),
    )
    .await
    .assert_problem_status(409);
    lou.post(
        &status,
        &json!({"status": "in_transit", "at": "2026-11-20T05:00:00Z"}),
    )
    .await
    .assert_problem(422, "at");
    lou.post(
        &status,
        &json!({"status": "in_transit", "at": "2026-11-20T07:00:00Z"}),
    )
    .await;
    let head = lou.head_seq().await;
    lou.post(
        &status,
        &json!({"status": "arrived", "delivered": [{"line": flour, "quantity": 25.0}]}),
    )
    .await
    .assert_problem(422, "delivered[0].quantity");
    unchanged(&lou, head, "an over-delivery").await;
    let r = lou
        .post(
            &status,
            &json!({"status": "arrived", "delivered": [{"line": flour, "quantity": 19.5}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "arrived");
    assert_eq!(r.json["delivered_tonnes"], 32.9, "{}", r.text);
    let times: Vec<&str> = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(times, ["dispatched", "in_transit", "arrived"]);
    lou.post(&status, &json!({"status": "turned_back", "reason": "x"}))
        .await
        .assert_problem_status(409);

    // Totals: delivered in the last two days, by category and corridor.
    let r = lou.get("/logistics/totals?days=2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["tonnes"], 32.9, "{}", r.text);
    assert_eq!(r.json["lines"], 3);
    assert_eq!(r.json["by_category"]["fuel"]["tonnes"], 8.4, "{}", r.text);
    let r = lou
        .get(&format!(
            "/logistics/totals?category=food&corridor={corridor}"
        ))
        .await;
    assert_eq!(r.json["tonnes"], 19.5, "{}", r.text);
    let r = lou.get("/logistics/totals?to=2026-01-01").await;
    assert_eq!(r.json["tonnes"], 0.0, "{}", r.text);
    lou.get("/logistics/totals?category=gold")
        .await
        .assert_problem(422, "category");

    // Warehouse stock: never negative, reconciled with its movements.
    let r = lou
        .post(
            "/warehouses",
            &json!({"code": "WH-1", "name": "Hub", "location": {"lat": 39.5, "lon": 46.3}, "stock": [{"category": "food", "item": "gold", "tonnes": 99.0}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["stock"], json!([]), "stock is set by movements only");
    let wid = r.json["id"].as_str().unwrap().to_string();
    let mv = format!("/warehouses/{wid}/movements");
    let r = lou.post(&mv, &json!({"direction": "in", "category": "food", "item": "Wheat flour", "quantity": 10.0, "unit": "t"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let head = lou.head_seq().await;
    let r = lou.post(&mv, &json!({"direction": "out", "category": "food", "item": "wheat flour", "quantity": 11.0, "unit": "t"})).await;
    r.assert_problem_status(409);
    lou.post(&mv, &json!({"direction": "out", "category": "food", "item": "wheat flour", "quantity": 1.0, "unit": "furlongs"}))
        .await
        .assert_problem(422, "unit");
    lou.post("/stock_movements", &json!({"warehouse": wid, "direction": "in", "category": "food", "item": "x", "quantity": 1.0, "unit": "t", "at": "2026-11-20T00:00:00Z"}))
        .await
        .assert_problem_status(405);
    mina.post(
        &mv,
        &json!({"direction": "in", "category": "food", "item": "x", "quantity": 1.0, "unit": "t"}),
    )
    .await
    .assert_problem_status(403);
    unchanged(&lou, head, "refused stock movements").await;
    let r = lou.post(&mv, &json!({"direction": "out", "category": "food", "item": "wheat flour", "quantity": 4000.0, "unit": "kg"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["warehouse"]["stock"][0]["tonnes"], 6.0, "{}", r.text);
    let r = lou.get(&format!("/warehouses/{wid}/reconciliation")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["reconciliation"]["consistent"], true, "{}", r.text);
    assert_eq!(r.json["reconciliation"]["movements"], 2);

    // Corridor status with reason and time.
    let cs = format!("/corridors/{corridor}/status");
    lou.post(&cs, &json!({"status": "closed"}))
        .await
        .assert_problem(422, "reason");
    let r = lou
        .post(&cs, &json!({"status": "closed", "reason": "shelling"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"]["status"], "closed");
    assert_eq!(r.json["status_history"][0]["status"], "open");
    let mut c2 = convoy.clone();
    c2["code"] = json!("CV-2");
    lou.post("/convoys/plan", &c2)
        .await
        .assert_problem_status(409);

    drop(server);
    assert_verifies(&m.db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_sites_over_http() {
    let m = Mission::init();
    let mina = m.user_with_token("mina", "mine_action");
    let cmd = m.user_with_token("carl", "commander");
    let obs = m.user_with_token("otto", "observer");
    let server = Server::serve(&m.db).await;
    let mina = Api::new(&server, Some(&mina));
    let cmd = Api::new(&server, Some(&cmd));
    let obs = Api::new(&server, Some(&obs));

    let r = cmd
        .post(
            "/sites",
            &json!({"name": "Bridge", "category": "bridge", "location": {"lat": 39.895, "lon": 46.895}, "watch_radius_m": 1500.0}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sid = r.json["id"].as_str().unwrap().to_string();
    // A hazard area ~700 m away, an incident ~1.1 km away, one 5.5 km away.
    let r = mina
        .post("/hazard_areas", &hazard("CHA-NEAR", 1000.0))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut near = common::incident();
    near["location"] = json!({"lat": 39.905, "lon": 46.895});
    obs.create_incident(&near).await;
    let mut far = common::incident();
    far["location"] = json!({"lat": 39.945, "lon": 46.895});
    obs.create_incident(&far).await;
    // Damage needs evidence.
    let head = cmd.head_seq().await;
    cmd.post(
        "/site_assessments",
        &json!({"site": sid, "assessed_at": "2026-11-19T10:00:00Z", "condition": "major_damage"}),
    )
    .await
    .assert_problem(422, "evidence");
    unchanged(&cmd, head, "damage without evidence").await;
    for (at, c, ev) in [
        ("2026-11-01T10:00:00Z", "intact", json!([])),
        ("2026-11-19T10:00:00Z", "minor_damage", json!(["photo P-1"])),
    ] {
        let r = cmd
            .post(
                "/site_assessments",
                &json!({"site": sid, "assessed_at": at, "condition": c, "evidence": ev}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = cmd.get(&format!("/sites/{sid}/nearby")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["condition"], "minor_damage");
    assert_eq!(r.json["condition_history"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.json["incidents"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    let d = r.json["incidents"][0]["distance_m"].as_f64().unwrap();
    assert!((1000.0..1200.0).contains(&d), "{d}");
    assert_eq!(r.json["hazard_areas"][0]["code"], "CHA-NEAR", "{}", r.text);
    let r = cmd
        .get(&format!("/sites/{sid}/nearby?distance_m=6000"))
        .await;
    assert_eq!(
        r.json["incidents"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    cmd.get(&format!("/sites/{sid}/nearby?distance_m=-1"))
        .await
        .assert_problem(422, "distance_m");
    drop(server);
    assert_verifies(&m.db);
}
