//! The GraphQL door: the schema, its resolvers, dataloaders, and the HTTP and WebSocket handlers
//! that serve it, over the core's rules and privacy (`cybermed_core`).
//!
//! Modules in layer order, each importing only those before it in this list (`tests/layers.rs`
//! checks it): `enums`, `errors`, `guard`, `introspection`, `limits`, `live`, `metrics`, `order`,
//! `scalars`, `calendar`, `nulls`, `plain`, `pagination`, `state`, `loaders`, `outbox`, `reads`,
//! `objects`, `socket_operation`, `visit_types`, `holds`, `accounts`, `appointments`, `waitlist`, `audit`, `profiles`,
//! `webhooks`, `schema`, `http`, `socket`. The items of this file (the request context's [`ContextExt`]) are what every
//! resolver reads.

// Foundations: the schema's vocabulary, errors, bounds, and the workarounds of async-graphql
// 7.2.1 (docs/async-graphql.md).
pub mod calendar;
pub mod enums;
pub mod errors;
pub mod guard;
pub mod introspection;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod nulls;
pub mod order;
pub mod pagination;
pub mod plain;
pub mod scalars;
// The door's state, and what a request holds: its loaders, its private reads.
pub mod loaders;
pub mod outbox;
pub mod reads;
pub mod state;
// The object types and the operations, by area.
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod holds;
pub mod objects;
pub mod profiles;
pub mod socket_operation;
pub mod visit_types;
pub mod waitlist;
pub mod webhooks;
// The schema and its transports.
pub mod http;
pub mod schema;
pub mod socket;

use std::sync::Arc;

use async_graphql::Context;

use cybermed_core::{
    auth::viewer::Viewer,
    error::{AppError, AppResult},
    login::RequestAuth,
};

pub use schema::{CyberSchema, build_revalidating_schema, build_schema};
pub use state::AppState;

/// The operation of `doc` a request runs: the one named `name`, or the first when no name is given
/// (a document of several operations without a name is refused by validation before it runs).
pub fn selected_operation<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::Positioned<async_graphql::parser::types::OperationDefinition>> {
    let mut ops = doc.operations.iter();
    match name {
        Some(name) => ops.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => ops.next(),
    }
    .map(|(_, op)| op)
}

/// Whether `name` picks exactly one operation of `doc`, as execution will look for it: the
/// operation of that name, or (without a name) the document's only operation.
pub fn names_an_operation(doc: &async_graphql::parser::types::ExecutableDocument, name: Option<&str>) -> bool {
    match name {
        Some(name) => doc.operations.iter().any(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => doc.operations.iter().count() == 1,
    }
}

/// The client's network address, as seen by this server (for login throttling).
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

/// Typed access to what every request carries.
pub trait ContextExt {
    /// Shared services.
    fn state(&self) -> AppResult<&AppState>;
    /// The signed-in viewer; `UNAUTHENTICATED` when anonymous or the token is bad.
    fn viewer(&self) -> impl Future<Output = AppResult<Arc<Viewer>>> + Send;
    /// The viewer if a token was sent (`UNAUTHENTICATED` if it is bad), `None` when anonymous.
    fn maybe_viewer(&self) -> impl Future<Output = AppResult<Option<Arc<Viewer>>>> + Send;
    /// The client's address.
    fn client_addr(&self) -> String;
    /// One value from the request's DataLoaders. The load's state is boxed: it then does not
    /// enlarge the future of every field of an object that is answered in place ([`plain`]).
    fn load_one<K>(
        &self,
        key: K,
    ) -> impl Future<Output = AppResult<Option<<loaders::DbLoader as async_graphql::dataloader::Loader<K>>::Value>>> + Send
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        loaders::DbLoader: async_graphql::dataloader::Loader<K, Error = AppError>;
    /// The request's DataLoaders (pending for a field polled in place, which must not start a
    /// load: see [`plain`]).
    fn loaders(&self) -> impl Future<Output = AppResult<&loaders::Loaders>> + Send;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>().map_err(|_| AppError::internal("application state missing from schema"))
    }

    async fn viewer(&self) -> AppResult<Arc<Viewer>> {
        let state = self.state()?;
        match self.data_opt::<RequestAuth>() {
            Some(auth) => auth.require(state).await,
            None => Err(AppError::Unauthenticated("Authentication required")),
        }
    }

    async fn maybe_viewer(&self) -> AppResult<Option<Arc<Viewer>>> {
        let state = self.state()?;
        match self.data_opt::<RequestAuth>() {
            Some(auth) => auth.viewer(state).await,
            None => Ok(None),
        }
    }

    async fn loaders(&self) -> AppResult<&loaders::Loaders> {
        // A load started by a field polled in place could not finish in that poll: see `plain`.
        plain::not_probing().await;
        self.data::<loaders::Loaders>().map_err(|_| AppError::internal("loaders missing from request"))
    }

    async fn load_one<K>(
        &self,
        key: K,
    ) -> AppResult<Option<<loaders::DbLoader as async_graphql::dataloader::Loader<K>>::Value>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        loaders::DbLoader: async_graphql::dataloader::Loader<K, Error = AppError>,
    {
        Box::pin(self.loaders().await?.load_one(key)).await
    }

    fn client_addr(&self) -> String {
        self.data_opt::<ClientAddr>().map_or_else(|| "unknown".to_owned(), |a| a.0.clone())
    }
}
