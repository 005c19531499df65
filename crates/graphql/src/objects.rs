//! Output types shared by several areas: people, their profiles, schedules and slots.
use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use super::{
    ContextExt,
    calendar::CalendarFeedInfo,
    enums,
    loaders::{AvailabilityOf, DoctorProfileOf, PatientProfileOf, SharesAppointment, UpcomingTimeOffOf, UserRow},
    plain::{Fast, not_probing},
    scalars::{Date, DateTime, Id, Time},
};
use cybermed_core::{
    db::entities::{doctor_profile, patient_profile, time_off, user},
    domain::{
        Role, accounts, calendar_feeds,
        privacy::{self, Access, Decision, Looker, PrivateField},
        schedule::Rule,
    },
    error::AppResult,
};

/// A person with an account. Private fields ([`privacy::PRIVATE_FIELDS`]) are null unless
/// [`privacy::access`] allows them, and every read of a patient's private fields by someone else is
/// audited.
pub struct User {
    model: Arc<user::Model>,
    doctor_profile: Preloaded<Arc<doctor_profile::Model>>,
    seen: Seen,
}

/// Something loaded with its owner, or left for the field to look up.
pub enum Preloaded<T> {
    Yes(Option<T>),
    No,
}

/// Who looks at a user and with what access, when that was settled as the user was loaded.
#[derive(Clone, Copy)]
enum Seen {
    /// Ask the request's viewer (and, if need be, whether the two share an appointment).
    Ask,
    /// Settled for this viewer.
    By { viewer: Uuid, access: Access },
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self { model: Arc::new(m), doctor_profile: Preloaded::No, seen: Seen::Ask }
    }
}

impl User {
    /// A user row from the DataLoader, with its doctor profile.
    pub fn from_row(row: &UserRow) -> Self {
        Self { model: row.user.clone(), doctor_profile: Preloaded::Yes(row.doctor_profile.clone()), seen: Seen::Ask }
    }

    /// A party of an appointment `looker` was allowed to load: the looker is the other party or an
    /// admin, so whether they share an appointment need not be asked.
    pub fn party_of_visible_appointment(row: &UserRow, looker: Looker) -> Self {
        let access = privacy::access_given(Some(looker), &row.user, true);
        Self { seen: Seen::By { viewer: looker.id, access }, ..Self::from_row(row) }
    }

    /// A user of a page whose doctor profiles were loaded together (`profiles`: by doctor; a
    /// doctor without one is absent).
    pub fn with_doctor_profile(
        m: user::Model,
        profiles: &HashMap<DoctorProfileOf, Arc<doctor_profile::Model>>,
    ) -> Self {
        let profile = profiles.get(&DoctorProfileOf(m.id)).cloned();
        Self { doctor_profile: Preloaded::Yes(profile), ..Self::from(m) }
    }

    /// The user as seen by themself (e.g. the user of an `AuthPayload`, whose request was
    /// anonymous).
    pub fn as_owner(model: user::Model) -> Self {
        let viewer = model.id;
        Self { seen: Seen::By { viewer, access: Access::Own }, ..Self::from(model) }
    }

    /// The viewer (if any) and what they may read of this user.
    async fn access(&self, ctx: &Context<'_>) -> AppResult<(Option<Uuid>, Access)> {
        if let Seen::By { viewer, access } = self.seen {
            return Ok((Some(viewer), access));
        }
        let Some(viewer) = ctx.maybe_viewer().await? else { return Ok((None, Access::Public)) };
        let looker = Some(Looker::from(&*viewer));
        let access = match privacy::access(looker, &self.model) {
            Decision::Known(access) => access,
            Decision::IfSharingAnAppointment => {
                let sharing = ctx.load_one(SharesAppointment(viewer.id(), self.model.id)).await?.unwrap_or(false);
                privacy::access_given(looker, &self.model, sharing)
            }
        };
        Ok((Some(viewer.id()), access))
    }

    /// The private `field`: `pick`ed if the viewer may read it ([`Access::show`]; the read noted
    /// for the audit log).
    async fn private<'a, T>(
        &'a self,
        ctx: &Context<'_>,
        field: PrivateField,
        pick: impl FnOnce(&'a user::Model) -> T,
    ) -> AppResult<Option<T>> {
        let (viewer, access) = self.access(ctx).await?;
        let Some(value) = access.show(field, || pick(&self.model)) else { return Ok(None) };
        if let Some(read) = viewer.and_then(|v| access.audited_read(v, &self.model)) {
            super::reads::note_private_read(ctx, read).await?;
        }
        Ok(Some(value))
    }
}

#[Object]
impl User {
    async fn id(&self) -> Id {
        Id(self.model.id)
    }
    /// Private.
    async fn email(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        self.private(ctx, PrivateField::Email, |u| u.email.as_str()).await
    }
    async fn first_name(&self) -> &str {
        &self.model.first_name
    }
    async fn last_name(&self) -> &str {
        &self.model.last_name
    }
    /// Private.
    async fn phone(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        Ok(self.private(ctx, PrivateField::Phone, |u| u.phone.as_deref()).await?.flatten())
    }
    /// Private.
    async fn address(&self, ctx: &Context<'_>) -> AppResult<Option<&str>> {
        Ok(self.private(ctx, PrivateField::Address, |u| u.address.as_deref()).await?.flatten())
    }
    async fn bio(&self) -> Option<&str> {
        self.model.bio.as_deref()
    }
    /// Private.
    async fn gender(&self, ctx: &Context<'_>) -> AppResult<Option<enums::Gender>> {
        Ok(self.private(ctx, PrivateField::Gender, |u| u.gender).await?.flatten().map(Into::into))
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
    async fn doctor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<DoctorProfile>>> {
        if self.model.role != Role::Doctor {
            return Ok(None);
        }
        let profile = match &self.doctor_profile {
            Preloaded::Yes(profile) => profile.clone(),
            Preloaded::No => ctx.load_one(DoctorProfileOf(self.model.id)).await?,
        };
        Ok(profile.map(|p| Fast(DoctorProfile(p))))
    }
    /// Private.
    async fn patient_profile(&self, ctx: &Context<'_>) -> AppResult<Option<PatientProfile>> {
        if self.model.role != Role::Patient || self.private(ctx, PrivateField::PatientProfile, |_| ()).await?.is_none()
        {
            return Ok(None);
        }
        let profile = ctx.load_one(PatientProfileOf(self.model.id)).await?;
        Ok(profile.map(PatientProfile))
    }
    /// Private: appointment reminders by email (default on).
    async fn email_reminders(&self, ctx: &Context<'_>) -> AppResult<Option<bool>> {
        self.private(ctx, PrivateField::EmailReminders, |u| u.email_reminders).await
    }
    /// Private: appointment reminders and notices by SMS (default off; needs an E.164 `phone`).
    async fn sms_reminders(&self, ctx: &Context<'_>) -> AppResult<Option<bool>> {
        self.private(ctx, PrivateField::SmsReminders, |u| u.sms_reminders).await
    }
    /// Only to the user themself (null for anyone else, admins included): that a live calendar
    /// feed exists, and since when. Null when there is none.
    async fn calendar_feed(&self, ctx: &Context<'_>) -> AppResult<Option<CalendarFeedInfo>> {
        let viewer = match self.seen {
            Seen::By { viewer, .. } => Some(viewer),
            Seen::Ask => ctx.maybe_viewer().await?.map(|v| v.id()),
        };
        if viewer != Some(self.model.id) {
            return Ok(None);
        }
        // One lookup, for the viewer's own account only: a list of others never waits for it.
        not_probing().await;
        let created = calendar_feeds::created_at_of(&ctx.state()?.reads, self.model.id).await?;
        Ok(created.map(|at| CalendarFeedInfo { created_at: at.into() }))
    }
}

crate::plain_object!(User {
    plain: [
        "id",
        "email",
        "firstName",
        "lastName",
        "phone",
        "address",
        "bio",
        "gender",
        "role",
        "isActive",
        "isStaff",
        "isSuperuser",
        "dateJoined",
        "doctorProfile",
        "emailReminders",
        "smsReminders",
        // Answered at once for anyone but the viewer (null); the viewer's own waits.
        "calendarFeed",
    ],
    waits: ["patientProfile"],
});

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

/// A doctor's practice details.
pub struct DoctorProfile(pub Arc<doctor_profile::Model>);

#[Object]
impl DoctorProfile {
    /// Set by an admin; only verified doctors are listed and bookable.
    async fn verified(&self) -> bool {
        self.0.verified
    }
    async fn specialty(&self) -> &str {
        &self.0.specialty
    }
    async fn experience_years(&self) -> i32 {
        self.0.experience_years
    }
    /// IANA name; availability is in this zone.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    /// Length of one appointment, minutes.
    async fn slot_minutes(&self) -> i32 {
        self.0.slot_minutes
    }
    /// The weekly availability, by weekday and start.
    async fn availability(&self, ctx: &Context<'_>) -> AppResult<Vec<AvailabilityRule>> {
        let rules = ctx.loaders().await?.load_one(AvailabilityOf(self.0.user_id)).await?.unwrap_or_default();
        Ok(rules.iter().copied().map(AvailabilityRule::from).collect())
    }
    /// Time off that has not ended yet; only for the doctor themself and admins (null otherwise).
    async fn time_off(&self, ctx: &Context<'_>) -> AppResult<Option<Vec<TimeOff>>> {
        let viewer = ctx.maybe_viewer().await?;
        if !privacy::sees_time_off(viewer.as_deref().map(Looker::from), self.0.user_id) {
            return Ok(None);
        }
        let rows = ctx.loaders().await?.load_one(UpcomingTimeOffOf(self.0.user_id)).await?.unwrap_or_default();
        Ok(Some(rows.iter().cloned().map(TimeOff::from).collect()))
    }
}

crate::plain_object!(DoctorProfile {
    plain: ["verified", "specialty", "experienceYears", "timeZone", "slotMinutes"],
    waits: ["availability", "timeOff"],
});

/// A patient's details (private).
pub struct PatientProfile(pub Arc<patient_profile::Model>);

#[Object]
impl PatientProfile {
    async fn date_of_birth(&self) -> Date {
        self.0.date_of_birth.into()
    }
    async fn emergency_contact_name(&self) -> &str {
        &self.0.emergency_contact_name
    }
    async fn emergency_contact_phone(&self) -> &str {
        &self.0.emergency_contact_phone
    }
}

/// One weekly window, in the doctor's time zone.
#[derive(SimpleObject)]
pub struct AvailabilityRule {
    pub weekday: enums::Weekday,
    pub start_time: Time,
    pub end_time: Time,
}

impl From<Rule> for AvailabilityRule {
    fn from(r: Rule) -> Self {
        Self { weekday: r.weekday.into(), start_time: r.start.into(), end_time: r.end.into() }
    }
}

/// A period in which the doctor takes no appointments.
#[derive(SimpleObject)]
pub struct TimeOff {
    pub id: Uuid,
    pub starts_at: DateTime,
    pub ends_at: DateTime,
    pub reason: Option<String>,
}

impl From<time_off::Model> for TimeOff {
    fn from(m: time_off::Model) -> Self {
        Self { id: m.id, starts_at: m.starts_at.into(), ends_at: m.ends_at.into(), reason: m.reason }
    }
}

/// A free appointment slot.
#[derive(SimpleObject)]
pub struct Slot {
    pub starts_at: DateTime,
    pub ends_at: DateTime,
}
