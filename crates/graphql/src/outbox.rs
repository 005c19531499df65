//! `outbox` and `smsOutbox`: the emails and the SMS the service has written (one table, two
//! channels), for admins. Never their bodies (a reset email holds a token; an SMS an appointment's
//! time), and an SMS's number only masked.
use async_graphql::{Context, Object};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::Fast,
    scalars::DateTime,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::outbox_email,
    domain::{Role, audit},
    error::AppResult,
    outbox::{self, Channel, OutboxFilter},
    sms,
};

/// One email of the outbox.
pub struct OutboxEmail(outbox_email::Model);

#[Object]
impl OutboxEmail {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn kind(&self) -> enums::EmailKind {
        self.0.kind.into()
    }
    /// The recipient's address.
    async fn to(&self) -> &str {
        &self.0.to_address
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn appointment_id(&self) -> Option<Uuid> {
        self.0.appointment_id
    }
    async fn status(&self) -> enums::EmailStatus {
        self.0.status.into()
    }
    /// Deliveries tried so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The transport's last error (its kind, no secrets).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it may be sent (reminders: the appointment's start minus the lead; retries: later).
    async fn due_at(&self) -> DateTime {
        self.0.due_at.into()
    }
    async fn sent_at(&self) -> Option<DateTime> {
        self.0.sent_at.map(Into::into)
    }
}

crate::plain_object!(OutboxEmail {
    plain: [
        "id",
        "kind",
        "to",
        "subject",
        "appointmentId",
        "status",
        "attempts",
        "lastError",
        "createdAt",
        "dueAt",
        "sentAt",
    ],
    waits: [],
});

/// One SMS of the outbox.
pub struct OutboxSms(outbox_email::Model);

#[Object]
impl OutboxSms {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn kind(&self) -> enums::EmailKind {
        self.0.kind.into()
    }
    /// The number, masked: `+`, the first two digits, bullets, the last four (`+49•••••••5678`).
    async fn to(&self) -> String {
        sms::mask(&self.0.to_address)
    }
    async fn appointment_id(&self) -> Option<Uuid> {
        self.0.appointment_id
    }
    async fn status(&self) -> enums::EmailStatus {
        self.0.status.into()
    }
    /// Deliveries tried so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The transport's last error (its kind or the gateway's status, no number, no text).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The gateway's id of the message, when its answer gave one (`SMS_TRANSPORT=http`).
    async fn provider_message_id(&self) -> Option<&str> {
        self.0.provider_message_id.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it may be sent (reminders: the appointment's start minus the lead; a time in the
    /// quiet hours: their end; retries: later).
    async fn due_at(&self) -> DateTime {
        self.0.due_at.into()
    }
    async fn sent_at(&self) -> Option<DateTime> {
        self.0.sent_at.map(Into::into)
    }
}

crate::plain_object!(OutboxSms {
    plain: [
        "id",
        "kind",
        "to",
        "appointmentId",
        "status",
        "attempts",
        "lastError",
        "providerMessageId",
        "createdAt",
        "dueAt",
        "sentAt",
    ],
    waits: [],
});

/// `totalCount` of an outbox list, counted only when asked for.
pub struct OutboxListTotal(OutboxFilter);

#[Object]
impl OutboxListTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        Ok(i64::try_from(outbox::count(&ctx.state()?.reads, self.0).await?).unwrap_or(i64::MAX))
    }
}

// Counted by its own statement whenever asked for: the connection is then answered the usual way.
crate::plain_object!(OutboxListTotal { plain: [], waits: ["totalCount"] });

pub type OutboxEmailConnection = Page<Uuid, OutboxEmail, OutboxListTotal>;
pub type OutboxSmsConnection = Page<Uuid, OutboxSms, OutboxListTotal>;

#[derive(Default)]
pub struct OutboxQuery;

#[Object]
impl OutboxQuery {
    /// The emails the service has written, newest first (admins only).
    //
    // A page with at least one email is audited (`outbox.read`, one entry per `outbox` field
    // resolved, no subject) before it is answered: it names recipients. An empty page is not.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", complexity = "page_complexity(first, child_complexity)")]
    async fn outbox(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<enums::EmailStatus>,
        appointment_id: Option<Uuid>,
    ) -> AppResult<Fast<OutboxEmailConnection>> {
        let filter = OutboxFilter { channel: Channel::Email, status: status.map(Into::into), appointment_id };
        let page = read_page(ctx, filter, first, after).await?;
        Ok(Fast(Page::of(page.map(OutboxEmail), OutboxListTotal(filter))))
    }

    /// The SMS the service has written, newest first (admins only), numbers masked, never the
    /// text.
    //
    // Audited as `outbox` is (`outbox.read`): a page names (masked) recipients and appointments.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", complexity = "page_complexity(first, child_complexity)")]
    async fn sms_outbox(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<enums::EmailStatus>,
        appointment_id: Option<Uuid>,
    ) -> AppResult<Fast<OutboxSmsConnection>> {
        let filter = OutboxFilter { channel: Channel::Sms, status: status.map(Into::into), appointment_id };
        let page = read_page(ctx, filter, first, after).await?;
        Ok(Fast(Page::of(page.map(OutboxSms), OutboxListTotal(filter))))
    }
}

/// One page of the messages `filter` selects, audited (`outbox.read`, no subject) when it is not
/// empty.
async fn read_page(
    ctx: &Context<'_>,
    filter: OutboxFilter,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<cybermed_core::page::KeysetPage<Uuid, outbox_email::Model>> {
    let viewer = ctx.viewer().await?;
    let state = ctx.state()?;
    let limit = page_size(first)?;
    let after = decode_cursor(after.as_deref())?;
    let page = outbox::list(&state.reads, filter, after, limit).await?;
    if !page.is_empty() {
        audit::record(&state.writer, Some(viewer.id()), "outbox.read", None, state.clock.now()).await?;
    }
    Ok(page)
}
