//! Spatial API over HTTP against the real binary, on demo-like data: the
//! demo's OpenStreetMap-derived roads (imported with `truce roads import`
//! while the server runs), the demo's AoRs and posts, hazard areas and
//! incidents written through the API. Map queries, `POST /routes` (avoid
//! sets, why there is no route) and `POST /routes/check`.

mod common;

use common::{Api, Mission, Server, truce_ok};
use serde_json::{Value, json};

const ROADS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/roads.geojson");
const AORS: &str = include_str!("../assets/demo/aors.json");
const POSTS: &str = include_str!("../assets/demo/posts.json");

/// Goris and Khankendi, the ends of the demo's Lachin corridor (lat, lon).
const GORIS: (f64, f64) = (39.50475, 46.34233);
const KHANKENDI: (f64, f64) = (39.81452, 46.75118);

fn square(lon: f64, lat: f64, half: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
        [lon - half, lat + half], [lon - half, lat - half]
    ]]})
}

fn route_body(from: (f64, f64), to: (f64, f64), avoid: Value) -> Value {
    json!({
        "from": {"lat": from.0, "lon": from.1},
        "to": {"lat": to.0, "lon": to.1},
        "profile": "car", "metric": "distance", "avoid": avoid, "buffer_m": 500.0,
    })
}

fn coords(route: &Value) -> Vec<(f64, f64)> {
    route["geometry"]["coordinates"]
        .as_array()
        .expect("coordinates")
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect()
}

fn hit<'a>(hits: &'a Value, id: &str) -> Option<&'a Value> {
    hits.as_array()?.iter().find(|h| h["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_queries_routes_and_route_checks() {
    let m = Mission::init();
    let admin = m.user_with_token("ada", "admin");
    let mina = m.user_with_token("mina", "mine_action");
    let olga = m.user_with_token("olga", "observer");
    let vic = m.user_with_token("vic", "viewer");
    let server = Server::serve(&m.db).await;
    let admin = Api::new(&server, Some(&admin));
    let mina = Api::new(&server, Some(&mina));
    let olga = Api::new(&server, Some(&olga));
    let vic = Api::new(&server, Some(&vic));

    // No road network yet: a clear 409.
    let r = olga
        .post("/routes", &route_body(GORIS, KHANKENDI, json!({})))
        .await;
    r.assert_problem_status(409);
    assert!(r.text.contains("roads import"), "{}", r.text);

    // The CLI imports the roads while the server runs; the next answer sees them.
    truce_ok(&m.db, &["roads", "import", ROADS]);
    let r = olga
        .post("/routes", &route_body(GORIS, KHANKENDI, json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let base = r.json.clone();
    let d0 = base["distance_m"].as_f64().unwrap();
    assert!(
        (60_000.0..120_000.0).contains(&d0),
        "Goris-Khankendi {d0} m"
    );
    assert!(
        base["duration_s"].as_f64().unwrap() > d0 / 40.0,
        "{}",
        r.text
    );
    assert_eq!(base["geometry"]["type"], "LineString");
    assert_eq!(base["hits"], json!([]), "nothing recorded yet: {}", r.text);
    let line = coords(&base);
    assert!(line.len() > 10);

    // A hazard area across the route's middle, added through the API...
    let mid = line[line.len() / 2];
    let r = mina
        .post(
            "/hazard_areas",
            &json!({
                "code": "CHA-ROUTE", "classification": "confirmed",
                "area": square(mid.0, mid.1, 0.003), "source": "technical_survey",
                "contamination": ["ap_mine"], "recorded_at": jiff::Timestamp::now().to_string(),
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let hid = r.json["id"].as_str().unwrap().to_string();

    // ...is listed by the next answer (crossed: blocking, distance 0)...
    let r = olga
        .post("/routes", &route_body(GORIS, KHANKENDI, json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let h = hit(&r.json["hits"], &hid).unwrap_or_else(|| panic!("{}", r.text));
    assert_eq!(h["blocking"], true);
    assert_eq!(h["distance_m"], 0.0);
    assert_eq!(h["label"], "CHA-ROUTE");

    // ...and avoided when asked: a different, longer route that keeps
    // clear of it, or a no-route answer saying the avoid areas cut it off.
    let r = olga
        .post(
            "/routes",
            &route_body(GORIS, KHANKENDI, json!({"hazard_areas": true})),
        )
        .await;
    if r.status == 200 {
        let d1 = r.json["distance_m"].as_f64().unwrap();
        assert!(d1 > d0, "detour {d1} <= {d0}");
        assert!(r.json["avoid"]["blocked_segments"].as_u64().unwrap() > 0);
        assert!(hit(&r.json["hits"], &hid).is_none_or(|h| h["blocking"] == false));
    } else {
        assert_eq!(r.status, 422, "{}", r.text);
        assert_eq!(
            r.json["errors"][0]["message"], "blocked_by_avoid_areas",
            "{}",
            r.text
        );
    }
    // Hazard areas active on a day before it was recorded are not avoided.
    let r = olga
        .post(
            "/routes",
            &route_body(GORIS, KHANKENDI, json!({"hazard_areas": "2000-01-01"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["distance_m"].as_f64().unwrap(), d0, "{}", r.text);

    // Origin inside the hazard area: 422 naming `from` and the area.
    let r = olga
        .post(
            "/routes",
            &route_body((mid.1, mid.0), KHANKENDI, json!({"hazard_areas": true})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json["errors"][0]["field"], "from", "{}", r.text);
    assert_eq!(r.json["errors"][0]["message"], "origin_in_avoid_area");
    assert!(r.text.contains("CHA-ROUTE"), "{}", r.text);
    // An explicit polygon around the destination.
    let r = olga
        .post(
            "/routes",
            &route_body(
                GORIS,
                KHANKENDI,
                json!({"polygons": [square(KHANKENDI.1, KHANKENDI.0, 0.01)]}),
            ),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json["errors"][0]["field"], "to", "{}", r.text);
    // Bad input names the field.
    olga.post(
        "/routes",
        &json!({"from": {"lat": 95.0, "lon": 46.0}, "to": {"lat": 39.8, "lon": 46.7}}),
    )
    .await
    .assert_problem(422, "from.lat");
    olga.post(
        "/routes",
        &json!({"from": {"lat": 39.5, "lon": 46.3}, "to": {"lat": 39.8, "lon": 46.7}, "profile": "tank"}),
    )
    .await
    .assert_problem(422, "profile");

    // Incidents near the route: one public, one restricted.
    let near = line[line.len() / 4];
    let when = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
    let inc = |lat: f64, lon: f64| {
        json!({
            "occurred_at": when,
            "event_type": "explosions_remote_violence",
            "sub_event_type": "shelling_artillery_missile_attack",
            "location": {"lat": lat, "lon": lon},
            "ceasefire_violation": {"kind": "explosion", "perception": "heard"}
        })
    };
    let mut public = inc(near.1 + 0.002, near.0);
    public["sensitivity"] = json!("public");
    let public = olga.create_incident(&public).await;
    let public_id = public["id"].as_str().unwrap().to_string();
    let mut secret = inc(near.1 - 0.002, near.0);
    secret["sensitivity"] = json!("restricted");
    let secret = admin.create_incident(&secret).await;
    let secret_id = secret["id"].as_str().unwrap().to_string();

    // Safe-route check of the first route's LineString.
    let check = json!({"route": base["geometry"], "buffer_m": 500.0});
    let r = admin.post("/routes/check", &check).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["blocking"], true);
    assert!(hit(&r.json["hits"], &hid).is_some(), "{}", r.text);
    let h = hit(&r.json["hits"], &public_id).unwrap_or_else(|| panic!("{}", r.text));
    let d = h["distance_m"].as_f64().unwrap();
    assert!(
        (50.0..=240.0).contains(&d),
        "incident ~220 m north of a vertex: {d}"
    );
    assert!(hit(&r.json["hits"], &secret_id).is_some(), "{}", r.text);
    // A viewer does not see the restricted incident.
    let r = vic.post("/routes/check", &check).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(hit(&r.json["hits"], &public_id).is_some(), "{}", r.text);
    assert!(hit(&r.json["hits"], &secret_id).is_none(), "{}", r.text);
    let r = olga
        .post(
            "/routes/check",
            &json!({"route": {"type": "LineString", "coordinates": [[46.3, 39.5]]}}),
        )
        .await;
    r.assert_problem_status(422);
    assert!(
        r.json["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("route"),
        "{}",
        r.text
    );
    // Avoiding incidents within 500 m of the last 7 days changes the route too.
    let r = olga
        .post(
            "/routes",
            &route_body(
                GORIS,
                KHANKENDI,
                json!({"incidents": {"within_m": 500.0, "days": 7}}),
            ),
        )
        .await;
    assert!(r.status == 200 || r.status == 422, "{}", r.text);
    if r.status == 200 {
        assert!(r.json["distance_m"].as_f64().unwrap() > d0, "{}", r.text);
    }

    // Map queries. The demo's AoRs and posts.
    let aors: Vec<Value> = serde_json::from_str(AORS).unwrap();
    let mut aor_ids = std::collections::HashMap::new();
    for a in &aors {
        let r = admin
            .post(
                "/aors",
                &json!({"code": a["code"], "name": a["name"], "area": a["polygon"], "sensitivity": "public"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        aor_ids.insert(
            a["code"].as_str().unwrap().to_string(),
            r.json["id"].as_str().unwrap().to_string(),
        );
    }
    let posts: Vec<Value> = serde_json::from_str(POSTS).unwrap();
    let mut post_ids = std::collections::HashMap::new();
    for p in &posts {
        let r = admin
            .post(
                "/posts",
                &json!({"code": p["code"], "name": p["name"], "location": {"lat": p["lat"], "lon": p["lon"]},
                        "aor": aor_ids.get(p["aor"].as_str().unwrap()), "staffed": p["staffed"], "sensitivity": "public"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        post_ids.insert(
            p["code"].as_str().unwrap().to_string(),
            r.json["id"].as_str().unwrap().to_string(),
        );
    }
    // Vank post (OP-02, in AOR-1): responsible AoR and nearest post.
    let r = olga.get("/map/responsible?lat=40.0468&lon=46.5444").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json["aors"]
            .as_array()
            .unwrap()
            .contains(&json!(aor_ids["AOR-1"])),
        "{}",
        r.text
    );
    assert_eq!(r.json["post"]["id"], json!(post_ids["OP-02"]), "{}", r.text);
    assert!(r.json["post"]["distance_m"].as_f64().unwrap() < 1.0);
    let r = olga
        .get("/map/posts/nearest?lat=40.0468&lon=46.5444&k=3")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ps = r.json["posts"].as_array().unwrap();
    assert_eq!(ps.len(), 3);
    assert!(
        ps.windows(2)
            .all(|w| w[0]["distance_m"].as_f64() <= w[1]["distance_m"].as_f64())
    );
    olga.get("/map/responsible?lat=91&lon=46")
        .await
        .assert_problem(422, "lat");

    // Incidents in a box, a time window and a category, as GeoJSON.
    let bbox = format!(
        "{},{},{},{}",
        near.0 - 0.05,
        near.1 - 0.05,
        near.0 + 0.05,
        near.1 + 0.05
    );
    let day_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let q =
        format!("/map/incidents?bbox={bbox}&from={day_ago}&category=explosions_remote_violence");
    let before = admin.head_seq().await;
    let r = admin.get(&q).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["type"], "FeatureCollection");
    // The restricted incident on the map is a read: exactly one journal entry.
    assert_eq!(admin.head_seq().await, before + 1);
    let ids: Vec<&str> = r.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{}", r.text);
    assert!(ids.contains(&public_id.as_str()) && ids.contains(&secret_id.as_str()));
    let before = admin.head_seq().await;
    let r = vic.get(&q).await;
    assert_eq!(
        admin.head_seq().await,
        before,
        "nothing restricted shown, nothing journaled"
    );
    assert_eq!(
        r.json["features"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
    assert_eq!(r.json["features"][0]["id"], json!(public_id));
    let r = admin
        .get(&format!("/map/incidents?bbox={bbox}&category=battles"))
        .await;
    assert_eq!(r.json["features"], json!([]), "{}", r.text);
    let r = admin
        .get(&format!("/map/incidents?bbox={bbox}&to={day_ago}"))
        .await;
    assert_eq!(r.json["features"], json!([]), "{}", r.text);
    admin
        .get("/map/incidents?bbox=46,40,45,41")
        .await
        .assert_problem(422, "bbox");

    // Counts per AoR per day: the route's incidents lie in the demo's sectors.
    let r = admin.get(&format!("/map/aor_counts?from={day_ago}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let total: u64 = r.json["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    let r2 = vic.get(&format!("/map/aor_counts?from={day_ago}")).await;
    let total_vic: u64 = r2.json["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, total_vic + 1, "{} / {}", r.text, r2.text);

    // A restart rebuilds the same state from the journal.
    drop(server);
    let server = Server::serve(&m.db).await;
    let olga2 = Api::new(&server, Some(&m.token("olga")));
    let r = olga2
        .post("/routes", &route_body(GORIS, KHANKENDI, json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["distance_m"].as_f64().unwrap(), d0);
    assert!(hit(&r.json["hits"], &hid).is_some(), "{}", r.text);
    assert!(hit(&r.json["hits"], &public_id).is_some(), "{}", r.text);
}
