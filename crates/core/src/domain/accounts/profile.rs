//! The viewer's edits of their own account.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};

use super::{commit_account_change, count_attempt, email_conflict};
use crate::{
    auth::{password::Passwords, sessions::SessionCache, viewer::Viewer},
    config::Config,
    db::{
        begin_write,
        entities::{session, user},
    },
    domain::{Gender, Store, audit, throttle, validation},
    error::{AppError, AppResult},
    outbox::{self, EmailKind, NewEmail},
};

/// The text of the notice sent to the old address after an email change (`{{name}}`,
/// `{{masked}}`).
const EMAIL_CHANGED_EMAIL: &str = include_str!("../../../templates/email/email_changed.txt");
/// Its subject.
const EMAIL_CHANGED_SUBJECT: &str = "Your email address was changed";

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
    /// The viewer's password: required when `email` changes.
    pub current_password: Option<String>,
}

/// Where an update comes from, and what checking a password needs.
pub struct UpdateContext<'a> {
    pub passwords: &'a Passwords,
    pub sessions: &'a SessionCache,
    pub config: &'a Config,
    pub client_addr: &'a str,
}

/// Applies a partial update to the viewer's own account.
///
/// Turning `email_reminders` off deletes the viewer's pending reminders in the same transaction;
/// turning it on again does not write them back (appointments booked or moved from then on get
/// reminders).
///
/// Changing the email (to another address than the current one) needs the current password,
/// checked as `changePassword` checks the old one (counted first against the same per-email and
/// per-address limits, hashed off the async runtime). In the same transaction as the change, the
/// old address is sent an `EMAIL_CHANGED` notice naming the new one masked, and every other login
/// of the user ends (the caller's stays); the calendar feed stays.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (also for `null` on a required field; `currentPassword` when
/// it is missing, or with "Old password is incorrect"); `RATE_LIMITED` (with `retryAfter`) over
/// the password limits; `CONFLICT` on `email`.
pub async fn update_me(
    store: &Store,
    cx: &UpdateContext<'_>,
    viewer: &Viewer,
    changes: ProfileChanges,
) -> AppResult<user::Model> {
    let required = |v: Option<String>, field: &'static str| {
        v.ok_or_else(|| AppError::bad_input(field, "This field may not be null"))
    };
    let mut model: user::ActiveModel = viewer.user.clone().into();
    let mut new_email = None;
    if let Some(v) = changes.email {
        let email = validation::normalize_email(&required(v, "email")?, "email")?;
        if email != viewer.user.email {
            new_email = Some(email.clone());
        }
        model.email = Set(email);
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
    if new_email.is_some() {
        check_current_password(store, cx, viewer, changes.current_password).await?;
    }
    let now = store.clock.now();
    model.updated_at = Set(now);
    let txn = begin_write(&store.writer).await?;
    let updated = model.update(&txn).await.map_err(email_conflict)?;
    if reminders_off {
        outbox::drop_reminders_of(&txn, viewer.id()).await?;
    }
    if let Some(new_email) = &new_email {
        let old_email = viewer.user.email.as_str();
        throttle::clear(&txn, throttle::Kind::Login, old_email).await?;
        end_other_logins(&txn, viewer, now).await?;
        let masked = mask_email(new_email);
        let body = outbox::render(EMAIL_CHANGED_EMAIL, &[("name", &updated.first_name), ("masked", &masked)]);
        let notice = NewEmail {
            kind: EmailKind::EmailChanged,
            to: old_email.to_owned(),
            subject: EMAIL_CHANGED_SUBJECT.to_owned(),
            body,
            appointment_id: None,
            // Not the account's: it goes to the address the account no longer has.
            recipient_id: None,
            starts_at: None,
            due_at: now,
        };
        store.enqueue_emails(&txn, vec![notice]).await?;
        audit::record(&txn, Some(viewer.id()), "account.email_change", Some(viewer.id()), now).await?;
    } else {
        audit::record(&txn, Some(viewer.id()), "account.update", Some(viewer.id()), now).await?;
    }
    commit_account_change(store, cx.sessions, txn, viewer.id()).await?;
    Ok(updated)
}

/// Checks the viewer's current password for an email change: counted first like a wrong old
/// password at `changePassword` (same limits), then verified off the async runtime.
async fn check_current_password(
    store: &Store,
    cx: &UpdateContext<'_>,
    viewer: &Viewer,
    password: Option<String>,
) -> AppResult<()> {
    let Some(password) = password else {
        return Err(AppError::bad_input("currentPassword", "Your current password is required to change your email"));
    };
    let attempt = throttle::Attempt::password(cx.config, &viewer.user.email, cx.client_addr);
    count_attempt(store, &attempt, "account.email_change_throttled", store.clock.now()).await?;
    if !cx.passwords.verify(password, viewer.user.password_hash.clone()).await? {
        return Err(AppError::bad_input("currentPassword", "Old password is incorrect"));
    }
    Ok(())
}

/// Ends every login of the viewer but the one making the request.
async fn end_other_logins<C: ConnectionTrait>(txn: &C, viewer: &Viewer, now: DateTime<Utc>) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(viewer.id()))
        .filter(session::Column::Id.ne(viewer.session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// An address as a notice may show it: its first character, bullets, and `@domain`
/// (`n•••@example.com`).
fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}•••@{domain}")
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn a_masked_address_keeps_its_first_character_and_its_domain() {
        assert_eq!(mask_email("new.address@example.com"), "n•••@example.com");
        assert_eq!(mask_email("émile@exemple.fr"), "é•••@exemple.fr");
        assert_eq!(mask_email("x@y.org"), "x•••@y.org");
    }
}
