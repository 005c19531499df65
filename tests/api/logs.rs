//! What the service writes to its log: JSON lines in production, with request ids, and never a
//! password, token, reset token or health data. Runs the real binary and reads its output.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::json;

use crate::{appointments::at, helpers::token_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_logs_are_json_and_hold_no_secrets_or_health_data() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cybermed"))
        .arg("serve")
        .env("APP_ENV", "production")
        .env("RUST_LOG", "debug")
        .env("JWT_SECRET", "log-test-secret-log-test-secret-0123456789")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("log.db").display()))
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("MAIL_OUTBOX_DIR", &outbox)
        .env("CYBERMED_ADMIN_PASSWORD", "unused")
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
    let port = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("the server starts");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        lines.push(line);
        if let Some(port) = v["fields"]["port"].as_u64() {
            break port;
        }
    };
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
        if let Some(f) = std::fs::read_dir(&outbox).ok().and_then(|mut d| d.next()).and_then(Result::ok) {
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

    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM stops the server gracefully: {status:?}");
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(line);
    }
    let all = lines.join("\n");
    for line in &lines {
        assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "production logs are JSON lines: {line}");
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
