//! Generated documents and variables, well-formed and garbage, thrown at `/graphql`: never a 5xx,
//! never a panic, and the server keeps answering. Seeded, so a failure reproduces.
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const FIELDS: &[&str] = &[
    "me",
    "user",
    "users",
    "doctors",
    "availableSlots",
    "appointments",
    "appointment",
    "auditLog",
    "id",
    "email",
    "firstName",
    "doctorProfile",
    "patientProfile",
    "availability",
    "history",
    "edges",
    "node",
    "pageInfo",
    "totalCount",
    "status",
    "startsAt",
    "__typename",
    "__schema",
    "__type",
    "types",
    "fields",
    "name",
    "nope",
];
const MUTATIONS: &[&str] = &[
    "register",
    "login",
    "refreshToken",
    "logout",
    "updateMe",
    "changePassword",
    "requestPasswordReset",
    "resetPassword",
    "upsertDoctorProfile",
    "upsertPatientProfile",
    "setAvailability",
    "addTimeOff",
    "removeTimeOff",
    "createAppointment",
    "confirmAppointment",
    "rescheduleAppointment",
    "cancelAppointment",
    "completeAppointment",
    "markNoShow",
    "verifyDoctor",
    "setUserActive",
    "setUserRole",
];
const ARGS: &[&str] =
    &["id", "first", "after", "input", "email", "password", "filter", "doctorId", "from", "to", "role", "search"];

fn value(rng: &mut StdRng, depth: u32) -> String {
    match rng.random_range(0..10) {
        0 => rng.random::<i64>().to_string(),
        1 => format!("{:?}", rng.random::<f64>()),
        2 => "\"2026-13-45T99:99:99Z\"".to_owned(),
        3 => format!("\"{}\"", uuid::Uuid::new_v4()),
        4 => ["true", "false", "null", "PATIENT", "ADMIN", "MON"].choose(rng).unwrap_or(&"null").to_string(),
        5 => "$v".to_owned(),
        6 if depth < 3 => format!("[{}, {}]", value(rng, depth + 1), value(rng, depth + 1)),
        7 if depth < 3 => format!("{{ {}: {} }}", ARGS.choose(rng).unwrap_or(&"x"), value(rng, depth + 1)),
        8 => format!("\"{}\"", "\\u0000é漢\\\"".repeat(rng.random_range(0..4))),
        _ => format!("\"{}\"", "x".repeat(rng.random_range(0..300))),
    }
}

fn selection(rng: &mut StdRng, depth: u32) -> String {
    let n = rng.random_range(1..4);
    let mut out = Vec::new();
    for _ in 0..n {
        let mut f = (*FIELDS.choose(rng).unwrap_or(&"id")).to_owned();
        if rng.random_bool(0.2) {
            f = format!("a{}: {f}", rng.random_range(0..50));
        }
        if rng.random_bool(0.3) {
            f.push_str(&format!("({}: {})", ARGS.choose(rng).unwrap_or(&"id"), value(rng, 0)));
        }
        if depth < 6 && rng.random_bool(0.5) {
            f.push_str(&format!(" {{ {} }}", selection(rng, depth + 1)));
        }
        if rng.random_bool(0.05) {
            f.push_str(" @include(if: $v)");
        }
        out.push(f);
    }
    out.join(" ")
}

fn document(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => {
            let bytes: Vec<u8> = (0..rng.random_range(0..200)).map(|_| rng.random()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        1 => {
            let doc = format!("query Q($v: Boolean) {{ {} }}", selection(rng, 0));
            let cut = rng.random_range(0..doc.len().max(1));
            doc.chars().take(cut).collect()
        }
        2 | 3 => format!(
            "mutation M($v: Boolean) {{ {}({}: {}) {{ __typename }} }}",
            MUTATIONS.choose(rng).unwrap_or(&"logout"),
            ARGS.choose(rng).unwrap_or(&"id"),
            value(rng, 0)
        ),
        4 => format!("subscription {{ appointmentEvents {{ {} }} }}", selection(rng, 1)),
        5 => format!("{{ ...F }} fragment F on Query {{ {} ...F }}", selection(rng, 1)),
        _ => format!("query Q($v: Boolean) {{ {} }}", selection(rng, 0)),
    }
}

fn variables(rng: &mut StdRng) -> Value {
    match rng.random_range(0..6) {
        0 => Value::Null,
        1 => json!({ "v": rng.random::<bool>() }),
        2 => json!({ "v": "not a bool", "extra": [1, 2, { "deep": null }] }),
        3 => json!({ "v": rng.random::<i64>() }),
        4 => json!([1, 2, 3]),
        _ => json!({ "v": true, "i": { "email": "x@example.com", "password": "short", "role": "GOD" } }),
    }
}

#[tokio::test]
async fn generated_documents_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin("fuzz.admin@example.com").await;
    let mut rng = StdRng::seed_from_u64(0xC1BE_12ED);
    for case in 0..400 {
        let doc = document(&mut rng);
        let vars = variables(&mut rng);
        let op = if rng.random_bool(0.3) { json!("Q") } else { Value::Null };
        let mut req =
            app.client.post(app.url("/graphql")).json(&json!({ "query": doc, "variables": vars, "operationName": op }));
        if rng.random_bool(0.5) {
            req = req.bearer_auth(&admin.access);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("case {case}: the server went away: {e}\n{doc}"));
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert!(status.as_u16() < 500, "case {case}: {status}\n{doc}\n{body}");
        assert!(serde_json::from_str::<Value>(&body).is_ok(), "case {case}: not JSON: {body}");
        if rng.random_bool(0.1) {
            let get = app.client.get(app.url("/graphql")).query(&[("query", doc.as_str())]).send().await.unwrap();
            assert!(get.status().as_u16() < 500, "case {case} over GET: {}", get.status());
        }
    }
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
