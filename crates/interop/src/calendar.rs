//! iCalendar feeds over HTTP: `GET /calendar/<token>.ics`, a thin handler over
//! [`cybermed_core::domain::calendar_feeds`], which decides what a feed holds and who is named in it.
//!
//! The body is RFC 5545, written by the `icalendar` crate (escaping, folding at 75 octets, CRLF).
//! It is a function of the stored appointments only (`DTSTAMP` is each appointment's last change),
//! so its SHA-256 is a strong `ETag` that changes exactly when the feed does, and a client that
//! sends it back in `If-None-Match` gets `304` without a body.
use std::{fmt::Write as _, net::SocketAddr};

use axum::{
    Router,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use icalendar::{Calendar, Component, EventLike, EventStatus, Parameter, Property};
use sha2::{Digest, Sha256};

use cybermed_core::{
    Core,
    domain::{
        appointments::AppointmentStatus,
        calendar_feeds::{self, Feed, FeedEntry, Opened},
    },
    error::AppError,
};

/// `PRODID` of every feed.
const PRODID: &str = "-//CyberMed//Appointments//EN";
/// The feed's name in calendar apps.
const CALENDAR_NAME: &str = "CyberMed appointments";
/// How often a calendar app is asked to refresh (`REFRESH-INTERVAL`, `X-PUBLISHED-TTL`).
const REFRESH: &str = "PT15M";
/// The subscribing app may keep the feed and must revalidate it (`ETag`) before each use; no
/// shared cache (proxy, CDN) may store it, as the URL is a credential.
const CACHE_CONTROL: &str = "private, no-cache";

/// The routes of the feeds, with their own state (they need no GraphQL schema).
pub fn routes<S: Clone + Send + Sync + 'static>(state: Core) -> Router<S> {
    Router::new().route("/calendar/{token}", get(feed)).with_state(state)
}

/// `GET /calendar/<token>.ics` (and `HEAD`): `200 text/calendar` with an `ETag`, `304` when
/// `If-None-Match` names it, `404` for a token of no live feed, `429` with `Retry-After` for an
/// address over its limit of unknown tokens.
async fn feed(
    State(state): State<Core>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let client = cybermed_core::net::client_ip(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
    let token = file.strip_suffix(".ics");
    match calendar_feeds::open(&state.store, &state.config, token, &client).await {
        Ok(Opened::Feed(feed)) => respond(&render(&feed), &headers),
        Ok(Opened::NotFound) => (StatusCode::NOT_FOUND, "Not found\n").into_response(),
        Ok(Opened::Limited(limited)) => {
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, "Too many requests, try again later\n").into_response();
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(limited.retry_after));
            resp
        }
        Err(e) => internal_error(e),
    }
}

/// The feed as an iCalendar document.
fn render(feed: &Feed) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("X-WR-CALNAME", CALENDAR_NAME))
        .append_property(
            Property::new("REFRESH-INTERVAL", REFRESH).append_parameter(Parameter::new("VALUE", "DURATION")).done(),
        )
        .append_property(Property::new("X-PUBLISHED-TTL", REFRESH));
    for entry in &feed.entries {
        calendar.push(event(entry));
    }
    calendar.to_string()
}

/// One appointment as a `VEVENT`: names only, never the reason for visit or other health data.
fn event(entry: &FeedEntry) -> icalendar::Event {
    let a = &entry.appointment;
    let status = match a.status {
        AppointmentStatus::Pending => EventStatus::Tentative,
        AppointmentStatus::Confirmed | AppointmentStatus::Completed | AppointmentStatus::NoShow => {
            EventStatus::Confirmed
        }
        AppointmentStatus::Cancelled => EventStatus::Cancelled,
    };
    let summary = match &entry.counterpart {
        Some(c) if c.is_doctor => format!("Appointment with Dr {} {}", c.first_name, c.last_name),
        Some(c) => format!("Appointment: {} {}", c.first_name, c.last_name),
        None => "Appointment".to_owned(),
    };
    icalendar::Event::new()
        .uid(&format!("{}@cybermed", a.id))
        .timestamp(a.updated_at)
        .starts(a.starts_at)
        .ends(a.ends_at)
        .sequence(entry.sequence)
        .status(status)
        .summary(&summary)
        .done()
}

/// `200` with the body and its `ETag`, or `304` when the client already holds it.
fn respond(body: &str, headers: &HeaderMap) -> Response {
    let etag = etag_of(body);
    let mut resp = if none_match(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut resp = body.to_owned().into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
        resp
    };
    let h = resp.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    resp
}

/// A strong validator: the quoted hex SHA-256 of the body.
fn etag_of(body: &str) -> String {
    let mut out = String::with_capacity(66);
    out.push('"');
    for b in Sha256::digest(body.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out.push('"');
    out
}

/// Whether `If-None-Match` (every such header, each a list) names `etag`, or is `*`. The
/// comparison is the weak one RFC 9110 prescribes for `If-None-Match` (a `W/` prefix is ignored).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `500` with a reference; what went wrong is logged under it, never sent.
fn internal_error(e: AppError) -> Response {
    let what = match e {
        AppError::Internal(what) => what,
        other => format!("unexpected {}", other.code()),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", cybermed_core::error::internal_reference(&what)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_a_star() {
        let tag = etag_of("body");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")));
            none_match(&h, &tag)
        };
        assert!(with(&tag));
        assert!(with(&format!("\"x\", W/{tag}")));
        assert!(with("*"));
        assert!(!with("\"x\""));
        assert!(!none_match(&HeaderMap::new(), &tag));
    }
}
