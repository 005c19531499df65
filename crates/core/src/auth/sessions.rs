//! A process-local cache of logins checked against the database, so that an authenticated request
//! does not have to ask the database again for a login it just saw.
//!
//! Revocation still takes effect at once: every change that can end a login or disable a user
//! empties this cache after its commit, and on PostgreSQL it also sends a notice (from inside its
//! transaction, so delivered only on commit) on which every replica empties its own. A generation
//! counter keeps a lookup that raced with such a change from putting the old state back. Entries
//! live at most [`TTL`]: the bound on staleness for what cannot notify (the command line changing
//! accounts of a running SQLite server, a notice lost while a replica reconnects). At most
//! [`MAX_ENTRIES`] are kept: a new one evicts the least recently used.
use std::{
    num::NonZeroUsize,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use lru::LruCache;
use uuid::Uuid;

use crate::db::entities::{session, user};

/// Longest an entry is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(10);
/// Logins kept at most.
const MAX_ENTRIES: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

struct Entry {
    session: session::Model,
    user: user::Model,
    fetched: Instant,
}

/// See the module documentation.
pub struct SessionCache {
    entries: Mutex<LruCache<Uuid, Entry>>,
    generation: AtomicU64,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

impl SessionCache {
    fn with_capacity(capacity: NonZeroUsize) -> Self {
        Self { entries: Mutex::new(LruCache::new(capacity)), generation: AtomicU64::new(0) }
    }

    /// The generation to pass to [`SessionCache::put`] for a lookup starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A login and its user seen less than [`TTL`] ago.
    pub fn get(&self, sid: Uuid) -> Option<(session::Model, user::Model)> {
        let mut map = self.entries.lock().ok()?;
        let e = map.get(&sid)?;
        (e.fetched.elapsed() < TTL).then(|| (e.session.clone(), e.user.clone()))
    }

    /// Keeps what a lookup begun at `generation` found, unless a change happened since.
    pub fn put(&self, generation: u64, session: session::Model, user: user::Model) {
        let Ok(mut map) = self.entries.lock() else { return };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        map.put(session.id, Entry { session, user, fetched: Instant::now() });
    }

    /// Forgets everything: a login ended or an account changed.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::db::entities::user::Role;

    fn login() -> (session::Model, user::Model) {
        let now = Utc::now();
        let user = user::Model {
            id: Uuid::now_v7(),
            email: "someone@example.com".to_owned(),
            password_hash: String::new(),
            first_name: "Some".to_owned(),
            last_name: "One".to_owned(),
            phone: None,
            address: None,
            bio: None,
            gender: None,
            role: Role::Patient,
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: now,
            updated_at: now,
            email_reminders: true,
            sms_reminders: false,
        };
        let session =
            session::Model { id: Uuid::now_v7(), user_id: user.id, created_at: now, expires_at: now, revoked_at: None };
        (session, user)
    }

    #[test]
    fn a_full_cache_evicts_the_least_recently_used_login_and_keeps_the_recent_ones() {
        let cache = SessionCache::with_capacity(NonZeroUsize::MIN.saturating_add(1));
        let [(a, a_user), (b, b_user), (c, c_user)] = [login(), login(), login()];
        let (a_id, b_id, c_id) = (a.id, b.id, c.id);
        cache.put(cache.generation(), a, a_user);
        cache.put(cache.generation(), b, b_user);
        assert!(cache.get(a_id).is_some(), "a is now the most recently used");
        cache.put(cache.generation(), c, c_user);
        assert!(cache.get(a_id).is_some(), "a recent login survives a full cache");
        assert!(cache.get(c_id).is_some(), "the newest login is kept");
        assert!(cache.get(b_id).is_none(), "the least recently used one made room");
    }

    #[test]
    fn a_lookup_that_raced_with_a_change_is_not_kept() {
        let cache = SessionCache::default();
        let (s, u) = login();
        let sid = s.id;
        let generation = cache.generation();
        cache.clear();
        cache.put(generation, s, u);
        assert!(cache.get(sid).is_none());
    }
}
