//! Connections (the contract's Transport, "Connections"): a head must arrive within 10 s, a body
//! within 10 s (else 408), an idle keep-alive connection is closed after 75 s (an open WebSocket
//! is not), and one client address holds at most `MAX_CONNECTIONS_PER_ADDRESS` connections,
//! WebSockets included, while `/health` keeps answering others within a second. Raw sockets, so
//! that nothing pools or retries behind the test's back.
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use cybermed::{app::Application, config::Config, server::Timeouts};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::oneshot,
    time::Instant,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::helpers::{TestApp, TestDatabase, fresh_database};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: clinic.test\r\n\r\n";

fn server(app: &TestApp) -> SocketAddr {
    app.address.trim_start_matches("http://").parse().unwrap()
}

/// A connection to `to` from the local address `from` (any of 127/8 works on Linux loopback).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// How long until the server closed `stream` (EOF or reset), reading and dropping what it sends;
/// `None` if it is still open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(started + wait, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends `GET /health` on `stream` and reads its answer: the status code.
async fn health_on(stream: &mut TcpStream) -> u16 {
    stream.write_all(HEALTH).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(r#"{"status":"ok"}"#) {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("a status line: {text}"))
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket past `connection_ack` (without a login: acknowledged all the same).
async fn websocket(port: u16) -> Socket {
    let mut req = format!("ws://127.0.0.1:{port}/graphql/ws").into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
    ws.send(Message::text(json!({ "type": "connection_init" }).to_string())).await.unwrap();
    let ack = next_text(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn next_text(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_limit_and_health_answers_other_addresses_within_a_second() {
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS_PER_ADDRESS", "16")]).await;
    let addr = server(&app);

    // Arrange: the limit, held idle from 127.0.0.1.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(connect_from("127.0.0.1", addr).await);
    }

    // Act and assert: more from that address are closed at once…
    for _ in 0..8 {
        let mut extra = connect_from("127.0.0.1", addr).await;
        let closed = closed_within(&mut extra, Duration::from_secs(1)).await;
        assert!(closed.is_some(), "a connection over the limit is closed at once");
    }
    // …while another address is answered within a second…
    let started = Instant::now();
    let mut other = connect_from("127.0.0.2", addr).await;
    assert_eq!(health_on(&mut other).await, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "/health took {:?}", started.elapsed());
    // …and the connections held are open and served.
    for stream in &mut held {
        assert_eq!(health_on(stream).await, 200);
    }
    // Once they are closed, the address may connect again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from("127.0.0.1", addr).await;
        if again.write_all(HEALTH).await.is_ok()
            && closed_within(&mut again, Duration::from_millis(200)).await.is_none()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the address's connections were never released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_counts_against_its_address_for_as_long_as_it_is_open() {
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS_PER_ADDRESS", "2")]).await;
    let addr = server(&app);
    let mut first = websocket(addr.port()).await;
    let _second = websocket(addr.port()).await;

    let mut third = connect_from("127.0.0.1", addr).await;
    assert!(closed_within(&mut third, Duration::from_secs(1)).await.is_some(), "two open sockets are the limit");

    first.close(None).await.unwrap();
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = connect_from("127.0.0.1", addr).await;
        if next.write_all(HEALTH).await.is_ok() && closed_within(&mut next, Duration::from_millis(200)).await.is_none()
        {
            break;
        }
        assert!(Instant::now() < deadline, "a closed socket's connection was never released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_is_not_held_to_the_limit() {
    let app = TestApp::spawn_with(&[("MAX_CONNECTIONS_PER_ADDRESS", "2"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let addr = server(&app);
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(connect_from("127.0.0.1", addr).await);
    }
    for stream in &mut held {
        assert_eq!(health_on(stream).await, 200);
    }
}

/// Sends a `POST /graphql` head announcing 100 bytes of body, then one byte every 500 ms: the
/// server's answer and how long it took.
async fn trickle_body(addr: SocketAddr) -> (String, Duration) {
    let stream = connect_from("127.0.0.1", addr).await;
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    write
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: clinic.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..80 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if write.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(40), read.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    trickle.abort();
    (String::from_utf8_lossy(&answer).into_owned(), took)
}

/// Sends a request, reads its answer, waits `idle`, and sends another: its status.
async fn second_request_after(addr: SocketAddr, idle: Duration) -> u16 {
    let mut stream = connect_from("127.0.0.1", addr).await;
    assert_eq!(health_on(&mut stream).await, 200);
    tokio::time::sleep(idle).await;
    health_on(&mut stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_or_body_that_does_not_arrive_within_10_seconds_is_cut_off_but_an_idle_keep_alive_is_not() {
    let app = TestApp::spawn().await;
    let addr = server(&app);
    let ten = Duration::from_secs(10);
    let silent = async {
        let mut s = connect_from("127.0.0.1", addr).await;
        closed_within(&mut s, Duration::from_secs(20)).await
    };
    let half_head = async {
        let mut s = connect_from("127.0.0.1", addr).await;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: clinic.test\r\n").await.unwrap();
        closed_within(&mut s, Duration::from_secs(20)).await
    };
    let (silent, half_head, (answer, body_took), second) =
        tokio::join!(silent, half_head, trickle_body(addr), second_request_after(addr, Duration::from_secs(12)));

    for (what, took) in [("a silent connection", silent), ("half a head", half_head)] {
        let took = took.unwrap_or_else(|| panic!("{what}: still open after 20 s"));
        assert!(took >= ten - Duration::from_millis(500) && took < ten + Duration::from_secs(2), "{what}: {took:?}");
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "a trickling body: {answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(body_took >= ten - Duration::from_millis(500) && body_took < ten + Duration::from_secs(2), "{body_took:?}");
    assert_eq!(second, 200, "a keep-alive connection idle longer than the head timeout still serves");
}

/// A server like `TestApp`'s with other head and idle timeouts: its port, what stops it, and its
/// data (dropped with the last).
async fn spawn_with_timeouts(timeouts: Timeouts) -> (u16, oneshot::Sender<()>, (tempfile::TempDir, TestDatabase)) {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(&dir).await;
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database.url.clone()),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123".to_owned()),
        ("MAIL_OUTBOX_DIR", dir.path().join("outbox").display().to_string()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let app = Application::build(config).await.unwrap().with_timeouts(timeouts);
    let port = app.port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (port, stop, (dir, database))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_is_closed_after_the_idle_timeout_its_next_head_has_the_head_timeout_and_a_websocket_stays()
{
    let timeouts = Timeouts { head: Duration::from_secs(1), idle: Duration::from_secs(3) };
    let (port, _stop, _dir) = spawn_with_timeouts(timeouts).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // Idle after a response: closed after the idle timeout, not the head timeout.
    let idle = async {
        let mut s = connect_from("127.0.0.1", addr).await;
        assert_eq!(health_on(&mut s).await, 200);
        closed_within(&mut s, Duration::from_secs(10)).await
    };
    // A next head begun after a short idle: the head timeout from its first byte.
    let slow_next_head = async {
        let mut s = connect_from("127.0.0.1", addr).await;
        assert_eq!(health_on(&mut s).await, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        closed_within(&mut s, Duration::from_secs(10)).await
    };
    // Idle longer than the head timeout, then served.
    let second = second_request_after(addr, Duration::from_secs(2));
    // An upgraded WebSocket outlives the idle timeout.
    let socket = async {
        let mut ws = websocket(port).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } });
        ws.send(Message::text(sub.to_string())).await.unwrap();
        next_text(&mut ws).await
    };
    let (idle, slow_next_head, second, answer) = tokio::join!(idle, slow_next_head, second, socket);

    let idle = idle.expect("an idle keep-alive connection is closed");
    assert!(idle >= Duration::from_millis(2500) && idle < Duration::from_secs(5), "idle: {idle:?}");
    let head = slow_next_head.expect("a slow head is cut off");
    assert!(head >= Duration::from_millis(800) && head < Duration::from_millis(2500), "next head: {head:?}");
    assert_eq!(second, 200);
    assert_eq!(answer["id"], "1", "the socket still answers: {answer}");
}
