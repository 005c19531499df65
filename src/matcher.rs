//! The waitlist's matcher: one task per process that claims the doctors whose waitlist is due to
//! be matched (`waitlist_matches`, marked in the transaction of each change that freed time) and
//! matches each in one transaction (`domain::waitlist::matcher`).
//!
//! Claims are leased like the outbox's (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any number of
//! processes share the work and each doctor is matched by one at a time; a process that dies
//! mid-match loses nothing (its transaction rolls back, the mark stays, the lease runs out). The
//! matcher looks for due marks at least every [`POLL`], so a freed time reaches the first in line
//! within about a second of its commit, in whichever process it was made.
use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

use crate::domain::{
    Store,
    waitlist::{WaitlistRules, matcher},
};

/// Longest the matcher sleeps without looking for due marks.
pub const POLL: Duration = Duration::from_millis(500);

/// Starts the matcher; it stops, releasing what it claimed and has not matched, when `stop` turns
/// true.
pub fn spawn(store: Store, rules: WaitlistRules, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(crate::db::uncounted(async move {
        let owner = format!("{}:{}", std::process::id(), Uuid::new_v4().simple());
        loop {
            if *stop.borrow() {
                let _ = matcher::release(&store, &owner, None).await;
                return;
            }
            let wait = match run_once(&store, rules, &owner, &stop).await {
                Ok(n) if n as u64 >= matcher::BATCH => continue,
                Ok(_) => next_wait(&store).await,
                Err(e) => {
                    tracing::warn!(error = ?e, "waitlist matcher could not claim; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }))
}

/// Claims the due doctors (one batch) and matches each; returns how many were claimed. A match
/// that fails is logged, counted, and kept claimed for
/// [`matcher::RETRY_AFTER_FAILURE`] before it is tried again.
///
/// # Errors
/// The claim failed.
pub async fn run_once(
    store: &Store,
    rules: WaitlistRules,
    owner: &str,
    stop: &watch::Receiver<bool>,
) -> crate::error::AppResult<usize> {
    let claimed = matcher::claim(store, owner).await?;
    for c in &claimed {
        if *stop.borrow() {
            matcher::release(store, owner, Some(c.doctor_id)).await?;
            continue;
        }
        match matcher::match_doctor(store, rules, owner, *c).await {
            Ok(done) if done != matcher::Matched::default() => tracing::info!(
                doctor = %c.doctor_id,
                offers_made = done.offers_made,
                offers_expired = done.offers_expired,
                entries_expired = done.entries_expired,
                "waitlist matched"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(doctor = %c.doctor_id, error = ?e, "waitlist match failed; it is retried later");
                metrics::counter!(crate::domain::waitlist::MATCH_FAILURES).increment(1);
                matcher::retry_later(store, owner, c.doctor_id).await?;
            }
        }
    }
    Ok(claimed.len())
}

/// Until the next mark falls due, at most [`POLL`].
async fn next_wait(store: &Store) -> Duration {
    let now = store.clock.now();
    match matcher::next_due(store).await {
        Ok(Some(due)) => (due - now).to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(10), POLL),
        _ => POLL,
    }
}
