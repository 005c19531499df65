//! Bookings committed together: on SQLite the one writer runs the bookings waiting for it in one
//! transaction, a savepoint each; every request still gets its own answer, and only the good
//! bookings are kept, with their event, audit entry, emails and live notice. On PostgreSQL the
//! same requests run concurrently, each in its own transaction, with the same answers.
use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    time::Duration,
};

use cybermed::{
    db::entities::{appointment, appointment_event, audit_entry, outbox_email},
    events::Heard,
};
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::{
    appointments::{CREATE, Clinic, at},
    helpers::{Session, TestApp, code, email, field, message},
};

fn is_sqlite(app: &TestApp) -> bool {
    !app.database_url.starts_with("postgres")
}

/// Sends `requests` at once. On SQLite a first write job holds the one writer until every
/// request waits for it, and then lets go: they are all committed in one group (asserted). On
/// PostgreSQL they run concurrently, each in its own transaction.
pub async fn all_at_once<F: Future<Output = Value>>(app: &TestApp, requests: Vec<F>) -> Vec<Value> {
    if !is_sqlite(app) {
        return join_all(requests).await;
    }
    let n = requests.len();
    let writes = &app.state.writes;
    let before = writes.stats();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let mut signals = Some((started_tx, go_rx));
    let blocker = writes.run(move |_txn| {
        let signals = signals.take();
        Box::pin(async move {
            if let Some((started, go)) = signals {
                let _ = started.send(());
                let _ = go.await;
            }
            Ok::<(), DbErr>(())
        })
    });
    let rest = async move {
        started_rx.await.unwrap();
        let release = async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while writes.stats().in_flight < before.in_flight + 1 + n {
                assert!(tokio::time::Instant::now() < deadline, "the requests never reached the write queue");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            go_tx.send(()).unwrap();
        };
        tokio::join!(join_all(requests), release).0
    };
    let (blocked, answers) = tokio::join!(blocker, rest);
    blocked.unwrap();
    let after = writes.stats();
    assert_eq!(
        (after.groups - before.groups, after.grouped_jobs - before.grouped_jobs),
        (1, n as u64),
        "all {n} bookings committed in one group"
    );
    answers
}

/// As `Clinic::book`, with a client's `x-request-id` (which the server does not take: the id it
/// answers with, its own, is kept in `ids` under `n`).
async fn book_as_request(
    c: &Clinic,
    who: &Session,
    input: &Value,
    n: usize,
    ids: &std::sync::Mutex<BTreeMap<usize, String>>,
) -> Value {
    let request_id = format!("req-book-{n}");
    let mut i = input.clone();
    i["reasonForVisit"] = json!("Check-up");
    let resp = c
        .app
        .client
        .post(c.app.url("/graphql"))
        .bearer_auth(&who.access)
        .header("x-request-id", &request_id)
        .json(&json!({ "query": CREATE, "variables": { "i": i } }))
        .send()
        .await
        .unwrap();
    let server_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(server_id, request_id, "the server's own id");
    ids.lock().unwrap().insert(n, server_id);
    resp.json().await.unwrap()
}

fn booked_id(answer: &Value) -> Option<Uuid> {
    answer["data"]["createAppointment"]["id"].as_str().map(|id| id.parse().unwrap())
}

/// The live notices heard until `n` arrived (waiting up to 5 s) and 200 ms more, by appointment.
async fn notices(events: &mut tokio::sync::broadcast::Receiver<Heard>, n: usize) -> Vec<Uuid> {
    let mut heard = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let wait = if heard.len() < n { deadline - tokio::time::Instant::now() } else { Duration::from_millis(200) };
        match tokio::time::timeout(wait, events.recv()).await {
            Ok(Ok(Heard::Notice(notice))) => heard.push(notice.appointment_id),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => return heard,
        }
    }
}

/// Exactly `ids` are stored: each appointment with its one `CREATED` event, its one audit entry,
/// and its two notifications and two reminders in the outbox; nothing for anything else.
async fn only_these_are_kept(app: &TestApp, ids: &BTreeSet<Uuid>) {
    let db = &app.state.db;
    let stored: BTreeSet<Uuid> = appointment::Entity::find().all(db).await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(&stored, ids, "appointments");
    let events = appointment_event::Entity::find().all(db).await.unwrap();
    assert_eq!(events.len(), ids.len(), "one event each: {events:?}");
    assert_eq!(&events.iter().map(|e| e.appointment_id).collect::<BTreeSet<_>>(), ids, "events");
    let audited =
        audit_entry::Entity::find().filter(audit_entry::Column::Action.eq("appointment.create")).all(db).await.unwrap();
    assert_eq!(audited.len(), ids.len(), "one audit entry each");
    assert_eq!(&audited.iter().filter_map(|a| a.subject_id).collect::<BTreeSet<_>>(), ids, "audit");
    let emails = outbox_email::Entity::find().all(db).await.unwrap();
    assert_eq!(emails.len(), 4 * ids.len(), "two notifications and two reminders each");
    for id in ids {
        assert_eq!(emails.iter().filter(|e| e.appointment_id == Some(*id)).count(), 4, "emails of {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_of_one_slot_committed_together_let_one_through_and_answer_each_its_conflict() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..12).map(|_| c.app.patient())).await;
    let mut events = c.app.state.events.subscribe();

    let answers = all_at_once(
        &c.app,
        patients.iter().map(|p| c.book(p, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") }))).collect(),
    )
    .await;

    let winners: Vec<usize> = (0..answers.len()).filter(|&i| booked_id(&answers[i]).is_some()).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    // The winner's answer is their own booking.
    let w = winners[0];
    assert_eq!(answers[w]["data"]["createAppointment"]["patient"]["id"], patients[w].id.as_str());
    assert_eq!(answers[w]["data"]["createAppointment"]["status"], "PENDING");
    for (i, a) in answers.iter().enumerate().filter(|(i, _)| *i != w) {
        assert_eq!(
            (code(a), field(a), message(a)),
            (Some("CONFLICT"), Some("startsAt"), "The doctor already has an appointment at that time"),
            "request {i}: {a}"
        );
        assert!(a["data"].is_null() || a["data"]["createAppointment"].is_null(), "{a}");
    }
    let winner = booked_id(&answers[w]).unwrap();
    only_these_are_kept(&c.app, &BTreeSet::from([winner])).await;
    assert_eq!(notices(&mut events, 1).await, vec![winner], "one live notice, the winner's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_mixing_good_and_bad_bookings_keeps_the_good_ones_only_and_answers_each() {
    let c = Clinic::open("UTC").await;
    let patients: Vec<Session> = join_all((0..8).map(|_| c.app.patient())).await;
    let no_profile = c.app.register(&email("bare"), "PATIENT").await;
    // Already booked: 12:00 (by the last patient), and the doctor is away 14:00–15:00.
    let earlier = c.booked(&patients[7], &at("12:00")).await;
    let earlier: Uuid = earlier["id"].as_str().unwrap().parse().unwrap();
    let off = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": at("14:00"), "endsAt": at("15:00") } }),
        )
        .await;
    assert!(off["errors"].is_null(), "{off}");
    let mut events = c.app.state.events.subscribe();

    let doctor = c.doctor.id.as_str();
    let yesterday = (chrono::Utc::now() - chrono::TimeDelta::days(1)).format("%Y-%m-%dT08:00:00Z").to_string();
    // (who, input, expected: None for a booking, Some((code, field, message)) for a refusal)
    type Expected = Option<(&'static str, &'static str, &'static str)>;
    let not_a_slot = "startsAt is not one of the doctor's available slots";
    let cases: Vec<(&Session, Value, Expected)> = vec![
        (&patients[0], json!({ "doctorId": doctor, "startsAt": at("08:00") }), None),
        (
            &patients[1],
            json!({ "doctorId": doctor, "startsAt": at("12:00") }),
            Some(("CONFLICT", "startsAt", "The doctor already has an appointment at that time")),
        ),
        (&patients[2], json!({ "doctorId": doctor, "startsAt": at("08:30") }), None),
        (
            &patients[3],
            json!({ "doctorId": doctor, "startsAt": at("08:10") }),
            Some(("BAD_USER_INPUT", "startsAt", not_a_slot)),
        ),
        (
            &patients[4],
            json!({ "doctorId": doctor, "startsAt": at("14:00") }),
            Some(("BAD_USER_INPUT", "startsAt", "The doctor is away at that time")),
        ),
        (&patients[5], json!({ "doctorId": doctor, "startsAt": at("09:00") }), None),
        (
            &patients[6],
            json!({ "doctorId": doctor, "startsAt": yesterday }),
            Some(("BAD_USER_INPUT", "startsAt", "startsAt must be in the future")),
        ),
        (
            &no_profile,
            json!({ "doctorId": doctor, "startsAt": at("10:00") }),
            Some(("BAD_USER_INPUT", "patientId", "The patient needs an active account with a patient profile to book")),
        ),
        (
            &patients[6],
            json!({ "doctorId": Uuid::new_v4(), "startsAt": at("10:00") }),
            Some(("BAD_USER_INPUT", "doctorId", "The doctor is not available for booking")),
        ),
        (&patients[6], json!({ "doctorId": doctor, "startsAt": at("09:30") }), None),
    ];

    // Each request with its own id: a job runs in its request's context (the audit entry says which).
    let ids = std::sync::Mutex::new(BTreeMap::new());
    let answers = all_at_once(
        &c.app,
        cases.iter().enumerate().map(|(i, (who, input, _))| book_as_request(&c, who, input, i, &ids)).collect(),
    )
    .await;
    let ids = ids.into_inner().unwrap();

    let mut kept = BTreeSet::from([earlier]);
    let mut booked = Vec::new();
    for (i, ((who, input, expected), answer)) in cases.iter().zip(&answers).enumerate() {
        match expected {
            None => {
                let a = &answer["data"]["createAppointment"];
                assert!(answer["errors"].is_null(), "request {i}: {answer}");
                assert_eq!((&a["patient"]["id"], &a["startsAt"]), (&json!(who.id), &input["startsAt"]), "request {i}");
                let id = booked_id(answer).unwrap();
                kept.insert(id);
                booked.push(id);
            }
            Some((want_code, want_field, want_message)) => {
                assert_eq!(
                    (code(answer), field(answer), message(answer)),
                    (Some(*want_code), Some(*want_field), *want_message),
                    "request {i}: {answer}"
                );
            }
        }
    }
    assert_eq!(booked.len(), 4);
    only_these_are_kept(&c.app, &kept).await;
    for (i, answer) in answers.iter().enumerate() {
        let Some(id) = booked_id(answer) else { continue };
        let entry = audit_entry::Entity::find()
            .filter(audit_entry::Column::SubjectId.eq(id))
            .one(&c.app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.request_id, ids[&i], "the audit entry of request {i}");
    }
    let mut heard = notices(&mut events, booked.len()).await;
    heard.sort();
    booked.sort();
    assert_eq!(heard, booked, "a live notice for each booking made, none for the refused");
}
