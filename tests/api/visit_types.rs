//! Visit types: their management and visibility, booking with one (length, buffers, the blocked
//! range enforced by the database under concurrency), the patient policy (notice, horizon, cancel
//! and reschedule cutoffs) and `lateCancellation`.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, code, field, upcoming, utc_of_local};

const CREATE: &str = "mutation($d: UUID, $i: VisitTypeInput!) { createVisitType(doctorId: $d, input: $i) { id name durationMinutes bufferBeforeMinutes bufferAfterMinutes minNoticeMinutes horizonDays patientCancelCutoffMinutes patientRescheduleCutoffMinutes patientBookable active doctor { id } } }";
const UPDATE: &str = "mutation($id: UUID!, $i: VisitTypeInput!) { updateVisitType(id: $id, input: $i) { id name durationMinutes bufferAfterMinutes horizonDays patientBookable } }";
const ACTIVE: &str = "mutation($id: UUID!, $a: Boolean!) { setVisitTypeActive(id: $id, active: $a) { id active } }";
const LIST: &str =
    "query($d: UUID!, $all: Boolean) { visitTypes(doctorId: $d, includeInactive: $all) { id name active } }";
const SLOTS: &str = "query($d: UUID!, $from: DateTime!, $to: DateTime!, $t: UUID) { availableSlots(doctorId: $d, from: $from, to: $to, visitTypeId: $t) { startsAt endsAt } }";
const BOOK: &str = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id startsAt endsAt status visitType { id name durationMinutes } lateCancellation } }";
const CANCEL: &str = "mutation($id: UUID!) { cancelAppointment(id: $id) { id status lateCancellation } }";
const MOVE: &str =
    "mutation($id: UUID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) { id startsAt endsAt } }";

/// A verified doctor in UTC, available `start`–`end` every day, and an admin.
async fn clinic(app: &TestApp, start: &str, end: &str) -> (Session, Session) {
    let admin = app.admin(&crate::helpers::email("adm")).await;
    let doctor = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day(start, end)).await;
    (admin, doctor)
}

async fn create_type(app: &TestApp, who: &Session, doctor: Option<&str>, input: Value) -> Value {
    app.gql(Some(&who.access), CREATE, json!({ "d": doctor, "i": input })).await
}

async fn type_id(app: &TestApp, doctor: &Session, input: Value) -> String {
    let body = create_type(app, doctor, None, input).await;
    body["data"]["createVisitType"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

fn starts(body: &Value) -> Vec<String> {
    body["data"]["availableSlots"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap().to_owned())
        .collect()
}

async fn slots(app: &TestApp, who: &Session, doctor: &str, from: &str, to: &str, t: Option<&str>) -> Vec<String> {
    starts(&app.gql(Some(&who.access), SLOTS, json!({ "d": doctor, "from": from, "to": to, "t": t })).await)
}

async fn book(app: &TestApp, who: &Session, input: Value) -> Value {
    app.gql(Some(&who.access), BOOK, json!({ "i": input })).await
}

fn reason(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["reason"].as_str()
}

/// The worked example: 09:00–10:00, a 20-minute visit with 10 minutes after it: 09:00, 09:20
/// and 09:40 are free; once 09:00 is booked (blocking until 09:30) only 09:40 is.
#[tokio::test]
async fn a_buffer_after_a_visit_keeps_the_next_start_free_in_slots_and_in_bookings() {
    let app = TestApp::spawn().await;
    let (_, doctor) = clinic(&app, "09:00:00", "10:00:00").await;
    let t =
        type_id(&app, &doctor, json!({ "name": "Check-up", "durationMinutes": 20, "bufferAfterMinutes": 10 })).await;
    let patient = app.patient().await;
    let day = upcoming(2, 2);
    let at = |hhmm: &str| utc_of_local(day, hhmm, "UTC");
    let (from, to) = (at("00:00"), at("23:59"));
    assert_eq!(slots(&app, &patient, &doctor.id, &from, &to, Some(&t)).await, [at("09:00"), at("09:20"), at("09:40")]);

    let body = book(
        &app,
        &patient,
        json!({ "doctorId": doctor.id, "startsAt": at("09:00"), "reasonForVisit": "Check", "visitTypeId": t }),
    )
    .await;
    let appt = &body["data"]["createAppointment"];
    assert_eq!(appt["endsAt"], at("09:20"), "{body}");
    assert_eq!(appt["visitType"]["id"], t.as_str());
    assert_eq!(appt["lateCancellation"], false);
    assert_eq!(slots(&app, &patient, &doctor.id, &from, &to, Some(&t)).await, [at("09:40")]);

    // 09:20 would start inside the buffer: refused by the database's rule, for anyone.
    let other = app.patient().await;
    let clash = book(
        &app,
        &other,
        json!({ "doctorId": doctor.id, "startsAt": at("09:20"), "reasonForVisit": "Check", "visitTypeId": t }),
    )
    .await;
    assert_eq!((code(&clash), field(&clash)), (Some("CONFLICT"), Some("startsAt")), "{clash}");
    let by_doctor =
        book(&app, &doctor, json!({ "patientId": other.id, "startsAt": at("09:25"), "reasonForVisit": "Squeeze in" }))
            .await;
    assert_eq!(code(&by_doctor), Some("CONFLICT"), "a plain visit inside the buffer: {by_doctor}");
    let ok = book(
        &app,
        &other,
        json!({ "doctorId": doctor.id, "startsAt": at("09:40"), "reasonForVisit": "Check", "visitTypeId": t }),
    )
    .await;
    assert!(ok["errors"].is_null(), "the buffer may reach past availability: {ok}");
    // Without a type the grid is the doctor's 30-minute slot, and it avoids every blocked range.
    assert!(slots(&app, &patient, &doctor.id, &from, &to, None).await.is_empty(), "09:00 and 09:30 are both blocked");
}

/// Of many simultaneous bookings whose blocked ranges clash (09:00 and 09:20 with a 10-minute buffer
/// after), exactly one succeeds and the others are CONFLICT; none is a server error.
#[tokio::test]
async fn simultaneous_bookings_with_clashing_blocked_ranges_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let (_, doctor) = clinic(&app, "09:00:00", "10:00:00").await;
    let t =
        type_id(&app, &doctor, json!({ "name": "Check-up", "durationMinutes": 20, "bufferAfterMinutes": 10 })).await;
    let day = upcoming(3, 2);
    let mut patients = Vec::new();
    for _ in 0..8 {
        patients.push(app.patient().await);
    }
    let requests = patients.iter().enumerate().map(|(i, p)| {
        let at = utc_of_local(day, if i % 2 == 0 { "09:00" } else { "09:20" }, "UTC");
        book(&app, p, json!({ "doctorId": doctor.id, "startsAt": at, "reasonForVisit": "Race", "visitTypeId": t }))
    });
    let bodies = futures_util::future::join_all(requests).await;
    let won = bodies.iter().filter(|b| b["errors"].is_null()).count();
    let conflicts = bodies.iter().filter(|b| code(b) == Some("CONFLICT")).count();
    assert_eq!((won, conflicts), (1, 7), "{bodies:?}");
    assert_eq!(app.count_rows("calendar_blocks").await, 1);
}

#[tokio::test]
async fn doctors_and_admins_manage_types_and_others_see_only_bookable_active_ones() {
    let app = TestApp::spawn().await;
    let (admin, doctor) = clinic(&app, "09:00:00", "17:00:00").await;
    let other_doctor = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    let patient = app.patient().await;

    let body = create_type(&app, &doctor, None, json!({ "name": "  Consultation ", "durationMinutes": 30 })).await;
    let made = &body["data"]["createVisitType"];
    assert_eq!(
        (
            made["name"].clone(),
            made["bufferBeforeMinutes"].clone(),
            made["horizonDays"].clone(),
            made["patientBookable"].clone(),
            made["active"].clone()
        ),
        (json!("Consultation"), json!(0), json!(365), json!(true), json!(true)),
        "trimmed, defaults: {body}"
    );
    assert_eq!(made["doctor"]["id"], doctor.id.as_str());
    let consultation = made["id"].as_str().unwrap().to_owned();

    let dup = create_type(&app, &doctor, None, json!({ "name": "CONSULTATION", "durationMinutes": 15 })).await;
    assert_eq!((code(&dup), field(&dup)), (Some("CONFLICT"), Some("name")), "{dup}");
    for (input, name) in [
        (json!({ "name": " ", "durationMinutes": 30 }), "name"),
        (json!({ "name": "x".repeat(61), "durationMinutes": 30 }), "name"),
        (json!({ "name": "Tiny", "durationMinutes": 4 }), "durationMinutes"),
        (json!({ "name": "Long", "durationMinutes": 481 }), "durationMinutes"),
        (json!({ "name": "B", "durationMinutes": 30, "bufferBeforeMinutes": 121 }), "bufferBeforeMinutes"),
        (json!({ "name": "N", "durationMinutes": 30, "minNoticeMinutes": 43201 }), "minNoticeMinutes"),
        (json!({ "name": "H", "durationMinutes": 30, "horizonDays": 0 }), "horizonDays"),
        (
            json!({ "name": "C", "durationMinutes": 30, "patientCancelCutoffMinutes": 20161 }),
            "patientCancelCutoffMinutes",
        ),
    ] {
        let body = create_type(&app, &doctor, None, input).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some(name)), "{body}");
    }
    let by_patient = create_type(&app, &patient, None, json!({ "name": "Mine", "durationMinutes": 30 })).await;
    assert_eq!(code(&by_patient), Some("FORBIDDEN"));
    let for_another =
        create_type(&app, &other_doctor, Some(&doctor.id), json!({ "name": "Theirs", "durationMinutes": 30 })).await;
    assert_eq!(code(&for_another), Some("FORBIDDEN"));
    let admin_without = create_type(&app, &admin, None, json!({ "name": "Any", "durationMinutes": 30 })).await;
    assert_eq!((code(&admin_without), field(&admin_without)), (Some("BAD_USER_INPUT"), Some("doctorId")));
    let by_admin = create_type(
        &app,
        &admin,
        Some(&doctor.id),
        json!({ "name": "Staff only", "durationMinutes": 45, "patientBookable": false }),
    )
    .await;
    let staff_only =
        by_admin["data"]["createVisitType"]["id"].as_str().unwrap_or_else(|| panic!("{by_admin}")).to_owned();

    // updateVisitType replaces every setting: an omitted one takes its default.
    let body = app
        .gql(
            Some(&doctor.access),
            UPDATE,
            json!({ "id": consultation, "i": { "name": "Consultation", "durationMinutes": 40, "horizonDays": 30 } }),
        )
        .await;
    assert_eq!(body["data"]["updateVisitType"]["durationMinutes"], 40, "{body}");
    let body = app
        .gql(
            Some(&doctor.access),
            UPDATE,
            json!({ "id": consultation, "i": { "name": "Consultation", "durationMinutes": 40 } }),
        )
        .await;
    assert_eq!(body["data"]["updateVisitType"]["horizonDays"], 365, "{body}");
    let theirs = app
        .gql(
            Some(&other_doctor.access),
            UPDATE,
            json!({ "id": consultation, "i": { "name": "Hijack", "durationMinutes": 5 } }),
        )
        .await;
    assert_eq!(code(&theirs), Some("FORBIDDEN"), "a type they may see but not manage: {theirs}");
    let hidden = app.gql(Some(&other_doctor.access), ACTIVE, json!({ "id": staff_only, "a": false })).await;
    assert_eq!(code(&hidden), Some("NOT_FOUND"), "a type they may not see: {hidden}");

    let names = |body: Value| -> Vec<String> {
        body["data"]["visitTypes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(app.gql(Some(&patient.access), LIST, json!({ "d": doctor.id })).await), ["Consultation"]);
    assert_eq!(
        names(app.gql(Some(&patient.access), LIST, json!({ "d": doctor.id, "all": true })).await),
        ["Consultation"]
    );
    assert_eq!(
        names(app.gql(Some(&doctor.access), LIST, json!({ "d": doctor.id })).await),
        ["Consultation", "Staff only"]
    );

    let off = app.gql(Some(&doctor.access), ACTIVE, json!({ "id": consultation, "a": false })).await;
    assert_eq!(off["data"]["setVisitTypeActive"]["active"], false, "{off}");
    assert_eq!(names(app.gql(Some(&doctor.access), LIST, json!({ "d": doctor.id })).await), ["Staff only"]);
    assert_eq!(
        names(app.gql(Some(&admin.access), LIST, json!({ "d": doctor.id, "all": true })).await),
        ["Consultation", "Staff only"]
    );
    assert!(names(app.gql(Some(&patient.access), LIST, json!({ "d": doctor.id })).await).is_empty());

    // Booking with an inactive type: BAD_USER_INPUT for staff, NOT_FOUND for patients (who may not
    // know it); an unbookable type is NOT_FOUND to patients too.
    let day = upcoming(1, 3);
    let at = utc_of_local(day, "10:00", "UTC");
    let staff = book(
        &app,
        &doctor,
        json!({ "patientId": patient.id, "startsAt": at, "reasonForVisit": "x", "visitTypeId": consultation }),
    )
    .await;
    assert_eq!((code(&staff), field(&staff)), (Some("BAD_USER_INPUT"), Some("visitTypeId")), "{staff}");
    for t in [&consultation, &staff_only] {
        let body = book(
            &app,
            &patient,
            json!({ "doctorId": doctor.id, "startsAt": at, "reasonForVisit": "x", "visitTypeId": t }),
        )
        .await;
        assert_eq!((code(&body), field(&body)), (Some("NOT_FOUND"), Some("visitTypeId")), "{body}");
    }
    let ok = book(
        &app,
        &doctor,
        json!({ "patientId": patient.id, "startsAt": at, "reasonForVisit": "x", "visitTypeId": staff_only }),
    )
    .await;
    assert!(ok["errors"].is_null(), "a doctor books their staff-only type: {ok}");

    let audit = app.gql(Some(&admin.access), "{ auditLog(first: 100) { nodes { action } } }", json!({})).await;
    let actions: Vec<&str> =
        audit["data"]["auditLog"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["action"].as_str()).collect();
    for action in ["visit_type.create", "visit_type.update", "visit_type.activate"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn an_appointment_keeps_the_length_and_buffers_it_was_booked_with() {
    let app = TestApp::spawn().await;
    let (_, doctor) = clinic(&app, "09:00:00", "12:00:00").await;
    let t =
        type_id(&app, &doctor, json!({ "name": "Therapy", "durationMinutes": 45, "bufferBeforeMinutes": 15 })).await;
    let patient = app.patient().await;
    let day = upcoming(4, 3);
    let at = |hhmm: &str| utc_of_local(day, hhmm, "UTC");
    let body = book(
        &app,
        &patient,
        json!({ "doctorId": doctor.id, "startsAt": at("09:45"), "reasonForVisit": "Back", "visitTypeId": t }),
    )
    .await;
    let id = body["data"]["createAppointment"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let changed = app
        .gql(Some(&doctor.access), UPDATE, json!({ "id": t, "i": { "name": "Therapy", "durationMinutes": 20 } }))
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
    let read = app
        .gql(
            Some(&patient.access),
            "query($id: UUID!) { appointment(id: $id) { endsAt visitType { durationMinutes } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["appointment"]["endsAt"], at("10:30"), "its own length: {read}");
    assert_eq!(read["data"]["appointment"]["visitType"]["durationMinutes"], 20, "the type as it is now");
    // Its 15 minutes before (09:30–09:45) stay blocked: a plain 30-minute visit at 09:10 would end
    // inside them (one at 09:00 ends as they begin).
    let plain = book(
        &app,
        &doctor,
        json!({ "patientId": app.patient().await.id, "startsAt": at("09:10"), "reasonForVisit": "x" }),
    )
    .await;
    assert_eq!(code(&plain), Some("CONFLICT"), "{plain}");
    // A move steps on its own 45-minute grid and keeps its length.
    let moved = app.gql(Some(&patient.access), MOVE, json!({ "id": id, "at": at("11:15") })).await;
    assert_eq!(moved["data"]["rescheduleAppointment"]["endsAt"], at("12:00"), "{moved}");
    let off_grid = app.gql(Some(&patient.access), MOVE, json!({ "id": id, "at": at("11:00") })).await;
    assert_eq!(field(&off_grid), Some("startsAt"), "not on the 45-minute grid: {off_grid}");
}

/// Notice and horizon bind patients only; cancel and reschedule cutoffs refuse a patient with their
/// reason and change nothing, while the doctor may still cancel (a late cancellation).
#[tokio::test]
async fn the_patient_policy_gives_its_reasons_and_spares_doctors() {
    let app = TestApp::spawn().await;
    let (_, doctor) = clinic(&app, "00:00:00", "23:59:00").await;
    let t = type_id(
        &app,
        &doctor,
        json!({ "name": "Policy", "durationMinutes": 20, "minNoticeMinutes": 120, "horizonDays": 3,
                "patientCancelCutoffMinutes": 1440, "patientRescheduleCutoffMinutes": 1440 }),
    )
    .await;
    let patient = app.patient().await;
    let now = chrono::Utc::now();
    let iso = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let typed = slots(&app, &patient, &doctor.id, &iso(now), &iso(now + chrono::TimeDelta::hours(6)), Some(&t)).await;
    assert!(
        typed.iter().all(|s| s.as_str() >= iso(now + chrono::TimeDelta::minutes(119)).as_str()),
        "notice in slots: {typed:?}"
    );
    let late = slots(
        &app,
        &patient,
        &doctor.id,
        &iso(now + chrono::TimeDelta::days(3)),
        &iso(now + chrono::TimeDelta::days(4)),
        Some(&t),
    )
    .await;
    assert!(
        late.iter()
            .all(|s| s.as_str() <= iso(now + chrono::TimeDelta::days(3) + chrono::TimeDelta::minutes(1)).as_str()),
        "horizon in slots: {late:?}"
    );

    // A 20-minute grid start within the hour: too soon for a patient, fine for the doctor.
    let grid_soon = {
        let mut t0 = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
        while t0 <= now + chrono::TimeDelta::minutes(5) {
            t0 += chrono::TimeDelta::minutes(20);
        }
        iso(t0)
    };
    let too_soon = book(
        &app,
        &patient,
        json!({ "doctorId": doctor.id, "startsAt": grid_soon, "reasonForVisit": "x", "visitTypeId": t }),
    )
    .await;
    assert_eq!((code(&too_soon), field(&too_soon)), (Some("BAD_USER_INPUT"), Some("startsAt")), "{too_soon}");
    let too_far = {
        let t0 = (now + chrono::TimeDelta::days(4)).date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
        book(
            &app,
            &patient,
            json!({ "doctorId": doctor.id, "startsAt": iso(t0), "reasonForVisit": "x", "visitTypeId": t }),
        )
        .await
    };
    assert_eq!((code(&too_far), field(&too_far)), (Some("BAD_USER_INPUT"), Some("startsAt")), "{too_far}");
    let by_doctor = book(
        &app,
        &doctor,
        json!({ "patientId": patient.id, "startsAt": grid_soon, "reasonForVisit": "Urgent", "visitTypeId": t }),
    )
    .await;
    let urgent = by_doctor["data"]["createAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("doctors are exempt: {by_doctor}"))
        .to_owned();

    // Within 24 hours of its start: the patient may neither cancel nor move it.
    let cancel = app.gql(Some(&patient.access), CANCEL, json!({ "id": urgent })).await;
    assert_eq!((code(&cancel), reason(&cancel)), (Some("FORBIDDEN"), Some("CANCELLATION_WINDOW_CLOSED")), "{cancel}");
    let later = typed.last().unwrap();
    let moved = app.gql(Some(&patient.access), MOVE, json!({ "id": urgent, "at": later })).await;
    assert_eq!((code(&moved), reason(&moved)), (Some("FORBIDDEN"), Some("RESCHEDULE_WINDOW_CLOSED")), "{moved}");
    let read = app
        .gql(
            Some(&patient.access),
            "query($id: UUID!) { appointment(id: $id) { status startsAt } }",
            json!({ "id": urgent }),
        )
        .await;
    assert_eq!(read["data"]["appointment"]["status"], "CONFIRMED", "nothing changed: {read}");
    assert_eq!(read["data"]["appointment"]["startsAt"], grid_soon.as_str());
    let by_doctor = app.gql(Some(&doctor.access), CANCEL, json!({ "id": urgent })).await;
    assert_eq!(by_doctor["data"]["cancelAppointment"]["lateCancellation"], true, "{by_doctor}");

    // Early enough: the patient cancels, and it is not late.
    let far = {
        let t0 = (now + chrono::TimeDelta::days(2)).date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
        book(
            &app,
            &patient,
            json!({ "doctorId": doctor.id, "startsAt": iso(t0), "reasonForVisit": "Later", "visitTypeId": t }),
        )
        .await
    };
    let far_id = far["data"]["createAppointment"]["id"].as_str().unwrap_or_else(|| panic!("{far}")).to_owned();
    let cancelled = app.gql(Some(&patient.access), CANCEL, json!({ "id": far_id })).await;
    assert_eq!(cancelled["data"]["cancelAppointment"]["lateCancellation"], false, "{cancelled}");
}

/// A horizon stored beyond what a date can reach (only SQL writes one: the API allows 1..=365
/// days) limits nothing; it panicked the date arithmetic of every slot list and booking.
#[tokio::test]
async fn a_horizon_stored_past_the_calendars_end_limits_nothing() {
    let app = TestApp::spawn().await;
    let (_, doctor) = clinic(&app, "09:00:00", "10:00:00").await;
    let t = type_id(&app, &doctor, json!({ "name": "Check-up", "durationMinutes": 30, "horizonDays": 30 })).await;
    use sea_orm::ConnectionTrait;
    app.state.db.execute_unprepared(&format!("UPDATE visit_types SET horizon_days = {}", i32::MAX)).await.unwrap();
    let patient = app.patient().await;
    let day = upcoming(2, 2);
    let at = |hhmm: &str| utc_of_local(day, hhmm, "UTC");
    assert_eq!(
        slots(&app, &patient, &doctor.id, &at("00:00"), &at("23:59"), Some(&t)).await,
        [at("09:00"), at("09:30")]
    );
    let body = book(
        &app,
        &patient,
        json!({ "doctorId": doctor.id, "startsAt": at("09:00"), "reasonForVisit": "Check", "visitTypeId": t }),
    )
    .await;
    assert_eq!(body["data"]["createAppointment"]["endsAt"], at("09:30"), "{body}");
}
