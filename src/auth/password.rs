//! argon2id hashing on dedicated low-priority threads, each reusing one memory block.
//!
//! argon2id with m = 7 MiB, t = 5, p = 1: one of OWASP's equivalent recommended configurations
//! (alongside 19 MiB × 2 passes), chosen for the smaller footprint of the per-core working memory.
//! One worker thread per core does all the hashing, so at most one hash per core runs at once and a
//! login storm queues instead of starving the runtime. Each worker keeps its 19 MiB working memory
//! for its whole life: allocating it per hash made the allocator keep a copy per blocking thread
//! (hundreds of MB under load). The workers run at the lowest CPU priority (nice 19), so requests
//! that need no hashing keep most of their latency during a storm of logins while an idle server
//! still hashes at full speed. (`SCHED_IDLE` protected latency better but starved logins whenever
//! anything else was busy.)
use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, SaltString, rand_core::OsRng},
};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{AppError, AppResult};

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Hashes and verifies passwords without blocking the async workers.
#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

/// The parameters new hashes are made with. Hashes made with others (older or stronger) still verify.
fn params() -> Params {
    Params::new(7 * 1024, 5, 1, Some(Params::DEFAULT_OUTPUT_LEN)).unwrap_or_default()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

impl Passwords {
    /// Starts the workers and computes the dummy hash used for unknown emails.
    ///
    /// # Errors
    /// Only if hashing itself fails.
    pub async fn new() -> AppResult<Self> {
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx))
                .map_err(|_| AppError::internal("cannot start a hashing thread"))?;
        }
        let mut this = Self { jobs: tx, permits: Arc::new(Semaphore::new(workers)), dummy_hash: Arc::from("") };
        let dummy = this.hash("cybermed-dummy-password-for-timing".to_owned()).await?;
        this.dummy_hash = dummy.into();
        Ok(this)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> AppResult<T> {
        // One job per worker at a time: the rest wait here, asynchronously.
        let _permit = self.permits.acquire().await.map_err(|_| AppError::internal("password hasher closed"))?;
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory| {
                let _ = tx.send(f(memory));
            }))
            .map_err(|_| AppError::internal("password hasher stopped"))?;
        rx.await.map_err(|_| AppError::internal("password hashing failed"))
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move |memory| hash_with(&password, memory)).await?
    }

    /// True when `password` matches `hash`. A malformed stored hash is an internal error.
    pub async fn verify(&self, password: String, hash: String) -> AppResult<bool> {
        self.run(move |memory| verify_with(&password, &hash, memory)).await?
    }

    /// Spends the same time as a real verification and always answers false: used for unknown
    /// emails so that timing does not reveal which emails exist.
    pub async fn verify_dummy(&self, password: String) -> AppResult<bool> {
        let hash = self.dummy_hash.to_string();
        self.run(move |memory| verify_with(&password, &hash, memory).map(|_| false)).await?
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>) {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    // Best effort: where the policy cannot be set, hashing simply competes as an equal.
    let _ = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
    );
    let mut memory = vec![Block::default(); params().block_count()];
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

fn hash_with(password: &str, memory: &mut [Block]) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| AppError::internal("salt encoding"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2()
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, memory)
        .map_err(|_| AppError::internal("password hashing failed"))?;
    let output = Output::new(&out).map_err(|_| AppError::internal("hash output"))?;
    let params = params();
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

fn verify_with(password: &str, stored: &str, memory: &mut [Block]) -> AppResult<bool> {
    let parsed = PasswordHash::new(stored).map_err(|_| AppError::internal("stored password hash is malformed"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(AppError::internal("stored password hash is incomplete"));
    };
    let params = Params::try_from(&parsed).map_err(|_| AppError::internal("stored password hash parameters"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| AppError::internal("stored hash algorithm"))?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .map_err(|_| AppError::internal("stored hash version"))?;
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| AppError::internal("stored salt"))?;
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, params.clone());
    if params.block_count() <= memory.len() {
        hasher.hash_password_into_with_memory(
            password.as_bytes(),
            raw_salt,
            &mut out,
            &mut memory[..params.block_count()],
        )
    } else {
        // A hash made with larger parameters than today's: allocate for it.
        hasher.hash_password_into(password.as_bytes(), raw_salt, &mut out)
    }
    .map_err(|_| AppError::internal("password verification failed"))?;
    let computed = Output::new(&out).map_err(|_| AppError::internal("hash output"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// Mean time of one argon2id verification on this thread (the benchmark's yardstick for login).
///
/// # Errors
/// Only if hashing fails.
pub fn verify_time(iterations: u32) -> AppResult<std::time::Duration> {
    let mut memory = vec![Block::default(); params().block_count()];
    let hash = hash_with("benchmark-password-1", &mut memory)?;
    let start = std::time::Instant::now();
    for _ in 0..iterations.max(1) {
        verify_with("benchmark-password-1", &hash, &mut memory)?;
    }
    Ok(start.elapsed() / iterations.max(1))
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[test]
    fn hashes_are_standard_phc_strings_that_verify_both_ways() {
        let mut memory = vec![Block::default(); params().block_count()];
        let ours = hash_with("correct horse", &mut memory).unwrap_or_default();
        assert!(ours.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).ok();
        assert!(
            parsed.is_some_and(|p| argon2().verify_password(b"correct horse", &p).is_ok()),
            "the crate accepts ours"
        );
        assert!(verify_with("correct horse", &ours, &mut memory).unwrap_or(false));
        assert!(!verify_with("wrong horse", &ours, &mut memory).unwrap_or(true));
        let theirs = {
            use argon2::PasswordHasher;
            // The crate's defaults: 19 MiB, 2 passes (what earlier versions stored).
            Argon2::default()
                .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        assert!(verify_with("battery staple", &theirs, &mut memory).unwrap_or(false), "we accept the crate's");
    }
}
