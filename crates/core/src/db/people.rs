//! A process-local cache of people as pages show them: a user's row with their doctor profile, by
//! id, so that a page of appointments does not read its doctors and patients again on every
//! request (issue 25: the screen's page in one statement once its people were seen).
//!
//! It holds rows, not decisions: what a viewer may see of a person is decided by the resolvers on
//! every request, as for a row just read. It holds no secret: the password hash is dropped before
//! a row is kept.
//!
//! Every change to what it holds forgets it, as `auth::sessions::SessionCache`
//! does for logins: a change of a user's account (`commit_account_change`) or of a doctor's profile
//! forgets the person after its commit in this process, and on PostgreSQL sends a notice from
//! inside its transaction (delivered only on commit) on which every replica forgets them too
//! (`events::EventHub`). A generation counter keeps a read that raced with a change from putting
//! the old row back; a replica's listener that reconnects forgets everyone (notices sent meanwhile
//! are lost). Entries live at most [`TTL`]: the bound on staleness for what cannot notify (the
//! command line changing a user of a running SQLite server). At most [`MAX_ENTRIES`] are kept.
use std::{
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use lru::LruCache;
use uuid::Uuid;

use super::entities::{doctor_profile, user};

/// Longest a person is trusted without reading them again.
pub const TTL: Duration = Duration::from_secs(10);
/// People kept at most (a few hundred bytes each).
const MAX_ENTRIES: NonZeroUsize = NonZeroUsize::new(4096).expect("not zero");

/// A user with their doctor profile (if any), read together.
pub struct UserRow {
    pub user: Arc<user::Model>,
    pub doctor_profile: Option<Arc<doctor_profile::Model>>,
}

/// See the module documentation.
pub struct PeopleCache {
    entries: Mutex<LruCache<Uuid, (Arc<UserRow>, Instant)>>,
    generation: AtomicU64,
}

impl Default for PeopleCache {
    fn default() -> Self {
        Self { entries: Mutex::new(LruCache::new(MAX_ENTRIES)), generation: AtomicU64::new(0) }
    }
}

impl PeopleCache {
    /// The generation to pass to [`PeopleCache::keep`] for a read starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The people of `ids` kept less than [`TTL`] ago, each passed to `found`; returns the others.
    pub fn take(&self, ids: impl IntoIterator<Item = Uuid>, mut found: impl FnMut(Arc<UserRow>)) -> Vec<Uuid> {
        let mut missing = Vec::new();
        let Ok(mut map) = self.entries.lock() else { return ids.into_iter().collect() };
        for id in ids {
            match map.get(&id) {
                Some((row, at)) if at.elapsed() < TTL => found(row.clone()),
                _ => missing.push(id),
            }
        }
        missing
    }

    /// Keeps what a read begun at `generation` found, unless a change happened since. The password
    /// hash is not kept.
    pub fn keep(
        &self,
        generation: u64,
        rows: impl IntoIterator<Item = (user::Model, Option<doctor_profile::Model>)>,
    ) -> Vec<Arc<UserRow>> {
        let rows: Vec<Arc<UserRow>> = rows
            .into_iter()
            .map(|(mut user, profile)| {
                user.password_hash = String::new();
                Arc::new(UserRow { user: Arc::new(user), doctor_profile: profile.map(Arc::new) })
            })
            .collect();
        if let Ok(mut map) = self.entries.lock()
            && self.generation.load(Ordering::Acquire) == generation
        {
            let now = Instant::now();
            for row in &rows {
                map.put(row.user.id, (row.clone(), now));
            }
        }
        rows
    }

    /// Forgets `id`: their account or profile changed (and any read under way does not keep what
    /// it found).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut map) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.pop(&id);
        }
    }

    /// Forgets everyone: changes may have been missed.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }
}
