//! Business rules per area, in plain Rust: no GraphQL here, and no application state. Each function
//! runs its own transaction on a [`Store`] and is handed the few other things it needs (the
//! password hasher, the token keys, the login cache, configuration values) explicitly.
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod calendar_feeds;
pub mod demo;
pub mod privacy;
pub mod profiles;
pub mod schedule;
pub mod throttle;
pub mod validation;

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{DatabaseConnection, DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

use crate::{db::group_commit::WriteQueue, events::EventHub, outbox};

/// What every domain function works with: the database, the clock, the event hub, and the outbox's
/// settings (emails are written inside domain transactions). Cheap to clone: handles and reference
/// counts.
#[derive(Clone)]
pub struct Store {
    /// Reads (and, on PostgreSQL, everything).
    pub db: DatabaseConnection,
    /// Write transactions: `db::begin_write(&store.writer)`.
    pub writer: DatabaseConnection,
    pub clock: Clock,
    /// Appointment events for subscribers, and account-change notices between replicas.
    pub events: EventHub,
    /// What the outbox writer needs of the configuration.
    pub outbox: outbox::Settings,
    /// Write jobs committed in groups on SQLite, one transaction each on PostgreSQL (bookings;
    /// see `db::group_commit`).
    pub writes: WriteQueue,
}

/// What a user is in the clinic. Stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "DOCTOR")]
    Doctor,
    #[sea_orm(string_value = "PATIENT")]
    Patient,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// Gender as the user chose to state it (a private field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Gender {
    #[sea_orm(string_value = "FEMALE")]
    Female,
    #[sea_orm(string_value = "MALE")]
    Male,
    #[sea_orm(string_value = "OTHER")]
    Other,
    #[sea_orm(string_value = "UNDISCLOSED")]
    Undisclosed,
}

/// The service's clock. Real time plus an offset that only tests move, so that expiry can be
/// tested without sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, truncated to microseconds (the precision both databases store).
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
    }

    /// Moves this clock forward (tests only).
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
