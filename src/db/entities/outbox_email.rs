use sea_orm::entity::prelude::*;

use crate::outbox::{EmailKind, EmailStatus};

/// One email of the outbox: written in the transaction of the change that causes it, sent later by
/// the outbox sender. The body may hold a reset token: it never leaves the
/// service except in the email itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: EmailKind,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub appointment_id: Option<Uuid>,
    /// The user the email is for (reminders check their preference again before sending).
    pub recipient_id: Option<Uuid>,
    /// For a reminder: the appointment's start it reminds of (a moved appointment's old reminders
    /// no longer match and are not sent).
    pub starts_at: Option<DateTimeUtc>,
    /// `<uuid@host>`, fixed when written: a retry after a crash mid-send is the same message.
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
