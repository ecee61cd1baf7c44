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
    create_as(kind, Uuid::now_v7(), Sensitivity::Mission, data)
}

fn create_as(
    kind: EntityKind,
    id: Uuid,
    sensitivity: Sensitivity,
    data: serde_json::Value,
) -> Command {
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
            id,
            sensitivity,
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
    fixture_with(false).await
}

/// Records of every module with known figures for 2026-11-20 (previous
/// period 2026-11-19).
fn module_records() -> Vec<Command> {
    let id = Uuid::now_v7;
    let (pa, pb, org, cor, convoy, shelter, site) = (id(), id(), id(), id(), id(), id(), id());
    let (agreement, hazard) = (id(), id());
    let m = Sensitivity::Mission;
    let square = |x: f64, y: f64, d: f64| json!({"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]});
    let line = |cat: &str, t: f64, day: u8, corridor: Option<Uuid>| {
        create(
            EntityKind::ManifestLine,
            json!({"convoy": convoy, "corridor": corridor, "category": cat, "item": "relief goods",
                   "quantity": t, "unit": "t", "delivered_quantity": t,
                   "delivered_at": format!("2026-11-{day:02}T09:00:00Z")}),
        )
    };
    let reg = |people: serde_json::Value, inn: &str, out: Option<&str>| {
        let mut v = json!({"site": shelter, "people": people, "displacement_status": "idp", "checked_in_at": inn});
        if let Some(o) = out {
            v["status"] = json!("checked_out");
            v["checked_out_at"] = json!(o);
        }
        create(EntityKind::ShelterRegistration, v)
    };
    let flow = |kind: &str, day: u8, persons: u32, verification: &str| {
        create(
            EntityKind::Movement,
            json!({"kind": kind, "date": format!("2026-11-{day:02}"), "from_place": "Hall 7",
                   "to_place": "Village", "persons": persons, "verification": verification}),
        )
    };
    let report = |status: &str, day: &str, evidence: Vec<Uuid>| json!({"status": status, "as_of": day, "evidence": evidence, "by": "analyst", "recorded_at": format!("{day}T12:00:00Z")});
    vec![
        create_as(
            EntityKind::Party,
            pa,
            m,
            json!({"name": "Party Alpha", "short_name": "Alpha"}),
        ),
        create_as(
            EntityKind::Party,
            pb,
            m,
            json!({"name": "Party Beta", "short_name": "Beta"}),
        ),
        create_as(
            EntityKind::Organisation,
            org,
            m,
            json!({"name": "Deminers", "kind": "ngo"}),
        ),
        // Demining: one open area (50,000 m², 17,500 released), one closed.
        create_as(
            EntityKind::HazardArea,
            hazard,
            m,
            json!({
            "code": "CHA-1", "classification": "confirmed", "area": square(46.9, 39.9, 0.01),
            "source": "technical_survey", "area_m2": 50000.0, "recorded_at": "2026-11-01T00:00:00Z",
            "status": "in_progress",
            "released": {"cancelled_m2": 10000.0, "reduced_m2": 5000.0, "cleared_m2": 2500.0}}),
        ),
        create(
            EntityKind::HazardArea,
            json!({
            "code": "SHA-2", "classification": "suspected", "area": square(46.95, 39.95, 0.01),
            "source": "community_report", "area_m2": 8000.0, "status": "closed"}),
        ),
        create(
            EntityKind::LandRelease,
            json!({"hazard_area": hazard, "method": "cancelled", "area_m2": 10000.0, "released_at": "2026-11-05T10:00:00Z"}),
        ),
        create(
            EntityKind::LandRelease,
            json!({"hazard_area": hazard, "method": "reduced", "area_m2": 5000.0, "released_at": "2026-11-19T10:00:00Z"}),
        ),
        create(
            EntityKind::LandRelease,
            json!({"hazard_area": hazard, "method": "cleared", "area_m2": 2500.0, "released_at": "2026-11-20T10:00:00Z"}),
        ),
        create(
            EntityKind::MineTask,
            json!({"code": "T-1", "hazard_area": hazard, "task_type": "clearance",
            "organisation": org, "status": "completed", "started_at": "2026-11-02T08:00:00Z",
            "completed_at": "2026-11-20T16:00:00Z", "progress_percent": 100,
            "ordnance": [{"category": "ap_mine", "found": 7, "destroyed": 7}, {"category": "uxo", "found": 3, "destroyed": 3}]}),
        ),
        create(
            EntityKind::MineTask,
            json!({"code": "T-2", "hazard_area": hazard, "task_type": "clearance",
            "organisation": org, "status": "in_progress", "started_at": "2026-11-10T08:00:00Z", "progress_percent": 40,
            "ordnance": [{"category": "ap_mine", "found": 5, "destroyed": 4}]}),
        ),
        create(
            EntityKind::MineAccident,
            json!({"occurred_at": "2026-11-20T07:00:00Z", "location": {"lat": 39.905, "lon": 46.905},
            "hazard_area": hazard, "ordnance": "ap_mine", "victims": {"killed": 1, "injured": 2, "children": 1}}),
        ),
        // Deliveries: 14.5 t on the 20th (12.5 by the corridor), 4 t on the 19th.
        create_as(
            EntityKind::Corridor,
            cor,
            m,
            json!({"name": "North road",
            "route": {"type": "LineString", "coordinates": [[46.5, 39.5], [46.9, 39.9]]},
            "status": {"status": "open", "at": "2026-10-20T00:00:00Z"}}),
        ),
        line("food", 12.5, 20, Some(cor)),
        line("medical", 2.0, 20, None),
        line("food", 4.0, 19, Some(cor)),
        // Shelter: 7 persons (3 children) in 2 households at the end of the 20th.
        create_as(
            EntityKind::ShelterSite,
            shelter,
            m,
            json!({"name": "Hall 7", "kind": "collective_centre",
            "location": {"lat": 39.6, "lon": 46.6}, "capacity_day": 80, "capacity_night": 50}),
        ),
        reg(
            json!({"female": {"age_0_4": 1, "age_18_59": 2}, "male": {"age_5_17": 2}}),
            "2026-11-18T10:00:00Z",
            None,
        ),
        reg(
            json!({"female": {"age_60_plus": 1}, "male": {"age_18_59": 1}}),
            "2026-11-20T08:00:00Z",
            None,
        ),
        reg(
            json!({"female": {"age_18_59": 2}, "male": {"age_18_59": 2}}),
            "2026-11-10T08:00:00Z",
            Some("2026-11-20T06:00:00Z"),
        ),
        // Returns: 120 on the 20th, 30 on the 19th; one displacement earlier.
        flow("return", 20, 120, "verified"),
        flow("return", 19, 30, "reported"),
        flow("displacement", 2, 40, "verified"),
        // Exchange (restricted): Beta receives 6, Alpha receives 4 and 1 remains.
        create_as(
            EntityKind::Exchange,
            id(),
            Sensitivity::Restricted,
            json!({"at": "2026-11-20T11:00:00Z", "place": "Crossing",
            "legs": [{"from_party": pa, "to_party": pb, "persons": 6},
                     {"from_party": pb, "to_party": pa, "persons": 4, "remains": 1}]}),
        ),
        // Agreement: one provision implemented on the 20th, one in progress, one not started.
        create_as(
            EntityKind::Agreement,
            agreement,
            m,
            json!({"title": "Fixture ceasefire statement",
            "signed_on": "2026-10-15", "parties": [pa, pb], "stage": "ceasefire"}),
        ),
        create(
            EntityKind::Provision,
            json!({"agreement": agreement, "number": "Art. 1", "category": "ceasefire",
            "text": "Fire stops.", "status": "implemented",
            "history": [report("in_progress", "2026-11-01", vec![]), report("implemented", "2026-11-20", vec![hazard])]}),
        ),
        create(
            EntityKind::Provision,
            json!({"agreement": agreement, "number": "Art. 2", "category": "ceasefire",
            "text": "Lines hold.", "status": "in_progress", "history": [report("in_progress", "2026-11-05", vec![])]}),
        ),
        create(
            EntityKind::Provision,
            json!({"agreement": agreement, "number": "Art. 3", "category": "ceasefire", "text": "Talks go on."}),
        ),
        // A protected site next to the three violations of the 20th.
        create_as(
            EntityKind::Site,
            site,
            m,
            json!({"name": "Old bridge", "category": "bridge",
            "location": {"lat": 39.8, "lon": 46.8}, "watch_radius_m": 1000.0}),
        ),
        create(
            EntityKind::SiteAssessment,
            json!({"site": site, "assessed_at": "2026-11-01T10:00:00Z", "condition": "intact"}),
        ),
        create(
            EntityKind::SiteAssessment,
            json!({"site": site, "assessed_at": "2026-11-20T15:00:00Z",
            "condition": "minor_damage", "evidence": ["Photo set PS-1"]}),
        ),
    ]
}

async fn fixture_with(modules: bool) -> (tempfile::TempDir, SqliteStore) {
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
    if modules {
        cmds.extend(module_records());
    }
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

/// The figures of every module section, as the fixture makes them.
const MODULE_FIGURES: &[(&str, f64, Option<f64>)] = &[
    ("demining.released.cleared", 2500.0, Some(0.0)),
    ("demining.released.reduced", 0.0, Some(5000.0)),
    ("demining.cumulative.total", 17500.0, None),
    ("demining.ordnance.ap_mine", 7.0, Some(0.0)),
    ("demining.ordnance.total", 10.0, Some(0.0)),
    ("demining.ordnance_cumulative.total", 14.0, None),
    ("demining.hazards.open", 1.0, None),
    ("demining.hazards.open_m2", 32500.0, None),
    ("demining.accidents", 1.0, Some(0.0)),
    ("demining.injured", 2.0, Some(0.0)),
    ("deliveries.tonnes.food", 12.5, Some(4.0)),
    ("deliveries.tonnes.total", 14.5, Some(4.0)),
    ("deliveries.cumulative.total", 18.5, None),
    ("shelter.persons", 7.0, Some(9.0)),
    ("shelter.children", 3.0, Some(3.0)),
    ("shelter.households", 2.0, Some(2.0)),
    ("returns.persons", 120.0, Some(30.0)),
    ("returns.cumulative", 150.0, None),
    ("displacement.cumulative", 40.0, None),
    ("exchanges.persons", 10.0, Some(0.0)),
    ("exchanges.remains", 1.0, Some(0.0)),
    ("exchanges.cumulative.persons", 10.0, None),
    ("agreements.provisions.implemented", 1.0, Some(0.0)),
    ("agreements.provisions.in_progress", 1.0, Some(2.0)),
    ("agreements.provisions.not_started", 1.0, Some(1.0)),
    ("sites.assessments", 1.0, Some(0.0)),
    ("sites.damaged", 1.0, Some(0.0)),
    ("sites.incidents_near", 3.0, Some(0.0)),
];

/// Text each rendering must show for the module sections.
const MODULE_TEXT: &[&str] = &[
    "Demining progress",
    "2500 m² of land was released in the period",
    "17500 m² since the mission began",
    "Ordnance destroyed: anti-personnel mines",
    "Deliveries",
    "14.50 t of aid were delivered in the period",
    "North road",
    "Not by a corridor",
    "Shelter occupancy",
    "Hall 7",
    "7 persons (3 children under 18) in 2 households",
    "Returns and displacement",
    "120 persons returned home in the period",
    "Exchanges of persons",
    "Beta received 6 persons and 0 remains",
    "Alpha received 4 persons and 1 remains",
    "Implementation of agreements",
    "Fixture ceasefire statement",
    "1 of 3 provisions of 1 agreement were implemented",
    "Protected sites",
    "Old bridge",
    "minor damage",
    "Tonnes delivered per day, last 30 days",
    "open hazard areas",
];

#[tokio::test]
async fn module_sections_have_known_figures_in_every_rendering_and_verify() {
    let (dir, store) = fixture_with(true).await;
    let day = Period::new(date(2026, 11, 20), date(2026, 11, 20)).unwrap();
    let b = compute(&store, day).await.unwrap();
    let figures: std::collections::BTreeMap<&str, (f64, Option<f64>)> = b
        .sections
        .iter()
        .flat_map(|s| &s.figures)
        .map(|f| (f.key.as_str(), (f.value, f.previous)))
        .collect();
    for (k, v, p) in MODULE_FIGURES {
        assert_eq!(figures.get(k), Some(&(*v, *p)), "{k}");
    }
    // People are counted, never named: no exchange leg or party id leaks as a name.
    let signed = MissionKey::generate().sign(b.clone());
    let html = String::from_utf8(render(&signed, Format::Html).unwrap()).unwrap();
    let md = String::from_utf8(render(&signed, Format::Md).unwrap()).unwrap();
    let pdf = render(&signed, Format::Pdf).unwrap();
    let path = dir.path().join("m.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by `cargo xtask test`");
    // pdftotext may break a long sentence across lines: compare with spaces.
    let pdf_text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in MODULE_TEXT {
        assert!(html.contains(needle), "{needle} missing from HTML");
        assert!(md.contains(needle), "{needle} missing from Markdown");
        assert!(
            pdf_text.contains(needle),
            "{needle} missing from PDF text:\n{pdf_text}"
        );
    }
    // The deliveries chart and the hazard area on the map are drawn.
    assert!(html.contains("fill=\"#1f6f43\""), "deliveries chart bars");
    assert!(
        html.contains("<title>CHA-1</title>"),
        "hazard area on the map"
    );

    // Recomputation from the journal matches; one changed module figure does not.
    let scratch = SqliteStore::open(&dir.path().join("s1.db")).await.unwrap();
    let diffs = recompute_and_compare(&store, &scratch, &b).await.unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    for key in [
        "deliveries.tonnes.total",
        "shelter.persons",
        "exchanges.persons",
        "sites.damaged",
    ] {
        let mut forged = b.clone();
        let f = forged
            .sections
            .iter_mut()
            .flat_map(|s| s.figures.iter_mut())
            .find(|f| f.key == key)
            .unwrap();
        f.value += 1.0;
        let scratch = SqliteStore::open(&dir.path().join(format!("s-{key}.db")))
            .await
            .unwrap();
        let diffs = recompute_and_compare(&store, &scratch, &forged)
            .await
            .unwrap();
        assert!(diffs.iter().any(|d| d.contains(key)), "{key}: {diffs:?}");
    }
    // A changed table cell (not a figure) is caught too.
    let mut forged = b.clone();
    let t = forged
        .sections
        .iter_mut()
        .find(|s| s.id == "shelter")
        .unwrap();
    t.table.as_mut().unwrap().rows[0][3] = "70".into();
    let scratch = SqliteStore::open(&dir.path().join("s-table.db"))
        .await
        .unwrap();
    assert!(
        !recompute_and_compare(&store, &scratch, &forged)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn module_sections_without_data_say_so() {
    let (_dir, store) = fixture().await;
    let day = Period::new(date(2026, 11, 20), date(2026, 11, 20)).unwrap();
    let b = compute(&store, day).await.unwrap();
    let ids: Vec<&str> = b.sections.iter().map(|s| s.id.as_str()).collect();
    for id in [
        "demining",
        "deliveries",
        "shelter",
        "returns",
        "exchanges",
        "agreements",
        "sites",
    ] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    let html =
        String::from_utf8(render(&MissionKey::generate().sign(b), Format::Html).unwrap()).unwrap();
    for needle in [
        "No demining records (hazard areas, tasks, releases or accidents) are held.",
        "No deliveries were recorded in the period; 0 t since the mission began.",
        "No shelter sites are recorded.",
        "No persons were recorded as returned home in the period; 0 since the mission began.",
        "No exchanges of persons have been recorded.",
        "No agreement signed by 2026-11-20 is recorded.",
        "No protected sites are recorded.",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
}
