//! `GET /api/v1/bulletins/{date}`: the signed daily bulletin, computed from
//! the record on request, in JSON, Markdown, HTML or PDF.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use std::collections::HashMap;
use truce_report::{Format, Period, compute, render};

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};

fn date(v: &str, field: &str) -> ApiResult<Date> {
    v.parse()
        .map_err(|_| Problem::field(field, format!("{v:?} is not a YYYY-MM-DD date")))
}

/// The bulletin for `date` (or `from`..`to`), signed by the mission key.
pub(crate) async fn bulletin(
    State(state): State<AppState>,
    _p: Principal,
    Path(day): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let key = state.mission_key.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-mission-key",
            "this server has no mission key to sign bulletins; run `truce key`",
        )
    })?;
    let day = date(&day, "date")?;
    let from = params
        .get("from")
        .map(|v| date(v, "from"))
        .transpose()?
        .unwrap_or(day);
    let to = params
        .get("to")
        .map(|v| date(v, "to"))
        .transpose()?
        .unwrap_or(day);
    let period = Period::new(from, to).map_err(|e| Problem::field("to", e.to_string()))?;
    let format = match params.get("format") {
        None => Format::Json,
        Some(f) => Format::parse(f)
            .ok_or_else(|| Problem::field("format", "must be json, md, html or pdf"))?,
    };
    let bulletin = compute(state.store.as_ref(), period)
        .await
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "bulletin", e.to_string()))?;
    let signed = key.sign(bulletin);
    let bytes = tokio::task::spawn_blocking(move || render(&signed, format))
        .await
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "bulletin", e.to_string()))?
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "bulletin", e.to_string()))?;
    let mut res = bytes.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"bulletin-{}-{}.{}\"",
        period.from,
        period.to,
        format.extension()
    )) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
