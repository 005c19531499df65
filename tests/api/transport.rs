//! The transport table and HTTP hygiene.
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, code};

#[tokio::test]
async fn health_answers_ok_and_ready_checks_the_database() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({ "status": "ok" }));

    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    app.state.db.clone().close().await.unwrap();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "readiness must fail when the database does not answer");
}

#[tokio::test]
async fn a_query_over_get_runs_and_a_mutation_over_get_is_refused_with_405() {
    let app = TestApp::spawn().await;
    let ok = app.client.get(app.url("/graphql")).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["data"]["__typename"], "Query");

    let mutation = "mutation { requestPasswordReset(email: \"a@example.com\") { message } }";
    let refused = app.client.get(app.url("/graphql")).query(&[("query", mutation)]).send().await.unwrap();
    assert_eq!(refused.status(), 405);

    // A named mutation picked out of a document that also holds a query is refused too.
    let doc = "query Q { __typename } mutation M { requestPasswordReset(email: \"a@example.com\") { message } }";
    let refused =
        app.client.get(app.url("/graphql")).query(&[("query", doc), ("operationName", "M")]).send().await.unwrap();
    assert_eq!(refused.status(), 405);
}

#[tokio::test]
async fn a_batch_request_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_request_without_a_query_or_with_a_body_that_is_not_json_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let post = |body: &'static str| {
        app.client.post(app.url("/graphql")).header("content-type", "application/json").body(body).send()
    };
    for body in [r#"{"qeury": "{ __typename }"}"#, "{}", r#"{"variables": {}}"#, "not json", "\"{ __typename }\"", "42"]
    {
        let resp = post(body).await.unwrap();
        assert_eq!(resp.status(), 400, "POST {body}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let answer: Value = resp.json().await.unwrap();
        assert!(answer.get("data").is_none(), "nothing ran: {answer}");
        assert!(!answer["errors"][0]["message"].as_str().unwrap().is_empty(), "{answer}");
    }
    for query in [vec![], vec![("qeury", "{ __typename }")], vec![("operationName", "Q")]] {
        let resp = app.client.get(app.url("/graphql")).query(&query).send().await.unwrap();
        assert_eq!(resp.status(), 400, "GET {query:?}");
        assert!(resp.json::<Value>().await.unwrap()["errors"][0]["message"].is_string());
    }
    // An empty query is still a GraphQL request: a document that does not parse.
    let empty = post(r#"{"query": ""}"#).await.unwrap();
    assert_eq!(empty.status(), 200);
    assert!(empty.json::<Value>().await.unwrap()["errors"][0]["message"].is_string());
}

#[tokio::test]
async fn a_post_that_is_not_json_is_refused_with_415() {
    let app = TestApp::spawn().await;
    for content_type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body("query=mutation%20%7B%20logout%28refreshToken%3A%22x%22%29%20%7D")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415, "{content_type} must be refused");
    }
    let none = app.client.post(app.url("/graphql")).body("{}").send().await.unwrap();
    assert_eq!(none.status(), 415, "a POST without Content-Type must be refused");
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let padding = " ".repeat(65 * 1024);
    let body = format!(r#"{{"query":"{{ __typename {padding} }}"}}"#);
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn every_response_carries_no_store_and_a_request_id() {
    let app = TestApp::spawn().await;
    for resp in [
        app.client.get(app.url("/health")).send().await.unwrap(),
        app.client.post(app.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap(),
        app.client.post(app.url("/graphql")).body("x").send().await.unwrap(),
    ] {
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert!(resp.headers().contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn responses_are_json_unless_the_client_asks_for_graphql_response_json() {
    let app = TestApp::spawn().await;
    let plain = app.client.post(app.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
    assert_eq!(plain.headers()["content-type"], "application/json");

    let asked = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.headers()["content-type"], "application/graphql-response+json");

    let invalid = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400, "a document that fails validation is a request error");
    let body: Value = invalid.json().await.unwrap();
    assert!(body.get("data").is_none() && body["errors"].is_array());
}

#[tokio::test]
async fn graphiql_is_served_and_the_root_redirects_to_it() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));

    let root = app.client.get(app.url("/")).send().await.unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/graphiql");
}

#[tokio::test]
async fn an_unknown_field_error_does_not_leak_internals() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn the_tests_run_on_the_database_they_were_asked_to() {
    let app = TestApp::spawn().await;
    let backend = app.state.db.get_database_backend();
    assert_eq!(backend == sea_orm::DbBackend::Postgres, crate::helpers::on_postgres(), "{backend:?}");
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys() {
    if !crate::helpers::sqlite_only("PRAGMAs are SQLite's; PostgreSQL's settings are its server's") {
        return;
    }
    let app = TestApp::spawn().await;
    for (pragma, expected) in
        [("journal_mode", "wal"), ("synchronous", "1"), ("foreign_keys", "1"), ("busy_timeout", "10000")]
    {
        let row = app
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, format!("PRAGMA {pragma}")))
            .await
            .unwrap()
            .unwrap();
        let value = row
            .try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(value, expected, "PRAGMA {pragma}");
    }
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_gets_503_and_writes_nothing() {
    let app = TestApp::spawn_with(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    // Someone else holds the write lock the registration needs: SQLite's one writer, or on
    // PostgreSQL a lock on the users table.
    let blocker = cybermed::db::begin_write(&app.state.writer).await.unwrap();
    if blocker.get_database_backend() == sea_orm::DbBackend::Postgres {
        blocker.execute_unprepared("LOCK TABLE users IN ACCESS EXCLUSIVE MODE").await.unwrap();
    }
    let register = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }";
    let input = json!({ "i": { "email": "late@example.com", "password": crate::helpers::PASSWORD,
        "firstName": "Late", "lastName": "Comer", "role": "PATIENT" } });
    let started = std::time::Instant::now();
    let res = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": register, "variables": input }))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(
        waited >= std::time::Duration::from_millis(900) && waited < std::time::Duration::from_secs(5),
        "{waited:?}"
    );
    blocker.rollback().await.unwrap();

    // The abandoned registration left nothing behind, then or later.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.count_rows("users WHERE email = 'late@example.com'").await, 0);
}
