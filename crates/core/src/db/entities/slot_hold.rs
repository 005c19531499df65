use sea_orm::entity::prelude::*;

/// A time kept for one patient until `expires_at`. While `LIVE` (and not expired) it blocks its
/// doctor's `[blocked_from, blocked_until)` and its patient's `[starts_at, ends_at)` like an active
/// appointment (`calendar_blocks`); it is never an appointment, an event or an email.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "slot_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
    pub visit_type_id: Option<Uuid>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub blocked_from: DateTimeUtc,
    pub blocked_until: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Who placed it: the patient, their doctor, or an admin.
    pub placed_by: Uuid,
    pub status: HoldStatus,
    pub created_at: DateTimeUtc,
    /// When it stopped being live (released, consumed, expired).
    pub ended_at: Option<DateTimeUtc>,
    /// Set on a waitlist offer's hold: the entry it was offered to. Such a hold is answered only
    /// with `acceptWaitlistOffer` / `declineWaitlistOffer` (not `myHolds`, `releaseHold`, `holdId`)
    /// and does not count toward `HOLD_MAX_PER_PATIENT`.
    pub waitlist_entry_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a hold is in its life. Only a `LIVE` hold blocks time (until it expires).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum HoldStatus {
    #[sea_orm(string_value = "LIVE")]
    Live,
    #[sea_orm(string_value = "RELEASED")]
    Released,
    #[sea_orm(string_value = "CONSUMED")]
    Consumed,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}
