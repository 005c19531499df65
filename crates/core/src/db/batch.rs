//! Several write statements in one round trip.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Values};

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
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}
