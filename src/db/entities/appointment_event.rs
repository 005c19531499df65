use sea_orm::entity::prelude::*;

use crate::domain::appointments::{AppointmentEventKind, AppointmentStatus};

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
