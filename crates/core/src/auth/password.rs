//! argon2id hashing on dedicated threads, with working memory only while hashing.
//!
//! argon2id with m = 7 MiB, t = 5, p = 1: one of OWASP's equivalent recommended configurations
//! (alongside 19 MiB × 2 passes), chosen for the smaller footprint of the per-core working memory.
//! One worker thread per core does all the hashing, so at most one hash per core runs at once and a
//! login storm queues instead of starving the runtime. The workers run at the same priority as
//! everything else. They used to run at the lowest (nice 19), which kept a few milliseconds of
//! `me`'s p99 during a login storm but gave logins only the CPU nothing else wanted: beside any
//! other busy process, or the request load itself, logins got about one core of two (46 logins/s
//! instead of 79 beside a `me` load; BENCHMARKS.md, "The floor": what limited logins).
//! (`SCHED_IDLE` starved them outright.)
//!
//! Memory: each hash needs its 7 MiB of blocks, so a server hashing on every core holds 7 MiB per
//! core, as much as all its other heap together. The blocks of a finished hash go back to a pool
//! shared by the workers and serve the next hash; once no hash has been asked for during
//! [`RELEASE_AFTER`], the pool is emptied and the memory returned to the system. Back-to-back
//! logins therefore never pay for fresh memory, and a server that is not signing anyone in does not
//! carry 14 MiB for it. (Allocating per hash made glibc keep a copy per blocking thread: hundreds
//! of MB under load.)
use std::{
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, SaltString, rand_core::OsRng},
};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{AppError, AppResult};

/// A hash to compute with the memory given; what it returns delivers the answer, which the worker
/// calls once the memory is back in the pool (so the caller that gets an answer finds it there).
type Job = Box<dyn FnOnce(&mut Vec<Block>) -> Reply + Send>;
type Reply = Box<dyn FnOnce() + Send>;

/// How long the hashing memory is kept after the last hash: long enough that a burst of logins
/// reuses it, short enough that it is gone soon after.
pub const RELEASE_AFTER: Duration = Duration::from_millis(500);

/// Room, in 1 KiB blocks, reserved for each hashing buffer: just over 32 MiB of address space, of
/// which only the blocks a hash uses (7 MiB for ours) are ever touched and resident. glibc serves
/// an allocation of 32 MiB or more (its largest mmap threshold) with a mapping of its own and unmaps
/// it when freed; a 7 MiB one, once a freed mapping of that size has raised glibc's threshold, would
/// come from a thread's arena and stay resident after being freed. The room also lets a stored hash
/// made with larger parameters (up to 32 MiB, e.g. the crate's default 19 MiB) verify in place.
const BUFFER_ROOM: usize = 32 * 1024 + 1;

/// Hashes and verifies passwords without blocking the async workers.
#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    spare: Arc<Mutex<Vec<Vec<Block>>>>,
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
        Self::start(RELEASE_AFTER).await
    }

    async fn start(release_after: Duration) -> AppResult<Self> {
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let spare = Arc::new(Mutex::new(Vec::with_capacity(workers)));
        for i in 0..workers {
            let (rx, spare) = (rx.clone(), spare.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx, &spare, release_after))
                .map_err(|_| AppError::internal("cannot start a hashing thread"))?;
        }
        let mut this = Self { jobs: tx, permits: Arc::new(Semaphore::new(workers)), spare, dummy_hash: Arc::from("") };
        let dummy = this.hash("cybermed-dummy-password-for-timing".to_owned()).await?;
        this.dummy_hash = dummy.into();
        Ok(this)
    }

    /// How many hashing buffers are kept for the next hash (none once [`RELEASE_AFTER`] has passed
    /// without hashing).
    pub fn buffers_kept(&self) -> usize {
        self.spare.lock().map_or(0, |spare| spare.len())
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static) -> AppResult<T> {
        // One job per worker at a time: the rest wait here, asynchronously.
        let _permit = self.permits.acquire().await.map_err(|_| AppError::internal("password hasher closed"))?;
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory| {
                let answer = f(memory);
                Box::new(move || {
                    let _ = tx.send(answer);
                })
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

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>, spare: &Mutex<Vec<Vec<Block>>>, release_after: Duration) {
    loop {
        // One worker at a time waits on the queue (the others wait for the lock), so "no job for
        // `release_after`" is seen by whichever waits, whatever buffer each worker last used.
        let job = {
            let Ok(rx) = jobs.lock() else { return };
            loop {
                match rx.recv_timeout(release_after) {
                    Ok(job) => break job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Ok(mut spare) = spare.lock() {
                            spare.clear();
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        };
        let mut memory =
            spare.lock().ok().and_then(|mut spare| spare.pop()).unwrap_or_else(|| Vec::with_capacity(BUFFER_ROOM));
        let reply = job(&mut memory);
        if let Ok(mut spare) = spare.lock() {
            spare.push(memory);
        }
        reply();
    }
}

/// The first `count` blocks of `memory`, grown (zeroed) to that length when it is shorter.
fn blocks(memory: &mut Vec<Block>, count: usize) -> &mut [Block] {
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

fn hash_with(password: &str, memory: &mut Vec<Block>) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| AppError::internal("salt encoding"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2()
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, blocks(memory, params().block_count()))
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

fn verify_with(password: &str, stored: &str, memory: &mut Vec<Block>) -> AppResult<bool> {
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
    // Past the room of a pooled buffer, the blocks are this verification's own, not kept after it.
    let mut own = Vec::new();
    let memory = if params.block_count() <= BUFFER_ROOM { memory } else { &mut own };
    hasher
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, blocks(memory, params.block_count()))
        .map_err(|_| AppError::internal("password verification failed"))?;
    let computed = Output::new(&out).map_err(|_| AppError::internal("hash output"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// Mean time of one argon2id verification on this thread (the benchmark's yardstick for login).
///
/// # Errors
/// Only if hashing fails.
pub fn verify_time(iterations: u32) -> AppResult<Duration> {
    let mut memory = Vec::new();
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
        let mut memory = Vec::new();
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

    #[tokio::test]
    async fn a_finished_hash_leaves_its_memory_to_the_next_one() {
        let passwords = Passwords::start(Duration::from_secs(600)).await.ok();
        let Some(passwords) = passwords else { panic!("the hasher starts") };
        assert_eq!(passwords.buffers_kept(), 1, "the dummy hash's buffer waits for the next hash");
        let hash = passwords.hash("correct horse".to_owned()).await.unwrap_or_default();
        assert!(passwords.verify("correct horse".to_owned(), hash).await.unwrap_or(false));
        assert_eq!(passwords.buffers_kept(), 1, "hashes one after another share one buffer");
    }

    #[tokio::test]
    async fn the_memory_goes_back_once_nothing_is_hashed_for_a_while() {
        let passwords = Passwords::start(Duration::from_millis(50)).await.ok();
        let Some(passwords) = passwords else { panic!("the hasher starts") };
        let hashes = futures_util::future::join_all((0..4).map(|i| passwords.hash(format!("password {i}")))).await;
        assert!(hashes.iter().all(Result::is_ok));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while passwords.buffers_kept() > 0 {
            assert!(std::time::Instant::now() < deadline, "the buffers are still kept after 10 s without hashing");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // And hashing works again afterwards, with fresh memory.
        let hash = passwords.hash("again".to_owned()).await.unwrap_or_default();
        assert!(passwords.verify("again".to_owned(), hash).await.unwrap_or(false));
    }
}
