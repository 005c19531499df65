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
