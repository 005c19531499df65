//! The status lifecycle (confirm, cancel, complete, no-show) and moves (reschedule).
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use super::{
    AppointmentEventKind, AppointmentStatus, Failure, Grid, MAX_REASON_CHARS, UpcomingLimits, away_at, check_start,
    check_upcoming, end_expired_holds,
    events::{record, record_with},
    load_for, lock_parties,
    notices::Mail,
    with_retries,
};
use crate::{
    auth::viewer::Viewer,
    db::{begin_write, entities::appointment},
    domain::Store,
    domain::{privacy::AppointmentPart as Party, schedule::DoctorCalendar, validation, visit_types, webhooks},
    error::{AppError, AppResult, Refusal},
    events::EventNotice,
};

/// The changes a transition makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Confirm,
    Cancel,
    Complete,
    NoShow,
}

/// Applies a status transition.
///
/// `PENDING → CONFIRMED` (doctor, admin); `PENDING|CONFIRMED → CANCELLED` (either party, admin);
/// `CONFIRMED → COMPLETED|NO_SHOW` (doctor, admin; once `startsAt` has passed).
///
/// # Errors
/// `NOT_FOUND` when the viewer may not know the appointment; `FORBIDDEN` for a party not allowed
/// this transition, and for a doctor who is not verified or not active confirming (they may still
/// cancel, complete and mark no-shows); `BAD_USER_INPUT` (field `status`) for a transition the
/// status does not allow.
pub async fn transition(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    what: Transition,
    reason: Option<String>,
) -> AppResult<appointment::Model> {
    let reason = validation::optional_text(reason.as_deref(), "reason", MAX_REASON_CHARS)?;
    let (appt, notice) = with_retries(|| {
        let reason = reason.clone();
        async move {
            let txn = begin_write(&store.writer).await?;
            let now = store.clock.now();
            let (appt, who) = load_for(&txn, viewer, id).await?;
            let (appt, notice) = apply(store, &txn, viewer, appt, who, what, reason, now, Mail::All).await?;
            txn.commit().await?;
            Ok((appt, notice))
        }
    })
    .await?;
    store.events.committed(&[notice]);
    Ok(appt)
}

/// One transition of `appt`, which `viewer` (its party `who`) may see, inside `txn` at `now`: the
/// rules of [`transition`], the update and its event (with `mail`'s emails). A series'
/// cancellation runs it for each of its occurrences.
#[expect(clippy::too_many_arguments, reason = "one transition's facts, each needed")]
pub(super) async fn apply(
    store: &Store,
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    appt: appointment::Model,
    who: Party,
    what: Transition,
    reason: Option<String>,
    now: DateTime<Utc>,
    mail: Mail,
) -> Result<(appointment::Model, EventNotice), Failure> {
    let staff = matches!(who, Party::Doctor | Party::Admin);
    let (allowed_from, to, kind): (&[AppointmentStatus], _, _) = match what {
        Transition::Confirm => {
            (&[AppointmentStatus::Pending], AppointmentStatus::Confirmed, AppointmentEventKind::Confirmed)
        }
        Transition::Cancel => (
            &[AppointmentStatus::Pending, AppointmentStatus::Confirmed],
            AppointmentStatus::Cancelled,
            AppointmentEventKind::Cancelled,
        ),
        Transition::Complete => {
            (&[AppointmentStatus::Confirmed], AppointmentStatus::Completed, AppointmentEventKind::Completed)
        }
        Transition::NoShow => {
            (&[AppointmentStatus::Confirmed], AppointmentStatus::NoShow, AppointmentEventKind::NoShow)
        }
    };
    if what != Transition::Cancel && !staff {
        return Err(AppError::Forbidden.into());
    }
    if what == Transition::Confirm
        && who == Party::Doctor
        && !DoctorCalendar::load(txn, appt.doctor_id).await?.bookable()
    {
        return Err(AppError::Forbidden.into());
    }
    if !allowed_from.contains(&appt.status) {
        return Err(AppError::bad_input(
            "status",
            format!("A {} appointment cannot become {}", status_word(appt.status), status_word(to)),
        )
        .into());
    }
    if matches!(what, Transition::Complete | Transition::NoShow) && appt.starts_at > now {
        return Err(AppError::bad_input("status", "The appointment has not started yet").into());
    }
    if what == Transition::Cancel
        && who == Party::Patient
        && let Some(cutoff) = appt.patient_cancel_cutoff_minutes
        && now + TimeDelta::minutes(i64::from(cutoff)) > appt.starts_at
    {
        return Err(AppError::Refused(Refusal::CancellationWindowClosed).into());
    }
    let mut model: appointment::ActiveModel = appt.into();
    model.status = Set(to);
    if what == Transition::Cancel {
        model.cancellation_reason = Set(reason);
        model.cancelled_at = Set(Some(now));
    }
    model.updated_at = Set(now);
    let appt = model.update(txn).await?;
    let notice = record_with(
        store,
        txn,
        &appt,
        kind,
        None,
        Some(viewer.id()),
        now,
        None,
        None,
        mail,
        webhooks::Endpoints::Unknown,
    )
    .await?;
    Ok((appt, notice))
}

/// Cancels appointment `id` inside `txn` for a waitlist offer accepted in its place, with reason
/// `reason`: by `actor`, exempt from the patient's cutoff and never a late cancellation (no
/// `cancelled_at` is kept, which is what lateness is judged by). Nothing when it is no longer
/// active. Returns the event's notice, for after the commit.
///
/// # Errors
/// Internal only.
pub(crate) async fn cancel_replaced(
    store: &Store,
    txn: &DatabaseTransaction,
    id: Uuid,
    reason: &str,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<EventNotice>, Failure> {
    use sea_orm::EntityTrait;
    let Some(appt) = appointment::Entity::find_by_id(id).one(txn).await?.filter(|a| a.status.is_active()) else {
        return Ok(None);
    };
    let mut model: appointment::ActiveModel = appt.into();
    model.status = Set(AppointmentStatus::Cancelled);
    model.cancellation_reason = Set(Some(reason.to_owned()));
    model.cancelled_at = Set(None);
    model.updated_at = Set(now);
    let appt = model.update(txn).await?;
    let notice = record(store, txn, &appt, AppointmentEventKind::Cancelled, None, Some(actor), now, None, None).await?;
    Ok(Some(notice))
}

fn status_word(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Pending => "pending",
        AppointmentStatus::Confirmed => "confirmed",
        AppointmentStatus::Completed => "completed",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::NoShow => "no-show",
    }
}

/// Moves an active appointment to another start, re-running every booking check as its mover.
/// It is `PENDING` afterwards when the patient moved it, `CONFIRMED` otherwise.
///
/// A move keeps the appointment's place under the upcoming limits (it adds none), except one that
/// had already started: moved into the future, it counts again, and is refused as a booking
/// would be when the patient already holds as many as `limits` allow.
///
/// # Errors
/// As [`create`] and [`transition`]: a doctor who is not verified or not active may not move
/// (`FORBIDDEN`); the patient or an admin moving with such a doctor gets `BAD_USER_INPUT` on
/// `doctorId`; `FORBIDDEN` with reason `TOO_MANY_UPCOMING` as above.
pub async fn reschedule(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    starts_at: DateTime<Utc>,
    limits: UpcomingLimits,
) -> AppResult<appointment::Model> {
    let (appt, notice) = with_retries(|| async move {
        let txn = begin_write(&store.writer).await?;
        let now = store.clock.now();
        let (appt, who) = load_for(&txn, viewer, id).await?;
        lock_parties(&txn, appt.doctor_id, appt.patient_id).await?;
        if !appt.status.is_active() {
            return Err(AppError::bad_input(
                "status",
                format!("A {} appointment cannot be rescheduled", status_word(appt.status)),
            )
            .into());
        }
        // A hold whose time ran out blocks nothing: its row must not refuse the move.
        end_expired_holds(&txn, appt.doctor_id, appt.patient_id, now).await?;
        let cal = DoctorCalendar::load(&txn, appt.doctor_id).await?;
        if !cal.bookable() {
            return Err(match who {
                Party::Doctor => AppError::Forbidden,
                Party::Patient | Party::Admin => {
                    AppError::bad_input("doctorId", "The doctor is not available for booking")
                }
            }
            .into());
        }
        if who == Party::Patient
            && let Some(cutoff) = appt.patient_reschedule_cutoff_minutes
            && now + TimeDelta::minutes(i64::from(cutoff)) > appt.starts_at
        {
            return Err(AppError::Refused(Refusal::RescheduleWindowClosed).into());
        }
        // The terms it was booked with: a typed visit keeps its length, buffers and policy (and
        // steps on its own grid); a plain one takes the doctor's slot as it is now.
        let terms = if appt.visit_type_id.is_some() { visit_types::terms_of(&appt) } else { cal.plain_terms() };
        let grid = Grid { tz: cal.tz, rules: &cal.rules, slot_minutes: i64::from(terms.duration_minutes) };
        let ends_at = check_start(&grid, starts_at, who != Party::Doctor, now)?;
        away_at(&txn, appt.doctor_id, starts_at, ends_at).await?;
        if who == Party::Patient
            && let Some(policy) = terms.policy
        {
            policy.check_start(starts_at, now)?;
        }
        let (_, blocked_from, blocked_until) = terms.blocks(starts_at);
        if appt.starts_at <= now {
            check_upcoming(&txn, limits, appt.doctor_id, appt.patient_id, now).await?;
        }
        let status = if who == Party::Patient { AppointmentStatus::Pending } else { AppointmentStatus::Confirmed };
        let moved_from = appt.starts_at;
        let mut model: appointment::ActiveModel = appt.into();
        model.starts_at = Set(starts_at);
        model.ends_at = Set(ends_at);
        model.blocked_from = Set(blocked_from);
        model.blocked_until = Set(blocked_until);
        model.status = Set(status);
        model.updated_at = Set(now);
        let appt = model.update(&txn).await?;
        let notice = record(
            store,
            &txn,
            &appt,
            AppointmentEventKind::Rescheduled,
            Some(moved_from),
            Some(viewer.id()),
            now,
            None,
            None,
        )
        .await?;
        txn.commit().await?;
        Ok((appt, notice))
    })
    .await?;
    store.events.committed(&[notice]);
    Ok(appt)
}
