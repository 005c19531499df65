//! Prometheus `/metrics` on its own listener (`METRICS_BIND_ADDR`): scraped and parsed after some
//! traffic. The recorder is one per process, so tests that share this process assert on operation
//! names of their own; logins and WebSocket connections are counted in a process of their own
//! (the real binary), where nothing else moves them.
use std::{collections::BTreeMap, time::Duration};

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::{PASSWORD, TestApp, email};

/// One sample of the text format: `name{label="value",…} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4): comments skipped, label values unescaped. Panics
/// on a line that is not a sample.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("not a sample: {line}"));
        let name = line[..name_end].to_owned();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?} in {line}"
        );
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices();
            let mut key = String::new();
            let end = loop {
                let (i, c) = chars.next().unwrap_or_else(|| panic!("unterminated labels: {line}"));
                match c {
                    '}' => break i,
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().unwrap_or_else(|| panic!("unterminated value: {line}")).1 {
                                '"' => break,
                                '\\' => match chars.next().unwrap().1 {
                                    'n' => value.push('\n'),
                                    other => value.push(other),
                                },
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
            };
            rest = &body[end + 1..];
        }
        let value = rest.trim().split(' ').next().unwrap();
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value {v:?} in {line}")),
        };
        samples.push(Sample { name, labels, value });
    }
    samples
}

/// The sum of the samples named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
        .sum()
}

fn has(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> bool {
    samples
        .iter()
        .any(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
}

/// `GET /metrics` on `port`: the body, checked to be the text format.
///
/// A connection the listener closed before answering is tried again (up to five times, 100 ms
/// apart): CI once saw one such `IncompleteMessage` on a loaded machine, unreproduced in hundreds
/// of runs here. A listener that is gone still fails the test.
async fn scrape_text(port: u64) -> String {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut attempt = 0;
    let resp = loop {
        attempt += 1;
        match reqwest::get(&url).await {
            Ok(resp) => break resp,
            Err(e) if attempt < 5 && e.is_request() => {
                eprintln!("scrape attempt {attempt} failed: {e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("scraping {url} failed {attempt} times, last: {e:?}"),
        }
    };
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    resp.text().await.unwrap()
}

async fn scrape(port: u64) -> Vec<Sample> {
    parse(&scrape_text(port).await)
}

async fn post(app: &TestApp, body: Value) -> Value {
    app.client.post(app.url("/graphql")).json(&body).send().await.unwrap().json().await.unwrap()
}

const REQUESTS: &str = "cybermed_graphql_requests_total";

#[tokio::test]
async fn metrics_count_operations_by_name_and_outcome_on_a_listener_of_their_own() {
    let app = TestApp::spawn_with(&[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let port = u64::from(app.metrics_port.expect("a metrics listener"));
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let marker = format!("Distinctive{tag}Marker");
    let (ok, failed, refused, picked, other_op) = (
        format!("Fine_{tag}"),
        format!("Failing_{tag}"),
        format!("Broken_{tag}"),
        format!("B_{tag}"),
        format!("A_{tag}"),
    );
    let before = scrape(port).await;

    // Arrange: a named query twice, one whose field fails, one that does not validate, one picked
    // by operationName out of two, an anonymous one, a failing and a successful login, variables
    // and a document carrying a distinctive string, and a name too long to be a label.
    for _ in 0..2 {
        post(&app, json!({ "query": format!("query {ok} {{ __typename }}") })).await;
    }
    let body = post(&app, json!({ "query": format!("query {failed} {{ me {{ id }} }}") })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    post(&app, json!({ "query": format!("query {refused} {{ nope }}") })).await;
    post(
        &app,
        json!({ "query": format!("query {other_op} {{ __typename }} query {picked} {{ __typename }}"), "operationName": picked }),
    )
    .await;
    post(&app, json!({ "query": "{ __typename }" })).await;
    let user = app.register(&email("metrics"), "PATIENT").await;
    let wrong = post(
        &app,
        json!({ "query": format!("mutation SignIn_{tag}($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ accessToken }} }}"),
            "variables": { "e": user.email, "p": format!("{marker}-password") } }),
    )
    .await;
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let right = post(
        &app,
        json!({ "query": format!("mutation SignIn_{tag}($e: String!, $p: String!) {{ login(email: $e, password: $p) {{ accessToken }} }}"),
            "variables": { "e": user.email, "p": PASSWORD } }),
    )
    .await;
    assert!(right["data"]["login"]["accessToken"].is_string(), "{right}");
    post(&app, json!({ "query": format!("{{ doctors(first: 1) {{ totalCount }} __typename }} # {marker}") })).await;
    let long_name = format!("Long{}{marker}", "x".repeat(80));
    post(&app, json!({ "query": format!("query {long_name} {{ __typename }}") })).await;
    // Over a WebSocket, counted the same way.
    let ws_op = format!("OverSocket_{tag}");
    let mut ws = {
        let url = app.address.replace("http://", "ws://") + "/graphql/ws";
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        tokio_tungstenite::connect_async(req).await.unwrap().0
    };
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", user.access) } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    let sub =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": format!("query {ws_op} {{ me {{ id }} }}") } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let mut completed = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        if let Message::Text(t) = msg
            && serde_json::from_str::<Value>(&t).unwrap()["type"] == "complete"
        {
            completed = true;
            break;
        }
    }
    assert!(completed, "the socket's query completed");
    drop(ws);
    // An overdue email that a sender holds (so that it stays pending for this scrape).
    let now = chrono::Utc::now();
    cybermed::db::entities::outbox_email::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        kind: Set(cybermed::outbox::EmailKind::PasswordReset),
        to_address: Set("late@example.com".to_owned()),
        subject: Set("Late".to_owned()),
        body: Set("Late".to_owned()),
        appointment_id: Set(None),
        recipient_id: Set(None),
        starts_at: Set(None),
        message_id: Set(format!("<{tag}@metrics.test>")),
        status: Set(cybermed::outbox::EmailStatus::Pending),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(now - chrono::Duration::seconds(120)),
        due_at: Set(now - chrono::Duration::seconds(90)),
        sent_at: Set(None),
        lease_until: Set(Some(now + chrono::Duration::seconds(600))),
        lease_owner: Set(Some("elsewhere".to_owned())),
        // The channel (its default, EMAIL) and the gateway's id (none) left to the database.
        ..Default::default()
    }
    .insert(&app.state.writer)
    .await
    .unwrap();

    // Act
    let text = scrape_text(port).await;
    let after = parse(&text);

    // Assert: the counters moved by what was sent.
    let delta = |op: &str, outcome: &str| {
        let labels = [("operation", op), ("outcome", outcome)];
        value(&after, REQUESTS, &labels) - value(&before, REQUESTS, &labels)
    };
    assert_eq!(delta(&ok, "ok"), 2.0);
    assert_eq!(delta(&failed, "error"), 1.0);
    assert!(!has(&after, REQUESTS, &[("operation", &refused)]), "a document that does not validate claims no label");
    assert!(delta("invalid", "refused") >= 1.0, "it counts as `invalid`");
    assert_eq!(delta(&picked, "ok"), 1.0);
    assert!(!has(&after, REQUESTS, &[("operation", &other_op)]), "only the operation that ran is counted");
    assert_eq!(delta(&format!("SignIn_{tag}"), "ok"), 1.0);
    assert_eq!(delta(&format!("SignIn_{tag}"), "error"), 1.0);
    assert_eq!(delta(&ws_op, "ok"), 1.0, "a WebSocket operation is counted too");
    assert!(delta("anonymous", "ok") >= 1.0);
    assert!(delta("other", "ok") >= 1.0, "a name too long for a label is `other`");
    let logins = |outcome: &str| {
        value(&after, "cybermed_logins_total", &[("outcome", outcome)])
            - value(&before, "cybermed_logins_total", &[("outcome", outcome)])
    };
    assert!(logins("ok") >= 1.0 && logins("failed") >= 1.0, "a login and a failure were counted");

    // The duration is a histogram with buckets.
    let duration = "cybermed_graphql_request_duration_seconds";
    for le in ["0.001", "0.01", "0.1", "1", "10", "+Inf"] {
        assert!(
            has(&after, &format!("{duration}_bucket"), &[("operation", &ok), ("le", le)]),
            "bucket le={le}:\n{text}"
        );
    }
    assert_eq!(value(&after, &format!("{duration}_bucket"), &[("operation", &ok), ("le", "+Inf")]), 2.0);
    assert_eq!(value(&after, &format!("{duration}_count"), &[("operation", &ok)]), 2.0);
    assert!(value(&after, &format!("{duration}_sum"), &[("operation", &ok)]) > 0.0);

    // Labels are names, never documents or variables.
    assert!(!text.contains(&marker), "the variables and documents stay out of /metrics:\n{text}");
    for s in &after {
        if let Some(op) = s.labels.get("operation") {
            assert!(
                op.len() <= 64
                    && op.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && op.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "operation label {op:?}"
            );
        }
    }

    // Every metric of the contract is there.
    for name in [
        REQUESTS,
        "cybermed_graphql_request_duration_seconds_bucket",
        "cybermed_logins_total",
        "cybermed_ws_connections",
        "cybermed_outbox_pending",
        "cybermed_outbox_oldest_pending_seconds",
        "cybermed_outbox_failed_total",
        "cybermed_holds_live",
        "cybermed_db_pool_connections",
        "cybermed_build_info",
    ] {
        assert!(has(&after, name, &[]), "{name} in:\n{text}");
    }
    assert_eq!(value(&after, "cybermed_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    assert!(has(&after, "cybermed_db_pool_connections", &[("state", "idle")]));
    assert!(has(&after, "cybermed_db_pool_connections", &[("state", "in_use")]));
    assert!(
        value(&after, "cybermed_db_pool_connections", &[]) >= 1.0,
        "the pool has connections open: {:?}",
        after.iter().filter(|s| s.name == "cybermed_db_pool_connections").collect::<Vec<_>>()
    );
    if app.state.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // The 8 read connections (`TestApp`'s `DATABASE_MAX_CONNECTIONS`) and the inline readers
        // (one per core), the writer and at least one of the background pool's.
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let readers = app.state.reads.sqlite_stats().expect("SQLite's readers").0;
        assert_eq!(readers as usize, 8 + cores, "the inline readers are counted with the others");
        assert!(
            value(&after, "cybermed_db_pool_connections", &[]) >= 10.0 + cores as f64,
            "every SQLite connection is counted: {:?}",
            after.iter().filter(|s| s.name == "cybermed_db_pool_connections").collect::<Vec<_>>()
        );
    }
    assert_eq!(value(&after, "cybermed_outbox_pending", &[]), 1.0, "the overdue email is pending");
    assert!(value(&after, "cybermed_outbox_oldest_pending_seconds", &[]) >= 90.0);

    // Not on the API's port.
    let api = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(api.status(), 404, "/metrics is not served with the API");
}

#[tokio::test]
async fn junk_documents_and_unknown_operation_names_claim_no_labels_and_count_as_invalid() {
    let app = TestApp::spawn_with(&[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let port = u64::from(app.metrics_port.expect("a metrics listener"));
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let user = app.register(&email("junk"), "PATIENT").await;
    let before = scrape(port).await;

    // Arrange and act: junk of every kind, each under a name of its own.
    let mut junk = 0;
    for i in 0..3 {
        // Does not parse; does not validate; operationName names no operation of the document.
        post(&app, json!({ "query": format!("query Junk_{tag}_p{i} {{") })).await;
        post(&app, json!({ "query": format!("query Junk_{tag}_v{i} {{ nope }}") })).await;
        let unknown = post(
            &app,
            json!({ "query": format!("query Real_{tag} {{ __typename }}"), "operationName": format!("Junk_{tag}_u{i}") }),
        )
        .await;
        assert!(unknown["data"].is_null(), "{unknown}");
        // Two operations and no operationName.
        post(
            &app,
            json!({ "query": format!("query Junk_{tag}_m{i} {{ __typename }} query Real_{tag} {{ __typename }}") }),
        )
        .await;
        // Refused for its token before the document was validated.
        let refused: Value = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth("not-a-token")
            .json(&json!({ "query": format!("query Junk_{tag}_t{i} {{ nope }}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        // Over GET.
        let get = app.client.get(app.url(&format!("/graphql?query=query%20Junk_{tag}_g{i}%20%7B%20nope%20%7D")));
        get.send().await.unwrap();
        junk += 6;
    }
    // Over a WebSocket: a document that does not validate, one that does not parse, and one refused
    // on a socket without a login.
    let url = app.address.replace("http://", "ws://") + "/graphql/ws";
    for (token, queries) in [
        (Some(user.access.as_str()), vec![format!("query Junk_{tag}_w {{ nope }}"), format!("query Junk_{tag}_x {{")]),
        (None, vec![format!("query Junk_{tag}_y {{ nope }}")]),
    ] {
        let mut req = url.clone().into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
        let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
        ws.send(Message::text(json!({ "type": "connection_init", "payload": payload }).to_string())).await.unwrap();
        for (i, query) in queries.iter().enumerate() {
            let id = i.to_string();
            let sub = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
            ws.send(Message::text(sub.to_string())).await.unwrap();
            loop {
                let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
                let Message::Text(t) = msg else { continue };
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id.as_str() && (v["type"] == "error" || v["type"] == "complete") {
                    break;
                }
            }
            junk += 1;
        }
        drop(ws);
    }
    // A valid named operation claims its label.
    let valid = format!("Valid_{tag}");
    post(&app, json!({ "query": format!("query {valid} {{ __typename }}") })).await;
    // Socket operations are counted when the server drops them, just after their last message.
    let mut after = scrape(port).await;
    let invalid = |samples: &[Sample]| {
        ["ok", "error", "refused"]
            .iter()
            .map(|o| value(samples, REQUESTS, &[("operation", "invalid"), ("outcome", o)]))
            .sum::<f64>()
    };
    for _ in 0..50 {
        if invalid(&after) - invalid(&before) >= f64::from(junk) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape(port).await;
    }

    // Assert
    let labels: Vec<&String> = after.iter().filter_map(|s| s.labels.get("operation")).collect();
    assert!(!labels.iter().any(|l| l.contains(tag) && *l != &valid), "junk claimed a label: {labels:?}");
    assert!(invalid(&after) - invalid(&before) >= f64::from(junk), "each junk request counts as `invalid`");
    assert_eq!(value(&after, REQUESTS, &[("operation", &valid), ("outcome", "ok")]), 1.0, "a valid one has its label");
}

#[tokio::test]
async fn without_metrics_bind_addr_there_is_no_metrics_listener() {
    let app = TestApp::spawn().await;
    assert_eq!(app.metrics_port, None);
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_websocket_connections_and_failed_emails_are_counted_in_a_process_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let smtp_down = crate::helpers::SmtpReceiver::free_port().await;
    let server = crate::logs::serve(
        &dir,
        &[
            ("METRICS_BIND_ADDR", "127.0.0.1:0"),
            ("RUST_LOG", "info"),
            ("LOGIN_MAX_FAILURES", "2"),
            ("SMTP_URL", &format!("smtp://127.0.0.1:{smtp_down}")),
            ("MAIL_MAX_ATTEMPTS", "1"),
        ],
    );
    let port = server.metrics_port.expect("the listening line names the metrics port");
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let gql = |q: &str, v: Value| {
        let req = client.post(format!("{base}/graphql")).json(&json!({ "query": q, "variables": v }));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let start = scrape(port).await;
    for outcome in ["ok", "failed", "throttled"] {
        assert_eq!(value(&start, "cybermed_logins_total", &[("outcome", outcome)]), 0.0, "{outcome}");
    }
    assert_eq!(value(&start, "cybermed_ws_connections", &[]), 0.0);
    assert_eq!(value(&start, "cybermed_outbox_failed_total", &[]), 0.0);

    // Logins: one right, then wrong until the throttle refuses.
    let reg = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
    let address = "counted@example.com";
    let registered = gql(
        reg,
        json!({ "i": { "email": address, "password": PASSWORD, "firstName": "C", "lastName": "D", "role": "PATIENT" } }),
    )
    .await;
    let access = registered["data"]["register"]["accessToken"].as_str().unwrap().to_owned();
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    assert!(gql(login, json!({ "e": address, "p": PASSWORD })).await["data"]["login"].is_object());
    let mut codes = Vec::new();
    for _ in 0..3 {
        let body = gql(login, json!({ "e": address, "p": "Wrong-Password-1" })).await;
        codes.push(body["errors"][0]["extensions"]["code"].clone());
    }
    assert_eq!(codes, [json!("UNAUTHENTICATED"), json!("UNAUTHENTICATED"), json!("RATE_LIMITED")]);
    let after_logins = scrape(port).await;
    assert_eq!(value(&after_logins, "cybermed_logins_total", &[("outcome", "ok")]), 1.0);
    assert_eq!(value(&after_logins, "cybermed_logins_total", &[("outcome", "failed")]), 2.0);
    assert_eq!(value(&after_logins, "cybermed_logins_total", &[("outcome", "throttled")]), 1.0);

    // An email that cannot be delivered (the mail server is down) fails after its one attempt.
    gql("mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": address })).await;
    let mut failed = 0.0;
    for _ in 0..100 {
        failed = value(&scrape(port).await, "cybermed_outbox_failed_total", &[]);
        if failed > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(failed, 1.0, "the undeliverable email is counted once");

    // A WebSocket connection counts while it is open.
    let url = format!("ws://127.0.0.1:{}/graphql/ws", server.port);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {access}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    assert_eq!(value(&scrape(port).await, "cybermed_ws_connections", &[]), 1.0);
    ws.close(None).await.unwrap();
    drop(ws);
    let mut open = 1.0;
    for _ in 0..50 {
        open = value(&scrape(port).await, "cybermed_ws_connections", &[]);
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0.0, "a closed connection is no longer counted");

    let lines = server.stop();
    let not_json: Vec<&String> = lines.iter().filter(|l| serde_json::from_str::<Value>(l).is_err()).collect();
    assert!(not_json.is_empty(), "JSON log lines only: {not_json:#?}");
}

#[tokio::test]
async fn routes_that_are_not_graphql_are_counted_by_pattern_beside_the_standard_process_series() {
    let app = TestApp::spawn_with(&[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let port = u64::from(app.metrics_port.expect("a metrics listener"));
    let before = scrape(port).await;
    let fhir = ("route", "/fhir/r4/Appointment/{id}");
    let feed = ("route", "/calendar/{token}");
    let get = |path: String| app.client.get(app.url(&path)).send();
    assert_eq!(get("/fhir/r4/metadata".into()).await.unwrap().status(), 200);
    assert_eq!(get(format!("/fhir/r4/Appointment/{}", uuid::Uuid::new_v4())).await.unwrap().status(), 401);
    assert_eq!(get("/calendar/not-a-real-token-at-all.ics".into()).await.unwrap().status(), 404);
    assert_eq!(get("/health".into()).await.unwrap().status(), 200);
    assert_eq!(get("/no/such/route".into()).await.unwrap().status(), 404);

    let after = scrape(port).await;
    let delta = |labels: &[(&str, &str)]| {
        value(&after, "cybermed_http_requests_total", labels) - value(&before, "cybermed_http_requests_total", labels)
    };
    assert!(delta(&[("route", "/fhir/r4/metadata"), ("status", "200")]) >= 1.0);
    assert!(delta(&[fhir, ("status", "401")]) >= 1.0, "the pattern, never the id");
    assert!(delta(&[feed, ("status", "404")]) >= 1.0, "the pattern, never the token");
    assert!(delta(&[("route", "/health"), ("status", "200")]) >= 1.0);
    assert!(delta(&[("route", "unmatched"), ("status", "404")]) >= 1.0);
    let text = scrape_text(port).await;
    assert!(!text.contains("not-a-real-token") && !text.contains("/no/such/route"), "no path becomes a label");
    assert!(text.contains("cybermed_http_request_duration_seconds_bucket{route=\"/fhir/r4/metadata\",le=\"0.0001\"}"));
    for bucket in ["0.0001", "0.00025", "0.0005"] {
        assert!(
            text.contains(&format!(
                "cybermed_graphql_request_duration_seconds_bucket{{operation=\"anonymous\",le=\"{bucket}\"}}"
            )) || !text.contains("cybermed_graphql_request_duration_seconds_bucket{operation=\"anonymous\""),
            "sub-millisecond bucket {bucket}"
        );
    }
    for series in
        ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"]
    {
        assert!(has(&after, series, &[]), "{series}");
    }
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(value(&after, "process_open_fds", &[]) > 3.0);
}

#[tokio::test]
async fn promtool_finds_the_exposition_clean() {
    // Debian's `prometheus` package; `.ci/run` installs it and sets CYBERMED_REQUIRE_TOOLS=1.
    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        assert!(
            std::env::var_os("CYBERMED_REQUIRE_TOOLS").is_none(),
            "CYBERMED_REQUIRE_TOOLS is set but promtool is missing"
        );
        eprintln!("skipping: install Debian's prometheus package for promtool");
        return;
    }
    let app = TestApp::spawn_with(&[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let port = u64::from(app.metrics_port.expect("a metrics listener"));
    // Something in every family: an operation, a route, a login.
    app.gql(None, "query Probe { __typename }", serde_json::json!({})).await;
    app.client.get(app.url("/fhir/r4/metadata")).send().await.unwrap();
    app.login_raw("nobody@example.com", "wrong-password-1").await;
    let text = scrape_text(port).await;
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}");
}
