//! GraphQL over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`) on `/graphql/ws`.
//!
//! A socket is the login of its `connection_init` token *as that login is now*: every operation
//! checks the login again before it runs ([`SocketOperations`]), and a watcher closes the socket
//! with 4401 once the login ends — woken by every account change (here, or on another replica
//! through PostgreSQL notices), at the token's expiry, and by a fallback timer. Frames are bounded
//! (1009 above [`MAX_MESSAGE_BYTES`]) and `connection_init` must come within [`INIT_TIMEOUT`]
//! (else 4408). A user holds at most `WS_MAX_SOCKETS_PER_USER` sockets in this process (one more
//! is closed with 4429 at `connection_init`), a socket at most `WS_MAX_SUBSCRIPTIONS` running
//! subscriptions (`SubscriptionLimit`), and a `subscribe` before `connection_ack` closes the
//! socket with 4401. Live events reach subscriptions through [`super::live`].
//!
//! A `connection_init` without a token, or with a bad one, is acknowledged all the same, as over
//! HTTP: every operation on that socket is then refused with `UNAUTHENTICATED` ("Authentication
//! required", or "Invalid or expired token"), which graphql-transport-ws says with an `error`
//! message (GraphiQL shows it) instead of a closed socket that leaves a client guessing.
//!
//! Works around async-graphql 7.2.1's `http::WebSocket` (1011 where graphql-transport-ws says 4401,
//! no `error` message, no init deadline), driven directly because async-graphql-axum's
//! `GraphQLWebSocket` has no hook on what it sends; no upstream issue found, 8.0.0-rc.5 unchanged.
//! See docs/async-graphql.md.
use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    http::{WebSocketProtocols, WsMessage},
    parser::types::OperationType,
};
use axum::{
    body::Bytes,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures_util::{SinkExt, StreamExt, future::ready};
use tokio::sync::broadcast::error::RecvError;

use super::live::SocketSlot;
use super::socket_operation::Refusal;
use super::{ClientAddr, http::GraphqlState};
use crate::AppState;
use cybermed_core::{auth::viewer::bearer_token, login::SocketLogin};

/// Largest message (and frame) accepted from a client; a larger one closes the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a socket may stay open without `connection_init` (then 4408).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a login goes unchecked when no account change was heard of (changes made where no
/// notice is sent, such as the command line beside a running SQLite server).
const FALLBACK_CHECK: Duration = Duration::from_secs(30);

/// What a socket's `connection_init` said, once it came: a login, or why there is none.
enum Opened {
    /// With the socket's place among its user's open sockets, given back when the socket ends.
    Login(Arc<SocketLogin>, #[expect(dead_code, reason = "held for its drop: the place is given back")] SocketSlot),
    /// No `Authorization` in the payload.
    Anonymous,
    /// An `Authorization` that is not a valid access token of a current login.
    InvalidToken,
    /// The user holds `WS_MAX_SOCKETS_PER_USER` open sockets already: closed with 4429.
    TooMany,
}

impl Opened {
    fn login(&self) -> Option<&Arc<SocketLogin>> {
        match self {
            Self::Login(l, _) => Some(l),
            Self::Anonymous | Self::InvalidToken | Self::TooMany => None,
        }
    }
}

/// `GET /graphql/ws`. The access token comes in the `connection_init` payload as
/// `{"Authorization": "Bearer …"}`; without one (or with a bad one) the connection is acknowledged
/// and every operation on it is refused with `UNAUTHENTICATED`.
pub async fn ws(
    State(st): State<GraphqlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().parse::<WebSocketProtocols>().ok()));
    let Some(protocol) = protocol else {
        return (StatusCode::BAD_REQUEST, "Sec-WebSocket-Protocol must be graphql-transport-ws").into_response();
    };
    // The client address, as for HTTP.
    let peer = SocketAddr::new(
        cybermed_core::net::client_ip(peer.ip(), &headers, &st.app.config.trusted_proxies),
        peer.port(),
    );
    upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve(st, socket, protocol, peer))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Whether a read failed because the client sent more than [`MAX_MESSAGE_BYTES`].
fn is_too_big(err: axum::Error) -> bool {
    err.into_inner().downcast_ref::<tungstenite::Error>().is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

async fn serve(st: GraphqlState, socket: WebSocket, protocol: WebSocketProtocols, peer: SocketAddr) {
    // Counted in `cybermed_ws_connections` until this returns, however it ends.
    let _open = crate::metrics::WsConnection::open();
    let (mut sink, stream) = socket.split();
    let too_big = Arc::new(AtomicBool::new(false));
    let login: Arc<OnceLock<Opened>> = Arc::default();
    // Answers to subscriptions refused before they reach the executor.
    let (refusals_tx, mut refusals) = tokio::sync::mpsc::channel::<Message>(16);
    let limit = Arc::new(SubscriptionLimit {
        login: login.clone(),
        max: usize::try_from(st.app.config.ws_max_subscriptions).unwrap_or(usize::MAX),
        running: Mutex::default(),
        last: Mutex::default(),
        refusals: refusals_tx,
    });
    let input = {
        let (too_big, limit) = (too_big.clone(), limit.clone());
        stream
            .scan((), move |(), r| {
                ready(match r {
                    Ok(Message::Text(t)) => Some(Some(Bytes::from(t))),
                    Ok(Message::Binary(b)) => Some(Some(b)),
                    Ok(_) => Some(None),
                    Err(e) => {
                        too_big.store(is_too_big(e), Ordering::Relaxed);
                        None
                    }
                })
            })
            .filter_map(ready)
            .filter_map(move |msg| {
                let limit = limit.clone();
                async move { limit.admit(msg).await }
            })
    };
    let output = {
        let (app, slot) = (st.app.clone(), login.clone());
        let loginless = {
            let login = login.clone();
            move || protocol == WebSocketProtocols::GraphQLWS && login.get().is_some_and(|o| o.login().is_none())
        };
        let too_many = {
            let login = login.clone();
            move || login.get().is_some_and(|o| matches!(o, Opened::TooMany))
        };
        let mut refused = HashSet::new();
        async_graphql::http::WebSocket::new(st.ws_schema.clone(), input, protocol)
            .on_connection_init(move |payload| init(app, payload, peer, slot))
            .filter_map(move |msg| {
                ready(match msg {
                    // The user holds as many sockets as they may: this one is closed instead of
                    // acknowledged.
                    WsMessage::Text(text) if text.starts_with(r#"{"type":"connection_ack""#) && too_many() => {
                        Some(close(4429, "Too many open sockets"))
                    }
                    WsMessage::Text(text) => {
                        limit.sent(&text);
                        if loginless() {
                            loginless_reply(text, &mut refused).map(Message::from)
                        } else {
                            Some(Message::Text(text.into()))
                        }
                    }
                    // The executor's answer to a `subscribe` before `connection_ack`:
                    // graphql-transport-ws closes with 4401 then.
                    WsMessage::Close(1011, _) => Some(close(4401, "Unauthorized")),
                    WsMessage::Close(code, reason) => Some(close(code, &reason)),
                })
            })
    };
    futures_util::pin_mut!(output);
    let mut changes = st.app.events.account_changes();
    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    let recheck = tokio::time::sleep(FALLBACK_CHECK);
    futures_util::pin_mut!(init_deadline, recheck);
    let (mut watching, mut hearing) = (false, true);
    let last_word = loop {
        let initialised = login.get().is_some();
        let opened = login.get().and_then(Opened::login);
        if let Some(l) = opened
            && !watching
        {
            watching = true;
            recheck.as_mut().reset(next_check(&st.app, l));
        }
        let check_now = tokio::select! {
            msg = output.next() => match msg {
                Some(msg @ Message::Close(_)) => break Some(msg),
                Some(msg) => {
                    if sink.send(msg).await.is_err() {
                        return;
                    }
                    false
                }
                None if too_big.load(Ordering::Relaxed) => break Some(close(1009, "Message too big")),
                None => break None,
            },
            () = &mut init_deadline, if !initialised => {
                break Some(close(4408, "Connection initialisation timeout"));
            }
            changed = changes.recv(), if watching && hearing => match changed {
                Ok(Some(user)) => opened.is_some_and(|l| l.user_id() == user),
                Ok(None) | Err(RecvError::Lagged(_)) => true,
                // Only when the service is going away; the timers still check.
                Err(RecvError::Closed) => {
                    hearing = false;
                    false
                }
            },
            () = &mut recheck, if watching => true,
            Some(msg) = refusals.recv() => {
                if sink.send(msg).await.is_err() {
                    return;
                }
                false
            }
        };
        if let (true, Some(l)) = (check_now, login.get().and_then(Opened::login)) {
            match l.holds(&st.app).await {
                Ok(true) => recheck.as_mut().reset(next_check(&st.app, l)),
                Ok(false) => break Some(close(4401, "Unauthorized")),
                Err(_) => {
                    tracing::warn!("could not check a WebSocket's login; trying again shortly");
                    recheck.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(1));
                }
            }
        }
    };
    if let Some(msg) = last_word {
        let _ = sink.send(msg).await;
    }
    let _ = sink.close().await;
}

/// When to check a login next without a notice: at the fallback interval, or just after its token
/// expires if that is sooner.
fn next_check(app: &AppState, login: &SocketLogin) -> tokio::time::Instant {
    let left = (login.valid_until() - app.clock.now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + Ord::min(FALLBACK_CHECK, left + Duration::from_millis(100))
}

/// On a socket without a login, every operation is refused before it runs (one `next` with the
/// errors, then `complete`); graphql-transport-ws says that with one `error` message, which
/// clients such as GraphiQL show. Returns the message to send instead, or `None` to send nothing.
fn loginless_reply(text: String, refused: &mut HashSet<String>) -> Option<String> {
    if text.starts_with(r#"{"type":"next""#) {
        let Ok(mut msg) = serde_json::from_str::<serde_json::Value>(&text) else { return Some(text) };
        let Some(id) = msg.get("id").and_then(|i| i.as_str()).map(str::to_owned) else { return Some(text) };
        let Some(errors) = msg.get_mut("payload").and_then(|p| p.get_mut("errors")).map(serde_json::Value::take) else {
            return Some(text);
        };
        let reply = serde_json::json!({ "id": id, "type": "error", "payload": errors }).to_string();
        refused.insert(id);
        return Some(reply);
    }
    if text.starts_with(r#"{"type":"complete""#)
        && let Ok(msg) = serde_json::from_str::<serde_json::Value>(&text)
        && msg.get("id").and_then(|i| i.as_str()).is_some_and(|id| refused.remove(id))
    {
        // No `complete` follows an `error`.
        return None;
    }
    Some(text)
}

/// Opens the socket's login from `connection_init`'s `Authorization`. Never refuses the
/// connection: without a valid token it is acknowledged, and its operations are refused.
async fn init(
    app: AppState,
    payload: serde_json::Value,
    peer: SocketAddr,
    slot: Arc<OnceLock<Opened>>,
) -> async_graphql::Result<async_graphql::Data> {
    let header = ["Authorization", "authorization"].iter().find_map(|k| payload.get(*k).and_then(|v| v.as_str()));
    let opened = match header {
        None => Opened::Anonymous,
        Some(header) => match bearer_token(header) {
            None => Opened::InvalidToken,
            Some(token) => match SocketLogin::open(&app, token.to_owned()).await {
                // The socket takes its place among its user's open sockets here, once the user is
                // known; it gives it back when it ends, however it ends.
                Ok((login, _)) => match app.live.open_socket(login.user_id(), app.config.ws_max_sockets_per_user) {
                    Some(slot) => Opened::Login(Arc::new(login), slot),
                    None => Opened::TooMany,
                },
                Err(_) => Opened::InvalidToken,
            },
        },
    };
    let mut data = async_graphql::Data::default();
    match &opened {
        // Each operation gets loaders of its own (`SocketOperation::prepare_request`).
        Opened::Login(login, _) => {
            data.insert(login.clone());
            data.insert(ClientAddr(peer.ip().to_string()));
        }
        Opened::Anonymous => data.insert(Refusal("Authentication required")),
        Opened::InvalidToken | Opened::TooMany => data.insert(Refusal("Invalid or expired token")),
    }
    let _ = slot.set(opened);
    Ok(data)
}

/// At most `WS_MAX_SUBSCRIPTIONS` running subscriptions on a signed-in socket: one more is
/// answered with an `error` message (`RATE_LIMITED`, `retryAfter` 0) before it reaches the
/// executor, and the others keep running. A subscription runs from its `subscribe` until its
/// `complete` (from either side; an `error` ends nothing that was admitted).
struct SubscriptionLimit {
    login: Arc<OnceLock<Opened>>,
    max: usize,
    /// The ids of the running subscriptions.
    running: Mutex<HashSet<String>>,
    /// The last document classified, its operation name, and whether that is a subscription.
    last: Mutex<Option<(String, Option<String>, bool)>>,
    refusals: tokio::sync::mpsc::Sender<Message>,
}

/// The fields of a client's message that the limit reads.
#[derive(serde::Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<SubscribePayload>,
}

#[derive(serde::Deserialize)]
struct SubscribePayload {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

impl SubscriptionLimit {
    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client's message to pass on to the executor, or `None` when it is a subscription over
    /// the limit (then answered here). Waits while the answers of earlier refusals are not sent.
    async fn admit(&self, msg: Bytes) -> Option<Bytes> {
        if self.login.get().is_none_or(|o| o.login().is_none()) {
            return Some(msg);
        }
        let Ok(ClientMessage { kind, id: Some(id), payload }) = serde_json::from_slice::<ClientMessage>(&msg) else {
            return Some(msg);
        };
        match kind.as_str() {
            "complete" | "stop" => {
                self.running().remove(&id);
                Some(msg)
            }
            "subscribe" | "start" => {
                let Some(SubscribePayload { query: Some(query), operation_name }) = payload else { return Some(msg) };
                let subscription = self.is_subscription(query, operation_name.as_deref());
                if !subscription {
                    return Some(msg);
                }
                {
                    let mut running = self.running();
                    // The same id again replaces its subscription.
                    if running.contains(&id) || running.len() < self.max {
                        running.insert(id);
                        return Some(msg);
                    }
                }
                tracing::info!(
                    request_id = %uuid::Uuid::new_v4(),
                    operation = %crate::metrics::operation_name(operation_name.as_deref()),
                    outcome = crate::metrics::Outcome::Refused.as_str(),
                    duration_ms = 0,
                    "websocket operation: too many subscriptions on this socket"
                );
                let error =
                    crate::errors::request_error(cybermed_core::error::AppError::RateLimited { retry_after: 0 });
                let reply = serde_json::json!({ "id": id, "type": "error", "payload": [error] });
                // Only when the socket is ending.
                let _ = self.refusals.send(Message::Text(reply.to_string().into())).await;
                None
            }
            _ => Some(msg),
        }
    }

    /// Whether the operation a `subscribe` asks for is a subscription. The socket's last answer is
    /// kept: a client sending one document again and again costs one parse.
    fn is_subscription(&self, query: String, operation_name: Option<&str>) -> bool {
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((q, name, answer)) = &*last
            && *q == query
            && name.as_deref() == operation_name
        {
            return *answer;
        }
        // A document that does not parse or keep the bounds is refused by the executor. Parsed
        // here without the executor's document cache: a document found there skips the
        // extensions' own parse step (and with it the operation's name).
        let answer = super::limits::prescan(&query).is_ok()
            && async_graphql::parser::parse_query(&query).is_ok_and(|doc| {
                super::selected_operation(&doc, operation_name)
                    .is_some_and(|op| op.node.ty == OperationType::Subscription)
            });
        *last = Some((query, operation_name.map(str::to_owned), answer));
        answer
    }

    /// Notes what the executor sends: a `complete` frees its subscription's place.
    fn sent(&self, text: &str) {
        if text.starts_with(r#"{"type":"complete""#)
            && let Ok(ClientMessage { id: Some(id), .. }) = serde_json::from_str::<ClientMessage>(text)
        {
            self.running().remove(&id);
        }
    }
}
