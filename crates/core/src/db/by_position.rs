//! Rows decoded by position instead of by column name, for the hottest reads.
//!
//! SeaORM's derived decoder looks every column up by name (and, for joined selects, formats a
//! prefixed name first): about 770 instructions per column, a third of the cost of a page of
//! appointments. `Entity::find()` selects a model's columns in the order of its `Column` enum, so a
//! model can be read at consecutive positions; each implementation lists its columns, and a test
//! checks the list against the entity.
use sea_orm::{DbErr, FromQueryResult, QueryResult, TryGetable};

use super::entities::{appointment, appointment_event, doctor_profile, user};

/// A nullable column. SeaORM decodes a NULL by building an error with a formatted message and
/// then mapping it to `None` (about 400 instructions and an allocation each; a page of 20
/// appointments has over a hundred NULLs): the driver's row is asked first whether it is NULL.
fn nullable<T: TryGetable>(r: &QueryResult, idx: usize) -> Result<Option<T>, DbErr> {
    if is_null(r, idx) { Ok(None) } else { r.try_get_by_index(idx) }
}

/// Whether column `idx` of the row is NULL (false when it cannot tell: the caller decodes).
fn is_null(r: &QueryResult, idx: usize) -> bool {
    use sea_orm::sqlx::{Row, ValueRef};
    if let Some(row) = r.try_as_sqlite_row() {
        return row.try_get_raw(idx).is_ok_and(|v| v.is_null());
    }
    if let Some(row) = r.try_as_pg_row() {
        return row.try_get_raw(idx).is_ok_and(|v| v.is_null());
    }
    false
}

/// A model read from `WIDTH` consecutive columns.
pub trait FromPosition: Sized {
    /// The model's columns, in the order `Entity::find()` selects them.
    const COLUMNS: &'static [&'static str];

    /// Reads the model from the columns starting at `at`.
    ///
    /// # Errors
    /// A column of an unexpected type (a mismatch of [`FromPosition::COLUMNS`] and the query).
    fn from_position(row: &QueryResult, at: usize) -> Result<Self, DbErr>;
}

/// A model read by position from a select of its entity alone (`Select::into_model`).
pub struct ByPosition<M>(pub M);

impl<M: FromPosition> FromQueryResult for ByPosition<M> {
    fn from_query_result(row: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
        if !prefix.is_empty() {
            return Err(DbErr::Custom("ByPosition reads selects of one entity only".to_owned()));
        }
        M::from_position(row, 0).map(Self)
    }
}

impl FromPosition for appointment::Model {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "doctor_id",
        "patient_id",
        "starts_at",
        "ends_at",
        "reason_for_visit",
        "status",
        "cancellation_reason",
        "created_at",
        "updated_at",
        "visit_type_id",
        "blocked_from",
        "blocked_until",
        "min_notice_minutes",
        "horizon_days",
        "patient_cancel_cutoff_minutes",
        "patient_reschedule_cutoff_minutes",
        "cancelled_at",
        "series_id",
        "occurrence",
    ];

    fn from_position(r: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.try_get_by_index(at)?,
            doctor_id: r.try_get_by_index(at + 1)?,
            patient_id: r.try_get_by_index(at + 2)?,
            starts_at: r.try_get_by_index(at + 3)?,
            ends_at: r.try_get_by_index(at + 4)?,
            reason_for_visit: r.try_get_by_index(at + 5)?,
            status: r.try_get_by_index(at + 6)?,
            cancellation_reason: nullable(r, at + 7)?,
            created_at: r.try_get_by_index(at + 8)?,
            updated_at: r.try_get_by_index(at + 9)?,
            visit_type_id: nullable(r, at + 10)?,
            blocked_from: r.try_get_by_index(at + 11)?,
            blocked_until: r.try_get_by_index(at + 12)?,
            min_notice_minutes: nullable(r, at + 13)?,
            horizon_days: nullable(r, at + 14)?,
            patient_cancel_cutoff_minutes: nullable(r, at + 15)?,
            patient_reschedule_cutoff_minutes: nullable(r, at + 16)?,
            cancelled_at: nullable(r, at + 17)?,
            series_id: nullable(r, at + 18)?,
            occurrence: nullable(r, at + 19)?,
        })
    }
}

impl FromPosition for appointment_event::Model {
    const COLUMNS: &'static [&'static str] = &["id", "appointment_id", "kind", "status", "starts_at", "actor_id", "at"];

    fn from_position(r: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.try_get_by_index(at)?,
            appointment_id: r.try_get_by_index(at + 1)?,
            kind: r.try_get_by_index(at + 2)?,
            status: r.try_get_by_index(at + 3)?,
            starts_at: r.try_get_by_index(at + 4)?,
            actor_id: nullable(r, at + 5)?,
            at: r.try_get_by_index(at + 6)?,
        })
    }
}

impl FromPosition for user::Model {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "email",
        "password_hash",
        "first_name",
        "last_name",
        "phone",
        "address",
        "bio",
        "gender",
        "role",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "updated_at",
        "email_reminders",
        "sms_reminders",
    ];

    fn from_position(r: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.try_get_by_index(at)?,
            email: r.try_get_by_index(at + 1)?,
            password_hash: r.try_get_by_index(at + 2)?,
            first_name: r.try_get_by_index(at + 3)?,
            last_name: r.try_get_by_index(at + 4)?,
            phone: nullable(r, at + 5)?,
            address: nullable(r, at + 6)?,
            bio: nullable(r, at + 7)?,
            gender: nullable(r, at + 8)?,
            role: r.try_get_by_index(at + 9)?,
            is_active: r.try_get_by_index(at + 10)?,
            is_staff: r.try_get_by_index(at + 11)?,
            is_superuser: r.try_get_by_index(at + 12)?,
            date_joined: r.try_get_by_index(at + 13)?,
            updated_at: r.try_get_by_index(at + 14)?,
            email_reminders: r.try_get_by_index(at + 15)?,
            sms_reminders: r.try_get_by_index(at + 16)?,
        })
    }
}

impl FromPosition for doctor_profile::Model {
    const COLUMNS: &'static [&'static str] = &[
        "user_id",
        "verified",
        "specialty",
        "experience_years",
        "time_zone",
        "slot_minutes",
        "created_at",
        "updated_at",
    ];

    fn from_position(r: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            user_id: r.try_get_by_index(at)?,
            verified: r.try_get_by_index(at + 1)?,
            specialty: r.try_get_by_index(at + 2)?,
            experience_years: r.try_get_by_index(at + 3)?,
            time_zone: r.try_get_by_index(at + 4)?,
            slot_minutes: r.try_get_by_index(at + 5)?,
            created_at: r.try_get_by_index(at + 6)?,
            updated_at: r.try_get_by_index(at + 7)?,
        })
    }
}

/// A user with their doctor profile from `user::Entity::find().find_also_related(doctor_profile)`
/// (the user's columns, then the profile's, all null when there is none).
///
/// # Errors
/// As [`FromPosition::from_position`].
pub fn user_with_profile(r: &QueryResult) -> Result<(user::Model, Option<doctor_profile::Model>), DbErr> {
    let user = user::Model::from_position(r, 0)?;
    let at = user::Model::COLUMNS.len();
    let profile = match nullable::<uuid::Uuid>(r, at)? {
        Some(_) => Some(doctor_profile::Model::from_position(r, at)?),
        None => None,
    };
    Ok((user, profile))
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::*;

    fn columns<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|c| c.as_str()).collect()
    }

    #[test]
    fn the_listed_columns_are_the_entities_own_in_their_order() {
        assert_eq!(appointment::Model::COLUMNS, columns::<appointment::Entity>());
        assert_eq!(appointment_event::Model::COLUMNS, columns::<appointment_event::Entity>());
        assert_eq!(user::Model::COLUMNS, columns::<user::Entity>());
        assert_eq!(doctor_profile::Model::COLUMNS, columns::<doctor_profile::Entity>());
    }
}
