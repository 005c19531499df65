//! Calendar feeds: creating and revoking the viewer's secret `.ics` URL (served by
//! the interop crate's `calendar`).
use async_graphql::{Context, Object, SimpleObject};

use super::{ContextExt, scalars::DateTime};
use crate::guard::RoleGuard;
use cybermed_core::{domain::Role, domain::calendar_feeds, error::AppResult};

/// A calendar feed just created. The URL is its only credential and is shown only here.
#[derive(SimpleObject)]
pub struct CalendarFeed {
    /// `<PUBLIC_URL>/calendar/<token>.ics`: subscribe a calendar app to it; keep it secret.
    pub url: String,
    /// When this feed was created (an earlier one ended then).
    pub created_at: DateTime,
}

/// That the viewer has a live calendar feed (`User.calendarFeed`, shown to the user themself only);
/// its URL is never shown again.
#[derive(SimpleObject)]
pub struct CalendarFeedInfo {
    /// When the live feed was created.
    pub created_at: DateTime,
}

/// `createCalendarFeed` and `revokeCalendarFeed`, merged into the `Mutation` root.
#[derive(Default)]
pub struct CalendarMutation;

#[Object]
impl CalendarMutation {
    /// Creates the viewer's calendar feed (doctors and patients); an earlier feed's URL stops
    /// working. The URL is shown only in this answer.
    #[graphql(guard = "RoleGuard::new(Role::Doctor).or(RoleGuard::new(Role::Patient))")]
    async fn create_calendar_feed(&self, ctx: &Context<'_>) -> AppResult<CalendarFeed> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let feed = calendar_feeds::create(&state.store, &viewer).await?;
        let url = calendar_feeds::feed_url(&state.config.public_url, &feed.token);
        Ok(CalendarFeed { url, created_at: feed.created_at.into() })
    }

    /// Ends the viewer's calendar feed (doctors and patients): true when there was one.
    #[graphql(guard = "RoleGuard::new(Role::Doctor).or(RoleGuard::new(Role::Patient))")]
    async fn revoke_calendar_feed(&self, ctx: &Context<'_>) -> AppResult<bool> {
        let viewer = ctx.viewer().await?;
        calendar_feeds::revoke(&ctx.state()?.store, &viewer).await
    }
}
