//! Schema migrations for CyberMed. One file per change; a landed migration is never edited.
pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

mod m20261122_000001_accounts;
mod m20261122_000002_profiles;
mod m20261122_000003_appointments;
mod m20261122_000004_audit_log;
mod m20261210_000001_throttle_kinds;
mod m20261211_000001_outbox;
mod m20261212_000001_appointment_overlap_indexes;
mod m20261213_000001_calendar_feeds;
mod m20261221_000001_upcoming_index;
mod m20261222_000001_visit_types_and_holds;
mod m20261223_000001_waitlist;
mod m20261223_000002_appointment_series;
mod m20261223_000003_webhooks;
mod m20261223_000004_sms;
mod m20261224_000001_list_order_indexes;
mod m20261225_000001_drop_appointment_overlap_indexes;
mod m20261226_000001_patient_index_covers_upcoming;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_profiles::Migration),
            Box::new(m20261122_000003_appointments::Migration),
            Box::new(m20261122_000004_audit_log::Migration),
            Box::new(m20261210_000001_throttle_kinds::Migration),
            Box::new(m20261211_000001_outbox::Migration),
            Box::new(m20261212_000001_appointment_overlap_indexes::Migration),
            Box::new(m20261213_000001_calendar_feeds::Migration),
            Box::new(m20261221_000001_upcoming_index::Migration),
            Box::new(m20261222_000001_visit_types_and_holds::Migration),
            Box::new(m20261223_000001_waitlist::Migration),
            Box::new(m20261223_000002_appointment_series::Migration),
            Box::new(m20261223_000003_webhooks::Migration),
            Box::new(m20261223_000004_sms::Migration),
            Box::new(m20261224_000001_list_order_indexes::Migration),
            Box::new(m20261225_000001_drop_appointment_overlap_indexes::Migration),
            Box::new(m20261226_000001_patient_index_covers_upcoming::Migration),
        ]
    }
}

/// Runs a migration written as SQL for each backend: `postgres` as one script, or `sqlite`'s
/// statements one call each, in order.
async fn run_sql(manager: &SchemaManager<'_>, postgres: &str, sqlite: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if manager.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(postgres).await?;
    } else {
        for statement in sqlite {
            db.execute_unprepared(statement).await?;
        }
    }
    Ok(())
}
