//! Schema assembly: the merged root types, document limits, and per-deployment switches.
use async_graphql::{EmptySubscription, MergedObject, Schema};

use super::accounts::{AccountsMutation, AccountsQuery};
use crate::app::AppState;

#[derive(MergedObject, Default)]
pub struct Query(AccountsQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(AccountsMutation);

pub type CyberSchema = Schema<Query, Mutation, EmptySubscription>;

/// Document bounds from the contract, checked before anything executes.
pub const MAX_DEPTH: usize = 12;
pub const MAX_RECURSIVE_DEPTH: usize = 16;
pub const MAX_DIRECTIVES: usize = 5;
pub const MAX_COMPLEXITY: usize = 1000;

/// Builds the schema. `state` is `None` only for printing the SDL.
pub fn build_schema(state: Option<AppState>) -> CyberSchema {
    let introspection = state.as_ref().is_none_or(|s| s.config.graphiql);
    let suggestions = state.as_ref().is_none_or(|s| !s.config.is_production());
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
        .limit_directives(MAX_DIRECTIVES)
        .limit_complexity(MAX_COMPLEXITY);
    if !introspection {
        builder = builder.disable_introspection();
    }
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}
