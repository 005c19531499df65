//! The webhook sender: one task per process that claims due deliveries with a lease, POSTs them
//! signed (Standard Webhooks), and records the outcome. The rules and the writes (claim, outcome,
//! auto-disable) are the core's (`domain::webhooks`); here is the HTTP.
//!
//! The guarantees are the outbox sender's ([`crate::sender`]): a claim is one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite through the one writer), so each delivery is
//! sent by one process at a time; a claim whose sender died is taken over once its lease expired
//! (the same `webhook-id` again: receivers deduplicate by it); failures are retried with
//! exponential backoff ([`crate::sender::backoff`]) until `WEBHOOK_MAX_ATTEMPTS`, then `FAILED`.
//!
//! The client follows no redirect, gives up after 10 s, ignores proxy settings, and connects only
//! to public addresses (unless `WEBHOOK_ALLOW_PRIVATE_NETWORKS`): names are resolved by
//! [`PublicOnly`], which drops every non-public address, and a URL naming an address is checked
//! before connecting. So a name that resolved to a public address at registration and to a
//! private one now is refused now.
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use base64::Engine;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

use crate::{
    config::WebhookConfig,
    domain::{
        Store,
        webhooks::{self, Attempt, Claimed, Recorded, is_public},
    },
    error::AppError,
};

/// Longest the sender sleeps without looking for due deliveries.
const POLL: Duration = Duration::from_secs(5);
/// How long a claim holds: longer than an attempt takes ([`TIMEOUT`]) and its recording.
const LEASE: Duration = Duration::from_secs(60);
/// How long an attempt may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed at once.
const BATCH: u64 = 32;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;
/// How long a wake-up waits for more deliveries before claiming.
const COALESCE: Duration = Duration::from_millis(50);
/// The longest error text kept on a delivery.
const MAX_ERROR: usize = 200;

/// What the sender works with.
#[derive(Clone)]
pub struct WebhookSender {
    store: Store,
    client: reqwest::Client,
    rules: WebhookConfig,
}

impl WebhookSender {
    /// # Errors
    /// The HTTP client could not be built (its TLS configuration).
    pub fn new(store: Store, rules: WebhookConfig) -> anyhow::Result<Self> {
        Ok(Self { store, client: client(rules)?, rules })
    }
}

/// The error of a name or address that is not public.
#[derive(Debug)]
struct NotPublic;

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the destination's address is not public")
    }
}

impl std::error::Error for NotPublic {}

/// A resolver that keeps only public addresses (and fails when none is left).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The webhook HTTP client: no redirects, [`TIMEOUT`], no proxies, and (unless private networks
/// are allowed) the [`PublicOnly`] resolver.
///
/// # Errors
/// The TLS backend could not be set up.
pub fn client(rules: WebhookConfig) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .no_proxy()
        .user_agent(concat!("CyberMed-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !rules.allow_private_networks {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    Ok(builder.build()?)
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` per
/// secret (`whsec_<base64>`, keyed with the decoded bytes), space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .filter_map(|secret| {
            let key = b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!("v1,{}", b64.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts the sender; it stops, after finishing the attempts in hand, when `stop` turns true.
pub fn spawn(state: WebhookSender, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(crate::db::uncounted(async move {
        let owner = format!("{}:{}", std::process::id(), Uuid::new_v4().simple());
        let wake = state.store.events.webhook_wakeups();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match send_due(&state, &owner, &stop).await {
                Ok(n) if n as u64 >= BATCH => continue,
                Ok(_) => next_wait(&state).await,
                Err(e) => {
                    tracing::warn!(reason = %describe(&e), "webhook sender could not claim deliveries; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = wake.notified() => tokio::time::sleep(COALESCE).await,
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }))
}

fn describe(e: &AppError) -> String {
    match e {
        AppError::Internal(what) => what.clone(),
        other => other.code().to_owned(),
    }
}

/// Until the next pending delivery falls due, at most [`POLL`].
async fn next_wait(state: &WebhookSender) -> Duration {
    let now = state.store.clock.now();
    let next = webhooks::next_due(&state.store.db, now).await.ok().flatten();
    next.map_or(POLL, |due| (due - now).to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(10), POLL))
}

/// Claims one batch of due deliveries and attempts each; returns how many were claimed. Once
/// `stop` turns true, those not started are released at once.
///
/// # Errors
/// The claim failed (each attempt's outcome is recorded on its row).
pub async fn send_due(state: &WebhookSender, owner: &str, stop: &watch::Receiver<bool>) -> Result<usize, AppError> {
    let claimed = webhooks::claim(&state.store, owner, LEASE, BATCH).await?;
    let n = claimed.len();
    // Failures are recorded one by one as they come (each has its retry time and may turn its
    // endpoint off); the successes of the batch together at its end.
    // The futures made in a loop, not by a closure: a closure over `&Claimed` here makes the
    // spawned sender's future not `Send` for every lifetime (a known limit of the inference).
    let mut attempts = Vec::with_capacity(n);
    for c in &claimed {
        attempts.push(attempt_or_release(state, owner, stop, c));
    }
    let codes: Vec<Option<u16>> = futures_util::stream::iter(attempts).buffered(CONCURRENCY).collect().await;
    let succeeded: Vec<(&Claimed, u16)> =
        claimed.iter().zip(codes).filter_map(|(claimed, code)| code.map(|code| (claimed, code))).collect();
    match webhooks::record_successes(&state.store, owner, &succeeded).await {
        Ok(recorded) => crate::metrics::webhook_deliveries("succeeded", recorded),
        // Not recorded: their leases expire and they are sent again, under the same `webhook-id`.
        Err(e) => {
            tracing::warn!(reason = %describe(&e), "could not record delivered webhooks; they will be sent again");
        }
    }
    Ok(n)
}

/// The attempt of `claimed` (or its release when the sender is stopping): its status code when it
/// succeeded and is still to be recorded.
async fn attempt_or_release(
    state: &WebhookSender,
    owner: &str,
    stop: &watch::Receiver<bool>,
    claimed: &Claimed,
) -> Option<u16> {
    let done = if *stop.borrow() {
        webhooks::release(&state.store, owner, &claimed.delivery).await.map(|()| None)
    } else {
        attempt_one(state, owner, claimed).await
    };
    done.unwrap_or_else(|e| {
        tracing::warn!(reason = %describe(&e), "could not record a webhook delivery's attempt");
        None
    })
}

/// One attempt of a claimed delivery: a failure is recorded here; a success (its status code)
/// is returned for [`webhooks::record_successes`].
async fn attempt_one(state: &WebhookSender, owner: &str, claimed: &Claimed) -> Result<Option<u16>, AppError> {
    let d = &claimed.delivery;
    let attempt = match &claimed.endpoint {
        None => Attempt { status_code: None, error: Some("the endpoint is inactive".to_owned()) },
        Some(endpoint) => post(state, claimed, &endpoint.url).await,
    };
    if attempt.error.is_none() {
        return Ok(Some(attempt.status_code.unwrap_or(200)));
    }
    let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
    let retry_at = (attempts < state.rules.max_attempts).then(|| {
        let delay = crate::sender::backoff(state.rules.retry, state.rules.retry_max, attempts);
        state.store.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default()
    });
    let why = attempt.error.clone();
    let recorded =
        webhooks::record_failure(&state.store, owner, claimed, attempt, retry_at, state.rules.disable_after).await?;
    match recorded {
        Recorded::Retried => {
            tracing::info!(delivery = %d.id, attempts, reason = why.as_deref().unwrap_or(""),
                "webhook not delivered; will retry");
            crate::metrics::webhook_delivery("retried");
        }
        Recorded::Failed => {
            tracing::warn!(delivery = %d.id, attempts, reason = why.as_deref().unwrap_or(""),
                "webhook failed for good");
            crate::metrics::webhook_delivery("failed");
        }
        Recorded::Lost => {}
    }
    Ok(None)
}

/// POSTs a delivery to `url`, signed for now.
async fn post(state: &WebhookSender, claimed: &Claimed, url: &str) -> Attempt {
    let failed = |why: &str| Attempt { status_code: None, error: Some(why.to_owned()) };
    let Ok(parsed) = reqwest::Url::parse(url) else { return failed("the endpoint's URL is invalid") };
    match parsed.scheme() {
        "https" => {}
        "http" if state.rules.allow_http => {}
        _ => return failed("the endpoint's URL must use https://"),
    }
    // A URL naming an address is not resolved: it is checked here.
    let Some(host) = parsed.host_str() else { return failed("the endpoint's URL has no host") };
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    if !state.rules.allow_private_networks && literal.is_some_and(|ip| !is_public(ip)) {
        return failed(&NotPublic.to_string());
    }
    let now = state.store.clock.now();
    let d = &claimed.delivery;
    let timestamp = now.timestamp();
    let signature = signature(&claimed.secrets(now), &d.id, timestamp, &d.body);
    let sent = state
        .client
        .post(parsed)
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(d.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            Attempt { status_code: Some(response.status().as_u16()), error: None }
        }
        Ok(response) => {
            let status = response.status();
            Attempt { status_code: Some(status.as_u16()), error: Some(format!("HTTP {}", status.as_u16())) }
        }
        Err(e) => failed(&describe_send_error(&e)),
    }
}

/// A transport failure in a few words: no URL, no address.
fn describe_send_error(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<NotPublic>() {
            return NotPublic.to_string();
        }
        source = err.source();
    }
    let why = if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_request() || e.is_body() {
        "the request failed".to_owned()
    } else {
        "the delivery failed".to_owned()
    };
    why.chars().take(MAX_ERROR).collect()
}
