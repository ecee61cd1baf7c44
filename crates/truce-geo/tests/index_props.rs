//! Map-query indexes and hazard checks against linear scans.

use std::collections::BTreeMap;

use geo::{Coord, Intersects, LineString, MultiPolygon, Point, Polygon};
use jiff::civil::Date;
use proptest::prelude::*;
use truce_core::Sensitivity;
use truce_geo::geom::{linestring_multipolygon_m, point_multipolygon_m};
use truce_geo::{
    AorArea, AreaIndex, HazardArea, HazardIndex, IncidentIndex, IncidentPoint, IncidentQuery,
    PostPoint, geodesic_m,
};
use uuid::Uuid;

const CATS: [&str; 4] = ["shelling", "small_arms", "drone", "mine"];
const STATUS: [&str; 3] = ["reported", "verified", "refuted"];
const PARTIES: [&str; 3] = ["", "side_a", "side_b"];
const SENS: [Sensitivity; 3] = [
    Sensitivity::Public,
    Sensitivity::Mission,
    Sensitivity::Restricted,
];

prop_compose! {
    fn incident()(id in any::<u128>(), lon in 44.5f64..48.5, lat in 38.8f64..41.0,
                  t in 0i64..3_000_000, c in 0usize..4, s in 0usize..3, p in 0usize..3,
                  v in 0usize..3) -> IncidentPoint {
        IncidentPoint {
            id: Uuid::from_u128(id), lon, lat, time: 1_700_000_000 + t,
            category: CATS[c].into(), status: STATUS[s].into(), party: PARTIES[p].into(),
            sensitivity: SENS[v],
        }
    }
}

/// Every row a query hands out carries exactly the attributes indexed for
/// its id (coordinates, time, category, status, party, sensitivity).
fn rows_match(
    idx: &IncidentIndex,
    truth: &BTreeMap<Uuid, IncidentPoint>,
    q: &IncidentQuery,
) -> Result<(), TestCaseError> {
    let mut n = 0;
    let mut bad = None;
    idx.for_each_row(q, |r| {
        n += 1;
        let t = &truth[&r.id];
        let same = r.lon.to_bits() == t.lon.to_bits()
            && r.lat.to_bits() == t.lat.to_bits()
            && r.time == t.time
            && r.category == t.category
            && r.status == t.status
            && r.party == t.party
            && r.sensitivity == t.sensitivity;
        if !same && bad.is_none() {
            bad = Some(format!("{r:?} vs {t:?}"));
        }
    });
    prop_assert!(bad.is_none(), "{}", bad.unwrap_or_default());
    prop_assert_eq!(n, linear(truth, q).len());
    Ok(())
}

prop_compose! {
    fn query()(x in 44.5f64..48.5, y in 38.8f64..41.0, w in 0.0f64..3.0, h in 0.0f64..2.0,
               t in prop::option::of(0i64..3_000_000), span in 0i64..2_000_000,
               cats in prop::option::of(prop::collection::vec(0usize..5, 0..3)),
               stats in prop::option::of(prop::collection::vec(0usize..3, 1..3)),
               bbox in any::<bool>()) -> IncidentQuery {
        IncidentQuery {
            bbox: bbox.then_some([x, y, x + w, y + h]),
            from: t.map(|t| 1_700_000_000 + t),
            to: t.map(|t| 1_700_000_000 + t + span),
            categories: cats.map(|v| v.into_iter().map(|i| CATS.get(i).copied().unwrap_or("unknown").to_string()).collect()),
            statuses: stats.map(|v| v.into_iter().map(|i| STATUS[i].to_string()).collect()),
            parties: None,
        }
    }
}

fn linear(rows: &BTreeMap<Uuid, IncidentPoint>, q: &IncidentQuery) -> Vec<Uuid> {
    rows.values()
        .filter(|r| {
            q.bbox.is_none_or(|[x0, y0, x1, y1]| {
                r.lon >= x0 && r.lon <= x1 && r.lat >= y0 && r.lat <= y1
            }) && q.from.is_none_or(|f| r.time >= f)
                && q.to.is_none_or(|t| r.time < t)
                && q.categories
                    .as_ref()
                    .is_none_or(|v| v.contains(&r.category))
                && q.statuses.as_ref().is_none_or(|v| v.contains(&r.status))
                && q.parties.as_ref().is_none_or(|v| v.contains(&r.party))
        })
        .map(|r| r.id)
        .collect()
}

fn poly(cx: f64, cy: f64, r: f64, n: usize, hole: bool) -> MultiPolygon<f64> {
    let ring = |r: f64| -> LineString<f64> {
        let mut v: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect();
        v.push(v[0]);
        v.into()
    };
    let holes = if hole { vec![ring(r / 3.0)] } else { vec![] };
    MultiPolygon::new(vec![Polygon::new(ring(r), holes)])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Same result sets as a linear scan, also after replacements and removals.
    #[test]
    fn incident_queries_match_linear_scan(
        rows in prop::collection::vec(incident(), 0..3000),
        qs in prop::collection::vec(query(), 1..8),
        churn in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), incident()), 0..200),
    ) {
        let mut truth: BTreeMap<Uuid, IncidentPoint> = BTreeMap::new();
        for r in &rows { truth.insert(r.id, r.clone()); }
        let mut idx = IncidentIndex::build(rows.clone()).unwrap();
        prop_assert_eq!(idx.len(), truth.len());
        for (i, remove, new) in churn {
            if rows.is_empty() { break; }
            let victim = rows[i.index(rows.len())].id;
            if remove {
                prop_assert_eq!(idx.remove(victim), truth.remove(&victim).is_some());
            } else {
                let r = IncidentPoint { id: victim, ..new };
                idx.upsert(&r).unwrap();
                truth.insert(victim, r);
            }
        }
        prop_assert_eq!(idx.len(), truth.len());
        for q in &qs {
            let mut got = idx.query(q);
            got.sort();
            prop_assert_eq!(&got, &linear(&truth, q));
            prop_assert_eq!(idx.count(q), got.len());
            rows_match(&idx, &truth, q)?;
        }
        idx.compact();
        for q in &qs {
            let mut got = idx.query(q);
            got.sort();
            prop_assert_eq!(got, linear(&truth, q));
            rows_match(&idx, &truth, q)?;
        }
    }

    /// Hazard checks (points and lines, with distance and date) equal a
    /// linear scan over every area; polygons have holes.
    #[test]
    fn hazard_checks_match_linear_scan(
        areas in prop::collection::vec((45.0f64..46.0, 39.0f64..40.0, 0.001f64..0.1, 3usize..12, any::<bool>(), 0i8..20, 0i8..20), 1..40),
        pts in prop::collection::vec((44.9f64..46.1, 38.9f64..40.1), 1..40),
        within in prop::sample::select(vec![0.0, 100.0, 2_000.0]),
        day in 0i8..25,
    ) {
        let base = Date::new(2026, 1, 1).unwrap();
        let hz: Vec<HazardArea> = areas.iter().enumerate().map(|(i, &(x, y, r, n, hole, f, len))| HazardArea {
            id: Uuid::from_u128(i as u128 + 1),
            polygon: poly(x, y, r, n, hole),
            active_from: Some(base.saturating_add(jiff::Span::new().days(i64::from(f)))),
            active_to: (len < 15).then(|| base.saturating_add(jiff::Span::new().days(i64::from(f) + i64::from(len)))),
        }).collect();
        let idx = HazardIndex::new(hz.clone()).unwrap();
        let on = base.saturating_add(jiff::Span::new().days(i64::from(day)));
        for &(x, y) in &pts {
            let got = idx.check_point([x, y], within, Some(on)).unwrap();
            let mut want: Vec<(Uuid, f64)> = hz.iter().filter(|a| a.active_on(on)).filter_map(|a| {
                let d = point_multipolygon_m(Coord { x, y }, &a.polygon);
                (d <= within).then_some((a.id, d))
            }).collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            prop_assert_eq!(got.iter().map(|h| (h.id, h.distance_m)).collect::<Vec<_>>(), want);
            // Distance 0 is exactly "intersects" (inside, on the boundary, not in a hole).
            let inside = hz.iter().any(|a| a.active_on(on) && a.polygon.intersects(&Point::new(x, y)));
            prop_assert_eq!(idx.point_in_any([x, y], Some(on)), inside);
        }
        let line: LineString<f64> = pts.to_vec().into();
        if line.0.len() >= 2 {
            let got = idx.check_line(&line, within, None).unwrap();
            let mut want: Vec<(Uuid, f64)> = hz.iter().filter_map(|a| {
                let d = linestring_multipolygon_m(&line, &a.polygon);
                (d <= within).then_some((a.id, d))
            }).collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            prop_assert_eq!(got.iter().map(|h| (h.id, h.distance_m)).collect::<Vec<_>>(), want);
        }
    }

    /// AoR lookup and nearest posts equal linear scans.
    #[test]
    fn areas_and_posts_match_linear_scan(
        aors in prop::collection::vec((45.0f64..46.0, 39.0f64..40.0, 0.01f64..0.3, 3usize..10, any::<bool>()), 1..20),
        posts in prop::collection::vec((44.9f64..46.1, 38.9f64..40.1), 1..60),
        pts in prop::collection::vec((44.9f64..46.1, 38.9f64..40.1), 1..20),
        k in 1usize..6,
    ) {
        let aors: Vec<AorArea> = aors.iter().enumerate().map(|(i, &(x, y, r, n, h))| AorArea {
            id: Uuid::from_u128(i as u128 + 1), polygon: poly(x, y, r, n, h),
        }).collect();
        let posts: Vec<PostPoint> = posts.iter().enumerate().map(|(i, &(lon, lat))| PostPoint {
            id: Uuid::from_u128(1000 + i as u128), lon, lat,
        }).collect();
        let idx = AreaIndex::new(aors.clone(), posts.clone()).unwrap();
        for &(x, y) in &pts {
            let want: Vec<Uuid> = aors.iter().filter(|a| a.polygon.intersects(&Point::new(x, y))).map(|a| a.id).collect();
            prop_assert_eq!(idx.aors_at([x, y]), want);
            let mut all: Vec<(f64, Uuid)> = posts.iter().map(|p| (geodesic_m([x, y], [p.lon, p.lat]), p.id)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let got: Vec<(f64, Uuid)> = idx.nearest_posts([x, y], k).iter().map(|p| (p.distance_m, p.id)).collect();
            prop_assert_eq!(got, all.into_iter().take(k).collect::<Vec<_>>());
        }
    }
}

#[test]
fn counts_per_aor_per_day() {
    let aor = AorArea {
        id: Uuid::from_u128(1),
        polygon: poly(46.0, 39.5, 0.2, 8, false),
    };
    let idx = AreaIndex::new(vec![aor], vec![]).unwrap();
    let day = |d: i64| 1_767_225_600 + d * 86_400; // 2026-01-01T00:00Z
    let mk = |i: u128, lon: f64, t: i64| IncidentPoint {
        id: Uuid::from_u128(i),
        lon,
        lat: 39.5,
        time: t,
        category: "shelling".into(),
        status: "verified".into(),
        party: String::new(),
        sensitivity: Sensitivity::Public,
    };
    let inc = IncidentIndex::build(vec![
        mk(1, 46.0, day(0) + 10),
        mk(2, 46.05, day(0) + 86_399),
        mk(3, 46.0, day(1)),
        mk(4, 47.0, day(1)),
    ])
    .unwrap();
    let counts = idx.counts_per_aor_per_day(&inc, &IncidentQuery::default());
    let v: Vec<(String, u64)> = counts
        .iter()
        .map(|((_, d), n)| (d.to_string(), *n))
        .collect();
    assert_eq!(
        v,
        vec![("2026-01-01".to_string(), 2), ("2026-01-02".to_string(), 1)]
    );
    let fc = inc.query_geojson(&IncidentQuery {
        bbox: Some([45.9, 39.4, 46.01, 39.6]),
        ..Default::default()
    });
    assert_eq!(fc["features"].as_array().unwrap().len(), 2);
}

#[test]
fn degenerate_geometries_are_errors() {
    let bad = MultiPolygon::new(vec![Polygon::new(
        vec![(46.0, 39.0), (46.1, 39.1), (46.0, 39.0)].into(),
        vec![],
    )]);
    let h = HazardArea {
        id: Uuid::nil(),
        polygon: bad.clone(),
        active_from: None,
        active_to: None,
    };
    assert!(HazardIndex::new(vec![h]).is_err());
    assert!(
        AreaIndex::new(
            vec![AorArea {
                id: Uuid::nil(),
                polygon: bad
            }],
            vec![]
        )
        .is_err()
    );
    assert!(
        AreaIndex::new(
            vec![],
            vec![PostPoint {
                id: Uuid::nil(),
                lon: f64::NAN,
                lat: 0.0
            }]
        )
        .is_err()
    );
    let ok = HazardIndex::new(vec![]).unwrap();
    assert!(ok.check_point([f64::INFINITY, 0.0], 0.0, None).is_err());
    assert!(ok.check_point([46.0, 39.0], -1.0, None).is_err());
    assert!(
        ok.check_line(
            &LineString::new(vec![Coord { x: 46.0, y: 39.0 }]),
            10.0,
            None
        )
        .is_err()
    );
    assert!(
        IncidentIndex::build(vec![IncidentPoint {
            id: Uuid::nil(),
            lon: 200.0,
            lat: 0.0,
            time: 0,
            category: String::new(),
            status: String::new(),
            party: String::new(),
            sensitivity: Sensitivity::Public,
        }])
        .is_err()
    );
}
