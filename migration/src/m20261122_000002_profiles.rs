//! Profiles and scheduling: doctor and patient profiles, weekly availability, time off.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum DoctorProfiles {
    Table,
    UserId,
    Verified,
    Specialty,
    ExperienceYears,
    TimeZone,
    SlotMinutes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PatientProfiles {
    Table,
    UserId,
    DateOfBirth,
    EmergencyContactName,
    EmergencyContactPhone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AvailabilityRules {
    Table,
    Id,
    DoctorId,
    Weekday,
    StartTime,
    EndTime,
}

#[derive(DeriveIden)]
enum TimeOff {
    Table,
    Id,
    DoctorId,
    StartsAt,
    EndsAt,
    Reason,
    CreatedAt,
}

fn user_fk(name: &str, from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DoctorProfiles::Table)
                    .col(uuid(DoctorProfiles::UserId).primary_key())
                    .col(boolean(DoctorProfiles::Verified))
                    .col(string_len(DoctorProfiles::Specialty, 100))
                    .col(integer(DoctorProfiles::ExperienceYears))
                    .col(string_len(DoctorProfiles::TimeZone, 64))
                    .col(integer(DoctorProfiles::SlotMinutes))
                    .col(timestamp_with_time_zone(DoctorProfiles::CreatedAt))
                    .col(timestamp_with_time_zone(DoctorProfiles::UpdatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_doctor_profiles_user",
                        (DoctorProfiles::Table, DoctorProfiles::UserId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_doctor_profiles_verified")
                    .table(DoctorProfiles::Table)
                    .col(DoctorProfiles::Verified)
                    .col(DoctorProfiles::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PatientProfiles::Table)
                    .col(uuid(PatientProfiles::UserId).primary_key())
                    .col(date(PatientProfiles::DateOfBirth))
                    .col(string_len(PatientProfiles::EmergencyContactName, 100))
                    .col(string_len(PatientProfiles::EmergencyContactPhone, 100))
                    .col(timestamp_with_time_zone(PatientProfiles::CreatedAt))
                    .col(timestamp_with_time_zone(PatientProfiles::UpdatedAt))
                    .foreign_key(&mut user_fk(
                        "fk_patient_profiles_user",
                        (PatientProfiles::Table, PatientProfiles::UserId),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AvailabilityRules::Table)
                    .col(uuid(AvailabilityRules::Id).primary_key())
                    .col(uuid(AvailabilityRules::DoctorId))
                    .col(small_integer(AvailabilityRules::Weekday))
                    .col(time(AvailabilityRules::StartTime))
                    .col(time(AvailabilityRules::EndTime))
                    .foreign_key(&mut user_fk(
                        "fk_availability_rules_doctor",
                        (AvailabilityRules::Table, AvailabilityRules::DoctorId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_availability_rules_doctor")
                    .table(AvailabilityRules::Table)
                    .col(AvailabilityRules::DoctorId)
                    .col(AvailabilityRules::Weekday)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TimeOff::Table)
                    .col(uuid(TimeOff::Id).primary_key())
                    .col(uuid(TimeOff::DoctorId))
                    .col(timestamp_with_time_zone(TimeOff::StartsAt))
                    .col(timestamp_with_time_zone(TimeOff::EndsAt))
                    .col(string_len_null(TimeOff::Reason, 500))
                    .col(timestamp_with_time_zone(TimeOff::CreatedAt))
                    .foreign_key(&mut user_fk("fk_time_off_doctor", (TimeOff::Table, TimeOff::DoctorId)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_time_off_doctor_range")
                    .table(TimeOff::Table)
                    .col(TimeOff::DoctorId)
                    .col(TimeOff::StartsAt)
                    .col(TimeOff::EndsAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TimeOff::Table.into_iden(),
            AvailabilityRules::Table.into_iden(),
            PatientProfiles::Table.into_iden(),
            DoctorProfiles::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
