//! SQLite: the two partial indexes of `m20261212_000001_appointment_overlap_indexes` go.
//!
//! They answered the overlap triggers that `appointments` had then. Overlaps are now refused by
//! the triggers of `calendar_blocks` (`m20261222_000001_visit_types_and_holds`), through that
//! table's own indexes, and no statement filters appointments by `ends_at`; the lists, counts and
//! reminders read `(doctor_id, starts_at, id)`, `(patient_id, starts_at, id)` and the patient's
//! upcoming index. Each booking still wrote a leaf of each of the two, scattered over the file
//! (two of the ~13 pages a booking writes to the WAL). PostgreSQL never had them.
use sea_orm_migration::prelude::*;

// What that migration does and undoes, the other way round.
use super::m20261212_000001_appointment_overlap_indexes::{make, remove};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        remove(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        make(manager).await
    }
}
