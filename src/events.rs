//! Appointment events for live subscribers, across replicas.
//!
//! On PostgreSQL the notice is sent with `pg_notify` inside the transaction that made the change,
//! so it is delivered only if that transaction commits, and to every replica listening on the
//! channel (each forwards it to its own subscribers). On SQLite (one process) the notice goes
//! straight to the local subscribers after the commit.
use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::{
    auth::sessions::SessionCache,
    error::{AppResult, describe_db_err},
};

const CHANNEL: &str = "cybermed_appointment_events";
/// Account changes that may end logins: every replica empties its login cache.
const ACCOUNTS_CHANNEL: &str = "cybermed_accounts_changed";
/// Emails written to the outbox: every replica's sender looks for due ones.
const OUTBOX_CHANNEL: &str = "cybermed_outbox";

/// What subscribers are told: which event, and who may see it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EventNotice {
    pub event_id: Uuid,
    pub appointment_id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
}

/// The local fan-out point.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<EventNotice>,
    /// Account changes that may have ended logins (here or on another replica), by user (`None`:
    /// any user, e.g. after notices may have been missed): open WebSockets check their login again.
    accounts: broadcast::Sender<Option<Uuid>>,
    /// Wakes this process's outbox sender.
    outbox: Arc<Notify>,
    backend: DbBackend,
}

impl EventHub {
    /// Starts the hub; on PostgreSQL also the listener that feeds it and empties `sessions` when
    /// another replica changed accounts.
    pub fn start(db: &DatabaseConnection, sessions: Arc<SessionCache>) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let (accounts, _) = broadcast::channel(64);
        let outbox = Arc::new(Notify::new());
        let backend = db.get_database_backend();
        if backend == DbBackend::Postgres {
            let pool = db.get_postgres_connection_pool().clone();
            let (tx, accounts, outbox) = (tx.clone(), accounts.clone(), outbox.clone());
            tokio::spawn(async move { listen(pool, tx, accounts, outbox, sessions).await });
        }
        Self { tx, accounts, outbox, backend }
    }

    /// What wakes this process's outbox sender.
    pub fn outbox_wakeups(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Wakes the senders after `txn` wrote to the outbox: on PostgreSQL every process's, on
    /// commit; on SQLite this process's at once (its claim waits for the one writer connection,
    /// so it finds the rows once `txn` committed, and none if it rolled back).
    ///
    /// # Errors
    /// Internal only.
    pub async fn outbox_written<C: ConnectionTrait>(&self, txn: &C) -> AppResult<()> {
        if self.backend != DbBackend::Postgres {
            self.outbox.notify_one();
            return Ok(());
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [OUTBOX_CHANNEL.into()],
        ))
        .await?;
        Ok(())
    }

    /// A receiver told of every account change from now on, with the user it concerns (a lagging
    /// receiver is told by `RecvError::Lagged`: then any login may have ended).
    pub fn account_changes(&self) -> broadcast::Receiver<Option<Uuid>> {
        self.accounts.subscribe()
    }

    /// After the commit of a change to `user`'s account made in this process.
    pub fn accounts_changed_here(&self, user: Uuid) {
        let _ = self.accounts.send(Some(user));
    }

    /// Tells every replica, on commit of `txn`, that accounts changed (PostgreSQL; a no-op on
    /// SQLite, whose one process clears its cache itself).
    ///
    /// # Errors
    /// Internal only.
    pub async fn notify_accounts_changed<C: ConnectionTrait>(&self, txn: &C, user: Uuid) -> AppResult<()> {
        if self.backend != DbBackend::Postgres {
            return Ok(());
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [ACCOUNTS_CHANNEL.into(), user.to_string().into()],
        ))
        .await?;
        Ok(())
    }

    /// A receiver of every notice from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventNotice> {
        self.tx.subscribe()
    }

    /// Queues notices inside the transaction that records the events (PostgreSQL).
    ///
    /// # Errors
    /// Internal only.
    pub async fn notify_in<C: ConnectionTrait>(&self, txn: &C, notices: &[EventNotice]) -> AppResult<()> {
        if self.backend != DbBackend::Postgres {
            return Ok(());
        }
        for n in notices {
            let payload = serde_json::to_string(n).map_err(|_| crate::error::AppError::internal("event encoding"))?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Delivers notices after their transaction committed (SQLite: PostgreSQL delivers by itself).
    pub fn committed(&self, notices: &[EventNotice]) {
        if self.backend == DbBackend::Postgres {
            return;
        }
        for n in notices {
            // No subscriber is not an error.
            let _ = self.tx.send(*n);
        }
    }
}

async fn listen(
    pool: sea_orm::sqlx::PgPool,
    tx: broadcast::Sender<EventNotice>,
    accounts: broadcast::Sender<Option<Uuid>>,
    outbox: Arc<Notify>,
    sessions: Arc<SessionCache>,
) {
    let accounts_changed = |user: Option<Uuid>| {
        sessions.clear();
        let _ = accounts.send(user);
    };
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(reason = %describe_db_err(&sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()))), "event listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if listener.listen_all([CHANNEL, ACCOUNTS_CHANNEL, OUTBOX_CHANNEL]).await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever changed while not listening is unknown: start from an empty cache.
        accounts_changed(None);
        // Emails may have been written while not listening.
        outbox.notify_one();
        loop {
            match listener.try_recv().await {
                // The connection dropped (the next call reconnects): notices may have been missed.
                Ok(None) => accounts_changed(None),
                Ok(Some(n)) if n.channel() == ACCOUNTS_CHANNEL => accounts_changed(n.payload().parse().ok()),
                Ok(Some(n)) if n.channel() == OUTBOX_CHANNEL => outbox.notify_one(),
                Ok(Some(n)) => match serde_json::from_str::<EventNotice>(n.payload()) {
                    Ok(notice) => {
                        let _ = tx.send(notice);
                    }
                    Err(_) => tracing::warn!("ignoring a malformed appointment event notice"),
                },
                Err(_) => {
                    if pool.is_closed() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}
