//! Recurring series: `count` appointments `interval_weeks` apart, booked all or none.
//!
//! - `appointment_series`: who it is for (doctor, patient), its recurrence and who booked it. The
//!   occurrences are ordinary rows of `appointments`, with the overlap guarantee of
//!   `calendar_blocks` each. The row is written first (its occurrences point at it) and before
//!   the occurrences' checks have found the people, so its two people are checked at commit
//!   (`DEFERRABLE INITIALLY DEFERRED`): a series whose occurrences are refused is rolled back
//!   whole, and one that commits has had both people checked by every occurrence.
//! - `appointments.series_id` (null for a single appointment) and `appointments.occurrence`
//!   (1-based), unique per series; the unique index also answers "the occurrences of a series".
//! - `outbox.series_id`: the series an email is about (the one `APPOINTMENT_SERIES` email of a
//!   booking, the one `APPOINTMENT_CANCELLED` of a series cancellation), for its
//!   `X-CyberMed-Series` header.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r"
CREATE TABLE appointment_series (
  id uuid PRIMARY KEY,
  doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
  patient_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
  interval_weeks integer NOT NULL CHECK (interval_weeks BETWEEN 1 AND 4),
  count integer NOT NULL CHECK (count BETWEEN 2 AND 26),
  created_at timestamptz NOT NULL,
  created_by uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT
);
CREATE INDEX idx_appointment_series_doctor ON appointment_series (doctor_id);
CREATE INDEX idx_appointment_series_patient ON appointment_series (patient_id);

ALTER TABLE appointments
  ADD COLUMN series_id uuid REFERENCES appointment_series (id) ON DELETE RESTRICT,
  ADD COLUMN occurrence integer;
ALTER TABLE appointments ADD CONSTRAINT appointments_occurrence_of_a_series
  CHECK ((series_id IS NULL) = (occurrence IS NULL) AND (occurrence IS NULL OR occurrence >= 1));
CREATE UNIQUE INDEX idx_appointments_series ON appointments (series_id, occurrence) WHERE series_id IS NOT NULL;

ALTER TABLE outbox ADD COLUMN series_id uuid;
";

const POSTGRES_DOWN: &str = r"
ALTER TABLE outbox DROP COLUMN series_id;
DROP INDEX idx_appointments_series;
ALTER TABLE appointments DROP CONSTRAINT appointments_occurrence_of_a_series;
ALTER TABLE appointments DROP COLUMN occurrence, DROP COLUMN series_id;
DROP TABLE appointment_series;
";

/// SQLite: one statement per entry. `ALTER TABLE … ADD COLUMN` cannot add a `CHECK` naming
/// another column, so the pairing of `series_id` and `occurrence` is the code's (both set
/// together, in one `INSERT`).
const SQLITE_UP: &[&str] = &[
    "CREATE TABLE appointment_series (
      id uuid_text NOT NULL PRIMARY KEY,
      doctor_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
      patient_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
      interval_weeks integer NOT NULL CHECK (interval_weeks BETWEEN 1 AND 4),
      count integer NOT NULL CHECK (count BETWEEN 2 AND 26),
      created_at timestamp_with_timezone_text NOT NULL,
      created_by uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT
    )",
    "CREATE INDEX idx_appointment_series_doctor ON appointment_series (doctor_id)",
    "CREATE INDEX idx_appointment_series_patient ON appointment_series (patient_id)",
    "ALTER TABLE appointments ADD COLUMN series_id uuid_text REFERENCES appointment_series (id) ON DELETE RESTRICT",
    "ALTER TABLE appointments ADD COLUMN occurrence integer CHECK (occurrence IS NULL OR occurrence >= 1)",
    "CREATE UNIQUE INDEX idx_appointments_series ON appointments (series_id, occurrence) WHERE series_id IS NOT NULL",
    "ALTER TABLE outbox ADD COLUMN series_id uuid_text",
];

const SQLITE_DOWN: &[&str] = &[
    "ALTER TABLE outbox DROP COLUMN series_id",
    "DROP INDEX idx_appointments_series",
    "ALTER TABLE appointments DROP COLUMN occurrence",
    "ALTER TABLE appointments DROP COLUMN series_id",
    "DROP TABLE appointment_series",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_sql(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_sql(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
