//! Visit types: a doctor's kinds of visit (length, buffers, booking policy), listed and managed.
//! Who sees which is the core's rule (`visit_types::visible_to`).
use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};
use uuid::Uuid;

use super::{ContextExt, loaders::UserById, objects::User, plain::Fast, scalars::Id};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::visit_type,
    domain::visit_types::{self, VisitTypeSettings},
    error::{AppError, AppResult},
};

/// A doctor's kind of visit: its length, buffers and booking policy.
pub struct VisitType(pub Arc<visit_type::Model>);

#[Object]
impl VisitType {
    async fn id(&self) -> Id {
        Id(self.0.id)
    }
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        let row = ctx
            .loaders()
            .await?
            .load_one(UserById(self.0.doctor_id))
            .await?
            .ok_or_else(|| AppError::internal("visit type's doctor missing"))?;
        Ok(Fast(User::from_row(&row)))
    }
    /// 1..=60 characters, unique per doctor (ignoring case).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 5..=480.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// 0..=120: the doctor's time kept free before each visit.
    async fn buffer_before_minutes(&self) -> i32 {
        self.0.buffer_before_minutes
    }
    /// 0..=120: the doctor's time kept free after each visit.
    async fn buffer_after_minutes(&self) -> i32 {
        self.0.buffer_after_minutes
    }
    /// 0..=43200: how long ahead a patient must book (patients only).
    async fn min_notice_minutes(&self) -> i32 {
        self.0.min_notice_minutes
    }
    /// 1..=365: how far ahead a patient may book, in days of 24 hours (patients only).
    async fn horizon_days(&self) -> i32 {
        self.0.horizon_days
    }
    /// 0..=20160: a patient may not cancel later than this before the start.
    async fn patient_cancel_cutoff_minutes(&self) -> i32 {
        self.0.patient_cancel_cutoff_minutes
    }
    /// 0..=20160: a patient may not reschedule later than this before the current start.
    async fn patient_reschedule_cutoff_minutes(&self) -> i32 {
        self.0.patient_reschedule_cutoff_minutes
    }
    /// Whether patients may book it (otherwise only its doctor and admins).
    async fn patient_bookable(&self) -> bool {
        self.0.patient_bookable
    }
    async fn active(&self) -> bool {
        self.0.active
    }
}

crate::plain_object!(VisitType {
    plain: [
        "id",
        "name",
        "durationMinutes",
        "bufferBeforeMinutes",
        "bufferAfterMinutes",
        "minNoticeMinutes",
        "horizonDays",
        "patientCancelCutoffMinutes",
        "patientRescheduleCutoffMinutes",
        "patientBookable",
        "active",
    ],
    waits: ["doctor"],
});

/// Every setting of a visit type (an omitted optional one takes its default).
#[derive(InputObject)]
pub struct VisitTypeInput {
    pub name: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    pub patient_cancel_cutoff_minutes: Option<i32>,
    pub patient_reschedule_cutoff_minutes: Option<i32>,
    pub patient_bookable: Option<bool>,
}

impl From<VisitTypeInput> for VisitTypeSettings {
    fn from(i: VisitTypeInput) -> Self {
        Self {
            name: i.name,
            duration_minutes: i.duration_minutes,
            buffer_before_minutes: i.buffer_before_minutes,
            buffer_after_minutes: i.buffer_after_minutes,
            min_notice_minutes: i.min_notice_minutes,
            horizon_days: i.horizon_days,
            patient_cancel_cutoff_minutes: i.patient_cancel_cutoff_minutes,
            patient_reschedule_cutoff_minutes: i.patient_reschedule_cutoff_minutes,
            patient_bookable: i.patient_bookable,
        }
    }
}

fn fast(m: visit_type::Model) -> Fast<VisitType> {
    Fast(VisitType(Arc::new(m)))
}

#[derive(Default)]
pub struct VisitTypesQuery;

#[Object]
impl VisitTypesQuery {
    /// A doctor's visit types: to the doctor and admins the active ones (and, with
    /// `includeInactive`, the inactive ones too); to everyone else the active, patient-bookable
    /// ones. By name.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn visit_types(
        &self,
        ctx: &Context<'_>,
        doctor_id: Uuid,
        #[graphql(default_with = "Some(false)")] include_inactive: Option<bool>,
    ) -> AppResult<Vec<Fast<VisitType>>> {
        let viewer = ctx.viewer().await?;
        let all = include_inactive.unwrap_or(false);
        let rows = visit_types::list(&ctx.state()?.reads, &viewer, doctor_id, all).await?;
        Ok(rows.into_iter().map(fast).collect())
    }
}

#[derive(Default)]
pub struct VisitTypesMutation;

#[Object]
impl VisitTypesMutation {
    /// DOCTOR (own), ADMIN (`doctorId` required).
    async fn create_visit_type(
        &self,
        ctx: &Context<'_>,
        doctor_id: Option<Uuid>,
        input: VisitTypeInput,
    ) -> AppResult<Fast<VisitType>> {
        let viewer = ctx.viewer().await?;
        let settings = VisitTypeSettings::from(input);
        Ok(fast(visit_types::create(&ctx.state()?.store, &viewer, doctor_id, &settings).await?))
    }

    /// Its doctor, ADMIN: replaces every setting (appointments already made keep theirs).
    async fn update_visit_type(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: VisitTypeInput,
    ) -> AppResult<Fast<VisitType>> {
        let viewer = ctx.viewer().await?;
        let settings = VisitTypeSettings::from(input);
        Ok(fast(visit_types::update(&ctx.state()?.store, &viewer, id, &settings).await?))
    }

    /// Its doctor, ADMIN: an inactive type cannot be booked.
    async fn set_visit_type_active(&self, ctx: &Context<'_>, id: Uuid, active: bool) -> AppResult<Fast<VisitType>> {
        let viewer = ctx.viewer().await?;
        Ok(fast(visit_types::set_active(&ctx.state()?.store, &viewer, id, active).await?))
    }
}
