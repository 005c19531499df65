//! The custom scalars: described (with `@specifiedBy`) in introspection, and `NaiveTime`'s formats.
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, email};

#[tokio::test]
async fn introspection_describes_each_custom_scalar_with_its_specification_url() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ __schema { types { name kind description specifiedByURL } } }", json!({})).await;
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    let scalar = |name: &str| -> &Value {
        types.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} is listed: {body}"))
    };
    for (name, url, says) in [
        ("DateTime", "https://datatracker.ietf.org/doc/html/rfc3339", "RFC 3339"),
        ("UUID", "https://datatracker.ietf.org/doc/html/rfc9562", "RFC 9562"),
        ("NaiveDate", "https://www.iso.org/iso-8601-date-and-time-format.html", "YYYY-MM-DD"),
        ("NaiveTime", "https://www.iso.org/iso-8601-date-and-time-format.html", "HH:MM"),
    ] {
        let t = scalar(name);
        assert_eq!(t["kind"], "SCALAR", "{t}");
        assert_eq!(t["specifiedByURL"], url, "{t}");
        let description = t["description"].as_str().unwrap_or_default();
        assert!(description.contains(says), "{name}'s description names its format: {t}");
        assert!(!description.contains("chrono") && !description.contains("%H"), "{t}");
    }
    // The SDL that clients generate from says the same.
    let sdl = cybermed::graphql::schema::sdl();
    assert!(sdl.contains(r#"scalar UUID @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc9562")"#), "{sdl}");
    assert!(sdl.contains(r#"scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")"#));
}

async fn set_week(app: &TestApp, token: &str, start: &str, end: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($r: [AvailabilityRuleInput!]!) { setAvailability(rules: $r) { weekday startTime endTime } }",
        json!({ "r": [{ "weekday": "MON", "startTime": start, "endTime": end }] }),
    )
    .await
}

#[tokio::test]
async fn a_naive_time_is_accepted_as_hh_mm_or_hh_mm_ss_and_answered_as_hh_mm_ss() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;

    let body = set_week(&app, &doctor.access, "09:00", "12:30:00").await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["setAvailability"],
        json!([{ "weekday": "MON", "startTime": "09:00:00", "endTime": "12:30:00" }])
    );

    // Also written in the document, not only in variables.
    let literal = app
        .gql(
            Some(&doctor.access),
            r#"mutation { setAvailability(rules: [{ weekday: TUE, startTime: "08:15", endTime: "23:59:59" }]) { startTime endTime } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        literal["data"]["setAvailability"],
        json!([{ "startTime": "08:15:00", "endTime": "23:59:59" }]),
        "{literal}"
    );
}

#[tokio::test]
async fn a_naive_time_without_two_digit_fields_past_midnight_or_with_a_leap_second_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day("09:00", "10:00")).await;

    for bad in ["9:00", "24:00", "09:00:60", "09:60", "09:00:5", "09:00:00.5", "0900", " 09:00", "09h00", ""] {
        let body = set_week(&app, &doctor.access, bad, "12:00").await;
        assert!(body["data"].is_null(), "{bad:?} refused: {body}");
        // A validation error of the request (async-graphql's standard one), naming the input
        // field and the scalar: nothing runs.
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("rules.0.startTime") && message.contains("NaiveTime"), "{bad:?}: {body}");
        assert_ne!(code(&body), Some("INTERNAL_SERVER_ERROR"), "{body}");
    }
    // Nothing changed: the week is still 09:00–10:00.
    let me = app
        .gql(Some(&doctor.access), "{ me { doctorProfile { availability { startTime endTime } } } }", json!({}))
        .await;
    let rules = me["data"]["me"]["doctorProfile"]["availability"].as_array().unwrap();
    assert_eq!(rules.len(), 7, "{me}");
    assert!(rules.iter().all(|r| r["startTime"] == "09:00:00" && r["endTime"] == "10:00:00"), "{me}");
}

#[tokio::test]
async fn a_naive_date_must_be_yyyy_mm_dd() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("pat"), "PATIENT").await;
    let upsert = |dob: &'static str| {
        app.gql(
            Some(&patient.access),
            "mutation($i: PatientProfileInput!) { upsertPatientProfile(input: $i) { dateOfBirth } }",
            json!({ "i": { "dateOfBirth": dob, "emergencyContactName": "Kim", "emergencyContactPhone": "+1 555 0100" } }),
        )
    };
    for bad in ["1990-4-1", "1990-02-30", "90-04-01", "1990/04/01", "1990-04-01T00:00:00Z"] {
        let body = upsert(bad).await;
        assert!(body["data"].is_null(), "{bad:?} refused: {body}");
    }
    let ok = upsert("1990-04-01").await;
    assert_eq!(ok["data"]["upsertPatientProfile"]["dateOfBirth"], "1990-04-01", "{ok}");
}
