//! Signing up: a new account, signed in at once.
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::{IssuedTokens, email_conflict, sign_in::start_login, standing::lock_admin};
use crate::{
    auth::{jwt::TokenKeys, password::Passwords, viewer::Viewer},
    db::{begin_write, entities::user},
    domain::{Gender, Role, Store, audit, throttle, validation},
    error::{AppError, AppResult},
};

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

/// Creates an account and signs it in.
///
/// Only a signed-in admin may create an admin; an admin's registration is decided against the
/// admin's standing when it commits ([`lock_admin`]). Anyone else's `attempt` (a client's:
/// [`throttle::Attempt::register`]; `None` from the command line) is counted atomically before
/// any other work, failed ones included (see [`throttle`]), so of any number of simultaneous
/// attempts from one address at most `REGISTER_MAX_PER_HOUR` an hour get through.
///
/// # Errors
/// `RATE_LIMITED` (with `retryAfter`) over the limit; `FORBIDDEN` for an admin account by a
/// non-admin, or by an admin no longer an active admin at the commit; `BAD_USER_INPUT` naming the
/// field for bad input; `CONFLICT` (field `email`) when the email is taken.
pub async fn register(
    store: &Store,
    passwords: &Passwords,
    keys: &TokenKeys,
    viewer: Option<&Viewer>,
    input: NewUser,
    attempt: Option<throttle::Attempt<'_>>,
) -> AppResult<IssuedTokens> {
    let admin = viewer.filter(|v| v.is_admin());
    if let (None, Some(attempt)) = (admin, attempt) {
        let txn = begin_write(&store.writer).await?;
        let counted = throttle::count(&txn, &attempt, store.clock.now()).await?;
        txn.commit().await?;
        counted?;
    }
    if input.role == Role::Admin && admin.is_none() {
        return Err(AppError::Forbidden);
    }
    let email = validation::normalize_email(&input.email, "email")?;
    let first_name = validation::name(&input.first_name, "firstName")?;
    let last_name = validation::name(&input.last_name, "lastName")?;
    let phone = validation::optional_text(input.phone.as_deref(), "phone", 100)?;
    validation::password(&input.password, &email, "password")?;
    let hash = passwords.hash(input.password).await?;

    let now = store.clock.now();
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
        sms_reminders: Set(false),
    };
    let txn = begin_write(&store.writer).await?;
    if let Some(admin) = admin {
        lock_admin(&txn, admin.id(), None).await?;
    }
    let user = model.insert(&txn).await.map_err(email_conflict)?;
    audit::record(&txn, Some(admin.map_or(user.id, Viewer::id)), "account.register", Some(user.id), now).await?;
    let tokens = start_login(keys, &txn, user, now).await?;
    txn.commit().await?;
    Ok(tokens)
}
