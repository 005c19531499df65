//! The outbox sender: one task per process that claims due messages (emails and SMS alike) with a
//! lease, delivers each through its channel's transport (the [`Mailer`] or the [`SmsTransport`]),
//! and records the outcome. Both channels share everything below: the claim, the lease, the
//! backoff, the attempts, the re-check before sending.
//!
//! A claim is one atomic statement (an `UPDATE … RETURNING` over the due rows: on PostgreSQL a
//! `FOR UPDATE SKIP LOCKED` subquery, so concurrent senders take disjoint batches; on SQLite through
//! the one writer connection), which also counts the attempt and sets a lease. Another process may
//! take a row over only once its lease has expired (its sender died mid-send): then the same
//! message is sent again under the same `Message-ID`, recognisable as a retry. A failed delivery is
//! due again after an exponential backoff; after the last attempt the row is `FAILED`.
//!
//! The sender sleeps until it is woken (a write to the outbox, here or — on PostgreSQL — in any
//! process), until the next row falls due, or [`POLL`] at the longest.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

use crate::{
    config::Config,
    db::entities::outbox_email::{self, Column},
    domain::{
        Store,
        appointments::{notices, sms_notices},
    },
    error::AppResult,
    mail::Mailer,
    outbox::{Channel, EmailKind, EmailStatus},
    sms::SmsTransport,
};

/// What the sender delivers through: one transport per channel.
#[derive(Clone)]
pub struct Transports {
    pub mail: Mailer,
    pub sms: SmsTransport,
}

/// What the sender works with: the store (both pools, the clock, the wake-ups), the transports,
/// and the retry settings (`MAIL_RETRY_*`, `MAIL_MAX_ATTEMPTS`, for both channels).
#[derive(Clone)]
pub struct Sender {
    store: Store,
    mailer: Mailer,
    sms: SmsTransport,
    /// `MAIL_MAX_ATTEMPTS`.
    max_attempts: u32,
    /// `MAIL_RETRY_SECS` and `MAIL_RETRY_MAX_SECS`: the first delay, doubling up to the largest.
    retry: (Duration, Duration),
}

impl Sender {
    pub fn new(store: Store, transports: Transports, config: &Config) -> Self {
        Self {
            store,
            mailer: transports.mail,
            sms: transports.sms,
            max_attempts: config.mail_max_attempts,
            retry: (config.mail_retry, config.mail_retry_max),
        }
    }
}

impl std::ops::Deref for Sender {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Longest the sender sleeps without looking for due emails (a wake-up lost, a row whose lease
/// expired, a reminder falling due).
pub const POLL: Duration = Duration::from_secs(5);
/// How long a claim holds: longer than any delivery takes (SMTP times out after 15 s).
const LEASE: Duration = Duration::from_secs(120);
/// Emails claimed at once.
const BATCH: u64 = 32;
/// How long a wake-up waits for more emails before claiming.
const COALESCE: Duration = Duration::from_millis(50);
/// Deliveries in flight at once.
const CONCURRENCY: usize = 4;

/// Starts the sender; it stops, after finishing the deliveries in hand, when `stop` turns true.
pub fn spawn(state: Sender, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(crate::db::uncounted(async move {
        let owner = format!("{}:{}", std::process::id(), Uuid::new_v4().simple());
        let wake = state.events.outbox_wakeups();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match send_due(&state, &owner, &stop).await {
                // A full batch: there may be more.
                Ok(n) if n as u64 >= BATCH => continue,
                Ok(_) => next_wait(&state).await,
                Err(e) => {
                    tracing::warn!(reason = %describe(&e), "outbox sender could not claim emails; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = wake.notified() => {
                    // Under load every commit wakes the sender: a moment's wait lets one claim
                    // take many emails (the writer is shared with requests; emails are not urgent
                    // to the millisecond).
                    tokio::time::sleep(COALESCE).await;
                }
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }))
}

fn describe(e: &crate::error::AppError) -> String {
    match e {
        crate::error::AppError::Internal(what) => what.clone(),
        other => other.code().to_owned(),
    }
}

/// How long to sleep: until the next pending email falls due, at most [`POLL`].
async fn next_wait(state: &Sender) -> Duration {
    let next: Option<DateTime<Utc>> = outbox_email::Entity::find()
        .select_only()
        .column_as(Column::DueAt.min(), "next")
        .filter(Column::Status.eq(EmailStatus::Pending))
        .into_tuple()
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .flatten();
    let now = state.clock.now();
    next.map_or(POLL, |due| (due - now).to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(10), POLL))
}

/// Claims the due emails (one batch) and delivers them; returns how many were claimed. Once `stop`
/// turns true, the deliveries under way finish and the rest of the batch is released at once
/// (for the next sender, here or in another process) instead of waiting for its lease to expire.
///
/// Each message is first checked against what it is for now ([`current`]); the batch's
/// notifications' addresses are read in one statement. Emails for the outbox folder are then
/// written together ([`Mailer::write_files`]); SMTP emails and SMS go [`CONCURRENCY`] at a time.
///
/// # Errors
/// The claim failed (each delivery's outcome is recorded on its row).
pub async fn send_due(state: &Sender, owner: &str, stop: &watch::Receiver<bool>) -> AppResult<usize> {
    let claimed = claim(state, owner).await?;
    let n = claimed.len();
    // A read: on the read connections (on SQLite, not the one writer, which bookings wait for).
    let addresses = notices::notification_addresses(&state.reads, &claimed).await?;
    let sent = std::sync::Mutex::new(Vec::with_capacity(n));
    let files = std::sync::Mutex::new(Vec::new());
    futures_util::stream::iter(claimed)
        .for_each_concurrent(CONCURRENCY, |email| async {
            let done = if *stop.borrow() {
                release(state, owner, &email).await
            } else {
                match current(state, owner, email, &addresses).await {
                    Ok(Some(email)) if email.channel == Channel::Email && state.mailer.writes_files() => {
                        if let Ok(mut files) = files.lock() {
                            files.push(email);
                        }
                        Ok(())
                    }
                    Ok(Some(email)) => {
                        let outcome = match email.channel {
                            Channel::Email => state.mailer.deliver(&email).await.map(|()| None),
                            Channel::Sms => state.sms.send(&email).await,
                        };
                        settle(state, owner, &email, outcome, &sent).await
                    }
                    other => other.map(|_| ()),
                }
            };
            if let Err(e) = done {
                tracing::warn!(reason = %describe(&e), "could not record an email's delivery");
            }
        })
        .await;
    let files = files.into_inner().unwrap_or_default();
    if !files.is_empty() {
        let outcomes = state.mailer.write_files(&files).await;
        for (email, outcome) in files.iter().zip(outcomes) {
            if let Err(e) = settle(state, owner, email, outcome.map(|()| None), &sent).await {
                tracing::warn!(reason = %describe(&e), "could not record an email's delivery");
            }
        }
    }
    // The batch's deliveries recorded in one statement: the writer is shared with requests. A
    // gateway's id of an SMS is one more statement for that SMS.
    let sent = sent.into_inner().unwrap_or_default();
    for (id, provider_id) in &sent {
        let Some(provider_id) = provider_id else { continue };
        outbox_email::Entity::update_many()
            .col_expr(Column::ProviderMessageId, Expr::value(provider_id.clone()))
            .filter(Column::Id.eq(*id))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(&state.writer)
            .await?;
    }
    let sent: Vec<Uuid> = sent.into_iter().map(|(id, _)| id).collect();
    if !sent.is_empty() {
        outbox_email::Entity::update_many()
            .col_expr(Column::Status, Expr::value(EmailStatus::Sent))
            .col_expr(Column::SentAt, Expr::value(Some(state.clock.now())))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .filter(Column::Id.is_in(sent))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(&state.writer)
            .await?;
    }
    Ok(n)
}

/// Gives a claimed email back untried: its lease and the attempt the claim counted are undone.
async fn release(state: &Sender, owner: &str, email: &outbox_email::Model) -> AppResult<()> {
    outbox_email::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::Attempts, Expr::value(email.attempts.saturating_sub(1)))
        .filter(Column::Id.eq(email.id))
        .filter(Column::LeaseOwner.eq(owner))
        .exec(&state.writer)
        .await?;
    Ok(())
}

/// Takes up to [`BATCH`] due emails under a lease, counting the attempt: one statement.
async fn claim(state: &Sender, owner: &str) -> AppResult<Vec<outbox_email::Model>> {
    let now = state.clock.now();
    let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let due = outbox_email::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(EmailStatus::Pending))
        .filter(Column::DueAt.lte(now))
        .filter(Condition::any().add(Column::LeaseUntil.is_null()).add(Column::LeaseUntil.lt(now)))
        .order_by_asc(Column::DueAt)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let claimed = outbox_email::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(Column::LeaseOwner, Expr::value(owner))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.in_subquery(due))
        .exec_with_returning(&state.writer)
        .await?;
    Ok(claimed)
}

/// A claimed message as it is to be sent now, `None` when it is not to be sent.
///
/// An appointment email goes to its recipient's address as it is now (see
/// [`notices::reminder_address`] and [`notices::notification_address`], from `addresses`), an SMS to
/// the patient's number as it is now ([`sms_notices::number_for`]); when that changed since it was
/// written, the row is updated first, so that the admin lists show where it went. A reminder or an
/// SMS no longer wanted (cancelled, moved, started, turned off, a deactivated patient) is deleted
/// unsent.
async fn current(
    state: &Sender,
    owner: &str,
    mut email: outbox_email::Model,
    addresses: &notices::NotificationAddresses,
) -> AppResult<Option<outbox_email::Model>> {
    // `None`: not to be sent; `Some(None)`: to the address it was written with.
    let wanted: Option<Option<String>> = match email.channel {
        Channel::Sms => sms_notices::number_for(&state.writer, &email, state.clock.now()).await?.map(Some),
        Channel::Email if email.kind == EmailKind::AppointmentReminder => {
            notices::reminder_address(&state.writer, &email).await?.map(Some)
        }
        Channel::Email => Some(notices::notification_address(addresses, &email)),
    };
    let Some(current) = wanted else {
        outbox_email::Entity::delete_many()
            .filter(Column::Id.eq(email.id))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(&state.writer)
            .await?;
        return Ok(None);
    };
    if let Some(to) = current.filter(|to| *to != email.to_address) {
        outbox_email::Entity::update_many()
            .col_expr(Column::ToAddress, Expr::value(to.clone()))
            .filter(Column::Id.eq(email.id))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(&state.writer)
            .await?;
        email.to_address = to;
    }
    Ok(Some(email))
}

/// Takes a delivery's outcome: a success joins `sent` (its id, and an SMS gateway's id of it), for
/// the batch to record at once; a failure is recorded here (only while the claim is still ours).
async fn settle(
    state: &Sender,
    owner: &str,
    email: &outbox_email::Model,
    outcome: Result<Option<String>, String>,
    sent: &std::sync::Mutex<Vec<(Uuid, Option<String>)>>,
) -> AppResult<()> {
    let why = match outcome {
        Ok(provider_id) => {
            if let Ok(mut sent) = sent.lock() {
                sent.push((email.id, provider_id));
            }
            return Ok(());
        }
        Err(why) => why.chars().take(200).collect::<String>(),
    };
    let now = state.clock.now();
    let mut update = outbox_email::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None));
    let attempts = u32::try_from(email.attempts).unwrap_or(u32::MAX);
    if attempts >= state.max_attempts {
        let kind = email.kind.header_value();
        // The email lines as they always were (operators alert on them); the SMS ones beside them.
        match email.channel {
            Channel::Email => tracing::warn!(email = %email.id, kind, attempts, reason = %why,
                "email failed for good after its last attempt"),
            Channel::Sms => tracing::warn!(sms = %email.id, kind, attempts, reason = %why,
                "sms failed for good after its last attempt"),
        }
        update = update.col_expr(Column::Status, Expr::value(EmailStatus::Failed));
    } else {
        let delay = backoff(state.retry.0, state.retry.1, attempts);
        let retry_in_secs = delay.as_secs();
        match email.channel {
            Channel::Email => tracing::info!(email = %email.id, attempts, retry_in_secs, reason = %why,
                "email not delivered; will retry"),
            Channel::Sms => tracing::info!(sms = %email.id, attempts, retry_in_secs, reason = %why,
                "sms not delivered; will retry"),
        }
        update =
            update.col_expr(Column::DueAt, Expr::value(now + chrono::Duration::from_std(delay).unwrap_or_default()));
    }
    let recorded = update
        .col_expr(Column::LastError, Expr::value(Some(why)))
        .filter(Column::Id.eq(email.id))
        .filter(Column::LeaseOwner.eq(owner))
        .exec(&state.writer)
        .await?;
    // Counted once it is recorded (a claim taken over meanwhile records nothing here).
    if attempts >= state.max_attempts && recorded.rows_affected > 0 {
        crate::metrics::outbox_failed(email.channel);
    }
    Ok(())
}

/// The delay before attempt `attempts + 1`: `first`, doubling each time, at most `max`.
pub fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = Ord::min(attempts.saturating_sub(1), 30);
    Ord::min(first.saturating_mul(1 << doublings), max)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::backoff;

    #[test]
    fn retries_back_off_exponentially_up_to_the_maximum() {
        let (first, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let delays: Vec<u64> = (1..=9).map(|a| backoff(first, max, a).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(first, max, u32::MAX), max);
    }
}
