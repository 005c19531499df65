use sea_orm::entity::prelude::*;

/// A booked time between a doctor and a patient. Active ones (pending, confirmed) never overlap for
/// one doctor or one patient: the database refuses it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// Health data: never logged or audited.
    pub reason_for_visit: String,
    pub status: AppointmentStatus,
    pub cancellation_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AppointmentStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "NO_SHOW")]
    NoShow,
}

impl AppointmentStatus {
    /// Pending and confirmed appointments hold their time.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}
