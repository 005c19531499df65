//! The SMS of appointments, for a patient who turned `smsReminders` on: one
//! `APPOINTMENT_REMINDER` per lead of `SMS_REMINDER_LEADS`, and an `APPOINTMENT_RESCHEDULED` or
//! `APPOINTMENT_CANCELLED` notice on those events. They are rows of the outbox (channel `SMS`)
//! written with the change's emails, in its transaction; one falling due in the quiet hours (in the
//! doctor's zone) is due when they end. The sender asks [`number_for`] just before sending.
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::{AppointmentEventKind, AppointmentStatus};
use crate::{
    db::entities::{appointment, outbox_email, user},
    error::AppResult,
    outbox::{Channel, EmailKind, NewEmail, Settings},
    sms,
};

/// The patient as their SMS need them.
#[derive(Clone, Copy, Debug)]
pub struct SmsPatient<'a> {
    pub id: Uuid,
    pub phone: Option<&'a str>,
    /// `smsReminders`.
    pub on: bool,
}

impl SmsPatient<'_> {
    /// The number SMS go to: only with the consent on and an E.164 phone.
    fn number(&self) -> Option<&str> {
        self.phone.filter(|p| self.on && sms::is_e164(p))
    }
}

/// The SMS of one appointment event (see the module): reminders on `CREATED` and `RESCHEDULED`
/// of an active appointment, a notice on `RESCHEDULED` and `CANCELLED`; none for a patient
/// without the consent. `doctor` is the doctor's name, `tz` their zone.
pub fn of_event(
    settings: &Settings,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    (doctor, tz): (&str, Tz),
    patient: SmsPatient<'_>,
    now: DateTime<Utc>,
) -> Vec<NewEmail> {
    let Some(number) = patient.number() else { return Vec::new() };
    let notice = match kind {
        AppointmentEventKind::Rescheduled => EmailKind::AppointmentRescheduled,
        AppointmentEventKind::Cancelled => EmailKind::AppointmentCancelled,
        AppointmentEventKind::Created => {
            return reminders(settings, appt, (doctor, tz), patient, now);
        }
        _ => return Vec::new(),
    };
    let body = sms::text(notice, doctor, &[appt.starts_at], tz);
    let due_at = sms::outside_quiet_hours(now, tz, settings.sms_quiet_hours);
    let mut out = vec![sms::message(notice, number, body, (appt.id, patient.id, appt.starts_at), due_at)];
    if kind == AppointmentEventKind::Rescheduled {
        out.extend(reminders(settings, appt, (doctor, tz), patient, now));
    }
    out
}

/// The one SMS `APPOINTMENT_CANCELLED` of a series' cancellation, naming how many were cancelled
/// and the first of them (`cancelled`, in order); none for a patient without the consent or when
/// nothing was cancelled. It is about the first cancelled occurrence (the sender checks that one
/// is still cancelled before sending).
pub fn series_cancelled(
    settings: &Settings,
    cancelled: &[appointment::Model],
    (doctor, tz): (&str, Tz),
    patient: SmsPatient<'_>,
    now: DateTime<Utc>,
) -> Option<NewEmail> {
    let (number, first) = (patient.number()?, cancelled.first()?);
    let starts: Vec<DateTime<Utc>> = cancelled.iter().map(|a| a.starts_at).collect();
    let body = sms::text(EmailKind::AppointmentCancelled, doctor, &starts, tz);
    let due_at = sms::outside_quiet_hours(now, tz, settings.sms_quiet_hours);
    let ids = (first.id, patient.id, first.starts_at);
    Some(sms::message(EmailKind::AppointmentCancelled, number, body, ids, due_at))
}

/// The SMS reminders of an active appointment: one per lead whose time has not passed at `now`
/// (each moved out of the quiet hours); none for a patient without the consent.
pub fn reminders(
    settings: &Settings,
    appt: &appointment::Model,
    (doctor, tz): (&str, Tz),
    patient: SmsPatient<'_>,
    now: DateTime<Utc>,
) -> Vec<NewEmail> {
    let Some(number) = patient.number().filter(|_| appt.status.is_active()) else { return Vec::new() };
    let body = sms::text(EmailKind::AppointmentReminder, doctor, &[appt.starts_at], tz);
    settings
        .sms_reminder_leads
        .iter()
        .filter_map(|lead| TimeDelta::from_std(*lead).ok())
        .map(|lead| appt.starts_at - lead)
        .filter(|due| *due > now)
        .map(|due| {
            let due_at = sms::outside_quiet_hours(due, tz, settings.sms_quiet_hours);
            let ids = (appt.id, patient.id, appt.starts_at);
            sms::message(EmailKind::AppointmentReminder, number, body.clone(), ids, due_at)
        })
        .collect()
}

/// Where an SMS goes, checked by the sender just before sending it: the patient's number as it
/// is now, and only while their account is active with `smsReminders` on and an E.164 phone, and
/// the appointment has not started and is as the SMS says (a reminder or a move: still `PENDING`
/// or `CONFIRMED` at the SMS's `starts_at`; a cancellation: `CANCELLED`). `None`: never to be
/// sent. One statement.
///
/// # Errors
/// Internal only.
pub async fn number_for<C: ConnectionTrait>(
    db: &C,
    row: &outbox_email::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let (Channel::Sms, Some(appointment_id), Some(starts_at), Some(patient_id)) =
        (row.channel, row.appointment_id, row.starts_at, row.recipient_id)
    else {
        return Ok(None);
    };
    let statuses: &[AppointmentStatus] = match row.kind {
        EmailKind::AppointmentReminder | EmailKind::AppointmentRescheduled => {
            &[AppointmentStatus::Pending, AppointmentStatus::Confirmed]
        }
        EmailKind::AppointmentCancelled => &[AppointmentStatus::Cancelled],
        _ => return Ok(None),
    };
    let as_written = sea_orm::sea_query::Query::select()
        .expr(Expr::val(1))
        .from(appointment::Entity)
        .and_where(appointment::Column::Id.eq(appointment_id))
        .and_where(appointment::Column::PatientId.eq(patient_id))
        .and_where(appointment::Column::StartsAt.eq(starts_at))
        .and_where(appointment::Column::StartsAt.gt(now))
        .and_where(appointment::Column::Status.is_in(statuses.iter().copied()))
        .to_owned();
    let phone: Option<Option<String>> = user::Entity::find()
        .select_only()
        .column(user::Column::Phone)
        .filter(user::Column::Id.eq(patient_id))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::SmsReminders.eq(true))
        .filter(Expr::exists(as_written))
        .into_tuple()
        .one(db)
        .await?;
    Ok(phone.flatten().filter(|p| sms::is_e164(p)))
}
