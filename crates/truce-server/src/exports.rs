//! `GET /api/v1/exports/incidents?format=csv|geojson|hxl|acled|ucdp|xlsx`:
//! every incident the caller's role may read (and matching the list
//! filters), as a file.
//!
//! CSV shapes and GeoJSON stream: a task reads the store page by page
//! (oldest first) and sends each page's bytes as one chunk of a chunked
//! body through a small bounded channel, so memory stays flat whatever the
//! size and a slow client slows the reader down. The route sits outside the
//! request timeout (see `lib.rs`), which would otherwise cut long exports.
//! XLSX cannot stream (a zip's directory comes last): it is assembled in
//! memory and limited to one worksheet's rows. Reads of restricted records
//! are journaled one audit entry per page, as lists do.

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
use truce_core::{EntityKind, Envelope, Sensitivity};
use truce_exchange::{CsvWriter, Shape, XlsxWriter};
use truce_store::ListQuery;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::records::{audit, list_query};

/// Rows read from the store per page, and so per chunk of the body.
const PAGE: u32 = 5000;

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

/// A `Write` whose bytes the export task takes after each page.
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

/// Journals the read of the restricted records of one page.
async fn audit_page(state: &AppState, p: &Principal, items: &[Envelope]) -> ApiResult<()> {
    let restricted: Vec<Uuid> = items
        .iter()
        .filter(|e| e.sensitivity == Sensitivity::Restricted)
        .map(|e| e.id)
        .collect();
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
    if format == Format::Xlsx {
        let bytes = xlsx(&state, &p, q).await?;
        return Ok((headers, bytes).into_response());
    }
    // The first page is read before answering, so a store failure is a
    // problem answer rather than a cut body.
    let first = state.store.list(&q).await?;
    audit_page(&state, &p, &first.items).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = stream(&state, &p, q, first, format, &tx).await {
            tracing::warn!(error = %e, "incident export stopped");
            let _ = tx.send(Err(e)).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    Ok((headers, body).into_response())
}

/// Writes every page into `tx`, one chunk per page.
async fn stream(
    state: &AppState,
    p: &Principal,
    mut q: ListQuery,
    first: truce_store::Page,
    format: Format,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), std::io::Error> {
    let buf = Chunk::default();
    let mut csv = match format {
        Format::Table(shape) => Some(CsvWriter::new(shape, buf.clone()).map_err(io)?),
        _ => {
            buf.clone().write_all(truce_exchange::geojson::HEAD)?;
            None
        }
    };
    let mut page = first;
    let mut n = 0u64;
    loop {
        {
            let mut out = buf.clone();
            for env in &page.items {
                match &mut csv {
                    Some(w) => w.write(&env.to_wire()).map_err(io)?,
                    None => {
                        if n > 0 {
                            out.write_all(truce_exchange::geojson::SEPARATOR)?;
                        }
                        serde_json::to_writer(
                            &mut out,
                            &truce_exchange::geojson::feature(EntityKind::Incident, env),
                        )
                        .map_err(io)?;
                    }
                }
                n += 1;
            }
        }
        if let Some(w) = &mut csv {
            w.flush().map_err(io)?;
        }
        let next = page.next_cursor;
        if next.is_none() && csv.is_none() {
            buf.clone().write_all(truce_exchange::geojson::TAIL)?;
        }
        let bytes = buf.take();
        if !bytes.is_empty() && tx.send(Ok(Bytes::from(bytes))).await.is_err() {
            // The client went away.
            return Ok(());
        }
        match next {
            Some(c) => q.cursor = Some(c),
            None => return Ok(()),
        }
        page = state.store.list(&q).await.map_err(io)?;
        audit_page(state, p, &page.items)
            .await
            .map_err(|e| io(format!("{e:?}")))?;
    }
}

/// The whole workbook (XLSX cannot stream).
async fn xlsx(state: &AppState, p: &Principal, mut q: ListQuery) -> ApiResult<Vec<u8>> {
    let fail = |e: truce_exchange::TableError| {
        Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "export-too-large",
            e.to_string(),
        )
    };
    let mut w = XlsxWriter::new().map_err(fail)?;
    loop {
        let page = state.store.list(&q).await?;
        audit_page(state, p, &page.items).await?;
        for env in &page.items {
            w.write(&env.to_wire()).map_err(fail)?;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
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
