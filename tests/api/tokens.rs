//! Access/refresh tokens: rotation, reuse detection, logout, revocation.
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, email, field, message};

const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id email } } }";
const LOGOUT: &str = "mutation($t: String!) { logout(refreshToken: $t) }";
const CHANGE: &str =
    "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) { message } }";

#[tokio::test]
async fn refresh_returns_a_new_pair_and_retires_the_old_token() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("r"), "PATIENT").await;
    let body = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
    let p = &body["data"]["refreshToken"];
    let (access, refresh) = (p["accessToken"].as_str().unwrap(), p["refreshToken"].as_str().unwrap());
    assert_ne!(refresh, s.refresh);
    assert_eq!(p["user"]["email"], s.email.as_str());
    assert_eq!(app.me(access).await.as_deref(), Ok(s.id.as_str()));
    let again = app.gql(None, REFRESH, json!({ "t": refresh })).await;
    assert!(again["data"]["refreshToken"].is_object(), "the new refresh token works once");
}

#[tokio::test]
async fn reusing_a_retired_refresh_token_revokes_the_whole_login() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("r"), "PATIENT").await;
    let other_login = app.login(&s.email, PASSWORD).await;
    let body = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
    let new_access = body["data"]["refreshToken"]["accessToken"].as_str().unwrap().to_owned();
    let new_refresh = body["data"]["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();

    let replay = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
    assert_eq!(code(&replay), Some("UNAUTHENTICATED"));

    assert_eq!(app.me(&new_access).await, Err("UNAUTHENTICATED".to_owned()), "access tokens of that login stop");
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()));
    let next = app.gql(None, REFRESH, json!({ "t": new_refresh })).await;
    assert_eq!(code(&next), Some("UNAUTHENTICATED"), "refresh tokens of that login stop");
    assert!(app.me(&other_login.access).await.is_ok(), "other logins are untouched");
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token_and_vice_versa() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("t"), "PATIENT").await;
    assert_eq!(app.me(&s.refresh).await, Err("UNAUTHENTICATED".to_owned()));
    let body = app.gql(None, REFRESH, json!({ "t": s.access })).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    assert!(app.me(&s.access).await.is_ok());
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let app = TestApp::spawn_with(&[("ACCESS_TOKEN_TTL_SECS", "60")]).await;
    let s = app.register(&email("e"), "PATIENT").await;
    assert!(app.me(&s.access).await.is_ok());
    app.state.clock.advance(Duration::from_secs(70));
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()));
    let body = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
    assert!(body["data"]["refreshToken"].is_object(), "the refresh token still works");
}

#[tokio::test]
async fn refresh_tokens_expire_after_their_lifetime() {
    let app = TestApp::spawn_with(&[("REFRESH_TOKEN_TTL_SECS", "120")]).await;
    let s = app.register(&email("e"), "PATIENT").await;
    app.state.clock.advance(Duration::from_secs(130));
    let body = app.gql(None, REFRESH, json!({ "t": s.refresh })).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn logout_ends_that_login_only() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("l"), "PATIENT").await;
    let other = app.login(&s.email, PASSWORD).await;
    let body = app.gql(None, LOGOUT, json!({ "t": s.refresh })).await;
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()));
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "t": s.refresh })).await), Some("UNAUTHENTICATED"));
    assert!(app.me(&other.access).await.is_ok());
    assert_eq!(code(&app.gql(None, LOGOUT, json!({ "t": "junk" })).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn change_password_checks_the_old_one_and_revokes_every_login() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("c"), "PATIENT").await;
    let other = app.login(&s.email, PASSWORD).await;

    let wrong = app.gql(Some(&s.access), CHANGE, json!({ "o": "Not-The-Password-1", "n": "Fresh-Heron-77" })).await;
    assert_eq!(code(&wrong), Some("BAD_USER_INPUT"));
    assert_eq!(message(&wrong), "Old password is incorrect");

    let weak = app.gql(Some(&s.access), CHANGE, json!({ "o": PASSWORD, "n": "12345678" })).await;
    assert_eq!((code(&weak), field(&weak)), (Some("BAD_USER_INPUT"), Some("newPassword")));

    let ok = app.gql(Some(&s.access), CHANGE, json!({ "o": PASSWORD, "n": "Fresh-Heron-77" })).await;
    assert_eq!(ok["data"]["changePassword"]["message"], "Password changed successfully");
    for token in [&s.access, &other.access] {
        assert_eq!(app.me(token).await, Err("UNAUTHENTICATED".to_owned()), "issued access tokens stop at once");
    }
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "t": other.refresh })).await), Some("UNAUTHENTICATED"));
    assert_eq!(code(&app.login_raw(&s.email, PASSWORD).await), Some("UNAUTHENTICATED"));
    app.login(&s.email, "Fresh-Heron-77").await;
}

#[tokio::test]
async fn deactivation_stops_already_issued_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let s = app.register(&email("d"), "PATIENT").await;
    app.gql(
        Some(&admin.access),
        "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }",
        json!({ "id": s.id }),
    )
    .await;
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()));
    assert_eq!(code(&app.gql(None, REFRESH, json!({ "t": s.refresh })).await), Some("UNAUTHENTICATED"));

    app.gql(
        Some(&admin.access),
        "mutation($id: UUID!) { setUserActive(id: $id, isActive: true) { id } }",
        json!({ "id": s.id }),
    )
    .await;
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()), "reactivation does not revive old logins");
    app.login(&s.email, PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_simultaneous_refreshes_with_one_token_exactly_one_succeeds() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let s = app.register(&email("race"), "PATIENT").await;
        let (a, b) = tokio::join!(
            app.gql(None, REFRESH, json!({ "t": s.refresh })),
            app.gql(None, REFRESH, json!({ "t": s.refresh }))
        );
        let wins = [&a, &b].iter().filter(|r| r["data"]["refreshToken"].is_object()).count();
        assert_eq!(wins, 1, "{a}\n{b}");
        let loser = if a["data"]["refreshToken"].is_object() { &b } else { &a };
        assert_eq!(code(loser), Some("UNAUTHENTICATED"));
    }
}

/// Signs claims like the server's own, with changes, using the test's JWT secret.
fn forge(alg: jsonwebtoken::Algorithm, edit: impl FnOnce(&mut Value), user: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": user, "exp": now + 600, "iat": now, "jti": uuid::Uuid::new_v4(), "typ": "access",
        "role": "ADMIN", "iss": "cybermed", "aud": "cybermed-api", "sid": uuid::Uuid::new_v4(),
    });
    edit(&mut claims);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"test-secret-test-secret-test-secret-0123"),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_with_a_wrong_issuer_audience_algorithm_or_login_are_refused() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("j"), "PATIENT").await;
    // The real token's login id, so that only the edited claim is wrong.
    let sid = {
        let payload = s.access.split('.').nth(1).unwrap();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["sid"].clone()
    };
    let good = forge(jsonwebtoken::Algorithm::HS256, |c| c["sid"] = sid.clone(), &s.id);
    assert_eq!(app.me(&good).await.as_deref(), Ok(s.id.as_str()), "the forging helper matches the server");
    let cases: [(&str, String); 6] = [
        (
            "issuer",
            forge(
                jsonwebtoken::Algorithm::HS256,
                |c| {
                    c["sid"] = sid.clone();
                    c["iss"] = json!("someone-else");
                },
                &s.id,
            ),
        ),
        (
            "audience",
            forge(
                jsonwebtoken::Algorithm::HS256,
                |c| {
                    c["sid"] = sid.clone();
                    c["aud"] = json!("another-api");
                },
                &s.id,
            ),
        ),
        ("algorithm", forge(jsonwebtoken::Algorithm::HS512, |c| c["sid"] = sid.clone(), &s.id)),
        (
            "type",
            forge(
                jsonwebtoken::Algorithm::HS256,
                |c| {
                    c["sid"] = sid.clone();
                    c["typ"] = json!("refresh");
                },
                &s.id,
            ),
        ),
        ("unknown login", forge(jsonwebtoken::Algorithm::HS256, |_| {}, &s.id)),
        (
            "expired",
            forge(
                jsonwebtoken::Algorithm::HS256,
                |c| {
                    c["sid"] = sid.clone();
                    c["exp"] = json!(chrono::Utc::now().timestamp() - 30);
                },
                &s.id,
            ),
        ),
    ];
    for (what, token) in cases {
        assert_eq!(app.me(&token).await, Err("UNAUTHENTICATED".to_owned()), "wrong {what}");
    }
    let other_user =
        forge(jsonwebtoken::Algorithm::HS256, |c| c["sid"] = sid.clone(), &uuid::Uuid::new_v4().to_string());
    assert_eq!(app.me(&other_user).await, Err("UNAUTHENTICATED".to_owned()), "a login belongs to one user");
}

#[tokio::test]
async fn a_revocation_on_one_replica_stops_the_token_on_another_at_once() {
    if !crate::helpers::postgres_only("replicas share PostgreSQL; the embedded SQLite server is one process") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(&[("DATABASE_URL", a.database_url.as_str())]).await;
    let s = a.register(&email("r"), "PATIENT").await;
    assert_eq!(b.me(&s.access).await.as_deref(), Ok(s.id.as_str()), "replica B knows the login (and caches it)");
    a.gql(Some(&s.access), CHANGE, json!({ "o": PASSWORD, "n": "Fresh-Heron-77" })).await;
    // The notice travels on commit; allow it a moment, far below the cache's own lifetime.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        if b.me(&s.access).await == Err("UNAUTHENTICATED".to_owned()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "replica B still accepts a revoked token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_even_on_operations_that_need_no_viewer() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("someone"), "PATIENT").await;
    let forged = format!("{}x", user.access);
    let register = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }";
    let input = json!({ "i": { "email": email("new"), "password": PASSWORD, "firstName": "N", "lastName": "W", "role": "PATIENT" } });
    for header in [format!("Bearer {forged}"), "Basic abc".to_owned(), "Bearer".to_owned()] {
        for (query, vars) in [("{ __typename }", json!({})), (register, input.clone())] {
            let body: Value = app
                .client
                .post(app.url("/graphql"))
                .header("Authorization", &header)
                .json(&json!({ "query": query, "variables": vars }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{header}: {body}");
            assert!(body["data"].is_null(), "{body}");
            assert!(body["errors"][0].get("locations").is_none(), "the request's error, not a field's: {body}");
        }
    }
    // Nothing ran.
    assert_eq!(app.count_rows("users").await, 1);
}

#[tokio::test]
async fn refresh_and_logout_accept_a_genuine_but_expired_access_token_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("expired"), "PATIENT").await;
    app.state.clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(app.me(&user.access).await, Err("UNAUTHENTICATED".to_owned()));
    let typename = app.gql(Some(&user.access), "{ __typename }", json!({})).await;
    assert_eq!(code(&typename), Some("UNAUTHENTICATED"), "{typename}");

    let refresh = "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }";
    let body = app.gql(Some(&user.access), refresh, json!({ "r": user.refresh })).await;
    assert!(body["errors"].is_null(), "{body}");
    let next_refresh = body["data"]["refreshToken"]["refreshToken"].as_str().unwrap();
    // Mixed with anything else, the expired token is refused.
    let mixed = app.gql(Some(&user.access), "mutation($r: String!) { logout(refreshToken: $r) register(input: { email: \"x@example.com\", password: \"Long-Enough-Pass-1\", firstName: \"X\", lastName: \"Y\", role: PATIENT }) { user { id } } }", json!({ "r": next_refresh })).await;
    assert_eq!(code(&mixed), Some("UNAUTHENTICATED"), "{mixed}");
    let body = app
        .gql(Some(&user.access), "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": next_refresh }))
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
}

#[tokio::test]
async fn an_authorization_header_that_is_not_visible_ascii_is_unauthenticated_on_every_door() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let app = TestApp::spawn().await;
    let user = app.register(&email("ascii"), "PATIENT").await;
    // A genuine token with one byte outside visible ASCII after it, before it, or in the scheme.
    let values: Vec<Vec<u8>> = vec![
        format!("Bearer {}\u{e9}", user.access).into_bytes(),
        format!("Bearer \u{e9}{}", user.access).into_bytes(),
        format!("B\u{e9}arer {}", user.access).into_bytes(),
        [b"Bearer ".as_slice(), &[0xff, 0xfe]].concat(),
    ];
    for value in &values {
        let header = reqwest::header::HeaderValue::from_bytes(value).unwrap();
        // POST and GET /graphql, with an operation that needs no viewer.
        let post: Value = app
            .client
            .post(app.url("/graphql"))
            .header("Authorization", header.clone())
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(code(&post), Some("UNAUTHENTICATED"), "POST {value:?}: {post}");
        assert!(post["data"].is_null(), "{post}");
        let get: Value = app
            .client
            .get(app.url("/graphql?query=%7B__typename%7D"))
            .header("Authorization", header.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(code(&get), Some("UNAUTHENTICATED"), "GET {value:?}: {get}");
        // FHIR: 401 as for any bad token.
        let fhir = app
            .client
            .get(app.url(&format!("/fhir/r4/Patient/{}", user.id)))
            .header("Authorization", header.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(fhir.status(), 401, "FHIR {value:?}");
    }
    // The WebSocket's `connection_init`: as a bad token, every operation is refused.
    for payload in [format!("Bearer {}\u{e9}", user.access), format!("Bearer {}\u{0}", user.access)] {
        let url = app.address.replace("http://", "ws://") + "/graphql/ws";
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
        let init = json!({ "type": "connection_init", "payload": { "Authorization": payload } });
        ws.send(Message::text(init.to_string())).await.unwrap();
        let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } });
        ws.send(Message::text(sub.to_string())).await.unwrap();
        let answer = loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == "1" {
                    break v;
                }
            }
        };
        assert_eq!(answer["type"], "error", "{payload:?}: {answer}");
        assert_eq!(answer["payload"][0]["extensions"]["code"], "UNAUTHENTICATED", "{answer}");
    }
    // The same token, in visible ASCII, works.
    assert_eq!(app.me(&user.access).await, Ok(user.id.clone()));
}
