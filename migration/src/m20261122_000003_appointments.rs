//! Appointments and their history, with overlap of active appointments refused by the database:
//! exclusion constraints on PostgreSQL, triggers on SQLite.
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    DoctorId,
    PatientId,
    StartsAt,
    EndsAt,
    ReasonForVisit,
    Status,
    CancellationReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppointmentEvents {
    Table,
    Id,
    AppointmentId,
    Kind,
    Status,
    StartsAt,
    ActorId,
    At,
}

const POSTGRES_CONSTRAINTS: &str = "
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE appointments ADD CONSTRAINT appointments_doctor_no_overlap
  EXCLUDE USING gist (doctor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (status IN ('PENDING', 'CONFIRMED'));
ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap
  EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (status IN ('PENDING', 'CONFIRMED'));
ALTER TABLE appointments ADD CONSTRAINT appointments_ends_after_start CHECK (ends_at > starts_at);
";

/// SQLite has no exclusion constraints: triggers refuse the same overlaps. Timestamps are stored as
/// RFC 3339 text in UTC, whose text order is time order.
const SQLITE_TRIGGERS: [&str; 4] = [
    "CREATE TRIGGER appointments_doctor_no_overlap_insert BEFORE INSERT ON appointments
     WHEN NEW.status IN ('PENDING', 'CONFIRMED') AND EXISTS (
       SELECT 1 FROM appointments a WHERE a.doctor_id = NEW.doctor_id
         AND a.status IN ('PENDING', 'CONFIRMED') AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at)
     BEGIN SELECT RAISE(ABORT, 'appointments_doctor_no_overlap'); END",
    "CREATE TRIGGER appointments_patient_no_overlap_insert BEFORE INSERT ON appointments
     WHEN NEW.status IN ('PENDING', 'CONFIRMED') AND EXISTS (
       SELECT 1 FROM appointments a WHERE a.patient_id = NEW.patient_id
         AND a.status IN ('PENDING', 'CONFIRMED') AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at)
     BEGIN SELECT RAISE(ABORT, 'appointments_patient_no_overlap'); END",
    "CREATE TRIGGER appointments_doctor_no_overlap_update BEFORE UPDATE OF starts_at, ends_at, status, doctor_id ON appointments
     WHEN NEW.status IN ('PENDING', 'CONFIRMED') AND EXISTS (
       SELECT 1 FROM appointments a WHERE a.doctor_id = NEW.doctor_id AND a.id <> NEW.id
         AND a.status IN ('PENDING', 'CONFIRMED') AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at)
     BEGIN SELECT RAISE(ABORT, 'appointments_doctor_no_overlap'); END",
    "CREATE TRIGGER appointments_patient_no_overlap_update BEFORE UPDATE OF starts_at, ends_at, status, patient_id ON appointments
     WHEN NEW.status IN ('PENDING', 'CONFIRMED') AND EXISTS (
       SELECT 1 FROM appointments a WHERE a.patient_id = NEW.patient_id AND a.id <> NEW.id
         AND a.status IN ('PENDING', 'CONFIRMED') AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at)
     BEGIN SELECT RAISE(ABORT, 'appointments_patient_no_overlap'); END",
];

fn user_fk(name: &str, col: Appointments) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(Appointments::Table, col)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Appointments::Table)
                    .col(uuid(Appointments::Id).primary_key())
                    .col(uuid(Appointments::DoctorId))
                    .col(uuid(Appointments::PatientId))
                    .col(timestamp_with_time_zone(Appointments::StartsAt))
                    .col(timestamp_with_time_zone(Appointments::EndsAt))
                    .col(text(Appointments::ReasonForVisit))
                    .col(string_len(Appointments::Status, 16))
                    .col(text_null(Appointments::CancellationReason))
                    .col(timestamp_with_time_zone(Appointments::CreatedAt))
                    .col(timestamp_with_time_zone(Appointments::UpdatedAt))
                    .foreign_key(&mut user_fk("fk_appointments_doctor", Appointments::DoctorId))
                    .foreign_key(&mut user_fk("fk_appointments_patient", Appointments::PatientId))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_appointments_doctor_starts", Appointments::DoctorId),
            ("idx_appointments_patient_starts", Appointments::PatientId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Appointments::Table)
                        .col(col)
                        .col(Appointments::StartsAt)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_appointments_starts")
                    .table(Appointments::Table)
                    .col(Appointments::StartsAt)
                    .col(Appointments::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppointmentEvents::Table)
                    .col(uuid(AppointmentEvents::Id).primary_key())
                    .col(uuid(AppointmentEvents::AppointmentId))
                    .col(string_len(AppointmentEvents::Kind, 16))
                    .col(string_len(AppointmentEvents::Status, 16))
                    .col(timestamp_with_time_zone(AppointmentEvents::StartsAt))
                    .col(uuid_null(AppointmentEvents::ActorId))
                    .col(timestamp_with_time_zone(AppointmentEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_appointment_events_appointment")
                            .from(AppointmentEvents::Table, AppointmentEvents::AppointmentId)
                            .to(Appointments::Table, Appointments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_appointment_events_actor")
                            .from(AppointmentEvents::Table, AppointmentEvents::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_appointment_events_appointment")
                    .table(AppointmentEvents::Table)
                    .col(AppointmentEvents::AppointmentId)
                    .col(AppointmentEvents::Id)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_CONSTRAINTS).await?;
            }
            DbBackend::Sqlite => {
                for trigger in SQLITE_TRIGGERS {
                    db.execute_unprepared(trigger).await?;
                }
            }
            _ => return Err(DbErr::Migration("CyberMed supports SQLite and PostgreSQL".to_owned())),
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AppointmentEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Appointments::Table).to_owned()).await
    }
}
