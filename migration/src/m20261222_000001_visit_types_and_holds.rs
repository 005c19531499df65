//! Visit types, the time an appointment blocks, and slot holds, with one overlap guarantee for both.
//!
//! - `visit_types`: a doctor's kinds of visit (length, buffers, booking policy); names unique per
//!   doctor ignoring case (`name_key` is the lower-cased name).
//! - `appointments` gains what it copied from its type when booked (the type, the blocked range
//!   `[blocked_from, blocked_until)` = the visit widened by its buffers, the patient policy) and
//!   when it was cancelled. Existing rows block exactly their visit and have no policy.
//! - `slot_holds`: a time kept for one patient until `expires_at`.
//! - `calendar_blocks`: one row per active appointment and per live hold, kept by triggers on both
//!   tables (an appointment's row lives while it is `PENDING` or `CONFIRMED`, a hold's while it is
//!   `LIVE`). The no-overlap rule is this table's: a doctor's blocked ranges never overlap, nor a
//!   patient's visits (PostgreSQL: exclusion constraints; SQLite: triggers raising the same names).
//!   The appointments' own overlap constraints and triggers are dropped: the blocks replace them.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r"
CREATE TABLE visit_types (
  id uuid PRIMARY KEY,
  doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  name text NOT NULL,
  name_key text NOT NULL,
  duration_minutes integer NOT NULL,
  buffer_before_minutes integer NOT NULL,
  buffer_after_minutes integer NOT NULL,
  min_notice_minutes integer NOT NULL,
  horizon_days integer NOT NULL,
  patient_cancel_cutoff_minutes integer NOT NULL,
  patient_reschedule_cutoff_minutes integer NOT NULL,
  patient_bookable boolean NOT NULL,
  active boolean NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CONSTRAINT visit_types_doctor_name UNIQUE (doctor_id, name_key)
);

ALTER TABLE appointments
  ADD COLUMN visit_type_id uuid REFERENCES visit_types (id) ON DELETE RESTRICT,
  ADD COLUMN blocked_from timestamptz,
  ADD COLUMN blocked_until timestamptz,
  ADD COLUMN min_notice_minutes integer,
  ADD COLUMN horizon_days integer,
  ADD COLUMN patient_cancel_cutoff_minutes integer,
  ADD COLUMN patient_reschedule_cutoff_minutes integer,
  ADD COLUMN cancelled_at timestamptz;
UPDATE appointments SET blocked_from = starts_at, blocked_until = ends_at;
UPDATE appointments a SET cancelled_at = (
  SELECT max(e.at) FROM appointment_events e WHERE e.appointment_id = a.id AND e.kind = 'CANCELLED')
  WHERE a.status = 'CANCELLED';
ALTER TABLE appointments ALTER COLUMN blocked_from SET NOT NULL, ALTER COLUMN blocked_until SET NOT NULL;
ALTER TABLE appointments ADD CONSTRAINT appointments_blocks_its_visit
  CHECK (blocked_from <= starts_at AND ends_at <= blocked_until);
CREATE INDEX idx_appointments_visit_type ON appointments (visit_type_id) WHERE visit_type_id IS NOT NULL;

CREATE TABLE slot_holds (
  id uuid PRIMARY KEY,
  doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  patient_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  visit_type_id uuid REFERENCES visit_types (id) ON DELETE RESTRICT,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  blocked_from timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  placed_by uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  status varchar(16) NOT NULL,
  created_at timestamptz NOT NULL,
  ended_at timestamptz,
  CONSTRAINT slot_holds_blocks_its_visit CHECK (blocked_from <= starts_at AND starts_at < ends_at AND ends_at <= blocked_until)
);
CREATE INDEX idx_slot_holds_patient_live ON slot_holds (patient_id, expires_at) WHERE status = 'LIVE';
CREATE INDEX idx_slot_holds_doctor_live ON slot_holds (doctor_id, expires_at) WHERE status = 'LIVE';
CREATE INDEX idx_slot_holds_placed_by_live ON slot_holds (placed_by, expires_at) WHERE status = 'LIVE';

CREATE TABLE calendar_blocks (
  id uuid PRIMARY KEY,
  kind varchar(16) NOT NULL,
  doctor_id uuid NOT NULL,
  patient_id uuid NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  blocked_from timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  CONSTRAINT calendar_blocks_doctor_no_overlap
    EXCLUDE USING gist (doctor_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&),
  CONSTRAINT calendar_blocks_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
);

CREATE FUNCTION appointments_keep_block() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM calendar_blocks WHERE id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('PENDING', 'CONFIRMED') THEN
    INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
    VALUES (NEW.id, 'APPOINTMENT', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at,
            NEW.blocked_from, NEW.blocked_until);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER appointments_keep_block
  AFTER INSERT OR DELETE OR UPDATE OF status, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until
  ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_keep_block();

CREATE FUNCTION slot_holds_keep_block() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM calendar_blocks WHERE id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'LIVE' THEN
    INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
    VALUES (NEW.id, 'HOLD', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at,
            NEW.blocked_from, NEW.blocked_until);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER slot_holds_keep_block
  AFTER INSERT OR DELETE OR UPDATE OF status, starts_at, ends_at, blocked_from, blocked_until
  ON slot_holds FOR EACH ROW EXECUTE FUNCTION slot_holds_keep_block();

INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
  SELECT id, 'APPOINTMENT', doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until
  FROM appointments WHERE status IN ('PENDING', 'CONFIRMED');

ALTER TABLE appointments DROP CONSTRAINT appointments_doctor_no_overlap;
ALTER TABLE appointments DROP CONSTRAINT appointments_patient_no_overlap;
";

const POSTGRES_DOWN: &str = r"
ALTER TABLE appointments ADD CONSTRAINT appointments_doctor_no_overlap
  EXCLUDE USING gist (doctor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (status IN ('PENDING', 'CONFIRMED'));
ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap
  EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (status IN ('PENDING', 'CONFIRMED'));
DROP TRIGGER slot_holds_keep_block ON slot_holds;
DROP FUNCTION slot_holds_keep_block();
DROP TRIGGER appointments_keep_block ON appointments;
DROP FUNCTION appointments_keep_block();
DROP TABLE calendar_blocks;
DROP TABLE slot_holds;
ALTER TABLE appointments DROP CONSTRAINT appointments_blocks_its_visit;
DROP INDEX idx_appointments_visit_type;
ALTER TABLE appointments DROP COLUMN visit_type_id, DROP COLUMN blocked_from, DROP COLUMN blocked_until,
  DROP COLUMN min_notice_minutes, DROP COLUMN horizon_days, DROP COLUMN patient_cancel_cutoff_minutes,
  DROP COLUMN patient_reschedule_cutoff_minutes, DROP COLUMN cancelled_at;
DROP TABLE visit_types;
";

/// SQLite: one statement per entry (it runs them one at a time). Timestamps are RFC 3339 text in
/// UTC, whose text order is time order; `ALTER TABLE … ADD COLUMN` cannot add a `NOT NULL` column
/// without a default, so the blocked range is filled and then guarded by triggers.
const SQLITE_UP: &[&str] = &[
    "CREATE TABLE visit_types (
      id uuid_text NOT NULL PRIMARY KEY,
      doctor_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      name text NOT NULL,
      name_key text NOT NULL,
      duration_minutes integer NOT NULL,
      buffer_before_minutes integer NOT NULL,
      buffer_after_minutes integer NOT NULL,
      min_notice_minutes integer NOT NULL,
      horizon_days integer NOT NULL,
      patient_cancel_cutoff_minutes integer NOT NULL,
      patient_reschedule_cutoff_minutes integer NOT NULL,
      patient_bookable boolean NOT NULL,
      active boolean NOT NULL,
      created_at timestamp_with_timezone_text NOT NULL,
      updated_at timestamp_with_timezone_text NOT NULL,
      CONSTRAINT visit_types_doctor_name UNIQUE (doctor_id, name_key)
    )",
    "ALTER TABLE appointments ADD COLUMN visit_type_id uuid_text REFERENCES visit_types (id) ON DELETE RESTRICT",
    "ALTER TABLE appointments ADD COLUMN blocked_from timestamp_with_timezone_text NOT NULL DEFAULT ''",
    "ALTER TABLE appointments ADD COLUMN blocked_until timestamp_with_timezone_text NOT NULL DEFAULT ''",
    "ALTER TABLE appointments ADD COLUMN min_notice_minutes integer",
    "ALTER TABLE appointments ADD COLUMN horizon_days integer",
    "ALTER TABLE appointments ADD COLUMN patient_cancel_cutoff_minutes integer",
    "ALTER TABLE appointments ADD COLUMN patient_reschedule_cutoff_minutes integer",
    "ALTER TABLE appointments ADD COLUMN cancelled_at timestamp_with_timezone_text",
    "UPDATE appointments SET blocked_from = starts_at, blocked_until = ends_at",
    "UPDATE appointments SET cancelled_at = (
       SELECT max(e.at) FROM appointment_events e WHERE e.appointment_id = appointments.id AND e.kind = 'CANCELLED')
     WHERE status = 'CANCELLED'",
    "CREATE TRIGGER appointments_blocks_its_visit_insert BEFORE INSERT ON appointments
     WHEN NOT (NEW.blocked_from <= NEW.starts_at AND NEW.ends_at <= NEW.blocked_until)
     BEGIN SELECT RAISE(ABORT, 'appointments_blocks_its_visit'); END",
    "CREATE TRIGGER appointments_blocks_its_visit_update BEFORE UPDATE OF starts_at, ends_at, blocked_from, blocked_until ON appointments
     WHEN NOT (NEW.blocked_from <= NEW.starts_at AND NEW.ends_at <= NEW.blocked_until)
     BEGIN SELECT RAISE(ABORT, 'appointments_blocks_its_visit'); END",
    "CREATE INDEX idx_appointments_visit_type ON appointments (visit_type_id) WHERE visit_type_id IS NOT NULL",
    "CREATE TABLE slot_holds (
      id uuid_text NOT NULL PRIMARY KEY,
      doctor_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      patient_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      visit_type_id uuid_text REFERENCES visit_types (id) ON DELETE RESTRICT,
      starts_at timestamp_with_timezone_text NOT NULL,
      ends_at timestamp_with_timezone_text NOT NULL,
      blocked_from timestamp_with_timezone_text NOT NULL,
      blocked_until timestamp_with_timezone_text NOT NULL,
      expires_at timestamp_with_timezone_text NOT NULL,
      placed_by uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      status varchar(16) NOT NULL,
      created_at timestamp_with_timezone_text NOT NULL,
      ended_at timestamp_with_timezone_text,
      CONSTRAINT slot_holds_blocks_its_visit CHECK (blocked_from <= starts_at AND starts_at < ends_at AND ends_at <= blocked_until)
    )",
    "CREATE INDEX idx_slot_holds_patient_live ON slot_holds (patient_id, expires_at) WHERE status = 'LIVE'",
    "CREATE INDEX idx_slot_holds_doctor_live ON slot_holds (doctor_id, expires_at) WHERE status = 'LIVE'",
    "CREATE INDEX idx_slot_holds_placed_by_live ON slot_holds (placed_by, expires_at) WHERE status = 'LIVE'",
    "CREATE TABLE calendar_blocks (
      id uuid_text NOT NULL PRIMARY KEY,
      kind varchar(16) NOT NULL,
      doctor_id uuid_text NOT NULL,
      patient_id uuid_text NOT NULL,
      starts_at timestamp_with_timezone_text NOT NULL,
      ends_at timestamp_with_timezone_text NOT NULL,
      blocked_from timestamp_with_timezone_text NOT NULL,
      blocked_until timestamp_with_timezone_text NOT NULL
    )",
    "CREATE INDEX idx_calendar_blocks_doctor ON calendar_blocks (doctor_id, blocked_until, blocked_from)",
    "CREATE INDEX idx_calendar_blocks_patient ON calendar_blocks (patient_id, ends_at, starts_at)",
    "CREATE TRIGGER calendar_blocks_doctor_no_overlap BEFORE INSERT ON calendar_blocks
     WHEN EXISTS (SELECT 1 FROM calendar_blocks b WHERE b.doctor_id = NEW.doctor_id
       AND b.blocked_until > NEW.blocked_from AND b.blocked_from < NEW.blocked_until)
     BEGIN SELECT RAISE(ABORT, 'calendar_blocks_doctor_no_overlap'); END",
    "CREATE TRIGGER calendar_blocks_patient_no_overlap BEFORE INSERT ON calendar_blocks
     WHEN EXISTS (SELECT 1 FROM calendar_blocks b WHERE b.patient_id = NEW.patient_id
       AND b.ends_at > NEW.starts_at AND b.starts_at < NEW.ends_at)
     BEGIN SELECT RAISE(ABORT, 'calendar_blocks_patient_no_overlap'); END",
    "CREATE TRIGGER calendar_blocks_no_update BEFORE UPDATE ON calendar_blocks
     BEGIN SELECT RAISE(ABORT, 'calendar_blocks_are_replaced_not_updated'); END",
    "CREATE TRIGGER appointments_keep_block_insert AFTER INSERT ON appointments
     WHEN NEW.status IN ('PENDING', 'CONFIRMED')
     BEGIN
       INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
       VALUES (NEW.id, 'APPOINTMENT', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at, NEW.blocked_from, NEW.blocked_until);
     END",
    "CREATE TRIGGER appointments_keep_block_update AFTER UPDATE OF status, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until ON appointments
     BEGIN
       DELETE FROM calendar_blocks WHERE id = OLD.id;
       INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
       SELECT NEW.id, 'APPOINTMENT', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at, NEW.blocked_from, NEW.blocked_until
       WHERE NEW.status IN ('PENDING', 'CONFIRMED');
     END",
    "CREATE TRIGGER appointments_keep_block_delete AFTER DELETE ON appointments
     BEGIN DELETE FROM calendar_blocks WHERE id = OLD.id; END",
    "CREATE TRIGGER slot_holds_keep_block_insert AFTER INSERT ON slot_holds
     WHEN NEW.status = 'LIVE'
     BEGIN
       INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
       VALUES (NEW.id, 'HOLD', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at, NEW.blocked_from, NEW.blocked_until);
     END",
    "CREATE TRIGGER slot_holds_keep_block_update AFTER UPDATE OF status, starts_at, ends_at, blocked_from, blocked_until ON slot_holds
     BEGIN
       DELETE FROM calendar_blocks WHERE id = OLD.id;
       INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
       SELECT NEW.id, 'HOLD', NEW.doctor_id, NEW.patient_id, NEW.starts_at, NEW.ends_at, NEW.blocked_from, NEW.blocked_until
       WHERE NEW.status = 'LIVE';
     END",
    "CREATE TRIGGER slot_holds_keep_block_delete AFTER DELETE ON slot_holds
     BEGIN DELETE FROM calendar_blocks WHERE id = OLD.id; END",
    "INSERT INTO calendar_blocks (id, kind, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until)
     SELECT id, 'APPOINTMENT', doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until
     FROM appointments WHERE status IN ('PENDING', 'CONFIRMED')",
    "DROP TRIGGER appointments_doctor_no_overlap_insert",
    "DROP TRIGGER appointments_patient_no_overlap_insert",
    "DROP TRIGGER appointments_doctor_no_overlap_update",
    "DROP TRIGGER appointments_patient_no_overlap_update",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER slot_holds_keep_block_delete",
    "DROP TRIGGER slot_holds_keep_block_update",
    "DROP TRIGGER slot_holds_keep_block_insert",
    "DROP TRIGGER appointments_keep_block_delete",
    "DROP TRIGGER appointments_keep_block_update",
    "DROP TRIGGER appointments_keep_block_insert",
    "DROP TABLE calendar_blocks",
    "DROP TABLE slot_holds",
    "DROP TRIGGER appointments_blocks_its_visit_update",
    "DROP TRIGGER appointments_blocks_its_visit_insert",
    "DROP INDEX idx_appointments_visit_type",
    "ALTER TABLE appointments DROP COLUMN visit_type_id",
    "ALTER TABLE appointments DROP COLUMN blocked_from",
    "ALTER TABLE appointments DROP COLUMN blocked_until",
    "ALTER TABLE appointments DROP COLUMN min_notice_minutes",
    "ALTER TABLE appointments DROP COLUMN horizon_days",
    "ALTER TABLE appointments DROP COLUMN patient_cancel_cutoff_minutes",
    "ALTER TABLE appointments DROP COLUMN patient_reschedule_cutoff_minutes",
    "ALTER TABLE appointments DROP COLUMN cancelled_at",
    "DROP TABLE visit_types",
    // The appointments' own overlap triggers, as `m20261122_000003_appointments` made them.
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_UP).await?;
            }
            _ => {
                for statement in SQLITE_UP {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_DOWN).await?;
            }
            _ => {
                for statement in SQLITE_DOWN {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        Ok(())
    }
}
