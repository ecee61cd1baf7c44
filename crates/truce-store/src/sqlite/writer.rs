//! The single writer of a [`SqliteStore`](super::SqliteStore): one
//! `rusqlite` connection owned by a dedicated OS thread, fed by the store's
//! job channel and answering through each job's oneshot reply.
//!
//! It takes every command waiting (up to [`MAX_BATCH`]), applies them in one
//! transaction, commits once (one fsync of the WAL, `synchronous=FULL`), and
//! only then answers each caller: group commit, durable before acknowledged.
//!
//! Why a thread and `rusqlite` rather than a task over sqlx: sqlx runs every
//! statement on a worker thread of its own and hands statements, bound
//! values and rows over through channels, so the writer had to choose
//! between a thread round trip per row and one multi-row SQL text per batch,
//! built, parsed and planned again for every group. Here the connection is
//! called in place: each statement is a fixed single-row one, prepared once
//! (`prepare_cached`) and stepped with values bound by reference, and
//! nothing crosses a thread but the jobs and the replies. It is the same
//! SQLite as sqlx's (one `libsqlite3-sys`); migrations still run through
//! sqlx when the store opens, and the readers stay on sqlx.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use truce_core::journal::{GENESIS, Hash, Head, JournalEntry, Op, canonical_json};
use truce_core::{EntityKind, Envelope, IndexFields, Sensitivity};
use uuid::Uuid;

use super::{
    Job, MAX_BATCH, Prepared, Queued, Reply, sens_code, sens_from, spaced, state_payload_of,
    to_hash, ts, uuid,
};
use crate::{AccountChange, Applied, Change, Command, StoreError};

/// SQLite's page cache of the writer's connection, in KiB (the same
/// 64 MiB the sqlx connections get).
const CACHE_KIB: i64 = 64 * 1024;
/// Prepared statements the connection keeps: the writer runs a fixed set of
/// a few dozen, so each is parsed once for the life of the store.
const STATEMENT_CACHE: usize = 64;
/// SQLite's page cache of the writer's connection during a bulk import
/// (once it drops the secondary indexes), in KiB. The import is one
/// transaction: with the usual cache its dirty pages spill into the WAL
/// mid-transaction and the random inserts of the id index and the R-tree
/// read them back; 256 MiB holds those structures for about a million
/// records (1,000,000 CSV rows: 11,589 -> 14,043 rows/s, peak RSS 361 ->
/// 569 MiB; 1 GiB was no faster). Set back when the import ends.
const BULK_CACHE_KIB: i64 = 256 * 1024;
/// Rows a streamed import applies with every index in place before it may
/// drop the secondary ones (see [`drop_secondary_indexes`]).
const BULK_MIN_ROWS: u64 = 16_384;
/// Commands of an [`apply_all`](crate::Store::apply_all) applied between
/// two flushes of their rows, so a huge call does not hold every row at once.
const ALL_CHUNK: usize = MAX_BATCH * 8;
/// Journal entries a replication holds before writing them.
const REPLICATE_CHUNK: usize = 1_600;

const SELECT_RECORD: &str = "SELECT rid, id, kind, version, sensitivity, retracted, created_at, created_by, updated_at, updated_by, last_seq, data FROM records WHERE id = ?1";
const SELECT_KEY: &str = "SELECT i.request_hash, i.seq, i.response, j.entity, j.entity_id, j.payload, j.actor, j.at \
     FROM idempotency i LEFT JOIN journal j ON i.response = '' AND j.seq = i.seq \
     WHERE i.scope = ?1 AND i.key = ?2";
const INSERT_ENTRY: &str = "INSERT INTO journal (seq, entry_id, entity, entity_id, op, payload, actor, at, reason, idempotency_key, prev_hash, hash, rid) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const UPSERT_RECORD: &str = "INSERT INTO records (rid, id, kind, version, sensitivity, retracted, created_at, created_by, updated_at, updated_by, last_seq, t_start, t_end, category, tags, status, parties, text, geometry, data, refs, quantity) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
     ON CONFLICT(rid) DO UPDATE SET version = excluded.version, sensitivity = excluded.sensitivity, retracted = excluded.retracted, updated_at = excluded.updated_at, updated_by = excluded.updated_by, last_seq = excluded.last_seq, t_start = excluded.t_start, t_end = excluded.t_end, category = excluded.category, tags = excluded.tags, status = excluded.status, parties = excluded.parties, text = excluded.text, geometry = excluded.geometry, data = excluded.data, refs = excluded.refs, quantity = excluded.quantity";
const UPSERT_BOX: &str = "INSERT OR REPLACE INTO records_rtree (rid, min_lon, max_lon, min_lat, max_lat) VALUES (?1, ?2, ?3, ?4, ?5)";
const UPDATE_META: &str = "UPDATE records SET version = ?1, retracted = ?2, updated_at = ?3, updated_by = ?4, last_seq = ?5 WHERE rid = ?6";
const INSERT_KEY: &str =
    "INSERT INTO idempotency (scope, key, request_hash, seq, response) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The writer's connection and what it knows between transactions.
pub(super) struct Writer {
    conn: Connection,
    head: Head,
    next_rid: i64,
    /// Tells the checkpointer that the WAL grew.
    checkpoints: mpsc::Sender<()>,
}

impl Writer {
    /// Opens the writer's connection to the (already migrated) database at
    /// `path`: WAL, `synchronous=FULL` (a commit returns only once the WAL
    /// is on disk), and no automatic checkpoint, since SQLite's would copy
    /// pages into the database file and fsync it inside a commit; the
    /// checkpointer does that on its own connection.
    pub(super) fn open(path: &Path, checkpoints: mpsc::Sender<()>) -> Result<Writer, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Statement journals of large statements stay in memory instead of
        // temporary files.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 0;"
        ))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let head = load_head(&conn)?;
        let next_rid = load_next_rid(&conn)?;
        Ok(Writer {
            conn,
            head,
            next_rid,
            checkpoints,
        })
    }

    /// Starts the writer's thread. It ends once every sender of `jobs` is
    /// gone (the last store handle dropped), closing its connection.
    pub(super) fn spawn(self, jobs: mpsc::Receiver<Job>) -> Result<(), StoreError> {
        std::thread::Builder::new()
            .name("truce-writer".into())
            .spawn(move || self.run(jobs))?;
        Ok(())
    }

    fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(job) = jobs.blocking_recv() {
            match job {
                Job::One(cmd, reply) => {
                    let mut cmds = vec![*cmd];
                    let mut replies = vec![reply];
                    let mut next = None;
                    while cmds.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(Job::One(c, r)) => {
                                cmds.push(*c);
                                replies.push(r);
                            }
                            Ok(other) => {
                                // Finish the group first, then the bulk job.
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(cmds, replies);
                    if let Some(job) = next {
                        self.run_bulk(job);
                    }
                }
                other => self.run_bulk(other),
            }
        }
    }

    /// Runs `f` in one write transaction and commits it. The write lock is
    /// taken at once, and the head and next rid are reloaded inside it:
    /// another process (the CLI adding a user or a token while the server
    /// runs) may have appended since this writer last wrote. On any error
    /// the transaction rolls back and the head and next rid are what they
    /// were.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &mut Head, &mut i64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let saved = (self.head, self.next_rid);
        let res = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            self.head = load_head(&tx)?;
            self.next_rid = load_next_rid(&tx)?;
            let out = f(&tx, &mut self.head, &mut self.next_rid)?;
            tx.commit()?;
            Ok(out)
        })();
        if res.is_err() {
            (self.head, self.next_rid) = saved;
        }
        res
    }

    fn run_bulk(&mut self, job: Job) {
        match job {
            Job::One(..) => unreachable!("grouped by run"),
            Job::All(mut cmds, reply) => {
                let res = self.transaction(|tx, head, next_rid| {
                    let mut out = Vec::with_capacity(cmds.len());
                    for chunk in cmds.chunks_mut(ALL_CHUNK) {
                        for r in apply_batch(tx, head, next_rid, chunk)? {
                            out.push(r?);
                        }
                    }
                    Ok(out)
                });
                let _ = reply.send(res);
            }
            Job::Stream(chunks, reply) => {
                let res = self.apply_stream(chunks);
                let _ = reply.send(res);
            }
            Job::Replicate(entries, reply) => {
                let res = self.transaction(|tx, head, next_rid| {
                    *head = replicate(tx, *head, next_rid, entries)?;
                    Ok(*head)
                });
                let _ = reply.send(res);
            }
        }
        let _ = self.checkpoints.try_send(());
    }

    /// One transaction over every chunk received; committed only when the
    /// sender says so, rolled back if it goes away or a chunk is refused.
    fn apply_stream(&mut self, mut chunks: mpsc::Receiver<Prepared>) -> Result<u64, StoreError> {
        let res = self.transaction(|tx, head, next_rid| {
            let existing = *next_rid - 1;
            let mut dropped: Option<Vec<(String, String)>> = None;
            let mut n = 0u64;
            loop {
                let chunk = chunks.blocking_recv();
                if matches!(chunk, Some(Prepared::Commands(_) | Prepared::Creates(_)))
                    && dropped.is_none()
                    && n >= BULK_MIN_ROWS
                    && n as i64 >= existing
                {
                    dropped = Some(drop_secondary_indexes(tx)?);
                    tx.execute_batch(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))?;
                }
                match chunk {
                    Some(Prepared::Commands(mut cmds)) => {
                        for r in apply_batch(tx, head, next_rid, &mut cmds)? {
                            r?;
                            n += 1;
                        }
                    }
                    Some(Prepared::Creates(c)) => n += apply_creates(tx, head, next_rid, c)?,
                    Some(Prepared::Commit) => break,
                    None => {
                        return Err(StoreError::Conflict(
                            "import abandoned; nothing was written".into(),
                        ));
                    }
                }
            }
            for (_, sql) in dropped.unwrap_or_default() {
                tx.execute_batch(&sql)?;
            }
            Ok(n)
        });
        // Back to the usual cache, whether the import committed or not.
        if let Err(e) = self
            .conn
            .execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB}"))
        {
            tracing::warn!("resetting the page cache after an import: {e}");
        }
        res
    }

    fn commit_group(&mut self, mut cmds: Vec<Queued>, replies: Vec<Reply<Applied>>) {
        let outcome =
            self.transaction(|tx, head, next_rid| apply_batch(tx, head, next_rid, &mut cmds));
        let _ = self.checkpoints.try_send(());
        match outcome {
            Ok(results) => {
                for (r, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!("write batch failed: {e}");
                let msg = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Corrupt(format!("write failed: {msg}"))));
                }
            }
        }
    }
}

fn load_head(conn: &Connection) -> Result<Head, StoreError> {
    let row = conn
        .prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    Ok(match row {
        None => Head::EMPTY,
        Some((seq, hash)) => Head {
            seq: seq as u64,
            hash: to_hash(hash)?,
        },
    })
}

fn load_next_rid(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(rid), 0) + 1 FROM records")?
        .query_row([], |r| r.get(0))?)
}

/// Column `i` of `row` as text, borrowed from SQLite's memory.
fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, StoreError> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// Column `i` of `row` as text, or `None` for NULL.
fn text_opt<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, StoreError> {
    row.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// A row of [`SELECT_RECORD`] (the columns of `ENVELOPE_COLUMNS`).
fn envelope_from(row: &Row<'_>) -> Result<(i64, Envelope), StoreError> {
    let kind = text(row, 2)?;
    Ok((
        row.get(0)?,
        Envelope {
            id: uuid(text(row, 1)?)?,
            kind: EntityKind::parse(kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {kind}")))?,
            version: row.get::<_, i64>(3)? as u64,
            sensitivity: sens_from(row.get(4)?),
            retracted: row.get::<_, i64>(5)? != 0,
            created_at: ts(text(row, 6)?)?,
            created_by: row.get(7)?,
            updated_at: ts(text(row, 8)?)?,
            updated_by: row.get(9)?,
            last_seq: row.get::<_, i64>(10)? as u64,
            data: serde_json::from_str(text(row, 11)?)
                .map_err(|e| StoreError::Corrupt(format!("record data: {e}")))?,
        },
    ))
}

/// The stored record `id`, with its rid.
fn read_record(conn: &Connection, id: Uuid) -> Result<Option<(i64, Envelope)>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_RECORD)?;
    let mut rows =
        stmt.query([id.hyphenated().encode_lower(&mut Uuid::encode_buffer()) as &str])?;
    match rows.next()? {
        Some(row) => Ok(Some(envelope_from(row)?)),
        None => Ok(None),
    }
}

/// Appends one journal entry; `rid` is the record it changes, if any
/// (`journal.rid`, so the journal's index of a new record is an append).
fn insert_entry(conn: &Connection, e: &JournalEntry, rid: Option<i64>) -> Result<(), StoreError> {
    let mut entry_id = Uuid::encode_buffer();
    let mut entity_id = Uuid::encode_buffer();
    conn.prepare_cached(INSERT_ENTRY)?
        .execute(rusqlite::params![
            e.seq as i64,
            e.entry_id.hyphenated().encode_lower(&mut entry_id) as &str,
            e.entity,
            e.entity_id.hyphenated().encode_lower(&mut entity_id) as &str,
            e.op.as_str(),
            e.payload,
            e.actor,
            e.at.to_string(),
            e.reason,
            e.idempotency_key,
            &e.prev_hash[..],
            &e.hash[..],
            rid,
        ])?;
    Ok(())
}

/// A record row as `records` stores it, borrowed from whoever holds it.
struct RecordRow<'a> {
    rid: i64,
    id: Uuid,
    kind: EntityKind,
    version: u64,
    sensitivity: Sensitivity,
    retracted: bool,
    created_at: &'a str,
    created_by: &'a str,
    updated_at: &'a str,
    updated_by: &'a str,
    last_seq: u64,
    index: &'a IndexFields,
    data: &'a str,
}

/// Inserts or replaces a record row with its index columns and R-tree box.
fn write_record(conn: &Connection, r: &RecordRow<'_>) -> Result<(), StoreError> {
    let i = r.index;
    let mut id = Uuid::encode_buffer();
    conn.prepare_cached(UPSERT_RECORD)?
        .execute(rusqlite::params![
            r.rid,
            r.id.hyphenated().encode_lower(&mut id) as &str,
            r.kind.as_str(),
            r.version as i64,
            sens_code(r.sensitivity),
            r.retracted as i64,
            r.created_at,
            r.created_by,
            r.updated_at,
            r.updated_by,
            r.last_seq as i64,
            i.time_start.map(|t| t.as_millisecond()),
            i.time_end.map(|t| t.as_millisecond()),
            i.category,
            spaced(i.tags.iter().map(String::as_str)),
            i.status,
            spaced(i.parties.iter().map(|p| p.to_string())),
            i.text,
            i.geometry.as_ref().map(|g| g.to_string()),
            r.data,
            spaced(i.refs.iter().map(|p| p.to_string())),
            i.quantity,
        ])?;
    if let Some(b) = i.bbox {
        conn.prepare_cached(UPSERT_BOX)?
            .execute(rusqlite::params![r.rid, b[0], b[2], b[1], b[3]])?;
    }
    Ok(())
}

/// Drops the explicitly created indexes of `records` and `journal` inside
/// the open transaction and returns their names and definitions, so a bulk
/// import appends rows without a random index insert each and builds the
/// indexes again, sorted, before it commits. Uniqueness constraints (their
/// automatic indexes) stay, and a rollback brings everything back. Done only
/// once the import is larger than what the tables already hold, since the
/// rebuild covers every row.
fn drop_secondary_indexes(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let indexes = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('records', 'journal') AND sql IS NOT NULL ORDER BY name",
        )?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    for (name, _) in &indexes {
        conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
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
fn apply_creates(
    conn: &Connection,
    head: &mut Head,
    next_rid: &mut i64,
    c: crate::NewRecords,
) -> Result<u64, StoreError> {
    if c.records.is_empty() {
        return Ok(0);
    }
    if !all_new(conn, &c.records)? {
        let mut cmds: Vec<Queued> = c
            .to_commands()
            .into_iter()
            .zip(&c.records)
            .map(|(cmd, r)| Queued {
                cmd,
                data_json: Some(r.record.json().to_string()),
            })
            .collect();
        let mut n = 0;
        for r in apply_batch(conn, head, next_rid, &mut cmds)? {
            r?;
            n += 1;
        }
        return Ok(n);
    }
    let now = Timestamp::now();
    let now_text = now.to_string();
    let n = c.records.len();
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
        insert_entry(conn, &e, Some(rid))?;
        write_record(
            conn,
            &RecordRow {
                rid,
                id: r.id,
                kind: r.kind,
                version: 1,
                sensitivity: r.sensitivity,
                retracted: false,
                created_at: &now_text,
                created_by: &c.actor,
                updated_at: &now_text,
                updated_by: &c.actor,
                last_seq: e.seq,
                index: &index,
                data: &json,
            },
        )?;
    }
    Ok(n as u64)
}

/// Whether no id of `records` is stored or repeated among them.
fn all_new(conn: &Connection, records: &[crate::NewRecord]) -> Result<bool, StoreError> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    if !records.iter().all(|r| seen.insert(r.id)) {
        return Ok(false);
    }
    let mut stmt = conn.prepare_cached("SELECT 1 FROM records WHERE id = ?1")?;
    for r in records {
        if stmt.exists([r.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()) as &str])? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Appends foreign entries verbatim and applies their effect on records.
fn replicate(
    conn: &Connection,
    head: Head,
    next_rid: &mut i64,
    entries: Vec<JournalEntry>,
) -> Result<Head, StoreError> {
    let mut verifier = truce_core::journal::ChainVerifier::from_head(head);
    let mut current = Current::new();
    let mut batch = Batch::new(Timestamp::now());
    for e in entries {
        verifier
            .check(&e)
            .map_err(|b| StoreError::Corrupt(format!("replication refused: {b}")))?;
        if let Some(kind) = EntityKind::parse(&e.entity) {
            if !current.contains_key(&e.entity_id)
                && let Some((rid, env)) = read_record(conn, e.entity_id)?
            {
                current.insert(env.id, (rid, Rc::new(env)));
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
                        (Op::Update, Some((rid, env))) => {
                            let mut env = (*env).clone();
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
                    stage(&mut batch, &mut current, rid, env, Some(index), None);
                }
                Op::Retract => {
                    let (rid, env) = current
                        .get(&e.entity_id)
                        .cloned()
                        .ok_or_else(|| corrupt("retract of a missing record"))?;
                    let mut env = (*env).clone();
                    env.version += 1;
                    env.retracted = true;
                    env.updated_at = e.at;
                    env.updated_by = e.actor.clone();
                    env.last_seq = e.seq;
                    let index = batch.by_rid.get(&rid).and_then(|w| w.index.clone());
                    stage(&mut batch, &mut current, rid, env, index, None);
                }
                Op::Read | Op::Login | Op::Revoke => {}
            }
        }
        let rid = match e.op {
            Op::Create | Op::Update | Op::Retract => current.get(&e.entity_id).map(|(r, _)| *r),
            _ => None,
        };
        batch.journal.push((e, rid));
        if batch.journal.len() >= REPLICATE_CHUNK {
            let full = std::mem::replace(&mut batch, Batch::new(Timestamp::now()));
            flush(conn, full)?;
        }
    }
    flush(conn, batch)?;
    Ok(verifier.head())
}

/// The records a batch has read or changed, by id, as the batch sees them
/// (with their rids). Shared with the commands' results and the queued
/// rows, so a create holds one copy of its record, not three.
type Current = HashMap<Uuid, (i64, Rc<Envelope>)>;

/// A command's result while its batch is open: an [`Applied`] whose record
/// is shared with the batch; unwrapped (not copied, once the batch is
/// written and dropped) by [`Done::into_applied`].
struct Done {
    seq: u64,
    replayed: bool,
    record: Option<Rc<Envelope>>,
    created_id: Option<Uuid>,
}

impl Done {
    fn new(seq: u64, record: Rc<Envelope>) -> Done {
        Done {
            seq,
            replayed: false,
            record: Some(record),
            created_id: None,
        }
    }

    /// The same result again, for a retry of the same request.
    fn replayed(&self) -> Done {
        Done {
            seq: self.seq,
            replayed: true,
            record: self.record.clone(),
            created_id: self.created_id,
        }
    }

    fn into_applied(self) -> Applied {
        Applied {
            seq: self.seq,
            replayed: self.replayed,
            record: self.record.map(Rc::unwrap_or_clone),
            created_id: self.created_id,
        }
    }
}

impl From<Applied> for Done {
    fn from(a: Applied) -> Done {
        Done {
            seq: a.seq,
            replayed: a.replayed,
            record: a.record.map(Rc::new),
            created_id: a.created_id,
        }
    }
}

/// A record row to upsert, with its index columns.
#[derive(Clone)]
struct RecordWrite {
    rid: i64,
    env: Rc<Envelope>,
    index: Option<IndexFields>,
    /// `env.data` as canonical JSON, when already computed.
    data_json: Option<String>,
}

/// What one transaction writes, gathered while its commands are applied and
/// written by [`flush`].
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

/// Applies `cmds` inside an open transaction. The outer error aborts the
/// whole transaction; inner errors are refusals of single commands that
/// wrote nothing.
fn apply_batch(
    conn: &Connection,
    head: &mut Head,
    next_rid: &mut i64,
    cmds: &mut [Queued],
) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    // Read the records and idempotency keys the batch touches.
    fn record_ids(change: &Change, out: &mut Vec<Uuid>) {
        match change {
            Change::Create { id, .. } | Change::Update { id, .. } | Change::Retract { id, .. } => {
                out.push(*id)
            }
            Change::Atomic(parts) => parts.iter().for_each(|p| record_ids(p, out)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    for c in cmds.iter() {
        record_ids(&c.cmd.change, &mut ids);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut current = Current::new();
    for id in ids {
        if let Some((rid, env)) = read_record(conn, id)? {
            current.insert(env.id, (rid, Rc::new(env)));
        }
    }
    let mut keys: HashMap<(String, String), (Hash, u64, FirstResult)> = HashMap::new();
    for c in cmds.iter() {
        if let Some(idem) = &c.cmd.idempotency
            && let Some(found) = read_key(conn, &c.cmd.actor, &idem.key)?
        {
            keys.insert((c.cmd.actor.clone(), idem.key.clone()), found);
        }
    }

    let mut batch = Batch::new(Timestamp::now());
    let mut results: Vec<Result<Done, StoreError>> = Vec::with_capacity(cmds.len());
    for Queued { cmd, data_json } in cmds.iter_mut() {
        if let Some(idem) = &cmd.idempotency {
            let k = (cmd.actor.clone(), idem.key.clone());
            if let Some((hash, seq, first)) = keys.get(&k) {
                results.push(if *hash == idem.request_hash {
                    match first {
                        FirstResult::Stored(response) => replay(*seq, response).map(Done::from),
                        FirstResult::Created(env) => Ok(Done {
                            replayed: true,
                            ..Done::new(*seq, env.clone())
                        }),
                        FirstResult::InBatch(i) => match &results[*i] {
                            Ok(first) => Ok(first.replayed()),
                            Err(_) => unreachable!("only applied commands keep their key"),
                        },
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
        )?;
        if let (Ok(applied), Some(idem)) = (&res, &cmd.idempotency)
            && !applied.replayed
        {
            // The first result of a create is the record as its journal
            // entry states it: stored as '' and rebuilt on a retry
            // ([`created_from_entry`]) instead of a second copy of the record.
            let response = match (&cmd.change, &applied.record) {
                (Change::Create { .. }, Some(_)) => String::new(),
                _ => serde_json::to_string(&(applied.record.as_deref(), &applied.created_id))
                    .expect("serialise response"),
            };
            // A retry later in this batch gets this result again.
            keys.insert(
                (cmd.actor.clone(), idem.key.clone()),
                (
                    idem.request_hash,
                    applied.seq,
                    FirstResult::InBatch(results.len()),
                ),
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
    flush(conn, batch)?;
    // The batch's own references are gone: most records are now moved into
    // their results, not copied.
    drop((current, keys));
    Ok(results
        .into_iter()
        .map(|r| r.map(Done::into_applied))
        .collect())
}

/// The stored first result of `key` used by `scope`: the request's hash,
/// the journal position, and the response (rebuilt from the create's
/// journal entry when stored as `''`).
fn read_key(
    conn: &Connection,
    scope: &str,
    key: &str,
) -> Result<Option<(Hash, u64, FirstResult)>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_KEY)?;
    let mut rows = stmt.query([scope, key])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let seq = row.get::<_, i64>(1)? as u64;
    let response: String = row.get(2)?;
    let first = if response.is_empty() {
        let (Some(entity), Some(entity_id), Some(payload), Some(actor), Some(at)) = (
            text_opt(row, 3)?,
            text_opt(row, 4)?,
            text_opt(row, 5)?,
            text_opt(row, 6)?,
            text_opt(row, 7)?,
        ) else {
            return Err(StoreError::Corrupt(format!(
                "idempotency key of entry {seq}: no such journal entry"
            )));
        };
        FirstResult::Created(Rc::new(created_from_entry(
            entity,
            entity_id,
            payload,
            actor.to_string(),
            at,
            seq,
        )?))
    } else {
        FirstResult::Stored(response)
    };
    Ok(Some((to_hash(row.get(0)?)?, seq, first)))
}

/// What a retried request gets back: a stored first response, or the
/// record a create made, rebuilt from its journal entry.
enum FirstResult {
    Stored(String),
    Created(Rc<Envelope>),
    /// The result of an earlier command of the same batch (its index).
    InBatch(usize),
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
    origin: &Origin<'_>,
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
        actor: origin.actor.to_string(),
        at: batch.now,
        reason: origin.reason.clone(),
        idempotency_key: origin.idempotency.as_ref().map(|i| i.key.clone()),
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
    current: &Current,
    kind: EntityKind,
    id: Uuid,
    if_version: Option<u64>,
) -> Result<(i64, Rc<Envelope>), StoreError> {
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

fn apply_one(
    conn: &Connection,
    head: &mut Head,
    next_rid: &mut i64,
    cmd: &mut Command,
    data_json: Option<&str>,
    current: &mut Current,
    batch: &mut Batch,
) -> Result<Result<Done, StoreError>, StoreError> {
    let now = batch.now;
    let canon = |data: &serde_json::Value| match data_json {
        Some(j) => j.to_string(),
        None => canonical_json(data),
    };
    let origin = Origin {
        actor: &cmd.actor,
        reason: &cmd.reason,
        idempotency: &cmd.idempotency,
    };
    // The command's record is moved into the stored state, not copied: the
    // command is not used again once applied.
    match &mut cmd.change {
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
                        Ok(Done {
                            replayed: true,
                            ..Done::new(existing.last_seq, existing.clone())
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
                &origin,
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
                data: std::mem::take(&mut record.data),
            };
            let index = std::mem::take(&mut record.index);
            let env = stage(batch, current, rid, env, Some(index), Some(json));
            Ok(Ok(Done::new(seq, env)))
        }
        Change::Update {
            kind,
            id,
            if_version,
            sensitivity,
            record,
        } => {
            let (rid, old) = match check_target(current, *kind, *id, *if_version) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let sensitivity = sensitivity.unwrap_or(old.sensitivity);
            if old.data == record.data && old.sensitivity == sensitivity {
                // Nothing changes: report the current state, write nothing.
                return Ok(Ok(Done {
                    replayed: true,
                    ..Done::new(old.last_seq, old)
                }));
            }
            let json = canon(&record.data);
            let payload = state_payload_of(sensitivity, &json);
            let seq = append(
                head,
                batch,
                &origin,
                kind.as_str(),
                *id,
                Some(rid),
                Op::Update,
                payload,
            );
            let env = Envelope {
                id: old.id,
                kind: old.kind,
                version: old.version + 1,
                sensitivity,
                retracted: old.retracted,
                created_at: old.created_at,
                created_by: old.created_by.clone(),
                updated_at: now,
                updated_by: cmd.actor.clone(),
                last_seq: seq,
                data: std::mem::take(&mut record.data),
            };
            let index = std::mem::take(&mut record.index);
            let env = stage(batch, current, rid, env, Some(index), Some(json));
            Ok(Ok(Done::new(seq, env)))
        }
        Change::Retract {
            kind,
            id,
            if_version,
        } => {
            let (rid, old) = match check_target(current, *kind, *id, *if_version) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let mut env = (*old).clone();
            env.version += 1;
            let payload = canonical_json(&serde_json::json!({"version": env.version}));
            let seq = append(
                head,
                batch,
                &origin,
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
            let env = stage(batch, current, rid, env, index, None);
            Ok(Ok(Done::new(seq, env)))
        }
        Change::AuditRead {
            entity,
            entity_id,
            payload,
        } => {
            let seq = append(
                head,
                batch,
                &origin,
                entity,
                *entity_id,
                None,
                Op::Read,
                canonical_json(payload),
            );
            Ok(Ok(Done {
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
            conn.prepare_cached("INSERT INTO assets (name, content_type, body) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET content_type = excluded.content_type, body = excluded.body")?
                .execute(rusqlite::params![&*name, &*content_type, &body[..]])?;
            let payload = canonical_json(&serde_json::json!({
                "name": name,
                "content_type": content_type,
                "bytes": body.len(),
                "sha256": hex::encode(Sha256::digest(&body[..])),
            }));
            let id = Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes());
            let seq = append(head, batch, &origin, "asset", id, None, Op::Update, payload);
            Ok(Ok(Done {
                seq,
                replayed: false,
                record: None,
                created_id: Some(id),
            }))
        }
        Change::Account(change) => Ok(account(conn, head, batch, &origin, change)?.map(Done::from)),
        Change::Atomic(parts) => {
            // Stage the parts on copies; keep them only if every part succeeds.
            let mut t_head = *head;
            let mut t_rid = *next_rid;
            let mut t_current = current.clone();
            let mut t_batch = Batch::new(batch.now);
            t_batch.by_rid = batch.by_rid.clone();
            let mut last = None;
            for part in parts.iter_mut() {
                if !matches!(
                    part,
                    Change::Create { .. } | Change::Update { .. } | Change::Retract { .. }
                ) {
                    return Ok(Err(StoreError::Conflict(
                        "only record changes may be combined atomically".into(),
                    )));
                }
                let mut sub = Command {
                    actor: cmd.actor.clone(),
                    reason: cmd.reason.clone(),
                    idempotency: None,
                    change: std::mem::replace(part, Change::Atomic(Vec::new())),
                };
                let res = apply_one(
                    conn,
                    &mut t_head,
                    &mut t_rid,
                    &mut sub,
                    None,
                    &mut t_current,
                    &mut t_batch,
                );
                *part = sub.change;
                match res? {
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
            Ok(Ok(last.unwrap_or(Done {
                seq: head.seq,
                replayed: true,
                record: None,
                created_id: None,
            })))
        }
    }
}

/// Records `env` as the current state of `rid` for the rest of the batch
/// and queues its row (`data_json`: its data as canonical JSON, when
/// already computed); gives back the shared state for the caller's answer.
fn stage(
    batch: &mut Batch,
    current: &mut Current,
    rid: i64,
    env: Envelope,
    index: Option<IndexFields>,
    data_json: Option<String>,
) -> Rc<Envelope> {
    let env = Rc::new(env);
    current.insert(env.id, (rid, env.clone()));
    if batch
        .by_rid
        .insert(
            rid,
            RecordWrite {
                rid,
                env: env.clone(),
                index,
                data_json,
            },
        )
        .is_none()
    {
        batch.records.push(rid);
    }
    env
}

fn user_id(conn: &Connection, username: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE username = ?1")?
        .query_row([username], |r| r.get(0))
        .optional()?)
}

/// Who asks and why: what each journal entry of a command carries.
struct Origin<'a> {
    actor: &'a str,
    reason: &'a Option<String>,
    idempotency: &'a Option<crate::Idempotency>,
}

fn account(
    conn: &Connection,
    head: &mut Head,
    batch: &mut Batch,
    cmd: &Origin<'_>,
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
            if user_id(conn, username)?.is_some() {
                return Ok(Err(StoreError::Conflict(format!(
                    "user {username} already exists"
                ))));
            }
            let id = Uuid::now_v7();
            conn.prepare_cached("INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(rusqlite::params![
                    id.to_string(),
                    username,
                    role.as_str(),
                    password_hash,
                    now.to_string(),
                ])?;
            let payload = canonical_json(&serde_json::json!({"username": username, "role": role}));
            let seq = append(head, batch, cmd, "user", id, None, Op::Create, payload);
            done(seq, id)
        }
        AccountChange::SetDisabled { username, disabled } => {
            let Some(id) = user_id(conn, username)? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            conn.prepare_cached("UPDATE users SET disabled = ?1 WHERE id = ?2")?
                .execute(rusqlite::params![*disabled as i64, id])?;
            if *disabled {
                conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                    .execute([&id])?;
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
            let Some(uid) = user_id(conn, username)? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            let id = Uuid::now_v7();
            conn.prepare_cached("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(rusqlite::params![
                    id.to_string(),
                    uid,
                    name,
                    &token_hash[..],
                    now.to_string(),
                ])?;
            let payload = canonical_json(&serde_json::json!({"username": username, "name": name}));
            let seq = append(head, batch, cmd, "token", id, None, Op::Create, payload);
            done(seq, id)
        }
        AccountChange::RevokeToken { id } => {
            let n = conn
                .prepare_cached("UPDATE api_tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0")?
                .execute([id.to_string()])?;
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
            let Some(uid) = user_id(conn, username)? else {
                return Ok(Err(StoreError::NotFound(format!("user {username}"))));
            };
            conn.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(rusqlite::params![
                &token_hash[..],
                uid,
                expires_at.as_millisecond()
            ])?;
            let payload = canonical_json(&serde_json::json!({"username": username}));
            let uid = uuid(&uid)?;
            let seq = append(head, batch, cmd, "user", uid, None, Op::Login, payload);
            done(seq, uid)
        }
        AccountChange::EndSession { token_hash } => {
            conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1 OR expires_at < ?2")?
                .execute(rusqlite::params![&token_hash[..], now.as_millisecond()])?;
            Ok(Ok(Applied {
                seq: head.seq,
                replayed: false,
                record: None,
                created_id: None,
            }))
        }
    }
}

/// Writes what a batch gathered: its journal entries, then its record rows
/// (whole rows for creates and updates, the changed columns for retracts),
/// then its idempotency keys.
fn flush(conn: &Connection, batch: Batch) -> Result<(), StoreError> {
    for (e, rid) in &batch.journal {
        insert_entry(conn, e, *rid)?;
    }
    for rid in &batch.records {
        let w = &batch.by_rid[rid];
        let e = &w.env;
        match &w.index {
            Some(index) => {
                let data = match &w.data_json {
                    Some(j) => Cow::Borrowed(j.as_str()),
                    None => Cow::Owned(canonical_json(&e.data)),
                };
                write_record(
                    conn,
                    &RecordRow {
                        rid: w.rid,
                        id: e.id,
                        kind: e.kind,
                        version: e.version,
                        sensitivity: e.sensitivity,
                        retracted: e.retracted,
                        created_at: &e.created_at.to_string(),
                        created_by: &e.created_by,
                        updated_at: &e.updated_at.to_string(),
                        updated_by: &e.updated_by,
                        last_seq: e.last_seq,
                        index,
                        data: &data,
                    },
                )?;
            }
            None => {
                conn.prepare_cached(UPDATE_META)?
                    .execute(rusqlite::params![
                        e.version as i64,
                        e.retracted as i64,
                        e.updated_at.to_string(),
                        e.updated_by,
                        e.last_seq as i64,
                        w.rid,
                    ])?;
            }
        }
    }
    let mut insert_key = conn.prepare_cached(INSERT_KEY)?;
    for (scope, key, hash, seq, response) in &batch.idempotency {
        insert_key.execute(rusqlite::params![
            scope,
            key,
            &hash[..],
            *seq as i64,
            response
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guarantees the writer's connection must keep: durable WAL
    /// commits and no checkpoint inside a commit.
    #[test]
    fn writer_connection_commits_durably_without_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE journal (seq INTEGER PRIMARY KEY, hash BLOB); CREATE TABLE records (rid INTEGER PRIMARY KEY);",
            )
            .unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let w = Writer::open(&path, tx).unwrap();
        let pragma = |name: &str| -> String {
            w.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("synchronous"), "2", "FULL");
        assert_eq!(pragma("wal_autocheckpoint"), "0");
        assert_eq!(pragma("foreign_keys"), "1");
        assert_eq!(w.head, Head::EMPTY);
        assert_eq!(w.next_rid, 1);
    }
}
