//! The upcoming limits (`MAX_UPCOMING_PER_PATIENT`, `MAX_UPCOMING_PER_DOCTOR_PAIR`): every booking
//! counts the patient's active appointments that have not started, in all and with the doctor.
//! This partial index holds active appointments only, by patient and start, with the doctor: both
//! counts are answered from the index alone, over the patient's appointments still to come (not
//! their whole history). Both databases.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_appointments_patient_upcoming";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON appointments (patient_id, starts_at, doctor_id)
                 WHERE status IN ('PENDING', 'CONFIRMED')"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {NAME}")).await?;
        Ok(())
    }
}
