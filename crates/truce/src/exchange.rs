//! Bulk exchange with files: CSV (incidents, dotted column names) and
//! GeoJSON (any kind). Imports are all-or-nothing: the first bad row stops
//! the import with its file, line and field, and nothing is written.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use truce_core::record::WIRE_METADATA;
use truce_core::{EntityKind, Envelope, Sensitivity, ValidationContext};
use truce_store::{Change, Command, ImportChunk, ListQuery, Store};
use uuid::Uuid;

/// How a CSV cell becomes JSON.
#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Text,
    Number,
}

/// The incident CSV columns: dotted paths into the record.
const INCIDENT_COLUMNS: &[(&str, Cell)] = &[
    ("id", Cell::Text),
    ("sensitivity", Cell::Text),
    ("occurred_at", Cell::Text),
    ("time_precision", Cell::Number),
    ("event_type", Cell::Text),
    ("sub_event_type", Cell::Text),
    ("location.lat", Cell::Number),
    ("location.lon", Cell::Number),
    ("geo_precision", Cell::Number),
    ("location_name", Cell::Text),
    ("admin1", Cell::Text),
    ("actor1", Cell::Text),
    ("actor1_party", Cell::Text),
    ("actor2", Cell::Text),
    ("actor2_party", Cell::Text),
    ("fatalities", Cell::Number),
    ("ceasefire_violation.kind", Cell::Text),
    ("ceasefire_violation.explosion_subtype", Cell::Text),
    ("ceasefire_violation.perception", Cell::Text),
    ("ceasefire_violation.weapon", Cell::Text),
    ("ceasefire_violation.direction_deg", Cell::Number),
    ("ceasefire_violation.distance_min_m", Cell::Number),
    ("ceasefire_violation.distance_max_m", Cell::Number),
    ("ceasefire_violation.observing_post", Cell::Text),
    ("ceasefire_violation.count", Cell::Number),
    ("ceasefire_violation.attributed_to", Cell::Text),
    ("source", Cell::Text),
    ("source_scale", Cell::Text),
    ("source_grading.reliability", Cell::Text),
    ("source_grading.credibility", Cell::Number),
    ("verification.status", Cell::Text),
    ("assignee", Cell::Text),
    ("notes", Cell::Text),
];

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with dotted column names (incidents).
    Csv,
    /// A GeoJSON FeatureCollection (any kind).
    Geojson,
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::Geojson),
            _ => None,
        }
    }
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn set_path(v: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = v;
    while let Some(k) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(k.to_string(), value);
            return;
        }
        cur = cur
            .entry(k.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("dotted paths only nest objects");
    }
}

fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
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

fn csv_rows(reader: impl Read, file: &str) -> Result<impl Iterator<Item = Result<Row>>> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(reader);
    let headers = rdr
        .headers()
        .with_context(|| format!("{file}: reading the header"))?
        .clone();
    let mut kinds = Vec::new();
    for h in headers.iter() {
        let kind = INCIDENT_COLUMNS
            .iter()
            .find(|(c, _)| *c == h)
            .map(|(_, k)| *k)
            .ok_or_else(|| anyhow!("{file}:1: unknown column {h:?}"))?;
        kinds.push(kind);
    }
    let file = file.to_string();
    Ok(rdr.into_records().map(move |rec| {
        let rec = rec.map_err(|e| anyhow!("{file}: {e}"))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut m = Map::new();
        for ((h, kind), cell) in headers.iter().zip(&kinds).zip(rec.iter()) {
            if cell.is_empty() {
                continue;
            }
            let v = match kind {
                Cell::Text => Value::String(cell.to_string()),
                Cell::Number => serde_json::from_str::<serde_json::Number>(cell)
                    .map(Value::Number)
                    .map_err(|_| anyhow!("{file}:{line}: field {h}: {cell:?} is not a number"))?,
            };
            set_path(&mut m, h, v);
        }
        split_meta(Value::Object(m), line, &file)
    }))
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
    let parse = {
        let file = file.clone();
        let path = path.to_path_buf();
        let actor = actor.to_string();
        let bar = bar.clone();
        tokio::task::spawn_blocking(move || -> Result<u64> {
            let now = Timestamp::now();
            let ctx = ValidationContext { now };
            let reason = Some(format!("import {file}"));
            let mut chunk = Vec::with_capacity(4096);
            let mut n = 0u64;
            let rows: Box<dyn Iterator<Item = Result<Row>>> = match format {
                Format::Csv => {
                    if kind != EntityKind::Incident {
                        bail!(
                            "{file}: CSV import is for incidents; use GeoJSON for {}",
                            kind.collection()
                        );
                    }
                    let f = std::fs::File::open(&path)?;
                    Box::new(csv_rows(
                        bar.wrap_read(std::io::BufReader::with_capacity(1 << 20, f)),
                        &file,
                    )?)
                }
                Format::Geojson => {
                    let text = std::fs::read_to_string(&path)?;
                    bar.set_position(size);
                    Box::new(geojson_rows(kind, &text, &file)?.into_iter())
                }
            };
            for row in rows {
                let row = row?;
                let record = kind.validate_json(row.data, &ctx).map_err(|e| {
                    let first = &e.0[0];
                    anyhow!(
                        "{file}:{}: field {}: {}",
                        row.line,
                        first.field,
                        first.message
                    )
                })?;
                chunk.push(Command {
                    actor: actor.clone(),
                    reason: reason.clone(),
                    idempotency: None,
                    change: Change::Create {
                        kind,
                        id: row.id.unwrap_or_else(Uuid::now_v7),
                        sensitivity: row.sensitivity,
                        record,
                    },
                });
                n += 1;
                if chunk.len() == 4096 {
                    tx.blocking_send(ImportChunk::Commands(std::mem::take(&mut chunk)))
                        .map_err(|_| anyhow!("the store stopped the import"))?;
                }
            }
            if !chunk.is_empty() {
                tx.blocking_send(ImportChunk::Commands(chunk))
                    .map_err(|_| anyhow!("the store stopped the import"))?;
            }
            tx.blocking_send(ImportChunk::Commit)
                .map_err(|_| anyhow!("the store stopped the import"))?;
            Ok(n)
        })
    };
    let written = store.apply_stream(rx);
    let (parsed, written) = tokio::join!(parse, written);
    bar.finish_and_clear();
    let parsed = parsed.context("import task")??;
    let written = written.map_err(|e| anyhow!("{file}: {e}; nothing was written"))?;
    debug_assert_eq!(parsed, written);
    Ok(written)
}

enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Geojson(&'a mut dyn Write),
}

/// Writes every visible record of `kind` to `out`, streaming page by page.
pub async fn export(
    store: &dyn Store,
    kind: EntityKind,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut q = ListQuery::new(kind, Sensitivity::Restricted);
    q.limit = 5000;
    // In creation order, which an import keeps: export, import, export
    // again gives the same file.
    q.oldest_first = true;
    let mut n = 0u64;
    let mut sink = match format {
        Format::Csv => {
            if kind != EntityKind::Incident {
                bail!(
                    "CSV export is for incidents; use GeoJSON for {}",
                    kind.collection()
                );
            }
            let mut w = csv::Writer::from_writer(out);
            w.write_record(INCIDENT_COLUMNS.iter().map(|(c, _)| *c))?;
            Sink::Csv(Box::new(w))
        }
        Format::Geojson => {
            out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
            Sink::Geojson(out)
        }
    };
    loop {
        let page = store.list(&q).await?;
        for env in &page.items {
            match &mut sink {
                Sink::Csv(w) => {
                    let wire = env.to_wire();
                    w.write_record(
                        INCIDENT_COLUMNS
                            .iter()
                            .map(|(c, _)| cell_text(get_path(&wire, c))),
                    )?;
                }
                Sink::Geojson(o) => {
                    if n > 0 {
                        o.write_all(b",\n")?;
                    }
                    serde_json::to_writer(&mut **o, &feature(kind, env))?;
                }
            }
            n += 1;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    match sink {
        Sink::Csv(mut w) => w.flush()?,
        Sink::Geojson(o) => {
            o.write_all(b"\n]}\n")?;
            o.flush()?;
        }
    }
    Ok(n)
}

fn feature(kind: EntityKind, env: &Envelope) -> Value {
    let mut props = env.to_wire();
    let geometry = kind.index_of(&env.data).and_then(|i| i.geometry);
    if matches!(kind, EntityKind::Incident | EntityKind::Post)
        && let Some(m) = props.as_object_mut()
    {
        m.remove("location");
    }
    json!({"type": "Feature", "id": env.id, "geometry": geometry, "properties": props})
}
