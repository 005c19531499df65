//! SQLite: the two partial indexes of `m20261212_000001_appointment_overlap_indexes` go.
//!
//! They answered the overlap triggers that `appointments` had then. Overlaps are now refused by
//! the triggers of `calendar_blocks` (`m20261222_000001_visit_types_and_holds`), through that
//! table's own indexes, and no statement filters appointments by `ends_at`; the lists, counts and
//! reminders read `(doctor_id, starts_at, id)`, `(patient_id, starts_at, id)` and the patient's
//! upcoming index. Each booking still wrote a leaf of each of the two, scattered over the file
//! (two of the ~13 pages a booking writes to the WAL). PostgreSQL never had them.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

// The indexes as that migration made them (`down` makes them again).
use super::m20261212_000001_appointment_overlap_indexes::INDEXES;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for (_, create) in INDEXES {
            db.execute_unprepared(create).await?;
        }
        Ok(())
    }
}
