//! Booking: `createAppointment`, with every rule checked inside the write transaction.
//!
//! A booking is a [`WriteQueue`](crate::db::group_commit::WriteQueue) job: on SQLite it is
//! committed together with the other bookings waiting for the one writer (in a savepoint of its
//! own only when one of them fails). Its statements: one `SELECT` for everything it checks and
//! names in its emails (the doctor, their profile and availability, the patient and whether they
//! have a profile, the doctor's time off from the start on, how many upcoming appointments the
//! patient holds), then one `INSERT` each for the appointment, its event, the audit entry and the
//! emails, nothing read back, sent to SQLite in one round trip (on PostgreSQL one after the other,
//! then the notices). In a group, that round trip is the next booking's `SELECT`
//! ([`WriteQueue::run_carrying`](crate::db::group_commit::WriteQueue::run_carrying)).
//!
//! The checks are [`clear`]'s, which a slot hold (`domain::holds`) runs too: a hold is refused
//! exactly when a booking by its patient would be. Whichever runs, it first ends the doctor's and
//! the patient's holds that have expired (only when the `SELECT` found one), so that an expired
//! hold's row in `calendar_blocks` never refuses a time. A booking from a hold (`holdId`) reads the
//! hold, takes the locks, consumes it (before the appointment's `INSERT`, so that the hold's block
//! is gone when the appointment's is written), then runs the checks but notice and horizon.
use chrono::{DateTime, NaiveTime, SecondsFormat, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryResult, QueryTrait, Set};
use uuid::Uuid;

use super::{
    AppointmentEventKind, AppointmentStatus, Failure, Grid, MAX_REASON_CHARS, UpcomingLimits, away, check_start,
    end_expired_holds, events::record_with, lock_parties, upcoming_counts_sql, with_retries,
};
use crate::{
    auth::viewer::Viewer,
    db::batch,
    db::entities::{
        appointment,
        slot_hold::{self, HoldStatus},
    },
    domain::Store,
    domain::appointments::notices::{Mail, Parties, Person},
    domain::{
        Role,
        profiles::parse_time_zone,
        schedule::{Rule, Weekday},
        validation,
        visit_types::{self, Policy, Terms},
        webhooks,
    },
    error::{AppError, AppResult, Clash},
    events::EventNotice,
};

/// What `createAppointment` receives.
pub struct NewAppointment {
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub reason_for_visit: String,
    /// Length, buffers and (for patients) policy of this type; `None`: the doctor's `slotMinutes`,
    /// no buffers, no policy.
    pub visit_type_id: Option<Uuid>,
    /// Book the time this live hold keeps (and consume it): the doctor, the patient and the visit
    /// type default to the hold's, and must match it when given, as `starts_at` must.
    pub hold_id: Option<Uuid>,
    /// The end the caller was shown (FHIR's `$book` gives one): a booking that would end at
    /// another time, because the type's or the doctor's length is not what it was, is refused with
    /// `BAD_USER_INPUT` on `endsAt`, judged inside the booking's transaction. `None`: no claim.
    pub ends_at: Option<DateTime<Utc>>,
}

/// Who asks for which time, once the viewer's side is settled: what a booking and a hold are
/// checked against ([`clear`]). Owned: a write job may run again.
#[derive(Clone, Debug)]
pub struct Request {
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub visit_type_id: Option<Uuid>,
    /// Free slots of the grid only: patients, admins booking for them, and every hold.
    pub on_grid: bool,
    /// A doctor acting at their own calendar: their own unbookable account is a right they lack
    /// (`FORBIDDEN`), where the others are told the doctor cannot be booked.
    pub by_the_doctor: bool,
    /// The patient acting for themself: a visit type they may not book is one they may not know
    /// (`NOT_FOUND`).
    pub by_the_patient: bool,
    /// The patient's rules for the visit type apply whoever acts (a hold): a type patients may not
    /// book is refused (`BAD_USER_INPUT` to a doctor or admin, who may see it).
    pub for_the_patient: bool,
    /// The visit type's notice and horizon are judged now: for a patient's booking and every hold,
    /// not for a booking from a hold (judged when the hold was made).
    pub judge_policy: bool,
    pub limits: UpcomingLimits,
    /// The end the caller expects ([`NewAppointment::ends_at`]); `None` for any.
    pub ends_at: Option<DateTime<Utc>>,
}

/// What [`clear`] found: the visit's terms and times, and the two people (for a booking's emails).
pub struct Cleared {
    pub terms: Terms,
    pub ends_at: DateTime<Utc>,
    pub blocked_from: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub parties: Parties,
    /// What the facts said of the webhook endpoints (none active: no deliveries to look for).
    pub endpoints: webhooks::Endpoints,
}

/// A booking request once the viewer's side is settled: what the job needs, owned (it may run
/// again, see [`crate::db::group_commit::WriteQueue::run`]).
#[derive(Clone)]
pub(super) struct Booking {
    /// The two people and the type (with a hold: only those given, checked against the hold's).
    pub(super) doctor_id: Option<Uuid>,
    pub(super) patient_id: Option<Uuid>,
    visit_type_id: Option<Uuid>,
    pub(super) starts_at: DateTime<Utc>,
    /// The end the caller expects ([`NewAppointment::ends_at`]).
    ends_at: Option<DateTime<Utc>>,
    pub(super) hold_id: Option<Uuid>,
    reason: String,
    pub(super) status: AppointmentStatus,
    on_grid: bool,
    pub(super) actor: Uuid,
    role: Role,
    limits: UpcomingLimits,
    /// Booking a waitlist offer's hold (`acceptWaitlistOffer`, already allowed to the viewer): only
    /// then is an offer's hold usable, and it is booked as its patient would book it.
    offer: bool,
    /// The occurrence of a recurring series this booking is (`None`: a single appointment): the
    /// row says so, and its event writes the reminders only (the series has one email).
    pub(super) in_series: Option<InSeries>,
}

/// Which occurrence of which series a booking is.
#[derive(Clone, Copy, Debug)]
pub(super) struct InSeries {
    pub(super) id: Uuid,
    pub(super) occurrence: i32,
}

impl Booking {
    /// The same booking at `starts_at`, as occurrence `in_series` of a recurring series.
    pub(super) fn occurrence(&self, starts_at: DateTime<Utc>, in_series: InSeries) -> Self {
        Self { starts_at, in_series: Some(in_series), ..self.clone() }
    }

    /// The request checked for this booking, of these people and type.
    fn request(&self, doctor_id: Uuid, patient_id: Uuid, visit_type_id: Option<Uuid>, from_hold: bool) -> Request {
        let by_the_patient = self.role == Role::Patient || self.offer;
        Request {
            doctor_id,
            patient_id,
            starts_at: self.starts_at,
            visit_type_id,
            on_grid: self.on_grid,
            by_the_doctor: self.role == Role::Doctor,
            by_the_patient,
            for_the_patient: by_the_patient,
            judge_policy: by_the_patient && !from_hold,
            limits: self.limits,
            ends_at: self.ends_at,
        }
    }
}

/// Books an appointment.
///
/// A patient books with `doctor_id` (their own id implied), a doctor with `patient_id` (their own id
/// implied), an admin with both. Patients (and admins, booking for a patient) only get free slots
/// of the doctor's availability; doctors may book any time but their time off. A patient's booking
/// is `PENDING`; a doctor's or admin's is `CONFIRMED`.
///
/// With `hold_id`, the time a live hold keeps is booked and the hold consumed, in one transaction:
/// the hold must be the viewer's own (a patient) or placed by them (a doctor or admin); the people
/// and the type default to the hold's; every check runs again but the visit type's notice and
/// horizon (judged when the hold was made).
///
/// # Errors
/// `FORBIDDEN` for an id of the wrong role's side, and for a doctor who is not verified or not
/// active (booking with such a doctor is `BAD_USER_INPUT` on `doctorId` for the others);
/// `BAD_USER_INPUT` naming the field (`doctorId`,
/// `patientId`, `startsAt`, `reasonForVisit`, `visitTypeId`; with a hold, a field that does not
/// match it); `CONFLICT` (field `startsAt`) when the doctor or the
/// patient already has an active appointment or live hold overlapping that time, decided by the
/// database; `FORBIDDEN` with reason `TOO_MANY_UPCOMING` when the patient already holds `limits`' most
/// upcoming appointments, in all or with this doctor (whoever books), counted inside the
/// booking's write transaction after its locks, so simultaneous bookings cannot pass it together.
/// With a hold: `NOT_FOUND` (field `holdId`) for a hold that is not the viewer's; `CONFLICT`
/// (field `holdId`, reason `HOLD_EXPIRED`) for one that expired, was released or was consumed.
pub async fn create(
    store: &Store,
    viewer: &Viewer,
    input: NewAppointment,
    limits: UpcomingLimits,
) -> AppResult<appointment::Model> {
    let booking = prepare(viewer, &input, limits)?;
    let (appt, notice, _) = with_retries(|| {
        let (owned, booking) = (store.clone(), booking.clone());
        // `book` begins with the facts' query (or, with a hold, by running what was carried) and
        // ends with the event's writes.
        store.writes.run_carrying(move |txn| {
            let (store, booking) = (owned.clone(), booking.clone());
            Box::pin(async move { book(&store, txn, &booking).await })
        })
    })
    .await?;
    store.events.committed(&[notice]);
    Ok(appt)
}

/// The viewer's side of a booking, settled before any database work: who books for whom (an id of
/// the viewer's own side must be theirs), and the reason for visit checked.
///
/// # Errors
/// `FORBIDDEN` for an id of the wrong role's side; `BAD_USER_INPUT` for a missing `doctorId` or
/// `patientId` (without a hold) or a bad `reasonForVisit`.
pub(super) fn prepare(viewer: &Viewer, input: &NewAppointment, limits: UpcomingLimits) -> AppResult<Booking> {
    let role = viewer.role();
    // An id of the viewer's own side must be theirs.
    match role {
        Role::Patient if input.patient_id.is_some_and(|p| p != viewer.id()) => return Err(AppError::Forbidden),
        Role::Doctor if input.doctor_id.is_some_and(|d| d != viewer.id()) => return Err(AppError::Forbidden),
        _ => {}
    }
    let (mut doctor_id, mut patient_id) = (input.doctor_id, input.patient_id);
    match role {
        Role::Patient => patient_id = Some(viewer.id()),
        Role::Doctor => doctor_id = Some(viewer.id()),
        Role::Admin => {}
    }
    // Without a hold, the other side (and for an admin both) must be named.
    if input.hold_id.is_none() {
        if doctor_id.is_none() {
            return Err(AppError::bad_input("doctorId", "doctorId is required"));
        }
        if patient_id.is_none() {
            return Err(AppError::bad_input("patientId", "patientId is required"));
        }
    }
    let reason = validation::name_like(&input.reason_for_visit, "reasonForVisit", MAX_REASON_CHARS)?;
    Ok(Booking {
        doctor_id,
        patient_id,
        visit_type_id: input.visit_type_id,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        hold_id: input.hold_id,
        reason,
        status: if role == Role::Patient { AppointmentStatus::Pending } else { AppointmentStatus::Confirmed },
        on_grid: role != Role::Doctor,
        actor: viewer.id(),
        role,
        limits,
        in_series: None,
        offer: false,
    })
}

/// The hold a booking names, as its viewer may use it: `NOT_FOUND` (field `holdId`) unless it is
/// theirs (a patient's own; a doctor's or admin's: one they placed), `BAD_USER_INPUT` naming a given
/// field that differs from the hold's. Whether it is still live is decided when it is consumed.
async fn held_for(txn: &DatabaseTransaction, b: &Booking, id: Uuid) -> Result<slot_hold::Model, Failure> {
    let not_found = || AppError::NotFoundAt { what: "Hold", field: "holdId" };
    let hold = slot_hold::Entity::find_by_id(id).one(txn).await?.ok_or_else(not_found)?;
    // An offer's hold is answered only through its waitlist entry.
    let theirs = b.offer == hold.waitlist_entry_id.is_some()
        && (b.offer
            || match b.role {
                Role::Patient => hold.patient_id == b.actor,
                Role::Doctor | Role::Admin => hold.placed_by == b.actor,
            });
    if !theirs {
        return Err(not_found().into());
    }
    if b.starts_at != hold.starts_at {
        return Err(AppError::bad_input("startsAt", "startsAt must be the time the hold keeps").into());
    }
    if b.doctor_id.is_some_and(|d| d != hold.doctor_id) {
        return Err(AppError::bad_input("doctorId", "doctorId must be the hold's doctor").into());
    }
    if b.patient_id.is_some_and(|p| p != hold.patient_id) {
        return Err(AppError::bad_input("patientId", "patientId must be the hold's patient").into());
    }
    if b.visit_type_id.is_some() && b.visit_type_id != hold.visit_type_id {
        return Err(AppError::bad_input("visitTypeId", "visitTypeId must be the hold's visit type").into());
    }
    Ok(hold)
}

/// Books the time waitlist offer `hold_id` keeps, inside `txn` (the accepting transaction), as its
/// patient would book it (`PENDING`; every check again but notice and horizon, judged when the
/// offer was made), consuming the hold; `actor` is who accepted. The caller has checked that the
/// viewer may answer the offer, and runs [`crate::events::EventHub::committed`] with the notice
/// after its commit.
///
/// # Errors
/// As [`create`] with a hold: `CONFLICT` (field `holdId`, reason `HOLD_EXPIRED`) for an offer no
/// longer live.
pub(crate) async fn book_offer(
    store: &Store,
    txn: &DatabaseTransaction,
    hold: &slot_hold::Model,
    reason: String,
    actor: Uuid,
    limits: UpcomingLimits,
) -> Result<(appointment::Model, EventNotice), Failure> {
    let booking = Booking {
        doctor_id: None,
        patient_id: None,
        visit_type_id: None,
        starts_at: hold.starts_at,
        ends_at: None,
        hold_id: Some(hold.id),
        reason,
        status: AppointmentStatus::Pending,
        on_grid: true,
        actor,
        role: Role::Patient,
        limits,
        offer: true,
        in_series: None,
    };
    let (appt, notice, _) = book(store, txn, &booking).await?;
    Ok((appt, notice))
}

/// Consumes hold `id` if it is still live at `now`, inside `txn` after the booking's locks: one
/// conditional `UPDATE`, so that of two bookings from one hold only one consumes it. Its block in
/// `calendar_blocks` goes with it (the triggers).
async fn consume_hold(txn: &DatabaseTransaction, id: Uuid, now: DateTime<Utc>) -> Result<(), Failure> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let consumed = slot_hold::Entity::update_many()
        .col_expr(slot_hold::Column::Status, Expr::value(HoldStatus::Consumed))
        .col_expr(slot_hold::Column::EndedAt, Expr::value(now))
        .filter(slot_hold::Column::Id.eq(id))
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(slot_hold::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    if consumed.rows_affected == 0 {
        return Err(AppError::ConflictFor { field: "holdId", why: Clash::HoldExpired }.into());
    }
    Ok(())
}

/// Checks `r` inside `txn` as a booking would, after taking the locks of its doctor and patient
/// ([`lock_parties`]), and first ends their expired holds. What a hold and a booking share.
///
/// # Errors
/// As [`create`] (without a hold's own errors); a database error.
pub(crate) async fn clear(txn: &DatabaseTransaction, r: &Request, now: DateTime<Utc>) -> Result<Cleared, Failure> {
    lock_parties(txn, r.doctor_id, r.patient_id).await?;
    clear_locked(txn, r, now).await
}

/// One run of a booking inside `txn`: the appointment, its event's notice, and its two people.
pub(super) async fn book(
    store: &Store,
    txn: &DatabaseTransaction,
    b: &Booking,
) -> Result<(appointment::Model, EventNotice, Parties), Failure> {
    let now = store.clock.now();
    let (r, cleared) = match b.hold_id {
        None => {
            let (Some(doctor), Some(patient)) = (b.doctor_id, b.patient_id) else {
                return Err(AppError::internal("booking without its people").into());
            };
            let r = b.request(doctor, patient, b.visit_type_id, false);
            let cleared = clear(txn, &r, now).await?;
            (r, cleared)
        }
        Some(id) => {
            // The writes a booking before this one in the group handed over run first.
            batch::flush_carried(txn).await?;
            let hold = held_for(txn, b, id).await?;
            let r = b.request(hold.doctor_id, hold.patient_id, hold.visit_type_id, true);
            lock_parties(txn, r.doctor_id, r.patient_id).await?;
            // Before the checks and the insert: the hold's own block must not refuse its booking.
            consume_hold(txn, id, now).await?;
            let cleared = clear_locked(txn, &r, now).await?;
            (r, cleared)
        }
    };
    let Cleared { terms, ends_at, blocked_from, blocked_until, parties, endpoints } = cleared;
    let policy = terms.policy;

    let appt = appointment::Model {
        id: Uuid::now_v7(),
        doctor_id: r.doctor_id,
        patient_id: r.patient_id,
        starts_at: r.starts_at,
        ends_at,
        reason_for_visit: b.reason.clone(),
        status: b.status,
        cancellation_reason: None,
        created_at: now,
        updated_at: now,
        visit_type_id: r.visit_type_id,
        blocked_from,
        blocked_until,
        min_notice_minutes: policy.map(|p| p.min_notice_minutes),
        horizon_days: policy.map(|p| p.horizon_days),
        patient_cancel_cutoff_minutes: policy.map(|p| p.cancel_cutoff_minutes),
        patient_reschedule_cutoff_minutes: policy.map(|p| p.reschedule_cutoff_minutes),
        cancelled_at: None,
        series_id: b.in_series.map(|s| s.id),
        occurrence: b.in_series.map(|s| s.occurrence),
    };
    let insert = appointment::Entity::insert(appointment::ActiveModel {
        id: Set(appt.id),
        doctor_id: Set(appt.doctor_id),
        patient_id: Set(appt.patient_id),
        starts_at: Set(appt.starts_at),
        ends_at: Set(appt.ends_at),
        reason_for_visit: Set(appt.reason_for_visit.clone()),
        status: Set(appt.status),
        cancellation_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        visit_type_id: Set(appt.visit_type_id),
        blocked_from: Set(appt.blocked_from),
        blocked_until: Set(appt.blocked_until),
        min_notice_minutes: Set(appt.min_notice_minutes),
        horizon_days: Set(appt.horizon_days),
        patient_cancel_cutoff_minutes: Set(appt.patient_cancel_cutoff_minutes),
        patient_reschedule_cutoff_minutes: Set(appt.patient_reschedule_cutoff_minutes),
        cancelled_at: Set(None),
        series_id: Set(appt.series_id),
        occurrence: Set(appt.occurrence),
    })
    .build(txn.get_database_backend());
    // The insert runs first in the event's round trip: an overlap refused by the database stops
    // it there, before the event's rows.
    let mail = if b.in_series.is_some() { Mail::RemindersOnly } else { Mail::All };
    let notice = record_with(
        store,
        txn,
        &appt,
        AppointmentEventKind::Created,
        None,
        Some(b.actor),
        now,
        Some(&parties),
        Some(insert),
        mail,
        endpoints,
    )
    .await?;
    Ok((appt, notice, parties))
}

/// [`clear`] once the locks are taken: one `SELECT` of the facts, the `UPDATE` that ends expired
/// holds when it found any, then the rules, in the order a client meets them.
async fn clear_locked(txn: &DatabaseTransaction, r: &Request, now: DateTime<Utc>) -> Result<Cleared, Failure> {
    let facts = Facts::load(txn, r, now).await?;
    if facts.expired_holds {
        end_expired_holds(txn, r.doctor_id, r.patient_id, now).await?;
    }
    let not_bookable = || -> Failure {
        if r.by_the_doctor {
            AppError::Forbidden.into()
        } else {
            AppError::bad_input("doctorId", "The doctor is not available for booking").into()
        }
    };
    let Some(doctor) = facts.doctor.filter(|d| d.role == Role::Doctor) else {
        return Err(AppError::bad_input("doctorId", "The doctor is not available for booking").into());
    };
    let Some(profile) = facts.profile.filter(|p| doctor.is_active && p.verified) else {
        return Err(not_bookable());
    };
    let tz = parse_time_zone(&profile.time_zone)?;
    let Some(patient) = facts.patient.filter(|p| p.role == Role::Patient && p.is_active && p.has_profile) else {
        return Err(AppError::bad_input(
            "patientId",
            "The patient needs an active account with a patient profile to book",
        )
        .into());
    };
    let terms = match (r.visit_type_id, &facts.visit_type) {
        (None, _) => Terms::plain(profile.slot_minutes),
        (Some(_), None) => return Err(visit_types::not_found().into()),
        (Some(_), Some(vt)) => {
            if r.by_the_patient && !(vt.active && vt.patient_bookable) {
                return Err(visit_types::not_found().into());
            }
            if !vt.active {
                return Err(AppError::bad_input("visitTypeId", "This visit type is not active").into());
            }
            if r.for_the_patient && !vt.patient_bookable {
                return Err(AppError::bad_input("visitTypeId", "Patients may not book this visit type").into());
            }
            vt.terms
        }
    };
    let (ends, blocked_from, blocked_until) = terms.blocks(r.starts_at);
    if let Some(asked) = r.ends_at
        && asked != ends
    {
        let (minutes, at) = (terms.duration_minutes, ends.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        return Err(
            AppError::bad_input("endsAt", format!("this visit lasts {minutes} minutes, so it ends at {at}")).into()
        );
    }
    let grid = Grid { tz, rules: &facts.rules, slot_minutes: i64::from(terms.duration_minutes) };
    let ends_at = check_start(&grid, r.starts_at, r.on_grid, now)?;
    if facts.time_off_from.is_some_and(|from| from < ends_at) {
        return Err(away());
    }
    if r.judge_policy
        && let Some(policy) = terms.policy
    {
        policy.check_start(r.starts_at, now)?;
    }
    r.limits.check(facts.upcoming, facts.upcoming_with_doctor)?;
    Ok(Cleared {
        terms,
        ends_at,
        blocked_from,
        blocked_until,
        parties: Parties { doctor: doctor.person, patient: patient.person, tz },
        endpoints: facts.endpoints,
    })
}

/// A user as a booking checks them.
struct Account {
    role: Role,
    is_active: bool,
    person: Person,
}

/// What a booking checks, read in one statement.
struct Facts {
    doctor: Option<Account>,
    profile: Option<DoctorProfile>,
    /// The doctor's availability (any order).
    rules: Vec<Rule>,
    patient: Option<Patient>,
    /// The earliest start of the doctor's time off that ends after the booking starts: the booking
    /// is over time off exactly when this is before its end.
    time_off_from: Option<DateTime<Utc>>,
    /// The patient's upcoming appointments (see [`UpcomingLimits`]), in all and with this doctor.
    upcoming: i64,
    upcoming_with_doctor: i64,
    /// The visit type asked for, when it is this doctor's.
    visit_type: Option<VisitTypeFacts>,
    /// Whether the doctor or the patient has a hold still `LIVE` whose time has run out: its row
    /// in `calendar_blocks` must go before anything is written.
    expired_holds: bool,
    /// Whether any webhook endpoint may be active (`NoneActive`: the event's deliveries are not
    /// looked for, a statement less in the booking).
    endpoints: webhooks::Endpoints,
}

struct VisitTypeFacts {
    active: bool,
    patient_bookable: bool,
    terms: Terms,
}

struct DoctorProfile {
    verified: bool,
    time_zone: String,
    slot_minutes: i32,
}

struct Patient {
    role: Role,
    is_active: bool,
    has_profile: bool,
    person: Person,
}

/// One row (none when the doctor does not exist); the doctor's availability rules in one text
/// column, `weekday start end` each, separated by commas (see [`parse_rules`]): a row per rule
/// repeated every other column, which the driver copies value by value. Parameters: `$1` doctor, `$2` patient, `$3` start, `$4`
/// now, `$5` the visit type (null: none; a type of another doctor joins nothing). The text is the same on both backends and for every booking (SQLite reads `$n` too), so
/// each connection prepares it once. The scalar subqueries (time off, the upcoming counts, whether
/// an expired hold is still live, answered from the partial indexes of live holds) are
/// uncorrelated: each runs once.
const FACTS_SQL: &str = concat!(
    "SELECT d.role, d.is_active, d.first_name, d.last_name, d.email, d.email_reminders, \
dp.verified, dp.time_zone, dp.slot_minutes, \
p.role, p.is_active, p.first_name, p.last_name, p.email, p.email_reminders, pp.user_id IS NOT NULL, \
(SELECT MIN(t.starts_at) FROM time_off t WHERE t.doctor_id = $1 AND t.ends_at > $3), ",
    upcoming_counts_sql!("$1", "$2", "$4"),
    ", (SELECT string_agg(CAST(r.weekday AS TEXT) || ' ' || CAST(r.start_time AS TEXT) || ' ' || \
CAST(r.end_time AS TEXT), ',') FROM availability_rules r WHERE r.doctor_id = $1), \
vt.active, vt.patient_bookable, vt.duration_minutes, vt.buffer_before_minutes, vt.buffer_after_minutes, \
vt.min_notice_minutes, vt.horizon_days, vt.patient_cancel_cutoff_minutes, vt.patient_reschedule_cutoff_minutes, \
(EXISTS (SELECT 1 FROM slot_holds h WHERE h.doctor_id = $1 AND h.status = 'LIVE' AND h.expires_at <= $4) \
OR EXISTS (SELECT 1 FROM slot_holds h WHERE h.patient_id = $2 AND h.status = 'LIVE' AND h.expires_at <= $4)), \
p.phone, p.sms_reminders, \
EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.active) \
FROM users d \
LEFT JOIN doctor_profiles dp ON dp.user_id = d.id \
LEFT JOIN users p ON p.id = $2 \
LEFT JOIN patient_profiles pp ON pp.user_id = p.id \
LEFT JOIN visit_types vt ON vt.id = $5 AND vt.doctor_id = d.id \
WHERE d.id = $1"
);

impl Facts {
    async fn load(txn: &DatabaseTransaction, b: &Request, now: DateTime<Utc>) -> Result<Self, DbErr> {
        // A booking's first statement: the writes of the booking before it in the group go along.
        let values =
            vec![b.doctor_id.into(), b.patient_id.into(), b.starts_at.into(), now.into(), b.visit_type_id.into()];
        let Some(first) = batch::query_one_after_carried(txn, FACTS_SQL, values).await? else {
            return Ok(Self {
                doctor: None,
                profile: None,
                rules: Vec::new(),
                patient: None,
                time_off_from: None,
                upcoming: 0,
                upcoming_with_doctor: 0,
                visit_type: None,
                expired_holds: false,
                endpoints: webhooks::Endpoints::NoneActive,
            });
        };
        let person = |r: &QueryResult, at: usize, id: Uuid| -> Result<Person, DbErr> {
            Ok(Person {
                id,
                first_name: r.try_get_by_index(at)?,
                last_name: r.try_get_by_index(at + 1)?,
                email: r.try_get_by_index(at + 2)?,
                email_reminders: r.try_get_by_index(at + 3)?,
                // The patient's are read at the end of the row (the doctor gets no SMS).
                phone: None,
                sms_reminders: false,
            })
        };
        let doctor = Account {
            role: first.try_get_by_index(0)?,
            is_active: first.try_get_by_index(1)?,
            person: person(&first, 2, b.doctor_id)?,
        };
        let profile = match first.try_get_by_index::<Option<bool>>(6)? {
            Some(verified) => Some(DoctorProfile {
                verified,
                time_zone: first.try_get_by_index(7)?,
                slot_minutes: first.try_get_by_index(8)?,
            }),
            None => None,
        };
        let patient = match first.try_get_by_index::<Option<Role>>(9)? {
            Some(role) => Some(Patient {
                role,
                is_active: first.try_get_by_index(10)?,
                person: Person {
                    phone: first.try_get_by_index(30)?,
                    sms_reminders: first.try_get_by_index(31)?,
                    ..person(&first, 11, b.patient_id)?
                },
                has_profile: first.try_get_by_index(15)?,
            }),
            None => None,
        };
        let time_off_from = first.try_get_by_index(16)?;
        let (upcoming, upcoming_with_doctor) = (first.try_get_by_index(17)?, first.try_get_by_index(18)?);
        let rules = parse_rules(first.try_get_by_index::<Option<String>>(19)?.as_deref().unwrap_or_default())?;
        let visit_type = match first.try_get_by_index::<Option<bool>>(20)? {
            Some(active) => Some(VisitTypeFacts {
                active,
                patient_bookable: first.try_get_by_index(21)?,
                terms: Terms {
                    duration_minutes: first.try_get_by_index(22)?,
                    buffer_before_minutes: first.try_get_by_index(23)?,
                    buffer_after_minutes: first.try_get_by_index(24)?,
                    policy: Some(Policy {
                        min_notice_minutes: first.try_get_by_index(25)?,
                        horizon_days: first.try_get_by_index(26)?,
                        cancel_cutoff_minutes: first.try_get_by_index(27)?,
                        reschedule_cutoff_minutes: first.try_get_by_index(28)?,
                    }),
                },
            }),
            None => None,
        };
        Ok(Self {
            doctor: Some(doctor),
            profile,
            rules,
            patient,
            time_off_from,
            upcoming,
            upcoming_with_doctor,
            visit_type,
            expired_holds: first.try_get_by_index(29)?,
            endpoints: if first.try_get_by_index(32)? {
                webhooks::Endpoints::Unknown
            } else {
                webhooks::Endpoints::NoneActive
            },
        })
    }
}

/// The availability rules of [`FACTS_SQL`]'s text column: `weekday start end`, comma-separated
/// (empty: none). The times are written `HH:MM:SS` by both backends.
fn parse_rules(text: &str) -> Result<Vec<Rule>, DbErr> {
    let bad = || DbErr::Type("an availability rule the booking cannot read".to_owned());
    text.split(',')
        .filter(|rule| !rule.is_empty())
        .map(|rule| {
            let mut parts = rule.split(' ');
            let mut next = || parts.next().ok_or_else(bad);
            let weekday: i16 = next()?.parse().map_err(|_| bad())?;
            let start: NaiveTime = next()?.parse().map_err(|_| bad())?;
            let end: NaiveTime = next()?.parse().map_err(|_| bad())?;
            Ok(Rule { weekday: Weekday::from_index(weekday).ok_or_else(bad)?, start, end })
        })
        .collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use chrono::NaiveTime;

    use super::{Weekday, parse_rules};

    #[test]
    fn availability_rules_are_read_from_their_text_column() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(parse_rules("").unwrap().is_empty());
        let rules = parse_rules("0 08:00:00 18:00:00,6 09:30:00 12:15:00").unwrap();
        let read: Vec<_> = rules.iter().map(|r| (r.weekday, r.start, r.end)).collect();
        assert_eq!(read, [(Weekday::Mon, t(8, 0), t(18, 0)), (Weekday::Sun, t(9, 30), t(12, 15))]);
        for bad in ["7 08:00:00 18:00:00", "0 08:00:00", "0 8h 18:00:00", "x 08:00:00 18:00:00"] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
    }
}
