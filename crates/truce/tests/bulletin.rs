//! `truce bulletin` and `GET /api/v1/bulletins/{date}` on the real binary:
//! signed, verifiable, and any change is caught.

mod common;

use common::{Api, Mission, Server, incident, truce, truce_ok};

#[tokio::test]
async fn bulletin_is_signed_served_and_verified() {
    let m = Mission::init();
    let token = m.user_with_token("ana", "analyst");
    let server = Server::serve(&m.db).await;
    let api = Api::new(&server, Some(&token));
    for _ in 0..3 {
        api.create_incident(&incident()).await;
    }
    // Same content over HTTP as from the CLI, signed by the same mission key.
    let r = api.get("/bulletins/2026-11-20?format=json").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let total = r.json["bulletin"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["figures"].as_array().cloned().unwrap_or_default())
        .find(|f| f["key"] == "violations.total")
        .expect("total figure");
    assert_eq!(total["value"], 3.0);
    let public = r.json["signature"]["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let html_resp = api.get("/bulletins/2026-11-20?format=html").await;
    assert!(html_resp.text.contains("truce-signed-bulletin"));
    assert_eq!(api.get("/bulletins/2026-13-40").await.status, 422);
    drop(server);

    let html = m.path("b.html");
    truce_ok(
        &m.db,
        &[
            "bulletin",
            "--date",
            "2026-11-20",
            "--format",
            "html",
            "-o",
            html.to_str().unwrap(),
        ],
    );
    let key_out = truce_ok(&m.db, &["key"]);
    assert!(
        key_out.contains(&public),
        "the server signed with the mission key: {key_out}"
    );
    let ok = truce_ok(&m.db, &["bulletin", "verify", html.to_str().unwrap()]);
    assert!(ok.starts_with("OK"), "{ok}");

    // One changed byte in the page: verify fails.
    let text = std::fs::read_to_string(&html).unwrap();
    let changed = text.replacen("<td class=\"n\">3</td>", "<td class=\"n\">4</td>", 1);
    assert_ne!(changed, text);
    let bad = m.path("bad.html");
    std::fs::write(&bad, changed).unwrap();
    let out = truce(&m.db, &["bulletin", "verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("altered"));

    // Another key: the signature is refused.
    let other = m.path("other.key");
    let md = m.path("b.md");
    truce_ok(
        &m.db,
        &[
            "bulletin",
            "--date",
            "2026-11-20",
            "--format",
            "md",
            "--key",
            other.to_str().unwrap(),
            "-o",
            md.to_str().unwrap(),
        ],
    );
    let out = truce(&m.db, &["bulletin", "verify", md.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("another key"));

    // A PDF verifies through its signed content beside it.
    let pdf = m.path("b.pdf");
    truce_ok(
        &m.db,
        &[
            "bulletin",
            "--date",
            "2026-11-20",
            "--format",
            "pdf",
            "-o",
            pdf.to_str().unwrap(),
        ],
    );
    let ok = truce_ok(&m.db, &["bulletin", "verify", pdf.to_str().unwrap()]);
    assert!(ok.starts_with("OK"), "{ok}");
}

/// The demo mission's four-week bulletin: every module section is there
/// with figures that are not all zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_bulletin_shows_every_module_section() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path()).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    let r = client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "analyst", "password": "analyst-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let from = today.checked_sub(jiff::Span::new().days(27)).unwrap();
    let r = client
        .get(server.url(&format!(
            "/api/v1/bulletins/{today}?from={from}&to={today}&format=json"
        )))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    let sections = b["bulletin"]["sections"].as_array().unwrap();
    for id in [
        "demining",
        "deliveries",
        "shelter",
        "returns",
        "exchanges",
        "agreements",
        "sites",
    ] {
        let s = sections
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        let nonzero = s["figures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["value"].as_f64().unwrap() > 0.0)
            .count();
        assert!(nonzero >= 3, "{id}: {s}");
        if !matches!(id, "demining" | "returns") {
            assert!(s["table"].is_object(), "{id} has a table: {s}");
        }
    }
    // The period's figures are not all zero either.
    let fig = |k: &str| {
        sections
            .iter()
            .flat_map(|s| s["figures"].as_array().unwrap())
            .find(|f| f["key"] == k)
            .unwrap_or_else(|| panic!("{k}"))["value"]
            .as_f64()
            .unwrap()
    };
    for k in [
        "demining.released.total",
        "deliveries.tonnes.total",
        "shelter.persons",
        "returns.persons",
        "exchanges.persons",
        "agreements.provisions.implemented",
        "sites.assessments",
    ] {
        assert!(fig(k) > 0.0, "{k}");
    }
}
