//! The audit log: every change, failed logins, and reads of patients' private fields; no health data.
use std::{collections::HashSet, time::Duration};

use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{PASSWORD, code, token_in},
};

const LOG: &str = "query($first: Int, $after: String, $actor: UUID, $subject: UUID) {
  auditLog(first: $first, after: $after, actorId: $actor, subjectId: $subject) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id at action subjectId requestId actor { id } } } } }";

async fn whole_log(c: &Clinic) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = c.app.gql(Some(&c.admin.access), LOG, json!({ "first": 50, "after": after })).await;
        let conn = &body["data"]["auditLog"];
        out.extend(conn["edges"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|e| e["node"].clone()));
        if conn["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

#[tokio::test]
async fn every_audited_action_leaves_an_entry_without_health_data() {
    let mut c = Clinic::open("UTC").await;
    let gql = |token: &str, q: &str, v: Value| {
        let (app, token, q) = (&c.app, token.to_owned(), q.to_owned());
        async move { app.gql(Some(&token), &q, v).await }
    };
    // Accounts.
    c.app.login_raw(&c.patient.email, "Wrong-Password-1").await;
    gql(&c.patient.access, "mutation { updateMe(input: { bio: \"Hello\" }) { id } }", json!({})).await;
    let p = c.app.patient().await;
    c.app
        .gql(None, "mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": p.email }))
        .await;
    let token = token_in(&c.app.outbox_emails(1).await[0]);
    c.app
        .gql(
            None,
            "mutation($e: String!, $t: String!) { resetPassword(email: $e, token: $t, password: \"Reset-Pass-4242\") { message } }",
            json!({ "e": p.email, "t": token }),
        )
        .await;
    let p = c.app.login(&p.email, "Reset-Pass-4242").await;
    gql(
        &p.access,
        "mutation { changePassword(oldPassword: \"Reset-Pass-4242\", newPassword: \"Changed-Pass-4343\") { message } }",
        json!({}),
    )
    .await;
    let p = c.app.login(&p.email, "Changed-Pass-4343").await;
    c.app.gql(None, "mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": p.refresh })).await;
    gql(&c.admin.access, "mutation($id: UUID!) { setUserRole(id: $id, role: DOCTOR) { id } }", json!({ "id": p.id }))
        .await;
    gql(
        &c.admin.access,
        "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }",
        json!({ "id": p.id }),
    )
    .await;
    gql(
        &c.admin.access,
        "mutation($id: UUID!) { verifyDoctor(id: $id, verified: true) { id } }",
        json!({ "id": c.doctor.id }),
    )
    .await;
    // Schedules.
    let day = crate::helpers::upcoming(0, 30);
    let off = gql(
        &c.doctor.access,
        "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
        json!({ "i": { "startsAt": format!("{day}T00:00:00Z"), "endsAt": format!("{}T00:00:00Z", day + chrono::Days::new(1)) } }),
    )
    .await;
    assert!(off["data"]["addTimeOff"]["id"].is_string(), "{off}");
    gql(
        &c.doctor.access,
        "mutation($id: UUID!) { removeTimeOff(id: $id) }",
        json!({ "id": off["data"]["addTimeOff"]["id"] }),
    )
    .await;
    // Appointments, with a reason for visit that must never reach the log.
    let a = c
        .book(
            &c.patient,
            json!({ "doctorId": c.doctor.id, "startsAt": at("10:00"), "reasonForVisit": "Embarrassing-Rash-77" }),
        )
        .await;
    let id = a["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    c.act(&c.doctor, "confirmAppointment", &id).await;
    c.app
        .gql(
            Some(&c.doctor.access),
            "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id } }",
            json!({ "id": id, "s": at("11:00") }),
        )
        .await;
    let b = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("14:00") })).await;
    let b = b["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let d = c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("15:00") })).await;
    let d = d["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    c.act(&c.patient, "cancelAppointment", &d).await;
    // Reads of the patient's private fields by the doctor and by an admin (not by the patient).
    let read = "query($id: UUID!) { user(id: $id) { email patientProfile { dateOfBirth } } }";
    gql(&c.doctor.access, read, json!({ "id": c.patient.id })).await;
    gql(&c.admin.access, read, json!({ "id": c.patient.id })).await;
    gql(&c.patient.access, read, json!({ "id": c.patient.id })).await;
    c.advance(Duration::from_secs(20 * 86_400)).await;
    c.act(&c.doctor, "completeAppointment", &id).await;
    c.act(&c.doctor, "markNoShow", &b).await;

    let log = whole_log(&c).await;
    let actions: HashSet<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "account.register",
        "auth.login",
        "auth.login_failed",
        "account.update",
        "account.password_reset_request",
        "account.password_reset",
        "account.password_change",
        "auth.logout",
        "user.set_role",
        "user.deactivate",
        "doctor.verify",
        "profile.doctor_update",
        "profile.patient_update",
        "availability.set",
        "time_off.add",
        "time_off.remove",
        "appointment.create",
        "appointment.confirm",
        "appointment.reschedule",
        "appointment.cancel",
        "appointment.complete",
        "appointment.no_show",
        "patient.read",
        "admin.create",
    ] {
        assert!(actions.contains(expected), "no `{expected}` entry; have {actions:?}");
    }
    let reads: Vec<&Value> = log.iter().filter(|e| e["action"] == "patient.read").collect();
    assert!(reads.iter().all(|e| e["subjectId"] == c.patient.id.as_str()));
    let readers: HashSet<&str> = reads.iter().map(|e| e["actor"]["id"].as_str().unwrap()).collect();
    assert!(readers.contains(c.doctor.id.as_str()) && readers.contains(c.admin.id.as_str()), "{readers:?}");
    assert!(!readers.contains(c.patient.id.as_str()), "a patient reading their own record is not audited");

    let text = serde_json::to_string(&log).unwrap();
    for secret in ["Embarrassing-Rash-77", "1990-04-01", PASSWORD, "Reset-Pass-4242", &token] {
        assert!(!text.contains(secret), "the audit log holds `{secret}`");
    }
    let times: Vec<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
}

#[tokio::test]
async fn an_entry_carries_the_request_id_of_its_response_and_filters_by_actor_and_subject() {
    let c = Clinic::open("UTC").await;
    let resp = c
        .app
        .client
        .post(c.app.url("/graphql"))
        .bearer_auth(&c.patient.access)
        .header("x-request-id", "attacker-chosen")
        .json(&json!({ "query": "mutation { updateMe(input: { bio: \"x\" }) { id } }" }))
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(request_id, "attacker-chosen", "the response names the server's own id");
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request_id}");
    let body = c.app.gql(Some(&c.admin.access), LOG, json!({ "actor": c.patient.id })).await;
    let entries = body["data"]["auditLog"]["edges"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["node"]["actor"]["id"] == c.patient.id.as_str()));
    let update = entries.iter().find(|e| e["node"]["action"] == "account.update").expect("an account.update entry");
    assert_eq!(update["node"]["requestId"], request_id.as_str(), "the server's id, not the client's");
    assert!(entries.iter().all(|e| e["node"]["requestId"] != "attacker-chosen"));

    let by_subject = c.app.gql(Some(&c.admin.access), LOG, json!({ "subject": c.doctor.id })).await;
    assert!(by_subject["data"]["auditLog"]["totalCount"].as_i64().unwrap() >= 2);
    assert!(
        by_subject["data"]["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["subjectId"] == c.doctor.id.as_str())
    );

    let forged = c
        .app
        .client
        .get(c.app.url("/health"))
        .header("x-request-id", "not a valid id; DROP TABLE")
        .send()
        .await
        .unwrap();
    assert_ne!(forged.headers()["x-request-id"], "not a valid id; DROP TABLE", "unsafe ids are replaced");
}

#[tokio::test]
async fn a_refused_change_leaves_no_entry_and_the_log_is_for_admins_only() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    c.booked(&c.patient, &at("10:00")).await;
    let clash = c.book(&other, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") })).await;
    assert_eq!(code(&clash), Some("CONFLICT"));
    let log = c.app.gql(Some(&c.admin.access), LOG, json!({ "actor": other.id })).await;
    let actions: Vec<&str> = log["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert!(!actions.contains(&"appointment.create"), "written in the transaction that failed: {actions:?}");

    assert_eq!(code(&c.app.gql(Some(&c.doctor.access), LOG, json!({})).await), Some("FORBIDDEN"));
    assert_eq!(code(&c.app.gql(Some(&c.patient.access), LOG, json!({})).await), Some("FORBIDDEN"));
    assert_eq!(code(&c.app.gql(None, LOG, json!({})).await), Some("UNAUTHENTICATED"));
}
