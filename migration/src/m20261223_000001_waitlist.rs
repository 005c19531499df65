//! The waitlist: entries, their offers (an offer is a slot hold), and the doctors waiting to be
//! matched.
//!
//! - `slot_holds.waitlist_entry_id`: set on an offer's hold. An offer blocks like any hold (the
//!   same `calendar_blocks` row, the same database guarantee), but is not a hold of the patient's
//!   own: it is left out of `HOLD_MAX_PER_PATIENT`, `myHolds`, `releaseHold` and `holdId`.
//! - `waitlist_entries`: a patient in line for an earlier time with one doctor, inside
//!   `[earliest, latest)`. At most one live (`WAITING`, `OFFERED`) entry per patient and doctor:
//!   a partial unique index. The offer's hold and times are kept on the entry while `OFFERED`.
//! - `waitlist_declined`: the starts an entry declined or let expire; never offered to it again.
//! - `waitlist_matches`: one row per doctor whose waitlist must be matched again, due at
//!   `due_at` (now, or when a hold or offer of theirs expires), written in the transaction of the
//!   change that freed the time; claimed with a lease by the matcher of any process. `version`
//!   grows with each mark, so a match that began before a newer mark leaves the row due.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r"
ALTER TABLE slot_holds ADD COLUMN waitlist_entry_id uuid;

CREATE TABLE waitlist_entries (
  id uuid PRIMARY KEY,
  patient_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  visit_type_id uuid REFERENCES visit_types (id) ON DELETE RESTRICT,
  earliest timestamptz NOT NULL,
  latest timestamptz NOT NULL,
  replaces_appointment_id uuid REFERENCES appointments (id) ON DELETE RESTRICT,
  status varchar(16) NOT NULL,
  offer_hold_id uuid,
  offer_starts_at timestamptz,
  offer_ends_at timestamptz,
  offer_expires_at timestamptz,
  created_by uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CONSTRAINT waitlist_entries_window CHECK (earliest < latest)
);
CREATE UNIQUE INDEX waitlist_entries_one_live_per_doctor ON waitlist_entries (patient_id, doctor_id)
  WHERE status IN ('WAITING', 'OFFERED');
CREATE INDEX idx_waitlist_entries_doctor ON waitlist_entries (doctor_id, id);
CREATE INDEX idx_waitlist_entries_doctor_live ON waitlist_entries (doctor_id, id) WHERE status IN ('WAITING', 'OFFERED');
CREATE INDEX idx_waitlist_entries_patient ON waitlist_entries (patient_id, id);
CREATE INDEX idx_waitlist_entries_status ON waitlist_entries (status, id);
CREATE INDEX idx_waitlist_entries_replaces ON waitlist_entries (replaces_appointment_id)
  WHERE replaces_appointment_id IS NOT NULL;
CREATE INDEX idx_slot_holds_waitlist_entry ON slot_holds (waitlist_entry_id) WHERE waitlist_entry_id IS NOT NULL;

CREATE TABLE waitlist_declined (
  entry_id uuid NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
  starts_at timestamptz NOT NULL,
  PRIMARY KEY (entry_id, starts_at)
);

CREATE TABLE waitlist_matches (
  doctor_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  due_at timestamptz NOT NULL,
  version bigint NOT NULL,
  lease_until timestamptz,
  lease_owner varchar(64)
);
CREATE INDEX idx_waitlist_matches_due ON waitlist_matches (due_at);
";

const POSTGRES_DOWN: &str = r"
DROP TABLE waitlist_matches;
DROP TABLE waitlist_declined;
DROP INDEX idx_slot_holds_waitlist_entry;
DROP TABLE waitlist_entries;
ALTER TABLE slot_holds DROP COLUMN waitlist_entry_id;
";

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE slot_holds ADD COLUMN waitlist_entry_id uuid_text",
    "CREATE TABLE waitlist_entries (
      id uuid_text NOT NULL PRIMARY KEY,
      patient_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      doctor_id uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      visit_type_id uuid_text REFERENCES visit_types (id) ON DELETE RESTRICT,
      earliest timestamp_with_timezone_text NOT NULL,
      latest timestamp_with_timezone_text NOT NULL,
      replaces_appointment_id uuid_text REFERENCES appointments (id) ON DELETE RESTRICT,
      status varchar(16) NOT NULL,
      offer_hold_id uuid_text,
      offer_starts_at timestamp_with_timezone_text,
      offer_ends_at timestamp_with_timezone_text,
      offer_expires_at timestamp_with_timezone_text,
      created_by uuid_text NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
      created_at timestamp_with_timezone_text NOT NULL,
      updated_at timestamp_with_timezone_text NOT NULL,
      CONSTRAINT waitlist_entries_window CHECK (earliest < latest)
    )",
    "CREATE UNIQUE INDEX waitlist_entries_one_live_per_doctor ON waitlist_entries (patient_id, doctor_id)
     WHERE status IN ('WAITING', 'OFFERED')",
    "CREATE INDEX idx_waitlist_entries_doctor ON waitlist_entries (doctor_id, id)",
    "CREATE INDEX idx_waitlist_entries_doctor_live ON waitlist_entries (doctor_id, id) WHERE status IN ('WAITING', 'OFFERED')",
    "CREATE INDEX idx_waitlist_entries_patient ON waitlist_entries (patient_id, id)",
    "CREATE INDEX idx_waitlist_entries_status ON waitlist_entries (status, id)",
    "CREATE INDEX idx_waitlist_entries_replaces ON waitlist_entries (replaces_appointment_id)
     WHERE replaces_appointment_id IS NOT NULL",
    "CREATE INDEX idx_slot_holds_waitlist_entry ON slot_holds (waitlist_entry_id) WHERE waitlist_entry_id IS NOT NULL",
    "CREATE TABLE waitlist_declined (
      entry_id uuid_text NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
      starts_at timestamp_with_timezone_text NOT NULL,
      PRIMARY KEY (entry_id, starts_at)
    )",
    "CREATE TABLE waitlist_matches (
      doctor_id uuid_text NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      due_at timestamp_with_timezone_text NOT NULL,
      version bigint NOT NULL,
      lease_until timestamp_with_timezone_text,
      lease_owner varchar(64)
    )",
    "CREATE INDEX idx_waitlist_matches_due ON waitlist_matches (due_at)",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TABLE waitlist_matches",
    "DROP TABLE waitlist_declined",
    "DROP INDEX idx_slot_holds_waitlist_entry",
    "DROP TABLE waitlist_entries",
    "ALTER TABLE slot_holds DROP COLUMN waitlist_entry_id",
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
