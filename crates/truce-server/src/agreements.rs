//! Agreements and talks beyond generic CRUD: provision status reports with
//! evidence links, an agreement's implementation as of a day, follow-up
//! actions of meetings and the list of those still open.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::BytesRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde_json::{Value, json};
use truce_core::access::{self, Action};
use truce_core::agreements::{
    self, ActionStatus, ActionUpdate, Agreement, Meeting, Provision, StatusRequest,
};
use truce_core::{EntityKind, ValidationErrors};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem};
use crate::records::{from_body, json_body, record_response};
use crate::shelter::{list_all, load, may, parse_date};

/// Routes of the agreements module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/provisions/{id}/status", post(report_status))
        .route("/agreements/{id}/implementation", get(implementation))
        .route("/meetings/{id}/actions/{n}", post(close_action))
        .route("/follow-ups", get(follow_ups))
}

/// `POST /api/v1/provisions/{id}/status` `{status, as_of, evidence[], note?}`:
/// 409 for a status the current one cannot move to; 422 naming
/// `evidence[i]` for a link to a record the caller cannot read (or that
/// does not exist: the two look the same).
async fn report_status(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (env, prov): (_, Provision) = load(&state, &p, EntityKind::Provision, &id).await?;
    may(&p, EntityKind::Provision, Action::Update)?;
    let v = ops::if_match(&headers)?;
    let (_, value) = json_body(body)?;
    let req: StatusRequest = from_body(value)?;
    let mut errs = ValidationErrors::default();
    for (i, e) in req.evidence.iter().enumerate() {
        let ok = state
            .store
            .get(*e)
            .await?
            .is_some_and(|r| !r.retracted && access::can_read(p.role, r.kind, r.sensitivity));
        if !ok {
            errs.push(format!("evidence[{i}]"), format!("no record {e}"));
        }
    }
    errs.into_result()?;
    let agreement: Agreement = match state.store.get(prov.agreement).await? {
        Some(a) if a.kind == EntityKind::Agreement => crate::shelter::typed(&a)?,
        _ => {
            return Err(Problem::field(
                "agreement",
                "the provision's agreement is missing",
            ));
        }
    };
    let note = req.note.clone();
    let env = ops::update_with(
        &*state.store,
        &p,
        EntityKind::Provision,
        env.id,
        v,
        note,
        "the provision",
        |prov: &mut Provision| {
            Ok(prov.report(
                req.clone(),
                agreement.signed_on,
                &p.username,
                Timestamp::now(),
            )?)
        },
    )
    .await?;
    Ok(record_response(StatusCode::OK, &env, false))
}

/// `GET /api/v1/agreements/{id}/implementation?as_of=D`: each provision's
/// status on day D (default today) with its latest evidence, and counts by
/// status.
async fn implementation(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (env, agreement): (_, Agreement) = load(&state, &p, EntityKind::Agreement, &id).await?;
    let as_of = match params.get("as_of") {
        Some(v) => parse_date(v, "as_of")?,
        None => truce_core::shelter::utc_date(Timestamp::now()),
    };
    let provisions: Vec<(truce_core::Envelope, Provision)> =
        list_all(&state, &p, EntityKind::Provision, Some(env.id)).await?;
    let provisions: Vec<_> = provisions
        .into_iter()
        .filter(|(_, pr)| pr.agreement == env.id)
        .collect();
    let mut rows: Vec<Value> = Vec::new();
    for (e, pr) in &provisions {
        let latest = pr.history.iter().rev().find(|r| r.as_of <= as_of);
        // Evidence the caller may not read (an exchange, for an analyst) is
        // left out, so the answer does not reveal that it exists.
        let mut evidence = Vec::new();
        for ev in latest.map(|r| r.evidence.clone()).unwrap_or_default() {
            if state
                .store
                .get(ev)
                .await?
                .is_some_and(|r| !r.retracted && access::can_read(p.role, r.kind, r.sensitivity))
            {
                evidence.push(ev);
            }
        }
        rows.push(
            json!({"id": e.id, "number": pr.number, "category": pr.category,
               "status": pr.status_on(as_of),
               "reported_as_of": latest.map(|r| r.as_of),
               "evidence": evidence}),
        );
    }
    let counts = agreements::status_counts(provisions.iter().map(|(_, p)| p), as_of);
    Ok(Json(json!({
        "agreement": env.id,
        "title": agreement.title,
        "stage": agreement.stage,
        "as_of": as_of,
        "provisions": rows,
        "by_status": counts,
    })))
}

/// `POST /api/v1/meetings/{id}/actions/{n}` `{status: done|dropped, on?}`:
/// closes follow-up action n (0-based); 409 when it is not open.
async fn close_action(
    State(state): State<AppState>,
    p: Principal,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (env, meeting): (_, Meeting) = load(&state, &p, EntityKind::Meeting, &id).await?;
    may(&p, EntityKind::Meeting, Action::Update)?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| *n < meeting.actions.len())
        .ok_or_else(|| Problem::not_found(format!("action {n} of meeting {id}")))?;
    let v = ops::if_match(&headers)?;
    let (_, value) = json_body(body)?;
    let u: ActionUpdate = from_body(value)?;
    let env = ops::update_with(
        &*state.store,
        &p,
        EntityKind::Meeting,
        env.id,
        v,
        None,
        "the meeting",
        |meeting: &mut Meeting| {
            Ok(meeting.close_action(n, u.clone(), &p.username, Timestamp::now())?)
        },
    )
    .await?;
    Ok(record_response(StatusCode::OK, &env, false))
}

/// `GET /api/v1/follow-ups?status=open|done|dropped&overdue=true&owner_party=ID`:
/// follow-up actions across the meetings the caller may read, by due date.
async fn follow_ups(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let status = match params.get("status").map(String::as_str) {
        None | Some("") => None,
        Some("open") => Some(ActionStatus::Open),
        Some("done") => Some(ActionStatus::Done),
        Some("dropped") => Some(ActionStatus::Dropped),
        Some(other) => {
            return Err(Problem::field(
                "status",
                format!("{other:?} is not open, done or dropped"),
            ));
        }
    };
    let overdue = params.get("overdue").map(String::as_str) == Some("true");
    let party = params
        .get("owner_party")
        .map(|v| {
            Uuid::parse_str(v).map_err(|_| Problem::field("owner_party", "must be a party UUID"))
        })
        .transpose()?;
    let today = truce_core::shelter::utc_date(Timestamp::now());
    let meetings: Vec<(truce_core::Envelope, Meeting)> =
        list_all(&state, &p, EntityKind::Meeting, None).await?;
    let mut rows = Vec::new();
    for (e, m) in &meetings {
        for (i, a) in m.actions.iter().enumerate() {
            let late = a.status == ActionStatus::Open && a.due_on.is_some_and(|d| d < today);
            if status.is_some_and(|s| s != a.status)
                || (overdue && !late)
                || party.is_some_and(|pt| a.owner_party != Some(pt))
            {
                continue;
            }
            rows.push(
                json!({"meeting": e.id, "meeting_title": m.title, "index": i,
                "description": a.description, "owner": a.owner, "owner_party": a.owner_party,
                "due_on": a.due_on, "status": a.status, "overdue": late,
                "closed_on": a.closed_on}),
            );
        }
    }
    rows.sort_by(|a, b| {
        a["due_on"]
            .as_str()
            .unwrap_or("9999")
            .cmp(b["due_on"].as_str().unwrap_or("9999"))
    });
    Ok(Json(json!({"items": rows})))
}
