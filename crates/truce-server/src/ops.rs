//! What the field-operations actions (mine action, logistics, protected
//! sites) share: reading the records an action changes, turning core
//! refusals into problems, and writing several records atomically with an
//! optimistic check on the versions read, retried when another writer won.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, StatusCode};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use truce_core::access::{self, Action};
use truce_core::record::Record;
use truce_core::refusal::Refusal;
use truce_core::{EntityKind, Envelope, Sensitivity, ValidRecord, ValidationContext};
use truce_store::{Applied, Change, Command, Idempotency, Store, StoreError};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};

/// How often an action re-reads and retries when a concurrent write changed
/// a record it read.
pub(crate) const RETRIES: usize = 8;

/// The routes of every field-operations module.
pub(crate) fn routes() -> Router<AppState> {
    crate::mine::routes()
        .merge(crate::logistics::routes())
        .merge(crate::sites::routes())
}

impl From<Refusal> for Problem {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(e) => Problem::invalid(e),
            Refusal::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", m),
        }
    }
}

/// The validation context of a request.
pub(crate) fn ctx() -> ValidationContext {
    ValidationContext {
        now: Timestamp::now(),
    }
}

/// Refuses unless `p` may do `action` on `kind`.
pub(crate) fn require(p: &Principal, kind: EntityKind, action: Action) -> ApiResult<()> {
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

/// Parses an id from the path (an unparseable one is simply not found).
pub(crate) fn parse_id(s: &str, kind: EntityKind) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| Problem::not_found(format!("{kind} {s}")))
}

/// A record of `kind` that `p` may read, with its content as `T`; reads of
/// restricted records are journaled, as for the generic handlers.
pub(crate) async fn load<T: Record>(
    store: &dyn Store,
    p: &Principal,
    id: Uuid,
) -> ApiResult<(Envelope, T)> {
    let kind = T::KIND;
    let env = store
        .get(id)
        .await?
        .filter(|e| e.kind == kind && !e.retracted && access::can_read(p.role, kind, e.sensitivity))
        .ok_or_else(|| Problem::not_found(format!("{kind} {id}")))?;
    if env.sensitivity == Sensitivity::Restricted {
        store
            .apply(Command {
                actor: p.username.clone(),
                reason: None,
                idempotency: None,
                change: Change::AuditRead {
                    entity: kind.as_str().into(),
                    entity_id: id,
                    payload: json!({"id": id}),
                },
            })
            .await?;
    }
    let data: T = serde_json::from_value(env.data.clone()).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored {kind} {id} does not parse: {e}"),
        )
    })?;
    Ok((env, data))
}

/// The JSON object of a request body.
pub(crate) fn body_value(body: Result<Bytes, BytesRejection>) -> ApiResult<(Bytes, Value)> {
    let bytes = body.map_err(|e| Problem::new(e.status(), "bad-body", e.body_text()))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| Problem::bad_json(e.to_string()))?;
    if !value.is_object() {
        return Err(Problem::bad_json("the body must be a JSON object"));
    }
    Ok((bytes, value))
}

/// Deserialises `v`, naming the field that does not fit (422).
pub(crate) fn from_value<T: DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let msg = match msg.find(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        Problem::field(if path == "." { "body" } else { &path }, msg)
    })
}

/// Validates a record built by an action through the same gate as every
/// other write.
pub(crate) fn valid<T: Record>(record: &T) -> ApiResult<ValidRecord> {
    let v = serde_json::to_value(record).expect("records serialise");
    Ok(T::KIND.validate_json(v, &ctx())?)
}

/// The `reason` of a body (or the `X-Truce-Reason` header).
pub(crate) fn reason(headers: &HeaderMap, body: &Value) -> Option<String> {
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

/// The request's idempotency key, hashed with the request; and the id the
/// record an action creates gets from it, so a retried request finds the
/// record its first attempt created.
pub(crate) fn idempotency(
    headers: &HeaderMap,
    p: &Principal,
    path: &str,
    body: &[u8],
) -> ApiResult<Option<(Idempotency, Uuid)>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            Problem::field("Idempotency-Key", "must be 1..200 visible ASCII characters")
        })?;
    let mut h = Sha256::new();
    h.update(Method::POST.as_str());
    h.update([0]);
    h.update(path);
    h.update([0]);
    h.update(body);
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("{}\0{key}", p.username).as_bytes(),
    );
    Ok(Some((
        Idempotency {
            key,
            request_hash: h.finalize().into(),
        },
        id,
    )))
}

/// An action's JSON body and its idempotency (key and derived id), read in
/// one step: every action needs both, hashed over the same bytes.
pub(crate) fn action_input(
    headers: &HeaderMap,
    p: &Principal,
    path: &str,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(Value, Option<(Idempotency, Uuid)>)> {
    let (bytes, value) = body_value(body)?;
    let idem = idempotency(headers, p, path, &bytes)?;
    Ok((value, idem))
}

/// A create of `record` with `id`.
pub(crate) fn create<T: Record>(
    id: Uuid,
    sensitivity: Sensitivity,
    record: &T,
) -> ApiResult<Change> {
    Ok(Change::Create {
        kind: T::KIND,
        id,
        sensitivity,
        record: valid(record)?,
    })
}

/// An update of `env` to `record`, refused if `env` changed since it was read.
pub(crate) fn update<T: Record>(env: &Envelope, record: &T) -> ApiResult<Change> {
    Ok(Change::Update {
        kind: T::KIND,
        id: env.id,
        if_version: Some(env.version),
        sensitivity: None,
        record: valid(record)?,
    })
}

/// What [`atomic`] reports.
pub(crate) enum Outcome {
    /// Written now.
    Written(Applied),
    /// A record read changed meanwhile: read again and retry.
    Stale,
}

/// Applies `changes` as one atomic command.
pub(crate) async fn atomic(
    store: &dyn Store,
    p: &Principal,
    reason: Option<String>,
    idem: Option<Idempotency>,
    changes: Vec<Change>,
) -> ApiResult<Outcome> {
    let change = if changes.len() == 1 {
        changes.into_iter().next().expect("one")
    } else {
        Change::Atomic(changes)
    };
    match store
        .apply(Command {
            actor: p.username.clone(),
            reason,
            idempotency: idem,
            change,
        })
        .await
    {
        Ok(a) => Ok(Outcome::Written(a)),
        Err(StoreError::Stale { .. }) => Ok(Outcome::Stale),
        Err(e) => Err(e.into()),
    }
}

/// The one write loop of every module action. An action reads the records
/// it changes, applies the core's rule and hands the changes (updates
/// carrying the versions read) to [`Retry::write`], which applies them as
/// one atomic command. When another writer changed one of those records
/// meanwhile (`Stale`), `write` answers `None` and the action reads again
/// and retries; after [`RETRIES`] lost races it answers 409 naming what
/// kept changing. A refusal of the rule ends the loop with nothing written:
///
/// ```ignore
/// let mut retry = Retry::new("the hazard area");
/// let applied = loop {
///     let changes = async { /* read, apply the rule */ }.await?;
///     if let Some(a) = retry.write(store, p, reason.clone(), None, changes).await? {
///         break a;
///     }
/// };
/// ```
pub(crate) struct Retry {
    left: usize,
    what: &'static str,
}

impl Retry {
    /// A loop over records described as `what` in the 409 answer.
    pub(crate) fn new(what: &'static str) -> Self {
        Retry {
            left: RETRIES,
            what,
        }
    }

    /// Applies `changes` atomically: `Some` when written (or replayed for
    /// an `Idempotency-Key`), `None` when a record read changed meanwhile.
    pub(crate) async fn write(
        &mut self,
        store: &dyn Store,
        p: &Principal,
        reason: Option<String>,
        idem: Option<Idempotency>,
        changes: Vec<Change>,
    ) -> ApiResult<Option<Applied>> {
        match atomic(store, p, reason, idem, changes).await? {
            Outcome::Written(a) => Ok(Some(a)),
            Outcome::Stale if self.left > 1 => {
                self.left -= 1;
                Ok(None)
            }
            Outcome::Stale => Err(too_busy(self.what)),
        }
    }
}

/// Changes one record by a core rule through [`Retry`]: reads it
/// (404 when it is gone), checks `if_match` when the request named a
/// version, applies `rule` to its content, validates the result through
/// the common gate and writes it at the version read. Answers the record
/// as stored.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_with<T: Serialize + DeserializeOwned>(
    store: &dyn Store,
    p: &Principal,
    kind: EntityKind,
    id: Uuid,
    if_match: Option<u64>,
    reason: Option<String>,
    what: &'static str,
    mut rule: impl FnMut(&mut T) -> ApiResult<()>,
) -> ApiResult<Envelope> {
    let mut retry = Retry::new(what);
    let applied = loop {
        let env = store
            .get(id)
            .await?
            .filter(|e| e.kind == kind && !e.retracted)
            .ok_or_else(|| Problem::not_found(format!("{kind} {id}")))?;
        expect_version(if_match, &env)?;
        let mut data: T = serde_json::from_value(env.data.clone()).map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("stored {kind} {id} does not parse: {e}"),
            )
        })?;
        rule(&mut data)?;
        let v = serde_json::to_value(&data).expect("records serialise");
        let change = Change::Update {
            kind,
            id,
            if_version: Some(env.version),
            sensitivity: None,
            record: kind.validate_json(v, &ctx())?,
        };
        if let Some(a) = retry
            .write(store, p, reason.clone(), None, vec![change])
            .await?
        {
            break a;
        }
    };
    match applied.record {
        Some(r) => Ok(r),
        None => store
            .get(id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("{kind} {id}"))),
    }
}

/// The version a request names in `If-Match`, when it names one.
pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    match headers.get(axum::http::header::IF_MATCH) {
        Some(_) => crate::records::if_match(headers).map(Some),
        None => Ok(None),
    }
}

/// For a request that names the version it changes (`If-Match`): 412 when
/// `env` is at another version, as the store answers for a stale update.
pub(crate) fn expect_version(if_match: Option<u64>, env: &Envelope) -> ApiResult<()> {
    match if_match {
        Some(v) if v != env.version => Err(StoreError::Stale {
            id: env.id,
            expected: v,
            current: env.version,
        }
        .into()),
        _ => Ok(()),
    }
}

/// 409 after [`RETRIES`] lost races.
pub(crate) fn too_busy(what: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "busy",
        format!("{what} kept changing while this request was applied; try again"),
    )
}

/// A stored record by id, for answers.
pub(crate) async fn wire(store: &dyn Store, id: Uuid) -> ApiResult<Value> {
    Ok(store
        .get(id)
        .await?
        .map(|e| e.to_wire())
        .unwrap_or(Value::Null))
}

/// For a retried action (same actor and `Idempotency-Key`) whose record
/// already exists: the store's answer to the key (its first result, or a
/// refusal when the key came with another request), without re-running the
/// action against a state it already changed.
pub(crate) async fn replayed(
    store: &dyn Store,
    p: &Principal,
    idem: &Option<(Idempotency, Uuid)>,
) -> ApiResult<bool> {
    let Some((key, id)) = idem else {
        return Ok(false);
    };
    if store.get(*id).await?.is_none() {
        return Ok(false);
    }
    // The key is stored with the first result: the store answers from it and
    // never applies this change.
    let a = store
        .apply(Command {
            actor: p.username.clone(),
            reason: None,
            idempotency: Some(key.clone()),
            change: Change::AuditRead {
                entity: "idempotent_retry".into(),
                entity_id: *id,
                payload: json!({"id": id}),
            },
        })
        .await?;
    Ok(a.replayed)
}
