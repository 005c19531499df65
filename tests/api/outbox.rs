//! The durable outbox: an email written while the mail server is down arrives once it is back
//! (also across a restart), retries end `FAILED`, headers, the admins' `outbox` list, and several
//! processes on one database send each email once.
use std::{collections::HashMap, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{Session, SmtpReceiver, TestApp, code, email, postgres_only, token_in};

const OUTBOX: &str = "query($s: EmailStatus) { outbox(first: 50, status: $s) { totalCount edges { node {
    id kind to subject appointmentId status attempts lastError createdAt dueAt sentAt } } } }";

const RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";

/// The admin's view of the outbox.
async fn outbox(app: &TestApp, admin: &Session, status: Option<&str>) -> Vec<Value> {
    let body = app.gql(Some(&admin.access), OUTBOX, json!({ "s": status })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["outbox"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// Waits (up to `wait`) until the admin's outbox shows an email satisfying `done`.
async fn until(app: &TestApp, admin: &Session, wait: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let rows = outbox(app, admin, None).await;
        if let Some(row) = rows.iter().find(|r| done(r)) {
            return row.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "not reached in time: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next message the receiver gets, within `wait`.
async fn received(smtp: &mut SmtpReceiver, wait: Duration) -> Option<String> {
    tokio::time::timeout(wait, smtp.messages.recv()).await.ok().flatten()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn an_email_written_while_the_mail_server_is_down_arrives_once_it_is_back() {
    let port = SmtpReceiver::free_port().await;
    let app = TestApp::spawn_with(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}")), ("MAIL_RETRY_SECS", "1")]).await;
    let admin = app.admin(&email("admin")).await;
    let user = app.register(&email("forgetful"), "PATIENT").await;
    let body = app.gql(None, RESET, json!({ "e": user.email })).await;
    assert!(body["errors"].is_null(), "{body}");

    // The request did not wait for the mail server; the email waits in the outbox.
    let failed_once = until(&app, &admin, Duration::from_secs(5), |r| {
        r["attempts"].as_i64() >= Some(1) && r["lastError"].is_string()
    })
    .await;
    assert_eq!(
        (&failed_once["kind"], &failed_once["status"], &failed_once["to"]),
        (&json!("PASSWORD_RESET"), &json!("PENDING"), &json!(user.email))
    );
    assert!(failed_once.get("body").is_none());

    let mut smtp = SmtpReceiver::start_on(port).await;
    let message = received(&mut smtp, Duration::from_secs(10)).await.expect("delivered once the server is back");
    assert_eq!(header(&message, "X-CyberMed-Kind"), Some("password-reset"));
    assert!(header(&message, "Message-ID").is_some_and(|m| m.starts_with('<') && m.ends_with('>')), "{message}");
    assert!(!token_in(&message).is_empty());
    let sent = until(&app, &admin, Duration::from_secs(5), |r| r["status"] == "SENT").await;
    assert!(sent["sentAt"].is_string() && sent["lastError"].is_null(), "{sent}");
    // Once.
    assert_eq!(received(&mut smtp, Duration::from_millis(1500)).await, None);
}

#[tokio::test]
async fn an_email_written_before_a_restart_is_sent_by_the_next_process() {
    let port = SmtpReceiver::free_port().await;
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let first = TestApp::spawn_with(&[("SMTP_URL", &smtp_url)]).await;
    let user = first.register(&email("restart"), "PATIENT").await;
    let body = first.gql(None, RESET, json!({ "e": user.email })).await;
    assert!(body["errors"].is_null(), "{body}");
    let database_url = first.database_url.clone();
    // Its folder and database, kept until the end (dropped after `second`).
    let _stopped = first.stop().await;

    let mut smtp = SmtpReceiver::start_on(port).await;
    // The retry is due in MAIL_RETRY_SECS (30 s by default): the next process's clock is moved.
    let second = TestApp::spawn_with(&[("SMTP_URL", &smtp_url), ("DATABASE_URL", &database_url)]).await;
    second.state.clock.advance(Duration::from_secs(31));
    second.state.events.outbox_wakeups().notify_one();
    let message = received(&mut smtp, Duration::from_secs(10)).await.expect("sent after the restart");
    assert!(message.contains(&format!("To: {}", user.email)), "{message}");
}

#[tokio::test]
async fn an_email_is_failed_after_its_last_attempt() {
    let port = SmtpReceiver::free_port().await;
    let app = TestApp::spawn_with(&[
        ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("MAIL_RETRY_SECS", "1"),
        ("MAIL_MAX_ATTEMPTS", "2"),
    ])
    .await;
    let admin = app.admin(&email("admin")).await;
    let user = app.register(&email("unlucky"), "PATIENT").await;
    app.gql(None, RESET, json!({ "e": user.email })).await;
    let failed = until(&app, &admin, Duration::from_secs(10), |r| r["status"] == "FAILED").await;
    assert_eq!(failed["attempts"], 2);
    assert!(failed["lastError"].as_str().is_some_and(|e| e.contains("SMTP")), "{failed}");
    assert!(failed["sentAt"].is_null());
    // Listed by status too, and no longer tried.
    assert_eq!(outbox(&app, &admin, Some("FAILED")).await.len(), 1);
    assert!(outbox(&app, &admin, Some("PENDING")).await.is_empty());
    let mut smtp = SmtpReceiver::start_on(port).await;
    assert_eq!(received(&mut smtp, Duration::from_millis(2500)).await, None);
}

#[tokio::test]
async fn only_admins_read_the_outbox() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("curious"), "DOCTOR").await;
    let body = app.gql(Some(&user.access), OUTBOX, json!({})).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    let body = app.gql(None, OUTBOX, json!({})).await;
    assert_eq!(code(&body), Some("UNAUTHENTICATED"), "{body}");
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_email_once() {
    if !postgres_only("several processes share one database on PostgreSQL; on SQLite, one process serves it") {
        return;
    }
    let mut smtp = SmtpReceiver::start().await;
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let a = TestApp::spawn_with(&[("SMTP_URL", &smtp_url)]).await;
    let b = TestApp::spawn_with(&[("SMTP_URL", &smtp_url), ("DATABASE_URL", &a.database_url)]).await;
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(a.register(&email(&format!("burst{i}")), "PATIENT").await);
    }
    // A burst, half through each process.
    let requests = users.iter().enumerate().map(|(i, u)| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.gql(None, RESET, json!({ "e": u.email }))
    });
    futures_util::future::join_all(requests).await;

    let mut by_id: HashMap<String, usize> = HashMap::new();
    while let Some(m) = received(&mut smtp, Duration::from_secs(3)).await {
        *by_id.entry(header(&m, "Message-ID").unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(by_id.len(), users.len(), "every email sent");
    assert!(by_id.values().all(|n| *n == 1), "each once: {by_id:?}");
}
