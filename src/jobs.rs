//! Background loops, started by [`crate::app::Application::run_until`] in every process and stopped
//! when the server shuts down: the outbox sender ([`crate::sender`]), the webhook sender
//! ([`crate::webhooks`]), the waitlist's matcher ([`crate::matcher`]), and housekeeping, which
//! deletes what has expired. Their statements are left out of the request statement counter. Each
//! takes what it uses (the store, the settings it reads, the mailer), not the application's state.
//!
//! Every process runs them, so each is safe when several run at once against one database: a
//! housekeeping run is a handful of idempotent `DELETE`s (on PostgreSQL each under a
//! transaction-scoped advisory lock, so two runs take turns instead of risking a deadlock on the
//! same rows; on SQLite they go through the one writer connection).
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, DeleteMany, EntityTrait, QueryFilter, Statement};
use tokio::{sync::watch, task::JoinHandle};

use std::sync::Arc;

use crate::{
    config::Config,
    db::{
        begin_write,
        entities::{login_failure, outbox_email, password_reset_token, refresh_token, session, webhook_delivery},
    },
    domain::{Store, throttle, waitlist::WaitlistRules},
    error::{AppError, AppResult},
    outbox::EmailStatus,
};

/// How long after start the first housekeeping run comes: at once, so a process that is restarted
/// often still cleans up, and the run is over before the first requests have changed anything.
pub const HOUSEKEEPING_FIRST_RUN: Duration = Duration::ZERO;
/// Time between housekeeping runs.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// The background loops of one process.
pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts every background loop over `store`: the outbox's sender (delivering through
/// `transports`: email and SMS), the waitlist's matcher and housekeeping. They run until
/// [`Jobs::stop`] (or until the returned value is dropped).
pub fn start(store: &Store, config: &Arc<Config>, transports: crate::sender::Transports) -> Jobs {
    let (stop, stopped) = watch::channel(false);
    let sender = crate::sender::Sender::new(store.clone(), transports, config);
    let mut tasks = vec![
        crate::sender::spawn(sender, stopped.clone()),
        crate::matcher::spawn(store.clone(), WaitlistRules::from(&**config), stopped.clone()),
        tokio::spawn(crate::db::uncounted(housekeeping_loop(store.clone(), config.clone(), stopped.clone()))),
    ];
    match crate::webhooks::WebhookSender::new(store.clone(), config.webhooks) {
        Ok(webhooks) => tasks.push(crate::webhooks::spawn(webhooks, stopped)),
        Err(e) => tracing::error!(error = %e, "the webhook sender could not start; deliveries wait for a restart"),
    }
    Jobs { stop, tasks }
}

/// How long the loops may take to finish after they were told to stop (the sender's deliveries
/// in hand are bounded by the mail timeout; what it has not started it releases).
const STOP_GRACE: Duration = Duration::from_secs(30);

impl Jobs {
    /// Tells every loop to stop and waits until they have (at most [`STOP_GRACE`]): a run in
    /// progress finishes first (a housekeeping run is a few short statements; the sender finishes
    /// the deliveries under way).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
            tracing::warn!("background work did not finish in time; the outbox claims expire and are retried");
        }
    }
}

/// Rows deleted by one housekeeping run, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    /// Refresh tokens past their expiry.
    pub refresh_tokens: u64,
    /// Logins (sessions) past their expiry, revoked or not; their remaining refresh tokens go with
    /// them (foreign key `ON DELETE CASCADE`) and are not counted above.
    pub sessions: u64,
    /// Password-reset tokens past their expiry.
    pub password_reset_tokens: u64,
    /// Throttled attempts (`login_failures`, every kind) older than their kind's window.
    pub login_failures: u64,
    /// `SENT` emails sent longer ago than `OUTBOX_RETENTION_DAYS`.
    pub sent_emails: u64,
    /// `SUCCEEDED` webhook deliveries delivered longer ago than `OUTBOX_RETENTION_DAYS` (failed
    /// ones stay, for an admin to send again).
    pub delivered_webhooks: u64,
}

/// Deletes, as of `store.clock`, what has expired: refresh tokens, logins and password-reset
/// tokens past their expiry, throttled attempts out of their window, and `SENT` emails older than
/// the retention, and webhook deliveries that succeeded longer ago than the same retention. Never
/// the audit log, and never a `PENDING` or `FAILED` email or webhook delivery. Each table is one
/// short write transaction, so the single SQLite writer is never held for long; any number of
/// runs (in this process or others) may overlap, each row being deleted by exactly one of them.
///
/// # Errors
/// Internal only (the database failed); the tables done before the failure stay done.
pub async fn housekeeping_once(store: &Store, config: &Config) -> AppResult<HousekeepingReport> {
    let now = store.clock.now();
    let refresh_tokens = purge(
        store,
        "refresh_tokens",
        refresh_token::Entity::delete_many().filter(refresh_token::Column::ExpiresAt.lte(now)),
    )
    .await?;
    let sessions =
        purge(store, "sessions", session::Entity::delete_many().filter(session::Column::ExpiresAt.lte(now))).await?;
    let password_reset_tokens = purge(
        store,
        "password_reset_tokens",
        password_reset_token::Entity::delete_many().filter(password_reset_token::Column::ExpiresAt.lte(now)),
    )
    .await?;

    // Each kind after its own window (`count` counts attempts strictly inside it); a kind this
    // version does not know after the longest window.
    let mut out_of_window = Condition::any();
    let mut longest = Duration::ZERO;
    for kind in throttle::Kind::ALL {
        let window = kind.window(config);
        longest = longest.max(window);
        out_of_window = out_of_window.add(
            Condition::all()
                .add(login_failure::Column::Kind.eq(kind.as_str()))
                .add(login_failure::Column::At.lte(before(now, window)?)),
        );
    }
    out_of_window = out_of_window.add(
        Condition::all()
            .add(login_failure::Column::Kind.is_not_in(throttle::Kind::ALL.map(throttle::Kind::as_str)))
            .add(login_failure::Column::At.lte(before(now, longest)?)),
    );
    let login_failures =
        purge(store, "login_failures", login_failure::Entity::delete_many().filter(out_of_window)).await?;

    let sent_emails = purge(
        store,
        "outbox",
        outbox_email::Entity::delete_many()
            .filter(outbox_email::Column::Status.eq(EmailStatus::Sent))
            .filter(outbox_email::Column::SentAt.lte(before(now, config.outbox_retention)?)),
    )
    .await?;

    let delivered_webhooks = purge(
        store,
        "webhook_deliveries",
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::Status.eq(webhook_delivery::DeliveryStatus::Succeeded))
            .filter(webhook_delivery::Column::DeliveredAt.lte(before(now, config.outbox_retention)?)),
    )
    .await?;

    Ok(HousekeepingReport {
        refresh_tokens,
        sessions,
        password_reset_tokens,
        login_failures,
        sent_emails,
        delivered_webhooks,
    })
}

/// `now` minus `ago` (a window or retention from the configuration).
fn before(now: DateTime<Utc>, ago: Duration) -> AppResult<DateTime<Utc>> {
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| AppError::internal("housekeeping cut-off out of range"))
}

/// Runs one `DELETE` in a write transaction of its own; on PostgreSQL first takes a lock named
/// after `table`, so concurrent runs delete one after the other. Returns the rows deleted.
async fn purge<E: EntityTrait>(store: &Store, table: &str, delete: DeleteMany<E>) -> AppResult<u64> {
    let txn = begin_write(&store.writer).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("housekeeping:{table}").into()],
        ))
        .await?;
    }
    let deleted = delete.exec(&txn).await?.rows_affected;
    txn.commit().await?;
    Ok(deleted)
}

/// Runs housekeeping [`HOUSEKEEPING_FIRST_RUN`] after start, then every [`HOUSEKEEPING_EVERY`],
/// until `stop` turns true (or its sender is gone). One `info` line per run with the counts; a
/// failed run is logged at `warn` and the next one tries again.
async fn housekeeping_loop(store: Store, config: Arc<Config>, mut stop: watch::Receiver<bool>) {
    let mut wait = HOUSEKEEPING_FIRST_RUN;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = HOUSEKEEPING_EVERY;
        match housekeeping_once(&store, &config).await {
            Ok(r) => tracing::info!(
                refresh_tokens = r.refresh_tokens,
                sessions = r.sessions,
                password_reset_tokens = r.password_reset_tokens,
                login_failures = r.login_failures,
                sent_emails = r.sent_emails,
                delivered_webhooks = r.delivered_webhooks,
                "housekeeping"
            ),
            // The error's text is a database error's kind and code, never a statement or a value.
            Err(e) => tracing::warn!(error = ?e, "housekeeping failed; the next run tries again"),
        }
    }
}
