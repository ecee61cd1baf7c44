//! Truce spatial engine: in-memory spatial indexes, hazard checks, road
//! graphs from OpenStreetMap or GeoJSON, and exact hazard-aware routing.
//!
//! - [`RoadNetwork`]: nodes and segments with per-profile direction flags,
//!   imported from OSM PBF ([`RoadNetwork::from_pbf`]) or GeoJSON lines
//!   ([`roads_from_geojson`]); stored with the mission as a binary asset.
//! - [`RoadGraph`]: CSR arrays for one [`Profile`] and [`Metric`]; exact
//!   shortest paths (A* with a consistent lower bound) that skip the segments
//!   an [`AvoidSet`] blocks, so a new hazard needs no preprocessing.
//!
//! - [`IncidentIndex`] (bbox + time + category/status/party map queries),
//!   [`AreaIndex`] (AoR and post for a point, nearest posts, counts per AoR
//!   per day) and [`HazardIndex`] (point / LineString within D geodesic
//!   metres of hazard areas active on a date).
//!
//! No I/O beyond reading the files it is given; no async; no database.

pub mod cch;
pub mod error;
pub mod geom;
pub mod graph;
pub mod network;
pub mod profile;

pub use cch::{Cch, CchMetric, CchSearch};
pub use error::GeoError;
pub use graph::{AvoidSet, NoRoute, RoadGraph, Route, Search, Snap};
pub use network::{Edge, RoadNetwork, geodesic_m};
pub use profile::{Metric, Profile, RoadClass};
pub mod geojson_io;
pub use geojson_io::polygons_from_geojson;
pub mod geojson_roads;
pub use geojson_roads::{GeoJsonRoadOptions, roads_from_geojson};
pub mod areas;
pub mod hazards;
pub mod incidents;
pub use areas::{AorArea, AreaIndex, NearPost, PostPoint, Responsible};
pub use hazards::{HazardArea, HazardHit, HazardIndex};
pub use incidents::{IncidentIndex, IncidentPoint, IncidentQuery, IncidentRow};
pub mod route_check;
pub use route_check::{CheckScope, check_path, check_route};
