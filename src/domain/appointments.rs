//! Appointments: booking that never double-books, the status lifecycle, history, and who sees what.
//!
//! Overlap of active appointments (one doctor, or one patient) is refused by the database itself:
//! exclusion constraints on PostgreSQL, triggers inside `BEGIN IMMEDIATE` transactions on SQLite.
//! The code never checks-then-inserts for overlap; it inserts and maps the refusal to `CONFLICT`.
use std::{collections::HashMap, future::Future};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, DeriveActiveEnum, EntityTrait, EnumIter,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Query, StringLen, SubQueryStatement},
};
use uuid::Uuid;

use super::{
    Role, audit,
    schedule::{DoctorCalendar, grid},
    validation,
};
use crate::{
    app::AppState,
    auth::viewer::Viewer,
    db::{
        begin_write,
        by_position::FromPosition,
        entities::{appointment, appointment_event, patient_profile, time_off, user},
    },
    error::{AppError, AppResult, db_error_code, db_error_names},
    events::EventNotice,
    outbox,
};

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AppointmentStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "NO_SHOW")]
    NoShow,
}

impl AppointmentStatus {
    /// Pending and confirmed appointments hold their time.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

/// What happened to an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AppointmentEventKind {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "RESCHEDULED")]
    Rescheduled,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "NO_SHOW")]
    NoShow,
}

/// How far ahead an appointment may be booked.
pub const MAX_DAYS_AHEAD: i64 = 365;
/// Longest reason for visit or cancellation, characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// What `createAppointment` receives.
pub struct NewAppointment {
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub reason_for_visit: String,
}

/// The viewer's part in an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Doctor,
    Patient,
    Admin,
}

/// The viewer's part, or `None` when they may not know the appointment exists.
pub fn party(viewer: &Viewer, appt: &appointment::Model) -> Option<Party> {
    if viewer.is_admin() {
        Some(Party::Admin)
    } else if appt.doctor_id == viewer.id() {
        Some(Party::Doctor)
    } else if appt.patient_id == viewer.id() {
        Some(Party::Patient)
    } else {
        None
    }
}

/// A transaction attempt's failure: a rule (final) or a database error (maybe worth a retry).
enum Failure {
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

/// Runs `attempt` until it succeeds, fails by a rule, or fails by something other than a
/// serialization failure or deadlock (retried up to 5 times): those are the database asking to
/// try again, never the client's fault.
async fn with_retries<T, F, Fut>(mut attempt: F) -> AppResult<T>
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

/// The refusal of an overlapping active appointment, as the client should see it.
fn overlap_conflict(e: &DbErr) -> Option<AppError> {
    let names = db_error_names(e);
    let has = |name: &str| names.iter().any(|n| n.contains(name));
    if has("appointments_doctor_no_overlap") {
        Some(AppError::conflict("startsAt", "The doctor already has an appointment at that time"))
    } else if has("appointments_patient_no_overlap") {
        Some(AppError::conflict("startsAt", "The patient already has an appointment at that time"))
    } else if db_error_code(e).as_deref() == Some("23P01") {
        Some(AppError::conflict("startsAt", "That time is already booked"))
    } else {
        None
    }
}

/// Checks the time of a booking or a move and returns its end.
///
/// Always: in the future, at most a year ahead, not over the doctor's time off. When `on_grid`
/// (patients, and admins acting for them): exactly a free slot of the doctor's availability.
async fn check_time<C: ConnectionTrait>(
    txn: &C,
    cal: &DoctorCalendar,
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
    let ends_at = starts_at + TimeDelta::minutes(cal.slot_minutes());
    if on_grid {
        let day = TimeDelta::days(1);
        let slots = grid(cal.tz, &cal.rules, cal.slot_minutes(), starts_at - day, starts_at + day);
        if !slots.iter().any(|s| s.start == starts_at) {
            return Err(AppError::bad_input("startsAt", "startsAt is not one of the doctor's available slots").into());
        }
    }
    let blocked = time_off::Entity::find()
        .filter(time_off::Column::DoctorId.eq(cal.doctor.id))
        .filter(time_off::Column::StartsAt.lt(ends_at))
        .filter(time_off::Column::EndsAt.gt(starts_at))
        .count(txn)
        .await?;
    if blocked > 0 {
        return Err(AppError::bad_input("startsAt", "The doctor is away at that time").into());
    }
    Ok(ends_at)
}

fn event(
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> appointment_event::ActiveModel {
    appointment_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        appointment_id: Set(appt.id),
        kind: Set(kind),
        status: Set(appt.status),
        starts_at: Set(appt.starts_at),
        actor_id: Set(actor),
        at: Set(at),
    }
}

/// Records an event, writes its emails to the outbox (see [`outbox::appointments::on_event`];
/// `moved_from` is the start before a move) and queues its notice, inside `txn`. Every
/// transaction here records exactly one event, so this is its one `notify_in`; one that recorded
/// several would collect their notices and call `notify_in` once.
async fn record<C: ConnectionTrait>(
    state: &AppState,
    txn: &C,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    moved_from: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<EventNotice, Failure> {
    let ev = event(appt, kind, actor, at).insert(txn).await?;
    let action = match kind {
        AppointmentEventKind::Created => "appointment.create",
        AppointmentEventKind::Confirmed => "appointment.confirm",
        AppointmentEventKind::Rescheduled => "appointment.reschedule",
        AppointmentEventKind::Cancelled => "appointment.cancel",
        AppointmentEventKind::Completed => "appointment.complete",
        AppointmentEventKind::NoShow => "appointment.no_show",
    };
    audit::record(txn, actor, action, Some(appt.id), at).await?;
    outbox::appointments::on_event(state, txn, appt, kind, moved_from, at).await?;
    let notice = EventNotice {
        event_id: ev.id,
        appointment_id: appt.id,
        doctor_id: appt.doctor_id,
        patient_id: appt.patient_id,
    };
    state.events.notify_in(txn, &[notice]).await?;
    Ok(notice)
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
/// patient already has an active appointment overlapping that time, decided by the database.
pub async fn create(state: &AppState, viewer: &Viewer, input: NewAppointment) -> AppResult<appointment::Model> {
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
    let actor = viewer.id();

    let (appt, notice) = with_retries(|| {
        let reason = reason.clone();
        async move {
            let txn = begin_write(&state.writer).await?;
            let now = state.clock.now();
            let cal = match DoctorCalendar::load(&txn, doctor_id).await {
                Ok(cal) if cal.bookable() => cal,
                // The doctor themself, unverified or inactive: not a bad id but a right they lack.
                Ok(_) if viewer.role() == Role::Doctor => return Err(AppError::Forbidden.into()),
                Ok(_) | Err(AppError::NotFound(_)) => {
                    return Err(AppError::bad_input("doctorId", "The doctor is not available for booking").into());
                }
                Err(e) => return Err(e.into()),
            };
            check_patient(&txn, patient_id).await?;
            let ends_at = check_time(&txn, &cal, input.starts_at, on_grid, now).await?;
            let appt = appointment::ActiveModel {
                id: Set(Uuid::now_v7()),
                doctor_id: Set(doctor_id),
                patient_id: Set(patient_id),
                starts_at: Set(input.starts_at),
                ends_at: Set(ends_at),
                reason_for_visit: Set(reason),
                status: Set(status),
                cancellation_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            let notice = record(state, &txn, &appt, AppointmentEventKind::Created, None, Some(actor), now).await?;
            txn.commit().await?;
            Ok((appt, notice))
        }
    })
    .await?;
    state.events.committed(&[notice]);
    Ok(appt)
}

async fn check_patient<C: ConnectionTrait>(txn: &C, patient_id: Uuid) -> Result<(), Failure> {
    let patient = user::Entity::find_by_id(patient_id).one(txn).await?;
    let ok = match patient {
        Some(p) if p.role == Role::Patient && p.is_active => {
            patient_profile::Entity::find_by_id(patient_id).count(txn).await? > 0
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input("patientId", "The patient needs an active account with a patient profile to book")
            .into())
    }
}

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
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    what: Transition,
    reason: Option<String>,
) -> AppResult<appointment::Model> {
    let reason = validation::optional_text(reason.as_deref(), "reason", MAX_REASON_CHARS)?;
    let (appt, notice) = with_retries(|| {
        let reason = reason.clone();
        async move {
            let txn = begin_write(&state.writer).await?;
            let now = state.clock.now();
            let appt = load_for(&txn, viewer, id).await?;
            let who = party(viewer, &appt).ok_or(AppError::NotFound("Appointment"))?;
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
                && !DoctorCalendar::load(&txn, appt.doctor_id).await?.bookable()
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
            let mut model: appointment::ActiveModel = appt.into();
            model.status = Set(to);
            if what == Transition::Cancel {
                model.cancellation_reason = Set(reason);
            }
            model.updated_at = Set(now);
            let appt = model.update(&txn).await?;
            let notice = record(state, &txn, &appt, kind, None, Some(viewer.id()), now).await?;
            txn.commit().await?;
            Ok((appt, notice))
        }
    })
    .await?;
    state.events.committed(&[notice]);
    Ok(appt)
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
/// # Errors
/// As [`create`] and [`transition`]: a doctor who is not verified or not active may not move
/// (`FORBIDDEN`); the patient or an admin moving with such a doctor gets `BAD_USER_INPUT` on `doctorId`.
pub async fn reschedule(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    starts_at: DateTime<Utc>,
) -> AppResult<appointment::Model> {
    let (appt, notice) = with_retries(|| async move {
        let txn = begin_write(&state.writer).await?;
        let now = state.clock.now();
        let appt = load_for(&txn, viewer, id).await?;
        let who = party(viewer, &appt).ok_or(AppError::NotFound("Appointment"))?;
        if !appt.status.is_active() {
            return Err(AppError::bad_input(
                "status",
                format!("A {} appointment cannot be rescheduled", status_word(appt.status)),
            )
            .into());
        }
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
        let ends_at = check_time(&txn, &cal, starts_at, who != Party::Doctor, now).await?;
        let status = if who == Party::Patient { AppointmentStatus::Pending } else { AppointmentStatus::Confirmed };
        let moved_from = appt.starts_at;
        let mut model: appointment::ActiveModel = appt.into();
        model.starts_at = Set(starts_at);
        model.ends_at = Set(ends_at);
        model.status = Set(status);
        model.updated_at = Set(now);
        let appt = model.update(&txn).await?;
        let notice =
            record(state, &txn, &appt, AppointmentEventKind::Rescheduled, Some(moved_from), Some(viewer.id()), now)
                .await?;
        txn.commit().await?;
        Ok((appt, notice))
    })
    .await?;
    state.events.committed(&[notice]);
    Ok(appt)
}

async fn load_for<C: ConnectionTrait>(txn: &C, viewer: &Viewer, id: Uuid) -> Result<appointment::Model, Failure> {
    let appt = appointment::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("Appointment"))?;
    if party(viewer, &appt).is_none() {
        return Err(AppError::NotFound("Appointment").into());
    }
    Ok(appt)
}

/// One appointment the viewer may see.
///
/// # Errors
/// `NOT_FOUND` when it does not exist or is someone else's.
pub async fn get(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<appointment::Model> {
    match load_for(&state.db, viewer, id).await {
        Ok(a) => Ok(a),
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

fn visible_condition(viewer: &Viewer, filter: &AppointmentFilter) -> Condition {
    let mut cond = Condition::all();
    if !viewer.is_admin() {
        cond = cond.add(
            Condition::any()
                .add(appointment::Column::DoctorId.eq(viewer.id()))
                .add(appointment::Column::PatientId.eq(viewer.id())),
        );
    }
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

/// One page of the viewer's appointments (all for admins), newest `starts_at` first; with
/// `with_total`, also how many match the filter on all pages, counted by the same statement (a
/// scalar subquery, run once, over the same indexes as [`count`]).
///
/// # Errors
/// Internal only.
pub async fn list_counted(
    state: &AppState,
    viewer: &Viewer,
    filter: &AppointmentFilter,
    after: Option<AppointmentCursor>,
    limit: u64,
    with_total: bool,
) -> AppResult<(Vec<appointment::Model>, Option<u64>)> {
    let visible = visible_condition(viewer, filter);
    let mut query = appointment::Entity::find().filter(visible.clone());
    if let Some(c) = after {
        query = query.filter(Condition::any().add(appointment::Column::StartsAt.lt(c.starts_at)).add(
            Condition::all().add(appointment::Column::StartsAt.eq(c.starts_at)).add(appointment::Column::Id.lt(c.id)),
        ));
    }
    let mut query =
        query.order_by_desc(appointment::Column::StartsAt).order_by_desc(appointment::Column::Id).limit(limit);
    if with_total {
        let count = Query::select()
            .expr(Expr::col(appointment::Column::Id).count())
            .from(appointment::Entity)
            .cond_where(visible)
            .to_owned();
        QuerySelect::query(&mut query).expr_as(Expr::from(SubQueryStatement::SelectStatement(count)), "total");
    }
    let rows = state.db.query_all(&sea_orm::QueryTrait::into_query(query)).await?;
    let mut total = None;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(appointment::Model::from_position(row, 0)?);
        if with_total && total.is_none() {
            let n: i64 = row.try_get_by_index(appointment::Model::COLUMNS.len())?;
            total = Some(u64::try_from(n).unwrap_or(0));
        }
    }
    if with_total && total.is_none() {
        // No row on this page (past the end, or none at all): the total needs its own count.
        total = Some(count(state, viewer, filter).await?);
    }
    Ok((out, total))
}

/// How many appointments the viewer's list holds with this filter.
///
/// # Errors
/// Internal only.
pub async fn count(state: &AppState, viewer: &Viewer, filter: &AppointmentFilter) -> AppResult<u64> {
    Ok(appointment::Entity::find().filter(visible_condition(viewer, filter)).count(&state.db).await?)
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

/// One event by id.
///
/// # Errors
/// Internal only.
pub async fn event_by_id(state: &AppState, id: Uuid) -> AppResult<Option<appointment_event::Model>> {
    Ok(appointment_event::Entity::find_by_id(id).one(&state.db).await?)
}

/// Which of `others` share an appointment (any status) with `viewer_id` (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn sharing_with<C: ConnectionTrait>(db: &C, viewer_id: Uuid, others: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let as_doctor: Vec<Uuid> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::PatientId)
        .distinct()
        .filter(appointment::Column::DoctorId.eq(viewer_id))
        .filter(appointment::Column::PatientId.is_in(others.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let as_patient: Vec<Uuid> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::DoctorId)
        .distinct()
        .filter(appointment::Column::PatientId.eq(viewer_id))
        .filter(appointment::Column::DoctorId.is_in(others.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(as_doctor.into_iter().chain(as_patient).collect())
}
