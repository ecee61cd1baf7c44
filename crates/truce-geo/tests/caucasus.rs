//! The demo region's real road lines (../shared/data/roads), noded into a graph.

use std::sync::OnceLock;

use truce_geo::{
    AvoidSet, GeoJsonRoadOptions, Metric, Profile, RoadGraph, RoadNetwork, Search,
    roads_from_geojson,
};

const ROADS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/roads/caucasus_roads.geojson"
);

const GORIS: [f64; 2] = [46.338, 39.507];
const LACHIN: [f64; 2] = [46.550, 39.637];
const STEPANAKERT: [f64; 2] = [46.752, 39.815];
const AGDAM: [f64; 2] = [46.927, 39.991];

fn net() -> &'static RoadNetwork {
    static NET: OnceLock<RoadNetwork> = OnceLock::new();
    NET.get_or_init(|| {
        let text = std::fs::read_to_string(ROADS).expect("caucasus roads");
        roads_from_geojson(&text, &GeoJsonRoadOptions::default()).expect("noding")
    })
}

fn km(a: [f64; 2], b: [f64; 2]) -> f64 {
    let g = RoadGraph::build(net(), Profile::Car, Metric::Distance);
    g.route(net(), a, b, &AvoidSet::empty(), &mut Search::default())
        .unwrap_or_else(|e| panic!("{a:?}->{b:?}: {e}"))
        .distance_m
        / 1000.0
}

#[test]
fn noded_network_has_the_documented_road_distances() {
    let n = net();
    // 17,139 km of lines in the file; noding keeps every metre.
    let total = n.length_m(Profile::Car) / 1000.0;
    assert!((total - 17_139.0).abs() < 200.0, "{total} km");
    // Distances from the data README (after noding): 48, 47, 95, 28 km.
    for (a, b, want) in [
        (GORIS, LACHIN, 48.0),
        (LACHIN, STEPANAKERT, 47.0),
        (GORIS, STEPANAKERT, 95.0),
        (STEPANAKERT, AGDAM, 28.0),
    ] {
        let got = km(a, b);
        eprintln!("{a:?}->{b:?}: {got:.2} km");
        assert!(
            (got - want).abs() <= want * 0.05,
            "{a:?}->{b:?}: {got} km, README says {want}"
        );
    }
}

#[test]
fn crossings_are_split_and_stored_bytes_reload() {
    let n = net();
    let bytes = n.to_bytes();
    let back = RoadNetwork::from_bytes(&bytes).unwrap();
    assert_eq!(back.edges(), n.edges());
    // Without splitting, a T-junction in the middle of a line is no vertex:
    // the network is much less connected.
    let text = std::fs::read_to_string(ROADS).unwrap();
    let raw = roads_from_geojson(
        &text,
        &GeoJsonRoadOptions {
            snap_m: 0.0,
            split_crossings: false,
        },
    )
    .unwrap();
    assert!(raw.node_count() < n.node_count());
}
