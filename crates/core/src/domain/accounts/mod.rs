//! Accounts and tokens: registration, sign-in, refresh rotation, logout, profile edits, password
//! change and reset, the admin's account switches, and the user directory. One module per
//! sub-feature; every account change that may end logins commits through [`commit_account_change`].
mod admin;
mod directory;
mod passwords;
mod profile;
mod registration;
mod sign_in;
mod standing;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

pub use self::{
    admin::{create_admin, set_active, set_role},
    directory::{UserFilter, access_of, count_users, find_visible_user, list_users, users_by_ids},
    passwords::{PasswordChange, PasswordReset, change_password, request_password_reset, reset_password},
    profile::{ProfileChanges, QueueReminders, UpdateContext, update_me},
    registration::{NewUser, register},
    sign_in::{LOGINS, login, logout, refresh},
    standing::lock_admin,
};
use super::{Store, audit, throttle};
use crate::{
    auth::sessions::SessionCache,
    db::{begin_write, entities::user, lock_person},
    error::{AppError, AppResult, is_unique_violation},
};

/// A freshly issued token pair and the user it belongs to.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: user::Model,
}

pub const MSG_INVALID_LOGIN: &str = "Invalid email or password";
pub const MSG_RESET_SENT: &str = "Password reset link sent to your email";
pub const MSG_RESET_DONE: &str = "Password reset successfully";
pub const MSG_PASSWORD_CHANGED: &str = "Password changed successfully";
pub const MSG_BAD_RESET_TOKEN: &str = "Invalid token or expired token.";

/// A unique-constraint refusal on `users` is the email being taken: `CONFLICT` on `email`.
fn email_conflict(e: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&e) {
        AppError::conflict("email", "A user with that email already exists")
    } else {
        e.into()
    }
}

/// Counts `attempt` in a write transaction of its own (committed before any slow work). Over the
/// limit, audits `throttled_action` (subject: the email's user, if any) and answers `RATE_LIMITED`.
async fn count_attempt(
    store: &Store,
    attempt: &throttle::Attempt<'_>,
    throttled_action: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let txn = begin_write(&store.writer).await?;
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

/// Commits `txn`, a change that may end logins of `user` (or disable them), or that changes what
/// pages show of them, and makes every process forget what it cached of them: a notice sent inside
/// the transaction (PostgreSQL; so it reaches every replica only if the change commits), then this
/// process's own login cache (`sessions`), people cache and open WebSockets after the commit.
///
/// # Errors
/// Internal only.
async fn commit_account_change(
    store: &Store,
    sessions: &SessionCache,
    txn: DatabaseTransaction,
    user: Uuid,
) -> AppResult<()> {
    store.events.notify_accounts_changed(&txn, user).await?;
    txn.commit().await?;
    sessions.clear();
    store.people.forget(user);
    store.events.accounts_changed_here(user);
    Ok(())
}

/// Ends `user`'s feed, if any, inside the caller's write transaction (a password change or reset,
/// a deactivation: whoever made the feed may have done so with a stolen login). `true` when there
/// was one.
///
/// # Errors
/// Internal only.
pub async fn revoke_calendar_feed<C: sea_orm::ConnectionTrait>(txn: &C, user: Uuid) -> AppResult<bool> {
    let deleted = crate::db::entities::calendar_feed::Entity::delete_many()
        .filter(crate::db::entities::calendar_feed::Column::UserId.eq(user))
        .exec(txn)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Releases every live hold of `user` (waitlist offers included) and ends their live waitlist
/// entries (`LEFT`), as doctor or as patient, and the live holds they placed for others (an
/// admin's: a demoted admin keeps no say over another patient's time; offers' holds, placed by
/// whoever made the entry, stay with their entries), inside the caller's write
/// transaction (a deactivation, a role change, a doctor no longer verified): the times they kept
/// are free again at once. On PostgreSQL it first takes `user`'s lock ([`lock_person`]), which
/// every booking and hold of theirs holds while it runs: one under way is released here, one
/// that starts later reads the change committed. `now` is when they ended.
///
/// # Errors
/// Internal only.
pub async fn release_holds_of(txn: &DatabaseTransaction, user: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    use crate::db::entities::slot_hold::{self, HoldStatus};
    use sea_orm::{Condition, sea_query::Expr};
    lock_person(txn, user).await?;
    // Their live waitlist entries end, and the doctors whose time their holds kept are matched.
    super::waitlist_marks::user_left(txn, user, now).await?;
    slot_hold::Entity::update_many()
        .col_expr(slot_hold::Column::Status, Expr::value(HoldStatus::Released))
        .col_expr(slot_hold::Column::EndedAt, Expr::value(now))
        .filter(slot_hold::Column::Status.eq(HoldStatus::Live))
        .filter(
            Condition::any().add(slot_hold::Column::DoctorId.eq(user)).add(slot_hold::Column::PatientId.eq(user)).add(
                Condition::all()
                    .add(slot_hold::Column::PlacedBy.eq(user))
                    .add(slot_hold::Column::WaitlistEntryId.is_null()),
            ),
        )
        .exec(txn)
        .await?;
    Ok(())
}
