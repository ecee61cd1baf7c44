//! Incident exchange: the shapes a table of incidents takes (Truce's dotted
//! CSV, HXL-tagged CSV, ACLED- and UCDP GED-shaped CSV, XLSX) and the
//! mapping between them and Truce's incident fields.
//!
//! Pure: no store, no files, no network; writers and readers work on any
//! `Write`/`Read`, one record at a time, so the binary and the server stream
//! exports and imports through the same code. The mapping of each shape,
//! what does not map one to one and how the round trip stays lossless is
//! described in [`shape`].

pub mod columns;
pub mod geojson;
pub mod hxl;
pub mod raw;
pub mod shape;
pub mod stream;
pub mod table;

pub use columns::{COLUMNS, Flat, flatten, unflatten};
pub use geojson::FeatureWriter;
pub use raw::{CellDecoder, StoredRecord};
pub use shape::{Cells, Mapping, Shape};
pub use stream::Streamed;
pub use table::{CsvWriter, TableError, XlsxWriter, read_csv, read_xlsx};
