//! Compact road graph for one profile and metric (CSR arrays), the
//! blocked-edge bitset of an avoid set, and exact shortest paths (A* with a
//! consistent great-circle lower bound; equivalent to Dijkstra, only faster).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
/// `offsets[v]..offsets[v + 1]` in `targets`, `weights` and `arc_edge`.
#[derive(Debug)]
pub struct RoadGraph {
    profile: Profile,
    metric: Metric,
    offsets: Vec<u32>,
    targets: Vec<u32>,
    weights: Vec<f64>,
    arc_edge: Vec<u32>,
    /// Reverse CSR: the arcs entering `v` are `rev_offsets[v]..rev_offsets[v + 1]`
    /// in `rev_arcs` (indexes into `targets`/`arc_edge`), with their sources in `rev_sources`.
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
    /// ALT landmarks: `k` distances per node from (`lm_from`) and to (`lm_to`) each landmark.
    lm_k: usize,
    lm_from: Vec<f64>,
    lm_to: Vec<f64>,
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

/// Reusable search state (distances, parents), reset lazily between queries.
#[derive(Debug, Default)]
pub struct Search {
    dist: Vec<f64>,
    parent_arc: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32, u64)>>,
    /// Landmarks used by this query (the few giving the best bound at the origin).
    active: Vec<usize>,
    /// Backward reachability search from the destination (proves "no
    /// route" early when the destination's side is small): a mark per node
    /// stamped with the query's generation, so nothing O(n) is cleared.
    bmark: Vec<u32>,
    bgen: u32,
    bstack: Vec<u32>,
}

/// Landmarks consulted per query: the ones with the best bound between
/// origin and destination (Goldberg and Harrelson's "active landmarks").
/// The maximum of any subset of landmark bounds is still a consistent lower
/// bound, so exactness is unaffected. Measured on the 1M-node grid, 4 of 16
/// made routes slower (weaker bounds, more nodes settled) than all 16, so
/// up to 16 are used.
const ACTIVE_LANDMARKS: usize = 16;

impl Search {
    fn reset(&mut self, n: usize) {
        if self.dist.len() != n {
            self.dist = vec![f64::INFINITY; n];
            self.parent_arc = vec![u32::MAX; n];
            self.touched.clear();
        } else {
            for &v in &self.touched {
                self.dist[v as usize] = f64::INFINITY;
                self.parent_arc[v as usize] = u32::MAX;
            }
            self.touched.clear();
        }
        self.heap.clear();
        self.bstack.clear();
        if self.bmark.len() != n || self.bgen == u32::MAX {
            self.bmark = vec![0; n];
            self.bgen = 0;
        }
        self.bgen += 1;
    }
}

/// Forward nodes settled per backward reachability step.
const BACKWARD_EVERY: usize = 2;
/// Backward steps tried before giving up on proving "no route" that way
/// (the side that can reach the destination is then large).
const BACKWARD_BUDGET: usize = 1 << 12;

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
        let mut targets = vec![0u32; m];
        let mut weights = vec![0f64; m];
        let mut arc_edge = vec![0u32; m];
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
                    targets[k] = to;
                    weights[k] = w;
                    arc_edge[k] = i as u32;
                    fill[from as usize] += 1;
                    touches[from as usize] = true;
                    touches[to as usize] = true;
                }
            }
        }
        let mut rev_offsets = vec![0u32; n + 1];
        for &t in &targets {
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
                let t = targets[k as usize] as usize;
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
            targets,
            weights,
            arc_edge,
            rev_offsets,
            rev_sources,
            rev_arcs,
            xyz,
            h_scale,
            snap,
            comp: Vec::new(),
            lm_k: 0,
            lm_from: Vec::new(),
            lm_to: Vec::new(),
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
                    find(&mut parent, self.targets[k as usize]),
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
        let mut heap = BinaryHeap::new();
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
                        relax(self.targets[k as usize], self.weights[k as usize]);
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
                rev.push((u, self.targets[k as usize], self.weights[k as usize]));
            }
        }
        rev.sort_by_key(|&(_, t, _)| t);
        let start = (0..n as u32)
            .find(|&v| self.comp[v as usize] == big)
            .unwrap_or(0);
        let mut from = vec![f64::INFINITY; n * k];
        let mut to = vec![f64::INFINITY; n * k];
        let mut nearest = self.all_distances(start, None); // min distance to chosen landmarks
        for i in 0..k {
            // Farthest node (in the big component) from the landmarks so far.
            let l = (0..n as u32)
                .filter(|&v| self.comp[v as usize] == big && nearest[v as usize].is_finite())
                .max_by(|&a, &b| nearest[a as usize].total_cmp(&nearest[b as usize]))
                .unwrap_or(start);
            let df = self.all_distances(l, None);
            let dt = self.all_distances(l, Some(&rev));
            for v in 0..n {
                from[v * k + i] = df[v];
                to[v * k + i] = dt[v];
                if i == 0 {
                    nearest[v] = df[v];
                } else {
                    nearest[v] = nearest[v].min(df[v]);
                }
            }
        }
        self.lm_k = k;
        self.lm_from = from;
        self.lm_to = to;
    }

    /// Lower bound of the cost from `v` to `t` from landmark `i` alone
    /// (`None`: `v` cannot reach `t`, as this landmark proves).
    #[inline]
    fn h_landmark(&self, v: u32, t: u32, i: usize) -> Option<f64> {
        let k = self.lm_k;
        let (fv, ft) = (
            self.lm_from[v as usize * k + i],
            self.lm_from[t as usize * k + i],
        );
        let (tv, tt) = (
            self.lm_to[v as usize * k + i],
            self.lm_to[t as usize * k + i],
        );
        let mut best = 0.0f64;
        // d(L,t) <= d(L,v) + d(v,t)
        if fv.is_finite() {
            if ft.is_infinite() {
                return None;
            }
            best = best.max(ft - fv);
        }
        // d(v,L) <= d(v,t) + d(t,L)
        if tt.is_finite() {
            if tv.is_infinite() {
                return None;
            }
            best = best.max(tv - tt);
        }
        Some(best)
    }

    /// ALT lower bound of the cost from `v` to `t` over the landmarks
    /// `active`; infinite when `v` cannot reach `t`.
    #[inline]
    fn h_alt(&self, v: u32, t: u32, active: &[usize]) -> f64 {
        let mut best = 0.0f64;
        for &i in active {
            match self.h_landmark(v, t, i) {
                Some(b) => best = best.max(b),
                None => return f64::INFINITY,
            }
        }
        // Rounding in the subtractions must not overestimate.
        best * (1.0 - 1e-12)
    }

    /// Picks the landmarks with the best bounds from `s` to `t`; `false`
    /// when some landmark proves `t` unreachable from `s`.
    fn choose_landmarks(&self, s: u32, t: u32, active: &mut Vec<usize>) -> bool {
        active.clear();
        let mut scored = Vec::with_capacity(self.lm_k);
        for i in 0..self.lm_k {
            match self.h_landmark(s, t, i) {
                Some(b) => scored.push((b, i)),
                None => return false,
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        active.extend(scored.iter().take(ACTIVE_LANDMARKS).map(|x| x.1));
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
        self.targets.len()
    }

    /// Arcs leaving `v`: (target, weight, network segment).
    pub fn arcs(&self, v: u32) -> impl Iterator<Item = (u32, f64, u32)> + '_ {
        let r = self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize;
        r.map(move |k| (self.targets[k], self.weights[k], self.arc_edge[k]))
    }

    /// Cost of arc `k` (an index into the CSR arrays, as returned in paths).
    pub fn arc_weight(&self, k: u32) -> f64 {
        self.weights[k as usize]
    }

    /// Head node and network segment of arc `k`.
    pub fn arc_target(&self, k: u32) -> (u32, u32) {
        (self.targets[k as usize], self.arc_edge[k as usize])
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

    #[inline]
    fn h(&self, v: u32, t: &[f64; 3], tn: u32, active: &[usize]) -> f64 {
        let a = &self.xyz[v as usize];
        let (dx, dy, dz) = (a[0] - t[0], a[1] - t[1], a[2] - t[2]);
        let geo = (dx * dx + dy * dy + dz * dz).sqrt() * self.h_scale;
        if active.is_empty() {
            geo
        } else {
            geo.max(self.h_alt(v, tn, active))
        }
    }

    /// Exact shortest path from node `s` to node `t`, skipping blocked
    /// segments; `None` when `t` cannot be reached. Returns (cost, arcs).
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
        let mut active = std::mem::take(&mut search.active);
        if !self.choose_landmarks(s, t, &mut active) {
            search.active = active;
            return None;
        }
        let found = self.search_from(s, t, avoid, search, &active);
        search.active = active;
        found
    }

    fn search_from(
        &self,
        s: u32,
        t: u32,
        avoid: &AvoidSet,
        search: &mut Search,
        active: &[usize],
    ) -> Option<(f64, Vec<u32>, usize)> {
        let target = self.xyz[t as usize];
        search.dist[s as usize] = 0.0;
        search.touched.push(s);
        let h0 = self.h(s, &target, t, active);
        if h0.is_infinite() {
            return None;
        }
        search.heap.push(Reverse((h0.to_bits(), s, 0f64.to_bits())));
        let mut settled = 0usize;
        // Backward search from t over unblocked arcs: once it has found
        // every node that can reach t without meeting s, there is no route.
        let gen_ = search.bgen;
        search.bmark[t as usize] = gen_;
        search.bstack.push(t);
        let mut backward_done = s == t;
        while let Some(Reverse((_, u, g))) = search.heap.pop() {
            let du = search.dist[u as usize];
            // Stale entry (a shorter path to u was found after this push)?
            if f64::from_bits(g) > du {
                continue;
            }
            settled += 1;
            if !backward_done && settled >= BACKWARD_EVERY * BACKWARD_BUDGET {
                backward_done = true;
            }
            if !backward_done && settled.is_multiple_of(BACKWARD_EVERY) {
                match search.bstack.pop() {
                    None => return None,
                    Some(x) => {
                        let r = self.rev_offsets[x as usize] as usize
                            ..self.rev_offsets[x as usize + 1] as usize;
                        for j in r {
                            let k = self.rev_arcs[j] as usize;
                            if avoid.is_blocked(self.arc_edge[k]) {
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
                let mut arcs = Vec::new();
                let mut v = t;
                while v != s {
                    let k = search.parent_arc[v as usize];
                    arcs.push(k);
                    v = self.source_of_arc(k);
                }
                arcs.reverse();
                return Some((du, arcs, settled));
            }
            let r = self.offsets[u as usize] as usize..self.offsets[u as usize + 1] as usize;
            for k in r {
                if avoid.is_blocked(self.arc_edge[k]) {
                    continue;
                }
                let v = self.targets[k];
                let nd = du + self.weights[k];
                let dv = &mut search.dist[v as usize];
                if nd < *dv {
                    if dv.is_infinite() {
                        search.touched.push(v);
                    }
                    *dv = nd;
                    search.parent_arc[v as usize] = k as u32;
                    let hv = self.h(v, &target, t, active);
                    if hv.is_finite() {
                        search
                            .heap
                            .push(Reverse(((nd + hv).to_bits(), v, nd.to_bits())));
                    }
                }
            }
        }
        None
    }

    fn source_of_arc(&self, k: u32) -> u32 {
        // offsets is sorted; the source is the last v with offsets[v] <= k.
        (self.offsets.partition_point(|&o| o <= k) - 1) as u32
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
            let e = self.arc_edge[k as usize];
            let edge = &net.edges[e as usize];
            distance_m += edge.dist_m;
            duration_s +=
                edge.dist_m / (self.profile.speed_kmh(edge.class, edge.maxspeed_kmh) / 3.6);
            edges.push(e);
            nodes.push(self.targets[k as usize]);
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
