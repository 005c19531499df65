//! Production mode, CORS, and the twelve classic GraphQL server checks, each asserting the
//! hardened answer.
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, email};

async fn post_raw(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app.client.post(app.url("/graphql")).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

// 1. Alias overloading.
#[tokio::test]
async fn check_alias_overloading_is_refused() {
    let app = TestApp::spawn().await;
    let aliases: Vec<String> = (0..101).map(|i| format!("a{i}: __typename")).collect();
    let (status, body) = post_raw(&app, json!({ "query": format!("{{ {} }}", aliases.join(" ")) })).await;
    assert_eq!(status, 200);
    assert!(body["data"].is_null() && body["errors"].is_array(), "{body}");
}

// 2. Batch queries.
#[tokio::test]
async fn check_batched_queries_are_refused_with_400() {
    let app = TestApp::spawn().await;
    let (status, _) = post_raw(&app, json!([{ "query": "{ __typename }" }])).await;
    assert_eq!(status, 400);
}

// 3. Directive overloading.
#[tokio::test]
async fn check_directive_overloading_is_refused() {
    let app = TestApp::spawn().await;
    let (_, body) = post_raw(&app, json!({ "query": format!("{{ __typename {} }}", "@aa".repeat(100)) })).await;
    assert!(body["data"].is_null() && body["errors"].is_array(), "{body}");
    // Refused by the directive limit itself (before the unknown `@aa` is even looked up).
    assert_eq!(
        body["errors"][0]["message"], "The number of directives on the field `__typename` cannot be greater than `5`",
        "{body}"
    );
}

// 4. Circular introspection.
#[tokio::test]
async fn check_circular_introspection_is_refused() {
    let app = TestApp::spawn().await;
    let q = format!("{{ __schema {{ types {{ {} name {} }} }} }}", "fields { type { ".repeat(12), "} } ".repeat(12));
    let (_, body) = post_raw(&app, json!({ "query": q })).await;
    assert!(body["data"].is_null() && body["errors"].is_array(), "{body}");
}

async fn production() -> TestApp {
    TestApp::spawn_with(&[("APP_ENV", "production")]).await
}

// 5. Field suggestions.
#[tokio::test]
async fn check_field_suggestions_are_off_in_production() {
    let dev = TestApp::spawn().await;
    let (_, body) = post_raw(&dev, json!({ "query": "{ appointmnts { totalCount } }" })).await;
    assert!(body.to_string().contains("Did you mean"), "development helps: {body}");
    let prod = production().await;
    let (_, body) = post_raw(&prod, json!({ "query": "{ appointmnts { totalCount } }" })).await;
    assert!(body["errors"].is_array());
    assert!(!body.to_string().contains("Did you mean"), "{body}");
}

// 6. GET queries: answered, never cached, and never able to change anything.
#[tokio::test]
async fn check_get_queries_are_read_only_and_not_cached() {
    let app = TestApp::spawn().await;
    let ok = app.client.get(app.url("/graphql")).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
}

// 7. GET mutations.
#[tokio::test]
async fn check_get_mutations_are_refused_with_405() {
    let app = TestApp::spawn().await;
    let q = "mutation { register(input: { email: \"csrf@example.com\", password: \"Csrf-Pass-123\", firstName: \"C\", lastName: \"S\", role: PATIENT }) { accessToken } }";
    let resp = app.client.get(app.url("/graphql")).query(&[("query", q)]).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(app.count_rows("users").await, 0);
}

// 8. POST url-encoded (cross-site form posts).
#[tokio::test]
async fn check_form_encoded_posts_are_refused_with_415() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=mutation%20%7B%20requestPasswordReset%28email%3A%22a%40b.co%22%29%20%7B%20message%20%7D%20%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

// 9. Introspection in production.
#[tokio::test]
async fn check_introspection_is_off_in_production_unless_enabled() {
    let prod = production().await;
    let (_, body) = post_raw(&prod, json!({ "query": "{ __schema { types { name } } }" })).await;
    assert!(body["data"].is_null() || body["data"]["__schema"].is_null(), "no schema is revealed: {body}");
    assert!(!body.to_string().contains("\"User\""), "{body}");
    let opted_in = TestApp::spawn_with(&[("APP_ENV", "production"), ("GRAPHIQL", "true")]).await;
    let (_, body) = post_raw(&opted_in, json!({ "query": "{ __schema { queryType { name } } }" })).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

// 10. GraphiQL in production.
#[tokio::test]
async fn check_graphiql_is_off_in_production() {
    let prod = production().await;
    for path in ["/graphiql", "/graphiql/assets/graphiql.min.js", "/"] {
        let resp = prod.client.get(prod.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}

// 11. Trace mode.
#[tokio::test]
async fn check_no_tracing_data_is_returned() {
    let app = TestApp::spawn().await;
    let (_, body) = post_raw(&app, json!({ "query": "{ __typename }", "extensions": { "tracing": true } })).await;
    assert!(body.get("extensions").is_none_or(|e| e.get("tracing").is_none()), "{body}");
}

// 12. Unhandled errors.
#[tokio::test]
async fn check_errors_reveal_no_internals() {
    let app = TestApp::spawn().await;
    for q in [
        "qwerty cop{abc}",
        "{ user(id: \"not-a-uuid\") { id } }",
        "query { appointments(first: 1, after: \"%%%\") { totalCount } }",
        "{",
    ] {
        let (status, body) = post_raw(&app, json!({ "query": q })).await;
        assert!(status < 500, "{q}: {status}");
        let text = body.to_string().to_lowercase();
        for leak in ["panicked", "stack", "backtrace", "sqlx", "select ", "src/", ".rs:"] {
            assert!(!text.contains(leak), "{q}: `{leak}` in {body}");
        }
    }
}

#[tokio::test]
async fn production_refuses_to_serve_introspection_to_signed_in_users_too() {
    let prod = production().await;
    let s = prod.register(&email("p"), "PATIENT").await;
    let body = prod.gql(Some(&s.access), "{ __type(name: \"User\") { fields { name } } }", json!({})).await;
    assert!(body["data"]["__type"].is_null(), "{body}");
    assert_eq!(prod.me(&s.access).await.as_deref(), Ok(s.id.as_str()), "ordinary queries still work");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app =
        TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", "https://app.clinic.example, https://admin.clinic.example")])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://admin.clinic.example").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://admin.clinic.example");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    let same_origin_only = TestApp::spawn().await;
    let resp = same_origin_only
        .client
        .post(same_origin_only.url("/graphql"))
        .header("origin", "https://app.clinic.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "no CORS unless configured");
}

#[tokio::test]
async fn a_bad_token_is_never_silently_anonymous() {
    let app = TestApp::spawn().await;
    let body = app.gql(Some("garbage"), "{ me { id } }", json!({})).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
}
