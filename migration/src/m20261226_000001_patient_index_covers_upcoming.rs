//! SQLite: one index by patient instead of two.
//!
//! `appointments` had `(patient_id, starts_at, id)` for the patient's lists and, since
//! `m20261221_000001_upcoming_index`, a partial `(patient_id, starts_at, doctor_id)` of the active
//! ones for the upcoming limits' counts. Every booking wrote a leaf of each, scattered over the
//! file (each about one of the ten pages a booking writes to the WAL). Here one index holds the
//! list's order and what the counts filter on, `(patient_id, starts_at, id, status, doctor_id)`:
//! the lists read it in order as before, and the counts read it alone (status and doctor from the
//! index, over the patient's appointments still to come, cancelled ones among them). PostgreSQL
//! keeps both: its writes are not what limits it.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COVERING: &str = "idx_appointments_patient_starts_covering";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_sqlite(
            manager,
            &format!(
                "CREATE INDEX {COVERING} ON appointments (patient_id, starts_at, id, status, doctor_id);
                 DROP INDEX IF EXISTS idx_appointments_patient_starts_id;
                 DROP INDEX IF EXISTS idx_appointments_patient_upcoming"
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_sqlite(
            manager,
            &format!(
                "CREATE INDEX idx_appointments_patient_starts_id ON appointments (patient_id, starts_at, id);
                 CREATE INDEX idx_appointments_patient_upcoming ON appointments (patient_id, starts_at, doctor_id)
                 WHERE status IN ('PENDING', 'CONFIRMED');
                 DROP INDEX IF EXISTS {COVERING}"
            ),
        )
        .await
    }
}

/// Runs `sql` on SQLite; on PostgreSQL nothing.
async fn on_sqlite(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Sqlite {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}
