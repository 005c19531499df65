//! Signed webhooks (Standard Webhooks): the endpoints admins register, the deliveries written in
//! the transaction of the change they tell of, and the writes of the sender that runs in every
//! process (`src/webhooks.rs` does the HTTP; its claims, outcomes and the auto-disable are here).
//!
//! - **Who**: admins only: the GraphQL door guards every operation, and each change checks again
//!   that its actor is still an active admin when it commits ([`accounts::lock_admin`]).
//! - **Addresses**: a URL must be `https://` (unless `WEBHOOK_ALLOW_HTTP`), and its host must be or
//!   resolve to public addresses only ([`is_public`]) unless `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: checked
//!   at registration ([`check_url`]) and again by the sender when it connects (DNS may change).
//! - **Deliveries**: one row per event and subscribed active endpoint, written with the change
//!   ([`deliveries_for_appointment`] in `appointments::events::record`, [`queue_waitlist_offered`]
//!   for the waitlist's offers), so that none is lost and none is sent for a change rolled back.
//!   Bodies hold ids and times only. The row's id is the `webhook-id` of every attempt.
//! - **Secrets** are stored as they were shown (the sender must sign with them): a database dump
//!   gives them away, as it gives away the appointments themselves (see the README).
use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, Statement, Value,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Role, Store, accounts, audit};
use crate::{
    config::WebhookConfig,
    db::{
        batch, begin_write,
        entities::{
            appointment, user,
            webhook_delivery::{self, Column as D},
            webhook_endpoint::{self, Column as E},
        },
    },
    error::{AppError, AppResult},
    outbox::{self, Channel, EmailKind, NewEmail},
    page::{Keyset, KeysetPage, PageKey},
};
pub use webhook_delivery::{DeliveryStatus, WebhookEvent};

const DISABLED_EMAIL: &str = include_str!("../../templates/email/webhook_disabled.txt");
/// The subject of the email admins get when an endpoint was turned off.
pub const DISABLED_SUBJECT: &str = "Webhook endpoint disabled";
/// How long the secret before a rotation still signs.
pub const PREVIOUS_SECRET_SIGNS_FOR: TimeDelta = TimeDelta::hours(24);
/// Random bytes in a secret (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;
/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

impl WebhookEvent {
    /// Every event, in the schema's order.
    pub const ALL: [Self; 8] = [
        Self::AppointmentCreated,
        Self::AppointmentConfirmed,
        Self::AppointmentRescheduled,
        Self::AppointmentCancelled,
        Self::AppointmentCompleted,
        Self::AppointmentNoShow,
        Self::WaitlistOffered,
        Self::Ping,
    ];

    /// The body's `type` (and the stored name): `appointment.created`, `ping`, …
    pub fn as_str(self) -> String {
        self.to_value()
    }
}

/// The events an endpoint subscribed to, as stored (`appointment.created,ping`).
pub fn events_of(endpoint: &webhook_endpoint::Model) -> Vec<WebhookEvent> {
    endpoint.events.split(',').filter_map(|e| WebhookEvent::try_from_value(&e.to_owned()).ok()).collect()
}

fn stored_events(events: &[WebhookEvent]) -> AppResult<String> {
    let mut seen = HashSet::new();
    let names: Vec<String> = WebhookEvent::ALL
        .into_iter()
        .filter(|e| events.contains(e) && seen.insert(*e))
        .map(WebhookEvent::as_str)
        .collect();
    if names.is_empty() {
        return Err(AppError::bad_input("events", "events must not be empty"));
    }
    Ok(names.join(","))
}

/// A new secret: `whsec_` and the base64 of [`SECRET_BYTES`] random bytes.
fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, unique-local),
/// link-local, unspecified, multicast, broadcast, documentation, benchmarking, shared (CGNAT),
/// reserved, nor an IPv4 address inside IPv6 (mapped, compatible, NAT64, 6to4) that is not public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (CGNAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated), NAT64 (64:ff9b::/96): the IPv4 address decides.
    if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // 6to4 (2002::/16): the embedded IPv4 address decides.
    if seg[0] == 0x2002 {
        let [a, b] = seg[1].to_be_bytes();
        let [c, d] = seg[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // Documentation, 2001:db8::/32.
        || (seg[0] == 0x2001 && seg[1] == 0xdb8)
        // Discard-only, 100::/64.
        || (seg[0] == 0x100 && seg[1..4] == [0, 0, 0])
        // Site-local (deprecated), fec0::/10.
        || (seg[0] & 0xffc0) == 0xfec0)
}

/// The error every refused address gives at registration.
fn not_public() -> AppError {
    AppError::bad_input(
        "url",
        "url must name a public address (loopback, private and link-local addresses are refused)",
    )
}

/// Checks a webhook URL against the rules (see the module): its scheme, its form, and the
/// addresses its host is or resolves to (looked up now). Returns the URL as it will be stored.
///
/// # Errors
/// `BAD_USER_INPUT` on field `url`.
pub async fn check_url(url: &str, rules: &WebhookConfig) -> AppResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL_LEN {
        return Err(AppError::bad_input("url", format!("url must be at most {MAX_URL_LEN} characters")));
    }
    let invalid = || AppError::bad_input("url", "url must be an absolute http(s) URL");
    let uri: http::Uri = url.parse().map_err(|_| invalid())?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if rules.allow_http => {}
        Some("http") => return Err(AppError::bad_input("url", "url must use https://")),
        _ => return Err(invalid()),
    }
    let authority = uri.authority().ok_or_else(invalid)?;
    if authority.as_str().contains('@') {
        return Err(AppError::bad_input("url", "url must not hold credentials"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(invalid());
    }
    if rules.allow_private_networks {
        return Ok(url.to_owned());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if is_public(ip) { Ok(url.to_owned()) } else { Err(not_public()) };
    }
    let port = authority.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
    let lookup = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, port))).await;
    let addresses: Vec<IpAddr> = match lookup {
        Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
        _ => Vec::new(),
    };
    if addresses.is_empty() {
        return Err(AppError::bad_input("url", "url's host could not be resolved"));
    }
    if addresses.into_iter().all(is_public) { Ok(url.to_owned()) } else { Err(not_public()) }
}

/// Every endpoint, oldest first (a clinic has a handful).
///
/// # Errors
/// Internal only.
pub async fn endpoints<C: ConnectionTrait>(db: &C) -> AppResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find().order_by_asc(E::CreatedAt).order_by_asc(E::Id).all(db).await?)
}

/// Endpoints by id (the deliveries' `endpoint`, for a page at once).
///
/// # Errors
/// Internal only.
pub async fn endpoints_by_ids<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find().filter(E::Id.is_in(ids.iter().copied())).all(db).await?)
}

async fn endpoint_in<C: ConnectionTrait>(txn: &C, id: Uuid) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound("Webhook endpoint not found"))
}

/// `createWebhookEndpoint`: registers `url` for `events`; returns the endpoint and its secret
/// (shown only now). Audited `webhook.create`.
///
/// # Errors
/// `BAD_USER_INPUT` on `url` ([`check_url`]) or `events` (empty).
pub async fn create_endpoint(
    store: &Store,
    rules: &WebhookConfig,
    actor: Uuid,
    url: &str,
    events: &[WebhookEvent],
) -> AppResult<(webhook_endpoint::Model, String)> {
    let events = stored_events(events)?;
    let url = check_url(url, rules).await?;
    let now = store.clock.now();
    let secret = new_secret();
    let row = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(url),
        events: Set(events),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(true),
        disabled_reason: Set(None),
        consecutive_failures: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    let endpoint = webhook_endpoint::Entity::insert(row).exec_with_returning(&txn).await?;
    audit::record(&txn, Some(actor), "webhook.create", Some(endpoint.id), now).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// What `updateWebhookEndpoint` changes (absent: unchanged).
#[derive(Clone, Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub active: Option<bool>,
}

/// `updateWebhookEndpoint`. Turning an endpoint off fails its pending deliveries; turning it on
/// again clears `disabledReason` and its count of failures. Audited `webhook.update`.
///
/// # Errors
/// `NOT_FOUND`; `BAD_USER_INPUT` on `url` or `events`.
pub async fn update_endpoint(
    store: &Store,
    rules: &WebhookConfig,
    actor: Uuid,
    id: Uuid,
    change: EndpointChange,
) -> AppResult<webhook_endpoint::Model> {
    let events = change.events.as_deref().map(stored_events).transpose()?;
    let url = match change.url.as_deref() {
        Some(url) => Some(check_url(url, rules).await?),
        None => None,
    };
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    let current = endpoint_in(&txn, id).await?;
    let mut row: webhook_endpoint::ActiveModel = current.clone().into();
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(events) = events {
        row.events = Set(events);
    }
    match change.active {
        Some(true) if !current.active => {
            row.active = Set(true);
            row.disabled_reason = Set(None);
            row.consecutive_failures = Set(0);
        }
        Some(false) if current.active => {
            row.active = Set(false);
            fail_pending_of(&txn, id, "the endpoint was turned off").await?;
        }
        _ => {}
    }
    row.updated_at = Set(now);
    let endpoint = webhook_endpoint::Entity::update(row).exec(&txn).await?;
    audit::record(&txn, Some(actor), "webhook.update", Some(id), now).await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// `rotateWebhookSecret`: a new secret (returned, shown only now); the one before still signs for
/// [`PREVIOUS_SECRET_SIGNS_FOR`]. Audited `webhook.rotate_secret`.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn rotate_secret(store: &Store, actor: Uuid, id: Uuid) -> AppResult<(webhook_endpoint::Model, String)> {
    let now = store.clock.now();
    let secret = new_secret();
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    let current = endpoint_in(&txn, id).await?;
    let mut row: webhook_endpoint::ActiveModel = current.clone().into();
    row.previous_secret = Set(Some(current.secret));
    row.previous_secret_until = Set(Some(now + PREVIOUS_SECRET_SIGNS_FOR));
    row.secret = Set(secret.clone());
    row.updated_at = Set(now);
    let endpoint = webhook_endpoint::Entity::update(row).exec(&txn).await?;
    audit::record(&txn, Some(actor), "webhook.rotate_secret", Some(id), now).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// `deleteWebhookEndpoint`: the endpoint and its deliveries. Audited `webhook.delete`.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn delete_endpoint(store: &Store, actor: Uuid, id: Uuid) -> AppResult<bool> {
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    // Explicitly, not only by the foreign key's cascade: the same on every database.
    webhook_delivery::Entity::delete_many().filter(D::EndpointId.eq(id)).exec(&txn).await?;
    let deleted = webhook_endpoint::Entity::delete_by_id(id).exec(&txn).await?.rows_affected;
    if deleted == 0 {
        return Err(AppError::NotFound("Webhook endpoint not found"));
    }
    audit::record(&txn, Some(actor), "webhook.delete", Some(id), now).await?;
    txn.commit().await?;
    Ok(true)
}

/// `pingWebhookEndpoint`: queues a `ping` to an active endpoint, whatever it subscribed to.
/// Audited `webhook.ping`.
///
/// # Errors
/// `NOT_FOUND`; `BAD_USER_INPUT` on `id` when the endpoint is inactive.
pub async fn ping(store: &Store, actor: Uuid, id: Uuid) -> AppResult<webhook_delivery::Model> {
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    let endpoint = endpoint_in(&txn, id).await?;
    if !endpoint.active {
        return Err(AppError::bad_input("id", "the webhook endpoint is inactive"));
    }
    let body = body(WebhookEvent::Ping, now, &json!({ "endpointId": id }));
    let row = new_delivery(id, WebhookEvent::Ping, body.clone(), now);
    let delivery = webhook_delivery::Entity::insert(row).exec_with_returning(&txn).await?;
    audit::record(&txn, Some(actor), "webhook.ping", Some(id), now).await?;
    store.events.outbox_written(&txn).await?;
    txn.commit().await?;
    Ok(delivery)
}

/// `redeliverWebhook`: the same delivery (same `webhook-id`) back to `PENDING` with its attempts
/// at 0, due now. Audited `webhook.redeliver` (subject: its endpoint).
///
/// # Errors
/// `NOT_FOUND`; `BAD_USER_INPUT` on `id` while it is `PENDING` or its endpoint is inactive.
pub async fn redeliver(store: &Store, actor: Uuid, id: &str) -> AppResult<webhook_delivery::Model> {
    let now = store.clock.now();
    let txn = begin_write(&store.writer).await?;
    accounts::lock_admin(&txn, actor, None).await?;
    let not_found = AppError::NotFound("Webhook delivery not found");
    let delivery = webhook_delivery::Entity::find_by_id(id.to_owned()).one(&txn).await?.ok_or(not_found)?;
    if delivery.status == DeliveryStatus::Pending {
        return Err(AppError::bad_input("id", "the delivery is still pending"));
    }
    let endpoint = endpoint_in(&txn, delivery.endpoint_id).await?;
    if !endpoint.active {
        return Err(AppError::bad_input("id", "the webhook endpoint is inactive"));
    }
    let mut row: webhook_delivery::ActiveModel = delivery.into();
    row.status = Set(DeliveryStatus::Pending);
    row.attempts = Set(0);
    row.next_attempt_at = Set(Some(now));
    row.delivered_at = Set(None);
    row.lease_until = Set(None);
    row.lease_owner = Set(None);
    let delivery = webhook_delivery::Entity::update(row).exec(&txn).await?;
    audit::record(&txn, Some(actor), "webhook.redeliver", Some(endpoint.id), now).await?;
    store.events.outbox_written(&txn).await?;
    txn.commit().await?;
    Ok(delivery)
}

/// Turns an endpoint's pending deliveries `FAILED`, inside `txn`.
async fn fail_pending_of<C: ConnectionTrait>(txn: &C, endpoint: Uuid, why: &str) -> AppResult<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(DeliveryStatus::Failed))
        .col_expr(D::LastError, Expr::value(Some(why.to_owned())))
        .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
        .filter(D::EndpointId.eq(endpoint))
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

/// A body: `{"type", "timestamp", "data"}`.
fn body(event: WebhookEvent, at: DateTime<Utc>, data: &serde_json::Value) -> String {
    json!({ "type": event.as_str(), "timestamp": rfc3339(at), "data": data }).to_string()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A delivery's id: `msg_` and a UUIDv7's 32 hex digits (time-ordered: the list's order).
fn new_id() -> String {
    format!("msg_{}", Uuid::now_v7().simple())
}

fn new_delivery(
    endpoint: Uuid,
    event: WebhookEvent,
    body: String,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(new_id()),
        endpoint_id: Set(endpoint),
        event: Set(event),
        body: Set(body),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        next_attempt_at: Set(Some(now)),
        delivered_at: Set(None),
        lease_until: Set(None),
        lease_owner: Set(None),
    }
}

/// The `INSERT` of one delivery of `event` per active endpoint subscribed to it (none when there
/// are none), read inside `txn`: one indexed `SELECT` of the active endpoints (a handful) per
/// change. The caller runs it with its other writes and wakes the senders
/// ([`crate::events::EventHub::outbox_written`]).
///
/// # Errors
/// Internal only.
pub async fn deliveries_statement<C: ConnectionTrait>(
    txn: &C,
    event: WebhookEvent,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> AppResult<Option<Statement>> {
    let active: Vec<(Uuid, String)> = webhook_endpoint::Entity::find()
        .select_only()
        .column(E::Id)
        .column(E::Events)
        .filter(E::Active.eq(true))
        .into_tuple()
        .all(txn)
        .await?;
    let name = event.as_str();
    let subscribed: Vec<Uuid> =
        active.into_iter().filter(|(_, events)| events.split(',').any(|e| e == name)).map(|(id, _)| id).collect();
    if subscribed.is_empty() {
        return Ok(None);
    }
    let body = body(event, at, &data);
    let rows = subscribed.into_iter().map(|endpoint| new_delivery(endpoint, event, body.clone(), at));
    Ok(Some(webhook_delivery::Entity::insert_many(rows).build(txn.get_database_backend())))
}

/// The webhook event of an appointment event.
pub fn appointment_event(kind: crate::db::entities::appointment_event::AppointmentEventKind) -> WebhookEvent {
    use crate::db::entities::appointment_event::AppointmentEventKind as K;
    match kind {
        K::Created => WebhookEvent::AppointmentCreated,
        K::Confirmed => WebhookEvent::AppointmentConfirmed,
        K::Rescheduled => WebhookEvent::AppointmentRescheduled,
        K::Cancelled => WebhookEvent::AppointmentCancelled,
        K::Completed => WebhookEvent::AppointmentCompleted,
        K::NoShow => WebhookEvent::AppointmentNoShow,
    }
}

/// What a writer already knows of the webhook endpoints, read inside its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoints {
    /// Not known: the deliveries' statement reads the active endpoints.
    Unknown,
    /// None is active: there is nothing to deliver, and nothing to read.
    NoneActive,
}

/// The deliveries of an appointment's event (see [`deliveries_statement`]): `data` holds
/// `appointmentId`, `doctorId`, `patientId`, `status`, `startsAt`, `endsAt`, nothing else. None,
/// without a statement, when `endpoints` says that no endpoint is active.
///
/// # Errors
/// Internal only.
pub async fn deliveries_for_appointment<C: ConnectionTrait>(
    txn: &C,
    appt: &appointment::Model,
    kind: crate::db::entities::appointment_event::AppointmentEventKind,
    at: DateTime<Utc>,
    endpoints: Endpoints,
) -> AppResult<Option<Statement>> {
    if endpoints == Endpoints::NoneActive {
        return Ok(None);
    }
    let data = json!({
        "appointmentId": appt.id,
        "doctorId": appt.doctor_id,
        "patientId": appt.patient_id,
        "status": appt.status.to_value(),
        "startsAt": rfc3339(appt.starts_at),
        "endsAt": rfc3339(appt.ends_at),
    });
    deliveries_statement(txn, appointment_event(kind), data, at).await
}

/// A waitlist offer, as its `waitlist.offered` webhook tells of it.
#[derive(Clone, Copy, Debug)]
pub struct WaitlistOffered {
    pub waitlist_entry_id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The `INSERT` of `waitlist.offered` deliveries to every active endpoint subscribed to it (none
/// when there is none), for the offer's writer to run with its other writes in `txn` (the
/// transaction that makes the offer) and follow with the senders' wake-up.
///
/// # Errors
/// Internal only.
pub async fn waitlist_offered_statement<C: ConnectionTrait>(
    txn: &C,
    offer: WaitlistOffered,
    at: DateTime<Utc>,
) -> AppResult<Option<Statement>> {
    let data = json!({
        "waitlistEntryId": offer.waitlist_entry_id,
        "doctorId": offer.doctor_id,
        "patientId": offer.patient_id,
        "startsAt": rfc3339(offer.starts_at),
        "endsAt": rfc3339(offer.ends_at),
        "expiresAt": rfc3339(offer.expires_at),
    });
    deliveries_statement(txn, WebhookEvent::WaitlistOffered, data, at).await
}

/// Queues `waitlist.offered` (see [`waitlist_offered_statement`]) inside `txn` and wakes the
/// senders on commit.
///
/// # Errors
/// Internal only.
pub async fn queue_waitlist_offered<C: ConnectionTrait>(
    store: &Store,
    txn: &C,
    offer: WaitlistOffered,
) -> AppResult<()> {
    let Some(insert) = waitlist_offered_statement(txn, offer, store.clock.now()).await? else {
        return Ok(());
    };
    txn.execute_raw(insert).await?;
    store.events.outbox_written(txn).await
}

/// The sort key of the deliveries' list: the id (time-ordered).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryKey(pub String);

impl PageKey for DeliveryKey {
    fn values(&self) -> Vec<Value> {
        vec![self.0.clone().into()]
    }
}

/// Which deliveries `webhookDeliveries` lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
}

impl DeliveryFilter {
    fn condition(self) -> Condition {
        let mut cond = Condition::all();
        if let Some(e) = self.endpoint_id {
            cond = cond.add(D::EndpointId.eq(e));
        }
        if let Some(s) = self.status {
            cond = cond.add(D::Status.eq(s));
        }
        cond
    }
}

const NEWEST_FIRST: Keyset<webhook_delivery::Entity, DeliveryKey> =
    Keyset::descending(&[D::Id], |d: &webhook_delivery::Model| DeliveryKey(d.id.clone()));

/// One page of at most `limit` deliveries, newest first, after the cursor's.
///
/// # Errors
/// Internal only.
pub async fn deliveries<C: ConnectionTrait>(
    db: &C,
    filter: DeliveryFilter,
    after: Option<DeliveryKey>,
    limit: u64,
) -> AppResult<KeysetPage<DeliveryKey, webhook_delivery::Model>> {
    NEWEST_FIRST.fetch(db, webhook_delivery::Entity::find().filter(filter.condition()), after, limit).await
}

/// How many deliveries match.
///
/// # Errors
/// Internal only.
pub async fn count_deliveries<C: ConnectionTrait>(db: &C, filter: DeliveryFilter) -> AppResult<u64> {
    Ok(webhook_delivery::Entity::find().filter(filter.condition()).count(db).await?)
}

// ---------------------------------------------------------------------------------------------
// The sender's writes.

/// A claimed delivery and what signing and sending it needs of its endpoint.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: webhook_delivery::Model,
    /// `None`: the endpoint is gone or inactive (the delivery is failed, not sent).
    pub endpoint: Option<webhook_endpoint::Model>,
}

impl Claimed {
    /// The secrets that sign this attempt at `now`: the current one, and the one before a
    /// rotation for [`PREVIOUS_SECRET_SIGNS_FOR`] after it.
    pub fn secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let Some(e) = &self.endpoint else { return Vec::new() };
        let mut out = vec![e.secret.as_str()];
        if let (Some(previous), Some(until)) = (&e.previous_secret, e.previous_secret_until)
            && now < until
        {
            out.push(previous.as_str());
        }
        out
    }
}

/// Takes up to `batch` due deliveries under a lease until `lease_until`, counting the attempt (one
/// statement: on PostgreSQL `FOR UPDATE SKIP LOCKED`, so concurrent senders take disjoint
/// batches; on SQLite through the one writer), then reads their endpoints (one more).
///
/// # Errors
/// Internal only.
pub async fn claim(store: &Store, owner: &str, lease: Duration, batch: u64) -> AppResult<Vec<Claimed>> {
    let now = store.clock.now();
    let lease_until = now + TimeDelta::from_std(lease).unwrap_or_default();
    let due = webhook_delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .filter(D::NextAttemptAt.lte(now))
        .filter(Condition::any().add(D::LeaseUntil.is_null()).add(D::LeaseUntil.lt(now)))
        .order_by_asc(D::NextAttemptAt)
        .limit(batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(D::LeaseUntil, Expr::value(lease_until))
        .col_expr(D::LeaseOwner, Expr::value(owner))
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .filter(D::Id.in_subquery(due))
        .exec_with_returning(&store.writer)
        .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = claimed.iter().map(|d| d.endpoint_id).collect::<HashSet<_>>().into_iter().collect();
    let endpoints = endpoints_by_ids(&store.db, &ids).await?;
    Ok(claimed
        .into_iter()
        .map(|delivery| {
            let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id && e.active).cloned();
            Claimed { delivery, endpoint }
        })
        .collect())
}

/// Gives a claimed delivery back untried (the sender is stopping): its lease and the attempt
/// the claim counted are undone.
///
/// # Errors
/// Internal only.
pub async fn release(store: &Store, owner: &str, delivery: &webhook_delivery::Model) -> AppResult<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(D::Attempts, Expr::value(delivery.attempts.saturating_sub(1)))
        .filter(D::Id.eq(delivery.id.clone()))
        .filter(D::LeaseOwner.eq(owner))
        .exec(&store.writer)
        .await?;
    Ok(())
}

/// How an attempt went.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The answer's status, when there was one.
    pub status_code: Option<u16>,
    /// Why it failed (no URL, no secret); `None`: a 2xx.
    pub error: Option<String>,
}

/// What recording an attempt did, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Failed; tried again at the given time.
    Retried,
    /// Failed for good (its attempts ran out, or its endpoint is off).
    Failed,
    /// The claim was no longer ours (its lease expired and another sender took it): nothing done.
    Lost,
}

/// Records the successful attempts of one claim together (only those still `owner`'s): their
/// deliveries `SUCCEEDED`, and their endpoints' failure streaks ended. One write transaction for
/// the whole batch (an `UPDATE` of the deliveries per distinct status code, usually one, and one of
/// the endpoints) instead of one per delivery: on SQLite every write queues for the one writer
/// with the bookings, as the email sender's recordings taught. Returns how many were recorded.
///
/// # Errors
/// Internal only.
pub async fn record_successes(store: &Store, owner: &str, succeeded: &[(&Claimed, u16)]) -> AppResult<u64> {
    if succeeded.is_empty() {
        return Ok(0);
    }
    let now = store.clock.now();
    let mut codes: Vec<u16> = succeeded.iter().map(|(_, code)| *code).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut endpoints: Vec<Uuid> = succeeded.iter().map(|(c, _)| c.delivery.endpoint_id).collect();
    endpoints.sort_unstable();
    endpoints.dedup();
    let txn = begin_write(&store.writer).await?;
    let mut recorded = 0;
    for code in codes {
        let ids = succeeded.iter().filter(|(_, c)| *c == code).map(|(claimed, _)| claimed.delivery.id.clone());
        recorded += webhook_delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value(DeliveryStatus::Succeeded))
            .col_expr(D::DeliveredAt, Expr::value(Some(now)))
            .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::LastError, Expr::value(Option::<String>::None))
            .col_expr(D::LastStatusCode, Expr::value(Some(i32::from(code))))
            .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
            .filter(D::Id.is_in(ids))
            .filter(D::LeaseOwner.eq(owner))
            .exec(&txn)
            .await?
            .rows_affected;
    }
    webhook_endpoint::Entity::update_many()
        .col_expr(E::ConsecutiveFailures, Expr::value(0))
        .filter(E::Id.is_in(endpoints))
        .filter(E::ConsecutiveFailures.ne(0))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(recorded)
}

/// Records one failed attempt of a claimed delivery (only while the claim is still `owner`'s);
/// successes are recorded by the batch, with [`record_successes`].
///
/// With attempts left (`retry_at` given): `PENDING` again, due at `retry_at`. For good: `FAILED`, and
/// the endpoint's count of failures in a row goes up; when it reaches `disable_after`, the
/// endpoint is turned off with a `disabledReason`, its pending deliveries are failed, every active
/// admin gets a `WEBHOOK_DISABLED` email and the audit log an entry `webhook.disabled`, all in
/// the same transaction.
///
/// # Errors
/// Internal only.
pub async fn record_failure(
    store: &Store,
    owner: &str,
    claimed: &Claimed,
    attempt: Attempt,
    retry_at: Option<DateTime<Utc>>,
    disable_after: u32,
) -> AppResult<Recorded> {
    let now = store.clock.now();
    let d = &claimed.delivery;
    let code = attempt.status_code.map(i32::from);
    let txn = begin_write(&store.writer).await?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(D::LastStatusCode, Expr::value(code));
    let outcome = if retry_at.is_some() && claimed.endpoint.is_some() { Recorded::Retried } else { Recorded::Failed };
    update = match outcome {
        Recorded::Retried => update
            .col_expr(D::NextAttemptAt, Expr::value(retry_at))
            .col_expr(D::LastError, Expr::value(attempt.error.clone())),
        _ => update
            .col_expr(D::Status, Expr::value(DeliveryStatus::Failed))
            .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::LastError, Expr::value(attempt.error.clone())),
    };
    let recorded =
        update.filter(D::Id.eq(d.id.clone())).filter(D::LeaseOwner.eq(owner)).exec(&txn).await?.rows_affected;
    if recorded == 0 {
        return Ok(Recorded::Lost);
    }
    match outcome {
        Recorded::Failed if claimed.endpoint.is_some() => {
            let counted = webhook_endpoint::Entity::update_many()
                .col_expr(E::ConsecutiveFailures, Expr::col(E::ConsecutiveFailures).add(1))
                .filter(E::Id.eq(d.endpoint_id))
                .filter(E::Active.eq(true))
                .exec_with_returning(&txn)
                .await?;
            if let Some(endpoint) = counted.into_iter().next()
                && u32::try_from(endpoint.consecutive_failures).unwrap_or(0) >= disable_after
            {
                disable(store, &txn, &endpoint, now).await?;
            }
        }
        _ => {}
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Turns `endpoint` off after its failures, inside `txn` (see [`record_failure`]).
async fn disable<C: ConnectionTrait>(
    store: &Store,
    txn: &C,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let reason = format!("{} deliveries in a row failed", endpoint.consecutive_failures);
    webhook_endpoint::Entity::update_many()
        .col_expr(E::Active, Expr::value(false))
        .col_expr(E::DisabledReason, Expr::value(Some(reason.clone())))
        .col_expr(E::UpdatedAt, Expr::value(now))
        .filter(E::Id.eq(endpoint.id))
        .exec(txn)
        .await?;
    fail_pending_of(txn, endpoint.id, "the endpoint was turned off after failures").await?;
    let admins: Vec<(Uuid, String, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .column(user::Column::FirstName)
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::IsActive.eq(true))
        .into_tuple()
        .all(txn)
        .await?;
    let endpoint_id = endpoint.id.to_string();
    let emails = admins
        .into_iter()
        .map(|(id, to, name)| NewEmail {
            channel: Channel::Email,
            kind: EmailKind::WebhookDisabled,
            to,
            subject: DISABLED_SUBJECT.to_owned(),
            body: outbox::render(
                DISABLED_EMAIL,
                &[("name", &name), ("endpoint", &endpoint_id), ("url", &endpoint.url), ("reason", &reason)],
            ),
            appointment_id: None,
            recipient_id: Some(id),
            starts_at: None,
            due_at: now,
        })
        .collect();
    let backend: DbBackend = txn.get_database_backend();
    let mut writes = Vec::with_capacity(2);
    writes.extend(outbox::insert_statement(&store.outbox, now, backend, emails));
    let wake = !writes.is_empty();
    writes.extend(audit::insert_statement(backend, None, "webhook.disabled", [Some(endpoint.id)], now));
    batch::execute_all(txn, writes).await?;
    if wake {
        store.events.outbox_written(txn).await?;
    }
    tracing::warn!(endpoint = %endpoint.id, failures = endpoint.consecutive_failures,
        "webhook endpoint turned off after failures; admins are emailed");
    Ok(())
}

/// When the next pending delivery may be claimed (`None`: none is pending): its next attempt, or
/// when its lease expires if another sender holds it (so that a sender does not poll in a loop
/// while another one, or a dead one, holds a lease). Two small reads over the claim's index.
///
/// # Errors
/// Internal only.
pub async fn next_due<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> AppResult<Option<DateTime<Utc>>> {
    let free: Option<Option<DateTime<Utc>>> = webhook_delivery::Entity::find()
        .select_only()
        .column_as(D::NextAttemptAt.min(), "next")
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .filter(Condition::any().add(D::LeaseUntil.is_null()).add(D::LeaseUntil.lt(now)))
        .into_tuple()
        .one(db)
        .await?;
    let leased: Option<Option<DateTime<Utc>>> = webhook_delivery::Entity::find()
        .select_only()
        .column_as(D::LeaseUntil.min(), "next")
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .filter(D::LeaseUntil.gte(now))
        .into_tuple()
        .one(db)
        .await?;
    Ok([free.flatten(), leased.flatten()].into_iter().flatten().min())
}

/// Deliveries pending (due or waiting for a retry): `cybermed_webhook_pending`.
///
/// # Errors
/// Internal only.
pub async fn pending_count<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(webhook_delivery::Entity::find().filter(D::Status.eq(DeliveryStatus::Pending)).count(db).await?)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fec0::1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused} must be refused");
        }
        for allowed in ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"] {
            assert!(is_public(allowed.parse().unwrap()), "{allowed} must be allowed");
        }
    }

    #[test]
    fn events_are_stored_in_order_without_repeats_and_never_empty() {
        let stored =
            stored_events(&[WebhookEvent::Ping, WebhookEvent::AppointmentCreated, WebhookEvent::Ping]).unwrap();
        assert_eq!(stored, "appointment.created,ping");
        assert!(stored_events(&[]).is_err());
    }

    #[test]
    fn a_secret_is_whsec_and_32_random_bytes() {
        let s = new_secret();
        let bytes = base64::engine::general_purpose::STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(s, new_secret());
    }
}
