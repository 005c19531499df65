//! argon2id hashing on the blocking pool, with a bound on how many hashes run at once.
use std::sync::Arc;

use argon2::{
    Argon2, PasswordHash, PasswordVerifier,
    password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// Hashes and verifies passwords without blocking the async workers.
///
/// argon2id with the argon2 crate's defaults (m = 19 MiB, t = 2, p = 1: OWASP's recommendation).
/// At most one hash per core runs at once; further requests wait for a permit, so a login storm
/// queues instead of starving the runtime or the memory budget.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Builds the hasher, computing the dummy hash used for unknown emails.
    ///
    /// # Errors
    /// Only if hashing itself fails.
    pub async fn new() -> AppResult<Self> {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let permits = Arc::new(Semaphore::new(cores));
        let dummy = run_blocking(&permits, || hash_now("cybermed-dummy-password-for-timing")).await??;
        Ok(Self { permits, dummy_hash: dummy.into() })
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        run_blocking(&self.permits, move || hash_now(&password)).await?
    }

    /// True when `password` matches `hash`. A malformed stored hash is an internal error.
    pub async fn verify(&self, password: String, hash: String) -> AppResult<bool> {
        run_blocking(&self.permits, move || verify_now(&password, &hash)).await?
    }

    /// Spends the same time as a real verification and always answers false: used for unknown
    /// emails so that timing does not reveal which emails exist.
    pub async fn verify_dummy(&self, password: String) -> AppResult<bool> {
        let hash = self.dummy_hash.to_string();
        run_blocking(&self.permits, move || verify_now(&password, &hash).map(|_| false)).await?
    }
}

async fn run_blocking<T: Send + 'static>(permits: &Semaphore, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = permits.acquire().await.map_err(|_| AppError::internal("password hasher closed"))?;
    tokio::task::spawn_blocking(f).await.map_err(|_| AppError::internal("password hashing task failed"))
}

/// Mean time of one argon2id verification on this thread (the benchmark's yardstick for login).
///
/// # Errors
/// Only if hashing fails.
pub fn verify_time(iterations: u32) -> AppResult<std::time::Duration> {
    let hash = hash_now("benchmark-password-1")?;
    let start = std::time::Instant::now();
    for _ in 0..iterations.max(1) {
        verify_now("benchmark-password-1", &hash)?;
    }
    Ok(start.elapsed() / iterations.max(1))
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AppError::internal("password hashing failed"))
}

fn verify_now(password: &str, hash: &str) -> AppResult<bool> {
    let parsed = PasswordHash::new(hash).map_err(|_| AppError::internal("stored password hash is malformed"))?;
    Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}
