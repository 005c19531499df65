//! Write jobs, committed in groups on SQLite.
//!
//! SQLite has one writer at a time, and a commit costs more than a short transaction's statements
//! (the WAL frames of every page touched, the lock taken and given back, a round trip to the
//! connection's thread for `BEGIN` and for `COMMIT`). So on SQLite one task owns the write path
//! for [`WriteQueue::run`]: it takes every job waiting (up to [`MAX_GROUP`]) and runs them in one
//! `BEGIN IMMEDIATE … COMMIT`. A group first runs straight, its jobs one after the other with no
//! savepoint (a savepoint costs a round trip per job and a copy of every page the job changes);
//! when every job succeeds it commits. When one fails or panics, nothing of that run is kept and
//! the group runs again, each job inside a `SAVEPOINT` of its own: a job that fails (a rule, a
//! constraint such as the overlap triggers) is rolled back to its savepoint and the others go on.
//! After a group whose savepoints caught a failure, the next group starts with savepoints; after
//! one without, straight again (so a stream of clashing bookings is not run twice per group).
//! Every job is answered only after the group's commit, with its own result. If the group itself
//! fails (a savepoint that cannot be taken or released, or the commit), nothing of it is kept and
//! every job is run again alone, in a transaction of its own, and answered from that run: a job is
//! never told it succeeded by a commit that did not happen, and never told of a conflict found
//! against writes that were not committed. A single waiting job runs alone from the start (no
//! savepoint).
//!
//! In a straight run, a job submitted with [`WriteQueue::run_carrying`] hands its last writes to
//! the group, which sends them to SQLite with the next job's first statement: see
//! [`crate::db::batch`].
//!
//! On PostgreSQL, which takes concurrent writers, a job runs in the caller's task in a transaction
//! of its own, as before: there is nothing to gain from queueing behind one connection.
//!
//! A job runs in its caller's context: its log span, its request id (for the audit log) and its
//! place in the statement counter. A job whose caller went away before it started is not run; one
//! that started is finished and committed (its caller only misses the answer).
use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use futures_util::FutureExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::REQUEST_ID;
use super::{BACKGROUND, batch, begin_write};

/// The future of one run of a job, borrowing its transaction.
pub type JobFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most jobs committed together: bounds how long the group holds the one writer connection
/// (other writers, such as the outbox sender, wait for it).
pub const MAX_GROUP: usize = 64;

/// What a caller learns when its job could not be answered: the queue's task is gone, or the job
/// panicked.
const LOST: &str = "write job lost";

/// Runs write jobs: grouped on SQLite, one transaction each on PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct WriteQueue {
    inner: Inner,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    in_flight: AtomicUsize,
    groups: AtomicU64,
    grouped_jobs: AtomicU64,
}

/// What the queue has done so far (for operators, tests and the benchmark).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Jobs submitted and not answered yet.
    pub in_flight: usize,
    /// Groups of two jobs or more committed together.
    pub groups: u64,
    /// Jobs answered from those groups.
    pub grouped_jobs: u64,
}

/// Counts a job in flight for as long as its caller waits (also when the caller goes away).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
enum Inner {
    Direct(DatabaseConnection),
    Grouped(mpsc::UnboundedSender<Box<dyn Job>>),
}

impl WriteQueue {
    /// Starts the queue for `writer` (on SQLite the one-connection writer pool, whose task it
    /// spawns: call it inside the runtime).
    pub fn start(writer: &DatabaseConnection) -> Self {
        let counts = Arc::new(Counts::default());
        if writer.get_database_backend() != DbBackend::Sqlite {
            return Self { inner: Inner::Direct(writer.clone()), counts };
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(serve(writer.clone(), rx, counts.clone()));
        Self { inner: Inner::Grouped(tx), counts }
    }

    /// What the queue has done so far.
    pub fn stats(&self) -> WriteStats {
        WriteStats {
            in_flight: self.counts.in_flight.load(Ordering::Relaxed),
            groups: self.counts.groups.load(Ordering::Relaxed),
            grouped_jobs: self.counts.grouped_jobs.load(Ordering::Relaxed),
        }
    }

    /// Runs `job` in a write transaction and returns its result once that is committed (or its
    /// error, its writes rolled back). `job` may be run more than once (each run's writes are
    /// rolled back but the last one's): it must do the same thing each time, from what it reads
    /// in the transaction it is given.
    ///
    /// # Errors
    /// The job's own error; a database error beginning or committing (`E::from`); an internal
    /// error when the job panicked.
    pub async fn run<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        self.submit(job, false).await
    }

    /// [`Self::run`] for a job that begins with [`batch::query_one_after_carried`] (or
    /// [`batch::flush_carried`]) and ends with [`batch::execute_last`]: in a group's straight run,
    /// its last writes are sent with the next job's first statement (a round trip less per job).
    ///
    /// # Errors
    /// As [`Self::run`].
    pub async fn run_carrying<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        self.submit(job, true).await
    }

    async fn submit<T, E, F>(&self, job: F, carries: bool) -> Result<T, E>
    where
        F: for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<DbErr> + Send + 'static,
    {
        match &self.inner {
            Inner::Direct(writer) => {
                let _in_flight = InFlight::new(&self.counts.in_flight);
                let mut job = job;
                let txn = begin_write(writer).await?;
                match job(&txn).await {
                    Ok(v) => {
                        txn.commit().await?;
                        Ok(v)
                    }
                    Err(e) => {
                        txn.rollback().await?;
                        Err(e)
                    }
                }
            }
            Inner::Grouped(queue) => {
                let (tx, rx) = oneshot::channel();
                let job = Box::new(Typed {
                    job,
                    outcome: None,
                    answer: tx,
                    span: tracing::Span::current(),
                    request_id: REQUEST_ID.try_with(Clone::clone).ok(),
                    background: BACKGROUND.try_with(|()| ()).is_ok(),
                    carries,
                });
                queue.send(job).map_err(|_| DbErr::Custom(LOST.to_owned()))?;
                // Counted once queued: a job counted in flight is one the writer can take.
                let _in_flight = InFlight::new(&self.counts.in_flight);
                rx.await.map_err(|_| DbErr::Custom(LOST.to_owned()))?
            }
        }
    }
}

/// A job with its types erased, for the queue.
trait Job: Send {
    /// Runs once inside `txn`; true when it succeeded (its writes are to be kept).
    fn run<'a>(&'a mut self, txn: &'a DatabaseTransaction) -> JobFuture<'a, bool>;
    /// Answers the caller with the last run's result, or with `failed` (its transaction failed).
    fn answer(self: Box<Self>, failed: Option<DbErr>);
    /// Whether the caller still waits for the answer.
    fn wanted(&self) -> bool;
    /// Whether it was submitted with [`WriteQueue::run_carrying`].
    fn carries(&self) -> bool;
}

struct Typed<F, T, E> {
    job: F,
    outcome: Option<Result<T, E>>,
    answer: oneshot::Sender<Result<T, E>>,
    span: tracing::Span,
    request_id: Option<String>,
    background: bool,
    carries: bool,
}

impl<F, T, E> Job for Typed<F, T, E>
where
    F: for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<DbErr> + Send + 'static,
{
    fn run<'a>(&'a mut self, txn: &'a DatabaseTransaction) -> JobFuture<'a, bool> {
        let fut = (self.job)(txn).instrument(self.span.clone());
        let fut: JobFuture<'a, Result<T, E>> = match self.request_id.clone() {
            Some(id) => Box::pin(REQUEST_ID.scope(id, fut)),
            None => Box::pin(fut),
        };
        let fut = if self.background { Box::pin(BACKGROUND.scope((), fut)) } else { fut };
        let outcome = &mut self.outcome;
        Box::pin(async move {
            let result = fut.await;
            let ok = result.is_ok();
            *outcome = Some(result);
            ok
        })
    }

    fn answer(self: Box<Self>, failed: Option<DbErr>) {
        let result = match failed {
            Some(e) => Some(Err(E::from(e))),
            None => self.outcome,
        };
        if let Some(result) = result {
            // The caller may have gone: nobody to tell.
            let _ = self.answer.send(result);
        }
    }

    fn wanted(&self) -> bool {
        !self.answer.is_closed()
    }

    fn carries(&self) -> bool {
        self.carries
    }
}

/// The SQLite writer's loop: a group per wake-up, until every [`WriteQueue`] is dropped.
async fn serve(writer: DatabaseConnection, mut queue: mpsc::UnboundedReceiver<Box<dyn Job>>, counts: Arc<Counts>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    // Whether the next group runs straight first: not right after a group where a job failed.
    let mut straight_first = true;
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        group.retain(|job| job.wanted());
        if group.len() == 1 {
            if let Some(job) = group.pop() {
                alone(&writer, job).await;
            }
        } else if !group.is_empty() {
            let jobs = std::mem::take(&mut group);
            let left = if straight_first { straight(&writer, jobs, &counts).await } else { Some(jobs) };
            if let Some(jobs) = left {
                straight_first = together(&writer, jobs, &counts).await;
            }
        }
        group.clear();
    }
}

/// Runs a job to completion, catching a panic (false: the job is lost, it is not answered).
async fn run_caught(job: &mut Box<dyn Job>, txn: &DatabaseTransaction) -> Option<bool> {
    AssertUnwindSafe(job.run(txn)).catch_unwind().await.ok()
}

/// One job in a transaction of its own.
async fn alone(writer: &DatabaseConnection, mut job: Box<dyn Job>) {
    let txn = match begin_write(writer).await {
        Ok(txn) => txn,
        Err(e) => return job.answer(Some(e)),
    };
    match run_caught(&mut job, &txn).await {
        Some(true) => match txn.commit().await {
            Ok(()) => job.answer(None),
            Err(e) => job.answer(Some(e)),
        },
        Some(false) => {
            // Its writes go; its answer is its own error.
            let _ = txn.rollback().await;
            job.answer(None);
        }
        None => {
            let _ = txn.rollback().await;
            tracing::error!("a write job panicked");
        }
    }
}

/// Jobs in one transaction without savepoints, committed when every one succeeded (and on a
/// failed commit each again alone, as [`together`] does). `Some`: a job failed or panicked, or a
/// write one handed over failed (or the transaction could not begin), nothing of this run is kept,
/// and the jobs are handed back, unanswered, to run with savepoints.
async fn straight(
    writer: &DatabaseConnection,
    mut jobs: Vec<Box<dyn Job>>,
    counts: &Counts,
) -> Option<Vec<Box<dyn Job>>> {
    let Ok(txn) = begin_write(writer).await else { return Some(jobs) };
    let ran = batch::carrying(async {
        for job in &mut jobs {
            // What the job before handed over runs first, unless this job takes it along.
            if !job.carries() && batch::flush_carried(&txn).await.is_err() {
                return false;
            }
            batch::let_carry(job.carries());
            if run_caught(job, &txn).await != Some(true) {
                return false;
            }
        }
        batch::flush_carried(&txn).await.is_ok()
    })
    .await;
    if !ran {
        let _ = txn.rollback().await;
        return Some(jobs);
    }
    match txn.commit().await {
        Ok(()) => committed(jobs, counts),
        Err(e) => {
            uncommitted(&e);
            each_alone(writer, jobs).await;
        }
    }
    None
}

/// Answers the jobs of a group that committed, each with its own result.
fn committed(jobs: Vec<Box<dyn Job>>, counts: &Counts) {
    counts.groups.fetch_add(1, Ordering::Relaxed);
    counts.grouped_jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    for job in jobs {
        job.answer(None);
    }
}

/// Logs a group's failed commit (its jobs are then run again alone).
fn uncommitted(e: &DbErr) {
    let reason = crate::error::describe_db_err(e);
    tracing::warn!(%reason, "a group of writes failed to commit; running each alone");
}

/// Runs each job again alone, in order, and answers it from that run.
async fn each_alone(writer: &DatabaseConnection, jobs: Vec<Box<dyn Job>>) {
    for job in jobs {
        alone(writer, job).await;
    }
}

/// Jobs in one transaction, a savepoint each; on a failure of the group, each again alone. True
/// when every job succeeded and the group committed.
async fn together(writer: &DatabaseConnection, jobs: Vec<Box<dyn Job>>, counts: &Counts) -> bool {
    let txn = match begin_write(writer).await {
        Ok(txn) => txn,
        Err(e) => {
            for job in jobs {
                job.answer(Some(e.clone()));
            }
            return false;
        }
    };
    // One round trip between two jobs (the end of one savepoint and the start of the next); the
    // last job's savepoint ends with the commit.
    let mut kept = Vec::with_capacity(jobs.len());
    let mut broken = txn.execute_unprepared("SAVEPOINT job").await.is_err();
    let mut all_succeeded = true;
    let last = jobs.len().saturating_sub(1);
    let mut rest = jobs.into_iter().enumerate();
    while !broken {
        let Some((i, mut job)) = rest.next() else { break };
        let ran = run_caught(&mut job, &txn).await;
        all_succeeded &= ran == Some(true);
        let next = match (ran == Some(true), i == last) {
            (true, false) => Some("RELEASE job; SAVEPOINT job"),
            (false, false) => Some("ROLLBACK TO job; RELEASE job; SAVEPOINT job"),
            (true, true) => None,
            (false, true) => Some("ROLLBACK TO job"),
        };
        if let Some(sql) = next {
            broken = txn.execute_unprepared(sql).await.is_err();
        }
        match ran {
            Some(_) => kept.push(job),
            None => tracing::error!("a write job panicked"),
        }
    }
    let rest = rest.map(|(_, job)| job);
    kept.extend(rest);
    if !broken {
        match txn.commit().await {
            Ok(()) => {
                committed(kept, counts);
                return all_succeeded;
            }
            Err(e) => uncommitted(&e),
        }
    } else {
        tracing::warn!("a group of writes failed; running each alone");
        let _ = txn.rollback().await;
    }
    each_alone(writer, kept).await;
    false
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use std::{collections::BTreeSet, sync::atomic::AtomicU32, time::Duration};

    use futures_util::future::join_all;
    use sea_orm::{ConnectionTrait, DbErr, Statement};

    use super::*;

    /// A fresh SQLite file with tables `p` and `t`, its pools, and a queue on its writer.
    async fn pools_and_queue() -> (tempfile::TempDir, crate::db::Pools, WriteQueue) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pools = crate::db::connect(&url, None).await.unwrap();
        pools
            .writer
            .execute_unprepared("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE t (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p (id))")
            .await
            .unwrap();
        let q = WriteQueue::start(&pools.writer);
        (dir, pools, q)
    }

    async fn queue() -> (tempfile::TempDir, DatabaseConnection, WriteQueue) {
        let (dir, pools, q) = pools_and_queue().await;
        (dir, pools.writer, q)
    }

    /// What a test job does: insert row `id` into `t`, then fail, panic, or succeed.
    #[derive(Clone, Copy)]
    enum Then {
        Succeed,
        Fail,
        Panic,
        /// Insert with a parent that does not exist, checked only at the commit.
        FailAtCommit,
    }

    fn job(
        id: i64,
        then: Then,
        runs: &Arc<AtomicU32>,
    ) -> impl for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<i64, DbErr>> + Send + 'static {
        let runs = runs.clone();
        move |txn| {
            runs.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                let parent: Option<i64> = match then {
                    Then::FailAtCommit => {
                        txn.execute_unprepared("PRAGMA defer_foreign_keys = ON").await?;
                        Some(999)
                    }
                    _ => None,
                };
                let insert = "INSERT INTO t (id, p) VALUES ($1, $2)";
                txn.execute_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    insert,
                    [id.into(), parent.into()],
                ))
                .await?;
                match then {
                    Then::Fail => Err(DbErr::Custom(format!("job {id} refused"))),
                    Then::Panic => panic!("job {id} panics"),
                    Then::Succeed | Then::FailAtCommit => Ok(id),
                }
            })
        }
    }

    /// Runs `runs` as one group: a first job holds the writer until all of them wait for it.
    async fn in_one_group<F: Future>(q: &WriteQueue, runs: Vec<F>) -> Vec<F::Output> {
        let n = runs.len();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let mut signals = Some((started_tx, go_rx));
        let blocker = q.run(move |_txn| {
            let signals = signals.take();
            Box::pin(async move {
                if let Some((started, go)) = signals {
                    let _ = started.send(());
                    let _ = go.await;
                }
                Ok::<(), DbErr>(())
            })
        });
        let rest = async move {
            started_rx.await.unwrap();
            let release = async move {
                while q.stats().in_flight < n + 1 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                go_tx.send(()).unwrap();
            };
            tokio::join!(join_all(runs), release).0
        };
        let (blocked, out) = tokio::join!(blocker, rest);
        blocked.unwrap();
        out
    }

    async fn stored(writer: &DatabaseConnection) -> BTreeSet<i64> {
        let rows = writer
            .query_all_raw(Statement::from_string(writer.get_database_backend(), "SELECT id FROM t"))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get_by_index::<i64>(0).unwrap()).collect()
    }

    #[tokio::test]
    async fn jobs_committed_together_get_their_own_results_and_a_failed_one_leaves_nothing() {
        let (_dir, writer, q) = queue().await;
        let runs = Arc::new(AtomicU32::new(0));
        let out = in_one_group(
            &q,
            vec![
                q.run(job(1, Then::Succeed, &runs)),
                q.run(job(2, Then::Fail, &runs)),
                q.run(job(3, Then::Succeed, &runs)),
            ],
        )
        .await;
        assert!(matches!(out[0], Ok(1)), "{out:?}");
        assert!(matches!(&out[1], Err(DbErr::Custom(m)) if m == "job 2 refused"), "{out:?}");
        assert!(matches!(out[2], Ok(3)), "{out:?}");
        assert_eq!(stored(&writer).await, BTreeSet::from([1, 3]));
        assert_eq!(runs.load(Ordering::Relaxed), 5, "straight up to job 2, then each in its savepoint");
        assert_eq!(q.stats(), WriteStats { in_flight: 0, groups: 1, grouped_jobs: 3 });
    }

    #[tokio::test]
    async fn when_the_group_cannot_commit_each_job_runs_again_alone_and_gets_that_answer() {
        let (_dir, writer, q) = queue().await;
        let (a, b, c) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let out = in_one_group(
            &q,
            vec![
                q.run(job(10, Then::Succeed, &a)),
                q.run(job(11, Then::FailAtCommit, &b)),
                q.run(job(12, Then::Fail, &c)),
            ],
        )
        .await;
        assert!(matches!(out[0], Ok(10)), "{out:?}");
        let fk = crate::error::db_error_code(out[1].as_ref().unwrap_err());
        assert_eq!(fk.as_deref(), Some("787"), "its own commit fails on the foreign key: {out:?}");
        assert!(matches!(&out[2], Err(DbErr::Custom(m)) if m == "job 12 refused"), "{out:?}");
        assert_eq!(stored(&writer).await, BTreeSet::from([10]));
        let runs = [a.load(Ordering::Relaxed), b.load(Ordering::Relaxed), c.load(Ordering::Relaxed)];
        assert_eq!(runs, [3, 3, 3], "straight, with savepoints, then alone");
        assert_eq!(q.stats(), WriteStats { in_flight: 0, groups: 0, grouped_jobs: 0 });
    }

    #[tokio::test]
    async fn a_job_that_panics_is_answered_with_an_error_and_the_others_commit() {
        let (_dir, writer, q) = queue().await;
        let runs = Arc::new(AtomicU32::new(0));
        let out = in_one_group(
            &q,
            vec![
                q.run(job(20, Then::Succeed, &runs)),
                q.run(job(21, Then::Panic, &runs)),
                q.run(job(22, Then::Succeed, &runs)),
            ],
        )
        .await;
        assert!(matches!(out[0], Ok(20)), "{out:?}");
        assert!(matches!(&out[1], Err(DbErr::Custom(m)) if m == LOST), "{out:?}");
        assert!(matches!(out[2], Ok(22)), "{out:?}");
        assert_eq!(stored(&writer).await, BTreeSet::from([20, 22]));
        assert_eq!(q.stats().groups, 1);
    }

    /// A job whose savepoint journals more than a MiB of pages (it rewrites rows written before
    /// the group began) still commits. SQLite keeps a savepoint's journal in memory
    /// (`SQLITE_STMTJRNL_SPILL=-1`, `.cargo/config.toml`); with a positive threshold it writes the
    /// journal to a temp file past it, one write per chunk of that size, and the unix VFS writes
    /// at most 0x1ffff bytes per call, so a threshold above that failed the job with SQLITE_FULL
    /// ("database or disk is full").
    #[tokio::test]
    async fn a_job_journaling_more_than_a_mib_in_its_savepoint_commits() {
        let (_dir, writer, q) = queue().await;
        writer
            .execute_unprepared(
                "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
                 INSERT INTO big SELECT i, printf('%.1000c', 'x') FROM n",
            )
            .await
            .unwrap();
        fn rewrite(txn: &DatabaseTransaction) -> JobFuture<'_, Result<u64, DbErr>> {
            Box::pin(async move {
                Ok(txn.execute_unprepared("UPDATE big SET v = printf('%.1000c', 'y')").await?.rows_affected())
            })
        }
        // A job that fails sends the group to its savepoints.
        fn refuse(_txn: &DatabaseTransaction) -> JobFuture<'_, Result<u64, DbErr>> {
            Box::pin(async { Err(DbErr::Custom("refused".to_owned())) })
        }
        type Rewrite = for<'a> fn(&'a DatabaseTransaction) -> JobFuture<'a, Result<u64, DbErr>>;
        let jobs: [Rewrite; 3] = [rewrite, refuse, rewrite];
        let out = in_one_group(&q, jobs.map(|j| q.run(j)).into()).await;
        assert!(matches!(out[..], [Ok(4000), Err(_), Ok(4000)]), "{out:?}");
        assert_eq!(q.stats().groups, 1, "together, each in its savepoint");
    }

    /// A job that notes whether it runs inside a savepoint (only there does it find one named
    /// `job`; rolling back to it undoes nothing, as the job has written nothing), then fails or
    /// succeeds.
    fn probe(
        seen: &Arc<std::sync::Mutex<Vec<bool>>>,
        fail: bool,
    ) -> impl for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<(), DbErr>> + Send + 'static {
        let seen = seen.clone();
        move |txn| {
            let seen = seen.clone();
            Box::pin(async move {
                let in_savepoint = txn.execute_unprepared("ROLLBACK TO job").await.is_ok();
                seen.lock().unwrap().push(in_savepoint);
                if fail { Err(DbErr::Custom("refused".to_owned())) } else { Ok(()) }
            })
        }
    }

    /// A job submitted with `run_carrying`: it reads how many rows of `t` are below `id` (its
    /// first statement, after what was carried to it), then writes row `id` with parent `parent`
    /// (its last, carried on); it answers with what it read.
    fn carrying(
        id: i64,
        parent: Option<i64>,
    ) -> impl for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<i64, DbErr>> + Send + 'static {
        move |txn| {
            Box::pin(async move {
                let below = "SELECT COUNT(*) FROM t WHERE id < $1 AND $1 > 0";
                let row = batch::query_one_after_carried(txn, below, vec![id.into()]).await?;
                let seen = row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(-1);
                let insert = Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    "INSERT INTO t (id, p) VALUES (?, ?)",
                    [id.into(), parent.into()],
                );
                batch::execute_last(txn, vec![insert]).await?;
                Ok(seen)
            })
        }
    }

    /// A job that notes how many rows `t` has.
    fn count_rows(
        seen: &Arc<std::sync::Mutex<Vec<i64>>>,
    ) -> impl for<'a> FnMut(&'a DatabaseTransaction) -> JobFuture<'a, Result<(), DbErr>> + Send + 'static {
        let seen = seen.clone();
        move |txn| {
            let seen = seen.clone();
            Box::pin(async move {
                let sql = Statement::from_string(txn.get_database_backend(), "SELECT COUNT(*) FROM t");
                let n = txn.query_one_raw(sql).await?.unwrap().try_get_by_index::<i64>(0)?;
                seen.lock().unwrap().push(n);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn carried_writes_run_before_the_next_jobs_first_statement_in_the_same_round_trip() {
        let (_dir, pools, q) = pools_and_queue().await;
        let calls = |run: u64| pools.statements.get() - run;

        // Each job sees the rows of the jobs before it; the last one's are written before the commit.
        let before = pools.statements.get();
        let out = in_one_group(&q, (1..=3).map(|id| q.run_carrying(carrying(id, None))).collect()).await;
        let carried = calls(before);
        assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(stored(&pools.writer).await, BTreeSet::from([1, 2, 3]));

        // The same jobs submitted with `run`: a round trip each for the writes (the last one's too).
        let before = pools.statements.get();
        let out = in_one_group(&q, (4..=6).map(|id| q.run(carrying(id, None))).collect()).await;
        assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(calls(before), carried + 2, "three writes' round trips against one carried to the commit");

        // A write that fails where it was carried (its parent does not exist) fails the straight
        // run; with savepoints, its own job is answered with it and the others commit.
        let out = in_one_group(
            &q,
            vec![
                q.run_carrying(carrying(7, None)),
                q.run_carrying(carrying(8, Some(999))),
                q.run_carrying(carrying(9, None)),
            ],
        )
        .await;
        assert!(matches!(out[0], Ok(6)), "{out:?}");
        let fk = crate::error::db_error_code(out[1].as_ref().unwrap_err());
        assert_eq!(fk.as_deref(), Some("787"), "job 8's own write fails: {out:?}");
        assert!(matches!(out[2], Ok(7)), "{out:?}");
        assert_eq!(stored(&pools.writer).await, BTreeSet::from([1, 2, 3, 4, 5, 6, 7, 9]));

        // A job that does not take them along finds the carried writes run before it starts.
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        type Run<'a> = Pin<Box<dyn Future<Output = Result<(), DbErr>> + Send + 'a>>;
        let first: Run<'_> = Box::pin(async { q.run_carrying(carrying(10, None)).await.map(|_| ()) });
        let then: Run<'_> = Box::pin(q.run(count_rows(&seen)));
        let out = in_one_group(&q, vec![first, then]).await;
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        assert_eq!(*seen.lock().unwrap(), [9]);
    }

    #[tokio::test]
    async fn a_group_runs_straight_until_a_job_fails_and_after_a_failure_starts_with_savepoints() {
        let (_dir, _writer, q) = queue().await;
        let seen = || Arc::new(std::sync::Mutex::new(Vec::new()));
        let taken = |s: &Arc<std::sync::Mutex<Vec<bool>>>| std::mem::take(&mut *s.lock().unwrap());

        // Every job succeeds: one run each, no savepoint.
        let (a, b) = (seen(), seen());
        let out = in_one_group(&q, vec![q.run(probe(&a, false)), q.run(probe(&b, false))]).await;
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        assert_eq!((taken(&a), taken(&b)), (vec![false], vec![false]));

        // The second fails: straight, then again with savepoints; the third ran only there.
        let (a, b, c) = (seen(), seen(), seen());
        let out =
            in_one_group(&q, vec![q.run(probe(&a, false)), q.run(probe(&b, true)), q.run(probe(&c, false))]).await;
        assert!(out[0].is_ok() && out[1].is_err() && out[2].is_ok(), "{out:?}");
        assert_eq!((taken(&a), taken(&b), taken(&c)), (vec![false, true], vec![false, true], vec![true]));

        // After a failure, the next group starts with savepoints; after a clean one, straight.
        let (a, b) = (seen(), seen());
        in_one_group(&q, vec![q.run(probe(&a, false)), q.run(probe(&b, false))]).await;
        assert_eq!((taken(&a), taken(&b)), (vec![true], vec![true]));
        in_one_group(&q, vec![q.run(probe(&a, false)), q.run(probe(&b, false))]).await;
        assert_eq!((taken(&a), taken(&b)), (vec![false], vec![false]));
        assert_eq!(q.stats().groups, 4);
    }
}
