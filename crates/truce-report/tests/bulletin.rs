//! A known fixture: its figures must appear in every rendering, verify must
//! catch any change, and "no violations" must appear only when true.

use jiff::civil::date;
use serde_json::json;
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_report::{
    Format, MissionKey, Period, compute, extract_signed, recompute_and_compare, render,
    verify_signature,
};
use truce_store::sqlite::SqliteStore;
use truce_store::{Change, Command, Store};
use uuid::Uuid;

fn create(kind: EntityKind, data: serde_json::Value) -> Command {
    let record = kind
        .validate_json(
            data,
            &ValidationContext {
                now: "2026-11-21T12:00:00Z".parse().unwrap(),
            },
        )
        .unwrap();
    Command {
        actor: "fixture".into(),
        reason: None,
        idempotency: None,
        change: Change::Create {
            kind,
            id: Uuid::now_v7(),
            sensitivity: Sensitivity::Mission,
            record,
        },
    }
}

fn violation(day: u8, lat: f64, lon: f64) -> Command {
    create(
        EntityKind::Incident,
        json!({
            "occurred_at": format!("2026-11-{day:02}T10:00:00Z"),
            "event_type": "explosions_remote_violence",
            "sub_event_type": "shelling_artillery_missile_attack",
            "location": {"lat": lat, "lon": lon},
            "location_name": "Ստեփանակերտ / Степанакерт",
            "ceasefire_violation": {"kind": "explosion", "perception": "heard", "count": 3}
        }),
    )
}

async fn fixture() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("b.db")).await.unwrap();
    let square = |x: f64, y: f64| json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]]});
    let mut cmds = vec![
        create(
            EntityKind::Mission,
            json!({"name": "Fixture Mission", "started_on": "2026-10-01", "notice": "Test fixture."}),
        ),
        create(
            EntityKind::Aor,
            json!({"code": "AOR-1", "name": "North", "area": square(46.5, 39.5)}),
        ),
        create(
            EntityKind::Aor,
            json!({"code": "AOR-2", "name": "South", "area": square(46.5, 39.0)}),
        ),
        create(
            EntityKind::Post,
            json!({"code": "OP-1", "name": "One", "location": {"lat": 39.7, "lon": 46.7}, "staffed": true}),
        ),
        create(
            EntityKind::Post,
            json!({"code": "OP-2", "name": "Two", "location": {"lat": 39.2, "lon": 46.7}, "staffed": false}),
        ),
    ];
    // Three violations in AOR-1 on the 20th, one in AOR-2 on the 19th (previous day).
    for _ in 0..3 {
        cmds.push(violation(20, 39.8, 46.8));
    }
    cmds.push(violation(19, 39.2, 46.8));
    s.apply_all(cmds).await.unwrap();
    (dir, s)
}

#[tokio::test]
async fn figures_render_sign_verify_and_catch_changes() {
    let (dir, store) = fixture().await;
    let day = Period::new(date(2026, 11, 20), date(2026, 11, 20)).unwrap();
    let b = compute(&store, day).await.unwrap();
    let fig = |k: &str| {
        b.sections
            .iter()
            .flat_map(|s| &s.figures)
            .find(|f| f.key == k)
            .unwrap_or_else(|| panic!("{k}"))
            .clone()
    };
    assert_eq!(fig("violations.aor.AOR-1").value, 3.0);
    assert_eq!(fig("violations.aor.AOR-2").value, 0.0);
    assert_eq!(fig("violations.aor.AOR-2").previous, Some(1.0));
    assert_eq!(fig("posts.staffed").value, 1.0);
    let all_text = serde_json::to_string(&b).unwrap();
    assert!(!all_text.contains("No ceasefire violations were recorded"));

    let key = MissionKey::generate();
    let signed = key.sign(b.clone());
    for format in [Format::Json, Format::Md, Format::Html] {
        let bytes = render(&signed, format).unwrap();
        let back = extract_signed(&bytes, format).unwrap();
        verify_signature(&back, Some(&key.public_hex())).unwrap();
        assert_eq!(
            render(&back, format).unwrap(),
            bytes,
            "{format:?} is not reproducible"
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("AOR-1 North") && text.contains("Ստեփանակերտ"),
            "{format:?}"
        );
    }
    // Another key's signature fails against the mission key.
    let other = MissionKey::generate().sign(b.clone());
    assert!(verify_signature(&other, Some(&key.public_hex())).is_err());
    // One changed figure inside the signed content fails the signature.
    let mut forged = signed.clone();
    forged.bulletin.sections[1].figures[0].value = 0.0;
    assert!(verify_signature(&forged, None).is_err());
    // One changed byte in the visible HTML: re-rendering differs.
    let html = String::from_utf8(render(&signed, Format::Html).unwrap()).unwrap();
    let tampered = html.replacen("<td class=\"n\">3</td>", "<td class=\"n\">2</td>", 1);
    assert_ne!(tampered, html);
    let back = extract_signed(tampered.as_bytes(), Format::Html).unwrap();
    assert_ne!(render(&back, Format::Html).unwrap(), tampered.as_bytes());

    // Recomputation from the journal matches; a re-signed false figure does not.
    let scratch = SqliteStore::open(&dir.path().join("scratch.db"))
        .await
        .unwrap();
    assert!(
        recompute_and_compare(&store, &scratch, &b)
            .await
            .unwrap()
            .is_empty()
    );
    let mut false_b = b.clone();
    false_b.sections[1].figures[0].value = 7.0;
    let scratch2 = SqliteStore::open(&dir.path().join("scratch2.db"))
        .await
        .unwrap();
    let diffs = recompute_and_compare(&store, &scratch2, &false_b)
        .await
        .unwrap();
    assert!(
        diffs.iter().any(|d| d.contains("violations.aor.AOR-1")),
        "{diffs:?}"
    );
}

#[tokio::test]
async fn no_violations_sentence_only_when_none() {
    let (_dir, store) = fixture().await;
    let quiet = Period::new(date(2026, 11, 10), date(2026, 11, 10)).unwrap();
    let b = compute(&store, quiet).await.unwrap();
    let text = serde_json::to_string(&b).unwrap();
    assert!(text.contains("No ceasefire violations were recorded in the area of responsibility."));
    let busy = Period::new(date(2026, 11, 19), date(2026, 11, 20)).unwrap();
    let text = serde_json::to_string(&compute(&store, busy).await.unwrap()).unwrap();
    assert!(!text.contains("No ceasefire violations were recorded"));
}

#[tokio::test]
async fn pdf_text_has_the_figures_and_names() {
    let (_dir, store) = fixture().await;
    let day = Period::new(date(2026, 11, 20), date(2026, 11, 20)).unwrap();
    let signed = MissionKey::generate().sign(compute(&store, day).await.unwrap());
    let pdf = render(&signed, Format::Pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(
        render(&signed, Format::Pdf).unwrap(),
        pdf,
        "PDF is not reproducible"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by `cargo xtask test`");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "AOR-1 North",
        "Ստեփանակերտ",
        "Степанакерт",
        "Fixture Mission",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from PDF text:\n{text}"
        );
    }
}
