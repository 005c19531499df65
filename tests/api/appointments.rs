//! Booking rules, the status lifecycle, history, lists and privacy of appointments.
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, code, email, every_day, field, message, upcoming, utc_of_local};

pub const CREATE: &str = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) {
  id status startsAt endsAt date time reasonForVisit cancellationReason
  doctor { id } patient { id } history { kind status startsAt actor { id } } } }";

/// A clinic: an admin, a verified doctor (in `tz`, 30-minute slots, 08:00–18:00 daily) and a
/// patient with a profile.
pub struct Clinic {
    pub app: TestApp,
    pub admin: Session,
    pub doctor: Session,
    pub patient: Session,
}

impl Clinic {
    pub async fn open(tz: &str) -> Self {
        Self::open_with(tz, &[]).await
    }

    /// As [`Clinic::open`], with extra environment settings.
    pub async fn open_with(tz: &str, settings: &[(&str, &str)]) -> Self {
        let app = TestApp::spawn_with(settings).await;
        let admin = app.admin(&email("root")).await;
        let doctor = app.doctor("General practice", tz, 30, Some(&admin)).await;
        app.set_rules(&doctor, every_day("08:00:00", "18:00:00")).await;
        let patient = app.patient().await;
        Self { app, admin, doctor, patient }
    }

    /// Books as `who`; returns the whole response.
    pub async fn book(&self, who: &Session, input: Value) -> Value {
        let mut i = input;
        if i.get("reasonForVisit").is_none() {
            i["reasonForVisit"] = json!("Check-up");
        }
        self.app.gql(Some(&who.access), CREATE, json!({ "i": i })).await
    }

    /// A patient's booking with this doctor at `at`; panics unless it succeeds.
    pub async fn booked(&self, patient: &Session, at: &str) -> Value {
        let body = self.book(patient, json!({ "doctorId": self.doctor.id, "startsAt": at })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["createAppointment"].clone()
    }

    /// Moves the server's clock forward and signs everyone in again (their tokens expired).
    pub async fn advance(&mut self, by: Duration) {
        self.app.state.clock.advance(by);
        for s in [&mut self.admin, &mut self.doctor, &mut self.patient] {
            *s = self.app.login(&s.email, crate::helpers::PASSWORD).await;
        }
    }

    pub async fn act(&self, who: &Session, mutation: &str, id: &str) -> Value {
        let q = format!(
            "mutation($id: UUID!) {{ {mutation}(id: $id) {{ id status cancellationReason history {{ kind status }} }} }}"
        );
        self.app.gql(Some(&who.access), &q, json!({ "id": id })).await
    }
}

/// `YYYY-MM-DDTHH:MM:00Z` on the first Wednesday at least a week ahead.
pub fn at(hhmm: &str) -> String {
    format!("{}T{hhmm}:00Z", upcoming(2, 7))
}

#[tokio::test]
async fn a_patient_books_a_free_slot_as_pending_with_local_date_and_time() {
    let c = Clinic::open("America/New_York").await;
    // 09:00 in New York (14:00Z in winter, 13:00Z in summer), on the grid of 08:00–18:00.
    let day = upcoming(2, 7);
    let starts = utc_of_local(day, "09:00", "America/New_York");
    let a = c.booked(&c.patient, &starts).await;
    assert_eq!(a["status"], "PENDING");
    assert_eq!(a["startsAt"], starts.as_str());
    assert_eq!(a["date"], day.to_string());
    assert_eq!(a["time"], "09:00:00");
    let ends = chrono::DateTime::parse_from_rfc3339(&starts).unwrap() + chrono::Duration::minutes(30);
    assert_eq!(a["endsAt"], ends.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    assert_eq!(
        (a["doctor"]["id"].as_str(), a["patient"]["id"].as_str()),
        (Some(c.doctor.id.as_str()), Some(c.patient.id.as_str()))
    );
    assert_eq!(
        a["history"],
        json!([{ "kind": "CREATED", "status": "PENDING", "startsAt": starts, "actor": { "id": c.patient.id } }])
    );
}

#[tokio::test]
async fn a_doctor_schedules_confirmed_outside_availability_but_never_over_time_off() {
    let c = Clinic::open("UTC").await;
    let body = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("20:10") })).await;
    assert_eq!(body["data"]["createAppointment"]["status"], "CONFIRMED", "{body}");

    c.app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": at("06:00"), "endsAt": at("07:00") } }),
        )
        .await;
    let body = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("06:45") })).await;
    assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("startsAt")), "{body}");
}

#[tokio::test]
async fn an_admin_books_for_both_sides_confirmed_but_only_into_free_slots() {
    let c = Clinic::open("UTC").await;
    let ok =
        c.book(&c.admin, json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("10:00") })).await;
    assert_eq!(ok["data"]["createAppointment"]["status"], "CONFIRMED", "{ok}");
    let off_grid =
        c.book(&c.admin, json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("20:00") })).await;
    assert_eq!((code(&off_grid), field(&off_grid)), (Some("BAD_USER_INPUT"), Some("startsAt")));
    let missing = c.book(&c.admin, json!({ "doctorId": c.doctor.id, "startsAt": at("11:00") })).await;
    assert_eq!((code(&missing), field(&missing)), (Some("BAD_USER_INPUT"), Some("patientId")));
}

#[tokio::test]
async fn each_side_may_only_name_the_other_side() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    let other_doctor = c.app.doctor("GP", "UTC", 30, Some(&c.admin)).await;
    let as_other =
        c.book(&c.patient, json!({ "doctorId": c.doctor.id, "patientId": other.id, "startsAt": at("10:00") })).await;
    assert_eq!(code(&as_other), Some("FORBIDDEN"));
    let own = c
        .book(&c.patient, json!({ "doctorId": c.doctor.id, "patientId": c.patient.id, "startsAt": at("10:00") }))
        .await;
    assert!(own["errors"].is_null(), "the patient's own id is fine: {own}");
    let for_colleague =
        c.book(&c.doctor, json!({ "doctorId": other_doctor.id, "patientId": other.id, "startsAt": at("11:00") })).await;
    assert_eq!(code(&for_colleague), Some("FORBIDDEN"));
    let no_doctor = c.book(&c.patient, json!({ "startsAt": at("12:00") })).await;
    assert_eq!((code(&no_doctor), field(&no_doctor)), (Some("BAD_USER_INPUT"), Some("doctorId")));
    let no_patient = c.book(&c.doctor, json!({ "startsAt": at("12:00") })).await;
    assert_eq!((code(&no_patient), field(&no_patient)), (Some("BAD_USER_INPUT"), Some("patientId")));
    assert_eq!(
        code(&c.app.gql(None, CREATE, json!({ "i": { "startsAt": at("12:00"), "reasonForVisit": "x" } })).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn bookings_need_a_bookable_doctor_and_a_patient_with_a_profile() {
    let c = Clinic::open("UTC").await;
    let unverified = c.app.doctor("GP", "UTC", 30, None).await;
    c.app.set_rules(&unverified, every_day("08:00:00", "18:00:00")).await;
    let bare_doctor = c.app.register(&email("bare"), "DOCTOR").await;
    let inactive = c.app.doctor("GP", "UTC", 30, Some(&c.admin)).await;
    c.app.set_rules(&inactive, every_day("08:00:00", "18:00:00")).await;
    c.app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { id } }",
            json!({ "id": inactive.id }),
        )
        .await;
    for doctor in [&unverified.id, &bare_doctor.id, &inactive.id, &c.patient.id, &uuid::Uuid::new_v4().to_string()] {
        let body = c.book(&c.patient, json!({ "doctorId": doctor, "startsAt": at("10:00") })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("doctorId")), "{doctor}: {body}");
    }
    let no_profile = c.app.register(&email("np"), "PATIENT").await;
    let body = c.book(&no_profile, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") })).await;
    assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("patientId")));
    let for_a_doctor = c.book(&c.doctor, json!({ "patientId": unverified.id, "startsAt": at("10:00") })).await;
    assert_eq!((code(&for_a_doctor), field(&for_a_doctor)), (Some("BAD_USER_INPUT"), Some("patientId")));
    assert_eq!(c.app.count_rows("appointments").await, 0);
}

#[tokio::test]
async fn a_booking_must_be_a_future_free_slot_within_a_year() {
    let c = Clinic::open("UTC").await;
    c.app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": at("12:00"), "endsAt": at("13:00") } }),
        )
        .await;
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT10:00:00Z").to_string();
    let next_year = (chrono::Utc::now() + chrono::Duration::days(370)).format("%Y-%m-%dT10:00:00Z").to_string();
    for starts in [yesterday, next_year, at("10:10"), at("07:30"), at("18:00"), at("12:30")] {
        let body = c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": starts })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("startsAt")), "{starts}: {body}");
    }
    for reason in ["  ", &"x".repeat(1001)] {
        let body = c
            .book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00"), "reasonForVisit": reason }))
            .await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("reasonForVisit")));
    }
    c.booked(&c.patient, &at("17:30")).await;
}

#[tokio::test]
async fn a_taken_slot_is_a_conflict_for_the_doctor_and_for_the_patient() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    let second_doctor = c.app.doctor("GP", "UTC", 30, Some(&c.admin)).await;
    c.app.set_rules(&second_doctor, every_day("08:00:00", "18:00:00")).await;
    c.booked(&c.patient, &at("10:00")).await;

    let same_slot = c.book(&other, json!({ "doctorId": c.doctor.id, "startsAt": at("10:00") })).await;
    assert_eq!((code(&same_slot), field(&same_slot)), (Some("CONFLICT"), Some("startsAt")));
    assert!(message(&same_slot).contains("doctor"), "{same_slot}");
    let same_patient = c.book(&c.patient, json!({ "doctorId": second_doctor.id, "startsAt": at("10:00") })).await;
    assert_eq!((code(&same_patient), field(&same_patient)), (Some("CONFLICT"), Some("startsAt")));
    assert!(message(&same_patient).contains("patient"), "{same_patient}");
    let overlapping = c.book(&c.doctor, json!({ "patientId": other.id, "startsAt": at("10:15") })).await;
    assert_eq!(code(&overlapping), Some("CONFLICT"), "a doctor's off-grid booking overlapping it: {overlapping}");
    let touching = c.book(&c.doctor, json!({ "patientId": other.id, "startsAt": at("10:30") })).await;
    assert!(touching["errors"].is_null(), "back to back is fine: {touching}");
    assert_eq!(c.app.count_rows("appointments").await, 2);
}

#[tokio::test]
async fn a_cancelled_appointment_frees_its_slot() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    let a = c.booked(&c.patient, &at("10:00")).await;
    let slots = "query($d: UUID!, $f: DateTime!, $t: DateTime!) { availableSlots(doctorId: $d, from: $f, to: $t) { startsAt } }";
    let vars = json!({ "d": c.doctor.id, "f": at("09:30"), "t": at("11:00") });
    let before = c.app.gql(Some(&other.access), slots, vars.clone()).await;
    assert_eq!(
        before["data"]["availableSlots"],
        json!([{ "startsAt": at("09:30") }, { "startsAt": at("10:30") }]),
        "booked slots are not offered"
    );

    let cancelled = c.act(&c.patient, "cancelAppointment", a["id"].as_str().unwrap()).await;
    assert_eq!(cancelled["data"]["cancelAppointment"]["status"], "CANCELLED");
    let after = c.app.gql(Some(&other.access), slots, vars).await;
    assert_eq!(after["data"]["availableSlots"].as_array().unwrap().len(), 3);
    c.booked(&other, &at("10:00")).await;
}

#[tokio::test]
async fn the_lifecycle_follows_the_transition_table() {
    let mut c = Clinic::open("UTC").await;
    let a = c.booked(&c.patient, &at("10:00")).await;
    let id = a["id"].as_str().unwrap();

    assert_eq!(code(&c.act(&c.patient, "confirmAppointment", id).await), Some("FORBIDDEN"));
    let early = c.act(&c.doctor, "completeAppointment", id).await;
    assert_eq!(
        (code(&early), field(&early)),
        (Some("BAD_USER_INPUT"), Some("status")),
        "a pending one cannot complete"
    );
    let confirmed = c.act(&c.doctor, "confirmAppointment", id).await;
    assert_eq!(confirmed["data"]["confirmAppointment"]["status"], "CONFIRMED");
    let again = c.act(&c.admin, "confirmAppointment", id).await;
    assert_eq!((code(&again), field(&again)), (Some("BAD_USER_INPUT"), Some("status")));
    let not_yet = c.act(&c.doctor, "completeAppointment", id).await;
    assert_eq!((code(&not_yet), field(&not_yet)), (Some("BAD_USER_INPUT"), Some("status")), "not before it starts");

    c.advance(Duration::from_secs(15 * 86_400)).await;
    assert_eq!(code(&c.act(&c.patient, "completeAppointment", id).await), Some("FORBIDDEN"));
    let done = c.act(&c.doctor, "completeAppointment", id).await;
    assert_eq!(done["data"]["completeAppointment"]["status"], "COMPLETED");
    let kinds: Vec<&str> = done["data"]["completeAppointment"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CREATED", "CONFIRMED", "COMPLETED"]);
    let cancel_done = c.act(&c.patient, "cancelAppointment", id).await;
    assert_eq!((code(&cancel_done), field(&cancel_done)), (Some("BAD_USER_INPUT"), Some("status")));
}

#[tokio::test]
async fn a_no_show_is_marked_by_the_doctor_after_the_start() {
    let mut c = Clinic::open("UTC").await;
    let body = c.book(&c.doctor, json!({ "patientId": c.patient.id, "startsAt": at("10:00") })).await;
    let id = body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let early = c.act(&c.doctor, "markNoShow", &id).await;
    assert_eq!(field(&early), Some("status"));
    c.advance(Duration::from_secs(15 * 86_400)).await;
    assert_eq!(code(&c.act(&c.patient, "markNoShow", &id).await), Some("FORBIDDEN"));
    let done = c.act(&c.admin, "markNoShow", &id).await;
    assert_eq!(done["data"]["markNoShow"]["status"], "NO_SHOW");
}

#[tokio::test]
async fn either_party_or_an_admin_cancels_with_an_optional_reason() {
    let c = Clinic::open("UTC").await;
    for (who, hhmm) in [(&c.patient, "09:00"), (&c.doctor, "10:00"), (&c.admin, "11:00")] {
        let a = c.booked(&c.patient, &at(hhmm)).await;
        let body = c
            .app
            .gql(
                Some(&who.access),
                "mutation($id: UUID!) { cancelAppointment(id: $id, reason: \"Feeling better\") { status cancellationReason history { kind actor { id } } } }",
                json!({ "id": a["id"] }),
            )
            .await;
        let r = &body["data"]["cancelAppointment"];
        assert_eq!(
            (r["status"].as_str(), r["cancellationReason"].as_str()),
            (Some("CANCELLED"), Some("Feeling better")),
            "{body}"
        );
        assert_eq!(r["history"][1], json!({ "kind": "CANCELLED", "actor": { "id": who.id } }));
    }
}

const RESCHEDULE: &str = "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id status startsAt endsAt history { kind status startsAt } } }";

#[tokio::test]
async fn rescheduling_re_runs_the_checks_and_sets_the_status_by_who_moved_it() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    let a = c.booked(&c.patient, &at("10:00")).await;
    let id = a["id"].as_str().unwrap();
    c.act(&c.doctor, "confirmAppointment", id).await;
    c.booked(&other, &at("11:00")).await;

    let by_patient = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": at("12:00") })).await;
    let r = &by_patient["data"]["rescheduleAppointment"];
    assert_eq!(
        (r["status"].as_str(), r["startsAt"].as_str(), r["endsAt"].as_str()),
        (Some("PENDING"), Some(at("12:00").as_str()), Some(at("12:30").as_str())),
        "{by_patient}"
    );
    assert_eq!(r["history"][2], json!({ "kind": "RESCHEDULED", "status": "PENDING", "startsAt": at("12:00") }));

    let by_doctor = c.app.gql(Some(&c.doctor.access), RESCHEDULE, json!({ "id": id, "s": at("19:00") })).await;
    assert_eq!(
        by_doctor["data"]["rescheduleAppointment"]["status"], "CONFIRMED",
        "doctors may leave the grid: {by_doctor}"
    );

    let clash = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": at("11:00") })).await;
    assert_eq!((code(&clash), field(&clash)), (Some("CONFLICT"), Some("startsAt")));
    let off_grid = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": at("19:30") })).await;
    assert_eq!((code(&off_grid), field(&off_grid)), (Some("BAD_USER_INPUT"), Some("startsAt")));
    let same_place = c.app.gql(Some(&c.doctor.access), RESCHEDULE, json!({ "id": id, "s": at("19:15") })).await;
    assert!(same_place["errors"].is_null(), "overlapping itself is no clash: {same_place}");
    let stranger = c.app.gql(Some(&other.access), RESCHEDULE, json!({ "id": id, "s": at("15:00") })).await;
    assert_eq!(code(&stranger), Some("NOT_FOUND"));

    c.act(&c.patient, "cancelAppointment", id).await;
    let cancelled = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": at("15:00") })).await;
    assert_eq!((code(&cancelled), field(&cancelled)), (Some("BAD_USER_INPUT"), Some("status")));
}

#[tokio::test]
async fn someone_elses_appointment_is_not_found_everywhere() {
    let c = Clinic::open("UTC").await;
    let stranger = c.app.patient().await;
    let other_doctor = c.app.doctor("GP", "UTC", 30, Some(&c.admin)).await;
    let a = c.booked(&c.patient, &at("10:00")).await;
    let id = a["id"].as_str().unwrap();
    for who in [&stranger, &other_doctor] {
        let body = c
            .app
            .gql(Some(&who.access), "query($id: UUID!) { appointment(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
        for m in ["confirmAppointment", "cancelAppointment", "completeAppointment", "markNoShow"] {
            assert_eq!(code(&c.act(who, m, id).await), Some("NOT_FOUND"), "{m}");
        }
    }
    let unknown = c
        .app
        .gql(
            Some(&c.patient.access),
            "query($id: UUID!) { appointment(id: $id) { id } }",
            json!({ "id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(code(&unknown), Some("NOT_FOUND"));
    for who in [&c.patient, &c.doctor, &c.admin] {
        let body = c
            .app
            .gql(Some(&who.access), "query($id: UUID!) { appointment(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(body["data"]["appointment"]["id"], id);
    }
}

#[tokio::test]
async fn a_doctor_sees_a_patients_private_fields_only_with_a_shared_appointment() {
    let c = Clinic::open("UTC").await;
    c.app
        .gql(
            Some(&c.patient.access),
            "mutation { updateMe(input: { phone: \"555-0101\", address: \"Elm St 5\" }) { id } }",
            json!({}),
        )
        .await;
    let user_q = "query($id: UUID!) { user(id: $id) { email phone patientProfile { dateOfBirth } } }";
    let before = c.app.gql(Some(&c.doctor.access), user_q, json!({ "id": c.patient.id })).await;
    assert_eq!(code(&before), Some("NOT_FOUND"));

    let a = c.booked(&c.patient, &at("10:00")).await;
    let after = c.app.gql(Some(&c.doctor.access), user_q, json!({ "id": c.patient.id })).await;
    assert_eq!(after["data"]["user"]["phone"], "555-0101", "{after}");
    assert_eq!(after["data"]["user"]["patientProfile"]["dateOfBirth"], "1990-04-01");

    let detail = c
        .app
        .gql(
            Some(&c.doctor.access),
            "query($id: UUID!) { appointment(id: $id) { patient { email address } } }",
            json!({ "id": a["id"] }),
        )
        .await;
    assert_eq!(detail["data"]["appointment"]["patient"]["address"], "Elm St 5");
    let list = c
        .app
        .gql(Some(&c.doctor.access), "{ appointments { edges { node { patient { email phone } } } } }", json!({}))
        .await;
    assert_eq!(list["data"]["appointments"]["edges"][0]["node"]["patient"]["phone"], "555-0101");

    let colleague = c.app.doctor("GP", "UTC", 30, Some(&c.admin)).await;
    let not_shared = c.app.gql(Some(&colleague.access), user_q, json!({ "id": c.patient.id })).await;
    assert_eq!(code(&not_shared), Some("NOT_FOUND"));
    let doctor_seen = c
        .app
        .gql(Some(&c.patient.access), "query($id: UUID!) { user(id: $id) { email } }", json!({ "id": c.doctor.id }))
        .await;
    assert_eq!(
        doctor_seen["data"]["user"]["email"],
        c.doctor.email.as_str(),
        "the patient sees their doctor's contact"
    );
}

const LIST: &str = "query($first: Int, $after: String, $f: AppointmentFilter) { appointments(first: $first, after: $after, filter: $f) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id startsAt status } } } }";

fn starts(body: &Value) -> Vec<String> {
    body["data"]["appointments"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["startsAt"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_hold_the_viewers_own_newest_first_and_filter_and_page() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    for t in ["09:00", "11:00", "10:00"] {
        c.booked(&c.patient, &at(t)).await;
    }
    let theirs = c.booked(&other, &at("12:00")).await;
    c.act(&c.doctor, "confirmAppointment", theirs["id"].as_str().unwrap()).await;

    let mine = c.app.gql(Some(&c.patient.access), LIST, json!({})).await;
    assert_eq!(starts(&mine), [at("11:00"), at("10:00"), at("09:00")]);
    assert_eq!(mine["data"]["appointments"]["totalCount"], 3);
    let doctors = c.app.gql(Some(&c.doctor.access), LIST, json!({})).await;
    assert_eq!(doctors["data"]["appointments"]["totalCount"], 4);
    let admins = c.app.gql(Some(&c.admin.access), LIST, json!({})).await;
    assert_eq!(admins["data"]["appointments"]["totalCount"], 4);

    let confirmed = c.app.gql(Some(&c.doctor.access), LIST, json!({ "f": { "status": ["CONFIRMED"] } })).await;
    assert_eq!(starts(&confirmed), [at("12:00")]);
    let range =
        c.app.gql(Some(&c.doctor.access), LIST, json!({ "f": { "from": at("10:00"), "to": at("12:00") } })).await;
    assert_eq!(starts(&range), [at("11:00"), at("10:00")], "from inclusive, to exclusive");
    let by_patient = c.app.gql(Some(&c.admin.access), LIST, json!({ "f": { "patientId": other.id } })).await;
    assert_eq!(starts(&by_patient), [at("12:00")]);
    let by_doctor = c.app.gql(Some(&c.patient.access), LIST, json!({ "f": { "doctorId": c.doctor.id } })).await;
    assert_eq!(by_doctor["data"]["appointments"]["totalCount"], 3);

    let page1 = c.app.gql(Some(&c.doctor.access), LIST, json!({ "first": 2 })).await;
    assert_eq!(page1["data"]["appointments"]["pageInfo"]["hasNextPage"], true);
    let after = page1["data"]["appointments"]["pageInfo"]["endCursor"].as_str().unwrap();
    let page2 = c.app.gql(Some(&c.doctor.access), LIST, json!({ "first": 2, "after": after })).await;
    assert_eq!(starts(&page2), [at("10:00"), at("09:00")]);
    assert_eq!(page2["data"]["appointments"]["pageInfo"]["hasNextPage"], false);

    let bad = c.app.gql(Some(&c.doctor.access), LIST, json!({ "after": "bogus" })).await;
    assert_eq!((code(&bad), field(&bad)), (Some("BAD_USER_INPUT"), Some("after")));
    assert_eq!(code(&c.app.gql(None, LIST, json!({})).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_page_of_appointments_with_nested_people_and_profiles_costs_the_same_at_20_and_100() {
    let c = Clinic::open("Europe/Berlin").await;
    let other = c.app.patient().await;
    let day = upcoming(2, 7);
    for i in 0..110 {
        let starts = (chrono::NaiveDate::and_hms_opt(&day, 0, 0, 0).unwrap().and_utc()
            + chrono::Duration::minutes(30 * i))
        .to_rfc3339();
        let who = if i % 2 == 0 { &c.patient } else { &other };
        let body = c.book(&c.doctor, json!({ "patientId": who.id, "startsAt": starts })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let lean = "query($first: Int) { appointments(first: $first) { edges { node { id doctor { id firstName } patient { id firstName } } } } }";
    let nested = "query($first: Int) { appointments(first: $first) { edges { node {
      doctor { doctorProfile { specialty } } patient { email patientProfile { dateOfBirth } } } } } }";
    let bench = "query($first: Int) { appointments(first: $first) { edges { node { id startsAt status
      doctor { id firstName lastName email doctorProfile { specialty } } patient { id firstName lastName email } } } } }";
    let mut seen = Vec::new();
    for (name, q, sizes) in
        [("lean", lean, vec![20, 100]), ("nested", nested, vec![20, 100]), ("bench", bench, vec![20])]
    {
        for first in sizes {
            let (n, body) = c.app.statements_for(Some(&c.doctor.access), q, json!({ "first": first })).await;
            assert!(body["errors"].is_null(), "{name} {first}: {body}");
            assert_eq!(body["data"]["appointments"]["edges"].as_array().unwrap().len(), first);
            seen.push((name, first, n));
        }
    }
    // Counts are the operation's own (the login was just checked, so it is cached).
    assert!(seen.iter().filter(|s| s.0 == "lean").all(|s| s.2 <= 2), "page + people: {seen:?}");
    assert_eq!(seen[0].2, seen[1].2, "lean: {seen:?}");
    assert_eq!(seen[2].2, seen[3].2, "nested: {seen:?}");
    // Page, people with doctor profiles, and the audit of the patient emails the doctor read.
    assert!(seen[4].2 <= 3, "20 appointments with names, emails and specialty: {seen:?}");
}
