//! `GET /api/v1/exports/incidents` against the real server: a 20,000-row
//! export arrives complete as a chunked body, each role gets exactly the
//! incidents it may read, restricted reads are journaled, and the CSV is
//! the same file the CLI writes.

mod common;

use std::fmt::Write as _;

use common::{Api, Mission, Server};

const TOTAL: usize = 20_000;

fn rows(text: &str, header_rows: usize) -> usize {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .count()
        - header_rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_export_streams_complete_and_role_filtered() {
    let m = Mission::init();
    // 20,000 incidents through the CLI import (faster than 20,000 POSTs);
    // every third one restricted, every third public.
    let file = m.path("many.csv");
    let mut text = String::from(
        "sensitivity,occurred_at,event_type,sub_event_type,location.lat,location.lon,notes\n",
    );
    for i in 0..TOTAL {
        writeln!(
            text,
            "{},2026-{:02}-{:02}T{:02}:{:02}:00Z,explosions_remote_violence,shelling_artillery_missile_attack,{},{},\"row {i}, \"\"quoted\"\"\"",
            ["public", "mission", "restricted"][i % 3],
            1 + i % 10,
            1 + i % 28,
            i % 24,
            i % 60,
            39.0 + (i % 1000) as f64 * 0.001,
            46.0 + (i / 1000) as f64 * 0.01,
        )
        .unwrap();
    }
    std::fs::write(&file, text).unwrap();
    let out = common::truce_ok(&m.db, &["import", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("imported {TOTAL} incidents")),
        "{out}"
    );
    let cli_csv = common::truce_ok(&m.db, &["export", "--format", "csv"]);
    let analyst = m.user_with_token("desk", "analyst");
    let observer = m.user_with_token("field", "observer");
    let viewer = m.user_with_token("press", "viewer");

    let server = Server::serve(&m.db).await;
    let analyst = Api::new(&server, Some(&analyst));
    let head_before = analyst.head_seq().await;

    // The analyst reads everything: the same bytes as the CLI's export,
    // sent chunked (no Content-Length), one journal entry per page that
    // held restricted incidents.
    let res = analyst
        .request(reqwest::Method::GET, "/exports/incidents?format=csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("content-length").is_none(),
        "{:?}",
        res.headers()
    );
    assert_eq!(
        res.headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked")
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{:?}",
        res.headers()
    );
    let body = res.text().await.unwrap();
    assert_eq!(rows(&body, 1), TOTAL);
    assert!(body == cli_csv, "the HTTP export differs from the CLI's");
    let pages = TOTAL.div_ceil(5000) as u64;
    assert_eq!(
        analyst.head_seq().await,
        head_before + pages,
        "restricted reads journaled per page"
    );

    // Every other shape arrives complete too.
    for (format, header_rows) in [("hxl", 2), ("acled", 1), ("ucdp", 1)] {
        let r = analyst
            .get(&format!("/exports/incidents?format={format}"))
            .await;
        assert_eq!(r.status, 200, "{format}");
        assert_eq!(rows(&r.text, header_rows), TOTAL, "{format}");
    }
    let r = analyst.get("/exports/incidents?format=geojson").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["features"].as_array().unwrap().len(), TOTAL);
    let r = analyst
        .request(reqwest::Method::GET, "/exports/incidents?format=xlsx")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
    let back = m.path("back.xlsx");
    std::fs::write(&back, &bytes).unwrap();
    let fresh = Mission::init();
    let out = common::truce_ok(&fresh.db, &["import", back.to_str().unwrap()]);
    assert!(
        out.contains(&format!("imported {TOTAL} incidents")),
        "{out}"
    );

    // Roles that may not read restricted incidents get the rest, and
    // nothing restricted leaks into the file.
    for (token, expected, absent) in [
        (
            &observer,
            TOTAL - TOTAL / 3 - usize::from(TOTAL % 3 > 2),
            ",restricted,",
        ),
        (&viewer, TOTAL.div_ceil(3), ",mission,"),
    ] {
        let api = Api::new(&server, Some(token));
        let r = api.get("/exports/incidents").await;
        assert_eq!(r.status, 200);
        assert_eq!(rows(&r.text, 1), expected);
        assert!(!r.text.contains(absent), "{absent} leaked");
        assert!(!r.text.contains(",restricted,"));
    }

    // Filters apply; a bad format is a problem naming the field.
    let r = analyst
        .get("/exports/incidents?format=csv&from=2026-10-01T00:00:00Z")
        .await;
    assert_eq!(rows(&r.text, 1), TOTAL / 10);
    analyst
        .get("/exports/incidents?format=pdf")
        .await
        .assert_problem(422, "format");
    Api::new(&server, None)
        .get("/exports/incidents")
        .await
        .assert_problem_status(401);
    // The route is in the OpenAPI document.
    let doc = Api::new(&server, None)
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(doc.contains("/api/v1/exports/incidents"));
}
