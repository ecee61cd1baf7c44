//! Errors of the spatial engine.

use thiserror::Error;

/// What can go wrong when building or querying spatial structures.
#[derive(Debug, Error)]
pub enum GeoError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An OpenStreetMap PBF file could not be decoded.
    #[error("OSM PBF: {0}")]
    Pbf(String),
    /// A GeoJSON document could not be used.
    #[error("GeoJSON: {0}")]
    GeoJson(String),
    /// A coordinate or geometry is unusable (NaN, out of WGS84 range, too few points...).
    #[error("invalid geometry: {0}")]
    InvalidGeometry(String),
    /// A stored road graph could not be decoded.
    #[error("road graph asset: {0}")]
    BadAsset(String),
    /// The input produced no usable road.
    #[error("no usable road in the input for this profile")]
    EmptyNetwork,
}
