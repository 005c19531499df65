use sea_orm::entity::prelude::*;

/// One throttled attempt, kept for its window (see `domain::throttle`). The table's name is from
/// when it held failed logins only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What was attempted: `login` (sign-ins and wrong old passwords), `reset` (reset tokens
    /// tried), `reset_email` (reset emails sent).
    pub kind: String,
    /// Who it was for: the email address.
    pub email: String,
    pub client_addr: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
