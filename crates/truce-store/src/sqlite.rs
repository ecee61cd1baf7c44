//! The embedded SQLite backend: WAL, `synchronous=FULL`, one writer task
//! with group commit, a pool of readers.
//!
//! Writes queue to the writer task. It takes every command waiting (up to
//! [`MAX_BATCH`]), applies them in one transaction, commits once (one fsync),
//! and only then answers each caller. Under load this turns thousands of
//! small durable writes into a few large ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use truce_core::journal::{ChainVerifier, GENESIS, Hash, Head, JournalEntry, Op, canonical_json};
use truce_core::{EntityKind, Envelope, Role, Sensitivity};
use uuid::Uuid;

use crate::{
    AccountChange, Applied, Change, Command, ListQuery, Page, Store, StoreError, TokenInfo, User,
    VerifyError, VerifyReport,
};

/// Most commands applied in one transaction.
pub const MAX_BATCH: usize = 512;
/// Rows per multi-row INSERT (kept under SQLite's variable limit).
const ROWS_PER_INSERT: usize = 400;
/// WAL frames (pages) above which the checkpointer also restarts the WAL,
/// briefly holding the writer, so the file stays bounded under sustained
/// load (≈ 128 MiB at 4 KiB pages).
const WAL_RESTART_FRAMES: i64 = 32_768;
/// Pause between a commit and the checkpoint it triggers, so one
/// checkpoint (two fsyncs) covers many group commits.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);

mod bulk;

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
        // The writer never checkpoints inside a commit (SQLite's automatic
        // checkpoint would copy pages to the database file and fsync it
        // before the commit returns); the checkpointer does it beside it.
        let mut conn =
            SqliteConnection::connect_with(&options(path).pragma("wal_autocheckpoint", "0"))
                .await?;
        MIGRATOR.run(&mut conn).await?;
        let checkpoints = {
            let ck =
                SqliteConnection::connect_with(&options(path).pragma("wal_autocheckpoint", "0"))
                    .await?;
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(checkpointer(ck, rx));
            tx
        };
        let head = load_head(&mut conn).await?;
        let next_rid: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rid), 0) + 1 FROM records")
            .fetch_one(&mut conn)
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options(path).read_only(true))
            .await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let writer = Writer {
            conn,
            head,
            next_rid,
            checkpoints,
        };
        tokio::spawn(writer.run(rx));
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
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true)
                    .immutable(true)
                    .pragma("cache_size", "-65536"),
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

    /// Closes the readers; the writer ends when the last handle is dropped.
    pub async fn close(self) {
        self.read.close().await;
    }
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
// The writer

struct Writer {
    conn: SqliteConnection,
    head: Head,
    next_rid: i64,
    /// Tells the checkpointer that the WAL grew.
    checkpoints: mpsc::Sender<()>,
}

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

/// A record row to upsert, with its index columns.
#[derive(Clone)]
struct RecordWrite {
    rid: i64,
    env: Envelope,
    index: Option<truce_core::IndexFields>,
    /// `env.data` as canonical JSON, when already computed.
    data_json: Option<String>,
}

impl Batch {
    fn new(now: Timestamp) -> Self {
        Batch {
            now,
            journal: Vec::new(),
            records: Vec::new(),
            by_rid: HashMap::new(),
            idempotency: Vec::new(),
        }
    }
}

struct Batch {
    /// One time for every entry of a group: they commit together.
    now: Timestamp,
    /// Entries with the rid of the record they change (create, update,
    /// retract), stored in `journal.rid` so the journal's index of a new
    /// record is an append.
    journal: Vec<(JournalEntry, Option<i64>)>,
    records: Vec<i64>,
    by_rid: HashMap<i64, RecordWrite>,
    idempotency: Vec<(String, String, Hash, u64, String)>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(job) = rx.recv().await {
            match job {
                Job::One(cmd, reply) => {
                    let mut cmds = vec![*cmd];
                    let mut replies = vec![reply];
                    while cmds.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Job::One(c, r)) => {
                                cmds.push(*c);
                                replies.push(r);
                            }
                            Ok(other) => {
                                // Finish the group first, then the bulk job.
                                self.commit_group(
                                    std::mem::take(&mut cmds),
                                    std::mem::take(&mut replies),
                                )
                                .await;
                                self.run_bulk(other).await;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    if !cmds.is_empty() {
                        self.commit_group(cmds, replies).await;
                    }
                }
                other => self.run_bulk(other).await,
            }
        }
    }

    async fn run_bulk(&mut self, job: Job) {
        match job {
            Job::One(..) => unreachable!("grouped by run"),
            Job::All(cmds, reply) => {
                let res = self.apply_all(cmds).await;
                let _ = reply.send(res);
            }
            Job::Stream(chunks, reply) => {
                let res = self.apply_stream(chunks).await;
                let _ = reply.send(res);
            }
            Job::Replicate(entries, reply) => {
                let saved = (self.head, self.next_rid);
                let res = async {
                    let mut tx =
                        begin_write(&mut self.conn, &mut self.head, &mut self.next_rid).await?;
                    let head = replicate(&mut tx, self.head, &mut self.next_rid, entries).await?;
                    tx.commit().await?;
                    Ok(head)
                }
                .await;
                match &res {
                    Ok(h) => self.head = *h,
                    Err(_) => (self.head, self.next_rid) = saved,
                }
                let _ = reply.send(res);
            }
        }
        let _ = self.checkpoints.try_send(());
    }

    /// One transaction over every chunk received; committed only when the
    /// sender says so, rolled back if it goes away or a chunk is refused.
    async fn apply_stream(
        &mut self,
        mut chunks: mpsc::Receiver<Prepared>,
    ) -> Result<u64, StoreError> {
        let saved = (self.head, self.next_rid);
        let res = async {
            let mut tx = begin_write(&mut self.conn, &mut self.head, &mut self.next_rid).await?;
            let existing = self.next_rid - 1;
            let mut dropped: Option<Vec<(String, String)>> = None;
            let mut n = 0u64;
            loop {
                match chunks.recv().await {
                    Some(Prepared::Commands(cmds)) => {
                        if dropped.is_none() && n >= BULK_MIN_ROWS && n as i64 >= existing {
                            dropped = Some(drop_secondary_indexes(&mut tx).await?);
                        }
                        for r in
                            apply_batch(&mut tx, &mut self.head, &mut self.next_rid, &cmds).await?
                        {
                            r?;
                            n += 1;
                        }
                    }
                    Some(Prepared::Creates(c)) => {
                        if dropped.is_none() && n >= BULK_MIN_ROWS && n as i64 >= existing {
                            dropped = Some(drop_secondary_indexes(&mut tx).await?);
                        }
                        n += apply_creates(&mut tx, &mut self.head, &mut self.next_rid, c).await?;
                    }
                    Some(Prepared::Commit) => break,
                    None => {
                        return Err(StoreError::Conflict(
                            "import abandoned; nothing was written".into(),
                        ));
                    }
                }
            }
            for (_, sql) in dropped.unwrap_or_default() {
                sqlx::query(AssertSqlSafe(sql))
                    .persistent(false)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(n)
        }
        .await;
        if res.is_err() {
            (self.head, self.next_rid) = saved;
        }
        res
    }

    async fn commit_group(&mut self, cmds: Vec<Queued>, replies: Vec<Reply<Applied>>) {
        let saved = (self.head, self.next_rid);
        let outcome = async {
            let mut tx = begin_write(&mut self.conn, &mut self.head, &mut self.next_rid).await?;
            let results = apply_batch(&mut tx, &mut self.head, &mut self.next_rid, &cmds).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(results)
        }
        .await;
        let _ = self.checkpoints.try_send(());
        match outcome {
            Ok(results) => {
                for (r, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                (self.head, self.next_rid) = saved;
                tracing::error!("write batch failed: {e}");
                let msg = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Corrupt(format!("write failed: {msg}"))));
                }
            }
        }
    }

    async fn apply_all(&mut self, cmds: Vec<Queued>) -> Result<Vec<Applied>, StoreError> {
        let saved = (self.head, self.next_rid);
        let res = async {
            let mut tx = begin_write(&mut self.conn, &mut self.head, &mut self.next_rid).await?;
            let mut out = Vec::with_capacity(cmds.len());
            for chunk in cmds.chunks(MAX_BATCH * 8) {
                for r in apply_batch(&mut tx, &mut self.head, &mut self.next_rid, chunk).await? {
                    out.push(r?);
                }
            }
            tx.commit().await?;
            Ok(out)
        }
        .await;
        if res.is_err() {
            (self.head, self.next_rid) = saved;
        }
        res
    }
}

/// Rows a streamed import applies with every index in place before it may
/// drop the secondary ones (see [`drop_secondary_indexes`]).
const BULK_MIN_ROWS: u64 = 16_384;

/// Drops the explicitly created indexes of `records` and `journal` inside
/// the open transaction and returns their names and definitions, so a bulk
/// import appends rows without a random index insert each and builds the
/// indexes again, sorted, before it commits. Uniqueness constraints (their
/// automatic indexes) stay, and a rollback brings everything back. Done only
/// once the import is larger than what the tables already hold, since the
/// rebuild covers every row.
async fn drop_secondary_indexes(
    conn: &mut SqliteConnection,
) -> Result<Vec<(String, String)>, StoreError> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('records', 'journal') AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    Ok(indexes)
}

/// Applies the creates of an import chunk inside the open transaction and
/// returns how many were applied (retries included). When no id of the
/// chunk is stored yet or repeated within it, the rows are written directly
/// from the canonical JSON: one journal entry and one record row each, the
/// same rows [`apply_batch`] writes for create commands. Otherwise the chunk
/// goes through [`apply_batch`] itself, which replays retries and refuses
/// conflicts.
async fn apply_creates(
    conn: &mut SqliteConnection,
    head: &mut Head,
    next_rid: &mut i64,
    c: crate::NewRecords,
) -> Result<u64, StoreError> {
    if c.records.is_empty() {
        return Ok(0);
    }
    if !all_new(conn, &c.records).await? {
        let cmds: Vec<Queued> = c
            .to_commands()
            .into_iter()
            .zip(&c.records)
            .map(|(cmd, r)| Queued {
                cmd,
                data_json: Some(r.record.json().to_string()),
            })
            .collect();
        let mut n = 0;
        for r in apply_batch(conn, head, next_rid, &cmds).await? {
            r?;
            n += 1;
        }
        return Ok(n);
    }
    let now = Timestamp::now();
    let now_text = now.to_string();
    let n = c.records.len();
    let mut journal = Vec::with_capacity(n);
    let mut journal_rids = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for r in c.records {
        let (json, index) = r.record.into_parts();
        let e = JournalEntry {
            seq: head.seq + 1,
            entry_id: Uuid::now_v7(),
            entity: r.kind.as_str().to_string(),
            entity_id: r.id,
            op: Op::Create,
            payload: state_payload_of(r.sensitivity, &json),
            actor: c.actor.clone(),
            at: now,
            reason: c.reason.clone(),
            idempotency_key: None,
            prev_hash: head.hash,
            hash: GENESIS,
        }
        .seal();
        *head = Head {
            seq: e.seq,
            hash: e.hash,
        };
        let rid = *next_rid;
        *next_rid += 1;
        journal_rids.push(rid);
        records.push(NewRow {
            rid,
            id: r.id,
            kind: r.kind,
            sensitivity: r.sensitivity,
            last_seq: e.seq,
            index,
            json,
        });
        journal.push(e);
    }
    insert_journal(conn, journal.into_iter().zip(journal_rids).collect()).await?;
    insert_new_records(conn, &c.actor, &now_text, records).await?;
    Ok(n as u64)
}

/// Whether no id of `records` is stored or repeated among them.
async fn all_new(
    conn: &mut SqliteConnection,
    records: &[crate::NewRecord],
) -> Result<bool, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    if !records.iter().all(|r| seen.insert(r.id)) {
        return Ok(false);
    }
    for chunk in records.chunks(ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT 1 FROM records WHERE id IN (");
        let mut sep = q.separated(", ");
        for r in chunk {
            sep.push_bind(r.id.to_string());
        }
        q.push(") LIMIT 1");
        let found = q
            .build()
            .persistent(chunk.len() == ROWS_PER_INSERT)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A new record's row, as [`flush`] writes it for a create.
struct NewRow {
    rid: i64,
    id: Uuid,
    kind: EntityKind,
    sensitivity: Sensitivity,
    last_seq: u64,
    index: truce_core::IndexFields,
    json: String,
}

/// Inserts journal entries with the rid of the record each creates,
/// moving their strings into the statement.
async fn insert_journal(
    conn: &mut SqliteConnection,
    entries: Vec<(JournalEntry, i64)>,
) -> Result<(), StoreError> {
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let chunk: Vec<(JournalEntry, i64)> = entries.by_ref().take(ROWS_PER_INSERT).collect();
        let full = chunk.len() == ROWS_PER_INSERT;
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO journal ({JOURNAL_COLUMNS}, rid) "));
        q.push_values(chunk, |mut b, (e, rid)| {
            b.push_bind(e.seq as i64)
                .push_bind(e.entry_id.to_string())
                .push_bind(e.entity)
                .push_bind(e.entity_id.to_string())
                .push_bind(e.op.as_str())
                .push_bind(e.payload)
                .push_bind(e.actor)
                .push_bind(e.at.to_string())
                .push_bind(e.reason)
                .push_bind(e.idempotency_key)
                .push_bind(e.prev_hash.to_vec())
                .push_bind(e.hash.to_vec())
                .push_bind(rid);
        });
        q.build().persistent(full).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts new records (version 1, created and updated by `actor` at
/// `now`) with their R-tree boxes.
async fn insert_new_records(
    conn: &mut SqliteConnection,
    actor: &str,
    now: &str,
    rows: Vec<NewRow>,
) -> Result<(), StoreError> {
    const PER: usize = ROWS_PER_INSERT / 2;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<NewRow> = rows.by_ref().take(PER).collect();
        let full = chunk.len() == PER;
        let boxed: Vec<(i64, [f64; 4])> = chunk
            .iter()
            .filter_map(|r| r.index.bbox.map(|b| (r.rid, b)))
            .collect();
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO records (rid, id, kind, version, sensitivity, retracted, created_at, created_by, updated_at, updated_by, last_seq, t_start, t_end, category, tags, status, parties, text, geometry, data, refs, quantity) ",
        );
        q.push_values(chunk, |mut b, r| {
            let i = r.index;
            b.push_bind(r.rid)
                .push_bind(r.id.to_string())
                .push_bind(r.kind.as_str())
                .push_bind(1i64)
                .push_bind(sens_code(r.sensitivity))
                .push_bind(0i64)
                .push_bind(now.to_string())
                .push_bind(actor.to_string())
                .push_bind(now.to_string())
                .push_bind(actor.to_string())
                .push_bind(r.last_seq as i64)
                .push_bind(i.time_start.map(|t| t.as_millisecond()))
                .push_bind(i.time_end.map(|t| t.as_millisecond()))
                .push_bind(i.category)
                .push_bind(spaced(i.tags.iter().map(String::as_str)))
                .push_bind(i.status)
                .push_bind(spaced(i.parties.iter().map(|p| p.to_string())))
                .push_bind(i.text)
                .push_bind(i.geometry.as_ref().map(|g| g.to_string()))
                .push_bind(r.json)
                .push_bind(spaced(i.refs.iter().map(|p| p.to_string())))
                .push_bind(i.quantity);
        });
        q.build().persistent(full).execute(&mut *conn).await?;
        if !boxed.is_empty() {
            let full = boxed.len() == PER;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO records_rtree (rid, min_lon, max_lon, min_lat, max_lat) ",
            );
            q.push_values(boxed, |mut b, (rid, bb)| {
                b.push_bind(rid)
                    .push_bind(bb[0])
                    .push_bind(bb[2])
                    .push_bind(bb[1])
                    .push_bind(bb[3]);
            });
            q.build().persistent(full).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Appends foreign entries verbatim and applies their effect on records.
async fn replicate(
    conn: &mut SqliteConnection,
    head: Head,
    next_rid: &mut i64,
    entries: Vec<JournalEntry>,
) -> Result<Head, StoreError> {
    let mut verifier = truce_core::journal::ChainVerifier::from_head(head);
    let mut current: HashMap<Uuid, (i64, Envelope)> = HashMap::new();
    let mut batch = Batch::new(Timestamp::now());
    for e in entries {
        verifier
            .check(&e)
            .map_err(|b| StoreError::Corrupt(format!("replication refused: {b}")))?;
        if let Some(kind) = EntityKind::parse(&e.entity) {
            if !current.contains_key(&e.entity_id) {
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {ENVELOPE_COLUMNS} FROM records WHERE id = ?"
                )))
                .bind(e.entity_id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(row) = row {
                    let (rid, env) = envelope_from(&row)?;
                    current.insert(env.id, (rid, env));
                }
            }
            let corrupt =
                |what: &str| StoreError::Corrupt(format!("journal entry {}: {what}", e.seq));
            match e.op {
                Op::Create | Op::Update => {
                    let payload: serde_json::Value = serde_json::from_str(&e.payload)
                        .map_err(|_| corrupt("payload is not JSON"))?;
                    let sensitivity: Sensitivity =
                        serde_json::from_value(payload["sensitivity"].clone())
                            .map_err(|_| corrupt("no sensitivity"))?;
                    let data = payload["data"].clone();
                    let index = kind.index_of(&data).unwrap_or_default();
                    let (rid, env) = match (e.op, current.get(&e.entity_id).cloned()) {
                        (Op::Create, None) => {
                            let rid = *next_rid;
                            *next_rid += 1;
                            let env = Envelope {
                                id: e.entity_id,
                                kind,
                                version: 1,
                                sensitivity,
                                retracted: false,
                                created_at: e.at,
                                created_by: e.actor.clone(),
                                updated_at: e.at,
                                updated_by: e.actor.clone(),
                                last_seq: e.seq,
                                data,
                            };
                            (rid, env)
                        }
                        (Op::Update, Some((rid, mut env))) => {
                            env.version += 1;
                            env.sensitivity = sensitivity;
                            env.data = data;
                            env.updated_at = e.at;
                            env.updated_by = e.actor.clone();
                            env.last_seq = e.seq;
                            (rid, env)
                        }
                        _ => {
                            return Err(corrupt(
                                "create of an existing or update of a missing record",
                            ));
                        }
                    };
                    stage(&mut batch, &mut current, rid, &env, Some(index), None);
                }
                Op::Retract => {
                    let (rid, mut env) = current
                        .get(&e.entity_id)
                        .cloned()
                        .ok_or_else(|| corrupt("retract of a missing record"))?;
                    env.version += 1;
                    env.retracted = true;
                    env.updated_at = e.at;
                    env.updated_by = e.actor.clone();
                    env.last_seq = e.seq;
                    let index = batch.by_rid.get(&rid).and_then(|w| w.index.clone());
                    stage(&mut batch, &mut current, rid, &env, index, None);
                }
                Op::Read | Op::Login | Op::Revoke => {}
            }
        }
        let rid = match e.op {
            Op::Create | Op::Update | Op::Retract => current.get(&e.entity_id).map(|(r, _)| *r),
            _ => None,
        };
        batch.journal.push((e, rid));
        if batch.journal.len() >= 4 * ROWS_PER_INSERT {
            let full = std::mem::replace(&mut batch, Batch::new(Timestamp::now()));
            flush(conn, full).await?;
        }
    }
    flush(conn, batch).await?;
    Ok(verifier.head())
}

/// Starts a write transaction, taking the write lock at once, and reloads
/// the head and the next rid inside it: another process (the CLI adding a
/// user or a token while the server runs) may have appended since this
/// writer last wrote.
async fn begin_write<'c>(
    conn: &'c mut SqliteConnection,
    head: &mut Head,
    next_rid: &mut i64,
) -> Result<sqlx::Transaction<'c, Sqlite>, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    *head = load_head(&mut tx).await?;
    *next_rid = sqlx::query_scalar("SELECT COALESCE(MAX(rid), 0) + 1 FROM records")
        .fetch_one(&mut *tx)
        .await?;
    Ok(tx)
}

/// Applies `cmds` inside an open transaction. The outer error aborts the
/// whole transaction; inner errors are refusals of single commands that
/// wrote nothing.
async fn apply_batch(
    conn: &mut SqliteConnection,
    head: &mut Head,
    next_rid: &mut i64,
    cmds: &[Queued],
) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    // Prefetch the records and idempotency keys the batch touches.
    fn record_ids(change: &Change, out: &mut Vec<String>) {
        match change {
            Change::Create { id, .. } | Change::Update { id, .. } | Change::Retract { id, .. } => {
                out.push(id.to_string())
            }
            Change::Atomic(parts) => parts.iter().for_each(|p| record_ids(p, out)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    for c in cmds {
        record_ids(&c.cmd.change, &mut ids);
    }
    ids.sort();
    ids.dedup();
    let mut current: HashMap<Uuid, (i64, Envelope)> = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {ENVELOPE_COLUMNS} FROM records WHERE id IN ("
        ));
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id);
        }
        q.push(")");
        let rows = q.build().persistent(false).fetch_all(&mut *conn).await?;
        for row in &rows {
            let (rid, env) = envelope_from(row)?;
            current.insert(env.id, (rid, env));
        }
    }
    let mut keys: HashMap<(String, String), (Hash, u64, FirstResult)> = HashMap::new();
    let wanted: Vec<(&str, &str)> = cmds
        .iter()
        .filter_map(|c| {
            c.cmd
                .idempotency
                .as_ref()
                .map(|i| (c.cmd.actor.as_str(), i.key.as_str()))
        })
        .collect();
    for chunk in wanted.chunks(ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT i.scope, i.key, i.request_hash, i.seq, i.response, j.entity, j.entity_id, j.payload, j.actor, j.at \
             FROM idempotency i LEFT JOIN journal j ON i.response = '' AND j.seq = i.seq \
             WHERE (i.scope, i.key) IN (VALUES ",
        );
        let mut sep = q.separated(", ");
        for (scope, key) in chunk {
            sep.push("(");
            sep.push_bind_unseparated(*scope);
            sep.push_unseparated(", ");
            sep.push_bind_unseparated(*key);
            sep.push_unseparated(")");
        }
        q.push(")");
        for row in q.build().persistent(false).fetch_all(&mut *conn).await? {
            let seq = row.get::<i64, _>(3) as u64;
            let response: String = row.get(4);
            let first = if response.is_empty() {
                let entity: Option<String> = row.get(5);
                let (Some(entity), Some(entity_id), Some(payload), Some(actor), Some(at)) = (
                    entity,
                    row.get::<Option<String>, _>(6),
                    row.get::<Option<String>, _>(7),
                    row.get::<Option<String>, _>(8),
                    row.get::<Option<String>, _>(9),
                ) else {
                    return Err(StoreError::Corrupt(format!(
                        "idempotency key of entry {seq}: no such journal entry"
                    )));
                };
                FirstResult::Created(Box::new(created_from_entry(
                    &entity, &entity_id, &payload, actor, &at, seq,
                )?))
            } else {
                FirstResult::Stored(response)
            };
            keys.insert((row.get(0), row.get(1)), (to_hash(row.get(2))?, seq, first));
        }
    }

    let mut batch = Batch::new(Timestamp::now());
    let mut results = Vec::with_capacity(cmds.len());
    for Queued { cmd, data_json } in cmds {
        if let Some(idem) = &cmd.idempotency {
            let k = (cmd.actor.clone(), idem.key.clone());
            if let Some((hash, seq, first)) = keys.get(&k) {
                results.push(if *hash == idem.request_hash {
                    match first {
                        FirstResult::Stored(response) => replay(*seq, response),
                        FirstResult::Created(env) => Ok(Applied {
                            seq: *seq,
                            replayed: true,
                            record: Some((**env).clone()),
                            created_id: None,
                        }),
                    }
                } else {
                    Err(StoreError::IdempotencyMismatch(idem.key.clone()))
                });
                continue;
            }
        }
        let res = apply_one(
            conn,
            head,
            next_rid,
            cmd,
            data_json.as_deref(),
            &mut current,
            &mut batch,
        )
        .await?;
        if let (Ok(applied), Some(idem)) = (&res, &cmd.idempotency)
            && !applied.replayed
        {
            // The first result of a create is the record as its journal
            // entry states it: stored as '' and rebuilt on a retry
            // ([`created_from_entry`]) instead of a second copy of the record.
            let (first, response) = match (&cmd.change, &applied.record) {
                (Change::Create { .. }, Some(env)) => {
                    (FirstResult::Created(Box::new(env.clone())), String::new())
                }
                _ => {
                    let response = serde_json::to_string(&(&applied.record, &applied.created_id))
                        .expect("serialise response");
                    (FirstResult::Stored(response.clone()), response)
                }
            };
            keys.insert(
                (cmd.actor.clone(), idem.key.clone()),
                (idem.request_hash, applied.seq, first),
            );
            batch.idempotency.push((
                cmd.actor.clone(),
                idem.key.clone(),
                idem.request_hash,
                applied.seq,
                response,
            ));
        }
        results.push(res);
    }
    flush(conn, batch).await?;
    Ok(results)
}

/// What a retried request gets back: a stored first response, or the
/// record a create made, rebuilt from its journal entry.
enum FirstResult {
    Stored(String),
    Created(Box<Envelope>),
}

/// The record exactly as the create at journal entry `seq` made it
/// (version 1, created and updated by its actor at its time): the first
/// result of a create, which the idempotency table does not copy.
fn created_from_entry(
    entity: &str,
    entity_id: &str,
    payload: &str,
    actor: String,
    at: &str,
    seq: u64,
) -> Result<Envelope, StoreError> {
    #[derive(serde::Deserialize)]
    struct State {
        data: serde_json::Value,
        sensitivity: Sensitivity,
    }
    let corrupt = |what: &str| StoreError::Corrupt(format!("journal entry {seq}: {what}"));
    let state: State =
        serde_json::from_str(payload).map_err(|_| corrupt("payload is not a record state"))?;
    let at = ts(at)?;
    Ok(Envelope {
        id: uuid(entity_id)?,
        kind: EntityKind::parse(entity).ok_or_else(|| corrupt("not a record"))?,
        version: 1,
        sensitivity: state.sensitivity,
        retracted: false,
        created_at: at,
        created_by: actor.clone(),
        updated_at: at,
        updated_by: actor,
        last_seq: seq,
        data: state.data,
    })
}

fn replay(seq: u64, response: &str) -> Result<Applied, StoreError> {
    let (record, created_id): (Option<Envelope>, Option<Uuid>) = serde_json::from_str(response)
        .map_err(|e| StoreError::Corrupt(format!("stored response: {e}")))?;
    Ok(Applied {
        seq,
        replayed: true,
        record,
        created_id,
    })
}

#[allow(clippy::too_many_arguments)]
fn append(
    head: &mut Head,
    batch: &mut Batch,
    cmd: &Command,
    entity: &str,
    entity_id: Uuid,
    rid: Option<i64>,
    op: Op,
    payload: String,
) -> u64 {
    let e = JournalEntry {
        seq: head.seq + 1,
        entry_id: Uuid::now_v7(),
        entity: entity.to_string(),
        entity_id,
        op,
        payload,
        actor: cmd.actor.clone(),
        at: batch.now,
        reason: cmd.reason.clone(),
        idempotency_key: cmd.idempotency.as_ref().map(|i| i.key.clone()),
        prev_hash: head.hash,
        hash: GENESIS,
    }
    .seal();
    *head = Head {
        seq: e.seq,
        hash: e.hash,
    };
    batch.journal.push((e, rid));
    head.seq
}

fn check_target(
    current: &HashMap<Uuid, (i64, Envelope)>,
    kind: EntityKind,
    id: Uuid,
    if_version: Option<u64>,
) -> Result<(i64, Envelope), StoreError> {
    let (rid, env) = current
        .get(&id)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("{kind} {id}")))?;
    if env.kind != kind {
        return Err(StoreError::NotFound(format!("{kind} {id}")));
    }
    if let Some(v) = if_version
        && v != env.version
    {
        return Err(StoreError::Stale {
            id,
            expected: v,
            current: env.version,
        });
    }
    if env.retracted {
        return Err(StoreError::Conflict(format!("{kind} {id} is retracted")));
    }
    Ok((rid, env))
}

async fn apply_one(
    conn: &mut SqliteConnection,
    head: &mut Head,
    next_rid: &mut i64,
    cmd: &Command,
    data_json: Option<&str>,
    current: &mut HashMap<Uuid, (i64, Envelope)>,
    batch: &mut Batch,
) -> Result<Result<Applied, StoreError>, StoreError> {
    let now = batch.now;
    let canon = |data: &serde_json::Value| match data_json {
        Some(j) => j.to_string(),
        None => canonical_json(data),
    };
    let applied = |seq, record: Envelope| Applied {
        seq,
        replayed: false,
        record: Some(record),
        created_id: None,
    };
    match &cmd.change {
        Change::Create {
            kind,
            id,
            sensitivity,
            record,
        } => {
            if let Some((_, existing)) = current.get(id) {
                // A retry with a client-chosen id: same content -> first result.
                return Ok(
                    if existing.kind == *kind
                        && existing.data == record.data
                        && existing.sensitivity == *sensitivity
                        && existing.created_by == cmd.actor
                    {
                        Ok(Applied {
                            seq: existing.last_seq,
                            replayed: true,
                            record: Some(existing.clone()),
                            created_id: None,
                        })
                    } else {
                        Err(StoreError::Conflict(format!(
                            "a record with id {id} already exists"
                        )))
                    },
                );
            }
            let json = canon(&record.data);
            let payload = state_payload_of(*sensitivity, &json);
            let rid = *next_rid;
            *next_rid += 1;
            let seq = append(
                head,
                batch,
                cmd,
                kind.as_str(),
                *id,
                Some(rid),
                Op::Create,
                payload,
            );
            let env = Envelope {
                id: *id,
                kind: *kind,
                version: 1,
                sensitivity: *sensitivity,
                retracted: false,
                created_at: now,
                created_by: cmd.actor.clone(),
                updated_at: now,
                updated_by: cmd.actor.clone(),
                last_seq: seq,
                data: record.data.clone(),
            };
            stage(
                batch,
                current,
                rid,
                &env,
                Some(record.index.clone()),
                Some(json),
            );
            Ok(Ok(applied(seq, env)))
        }
        Change::Update {
            kind,
            id,
            if_version,
            sensitivity,
            record,
        } => {
            let (rid, mut env) = match check_target(current, *kind, *id, *if_version) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let sensitivity = sensitivity.unwrap_or(env.sensitivity);
            if env.data == record.data && env.sensitivity == sensitivity {
                // Nothing changes: report the current state, write nothing.
                return Ok(Ok(Applied {
                    seq: env.last_seq,
                    replayed: true,
                    record: Some(env),
                    created_id: None,
                }));
            }
            let json = canon(&record.data);
            let payload = state_payload_of(sensitivity, &json);
            let seq = append(
                head,
                batch,
                cmd,
                kind.as_str(),
                *id,
                Some(rid),
                Op::Update,
                payload,
            );
            env.version += 1;
            env.sensitivity = sensitivity;
            env.data = record.data.clone();
            env.updated_at = now;
            env.updated_by = cmd.actor.clone();
            env.last_seq = seq;
            stage(
                batch,
                current,
                rid,
                &env,
                Some(record.index.clone()),
                Some(json),
            );
            Ok(Ok(applied(seq, env)))
        }
        Change::Retract {
            kind,
            id,
            if_version,
        } => {
            let (rid, mut env) = match check_target(current, *kind, *id, *if_version) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            env.version += 1;
            let payload = canonical_json(&serde_json::json!({"version": env.version}));
            let seq = append(
                head,
                batch,
                cmd,
                kind.as_str(),
                *id,
                Some(rid),
                Op::Retract,
                payload,
            );
            env.retracted = true;
            env.updated_at = now;
            env.updated_by = cmd.actor.clone();
            env.last_seq = seq;
            let index = batch.by_rid.get(&rid).and_then(|w| w.index.clone());
            stage(batch, current, rid, &env, index, None);
            Ok(Ok(applied(seq, env)))
        }
        Change::AuditRead {
            entity,
            entity_id,
            payload,
        } => {
            let seq = append(
                head,
                batch,
                cmd,
                entity,
                *entity_id,
                None,
                Op::Read,
                canonical_json(payload),
            );
            Ok(Ok(Applied {
                seq,
                replayed: false,
                record: None,
                created_id: None,
            }))
        }
        Change::PutAsset {
            name,
            content_type,
            body,
        } => {
            sqlx::query("INSERT INTO assets (name, content_type, body) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET content_type = excluded.content_type, body = excluded.body")
                .bind(name)
                .bind(content_type)
                .bind(body)
                .execute(&mut *conn)
                .await?;
            let payload = canonical_json(&serde_json::json!({
                "name": name,
                "content_type": content_type,
                "bytes": body.len(),
                "sha256": hex::encode(Sha256::digest(body)),
            }));
            let id = Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes());
            let seq = append(head, batch, cmd, "asset", id, None, Op::Update, payload);
            Ok(Ok(Applied {
                seq,
                replayed: false,
                record: None,
                created_id: Some(id),
            }))
        }
        Change::Account(change) => account(conn, head, batch, cmd, change).await,
        Change::Atomic(parts) => {
            // Stage the parts on copies; keep them only if every part succeeds.
            let mut t_head = *head;
            let mut t_rid = *next_rid;
            let mut t_current = current.clone();
            let mut t_batch = Batch::new(batch.now);
            t_batch.by_rid = batch.by_rid.iter().map(|(k, v)| (*k, v.clone())).collect();
            let mut last = None;
            for part in parts {
                if !matches!(
                    part,
                    Change::Create { .. } | Change::Update { .. } | Change::Retract { .. }
                ) {
                    return Ok(Err(StoreError::Conflict(
                        "only record changes may be combined atomically".into(),
                    )));
                }
                let sub = Command {
                    change: part.clone(),
                    idempotency: None,
                    ..cmd.clone()
                };
                match Box::pin(apply_one(
                    conn,
                    &mut t_head,
                    &mut t_rid,
                    &sub,
                    None,
                    &mut t_current,
                    &mut t_batch,
                ))
                .await?
                {
                    Ok(a) => last = Some(a),
                    Err(e) => return Ok(Err(e)),
                }
            }
            *head = t_head;
            *next_rid = t_rid;
            *current = t_current;
            batch.journal.extend(t_batch.journal);
            for rid in t_batch.records {
                if !batch.by_rid.contains_key(&rid) {
                    batch.records.push(rid);
                }
            }
            batch.by_rid = t_batch.by_rid;
            Ok(Ok(last.unwrap_or(Applied {
                seq: head.seq,
                replayed: true,
                record: None,
                created_id: None,
            })))
        }
    }
}

/// Records `env` as the current state of `rid` for the rest of the batch
/// and queues its row. The queued copy leaves out `data` when its canonical
/// JSON (all the row needs) is given, so a create copies its record once.
fn stage(
    batch: &mut Batch,
    current: &mut HashMap<Uuid, (i64, Envelope)>,
    rid: i64,
    env: &Envelope,
    index: Option<truce_core::IndexFields>,
    data_json: Option<String>,
) {
    current.insert(env.id, (rid, env.clone()));
    let env = if data_json.is_some() {
        Envelope {
            data: serde_json::Value::Null,
            created_by: env.created_by.clone(),
            updated_by: env.updated_by.clone(),
            ..*env
        }
    } else {
        env.clone()
    };
    if batch
        .by_rid
        .insert(
            rid,
            RecordWrite {
                rid,
                env,
                index,
                data_json,
            },
        )
        .is_none()
    {
        batch.records.push(rid);
    }
}

async fn user_id(
    conn: &mut SqliteConnection,
    username: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(conn)
        .await
}

async fn account(
    conn: &mut SqliteConnection,
    head: &mut Head,
    batch: &mut Batch,
    cmd: &Command,
    change: &AccountChange,
) -> Result<Result<Applied, StoreError>, StoreError> {
    let now = batch.now;
    let done = |seq, id| {
        Ok(Ok(Applied {
            seq,
            replayed: false,
            record: None,
            created_id: Some(id),
        }))
    };
    match change {
        AccountChange::CreateUser {
            username,
            role,
            password_hash,
        } => {
            if user_id(conn, username).await?.is_some() {
                return Ok(Err(StoreError::Conflict(format!(
                    "user {username} already exists"
                ))));
            }
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(id.to_string())
                .bind(username)
                .bind(role.as_str())
                .bind(password_hash)
                .bind(now.to_string())
                .execute(&mut *conn)
                .await?;
            let payload = canonical_json(&serde_json::json!({"username": username, "role": role}));
            let seq = append(head, batch, cmd, "user", id, None, Op::Create, payload);
            done(seq, id)
        }
        AccountChange::SetDisabled { username, disabled } => {
            let Some(id) = user_id(conn, username).await? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            sqlx::query("UPDATE users SET disabled = ? WHERE id = ?")
                .bind(*disabled as i64)
                .bind(&id)
                .execute(&mut *conn)
                .await?;
            if *disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
            }
            let payload =
                canonical_json(&serde_json::json!({"username": username, "disabled": disabled}));
            let op = if *disabled { Op::Revoke } else { Op::Update };
            let id = uuid(&id)?;
            let seq = append(head, batch, cmd, "user", id, None, op, payload);
            done(seq, id)
        }
        AccountChange::CreateToken {
            username,
            name,
            token_hash,
        } => {
            let Some(uid) = user_id(conn, username).await? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(id.to_string())
                .bind(uid)
                .bind(name)
                .bind(&token_hash[..])
                .bind(now.to_string())
                .execute(&mut *conn)
                .await?;
            let payload = canonical_json(&serde_json::json!({"username": username, "name": name}));
            let seq = append(head, batch, cmd, "token", id, None, Op::Create, payload);
            done(seq, id)
        }
        AccountChange::RevokeToken { id } => {
            let n = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = ? AND revoked = 0")
                .bind(id.to_string())
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(Err(StoreError::NotFound(format!("active token {id}"))));
            }
            let seq = append(
                head,
                batch,
                cmd,
                "token",
                *id,
                None,
                Op::Revoke,
                "{}".into(),
            );
            done(seq, *id)
        }
        AccountChange::CreateSession {
            username,
            token_hash,
            expires_at,
        } => {
            let Some(uid) = user_id(conn, username).await? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
                .bind(&token_hash[..])
                .bind(&uid)
                .bind(expires_at.as_millisecond())
                .execute(&mut *conn)
                .await?;
            let payload = canonical_json(&serde_json::json!({"username": username}));
            let uid = uuid(&uid)?;
            let seq = append(head, batch, cmd, "user", uid, None, Op::Login, payload);
            done(seq, uid)
        }
        AccountChange::EndSession { token_hash } => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = ? OR expires_at < ?")
                .bind(&token_hash[..])
                .bind(now.as_millisecond())
                .execute(&mut *conn)
                .await?;
            Ok(Ok(Applied {
                seq: head.seq,
                replayed: false,
                record: None,
                created_id: None,
            }))
        }
    }
}

async fn flush(conn: &mut SqliteConnection, batch: Batch) -> Result<(), StoreError> {
    for chunk in batch.journal.chunks(ROWS_PER_INSERT) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO journal ({JOURNAL_COLUMNS}, rid) "));
        q.push_values(chunk, |mut b, (e, rid)| {
            b.push_bind(e.seq as i64)
                .push_bind(e.entry_id.to_string())
                .push_bind(e.entity.clone())
                .push_bind(e.entity_id.to_string())
                .push_bind(e.op.as_str())
                .push_bind(e.payload.clone())
                .push_bind(e.actor.clone())
                .push_bind(e.at.to_string())
                .push_bind(e.reason.clone())
                .push_bind(e.idempotency_key.clone())
                .push_bind(e.prev_hash.to_vec())
                .push_bind(e.hash.to_vec())
                .push_bind(*rid);
        });
        q.build().persistent(false).execute(&mut *conn).await?;
    }
    let writes: Vec<&RecordWrite> = batch.records.iter().map(|r| &batch.by_rid[r]).collect();
    let (full, meta): (Vec<&RecordWrite>, Vec<&RecordWrite>) =
        writes.into_iter().partition(|w| w.index.is_some());
    for chunk in full.chunks(ROWS_PER_INSERT / 2) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO records (rid, id, kind, version, sensitivity, retracted, created_at, created_by, updated_at, updated_by, last_seq, t_start, t_end, category, tags, status, parties, text, geometry, data, refs, quantity) ",
        );
        q.push_values(chunk, |mut b, w| {
            let e = &w.env;
            let i = w.index.as_ref().expect("partitioned");
            b.push_bind(w.rid)
                .push_bind(e.id.to_string())
                .push_bind(e.kind.as_str())
                .push_bind(e.version as i64)
                .push_bind(sens_code(e.sensitivity))
                .push_bind(e.retracted as i64)
                .push_bind(e.created_at.to_string())
                .push_bind(e.created_by.clone())
                .push_bind(e.updated_at.to_string())
                .push_bind(e.updated_by.clone())
                .push_bind(e.last_seq as i64)
                .push_bind(i.time_start.map(|t| t.as_millisecond()))
                .push_bind(i.time_end.map(|t| t.as_millisecond()))
                .push_bind(i.category.clone())
                .push_bind(spaced(i.tags.iter().map(String::as_str)))
                .push_bind(i.status.clone())
                .push_bind(spaced(i.parties.iter().map(|p| p.to_string())))
                .push_bind(i.text.clone())
                .push_bind(i.geometry.as_ref().map(|g| g.to_string()))
                .push_bind(
                    w.data_json
                        .clone()
                        .unwrap_or_else(|| canonical_json(&e.data)),
                )
                .push_bind(spaced(i.refs.iter().map(|p| p.to_string())))
                .push_bind(i.quantity);
        });
        q.push(" ON CONFLICT(rid) DO UPDATE SET version = excluded.version, sensitivity = excluded.sensitivity, retracted = excluded.retracted, updated_at = excluded.updated_at, updated_by = excluded.updated_by, last_seq = excluded.last_seq, t_start = excluded.t_start, t_end = excluded.t_end, category = excluded.category, tags = excluded.tags, status = excluded.status, parties = excluded.parties, text = excluded.text, geometry = excluded.geometry, data = excluded.data, refs = excluded.refs, quantity = excluded.quantity");
        q.build().persistent(false).execute(&mut *conn).await?;
        let boxed: Vec<(i64, [f64; 4])> = chunk
            .iter()
            .filter_map(|w| w.index.as_ref().and_then(|i| i.bbox).map(|b| (w.rid, b)))
            .collect();
        if !boxed.is_empty() {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO records_rtree (rid, min_lon, max_lon, min_lat, max_lat) ",
            );
            q.push_values(&boxed, |mut b, (rid, bb)| {
                b.push_bind(*rid)
                    .push_bind(bb[0])
                    .push_bind(bb[2])
                    .push_bind(bb[1])
                    .push_bind(bb[3]);
            });
            q.build().persistent(false).execute(&mut *conn).await?;
        }
    }
    for w in meta {
        let e = &w.env;
        sqlx::query("UPDATE records SET version = ?, retracted = ?, updated_at = ?, updated_by = ?, last_seq = ? WHERE rid = ?")
            .bind(e.version as i64)
            .bind(e.retracted as i64)
            .bind(e.updated_at.to_string())
            .bind(&e.updated_by)
            .bind(e.last_seq as i64)
            .bind(w.rid)
            .execute(&mut *conn)
            .await?;
    }
    for chunk in batch.idempotency.chunks(ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO idempotency (scope, key, request_hash, seq, response) ",
        );
        q.push_values(chunk, |mut b, (scope, key, hash, seq, resp)| {
            b.push_bind(scope.clone())
                .push_bind(key.clone())
                .push_bind(hash.to_vec())
                .push_bind(*seq as i64)
                .push_bind(resp.clone());
        });
        q.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
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
    let (after, order) = if q.oldest_first {
        (" AND rid > ", "ASC")
    } else {
        (" AND rid < ", "DESC")
    };
    if let Some(c) = q.cursor {
        b.sql(after).int(c);
    }
    let limit = q.limit.clamp(1, 10_000) as usize;
    b.sql(format_args!(" ORDER BY rid {order} LIMIT "))
        .int(limit as i64 + 1);
    limit
}

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
            crate::Grouping::Day => "COALESCE(date(t_start / 1000, 'unixepoch'), '')",
        };
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {key} AS k, COUNT(*), COALESCE(SUM(quantity), 0.0) FROM records WHERE "
        ));
        push_filters(&mut b, q);
        b.push(" GROUP BY k ORDER BY k");
        let rows = b.build().fetch_all(&self.read).await?;
        Ok(rows
            .iter()
            .map(|r| crate::Bucket {
                key: r.get(0),
                count: r.get::<i64, _>(1) as u64,
                sum: r.get(2),
            })
            .collect())
    }

    async fn index_rows(&self, q: &ListQuery) -> Result<Vec<crate::IndexRow>, StoreError> {
        let mut b = QueryBuilder::<Sqlite>::new(
            "SELECT id, t_start, category, tags, status, quantity, sensitivity, geometry, refs FROM records WHERE ",
        );
        push_filters(&mut b, q);
        b.push(" ORDER BY t_start, rid");
        let rows = b.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let point = r
                    .get::<Option<&str>, _>(7)
                    .and_then(|g| serde_json::from_str::<serde_json::Value>(g).ok())
                    .filter(|g| g["type"] == "Point")
                    .and_then(|g| {
                        Some((g["coordinates"][0].as_f64()?, g["coordinates"][1].as_f64()?))
                    });
                Ok(crate::IndexRow {
                    id: uuid(r.get(0))?,
                    time_start: r
                        .get::<Option<i64>, _>(1)
                        .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
                    point,
                    category: r.get(2),
                    tags: r
                        .get::<&str, _>(3)
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    status: r.get(4),
                    quantity: r.get(5),
                    refs: r
                        .get::<&str, _>(8)
                        .split_whitespace()
                        .map(uuid)
                        .collect::<Result<_, _>>()?,
                    sensitivity: sens_from(r.get(6)),
                })
            })
            .collect()
    }

    async fn delivered_totals(
        &self,
        q: &crate::DeliveredQuery,
    ) -> Result<Vec<crate::DeliveredTotal>, StoreError> {
        const DAY_MS: i64 = 86_400_000;
        let day = if q.by_day { "day" } else { "NULL" };
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
        b.push(
            " GROUP BY d, category, corridor HAVING SUM(lines) > 0 ORDER BY d, category, corridor",
        );
        let rows = b.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let corridor: &str = r.get(2);
                Ok(crate::DeliveredTotal {
                    day: r
                        .get::<Option<i64>, _>(0)
                        .map(|d| {
                            Timestamp::from_millisecond(d * DAY_MS)
                                .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
                                .map_err(|e| StoreError::Corrupt(format!("bad day {d}: {e}")))
                        })
                        .transpose()?,
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
