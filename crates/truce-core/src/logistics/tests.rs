use super::*;
use crate::Sensitivity;
use proptest::prelude::*;

fn ctx() -> ValidationContext {
    ValidationContext {
        now: "2026-11-21T12:00:00Z".parse().unwrap(),
    }
}

fn t0() -> Timestamp {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

#[test]
fn units_normalise_to_tonnes() {
    let f = ItemCategory::Food;
    assert_eq!(tonnes(12.5, "t", None, f).unwrap(), 12.5);
    assert_eq!(tonnes(12.5, " Tonnes ", None, f).unwrap(), 12.5);
    assert_eq!(tonnes(2500.0, "kg", None, f).unwrap(), 2.5);
    assert_eq!(tonnes(1000.0, "l", None, ItemCategory::Fuel).unwrap(), 0.84);
    assert_eq!(tonnes(3.0, "m3", None, ItemCategory::Water).unwrap(), 3.0);
    assert_eq!(
        tonnes(400.0, "kits", Some(5.0), ItemCategory::Hygiene).unwrap(),
        2.0
    );
    let e = tonnes(1.0, "bushels", None, f).unwrap_err();
    assert_eq!(e.0[0].field, "unit");
    let e = tonnes(1.0, "l", None, ItemCategory::Medical).unwrap_err();
    assert_eq!(e.0[0].field, "unit");
    let e = tonnes(1.0, "pcs", None, f).unwrap_err();
    assert_eq!(e.0[0].field, "unit_mass_kg");
    let e = tonnes(-1.0, "t", None, f).unwrap_err();
    assert_eq!(e.0[0].field, "quantity");
}

fn convoy() -> Convoy {
    serde_json::from_value(serde_json::json!({
        "code": "CV-1", "origin": "Goris", "destination": "Khankendi",
        "planned_departure": "2026-11-01T06:00:00Z"
    }))
    .unwrap()
}

#[test]
fn convoy_cannot_arrive_without_dispatch() {
    let c = convoy();
    let e = c
        .transition(ConvoyStatus::Arrived, t0(), "lou", None)
        .unwrap_err();
    assert!(matches!(e, Refusal::Conflict(_)), "{e}");
    let c = c
        .transition(ConvoyStatus::Dispatched, t0(), "lou", None)
        .unwrap();
    let e = c
        .transition(
            ConvoyStatus::InTransit,
            t0() - SignedDuration::from_hours(1),
            "lou",
            None,
        )
        .unwrap_err();
    assert!(matches!(e, Refusal::Invalid(_)), "{e}");
    let e = c
        .transition(ConvoyStatus::Delayed, t0(), "lou", None)
        .unwrap_err();
    assert!(
        matches!(&e, Refusal::Invalid(v) if v.0[0].field == "reason"),
        "{e}"
    );
}

use jiff::SignedDuration;

fn status() -> impl Strategy<Value = ConvoyStatus> {
    use ConvoyStatus::*;
    prop_oneof![
        Just(Planned),
        Just(Dispatched),
        Just(InTransit),
        Just(Delayed),
        Just(Arrived),
        Just(TurnedBack),
        Just(Cancelled)
    ]
}

proptest! {
    /// Whatever is attempted, the history is a legal walk with times that
    /// never go back, the status is its last step, nothing leaves a
    /// terminal status, and the record stays valid.
    #[test]
    fn convoy_history_is_monotonic(ops in proptest::collection::vec((status(), -3i64..10, any::<bool>()), 0..30)) {
        let mut c = convoy();
        let mut t = t0();
        for (to, dh, with_reason) in ops {
            let at = t + SignedDuration::from_hours(dh);
            let before = c.clone();
            match c.transition(to, at, "p", with_reason.then(|| "road blocked".to_string())) {
                Ok(n) => {
                    prop_assert!(before.allowed_next().contains(&to));
                    prop_assert!(!before.status.is_terminal());
                    c = n;
                    t = at;
                }
                Err(_) => prop_assert_eq!(&c, &before),
            }
            for w in c.history.windows(2) {
                prop_assert!(w[0].at <= w[1].at);
            }
            prop_assert_eq!(c.history.last().map_or(ConvoyStatus::Planned, |e| e.status), c.status);
            if c.status == ConvoyStatus::Arrived {
                prop_assert!(c.was_dispatched());
            }
            let v = serde_json::to_value(&c).unwrap();
            prop_assert!(EntityKind::Convoy.validate_json(v, &ctx()).is_ok());
        }
    }
}

fn wh() -> Warehouse {
    serde_json::from_value(serde_json::json!({
        "code": "WH-1", "name": "Goris", "location": {"lat": 39.5, "lon": 46.3}
    }))
    .unwrap()
}

fn movement(dir: Direction, item: usize, q: f64, kg: bool) -> StockMovement {
    let items = [
        (ItemCategory::Food, "Wheat flour"),
        (ItemCategory::Food, "wheat  FLOUR"),
        (ItemCategory::Fuel, "diesel"),
        (ItemCategory::ConstructionMaterial, "cement"),
    ];
    let (category, name) = items[item];
    StockMovement {
        warehouse: Uuid::nil(),
        direction: dir,
        category,
        item: name.into(),
        quantity: q,
        unit: if kg { "kg".into() } else { "t".into() },
        unit_mass_kg: None,
        at: t0(),
        convoy: None,
        counterpart: None,
        notes: None,
    }
}

#[test]
fn stock_out_beyond_stock_is_a_conflict() {
    let w = wh()
        .apply_movement(&movement(Direction::In, 0, 10.0, false))
        .unwrap();
    // Same item however it is spelled.
    let w = w
        .apply_movement(&movement(Direction::Out, 1, 4000.0, true))
        .unwrap();
    assert_eq!(w.stock_of(ItemCategory::Food, "wheat flour"), 6.0);
    let e = w
        .apply_movement(&movement(Direction::Out, 0, 6.001, false))
        .unwrap_err();
    assert!(matches!(e, Refusal::Conflict(_)), "{e}");
    let mut bad = movement(Direction::In, 0, 1.0, false);
    bad.unit = "bushels".into();
    assert!(matches!(w.apply_movement(&bad), Err(Refusal::Invalid(_))));
}

proptest! {
    /// Every sequence of movements: stock never negative, refused
    /// movements change nothing, and the stock reconciles with the
    /// accepted movements item by item.
    #[test]
    fn stock_never_negative_and_reconciles(
        ops in proptest::collection::vec((any::<bool>(), 0usize..4, 0.0f64..50.0, any::<bool>()), 0..60),
    ) {
        let mut w = wh();
        let mut accepted = Vec::new();
        for (is_in, item, q, kg) in ops {
            let q = (q * 1000.0).round() / 1000.0;
            let m = movement(if is_in { Direction::In } else { Direction::Out }, item, if kg { q * 1000.0 } else { q }, kg);
            if let Ok(n) = w.apply_movement(&m) {
                w = n;
                accepted.push(m);
            }
            prop_assert!(w.stock.iter().all(|s| s.tonnes >= 0.0));
            let r = w.reconcile(&accepted);
            prop_assert!(r.consistent, "{:?}", r);
        }
        let v = serde_json::to_value(&w).unwrap();
        prop_assert!(EntityKind::Warehouse.validate_json(v, &ctx()).is_ok());
    }
}

#[test]
fn reconciliation_names_a_missing_movement() {
    let a = movement(Direction::In, 0, 10.0, false);
    let b = movement(Direction::Out, 0, 3.0, false);
    let w = wh().apply_movement(&a).unwrap().apply_movement(&b).unwrap();
    assert!(w.reconcile([&a, &b]).consistent);
    let r = w.reconcile([&a]);
    assert!(!r.consistent);
    assert_eq!(r.items[0].difference_tonnes, -3.0);
}

fn line(category: ItemCategory, corridor: Option<Uuid>, hours: i64, t: f64) -> ManifestLine {
    ManifestLine {
        convoy: Uuid::nil(),
        corridor,
        category,
        item: "x".into(),
        quantity: t,
        unit: "t".into(),
        unit_mass_kg: None,
        destination: None,
        delivered_quantity: Some(t),
        delivered_at: Some(t0() + SignedDuration::from_hours(hours)),
    }
}

proptest! {
    /// Totals from the index equal a naive filter-and-sum over the lines,
    /// for any period, corridor, category and reader, after any sequence
    /// of inserts, changes and removals (in or out of time order).
    #[test]
    fn totals_match_naive_recomputation(
        ops in proptest::collection::vec((0usize..40, 0usize..7, 0usize..3, 0i64..500, 0.0f64..30.0, 0u8..3, any::<bool>()), 1..200),
        queries in proptest::collection::vec((0i64..520, 0i64..520, 0usize..4, 0usize..8, 0u8..3), 1..20),
    ) {
        let corridors = [Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2)), None];
        let sens = [Sensitivity::Public, Sensitivity::Mission, Sensitivity::Restricted];
        let mut idx = TotalsIndex::new();
        let mut naive: HashMap<Uuid, (ManifestLine, Sensitivity)> = HashMap::new();
        for (id, cat, cor, h, t, s, delete) in ops {
            let id = Uuid::from_u128(id as u128 + 100);
            if delete {
                idx.upsert(id, None, Sensitivity::Public);
                naive.remove(&id);
            } else {
                let l = line(ItemCategory::ALL[cat], corridors[cor], h, round_t(t));
                idx.upsert(id, Some(&l), sens[s as usize]);
                naive.insert(id, (l, sens[s as usize]));
            }
        }
        idx.prepare();
        for (a, b, cor, cat, s) in queries {
            let q = TotalsQuery {
                from: Some(t0() + SignedDuration::from_hours(a.min(b))),
                to: Some(t0() + SignedDuration::from_hours(a.max(b))),
                corridor: if cor < 2 { corridors[cor] } else { None },
                category: ItemCategory::ALL.get(cat).copied(),
                max_sensitivity: sens[s as usize],
            };
            let got = idx.totals(&q);
            let (mut want, mut n) = (0.0, 0);
            for (l, ls) in naive.values() {
                let at = l.delivered_at.unwrap();
                if *ls <= q.max_sensitivity
                    && q.from.is_none_or(|f| at >= f)
                    && q.to.is_none_or(|t| at <= t)
                    && q.corridor.is_none_or(|c| l.corridor == Some(c))
                    && q.category.is_none_or(|c| l.category == c)
                {
                    want += l.delivered_tonnes();
                    n += 1;
                }
            }
            prop_assert_eq!(got.lines, n);
            prop_assert!((got.tonnes - round_t(want)).abs() < 1e-5, "{} vs {}", got.tonnes, want);
        }
    }
}
