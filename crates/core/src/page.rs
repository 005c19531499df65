//! Keyset pages: the page size every list accepts, the one cursor codec, and [`Keyset`], the one
//! way a list reads a page after a cursor. Shared by every front door (GraphQL's connections,
//! FHIR's `next` links), so that a cursor means one thing everywhere.
use base64::Engine;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A list's page size when `first` is not given.
pub const DEFAULT_FIRST: i32 = 20;
/// The largest page any list serves.
pub const MAX_FIRST: i32 = 100;

/// `first` with its default, checked to be 0..=100.
///
/// # Errors
/// `BAD_USER_INPUT` on field `first`.
pub fn page_size(first: Option<i32>) -> AppResult<u64> {
    let first = first.unwrap_or(DEFAULT_FIRST);
    if !(0..=MAX_FIRST).contains(&first) {
        return Err(AppError::bad_input("first", format!("first must be between 0 and {MAX_FIRST}")));
    }
    Ok(u64::try_from(first).unwrap_or(0))
}

/// The cursor of a position in a list: its sort key, opaque to clients (the key's JSON, base64url
/// without padding: the format of async-graphql's `OpaqueCursor`, which earlier cursors were made
/// with). Every list encodes its keys this way.
pub fn encode_cursor<K: Serialize>(key: K) -> String {
    let json = serde_json::to_vec(&key).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The sort key inside a cursor.
///
/// # Errors
/// `BAD_USER_INPUT` on field `after` for a cursor this server did not make.
pub fn decode_cursor<K: DeserializeOwned>(cursor: Option<&str>) -> AppResult<Option<K>> {
    let invalid = || AppError::bad_input("after", "Invalid cursor");
    cursor
        .map(|c| {
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| invalid())?;
            serde_json::from_slice(&json).map_err(|_| invalid())
        })
        .transpose()
}

/// A list's sort key, as a cursor holds it (its JSON is the cursor's: see [`encode_cursor`]):
/// its values in the order of its [`Keyset`]'s columns.
pub trait PageKey: Serialize + DeserializeOwned {
    /// The key's values, most significant first, as the keyset's columns are.
    fn values(&self) -> Vec<Value>;
}

/// A list ordered by its id alone (a UUIDv7: time-ordered); the cursor is the id's JSON string.
impl PageKey for Uuid {
    fn values(&self) -> Vec<Value> {
        vec![(*self).into()]
    }
}

/// Which way a list runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest key first.
    Ascending,
    /// Largest key first.
    Descending,
}

/// How a list of `E` is paged: the columns of its sort key (most significant first; the last one
/// unique, so that ties are broken by it: an id), the direction they all run in, and a row's key.
///
/// A page is the rows after the cursor's key in that order, `ORDER BY` those columns, with
/// `LIMIT` one more than the page size to learn whether a next page exists: the shape an index on
/// the key's columns (after the filter's equalities) serves in order, without sorting.
pub struct Keyset<E: EntityTrait, K> {
    columns: &'static [E::Column],
    direction: Direction,
    key: fn(&E::Model) -> K,
}

impl<E: EntityTrait, K: PageKey> Keyset<E, K> {
    /// Smallest key first.
    pub const fn ascending(columns: &'static [E::Column], key: fn(&E::Model) -> K) -> Self {
        Self { columns, direction: Direction::Ascending, key }
    }

    /// Largest key first.
    pub const fn descending(columns: &'static [E::Column], key: fn(&E::Model) -> K) -> Self {
        Self { columns, direction: Direction::Descending, key }
    }

    /// The direction the list runs in.
    pub const fn direction(&self) -> Direction {
        self.direction
    }

    /// The rows that come after `key` in this order: for columns `(a, id)` ascending,
    /// `a > x OR (a = x AND id > y)` (`<` descending), nested the same way for more columns.
    pub fn after(&self, key: &K) -> Condition {
        let values = key.values();
        debug_assert_eq!(values.len(), self.columns.len(), "a key has one value per column of its keyset");
        let past = |column: &E::Column, value: Value| match self.direction {
            Direction::Ascending => column.gt(value),
            Direction::Descending => column.lt(value),
        };
        let mut pairs = self.columns.iter().zip(values).rev();
        let Some((last, value)) = pairs.next() else { return Condition::all() };
        let mut cond = Condition::all().add(past(last, value));
        for (column, value) in pairs {
            cond =
                Condition::any().add(past(column, value.clone())).add(Condition::all().add(column.eq(value)).add(cond));
        }
        cond
    }

    /// `select` narrowed to the rows after `after` (all without a cursor), in this order, at most
    /// `limit + 1` of them (the one more tells [`Keyset::page`] whether a next page exists).
    pub fn select(&self, mut select: Select<E>, after: Option<&K>, limit: u64) -> Select<E> {
        if let Some(key) = after {
            select = select.filter(self.after(key));
        }
        let order = match self.direction {
            Direction::Ascending => Order::Asc,
            Direction::Descending => Order::Desc,
        };
        for column in self.columns {
            select = select.order_by(*column, order.clone());
        }
        select.limit(limit.saturating_add(1))
    }

    /// The page of `rows`, as read with [`Keyset::select`] (one more than `limit` when a next page
    /// exists), after a cursor or not.
    pub fn page(&self, rows: Vec<E::Model>, limit: u64, after_a_cursor: bool) -> KeysetPage<K, E::Model> {
        KeysetPage::new(rows, limit, after_a_cursor, self.key)
    }

    /// Reads one page of `select`'s rows after `after`, of at most `limit` rows.
    ///
    /// # Errors
    /// Internal only.
    pub async fn fetch<C: ConnectionTrait>(
        &self,
        db: &C,
        select: Select<E>,
        after: Option<K>,
        limit: u64,
    ) -> AppResult<KeysetPage<K, E::Model>> {
        let rows = self.select(select, after.as_ref(), limit).all(db).await?;
        Ok(self.page(rows, limit, after.is_some()))
    }
}

/// One page of a list: its rows in order, each with its key (a cursor's content), and whether
/// pages come before and after it.
#[derive(Debug)]
pub struct KeysetPage<K, R> {
    /// The rows, each with its key.
    pub items: Vec<(K, R)>,
    /// Whether the page was read after a cursor (Relay's `hasPreviousPage` of a forward page).
    pub has_previous: bool,
    /// Whether more rows follow the page's last.
    pub has_next: bool,
}

impl<K, R> KeysetPage<K, R> {
    /// The page of `rows` (one more than `limit` if there is a next page), after a cursor or not.
    pub fn new(mut rows: Vec<R>, limit: u64, after_a_cursor: bool, key: impl Fn(&R) -> K) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_next = rows.len() > limit;
        rows.truncate(limit);
        let items = rows.into_iter().map(|row| (key(&row), row)).collect();
        Self { items, has_previous: after_a_cursor, has_next }
    }

    /// A page of nothing, and nothing after it.
    pub fn empty(after_a_cursor: bool) -> Self {
        Self { items: Vec::new(), has_previous: after_a_cursor, has_next: false }
    }

    /// Whether the page holds no row.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The rows, in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &R> {
        self.items.iter().map(|(_, row)| row)
    }

    /// The last row's key: the cursor of the next page.
    pub fn last_key(&self) -> Option<&K> {
        self.items.last().map(|(key, _)| key)
    }

    /// The same page with each row turned into something else (keys and flags kept).
    pub fn map<N>(self, mut f: impl FnMut(R) -> N) -> KeysetPage<K, N> {
        KeysetPage {
            items: self.items.into_iter().map(|(key, row)| (key, f(row))).collect(),
            has_previous: self.has_previous,
            has_next: self.has_next,
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Database, DbBackend, QueryTrait};

    /// A table to page: a `rank` that many rows share, and a unique `id` that breaks the ties.
    mod item {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "items")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub rank: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// A position by `(rank, id)`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
    struct Pos {
        rank: i32,
        id: i32,
    }

    impl PageKey for Pos {
        fn values(&self) -> Vec<Value> {
            vec![self.rank.into(), self.id.into()]
        }
    }

    fn pos(row: &item::Model) -> Pos {
        Pos { rank: row.rank, id: row.id }
    }

    const RANK_UP: Keyset<item::Entity, Pos> = Keyset::ascending(&[item::Column::Rank, item::Column::Id], pos);
    const RANK_DOWN: Keyset<item::Entity, Pos> = Keyset::descending(&[item::Column::Rank, item::Column::Id], pos);
    const ID_UP: Keyset<item::Entity, i32> = Keyset::ascending(&[item::Column::Id], |r: &item::Model| r.id);
    const ID_DOWN: Keyset<item::Entity, i32> = Keyset::descending(&[item::Column::Id], |r: &item::Model| r.id);

    impl PageKey for i32 {
        fn values(&self) -> Vec<Value> {
            vec![(*self).into()]
        }
    }

    fn sql<K: PageKey>(keyset: &Keyset<item::Entity, K>, after: Option<&K>, limit: u64) -> String {
        let select = keyset.select(item::Entity::find().filter(item::Column::Rank.ne(7)), after, limit);
        let sql = select.build(DbBackend::Sqlite).to_string();
        sql.trim_start_matches(r#"SELECT "items"."id", "items"."rank" FROM "items" "#).to_owned()
    }

    #[test]
    fn the_after_condition_orders_and_limit_follow_the_key_and_its_direction() {
        // Without a cursor: the filter, the order of the key's columns, one row more than the page.
        assert_eq!(
            sql(&RANK_UP, None, 20),
            r#"WHERE "items"."rank" <> 7 ORDER BY "items"."rank" ASC, "items"."id" ASC LIMIT 21"#
        );
        // Ties on the first column are broken by the id, in the same direction.
        assert_eq!(
            sql(&RANK_UP, Some(&Pos { rank: 3, id: 9 }), 2),
            r#"WHERE "items"."rank" <> 7 AND ("items"."rank" > 3 OR ("items"."rank" = 3 AND "items"."id" > 9)) ORDER BY "items"."rank" ASC, "items"."id" ASC LIMIT 3"#
        );
        assert_eq!(
            sql(&RANK_DOWN, Some(&Pos { rank: 3, id: 9 }), 2),
            r#"WHERE "items"."rank" <> 7 AND ("items"."rank" < 3 OR ("items"."rank" = 3 AND "items"."id" < 9)) ORDER BY "items"."rank" DESC, "items"."id" DESC LIMIT 3"#
        );
        // A key of the id alone: a plain comparison.
        assert_eq!(
            sql(&ID_UP, Some(&5), 0),
            r#"WHERE "items"."rank" <> 7 AND "items"."id" > 5 ORDER BY "items"."id" ASC LIMIT 1"#
        );
        assert_eq!(
            sql(&ID_DOWN, Some(&5), 1),
            r#"WHERE "items"."rank" <> 7 AND "items"."id" < 5 ORDER BY "items"."id" DESC LIMIT 2"#
        );
        assert_eq!(ID_DOWN.direction(), Direction::Descending);
    }

    /// Every page of `keyset` over the table, `size` rows at a time, following the cursors as a
    /// client does (each through the cursor codec).
    async fn every_page<K: PageKey + Clone>(
        db: &sea_orm::DatabaseConnection,
        keyset: &Keyset<item::Entity, K>,
        size: u64,
    ) -> Vec<KeysetPage<K, item::Model>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = decode_cursor::<K>(cursor.as_deref()).unwrap();
            let page = keyset.fetch(db, item::Entity::find(), after, size).await.unwrap();
            cursor = page.last_key().map(encode_cursor);
            let more = page.has_next;
            pages.push(page);
            if !more {
                return pages;
            }
            assert!(pages.len() < 50, "paging ends");
        }
    }

    #[tokio::test]
    async fn pages_cover_every_row_once_in_order_ascending_and_descending_with_ties_broken_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display())).await.unwrap();
        db.execute_unprepared("CREATE TABLE items (id INTEGER PRIMARY KEY, rank INTEGER NOT NULL)").await.unwrap();
        // Ranks with ties, ids out of rank order.
        let rows = [(1, 2), (2, 1), (3, 2), (4, 3), (5, 1), (6, 2), (7, 3)];
        for (id, rank) in rows {
            db.execute_unprepared(&format!("INSERT INTO items (id, rank) VALUES ({id}, {rank})")).await.unwrap();
        }
        let mut up: Vec<Pos> = rows.iter().map(|&(id, rank)| Pos { rank, id }).collect();
        up.sort();
        let down: Vec<Pos> = up.iter().rev().copied().collect();

        for (keyset, expected) in [(&RANK_UP, &up), (&RANK_DOWN, &down)] {
            for size in [1, 2, 3, 7, 20] {
                let pages = every_page(&db, keyset, size).await;
                let seen: Vec<Pos> = pages.iter().flat_map(|p| p.rows().map(pos)).collect();
                assert_eq!(&seen, expected, "{:?}, pages of {size}", keyset.direction());
                // Each row's key is its own position.
                assert!(pages.iter().all(|p| p.items.iter().all(|(key, row)| *key == pos(row))));
                // Full pages but the last; a next page after each but the last; a previous one
                // before each but the first.
                let n = pages.len();
                for (i, page) in pages.iter().enumerate() {
                    assert_eq!(page.has_next, i + 1 < n, "page {i} of {n}, size {size}");
                    assert_eq!(page.has_previous, i > 0, "page {i} of {n}, size {size}");
                    if i + 1 < n {
                        assert_eq!(page.rows().len(), usize::try_from(size).unwrap());
                    }
                }
                let full = usize::try_from(size).unwrap();
                assert_eq!(n, expected.len().div_ceil(full).max(1), "pages of {size}");
            }
        }
        // After a key between rows (rank 2, id 4: no such row), ascending: what follows it.
        let after = RANK_UP.fetch(&db, item::Entity::find(), Some(Pos { rank: 2, id: 4 }), 10).await.unwrap();
        assert_eq!(after.rows().map(|r| r.id).collect::<Vec<_>>(), [6, 4, 7]);
        let before = RANK_DOWN.fetch(&db, item::Entity::find(), Some(Pos { rank: 2, id: 4 }), 10).await.unwrap();
        assert_eq!(before.rows().map(|r| r.id).collect::<Vec<_>>(), [3, 1, 5, 2]);
        // Keyed by the id alone, descending.
        let ids = every_page(&db, &ID_DOWN, 3).await;
        let seen: Vec<i32> = ids.iter().flat_map(|p| p.items.iter().map(|(k, _)| *k)).collect();
        assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
        // A page of none still says whether rows follow.
        let none = ID_UP.fetch(&db, item::Entity::find(), None, 0).await.unwrap();
        assert!(none.is_empty() && none.has_next && !none.has_previous);
        let past_the_end = ID_UP.fetch(&db, item::Entity::find(), Some(7), 5).await.unwrap();
        assert!(past_the_end.is_empty() && !past_the_end.has_next && past_the_end.has_previous);
    }

    #[test]
    fn a_page_keeps_its_keys_and_flags_when_its_rows_are_mapped() {
        let page = KeysetPage::new(vec![10, 20, 30], 2, true, |n: &i32| n / 10);
        assert!(page.has_next && page.has_previous);
        let page = page.map(|n| format!("row {n}"));
        assert_eq!(page.items, [(1, "row 10".to_owned()), (2, "row 20".to_owned())]);
        assert_eq!(page.last_key(), Some(&2));
        let last = KeysetPage::new(vec![10], 2, false, |n: &i32| *n);
        assert!(!last.has_next && !last.has_previous);
        let empty = KeysetPage::<i32, i32>::empty(true);
        assert!(empty.is_empty() && empty.has_previous && !empty.has_next && empty.last_key().is_none());
    }

    #[test]
    fn cursors_keep_their_json_shapes() {
        // A list keyed by an id: the id's JSON string, as cursors were before the keyset helper.
        let id = Uuid::now_v7();
        let c = encode_cursor(id);
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&c).unwrap();
        assert_eq!(json, serde_json::to_vec(&id.to_string()).unwrap());
        assert_eq!(decode_cursor::<Uuid>(Some(&c)).unwrap(), Some(id));
        assert_eq!(id.values(), vec![Value::from(id)]);
    }

    #[test]
    fn a_cursor_reads_back_as_its_key_and_garbage_names_after() {
        let c = encode_cursor(("2026-12-05T09:00:00Z", 7));
        assert_eq!(decode_cursor::<(String, i32)>(Some(&c)).ok().flatten(), Some(("2026-12-05T09:00:00Z".into(), 7)));
        assert!(
            matches!(decode_cursor::<(String, i32)>(Some("%%%")), Err(AppError::BadInput { field, .. }) if field == "after")
        );
        assert!(matches!(decode_cursor::<(String, i32)>(None), Ok(None)));
    }
}
