//! Reading `outbox`, which names recipients, is audited: one `outbox.read` per read that returns
//! emails.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, email};

async fn outbox_reads(app: &TestApp, admin: &Session) -> Vec<Value> {
    let q = "query($a: UUID) { auditLog(first: 100, actorId: $a) { edges { node { action subjectId requestId } } } }";
    let body = app.gql(Some(&admin.access), q, json!({ "a": admin.id })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .filter(|n| n["action"] == "outbox.read")
        .collect()
}

#[tokio::test]
async fn an_admin_reading_outbox_addresses_leaves_an_outbox_read_entry() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("admin")).await;
    // Nothing to read yet: an empty page names nobody.
    let list = "query($s: EmailStatus) { outbox(first: 10, status: $s) { edges { node { to kind } } } }";
    let body = app.gql(Some(&admin.access), list, json!({})).await;
    assert_eq!(body["data"]["outbox"]["edges"], json!([]), "{body}");
    assert!(outbox_reads(&app, &admin).await.is_empty());

    let user = app.register(&email("forgetful"), "PATIENT").await;
    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";
    assert!(app.gql(None, reset, json!({ "e": user.email })).await["errors"].is_null());
    let body = app.gql(Some(&admin.access), list, json!({})).await;
    assert_eq!(body["data"]["outbox"]["edges"][0]["node"]["to"], user.email.as_str(), "{body}");
    let reads = outbox_reads(&app, &admin).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0]["subjectId"].is_null() && reads[0]["requestId"].is_string(), "{reads:?}");

    // Each read that returns emails is one more; one that returns none is not.
    assert!(app.gql(Some(&admin.access), list, json!({})).await["errors"].is_null());
    let body = app.gql(Some(&admin.access), list, json!({ "s": "FAILED" })).await;
    assert_eq!(body["data"]["outbox"]["edges"], json!([]), "{body}");
    assert_eq!(outbox_reads(&app, &admin).await.len(), 2);
}
