//! The GraphQL API: schema assembly, request context, and one module per area.
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod calendar;
pub mod enums;
pub mod http;
pub mod introspection;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod nulls;
pub mod objects;
pub mod order;
pub mod outbox;
pub mod pagination;
pub mod plain;
pub mod profiles;
pub mod scalars;
pub mod schema;
pub mod socket;

use std::sync::Arc;

use async_graphql::Context;

use crate::{
    app::AppState,
    auth::viewer::{RequestAuth, Viewer},
    error::{AppError, AppResult},
};

pub use schema::{CyberSchema, build_schema};

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
    /// The request's DataLoaders (refused, with [`AppError::WouldWait`], to a field polled in
    /// place: see [`plain`]).
    fn loaders(&self) -> AppResult<&loaders::Loaders>;
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

    fn loaders(&self) -> AppResult<&loaders::Loaders> {
        // A load started by a field polled in place could not finish in that poll: see `plain`.
        plain::not_probing()?;
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
        Box::pin(self.loaders()?.load_one(key)).await
    }

    fn client_addr(&self) -> String {
        self.data_opt::<ClientAddr>().map_or_else(|| "unknown".to_owned(), |a| a.0.clone())
    }
}
