//! Output types shared by several areas.
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use super::{
    ContextExt,
    loaders::{DoctorProfileOf, PatientProfileOf, SharesAppointment, UserRow},
    profiles::{DoctorProfile, PatientProfile},
    scalars::DateTime,
};
use crate::{
    db::entities::user,
    domain::{Gender, Role, accounts},
    error::AppResult,
};

/// A person with an account. Private fields are null unless the viewer is the user, an admin,
/// or the other party of a shared appointment.
pub struct User {
    model: Arc<user::Model>,
    /// The doctor profile when it was loaded with the user (`None`: not loaded; look it up).
    doctor_profile: Option<Option<Arc<crate::db::entities::doctor_profile::Model>>>,
    /// Shown to the user themself without consulting the request's viewer (e.g. the user of an
    /// `AuthPayload`, whose request was anonymous).
    as_owner: bool,
    /// The viewer is known to share an appointment with this user (or to be an admin): set for the
    /// parties of an appointment the viewer was allowed to load.
    party_of_visible_appointment: bool,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self { model: Arc::new(m), doctor_profile: None, as_owner: false, party_of_visible_appointment: false }
    }
}

impl User {
    /// A user row from the DataLoader, with its doctor profile.
    pub fn from_row(row: &UserRow) -> Self {
        Self {
            model: row.user.clone(),
            doctor_profile: Some(row.doctor_profile.clone()),
            as_owner: false,
            party_of_visible_appointment: false,
        }
    }

    /// A party of an appointment the viewer was allowed to load: the viewer is the other party or
    /// an admin, so private fields are visible without asking again (reads are still audited).
    pub fn party_of_visible_appointment(row: &UserRow) -> Self {
        Self { party_of_visible_appointment: true, ..Self::from_row(row) }
    }

    /// The user as seen by themself.
    pub fn as_owner(model: user::Model) -> Self {
        Self { model: Arc::new(model), doctor_profile: None, as_owner: true, party_of_visible_appointment: false }
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
        let visible = self.party_of_visible_appointment
            || accounts::can_see_private(&viewer, &self.model)
            || (accounts::may_share_appointments(viewer.role(), self.model.role)
                && ctx.loaders()?.load_one(SharesAppointment(viewer.id(), self.model.id)).await?.unwrap_or(false));
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
    async fn gender(&self, ctx: &Context<'_>) -> AppResult<Option<Gender>> {
        Ok(self.private(ctx, |u| u.gender).await?.flatten())
    }
    async fn role(&self) -> Role {
        self.model.role
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
