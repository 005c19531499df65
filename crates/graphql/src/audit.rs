//! The audit log for admins.

use async_graphql::{Context, Object};
use uuid::Uuid;

use super::{
    ContextExt,
    loaders::UserById,
    objects::User,
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::Fast,
    scalars::DateTime,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    db::entities::audit_entry,
    domain::{
        Role,
        audit::{self, AuditFilter},
    },
    error::AppResult,
};

/// One audited action.
pub struct AuditEntry(audit_entry::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
    /// Null for anonymous or system actions.
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        Ok(ctx.loaders().await?.load_one(UserById(id)).await?.map(|r| User::from_row(&r)))
    }
    /// e.g. `appointment.create`, `patient.read`, `auth.login_failed`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The user or appointment acted on.
    async fn subject_id(&self) -> Option<Uuid> {
        self.0.subject_id
    }
    /// Also the response's `x-request-id` and the request's log span.
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
}

crate::plain_object!(AuditEntry { plain: ["id", "at", "action", "subjectId", "requestId"], waits: ["actor"] });

/// `totalCount` of an audit list, counted only when asked for.
pub struct AuditListTotal(AuditFilter);

#[Object]
impl AuditListTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        Ok(i64::try_from(audit::count(&ctx.state()?.reads, &self.0).await?).unwrap_or(i64::MAX))
    }
}

// Counted by its own statement whenever asked for: the connection is then answered the usual way.
crate::plain_object!(AuditListTotal { plain: [], waits: ["totalCount"] });

pub type AuditEntryConnection = Page<Uuid, AuditEntry, AuditListTotal>;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first (admins only).
    #[graphql(guard = "RoleGuard::new(Role::Admin)", complexity = "page_complexity(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        actor_id: Option<Uuid>,
        subject_id: Option<Uuid>,
    ) -> AppResult<Fast<AuditEntryConnection>> {
        let limit = page_size(first)?;
        let after = decode_cursor(after.as_deref())?;
        let filter = AuditFilter { actor_id, subject_id };
        let page = audit::list(&ctx.state()?.reads, &filter, after, limit).await?;
        let actors: Vec<Uuid> = page.rows().filter_map(|r| r.actor_id).collect();
        if !actors.is_empty() && ctx.look_ahead().field("edges").field("node").field("actor").exists() {
            ctx.loaders().await?.load_many(actors.into_iter().map(UserById)).await?;
        }
        Ok(Fast(Page::of(page.map(AuditEntry), AuditListTotal(filter))))
    }
}
