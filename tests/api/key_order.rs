//! Response keys follow the selection set at every level ("Serialized Map Ordering"), also where
//! fields wait for the database, and `__schema { description }` is null.
use serde_json::json;

use crate::{
    appointments::{Clinic, at},
    helpers::TestApp,
};

/// The response text (serde_json's `Value` would sort the keys).
async fn raw(app: &TestApp, token: &str, query: &str) -> String {
    let resp =
        app.client.post(app.url("/graphql")).bearer_auth(token).json(&json!({ "query": query })).send().await.unwrap();
    resp.text().await.unwrap()
}

/// Whether `keys` appear in `text` in this order (each key as `"key":`), at their first occurrence
/// after the previous one.
fn in_order(text: &str, keys: &[&str]) -> bool {
    let mut from = 0;
    for key in keys {
        match text[from..].find(&format!("\"{key}\":")) {
            Some(i) => from += i + key.len() + 3,
            None => return false,
        }
    }
    true
}

#[tokio::test]
async fn root_keys_follow_the_selection_even_when_the_first_field_waits() {
    let c = Clinic::open("Europe/Berlin").await;
    let token = &c.patient.access;
    let text = raw(&c.app, token, "{ doctors(first: 1) { totalCount } me { id } }").await;
    assert!(in_order(&text, &["doctors", "totalCount", "me", "id"]), "{text}");
    let text = raw(&c.app, token, "{ me { id } doctors(first: 1) { totalCount } }").await;
    assert!(in_order(&text, &["me", "doctors"]), "{text}");
    // Aliases and fragments: the order of the document.
    let text = raw(
        &c.app,
        token,
        "query { b: doctors(first: 1) { totalCount } ...Mine a: me { id } } fragment Mine on Query { me { role } }",
    )
    .await;
    assert!(in_order(&text, &["b", "me", "a"]), "{text}");
}

#[tokio::test]
async fn nested_keys_follow_the_selection_where_fields_wait_for_the_database() {
    let c = Clinic::open("Europe/Berlin").await;
    let when = at("10:00");
    let booked = c.booked(&c.patient, &when).await;
    assert!(booked["id"].is_string());
    let token = &c.doctor.access;
    // The actor and the profile are loaded; the scalars are at hand.
    let text = raw(
        &c.app,
        token,
        "{ appointments(first: 5) { edges { node { history { actor { doctorProfile { timeZone } id } kind at } id } } totalCount } }",
    )
    .await;
    assert!(in_order(&text, &["history", "actor", "kind", "at"]), "actor first, as selected: {text}");
    let text = raw(&c.app, token, "{ me { doctorProfile { specialty } email id } }").await;
    assert!(in_order(&text, &["doctorProfile", "specialty", "email", "id"]), "{text}");
}

#[tokio::test]
async fn the_schema_has_no_description() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ __schema { description queryType { name } } }", json!({})).await;
    assert_eq!(body["data"]["__schema"], json!({ "description": null, "queryType": { "name": "Query" } }), "{body}");
}
