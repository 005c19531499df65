//! The appointment lists are ordered by start, then id among appointments that start together
//! (the keyset of their cursors). The indexes by doctor and by patient held the start only, so
//! every page sorted its rows by id in a temporary B-tree. These replace them with indexes that
//! hold the whole order: a page is read from the index in order and stops at its last row. Both
//! databases.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (old index, new index, its first column).
const INDEXES: [(&str, &str, &str); 2] = [
    ("idx_appointments_doctor_starts", "idx_appointments_doctor_starts_id", "doctor_id"),
    ("idx_appointments_patient_starts", "idx_appointments_patient_starts_id", "patient_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (old, new, column) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {new} ON appointments ({column}, starts_at, id)")).await?;
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {old}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (old, new, column) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {old} ON appointments ({column}, starts_at)")).await?;
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {new}")).await?;
        }
        Ok(())
    }
}
