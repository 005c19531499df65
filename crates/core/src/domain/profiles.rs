//! Doctor and patient profiles, and the admin's verification of doctors.
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::OnConflict};
use uuid::Uuid;

use super::{Role, Store, accounts, audit, validation};
use crate::{
    auth::viewer::Viewer,
    db::{
        begin_write,
        entities::{doctor_profile, patient_profile, user},
    },
    error::{AppError, AppResult},
};

pub const DEFAULT_TIME_ZONE: &str = "UTC";
pub const DEFAULT_SLOT_MINUTES: i32 = 30;

/// What `upsertDoctorProfile` receives; `None` keeps the stored value (or the default on create).
pub struct DoctorProfileChanges {
    pub specialty: String,
    pub experience_years: i32,
    pub time_zone: Option<String>,
    pub slot_minutes: Option<i32>,
}

/// What `upsertPatientProfile` receives.
pub struct PatientProfileChanges {
    pub date_of_birth: NaiveDate,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: String,
}

/// Parses an IANA time-zone name.
///
/// # Errors
/// `BAD_USER_INPUT` on `timeZone` for a name the tz database does not know.
pub fn parse_time_zone(name: &str) -> AppResult<chrono_tz::Tz> {
    name.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| AppError::bad_input("timeZone", "Unknown time zone; use an IANA name such as Europe/Berlin"))
}

/// Creates or updates the viewer's doctor profile (one row per doctor, by primary key).
///
/// # Errors
/// `FORBIDDEN` unless the viewer is a doctor; `BAD_USER_INPUT` naming the field.
pub async fn upsert_doctor_profile(
    store: &Store,
    viewer: &Viewer,
    input: DoctorProfileChanges,
) -> AppResult<doctor_profile::Model> {
    if viewer.role() != Role::Doctor {
        return Err(AppError::Forbidden);
    }
    let specialty = validation::name_like(&input.specialty, "specialty", 100)?;
    if !(0..=80).contains(&input.experience_years) {
        return Err(AppError::bad_input("experienceYears", "experienceYears must be between 0 and 80"));
    }
    let time_zone = input.time_zone.as_deref().map(parse_time_zone).transpose()?.map(|tz| tz.name().to_owned());
    if let Some(m) = input.slot_minutes
        && !(5..=240).contains(&m)
    {
        return Err(AppError::bad_input("slotMinutes", "slotMinutes must be between 5 and 240"));
    }

    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    let mut update_columns = vec![
        doctor_profile::Column::Specialty,
        doctor_profile::Column::ExperienceYears,
        doctor_profile::Column::UpdatedAt,
    ];
    if time_zone.is_some() {
        update_columns.push(doctor_profile::Column::TimeZone);
    }
    if input.slot_minutes.is_some() {
        update_columns.push(doctor_profile::Column::SlotMinutes);
    }
    let row = doctor_profile::ActiveModel {
        user_id: Set(viewer.id()),
        verified: Set(false),
        specialty: Set(specialty),
        experience_years: Set(input.experience_years),
        time_zone: Set(time_zone.unwrap_or_else(|| DEFAULT_TIME_ZONE.to_owned())),
        slot_minutes: Set(input.slot_minutes.unwrap_or(DEFAULT_SLOT_MINUTES)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    doctor_profile::Entity::insert(row)
        .on_conflict(OnConflict::column(doctor_profile::Column::UserId).update_columns(update_columns).to_owned())
        .exec_without_returning(&txn)
        .await?;
    let saved = doctor_profile::Entity::find_by_id(viewer.id())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("doctor profile vanished after upsert"))?;
    audit::record(&txn, Some(viewer.id()), "profile.doctor_update", Some(viewer.id()), now).await?;
    super::waitlist_marks::mark_now(&txn, viewer.id(), now).await?;
    store.commit_person_change(txn, viewer.id()).await?;
    Ok(saved)
}

/// Creates or updates the viewer's patient profile.
///
/// # Errors
/// `FORBIDDEN` unless the viewer is a patient; `BAD_USER_INPUT` naming the field.
pub async fn upsert_patient_profile(
    store: &Store,
    viewer: &Viewer,
    input: PatientProfileChanges,
) -> AppResult<patient_profile::Model> {
    if viewer.role() != Role::Patient {
        return Err(AppError::Forbidden);
    }
    let now = store.clock.now();
    let today = now.date_naive();
    if input.date_of_birth > today {
        return Err(AppError::bad_input("dateOfBirth", "dateOfBirth cannot be in the future"));
    }
    let oldest = today
        .with_year(today.year() - 130)
        .or_else(|| today.pred_opt().and_then(|d| d.with_year(today.year() - 130)))
        .unwrap_or(NaiveDate::MIN);
    if input.date_of_birth < oldest {
        return Err(AppError::bad_input("dateOfBirth", "dateOfBirth cannot be more than 130 years ago"));
    }
    let name = validation::name_like(&input.emergency_contact_name, "emergencyContactName", 100)?;
    let phone = validation::name_like(&input.emergency_contact_phone, "emergencyContactPhone", 100)?;

    let txn = begin_write(&store.writer).await?;
    let row = patient_profile::ActiveModel {
        user_id: Set(viewer.id()),
        date_of_birth: Set(input.date_of_birth),
        emergency_contact_name: Set(name),
        emergency_contact_phone: Set(phone),
        created_at: Set(now),
        updated_at: Set(now),
    };
    patient_profile::Entity::insert(row)
        .on_conflict(
            OnConflict::column(patient_profile::Column::UserId)
                .update_columns([
                    patient_profile::Column::DateOfBirth,
                    patient_profile::Column::EmergencyContactName,
                    patient_profile::Column::EmergencyContactPhone,
                    patient_profile::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let saved = patient_profile::Entity::find_by_id(viewer.id())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("patient profile vanished after upsert"))?;
    audit::record(&txn, Some(viewer.id()), "profile.patient_update", Some(viewer.id()), now).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Marks a doctor verified or not (admin). Decided against the admin's standing when the change
/// commits ([`accounts::lock_admin`]). Un-verifying releases the doctor's live holds.
///
/// # Errors
/// `FORBIDDEN` when `admin` is no longer an active admin; `NOT_FOUND` for an unknown id;
/// `BAD_USER_INPUT` (field `id`) when the user is not a doctor with a profile.
pub async fn verify_doctor(store: &Store, admin: Option<Uuid>, id: Uuid, verified: bool) -> AppResult<user::Model> {
    let txn = begin_write(&store.writer).await?;
    let user = match admin {
        Some(admin) => accounts::lock_admin(&txn, admin, Some(id)).await?,
        None => user::Entity::find_by_id(id).one(&txn).await?,
    };
    let user = user.ok_or(AppError::NotFound("User"))?;
    if user.role != Role::Doctor {
        return Err(AppError::bad_input("id", "This user is not a doctor"));
    }
    let profile = doctor_profile::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::bad_input("id", "This doctor has no doctor profile yet"))?;
    let was_verified = profile.verified;
    let mut model: doctor_profile::ActiveModel = profile.into();
    model.verified = Set(verified);
    model.updated_at = Set(store.clock.now());
    model.update(&txn).await?;
    if was_verified && !verified {
        // No longer bookable: the times held with them are free again.
        accounts::release_holds_of(&txn, id, store.clock.now()).await?;
    }
    let action = if verified { "doctor.verify" } else { "doctor.unverify" };
    audit::record(&txn, admin, action, Some(id), store.clock.now()).await?;
    store.commit_person_change(txn, id).await?;
    Ok(user)
}

/// Doctor profiles of several users at once (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn doctor_profiles_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, doctor_profile::Model>> {
    let rows = doctor_profile::Entity::find()
        .filter(doctor_profile::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.user_id, p)).collect())
}

/// Patient profiles of several users at once (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn patient_profiles_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, patient_profile::Model>> {
    let rows = patient_profile::Entity::find()
        .filter(patient_profile::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.user_id, p)).collect())
}
