//! The road network: every road node and every segment between two
//! consecutive nodes of a way, with the way's class, `maxspeed` and
//! per-profile direction flags. Profile-independent; a [`crate::RoadGraph`]
//! is built from it for one profile and metric.
//!
//! Stored with the mission as a compact binary asset ([`RoadNetwork::to_bytes`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use geo::{Distance, Geodesic, Point};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Line as RLine};

use crate::error::GeoError;
use crate::profile::{Profile, RoadClass, WayAttrs, way_attrs};

/// One road segment between two nodes, usable in the directions its flags say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// First node (the way's direction goes `a` → `b`).
    pub a: u32,
    /// Second node.
    pub b: u32,
    /// WGS84 geodesic length in metres.
    pub dist_m: f64,
    /// Road class.
    pub class: RoadClass,
    /// `maxspeed` in km/h, 0 when absent.
    pub maxspeed_kmh: u16,
    /// Per-profile direction bits ([`Profile::forward_bit`]).
    pub flags: u8,
}

impl Edge {
    /// May `profile` travel this segment at all?
    pub fn usable_by(&self, profile: Profile) -> bool {
        self.flags & (profile.forward_bit() | profile.backward_bit()) != 0
    }
}

/// A segment in the spatial index of edges: its end points and edge index.
pub(crate) type EdgeEntry = GeomWithData<RLine<[f64; 2]>, u32>;

/// Progress of a long import: stage name and items done so far.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64);

/// A profile-independent road network (nodes and segments).
#[derive(Debug, Default)]
pub struct RoadNetwork {
    pub(crate) lon: Vec<f64>,
    pub(crate) lat: Vec<f64>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) edge_tree: OnceLock<RTree<EdgeEntry>>,
}

impl Clone for RoadNetwork {
    fn clone(&self) -> Self {
        RoadNetwork {
            lon: self.lon.clone(),
            lat: self.lat.clone(),
            edges: self.edges.clone(),
            edge_tree: OnceLock::new(),
        }
    }
}

const MAGIC: &[u8; 8] = b"TRUCERN1";

/// Geodesic distance in metres between two (lon, lat) points.
pub fn geodesic_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    Geodesic.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

pub(crate) fn valid_lon_lat(lon: f64, lat: f64) -> bool {
    lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
}

impl RoadNetwork {
    /// Builds a network from nodes (lon, lat) and segments; segment lengths are
    /// computed geodesically. Fails on invalid coordinates or node indexes.
    pub fn from_parts(
        nodes: Vec<[f64; 2]>,
        segments: impl IntoIterator<Item = (u32, u32, WayAttrs)>,
    ) -> Result<RoadNetwork, GeoError> {
        for (i, p) in nodes.iter().enumerate() {
            if !valid_lon_lat(p[0], p[1]) {
                return Err(GeoError::InvalidGeometry(format!(
                    "node {i} has coordinates {p:?}"
                )));
            }
        }
        let n = nodes.len() as u32;
        let mut edges = Vec::new();
        for (a, b, attrs) in segments {
            if a >= n || b >= n {
                return Err(GeoError::InvalidGeometry(format!(
                    "segment {a}-{b} refers to a node that does not exist"
                )));
            }
            if a == b {
                continue;
            }
            edges.push(Edge {
                a,
                b,
                dist_m: geodesic_m(nodes[a as usize], nodes[b as usize]),
                class: attrs.class,
                maxspeed_kmh: attrs.maxspeed_kmh,
                flags: attrs.flags,
            });
        }
        Ok(RoadNetwork {
            lon: nodes.iter().map(|p| p[0]).collect(),
            lat: nodes.iter().map(|p| p[1]).collect(),
            edges,
            edge_tree: OnceLock::new(),
        })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.lon.len()
    }

    /// Number of segments.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The segments.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// A node's (lon, lat).
    pub fn coord(&self, node: u32) -> [f64; 2] {
        [self.lon[node as usize], self.lat[node as usize]]
    }

    /// Total length of the segments `profile` may use, in metres.
    pub fn length_m(&self, profile: Profile) -> f64 {
        self.edges
            .iter()
            .filter(|e| e.usable_by(profile))
            .map(|e| e.dist_m)
            .sum()
    }

    /// R-tree of all segments (built on first use).
    pub(crate) fn edge_tree(&self) -> &RTree<EdgeEntry> {
        self.edge_tree.get_or_init(|| {
            RTree::bulk_load(
                self.edges
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        GeomWithData::new(RLine::new(self.coord(e.a), self.coord(e.b)), i as u32)
                    })
                    .collect(),
            )
        })
    }

    /// Segments whose bounding box meets the given (lon, lat) box.
    pub fn edges_in_box(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = u32> + '_ {
        self.edge_tree()
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|e| e.data)
    }

    /// Reads an OpenStreetMap PBF extract: ways with a `highway` value some
    /// profile may use become segments between consecutive nodes.
    /// Ways referring to nodes missing from the file are cut at those nodes.
    pub fn from_pbf(path: &Path, progress: Progress<'_>) -> Result<RoadNetwork, GeoError> {
        use osmpbf::{Element, ElementReader};
        let pbf_err = |e: osmpbf::Error| GeoError::Pbf(format!("{}: {e}", path.display()));
        if let Err(e) = std::fs::metadata(path) {
            return Err(GeoError::Io {
                path: path.display().to_string(),
                source: e,
            });
        }
        // Pass 1: usable ways and the nodes they need.
        let mut ways: Vec<(WayAttrs, u32, u32)> = Vec::new(); // attrs, start, end in refs
        let mut refs: Vec<u32> = Vec::new();
        let mut node_index: HashMap<i64, u32> = HashMap::new();
        let mut seen = 0u64;
        ElementReader::from_path(path)
            .map_err(pbf_err)?
            .for_each(|el| {
                if let Element::Way(w) = el {
                    seen += 1;
                    if seen.is_multiple_of(4096) {
                        progress("ways", seen);
                    }
                    let tags: Vec<(&str, &str)> = w.tags().collect();
                    let tag = |k: &str| tags.iter().find(|(kk, _)| *kk == k).map(|(_, v)| *v);
                    if let Some(attrs) = way_attrs(tag) {
                        let start = refs.len() as u32;
                        for r in w.refs() {
                            let next = node_index.len() as u32;
                            refs.push(*node_index.entry(r).or_insert(next));
                        }
                        ways.push((attrs, start, refs.len() as u32));
                    }
                }
            })
            .map_err(pbf_err)?;
        progress("ways", seen);
        // Pass 2: coordinates of those nodes.
        let mut coords = vec![[f64::NAN; 2]; node_index.len()];
        let mut seen = 0u64;
        ElementReader::from_path(path)
            .map_err(pbf_err)?
            .for_each(|el| {
                let (id, lon, lat) = match el {
                    Element::Node(n) => (n.id(), n.lon(), n.lat()),
                    Element::DenseNode(n) => (n.id(), n.lon(), n.lat()),
                    _ => return,
                };
                seen += 1;
                if seen.is_multiple_of(65536) {
                    progress("nodes", seen);
                }
                if let Some(&i) = node_index.get(&id) {
                    coords[i as usize] = [lon, lat];
                }
            })
            .map_err(pbf_err)?;
        progress("nodes", seen);
        drop(node_index);
        // Keep only located nodes, renumbered in first-seen order.
        let mut renumber = vec![u32::MAX; coords.len()];
        let mut nodes = Vec::new();
        for (i, c) in coords.iter().enumerate() {
            if valid_lon_lat(c[0], c[1]) {
                renumber[i] = nodes.len() as u32;
                nodes.push(*c);
            }
        }
        let mut segments = Vec::new();
        for (attrs, start, end) in &ways {
            let r = &refs[*start as usize..*end as usize];
            for w in r.windows(2) {
                let (a, b) = (renumber[w[0] as usize], renumber[w[1] as usize]);
                if a != u32::MAX && b != u32::MAX {
                    segments.push((a, b, *attrs));
                }
            }
        }
        let net = RoadNetwork::from_parts(nodes, segments)?;
        if net.edges.is_empty() {
            return Err(GeoError::EmptyNetwork);
        }
        progress("segments", net.edges.len() as u64);
        Ok(net)
    }

    /// The network as a compact little-endian binary (see [`RoadNetwork::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.lon.len() * 16 + self.edges.len() * 20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.lon.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.edges.len() as u32).to_le_bytes());
        for (x, y) in self.lon.iter().zip(&self.lat) {
            out.extend_from_slice(&x.to_le_bytes());
            out.extend_from_slice(&y.to_le_bytes());
        }
        for e in &self.edges {
            out.extend_from_slice(&e.a.to_le_bytes());
            out.extend_from_slice(&e.b.to_le_bytes());
            out.extend_from_slice(&e.dist_m.to_le_bytes());
            out.extend_from_slice(&e.maxspeed_kmh.to_le_bytes());
            out.push(e.class as u8);
            out.push(e.flags);
        }
        out
    }

    /// Decodes [`RoadNetwork::to_bytes`]; distances are kept bit for bit.
    pub fn from_bytes(bytes: &[u8]) -> Result<RoadNetwork, GeoError> {
        let bad = |m: &str| GeoError::BadAsset(m.to_string());
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("not a Truce road network (bad magic)"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap_or([0; 4]));
        let n = u32_at(8) as usize;
        let m = u32_at(12) as usize;
        let need = 16usize
            .checked_add(n.checked_mul(16).ok_or_else(|| bad("too large"))?)
            .and_then(|x| x.checked_add(m.checked_mul(20)?))
            .ok_or_else(|| bad("too large"))?;
        if bytes.len() != need {
            return Err(bad("truncated or wrong length"));
        }
        let f64_at = |o: usize| f64::from_le_bytes(bytes[o..o + 8].try_into().unwrap_or([0; 8]));
        let mut lon = Vec::with_capacity(n);
        let mut lat = Vec::with_capacity(n);
        for i in 0..n {
            let (x, y) = (f64_at(16 + i * 16), f64_at(24 + i * 16));
            if !valid_lon_lat(x, y) {
                return Err(bad("node with invalid coordinates"));
            }
            lon.push(x);
            lat.push(y);
        }
        let base = 16 + n * 16;
        let mut edges = Vec::with_capacity(m);
        for i in 0..m {
            let o = base + i * 20;
            let (a, b) = (u32_at(o), u32_at(o + 4));
            let dist_m = f64_at(o + 8);
            let maxspeed_kmh = u16::from_le_bytes([bytes[o + 16], bytes[o + 17]]);
            let class =
                RoadClass::from_code(bytes[o + 18]).ok_or_else(|| bad("unknown road class"))?;
            if a as usize >= n || b as usize >= n || !(dist_m.is_finite() && dist_m >= 0.0) {
                return Err(bad("segment out of range"));
            }
            edges.push(Edge {
                a,
                b,
                dist_m,
                class,
                maxspeed_kmh,
                flags: bytes[o + 19],
            });
        }
        Ok(RoadNetwork {
            lon,
            lat,
            edges,
            edge_tree: OnceLock::new(),
        })
    }
}
