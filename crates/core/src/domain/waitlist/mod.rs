//! The waitlist: patients in line for an earlier time with a doctor, and the time-boxed offers a
//! freed time turns into.
//!
//! An entry waits inside `[earliest, latest)`. Whenever the doctor's time may have freed (see
//! [`super::waitlist_marks`]: the mark is written in the transaction of the change), the matcher
//! ([`matcher`], a background loop in every process) offers the oldest `WAITING` entry the
//! earliest start in its window that its patient could book: an **offer is a slot hold**
//! (`slot_holds.waitlist_entry_id` set), so the database's one no-overlap guarantee makes a second
//! offer of the same time impossible. It lives `WAITLIST_OFFER_TTL_SECS`; it does not count toward
//! `HOLD_MAX_PER_PATIENT`, is not in `myHolds`, and is answered only here: [`accept`] books it as
//! `createAppointment(holdId)` would for the patient (and cancels the appointment it replaces, in
//! the same transaction), [`decline`] (or its expiry) puts the entry back in line, never to be
//! offered that start again.
//!
//! Who: a patient for themself; a doctor at their own calendar, for a patient; an admin for anyone.
//! A patient sees and answers their own entries, a doctor those for them, an admin all
//! ([`privacy::sees_waitlist_entry`]); anyone else's is `NOT_FOUND`.
pub mod matcher;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use super::{
    Role, Store,
    appointments::{self, Failure, UpcomingLimits, with_retries},
    audit, holds,
    privacy::{self, Looker},
    schedule::DoctorCalendar,
    visit_types, waitlist_marks,
};
use crate::{
    auth::viewer::Viewer,
    db::{
        batch, begin_write,
        entities::{
            appointment, patient_profile, user,
            waitlist_entry::{self, WaitlistStatus},
        },
        lock_person,
    },
    error::{AppError, AppResult, Clash, is_unique_violation},
    page::{Keyset, KeysetPage},
};

/// A patient's live entries at most, over all doctors.
pub const MAX_LIVE_PER_PATIENT: u64 = 5;
/// The longest window, `latest − earliest`.
pub const MAX_WINDOW_DAYS: i64 = 90;
/// The reason the replaced appointment is cancelled with.
pub const REPLACED_REASON: &str = "Moved to an earlier time from the waitlist";
/// The reason for visit of a booking from an offer that replaces nothing.
const OFFER_REASON: &str = "Earlier appointment from the waitlist";

/// The settings of offers: how long one lives, and the upcoming limits an offer and its booking
/// are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitlistRules {
    /// `WAITLIST_OFFER_TTL_SECS`.
    pub offer_ttl: Duration,
    pub upcoming: UpcomingLimits,
}

impl Default for WaitlistRules {
    /// The defaults of the configuration: 900 s.
    fn default() -> Self {
        Self { offer_ttl: Duration::from_secs(900), upcoming: UpcomingLimits::default() }
    }
}

impl From<&crate::config::Config> for WaitlistRules {
    fn from(c: &crate::config::Config) -> Self {
        Self { offer_ttl: c.waitlist_offer_ttl, upcoming: UpcomingLimits::from(c) }
    }
}

/// What `joinWaitlist` receives.
#[derive(Clone, Copy, Debug)]
pub struct NewEntry {
    pub doctor_id: Uuid,
    /// Required of a doctor or admin; a patient's own id when absent.
    pub patient_id: Option<Uuid>,
    pub visit_type_id: Option<Uuid>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    pub replaces_appointment_id: Option<Uuid>,
}

/// `joinWaitlist`: puts the patient in line for the doctor, and marks the doctor to be matched (in
/// the same transaction), so that a free start already there is offered at once.
///
/// # Errors
/// `FORBIDDEN` for a patient naming another patient, a doctor naming another doctor (or not
/// bookable themself); `BAD_USER_INPUT` naming the field: `patientId` (missing for a doctor or
/// admin; not an active patient with a profile), `earliest` (not in the future), `latest` (not
/// after `earliest`, or more than 90 days after it), `doctorId` (not a bookable doctor; the
/// patient already has 5 live entries), `visitTypeId` (inactive, or not for patients), and
/// `replacesAppointmentId` (not an active appointment of this patient with this doctor starting at
/// or after `latest`); `NOT_FOUND` (field `visitTypeId` or `replacesAppointmentId`) for what the
/// viewer may not see; `CONFLICT` (field `doctorId`) when the patient already waits for this
/// doctor, decided by the database.
pub async fn join(store: &Store, viewer: &Viewer, input: NewEntry) -> AppResult<waitlist_entry::Model> {
    let patient_id = holds::acting_for(viewer, input.doctor_id, input.patient_id)?;
    let now = store.clock.now();
    if input.earliest <= now {
        return Err(AppError::bad_input("earliest", "earliest must be in the future"));
    }
    if input.latest <= input.earliest {
        return Err(AppError::bad_input("latest", "latest must be after earliest"));
    }
    if input.latest - input.earliest > TimeDelta::days(MAX_WINDOW_DAYS) {
        return Err(AppError::bad_input("latest", "latest can be at most 90 days after earliest"));
    }
    let txn = begin_write(&store.writer).await?;
    check_doctor(&txn, viewer, input.doctor_id).await?;
    check_patient(&txn, patient_id).await?;
    if let Some(id) = input.visit_type_id {
        let t = visit_types::get_visible(&txn, viewer, id).await?;
        if t.doctor_id != input.doctor_id {
            return Err(visit_types::not_found());
        }
        if !t.active {
            return Err(AppError::bad_input("visitTypeId", "This visit type is not active"));
        }
        if !t.patient_bookable {
            return Err(AppError::bad_input("visitTypeId", "Patients may not book this visit type"));
        }
    }
    if let Some(id) = input.replaces_appointment_id {
        check_replaced(&txn, viewer, id, patient_id, &input).await?;
    }
    // The patient's live entries are counted after their lock (SQLite: the one writer), so that
    // simultaneous joins cannot pass the limit together; one per doctor is the unique index's.
    lock_person(&txn, patient_id).await?;
    let live: Vec<Uuid> = waitlist_entry::Entity::find()
        .select_only()
        .column(waitlist_entry::Column::DoctorId)
        .filter(waitlist_entry::Column::PatientId.eq(patient_id))
        .filter(waitlist_entry::Column::Status.is_in([WaitlistStatus::Waiting, WaitlistStatus::Offered]))
        .into_tuple()
        .all(&txn)
        .await?;
    if live.contains(&input.doctor_id) {
        return Err(already_waiting());
    }
    if live.len() as u64 >= MAX_LIVE_PER_PATIENT {
        return Err(AppError::bad_input("doctorId", "A patient may wait for at most 5 doctors at once"));
    }
    let entry = waitlist_entry::Model {
        id: Uuid::now_v7(),
        patient_id,
        doctor_id: input.doctor_id,
        visit_type_id: input.visit_type_id,
        earliest: input.earliest,
        latest: input.latest,
        replaces_appointment_id: input.replaces_appointment_id,
        status: WaitlistStatus::Waiting,
        offer_hold_id: None,
        offer_starts_at: None,
        offer_ends_at: None,
        offer_expires_at: None,
        created_by: viewer.id(),
        created_at: now,
        updated_at: now,
    };
    let model = waitlist_entry::ActiveModel::from(entry.clone()).reset_all();
    waitlist_entry::Entity::insert(model)
        .exec_without_returning(&txn)
        .await
        .map_err(|e| if is_unique_violation(&e) { already_waiting() } else { e.into() })?;
    audit::record(&txn, Some(viewer.id()), "waitlist.join", Some(entry.id), now).await?;
    waitlist_marks::mark_now(&txn, entry.doctor_id, now).await?;
    txn.commit().await?;
    Ok(entry)
}

fn already_waiting() -> AppError {
    AppError::conflict("doctorId", "The patient is already on this doctor's waitlist")
}

/// The doctor must be bookable: `BAD_USER_INPUT` (field `doctorId`) for the others, `FORBIDDEN`
/// for a doctor who is not, at their own calendar.
async fn check_doctor(txn: &DatabaseTransaction, viewer: &Viewer, doctor_id: Uuid) -> AppResult<()> {
    let unbookable = || AppError::bad_input("doctorId", "The doctor is not available for booking");
    let cal = match DoctorCalendar::load(txn, doctor_id).await {
        Ok(cal) => cal,
        Err(AppError::NotFound(_)) => return Err(unbookable()),
        Err(e) => return Err(e),
    };
    if !cal.bookable() {
        return Err(if viewer.role() == Role::Doctor { AppError::Forbidden } else { unbookable() });
    }
    Ok(())
}

/// The patient must be an active patient with a profile (`BAD_USER_INPUT`, field `patientId`).
async fn check_patient(txn: &DatabaseTransaction, patient_id: Uuid) -> AppResult<()> {
    let user = user::Entity::find_by_id(patient_id).one(txn).await?;
    let profile = patient_profile::Entity::find_by_id(patient_id).one(txn).await?;
    if !user.is_some_and(|u| u.role == Role::Patient && u.is_active) || profile.is_none() {
        return Err(AppError::bad_input(
            "patientId",
            "The patient needs an active account with a patient profile to book",
        ));
    }
    Ok(())
}

/// `replacesAppointmentId` must be one the viewer may see (`NOT_FOUND`), and an active appointment
/// of this patient with this doctor starting at or after `latest` (`BAD_USER_INPUT`), both with
/// field `replacesAppointmentId`.
async fn check_replaced(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    id: Uuid,
    patient_id: Uuid,
    input: &NewEntry,
) -> AppResult<()> {
    let not_found = || AppError::NotFoundAt { what: "Appointment", field: "replacesAppointmentId" };
    let appt = appointment::Entity::find_by_id(id).one(txn).await?.ok_or_else(not_found)?;
    if privacy::appointment_part(viewer.into(), &appt).is_none() {
        return Err(not_found());
    }
    if appt.patient_id != patient_id || appt.doctor_id != input.doctor_id {
        return Err(AppError::bad_input(
            "replacesAppointmentId",
            "The appointment to replace must be this patient's with this doctor",
        ));
    }
    if !appt.status.is_active() {
        return Err(AppError::bad_input("replacesAppointmentId", "The appointment to replace is not active"));
    }
    if appt.starts_at < input.latest {
        return Err(AppError::bad_input(
            "replacesAppointmentId",
            "The appointment to replace must start at or after latest",
        ));
    }
    Ok(())
}

/// Entry `id` as `viewer` may see it, inside `txn`: `NOT_FOUND` otherwise.
async fn load_for<C: ConnectionTrait>(txn: &C, viewer: &Viewer, id: Uuid) -> AppResult<waitlist_entry::Model> {
    waitlist_entry::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|e| privacy::sees_waitlist_entry(viewer.into(), e.patient_id, e.doctor_id))
        .ok_or(AppError::NotFound("Waitlist entry"))
}

/// The statements that end an entry's offer: its hold `RELEASED` (when still live), its time
/// offered to the next in line (the doctor marked).
fn withdraw_offer(
    backend: sea_orm::DbBackend,
    entry: &waitlist_entry::Model,
    ended: &str,
    now: DateTime<Utc>,
) -> Vec<Statement> {
    let Some(hold) = entry.offer_hold_id else { return Vec::new() };
    let end = batch::numbered(
        backend,
        "UPDATE slot_holds SET status = $2, ended_at = $3 WHERE id = $1 AND status = 'LIVE'",
        vec![hold.into(), ended.into(), now.into()],
    );
    vec![end, waitlist_marks::mark(backend, entry.doctor_id, now)]
}

/// Moves entry `id` from `from` to `to` (clearing its offer), only if it is still in `from`: one
/// conditional `UPDATE`, so that of two answers to one offer only one counts. `true` when it moved.
async fn move_entry<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    from: &[WaitlistStatus],
    to: WaitlistStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let moved = set_status(to, now)
        .filter(waitlist_entry::Column::Id.eq(id))
        .filter(waitlist_entry::Column::Status.is_in(from.iter().copied()))
        .exec(txn)
        .await?;
    Ok(moved.rows_affected > 0)
}

/// The `UPDATE` (to be filtered) that sets entries' status to `to` at `now` and clears their offer.
fn set_status(to: WaitlistStatus, now: DateTime<Utc>) -> sea_orm::UpdateMany<waitlist_entry::Entity> {
    use sea_orm::sea_query::Expr;
    waitlist_entry::Entity::update_many()
        .col_expr(waitlist_entry::Column::Status, Expr::value(to))
        .col_expr(waitlist_entry::Column::OfferHoldId, Expr::value(Option::<Uuid>::None))
        .col_expr(waitlist_entry::Column::OfferStartsAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(waitlist_entry::Column::OfferEndsAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(waitlist_entry::Column::OfferExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(waitlist_entry::Column::UpdatedAt, Expr::value(now))
}

/// The statement that remembers that `entry` was offered `starts_at` (declined or expired): it is
/// never offered that start again.
fn remember_declined(backend: sea_orm::DbBackend, entry: Uuid, starts_at: DateTime<Utc>) -> Statement {
    batch::numbered(
        backend,
        "INSERT INTO waitlist_declined (entry_id, starts_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        vec![entry.into(), starts_at.into()],
    )
}

fn status_word(s: WaitlistStatus) -> &'static str {
    match s {
        WaitlistStatus::Waiting => "A waiting",
        WaitlistStatus::Offered => "An offered",
        WaitlistStatus::Booked => "A booked",
        WaitlistStatus::Expired => "An expired",
        WaitlistStatus::Left => "A left",
    }
}

/// `leaveWaitlist`: ends a live entry (`LEFT`), withdrawing its offer (the time goes to the next
/// in line). Audited as `waitlist.leave`.
///
/// # Errors
/// `NOT_FOUND` for an entry the viewer may not see; `BAD_USER_INPUT` (field `status`) for one that
/// is not live.
pub async fn leave(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<waitlist_entry::Model> {
    let txn = begin_write(&store.writer).await?;
    let now = store.clock.now();
    let entry = load_for(&txn, viewer, id).await?;
    if !move_entry(&txn, id, &[WaitlistStatus::Waiting, WaitlistStatus::Offered], WaitlistStatus::Left, now).await? {
        return Err(AppError::bad_input("status", format!("{} entry cannot be left", status_word(entry.status))));
    }
    let backend = txn.get_database_backend();
    let mut writes = withdraw_offer(backend, &entry, "RELEASED", now);
    writes.extend(audit::insert_statement(backend, Some(viewer.id()), "waitlist.leave", [Some(id)], now));
    batch::execute_all(&txn, writes).await?;
    txn.commit().await?;
    Ok(cleared(&entry, WaitlistStatus::Left, now))
}

/// `declineWaitlistOffer`: the entry goes back in line (`WAITING`, its place kept), never to be
/// offered that start again; the time goes to the next in line. Audited as `waitlist.decline`.
///
/// # Errors
/// `NOT_FOUND` for an entry the viewer may not see; `BAD_USER_INPUT` (field `status`) for one that
/// is not `OFFERED`.
pub async fn decline(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<waitlist_entry::Model> {
    let txn = begin_write(&store.writer).await?;
    let now = store.clock.now();
    let entry = load_for(&txn, viewer, id).await?;
    let (true, Some(starts_at)) = (entry.status == WaitlistStatus::Offered, entry.offer_starts_at) else {
        return Err(AppError::bad_input(
            "status",
            format!("{} entry has no offer to decline", status_word(entry.status)),
        ));
    };
    if !move_entry(&txn, id, &[WaitlistStatus::Offered], WaitlistStatus::Waiting, now).await? {
        return Err(AppError::bad_input("status", "The offer was already answered"));
    }
    let backend = txn.get_database_backend();
    let mut writes = vec![remember_declined(backend, id, starts_at)];
    writes.extend(withdraw_offer(backend, &entry, "RELEASED", now));
    writes.extend(audit::insert_statement(backend, Some(viewer.id()), "waitlist.decline", [Some(id)], now));
    batch::execute_all(&txn, writes).await?;
    txn.commit().await?;
    metrics::counter!(OFFERS, "outcome" => "declined").increment(1);
    Ok(cleared(&entry, WaitlistStatus::Waiting, now))
}

/// `entry` as [`move_entry`] left it.
fn cleared(entry: &waitlist_entry::Model, status: WaitlistStatus, now: DateTime<Utc>) -> waitlist_entry::Model {
    waitlist_entry::Model {
        status,
        offer_hold_id: None,
        offer_starts_at: None,
        offer_ends_at: None,
        offer_expires_at: None,
        updated_at: now,
        ..*entry
    }
}

/// The offers counter: `cybermed_waitlist_offers_total{outcome}` (`made`, `accepted`, `declined`,
/// `expired`).
pub const OFFERS: &str = "cybermed_waitlist_offers_total";
/// Matches that failed (each retried after [`matcher::RETRY_AFTER_FAILURE`]):
/// `cybermed_waitlist_match_failures_total`.
pub const MATCH_FAILURES: &str = "cybermed_waitlist_match_failures_total";
/// The entries gauge: `cybermed_waitlist_entries{status}`.
pub const ENTRIES: &str = "cybermed_waitlist_entries";

/// `acceptWaitlistOffer`: books the offered time from the offer's hold as the patient would
/// (`PENDING`: the checks of `createAppointment(holdId)`, its event, emails and reminders), the
/// entry `BOOKED`; with `replacesAppointment`, that appointment is cancelled first in the same
/// transaction (reason [`REPLACED_REASON`], exempt from the patient's cutoff, never late, so it
/// is left out of the new booking's overlap and upcoming-limit checks). The patient, or a doctor
/// or admin on their behalf. Audited as `waitlist.accept`.
///
/// # Errors
/// `NOT_FOUND` for an entry the viewer may not see; `CONFLICT` (reason `HOLD_EXPIRED`) for an
/// entry that is not `OFFERED`, an offer that expired or whose start passed; the booking's own
/// errors (`FORBIDDEN` with reason `TOO_MANY_UPCOMING`, `BAD_USER_INPUT` on `doctorId` for a
/// doctor no longer bookable, …).
pub async fn accept(store: &Store, viewer: &Viewer, id: Uuid, rules: WaitlistRules) -> AppResult<appointment::Model> {
    let expired = || AppError::ConflictFor { field: "id", why: Clash::HoldExpired };
    let (appt, notices) = with_retries(|| async move {
        let txn = begin_write(&store.writer).await?;
        let now = store.clock.now();
        let entry = load_for(&txn, viewer, id).await?;
        let live_offer = entry.status == WaitlistStatus::Offered
            && entry.offer_expires_at.is_some_and(|t| t > now)
            && entry.offer_starts_at.is_some_and(|t| t > now);
        let (true, Some(hold_id)) = (live_offer, entry.offer_hold_id) else {
            return Err(expired().into());
        };
        appointments::lock_parties(&txn, entry.doctor_id, entry.patient_id).await?;
        if !move_entry(&txn, id, &[WaitlistStatus::Offered], WaitlistStatus::Booked, now).await? {
            return Err(expired().into());
        }
        let hold = crate::db::entities::slot_hold::Entity::find_by_id(hold_id).one(&txn).await?.ok_or_else(expired)?;
        let mut notices = Vec::with_capacity(2);
        let mut reason = OFFER_REASON.to_owned();
        if let Some(replaced) = entry.replaces_appointment_id {
            if let Some(old) = appointment::Entity::find_by_id(replaced).one(&txn).await? {
                reason.clone_from(&old.reason_for_visit);
            }
            notices
                .extend(appointments::cancel_replaced(store, &txn, replaced, REPLACED_REASON, viewer.id(), now).await?);
        }
        let (appt, notice) = appointments::book_offer(store, &txn, &hold, reason, viewer.id(), rules.upcoming)
            .await
            .map_err(|f| match f {
                Failure::App(AppError::ConflictFor { why: Clash::HoldExpired, .. }) => expired().into(),
                other => other,
            })?;
        notices.push(notice);
        audit::record(&txn, Some(viewer.id()), "waitlist.accept", Some(id), now).await?;
        txn.commit().await?;
        Ok((appt, notices))
    })
    .await?;
    store.events.committed(&notices);
    metrics::counter!(OFFERS, "outcome" => "accepted").increment(1);
    Ok(appt)
}

/// Which entries `waitlist` lists, beside who may see them.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    pub doctor_id: Option<Uuid>,
    /// Any of these (all when empty).
    pub statuses: Vec<WaitlistStatus>,
}

impl EntryFilter {
    fn condition(&self, looker: Looker) -> Condition {
        let mut cond = Condition::all();
        if let Some(visible) = privacy::visible_waitlist_entries(looker) {
            cond = cond.add(visible);
        }
        if let Some(d) = self.doctor_id {
            cond = cond.add(waitlist_entry::Column::DoctorId.eq(d));
        }
        if !self.statuses.is_empty() {
            cond = cond.add(waitlist_entry::Column::Status.is_in(self.statuses.iter().copied()));
        }
        cond
    }
}

/// First in, first out: by id (a time-ordered UUIDv7), the cursor the id itself.
const FIFO: Keyset<waitlist_entry::Entity, Uuid> =
    Keyset::ascending(&[waitlist_entry::Column::Id], |e: &waitlist_entry::Model| e.id);

/// `waitlist`: one page of the entries `viewer` may see, oldest first, after `after`.
///
/// # Errors
/// Internal only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    filter: &EntryFilter,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<KeysetPage<Uuid, waitlist_entry::Model>> {
    FIFO.fetch(db, waitlist_entry::Entity::find().filter(filter.condition(viewer.into())), after, limit).await
}

/// How many entries [`list`] would list in all.
///
/// # Errors
/// Internal only.
pub async fn count<C: ConnectionTrait>(db: &C, viewer: &Viewer, filter: &EntryFilter) -> AppResult<u64> {
    Ok(waitlist_entry::Entity::find().filter(filter.condition(viewer.into())).count(db).await?)
}

/// How many entries there are per status (the `cybermed_waitlist_entries` gauge).
///
/// # Errors
/// The database's.
pub async fn counts_by_status<C: ConnectionTrait>(db: &C) -> Result<Vec<(WaitlistStatus, i64)>, sea_orm::DbErr> {
    waitlist_entry::Entity::find()
        .select_only()
        .column(waitlist_entry::Column::Status)
        .column_as(waitlist_entry::Column::Id.count(), "n")
        .group_by(waitlist_entry::Column::Status)
        .into_tuple()
        .all(db)
        .await
}
