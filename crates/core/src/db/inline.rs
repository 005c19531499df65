//! Short reads on SQLite in the request's own thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: a statement is handed to that thread
//! and its rows handed back, two wake-ups of a sleeping thread. On this kind of machine those cost
//! more CPU than a page of appointments takes to read (see BENCHMARKS.md, "The floor"). SQLite
//! itself is a library: a read of a page that the OS has cached takes tens of microseconds, less
//! than the hand-over. So the hottest read (a page of appointments, `domain::appointments::listing`)
//! runs on a connection of [`Inline`], in the thread that asks, and its rows are decoded in place
//! ([`super::by_position::Row`]).
//!
//! A read never holds its thread long: SQLite's progress handler interrupts it once it has run
//! [`BUDGET`] steps of SQLite's virtual machine (about a millisecond here; counted in steps, not
//! time, so that a profiler's slowed-down run takes the same path), and it never waits for a lock
//! (no busy timeout). Then, as when no connection is
//! idle or a value cannot be bound here, [`Inline::rows`] answers `None` and the caller reads on
//! the usual connections ([`super::reads::Reads`]), on their threads. The connections are opened
//! read-only.
use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use chrono::SecondsFormat;
use rusqlite::{OpenFlags, ffi::ErrorCode, types::Value as Lite};
use sea_orm::{DbErr, RuntimeErr, Statement, Value};

use super::{StatementCounter, shelf::Shelf};

/// Most steps of SQLite's virtual machine a read runs in the asking thread before it is
/// interrupted and read elsewhere: about a millisecond on this machine (a page of 20 appointments
/// with its total takes a few thousand).
pub const BUDGET: u32 = 100_000;

/// Steps between two calls of the progress handler.
const STEPS: u32 = 1_000;

/// Read-only SQLite connections used in the asking thread, one statement at a time each.
pub struct Inline {
    idle: Shelf<rusqlite::Connection>,
    /// How many were opened.
    open: usize,
    statements: StatementCounter,
    /// Statements answered here (tests read it: a page that silently went the usual way would
    /// still be right, only slower).
    answered: AtomicU64,
}

impl Inline {
    /// Opens `count` read-only connections to the SQLite file at `path`; `None` when `path` is not
    /// a file (an in-memory database: a connection of its own would be another database).
    ///
    /// # Errors
    /// When a connection cannot be opened.
    pub fn open(path: &Path, count: usize, statements: StatementCounter) -> Result<Option<Self>, DbErr> {
        /// As long as the pools' connections wait for a lock (`db::sqlite_options`).
        const OPEN_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
        if !path.is_file() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| to_db_err(&e))?;
            // The pragma reads the schema, under a shared lock that another process may keep from
            // it for a moment (a migration, or the last connection of one that exits
            // checkpointing the WAL away): wait for it as the pools do.
            conn.busy_timeout(OPEN_BUSY_TIMEOUT).map_err(|e| to_db_err(&e))?;
            // As the other reading connections (see `db::connect`).
            conn.pragma_update(None, "cache_size", -i64::from(super::READ_CACHE_KIB)).map_err(|e| to_db_err(&e))?;
            // From now on never wait for a lock: read elsewhere instead.
            conn.busy_timeout(Duration::ZERO).map_err(|e| to_db_err(&e))?;
            idle.push(conn);
        }
        Ok(Some(Self { open: idle.len(), idle: Shelf::new(idle), statements, answered: AtomicU64::new(0) }))
    }

    /// `(open, idle)` connections, for the pool gauges.
    pub fn stats(&self) -> (usize, usize) {
        (self.open, self.idle.idle_count())
    }

    /// How many statements were answered here.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// The rows of `stmt`, each decoded by `decode`, read in this thread. `None` when it was not
    /// read here: no connection idle, a value this path does not bind, a lock, or past
    /// [`BUDGET`]; the caller then reads it the usual way.
    ///
    /// # Errors
    /// The statement failed, or a row did not decode.
    pub fn rows<T>(
        &self,
        stmt: &Statement,
        mut decode: impl FnMut(&rusqlite::Row<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<Vec<T>>, DbErr> {
        let values = stmt.values.as_ref().map_or(&[][..], |v| v.0.as_slice());
        let Some(params) = values.iter().map(bind).collect::<Option<Vec<Lite>>>() else { return Ok(None) };
        let Some(conn) = self.idle.take() else { return Ok(None) };
        let mut calls_left = BUDGET / STEPS;
        let interrupt = move || {
            calls_left = calls_left.saturating_sub(1);
            calls_left == 0
        };
        conn.progress_handler(STEPS.cast_signed(), Some(interrupt)).map_err(|e| to_db_err(&e))?;
        let read = (|| {
            let mut prepared = conn.prepare_cached(&stmt.sql)?;
            let mut rows = prepared.query(rusqlite::params_from_iter(params))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(decode(row));
            }
            Ok::<_, rusqlite::Error>(out)
        })();
        match read {
            Ok(rows) => {
                self.statements.count();
                self.answered.fetch_add(1, Ordering::Relaxed);
                rows.into_iter().collect::<Result<Vec<T>, DbErr>>().map(Some)
            }
            Err(e)
                if matches!(e.sqlite_error_code(), Some(ErrorCode::OperationInterrupted | ErrorCode::DatabaseBusy)) =>
            {
                Ok(None)
            }
            Err(e) => Err(to_db_err(&e)),
        }
    }
}

/// A value as sqlx binds it on SQLite (`sea_query_sqlx`), so that comparisons with what sqlx
/// wrote hold; `None` for a kind this path does not bind.
fn bind(v: &Value) -> Option<Lite> {
    fn int(n: Option<impl Into<i64>>) -> Lite {
        n.map_or(Lite::Null, |n| Lite::Integer(n.into()))
    }
    Some(match v {
        Value::Bool(b) => int(*b),
        Value::TinyInt(n) => int(*n),
        Value::SmallInt(n) => int(*n),
        Value::Int(n) => int(*n),
        Value::BigInt(n) => int(*n),
        Value::TinyUnsigned(n) => int(*n),
        Value::SmallUnsigned(n) => int(*n),
        Value::Unsigned(n) => int(*n),
        Value::BigUnsigned(n) => match n {
            None => Lite::Null,
            Some(n) => Lite::Integer(i64::try_from(*n).ok()?),
        },
        Value::String(s) => s.clone().map_or(Lite::Null, Lite::Text),
        Value::Enum(e) => match e {
            sea_orm::sea_query::OptionEnum::Some(e) => Lite::Text(e.value.to_string()),
            sea_orm::sea_query::OptionEnum::None(_) => Lite::Null,
        },
        Value::Uuid(u) => u.map_or(Lite::Null, |u| Lite::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeUtc(t) => {
            t.map_or(Lite::Null, |t| Lite::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        _ => return None,
    })
}

/// A failure of this path, without the statement or its values.
fn to_db_err(e: &rusqlite::Error) -> DbErr {
    let code = e.sqlite_error_code().map_or_else(|| "not SQLite's".to_owned(), |c| format!("{c:?}"));
    DbErr::Query(RuntimeErr::Internal(format!("an inline SQLite read failed ({code})")))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend};
    use uuid::Uuid;

    use super::*;
    use crate::db::{Pools, by_position::Row, entities::appointment::AppointmentStatus};

    async fn pools() -> (tempfile::TempDir, Pools) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("i.db").display());
        let pools = crate::db::connect(&url, Some(2)).await.unwrap();
        pools
            .writer
            .execute_unprepared("CREATE TABLE t (id BLOB PRIMARY KEY, at TEXT NOT NULL, status TEXT NOT NULL, n INTEGER, ok INTEGER NOT NULL)")
            .await
            .unwrap();
        (dir, pools)
    }

    fn stmt(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
    }

    type Read = (Uuid, DateTime<Utc>, AppointmentStatus, Option<i32>, bool);

    fn read(pools: &Pools, s: &Statement) -> Result<Option<Vec<Read>>, DbErr> {
        pools.reads.inline(s, |r| Ok((r.read(0)?, r.read(1)?, r.read(2)?, r.read(3)?, r.read(4)?)))
    }

    #[tokio::test]
    async fn what_sqlx_wrote_is_found_by_its_values_and_decoded_in_the_asking_thread() {
        let (_dir, pools) = pools().await;
        let (id, at) = (Uuid::now_v7(), Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 0).unwrap());
        let status = AppointmentStatus::Confirmed.to_value();
        let insert = "INSERT INTO t VALUES (?, ?, ?, ?, ?)";
        let values = vec![id.into(), at.into(), status.clone().into(), Option::<i32>::None.into(), true.into()];
        pools.writer.execute_raw(stmt(insert, values)).await.unwrap();

        let (before, answered) = (pools.statements.get(), pools.reads.inline_answered());
        let find = stmt(
            "SELECT id, at, status, n, ok FROM t WHERE id = ? AND at = ? AND status = ? AND ok = ? AND ? > 1",
            vec![id.into(), at.into(), status.into(), true.into(), 2_u64.into()],
        );
        let rows = read(&pools, &find).unwrap().expect("read in this thread");
        assert_eq!(rows, [(id, at, AppointmentStatus::Confirmed, None, true)]);
        assert_eq!(pools.statements.get() - before, 1, "counted as any statement");
        assert_eq!(pools.reads.inline_answered() - answered, 1);

        // A value this path does not bind: the caller reads it the usual way.
        let float = stmt("SELECT id, at, status, n, ok FROM t WHERE ? > 0", vec![1.5_f64.into()]);
        assert!(read(&pools, &float).unwrap().is_none());
        // Read-only, and a row of another shape is an error, not a wrong value.
        assert!(read(&pools, &stmt("DELETE FROM t RETURNING id, at, status, n, ok", vec![])).is_err());
        assert!(read(&pools, &stmt("SELECT at, id, status, n, ok FROM t", vec![])).is_err());
    }

    #[tokio::test]
    async fn a_read_past_its_budget_is_left_to_the_read_connections_and_its_connection_comes_back() {
        let (_dir, pools) = pools().await;
        let long = stmt(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) SELECT COUNT(*) FROM n",
            vec![],
        );
        let started = std::time::Instant::now();
        let counted = pools.reads.inline(&long, |r| r.read::<i64>(0)).unwrap();
        assert!(counted.is_none(), "interrupted");
        assert!(started.elapsed() < Duration::from_millis(50), "held the thread for {:?}", started.elapsed());
        // Every connection is back and answers.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        for _ in 0..cores + 1 {
            let one = pools.reads.inline(&stmt("SELECT 1", vec![]), |r| r.read::<i64>(0)).unwrap();
            assert_eq!(one, Some(vec![1]));
        }
    }
}
