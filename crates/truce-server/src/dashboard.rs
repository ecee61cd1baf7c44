//! Dashboard aggregates for the web UI: incidents by day, category, status,
//! area of responsibility and party, and delivered tonnes by day and
//! category, over what the caller's role may read.
//!
//! Built on [`truce_store::Store::aggregate`] (one SQL `GROUP BY` per
//! grouping); grouping by party runs one aggregate per party the caller may
//! see, and grouping by area of responsibility tests each record's point
//! against the AoR's polygon (after the R*Tree narrowed it to the AoR's
//! bounding box). Restricted records are counted only for roles that may
//! read them, because every query carries the role's most sensitive level.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use geo::{Contains, Point};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use truce_core::access;
use truce_core::logistics::round_t;
use truce_core::model::{Aor, Party};
use truce_core::{EntityKind, Envelope};
use truce_store::{Bucket, Grouping, ListQuery, Store};

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::records::list_query;

/// The dashboard's routes, merged into `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

/// One bucket per party the caller may read: records of `q` concerning it.
pub(crate) async fn by_party(
    store: &dyn Store,
    p: &Principal,
    q: &ListQuery,
) -> ApiResult<Vec<Value>> {
    let Some(max) = access::max_readable(p.role, EntityKind::Party) else {
        return Ok(Vec::new());
    };
    let mut parties: Vec<(String, Envelope)> = store
        .list_all(ListQuery::new(EntityKind::Party, max))
        .await?
        .into_iter()
        .filter_map(|e| {
            let party: Party = serde_json::from_value(e.data.clone()).ok()?;
            Some((party.short_name.unwrap_or(party.name), e))
        })
        .collect();
    parties.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    let mut out = Vec::new();
    for (name, env) in parties {
        let mut pq = q.clone();
        pq.party = Some(env.id);
        let b = store.aggregate(&pq, Grouping::All).await?;
        let (count, sum) = b.first().map_or((0, 0.0), |b| (b.count, b.sum));
        out.push(json!({"key": env.id, "name": name, "count": count, "sum": sum}));
    }
    Ok(out)
}

/// One bucket per area of responsibility the caller may read: records of
/// `q` whose point lies inside it.
pub(crate) async fn by_aor(
    store: &dyn Store,
    p: &Principal,
    q: &ListQuery,
) -> ApiResult<Vec<Value>> {
    let Some(max) = access::max_readable(p.role, EntityKind::Aor) else {
        return Ok(Vec::new());
    };
    let mut aors: Vec<Aor> = store
        .list_all(ListQuery::new(EntityKind::Aor, max))
        .await?
        .into_iter()
        .filter_map(|e| serde_json::from_value(e.data).ok())
        .collect();
    aors.sort_by(|a, b| a.code.cmp(&b.code));
    let mut out = Vec::new();
    for aor in aors {
        let (Ok(shape), Some(bbox)) = (aor.area.to_geo(), aor.area.bbox()) else {
            continue;
        };
        let mut aq = q.clone();
        aq.bbox = Some(bbox);
        aq.cursor = None;
        let (mut count, mut sum) = (0u64, 0.0);
        for env in store.list_all(aq).await? {
            let Some(idx) = q.kind.index_of(&env.data) else {
                continue;
            };
            let inside = idx
                .geometry
                .as_ref()
                .filter(|g| g["type"] == "Point")
                .and_then(|g| Some((g["coordinates"][0].as_f64()?, g["coordinates"][1].as_f64()?)))
                .is_some_and(|(x, y)| shape.contains(&Point::new(x, y)));
            if inside {
                count += 1;
                sum += idx.quantity.unwrap_or(0.0);
            }
        }
        out.push(json!({"key": aor.code, "name": aor.name, "count": count, "sum": sum}));
    }
    Ok(out)
}

fn buckets(b: Vec<Bucket>) -> Vec<Value> {
    b.into_iter()
        .map(|b| json!({"key": b.key, "count": b.count, "sum": b.sum}))
        .collect()
}

fn tonnes(b: Vec<Bucket>) -> Vec<Value> {
    b.into_iter()
        .map(|b| json!({"key": b.key, "lines": b.count, "tonnes": round_t(b.sum)}))
        .collect()
}

/// A day (`YYYY-MM-DD`, the whole day) or an RFC 3339 time; `end` picks the
/// day's last instant.
fn bound(v: &str, field: &str, end: bool) -> ApiResult<Timestamp> {
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(t);
    }
    let d: jiff::civil::Date = v.parse().map_err(|_| {
        Problem::field(
            field,
            format!("{v:?} is not an RFC 3339 time or a YYYY-MM-DD date"),
        )
    })?;
    let d = if end { d.saturating_add(1.day()) } else { d };
    let t = d
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| Problem::field(field, e.to_string()))?
        .timestamp();
    Ok(if end {
        t - jiff::SignedDuration::from_nanos(1)
    } else {
        t
    })
}

/// `GET /api/v1/dashboard?from=&to=&<filters>`: incidents by day, category,
/// status, area of responsibility and party, and delivered tonnes by day and
/// category, for `from`..`to` (whole days; default the last 30 days). Other
/// filters (`category`, `status`, `party`, `bbox`, `q`) narrow the incidents.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    p: Principal,
    Query(mut params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let now = Timestamp::now();
    let to = match params.remove("to").filter(|v| !v.is_empty()) {
        Some(v) => bound(&v, "to", true)?,
        None => bound(
            &now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
            "to",
            true,
        )?,
    };
    let from = match params.remove("from").filter(|v| !v.is_empty()) {
        Some(v) => bound(&v, "from", false)?,
        None => bound(
            &to.to_zoned(jiff::tz::TimeZone::UTC)
                .date()
                .saturating_sub(29.days())
                .to_string(),
            "from",
            false,
        )?,
    };
    if to < from {
        return Err(Problem::field("to", "is before from"));
    }
    let store = state.store.as_ref();
    let mut iq = list_query(EntityKind::Incident, &p, &params)?;
    iq.from = Some(from);
    iq.to = Some(to);
    let total = store.aggregate(&iq, Grouping::All).await?;
    let incidents = json!({
        "count": total.first().map_or(0, |b| b.count),
        "by_day": buckets(store.aggregate(&iq, Grouping::Day).await?),
        "by_category": buckets(store.aggregate(&iq, Grouping::Category).await?),
        "by_status": buckets(store.aggregate(&iq, Grouping::Status).await?),
        "by_aor": by_aor(store, &p, &iq).await?,
        "by_party": by_party(store, &p, &iq).await?,
    });
    let deliveries = match access::max_readable(p.role, EntityKind::ManifestLine) {
        None => Value::Null,
        Some(max) => {
            let mut dq = ListQuery::new(EntityKind::ManifestLine, max);
            dq.status = Some("delivered".into());
            dq.from = Some(from);
            dq.to = Some(to);
            let total = store.aggregate(&dq, Grouping::All).await?;
            json!({
                "tonnes": round_t(total.first().map_or(0.0, |b| b.sum)),
                "lines": total.first().map_or(0, |b| b.count),
                "by_day": tonnes(store.aggregate(&dq, Grouping::Day).await?),
                "by_category": tonnes(store.aggregate(&dq, Grouping::Category).await?),
            })
        }
    };
    Ok(Json(json!({
        "from": from,
        "to": to,
        "incidents": incidents,
        "deliveries": deliveries,
    })))
}
