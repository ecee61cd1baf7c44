//! Property tests against brute force: random road graphs and avoid
//! polygons vs petgraph's Dijkstra; snapping vs a linear scan; malformed
//! input gives errors, never panics.

use geo::{Coord, Intersects, Line, LineString, MultiPolygon, Polygon};
use petgraph::graph::DiGraph;
use proptest::prelude::*;
use truce_geo::profile::WayAttrs;
use truce_geo::{
    AvoidSet, Cch, CchSearch, Metric, Profile, RoadClass, RoadGraph, RoadNetwork, Search,
    geodesic_m,
};

const BOX: (f64, f64, f64, f64) = (46.0, 39.5, 46.2, 39.7);

fn attrs(code: u8, dir: u8) -> WayAttrs {
    let class = RoadClass::from_code(code % 16).unwrap();
    let car = match dir % 3 {
        0 => Profile::Car.forward_bit() | Profile::Car.backward_bit(),
        1 => Profile::Car.forward_bit(),
        _ => Profile::Car.backward_bit(),
    };
    WayAttrs {
        class,
        maxspeed_kmh: if code > 200 { 30 } else { 0 },
        flags: car,
    }
}

prop_compose! {
    fn network()(n in 2usize..60)
        (pts in prop::collection::vec((BOX.0..BOX.2, BOX.1..BOX.3), n),
         edges in prop::collection::vec((0..n as u32, 0..n as u32, any::<u8>(), any::<u8>()), 0..200))
        -> (Vec<[f64; 2]>, Vec<(u32, u32, u8, u8)>) {
        (pts.into_iter().map(|(x, y)| [x, y]).collect(), edges)
    }
}

fn square(cx: f64, cy: f64, h: f64) -> MultiPolygon<f64> {
    let ring: LineString<f64> = vec![
        (cx - h, cy - h),
        (cx + h, cy - h),
        (cx + h, cy + h),
        (cx - h, cy + h),
        (cx - h, cy - h),
    ]
    .into();
    MultiPolygon::new(vec![Polygon::new(ring, vec![])])
}

fn with_hole(cx: f64, cy: f64, h: f64) -> MultiPolygon<f64> {
    let outer = square(cx, cy, h).0.remove(0).exterior().clone();
    let inner = square(cx, cy, h / 2.0).0.remove(0).exterior().clone();
    MultiPolygon::new(vec![Polygon::new(outer, vec![inner])])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Shortest path costs equal petgraph's Dijkstra on the same graph minus
    /// the segments meeting the avoid polygons (with holes), for both metrics.
    #[test]
    fn shortest_paths_match_petgraph(
        (pts, raw) in network(),
        s in any::<prop::sample::Index>(),
        polys in prop::collection::vec((BOX.0..BOX.2, BOX.1..BOX.3, 0.002f64..0.05, any::<bool>()), 0..3),
        time in any::<bool>(),
    ) {
        let n = pts.len();
        let segs: Vec<(u32, u32, WayAttrs)> = raw.iter().map(|&(a, b, c, d)| (a, b, attrs(c, d))).collect();
        let net = RoadNetwork::from_parts(pts.clone(), segs).unwrap();
        let polygons: Vec<MultiPolygon<f64>> = polys
            .iter()
            .map(|&(x, y, h, hole)| if hole { with_hole(x, y, h) } else { square(x, y, h) })
            .collect();
        let avoid = AvoidSet::new(&net, polygons.clone()).unwrap();
        let metric = if time { Metric::Time } else { Metric::Distance };
        let mut g = RoadGraph::build(&net, Profile::Car, metric);
        if s.index(2) == 1 {
            // ALT landmarks must keep every answer exact, with or without avoid
            // areas, whether all of them or only the best few are consulted.
            g.add_landmarks(if time { 3 } else { 1 + s.index(60) });
        }

        // Reference graph, written from the segments directly.
        let mut pg = DiGraph::<(), f64>::new();
        let ids: Vec<_> = (0..n).map(|_| pg.add_node(())).collect();
        for e in net.edges() {
            let l = Line::new(Coord { x: pts[e.a as usize][0], y: pts[e.a as usize][1] },
                              Coord { x: pts[e.b as usize][0], y: pts[e.b as usize][1] });
            if polygons.iter().any(|p| p.intersects(&l)) {
                continue;
            }
            let d = geodesic_m(pts[e.a as usize], pts[e.b as usize]);
            let w = if time { d / (Profile::Car.speed_kmh(e.class, e.maxspeed_kmh) / 3.6) } else { d };
            if e.flags & Profile::Car.forward_bit() != 0 {
                pg.add_edge(ids[e.a as usize], ids[e.b as usize], w);
            }
            if e.flags & Profile::Car.backward_bit() != 0 {
                pg.add_edge(ids[e.b as usize], ids[e.a as usize], w);
            }
        }
        let src = s.index(n) as u32;
        let want = petgraph::algo::dijkstra(&pg, ids[src as usize], None, |e| *e.weight());
        let mut search = Search::default();
        // The customizable contraction hierarchy: one order for the network,
        // one customization for this avoid set (and one without it, to show
        // a customization never leaks into the next).
        let cch = Cch::build(&g, &net, u64::MAX).expect("no budget limit");
        let _ = cch.customize(&g, &AvoidSet::empty());
        let metric_cch = cch.customize(&g, &avoid);
        let mut cs = CchSearch::default();
        for t in 0..n as u32 {
            let got = g.shortest_path(src, t, &avoid, &mut search).map(|(c, _, _)| c);
            let exp = want.get(&ids[t as usize]).copied();
            match (got, exp) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() <= 1e-9 * a.max(b).max(1.0), "{a} vs {b}"),
                (None, None) => {}
                other => prop_assert!(false, "{src}->{t}: {other:?}"),
            }
            let got = cch.shortest_path(&g, &metric_cch, src, t, &mut cs);
            match (&got, exp) {
                (Some((a, arcs, _)), Some(b)) => {
                    prop_assert!((a - b).abs() <= 1e-9 * a.max(b).max(1.0), "cch {src}->{t}: {a} vs {b}");
                    // The unpacked arcs form a walk from src to t on unblocked segments.
                    let mut at = src;
                    for &k in arcs {
                        let (head, seg) = g.arc_target(k);
                        prop_assert!(g.arcs(at).any(|(h, _, sg)| h == head && sg == seg), "arc {k} does not leave {at}");
                        prop_assert!(!avoid.is_blocked(seg));
                        at = head;
                    }
                    prop_assert_eq!(at, t);
                }
                (None, None) => {}
                other => prop_assert!(false, "cch {src}->{t}: {other:?}"),
            }
        }
    }

    /// Snapping picks the geodesically nearest node with a usable road (linear scan).
    #[test]
    fn snapping_matches_linear_scan((pts, raw) in network(), q in (BOX.0 - 0.1..BOX.2 + 0.1, BOX.1 - 0.1..BOX.3 + 0.1)) {
        let segs: Vec<(u32, u32, WayAttrs)> = raw.iter().map(|&(a, b, c, d)| (a, b, attrs(c, d))).collect();
        let net = RoadNetwork::from_parts(pts.clone(), segs).unwrap();
        let g = RoadGraph::build(&net, Profile::Car, Metric::Distance);
        let p = [q.0, q.1];
        let mut used = vec![false; pts.len()];
        for e in net.edges() { used[e.a as usize] = true; used[e.b as usize] = true; }
        let best = (0..pts.len()).filter(|&i| used[i]).map(|i| geodesic_m(p, pts[i])).fold(f64::INFINITY, f64::min);
        match g.snap(&net, p) {
            Some(s) => prop_assert_eq!(s.distance_m, best),
            None => prop_assert!(best.is_infinite()),
        }
    }

    /// Random bytes never panic the asset decoder or the GeoJSON readers.
    #[test]
    fn garbage_is_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,200}") {
        let mut b = b"TRUCERN1".to_vec();
        b.extend_from_slice(&bytes);
        let _ = RoadNetwork::from_bytes(&b);
        let _ = RoadNetwork::from_bytes(&bytes);
        let _ = truce_geo::polygons_from_geojson(&text);
        let _ = truce_geo::roads_from_geojson(&text, &Default::default());
    }
}

#[test]
fn invalid_avoid_polygons_are_refused() {
    let net =
        RoadNetwork::from_parts(vec![[46.0, 39.5], [46.1, 39.6]], [(0, 1, attrs(0, 0))]).unwrap();
    let bowtie = MultiPolygon::new(vec![Polygon::new(
        vec![
            (46.0, 39.5),
            (46.1, 39.6),
            (46.1, 39.5),
            (46.0, 39.6),
            (46.0, 39.5),
        ]
        .into(),
        vec![],
    )]);
    assert!(AvoidSet::new(&net, vec![bowtie]).is_err());
    let nan = square(f64::NAN, 39.5, 0.1);
    assert!(AvoidSet::new(&net, vec![nan]).is_err());
    let line_like = MultiPolygon::new(vec![Polygon::new(
        vec![(46.0, 39.5), (46.1, 39.6), (46.0, 39.5)].into(),
        vec![],
    )]);
    assert!(AvoidSet::new(&net, vec![line_like]).is_err());
    assert!(AvoidSet::new(&net, vec![MultiPolygon::new(vec![])]).is_err());
    assert!(truce_geo::polygons_from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
    assert!(
        truce_geo::polygons_from_geojson(r#"{"type":"Polygon","coordinates":[[[1,2],[3]]]}"#)
            .is_err()
    );
    assert!(RoadNetwork::from_parts(vec![[200.0, 0.0]], []).is_err());
    assert!(RoadNetwork::from_parts(vec![[1.0, 0.0]], [(0, 5, attrs(0, 0))]).is_err());
}
