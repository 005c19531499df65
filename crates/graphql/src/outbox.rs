//! `outbox`: the emails the service has written, for admins (never their bodies: a reset email
//! holds a token).
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
    outbox::{self, OutboxFilter},
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

/// `totalCount` of an outbox list, counted only when asked for.
pub struct OutboxListTotal(OutboxFilter);

#[Object]
impl OutboxListTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        Ok(i64::try_from(outbox::count(&ctx.state()?.db, self.0).await?).unwrap_or(i64::MAX))
    }
}

// Counted by its own statement whenever asked for: the connection is then answered the usual way.
crate::plain_object!(OutboxListTotal { plain: [], waits: ["totalCount"] });

pub type OutboxEmailConnection = Page<Uuid, OutboxEmail, OutboxListTotal>;

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
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let limit = page_size(first)?;
        let after = decode_cursor(after.as_deref())?;
        let filter = OutboxFilter { status: status.map(Into::into), appointment_id };
        let page = outbox::list(&state.db, filter, after, limit).await?;
        if !page.is_empty() {
            audit::record(&state.writer, Some(viewer.id()), "outbox.read", None, state.clock.now()).await?;
        }
        Ok(Fast(Page::of(page.map(OutboxEmail), OutboxListTotal(filter))))
    }
}
