//! What the service writes to its log: JSON lines with `LOG_FORMAT=json`, with request ids, and
//! never a password, token, reset token or health data. Runs the real binary and reads its output.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::json;

use crate::{appointments::at, helpers::token_in};

/// The real binary serving on a free port with `env` (in production, `LOG_FORMAT=json`); its
/// stdout and stderr lines on `rx`.
pub struct Server {
    child: std::process::Child,
    pub port: u64,
    /// `/metrics`'s port, when `METRICS_BIND_ADDR` was given.
    pub metrics_port: Option<u64>,
    rx: mpsc::Receiver<String>,
    /// What it printed before it listened.
    lines: Vec<String>,
}

pub fn serve(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cybermed"))
        .arg("serve")
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "log-test-secret-log-test-secret-0123456789")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("log.db").display()))
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("MAIL_OUTBOX_DIR", dir.path().join("outbox"))
        .env("CYBERMED_ADMIN_PASSWORD", "unused")
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut lines = Vec::new();
    let (port, metrics_port) = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the server starts");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        lines.push(line);
        if let Some(port) = v["fields"]["port"].as_u64() {
            break (port, v["fields"]["metrics_port"].as_u64());
        }
    };
    Server { child, port, metrics_port, rx, lines }
}

/// A test that fails before [`Server::stop`] leaves no server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Registers a patient with `email` and `password` on this server; their access token.
    pub async fn patient_token(&self, email: &str, password: &str) -> String {
        let register = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
        let vars = json!({ "i": { "email": email, "password": password, "firstName": "T", "lastName": "U", "role": "PATIENT" } });
        let body: serde_json::Value = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/graphql", self.port))
            .json(&json!({ "query": register, "variables": vars }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["register"]["accessToken"].as_str().unwrap_or_else(|| panic!("register: {body}")).to_owned()
    }

    /// Stops it with SIGTERM (it must stop gracefully) and returns every line it wrote.
    pub fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "SIGTERM stops the server gracefully: {status:?}");
        while let Ok(line) = self.rx.recv_timeout(Duration::from_secs(2)) {
            self.lines.push(line);
        }
        std::mem::take(&mut self.lines)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_and_hold_no_secrets_or_health_data() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let server = serve(&dir, &[("RUST_LOG", "debug")]);
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let gql = |token: Option<String>, q: &str, v: serde_json::Value| {
        let mut req = client.post(format!("{base}/graphql")).json(&json!({ "query": q, "variables": v }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };

    let (patient_pw, doctor_pw, new_pw) = ("Patient-Secret-Pw-1", "Doctor-Secret-Pw-2", "Patient-New-Pw-3");
    let reg = "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }";
    let p = gql(None, reg, json!({ "i": { "email": "log.patient@example.com", "password": patient_pw, "firstName": "P", "lastName": "L", "role": "PATIENT" } })).await;
    let d = gql(None, reg, json!({ "i": { "email": "log.doctor@example.com", "password": doctor_pw, "firstName": "D", "lastName": "L", "role": "DOCTOR" } })).await;
    let p_access = p["data"]["register"]["accessToken"].as_str().unwrap().to_owned();
    let p_refresh = p["data"]["register"]["refreshToken"].as_str().unwrap().to_owned();
    let d_access = d["data"]["register"]["accessToken"].as_str().unwrap().to_owned();
    let p_id = p["data"]["register"]["user"]["id"].as_str().unwrap().to_owned();
    gql(Some(p_access.clone()), "mutation { upsertPatientProfile(input: { dateOfBirth: \"1977-03-04\", emergencyContactName: \"Hidden Contact\", emergencyContactPhone: \"555-777\" }) { dateOfBirth } }", json!({})).await;
    gql(
        Some(d_access.clone()),
        "mutation { upsertDoctorProfile(input: { specialty: \"GP\", experienceYears: 3 }) { specialty } }",
        json!({}),
    )
    .await;
    gql(
        Some(d_access.clone()),
        "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }",
        json!({ "i": { "patientId": p_id, "startsAt": at("10:00"), "reasonForVisit": "Secret-Symptom-XYZ" } }),
    )
    .await;
    gql(
        None,
        "mutation { login(email: \"log.patient@example.com\", password: \"Wrong-Guess-Pw-9\") { accessToken } }",
        json!({}),
    )
    .await;
    gql(None, "mutation { requestPasswordReset(email: \"log.patient@example.com\") { message } }", json!({})).await;
    let mut reset_token = String::new();
    for _ in 0..100 {
        let eml = |e: &std::fs::DirEntry| e.path().extension().is_some_and(|x| x == "eml");
        if let Some(f) = std::fs::read_dir(&outbox).ok().and_then(|d| d.filter_map(Result::ok).find(eml)) {
            reset_token = token_in(&std::fs::read_to_string(f.path()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!reset_token.is_empty(), "the reset email was written");
    gql(None, "mutation($t: String!, $p: String!) { resetPassword(email: \"log.patient@example.com\", token: $t, password: $p) { message } }", json!({ "t": reset_token, "p": new_pw })).await;
    gql(None, "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", json!({ "t": p_refresh }))
        .await;
    gql(Some("forged.token.value".to_owned()), "{ me { id } }", json!({})).await;
    client.get(format!("{base}/health")).send().await.unwrap();

    let lines = server.stop();
    let all = lines.join("\n");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("LOG_FORMAT=json writes JSON lines: {line}"));
        assert!(v.is_object() && v["level"].is_string() && v["timestamp"].is_string(), "{line}");
    }
    assert!(all.contains("request_id"), "log lines name their request");
    for secret in [
        patient_pw,
        doctor_pw,
        new_pw,
        "Wrong-Guess-Pw-9",
        &p_access,
        &p_refresh,
        &d_access,
        &reset_token,
        "Secret-Symptom-XYZ",
        "1977-03-04",
        "Hidden Contact",
        "log-test-secret",
    ] {
        assert!(!all.contains(secret), "the log holds `{secret}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_info_every_request_writes_one_line_with_its_id_operation_outcome_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &[("RUST_LOG", "info")]);
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let client = reqwest::Client::new();
    let register = "mutation SignUp($i: RegisterInput!) { register(input: $i) { user { id } } }";
    let vars = json!({ "i": { "email": "info.log@example.com", "password": "Info-Log-Secret-1", "firstName": "I", "lastName": "L", "role": "PATIENT" } });
    let resp = client
        .post(&url)
        .header("x-request-id", "client-trace-7")
        .json(&json!({ "query": register, "variables": vars }))
        .send()
        .await
        .unwrap();
    let signed_up = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(signed_up, "client-trace-7", "the server's own id");
    let resp = client.post(&url).json(&json!({ "query": "query Broken { nope }" })).send().await.unwrap();
    let broken = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let lines = server.stop();

    let request_line = |id: &str| -> serde_json::Value {
        let found: Vec<serde_json::Value> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "request" && v["fields"]["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "one line for request {id}: {lines:#?}");
        found[0]["fields"].clone()
    };
    let line = request_line(&signed_up);
    assert_eq!((&line["operation"], &line["outcome"], &line["status"]), (&json!("SignUp"), &json!("ok"), &json!(200)));
    assert_eq!(line["client_request_id"], "client-trace-7", "the client's id is logged beside the server's");
    assert!(line["duration_ms"].is_u64(), "{line}");
    let line = request_line(&broken);
    assert_eq!((&line["operation"], &line["outcome"]), (&json!("Broken"), &json!("refused")));
    let all = lines.join("\n");
    assert!(!all.contains("Info-Log-Secret-1") && !all.contains("info.log@example.com"), "no variables in the log");
}

#[test]
fn text_logs_are_the_default_even_in_production_and_go_to_stderr_without_colours() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cybermed"))
        .arg("migrate")
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "log-test-secret-log-test-secret-0123456789")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("text.db").display()))
        .env("RUST_LOG", "info")
        .env_remove("LOG_FORMAT")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "logs go to stderr: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(stderr.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()), "text, not JSON: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colours when stderr is not a terminal: {stderr:?}");

    let bad = Command::new(env!("CARGO_BIN_EXE_cybermed"))
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("text.db").display()))
        .env("LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("LOG_FORMAT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_websocket_operation_is_logged_with_its_name_and_its_request_id_as_a_field() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &[("RUST_LOG", "info")]);
    let mut req = format!("ws://127.0.0.1:{}/graphql/ws", server.port).into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let token = server.patient_token("ws.log@example.com", "Ws-Log-Secret-1").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    // The same named document twice (the second comes from the document cache), then an unnamed
    // one: each answered before the next.
    for (id, query) in
        [("1", "query Twice { __typename }"), ("2", "query Twice { __typename }"), ("3", "{ __typename }")]
    {
        let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
        ws.send(Message::text(msg.to_string())).await.unwrap();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
            if let Message::Text(t) = m
                && t.contains(&format!(r#""id":"{id}""#))
                && (t.contains(r#""type":"complete""#) || t.contains(r#""type":"error""#))
            {
                break;
            }
        }
    }
    ws.close(None).await.unwrap();
    let lines = server.stop();
    let operations: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "websocket operation")
        .map(|v| v["fields"].clone())
        .collect();
    let names: Vec<&str> = operations.iter().map(|f| f["operation"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, ["Twice", "Twice", "anonymous"], "{operations:#?}");
    for f in &operations {
        assert!(f["request_id"].as_str().is_some_and(|id| id.len() == 36), "the request id is a field: {f}");
    }
    assert_ne!(operations[0]["request_id"], operations[1]["request_id"], "each operation has its own");
    // The upgrade itself is a success, not a refusal.
    let upgrade = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "request" && v["fields"]["status"] == 101)
        .expect("the upgrade's request line");
    assert_eq!(upgrade["fields"]["outcome"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_operation_name_is_cut_at_100_characters_in_the_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &[("RUST_LOG", "info")]);
    let name = format!("Q{}", "x".repeat(50_000));
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/graphql", server.port))
        .json(&json!({ "query": format!("query {name} {{ __typename }}") }))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let lines = server.stop();
    let line =
        lines.iter().find(|l| l.contains(&id) && l.contains(r#""message":"request""#)).expect("its request line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let logged = v["fields"]["operation"].as_str().unwrap();
    assert_eq!(logged.chars().count(), 101, "100 characters and an ellipsis");
    assert!(logged.starts_with("Qxxx") && logged.ends_with('…'), "{logged}");
    assert!(line.len() < 2_000, "a short line: {} bytes", line.len());
}
