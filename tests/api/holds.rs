//! Slot holds: `holdSlot` keeps a time for one patient for `HOLD_TTL_SECS`, checked as that
//! patient's booking would be; `createAppointment(input: { holdId })` books it; `releaseHold` ends
//! it early; `myHolds` lists them. On both databases, under simultaneous requests too. Every start
//! is taken from `availableSlots`, never a fixed date.
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::{
    appointments::Clinic,
    group_commit::all_at_once,
    helpers::{Session, code, field},
};

const HOLD: &str = "mutation($d: UUID!, $s: DateTime!, $t: UUID, $p: UUID) {
  holdSlot(doctorId: $d, startsAt: $s, visitTypeId: $t, patientId: $p) {
    id startsAt endsAt expiresAt doctor { id } patient { id } visitType { id } } }";

const BOOK: &str = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) {
  id status startsAt endsAt doctor { id } patient { id } visitType { id } } }";

const MY_HOLDS: &str = "{ myHolds { id startsAt doctor { id } patient { id email phone } } }";

const RELEASE: &str = "mutation($id: UUID!) { releaseHold(id: $id) }";

/// The first error's `extensions.reason`.
fn reason(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["reason"].as_str()
}

#[track_caller]
fn assert_error(body: &Value, expected: (&str, Option<&str>)) {
    assert_eq!((code(body), field(body)), (Some(expected.0), expected.1), "{body}");
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse(t: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap().to_utc()
}

/// Where the tests look for free starts: from a day ahead of the server's clock when the test began
/// (fixed, so that a start listed before the clock moves is still in the range after).
fn ahead(c: &Clinic) -> DateTime<Utc> {
    c.app.state.clock.now() + TimeDelta::days(1)
}

/// The free starts of `doctor` (as `who` sees them) in the three days from `from`.
async fn free(c: &Clinic, from: DateTime<Utc>, who: &Session, doctor: &str, visit_type: Option<&str>) -> Vec<String> {
    let q = "query($d: UUID!, $f: DateTime!, $t: DateTime!, $v: UUID) {
      availableSlots(doctorId: $d, from: $f, to: $t, visitTypeId: $v) { startsAt } }";
    let vars = json!({ "d": doctor, "f": rfc3339(from), "t": rfc3339(from + TimeDelta::days(3)), "v": visit_type });
    let body = c.app.gql(Some(&who.access), q, vars).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap().to_owned())
        .collect()
}

/// `holdSlot` as `who` of the clinic's doctor at `at` (optionally for `patient`, with a type).
async fn hold(c: &Clinic, who: &Session, at: &str, patient: Option<&str>, visit_type: Option<&str>) -> Value {
    let vars = json!({ "d": c.doctor.id, "s": at, "t": visit_type, "p": patient });
    c.app.gql(Some(&who.access), HOLD, vars).await
}

/// A hold that must succeed: its id.
#[track_caller]
fn held(body: &Value) -> String {
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["holdSlot"]["id"].as_str().unwrap().to_owned()
}

async fn book(c: &Clinic, who: &Session, input: Value) -> Value {
    let mut i = input;
    if i.get("reasonForVisit").is_none() {
        i["reasonForVisit"] = json!("Check-up");
    }
    c.app.gql(Some(&who.access), BOOK, json!({ "i": i })).await
}

async fn my_holds(c: &Clinic, who: &Session) -> Vec<Value> {
    let body = c.app.gql(Some(&who.access), MY_HOLDS, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["myHolds"].as_array().unwrap().clone()
}

fn ids(holds: &[Value]) -> Vec<&str> {
    holds.iter().map(|h| h["id"].as_str().unwrap()).collect()
}

/// The stored status of hold `id` (assertions only).
pub async fn status_of(c: &Clinic, id: &str) -> String {
    use cybermed::db::entities::slot_hold;
    use sea_orm::EntityTrait;
    let row = slot_hold::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&c.app.state.db).await.unwrap();
    format!("{:?}", row.unwrap().status).to_uppercase()
}

/// A free start whose next slot (30 minutes later) is free too: both, in order.
fn with_next(slots: &[String]) -> (String, String) {
    slots
        .iter()
        .find_map(|s| {
            let next = rfc3339(parse(&json!(s)) + TimeDelta::minutes(30));
            slots.contains(&next).then(|| (s.clone(), next))
        })
        .unwrap()
}

/// The actions of the audit log about `subject`, oldest first.
pub async fn audited(c: &Clinic, subject: &str) -> Vec<String> {
    let q = "query($s: UUID) { auditLog(first: 100, subjectId: $s) { edges { node { action } } } }";
    let body = c.app.gql(Some(&c.admin.access), q, json!({ "s": subject })).await;
    assert!(body["errors"].is_null(), "{body}");
    let mut actions: Vec<String> = body["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse();
    actions
}

#[tokio::test]
async fn a_patient_holds_a_slot_and_books_it_with_the_hold_which_is_no_appointment_event_or_email() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let at = slots[0].clone();
    let emails = c.app.count_rows("outbox").await;

    let body = hold(&c, &c.patient, &at, None, None).await;
    let id = held(&body);
    let h = &body["data"]["holdSlot"];
    assert_eq!((h["doctor"]["id"].as_str(), h["patient"]["id"].as_str()), (Some(&*c.doctor.id), Some(&*c.patient.id)));
    assert_eq!(h["startsAt"], at.as_str());
    assert_eq!(parse(&h["endsAt"]) - parse(&h["startsAt"]), TimeDelta::minutes(30));
    assert!(h["visitType"].is_null());
    let lives = parse(&h["expiresAt"]) - c.app.state.clock.now();
    assert!(lives > TimeDelta::seconds(290) && lives <= TimeDelta::seconds(300), "HOLD_TTL_SECS 300: {lives}");

    // The time is kept: gone from the listing, refused to everyone else, booking or holding.
    assert!(!free(&c, from, &c.patient, &c.doctor.id, None).await.contains(&at));
    let other = c.app.patient().await;
    assert_error(
        &book(&c, &other, json!({ "doctorId": c.doctor.id, "startsAt": at })).await,
        ("CONFLICT", Some("startsAt")),
    );
    assert_error(&hold(&c, &other, &at, None, None).await, ("CONFLICT", Some("startsAt")));
    // The patient's own other booking at that time too, without the hold.
    assert_error(
        &book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at })).await,
        ("CONFLICT", Some("startsAt")),
    );

    // Not an appointment, nor an email; audited.
    assert_eq!(ids(&my_holds(&c, &c.patient).await), [id.as_str()]);
    let list = c.app.gql(Some(&c.patient.access), "{ appointments { totalCount } }", json!({})).await;
    assert_eq!(list["data"]["appointments"]["totalCount"], 0, "{list}");
    assert_eq!(c.app.count_rows("appointments").await, 0);
    assert_eq!(c.app.count_rows("appointment_events").await, 0);
    assert_eq!(c.app.count_rows("outbox").await, emails, "a hold writes no email");
    assert_eq!(audited(&c, &id).await, ["appointment.hold"]);

    // Booked with the hold: the doctor comes from it; the hold is consumed.
    let body = book(&c, &c.patient, json!({ "holdId": id, "startsAt": at })).await;
    assert!(body["errors"].is_null(), "{body}");
    let a = &body["data"]["createAppointment"];
    assert_eq!((a["status"].as_str(), a["startsAt"].as_str()), (Some("PENDING"), Some(at.as_str())));
    assert_eq!((a["doctor"]["id"].as_str(), a["patient"]["id"].as_str()), (Some(&*c.doctor.id), Some(&*c.patient.id)));
    assert_eq!(status_of(&c, &id).await, "CONSUMED");
    assert!(my_holds(&c, &c.patient).await.is_empty());

    // A consumed hold books nothing again, nor can it be released.
    let again = book(&c, &c.patient, json!({ "holdId": id, "startsAt": at })).await;
    assert_error(&again, ("CONFLICT", Some("holdId")));
    assert_eq!(reason(&again), Some("HOLD_EXPIRED"), "{again}");
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": id })).await;
    assert_eq!(body["data"]["releaseHold"], false, "{body}");
}

#[tokio::test]
async fn booking_with_a_hold_must_match_it_and_be_the_viewers() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let (at, elsewhere) = (slots[0].clone(), slots[4].clone());
    let id = held(&hold(&c, &c.patient, &at, None, None).await);
    let other_doctor = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;

    let with = |extra: Value| {
        let mut i = json!({ "holdId": id, "startsAt": at });
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        i
    };
    assert_error(
        &book(&c, &c.patient, with(json!({ "startsAt": elsewhere }))).await,
        ("BAD_USER_INPUT", Some("startsAt")),
    );
    assert_error(
        &book(&c, &c.patient, with(json!({ "doctorId": other_doctor.id }))).await,
        ("BAD_USER_INPUT", Some("doctorId")),
    );
    let vt = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation { createVisitType(input: { name: \"Long\", durationMinutes: 60 }) { id } }",
            json!({}),
        )
        .await;
    let vt = vt["data"]["createVisitType"]["id"].as_str().unwrap().to_owned();
    assert_error(
        &book(&c, &c.patient, with(json!({ "visitTypeId": vt }))).await,
        ("BAD_USER_INPUT", Some("visitTypeId")),
    );
    // A patient may not name another patient (the role's rule comes first).
    let stranger = c.app.patient().await;
    assert_error(&book(&c, &c.patient, with(json!({ "patientId": stranger.id }))).await, ("FORBIDDEN", None));

    // Someone else's hold does not exist for them: another patient, the doctor (who did not
    // place it), an admin; and an unknown id.
    for who in [&stranger, &c.doctor, &c.admin] {
        let mut i = with(json!({}));
        if who.id == c.admin.id {
            i["doctorId"] = json!(c.doctor.id);
            i["patientId"] = json!(c.patient.id);
        }
        let body = book(&c, who, i).await;
        assert_error(&body, ("NOT_FOUND", Some("holdId")));
    }
    let unknown = book(&c, &c.patient, json!({ "holdId": uuid::Uuid::new_v4(), "startsAt": at })).await;
    assert_error(&unknown, ("NOT_FOUND", Some("holdId")));

    // Nothing was consumed: the right request still books it, naming what matches.
    let body = book(&c, &c.patient, with(json!({ "doctorId": c.doctor.id, "patientId": c.patient.id }))).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn an_expired_hold_frees_the_time_and_booking_with_it_is_hold_expired() {
    let c = Clinic::open_with("UTC", &[("HOLD_TTL_SECS", "60")]).await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let at = slots[0].clone();
    let body = hold(&c, &c.patient, &at, None, None).await;
    let id = held(&body);
    let lives = parse(&body["data"]["holdSlot"]["expiresAt"]) - c.app.state.clock.now();
    assert!(lives > TimeDelta::seconds(50) && lives <= TimeDelta::seconds(60), "HOLD_TTL_SECS 60: {lives}");
    let other = c.app.patient().await;
    assert_error(&hold(&c, &other, &at, None, None).await, ("CONFLICT", Some("startsAt")));

    // A minute later (tokens live 15 minutes: still signed in) it blocks nothing, with no sweeper.
    c.app.state.clock.advance(Duration::from_secs(61));
    assert!(free(&c, from, &c.patient, &c.doctor.id, None).await.contains(&at), "listed again");
    assert!(my_holds(&c, &c.patient).await.is_empty());
    assert_eq!(status_of(&c, &id).await, "LIVE", "nothing has ended it yet");
    let late = book(&c, &c.patient, json!({ "holdId": id, "startsAt": at })).await;
    assert_error(&late, ("CONFLICT", Some("holdId")));
    assert_eq!(reason(&late), Some("HOLD_EXPIRED"), "{late}");
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": id })).await;
    assert_eq!(body["data"]["releaseHold"], false, "{body}");

    // Another patient's booking ends the expired hold first, then takes the time.
    let body = book(&c, &other, json!({ "doctorId": c.doctor.id, "startsAt": at })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(status_of(&c, &id).await, "EXPIRED");

    // A hold ends the patient's own expired holds first too: the patient holds again the very
    // time their own expired hold kept.
    let second = held(&hold(&c, &c.patient, &slots[2], None, None).await);
    c.app.state.clock.advance(Duration::from_secs(61));
    let third = held(&hold(&c, &c.patient, &slots[2], None, None).await);
    assert_eq!(status_of(&c, &second).await, "EXPIRED");
    assert_eq!(ids(&my_holds(&c, &c.patient).await), [third.as_str()]);

    // A move ends them too: an appointment moved onto the time another patient's hold kept.
    let moved = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": slots[6] })).await;
    let moved = moved["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let kept = held(&hold(&c, &other, &slots[8], None, None).await);
    let q = "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { startsAt } }";
    let body = c.app.gql(Some(&c.patient.access), q, json!({ "id": moved, "s": slots[8] })).await;
    assert_error(&body, ("CONFLICT", Some("startsAt")));
    c.app.state.clock.advance(Duration::from_secs(61));
    let body = c.app.gql(Some(&c.patient.access), q, json!({ "id": moved, "s": slots[8] })).await;
    assert_eq!(body["data"]["rescheduleAppointment"]["startsAt"], slots[8].as_str(), "{body}");
    assert_eq!(status_of(&c, &kept).await, "EXPIRED");
}

#[tokio::test]
async fn a_patient_has_at_most_the_limit_of_live_holds_and_retry_after_counts_to_the_earliest_expiry() {
    let c = Clinic::open_with("UTC", &[("HOLD_MAX_PER_PATIENT", "2"), ("HOLD_TTL_SECS", "300")]).await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let first = held(&hold(&c, &c.patient, &slots[0], None, None).await);
    c.app.state.clock.advance(Duration::from_secs(100));
    // The doctor's hold for the patient counts too.
    held(&hold(&c, &c.doctor, &slots[2], Some(&c.patient.id), None).await);

    let over = hold(&c, &c.patient, &slots[4], None, None).await;
    assert_error(&over, ("RATE_LIMITED", None));
    let retry = over["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((190..=200).contains(&retry), "the first expires 200 s from now: {retry}");
    assert_error(&hold(&c, &c.doctor, &slots[4], Some(&c.patient.id), None).await, ("RATE_LIMITED", None));
    // Another patient is not limited by them.
    let other = c.app.patient().await;
    held(&hold(&c, &other, &slots[4], None, None).await);

    // A released hold frees a place; so does an expired one.
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": first })).await;
    assert_eq!(body["data"]["releaseHold"], true, "{body}");
    held(&hold(&c, &c.patient, &slots[6], None, None).await);
    assert_error(&hold(&c, &c.patient, &slots[8], None, None).await, ("RATE_LIMITED", None));
    c.app.state.clock.advance(Duration::from_secs(301));
    held(&hold(&c, &c.patient, &slots[8], None, None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_holds_of_one_patient_never_pass_the_limit() {
    let c = Clinic::open_with("UTC", &[("HOLD_MAX_PER_PATIENT", "2")]).await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let requests = (0..8).map(|i| hold(&c, &c.patient, &slots[i * 2], None, None)).collect();
    let answers = all_at_once(&c.app, requests).await;
    let ok = answers.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(ok, 2, "{answers:#?}");
    for b in answers.iter().filter(|b| !b["errors"].is_null()) {
        assert_error(b, ("RATE_LIMITED", None));
    }
    assert_eq!(my_holds(&c, &c.patient).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_simultaneous_holds_and_bookings_of_one_time_exactly_one_wins() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let at = slots[3].clone();
    let mut patients = Vec::new();
    for _ in 0..8 {
        patients.push(c.app.patient().await);
    }
    let requests: Vec<_> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (c, at) = (&c, at.clone());
            async move {
                if i % 2 == 0 {
                    hold(c, p, &at, None, None).await
                } else {
                    book(c, p, json!({ "doctorId": c.doctor.id, "startsAt": at })).await
                }
            }
        })
        .collect();
    let answers = all_at_once(&c.app, requests).await;
    let winners = answers.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(winners, 1, "{answers:#?}");
    for b in answers.iter().filter(|b| !b["errors"].is_null()) {
        assert_error(b, ("CONFLICT", Some("startsAt")));
    }
    assert!(!free(&c, from, &c.patient, &c.doctor.id, None).await.contains(&at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_bookings_from_one_hold_consume_it_once() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let id = held(&hold(&c, &c.patient, &slots[1], None, None).await);
    let requests = (0..4).map(|_| book(&c, &c.patient, json!({ "holdId": id, "startsAt": slots[1] }))).collect();
    let answers = all_at_once(&c.app, requests).await;
    assert_eq!(answers.iter().filter(|b| b["errors"].is_null()).count(), 1, "{answers:#?}");
    for b in answers.iter().filter(|b| !b["errors"].is_null()) {
        assert_error(b, ("CONFLICT", Some("holdId")));
        assert_eq!(reason(b), Some("HOLD_EXPIRED"), "{b}");
    }
    assert_eq!(c.app.count_rows("appointments").await, 1);
}

#[tokio::test]
async fn release_hold_is_true_once_then_false_and_not_found_for_strangers() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let at = slots[0].clone();
    let id = held(&hold(&c, &c.patient, &at, None, None).await);
    let stranger = c.app.patient().await;
    let other_doctor = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    // Neither another patient, nor the doctor or an admin who did not place it.
    for who in [&stranger, &other_doctor, &c.doctor, &c.admin] {
        let body = c.app.gql(Some(&who.access), RELEASE, json!({ "id": id })).await;
        assert_error(&body, ("NOT_FOUND", None));
    }
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": id })).await;
    assert_eq!(body["data"]["releaseHold"], true, "{body}");
    assert!(free(&c, from, &c.patient, &c.doctor.id, None).await.contains(&at), "free again at once");
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": id })).await;
    assert_eq!(body["data"]["releaseHold"], false, "{body}");
    assert_eq!(status_of(&c, &id).await, "RELEASED");
    assert_eq!(audited(&c, &id).await, ["appointment.hold", "appointment.hold_release"]);
    let body = c.app.gql(Some(&c.patient.access), RELEASE, json!({ "id": uuid::Uuid::new_v4() })).await;
    assert_error(&body, ("NOT_FOUND", None));

    // Whoever placed it may release it too.
    let by_doctor = held(&hold(&c, &c.doctor, &at, Some(&c.patient.id), None).await);
    let body = c.app.gql(Some(&c.doctor.access), RELEASE, json!({ "id": by_doctor })).await;
    assert_eq!(body["data"]["releaseHold"], true, "{body}");
}

#[tokio::test]
async fn a_doctor_holds_for_a_patient_at_their_own_calendar_and_my_holds_follows_each_role() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let other_doctor = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    let stranger = c.app.patient().await;

    // Who may hold what.
    assert_error(&hold(&c, &c.doctor, &slots[0], None, None).await, ("BAD_USER_INPUT", Some("patientId")));
    assert_error(&hold(&c, &c.admin, &slots[0], None, None).await, ("BAD_USER_INPUT", Some("patientId")));
    assert_error(&hold(&c, &other_doctor, &slots[0], Some(&c.patient.id), None).await, ("FORBIDDEN", None));
    assert_error(&hold(&c, &c.patient, &slots[0], Some(&stranger.id), None).await, ("FORBIDDEN", None));
    assert_error(
        &hold(&c, &c.doctor, &slots[0], Some(&c.doctor.id), None).await,
        ("BAD_USER_INPUT", Some("patientId")),
    );

    let by_doctor = held(&hold(&c, &c.doctor, &slots[0], Some(&c.patient.id), None).await);
    let by_admin = held(&hold(&c, &c.admin, &slots[2], Some(&c.patient.id), None).await);
    let own = held(&hold(&c, &stranger, &slots[4], Some(&stranger.id), None).await);

    // A patient sees every live hold for them; a doctor or admin those they placed.
    assert_eq!(ids(&my_holds(&c, &c.patient).await), [by_doctor.as_str(), by_admin.as_str()]);
    let doctors = my_holds(&c, &c.doctor).await;
    assert_eq!(ids(&doctors), [by_doctor.as_str()]);
    assert_eq!(ids(&my_holds(&c, &c.admin).await), [by_admin.as_str()]);
    assert_eq!(ids(&my_holds(&c, &stranger).await), [own.as_str()]);
    assert!(my_holds(&c, &other_doctor).await.is_empty());

    // Through a hold the doctor shares no appointment with the patient: public fields only, and
    // `user(id)` stays NOT_FOUND.
    let patient = &doctors[0]["patient"];
    assert_eq!(patient["id"], c.patient.id.as_str());
    assert!(patient["email"].is_null() && patient["phone"].is_null(), "{patient}");
    let body = c
        .app
        .gql(Some(&c.doctor.access), "query($id: UUID!) { user(id: $id) { id } }", json!({ "id": c.patient.id }))
        .await;
    assert_error(&body, ("NOT_FOUND", None));

    // The doctor may not book the admin's hold (not theirs); the patient books the doctor's hold
    // for them (PENDING, as their own booking).
    let body = book(&c, &c.doctor, json!({ "holdId": by_admin, "startsAt": slots[2] })).await;
    assert_error(&body, ("NOT_FOUND", Some("holdId")));
    let body = book(&c, &c.patient, json!({ "holdId": by_doctor, "startsAt": slots[0] })).await;
    assert_eq!(body["data"]["createAppointment"]["status"], "PENDING", "{body}");
    // The admin books the one they placed, naming nobody: CONFIRMED.
    let body = book(&c, &c.admin, json!({ "holdId": by_admin, "startsAt": slots[2] })).await;
    assert_eq!(body["data"]["createAppointment"]["status"], "CONFIRMED", "{body}");
    assert_eq!(body["data"]["createAppointment"]["patient"]["id"], c.patient.id.as_str(), "{body}");
    assert!(my_holds(&c, &c.patient).await.is_empty());
}

#[tokio::test]
async fn a_hold_runs_the_checks_of_the_patients_booking() {
    let c = Clinic::open_with("UTC", &[("MAX_UPCOMING_PER_PATIENT", "2")]).await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let at = parse(&json!(slots[0]));
    let away = parse(&json!(slots[1]));

    // Off the grid, in the past, over time off: as a booking is refused, even for a doctor.
    let off_grid = rfc3339(at + TimeDelta::minutes(10));
    assert_error(&hold(&c, &c.patient, &off_grid, None, None).await, ("BAD_USER_INPUT", Some("startsAt")));
    assert_error(
        &hold(&c, &c.doctor, &off_grid, Some(&c.patient.id), None).await,
        ("BAD_USER_INPUT", Some("startsAt")),
    );
    let past = rfc3339(c.app.state.clock.now() - TimeDelta::hours(1));
    assert_error(&hold(&c, &c.patient, &past, None, None).await, ("BAD_USER_INPUT", Some("startsAt")));
    let body = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": slots[1], "endsAt": rfc3339(away + TimeDelta::minutes(30)) } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_error(&hold(&c, &c.patient, &slots[1], None, None).await, ("BAD_USER_INPUT", Some("startsAt")));

    // A visit type's policy: notice (30 days) for everyone who holds; patients may not book a
    // type that is not patient-bookable (and may not know it).
    let create = "mutation($i: VisitTypeInput!) { createVisitType(input: $i) { id } }";
    let vt = |name: &str, extra: Value| {
        let mut i = json!({ "name": name, "durationMinutes": 30 });
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        c.app.gql(Some(&c.doctor.access), create, json!({ "i": i }))
    };
    let notice = vt("Planned", json!({ "minNoticeMinutes": 43200 })).await["data"]["createVisitType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let staff = vt("Staff only", json!({ "patientBookable": false })).await["data"]["createVisitType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = &slots[slots.len() - 1];
    assert_error(&hold(&c, &c.patient, later, None, Some(&notice)).await, ("BAD_USER_INPUT", Some("startsAt")));
    assert_error(
        &hold(&c, &c.doctor, later, Some(&c.patient.id), Some(&notice)).await,
        ("BAD_USER_INPUT", Some("startsAt")),
    );
    assert_error(&hold(&c, &c.patient, later, None, Some(&staff)).await, ("NOT_FOUND", Some("visitTypeId")));
    assert_error(
        &hold(&c, &c.doctor, later, Some(&c.patient.id), Some(&staff)).await,
        ("BAD_USER_INPUT", Some("visitTypeId")),
    );

    // The upcoming limit: holds never count toward it, but a hold is refused when it is reached.
    let h = held(&hold(&c, &c.patient, later, None, None).await);
    assert!(book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": slots[4] })).await["errors"].is_null());
    assert!(book(&c, &c.patient, json!({ "holdId": h, "startsAt": later })).await["errors"].is_null());
    let full = hold(&c, &c.patient, &slots[6], None, None).await;
    assert_error(&full, ("FORBIDDEN", None));
    assert_eq!(reason(&full), Some("TOO_MANY_UPCOMING"), "{full}");
}

#[tokio::test]
async fn a_typed_hold_blocks_its_buffers_and_its_booking_takes_the_type() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let body = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation { createVisitType(input: { name: \"Therapy\", durationMinutes: 30, bufferAfterMinutes: 30 }) { id } }",
            json!({}),
        )
        .await;
    let vt = body["data"]["createVisitType"]["id"].as_str().unwrap().to_owned();
    let (at, next) = with_next(&free(&c, from, &c.patient, &c.doctor.id, Some(&vt)).await);
    let body = hold(&c, &c.patient, &at, None, Some(&vt)).await;
    let id = held(&body);
    assert_eq!(body["data"]["holdSlot"]["visitType"]["id"], vt.as_str());

    // The buffer after it is the doctor's too: the next plain slot is taken.
    let other = c.app.patient().await;
    assert_error(
        &book(&c, &other, json!({ "doctorId": c.doctor.id, "startsAt": next })).await,
        ("CONFLICT", Some("startsAt")),
    );
    assert!(!free(&c, from, &other, &c.doctor.id, None).await.contains(&next));

    // Booked from the hold without naming the type: the appointment has it.
    let body = book(&c, &c.patient, json!({ "holdId": id, "startsAt": at })).await;
    assert_eq!(body["data"]["createAppointment"]["visitType"]["id"], vt.as_str(), "{body}");
}

#[tokio::test]
async fn deactivation_unverification_and_a_role_change_release_holds_on_either_side() {
    let c = Clinic::open("UTC").await;
    let from = ahead(&c);
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    let set_active = "mutation($id: UUID!, $a: Boolean!) { setUserActive(id: $id, isActive: $a) { id } }";
    let verify = "mutation($id: UUID!, $v: Boolean!) { verifyDoctor(id: $id, verified: $v) { id } }";
    let set_role = "mutation($id: UUID!, $r: Role!) { setUserRole(id: $id, role: $r) { id } }";

    // The doctor un-verified: the patient's hold with them is released.
    let first = held(&hold(&c, &c.patient, &slots[0], None, None).await);
    let body = c.app.gql(Some(&c.admin.access), verify, json!({ "id": c.doctor.id, "v": false })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(status_of(&c, &first).await, "RELEASED");
    c.app.gql(Some(&c.admin.access), verify, json!({ "id": c.doctor.id, "v": true })).await;

    // The patient deactivated: their hold is released (and the time free for others).
    let second = held(&hold(&c, &c.patient, &slots[0], None, None).await);
    let body = c.app.gql(Some(&c.admin.access), set_active, json!({ "id": c.patient.id, "a": false })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(status_of(&c, &second).await, "RELEASED");
    let other = c.app.patient().await;
    assert!(free(&c, from, &other, &c.doctor.id, None).await.contains(&slots[0]));

    // The doctor deactivated.
    let third = held(&hold(&c, &other, &slots[2], None, None).await);
    c.app.gql(Some(&c.admin.access), set_active, json!({ "id": c.doctor.id, "a": false })).await;
    assert_eq!(status_of(&c, &third).await, "RELEASED");
    c.app.gql(Some(&c.admin.access), set_active, json!({ "id": c.doctor.id, "a": true })).await;
    let doctor = c.app.login(&c.doctor.email, crate::helpers::PASSWORD).await;

    // A role change of the patient.
    let fourth = held(&hold(&c, &doctor, &slots[4], Some(&other.id), None).await);
    let body = c.app.gql(Some(&c.admin.access), set_role, json!({ "id": other.id, "r": "DOCTOR" })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(status_of(&c, &fourth).await, "RELEASED");
}

#[tokio::test]
async fn live_holds_are_a_gauge_read_at_scrape() {
    let c = Clinic::open_with("UTC", &[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let from = ahead(&c);
    let port = c.app.metrics_port.expect("a metrics listener");
    let slots = free(&c, from, &c.patient, &c.doctor.id, None).await;
    held(&hold(&c, &c.patient, &slots[0], None, None).await);
    held(&hold(&c, &c.patient, &slots[2], None, None).await);
    // The gauge is the process's, and other tests' servers set it at their scrapes: look for this
    // server's value a few times.
    let mut text = String::new();
    for _ in 0..20 {
        text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l == "cybermed_holds_live 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text.lines().any(|l| l == "cybermed_holds_live 2"), "{text}");
    assert!(text.contains("# HELP cybermed_holds_live "), "{text}");
}
