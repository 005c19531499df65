//! Field guards: role checks declared on the resolver, e.g.
//! `#[graphql(guard = "RoleGuard::new(Role::Admin)")]`.
use async_graphql::{Context, Guard};

use crate::ContextExt;
use cybermed_core::{domain::Role, error::AppError};

/// Lets the field run only for a signed-in viewer of one role (any role when `None`).
pub struct RoleGuard {
    role: Option<Role>,
}

impl RoleGuard {
    pub fn new(role: Role) -> Self {
        Self { role: Some(role) }
    }

    /// Any signed-in, active user.
    pub fn signed_in() -> Self {
        Self { role: None }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = ctx.viewer().await?;
        match self.role {
            Some(role) if viewer.role() != role => Err(AppError::Forbidden.into()),
            _ => Ok(()),
        }
    }
}
