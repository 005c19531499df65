//! Appointment emails go to the recipient's address as it is when they are sent, and reminders
//! never to a deactivated account.
use std::time::Duration;

use chrono::TimeDelta;
use cybermed::{db::entities::outbox_email, outbox::EmailKind};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::{
    appointments::{Clinic, at},
    email_delivery::{clinic_with_smtp, mails, next_mail, until_before},
    helpers::{PASSWORD, Session, SmtpReceiver, email},
};

/// Changes `who`'s email with `updateMe`, giving `currentPassword` when the schema asks for it.
async fn change_email(c: &Clinic, who: &Session) -> String {
    let fields = c.app.gql(None, r#"{ __type(name: "UpdateMeInput") { inputFields { name } } }"#, json!({})).await;
    let asks_password = fields["data"]["__type"]["inputFields"]
        .as_array()
        .unwrap_or_else(|| panic!("{fields}"))
        .iter()
        .any(|f| f["name"] == "currentPassword");
    let new = email("moved");
    let mut input = json!({ "email": new });
    if asks_password {
        input["currentPassword"] = json!(PASSWORD);
    }
    let q = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { email } }";
    let body = c.app.gql(Some(&who.access), q, json!({ "i": input })).await;
    assert_eq!(body["data"]["updateMe"]["email"], new.as_str(), "{body}");
    new
}

async fn reminders(c: &Clinic) -> Vec<outbox_email::Model> {
    outbox_email::Entity::find()
        .filter(outbox_email::Column::Kind.eq(EmailKind::AppointmentReminder))
        .all(&c.app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reminder_goes_to_the_address_the_patient_has_when_it_is_sent() {
    let (mut c, mut smtp) = clinic_with_smtp("24h").await;
    let booked = c.booked(&c.patient, &at("10:00")).await;
    mails(&mut smtp, 2).await;
    let old = c.patient.email.clone();
    let new = change_email(&c, &c.patient).await;
    // Whatever the email change itself sends (a notice to the old address) is not the reminder.
    while next_mail(&mut smtp, Duration::from_millis(500)).await.is_some() {}

    c.patient.email.clone_from(&new);
    until_before(&mut c, booked["startsAt"].as_str().unwrap(), TimeDelta::hours(24) - TimeDelta::minutes(1)).await;
    let reminder = next_mail(&mut smtp, Duration::from_secs(5)).await.expect("the reminder");
    assert_eq!((reminder.header("to"), reminder.header("x-cybermed-kind")), (new.as_str(), "appointment-reminder"));
    assert!(next_mail(&mut smtp, Duration::from_millis(1500)).await.is_none(), "once, and not to {old}");
    // The outbox shows where it went.
    let rows = reminders(&c).await;
    assert_eq!(rows.iter().map(|r| r.to_address.as_str()).collect::<Vec<_>>(), [new.as_str()]);
}

#[tokio::test]
async fn a_deactivated_patient_gets_no_reminder() {
    let (c, mut smtp) = clinic_with_smtp("24h").await;
    let booked = c.booked(&c.patient, &at("10:00")).await;
    mails(&mut smtp, 2).await;
    assert_eq!(reminders(&c).await.len(), 1);
    let q = "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { isActive } }";
    let body = c.app.gql(Some(&c.admin.access), q, json!({ "id": c.patient.id })).await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");

    // `advance` signs everyone in again: not the deactivated patient.
    let target = chrono::DateTime::parse_from_rfc3339(booked["startsAt"].as_str().unwrap()).unwrap().to_utc()
        - TimeDelta::hours(1);
    c.app.state.clock.advance((target - c.app.state.clock.now()).to_std().unwrap());
    c.app.state.events.outbox_wakeups().notify_one();
    assert!(next_mail(&mut smtp, Duration::from_millis(2500)).await.is_none(), "no reminder");
    assert!(reminders(&c).await.is_empty(), "dropped, not left pending");
}

#[tokio::test]
async fn a_notification_written_before_an_email_change_and_sent_after_goes_to_the_new_address() {
    // The mail server is down when the booking's notifications are written.
    let port = SmtpReceiver::free_port().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let c = Clinic::open_with("UTC", &[("SMTP_URL", &url), ("MAIL_RETRY_SECS", "1"), ("REMINDER_LEADS", "")]).await;
    c.booked(&c.patient, &at("10:00")).await;
    let new = change_email(&c, &c.patient).await;

    let mut smtp = SmtpReceiver::start_on(port).await;
    c.app.state.events.outbox_wakeups().notify_one();
    let mut to = Vec::new();
    while let Some(m) = next_mail(&mut smtp, Duration::from_secs(10)).await {
        if m.header("x-cybermed-kind") == "appointment-requested" {
            to.push(m.header("to").to_owned());
        }
        if to.len() == 2 {
            break;
        }
    }
    to.sort();
    let mut expected = vec![new, c.doctor.email.clone()];
    expected.sort();
    assert_eq!(to, expected, "the patient's at the new address");
}
