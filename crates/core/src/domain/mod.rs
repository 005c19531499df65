//! Business rules per area, in plain Rust: no GraphQL here, and no application state. Each function
//! runs its own transaction on a [`Store`] and is handed the few other things it needs (the
//! password hasher, the token keys, the login cache, configuration values) explicitly.
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod calendar_feeds;
pub mod demo;
pub mod holds;
pub mod privacy;
pub mod profiles;
pub mod schedule;
pub mod throttle;
pub mod validation;
pub mod visit_types;
pub mod waitlist;
pub mod waitlist_marks;
pub mod webhooks;

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::DatabaseConnection;

use crate::db::reads::Reads;

pub use crate::db::entities::user::{Gender, Role};
use crate::{
    db::{group_commit::WriteQueue, people::PeopleCache},
    error::AppResult,
    events::EventHub,
    outbox,
};

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
    /// Where requests read what they show (on SQLite without the pool's round trips; see
    /// `db::reads`).
    pub reads: Reads,
    /// Write jobs committed in groups on SQLite, one transaction each on PostgreSQL (bookings;
    /// see `db::group_commit`).
    pub writes: WriteQueue,
    /// People as pages show them, kept by this process; every change to an account or a doctor's
    /// profile forgets the person (see `db::people`).
    pub people: Arc<PeopleCache>,
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

impl Store {
    /// Writes `emails` to the outbox inside `txn` in one statement (the transaction of the change
    /// that causes them), and wakes the senders: on PostgreSQL with a notice delivered on commit to
    /// every process; on SQLite in this process (its sender claims through the one writer
    /// connection, so it sees the rows once this transaction has committed, and nothing if it
    /// rolled back).
    ///
    /// # Errors
    /// Internal only.
    pub async fn enqueue_emails<C: sea_orm::ConnectionTrait>(
        &self,
        txn: &C,
        emails: Vec<outbox::NewEmail>,
    ) -> AppResult<()> {
        let backend = txn.get_database_backend();
        let Some(insert) = outbox::insert_statement(&self.outbox, self.clock.now(), backend, emails) else {
            return Ok(());
        };
        txn.execute_raw(insert).await?;
        self.events.outbox_written(txn).await
    }

    /// Commits `txn`, which changed `user`'s doctor profile, and makes every process forget what
    /// it kept of them (see `db::people`): a notice inside the transaction (PostgreSQL), this
    /// process's cache after the commit. An account change does the same through
    /// `accounts::commit_account_change`.
    ///
    /// # Errors
    /// Internal only.
    pub async fn commit_person_change(&self, txn: sea_orm::DatabaseTransaction, user: uuid::Uuid) -> AppResult<()> {
        self.events.notify_people_changed(&txn, user).await?;
        txn.commit().await?;
        self.people.forget(user);
        Ok(())
    }
}
