//! The append-only audit log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    SubjectId,
    RequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(uuid(AuditLog::Id).primary_key())
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len(AuditLog::Action, 64))
                    .col(uuid_null(AuditLog::SubjectId))
                    .col(string_len(AuditLog::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [("idx_audit_log_actor", AuditLog::ActorId), ("idx_audit_log_subject", AuditLog::SubjectId)]
        {
            manager
                .create_index(Index::create().name(name).table(AuditLog::Table).col(col).col(AuditLog::Id).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await
    }
}
