//! Road networks from GeoJSON LineStrings (such as roads decoded from
//! vector tiles, where lines join only where they share an end point).
//!
//! Noding, in three steps:
//! 1. line **end points** closer than `snap_m` metres are merged (union-find;
//!    the cluster takes the coordinate of its first member);
//! 2. an end point within `snap_m` of the **interior** of another segment is
//!    inserted into that segment (T-junctions);
//! 3. segments that **cross** are split at the crossing point, which becomes a
//!    shared node of both.
//!
//! What this approximates: the source lines carry no levels, bridges or
//! tunnels, so every crossing becomes a junction. Overpasses and bridges
//! therefore become false junctions where a real vehicle could not turn, and
//! routes may be a little shorter than reality there. Merging end points
//! within a few metres may also join two dead ends that are in fact not
//! connected.

use std::collections::HashMap;

use geo::{Coord, Line};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Line as RLine};
use serde_json::Value;

use crate::error::GeoError;
use crate::geojson_io::{geometries, lines};
use crate::geom::{closest_on_segment, expand_box, validate_linestring};
use crate::network::{RoadNetwork, geodesic_m};
use crate::profile::{WayAttrs, way_attrs};

/// Options of the GeoJSON road import.
#[derive(Debug, Clone)]
pub struct GeoJsonRoadOptions {
    /// End points closer than this (metres) are joined.
    pub snap_m: f64,
    /// Split lines where they cross.
    pub split_crossings: bool,
}

impl Default for GeoJsonRoadOptions {
    fn default() -> Self {
        GeoJsonRoadOptions {
            snap_m: 5.0,
            split_crossings: true,
        }
    }
}

/// Maps OpenMapTiles `class` values (and OSM `highway` values) to OSM highway values.
fn highway_of(props: &Value) -> Option<String> {
    let class = props
        .get("highway")
        .or_else(|| props.get("class"))
        .and_then(Value::as_str)?;
    Some(
        match class {
            "minor" => "unclassified",
            "busway" | "raceway" => return None,
            other => other,
        }
        .to_string(),
    )
}

fn tag_of(props: &Value, highway: &str, key: &str) -> Option<String> {
    if key == "highway" {
        return Some(highway.to_string());
    }
    match props.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes".into() } else { "no".into() }),
        _ => None,
    }
}

/// A segment of line `.0`, number `.1`.
type SegEntry = GeomWithData<RLine<[f64; 2]>, (u32, u32)>;
/// A point inserted into a segment at parameter `.0`.
type Insert = (f64, Coord<f64>);

struct Dsu(Vec<u32>);
impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = p;
            x = p;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Builds a road network from GeoJSON LineStrings/MultiLineStrings whose
/// properties carry `highway` or `class` (OpenMapTiles), and optionally
/// `oneway`, `maxspeed`, `access`; see the module documentation for noding.
pub fn roads_from_geojson(text: &str, opts: &GeoJsonRoadOptions) -> Result<RoadNetwork, GeoError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| GeoError::GeoJson(e.to_string()))?;
    let mut roads: Vec<(Vec<Coord<f64>>, WayAttrs)> = Vec::new();
    for (g, props) in geometries(&doc)? {
        let Some(highway) = highway_of(props) else {
            continue;
        };
        let tags: Vec<(&str, Option<String>)> = [
            "highway",
            "oneway",
            "junction",
            "maxspeed",
            "access",
            "motor_vehicle",
            "motorcar",
            "area",
            "foot",
            "hgv",
            "maxweight",
            "maxheight",
        ]
        .into_iter()
        .map(|k| (k, tag_of(props, &highway, k)))
        .collect();
        let Some(attrs) = way_attrs(|k| {
            tags.iter()
                .find(|(kk, _)| *kk == k)
                .and_then(|(_, v)| v.as_deref())
        }) else {
            continue;
        };
        for ls in lines(g)? {
            validate_linestring(&ls)?;
            let mut pts: Vec<Coord<f64>> = ls.0;
            pts.dedup();
            if pts.len() >= 2 {
                roads.push((pts, attrs));
            }
        }
    }
    if roads.is_empty() {
        return Err(GeoError::EmptyNetwork);
    }
    let snap = opts.snap_m.max(0.0);

    // 1. Merge end points within snap_m.
    let ends: Vec<[f64; 2]> = roads
        .iter()
        .flat_map(|(p, _)| [p[0], p[p.len() - 1]])
        .map(|c| [c.x, c.y])
        .collect();
    let tree = RTree::bulk_load(
        ends.iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(*p, i as u32))
            .collect::<Vec<_>>(),
    );
    let mut dsu = Dsu((0..ends.len() as u32).collect());
    for (i, p) in ends.iter().enumerate() {
        let (min, max) = expand_box(*p, *p, snap);
        for q in tree.locate_in_envelope(&AABB::from_corners(min, max)) {
            if q.data as usize > i && geodesic_m(*p, *q.geom()) <= snap {
                dsu.union(i as u32, q.data);
            }
        }
    }
    for (k, (pts, _)) in roads.iter_mut().enumerate() {
        let last = pts.len() - 1;
        for (slot, idx) in [(0usize, 2 * k), (last, 2 * k + 1)] {
            let r = dsu.find(idx as u32) as usize;
            pts[slot] = Coord {
                x: ends[r][0],
                y: ends[r][1],
            };
        }
        pts.dedup();
        if pts.len() < 2 {
            pts.push(pts[0]); // a degenerate line; dropped below as zero-length
        }
    }

    // Segment index over the snapped lines.
    let seg_tree: RTree<SegEntry> = RTree::bulk_load(
        roads
            .iter()
            .enumerate()
            .flat_map(|(k, (pts, _))| {
                pts.windows(2).enumerate().map(move |(j, w)| {
                    GeomWithData::new(
                        RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]),
                        (k as u32, j as u32),
                    )
                })
            })
            .collect(),
    );
    // Points to insert into segments: (line, segment) -> [(t, coord)].
    let mut inserts: HashMap<(u32, u32), Vec<Insert>> = HashMap::new();
    let param = |a: Coord<f64>, b: Coord<f64>, p: Coord<f64>| -> f64 {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let l2 = dx * dx + dy * dy;
        if l2 > 0.0 {
            ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2
        } else {
            0.0
        }
    };

    // 2. End points near the interior of another segment.
    let mut reps: Vec<usize> = (0..ends.len())
        .filter(|&i| dsu.find(i as u32) as usize == i)
        .collect();
    reps.sort_unstable();
    for r in reps {
        let p = Coord {
            x: ends[r][0],
            y: ends[r][1],
        };
        let (min, max) = expand_box(ends[r], ends[r], snap);
        let mut best: Option<(f64, (u32, u32), Coord<f64>)> = None;
        for s in seg_tree.locate_in_envelope_intersecting(&AABB::from_corners(min, max)) {
            let [a, b] = [s.geom().from, s.geom().to];
            let (a, b) = (Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
            if a == p || b == p {
                continue;
            }
            let c = closest_on_segment(p, a, b);
            let d = geodesic_m(ends[r], [c.x, c.y]);
            if d <= snap && best.is_none_or(|(bd, _, _)| d < bd) {
                best = Some((d, s.data, c));
            }
        }
        if let Some((_, seg, c)) = best {
            let (pts, _) = &roads[seg.0 as usize];
            let (a, b) = (pts[seg.1 as usize], pts[seg.1 as usize + 1]);
            // At a vertex of that segment: the vertex is kept and the end point
            // is linked to it by a short connector; otherwise the end point
            // itself is inserted into the segment.
            let t = param(a, b, c);
            if geodesic_m([a.x, a.y], [c.x, c.y]) < 1e-3
                || geodesic_m([b.x, b.y], [c.x, c.y]) < 1e-3
            {
                let v = if t < 0.5 { a } else { b };
                roads.push((vec![p, v], roads[seg.0 as usize].1));
            } else {
                inserts
                    .entry(seg)
                    .or_default()
                    .push((param(a, b, p).clamp(0.0, 1.0), p));
            }
        }
    }

    // 3. Crossings.
    if opts.split_crossings {
        for (s1, s2) in seg_tree.intersection_candidates_with_other_tree(&seg_tree) {
            if s1.data >= s2.data {
                continue;
            }
            let (g1, g2) = (s1.geom(), s2.geom());
            let l1 = Line::new(
                Coord {
                    x: g1.from[0],
                    y: g1.from[1],
                },
                Coord {
                    x: g1.to[0],
                    y: g1.to[1],
                },
            );
            let l2 = Line::new(
                Coord {
                    x: g2.from[0],
                    y: g2.from[1],
                },
                Coord {
                    x: g2.to[0],
                    y: g2.to[1],
                },
            );
            let Some(geo::LineIntersection::SinglePoint { intersection, .. }) =
                geo::line_intersection::line_intersection(l1, l2)
            else {
                continue;
            };
            // Prefer an existing vertex's exact coordinate so nodes merge exactly.
            let mut x = intersection;
            for v in [l1.start, l1.end, l2.start, l2.end] {
                if (v.x - x.x).abs() < 1e-9 && (v.y - x.y).abs() < 1e-9 {
                    x = v;
                }
            }
            for (seg, l) in [(s1.data, l1), (s2.data, l2)] {
                if x != l.start && x != l.end {
                    inserts
                        .entry(seg)
                        .or_default()
                        .push((param(l.start, l.end, x).clamp(0.0, 1.0), x));
                }
            }
        }
    }

    // Final vertices; nodes are identified by exact coordinates.
    let mut node_of: HashMap<(u64, u64), u32> = HashMap::new();
    let mut nodes: Vec<[f64; 2]> = Vec::new();
    let mut id = |c: Coord<f64>| -> u32 {
        let next = nodes.len() as u32;
        *node_of
            .entry((c.x.to_bits(), c.y.to_bits()))
            .or_insert_with(|| {
                nodes.push([c.x, c.y]);
                next
            })
    };
    let mut segments = Vec::new();
    for (k, (pts, attrs)) in roads.iter().enumerate() {
        let mut chain = vec![pts[0]];
        for j in 0..pts.len() - 1 {
            if let Some(ins) = inserts.get_mut(&(k as u32, j as u32)) {
                ins.sort_by(|a, b| a.0.total_cmp(&b.0));
                chain.extend(ins.iter().map(|(_, c)| *c));
            }
            chain.push(pts[j + 1]);
        }
        chain.dedup();
        let ids: Vec<u32> = chain.iter().map(|c| id(*c)).collect();
        for w in ids.windows(2) {
            if w[0] != w[1] {
                segments.push((w[0], w[1], *attrs));
            }
        }
    }

    RoadNetwork::from_parts(nodes, segments)
}
