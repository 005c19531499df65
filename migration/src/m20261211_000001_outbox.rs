//! The durable email outbox (rows written in the transaction of the change that causes them, sent
//! by a background sender that claims them with a lease) and the users' reminder preference.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Kind,
    ToAddress,
    Subject,
    Body,
    AppointmentId,
    RecipientId,
    StartsAt,
    MessageId,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    DueAt,
    SentAt,
    LeaseUntil,
    LeaseOwner,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailReminders,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(string_len(Outbox::Kind, 32))
                    .col(string_len(Outbox::ToAddress, 254))
                    .col(string_len(Outbox::Subject, 200))
                    .col(text(Outbox::Body))
                    .col(uuid_null(Outbox::AppointmentId))
                    .col(uuid_null(Outbox::RecipientId))
                    .col(timestamp_with_time_zone_null(Outbox::StartsAt))
                    .col(string_len_uniq(Outbox::MessageId, 200))
                    .col(string_len(Outbox::Status, 16))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(string_len_null(Outbox::LastError, 200))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone(Outbox::DueAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .col(timestamp_with_time_zone_null(Outbox::LeaseUntil))
                    .col(string_len_null(Outbox::LeaseOwner, 64))
                    .to_owned(),
            )
            .await?;
        // The sender's claim (pending and due), the admin's filters, housekeeping by age.
        for (name, cols) in [
            ("idx_outbox_status_due", vec![Outbox::Status, Outbox::DueAt]),
            ("idx_outbox_appointment", vec![Outbox::AppointmentId, Outbox::Id]),
            ("idx_outbox_status_id", vec![Outbox::Status, Outbox::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Outbox::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(boolean(Users::EmailReminders).default(true)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailReminders).to_owned()).await?;
        manager.drop_table(Table::drop().table(Outbox::Table).to_owned()).await
    }
}
