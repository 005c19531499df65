//! Booking: `createAppointment`, with every rule checked inside the write transaction.
//!
//! A booking is a [`WriteQueue`](crate::db::group_commit::WriteQueue) job: on SQLite it is
//! committed together with the other bookings waiting for the one writer, in a savepoint of its
//! own. Its statements: one `SELECT` for everything it checks and names in its emails (the doctor,
//! their profile and availability, the patient and whether they have a profile, the doctor's
//! time off from the start on, how many upcoming appointments the patient holds), then one `INSERT` each for the appointment, its event, the audit
//! entry and the emails, nothing read back, sent to SQLite in one round trip (on PostgreSQL one
//! after the other, then the notices).
use chrono::{DateTime, NaiveTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryResult, QueryTrait, Set, Statement};
use uuid::Uuid;

use super::{
    AppointmentEventKind, AppointmentStatus, Failure, Grid, MAX_REASON_CHARS, UpcomingLimits, away, check_start,
    events::record, lock_parties, upcoming_counts_sql, with_retries,
};
use crate::{
    auth::viewer::Viewer,
    db::entities::appointment,
    domain::Store,
    domain::appointments::notices::{Parties, Person},
    domain::{
        Role,
        profiles::parse_time_zone,
        schedule::{Rule, Weekday},
        validation,
        visit_types::{Policy, Terms},
    },
    error::{AppError, AppResult},
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
}

/// A booking request once the viewer's side is settled: what the job needs, owned (it may run
/// again, see [`crate::db::group_commit::WriteQueue::run`]).
#[derive(Clone)]
struct Booking {
    doctor_id: Uuid,
    patient_id: Uuid,
    starts_at: DateTime<Utc>,
    reason: String,
    status: AppointmentStatus,
    /// Patients, and admins booking for them, get free slots of the grid only.
    on_grid: bool,
    actor: Uuid,
    /// A doctor booking for themself: their own unbookable account is a right they lack.
    by_the_doctor: bool,
    /// A patient booking for themself: the visit type's policy applies, and a type they may not
    /// book is one they may not know.
    by_the_patient: bool,
    visit_type_id: Option<Uuid>,
    limits: UpcomingLimits,
}

/// Books an appointment.
///
/// A patient books with `doctor_id` (their own id implied), a doctor with `patient_id` (their own id
/// implied), an admin with both. Patients (and admins, booking for a patient) only get free slots
/// of the doctor's availability; doctors may book any time but their time off. A patient's booking
/// is `PENDING`; a doctor's or admin's is `CONFIRMED`.
///
/// # Errors
/// `FORBIDDEN` for an id of the wrong role's side, and for a doctor who is not verified or not
/// active (booking with such a doctor is `BAD_USER_INPUT` on `doctorId` for the others);
/// `BAD_USER_INPUT` naming the field (`doctorId`,
/// `patientId`, `startsAt`, `reasonForVisit`); `CONFLICT` (field `startsAt`) when the doctor or the
/// patient already has an active appointment overlapping that time, decided by the database;
/// `FORBIDDEN` with reason `TOO_MANY_UPCOMING` when the patient already holds `limits`' most
/// upcoming appointments, in all or with this doctor (whoever books), counted inside the
/// booking's write transaction after its locks, so simultaneous bookings cannot pass it together.
pub async fn create(
    store: &Store,
    viewer: &Viewer,
    input: NewAppointment,
    limits: UpcomingLimits,
) -> AppResult<appointment::Model> {
    let (doctor_id, patient_id, on_grid, status) = match viewer.role() {
        Role::Patient => {
            if input.patient_id.is_some_and(|p| p != viewer.id()) {
                return Err(AppError::Forbidden);
            }
            let doctor = input.doctor_id.ok_or_else(|| AppError::bad_input("doctorId", "doctorId is required"))?;
            (doctor, viewer.id(), true, AppointmentStatus::Pending)
        }
        Role::Doctor => {
            if input.doctor_id.is_some_and(|d| d != viewer.id()) {
                return Err(AppError::Forbidden);
            }
            let patient = input.patient_id.ok_or_else(|| AppError::bad_input("patientId", "patientId is required"))?;
            (viewer.id(), patient, false, AppointmentStatus::Confirmed)
        }
        Role::Admin => {
            let doctor = input.doctor_id.ok_or_else(|| AppError::bad_input("doctorId", "doctorId is required"))?;
            let patient = input.patient_id.ok_or_else(|| AppError::bad_input("patientId", "patientId is required"))?;
            (doctor, patient, true, AppointmentStatus::Confirmed)
        }
    };
    let reason = validation::name_like(&input.reason_for_visit, "reasonForVisit", MAX_REASON_CHARS)?;
    let booking = Booking {
        doctor_id,
        patient_id,
        starts_at: input.starts_at,
        reason,
        status,
        on_grid,
        actor: viewer.id(),
        by_the_doctor: viewer.role() == Role::Doctor,
        by_the_patient: viewer.role() == Role::Patient,
        visit_type_id: input.visit_type_id,
        limits,
    };
    let (appt, notice) = with_retries(|| {
        let (owned, booking) = (store.clone(), booking.clone());
        store.writes.run(move |txn| {
            let (store, booking) = (owned.clone(), booking.clone());
            Box::pin(async move { book(&store, txn, &booking).await })
        })
    })
    .await?;
    store.events.committed(&[notice]);
    Ok(appt)
}

/// One run of a booking inside `txn`.
async fn book(
    store: &Store,
    txn: &DatabaseTransaction,
    b: &Booking,
) -> Result<(appointment::Model, EventNotice), Failure> {
    let now = store.clock.now();
    lock_parties(txn, b.doctor_id, b.patient_id).await?;
    let facts = Facts::load(txn, b, now).await?;
    let not_bookable = || -> Failure {
        if b.by_the_doctor {
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
    let terms = match (b.visit_type_id, &facts.visit_type) {
        (None, _) => Terms::plain(profile.slot_minutes),
        (Some(_), None) => return Err(AppError::NotFoundAt { what: "Visit type", field: "visitTypeId" }.into()),
        (Some(_), Some(vt)) => {
            if b.by_the_patient && !(vt.active && vt.patient_bookable) {
                return Err(AppError::NotFoundAt { what: "Visit type", field: "visitTypeId" }.into());
            }
            if !vt.active {
                return Err(AppError::bad_input("visitTypeId", "This visit type is not active").into());
            }
            vt.terms
        }
    };
    let grid = Grid { tz, rules: &facts.rules, slot_minutes: i64::from(terms.duration_minutes) };
    let ends_at = check_start(&grid, b.starts_at, b.on_grid, now)?;
    if facts.time_off_from.is_some_and(|from| from < ends_at) {
        return Err(away());
    }
    if b.by_the_patient
        && let Some(policy) = terms.policy
    {
        policy.check_start(b.starts_at, now)?;
    }
    b.limits.check(facts.upcoming, facts.upcoming_with_doctor)?;
    let (_, blocked_from, blocked_until) = terms.blocks(b.starts_at);
    let policy = terms.policy;

    let appt = appointment::Model {
        id: Uuid::now_v7(),
        doctor_id: b.doctor_id,
        patient_id: b.patient_id,
        starts_at: b.starts_at,
        ends_at,
        reason_for_visit: b.reason.clone(),
        status: b.status,
        cancellation_reason: None,
        created_at: now,
        updated_at: now,
        visit_type_id: b.visit_type_id,
        blocked_from,
        blocked_until,
        min_notice_minutes: policy.map(|p| p.min_notice_minutes),
        horizon_days: policy.map(|p| p.horizon_days),
        patient_cancel_cutoff_minutes: policy.map(|p| p.cancel_cutoff_minutes),
        patient_reschedule_cutoff_minutes: policy.map(|p| p.reschedule_cutoff_minutes),
        cancelled_at: None,
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
    })
    .build(txn.get_database_backend());
    let parties = Parties { doctor: doctor.person, patient: patient.person, tz };
    // The insert runs first in the event's round trip: an overlap refused by the database stops
    // it there, before the event's rows.
    let notice = record(
        store,
        txn,
        &appt,
        AppointmentEventKind::Created,
        None,
        Some(b.actor),
        now,
        Some(&parties),
        Some(insert),
    )
    .await?;
    Ok((appt, notice))
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

/// One row per availability rule of the doctor (one with empty rule columns when they have none;
/// none when the doctor does not exist). Parameters: `$1` doctor, `$2` patient, `$3` start, `$4`
/// now, `$5` the visit type (null: none; a type of another doctor joins nothing). The text is the same on both backends and for every booking (SQLite reads `$n` too), so
/// each connection prepares it once. The scalar subqueries (time off, the upcoming counts) are
/// uncorrelated: each runs once, not once per row.
const FACTS_SQL: &str = concat!(
    "SELECT d.role, d.is_active, d.first_name, d.last_name, d.email, d.email_reminders, \
dp.verified, dp.time_zone, dp.slot_minutes, \
p.role, p.is_active, p.first_name, p.last_name, p.email, p.email_reminders, pp.user_id IS NOT NULL, \
(SELECT MIN(t.starts_at) FROM time_off t WHERE t.doctor_id = $1 AND t.ends_at > $3), ",
    upcoming_counts_sql!("$1", "$2", "$4"),
    ", r.weekday, r.start_time, r.end_time, \
vt.active, vt.patient_bookable, vt.duration_minutes, vt.buffer_before_minutes, vt.buffer_after_minutes, \
vt.min_notice_minutes, vt.horizon_days, vt.patient_cancel_cutoff_minutes, vt.patient_reschedule_cutoff_minutes \
FROM users d \
LEFT JOIN doctor_profiles dp ON dp.user_id = d.id \
LEFT JOIN users p ON p.id = $2 \
LEFT JOIN patient_profiles pp ON pp.user_id = p.id \
LEFT JOIN availability_rules r ON r.doctor_id = d.id \
LEFT JOIN visit_types vt ON vt.id = $5 AND vt.doctor_id = d.id \
WHERE d.id = $1"
);

impl Facts {
    async fn load(txn: &DatabaseTransaction, b: &Booking, now: DateTime<Utc>) -> Result<Self, DbErr> {
        let stmt = Statement::from_sql_and_values(
            txn.get_database_backend(),
            FACTS_SQL,
            [b.doctor_id.into(), b.patient_id.into(), b.starts_at.into(), now.into(), b.visit_type_id.into()],
        );
        let rows = txn.query_all_raw(stmt).await?;
        let Some(first) = rows.first() else {
            return Ok(Self {
                doctor: None,
                profile: None,
                rules: Vec::new(),
                patient: None,
                time_off_from: None,
                upcoming: 0,
                upcoming_with_doctor: 0,
                visit_type: None,
            });
        };
        let person = |r: &QueryResult, at: usize, id: Uuid| -> Result<Person, DbErr> {
            Ok(Person {
                id,
                first_name: r.try_get_by_index(at)?,
                last_name: r.try_get_by_index(at + 1)?,
                email: r.try_get_by_index(at + 2)?,
                email_reminders: r.try_get_by_index(at + 3)?,
            })
        };
        let doctor = Account {
            role: first.try_get_by_index(0)?,
            is_active: first.try_get_by_index(1)?,
            person: person(first, 2, b.doctor_id)?,
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
                person: person(first, 11, b.patient_id)?,
                has_profile: first.try_get_by_index(15)?,
            }),
            None => None,
        };
        let time_off_from = first.try_get_by_index(16)?;
        let (upcoming, upcoming_with_doctor) = (first.try_get_by_index(17)?, first.try_get_by_index(18)?);
        let mut rules = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(weekday) = r.try_get_by_index::<Option<i16>>(19)? else { continue };
            let start: NaiveTime = r.try_get_by_index(20)?;
            let end: NaiveTime = r.try_get_by_index(21)?;
            rules.push(Rule { weekday: Weekday::from_index(weekday).unwrap_or(Weekday::Mon), start, end });
        }
        let visit_type = match first.try_get_by_index::<Option<bool>>(22)? {
            Some(active) => Some(VisitTypeFacts {
                active,
                patient_bookable: first.try_get_by_index(23)?,
                terms: Terms {
                    duration_minutes: first.try_get_by_index(24)?,
                    buffer_before_minutes: first.try_get_by_index(25)?,
                    buffer_after_minutes: first.try_get_by_index(26)?,
                    policy: Some(Policy {
                        min_notice_minutes: first.try_get_by_index(27)?,
                        horizon_days: first.try_get_by_index(28)?,
                        cancel_cutoff_minutes: first.try_get_by_index(29)?,
                        reschedule_cutoff_minutes: first.try_get_by_index(30)?,
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
        })
    }
}
