//! Who sees whom: `me`, `user(id)`, `users`, and private fields.
use serde_json::json;

use crate::helpers::{TestApp, code, email, field};

const USER: &str = "query($id: UUID!) { user(id: $id) { id role firstName email phone address gender } }";

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let anonymous = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
    for bad in ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", ""] {
        assert_eq!(app.me(bad).await, Err("UNAUTHENTICATED".to_owned()), "token {bad:?}");
    }
    // A header that is not a Bearer credential is an error, never anonymous.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(code(&resp), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn_with(&[("JWT_SECRET", "another-secret-another-secret-another-0")]).await;
    let user = other.register(&email("x"), "PATIENT").await;
    assert_eq!(app.me(&user.access).await, Err("UNAUTHENTICATED".to_owned()));
}

#[tokio::test]
async fn anyone_signed_in_sees_a_doctor_but_not_their_private_fields() {
    let app = TestApp::spawn().await;
    let doctor = app.register(&email("doc"), "DOCTOR").await;
    app.gql(Some(&doctor.access), "mutation { updateMe(input: { phone: \"555\", gender: MALE }) { id } }", json!({}))
        .await;
    let patient = app.register(&email("pat"), "PATIENT").await;
    let body = app.gql(Some(&patient.access), USER, json!({ "id": doctor.id })).await;
    let u = &body["data"]["user"];
    assert_eq!(u["role"], "DOCTOR");
    assert!(u["email"].is_null() && u["phone"].is_null() && u["gender"].is_null(), "{body}");

    let own = app.gql(Some(&doctor.access), USER, json!({ "id": doctor.id })).await;
    assert_eq!(own["data"]["user"]["phone"], "555");
    assert_eq!(own["data"]["user"]["email"], doctor.email.as_str());
}

#[tokio::test]
async fn a_patient_is_not_found_by_other_patients_or_unrelated_doctors() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("p1"), "PATIENT").await;
    let other = app.register(&email("p2"), "PATIENT").await;
    let doctor = app.register(&email("d"), "DOCTOR").await;
    for viewer in [&other, &doctor] {
        let body = app.gql(Some(&viewer.access), USER, json!({ "id": patient.id })).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
        assert!(body["data"]["user"].is_null());
    }
    let missing = app.gql(Some(&other.access), USER, json!({ "id": uuid::Uuid::new_v4() })).await;
    assert_eq!(code(&missing), Some("NOT_FOUND"), "unknown and hidden look the same");
    let anonymous = app.gql(None, USER, json!({ "id": patient.id })).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_admin_sees_everyone_with_private_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let patient = app.register(&email("p"), "PATIENT").await;
    let body = app.gql(Some(&admin.access), USER, json!({ "id": patient.id })).await;
    assert_eq!(body["data"]["user"]["email"], patient.email.as_str());
}

const USERS: &str = "query($first: Int, $after: String, $role: Role, $search: String) {
  users(first: $first, after: $after, role: $role, search: $search) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id email role } }
  } }";

#[tokio::test]
async fn users_lists_pages_with_role_and_case_insensitive_search() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.register(&format!("patient{i}@example.com"), "PATIENT").await.id);
    }
    app.register("Dr.Who@Example.com", "DOCTOR").await;

    let page1 = app.gql(Some(&admin.access), USERS, json!({ "first": 2, "role": "PATIENT" })).await;
    let c = &page1["data"]["users"];
    assert_eq!(c["totalCount"], 5);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    let got: Vec<&str> = c["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()], "sign-up order");

    let after = c["pageInfo"]["endCursor"].as_str().unwrap();
    let page2 = app.gql(Some(&admin.access), USERS, json!({ "first": 10, "role": "PATIENT", "after": after })).await;
    let c2 = &page2["data"]["users"];
    assert_eq!(c2["edges"].as_array().unwrap().len(), 3);
    assert_eq!(c2["pageInfo"]["hasNextPage"], false);
    assert_eq!(c2["edges"][0]["node"]["id"], ids[2].as_str());

    let search = app.gql(Some(&admin.access), USERS, json!({ "search": "WHO" })).await;
    assert_eq!(search["data"]["users"]["totalCount"], 1);
    assert_eq!(search["data"]["users"]["edges"][0]["node"]["role"], "DOCTOR");
    let by_name = app.gql(Some(&admin.access), USERS, json!({ "search": "test" })).await;
    assert_eq!(by_name["data"]["users"]["totalCount"], 6, "first name `Test` matches every registered user");
    let wildcard = app.gql(Some(&admin.access), USERS, json!({ "search": "%" })).await;
    assert_eq!(wildcard["data"]["users"]["totalCount"], 0, "LIKE wildcards are matched literally");
}

#[tokio::test]
async fn users_bounds_first_and_rejects_foreign_cursors() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let big = app
        .gql(
            Some(&admin.access),
            "query($first: Int) { users(first: $first) { edges { node { id } } } }",
            json!({ "first": 101 }),
        )
        .await;
    assert_eq!((code(&big), field(&big)), (Some("BAD_USER_INPUT"), Some("first")), "{big}");
    let ok =
        app.gql(Some(&admin.access), "{ users(first: 100) { totalCount edges { node { id } } } }", json!({})).await;
    assert!(ok["data"]["users"].is_object());
    let bad = app.gql(Some(&admin.access), USERS, json!({ "after": "not-a-cursor" })).await;
    assert_eq!((code(&bad), field(&bad)), (Some("BAD_USER_INPUT"), Some("after")));
}

#[tokio::test]
async fn users_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("p"), "PATIENT").await;
    let doctor = app.register(&email("d"), "DOCTOR").await;
    for s in [&patient, &doctor] {
        assert_eq!(code(&app.gql(Some(&s.access), USERS, json!({})).await), Some("FORBIDDEN"));
    }
    assert_eq!(code(&app.gql(None, USERS, json!({})).await), Some("UNAUTHENTICATED"));
}
