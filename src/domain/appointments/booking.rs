//! Booking: `createAppointment`, with every rule checked inside the write transaction.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use super::{
    AppointmentEventKind, AppointmentStatus, Failure, MAX_REASON_CHARS, check_time, events::record, with_retries,
};
use crate::{
    app::AppState,
    auth::viewer::Viewer,
    db::{
        begin_write,
        entities::{appointment, patient_profile, user},
    },
    domain::{Role, schedule::DoctorCalendar, validation},
    error::{AppError, AppResult},
};

/// What `createAppointment` receives.
pub struct NewAppointment {
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub reason_for_visit: String,
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
