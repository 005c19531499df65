//! Field errors leave `null` where the GraphQL spec puts it: a failed nullable field is `null`
//! (its key present), a failed non-null field nulls its nearest nullable parent, or all of `data`.
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    appointments::{Clinic, at},
    helpers::{TestApp, code},
    subscriptions::{connect, next_json},
};

/// An id no user has.
const NOBODY: &str = "00000000-0000-4000-8000-000000000001";

/// The raw JSON text of a POST, to see the order of keys.
async fn raw(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_failed_nullable_field_is_null_beside_the_fields_that_answered() {
    let app = TestApp::spawn().await;
    let patient = app.register("pat@example.com", "PATIENT").await;
    let body =
        app.gql(Some(&patient.access), &format!(r#"{{ me {{ id }} user(id: "{NOBODY}") {{ id }} }}"#), json!({})).await;
    assert_eq!(body["data"]["me"]["id"], patient.id.as_str(), "{body}");
    assert!(body["data"].as_object().unwrap().contains_key("user"), "the key is present: {body}");
    assert!(body["data"]["user"].is_null(), "{body}");
    assert_eq!(code(&body), Some("NOT_FOUND"));
    assert_eq!(body["errors"][0]["path"], json!(["user"]));
}

#[tokio::test]
async fn a_failed_nullable_field_alone_still_answers_data_with_its_key_null() {
    let app = TestApp::spawn().await;
    let patient = app.register("pat@example.com", "PATIENT").await;
    let body = app.gql(Some(&patient.access), &format!(r#"{{ user(id: "{NOBODY}") {{ id }} }}"#), json!({})).await;
    assert_eq!(body["data"], json!({ "user": null }), "{body}");
    assert_eq!(code(&body), Some("NOT_FOUND"));
}

#[tokio::test]
async fn nulls_are_placed_under_their_aliases_through_fragments_in_document_order() {
    let app = TestApp::spawn().await;
    let patient = app.register("pat@example.com", "PATIENT").await;
    let query = "query($u: UUID!) { ...Q last: user(id: $u) { ...U } }
        fragment Q on Query { first: user(id: $u) { id } me { ...U } ... on Query { middle: user(id: $u) { ...U } } }
        fragment U on User { id firstName }";
    let text = raw(&app, &patient.access, query, json!({ "u": NOBODY })).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(3), "{body}");
    for key in ["first", "middle", "last"] {
        assert!(body["data"].as_object().unwrap().contains_key(key), "{key}: {body}");
        assert!(body["data"][key].is_null(), "{body}");
    }
    assert_eq!(body["data"]["me"]["id"], patient.id.as_str());
    let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
    assert!(at("first") < at("me") && at("me") < at("middle") && at("middle") < at("last"), "{text}");
}

#[tokio::test]
async fn a_failed_non_null_root_field_makes_all_of_data_null() {
    let app = TestApp::spawn().await;
    let patient = app.register("pat@example.com", "PATIENT").await;
    // `users: UserConnection!` is for admins: the root has no nullable parent to stop at.
    let body = app.gql(Some(&patient.access), "{ me { id } users { totalCount } }", json!({})).await;
    assert!(body.as_object().unwrap().contains_key("data"), "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(code(&body), Some("FORBIDDEN"));
    assert_eq!(body["errors"][0]["path"], json!(["users"]));
}

/// A clinic with one booking whose doctor's time zone no longer parses (set behind the API's
/// back), so that the appointment's `date: NaiveDate!` fails wherever it is read.
async fn clinic_with_a_broken_date() -> (Clinic, String) {
    let c = Clinic::open("UTC").await;
    let booked = c.booked(&c.patient, &at("10:00")).await;
    let id = booked["id"].as_str().unwrap().to_owned();
    let backend = sea_orm::ConnectionTrait::get_database_backend(&c.app.state.db);
    sea_orm::ConnectionTrait::execute_raw(
        &c.app.state.writer,
        sea_orm::Statement::from_string(backend, "UPDATE doctor_profiles SET time_zone = 'Nowhere/Atlantis'"),
    )
    .await
    .unwrap();
    (c, id)
}

#[tokio::test]
async fn a_failed_non_null_field_nulls_its_nearest_nullable_parent_through_a_list() {
    let (c, id) = clinic_with_a_broken_date().await;
    // appointment (nullable) > history [AppointmentEvent!]! > 0 > appointment Appointment! > date NaiveDate!
    let body = c
        .app
        .gql(
            Some(&c.patient.access),
            "query($id: UUID!) { me { id } appointment(id: $id) { id history { kind appointment { date } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["errors"][0]["path"], json!(["appointment", "history", 0, "appointment", "date"]), "{body}");
    assert!(body["data"].as_object().unwrap().contains_key("appointment"), "{body}");
    assert!(body["data"]["appointment"].is_null(), "{body}");
    assert_eq!(body["data"]["me"]["id"], c.patient.id.as_str());
}

#[tokio::test]
async fn over_the_websocket_a_failed_nullable_field_is_null_too() {
    let c = Clinic::open("UTC").await;
    let mut ws = connect(&c, &c.patient.access).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let op = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": format!(r#"{{ me {{ id }} user(id: "{NOBODY}") {{ id }} }}"#) } });
    ws.send(Message::text(op.to_string())).await.unwrap();
    let reply = next_json(&mut ws, Duration::from_secs(5)).await.expect("an answer");
    assert_eq!(reply["type"], "next", "{reply}");
    let data = &reply["payload"]["data"];
    assert_eq!(data["me"]["id"], c.patient.id.as_str(), "{reply}");
    assert!(data.as_object().unwrap().contains_key("user") && data["user"].is_null(), "{reply}");
}

#[tokio::test]
async fn a_streamed_event_whose_non_null_field_failed_is_answered_with_null_data() {
    let (c, id) = clinic_with_a_broken_date().await;
    let mut ws = connect(&c, &c.patient.access).await;
    assert_eq!(next_json(&mut ws, Duration::from_secs(10)).await.unwrap()["type"], "connection_ack");
    let sub = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription { appointmentEvents { kind appointment { id date } } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    // The protocol does not acknowledge a subscribe: cancel until an event arrives.
    let mut reply = None;
    for _ in 0..20 {
        let _ = c.act(&c.admin, "cancelAppointment", &id).await;
        reply = next_json(&mut ws, Duration::from_millis(500)).await;
        if reply.is_some() {
            break;
        }
    }
    let reply = reply.expect("an event");
    assert_eq!(reply["type"], "next", "{reply}");
    assert!(reply["payload"].as_object().unwrap().contains_key("data"), "{reply}");
    assert!(
        reply["payload"]["data"].is_null(),
        "appointment: Appointment! > date: NaiveDate! fail up to the root: {reply}"
    );
    assert!(reply["payload"]["errors"][0]["path"] == json!(["appointmentEvents", "appointment", "date"]), "{reply}");
}
