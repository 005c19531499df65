use sea_orm::entity::prelude::*;

/// A doctor's kind of visit: its length, the buffers it keeps free around it, and the policy that
/// applies when a patient books it. An appointment copies these when it is booked.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_types")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub name: String,
    /// The name in lower case: unique per doctor.
    pub name_key: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub min_notice_minutes: i32,
    pub horizon_days: i32,
    pub patient_cancel_cutoff_minutes: i32,
    pub patient_reschedule_cutoff_minutes: i32,
    pub patient_bookable: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
