//! `truce intake extract` prints one JSON fact per line with file, kind and span.

use std::process::Command;

#[test]
fn intake_extract_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("release.txt");
    let text = "On Thursday a convoy delivered 120 tonnes of flour to Stepanakert.";
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_truce"))
        .args(["intake", "extract", "--published", "2024-03-14"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let q = lines
        .iter()
        .find(|v| v["kind"] == "quantity")
        .expect("a quantity");
    assert_eq!(q["category"], "aid.food");
    assert_eq!(q["value"], 120.0);
    assert_eq!(q["unit"], "t");
    assert_eq!(q["file"], file.display().to_string());
    let (s, e) = (
        q["start"].as_u64().unwrap() as usize,
        q["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], q["text"].as_str().unwrap());
    let place = lines
        .iter()
        .find(|v| v["kind"] == "place")
        .expect("a place");
    assert_eq!(place["geonameid"], 146970);
    let date = lines.iter().find(|v| v["kind"] == "date").expect("a date");
    assert_eq!(date["date"], "2024-03-14");
}
