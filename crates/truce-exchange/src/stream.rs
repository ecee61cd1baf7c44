//! Streamed files of stored incidents, formatted page by page.
//!
//! An export of millions of incidents is bounded by formatting rows, not
//! by reading them, and one thread formats at most about 300,000 rows a
//! second. So a page's bytes here depend on nothing but the page: pages
//! can be formatted on every core at once and written in order, with the
//! file's [`Streamed::head`], [`Streamed::between`] two non-empty pages
//! and [`Streamed::tail`] around them. The bytes are exactly those of one
//! writer taking every row in turn (`CsvWriter::write_stored`,
//! `FeatureWriter`); the tests below compare the two.

use crate::geojson::{self, FeatureWriter};
use crate::raw::StoredRecord;
use crate::shape::Shape;
use crate::table::{CsvWriter, TableError};
use truce_core::EntityKind;

/// A file format incidents stream into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamed {
    /// CSV of one shape (Truce, HXL, ACLED, UCDP GED).
    Csv(Shape),
    /// A GeoJSON FeatureCollection.
    Geojson,
}

impl Streamed {
    /// The bytes before the first row: the shape's header rows, or the
    /// FeatureCollection's opening.
    pub fn head(self) -> Result<Vec<u8>, TableError> {
        match self {
            Streamed::Csv(shape) => CsvWriter::new(shape, Vec::new())?.finish(),
            Streamed::Geojson => Ok(geojson::HEAD.to_vec()),
        }
    }

    /// The bytes between the bytes of two non-empty pages.
    pub fn between(self) -> &'static [u8] {
        match self {
            Streamed::Csv(_) => b"",
            Streamed::Geojson => geojson::SEPARATOR,
        }
    }

    /// The bytes after the last row.
    pub fn tail(self) -> &'static [u8] {
        match self {
            Streamed::Csv(_) => b"",
            Streamed::Geojson => geojson::TAIL,
        }
    }

    /// The bytes of one page of incidents (empty for no records).
    pub fn page<'a>(
        self,
        records: impl IntoIterator<Item = StoredRecord<'a>>,
    ) -> Result<Vec<u8>, TableError> {
        let records = records.into_iter();
        // About what a row takes, so the buffer rarely grows.
        let per_row = match self {
            Streamed::Csv(_) => 400,
            Streamed::Geojson => 1100,
        };
        let out = Vec::with_capacity(records.size_hint().0 * per_row);
        match self {
            Streamed::Csv(shape) => {
                let mut w = CsvWriter::headless(shape, out);
                for r in records {
                    w.write_stored(r)?;
                }
                w.finish()
            }
            Streamed::Geojson => {
                let mut out = out;
                let mut features = FeatureWriter::new();
                for (i, r) in records.enumerate() {
                    if i > 0 {
                        out.extend_from_slice(geojson::SEPARATOR);
                    }
                    features
                        .write(EntityKind::Incident, r, &mut out)
                        .map_err(|e| TableError::Io(std::io::Error::other(e)))?;
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::Sensitivity;

    fn incident(i: usize) -> (String, String) {
        let data = serde_json::json!({
            "occurred_at": format!("2026-11-{:02}T10:00:00Z", 1 + i % 28),
            "event_type": "battles", "sub_event_type": "armed_clash",
            "location": {"lat": 39.5 + i as f64 / 1000.0, "lon": 46.25},
            "notes": format!("note {i}, with a comma and a \"quote\""),
            "fatalities": i % 4,
        });
        (
            format!("0192e0a0-0000-7000-8000-{i:012}"),
            truce_core::journal::canonical_json(&data),
        )
    }

    /// Pages formatted apart and joined with head, between and tail are
    /// byte for byte the file one writer gives, whatever the page size.
    #[test]
    fn pages_joined_are_the_single_writer_file() {
        let rows: Vec<(String, String)> = (0..23).map(incident).collect();
        fn stored((id, data): &(String, String)) -> StoredRecord<'_> {
            StoredRecord {
                id,
                sensitivity: Sensitivity::Mission,
                data,
            }
        }
        for format in [
            Streamed::Csv(Shape::Truce),
            Streamed::Csv(Shape::Acled),
            Streamed::Geojson,
        ] {
            let single = {
                let mut out = format.head().unwrap();
                match format {
                    Streamed::Csv(shape) => {
                        let mut w = CsvWriter::headless(shape, Vec::new());
                        for r in &rows {
                            w.write_stored(stored(r)).unwrap();
                        }
                        out.extend(w.finish().unwrap());
                    }
                    Streamed::Geojson => {
                        let mut f = FeatureWriter::new();
                        for (i, r) in rows.iter().enumerate() {
                            if i > 0 {
                                out.extend_from_slice(geojson::SEPARATOR);
                            }
                            f.write(EntityKind::Incident, stored(r), &mut out).unwrap();
                        }
                    }
                }
                out.extend_from_slice(format.tail());
                out
            };
            for size in [1, 5, 23, 100] {
                let mut out = format.head().unwrap();
                let mut any = false;
                for page in rows.chunks(size) {
                    let bytes = format.page(page.iter().map(stored)).unwrap();
                    if bytes.is_empty() {
                        continue;
                    }
                    if any {
                        out.extend_from_slice(format.between());
                    }
                    any = true;
                    out.extend(bytes);
                }
                out.extend_from_slice(format.tail());
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    String::from_utf8(single.clone()).unwrap(),
                    "{format:?} in pages of {size}"
                );
            }
            assert!(format.page(std::iter::empty()).unwrap().is_empty());
        }
    }
}
