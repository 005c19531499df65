//! Slot holds: a time kept for one patient for a few minutes (`holdSlot`, `releaseHold`,
//! `myHolds`). The rules are the core's (`domain::holds`); a hold is booked with
//! `createAppointment(input: { holdId, … })`.
use std::sync::Arc;

use async_graphql::{Context, Object};
use uuid::Uuid;

use super::{
    ContextExt,
    loaders::{UserById, VisitTypeById},
    objects::User,
    plain::Fast,
    scalars::{DateTime, Id},
    visit_types::VisitType,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::slot_hold,
    domain::holds::{self, HoldRules, NewHold},
    error::{AppError, AppResult},
};

/// A time kept for one patient for a few minutes: it blocks the doctor's time (and the patient's)
/// like an active appointment until `expiresAt`, and is booked with `createAppointment`'s `holdId`.
pub struct SlotHold(pub Arc<slot_hold::Model>);

/// One of the two people of a hold or a waitlist entry, as anyone who may see it sees them: neither
/// is a shared appointment, so a doctor sees a patient's private fields only when they also share
/// one.
pub(crate) async fn person(ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<User>> {
    let row =
        ctx.loaders().await?.load_one(UserById(id)).await?.ok_or_else(|| AppError::internal("a person is missing"))?;
    Ok(Fast(User::from_row(&row)))
}

#[Object]
impl SlotHold {
    async fn id(&self) -> Id {
        Id(self.0.id)
    }
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        person(ctx, self.0.doctor_id).await
    }
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        person(ctx, self.0.patient_id).await
    }
    /// The visit type it was checked with (null: the doctor's `slotMinutes`).
    async fn visit_type(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<VisitType>>> {
        let Some(id) = self.0.visit_type_id else { return Ok(None) };
        Ok(ctx.load_one(VisitTypeById(id)).await?.map(|t| Fast(VisitType(t))))
    }
    async fn starts_at(&self) -> DateTime {
        self.0.starts_at.into()
    }
    async fn ends_at(&self) -> DateTime {
        self.0.ends_at.into()
    }
    /// After this it blocks nothing (`HOLD_TTL_SECS` after it was made).
    async fn expires_at(&self) -> DateTime {
        self.0.expires_at.into()
    }
}

crate::plain_object!(SlotHold {
    plain: ["id", "startsAt", "endsAt", "expiresAt"],
    waits: ["doctor", "patient", "visitType"],
});

fn fast(m: slot_hold::Model) -> Fast<SlotHold> {
    Fast(SlotHold(Arc::new(m)))
}

#[derive(Default)]
pub struct HoldsQuery;

#[Object]
impl HoldsQuery {
    /// The viewer's live holds, soonest first: a patient's own (whoever placed them); a doctor's or
    /// admin's, those they placed.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn my_holds(&self, ctx: &Context<'_>) -> AppResult<Vec<Fast<SlotHold>>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let rows = holds::my_holds(&state.reads, &viewer, state.clock.now()).await?;
        Ok(rows.into_iter().map(fast).collect())
    }
}

#[derive(Default)]
pub struct HoldsMutation;

#[Object]
impl HoldsMutation {
    /// Keeps a time for a patient for `HOLD_TTL_SECS`: the patient for themself (`patientId` absent
    /// or their own), a doctor at their own calendar for a patient, an admin for anyone. Checked as
    /// a booking by that patient would be.
    async fn hold_slot(
        &self,
        ctx: &Context<'_>,
        doctor_id: Uuid,
        starts_at: DateTime,
        visit_type_id: Option<Uuid>,
        patient_id: Option<Uuid>,
    ) -> AppResult<Fast<SlotHold>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let input = NewHold { doctor_id, starts_at: starts_at.0, visit_type_id, patient_id };
        Ok(fast(holds::hold_slot(state, &viewer, input, HoldRules::from(&*state.config)).await?))
    }

    /// Ends a hold early (its patient, or whoever placed it); false when it was not live.
    async fn release_hold(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<bool> {
        let viewer = ctx.viewer().await?;
        holds::release_hold(ctx.state()?, &viewer, id).await
    }
}
