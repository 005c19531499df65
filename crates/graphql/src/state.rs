//! What the resolvers and handlers hold: the core's services and the GraphQL door's own (the
//! plain path's counters, the live events' fan-out).
use std::sync::Arc;

use cybermed_core::{Core, Services};

/// The GraphQL door's shared state: one allocation, cloned by reference count. `state.db`,
/// `state.config`, `state.keys`… read the core's [`Services`] (and through them the store).
#[derive(Clone)]
pub struct AppState(Arc<GraphqlServices>);

/// What [`AppState`] holds.
pub struct GraphqlServices {
    /// The core's services, which the other front doors share.
    pub core: Core,
    /// Objects answered in place or the usual way (tests and the benchmark read it).
    pub plain_stats: Arc<crate::plain::PlainStats>,
    /// Live events for subscribers (read once per event), and the open WebSockets per user.
    pub live: crate::live::Live,
}

impl AppState {
    /// The GraphQL door over `core`.
    pub fn new(core: Core) -> Self {
        let live = crate::live::Live::new(crate::live::fan_out_permits(&core.db));
        Self(Arc::new(GraphqlServices { core, plain_stats: Arc::default(), live }))
    }
}

impl std::ops::Deref for AppState {
    type Target = GraphqlServices;

    fn deref(&self) -> &GraphqlServices {
        &self.0
    }
}

impl std::ops::Deref for GraphqlServices {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.core
    }
}
