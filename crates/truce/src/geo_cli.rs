//! `truce roads` and `truce route`: the road network of the mission and
//! hazard-aware routing on it (or standalone on an OSM PBF file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use truce_geo::{AvoidSet, Metric, Profile, RoadGraph, RoadNetwork, Search};
use truce_store::{Change, Store};

/// Name of the mission asset holding the road network.
pub const ROADS_ASSET: &str = "roads/graph";
/// Content type of the stored road network.
pub const ROADS_CONTENT_TYPE: &str = "application/vnd.truce.road-network";

/// `truce roads ...`
#[derive(Subcommand)]
pub enum RoadsCmd {
    /// Build the road graph from an OSM PBF extract or GeoJSON lines and store it with the mission.
    Import {
        /// FILE.osm.pbf, or FILE.geojson with LineStrings (property `class` or `highway`).
        file: PathBuf,
    },
    /// Describe the stored road network.
    Info,
}

/// `truce route ...`
#[derive(Args)]
pub struct RouteArgs {
    /// Route on this OSM PBF (or GeoJSON) file instead of the mission's stored network.
    #[arg(long)]
    pbf: Option<PathBuf>,
    /// Origin as LAT,LON.
    #[arg(long, allow_hyphen_values = true)]
    from: String,
    /// Destination as LAT,LON.
    #[arg(long, allow_hyphen_values = true)]
    to: String,
    /// car, truck, 4x4 or foot.
    #[arg(long, default_value = "car")]
    profile: Profile,
    /// What to minimise: distance or time.
    #[arg(long, default_value = "time")]
    metric: Metric,
    /// GeoJSON file of Polygon/MultiPolygon areas the route must not touch.
    #[arg(long)]
    avoid: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_lat_lon(s: &str) -> Result<[f64; 2]> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| anyhow!("{s:?}: expected LAT,LON"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .with_context(|| format!("latitude in {s:?}"))?;
    let lon: f64 = lon
        .trim()
        .parse()
        .with_context(|| format!("longitude in {s:?}"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        bail!("{s:?}: latitude must be in [-90, 90] and longitude in [-180, 180]");
    }
    Ok([lon, lat])
}

fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} {per_sec} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar
}

/// Reads a road network from an OSM PBF or GeoJSON file, with a progress line.
pub fn read_network(file: &Path) -> Result<RoadNetwork> {
    let bar = spinner("reading");
    let name = file.to_string_lossy().to_lowercase();
    let net = if name.ends_with(".geojson") || name.ends_with(".json") {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        truce_geo::roads_from_geojson(&text, &Default::default())?
    } else {
        RoadNetwork::from_pbf(file, &mut |stage, n| {
            bar.set_message(stage.to_string());
            bar.set_position(n);
        })?
    };
    bar.finish_and_clear();
    Ok(net)
}

/// Reads a road file (OSM PBF or GeoJSON lines) and stores it as the
/// mission's road network (asset `roads/graph`, one journal entry). The demo
/// calls this with `../shared/data/roads/caucasus_roads.geojson`-style files.
/// Returns the network and the stored size in bytes.
pub async fn import_roads(
    store: &dyn Store,
    actor: &str,
    file: &Path,
) -> Result<(RoadNetwork, usize)> {
    let net = read_network(file)?;
    let body = net.to_bytes();
    let bytes = body.len();
    store
        .apply(truce_store::Command {
            actor: actor.to_string(),
            reason: Some(format!("roads import {}", file.display())),
            idempotency: None,
            change: Change::PutAsset {
                name: ROADS_ASSET.into(),
                content_type: ROADS_CONTENT_TYPE.into(),
                body,
            },
        })
        .await?;
    Ok((net, bytes))
}

/// The mission's stored road network (fast: a flat binary decode).
pub async fn stored_network(store: &dyn Store) -> Result<RoadNetwork> {
    let (_, body) = store.asset(ROADS_ASSET).await?.ok_or_else(|| {
        anyhow!(
            "this mission has no road network; run `truce roads import FILE.osm.pbf` or pass --pbf"
        )
    })?;
    Ok(RoadNetwork::from_bytes(&body)?)
}

/// Runs `truce roads ...`.
pub async fn roads(store: &dyn Store, actor: String, command: RoadsCmd) -> Result<ExitCode> {
    match command {
        RoadsCmd::Import { file } => {
            let started = std::time::Instant::now();
            let (net, bytes) = import_roads(store, &actor, &file).await?;
            println!(
                "stored road network: {} nodes, {} segments, {:.0} km drivable by car, {} bytes, in {:.1} s",
                net.node_count(),
                net.edge_count(),
                net.length_m(Profile::Car) / 1000.0,
                bytes,
                started.elapsed().as_secs_f64()
            );
        }
        RoadsCmd::Info => {
            let started = std::time::Instant::now();
            let net = stored_network(store).await?;
            println!(
                "road network: {} nodes, {} segments (loaded in {:.3} s)",
                net.node_count(),
                net.edge_count(),
                started.elapsed().as_secs_f64()
            );
            for p in Profile::ALL {
                println!("  {p:<6} {:>10.1} km", net.length_m(p) / 1000.0);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `truce route ...`; exit code 2 when there is no route.
pub async fn route(db: &Path, args: RouteArgs) -> Result<ExitCode> {
    let from = parse_lat_lon(&args.from)?;
    let to = parse_lat_lon(&args.to)?;
    let net = match &args.pbf {
        Some(file) => read_network(file)?,
        None => {
            if !db.exists() {
                bail!(
                    "{} does not exist; pass --pbf FILE.osm.pbf or import roads first",
                    db.display()
                );
            }
            let store = truce_store::sqlite::SqliteStore::open(db).await?;
            stored_network(&store).await?
        }
    };
    let avoid = match &args.avoid {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let polygons = truce_geo::polygons_from_geojson(&text)
                .with_context(|| format!("avoid areas in {}", f.display()))?;
            AvoidSet::new(&net, polygons)?
        }
        None => AvoidSet::empty(),
    };
    let graph = RoadGraph::build(&net, args.profile, args.metric);
    match graph.route(&net, from, to, &avoid, &mut Search::default()) {
        Ok(r) => {
            if args.json {
                let out = json!({
                    "distance_m": r.distance_m,
                    "duration_s": r.duration_s,
                    "cost": r.cost,
                    "metric": match args.metric { Metric::Distance => "distance", Metric::Time => "time" },
                    "profile": args.profile.to_string(),
                    "geometry": r.geometry(),
                    "from": {"requested": [from[0], from[1]], "snapped": r.from.coord, "snap_distance_m": r.from.distance_m},
                    "to": {"requested": [to[0], to[1]], "snapped": r.to.coord, "snap_distance_m": r.to.distance_m},
                    "nodes": r.nodes.len(),
                    "avoid_polygons": avoid.polygons().len(),
                    "blocked_segments": avoid.blocked_count(),
                });
                println!("{out}");
            } else {
                println!(
                    "{:.3} km, {:.1} min ({} profile, shortest by {}), {} road nodes",
                    r.distance_m / 1000.0,
                    r.duration_s / 60.0,
                    args.profile,
                    match args.metric {
                        Metric::Distance => "distance",
                        Metric::Time => "time",
                    },
                    r.nodes.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            eprintln!("no route: {reason}");
            if args.json {
                println!(
                    "{}",
                    json!({"error": "no_route", "reason": format!("{reason:?}"), "message": reason.to_string()})
                );
            }
            Ok(ExitCode::from(2))
        }
    }
}
