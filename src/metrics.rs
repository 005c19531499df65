//! Prometheus metrics: what an operator scrapes and alerts on.
//!
//! One recorder per process (the `metrics` facade is process-global): installed before anything
//! serves ([`install`]), and rendered by `GET /metrics` on a listener of its own
//! (`METRICS_BIND_ADDR`), never on the API's. The layers record what is theirs through the facade:
//! the GraphQL crate its operations and WebSockets (`cybermed_graphql::metrics`, with bounded
//! labels), the core its logins; this module describes every series, records the routes that are
//! not GraphQL and the sender's failures, and reads the gauges that describe the database (the
//! outbox backlog, the live slot holds, the waitlist by status, the pool) when `/metrics` is scraped, with one indexed query
//! each, never per request.
use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use metrics::{Counter, Gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, Iterable, QueryFilter, QuerySelect};
use tokio::net::TcpListener;

use cybermed_graphql::metrics::{DURATION, REQUESTS, WS_CONNECTIONS};

use crate::{
    db::entities::outbox_email::{self, Column},
    domain::{Store, accounts::LOGINS, holds, waitlist, webhooks},
    outbox::{Channel, EmailStatus},
};

/// Upper bounds of the request-duration histograms' buckets, in seconds (100 µs … 10 s): most
/// operations take well under a millisecond, so the first buckets are below one.
pub const DURATION_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

const HTTP_REQUESTS: &str = "cybermed_http_requests_total";
const HTTP_DURATION: &str = "cybermed_http_request_duration_seconds";
const HOLDS_LIVE: &str = "cybermed_holds_live";
const WEBHOOK_DELIVERIES: &str = "cybermed_webhook_deliveries_total";
const WEBHOOK_PENDING: &str = "cybermed_webhook_pending";

/// Every handle the service records through, made once per process.
struct Instruments {
    handle: PrometheusHandle,
    /// Per channel, in [`CHANNELS`]' order.
    outbox: [OutboxInstruments; 2],
    holds_live: Gauge,
    webhook_pending: Gauge,
    pool_idle: Gauge,
    pool_in_use: Gauge,
    process: metrics_process::Collector,
}

/// The outbox's series of one channel (the label `channel`: `email`, `sms`).
struct OutboxInstruments {
    pending: Gauge,
    oldest_pending: Gauge,
    failed: Counter,
}

/// The outbox's channels, each a `channel` label of the outbox series.
const CHANNELS: [Channel; 2] = [Channel::Email, Channel::Sms];

fn channel_index(channel: Channel) -> usize {
    match channel {
        Channel::Email => 0,
        Channel::Sms => 1,
    }
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
        // The layers' own series, made now that the recorder is in place (so they are listed
        // before anything happened).
        cybermed_graphql::metrics::register();
        for outcome in ["ok", "failed", "throttled"] {
            metrics::counter!(LOGINS, "outcome" => outcome).absolute(0);
        }
        for outcome in ["succeeded", "failed", "retried"] {
            metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).absolute(0);
        }
        for outcome in ["made", "accepted", "declined", "expired"] {
            metrics::counter!(waitlist::OFFERS, "outcome" => outcome).absolute(0);
        }
        metrics::counter!(waitlist::MATCH_FAILURES).absolute(0);
        let pool = |state: &'static str| metrics::gauge!("cybermed_db_pool_connections", "state" => state);
        let outbox = CHANNELS.map(|c| {
            let failed = metrics::counter!("cybermed_outbox_failed_total", "channel" => c.label());
            failed.absolute(0);
            OutboxInstruments {
                pending: metrics::gauge!("cybermed_outbox_pending", "channel" => c.label()),
                oldest_pending: metrics::gauge!("cybermed_outbox_oldest_pending_seconds", "channel" => c.label()),
                failed,
            }
        });
        Instruments {
            handle,
            outbox,
            holds_live: metrics::gauge!(HOLDS_LIVE),
            webhook_pending: metrics::gauge!(WEBHOOK_PENDING),
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
    metrics::describe_counter!(LOGINS, "Login attempts by outcome (ok, failed, throttled)");
    metrics::describe_gauge!(WS_CONNECTIONS, "Open GraphQL WebSocket connections");
    metrics::describe_gauge!(
        "cybermed_outbox_pending",
        "Messages due and not sent yet, or waiting for a retry, by channel (email, sms)"
    );
    metrics::describe_gauge!(
        "cybermed_outbox_oldest_pending_seconds",
        metrics::Unit::Seconds,
        "How long the most overdue unsent message of a channel has been due (0 when none)"
    );
    metrics::describe_counter!(
        "cybermed_outbox_failed_total",
        "Messages given up on after their last attempt, by channel (email, sms)"
    );
    metrics::describe_gauge!(HOLDS_LIVE, "Slot holds keeping a time now (live and not expired)");
    metrics::describe_gauge!(waitlist::ENTRIES, "Waitlist entries by status (waiting, offered, booked, expired, left)");
    metrics::describe_counter!(waitlist::OFFERS, "Waitlist offers by outcome: made, accepted, declined, expired");
    metrics::describe_counter!(
        waitlist::MATCH_FAILURES,
        "Waitlist matches that failed (the doctor is tried again 10 s later; the log line says why)"
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by outcome (succeeded; retried: failed with attempts left; failed: for good)"
    );
    metrics::describe_gauge!(WEBHOOK_PENDING, "Webhook deliveries not sent yet (due or waiting for a retry)");
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

/// Counts and times one request to a route that is not GraphQL: `route` is its pattern
/// (`/fhir/r4/Appointment/{id}`, `/calendar/{token}`; `unmatched` when none matched), never a path
/// that could hold a token or an id. Never fails.
pub fn http_request(route: &str, status: u16, duration: Duration) {
    let _ = instruments();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => status.to_string()).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned()).record(duration);
}

/// Counts one message of `channel` given up on (`FAILED` after its last attempt).
pub fn outbox_failed(channel: Channel) {
    instruments().outbox[channel_index(channel)].failed.increment(1);
}

/// Per channel: messages to send (due, or waiting for a retry), and the earliest due time among
/// them.
type Backlog = (Channel, i64, Option<DateTime<Utc>>);

/// Counts one webhook attempt's outcome: `succeeded`, `retried` or `failed` (for good).
pub fn webhook_delivery(outcome: &'static str) {
    webhook_deliveries(outcome, 1);
}

/// Counts `n` webhook attempts of one outcome (a batch's successes).
pub fn webhook_deliveries(outcome: &'static str, n: u64) {
    let _ = instruments();
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(n);
}

/// Reads the gauges that describe the database: the outbox backlog per channel (one query over the
/// `(status, due_at)` index, grouped by channel), the live holds (one count over the partial
/// indexes of live holds) and the pools' connections.
///
/// `cybermed_outbox_pending{channel}` counts the messages due now or waiting for a retry (a
/// reminder whose time has not come, or an SMS held back by the quiet hours, is not backlog);
/// `cybermed_outbox_oldest_pending_seconds{channel}` is how long the most overdue of them has been
/// due (0 when none is): it grows while the sender or a transport is stopped or behind.
async fn refresh_gauges(state: &Store) {
    let ins = instruments();
    let now = state.clock.now();
    let backlog: Result<Vec<Backlog>, _> = crate::db::uncounted(
        outbox_email::Entity::find()
            .select_only()
            .column(Column::Channel)
            .column_as(Column::Id.count(), "pending")
            .column_as(Column::DueAt.min(), "oldest")
            .filter(Column::Status.eq(EmailStatus::Pending))
            // Due now, or tried and waiting for a retry; not a reminder whose time has not come.
            .filter(Condition::any().add(Column::DueAt.lte(now)).add(Column::Attempts.gt(0)))
            .group_by(Column::Channel)
            .into_tuple()
            .all(&state.db),
    )
    .await;
    match backlog {
        Ok(rows) => {
            for channel in CHANNELS {
                let (pending, oldest) =
                    rows.iter().find(|r| r.0 == channel).map_or((0, None), |&(_, pending, oldest)| (pending, oldest));
                let gauges = &ins.outbox[channel_index(channel)];
                #[expect(clippy::cast_precision_loss, reason = "a gauge; exact below 2^53 messages")]
                gauges.pending.set(pending as f64);
                let late = oldest.map_or(0.0, |due| (now - due).to_std().unwrap_or(Duration::ZERO).as_secs_f64());
                gauges.oldest_pending.set(late);
            }
        }
        Err(e) => {
            tracing::warn!(reason = %crate::error::describe_db_err(&e), "metrics: could not read the outbox backlog");
        }
    }
    match crate::db::uncounted(holds::live_count(&state.db, now)).await {
        #[expect(clippy::cast_precision_loss, reason = "a gauge; exact below 2^53 holds")]
        Ok(live) => ins.holds_live.set(live as f64),
        Err(e) => {
            tracing::warn!(reason = %crate::error::describe_db_err(&e), "metrics: could not count the live holds");
        }
    }
    match crate::db::uncounted(waitlist::counts_by_status(&state.db)).await {
        Ok(counts) => {
            for status in crate::db::entities::waitlist_entry::WaitlistStatus::iter() {
                let n = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
                #[expect(clippy::cast_precision_loss, reason = "a gauge; exact below 2^53 entries")]
                metrics::gauge!(waitlist::ENTRIES, "status" => status.label()).set(n as f64);
            }
        }
        Err(e) => {
            tracing::warn!(reason = %crate::error::describe_db_err(&e), "metrics: could not count the waitlist");
        }
    }
    match crate::db::uncounted(webhooks::pending_count(&state.db)).await {
        #[expect(clippy::cast_precision_loss, reason = "a gauge; exact below 2^53 deliveries")]
        Ok(pending) => ins.webhook_pending.set(pending as f64),
        Err(e) => {
            tracing::warn!(error = ?e, "metrics: could not count the pending webhooks");
        }
    }
    let (mut size, mut idle) = pool_stats(&state.db);
    // On SQLite the writer is a pool of its own, and requests read on connections of their own;
    // on PostgreSQL both are the same pool.
    if state.db.get_database_backend() == DbBackend::Sqlite {
        for (s, i) in [pool_stats(&state.writer)].into_iter().chain(state.reads.sqlite_stats()) {
            size = size.saturating_add(s);
            idle = idle.saturating_add(i);
        }
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
    (size, idle_of(size, idle))
}

/// A pool's idle count as a gauge can show it: at most its size, and 0 while sqlx's count is
/// below zero. sqlx 0.9 counts idle connections in an atomic that a release increments only
/// after it has freed its permit, so an acquire racing it decrements first and the count wraps
/// to `usize::MAX` for a moment.
fn idle_of(size: u32, idle: usize) -> u32 {
    if idle > usize::MAX / 2 { 0 } else { u32::try_from(idle).unwrap_or(u32::MAX).min(size) }
}

/// `GET /metrics`: the Prometheus text format (version 0.0.4).
///
/// One scrape at a time per process: the gauges read from the database are process-wide, so two
/// scrapes at once (two Prometheus servers, or the tests' several services in one process, each
/// with its own database) must not set them between each other's reading and rendering.
async fn scrape(State(state): State<Store>) -> Response {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
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
    state: Store,
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
    use super::idle_of;

    #[test]
    fn an_idle_count_below_zero_for_a_moment_reads_as_none_and_never_above_the_pool() {
        assert_eq!(idle_of(4, usize::MAX), 0, "sqlx's count wrapped below zero");
        assert_eq!(idle_of(4, usize::MAX - 2), 0);
        assert_eq!(idle_of(4, 3), 3);
        assert_eq!(idle_of(4, 6), 4, "never more idle than open");
        assert_eq!(idle_of(0, 0), 0);
    }
}
