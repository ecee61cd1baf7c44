//! Compact road graph for one profile and metric (CSR arrays), the
//! blocked-edge bitset of an avoid set, and exact shortest paths (A* with a
//! lower bound that never overestimates: great-circle, or ALT landmarks
//! when the graph has them; equivalent to Dijkstra, only faster).
//!
//! The landmark bounds are quantized (see [`RoadGraph::add_landmarks`]) and
//! lowered by their rounding, so they stay lower bounds but may be very
//! slightly inconsistent: a node can be settled again when a cheaper path
//! to it turns up, and the search stops only when no open node's bound is
//! below the destination's cost. Both keep the answer exact.

use dary_heap::QuaternaryHeap;
use std::cmp::Reverse;

use geo::MultiPolygon;
use rstar::{RTree, primitives::GeomWithData};

use crate::error::GeoError;
use crate::geom::{bbox, covers_point, segment_meets, validate_multipolygon};
use crate::network::{RoadNetwork, geodesic_m};
use crate::profile::{Metric, Profile};

/// Mean Earth radius (m) used by the heuristic.
const R_MEAN: f64 = 6_371_008.8;
/// Great-circle distances on the mean sphere are at least 0.9944 of the WGS84
/// geodesic; 0.99 keeps the heuristic a strict lower bound for every segment.
const LOWER_BOUND_FACTOR: f64 = 0.99;

/// A road graph in compressed sparse row form: the arcs leaving node `v` are
/// `offsets[v]..offsets[v + 1]` in `arcs`.
#[derive(Debug)]
pub struct RoadGraph {
    profile: Profile,
    metric: Metric,
    offsets: Vec<u32>,
    arcs: Vec<ArcData>,
    /// Reverse CSR: the arcs entering `v` are `rev_offsets[v]..rev_offsets[v + 1]`
    /// in `rev_arcs` (indexes into `arcs`), with their sources in `rev_sources`.
    rev_offsets: Vec<u32>,
    rev_sources: Vec<u32>,
    rev_arcs: Vec<u32>,
    /// Unit vectors of the nodes (for the chord-length heuristic).
    xyz: Vec<[f64; 3]>,
    /// Heuristic scale: metres (or seconds) per unit of chord.
    h_scale: f64,
    snap: RTree<GeomWithData<[f64; 2], u32>>,
    /// Weakly connected component of each node (no avoid set): nodes in
    /// different components have no route, so the search can stop at once.
    comp: Vec<u32>,
    /// ALT landmarks, node-major: per node `lm_chunks` blocks, one 64-byte
    /// cache line each, of 16 landmarks' distances from and to the node,
    /// quantized to 15 bits in units of `lm_q[i]` (landmark `i`'s largest
    /// finite distance / [`LM_MAX`]). Each stored value is within half a
    /// unit of the exact one, so a bound lowered by one unit stays a lower
    /// bound; a node's bound costs one cache line for 16 landmarks (it was
    /// four with two `f64` arrays). Unreachable: [`LM_UNREACHABLE`].
    lm_k: usize,
    lm_chunks: usize,
    lm: Vec<LmBlock>,
    lm_q: Vec<f32>,
}

/// Sixteen landmarks' quantized distances from and to one node, one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct LmBlock {
    from: [u16; 16],
    to: [u16; 16],
}

/// Largest stored finite landmark distance (15 bits).
const LM_MAX: u16 = 0x7fff;
/// Stored for a node a landmark cannot reach (or that cannot reach it).
/// A difference above [`LM_MAX`] can only be `LM_UNREACHABLE - finite`,
/// which proves "no route"; `finite - LM_UNREACHABLE` is negative (no
/// information) and `LM_UNREACHABLE - LM_UNREACHABLE` is 0, so the bound
/// needs no branches.
const LM_UNREACHABLE: u16 = 0xffff;

/// One arc of the CSR graph, its fields together so that scanning a
/// node's arcs touches one cache line, not three.
#[derive(Debug, Clone, Copy)]
struct ArcData {
    weight: f64,
    target: u32,
    /// Network segment.
    edge: u32,
}

/// A set of blocked segments (one bit per network segment) and the polygons it came from.
#[derive(Debug, Clone, Default)]
pub struct AvoidSet {
    bits: Vec<u64>,
    polygons: Vec<MultiPolygon<f64>>,
}

impl AvoidSet {
    /// Blocks every segment of `net` that meets one of the polygons
    /// (intersects its interior or boundary, in lon/lat; the same test as
    /// PostGIS `ST_Intersects` on geometry). No preprocessing of the graph is
    /// needed. Invalid polygons are refused.
    pub fn new(net: &RoadNetwork, polygons: Vec<MultiPolygon<f64>>) -> Result<AvoidSet, GeoError> {
        let mut bits = vec![0u64; net.edge_count().div_ceil(64)];
        for mp in &polygons {
            validate_multipolygon(mp)?;
            let Some((min, max)) = bbox(mp) else { continue };
            for e in net.edges_in_box(min, max) {
                let edge = &net.edges[e as usize];
                if segment_meets(net.coord(edge.a), net.coord(edge.b), mp) {
                    bits[e as usize / 64] |= 1 << (e % 64);
                }
            }
        }
        Ok(AvoidSet { bits, polygons })
    }

    /// Nothing blocked.
    pub fn empty() -> AvoidSet {
        AvoidSet::default()
    }

    /// Is network segment `e` blocked?
    #[inline]
    pub fn is_blocked(&self, e: u32) -> bool {
        self.bits
            .get(e as usize / 64)
            .is_some_and(|w| w & (1 << (e % 64)) != 0)
    }

    /// Number of blocked segments.
    pub fn blocked_count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The index of the first polygon covering the (lon, lat) point.
    pub fn polygon_covering(&self, p: [f64; 2]) -> Option<usize> {
        self.polygons.iter().position(|mp| covers_point(mp, p))
    }

    /// The polygons.
    pub fn polygons(&self) -> &[MultiPolygon<f64>] {
        &self.polygons
    }
}

/// Where a requested point was snapped to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// Graph node.
    pub node: u32,
    /// The node's (lon, lat).
    pub coord: [f64; 2],
    /// Geodesic metres from the requested point to the node.
    pub distance_m: f64,
}

/// Why there is no route.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoRoute {
    /// A coordinate is not WGS84 lon/lat.
    #[error("the {0} is not a valid WGS84 coordinate")]
    InvalidPoint(&'static str),
    /// The graph has no road for this profile.
    #[error("the road network has no road usable by this profile")]
    NoRoads,
    /// The origin (or its nearest road node) lies in an avoid area.
    #[error("the origin lies inside avoid area #{0}")]
    OriginInAvoidArea(usize),
    /// The destination (or its nearest road node) lies in an avoid area.
    #[error("the destination lies inside avoid area #{0}")]
    DestinationInAvoidArea(usize),
    /// Connected without the avoid set, cut off by it.
    #[error("every road between origin and destination crosses an avoid area")]
    BlockedByAvoidAreas,
    /// Not connected at all for this profile (one-way streets included).
    #[error("origin and destination are not connected by roads usable by this profile")]
    Disconnected,
}

/// A shortest path.
#[derive(Debug, Clone)]
pub struct Route {
    /// Minimised cost (metres or seconds, by metric).
    pub cost: f64,
    /// Sum of geodesic segment lengths, metres.
    pub distance_m: f64,
    /// Travel time at the profile's speeds, seconds.
    pub duration_s: f64,
    /// Graph nodes from origin to destination.
    pub nodes: Vec<u32>,
    /// Network segments traversed.
    pub edges: Vec<u32>,
    /// (lon, lat) of the nodes.
    pub coords: Vec<[f64; 2]>,
    /// Snapped origin.
    pub from: Snap,
    /// Snapped destination.
    pub to: Snap,
    /// Nodes settled by the search (a measure of work).
    pub settled: usize,
}

/// Reusable search state (per-node distance, parent and lower bound, reset
/// lazily between queries).
#[derive(Debug, Default)]
pub struct Search {
    node: Vec<NodeState>,
    touched: Vec<u32>,
    /// Open nodes as [`queue_key`]s (f = g + h rounded down to `f32`, then
    /// the node): one integer comparison per step. Stale entries are
    /// recognised by recomputing the key from the node's current g + h.
    heap: QuaternaryHeap<Reverse<u64>>,
    /// The landmark blocks this query consults.
    landmarks: QueryLandmarks,
    /// Backward reachability search from the destination (proves "no
    /// route" early when the destination's side is small): a mark per node
    /// stamped with the query's generation, so nothing O(n) is cleared.
    bmark: Vec<u32>,
    bgen: u32,
    bstack: Vec<u32>,
}

/// What a query knows about one node: kept together (16 bytes) so a node
/// costs one cache line, not one per array.
#[derive(Debug, Clone, Copy)]
struct NodeState {
    /// Best known cost from the origin (infinite: not reached yet).
    g: f64,
    /// Arc by which `g` was reached.
    parent_arc: u32,
    /// Lower bound to the destination, computed once when the node is first reached.
    h: f32,
}

const UNREACHED: NodeState = NodeState {
    g: f64::INFINITY,
    parent_arc: u32::MAX,
    h: 0.0,
};

impl Search {
    fn reset(&mut self, n: usize) {
        if self.node.len() != n {
            self.node = vec![UNREACHED; n];
        } else {
            for &v in &self.touched {
                self.node[v as usize] = UNREACHED;
            }
        }
        self.touched.clear();
        self.heap.clear();
        self.bstack.clear();
        if self.bmark.len() != n || self.bgen == u32::MAX {
            self.bmark = vec![0; n];
            self.bgen = 0;
        }
        self.bgen += 1;
    }
}

/// Landmark blocks (16 landmarks each) a query consults, chosen per query.
const ACTIVE_BLOCKS: usize = 3;

/// Forward nodes settled before the backward reachability search starts:
/// most routes are found sooner (on the 1M-node grid with 32 landmarks,
/// 11,500 nodes on average), and interleaving from the first node cost
/// them 17% of their time for nothing.
const BACKWARD_START: usize = 1 << 14;
/// Forward nodes settled per backward reachability step.
const BACKWARD_EVERY: usize = 2;
/// Backward steps tried before giving up on proving "no route" that way
/// (the side that can reach the destination is then large).
const BACKWARD_BUDGET: usize = 1 << 12;

/// Priority queue key of a node with lower bound `f` on the cost of a
/// route through it: `f` rounded **down** to an `f32` (whose bit patterns
/// order like the values, for non-negative values) in the high half, the
/// node in the low half. The queue's order is then only approximately by
/// `f`, so the search does not stop when the destination is popped but
/// when the smallest key left is no less than the destination's cost
/// (every open node's true `f` is at least its key): exact all the same.
#[inline]
fn queue_key(f: f64, v: u32) -> u64 {
    let mut x = f as f32;
    if f64::from(x) > f {
        x = x.next_down();
    }
    (u64::from(x.to_bits()) << 32) | u64::from(v)
}

/// The lower bound (`f64`) in a [`queue_key`].
#[inline]
fn key_bound(key: u64) -> f64 {
    f64::from(f32::from_bits((key >> 32) as u32))
}

/// The landmark blocks one query consults: their indexes, the
/// destination's copy of each, and their units.
#[derive(Debug, Default)]
struct QueryLandmarks {
    blocks: Vec<usize>,
    target: Vec<LmBlock>,
}

/// ALT lower bound of the cost from the node whose landmark blocks start
/// at `lm[base]` to the destination, over the blocks of `ql` (units
/// `lm_q`); `+inf` when a landmark proves there is no path. Branch-free
/// over 16 lanes so it vectorises.
#[inline]
fn alt_bound(lm: &[LmBlock], base: usize, ql: &QueryLandmarks, lm_q: &[f32]) -> f32 {
    let mut best = 0.0f32;
    let mut most = 0i32;
    for (&i, tb) in ql.blocks.iter().zip(&ql.target) {
        let b = &lm[base + i];
        let q = &lm_q[i * 16..i * 16 + 16];
        let mut lane = [0.0f32; 16];
        let mut raw = [0i32; 16];
        for j in 0..16 {
            // d(L,t) <= d(L,v) + d(v,t) and d(v,L) <= d(v,t) + d(t,L).
            let a = i32::from(tb.from[j]) - i32::from(b.from[j]);
            let d = i32::from(b.to[j]) - i32::from(tb.to[j]);
            let m = a.max(d);
            raw[j] = m;
            // Each stored value is within half a unit: one unit off.
            lane[j] = (m - 1) as f32 * q[j];
        }
        for j in 0..16 {
            most = most.max(raw[j]);
            best = if lane[j] > best { lane[j] } else { best };
        }
    }
    if most > i32::from(LM_MAX) {
        f32::INFINITY
    } else {
        // f32 rounding of the unit and the product: far below 1e-6.
        best * (1.0 - 1e-6)
    }
}

fn unit_vector(p: [f64; 2]) -> [f64; 3] {
    let (lon, lat) = (p[0].to_radians(), p[1].to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

impl RoadGraph {
    /// Builds the CSR graph of `net` for a profile and metric.
    pub fn build(net: &RoadNetwork, profile: Profile, metric: Metric) -> RoadGraph {
        let n = net.node_count();
        let (fb, bb) = (profile.forward_bit(), profile.backward_bit());
        let mut degree = vec![0u32; n + 1];
        for e in &net.edges {
            if e.flags & fb != 0 {
                degree[e.a as usize] += 1;
            }
            if e.flags & bb != 0 {
                degree[e.b as usize] += 1;
            }
        }
        let mut offsets = vec![0u32; n + 1];
        for v in 0..n {
            offsets[v + 1] = offsets[v] + degree[v];
        }
        let m = offsets[n] as usize;
        let mut arcs = vec![
            ArcData {
                weight: 0.0,
                target: 0,
                edge: 0
            };
            m
        ];
        let mut fill = offsets.clone();
        let mut touches = vec![false; n];
        for (i, e) in net.edges.iter().enumerate() {
            let w = match metric {
                Metric::Distance => e.dist_m,
                Metric::Time => e.dist_m / (profile.speed_kmh(e.class, e.maxspeed_kmh) / 3.6),
            };
            for (from, to, bit) in [(e.a, e.b, fb), (e.b, e.a, bb)] {
                if e.flags & bit != 0 {
                    let k = fill[from as usize] as usize;
                    arcs[k] = ArcData {
                        weight: w,
                        target: to,
                        edge: i as u32,
                    };
                    fill[from as usize] += 1;
                    touches[from as usize] = true;
                    touches[to as usize] = true;
                }
            }
        }
        let mut rev_offsets = vec![0u32; n + 1];
        for t in arcs.iter().map(|a| a.target) {
            rev_offsets[t as usize + 1] += 1;
        }
        for v in 0..n {
            rev_offsets[v + 1] += rev_offsets[v];
        }
        let mut rev_sources = vec![0u32; m];
        let mut rev_arcs = vec![0u32; m];
        let mut rfill = rev_offsets.clone();
        for u in 0..n {
            for k in offsets[u]..offsets[u + 1] {
                let t = arcs[k as usize].target as usize;
                let slot = rfill[t] as usize;
                rev_sources[slot] = u as u32;
                rev_arcs[slot] = k;
                rfill[t] += 1;
            }
        }
        let xyz = (0..n as u32).map(|v| unit_vector(net.coord(v))).collect();
        let h_scale = match metric {
            Metric::Distance => R_MEAN * LOWER_BOUND_FACTOR,
            Metric::Time => R_MEAN * LOWER_BOUND_FACTOR / (profile.max_speed_kmh() / 3.6),
        };
        let snap = RTree::bulk_load(
            (0..n as u32)
                .filter(|&v| touches[v as usize])
                .map(|v| GeomWithData::new(net.coord(v), v))
                .collect(),
        );
        let mut g = RoadGraph {
            profile,
            metric,
            offsets,
            arcs,
            rev_offsets,
            rev_sources,
            rev_arcs,
            xyz,
            h_scale,
            snap,
            comp: Vec::new(),
            lm_k: 0,
            lm_chunks: 0,
            lm: Vec::new(),
            lm_q: Vec::new(),
        };
        g.comp = g.components();
        g
    }

    /// Weakly connected component (root node) of every node: nodes in
    /// different components have no route.
    fn components(&self) -> Vec<u32> {
        let n = self.node_count();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                let g = p[p[x as usize] as usize];
                p[x as usize] = g;
                x = g;
            }
            x
        }
        for u in 0..n as u32 {
            for k in self.offsets[u as usize]..self.offsets[u as usize + 1] {
                let (a, b) = (
                    find(&mut parent, u),
                    find(&mut parent, self.arcs[k as usize].target),
                );
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        (0..n as u32).map(|v| find(&mut parent, v)).collect()
    }

    /// One-to-all distances on the full graph (forward, or along reversed arcs).
    fn all_distances(&self, s: u32, reverse: Option<&[(u32, u32, f64)]>) -> Vec<f64> {
        let n = self.node_count();
        let mut dist = vec![f64::INFINITY; n];
        let mut heap = QuaternaryHeap::new();
        dist[s as usize] = 0.0;
        heap.push(Reverse((0f64.to_bits(), s)));
        let mut rev_off = Vec::new();
        if let Some(r) = reverse {
            // r is sorted by target: offsets into it per node.
            rev_off = vec![0usize; n + 1];
            for &(_, t, _) in r {
                rev_off[t as usize + 1] += 1;
            }
            for v in 0..n {
                rev_off[v + 1] += rev_off[v];
            }
        }
        while let Some(Reverse((key, u))) = heap.pop() {
            let du = f64::from_bits(key);
            if du > dist[u as usize] {
                continue;
            }
            let mut relax = |v: u32, w: f64| {
                let nd = du + w;
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    heap.push(Reverse((nd.to_bits(), v)));
                }
            };
            match reverse {
                None => {
                    for k in self.offsets[u as usize]..self.offsets[u as usize + 1] {
                        relax(self.arcs[k as usize].target, self.arcs[k as usize].weight);
                    }
                }
                Some(r) => {
                    for &(src, _, w) in &r[rev_off[u as usize]..rev_off[u as usize + 1]] {
                        relax(src, w);
                    }
                }
            }
        }
        dist
    }

    /// Adds `k` ALT landmarks (farthest-first in the largest component):
    /// lower bounds from the triangle inequality that stay admissible when
    /// an avoid set removes segments, so hazards still need no preprocessing.
    /// Distances are stored as 15-bit multiples of a per-landmark unit
    /// (its largest finite distance / 32,767), 16 landmarks to a cache line,
    /// and every bound is lowered by one unit to cover the rounding.
    pub fn add_landmarks(&mut self, k: usize) {
        let n = self.node_count();
        if k == 0 || n == 0 {
            return;
        }
        let mut size = std::collections::HashMap::new();
        for &c in &self.comp {
            *size.entry(c).or_insert(0usize) += 1;
        }
        let Some((&big, _)) = size
            .iter()
            .max_by_key(|(c, s)| (**s, std::cmp::Reverse(**c)))
        else {
            return;
        };
        let mut rev: Vec<(u32, u32, f64)> = Vec::with_capacity(self.arc_count());
        for u in 0..n as u32 {
            for k in self.offsets[u as usize]..self.offsets[u as usize + 1] {
                rev.push((
                    u,
                    self.arcs[k as usize].target,
                    self.arcs[k as usize].weight,
                ));
            }
        }
        rev.sort_by_key(|&(_, t, _)| t);
        let start = (0..n as u32)
            .find(|&v| self.comp[v as usize] == big)
            .unwrap_or(0);
        let chunks = k.div_ceil(16);
        let mut lm = vec![
            LmBlock {
                from: [0; 16],
                to: [0; 16]
            };
            n * chunks
        ];
        let mut lm_q = vec![0.0f32; chunks * 16];
        let mut nearest = self.all_distances(start, None); // min distance to chosen landmarks
        // Goldberg and Werneck's "avoid" rule was tried here on the 1M-node
        // grid: 16% more nodes settled than farthest-first, twice the time.
        let mut chosen = Vec::with_capacity(k);
        for i in 0..k {
            // Farthest node (in the big component) from the landmarks so far.
            let l = (0..n as u32)
                .filter(|&v| self.comp[v as usize] == big && nearest[v as usize].is_finite())
                .max_by(|&a, &b| nearest[a as usize].total_cmp(&nearest[b as usize]))
                .unwrap_or(start);
            chosen.push(l);
            let df = self.all_distances(l, None);
            let dt = self.all_distances(l, Some(&rev));
            let (c, j) = (i / 16, i % 16);
            let max_finite = df
                .iter()
                .chain(&dt)
                .filter(|d| d.is_finite())
                .fold(0.0f64, |a, &b| a.max(b));
            let q = if max_finite > 0.0 {
                max_finite / f64::from(LM_MAX)
            } else {
                1.0
            };
            if let Some(unit) = lm_q.get_mut(i) {
                *unit = q as f32;
            }
            let quantize = |d: f64| {
                if d.is_finite() {
                    ((d / q).round() as u16).min(LM_MAX)
                } else {
                    LM_UNREACHABLE
                }
            };
            for v in 0..n {
                let block = &mut lm[v * chunks + c];
                block.from[j] = quantize(df[v]);
                block.to[j] = quantize(dt[v]);
                if i == 0 {
                    nearest[v] = df[v];
                } else {
                    nearest[v] = nearest[v].min(df[v]);
                }
            }
        }
        // Landmarks sorted by direction from their centre, so that each
        // block of 16 covers one sector and a query can consult only the
        // blocks behind its origin and beyond its destination.
        let lon_lat = |v: u32| {
            let [x, y, z] = self.xyz[v as usize];
            [y.atan2(x), z.clamp(-1.0, 1.0).asin()]
        };
        let centre = chosen.iter().fold([0.0, 0.0], |acc, &l| {
            let p = lon_lat(l);
            [acc[0] + p[0] / k as f64, acc[1] + p[1] / k as f64]
        });
        let angle = |l: u32| {
            let p = lon_lat(l);
            (p[1] - centre[1]).atan2((p[0] - centre[0]) * centre[1].cos())
        };
        let mut perm: Vec<usize> = (0..k).collect();
        perm.sort_by(|&a, &b| {
            angle(chosen[a])
                .total_cmp(&angle(chosen[b]))
                .then(a.cmp(&b))
        });
        let lane = |i: usize| (i / 16, i % 16);
        for row in lm.chunks_exact_mut(chunks) {
            let old: Vec<LmBlock> = row.to_vec();
            for (new_i, &old_i) in perm.iter().enumerate() {
                let ((nb, nj), (ob, oj)) = (lane(new_i), lane(old_i));
                row[nb].from[nj] = old[ob].from[oj];
                row[nb].to[nj] = old[ob].to[oj];
            }
        }
        let old_q = lm_q.clone();
        for (new_i, &old_i) in perm.iter().enumerate() {
            lm_q[new_i] = old_q[old_i];
        }
        self.lm_k = k;
        self.lm_chunks = chunks;
        self.lm = lm;
        self.lm_q = lm_q;
    }

    /// ALT lower bound of the cost from `v` to the destination over the
    /// query's landmark blocks (`+inf` when a landmark proves that `v`
    /// cannot reach it).
    #[inline]
    fn h_alt(&self, v: u32, ql: &QueryLandmarks) -> f32 {
        alt_bound(&self.lm, v as usize * self.lm_chunks, ql, &self.lm_q)
    }

    /// Chooses the query's landmark blocks: the [`ACTIVE_BLOCKS`] whose
    /// bound from `s` to `t` is largest (Goldberg and Harrelson's active
    /// landmarks, a block at a time, so a node still costs that many cache
    /// lines however many landmarks there are; blocks hold landmarks
    /// sorted by direction, so the chosen ones lie behind `s` or beyond `t`).
    /// `false` when some landmark proves that `s` cannot reach `t`.
    fn choose_blocks(&self, s: u32, t: u32, ql: &mut QueryLandmarks) -> bool {
        let c = self.lm_chunks;
        let mut scored = Vec::with_capacity(c);
        for b in 0..c {
            let one = QueryLandmarks {
                blocks: vec![b],
                target: vec![self.lm[t as usize * c + b]],
            };
            let h = alt_bound(&self.lm, s as usize * c, &one, &self.lm_q);
            if h.is_infinite() {
                return false;
            }
            scored.push((h, b));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ql.blocks.clear();
        ql.blocks
            .extend(scored.iter().take(ACTIVE_BLOCKS).map(|x| x.1));
        ql.blocks.sort_unstable();
        ql.target.clear();
        ql.target
            .extend(ql.blocks.iter().map(|&b| self.lm[t as usize * c + b]));
        true
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of nodes (all network nodes, usable or not).
    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of directed arcs.
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    /// Arcs leaving `v`: (target, weight, network segment).
    pub fn arcs(&self, v: u32) -> impl Iterator<Item = (u32, f64, u32)> + '_ {
        let r = self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize;
        r.map(move |k| (self.arcs[k].target, self.arcs[k].weight, self.arcs[k].edge))
    }

    /// Cost of arc `k` (an index into the CSR arrays, as returned in paths).
    pub fn arc_weight(&self, k: u32) -> f64 {
        self.arcs[k as usize].weight
    }

    /// Head node and network segment of arc `k`.
    pub fn arc_target(&self, k: u32) -> (u32, u32) {
        (self.arcs[k as usize].target, self.arcs[k as usize].edge)
    }

    /// Nearest node (geodesic metres) that has a road usable by the profile.
    /// Snapping is to road **nodes** (OSM way nodes), not to points along segments.
    pub fn snap(&self, net: &RoadNetwork, p: [f64; 2]) -> Option<Snap> {
        // Planar nearest-neighbour order in degrees; stop once no farther
        // candidate can be geodesically closer.
        let metres_per_deg = 110_000.0 * (p[1].abs() + 1.0).min(89.9).to_radians().cos();
        let mut best: Option<Snap> = None;
        for (cand, d2) in self.snap.nearest_neighbor_iter_with_distance_2(&p) {
            if let Some(b) = best
                && d2.sqrt() * metres_per_deg * 0.99 > b.distance_m
            {
                break;
            }
            let node = cand.data;
            let c = net.coord(node);
            let d = geodesic_m(p, c);
            if best.is_none_or(|b| d < b.distance_m || (d == b.distance_m && node < b.node)) {
                best = Some(Snap {
                    node,
                    coord: c,
                    distance_m: d,
                });
            }
        }
        best
    }

    /// Lower bound of the cost from `v` to the destination (unit vector
    /// `t`, landmark blocks `ql`): the landmarks' bound when there are
    /// any (`+inf` when one proves that `v` cannot reach it), else the
    /// great-circle bound.
    #[inline]
    fn h(&self, v: u32, t: &[f64; 3], ql: &QueryLandmarks) -> f32 {
        if self.lm_k > 0 {
            // Measured on the 1M-node grid: the landmarks' bound alone
            // settles 0.4% more nodes but saves a cache miss per node (18% faster).
            return self.h_alt(v, ql);
        }
        let a = &self.xyz[v as usize];
        let (dx, dy, dz) = (a[0] - t[0], a[1] - t[1], a[2] - t[2]);
        // The chord bound keeps a 1% margin, far more than f32 rounding.
        let geo = ((dx * dx + dy * dy + dz * dz).sqrt() * self.h_scale) as f32;
        if self.lm_k == 0 {
            geo
        } else {
            geo.max(self.h_alt(v, ql))
        }
    }

    /// Exact shortest path from node `s` to node `t`, skipping blocked
    /// segments; `None` when `t` cannot be reached. Returns (cost, arcs, nodes settled).
    pub fn shortest_path(
        &self,
        s: u32,
        t: u32,
        avoid: &AvoidSet,
        search: &mut Search,
    ) -> Option<(f64, Vec<u32>, usize)> {
        let n = self.node_count();
        if s as usize >= n || t as usize >= n {
            return None;
        }
        if self.comp.get(s as usize) != self.comp.get(t as usize) {
            return None;
        }
        search.reset(n);
        let c = self.lm_chunks;
        let mut ql = std::mem::take(&mut search.landmarks);
        // (A Search may have served another graph: no stale blocks.)
        ql.blocks.clear();
        ql.target.clear();
        if c > 0 && !self.choose_blocks(s, t, &mut ql) {
            search.landmarks = ql;
            return None;
        }
        let found = self.search_from(s, t, avoid, search, &ql);
        search.landmarks = ql;
        found
    }

    fn search_from(
        &self,
        s: u32,
        t: u32,
        avoid: &AvoidSet,
        search: &mut Search,
        ql: &QueryLandmarks,
    ) -> Option<(f64, Vec<u32>, usize)> {
        let target = self.xyz[t as usize];
        let h0 = self.h(s, &target, ql);
        if h0.is_infinite() {
            // A landmark proves that s cannot reach t.
            return None;
        }
        search.node[s as usize] = NodeState {
            g: 0.0,
            parent_arc: u32::MAX,
            h: h0,
        };
        search.touched.push(s);
        search.heap.push(Reverse(queue_key(f64::from(h0), s)));
        let mut settled = 0usize;
        // Backward search from t over unblocked arcs: once it has found
        // every node that can reach t without meeting s, there is no route.
        let gen_ = search.bgen;
        search.bmark[t as usize] = gen_;
        search.bstack.push(t);
        let mut backward_done = s == t;
        while let Some(Reverse(key)) = search.heap.pop() {
            if key_bound(key) >= search.node[t as usize].g {
                // No open node can lead to a cheaper route to t.
                break;
            }
            let u = key as u32;
            let NodeState { g: du, h: hu, .. } = search.node[u as usize];
            // Stale entry (a shorter path to u was found after this push)?
            // The key of the current entry is recomputed bit for bit.
            if key != queue_key(du + f64::from(hu), u) {
                continue;
            }
            settled += 1;
            if !backward_done && settled >= BACKWARD_START + BACKWARD_EVERY * BACKWARD_BUDGET {
                backward_done = true;
            }
            if !backward_done && settled >= BACKWARD_START && settled.is_multiple_of(BACKWARD_EVERY)
            {
                match search.bstack.pop() {
                    None => return None,
                    Some(x) => {
                        let r = self.rev_offsets[x as usize] as usize
                            ..self.rev_offsets[x as usize + 1] as usize;
                        for j in r {
                            let k = self.rev_arcs[j] as usize;
                            if avoid.is_blocked(self.arcs[k].edge) {
                                continue;
                            }
                            let y = self.rev_sources[j];
                            if search.bmark[y as usize] != gen_ {
                                search.bmark[y as usize] = gen_;
                                if y == s {
                                    // s reaches t: only the forward search is needed now.
                                    backward_done = true;
                                    break;
                                }
                                search.bstack.push(y);
                            }
                        }
                        if !backward_done && search.bstack.is_empty() {
                            return None;
                        }
                    }
                }
            }
            if u == t {
                // Leaving t cannot make t cheaper.
                continue;
            }
            let r = self.offsets[u as usize] as usize..self.offsets[u as usize + 1] as usize;
            // Start the cache misses of all neighbours (state and landmark
            // row) at once, before the branches that use them.
            let mut warm = 0u64;
            let c = self.lm_chunks;
            for a in &self.arcs[r.clone()] {
                let v = a.target as usize;
                warm ^= search.node[v].g.to_bits();
                for &b in &ql.blocks {
                    warm ^= u64::from(self.lm[v * c + b].from[0]);
                }
            }
            std::hint::black_box(warm);
            for k in r {
                if avoid.is_blocked(self.arcs[k].edge) {
                    continue;
                }
                let v = self.arcs[k].target;
                let nd = du + self.arcs[k].weight;
                let st = &mut search.node[v as usize];
                if nd < st.g {
                    if st.g.is_infinite() {
                        // First reached in this query: its bound, once.
                        search.touched.push(v);
                        st.h = self.h(v, &target, ql);
                    }
                    st.g = nd;
                    st.parent_arc = k as u32;
                    if st.h.is_finite() {
                        search
                            .heap
                            .push(Reverse(queue_key(nd + f64::from(st.h), v)));
                    }
                }
            }
        }
        let cost = search.node[t as usize].g;
        if cost.is_infinite() {
            return None;
        }
        let mut arcs = Vec::new();
        let mut v = t;
        while v != s {
            let k = search.node[v as usize].parent_arc;
            arcs.push(k);
            v = self.source_of_arc(k, v);
        }
        arcs.reverse();
        Some((cost, arcs, settled))
    }

    /// Source node of arc `k`, which enters `head`: found among `head`'s
    /// few entering arcs (a binary search over `offsets` cost a cache miss
    /// per step, 10% of a query on the 1M-node grid).
    fn source_of_arc(&self, k: u32, head: u32) -> u32 {
        let r =
            self.rev_offsets[head as usize] as usize..self.rev_offsets[head as usize + 1] as usize;
        r.into_iter()
            .find(|&j| self.rev_arcs[j] == k)
            .map(|j| self.rev_sources[j])
            .unwrap_or_else(|| (self.offsets.partition_point(|&o| o <= k) - 1) as u32)
    }

    /// Routes between two (lon, lat) points: snaps both to the nearest road
    /// node ([`RoadGraph::snap`]), then finds the exact shortest path that
    /// uses no blocked segment.
    pub fn route(
        &self,
        net: &RoadNetwork,
        from: [f64; 2],
        to: [f64; 2],
        avoid: &AvoidSet,
        search: &mut Search,
    ) -> Result<Route, NoRoute> {
        use crate::network::valid_lon_lat;
        if !valid_lon_lat(from[0], from[1]) {
            return Err(NoRoute::InvalidPoint("origin"));
        }
        if !valid_lon_lat(to[0], to[1]) {
            return Err(NoRoute::InvalidPoint("destination"));
        }
        let a = self.snap(net, from).ok_or(NoRoute::NoRoads)?;
        let b = self.snap(net, to).ok_or(NoRoute::NoRoads)?;
        if let Some(i) = avoid
            .polygon_covering(from)
            .or_else(|| avoid.polygon_covering(a.coord))
        {
            return Err(NoRoute::OriginInAvoidArea(i));
        }
        if let Some(i) = avoid
            .polygon_covering(to)
            .or_else(|| avoid.polygon_covering(b.coord))
        {
            return Err(NoRoute::DestinationInAvoidArea(i));
        }
        let Some((cost, arcs, settled)) = self.shortest_path(a.node, b.node, avoid, search) else {
            if avoid.blocked_count() > 0
                && self
                    .shortest_path(a.node, b.node, &AvoidSet::empty(), search)
                    .is_some()
            {
                return Err(NoRoute::BlockedByAvoidAreas);
            }
            return Err(NoRoute::Disconnected);
        };
        let mut nodes = vec![a.node];
        let mut edges = Vec::with_capacity(arcs.len());
        let (mut distance_m, mut duration_s) = (0.0, 0.0);
        for k in arcs {
            let e = self.arcs[k as usize].edge;
            let edge = &net.edges[e as usize];
            distance_m += edge.dist_m;
            duration_s +=
                edge.dist_m / (self.profile.speed_kmh(edge.class, edge.maxspeed_kmh) / 3.6);
            edges.push(e);
            nodes.push(self.arcs[k as usize].target);
        }
        let coords = nodes.iter().map(|&v| net.coord(v)).collect();
        Ok(Route {
            cost,
            distance_m,
            duration_s,
            nodes,
            edges,
            coords,
            from: a,
            to: b,
            settled,
        })
    }
}

impl Route {
    /// The route as a GeoJSON LineString geometry (a single-node route repeats its point).
    pub fn geometry(&self) -> serde_json::Value {
        let mut coords: Vec<[f64; 2]> = self.coords.clone();
        if coords.len() == 1 {
            coords.push(coords[0]);
        }
        serde_json::json!({"type": "LineString", "coordinates": coords})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{RoadClass, WayAttrs};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The quantized landmark bound never exceeds the exact cost (the
        /// A* stays exact) and says "unreachable" only when it is: checked
        /// for every pair against one-to-all Dijkstra. Many pairs are tight
        /// (v on a shortest path from a landmark to t), so a bound without
        /// the one-unit slack fails here.
        #[test]
        fn landmark_bound_is_a_lower_bound(
            pts in prop::collection::vec((46.0f64..46.3, 39.5f64..39.8), 2..40),
            raw in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..3), 0..120),
            k in 1usize..40,
            time in any::<bool>(),
        ) {
            let n = pts.len();
            let segs: Vec<(u32, u32, WayAttrs)> = raw
                .iter()
                .map(|(a, b, d)| {
                    let flags = match d {
                        0 => Profile::Car.forward_bit() | Profile::Car.backward_bit(),
                        1 => Profile::Car.forward_bit(),
                        _ => Profile::Car.backward_bit(),
                    };
                    (a.index(n) as u32, b.index(n) as u32, WayAttrs { class: RoadClass::Primary, maxspeed_kmh: 0, flags })
                })
                .collect();
            let net = RoadNetwork::from_parts(pts.iter().map(|&(x, y)| [x, y]).collect(), segs).unwrap();
            let metric = if time { Metric::Time } else { Metric::Distance };
            let mut g = RoadGraph::build(&net, Profile::Car, metric);
            g.add_landmarks(k);
            let c = g.lm_chunks;
            for s in 0..n as u32 {
                let exact = g.all_distances(s, None);
                for t in 0..n as u32 {
                    let ql = QueryLandmarks {
                        blocks: (0..c).collect(),
                        target: g.lm[t as usize * c..(t as usize + 1) * c].to_vec(),
                    };
                    let h = g.h_alt(s, &ql);
                    let d = exact[t as usize];
                    prop_assert!(f64::from(h) <= d, "bound {h} > cost {d} from {s} to {t}");
                }
            }
        }
    }
}
