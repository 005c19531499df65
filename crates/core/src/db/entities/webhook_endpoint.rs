use sea_orm::entity::prelude::*;

/// An endpoint admins registered for webhooks: where deliveries go, for which events, signed with
/// which secret (stored as it was shown: the sender needs it to sign; see the README).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    /// The event types subscribed to, comma-separated (`appointment.created,ping`).
    pub events: String,
    /// `whsec_<base64>`.
    pub secret: String,
    /// The secret before the last rotation, which still signs until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub active: bool,
    /// Why the service turned it off (after failures); `None` when an admin did, or while active.
    pub disabled_reason: Option<String>,
    /// Deliveries in a row that failed for good (a success resets it).
    pub consecutive_failures: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
