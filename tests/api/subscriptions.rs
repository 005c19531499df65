//! `appointmentEvents` over a real WebSocket (graphql-transport-ws).
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

use crate::{
    appointments::{Clinic, at},
    helpers::Session,
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

#[tokio::test]
async fn an_invalid_token_closes_the_connection_with_4403() {
    let c = Clinic::open("UTC").await;
    for token in ["not-a-token", c.patient.refresh.as_str()] {
        let mut ws = connect(&c, token).await;
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => break frame,
                Ok(Some(Ok(_))) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(closed.map(|f| f.code), Some(CloseCode::from(4403)), "token {token}");
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
