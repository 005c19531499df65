//! Passwords: the viewer's change, and the emailed reset (request, then completion).
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use super::{MSG_BAD_RESET_TOKEN, commit_account_change, count_attempt, sign_in::revoke_all_sessions};
use crate::{
    auth::{password::Passwords, sessions::SessionCache, token_hash, viewer::Viewer},
    config::Config,
    db::{
        begin_write,
        entities::{password_reset_token, user},
    },
    domain::{Store, audit, throttle, validation},
    error::{AppError, AppResult},
    outbox::{self, EmailKind, NewEmail},
};

/// The password-reset email's text (`{{name}}`, `{{link}}`, `{{token}}`, `{{minutes}}`).
const PASSWORD_RESET_EMAIL: &str = include_str!("../../../templates/email/password_reset.txt");

/// What `change_password` receives.
pub struct PasswordChange {
    pub old: String,
    pub new: String,
}

/// What `reset_password` receives.
pub struct PasswordReset {
    pub email: String,
    pub token: String,
    pub password: String,
}

/// Changes the viewer's password, signs out every login of theirs (this one too) and revokes their
/// calendar feed.
///
/// The old password is a password attempt like a login's: counted first, against the same
/// per-email (and per-address) limits, before it is checked; over the limit nothing is hashed.
///
/// # Errors
/// `BAD_USER_INPUT`: field `oldPassword` ("Old password is incorrect") or `newPassword` (rules);
/// `RATE_LIMITED` (with `retryAfter`) over the limit.
pub async fn change_password(
    store: &Store,
    passwords: &Passwords,
    sessions: &SessionCache,
    config: &Config,
    viewer: &Viewer,
    change: PasswordChange,
    client_addr: &str,
) -> AppResult<()> {
    let PasswordChange { old, new } = change;
    let email = viewer.user.email.as_str();
    validation::password(&new, email, "newPassword")?;
    let now = store.clock.now();
    let attempt = throttle::Attempt::password(config, email, client_addr);
    count_attempt(store, &attempt, "account.password_change_throttled", now).await?;
    if !passwords.verify(old, viewer.user.password_hash.clone()).await? {
        return Err(AppError::bad_input("oldPassword", "Old password is incorrect"));
    }
    let hash = passwords.hash(new).await?;
    let user_id = viewer.id();
    let txn = begin_write(&store.writer).await?;
    throttle::clear(&txn, throttle::Kind::Login, email).await?;
    store_hash(&txn, user_id, hash, now).await?;
    revoke_all_sessions(&txn, user_id, now).await?;
    super::revoke_calendar_feed(&txn, user_id).await?;
    audit::record(&txn, Some(user_id), "account.password_change", Some(user_id), now).await?;
    commit_account_change(store, sessions, txn, user_id).await?;
    Ok(())
}

/// Starts a password reset: when the email belongs to an active user, stores a new random token
/// (256 bits, by hash only, replacing any older one) and emails it, at most
/// `PASSWORD_RESET_MAX_PER_HOUR` times an hour per recipient (counted atomically, see [`throttle`]);
/// beyond that nothing changes and nothing is sent. The answer never depends on whether the email
/// exists, on the limit, nor on whether delivery worked (delivery runs in the background and its
/// failures are logged).
///
/// # Errors
/// Only internal failures.
pub async fn request_password_reset(store: &Store, config: &Config, email: &str, client_addr: &str) -> AppResult<()> {
    let email = email.trim().to_lowercase();
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::IsActive.eq(true))
        .one(&store.reads)
        .await?
    else {
        return Ok(());
    };
    let token = crate::auth::random_token(32);
    let now = store.clock.now();
    let ttl =
        chrono::Duration::from_std(config.password_reset_ttl).map_err(|_| AppError::internal("ttl out of range"))?;
    let txn = begin_write(&store.writer).await?;
    let attempt = throttle::Attempt::reset_email(config, &user.email, client_addr);
    if throttle::count(&txn, &attempt, now).await?.is_err() {
        // Over the hourly limit: the outstanding token stays, and no email goes out.
        txn.rollback().await?;
        return Ok(());
    }
    password_reset_token::Entity::delete_by_id(user.id).exec(&txn).await?;
    password_reset_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(token_hash(&token)),
        expires_at: Set(now + ttl),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, None, "account.password_reset_request", Some(user.id), now).await?;
    let base = &config.password_reset_url;
    let joiner = if base.contains('?') { '&' } else { '?' };
    let link = format!("{base}{joiner}email={}&token={}", percent_encode(&user.email), token);
    let minutes = config.password_reset_ttl.as_secs().div_ceil(60).to_string();
    let body = outbox::render(
        PASSWORD_RESET_EMAIL,
        &[("name", &user.first_name), ("link", &link), ("token", &token), ("minutes", &minutes)],
    );
    let email = NewEmail {
        channel: outbox::Channel::Email,
        kind: EmailKind::PasswordReset,
        to: user.email.clone(),
        subject: "Reset your CyberMed password".to_owned(),
        body,
        appointment_id: None,
        recipient_id: Some(user.id),
        starts_at: None,
        due_at: now,
    };
    store.enqueue_emails(&txn, vec![email]).await?;
    txn.commit().await?;
    Ok(())
}

/// Completes a reset: the token must be the user's newest, unexpired and unused. It is consumed by
/// one conditional delete, so of two simultaneous uses exactly one succeeds. Every login of the
/// user is revoked, and their calendar feed, and the email's login and reset failures are cleared.
///
/// Tries are counted per email (and per client address) with the login limits, before the token
/// is looked at (see [`throttle`]). Until the token is found right, the work is the same whether
/// or not the email exists (one lookup of the token by email, no hashing).
///
/// # Errors
/// `BAD_USER_INPUT`: field `password` for the password rules; field `token` with
/// "Invalid token or expired token." for a wrong, used or expired token; `RATE_LIMITED` (with
/// `retryAfter`) over the limit.
pub async fn reset_password(
    store: &Store,
    passwords: &Passwords,
    sessions: &SessionCache,
    config: &Config,
    reset: PasswordReset,
    client_addr: &str,
) -> AppResult<()> {
    let PasswordReset { email, token, password } = reset;
    let email = email.trim().to_lowercase();
    let bad_token = || AppError::bad_input("token", MSG_BAD_RESET_TOKEN);
    validation::password(&password, &email, "password")?;
    let now = store.clock.now();
    let attempt = throttle::Attempt::reset_token(config, &email, client_addr);
    count_attempt(store, &attempt, "account.password_reset_throttled", now).await?;
    let tried = token_hash(token.trim());
    let mut owner = Query::select();
    owner.column(user::Column::Id).from(user::Entity).and_where(user::Column::Email.eq(email.as_str()));
    let found: Option<Uuid> = password_reset_token::Entity::find()
        .select_only()
        .column(password_reset_token::Column::UserId)
        .filter(password_reset_token::Column::UserId.in_subquery(owner))
        .filter(password_reset_token::Column::TokenHash.eq(tried.as_str()))
        .filter(password_reset_token::Column::ExpiresAt.gt(now))
        .into_tuple()
        .one(&store.reads)
        .await?;
    let Some(user_id) = found else {
        return Err(bad_token());
    };
    // Hash before taking the write lock: argon2 is slow and SQLite has one writer.
    let hash = passwords.hash(password).await?;
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    let consumed = password_reset_token::Entity::delete_many()
        .filter(password_reset_token::Column::UserId.eq(user_id))
        .filter(password_reset_token::Column::TokenHash.eq(tried))
        .filter(password_reset_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if consumed.rows_affected != 1 {
        return Err(bad_token());
    }
    store_hash(&txn, user_id, hash, now).await?;
    throttle::clear(&txn, throttle::Kind::Reset, &email).await?;
    throttle::clear(&txn, throttle::Kind::Login, &email).await?;
    revoke_all_sessions(&txn, user_id, now).await?;
    super::revoke_calendar_feed(&txn, user_id).await?;
    audit::record(&txn, Some(user_id), "account.password_reset", Some(user_id), now).await?;
    commit_account_change(store, sessions, txn, user_id).await?;
    Ok(())
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Stores a user's new password hash (a password change or a completed reset), inside `txn`.
async fn store_hash(
    txn: &sea_orm::DatabaseTransaction,
    user_id: Uuid,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}
