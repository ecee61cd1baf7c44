//! Routing on the real OpenStreetMap extract of Andorra (../shared/data/osm),
//! checked against an independent reference: the car rules re-implemented
//! here over the raw PBF, a petgraph graph keyed by OSM node id, and
//! petgraph's Dijkstra.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use geo::{Coord, Intersects, Line, MultiPolygon, Polygon, polygon};
use petgraph::graph::{DiGraph, NodeIndex};
use truce_geo::{
    AvoidSet, Cch, CchSearch, Metric, NoRoute, Profile, RoadGraph, RoadNetwork, Search, geodesic_m,
};

const PBF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/osm/andorra.osm.pbf"
);

const ANDORRA_LA_VELLA: [f64; 2] = [1.5218, 42.5063];
const ENCAMP: [f64; 2] = [1.5801, 42.5347];
const CANILLO: [f64; 2] = [1.5979, 42.5676];
const SANT_JULIA: [f64; 2] = [1.4913, 42.4637];
const LA_MASSANA: [f64; 2] = [1.5148, 42.5450];
const ORDINO: [f64; 2] = [1.5332, 42.5556];
const PAS_DE_LA_CASA: [f64; 2] = [1.7336, 42.5425];
const SOLDEU: [f64; 2] = [1.6676, 42.5766];
const PLACES: [[f64; 2]; 7] = [
    ANDORRA_LA_VELLA,
    ENCAMP,
    CANILLO,
    LA_MASSANA,
    ORDINO,
    PAS_DE_LA_CASA,
    SOLDEU,
];

fn net() -> &'static RoadNetwork {
    static NET: OnceLock<RoadNetwork> = OnceLock::new();
    NET.get_or_init(|| RoadNetwork::from_pbf(Path::new(PBF), &mut |_, _| {}).expect("andorra"))
}

fn graph(metric: Metric) -> &'static RoadGraph {
    static D: OnceLock<RoadGraph> = OnceLock::new();
    static T: OnceLock<RoadGraph> = OnceLock::new();
    match metric {
        Metric::Distance => D.get_or_init(|| RoadGraph::build(net(), Profile::Car, metric)),
        Metric::Time => T.get_or_init(|| RoadGraph::build(net(), Profile::Car, metric)),
    }
}

/// The same graph with 64 ALT landmarks (four blocks of 16, three consulted per query).
fn graph_alt(metric: Metric) -> &'static RoadGraph {
    static D: OnceLock<RoadGraph> = OnceLock::new();
    static T: OnceLock<RoadGraph> = OnceLock::new();
    let build = || {
        let mut g = RoadGraph::build(net(), Profile::Car, metric);
        g.add_landmarks(64);
        g
    };
    match metric {
        Metric::Distance => D.get_or_init(build),
        Metric::Time => T.get_or_init(build),
    }
}

/// The reference: every car-usable segment, keyed by OSM node ids, written
/// straight from the rules in the issue.
struct Reference {
    graph: DiGraph<[f64; 2], f64>,
    by_coord: HashMap<(u64, u64), NodeIndex>,
    segments: Vec<([f64; 2], [f64; 2])>,
}

fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        use osmpbf::{Element, ElementReader};
        const USABLE: [&str; 16] = [
            "motorway",
            "motorway_link",
            "trunk",
            "trunk_link",
            "primary",
            "primary_link",
            "secondary",
            "secondary_link",
            "tertiary",
            "tertiary_link",
            "unclassified",
            "residential",
            "living_street",
            "service",
            "road",
            "track",
        ];
        let mut ways: Vec<(Vec<i64>, bool, bool)> = Vec::new();
        let mut coords: HashMap<i64, [f64; 2]> = HashMap::new();
        ElementReader::from_path(PBF)
            .unwrap()
            .for_each(|el| match el {
                Element::Way(w) => {
                    let t: HashMap<&str, &str> = w.tags().collect();
                    let Some(hw) = t.get("highway") else { return };
                    if !USABLE.contains(hw) {
                        return;
                    }
                    for k in ["access", "motor_vehicle", "motorcar"] {
                        if matches!(t.get(k), Some(&"no") | Some(&"private")) {
                            return;
                        }
                    }
                    if t.get("area") == Some(&"yes") {
                        return;
                    }
                    let (fwd, bwd) = match t.get("oneway").copied() {
                        Some("yes") | Some("true") | Some("1") => (true, false),
                        Some("-1") => (false, true),
                        Some("no") => (true, true),
                        _ if t.get("junction") == Some(&"roundabout")
                            || *hw == "motorway"
                            || *hw == "motorway_link" =>
                        {
                            (true, false)
                        }
                        _ => (true, true),
                    };
                    ways.push((w.refs().collect(), fwd, bwd));
                }
                Element::Node(n) => {
                    coords.insert(n.id(), [n.lon(), n.lat()]);
                }
                Element::DenseNode(n) => {
                    coords.insert(n.id(), [n.lon(), n.lat()]);
                }
                _ => {}
            })
            .unwrap();
        let mut graph = DiGraph::new();
        let mut index: HashMap<i64, NodeIndex> = HashMap::new();
        let mut by_coord = HashMap::new();
        let mut segments = Vec::new();
        for (refs, fwd, bwd) in &ways {
            for w in refs.windows(2) {
                let (Some(&a), Some(&b)) = (coords.get(&w[0]), coords.get(&w[1])) else {
                    continue;
                };
                if w[0] == w[1] {
                    continue;
                }
                let mut node = |id: i64, c: [f64; 2]| {
                    *index.entry(id).or_insert_with(|| {
                        let n = graph.add_node(c);
                        by_coord.insert((c[0].to_bits(), c[1].to_bits()), n);
                        n
                    })
                };
                let (na, nb) = (node(w[0], a), node(w[1], b));
                let d = geodesic_m(a, b);
                if *fwd {
                    graph.add_edge(na, nb, d);
                }
                if *bwd {
                    graph.add_edge(nb, na, d);
                }
                segments.push((a, b));
            }
        }
        Reference {
            graph,
            by_coord,
            segments,
        }
    })
}

fn reference_cost(from: [f64; 2], to: [f64; 2], avoid: &[MultiPolygon<f64>]) -> Option<f64> {
    let r = reference();
    let blocked = |a: [f64; 2], b: [f64; 2]| {
        let l = Line::new(Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
        avoid.iter().any(|p| p.intersects(&l))
    };
    let mut g = r.graph.clone();
    g.retain_edges(|g, e| {
        let (a, b) = g.edge_endpoints(e).unwrap();
        !blocked(g[a], g[b])
    });
    let s = r.by_coord[&(from[0].to_bits(), from[1].to_bits())];
    let t = r.by_coord[&(to[0].to_bits(), to[1].to_bits())];
    let costs = petgraph::algo::dijkstra(&g, s, Some(t), |e| *e.weight());
    costs.get(&t).copied()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

fn route(
    from: [f64; 2],
    to: [f64; 2],
    metric: Metric,
    avoid: &AvoidSet,
) -> Result<truce_geo::Route, NoRoute> {
    graph(metric).route(net(), from, to, avoid, &mut Search::default())
}

#[test]
fn network_has_the_extracts_roads() {
    let n = net();
    assert_eq!(n.node_count(), 38_321);
    assert_eq!(n.edge_count(), 38_746);
    assert_eq!(
        reference().segments.len(),
        n.edges()
            .iter()
            .filter(|e| e.usable_by(Profile::Car))
            .count()
    );
}

#[test]
fn known_od_pairs_have_known_distances() {
    // (origin, destination, metres): shortest car distance between the
    // nearest road nodes, checked against the petgraph reference below.
    let known = [
        (ANDORRA_LA_VELLA, ENCAMP, 6629.381),
        (ANDORRA_LA_VELLA, PAS_DE_LA_CASA, 32653.462),
        (LA_MASSANA, ORDINO, 2310.378),
        (CANILLO, SOLDEU, 7490.860),
        (PAS_DE_LA_CASA, SOLDEU, 13822.067),
    ];
    for (a, b, m) in known {
        let r = route(a, b, Metric::Distance, &AvoidSet::empty()).unwrap();
        assert!(
            (r.distance_m - m).abs() < 0.001,
            "{a:?}->{b:?}: {} vs {m}",
            r.distance_m
        );
        assert_eq!(r.cost, r.distance_m);
        assert!(r.from.distance_m < 50.0 && r.to.distance_m < 50.0);
        let geom = r.geometry();
        assert_eq!(geom["type"], "LineString");
        assert_eq!(geom["coordinates"].as_array().unwrap().len(), r.nodes.len());
    }
}

#[test]
fn distances_equal_the_independent_reference() {
    for a in PLACES {
        for b in PLACES {
            if a == b {
                continue;
            }
            let r = route(a, b, Metric::Distance, &AvoidSet::empty()).unwrap();
            let want = reference_cost(r.from.coord, r.to.coord, &[]).unwrap();
            assert!(
                rel(r.distance_m, want) < 1e-9,
                "{a:?}->{b:?}: {} vs {want}",
                r.distance_m
            );
            // The geometry's own geodesic length is the distance.
            let len: f64 = r.coords.windows(2).map(|w| geodesic_m(w[0], w[1])).sum();
            assert!(rel(len, r.distance_m) < 1e-9);
        }
    }
}

#[test]
fn time_metric_is_faster_but_not_shorter() {
    for (a, b) in [(ANDORRA_LA_VELLA, PAS_DE_LA_CASA), (ORDINO, SOLDEU)] {
        let d = route(a, b, Metric::Distance, &AvoidSet::empty()).unwrap();
        let t = route(a, b, Metric::Time, &AvoidSet::empty()).unwrap();
        assert!(t.duration_s <= d.duration_s + 1e-9);
        assert!(t.distance_m >= d.distance_m - 1e-9);
        assert_eq!(t.cost, t.duration_s);
    }
}

fn square(center: [f64; 2], half_deg: f64) -> MultiPolygon<f64> {
    let (x, y, h) = (center[0], center[1], half_deg);
    MultiPolygon::new(vec![polygon![
        (x: x - h, y: y - h),
        (x: x + h, y: y - h),
        (x: x + h, y: y + h),
        (x: x - h, y: y + h),
        (x: x - h, y: y - h),
    ]])
}

#[test]
fn avoid_polygons_reroute_exactly() {
    let base = route(
        ANDORRA_LA_VELLA,
        CANILLO,
        Metric::Distance,
        &AvoidSet::empty(),
    )
    .unwrap();
    // Block a small square on the middle of the shortest route.
    let mid = base.coords[base.coords.len() / 2];
    let polys = vec![square(mid, 0.0015)];
    let avoid = AvoidSet::new(net(), polys.clone()).unwrap();
    assert!(avoid.blocked_count() > 0);
    let r = route(ANDORRA_LA_VELLA, CANILLO, Metric::Distance, &avoid).unwrap();
    assert!(r.distance_m > base.distance_m);
    let want = reference_cost(r.from.coord, r.to.coord, &polys).unwrap();
    assert!(rel(r.distance_m, want) < 1e-9, "{} vs {want}", r.distance_m);
    for w in r.coords.windows(2) {
        let l = Line::new(
            Coord {
                x: w[0][0],
                y: w[0][1],
            },
            Coord {
                x: w[1][0],
                y: w[1][1],
            },
        );
        assert!(!polys[0].intersects(&l));
    }
}

#[test]
fn no_route_says_why() {
    // The nearest road node to Sant Julià's centre is on a fragment that cars cannot leave.
    let e = route(
        ANDORRA_LA_VELLA,
        SANT_JULIA,
        Metric::Distance,
        &AvoidSet::empty(),
    )
    .unwrap_err();
    assert_eq!(e, NoRoute::Disconnected);
    // Origin inside an avoid area.
    let avoid = AvoidSet::new(net(), vec![square(ANDORRA_LA_VELLA, 0.002)]).unwrap();
    let e = route(ANDORRA_LA_VELLA, ENCAMP, Metric::Distance, &avoid).unwrap_err();
    assert_eq!(e, NoRoute::OriginInAvoidArea(0));
    let e = route(ENCAMP, ANDORRA_LA_VELLA, Metric::Distance, &avoid).unwrap_err();
    assert_eq!(e, NoRoute::DestinationInAvoidArea(0));
    // A band across the whole country between Encamp and Canillo.
    let band = MultiPolygon::new(vec![Polygon::new(
        vec![
            (0.9, 42.548),
            (2.0, 42.548),
            (2.0, 42.552),
            (0.9, 42.552),
            (0.9, 42.548),
        ]
        .into(),
        vec![],
    )]);
    let avoid = AvoidSet::new(net(), vec![band]).unwrap();
    let e = route(ENCAMP, CANILLO, Metric::Distance, &avoid).unwrap_err();
    assert_eq!(e, NoRoute::BlockedByAvoidAreas);
    assert_eq!(
        route(
            [f64::NAN, 1.0],
            ENCAMP,
            Metric::Distance,
            &AvoidSet::empty()
        )
        .unwrap_err(),
        NoRoute::InvalidPoint("origin")
    );
}

#[test]
fn stored_bytes_reload_to_the_same_routes() {
    let bytes = net().to_bytes();
    let back = RoadNetwork::from_bytes(&bytes).unwrap();
    assert_eq!(back.edges(), net().edges());
    let g = RoadGraph::build(&back, Profile::Car, Metric::Distance);
    let r = g
        .route(
            &back,
            ORDINO,
            PAS_DE_LA_CASA,
            &AvoidSet::empty(),
            &mut Search::default(),
        )
        .unwrap();
    let want = route(ORDINO, PAS_DE_LA_CASA, Metric::Distance, &AvoidSet::empty()).unwrap();
    assert_eq!(r.distance_m.to_bits(), want.distance_m.to_bits());
    assert!(RoadNetwork::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(RoadNetwork::from_bytes(b"garbage").is_err());
}

#[test]
fn other_profiles_route() {
    for p in [Profile::Truck, Profile::FourByFour, Profile::Foot] {
        let g = RoadGraph::build(net(), p, Metric::Time);
        let r = g
            .route(
                net(),
                ANDORRA_LA_VELLA,
                ENCAMP,
                &AvoidSet::empty(),
                &mut Search::default(),
            )
            .unwrap();
        assert!(
            r.distance_m > 5000.0 && r.distance_m < 20000.0,
            "{p}: {}",
            r.distance_m
        );
    }
}

/// The customizable contraction hierarchy gives the reference's distances
/// between the towns, with and without avoid polygons (one customization
/// per avoid set, on one order), and A*'s costs (plain and with 64 ALT
/// landmarks) on random node pairs under random avoid polygons, for both metrics.
#[test]
fn contraction_hierarchy_equals_reference_and_astar() {
    use rand::{Rng, SeedableRng};
    for metric in [Metric::Distance, Metric::Time] {
        let g = graph(metric);
        let cch = Cch::build(g, net(), u64::MAX).expect("no budget limit");
        // A road network has small separators: few triangles per node.
        assert!(
            cch.triangle_count() < 200 * net().node_count() as u64,
            "{} triangles",
            cch.triangle_count()
        );
        let mut cs = CchSearch::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for round in 0..4 {
            let polys: Vec<MultiPolygon<f64>> = (0..round * 15)
                .map(|_| {
                    let v = rng.gen_range(0..net().node_count() as u32);
                    square(net().coord(v), rng.gen_range(0.0005..0.003))
                })
                .collect();
            let avoid = AvoidSet::new(net(), polys.clone()).unwrap();
            let m = cch.customize(g, &avoid);
            if metric == Metric::Distance {
                for a in PLACES {
                    for b in PLACES {
                        let (Some(sa), Some(sb)) = (g.snap(net(), a), g.snap(net(), b)) else {
                            panic!("snap")
                        };
                        let got = cch.shortest_path(g, &m, sa.node, sb.node, &mut cs);
                        let want = reference_cost(sa.coord, sb.coord, &polys);
                        match (got, want) {
                            (Some((c, _, _)), Some(w)) => {
                                assert!(rel(c, w) < 1e-9, "{a:?}->{b:?}: {c} vs {w}")
                            }
                            (None, None) => {}
                            other => panic!("{a:?}->{b:?}: {other:?}"),
                        }
                    }
                }
            }
            let mut search = Search::default();
            for _ in 0..60 {
                let (s, t) = (
                    rng.gen_range(0..net().node_count() as u32),
                    rng.gen_range(0..net().node_count() as u32),
                );
                let got = cch.shortest_path(g, &m, s, t, &mut cs).map(|r| r.0);
                let want = g.shortest_path(s, t, &avoid, &mut search).map(|r| r.0);
                match (got, want) {
                    (Some(c), Some(w)) => assert!(rel(c, w) < 1e-9, "{s}->{t}: {c} vs {w}"),
                    (None, None) => {}
                    other => panic!("{s}->{t}: {other:?}"),
                }
                let alt = graph_alt(metric).shortest_path(s, t, &avoid, &mut search);
                match (got, alt.map(|r| r.0)) {
                    (Some(c), Some(w)) => assert!(rel(c, w) < 1e-9, "ALT {s}->{t}: {c} vs {w}"),
                    (None, None) => {}
                    other => panic!("ALT {s}->{t}: {other:?}"),
                }
            }
        }
    }
}
