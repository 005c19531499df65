//! Appointment emails end to end: through the GraphQL endpoint, the outbox and the sender, to a
//! real SMTP conversation with a receiver the test starts.
use std::{collections::HashMap, time::Duration};

use serde_json::json;

use crate::{
    appointments::{Clinic, at},
    helpers::{SmtpReceiver, TestApp},
};

const RESCHEDULE: &str =
    "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(id: $id, startsAt: $s) { id startsAt } }";

/// A message as the receiver got it: its headers (lower-cased names) and its text.
pub struct Mail {
    headers: HashMap<String, String>,
    text: String,
}

impl Mail {
    fn parse(raw: &str) -> Self {
        let (head, _) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self { headers, text: raw.to_owned() }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

pub async fn next_mail(smtp: &mut SmtpReceiver, wait: Duration) -> Option<Mail> {
    tokio::time::timeout(wait, smtp.messages.recv()).await.ok().flatten().map(|m| Mail::parse(&m))
}

/// The next `n` messages (panics if they do not come within a few seconds).
pub async fn mails(smtp: &mut SmtpReceiver, n: usize) -> Vec<Mail> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(next_mail(smtp, Duration::from_secs(5)).await.expect("an email"));
    }
    out
}

/// `(recipient, subject, kind header)` of messages, sorted.
fn summary(mails: &[Mail]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = mails
        .iter()
        .map(|m| (m.header("to").to_owned(), m.header("subject").to_owned(), m.header("x-cybermed-kind").to_owned()))
        .collect();
    v.sort();
    v
}

pub async fn clinic_with_smtp(leads: &str) -> (Clinic, SmtpReceiver) {
    let smtp = SmtpReceiver::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let c = Clinic::open_with("Europe/Berlin", &[("SMTP_URL", &url), ("REMINDER_LEADS", leads)]).await;
    (c, smtp)
}

fn expected(c: &Clinic, subject: &str, kind: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = [&c.patient.email, &c.doctor.email]
        .iter()
        .map(|to| ((*to).clone(), subject.to_owned(), kind.to_owned()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn every_booking_event_reaches_the_patient_and_the_doctor_by_smtp() {
    let (c, mut smtp) = clinic_with_smtp("").await;
    let body = c
        .book(
            &c.patient,
            json!({ "doctorId": c.doctor.id, "startsAt": at("10:00"), "reasonForVisit": "Secret rash q9" }),
        )
        .await;
    let id = body["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();

    let requested = mails(&mut smtp, 2).await;
    assert_eq!(summary(&requested), expected(&c, "Appointment requested", "appointment-requested"));
    for m in &requested {
        assert_eq!(m.header("x-cybermed-appointment"), id);
        assert!(m.header("message-id").starts_with('<'));
        assert!(m.text.contains("(Europe/Berlin)") && !m.text.contains("Secret rash q9"), "{}", m.text);
    }

    assert!(c.act(&c.doctor, "confirmAppointment", &id).await["errors"].is_null());
    assert_eq!(summary(&mails(&mut smtp, 2).await), expected(&c, "Appointment confirmed", "appointment-confirmed"));

    let moved = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": id, "s": at("11:00") })).await;
    assert!(moved["errors"].is_null(), "{moved}");
    assert_eq!(summary(&mails(&mut smtp, 2).await), expected(&c, "Appointment rescheduled", "appointment-rescheduled"));

    assert!(c.act(&c.patient, "cancelAppointment", &id).await["errors"].is_null());
    assert_eq!(summary(&mails(&mut smtp, 2).await), expected(&c, "Appointment cancelled", "appointment-cancelled"));

    // Each once.
    assert!(next_mail(&mut smtp, Duration::from_millis(1500)).await.is_none());
}

/// Moves the clock to `by` before `starts_at` and wakes the sender.
pub async fn until_before(c: &mut Clinic, starts_at: &str, by: chrono::TimeDelta) {
    let target = chrono::DateTime::parse_from_rfc3339(starts_at).unwrap().to_utc() - by;
    let now = c.app.state.clock.now();
    if target > now {
        c.advance((target - now).to_std().unwrap()).await;
    }
    c.app.state.events.outbox_wakeups().notify_one();
}

#[tokio::test]
async fn a_reminder_arrives_at_its_lead_and_not_for_a_past_lead_a_cancelled_or_a_moved_appointment() {
    // 24h and 30 days: the 30-day lead is already past for a booking a week or two ahead.
    let (mut c, mut smtp) = clinic_with_smtp("24h,30d").await;
    let kept = c.booked(&c.patient, &at("10:00")).await;
    let cancelled = c.booked(&c.patient, &at("12:00")).await;
    let moved = c.booked(&c.patient, &at("14:00")).await;
    let moved_to = format!("{}T09:00:00Z", crate::helpers::upcoming(2, 14));
    let body = c.app.gql(Some(&c.patient.access), RESCHEDULE, json!({ "id": moved["id"], "s": moved_to })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(c.act(&c.patient, "cancelAppointment", cancelled["id"].as_str().unwrap()).await["errors"].is_null());
    // The notifications: three bookings, a move and a cancellation, to both parties.
    mails(&mut smtp, 10).await;

    // A day before the first: its reminder, and nothing else.
    until_before(
        &mut c,
        kept["startsAt"].as_str().unwrap(),
        chrono::TimeDelta::hours(24) - chrono::TimeDelta::minutes(1),
    )
    .await;
    let reminder = next_mail(&mut smtp, Duration::from_secs(5)).await.expect("the reminder");
    assert_eq!(
        (reminder.header("to"), reminder.header("subject"), reminder.header("x-cybermed-kind")),
        (c.patient.email.as_str(), "Appointment reminder", "appointment-reminder")
    );
    assert_eq!(reminder.header("x-cybermed-appointment"), kept["id"].as_str().unwrap());
    assert!(next_mail(&mut smtp, Duration::from_millis(1500)).await.is_none());

    // Past the lead of the cancelled one and of the moved one's old time: nothing for either.
    until_before(&mut c, &at("14:00"), chrono::TimeDelta::hours(23)).await;
    assert!(next_mail(&mut smtp, Duration::from_millis(1500)).await.is_none(), "nothing cancelled or moved");
    until_before(&mut c, &moved_to, chrono::TimeDelta::hours(23)).await;
    let reminder = next_mail(&mut smtp, Duration::from_secs(5)).await.expect("the moved one's reminder");
    assert_eq!(reminder.header("x-cybermed-appointment"), moved["id"].as_str().unwrap());
    // And no 30-day reminder ever.
    assert!(next_mail(&mut smtp, Duration::from_millis(1500)).await.is_none());
}

#[tokio::test]
async fn a_patient_who_turned_reminders_off_gets_none() {
    let (mut c, mut smtp) = clinic_with_smtp("24h").await;
    let booked = c.booked(&c.patient, &at("10:00")).await;
    let off = c
        .app
        .gql(
            Some(&c.patient.access),
            "mutation { updateMe(input: { emailReminders: false }) { emailReminders } }",
            json!({}),
        )
        .await;
    assert_eq!(off["data"]["updateMe"]["emailReminders"], false, "{off}");
    mails(&mut smtp, 2).await;
    until_before(&mut c, booked["startsAt"].as_str().unwrap(), chrono::TimeDelta::hours(1)).await;
    assert!(next_mail(&mut smtp, Duration::from_millis(2000)).await.is_none());
}

#[tokio::test]
async fn two_processes_on_one_database_deliver_every_booking_email_once() {
    if !crate::helpers::postgres_only(
        "several processes share one database on PostgreSQL; on SQLite, one process serves it",
    ) {
        return;
    }
    let (c, mut smtp) = clinic_with_smtp("").await;
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let other = TestApp::spawn_with(&[("SMTP_URL", &smtp_url), ("DATABASE_URL", &c.app.database_url)]).await;
    // A burst of bookings, half through each process.
    let bookings = (0..12).map(|i| {
        let app = if i % 2 == 0 { &c.app } else { &other };
        let local = format!("{:02}:{:02}", 8 + i / 2, (i % 2) * 30);
        let start = crate::helpers::utc_of_local(crate::helpers::upcoming(2, 7), &local, "Europe/Berlin");
        let vars = json!({ "i": { "doctorId": c.doctor.id, "startsAt": start, "reasonForVisit": "Check-up" } });
        app.gql(Some(&c.patient.access), crate::appointments::CREATE, vars)
    });
    for body in futures_util::future::join_all(bookings).await {
        assert!(body["errors"].is_null(), "{body}");
    }
    let mut by_id: HashMap<String, usize> = HashMap::new();
    while let Some(m) = next_mail(&mut smtp, Duration::from_secs(3)).await {
        *by_id.entry(m.header("message-id").to_owned()).or_default() += 1;
    }
    assert_eq!(by_id.len(), 24, "two emails per booking");
    assert!(by_id.values().all(|n| *n == 1), "each once: {by_id:?}");
}
