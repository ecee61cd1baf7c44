//! The embedded SQLite backend: WAL, `synchronous=FULL`, one writer thread
//! with group commit, a pool of readers.
//!
//! Writes queue to the writer ([`writer`]: one `rusqlite` connection on its
//! own thread). It takes every command waiting (up to [`MAX_BATCH`]),
//! applies them in one transaction, commits once (one fsync), and only then
//! answers each caller. Under load this turns thousands of small durable
//! writes into a few large ones. Migrations, checkpoints and reads run on
//! sqlx connections.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use truce_core::journal::{ChainVerifier, Hash, Head, JournalEntry, Op, canonical_json};
use truce_core::{EntityKind, Envelope, Role, Sensitivity};
use uuid::Uuid;

use crate::{
    Applied, Change, Command, ListQuery, Page, Store, StoreError, TokenInfo, User, VerifyError,
    VerifyReport,
};

/// Most commands applied in one transaction.
pub const MAX_BATCH: usize = 512;
/// WAL frames (pages) above which the checkpointer also restarts the WAL,
/// briefly holding the writer, so the file stays bounded under sustained
/// load (≈ 128 MiB at 4 KiB pages).
const WAL_RESTART_FRAMES: i64 = 32_768;
/// Pause between a commit and the checkpoint it triggers, so one
/// checkpoint (two fsyncs) covers many group commits.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);

mod bulk;
mod writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Job {
    One(Box<Queued>, Reply<Applied>),
    All(Vec<Queued>, Reply<Vec<Applied>>),
    Stream(mpsc::Receiver<Prepared>, Reply<u64>),
    Replicate(Vec<JournalEntry>, Reply<Head>),
}

/// A command with the work that needs no journal position done already, in
/// the caller's task rather than in the single writer: the canonical JSON
/// of the record it writes (journal payload and stored data).
struct Queued {
    cmd: Command,
    data_json: Option<String>,
}

impl Queued {
    fn new(cmd: Command) -> Self {
        let data_json = match &cmd.change {
            Change::Create { record, .. } | Change::Update { record, .. } => {
                Some(canonical_json(&record.data))
            }
            _ => None,
        };
        Queued { cmd, data_json }
    }
}

/// A chunk of a streamed import after [`Queued::new`].
enum Prepared {
    Commands(Vec<Queued>),
    Creates(crate::NewRecords),
    Commit,
}

/// A mission database in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    bulk: std::sync::Arc<bulk::BulkReader>,
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

/// SQLite's page cache of each read connection (KiB, negated as the
/// pragma takes it). Small: the operating system caches the file anyway,
/// while every page a large private cache takes is fresh memory the
/// kernel must fault in and zero (a fifth of a bulletin's CPU at ten
/// years with 64 MiB caches); a small cache recycles its buffers.
const READ_CACHE_SIZE: &str = "-4096";

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("cache_size", "-65536")
        // Statement journals of multi-row statements stay in memory
        // instead of temporary files.
        .pragma("temp_store", "memory")
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path` and
    /// starts its writer task and its checkpointer.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        // Migrations run through sqlx, on a connection closed before the
        // writer opens its own.
        let mut conn = SqliteConnection::connect_with(&options(path)).await?;
        MIGRATOR.run(&mut conn).await?;
        let checkpoints = {
            let ck =
                SqliteConnection::connect_with(&options(path).pragma("wal_autocheckpoint", "0"))
                    .await?;
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(checkpointer(ck, rx));
            tx
        };
        conn.close().await?;
        let writer = writer::Writer::open(path, checkpoints)?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(
                options(path)
                    .read_only(true)
                    .pragma("cache_size", READ_CACHE_SIZE),
            )
            .await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        writer.spawn(rx)?;
        Ok(SqliteStore {
            read,
            bulk: std::sync::Arc::new(bulk::BulkReader::new(path, false)),
            jobs: tx,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing database for reading only, writing nothing to its
    /// file or its directory (SQLite's `immutable`: no WAL index, no
    /// locks), e.g. to export from a backup or from a benchmark's data set
    /// that others read too. Nothing may write to the file meanwhile, and
    /// it must have no pending WAL (a database closed cleanly, or a backup).
    /// Writes answer [`StoreError::Closed`].
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!("database {}", path.display())));
        }
        // `immutable` reads the file alone: with frames still in the WAL it
        // would give an older state or "database disk image is malformed".
        let wal = sidecar(path, "-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::Conflict(format!(
                "{} has a write-ahead log {} that may hold changes: open it once for writing \
                 (or run `PRAGMA wal_checkpoint(TRUNCATE)`) before reading it read-only",
                path.display(),
                wal.display()
            )));
        }
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true)
                    .immutable(true)
                    .pragma("cache_size", READ_CACHE_SIZE),
            )
            .await?;
        // No writer: the receiver is dropped, so every write is refused.
        let (jobs, _) = mpsc::channel(1);
        Ok(SqliteStore {
            read,
            bulk: std::sync::Arc::new(bulk::BulkReader::new(path, true)),
            jobs,
            path: path.to_path_buf(),
        })
    }

    /// The records with these rids that still match `q`'s filters (one may
    /// have changed since the rids were read), in `q`'s order. `NOT INDEXED`
    /// keeps SQLite to rowid lookups: it would otherwise scan a filter's
    /// index and test each entry against the list.
    async fn records_by_rid(
        &self,
        rids: &[i64],
        q: &ListQuery,
    ) -> Result<Vec<Envelope>, StoreError> {
        let list = format!(
            "[{}]",
            rids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {ENVELOPE_COLUMNS} FROM records NOT INDEXED \
             WHERE rid IN (SELECT value FROM json_each("
        ));
        b.push_bind(list).push(")) AND ");
        push_filters(&mut b, q);
        b.push(if q.oldest_first {
            " ORDER BY rid ASC"
        } else {
            " ORDER BY rid DESC"
        });
        b.build()
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| envelope_from(row).map(|(_, env)| env))
            .collect()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the database at `target` with a verified copy of `backup`.
    /// The server must not be running on `target`.
    pub async fn restore(backup: &Path, target: &Path) -> Result<VerifyReport, VerifyError> {
        // Opening a missing file would create an empty database and
        // "restore" it over the target.
        if !backup.is_file() {
            return Err(StoreError::NotFound(format!("backup file {}", backup.display())).into());
        }
        let report = {
            let store = SqliteStore::open(backup).await?;
            let r = store.verify().await?;
            store.close().await;
            r
        };
        let tmp = target.with_extension("restore-tmp");
        std::fs::copy(backup, &tmp).map_err(StoreError::from)?;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(sidecar(target, suffix));
        }
        std::fs::rename(&tmp, target).map_err(StoreError::from)?;
        Ok(report)
    }

    /// Copies the write-ahead log into the database file and, when no
    /// other connection is using it, empties it; true when emptied. For the
    /// end of a large bulk write (an import leaves its whole size in the
    /// WAL): without it the log stays on disk beside the database until a
    /// later writer's checkpointer folds it in, and reads look up each page
    /// in it meanwhile. Never holds up other connections (a server writing
    /// to the same file goes on): what they still use stays in the log for
    /// their own checkpointer. It waits only for another checkpoint to end.
    pub async fn fold_wal(&self) -> Result<bool, StoreError> {
        let mut conn =
            SqliteConnection::connect_with(&options(&self.path).busy_timeout(Duration::ZERO))
                .await?;
        // PASSIVE copies every frame no reader still needs, without waiting
        // for readers or writers; while another checkpoint runs (this
        // store's checkpointer, woken by the last commits) it answers busy
        // at once, so it is asked again until that one is done. TRUNCATE
        // then empties the file if that was all of them, or gives up at
        // once rather than hold up writers.
        let started = std::time::Instant::now();
        let emptied = loop {
            let passive: Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&mut conn)
                    .await;
            match passive {
                Ok((0, log, done)) if log == done => {
                    let r: Result<(i64, i64, i64), sqlx::Error> =
                        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                            .fetch_one(&mut conn)
                            .await;
                    break matches!(r, Ok((0, _, _)));
                }
                Ok(_) => break false,
                Err(e) if is_busy(&e) && started.elapsed() < FOLD_WAIT => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) if is_busy(&e) => break false,
                Err(e) => return Err(e.into()),
            }
        };
        conn.close().await?;
        Ok(emptied)
    }

    /// Closes the readers; the writer ends when the last handle is dropped.
    pub async fn close(self) {
        self.read.close().await;
    }
}

/// How long [`SqliteStore::fold_wal`] waits for another checkpoint to end.
const FOLD_WAIT: Duration = Duration::from_secs(60);

/// Whether SQLite answered "busy" or "locked" (another connection holds
/// what this one asked for).
fn is_busy(e: &sqlx::Error) -> bool {
    // Extended codes (SQLITE_BUSY_RECOVERY, ...) keep the primary code in
    // their low byte.
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// `truce.db` + `-wal` -> `truce.db-wal`.
fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

async fn load_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        None => Head::EMPTY,
        Some(r) => Head {
            seq: r.get::<i64, _>(0) as u64,
            hash: to_hash(r.get::<Vec<u8>, _>(1))?,
        },
    })
}

fn to_hash(v: Vec<u8>) -> Result<Hash, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

fn sens_code(s: Sensitivity) -> i64 {
    match s {
        Sensitivity::Public => 0,
        Sensitivity::Mission => 1,
        Sensitivity::Restricted => 2,
    }
}

fn sens_from(code: i64) -> Sensitivity {
    match code {
        0 => Sensitivity::Public,
        1 => Sensitivity::Mission,
        _ => Sensitivity::Restricted,
    }
}

fn ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::from_str(s).map_err(|e| StoreError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

/// Milliseconds in a UTC day (day numbers count them from the epoch).
const DAY_MS: i64 = 86_400_000;

/// The UTC day number of `t_start` (floored, as `div_euclid`), in SQL.
const DAY_OF_T_START: &str =
    "CASE WHEN t_start >= 0 THEN t_start / 86400000 ELSE -((-t_start - 1) / 86400000) - 1 END";

/// The UTC date of a day number.
fn utc_date(day: i64) -> Result<jiff::civil::Date, StoreError> {
    Timestamp::from_millisecond(day * DAY_MS)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .map_err(|e| StoreError::Corrupt(format!("bad day {day}: {e}")))
}

/// `(lon, lat)` of a stored GeoJSON geometry when it is a point, read into
/// two numbers rather than a JSON tree (bulletins read thousands).
fn point_of(geometry: &str) -> Option<(f64, f64)> {
    #[derive(serde::Deserialize)]
    struct Point {
        coordinates: (f64, f64),
    }
    if !geometry.contains("\"Point\"") {
        return None;
    }
    serde_json::from_str::<Point>(geometry)
        .ok()
        .map(|p| p.coordinates)
}

const ENVELOPE_COLUMNS: &str = "rid, id, kind, version, sensitivity, retracted, created_at, created_by, updated_at, updated_by, last_seq, data";

fn envelope_from(row: &SqliteRow) -> Result<(i64, Envelope), StoreError> {
    let kind: String = row.get(2);
    let data: String = row.get(11);
    Ok((
        row.get(0),
        Envelope {
            id: uuid(row.get(1))?,
            kind: EntityKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {kind}")))?,
            version: row.get::<i64, _>(3) as u64,
            sensitivity: sens_from(row.get(4)),
            retracted: row.get::<i64, _>(5) != 0,
            created_at: ts(row.get(6))?,
            created_by: row.get(7),
            updated_at: ts(row.get(8))?,
            updated_by: row.get(9),
            last_seq: row.get::<i64, _>(10) as u64,
            data: serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("record data: {e}")))?,
        },
    ))
}

const JOURNAL_COLUMNS: &str = "seq, entry_id, entity, entity_id, op, payload, actor, at, reason, idempotency_key, prev_hash, hash";

fn entry_from(row: &SqliteRow) -> Result<JournalEntry, StoreError> {
    let op: String = row.get(4);
    Ok(JournalEntry {
        seq: row.get::<i64, _>(0) as u64,
        entry_id: uuid(row.get(1))?,
        entity: row.get(2),
        entity_id: uuid(row.get(3))?,
        op: Op::parse(&op).ok_or_else(|| StoreError::Corrupt(format!("unknown op {op}")))?,
        payload: row.get(5),
        actor: row.get(6),
        at: ts(row.get(7))?,
        reason: row.get(8),
        idempotency_key: row.get(9),
        prev_hash: to_hash(row.get(10))?,
        hash: to_hash(row.get(11))?,
    })
}

/// The journal payload of a create or update: what `verify` compares the
/// current state with.
fn state_payload(sensitivity: Sensitivity, data: &serde_json::Value) -> String {
    state_payload_of(sensitivity, &canonical_json(data))
}

/// [`state_payload`] from the canonical JSON of the data.
fn state_payload_of(sensitivity: Sensitivity, data: &str) -> String {
    // Canonical JSON of {"sensitivity": .., "data": ..} ("data" sorts first),
    // written without cloning `data` into a temporary object.
    let sensitivity = canonical_json(&serde_json::json!(sensitivity));
    let mut out = String::with_capacity(data.len() + sensitivity.len() + 24);
    out.push_str("{\"data\":");
    out.push_str(data);
    out.push_str(",\"sensitivity\":");
    out.push_str(&sensitivity);
    out.push('}');
    out
}

fn user_from(row: &SqliteRow) -> Result<User, StoreError> {
    let role: String = row.get(2);
    Ok(User {
        id: uuid(row.get(0))?,
        username: row.get(1),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        password_hash: row.get(3),
        disabled: row.get::<i64, _>(4) != 0,
    })
}

// ---------------------------------------------------------------------------
// Checkpoints

/// Copies committed WAL pages into the database file on its own connection,
/// off the writer's commit path: a passive checkpoint after commits (never
/// blocks the writer), and a restart of the WAL once it passes
/// [`WAL_RESTART_FRAMES`], which holds the writer only while the few pages
/// not yet copied are. Ends when the writer does; closing its connection
/// then lets SQLite checkpoint whatever is left.
async fn checkpointer(mut conn: SqliteConnection, mut wake: mpsc::Receiver<()>) {
    while wake.recv().await.is_some() {
        tokio::time::sleep(CHECKPOINT_PAUSE).await;
        let _ = wake.try_recv();
        let res = async {
            let (_busy, log, _done): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&mut conn)
                    .await?;
            if log > WAL_RESTART_FRAMES {
                sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                    .execute(&mut conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = res {
            tracing::warn!("checkpoint: {e}");
        }
    }
    let _ = conn.close().await;
}

/// The WHERE conditions of a list query (without cursor and limit).
/// A query under construction: the one [`push_filters`] serves sqlx's
/// `QueryBuilder` and the bulk reader's [`bulk::Sql`].
trait SqlSink {
    /// Appends SQL text.
    fn sql(&mut self, text: impl std::fmt::Display) -> &mut Self;
    /// Appends a placeholder bound to an integer.
    fn int(&mut self, v: i64) -> &mut Self;
    /// Appends a placeholder bound to a real.
    fn real(&mut self, v: f64) -> &mut Self;
    /// Appends a placeholder bound to a text.
    fn text(&mut self, v: String) -> &mut Self;
}

impl SqlSink for QueryBuilder<Sqlite> {
    fn sql(&mut self, text: impl std::fmt::Display) -> &mut Self {
        self.push(text)
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.push_bind(v)
    }
    fn real(&mut self, v: f64) -> &mut Self {
        self.push_bind(v)
    }
    fn text(&mut self, v: String) -> &mut Self {
        self.push_bind(v)
    }
}

fn push_filters(b: &mut impl SqlSink, q: &ListQuery) {
    b.sql("kind = ").text(q.kind.as_str().to_string());
    b.sql(" AND sensitivity <= ")
        .int(sens_code(q.max_sensitivity));
    if !q.include_retracted {
        b.sql(" AND retracted = 0");
    }
    if let Some(t) = q.from {
        b.sql(" AND t_end >= ").int(t.as_millisecond());
    }
    if let Some(t) = q.to {
        b.sql(" AND t_start <= ").int(t.as_millisecond());
    }
    if let Some(t) = q.starts_from {
        b.sql(" AND t_start >= ").int(t.as_millisecond());
    }
    for c in &q.not_category {
        b.sql(" AND (category IS NULL OR category <> ")
            .text(c.clone())
            .sql(") AND instr(tags, ")
            .text(format!(" {c} "))
            .sql(") = 0");
    }
    for st in &q.not_status {
        b.sql(" AND (status IS NULL OR status <> ")
            .text(st.clone())
            .sql(")");
    }
    if let Some(c) = &q.category {
        b.sql(" AND (category = ").text(c.clone());
        b.sql(" OR instr(tags, ")
            .text(format!(" {c} "))
            .sql(") > 0)");
    }
    if let Some(s) = &q.status {
        b.sql(" AND status = ").text(s.clone());
    }
    if let Some(p) = q.party {
        b.sql(" AND instr(parties, ")
            .text(format!(" {p} "))
            .sql(") > 0");
    }
    if let Some(r) = q.reference {
        b.sql(" AND instr(refs, ")
            .text(format!(" {r} "))
            .sql(") > 0");
    }
    if let Some(t) = &q.text {
        b.sql(" AND instr(text, ")
            .text(t.to_lowercase())
            .sql(") > 0");
    }
    if let Some([x0, y0, x1, y1]) = q.bbox {
        b.sql(" AND rid IN (SELECT rid FROM records_rtree WHERE min_lon <= ")
            .real(x1)
            .sql(" AND max_lon >= ")
            .real(x0)
            .sql(" AND min_lat <= ")
            .real(y1)
            .sql(" AND max_lat >= ")
            .real(y0)
            .sql(")");
    }
}

/// The part of `list`'s query after `SELECT ... FROM records WHERE `:
/// filters, cursor, order and `limit + 1` rows (the extra one says whether
/// there is a next page).
fn push_page(b: &mut impl SqlSink, q: &ListQuery) -> usize {
    push_filters(b, q);
    push_slice(b, q);
    let order = if q.oldest_first { "ASC" } else { "DESC" };
    let limit = q.limit.clamp(1, 10_000) as usize;
    b.sql(format_args!(" ORDER BY rid {order} LIMIT "))
        .int(limit as i64 + 1);
    limit
}

/// The part of the walk `q` reads: after its cursor, up to its `until`.
fn push_slice(b: &mut impl SqlSink, q: &ListQuery) {
    let (after, until) = if q.oldest_first {
        (" AND rid > ", " AND rid <= ")
    } else {
        (" AND rid < ", " AND rid >= ")
    };
    if let Some(c) = q.cursor {
        b.sql(after).int(c);
    }
    if let Some(u) = q.until {
        b.sql(until).int(u);
    }
}

/// How many chunks of records `list_all` reads side by side at most.
const LIST_ALL_CHUNKS: usize = 4;
/// The fewest records worth a chunk (and a query) of their own.
const MIN_LIST_ALL_CHUNK: usize = 256;

/// Space-delimited list with a leading and trailing space, so `instr` with
/// `' ' || x || ' '` matches whole items only.
fn spaced<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    let mut s = String::from(" ");
    for i in items {
        s.push_str(i.as_ref());
        s.push(' ');
    }
    s
}

/// Prepares the chunks of a streamed import ([`Queued::new`]) on the
/// blocking pool, beside the reader that sends them and the writer that
/// applies them. A sender that goes away without `Commit` ends the stream
/// without one, so the writer rolls back; a writer that stops drops the
/// receiver and the sender sees it.
fn prepare_stream(mut chunks: mpsc::Receiver<crate::ImportChunk>) -> mpsc::Receiver<Prepared> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        while let Some(chunk) = chunks.recv().await {
            let prepared = match chunk {
                crate::ImportChunk::Commands(cmds) => {
                    match tokio::task::spawn_blocking(move || {
                        cmds.into_iter().map(Queued::new).collect()
                    })
                    .await
                    {
                        Ok(q) => Prepared::Commands(q),
                        Err(_) => break,
                    }
                }
                crate::ImportChunk::Creates(c) => Prepared::Creates(c),
                crate::ImportChunk::Commit => Prepared::Commit,
            };
            if tx.send(prepared).await.is_err() {
                break;
            }
        }
    });
    rx
}

// ---------------------------------------------------------------------------
// Reads

#[async_trait]
impl Store for SqliteStore {
    async fn apply(&self, cmd: Command) -> Result<Applied, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::One(Box::new(Queued::new(cmd)), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn apply_all(&self, cmds: Vec<Command>) -> Result<Vec<Applied>, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::All(cmds.into_iter().map(Queued::new).collect(), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn apply_stream(
        &self,
        chunks: mpsc::Receiver<crate::ImportChunk>,
    ) -> Result<u64, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Stream(prepare_stream(chunks), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn replicate(&self, entries: Vec<JournalEntry>) -> Result<Head, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Replicate(entries, tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn get(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENVELOPE_COLUMNS} FROM records WHERE id = ?"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| envelope_from(&r).map(|(_, e)| e)).transpose()
    }

    async fn list(&self, q: &ListQuery) -> Result<Page, StoreError> {
        let mut b =
            QueryBuilder::<Sqlite>::new(format!("SELECT {ENVELOPE_COLUMNS} FROM records WHERE "));
        let limit = push_page(&mut b, q);
        let rows = b.build().fetch_all(&self.read).await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_rid = None;
        for row in rows.iter().take(limit) {
            let (rid, env) = envelope_from(row)?;
            last_rid = Some(rid);
            items.push(env);
        }
        let next_cursor = if rows.len() > limit { last_rid } else { None };
        Ok(Page { items, next_cursor })
    }

    async fn list_raw(&self, q: &ListQuery) -> Result<crate::RawPage, StoreError> {
        let bulk = self.bulk.clone();
        let q = q.clone();
        tokio::task::spawn_blocking(move || bulk.list_raw(&q))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    async fn aggregate(
        &self,
        q: &ListQuery,
        by: crate::Grouping,
    ) -> Result<Vec<crate::Bucket>, StoreError> {
        let key = match by {
            crate::Grouping::All => "''",
            crate::Grouping::Category => "COALESCE(category, '')",
            crate::Grouping::Status => "COALESCE(status, '')",
            // Named as a date below: SQLite's `date()` per row cost more
            // than the rest of the sum.
            crate::Grouping::Day => DAY_OF_T_START,
        };
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {key} AS k, COUNT(*), COALESCE(SUM(quantity), 0.0) FROM records WHERE "
        ));
        push_filters(&mut b, q);
        b.push(" GROUP BY k ORDER BY k");
        let rows = b.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let key = match by {
                    crate::Grouping::Day => match r.get::<Option<i64>, _>(0) {
                        Some(day) => utc_date(day)?.to_string(),
                        None => String::new(),
                    },
                    _ => r.get(0),
                };
                Ok(crate::Bucket {
                    key,
                    count: r.get::<i64, _>(1) as u64,
                    sum: r.get(2),
                })
            })
            .collect()
    }

    async fn index_rows(&self, q: &ListQuery) -> Result<Vec<crate::IndexRow>, StoreError> {
        // Thousands of rows for a bulletin: read by the bulk reader, which
        // hands the whole result over once instead of each row across
        // threads.
        let bulk = self.bulk.clone();
        let q = q.clone();
        tokio::task::spawn_blocking(move || bulk.index_rows(&q))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    async fn delivered_totals(
        &self,
        q: &crate::DeliveredQuery,
    ) -> Result<Vec<crate::DeliveredTotal>, StoreError> {
        // Grouped by day, the primary key's order serves the grouping; over
        // the whole range, `delivered_daily_by_category`'s does, as long as
        // no constant column joins the grouping (that would sort every row).
        let (day, group) = if q.by_day {
            ("day", "day, category, corridor")
        } else {
            ("NULL", "category, corridor")
        };
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {day} AS d, category, corridor, SUM(lines), SUM(tonnes) FROM delivered_daily WHERE sensitivity <= "
        ));
        b.push_bind(sens_code(q.max_sensitivity));
        b.push(" AND day <= ")
            .push_bind(q.to.as_millisecond().div_euclid(DAY_MS));
        if let Some(f) = q.from {
            b.push(" AND day >= ")
                .push_bind(f.as_millisecond().div_euclid(DAY_MS));
        }
        b.push(format_args!(
            " GROUP BY {group} HAVING SUM(lines) > 0 ORDER BY {group}"
        ));
        let rows = b.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let corridor: &str = r.get(2);
                Ok(crate::DeliveredTotal {
                    day: r.get::<Option<i64>, _>(0).map(utc_date).transpose()?,
                    category: r.get(1),
                    corridor: (!corridor.is_empty()).then(|| uuid(corridor)).transpose()?,
                    lines: r.get::<i64, _>(3) as u64,
                    tonnes: r.get(4),
                })
            })
            .collect()
    }

    async fn count(&self, kind: EntityKind) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE kind = ? AND retracted = 0")
                .bind(kind.as_str())
                .fetch_one(&self.read)
                .await?;
        Ok(n as u64)
    }

    async fn last_cursor(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MAX(rid) FROM records")
            .fetch_one(&self.read)
            .await?)
    }

    async fn list_all(&self, q: ListQuery) -> Result<Vec<Envelope>, StoreError> {
        // Which records: the covering time index (migration 0006) answers
        // the usual filters without reading a record.
        let mut b = QueryBuilder::<Sqlite>::new("SELECT rid FROM records WHERE ");
        push_filters(&mut b, &q);
        push_slice(&mut b, &q);
        let mut rids: Vec<i64> = b.build_query_scalar().fetch_all(&self.read).await?;
        rids.sort_unstable();
        if !q.oldest_first {
            rids.reverse();
        }
        // Then the records themselves, by rowid, a few chunks side by side:
        // a kind's records lie scattered through a large file, and read one
        // after another they keep the disk one page at a time.
        let chunk = rids.len().div_ceil(LIST_ALL_CHUNKS).max(MIN_LIST_ALL_CHUNK);
        let parts = futures::future::try_join_all(
            rids.chunks(chunk).map(|rids| self.records_by_rid(rids, &q)),
        )
        .await?;
        Ok(parts.into_iter().flatten().collect())
    }

    async fn history(&self, entity_id: Uuid) -> Result<Vec<JournalEntry>, StoreError> {
        // Changes of a record are found by its rid (see migration 0004),
        // everything else about it (audit reads) by its id.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOURNAL_COLUMNS} FROM journal WHERE rid = (SELECT rid FROM records WHERE id = ?1) \
             UNION ALL SELECT {JOURNAL_COLUMNS} FROM journal WHERE entity_id = ?1 AND rid IS NULL \
             ORDER BY seq"
        )))
        .bind(entity_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from).collect()
    }

    async fn journal(&self, after_seq: u64, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOURNAL_COLUMNS} FROM journal WHERE seq > ? ORDER BY seq LIMIT ?"
        )))
        .bind(after_seq as i64)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from).collect()
    }

    async fn head(&self) -> Result<Head, StoreError> {
        let mut conn = self.read.acquire().await?;
        load_head(&mut conn).await
    }

    async fn verify(&self) -> Result<VerifyReport, VerifyError> {
        let mut conn = self.read.acquire().await.map_err(StoreError::from)?;
        let mut tx = conn.begin().await.map_err(StoreError::from)?;
        let mut verifier = ChainVerifier::default();
        {
            let mut rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {JOURNAL_COLUMNS} FROM journal ORDER BY seq"
            )))
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                let seq: i64 = row.get(0);
                let e = entry_from(&row).map_err(|err| truce_core::journal::ChainBreak {
                    seq: seq as u64,
                    reason: err.to_string(),
                })?;
                verifier.check(&e)?;
            }
        }
        let mut records = 0;
        {
            let mut rows = sqlx::query(
                "SELECT r.id, r.sensitivity, r.retracted, r.data, j.entity_id, j.op, j.payload \
                 FROM records r LEFT JOIN journal j ON j.seq = r.last_seq ORDER BY r.rid",
            )
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                let id: String = row.get(0);
                let bad = |reason: &str| VerifyError::State {
                    id: Uuid::from_str(&id).unwrap_or_default(),
                    reason: reason.to_string(),
                };
                let entity_id: Option<String> = row.get(4);
                if entity_id.as_deref() != Some(id.as_str()) {
                    return Err(bad(
                        "its last journal entry is missing or about another record",
                    ));
                }
                let op: String = row.get(5);
                let retracted = row.get::<i64, _>(2) != 0;
                match op.as_str() {
                    "create" | "update" => {
                        let data: serde_json::Value = serde_json::from_str(row.get(3))
                            .map_err(|_| bad("stored data is not JSON"))?;
                        let expected = state_payload(sens_from(row.get(1)), &data);
                        if retracted || expected != row.get::<String, _>(6) {
                            return Err(bad("current state differs from its last journal entry"));
                        }
                    }
                    "retract" if retracted => {}
                    _ => return Err(bad("current state differs from its last journal entry")),
                }
                records += 1;
            }
        }
        Ok(VerifyReport {
            entries: verifier.head().seq,
            records,
            head: verifier.head(),
        })
    }

    async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT id, username, role, password_hash, disabled FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.read)
        .await?
        .map(|r| user_from(&r))
        .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query(
            "SELECT id, username, role, password_hash, disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(user_from)
        .collect()
    }

    async fn user_by_token(&self, token_hash: &Hash) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT u.id, u.username, u.role, u.password_hash, u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked = 0 AND u.disabled = 0")
            .bind(&token_hash[..])
            .fetch_optional(&self.read)
            .await?
            .map(|r| user_from(&r))
            .transpose()
    }

    async fn user_by_session(&self, token_hash: &Hash) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT u.id, u.username, u.role, u.password_hash, u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0")
            .bind(&token_hash[..])
            .bind(Timestamp::now().as_millisecond())
            .fetch_optional(&self.read)
            .await?
            .map(|r| user_from(&r))
            .transpose()
    }

    async fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query("SELECT t.id, u.username, t.name, t.created_at, t.revoked FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ?1 IS NULL OR u.username = ?1 ORDER BY t.created_at")
            .bind(username)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: uuid(r.get(0))?,
                    username: r.get(1),
                    name: r.get(2),
                    created_at: r.get(3),
                    revoked: r.get::<i64, _>(4) != 0,
                })
            })
            .collect()
    }

    async fn asset(&self, name: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(
            sqlx::query("SELECT content_type, body FROM assets WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.read)
                .await?
                .map(|r| (r.get(0), r.get(1))),
        )
    }

    async fn backup(&self, path: &Path) -> Result<Head, StoreError> {
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Conflict("backup path is not UTF-8".into()))?;
        // VACUUM INTO reads one consistent snapshot while the writer goes on.
        let mut conn = SqliteConnection::connect_with(&options(&self.path)).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let mut copy =
            SqliteConnection::connect_with(&options(path).create_if_missing(false)).await?;
        let head = load_head(&mut copy).await?;
        copy.close().await?;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL day number is the floored one, before 1970 too, and the
    /// date it names is the timestamp's UTC date.
    #[test]
    fn day_numbers_floor_like_div_euclid() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for ms in [
            0,
            1,
            DAY_MS - 1,
            DAY_MS,
            -1,
            -DAY_MS,
            -DAY_MS - 1,
            1_795_000_000_123,
            -86_400_000 * 400 + 5,
        ] {
            let day: i64 = db
                .query_row(
                    &format!("SELECT {}", DAY_OF_T_START.replace("t_start", "?1")),
                    [ms],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(day, ms.div_euclid(DAY_MS), "{ms}");
            let t = Timestamp::from_millisecond(ms).unwrap();
            assert_eq!(
                utc_date(day).unwrap(),
                t.to_zoned(jiff::tz::TimeZone::UTC).date()
            );
        }
    }

    #[test]
    fn points_are_read_from_point_geometries_only() {
        assert_eq!(
            point_of(r#"{"coordinates":[46.25,39.5],"type":"Point"}"#),
            Some((46.25, 39.5))
        );
        assert_eq!(
            point_of(r#"{"type":"Point","coordinates":[-1,2]}"#),
            Some((-1.0, 2.0))
        );
        for other in [
            r#"{"coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"type":"Polygon"}"#,
            r#"{"coordinates":[[0,0],[1,1]],"type":"MultiPoint"}"#,
            r#"{"geometries":[{"coordinates":[0,0],"type":"Point"}],"type":"GeometryCollection"}"#,
            "not json",
        ] {
            assert_eq!(point_of(other), None, "{other}");
        }
    }

    #[test]
    fn state_payload_is_the_canonical_object() {
        let data = serde_json::json!({"b": [1, {"z": "é\"", "a": null}], "a": 2.5});
        for s in [
            Sensitivity::Public,
            Sensitivity::Mission,
            Sensitivity::Restricted,
        ] {
            assert_eq!(
                state_payload(s, &data),
                canonical_json(&serde_json::json!({"sensitivity": s, "data": data}))
            );
        }
    }
}
