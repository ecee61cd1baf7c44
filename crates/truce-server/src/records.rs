//! Create, read, update, retract and list for every record kind, through one
//! set of generic handlers: a new kind in the core needs no new handler.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::BytesRejection};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use truce_core::access::{self, Action};
use truce_core::incident::{Incident, VerificationChange};
use truce_core::record::WIRE_METADATA;
use truce_core::{EntityKind, Envelope, Sensitivity, ValidationContext};
use truce_store::{Change, Command, Idempotency, ListQuery};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 200;

pub(crate) fn kind_of(collection: &str) -> ApiResult<EntityKind> {
    EntityKind::from_collection(collection)
        .ok_or_else(|| Problem::not_found(format!("collection {collection}")))
}

pub(crate) fn parse_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| Problem::not_found(format!("record {s}")))
}

fn etag(env: &Envelope) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", env.version)).expect("ascii")
}

/// `If-Match: "3"` -> 3. Required on changes to existing records.
pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<u64> {
    let v = headers.get(header::IF_MATCH).ok_or_else(|| {
        let mut p = Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if-match-required",
            "send If-Match with the ETag of the version you changed",
        );
        p.errors = vec![truce_core::FieldError::new("If-Match", "is required")];
        p
    })?;
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Problem::field("If-Match", "must be an ETag this API returned, e.g. \"3\""))
}

pub(crate) fn idempotency(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
) -> ApiResult<Option<Idempotency>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            Problem::field(
                "Idempotency-Key",
                format!("must be 1..{MAX_KEY_LEN} visible ASCII characters"),
            )
        })?;
    let mut h = Sha256::new();
    h.update(method.as_str());
    h.update([0]);
    h.update(path);
    h.update([0]);
    h.update(body);
    Ok(Some(Idempotency {
        key,
        request_hash: h.finalize().into(),
    }))
}

pub(crate) fn json_body(body: Result<Bytes, BytesRejection>) -> ApiResult<(Bytes, Value)> {
    let bytes = body.map_err(|e| {
        let status = e.status();
        Problem::new(
            status,
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too-large"
            } else {
                "bad-body"
            },
            e.body_text(),
        )
    })?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| Problem::bad_json(e.to_string()))?;
    if !value.is_object() {
        return Err(Problem::bad_json("the body must be a JSON object"));
    }
    Ok((bytes, value))
}

fn reason_from(headers: &HeaderMap, body: &Value) -> Option<String> {
    body.get("reason")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("x-truce-reason")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .filter(|r| !r.trim().is_empty())
}

/// Splits metadata (id, sensitivity) from the record's own fields.
fn split_metadata(mut body: Value) -> ApiResult<(Option<Uuid>, Option<Sensitivity>, Value)> {
    let m = body.as_object_mut().expect("checked object");
    let id = match m.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(Uuid::parse_str(s).map_err(|_| Problem::field("id", "must be a UUID"))?)
        }
        Some(_) => return Err(Problem::field("id", "must be a UUID string")),
    };
    let sensitivity = match m.get("sensitivity") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(Sensitivity::parse).ok_or_else(|| {
            Problem::field("sensitivity", "must be public, mission or restricted")
        })?),
    };
    for k in WIRE_METADATA {
        m.remove(k);
    }
    m.remove("reason");
    Ok((id, sensitivity, body))
}

pub(crate) fn record_response(status: StatusCode, env: &Envelope, replayed: bool) -> Response {
    let mut res = (status, Json(env.to_wire())).into_response();
    let h = res.headers_mut();
    h.insert(header::ETAG, etag(env));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/{}/{}", env.kind.collection(), env.id)) {
        h.insert(header::LOCATION, v);
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

fn require(p: &Principal, kind: EntityKind, action: Action) -> ApiResult<()> {
    if let Some(route) = kind.written_by_action()
        && matches!(action, Action::Create | Action::Update | Action::Retract)
    {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "written-by-action",
            format!(
                "{} records change other records too; write them with {route}",
                kind.as_str()
            ),
        ));
    }
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

fn ctx() -> ValidationContext {
    ValidationContext {
        now: Timestamp::now(),
    }
}

/// Reads a record the caller may see, journaling reads of restricted ones.
pub(crate) async fn readable(
    state: &AppState,
    p: &Principal,
    kind: EntityKind,
    id: Uuid,
) -> ApiResult<Envelope> {
    let env = state
        .store
        .get(id)
        .await?
        .filter(|e| e.kind == kind && access::can_read(p.role, kind, e.sensitivity))
        .ok_or_else(|| Problem::not_found(format!("{kind} {id}")))?;
    // People records: every read is journaled, whatever their sensitivity.
    if env.sensitivity == Sensitivity::Restricted || kind.is_people() {
        audit(state, p, kind, id, json!({"id": id})).await?;
    }
    Ok(env)
}

pub(crate) async fn audit(
    state: &AppState,
    p: &Principal,
    kind: EntityKind,
    id: Uuid,
    payload: Value,
) -> ApiResult<()> {
    state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason: None,
            idempotency: None,
            change: Change::AuditRead {
                entity: kind.as_str().into(),
                entity_id: id,
                payload,
            },
        })
        .await?;
    Ok(())
}

/// `POST /api/v1/{collection}`.
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    Path(collection): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let kind = kind_of(&collection)?;
    require(&p, kind, Action::Create)?;
    let (bytes, value) = json_body(body)?;
    let idem = idempotency(&headers, &method, &format!("/api/v1/{collection}"), &bytes)?;
    let reason = reason_from(&headers, &value);
    let (id, sensitivity, mut data) = split_metadata(value)?;
    kind.protect_fields(&mut data, None);
    let record = kind.validate_json(data, &ctx())?;
    let applied = state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason,
            idempotency: idem,
            change: Change::Create {
                kind,
                id: id.unwrap_or_else(Uuid::now_v7),
                sensitivity: sensitivity.unwrap_or_else(|| kind.default_sensitivity()),
                record,
            },
        })
        .await?;
    let env = applied.record.expect("create returns the record");
    Ok(record_response(StatusCode::CREATED, &env, applied.replayed))
}

/// `GET /api/v1/{collection}/{id}`.
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path((collection, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let kind = kind_of(&collection)?;
    let env = readable(&state, &p, kind, parse_id(&id)?).await?;
    Ok(record_response(StatusCode::OK, &env, false))
}

/// `PUT /api/v1/{collection}/{id}` with `If-Match`.
pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path((collection, id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let kind = kind_of(&collection)?;
    let id = parse_id(&id)?;
    let existing = readable(&state, &p, kind, id).await?;
    require(&p, kind, Action::Update)?;
    let version = if_match(&headers)?;
    let (bytes, value) = json_body(body)?;
    let idem = idempotency(
        &headers,
        &method,
        &format!("/api/v1/{collection}/{id}"),
        &bytes,
    )?;
    let reason = reason_from(&headers, &value);
    let (_, sensitivity, mut data) = split_metadata(value)?;
    kind.protect_fields(&mut data, Some(&existing.data));
    let record = kind.validate_json(data, &ctx())?;
    let applied = state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason,
            idempotency: idem,
            change: Change::Update {
                kind,
                id,
                if_version: Some(version),
                sensitivity,
                record,
            },
        })
        .await?;
    Ok(record_response(
        StatusCode::OK,
        &applied.record.expect("record"),
        applied.replayed,
    ))
}

/// `DELETE /api/v1/{collection}/{id}` with `If-Match` and a reason: retracts.
pub async fn retract(
    State(state): State<AppState>,
    p: Principal,
    Path((collection, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let kind = kind_of(&collection)?;
    let id = parse_id(&id)?;
    readable(&state, &p, kind, id).await?;
    require(&p, kind, Action::Retract)?;
    let version = if_match(&headers)?;
    let reason = params
        .get("reason")
        .cloned()
        .or_else(|| reason_from(&headers, &Value::Null))
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| Problem::field("reason", "is required to retract a record"))?;
    let applied = state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason: Some(reason),
            idempotency: None,
            change: Change::Retract {
                kind,
                id,
                if_version: Some(version),
            },
        })
        .await?;
    Ok(record_response(
        StatusCode::OK,
        &applied.record.expect("record"),
        false,
    ))
}

/// `POST /api/v1/incidents/{id}/verification`: verification state, grading,
/// assignee, duplicate link.
pub async fn verify_incident(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let kind = EntityKind::Incident;
    let id = parse_id(&id)?;
    let existing = readable(&state, &p, kind, id).await?;
    require(&p, kind, Action::Verify)?;
    let version = match headers.get(header::IF_MATCH) {
        Some(_) => if_match(&headers)?,
        None => existing.version,
    };
    let (_, value) = json_body(body)?;
    let change: VerificationChange = from_body(value)?;
    let reason = change.reason.clone();
    let mut incident: Incident = serde_json::from_value(existing.data.clone())
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    incident.apply_verification(change, &p.username, Timestamp::now())?;
    let data = serde_json::to_value(&incident).expect("serialise");
    let record = kind.validate_json(data, &ctx())?;
    let applied = state
        .store
        .apply(Command {
            actor: p.username.clone(),
            reason,
            idempotency: None,
            change: Change::Update {
                kind,
                id,
                if_version: Some(version),
                sensitivity: None,
                record,
            },
        })
        .await?;
    Ok(record_response(
        StatusCode::OK,
        &applied.record.expect("record"),
        false,
    ))
}

/// Deserialises a body, naming the field that does not fit.
pub(crate) fn from_body<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        Problem::field(
            if path == "." { "body" } else { &path },
            e.into_inner().to_string(),
        )
    })
}

/// `GET /api/v1/{collection}/{id}/history`: the journal of one record.
pub async fn history(
    State(state): State<AppState>,
    p: Principal,
    Path((collection, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let kind = kind_of(&collection)?;
    let id = parse_id(&id)?;
    readable(&state, &p, kind, id).await?;
    let entries: Vec<Value> = state
        .store
        .history(id)
        .await?
        .into_iter()
        .filter(|e| e.op != truce_core::journal::Op::Read)
        .map(|e| {
            json!({
                "seq": e.seq,
                "op": e.op,
                "actor": e.actor,
                "at": e.at,
                "reason": e.reason,
                "hash": hex::encode(e.hash),
                "payload": e.payload_json(),
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}

pub(crate) fn parse_time(v: &str, field: &str) -> ApiResult<Timestamp> {
    v.parse::<Timestamp>()
        .or_else(|_| {
            v.parse::<jiff::civil::Date>()
                .map_err(|e| e.to_string())
                .and_then(|d| {
                    d.to_zoned(jiff::tz::TimeZone::UTC)
                        .map(|z| z.timestamp())
                        .map_err(|e| e.to_string())
                })
        })
        .map_err(|_| {
            Problem::field(
                field,
                format!("{v:?} is not an RFC 3339 time or a YYYY-MM-DD date"),
            )
        })
}

fn parse_bbox(v: &str) -> ApiResult<[f64; 4]> {
    let parts: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| Problem::field("bbox", "must be min_lon,min_lat,max_lon,max_lat"))?;
    let [a, b, c, d]: [f64; 4] = parts
        .try_into()
        .map_err(|_| Problem::field("bbox", "must have exactly 4 numbers"))?;
    if !(-180.0..=180.0).contains(&a)
        || !(-180.0..=180.0).contains(&c)
        || !(-90.0..=90.0).contains(&b)
        || !(-90.0..=90.0).contains(&d)
        || a > c
        || b > d
    {
        return Err(Problem::field(
            "bbox",
            "is outside WGS84 ranges or min > max",
        ));
    }
    Ok([a, b, c, d])
}

fn encode_cursor(rid: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rid.to_string())
}

fn decode_cursor(s: &str) -> ApiResult<i64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Problem::field("cursor", "is not a cursor this API returned"))
}

/// Turns query parameters into a store query.
pub(crate) fn list_query(
    kind: EntityKind,
    p: &Principal,
    params: &HashMap<String, String>,
) -> ApiResult<ListQuery> {
    let max = access::max_readable(p.role, kind)
        .ok_or_else(|| Problem::not_found(format!("collection {}", kind.collection())))?;
    let mut q = ListQuery::new(kind, max);
    let get = |k: &str| params.get(k).map(String::as_str).filter(|s| !s.is_empty());
    if let Some(v) = get("bbox") {
        q.bbox = Some(parse_bbox(v)?);
    }
    if let Some(v) = get("from") {
        q.from = Some(parse_time(v, "from")?);
    }
    if let Some(v) = get("to") {
        q.to = Some(parse_time(v, "to")?);
    }
    q.category = get("category").map(str::to_string);
    q.status = get("status").map(str::to_string);
    if let Some(v) = get("party") {
        q.party =
            Some(Uuid::parse_str(v).map_err(|_| Problem::field("party", "must be a party UUID"))?);
    }
    if let Some(v) = get("ref") {
        q.reference =
            Some(Uuid::parse_str(v).map_err(|_| Problem::field("ref", "must be a record UUID"))?);
    }
    q.text = get("q").map(str::to_string);
    q.limit = crate::problem::count_param(params, "limit", 10_000, q.limit as usize)? as u32;
    if let Some(v) = get("cursor") {
        q.cursor = Some(decode_cursor(v)?);
    }
    q.include_retracted = get("include_retracted") == Some("true");
    Ok(q)
}

/// `GET /api/v1/{collection}`: filters, cursor pagination, `format=geojson`.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(collection): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let kind = kind_of(&collection)?;
    let q = list_query(kind, &p, &params)?;
    let page = state.store.list(&q).await?;
    let restricted: Vec<Uuid> = page
        .items
        .iter()
        .filter(|e| e.sensitivity == Sensitivity::Restricted || kind.is_people())
        .map(|e| e.id)
        .collect();
    if !restricted.is_empty() {
        audit(
            &state,
            &p,
            kind,
            Uuid::nil(),
            json!({"ids": restricted, "query": params}),
        )
        .await?;
    }
    let next = page.next_cursor.map(encode_cursor);
    let body = if params.get("format").map(String::as_str) == Some("geojson") {
        let features: Vec<Value> = page
            .items
            .iter()
            .map(|e| {
                json!({
                    "type": "Feature",
                    "id": e.id,
                    "geometry": kind.index_of(&e.data).and_then(|i| i.geometry),
                    "properties": e.to_wire(),
                })
            })
            .collect();
        json!({"type": "FeatureCollection", "features": features, "next_cursor": next})
    } else {
        let items: Vec<Value> = page.items.iter().map(Envelope::to_wire).collect();
        json!({"items": items, "next_cursor": next})
    };
    let mut res = Json(body).into_response();
    if params.get("format").map(String::as_str) == Some("geojson") {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
    }
    Ok(res)
}

/// `GET /api/v1/{collection}/aggregate?by=all|category|status|day|party|aor&<filters>`:
/// counts and quantity sums for dashboards, over what the caller may read.
pub async fn aggregate(
    State(state): State<AppState>,
    p: Principal,
    Path(collection): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let kind = kind_of(&collection)?;
    let q = list_query(kind, &p, &params)?;
    let by = match params.get("by").map(String::as_str).unwrap_or("all") {
        "all" => truce_store::Grouping::All,
        "category" => truce_store::Grouping::Category,
        "status" => truce_store::Grouping::Status,
        "day" => truce_store::Grouping::Day,
        "party" => {
            let buckets = crate::dashboard::by_party(state.store.as_ref(), &p, &q).await?;
            return Ok(Json(json!({ "buckets": buckets })));
        }
        "aor" => {
            let buckets = crate::dashboard::by_aor(state.store.as_ref(), &p, &q).await?;
            return Ok(Json(json!({ "buckets": buckets })));
        }
        other => {
            return Err(Problem::field(
                "by",
                format!("{other:?} is not all, category, status, day, party or aor"),
            ));
        }
    };
    let buckets: Vec<Value> = state
        .store
        .aggregate(&q, by)
        .await?
        .into_iter()
        .map(|b| json!({"key": b.key, "count": b.count, "sum": b.sum}))
        .collect();
    Ok(Json(json!({ "buckets": buckets })))
}
