//! Appointment notifications and reminders: the outbox rows written in the transaction of each
//! appointment change (the sender that delivers them is tested apart), and the `emailReminders`
//! preference.
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cybermed::{db::entities::outbox_email, domain::appointments::notices::reminder_still_wanted, outbox::EmailKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    appointments::Clinic,
    helpers::{Session, code, field, upcoming, utc_of_local},
};

/// A reason for visit no email may ever contain.
const REASON: &str = "Recurring migraine with aura zq7x";
const CANCEL_REASON: &str = "Diagnosed elsewhere kv3p";

const RESCHEDULE: &str =
    "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id startsAt } }";

/// A clinic whose doctor (in `tz`) is Dr Greta Hausarzt and whose patient is Pia Patient.
async fn clinic(tz: &str, settings: &[(&str, &str)]) -> Clinic {
    let c = Clinic::open_with(tz, settings).await;
    for (who, first, last) in [(&c.doctor, "Greta", "Hausarzt"), (&c.patient, "Pia", "Patient")] {
        rename(&c, who, first, last).await;
    }
    c
}

async fn rename(c: &Clinic, who: &Session, first: &str, last: &str) {
    let body = c
        .app
        .gql(
            Some(&who.access),
            "mutation($f: String, $l: String) { updateMe(input: { firstName: $f, lastName: $l }) { id } }",
            json!({ "f": first, "l": last }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Every outbox row, oldest first.
async fn rows(c: &Clinic) -> Vec<outbox_email::Model> {
    outbox_email::Entity::find().order_by_asc(outbox_email::Column::Id).all(&c.app.state.db).await.unwrap()
}

/// The outbox rows of one appointment of one kind, oldest first.
async fn rows_of(c: &Clinic, appointment: &str, kind: EmailKind) -> Vec<outbox_email::Model> {
    outbox_email::Entity::find()
        .filter(outbox_email::Column::AppointmentId.eq(uuid(appointment)))
        .filter(outbox_email::Column::Kind.eq(kind))
        .order_by_asc(outbox_email::Column::DueAt)
        .all(&c.app.state.db)
        .await
        .unwrap()
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().unwrap()
}

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// How an email writes an instant: the doctor's local date and time, with the zone's name.
fn local(s: &str, tz: &str) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap();
    format!("{} ({tz})", instant(s).with_timezone(&zone).format("%A %-d %B %Y, %H:%M"))
}

async fn book(c: &Clinic, who: &Session, input: Value) -> Value {
    let body = c.book(who, input).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["createAppointment"].clone()
}

/// Checks the notifications of one event: one to the patient and one to the doctor, of `kind`
/// with `subject`, due now, naming the doctor and `texts`.
fn assert_notified(c: &Clinic, emails: &[outbox_email::Model], kind: EmailKind, subject: &str, texts: &[&str]) {
    let mut to: Vec<(String, String)> =
        emails.iter().map(|e| (e.recipient_id.unwrap().to_string(), e.to_address.clone())).collect();
    to.sort();
    let mut expected =
        vec![(c.patient.id.clone(), c.patient.email.clone()), (c.doctor.id.clone(), c.doctor.email.clone())];
    expected.sort();
    assert_eq!(to, expected, "one {kind:?} to each party");
    for e in emails {
        assert_eq!((e.kind, e.subject.as_str()), (kind, subject));
        assert!(e.starts_at.is_none(), "a notification is not a reminder");
        assert!(e.body.contains("Dr Greta Hausarzt"), "names the doctor:\n{}", e.body);
        for t in texts {
            assert!(e.body.contains(t), "{t:?} missing from:\n{}", e.body);
        }
    }
}

#[tokio::test]
async fn every_booking_event_emails_the_patient_and_the_doctor_in_the_doctors_zone_without_health_data() {
    let tz = "Europe/Berlin";
    let c = clinic(tz, &[]).await;
    let day = upcoming(1, 7);
    let first = utc_of_local(day, "09:00", tz);
    let moved = utc_of_local(day, "14:30", tz);

    // A patient's booking is requested.
    let a = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": first, "reasonForVisit": REASON })).await;
    let id = a["id"].as_str().unwrap();
    let requested = rows_of(&c, id, EmailKind::AppointmentRequested).await;
    assert_notified(&c, &requested, EmailKind::AppointmentRequested, "Appointment requested", &[&local(&first, tz)]);
    assert!(requested[0].body.contains(" (Europe/Berlin)"));

    // Confirmed by the doctor.
    assert!(c.act(&c.doctor, "confirmAppointment", id).await["errors"].is_null());
    let confirmed = rows_of(&c, id, EmailKind::AppointmentConfirmed).await;
    assert_notified(&c, &confirmed, EmailKind::AppointmentConfirmed, "Appointment confirmed", &[&local(&first, tz)]);

    // Moved by the patient: the new time and the old one.
    let body = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": moved })).await;
    assert!(body["errors"].is_null(), "{body}");
    let rescheduled = rows_of(&c, id, EmailKind::AppointmentRescheduled).await;
    assert_notified(
        &c,
        &rescheduled,
        EmailKind::AppointmentRescheduled,
        "Appointment rescheduled",
        &[&local(&moved, tz), &local(&first, tz)],
    );

    // Cancelled by the doctor, with a reason that stays out of the email.
    let body = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($id: UUID!, $r: String) { cancelAppointment(id: $id, reason: $r) { status } }",
            json!({ "id": id, "r": CANCEL_REASON }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let cancelled = rows_of(&c, id, EmailKind::AppointmentCancelled).await;
    assert_notified(&c, &cancelled, EmailKind::AppointmentCancelled, "Appointment cancelled", &[&local(&moved, tz)]);

    // A doctor's booking is confirmed at once.
    let other = utc_of_local(day, "11:00", tz);
    let b =
        book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": other, "reasonForVisit": REASON })).await;
    let b_confirmed = rows_of(&c, b["id"].as_str().unwrap(), EmailKind::AppointmentConfirmed).await;
    assert_notified(&c, &b_confirmed, EmailKind::AppointmentConfirmed, "Appointment confirmed", &[&local(&other, tz)]);
    assert!(rows_of(&c, b["id"].as_str().unwrap(), EmailKind::AppointmentRequested).await.is_empty());

    let all = rows(&c).await;
    assert_eq!(all.iter().filter(|e| e.kind != EmailKind::AppointmentReminder).count(), 10, "2 per event");
    for e in &all {
        for secret in [REASON, "migraine", CANCEL_REASON] {
            assert!(!e.body.contains(secret) && !e.subject.contains(secret), "health data in:\n{}", e.body);
        }
    }
}

#[tokio::test]
async fn completing_an_appointment_or_marking_a_no_show_emails_nobody() {
    let mut c = clinic("UTC", &[]).await;
    let soon = |minutes: i64| {
        let t = Utc::now() + TimeDelta::minutes(minutes);
        t.format("%Y-%m-%dT%H:%M:00Z").to_string()
    };
    let done = book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": soon(60) })).await;
    let missed = book(&c, &c.doctor, json!({ "patientId": c.patient.id, "startsAt": soon(120) })).await;
    let before = rows(&c).await.len();
    c.advance(Duration::from_secs(4 * 3600)).await;

    let body = c.act(&c.doctor, "completeAppointment", done["id"].as_str().unwrap()).await;
    assert_eq!(body["data"]["completeAppointment"]["status"], "COMPLETED", "{body}");
    let body = c.act(&c.doctor, "markNoShow", missed["id"].as_str().unwrap()).await;
    assert_eq!(body["data"]["markNoShow"]["status"], "NO_SHOW", "{body}");
    assert_eq!(rows(&c).await.len(), before);
}

#[tokio::test]
async fn the_patient_gets_a_reminder_per_lead_due_that_long_before_the_start_but_none_for_a_lead_already_past() {
    let c = clinic("UTC", &[("REMINDER_LEADS", "90s,48h")]).await;
    // Tomorrow 10:00 UTC is always less than 48 hours and more than 90 seconds away.
    let tomorrow = format!("{}T10:00:00Z", Utc::now().date_naive() + chrono::Days::new(1));
    let later = format!("{}T10:00:00Z", upcoming(2, 7));

    let near = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": tomorrow })).await;
    let far = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": later })).await;

    for (appt, starts, leads) in [(&near, &tomorrow, vec![90]), (&far, &later, vec![48 * 3600, 90])] {
        let reminders = rows_of(&c, appt["id"].as_str().unwrap(), EmailKind::AppointmentReminder).await;
        let starts = instant(starts);
        let due: Vec<_> = reminders.iter().map(|r| r.due_at).collect();
        let expected: Vec<_> = leads.iter().map(|s| starts - TimeDelta::seconds(*s)).collect();
        assert_eq!(due, expected, "one reminder per lead not yet past");
        for r in &reminders {
            assert_eq!(r.subject, "Appointment reminder");
            assert_eq!(r.starts_at, Some(starts));
            assert_eq!(r.recipient_id, Some(uuid(&c.patient.id)));
            assert_eq!(r.to_address, c.patient.email);
            assert!(r.body.contains("Dr Greta Hausarzt") && r.body.contains(&local(&starts.to_rfc3339(), "UTC")));
        }
    }
}

#[tokio::test]
async fn by_default_reminders_are_due_a_day_and_two_hours_before() {
    let c = clinic("Asia/Kolkata", &[]).await;
    let starts = utc_of_local(upcoming(3, 7), "09:30", "Asia/Kolkata");
    let a = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": starts })).await;
    let reminders = rows_of(&c, a["id"].as_str().unwrap(), EmailKind::AppointmentReminder).await;
    let due: Vec<_> = reminders.iter().map(|r| r.due_at).collect();
    assert_eq!(due, vec![instant(&starts) - TimeDelta::hours(24), instant(&starts) - TimeDelta::hours(2)]);
    assert!(reminders[0].body.contains(&local(&starts, "Asia/Kolkata")), "{}", reminders[0].body);
}

#[tokio::test]
async fn cancelling_drops_the_reminders_and_rescheduling_moves_them() {
    let c = clinic("UTC", &[]).await;
    let day = upcoming(4, 7);
    let (cancel_at, move_at, moved_to) =
        (format!("{day}T09:00:00Z"), format!("{day}T12:00:00Z"), format!("{day}T15:00:00Z"));
    let cancelled = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": cancel_at })).await;
    let moved = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": move_at })).await;
    let (cancelled, moved) = (cancelled["id"].as_str().unwrap(), moved["id"].as_str().unwrap());
    let cancelled_reminder = rows_of(&c, cancelled, EmailKind::AppointmentReminder).await.remove(0);
    let old_reminder = rows_of(&c, moved, EmailKind::AppointmentReminder).await.remove(0);
    let db = &c.app.state.db;
    assert!(reminder_still_wanted(db, &cancelled_reminder).await.unwrap());
    assert!(reminder_still_wanted(db, &old_reminder).await.unwrap());

    assert!(c.act(&c.patient, "cancelAppointment", cancelled).await["errors"].is_null());
    assert!(rows_of(&c, cancelled, EmailKind::AppointmentReminder).await.is_empty());
    assert!(!reminder_still_wanted(db, &cancelled_reminder).await.unwrap(), "not for a cancelled appointment");

    let body = c.app.gql(Some(&c.doctor.access), RESCHEDULE, json!({ "id": moved, "s": moved_to })).await;
    assert!(body["errors"].is_null(), "{body}");
    let reminders = rows_of(&c, moved, EmailKind::AppointmentReminder).await;
    let new_start = instant(&moved_to);
    assert_eq!(
        reminders.iter().map(|r| (r.due_at, r.starts_at)).collect::<Vec<_>>(),
        vec![(new_start - TimeDelta::hours(24), Some(new_start)), (new_start - TimeDelta::hours(2), Some(new_start))],
        "the old ones are gone, new ones are due before the new time"
    );
    assert!(!reminder_still_wanted(db, &old_reminder).await.unwrap(), "not for the old time of a moved appointment");
    assert!(reminder_still_wanted(db, &reminders[0]).await.unwrap());
}

#[tokio::test]
async fn a_patient_who_turns_reminders_off_gets_none_and_loses_the_pending_ones() {
    let c = clinic("UTC", &[]).await;
    let day = upcoming(5, 7);
    let first = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": format!("{day}T09:00:00Z") })).await;
    let first = first["id"].as_str().unwrap();
    let reminder = rows_of(&c, first, EmailKind::AppointmentReminder).await.remove(0);
    assert!(reminder_still_wanted(&c.app.state.db, &reminder).await.unwrap());

    let body = c
        .app
        .gql(
            Some(&c.patient.access),
            "mutation { updateMe(input: { emailReminders: false }) { emailReminders } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["updateMe"]["emailReminders"], false, "{body}");
    assert!(rows_of(&c, first, EmailKind::AppointmentReminder).await.is_empty(), "the pending ones are dropped");
    assert!(!reminder_still_wanted(&c.app.state.db, &reminder).await.unwrap(), "not for a patient who opted out");
    assert_eq!(rows_of(&c, first, EmailKind::AppointmentRequested).await.len(), 2, "notifications stay");

    let second = book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": format!("{day}T11:00:00Z") })).await;
    let second = second["id"].as_str().unwrap();
    assert!(rows_of(&c, second, EmailKind::AppointmentReminder).await.is_empty());
    assert_eq!(rows_of(&c, second, EmailKind::AppointmentRequested).await.len(), 2, "notifications still come");
}

#[tokio::test]
async fn email_reminders_is_seen_by_the_user_admins_and_the_other_party_but_not_by_others() {
    let c = clinic("UTC", &[]).await;
    let stranger = c.app.patient().await;
    let body = c
        .app
        .gql(Some(&c.patient.access), "mutation { updateMe(input: { emailReminders: false }) { id } }", json!({}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let a =
        book(&c, &c.patient, json!({ "doctorId": c.doctor.id, "startsAt": format!("{}T09:00:00Z", upcoming(0, 7)) }))
            .await;

    assert_eq!(reminders_seen(&c, &c.patient, None).await, false);
    assert_eq!(reminders_seen(&c, &c.doctor, None).await, true, "on by default");
    assert_eq!(reminders_seen(&c, &c.admin, Some(&c.patient.id)).await, false);
    assert_eq!(reminders_seen(&c, &c.doctor, Some(&c.patient.id)).await, false, "the other party");
    assert_eq!(reminders_seen(&c, &c.patient, Some(&c.doctor.id)).await, true, "the other party");
    assert_eq!(reminders_seen(&c, &stranger, Some(&c.doctor.id)).await, Value::Null, "not for others");

    let appt = "query($id: UUID!) { appointment(id: $id) { patient { emailReminders } doctor { emailReminders } } }";
    let body = c.app.gql(Some(&c.doctor.access), appt, json!({ "id": a["id"] })).await;
    assert_eq!(
        body["data"]["appointment"],
        json!({ "patient": { "emailReminders": false }, "doctor": { "emailReminders": true } })
    );
}

/// `emailReminders` of the user `id` (the viewer themself when `None`) as `viewer` sees it.
async fn reminders_seen(c: &Clinic, viewer: &Session, id: Option<&str>) -> Value {
    let body = match id {
        None => c.app.gql(Some(&viewer.access), "{ user: me { emailReminders } }", json!({})).await,
        Some(id) => {
            let q = "query($id: UUID!) { user(id: $id) { emailReminders } }";
            c.app.gql(Some(&viewer.access), q, json!({ "id": id })).await
        }
    };
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["user"]["emailReminders"].clone()
}

#[tokio::test]
async fn email_reminders_may_not_be_set_to_null() {
    let c = clinic("UTC", &[]).await;
    let body = c
        .app
        .gql(Some(&c.patient.access), "mutation { updateMe(input: { emailReminders: null }) { id } }", json!({}))
        .await;
    assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("emailReminders")), "{body}");
    assert_eq!(crate::helpers::message(&body), "This field may not be null");
}

#[tokio::test]
async fn a_booking_is_one_select_and_four_inserts_its_emails_included_sent_to_sqlite_at_once() {
    let c = Clinic::open_with(
        "Europe/Berlin",
        &[("WEBHOOK_ALLOW_HTTP", "true"), ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")],
    )
    .await;
    let day = upcoming(1, 7);
    // Only the id back, so that the count is the booking's own (no fields resolved after it).
    let create = "mutation($i: CreateAppointmentInput!) { createAppointment(input: $i) { id } }";
    // The fewest of three bookings: a login check that missed its cache under load only adds.
    let fewest = |times: [&'static str; 3]| {
        let c = &c;
        async move {
            let mut fewest = u64::MAX;
            for hhmm in times {
                let starts = utc_of_local(day, hhmm, "Europe/Berlin");
                let input =
                    json!({ "i": { "doctorId": c.doctor.id, "startsAt": starts, "reasonForVisit": "Check-up" } });
                let (n, body) = c.app.statements_for(Some(&c.patient.access), create, input).await;
                assert!(body["errors"].is_null(), "{body}");
                fewest = fewest.min(n);
            }
            fewest
        }
    };
    let without_endpoints = fewest(["09:00", "10:00", "11:00"]).await;
    assert_eq!(rows(&c).await.len(), 12, "two notifications and two reminders each");
    // One SELECT (the doctor with profile, availability and time off, the patient with profile:
    // everything checked, and both people as the emails name them; and whether any webhook
    // endpoint is active), then one INSERT each for the appointment, its event, the audit entry
    // and all the emails, nothing read back: on SQLite sent as one call, on PostgreSQL one by one,
    // with one NOTIFY for the event and the senders, after the advisory locks of the doctor and
    // the patient (one statement). (Was 11 and 13; 3 and 8 while the active endpoints were read
    // by a SELECT of their own whether there were any.)
    let postgres = c.app.database_url.starts_with("postgres");
    assert_eq!(without_endpoints, if postgres { 7 } else { 2 });
    // With an active endpoint (subscribed to another event: nothing to deliver), its lookup in the
    // transaction is one more SELECT; a delivery would be one more INSERT in the same call.
    let hook = "mutation($u: String!, $e: [WebhookEvent!]!) { createWebhookEndpoint(url: $u, events: $e) { secret } }";
    let body = c
        .app
        .gql(Some(&c.admin.access), hook, json!({ "u": "http://127.0.0.1:9/hook", "e": ["APPOINTMENT_CANCELLED"] }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let with_an_endpoint = fewest(["13:00", "14:00", "15:00"]).await;
    assert_eq!(with_an_endpoint, without_endpoints + 1);
}
