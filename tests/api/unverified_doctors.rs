//! A doctor who is no longer verified keeps their duties (cancel, complete, no-show) but may not
//! book, confirm or move; patients and admins cannot book or move with them.
use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{code, field},
};

const RESCHEDULE: &str =
    "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id status startsAt } }";

async fn unverify(c: &Clinic) {
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { verifyDoctor(id: $id, verified: false) { id } }",
            json!({ "id": c.doctor.id }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

fn id(appt: &Value) -> &str {
    appt["id"].as_str().unwrap()
}

#[tokio::test]
async fn an_unverified_doctor_may_not_book_confirm_or_reschedule_but_still_cancels_and_completes() {
    let mut c = Clinic::open("UTC").await;
    let pending = c.booked(&c.patient, &at("10:00")).await;
    let to_cancel = c.booked(&c.patient, &at("11:00")).await;
    let made = |s: &str| c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": at(s) }));
    let to_complete = made("12:00").await["data"]["createAppointment"].clone();
    let to_miss = made("13:00").await["data"]["createAppointment"].clone();
    unverify(&c).await;

    let moved = c.app.gql(Some(&c.doctor.access), RESCHEDULE, json!({ "id": id(&pending), "s": at("15:00") })).await;
    assert_eq!(code(&moved), Some("FORBIDDEN"), "reschedule: {moved}");
    let confirmed = c.act(&c.doctor, "confirmAppointment", id(&pending)).await;
    assert_eq!(code(&confirmed), Some("FORBIDDEN"), "confirm: {confirmed}");
    let booked = made("16:00").await;
    assert_eq!(code(&booked), Some("FORBIDDEN"), "create: {booked}");
    let still = c.act(&c.patient, "cancelAppointment", id(&to_cancel)).await;
    assert_eq!(still["data"]["cancelAppointment"]["status"], "CANCELLED");
    let list = c
        .app
        .gql(Some(&c.patient.access), "{ appointments { edges { node { id status startsAt } } } }", json!({}))
        .await;
    let row = list["data"]["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == pending["id"])
        .cloned()
        .unwrap();
    assert_eq!((row["status"].as_str(), row["startsAt"].as_str()), (Some("PENDING"), Some(at("10:00").as_str())));
    assert_eq!(c.app.count_rows("appointments").await, 4, "nothing was created");

    let cancelled = c.act(&c.doctor, "cancelAppointment", id(&pending)).await;
    assert_eq!(cancelled["data"]["cancelAppointment"]["status"], "CANCELLED", "{cancelled}");
    c.advance(Duration::from_secs(15 * 86_400)).await;
    let done = c.act(&c.doctor, "completeAppointment", id(&to_complete)).await;
    assert_eq!(done["data"]["completeAppointment"]["status"], "COMPLETED", "{done}");
    let missed = c.act(&c.doctor, "markNoShow", id(&to_miss)).await;
    assert_eq!(missed["data"]["markNoShow"]["status"], "NO_SHOW", "{missed}");
}

#[tokio::test]
async fn a_patient_or_admin_cannot_book_or_move_with_an_unverified_doctor() {
    let c = Clinic::open("UTC").await;
    let mine = c.booked(&c.patient, &at("10:00")).await;
    unverify(&c).await;

    for who in [&c.patient, &c.admin] {
        let moved = c.app.gql(Some(&who.access), RESCHEDULE, json!({ "id": id(&mine), "s": at("15:00") })).await;
        assert_eq!((code(&moved), field(&moved)), (Some("BAD_USER_INPUT"), Some("doctorId")), "move: {moved}");
        let booked =
            c.book(who, json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("16:00") })).await;
        assert_eq!((code(&booked), field(&booked)), (Some("BAD_USER_INPUT"), Some("doctorId")), "book: {booked}");
    }
    assert_eq!(c.app.count_rows("appointments").await, 1);
}
