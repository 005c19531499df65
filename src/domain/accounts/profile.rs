//! The viewer's edits of their own account.
use sea_orm::{ActiveModelTrait, Set};

use super::{commit_account_change, email_conflict};
use crate::{
    auth::{sessions::SessionCache, viewer::Viewer},
    db::{begin_write, entities::user},
    domain::{Gender, Store, audit, validation},
    error::{AppError, AppResult},
    outbox,
};

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

/// Applies a partial update to the viewer's own account.
///
/// Turning `email_reminders` off deletes the viewer's pending reminders in the same transaction;
/// turning it on again does not write them back (appointments booked or moved from then on get
/// reminders).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (also for `null` on a required field); `CONFLICT` on `email`.
pub async fn update_me(
    store: &Store,
    sessions: &SessionCache,
    viewer: &Viewer,
    changes: ProfileChanges,
) -> AppResult<user::Model> {
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
    model.updated_at = Set(store.clock.now());
    let txn = begin_write(&store.writer).await?;
    let updated = model.update(&txn).await.map_err(email_conflict)?;
    if reminders_off {
        outbox::appointments::drop_reminders_of(&txn, viewer.id()).await?;
    }
    audit::record(&txn, Some(viewer.id()), "account.update", Some(viewer.id()), updated.updated_at).await?;
    commit_account_change(store, sessions, txn, viewer.id()).await?;
    Ok(updated)
}
