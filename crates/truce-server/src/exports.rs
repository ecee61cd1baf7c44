//! `GET /api/v1/exports/incidents?format=csv|geojson|hxl|acled|ucdp|xlsx`:
//! every incident the caller's role may read (and matching the list
//! filters), as a file.
//!
//! CSV shapes and GeoJSON stream, in stages that run side by side: the
//! store reads slices of records as stored (`truce_store::read_ahead_map`
//! of `Store::list_raw`: ids and canonical JSON, never decoded into
//! envelopes) and blocking threads format them straight from the stored
//! JSON (`Streamed::page`), several slices at once, and this task journals each page's
//! restricted reads and then sends its bytes as one chunk of a chunked
//! body, in order, through a small bounded channel. Memory stays flat
//! whatever the size, a slow client slows the reader down, and a page's
//! restricted reads are journaled before any of its bytes are sent. The route
//! sits outside the request timeout (see `lib.rs`), which would otherwise
//! cut long exports. XLSX cannot stream (a zip's directory comes last): it
//! is assembled in memory and limited to one worksheet's rows.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use truce_core::{EntityKind, Sensitivity};
use truce_exchange::{Shape, StoredRecord, Streamed, XlsxWriter};
use truce_store::{RawPage, StoreError};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::records::{audit, list_query};

/// Rows read from the store per page, and so per chunk of the body (and
/// per audit entry).
const PAGE: u32 = 5000;

/// Pages the store may read ahead of the XLSX writer.
const READ_AHEAD: usize = 2;

/// Pages read and formatted at once (`truce_store::read_ahead_map`): more
/// than the cores, so that both format while the disk serves the next
/// reads.
const PARALLEL_PAGES: usize = 4;

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

fn stored(r: truce_store::RawRecord<'_>) -> StoredRecord<'_> {
    StoredRecord {
        id: r.id,
        sensitivity: r.sensitivity,
        data: r.data,
    }
}

/// The ids of the restricted records of one page: the reads an export
/// journals before it sends the page's bytes.
fn restricted_ids(page: &RawPage) -> Result<Vec<Uuid>, StoreError> {
    page.iter()
        .filter(|r| r.sensitivity == Sensitivity::Restricted)
        .map(|r| Uuid::parse_str(r.id))
        .collect::<Result<Vec<Uuid>, _>>()
        .map_err(|e| StoreError::Corrupt(format!("stored record id: {e}")))
}

/// Journals the read of the restricted records of one page.
async fn audit_page(state: &AppState, p: &Principal, restricted: Vec<Uuid>) -> ApiResult<()> {
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
    audit_page(state, p, restricted_ids(&page)?).await?;
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
    let streamed = match format {
        Format::Table(shape) => Streamed::Csv(shape),
        Format::Geojson => Streamed::Geojson,
        Format::Xlsx => {
            let pages = truce_store::read_ahead(state.store.clone(), q, READ_AHEAD);
            let bytes = xlsx(&state, &p, pages).await?;
            return Ok((headers, bytes).into_response());
        }
    };
    let pages = truce_store::read_ahead_map(state.store.clone(), q, PARALLEL_PAGES, move |page| {
        Formatted {
            restricted: restricted_ids(&page),
            rows: page.len(),
            bytes: streamed.page(page.iter().map(stored)),
        }
    })
    .await?;
    let mut pages: FormattedPages = Box::pin(pages);
    // The first page is read and journaled before answering, so a store
    // failure is a problem answer rather than a cut body.
    let first = next_formatted(&state, &p, &mut pages).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = stream(&state, &p, streamed, first, pages, &tx).await {
            tracing::warn!(error = %e, "incident export stopped");
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    Ok((headers, body).into_response())
}

/// One page as the formatters give it back.
struct Formatted {
    restricted: Result<Vec<Uuid>, StoreError>,
    rows: usize,
    bytes: Result<Vec<u8>, truce_exchange::TableError>,
}

/// The formatted pages, in order.
type FormattedPages =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Formatted, StoreError>> + Send>>;

/// The next formatted page with its restricted reads journaled: the
/// rows and their bytes; `None` after the last.
async fn next_formatted(
    state: &AppState,
    p: &Principal,
    pages: &mut FormattedPages,
) -> ApiResult<Option<(usize, Vec<u8>)>> {
    let Some(page) = pages.next().await else {
        return Ok(None);
    };
    let page = page?;
    audit_page(state, p, page.restricted?).await?;
    let bytes = page.bytes.map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some((page.rows, bytes)))
}

/// Writes the file into `tx`, one chunk per non-empty page, each after its
/// restricted reads are journaled; the store reads and the formatters
/// format the next pages meanwhile.
async fn stream(
    state: &AppState,
    p: &Principal,
    streamed: Streamed,
    first: Option<(usize, Vec<u8>)>,
    mut pages: FormattedPages,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), std::io::Error> {
    let mut head = streamed.head().map_err(io)?;
    let mut any = false;
    let mut next = first;
    while let Some((rows, bytes)) = next {
        if rows > 0 {
            let mut chunk = std::mem::take(&mut head);
            if any {
                chunk.extend_from_slice(streamed.between());
            }
            chunk.extend(bytes);
            any = true;
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                // The client went away.
                return Ok(());
            }
        }
        next = next_formatted(state, p, &mut pages)
            .await
            .map_err(|e| io(format!("{e:?}")))?;
    }
    head.extend_from_slice(streamed.tail());
    let _ = tx.send(Ok(Bytes::from(head))).await;
    Ok(())
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
