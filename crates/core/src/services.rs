//! What every front door holds: the [`Store`] domain functions work with, and the services built
//! once per process around it (token keys, the password hasher, the login cache). The binary
//! builds one [`Core`] and gives each front door a clone of it.
use std::sync::Arc;

use crate::{
    auth::{jwt::TokenKeys, password::Passwords, sessions::SessionCache},
    config::Config,
    db::{self, people::PeopleCache},
    domain::{Clock, Store, demo::Seeder},
    events::EventHub,
    outbox,
};

/// The shared services: one allocation, cloned by reference count (a request clones it several
/// times; a deep clone was a measurable share of a small request's CPU).
#[derive(Clone)]
pub struct Core(Arc<Services>);

impl std::ops::Deref for Core {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`Core`] holds.
pub struct Services {
    /// What domain functions work with: database, clock, events (see [`Store`]).
    pub store: Store,
    /// SQL statements run so far (tests and the benchmark read it).
    pub statements: db::StatementCounter,
    pub config: Arc<Config>,
    pub keys: TokenKeys,
    pub passwords: Passwords,
    /// Logins recently checked against the database; account changes forget them.
    pub sessions: Arc<SessionCache>,
}

/// `services.db`, `services.clock`, `services.events`… read the [`Store`], and `&Services`
/// coerces to the `&Store` a domain function takes.
impl std::ops::Deref for Services {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Core {
    /// Builds every service around an open, migrated database (see [`db::open`]).
    ///
    /// # Errors
    /// The password hasher's threads could not start.
    pub async fn new(config: Config, pools: db::Pools) -> anyhow::Result<Self> {
        let db::Pools { db, writer, reads, statements } = pools;
        let keys =
            TokenKeys::new(config.jwt_secret.expose().as_bytes(), config.access_token_ttl, config.refresh_token_ttl);
        let passwords = Passwords::new().await.map_err(|_| anyhow::anyhow!("password hasher failed to start"))?;
        let sessions = Arc::new(SessionCache::default());
        let people = Arc::new(PeopleCache::default());
        let events = EventHub::start(&db, sessions.clone(), people.clone());
        let writes = db::group_commit::WriteQueue::start(&writer);
        let store = Store {
            db,
            reads,
            writer,
            writes,
            clock: Clock::default(),
            events,
            outbox: outbox::Settings::from_config(&config),
            people,
        };
        Ok(Self(Arc::new(Services { store, statements, config: Arc::new(config), keys, passwords, sessions })))
    }

    /// What `seed-demo` works with.
    pub fn seeder(&self) -> Seeder<'_> {
        Seeder { store: &self.store, passwords: &self.passwords, keys: &self.keys, sessions: &self.sessions }
    }
}
