//! Attempt throttles, counted atomically in the database.
//!
//! An attempt is recorded *before* the work it guards (checking a password, trying a reset token,
//! sending an email), in one write transaction that first serializes with every other attempt on
//! the same email and client address, then counts the attempts in the window and records this one
//! only while the counts are under their limits. So of any number of simultaneous attempts at most
//! the limit get through, on SQLite (one writer, `BEGIN IMMEDIATE`) and on PostgreSQL
//! (transaction-scoped advisory locks keyed by email and by address) alike. A recorded attempt
//! counts as a failure until a success clears it.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    Statement,
};
use uuid::Uuid;

use crate::{
    config::Config,
    db::entities::login_failure,
    error::{AppError, AppResult},
};

/// What is being attempted; each kind is counted on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Signing in, and a wrong old password at `changePassword`.
    Login,
    /// Trying a password-reset token.
    Reset,
    /// Sending a password-reset email (counted per recipient).
    ResetEmail,
    /// Fetching a calendar feed with a token that matches none (counted per client address).
    CalendarFeed,
    /// Signing up, successful or not (counted per client address).
    Register,
    /// Sending an `EMAIL_CHANGED` notice (counted per recipient): an address never verified can be
    /// set and changed again in a loop, each change mailing the address it left.
    ChangedEmail,
}

/// How long a sent password-reset email counts against its recipient's hourly limit.
const RESET_EMAIL_WINDOW: Duration = Duration::from_secs(3600);
/// How long a sign-up counts against its client address's hourly limit.
const REGISTER_WINDOW: Duration = Duration::from_secs(3600);

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 6] =
        [Self::Login, Self::Reset, Self::ResetEmail, Self::CalendarFeed, Self::Register, Self::ChangedEmail];

    /// The name stored in `login_failures.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Reset => "reset",
            Self::ResetEmail => "reset_email",
            Self::CalendarFeed => "calendar_feed",
            Self::Register => "register",
            Self::ChangedEmail => "changed_email",
        }
    }

    /// How long an attempt of this kind counts: once it is older, it is out of every window and
    /// housekeeping may delete it.
    pub fn window(self, config: &Config) -> Duration {
        match self {
            Self::Login | Self::Reset | Self::CalendarFeed => config.login_window,
            Self::ResetEmail | Self::ChangedEmail => RESET_EMAIL_WINDOW,
            Self::Register => REGISTER_WINDOW,
        }
    }
}

/// One attempt to count: for an email (at most `max_per_email` in `window`) and, when given, from a
/// client address (at most its own limit in the same window).
#[derive(Clone, Debug)]
pub struct Attempt<'a> {
    pub kind: Kind,
    pub email: &'a str,
    pub max_per_email: u32,
    pub client_addr: &'a str,
    /// The address's limit; `None` counts per email only.
    pub max_per_address: Option<u32>,
    pub window: Duration,
}

impl<'a> Attempt<'a> {
    /// A password tried for `email` (login, or the old password at `changePassword`), with the
    /// login limits of `config`.
    pub fn password(config: &Config, email: &'a str, client_addr: &'a str) -> Self {
        Self {
            kind: Kind::Login,
            email,
            max_per_email: config.login_max_failures,
            client_addr,
            max_per_address: Some(config.login_max_failures_per_address),
            window: Kind::Login.window(config),
        }
    }

    /// A reset token tried for `email`, with the login limits of `config`.
    pub fn reset_token(config: &Config, email: &'a str, client_addr: &'a str) -> Self {
        Self { kind: Kind::Reset, ..Self::password(config, email, client_addr) }
    }

    /// A reset email to `email`: at most `PASSWORD_RESET_MAX_PER_HOUR` an hour.
    pub fn reset_email(config: &Config, email: &'a str, client_addr: &'a str) -> Self {
        Self {
            kind: Kind::ResetEmail,
            email,
            max_per_email: config.password_reset_max_per_hour,
            client_addr,
            max_per_address: None,
            window: Kind::ResetEmail.window(config),
        }
    }

    /// An `EMAIL_CHANGED` notice to `email`: at most `PASSWORD_RESET_MAX_PER_HOUR` an hour, as reset
    /// emails (both are account emails to an address someone else may have typed).
    pub fn changed_email(config: &Config, email: &'a str) -> Self {
        Self {
            kind: Kind::ChangedEmail,
            email,
            max_per_email: config.password_reset_max_per_hour,
            client_addr: "",
            max_per_address: None,
            window: Kind::ChangedEmail.window(config),
        }
    }

    /// A calendar-feed token that matched no feed, from `client_addr`: at most
    /// `LOGIN_MAX_FAILURES_PER_ADDRESS` in `LOGIN_WINDOW_SECS` per address, like failed logins.
    /// Counted by address alone: the address stands in the email column too, so the count and
    /// [`over_limit`] use the `(kind, email, at)` index and one lock.
    pub fn calendar_feed(config: &Config, client_addr: &'a str) -> Self {
        Self {
            kind: Kind::CalendarFeed,
            email: client_addr,
            max_per_email: config.login_max_failures_per_address,
            client_addr,
            max_per_address: None,
            window: Kind::CalendarFeed.window(config),
        }
    }

    /// A sign-up from `client_addr`, failed or not: at most `REGISTER_MAX_PER_HOUR` an hour per
    /// address. Counted by address alone, as [`Attempt::calendar_feed`].
    pub fn register(config: &Config, client_addr: &'a str) -> Self {
        Self {
            kind: Kind::Register,
            email: client_addr,
            max_per_email: config.register_max_per_hour,
            client_addr,
            max_per_address: None,
            window: Kind::Register.window(config),
        }
    }
}

/// Over a limit: try again in `retry_after` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: u64,
}

impl From<Limited> for AppError {
    fn from(l: Limited) -> Self {
        AppError::RateLimited { retry_after: l.retry_after }
    }
}

/// Counts `attempt` inside `txn`, which must be a write transaction (`db::begin_write`): records
/// it and answers `Ok(Ok(()))` while the email's (and the address's) attempts in the window are
/// under their limits; otherwise records nothing and answers `Ok(Err(Limited))`, with the seconds
/// until the oldest counted attempt leaves the window. Attempts on the same email or address wait
/// for each other until `txn` ends, so the caller should commit promptly.
///
/// # Errors
/// Internal only.
pub async fn count<C: ConnectionTrait>(
    txn: &C,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
) -> AppResult<Result<(), Limited>> {
    let kind = attempt.kind.as_str();
    // Locks in one order (email, then address) everywhere, so no two attempts wait on each other.
    lock(txn, &format!("throttle:{kind}:email:{}", attempt.email)).await?;
    if attempt.max_per_address.is_some() {
        lock(txn, &format!("throttle:{kind}:addr:{}", attempt.client_addr)).await?;
    }
    if let Err(limited) = over_limit(txn, attempt, now).await? {
        return Ok(Err(limited));
    }
    login_failure::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.to_owned()),
        email: Set(attempt.email.chars().take(254).collect()),
        client_addr: Set(attempt.client_addr.chars().take(64).collect()),
        at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(Ok(()))
}

/// Whether `attempt` would be refused now, without recording anything or waiting for other
/// attempts: `Ok(Err(Limited))` once the email's (or the address's) attempts in the window reach
/// their limit. A read, for refusing early; [`count`] is what counts atomically.
///
/// # Errors
/// Internal only.
pub async fn over_limit<C: ConnectionTrait>(
    db: &C,
    attempt: &Attempt<'_>,
    now: DateTime<Utc>,
) -> AppResult<Result<(), Limited>> {
    let kind = attempt.kind.as_str();
    let window = chrono::Duration::from_std(attempt.window).map_err(|_| AppError::internal("window out of range"))?;
    let since = now - window;
    let mut limits = vec![(login_failure::Column::Email, attempt.email, attempt.max_per_email)];
    if let Some(max) = attempt.max_per_address {
        limits.push((login_failure::Column::ClientAddr, attempt.client_addr, max));
    }
    for (column, value, max) in limits {
        let recent: Vec<DateTime<Utc>> = login_failure::Entity::find()
            .select_only()
            .column(login_failure::Column::At)
            .filter(login_failure::Column::Kind.eq(kind))
            .filter(column.eq(value))
            .filter(login_failure::Column::At.gt(since))
            .order_by_desc(login_failure::Column::At)
            .limit(u64::from(max))
            .into_tuple()
            .all(db)
            .await?;
        if u32::try_from(recent.len()).unwrap_or(u32::MAX) >= max {
            // Attempts resume when the oldest of the last `max` leaves the window.
            let oldest = recent.last().copied().unwrap_or(now);
            let retry_after = Ord::max((oldest + window - now).num_seconds(), 1);
            return Ok(Err(Limited { retry_after: u64::try_from(retry_after).unwrap_or(1) }));
        }
    }
    Ok(Ok(()))
}

/// Forgets the email's attempts of `kind` (after a success), inside the caller's transaction.
///
/// # Errors
/// Internal only.
pub async fn clear<C: ConnectionTrait>(txn: &C, kind: Kind, email: &str) -> AppResult<()> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Kind.eq(kind.as_str()))
        .filter(login_failure::Column::Email.eq(email))
        .exec(txn)
        .await?;
    Ok(())
}

/// Waits for, and holds until the transaction ends, the lock named `key`. On PostgreSQL an
/// advisory lock (keyed by a 64-bit hash of the name: a collision only makes two keys wait for
/// each other); on SQLite nothing, as a write transaction already holds the one write lock.
async fn lock<C: ConnectionTrait>(txn: &C, key: &str) -> AppResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}
