//! Several write statements in one round trip, and writes carried to the next one.
//!
//! In a group's straight run on SQLite (see [`crate::db::group_commit`]), a job that declared it
//! ([`crate::db::group_commit::WriteQueue::run_carrying`]) hands its last writes
//! ([`execute_last`]) to the group instead of running them: they go to SQLite in the same call as
//! the next job's first statement ([`query_one_after_carried`]), or on their own before a job
//! that did not declare it and before the commit. A booking is one read and one batch of writes:
//! carried, a group of N bookings takes N + 3 round trips to the writer's thread instead of 2N + 2.
//! Nothing is reordered: the carried writes run before anything the group runs after them, in the
//! same transaction; a write that fails there fails the straight run, which the group then runs
//! again with a savepoint per job, where nothing is carried (each job is answered for its own
//! writes).
use std::cell::{Cell, RefCell};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Values};

tokio::task_local! {
    /// The carry of the group's straight run under way.
    static CARRY: Carry;
}

/// What a group's straight run carries from one job to the next.
#[derive(Default)]
struct Carry {
    /// Writes handed over and not run yet, in order.
    writes: RefCell<Vec<Statement>>,
    /// Whether the job running now may hand over its last writes (it declared that it begins
    /// with [`query_one_after_carried`] or [`flush_carried`] and ends with [`execute_last`]).
    open: Cell<bool>,
}

/// Runs `run` (a group's straight run) with a carry: inside it, the writes of jobs that declared
/// it are handed over (see the module's documentation).
pub(crate) async fn carrying<F: Future>(run: F) -> F::Output {
    CARRY.scope(Carry::default(), run).await
}

/// Whether the job about to run may hand over its last writes (inside [`carrying`]).
pub(crate) fn let_carry(open: bool) {
    let _ = CARRY.try_with(|c| c.open.set(open));
}

/// Runs the writes handed over and not run yet (none outside a group's straight run).
///
/// # Errors
/// The first failing write's error.
pub async fn flush_carried<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let carried = taken();
    if carried.is_empty() { Ok(()) } else { execute_all(db, carried).await }
}

/// The writes handed over and not run yet, taken (none outside [`carrying`]).
fn taken() -> Vec<Statement> {
    CARRY.try_with(|c| std::mem::take(&mut *c.writes.borrow_mut())).unwrap_or_default()
}

/// [`execute_all`] for the last statements of a job: the job runs nothing after them. Inside a
/// group's straight run, from a job that declared it, they are handed over (to run with the
/// group's next statement) and this returns at once; otherwise they run now.
///
/// # Errors
/// The first statement's error (when they run now).
pub async fn execute_last<C: ConnectionTrait>(db: &C, statements: Vec<Statement>) -> Result<(), DbErr> {
    let mut statements = Some(statements);
    if db.get_database_backend() == DbBackend::Sqlite {
        let _ = CARRY.try_with(|c| {
            if c.open.get() {
                c.writes.borrow_mut().extend(statements.take().unwrap_or_default());
            }
        });
    }
    match statements {
        Some(statements) => execute_all(db, statements).await,
        None => Ok(()),
    }
}

/// The first row of query `sql` (placeholders `$1`, `$2`, …, see [`numbered`]), run after the
/// writes handed over and not run yet, in the same call when there are any.
///
/// # Errors
/// A carried write's error, or the query's.
pub async fn query_one_after_carried<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Option<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    let mut carried = taken();
    if carried.is_empty() {
        return db.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await;
    }
    carried.push(numbered(backend, sql, values));
    // The writes return no rows: the rows are the query's.
    Ok(db.query_all_raw(joined(backend, carried)).await?.into_iter().next())
}

/// Runs `statements` (writes whose results are not needed) in order; the first to fail stops the
/// rest and is the error.
///
/// On SQLite they go to the connection's thread as one call (each still runs as its own statement,
/// prepared once per connection for each text): one round trip instead of one each. Their
/// placeholders must be positional `?` (as SeaORM writes them), which SQLite numbers across the
/// statements of one call. On PostgreSQL, whose protocol takes one statement per prepared call,
/// they run one after the other.
///
/// # Errors
/// The first statement's error.
pub async fn execute_all<C: ConnectionTrait>(db: &C, statements: Vec<Statement>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Sqlite || statements.len() < 2 {
        for statement in statements {
            db.execute_raw(statement).await?;
        }
        return Ok(());
    }
    db.execute_raw(joined(backend, statements)).await?;
    Ok(())
}

/// `statements` as one call's text and values (SQLite; positional placeholders).
fn joined(backend: DbBackend, statements: Vec<Statement>) -> Statement {
    let mut sql = String::with_capacity(statements.iter().map(|s| s.sql.len() + 2).sum());
    let mut values = Vec::new();
    for statement in statements {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        sql.push_str(&statement.sql);
        if let Some(Values(v)) = statement.values {
            values.extend(v);
        }
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// A statement written with numbered placeholders (`$1`, `$2`, a number may repeat), as
/// [`execute_all`] can run it with others: on SQLite each `$n` becomes a positional `?` and the
/// values are laid out in the order they are used; on PostgreSQL it stays as it is.
pub fn numbered(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    if backend != DbBackend::Sqlite {
        return Statement::from_sql_and_values(backend, sql, values);
    }
    let mut out = String::with_capacity(sql.len());
    let mut laid = Vec::with_capacity(values.len());
    let mut chars = sql.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        if ch == '$' && chars.peek().is_some_and(|(_, d)| d.is_ascii_digit()) {
            let mut n = 0usize;
            while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                n = n * 10 + d.to_digit(10).map_or(0, |d| d as usize);
                chars.next();
            }
            if let Some(v) = n.checked_sub(1).and_then(|i| values.get(i)) {
                laid.push(v.clone());
            }
            out.push('?');
        } else {
            out.push(ch);
        }
    }
    Statement::from_sql_and_values(backend, out, laid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_positional_on_sqlite_in_the_order_used() {
        let s = numbered(DbBackend::Sqlite, "SELECT $2, $1, $2", vec![1.into(), 2.into()]);
        assert_eq!(s.sql, "SELECT ?, ?, ?");
        assert_eq!(s.values, Some(Values(vec![2.into(), 1.into(), 2.into()])));
        let p = numbered(DbBackend::Postgres, "SELECT $2, $1", vec![1.into(), 2.into()]);
        assert_eq!(p.sql, "SELECT $2, $1");
    }
}
