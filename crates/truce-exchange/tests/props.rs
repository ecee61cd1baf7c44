//! Property tests of the readers: whatever incident a writer is given, the
//! reader of the same shape gives the same record back; whatever bytes a
//! reader is given, it answers with records or errors, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use truce_core::incident::SubEventType;
use truce_exchange::{
    CsvWriter, FeatureWriter, Shape, StoredRecord, XlsxWriter, flatten, read_csv, read_xlsx,
    unflatten,
};

fn text(printable_only: bool) -> BoxedStrategy<Option<String>> {
    if printable_only {
        proptest::option::of("[A-Za-z0-9 ,\"'.;:/()\u{0400}-\u{04FF}\u{0531}-\u{0556}-]{1,40}")
            .boxed()
    } else {
        proptest::option::of("\\PC{1,40}|[a-z]{0,3}[\",\\n\\r][a-z]{0,3}").boxed()
    }
}

prop_compose! {
    fn incident(printable_only: bool)(
        id in any::<u128>(),
        sens in 0usize..3,
        secs in 0i64..1_800_000_000,
        tp in 1u8..=3,
        gp in 1u8..=3,
        sub in 0usize..SubEventType::ALL.len(),
        lat in -90.0f64..=90.0,
        lon in -180.0f64..=180.0,
        fatalities in any::<u32>(),
        deaths in proptest::option::of((any::<u32>(), 0u32..1000, 0u32..1000, 0u32..1000, proptest::option::of(0u32..50))),
        notes in text(printable_only),
        actor1 in text(printable_only),
        place in text(printable_only),
        violation in proptest::option::of((0u32..1000, 0.0f64..360.0)),
    ) -> Value {
        let sub = SubEventType::ALL[sub];
        let sens = ["public", "mission", "restricted"][sens];
        let mut v = json!({
            "id": uuid::Uuid::from_u128(id),
            "sensitivity": sens,
            "occurred_at": jiff::Timestamp::from_second(secs).unwrap().to_string(),
            "time_precision": tp,
            "geo_precision": gp,
            "event_type": sub.event_type().as_str(),
            "sub_event_type": sub.as_str(),
            "location": {"lat": lat, "lon": lon},
            "fatalities": fatalities,
            "notes": notes,
            "actor1": actor1,
            "location_name": place,
            "verification": {"status": "reported", "by": null},
        });
        if let Some((a, b, c, u, low)) = deaths {
            v["deaths"] = json!({"side_a": a, "side_b": b, "civilians": c, "unknown": u, "low": low, "high": null});
        }
        if let Some((count, dir)) = violation {
            v["ceasefire_violation"] = json!({"kind": "explosion", "perception": "heard", "count": count + 1, "direction_deg": dir});
        }
        v
    }
}

fn csv_round_trip(shape: Shape, records: &[Value]) -> Vec<Value> {
    let mut w = CsvWriter::new(shape, Vec::new()).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    let bytes = w.finish().unwrap();
    read_csv(shape, bytes.as_slice())
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_csv_shape_reads_back_what_it_wrote(records in proptest::collection::vec(incident(false), 0..8)) {
        let expected: Vec<Value> = records.iter().map(|r| unflatten(&flatten(r)).unwrap()).collect();
        for shape in Shape::ALL {
            prop_assert_eq!(&csv_round_trip(shape, &records), &expected, "{:?}", shape);
        }
    }

    #[test]
    fn xlsx_reads_back_what_it_wrote(records in proptest::collection::vec(incident(true), 0..8)) {
        let expected: Vec<Value> = records.iter().map(|r| unflatten(&flatten(r)).unwrap()).collect();
        let mut w = XlsxWriter::new().unwrap();
        for r in &records {
            w.write(r).unwrap();
        }
        let bytes = w.finish().unwrap();
        let back: Vec<Value> = read_xlsx(std::io::Cursor::new(bytes)).unwrap().1.map(|r| r.unwrap().1).collect();
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn csv_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), shape in 0usize..4) {
        if let Ok(rows) = read_csv(Shape::ALL[shape], bytes.as_slice()) {
            for r in rows {
                let _ = r;
            }
        }
    }

    #[test]
    fn csv_readers_never_panic_on_near_valid_rows(
        cells in proptest::collection::vec("[0-9a-zA-Z#+ .:/-]{0,12}", 1..12),
        shape in 0usize..4,
    ) {
        let shape = Shape::ALL[shape];
        let header = shape.header_rows().concat().join(",");
        let file = format!("{header}\n{}\n", cells.join(","));
        if let Ok(rows) = read_csv(shape, file.as_bytes()) {
            for r in rows {
                if let Err(e) = r {
                    prop_assert!(e.line().is_some());
                }
            }
        }
    }

    #[test]
    fn xlsx_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok((_, rows)) = read_xlsx(std::io::Cursor::new(bytes)) {
            for r in rows {
                let _ = r;
            }
        }
    }
}

#[test]
fn xlsx_bytes_are_the_same_for_the_same_records() {
    let r = json!({"id": uuid::Uuid::from_u128(7), "occurred_at": "2026-11-20T10:00:00Z",
        "event_type": "battles", "sub_event_type": "armed_clash",
        "location": {"lat": 39.5, "lon": 46.25}, "notes": "x"});
    let make = || {
        let mut w = XlsxWriter::new().unwrap();
        w.write(&r).unwrap();
        w.finish().unwrap()
    };
    let a = make();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(a, make());
}

/// What the store holds for a generated wire record: its id, sensitivity
/// and the canonical JSON of its validated data (`None` when the core
/// refuses it).
fn stored(wire: &Value) -> Option<(String, truce_core::Sensitivity, String)> {
    let mut data = wire.clone();
    let m = data.as_object_mut()?;
    let id = m.remove("id")?.as_str()?.to_string();
    let sens = truce_core::Sensitivity::parse(m.remove("sensitivity")?.as_str()?)?;
    let ctx = truce_core::ValidationContext {
        now: jiff::Timestamp::from_second(1_900_000_000).unwrap(),
    };
    let record = truce_core::EntityKind::Incident
        .validate_json(data, &ctx)
        .ok()?;
    Some((id, sens, truce_core::journal::canonical_json(&record.data)))
}

/// Every shape and GeoJSON written from stored JSON, and the same written
/// the former way (the JSON parsed into a tree, `to_wire`, `flatten`).
fn both_ways(
    records: &[(String, truce_core::Sensitivity, String)],
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    for shape in Shape::ALL {
        let mut f = CsvWriter::new(shape, Vec::new()).unwrap();
        let mut s = CsvWriter::new(shape, Vec::new()).unwrap();
        for (id, sens, data) in records {
            let rec = StoredRecord {
                id,
                sensitivity: *sens,
                data,
            };
            f.write_stored(rec).unwrap();
            s.write(&rec.to_wire().unwrap()).unwrap();
        }
        fast.push(f.finish().unwrap());
        slow.push(s.finish().unwrap());
    }
    let mut f = Vec::new();
    let mut s = Vec::new();
    let mut features = FeatureWriter::new();
    for (id, sens, data) in records {
        let rec = StoredRecord {
            id,
            sensitivity: *sens,
            data,
        };
        features
            .write(truce_core::EntityKind::Incident, rec, &mut f)
            .unwrap();
        f.push(b'\n');
        let v: Value = serde_json::from_str(data).unwrap();
        let feature = truce_exchange::geojson::feature_of(
            truce_core::EntityKind::Incident,
            uuid::Uuid::parse_str(id).unwrap(),
            *sens,
            &v,
        );
        serde_json::to_writer(&mut s, &feature).unwrap();
        s.push(b'\n');
    }
    fast.push(f);
    slow.push(s);
    (fast, slow)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Exports write rows straight from the stored JSON; they must be the
    /// very bytes the tree-building path writes, in every shape.
    #[test]
    fn stored_json_gives_the_same_bytes_as_the_wire_path(
        records in proptest::collection::vec(incident(false), 0..8),
        sources in proptest::collection::vec(("\\PC{0,12}", 0u64..1000), 0..3),
    ) {
        let mut stored: Vec<_> = records.iter().filter_map(stored).collect();
        if let Some((_, _, data)) = stored.first_mut() {
            // Intake sources travel as a JSON cell.
            let mut v: Value = serde_json::from_str(data).unwrap();
            v["sources"] = sources
                .iter()
                .map(|(t, s)| json!({"document": uuid::Uuid::from_u128(*s as u128), "start": s, "end": s + 3, "text": t}))
                .collect();
            *data = truce_core::journal::canonical_json(&v);
        }
        let (fast, slow) = both_ways(&stored);
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            prop_assert_eq!(String::from_utf8_lossy(f), String::from_utf8_lossy(s), "output {}", i);
        }
    }
}

/// Stored JSON the fast decoder does not take as it is (escaped keys, a
/// nested object where a group is a string, floats and escapes in odd
/// places, keys out of order) still gives the wire path's bytes.
#[test]
fn unusual_stored_json_gives_the_same_bytes_too() {
    let id = "0192e0a0-0000-7000-8000-000000000001".to_string();
    let base = json!({
        "occurred_at": "2026-11-20T10:00:00Z", "event_type": "battles",
        "sub_event_type": "armed_clash", "location": {"lat": 39.5, "lon": 46.25},
    });
    let mut cases: Vec<String> = Vec::new();
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d[k] = v;
        truce_core::journal::canonical_json(&d)
    };
    cases.push(with(
        "notes",
        json!("tab\there, quote \" and \u{1} and é and \u{2028}"),
    ));
    cases.push(with("notes", json!(12.5)));
    cases.push(with("fatalities", json!(-0.0)));
    cases.push(with("fatalities", json!(1e300)));
    cases.push(with("fatalities", json!(u64::MAX)));
    cases.push(with("fatalities", json!(i64::MIN)));
    cases.push(with("deaths", json!("none")));
    cases.push(with(
        "deaths",
        json!({"side_a": 1.25, "extra": [1, 2.0, {"x": "\n"}]}),
    ));
    cases.push(with("ceasefire_violation", json!(null)));
    cases.push(with(
        "verification",
        json!({"status": "verified", "at": null, "by": {"a": 1}}),
    ));
    cases.push(with("sources", json!([{"text": "x", "start": 0.5}])));
    cases.push(with("id", json!("not the id")));
    cases.push(with("version", json!(7)));
    // Not canonical: escaped key, whitespace, keys out of order, unusual
    // escapes, integers written as floats.
    cases.push(r#"{"note\u0073": "a", "location": {"lat": 1, "lon": 2}}"#.into());
    cases.push(r#"{"notes":"a\/b\u00e9","location":{"lon":2,"lat":1.0}}"#.into());
    cases.push(r#"{"sub_event_type":"armed_clash","event_type":"battles","location":{"lat":1E2,"lon":-0}}"#.into());
    cases.push(
        r#"{"ceasefire_violation":{"count":3,"kind":"burst"},"deaths":{"low":007}}"#
            .replace("007", "7"),
    );
    // Floats as serde_json writes them, and near misses it would rewrite.
    for (lat, lon) in [
        ("39.4908", "3403.0"),
        ("1.50", "0.05"),
        ("123456789012345.6", "999999999999999.9"),
        ("0.1", "-0.0"),
        ("0.30000000000000004", "1.0"),
        ("100000000000000.0", "-7.25"),
    ] {
        cases.push(format!(r#"{{"location":{{"lat":{lat},"lon":{lon}}}}}"#));
    }
    cases.push("[1, 2]".into());
    cases.push("{}".into());
    let records: Vec<_> = cases
        .into_iter()
        .map(|d| (id.clone(), truce_core::Sensitivity::Restricted, d))
        .collect();
    // GeoJSON of records that are not valid incidents differs only in the
    // geometry (see `FeatureWriter`), so compare the tables here.
    let (fast, slow) = both_ways(&records);
    for (i, (f, s)) in fast.iter().zip(&slow).enumerate().take(Shape::ALL.len()) {
        assert_eq!(
            String::from_utf8_lossy(f),
            String::from_utf8_lossy(s),
            "shape {i}"
        );
    }
}
