//! Recurring series: the same local wall time across DST, all or nothing (also against concurrent
//! single bookings), the one series email per party, cancelling from an occurrence on, the
//! `series`/`occurrence` fields and who may see them. Dates are computed from "now" and the
//! zones' own rules, so every test reads the same in every season.
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, code, every_day, field, upcoming, utc_of_local};

const SERIES: &str = "mutation($i: CreateAppointmentInput!, $r: RecurrenceInput!) { createAppointmentSeries(input: $i, recurrence: $r) { id intervalWeeks count appointments { id startsAt date time status occurrence series { id } } } }";
const CANCEL_SERIES: &str = "mutation($id: UUID!, $from: Int, $why: String) { cancelAppointmentSeries(id: $id, fromOccurrence: $from, reason: $why) { id count appointments { id status occurrence } } }";
const BOOK: &str = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id startsAt } }";
const ONE: &str =
    "query($id: UUID!) { appointment(id: $id) { id occurrence series { id count appointments { id occurrence } } } }";

/// An admin, a verified doctor in `tz` (30-minute slots) available 08:00–12:00 local every day,
/// and a patient.
async fn clinic(app: &TestApp, tz: &str) -> (Session, Session, Session) {
    let admin = app.admin(&crate::helpers::email("adm")).await;
    let doctor = app.doctor("Physiotherapy", tz, 30, Some(&admin)).await;
    app.set_rules(&doctor, every_day("08:00", "12:00")).await;
    let patient = app.patient().await;
    (admin, doctor, patient)
}

async fn book_series(app: &TestApp, who: &Session, input: Value, recurrence: Value) -> Value {
    app.gql(Some(&who.access), SERIES, json!({ "i": input, "r": recurrence })).await
}

fn series_of(body: &Value) -> &Value {
    let s = &body["data"]["createAppointmentSeries"];
    assert!(s.is_object(), "{body}");
    s
}

fn occurrences(series: &Value) -> &Vec<Value> {
    series["appointments"].as_array().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The statuses of a `cancelAppointmentSeries` answer's occurrences, in order.
fn cancelled_statuses(body: &Value) -> Vec<&str> {
    let appts = body["data"]["cancelAppointmentSeries"]["appointments"].as_array();
    appts.unwrap_or_else(|| panic!("{body}")).iter().map(|a| a["status"].as_str().unwrap()).collect()
}

fn extension<'a>(body: &'a Value, name: &str) -> &'a Value {
    &body["errors"][0]["extensions"][name]
}

/// The first date from `min_days` on whose UTC offset in `tz` differs from the day before's:
/// the next clock change there.
fn next_clock_change(tz: Tz, min_days: i64) -> NaiveDate {
    let noon = |d: NaiveDate| {
        let local = tz.from_local_datetime(&d.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())).earliest().unwrap();
        local.offset().fix().local_minus_utc()
    };
    let mut day = Utc::now().date_naive() + TimeDelta::days(min_days);
    while noon(day) == noon(day - TimeDelta::days(1)) {
        day += TimeDelta::days(1);
    }
    day
}

/// Six weekly visits at 09:00 Berlin time that cross the next clock change: every one is at 09:00
/// local, and the UTC instant moves by one hour across it.
#[tokio::test]
async fn a_weekly_series_across_the_next_clock_change_keeps_its_local_time() {
    // Arrange: the first visit two weeks before the change (at least two days from now).
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "Europe/Berlin").await;
    let change = next_clock_change(chrono_tz::Europe::Berlin, 16);
    let first = change - TimeDelta::days(14);
    let input = json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "09:00", "Europe/Berlin"), "reasonForVisit": "Knee rehabilitation" });

    // Act
    let body = book_series(&app, &patient, input, json!({ "count": 6 })).await;

    // Assert
    let series = series_of(&body);
    assert_eq!(series["intervalWeeks"], 1, "weekly by default");
    assert_eq!(series["count"], 6);
    let appts = occurrences(series);
    assert_eq!(appts.len(), 6);
    for (k, a) in appts.iter().enumerate() {
        let day = first + TimeDelta::weeks(i64::try_from(k).unwrap());
        assert_eq!(a["occurrence"], k + 1);
        assert_eq!(a["time"], "09:00:00", "occurrence {} keeps 09:00 local: {body}", k + 1);
        assert_eq!(a["date"], day.to_string());
        assert_eq!(a["startsAt"].as_str().unwrap(), utc_of_local(day, "09:00", "Europe/Berlin"));
        assert_eq!(a["status"], "PENDING", "a patient's booking");
        assert_eq!(a["series"]["id"], series["id"]);
    }
    let (before, after) = (at(appts[0]["startsAt"].as_str().unwrap()), at(appts[5]["startsAt"].as_str().unwrap()));
    let shift = (after - before - TimeDelta::weeks(5)).num_minutes().abs();
    assert_eq!(shift, 60, "the UTC instant moved by the clock change: {before} → {after}");
}

/// Every two weeks: three visits 14 days apart.
#[tokio::test]
async fn a_series_every_two_weeks_steps_two_weeks() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let first = upcoming(2, 2);
    let input = json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "10:00", "UTC"), "reasonForVisit": "Follow-up" });

    let body = book_series(&app, &patient, input, json!({ "intervalWeeks": 2, "count": 3 })).await;

    let series = series_of(&body);
    assert_eq!(series["intervalWeeks"], 2);
    let starts: Vec<_> = occurrences(series).iter().map(|a| at(a["startsAt"].as_str().unwrap())).collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[1] - starts[0], TimeDelta::weeks(2));
    assert_eq!(starts[2] - starts[1], TimeDelta::weeks(2));
}

/// The series' own input is refused before any occurrence is looked at: a hold first, then the
/// recurrence's bounds; none of these errors names an occurrence.
#[tokio::test]
async fn a_hold_and_recurrence_bounds_are_refused_before_any_occurrence() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let starts_at = utc_of_local(upcoming(1, 2), "09:00", "UTC");
    let input = json!({ "doctorId": doctor.id, "startsAt": starts_at, "reasonForVisit": "Check" });
    let with_hold = json!({ "doctorId": doctor.id, "startsAt": starts_at, "reasonForVisit": "Check", "holdId": uuid::Uuid::now_v7() });

    for (input, recurrence, want) in [
        (&with_hold, json!({ "intervalWeeks": 9, "count": 1 }), "holdId"),
        (&input, json!({ "intervalWeeks": 0, "count": 3 }), "intervalWeeks"),
        (&input, json!({ "intervalWeeks": 5, "count": 3 }), "intervalWeeks"),
        (&input, json!({ "intervalWeeks": 1, "count": 1 }), "count"),
        (&input, json!({ "count": 27 }), "count"),
    ] {
        let body = book_series(&app, &patient, input.clone(), recurrence.clone()).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{recurrence}: {body}");
        assert_eq!(field(&body), Some(want), "{recurrence}: {body}");
        assert!(extension(&body, "occurrence").is_null(), "a series-wide error names no occurrence: {body}");
    }
    // Who books for whom is the series' too: a patient naming another patient is refused as a
    // whole, naming no occurrence.
    let other = app.patient().await;
    let for_other =
        json!({ "doctorId": doctor.id, "patientId": other.id, "startsAt": starts_at, "reasonForVisit": "Check" });
    let body = book_series(&app, &patient, for_other, json!({ "count": 2 })).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    assert!(extension(&body, "occurrence").is_null(), "{body}");
    // The edges are accepted.
    let body = book_series(&app, &patient, input, json!({ "intervalWeeks": 4, "count": 2 })).await;
    assert_eq!(occurrences(series_of(&body)).len(), 2);
    assert_eq!(app.count_rows("appointment_series").await, 1);
}

/// An occurrence whose time another patient already booked fails the series: `CONFLICT` naming
/// that occurrence and its start, and nothing of the series is written.
#[tokio::test]
async fn an_occurrence_that_clashes_fails_the_whole_series_and_names_it() {
    // Arrange: someone else holds the third week's 09:00.
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let other = app.patient().await;
    let first = upcoming(3, 2);
    let third = utc_of_local(first + TimeDelta::weeks(2), "09:00", "UTC");
    let body = app
        .gql(
            Some(&other.access),
            BOOK,
            json!({ "i": { "doctorId": doctor.id, "startsAt": third, "reasonForVisit": "Mine" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (appointments, events, emails) = (
        app.count_rows("appointments").await,
        app.count_rows("appointment_events").await,
        app.count_rows("outbox").await,
    );

    // Act
    let input =
        json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "09:00", "UTC"), "reasonForVisit": "Course" });
    let body = book_series(&app, &patient, input, json!({ "count": 4 })).await;

    // Assert
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    assert_eq!(field(&body), Some("startsAt"));
    assert_eq!(extension(&body, "occurrence"), 3, "{body}");
    assert_eq!(extension(&body, "startsAt").as_str().unwrap(), third);
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(app.count_rows("appointments").await, appointments, "no occurrence is kept");
    assert_eq!(app.count_rows("appointment_series").await, 0, "nor the series");
    assert_eq!(app.count_rows("appointment_events").await, events);
    assert_eq!(app.count_rows("outbox").await, emails, "no email, no reminder");
}

/// A series racing single bookings of one of its times, all fired at once, several rounds: the
/// series is either there whole or not at all, each time is booked once, and nobody gets a 5xx.
#[tokio::test]
async fn a_series_racing_single_bookings_of_its_times_is_whole_or_absent() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let others = [app.patient().await, app.patient().await, app.patient().await];
    let mut whole = 0_u8;
    // Head starts (ms) of the series and of the singles by round: which side reaches the database
    // first differs by backend and load, so the rounds give each side the lead in turn.
    let leads: [(u64, u64); 6] = [(0, 0), (0, 25), (25, 0), (0, 5), (5, 0), (0, 0)];
    for (round, (series_after, singles_after)) in (0_i64..).zip(leads) {
        // Arrange: a fresh hour each round; the singles go for the series' second and fourth weeks.
        let first = upcoming(0, 2) + TimeDelta::days(round);
        let hour = format!("{:02}:00", 8 + round % 4);
        let second = utc_of_local(first + TimeDelta::weeks(1), &hour, "UTC");
        let fourth = utc_of_local(first + TimeDelta::weeks(3), &hour, "UTC");
        let input =
            json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, &hour, "UTC"), "reasonForVisit": "Course" });

        // Act
        let app = &app;
        let series = async {
            tokio::time::sleep(Duration::from_millis(series_after)).await;
            book_series(app, &patient, input, json!({ "count": 4 })).await
        };
        let singles = others.iter().enumerate().map(|(i, p)| {
            let starts_at = if i == 1 { &fourth } else { &second };
            let i = json!({ "doctorId": doctor.id, "startsAt": starts_at, "reasonForVisit": "Single" });
            async move {
                tokio::time::sleep(Duration::from_millis(singles_after)).await;
                app.gql(Some(&p.access), BOOK, json!({ "i": i })).await
            }
        });
        let (series, singles) = tokio::join!(series, futures_util::future::join_all(singles));

        // Assert
        for body in singles.iter().chain([&series]) {
            if let Some(c) = code(body) {
                assert_eq!(c, "CONFLICT", "only clashes, never a 5xx: {body}");
            }
        }
        let booked_singles = singles.iter().filter(|b| b["errors"].is_null()).count();
        if series["errors"].is_null() {
            whole += 1;
            assert_eq!(occurrences(series_of(&series)).len(), 4);
            assert_eq!(booked_singles, 0, "the series holds both times: {singles:?}");
        } else {
            assert_eq!(code(&series), Some("CONFLICT"));
            let k = extension(&series, "occurrence");
            assert!(*k == 2 || *k == 4, "{series}");
            assert!((1..=2).contains(&booked_singles), "a single took a time of the series: {singles:?}");
        }
        // The patient's appointments are the series' occurrences only: four per whole series.
        let mine = app.gql(Some(&patient.access), "{ appointments { totalCount } }", json!({})).await;
        assert_eq!(mine["data"]["appointments"]["totalCount"], 4 * whole, "never a part of a series: {mine}");
    }
    assert_eq!(app.count_rows("appointment_series").await, i64::from(whole));
}

/// Booking a series sends each party one `APPOINTMENT_SERIES` email (with the series' header and
/// every date) and no per-occurrence notification; reminders stay per occurrence.
#[tokio::test]
async fn a_series_sends_one_email_per_party_listing_every_date_and_reminders_per_occurrence() {
    let app = TestApp::spawn().await;
    let (admin, doctor, patient) = clinic(&app, "Europe/Berlin").await;
    let first = upcoming(1, 3);
    let input = json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "10:30", "Europe/Berlin"), "reasonForVisit": "Private-reason-4411" });

    let body = book_series(&app, &patient, input, json!({ "count": 3 })).await;

    let series = series_of(&body);
    let id = series["id"].as_str().unwrap();
    let first_id = occurrences(series)[0]["id"].as_str().unwrap();
    let emails = app.outbox_emails(2).await;
    assert_eq!(emails.len(), 2, "one per party");
    for email in &emails {
        assert!(email.contains("Subject: Appointment series booked"), "{email}");
        assert!(email.contains("X-CyberMed-Kind: appointment-series"), "{email}");
        assert!(email.contains(&format!("X-CyberMed-Series: {id}")), "{email}");
        assert!(email.contains(&format!("X-CyberMed-Appointment: {first_id}")), "occurrence 1's id: {email}");
        for k in 0..3 {
            let date = format!("{} 10:30 (Europe/Berlin)", (first + TimeDelta::weeks(k)).format("%A %-d %B %Y,"));
            assert!(email.contains(&date), "{date}: {email}");
        }
        assert!(!email.contains("Private-reason-4411"), "no health data");
    }
    let to: Vec<bool> =
        [&patient, &doctor].iter().map(|p| emails.iter().any(|e| e.contains(&format!("To: {}", p.email)))).collect();
    assert_eq!(to, [true, true], "the patient and the doctor");
    assert_eq!(app.count_rows("outbox WHERE kind IN ('APPOINTMENT_REQUESTED', 'APPOINTMENT_CONFIRMED')").await, 0);
    assert_eq!(app.count_rows("outbox WHERE kind = 'APPOINTMENT_SERIES'").await, 2);
    // Default leads 24h and 2h, all ahead: two reminders per occurrence, one per occurrence and lead.
    assert_eq!(app.count_rows("outbox WHERE kind = 'APPOINTMENT_REMINDER'").await, 6);
    for a in occurrences(series) {
        let q = "query($a: UUID!) { outbox(appointmentId: $a) { edges { node { kind } } } }";
        let body = app.gql(Some(&admin.access), q, json!({ "a": a["id"] })).await;
        let kinds: Vec<&str> = body["data"]["outbox"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap())
            .collect();
        let reminders = kinds.iter().filter(|k| **k == "APPOINTMENT_REMINDER").count();
        assert_eq!(reminders, 2, "each occurrence has its own reminders: {body}");
    }
    // Events stay per occurrence, and the audit has the series and each occurrence.
    assert_eq!(app.count_rows("appointment_events").await, 3);
    assert_eq!(app.count_rows("audit_log WHERE action = 'appointment_series.create'").await, 1);
    assert_eq!(app.count_rows("audit_log WHERE action = 'appointment.create'").await, 3);
}

/// Cancelling from occurrence 3 cancels 3..=count (1 and 2 stay), sends each party one
/// `APPOINTMENT_CANCELLED` email with the series header listing the cancelled dates, and records
/// one event per occurrence; a `fromOccurrence` outside the series is refused.
#[tokio::test]
async fn cancelling_from_occurrence_three_cancels_the_rest_with_one_email_per_party() {
    // Arrange: a doctor's series (confirmed), its emails delivered.
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let first = upcoming(4, 2);
    let input =
        json!({ "patientId": patient.id, "startsAt": utc_of_local(first, "11:00", "UTC"), "reasonForVisit": "Course" });
    let body = book_series(&app, &doctor, input, json!({ "count": 5 })).await;
    let series = series_of(&body);
    let id = series["id"].as_str().unwrap().to_owned();
    assert!(occurrences(series).iter().all(|a| a["status"] == "CONFIRMED"), "a doctor's booking: {body}");
    app.outbox_emails(2).await;

    // Act
    for bad in [0, 6] {
        let body = app.gql(Some(&patient.access), CANCEL_SERIES, json!({ "id": id, "from": bad })).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(field(&body), Some("fromOccurrence"));
    }
    let body =
        app.gql(Some(&patient.access), CANCEL_SERIES, json!({ "id": id, "from": 3, "why": "Moving away" })).await;

    // Assert
    let statuses = cancelled_statuses(&body);
    assert_eq!(statuses, ["CONFIRMED", "CONFIRMED", "CANCELLED", "CANCELLED", "CANCELLED"]);
    let emails = app.outbox_emails(4).await;
    let cancelled: Vec<&String> =
        emails.iter().filter(|e| e.contains("X-CyberMed-Kind: appointment-cancelled")).collect();
    assert_eq!(cancelled.len(), 2, "one per party: {emails:?}");
    for email in cancelled {
        assert!(email.contains(&format!("X-CyberMed-Series: {id}")), "{email}");
        assert!(email.contains("Subject: Appointment cancelled"), "{email}");
        for k in 0..5 {
            let date = (first + TimeDelta::weeks(k)).format("%A %-d %B %Y, 11:00 (UTC)").to_string();
            assert_eq!(email.contains(&date), k >= 2, "week {k}: {email}");
        }
    }
    assert_eq!(app.count_rows("appointment_events WHERE kind = 'CANCELLED'").await, 3, "events per occurrence");
    assert_eq!(app.count_rows("audit_log WHERE action = 'appointment_series.cancel'").await, 1);
    assert_eq!(app.count_rows("audit_log WHERE action = 'appointment.cancel'").await, 3);
    assert_eq!(
        app.count_rows("outbox WHERE kind = 'APPOINTMENT_REMINDER' AND status = 'PENDING'").await,
        4,
        "reminders of 1 and 2 stay"
    );
}

/// A patient's cancellation cutoff leaves the occurrences inside it as they are; the others are
/// cancelled.
#[tokio::test]
async fn a_patients_cutoff_leaves_the_occurrences_inside_it() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let q = "mutation($i: VisitTypeInput!) { createVisitType(input: $i) { id } }";
    let body = app
        .gql(
            Some(&doctor.access),
            q,
            json!({ "i": { "name": "Physio", "durationMinutes": 30, "patientCancelCutoffMinutes": 4320 } }),
        )
        .await;
    let visit_type = body["data"]["createVisitType"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    // The first visit two days ahead: inside the three-day cutoff; the second nine days ahead.
    let first = Utc::now().date_naive() + TimeDelta::days(2);
    let input = json!({ "doctorId": doctor.id, "visitTypeId": visit_type, "startsAt": utc_of_local(first, "09:00", "UTC"), "reasonForVisit": "Course" });
    let body = book_series(&app, &patient, input, json!({ "count": 3 })).await;
    let id = series_of(&body)["id"].as_str().unwrap().to_owned();

    let body = app.gql(Some(&patient.access), CANCEL_SERIES, json!({ "id": id })).await;

    let statuses = cancelled_statuses(&body);
    assert_eq!(statuses, ["PENDING", "CANCELLED", "CANCELLED"], "{body}");
    // The doctor is not bound by the patient's cutoff.
    let body = app.gql(Some(&doctor.access), CANCEL_SERIES, json!({ "id": id })).await;
    assert_eq!(body["data"]["cancelAppointmentSeries"]["appointments"][0]["status"], "CANCELLED", "{body}");
}

/// `series` and `occurrence` on an appointment (null for a single one); another patient may not
/// know the series (`NOT_FOUND`), nor its appointments; a page of appointments asking for their
/// series costs the same number of statements whatever its size.
#[tokio::test]
async fn series_fields_follow_the_appointment_privacy_and_cost_constant_statements() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let stranger = app.patient().await;
    let first = upcoming(5, 2);
    let input =
        json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "08:30", "UTC"), "reasonForVisit": "Course" });
    let body = book_series(&app, &patient, input, json!({ "count": 4 })).await;
    let series = series_of(&body).clone();
    let second = occurrences(&series)[1]["id"].as_str().unwrap().to_owned();
    let single = app
        .gql(Some(&patient.access), BOOK, json!({ "i": { "doctorId": doctor.id, "startsAt": utc_of_local(first, "11:00", "UTC"), "reasonForVisit": "One" } }))
        .await;
    let single = single["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();

    // The fields, for both parties.
    for who in [&patient, &doctor] {
        let body = app.gql(Some(&who.access), ONE, json!({ "id": second })).await;
        let a = &body["data"]["appointment"];
        assert_eq!(a["occurrence"], 2, "{body}");
        assert_eq!(a["series"]["id"], series["id"]);
        assert_eq!(a["series"]["count"], 4);
        let ks: Vec<_> =
            a["series"]["appointments"].as_array().unwrap().iter().map(|o| o["occurrence"].clone()).collect();
        assert_eq!(ks, [1, 2, 3, 4], "in occurrence order");
    }
    let body = app.gql(Some(&patient.access), ONE, json!({ "id": single })).await;
    assert!(body["data"]["appointment"]["series"].is_null(), "{body}");
    assert!(body["data"]["appointment"]["occurrence"].is_null());

    // Someone else.
    let body = app.gql(Some(&stranger.access), ONE, json!({ "id": second })).await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    let body = app.gql(Some(&stranger.access), CANCEL_SERIES, json!({ "id": series["id"] })).await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    let body = app.gql(Some(&stranger.access), CANCEL_SERIES, json!({ "id": uuid::Uuid::now_v7() })).await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    let body = app.gql(Some(&patient.access), ONE, json!({ "id": second })).await;
    assert_eq!(body["data"]["appointment"]["series"]["appointments"][0]["occurrence"], 1, "unchanged: {body}");

    // A page asking each appointment's series: the statements do not grow with the page.
    let page = "query($n: Int) { appointments(first: $n) { edges { node { id occurrence series { id count appointments { id } } } } } }";
    let (small, body) = app.statements_for(Some(&patient.access), page, json!({ "n": 2 })).await;
    assert!(body["errors"].is_null(), "{body}");
    let (large, body) = app.statements_for(Some(&patient.access), page, json!({ "n": 5 })).await;
    assert_eq!(body["data"]["appointments"]["edges"].as_array().unwrap().len(), 5);
    assert_eq!(small, large, "a constant number of statements");

    // A single occurrence moves with the usual mutation and stays in its series.
    let moved = utc_of_local(first + TimeDelta::weeks(1), "10:00", "UTC");
    let q = "mutation($id: UUID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) { startsAt occurrence series { id } } }";
    let body = app.gql(Some(&patient.access), q, json!({ "id": second, "at": moved })).await;
    let a = &body["data"]["rescheduleAppointment"];
    assert_eq!(a["startsAt"].as_str(), Some(moved.as_str()), "{body}");
    assert_eq!(a["occurrence"], 2);
    assert_eq!(a["series"]["id"], series["id"]);
}

/// A local time that does not exist on an occurrence's day (the clocks jump over it) fails the
/// series as that occurrence: `BAD_USER_INPUT` on `startsAt`.
#[tokio::test]
async fn a_local_time_that_does_not_exist_fails_as_that_occurrence() {
    // Arrange: 02:30 does not exist on the day clocks go forward; the zone whose next such day is
    // nearest (Berlin in spring, Sydney in spring down under), at least nine days from now.
    let app = TestApp::spawn().await;
    let gap = |tz: Tz| {
        let mut day = Utc::now().date_naive() + TimeDelta::days(9);
        while tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(2, 30, 0).unwrap())).earliest().is_some() {
            day += TimeDelta::days(1);
        }
        day
    };
    let (tz, day) = [chrono_tz::Europe::Berlin, chrono_tz::Australia::Sydney]
        .into_iter()
        .map(|tz| (tz, gap(tz)))
        .min_by_key(|(_, d)| *d)
        .unwrap();
    let (admin, _, patient) = clinic(&app, "UTC").await;
    let doctor = app.doctor("GP", tz.name(), 30, Some(&admin)).await;
    let first = day - TimeDelta::weeks(1);
    let starts_at =
        tz.from_local_datetime(&first.and_time(NaiveTime::from_hms_opt(2, 30, 0).unwrap())).single().unwrap();

    // Act: a doctor may book outside availability.
    let input =
        json!({ "patientId": patient.id, "startsAt": starts_at.to_utc().to_rfc3339(), "reasonForVisit": "Night" });
    let body = book_series(&app, &doctor, input, json!({ "count": 3 })).await;

    // Assert
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(field(&body), Some("startsAt"));
    assert_eq!(extension(&body, "occurrence"), 2, "{body}");
    assert!(extension(&body, "startsAt").is_string(), "{body}");
    assert_eq!(app.count_rows("appointments").await, 0);
}

/// The upcoming limits count the series' own occurrences: the one past the limit fails the series
/// as that occurrence (`FORBIDDEN`, `TOO_MANY_UPCOMING`).
#[tokio::test]
async fn the_upcoming_limit_counts_the_series_own_occurrences() {
    let app = TestApp::spawn_with(&[("MAX_UPCOMING_PER_DOCTOR_PAIR", "3")]).await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let first = upcoming(2, 2);
    let input =
        json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "09:30", "UTC"), "reasonForVisit": "Course" });

    let body = book_series(&app, &patient, input.clone(), json!({ "count": 4 })).await;

    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    assert_eq!(extension(&body, "reason"), "TOO_MANY_UPCOMING");
    assert_eq!(extension(&body, "occurrence"), 4);
    assert_eq!(app.count_rows("appointments").await, 0);
    let body = book_series(&app, &patient, input, json!({ "count": 3 })).await;
    assert_eq!(occurrences(series_of(&body)).len(), 3);
}

/// Each occurrence is an ordinary appointment in the calendar feed and in FHIR.
#[tokio::test]
async fn each_occurrence_is_in_the_calendar_feed_and_in_fhir() {
    let app = TestApp::spawn().await;
    let (_, doctor, patient) = clinic(&app, "UTC").await;
    let first = upcoming(6, 2);
    let input =
        json!({ "doctorId": doctor.id, "startsAt": utc_of_local(first, "10:00", "UTC"), "reasonForVisit": "Course" });
    let body = book_series(&app, &patient, input, json!({ "count": 3 })).await;
    let ids: Vec<String> = occurrences(series_of(&body)).iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();

    let feed = app.gql(Some(&patient.access), "mutation { createCalendarFeed { url } }", json!({})).await;
    let url = feed["data"]["createCalendarFeed"]["url"].as_str().unwrap().replace("http://clinic.test", "");
    let ics = app.client.get(app.url(&url)).send().await.unwrap().text().await.unwrap();
    for id in &ids {
        assert!(ics.contains(&format!("UID:{id}@cybermed")), "{id} in the feed: {ics}");
    }

    let bundle: Value = app
        .client
        .get(app.url(&format!("/fhir/r4/Appointment?patient={}", patient.id)))
        .bearer_auth(&patient.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bundle["total"], 3, "{bundle}");
    let found: Vec<&str> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    for id in &ids {
        assert!(found.contains(&id.as_str()), "{id} in FHIR: {bundle}");
    }
}
