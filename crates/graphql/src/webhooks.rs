//! Signed webhooks, for admins: the endpoints (`webhookEndpoints`, `createWebhookEndpoint`,
//! `updateWebhookEndpoint`, `rotateWebhookSecret`, `deleteWebhookEndpoint`) and their deliveries
//! (`webhookDeliveries`, `pingWebhookEndpoint`, `redeliverWebhook`). The rules are the core's
//! (`domain::webhooks`); a secret is shown only in a `WebhookSecretPayload`.
use std::sync::Arc;

use async_graphql::{Context, Object};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    loaders::WebhookEndpointById,
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::Fast,
    scalars::DateTime,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::{webhook_delivery, webhook_endpoint},
    domain::{
        Role,
        webhooks::{self, DeliveryFilter, DeliveryKey, EndpointChange},
    },
    error::{AppError, AppResult},
};

/// A URL the service POSTs signed events to.
pub struct WebhookEndpoint(pub Arc<webhook_endpoint::Model>);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The events it subscribed to (a `ping` is sent whatever they are).
    async fn events(&self) -> Vec<enums::WebhookEvent> {
        webhooks::events_of(&self.0).into_iter().map(Into::into).collect()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Set when the service turned it off after deliveries failed in a row.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

crate::plain_object!(WebhookEndpoint {
    plain: ["id", "url", "events", "active", "disabledReason", "createdAt"],
    waits: [],
});

fn endpoint(m: webhook_endpoint::Model) -> Fast<WebhookEndpoint> {
    Fast(WebhookEndpoint(Arc::new(m)))
}

/// An endpoint and its secret (`whsec_<base64>`): the only time the secret is shown.
pub struct WebhookSecretPayload {
    endpoint: webhook_endpoint::Model,
    secret: String,
}

#[Object]
impl WebhookSecretPayload {
    async fn endpoint(&self) -> Fast<WebhookEndpoint> {
        endpoint(self.endpoint.clone())
    }
    /// `whsec_<base64>`: the key of the signatures (base64-decoded); never shown again.
    async fn secret(&self) -> &str {
        &self.secret
    }
}

/// One event for one endpoint, and how its sending went (never its body).
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    /// `msg_<…>`: the `webhook-id` header, the same on every attempt and redelivery.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn event(&self) -> enums::WebhookEvent {
        self.0.event.into()
    }
    async fn endpoint(&self, ctx: &Context<'_>) -> AppResult<Fast<WebhookEndpoint>> {
        let row = ctx
            .load_one(WebhookEndpointById(self.0.endpoint_id))
            .await?
            .ok_or_else(|| AppError::internal("delivery's endpoint missing"))?;
        Ok(Fast(WebhookEndpoint(row)))
    }
    async fn status(&self) -> enums::WebhookDeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made so far (since the last redelivery).
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last answer, when there was one.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// Why the last attempt failed, in a few words (never a URL or a secret).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the next attempt is due (null once it is no longer pending).
    async fn next_attempt_at(&self) -> Option<DateTime> {
        self.0.next_attempt_at.map(Into::into)
    }
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(Into::into)
    }
}

crate::plain_object!(WebhookDelivery {
    plain: [
        "id",
        "event",
        "status",
        "attempts",
        "lastStatusCode",
        "lastError",
        "createdAt",
        "nextAttemptAt",
        "deliveredAt",
    ],
    waits: ["endpoint"],
});

/// `totalCount` of a deliveries' list, counted only when asked for.
pub struct WebhookDeliveryListTotal(DeliveryFilter);

#[Object]
impl WebhookDeliveryListTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        Ok(i64::try_from(webhooks::count_deliveries(&ctx.state()?.reads, self.0).await?).unwrap_or(i64::MAX))
    }
}

crate::plain_object!(WebhookDeliveryListTotal { plain: [], waits: ["totalCount"] });

pub type WebhookDeliveryConnection = Page<DeliveryKey, WebhookDelivery, WebhookDeliveryListTotal>;

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Every webhook endpoint, oldest first (admins only).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> AppResult<Vec<Fast<WebhookEndpoint>>> {
        let rows = webhooks::endpoints(&ctx.state()?.reads).await?;
        Ok(rows.into_iter().map(endpoint).collect())
    }

    /// Webhook deliveries, newest first (admins only).
    #[graphql(guard = "RoleGuard::new(Role::Admin)", complexity = "page_complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Option<Uuid>,
        status: Option<enums::WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Fast<WebhookDeliveryConnection>> {
        let state = ctx.state()?;
        let limit = page_size(first)?;
        let after = decode_cursor(after.as_deref())?;
        let filter = DeliveryFilter { endpoint_id, status: status.map(Into::into) };
        let page = webhooks::deliveries(&state.reads, filter, after, limit).await?;
        Ok(Fast(Page::of(page.map(WebhookDelivery), WebhookDeliveryListTotal(filter))))
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an endpoint for `events` (not empty); the answer holds its secret, shown only
    /// here. `url` must be `https://` and name a public address (see `WEBHOOK_ALLOW_*`).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        url: String,
        events: Vec<enums::WebhookEvent>,
    ) -> AppResult<WebhookSecretPayload> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let events: Vec<_> = events.into_iter().map(Into::into).collect();
        let (endpoint, secret) =
            webhooks::create_endpoint(state, &state.config.webhooks, viewer.id(), &url, &events).await?;
        Ok(WebhookSecretPayload { endpoint, secret })
    }

    /// Changes an endpoint's URL, events or `active` (turning it off fails its pending deliveries;
    /// on again clears `disabledReason`).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        url: Option<String>,
        events: Option<Vec<enums::WebhookEvent>>,
        active: Option<bool>,
    ) -> AppResult<Fast<WebhookEndpoint>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let change = EndpointChange { url, events: events.map(|e| e.into_iter().map(Into::into).collect()), active };
        Ok(endpoint(webhooks::update_endpoint(state, &state.config.webhooks, viewer.id(), id, change).await?))
    }

    /// A new secret for an endpoint, shown only here; the old one still signs for 24 hours.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<WebhookSecretPayload> {
        let viewer = ctx.viewer().await?;
        let (endpoint, secret) = webhooks::rotate_secret(ctx.state()?, viewer.id(), id).await?;
        Ok(WebhookSecretPayload { endpoint, secret })
    }

    /// Deletes an endpoint and its deliveries.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<bool> {
        let viewer = ctx.viewer().await?;
        webhooks::delete_endpoint(ctx.state()?, viewer.id(), id).await
    }

    /// Queues a `ping` to an active endpoint, whatever events it subscribed to.
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn ping_webhook_endpoint(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<WebhookDelivery>> {
        let viewer = ctx.viewer().await?;
        Ok(Fast(WebhookDelivery(webhooks::ping(ctx.state()?, viewer.id(), id).await?)))
    }

    /// Sends a delivery again: the same `webhook-id`, back to `PENDING` with its attempts at 0
    /// (refused while it is pending, and for an inactive endpoint).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: String) -> AppResult<Fast<WebhookDelivery>> {
        let viewer = ctx.viewer().await?;
        Ok(Fast(WebhookDelivery(webhooks::redeliver(ctx.state()?, viewer.id(), &id).await?)))
    }
}
