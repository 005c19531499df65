//! A process-local cache of logins checked against the database, so that an authenticated request
//! does not have to ask the database again for a login it just saw.
//!
//! Revocation still takes effect at once: every change that can end a login or disable a user
//! empties this cache after its commit, and on PostgreSQL it also sends a notice (from inside its
//! transaction, so delivered only on commit) on which every replica empties its own. A generation
//! counter keeps a lookup that raced with such a change from putting the old state back. Entries
//! live at most [`TTL`]: the bound on staleness for what cannot notify (the command line changing
//! accounts of a running SQLite server, a notice lost while a replica reconnects).
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::db::entities::{session, user};

/// Longest an entry is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    session: session::Model,
    user: user::Model,
    fetched: Instant,
}

/// See the module documentation.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<Uuid, Entry>>,
    generation: AtomicU64,
}

impl SessionCache {
    /// The generation to pass to [`SessionCache::put`] for a lookup starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A login and its user seen less than [`TTL`] ago.
    pub fn get(&self, sid: Uuid) -> Option<(session::Model, user::Model)> {
        let map = self.entries.lock().ok()?;
        let e = map.get(&sid)?;
        (e.fetched.elapsed() < TTL).then(|| (e.session.clone(), e.user.clone()))
    }

    /// Keeps what a lookup begun at `generation` found, unless a change happened since.
    pub fn put(&self, generation: u64, session: session::Model, user: user::Model) {
        let Ok(mut map) = self.entries.lock() else { return };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(session.id, Entry { session, user, fetched: Instant::now() });
    }

    /// Forgets everything: a login ended or an account changed.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }
}
