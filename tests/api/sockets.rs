//! A WebSocket is the login of its `connection_init` token as that login is now: operations after
//! the login ended do not run, the socket is closed with 4401 when it ends, and the socket's own
//! bounds (4408 without `connection_init`, 1009 for an oversized message).
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    appointments::{Clinic, at},
    helpers::{PASSWORD, Session, TestApp, code, email},
    ws::{closed_within, connect, next, open, run},
};

const ME: &str = "{ me { id role } }";

#[tokio::test]
async fn a_socket_is_closed_with_4401_when_its_login_ends_by_logout_password_change_deactivation_or_role_change() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("admin")).await;
    let logged_out = app.register(&email("out"), "PATIENT").await;
    let changed = app.register(&email("chg"), "PATIENT").await;
    let deactivated = app.register(&email("off"), "DOCTOR").await;
    let demoted = app.admin(&email("demoted")).await;
    let mut sockets = Vec::new();
    for who in [&logged_out, &changed, &deactivated, &demoted] {
        let mut ws = open(&app, &who.access).await;
        // The socket works until then.
        assert_eq!(run(&mut ws, "0", ME, json!({})).await["payload"]["data"]["me"]["id"], who.id.as_str());
        sockets.push(ws);
    }

    let ok = |body: &Value| assert!(body["errors"].is_null(), "{body}");
    ok(&app.gql(None, "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": logged_out.refresh })).await);
    ok(&app
        .gql(
            Some(&changed.access),
            "mutation($o: String!) { changePassword(oldPassword: $o, newPassword: \"An0ther-Long-Passphrase\") { message } }",
            json!({ "o": PASSWORD }),
        )
        .await);
    ok(&app
        .gql(
            Some(&admin.access),
            "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }",
            json!({ "id": deactivated.id }),
        )
        .await);
    ok(&app
        .gql(
            Some(&admin.access),
            "mutation($id: UUID!) { setUserRole(id: $id, role: PATIENT) { id } }",
            json!({ "id": demoted.id }),
        )
        .await);

    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(closed_within(ws, Duration::from_secs(5)).await, Some(json!(4401)), "socket {i}");
    }
}

#[tokio::test]
async fn an_operation_sent_after_the_login_ended_does_not_run() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("victim"), "PATIENT").await;
    let mut ws = open(&app, &user.access).await;
    let body = app.gql(None, "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": user.refresh })).await;
    assert_eq!(body["data"]["logout"], true, "{body}");

    // At once, before the watcher can close the socket.
    let answer =
        run(&mut ws, "1", "mutation { updateMe(input: { firstName: \"Mallory\" }) { firstName } }", json!({})).await;
    assert!(
        answer.get("closed").is_some() || answer["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED",
        "{answer}"
    );

    let again = app.login(&user.email, PASSWORD).await;
    let me = app.gql(Some(&again.access), "{ me { firstName } }", json!({})).await;
    assert_eq!(me["data"]["me"]["firstName"], "Test");
}

#[tokio::test]
async fn a_demoted_admins_subscription_receives_nothing_more() {
    let c = Clinic::open("UTC").await;
    let other_admin = c.app.admin(&email("second")).await;
    let mut ws = open(&c.app, &other_admin.access).await;
    let sub = json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { appointmentEvents { kind } }" } });
    ws.send(Message::text(sub.to_string())).await.unwrap();
    // Live: an event arrives.
    let mut hour = 8;
    loop {
        c.booked(&c.patient, &at(&format!("{hour:02}:00"))).await;
        hour += 1;
        if next(&mut ws, Duration::from_millis(500)).await.is_some_and(|m| m["type"] == "next") {
            break;
        }
        assert!(hour < 18, "the subscription never went live");
    }
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { setUserRole(id: $id, role: PATIENT) { id } }",
            json!({ "id": other_admin.id }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    c.booked(&c.patient, &at(&format!("{hour:02}:00"))).await;
    // Nothing but the close.
    loop {
        let m = next(&mut ws, Duration::from_secs(5)).await.expect("the socket closes");
        if m.get("closed").is_some() {
            assert_eq!(m["closed"], 4401);
            break;
        }
        assert_ne!(m["type"], "next", "a demoted admin still received {m}");
    }
}

#[tokio::test]
async fn a_socket_is_closed_with_4401_when_its_access_token_expires() {
    let app = TestApp::spawn_with(&[("ACCESS_TOKEN_TTL_SECS", "2")]).await;
    let user = app.register(&email("short"), "PATIENT").await;
    let mut ws = open(&app, &user.access).await;
    assert_eq!(closed_within(&mut ws, Duration::from_secs(2 + 5)).await, Some(json!(4401)));
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn().await;
    let mut ws = connect(&app).await;
    assert_eq!(closed_within(&mut ws, Duration::from_secs(12)).await, Some(json!(4408)));
}

#[tokio::test]
async fn a_message_over_64_kib_closes_the_socket_with_1009() {
    let app = TestApp::spawn().await;
    let mut ws = connect(&app).await;
    let padding = "x".repeat(100 * 1024);
    let init = json!({ "type": "connection_init", "payload": { "Authorization": "Bearer x", "padding": padding } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    assert_eq!(closed_within(&mut ws, Duration::from_secs(5)).await, Some(json!(1009)));
    // The server is fine.
    assert_eq!(app.gql(None, "{ __typename }", json!({})).await["data"]["__typename"], "Query");
}

#[tokio::test]
async fn each_operation_on_a_socket_has_a_request_id_of_its_own_in_the_audit_log() {
    let c = Clinic::open("UTC").await;
    c.booked(&c.patient, &at("10:00")).await;
    let body = c
        .app
        .gql(Some(&c.patient.access), "mutation { updateMe(input: { phone: \"+1 555 0177\" }) { id } }", json!({}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let mut ws = open(&c.app, &c.doctor.access).await;
    // Two private fields of one patient in each operation: one entry per operation.
    let read = "query($id: UUID!) { user(id: $id) { email phone } }";
    let reads = || async {
        let log = c
            .app
            .gql(
                Some(&c.admin.access),
                "query($a: UUID) { auditLog(first: 100, actorId: $a) { edges { node { action subjectId requestId } } } }",
                json!({ "a": c.doctor.id }),
            )
            .await;
        let reads: Vec<(String, String)> = log["data"]["auditLog"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{log}"))
            .iter()
            .map(|e| &e["node"])
            .filter(|n| n["action"] == "patient.read")
            .map(|n| (n["subjectId"].as_str().unwrap().to_owned(), n["requestId"].as_str().unwrap().to_owned()))
            .collect();
        reads
    };
    for (n, id) in [(1, "a"), (2, "b")] {
        let answer = run(&mut ws, id, read, json!({ "id": c.patient.id })).await;
        let user = &answer["payload"]["data"]["user"];
        assert_eq!(
            (user["email"].as_str(), user["phone"].as_str()),
            (Some(c.patient.email.as_str()), Some("+1 555 0177"))
        );
        let reads = reads().await;
        assert_eq!(reads.len(), n, "one patient.read per operation, however many fields: {reads:?}");
        assert!(reads.iter().all(|(subject, _)| *subject == c.patient.id), "{reads:?}");
    }
    let ids: Vec<String> = reads().await.into_iter().map(|(_, request)| request).collect();
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| id != "system" && uuid::Uuid::parse_str(id).is_ok()), "{ids:?}");
}

#[tokio::test]
async fn a_socket_acts_as_the_login_as_it_is_now() {
    // The role is read afresh for every operation: a socket opened as an admin cannot list users
    // after a demotion, even before the watcher closes it.
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("boss")).await;
    let other: Session = app.admin(&email("other")).await;
    let mut ws = open(&app, &other.access).await;
    let users = "{ users(first: 1) { totalCount } }";
    assert!(run(&mut ws, "1", users, json!({})).await["payload"]["data"]["users"]["totalCount"].is_number());
    app.gql(
        Some(&admin.access),
        "mutation($id: UUID!) { setUserRole(id: $id, role: PATIENT) { id } }",
        json!({ "id": other.id }),
    )
    .await;
    let answer = run(&mut ws, "2", users, json!({})).await;
    assert!(
        answer.get("closed").is_some() || code(&json!({ "errors": answer["payload"] })) == Some("UNAUTHENTICATED"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_logout_on_another_replica_closes_the_socket_too() {
    if !crate::helpers::postgres_only("replicas share PostgreSQL; on SQLite there is one process") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(&[("DATABASE_URL", a.database_url.as_str())]).await;
    let user = a.register(&email("replica"), "PATIENT").await;
    let mut ws = open(&a, &user.access).await;
    let body = b.gql(None, "mutation($r: String!) { logout(refreshToken: $r) }", json!({ "r": user.refresh })).await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_eq!(closed_within(&mut ws, Duration::from_secs(5)).await, Some(json!(4401)));
}

#[tokio::test]
async fn a_query_over_a_socket_writes_one_patient_read_per_patient_however_many_fields_it_reads() {
    let c = Clinic::open("UTC").await;
    let second = c.app.patient().await;
    for (who, hhmm) in [(&c.patient, "09:00"), (&second, "10:00")] {
        c.booked(who, &at(hhmm)).await;
    }
    let mut ws = open(&c.app, &c.doctor.access).await;
    // Two patients, each read several private fields, some twice (aliases).
    let query = "{ appointments(first: 10) { edges { node { patient { id email phone address gender }
        again: patient { email patientProfile { dateOfBirth } } } } } }";
    let answer = run(&mut ws, "reads", query, json!({})).await;
    assert!(answer["payload"]["errors"].is_null(), "{answer}");
    let log = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: UUID) { auditLog(first: 50, actorId: $a) { edges { node { action subjectId requestId } } } }",
            json!({ "a": c.doctor.id }),
        )
        .await;
    let reads: Vec<&Value> = log["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["action"] == "patient.read")
        .collect();
    let mut subjects: Vec<&str> = reads.iter().map(|n| n["subjectId"].as_str().unwrap()).collect();
    subjects.sort_unstable();
    let mut expected = vec![c.patient.id.as_str(), second.id.as_str()];
    expected.sort_unstable();
    assert_eq!(subjects, expected, "one entry per patient for the operation: {reads:?}");
    assert_eq!(reads[0]["requestId"], reads[1]["requestId"], "both carry the operation's request id");
}
