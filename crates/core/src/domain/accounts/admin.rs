//! The admin's account switches (active, role) and the command line's admin creation.
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{commit_account_change, release_holds_of, sign_in::revoke_all_sessions, standing::lock_admin};
use crate::{
    auth::{password::Passwords, sessions::SessionCache, viewer::Viewer},
    db::{begin_write, entities::user},
    domain::{Role, Store, audit, validation},
    error::{AppError, AppResult},
};

/// Activates or deactivates an account (admin). Deactivation revokes every login at once, the
/// user's calendar feed, and releases their holds (as doctor or patient). Setting the state the account already has changes nothing.
///
/// Decided against the admin's standing when the change commits ([`lock_admin`]): an admin
/// demoted or deactivated meanwhile changes nothing.
///
/// # Errors
/// `FORBIDDEN` when `admin` is no longer an active admin; `NOT_FOUND` for an unknown id;
/// `BAD_USER_INPUT` (field `id`) for an admin deactivating themself.
pub async fn set_active(
    store: &Store,
    sessions: &SessionCache,
    admin: &Viewer,
    id: Uuid,
    active: bool,
) -> AppResult<user::Model> {
    if id == admin.id() && !active {
        return Err(AppError::bad_input("id", "You cannot deactivate your own account"));
    }
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    let user = lock_admin(&txn, admin.id(), Some(id)).await?.ok_or(AppError::NotFound("User"))?;
    if user.is_active == active {
        txn.commit().await?;
        return Ok(user);
    }
    let mut model: user::ActiveModel = user.into();
    model.is_active = Set(active);
    model.updated_at = Set(now);
    let user = model.update(&txn).await?;
    if !active {
        revoke_all_sessions(&txn, id, now).await?;
        super::revoke_calendar_feed(&txn, id).await?;
        release_holds_of(&txn, id, now).await?;
    }
    let action = if active { "user.activate" } else { "user.deactivate" };
    audit::record(&txn, Some(admin.id()), action, Some(id), now).await?;
    commit_account_change(store, sessions, txn, id).await?;
    Ok(user)
}

/// Changes an account's role (admin). `is_staff` follows the admin role. Every login of the user
/// ends, as the role was part of it, and their holds are released; setting the role the account already has changes nothing.
///
/// Decided against the admin's standing when the change commits ([`lock_admin`]): an admin
/// demoted or deactivated meanwhile changes nothing (so "make me admin again" cannot outrun a
/// demotion).
///
/// # Errors
/// `FORBIDDEN` when `admin` is no longer an active admin; `NOT_FOUND` for an unknown id;
/// `BAD_USER_INPUT` (field `id`) for an admin demoting themself.
pub async fn set_role(
    store: &Store,
    sessions: &SessionCache,
    admin: &Viewer,
    id: Uuid,
    role: Role,
) -> AppResult<user::Model> {
    if id == admin.id() && role != Role::Admin {
        return Err(AppError::bad_input("id", "You cannot change your own role"));
    }
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    let user = lock_admin(&txn, admin.id(), Some(id)).await?.ok_or(AppError::NotFound("User"))?;
    if user.role == role {
        txn.commit().await?;
        return Ok(user);
    }
    let mut model: user::ActiveModel = user.into();
    model.role = Set(role);
    model.is_staff = Set(role == Role::Admin);
    if role != Role::Admin {
        model.is_superuser = Set(false);
    }
    model.updated_at = Set(now);
    let user = model.update(&txn).await?;
    revoke_all_sessions(&txn, id, now).await?;
    release_holds_of(&txn, id, now).await?;
    audit::record(&txn, Some(admin.id()), "user.set_role", Some(id), now).await?;
    commit_account_change(store, sessions, txn, id).await?;
    Ok(user)
}

/// Creates an admin, or promotes an existing account to admin (command line).
///
/// # Errors
/// `BAD_USER_INPUT` for bad input, as `register`.
pub async fn create_admin(
    store: &Store,
    passwords: &Passwords,
    sessions: &SessionCache,
    email: &str,
    first: &str,
    last: &str,
    password: String,
) -> AppResult<user::Model> {
    let email = validation::normalize_email(email, "email")?;
    let first_name = validation::name(first, "firstName")?;
    let last_name = validation::name(last, "lastName")?;
    validation::password(&password, &email, "password")?;
    let hash = passwords.hash(password).await?;
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
    let model = match existing {
        Some(u) => {
            if u.role != Role::Admin {
                // A promotion is a role change: the holds of their old role end.
                release_holds_of(&txn, u.id, now).await?;
            }
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
                sms_reminders: Set(false),
            }
            .insert(&txn)
            .await?
        }
    };
    revoke_all_sessions(&txn, model.id, now).await?;
    audit::record(&txn, None, "admin.create", Some(model.id), now).await?;
    commit_account_change(store, sessions, txn, model.id).await?;
    Ok(model)
}
