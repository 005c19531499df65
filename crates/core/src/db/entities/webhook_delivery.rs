use sea_orm::entity::prelude::*;

/// One event for one endpoint: written in the transaction of the change, sent by the webhook
/// sender under a lease, retried until it succeeds or its attempts run out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// `msg_<32 hex digits>` (a UUIDv7: time-ordered), the `webhook-id` header on every attempt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub endpoint_id: Uuid,
    pub event: WebhookEvent,
    /// The JSON body, fixed when written.
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// When the next attempt may be made (`None` once it is no longer pending).
    pub next_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    /// A sender's claim: until then no other sender takes it.
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a webhook tells of. Stored (and sent as the body's `type`) as its dotted name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum WebhookEvent {
    #[sea_orm(string_value = "appointment.created")]
    AppointmentCreated,
    #[sea_orm(string_value = "appointment.confirmed")]
    AppointmentConfirmed,
    #[sea_orm(string_value = "appointment.rescheduled")]
    AppointmentRescheduled,
    #[sea_orm(string_value = "appointment.cancelled")]
    AppointmentCancelled,
    #[sea_orm(string_value = "appointment.completed")]
    AppointmentCompleted,
    #[sea_orm(string_value = "appointment.no_show")]
    AppointmentNoShow,
    #[sea_orm(string_value = "waitlist.offered")]
    WaitlistOffered,
    #[sea_orm(string_value = "ping")]
    Ping,
}

/// Where a delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DeliveryStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}
