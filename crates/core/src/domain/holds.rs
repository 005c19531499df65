//! Slot holds: a time kept for one patient for a few minutes (`HOLD_TTL_SECS`) while they decide.
//!
//! A hold is checked exactly as a booking by its patient would be (the booking's own checks,
//! [`appointments::clear`]: grid, availability, time off, the visit type's visibility and policy,
//! the upcoming limits), whoever places it, and its row in `calendar_blocks` (kept by the
//! triggers while it is `LIVE`) makes the database refuse any clash with an active appointment or
//! another live hold, of the doctor (blocked ranges, buffers included) or of the patient.
//!
//! A hold is never an appointment, an event or an email. Expiry needs no sweeper: a hold whose
//! `expires_at` has passed blocks nothing in the slot listings, and every booking, move and hold
//! first ends (`EXPIRED`) the expired holds of its doctor and its patient, so their rows never
//! refuse a time. Deactivating a user, un-verifying a doctor or changing a role releases their
//! holds (`accounts::release_holds_of`).
//!
//! Who: the patient for themself; a doctor at their own calendar for a patient; an admin for
//! anyone. A patient's `myHolds` lists every live hold for them, whoever placed it; a doctor's or
//! admin's, those they placed. A waitlist offer's hold (`waitlist_entry_id` set, written by
//! `domain::waitlist`) is one more kind of hold, left out of `myHolds`, of the limit (and its
//! `retryAfter`), of `releaseHold` and of `holdId`.
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Role, Store,
    appointments::{self, Failure, Request, UpcomingLimits, with_retries},
    audit, waitlist_marks,
};
use crate::{
    auth::viewer::Viewer,
    db::{
        batch, begin_write,
        entities::slot_hold::{self, HoldStatus},
    },
    error::{AppError, AppResult},
};

/// The settings of holds: how long one lives, how many live ones a patient may have, and the
/// upcoming limits a hold is checked against like a booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldRules {
    /// `HOLD_TTL_SECS`.
    pub ttl: Duration,
    /// `HOLD_MAX_PER_PATIENT`.
    pub max_per_patient: u32,
    pub upcoming: UpcomingLimits,
}

impl Default for HoldRules {
    /// The defaults of the configuration: 300 s, 2 live holds.
    fn default() -> Self {
        Self { ttl: Duration::from_secs(300), max_per_patient: 2, upcoming: UpcomingLimits::default() }
    }
}

impl From<&crate::config::Config> for HoldRules {
    fn from(c: &crate::config::Config) -> Self {
        Self { ttl: c.hold_ttl, max_per_patient: c.hold_max_per_patient, upcoming: UpcomingLimits::from(c) }
    }
}

/// What `holdSlot` receives.
#[derive(Clone, Copy, Debug)]
pub struct NewHold {
    pub doctor_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub visit_type_id: Option<Uuid>,
    /// Required of a doctor or admin; a patient's own id when absent.
    pub patient_id: Option<Uuid>,
}

/// `holdSlot`: keeps `starts_at` with the doctor for the patient for `rules.ttl`.
///
/// The checks are those of a booking by the patient, whoever places the hold (on the grid, inside
/// availability, outside time off, a visit type the patient may book, within its notice and
/// horizon, under the upcoming limits), and fail the same way; then the patient's live holds are
/// counted, and the hold is written with its audit entry (`appointment.hold`, subject: the hold).
/// All in one write transaction after the doctor's and patient's locks (SQLite: the one writer,
/// in the write queue's group), so simultaneous holds cannot pass the limit or a clash together.
///
/// # Errors
/// `FORBIDDEN` for a patient naming another patient, a doctor naming another doctor, and a doctor
/// who is not bookable holding at their own calendar; `BAD_USER_INPUT` (field `patientId`) for a
/// doctor or admin without `patientId`; the booking's errors (`BAD_USER_INPUT` naming the field,
/// `NOT_FOUND` on `visitTypeId`, `FORBIDDEN` with reason `TOO_MANY_UPCOMING`); `CONFLICT` (field
/// `startsAt`) when an active appointment or a live hold of the doctor or the patient overlaps;
/// `RATE_LIMITED` with `retryAfter` = seconds until the patient's earliest live hold expires when
/// they already have `rules.max_per_patient`.
pub async fn hold_slot(
    store: &Store,
    viewer: &Viewer,
    input: NewHold,
    rules: HoldRules,
) -> AppResult<slot_hold::Model> {
    let patient_id = acting_for(viewer, input.doctor_id, input.patient_id)?;
    let request = Request {
        doctor_id: input.doctor_id,
        patient_id,
        starts_at: input.starts_at,
        visit_type_id: input.visit_type_id,
        // A booking by the patient: the grid, the type's patient rules and its policy, whoever asks.
        on_grid: true,
        by_the_doctor: viewer.role() == Role::Doctor,
        by_the_patient: viewer.role() == Role::Patient,
        for_the_patient: true,
        judge_policy: true,
        limits: rules.upcoming,
        ends_at: None,
    };
    let actor = viewer.id();
    with_retries(|| {
        let owned = store.clone();
        let request = request.clone();
        store.writes.run(move |txn| {
            let (store, request) = (owned.clone(), request.clone());
            Box::pin(async move { place(&store, txn, &request, actor, rules).await })
        })
    })
    .await
}

/// The patient a hold (or a waitlist entry) is for, as `viewer` may name them: a patient themself
/// (`patient_id` absent or their own); a doctor at their own calendar, or an admin, for the
/// patient they name.
///
/// # Errors
/// `FORBIDDEN` for a patient naming another patient or a doctor naming another doctor;
/// `BAD_USER_INPUT` (field `patientId`) for a doctor or admin naming no patient.
pub fn acting_for(viewer: &Viewer, doctor_id: Uuid, patient_id: Option<Uuid>) -> AppResult<Uuid> {
    match viewer.role() {
        Role::Patient => {
            if patient_id.is_some_and(|p| p != viewer.id()) {
                return Err(AppError::Forbidden);
            }
            Ok(viewer.id())
        }
        Role::Doctor => {
            if doctor_id != viewer.id() {
                return Err(AppError::Forbidden);
            }
            patient_id.ok_or_else(|| AppError::bad_input("patientId", "patientId is required"))
        }
        Role::Admin => patient_id.ok_or_else(|| AppError::bad_input("patientId", "patientId is required")),
    }
}

/// One run of a hold inside `txn`.
async fn place(
    store: &Store,
    txn: &DatabaseTransaction,
    r: &Request,
    actor: Uuid,
    rules: HoldRules,
) -> Result<slot_hold::Model, Failure> {
    let now = store.clock.now();
    let cleared = appointments::clear(txn, r, now).await?;
    // Counted after the locks (and the expired holds ended): every committed hold of the patient,
    // and those before this one in its group on SQLite.
    let (live, earliest): (i64, Option<DateTime<Utc>>) = slot_hold::Entity::find()
        .select_only()
        .column_as(slot_hold::Column::Id.count(), "live")
        .column_as(slot_hold::Column::ExpiresAt.min(), "earliest")
        .filter(slot_hold::Column::PatientId.eq(r.patient_id))
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(slot_hold::Column::ExpiresAt.gt(now))
        .filter(slot_hold::Column::WaitlistEntryId.is_null())
        .into_tuple()
        .one(txn)
        .await?
        .unwrap_or((0, None));
    if live >= i64::from(rules.max_per_patient) {
        let wait = earliest.map_or(TimeDelta::zero(), |e| e - now);
        // Whole seconds, rounded up: asking again after `retryAfter` finds a place.
        let secs = (wait.num_milliseconds() + 999).div_euclid(1000).max(1);
        return Err(AppError::RateLimited { retry_after: u64::try_from(secs).unwrap_or(1) }.into());
    }
    let ttl = TimeDelta::from_std(rules.ttl).unwrap_or(TimeDelta::seconds(300));
    let hold = slot_hold::Model {
        id: Uuid::now_v7(),
        doctor_id: r.doctor_id,
        patient_id: r.patient_id,
        visit_type_id: r.visit_type_id,
        starts_at: r.starts_at,
        ends_at: cleared.ends_at,
        blocked_from: cleared.blocked_from,
        blocked_until: cleared.blocked_until,
        expires_at: now + ttl,
        placed_by: actor,
        status: HoldStatus::Live,
        created_at: now,
        ended_at: None,
        waitlist_entry_id: None,
    };
    let backend = txn.get_database_backend();
    let insert = slot_hold::Entity::insert(slot_hold::ActiveModel {
        id: Set(hold.id),
        doctor_id: Set(hold.doctor_id),
        patient_id: Set(hold.patient_id),
        visit_type_id: Set(hold.visit_type_id),
        starts_at: Set(hold.starts_at),
        ends_at: Set(hold.ends_at),
        blocked_from: Set(hold.blocked_from),
        blocked_until: Set(hold.blocked_until),
        expires_at: Set(hold.expires_at),
        placed_by: Set(hold.placed_by),
        status: Set(hold.status),
        created_at: Set(now),
        ended_at: Set(None),
        waitlist_entry_id: Set(None),
    })
    .build(backend);
    // The insert first: a clash refused by the database (its block) stops it before the audit row.
    // The hold's expiry frees the time again: the doctor's waitlist is matched then.
    let mut writes = vec![insert, waitlist_marks::mark(backend, hold.doctor_id, hold.expires_at)];
    writes.extend(audit::insert_statement(backend, Some(actor), "appointment.hold", [Some(hold.id)], now));
    batch::execute_all(txn, writes).await?;
    Ok(hold)
}

/// `releaseHold`: ends a live hold early, for its patient and whoever placed it. `true` when it was
/// live (and is now `RELEASED`, audited as `appointment.hold_release`), `false` when it had already
/// expired, been released or been consumed.
///
/// # Errors
/// `NOT_FOUND` for anyone else (or an unknown id).
pub async fn release_hold(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<bool> {
    let txn = begin_write(&store.writer).await?;
    let now = store.clock.now();
    let hold = slot_hold::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|h| h.waitlist_entry_id.is_none() && (h.patient_id == viewer.id() || h.placed_by == viewer.id()))
        .ok_or(AppError::NotFound("Hold"))?;
    let released = slot_hold::Entity::update_many()
        .col_expr(slot_hold::Column::Status, Expr::value(HoldStatus::Released))
        .col_expr(slot_hold::Column::EndedAt, Expr::value(now))
        .filter(slot_hold::Column::Id.eq(hold.id))
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(slot_hold::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?
        .rows_affected
        > 0;
    if released {
        audit::record(&txn, Some(viewer.id()), "appointment.hold_release", Some(hold.id), now).await?;
        waitlist_marks::mark_now(&txn, hold.doctor_id, now).await?;
    }
    txn.commit().await?;
    Ok(released)
}

/// `myHolds`: the viewer's live holds, soonest first. A patient's: every live hold for them,
/// whoever placed it; a doctor's or admin's: those they placed.
///
/// # Errors
/// Internal only.
pub async fn my_holds<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> AppResult<Vec<slot_hold::Model>> {
    let whose = match viewer.role() {
        Role::Patient => slot_hold::Column::PatientId,
        Role::Doctor | Role::Admin => slot_hold::Column::PlacedBy,
    };
    Ok(slot_hold::Entity::find()
        .filter(whose.eq(viewer.id()))
        .filter(slot_hold::Column::WaitlistEntryId.is_null())
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(slot_hold::Column::ExpiresAt.gt(now))
        .order_by_asc(slot_hold::Column::StartsAt)
        .order_by_asc(slot_hold::Column::Id)
        .all(db)
        .await?)
}

/// How many holds are live now, in all (the `cybermed_holds_live` gauge): a count over the partial
/// indexes of live holds.
///
/// # Errors
/// The database's.
pub async fn live_count<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::PaginatorTrait;
    slot_hold::Entity::find()
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(slot_hold::Column::ExpiresAt.gt(now))
        .count(db)
        .await
}
