//! Reading appointments: one, a filtered page, a count, and the DataLoaders' batches.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query, SubQueryStatement},
};
use uuid::Uuid;

use super::{AppointmentStatus, Failure, load_for};
use crate::page::{Keyset, KeysetPage, PageKey};
use crate::{
    auth::viewer::Viewer,
    db::{
        by_position::FromPosition,
        entities::{appointment, appointment_event},
    },
    domain::{
        Store,
        privacy::{self, Looker},
    },
    error::AppResult,
};

/// One appointment the viewer may see.
///
/// # Errors
/// `NOT_FOUND` when it does not exist or is someone else's.
pub async fn get(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<appointment::Model> {
    match load_for(&store.db, viewer, id).await {
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
    fn values(&self) -> Vec<sea_orm::Value> {
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
    let visible = visible_condition(viewer.into(), filter);
    let keyset = if oldest_first { &OLDEST_FIRST } else { &NEWEST_FIRST };
    let mut query = keyset.select(appointment::Entity::find().filter(visible.clone()), after.as_ref(), limit);
    if with_total {
        let count = Query::select()
            .expr(Expr::col(appointment::Column::Id).count())
            .from(appointment::Entity)
            .cond_where(visible)
            .to_owned();
        QuerySelect::query(&mut query).expr_as(Expr::from(SubQueryStatement::SelectStatement(count)), "total");
    }
    let rows = store.db.query_all(&sea_orm::QueryTrait::into_query(query)).await?;
    let mut total = None;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(appointment::Model::from_position(row, 0)?);
        if with_total && total.is_none() {
            total = Some(appended_count(row)?);
        }
    }
    if with_total && total.is_none() {
        // No row on this page. A first page that asked for rows and got none: nothing matches,
        // by the same statement. Past the end, or `first: 0`: the total needs its own count.
        total = Some(if after.is_none() && limit > 0 { 0 } else { count(store, viewer, filter).await? });
    }
    Ok((keyset.page(out, limit, after.is_some()), total))
}

/// How many appointments the viewer's list holds with this filter.
///
/// # Errors
/// Internal only.
pub async fn count(store: &Store, viewer: &Viewer, filter: &AppointmentFilter) -> AppResult<u64> {
    Ok(appointment::Entity::find().filter(visible_condition(viewer.into(), filter)).count(&store.db).await?)
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
fn appended_count(row: &sea_orm::QueryResult) -> AppResult<u64> {
    let n: i64 = row.try_get_by_index(appointment::Model::COLUMNS.len())?;
    Ok(u64::try_from(n).unwrap_or(0))
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
