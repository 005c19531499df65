use sea_orm::entity::prelude::*;

/// A recurring series: `count` appointments of one doctor and patient, `interval_weeks` apart at
/// the same local time, booked together (all or none). Its occurrences are rows of
/// `appointments` whose `series_id` is this id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointment_series")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub interval_weeks: i32,
    pub count: i32,
    pub created_at: DateTimeUtc,
    /// Who booked it: the patient, the doctor, or an admin.
    pub created_by: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
