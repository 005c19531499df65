//! Logins (sessions) and their tokens: signing in, refresh rotation with reuse detection, logout,
//! and revoking logins.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use uuid::Uuid;

use super::{IssuedTokens, MSG_INVALID_LOGIN, commit_account_change, count_attempt};
use crate::{
    auth::{
        jwt::{TokenKeys, TokenType},
        password::Passwords,
        sessions::SessionCache,
        token_hash,
    },
    config::Config,
    db::{
        begin_write,
        entities::{refresh_token, session, user},
    },
    domain::{Store, audit, throttle},
    error::{AppError, AppResult},
};

/// The counter of login attempts, labelled `outcome`: `ok`, `failed` (wrong email or password, or
/// an inactive account) or `throttled` (refused before the password was checked).
pub const LOGINS: &str = "cybermed_logins_total";

/// Signs in with email and password.
///
/// Throttled (see [`throttle`]): the attempt is counted before the password is checked, so of any
/// number of simultaneous attempts for one email at most `LOGIN_MAX_FAILURES` (and from one client
/// address at most `LOGIN_MAX_FAILURES_PER_ADDRESS`) within `LOGIN_WINDOW_SECS` are checked; the
/// rest are refused without hashing, even with the right password, and audited
/// `auth.login_throttled`. A success clears the email's failures. Unknown emails cost the same
/// hashing time as known ones, and an inactive account answers exactly as a wrong password.
///
/// Every attempt is counted in `cybermed_logins_total` by its outcome (`ok`, `failed`,
/// `throttled`; an internal failure is not a login outcome and is not counted there).
///
/// # Errors
/// `RATE_LIMITED` (with `retryAfter`); `UNAUTHENTICATED` with one message for an unknown email, a
/// wrong password and an inactive account (audited `auth.login_failed`).
pub async fn login(
    store: &Store,
    passwords: &Passwords,
    keys: &TokenKeys,
    config: &Config,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<IssuedTokens> {
    let result = check_login(store, passwords, keys, config, email, password, client_addr).await;
    // `cybermed_logins_total{outcome}` (the binary installs the recorder and describes it).
    let outcome = match &result {
        Ok(_) => Some("ok"),
        Err(AppError::Unauthenticated(_)) => Some("failed"),
        Err(AppError::RateLimited { .. }) => Some("throttled"),
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        metrics::counter!(LOGINS, "outcome" => outcome).increment(1);
    }
    result
}

async fn check_login(
    store: &Store,
    passwords: &Passwords,
    keys: &TokenKeys,
    config: &Config,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<IssuedTokens> {
    let email = email.trim().to_lowercase();
    let now = store.clock.now();
    count_attempt(store, &throttle::Attempt::password(config, &email, client_addr), "auth.login_throttled", now)
        .await?;

    let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&store.reads).await?;
    let verified = match &found {
        Some(u) => passwords.verify(password, u.password_hash.clone()).await?,
        None => passwords.verify_dummy(password).await?,
    };
    let user = match found {
        // An inactive account is a failure like any other: the answer never tells the password was right.
        Some(u) if verified && u.is_active => u,
        _ => {
            let txn = begin_write(&store.writer).await?;
            audit::record(&txn, None, "auth.login_failed", found.as_ref().map(|u| u.id), now).await?;
            txn.commit().await?;
            return Err(AppError::Unauthenticated(MSG_INVALID_LOGIN));
        }
    };

    let txn = begin_write(&store.writer).await?;
    throttle::clear(&txn, throttle::Kind::Login, &email).await?;
    audit::record(&txn, Some(user.id), "auth.login", Some(user.id), now).await?;
    let tokens = start_login(keys, &txn, user, now).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Opens a login (session) for `user` and issues its first token pair, inside `txn`.
pub(super) async fn start_login<C: ConnectionTrait>(
    keys: &TokenKeys,
    txn: &C,
    user: user::Model,
    now: DateTime<Utc>,
) -> AppResult<IssuedTokens> {
    let refresh_ttl =
        chrono::Duration::from_std(keys.refresh_ttl).map_err(|_| AppError::internal("ttl out of range"))?;
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(now + refresh_ttl),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    issue_pair(keys, txn, user, session.id, now).await
}

/// Issues an access token and a stored refresh token for login `sid`.
async fn issue_pair<C: ConnectionTrait>(
    keys: &TokenKeys,
    txn: &C,
    user: user::Model,
    sid: Uuid,
    now: DateTime<Utc>,
) -> AppResult<IssuedTokens> {
    let (access_token, _) = keys.issue(TokenType::Access, user.id, user.role, sid, Uuid::new_v4(), now)?;
    let jti = Uuid::new_v4();
    let (refresh_token, refresh_exp) = keys.issue(TokenType::Refresh, user.id, user.role, sid, jti, now)?;
    refresh_token::ActiveModel {
        id: Set(jti),
        session_id: Set(sid),
        token_hash: Set(token_hash(&refresh_token)),
        expires_at: Set(refresh_exp),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(IssuedTokens {
        access_token,
        refresh_token,
        expires_in: i64::try_from(keys.access_ttl.as_secs()).unwrap_or(i64::MAX),
        user,
    })
}

/// Trades a refresh token for a new pair, retiring it. Presenting a retired token again revokes
/// the whole login (reuse detection). Of two simultaneous uses of one token exactly one succeeds:
/// the retirement is a conditional update, decided by the database.
///
/// # Errors
/// `UNAUTHENTICATED` for an invalid, expired, retired or revoked token, or an inactive user.
pub async fn refresh(store: &Store, keys: &TokenKeys, sessions: &SessionCache, token: &str) -> AppResult<IssuedTokens> {
    let now = store.clock.now();
    let claims = keys.verify(token, TokenType::Refresh, now)?;
    let invalid = || AppError::Unauthenticated("Invalid or expired token");

    let txn = begin_write(&store.writer).await?;
    let stored = refresh_token::Entity::find_by_id(claims.jti).one(&txn).await?.ok_or_else(invalid)?;
    if stored.session_id != claims.sid || !crate::auth::constant_time_eq(&stored.token_hash, &token_hash(token)) {
        return Err(invalid());
    }
    let retired = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if retired.rows_affected == 0 {
        revoke_session(&txn, claims.sid, now).await?;
        audit::record(&txn, None, "auth.refresh_reuse_revoked", Some(claims.sub), now).await?;
        commit_account_change(store, sessions, txn, claims.sub).await?;
        tracing::warn!(session = %claims.sid, "refresh token reused; login revoked");
        return Err(AppError::Unauthenticated("Refresh token was already used; the login has been revoked"));
    }
    let (session, user) =
        session::Entity::find_by_id(claims.sid).find_also_related(user::Entity).one(&txn).await?.ok_or_else(invalid)?;
    let user = match user {
        Some(u)
            if session.revoked_at.is_none() && session.expires_at > now && stored.expires_at > now && u.is_active =>
        {
            u
        }
        _ => return Err(invalid()),
    };
    let tokens = issue_pair(keys, &txn, user, session.id, now).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Ends the login a refresh token belongs to: its refresh tokens and access tokens stop working.
///
/// # Errors
/// `UNAUTHENTICATED` when the token is not a valid refresh token.
pub async fn logout(store: &Store, keys: &TokenKeys, sessions: &SessionCache, token: &str) -> AppResult<()> {
    let now = store.clock.now();
    let claims = keys.verify(token, TokenType::Refresh, now)?;
    let stored = refresh_token::Entity::find_by_id(claims.jti).one(&store.reads).await?;
    match stored {
        Some(s) if s.session_id == claims.sid && crate::auth::constant_time_eq(&s.token_hash, &token_hash(token)) => {}
        _ => return Err(AppError::Unauthenticated("Invalid or expired token")),
    }
    let txn = begin_write(&store.writer).await?;
    revoke_session(&txn, claims.sid, now).await?;
    audit::record(&txn, Some(claims.sub), "auth.logout", Some(claims.sub), now).await?;
    commit_account_change(store, sessions, txn, claims.sub).await?;
    Ok(())
}

async fn revoke_session<C: ConnectionTrait>(db: &C, sid: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::Id.eq(sid))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every login of a user (password change/reset, deactivation).
pub(super) async fn revoke_all_sessions<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
