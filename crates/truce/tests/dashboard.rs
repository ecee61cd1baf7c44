//! `GET /api/v1/dashboard` and `GET /api/v1/{collection}/aggregate?by=party|aor`
//! on the real binary: figures by day, category, area and party, and
//! restricted records counted only for roles that may read them.

mod common;

use common::{Api, Mission, Server, incident};
use serde_json::{Value, json};

fn bucket<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|b| b["key"] == key || b["name"] == key)
        .unwrap_or_else(|| panic!("{key} missing from {list}"))
}

#[tokio::test]
async fn dashboard_aggregates_respect_roles() {
    let m = Mission::init();
    let analyst = m.user_with_token("ana", "analyst");
    let observer = m.user_with_token("obs", "observer");
    let viewer = m.user_with_token("vic", "viewer");
    let logistics = m.user_with_token("lou", "logistics");
    let server = Server::serve(&m.db).await;
    let ana = Api::new(&server, Some(&analyst));
    let obs = Api::new(&server, Some(&observer));
    let vic = Api::new(&server, Some(&viewer));
    let lou = Api::new(&server, Some(&logistics));

    let r = ana
        .post(
            "/parties",
            &json!({"name": "Party Alpha", "short_name": "Alpha"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let alpha = r.json["id"].as_str().unwrap().to_string();
    let r = ana
        .post(
            "/aors",
            &json!({"code": "AOR-1", "name": "North", "area": {"type": "Polygon",
                "coordinates": [[[46.5, 39.5], [47.0, 39.5], [47.0, 40.0], [46.5, 40.0], [46.5, 39.5]]]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Two mission incidents in AOR-1 on the 20th naming Alpha, one restricted
    // one likewise, one outside any AoR on the 19th.
    let mut named = incident();
    named["actor1_party"] = json!(alpha);
    ana.create_incident(&named).await;
    ana.create_incident(&named).await;
    let mut secret = named.clone();
    secret["sensitivity"] = json!("restricted");
    ana.create_incident(&secret).await;
    let mut south = incident();
    south["occurred_at"] = json!("2026-11-19T08:00:00Z");
    south["location"] = json!({"lat": 39.2, "lon": 46.7});
    ana.create_incident(&south).await;

    // A convoy delivers 19.5 t of food on the 20th.
    let r = lou
        .post(
            "/corridors",
            &json!({"name": "Road", "route": {"type": "LineString", "coordinates": [[46.3, 39.5], [46.4, 39.55]]},
                    "status": {"status": "open", "at": "2026-11-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let corridor = r.json["id"].as_str().unwrap().to_string();
    let r = lou
        .post(
            "/convoys/plan",
            &json!({"code": "CV-1", "corridor": corridor, "origin": "A", "destination": "B",
                    "planned_departure": "2026-11-20T06:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cid = r.json["id"].as_str().unwrap().to_string();
    let r = lou
        .post(
            &format!("/convoys/{cid}/manifest"),
            &json!({"lines": [{"category": "food", "item": "wheat flour", "quantity": 20.0, "unit": "t"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let line = r.json["lines"][0]["id"].as_str().unwrap().to_string();
    let status = format!("/convoys/{cid}/status");
    for body in [
        json!({"status": "dispatched", "at": "2026-11-20T06:00:00Z"}),
        json!({"status": "in_transit", "at": "2026-11-20T07:00:00Z"}),
        json!({"status": "arrived", "at": "2026-11-20T12:00:00Z", "delivered": [{"line": line, "quantity": 19.5}]}),
    ] {
        let r = lou.post(&status, &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    let path = "/dashboard?from=2026-11-19&to=2026-11-20";
    let r = ana.get(path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let i = &r.json["incidents"];
    assert_eq!(i["count"], 4, "{}", r.text);
    assert_eq!(bucket(&i["by_day"], "2026-11-20")["count"], 3);
    assert_eq!(bucket(&i["by_day"], "2026-11-19")["count"], 1);
    assert_eq!(bucket(&i["by_aor"], "AOR-1")["count"], 3);
    assert_eq!(bucket(&i["by_party"], "Alpha")["count"], 3);
    let by_category: u64 = i["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_category, 4, "{}", r.text);
    let d = &r.json["deliveries"];
    assert_eq!(d["tonnes"], 19.5, "{}", r.text);
    assert_eq!(bucket(&d["by_day"], "2026-11-20")["tonnes"], 19.5);
    assert_eq!(bucket(&d["by_category"], "food")["lines"], 1);

    // The observer does not see the restricted incident: it is not counted.
    let r = obs.get(path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let i = &r.json["incidents"];
    assert_eq!(i["count"], 3, "{}", r.text);
    assert_eq!(bucket(&i["by_day"], "2026-11-20")["count"], 2);
    assert_eq!(bucket(&i["by_aor"], "AOR-1")["count"], 2);
    assert_eq!(bucket(&i["by_party"], "Alpha")["count"], 2);
    // The viewer sees public records only: nothing here.
    let r = vic.get(path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["incidents"]["count"], 0, "{}", r.text);
    assert_eq!(r.json["incidents"]["by_party"], json!([]));
    assert_eq!(r.json["deliveries"]["tonnes"], 0.0, "{}", r.text);

    // The generic aggregate groups by party and area too.
    let agg = "/incidents/aggregate?from=2026-11-19&to=2026-11-21";
    let r = ana.get(&format!("{agg}&by=aor")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(bucket(&r.json["buckets"], "AOR-1")["count"], 3);
    let r = obs.get(&format!("{agg}&by=party")).await;
    assert_eq!(bucket(&r.json["buckets"], "Alpha")["count"], 2);
    ana.get(&format!("{agg}&by=colour"))
        .await
        .assert_problem(422, "by");
    ana.get("/dashboard?from=2026-11-20&to=2026-11-19")
        .await
        .assert_problem(422, "to");
    ana.get("/dashboard?from=yesterday")
        .await
        .assert_problem(422, "from");

    // Documented in the OpenAPI document.
    let r = ana.get("/openapi.json").await;
    assert!(
        r.json["paths"]["/api/v1/dashboard"]["get"].is_object(),
        "{}",
        r.text
    );
}
