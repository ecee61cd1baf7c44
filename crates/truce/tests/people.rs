//! People and agreements over HTTP against the real binary: the access
//! matrix of every people endpoint for every role (a role that may not see
//! people records cannot tell an existing one from a missing one), journaled
//! reads, state machines answering 409 and bad input 422 with nothing
//! written, atomic exchanges, tracing across scripts, totals against naive
//! recomputation, agreements with evidence, and the `truce people` CLI.

mod common;

use common::{Api, Mission, Server, truce_ok};
use serde_json::{Value, json};

const NIL: &str = "00000000-0000-4000-8000-000000000000";

/// A problem body with ids removed, to compare answers for existing and
/// missing records.
fn shape(r: &common::Resp, ids: &[&str]) -> String {
    let mut t = r.text.clone();
    for id in ids {
        t = t.replace(id, "ID");
    }
    format!("{} {t}", r.status)
}

async fn create(api: &Api, collection: &str, body: Value) -> Value {
    let r = api.post(&format!("/{collection}"), &body).await;
    assert_eq!(r.status, 201, "create {collection}: {}", r.text);
    r.json
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_and_agreements_over_http() {
    let m = Mission::init();
    let admin = m.token("admin");
    let mut tokens = vec![("admin", admin.clone())];
    for role in [
        "commander",
        "analyst",
        "observer",
        "logistics",
        "mine_action",
        "protection",
        "viewer",
    ] {
        tokens.push((role, m.user_with_token(&format!("u_{role}"), role)));
    }
    let server = Server::serve(&m.db).await;
    let api = |role: &str| {
        let t = &tokens.iter().find(|(r, _)| *r == role).expect("role").1;
        Api::new(&server, Some(t))
    };
    let (admin, prot, analyst) = (api("admin"), api("protection"), api("analyst"));

    let party_a = id(&create(&admin, "parties", json!({"name": "Party A (illustrative)"})).await);
    let party_b = id(&create(&admin, "parties", json!({"name": "Party B (illustrative)"})).await);

    // Cases: a missing person reported in Armenian, the same person listed
    // in Cyrillic by the detaining party, and two more held.
    let case = |reference: &str, kind: &str, name: &str, status: &str, holder: Option<&str>| {
        json!({"kind": kind, "reference": reference, "name": name, "status": status,
               "sex": "male", "birth_year": 1994, "party_holding": holder})
    };
    let sought = create(
        &prot,
        "person_cases",
        case("PC-1", "missing_person", "Արմեն Օրինակյան", "missing", None),
    )
    .await;
    assert_eq!(
        sought["sensitivity"], "restricted",
        "people records default to restricted"
    );
    let held = create(
        &prot,
        "person_cases",
        case(
            "PC-2",
            "prisoner_of_war",
            "Армен Оринакян",
            "held",
            Some(&party_a),
        ),
    )
    .await;
    let other = create(
        &prot,
        "person_cases",
        case("PC-3", "detainee", "Rəşad Misalov", "held", Some(&party_a)),
    )
    .await;
    let (sought_id, held_id, other_id) = (id(&sought), id(&held), id(&other));

    // Shelter: a site and a check-in with counts only.
    let site = id(&create(
        &prot,
        "shelter_sites",
        json!({"name": "Base camp", "kind": "base_camp", "location": {"lat": 39.6, "lon": 46.4},
               "capacity_day": 10, "capacity_night": 5}),
    )
    .await);
    let r = prot
        .post(
            &format!("/shelter_sites/{site}/check-in"),
            &json!({"people": {"female": {"age_0_4": 1, "age_18_59": 1}, "male": {"age_5_17": 2, "age_18_59": 1}},
                    "displacement_status": "idp", "household": "HH-001",
                    "checked_in_at": "2026-11-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["occupancy"]["persons"], 5);
    assert_eq!(r.json["occupancy"]["children"], 3);
    assert!(
        r.json["warnings"][0]
            .as_str()
            .unwrap()
            .contains("night capacity"),
        "{}",
        r.text
    );
    let reg = r.json["registration"]["id"].as_str().unwrap().to_string();

    // -- The access matrix: every people endpoint, every role. --
    let exchange_body = json!({"at": "2026-11-15T10:00:00Z", "place": "Crossing",
        "legs": [{"from_party": party_a, "to_party": party_b, "persons": 2, "cases": [held_id, other_id]}]});
    let single = |id: &str| {
        vec![
            ("GET", format!("/person_cases/{id}"), Value::Null),
            ("GET", format!("/person_cases/{id}/history"), Value::Null),
            ("GET", format!("/person_cases/{id}/matches"), Value::Null),
            (
                "POST",
                format!("/person_cases/{id}/matches"),
                json!({"candidate": id, "decision": "rejected"}),
            ),
            (
                "POST",
                format!("/person_cases/{id}/transitions"),
                json!({"status": "closed"}),
            ),
            ("GET", format!("/exchanges/{id}"), Value::Null),
            ("GET", format!("/trace_matches/{id}"), Value::Null),
        ]
    };
    let collections = vec![
        ("GET", "/person_cases".to_string(), Value::Null),
        ("GET", "/person_cases?q=orinakyan".to_string(), Value::Null),
        (
            "GET",
            "/person_cases/aggregate?by=status".to_string(),
            Value::Null,
        ),
        ("GET", "/exchanges".to_string(), Value::Null),
        ("GET", "/exchanges/totals".to_string(), Value::Null),
        ("GET", "/exchanges/aggregate".to_string(), Value::Null),
        ("POST", "/exchanges".to_string(), exchange_body.clone()),
        ("GET", "/trace_matches".to_string(), Value::Null),
    ];
    let call = |api: Api, method: &'static str, path: String, body: Value| async move {
        match method {
            "GET" => api.get(&path).await,
            _ => api.post(&path, &body).await,
        }
    };
    for (role, _) in &tokens {
        let who = api(role);
        let people_role = matches!(*role, "admin" | "protection");
        if people_role {
            continue;
        }
        let head = who.head_seq().await;
        for (method, path, body) in &collections {
            let r = call(who.clone(), method, path.clone(), body.clone()).await;
            assert_eq!(r.status, 404, "{role} {method} {path}: {}", r.text);
        }
        // Existing and missing ids answer exactly alike.
        let existing = single(&sought_id);
        let missing = single(NIL);
        for (e, n) in existing.iter().zip(&missing) {
            let re = call(who.clone(), e.0, e.1.clone(), e.2.clone()).await;
            let rn = call(who.clone(), n.0, n.1.clone(), n.2.clone()).await;
            assert_eq!(re.status, 404, "{role} {} {}: {}", e.0, e.1, re.text);
            assert_eq!(
                shape(&re, &[&sought_id]),
                shape(&rn, &[NIL]),
                "{role} can tell {} from a missing record",
                e.1
            );
        }
        // Nothing of theirs was journaled, nothing written.
        assert_eq!(who.head_seq().await, head, "{role} changed the journal");
        // Shelter counts: mission staff read the site; viewers do not.
        let r = who.get(&format!("/shelter_sites/{site}/occupancy")).await;
        assert_eq!(
            r.status,
            if *role == "viewer" { 404 } else { 200 },
            "{role}: {}",
            r.text
        );
        // Only protection (and admin, commander) check people in.
        let r = who
            .post(&format!("/shelter_sites/{site}/check-in"), &json!({}))
            .await;
        let expect = match *role {
            "viewer" => 404,
            "commander" => 422,
            _ => 403,
        };
        assert_eq!(r.status, expect, "{role} check-in: {}", r.text);
    }
    for who in [&admin, &prot] {
        let before = who.head_seq().await;
        let r = who.get(&format!("/person_cases/{sought_id}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            who.head_seq().await,
            before + 1,
            "a people read is journaled"
        );
        let ids = who.all_ids("person_cases").await;
        assert_eq!(ids.len(), 3);
        let r = who.get("/person_cases/aggregate?by=status").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // -- State machines: 409 and 422, nothing written. --
    let version = |r: &common::Resp| r.json["version"].clone();
    let before = version(&prot.get(&format!("/person_cases/{sought_id}")).await);
    let r = prot
        .post(
            &format!("/person_cases/{sought_id}/transitions"),
            &json!({"status": "returned", "party": party_a}),
        )
        .await;
    r.assert_problem_status(409);
    let r = prot
        .post(
            &format!("/person_cases/{held_id}/transitions"),
            &json!({"status": "returned"}),
        )
        .await;
    r.assert_problem(422, "party");
    let r = prot
        .post(
            &format!("/person_cases/{held_id}/transitions"),
            &json!({"status": "released", "colour": "red"}),
        )
        .await;
    r.assert_problem_status(422);
    let r = prot
        .post(
            &format!("/shelter_registrations/{reg}/check-out"),
            &json!({"at": "2026-10-01T00:00:00Z"}),
        )
        .await;
    r.assert_problem(422, "at");
    let after = version(&prot.get(&format!("/person_cases/{sought_id}")).await);
    assert_eq!(before, after, "refused transitions change nothing");
    // The generic update cannot move a case's status either.
    let mut body = held.clone();
    body["status"] = json!("released");
    let r = prot
        .put(&format!("/person_cases/{held_id}"), &body, Some("\"1\""))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "held", "status only moves by transitions");

    // -- Exchanges: all cases or none. --
    // Close PC-3 first: an exchange listing it must then fail as a whole.
    let r = prot
        .post(
            &format!("/person_cases/{other_id}/transitions"),
            &json!({"status": "closed", "reason": "duplicate"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let head = prot.head_seq().await;
    let r = prot.post("/exchanges", &exchange_body).await;
    r.assert_problem_status(409);
    assert!(
        r.json["detail"].as_str().unwrap().contains("PC-3"),
        "{}",
        r.text
    );
    assert_eq!(
        prot.head_seq().await,
        head,
        "a refused exchange writes nothing"
    );
    let r = prot.get(&format!("/person_cases/{held_id}")).await;
    assert_eq!(r.json["status"], "held");
    let bad = json!({"at": "2026-11-15T10:00:00Z", "place": "Crossing",
        "legs": [{"from_party": party_a, "to_party": party_a, "persons": 1}]});
    let head = prot.head_seq().await;
    prot.post("/exchanges", &bad)
        .await
        .assert_problem(422, "legs[0].to_party");
    assert_eq!(prot.head_seq().await, head);
    let good = json!({"at": "2026-11-15T10:00:00Z", "place": "Crossing",
        "legs": [{"from_party": party_a, "to_party": party_b, "persons": 105, "cases": [held_id]},
                 {"from_party": party_b, "to_party": party_a, "persons": 17}]});
    let r = prot.post("/exchanges", &good).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let exchange_id = r.json["exchange"]["id"].as_str().unwrap().to_string();
    let r = prot.get(&format!("/person_cases/{held_id}")).await;
    assert_eq!(r.json["status"], "returned");
    assert_eq!(r.json["returned_to"], json!(party_b));
    assert_eq!(r.json["history"][0]["exchange"], json!(exchange_id));
    let r = prot
        .put(&format!("/exchanges/{exchange_id}"), &good, Some("\"1\""))
        .await;
    r.assert_problem_status(405);
    let second = json!({"at": "2026-11-20T10:00:00Z", "place": "Crossing",
        "legs": [{"from_party": party_b, "to_party": party_a, "persons": 4, "remains": 2}]});
    assert_eq!(prot.post("/exchanges", &second).await.status, 201);
    // Totals per party and period against a naive sum over the list.
    let r = prot.get("/exchanges/totals?period=month").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = prot.get("/exchanges?limit=1000").await.json;
    for party in [&party_a, &party_b] {
        let mut naive = (0, 0);
        for x in list["items"].as_array().unwrap() {
            for l in x["legs"].as_array().unwrap() {
                if l["to_party"] == json!(party) {
                    naive.0 += l["persons"].as_u64().unwrap();
                    naive.1 += l["remains"].as_u64().unwrap_or(0);
                }
            }
        }
        let got = r.json["totals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["to_party"] == json!(party))
            .fold((0, 0), |a, t| {
                (
                    a.0 + t["persons"].as_u64().unwrap(),
                    a.1 + t["remains"].as_u64().unwrap(),
                )
            });
        assert_eq!(got, naive, "totals for {party}");
    }
    assert_eq!(
        r.json["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["to_party"] == json!(party_b))
            .unwrap()["persons"],
        105
    );

    // -- Tracing: the Cyrillic listing is proposed for the Armenian report. --
    let r = prot
        .get(&format!("/person_cases/{sought_id}/matches"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let top = &r.json["candidates"][0];
    assert_eq!(top["id"], json!(held_id), "{}", r.text);
    assert_eq!(top["proposed"], true, "{}", r.text);
    let r = prot
        .post(
            &format!("/person_cases/{sought_id}/matches"),
            &json!({"candidate": held_id, "decision": "confirmed", "reason": "family recognised photo"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["case"]["status"], "located_alive");
    let r = prot
        .post(
            &format!("/person_cases/{sought_id}/matches"),
            &json!({"candidate": held_id, "decision": "confirmed"}),
        )
        .await;
    r.assert_problem_status(409);
    assert_eq!(
        prot.all_ids("trace_matches").await.len(),
        1,
        "a pair is decided once"
    );
    prot.post("/trace_matches", &json!({}))
        .await
        .assert_problem_status(405);

    // -- Flows: totals against naive recomputation and the aggregate. --
    for (kind, date, persons, ver) in [
        ("return", "2026-10-20", 120, "verified"),
        ("return", "2026-11-02", 80, "reported"),
        ("return", "2026-11-10", 300, "verified"),
        ("return", "2026-11-12", 50, "refuted"),
        ("displacement", "2026-11-05", 70, "verified"),
    ] {
        create(
            &prot,
            "movements",
            json!({"kind": kind, "date": date, "from_place": "Camp", "to_place": "Village",
                   "persons": persons, "verification": ver}),
        )
        .await;
    }
    let r = analyst
        .get("/movements/totals?kind=return&since=2026-11-01")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = analyst.get("/movements?limit=1000").await.json;
    let naive: u64 = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "return" && m["verification"] != "refuted")
        .filter(|m| m["date"].as_str().unwrap() >= "2026-11-01")
        .map(|m| m["persons"].as_u64().unwrap())
        .sum();
    assert_eq!(r.json["persons"], naive);
    assert_eq!(naive, 380);
    assert_eq!(r.json["verified_persons"], 300);
    let agg = analyst
        .get("/movements/aggregate?category=return&from=2026-11-01&by=status")
        .await;
    let agg_sum: f64 = agg.json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["key"] != "refuted")
        .map(|b| b["sum"].as_f64().unwrap())
        .sum();
    assert_eq!(agg_sum as u64, naive, "{}", agg.text);

    // -- Agreements: provisions with evidence, follow-up actions. --
    let agreement = id(&create(
        &analyst,
        "agreements",
        json!({"title": "Statement (illustrative)", "signed_on": "2026-10-01",
               "parties": [party_a, party_b], "stage": "ceasefire"}),
    )
    .await);
    let provision = id(&create(
        &analyst,
        "provisions",
        json!({"agreement": agreement, "number": "Art. 4", "category": "exchange_of_prisoners_and_remains",
               "text": "Exchange of prisoners and remains."}),
    )
    .await);
    let head = analyst.head_seq().await;
    // The analyst cannot cite the exchange: to them it does not exist.
    let r = analyst
        .post(
            &format!("/provisions/{provision}/status"),
            &json!({"status": "partially_implemented", "as_of": "2026-11-15", "evidence": [exchange_id]}),
        )
        .await;
    let msg_existing = r.assert_problem(422, "evidence[0]");
    let r = analyst
        .post(
            &format!("/provisions/{provision}/status"),
            &json!({"status": "partially_implemented", "as_of": "2026-11-15", "evidence": [NIL]}),
        )
        .await;
    let msg_missing = r.assert_problem(422, "evidence[0]");
    assert_eq!(
        msg_existing.replace(&exchange_id, "ID"),
        msg_missing.replace(NIL, "ID")
    );
    assert_eq!(analyst.head_seq().await, head);
    let r = admin
        .post(
            &format!("/provisions/{provision}/status"),
            &json!({"status": "partially_implemented", "as_of": "2026-11-15", "evidence": [exchange_id]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = analyst
        .post(
            &format!("/provisions/{provision}/status"),
            &json!({"status": "not_started", "as_of": "2026-11-16"}),
        )
        .await;
    r.assert_problem_status(409);
    let r = analyst
        .get(&format!(
            "/agreements/{agreement}/implementation?as_of=2026-11-01"
        ))
        .await;
    assert_eq!(
        r.json["provisions"][0]["status"], "not_started",
        "{}",
        r.text
    );
    let r = analyst
        .get(&format!(
            "/agreements/{agreement}/implementation?as_of=2026-11-20"
        ))
        .await;
    assert_eq!(r.json["provisions"][0]["status"], "partially_implemented");
    assert_eq!(
        r.json["provisions"][0]["evidence"],
        json!([]),
        "the analyst does not see the exchange"
    );
    let r = admin
        .get(&format!(
            "/agreements/{agreement}/implementation?as_of=2026-11-20"
        ))
        .await;
    assert_eq!(r.json["provisions"][0]["evidence"], json!([exchange_id]));
    assert_eq!(r.json["by_status"]["partially_implemented"], 1);
    let meeting = id(&create(
        &analyst,
        "meetings",
        json!({"title": "Round 1", "kind": "round_of_talks", "starts_at": "2026-11-10T09:00:00Z",
               "place": "Venue", "agreement": agreement,
               "actions": [{"description": "Exchange lists", "owner": "Both", "due_on": "2026-11-12"}]}),
    )
    .await);
    let r = analyst.get("/follow-ups?overdue=true").await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{}", r.text);
    let r = analyst
        .post(
            &format!("/meetings/{meeting}/actions/0"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    analyst
        .post(
            &format!("/meetings/{meeting}/actions/0"),
            &json!({"status": "dropped"}),
        )
        .await
        .assert_problem_status(409);
    let viewer = api("viewer");
    assert_eq!(viewer.get("/follow-ups").await.json["items"], json!([]));

    // -- CLI: totals and a redacted export. --
    drop(server);
    let out = truce_ok(&m.db, &["people", "totals", "--since", "2026-11-01"]);
    assert!(
        out.contains("380 people returned home since 2026-11-01"),
        "{out}"
    );
    assert!(out.contains("Party B (illustrative)"), "{out}");
    let out = truce_ok(&m.db, &["people", "export", "--role", "analyst"]);
    assert!(
        !out.contains("Оринакян") && out.contains("[redacted]"),
        "{out}"
    );
    let out = truce_ok(&m.db, &["people", "export", "--role", "protection"]);
    assert!(out.contains("Оринакян"), "{out}");
    common::assert_verifies(&m.db);
}
