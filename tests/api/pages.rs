//! Every list pages one way (the core's keyset reader, one connection shape): following
//! `endCursor` page by page gives the same rows, in the same order, as one page holding them all;
//! `hasNextPage` is true on every page but the last and `hasPreviousPage` on every page but the
//! first; the cursors are the sort key's JSON in base64url, so cursors made before stay valid.
use base64::Engine;
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, TestApp, every_day},
};

/// Every page of `field` (a connection of nodes with `id`), `first` at a time, following
/// `endCursor`; each page's connection as answered.
async fn every_page(app: &TestApp, who: &Session, field: &str, first: i64) -> Vec<Value> {
    let query = format!(
        "query($first: Int, $after: String) {{ list: {field}(first: $first, after: $after) {{
           totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ id }} }} }} }}"
    );
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app.gql(Some(&who.access), &query, json!({ "first": first, "after": after })).await;
        assert!(body["errors"].is_null(), "{body}");
        let page = body["data"]["list"].clone();
        let info = &page["pageInfo"];
        let more = info["hasNextPage"] == true;
        after = info["endCursor"].as_str().map(str::to_owned);
        pages.push(page);
        if !more {
            return pages;
        }
        assert!(pages.len() < 100, "{field}: paging ends");
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect()
}

/// The JSON inside a cursor.
fn key_of(cursor: &str) -> Value {
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn cursor_of(key: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap())
}

/// Pages `field` two at a time and checks them against one page of everything; returns the ids
/// in order and the pages.
async fn pages_agree(app: &TestApp, who: &Session, field: &str) -> (Vec<String>, Vec<Value>) {
    let all = every_page(app, who, field, 100).await;
    assert_eq!(all.len(), 1, "{field}: fewer than 100 rows, one page");
    let expected = ids(&all[0]);
    let pages = every_page(app, who, field, 2).await;
    assert!(pages.len() > 1, "{field}: more than one page of 2 ({} rows)", expected.len());
    let seen: Vec<String> = pages.iter().flat_map(ids).collect();
    assert_eq!(seen, expected, "{field}: the pages hold every row once, in order");
    for (i, page) in pages.iter().enumerate() {
        let info = &page["pageInfo"];
        assert_eq!(info["hasNextPage"], i + 1 < pages.len(), "{field}: page {i}");
        assert_eq!(info["hasPreviousPage"], i > 0, "{field}: page {i}");
        assert_eq!(page["totalCount"], all[0]["totalCount"], "{field}: page {i}");
        let edges = page["edges"].as_array().unwrap();
        assert_eq!(info["startCursor"], edges[0]["cursor"], "{field}: page {i}");
        assert_eq!(info["endCursor"], edges[edges.len() - 1]["cursor"], "{field}: page {i}");
    }
    (expected, pages)
}

/// A list keyed by its ids: each cursor is the node's id as a JSON string, and one made by hand
/// the same way (as every cursor of this list was made before) reads the page after that node.
async fn cursors_are_ids(app: &TestApp, who: &Session, field: &str, pages: &[Value]) {
    for edge in pages.iter().flat_map(|p| p["edges"].as_array().unwrap()) {
        assert_eq!(key_of(edge["cursor"].as_str().unwrap()), edge["node"]["id"], "{field}");
    }
    let first_id = &pages[0]["edges"][0]["node"]["id"];
    let query =
        format!("query($after: String) {{ list: {field}(first: 1, after: $after) {{ edges {{ node {{ id }} }} }} }}");
    let body = app.gql(Some(&who.access), &query, json!({ "after": cursor_of(first_id) })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["list"]["edges"][0]["node"]["id"], pages[0]["edges"][1]["node"]["id"], "{field}");
}

#[tokio::test]
async fn users_and_the_doctors_directory_page_in_sign_up_order() {
    let c = Clinic::open("UTC").await;
    for _ in 0..3 {
        c.app.patient().await;
        c.app.doctor("Cardiology", "UTC", 30, Some(&c.admin)).await;
    }
    let (users, pages) = pages_agree(&c.app, &c.admin, "users").await;
    assert_eq!(users.len(), 9, "an admin, four doctors, four patients");
    let mut sorted = users.clone();
    sorted.sort();
    assert_eq!(users, sorted, "by id (UUIDv7): sign-up order");
    cursors_are_ids(&c.app, &c.admin, "users", &pages).await;

    let (doctors, pages) = pages_agree(&c.app, &c.patient, "doctors").await;
    assert_eq!(doctors.len(), 4);
    cursors_are_ids(&c.app, &c.patient, "doctors", &pages).await;
}

#[tokio::test]
async fn the_audit_log_pages_newest_first() {
    let c = Clinic::open("UTC").await;
    c.booked(&c.patient, &at("09:00")).await;
    let (entries, pages) = pages_agree(&c.app, &c.admin, "auditLog").await;
    let mut sorted = entries.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(entries, sorted, "by id (UUIDv7), newest first");
    cursors_are_ids(&c.app, &c.admin, "auditLog", &pages).await;
}

#[tokio::test]
async fn the_outbox_pages_newest_first_and_each_read_page_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&crate::helpers::email("root")).await;
    let reset = "mutation($e: String!) { requestPasswordReset(email: $e) { message } }";
    for i in 0..5 {
        let user = app.register(&crate::helpers::email(&format!("forgetful{i}")), "PATIENT").await;
        assert!(app.gql(None, reset, json!({ "e": user.email })).await["errors"].is_null());
    }
    let (emails, pages) = pages_agree(&app, &admin, "outbox").await;
    assert_eq!(emails.len(), 5);
    let mut sorted = emails.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(emails, sorted, "by id (UUIDv7), newest first");
    cursors_are_ids(&app, &admin, "outbox", &pages).await;

    // One `outbox.read` per page read: the whole list once, three pages of two, and the page read
    // after a hand-made cursor.
    let q = "query($a: UUID) { auditLog(first: 100, actorId: $a) { edges { node { action } } } }";
    let log = app.gql(Some(&admin.access), q, json!({ "a": admin.id })).await;
    let reads =
        log["data"]["auditLog"]["edges"].as_array().unwrap().iter().filter(|e| e["node"]["action"] == "outbox.read");
    assert_eq!(reads.count(), 1 + pages.len() + 1, "{log}");
}

#[tokio::test]
async fn appointments_page_newest_first_by_start_then_id_and_take_cursors_made_before() {
    let c = Clinic::open("UTC").await;
    // A second doctor, so that appointments start together and their ids break the ties.
    let second = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    c.app.set_rules(&second, every_day("08:00:00", "18:00:00")).await;
    let other = c.app.patient().await;
    for t in ["09:00", "10:00"] {
        c.booked(&c.patient, &at(t)).await;
        let body = c.book(&other, json!({ "doctorId": second.id, "startsAt": at(t) })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    c.booked(&c.patient, &at("12:00")).await;
    // Pages of two split both pairs that start together: [12:00, 10:00] [10:00, 09:00] [09:00].
    let (ids, pages) = pages_agree(&c.app, &c.admin, "appointments").await;
    assert_eq!(pages.len(), 3);
    let q = "{ appointments(first: 100) { edges { node { id startsAt } } } }";
    let all = c.app.gql(Some(&c.admin.access), q, json!({})).await;
    let mut order: Vec<(String, String)> = all["data"]["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["startsAt"].as_str().unwrap().to_owned(), e["node"]["id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(order.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(), ids);
    let listed = order.clone();
    order.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, order, "newest start first, then the larger id");

    // The cursor is the position's JSON object: its start and its id, under these names.
    let first = &pages[0]["edges"][0];
    let key = key_of(first["cursor"].as_str().unwrap());
    let mut names: Vec<&String> = key.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, ["id", "starts_at"], "{key}");
    assert_eq!(key["id"], first["node"]["id"]);
    let starts = chrono::DateTime::parse_from_rfc3339(key["starts_at"].as_str().unwrap()).unwrap();
    assert_eq!(starts, chrono::DateTime::parse_from_rfc3339(&at("12:00")).unwrap());
    // One made by hand, as cursors were made before, reads the page after that appointment.
    let made = cursor_of(&json!({ "starts_at": at("12:00"), "id": first["node"]["id"] }));
    let q = "query($after: String) { appointments(first: 2, after: $after) { edges { node { id } } } }";
    let body = c.app.gql(Some(&c.admin.access), q, json!({ "after": made })).await;
    assert!(body["errors"].is_null(), "{body}");
    let got: Vec<&str> = body["data"]["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids[1..3]);
}
