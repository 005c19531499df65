//! Values nested deep in a document: refused with 400 before the parser (which recurses) sees
//! them, by POST and by GET, and the server keeps answering.
use cybermed::graphql::limits::{DocumentLimits, Limits};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn nested_lists(levels: usize) -> String {
    format!("{{ __typename(a: {}1{}) }}", "[".repeat(levels), "]".repeat(levels))
}

fn nested_objects(levels: usize) -> String {
    format!("{{ __typename(a: {}1{}) }}", "{a:".repeat(levels), "}".repeat(levels))
}

async fn post(app: &TestApp, query: &str, accept: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("Accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, query: &str) -> (u16, Value) {
    let resp = app.client.get(app.url("/graphql")).query(&[("query", query)]).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn assert_alive(app: &TestApp) {
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

fn refused_before_parsing(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert!(body["data"].is_null(), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nested deeper"), "{body}");
}

#[tokio::test]
async fn a_list_value_nested_2000_deep_is_refused_with_400_by_post_and_get_and_the_server_keeps_answering() {
    let app = TestApp::spawn().await;
    let doc = nested_lists(2000);
    for accept in ["application/json", "application/graphql-response+json"] {
        let (status, body) = post(&app, &doc, accept).await;
        refused_before_parsing(status, &body);
    }
    let (status, body) = get(&app, &doc).await;
    refused_before_parsing(status, &body);
    assert_alive(&app).await;
}

#[tokio::test]
async fn an_object_value_nested_1500_deep_is_refused_with_400_by_post_and_get_and_the_server_keeps_answering() {
    let app = TestApp::spawn().await;
    let doc = nested_objects(1500);
    let (status, body) = post(&app, &doc, "application/json").await;
    refused_before_parsing(status, &body);
    let (status, body) = get(&app, &doc).await;
    refused_before_parsing(status, &body);
    assert_alive(&app).await;
}

#[tokio::test]
async fn the_band_where_the_parser_used_to_overflow_is_refused_too() {
    // Deeper than about 1,000 levels the parser's own guard answered; between ~300 and ~900 its
    // value builder overflowed the stack.
    let app = TestApp::spawn().await;
    for levels in [33, 64, 300, 500, 700] {
        let (status, body) = post(&app, &nested_lists(levels), "application/json").await;
        refused_before_parsing(status, &body);
        let default_value = format!("query($v: Int = {}1{}) {{ __typename }}", "[".repeat(levels), "]".repeat(levels));
        let (status, body) = post(&app, &default_value, "application/json").await;
        refused_before_parsing(status, &body);
        let directive = format!("{{ __typename @include(if: {}true{}) }}", "{a:".repeat(levels), "}".repeat(levels));
        let (status, body) = get(&app, &directive).await;
        refused_before_parsing(status, &body);
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn values_nested_32_deep_are_parsed_and_answered_as_usual() {
    let app = TestApp::spawn().await;
    for doc in [nested_lists(32), nested_objects(32)] {
        let (status, body) = post(&app, &doc, "application/json").await;
        // Parsed, and run: async-graphql ignores arguments on `__typename`.
        assert_eq!((status, &body["data"]["__typename"]), (200, &json!("Query")), "{body}");
        let (status, body) = get(&app, &doc).await;
        assert_eq!((status, &body["data"]["__typename"]), (200, &json!("Query")), "{body}");
    }
    // A 32-deep list in a variable's default value and in its type, used by nothing else.
    let doc = format!(
        "query($v: {}Int{} = {}1{}) {{ __typename }}",
        "[".repeat(32),
        "]".repeat(32),
        "[".repeat(31),
        "]".repeat(31)
    );
    let (status, body) = post(&app, &doc, "application/json").await;
    assert_eq!(status, 200, "{body}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn brackets_inside_strings_block_strings_and_comments_do_not_count() {
    let app = TestApp::spawn().await;
    let brackets = "[".repeat(3000);
    let docs = [
        format!("{{ __typename(a: \"{brackets}\") }}"),
        format!("{{ __typename(a: \"\\\"{brackets}\") }}"),
        format!("{{ __typename(a: \"\"\"{brackets} \\\"\"\" {brackets}\"\"\") }}"),
        format!("{{ __typename(a: 1) # {brackets}\n }}"),
    ];
    for doc in &docs {
        assert!(DocumentLimits::new(Limits::default()).prepare(doc).is_ok(), "{doc}");
        let (status, body) = post(&app, doc, "application/json").await;
        assert_eq!((status, &body["data"]["__typename"]), (200, &json!("Query")), "{body}");
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn selections_nested_past_the_backstop_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    for levels in [65, 300, 700, 3000] {
        let doc = format!("{{ {} __typename {} }}", "... on Query { ".repeat(levels), "} ".repeat(levels));
        let (status, body) = post(&app, &doc, "application/json").await;
        refused_before_parsing(status, &body);
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn variables_nested_as_deep_as_json_allows_are_answered_without_harm() {
    let app = TestApp::spawn().await;
    // serde_json refuses more than 128 levels: the body is then not JSON (400).
    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    let body = format!(
        r#"{{"query":"query($v: String) {{ users(search: $v) {{ totalCount }} }}","variables":{{"v":{}}}}}"#,
        deep(125)
    );
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert!(answer["errors"].is_array() && answer["data"].is_null(), "{answer}");
    let too_deep = format!(r#"{{"query":"{{ __typename }}","variables":{{"v":{}}}}}"#, deep(5000));
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json")
        .body(too_deep)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "query($v: String) { __typename }"), ("variables", &format!(r#"{{"v":{}}}"#, deep(125)))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_alive(&app).await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message that is not a ping; panics when the socket ends or stays silent for 10 s.
async fn next_message(ws: &mut Socket) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await;
        match msg {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "ping" {
                    return v;
                }
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_deeply_nested_document_over_websocket_is_refused_and_the_socket_keeps_working() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let app = TestApp::spawn().await;
    let patient = app.register("ws.nesting@example.com", "PATIENT").await;
    let mut req = (app.address.replace("http://", "ws://") + "/graphql/ws").into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let init =
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", patient.access) } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    assert_eq!(next_message(&mut ws).await["type"], "connection_ack");
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": nested_lists(500) } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    let reply = next_message(&mut ws).await;
    assert!(reply["payload"]["data"].is_null(), "{reply}");
    let message = reply["payload"]["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nested deeper"), "{reply}");
    assert_eq!(next_message(&mut ws).await["type"], "complete");
    // Variables as deep as serde_json's bound (128, counted from the message) allows: answered.
    let deep = serde_json::from_str::<Value>(&format!("{}1{}", "[".repeat(120), "]".repeat(120))).unwrap();
    let vars = json!({ "id": "3", "type": "subscribe", "payload": {
        "query": "query($v: String) { users(search: $v) { totalCount } }", "variables": { "v": deep } } });
    ws.send(Message::text(vars.to_string())).await.unwrap();
    let reply = next_message(&mut ws).await;
    assert!(reply["payload"]["errors"].is_array(), "{reply}");
    assert_eq!(next_message(&mut ws).await["type"], "complete");
    let ok = json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ __typename }" } });
    ws.send(Message::text(ok.to_string())).await.unwrap();
    let reply = next_message(&mut ws).await;
    assert_eq!(reply["payload"]["data"]["__typename"], "Query", "{reply}");
    assert_alive(&app).await;
}
