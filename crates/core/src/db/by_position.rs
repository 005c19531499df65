//! Rows decoded by position instead of by column name, for the hottest reads.
//!
//! SeaORM's derived decoder looks every column up by name (and, for joined selects, formats a
//! prefixed name first): about 770 instructions per column, a third of the cost of a page of
//! appointments. `Entity::find()` selects a model's columns in the order of its `Column` enum, so a
//! model can be read at consecutive positions; each implementation lists its columns, and a test
//! checks the list against the entity.
//!
//! A model is decoded from any [`Row`]: SeaORM's [`QueryResult`], or a row SQLite hands over in
//! the request's own thread (`rusqlite::Row`, see [`super::inline`]); one declaration per model
//! serves both.
use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult, TryGetable};
use uuid::Uuid;

use super::entities::{
    appointment::{self, AppointmentStatus},
    appointment_event::{self, AppointmentEventKind},
    doctor_profile,
    user::{self, Gender, Role},
};

/// A row whose columns are read by position.
pub trait Row {
    /// Column `idx` as a `T`.
    ///
    /// # Errors
    /// A column of another type, or out of range.
    fn read<T: Column>(&self, idx: usize) -> Result<T, DbErr>;
}

impl Row for QueryResult {
    fn read<T: Column>(&self, idx: usize) -> Result<T, DbErr> {
        T::from_result(self, idx)
    }
}

impl Row for rusqlite::Row<'_> {
    fn read<T: Column>(&self, idx: usize) -> Result<T, DbErr> {
        T::from_sqlite(self.get_ref(idx).map_err(|_| mismatch())?)
    }
}

/// A value a column holds, read from either kind of row.
pub trait Column: Sized {
    /// # Errors
    /// A column of another type.
    fn from_result(r: &QueryResult, idx: usize) -> Result<Self, DbErr>;
    /// # Errors
    /// A column of another type.
    fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Result<Self, DbErr>;
}

fn mismatch() -> DbErr {
    DbErr::Type("a column of an unexpected type".to_owned())
}

/// A nullable column. SeaORM decodes a NULL by building an error with a formatted message and
/// then mapping it to `None` (about 400 instructions and an allocation each; a page of 20
/// appointments has over a hundred NULLs): the driver's row is asked first whether it is NULL.
impl<T: Column> Column for Option<T> {
    fn from_result(r: &QueryResult, idx: usize) -> Result<Self, DbErr> {
        if is_null(r, idx) { Ok(None) } else { T::from_result(r, idx).map(Some) }
    }

    fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Result<Self, DbErr> {
        match v {
            rusqlite::types::ValueRef::Null => Ok(None),
            v => T::from_sqlite(v).map(Some),
        }
    }
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

fn text(v: rusqlite::types::ValueRef<'_>) -> Result<&str, DbErr> {
    v.as_str().map_err(|_| mismatch())
}

fn integer(v: rusqlite::types::ValueRef<'_>) -> Result<i64, DbErr> {
    v.as_i64().map_err(|_| mismatch())
}

/// SeaORM's own decoding for a [`QueryResult`]; `$sqlite` for SQLite's value.
macro_rules! column {
    ($t:ty, |$v:ident| $sqlite:expr) => {
        impl Column for $t {
            fn from_result(r: &QueryResult, idx: usize) -> Result<Self, DbErr> {
                <$t as TryGetable>::try_get_by_index(r, idx).map_err(Into::into)
            }

            fn from_sqlite($v: rusqlite::types::ValueRef<'_>) -> Result<Self, DbErr> {
                $sqlite
            }
        }
    };
}

column!(String, |v| text(v).map(str::to_owned));
column!(i64, |v| integer(v));
column!(i32, |v| integer(v).and_then(|n| i32::try_from(n).map_err(|_| mismatch())));
column!(bool, |v| integer(v).map(|n| n != 0));
// sqlx writes a UUID as its 16 bytes, and reads text too.
column!(Uuid, |v| match v {
    rusqlite::types::ValueRef::Blob(b) => Uuid::from_slice(b).map_err(|_| mismatch()),
    v => Uuid::parse_str(text(v)?).map_err(|_| mismatch()),
});
// sqlx writes RFC 3339 (`2026-12-07T09:00:00+00:00`); SQLite's own functions write
// `2026-12-07 09:00:00`, which sqlx reads as UTC too.
column!(DateTime<Utc>, |v| {
    let t = text(v)?;
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%F %T%.f").map(|t| t.and_utc()))
        .map_err(|_| mismatch())
});

/// An enum stored as its string value.
macro_rules! enum_column {
    ($($t:ty),*) => {$(
        column!($t, |v| <$t as ActiveEnum>::try_from_value(&text(v)?.to_owned()));
    )*};
}

enum_column!(AppointmentStatus, AppointmentEventKind, Role, Gender);

/// A model read from `WIDTH` consecutive columns.
pub trait FromPosition: Sized {
    /// The model's columns, in the order `Entity::find()` selects them.
    const COLUMNS: &'static [&'static str];

    /// Reads the model from the columns starting at `at`.
    ///
    /// # Errors
    /// A column of an unexpected type (a mismatch of [`FromPosition::COLUMNS`] and the query).
    fn from_position<R: Row>(row: &R, at: usize) -> Result<Self, DbErr>;
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

    fn from_position<R: Row>(r: &R, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.read(at)?,
            doctor_id: r.read(at + 1)?,
            patient_id: r.read(at + 2)?,
            starts_at: r.read(at + 3)?,
            ends_at: r.read(at + 4)?,
            reason_for_visit: r.read(at + 5)?,
            status: r.read(at + 6)?,
            cancellation_reason: r.read(at + 7)?,
            created_at: r.read(at + 8)?,
            updated_at: r.read(at + 9)?,
            visit_type_id: r.read(at + 10)?,
            blocked_from: r.read(at + 11)?,
            blocked_until: r.read(at + 12)?,
            min_notice_minutes: r.read(at + 13)?,
            horizon_days: r.read(at + 14)?,
            patient_cancel_cutoff_minutes: r.read(at + 15)?,
            patient_reschedule_cutoff_minutes: r.read(at + 16)?,
            cancelled_at: r.read(at + 17)?,
            series_id: r.read(at + 18)?,
            occurrence: r.read(at + 19)?,
        })
    }
}

impl FromPosition for appointment_event::Model {
    const COLUMNS: &'static [&'static str] = &["id", "appointment_id", "kind", "status", "starts_at", "actor_id", "at"];

    fn from_position<R: Row>(r: &R, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.read(at)?,
            appointment_id: r.read(at + 1)?,
            kind: r.read(at + 2)?,
            status: r.read(at + 3)?,
            starts_at: r.read(at + 4)?,
            actor_id: r.read(at + 5)?,
            at: r.read(at + 6)?,
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

    fn from_position<R: Row>(r: &R, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: r.read(at)?,
            email: r.read(at + 1)?,
            password_hash: r.read(at + 2)?,
            first_name: r.read(at + 3)?,
            last_name: r.read(at + 4)?,
            phone: r.read(at + 5)?,
            address: r.read(at + 6)?,
            bio: r.read(at + 7)?,
            gender: r.read(at + 8)?,
            role: r.read(at + 9)?,
            is_active: r.read(at + 10)?,
            is_staff: r.read(at + 11)?,
            is_superuser: r.read(at + 12)?,
            date_joined: r.read(at + 13)?,
            updated_at: r.read(at + 14)?,
            email_reminders: r.read(at + 15)?,
            sms_reminders: r.read(at + 16)?,
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

    fn from_position<R: Row>(r: &R, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            user_id: r.read(at)?,
            verified: r.read(at + 1)?,
            specialty: r.read(at + 2)?,
            experience_years: r.read(at + 3)?,
            time_zone: r.read(at + 4)?,
            slot_minutes: r.read(at + 5)?,
            created_at: r.read(at + 6)?,
            updated_at: r.read(at + 7)?,
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
    let profile = match r.read::<Option<Uuid>>(at)? {
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
