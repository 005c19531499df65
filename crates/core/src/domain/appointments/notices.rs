//! The emails of appointment changes: a notification to the patient and to the doctor for every
//! booking, confirmation, move and cancellation, and the patient's reminders, all written to the
//! outbox in the transaction of the change (so they exist exactly when the change does).
//!
//! The texts come from `crates/core/templates/email/*.txt`. They name the doctor and give times in the
//! doctor's time zone, with the zone's name; they never hold the reason for visit, a cancellation
//! reason or any other health data.
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Statement, sea_query::Expr};
use uuid::Uuid;

use super::sms_notices::{self, SmsPatient};
use crate::outbox::{Channel, EmailKind, NewEmail, insert_statement, render};
use crate::{
    db::entities::{appointment, doctor_profile, outbox_email, user},
    domain::{
        Store, accounts,
        appointments::{AppointmentEventKind, AppointmentStatus},
        profiles::parse_time_zone,
    },
    error::{AppError, AppResult},
};

const REQUESTED: &str = include_str!("../../../templates/email/appointment_requested.txt");
const CONFIRMED: &str = include_str!("../../../templates/email/appointment_confirmed.txt");
const RESCHEDULED: &str = include_str!("../../../templates/email/appointment_rescheduled.txt");
const CANCELLED: &str = include_str!("../../../templates/email/appointment_cancelled.txt");
const REMINDER: &str = include_str!("../../../templates/email/appointment_reminder.txt");

/// One of the two people of an appointment, as its emails name them.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub email_reminders: bool,
    pub phone: Option<String>,
    pub sms_reminders: bool,
}

impl Person {
    /// The patient as their SMS need them.
    pub fn sms(&self) -> SmsPatient<'_> {
        SmsPatient { id: self.id, phone: self.phone.as_deref(), on: self.sms_reminders }
    }
}

impl From<&user::Model> for Person {
    fn from(u: &user::Model) -> Self {
        Self {
            id: u.id,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            email_reminders: u.email_reminders,
            phone: u.phone.clone(),
            sms_reminders: u.sms_reminders,
        }
    }
}

/// Who an appointment's emails are for, and the doctor's time zone their times are given in.
#[derive(Clone, Debug)]
pub struct Parties {
    pub doctor: Person,
    pub patient: Person,
    pub tz: Tz,
}

impl Parties {
    /// Both people of `appt`, with the doctor's zone: one `SELECT`.
    ///
    /// # Errors
    /// Internal only (a party missing is a broken foreign key).
    pub async fn load<C: ConnectionTrait>(txn: &C, appt: &appointment::Model) -> AppResult<Self> {
        let mut people = accounts::users_by_ids(txn, &[appt.doctor_id, appt.patient_id]).await?;
        let (doctor, profile) =
            people.remove(&appt.doctor_id).ok_or_else(|| AppError::internal("appointment without its doctor"))?;
        let (patient, _) =
            people.remove(&appt.patient_id).ok_or_else(|| AppError::internal("appointment without its patient"))?;
        Ok(Self::new(&doctor, profile.as_ref(), &patient))
    }

    /// The two people from their rows, with the doctor's zone from their profile.
    pub fn new(doctor: &user::Model, profile: Option<&doctor_profile::Model>, patient: &user::Model) -> Self {
        // A stored zone is always valid (it was checked when set); UTC is the profile's default.
        let tz = profile.and_then(|p| parse_time_zone(&p.time_zone).ok()).unwrap_or(Tz::UTC);
        Self { doctor: Person::from(doctor), patient: Person::from(patient), tz }
    }
}

/// Which of an event's emails [`on_event`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mail {
    /// The notifications to both parties and the reminders.
    #[default]
    All,
    /// The reminders only (written, moved or dropped as usual): an occurrence of a recurring
    /// series, whose parties get one email for the whole series instead (`domain::appointments`'
    /// series module writes it).
    RemindersOnly,
}

/// The emails of one appointment event, for `txn`, the transaction that records it.
///
/// - `CREATED`: `APPOINTMENT_REQUESTED` (a `PENDING` booking) or `APPOINTMENT_CONFIRMED` to the
///   patient and the doctor, and the patient's reminders.
/// - `CONFIRMED`: `APPOINTMENT_CONFIRMED` to both.
/// - `RESCHEDULED`: `APPOINTMENT_RESCHEDULED` to both, naming the old time (`moved_from`); the
///   appointment's pending reminders are replaced by reminders for the new time.
/// - `CANCELLED`: `APPOINTMENT_CANCELLED` to both; the appointment's pending reminders are deleted.
/// - `COMPLETED`, `NO_SHOW`: nothing.
///
/// A reminder is one row per lead of `REMINDER_LEADS`, due at the start minus the lead, for a
/// patient whose `email_reminders` is on; a lead already past at `now` writes nothing. A patient
/// with `smsReminders` on also gets their SMS ([`sms_notices::of_event`]), in the same `INSERT`.
///
/// With [`Mail::RemindersOnly`], the notifications to the two parties (emails and the patient's SMS
/// notice) are left out; the reminders of both channels stay.
///
/// `parties` are the two people when the caller has them already (a booking read them in its
/// checks); otherwise they are read here.
///
/// Runs in `txn` one `SELECT` (both users with the doctor's profile) unless `parties` are given,
/// and one `DELETE` on a move or a cancellation; returns the one multi-row `INSERT` of the emails
/// (none for an event without emails), which the caller runs in `txn` with its other writes (see
/// [`crate::db::batch`]) and follows with [`crate::events::EventHub::outbox_written`], as
/// `Store::enqueue_emails` does.
///
/// # Errors
/// Internal only (a party missing is a broken foreign key).
#[expect(clippy::too_many_arguments, reason = "one event's facts, each needed")]
pub async fn on_event<C: ConnectionTrait>(
    store: &Store,
    txn: &C,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    moved_from: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    parties: Option<&Parties>,
    mail: Mail,
) -> AppResult<Option<Statement>> {
    let (email_kind, subject, template) = match kind {
        AppointmentEventKind::Created if appt.status == AppointmentStatus::Pending => {
            (EmailKind::AppointmentRequested, "Appointment requested", REQUESTED)
        }
        AppointmentEventKind::Created | AppointmentEventKind::Confirmed => {
            (EmailKind::AppointmentConfirmed, "Appointment confirmed", CONFIRMED)
        }
        AppointmentEventKind::Rescheduled => {
            (EmailKind::AppointmentRescheduled, "Appointment rescheduled", RESCHEDULED)
        }
        AppointmentEventKind::Cancelled => (EmailKind::AppointmentCancelled, "Appointment cancelled", CANCELLED),
        AppointmentEventKind::Completed | AppointmentEventKind::NoShow => return Ok(None),
    };
    if matches!(kind, AppointmentEventKind::Rescheduled | AppointmentEventKind::Cancelled) {
        crate::outbox::drop_pending_reminders(txn, outbox_email::Column::AppointmentId.eq(appt.id)).await?;
    }

    let loaded;
    let parties = match parties {
        Some(p) => p,
        None => {
            loaded = Parties::load(txn, appt).await?;
            &loaded
        }
    };
    let Parties { doctor, patient, tz } = parties;
    let doctor_name = full_name(doctor);
    let patient_name = full_name(patient);
    let when = local_time(appt.starts_at, *tz);
    let old_when = moved_from.map(|t| local_time(t, *tz)).unwrap_or_default();

    let mut emails = Vec::with_capacity(2 + store.outbox.reminder_leads.len());
    let notified: &[&Person] = if mail == Mail::All { &[patient, doctor] } else { &[] };
    for &to in notified {
        let body = render(
            template,
            &[
                ("name", &full_name(to)),
                ("doctor", &doctor_name),
                ("patient", &patient_name),
                ("when", &when),
                ("old_when", &old_when),
            ],
        );
        emails.push(NewEmail {
            channel: Channel::Email,
            kind: email_kind,
            to: to.email.clone(),
            subject: subject.to_owned(),
            body,
            appointment_id: Some(appt.id),
            recipient_id: Some(to.id),
            starts_at: None,
            due_at: now,
        });
    }
    if matches!(kind, AppointmentEventKind::Created | AppointmentEventKind::Rescheduled) {
        emails.extend(email_reminders(store, appt, parties, now));
    }
    let doctor_tz = (doctor_name.as_str(), *tz);
    emails.extend(match (mail, kind) {
        (Mail::All, _) => sms_notices::of_event(&store.outbox, appt, kind, doctor_tz, patient.sms(), now),
        // An occurrence of a series keeps its SMS reminders; the series writes its one notice.
        (Mail::RemindersOnly, AppointmentEventKind::Created | AppointmentEventKind::Rescheduled) => {
            sms_notices::reminders(&store.outbox, appt, doctor_tz, patient.sms(), now)
        }
        (Mail::RemindersOnly, _) => Vec::new(),
    });
    Ok(insert_statement(&store.outbox, store.clock.now(), txn.get_database_backend(), emails))
}

/// The email reminders of an active appointment for a patient whose `email_reminders` is on: one
/// per lead of `REMINDER_LEADS` whose time has not passed at `now`.
pub fn email_reminders(
    store: &Store,
    appt: &appointment::Model,
    parties: &Parties,
    now: DateTime<Utc>,
) -> Vec<NewEmail> {
    let Parties { doctor, patient, tz } = parties;
    if !(appt.status.is_active() && patient.email_reminders) {
        return Vec::new();
    }
    let when = local_time(appt.starts_at, *tz);
    let body = render(REMINDER, &[("name", &full_name(patient)), ("doctor", &full_name(doctor)), ("when", &when)]);
    let mut emails = Vec::with_capacity(store.outbox.reminder_leads.len());
    for lead in store.outbox.reminder_leads.iter() {
        let Ok(lead) = TimeDelta::from_std(*lead) else { continue };
        let due_at = appt.starts_at - lead;
        if due_at <= now {
            continue;
        }
        emails.push(NewEmail {
            channel: Channel::Email,
            kind: EmailKind::AppointmentReminder,
            to: patient.email.clone(),
            subject: "Appointment reminder".to_owned(),
            body: body.clone(),
            appointment_id: Some(appt.id),
            recipient_id: Some(patient.id),
            starts_at: Some(appt.starts_at),
            due_at,
        });
    }
    emails
}

/// Whether a reminder is still to be sent: [`reminder_address`] finds an address for it.
///
/// # Errors
/// Internal only.
pub async fn reminder_still_wanted<C: ConnectionTrait>(db: &C, email: &outbox_email::Model) -> AppResult<bool> {
    Ok(reminder_address(db, email).await?.is_some())
}

/// Where a reminder goes, checked by the sender just before sending it: the patient's address as
/// it is now (not as it was at booking: an address given up since may be someone else's), and
/// only while its appointment is still `PENDING` or `CONFIRMED` and still starts at the
/// reminder's `starts_at`, and its patient (the recipient) is still active with
/// `email_reminders` on. `None`: never to be sent. One statement. A row that is not a reminder of
/// an appointment is never wanted.
///
/// # Errors
/// Internal only.
pub async fn reminder_address<C: ConnectionTrait>(db: &C, email: &outbox_email::Model) -> AppResult<Option<String>> {
    let (Some(appointment_id), Some(starts_at), Some(patient_id)) =
        (email.appointment_id, email.starts_at, email.recipient_id)
    else {
        return Ok(None);
    };
    if email.kind != EmailKind::AppointmentReminder || email.channel != Channel::Email {
        return Ok(None);
    }
    let still_due = sea_orm::sea_query::Query::select()
        .expr(Expr::val(1))
        .from(appointment::Entity)
        .and_where(appointment::Column::Id.eq(appointment_id))
        .and_where(appointment::Column::PatientId.eq(patient_id))
        .and_where(appointment::Column::StartsAt.eq(starts_at))
        .and_where(appointment::Column::Status.is_in([AppointmentStatus::Pending, AppointmentStatus::Confirmed]))
        .to_owned();
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .filter(user::Column::Id.eq(patient_id))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::EmailReminders.eq(true))
        .filter(Expr::exists(still_due))
        .into_tuple()
        .one(db)
        .await?)
}

/// Where appointment notifications (requested, confirmed, rescheduled, cancelled) go, looked up
/// by the sender just before sending them: each recipient's address as it is now, like a
/// reminder's (one written before an email change and sent after it, say after the mail server
/// was down, goes to the new address). One statement for a whole claimed batch (none when it holds
/// no notification); see [`notification_address`] for each email's.
///
/// # Errors
/// Internal only.
pub async fn notification_addresses<C: ConnectionTrait>(
    db: &C,
    emails: &[outbox_email::Model],
) -> AppResult<NotificationAddresses> {
    let mut recipients: Vec<Uuid> = emails.iter().filter_map(notification_recipient).collect();
    if recipients.is_empty() {
        return Ok(NotificationAddresses::default());
    }
    recipients.sort_unstable();
    recipients.dedup();
    let found: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(recipients))
        .into_tuple()
        .all(db)
        .await?;
    Ok(NotificationAddresses(found.into_iter().collect()))
}

/// The recipients' addresses [`notification_addresses`] found.
#[derive(Debug, Default)]
pub struct NotificationAddresses(std::collections::HashMap<Uuid, String>);

/// The recipient whose address an email goes to now: an appointment notification's.
fn notification_recipient(email: &outbox_email::Model) -> Option<Uuid> {
    let notification = matches!(
        email.kind,
        EmailKind::AppointmentRequested
            | EmailKind::AppointmentConfirmed
            | EmailKind::AppointmentRescheduled
            | EmailKind::AppointmentCancelled
            | EmailKind::AppointmentSeries
    );
    email.recipient_id.filter(|_| notification && email.appointment_id.is_some())
}

/// Where `email` goes now, from `found`: its recipient's address for a notification. `None` for
/// any other email, or a recipient that is gone: the address it was written with stands.
pub fn notification_address(found: &NotificationAddresses, email: &outbox_email::Model) -> Option<String> {
    notification_recipient(email).and_then(|r| found.0.get(&r).cloned())
}

pub(super) fn full_name(u: &Person) -> String {
    format!("{} {}", u.first_name, u.last_name)
}

/// `Tuesday 8 December 2026, 09:00 (Europe/Berlin)`.
pub(super) fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", at.with_timezone(&tz).format("%A %-d %B %Y, %H:%M"), tz.name())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn render_fills_known_keys_once_and_keeps_the_rest() {
        let out = render("{{a}} and {{b}} {{unknown}} {{", &[("a", "{{b}}"), ("b", "B")]);
        assert_eq!(out, "{{b}} and B {{unknown}} {{");
    }

    #[test]
    fn every_placeholder_of_the_templates_is_filled() {
        let values = [("name", "N"), ("doctor", "D"), ("patient", "P"), ("when", "W"), ("old_when", "O")];
        for t in [REQUESTED, CONFIRMED, RESCHEDULED, CANCELLED, REMINDER] {
            assert!(!render(t, &values).contains("{{"), "{t}");
        }
    }

    #[test]
    fn local_time_is_in_the_zone_with_its_name() {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 8, 0, 0).unwrap();
        assert_eq!(local_time(at, chrono_tz::Europe::Berlin), "Tuesday 8 December 2026, 09:00 (Europe/Berlin)");
    }
}
