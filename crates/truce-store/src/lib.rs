//! Truce storage. The [`Store`] trait is what the server and the CLI talk
//! to; [`sqlite::SqliteStore`] is the embedded default. A PostgreSQL backend
//! implements the same trait and passes the same conformance tests.
//!
//! Invariants every backend keeps:
//! - every change is one journal entry, appended in the same transaction that
//!   updates the current-state tables, and acknowledged only after commit;
//! - the journal is only ever appended to;
//! - a retried request (same actor and idempotency key, or same client id
//!   and content) returns its first result and writes nothing.
#![forbid(unsafe_code)]

pub mod sqlite;

use async_trait::async_trait;
use jiff::Timestamp;
use truce_core::journal::{ChainBreak, Hash, Head, JournalEntry};
use truce_core::{CanonicalRecord, EntityKind, Envelope, Role, Sensitivity, ValidRecord};
use uuid::Uuid;

/// A change requested by an actor, with the request's idempotency key.
#[derive(Debug, Clone)]
pub struct Command {
    /// User name of whoever asks.
    pub actor: String,
    /// Why, as they said.
    pub reason: Option<String>,
    /// Set when the client sent an `Idempotency-Key`.
    pub idempotency: Option<Idempotency>,
    /// What to change.
    pub change: Change,
}

/// A client's idempotency key and a hash of the request it came with, so a
/// key reused for a different request is refused rather than replayed.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The key as sent.
    pub key: String,
    /// SHA-256 of the request (method, path, body).
    pub request_hash: Hash,
}

/// The changes a store knows how to make.
#[derive(Debug, Clone)]
pub enum Change {
    /// Create a record with a given id.
    Create {
        /// Kind.
        kind: EntityKind,
        /// Client- or server-chosen id.
        id: Uuid,
        /// Who may read it.
        sensitivity: Sensitivity,
        /// Validated content.
        record: ValidRecord,
    },
    /// Replace a record's content.
    Update {
        /// Kind (must match the stored one).
        kind: EntityKind,
        /// Which record.
        id: Uuid,
        /// Refuse unless the stored version is this one (`If-Match`).
        if_version: Option<u64>,
        /// New sensitivity, if changed.
        sensitivity: Option<Sensitivity>,
        /// Validated content.
        record: ValidRecord,
    },
    /// Withdraw a record.
    Retract {
        /// Kind (must match).
        kind: EntityKind,
        /// Which record.
        id: Uuid,
        /// Refuse unless the stored version is this one.
        if_version: Option<u64>,
    },
    /// Note that the actor read restricted records (audit).
    AuditRead {
        /// Entity kind read.
        entity: String,
        /// The record, or nil for a list.
        entity_id: Uuid,
        /// What was read (ids, query).
        payload: serde_json::Value,
    },
    /// A user account or credential change.
    Account(AccountChange),
    /// Several record changes that succeed or fail together (a stock
    /// movement and the warehouse's new levels; an exchange and its cases).
    /// Only `Create`, `Update` and `Retract` may be inside.
    Atomic(Vec<Change>),
    /// Store a mission file (e.g. a basemap layer).
    PutAsset {
        /// Name, e.g. `basemap/roads`.
        name: String,
        /// MIME type.
        content_type: String,
        /// Bytes.
        body: Vec<u8>,
    },
}

/// Changes to users and their credentials. Secrets arrive already hashed.
#[derive(Debug, Clone)]
pub enum AccountChange {
    /// New user.
    CreateUser {
        /// User name.
        username: String,
        /// Role.
        role: Role,
        /// argon2id PHC string.
        password_hash: String,
    },
    /// Disable or re-enable a user (and end their sessions).
    SetDisabled {
        /// User name.
        username: String,
        /// New state.
        disabled: bool,
    },
    /// New API token.
    CreateToken {
        /// Owner.
        username: String,
        /// Label, e.g. "OP-07 tablet".
        name: String,
        /// SHA-256 of the secret.
        token_hash: Hash,
    },
    /// Revoke an API token.
    RevokeToken {
        /// Token id.
        id: Uuid,
    },
    /// A user signed in: store the session.
    CreateSession {
        /// User name.
        username: String,
        /// SHA-256 of the cookie secret.
        token_hash: Hash,
        /// Expiry.
        expires_at: Timestamp,
    },
    /// A user signed out.
    EndSession {
        /// SHA-256 of the cookie secret.
        token_hash: Hash,
    },
}

/// A message of a streamed import.
#[derive(Debug)]
pub enum ImportChunk {
    /// More commands.
    Commands(Vec<Command>),
    /// More records to create, already in canonical JSON: the same effect
    /// as one [`Change::Create`] command each (no idempotency key), written
    /// without building a JSON value per record.
    Creates(NewRecords),
    /// All sent: commit.
    Commit,
}

/// Records an import creates, by one actor for one reason (see
/// [`ImportChunk::Creates`]). A record whose id exists already is a retry
/// (same content, nothing written) or a conflict, as for a create command.
#[derive(Debug)]
pub struct NewRecords {
    /// User name of whoever imports.
    pub actor: String,
    /// Why, e.g. `import FILE`.
    pub reason: Option<String>,
    /// The records, in file order.
    pub records: Vec<NewRecord>,
}

/// One record of [`NewRecords`].
#[derive(Debug)]
pub struct NewRecord {
    /// Kind.
    pub kind: EntityKind,
    /// Client- or server-chosen id.
    pub id: Uuid,
    /// Who may read it.
    pub sensitivity: Sensitivity,
    /// Validated content in canonical JSON.
    pub record: CanonicalRecord,
}

impl NewRecords {
    /// The same records as create commands (the general path, for chunks
    /// that meet ids already stored).
    pub fn to_commands(&self) -> Vec<Command> {
        self.records
            .iter()
            .map(|r| Command {
                actor: self.actor.clone(),
                reason: self.reason.clone(),
                idempotency: None,
                change: Change::Create {
                    kind: r.kind,
                    id: r.id,
                    sensitivity: r.sensitivity,
                    record: r.record.to_valid(),
                },
            })
            .collect()
    }
}

/// The result of an applied command.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Journal sequence of the entry written (or of the first one, for a replay).
    pub seq: u64,
    /// True when this is the stored first result of a retried request.
    pub replayed: bool,
    /// The record after the change, for record changes.
    pub record: Option<Envelope>,
    /// The id of what was created (token id, user id), for account changes.
    pub created_id: Option<Uuid>,
}

/// Why a store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record (or user, token).
    #[error("{0} not found")]
    NotFound(String),
    /// The record's kind differs from the one addressed.
    #[error("record {id} is a {actual}, not a {expected}")]
    WrongKind {
        /// Record id.
        id: Uuid,
        /// Kind addressed.
        expected: EntityKind,
        /// Kind stored.
        actual: EntityKind,
    },
    /// `If-Match` named an older version.
    #[error("record {id} is at version {current}, not {expected}")]
    Stale {
        /// Record id.
        id: Uuid,
        /// Version the client had.
        expected: u64,
        /// Version stored.
        current: u64,
    },
    /// The change conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// An idempotency key was reused for a different request.
    #[error("idempotency key {0:?} was already used for a different request")]
    IdempotencyMismatch(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database failed under a `rusqlite` connection: the writer's, or
    /// the bulk reader's (exports).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be migrated.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The journal or state is inconsistent.
    #[error("{0}")]
    Corrupt(String),
    /// Files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A filtered, paginated list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Kind to list.
    pub kind: EntityKind,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
    /// Records whose time ends at or after this.
    pub from: Option<Timestamp>,
    /// Records whose time starts at or before this.
    pub to: Option<Timestamp>,
    /// Matches `category` or one of the tags.
    pub category: Option<String>,
    /// Matches `status`.
    pub status: Option<String>,
    /// Records concerning this party.
    pub party: Option<Uuid>,
    /// Records that reference this record (e.g. the tasks of a hazard area).
    pub reference: Option<Uuid>,
    /// Case-insensitive substring of the record's text.
    pub text: Option<String>,
    /// Most sensitive level the reader may see.
    pub max_sensitivity: Sensitivity,
    /// Include withdrawn records.
    pub include_retracted: bool,
    /// Page size.
    pub limit: u32,
    /// Opaque cursor from the previous page.
    pub cursor: Option<i64>,
    /// Oldest first (in the order records were created) instead of newest
    /// first, so that an export imports back in the same order.
    pub oldest_first: bool,
    /// Records whose time starts at or after this. With `to` it is a range
    /// the time index bounds on both sides, whereas `from` (time *ends* at
    /// or after) leaves every older record to be checked; for instants
    /// (incidents, deliveries) both select the same records.
    pub starts_from: Option<Timestamp>,
    /// Leaves out records whose category or one of whose tags is one of
    /// these (e.g. `duplicate`).
    pub not_category: Vec<String>,
    /// Leaves out records whose status is one of these (e.g. `refuted`).
    pub not_status: Vec<String>,
    /// Opaque cursor the walk stops at, inclusive (as [`Store::last_cursor`]
    /// gives it): with `cursor` it bounds a slice of the walk, so that
    /// slices can be read side by side ([`read_ahead_map`]).
    pub until: Option<i64>,
}

impl ListQuery {
    /// A query for everything of `kind` a reader at `max_sensitivity` may see.
    pub fn new(kind: EntityKind, max_sensitivity: Sensitivity) -> Self {
        ListQuery {
            kind,
            bbox: None,
            from: None,
            to: None,
            category: None,
            status: None,
            party: None,
            reference: None,
            text: None,
            max_sensitivity,
            include_retracted: false,
            limit: 100,
            cursor: None,
            oldest_first: false,
            starts_from: None,
            not_category: Vec::new(),
            not_status: Vec::new(),
            until: None,
        }
    }
}

/// A record's index columns without its content: enough to count, place
/// and order many records cheaply (a bulletin over a day with thousands of
/// incidents reads these, and the content of the few it prints).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// Record id.
    pub id: Uuid,
    /// Start of its time.
    pub time_start: Option<Timestamp>,
    /// `(lon, lat)` when its geometry is a point.
    pub point: Option<(f64, f64)>,
    /// Main classification.
    pub category: Option<String>,
    /// Further classifications.
    pub tags: Vec<String>,
    /// Life-cycle state.
    pub status: Option<String>,
    /// Its summable amount.
    pub quantity: Option<f64>,
    /// Records it points at (a line's convoy, an assessment's site).
    pub refs: Vec<Uuid>,
    /// Who may read it.
    pub sensitivity: Sensitivity,
}

/// Which delivered tonnes [`Store::delivered_totals`] sums: manifest lines
/// delivered in the UTC days from `from`'s through `to`'s (all days up to
/// `to`'s when `from` is absent).
#[derive(Debug, Clone)]
pub struct DeliveredQuery {
    /// First instant; its whole UTC day counts.
    pub from: Option<Timestamp>,
    /// Last instant; its whole UTC day counts.
    pub to: Timestamp,
    /// One total per day instead of one for all the days.
    pub by_day: bool,
    /// Most sensitive level the reader may see.
    pub max_sensitivity: Sensitivity,
}

/// Delivered manifest lines of one category and corridor (and day).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveredTotal {
    /// The UTC day, when grouped by day.
    pub day: Option<jiff::civil::Date>,
    /// Item category.
    pub category: String,
    /// The lines' corridor, if any.
    pub corridor: Option<Uuid>,
    /// Lines delivered.
    pub lines: u64,
    /// Tonnes delivered (the lines' `quantity`).
    pub tonnes: f64,
}

/// How [`Store::aggregate`] groups records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One bucket for everything.
    All,
    /// By `category`.
    Category,
    /// By `status`.
    Status,
    /// By UTC day of `time_start` (key `YYYY-MM-DD`).
    Day,
}

/// One group of an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Group key (empty for [`Grouping::All`] or a missing value).
    pub key: String,
    /// Records in the group.
    pub count: u64,
    /// Sum of their `quantity`.
    pub sum: f64,
}

/// One page of records, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    /// The records.
    pub items: Vec<Envelope>,
    /// Cursor for the next page, if there is one.
    pub next_cursor: Option<i64>,
}

/// A page of records as they are stored: each one's id, sensitivity and
/// canonical JSON, not decoded ([`Store::list_raw`]). Bulk exports read
/// millions of records and write each as text; decoding them into
/// `Envelope`s only to write them out again is where their time went.
/// The JSON texts sit back to back in one buffer, the ids in another.
#[derive(Debug, Clone, Default)]
pub struct RawPage {
    text: String,
    ids: String,
    rows: Vec<RawRow>,
    /// Cursor for the next page, if there is one.
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct RawRow {
    id: (usize, usize),
    sensitivity: Sensitivity,
    data: (usize, usize),
}

/// One record of a [`RawPage`].
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// The record's id (hyphenated, lower case).
    pub id: &'a str,
    /// Who may read it.
    pub sensitivity: Sensitivity,
    /// Its data as canonical JSON (`truce_core::journal::canonical_json`).
    pub data: &'a str,
}

impl RawPage {
    /// An empty page whose buffers can hold about `rows` records of
    /// `bytes` bytes in all.
    pub fn with_capacity(rows: usize, bytes: usize) -> RawPage {
        RawPage {
            text: String::with_capacity(bytes),
            ids: String::with_capacity(rows * 36),
            rows: Vec::with_capacity(rows),
            next_cursor: None,
        }
    }

    /// Appends a record.
    pub fn push(&mut self, id: &str, sensitivity: Sensitivity, data: &str) {
        let a = self.ids.len();
        self.ids.push_str(id);
        let b = self.text.len();
        self.text.push_str(data);
        self.rows.push(RawRow {
            id: (a, self.ids.len()),
            sensitivity,
            data: (b, self.text.len()),
        });
    }

    /// Empties the page, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ids.clear();
        self.rows.clear();
        self.next_cursor = None;
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Its records, in the order of the query.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RawRecord<'_>> + '_ {
        self.rows.iter().map(|r| RawRecord {
            id: &self.ids[r.id.0..r.id.1],
            sensitivity: r.sensitivity,
            data: &self.text[r.data.0..r.data.1],
        })
    }
}

/// [`Store::list_raw`] through [`Store::list`]: the default for backends
/// that have nothing faster (each envelope's data written back to
/// canonical JSON).
pub async fn raw_page_via_list<S: Store + ?Sized>(
    store: &S,
    q: &ListQuery,
) -> Result<RawPage, StoreError> {
    let page = store.list(q).await?;
    let mut raw = RawPage::with_capacity(page.items.len(), 0);
    for e in &page.items {
        raw.push(
            &e.id.to_string(),
            e.sensitivity,
            &truce_core::journal::canonical_json(&e.data),
        );
    }
    raw.next_cursor = page.next_cursor;
    Ok(raw)
}

/// Every record of `q` from its cursor on, one page after another: what
/// [`Store::list_all`] does unless a backend knows better.
pub async fn walk_pages<S: Store + ?Sized>(
    store: &S,
    mut q: ListQuery,
) -> Result<Vec<Envelope>, StoreError> {
    q.limit = 10_000;
    let mut out = Vec::new();
    loop {
        let page = store.list(&q).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Reads every page of `q` (from its cursor on) with [`Store::list_raw`]
/// ahead of the consumer: a task fetches page after page and keeps at most
/// `depth` waiting in the channel, so the store reads the next page while
/// the consumer writes this one out (two cores busy instead of one) and
/// memory stays bounded by `depth + 2` pages whatever the total. The
/// channel ends after the last page or after an error; a consumer that
/// drops the receiver stops the reading.
pub fn read_ahead(
    store: std::sync::Arc<dyn Store>,
    mut q: ListQuery,
    depth: usize,
) -> tokio::sync::mpsc::Receiver<Result<RawPage, StoreError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(depth.max(1));
    tokio::spawn(async move {
        loop {
            let page = store.list_raw(&q).await;
            let next = page.as_ref().ok().and_then(|p| p.next_cursor);
            if tx.send(page).await.is_err() {
                return;
            }
            match next {
                Some(c) => q.cursor = Some(c),
                None => return,
            }
        }
    });
    rx
}

/// Every record of `q` (from its cursor to the newest record there is
/// now) in slices of `q.limit` cursors, each read with
/// [`Store::list_raw`] and handed to `f` on a blocking thread, `parallel`
/// slices at once, the results in order: for work on pages that is slower
/// than reading them one after another (formatting an export), so that
/// reading and that work run on every core and the disk has several reads
/// to serve. Memory is bounded by `parallel` pages. Slices may be empty.
/// A panic in `f` is resumed in the caller.
pub async fn read_ahead_map<T, F>(
    store: std::sync::Arc<dyn Store>,
    q: ListQuery,
    parallel: usize,
    f: F,
) -> Result<impl futures::Stream<Item = Result<T, StoreError>> + Send, StoreError>
where
    T: Send + 'static,
    F: Fn(RawPage) -> T + Send + Sync + 'static,
{
    use futures::StreamExt;
    let last = store.last_cursor().await?.unwrap_or(0);
    let step = i64::from(q.limit.clamp(1, 10_000));
    // Slices as (exclusive start, inclusive end) in the walk's order.
    let slices: Vec<(i64, i64)> = if q.oldest_first {
        let first = q.cursor.unwrap_or(0);
        (first..last)
            .step_by(step as usize)
            .map(|a| (a, (a + step).min(last)))
            .collect()
    } else {
        let first = q.cursor.unwrap_or(last + 1);
        (1..first)
            .rev()
            .step_by(step as usize)
            .map(|b| (b + 1, (b + 1 - step).max(1)))
            .collect()
    };
    let f = std::sync::Arc::new(f);
    Ok(futures::stream::iter(slices)
        .map(move |(after, until)| {
            let (store, f) = (store.clone(), f.clone());
            let mut q = q.clone();
            q.cursor = Some(after);
            q.until = Some(until);
            async move {
                let page = store.list_raw(&q).await?;
                tokio::task::spawn_blocking(move || f(page))
                    .await
                    .map_err(|e| match e.try_into_panic() {
                        Ok(panic) => std::panic::resume_unwind(panic),
                        Err(_) => StoreError::Closed,
                    })
            }
        })
        .buffered(parallel.max(1)))
}

/// A user account as the server needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Stable id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Disabled users cannot sign in or use tokens.
    pub disabled: bool,
}

/// An API token's public facts (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    /// Id used to revoke it.
    pub id: Uuid,
    /// Owner.
    pub username: String,
    /// Label.
    pub name: String,
    /// When made.
    pub created_at: String,
    /// Whether revoked.
    pub revoked: bool,
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// Entries whose chain links and hashes matched.
    pub entries: u64,
    /// Records whose current state matched their last journal entry.
    pub records: u64,
    /// The verified head.
    pub head: Head,
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain breaks at an entry.
    #[error(transparent)]
    Chain(#[from] ChainBreak),
    /// A record's current state disagrees with the journal.
    #[error("record {id}: {reason}")]
    State {
        /// The record.
        id: Uuid,
        /// What differs.
        reason: String,
    },
    /// The store failed while reading.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The storage a mission runs on.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies one change durably, through the single writer.
    async fn apply(&self, cmd: Command) -> Result<Applied, StoreError>;
    /// Applies many changes as one transaction: all or nothing (imports).
    async fn apply_all(&self, cmds: Vec<Command>) -> Result<Vec<Applied>, StoreError>;
    /// Applies a stream of chunks as one transaction (large imports): the
    /// sender ends with [`ImportChunk::Commit`]; if it drops the channel
    /// first, or any command is refused, nothing is written.
    async fn apply_stream(
        &self,
        chunks: tokio::sync::mpsc::Receiver<ImportChunk>,
    ) -> Result<u64, StoreError>;
    /// Appends entries copied verbatim from another journal (a field node's,
    /// or this one's for recomputation), checking that they continue this
    /// chain, and applies their effect on records. Users, tokens and files
    /// are not replicated by this (their entries carry no secrets or bodies).
    async fn replicate(&self, entries: Vec<JournalEntry>) -> Result<Head, StoreError>;
    /// One record by id, whatever its kind.
    async fn get(&self, id: Uuid) -> Result<Option<Envelope>, StoreError>;
    /// A page of records.
    async fn list(&self, q: &ListQuery) -> Result<Page, StoreError>;
    /// The page [`Store::list`] gives for `q`, as stored (ids and canonical
    /// JSON, not decoded), for bulk exports. This default goes through
    /// `list`; a backend overrides it to hand over its stored text as it is.
    async fn list_raw(&self, q: &ListQuery) -> Result<RawPage, StoreError> {
        raw_page_via_list(self, q).await
    }
    /// Counts and sums of the records matching `q` (its cursor and limit
    /// are ignored), grouped.
    async fn aggregate(&self, q: &ListQuery, by: Grouping) -> Result<Vec<Bucket>, StoreError>;
    /// The index columns of every record of `q` (cursor and limit ignored),
    /// oldest `time_start` first (then in creation order).
    async fn index_rows(&self, q: &ListQuery) -> Result<Vec<IndexRow>, StoreError>;
    /// Delivered manifest lines and tonnes by category and corridor (and
    /// day), from per-day totals the store keeps as lines are written, so a
    /// total since the mission began does not read every line. The same
    /// lines as `aggregate` over manifest lines with `status = delivered`.
    async fn delivered_totals(&self, q: &DeliveredQuery)
    -> Result<Vec<DeliveredTotal>, StoreError>;
    /// Number of records of a kind (retracted excluded).
    async fn count(&self, kind: EntityKind) -> Result<u64, StoreError>;
    /// The cursor of the newest record of any kind (`None`: no record):
    /// where an oldest-first walk begun now ends, so that it can be cut
    /// into slices ([`ListQuery::until`]).
    async fn last_cursor(&self) -> Result<Option<i64>, StoreError>;
    /// Every record of `q` from its cursor on, in its order (its limit is
    /// ignored): for the callers that need a whole kind of modest size in
    /// memory (parties, AoRs, a site's assessments, a bulletin's mine
    /// tasks). Bulk reads of a large kind stream with [`read_ahead`]. This
    /// default follows the cursors page after page ([`walk_pages`]).
    async fn list_all(&self, q: ListQuery) -> Result<Vec<Envelope>, StoreError> {
        walk_pages(self, q).await
    }
    /// The journal entries about one entity, oldest first.
    async fn history(&self, entity_id: Uuid) -> Result<Vec<JournalEntry>, StoreError>;
    /// Journal entries after `after_seq`, oldest first (replication, export).
    async fn journal(&self, after_seq: u64, limit: u32) -> Result<Vec<JournalEntry>, StoreError>;
    /// The newest entry.
    async fn head(&self) -> Result<Head, StoreError>;
    /// Walks the chain and checks current state against it.
    async fn verify(&self) -> Result<VerifyReport, VerifyError>;
    /// A user by name.
    async fn user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// All users.
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    /// The enabled user owning an unrevoked token with this hash.
    async fn user_by_token(&self, token_hash: &Hash) -> Result<Option<User>, StoreError>;
    /// The enabled user owning an unexpired session with this hash.
    async fn user_by_session(&self, token_hash: &Hash) -> Result<Option<User>, StoreError>;
    /// Tokens, optionally of one user.
    async fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError>;
    /// A mission file.
    async fn asset(&self, name: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// A consistent copy of the whole database, taken while writes go on.
    async fn backup(&self, path: &std::path::Path) -> Result<Head, StoreError>;
}
