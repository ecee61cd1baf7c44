//! Every route the router serves under `/api/v1` is in `openapi.json`.
//!
//! axum keeps no route table to walk, so the test takes every path given
//! to `.route(...)` in this crate's sources, asks the real router which
//! methods each answers (an unregistered method answers 405 before any
//! handler runs; a registered one reaches its extractors and answers 401
//! without credentials), and requires each (path, method) that answers in
//! the document. A route added to any module without documentation fails.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use truce_core::EntityKind;
use truce_server::{AppState, ServerConfig, router};
use truce_store::sqlite::SqliteStore;

/// Every `.route("PATH"` in the crate's sources (rustfmt may break the line
/// after the parenthesis).
fn source_paths() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        // web.rs serves the app outside /api/v1.
        if path.extension().and_then(|e| e.to_str()) != Some("rs")
            || path.file_name().and_then(|n| n.to_str()) == Some("web.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let t = rest.trim_start();
            if let Some(t) = t.strip_prefix('"') {
                let end = t.find('"').expect("closing quote");
                // Routes of the outer router may spell out the prefix.
                let p = &t[..end];
                out.insert(p.strip_prefix("/api/v1").unwrap_or(p).to_string());
            }
        }
    }
    out
}

/// Concrete request paths for a route template: `{collection}` becomes
/// every collection, other parameters a plausible value.
fn concrete(template: &str) -> Vec<(String, String)> {
    let fill = |t: &str| {
        t.split('/')
            .map(|seg| match seg {
                "{id}" => "0190f5a2-7b1c-7c3e-8a9b-0123456789ab",
                "{n}" => "0",
                "{date}" => "2026-11-20",
                "{name}" | "{username}" => "someone",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    if template.contains("{collection}") {
        EntityKind::ALL
            .iter()
            .map(|k| {
                let doc = template.replace("{collection}", k.collection());
                (fill(&doc), doc)
            })
            .collect()
    } else {
        vec![(fill(template), template.to_string())]
    }
}

#[tokio::test]
async fn every_api_route_is_documented() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("store");
    let app = router(AppState::new(Arc::new(store), ServerConfig::default()));

    let doc = app
        .clone()
        .oneshot(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("openapi.json");
    assert_eq!(doc.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(doc.into_body(), 64 << 20)
        .await
        .expect("body");
    let doc: Value = serde_json::from_slice(&bytes).expect("JSON");
    let paths = doc["paths"].as_object().expect("paths");

    let templates = source_paths();
    // The parser must see the routes of every module, or the test proves nothing.
    for known in [
        "/hazard_areas/{id}/releases",
        "/convoys/{id}/status",
        "/sites/{id}/nearby",
        "/shelter_sites/{id}/check-in",
        "/exchanges",
        "/provisions/{id}/status",
        "/{collection}/{id}",
    ] {
        assert!(
            templates.contains(known),
            "{known} not found in {templates:?}"
        );
    }
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ];
    // The one route of the outer router (lib.rs), not under /api/v1.
    let outside_api = ["/healthz"];
    let mut checked = 0;
    let mut missing = Vec::new();
    for template in templates
        .iter()
        .filter(|t| !outside_api.contains(&t.as_str()))
    {
        for (uri, documented) in concrete(template) {
            for m in &methods {
                let res = app
                    .clone()
                    .oneshot(
                        Request::builder()
                            .method(m.clone())
                            .uri(format!("/api/v1{uri}"))
                            .header("content-type", "application/json")
                            .body(Body::from("{}"))
                            .expect("request"),
                    )
                    .await
                    .expect("answer");
                let status = res.status();
                let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                    .await
                    .expect("body");
                let text = String::from_utf8_lossy(&bytes);
                // Not routed under /api/v1 (e.g. /healthz): the fallback.
                if status == StatusCode::NOT_FOUND && text.contains("API route") {
                    continue;
                }
                if status == StatusCode::METHOD_NOT_ALLOWED && !text.contains("written-by-action") {
                    continue;
                }
                checked += 1;
                let key = format!("/api/v1{documented}");
                let op = m.as_str().to_ascii_lowercase();
                if paths.get(&key).and_then(|p| p.get(&op)).is_none() {
                    missing.push(format!("{m} {key} (answered {status})"));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} routes answered");
    assert!(
        missing.is_empty(),
        "routes missing from openapi.json:\n  {}",
        missing.join("\n  ")
    );
}
