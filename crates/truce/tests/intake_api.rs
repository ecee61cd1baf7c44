//! Intake over HTTP against the real binary: two outlets report the same
//! figure, the review queue shows it once with both sources, accepting it
//! creates an incident that keeps both document spans; rejections need a
//! reason; decided candidates answer 409 with nothing written; roles that
//! may not review cannot; every decision is in the journal.

mod common;

use common::{Api, Mission, Server, assert_verifies};
use serde_json::{Value, json};

const WIRE: &str = "Observers recorded 14 ceasefire violations near Khankendi on 11 March 2024, \
the ministry said. A convoy delivered 120 tonnes of flour to Lachin. Two rounds of talks were held.";

const BULLETIN: &str = "<html><body><nav><a href=\"/prev\">Previous article</a></nav>\
<article><h1>Situation update</h1><p>The mission reported that 14 ceasefire violations were \
registered near Stepanakert on 11 March 2024.</p><p>Separately, 35 tonnes of fuel reached \
Goris.</p></article><aside>Also read: our magazine</aside></body></html>";

fn items(r: &common::Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["items"].as_array().expect("items").clone()
}

fn by_category<'a>(items: &'a [Value], c: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["category"] == c).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_candidates_and_review() {
    let m = Mission::init();
    let ana_t = m.user_with_token("ana", "analyst");
    let obs_t = m.user_with_token("obs", "observer");
    let view_t = m.user_with_token("vic", "viewer");
    let server = Server::serve(&m.db).await;
    let ana = Api::new(&server, Some(&ana_t));
    let obs = Api::new(&server, Some(&obs_t));
    let viewer = Api::new(&server, Some(&view_t));

    let wire_doc = json!({"text": WIRE, "title": "Violations and aid", "outlet": "Wire agency (illustrative)",
        "url": "https://wire.example/1", "published": "2024-03-12"});

    // Observers and viewers cannot feed intake; nothing is written.
    let head = ana.head_seq().await;
    assert_eq!(obs.post("/intake/documents", &wire_doc).await.status, 403);
    assert_eq!(
        viewer.post("/intake/documents", &wire_doc).await.status,
        403
    );
    // Bad input: 422 naming the field.
    ana.post("/intake/documents", &json!({"title": "no text"}))
        .await
        .assert_problem(422, "text");
    ana.post(
        "/intake/documents",
        &json!({"text": "x", "html": "<p>x</p>"}),
    )
    .await
    .assert_problem(422, "html");
    ana.post(
        "/intake/documents",
        &json!({"text": WIRE, "published": "someday"}),
    )
    .await
    .assert_problem(422, "published");
    ana.post(
        "/intake/documents",
        &json!({"text": WIRE, "url": "ftp://x"}),
    )
    .await
    .assert_problem(422, "url");
    assert_eq!(ana.head_seq().await, head, "refusals wrote nothing");

    // The wire story, with an idempotency key; a retry returns the first result.
    let post_keyed = |key: &'static str, body: Value| {
        let api = ana.clone();
        async move {
            Api::send(
                api.request(reqwest::Method::POST, "/intake/documents")
                    .header("idempotency-key", key)
                    .json(&body),
            )
            .await
        }
    };
    let first = post_keyed("wire-1", wire_doc.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let doc_a = first.json["document"]["id"].as_str().unwrap().to_string();
    let n_a = first.json["candidates"].as_array().unwrap().len();
    assert!(n_a >= 5, "candidates of the wire story: {}", first.text);
    let head_a = ana.head_seq().await;
    let again = post_keyed("wire-1", wire_doc.clone()).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["document"]["id"], json!(doc_a));
    assert_eq!(ana.head_seq().await, head_a, "a retry writes nothing");

    // The mission's HTML bulletin reports the same violations (Stepanakert
    // is another name of Khankendi).
    let second = ana
        .post(
            "/intake/documents",
            &json!({"html": BULLETIN, "source": "Mission bulletin (illustrative)", "published": "2024-03-12"}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let doc_b = second.json["document"]["id"].as_str().unwrap().to_string();
    assert!(
        second.json["merged"].as_u64().unwrap() >= 1,
        "{}",
        second.text
    );

    // Documents: listed without text, read with it.
    let docs = items(&ana.get("/intake/documents").await);
    assert_eq!(docs.len(), 2);
    assert!(
        docs.iter()
            .all(|d| d.get("text").is_none() && d["length"].as_u64().unwrap() > 0)
    );
    let read = ana.get(&format!("/intake/documents/{doc_b}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["format"], "html");
    assert_eq!(read.json["outlet"], "Mission bulletin (illustrative)");

    // The queue shows the figure once, with both sources.
    let queue = items(&ana.get("/intake/candidates").await);
    let v = by_category(&queue, "violations.ceasefire");
    assert_eq!(v.len(), 1, "one candidate for the same figure: {queue:#?}");
    let v = v[0].clone();
    assert_eq!(v["value"], json!(14.0));
    assert_eq!(v["documents"], 2);
    assert_eq!(v["place"]["geonameid"], 146970);
    assert_eq!(v["date"], "2024-03-11");
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    for s in sources {
        let (start, end) = (
            s["start"].as_u64().unwrap() as usize,
            s["end"].as_u64().unwrap() as usize,
        );
        let src = if s["document"] == json!(doc_a) {
            WIRE
        } else {
            assert_eq!(s["document"], json!(doc_b));
            BULLETIN
        };
        assert_eq!(&src[start..end], "14 ceasefire violations", "{s}");
        assert_eq!(s["text"], "14 ceasefire violations");
    }
    assert_eq!(v["targets"], json!(["incident"]));
    // Filters.
    let only_b = items(
        &ana.get(&format!("/intake/candidates?document={doc_b}"))
            .await,
    );
    assert!(only_b.iter().all(|c| {
        c["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["document"] == json!(doc_b))
    }));
    assert!(only_b.iter().any(|c| c["category"] == "aid.fuel"));
    assert!(!only_b.iter().any(|c| c["category"] == "aid.food"));
    let places = items(&ana.get("/intake/candidates?kind=place").await);
    assert!(!places.is_empty() && places.iter().all(|c| c["fact_kind"] == "place"));
    let khankendi: Vec<_> = places
        .iter()
        .filter(|c| c["place"]["geonameid"] == 146970)
        .collect();
    assert_eq!(
        khankendi.len(),
        1,
        "Khankendi and Stepanakert are one place"
    );
    ana.get("/intake/candidates?status=maybe")
        .await
        .assert_problem(422, "status");
    // Viewers see no mission records.
    assert!(items(&viewer.get("/intake/candidates").await).is_empty());

    let vid = v["id"].as_str().unwrap().to_string();
    // Observers and viewers cannot review.
    let head = ana.head_seq().await;
    let r = obs
        .post(
            &format!("/intake/candidates/{vid}/accept"),
            &json!({"target": "incident"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = viewer
        .post(
            &format!("/intake/candidates/{vid}/accept"),
            &json!({"target": "incident"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = obs
        .post(
            &format!("/intake/candidates/{vid}/reject"),
            &json!({"reason": "no"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // A target the fact cannot become: 422.
    ana.post(
        &format!("/intake/candidates/{vid}/accept"),
        &json!({"target": "meeting"}),
    )
    .await
    .assert_problem(422, "target");
    assert_eq!(ana.head_seq().await, head, "nothing written");

    // Accept into an incident: it carries both sources.
    let r = ana
        .post(
            &format!("/intake/candidates/{vid}/accept"),
            &json!({"target": "incident", "reason": "two independent sources"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let inc_id = r.json["record"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["candidate"]["status"], "accepted");
    assert_eq!(r.json["candidate"]["review"]["record"], json!(inc_id));
    assert_eq!(r.json["candidate"]["review"]["by"], "ana");
    let inc = ana.get(&format!("/incidents/{inc_id}")).await;
    assert_eq!(inc.status, 200, "{}", inc.text);
    assert_eq!(inc.json["ceasefire_violation"]["count"], 14);
    assert_eq!(inc.json["occurred_at"], "2024-03-11T00:00:00Z");
    assert!((inc.json["location"]["lat"].as_f64().unwrap() - 39.8177).abs() < 1e-6);
    let isrc = inc.json["sources"].as_array().unwrap();
    assert_eq!(isrc.len(), 2);
    let docs_linked: Vec<&str> = isrc
        .iter()
        .map(|s| s["document"].as_str().unwrap())
        .collect();
    assert!(docs_linked.contains(&doc_a.as_str()) && docs_linked.contains(&doc_b.as_str()));
    assert!(isrc.iter().all(|s| s["text"] == "14 ceasefire violations"
        && s["start"].as_u64().is_some()
        && s["end"].as_u64().is_some()));
    // Its sources survive an export and an import into an empty mission.
    let csv = common::truce_ok(&m.db, &["export", "--kind", "incidents", "--format", "csv"]);
    assert!(csv.contains(&doc_a) && csv.contains(&doc_b), "{csv}");
    let file = m.path("with-sources.csv");
    std::fs::write(&file, &csv).unwrap();
    let other = Mission::init();
    common::truce_ok(&other.db, &["import", file.to_str().unwrap()]);
    let again = common::truce_ok(
        &other.db,
        &["export", "--kind", "incidents", "--format", "csv"],
    );
    assert_eq!(again, csv, "round trip of an incident with intake sources");
    // The incident is found from its document.
    let from_doc = ana.get(&format!("/incidents?reference={doc_a}")).await;
    assert_eq!(from_doc.status, 200, "{}", from_doc.text);

    // Decided: accept or reject again is 409 problem JSON, nothing written.
    let head = ana.head_seq().await;
    ana.post(&format!("/intake/candidates/{vid}/accept"), &json!({}))
        .await
        .assert_problem_status(409);
    ana.post(
        &format!("/intake/candidates/{vid}/reject"),
        &json!({"reason": "x"}),
    )
    .await
    .assert_problem_status(409);
    assert_eq!(ana.head_seq().await, head);
    assert!(
        by_category(
            &items(&ana.get("/intake/candidates").await),
            "violations.ceasefire"
        )
        .is_empty()
    );

    // Reject the fuel figure: a reason is required; then it cannot be accepted.
    let fuel = by_category(&queue, "aid.fuel")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ana.post(&format!("/intake/candidates/{fuel}/reject"), &json!({}))
        .await
        .assert_problem(422, "reason");
    let r = ana
        .post(
            &format!("/intake/candidates/{fuel}/reject"),
            &json!({"reason": "fuel for the mission's own vehicles, not aid"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["candidate"]["status"], "rejected");
    let head = ana.head_seq().await;
    ana.post(&format!("/intake/candidates/{fuel}/accept"), &json!({}))
        .await
        .assert_problem_status(409);
    assert_eq!(ana.head_seq().await, head);
    let rejected = items(&ana.get("/intake/candidates?status=rejected").await);
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0]["review"]["reason"],
        "fuel for the mission's own vehicles, not aid"
    );

    // Edit, then accept as the fact itself (no module record fits aid).
    let food = by_category(&queue, "aid.food")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ana.post(
        &format!("/intake/candidates/{food}/accept"),
        &json!({"edit": {"value": -3}}),
    )
    .await
    .assert_problem(422, "value");
    let r = ana
        .post(
            &format!("/intake/candidates/{food}/accept"),
            &json!({"edit": {"value": 125}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["candidate"]["value"], json!(125.0));
    assert_eq!(
        r.json["candidate"]["review"]["edited"]["value"],
        json!(120.0)
    );
    assert_eq!(r.json["record"], Value::Null);

    // Talks: a meeting needs a place the text does not give.
    let talks = by_category(&queue, "talks.rounds")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ana.post(
        &format!("/intake/candidates/{talks}/accept"),
        &json!({"target": "meeting"}),
    )
    .await
    .assert_problem(422, "record.place");
    let r = ana
        .post(
            &format!("/intake/candidates/{talks}/accept"),
            &json!({"target": "meeting", "record": {"place": "Geneva (illustrative)"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["record"]["record_type"], "meeting");
    assert_eq!(r.json["record"]["sources"][0]["document"], json!(doc_a));
    assert_eq!(
        r.json["record"]["sources"][0]["text"],
        "Two rounds of talks"
    );

    // Link the violation event (both reports) to the incident already created.
    let ev = by_category(&queue, "ceasefire_violation");
    assert_eq!(ev.len(), 1, "the event of both reports is one candidate");
    let ev = ev[0]["id"].as_str().unwrap().to_string();
    let r = ana
        .post(
            &format!("/intake/candidates/{ev}/accept"),
            &json!({"link": inc_id}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["candidate"]["review"]["linked"], true);
    let inc = ana.get(&format!("/incidents/{inc_id}")).await;
    assert_eq!(
        inc.json["sources"].as_array().unwrap().len(),
        4,
        "{}",
        inc.text
    );

    // The journal has each decision with its actor and reason.
    let h = ana.get(&format!("/intake_candidates/{vid}/history")).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let entries = h.json["entries"].as_array().unwrap();
    assert!(entries.len() >= 3, "created, merged, accepted: {}", h.text);
    let last = entries.last().unwrap();
    assert_eq!(last["actor"], "ana");
    assert_eq!(last["reason"], "two independent sources");
    let h = ana.get(&format!("/incidents/{inc_id}/history")).await;
    assert_eq!(
        h.json["entries"].as_array().unwrap().len(),
        2,
        "created, then linked"
    );
    // Generic writes to intake kinds are refused: they go through the actions.
    assert_eq!(ana.post("/intake_candidates", &json!({})).await.status, 405);
    drop(server);
    assert_verifies(&m.db);
}

/// Candidates of `category` in `status` whose value is `value`.
async fn figures(api: &Api, status: &str, category: &str, value: f64) -> Vec<Value> {
    items(
        &api.get(&format!(
            "/intake/candidates?status={status}&category={category}"
        ))
        .await,
    )
    .into_iter()
    .filter(|c| c["value"] == json!(value))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_one_fact_at_once_or_after_its_acceptance_stay_one_fact() {
    let m = Mission::init();
    let ana_t = m.user_with_token("ana", "analyst");
    let server = Server::serve(&m.db).await;
    let ana = Api::new(&server, Some(&ana_t));

    // Six outlets report the same figure at the same instant: one candidate
    // with six sources, not several.
    let posts = (0..6).map(|i| {
        let body = json!({
            "text": format!("Outlet {i} reports: observers counted 23 ceasefire violations near Goris on 5 April 2024."),
            "outlet": format!("Outlet {i} (illustrative)"),
            "published": "2024-04-06",
        });
        let ana = &ana;
        async move { ana.post("/intake/documents", &body).await }
    });
    let mut docs = Vec::new();
    for r in futures::future::join_all(posts).await {
        assert_eq!(r.status, 201, "{}", r.text);
        docs.push(r.json["document"]["id"].as_str().unwrap().to_string());
    }
    let pending = figures(&ana, "pending", "violations.ceasefire", 23.0).await;
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(pending[0]["documents"], 6);

    // Accepted as an incident; a seventh report afterwards joins that
    // decision and the incident instead of opening a new review.
    let cid = pending[0]["id"].as_str().unwrap();
    let r = ana
        .post(
            &format!("/intake/candidates/{cid}/accept"),
            &json!({"target": "incident", "reason": "six outlets"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let inc_id = r.json["record"]["id"].as_str().unwrap().to_string();
    let late = ana
        .post(
            "/intake/documents",
            &json!({"text": "A week later: the 23 ceasefire violations near Goris on 5 April 2024 were confirmed.",
                    "outlet": "Weekly magazine (illustrative)", "published": "2024-04-12"}),
        )
        .await;
    assert_eq!(late.status, 201, "{}", late.text);
    let late_doc = late.json["document"]["id"].as_str().unwrap();
    assert!(
        figures(&ana, "pending", "violations.ceasefire", 23.0)
            .await
            .is_empty(),
        "no second review of an accepted fact"
    );
    let accepted = figures(&ana, "accepted", "violations.ceasefire", 23.0).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["documents"], 7);
    let inc = ana.get(&format!("/incidents/{inc_id}")).await;
    let sources = inc.json["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 7, "{}", inc.text);
    assert!(
        sources
            .iter()
            .any(|s| s["document"] == json!(late_doc) && s["text"] == "23 ceasefire violations")
    );
    // The incident's history says why it changed.
    let h = ana.get(&format!("/incidents/{inc_id}/history")).await;
    assert_eq!(h.json["entries"].as_array().unwrap().len(), 2, "{}", h.text);
    drop(server);
    assert_verifies(&m.db);
}
