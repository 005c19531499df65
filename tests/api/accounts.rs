//! Registration, sign-in, throttling, profile edits and the admin's account switches.
use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, code, email, field, message};

const REGISTER: &str = "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken tokenType expiresIn user { id email role firstName isActive isStaff dateJoined } } }";

fn input(email: &str, password: &str) -> serde_json::Value {
    json!({ "email": email, "password": password, "firstName": "Ann", "lastName": "Lee", "role": "PATIENT" })
}

#[tokio::test]
async fn register_signs_the_user_in_with_a_normalised_email() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, REGISTER, json!({ "i": input("  Ann.Lee@Example.COM ", PASSWORD) })).await;
    let p = &body["data"]["register"];
    assert_eq!(p["tokenType"], "Bearer");
    assert_eq!(p["expiresIn"], 900);
    assert_eq!(p["user"]["email"], "ann.lee@example.com");
    assert_eq!(p["user"]["role"], "PATIENT");
    assert_eq!(p["user"]["isActive"], true);
    assert!(p["user"]["dateJoined"].as_str().unwrap().ends_with('Z'), "outputs are UTC with Z");
    let me = app.me(p["accessToken"].as_str().unwrap()).await;
    assert_eq!(me.as_deref().ok(), p["user"]["id"].as_str());
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.register("dup@example.com", "PATIENT").await;
    let body = app.gql(None, REGISTER, json!({ "i": input("DUP@example.com", PASSWORD) })).await;
    assert_eq!(code(&body), Some("CONFLICT"));
    assert_eq!(field(&body), Some("email"));
    assert_eq!(app.count_rows("users").await, 1);
}

#[tokio::test]
async fn an_invalid_email_is_bad_input_on_email() {
    let app = TestApp::spawn().await;
    for bad in ["not-an-email", "a@b", "two@@example.com", ""] {
        let body = app.gql(None, REGISTER, json!({ "i": input(bad, PASSWORD) })).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{bad}");
        assert_eq!(field(&body), Some("email"), "{bad}");
    }
}

#[tokio::test]
async fn names_must_be_one_to_thirty_characters_after_trimming() {
    let app = TestApp::spawn().await;
    let mut i = input(&email("n"), PASSWORD);
    i["firstName"] = json!("   ");
    let body = app.gql(None, REGISTER, json!({ "i": i })).await;
    assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("firstName")));

    let mut i = input(&email("n"), PASSWORD);
    i["lastName"] = json!("x".repeat(31));
    let body = app.gql(None, REGISTER, json!({ "i": i })).await;
    assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("lastName")));

    let mut i = input(&email("n"), PASSWORD);
    i["firstName"] = json!(format!("  {}  ", "é".repeat(30)));
    let body = app.gql(None, REGISTER, json!({ "i": i })).await;
    assert!(body["data"]["register"].is_object(), "30 characters (not bytes) is fine: {body}");
}

#[tokio::test]
async fn each_password_rule_is_bad_input_on_password_with_its_own_message() {
    let app = TestApp::spawn().await;
    let addr = "mary.jones@example.com";
    let cases = [
        ("Sh0rt!", "short"),
        (&*"Ab1!".repeat(33), "long"),
        ("8675309123", "numeric"),
        ("mary.jones", "similar"),
        ("Mary.Jones@Example.com", "similar"),
        ("password1", "common"),
        ("iloveyou", "common"),
    ];
    for (pw, word) in cases {
        let body = app.gql(None, REGISTER, json!({ "i": input(addr, pw) })).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{pw}");
        assert_eq!(field(&body), Some("password"), "{pw}");
        assert!(message(&body).contains(word), "{pw}: message `{}` should say {word}", message(&body));
    }
    assert_eq!(app.count_rows("users").await, 0);
}

#[tokio::test]
async fn only_a_signed_in_admin_may_register_an_admin() {
    let app = TestApp::spawn().await;
    let mut i = input(&email("adm"), PASSWORD);
    i["role"] = json!("ADMIN");
    let anonymous = app.gql(None, REGISTER, json!({ "i": i })).await;
    assert_eq!(code(&anonymous), Some("FORBIDDEN"));

    let patient = app.register(&email("p"), "PATIENT").await;
    let as_patient = app.gql(Some(&patient.access), REGISTER, json!({ "i": i })).await;
    assert_eq!(code(&as_patient), Some("FORBIDDEN"));

    let admin = app.admin(&email("root")).await;
    let as_admin = app.gql(Some(&admin.access), REGISTER, json!({ "i": i })).await;
    assert_eq!(as_admin["data"]["register"]["user"]["role"], "ADMIN", "{as_admin}");
    assert_eq!(as_admin["data"]["register"]["user"]["isStaff"], true);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_unauthenticated_answer() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("l"), "PATIENT").await;
    let wrong = app.login_raw(&user.email, "Wrong-Password-1").await;
    let unknown = app.login_raw("nobody@example.com", PASSWORD).await;
    for body in [&wrong, &unknown] {
        assert_eq!(code(body), Some("UNAUTHENTICATED"));
        assert_eq!(message(body), "Invalid email or password");
    }
    let ok = app.login(&user.email.to_uppercase(), PASSWORD).await;
    assert_eq!(ok.id, user.id, "login normalises the email");
}

#[tokio::test]
async fn login_is_throttled_per_email_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("t"), "PATIENT").await;
    for _ in 0..5 {
        let body = app.login_raw(&user.email, "Wrong-Password-1").await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    }
    let limited = app.login_raw(&user.email, PASSWORD).await;
    assert_eq!(code(&limited), Some("RATE_LIMITED"), "{limited}");
    let retry = limited["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((1..=900).contains(&retry), "retryAfter {retry}");

    // Another account from the same address is not affected by this email's limit.
    let other = app.register(&email("o"), "PATIENT").await;
    app.login(&other.email, PASSWORD).await;

    app.state.clock.advance(Duration::from_secs(901));
    app.login(&user.email, PASSWORD).await;
}

#[tokio::test]
async fn login_is_throttled_per_client_address_across_emails() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES_PER_ADDRESS", "3")]).await;
    let user = app.register(&email("a"), "PATIENT").await;
    for i in 0..3 {
        let body = app.login_raw(&format!("guess{i}@example.com"), "Wrong-Password-1").await;
        assert_eq!(code(&body), Some("UNAUTHENTICATED"));
    }
    let limited = app.login_raw(&user.email, PASSWORD).await;
    assert_eq!(code(&limited), Some("RATE_LIMITED"));
}

#[tokio::test]
async fn a_successful_login_clears_earlier_failures_of_that_email() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("c"), "PATIENT").await;
    for _ in 0..4 {
        app.login_raw(&user.email, "Wrong-Password-1").await;
    }
    app.login(&user.email, PASSWORD).await;
    for _ in 0..4 {
        app.login_raw(&user.email, "Wrong-Password-1").await;
    }
    app.login(&user.email, PASSWORD).await;
}

#[tokio::test]
async fn an_inactive_user_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let user = app.register(&email("i"), "PATIENT").await;
    let body = app
        .gql(
            Some(&admin.access),
            "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { isActive } }",
            json!({ "id": user.id }),
        )
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false);
    let login = app.login_raw(&user.email, PASSWORD).await;
    assert_eq!(code(&login), Some("UNAUTHENTICATED"));
}

const UPDATE_ME: &str =
    "mutation($i: UpdateMeInput!) { updateMe(input: $i) { email firstName lastName phone address bio gender } }";

#[tokio::test]
async fn update_me_changes_only_the_fields_given_and_null_clears() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("u"), "PATIENT").await;
    let body = app
        .gql(
            Some(&user.access),
            UPDATE_ME,
            json!({ "i": { "phone": "+49 30 123", "address": "Main St 1", "bio": "Hi", "gender": "FEMALE" } }),
        )
        .await;
    let me = &body["data"]["updateMe"];
    assert_eq!(me["phone"], "+49 30 123");
    assert_eq!(me["firstName"], "Test", "omitted fields stay");

    let body = app.gql(Some(&user.access), UPDATE_ME, json!({ "i": { "phone": null, "firstName": "  Zoe " } })).await;
    let me = &body["data"]["updateMe"];
    assert!(me["phone"].is_null(), "null clears");
    assert_eq!(me["address"], "Main St 1", "omitted stays");
    assert_eq!(me["firstName"], "Zoe");
    assert_eq!(me["gender"], "FEMALE");
}

#[tokio::test]
async fn update_me_refuses_bad_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let taken = app.register(&email("taken"), "PATIENT").await;
    let user = app.register(&email("u"), "PATIENT").await;
    let cases = [
        (json!({ "firstName": null }), "BAD_USER_INPUT", "firstName"),
        (json!({ "lastName": "x".repeat(31) }), "BAD_USER_INPUT", "lastName"),
        (json!({ "phone": "1".repeat(101) }), "BAD_USER_INPUT", "phone"),
        (json!({ "address": "a".repeat(101) }), "BAD_USER_INPUT", "address"),
        (json!({ "bio": "b".repeat(2001) }), "BAD_USER_INPUT", "bio"),
        (json!({ "email": "nope" }), "BAD_USER_INPUT", "email"),
        (json!({ "email": taken.email.to_uppercase(), "currentPassword": PASSWORD }), "CONFLICT", "email"),
    ];
    for (i, c, f) in cases {
        let body = app.gql(Some(&user.access), UPDATE_ME, json!({ "i": i })).await;
        assert_eq!((code(&body), field(&body)), (Some(c), Some(f)), "{i}: {body}");
    }
    let body = app.gql(Some(&user.access), "{ me { email firstName } }", json!({})).await;
    assert_eq!(body["data"]["me"]["email"], user.email.as_str(), "nothing was written");
}

#[tokio::test]
async fn set_user_role_and_active_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let user = app.register(&email("r"), "PATIENT").await;
    let role = "mutation($id: UUID!, $r: Role!) { setUserRole(id: $id, role: $r) { role } }";

    let denied = app.gql(Some(&user.access), role, json!({ "id": user.id, "r": "ADMIN" })).await;
    assert_eq!(code(&denied), Some("FORBIDDEN"));
    let anonymous = app.gql(None, role, json!({ "id": user.id, "r": "ADMIN" })).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
    let active = "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }";
    let denied = app.gql(Some(&user.access), active, json!({ "id": admin.id })).await;
    assert_eq!(code(&denied), Some("FORBIDDEN"));

    let ok = app.gql(Some(&admin.access), role, json!({ "id": user.id, "r": "DOCTOR" })).await;
    assert_eq!(ok["data"]["setUserRole"]["role"], "DOCTOR");
    let missing = app.gql(Some(&admin.access), role, json!({ "id": uuid::Uuid::new_v4(), "r": "DOCTOR" })).await;
    assert_eq!(code(&missing), Some("NOT_FOUND"));
    let own = app.gql(Some(&admin.access), role, json!({ "id": admin.id, "r": "PATIENT" })).await;
    assert_eq!((code(&own), field(&own)), (Some("BAD_USER_INPUT"), Some("id")));
}

#[tokio::test]
async fn a_role_change_ends_the_users_logins_and_the_next_login_has_the_new_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let user = app.register(&email("r"), "PATIENT").await;
    let users = "{ users { totalCount } }";
    assert_eq!(code(&app.gql(Some(&user.access), users, json!({})).await), Some("FORBIDDEN"));
    app.gql(
        Some(&admin.access),
        "mutation($id: UUID!) { setUserRole(id: $id, role: ADMIN) { role } }",
        json!({ "id": user.id }),
    )
    .await;
    assert_eq!(code(&app.gql(Some(&user.access), users, json!({})).await), Some("UNAUTHENTICATED"));
    let again = app.login(&user.email, PASSWORD).await;
    let body = app.gql(Some(&again.access), users, json!({})).await;
    assert_eq!(body["data"]["users"]["totalCount"], 2, "{body}");
}
