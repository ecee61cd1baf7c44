//! `truce demo`: the illustrative mission starts, a demo user signs in with a
//! cookie, and the web app, the API and its documentation are served.

mod common;

use std::path::Path;

use common::Server;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mission_serves_app_api_and_docs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path()).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let get = |path: &str| client.get(server.url(path));

    let r = get("/healthz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["journal_seq"].as_u64().unwrap() > 100, "{health}");

    // Without a session the API refuses.
    let r = get("/api/v1/mission").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // A wrong password is refused, with no cookie.
    let r = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "analyst", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());

    // Sign in as the demo analyst.
    let r = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "analyst", "password": "analyst-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .expect("Set-Cookie")
        .to_str()
        .unwrap()
        .to_string();
    let me: Value = r.json().await.unwrap();
    assert_eq!(me, json!({"username": "analyst", "role": "analyst"}));
    let attrs: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attrs.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attrs.contains(&"SameSite=Strict"), "{set_cookie}");
    assert!(attrs.contains(&"Path=/"), "{set_cookie}");
    // Plain HTTP: not marked Secure unless asked to.
    assert!(!attrs.contains(&"Secure"), "{set_cookie}");
    let cookie = attrs[0].to_string();
    assert!(cookie.starts_with("truce_session="), "{set_cookie}");
    assert!(cookie.len() > "truce_session=".len() + 40, "{set_cookie}");
    let with_cookie = |path: &str| get(path).header("cookie", &cookie);

    let r = with_cookie("/api/v1/me").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "analyst");

    // The mission says it is illustrative.
    let r = with_cookie("/api/v1/mission").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mission: Value = r.json().await.unwrap();
    assert_eq!(mission["illustrative"], true, "{mission}");
    assert_eq!(mission["record_type"], "mission", "{mission}");

    // Its 18 observation posts.
    let r = with_cookie("/api/v1/posts?limit=100").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let posts: Value = r.json().await.unwrap();
    assert_eq!(posts["items"].as_array().unwrap().len(), 18);
    assert_eq!(posts["next_cursor"], Value::Null);

    // And incidents, as GeoJSON too.
    let r = with_cookie("/api/v1/incidents?limit=5&format=geojson")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("content-type").unwrap(),
        "application/geo+json"
    );
    let fc: Value = r.json().await.unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(fc["features"].as_array().unwrap().len(), 5);
    assert_eq!(fc["features"][0]["geometry"]["type"], "Point");

    // Reports waiting in the intake queue; the ceasefire figure two of
    // them give waits once, with both sources.
    let r = with_cookie("/api/v1/intake/candidates?category=violations.ceasefire")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let queue: Value = r.json().await.unwrap();
    let figures = queue["items"].as_array().unwrap();
    assert_eq!(figures.len(), 1, "{queue}");
    assert_eq!(figures[0]["value"], 12.0);
    assert_eq!(figures[0]["documents"], 2, "{queue}");

    // The web app.
    let r = get("/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers().get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(r.headers().get("content-security-policy").is_some());
    let html = r.text().await.unwrap();
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");

    // The OpenAPI document and its viewer.
    let r = get("/api/v1/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{}",
        doc["openapi"]
    );
    assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    let r = get("/api/docs/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger"));

    // Signing out ends the session.
    let r = client
        .post(server.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = with_cookie("/api/v1/mission").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Stopped with SIGTERM, the demo removes its temporary database.
    let mut server = server;
    server.terminate();
    let log = assert_banner(dir.path());
    let db = log
        .split("loading the illustrative demo mission into ")
        .nth(1)
        .and_then(|s| s.split(" ...").next())
        .unwrap_or_else(|| panic!("no database path in {log}"));
    assert!(db.ends_with("demo.db"), "{db}");
    assert!(!Path::new(db).exists(), "{db} left behind");
}

/// The demo printed its banner, with the sign-in names, to its log.
fn assert_banner(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("demo.log")).unwrap();
    assert!(log.contains("Truce demo mission"), "{log}");
    assert!(log.contains("analyst-demo"), "{log}");
    log
}

/// The demo mission's own database passes `truce verify`: every record's
/// current state equals its last journal entry. It failed once because a
/// coordinate such as 39.800000000000004 did not survive serde_json's
/// default (inexact) float parsing when verify re-read the stored JSON.
#[test]
fn demo_database_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_truce"))
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "truce {args:?} failed: {text}");
        text
    };
    run(&["--db", db, "demo", "--load-only"]);
    let report = run(&["--db", db, "verify"]);
    assert!(report.contains("OK:"), "{report}");
}
