//! Output types shared by several areas.
use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Object, SimpleObject, Value};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    loaders::{DoctorProfileOf, PatientProfileOf, SharesAppointment, UserRow},
    plain::{self, Plain, leaf, nested},
    profiles::{DoctorProfile, PatientProfile},
    scalars::DateTime,
};
use crate::{
    db::entities::{doctor_profile, user},
    domain::{
        Role, accounts,
        privacy::{self, Access, Decision, Looker},
    },
    error::AppResult,
};

/// A person with an account. Private fields are null unless the viewer is the user, an admin,
/// or the other party of a shared appointment.
pub struct User {
    model: Arc<user::Model>,
    /// The doctor profile when it was loaded with the user (`None`: not loaded; look it up).
    doctor_profile: Option<Option<Arc<doctor_profile::Model>>>,
    /// Shown to the user themself without consulting the request's viewer (e.g. the user of an
    /// `AuthPayload`, whose request was anonymous).
    as_owner: bool,
    /// The viewer (by id) is known to share an appointment with this user, or to be an admin: set
    /// for the parties of an appointment the viewer was allowed to load.
    party_viewer: Option<Uuid>,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self { model: Arc::new(m), doctor_profile: None, as_owner: false, party_viewer: None }
    }
}

impl User {
    /// A user row from the DataLoader, with its doctor profile.
    pub fn from_row(row: &UserRow) -> Self {
        Self {
            model: row.user.clone(),
            doctor_profile: Some(row.doctor_profile.clone()),
            as_owner: false,
            party_viewer: None,
        }
    }

    /// A party of an appointment `viewer` was allowed to load: the viewer is the other party or an
    /// admin, so private fields are visible without asking again (reads are still audited).
    pub fn party_of_visible_appointment(row: &UserRow, viewer: Uuid) -> Self {
        Self { party_viewer: Some(viewer), ..Self::from_row(row) }
    }

    /// A user of a page whose doctor profiles were loaded together (`profiles`: by doctor; a
    /// doctor without one is absent).
    pub fn with_doctor_profile(
        m: user::Model,
        profiles: &HashMap<DoctorProfileOf, Arc<doctor_profile::Model>>,
    ) -> Self {
        let profile = profiles.get(&DoctorProfileOf(m.id)).cloned();
        Self { doctor_profile: Some(profile), ..Self::from(m) }
    }

    /// The user as seen by themself.
    pub fn as_owner(model: user::Model) -> Self {
        Self { model: Arc::new(model), doctor_profile: None, as_owner: true, party_viewer: None }
    }

    async fn private<'a, T>(
        &'a self,
        ctx: &Context<'_>,
        pick: impl FnOnce(&'a user::Model) -> T,
    ) -> AppResult<Option<T>> {
        if self.as_owner {
            return Ok(Some(pick(&self.model)));
        }
        let Some(viewer) = ctx.maybe_viewer().await? else { return Ok(None) };
        let looker = Some(Looker::from(&*viewer));
        let access = match privacy::access(looker, &self.model) {
            Decision::Known(access) => access,
            Decision::IfSharingAnAppointment if self.party_viewer == Some(viewer.id()) => Access::Party,
            Decision::IfSharingAnAppointment => {
                let sharing =
                    ctx.loaders()?.load_one(SharesAppointment(viewer.id(), self.model.id)).await?.unwrap_or(false);
                privacy::access_given(looker, &self.model, sharing)
            }
        };
        let visible = access.private();
        if visible {
            super::audit::note_private_read(ctx, viewer.id(), &self.model).await?;
        }
        Ok(visible.then(|| pick(&self.model)))
    }
}

#[Object]
impl User {
    async fn id(&self) -> Uuid {
        self.model.id
    }
    /// Private.
    async fn email(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        self.private(ctx, |u| u.email.as_str()).await
    }
    async fn first_name(&self) -> &str {
        &self.model.first_name
    }
    async fn last_name(&self) -> &str {
        &self.model.last_name
    }
    /// Private.
    async fn phone(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        Ok(self.private(ctx, |u| u.phone.as_deref()).await?.flatten())
    }
    /// Private.
    async fn address(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        Ok(self.private(ctx, |u| u.address.as_deref()).await?.flatten())
    }
    async fn bio(&self) -> Option<&str> {
        self.model.bio.as_deref()
    }
    /// Private.
    async fn gender(&self, ctx: &Context<'_>) -> AppResult<Option<enums::Gender>> {
        Ok(self.private(ctx, |u| u.gender).await?.flatten().map(Into::into))
    }
    async fn role(&self) -> enums::Role {
        self.model.role.into()
    }
    async fn is_active(&self) -> bool {
        self.model.is_active
    }
    async fn is_staff(&self) -> bool {
        self.model.is_staff
    }
    async fn is_superuser(&self) -> bool {
        self.model.is_superuser
    }
    async fn date_joined(&self) -> DateTime {
        self.model.date_joined.into()
    }
    async fn doctor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<DoctorProfile>> {
        if self.model.role != Role::Doctor {
            return Ok(None);
        }
        let profile = match &self.doctor_profile {
            Some(preloaded) => preloaded.clone(),
            None => ctx.loaders()?.load_one(DoctorProfileOf(self.model.id)).await?,
        };
        Ok(profile.map(DoctorProfile))
    }
    /// Private.
    async fn patient_profile(&self, ctx: &Context<'_>) -> AppResult<Option<PatientProfile>> {
        if self.model.role != Role::Patient || self.private(ctx, |_| ()).await?.is_none() {
            return Ok(None);
        }
        let profile = ctx.loaders()?.load_one(PatientProfileOf(self.model.id)).await?;
        Ok(profile.map(PatientProfile))
    }
    /// Private: appointment reminders by email (default on).
    async fn email_reminders(&self, ctx: &Context<'_>) -> AppResult<Option<bool>> {
        self.private(ctx, |u| u.email_reminders).await
    }
}

impl Plain for User {
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value> {
        let m = &*self.model;
        match ctx.item.node.name.node.as_str() {
            "id" => Some(plain::uuid_value(&m.id)),
            "firstName" => leaf(ctx, &m.first_name.as_str()),
            "lastName" => leaf(ctx, &m.last_name.as_str()),
            "bio" => leaf(ctx, &m.bio.as_deref()),
            "role" => leaf(ctx, &enums::Role::from(m.role)),
            "isActive" => leaf(ctx, &m.is_active),
            "isStaff" => leaf(ctx, &m.is_staff),
            "isSuperuser" => leaf(ctx, &m.is_superuser),
            "dateJoined" => leaf(ctx, &DateTime::from(m.date_joined)),
            "email" => self.private_now(ctx).and_then(|()| leaf(ctx, &Some(m.email.as_str()))),
            "phone" => self.private_now(ctx).and_then(|()| leaf(ctx, &m.phone.as_deref())),
            "address" => self.private_now(ctx).and_then(|()| leaf(ctx, &m.address.as_deref())),
            "gender" => self.private_now(ctx).and_then(|()| leaf(ctx, &m.gender.map(enums::Gender::from))),
            "emailReminders" => self.private_now(ctx).and_then(|()| leaf(ctx, &Some(m.email_reminders))),
            "doctorProfile" => match (m.role, &self.doctor_profile) {
                (Role::Doctor, Some(Some(profile))) => nested(ctx, &DoctorProfile(profile.clone())),
                (Role::Doctor, None) => None,
                _ => Some(Value::Null),
            },
            _ => None,
        }
    }
}

impl User {
    /// `Some` when the private fields are visible to the viewer without asking anything (the read
    /// noted for the audit log as [`User::private`] does); `None` to leave it to the async path.
    fn private_now(&self, ctx: &Context<'_>) -> Option<()> {
        if self.as_owner {
            return Some(());
        }
        super::audit::note_private_read_now(ctx, self.party_viewer?, &self.model)
    }
}

/// A signed-in session's tokens.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Access token lifetime, seconds.
    pub expires_in: i64,
    pub user: User,
}

impl From<accounts::IssuedTokens> for AuthPayload {
    fn from(t: accounts::IssuedTokens) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            user: User::as_owner(t.user),
        }
    }
}

/// A human-readable confirmation.
#[derive(SimpleObject)]
pub struct MessagePayload {
    pub message: String,
}

impl MessagePayload {
    pub fn new(message: &str) -> Self {
        Self { message: message.to_owned() }
    }
}
