//! Customizable contraction hierarchy (Dibbelt, Strasser, Wagner) over a
//! [`RoadGraph`]: exact shortest paths under any avoid set, with no
//! preprocessing that depends on the avoid set beyond a customization pass.
//!
//! - **Order** (once per network, metric- and hazard-independent): nested
//!   dissection by coordinates. A connected part is cut at the median along
//!   the best of four directions; the smaller side of the cut's boundary is
//!   the separator and takes the highest ranks; both halves recurse.
//! - **Contraction** (once per network): the chordal supergraph of that
//!   order (eliminating a node joins its higher neighbours), built by the
//!   elimination-tree merge, so no witness search is needed.
//! - **Customization** ([`Cch::customize`], once per avoid set): every arc
//!   of the supergraph gets, per direction, the cost of the best path through
//!   lower-ranked nodes, bottom-up over lower triangles; blocked segments
//!   are simply left out (infinite cost). A new hazard means a new
//!   customization, never a new order or contraction.
//! - **Query** ([`Cch::shortest_path`]): upward searches from origin and
//!   destination along their elimination-tree ancestors (no priority queue),
//!   then the best meeting node; shortcuts unpacked to network arcs.
//!
//! The cost of customization and of a query grows with the separators: tiny
//! on real road networks, large on grid-like ones. [`Cch::build`] therefore
//! refuses (returns `None`) when the supergraph would exceed a triangle
//! budget, and callers keep the A* + landmarks search of [`RoadGraph`].

use crate::graph::{AvoidSet, RoadGraph};
use crate::network::RoadNetwork;

const NONE: u32 = u32::MAX;
/// Tag of a `via` entry that names a network arc (not a middle node).
const ARC: u32 = 1 << 31;
/// Parts at most this large are ordered without further dissection.
const LEAF: usize = 8;

/// The metric-independent part: node order, elimination tree and the
/// chordal supergraph (upward arcs in CSR form, by rank).
#[derive(Debug)]
pub struct Cch {
    /// Rank of each graph node.
    rank: Vec<u32>,
    /// Elimination-tree parent of each rank (`NONE` for roots).
    parent: Vec<u32>,
    /// Upward arcs of rank `r`: `first[r]..first[r + 1]` in `head`, sorted.
    first: Vec<u32>,
    head: Vec<u32>,
    /// Lower end (rank) of each supergraph edge.
    tail: Vec<u32>,
    /// For each graph arc: supergraph edge * 2 + direction (0 up, 1 down), or `NONE` (loop).
    arc_slot: Vec<u32>,
    triangles: u64,
}

/// One customization: per supergraph edge and direction, the best cost
/// through lower-ranked nodes under one avoid set, and how to unpack it.
#[derive(Debug, Clone)]
pub struct CchMetric {
    /// Cost from lower to higher end.
    up: Vec<f64>,
    /// Cost from higher to lower end.
    down: Vec<f64>,
    /// Middle node (rank) of the best path, or `ARC | graph arc`, or `NONE`.
    up_via: Vec<u32>,
    down_via: Vec<u32>,
}

/// Reusable query state (distances along the two ancestor chains).
#[derive(Debug, Default)]
pub struct CchSearch {
    df: Vec<f64>,
    db: Vec<f64>,
    /// Edge and lower node by which a node was reached (forward, backward).
    pf: Vec<(u32, u32)>,
    pb: Vec<(u32, u32)>,
}

/// Undirected simple adjacency (no loops, no duplicates) of a road graph.
fn undirected(g: &RoadGraph) -> (Vec<u32>, Vec<u32>) {
    let n = g.node_count();
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(g.arc_count() * 2);
    for u in 0..n as u32 {
        for (v, _, _) in g.arcs(u) {
            if u != v {
                pairs.push((u, v));
                pairs.push((v, u));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut first = vec![0u32; n + 1];
    for &(u, _) in &pairs {
        first[u as usize + 1] += 1;
    }
    for v in 0..n {
        first[v + 1] += first[v];
    }
    (first, pairs.into_iter().map(|p| p.1).collect())
}

/// Nested-dissection order: `order[i]` is the node given rank `i`.
fn nested_dissection(first: &[u32], adj: &[u32], xy: &[[f64; 2]]) -> Vec<u32> {
    let n = xy.len();
    let mut order = vec![NONE; n];
    let mut next = n; // ranks are handed out from the top down
    let mut stamp = vec![0u32; n];
    let mut side = vec![false; n];
    let mut gen_ = 0u32;
    let mut work: Vec<Vec<u32>> = vec![(0..n as u32).collect()];
    let neighbours = |v: u32| &adj[first[v as usize] as usize..first[v as usize + 1] as usize];
    while let Some(set) = work.pop() {
        if set.len() <= LEAF {
            // Fewest neighbours lowest.
            let mut s = set;
            s.sort_by_key(|&v| (std::cmp::Reverse(neighbours(v).len()), v));
            for v in s {
                next -= 1;
                order[next] = v;
            }
            continue;
        }
        gen_ += 1;
        for &v in &set {
            stamp[v as usize] = gen_;
        }
        // Connected components of the part: each is dissected on its own.
        let mut comps: Vec<Vec<u32>> = Vec::new();
        gen_ += 1;
        for &v in &set {
            if stamp[v as usize] != gen_ - 1 {
                continue;
            }
            stamp[v as usize] = gen_;
            let mut comp = vec![v];
            let mut i = 0;
            while i < comp.len() {
                let u = comp[i];
                i += 1;
                for &w in neighbours(u) {
                    if stamp[w as usize] == gen_ - 1 {
                        stamp[w as usize] = gen_;
                        comp.push(w);
                    }
                }
            }
            comps.push(comp);
        }
        if comps.len() > 1 {
            work.extend(comps);
            continue;
        }
        let set = comps.pop().unwrap_or_default();
        // All of `set` is stamped `gen_` now. Try four cut directions.
        let mut best: Option<(Vec<u32>, Vec<u32>, Vec<u32>)> = None;
        for dir in [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]] {
            let mut s = set.clone();
            let key = |v: u32| xy[v as usize][0] * dir[0] + xy[v as usize][1] * dir[1];
            s.sort_unstable_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
            let half = s.len() / 2;
            for (i, &v) in s.iter().enumerate() {
                side[v as usize] = i >= half;
            }
            let boundary = |part: &[u32]| -> Vec<u32> {
                part.iter()
                    .copied()
                    .filter(|&v| {
                        neighbours(v).iter().any(|&w| {
                            stamp[w as usize] == gen_ && side[w as usize] != side[v as usize]
                        })
                    })
                    .collect()
            };
            let (a, b) = s.split_at(half);
            let (ba, bb) = (boundary(a), boundary(b));
            let sep = if ba.len() <= bb.len() { ba } else { bb };
            if best.as_ref().is_none_or(|x| sep.len() < x.2.len()) {
                best = Some((a.to_vec(), b.to_vec(), sep));
            }
        }
        let Some((a, b, sep)) = best else { continue };
        for &v in &sep {
            next -= 1;
            order[next] = v;
            stamp[v as usize] = 0;
        }
        let rest = |part: Vec<u32>| -> Vec<u32> {
            part.into_iter()
                .filter(|&v| stamp[v as usize] == gen_)
                .collect()
        };
        let (ra, rb) = (rest(a), rest(b));
        if !ra.is_empty() {
            work.push(ra);
        }
        if !rb.is_empty() {
            work.push(rb);
        }
    }
    debug_assert_eq!(next, 0);
    order
}

impl Cch {
    /// Orders and contracts `g` (coordinates from `net`). Returns `None`
    /// when customizing would cost more than `max_triangles` triangle
    /// relaxations (grid-like networks with large separators), so callers
    /// can fall back to A* with landmarks.
    pub fn build(g: &RoadGraph, net: &RoadNetwork, max_triangles: u64) -> Option<Cch> {
        let n = g.node_count();
        if n >= ARC as usize || g.arc_count() >= ARC as usize {
            return None;
        }
        let (afirst, adj) = undirected(g);
        let lat0 = if n == 0 {
            0.0
        } else {
            (0..n as u32).map(|v| net.coord(v)[1]).sum::<f64>() / n as f64
        };
        let kx = lat0.to_radians().cos();
        let xy: Vec<[f64; 2]> = (0..n as u32)
            .map(|v| {
                let c = net.coord(v);
                [c[0] * kx, c[1]]
            })
            .collect();
        let order = nested_dissection(&afirst, &adj, &xy);
        let mut rank = vec![0u32; n];
        for (r, &v) in order.iter().enumerate() {
            rank[v as usize] = r as u32;
        }
        // Chordal supergraph by the elimination-tree merge.
        let mut upper: Vec<Vec<u32>> = vec![Vec::new(); n];
        for u in 0..n {
            for &v in &adj[afirst[u] as usize..afirst[u + 1] as usize] {
                let (ru, rv) = (rank[u], rank[v as usize]);
                if ru < rv {
                    upper[ru as usize].push(rv);
                }
            }
        }
        let mut parent = vec![NONE; n];
        let mut triangles = 0u64;
        let mut arcs = 0u64;
        for r in 0..n {
            let mut list = std::mem::take(&mut upper[r]);
            list.sort_unstable();
            list.dedup();
            let k = list.len() as u64;
            triangles += k * k.saturating_sub(1) / 2;
            arcs += k;
            if triangles > max_triangles || arcs >= ARC as u64 / 2 {
                return None;
            }
            if let Some(&p) = list.first() {
                parent[r] = p;
                let rest = &list[1..];
                upper[p as usize].extend_from_slice(rest);
            }
            upper[r] = list;
        }
        let mut first = Vec::with_capacity(n + 1);
        first.push(0u32);
        let mut head = Vec::with_capacity(arcs as usize);
        let mut tail = Vec::with_capacity(arcs as usize);
        for (r, list) in upper.into_iter().enumerate() {
            tail.extend(std::iter::repeat_n(r as u32, list.len()));
            head.extend(list);
            first.push(head.len() as u32);
        }
        let mut cch = Cch {
            rank,
            parent,
            first,
            head,
            tail,
            arc_slot: Vec::new(),
            triangles,
        };
        let mut arc_slot = Vec::with_capacity(g.arc_count());
        for u in 0..n as u32 {
            for (v, _, _) in g.arcs(u) {
                let (ru, rv) = (cch.rank[u as usize], cch.rank[v as usize]);
                let slot = if ru < rv {
                    cch.edge(ru, rv).map(|e| e * 2)
                } else if rv < ru {
                    cch.edge(rv, ru).map(|e| e * 2 + 1)
                } else {
                    None
                };
                arc_slot.push(slot.unwrap_or(NONE));
            }
        }
        cch.arc_slot = arc_slot;
        Some(cch)
    }

    /// Supergraph edge between ranks `lo < hi`.
    fn edge(&self, lo: u32, hi: u32) -> Option<u32> {
        let (a, b) = (
            self.first[lo as usize] as usize,
            self.first[lo as usize + 1] as usize,
        );
        self.head[a..b]
            .binary_search(&hi)
            .ok()
            .map(|i| (a + i) as u32)
    }

    /// Number of supergraph edges (each with two directions).
    pub fn edge_count(&self) -> usize {
        self.head.len()
    }

    /// Lower triangles relaxed by one customization (its cost).
    pub fn triangle_count(&self) -> u64 {
        self.triangles
    }

    /// Customizes for one avoid set: arcs on blocked segments are left out,
    /// then every supergraph edge gets its best cost through lower nodes.
    pub fn customize(&self, g: &RoadGraph, avoid: &AvoidSet) -> CchMetric {
        let m = self.head.len();
        let mut mt = CchMetric {
            up: vec![f64::INFINITY; m],
            down: vec![f64::INFINITY; m],
            up_via: vec![NONE; m],
            down_via: vec![NONE; m],
        };
        let mut k = 0u32;
        for u in 0..g.node_count() as u32 {
            for (_, w, seg) in g.arcs(u) {
                let slot = self.arc_slot[k as usize];
                if slot != NONE && !avoid.is_blocked(seg) {
                    let e = (slot / 2) as usize;
                    let (cost, via) = if slot.is_multiple_of(2) {
                        (&mut mt.up[e], &mut mt.up_via[e])
                    } else {
                        (&mut mt.down[e], &mut mt.down_via[e])
                    };
                    if w < *cost {
                        *cost = w;
                        *via = ARC | k;
                    }
                }
                k += 1;
            }
        }
        let n = self.rank.len();
        for x in 0..n {
            let (a, b) = (self.first[x] as usize, self.first[x + 1] as usize);
            for i in a..b {
                let (to_i, from_i) = (mt.up[i], mt.down[i]); // x -> y_i, y_i -> x
                if to_i.is_infinite() && from_i.is_infinite() {
                    continue;
                }
                let yi = self.head[i] as usize;
                let (mut pos, end) = (self.first[yi] as usize, self.first[yi + 1] as usize);
                for j in i + 1..b {
                    let yj = self.head[j];
                    pos += self.head[pos..end].partition_point(|&h| h < yj);
                    if pos >= end || self.head[pos] != yj {
                        // Impossible in a chordal supergraph; never relax a wrong edge.
                        debug_assert!(false, "supergraph is not chordal");
                        continue;
                    }
                    // y_i -> x -> y_j
                    let c = from_i + mt.up[j];
                    if c < mt.up[pos] {
                        mt.up[pos] = c;
                        mt.up_via[pos] = x as u32;
                    }
                    // y_j -> x -> y_i
                    let c = mt.down[j] + to_i;
                    if c < mt.down[pos] {
                        mt.down[pos] = c;
                        mt.down_via[pos] = x as u32;
                    }
                }
            }
        }
        mt
    }

    /// Exact shortest path from node `s` to node `t` under the avoid set
    /// `metric` was customized for: (cost, graph arcs in order, ancestors
    /// visited); `None` when there is none.
    pub fn shortest_path(
        &self,
        g: &RoadGraph,
        metric: &CchMetric,
        s: u32,
        t: u32,
        search: &mut CchSearch,
    ) -> Option<(f64, Vec<u32>, usize)> {
        let n = self.rank.len();
        if s as usize >= n || t as usize >= n || metric.up.len() != self.head.len() {
            return None;
        }
        if search.df.len() != n {
            search.df = vec![f64::INFINITY; n];
            search.db = vec![f64::INFINITY; n];
            search.pf = vec![(NONE, NONE); n];
            search.pb = vec![(NONE, NONE); n];
        }
        let (rs, rt) = (self.rank[s as usize], self.rank[t as usize]);
        let mut visited = 0usize;
        for (start, dist, pred, costs) in [
            (rs, &mut search.df, &mut search.pf, &metric.up),
            (rt, &mut search.db, &mut search.pb, &metric.down),
        ] {
            dist[start as usize] = 0.0;
            let mut x = start;
            while x != NONE {
                visited += 1;
                let dx = dist[x as usize];
                if dx.is_finite() {
                    let r = self.first[x as usize] as usize..self.first[x as usize + 1] as usize;
                    for (e, (&y, &w)) in self.head[r.clone()]
                        .iter()
                        .zip(&costs[r.clone()])
                        .enumerate()
                    {
                        let (e, y) = (e + r.start, y as usize);
                        let c = dx + w;
                        if c < dist[y] {
                            dist[y] = c;
                            pred[y] = (e as u32, x);
                        }
                    }
                }
                x = self.parent[x as usize];
            }
        }
        let (mut best, mut meet) = (f64::INFINITY, NONE);
        let mut x = rs;
        while x != NONE {
            let c = search.df[x as usize] + search.db[x as usize];
            if c < best {
                best = c;
                meet = x;
            }
            x = self.parent[x as usize];
        }
        let path = (meet != NONE).then(|| {
            // Supergraph arcs s -> meet (up), then meet -> t (down).
            let mut up_part = Vec::new();
            let mut y = meet;
            while y != rs {
                let (e, x) = search.pf[y as usize];
                up_part.push((e, false));
                y = x;
            }
            up_part.reverse();
            let mut y = meet;
            while y != rt {
                let (e, x) = search.pb[y as usize];
                up_part.push((e, true));
                y = x;
            }
            let mut arcs = Vec::new();
            for (e, down) in up_part {
                self.unpack(metric, e, down, &mut arcs);
            }
            arcs
        });
        for (start, dist, pred) in [
            (rs, &mut search.df, &mut search.pf),
            (rt, &mut search.db, &mut search.pb),
        ] {
            let mut x = start;
            while x != NONE {
                dist[x as usize] = f64::INFINITY;
                pred[x as usize] = (NONE, NONE);
                x = self.parent[x as usize];
            }
        }
        let arcs = path?;
        // Cost summed along the path, in travel order (as Dijkstra sums it).
        let cost = arcs.iter().map(|&k| g.arc_weight(k)).sum();
        Some((cost, arcs, visited))
    }

    /// Appends the graph arcs of supergraph edge `e` (downward if `down`) in travel order.
    fn unpack(&self, metric: &CchMetric, e: u32, down: bool, out: &mut Vec<u32>) {
        let mut stack = vec![(e, down)];
        while let Some((e, down)) = stack.pop() {
            let via = if down {
                metric.down_via[e as usize]
            } else {
                metric.up_via[e as usize]
            };
            if via == NONE {
                continue;
            }
            if via & ARC != 0 {
                out.push(via & !ARC);
                continue;
            }
            let (x, y) = (self.tail[e as usize], self.head[e as usize]);
            let (Some(wx), Some(wy)) = (self.edge(via, x), self.edge(via, y)) else {
                continue;
            };
            if down {
                // y -> w (down on w-y), then w -> x (up on w-x)
                stack.push((wx, false));
                stack.push((wy, true));
            } else {
                // x -> w (down on w-x), then w -> y (up on w-y)
                stack.push((wy, false));
                stack.push((wx, true));
            }
        }
    }
}
