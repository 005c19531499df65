//! SMS reminders and notices: the outbox gets a second channel (one table, one sender, one set of
//! guarantees for both), the provider's id of a sent SMS, and the users' SMS consent.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_outbox_channel_id";

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Channel,
    ProviderMessageId,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    SmsReminders,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_len(Outbox::Channel, 8).default("EMAIL"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_len_null(Outbox::ProviderMessageId, 200))
                    .to_owned(),
            )
            .await?;
        // The admin's lists (`outbox`, `smsOutbox`): one channel, newest first. The sender's claim
        // takes both channels at once and keeps using `idx_outbox_status_due`, as do the backlog
        // gauges (grouped by channel): no index more for every booking to write.
        manager
            .create_index(
                Index::create().name(INDEX).table(Outbox::Table).col(Outbox::Channel).col(Outbox::Id).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(boolean(Users::SmsReminders).default(false)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::SmsReminders).to_owned()).await?;
        manager.drop_index(Index::drop().name(INDEX).table(Outbox::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Outbox::Table).drop_column(Outbox::ProviderMessageId).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Outbox::Table).drop_column(Outbox::Channel).to_owned()).await
    }
}
