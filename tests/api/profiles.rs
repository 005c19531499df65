//! Doctor and patient profiles, verification, and the doctor directory.
use serde_json::json;

use crate::helpers::{TestApp, code, email, field};

const UPSERT_DOCTOR: &str = "mutation($i: DoctorProfileInput!) { upsertDoctorProfile(input: $i) { verified specialty experienceYears timeZone slotMinutes } }";
const UPSERT_PATIENT: &str = "mutation($i: PatientProfileInput!) { upsertPatientProfile(input: $i) { dateOfBirth emergencyContactName emergencyContactPhone } }";

#[tokio::test]
async fn a_doctor_profile_is_created_with_defaults_then_updated_in_place() {
    let app = TestApp::spawn().await;
    let doc = app.register(&email("d"), "DOCTOR").await;
    let body = app
        .gql(Some(&doc.access), UPSERT_DOCTOR, json!({ "i": { "specialty": "Cardiology", "experienceYears": 12 } }))
        .await;
    assert_eq!(
        body["data"]["upsertDoctorProfile"],
        json!({ "verified": false, "specialty": "Cardiology", "experienceYears": 12, "timeZone": "UTC", "slotMinutes": 30 })
    );
    app.gql(
        Some(&doc.access),
        UPSERT_DOCTOR,
        json!({ "i": { "specialty": "Cardiology", "experienceYears": 12, "timeZone": "Europe/Berlin", "slotMinutes": 20 } }),
    )
    .await;
    let body = app
        .gql(Some(&doc.access), UPSERT_DOCTOR, json!({ "i": { "specialty": " Neurology ", "experienceYears": 13 } }))
        .await;
    let p = &body["data"]["upsertDoctorProfile"];
    assert_eq!(
        (p["specialty"].as_str(), p["timeZone"].as_str(), p["slotMinutes"].as_i64()),
        (Some("Neurology"), Some("Europe/Berlin"), Some(20))
    );
    assert_eq!(app.count_rows("doctor_profiles").await, 1, "never a duplicate row");
    let me = app
        .gql(Some(&doc.access), "{ me { doctorProfile { specialty } patientProfile { dateOfBirth } } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["doctorProfile"]["specialty"], "Neurology");
    assert!(me["data"]["me"]["patientProfile"].is_null());
}

#[tokio::test]
async fn doctor_profile_input_is_checked_field_by_field() {
    let app = TestApp::spawn().await;
    let doc = app.register(&email("d"), "DOCTOR").await;
    let cases = [
        (json!({ "specialty": "  ", "experienceYears": 1 }), "specialty"),
        (json!({ "specialty": "x".repeat(101), "experienceYears": 1 }), "specialty"),
        (json!({ "specialty": "GP", "experienceYears": -1 }), "experienceYears"),
        (json!({ "specialty": "GP", "experienceYears": 81 }), "experienceYears"),
        (json!({ "specialty": "GP", "experienceYears": 1, "timeZone": "Mars/Olympus_Mons" }), "timeZone"),
        (json!({ "specialty": "GP", "experienceYears": 1, "slotMinutes": 4 }), "slotMinutes"),
        (json!({ "specialty": "GP", "experienceYears": 1, "slotMinutes": 241 }), "slotMinutes"),
    ];
    for (input, f) in cases {
        let body = app.gql(Some(&doc.access), UPSERT_DOCTOR, json!({ "i": input })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some(f)), "{input}");
    }
    assert_eq!(app.count_rows("doctor_profiles").await, 0);
    for (years, slot) in [(0, 5), (80, 240)] {
        let body = app
            .gql(
                Some(&doc.access),
                UPSERT_DOCTOR,
                json!({ "i": { "specialty": "GP", "experienceYears": years, "slotMinutes": slot } }),
            )
            .await;
        assert!(body["errors"].is_null(), "bounds are inclusive: {body}");
    }
}

#[tokio::test]
async fn each_profile_kind_is_for_its_own_role_only() {
    let app = TestApp::spawn().await;
    let doc = app.register(&email("d"), "DOCTOR").await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let patient_input =
        json!({ "i": { "dateOfBirth": "1990-01-01", "emergencyContactName": "A", "emergencyContactPhone": "1" } });
    let doctor_input = json!({ "i": { "specialty": "GP", "experienceYears": 1 } });
    assert_eq!(code(&app.gql(Some(&pat.access), UPSERT_DOCTOR, doctor_input.clone()).await), Some("FORBIDDEN"));
    assert_eq!(code(&app.gql(Some(&doc.access), UPSERT_PATIENT, patient_input.clone()).await), Some("FORBIDDEN"));
    assert_eq!(code(&app.gql(None, UPSERT_PATIENT, patient_input).await), Some("UNAUTHENTICATED"));
    assert_eq!(code(&app.gql(None, UPSERT_DOCTOR, doctor_input).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_patient_profile_is_checked_and_updated_in_place() {
    let app = TestApp::spawn().await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let too_old = today - chrono::Days::new(131 * 366);
    let cases = [
        (
            json!({ "dateOfBirth": tomorrow.to_string(), "emergencyContactName": "A", "emergencyContactPhone": "1" }),
            "dateOfBirth",
        ),
        (
            json!({ "dateOfBirth": too_old.to_string(), "emergencyContactName": "A", "emergencyContactPhone": "1" }),
            "dateOfBirth",
        ),
        (
            json!({ "dateOfBirth": "1990-01-01", "emergencyContactName": " ", "emergencyContactPhone": "1" }),
            "emergencyContactName",
        ),
        (
            json!({ "dateOfBirth": "1990-01-01", "emergencyContactName": "A", "emergencyContactPhone": "" }),
            "emergencyContactPhone",
        ),
    ];
    for (input, f) in cases {
        let body = app.gql(Some(&pat.access), UPSERT_PATIENT, json!({ "i": input })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some(f)), "{input}: {body}");
    }
    let body = app
        .gql(Some(&pat.access), UPSERT_PATIENT, json!({ "i": { "dateOfBirth": today.to_string(), "emergencyContactName": "Kim", "emergencyContactPhone": "555" } }))
        .await;
    assert_eq!(body["data"]["upsertPatientProfile"]["dateOfBirth"], today.to_string(), "born today is fine");
    app.gql(
        Some(&pat.access),
        UPSERT_PATIENT,
        json!({ "i": { "dateOfBirth": "1980-02-29", "emergencyContactName": "Lee", "emergencyContactPhone": "556" } }),
    )
    .await;
    assert_eq!(app.count_rows("patient_profiles").await, 1);
    let me = app
        .gql(
            Some(&pat.access),
            "{ me { patientProfile { dateOfBirth emergencyContactName } doctorProfile { specialty } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"]["patientProfile"],
        json!({ "dateOfBirth": "1980-02-29", "emergencyContactName": "Lee" })
    );
}

#[tokio::test]
async fn a_patient_profile_is_private() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let pat = app.patient().await;
    let q = "query($id: UUID!) { user(id: $id) { patientProfile { dateOfBirth } } }";
    let by_admin = app.gql(Some(&admin.access), q, json!({ "id": pat.id })).await;
    assert_eq!(by_admin["data"]["user"]["patientProfile"]["dateOfBirth"], "1990-04-01");
    let doc = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    let by_doctor = app.gql(Some(&doc.access), q, json!({ "id": pat.id })).await;
    assert_eq!(code(&by_doctor), Some("NOT_FOUND"), "no shared appointment");
}

#[tokio::test]
async fn verify_doctor_is_for_admins_and_needs_a_doctor_with_a_profile() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "UTC", 30, None).await;
    let bare = app.register(&email("bare"), "DOCTOR").await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let verify =
        "mutation($id: UUID!, $v: Boolean!) { verifyDoctor(id: $id, verified: $v) { id doctorProfile { verified } } }";

    assert_eq!(code(&app.gql(Some(&doc.access), verify, json!({ "id": doc.id, "v": true })).await), Some("FORBIDDEN"));
    let not_doctor = app.gql(Some(&admin.access), verify, json!({ "id": pat.id, "v": true })).await;
    assert_eq!((code(&not_doctor), field(&not_doctor)), (Some("BAD_USER_INPUT"), Some("id")));
    let no_profile = app.gql(Some(&admin.access), verify, json!({ "id": bare.id, "v": true })).await;
    assert_eq!((code(&no_profile), field(&no_profile)), (Some("BAD_USER_INPUT"), Some("id")));
    let unknown = app.gql(Some(&admin.access), verify, json!({ "id": uuid::Uuid::new_v4(), "v": true })).await;
    assert_eq!(code(&unknown), Some("NOT_FOUND"));

    let ok = app.gql(Some(&admin.access), verify, json!({ "id": doc.id, "v": true })).await;
    assert_eq!(ok["data"]["verifyDoctor"]["doctorProfile"]["verified"], true);
    let off = app.gql(Some(&admin.access), verify, json!({ "id": doc.id, "v": false })).await;
    assert_eq!(off["data"]["verifyDoctor"]["doctorProfile"]["verified"], false);
}

const DOCTORS: &str = "query($first: Int, $after: String, $specialty: String, $search: String) {
  doctors(first: $first, after: $after, specialty: $specialty, search: $search) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id firstName email doctorProfile { specialty verified } } }
  } }";

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["data"]["doctors"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_directory_lists_verified_active_doctors_except_to_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let cardio = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    let derma = app.doctor("Dermatology", "UTC", 30, Some(&admin)).await;
    let unverified = app.doctor("Cardiology", "UTC", 30, None).await;
    let inactive = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    app.gql(
        Some(&admin.access),
        "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }",
        json!({ "id": inactive.id }),
    )
    .await;
    let pat = app.register(&email("p"), "PATIENT").await;

    let listed = app.gql(Some(&pat.access), DOCTORS, json!({})).await;
    assert_eq!(ids(&listed), [cardio.id.clone(), derma.id.clone()], "sign-up order, verified and active only");
    assert_eq!(listed["data"]["doctors"]["totalCount"], 2);
    assert!(listed["data"]["doctors"]["edges"][0]["node"]["email"].is_null(), "private to the patient");

    let by_admin = app.gql(Some(&admin.access), DOCTORS, json!({})).await;
    assert_eq!(ids(&by_admin), [cardio.id.clone(), derma.id.clone(), unverified.id.clone(), inactive.id.clone()]);

    let cardiology = app.gql(Some(&pat.access), DOCTORS, json!({ "specialty": "CARDIO" })).await;
    assert_eq!(ids(&cardiology), [cardio.id.as_str()], "specialty matches case-insensitively");

    let page = app.gql(Some(&pat.access), DOCTORS, json!({ "first": 1 })).await;
    assert_eq!(page["data"]["doctors"]["pageInfo"]["hasNextPage"], true);
    let after = page["data"]["doctors"]["pageInfo"]["endCursor"].as_str().unwrap();
    let next = app.gql(Some(&pat.access), DOCTORS, json!({ "first": 1, "after": after })).await;
    assert_eq!(ids(&next), [derma.id.as_str()]);

    assert_eq!(code(&app.gql(None, DOCTORS, json!({})).await), Some("UNAUTHENTICATED"));
    let big = app
        .gql(
            Some(&pat.access),
            "query($first: Int) { doctors(first: $first) { edges { node { id } } } }",
            json!({ "first": 101 }),
        )
        .await;
    assert_eq!((code(&big), field(&big)), (Some("BAD_USER_INPUT"), Some("first")));
}

#[tokio::test]
async fn the_directory_searches_names_and_specialty_ignoring_case() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("Paediatric Cardiology", "UTC", 30, Some(&admin)).await;
    app.gql(
        Some(&doc.access),
        "mutation { updateMe(input: { firstName: \"Gregory\", lastName: \"House\" }) { id } }",
        json!({}),
    )
    .await;
    app.doctor("GP", "UTC", 30, Some(&admin)).await;
    let pat = app.register(&email("p"), "PATIENT").await;
    for term in ["greg", "HOUSE", "cardio", "PAEDIATRIC CARD"] {
        let body = app.gql(Some(&pat.access), DOCTORS, json!({ "search": term })).await;
        assert_eq!(ids(&body), [doc.id.as_str()], "search {term}");
    }
}

#[tokio::test]
async fn a_doctor_search_never_matches_the_private_email_but_the_admins_user_search_does() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let seen =
        app.gql(Some(&pat.access), "query($id: UUID!) { user(id: $id) { email } }", json!({ "id": doc.id })).await;
    assert!(seen["data"]["user"]["email"].is_null(), "the patient may not read the email: {seen}");

    for viewer in [&pat, &admin] {
        let by_email = app.gql(Some(&viewer.access), DOCTORS, json!({ "search": doc.email })).await;
        assert!(ids(&by_email).is_empty(), "doctors(search: email) finds nothing: {by_email}");
    }
    let users = app
        .gql(
            Some(&admin.access),
            "query($s: String) { users(search: $s) { edges { node { id } } } }",
            json!({ "s": doc.email.to_uppercase() }),
        )
        .await;
    assert_eq!(users["data"]["users"]["edges"][0]["node"]["id"], doc.id.as_str(), "{users}");
}

const DOCTORS_WITH_SCHEDULE: &str = "query($first: Int) { doctors(first: $first) { edges { node { id firstName
  doctorProfile { specialty timeZone availability { weekday startTime endTime } } } } } }";

#[tokio::test]
async fn a_page_of_doctors_with_profiles_and_availability_costs_the_same_queries_at_any_size() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let mut counts = Vec::new();
    let mut total = 0;
    for size in [2usize, 12, 40] {
        while total < size {
            let doc = app.doctor("GP", "Europe/Berlin", 30, Some(&admin)).await;
            app.set_rules(&doc, crate::helpers::every_day("09:00:00", "12:00:00")).await;
            total += 1;
        }
        let first = i32::try_from(size).unwrap();
        let (n, body) = app.statements_for(Some(&pat.access), DOCTORS_WITH_SCHEDULE, json!({ "first": first })).await;
        let edges = body["data"]["doctors"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), size, "{body}");
        assert_eq!(edges[size - 1]["node"]["doctorProfile"]["availability"].as_array().unwrap().len(), 7);
        counts.push(n);
    }
    assert!(counts.iter().all(|n| *n == counts[0]), "statements per page size 2/12/40: {counts:?}");
    assert!(counts[0] <= 3, "page + profiles + availability: {counts:?}");
}
