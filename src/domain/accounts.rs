//! Accounts and tokens: registration, sign-in, refresh rotation, logout, profile edits, password
//! change and reset, and the admin's account switches.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use uuid::Uuid;

use super::{
    Gender, Role, audit,
    privacy::{self, Existence, SearchIn},
    throttle, validation,
};
use crate::{
    app::AppState,
    auth::{jwt::TokenType, token_hash, viewer::Viewer},
    db::{
        begin_write,
        entities::{doctor_profile, password_reset_token, refresh_token, session, user},
    },
    error::{AppError, AppResult, is_unique_violation},
    outbox::{self, EmailKind, NewEmail},
};

/// A freshly issued token pair and the user it belongs to.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
}

/// What `register` receives.
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub gender: Option<Gender>,
    pub phone: Option<String>,
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct ProfileChanges {
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
    /// Appointment reminders by email; turning them off drops the pending ones.
    pub email_reminders: Option<Option<bool>>,
}

/// The password-reset email's text (`{{name}}`, `{{link}}`, `{{token}}`, `{{minutes}}`).
const PASSWORD_RESET_EMAIL: &str = include_str!("../../templates/email/password_reset.txt");

pub const MSG_INVALID_LOGIN: &str = "Invalid email or password";
pub const MSG_RESET_SENT: &str = "Password reset link sent to your email";
pub const MSG_RESET_DONE: &str = "Password reset successfully";
pub const MSG_PASSWORD_CHANGED: &str = "Password changed successfully";
pub const MSG_BAD_RESET_TOKEN: &str = "Invalid token or expired token.";

/// Creates an account and signs it in.
///
/// Only a signed-in admin may create an admin.
///
/// # Errors
/// `FORBIDDEN` for an admin account by a non-admin; `BAD_USER_INPUT` naming the field for bad
/// input; `CONFLICT` (field `email`) when the email is taken.
pub async fn register(state: &AppState, viewer: Option<&Viewer>, input: NewUser) -> AppResult<IssuedTokens> {
    if input.role == Role::Admin && !viewer.is_some_and(Viewer::is_admin) {
        return Err(AppError::Forbidden);
    }
    let email = validation::normalize_email(&input.email, "email")?;
    let first_name = validation::name(&input.first_name, "firstName")?;
    let last_name = validation::name(&input.last_name, "lastName")?;
    let phone = validation::optional_text(input.phone.as_deref(), "phone", 100)?;
    validation::password(&input.password, &email, "password")?;
    let hash = state.passwords.hash(input.password).await?;

    let now = state.clock.now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(hash),
        first_name: Set(first_name),
        last_name: Set(last_name),
        phone: Set(phone),
        address: Set(None),
        bio: Set(None),
        gender: Set(input.gender),
        role: Set(input.role),
        is_active: Set(true),
        is_staff: Set(input.role == Role::Admin),
        is_superuser: Set(false),
        date_joined: Set(now),
        updated_at: Set(now),
        email_reminders: Set(true),
    };
    let txn = begin_write(&state.writer).await?;
    let user = model.insert(&txn).await.map_err(email_conflict)?;
    audit::record(&txn, Some(viewer.map_or(user.id, Viewer::id)), "account.register", Some(user.id), now).await?;
    let tokens = start_login(state, &txn, user, now).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// A unique-constraint refusal on `users` is the email being taken: `CONFLICT` on `email`.
fn email_conflict(e: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("email", "A user with that email already exists")
    } else {
        e.into()
    }
}

/// Signs in with email and password.
///
/// Throttled (see [`throttle`]): the attempt is counted before the password is checked, so of any
/// number of simultaneous attempts for one email at most `LOGIN_MAX_FAILURES` (and from one client
/// address at most `LOGIN_MAX_FAILURES_PER_ADDRESS`) within `LOGIN_WINDOW_SECS` are checked; the
/// rest are refused without hashing, even with the right password, and audited
/// `auth.login_throttled`. A success clears the email's failures. Unknown emails cost the same
/// hashing time as known ones, and an inactive account answers exactly as a wrong password.
///
/// # Errors
/// `RATE_LIMITED` (with `retryAfter`); `UNAUTHENTICATED` with one message for an unknown email, a
/// wrong password and an inactive account (audited `auth.login_failed`).
pub async fn login(state: &AppState, email: &str, password: String, client_addr: &str) -> AppResult<IssuedTokens> {
    let email = email.trim().to_lowercase();
    let now = state.clock.now();
    count_attempt(state, &throttle::Attempt::password(&state.config, &email, client_addr), "auth.login_throttled", now)
        .await?;

    let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&state.db).await?;
    let verified = match &found {
        Some(u) => state.passwords.verify(password, u.password_hash.clone()).await?,
        None => state.passwords.verify_dummy(password).await?,
    };
    let user = match found {
        // An inactive account is a failure like any other: the answer never tells the password was right.
        Some(u) if verified && u.is_active => u,
        _ => {
            let txn = begin_write(&state.writer).await?;
            audit::record(&txn, None, "auth.login_failed", found.as_ref().map(|u| u.id), now).await?;
            txn.commit().await?;
            return Err(AppError::Unauthenticated(MSG_INVALID_LOGIN));
        }
    };

    let txn = begin_write(&state.writer).await?;
    throttle::clear(&txn, throttle::Kind::Login, &email).await?;
    audit::record(&txn, Some(user.id), "auth.login", Some(user.id), now).await?;
    let tokens = start_login(state, &txn, user, now).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Counts `attempt` in a write transaction of its own (committed before any slow work). Over the
/// limit, audits `throttled_action` (subject: the email's user, if any) and answers `RATE_LIMITED`.
async fn count_attempt(
    state: &AppState,
    attempt: &throttle::Attempt<'_>,
    throttled_action: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = begin_write(&state.writer).await?;
    if let Err(limited) = throttle::count(&txn, attempt, now).await? {
        let subject: Option<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Email.eq(attempt.email))
            .into_tuple()
            .one(&txn)
            .await?;
        audit::record(&txn, None, throttled_action, subject, now).await?;
        txn.commit().await?;
        return Err(limited.into());
    }
    txn.commit().await?;
    Ok(())
}

/// Commits `txn`, a change that may end logins of `user` (or disable them), and makes every
/// process forget what it cached of them: a notice sent inside the transaction (PostgreSQL; so it
/// reaches every replica only if the change commits), then this process's own cache and open
/// WebSockets after the commit.
///
/// # Errors
/// Internal only.
async fn commit_account_change(state: &AppState, txn: DatabaseTransaction, user: Uuid) -> AppResult<()> {
    state.events.notify_accounts_changed(&txn, user).await?;
    txn.commit().await?;
    state.accounts_changed(user);
    Ok(())
}

/// Opens a login (session) for `user` and issues its first token pair, inside `txn`.
async fn start_login<C: ConnectionTrait>(
    state: &AppState,
    txn: &C,
    user: user::Model,
    now: DateTime<Utc>,
) -> AppResult<IssuedTokens> {
    let refresh_ttl =
        chrono::Duration::from_std(state.keys.refresh_ttl).map_err(|_| AppError::internal("ttl out of range"))?;
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(now + refresh_ttl),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    issue_pair(state, txn, user, session.id, now).await
}

/// Issues an access token and a stored refresh token for login `sid`.
async fn issue_pair<C: ConnectionTrait>(
    state: &AppState,
    txn: &C,
    user: user::Model,
    sid: Uuid,
    now: DateTime<Utc>,
) -> AppResult<IssuedTokens> {
    let (access_token, _) = state.keys.issue(TokenType::Access, user.id, user.role, sid, Uuid::new_v4(), now)?;
    let jti = Uuid::new_v4();
    let (refresh_token, refresh_exp) = state.keys.issue(TokenType::Refresh, user.id, user.role, sid, jti, now)?;
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
        expires_in: i64::try_from(state.keys.access_ttl.as_secs()).unwrap_or(i64::MAX),
        user,
    })
}

/// Trades a refresh token for a new pair, retiring it. Presenting a retired token again revokes
/// the whole login (reuse detection). Of two simultaneous uses of one token exactly one succeeds:
/// the retirement is a conditional update, decided by the database.
///
/// # Errors
/// `UNAUTHENTICATED` for an invalid, expired, retired or revoked token, or an inactive user.
pub async fn refresh(state: &AppState, token: &str) -> AppResult<IssuedTokens> {
    let now = state.clock.now();
    let claims = state.keys.verify(token, TokenType::Refresh, now)?;
    let invalid = || AppError::Unauthenticated("Invalid or expired token");

    let txn = begin_write(&state.writer).await?;
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
        commit_account_change(state, txn, claims.sub).await?;
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
    let tokens = issue_pair(state, &txn, user, session.id, now).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Ends the login a refresh token belongs to: its refresh tokens and access tokens stop working.
///
/// # Errors
/// `UNAUTHENTICATED` when the token is not a valid refresh token.
pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    let now = state.clock.now();
    let claims = state.keys.verify(token, TokenType::Refresh, now)?;
    let stored = refresh_token::Entity::find_by_id(claims.jti).one(&state.db).await?;
    match stored {
        Some(s) if s.session_id == claims.sid && crate::auth::constant_time_eq(&s.token_hash, &token_hash(token)) => {}
        _ => return Err(AppError::Unauthenticated("Invalid or expired token")),
    }
    let txn = begin_write(&state.writer).await?;
    revoke_session(&txn, claims.sid, now).await?;
    audit::record(&txn, Some(claims.sub), "auth.logout", Some(claims.sub), now).await?;
    commit_account_change(state, txn, claims.sub).await?;
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
async fn revoke_all_sessions<C: ConnectionTrait>(db: &C, user_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Applies a partial update to the viewer's own account.
///
/// Turning `email_reminders` off deletes the viewer's pending reminders in the same transaction;
/// turning it on again does not write them back (appointments booked or moved from then on get
/// reminders).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (also for `null` on a required field); `CONFLICT` on `email`.
pub async fn update_me(state: &AppState, viewer: &Viewer, changes: ProfileChanges) -> AppResult<user::Model> {
    let required = |v: Option<String>, field: &'static str| {
        v.ok_or_else(|| AppError::bad_input(field, "This field may not be null"))
    };
    let mut model: user::ActiveModel = viewer.user.clone().into();
    if let Some(v) = changes.email {
        model.email = Set(validation::normalize_email(&required(v, "email")?, "email")?);
    }
    if let Some(v) = changes.first_name {
        model.first_name = Set(validation::name(&required(v, "firstName")?, "firstName")?);
    }
    if let Some(v) = changes.last_name {
        model.last_name = Set(validation::name(&required(v, "lastName")?, "lastName")?);
    }
    if let Some(v) = changes.phone {
        model.phone = Set(validation::optional_text(v.as_deref(), "phone", 100)?);
    }
    if let Some(v) = changes.address {
        model.address = Set(validation::optional_text(v.as_deref(), "address", 100)?);
    }
    if let Some(v) = changes.bio {
        model.bio = Set(validation::optional_text(v.as_deref(), "bio", 2000)?);
    }
    if let Some(v) = changes.gender {
        model.gender = Set(v);
    }
    let reminders_off = match changes.email_reminders {
        Some(v) => {
            let on = v.ok_or_else(|| AppError::bad_input("emailReminders", "This field may not be null"))?;
            model.email_reminders = Set(on);
            !on
        }
        None => false,
    };
    model.updated_at = Set(state.clock.now());
    let txn = begin_write(&state.writer).await?;
    let updated = model.update(&txn).await.map_err(email_conflict)?;
    if reminders_off {
        outbox::appointments::drop_reminders_of(&txn, viewer.id()).await?;
    }
    audit::record(&txn, Some(viewer.id()), "account.update", Some(viewer.id()), updated.updated_at).await?;
    commit_account_change(state, txn, viewer.id()).await?;
    Ok(updated)
}

/// Changes the viewer's password and signs out every login of theirs (this one too).
///
/// The old password is a password attempt like a login's: counted first, against the same
/// per-email (and per-address) limits, before it is checked; over the limit nothing is hashed.
///
/// # Errors
/// `BAD_USER_INPUT`: field `oldPassword` ("Old password is incorrect") or `newPassword` (rules);
/// `RATE_LIMITED` (with `retryAfter`) over the limit.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    old: String,
    new: String,
    client_addr: &str,
) -> AppResult<()> {
    let email = viewer.user.email.as_str();
    validation::password(&new, email, "newPassword")?;
    let now = state.clock.now();
    let attempt = throttle::Attempt::password(&state.config, email, client_addr);
    count_attempt(state, &attempt, "account.password_change_throttled", now).await?;
    if !state.passwords.verify(old, viewer.user.password_hash.clone()).await? {
        return Err(AppError::bad_input("oldPassword", "Old password is incorrect"));
    }
    let hash = state.passwords.hash(new).await?;
    let user_id = viewer.id();
    let txn = begin_write(&state.writer).await?;
    throttle::clear(&txn, throttle::Kind::Login, email).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    revoke_all_sessions(&txn, user_id, now).await?;
    audit::record(&txn, Some(user_id), "account.password_change", Some(user_id), now).await?;
    commit_account_change(state, txn, user_id).await?;
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
pub async fn request_password_reset(state: &AppState, email: &str, client_addr: &str) -> AppResult<()> {
    let email = email.trim().to_lowercase();
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::IsActive.eq(true))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let token = crate::auth::random_token(32);
    let now = state.clock.now();
    let ttl = chrono::Duration::from_std(state.config.password_reset_ttl)
        .map_err(|_| AppError::internal("ttl out of range"))?;
    let txn = begin_write(&state.writer).await?;
    let attempt = throttle::Attempt::reset_email(&state.config, &user.email, client_addr);
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
    let link =
        format!("{}/reset-password?email={}&token={}", state.config.public_url, percent_encode(&user.email), token);
    let minutes = state.config.password_reset_ttl.as_secs().div_ceil(60).to_string();
    let body = outbox::render(
        PASSWORD_RESET_EMAIL,
        &[("name", &user.first_name), ("link", &link), ("token", &token), ("minutes", &minutes)],
    );
    let email = NewEmail {
        kind: EmailKind::PasswordReset,
        to: user.email.clone(),
        subject: "Reset your CyberMed password".to_owned(),
        body,
        appointment_id: None,
        recipient_id: Some(user.id),
        starts_at: None,
        due_at: now,
    };
    outbox::enqueue(state, &txn, vec![email]).await?;
    txn.commit().await?;
    Ok(())
}

/// Completes a reset: the token must be the user's newest, unexpired and unused. It is consumed by
/// one conditional delete, so of two simultaneous uses exactly one succeeds. Every login of the
/// user is revoked, and the email's login and reset failures are cleared.
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
    state: &AppState,
    email: &str,
    token: &str,
    password: String,
    client_addr: &str,
) -> AppResult<()> {
    let email = email.trim().to_lowercase();
    let bad_token = || AppError::bad_input("token", MSG_BAD_RESET_TOKEN);
    validation::password(&password, &email, "password")?;
    let now = state.clock.now();
    let attempt = throttle::Attempt::reset_token(&state.config, &email, client_addr);
    count_attempt(state, &attempt, "account.password_reset_throttled", now).await?;
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
        .one(&state.db)
        .await?;
    let Some(user_id) = found else {
        return Err(bad_token());
    };
    // Hash before taking the write lock: argon2 is slow and SQLite has one writer.
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let txn = begin_write(&state.writer).await?;
    let consumed = password_reset_token::Entity::delete_many()
        .filter(password_reset_token::Column::UserId.eq(user_id))
        .filter(password_reset_token::Column::TokenHash.eq(tried))
        .filter(password_reset_token::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if consumed.rows_affected != 1 {
        return Err(bad_token());
    }
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    throttle::clear(&txn, throttle::Kind::Reset, &email).await?;
    throttle::clear(&txn, throttle::Kind::Login, &email).await?;
    revoke_all_sessions(&txn, user_id, now).await?;
    audit::record(&txn, Some(user_id), "account.password_reset", Some(user_id), now).await?;
    commit_account_change(state, txn, user_id).await?;
    Ok(())
}

/// Activates or deactivates an account (admin). Deactivation revokes every login at once.
///
/// # Errors
/// `NOT_FOUND` for an unknown id; `BAD_USER_INPUT` (field `id`) for an admin deactivating themself.
pub async fn set_active(state: &AppState, admin: &Viewer, id: Uuid, active: bool) -> AppResult<user::Model> {
    if id == admin.id() && !active {
        return Err(AppError::bad_input("id", "You cannot deactivate your own account"));
    }
    let now = state.clock.now();
    let txn = begin_write(&state.writer).await?;
    let user = user::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("User"))?;
    let mut model: user::ActiveModel = user.into();
    model.is_active = Set(active);
    model.updated_at = Set(now);
    let user = model.update(&txn).await?;
    if !active {
        revoke_all_sessions(&txn, id, now).await?;
    }
    let action = if active { "user.activate" } else { "user.deactivate" };
    audit::record(&txn, Some(admin.id()), action, Some(id), now).await?;
    commit_account_change(state, txn, id).await?;
    Ok(user)
}

/// Changes an account's role (admin). `is_staff` follows the admin role.
///
/// # Errors
/// `NOT_FOUND` for an unknown id; `BAD_USER_INPUT` (field `id`) for an admin demoting themself.
pub async fn set_role(state: &AppState, admin: &Viewer, id: Uuid, role: Role) -> AppResult<user::Model> {
    if id == admin.id() && role != Role::Admin {
        return Err(AppError::bad_input("id", "You cannot change your own role"));
    }
    let txn = begin_write(&state.writer).await?;
    let user = user::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("User"))?;
    let mut model: user::ActiveModel = user.into();
    model.role = Set(role);
    model.is_staff = Set(role == Role::Admin);
    if role != Role::Admin {
        model.is_superuser = Set(false);
    }
    model.updated_at = Set(state.clock.now());
    let user = model.update(&txn).await?;
    audit::record(&txn, Some(admin.id()), "user.set_role", Some(id), user.updated_at).await?;
    commit_account_change(state, txn, id).await?;
    Ok(user)
}

/// Creates an admin, or promotes an existing account to admin (command line).
///
/// # Errors
/// `BAD_USER_INPUT` for bad input, as `register`.
pub async fn create_admin(
    state: &AppState,
    email: &str,
    first: &str,
    last: &str,
    password: String,
) -> AppResult<user::Model> {
    let email = validation::normalize_email(email, "email")?;
    let first_name = validation::name(first, "firstName")?;
    let last_name = validation::name(last, "lastName")?;
    validation::password(&password, &email, "password")?;
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let txn = begin_write(&state.writer).await?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
    let model = match existing {
        Some(u) => {
            let mut m: user::ActiveModel = u.into();
            m.first_name = Set(first_name);
            m.last_name = Set(last_name);
            m.password_hash = Set(hash);
            m.role = Set(Role::Admin);
            m.is_active = Set(true);
            m.is_staff = Set(true);
            m.is_superuser = Set(true);
            m.updated_at = Set(now);
            m.update(&txn).await?
        }
        None => {
            user::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(email),
                password_hash: Set(hash),
                first_name: Set(first_name),
                last_name: Set(last_name),
                phone: Set(None),
                address: Set(None),
                bio: Set(None),
                gender: Set(None),
                role: Set(Role::Admin),
                is_active: Set(true),
                is_staff: Set(true),
                is_superuser: Set(true),
                date_joined: Set(now),
                updated_at: Set(now),
                email_reminders: Set(true),
            }
            .insert(&txn)
            .await?
        }
    };
    revoke_all_sessions(&txn, model.id, now).await?;
    audit::record(&txn, None, "admin.create", Some(model.id), now).await?;
    commit_account_change(state, txn, model.id).await?;
    Ok(model)
}

/// Loads a user the viewer may know exists (see [`privacy::existence`]).
///
/// # Errors
/// `NOT_FOUND` when it does not exist or the viewer may not know it exists.
pub async fn find_visible_user(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<user::Model> {
    let user = user::Entity::find_by_id(id).one(&state.db).await?.ok_or(AppError::NotFound("User"))?;
    let visible = match privacy::existence(viewer.into(), &user) {
        Existence::Visible => true,
        Existence::IfSharingAnAppointment => {
            !super::appointments::sharing_with(&state.db, viewer.id(), &[user.id]).await?.is_empty()
        }
        Existence::Hidden => false,
    };
    if visible { Ok(user) } else { Err(AppError::NotFound("User")) }
}

/// Filter for listing users.
#[derive(Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub search: Option<String>,
    pub active_only: bool,
    /// Only users with a verified doctor profile.
    pub verified_doctors_only: bool,
    /// Only users whose doctor profile's specialty contains this, ignoring case.
    pub specialty: Option<String>,
    /// Which fields `search` looks in.
    pub search_in: SearchIn,
}

impl UserFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(role) = self.role {
            cond = cond.add(user::Column::Role.eq(role));
        }
        if self.active_only {
            cond = cond.add(user::Column::IsActive.eq(true));
        }
        let specialty = self.specialty.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if self.verified_doctors_only || specialty.is_some() {
            let mut profiles = Query::select();
            profiles.column(doctor_profile::Column::UserId).from(doctor_profile::Entity);
            if self.verified_doctors_only {
                profiles.and_where(doctor_profile::Column::Verified.eq(true));
            }
            if let Some(term) = specialty {
                profiles.and_where(contains_ignoring_case(doctor_profile::Column::Specialty, term));
            }
            cond = cond.add(user::Column::Id.in_subquery(profiles));
        }
        if let Some(term) = self.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let mut any = Condition::any();
            for col in self.search_in.user_columns() {
                any = any.add(contains_ignoring_case(*col, term));
            }
            if self.search_in.specialty() {
                let mut specialties = Query::select();
                specialties
                    .column(doctor_profile::Column::UserId)
                    .from(doctor_profile::Entity)
                    .and_where(contains_ignoring_case(doctor_profile::Column::Specialty, term));
                any = any.add(user::Column::Id.in_subquery(specialties));
            }
            cond = cond.add(any);
        }
        cond
    }
}

/// One page of users in creation order (ids are time-ordered UUIDv7), after the user `after`.
///
/// # Errors
/// Internal only.
pub async fn list_users(
    state: &AppState,
    filter: &UserFilter,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<user::Model>> {
    let mut query = user::Entity::find().filter(filter.condition());
    if let Some(after) = after {
        query = query.filter(user::Column::Id.gt(after));
    }
    Ok(query.order_by_asc(user::Column::Id).limit(limit).all(&state.db).await?)
}

/// How many users match the filter.
///
/// # Errors
/// Internal only.
pub async fn count_users(state: &AppState, filter: &UserFilter) -> AppResult<u64> {
    Ok(user::Entity::find().filter(filter.condition()).count(&state.db).await?)
}

/// `LOWER(col) LIKE '%term%'` with the term's wildcards escaped: the same on both databases.
fn contains_ignoring_case(col: impl sea_orm::sea_query::IntoColumnRef, term: &str) -> sea_orm::sea_query::SimpleExpr {
    let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// Users by id (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn users_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, (user::Model, Option<doctor_profile::Model>)>> {
    // With their doctor profiles in the same statement: lists of appointments show both.
    // Read by position: the hot path of every page of appointments.
    let select = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .find_also_related(doctor_profile::Entity);
    let rows = db.query_all(&sea_orm::QueryTrait::into_query(select)).await?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        let (u, p) = crate::db::by_position::user_with_profile(row)?;
        out.insert(u.id, (u, p));
    }
    Ok(out)
}
