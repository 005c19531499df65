//! Schema assembly: the merged root types, document limits, and per-deployment switches.
use async_graphql::{MergedObject, Schema};

use super::{
    accounts::{AccountsMutation, AccountsQuery},
    appointments::{AppointmentsMutation, AppointmentsQuery, AppointmentsSubscription},
    audit::AuditQuery,
    limits::DocumentLimits,
    nulls::Nulls,
    outbox::OutboxQuery,
    profiles::{ProfilesMutation, ProfilesQuery},
};
use crate::app::AppState;

#[derive(MergedObject, Default)]
pub struct Query(AccountsQuery, ProfilesQuery, AppointmentsQuery, AuditQuery, OutboxQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(AccountsMutation, ProfilesMutation, AppointmentsMutation);

pub type CyberSchema = Schema<Query, Mutation, AppointmentsSubscription>;

/// Directives allowed on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Complexity budget; list fields cost `first × child`.
pub const MAX_COMPLEXITY: usize = 1000;
/// async-graphql's own parse-time recursion bound: only a backstop against pathological documents
/// (the contract's depth and recursion bounds are [`DocumentLimits`], which spare introspection).
const PARSER_RECURSION_BACKSTOP: usize = 64;

/// Builds the schema. `state` is `None` only for printing the SDL.
/// With `limits`, the schema is the one for operations that arrive over WebSocket: the document
/// bounds run inside it as an extension, and so does each operation's login check, request id and
/// log line ([`super::socket::SocketOperations`]); without, the caller must apply
/// [`DocumentLimits::prepare`] first. Likewise with `nulls`, field errors are placed as the spec
/// says inside the schema; without, the caller applies [`Nulls::fix`] to each response.
pub fn build_schema(state: Option<AppState>, limits: Option<DocumentLimits>, nulls: Option<Nulls>) -> CyberSchema {
    let introspection = state.as_ref().is_none_or(|s| s.config.graphiql);
    let suggestions = state.as_ref().is_none_or(|s| !s.config.is_production());
    let mut builder = Schema::build(Query::default(), Mutation::default(), AppointmentsSubscription)
        .limit_recursive_depth(PARSER_RECURSION_BACKSTOP)
        .limit_directives(MAX_DIRECTIVES)
        .limit_complexity(MAX_COMPLEXITY);
    if !introspection {
        builder = builder.disable_introspection();
    }
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    if let Some(limits) = limits {
        builder = builder.extension(limits).extension(super::socket::SocketOperations);
    }
    if let Some(nulls) = nulls {
        builder = builder.extension(nulls);
    }
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, None, None).sdl()
}
