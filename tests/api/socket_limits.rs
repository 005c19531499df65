//! The WebSocket limits (sockets per user, subscriptions per socket), the protocol's 4401 for a
//! `subscribe` before `connection_ack`, and live events that cost the database one read however
//! many subscribers they reach, so that one user's subscriptions cannot delay anyone else.
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    appointments::Clinic,
    helpers::{PASSWORD, Session, TestApp, email, upcoming},
    ws::{Socket, connect, init, next, open, subscribe},
};

const EVENTS: &str = "subscription { appointmentEvents { kind status startsAt actor { id firstName } \
     appointment { id status startsAt doctor { id firstName email } patient { id firstName email } } } }";

/// `YYYY-MM-DDTHH:MM:00Z`, `day` days after the first Wednesday at least a week ahead.
fn slot(day: u64, hhmm: &str) -> String {
    format!("{}T{hhmm}:00Z", upcoming(2, 7) + chrono::Days::new(day))
}

/// The `n`-th half-hour slot of the doctor's day (08:00–18:00, 20 a day), from `day` on.
fn nth_slot(day: u64, n: u32) -> String {
    let (d, i) = (u64::from(n / 20), n % 20);
    slot(day + d, &format!("{:02}:{:02}", 8 + i / 2, (i % 2) * 30))
}

#[tokio::test]
async fn a_user_holds_at_most_eight_sockets_over_all_their_logins_and_one_more_is_closed_with_4429() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("many"), "PATIENT").await;
    let second_login = app.login(&user.email, PASSWORD).await;
    let mut sockets = Vec::new();
    for i in 0..8 {
        let token = if i % 2 == 0 { &user.access } else { &second_login.access };
        sockets.push(open(&app, token).await);
    }

    // A ninth, from either login, is closed at `connection_init`.
    for token in [&user.access, &second_login.access] {
        let (_, answer) = init(&app, token).await;
        assert_eq!(answer, json!({ "closed": 4429 }), "the ninth socket");
    }
    // Others are not affected.
    let other = app.register(&email("other"), "PATIENT").await;
    let mut theirs = open(&app, &other.access).await;
    subscribe(&mut theirs, "q", "{ me { id } }").await;
    assert_eq!(next(&mut theirs, Duration::from_secs(5)).await.unwrap()["payload"]["data"]["me"]["id"], other.id);

    // A socket that ends gives its place back.
    sockets.pop().unwrap().close(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, answer) = init(&app, &user.access).await;
        if answer["type"] == "connection_ack" {
            break;
        }
        assert_eq!(answer, json!({ "closed": 4429 }));
        assert!(Instant::now() < deadline, "the closed socket's place was never given back");
    }
}

#[tokio::test]
async fn a_socket_runs_at_most_sixteen_subscriptions_and_one_more_gets_rate_limited_with_retry_after_0() {
    let c = Clinic::open("UTC").await;
    let mut ws = open(&c.app, &c.patient.access).await;
    for i in 0..16 {
        subscribe(&mut ws, &format!("s{i}"), "subscription { appointmentEvents { kind } }").await;
    }

    subscribe(&mut ws, "s16", "subscription { appointmentEvents { kind } }").await;
    let refused = next(&mut ws, Duration::from_secs(5)).await.expect("an answer to the 17th");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "s16", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["retryAfter"], 0, "{refused}");
    // Queries still run beside them.
    subscribe(&mut ws, "q", "{ me { id } }").await;
    let me = next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(me["payload"]["data"]["me"]["id"], c.patient.id.as_str(), "{me}");
    assert_eq!(next(&mut ws, Duration::from_secs(5)).await.unwrap(), json!({ "type": "complete", "id": "q" }));

    // The sixteen keep running: each hears every event (booked until all of them are live).
    let mut n = 0;
    let heard = loop {
        c.booked(&c.patient, &nth_slot(0, n)).await;
        n += 1;
        let mut ids = std::collections::BTreeSet::new();
        while let Some(m) = next(&mut ws, Duration::from_millis(500)).await {
            assert_eq!(m["type"], "next", "{m}");
            assert!(ids.insert(m["id"].as_str().unwrap().to_owned()), "one event each: {m}");
        }
        if ids.len() == 16 || n == 10 {
            break ids;
        }
    };
    assert_eq!(heard, (0..16).map(|i| format!("s{i}")).collect(), "the sixteen admitted ones, not the 17th");

    // A stopped subscription frees its place: the next one is admitted and hears events.
    ws.send(Message::text(json!({ "id": "s0", "type": "complete" }).to_string())).await.unwrap();
    subscribe(&mut ws, "s17", "subscription { appointmentEvents { kind } }").await;
    for _ in 0..10 {
        c.booked(&c.patient, &nth_slot(0, n)).await;
        n += 1;
        let mut ids = std::collections::BTreeSet::new();
        while let Some(m) = next(&mut ws, Duration::from_millis(500)).await {
            if m == json!({ "type": "complete", "id": "s0" }) {
                continue;
            }
            assert_eq!(m["type"], "next", "{m}");
            ids.insert(m["id"].as_str().unwrap().to_owned());
        }
        assert!(!ids.contains("s0"), "{ids:?}");
        if ids.contains("s17") {
            assert_eq!(ids.len(), 16, "{ids:?}");
            return;
        }
    }
    panic!("the subscription admitted after a stop never heard an event");
}

#[tokio::test]
async fn a_subscribe_before_connection_ack_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    let mut ws = connect(&app).await;
    subscribe(&mut ws, "1", "subscription { appointmentEvents { kind } }").await;
    assert_eq!(next(&mut ws, Duration::from_secs(5)).await, Some(json!({ "closed": 4401 })));
}

/// The doctor books `who` at the `n`-th slot from tomorrow of [`slot`]'s day; the answer and the
/// statements the server ran meanwhile.
async fn doctor_books(c: &Clinic, n: u32, who: &Session) -> (Value, u64) {
    let input = json!({ "patientId": who.id, "startsAt": nth_slot(1, n), "reasonForVisit": "Check-up" });
    let before = c.app.state.statements.get();
    let body = c.book(&c.doctor, input).await;
    assert!(body["errors"].is_null(), "{body}");
    (body, c.app.state.statements.get() - before)
}

/// Reads `ws` until every one of `ids` delivered one `next` (the event's payloads, by id).
async fn one_event_each(ws: &mut Socket, ids: &[String]) -> Vec<Value> {
    let mut got = std::collections::HashMap::new();
    while got.len() < ids.len() {
        let m = next(ws, Duration::from_secs(10)).await.expect("every subscription hears the event");
        assert_eq!(m["type"], "next", "{m}");
        assert!(m["payload"]["errors"].is_null(), "{m}");
        got.insert(m["id"].as_str().unwrap().to_owned(), m["payload"]["data"]["appointmentEvents"].clone());
    }
    ids.iter().map(|id| got.remove(id).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaching_twenty_subscribers_costs_one_read_and_one_audit_insert() {
    let c = Clinic::open_with("UTC", &[("WS_MAX_SOCKETS_PER_USER", "1000"), ("WS_MAX_SUBSCRIPTIONS", "1000")]).await;
    let state = &c.app.state;
    // What a booking costs with nobody listening (after a first one: nothing left to warm up).
    doctor_books(&c, 0, &c.patient).await;
    let (_, alone) = doctor_books(&c, 1, &c.app.patient().await).await;

    // Twenty subscriptions that hear every event of the doctor's: four admins with two each, and
    // the doctor on six sockets with two each; all read the patient's email.
    let mut admins = Vec::new();
    for i in 0..4 {
        admins.push(c.app.admin(&email(&format!("admin{i}"))).await);
    }
    let mut sockets = Vec::new();
    for who in admins.iter().chain(std::iter::repeat_n(&c.doctor, 6)) {
        let mut ws = open(&c.app, &who.access).await;
        subscribe(&mut ws, "a", EVENTS).await;
        subscribe(&mut ws, "b", EVENTS).await;
        sockets.push(ws);
    }
    let ids = ["a".to_owned(), "b".to_owned()];
    // Booked until every subscription is live (the protocol does not acknowledge a subscribe).
    let mut n = 2;
    loop {
        doctor_books(&c, n, &c.patient).await;
        n += 1;
        let mut all = true;
        for ws in &mut sockets {
            let mut heard = 0;
            while next(ws, Duration::from_millis(300)).await.is_some() {
                heard += 1;
            }
            all &= heard == 2;
        }
        if all {
            break;
        }
        assert!(n < 12, "the subscriptions never went live");
    }
    // Their logins in the login cache, as after any recent request of theirs.
    for who in admins.iter().chain([&c.doctor]) {
        assert!(c.app.me(&who.access).await.is_ok());
    }

    // An event of a patient none of them has read yet: twenty deliveries, twenty audit entries.
    let patient = c.app.patient().await;
    let reads_before = c.app.count_rows("audit_log").await;
    let before = state.statements.get();
    let (booked, _) = doctor_books(&c, n, &patient).await;
    for ws in &mut sockets {
        for e in one_event_each(ws, &ids).await {
            assert_eq!(e["kind"], "CREATED");
            assert_eq!(e["actor"]["id"], c.doctor.id.as_str(), "{e}");
            assert_eq!(e["appointment"]["id"], booked["data"]["createAppointment"]["id"], "{e}");
            assert_eq!(e["appointment"]["patient"]["email"], patient.email.as_str(), "{e}");
            assert!(e["appointment"]["doctor"]["firstName"].is_string(), "{e}");
        }
    }
    let fan_out = state.statements.get() - before - alone;
    assert!(fan_out <= 2, "one read of the event and one insert of the reads, not {fan_out} statements");
    // The booking's own audit entry, and one patient.read per subscription (operation).
    let entries = c.app.count_rows("audit_log").await - reads_before;
    assert_eq!(entries, 1 + 20, "{entries} entries");
    // Each under its own operation's request id.
    let log = c
        .app
        .gql(
            Some(&admins[0].access),
            "query($s: UUID) { auditLog(first: 50, subjectId: $s) { edges { node { action requestId } } } }",
            json!({ "s": patient.id }),
        )
        .await;
    let ids: std::collections::HashSet<&str> = log["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "patient.read")
        .map(|e| e["node"]["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 20, "{log}");
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_subscriptions_of_one_user_delay_no_one_else() {
    let c = Clinic::open("UTC").await;
    let attacker = &c.patient;
    let other = c.app.patient().await;

    // Ten sockets: the ninth and tenth are closed.
    let mut sockets = Vec::new();
    let mut closed = 0;
    for _ in 0..10 {
        let (ws, answer) = init(&c.app, &attacker.access).await;
        if answer["type"] == "connection_ack" {
            sockets.push(ws);
        } else {
            assert_eq!(answer, json!({ "closed": 4429 }));
            closed += 1;
        }
    }
    assert_eq!((sockets.len(), closed), (8, 2));

    // 5,000 subscriptions, 625 per socket, sent all at once; each socket read on its own task.
    let readers: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(s, ws)| {
            tokio::spawn(async move {
                let (mut tx, mut rx) = ws.split();
                let send = async move {
                    for i in 0..625 {
                        let msg =
                            json!({ "id": format!("{s}-{i}"), "type": "subscribe", "payload": { "query": EVENTS } });
                        tx.send(Message::text(msg.to_string())).await.unwrap();
                    }
                    tx
                };
                let read = async {
                    let (mut refused, mut events) = (0, 0);
                    while refused < 625 - 16 {
                        match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
                            Ok(Some(Ok(Message::Text(t)))) => {
                                let m: Value = serde_json::from_str(&t).unwrap();
                                match m["type"].as_str() {
                                    Some("error") => {
                                        assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{m}");
                                        refused += 1;
                                    }
                                    Some("next") => events += 1,
                                    _ => {}
                                }
                            }
                            Ok(Some(Ok(_))) => {}
                            other => panic!("socket {s} ended: {other:?}"),
                        }
                    }
                    (refused, events)
                };
                let (tx, (refused, _)) = tokio::join!(send, read);
                (tx, rx, refused)
            })
        })
        .collect();

    // Meanwhile, another user is answered at once.
    let timed = |what: &'static str, started: Instant| {
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    };
    let started = Instant::now();
    assert_eq!(c.app.me(&other.access).await.as_deref(), Ok(other.id.as_str()));
    timed("me", started);
    let started = Instant::now();
    c.booked(&other, &nth_slot(0, 0)).await;
    timed("a booking", started);

    let mut sockets = Vec::new();
    let mut refused = 0;
    for r in readers {
        let (tx, rx, n) = r.await.unwrap();
        refused += n;
        sockets.push((tx, rx));
    }
    assert_eq!(refused, 5_000 - 8 * 16, "every subscription over the limit is refused");

    // The attacker books: each event reaches their 128 subscriptions, while others are answered.
    let attack = async {
        for n in 1..6 {
            c.booked(attacker, &nth_slot(0, n)).await;
        }
    };
    let others = async {
        for n in 6..11 {
            let started = Instant::now();
            assert_eq!(c.app.me(&other.access).await.as_deref(), Ok(other.id.as_str()));
            timed("me during events", started);
            let started = Instant::now();
            c.booked(&other, &nth_slot(0, n)).await;
            timed("a booking during events", started);
        }
    };
    tokio::join!(attack, others);
    // The events do arrive: the first socket hears the attacker's five on each of its 16 (some may
    // have come with the refusals already).
    let (_, rx) = &mut sockets[0];
    let mut events = 0;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(2), rx.next()).await {
        if let Message::Text(t) = m
            && serde_json::from_str::<Value>(&t).unwrap()["type"] == "next"
        {
            events += 1;
        }
    }
    assert!(events > 0, "the attacker's own subscriptions still hear their events");
}
