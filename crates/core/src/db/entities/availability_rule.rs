use sea_orm::entity::prelude::*;

/// One weekly window of a doctor's availability, in the doctor's local time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "availability_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i16,
    pub start_time: Time,
    pub end_time: Time,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
