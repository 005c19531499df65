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

/// One adversarial piece of a document: brackets of every kind, strings, block strings and
/// comments that hide brackets (or fail to), escapes, names, aliases.
fn hostile_token(rng: &mut StdRng, out: &mut String) {
    match rng.random_range(0..22) {
        0..=2 => out.push_str(["[", "{", "("].choose(rng).unwrap_or(&"[")),
        3..=5 => out.push_str(["]", "}", ")"].choose(rng).unwrap_or(&"]")),
        6 => {
            let open = ["[", "{a:", "{ a {", "(a:", "... on Query {", "{"].choose(rng).unwrap_or(&"[");
            out.push_str(&open.repeat(rng.random_range(1..1500)));
        }
        7 => out.push_str(&["]", "}", ")"].choose(rng).unwrap_or(&"]").repeat(rng.random_range(1..1500))),
        8 => out.push_str(&format!("\"{}\"", "[{(".repeat(rng.random_range(0..300)))),
        9 => out.push_str(&format!("\"\"\"{} \\\"\"\" {}\"\"\"", "[".repeat(200), "{".repeat(200))),
        10 => out.push_str(&format!("# {}\n", "[{(".repeat(rng.random_range(0..300)))),
        11 => out.push('"'),
        12 => out.push_str("\"\"\""),
        13 => out.push('\\'),
        14 => out.push(['\n', '\r', '#'].choose(rng).copied().unwrap_or('\n')),
        15 => out.push_str(&(0..rng.random_range(1..60)).map(|i| format!(" a{i}: __typename")).collect::<String>()),
        16 => out.push_str(
            ["$v", ":", "...", "on", "@include(if: true)", "query", "=", "!", ","].choose(rng).unwrap_or(&":"),
        ),
        17 => out.push_str(&format!(" {} ", FIELDS.choose(rng).unwrap_or(&"id"))),
        18 => out.push_str(&rng.random::<i32>().to_string()),
        19 => out.push_str("\"\\u0000\\\"é\""),
        _ => out.push(' '),
    }
}

fn hostile_document(rng: &mut StdRng) -> String {
    let mut doc = String::new();
    match rng.random_range(0..4) {
        // A well-formed frame around a value nested to a random depth, of mixed lists and objects.
        0 => {
            // Mostly near the bound; sometimes where the parser used to overflow (≈300..900).
            let max = if rng.random_bool(0.2) { 900 } else { 80 };
            let depth = rng.random_range(0..max);
            let opens: Vec<bool> = (0..depth).map(|_| rng.random_bool(0.5)).collect();
            doc.push_str("{ __typename(a: ");
            for &list in &opens {
                doc.push_str(if list { "[" } else { "{a: " });
            }
            doc.push('1');
            for &list in opens.iter().rev() {
                doc.push_str(if list { "]" } else { "}" });
            }
            doc.push_str(") }");
        }
        // Selections nested to a random depth, with fragments, inline fragments and aliases.
        1 => {
            let max = if rng.random_bool(0.2) { 900 } else { 80 };
            let depth = rng.random_range(0..max);
            for _ in 0..depth {
                doc.push_str(["{ a ", "{ ... on Query ", "{ x: me "].choose(rng).unwrap_or(&"{ "));
            }
            doc.push_str("{ __typename }");
            doc.push_str(&" }".repeat(depth));
        }
        _ => {
            for _ in 0..rng.random_range(1..40) {
                hostile_token(rng, &mut doc);
            }
        }
    }
    doc
}

/// The deepest list or object literal in a parsed document (bounded: the document passed).
fn deepest_value(doc: &async_graphql::parser::types::ExecutableDocument) -> usize {
    use async_graphql::{Value as GqlValue, parser::types::Selection};
    fn value(v: &GqlValue) -> usize {
        match v {
            GqlValue::List(items) => 1 + items.iter().map(value).max().unwrap_or(0),
            GqlValue::Object(map) => 1 + map.values().map(value).max().unwrap_or(0),
            _ => 0,
        }
    }
    fn set(s: &async_graphql::parser::types::SelectionSet) -> usize {
        s.items
            .iter()
            .map(|sel| match &sel.node {
                Selection::Field(f) => {
                    let args = f
                        .node
                        .arguments
                        .iter()
                        .map(|(_, v)| {
                            let v =
                                v.node.clone().into_const_with(|_| Ok::<_, std::convert::Infallible>(GqlValue::Null));
                            v.map_or(0, |v| value(&v))
                        })
                        .max()
                        .unwrap_or(0);
                    args.max(set(&f.node.selection_set.node))
                }
                Selection::InlineFragment(i) => set(&i.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }
    let ops = doc.operations.iter().map(|(_, op)| set(&op.node.selection_set.node));
    let frags = doc.fragments.values().map(|f| set(&f.node.selection_set.node));
    ops.chain(frags).max().unwrap_or(0)
}

#[test]
fn the_document_front_door_survives_seconds_of_hostile_documents() {
    use cybermed::graphql::limits::{DocumentLimits, Limits, MAX_VALUE_NESTING};
    // On a thread with the stack a tokio worker has: an overflow aborts the whole test binary.
    let run = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let limits = DocumentLimits::new(Limits::default());
            let mut rng = StdRng::seed_from_u64(0x0DEE_9D0C);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            let (mut cases, mut accepted) = (0u32, 0u32);
            while cases < 500 || std::time::Instant::now() < deadline {
                let doc = hostile_document(&mut rng);
                if let Ok(parsed) = limits.prepare(&doc) {
                    accepted += 1;
                    assert!(deepest_value(&parsed) <= MAX_VALUE_NESTING, "case {cases}: {doc}");
                }
                cases += 1;
            }
            (cases, accepted)
        })
        .unwrap();
    let (cases, accepted) = run.join().unwrap();
    assert!(cases >= 500 && accepted > 0, "{cases} cases, {accepted} accepted");
}

#[tokio::test]
async fn hostile_documents_by_post_and_get_never_stop_the_server() {
    let app = TestApp::spawn().await;
    let mut rng = StdRng::seed_from_u64(0xBAD_D0C5);
    for case in 0..150 {
        let doc = hostile_document(&mut rng);
        let resp = if rng.random_bool(0.5) {
            app.client.post(app.url("/graphql")).json(&json!({ "query": doc })).send().await
        } else {
            app.client.get(app.url("/graphql")).query(&[("query", doc.as_str())]).send().await
        };
        let resp = resp.unwrap_or_else(|e| panic!("case {case}: the server went away: {e}\n{doc}"));
        assert!(resp.status().as_u16() < 500, "case {case}: {}\n{doc}", resp.status());
    }
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
