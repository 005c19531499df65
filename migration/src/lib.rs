//! Schema migrations for CyberMed. One file per change; a landed migration is never edited.
pub use sea_orm_migration::prelude::*;

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
            Box::new(m20261223_000004_sms::Migration),
            Box::new(m20261223_000003_webhooks::Migration),
        ]
    }
}
