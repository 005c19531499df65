//! SMS reminders and notices: the consent (`smsReminders` with an E.164 `phone`), the SMS rows
//! written with each appointment change, quiet hours, the `file` and `http` transports (a fake
//! gateway started here), and `smsOutbox` for admins. Both databases.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use cybermed::{
    db::entities::outbox_email,
    outbox::{Channel, EmailKind, EmailStatus},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    appointments::Clinic,
    helpers::{Session, code, field, message, upcoming, utc_of_local},
};

const PHONE: &str = "+4917012345678";
const MASKED: &str = "+49•••••••5678";
/// A reason for visit no SMS may ever contain.
const REASON: &str = "Recurring migraine with aura zq7x";
const UPDATE_ME: &str = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { phone smsReminders emailReminders } }";
const RESCHEDULE: &str =
    "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id startsAt } }";
const SMS_OUTBOX: &str = "query($s: EmailStatus, $a: UUID) { smsOutbox(first: 20, status: $s, appointmentId: $a) { \
    totalCount edges { node { id kind to appointmentId status attempts lastError providerMessageId createdAt dueAt sentAt } } } }";

/// A clinic whose doctor (in `tz`) is Dr Greta Hausarzt and whose patient is Pia Patient.
async fn clinic(tz: &str, settings: &[(&str, &str)]) -> Clinic {
    let c = Clinic::open_with(tz, settings).await;
    for (who, first, last) in [(&c.doctor, "Greta", "Hausarzt"), (&c.patient, "Pia", "Patient")] {
        let body = update_me(&c, who, json!({ "firstName": first, "lastName": last })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    c
}

async fn update_me(c: &Clinic, who: &Session, input: Value) -> Value {
    c.app.gql(Some(&who.access), UPDATE_ME, json!({ "i": input })).await
}

/// Turns the patient's SMS on with [`PHONE`]; panics on failure.
async fn opt_in(c: &Clinic) {
    let body = update_me(c, &c.patient, json!({ "smsReminders": true, "phone": PHONE })).await;
    assert_eq!(body["data"]["updateMe"]["smsReminders"], true, "{body}");
}

/// The SMS rows (oldest first), read from the database.
async fn sms_rows(c: &Clinic) -> Vec<outbox_email::Model> {
    outbox_email::Entity::find()
        .filter(outbox_email::Column::Channel.eq(Channel::Sms))
        .order_by_asc(outbox_email::Column::Id)
        .all(&c.app.state.db)
        .await
        .unwrap()
}

async fn sms_of(c: &Clinic, appointment: &str, kind: EmailKind) -> Vec<outbox_email::Model> {
    sms_rows(c).await.into_iter().filter(|r| r.appointment_id == Some(uuid(appointment)) && r.kind == kind).collect()
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().unwrap()
}

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// How an SMS writes an instant: the doctor's local date and time, with the zone's name.
fn local(at: DateTime<Utc>, tz: &str) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap();
    format!("{} ({tz})", at.with_timezone(&zone).format("%a %-d %b %Y %H:%M"))
}

/// The patient books with the doctor at `at` (the reason is [`REASON`]); returns the id.
async fn book(c: &Clinic, at: &str) -> String {
    let body = c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at, "reasonForVisit": REASON })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned()
}

/// `smsOutbox` as `who`: the whole response.
async fn sms_outbox(c: &Clinic, who: &Session, vars: Value) -> Value {
    c.app.gql(Some(&who.access), SMS_OUTBOX, vars).await
}

/// Waits (up to 20 s) until `done` holds for the SMS rows.
async fn wait_for(c: &Clinic, what: &str, done: impl Fn(&[outbox_email::Model]) -> bool) -> Vec<outbox_email::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = sms_rows(c).await;
        if done(&rows) {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn audit_actions(body: &Value) -> Vec<String> {
    body["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn turning_sms_on_needs_an_e164_phone_and_every_change_of_consent_is_audited() {
    let c = clinic("UTC", &[]).await;
    let refused = |body: &Value, f: &str| {
        assert_eq!((code(body), field(body)), (Some("BAD_USER_INPUT"), Some(f)), "{body}");
    };

    // No phone, a phone not in E.164 form, null.
    refused(&update_me(&c, &c.patient, json!({ "smsReminders": true })).await, "phone");
    for phone in ["0170 1234567", "+49 170 1234567", "+1234567", "+1234567890123456", "4917012345678"] {
        refused(&update_me(&c, &c.patient, json!({ "smsReminders": true, "phone": phone })).await, "phone");
    }
    let body = update_me(&c, &c.patient, json!({ "smsReminders": null })).await;
    refused(&body, "smsReminders");
    assert_eq!(message(&body), "This field may not be null");
    let me = c.app.gql(Some(&c.patient.access), "{ me { phone smsReminders } }", json!({})).await;
    assert_eq!(me["data"]["me"], json!({ "phone": null, "smsReminders": false }), "nothing changed: {me}");

    // On with an E.164 number; then the number may change only to another E.164 one.
    opt_in(&c).await;
    refused(&update_me(&c, &c.patient, json!({ "phone": "0170 1234567" })).await, "phone");
    refused(&update_me(&c, &c.patient, json!({ "phone": null })).await, "phone");
    let body = update_me(&c, &c.patient, json!({ "phone": "+12025550123" })).await;
    assert_eq!(body["data"]["updateMe"]["phone"], "+12025550123", "{body}");
    // Off, and the number cleared with it.
    let body = update_me(&c, &c.patient, json!({ "smsReminders": false, "phone": null })).await;
    assert_eq!(body["data"]["updateMe"], json!({ "phone": null, "smsReminders": false, "emailReminders": true }));
    // The same value again changes no consent.
    assert!(update_me(&c, &c.patient, json!({ "smsReminders": false })).await["errors"].is_null());

    let q = "query($s: UUID) { auditLog(first: 100, subjectId: $s) { edges { node { action } } } }";
    let log = c.app.gql(Some(&c.admin.access), q, json!({ "s": c.patient.id })).await;
    let consents = audit_actions(&log).iter().filter(|a| *a == "user.sms_consent").count();
    assert_eq!(consents, 2, "on, then off: {log}");

    // Private: the patient and admins see it, another patient does not.
    let other = c.app.patient().await;
    let q = "query($id: UUID!) { user(id: $id) { smsReminders } }";
    let by_admin = c.app.gql(Some(&c.admin.access), q, json!({ "id": c.patient.id })).await;
    assert_eq!(by_admin["data"]["user"]["smsReminders"], false, "{by_admin}");
    let by_other = c.app.gql(Some(&other.access), q, json!({ "id": c.patient.id })).await;
    assert!(by_other["data"]["user"].is_null(), "{by_other}");
}

#[tokio::test]
async fn the_file_transport_writes_a_short_json_sms_naming_the_doctor_and_the_local_time_but_not_the_patient() {
    let tz = "Europe/Berlin";
    let c = clinic(tz, &[]).await;
    opt_in(&c).await;
    let starts = utc_of_local(upcoming(1, 7), "09:30", tz);
    let id = book(&c, &starts).await;

    // The reminder waits for its lead (a day before); the cancellation goes out at once.
    let reminders = sms_of(&c, &id, EmailKind::AppointmentReminder).await;
    assert_eq!(reminders.len(), 1, "one per lead of SMS_REMINDER_LEADS (24h)");
    assert_eq!(reminders[0].due_at, instant(&starts) - TimeDelta::hours(24));
    assert_eq!((reminders[0].to_address.as_str(), reminders[0].status), (PHONE, EmailStatus::Pending));
    assert!(c.act(&c.patient, "cancelAppointment", &id).await["errors"].is_null());
    assert!(sms_of(&c, &id, EmailKind::AppointmentReminder).await.is_empty(), "the reminder is dropped");

    let rows = wait_for(&c, "the cancellation SMS", |r| r.iter().any(|s| s.status == EmailStatus::Sent)).await;
    let sent = rows.iter().find(|s| s.kind == EmailKind::AppointmentCancelled).unwrap();
    let file = c.app.sms_outbox.join(format!("{}.json", sent.id));
    // Written under a hidden name and renamed: nothing else is left in the folder.
    let names: Vec<String> = std::fs::read_dir(&c.app.sms_outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [format!("{}.json", sent.id)]);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["body", "id", "to"]);
    assert_eq!((json["id"].as_str().unwrap(), json["to"].as_str().unwrap()), (sent.id.to_string().as_str(), PHONE));
    let text = json["body"].as_str().unwrap();
    assert_eq!(
        text,
        format!("CyberMed: your appointment with Dr Greta Hausarzt on {} is cancelled.", local(instant(&starts), tz))
    );
    assert!(text.chars().count() <= 160, "{text}");
    for secret in ["Pia", "Patient", REASON] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
    assert_eq!(sent.recipient_id, Some(uuid(&c.patient.id)), "only the patient gets SMS");
}

/// A fake SMS gateway on 127.0.0.1: answers its first `failures` requests 500, then 200 with an
/// id; records every request.
#[derive(Clone, Default)]
struct Gateway {
    failures: usize,
    seen: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn gateway_answer(
    State(g): State<Gateway>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let n = {
        let mut seen = g.seen.lock().unwrap();
        seen.push((headers, body));
        seen.len()
    };
    if n <= g.failures {
        (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})))
    } else {
        (StatusCode::OK, Json(json!({ "id": "gw-123" })))
    }
}

async fn start_gateway(failures: usize) -> (String, Gateway) {
    let gateway = Gateway { failures, ..Gateway::default() };
    let app = Router::new().route("/sms", post(gateway_answer)).with_state(gateway.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, gateway)
}

/// A clinic (in UTC, with `settings`) whose patient turned SMS on, booked and cancelled: its
/// cancellation SMS is due at once. Returns the appointment's id.
async fn cancelled_with_sms(settings: &[(&str, &str)]) -> (Clinic, String) {
    let c = clinic("UTC", settings).await;
    opt_in(&c).await;
    let id = book(&c, &format!("{}T10:00:00Z", upcoming(2, 7))).await;
    assert!(c.act(&c.patient, "cancelAppointment", &id).await["errors"].is_null());
    (c, id)
}

#[tokio::test]
async fn the_http_transport_retries_a_failing_gateway_with_one_idempotency_key_and_keeps_its_id() {
    let (url, gateway) = start_gateway(2).await;
    let settings = [
        ("SMS_TRANSPORT", "http"),
        ("SMS_HTTP_URL", url.as_str()),
        ("SMS_HTTP_TOKEN", "tok-3f9a"),
        ("MAIL_RETRY_SECS", "1"),
        ("MAIL_RETRY_MAX_SECS", "1"),
    ];
    let (c, id) = cancelled_with_sms(&settings).await;

    let rows = wait_for(&c, "the SMS sent on the third attempt", |r| {
        r.iter().any(|s| s.kind == EmailKind::AppointmentCancelled && s.status == EmailStatus::Sent)
    })
    .await;
    let sent = rows.iter().find(|s| s.kind == EmailKind::AppointmentCancelled).unwrap();
    let seen = gateway.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "500, 500, then 200");
    for (headers, body) in &seen {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(header("idempotency-key"), sent.id.to_string(), "one key for every attempt");
        assert_eq!(body["messageId"], sent.id.to_string());
        assert_eq!(header("authorization"), "Bearer tok-3f9a");
        assert_eq!(body["to"], PHONE);
        assert!(body["body"].as_str().unwrap().contains("Dr Greta Hausarzt"), "{body}");
    }

    let out = sms_outbox(&c, &c.admin, json!({ "a": id })).await;
    let node = &out["data"]["smsOutbox"]["edges"][0]["node"];
    assert_eq!(
        (&node["status"], &node["attempts"], &node["providerMessageId"], &node["to"]),
        (&json!("SENT"), &json!(3), &json!("gw-123"), &json!(MASKED)),
        "{out}"
    );
    assert!(node["sentAt"].is_string() && node["lastError"].is_null(), "{out}");
}

#[tokio::test]
async fn a_failing_gateway_is_given_up_after_the_last_attempt_without_the_number_or_text_in_the_error() {
    let (url, _gateway) = start_gateway(usize::MAX).await;
    let settings = [
        ("SMS_TRANSPORT", "http"),
        ("SMS_HTTP_URL", url.as_str()),
        ("MAIL_RETRY_SECS", "1"),
        ("MAIL_RETRY_MAX_SECS", "1"),
        ("MAIL_MAX_ATTEMPTS", "2"),
    ];
    let (c, _) = cancelled_with_sms(&settings).await;
    let rows = wait_for(&c, "the SMS given up on", |r| r.iter().any(|s| s.status == EmailStatus::Failed)).await;
    let failed = rows.iter().find(|s| s.status == EmailStatus::Failed).unwrap();
    assert_eq!(failed.attempts, 2);
    let error = failed.last_error.as_deref().unwrap();
    assert_eq!(error, "SMS gateway answered 500");
}

#[tokio::test]
async fn two_processes_on_one_database_send_each_sms_once() {
    if !crate::helpers::postgres_only(
        "several processes share one database on PostgreSQL; on SQLite, one process serves it",
    ) {
        return;
    }
    let (url, gateway) = start_gateway(0).await;
    let settings = [("SMS_TRANSPORT", "http"), ("SMS_HTTP_URL", url.as_str())];
    let c = clinic("UTC", &settings).await;
    let other = crate::helpers::TestApp::spawn_with(&[
        ("SMS_TRANSPORT", "http"),
        ("SMS_HTTP_URL", url.as_str()),
        ("DATABASE_URL", c.app.database_url.as_str()),
    ])
    .await;
    opt_in(&c).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(book(&c, &format!("{}T{:02}:{:02}:00Z", upcoming(2, 7), 8 + i / 2, (i % 2) * 30)).await);
    }
    // A burst of cancellations, half through each process: one SMS each, due at once.
    let cancel = "mutation($id: UUID!) { cancelAppointment(id: $id) { id } }";
    let cancels = ids.iter().enumerate().map(|(i, id)| {
        let app = if i % 2 == 0 { &c.app } else { &other };
        app.gql(Some(&c.patient.access), cancel, json!({ "id": id }))
    });
    for body in futures_util::future::join_all(cancels).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    wait_for(&c, "every SMS sent", |r| {
        r.iter().filter(|s| s.kind == EmailKind::AppointmentCancelled && s.status == EmailStatus::Sent).count() == 12
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut by_key = std::collections::HashMap::<String, usize>::new();
    for (headers, _) in gateway.seen.lock().unwrap().iter() {
        let key = headers.get("idempotency-key").unwrap().to_str().unwrap().to_owned();
        *by_key.entry(key).or_default() += 1;
    }
    assert_eq!(by_key.len(), 12, "every SMS sent");
    assert!(by_key.values().all(|n| *n == 1), "each once: {by_key:?}");
}

#[tokio::test]
async fn the_outbox_gauges_count_sms_apart_from_emails() {
    let (url, _gateway) = start_gateway(usize::MAX).await;
    let settings = [
        ("SMS_TRANSPORT", "http"),
        ("SMS_HTTP_URL", url.as_str()),
        ("MAIL_RETRY_SECS", "3600"),
        ("METRICS_BIND_ADDR", "127.0.0.1:0"),
    ];
    let (c, _) = cancelled_with_sms(&settings).await;
    // Tried once and waiting for its retry: backlog of the SMS channel.
    wait_for(&c, "the first attempt", |r| r.iter().any(|s| s.attempts == 1 && s.last_error.is_some())).await;
    let port = c.app.metrics_port.unwrap();
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let line = |name: &str, channel: &str| {
        let prefix = format!("{name}{{channel=\"{channel}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map(|v| v.parse::<f64>().unwrap())
    };
    assert_eq!(line("cybermed_outbox_pending", "sms"), Some(1.0), "{text}");
    assert!(line("cybermed_outbox_oldest_pending_seconds", "sms").is_some(), "{text}");
    assert!(line("cybermed_outbox_pending", "email").is_some(), "{text}");
    assert!(line("cybermed_outbox_failed_total", "sms").is_some(), "{text}");
}

/// `HH:MM` of `at` in `tz`.
fn hhmm(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

#[tokio::test]
async fn an_sms_due_in_the_quiet_hours_waits_for_their_end_and_is_dropped_if_the_appointment_started_by_then() {
    // Quiet from an hour ago until three hours from now, in the doctor's zone (India, +05:30):
    // whatever the hour this runs at, "now" is inside them.
    let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
    let now = Utc::now().with_second(0).unwrap().with_nanosecond(0).unwrap();
    let (from, until) = (now - TimeDelta::hours(1), now + TimeDelta::hours(3));
    let quiet = format!("{}-{}", hhmm(from, tz), hhmm(until, tz));
    let c = clinic("Asia/Kolkata", &[("SMS_QUIET_HOURS", quiet.as_str()), ("SMS_REMINDER_LEADS", "1h")]).await;
    opt_in(&c).await;

    // The doctor books the patient two hours from now: its reminder (an hour before) and the
    // notice of a move fall in the quiet hours and are due at their end, after the start.
    let starts = (now + TimeDelta::hours(2)).to_rfc3339();
    let q = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }";
    let i = json!({ "patientId": c.patient.id, "startsAt": starts, "reasonForVisit": REASON });
    let body = c.app.gql(Some(&c.doctor.access), q, json!({ "i": i })).await;
    assert!(body["errors"].is_null(), "{body}");
    let id = body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let reminder = sms_of(&c, &id, EmailKind::AppointmentReminder).await.remove(0);
    assert_eq!(reminder.due_at, until, "the reminder waits for the end of the quiet hours");
    let moved_to = (now + TimeDelta::minutes(150)).to_rfc3339();
    let body = c.app.gql(Some(&c.doctor.access), RESCHEDULE, json!({ "id": id, "s": moved_to })).await;
    assert!(body["errors"].is_null(), "{body}");
    let notice = sms_of(&c, &id, EmailKind::AppointmentRescheduled).await.remove(0);
    assert_eq!(notice.due_at, until, "the notice waits too");
    assert!(notice.body.contains(&local(instant(&moved_to), "Asia/Kolkata")), "{}", notice.body);
    let shown = sms_outbox(&c, &c.admin, json!({ "a": id })).await;
    let due: Vec<&Value> =
        shown["data"]["smsOutbox"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["dueAt"]).collect();
    let until_text = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(due.len() == 2 && due.iter().all(|d| **d == json!(until_text)), "{shown}");

    // When the quiet hours end the appointment has started: nothing is sent.
    let mut c = c;
    c.advance(Duration::from_secs(3 * 3600 + 60)).await;
    wait_for(&c, "the SMS dropped", <[_]>::is_empty).await;
    assert!(std::fs::read_dir(&c.app.sms_outbox).map(|d| d.count()).unwrap_or(0) == 0, "no SMS was written");
}

#[tokio::test]
async fn opting_out_drops_the_pending_sms_and_opting_in_queues_the_reminders_of_appointments_to_come() {
    let c = clinic("UTC", &[("SMS_REMINDER_LEADS", "24h,2h")]).await;
    let tomorrow = format!("{}T10:00:00Z", Utc::now().date_naive() + chrono::Days::new(1));
    let later = format!("{}T10:00:00Z", upcoming(4, 7));
    let (near, far) = (book(&c, &tomorrow).await, book(&c, &later).await);
    assert!(sms_rows(&c).await.is_empty(), "no consent, no SMS");

    // On: the reminders of both appointments whose leads have not passed (tomorrow 10:00 is less
    // than 24 hours away only after 10:00 today).
    opt_in(&c).await;
    let due_of = |rows: Vec<outbox_email::Model>| {
        let mut due: Vec<_> = rows.iter().map(|r| r.due_at).collect();
        due.sort();
        due
    };
    let expect = |starts: &str| {
        let s = instant(starts);
        [s - TimeDelta::hours(24), s - TimeDelta::hours(2)].into_iter().filter(|d| *d > Utc::now()).collect::<Vec<_>>()
    };
    assert_eq!(due_of(sms_of(&c, &far, EmailKind::AppointmentReminder).await), expect(&later));
    let near_due = due_of(sms_of(&c, &near, EmailKind::AppointmentReminder).await);
    assert!(near_due.len() == expect(&tomorrow).len() && !near_due.is_empty(), "{near_due:?}");
    let count = sms_rows(&c).await.len();
    // On again: nothing more.
    assert!(update_me(&c, &c.patient, json!({ "smsReminders": true })).await["errors"].is_null());
    assert_eq!(sms_rows(&c).await.len(), count, "turning it on twice queues them once");

    // Off: every pending SMS goes; the email reminders stay.
    let email_reminders = |c: &Clinic| {
        let db = c.app.state.db.clone();
        async move {
            outbox_email::Entity::find()
                .filter(outbox_email::Column::Channel.eq(Channel::Email))
                .filter(outbox_email::Column::Kind.eq(EmailKind::AppointmentReminder))
                .all(&db)
                .await
                .unwrap()
                .len()
        }
    };
    let emails = email_reminders(&c).await;
    assert!(emails >= 3, "the email reminders of both appointments");
    assert!(update_me(&c, &c.patient, json!({ "smsReminders": false })).await["errors"].is_null());
    assert!(sms_rows(&c).await.is_empty());
    assert_eq!(email_reminders(&c).await, emails);

    // The same for email: off drops them, on writes them back (it used to write none back).
    assert!(update_me(&c, &c.patient, json!({ "emailReminders": false })).await["errors"].is_null());
    assert_eq!(email_reminders(&c).await, 0);
    assert!(update_me(&c, &c.patient, json!({ "emailReminders": true })).await["errors"].is_null());
    assert_eq!(email_reminders(&c).await, emails, "the same reminders as at booking");
}

#[tokio::test]
async fn two_requests_turning_sms_on_at_once_queue_the_reminders_once() {
    let c = clinic("UTC", &[]).await;
    let body = update_me(&c, &c.patient, json!({ "phone": PHONE })).await;
    assert!(body["errors"].is_null(), "{body}");
    for (weekday, days) in [(0, 7), (1, 8), (2, 9)] {
        book(&c, &format!("{}T10:00:00Z", upcoming(weekday, days))).await;
    }
    let on = json!({ "smsReminders": true });
    let (a, b) = tokio::join!(update_me(&c, &c.patient, on.clone()), update_me(&c, &c.patient, on));
    assert!(a["errors"].is_null() && b["errors"].is_null(), "{a} {b}");
    assert_eq!(sms_rows(&c).await.len(), 3, "one reminder per appointment, not two");
}

#[tokio::test]
async fn a_cancellation_and_a_move_text_the_patient_and_the_sms_reminders_follow_the_appointment() {
    let c = clinic("America/New_York", &[]).await;
    opt_in(&c).await;
    let day = upcoming(2, 7);
    let (first, moved_to) =
        (utc_of_local(day, "09:00", "America/New_York"), utc_of_local(day, "11:30", "America/New_York"));
    let id = book(&c, &first).await;
    assert_eq!(sms_of(&c, &id, EmailKind::AppointmentReminder).await[0].starts_at, Some(instant(&first)));

    let body = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": moved_to })).await;
    assert!(body["errors"].is_null(), "{body}");
    let reminders = sms_of(&c, &id, EmailKind::AppointmentReminder).await;
    assert_eq!(reminders.len(), 1, "the old reminder went, a new one came");
    assert_eq!(reminders[0].starts_at, Some(instant(&moved_to)));
    assert_eq!(reminders[0].due_at, instant(&moved_to) - TimeDelta::hours(24));
    let moved = sms_of(&c, &id, EmailKind::AppointmentRescheduled).await;
    assert_eq!(moved.len(), 1);
    let text = &moved[0].body;
    assert_eq!(
        *text,
        format!(
            "CyberMed: your appointment with Dr Greta Hausarzt is moved to {}.",
            local(instant(&moved_to), "America/New_York")
        )
    );

    assert!(c.act(&c.doctor, "cancelAppointment", &id).await["errors"].is_null());
    assert!(sms_of(&c, &id, EmailKind::AppointmentReminder).await.is_empty(), "no reminder of a cancelled visit");
    let cancelled = sms_of(&c, &id, EmailKind::AppointmentCancelled).await;
    assert_eq!(cancelled.len(), 1);
    assert!(cancelled[0].body.contains("is cancelled") && cancelled[0].body.contains("(America/New_York)"));
    for row in sms_rows(&c).await {
        assert_eq!((row.recipient_id, row.to_address.as_str()), (Some(uuid(&c.patient.id)), PHONE));
    }
    // A booking of a patient without consent texts nobody.
    let other = c.app.patient().await;
    let body = c.book(&other, json!({ "doctorId": c.doctor.id, "startsAt": first })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(sms_rows(&c).await.iter().all(|r| r.recipient_id == Some(uuid(&c.patient.id))));
}

/// How many `outbox.read` entries the admin has.
async fn outbox_reads(c: &Clinic) -> usize {
    let q = "query($a: UUID) { auditLog(first: 100, actorId: $a) { edges { node { action } } } }";
    let log = c.app.gql(Some(&c.admin.access), q, json!({ "a": c.admin.id })).await;
    audit_actions(&log).iter().filter(|a| *a == "outbox.read").count()
}

#[tokio::test]
async fn sms_outbox_is_for_admins_masks_numbers_shows_no_email_and_outbox_shows_no_sms() {
    let c = clinic("UTC", &[]).await;
    opt_in(&c).await;
    let id = book(&c, &format!("{}T10:00:00Z", upcoming(1, 7))).await;

    let before = outbox_reads(&c).await;
    let out = sms_outbox(&c, &c.admin, json!({})).await;
    assert!(out["errors"].is_null(), "{out}");
    let conn = &out["data"]["smsOutbox"];
    assert_eq!(conn["totalCount"], 1, "{out}");
    let node = &conn["edges"][0]["node"];
    assert_eq!(
        (&node["kind"], &node["to"], &node["appointmentId"], &node["status"], &node["attempts"]),
        (&json!("APPOINTMENT_REMINDER"), &json!(MASKED), &json!(id), &json!("PENDING"), &json!(0)),
    );
    assert!(!out.to_string().contains(PHONE), "the number is masked: {out}");
    assert_eq!(outbox_reads(&c).await, before + 1, "reading it is audited like outbox");

    // Filters.
    let none = sms_outbox(&c, &c.admin, json!({ "s": "SENT" })).await;
    assert_eq!(none["data"]["smsOutbox"]["totalCount"], 0, "{none}");
    // Never the text: there is no such field.
    let body = c.app.gql(Some(&c.admin.access), "{ smsOutbox { edges { node { body } } } }", json!({})).await;
    assert!(body["errors"].is_array() && body["data"].is_null(), "{body}");

    // `outbox` lists the emails only.
    let q = "{ outbox(first: 100) { totalCount edges { node { to kind } } } }";
    let emails = c.app.gql(Some(&c.admin.access), q, json!({})).await;
    let edges = emails["data"]["outbox"]["edges"].as_array().unwrap();
    assert!(!edges.is_empty() && edges.iter().all(|e| e["node"]["to"].as_str().unwrap().contains('@')), "{emails}");
    assert_eq!(emails["data"]["outbox"]["totalCount"], json!(edges.len()));

    // Admins only.
    for who in [&c.patient, &c.doctor] {
        let body = sms_outbox(&c, who, json!({})).await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    }
    let anonymous = c.app.gql(None, SMS_OUTBOX, json!({})).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"), "{anonymous}");
}

/// A recurring series: each occurrence keeps its SMS reminders, and cancelling the series texts
/// the patient once, naming how many visits and the first, instead of once per occurrence.
#[tokio::test]
async fn a_series_keeps_its_sms_reminders_per_occurrence_and_its_cancellation_is_one_sms() {
    let c = clinic("America/New_York", &[]).await;
    opt_in(&c).await;
    let first = utc_of_local(upcoming(2, 7), "09:00", "America/New_York");
    let series = "mutation($i: CreateAppointmentInput!, $r: RecurrenceInput!) { \
        createAppointmentSeries(input: $i, recurrence: $r) { id appointments { id startsAt } } }";
    let input = json!({ "doctorId": c.doctor.id, "startsAt": first, "reasonForVisit": REASON });
    let body = c.app.gql(Some(&c.patient.access), series, json!({ "i": input, "r": { "count": 3 } })).await;
    assert!(body["errors"].is_null(), "{body}");
    let id = body["data"]["createAppointmentSeries"]["id"].as_str().unwrap().to_owned();
    let occurrences: Vec<String> = body["data"]["createAppointmentSeries"]["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(occurrences.len(), 3);
    for occurrence in &occurrences {
        assert_eq!(sms_of(&c, occurrence, EmailKind::AppointmentReminder).await.len(), 1, "a reminder each");
    }

    let cancel = "mutation($id: UUID!) { cancelAppointmentSeries(id: $id, fromOccurrence: 1) { id } }";
    let body = c.app.gql(Some(&c.patient.access), cancel, json!({ "id": id })).await;
    assert!(body["errors"].is_null(), "{body}");

    let rows = sms_rows(&c).await;
    assert!(rows.iter().all(|r| r.kind != EmailKind::AppointmentReminder), "no reminder of a cancelled visit");
    let cancelled: Vec<_> = rows.iter().filter(|r| r.kind == EmailKind::AppointmentCancelled).collect();
    assert_eq!(cancelled.len(), 1, "one SMS for the whole series: {rows:#?}");
    assert_eq!(cancelled[0].appointment_id, Some(uuid(&occurrences[0])));
    assert_eq!(
        cancelled[0].body,
        format!(
            "CyberMed: your 3 appointments with Dr Greta Hausarzt from {} are cancelled.",
            local(instant(&first), "America/New_York")
        )
    );
    // It is sent (the file transport), checked against the first occurrence's cancellation.
    let sent = wait_for(&c, "the series' SMS sent", |rows| {
        rows.iter().any(|r| r.kind == EmailKind::AppointmentCancelled && r.status == EmailStatus::Sent)
    })
    .await;
    assert_eq!(sent.len(), 1);
}
