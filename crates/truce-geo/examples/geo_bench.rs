//! Truce side of the spatial benchmark (bench/geo/run.sh): generates the
//! data sets, writes them as CSV for PostgreSQL, runs the same queries in
//! memory and writes the answers for comparison.
//!
//! ```text
//! geo_bench incidents N QUERIES DIR
//! geo_bench hazards POINTS POLYGONS DIR
//! geo_bench route (PBF | grid:SIDE) PAIRS AVOID DIR
//! ```

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use geo::{LineString, MultiPolygon, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use truce_core::Sensitivity;
use truce_geo::profile::WayAttrs;
use truce_geo::{
    AvoidSet, Cch, CchSearch, HazardArea, HazardIndex, IncidentIndex, IncidentPoint, IncidentQuery,
    Metric, Profile, RoadClass, RoadGraph, RoadNetwork, Search,
};
use uuid::Uuid;

const CATS: [&str; 6] = [
    "shelling",
    "small_arms",
    "drone_strike",
    "mine_incident",
    "airspace",
    "movement",
];
const STATUS: [&str; 3] = ["reported", "verified", "unverified"];
const PARTIES: [&str; 3] = ["party_a", "party_b", "unknown"];
const T0: i64 = 1_735_689_600; // 2025-01-01T00:00Z
const YEAR: i64 = 365 * 86_400;
// The demo region (Caucasus roads extract box).
const REGION: [f64; 4] = [44.5, 38.8, 48.5, 41.0];

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds used by this thread (user + system, from
/// /proc/thread-self/stat, 10 ms ticks): on the shared, loaded machine wall
/// time also counts the time the thread waited for a core.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?) as f64 / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn writer(dir: &Path, name: &str) -> std::io::BufWriter<std::fs::File> {
    std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join(name)).unwrap())
}

fn incidents(n: usize, nq: usize, dir: &Path) {
    let mut rng = StdRng::seed_from_u64(42);
    let mut f = writer(dir, "incidents.csv");
    // Rows are generated, written to the CSV and handed to the index one at
    // a time, so the generator holds no copy of the input (at 10M it would
    // be ~2 GB and dwarf the index in the peak RSS).
    let rss_start = peak_rss_kb();
    let t = Instant::now();
    let rows = (0..n).map(|i| {
        // Clustered like real reports: half near 50 hot spots, half uniform.
        let (lon, lat) = if i % 2 == 0 {
            let h = (i / 2) % 50;
            let mut r = StdRng::seed_from_u64(h as u64);
            let (cx, cy) = (
                r.gen_range(REGION[0]..REGION[2]),
                r.gen_range(REGION[1]..REGION[3]),
            );
            (
                (cx + rng.gen_range(-0.15..0.15f64)).clamp(REGION[0], REGION[2]),
                (cy + rng.gen_range(-0.1..0.1f64)).clamp(REGION[1], REGION[3]),
            )
        } else {
            (
                rng.gen_range(REGION[0]..REGION[2]),
                rng.gen_range(REGION[1]..REGION[3]),
            )
        };
        // Round to 6 decimals so both sides read the same numbers.
        let lon = (lon * 1e6).round() / 1e6;
        let lat = (lat * 1e6).round() / 1e6;
        let time = T0 + rng.gen_range(0..YEAR);
        let (c, s, p) = (
            rng.gen_range(0..CATS.len()),
            rng.gen_range(0..STATUS.len()),
            rng.gen_range(0..PARTIES.len()),
        );
        let id = Uuid::from_u128(i as u128 + 1);
        writeln!(
            f,
            "{},{},{lon},{lat},{time},{},{},{}",
            i + 1,
            id,
            CATS[c],
            STATUS[s],
            PARTIES[p]
        )
        .unwrap();
        IncidentPoint {
            id,
            lon,
            lat,
            time,
            category: CATS[c].into(),
            status: STATUS[s].into(),
            party: PARTIES[p].into(),
            sensitivity: Sensitivity::Public,
        }
    });
    let idx = IncidentIndex::build(rows).unwrap();
    // Generation and CSV writing are inside this time (streamed together).
    let build_s = t.elapsed().as_secs_f64();
    f.flush().unwrap();
    drop(f);
    // Queries: a box of 0.1-0.5 degrees, a 7-day window, one category.
    let mut qf = writer(dir, "queries.csv");
    let mut out = writer(dir, "truce_incidents.csv");
    let mut lat_us = Vec::with_capacity(nq);
    let mut total = 0usize;
    for q in 0..nq {
        let (w, h) = (rng.gen_range(0.1..0.5), rng.gen_range(0.1..0.4));
        let x0 = (rng.gen_range(REGION[0]..REGION[2] - w) * 1e4).round() / 1e4;
        let y0 = (rng.gen_range(REGION[1]..REGION[3] - h) * 1e4).round() / 1e4;
        let (x1, y1) = (
            ((x0 + w) * 1e4).round() / 1e4,
            ((y0 + h) * 1e4).round() / 1e4,
        );
        let from = T0 + rng.gen_range(0..YEAR - 7 * 86_400);
        let to = from + 7 * 86_400;
        let cat = CATS[rng.gen_range(0..CATS.len())];
        writeln!(qf, "{},{x0},{y0},{x1},{y1},{from},{to},{cat}", q + 1).unwrap();
        let query = IncidentQuery {
            bbox: Some([x0, y0, x1, y1]),
            from: Some(from),
            to: Some(to),
            categories: Some(vec![cat.to_string()]),
            ..Default::default()
        };
        let t = Instant::now();
        let ids = idx.query(&query);
        lat_us.push(t.elapsed().as_secs_f64() * 1e6);
        total += ids.len();
        let sum: u128 = ids.iter().map(|id| id.as_u128()).sum();
        writeln!(out, "{},{},{}", q + 1, ids.len(), sum).unwrap();
    }
    let bytes = idx.heap_bytes();
    println!(
        "{{\"bench\":\"incidents\",\"n\":{n},\"queries\":{nq},\"build_with_generation_s\":{build_s:.3},\"p50_us\":{:.2},\"p95_us\":{:.2},\"mean_results\":{:.1},\"index_bytes_per_incident\":{:.1},\"peak_rss_mb\":{:.0},\"rss_at_start_mb\":{:.0}}}",
        pct(&mut lat_us.clone(), 0.5),
        pct(&mut lat_us, 0.95),
        total as f64 / nq as f64,
        bytes as f64 / n as f64,
        peak_rss_kb() as f64 / 1024.0,
        rss_start as f64 / 1024.0
    );
}

fn random_polygon(rng: &mut StdRng, cx: f64, cy: f64, r_deg: f64) -> MultiPolygon<f64> {
    // A star-shaped polygon: vertices at increasing angles, random radii.
    let k = rng.gen_range(6..16);
    let mut pts: Vec<(f64, f64)> = (0..k)
        .map(|i| {
            let a = i as f64 / k as f64 * std::f64::consts::TAU;
            let r = r_deg * rng.gen_range(0.5..1.0);
            (
                ((cx + r * a.cos() / cy.to_radians().cos()) * 1e6).round() / 1e6,
                ((cy + r * a.sin()) * 1e6).round() / 1e6,
            )
        })
        .collect();
    pts.push(pts[0]);
    MultiPolygon::new(vec![Polygon::new(LineString::from(pts), vec![])])
}

fn wkt(mp: &MultiPolygon<f64>) -> String {
    let mut s = String::from("POLYGON((");
    for (i, c) in mp.0[0].exterior().0.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write!(s, "{} {}", c.x, c.y).unwrap();
    }
    s.push_str("))");
    s
}

fn hazards(np: usize, nh: usize, dir: &Path) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut hf = writer(dir, "hazards.csv");
    let mut areas = Vec::with_capacity(nh);
    for i in 0..nh {
        let (cx, cy) = (
            rng.gen_range(REGION[0]..REGION[2]),
            rng.gen_range(REGION[1]..REGION[3]),
        );
        let r = rng.gen_range(0.002..0.03);
        let mp = random_polygon(&mut rng, cx, cy, r);
        writeln!(hf, "{},\"SRID=4326;{}\"", i + 1, wkt(&mp)).unwrap();
        areas.push(HazardArea {
            id: Uuid::from_u128(i as u128 + 1),
            polygon: mp,
            active_from: None,
            active_to: None,
        });
    }
    drop(hf);
    let mut pf = writer(dir, "points.csv");
    let pts: Vec<[f64; 2]> = (0..np)
        .map(|i| {
            let p = [
                (rng.gen_range(REGION[0]..REGION[2]) * 1e6).round() / 1e6,
                (rng.gen_range(REGION[1]..REGION[3]) * 1e6).round() / 1e6,
            ];
            writeln!(pf, "{},{},{}", i + 1, p[0], p[1]).unwrap();
            p
        })
        .collect();
    drop(pf);
    let t = Instant::now();
    let idx = HazardIndex::new(areas).unwrap();
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut pairs = 0usize;
    let mut inside = 0usize;
    for p in &pts {
        let k = idx.areas_at(*p, None).count();
        pairs += k;
        inside += usize::from(k > 0);
    }
    let check_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"bench\":\"hazards\",\"points\":{np},\"polygons\":{nh},\"build_s\":{build_s:.3},\"check_s\":{check_s:.3},\"pairs\":{pairs},\"points_inside\":{inside},\"peak_rss_mb\":{:.0}}}",
        peak_rss_kb() as f64 / 1024.0
    );
}

fn grid(side: usize, rng: &mut StdRng) -> RoadNetwork {
    let step = 0.002;
    let mut nodes = Vec::with_capacity(side * side);
    for r in 0..side {
        for c in 0..side {
            nodes.push([
                ((44.6 + c as f64 * step + rng.gen_range(-0.0006..0.0006)) * 1e7).round() / 1e7,
                ((39.0 + r as f64 * step + rng.gen_range(-0.0006..0.0006)) * 1e7).round() / 1e7,
            ]);
        }
    }
    let classes = [
        RoadClass::Primary,
        RoadClass::Secondary,
        RoadClass::Tertiary,
        RoadClass::Residential,
    ];
    let mut segs = Vec::new();
    for r in 0..side {
        for c in 0..side {
            let v = (r * side + c) as u32;
            for (dr, dc) in [(0, 1), (1, 0)] {
                let (r2, c2) = (r + dr, c + dc);
                if r2 >= side || c2 >= side || rng.gen_bool(0.1) {
                    continue;
                }
                let flags = match rng.gen_range(0..20) {
                    0 => Profile::Car.forward_bit(),
                    1 => Profile::Car.backward_bit(),
                    _ => Profile::Car.forward_bit() | Profile::Car.backward_bit(),
                };
                segs.push((
                    v,
                    (r2 * side + c2) as u32,
                    WayAttrs {
                        class: classes[rng.gen_range(0..4)],
                        maxspeed_kmh: 0,
                        flags,
                    },
                ));
            }
        }
    }
    RoadNetwork::from_parts(nodes, segs).unwrap()
}

fn route(src: &str, npairs: usize, navoid: usize, dir: &Path) {
    let mut rng = StdRng::seed_from_u64(11);
    let t = Instant::now();
    let net = match src.strip_prefix("grid:") {
        Some(side) => grid(side.parse().unwrap(), &mut rng),
        None => RoadNetwork::from_pbf(Path::new(src), &mut |_, _| {}).unwrap(),
    };
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut g = RoadGraph::build(&net, Profile::Car, Metric::Distance);
    let graph_s = t.elapsed().as_secs_f64();
    // Once per network, independent of any avoid set: a customizable
    // contraction hierarchy when its customization stays within the
    // triangle budget (CCH_TRIANGLES, default 200 per node), else ALT landmarks.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let budget = env("CCH_TRIANGLES").unwrap_or(200 * net.node_count() as u64);
    let t = Instant::now();
    // CCH_TRIANGLES=0 skips the attempt (quicker A* + ALT experiments).
    let cch = if budget == 0 {
        None
    } else {
        Cch::build(&g, &net, budget)
    };
    let cch_s = t.elapsed().as_secs_f64();
    let (cch_edges, cch_triangles) = cch
        .as_ref()
        .map_or((0, 0), |c| (c.edge_count(), c.triangle_count()));
    let landmarks = if cch.is_some() {
        0
    } else {
        env("LANDMARKS").unwrap_or(64) as usize
    };
    let t = Instant::now();
    g.add_landmarks(landmarks);
    let landmarks_s = t.elapsed().as_secs_f64();
    // Edges for pgRouting: cost / reverse_cost (-1 = not allowed), vertex ids = node + 1.
    let mut ef = writer(dir, "edges.csv");
    for (i, e) in net.edges().iter().enumerate() {
        let cost = |bit: u8| if e.flags & bit != 0 { e.dist_m } else { -1.0 };
        let (a, b) = (net.coord(e.a), net.coord(e.b));
        writeln!(
            ef,
            "{},{},{},{:?},{:?},\"SRID=4326;LINESTRING({} {},{} {})\"",
            i + 1,
            e.a + 1,
            e.b + 1,
            cost(Profile::Car.forward_bit()),
            cost(Profile::Car.backward_bit()),
            a[0],
            a[1],
            b[0],
            b[1]
        )
        .unwrap();
    }
    drop(ef);
    // Nodes with at least one car arc, to draw O-D pairs from.
    let used: Vec<u32> = (0..net.node_count() as u32)
        .filter(|&v| g.arcs(v).next().is_some())
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
    for &v in &used {
        let c = net.coord(v);
        (x0, y0, x1, y1) = (x0.min(c[0]), y0.min(c[1]), x1.max(c[0]), y1.max(c[1]));
    }
    let mut af = writer(dir, "avoid.csv");
    let mut polys = Vec::new();
    for i in 0..navoid {
        let (cx, cy, r) = (
            rng.gen_range(x0..x1),
            rng.gen_range(y0..y1),
            rng.gen_range(0.001..0.004),
        );
        let mp = random_polygon(&mut rng, cx, cy, r);
        writeln!(af, "{},\"SRID=4326;{}\"", i + 1, wkt(&mp)).unwrap();
        polys.push(mp);
    }
    drop(af);
    let pairs: Vec<(u32, u32)> = (0..npairs)
        .map(|_| {
            (
                used[rng.gen_range(0..used.len())],
                used[rng.gen_range(0..used.len())],
            )
        })
        .collect();
    let mut pf = writer(dir, "pairs.csv");
    for (s, t) in &pairs {
        writeln!(pf, "{},{}", s + 1, t + 1).unwrap();
    }
    drop(pf);
    // The segment R-tree is built once per network (like the GiST index on
    // the edge table, which the PostgreSQL side builds at load time).
    let t = Instant::now();
    let _ = net.edges_in_box([0.0, 0.0], [0.0, 0.0]).count();
    let edge_tree_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let avoid = AvoidSet::new(&net, polys).unwrap();
    let blocking_s = t.elapsed().as_secs_f64();
    // The avoid set's customization belongs to the avoid set's time.
    let metric = cch.as_ref().map(|c| c.customize(&g, &avoid));
    let avoid_s = t.elapsed().as_secs_f64();
    let mut search = Search::default();
    let mut cch_search = CchSearch::default();
    let mut out = writer(dir, "truce_routes.csv");
    let mut lat_ms = Vec::new();
    let cpu0 = cpu_s();
    let t = Instant::now();
    let mut found = 0;
    let mut settled_sum = 0usize;
    for (s, tt) in &pairs {
        let q = Instant::now();
        let r = match (&cch, &metric) {
            (Some(c), Some(m)) => c.shortest_path(&g, m, *s, *tt, &mut cch_search),
            _ => g.shortest_path(*s, *tt, &avoid, &mut search),
        };
        lat_ms.push(q.elapsed().as_secs_f64() * 1e3);
        match r {
            Some((c, _, settled)) => {
                found += 1;
                settled_sum += settled;
                writeln!(out, "{},{},{:?}", s + 1, tt + 1, c).unwrap()
            }
            None => writeln!(out, "{},{},", s + 1, tt + 1).unwrap(),
        }
    }
    let route_s = t.elapsed().as_secs_f64();
    let route_cpu_s = cpu_s() - cpu0;
    // REPEAT=N (experiments only): the same routes N - 1 more times, their
    // wall seconds reported apart; the figures above are the first pass.
    let mut again = Vec::new();
    for _ in 1..env("REPEAT").unwrap_or(1) {
        let t = Instant::now();
        for (s, tt) in &pairs {
            match (&cch, &metric) {
                (Some(c), Some(m)) => c.shortest_path(&g, m, *s, *tt, &mut cch_search),
                _ => g.shortest_path(*s, *tt, &avoid, &mut search),
            };
        }
        again.push(format!("{:.3}", t.elapsed().as_secs_f64()));
    }
    if !again.is_empty() {
        eprintln!("{{\"routes_s_again\":[{}]}}", again.join(","));
    }
    println!(
        "{{\"bench\":\"route\",\"network\":\"{src}\",\"nodes\":{},\"segments\":{},\"load_s\":{load_s:.3},\"graph_s\":{graph_s:.3},\"engine\":\"{}\",\"cch_s\":{cch_s:.3},\"cch_edges\":{cch_edges},\"cch_triangles\":{cch_triangles},\"landmarks\":{landmarks},\"landmarks_s\":{landmarks_s:.3},\"edge_tree_s\":{edge_tree_s:.3},\"pairs\":{npairs},\"found\":{found},\"avoid_polygons\":{navoid},\"blocked_segments\":{},\"blocking_s\":{blocking_s:.4},\"avoid_s\":{avoid_s:.4},\"routes_s\":{route_s:.3},\"routes_cpu_s\":{route_cpu_s:.2},\"p50_ms\":{:.3},\"settled_mean\":{},\"peak_rss_mb\":{:.0}}}",
        net.node_count(),
        net.edge_count(),
        if cch.is_some() { "cch" } else { "alt" },
        avoid.blocked_count(),
        pct(&mut lat_ms, 0.5),
        settled_sum / found.max(1),
        peak_rss_kb() as f64 / 1024.0
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let usage = "geo_bench incidents N QUERIES DIR | hazards POINTS POLYGONS DIR | route (PBF|grid:SIDE) PAIRS AVOID DIR";
    match a.get(1).map(String::as_str) {
        Some("incidents") if a.len() == 5 => incidents(
            a[2].parse().unwrap(),
            a[3].parse().unwrap(),
            Path::new(&a[4]),
        ),
        Some("hazards") if a.len() == 5 => hazards(
            a[2].parse().unwrap(),
            a[3].parse().unwrap(),
            Path::new(&a[4]),
        ),
        Some("route") if a.len() == 6 => route(
            &a[2],
            a[3].parse().unwrap(),
            a[4].parse().unwrap(),
            Path::new(&a[5]),
        ),
        _ => {
            eprintln!("{usage}");
            std::process::exit(1);
        }
    }
}
