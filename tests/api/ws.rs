//! A `graphql-transport-ws` client for the tests: connect, sign in, read the next message, run one
//! operation.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::helpers::TestApp;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket to `/graphql/ws` speaking `graphql-transport-ws`, before `connection_init`.
pub async fn connect(app: &TestApp) -> Socket {
    let url = app.address.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Sends `connection_init` with `token`; returns the answer (`connection_ack`, or how it closed).
pub async fn init(app: &TestApp, token: &str) -> (Socket, Value) {
    let mut ws = connect(app).await;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    let answer = next(&mut ws, Duration::from_secs(10)).await.expect("an answer to connection_init");
    (ws, answer)
}

/// A socket past `connection_ack`, signed in with `token`.
pub async fn open(app: &TestApp, token: &str) -> Socket {
    let (ws, answer) = init(app, token).await;
    assert_eq!(answer["type"], "connection_ack", "{answer}");
    ws
}

/// What arrives next: a JSON message, or `{"closed": code}` (`null` when the socket just ended);
/// `None` when nothing came within `wait`.
pub async fn next(ws: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "ping" {
                    return Some(v);
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(json!({ "closed": frame.map(|f| u16::from(f.code)) }));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return Some(json!({ "closed": null })),
            Err(_) => return None,
        }
    }
}

/// The close code the socket ends with, waiting at most `wait` (skipping other messages).
pub async fn closed_within(ws: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = next(ws, left).await?;
        if msg.get("closed").is_some() {
            return Some(msg["closed"].clone());
        }
    }
}

/// Sends `subscribe` for one operation, without waiting for anything.
pub async fn subscribe(ws: &mut Socket, id: &str, query: &str) {
    let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
    ws.send(Message::text(msg.to_string())).await.unwrap();
}

/// Runs one operation on the socket; its `next`/`error` message (or how the socket closed).
pub async fn run(ws: &mut Socket, id: &str, query: &str, variables: Value) -> Value {
    let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    ws.send(Message::text(msg.to_string())).await.unwrap();
    loop {
        let m = next(ws, Duration::from_secs(10)).await.expect("an answer");
        if m.get("closed").is_some() || m["id"] == id && m["type"] != "complete" {
            return m;
        }
    }
}
