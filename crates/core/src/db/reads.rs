//! Where requests read: on PostgreSQL the pool; on SQLite a few read-only connections handed out
//! without the pool's round trips.
//!
//! sqlx runs each SQLite connection on a thread of its own, and its pool pings a connection every
//! time one is given back (`PoolConnection::return_to_pool`, with no option to turn it off): a
//! spawned task and one more round trip to that thread, two context switches, for every
//! statement. That cost as much CPU as the statement itself on the list screens. [`Reads`] keeps
//! its SQLite connections in a plain list instead: one is taken, runs its statement and is put
//! back. A request cancelled mid-statement puts its connection back too: the connection's thread
//! finishes or drops that statement before it takes the next one, and the connections only read
//! (`PRAGMA query_only`), so none is ever left inside a transaction.
use std::{sync::Arc, time::Duration};

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
    sqlx::{
        Connection,
        sqlite::{SqliteConnection, SqliteRow},
    },
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

use super::{StatementCounter, inline::Inline, shelf::Shelf};

/// How long a read waits for a connection before it fails (as the pool's `acquire_timeout`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where requests read (see the module's documentation). Cheap to clone.
#[derive(Clone)]
pub enum Reads {
    /// PostgreSQL: the shared pool.
    Pool(DatabaseConnection),
    /// SQLite: read-only connections of this process.
    Sqlite(Arc<SqliteReaders>),
}

/// Read-only SQLite connections, each used by one statement at a time.
pub struct SqliteReaders {
    idle: Shelf<SqliteConnection>,
    /// One permit per connection in `idle`.
    free: Semaphore,
    /// How many connections there are.
    open: usize,
    statements: StatementCounter,
    /// The connections short reads use in the asking thread (none for an in-memory database).
    inline: Option<Inline>,
}

impl Reads {
    /// On SQLite, opens `count` read-only connections to `db`'s file with `db`'s settings; on
    /// PostgreSQL, reads through `db`.
    ///
    /// # Errors
    /// When a connection cannot be opened.
    pub async fn open(db: &DatabaseConnection, count: u32, statements: StatementCounter) -> Result<Self, DbErr> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(Self::Pool(db.clone()));
        }
        let options = (*db.get_sqlite_connection_pool().connect_options()).clone().pragma("query_only", "ON");
        let mut idle = Vec::new();
        for _ in 0..count.max(1) {
            idle.push(
                SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?,
            );
        }
        let (free, open) = (Semaphore::new(idle.len()), idle.len());
        // One per core: a read in the asking thread holds that core.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let inline = Inline::open(options.get_filename(), cores, statements.clone())?;
        Ok(Self::Sqlite(Arc::new(SqliteReaders { idle: Shelf::new(idle), free, open, statements, inline })))
    }

    /// How many statements were answered in the asking thread (always 0 on PostgreSQL).
    pub fn inline_answered(&self) -> u64 {
        match self {
            Self::Sqlite(readers) => readers.inline.as_ref().map_or(0, Inline::answered),
            Self::Pool(_) => 0,
        }
    }

    /// The rows of `stmt`, each decoded by `decode`, read in the asking thread on SQLite when that
    /// is quick (see [`super::inline`]); `None` when they were not (always on PostgreSQL): the
    /// caller then reads them as any other statement.
    ///
    /// # Errors
    /// The statement failed, or a row did not decode.
    pub fn inline<T>(
        &self,
        stmt: &Statement,
        decode: impl FnMut(&rusqlite::Row<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<Vec<T>>, DbErr> {
        match self {
            Self::Sqlite(readers) => match &readers.inline {
                Some(inline) => inline.rows(stmt, decode),
                None => Ok(None),
            },
            Self::Pool(_) => Ok(None),
        }
    }

    /// `(open connections, idle connections)` of the SQLite read connections (for the pool
    /// gauges); `None` on PostgreSQL, whose reads are the pool's.
    pub fn sqlite_stats(&self) -> Option<(u32, u32)> {
        match self {
            Self::Pool(_) => None,
            Self::Sqlite(readers) => {
                // The connections read on in the asking thread ([`super::inline`]) too.
                let (inline_open, inline_idle) = readers.inline.as_ref().map_or((0, 0), Inline::stats);
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                let open = count(readers.open.saturating_add(inline_open));
                Some((open, count(readers.free.available_permits().saturating_add(inline_idle))))
            }
        }
    }
}

impl SqliteReaders {
    /// Runs `stmt` on an idle connection (waiting for one) and returns its rows.
    async fn fetch(&self, stmt: Statement, one: bool) -> Result<Vec<SqliteRow>, DbErr> {
        use sea_orm::sqlx::Executor;

        let closed = || DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed);
        // As long as the pool waits for a connection.
        let _permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.free.acquire())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
            .map_err(|_| closed())?;
        // Taken after the permit and put back before it is released, so a waiter always finds one.
        let mut conn = self.idle.take().ok_or_else(closed)?;
        self.statements.count();
        let Statement { sql, values, .. } = stmt;
        let values = SqlxValues(values.unwrap_or_else(|| sea_orm::Values(Vec::new())));
        let query = sea_orm::sqlx::query_with(sea_orm::sqlx::AssertSqlSafe(sql.as_str()), values);
        let rows = if one {
            Executor::fetch_optional(&mut *conn, query).await.map(|r| r.into_iter().collect())
        } else {
            Executor::fetch_all(&mut *conn, query).await
        };
        rows.map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))
    }
}

fn read_only() -> DbErr {
    DbErr::Custom("a read connection cannot write".to_owned())
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(db) => db.get_database_backend(),
            Self::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_raw(stmt).await,
            Self::Sqlite(_) => Err(read_only()),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_unprepared(sql).await,
            Self::Sqlite(_) => Err(read_only()),
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_one_raw(stmt).await,
            Self::Sqlite(readers) => Ok(readers.fetch(stmt, true).await?.into_iter().next().map(Into::into)),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_all_raw(stmt).await,
            Self::Sqlite(readers) => Ok(readers.fetch(stmt, false).await?.into_iter().map(Into::into).collect()),
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use std::time::Duration;

    use futures_util::future::join_all;

    use super::*;

    async fn reads() -> (tempfile::TempDir, crate::db::Pools) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let pools = crate::db::connect(&url, Some(2)).await.unwrap();
        pools
            .writer
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
            .await
            .unwrap();
        (dir, pools)
    }

    fn sql(s: &str) -> Statement {
        Statement::from_string(DbBackend::Sqlite, s)
    }

    async fn ids(reads: &Reads) -> i64 {
        let row = reads.query_one_raw(sql("SELECT SUM(id) FROM t")).await.unwrap().unwrap();
        row.try_get_by_index(0).unwrap()
    }

    #[tokio::test]
    async fn a_read_connection_refuses_to_write() {
        let (_dir, pools) = reads().await;
        assert!(matches!(pools.reads, Reads::Sqlite(_)));
        let err = pools.reads.query_all_raw(sql("INSERT INTO t VALUES (3) RETURNING id")).await.unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        assert!(pools.reads.execute_unprepared("DELETE FROM t").await.is_err());
        assert_eq!(ids(&pools.reads).await, 3, "nothing was written");
    }

    #[tokio::test]
    async fn more_reads_than_connections_all_answer_and_a_cancelled_one_gives_its_connection_back() {
        let (_dir, pools) = reads().await;
        let before = pools.statements.get();
        let sums = join_all((0..16).map(|_| ids(&pools.reads))).await;
        assert_eq!(sums, vec![3; 16]);
        assert_eq!(pools.statements.get() - before, 16, "every read is counted");
        // Both connections busy with a long count, dropped before it ends.
        let long =
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT COUNT(*) FROM n";
        for _ in 0..2 {
            let cancelled = tokio::time::timeout(Duration::from_millis(20), pools.reads.query_all_raw(sql(long))).await;
            assert!(cancelled.is_err(), "the long read must still be running when it is dropped");
        }
        // The connections came back and answer (after the statements they were running).
        let sums = join_all((0..6).map(|_| ids(&pools.reads))).await;
        assert_eq!(sums, vec![3; 6]);
        // A write committed since is seen by the next read.
        pools.writer.execute_unprepared("INSERT INTO t VALUES (4)").await.unwrap();
        assert_eq!(ids(&pools.reads).await, 7);
    }
}
