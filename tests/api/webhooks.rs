//! Signed webhooks: endpoints, deliveries written with the change, the sender's retries and
//! guarantees, signatures checked by an independent implementation (the PyPI `standardwebhooks`
//! package), the address rules, auto-disable, ping and redelivery.
//!
//! Receivers are small axum servers on 127.0.0.1, so the tests that deliver allow `http://` and
//! private networks. The signature checks need `python3` with `standardwebhooks` (`pip install
//! standardwebhooks`); without it they skip with a message, unless `CYBERMED_REQUIRE_TOOLS` is set
//! (CI installs it), when they fail.
use std::{
    collections::{HashMap, VecDeque},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post};
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, SmtpReceiver, TestApp, code, field, postgres_only},
};

/// What the tests that deliver to 127.0.0.1 need, with short retries.
const DELIVER: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOW_HTTP", "true"),
    ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true"),
    ("WEBHOOK_RETRY_SECS", "0.2"),
    ("WEBHOOK_RETRY_MAX_SECS", "0.5"),
];

const CREATE: &str = "mutation($u: String!, $e: [WebhookEvent!]!) { createWebhookEndpoint(url: $u, events: $e) { secret endpoint { id url events active disabledReason createdAt } } }";
const DELIVERIES: &str = "query($e: UUID, $s: WebhookDeliveryStatus) { webhookDeliveries(endpointId: $e, status: $s) { totalCount nodes { id event status attempts lastStatusCode lastError nextAttemptAt deliveredAt endpoint { id active disabledReason } } } }";
const PING: &str = "mutation($id: UUID!) { pingWebhookEndpoint(id: $id) { id event status attempts } }";
const REDELIVER: &str = "mutation($id: String!) { redeliverWebhook(id: $id) { id status attempts } }";
const UPDATE: &str =
    "mutation($id: UUID!, $a: Boolean) { updateWebhookEndpoint(id: $id, active: $a) { id active disabledReason } }";

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Receipt {
    headers: HashMap<String, String>,
    body: String,
}

impl Receipt {
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Shared {
    receipts: Arc<Mutex<Vec<Receipt>>>,
    /// The statuses of the next answers, in order; then `otherwise`.
    script: Arc<Mutex<VecDeque<u16>>>,
    otherwise: u16,
}

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    url: String,
    port: u16,
    shared: Shared,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers `script` in order, then `otherwise` to every request.
    async fn start(script: &[u16], otherwise: u16) -> Self {
        async fn hook(State(s): State<Shared>, headers: HeaderMap, body: String) -> axum::http::StatusCode {
            let headers = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            s.receipts.lock().unwrap().push(Receipt { headers, body });
            let status = s.script.lock().unwrap().pop_front().unwrap_or(s.otherwise);
            axum::http::StatusCode::from_u16(status).unwrap()
        }
        let shared = Shared {
            receipts: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            otherwise,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let router = axum::Router::new().route("/hook", post(hook)).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url: format!("http://127.0.0.1:{port}/hook"), port, shared, _server: server }
    }

    fn receipts(&self) -> Vec<Receipt> {
        self.shared.receipts.lock().unwrap().clone()
    }

    /// The receipts, once there are at least `n` (waiting up to `secs`).
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Receipt> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.receipts();
            if got.len() >= n || tokio::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn create(app: &TestApp, admin: &Session, url: &str, events: &[&str]) -> (String, String) {
    let body = app.gql(Some(&admin.access), CREATE, json!({ "u": url, "e": events })).await;
    assert!(body["errors"].is_null(), "{body}");
    let payload = &body["data"]["createWebhookEndpoint"];
    (payload["endpoint"]["id"].as_str().unwrap().to_owned(), payload["secret"].as_str().unwrap().to_owned())
}

async fn deliveries(app: &TestApp, admin: &Session, endpoint: Option<&str>) -> Vec<Value> {
    let body = app.gql(Some(&admin.access), DELIVERIES, json!({ "e": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().clone()
}

/// The deliveries, once none is `PENDING` (waiting up to `secs`).
async fn settled(app: &TestApp, admin: &Session, endpoint: &str, secs: u64) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let all = deliveries(app, admin, Some(endpoint)).await;
        if all.iter().all(|d| d["status"] != "PENDING") || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the PyPI `standardwebhooks` package accepts `receipt` signed with `secret`; `None`
/// when python3 or the package is missing (then the caller skips).
fn standardwebhooks_verifies(secret: &str, receipt: &Receipt) -> Option<bool> {
    const SCRIPT: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
data = json.load(sys.stdin)
try:
    Webhook(data["secret"]).verify(data["body"], data["headers"])
    print("verified")
except Exception as e:
    print("refused", type(e).__name__)
"#;
    let available = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let missing = "python3 with standardwebhooks (pip install standardwebhooks)";
    let mut command = Command::new("python3");
    command.args(["-c", SCRIPT]);
    verify_with(available.then_some(command), missing, secret, receipt)
}

/// Whether the npm `standardwebhooks` package (a devDependency of `clients/typescript`, installed by
/// `npm ci` there) accepts `receipt` signed with `secret`, called as the README's TypeScript
/// receiver does; `None` when node or the package is missing (then the caller skips).
fn npm_standardwebhooks_verifies(secret: &str, receipt: &Receipt) -> Option<bool> {
    const SCRIPT: &str = r#"
import { Webhook } from "standardwebhooks";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const data = JSON.parse(input);
try {
  new Webhook(data.secret).verify(data.body, data.headers);
  console.log("verified");
} catch (e) {
  console.log("refused", e.constructor.name);
}
"#;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/typescript");
    let available = dir.join("node_modules/standardwebhooks/package.json").exists()
        && Command::new("node").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    let missing = "node with clients/typescript's standardwebhooks (npm ci there)";
    let mut command = Command::new("node");
    command.args(["--input-type=module", "-e", SCRIPT]).current_dir(&dir);
    verify_with(available.then_some(command), missing, secret, receipt)
}

/// Runs a verifier `command` (a script reading `{"secret","headers","body"}` on stdin and printing
/// `verified` or `refused …`): whether it accepted `receipt`. Without a command (the tool is
/// `missing`) the check is skipped (`None`), unless `CYBERMED_REQUIRE_TOOLS` is set.
fn verify_with(command: Option<Command>, missing: &str, secret: &str, receipt: &Receipt) -> Option<bool> {
    let Some(mut command) = command else {
        assert!(
            std::env::var_os("CYBERMED_REQUIRE_TOOLS").is_none(),
            "CYBERMED_REQUIRE_TOOLS is set but {missing} is missing"
        );
        eprintln!("skipping a signature check: {missing} is missing");
        return None;
    };
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let input = json!({ "secret": secret, "headers": receipt.headers, "body": receipt.body });
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        said.starts_with("verified") || said.starts_with("refused"),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(said == "verified")
}

fn another_secret() -> String {
    use base64::Engine;
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
}

#[tokio::test]
async fn a_booking_delivers_a_signed_event_that_an_independent_library_verifies() {
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("Europe/Berlin", DELIVER).await;
    let (endpoint, secret) = create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    assert!(secret.starts_with("whsec_"));
    let appt = c.booked(&c.patient, &at("09:00")).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(r.id().starts_with("msg_"), "{:?}", r.headers);
    assert_eq!(r.headers["content-type"], "application/json");
    let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert!(r.headers["webhook-signature"].starts_with("v1,"));
    assert!(!r.headers["webhook-signature"].contains(' '), "one secret, one signature");
    let body = r.json();
    assert_eq!(body["type"], "appointment.created");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    let appt_id = appt["id"].as_str().unwrap();
    assert_eq!(
        body["data"],
        json!({
            "appointmentId": appt_id,
            "doctorId": c.doctor.id,
            "patientId": c.patient.id,
            "status": "PENDING",
            "startsAt": at("09:00"),
            "endsAt": at("09:30"),
        })
    );
    if let Some(ok) = standardwebhooks_verifies(&secret, r) {
        assert!(ok, "standardwebhooks must accept the signature");
        assert_eq!(standardwebhooks_verifies(&another_secret(), r), Some(false), "and refuse another secret");
    }
    if let Some(ok) = npm_standardwebhooks_verifies(&secret, r) {
        assert!(ok, "npm standardwebhooks must accept the signature");
        assert_eq!(npm_standardwebhooks_verifies(&another_secret(), r), Some(false), "and refuse another secret");
    }
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], r.id());
    assert_eq!(listed[0]["event"], "APPOINTMENT_CREATED");
    assert_eq!(listed[0]["status"], "SUCCEEDED");
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[0]["lastStatusCode"], 200);
    assert!(listed[0]["deliveredAt"].is_string() && listed[0]["nextAttemptAt"].is_null());

    // An event the endpoint did not subscribe to writes nothing.
    let body = c.act(&c.doctor, "confirmAppointment", appt_id).await;
    assert!(body["errors"].is_null(), "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&c.app, &c.admin, None).await.len(), 1);

    // After a rotation both secrets sign, for 24 hours.
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let rotated = body["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = receiver.wait_for(2, 10).await;
    let ping = &got[1];
    assert_eq!(ping.json()["type"], "ping");
    assert_eq!(ping.headers["webhook-signature"].split(' ').count(), 2, "{:?}", ping.headers);
    if standardwebhooks_verifies(&rotated, ping).is_some() {
        assert_eq!(standardwebhooks_verifies(&rotated, ping), Some(true), "the new secret verifies");
        assert_eq!(standardwebhooks_verifies(&secret, ping), Some(true), "the old one too, for 24 h");
    }
    // A day later only the new secret signs.
    let mut c = c;
    c.advance(Duration::from_secs(24 * 3600 + 60)).await;
    let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = receiver.wait_for(3, 10).await;
    assert_eq!(got[2].headers["webhook-signature"].split(' ').count(), 1);

    // Audited.
    let body = c.app.gql(Some(&c.admin.access), "{ auditLog(first: 100) { nodes { action } } }", json!({})).await;
    let actions: Vec<&str> =
        body["data"]["auditLog"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["action"].as_str()).collect();
    for action in ["webhook.create", "webhook.rotate_secret", "webhook.ping"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// A booking that writes a delivery wakes the webhook sender (on SQLite only the sender of what a
/// booking wrote is woken): the second booking's delivery arrives long before the sender's 5 s poll,
/// which it would wait for otherwise (the first delivery set the sender to sleep for that long).
#[tokio::test]
async fn a_bookings_delivery_is_sent_at_once_not_at_the_next_poll() {
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    c.booked(&c.patient, &at("09:00")).await;
    assert_eq!(receiver.wait_for(1, 10).await.len(), 1);
    let booked = std::time::Instant::now();
    c.booked(&c.patient, &at("10:00")).await;
    assert_eq!(receiver.wait_for(2, 10).await.len(), 2);
    assert!(booked.elapsed() < Duration::from_secs(2), "sent after {:?}", booked.elapsed());
}

#[tokio::test]
async fn failed_attempts_are_retried_under_one_webhook_id_until_one_succeeds() {
    let receiver = Receiver::start(&[500, 500], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    c.booked(&c.patient, &at("10:00")).await;
    let got = receiver.wait_for(3, 15).await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.id() == got[0].id()), "one webhook-id for every attempt");
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body");
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert_eq!(listed[0]["status"], "SUCCEEDED");
    assert_eq!(listed[0]["attempts"], 3);
    assert_eq!(listed[0]["lastStatusCode"], 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.receipts().len(), 3, "nothing more once it succeeded");
}

#[tokio::test]
async fn registration_refuses_plain_http_and_non_public_addresses_by_default() {
    let c = Clinic::open("UTC").await;
    for url in [
        "http://127.0.0.1/hook",
        "http://example.com/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost:8443/hook",
        "https://192.168.0.10/hook",
        "https://100.64.0.1/hook",
        "not a url",
        "ftp://example.com/x",
    ] {
        let body = c.app.gql(Some(&c.admin.access), CREATE, json!({ "u": url, "e": ["APPOINTMENT_CREATED"] })).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{url}: {body}");
        assert_eq!(field(&body), Some("url"), "{url}: {body}");
    }
    let body = c.app.gql(Some(&c.admin.access), CREATE, json!({ "u": "https://93.184.215.14/hook", "e": [] })).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(field(&body), Some("events"), "{body}");
    let body = c.app.gql(Some(&c.admin.access), "{ webhookEndpoints { id } }", json!({})).await;
    assert_eq!(body["data"]["webhookEndpoints"], json!([]), "nothing was registered");
    // A public address is accepted (no connection is made at registration).
    let (id, _) = create(&c.app, &c.admin, "https://93.184.215.14/hook", &["PING"]).await;
    let body = c.app.gql(Some(&c.admin.access), "{ webhookEndpoints { id url events active } }", json!({})).await;
    assert_eq!(
        body["data"]["webhookEndpoints"],
        json!([{ "id": id, "url": "https://93.184.215.14/hook", "events": ["PING"], "active": true }])
    );
}

#[tokio::test]
async fn the_sender_refuses_a_non_public_address_when_it_connects() {
    let receiver = Receiver::start(&[], 200).await;
    // Registered while private networks were allowed…
    let Clinic { app, admin, doctor, patient } = Clinic::open_with("UTC", DELIVER).await;
    let (by_address, _) = create(&app, &admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    let by_name = format!("http://localhost:{}/hook", receiver.port);
    let (by_name, _) = create(&app, &admin, &by_name, &["APPOINTMENT_CREATED"]).await;
    let database_url = app.database_url.clone();
    let stopped = app.stop().await;
    // …and delivered by a server that no longer allows them.
    let app = TestApp::spawn_with(&[
        ("DATABASE_URL", &database_url),
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_MAX_ATTEMPTS", "1"),
    ])
    .await;
    let c = Clinic { app, admin, doctor, patient };
    c.booked(&c.patient, &at("11:00")).await;
    for endpoint in [&by_address, &by_name] {
        let listed = settled(&c.app, &c.admin, endpoint, 10).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["status"], "FAILED", "{listed:?}");
        assert_eq!(listed[0]["lastError"], "the destination's address is not public", "{listed:?}");
        assert!(listed[0]["lastStatusCode"].is_null());
    }
    assert!(receiver.receipts().is_empty(), "nothing reached the private address");
    drop(c);
    drop(stopped);
}

#[tokio::test]
async fn an_endpoint_failing_in_a_row_is_turned_off_and_the_admins_are_emailed() {
    let receiver = Receiver::start(&[], 500).await;
    let mut settings = DELIVER.to_vec();
    settings.extend([("WEBHOOK_MAX_ATTEMPTS", "1"), ("WEBHOOK_DISABLE_AFTER", "3")]);
    let c = Clinic::open_with("UTC", &settings).await;
    let (endpoint, _) =
        create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"]).await;
    // A success in between starts the count again: fail, fail, succeed, then three failures.
    receiver.shared.script.lock().unwrap().extend([500, 500, 200]);
    for (i, hhmm) in ["08:00", "08:30", "09:00", "09:30", "10:00"].iter().enumerate() {
        c.booked(&c.patient, &at(hhmm)).await;
        receiver.wait_for(i + 1, 10).await;
        settled(&c.app, &c.admin, &endpoint, 10).await;
    }
    let body = c.app.gql(Some(&c.admin.access), "{ webhookEndpoints { id active disabledReason } }", json!({})).await;
    assert_eq!(body["data"]["webhookEndpoints"][0]["active"], true, "two failures after a success: {body}");
    c.booked(&c.patient, &at("10:30")).await;
    receiver.wait_for(6, 10).await;
    let listed = settled(&c.app, &c.admin, &endpoint, 10).await;
    assert_eq!(listed.iter().filter(|d| d["status"] == "FAILED").count(), 5, "{listed:?}");
    let body = c.app.gql(Some(&c.admin.access), "{ webhookEndpoints { id active disabledReason } }", json!({})).await;
    let e = &body["data"]["webhookEndpoints"][0];
    assert_eq!(e["active"], false, "{body}");
    assert_eq!(e["disabledReason"], "3 deliveries in a row failed");

    // Never silently: every admin gets an email, written to the outbox.
    let body =
        c.app.gql(Some(&c.admin.access), "{ outbox(first: 100) { nodes { kind to subject } } }", json!({})).await;
    let mails: Vec<&Value> = body["data"]["outbox"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "WEBHOOK_DISABLED")
        .collect();
    assert_eq!(mails.len(), 1, "{body}");
    assert_eq!(mails[0]["to"], c.admin.email.as_str());
    assert_eq!(mails[0]["subject"], "Webhook endpoint disabled");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !c.app.outbox_emails(0).await.iter().any(|e| e.contains("Webhook endpoint disabled") && e.contains(&endpoint))
    {
        assert!(tokio::time::Instant::now() < deadline, "the email was sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An inactive endpoint gets nothing more, and its deliveries are not sent again.
    c.booked(&c.patient, &at("11:00")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&c.app, &c.admin, Some(&endpoint)).await.len(), 6);
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": listed[0]["id"] })).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let body =
        c.app.gql(Some(&c.admin.access), "{ auditLog(first: 100) { nodes { action actor { id } } } }", json!({})).await;
    assert!(
        body["data"]["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["action"] == "webhook.disabled" && n["actor"].is_null()),
        "{body}"
    );
}

#[tokio::test]
async fn turning_an_endpoint_off_fails_its_pending_deliveries_and_redelivery_rules() {
    // The receiver fails, and the next attempt is 30 s away (the default): the delivery stays PENDING.
    let receiver = Receiver::start(&[], 503).await;
    let mut settings = DELIVER.to_vec();
    settings.retain(|(k, _)| !k.starts_with("WEBHOOK_RETRY"));
    let c = Clinic::open_with("UTC", &settings).await;
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    c.booked(&c.patient, &at("12:00")).await;
    receiver.wait_for(1, 10).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let pending = loop {
        let all = deliveries(&c.app, &c.admin, Some(&endpoint)).await;
        if all[0]["lastStatusCode"] == 503 || tokio::time::Instant::now() > deadline {
            break all[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["attempts"], 1);
    assert_eq!(pending["lastError"], "HTTP 503");
    assert!(pending["nextAttemptAt"].is_string());
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": pending["id"] })).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "refused while pending: {body}");
    assert_eq!(field(&body), Some("id"));

    let body = c.app.gql(Some(&c.admin.access), UPDATE, json!({ "id": endpoint, "a": false })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["updateWebhookEndpoint"],
        json!({ "id": endpoint, "active": false, "disabledReason": null })
    );
    let listed = deliveries(&c.app, &c.admin, Some(&endpoint)).await;
    assert_eq!(listed[0]["status"], "FAILED");
    assert!(listed[0]["nextAttemptAt"].is_null());
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": pending["id"] })).await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "refused for an inactive endpoint: {body}");

    // On again; the failed delivery can be sent again, under its id.
    receiver.shared.script.lock().unwrap().push_back(200);
    let body = c.app.gql(Some(&c.admin.access), UPDATE, json!({ "id": endpoint, "a": true })).await;
    assert_eq!(body["data"]["updateWebhookEndpoint"]["active"], true, "{body}");
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": pending["id"] })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["redeliverWebhook"], json!({ "id": pending["id"], "status": "PENDING", "attempts": 0 }));
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got[1].id(), pending["id"].as_str().unwrap());
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert_eq!((listed[0]["status"].as_str(), listed[0]["attempts"].as_i64()), (Some("SUCCEEDED"), Some(1)));
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": "msg_nope" })).await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");

    // Deleting an endpoint deletes its deliveries.
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(body["data"]["deleteWebhookEndpoint"], true, "{body}");
    assert!(deliveries(&c.app, &c.admin, None).await.is_empty());
    assert_eq!(c.app.count_rows("webhook_deliveries").await, 0);
}

#[tokio::test]
async fn ping_is_sent_whatever_the_endpoint_subscribed_to_and_redelivery_keeps_its_id() {
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CANCELLED"]).await;
    let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    let ping = &body["data"]["pingWebhookEndpoint"];
    assert_eq!((ping["event"].as_str(), ping["status"].as_str()), (Some("PING"), Some("PENDING")));
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].id(), ping["id"].as_str().unwrap());
    assert_eq!(got[0].json()["type"], "ping");
    settled(&c.app, &c.admin, &endpoint, 5).await;
    let body = c.app.gql(Some(&c.admin.access), REDELIVER, json!({ "id": ping["id"] })).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id(), got[0].id(), "a redelivery has the same webhook-id");
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["status"].as_str(), listed[0]["attempts"].as_i64()), (Some("SUCCEEDED"), Some(1)));

    // Filters and paging, newest first.
    for _ in 0..2 {
        c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    }
    receiver.wait_for(4, 10).await;
    settled(&c.app, &c.admin, &endpoint, 5).await;
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: String) { webhookDeliveries(first: 2, after: $a, status: SUCCEEDED) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }",
            json!({ "a": null }),
        )
        .await;
    let page = &body["data"]["webhookDeliveries"];
    assert_eq!(page["totalCount"], 3, "{body}");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let first: Vec<&str> = page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert!(first[0] > first[1], "newest first");
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: String) { webhookDeliveries(first: 2, after: $a) { nodes { id } } }",
            json!({ "a": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(body["data"]["webhookDeliveries"]["nodes"], json!([{ "id": ping["id"] }]));
}

#[tokio::test]
async fn webhooks_are_for_admins_only() {
    let c = Clinic::open_with("UTC", DELIVER).await;
    for who in [&c.patient, &c.doctor] {
        for (query, vars) in [
            ("{ webhookEndpoints { id } }", json!({})),
            ("{ webhookDeliveries { totalCount } }", json!({})),
            (CREATE, json!({ "u": "http://127.0.0.1:9/hook", "e": ["PING"] })),
            ("mutation { rotateWebhookSecret(id: \"00000000-0000-0000-0000-000000000000\") { secret } }", json!({})),
            ("mutation { deleteWebhookEndpoint(id: \"00000000-0000-0000-0000-000000000000\") }", json!({})),
            ("mutation { redeliverWebhook(id: \"msg_x\") { id } }", json!({})),
        ] {
            let body = c.app.gql(Some(&who.access), query, vars).await;
            assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
        }
    }
    let body = c.app.gql(Some(&c.admin.access), "{ webhookEndpoints { id } }", json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(c.app.count_rows("webhook_endpoints").await, 0);
}

/// The `cybermed serve` binary as a child process, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    async fn start(database_url: &str, dir: &std::path::Path) -> Self {
        let port = SmtpReceiver::free_port().await;
        let child = Command::new(env!("CARGO_BIN_EXE_cybermed"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", "test-secret-test-secret-test-secret-0123")
            .env("MAIL_OUTBOX_DIR", dir.join("outbox"))
            .env("PUBLIC_URL", "http://clinic.test")
            .env("MAX_UPCOMING_PER_PATIENT", "1000000")
            .env("MAX_UPCOMING_PER_DOCTOR_PAIR", "1000000")
            .env("RUST_LOG", "warn")
            .envs(DELIVER.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while client.get(format!("{address}/health")).send().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, address }
    }

    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let resp = reqwest::Client::new()
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_delivery_written_before_a_sigkill_is_sent_once_after_the_restart() {
    let receiver = Receiver::start(&[], 200).await;
    let Clinic { app, admin, doctor, patient } = Clinic::open_with("UTC", DELIVER).await;
    let (endpoint, _) = create(&app, &admin, &receiver.url, &["APPOINTMENT_CREATED"]).await;
    let database_url = app.database_url.clone();
    let _stopped = app.stop().await;
    let dir = tempfile::tempdir().unwrap();

    let server = Server::start(&database_url, dir.path()).await;
    let create = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }";
    let input = json!({ "doctorId": doctor.id, "startsAt": at("13:00"), "reasonForVisit": "Check-up" });
    let body = server.gql(&patient.access, create, json!({ "i": input })).await;
    // Killed at once: the sender waits a moment after a wake-up before it claims.
    server.sigkill();
    assert!(body["errors"].is_null(), "{body}");
    let sent_before = receiver.receipts().len();

    let server = Server::start(&database_url, dir.path()).await;
    let got = receiver.wait_for(1, 15).await;
    assert_eq!(got.len(), 1, "delivered after the restart (sent before the kill: {sent_before})");
    assert_eq!(got[0].json()["data"]["appointmentId"], body["data"]["createAppointment"]["id"]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.receipts().len(), 1, "exactly once");
    let listed = server.gql(&admin.access, DELIVERIES, json!({ "e": endpoint })).await;
    let node = &listed["data"]["webhookDeliveries"]["nodes"][0];
    assert_eq!((node["status"].as_str(), node["attempts"].as_i64()), (Some("SUCCEEDED"), Some(1)), "{listed}");
}

#[tokio::test]
async fn two_processes_deliver_each_event_exactly_once() {
    if postgres_only("two processes share one PostgreSQL database") {
        return;
    }
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let mut settings = DELIVER.to_vec();
    settings.push(("DATABASE_URL", &c.app.database_url));
    let other = TestApp::spawn_with(&settings).await;
    let (endpoint, _) =
        create(&c.app, &c.admin, &receiver.url, &["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"]).await;
    // Bookings through both processes, and cancellations: 2 × 12 events.
    let mut ids = Vec::new();
    for i in 0..12 {
        let starts = at(&format!("{:02}:{:02}", 8 + i / 2, (i % 2) * 30));
        let app = if i % 2 == 0 { &c.app } else { &other };
        let body = app
            .gql(
                Some(&c.patient.access),
                "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
                json!({ "i": { "doctorId": c.doctor.id, "startsAt": starts, "reasonForVisit": "Check-up" } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        ids.push(body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned());
    }
    let cancels = ids.iter().map(|id| c.act(&c.patient, "cancelAppointment", id));
    for body in futures_util::future::join_all(cancels).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let got = receiver.wait_for(24, 20).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = if got.len() >= 24 { receiver.receipts() } else { got };
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.id().to_owned()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 24, "every event delivered");
    assert!(per_id.values().all(|n| *n == 1), "each exactly once: {per_id:?}");
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert!(listed.iter().all(|d| d["status"] == "SUCCEEDED" && d["attempts"] == 1));
}

#[tokio::test]
async fn the_typed_client_registers_an_endpoint_and_lists_its_deliveries() {
    use cybermed_client::{
        Client, CreateWebhookEndpoint, WebhookDeliveries, WebhookEndpoints, create_webhook_endpoint,
        webhook_deliveries, webhook_endpoints,
    };
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let client = Client::new(c.app.url("/graphql")).with_token(&c.admin.access);
    let created = client
        .run::<CreateWebhookEndpoint>(create_webhook_endpoint::Variables {
            url: receiver.url.clone(),
            events: vec![create_webhook_endpoint::WebhookEvent::APPOINTMENT_CREATED],
        })
        .await
        .unwrap()
        .create_webhook_endpoint;
    assert!(created.secret.starts_with("whsec_"));
    let listed = client.run::<WebhookEndpoints>(webhook_endpoints::Variables).await.unwrap().webhook_endpoints;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.endpoint.id);
    c.booked(&c.patient, &at("14:00")).await;
    receiver.wait_for(1, 10).await;
    let endpoint = created.endpoint.id.to_string();
    settled(&c.app, &c.admin, &endpoint, 5).await;
    let page = client
        .run::<WebhookDeliveries>(webhook_deliveries::Variables {
            endpoint_id: Some(created.endpoint.id),
            status: Some(webhook_deliveries::WebhookDeliveryStatus::SUCCEEDED),
            first: None,
            after: None,
        })
        .await
        .unwrap()
        .webhook_deliveries;
    assert_eq!(page.total_count, 1);
    assert_eq!(page.nodes[0].event, webhook_deliveries::WebhookEvent::APPOINTMENT_CREATED);
    assert!(page.nodes[0].delivered_at.is_some());
}

#[tokio::test]
async fn a_waitlist_offer_is_queued_inside_the_offers_own_transaction() {
    use cybermed::{
        db::begin_write,
        domain::webhooks::{WaitlistOffered, queue_waitlist_offered},
    };
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let (endpoint, secret) = create(&c.app, &c.admin, &receiver.url, &["WAITLIST_OFFERED"]).await;
    let store = &c.app.state.store;
    let starts = chrono::Utc::now() + chrono::TimeDelta::days(3);
    let offer = WaitlistOffered {
        waitlist_entry_id: uuid::Uuid::now_v7(),
        doctor_id: c.doctor.id.parse().unwrap(),
        patient_id: c.patient.id.parse().unwrap(),
        starts_at: starts,
        ends_at: starts + chrono::TimeDelta::minutes(30),
        expires_at: chrono::Utc::now() + chrono::TimeDelta::minutes(15),
    };
    // Rolled back: nothing is sent.
    let txn = begin_write(&store.writer).await.unwrap();
    queue_waitlist_offered(store, &txn, offer).await.unwrap();
    txn.rollback().await.unwrap();
    // Committed: sent once.
    let txn = begin_write(&store.writer).await.unwrap();
    queue_waitlist_offered(store, &txn, offer).await.unwrap();
    txn.commit().await.unwrap();
    let got = receiver.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.receipts().len(), 1);
    let body = got[0].json();
    assert_eq!(body["type"], "waitlist.offered");
    let data = body["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["doctorId", "endsAt", "expiresAt", "patientId", "startsAt", "waitlistEntryId"]);
    assert_eq!(data["waitlistEntryId"], offer.waitlist_entry_id.to_string());
    if let Some(ok) = standardwebhooks_verifies(&secret, &got[0]) {
        assert!(ok);
    }
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    assert_eq!(listed[0]["event"], "WAITLIST_OFFERED");
}

#[tokio::test]
async fn housekeeping_deletes_succeeded_deliveries_after_the_retention_and_keeps_failed_ones() {
    let receiver = Receiver::start(&[500], 200).await;
    let mut settings = DELIVER.to_vec();
    settings.push(("WEBHOOK_MAX_ATTEMPTS", "1"));
    let c = Clinic::open_with("UTC", &settings).await;
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["PING"]).await;
    for n in 1..=2 {
        let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
        assert!(body["errors"].is_null(), "{body}");
        receiver.wait_for(n, 10).await;
        settled(&c.app, &c.admin, &endpoint, 5).await;
    }
    let statuses: Vec<Value> = deliveries(&c.app, &c.admin, None).await.iter().map(|d| d["status"].clone()).collect();
    assert_eq!(statuses, ["SUCCEEDED", "FAILED"]);
    let run = || cybermed::jobs::housekeeping_once(&c.app.state, &c.app.state.config);
    assert_eq!(run().await.unwrap().delivered_webhooks, 0, "within the retention");
    c.app.state.clock.advance(Duration::from_secs(31 * 86_400));
    assert_eq!(run().await.unwrap().delivered_webhooks, 1);
    assert_eq!(c.app.count_rows("webhook_deliveries").await, 1, "the failed one stays");
}

/// The value of one sample line of `/metrics` (`name{labels} value`), when there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test]
async fn attempts_are_counted_by_outcome_and_the_pending_ones_gauged() {
    let receiver = Receiver::start(&[500], 200).await;
    let mut settings = DELIVER.to_vec();
    settings.push(("METRICS_BIND_ADDR", "127.0.0.1:0"));
    let c = Clinic::open_with("UTC", &settings).await;
    let port = c.app.metrics_port.unwrap();
    let scrape =
        || async move { reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap() };
    let before = scrape().await;
    let count = |text: &str, outcome: &str| {
        sample(text, &format!("cybermed_webhook_deliveries_total{{outcome=\"{outcome}\"}}")).unwrap()
    };
    assert!(before.contains("# HELP cybermed_webhook_deliveries_total"), "described");
    assert_eq!(sample(&before, "cybermed_webhook_pending"), Some(0.0));
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["PING"]).await;
    c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    receiver.wait_for(2, 10).await;
    settled(&c.app, &c.admin, &endpoint, 5).await;
    let after = scrape().await;
    // The recorder is the test process's: other tests count too, so at least ours.
    assert!(count(&after, "retried") >= count(&before, "retried") + 1.0, "{after}");
    assert!(count(&after, "succeeded") >= count(&before, "succeeded") + 1.0, "{after}");
    assert!(sample(&after, "cybermed_webhook_pending").is_some());
}

#[tokio::test]
async fn a_delivery_whose_sender_died_is_taken_over_once_its_lease_expired() {
    use cybermed::db::entities::webhook_delivery;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let (endpoint, _) = create(&c.app, &c.admin, &receiver.url, &["PING"]).await;
    // A delivery claimed (attempt 1) by a sender that died: its lease runs another minute.
    let now = c.app.state.clock.now();
    let row = webhook_delivery::ActiveModel {
        id: Set("msg_0000000000000000000000000000dead".to_owned()),
        endpoint_id: Set(endpoint.parse().unwrap()),
        event: Set(webhook_delivery::WebhookEvent::Ping),
        body: Set(r#"{"type":"ping","timestamp":"2026-01-01T00:00:00Z","data":{}}"#.to_owned()),
        status: Set(webhook_delivery::DeliveryStatus::Pending),
        attempts: Set(1),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        next_attempt_at: Set(Some(now)),
        delivered_at: Set(None),
        lease_until: Set(Some(now + chrono::TimeDelta::seconds(60))),
        lease_owner: Set(Some("dead:process".to_owned())),
    };
    webhook_delivery::Entity::insert(row).exec(&c.app.state.writer).await.unwrap();
    // Another delivery wakes the sender: it sends that one, not the leased one.
    let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    receiver.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.receipts().len(), 1, "a live lease is respected");
    // Once the lease expired, the next claim (woken by another ping) takes it over.
    c.app.state.clock.advance(Duration::from_secs(61));
    let body = c.app.gql(Some(&c.admin.access), PING, json!({ "id": endpoint })).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = receiver.wait_for(3, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.receipts().len(), 3);
    assert_eq!(got.iter().filter(|r| r.id() == "msg_0000000000000000000000000000dead").count(), 1);
    let listed = settled(&c.app, &c.admin, &endpoint, 5).await;
    let dead = listed.iter().find(|d| d["id"] == "msg_0000000000000000000000000000dead").unwrap();
    assert_eq!((dead["status"].as_str(), dead["attempts"].as_i64()), (Some("SUCCEEDED"), Some(2)));
}

/// End to end: a cancellation frees a time, the background matcher offers it to the first in
/// line, and the offer's `waitlist.offered` delivery (written in the offer's transaction) reaches
/// the endpoint signed, naming the entry and the offered time, ids and times only.
#[tokio::test]
async fn a_freed_time_offered_to_the_waitlist_is_told_as_waitlist_offered() {
    let receiver = Receiver::start(&[], 200).await;
    let c = Clinic::open_with("UTC", DELIVER).await;
    let (_, secret) = create(&c.app, &c.admin, &receiver.url, &["WAITLIST_OFFERED"]).await;
    let day = crate::helpers::upcoming(2, 2);
    c.app.set_rules(&c.doctor, json!([{ "weekday": "WED", "startTime": "09:00:00", "endTime": "10:00:00" }])).await;
    let at = |hhmm: &str| crate::helpers::utc_of_local(day, hhmm, "UTC");
    // The day is full; a second patient waits for it.
    let first = c.booked(&c.patient, &at("09:00")).await["id"].as_str().unwrap().to_owned();
    let other = c.app.patient().await;
    assert!(c.booked(&other, &at("09:30")).await["errors"].is_null());
    let waiting = c.app.patient().await;
    let join = "mutation($i: JoinWaitlistInput!) { joinWaitlist(input: $i) { id } }";
    let window = json!({ "doctorId": c.doctor.id, "earliest": at("00:00"), "latest": crate::helpers::utc_of_local(day.succ_opt().unwrap(), "00:00", "UTC") });
    let body = c.app.gql(Some(&waiting.access), join, json!({ "i": window })).await;
    let entry = body["data"]["joinWaitlist"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();

    assert!(c.act(&c.patient, "cancelAppointment", &first).await["errors"].is_null());

    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got.len(), 1, "one waitlist.offered delivery");
    let body = got[0].json();
    assert_eq!(body["type"], "waitlist.offered");
    assert_eq!(body["data"]["waitlistEntryId"], entry);
    assert_eq!(body["data"]["patientId"], waiting.id);
    assert_eq!(body["data"]["doctorId"], c.doctor.id);
    assert_eq!(body["data"]["startsAt"], at("09:00"));
    assert!(!got[0].body.contains(&waiting.email), "ids and times only");
    if let Some(ok) = standardwebhooks_verifies(&secret, &got[0]) {
        assert!(ok, "standardwebhooks must accept the signature");
    }
}
