//! Profiles, the doctor directory, verification, availability, time off and free slots: the
//! queries and mutations (their object types are in `objects`).
use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};
use uuid::Uuid;

use super::{
    ContextExt,
    accounts::{UserConnection, user_page},
    enums,
    objects::{AvailabilityRule, DoctorProfile, PatientProfile, Slot, TimeOff, User},
    pagination::page_complexity,
    plain::Fast,
    scalars::{Date, DateTime, Time},
};
use crate::guard::RoleGuard;
use cybermed_core::{
    domain::{
        Role,
        accounts::UserFilter,
        privacy::SearchIn,
        profiles::{self, DoctorProfileChanges, PatientProfileChanges},
        schedule::{self, NewTimeOff, Rule},
    },
    error::AppResult,
};

#[derive(InputObject)]
pub struct DoctorProfileInput {
    pub specialty: String,
    pub experience_years: i32,
    /// IANA name; default "UTC" (kept as it is on update when omitted).
    pub time_zone: Option<String>,
    /// 5..=240; default 30 (kept as it is on update when omitted).
    pub slot_minutes: Option<i32>,
}

#[derive(InputObject)]
pub struct PatientProfileInput {
    pub date_of_birth: Date,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: String,
}

#[derive(InputObject)]
pub struct AvailabilityRuleInput {
    pub weekday: enums::Weekday,
    pub start_time: Time,
    pub end_time: Time,
}

#[derive(InputObject)]
pub struct TimeOffInput {
    pub starts_at: DateTime,
    pub ends_at: DateTime,
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct ProfilesQuery;

#[Object]
impl ProfilesQuery {
    /// Doctors: verified and active ones, except to admins, who see every doctor.
    #[graphql(guard = "RoleGuard::signed_in()", complexity = "page_complexity(first, child_complexity)")]
    async fn doctors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        specialty: Option<String>,
        search: Option<String>,
    ) -> AppResult<Fast<UserConnection>> {
        let viewer = ctx.viewer().await?;
        let everyone = viewer.is_admin();
        let filter = UserFilter {
            role: Some(Role::Doctor),
            search,
            specialty,
            active_only: !everyone,
            verified_doctors_only: !everyone,
            search_in: SearchIn::Directory,
        };
        user_page(ctx, filter, first, after).await
    }

    /// Free slots of a doctor starting in `[from, to)` (at most 31 days), in order: the starts a
    /// patient's booking would accept (with `visitTypeId`: that type's length, buffers, notice
    /// and horizon).
    #[graphql(guard = "RoleGuard::signed_in()", complexity = "slots_complexity(&from, &to)")]
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        doctor_id: Uuid,
        from: DateTime,
        to: DateTime,
        visit_type_id: Option<Uuid>,
    ) -> AppResult<Vec<Slot>> {
        let viewer = ctx.viewer().await?;
        let slots =
            schedule::available_slots(&ctx.state()?.store, &viewer, doctor_id, from.0, to.0, visit_type_id).await?;
        Ok(slots.into_iter().map(|s| Slot { starts_at: s.start.into(), ends_at: s.end.into() }).collect())
    }
}

/// Complexity of `availableSlots`: 10 per day of its range, partial days counted whole, so a
/// 31-day range costs 310 and a document cannot ask for many of them at once. A range over 31
/// days is priced as 31 (the resolver refuses it with `BAD_USER_INPUT`, which says more than a
/// blown budget); an empty or inverted one as a day.
fn slots_complexity(from: &DateTime, to: &DateTime) -> usize {
    const PER_DAY: usize = 10;
    let seconds = (to.0 - from.0).num_seconds().max(1);
    let days = (seconds + 86_399) / 86_400;
    let days = days.min(schedule::MAX_SLOT_RANGE_DAYS);
    usize::try_from(days).unwrap_or(1).saturating_mul(PER_DAY)
}

#[derive(Default)]
pub struct ProfilesMutation;

#[Object]
impl ProfilesMutation {
    /// Creates or updates the viewer's doctor profile (doctors only).
    #[graphql(guard = "RoleGuard::new(Role::Doctor)")]
    async fn upsert_doctor_profile(&self, ctx: &Context<'_>, input: DoctorProfileInput) -> AppResult<DoctorProfile> {
        let viewer = ctx.viewer().await?;
        let changes = DoctorProfileChanges {
            specialty: input.specialty,
            experience_years: input.experience_years,
            time_zone: input.time_zone,
            slot_minutes: input.slot_minutes,
        };
        let saved = profiles::upsert_doctor_profile(&ctx.state()?.store, &viewer, changes).await?;
        Ok(DoctorProfile(Arc::new(saved)))
    }

    /// Creates or updates the viewer's patient profile (patients only).
    #[graphql(guard = "RoleGuard::new(Role::Patient)")]
    async fn upsert_patient_profile(&self, ctx: &Context<'_>, input: PatientProfileInput) -> AppResult<PatientProfile> {
        let viewer = ctx.viewer().await?;
        let changes = PatientProfileChanges {
            date_of_birth: input.date_of_birth.into(),
            emergency_contact_name: input.emergency_contact_name,
            emergency_contact_phone: input.emergency_contact_phone,
        };
        let saved = profiles::upsert_patient_profile(&ctx.state()?.store, &viewer, changes).await?;
        Ok(PatientProfile(Arc::new(saved)))
    }

    /// Replaces the viewer's whole weekly availability (doctors only).
    #[graphql(guard = "RoleGuard::new(Role::Doctor)")]
    async fn set_availability(
        &self,
        ctx: &Context<'_>,
        rules: Vec<AvailabilityRuleInput>,
    ) -> AppResult<Vec<AvailabilityRule>> {
        let viewer = ctx.viewer().await?;
        let rules = rules
            .into_iter()
            .map(|r| Rule { weekday: r.weekday.into(), start: r.start_time.into(), end: r.end_time.into() })
            .collect();
        let saved = schedule::set_availability(&ctx.state()?.store, &viewer, rules).await?;
        Ok(saved.into_iter().map(AvailabilityRule::from).collect())
    }

    /// Adds time off (doctors only).
    #[graphql(guard = "RoleGuard::new(Role::Doctor)")]
    async fn add_time_off(&self, ctx: &Context<'_>, input: TimeOffInput) -> AppResult<TimeOff> {
        let viewer = ctx.viewer().await?;
        let new = NewTimeOff { starts_at: input.starts_at.0, ends_at: input.ends_at.0, reason: input.reason };
        Ok(schedule::add_time_off(&ctx.state()?.store, &viewer, new).await?.into())
    }

    /// Removes one of the viewer's periods of time off (doctors only, own only).
    #[graphql(guard = "RoleGuard::new(Role::Doctor)")]
    async fn remove_time_off(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<bool> {
        let viewer = ctx.viewer().await?;
        schedule::remove_time_off(&ctx.state()?.store, &viewer, id).await?;
        Ok(true)
    }

    /// Verifies a doctor or withdraws verification (admins only). The user must be a doctor with a profile.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn verify_doctor(&self, ctx: &Context<'_>, id: Uuid, verified: bool) -> AppResult<User> {
        let admin = ctx.viewer().await?;
        Ok(profiles::verify_doctor(&ctx.state()?.store, Some(admin.id()), id, verified).await?.into())
    }
}
