//! Readers and writers: CSV (any shape) and XLSX (the HXL layout: Truce
//! column names, then the hashtag row). Writers take one record at a time,
//! so an export streams; readers give one record (or the error of its row)
//! at a time, numbered as the file counts (CSV line, spreadsheet row).

use std::borrow::Cow;
use std::io::{Read, Seek, Write};

use serde_json::Value;

use crate::columns::{CellKind, flatten};
use crate::raw::{CellDecoder, StoredRecord};
use crate::shape::{Mapping, RowWriter, Shape};

/// Reading or writing a table went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A row that cannot become an incident (line = CSV line or sheet row).
    #[error("{line}: field {field}: {message}")]
    Field {
        /// Line or row number, from 1.
        line: u64,
        /// The column as the file names it.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A row or header that cannot be read at all.
    #[error("{line}: {message}")]
    Row {
        /// Line or row number, from 1.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// XLSX writing failed.
    #[error("xlsx: {0}")]
    Xlsx(String),
    /// A stored record is not JSON (a damaged database).
    #[error("stored record {id}: {message}")]
    Stored {
        /// The record's id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

fn wire_of(record: StoredRecord<'_>) -> Result<Value, TableError> {
    record.to_wire().map_err(|e| TableError::Stored {
        id: record.id.to_string(),
        message: e.to_string(),
    })
}

impl TableError {
    /// The line or row the error is about, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            TableError::Field { line, .. } | TableError::Row { line, .. } => Some(*line),
            _ => None,
        }
    }
}

fn csv_error(e: csv::Error) -> TableError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(e) => TableError::Io(e),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => TableError::Row {
            line,
            message: format!("{len} cells where the header has {expected_len}"),
        },
        other => TableError::Row {
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Writes incidents as CSV of one shape, one row per [`CsvWriter::write`].
pub struct CsvWriter<W: Write> {
    out: W,
    /// Rows not yet written to `out`.
    buf: Vec<u8>,
    rows: RowWriter,
    decoder: CellDecoder,
}

/// Bytes buffered before they go to the underlying writer.
const BUFFER: usize = 1 << 16;

impl<W: Write> CsvWriter<W> {
    /// Writes the header rows of `shape` to `out`.
    pub fn new(shape: Shape, out: W) -> Result<Self, TableError> {
        let mut w = CsvWriter::headless(shape, out);
        for h in shape.header_rows() {
            w.generic(&h)?;
        }
        Ok(w)
    }

    /// A writer of rows only, for a part of a file whose header is
    /// written elsewhere (a page of a streamed export).
    pub fn headless(shape: Shape, out: W) -> Self {
        CsvWriter {
            out,
            buf: Vec::with_capacity(BUFFER),
            rows: RowWriter::new(shape),
            decoder: CellDecoder::new(),
        }
    }

    /// Writes one incident given as its wire JSON (`Envelope::to_wire`).
    pub fn write(&mut self, wire: &Value) -> Result<(), TableError> {
        let row = self.rows.row(&flatten(wire));
        self.generic(&row)
    }

    /// Writes one incident as the store holds it, the same row as
    /// [`CsvWriter::write`] of its wire JSON, with its cells taken straight
    /// from the stored JSON ([`crate::raw`]) and written by
    /// [`push_row`].
    pub fn write_stored(&mut self, record: StoredRecord<'_>) -> Result<(), TableError> {
        match self.decoder.decode(record) {
            Some(row) => {
                push_row(&mut self.buf, self.rows.cells(&row));
                self.spill()
            }
            None => self.write(&wire_of(record)?),
        }
    }

    /// Appends a row written by the csv crate (header rows, rows of wire
    /// JSON).
    fn generic(&mut self, row: &[String]) -> Result<(), TableError> {
        let mut w = csv::Writer::from_writer(&mut self.buf);
        w.write_record(row).map_err(csv_error)?;
        w.flush()?;
        drop(w);
        self.spill()
    }

    /// Writes the buffer out once it is full.
    fn spill(&mut self) -> Result<(), TableError> {
        if self.buf.len() >= BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes what is buffered to the underlying writer (e.g. to send a
    /// chunk of an HTTP body).
    pub fn flush(&mut self) -> Result<(), TableError> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(self.out.flush()?)
    }

    /// Flushes and gives the writer back.
    pub fn finish(mut self) -> Result<W, TableError> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Appends one CSV row, the bytes the csv crate writes with its defaults
/// (the generic path): cells separated by commas, a cell quoted when it
/// holds a comma, a quote or a line break, quotes inside doubled, `\n`
/// after the row. Written here because the csv crate's per-byte state
/// machine was the largest single cost of a large export; the property
/// tests compare the two on random text.
fn push_row<'a>(out: &mut Vec<u8>, cells: impl Iterator<Item = Cow<'a, str>>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let b = cell.as_bytes();
        if b.iter().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
            out.push(b'"');
            for (j, part) in b.split(|&c| c == b'"').enumerate() {
                if j > 0 {
                    out.extend_from_slice(b"\"\"");
                }
                out.extend_from_slice(part);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(b);
        }
    }
    out.push(b'\n');
}

/// The data rows of a CSV file, one record (or the error of its row) at a
/// time; see [`read_csv`].
pub struct CsvRows<R: Read> {
    mapping: Mapping,
    records: std::iter::Peekable<csv::StringRecordsIntoIter<R>>,
    width: usize,
}

impl<R: Read> CsvRows<R> {
    /// How the file's columns map to Truce fields (for naming a field the
    /// way the file does).
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<(u64, Value), TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rec = match self.records.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(csv_error(e))),
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() != self.width {
            return Some(Err(TableError::Row {
                line,
                message: format!("{} cells where the header has {}", rec.len(), self.width),
            }));
        }
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        Some(read_row(&self.mapping, line, &cells))
    }
}

/// Reads the header of a CSV file of `shape` (for Truce and HXL files, an
/// HXL tag row under the names is recognised) and gives its data rows.
pub fn read_csv<R: Read>(shape: Shape, input: R) -> Result<CsvRows<R>, TableError> {
    let rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = rdr.into_records().peekable();
    let first = match records.next() {
        Some(r) => r.map_err(csv_error)?,
        None => {
            return Err(TableError::Row {
                line: 1,
                message: "empty file: no header".into(),
            });
        }
    };
    let first: Vec<String> = first.iter().map(str::to_string).collect();
    let second: Option<Vec<String>> = match records.peek() {
        Some(Ok(r)) => Some(r.iter().map(str::to_string).collect()),
        _ => None,
    };
    let mapping = Mapping::new(shape, &first, second.as_deref()).map_err(|e| TableError::Row {
        line: 1,
        message: e.0,
    })?;
    if mapping.header_rows() == 2 {
        records.next();
    }
    Ok(CsvRows {
        mapping,
        records,
        width: first.len(),
    })
}

fn read_row(mapping: &Mapping, line: u64, cells: &[String]) -> Result<(u64, Value), TableError> {
    mapping
        .read(cells)
        .map(|v| (line, v))
        .map_err(|e| TableError::Field {
            line,
            field: e.field,
            message: e.message,
        })
}

/// The most data rows one worksheet holds (Excel's limit less the two
/// header rows).
pub const XLSX_MAX_ROWS: u32 = 1_048_576 - 2;

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> TableError {
    TableError::Xlsx(e.to_string())
}

/// Writes incidents to one worksheet named `incidents`: Truce column names,
/// the HXL hashtag row, then one row per incident, numbers as numbers.
///
/// The sheet is written in constant-memory mode (rows go to a temporary
/// file as they come), but an XLSX file is a zip whose directory comes
/// last, so [`XlsxWriter::finish`] assembles the whole file in memory: an
/// XLSX export is buffered, unlike CSV and GeoJSON. The document's
/// creation time is fixed (2000-01-01) and the zip entries carry the zip
/// epoch, so the same records give the same bytes.
pub struct XlsxWriter {
    book: rust_xlsxwriter::Workbook,
    rows: RowWriter,
    kinds: Vec<CellKind>,
    next: u32,
    decoder: CellDecoder,
}

impl XlsxWriter {
    /// A workbook with the header rows written.
    pub fn new() -> Result<Self, TableError> {
        let shape = Shape::Hxl;
        let mut book = rust_xlsxwriter::Workbook::new();
        let created = rust_xlsxwriter::ExcelDateTime::from_ymd(2000, 1, 1).map_err(xlsx_error)?;
        book.set_properties(
            &rust_xlsxwriter::DocProperties::new()
                .set_title("Truce incidents")
                .set_creation_datetime(&created),
        );
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("incidents").map_err(xlsx_error)?;
        let mut w = XlsxWriter {
            book,
            rows: RowWriter::new(shape),
            kinds: shape.kinds(),
            next: 0,
            decoder: CellDecoder::new(),
        };
        for h in shape.header_rows() {
            let sheet = w.book.worksheet_from_index(0).map_err(xlsx_error)?;
            put(
                sheet,
                w.next,
                &w.kinds,
                h.into_iter().map(Cow::Owned),
                false,
            )?;
            w.next += 1;
        }
        Ok(w)
    }

    fn check_room(&self) -> Result<(), TableError> {
        if self.next >= XLSX_MAX_ROWS + 2 {
            return Err(TableError::Xlsx(format!(
                "a worksheet holds at most {XLSX_MAX_ROWS} incidents; export CSV instead"
            )));
        }
        Ok(())
    }

    /// Writes one incident given as its wire JSON.
    pub fn write(&mut self, wire: &Value) -> Result<(), TableError> {
        self.check_room()?;
        let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        let flat = flatten(wire);
        put(sheet, self.next, &self.kinds, self.rows.cells(&flat), true)?;
        self.next += 1;
        Ok(())
    }

    /// Writes one incident as the store holds it (the same row as
    /// [`XlsxWriter::write`] of its wire JSON).
    pub fn write_stored(&mut self, record: StoredRecord<'_>) -> Result<(), TableError> {
        self.check_room()?;
        match self.decoder.decode(record) {
            Some(row) => {
                let sheet = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
                put(sheet, self.next, &self.kinds, self.rows.cells(&row), true)?;
                self.next += 1;
                Ok(())
            }
            None => self.write(&wire_of(record)?),
        }
    }

    /// The whole file.
    pub fn finish(mut self) -> Result<Vec<u8>, TableError> {
        self.book.save_to_buffer().map_err(xlsx_error)
    }
}

/// Writes one row of cells into the sheet, numbers as numbers when `typed`.
fn put<'a>(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    kinds: &[CellKind],
    cells: impl Iterator<Item = Cow<'a, str>>,
    typed: bool,
) -> Result<(), TableError> {
    for (c, (cell, kind)) in cells.zip(kinds).enumerate() {
        if cell.is_empty() {
            continue;
        }
        let col = c as u16;
        match (typed, kind, cell.parse::<f64>()) {
            (true, CellKind::Number, Ok(n)) if n.is_finite() => {
                sheet.write_number(row, col, n).map_err(xlsx_error)?;
            }
            _ => {
                sheet.write_string(row, col, &*cell).map_err(xlsx_error)?;
            }
        }
    }
    Ok(())
}

/// The text of a spreadsheet cell as the Truce columns read it: integers
/// without a decimal point, other numbers in their shortest exact form.
pub fn xlsx_cell_text(d: &calamine::Data) -> Result<String, String> {
    use calamine::Data;
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                format!("{}", *f as i64)
            } else {
                serde_json::Number::from_f64(*f)
                    .map(|n| n.to_string())
                    .ok_or_else(|| format!("{f} is not a finite number"))?
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            return Err(format!(
                "a spreadsheet date ({}); write dates as text, e.g. 2026-11-20T10:00:00Z",
                dt.as_f64()
            ));
        }
        Data::Error(e) => return Err(format!("spreadsheet error {e}")),
    })
}

/// The data rows of a worksheet (read whole: calamine loads a sheet at
/// once), one record or the error of its row at a time.
pub type XlsxRows = Box<dyn Iterator<Item = Result<(u64, Value), TableError>> + Send>;

/// Reads the first worksheet of an XLSX file written in the HXL layout (or
/// with Truce column names only). Row numbers are the sheet's, from 1.
pub fn read_xlsx<R: Read + Seek>(input: R) -> Result<(Mapping, XlsxRows), TableError> {
    use calamine::Reader;
    let bad = |message: String| TableError::Row { line: 1, message };
    let mut book: calamine::Xlsx<R> =
        calamine::Xlsx::new(input).map_err(|e| bad(format!("not an XLSX file: {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad("the workbook has no worksheet".into()))?
        .map_err(|e| bad(format!("reading the worksheet: {e}")))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    if left != 0 {
        return Err(bad("the table must start in column A".into()));
    }
    let mut rows = Vec::with_capacity(range.height());
    for (i, r) in range.rows().enumerate() {
        let line = u64::from(top) + i as u64 + 1;
        let mut cells = Vec::with_capacity(r.len());
        for (c, d) in r.iter().enumerate() {
            cells.push(xlsx_cell_text(d).map_err(|message| TableError::Row {
                line,
                message: format!("column {}: {message}", c + 1),
            })?);
        }
        rows.push((line, cells));
    }
    if top != 0 || rows.is_empty() {
        return Err(bad("the header must be in row 1".into()));
    }
    let mapping = Mapping::new(
        Shape::Truce,
        &rows[0].1,
        rows.get(1).map(|(_, c)| c.as_slice()),
    )
    .map_err(|e| bad(e.0))?;
    let skip = mapping.header_rows();
    let m = mapping.clone();
    let rows = rows
        .into_iter()
        .skip(skip)
        .filter_map(move |(line, mut cells)| {
            if cells.iter().all(String::is_empty) {
                return None;
            }
            cells.resize(m.width(), String::new());
            Some(read_row(&m, line, &cells))
        });
    Ok((mapping, Box::new(rows)))
}
