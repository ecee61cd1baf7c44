//! The convoy route check (moved here from truce-core when it started to
//! use the hazard and incident indexes): same cases, same expectations.

use geo::{LineString, MultiPolygon};
use truce_core::logistics::Obstacle;
use truce_geo::check_route;
use uuid::Uuid;

#[test]
fn route_check_blocks_crossed_areas_and_lists_near_ones() {
    let route = LineString::from(vec![(46.0, 39.5), (46.1, 39.5)]);
    let square = |x: f64, y: f64, s: f64| {
        MultiPolygon::new(vec![geo::Polygon::new(
            LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
            vec![],
        )])
    };
    let obstacles = vec![
        Obstacle::Area {
            id: Uuid::from_u128(1),
            label: "across".into(),
            polygon: square(46.05, 39.499, 0.002),
        },
        // ~333 m north of the road.
        Obstacle::Area {
            id: Uuid::from_u128(2),
            label: "near".into(),
            polygon: square(46.02, 39.503, 0.002),
        },
        Obstacle::Area {
            id: Uuid::from_u128(3),
            label: "far".into(),
            polygon: square(46.02, 39.6, 0.002),
        },
        Obstacle::Point {
            id: Uuid::from_u128(4),
            label: "shelling".into(),
            lon: 46.07,
            lat: 39.501,
        },
    ];
    let hits = check_route(&route, &obstacles, 500.0);
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits[0].blocking && hits[0].label == "across");
    let near = hits.iter().find(|h| h.label == "near").unwrap();
    assert!(
        !near.blocking && (300.0..370.0).contains(&near.distance_m),
        "{near:?}"
    );
    let inc = hits.iter().find(|h| h.kind == "incident").unwrap();
    assert!((100.0..120.0).contains(&inc.distance_m), "{inc:?}");
}
