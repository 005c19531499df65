//! The waitlist: `joinWaitlist`, `leaveWaitlist`, `acceptWaitlistOffer`, `declineWaitlistOffer`
//! and `waitlist`. The rules are the core's (`domain::waitlist`); offers are made by the matcher
//! in the background.
use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};
use uuid::Uuid;

use super::{
    ContextExt,
    appointments::{Appointment, answer},
    enums::WaitlistStatus,
    holds::person,
    loaders::{AppointmentById, VisitTypeById},
    objects::User,
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::Fast,
    scalars::{DateTime, Id},
    visit_types::VisitType,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::waitlist_entry,
    domain::waitlist::{self, EntryFilter, NewEntry, WaitlistRules},
    error::AppResult,
};

/// The time an entry is offered, kept for its patient until `expiresAt`.
pub struct WaitlistOffer {
    starts_at: DateTime,
    ends_at: DateTime,
    expires_at: DateTime,
}

#[Object]
impl WaitlistOffer {
    async fn starts_at(&self) -> DateTime {
        self.starts_at
    }
    async fn ends_at(&self) -> DateTime {
        self.ends_at
    }
    /// After this the offer goes to the next in line (`WAITLIST_OFFER_TTL_SECS` after it was made).
    async fn expires_at(&self) -> DateTime {
        self.expires_at
    }
}

crate::plain_object!(WaitlistOffer { plain: ["startsAt", "endsAt", "expiresAt"], waits: [] });

/// A patient in line for an earlier time with one doctor, inside `[earliest, latest)`.
pub struct WaitlistEntry(pub Arc<waitlist_entry::Model>);

#[Object]
impl WaitlistEntry {
    async fn id(&self) -> Id {
        Id(self.0.id)
    }
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        person(ctx, self.0.patient_id).await
    }
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        person(ctx, self.0.doctor_id).await
    }
    /// The kind of visit it waits for (null: the doctor's `slotMinutes`).
    async fn visit_type(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<VisitType>>> {
        let Some(id) = self.0.visit_type_id else { return Ok(None) };
        Ok(ctx.load_one(VisitTypeById(id)).await?.map(|t| Fast(VisitType(t))))
    }
    async fn earliest(&self) -> DateTime {
        self.0.earliest.into()
    }
    async fn latest(&self) -> DateTime {
        self.0.latest.into()
    }
    /// The later appointment an accepted offer cancels.
    async fn replaces_appointment(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<Appointment>>> {
        let Some(id) = self.0.replaces_appointment_id else { return Ok(None) };
        Ok(ctx.load_one(AppointmentById(id)).await?.map(|a| Fast(Appointment::from(a))))
    }
    async fn status(&self) -> WaitlistStatus {
        self.0.status.into()
    }
    /// Set while `OFFERED`.
    async fn offer(&self) -> Option<Fast<WaitlistOffer>> {
        let e = &self.0;
        match (e.status, e.offer_starts_at, e.offer_ends_at, e.offer_expires_at) {
            (waitlist_entry::WaitlistStatus::Offered, Some(s), Some(en), Some(x)) => {
                Some(Fast(WaitlistOffer { starts_at: s.into(), ends_at: en.into(), expires_at: x.into() }))
            }
            _ => None,
        }
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

crate::plain_object!(WaitlistEntry {
    plain: ["id", "earliest", "latest", "status", "offer", "createdAt"],
    waits: ["patient", "doctor", "visitType", "replacesAppointment"],
});

fn fast(m: waitlist_entry::Model) -> Fast<WaitlistEntry> {
    Fast(WaitlistEntry(Arc::new(m)))
}

/// `totalCount` of a waitlist, counted only when asked for.
pub struct WaitlistTotal(EntryFilter);

#[Object]
impl WaitlistTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        let viewer = ctx.viewer().await?;
        Ok(i64::try_from(waitlist::count(&ctx.state()?.reads, &viewer, &self.0).await?).unwrap_or(i64::MAX))
    }
}

crate::plain_object!(WaitlistTotal { plain: [], waits: ["totalCount"] });

pub type WaitlistEntryConnection = Page<Uuid, WaitlistEntry, WaitlistTotal>;

#[derive(InputObject)]
pub struct JoinWaitlistInput {
    pub doctor_id: Uuid,
    /// Required of a doctor or admin; a patient joins for themself.
    pub patient_id: Option<Uuid>,
    /// The kind of visit waited for (its length, grid and policy); absent: the doctor's slot.
    pub visit_type_id: Option<Uuid>,
    /// In the future.
    pub earliest: DateTime,
    /// After `earliest`, at most 90 days after it. Only an offer's start must lie before it.
    pub latest: DateTime,
    /// An active appointment of this patient with this doctor starting at or after `latest`: an
    /// accepted offer cancels it in the same transaction.
    pub replaces_appointment_id: Option<Uuid>,
}

#[derive(Default)]
pub struct WaitlistQuery;

#[Object]
impl WaitlistQuery {
    /// Waitlist entries, first in first out: a patient's own, a doctor's (those for them), an
    /// admin's all (optionally of one `doctorId`).
    #[graphql(guard = "RoleGuard::signed_in()", complexity = "page_complexity(first, child_complexity)")]
    async fn waitlist(
        &self,
        ctx: &Context<'_>,
        doctor_id: Option<Uuid>,
        status: Option<Vec<WaitlistStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Fast<WaitlistEntryConnection>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let limit = page_size(first)?;
        let after = decode_cursor(after.as_deref())?;
        let filter =
            EntryFilter { doctor_id, statuses: status.unwrap_or_default().into_iter().map(Into::into).collect() };
        let page = waitlist::list(&state.reads, &viewer, &filter, after, limit).await?;
        Ok(Fast(Page::of(page.map(|m| WaitlistEntry(Arc::new(m))), WaitlistTotal(filter))))
    }
}

#[derive(Default)]
pub struct WaitlistMutation;

#[Object]
impl WaitlistMutation {
    /// Puts a patient in line for an earlier time with a doctor: a patient for themself, a doctor
    /// (own calendar) or an admin on a patient's behalf.
    async fn join_waitlist(&self, ctx: &Context<'_>, input: JoinWaitlistInput) -> AppResult<Fast<WaitlistEntry>> {
        let viewer = ctx.viewer().await?;
        let new = NewEntry {
            doctor_id: input.doctor_id,
            patient_id: input.patient_id,
            visit_type_id: input.visit_type_id,
            earliest: input.earliest.0,
            latest: input.latest.0,
            replaces_appointment_id: input.replaces_appointment_id,
        };
        Ok(fast(waitlist::join(ctx.state()?, &viewer, new).await?))
    }

    /// Ends a live entry (`LEFT`), withdrawing its offer.
    async fn leave_waitlist(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<WaitlistEntry>> {
        let viewer = ctx.viewer().await?;
        Ok(fast(waitlist::leave(ctx.state()?, &viewer, id).await?))
    }

    /// Books the offered time (`PENDING`), cancelling the appointment it replaces in the same
    /// transaction.
    async fn accept_waitlist_offer(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<Appointment>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let appt = waitlist::accept(state, &viewer, id, WaitlistRules::from(&*state.config)).await?;
        answer(ctx, &viewer, appt).await
    }

    /// Puts the entry back in line (`WAITING`, its place kept); the time goes to the next.
    async fn decline_waitlist_offer(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<WaitlistEntry>> {
        let viewer = ctx.viewer().await?;
        Ok(fast(waitlist::decline(ctx.state()?, &viewer, id).await?))
    }
}
