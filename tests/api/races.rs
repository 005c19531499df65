//! Concurrency: the database lets exactly one of many simultaneous clashing bookings through.
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, code, every_day},
};

fn outcome(results: &[Value]) -> (usize, usize) {
    let ok = results.iter().filter(|r| r["data"]["createAppointment"].is_object()).count();
    let conflicts = results.iter().filter(|r| code(r) == Some("CONFLICT")).count();
    (ok, conflicts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_patients_booking_one_slot_at_once_get_exactly_one_appointment() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..20).map(|_| c.app.patient())).await;
    for (round, slot) in ["08:00", "09:30", "11:00", "13:30", "16:00"].iter().enumerate() {
        let results =
            join_all(patients.iter().map(|p| c.book(p, json!({ "doctorId": c.doctor.id, "startsAt": at(slot) }))))
                .await;
        let (ok, conflicts) = outcome(&results);
        assert_eq!((ok, conflicts), (1, 19), "round {round}: {results:?}");
        assert_eq!(c.app.count_rows("appointments").await, i64::try_from(round + 1).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_but_different_intervals_booked_at_once_let_one_through() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..6).map(|_| c.app.patient())).await;
    for (round, hour) in ["08", "10", "12", "14", "16"].iter().enumerate() {
        // The doctor schedules six patients at :00, :05 … :25 of one hour: 30-minute appointments
        // that all overlap each other.
        let results = join_all(patients.iter().enumerate().map(|(i, p)| {
            c.book(&c.doctor, json!({ "patientId": p.id, "startsAt": at(&format!("{hour}:{:02}", i * 5)) }))
        }))
        .await;
        assert_eq!(outcome(&results), (1, 5), "round {round}: {results:?}");
    }
    assert_eq!(c.app.count_rows("appointments").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_patient_booking_several_doctors_at_one_time_gets_one() {
    let c = Clinic::open("UTC").await;
    let doctors: Vec<Session> = join_all((0..5).map(|_| c.app.doctor("GP", "UTC", 30, Some(&c.admin)))).await;
    for d in &doctors {
        c.app.set_rules(d, every_day("08:00:00", "18:00:00")).await;
    }
    for (round, slot) in ["08:00", "10:00", "12:00", "14:00", "16:00"].iter().enumerate() {
        let results =
            join_all(doctors.iter().map(|d| c.book(&c.patient, json!({ "doctorId": d.id, "startsAt": at(slot) }))))
                .await;
        assert_eq!(outcome(&results), (1, 4), "round {round}: {results:?}");
    }
    assert_eq!(c.app.count_rows("appointments").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_reschedules_into_one_slot_let_one_through() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..8).map(|_| c.app.patient())).await;
    let mut ids = Vec::new();
    for (i, p) in patients.iter().enumerate() {
        let a = c.booked(p, &at(&format!("{:02}:00", 8 + i))).await;
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    let q = "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id } }";
    let results = join_all(
        patients.iter().zip(&ids).map(|(p, id)| c.app.gql(Some(&p.access), q, json!({ "id": id, "s": at("17:30") }))),
    )
    .await;
    let ok = results.iter().filter(|r| r["data"]["rescheduleAppointment"].is_object()).count();
    let conflicts = results.iter().filter(|r| code(r) == Some("CONFLICT")).count();
    assert_eq!((ok, conflicts), (1, 7), "{results:?}");
}

/// Bookings of different times fired at once beside clashing ones: on SQLite the writer commits
/// them in groups, each booking's writes sent with the next one's first statement. Every booking
/// that succeeded has its appointment, event, audit entry and emails; the refused ones nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_and_clashing_bookings_at_once_each_write_all_their_rows_or_none() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..12).map(|_| c.app.patient())).await;
    // The k-th half hour from 08:00.
    let slot = |k: usize| format!("{:02}:{:02}", 8 + k / 2, (k % 2) * 30);
    for round in 0..2 {
        // Six patients at six times of their own, six at a seventh.
        let results = join_all(patients.iter().enumerate().map(|(i, p)| {
            let k = 7 * round + if i % 2 == 0 { i / 2 } else { 6 };
            c.book(p, json!({ "doctorId": c.doctor.id, "startsAt": at(&slot(k)) }))
        }))
        .await;
        assert_eq!(outcome(&results), (7, 5), "round {round}: {results:?}");
    }
    assert_eq!(c.app.count_rows("appointments").await, 14);
    assert_eq!(c.app.count_rows("appointment_events").await, 14);
    assert_eq!(c.app.count_rows("audit_log WHERE action = 'appointment.create'").await, 14);
    let with_emails = "(SELECT DISTINCT appointment_id FROM outbox WHERE appointment_id IS NOT NULL) AS a";
    assert_eq!(c.app.count_rows(with_emails).await, 14);
}
