//! The people a page shows are kept by the process (issue 25), and forgotten on every change to
//! them: a page read after a change shows it, in the process that made it at once, and in another
//! process on the same PostgreSQL database once its notice arrives (within milliseconds; kept
//! entries are trusted for at most 10 s, so a notice that never came would fail this test).
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, TestApp, postgres_only},
};

const PAGE: &str = "{ appointments(first: 5) { edges { node { doctor { firstName lastName \
                    doctorProfile { specialty } } } } } }";

/// The doctor as the patient's page shows them.
async fn doctor_on_page(app: &TestApp, patient: &Session) -> Value {
    let body = app.gql(Some(&patient.access), PAGE, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["appointments"]["edges"][0]["node"]["doctor"].clone()
}

async fn rename(app: &TestApp, who: &Session, first: &str) {
    let body = app
        .gql(
            Some(&who.access),
            "mutation($i: UpdateMeInput!) { updateMe(input: $i) { firstName } }",
            json!({ "i": { "firstName": first } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

async fn set_specialty(app: &TestApp, doctor: &Session, specialty: &str) {
    let body = app
        .gql(
            Some(&doctor.access),
            "mutation($i: DoctorProfileInput!) { upsertDoctorProfile(input: $i) { specialty } }",
            json!({ "i": { "specialty": specialty, "experienceYears": 12 } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Asserts that the page is read in one statement (its people kept) within two seconds. On
/// PostgreSQL the process also hears the notices of its own changes, shortly after their commits,
/// and forgets those people once more: a page read in between keeps them again too early.
async fn kept_soon(app: &TestApp, patient: &Session) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (statements, _) = app.statements_for(Some(&patient.access), PAGE, json!({})).await;
        if statements == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "the page's people are not kept: {statements} statements");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_changed_name_or_specialty_is_on_the_next_page() {
    let c = Clinic::open("UTC").await;
    c.booked(&c.patient, &at("09:00")).await;
    // Read twice: the second answer comes from what the process kept.
    for _ in 0..2 {
        let doctor = doctor_on_page(&c.app, &c.patient).await;
        assert_eq!(doctor["firstName"], "Test", "{doctor}");
        assert_eq!(doctor["doctorProfile"]["specialty"], "General practice", "{doctor}");
    }
    kept_soon(&c.app, &c.patient).await;

    rename(&c.app, &c.doctor, "Renamed").await;
    assert_eq!(doctor_on_page(&c.app, &c.patient).await["firstName"], "Renamed");
    set_specialty(&c.app, &c.doctor, "Cardiology").await;
    assert_eq!(doctor_on_page(&c.app, &c.patient).await["doctorProfile"]["specialty"], "Cardiology");
    // And kept again once read.
    kept_soon(&c.app, &c.patient).await;
}

#[tokio::test]
async fn a_change_made_by_one_process_is_on_the_other_processs_next_page() {
    if !postgres_only("two processes share one PostgreSQL database") {
        return;
    }
    let c = Clinic::open("UTC").await;
    c.booked(&c.patient, &at("09:00")).await;
    let replica = TestApp::spawn_with(&[("DATABASE_URL", c.app.database_url.as_str())]).await;
    for _ in 0..2 {
        assert_eq!(doctor_on_page(&replica, &c.patient).await["firstName"], "Test");
    }
    let (kept, _) = replica.statements_for(Some(&c.patient.access), PAGE, json!({})).await;
    assert_eq!(kept, 1, "the replica kept the doctor");

    rename(&c.app, &c.doctor, "Renamed").await;
    eventually(&replica, &c.patient, |d| d["firstName"] == "Renamed").await;
    set_specialty(&c.app, &c.doctor, "Cardiology").await;
    eventually(&replica, &c.patient, |d| d["doctorProfile"]["specialty"] == "Cardiology").await;
}

/// Reads the replica's page until `changed` holds: the notice travels from the other process
/// through PostgreSQL after the commit. Well under the 10 s that a kept entry is trusted for.
async fn eventually(replica: &TestApp, patient: &Session, changed: impl Fn(&Value) -> bool) {
    let start = Instant::now();
    loop {
        let doctor = doctor_on_page(replica, patient).await;
        if changed(&doctor) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(2), "still {doctor} on the replica after 2 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
