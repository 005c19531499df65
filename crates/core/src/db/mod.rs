//! Database connection, migrations and transaction helpers for SQLite and PostgreSQL.
pub mod batch;
pub mod by_position;
pub mod entities;
pub mod group_commit;
pub mod inline;
pub mod people;
pub mod reads;
pub mod shapes;
pub mod shelf;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// Opens the pool for `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite runs in WAL mode with `synchronous=NORMAL`, foreign keys on and a busy timeout, so that
/// readers never wait for the writer and writers queue instead of failing. Statement logging is off:
/// statements carry personal data.
///
/// # Errors
/// When the database cannot be reached or opened.
pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<Pools, DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    let mut opts = ConnectOptions::new(url.to_owned());
    let cores = u32::try_from(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)).unwrap_or(2);
    // SQLite has one writer at a time (a connection of its own, below); readers run on one thread
    // each and never wait for I/O that the OS page cache does not answer, so one per core keeps the
    // cores busy (each costs a thread, its page cache and its prepared statements). PostgreSQL is
    // shared by several replicas, so each stays modest by default.
    let default_max = if is_sqlite { cores.max(2) } else { (cores * 4).clamp(8, 32) };
    let max = max_connections.unwrap_or(default_max);
    opts.max_connections(max)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    // sqlx pings a connection on every checkout by default: a round trip per statement (on SQLite
    // to the connection's thread and back, two context switches). A file has no far end to lose;
    // a PostgreSQL connection is checked only once it has sat idle long enough for a server,
    // proxy or firewall to have dropped it.
    if is_sqlite {
        opts.test_before_acquire(false);
        opts.map_sqlx_sqlite_opts(|o| sqlite_options(o, READ_CACHE_KIB));
    } else {
        opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
    }
    let counter = StatementCounter::default();
    let mut db = Database::connect(opts.clone()).await?;
    counter.attach(&mut db);
    let writer = if is_sqlite {
        // SQLite has one writer at a time. Writers queue for this one connection, in order, inside
        // the process, instead of sleeping in SQLite's busy handler (which backs off for up to
        // 100 ms at a time and so makes the tail latency of writes).
        opts.max_connections(1).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| sqlite_options(o, WRITE_CACHE_KIB));
        let mut writer = Database::connect(opts).await?;
        counter.attach(&mut writer);
        writer
    } else {
        db.clone()
    };
    let reads = reads::Reads::open(&db, max, counter.clone()).await?;
    Ok(Pools { db, writer, reads, statements: counter })
}

/// Page cache of a reading SQLite connection, in KiB (SQLite's default is 2 MiB): the OS caches
/// the file for all of them, and memory per replica stays small. In WAL mode a reader's cache is
/// emptied anyway whenever a write has been committed since.
pub(super) const READ_CACHE_KIB: u32 = 512;

/// Page cache of the SQLite writer, in KiB. A group of bookings dirties a leaf of each of a dozen
/// indexes per booking, scattered over the file. In a reader's 512 KiB (128 pages) a group spilled
/// dirty pages to the WAL before its commit, wrote them there again at the commit and read them
/// back to checksum them, and the writer read the pages it had evicted again for the next group.
/// This holds what a group changes; SQLite fills it only as far as pages are used (BENCHMARKS.md,
/// "The SQLite writer's I/O").
const WRITE_CACHE_KIB: u32 = 4096;

/// The options of every SQLite connection, with a page cache of `cache_kib` KiB.
fn sqlite_options(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
    cache_kib: u32,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("cache_size", format!("-{cache_kib}"))
        .create_if_missing(true)
}

/// Longest `serve` or `migrate` waits for the database at start before it gives up with a message
/// naming it (the pool itself waits up to 10 s for a connection later on).
const OPEN_TIMEOUT: Duration = Duration::from_secs(8);

/// How long `open` waits before opening again after SQLite answered BUSY.
const OPEN_RETRY: Duration = Duration::from_millis(50);

/// SQLite's BUSY, primary or extended (`SQLITE_BUSY_RECOVERY`, `SQLITE_BUSY_SNAPSHOT`).
fn is_sqlite_busy(e: &DbErr) -> bool {
    matches!(crate::error::db_error_code(e).as_deref(), Some("5" | "261" | "517"))
}

/// Opens the pools for `url` and migrates the database up: what `serve` and `migrate` do first.
///
/// # Errors
/// The database cannot be opened or reached within a few seconds, or a migration fails; the
/// message names the database ([`describe_target`]) and the cause, never a password or SQL.
pub async fn open(url: &str, max_connections: Option<u32>) -> anyhow::Result<Pools> {
    let target = describe_target(url);
    let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
    let pools = loop {
        match tokio::time::timeout_at(deadline, connect(url, max_connections)).await {
            Ok(Ok(pools)) => break pools,
            // Another process has SQLite's file to itself for a moment (its last connection
            // checkpointing the WAL away as it exits, or a recovery), and SQLite may answer a
            // connection opening then with BUSY without waiting in the busy handler: open again.
            Ok(Err(e)) if is_sqlite_busy(&e) && tokio::time::Instant::now() + OPEN_RETRY < deadline => {
                tracing::debug!("the database was busy while opening; trying again");
                tokio::time::sleep(OPEN_RETRY).await;
            }
            Ok(Err(e)) => anyhow::bail!("cannot open {target}: {}", crate::error::describe_db_err(&e)),
            Err(_) => anyhow::bail!("cannot open {target}: no answer within {} s", OPEN_TIMEOUT.as_secs()),
        }
    };
    migrate(&pools.writer)
        .await
        .map_err(|e| anyhow::anyhow!("migrating {target} failed: {}", crate::error::describe_db_err(&e)))?;
    Ok(pools)
}

/// What a database URL names, for messages: the SQLite file's absolute path, or the PostgreSQL
/// host, port and database. Never the user's password (nor the rest of the URL).
pub fn describe_target(url: &str) -> String {
    use std::str::FromStr;

    use sea_orm::sqlx::{postgres::PgConnectOptions, sqlite::SqliteConnectOptions};
    if url.starts_with("sqlite:") {
        return match SqliteConnectOptions::from_str(url) {
            Ok(o) => {
                let file = o.get_filename();
                format!(
                    "the SQLite database {}",
                    std::path::absolute(file).unwrap_or_else(|_| file.to_owned()).display()
                )
            }
            Err(_) => "the SQLite database of DATABASE_URL (a malformed URL)".to_owned(),
        };
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return match PgConnectOptions::from_str(url) {
            Ok(o) => format!(
                "the PostgreSQL database {} at {}:{}",
                o.get_database().unwrap_or("(the user's default)"),
                o.get_host(),
                o.get_port()
            ),
            Err(_) => "the PostgreSQL database of DATABASE_URL (a malformed URL)".to_owned(),
        };
    }
    "the database of DATABASE_URL (which must start with sqlite: or postgres:)".to_owned()
}

/// The connections of the service.
pub struct Pools {
    /// For reads (and everything on PostgreSQL).
    pub db: DatabaseConnection,
    /// For write transactions: on SQLite a single connection, on PostgreSQL the same pool.
    pub writer: DatabaseConnection,
    /// For requests' reads: on SQLite connections of their own (see [`reads`]), on PostgreSQL the
    /// same pool.
    pub reads: reads::Reads,
    pub statements: StatementCounter,
}

/// How many SQL statements the pool has run: how tests and the benchmark prove that a page of N
/// items costs a constant number of queries.
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

tokio::task_local! {
    /// Set while background work runs: its statements are not the requests'.
    static BACKGROUND: ();
}

/// Runs `work` (background work: the outbox sender, housekeeping) with its statements left out of
/// the [`StatementCounter`], which measures what requests cost.
pub async fn uncounted<F: Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

impl StatementCounter {
    fn attach(&self, db: &mut DatabaseConnection) {
        let c = self.0.clone();
        db.set_metric_callback(move |_| Self::count_in(&c));
    }

    /// Counts one statement run (unless by background work).
    pub fn count(&self) {
        Self::count_in(&self.0);
    }

    fn count_in(n: &AtomicU64) {
        if BACKGROUND.try_with(|()| ()).is_err() {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Key of the PostgreSQL advisory lock that serializes migrations across processes.
const MIGRATION_LOCK: i64 = 0x6379_6265_726d_6564; // "cybermed"

/// Applies every pending migration.
///
/// Any number of processes may call this at once against one PostgreSQL database: they take turns
/// under a session-level advisory lock held on a connection of its own (outside the pool, so a
/// pool of one connection still migrates), and each finds the work of those before it done.
/// On SQLite the processes sharing a file take turns under an exclusive lock on a file beside it
/// (`<database>-migrate.lock`).
///
/// # Errors
/// When a migration fails, or the lock cannot be taken.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        let path = db.get_sqlite_connection_pool().connect_options().get_filename().to_owned();
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Migrator::up(db, None).await;
        }
        let mut lock_path = path.into_os_string();
        lock_path.push("-migrate.lock");
        let lock = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|_| DbErr::Custom("migration lock task failed".to_owned()))?
        .map_err(|e| DbErr::Custom(format!("cannot lock the database for migration: {}", e.kind())))?;
        let migrated = Migrator::up(db, None).await;
        drop(lock); // closing the file releases the lock
        return migrated;
    }
    use sea_orm::sqlx::{Connection, postgres::PgConnection};
    let to_db_err = |e: sea_orm::sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()));
    let options = db.get_postgres_connection_pool().connect_options();
    let mut lock = PgConnection::connect_with(&options).await.map_err(to_db_err)?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut lock)
        .await
        .map_err(to_db_err)?;
    let migrated = Migrator::up(db, None).await;
    // Closing the connection releases the lock even if the unlock fails.
    let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut lock).await;
    let _ = lock.close().await;
    migrated
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`, taking the write lock
/// up front: a deferred transaction that reads and then writes fails at once with "database is
/// locked" when another writer got in between, whatever the busy timeout.
///
/// # Errors
/// When the database refuses to begin.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: sqlite.then_some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// The key of a person's transaction-level advisory lock on PostgreSQL: what serializes the writes
/// that could clash over one doctor's or patient's calendar (bookings, moves, holds) with each
/// other and with the changes of that person's standing that end their holds.
pub fn person_lock_key(id: uuid::Uuid) -> i64 {
    let (hi, lo) = id.as_u64_pair();
    i64::from_ne_bytes((hi ^ lo).to_ne_bytes())
}

/// On PostgreSQL, takes `person`'s advisory lock ([`person_lock_key`]) until `txn` ends: a booking
/// or hold of theirs under way finishes first, and one started later waits and then reads what
/// `txn` committed. SQLite has one writer: nothing to do.
///
/// # Errors
/// When the database refuses.
pub async fn lock_person(txn: &DatabaseTransaction, person: uuid::Uuid) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let sql = "SELECT pg_advisory_xact_lock($1)";
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [person_lock_key(person).into()])).await?;
    Ok(())
}

tokio::task_local! {
    /// The id of the HTTP request being served (also its `x-request-id` header and log span): every audit
    /// row a request writes records it, through group commit too.
    pub static REQUEST_ID: String;
}

/// The current request's id, or `system` outside a request (command line, background work).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "system".to_owned())
}
