//! `GET /api/v1/exports/incidents?format=csv|geojson|hxl|acled|ucdp|xlsx`:
//! every incident the caller's role may read (and matching the list
//! filters), as a file.
//!
//! CSV shapes and GeoJSON stream, in three stages that run side by side:
//! the store reads pages of records as stored (`truce_store::read_ahead`
//! of `Store::list_raw`: ids and canonical JSON, never decoded into
//! envelopes), this task journals each page's restricted reads, and a
//! blocking thread writes the page's rows straight from the stored JSON
//! (`CsvWriter::write_stored`, `FeatureWriter`) into one chunk of a chunked
//! body, sent through a small bounded channel. Memory stays flat whatever
//! the size, a slow client slows the reader down, and a page's restricted
//! reads are journaled before any of its bytes are written. The route
//! sits outside the request timeout (see `lib.rs`), which would otherwise
//! cut long exports. XLSX cannot stream (a zip's directory comes last): it
//! is assembled in memory and limited to one worksheet's rows.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::mpsc;
use truce_core::{EntityKind, Sensitivity};
use truce_exchange::{CsvWriter, FeatureWriter, Shape, StoredRecord, XlsxWriter};
use truce_store::{RawPage, StoreError};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::records::{audit, list_query};

/// Rows read from the store per page, and so per chunk of the body (and
/// per audit entry).
const PAGE: u32 = 5000;

/// Pages the store may read ahead of the writer.
const READ_AHEAD: usize = 2;

/// The export routes, relative to `/api/v1` (merged outside the timeout).
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/exports/incidents", get(incidents))
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Table(Shape),
    Geojson,
    Xlsx,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "csv" => Format::Table(Shape::Truce),
            "hxl" => Format::Table(Shape::Hxl),
            "acled" => Format::Table(Shape::Acled),
            "ucdp" => Format::Table(Shape::Ucdp),
            "geojson" => Format::Geojson,
            "xlsx" => Format::Xlsx,
            _ => return None,
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Table(_) => "text/csv; charset=utf-8",
            Format::Geojson => "application/geo+json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn file_name(self, name: &str) -> String {
        match self {
            Format::Table(Shape::Truce) => format!("incidents.{name}.csv"),
            Format::Table(_) => format!("incidents-{name}.csv"),
            Format::Geojson => "incidents.geojson".into(),
            Format::Xlsx => "incidents.xlsx".into(),
        }
    }
}

/// A `Write` whose bytes the export takes after each page.
#[derive(Clone, Default)]
struct Chunk(Arc<Mutex<Vec<u8>>>);

impl Chunk {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for Chunk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn stored(r: truce_store::RawRecord<'_>) -> StoredRecord<'_> {
    StoredRecord {
        id: r.id,
        sensitivity: r.sensitivity,
        data: r.data,
    }
}

/// Journals the read of the restricted records of one page.
async fn audit_page(state: &AppState, p: &Principal, page: &RawPage) -> ApiResult<()> {
    let restricted = page
        .iter()
        .filter(|r| r.sensitivity == Sensitivity::Restricted)
        .map(|r| Uuid::parse_str(r.id))
        .collect::<Result<Vec<Uuid>, _>>()
        .map_err(|e| StoreError::Corrupt(format!("stored record id: {e}")))?;
    if restricted.is_empty() {
        return Ok(());
    }
    audit(
        state,
        p,
        EntityKind::Incident,
        Uuid::nil(),
        json!({"ids": restricted, "export": "incidents"}),
    )
    .await
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The next page from the reader, journaled; `None` after the last.
async fn next_page(
    state: &AppState,
    p: &Principal,
    pages: &mut mpsc::Receiver<Result<RawPage, StoreError>>,
) -> ApiResult<Option<RawPage>> {
    let Some(page) = pages.recv().await else {
        return Ok(None);
    };
    let page = page?;
    audit_page(state, p, &page).await?;
    Ok(Some(page))
}

/// `GET /api/v1/exports/incidents`.
async fn incidents(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let name = params.get("format").map(String::as_str).unwrap_or("csv");
    let format = Format::parse(name).ok_or_else(|| {
        Problem::field("format", "must be csv, geojson, hxl, acled, ucdp or xlsx")
    })?;
    let mut q = list_query(EntityKind::Incident, &p, &params)?;
    q.limit = PAGE;
    q.cursor = None;
    q.oldest_first = true;
    let disposition = format!("attachment; filename=\"{}\"", format.file_name(name));
    let headers = [
        (header::CONTENT_TYPE, format.content_type().to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    let mut pages = truce_store::read_ahead(state.store.clone(), q, READ_AHEAD);
    if format == Format::Xlsx {
        let bytes = xlsx(&state, &p, pages).await?;
        return Ok((headers, bytes).into_response());
    }
    // The first page is read before answering, so a store failure is a
    // problem answer rather than a cut body.
    let first = next_page(&state, &p, &mut pages).await?.unwrap_or_default();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = stream(&state, &p, first, pages, format, &tx).await {
            tracing::warn!(error = %e, "incident export stopped");
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    Ok((headers, body).into_response())
}

/// Writes pages of rows into chunks, on a blocking thread.
struct PageWriter {
    buf: Chunk,
    csv: Option<CsvWriter<Chunk>>,
    features: FeatureWriter,
    rows: u64,
}

impl PageWriter {
    fn new(format: Format) -> Result<PageWriter, std::io::Error> {
        let buf = Chunk::default();
        let csv = match format {
            Format::Table(shape) => Some(CsvWriter::new(shape, buf.clone()).map_err(io)?),
            _ => {
                buf.clone().write_all(truce_exchange::geojson::HEAD)?;
                None
            }
        };
        Ok(PageWriter {
            buf,
            csv,
            features: FeatureWriter::new(),
            rows: 0,
        })
    }

    /// The bytes of one page (with the GeoJSON tail after the last).
    fn page(&mut self, page: &RawPage, last: bool) -> Result<Vec<u8>, std::io::Error> {
        match &mut self.csv {
            Some(w) => {
                for r in page.iter() {
                    w.write_stored(stored(r)).map_err(io)?;
                }
                w.flush().map_err(io)?;
            }
            None => {
                let mut out = Vec::with_capacity(page.len() * 1024);
                for r in page.iter() {
                    if self.rows > 0 {
                        out.extend_from_slice(truce_exchange::geojson::SEPARATOR);
                    }
                    self.features
                        .write(EntityKind::Incident, stored(r), &mut out)
                        .map_err(io)?;
                    self.rows += 1;
                }
                if last {
                    out.extend_from_slice(truce_exchange::geojson::TAIL);
                }
                self.buf.clone().write_all(&out)?;
            }
        }
        Ok(self.buf.take())
    }
}

/// Writes every page into `tx`, one chunk per page: the next page is
/// received and journaled while this one is written.
async fn stream(
    state: &AppState,
    p: &Principal,
    first: RawPage,
    mut pages: mpsc::Receiver<Result<RawPage, StoreError>>,
    format: Format,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), std::io::Error> {
    let mut writer = PageWriter::new(format)?;
    let mut page = first;
    loop {
        let last = page.next_cursor.is_none();
        let write = tokio::task::spawn_blocking(move || {
            let bytes = writer.page(&page, last);
            (writer, bytes)
        });
        let next = async {
            if last {
                Ok(None)
            } else {
                next_page(state, p, &mut pages).await
            }
        };
        let (written, next) = tokio::join!(write, next);
        let (w, bytes) = written.map_err(io)?;
        writer = w;
        let bytes = bytes?;
        if !bytes.is_empty() && tx.send(Ok(Bytes::from(bytes))).await.is_err() {
            // The client went away.
            return Ok(());
        }
        match next.map_err(|e| io(format!("{e:?}")))? {
            Some(n) => page = n,
            None => return Ok(()),
        }
    }
}

/// The whole workbook (XLSX cannot stream).
async fn xlsx(
    state: &AppState,
    p: &Principal,
    mut pages: mpsc::Receiver<Result<RawPage, StoreError>>,
) -> ApiResult<Vec<u8>> {
    let fail = |e: truce_exchange::TableError| {
        Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "export-too-large",
            e.to_string(),
        )
    };
    let mut w = XlsxWriter::new().map_err(fail)?;
    while let Some(page) = next_page(state, p, &mut pages).await? {
        for r in page.iter() {
            w.write_stored(stored(r)).map_err(fail)?;
        }
    }
    tokio::task::spawn_blocking(move || w.finish())
        .await
        .map_err(|e| {
            Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })?
        .map_err(fail)
}
