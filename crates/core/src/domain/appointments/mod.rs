//! Appointments: booking that never double-books, the status lifecycle, history, and who sees what.
//!
//! Overlap of active appointments (one doctor, or one patient) is refused by the database itself:
//! exclusion constraints on PostgreSQL, triggers inside `BEGIN IMMEDIATE` transactions on SQLite.
//! The code never checks-then-inserts for overlap; it inserts and maps the refusal to `CONFLICT`.
//!
//! By sub-feature: [`booking`] (`create`), [`lifecycle`] (confirm, cancel, complete, no-show,
//! reschedule), [`listing`] (what a viewer may read), [`events`] (the history, its emails and
//! notices), [`series`] (recurring series, booked and cancelled through the two above),
//! [`sms_notices`] (the patient's SMS). This file holds what they share: the statuses, the
//! viewer's part, the retry loop and the time checks.
mod booking;
mod events;
mod lifecycle;
mod listing;
pub mod notices;
mod reminders;
mod series;
pub mod sms_notices;

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

pub use self::{
    booking::{Cleared, NewAppointment, Request, create},
    events::{EventWithParties, event_by_id, event_with_parties},
    lifecycle::{Transition, reschedule, transition},
    listing::{
        AppointmentCursor, AppointmentFilter, by_ids, count, get, history_of, list_counted,
        visible_in_range_with_event_counts,
    },
    reminders::queue_reminders,
    series::{Recurrence, cancel_series, create_series, get_series, occurrences_of, series_by_ids},
};
pub(crate) use self::{
    booking::{book_offer, clear},
    lifecycle::cancel_replaced,
};
use super::{
    privacy::{self, AppointmentPart},
    schedule::{Rule, starts_slot},
};
pub use crate::db::entities::{appointment::AppointmentStatus, appointment_event::AppointmentEventKind};
use crate::{
    auth::viewer::Viewer,
    db::{
        entities::{appointment, time_off},
        person_lock_key,
    },
    error::{AppError, AppResult, Refusal, db_error_code, db_error_names},
};

/// Whether `appt` was cancelled (by anyone) less than `late_cancel_hours` before its start.
pub fn is_late_cancellation(appt: &appointment::Model, late_cancel_hours: u32) -> bool {
    appt.status == AppointmentStatus::Cancelled
        && appt.cancelled_at.is_some_and(|at| at > appt.starts_at - TimeDelta::hours(i64::from(late_cancel_hours)))
}

/// How far ahead an appointment may be booked.
pub const MAX_DAYS_AHEAD: i64 = 365;
/// Longest reason for visit or cancellation, characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// How many active (`PENDING`, `CONFIRMED`) appointments that have not started yet a patient may
/// hold: in all, and with one doctor (`MAX_UPCOMING_PER_PATIENT`, `MAX_UPCOMING_PER_DOCTOR_PAIR`).
/// Cancelled, completed and started ones do not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpcomingLimits {
    pub per_patient: u32,
    pub per_pair: u32,
}

impl Default for UpcomingLimits {
    /// The defaults of the configuration: 60 in all, 30 with one doctor.
    fn default() -> Self {
        Self { per_patient: 60, per_pair: 30 }
    }
}

impl From<&crate::config::Config> for UpcomingLimits {
    fn from(c: &crate::config::Config) -> Self {
        Self { per_patient: c.max_upcoming_per_patient, per_pair: c.max_upcoming_per_doctor_pair }
    }
}

impl UpcomingLimits {
    /// Refuses one more appointment to a patient who holds `in_all` upcoming ones, `with_doctor`
    /// of them with its doctor.
    fn check(self, in_all: i64, with_doctor: i64) -> Result<(), Failure> {
        if in_all >= i64::from(self.per_patient) || with_doctor >= i64::from(self.per_pair) {
            return Err(AppError::Refused(Refusal::TooManyUpcoming).into());
        }
        Ok(())
    }
}

/// The two counts [`UpcomingLimits`] compares, as two scalar subqueries (a patient's upcoming
/// appointments in all, then those with the doctor), over the SQL parameters named: the doctor,
/// the patient, now. Both databases answer them from an index alone, over the patient's
/// appointments still to come: SQLite from `(patient_id, starts_at, id, status, doctor_id)`
/// (`m20261226_000001_patient_index_covers_upcoming`), PostgreSQL from the partial index of active
/// appointments (`m20261221_000001_upcoming_index`; the status list is written out for it). Run after the
/// booking's locks (see [`lock_parties`]; SQLite's one writer), they count every committed
/// booking of the patient and, in a group of bookings committed together, the earlier ones.
macro_rules! upcoming_counts_sql {
    ($doctor:literal, $patient:literal, $now:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM appointments u WHERE u.patient_id = ",
            $patient,
            " AND u.status IN ('PENDING', 'CONFIRMED') AND u.starts_at > ",
            $now,
            "), (SELECT COUNT(*) FROM appointments u WHERE u.patient_id = ",
            $patient,
            " AND u.status IN ('PENDING', 'CONFIRMED') AND u.starts_at > ",
            $now,
            " AND u.doctor_id = ",
            $doctor,
            ")"
        )
    };
}
use upcoming_counts_sql;

/// The two upcoming counts alone: `$1` the doctor, `$2` the patient, `$3` now.
const UPCOMING_COUNTS_SQL: &str = concat!("SELECT ", upcoming_counts_sql!("$1", "$2", "$3"));

/// Refuses one more upcoming appointment of `patient` (with `doctor`) over `limits`, inside `txn`
/// after its locks: one statement.
async fn check_upcoming(
    txn: &DatabaseTransaction,
    limits: UpcomingLimits,
    doctor: Uuid,
    patient: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let stmt = Statement::from_sql_and_values(
        txn.get_database_backend(),
        UPCOMING_COUNTS_SQL,
        [doctor.into(), patient.into(), now.into()],
    );
    let row = txn.query_one_raw(stmt).await?.ok_or_else(|| AppError::internal("no row counted"))?;
    limits.check(row.try_get_by_index(0)?, row.try_get_by_index(1)?)
}

/// A transaction attempt's failure: a rule (final) or a database error (maybe worth a retry).
pub(crate) enum Failure {
    App(AppError),
    Db(DbErr),
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

/// On PostgreSQL, takes the transaction's advisory locks of an appointment's doctor and patient,
/// in one order everywhere, before its row is written or moved. Two writes that could clash then
/// run one after the other, and the later one meets the earlier one's committed row (`CONFLICT`
/// at once). Without them, two concurrent inserts that overlap each wait on the other's
/// uncommitted row while checking the exclusion constraints: a deadlock PostgreSQL breaks only
/// after `deadlock_timeout` (1 s), and under load a round of five bookings of one patient ran out
/// of retries (CI saw `INTERNAL_SERVER_ERROR`). SQLite has one writer: nothing to do.
pub(crate) async fn lock_parties(txn: &DatabaseTransaction, doctor: Uuid, patient: Uuid) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let (a, b) = (person_lock_key(doctor), person_lock_key(patient));
    // The inner lock is taken first: the outer row needs the inner one.
    let sql = "SELECT pg_advisory_xact_lock($2) FROM (SELECT pg_advisory_xact_lock($1)) AS first_lock";
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [a.min(b).into(), a.max(b).into()]))
        .await?;
    Ok(())
}

/// Ends (`EXPIRED`) the holds of `doctor` and of `patient` that are still `LIVE` but whose time ran
/// out by `now`, inside the caller's write transaction after its locks: their rows in
/// `calendar_blocks` go with them (the triggers), so that a time an expired hold kept is free to
/// book or hold again. Expiry needs no sweeper: every booking, move and hold does this first.
async fn end_expired_holds(
    txn: &DatabaseTransaction,
    doctor: Uuid,
    patient: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let sql = "UPDATE slot_holds SET status = 'EXPIRED', ended_at = $3 \
               WHERE status = 'LIVE' AND expires_at <= $3 AND (doctor_id = $1 OR patient_id = $2)";
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        sql,
        [doctor.into(), patient.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// Runs `attempt` until it succeeds, fails by a rule, or fails by something other than a
/// serialization failure or deadlock (retried up to 5 times): those are the database asking to
/// try again, never the client's fault.
pub(crate) async fn with_retries<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::App(e)) => return Err(e),
            Err(Failure::Db(e)) => {
                if let Some(conflict) = overlap_conflict(&e) {
                    return Err(conflict);
                }
                let retryable = matches!(db_error_code(&e).as_deref(), Some("40001" | "40P01" | "5" | "517" | "261"));
                if !retryable || tries >= 5 {
                    return Err(e.into());
                }
                tokio::time::sleep(std::time::Duration::from_millis(5 * tries)).await;
            }
        }
    }
}

/// The refusal of a time another active appointment or live hold blocks (the constraints of
/// `calendar_blocks`), as the client should see it.
pub(crate) fn overlap_conflict(e: &DbErr) -> Option<AppError> {
    let names = db_error_names(e);
    let has = |name: &str| names.iter().any(|n| n.contains(name));
    if has("calendar_blocks_doctor_no_overlap") {
        Some(AppError::conflict("startsAt", "The doctor already has an appointment at that time"))
    } else if has("calendar_blocks_patient_no_overlap") {
        Some(AppError::conflict("startsAt", "The patient already has an appointment at that time"))
    } else if db_error_code(e).as_deref() == Some("23P01") {
        Some(AppError::conflict("startsAt", "That time is already booked"))
    } else {
        None
    }
}

/// The rules a start is checked against: the doctor's slot grid.
struct Grid<'a> {
    tz: Tz,
    rules: &'a [Rule],
    slot_minutes: i64,
}

/// Checks the start of a booking or a move and returns its end (time off apart: see
/// [`away_at`]).
///
/// Always: in the future, at most a year ahead. When `on_grid` (patients, and admins acting for
/// them): exactly a slot of the doctor's availability.
fn check_start(
    grid_of: &Grid<'_>,
    starts_at: DateTime<Utc>,
    on_grid: bool,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Failure> {
    if starts_at <= now {
        return Err(AppError::bad_input("startsAt", "startsAt must be in the future").into());
    }
    if starts_at > now + TimeDelta::days(MAX_DAYS_AHEAD) {
        return Err(AppError::bad_input("startsAt", "startsAt can be at most 365 days ahead").into());
    }
    let ends_at = starts_at + TimeDelta::minutes(grid_of.slot_minutes);
    if on_grid && !starts_slot(grid_of.tz, grid_of.rules, grid_of.slot_minutes, starts_at) {
        return Err(AppError::bad_input("startsAt", "startsAt is not one of the doctor's available slots").into());
    }
    Ok(ends_at)
}

/// The refusal of a time over the doctor's time off.
fn away() -> Failure {
    AppError::bad_input("startsAt", "The doctor is away at that time").into()
}

/// Refuses `[starts_at, ends_at)` when it overlaps the doctor's time off.
async fn away_at<C: ConnectionTrait>(
    txn: &C,
    doctor_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<(), Failure> {
    let blocked = time_off::Entity::find()
        .filter(time_off::Column::DoctorId.eq(doctor_id))
        .filter(time_off::Column::StartsAt.lt(ends_at))
        .filter(time_off::Column::EndsAt.gt(starts_at))
        .count(txn)
        .await?;
    if blocked > 0 { Err(away()) } else { Ok(()) }
}

/// Appointment `id` and the viewer's part in it ([`privacy::appointment_part`]): `NOT_FOUND` when
/// it does not exist or the viewer may not see it.
async fn load_for<C: ConnectionTrait>(
    txn: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<(appointment::Model, AppointmentPart), Failure> {
    let appt = appointment::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("Appointment"))?;
    match privacy::appointment_part(viewer.into(), &appt) {
        Some(part) => Ok((appt, part)),
        None => Err(AppError::NotFound("Appointment").into()),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    /// Every booking counts the patient's upcoming appointments: on SQLite from one index alone,
    /// never row by row from the table (the planner once preferred the list's index and read
    /// each of the patient's appointments to come from the table to learn its status).
    #[tokio::test]
    async fn the_upcoming_counts_are_read_from_an_index_alone_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pools = crate::db::open(&url, None).await.unwrap();
        let explain = format!("EXPLAIN QUERY PLAN {}", super::UPCOMING_COUNTS_SQL);
        let rows = pools
            .writer
            .query_all_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                explain,
                [uuid::Uuid::nil().into(), uuid::Uuid::nil().into(), chrono::Utc::now().into()],
            ))
            .await
            .unwrap();
        let plan: Vec<String> = rows.iter().map(|r| r.try_get_by_index::<String>(3).unwrap()).collect();
        let searches: Vec<&String> = plan.iter().filter(|p| p.starts_with("SEARCH")).collect();
        assert_eq!(searches.len(), 2, "{plan:?}");
        for search in searches {
            assert!(search.contains("COVERING INDEX idx_appointments_patient_starts_covering"), "{plan:?}");
        }
    }
}
