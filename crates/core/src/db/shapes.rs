//! SQL built once per shape of a statement, then reused with each request's values.
//!
//! sea-query builds a statement afresh on every call: the column list, the condition tree and
//! the text. On the list screens that was a fifth of a request's instructions, for text that is
//! the same for every request of one shape (the viewer's role, which filters are set, a cursor or
//! none). [`ShapeCache`] builds each shape twice, with two sets of placeholder values
//! ("sentinels") in place of the request's, and keeps the text with, for every bound value,
//! which of the request's values goes there (or a constant that both builds bound alike). A
//! shape whose builds disagree (a value written into the text instead of bound, a constant
//! equal to a sentinel) is not kept: it is built every time, as before. In debug builds, every
//! statement made from a kept shape is checked against a fresh build, so the whole test suite
//! checks the cache.
use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

use sea_orm::{DbBackend, Statement, Value, Values};

/// Statements of one kind, by shape `K` (which must include the backend).
pub struct ShapeCache<K> {
    shapes: Mutex<HashMap<K, Option<Arc<Shape>>>>,
}

/// A statement's text, and where each of its bound values comes from.
#[derive(PartialEq)]
struct Shape {
    sql: String,
    backend: DbBackend,
    slots: Vec<Slot>,
}

#[derive(PartialEq)]
enum Slot {
    /// The request's value at this index.
    Param(usize),
    /// The same value in every statement of the shape.
    Const(Value),
}

impl<K> Default for ShapeCache<K> {
    fn default() -> Self {
        Self { shapes: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq> ShapeCache<K> {
    /// The statement for `args`, of shape `key`: `build(args)`, from the kept text when it could
    /// be kept. `params(a)` lists the values `build(a)` may bind, in any fixed order;
    /// `sentinel(0)` and `sentinel(1)` are arguments of the same shape whose values are all
    /// distinct from one another and from the other sentinel's.
    pub fn statement<A>(
        &self,
        key: K,
        args: &A,
        params: impl Fn(&A) -> Vec<Value>,
        sentinel: impl Fn(u8) -> A,
        build: impl Fn(&A) -> Statement,
    ) -> Statement {
        let kept = self.shapes.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let shape = match kept {
            Some(shape) => shape,
            None => {
                let shape = learn(&params, &sentinel, &build).map(Arc::new);
                self.shapes.lock().unwrap_or_else(PoisonError::into_inner).insert(key, shape.clone());
                shape
            }
        };
        let Some(shape) = shape else { return build(args) };
        let stmt = shape.fill(&params(args));
        debug_assert_eq!(stmt, build(args), "a statement made from its kept shape differs from a fresh build");
        stmt
    }

    /// Whether the text of shape `key` is kept (tests).
    pub fn is_kept(&self, key: &K) -> bool {
        self.shapes.lock().unwrap_or_else(PoisonError::into_inner).get(key).is_some_and(Option::is_some)
    }
}

/// The shape the two sentinel builds agree on, if they do.
fn learn<A>(
    params: &impl Fn(&A) -> Vec<Value>,
    sentinel: &impl Fn(u8) -> A,
    build: &impl Fn(&A) -> Statement,
) -> Option<Shape> {
    let [first, second] = [0, 1].map(|variant| {
        let args = sentinel(variant);
        Shape::of(build(&args), &params(&args))
    });
    if first.is_some() && first == second { first } else { None }
}

impl Shape {
    /// Where each of `stmt`'s values comes from among `params`; `None` when a value is found
    /// at two places of `params`. (A param written into the text instead of bound makes the two
    /// sentinel builds' texts differ.)
    fn of(stmt: Statement, params: &[Value]) -> Option<Self> {
        let values = stmt.values.map(|v| v.0).unwrap_or_default();
        let mut slots = Vec::with_capacity(values.len());
        for value in values {
            let mut at = params.iter().enumerate().filter(|(_, p)| **p == value).map(|(i, _)| i);
            slots.push(match (at.next(), at.next()) {
                (None, _) => Slot::Const(value),
                (Some(i), None) => Slot::Param(i),
                (Some(_), Some(_)) => return None,
            });
        }
        Some(Self { sql: stmt.sql, backend: stmt.db_backend, slots })
    }

    /// The statement with `params` in their places.
    fn fill(&self, params: &[Value]) -> Statement {
        let values = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Param(i) => params[*i].clone(),
                Slot::Const(v) => v.clone(),
            })
            .collect();
        Statement { sql: self.sql.clone(), values: Some(Values(values)), db_backend: self.backend }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SqliteQueryBuilder};

    use super::*;

    /// `SELECT … WHERE a = ? AND kind = 'x'-or-bound [AND b > ?] LIMIT ?`.
    fn build((a, b, limit): &(i64, Option<i64>, u64)) -> Statement {
        let mut q = Query::select();
        q.column(Alias::new("a")).from(Alias::new("t")).and_where(Expr::col(Alias::new("a")).eq(*a));
        q.and_where(Expr::col(Alias::new("kind")).eq("fixed"));
        if let Some(b) = b {
            q.and_where(Expr::col(Alias::new("b")).gt(*b));
        }
        q.limit(*limit);
        let (sql, values) = q.build(SqliteQueryBuilder);
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
    }

    fn params((a, b, limit): &(i64, Option<i64>, u64)) -> Vec<Value> {
        let mut p = vec![Value::from(*a), Value::from(*limit)];
        p.extend(b.map(Value::from));
        p
    }

    #[test]
    fn a_kept_shape_gives_the_statement_a_fresh_build_gives() {
        let cache = ShapeCache::default();
        for args in [(7, Some(3), 21), (8, Some(4), 11), (9, None, 2), (7, Some(3), 21)] {
            let sentinel = |v: u8| (1_000 + i64::from(v), args.1.map(|_| 2_000 + i64::from(v)), 3_000 + u64::from(v));
            let stmt = cache.statement(args.1.is_some(), &args, params, sentinel, build);
            assert_eq!(stmt, build(&args));
        }
        let shapes = cache.shapes.lock().unwrap();
        assert_eq!(shapes.len(), 2);
        let kept = shapes[&true].as_ref().unwrap();
        assert!(kept.slots.contains(&Slot::Const(Value::from("fixed"))), "a constant bound alike in both builds");
    }

    #[test]
    fn a_shape_whose_builds_disagree_is_not_kept() {
        let cache = ShapeCache::default();
        // `b`'s sentinel equal to `a`'s: where each goes cannot be told apart.
        let sentinel = |v: u8| (1_000 + i64::from(v), Some(1_000 + i64::from(v)), 3_000);
        let args = (5, Some(6), 10);
        assert_eq!(cache.statement((), &args, params, sentinel, build), build(&args));
        assert!(cache.shapes.lock().unwrap()[&()].is_none());
        // A sentinel equal to the constant in one build only: the builds disagree.
        let cache = ShapeCache::default();
        let params_with_kind = |args: &(i64, Option<i64>, u64)| {
            let mut p = params(args);
            p.push(Value::from(if args.0 == 1_000 { "fixed" } else { "other" }));
            p
        };
        let sentinel = |v: u8| (1_000 + i64::from(v), None, 3_000 + u64::from(v));
        assert_eq!(cache.statement((), &(5, None, 10), params_with_kind, sentinel, build), build(&(5, None, 10)));
        assert!(cache.shapes.lock().unwrap()[&()].is_none());
        // A value written into the text: the builds' texts differ.
        let cache = ShapeCache::default();
        let inlined = |(a, _, _): &(i64, Option<i64>, u64)| {
            Statement::from_string(DbBackend::Sqlite, format!("SELECT a FROM t WHERE a = {a}"))
        };
        let sentinel = |v: u8| (1_000 + i64::from(v), None, 3_000);
        assert_eq!(cache.statement((), &(5, None, 10), params, sentinel, inlined), inlined(&(5, None, 10)));
        assert!(cache.shapes.lock().unwrap()[&()].is_none());
    }
}
