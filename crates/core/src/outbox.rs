//! Durable email and SMS: every message is first a row of the `outbox` table, written in the
//! transaction of the change that causes it (`Store::enqueue_emails`), then delivered by the sender
//! that runs in every process. A request never waits for a mail server or an SMS gateway, and
//! nothing is lost to one that is down, a restart or a crash: a row stays `PENDING` until it is
//! sent, and is retried with exponential backoff until `MAIL_MAX_ATTEMPTS`, then `FAILED`. One
//! table, two channels (`EMAIL`, `SMS`): the same writer, sender and guarantees for both.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Set, Statement};
use uuid::Uuid;

use crate::{
    config::Config,
    db::entities::outbox_email,
    error::AppResult,
    page::{Keyset, KeysetPage},
};
pub use outbox_email::{Channel, EmailKind, EmailStatus};

/// What writing to the outbox needs of the configuration, read once. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The host of every `Message-ID`: the domain of `MAIL_FROM`.
    message_id_host: Arc<str>,
    /// How long before an appointment each reminder is due (`REMINDER_LEADS`); empty: none.
    pub reminder_leads: Arc<[Duration]>,
    /// The same for SMS reminders (`SMS_REMINDER_LEADS`).
    pub sms_reminder_leads: Arc<[Duration]>,
    /// `SMS_QUIET_HOURS`.
    pub sms_quiet_hours: Option<crate::config::QuietHours>,
    /// Write no emails at all (`seed-demo`: its people are fictional).
    muted: bool,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            message_id_host: message_id_host(&config.mail_from).into(),
            reminder_leads: config.reminder_leads.as_slice().into(),
            sms_reminder_leads: config.sms_reminder_leads.as_slice().into(),
            sms_quiet_hours: config.sms_quiet_hours,
            muted: false,
        }
    }

    /// The same settings, writing no emails.
    #[must_use]
    pub fn muted(&self) -> Self {
        Self { muted: true, ..self.clone() }
    }
}

/// A message to write to the outbox: an email, or an SMS (see [`crate::sms::message`]).
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub channel: Channel,
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    pub appointment_id: Option<Uuid>,
    /// The user it is for, when it is for a user.
    pub recipient_id: Option<Uuid>,
    /// For a reminder: the appointment start it reminds of.
    pub starts_at: Option<DateTime<Utc>>,
    /// Not before (now for notifications; start minus lead for reminders).
    pub due_at: DateTime<Utc>,
}

/// The one `INSERT` of `emails` (none when there are none, or when `settings` are muted), written
/// at `now`, for a caller that runs it with its other writes (see [`crate::db::batch`]) and then
/// wakes the senders with [`crate::events::EventHub::outbox_written`], as
/// `Store::enqueue_emails` does.
pub fn insert_statement(
    settings: &Settings,
    now: DateTime<Utc>,
    backend: DbBackend,
    emails: Vec<NewEmail>,
) -> Option<Statement> {
    insert_about(settings, now, backend, emails, None)
}

/// [`insert_statement`] for emails about recurring series `series` as a whole (its booking, a
/// cancellation of several of its occurrences): each row carries the series id, which the sender
/// puts in the `X-CyberMed-Series` header.
pub fn insert_statement_for_series(
    settings: &Settings,
    now: DateTime<Utc>,
    backend: DbBackend,
    emails: Vec<NewEmail>,
    series: Uuid,
) -> Option<Statement> {
    insert_about(settings, now, backend, emails, Some(series))
}

fn insert_about(
    settings: &Settings,
    now: DateTime<Utc>,
    backend: DbBackend,
    emails: Vec<NewEmail>,
    series_id: Option<Uuid>,
) -> Option<Statement> {
    if emails.is_empty() || settings.muted {
        return None;
    }
    let host = &settings.message_id_host;
    let rows = emails.into_iter().map(|e| {
        let id = Uuid::now_v7();
        // An SMS's id is its `Idempotency-Key` at the gateway: the same on every retry.
        let message_id = match e.channel {
            Channel::Email => format!("<{id}@{host}>"),
            Channel::Sms => id.to_string(),
        };
        outbox_email::ActiveModel {
            id: Set(id),
            channel: Set(e.channel),
            kind: Set(e.kind),
            to_address: Set(e.to),
            subject: Set(e.subject),
            body: Set(e.body),
            appointment_id: Set(e.appointment_id),
            recipient_id: Set(e.recipient_id),
            starts_at: Set(e.starts_at),
            message_id: Set(message_id),
            status: Set(EmailStatus::Pending),
            attempts: Set(0),
            last_error: Set(None),
            created_at: Set(now),
            due_at: Set(e.due_at),
            sent_at: Set(None),
            lease_until: Set(None),
            lease_owner: Set(None),
            series_id: Set(series_id),
            provider_message_id: Set(None),
        }
    });
    // One statement for all of them: they are extra writes in a booking's transaction.
    Some(outbox_email::Entity::insert_many(rows).build(backend))
}

/// Replaces each `{{key}}` of `template` by its value, in one pass (a value is never read as a
/// template); an unknown key stays as it is.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}").and_then(|close| {
            let key = &after[..close];
            values.iter().find(|(k, _)| *k == key).map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The domain of the sender's address (`MAIL_FROM`), for `Message-ID`s; `cybermed.invalid` when
/// it has none.
fn message_id_host(mail_from: &str) -> String {
    let address = mail_from.rsplit_once('<').map_or(mail_from, |(_, a)| a.trim_end_matches('>'));
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .map_or_else(|| "cybermed.invalid".to_owned(), str::to_owned)
}

/// Which messages `outbox` (emails) and `smsOutbox` (SMS) list.
#[derive(Clone, Copy, Default)]
pub struct OutboxFilter {
    pub channel: Channel,
    pub status: Option<EmailStatus>,
    pub appointment_id: Option<Uuid>,
}

impl OutboxFilter {
    fn condition(self) -> sea_orm::Condition {
        use sea_orm::ColumnTrait;
        let mut cond = sea_orm::Condition::all().add(outbox_email::Column::Channel.eq(self.channel));
        if let Some(s) = self.status {
            cond = cond.add(outbox_email::Column::Status.eq(s));
        }
        if let Some(a) = self.appointment_id {
            cond = cond.add(outbox_email::Column::AppointmentId.eq(a));
        }
        cond
    }
}

/// Emails newest first: by id (time-ordered UUIDv7) descending, the cursor the id itself.
const NEWEST_FIRST: Keyset<outbox_email::Entity, Uuid> =
    Keyset::descending(&[outbox_email::Column::Id], |e: &outbox_email::Model| e.id);

/// One page of at most `limit` emails, newest first, before the email `before`.
///
/// # Errors
/// Internal only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: OutboxFilter,
    before: Option<Uuid>,
    limit: u64,
) -> AppResult<KeysetPage<Uuid, outbox_email::Model>> {
    use sea_orm::{EntityTrait, QueryFilter};
    NEWEST_FIRST.fetch(db, outbox_email::Entity::find().filter(filter.condition()), before, limit).await
}

/// How many emails match.
///
/// # Errors
/// Internal only.
pub async fn count<C: ConnectionTrait>(db: &C, filter: OutboxFilter) -> AppResult<u64> {
    use sea_orm::{EntityTrait, PaginatorTrait, QueryFilter};
    Ok(outbox_email::Entity::find().filter(filter.condition()).count(db).await?)
}

/// Deletes what a patient who turned `emailReminders` (`Channel::Email`) or `smsReminders`
/// (`Channel::Sms`) off no longer wants, inside `txn` (the transaction of that change): their
/// pending reminders of that channel, and for SMS every pending SMS of theirs (a notice waiting
/// for the quiet hours to end included). Turning it on again writes the reminders of their
/// active future appointments back (`accounts::update_me`).
///
/// # Errors
/// Internal only.
pub async fn drop_reminders_of<C: ConnectionTrait>(txn: &C, patient_id: Uuid, channel: Channel) -> AppResult<()> {
    let mut delete = outbox_email::Entity::delete_many()
        .filter(outbox_email::Column::Channel.eq(channel))
        .filter(outbox_email::Column::Status.eq(EmailStatus::Pending))
        .filter(outbox_email::Column::RecipientId.eq(patient_id));
    if channel == Channel::Email {
        delete = delete.filter(outbox_email::Column::Kind.eq(EmailKind::AppointmentReminder));
    }
    delete.exec(txn).await?;
    Ok(())
}

/// Deletes the pending messages about the appointments `of` selects that a move or a cancellation
/// makes stale: their reminders (email and SMS) and their pending SMS notices (one held back by
/// the quiet hours). Emails that are not reminders stay: they tell what happened.
///
/// # Errors
/// Internal only.
pub async fn drop_pending_reminders<C: ConnectionTrait>(txn: &C, of: impl Into<sea_orm::Condition>) -> AppResult<()> {
    outbox_email::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(outbox_email::Column::Kind.eq(EmailKind::AppointmentReminder))
                .add(outbox_email::Column::Channel.eq(Channel::Sms)),
        )
        .filter(outbox_email::Column::Status.eq(EmailStatus::Pending))
        .filter(of.into())
        .exec(txn)
        .await?;
    Ok(())
}
