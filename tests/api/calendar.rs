//! Calendar feeds: the secret `.ics` URL, what a real iCalendar parser reads from it, conditional
//! requests, revocation, who may have one, the throttle on unknown tokens, and the request log.
use std::{collections::HashMap, time::Duration};

use icalendar::{Component, EventStatus};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, TestApp, code, email, upcoming},
};

const CREATE_FEED: &str = "mutation { createCalendarFeed { url createdAt } }";
const REVOKE_FEED: &str = "mutation { revokeCalendarFeed }";
const REASON: &str = "Persistent migraine, private-reason-7731";

/// Creates `who`'s feed; returns its URL on this test server (the answer's URL starts with
/// `PUBLIC_URL`, which the tests set to `http://clinic.test`).
async fn create_feed(app: &TestApp, who: &Session) -> String {
    let body = app.gql(Some(&who.access), CREATE_FEED, json!({})).await;
    let url = body["data"]["createCalendarFeed"]["url"].as_str().unwrap_or_else(|| panic!("{body}"));
    let path = url.strip_prefix("http://clinic.test").unwrap_or_else(|| panic!("under PUBLIC_URL: {url}"));
    app.url(path)
}

async fn get(app: &TestApp, url: &str, if_none_match: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(url);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    req.send().await.unwrap()
}

/// Fetches a feed that must answer 200; returns its ETag and body.
async fn fetch(app: &TestApp, url: &str) -> (String, String) {
    let resp = get(app, url, None).await;
    assert_eq!(resp.status(), 200, "the feed answers");
    assert_eq!(resp.headers()["content-type"], "text/calendar; charset=utf-8");
    assert_eq!(resp.headers()["cache-control"], "private, no-cache", "no shared cache may keep a secret URL");
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    (etag, resp.text().await.unwrap())
}

/// The feed parsed by the `icalendar` crate's parser, its events by UID.
fn parse(body: &str) -> (icalendar::Calendar, HashMap<String, icalendar::Event>) {
    let calendar: icalendar::Calendar = body.parse().unwrap_or_else(|e| panic!("{e}: {body}"));
    let events = calendar.events().map(|e| (e.get_uid().unwrap().to_owned(), e.clone())).collect();
    (calendar, events)
}

/// `YYYYMMDDTHHMMSSZ` of an RFC 3339 instant.
fn ical_utc(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc().format("%Y%m%dT%H%M%SZ").to_string()
}

fn uid(appointment: &Value) -> String {
    format!("{}@cybermed", appointment["id"].as_str().unwrap())
}

/// Books through GraphQL with the feed test's reason for visit.
async fn book(c: &Clinic, who: &Session, input: Value) -> Value {
    let mut i = input;
    i["reasonForVisit"] = json!(REASON);
    let body = c.book(who, i).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createAppointment"].clone()
}

async fn rename(app: &TestApp, who: &Session, first: &str, last: &str) {
    let body = app
        .gql(
            Some(&who.access),
            "mutation($f: String!, $l: String!) { updateMe(input: { firstName: $f, lastName: $l }) { id } }",
            json!({ "f": first, "l": last }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn both_parties_feeds_hold_their_appointments_with_names_statuses_sequences_and_no_reason() {
    let c = Clinic::open("UTC").await;
    // Long names with a comma and accents: the SUMMARY line must be escaped and folded.
    let (doc_first, doc_last) = ("Anneliese-Zoë Maximiliane", "Okonkwo-Thérèse, the Second");
    rename(&c.app, &c.doctor, doc_first, doc_last).await;
    rename(&c.app, &c.patient, "Kim", "Nakamura").await;

    let pending = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("09:00") })).await;
    let scheduled = book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("11:00") })).await;
    let moved = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") })).await;
    let moved_id = moved["id"].as_str().unwrap();
    assert!(c.act(&c.doctor, "confirmAppointment", moved_id).await["errors"].is_null());
    let resched = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { status } }",
            json!({ "id": moved_id, "s": at("12:00") }),
        )
        .await;
    assert_eq!(resched["data"]["rescheduleAppointment"]["status"], "CONFIRMED", "{resched}");
    let cancelled = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("13:00") })).await;
    assert!(c.act(&c.patient, "cancelAppointment", cancelled["id"].as_str().unwrap()).await["errors"].is_null());
    // Someone else's appointment with the same doctor is in the doctor's feed only.
    let other = c.app.patient().await;
    let others = book(&c, &other, json!({ "doctorId": c.doctor.id, "startsAt": at("15:00") })).await;

    let patient_url = create_feed(&c.app, &c.patient).await;
    let doctor_url = create_feed(&c.app, &c.doctor).await;
    let (_, body) = fetch(&c.app, &patient_url).await;

    // RFC 5545 framing: CRLF line ends only, every line at most 75 octets, long lines folded.
    assert!(body.ends_with("\r\n") && !body.replace("\r\n", "").contains('\n'), "CRLF only:\n{body}");
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    assert!(body.contains("\r\n "), "the long SUMMARY is folded:\n{body}");
    assert!(!body.contains("migraine") && !body.contains("private-reason"), "no reason for visit:\n{body}");
    let unfolded = icalendar::parser::unfold(&body);
    assert!(unfolded.contains("Thérèse\\, the Second"), "the comma is escaped:\n{unfolded}");
    for line in ["VERSION:2.0", "REFRESH-INTERVAL;VALUE=DURATION:PT15M", "X-PUBLISHED-TTL:PT15M"] {
        assert!(unfolded.contains(&format!("\r\n{line}\r\n")), "{line} in:\n{unfolded}");
    }

    let (calendar, events) = parse(&body);
    assert!(calendar.property_value("PRODID").is_some_and(|p| !p.is_empty()));
    assert!(calendar.property_value("X-WR-CALNAME").is_some());
    assert_eq!(events.len(), 4, "the patient's four appointments: {:?}", events.keys());
    let expect = [
        (&pending, EventStatus::Tentative, 0, at("09:00"), at("09:30")),
        (&scheduled, EventStatus::Confirmed, 0, at("11:00"), at("11:30")),
        (&moved, EventStatus::Confirmed, 2, at("12:00"), at("12:30")),
        (&cancelled, EventStatus::Cancelled, 1, at("13:00"), at("13:30")),
    ];
    let dr = format!("Appointment with Dr {doc_first} {doc_last}");
    for (a, status, sequence, starts, ends) in &expect {
        let e = &events[&uid(a)];
        assert_eq!(e.get_status(), Some(*status), "{}", uid(a));
        assert_eq!(e.get_sequence(), Some(*sequence), "{}", uid(a));
        assert_eq!(e.get_summary(), Some(dr.as_str()));
        assert_eq!(e.property_value("DTSTART"), Some(ical_utc(starts).as_str()), "UTC start");
        assert_eq!(e.property_value("DTEND"), Some(ical_utc(ends).as_str()), "UTC end");
        assert!(e.property_value("DTSTAMP").is_some_and(|s| s.ends_with('Z')));
        assert!(e.get_description().is_none() && e.property_value("LOCATION").is_none());
    }

    let (_, body) = fetch(&c.app, &doctor_url).await;
    let (_, events) = parse(&body);
    assert_eq!(events.len(), 5, "the doctor's five appointments");
    assert_eq!(events[&uid(&pending)].get_summary(), Some("Appointment: Kim Nakamura"));
    assert_eq!(events[&uid(&others)].get_summary(), Some("Appointment: Test User"));
    assert_eq!(events[&uid(&moved)].get_sequence(), Some(2), "the same UID and SEQUENCE in both feeds");
    assert!(!body.contains("private-reason"), "no reason for visit in the doctor's feed either");
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_and_a_change_gets_a_new_etag() {
    let c = Clinic::open("UTC").await;
    let a = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("09:00") })).await;
    let url = create_feed(&c.app, &c.patient).await;
    let (etag, body) = fetch(&c.app, &url).await;
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "a strong ETag: {etag}");
    let (again, same) = fetch(&c.app, &url).await;
    assert_eq!((&again, &same), (&etag, &body), "nothing changed: the same body and ETag");

    for tag in [etag.clone(), format!("\"other\", {etag}"), "*".to_owned()] {
        let resp = get(&c.app, &url, Some(&tag)).await;
        assert_eq!(resp.status(), 304, "If-None-Match: {tag}");
        assert_eq!(resp.headers()["etag"], etag.as_str());
        assert!(resp.bytes().await.unwrap().is_empty(), "a 304 has no body");
    }
    assert_eq!(get(&c.app, &url, Some("\"other\"")).await.status(), 200);

    assert!(c.act(&c.doctor, "confirmAppointment", a["id"].as_str().unwrap()).await["errors"].is_null());
    let resp = get(&c.app, &url, Some(&etag)).await;
    assert_eq!(resp.status(), 200, "a change makes the old ETag stale");
    let new_etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let (_, events) = parse(&resp.text().await.unwrap());
    let e = &events[&uid(&a)];
    assert_eq!((e.get_status(), e.get_sequence()), (Some(EventStatus::Confirmed), Some(1)), "SEQUENCE grew");
}

#[tokio::test]
async fn a_new_feed_ends_the_old_url_and_revoking_ends_the_feed() {
    let c = Clinic::open("UTC").await;
    let first = create_feed(&c.app, &c.patient).await;
    assert_eq!(get(&c.app, &first, None).await.status(), 200);
    let second = create_feed(&c.app, &c.patient).await;
    assert_ne!(first, second);
    assert_eq!(get(&c.app, &first, None).await.status(), 404, "the new feed revoked the old URL");
    assert_eq!(get(&c.app, &second, None).await.status(), 200);

    // Stored only as a hash.
    let token = second.rsplit('/').next().unwrap().strip_suffix(".ics").unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let rows = c
        .app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            c.app.state.db.get_database_backend(),
            "SELECT token_hash FROM calendar_feeds",
        ))
        .await
        .unwrap();
    let stored: Vec<String> = rows.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
    assert_eq!(stored, [cybermed::auth::token_hash(token)], "one row, holding the SHA-256 only");

    let revoked = c.app.gql(Some(&c.patient.access), REVOKE_FEED, json!({})).await;
    assert_eq!(revoked["data"]["revokeCalendarFeed"], true, "{revoked}");
    let resp = get(&c.app, &second, None).await;
    assert_eq!(resp.status(), 404);
    assert!(!resp.text().await.unwrap().contains("BEGIN:VCALENDAR"));
    let again = c.app.gql(Some(&c.patient.access), REVOKE_FEED, json!({})).await;
    assert_eq!(again["data"]["revokeCalendarFeed"], false, "nothing left to revoke");

    let audit = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: UUID!) { auditLog(actorId: $a, first: 50) { edges { node { action subjectId } } } }",
            json!({ "a": c.patient.id }),
        )
        .await;
    let actions: Vec<&str> = audit["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .filter(|a| a.starts_with("calendar_feed."))
        .collect();
    assert_eq!(actions, ["calendar_feed.revoke", "calendar_feed.create", "calendar_feed.create"], "{audit}");
}

#[tokio::test]
async fn simultaneous_creations_leave_exactly_one_live_feed() {
    let c = Clinic::open("UTC").await;
    let urls = futures_util::future::join_all((0..8).map(|_| create_feed(&c.app, &c.doctor))).await;
    assert_eq!(c.app.count_rows("calendar_feeds").await, 1);
    let mut live = 0;
    for url in &urls {
        match get(&c.app, url, None).await.status().as_u16() {
            200 => live += 1,
            404 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(live, 1, "exactly one of the eight URLs works");
}

#[tokio::test]
async fn only_doctors_and_patients_have_feeds() {
    let c = Clinic::open("UTC").await;
    for mutation in [CREATE_FEED, REVOKE_FEED] {
        assert_eq!(code(&c.app.gql(Some(&c.admin.access), mutation, json!({})).await), Some("FORBIDDEN"));
        assert_eq!(code(&c.app.gql(None, mutation, json!({})).await), Some("UNAUTHENTICATED"));
    }
    let body = c.app.gql(Some(&c.patient.access), CREATE_FEED, json!({})).await;
    let created = body["data"]["createCalendarFeed"]["createdAt"].as_str().unwrap();
    assert!(created.ends_with('Z'), "{created}");
    assert!(body["data"]["createCalendarFeed"]["url"].as_str().unwrap().ends_with(".ics"));
}

#[tokio::test]
async fn an_inactive_owner_or_one_made_admin_has_no_feed() {
    let c = Clinic::open("UTC").await;
    let patient_url = create_feed(&c.app, &c.patient).await;
    let doctor_url = create_feed(&c.app, &c.doctor).await;
    let set_active = "mutation($id: UUID!, $on: Boolean!) { setUserActive(id: $id, isActive: $on) { id } }";
    c.app.gql(Some(&c.admin.access), set_active, json!({ "id": c.patient.id, "on": false })).await;
    assert_eq!(get(&c.app, &patient_url, None).await.status(), 404, "a deactivated owner's feed");
    c.app.gql(Some(&c.admin.access), set_active, json!({ "id": c.patient.id, "on": true })).await;
    assert_eq!(get(&c.app, &patient_url, None).await.status(), 404, "deactivation revoked it for good");

    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { setUserRole(id: $id, role: ADMIN) { role } }",
            json!({ "id": c.doctor.id }),
        )
        .await;
    assert_eq!(body["data"]["setUserRole"]["role"], "ADMIN", "{body}");
    assert_eq!(get(&c.app, &doctor_url, None).await.status(), 404, "an admin's feed would show every appointment");
}

#[tokio::test]
async fn appointments_that_started_over_30_days_ago_are_left_out() {
    let mut c = Clinic::open("UTC").await;
    let soon = book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("09:00") })).await;
    let later_day = upcoming(2, 7 + 14);
    let later =
        book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": format!("{later_day}T09:00:00Z") })).await;
    let url = create_feed(&c.app, &c.patient).await;
    let (_, events) = parse(&fetch(&c.app, &url).await.1);
    assert!(events.contains_key(&uid(&soon)) && events.contains_key(&uid(&later)));

    // `soon` is 7 to 13 days ahead and `later` 14 days after it: 45 days on, `soon` started 32
    // to 38 days ago and `later` 18 to 24.
    c.advance(Duration::from_secs(45 * 86_400)).await;
    let (_, events) = parse(&fetch(&c.app, &url).await.1);
    assert!(!events.contains_key(&uid(&soon)), "over 30 days ago");
    assert!(events.contains_key(&uid(&later)), "within 30 days ago");
}

#[tokio::test]
async fn unknown_tokens_are_limited_per_address_and_then_every_feed_request_gets_429() {
    let c = Clinic::open_with("UTC", &[("LOGIN_MAX_FAILURES_PER_ADDRESS", "3"), ("LOGIN_WINDOW_SECS", "600")]).await;
    let url = create_feed(&c.app, &c.patient).await;
    for _ in 0..6 {
        assert_eq!(get(&c.app, &url, None).await.status(), 200, "good fetches are not capped by the limit");
    }
    let guess = format!("{}.ics", "A".repeat(43));
    for path in [guess.as_str(), "not-a-token.ics", "no-suffix"] {
        assert_eq!(get(&c.app, &c.app.url(&format!("/calendar/{path}")), None).await.status(), 404, "{path}");
    }
    let resp = get(&c.app, &c.app.url(&format!("/calendar/{guess}")), None).await;
    assert_eq!(resp.status(), 429, "the fourth unknown token");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "Retry-After {retry}");
    assert_eq!(get(&c.app, &url, None).await.status(), 429, "then every feed request from the address");

    c.app.state.clock.advance(Duration::from_secs(601));
    assert_eq!(get(&c.app, &url, None).await.status(), 200, "until the window has passed");
}

/// The real binary: its feed request's log line holds the path without the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_never_holds_a_feed_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::logs::serve(&dir, &[("RUST_LOG", "debug"), ("PUBLIC_URL", "http://clinic.test/")]);
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let access = &server.patient_token(&email("feedlog"), crate::helpers::PASSWORD).await;
    let body: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(access)
        .json(&json!({ "query": CREATE_FEED }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = body["data"]["createCalendarFeed"]["url"].as_str().unwrap();
    let path = url.strip_prefix("http://clinic.test").unwrap();
    assert!(path.starts_with("/calendar/"), "no doubled slash: {url}");
    let resp = client.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let lines = server.stop();
    let token = path.trim_start_matches("/calendar/").trim_end_matches(".ics");
    let all = lines.join("\n");
    assert!(!all.contains(token), "the token is not logged");
    assert!(all.contains("/calendar/<redacted>"), "the request is logged, redacted: {all}");
}

#[tokio::test]
async fn a_feed_costs_the_same_statements_for_one_appointment_as_for_five() {
    let c = Clinic::open("UTC").await;
    book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("09:00") })).await;
    let url = create_feed(&c.app, &c.doctor).await;
    let statements = |c: &Clinic| c.app.state.statements.get();
    let before = statements(&c);
    let (_, body) = fetch(&c.app, &url).await;
    let one = statements(&c) - before;
    assert_eq!(parse(&body).1.len(), 1);

    for hhmm in ["10:00", "11:00", "12:00", "13:00"] {
        let other = c.app.patient().await;
        book(&c, &other, json!({ "doctorId": c.doctor.id, "startsAt": at(hhmm) })).await;
    }
    let before = statements(&c);
    let (_, body) = fetch(&c.app, &url).await;
    let five = statements(&c) - before;
    assert_eq!(parse(&body).1.len(), 5);
    assert_eq!(one, five, "names and sequences are read once for the whole feed");
}
