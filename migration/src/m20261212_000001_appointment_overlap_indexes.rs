//! SQLite: the overlap triggers look only at active appointments that end after the new one
//! starts.
//!
//! The triggers of `m20261122_000003_appointments` find overlaps through the index on
//! `(doctor_id, starts_at)` (and the patient's): every appointment of the doctor that starts
//! before the new one ends, that is their whole history, each row read from the table for its
//! status and end. A booking cost more the longer a doctor had practised. These partial indexes
//! hold active appointments only, by end, with the start: the triggers' query is answered from
//! the index alone, over the appointments still to come (PostgreSQL's exclusion constraints
//! already search by range).
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes: name, then the statement that makes it.
const INDEXES: [(&str, &str); 2] = [
    (
        "idx_appointments_doctor_active_ends",
        "CREATE INDEX idx_appointments_doctor_active_ends ON appointments (doctor_id, ends_at, starts_at)
         WHERE status IN ('PENDING', 'CONFIRMED')",
    ),
    (
        "idx_appointments_patient_active_ends",
        "CREATE INDEX idx_appointments_patient_active_ends ON appointments (patient_id, ends_at, starts_at)
         WHERE status IN ('PENDING', 'CONFIRMED')",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        make(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        remove(manager).await
    }
}

/// Makes the indexes (SQLite only; PostgreSQL never had them). Also the `down` of
/// `m20261225_000001_drop_appointment_overlap_indexes`.
pub(crate) async fn make(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    for (_, create) in INDEXES {
        db.execute_unprepared(create).await?;
    }
    Ok(())
}

/// Drops the indexes (SQLite only). Also the `up` of
/// `m20261225_000001_drop_appointment_overlap_indexes`.
pub(crate) async fn remove(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    for (name, _) in INDEXES {
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
    }
    Ok(())
}
