//! `truce route --pbf` end to end on the real Andorra extract.

use std::process::Command;

const PBF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/osm/andorra.osm.pbf"
);

fn truce(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_truce"))
        .args(args)
        .output()
        .expect("run truce");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn route_json_and_no_route_exit_code() {
    let (code, j, err) = truce(&[
        "route",
        "--pbf",
        PBF,
        "--from",
        "42.5063,1.5218",
        "--to",
        "42.5425,1.7336",
        "--profile",
        "car",
        "--metric",
        "distance",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        (j["distance_m"].as_f64().unwrap() - 32653.462).abs() < 0.001,
        "{j}"
    );
    assert!(j["duration_s"].as_f64().unwrap() > 0.0);
    assert_eq!(j["geometry"]["type"], "LineString");
    assert!(j["geometry"]["coordinates"].as_array().unwrap().len() > 100);

    // Sant Julià's nearest road node is on a fragment cars cannot leave.
    let (code, j, err) = truce(&[
        "route",
        "--pbf",
        PBF,
        "--from",
        "42.5063,1.5218",
        "--to",
        "42.4637,1.4913",
        "--json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no route"), "{err}");
    assert_eq!(j["error"], "no_route");

    // Origin inside an avoid polygon.
    let dir = tempfile::tempdir().unwrap();
    let avoid = dir.path().join("avoid.geojson");
    std::fs::write(
        &avoid,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[1.52,42.505],[1.524,42.505],[1.524,42.508],[1.52,42.508],[1.52,42.505]]]}}]}"#,
    )
    .unwrap();
    let (code, _, err) = truce(&[
        "route",
        "--pbf",
        PBF,
        "--from",
        "42.5063,1.5218",
        "--to",
        "42.5425,1.7336",
        "--avoid",
        avoid.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("origin lies inside avoid area"), "{err}");
}

#[test]
fn roads_import_stores_the_network_with_the_mission() {
    let roads = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/roads/caucasus_roads.geojson"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let db = db.to_str().unwrap();
    let (code, _, err) = truce(&["--db", db, "init", "--name", "Roads test"]);
    assert_eq!(code, 0, "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_truce"))
        .args(["--db", db, "roads", "import", roads])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stored road network"));
    // Goris -> Lachin on the stored network.
    let (code, j, err) = truce(&[
        "--db",
        db,
        "route",
        "--from",
        "39.507,46.338",
        "--to",
        "39.637,46.550",
        "--metric",
        "distance",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let km = j["distance_m"].as_f64().unwrap() / 1000.0;
    assert!((44.0..50.0).contains(&km), "{km}");
    let (code, _, _) = truce(&["--db", db, "verify"]);
    assert_eq!(code, 0);
}
