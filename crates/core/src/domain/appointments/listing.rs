//! Reading appointments: one, a filtered page, a count, and the DataLoaders' batches.
use std::{collections::HashMap, sync::LazyLock};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
    sea_query::{Expr, ExprTrait, Query, SubQueryStatement},
};
use uuid::Uuid;

use super::{AppointmentStatus, Failure, load_for};
use crate::page::{Keyset, KeysetPage, PageKey};
use crate::{
    auth::viewer::Viewer,
    db::{
        by_position::{FromPosition, Row},
        entities::{appointment, appointment_event},
        shapes::ShapeCache,
    },
    domain::{
        Role, Store,
        privacy::{self, Looker},
    },
    error::AppResult,
};

/// One appointment the viewer may see.
///
/// # Errors
/// `NOT_FOUND` when it does not exist or is someone else's.
pub async fn get(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<appointment::Model> {
    match load_for(&store.reads, viewer, id).await {
        Ok((a, _)) => Ok(a),
        Err(Failure::App(e)) => Err(e),
        Err(Failure::Db(e)) => Err(e.into()),
    }
}

/// Filter for listing appointments.
#[derive(Clone, Default)]
pub struct AppointmentFilter {
    /// Empty means any status.
    pub status: Vec<AppointmentStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
}

/// A position in a list ordered by `starts_at` then `id`, newest first.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct AppointmentCursor {
    pub starts_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The appointments `looker` may see ([`privacy::visible_appointments`]), narrowed by `filter`.
fn visible_condition(looker: Looker, filter: &AppointmentFilter) -> Condition {
    let mut cond = Condition::all().add_option(privacy::visible_appointments(looker));
    if !filter.status.is_empty() {
        cond = cond.add(appointment::Column::Status.is_in(filter.status.iter().copied()));
    }
    if let Some(from) = filter.from {
        cond = cond.add(appointment::Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(appointment::Column::StartsAt.lt(to));
    }
    if let Some(d) = filter.doctor_id {
        cond = cond.add(appointment::Column::DoctorId.eq(d));
    }
    if let Some(p) = filter.patient_id {
        cond = cond.add(appointment::Column::PatientId.eq(p));
    }
    cond
}

impl AppointmentCursor {
    /// The position of `a`.
    pub fn of(a: &appointment::Model) -> Self {
        Self { starts_at: a.starts_at, id: a.id }
    }
}

impl PageKey for AppointmentCursor {
    fn values(&self) -> Vec<Value> {
        vec![self.starts_at.into(), self.id.into()]
    }
}

/// Appointments by `starts_at`, then `id` among those that start together.
const NEWEST_FIRST: Keyset<appointment::Entity, AppointmentCursor> =
    Keyset::descending(&[appointment::Column::StartsAt, appointment::Column::Id], AppointmentCursor::of);
const OLDEST_FIRST: Keyset<appointment::Entity, AppointmentCursor> =
    Keyset::ascending(&[appointment::Column::StartsAt, appointment::Column::Id], AppointmentCursor::of);

/// One page of at most `limit` of the viewer's appointments (all for admins), newest `starts_at`
/// first (oldest first with `oldest_first`; `after` is then a position in that order); with
/// `with_total`, also how many match the filter on all pages, counted by the same statement (a
/// scalar subquery, run once, over the same indexes as [`count`]; an empty first page is a total
/// of 0 without one).
///
/// # Errors
/// Internal only.
pub async fn list_counted(
    store: &Store,
    viewer: &Viewer,
    filter: &AppointmentFilter,
    after: Option<AppointmentCursor>,
    limit: u64,
    with_total: bool,
    oldest_first: bool,
) -> AppResult<(KeysetPage<AppointmentCursor, appointment::Model>, Option<u64>)> {
    let page = PageArgs { looker: viewer.into(), filter: filter.clone(), after, limit, with_total, oldest_first };
    let stmt = page.statement(store.reads.get_database_backend());
    // On SQLite in this thread when that is quick (`db::inline`), else on a read connection.
    let rows = match store.reads.inline(&stmt, |row| page_row(row, with_total))? {
        Some(rows) => rows,
        None => {
            let rows = store.reads.query_all_raw(stmt).await?;
            rows.iter().map(|row| page_row(row, with_total)).collect::<Result<_, _>>()?
        }
    };
    let mut total = None;
    let mut out = Vec::with_capacity(rows.len());
    for (appointment, count) in rows {
        out.push(appointment);
        total = total.or(count);
    }
    if with_total && total.is_none() {
        // No row on this page. A first page that asked for rows and got none: nothing matches,
        // by the same statement. Past the end, or `first: 0`: the total needs its own count.
        total = Some(if after.is_none() && limit > 0 { 0 } else { count(store, viewer, filter).await? });
    }
    let keyset = if oldest_first { &OLDEST_FIRST } else { &NEWEST_FIRST };
    Ok((keyset.page(out, limit, after.is_some()), total))
}

/// What a page's statement is made of ([`list_counted`]).
struct PageArgs {
    looker: Looker,
    filter: AppointmentFilter,
    after: Option<AppointmentCursor>,
    limit: u64,
    with_total: bool,
    oldest_first: bool,
}

/// The page statements' text, by shape: built once per backend, role, filters set, cursor or
/// not, order and total or not (see `db::shapes`). At most 3 × 6 × 2⁷ shapes per backend.
static PAGE_SHAPES: LazyLock<ShapeCache<(u8, Role, usize, u8)>> = LazyLock::new(ShapeCache::default);

impl PageArgs {
    /// The page's statement: the page (keyset order, one more row than `limit`), with its total
    /// as a scalar subquery when asked for.
    fn build(&self, backend: DbBackend) -> Statement {
        let visible = visible_condition(self.looker, &self.filter);
        let keyset = if self.oldest_first { &OLDEST_FIRST } else { &NEWEST_FIRST };
        let mut query =
            keyset.select(appointment::Entity::find().filter(visible.clone()), self.after.as_ref(), self.limit);
        if self.with_total {
            // `COUNT(*)`: answered from the index alone (`COUNT(id)` reads every row to see
            // that its id is not null).
            let count =
                Query::select().expr(Expr::cust("COUNT(*)")).from(appointment::Entity).cond_where(visible).to_owned();
            QuerySelect::query(&mut query).expr_as(Expr::from(SubQueryStatement::SelectStatement(count)), "total");
        }
        sea_orm::QueryTrait::build(&query, backend)
    }

    /// [`Self::build`], from the text kept for its shape when there is one.
    fn statement(&self, backend: DbBackend) -> Statement {
        let f = &self.filter;
        // More statuses than there are: duplicates, which sentinels cannot stand for.
        if f.status.len() > AppointmentStatus::iter().len() {
            return self.build(backend);
        }
        PAGE_SHAPES.statement(
            self.shape(backend),
            self,
            Self::params,
            |variant| self.sentinel(variant),
            |a| a.build(backend),
        )
    }

    fn shape(&self, backend: DbBackend) -> (u8, Role, usize, u8) {
        let f = &self.filter;
        let set = [
            f.from.is_some(),
            f.to.is_some(),
            f.doctor_id.is_some(),
            f.patient_id.is_some(),
            self.after.is_some(),
            self.oldest_first,
            self.with_total,
        ];
        let flags = set.iter().fold(0u8, |acc, on| acc << 1 | u8::from(*on));
        (backend as u8, self.looker.role, f.status.len(), flags)
    }

    /// Every value the statement may bind, in a fixed order (an admin's id is not bound).
    fn params(&self) -> Vec<Value> {
        let f = &self.filter;
        let mut p = vec![Value::from(self.looker.id)];
        p.extend(f.status.iter().map(|s| Value::from(*s)));
        p.extend([f.from, f.to].into_iter().flatten().map(Value::from));
        p.extend([f.doctor_id, f.patient_id].into_iter().flatten().map(Value::from));
        p.extend(self.after.iter().flat_map(PageKey::values));
        p.push(Value::from(self.limit.saturating_add(1)));
        p
    }

    /// Arguments of this shape with values no request has, all distinct; `variant` 0 or 1.
    fn sentinel(&self, variant: u8) -> Self {
        let mut n = 0u32;
        let mut next = || {
            n += 1;
            (u128::from(variant) << 32) | u128::from(n)
        };
        let id = |n: u128| Uuid::from_u128(0x5e47_1e00_0000_0000_0000_0000_0000_0000 | n);
        let at = |n: u128| {
            DateTime::<Utc>::from_timestamp(1_000_000_000 + i64::try_from(n).unwrap_or(0), 0).unwrap_or_default()
        };
        let f = &self.filter;
        let filter = AppointmentFilter {
            status: AppointmentStatus::iter().cycle().skip(usize::from(variant)).take(f.status.len()).collect(),
            from: f.from.map(|_| at(next())),
            to: f.to.map(|_| at(next())),
            doctor_id: f.doctor_id.map(|_| id(next())),
            patient_id: f.patient_id.map(|_| id(next())),
        };
        let after = self.after.map(|_| AppointmentCursor { starts_at: at(next()), id: id(next()) });
        Self {
            looker: Looker { id: id(next()), role: self.looker.role },
            filter,
            after,
            limit: 4_000_000_000 + u64::from(variant),
            with_total: self.with_total,
            oldest_first: self.oldest_first,
        }
    }
}

/// How many appointments the viewer's list holds with this filter.
///
/// # Errors
/// Internal only.
pub async fn count(store: &Store, viewer: &Viewer, filter: &AppointmentFilter) -> AppResult<u64> {
    Ok(appointment::Entity::find().filter(visible_condition(viewer.into(), filter)).count(&store.reads).await?)
}

/// The appointments `looker` may see (for a doctor or a patient: their own, as either party)
/// that start in `[from, to)`, earliest first, each with how many events its history holds.
/// One statement: the counts are a correlated subquery over the events' appointment index.
///
/// # Errors
/// Internal only.
pub async fn visible_in_range_with_event_counts<C: ConnectionTrait>(
    db: &C,
    looker: Looker,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(appointment::Model, u64)>> {
    let filter = AppointmentFilter { from: Some(from), to: Some(to), ..AppointmentFilter::default() };
    let events = Query::select()
        .expr(Expr::col((appointment_event::Entity, appointment_event::Column::Id)).count())
        .from(appointment_event::Entity)
        .and_where(
            Expr::col((appointment_event::Entity, appointment_event::Column::AppointmentId))
                .equals((appointment::Entity, appointment::Column::Id)),
        )
        .to_owned();
    let mut query = appointment::Entity::find()
        .filter(visible_condition(looker, &filter))
        .order_by_asc(appointment::Column::StartsAt)
        .order_by_asc(appointment::Column::Id);
    QuerySelect::query(&mut query).expr_as(Expr::from(SubQueryStatement::SelectStatement(events)), "events");
    let rows = db.query_all(&sea_orm::QueryTrait::into_query(query)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push((appointment::Model::from_position(row, 0)?, appended_count(row)?));
    }
    Ok(out)
}

/// The count a statement selects after an appointment's columns (a scalar subquery: the page's
/// total, or the appointment's events).
fn appended_count<R: Row>(row: &R) -> Result<u64, DbErr> {
    let n: i64 = row.read(appointment::Model::COLUMNS.len())?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A row of a page's statement: the appointment, and the total when it was asked for.
fn page_row<R: Row>(row: &R, with_total: bool) -> Result<(appointment::Model, Option<u64>), DbErr> {
    let total = if with_total { Some(appended_count(row)?) } else { None };
    Ok((appointment::Model::from_position(row, 0)?, total))
}

/// Events of several appointments, oldest first (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn history_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<appointment_event::Model>>> {
    let rows = appointment_event::Entity::find()
        .filter(appointment_event::Column::AppointmentId.is_in(ids.iter().copied()))
        .order_by_asc(appointment_event::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<appointment_event::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.appointment_id).or_default().push(r);
    }
    Ok(out)
}

/// Appointments by id (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<HashMap<Uuid, appointment::Model>> {
    let rows = appointment::Entity::find().filter(appointment::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|a| (a.id, a)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape a request can have is kept (so requests skip the builder), on both backends,
    /// and gives the statement a fresh build gives (which `ShapeCache` also checks in debug
    /// builds on every statement of the test suite).
    #[test]
    fn every_shape_of_a_page_statement_is_kept() {
        let now = Utc::now();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for role in [Role::Patient, Role::Doctor, Role::Admin] {
                for statuses in 0..=AppointmentStatus::iter().len() {
                    for flags in 0..128u8 {
                        let on = |bit: u8| flags & (1 << bit) != 0;
                        let page = PageArgs {
                            looker: Looker { id: Uuid::now_v7(), role },
                            filter: AppointmentFilter {
                                status: AppointmentStatus::iter().rev().take(statuses).collect(),
                                from: on(0).then_some(now),
                                to: on(1).then_some(now),
                                doctor_id: on(2).then(Uuid::now_v7),
                                patient_id: on(3).then(Uuid::now_v7),
                            },
                            after: on(4).then(|| AppointmentCursor { starts_at: now, id: Uuid::now_v7() }),
                            limit: 20,
                            with_total: on(5),
                            oldest_first: on(6),
                        };
                        assert_eq!(page.statement(backend), page.build(backend));
                        assert!(PAGE_SHAPES.is_kept(&page.shape(backend)), "{backend:?} {role:?} {statuses} {flags:b}");
                    }
                }
            }
        }
    }
}
