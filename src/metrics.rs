//! Prometheus metrics: what an operator scrapes and alerts on.
//!
//! One recorder per process (the `metrics` facade is process-global): installed the first time
//! anything records, and rendered by `GET /metrics` on a listener of its own
//! (`METRICS_BIND_ADDR`), never on the API's. Hot paths record through handles made once
//! ([`Instruments`]): a request costs a read lock, a hash lookup of its operation name and a few
//! atomic additions, no allocation. Gauges that describe the database (the outbox backlog, the
//! pool) are read when `/metrics` is scraped, with one indexed query, never per request.
//!
//! Labels are bounded: `operation` is the operation's name when it is a GraphQL name of at most
//! [`MAX_NAME_LEN`] characters, among the first [`MAX_OPERATIONS`] distinct names seen; else
//! `other`; `anonymous` when it has no name; `invalid` when the request or its document did not
//! parse or validate (see [`Validity`]): only a valid document's name can claim a label, so junk
//! cannot use them up. A document or a variable never becomes a label.
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{OnceLock, RwLock},
    time::Duration,
};

use anyhow::Context;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use tokio::net::TcpListener;

use crate::{
    app::AppState,
    db::entities::outbox_email::{self, Column},
    outbox::EmailStatus,
};

/// Distinct operation names given a label of their own; later ones count as `other`.
pub const MAX_OPERATIONS: usize = 100;
/// Longest operation name given a label of its own.
pub const MAX_NAME_LEN: usize = 64;
/// Upper bounds of the request-duration histograms' buckets, in seconds (100 µs … 10 s): most
/// operations take well under a millisecond, so the first buckets are below one.
pub const DURATION_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

const REQUESTS: &str = "cybermed_graphql_requests_total";
const DURATION: &str = "cybermed_graphql_request_duration_seconds";
const HTTP_REQUESTS: &str = "cybermed_http_requests_total";
const HTTP_DURATION: &str = "cybermed_http_request_duration_seconds";

/// How a GraphQL operation ended, as its `outcome` label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran without an error.
    Ok,
    /// It ran, and some field failed (including authorization errors).
    Error,
    /// Nothing ran: the request or the document was refused (malformed, invalid, over a bound).
    Refused,
}

impl Outcome {
    /// The label value: `ok`, `error` or `refused` (the same words as the request log line).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Refused => "refused",
        }
    }
}

/// What is known of an operation's document, which decides whether its name may be a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Its document parsed and validated and names the operation that ran: its name may claim a
    /// label of its own.
    Valid,
    /// Refused before its document was validated (a bad token, a socket without a login, an
    /// input refused before execution): counted under its name when that name already has a
    /// label, else as `invalid`.
    Unchecked,
    /// The request was malformed, its document did not parse or validate, or `operationName`
    /// names no operation of it: counted as `invalid`, whatever name it gave.
    Invalid,
}

/// How a login attempt ended, as `cybermed_logins_total{outcome}` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok,
    /// Wrong email or password, or an inactive account.
    Failed,
    /// Refused by the throttle before the password was checked.
    Throttled,
}

/// The handles of one operation label.
struct OperationInstruments {
    ok: Counter,
    error: Counter,
    refused: Counter,
    duration: Histogram,
}

impl OperationInstruments {
    fn new(operation: &str) -> Self {
        let counter = |outcome: Outcome| metrics::counter!(REQUESTS, "operation" => operation.to_owned(), "outcome" => outcome.as_str());
        Self {
            ok: counter(Outcome::Ok),
            error: counter(Outcome::Error),
            refused: counter(Outcome::Refused),
            duration: metrics::histogram!(DURATION, "operation" => operation.to_owned()),
        }
    }

    fn record(&self, outcome: Outcome, duration: Option<Duration>) {
        match outcome {
            Outcome::Ok => self.ok.increment(1),
            Outcome::Error => self.error.increment(1),
            Outcome::Refused => self.refused.increment(1),
        }
        if let Some(d) = duration {
            self.duration.record(d);
        }
    }
}

/// Every handle the service records through, made once per process.
struct Instruments {
    handle: PrometheusHandle,
    operations: RwLock<HashMap<Box<str>, OperationInstruments>>,
    anonymous: OperationInstruments,
    other: OperationInstruments,
    invalid: OperationInstruments,
    logins: [Counter; 3],
    ws_connections: Gauge,
    outbox_pending: Gauge,
    outbox_oldest_pending: Gauge,
    outbox_failed: Counter,
    pool_idle: Gauge,
    pool_in_use: Gauge,
    process: metrics_process::Collector,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// The process's instruments, installing the recorder first if nothing did yet.
fn instruments() -> &'static Instruments {
    INSTRUMENTS.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        // Infallible for a non-empty list of buckets; without them the duration would be a summary,
        // which replicas cannot aggregate.
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &DURATION_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &DURATION_BUCKETS))
            .unwrap_or_else(|_| {
                tracing::warn!("histogram buckets refused; durations are reported as summaries");
                PrometheusBuilder::new()
            });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        // The standard `process_*` series (CPU, memory, descriptors, start time), read at scrape.
        let process = metrics_process::Collector::default();
        process.describe();
        metrics::gauge!("cybermed_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let login = |outcome: &'static str| metrics::counter!("cybermed_logins_total", "outcome" => outcome);
        let pool = |state: &'static str| metrics::gauge!("cybermed_db_pool_connections", "state" => state);
        Instruments {
            handle,
            operations: RwLock::new(HashMap::new()),
            anonymous: OperationInstruments::new("anonymous"),
            other: OperationInstruments::new("other"),
            invalid: OperationInstruments::new("invalid"),
            logins: [login("ok"), login("failed"), login("throttled")],
            ws_connections: metrics::gauge!("cybermed_ws_connections"),
            outbox_pending: metrics::gauge!("cybermed_outbox_pending"),
            outbox_oldest_pending: metrics::gauge!("cybermed_outbox_oldest_pending_seconds"),
            outbox_failed: metrics::counter!("cybermed_outbox_failed_total"),
            pool_idle: pool("idle"),
            pool_in_use: pool("in_use"),
            process,
        }
    })
}

fn describe() {
    metrics::describe_counter!(REQUESTS, "GraphQL operations (HTTP and WebSocket) by operation name and outcome");
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Time to answer a GraphQL query or mutation (HTTP and WebSocket; subscriptions are not timed)"
    );
    metrics::describe_counter!("cybermed_logins_total", "Login attempts by outcome (ok, failed, throttled)");
    metrics::describe_gauge!("cybermed_ws_connections", "Open GraphQL WebSocket connections");
    metrics::describe_gauge!("cybermed_outbox_pending", "Emails due and not sent yet, or waiting for a retry");
    metrics::describe_gauge!(
        "cybermed_outbox_oldest_pending_seconds",
        metrics::Unit::Seconds,
        "How long the most overdue unsent email has been due (0 when none)"
    );
    metrics::describe_counter!("cybermed_outbox_failed_total", "Emails given up on after their last attempt");
    metrics::describe_gauge!("cybermed_db_pool_connections", "Database pool connections by state (idle, in_use)");
    metrics::describe_gauge!("cybermed_build_info", "Always 1; the version is a label");
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "Requests to the routes that are not GraphQL (FHIR, calendar feeds, health, pages) by route pattern and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a request to a route that is not GraphQL, by route pattern"
    );
}

/// Installs the process's recorder (once; later calls do nothing). Recording installs it too;
/// calling this first makes `/metrics` list every metric before anything happened.
pub fn install() {
    let _ = instruments();
}

/// Whether `name` may be a label value: a GraphQL name of at most [`MAX_NAME_LEN`] characters.
fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_NAME_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Counts and times one request to a route that is not GraphQL: `route` is its pattern
/// (`/fhir/r4/Appointment/{id}`, `/calendar/{token}`; `unmatched` when none matched), never a path
/// that could hold a token or an id. Never fails.
pub fn http_request(route: &str, status: u16, duration: Duration) {
    let _ = instruments();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => status.to_string()).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned()).record(duration);
}

/// Counts one GraphQL operation (over HTTP or a WebSocket) and, when given, times it.
///
/// `operation` is the operation's name (`None`: `anonymous`); a name that is not a GraphQL name of
/// at most [`MAX_NAME_LEN`] characters, or that comes after [`MAX_OPERATIONS`] others, is counted
/// as `other`; as [`Validity`] says, an invalid request is `invalid`, and only a valid one's name
/// may become a new label. Never fails.
pub fn graphql_operation(operation: Option<&str>, validity: Validity, outcome: Outcome, duration: Option<Duration>) {
    let ins = instruments();
    if validity == Validity::Invalid {
        ins.invalid.record(outcome, duration);
        return;
    }
    let Some(name) = operation else {
        ins.anonymous.record(outcome, duration);
        return;
    };
    if let Ok(ops) = ins.operations.read()
        && let Some(op) = ops.get(name)
    {
        op.record(outcome, duration);
        return;
    }
    if validity == Validity::Unchecked {
        ins.invalid.record(outcome, duration);
        return;
    }
    if !is_label_name(name) {
        ins.other.record(outcome, duration);
        return;
    }
    let Ok(mut ops) = ins.operations.write() else {
        ins.other.record(outcome, duration);
        return;
    };
    if !ops.contains_key(name) && ops.len() >= MAX_OPERATIONS {
        drop(ops);
        ins.other.record(outcome, duration);
        return;
    }
    ops.entry(name.into()).or_insert_with(|| OperationInstruments::new(name)).record(outcome, duration);
}

/// Counts one login attempt by its outcome.
pub fn login(outcome: LoginOutcome) {
    let ins = instruments();
    let i = match outcome {
        LoginOutcome::Ok => 0,
        LoginOutcome::Failed => 1,
        LoginOutcome::Throttled => 2,
    };
    ins.logins[i].increment(1);
}

/// Counts one email given up on (`FAILED` after its last attempt).
pub fn outbox_failed() {
    instruments().outbox_failed.increment(1);
}

/// An open WebSocket connection: counted in `cybermed_ws_connections` from [`WsConnection::open`]
/// until it is dropped, however the connection ends (a close, an error, a panic unwinding).
pub struct WsConnection(());

impl WsConnection {
    /// Counts a connection as open until the returned guard is dropped.
    pub fn open() -> Self {
        instruments().ws_connections.increment(1.0);
        Self(())
    }
}

impl Drop for WsConnection {
    fn drop(&mut self) {
        instruments().ws_connections.decrement(1.0);
    }
}

/// Emails to send (due, or waiting for a retry), and the earliest due time among them.
type Backlog = (i64, Option<DateTime<Utc>>);

/// Reads the gauges that describe the database: the outbox backlog (one query over the
/// `(status, due_at)` index) and the pools' connections.
///
/// `cybermed_outbox_pending` counts the emails due now or waiting for a retry (a reminder whose
/// time has not come is not backlog); `cybermed_outbox_oldest_pending_seconds` is how long the most
/// overdue of them has been due (0 when none is): it grows while the sender is stopped or behind.
async fn refresh_gauges(state: &AppState) {
    let ins = instruments();
    let now = state.clock.now();
    let backlog: Result<Option<Backlog>, _> = crate::db::uncounted(
        outbox_email::Entity::find()
            .select_only()
            .column_as(Column::Id.count(), "pending")
            .column_as(Column::DueAt.min(), "oldest")
            .filter(Column::Status.eq(EmailStatus::Pending))
            // Due now, or tried and waiting for a retry; not a reminder whose time has not come.
            .filter(Condition::any().add(Column::DueAt.lte(now)).add(Column::Attempts.gt(0)))
            .into_tuple()
            .one(&state.db),
    )
    .await;
    match backlog {
        Ok(row) => {
            let (pending, oldest) = row.unwrap_or((0, None));
            #[expect(clippy::cast_precision_loss, reason = "a gauge; exact below 2^53 emails")]
            ins.outbox_pending.set(pending as f64);
            let late = oldest.map_or(0.0, |due| (now - due).to_std().unwrap_or(Duration::ZERO).as_secs_f64());
            ins.outbox_oldest_pending.set(late);
        }
        Err(e) => {
            tracing::warn!(reason = %crate::error::describe_db_err(&e), "metrics: could not read the outbox backlog");
        }
    }
    let (mut size, mut idle) = pool_stats(&state.db);
    // On SQLite the writer is a pool of its own; on PostgreSQL it is the same pool.
    if state.db.get_database_backend() == DbBackend::Sqlite {
        let (s, i) = pool_stats(&state.writer);
        size += s;
        idle += i;
    }
    ins.pool_idle.set(f64::from(idle));
    ins.pool_in_use.set(f64::from(size.saturating_sub(idle)));
}

/// `(open connections, idle connections)` of the sqlx pool behind `db`.
fn pool_stats(db: &DatabaseConnection) -> (u32, u32) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    (size, u32::try_from(idle).unwrap_or(u32::MAX))
}

/// `GET /metrics`: the Prometheus text format (version 0.0.4).
async fn scrape(State(state): State<AppState>) -> Response {
    refresh_gauges(&state).await;
    let ins = instruments();
    ins.process.collect();
    let body = ins.handle.render();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Binds the metrics listener.
///
/// # Errors
/// The address cannot be bound.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    install();
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (METRICS_BIND_ADDR)"))
}

/// Serves `GET /metrics` (and nothing else) on `listener` until `shutdown` completes.
///
/// # Errors
/// An I/O failure of the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = Router::new().route("/metrics", get(scrape)).with_state(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .context("metrics server failed")
}

/// Folds histogram samples into their buckets every few seconds until `shutdown` completes, so
/// that memory stays bounded when nobody scrapes.
pub async fn upkeep(shutdown: impl Future<Output = ()>) {
    let handle = instruments().handle.clone();
    let ticks = async {
        loop {
            tokio::time::sleep(UPKEEP).await;
            handle.run_upkeep();
        }
    };
    tokio::select! {
        () = shutdown => {},
        () = ticks => {},
    }
}

#[cfg(test)]
mod tests {
    use super::is_label_name;

    #[test]
    fn only_short_graphql_names_become_labels() {
        for ok in ["Login", "_x", "a1_B2", &"a".repeat(64)] {
            assert!(is_label_name(ok), "{ok}");
        }
        for bad in ["", "1abc", "a-b", "a b", "é", "query { me }", &"a".repeat(65)] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }
}
