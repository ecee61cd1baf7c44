//! The bulk reader behind [`Store::list_raw`](crate::Store::list_raw):
//! exports read millions of records and write each one out as text, so
//! what matters is what a row costs between SQLite and the writer.
//!
//! sqlx hands every value over as an owned copy, through a channel to its
//! worker thread, one message per row; for an export that was most of the
//! CPU. Here a plain `rusqlite` connection (the same `libsqlite3-sys`,
//! hence the same SQLite, as sqlx's) runs on a blocking thread and reads
//! each row's columns where SQLite keeps them, appending id and JSON
//! straight into the page's buffers: one copy per value, no messages.
//! The file is not memory-mapped: a scan of a 30 GB mission would count
//! every page it touched in the process's resident memory, and exports
//! promise flat memory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::{SqlSink, point_of, push_filters, push_page, sens_from, uuid};
use crate::{IndexRow, ListQuery, RawPage, StoreError};

/// A statement and its bound values, built by `push_filters`.
#[derive(Debug, Default)]
pub(super) struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl SqlSink for Sql {
    fn sql(&mut self, text: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.text, "{text}");
        self
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.binds.push(Value::Integer(v));
        self.text.push('?');
        self
    }
    fn real(&mut self, v: f64) -> &mut Self {
        self.binds.push(Value::Real(v));
        self.text.push('?');
        self
    }
    fn text(&mut self, v: String) -> &mut Self {
        self.binds.push(Value::Text(v));
        self.text.push('?');
        self
    }
}

/// Idle read-only connections to one database file, opened on first use
/// (most stores never export) and reused page after page.
#[derive(Debug)]
pub(super) struct BulkReader {
    path: PathBuf,
    /// The file is opened with SQLite's `immutable` (see
    /// `SqliteStore::open_read_only`): no locks, no WAL index.
    immutable: bool,
    idle: Mutex<Vec<Connection>>,
}

/// SQLite's page cache per connection, in KiB: a keyset scan reads each
/// leaf once and needs only the interior pages on the way down, so a
/// small cache loses nothing and keeps memory flat with several
/// connections reading slices side by side.
const CACHE_KIB: i64 = 2 * 1024;
/// Connections kept open between reads (an export reads up to 8 slices
/// at once).
const MAX_IDLE: usize = 16;
/// Pages of 5,000 records of about 1 KB: room for one without regrowing.
const PAGE_BYTES_PER_ROW: usize = 1024;

impl BulkReader {
    pub(super) fn new(path: &Path, immutable: bool) -> BulkReader {
        BulkReader {
            path: path.to_path_buf(),
            immutable,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.idle.lock().map_err(|_| StoreError::Closed)?.pop() {
            return Ok(c);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if self.immutable {
            Connection::open_with_flags(
                format!("file:{}?immutable=1", uri_path(&self.path)),
                flags,
            )?
        } else {
            Connection::open_with_flags(&self.path, flags)?
        };
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        Ok(conn)
    }

    /// One page of `q`, as [`Store::list_raw`](crate::Store::list_raw)
    /// answers it. Blocking: call it from a blocking thread.
    pub(super) fn list_raw(&self, q: &ListQuery) -> Result<RawPage, StoreError> {
        let mut sql = Sql::default();
        sql.sql("SELECT rid, id, sensitivity, data FROM records WHERE ");
        let limit = push_page(&mut sql, q);
        self.read(|conn| read_page(conn, &sql, limit))
    }

    /// [`crate::Store::index_rows`]: every record of `q` as its index
    /// columns, oldest time first.
    pub(super) fn index_rows(&self, q: &ListQuery) -> Result<Vec<IndexRow>, StoreError> {
        let mut sql = Sql::default();
        sql.sql(
            "SELECT id, t_start, category, tags, status, quantity, sensitivity, geometry, refs \
             FROM records WHERE ",
        );
        push_filters(&mut sql, q);
        sql.sql(" ORDER BY t_start, rid");
        self.read(|conn| read_index_rows(conn, &sql))
    }

    /// Runs `f` on an idle connection (or a new one), then keeps the
    /// connection for the next read, up to [`MAX_IDLE`]; beyond that (after
    /// a burst of reads side by side) it is closed. A connection that
    /// failed mid-read is dropped, not reused.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.connect()?;
        let out = f(&conn)?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        Ok(out)
    }
}

fn read_index_rows(conn: &Connection, sql: &Sql) -> Result<Vec<IndexRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(sql.binds.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> Result<Option<&str>, StoreError> {
            r.get_ref(i)?
                .as_str_or_null()
                .map_err(|e| StoreError::Corrupt(format!("reading index rows: {e}")))
        };
        out.push(IndexRow {
            id: uuid(text(0)?.unwrap_or_default())?,
            time_start: r
                .get::<_, Option<i64>>(1)?
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()),
            category: text(2)?.map(str::to_string),
            tags: text(3)?
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            status: text(4)?.map(str::to_string),
            quantity: r.get(5)?,
            sensitivity: sens_from(r.get(6)?),
            point: text(7)?.and_then(point_of),
            refs: text(8)?
                .unwrap_or_default()
                .split_whitespace()
                .map(uuid)
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(out)
}

fn read_page(conn: &Connection, sql: &Sql, limit: usize) -> Result<RawPage, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(sql.binds.iter()))?;
    let mut page = RawPage::with_capacity(limit, limit * PAGE_BYTES_PER_ROW);
    let mut last = None;
    while let Some(row) = rows.next()? {
        if page.len() == limit {
            page.next_cursor = last;
            break;
        }
        let text = |i: usize| -> Result<&str, StoreError> {
            row.get_ref(i)?
                .as_str()
                .map_err(|e| StoreError::Corrupt(format!("reading a page of records: {e}")))
        };
        page.push(text(1)?, sens_from(row.get(2)?), text(3)?);
        last = Some(row.get::<_, i64>(0)?);
    }
    Ok(page)
}

/// `path` for a `file:` URI: `?`, `#` and `%` would end or escape it.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_path_escapes_what_ends_a_uri() {
        assert_eq!(
            uri_path(Path::new("/a b/c?d#e%f.db")),
            "/a b/c%3fd%23e%25f.db"
        );
    }

    /// `.cargo/config.toml` compiles SQLite without the shared page cache
    /// group and memory statistics (ARCHITECTURE.md, "SQLite build"); a
    /// build that lost those flags would contend on two global mutexes
    /// again without any test noticing but this one.
    #[test]
    fn sqlite_is_built_without_global_page_cache_or_memory_statistics() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
