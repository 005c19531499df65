use sea_orm::entity::prelude::*;

/// The time one active appointment or live hold takes, kept by the database's triggers (never
/// written by the service): a doctor's `[blocked_from, blocked_until)` and a patient's
/// `[starts_at, ends_at)`. Its constraints are the no-overlap rule; slot listings read it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_blocks")]
pub struct Model {
    /// The appointment's or the hold's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `APPOINTMENT` or `HOLD`.
    pub kind: String,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub blocked_from: DateTimeUtc,
    pub blocked_until: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
