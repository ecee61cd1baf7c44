//! Shelter, displacement and returns beyond generic CRUD: check-in with
//! capacity warnings, check-out, occupancy over time, and flow totals
//! ("N people returned home since D"). Also the helpers the people and
//! agreements handlers share (typed reads, updates, complete listings).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::BytesRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use truce_core::access::{self, Action};
use truce_core::shelter::{
    self, Movement, MovementKind, Refused, ShelterRegistration, ShelterSite, SiteStatus,
};
use truce_core::{EntityKind, Envelope, Sensitivity, ValidationContext};
use truce_store::{Change, ListQuery};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use crate::records::{
    audit, from_body, json_body, parse_id, parse_time, readable, record_response,
};

impl From<Refused> for Problem {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Invalid(e) => Problem::invalid(e),
            Refused::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", m),
        }
    }
}

/// Routes of the shelter module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/shelter_sites/{id}/check-in", post(check_in))
        .route("/shelter_sites/{id}/occupancy", get(occupancy))
        .route("/shelter_registrations/{id}/check-out", post(check_out))
        .route("/movements/totals", get(flow_totals))
}

pub(crate) fn now_ctx() -> ValidationContext {
    ValidationContext {
        now: Timestamp::now(),
    }
}

/// 403 unless `p` may do `action` on `kind`.
pub(crate) fn may(p: &Principal, kind: EntityKind, action: Action) -> ApiResult<()> {
    if access::can_write(p.role, kind, action) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "role {} may not {action:?} {} records",
            p.role,
            kind.as_str()
        )))
    }
}

/// 404, as for a missing collection, unless `p` may read `kind` at all.
pub(crate) fn may_read(p: &Principal, kind: EntityKind) -> ApiResult<Sensitivity> {
    access::max_readable(p.role, kind)
        .ok_or_else(|| Problem::not_found(format!("collection {}", kind.collection())))
}

fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

/// Decodes a stored record.
pub(crate) fn typed<T: DeserializeOwned>(env: &Envelope) -> ApiResult<T> {
    serde_json::from_value(env.data.clone()).map_err(internal)
}

/// A record `p` may read (journaling restricted and people reads), decoded.
pub(crate) async fn load<T: DeserializeOwned>(
    state: &AppState,
    p: &Principal,
    kind: EntityKind,
    id: &str,
) -> ApiResult<(Envelope, T)> {
    let env = readable(state, p, kind, parse_id(id)?).await?;
    let t = typed(&env)?;
    Ok((env, t))
}

/// Every record of `kind` `p` may read that references `reference` (or
/// all), journaling the read when they are people records.
pub(crate) async fn list_all<T: DeserializeOwned>(
    state: &AppState,
    p: &Principal,
    kind: EntityKind,
    reference: Option<Uuid>,
) -> ApiResult<Vec<(Envelope, T)>> {
    let mut q = ListQuery::new(kind, may_read(p, kind)?);
    q.reference = reference;
    q.limit = 10_000;
    let mut out = Vec::new();
    loop {
        let page = state.store.list(&q).await?;
        for env in page.items {
            let t = typed(&env)?;
            out.push((env, t));
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let audited: Vec<Uuid> = out
        .iter()
        .filter(|(e, _)| kind.is_people() || e.sensitivity == Sensitivity::Restricted)
        .map(|(e, _)| e.id)
        .collect();
    if !audited.is_empty() {
        audit(
            state,
            p,
            kind,
            Uuid::nil(),
            json!({"ids": audited, "reference": reference}),
        )
        .await?;
    }
    Ok(out)
}

pub(crate) fn parse_date(v: &str, field: &str) -> ApiResult<Date> {
    v.parse::<Date>()
        .map_err(|_| Problem::field(field, format!("{v:?} is not a YYYY-MM-DD date")))
}

fn reason_of(v: &Value) -> Option<String> {
    v.get("reason")
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|r| !r.trim().is_empty())
}

/// `POST /api/v1/shelter_sites/{id}/check-in`: registers a household (counts
/// by sex and age band, no names) and answers with the site's occupancy and
/// any capacity warnings. A closed site refuses (409).
async fn check_in(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (site_env, site): (_, ShelterSite) = load(&state, &p, EntityKind::ShelterSite, &id).await?;
    may(&p, EntityKind::ShelterRegistration, Action::Create)?;
    let (_, mut value) = json_body(body)?;
    let reason = reason_of(&value);
    let m = value.as_object_mut().expect("object");
    m.remove("reason");
    let sensitivity = match m.remove("sensitivity") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(Sensitivity::parse).ok_or_else(|| {
            Problem::field("sensitivity", "must be public, mission or restricted")
        })?),
    };
    match m.get("site") {
        None => {
            m.insert("site".into(), json!(site_env.id));
        }
        Some(v) if v == &json!(site_env.id) => {}
        Some(_) => return Err(Problem::field("site", "differs from the site in the path")),
    }
    if site.status == SiteStatus::Closed {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("{} is closed to check-ins", site.name),
        ));
    }
    EntityKind::ShelterRegistration.protect_fields(&mut value, None);
    let record = EntityKind::ShelterRegistration.validate_json(value, &now_ctx())?;
    let id = Uuid::now_v7();
    let sensitivity =
        sensitivity.unwrap_or_else(|| EntityKind::ShelterRegistration.default_sensitivity());
    let mut retry = crate::ops::Retry::new("the site");
    let applied = loop {
        let changes = async {
            ApiResult::Ok(vec![Change::Create {
                kind: EntityKind::ShelterRegistration,
                id,
                sensitivity,
                record: record.clone(),
            }])
        }
        .await?;
        if let Some(a) = retry
            .write(&*state.store, &p, reason.clone(), None, changes)
            .await?
        {
            break a;
        }
    };
    let env = applied.record.ok_or_else(|| internal("no record"))?;
    let regs: Vec<(Envelope, ShelterRegistration)> = list_all(
        &state,
        &p,
        EntityKind::ShelterRegistration,
        Some(site_env.id),
    )
    .await?;
    let occ = shelter::occupancy_at(regs.iter().map(|(_, r)| r), Timestamp::now());
    let warnings = shelter::capacity_warnings(&site, &occ);
    let mut res = record_response(StatusCode::CREATED, &env, applied.replayed);
    *res.body_mut() = axum::body::Body::from(
        json!({"registration": env.to_wire(), "occupancy": occ, "warnings": warnings}).to_string(),
    );
    Ok(res)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckOut {
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/shelter_registrations/{id}/check-out` `{at?, to?, reason?}`
/// (optional `If-Match`): 409 when already checked out.
async fn check_out(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (env, _): (_, ShelterRegistration) =
        load(&state, &p, EntityKind::ShelterRegistration, &id).await?;
    may(&p, EntityKind::ShelterRegistration, Action::Update)?;
    let v = crate::ops::if_match(&headers)?;
    let (_, value) = json_body(body)?;
    let req: CheckOut = from_body(value)?;
    let now = Timestamp::now();
    let env = crate::ops::update_with(
        &*state.store,
        &p,
        EntityKind::ShelterRegistration,
        env.id,
        v,
        req.reason.clone(),
        "the registration",
        |reg: &mut ShelterRegistration| {
            Ok(reg.check_out(req.at.unwrap_or(now), req.to.clone(), now)?)
        },
    )
    .await?;
    Ok(record_response(StatusCode::OK, &env, false))
}

/// `GET /api/v1/shelter_sites/{id}/occupancy?from=D&to=D`: occupancy now
/// and at the end of each day (default: the last 30 days), with warnings.
async fn occupancy(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (site_env, site): (_, ShelterSite) = load(&state, &p, EntityKind::ShelterSite, &id).await?;
    let now = Timestamp::now();
    let today = shelter::utc_date(now);
    let to = match params.get("to") {
        Some(v) => parse_date(v, "to")?,
        None => today,
    };
    let from = match params.get("from") {
        Some(v) => parse_date(v, "from")?,
        None => to
            .checked_sub(jiff::Span::new().days(29))
            .map_err(|e| Problem::field("to", e.to_string()))?,
    };
    if from > to {
        return Err(Problem::field("from", "is after to"));
    }
    if (to - from).get_days() >= shelter::MAX_SERIES_DAYS as i32 {
        return Err(Problem::field(
            "from",
            format!("the series spans at most {} days", shelter::MAX_SERIES_DAYS),
        ));
    }
    let regs: Vec<ShelterRegistration> = list_all(
        &state,
        &p,
        EntityKind::ShelterRegistration,
        Some(site_env.id),
    )
    .await?
    .into_iter()
    .map(|(_, r)| r)
    .collect();
    let current = shelter::occupancy_at(&regs, now);
    let series: Vec<Value> = shelter::occupancy_series(&regs, from, to)
        .into_iter()
        .map(|(d, o)| {
            json!({"date": d, "persons": o.persons, "children": o.children,
                   "female": o.female, "male": o.male, "households": o.households})
        })
        .collect();
    Ok(Json(json!({
        "site": site_env.id,
        "name": site.name,
        "capacity_day": site.capacity_day,
        "capacity_night": site.capacity_night,
        "current": current,
        "warnings": shelter::capacity_warnings(&site, &current),
        "series": series,
    })))
}

/// `GET /api/v1/movements/totals?kind=return|displacement&since=D&until=D`:
/// "N people returned home since D" over the flows the caller may read
/// (refuted flows left out).
async fn flow_totals(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let kind = match params.get("kind").map(String::as_str).unwrap_or("return") {
        "return" => MovementKind::Return,
        "displacement" => MovementKind::Displacement,
        other => {
            return Err(Problem::field(
                "kind",
                format!("{other:?} is not return or displacement"),
            ));
        }
    };
    let since = params
        .get("since")
        .map(|v| parse_date(v, "since"))
        .transpose()?;
    let until = params
        .get("until")
        .map(|v| parse_date(v, "until"))
        .transpose()?;
    let flows: Vec<Movement> = list_all(&state, &p, EntityKind::Movement, None)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let t = shelter::flow_totals(&flows, kind, since, until);
    Ok(Json(json!({
        "kind": kind,
        "since": since,
        "until": until,
        "movements": t.movements,
        "persons": t.persons,
        "verified_persons": t.verified_persons,
        "children": t.children,
    })))
}

/// Answers 405 for generic writes of kinds written by a module action.
pub(crate) fn written_by_action(route: &'static str) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "written-by-action",
        format!("these records change other records too; write them with {route}"),
    )
}

/// Keeps `parse_time` reachable for the module handlers.
pub(crate) fn time_param(
    params: &HashMap<String, String>,
    k: &str,
) -> ApiResult<Option<Timestamp>> {
    params.get(k).map(|v| parse_time(v, k)).transpose()
}

/// A JSON answer with a status.
pub(crate) fn json_status(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}
