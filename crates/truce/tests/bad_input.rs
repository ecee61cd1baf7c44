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

/// POSTs `body` over a plain socket and reads the answer even when the
/// server answers and closes before the whole body is sent (as it does for
/// bodies over its limit; an HTTP client library may then report only the
/// broken pipe). Returns the status, the header block and the body.
async fn raw_post(port: u16, path: &str, token: &str, body: Vec<u8>) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for chunk in body.chunks(64 * 1024) {
            if wr.write_all(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let read = async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), read)
        .await
        .expect("answer within 30 s");
    writer.abort();
    let text = String::from_utf8_lossy(&got).into_owned();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {headers:?}"));
    (status, headers.to_string(), body.to_string())
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
    let body = serde_json::to_vec(&huge).unwrap();
    assert!(body.len() > 20_000_000);
    let (status, headers, text) = raw_post(server.port, "/api/v1/incidents", &admin, body).await;
    assert_eq!(status, 413, "{headers}\n{text}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{headers}"
    );
    let problem: Value = serde_json::from_str(&text).expect("problem JSON");
    assert_eq!(problem["status"], 413, "{text}");
    assert!(problem["detail"].as_str().is_some(), "{text}");

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
