//! Response keys follow the selection set at every level ("Serialized Map Ordering"), also where
//! fields wait for the database, and `__schema { description }` is null.
use serde_json::json;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::{
    appointments::{Clinic, at},
    helpers::TestApp,
};

/// The response text (serde_json's `Value` would sort the keys).
async fn raw(app: &TestApp, token: &str, query: &str) -> String {
    let resp =
        app.client.post(app.url("/graphql")).bearer_auth(token).json(&json!({ "query": query })).send().await.unwrap();
    resp.text().await.unwrap()
}

/// Whether `keys` appear in `text` in this order (each key as `"key":`), at their first occurrence
/// after the previous one.
fn in_order(text: &str, keys: &[&str]) -> bool {
    let mut from = 0;
    for key in keys {
        match text[from..].find(&format!("\"{key}\":")) {
            Some(i) => from += i + key.len() + 3,
            None => return false,
        }
    }
    true
}

#[tokio::test]
async fn root_keys_follow_the_selection_even_when_the_first_field_waits() {
    let c = Clinic::open("Europe/Berlin").await;
    let token = &c.patient.access;
    let text = raw(&c.app, token, "{ doctors(first: 1) { totalCount } me { id } }").await;
    assert!(in_order(&text, &["doctors", "totalCount", "me", "id"]), "{text}");
    let text = raw(&c.app, token, "{ me { id } doctors(first: 1) { totalCount } }").await;
    assert!(in_order(&text, &["me", "doctors"]), "{text}");
    // Aliases and fragments: the order of the document.
    let text = raw(
        &c.app,
        token,
        "query { b: doctors(first: 1) { totalCount } ...Mine a: me { id } } fragment Mine on Query { me { role } }",
    )
    .await;
    assert!(in_order(&text, &["b", "me", "a"]), "{text}");
}

#[tokio::test]
async fn nested_keys_follow_the_selection_where_fields_wait_for_the_database() {
    let c = Clinic::open("Europe/Berlin").await;
    let when = at("10:00");
    let booked = c.booked(&c.patient, &when).await;
    assert!(booked["id"].is_string());
    let token = &c.doctor.access;
    // The actor and the profile are loaded; the scalars are at hand.
    let text = raw(
        &c.app,
        token,
        "{ appointments(first: 5) { edges { node { history { actor { doctorProfile { timeZone } id } kind at } id } } totalCount } }",
    )
    .await;
    assert!(in_order(&text, &["history", "actor", "kind", "at"]), "actor first, as selected: {text}");
    let text = raw(&c.app, token, "{ me { doctorProfile { specialty } email id } }").await;
    assert!(in_order(&text, &["doctorProfile", "specialty", "email", "id"]), "{text}");
}

#[tokio::test]
async fn the_schema_has_no_description() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ __schema { description queryType { name } } }", json!({})).await;
    assert_eq!(body["data"]["__schema"], json!({ "description": null, "queryType": { "name": "Query" } }), "{body}");
}

/// The raw text of the next `next` message on a socket.
async fn next_text(ws: &mut WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>) -> String {
    use futures_util::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("a message in time");
        if let Some(Ok(Message::Text(t))) = msg
            && t.contains(r#""type":"next""#)
        {
            return t.to_string();
        }
    }
}

#[tokio::test]
async fn over_a_websocket_root_and_event_keys_follow_the_selection() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let c = Clinic::open("Europe/Berlin").await;
    let mut req = format!("{}/graphql/ws", c.app.address.replace("http://", "ws://")).into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let send = |v: serde_json::Value| Message::text(v.to_string());
    ws.send(send(
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", c.patient.access) } }),
    ))
    .await
    .unwrap();
    ws.send(send(json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ doctors(first: 1) { totalCount } me { id } }" } })))
        .await
        .unwrap();
    let text = next_text(&mut ws).await;
    assert!(in_order(&text, &["doctors", "me"]), "{text}");

    let live = "subscription { appointmentEvents { actor { id } appointment { doctor { doctorProfile { timeZone } id } id } kind } }";
    ws.send(send(json!({ "id": "s", "type": "subscribe", "payload": { "query": live } }))).await.unwrap();
    // The subscription is registered once the server has answered something after it.
    ws.send(send(json!({ "id": "p", "type": "subscribe", "payload": { "query": "{ me { id } }" } }))).await.unwrap();
    next_text(&mut ws).await;
    c.booked(&c.patient, &at("11:00")).await;
    let text = next_text(&mut ws).await;
    assert!(in_order(&text, &["actor", "appointment", "doctor", "doctorProfile", "id", "id", "kind"]), "{text}");
}
