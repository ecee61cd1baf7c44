//! Open-source intake over HTTP: documents in (stored with the candidate
//! facts `truce-intake` finds in them, each report of a fact already under
//! review or already accepted added to it as another source), the review
//! queue, and the
//! accept / reject actions. The rules (what a candidate may become, which
//! transitions are allowed, when two reports are the same fact) live in
//! `truce_core::intake`; this module reads, calls them and writes
//! atomically.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State, rejection::BytesRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use truce_core::access::{self, Action};
use truce_core::intake::{
    self, Candidate, CandidateEdit, CandidateStatus, DocumentFormat, FactKind, IntakeDocument,
    PlaceRef, Review, SourceSpan,
};
use truce_core::{EntityKind, Envelope, Sensitivity, ValidationErrors};
use truce_intake::{Extractor, FactData, Format};
use truce_store::{Change, Idempotency, ListQuery, Store};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::ops::{self, Outcome};
use crate::problem::{ApiResult, Problem};

/// Routes of the intake module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/intake/documents", get(list_documents).post(post_document))
        .route("/intake/documents/{id}", get(get_document))
        .route("/intake/candidates", get(list_candidates))
        .route("/intake/candidates/{id}", get(get_candidate))
        .route("/intake/candidates/{id}/accept", post(accept))
        .route("/intake/candidates/{id}/reject", post(reject))
}

/// `POST /api/v1/intake/documents` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, alias = "source")]
    outlet: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    published: Option<Date>,
    #[serde(default)]
    reason: Option<String>,
}

/// The candidate a fact proposes, with the date and place of its sentence.
fn candidate_of(
    doc_id: Uuid,
    doc: &IntakeDocument,
    facts: &[truce_intake::Fact],
    i: usize,
    ctx: &truce_intake::Context,
) -> Candidate {
    let f = &facts[i];
    let place_of = |p: &truce_intake::Place| PlaceRef {
        name: p.canonical.clone(),
        geonameid: p.geonameid,
        lat: p.lat,
        lon: p.lon,
    };
    let ctx_date = ctx.date.and_then(|j| match &facts[j].data {
        FactData::Date(d) => Some(d.date),
        _ => None,
    });
    let ctx_place = ctx.place.and_then(|j| match &facts[j].data {
        FactData::Place(p) => Some(place_of(p)),
        _ => None,
    });
    let mut c = Candidate {
        fact_kind: FactKind::Quantity,
        category: None,
        value: None,
        unit: None,
        qualifier: None,
        party: None,
        period: None,
        identity: None,
        name: None,
        date: None,
        reported_on: doc.published,
        place: None,
        sources: vec![SourceSpan {
            document: doc_id,
            start: f.start as u64,
            end: f.end as u64,
            text: f.text.clone(),
            outlet: doc.outlet.clone(),
        }],
        status: CandidateStatus::Pending,
        review: None,
    };
    match &f.data {
        FactData::Quantity(q) => {
            c.category = Some(q.category.as_str().into());
            c.value = Some(q.value);
            c.unit = Some(q.unit.as_str().into());
            c.qualifier = q.qualifier.map(|x| x.as_str().into());
            c.party = q.party.clone();
            c.period = q.period.clone();
            c.date = ctx_date;
            c.place = ctx_place;
        }
        FactData::Event(e) => {
            c.fact_kind = FactKind::Event;
            c.category = Some(e.event_type.as_str().into());
            c.name = Some(e.trigger.clone());
            c.date = ctx_date;
            c.place = ctx_place;
        }
        FactData::Place(p) => {
            c.fact_kind = FactKind::Place;
            c.identity = Some(
                p.geonameid
                    .map_or_else(|| p.canonical.to_lowercase(), |g| g.to_string()),
            );
            c.name = Some(p.name.clone());
            c.place = Some(place_of(p));
        }
        FactData::Date(d) => {
            c.fact_kind = FactKind::Date;
            c.identity = Some(d.date.to_string());
            c.date = Some(d.date);
        }
        FactData::Actor(a) => {
            c.fact_kind = FactKind::Actor;
            c.identity = Some(a.actor.clone());
            c.name = Some(a.name.clone());
        }
    }
    c
}

fn decode<T: serde::de::DeserializeOwned>(env: &Envelope) -> ApiResult<T> {
    serde_json::from_value(env.data.clone()).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored {} {} does not parse: {e}", env.kind, env.id),
        )
    })
}

/// A candidate as clients see it: the record plus what it may become.
fn candidate_wire(env: &Envelope) -> Value {
    let mut w = env.to_wire();
    if let Ok(c) = serde_json::from_value::<Candidate>(env.data.clone()) {
        w["targets"] = json!(c.targets().iter().map(|k| k.as_str()).collect::<Vec<_>>());
        let mut docs: Vec<Uuid> = c.sources.iter().map(|s| s.document).collect();
        docs.dedup();
        docs.sort();
        docs.dedup();
        w["documents"] = json!(docs.len());
    }
    w
}

/// The answer to a document post: the document and its candidates.
async fn document_answer(store: &dyn Store, p: &Principal, id: Uuid) -> ApiResult<Value> {
    let max =
        access::max_readable(p.role, EntityKind::IntakeCandidate).unwrap_or(Sensitivity::Public);
    let mut q = ListQuery::new(EntityKind::IntakeCandidate, max);
    q.reference = Some(id);
    q.oldest_first = true;
    let cands = store.list_all(q).await?;
    let candidates: Vec<Value> = cands.iter().map(candidate_wire).collect();
    let merged = candidates
        .iter()
        .filter(|c| c["documents"].as_u64().unwrap_or(0) > 1)
        .count();
    Ok(json!({
        "document": ops::wire(store, id).await?,
        "candidates": candidates,
        "merged": merged,
    }))
}

/// `POST /api/v1/intake/documents` `{text | html, title?, outlet?, url?,
/// published?}`: stores the document and its candidate facts ([`ingest`];
/// a rejected fact reported again is reviewed again), answering with both.
/// The role is checked before the body, so a role that may not post hears
/// 403 whatever it sent.
async fn post_document(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    ops::require(&p, EntityKind::IntakeDocument, Action::Create)?;
    ops::require(&p, EntityKind::IntakeCandidate, Action::Create)?;
    let store = &*state.store;
    let (v, idem) = ops::action_input(&headers, &p, "/api/v1/intake/documents", body)?;
    let doc_id = idem.as_ref().map_or_else(Uuid::now_v7, |(_, id)| *id);
    if ops::replayed(store, &p, &idem).await? {
        return Ok(replayed_response(
            StatusCode::OK,
            document_answer(store, &p, doc_id).await?,
        ));
    }
    let b: DocumentBody = ops::from_value(v)?;
    let (text, format) = match (b.text, b.html) {
        (Some(t), None) => (t, DocumentFormat::Plain),
        (None, Some(h)) => (h, DocumentFormat::Html),
        (Some(_), Some(_)) => return Err(Problem::field("html", "send text or html, not both")),
        (None, None) => return Err(Problem::field("text", "send the document as text or html")),
    };
    let doc = IntakeDocument {
        title: b.title,
        text,
        format,
        outlet: b.outlet,
        url: b.url,
        published: b.published,
    };
    ingest(
        store,
        &state.intake_queue,
        &p,
        doc_id,
        &doc,
        idem.map(|i| i.0),
        b.reason,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(document_answer(store, &p, doc_id).await?),
    )
        .into_response())
}

/// Stores `doc` as `doc_id` with the candidate facts found in it, in one
/// journaled change by `p`: each fact already pending review, or already
/// accepted, from another report gets this document as one more source
/// (and the record an accepted one made gets it too) instead of a second
/// candidate (see `truce_core::intake::same_fact`). `queue` is held from
/// reading the queue to writing, so two reports of one fact stored at once
/// give one candidate. What
/// `POST /api/v1/intake/documents` does after checking its input; the demo
/// loads its documents through it too.
#[allow(clippy::too_many_arguments)]
pub async fn ingest(
    store: &dyn Store,
    queue: &tokio::sync::Mutex<()>,
    p: &Principal,
    doc_id: Uuid,
    doc: &IntakeDocument,
    idempotency: Option<Idempotency>,
    reason: Option<String>,
) -> ApiResult<()> {
    ops::require(p, EntityKind::IntakeDocument, Action::Create)?;
    ops::require(p, EntityKind::IntakeCandidate, Action::Create)?;
    ops::valid(doc)?;
    let input = truce_intake::Document {
        text: &doc.text,
        format: match doc.format {
            DocumentFormat::Plain => Format::Plain,
            DocumentFormat::Html => Format::Html,
        },
        published: doc.published,
    };
    let facts = truce_intake::RuleExtractor::default().extract(&input);
    let ctxs = truce_intake::contexts(&doc.text, &facts);
    // One candidate per fact of this document (a figure repeated in the
    // headline and the body is one candidate with two spans).
    let mut fresh: Vec<Candidate> = Vec::new();
    for (i, c) in ctxs.iter().enumerate() {
        let cand = candidate_of(doc_id, doc, &facts, i, c);
        match intake::find_same(&cand, &fresh) {
            Some(k) => fresh[k].add_source(cand.sources[0].clone()),
            None => fresh.push(cand),
        }
    }
    // Reading the queue for facts already reported and writing this
    // document's candidates is one step: two posts of one fact at the same
    // instant must give one candidate with both sources, not two.
    // A fact already accepted is not reviewed again: a new report of it
    // becomes one more source of that decision and of the record it made.
    // Only accepted candidates of this document's categories can match.
    let mut categories: Vec<String> = fresh.iter().map(index_category).collect();
    categories.sort();
    categories.dedup();
    let _queue = queue.lock().await;
    for _ in 0..ops::RETRIES {
        let mut pending = candidates_in(store, CandidateStatus::Pending, None).await?;
        let mut accepted = Vec::new();
        for c in &categories {
            accepted
                .extend(candidates_in(store, CandidateStatus::Accepted, Some(c.clone())).await?);
        }
        let mut changes = vec![ops::create(doc_id, Sensitivity::Mission, doc)?];
        for (n, cand) in fresh.iter().enumerate() {
            let earlier = match intake::find_same(cand, pending.iter().map(|(_, c, _)| c)) {
                Some(k) => Some(&mut pending[k]),
                None => intake::find_same(cand, accepted.iter().map(|(_, c, _)| c))
                    .map(|k| &mut accepted[k]),
            };
            match earlier {
                Some((_, c, changed)) => {
                    for s in &cand.sources {
                        c.add_source(s.clone());
                    }
                    *changed = true;
                }
                None => {
                    let id = Uuid::new_v5(&doc_id, n.to_string().as_bytes());
                    changes.push(ops::create(id, Sensitivity::Mission, cand)?);
                }
            }
        }
        for (env, c, changed) in pending.iter().chain(&accepted) {
            if *changed {
                changes.push(ops::update(env, c)?);
            }
        }
        for (_, c, changed) in &accepted {
            if *changed && let Some(change) = sources_to_record(store, p, c).await? {
                changes.push(change);
            }
        }
        match ops::atomic(store, p, reason.clone(), idempotency.clone(), changes).await? {
            Outcome::Stale => continue,
            Outcome::Written(_) => return Ok(()),
        }
    }
    Err(ops::too_busy("the review queue"))
}

/// Candidates in `status` (of one index category when given), with their
/// envelopes and a "changed" mark for the caller.
async fn candidates_in(
    store: &dyn Store,
    status: CandidateStatus,
    category: Option<String>,
) -> ApiResult<Vec<(Envelope, Candidate, bool)>> {
    let mut q = ListQuery::new(EntityKind::IntakeCandidate, Sensitivity::Restricted);
    q.status = Some(status.as_str().into());
    q.category = category;
    q.oldest_first = true;
    let mut out = Vec::new();
    for env in store.list_all(q).await? {
        let c: Candidate = decode(&env)?;
        out.push((env, c, false));
    }
    Ok(out)
}

/// The category a candidate is listed under (see its `index`): a quantity's
/// or event's category, else its fact kind.
fn index_category(c: &Candidate) -> String {
    c.category
        .clone()
        .unwrap_or_else(|| c.fact_kind.as_str().to_string())
}

/// The update that gives the record an accepted candidate created or
/// linked all of the candidate's sources, when that record keeps sources,
/// still stands and the poster may change it.
async fn sources_to_record(
    store: &dyn Store,
    p: &Principal,
    c: &Candidate,
) -> ApiResult<Option<Change>> {
    let Some(id) = c.review.as_ref().and_then(|r| r.record) else {
        return Ok(None);
    };
    let Some(env) = store.get(id).await? else {
        return Ok(None);
    };
    if env.retracted
        || !intake::carries_sources(env.kind)
        || !access::can_read(p.role, env.kind, env.sensitivity)
        || !access::can_write(p.role, env.kind, Action::Update)
    {
        return Ok(None);
    }
    with_sources(&env, &c.sources, "sources").map(Some)
}

/// The update that adds `sources` to a record that keeps them (errors
/// named under `field`).
fn with_sources(env: &Envelope, sources: &[SourceSpan], field: &str) -> ApiResult<Change> {
    let mut data = env.data.clone();
    intake::add_sources(env.kind, &mut data, sources)?;
    Ok(Change::Update {
        kind: env.kind,
        id: env.id,
        if_version: Some(env.version),
        sensitivity: None,
        record: nested(field, env.kind.validate_json(data, &ops::ctx()))?,
    })
}

fn replayed_response(status: StatusCode, v: Value) -> Response {
    let mut r = (status, Json(v)).into_response();
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

fn max_read(p: &Principal, kind: EntityKind) -> ApiResult<Sensitivity> {
    access::max_readable(p.role, kind)
        .ok_or_else(|| Problem::not_found(format!("collection {}", kind.collection())))
}

/// `GET /api/v1/intake/documents?q=&outlet=`: documents, newest first,
/// without their text (read one for it).
async fn list_documents(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let mut q = ListQuery::new(
        EntityKind::IntakeDocument,
        max_read(&p, EntityKind::IntakeDocument)?,
    );
    q.text = params
        .get("q")
        .filter(|s| !s.is_empty())
        .map(|s| s.to_lowercase());
    q.category = params.get("outlet").filter(|s| !s.is_empty()).cloned();
    let items: Vec<Value> = state
        .store
        .list_all(q)
        .await?
        .iter()
        .map(|e| {
            let mut w = e.to_wire();
            let len = w["text"].as_str().map_or(0, str::len);
            if let Some(m) = w.as_object_mut() {
                m.remove("text");
            }
            w["length"] = json!(len);
            w
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/intake/documents/{id}`.
async fn get_document(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ops::parse_id(&id, EntityKind::IntakeDocument)?;
    let (env, _) = ops::load::<IntakeDocument>(&*state.store, &p, id).await?;
    Ok(Json(env.to_wire()))
}

/// `GET /api/v1/intake/candidates?status=pending|accepted|rejected|all&document=ID&kind=&category=`:
/// the review queue (pending by default), oldest first, each fact once with
/// all its sources.
async fn list_candidates(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let mut q = ListQuery::new(
        EntityKind::IntakeCandidate,
        max_read(&p, EntityKind::IntakeCandidate)?,
    );
    q.oldest_first = true;
    let get = |k: &str| params.get(k).map(String::as_str).filter(|s| !s.is_empty());
    match get("status") {
        None => q.status = Some("pending".into()),
        Some("all") => {}
        Some(s @ ("pending" | "accepted" | "rejected")) => q.status = Some(s.into()),
        Some(s) => {
            return Err(Problem::field(
                "status",
                format!("{s:?} is not pending, accepted, rejected or all"),
            ));
        }
    }
    if let Some(d) = get("document") {
        q.reference = Some(
            Uuid::parse_str(d).map_err(|_| Problem::field("document", "must be a document id"))?,
        );
    }
    let kind = match get("kind") {
        None => None,
        Some(k @ ("quantity" | "place" | "date" | "actor" | "event")) => Some(k),
        Some(k) => {
            return Err(Problem::field(
                "kind",
                format!("{k:?} is not quantity, place, date, actor or event"),
            ));
        }
    };
    match (get("category"), kind) {
        (Some(c), _) => q.category = Some(c.into()),
        (None, Some(k)) => q.category = Some(format!("kind:{k}")),
        (None, None) => {}
    }
    let items: Vec<Value> = state
        .store
        .list_all(q)
        .await?
        .iter()
        .map(candidate_wire)
        .filter(|w| kind.is_none_or(|k| w["fact_kind"] == k))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/intake/candidates/{id}`.
async fn get_candidate(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ops::parse_id(&id, EntityKind::IntakeCandidate)?;
    let (env, _) = ops::load::<Candidate>(&*state.store, &p, id).await?;
    Ok(Json(candidate_wire(&env)))
}

/// `POST /api/v1/intake/candidates/{id}/accept` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    /// `fact` (default), or the record kind to create: `incident`, `meeting`.
    #[serde(default)]
    target: Option<String>,
    /// An existing record to link instead of creating one.
    #[serde(default)]
    link: Option<Uuid>,
    /// Corrections applied before accepting.
    #[serde(default)]
    edit: Option<CandidateEdit>,
    /// Fields of the record to create that the text does not give.
    #[serde(default)]
    record: Option<Map<String, Value>>,
    #[serde(default)]
    reason: Option<String>,
}

/// The idempotency of a review action, and whether `cand` already carries
/// this request's decision (a retry: answer, do not refuse).
fn retried(idem: &Option<(Idempotency, Uuid)>, cand: &Candidate) -> bool {
    matches!((idem, cand.review.as_ref()), (Some((_, k)), Some(r)) if r.key == Some(*k))
}

async fn review_answer(store: &dyn Store, cand: Uuid) -> ApiResult<Value> {
    let env = store.get(cand).await?;
    let record = match env
        .as_ref()
        .and_then(|e| serde_json::from_value::<Candidate>(e.data.clone()).ok())
        .and_then(|c| c.review.and_then(|r| r.record))
    {
        Some(r) => ops::wire(store, r).await?,
        None => Value::Null,
    };
    Ok(json!({
        "candidate": env.as_ref().map(candidate_wire).unwrap_or(Value::Null),
        "record": record,
    }))
}

/// `POST /api/v1/intake/candidates/{id}/accept` `{target?, link?, edit?,
/// record?, reason?}`: accepts a pending candidate (409 otherwise) as the
/// fact itself, as a new module record carrying the candidate's sources,
/// or by linking an existing record (which gets the sources when its kind
/// keeps them). One atomic journaled change.
async fn accept(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let store = &*state.store;
    let cid = ops::parse_id(&id, EntityKind::IntakeCandidate)?;
    let (v, idem) = ops::action_input(
        &headers,
        &p,
        &format!("/api/v1/intake/candidates/{cid}/accept"),
        body,
    )?;
    let b: AcceptBody = ops::from_value(v)?;
    let target = match (b.target.as_deref(), b.link) {
        (Some(_), Some(_)) => {
            return Err(Problem::field("link", "send a target or a link, not both"));
        }
        (None | Some("fact"), _) => None,
        (Some(t), None) => Some(
            EntityKind::parse(t)
                .or_else(|| EntityKind::from_collection(t))
                .ok_or_else(|| Problem::field("target", format!("{t:?} is not a record kind")))?,
        ),
    };
    for _ in 0..ops::RETRIES {
        let (cenv, mut cand) = ops::load::<Candidate>(store, &p, cid).await?;
        ops::require(&p, EntityKind::IntakeCandidate, Action::Update)?;
        if retried(&idem, &cand) {
            return Ok(replayed_response(
                StatusCode::OK,
                review_answer(store, cid).await?,
            ));
        }
        cand.check_pending("accepted")?;
        let edited = match &b.edit {
            Some(e) => cand.edit(e)?,
            None => Map::new(),
        };
        let mut changes = Vec::new();
        let (record, record_kind, linked) = if let Some(link) = b.link {
            let env = store
                .get(link)
                .await?
                .filter(|e| !e.retracted && access::can_read(p.role, e.kind, e.sensitivity))
                .ok_or_else(|| Problem::field("link", format!("no record {link}")))?;
            if intake::carries_sources(env.kind) {
                ops::require(&p, env.kind, Action::Update)?;
                changes.push(with_sources(&env, &cand.sources, "link")?);
            }
            (Some(link), Some(env.kind), true)
        } else if let Some(kind) = target {
            ops::require(&p, kind, Action::Create)?;
            let draft = cand.draft(kind, &b.record.clone().unwrap_or_default())?;
            let rec = nested("record", kind.validate_json(draft, &ops::ctx()))?;
            let id = idem.as_ref().map_or_else(Uuid::now_v7, |(_, id)| *id);
            changes.push(Change::Create {
                kind,
                id,
                sensitivity: kind.default_sensitivity(),
                record: rec,
            });
            (Some(id), Some(kind), false)
        } else {
            (None, None, false)
        };
        cand.accept(Review {
            by: p.username.clone(),
            at: Timestamp::now(),
            reason: b.reason.clone().filter(|r| !r.trim().is_empty()),
            record,
            record_kind: record_kind.map(|k| k.as_str().to_string()),
            linked,
            edited,
            key: idem.as_ref().map(|(_, k)| *k),
        })?;
        changes.push(ops::update(&cenv, &cand)?);
        match ops::atomic(
            store,
            &p,
            b.reason.clone(),
            idem.clone().map(|i| i.0),
            changes,
        )
        .await?
        {
            Outcome::Stale => continue,
            Outcome::Written(a) => {
                let status = if a.replayed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                return Ok((status, Json(review_answer(store, cid).await?)).into_response());
            }
        }
    }
    Err(ops::too_busy("the candidate"))
}

/// Validation errors of a record built by an action, named under `prefix`.
fn nested<T>(prefix: &str, r: Result<T, ValidationErrors>) -> ApiResult<T> {
    r.map_err(|e| {
        let mut out = ValidationErrors::default();
        out.nest(prefix, e);
        Problem::invalid(out)
    })
}

/// `POST /api/v1/intake/candidates/{id}/reject` `{reason}`: 422 without a
/// reason, 409 unless the candidate is pending.
async fn reject(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let store = &*state.store;
    let cid = ops::parse_id(&id, EntityKind::IntakeCandidate)?;
    let (v, idem) = ops::action_input(
        &headers,
        &p,
        &format!("/api/v1/intake/candidates/{cid}/reject"),
        body,
    )?;
    let reason = ops::reason(&headers, &v);
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RejectBody {
        #[serde(default)]
        #[allow(dead_code)]
        reason: Option<String>,
    }
    let _: RejectBody = ops::from_value(v)?;
    for _ in 0..ops::RETRIES {
        let (cenv, mut cand) = ops::load::<Candidate>(store, &p, cid).await?;
        ops::require(&p, EntityKind::IntakeCandidate, Action::Update)?;
        if retried(&idem, &cand) {
            return Ok(replayed_response(
                StatusCode::OK,
                review_answer(store, cid).await?,
            ));
        }
        cand.reject(&p.username, Timestamp::now(), reason.as_deref())?;
        if let Some(r) = cand.review.as_mut() {
            r.key = idem.as_ref().map(|(_, k)| *k);
        }
        let change = ops::update(&cenv, &cand)?;
        match ops::atomic(
            store,
            &p,
            reason.clone(),
            idem.clone().map(|i| i.0),
            vec![change],
        )
        .await?
        {
            Outcome::Stale => continue,
            Outcome::Written(_) => {
                return Ok((StatusCode::OK, Json(review_answer(store, cid).await?)).into_response());
            }
        }
    }
    Err(ops::too_busy("the candidate"))
}

#[cfg(test)]
mod tests {
    use truce_core::intake::{EVENT_TYPES, QUANTITY_CATEGORIES};

    /// The core's list of categories must follow the extractor's, or
    /// extracted candidates would fail validation.
    #[test]
    fn core_knows_every_category_and_event_type_the_extractor_emits() {
        for c in truce_intake::Category::ALL {
            assert!(
                QUANTITY_CATEGORIES.iter().any(|(k, _)| *k == c.as_str()),
                "{c} missing from truce_core::intake::QUANTITY_CATEGORIES"
            );
        }
        for e in truce_intake::EventType::ALL {
            assert!(EVENT_TYPES.contains(&e.as_str()), "{e} missing");
        }
    }
}
