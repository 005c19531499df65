//! Throttles counted atomically in the database: logins, wrong old passwords, reset tokens, reset
//! emails; and the client address they key on, behind trusted proxies or not.
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, email, field, message};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
const CHANGE: &str =
    "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) { message } }";
const REQUEST: &str = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";
const RESET: &str =
    "mutation($e: String!, $t: String!, $p: String!) { resetPassword(email: $e, token: $t, password: $p) { message } }";

/// Audit entries with this action.
async fn audited(app: &TestApp, action: &str) -> i64 {
    app.count_rows(&format!("audit_log WHERE action = '{action}'")).await
}

/// How many of `bodies` failed with `code` (and, for `UNAUTHENTICATED`, the login message).
fn tally(bodies: &[Value]) -> (usize, usize) {
    let invalid = bodies
        .iter()
        .filter(|b| code(b) == Some("UNAUTHENTICATED") && message(b) == "Invalid email or password")
        .count();
    let limited = bodies.iter().filter(|b| code(b) == Some("RATE_LIMITED")).count();
    (invalid, limited)
}

/// A login sent with an `X-Forwarded-For` header.
async fn login_via(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> Value {
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": password } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_forty_simultaneous_wrong_passwords_for_one_email_only_the_limit_are_checked() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "5"), ("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000")]).await;
    let user = app.register(&email("burst"), "PATIENT").await;

    let guesses: Vec<String> = (0..40).map(|i| format!("Wrong-Guess-{i}")).collect();
    let bodies = join_all(guesses.iter().map(|g| app.login_raw(&user.email, g))).await;

    assert_eq!(tally(&bodies), (5, 35), "{bodies:?}");
    assert_eq!(audited(&app, "auth.login_failed").await, 5);
    assert_eq!(audited(&app, "auth.login_throttled").await, 35, "every throttled attempt is audited");
    let retry =
        bodies.iter().find(|b| code(b) == Some("RATE_LIMITED")).unwrap()["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap();
    assert!((1..=900).contains(&retry), "retryAfter {retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_in_a_burst_of_wrong_ones_cannot_sign_in_once_the_limit_is_reached() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "5"), ("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000")]).await;
    let user = app.register(&email("mixed"), "PATIENT").await;

    let guesses: Vec<String> = (0..39).map(|i| format!("Wrong-Guess-{i}")).collect();
    let wrong = join_all(guesses.iter().map(|g| app.login_raw(&user.email, g)));
    let right = async {
        // Arrives once the limit is reached (5 attempts recorded), while the wrong ones still run.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while app.count_rows("login_failures").await < 5 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        app.login_raw(&user.email, PASSWORD).await
    };
    let (wrong, right) = tokio::join!(wrong, right);

    assert_eq!(code(&right), Some("RATE_LIMITED"), "{right}");
    assert_eq!(tally(&wrong), (5, 34), "{wrong:?}");
    assert_eq!(app.count_rows("sessions").await, 1, "only the registration's login exists");
}

#[tokio::test]
async fn an_inactive_account_with_the_right_password_answers_as_a_wrong_password_and_counts() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    let admin = app.admin(&email("root")).await;
    let user = app.register(&email("gone"), "PATIENT").await;
    let off = app
        .gql(
            Some(&admin.access),
            "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { isActive } }",
            json!({ "id": user.id }),
        )
        .await;
    assert_eq!(off["data"]["setUserActive"]["isActive"], false);

    let right = app.login_raw(&user.email, PASSWORD).await;
    let wrong = app.login_raw(&user.email, "Wrong-Guess-1").await;
    for body in [&right, &wrong] {
        assert_eq!((code(body), message(body)), (Some("UNAUTHENTICATED"), "Invalid email or password"), "{body}");
    }
    assert_eq!(right["errors"][0]["extensions"], wrong["errors"][0]["extensions"]);
    assert_eq!(audited(&app, "auth.login_failed").await, 2, "both are failed logins");
    assert_eq!(code(&app.login_raw(&user.email, PASSWORD).await), Some("RATE_LIMITED"), "and both counted");
}

#[tokio::test]
async fn wrong_old_passwords_at_change_password_end_rate_limited() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let user = app.register(&email("chg"), "PATIENT").await;
    for i in 0..3 {
        let body =
            app.gql(Some(&user.access), CHANGE, json!({ "o": format!("Not-It-{i}-x"), "n": "Fresh-Heron-77" })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("oldPassword")), "{body}");
    }
    let limited = app.gql(Some(&user.access), CHANGE, json!({ "o": PASSWORD, "n": "Fresh-Heron-77" })).await;
    assert_eq!(code(&limited), Some("RATE_LIMITED"), "even with the right old password: {limited}");
    assert_eq!(code(&app.login_raw(&user.email, PASSWORD).await), Some("RATE_LIMITED"), "the same per-user limit");

    app.state.clock.advance(Duration::from_secs(901));
    let again = app.login(&user.email, PASSWORD).await;
    let ok = app.gql(Some(&again.access), CHANGE, json!({ "o": PASSWORD, "n": "Fresh-Heron-77" })).await;
    assert_eq!(ok["data"]["changePassword"]["message"], "Password changed successfully", "{ok}");
}

#[tokio::test]
async fn bad_reset_tokens_for_an_email_end_rate_limited_known_or_not() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let user = app.register(&email("rst"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": user.email })).await;
    let token = crate::helpers::token_in(&app.outbox_emails(1).await[0]);

    for who in [user.email.as_str(), "nobody.here@example.com"] {
        for i in 0..3 {
            let body =
                app.gql(None, RESET, json!({ "e": who, "t": format!("guess-{i}"), "p": "Quiet-Otter-2031" })).await;
            assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("token")), "{who}: {body}");
        }
        let limited = app.gql(None, RESET, json!({ "e": who, "t": token, "p": "Quiet-Otter-2031" })).await;
        assert_eq!(code(&limited), Some("RATE_LIMITED"), "{who}: {limited}");
    }
    app.login(&user.email, PASSWORD).await;
}

#[tokio::test]
async fn a_wrong_reset_token_costs_the_same_work_for_an_unknown_and_a_known_email() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("same"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": user.email })).await;
    app.outbox_emails(1).await;

    let vars = |e: &str| json!({ "e": e, "t": "x".repeat(43), "p": "Quiet-Otter-2031" });
    let (unknown, a) = app.statements_for(None, RESET, vars("nobody.here@example.com")).await;
    let (known, b) = app.statements_for(None, RESET, vars(&user.email)).await;

    assert_eq!(a, b, "the same answer");
    assert_eq!(unknown, known, "the same statements, whether or not the email exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_reset_requests_for_one_address_send_three_emails() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("spam"), "PATIENT").await;

    let bodies = join_all((0..30).map(|_| app.gql(None, REQUEST, json!({ "e": user.email })))).await;

    assert!(
        bodies.iter().all(|b| b["data"]["requestPasswordReset"]["message"] == "Password reset link sent to your email")
    );
    let emails = app.outbox_emails(30).await;
    assert_eq!(emails.len(), 3, "PASSWORD_RESET_MAX_PER_HOUR defaults to 3");

    app.state.clock.advance(Duration::from_secs(3601));
    app.gql(None, REQUEST, json!({ "e": user.email })).await;
    assert_eq!(app.outbox_emails(4).await.len(), 4, "an hour later, one more");
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")]).await;
    for i in 0..3 {
        let body = login_via(&app, &format!("203.0.113.{i}"), &format!("guess{i}@example.com"), "Wrong-Guess-1").await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    }
    let limited = login_via(&app, "198.51.100.99", "guess9@example.com", "Wrong-Guess-1").await;
    assert_eq!(code(&limited), Some("RATE_LIMITED"), "keyed on the TCP peer: {limited}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_one_throttled() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES_PER_ADDRESS", "3"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    for i in 0..3 {
        // Whatever the client writes left of the proxy's entry is ignored.
        let forwarded = format!("10.9.9.{i}, 203.0.113.5");
        let body = login_via(&app, &forwarded, &format!("guess{i}@example.com"), "Wrong-Guess-1").await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    }
    let same = login_via(&app, "203.0.113.5", "guess8@example.com", "Wrong-Guess-1").await;
    assert_eq!(code(&same), Some("RATE_LIMITED"), "{same}");
    let other = login_via(&app, "198.51.100.7", "guess9@example.com", "Wrong-Guess-1").await;
    assert_eq!(code(&other), Some("UNAUTHENTICATED"), "another client behind the proxy is not limited: {other}");
}
