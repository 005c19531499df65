//! `AppointmentEvent.actor` follows the rule of `user(id)`: a viewer who may not know a user
//! exists (a patient or a doctor looking at an admin) sees `null`, in `appointment(id).history`,
//! in the page's `history` and in the live events alike.
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, code},
    subscriptions::{connect, next_json},
};

const ONE: &str = "query($id: UUID!) { appointment(id: $id) { history { kind actor { id firstName role } } } }";
const PAGE: &str = "{ appointments(first: 5) { edges { node { id history { kind actor { id firstName role } } } } } }";

/// `(kind, actor id or null)` of each event of the appointment, as `who` reads it one way.
async fn actors(c: &Clinic, who: &Session, id: &str) -> Vec<(String, Value)> {
    let body = c.app.gql(Some(&who.access), ONE, json!({ "id": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    let one = pairs(&body["data"]["appointment"]["history"]);
    // The page answers the same.
    let body = c.app.gql(Some(&who.access), PAGE, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["appointments"]["edges"].as_array().unwrap();
    let node = edges.iter().find(|e| e["node"]["id"] == id).unwrap_or_else(|| panic!("{body}"));
    assert_eq!(pairs(&node["node"]["history"]), one, "the page and appointment(id) agree");
    one
}

fn pairs(history: &Value) -> Vec<(String, Value)> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let actor = &e["actor"];
            if !actor.is_null() {
                assert!(actor["firstName"].is_string() && actor["role"].is_string(), "{actor}");
            }
            (e["kind"].as_str().unwrap().to_owned(), actor["id"].clone())
        })
        .collect()
}

#[tokio::test]
async fn the_admin_who_acted_is_null_to_whoever_may_not_look_that_admin_up() {
    let c = Clinic::open("UTC").await;
    let input = json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("09:00") });
    let body = c.book(&c.admin, input).await;
    let id = body["data"]["createAppointment"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let body = c.act(&c.patient, "cancelAppointment", &id).await;
    assert!(body["errors"].is_null(), "{body}");

    let (admin, patient) = (json!(c.admin.id), json!(c.patient.id));
    let created_by =
        |actor: &Value| vec![("CREATED".to_owned(), actor.clone()), ("CANCELLED".to_owned(), patient.clone())];
    // The patient and the doctor may not look the admin up: null, and user(id) agrees.
    for who in [&c.patient, &c.doctor] {
        assert_eq!(actors(&c, who, &id).await, created_by(&Value::Null), "as {}", who.email);
        let body = c
            .app
            .gql(Some(&who.access), "query($id: UUID!) { user(id: $id) { id } }", json!({ "id": c.admin.id }))
            .await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    }
    // The admin sees themself; everyone sees the patient who cancelled (the doctor shares the
    // appointment with them).
    assert_eq!(actors(&c, &c.admin, &id).await, created_by(&admin));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_event_of_an_admins_booking_shows_the_patient_no_actor() {
    let c = Clinic::open("UTC").await;
    let mut sockets = Vec::new();
    for who in [&c.patient, &c.admin] {
        let mut ws = connect(&c, &who.access).await;
        assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
        let sub = json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription { appointmentEvents { kind actor { id } } }" } });
        ws.send(Message::text(sub.to_string())).await.unwrap();
        sockets.push(ws);
    }
    // The protocol does not acknowledge a subscribe: the admin books until both subscriptions
    // have seen one of their bookings; then every event each saw is checked.
    let mut seen: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    for hour in 8..18 {
        let input =
            json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at(&format!("{hour:02}:00")) });
        assert!(c.book(&c.admin, input).await["errors"].is_null());
        for (ws, events) in sockets.iter_mut().zip(seen.iter_mut()) {
            let wait = if events.is_empty() { 500 } else { 100 };
            while let Some(msg) = next_json(ws, Duration::from_millis(wait)).await {
                assert_eq!(msg["type"], "next", "{msg}");
                events.push(msg["payload"]["data"]["appointmentEvents"].clone());
            }
        }
        if seen.iter().all(|events| !events.is_empty()) {
            break;
        }
    }
    let [patient_saw, admin_saw] = seen;
    assert!(!patient_saw.is_empty() && !admin_saw.is_empty(), "the subscriptions never went live");
    for e in patient_saw {
        assert_eq!(e, json!({ "kind": "CREATED", "actor": null }), "the patient may not know the admin");
    }
    for e in admin_saw {
        assert_eq!(e, json!({ "kind": "CREATED", "actor": { "id": c.admin.id } }), "the admin sees themself");
    }
}
