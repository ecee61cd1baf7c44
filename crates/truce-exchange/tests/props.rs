//! Property tests of the readers: whatever incident a writer is given, the
//! reader of the same shape gives the same record back; whatever bytes a
//! reader is given, it answers with records or errors, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use truce_core::incident::SubEventType;
use truce_exchange::{CsvWriter, Shape, XlsxWriter, flatten, read_csv, read_xlsx, unflatten};

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
