//! Appointment events for live subscribers, across replicas.
//!
//! On PostgreSQL the notice is sent with `pg_notify` inside the transaction that made the change,
//! so it is delivered only if that transaction commits, and to every replica listening on the
//! channel (each forwards it to its own subscribers). On SQLite (one process) the notice goes
//! straight to the local subscribers after the commit.
//!
//! A subscriber is never left to miss events silently: one that falls [`EVENT_BUFFER`] notices
//! behind, or that was listening while the PostgreSQL listener lost its connection (notices sent
//! meanwhile are gone), is told so ([`Heard::Gap`], or the channel's `Lagged`) and its
//! subscription ends with `EVENTS_MISSED`: the client fetches again and subscribes again.
use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::{
    auth::sessions::SessionCache,
    db::people::PeopleCache,
    error::{AppResult, describe_db_err},
};

const CHANNEL: &str = "cybermed_appointment_events";
/// Account changes that may end logins: every replica empties its login cache.
const ACCOUNTS_CHANNEL: &str = "cybermed_accounts_changed";
/// A doctor's profile changed: every replica forgets what it kept of them (an account change, on
/// [`ACCOUNTS_CHANNEL`], forgets the person too).
const PEOPLE_CHANNEL: &str = "cybermed_people_changed";
/// Emails written to the outbox: every replica's sender looks for due ones.
const OUTBOX_CHANNEL: &str = "cybermed_outbox";

/// How many notices this process holds for a subscriber that has not taken them yet. Notices are
/// small (four ids); a subscriber further behind than this has missed events and is told so.
pub const EVENT_BUFFER: usize = 256;

/// What subscribers are told: which event, and who may see it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EventNotice {
    pub event_id: Uuid,
    pub appointment_id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
}

/// What a transaction wrote for the senders to send.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    /// Emails (or SMS) to the outbox.
    pub emails: bool,
    /// Webhook deliveries.
    pub deliveries: bool,
}

/// What the local fan-out carries.
#[derive(Clone, Copy, Debug)]
pub enum Heard {
    /// An event was recorded (and committed).
    Notice(EventNotice),
    /// Notices may have been lost: the PostgreSQL listener was disconnected and is listening again.
    /// Whoever was subscribed before must fetch again what they follow.
    Gap,
}

/// The local fan-out point.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Heard>,
    /// Account changes that may have ended logins (here or on another replica), by user (`None`:
    /// any user, e.g. after notices may have been missed): open WebSockets check their login again.
    accounts: broadcast::Sender<Option<Uuid>>,
    /// Wakes this process's outbox sender.
    outbox: Arc<Notify>,
    /// Wakes this process's webhook sender: with the outbox's wake-ups (same channel), a
    /// transaction that wrote deliveries wakes the senders the way one that wrote emails does.
    webhooks: Arc<Notify>,
    backend: DbBackend,
}

impl EventHub {
    /// Starts the hub; on PostgreSQL also the listener that feeds it, empties `sessions` when
    /// another replica changed accounts and forgets in `people` whom another replica changed.
    pub fn start(db: &DatabaseConnection, sessions: Arc<SessionCache>, people: Arc<PeopleCache>) -> Self {
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        let (accounts, _) = broadcast::channel(64);
        let outbox = Arc::new(Notify::new());
        let webhooks = Arc::new(Notify::new());
        let backend = db.get_database_backend();
        if backend == DbBackend::Postgres {
            let pool = db.get_postgres_connection_pool().clone();
            let (tx, accounts) = (tx.clone(), accounts.clone());
            let wake = Wakeups { outbox: outbox.clone(), webhooks: webhooks.clone() };
            let caches = Caches { sessions, people };
            tokio::spawn(async move { listen(pool, tx, accounts, wake, caches).await });
        }
        Self { tx, accounts, outbox, webhooks, backend }
    }

    /// What wakes this process's outbox sender.
    pub fn outbox_wakeups(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// What wakes this process's webhook sender.
    pub fn webhook_wakeups(&self) -> Arc<Notify> {
        self.webhooks.clone()
    }

    /// Wakes the senders after `txn` wrote to the outbox: on PostgreSQL every process's, on
    /// commit; on SQLite this process's at once (its claim waits for the one writer connection,
    /// so it finds the rows once `txn` committed, and none if it rolled back).
    ///
    /// # Errors
    /// Internal only.
    pub async fn outbox_written<C: ConnectionTrait>(&self, txn: &C) -> AppResult<()> {
        self.senders_wanted(txn, Written { emails: true, deliveries: true }).await
    }

    /// [`Self::outbox_written`] for a transaction that knows what it wrote: on SQLite only the
    /// sender of what was written is woken (a webhook sender woken by every booking's emails
    /// claimed nothing, a write transaction on the one writer each time); on PostgreSQL every
    /// process's senders, as before.
    ///
    /// # Errors
    /// Internal only.
    pub async fn senders_wanted<C: ConnectionTrait>(&self, txn: &C, written: Written) -> AppResult<()> {
        if self.backend != DbBackend::Postgres {
            if written.emails {
                self.outbox.notify_one();
            }
            if written.deliveries {
                self.webhooks.notify_one();
            }
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
        self.notify_user(txn, ACCOUNTS_CHANNEL, user).await
    }

    /// Tells every replica, on commit of `txn`, that `user`'s doctor profile changed (PostgreSQL; a
    /// no-op on SQLite, whose one process forgets them itself).
    ///
    /// # Errors
    /// Internal only.
    pub async fn notify_people_changed<C: ConnectionTrait>(&self, txn: &C, user: Uuid) -> AppResult<()> {
        self.notify_user(txn, PEOPLE_CHANNEL, user).await
    }

    /// `user`'s id on `channel`, delivered on commit of `txn` (PostgreSQL only).
    async fn notify_user<C: ConnectionTrait>(&self, txn: &C, channel: &str, user: Uuid) -> AppResult<()> {
        if self.backend != DbBackend::Postgres {
            return Ok(());
        }
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), user.to_string().into()],
        ))
        .await?;
        Ok(())
    }

    /// A receiver of every notice from now on, and of every [`Heard::Gap`]. A receiver more than
    /// [`EVENT_BUFFER`] notices behind gets `RecvError::Lagged`: it has missed some.
    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.tx.subscribe()
    }

    /// Queues the notices of the events a transaction records, inside it (PostgreSQL; a no-op on
    /// SQLite, see [`Self::committed`]): one statement however many there are, each notice its own
    /// notification (so each stays far below PostgreSQL's 8000-byte payload limit), delivered to
    /// every replica only if `txn` commits. Call it once per transaction, with all its notices.
    ///
    /// # Errors
    /// Internal only.
    pub async fn notify_in<C: ConnectionTrait>(&self, txn: &C, notices: &[EventNotice]) -> AppResult<()> {
        if self.backend != DbBackend::Postgres || notices.is_empty() {
            return Ok(());
        }
        let payloads =
            serde_json::to_string(notices).map_err(|_| crate::error::AppError::internal("event encoding"))?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, notice::text) FROM json_array_elements($2::text::json) AS notice",
            [CHANNEL.into(), payloads.into()],
        ))
        .await?;
        Ok(())
    }

    /// [`Self::notify_in`] and [`Self::senders_wanted`] together, for a transaction that recorded
    /// events and wrote emails or deliveries: on PostgreSQL one statement for both.
    ///
    /// # Errors
    /// Internal only.
    pub async fn notify_in_and_outbox<C: ConnectionTrait>(
        &self,
        txn: &C,
        notices: &[EventNotice],
        written: Written,
    ) -> AppResult<()> {
        if self.backend != DbBackend::Postgres || notices.is_empty() {
            self.senders_wanted(txn, written).await?;
            return self.notify_in(txn, notices).await;
        }
        let payloads =
            serde_json::to_string(notices).map_err(|_| crate::error::AppError::internal("event encoding"))?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify(n.channel, n.payload) FROM (SELECT $1 AS channel, notice::text AS payload \
             FROM json_array_elements($2::text::json) AS notice UNION ALL SELECT $3, '') AS n",
            [CHANNEL.into(), payloads.into(), OUTBOX_CHANNEL.into()],
        ))
        .await?;
        Ok(())
    }

    /// Delivers notices after their transaction committed (SQLite: PostgreSQL delivers by itself).
    pub fn committed(&self, notices: &[EventNotice]) {
        if self.backend == DbBackend::Postgres {
            return;
        }
        for n in notices {
            // No subscriber is not an error.
            let _ = self.tx.send(Heard::Notice(*n));
        }
    }
}

/// What the listener empties when other replicas change accounts or people.
struct Caches {
    sessions: Arc<SessionCache>,
    people: Arc<PeopleCache>,
}

/// The senders a notice on the outbox channel wakes.
struct Wakeups {
    outbox: Arc<Notify>,
    webhooks: Arc<Notify>,
}

impl Wakeups {
    fn notify(&self) {
        self.outbox.notify_one();
        self.webhooks.notify_one();
    }
}

/// Feeds the local hub from PostgreSQL notifications, reconnecting for as long as the pool is open.
/// Each time it listens again after losing its connection (notices sent meanwhile are lost), it
/// empties the login cache, wakes the outbox sender and sends [`Heard::Gap`] to the subscribers,
/// once it is listening again, so that what they fetch again is followed from then on.
async fn listen(
    pool: sea_orm::sqlx::PgPool,
    tx: broadcast::Sender<Heard>,
    accounts: broadcast::Sender<Option<Uuid>>,
    outbox: Wakeups,
    caches: Caches,
) {
    let person_changed = |user: Option<Uuid>| match user {
        Some(user) => caches.people.forget(user),
        None => caches.people.clear(),
    };
    let accounts_changed = |user: Option<Uuid>| {
        caches.sessions.clear();
        person_changed(user);
        let _ = accounts.send(user);
    };
    let missed = || {
        tracing::warn!("event listener reconnected; notices sent meanwhile were missed, subscribers are told");
        let _ = tx.send(Heard::Gap);
    };
    use sea_orm::sqlx::postgres::PgListener;
    let mut listened = false;
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
        if listener.listen_all([CHANNEL, ACCOUNTS_CHANNEL, PEOPLE_CHANNEL, OUTBOX_CHANNEL]).await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever changed while not listening is unknown: start from an empty cache.
        accounts_changed(None);
        // Emails may have been written while not listening.
        outbox.notify();
        if listened {
            missed();
        }
        listened = true;
        loop {
            match listener.try_recv().await {
                // The connection dropped and the listener is listening again on a new one: notices
                // sent in between were missed.
                Ok(None) => {
                    accounts_changed(None);
                    outbox.notify();
                    missed();
                }
                Ok(Some(n)) if n.channel() == ACCOUNTS_CHANNEL => accounts_changed(n.payload().parse().ok()),
                Ok(Some(n)) if n.channel() == PEOPLE_CHANNEL => person_changed(n.payload().parse().ok()),
                Ok(Some(n)) if n.channel() == OUTBOX_CHANNEL => outbox.notify(),
                Ok(Some(n)) => match serde_json::from_str::<EventNotice>(n.payload()) {
                    Ok(notice) => {
                        let _ = tx.send(Heard::Notice(notice));
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
