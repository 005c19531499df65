//! Signed webhooks: the endpoints admins register, and one delivery row per event and endpoint,
//! written in the transaction of the change and sent by a background sender under a lease (the
//! outbox's pattern).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Events,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Active,
    DisabledReason,
    ConsecutiveFailures,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    Event,
    Body,
    Status,
    Attempts,
    LastStatusCode,
    LastError,
    CreatedAt,
    NextAttemptAt,
    DeliveredAt,
    LeaseUntil,
    LeaseOwner,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    // The event types subscribed to, comma-separated (`appointment.created,ping`).
                    .col(string_len(WebhookEndpoints::Events, 512))
                    .col(string_len(WebhookEndpoints::Secret, 128))
                    .col(string_len_null(WebhookEndpoints::PreviousSecret, 128))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(boolean(WebhookEndpoints::Active).default(true))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 200))
                    .col(integer(WebhookEndpoints::ConsecutiveFailures).default(0))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Every appointment change reads the active endpoints.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoints_active")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::Active)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(string_len(WebhookDeliveries::Id, 64).primary_key())
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(string_len(WebhookDeliveries::Event, 32))
                    .col(text(WebhookDeliveries::Body))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(string_len_null(WebhookDeliveries::LastError, 200))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .col(string_len_null(WebhookDeliveries::LeaseOwner, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_endpoint")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The sender's claim (pending and due); the admin's filters, newest first (ids are
        // time-ordered); an endpoint's deliveries (the foreign key's and disabling's).
        for (name, cols) in [
            ("idx_webhook_deliveries_status_next", vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt]),
            ("idx_webhook_deliveries_status_id", vec![WebhookDeliveries::Status, WebhookDeliveries::Id]),
            ("idx_webhook_deliveries_endpoint_id", vec![WebhookDeliveries::EndpointId, WebhookDeliveries::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookDeliveries::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}
