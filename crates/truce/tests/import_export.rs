//! CSV exchange through the CLI: export, import into an empty mission,
//! export again, byte for byte the same; a file with one bad row imports
//! nothing and says where the bad row is.

mod common;

use std::path::Path;

use common::{Api, Mission, Server, incident};
use serde_json::json;

/// The incident count and journal length of a stopped mission, as the CLI
/// sees them.
fn counts(db: &Path) -> (usize, String) {
    let csv = common::truce_ok(db, &["export", "--kind", "incidents", "--format", "csv"]);
    let out = common::assert_verifies(db);
    let entries = out
        .split(" journal entries")
        .next()
        .unwrap()
        .trim_start_matches("OK: ")
        .to_string();
    let rows = csv::Reader::from_reader(csv.as_bytes()).records().count();
    (rows, entries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_round_trip_is_identical() {
    let a = Mission::init();
    let observer = a.user_with_token("field", "observer");
    let analyst = a.user_with_token("desk", "analyst");
    let server = Server::serve(&a.db).await;
    let observer = Api::new(&server, Some(&observer));
    let analyst = Api::new(&server, Some(&analyst));

    // Incidents using every kind of cell: optional text with commas, quotes,
    // new lines and non-ASCII, numbers, UUIDs, every sensitivity, a verified one.
    let party = uuid::Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..30 {
        let mut b = incident();
        b["occurred_at"] = json!(format!("2026-11-{:02}T{:02}:15:00Z", 1 + i % 19, i % 24));
        b["location"] = json!({"lat": 39.5 + i as f64 * 0.0125, "lon": 46.25 - i as f64 * 0.003});
        match i % 5 {
            0 => {
                b["notes"] = json!(format!(
                    "row {i}: \"quoted\", with commas,\nand a second line"
                ));
                b["location_name"] = json!("Ağdam – east outskirts");
                b["sensitivity"] = json!("public");
            }
            1 => {
                b["event_type"] = json!("battles");
                b["sub_event_type"] = json!("armed_clash");
                b["ceasefire_violation"] = json!({
                    "kind": "burst", "perception": "seen", "direction_deg": 271.5,
                    "distance_min_m": 800, "distance_max_m": 1200, "count": 12,
                    "attributed_to": party, "weapon": "heavy machine gun"
                });
                b["actor1"] = json!("Unit 7");
                b["actor1_party"] = json!(party);
                b["fatalities"] = json!(2);
            }
            2 => {
                b["sensitivity"] = json!("restricted");
                b["source"] = json!("informant; do not share");
                b["source_grading"] = json!({"reliability": "C", "credibility": 3});
            }
            3 => {
                b["event_type"] = json!("strategic_developments");
                b["sub_event_type"] = json!("agreement");
                b["ceasefire_violation"] = json!(null);
                b["time_precision"] = json!(2);
                b["geo_precision"] = json!(3);
                b["admin1"] = json!("Tartar");
            }
            _ => {
                b["ceasefire_violation"]["explosion_subtype"] = json!("impact");
                b["ceasefire_violation"]["count"] = json!(4);
            }
        }
        let api = if i % 5 == 2 { &analyst } else { &observer };
        ids.push(
            api.create_incident(&b).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for id in ids.iter().step_by(7) {
        let r = analyst
            .post(
                &format!("/incidents/{id}/verification"),
                &json!({"status": "verified", "reason": "patrol confirmed",
                        "assignee": "desk"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    drop(server);

    let export_csv = ["export", "--kind", "incidents", "--format", "csv"];
    let first = a.path("a.csv");
    common::truce_ok(
        &a.db,
        &[&export_csv[..], &["-o", first.to_str().unwrap()]].concat(),
    );
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(text.starts_with("id,sensitivity,occurred_at,"), "{text}");
    // Records with new lines take more than one line; count records.
    let rows = csv::Reader::from_path(&first).unwrap().records().count();
    assert_eq!(rows, 30);
    assert!(text.contains("\"row 0: \"\"quoted\"\", with commas,\nand a second line\""));
    assert!(text.contains(",verified,"));
    assert!(text.contains(",restricted,"));
    // A file meant for a role holds only what that role may read.
    for (role, expected) in [("viewer", 6), ("observer", 24), ("analyst", 30)] {
        let csv = common::truce_ok(&a.db, &[&export_csv[..], &["--role", role]].concat());
        let rows = csv::Reader::from_reader(csv.as_bytes()).records().count();
        assert_eq!(rows, expected, "--role {role}");
        assert_eq!(
            csv.contains(",restricted,"),
            expected == 30,
            "--role {role}"
        );
    }

    // Import into an empty mission and export again.
    let b = Mission::init();
    assert_eq!(counts(&b.db).0, 0);
    let out = common::truce_ok(&b.db, &["import", first.to_str().unwrap()]);
    assert!(out.contains("imported 30 incidents"), "{out}");
    // The import leaves no write-ahead log behind: it is in the file.
    assert!(
        out.contains("write-ahead log folded into the database in"),
        "{out}"
    );
    let mut wal = b.db.as_os_str().to_owned();
    wal.push("-wal");
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0, "{out}");
    let second = b.path("b.csv");
    common::truce_ok(
        &b.db,
        &[
            "export",
            "--kind",
            "incidents",
            "--format",
            "csv",
            "-o",
            second.to_str().unwrap(),
        ],
    );
    let again = std::fs::read_to_string(&second).unwrap();
    assert_eq!(again, text, "second export differs from the first");
    let (n, _) = counts(&b.db);
    assert_eq!(n, 30);

    // The imported records keep their ids.
    let server = Server::serve(&b.db).await;
    let api = Api::new(&server, Some(&b.token("admin")));
    let mut imported = api.all_ids("incidents").await;
    imported.sort();
    ids.sort();
    assert_eq!(imported, ids);
    drop(server);

    // Importing the same file again writes nothing: same ids, same content.
    let (n_before, entries_before) = counts(&b.db);
    common::truce_ok(&b.db, &["import", first.to_str().unwrap()]);
    assert_eq!(counts(&b.db), (n_before, entries_before.clone()));
    // A file reusing an id for different content is refused as a whole.
    let changed = b.path("changed.csv");
    let edited = text.replacen("row 0: ", "row 0 (edited): ", 1);
    assert_ne!(edited, text);
    std::fs::write(&changed, edited).unwrap();
    let o = common::truce(&b.db, &["import", changed.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", common::describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing was written"),
        "{}",
        common::describe(&o)
    );
    assert_eq!(counts(&b.db), (n_before, entries_before));
    let again = common::truce_ok(&b.db, &["export", "--kind", "incidents", "--format", "csv"]);
    assert_eq!(again, text);
}

#[test]
fn a_bad_row_imports_nothing_and_names_file_line_and_field() {
    let m = Mission::init();
    let (n, entries) = counts(&m.db);
    assert_eq!(n, 0);

    let file = m.path("field-reports.csv");
    std::fs::write(
        &file,
        "occurred_at,event_type,sub_event_type,location.lat,location.lon,notes\n\
         2026-11-20T10:00:00Z,explosions_remote_violence,shelling_artillery_missile_attack,39.8,46.7,fine\n\
         2026-11-20T11:00:00Z,explosions_remote_violence,shelling_artillery_missile_attack,91,46.7,bad latitude\n\
         2026-11-20T12:00:00Z,explosions_remote_violence,shelling_artillery_missile_attack,39.9,46.8,fine too\n",
    )
    .unwrap();
    let o = common::truce(&m.db, &["import", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", common::describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let expected = format!("{}:3: field location.lat:", file.display());
    assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
    assert!(err.contains("91"), "{err}");
    // Nothing was written: no incident, no journal entry.
    assert_eq!(counts(&m.db), (0, entries.clone()));

    // A cell that is not a number is named the same way.
    std::fs::write(
        &file,
        "occurred_at,event_type,sub_event_type,location.lat,location.lon\n\
         2026-11-20T10:00:00Z,explosions_remote_violence,shelling_artillery_missile_attack,north,46.7\n",
    )
    .unwrap();
    let o = common::truce(&m.db, &["import", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", common::describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let expected = format!("{}:2: field location.lat:", file.display());
    assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
    assert_eq!(counts(&m.db), (0, entries.clone()));

    // An unknown column is refused at the header.
    std::fs::write(&file, "occurred_at,colour\n2026-11-20T10:00:00Z,red\n").unwrap();
    let o = common::truce(&m.db, &["import", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", common::describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{}:1: unknown column \"colour\"", file.display())),
        "{err}"
    );
    assert_eq!(counts(&m.db), (0, entries));
}

/// A mission whose incidents use every field an export carries: both
/// readers' sensitivities, UCDP deaths, violations, grading, a verified and
/// a merged incident (verification by/at/reason, duplicate_of).
async fn varied_mission() -> Mission {
    let a = Mission::init();
    let analyst = a.user_with_token("desk", "analyst");
    let server = Server::serve(&a.db).await;
    let api = Api::new(&server, Some(&analyst));
    let party = uuid::Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..25 {
        let mut b = incident();
        b["occurred_at"] = json!(format!(
            "2026-10-{:02}T{:02}:{:02}:07Z",
            1 + i % 28,
            i % 24,
            i
        ));
        b["location"] = json!({"lat": 39.5 + i as f64 * 0.0125, "lon": 46.25 - i as f64 * 0.003});
        b["sensitivity"] = json!(["public", "mission", "restricted"][i % 3]);
        match i % 5 {
            0 => {
                b["notes"] = json!(format!(
                    "row {i}: \"quoted\", with commas,\nand Ağdam – Աղդամ"
                ));
                b["location_name"] = json!("Ağdam – east outskirts");
                b["admin1"] = json!("Aghdam");
            }
            1 => {
                b["event_type"] = json!("battles");
                b["sub_event_type"] = json!("armed_clash");
                b["ceasefire_violation"] = json!({
                    "kind": "burst", "perception": "seen", "direction_deg": 271.5,
                    "distance_min_m": 800, "distance_max_m": 1200, "count": 12,
                    "attributed_to": party, "weapon": "heavy machine gun"
                });
                b["actor1"] = json!("Unit 7");
                b["actor1_party"] = json!(party);
                b["actor2"] = json!("Civilians (Azerbaijan)");
                b["fatalities"] = json!(3);
                b["deaths"] = json!({"side_a": 1, "side_b": 1, "civilians": 1, "unknown": 0, "low": 2, "high": 5});
            }
            2 => {
                b["event_type"] = json!("violence_against_civilians");
                b["sub_event_type"] = json!("attack");
                b["ceasefire_violation"] = json!(null);
                b["source"] = json!("informant; do not share");
                b["source_scale"] = json!("Local partner");
                b["source_grading"] = json!({"reliability": "C", "credibility": 3});
                b["fatalities"] = json!(1);
            }
            3 => {
                b["event_type"] = json!("strategic_developments");
                b["sub_event_type"] = json!("agreement");
                b["ceasefire_violation"] = json!(null);
                b["time_precision"] = json!(2);
                b["geo_precision"] = json!(3);
            }
            _ => {
                b["ceasefire_violation"]["explosion_subtype"] = json!("impact");
                b["ceasefire_violation"]["count"] = json!(4);
                b["geo_precision"] = json!(2);
            }
        }
        ids.push(
            api.create_incident(&b).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let r = api
        .post(
            &format!("/incidents/{}/verification", ids[0]),
            &json!({"status": "verified", "reason": "patrol confirmed", "assignee": "desk"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .post(
            &format!("/incidents/{}/verification", ids[5]),
            &json!({"duplicate_of": ids[6]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    drop(server);
    a
}

fn export_to(db: &Path, format: &str, file: &Path) -> Vec<u8> {
    common::truce_ok(
        db,
        &["export", "--format", format, "-o", file.to_str().unwrap()],
    );
    std::fs::read(file).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_round_trips_identically() {
    let a = varied_mission().await;
    for (format, ext) in [
        ("csv", "csv"),
        ("hxl", "csv"),
        ("acled", "csv"),
        ("ucdp", "csv"),
        ("xlsx", "xlsx"),
        ("geojson", "geojson"),
    ] {
        let first_path = a.path(&format!("first-{format}.{ext}"));
        let first = export_to(&a.db, format, &first_path);
        // Every record is there, restricted ones too (the CLI is the
        // operator's own tool on the database).
        if ext == "csv" {
            let text = String::from_utf8(first.clone()).unwrap();
            let header_rows = if format == "hxl" { 2 } else { 1 };
            let n = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes())
                .records()
                .count();
            assert_eq!(n, 25 + header_rows, "{format}:\n{text}");
            assert!(text.contains("Աղդամ"), "{format}");
        }
        let b = Mission::init();
        let out = common::truce_ok(
            &b.db,
            &["import", "--format", format, first_path.to_str().unwrap()],
        );
        assert!(out.contains("imported 25 incidents"), "{format}: {out}");
        let second = export_to(&b.db, format, &b.path(&format!("second.{ext}")));
        assert!(
            second == first,
            "{format}: the second export differs from the first:\n{}\n---\n{}",
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&second)
        );
        common::assert_verifies(&b.db);
    }
    // The shapes are the datasets' own.
    let acled = std::fs::read_to_string(a.path("first-acled.csv")).unwrap();
    assert!(acled.starts_with("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,"));
    assert!(acled.contains(
        ",Political violence,Explosions/Remote violence,Shelling/artillery/missile attack,"
    ));
    assert!(acled.contains(",Civilian targeting,"));
    let ucdp = std::fs::read_to_string(a.path("first-ucdp.csv")).unwrap();
    assert!(ucdp.starts_with("id,year,active_year,type_of_violence,"));
    assert!(ucdp.contains(",Unit 7,"), "side_a");
    let hxl = std::fs::read_to_string(a.path("first-hxl.csv")).unwrap();
    let tag_row = hxl.lines().nth(1).unwrap();
    assert!(
        tag_row.starts_with("#event+id,#meta+sensitivity,#date,"),
        "{tag_row}"
    );
    assert!(tag_row.contains("#geo+lat,#geo+lon"));
    assert!(tag_row.contains("#affected+killed"));
}

#[test]
fn bad_rows_in_every_shape_name_file_line_and_field() {
    let m = Mission::init();
    let (_, entries) = counts(&m.db);
    let cases: &[(&str, &str, &str)] = &[
        (
            "acled",
            "event_id_cnty,event_date,event_type,sub_event_type,latitude,longitude,iso\n\
             AZE1,2026-11-20,Battles,Armed clash,39.8,46.7,31\n\
             AZE2,2026-11-20,Battles,Armed clash,95,46.7,31\n",
            ":3: field latitude (location.lat):",
        ),
        (
            "acled",
            "event_id_cnty,event_date,event_type,sub_event_type,latitude,longitude\n\
             AZE1,2026-11-20,Battles,Armed clash,39.8,46.7\n\
             AZE2,2026-11-20,Battles,Shelling/artillery/missile attack,39.8,46.7\n",
            ":3: field sub_event_type:",
        ),
        (
            "ucdp",
            "id,date_start,type_of_violence,latitude,longitude,where_prec,best\n\
             1,2026-11-20,3,39.8,46.7,1,2\n\
             2,2026-11-20,3,39.8,46.7,9,2\n",
            ":3: field where_prec:",
        ),
        (
            "hxl",
            "When,Lat,Lon,Type,Sub\n#date,#geo+lat,#geo+lon,#event+type,#event+type+sub\n\
             2026-11-20T10:00:00Z,39.8,46.7,battles,armed_clash\n\
             2026-11-20T10:00:00Z,39.8,east,battles,armed_clash\n",
            ":4: field #geo+lon:",
        ),
    ];
    for (format, text, expected) in cases {
        let file = m.path(&format!("bad-{format}.csv"));
        std::fs::write(&file, text).unwrap();
        let o = common::truce(
            &m.db,
            &["import", "--format", format, file.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(1), "{}", common::describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let expected = format!("{}{expected}", file.display());
        assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
        assert_eq!(
            counts(&m.db),
            (0, entries.clone()),
            "{format}: something was written"
        );
    }
}
