//! Password reset by emailed token: no enumeration, single use, newest wins, expiry, SMTP.
use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, SmtpReceiver, TestApp, code, email, field, message, token_in};

const REQUEST: &str = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";
const RESET: &str =
    "mutation($e: String!, $t: String!, $p: String!) { resetPassword(email: $e, token: $t, password: $p) { message } }";
const NEW_PASSWORD: &str = "Quiet-Otter-2031";

#[tokio::test]
async fn the_answer_is_the_same_for_unknown_emails_and_no_email_is_sent() {
    let app = TestApp::spawn().await;
    let known = app.register(&email("k"), "PATIENT").await;
    let a = app.gql(None, REQUEST, json!({ "e": "nobody@example.com" })).await;
    let b = app.gql(None, REQUEST, json!({ "e": known.email })).await;
    assert_eq!(a, b);
    assert_eq!(a["data"]["requestPasswordReset"]["message"], "Password reset link sent to your email");
    let emails = app.outbox_emails(1).await;
    assert_eq!(emails.len(), 1, "only the known address gets an email");
    assert!(emails[0].contains(&format!("To: {}", known.email)));
}

#[tokio::test]
async fn the_emailed_token_resets_the_password_once_and_revokes_logins() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("r"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": s.email.to_uppercase() })).await;
    let mail = app.outbox_emails(1).await.remove(0);
    let token = token_in(&mail);
    assert!(token.len() >= 22, "at least 128 bits");
    let link = format!("http://clinic.test/reset-password?email={}&token={token}", s.email.replace('@', "%40"));
    assert!(mail.contains(&link), "the email carries the link {link}:\n{mail}");

    let ok = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": NEW_PASSWORD })).await;
    assert_eq!(ok["data"]["resetPassword"]["message"], "Password reset successfully");
    assert_eq!(app.me(&s.access).await, Err("UNAUTHENTICATED".to_owned()), "logins are revoked");
    app.login(&s.email, NEW_PASSWORD).await;

    let again = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": "Another-Pass-99" })).await;
    assert_eq!(code(&again), Some("BAD_USER_INPUT"));
    assert_eq!(message(&again), "Invalid token or expired token.");
}

#[tokio::test]
async fn a_wrong_token_or_weak_password_is_refused_without_using_the_token() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("w"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": s.email })).await;
    let token = token_in(&app.outbox_emails(1).await[0]);

    let wrong = app.gql(None, RESET, json!({ "e": s.email, "t": "x".repeat(43), "p": NEW_PASSWORD })).await;
    assert_eq!(message(&wrong), "Invalid token or expired token.");
    let other_email = app.gql(None, RESET, json!({ "e": "other@example.com", "t": token, "p": NEW_PASSWORD })).await;
    assert_eq!(message(&other_email), "Invalid token or expired token.");
    let weak = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": "password" })).await;
    assert_eq!((code(&weak), field(&weak)), (Some("BAD_USER_INPUT"), Some("password")));

    let ok = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": NEW_PASSWORD })).await;
    assert!(ok["data"]["resetPassword"].is_object(), "{ok}");
}

#[tokio::test]
async fn a_newer_request_replaces_the_older_token() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("n"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": s.email })).await;
    let first = token_in(&app.outbox_emails(1).await[0]);
    app.gql(None, REQUEST, json!({ "e": s.email })).await;
    let emails = app.outbox_emails(2).await;
    let second = emails.iter().map(|m| token_in(m)).find(|t| *t != first).unwrap();

    let old = app.gql(None, RESET, json!({ "e": s.email, "t": first, "p": NEW_PASSWORD })).await;
    assert_eq!(message(&old), "Invalid token or expired token.");
    let new = app.gql(None, RESET, json!({ "e": s.email, "t": second, "p": NEW_PASSWORD })).await;
    assert!(new["data"]["resetPassword"].is_object(), "{new}");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.register(&email("x"), "PATIENT").await;
    app.gql(None, REQUEST, json!({ "e": s.email })).await;
    let token = token_in(&app.outbox_emails(1).await[0]);
    app.state.clock.advance(Duration::from_secs(601));
    let body = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": NEW_PASSWORD })).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(message(&body), "Invalid token or expired token.");
    app.login(&s.email, PASSWORD).await;
}

#[tokio::test]
async fn a_real_smtp_receiver_gets_the_reset_email_and_its_token_works() {
    let mut smtp = SmtpReceiver::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = TestApp::spawn_with(&[("SMTP_URL", &url), ("MAIL_FROM", "Clinic <desk@clinic.test>")]).await;
    let s = app.register(&email("smtp"), "PATIENT").await;
    let body = app.gql(None, REQUEST, json!({ "e": s.email })).await;
    assert_eq!(body["data"]["requestPasswordReset"]["message"], "Password reset link sent to your email");

    let mail = tokio::time::timeout(Duration::from_secs(10), smtp.messages.recv()).await.unwrap().unwrap();
    assert!(mail.contains("desk@clinic.test"), "{mail}");
    assert!(mail.contains(&s.email));
    let token = token_in(&mail);
    let ok = app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": NEW_PASSWORD })).await;
    assert_eq!(ok["data"]["resetPassword"]["message"], "Password reset successfully");
    app.login(&s.email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_failing_smtp_server_does_not_change_the_answer() {
    // Nothing listens on this port: delivery fails, and is only logged.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]).await;
    let s = app.register(&email("f"), "PATIENT").await;
    let known = app.gql(None, REQUEST, json!({ "e": s.email })).await;
    let unknown = app.gql(None, REQUEST, json!({ "e": "nobody@example.com" })).await;
    assert_eq!(known, unknown);
    assert!(known["errors"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_simultaneous_resets_with_one_token_exactly_one_succeeds() {
    let app = TestApp::spawn().await;
    for round in 0..3 {
        let s = app.register(&email("race"), "PATIENT").await;
        app.gql(None, REQUEST, json!({ "e": s.email })).await;
        let token =
            token_in(&app.outbox_emails(round + 1).await.iter().find(|m| m.contains(&s.email)).unwrap().clone());
        let (a, b) = tokio::join!(
            app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": "First-Winner-11" })),
            app.gql(None, RESET, json!({ "e": s.email, "t": token, "p": "Second-Winner-22" }))
        );
        let wins = [&a, &b].iter().filter(|r| r["data"]["resetPassword"].is_object()).count();
        assert_eq!(wins, 1, "{a}\n{b}");
        let loser = if a["data"]["resetPassword"].is_object() { &b } else { &a };
        assert_eq!(message(loser), "Invalid token or expired token.");
    }
}
