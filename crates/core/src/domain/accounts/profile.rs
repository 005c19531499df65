//! The viewer's edits of their own account.
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::Expr,
};
use uuid::Uuid;

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
    outbox::{self, Channel, EmailKind, NewEmail},
    sms,
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
    /// Appointment reminders by email; turning them off drops the pending ones, turning them on
    /// queues those of the viewer's appointments still to come.
    pub email_reminders: Option<Option<bool>>,
    /// Appointment reminders and notices by SMS, the same way; on only with an E.164 `phone`.
    pub sms_reminders: Option<Option<bool>>,
    /// The viewer's password: required when `email` changes.
    pub current_password: Option<String>,
}

/// Writes a patient's reminders of one channel for their active appointments still to come,
/// inside the transaction of the change that turned them on. The appointments module, which sits
/// above this one, provides it (`appointments::queue_reminders`); the door hands it over.
pub type QueueReminders = for<'a> fn(&'a Store, &'a DatabaseTransaction, Uuid, Channel) -> BoxFuture<'a, AppResult<()>>;

/// Where an update comes from, and what checking a password and writing reminders need.
pub struct UpdateContext<'a> {
    pub passwords: &'a Passwords,
    pub sessions: &'a SessionCache,
    pub config: &'a Config,
    pub client_addr: &'a str,
    pub queue_reminders: QueueReminders,
}

/// Applies a partial update to the viewer's own account.
///
/// Turning `email_reminders` or `sms_reminders` off deletes the viewer's pending reminders of that
/// channel (and, for SMS, their pending SMS notices) in the same transaction; turning one on
/// writes the reminders of their active appointments still to come whose leads have not passed
/// (see [`QueueReminders`]). Whether it was on is read in the transaction (the row locked on
/// PostgreSQL), so two requests turning it on at once queue them once.
///
/// `sms_reminders` may be on only with an E.164 `phone` (`+` and 8 to 15 digits): turning it on
/// without one, or changing `phone` to something else while it stays on, is `BAD_USER_INPUT` on
/// `phone`. A change of `sms_reminders` is audited `user.sms_consent`.
///
/// Changing the email (to another address than the current one) needs the current password,
/// checked as `changePassword` checks the old one (counted first against the same per-email and
/// per-address limits, hashed off the async runtime). In the same transaction as the change, the
/// old address is sent an `EMAIL_CHANGED` notice naming the new one masked, and every other login
/// of the user ends (the caller's stays); the calendar feed stays.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (also for `null` on a required field or a reminder
/// preference; `phone` for SMS without an E.164 number; `currentPassword` when
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
    let mut new_phone = None;
    if let Some(v) = changes.phone {
        let phone = validation::optional_text(v.as_deref(), "phone", 100)?;
        model.phone = Set(phone.clone());
        new_phone = Some(phone);
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
    let preference = |v: Option<Option<bool>>, field: &'static str| {
        v.map(|v| v.ok_or_else(|| AppError::bad_input(field, "This field may not be null"))).transpose()
    };
    let email_reminders = preference(changes.email_reminders, "emailReminders")?;
    let sms_reminders = preference(changes.sms_reminders, "smsReminders")?;
    if let Some(on) = email_reminders {
        model.email_reminders = Set(on);
    }
    if let Some(on) = sms_reminders {
        model.sms_reminders = Set(on);
    }
    // SMS need an E.164 number: checked against the row as it is in the transaction below.
    let sms_rule = sms_reminders.is_some() || new_phone.is_some();
    if new_email.is_some() {
        check_current_password(store, cx, viewer, changes.current_password).await?;
    }
    let now = store.clock.now();
    model.updated_at = Set(now);
    let txn = begin_write(&store.writer).await?;
    let before = if email_reminders.is_some() || sms_rule { Some(stored(&txn, viewer.id()).await?) } else { None };
    if let (true, Some(before)) = (sms_rule, &before) {
        let on = sms_reminders.unwrap_or(before.sms);
        let number = new_phone.as_ref().unwrap_or(&before.phone);
        if on && !number.as_deref().is_some_and(sms::is_e164) {
            return Err(AppError::bad_input(
                "phone",
                "SMS reminders need a phone number in E.164 form: + and 8 to 15 digits, e.g. +4917012345678",
            ));
        }
    }
    let updated = model.update(&txn).await.map_err(email_conflict)?;
    if let Some(Stored { email: email_was, sms: sms_was, .. }) = before {
        for (channel, was, now_on) in
            [(Channel::Email, email_was, updated.email_reminders), (Channel::Sms, sms_was, updated.sms_reminders)]
        {
            match (was, now_on) {
                (true, false) => outbox::drop_reminders_of(&txn, viewer.id(), channel).await?,
                (false, true) => (cx.queue_reminders)(store, &txn, viewer.id(), channel).await?,
                _ => {}
            }
        }
        if sms_was != updated.sms_reminders {
            audit::record(&txn, Some(viewer.id()), "user.sms_consent", Some(viewer.id()), now).await?;
        }
    }
    if let Some(new_email) = &new_email {
        let old_email = viewer.user.email.as_str();
        throttle::clear(&txn, throttle::Kind::Login, old_email).await?;
        end_other_logins(&txn, viewer, now).await?;
        // At most `PASSWORD_RESET_MAX_PER_HOUR` notices an hour to one address (the change itself
        // goes through): an address is never verified, so a loop of changes away from a stranger's
        // address would otherwise mail them without end.
        let attempt = throttle::Attempt::changed_email(cx.config, old_email);
        if throttle::count(&txn, &attempt, now).await?.is_ok() {
            let masked = mask_email(new_email);
            let body = outbox::render(EMAIL_CHANGED_EMAIL, &[("name", &updated.first_name), ("masked", &masked)]);
            let notice = NewEmail {
                channel: Channel::Email,
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
        }
        audit::record(&txn, Some(viewer.id()), "account.email_change", Some(viewer.id()), now).await?;
    } else {
        audit::record(&txn, Some(viewer.id()), "account.update", Some(viewer.id()), now).await?;
    }
    commit_account_change(store, cx.sessions, txn, viewer.id()).await?;
    Ok(updated)
}

/// The viewer's reminder choices and phone as stored.
struct Stored {
    email: bool,
    sms: bool,
    phone: Option<String>,
}

/// [`Stored`], read in `txn` (on PostgreSQL with the row locked until it ends, so that concurrent
/// changes take turns and each sees the other's outcome).
async fn stored(txn: &DatabaseTransaction, id: Uuid) -> AppResult<Stored> {
    let row: Option<(bool, bool, Option<String>)> = user::Entity::find_by_id(id)
        .select_only()
        .column(user::Column::EmailReminders)
        .column(user::Column::SmsReminders)
        .column(user::Column::Phone)
        .lock_exclusive()
        .into_tuple()
        .one(txn)
        .await?;
    let (email, sms, phone) = row.ok_or_else(|| AppError::internal("the viewer's row is gone"))?;
    Ok(Stored { email, sms, phone })
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
