use sea_orm::entity::prelude::*;

use super::appointment::AppointmentStatus;

/// One change of an appointment, written in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointment_events")]
pub struct Model {
    /// UUIDv7: time-ordered, so ordering by id is ordering by when.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub kind: AppointmentEventKind,
    /// Status after the event.
    pub status: AppointmentStatus,
    /// Start time after the event.
    pub starts_at: DateTimeUtc,
    /// Who did it; `None` for the system.
    pub actor_id: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What happened to an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AppointmentEventKind {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "RESCHEDULED")]
    Rescheduled,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "NO_SHOW")]
    NoShow,
}
