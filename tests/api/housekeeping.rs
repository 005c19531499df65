//! Housekeeping: what has expired is deleted, nothing else; several runs at once are safe.
use std::time::Duration;

use chrono::{DateTime, Utc};
use cybermed::{
    db::entities::{login_failure, outbox_email, session},
    jobs::{HousekeepingReport, housekeeping_once},
    outbox::{EmailKind, EmailStatus},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, email};

const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";
const DAY: Duration = Duration::from_secs(86_400);

/// Writes an email straight into the outbox (the sender is not what is tested here); `PENDING`
/// ones are due in a year, so no sender takes them meanwhile.
async fn outbox_row(app: &TestApp, status: EmailStatus, sent_at: Option<DateTime<Utc>>) -> Uuid {
    let id = Uuid::now_v7();
    let now = app.state.clock.now();
    outbox_email::ActiveModel {
        id: Set(id),
        kind: Set(EmailKind::PasswordReset),
        to_address: Set("someone@example.com".into()),
        subject: Set("Subject".into()),
        body: Set("Body".into()),
        appointment_id: Set(None),
        recipient_id: Set(None),
        starts_at: Set(None),
        message_id: Set(format!("<{id}@clinic.test>")),
        status: Set(status),
        attempts: Set(if status == EmailStatus::Pending { 0 } else { 1 }),
        last_error: Set(None),
        created_at: Set(now),
        due_at: Set(now + chrono::Duration::days(365)),
        sent_at: Set(sent_at),
        lease_until: Set(None),
        lease_owner: Set(None),
        // The channel (its default, EMAIL) and the gateway's id (none) left to the database.
        ..Default::default()
    }
    .insert(&app.state.writer)
    .await
    .unwrap();
    id
}

async fn attempts_of(app: &TestApp, kind: &str) -> u64 {
    login_failure::Entity::find().filter(login_failure::Column::Kind.eq(kind)).count(&app.state.db).await.unwrap()
}

async fn exists(app: &TestApp, id: Uuid) -> bool {
    outbox_email::Entity::find_by_id(id).one(&app.state.db).await.unwrap().is_some()
}

/// Rows of every kind, some expired and some not, as of the app's clock once it returns.
struct Made {
    /// What one run must delete (`sent_emails` counted from the table just before).
    expected: HousekeepingReport,
    old_sent: Uuid,
    kept_emails: Vec<Uuid>,
}

/// Day 0: three users sign up (a login each), the first signs in again, fails a password and asks
/// for a reset; one email is sent, one pending and one failed. Day 31: the second signs in twice
/// (logging one out), fails a password and asks for a reset; one email is sent. Twenty minutes
/// later the third fails a password and asks for a reset. By then the day-0 logins, refresh tokens
/// and sent email are past their expiry and retention, both earlier reset tokens past their ten
/// minutes, the two earlier failed passwords past their 15-minute window, the sign-ups past their
/// hour; the second user's reset email still counts (an hour).
async fn make_rows(app: &TestApp) -> Made {
    let a = app.register(&email("a"), "PATIENT").await;
    let b = app.register(&email("b"), "PATIENT").await;
    let c = app.register(&email("c"), "PATIENT").await;
    app.login(&a.email, PASSWORD).await;
    assert!(app.login_raw(&a.email, "Wrong-password-1").await["errors"].is_array());
    app.gql(None, REQUEST_RESET, json!({ "e": a.email })).await;
    let old_sent = outbox_row(app, EmailStatus::Sent, Some(app.state.clock.now())).await;
    let old_pending = outbox_row(app, EmailStatus::Pending, None).await;
    let old_failed = outbox_row(app, EmailStatus::Failed, None).await;
    let day0_sessions = app.count_rows("sessions").await;
    let day0_refresh_tokens = app.count_rows("refresh_tokens").await;

    app.state.clock.advance(31 * DAY);
    app.login(&b.email, PASSWORD).await;
    let b2 = app.login(&b.email, PASSWORD).await;
    app.gql(None, "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": b2.refresh })).await;
    assert!(app.login_raw(&b.email, "Wrong-password-1").await["errors"].is_array());
    app.gql(None, REQUEST_RESET, json!({ "e": b.email })).await;
    let new_sent = outbox_row(app, EmailStatus::Sent, Some(app.state.clock.now())).await;

    app.state.clock.advance(Duration::from_secs(20 * 60));
    assert!(app.login_raw(&c.email, "Wrong-password-1").await["errors"].is_array());
    app.gql(None, REQUEST_RESET, json!({ "e": c.email })).await;

    assert_eq!(app.count_rows("password_reset_tokens").await, 3);
    assert_eq!(app.count_rows("login_failures").await, 9, "3 sign-ups, 3 passwords, 3 reset emails");
    let retention = chrono::Duration::from_std(app.state.config.outbox_retention).unwrap();
    // Counted apart from the rows made here: emails the service itself wrote may be sent by now
    // (any sent from now on are sent after the cut-off).
    let sent_emails = outbox_email::Entity::find()
        .filter(outbox_email::Column::Status.eq(EmailStatus::Sent))
        .filter(outbox_email::Column::SentAt.lte(app.state.clock.now() - retention))
        .count(&app.state.db)
        .await
        .unwrap();
    Made {
        expected: HousekeepingReport {
            refresh_tokens: day0_refresh_tokens.try_into().unwrap(),
            sessions: day0_sessions.try_into().unwrap(),
            password_reset_tokens: 2,
            login_failures: 6,
            sent_emails,
            delivered_webhooks: 0,
        },
        old_sent,
        kept_emails: vec![old_pending, old_failed, new_sent],
    }
}

#[tokio::test]
async fn housekeeping_deletes_exactly_what_has_expired_and_never_the_audit_log() {
    let app = TestApp::spawn().await;
    let made = make_rows(&app).await;
    assert_eq!(made.expected.sessions, 4, "three sign-ups and a sign-in on day 0");
    assert!(made.expected.sent_emails >= 1);
    let audit_before = app.count_rows("audit_log").await;

    let report = housekeeping_once(&app.state, &app.state.config).await.unwrap();

    assert_eq!(report, made.expected);
    // The second user's two logins of day 31 stay, the logged-out one too until its expiry.
    assert_eq!(app.count_rows("sessions").await, 2);
    let revoked = session::Entity::find().filter(session::Column::RevokedAt.is_not_null()).count(&app.state.db);
    assert_eq!(revoked.await.unwrap(), 1);
    assert_eq!(app.count_rows("refresh_tokens").await, 2);
    assert_eq!(app.count_rows("password_reset_tokens").await, 1, "the third user's, ten minutes to live");
    assert_eq!(attempts_of(&app, "reset_email").await, 2, "the last hour's");
    assert_eq!(attempts_of(&app, "login").await, 1, "the last 15 minutes'");
    assert_eq!(attempts_of(&app, "register").await, 0, "the day-0 sign-ups, past their hour");
    assert!(!exists(&app, made.old_sent).await, "a sent email past the retention is deleted");
    for id in made.kept_emails {
        assert!(exists(&app, id).await, "pending, failed and recently sent emails stay");
    }
    assert_eq!(app.count_rows("audit_log").await, audit_before, "the audit log is never deleted");

    // A second run finds nothing left to do.
    assert_eq!(housekeeping_once(&app.state, &app.state.config).await.unwrap(), HousekeepingReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_housekeeping_runs_at_once_both_succeed_and_delete_each_row_once() {
    let app = TestApp::spawn().await;
    let made = make_rows(&app).await;

    let (first, second) = tokio::join!(
        housekeeping_once(&app.state, &app.state.config),
        housekeeping_once(&app.state, &app.state.config)
    );

    let (first, second) = (first.unwrap(), second.unwrap());
    let together = HousekeepingReport {
        refresh_tokens: first.refresh_tokens + second.refresh_tokens,
        sessions: first.sessions + second.sessions,
        password_reset_tokens: first.password_reset_tokens + second.password_reset_tokens,
        login_failures: first.login_failures + second.login_failures,
        sent_emails: first.sent_emails + second.sent_emails,
        delivered_webhooks: first.delivered_webhooks + second.delivered_webhooks,
    };
    assert_eq!(together, made.expected);
    assert_eq!(app.count_rows("sessions").await, 2);
    assert!(!exists(&app, made.old_sent).await);
}

#[tokio::test]
async fn the_server_stops_its_background_loops_when_it_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::helpers::fresh_database(&dir).await;
    let env: std::collections::HashMap<&str, String> = std::collections::HashMap::from([
        ("DATABASE_URL", database.url.clone()),
        ("BIND_ADDR", "127.0.0.1:0".into()),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123".into()),
        ("MAIL_OUTBOX_DIR", dir.path().join("outbox").display().to_string()),
    ]);
    let config = cybermed::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let app = cybermed::app::Application::build(config).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    stop.send(()).unwrap();

    // `run_until` returns only once every loop has stopped.
    let ran = tokio::time::timeout(Duration::from_secs(10), serving).await.expect("the loops stop at shutdown");
    ran.unwrap().unwrap();
}
