use sea_orm::entity::prelude::*;

/// One message of the outbox, an email or an SMS (`channel`): written in the transaction of the
/// change that causes it, sent later by the outbox sender. The body may hold a reset token (an
/// email) or an appointment's time (an SMS): it never leaves the service except in the message
/// itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Email or SMS: which transport sends it, and which admin list shows it.
    pub channel: Channel,
    pub kind: EmailKind,
    /// An email address, or an E.164 number for an SMS.
    pub to_address: String,
    /// Empty for an SMS.
    pub subject: String,
    pub body: String,
    pub appointment_id: Option<Uuid>,
    /// The user the email is for (reminders check their preference again before sending).
    pub recipient_id: Option<Uuid>,
    /// For a reminder: the appointment's start it reminds of (a moved appointment's old reminders
    /// no longer match and are not sent).
    pub starts_at: Option<DateTimeUtc>,
    /// `<uuid@host>` for an email, the id itself for an SMS (its `Idempotency-Key`), fixed when
    /// written: a retry after a crash mid-send is the same message.
    #[sea_orm(unique)]
    pub message_id: String,
    pub status: EmailStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// When it may be sent (reminders: the appointment's start minus the lead; retries: later).
    pub due_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// A sender's claim: until then no other sender takes it.
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    /// The recurring series the email is about (its `X-CyberMed-Series` header).
    pub series_id: Option<Uuid>,
    /// An SMS gateway's own id of the message, when its answer gave one.
    pub provider_message_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What an email is about. Stored as its name; sent as the `X-CyberMed-Kind` header in lower case
/// with dashes (`appointment-confirmed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum EmailKind {
    #[sea_orm(string_value = "PASSWORD_RESET")]
    PasswordReset,
    #[sea_orm(string_value = "APPOINTMENT_REQUESTED")]
    AppointmentRequested,
    #[sea_orm(string_value = "APPOINTMENT_CONFIRMED")]
    AppointmentConfirmed,
    #[sea_orm(string_value = "APPOINTMENT_RESCHEDULED")]
    AppointmentRescheduled,
    #[sea_orm(string_value = "APPOINTMENT_CANCELLED")]
    AppointmentCancelled,
    #[sea_orm(string_value = "APPOINTMENT_REMINDER")]
    AppointmentReminder,
    /// One email per party listing every date of a recurring series just booked.
    #[sea_orm(string_value = "APPOINTMENT_SERIES")]
    AppointmentSeries,
    /// To the old address, after an email change.
    #[sea_orm(string_value = "EMAIL_CHANGED")]
    EmailChanged,
    /// To a waiting patient: an earlier time is kept for them for `WAITLIST_OFFER_TTL_SECS`.
    #[sea_orm(string_value = "WAITLIST_OFFER")]
    WaitlistOffer,
    /// To every active admin, when a webhook endpoint was turned off after failures.
    #[sea_orm(string_value = "WEBHOOK_DISABLED")]
    WebhookDisabled,
}

impl EmailKind {
    /// The `X-CyberMed-Kind` header value.
    pub fn header_value(self) -> &'static str {
        match self {
            Self::PasswordReset => "password-reset",
            Self::AppointmentRequested => "appointment-requested",
            Self::AppointmentConfirmed => "appointment-confirmed",
            Self::AppointmentRescheduled => "appointment-rescheduled",
            Self::AppointmentCancelled => "appointment-cancelled",
            Self::AppointmentReminder => "appointment-reminder",
            Self::AppointmentSeries => "appointment-series",
            Self::EmailChanged => "email-changed",
            Self::WaitlistOffer => "waitlist-offer",
            Self::WebhookDisabled => "webhook-disabled",
        }
    }
}

/// Where an email is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum EmailStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SENT")]
    Sent,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// How a message of the outbox is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Channel {
    #[default]
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "SMS")]
    Sms,
}

impl Channel {
    /// The `channel` label of the outbox metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}
