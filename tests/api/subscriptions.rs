//! `appointmentEvents` over a real WebSocket (graphql-transport-ws).
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, postgres_only},
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(c: &Clinic, token: &str) -> Socket {
    let url = c.app.address.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "graphql-transport-ws");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    ws
}

pub async fn next_json(ws: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    continue;
                }
                return Some(v);
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

async fn subscribe(c: &Clinic, who: &Session) -> Socket {
    let mut ws = connect(c, &who.access).await;
    let ack = next_json(&mut ws, Duration::from_secs(10)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack");
    let sub = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription { appointmentEvents { kind status startsAt actor { id } appointment { id status patient { id } } } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    ws
}

/// The next event on a socket, its `appointmentEvents` payload.
async fn event(ws: &mut Socket) -> Option<Value> {
    let msg = next_json(ws, Duration::from_secs(5)).await?;
    assert_eq!(msg["type"], "next", "{msg}");
    Some(msg["payload"]["data"]["appointmentEvents"].clone())
}

/// Books with `patient` at successive slots until every socket has seen an event, so that each
/// subscription is known to be live (the protocol does not acknowledge a subscribe). Returns the
/// appointment ids booked.
async fn warm_up(c: &Clinic, patient: &Session, sockets: &mut [&mut Socket]) -> Vec<String> {
    let mut ids = Vec::new();
    let mut live = vec![false; sockets.len()];
    for hour in 8..18 {
        let a = c.booked(patient, &at(&format!("{hour:02}:00"))).await;
        ids.push(a["id"].as_str().unwrap().to_owned());
        for (i, ws) in sockets.iter_mut().enumerate() {
            if !live[i] {
                live[i] = next_json(ws, Duration::from_millis(500)).await.is_some();
            }
        }
        if live.iter().all(|l| *l) {
            // Drain what the remaining sockets may still have queued from this round.
            for ws in sockets.iter_mut() {
                while next_json(ws, Duration::from_millis(100)).await.is_some() {}
            }
            return ids;
        }
    }
    panic!("subscriptions never went live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_parties_and_admins_receive_every_event_of_their_appointments() {
    let c = Clinic::open("UTC").await;
    let mut patient_ws = subscribe(&c, &c.patient).await;
    let mut doctor_ws = subscribe(&c, &c.doctor).await;
    let mut admin_ws = subscribe(&c, &c.admin).await;
    let ids = warm_up(&c, &c.patient, &mut [&mut patient_ws, &mut doctor_ws, &mut admin_ws]).await;
    let id = ids.last().unwrap();

    let confirm = c.act(&c.doctor, "confirmAppointment", id).await;
    assert!(confirm["errors"].is_null(), "{confirm}");
    for ws in [&mut patient_ws, &mut doctor_ws, &mut admin_ws] {
        let e = event(ws).await.expect("an event");
        assert_eq!(e["kind"], "CONFIRMED");
        assert_eq!(e["status"], "CONFIRMED");
        assert_eq!(e["actor"]["id"], c.doctor.id.as_str());
        assert_eq!(e["appointment"]["id"], id.as_str());
    }
    c.act(&c.patient, "cancelAppointment", id).await;
    for ws in [&mut patient_ws, &mut doctor_ws, &mut admin_ws] {
        assert_eq!(event(ws).await.expect("an event")["kind"], "CANCELLED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_receive_nothing_of_appointments_not_theirs() {
    let c = Clinic::open("UTC").await;
    let stranger = c.app.patient().await;
    let mut stranger_ws = subscribe(&c, &stranger).await;
    warm_up(&c, &stranger, &mut [&mut stranger_ws]).await;

    // An event the stranger is not part of, then one they are: the first thing they hear is theirs.
    c.booked(&c.patient, &at("17:30")).await;
    let own = c.book(&c.doctor, json!({ "patientId": stranger.id, "startsAt": at("19:00") })).await;
    let own_id = own["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let e = event(&mut stranger_ws).await.expect("their own event");
    assert_eq!(e["appointment"]["id"], own_id.as_str(), "{e}");
    assert_eq!(e["appointment"]["patient"]["id"], stranger.id.as_str());
}

/// Subscribes on a socket that has no login; returns what the server answers to it, and that the
/// socket is still open afterwards (it answers a ping).
async fn refused_subscription(mut ws: Socket) -> Value {
    let ack = next_json(&mut ws, Duration::from_secs(10)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack", "the connection itself is accepted: {ack}");
    let sub = json!({ "id": "s1", "type": "subscribe", "payload": {
        "query": "subscription { appointmentEvents { kind } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let answer = next_json(&mut ws, Duration::from_secs(5)).await.expect("an answer to the subscribe");
    ws.send(Message::text(json!({ "type": "ping" }).to_string())).await.unwrap();
    let pong = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => break serde_json::from_str::<Value>(&t).unwrap(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            other => panic!("the socket stays open after the refusal, got {other:?}"),
        }
    };
    assert_eq!(pong["type"], "pong", "no `complete` follows an `error`, and the socket stays open: {pong}");
    answer
}

#[tokio::test]
async fn an_anonymous_subscription_gets_an_unauthenticated_error_message_not_a_closed_socket() {
    let c = Clinic::open("UTC").await;
    let url = c.app.address.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(json!({ "type": "connection_init" }).to_string())).await.unwrap();

    let answer = refused_subscription(ws).await;

    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["id"], "s1");
    assert_eq!(answer["payload"][0]["extensions"]["code"], "UNAUTHENTICATED", "{answer}");
    assert_eq!(answer["payload"][0]["message"], "Authentication required");
    assert!(answer["payload"][0].get("locations").is_none(), "not a field's error: no line 0, column 0: {answer}");
}

#[tokio::test]
async fn an_invalid_token_gets_an_unauthenticated_error_on_every_operation() {
    let c = Clinic::open("UTC").await;
    for token in ["not-a-token", c.patient.refresh.as_str()] {
        let ws = connect(&c, token).await;

        let answer = refused_subscription(ws).await;

        assert_eq!(answer["type"], "error", "token {token}: {answer}");
        assert_eq!(answer["payload"][0]["extensions"]["code"], "UNAUTHENTICATED", "token {token}: {answer}");
        assert_eq!(answer["payload"][0]["message"], "Invalid or expired token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_reading_patient_contacts_in_events_is_audited() {
    let c = Clinic::open("UTC").await;
    let mut ws = connect(&c, &c.doctor.access).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let sub = json!({ "id": "7", "type": "subscribe", "payload": {
        "query": "subscription { appointmentEvents { kind appointment { patient { email } } } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    warm_up(&c, &c.patient, &mut [&mut ws]).await;
    let log = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: UUID) { auditLog(actorId: $a, first: 50) { edges { node { action subjectId } } } }",
            json!({ "a": c.doctor.id }),
        )
        .await;
    let reads = log["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "patient.read" && e["node"]["subjectId"] == c.patient.id.as_str())
        .count();
    assert!(reads >= 1, "{log}");
}

#[tokio::test]
async fn documents_over_websocket_get_the_same_bounds() {
    let c = Clinic::open("UTC").await;
    let mut ws = connect(&c, &c.patient.access).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let aliases: Vec<String> = (0..31).map(|i| format!("a{i}: appointmentEvents {{ kind }}")).collect();
    let sub = json!({ "id": "9", "type": "subscribe", "payload": { "query": format!("subscription {{ {} }}", aliases.join(" ")) } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let reply = next_json(&mut ws, Duration::from_secs(5)).await.expect("an answer");
    // Refused before it runs: no data, the bound named.
    assert!(reply["payload"]["data"].is_null(), "{reply}");
    assert!(reply["payload"]["errors"][0]["message"].as_str().unwrap_or("").contains("aliases"), "{reply}");
}

/// `YYYY-MM-DDTHH:MM:00Z`, `n` half hours after midnight of the day after [`at`]'s day (so clear
/// of the bookings made at [`at`] times): the doctor may book any of them for the patient.
fn half_hour(n: u32) -> String {
    let day = crate::helpers::upcoming(2, 7) + chrono::Days::new(1);
    let t = day.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::minutes(30 * i64::from(n));
    t.format("%Y-%m-%dT%H:%M:00Z").to_string()
}

/// The doctor books for the patient at `half_hour(slot)`; panics unless it succeeds.
async fn doctor_books(c: &Clinic, slot: u32, reason: &str) {
    let input = json!({ "patientId": c.patient.id, "startsAt": half_hour(slot), "reasonForVisit": reason });
    let body = c.book(&c.doctor, input).await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Subscribes again on `ws` as operation `id`, then books (from `slot` on) until the new
/// subscription delivers an event: events flow again.
async fn resubscribed_and_live(c: &Clinic, ws: &mut Socket, id: &str, slot: u32) {
    let sub = json!({ "id": id, "type": "subscribe", "payload": {
        "query": "subscription { appointmentEvents { kind } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    for s in slot..slot + 10 {
        doctor_books(c, s, "Check-up").await;
        if let Some(msg) = next_json(ws, Duration::from_millis(500)).await {
            assert_eq!((msg["type"].as_str(), msg["id"].as_str()), (Some("next"), Some(id)), "{msg}");
            assert_eq!(msg["payload"]["data"]["appointmentEvents"]["kind"], "CREATED", "{msg}");
            return;
        }
    }
    panic!("the new subscription never delivered an event");
}

/// Reads `ws` until the subscription `id` ends: the events it delivered before, and the error it
/// ended with (which must come right before `complete`).
async fn until_complete(ws: &mut Socket, id: &str) -> (usize, Value) {
    let mut delivered = 0;
    loop {
        let msg = next_json(ws, Duration::from_secs(20)).await.expect("the subscription to end");
        assert_eq!(msg["id"], id, "{msg}");
        assert_eq!(msg["type"], "next", "the stream ends with an error first: {msg}");
        let errors = &msg["payload"]["errors"];
        if errors.is_null() {
            delivered += 1;
            continue;
        }
        let complete = next_json(ws, Duration::from_secs(5)).await.expect("complete");
        assert_eq!(complete, json!({ "type": "complete", "id": id }));
        return (delivered, errors[0].clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told_events_were_missed_and_its_subscription_ends() {
    let c = Clinic::open("UTC").await;
    let mut ws = connect(&c, &c.patient.access).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    // Large events (the reason 28 times), so the socket's buffers fill after a few dozen and the
    // server stops taking notices for this subscriber.
    let reasons: Vec<String> = (0..28).map(|i| format!("r{i}: reasonForVisit")).collect();
    let query = format!("subscription {{ appointmentEvents {{ kind appointment {{ {} }} }} }}", reasons.join(" "));
    ws.send(Message::text(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }).to_string()))
        .await
        .unwrap();
    warm_up(&c, &c.patient, &mut [&mut ws]).await;

    // Twice as many events as the server holds for a subscriber, while this one reads nothing: the
    // socket buffers take some (about 145 of these, 4 MiB, on Linux defaults), the rest overflow.
    let flood = u32::try_from(cybermed::events::EVENT_BUFFER * 2).unwrap();
    let reason = "Follow-up of a long and detailed matter. ".repeat(24);
    for chunk in (0..flood).collect::<Vec<_>>().chunks(4) {
        futures_util::future::join_all(chunk.iter().map(|s| doctor_books(&c, *s, &reason))).await;
    }

    let (delivered, error) = until_complete(&mut ws, "1").await;
    assert!(delivered < usize::try_from(flood).unwrap(), "events were missed, not all delivered");
    assert_eq!(error["extensions"]["code"], "EVENTS_MISSED", "{error}");
    assert!(error["message"].as_str().unwrap().contains("subscribe again"), "{error}");
    // The socket stays open: subscribing again follows events from now on.
    resubscribed_and_live(&c, &mut ws, "2", flood).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_postgresql_listener_reconnects_open_subscriptions_end_with_events_missed() {
    if !postgres_only("SQLite has no listener: events go from the commit to the subscribers in-process") {
        return;
    }
    let c = Clinic::open("UTC").await;
    let db = &c.app.state.db;
    let mut ws = subscribe(&c, &c.patient).await;
    warm_up(&c, &c.patient, &mut [&mut ws]).await;

    // Cut this app's listener off (only this test's database: others share the server).
    let cut = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
        ))
        .await
        .unwrap();
    assert_eq!(cut.len(), 1, "one listener");

    let (delivered, error) = until_complete(&mut ws, "1").await;
    assert_eq!(delivered, 0);
    assert_eq!(error["extensions"]["code"], "EVENTS_MISSED", "{error}");
    // The listener is back: a new subscription hears new events.
    resubscribed_and_live(&c, &mut ws, "2", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notices_of_one_transaction_go_out_in_one_statement_and_all_arrive() {
    use cybermed::{db::entities::appointment_event, events::EventNotice};
    use sea_orm::{EntityTrait, QueryOrder};
    if !postgres_only("SQLite sends nothing from inside the transaction (see `committed`)") {
        return;
    }
    let c = Clinic::open("UTC").await;
    let state = &c.app.state;
    let mut ws = subscribe(&c, &c.admin).await;
    warm_up(&c, &c.patient, &mut [&mut ws]).await;
    for hour in 8..11 {
        c.booked(&c.patient, &at(&format!("{hour:02}:30"))).await;
        assert!(event(&mut ws).await.is_some());
    }
    let events =
        appointment_event::Entity::find().order_by_asc(appointment_event::Column::Id).all(&state.db).await.unwrap();
    let notices: Vec<EventNotice> = events[events.len() - 3..]
        .iter()
        .map(|e| EventNotice {
            event_id: e.id,
            appointment_id: e.appointment_id,
            doctor_id: c.doctor.id.parse().unwrap(),
            patient_id: c.patient.id.parse().unwrap(),
        })
        .collect();

    // Sent again, all three from one transaction.
    let txn = cybermed::db::begin_write(&state.writer).await.unwrap();
    let before = state.statements.get();
    state.events.notify_in(&txn, &notices).await.unwrap();
    assert_eq!(state.statements.get() - before, 1, "one statement for three notices");
    txn.commit().await.unwrap();

    let mut heard = Vec::new();
    for _ in 0..3 {
        heard.push(event(&mut ws).await.expect("every notice arrives")["appointment"]["id"].clone());
    }
    let sent: Vec<Value> = notices.iter().map(|n| json!(n.appointment_id.to_string())).collect();
    assert_eq!(heard, sent);
}
