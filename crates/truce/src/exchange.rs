//! Bulk exchange with files: incidents as CSV (Truce's dotted columns),
//! HXL-tagged CSV, ACLED- and UCDP GED-shaped CSV and XLSX (the shapes and
//! their mapping live in `truce-exchange`), and any kind as GeoJSON.
//! Imports are all-or-nothing: the first bad row stops the import with its
//! file, line (or sheet row) and field, and nothing is written. Exports
//! stream page by page from the store (XLSX is assembled in memory).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use truce_core::record::WIRE_METADATA;
use truce_core::{EntityKind, Sensitivity, ValidationContext};
use truce_exchange::{Mapping, Shape, StoredRecord, Streamed, TableError, XlsxWriter};
use truce_store::{Change, Command, ImportChunk, ListQuery, NewRecord, NewRecords, Store};
use uuid::Uuid;

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with dotted column names (incidents); on
    /// import an HXL tag row under the names is recognised.
    Csv,
    /// CSV with a second header row of HXL hashtags (incidents).
    Hxl,
    /// CSV with ACLED's columns and labels, Truce-only fields in `truce.`
    /// columns (incidents).
    Acled,
    /// CSV with UCDP GED's columns and codes, Truce-only fields in `truce.`
    /// columns (incidents).
    Ucdp,
    /// An Excel workbook: Truce column names, HXL hashtags, one row per
    /// incident.
    Xlsx,
    /// A GeoJSON FeatureCollection (any kind).
    Geojson,
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "geojson" | "json" => Some(Format::Geojson),
            _ => None,
        }
    }

    /// The table shape of a CSV format.
    fn csv_shape(self) -> Option<Shape> {
        match self {
            Format::Csv => Some(Shape::Truce),
            Format::Hxl => Some(Shape::Hxl),
            Format::Acled => Some(Shape::Acled),
            Format::Ucdp => Some(Shape::Ucdp),
            Format::Xlsx | Format::Geojson => None,
        }
    }
}

/// A row parsed from a file, with where it came from.
struct Row {
    line: u64,
    id: Option<Uuid>,
    sensitivity: Sensitivity,
    data: Value,
}

fn split_meta(mut data: Value, line: u64, file: &str) -> Result<Row> {
    let m = data
        .as_object_mut()
        .ok_or_else(|| anyhow!("{file}:{line}: not an object"))?;
    let id = match m.get("id").and_then(Value::as_str) {
        Some(s) => Some(
            Uuid::parse_str(s)
                .map_err(|_| anyhow!("{file}:{line}: field id: {s:?} is not a UUID"))?,
        ),
        None => None,
    };
    let sensitivity = match m.get("sensitivity").and_then(Value::as_str) {
        Some(s) => Sensitivity::parse(s).ok_or_else(|| {
            anyhow!("{file}:{line}: field sensitivity: {s:?} is not public, mission or restricted")
        })?,
        None => Sensitivity::Mission,
    };
    for k in WIRE_METADATA {
        m.remove(k);
    }
    Ok(Row {
        line,
        id,
        sensitivity,
        data,
    })
}

/// Rows of a table file with how they name fields, for error messages.
struct TableRows {
    mapping: Mapping,
    rows: Box<dyn Iterator<Item = Result<(u64, Value), TableError>> + Send>,
}

fn table_rows(format: Format, path: &Path, file: &str, bar: &ProgressBar) -> Result<TableRows> {
    let f = std::fs::File::open(path).with_context(|| format!("{file}: cannot read"))?;
    let at = |e: TableError| anyhow!("{file}:{e}");
    if let Some(shape) = format.csv_shape() {
        let rows = truce_exchange::read_csv(
            shape,
            bar.wrap_read(std::io::BufReader::with_capacity(1 << 20, f)),
        )
        .map_err(at)?;
        Ok(TableRows {
            mapping: rows.mapping().clone(),
            rows: Box::new(rows),
        })
    } else {
        let (mapping, rows) = truce_exchange::read_xlsx(std::io::BufReader::new(f)).map_err(at)?;
        bar.set_position(bar.length().unwrap_or(0));
        Ok(TableRows {
            mapping,
            rows: Box::new(rows),
        })
    }
}

fn geojson_rows(kind: EntityKind, text: &str, file: &str) -> Result<Vec<Result<Row>>> {
    let fc: Value = serde_json::from_str(text).map_err(|e| anyhow!("{file}:{}: {e}", e.line()))?;
    let features = fc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{file}: not a GeoJSON FeatureCollection"))?;
    let geometry_field = match kind {
        EntityKind::Incident | EntityKind::Post => Some("location"),
        EntityKind::Aor | EntityKind::Mission => Some("area"),
        EntityKind::Patrol => Some("route"),
        _ => None,
    };
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let n = i as u64 + 1;
            let mut props = f.get("properties").cloned().unwrap_or(json!({}));
            if let (Some(field), Some(g)) =
                (geometry_field, f.get("geometry").filter(|g| !g.is_null()))
            {
                let v = if field == "location" {
                    let c = g
                        .get("coordinates")
                        .and_then(Value::as_array)
                        .ok_or_else(|| {
                            anyhow!("{file}: feature {n}: field geometry: not a Point")
                        })?;
                    json!({"lat": c.get(1), "lon": c.first()})
                } else {
                    g.clone()
                };
                props[field] = v;
            }
            if let Some(id) = f.get("id").filter(|v| v.is_string()) {
                props["id"] = id.clone();
            }
            split_meta(props, n, &format!("{file}: feature"))
        })
        .collect())
}

/// Rows per chunk sent to the store.
const CHUNK: usize = 4096;

/// Imports a file of `kind` records as `actor`; returns how many were written.
pub async fn import(
    store: &dyn Store,
    kind: EntityKind,
    path: &Path,
    format: Format,
    actor: &str,
) -> Result<u64> {
    let file = path.display().to_string();
    let size = std::fs::metadata(path)
        .with_context(|| format!("{file}: cannot read"))?
        .len();
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {per_sec} eta {eta}")
            .expect("template"),
    );
    bar.set_message(format!("importing {file}"));
    let (tx, rx) = mpsc::channel::<ImportChunk>(4);
    let creates = {
        let actor = actor.to_string();
        let reason = Some(format!("import {file}"));
        move |records| {
            ImportChunk::Creates(NewRecords {
                actor: actor.clone(),
                reason: reason.clone(),
                records,
            })
        }
    };
    let parse = {
        let file = file.clone();
        let path = path.to_path_buf();
        let bar = bar.clone();
        tokio::task::spawn_blocking(move || -> Result<u64> {
            let now = Timestamp::now();
            let ctx = ValidationContext { now };
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut n = 0u64;
            let mut mapping = None;
            let rows: Box<dyn Iterator<Item = Result<Row>>> = match format {
                Format::Geojson => {
                    let text = std::fs::read_to_string(&path)?;
                    bar.set_position(size);
                    Box::new(geojson_rows(kind, &text, &file)?.into_iter())
                }
                _ => {
                    if kind != EntityKind::Incident {
                        bail!(
                            "{file}: {format:?} import is for incidents; use GeoJSON for {}",
                            kind.collection()
                        );
                    }
                    let t = table_rows(format, &path, &file, &bar)?;
                    mapping = Some(t.mapping);
                    let file = file.clone();
                    Box::new(t.rows.map(move |r| {
                        let (line, v) = r.map_err(|e| anyhow!("{file}:{e}"))?;
                        split_meta(v, line, &file)
                    }))
                }
            };
            // A field as the file names it (ACLED `latitude` for
            // `location.lat`), with Truce's name when they differ.
            let named = |field: &str| match &mapping {
                Some(m) => {
                    let f = m.file_column(field);
                    if f == field {
                        f
                    } else {
                        format!("{f} ({field})")
                    }
                }
                None => field.to_string(),
            };
            for row in rows {
                let row = row?;
                let record = kind.validate_canonical(row.data, &ctx).map_err(|e| {
                    let first = &e.0[0];
                    anyhow!(
                        "{file}:{}: field {}: {}",
                        row.line,
                        named(&first.field),
                        first.message
                    )
                })?;
                chunk.push(NewRecord {
                    kind,
                    id: row.id.unwrap_or_else(Uuid::now_v7),
                    sensitivity: row.sensitivity,
                    record,
                });
                n += 1;
                if chunk.len() == CHUNK {
                    let records = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    tx.blocking_send(creates(records))
                        .map_err(|_| StoreStopped)?;
                }
            }
            if !chunk.is_empty() {
                tx.blocking_send(creates(chunk)).map_err(|_| StoreStopped)?;
            }
            tx.blocking_send(ImportChunk::Commit)
                .map_err(|_| StoreStopped)?;
            Ok(n)
        })
    };
    let written = store.apply_stream(rx);
    let (parsed, written) = tokio::join!(parse, written);
    bar.finish_and_clear();
    // When the store refuses a chunk it stops reading, and the parser then
    // fails to send: the store's reason is the one to report. A bad row is
    // the parser's own error, whatever the store then says of the aborted
    // stream.
    match (parsed.context("import task")?, written) {
        (Ok(parsed), Ok(written)) => {
            debug_assert_eq!(parsed, written);
            Ok(written)
        }
        (Err(e), Err(store)) if e.is::<StoreStopped>() => {
            Err(anyhow!("{file}: {store}; nothing was written"))
        }
        (Err(e), _) => Err(e),
        (Ok(_), Err(store)) => Err(anyhow!("{file}: {store}; nothing was written")),
    }
}

/// The parser's error when the store stopped taking rows: the store's own
/// answer says why.
#[derive(Debug)]
struct StoreStopped;

impl std::fmt::Display for StoreStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store stopped the import")
    }
}

impl std::error::Error for StoreStopped {}

/// Who an export is for: a file meant for a role holds only the records
/// of a sensitivity that role may read (the API's rule); names in people
/// records are redacted by the core's `people::redact` unless the role may
/// read them, and the export of people records is journaled as a read by
/// `actor`, as the API journals it.
pub struct ExportFor {
    /// The role the file is meant for; `None`: the operator's own export of
    /// every record, names redacted.
    pub role: Option<truce_core::Role>,
    /// Who runs the export.
    pub actor: String,
}

/// Writes every visible record of `kind` to `out`, streaming page by page
/// (XLSX: row by row into the workbook, written out at the end), people
/// records redacted for `to.role`.
pub async fn export(
    store: Arc<dyn Store>,
    kind: EntityKind,
    format: Format,
    out: &mut dyn Write,
    to: &ExportFor,
) -> Result<u64> {
    let ceiling = match to.role {
        // People kinds: exported redacted for any role (as before), so
        // only the ceiling of the other kinds applies.
        Some(role) if !kind.is_people() => {
            truce_core::access::max_readable(role, kind).unwrap_or(Sensitivity::Public)
        }
        _ => Sensitivity::Restricted,
    };
    let redact_for = to.role.unwrap_or(truce_core::Role::Viewer);
    let mut q = ListQuery::new(kind, ceiling);
    q.limit = 5000;
    // In creation order, which an import keeps: export, import, export
    // again gives the same file.
    q.oldest_first = true;
    if format != Format::Geojson && kind != EntityKind::Incident {
        bail!(
            "{format:?} export is for incidents; use GeoJSON for {}",
            kind.collection()
        );
    }
    if kind == EntityKind::Incident {
        return export_incidents(store, q, format, out).await;
    }
    // Other kinds: GeoJSON, the one format that takes any kind.
    let mut n = 0u64;
    out.write_all(truce_exchange::geojson::HEAD)?;
    loop {
        let mut page = store.list(&q).await?;
        if kind.is_people() && !page.items.is_empty() {
            let ids: Vec<Uuid> = page.items.iter().map(|e| e.id).collect();
            store
                .apply(Command {
                    actor: to.actor.clone(),
                    reason: Some(format!("truce export for {redact_for}")),
                    idempotency: None,
                    change: Change::AuditRead {
                        entity: kind.as_str().into(),
                        entity_id: Uuid::nil(),
                        payload: json!({"ids": ids}),
                    },
                })
                .await?;
            for env in &mut page.items {
                env.data = truce_core::people::redact(kind, &env.data, redact_for);
            }
        }
        for env in &page.items {
            if n > 0 {
                out.write_all(truce_exchange::geojson::SEPARATOR)?;
            }
            serde_json::to_writer(&mut *out, &truce_exchange::geojson::feature(kind, env))?;
            n += 1;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    out.write_all(truce_exchange::geojson::TAIL)?;
    out.flush()?;
    Ok(n)
}

/// Writes every incident `q` selects from the records as stored: pages
/// read side by side (`read_ahead_map`), formatted straight from their
/// stored JSON on every core at once (`Streamed::page`: a page's bytes
/// depend on that page alone) and written in order. The same bytes as the
/// envelope path above; memory bounded by a few pages. XLSX takes rows one
/// by one into its workbook.
async fn export_incidents(
    store: Arc<dyn Store>,
    q: ListQuery,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64> {
    let streamed = match format.csv_shape() {
        Some(shape) => Streamed::Csv(shape),
        None if format == Format::Geojson => Streamed::Geojson,
        None => {
            let mut pages = truce_store::read_ahead(store, q, 2);
            let mut workbook = XlsxWriter::new()?;
            let mut n = 0u64;
            while let Some(page) = pages.recv().await {
                for r in page?.iter() {
                    workbook.write_stored(stored(r))?;
                    n += 1;
                }
            }
            out.write_all(&workbook.finish()?)?;
            out.flush()?;
            return Ok(n);
        }
    };
    let formatted = truce_store::read_ahead_map(store, q, PARALLEL_PAGES, move |page| {
        streamed
            .page(page.iter().map(stored))
            .map(|bytes| (page.len() as u64, bytes))
    })
    .await?;
    let mut formatted = std::pin::pin!(formatted);
    out.write_all(&streamed.head()?)?;
    let mut n = 0u64;
    while let Some(page) = formatted.next().await {
        let (rows, bytes) = page??;
        if rows == 0 {
            continue;
        }
        if n > 0 {
            out.write_all(streamed.between())?;
        }
        out.write_all(&bytes)?;
        n += rows;
    }
    out.write_all(streamed.tail())?;
    out.flush()?;
    Ok(n)
}

/// Pages read and formatted at once: more than the cores, so that both
/// cores format while the disk serves the reads of the next pages (at 10M
/// incidents in a file larger than memory, 8 gave 7 % more than 4, for
/// about 60 MiB more).
const PARALLEL_PAGES: usize = 8;

fn stored(r: truce_store::RawRecord<'_>) -> StoredRecord<'_> {
    StoredRecord {
        id: r.id,
        sensitivity: r.sensitivity,
        data: r.data,
    }
}
