//! Persons of concern beyond generic CRUD: case transitions with history,
//! exchanges that move many cases atomically, exchange totals per party and
//! period, and tracing (scored candidates; a person confirms or rejects).
//!
//! Only the protection role and admins reach any of it: for everyone else
//! every route answers 404, exactly as for records that do not exist, and
//! every read is journaled.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::BytesRejection};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::access::Action;
use truce_core::model::Party;
use truce_core::people::{
    self, CaseStatus, Exchange, MatchDecision, Period, PersonCase, TraceMatch, Transition,
};
use truce_core::shelter::Refused;
use truce_core::{EntityKind, Envelope, ValidationErrors};
use truce_store::Change;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops;
use crate::problem::{ApiResult, Problem};
use crate::records::{self, from_body, json_body, record_response};
use crate::shelter::{
    json_status, list_all, load, may, may_read, now_ctx, time_param, typed, written_by_action,
};

/// Routes of the people module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/person_cases/{id}/transitions", post(transition))
        .route("/person_cases/{id}/matches", get(candidates).post(decide))
        .route("/exchanges", get(list_exchanges).post(create_exchange))
        .route("/exchanges/totals", get(exchange_totals))
        // Named here, or `/exchanges/{id}` would take "aggregate" for an id.
        .route("/exchanges/aggregate", get(aggregate_exchanges))
        .route("/trace_matches/aggregate", get(aggregate_matches))
        .route(
            "/exchanges/{id}",
            get(get_exchange)
                .put(refuse_exchange)
                .delete(refuse_exchange),
        )
        .route("/trace_matches", get(list_matches).post(refuse_match))
        .route(
            "/trace_matches/{id}",
            get(get_match).put(refuse_match).delete(refuse_match),
        )
}

/// `POST /api/v1/person_cases/{id}/transitions` `{status, at?, party?, reason?}`
/// (optional `If-Match`): 409 for a move the state machine forbids.
async fn transition(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (env, _): (_, PersonCase) = load(&state, &p, EntityKind::PersonCase, &id).await?;
    may(&p, EntityKind::PersonCase, Action::Update)?;
    let v = ops::if_match(&headers)?;
    let (_, value) = json_body(body)?;
    let t: Transition = from_body(value)?;
    if let Some(party) = t.party {
        check_party(&state, party, "party").await?;
    }
    let reason = t.reason.clone();
    let env = ops::update_with(
        &*state.store,
        &p,
        EntityKind::PersonCase,
        env.id,
        v,
        reason,
        "the case",
        |case: &mut PersonCase| {
            Ok(case.transition(t.clone(), &p.username, Timestamp::now(), None, None)?)
        },
    )
    .await?;
    Ok(record_response(StatusCode::OK, &env, false))
}

/// A person case that is not retracted.
fn is_case(env: Option<&Envelope>) -> bool {
    env.is_some_and(|e| e.kind == EntityKind::PersonCase && !e.retracted)
}

/// 422 naming `field` unless `id` is a party.
async fn check_party(state: &AppState, id: Uuid, field: &str) -> ApiResult<()> {
    match state.store.get(id).await? {
        Some(e) if e.kind == EntityKind::Party && !e.retracted => Ok(()),
        _ => Err(Problem::field(field, format!("{id} is not a party"))),
    }
}

async fn list_exchanges(
    state: State<AppState>,
    p: Principal,
    q: Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    records::list(state, p, Path("exchanges".into()), q).await
}

async fn get_exchange(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    records::get(state, p, Path(("exchanges".into(), id))).await
}

async fn list_matches(
    state: State<AppState>,
    p: Principal,
    q: Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    records::list(state, p, Path("trace_matches".into()), q).await
}

async fn get_match(
    state: State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    records::get(state, p, Path(("trace_matches".into(), id))).await
}

async fn aggregate_exchanges(
    state: State<AppState>,
    p: Principal,
    q: Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    records::aggregate(state, p, Path("exchanges".into()), q).await
}

async fn aggregate_matches(
    state: State<AppState>,
    p: Principal,
    q: Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    records::aggregate(state, p, Path("trace_matches".into()), q).await
}

async fn refuse_exchange(p: Principal) -> ApiResult<Response> {
    may_read(&p, EntityKind::Exchange)?;
    Err(written_by_action("POST /api/v1/exchanges"))
}

async fn refuse_match(p: Principal) -> ApiResult<Response> {
    may_read(&p, EntityKind::TraceMatch)?;
    Err(written_by_action("POST /api/v1/person_cases/{id}/matches"))
}

/// `POST /api/v1/exchanges`: records an exchange and moves every case it
/// lists to returned (or remains transferred) in one atomic change, each
/// case at the version just read: all or nothing.
async fn create_exchange(
    State(state): State<AppState>,
    p: Principal,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    may_read(&p, EntityKind::Exchange)?;
    may(&p, EntityKind::Exchange, Action::Create)?;
    may(&p, EntityKind::PersonCase, Action::Update)?;
    let (bytes, mut value) = json_body(body)?;
    let idem = records::idempotency(&headers, &method, "/api/v1/exchanges", &bytes)?;
    let m = value.as_object_mut().expect("object");
    let reason = m
        .remove("reason")
        .and_then(|v| v.as_str().map(str::to_string));
    let id = match m.remove("id") {
        None | Some(Value::Null) => Uuid::now_v7(),
        Some(Value::String(s)) => {
            Uuid::parse_str(&s).map_err(|_| Problem::field("id", "must be a UUID"))?
        }
        Some(_) => return Err(Problem::field("id", "must be a UUID string")),
    };
    let record = EntityKind::Exchange.validate_json(value, &now_ctx())?;
    let exchange: Exchange = serde_json::from_value(record.data.clone())
        .map_err(|e| Problem::field("body", e.to_string()))?;
    let mut errs = ValidationErrors::default();
    for (i, leg) in exchange.legs.iter().enumerate() {
        for (party, f) in [(leg.from_party, "from_party"), (leg.to_party, "to_party")] {
            if let Err(pr) = check_party(&state, party, &format!("legs[{i}].{f}")).await {
                errs.0.extend(pr.errors);
            }
        }
    }
    for (li, leg) in exchange.legs.iter().enumerate() {
        for (ci, cid) in leg.cases.iter().enumerate() {
            if !is_case(state.store.get(*cid).await?.as_ref()) {
                errs.push(format!("legs[{li}].cases[{ci}]"), "is not a person case");
            }
        }
    }
    errs.into_result()?;
    let mut cases_updated = 0;
    let mut retry = ops::Retry::new("the exchange's cases");
    let applied = loop {
        let changes = async {
            // Every case at the version read now, moved by the exchange.
            let mut cases: Vec<(Uuid, PersonCase)> = Vec::new();
            let mut versions: Vec<Envelope> = Vec::new();
            for cid in exchange.legs.iter().flat_map(|l| &l.cases) {
                let env = state.store.get(*cid).await?;
                let env = env
                    .filter(|e| is_case(Some(e)))
                    .ok_or_else(|| Problem::not_found(format!("person case {cid}")))?;
                cases.push((*cid, typed(&env)?));
                versions.push(env);
            }
            exchange.apply_to_cases(id, &mut cases, &p.username, Timestamp::now())?;
            let mut parts = vec![Change::Create {
                kind: EntityKind::Exchange,
                id,
                sensitivity: EntityKind::Exchange.default_sensitivity(),
                record: record.clone(),
            }];
            for ((cid, case), env) in cases.iter().zip(&versions) {
                let record = EntityKind::PersonCase.validate_json(
                    serde_json::to_value(case)
                        .map_err(|e| Problem::field("body", e.to_string()))?,
                    &now_ctx(),
                )?;
                parts.push(Change::Update {
                    kind: EntityKind::PersonCase,
                    id: *cid,
                    if_version: Some(env.version),
                    sensitivity: None,
                    record,
                });
            }
            cases_updated = cases.len();
            // One change is written as itself, several atomically.
            ApiResult::Ok(vec![Change::Atomic(parts)])
        }
        .await?;
        if let Some(a) = retry
            .write(&*state.store, &p, reason.clone(), idem.clone(), changes)
            .await?
        {
            break a;
        }
    };
    let env = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("exchange {id}")))?;
    let mut res = record_response(StatusCode::CREATED, &env, applied.replayed);
    *res.body_mut() = axum::body::Body::from(
        json!({"exchange": env.to_wire(), "cases_updated": cases_updated}).to_string(),
    );
    Ok(res)
}

/// `GET /api/v1/exchanges/totals?period=day|month|year|all&from=&to=`:
/// persons and remains received per party and period.
async fn exchange_totals(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    may_read(&p, EntityKind::Exchange)?;
    let period = match params.get("period") {
        None => Period::Month,
        Some(s) => Period::parse(s)
            .ok_or_else(|| Problem::field("period", "must be day, month, year or all"))?,
    };
    let from = time_param(&params, "from")?;
    let to = time_param(&params, "to")?;
    let xs: Vec<Exchange> = list_all(&state, &p, EntityKind::Exchange, None)
        .await?
        .into_iter()
        .map(|(_, x)| x)
        .collect();
    let totals = people::exchange_totals(&xs, period, from, to);
    let mut names: HashMap<Uuid, String> = HashMap::new();
    for t in &totals {
        if let std::collections::hash_map::Entry::Vacant(v) = names.entry(t.to_party)
            && let Some(env) = state.store.get(t.to_party).await?
            && let Ok(party) = typed::<Party>(&env)
        {
            v.insert(party.name);
        }
    }
    let rows: Vec<Value> = totals
        .iter()
        .map(|t| {
            json!({"period": t.period, "to_party": t.to_party, "to_party_name": names.get(&t.to_party),
                   "persons": t.persons, "remains": t.remains, "exchanges": t.exchanges})
        })
        .collect();
    Ok(Json(json!({"period": period, "totals": rows})))
}

/// `GET /api/v1/person_cases/{id}/matches?min_score=0.5&limit=20`: cases a
/// sought person may be among, scored across scripts, best first, with
/// decisions already taken. Every case scored is a journaled read.
async fn candidates(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (env, sought): (_, PersonCase) = load(&state, &p, EntityKind::PersonCase, &id).await?;
    let min = match params.get("min_score") {
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|x| (0.0..=1.0).contains(x))
            .ok_or_else(|| Problem::field("min_score", "must be a number 0..1"))?,
        None => 0.5,
    };
    let limit = crate::problem::count_param(&params, "limit", 500, 20)?;
    let decided: HashMap<Uuid, MatchDecision> =
        list_all::<TraceMatch>(&state, &p, EntityKind::TraceMatch, Some(env.id))
            .await?
            .into_iter()
            .filter(|(_, m)| m.sought == env.id)
            .map(|(_, m)| (m.candidate, m.decision))
            .collect();
    let all: Vec<(Envelope, PersonCase)> =
        list_all(&state, &p, EntityKind::PersonCase, None).await?;
    let mut scored: Vec<Value> = all
        .iter()
        .filter(|(e, _)| e.id != env.id)
        .filter_map(|(e, c)| {
            let s = people::score_candidate(&sought, c)?;
            (s.score >= min).then(|| {
                json!({"id": e.id, "reference": c.reference, "name": c.name, "alt_names": c.alt_names,
                       "kind": c.kind, "status": c.status, "birth_year": c.birth_year, "sex": c.sex,
                       "score": (s.score * 1000.0).round() / 1000.0,
                       "name_score": (s.name_score * 1000.0).round() / 1000.0,
                       "penalties": s.penalties, "proposed": s.score >= truce_core::names::MATCH_THRESHOLD,
                       "decision": decided.get(&e.id)})
            })
        })
        .collect();
    scored.sort_by(|a, b| {
        b["score"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a["score"].as_f64().unwrap_or(0.0))
    });
    scored.truncate(limit);
    Ok(Json(
        json!({"sought": env.id, "threshold": truce_core::names::MATCH_THRESHOLD, "candidates": scored}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    candidate: Uuid,
    decision: MatchDecision,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/person_cases/{id}/matches` `{candidate, decision, reason?}`:
/// a person confirms or rejects a match. Confirming moves the sought case
/// from missing to located alive (or deceased, for remains) in the same
/// atomic change that records the match; a pair is decided once (409).
async fn decide(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let (env, sought): (_, PersonCase) = load(&state, &p, EntityKind::PersonCase, &id).await?;
    may(&p, EntityKind::TraceMatch, Action::Create)?;
    may(&p, EntityKind::PersonCase, Action::Update)?;
    let v = ops::if_match(&headers)?;
    let (_, value) = json_body(body)?;
    let d: Decision = from_body(value)?;
    let cand_env = state
        .store
        .get(d.candidate)
        .await?
        .filter(|e| e.kind == EntityKind::PersonCase && !e.retracted && e.id != env.id)
        .ok_or_else(|| Problem::field("candidate", "is not another person case"))?;
    records::audit(
        &state,
        &p,
        EntityKind::PersonCase,
        cand_env.id,
        json!({"id": cand_env.id, "as": "match candidate"}),
    )
    .await?;
    let candidate: PersonCase = typed(&cand_env)?;
    let score = people::score_candidate(&sought, &candidate)
        .ok_or_else(|| {
            Problem::from(Refused::conflict(format!(
                "case {} ({}) cannot be the person case {} seeks",
                candidate.reference,
                truce_core::model::serde_name(&candidate.status),
                sought.reference
            )))
        })?
        .score;
    let already: HashSet<Uuid> =
        list_all::<TraceMatch>(&state, &p, EntityKind::TraceMatch, Some(env.id))
            .await?
            .into_iter()
            .filter(|(_, m)| m.sought == env.id)
            .map(|(_, m)| m.candidate)
            .collect();
    if already.contains(&cand_env.id) {
        return Err(Refused::conflict("this pair has already been decided").into());
    }
    let now = Timestamp::now();
    let match_id = Uuid::now_v7();
    let tm = TraceMatch {
        sought: env.id,
        candidate: cand_env.id,
        score: (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
        decision: d.decision,
        decided_by: p.username.clone(),
        decided_at: now,
        reason: d.reason.clone(),
    };
    let parts = vec![Change::Create {
        kind: EntityKind::TraceMatch,
        id: match_id,
        sensitivity: EntityKind::TraceMatch.default_sensitivity(),
        record: EntityKind::TraceMatch
            .validate_json(serde_json::to_value(&tm).expect("ser"), &now_ctx())?,
    }];
    let mut retry = ops::Retry::new("the case");
    loop {
        let changes = async {
            let mut parts = parts.clone();
            if d.decision != MatchDecision::Confirmed {
                return Ok(parts);
            }
            // The sought case as it is now (re-read when a retry follows a
            // concurrent change), at the version the request named, if any.
            let env = state
                .store
                .get(env.id)
                .await?
                .filter(|e| e.kind == EntityKind::PersonCase && !e.retracted)
                .ok_or_else(|| Problem::not_found(format!("person case {}", env.id)))?;
            ops::expect_version(v, &env)?;
            let mut sought: PersonCase = typed(&env)?;
            let dead = matches!(
                candidate.status,
                CaseStatus::Deceased | CaseStatus::RemainsTransferred
            ) || candidate.kind == people::CaseKind::HumanRemains;
            let to = if dead {
                CaseStatus::Deceased
            } else {
                CaseStatus::LocatedAlive
            };
            if sought.status != CaseStatus::Missing {
                return Err(Refused::conflict(format!(
                    "case {} is {}, not missing",
                    sought.reference,
                    truce_core::model::serde_name(&sought.status)
                ))
                .into());
            }
            sought.transition(
                Transition {
                    status: to,
                    at: Some(now),
                    party: None,
                    reason: Some(format!("tracing match with case {}", candidate.reference)),
                },
                &p.username,
                now,
                None,
                Some(match_id),
            )?;
            parts.push(Change::Update {
                kind: EntityKind::PersonCase,
                id: env.id,
                if_version: Some(env.version),
                sensitivity: None,
                record: EntityKind::PersonCase
                    .validate_json(serde_json::to_value(&sought).expect("ser"), &now_ctx())?,
            });
            ApiResult::Ok(parts)
        }
        .await?;
        if retry
            .write(&*state.store, &p, d.reason.clone(), None, changes)
            .await?
            .is_some()
        {
            break;
        }
    }
    let m = state
        .store
        .get(match_id)
        .await?
        .ok_or_else(|| Problem::not_found("trace match"))?;
    let case = state.store.get(env.id).await?.map(|e| e.to_wire());
    Ok(json_status(
        StatusCode::CREATED,
        json!({"match": m.to_wire(), "case": case}),
    ))
}
