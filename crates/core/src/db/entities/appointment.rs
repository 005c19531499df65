use sea_orm::entity::prelude::*;

/// A booked time between a doctor and a patient. An active one (pending, confirmed) blocks its
/// doctor's time `[blocked_from, blocked_until)` (the visit widened by its type's buffers) and its
/// patient's `[starts_at, ends_at)`; no two blocks of one doctor, nor two visits of one patient,
/// overlap (nor a live hold's): the database refuses it (`calendar_blocks`).
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
    /// The visit type it was booked with; its length, buffers and policy were copied here then.
    pub visit_type_id: Option<Uuid>,
    /// The doctor's time it blocks: `starts_at` minus the type's buffer before.
    pub blocked_from: DateTimeUtc,
    /// … to `ends_at` plus the buffer after.
    pub blocked_until: DateTimeUtc,
    /// The copied patient policy (none without a visit type).
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    pub patient_cancel_cutoff_minutes: Option<i32>,
    pub patient_reschedule_cutoff_minutes: Option<i32>,
    /// When it was cancelled (for `lateCancellation`).
    pub cancelled_at: Option<DateTimeUtc>,
    /// The recurring series it belongs to (null for a single appointment).
    pub series_id: Option<Uuid>,
    /// Its 1-based place in that series.
    pub occurrence: Option<i32>,
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
