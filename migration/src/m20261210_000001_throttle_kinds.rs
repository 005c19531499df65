//! The login-failure table becomes the table of every throttled attempt: a `kind` tells logins
//! (and wrong old passwords) from password-reset attempts and sent reset emails.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Kind,
    Email,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailures::Table)
                    .add_column(string_len(LoginFailures::Kind, 16).default("login"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_failures_kind_email_at")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::Kind)
                    .col(LoginFailures::Email)
                    .col(LoginFailures::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_login_failures_kind_email_at").table(LoginFailures::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(LoginFailures::Table).drop_column(LoginFailures::Kind).to_owned())
            .await
    }
}
