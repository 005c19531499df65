//! The upcoming limits: a patient holds at most `MAX_UPCOMING_PER_PATIENT` active appointments
//! that have not started, and at most `MAX_UPCOMING_PER_DOCTOR_PAIR` with one doctor, whoever
//! books them; under simultaneous bookings too.
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    group_commit::all_at_once,
    helpers::{Session, code, every_day},
};

/// Three upcoming appointments in all, two with one doctor.
const LOW: [(&str, &str); 2] = [("MAX_UPCOMING_PER_PATIENT", "3"), ("MAX_UPCOMING_PER_DOCTOR_PAIR", "2")];

/// The first error's `extensions.reason`.
fn reason(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["reason"].as_str()
}

#[track_caller]
fn assert_booked(body: &Value) -> String {
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_too_many(body: &Value) {
    assert_eq!((code(body), reason(body)), (Some("FORBIDDEN"), Some("TOO_MANY_UPCOMING")), "{body}");
    assert!(body["data"].is_null(), "{body}");
}

/// A second verified doctor with the same hours.
async fn colleague(c: &Clinic) -> Session {
    let d = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    c.app.set_rules(&d, every_day("08:00:00", "18:00:00")).await;
    d
}

#[tokio::test]
async fn a_patient_holds_at_most_the_limit_with_one_doctor_and_in_all_and_a_cancellation_frees_a_place() {
    let c = Clinic::open_with("UTC", &LOW).await;
    let other = colleague(&c).await;
    let with = |d: &Session, hhmm: &str| json!({ "doctorId": d.id, "startsAt": at(hhmm) });

    let first = assert_booked(&c.book(&c.patient, with(&c.doctor, "09:00")).await);
    assert_booked(&c.book(&c.patient, with(&c.doctor, "10:00")).await);
    // Two with this doctor: a third is refused, as the error boundary reports it.
    let refused = c.book(&c.patient, with(&c.doctor, "11:00")).await;
    assert_too_many(&refused);
    assert_eq!(refused["errors"][0]["path"], json!(["createAppointment"]), "{refused}");
    // Another doctor still has room, until three in all.
    assert_booked(&c.book(&c.patient, with(&other, "12:00")).await);
    assert_too_many(&c.book(&c.patient, with(&other, "13:00")).await);
    assert_eq!(c.app.count_rows("appointments").await, 3, "nothing written by the refusals");

    // A cancelled appointment does not count.
    let body = c.act(&c.patient, "cancelAppointment", &first).await;
    assert_eq!(body["data"]["cancelAppointment"]["status"], "CANCELLED", "{body}");
    assert_booked(&c.book(&c.patient, with(&c.doctor, "11:00")).await);
    assert_too_many(&c.book(&c.patient, with(&other, "14:00")).await);

    // Other patients are not affected.
    let someone = c.app.patient().await;
    assert_booked(&c.book(&someone, with(&c.doctor, "15:00")).await);
}

#[tokio::test]
async fn bookings_by_the_doctor_or_an_admin_for_the_patient_count_and_are_refused_alike() {
    let c = Clinic::open_with("UTC", &LOW).await;
    let for_patient = |hhmm: &str| json!({ "patientId": c.patient.id, "startsAt": at(hhmm) });
    assert_booked(&c.book(&c.doctor, for_patient("09:00")).await);
    let by_admin = json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("10:00") });
    assert_booked(&c.book(&c.admin, by_admin).await);

    // The pair is full, whoever asks.
    assert_too_many(&c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("11:00") })).await);
    assert_too_many(&c.book(&c.doctor, for_patient("12:00")).await);
    let by_admin = json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("13:00") });
    assert_too_many(&c.book(&c.admin, by_admin).await);
}

#[tokio::test]
async fn appointments_that_have_started_do_not_count_and_a_move_adds_none() {
    let mut c = Clinic::open_with("UTC", &LOW).await;
    // The doctor schedules two in the next two hours (a doctor may book off the grid).
    let soon = |minutes: i64| (Utc::now() + TimeDelta::minutes(minutes)).format("%Y-%m-%dT%H:%M:00Z").to_string();
    let mut started = Vec::new();
    for minutes in [30, 70] {
        let body = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": soon(minutes) })).await;
        started.push(assert_booked(&body));
    }
    assert_too_many(&c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("09:00") })).await);

    // Once they have started, they no longer count.
    c.advance(Duration::from_secs(3 * 3600)).await;
    let kept = assert_booked(&c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("09:00") })).await);
    assert_booked(&c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") })).await);
    assert_too_many(&c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("11:00") })).await);

    // Moving one of the two keeps the patient at the limit: allowed.
    let q = "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { startsAt } }";
    let body = c.app.gql(Some(&c.patient.access), q, json!({ "id": kept, "s": at("16:00") })).await;
    assert_eq!(body["data"]["rescheduleAppointment"]["startsAt"], at("16:00").as_str(), "{body}");
    // But one that had started, moved back into the future, would be one more.
    let body = c.app.gql(Some(&c.doctor.access), q, json!({ "id": started[0], "s": at("17:00") })).await;
    assert_too_many(&body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_bookings_of_one_patient_past_the_limit_leave_exactly_the_limit_booked() {
    let c = Clinic::open_with("UTC", &LOW).await;
    let doctors = [c.doctor.id.clone(), colleague(&c).await.id, colleague(&c).await.id];
    // On SQLite all in one group of the write queue (asserted there), each counting the ones
    // before it in that transaction; on PostgreSQL concurrently, under the patient's lock.
    let book_all = |bookings: Vec<(&String, String)>| {
        let requests = bookings
            .into_iter()
            .map(|(doctor, starts)| c.book(&c.patient, json!({ "doctorId": doctor, "startsAt": starts })))
            .collect();
        all_at_once(&c.app, requests)
    };
    let outcome = |results: &[Value]| {
        let booked = results.iter().filter(|r| r["data"]["createAppointment"].is_object()).count();
        let refused = results.iter().filter(|r| reason(r) == Some("TOO_MANY_UPCOMING")).count();
        (booked, refused)
    };

    // Ten distinct free slots of one doctor at once: two (the pair's limit) get through.
    let slot = |i: usize| at(&format!("{:02}:{:02}", 8 + i / 2, (i % 2) * 30));
    let results = book_all((0..10).map(|i| (&doctors[0], slot(i))).collect()).await;
    assert_eq!(outcome(&results), (2, 8), "{results:?}");

    // Then eight with two other doctors at once, at distinct times: one more (three in all).
    let results = book_all((10..18).map(|i| (&doctors[1 + i % 2], slot(i))).collect()).await;
    assert_eq!(outcome(&results), (1, 7), "{results:?}");
    assert_eq!(c.app.count_rows("appointments").await, 3);
}
