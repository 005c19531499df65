use sea_orm::entity::prelude::*;

/// A patient in line for an earlier time with one doctor, inside `[earliest, latest)`. While
/// `OFFERED`, the offer's hold and times are kept here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "waitlist_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub visit_type_id: Option<Uuid>,
    pub earliest: DateTimeUtc,
    pub latest: DateTimeUtc,
    /// The later appointment an accepted offer cancels.
    pub replaces_appointment_id: Option<Uuid>,
    pub status: WaitlistStatus,
    pub offer_hold_id: Option<Uuid>,
    pub offer_starts_at: Option<DateTimeUtc>,
    pub offer_ends_at: Option<DateTimeUtc>,
    pub offer_expires_at: Option<DateTimeUtc>,
    /// Who put the patient in line: the patient, their doctor, or an admin.
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where an entry is in its life. `WAITING` and `OFFERED` are live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WaitlistStatus {
    #[sea_orm(string_value = "WAITING")]
    Waiting,
    #[sea_orm(string_value = "OFFERED")]
    Offered,
    #[sea_orm(string_value = "BOOKED")]
    Booked,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    #[sea_orm(string_value = "LEFT")]
    Left,
}

impl WaitlistStatus {
    /// `WAITING` or `OFFERED`.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Waiting | Self::Offered)
    }

    /// The stored name (also the metric's `status` label, lower-cased).
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Booked => "booked",
            Self::Expired => "expired",
            Self::Left => "left",
        }
    }
}
