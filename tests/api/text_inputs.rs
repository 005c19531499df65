//! Text inputs: no control characters (line breaks and tabs only where text spans lines), no
//! bidirectional overrides, no leap seconds; the same `BAD_USER_INPUT` on SQLite and PostgreSQL,
//! and nothing written.
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{PASSWORD, TestApp, code, email, field, upcoming},
};

const REGISTER: &str = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
const UPDATE_ME: &str = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { firstName lastName bio } }";

fn refused(body: &Value, expected_field: &str) {
    assert_eq!((code(body), field(body)), (Some("BAD_USER_INPUT"), Some(expected_field)), "{body}");
    assert!(body["data"].is_null(), "nothing ran: {body}");
}

fn registration(first: &str, last: &str, address: &str) -> Value {
    json!({ "i": { "email": address, "password": PASSWORD, "firstName": first, "lastName": last, "role": "PATIENT" } })
}

#[tokio::test]
async fn a_nul_or_a_bidi_override_in_a_name_at_registration_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (vars, f) in [
        (registration("Ann\u{0}", "Lee", &email("nul")), "firstName"),
        (registration("Ann", "\u{202E}eeL", &email("bidi")), "lastName"),
        (registration("Ann", "Lee\u{2066}", &email("isolate")), "lastName"),
        (registration("A\tnn", "Lee", &email("tab")), "firstName"),
        (registration("Ann", "Lee", "ann\u{0}@example.com"), "email"),
    ] {
        refused(&app.gql(None, REGISTER, vars).await, f);
    }
    // Written in the document itself, not in variables.
    let literal = format!(
        r#"mutation {{ register(input: {{ email: "{}", password: "{PASSWORD}", firstName: "Ann\u0000", lastName: "Lee", role: PATIENT }}) {{ accessToken }} }}"#,
        email("literal")
    );
    refused(&app.gql(None, &literal, json!({})).await, "firstName");
    assert_eq!(app.count_rows("users").await, 0, "nothing was written");
}

#[tokio::test]
async fn update_me_refuses_nul_in_a_name_or_bio_and_a_tab_in_a_name_but_keeps_tabs_and_newlines_in_bio() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("u"), "PATIENT").await;
    for (input, f) in [
        (json!({ "firstName": "Zoe\u{0}" }), "firstName"),
        (json!({ "bio": "About me\u{0}" }), "bio"),
        (json!({ "lastName": "Tab\tbed" }), "lastName"),
        (json!({ "firstName": "Zoe", "lastName": "\u{202D}x" }), "lastName"),
        (json!({ "email": "new\u{0}@example.com" }), "email"),
    ] {
        refused(&app.gql(Some(&user.access), UPDATE_ME, json!({ "i": input })).await, f);
    }
    let me = app.gql(Some(&user.access), "{ me { email firstName lastName bio } }", json!({})).await;
    assert_eq!(me["data"]["me"], json!({ "email": user.email, "firstName": "Test", "lastName": "User", "bio": null }));

    let body = app.gql(Some(&user.access), UPDATE_ME, json!({ "i": { "bio": "Line one\n\tLine two" } })).await;
    assert_eq!(body["data"]["updateMe"]["bio"], "Line one\n\tLine two", "{body}");
}

#[tokio::test]
async fn a_nul_in_a_search_or_a_login_or_reset_email_is_bad_input_not_a_server_error() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doctors = "query($s: String) { doctors(search: $s) { totalCount } }";
    let users = "query($s: String) { users(search: $s) { totalCount } }";
    for (token, q) in [(None, doctors), (Some(admin.access.as_str()), doctors), (Some(admin.access.as_str()), users)] {
        refused(&app.gql(token, q, json!({ "s": "Ann\u{0}" })).await, "search");
        refused(&app.gql(token, q, json!({ "s": "\u{202E}" })).await, "search");
    }
    refused(&app.gql(None, r#"{ doctors(search: "x\u0000") { totalCount } }"#, json!({})).await, "search");

    let login = app.login_raw("root\u{0}@example.com", PASSWORD).await;
    refused(&login, "email");
    let reset = app
        .gql(
            None,
            "mutation($e: String!) { requestPasswordReset(email: $e) { message } }",
            json!({ "e": "root@example.com\u{0}" }),
        )
        .await;
    refused(&reset, "email");
    assert_eq!(app.count_rows("login_failures").await, 0, "nothing was written");
}

#[tokio::test]
async fn a_nul_in_a_reason_for_visit_is_refused_and_nothing_is_booked() {
    let c = Clinic::open("UTC").await;
    let body = c
        .book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00"), "reasonForVisit": "Cough\u{0}" }))
        .await;
    refused(&body, "reasonForVisit");
    // Line breaks are fine in a reason.
    let ok = c
        .book(
            &c.patient,
            json!({ "doctorId": c.doctor.id, "startsAt": at("11:00"), "reasonForVisit": "Cough,\nfever" }),
        )
        .await;
    assert_eq!(ok["data"]["createAppointment"]["reasonForVisit"], "Cough,\nfever", "{ok}");
    assert_eq!(c.app.count_rows("appointments").await, 1);
}

#[tokio::test]
async fn a_leap_second_is_refused_in_every_date_time_input_naming_the_field() {
    let c = Clinic::open("UTC").await;
    let leap = format!("{}T23:59:60Z", upcoming(2, 7));
    // A doctor may book outside their hours, and 23:59:60 would fall on the grid (it is midnight).
    let body = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": leap })).await;
    refused(&body, "startsAt");
    let time_off = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": leap, "endsAt": format!("{}T23:00:00Z", upcoming(3, 7)) } }),
        )
        .await;
    refused(&time_off, "startsAt");
    let slots = c
        .app
        .gql(
            Some(&c.patient.access),
            "query($d: UUID!, $f: DateTime!, $t: DateTime!) { availableSlots(doctorId: $d, from: $f, to: $t) { startsAt } }",
            json!({ "d": c.doctor.id, "f": at("08:00"), "t": leap }),
        )
        .await;
    refused(&slots, "to");
    let filter = c
        .app
        .gql(
            Some(&c.patient.access),
            &format!(r#"{{ appointments(filter: {{ from: "{leap}" }}) {{ totalCount }} }}"#),
            json!({}),
        )
        .await;
    refused(&filter, "from");
    assert_eq!(c.app.count_rows("appointments").await, 0, "nothing was written");
    assert_eq!(c.app.count_rows("time_off").await, 0, "nothing was written");
}

#[tokio::test]
async fn create_admin_on_the_command_line_refuses_a_bidi_override_in_a_name() {
    let app = TestApp::spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cybermed"))
        .args(["create-admin", "--email", "bidi@example.com", "--first-name", "Bea\u{202E}", "--last-name", "Boss"])
        .env("DATABASE_URL", &app.database_url)
        .env("CYBERMED_ADMIN_PASSWORD", "Admin-Pass-For-Tests-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("firstName"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(app.count_rows("users").await, 0);
}
