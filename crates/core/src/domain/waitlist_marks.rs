//! The waitlist's marks: which doctors' waitlists must be matched again, and when.
//!
//! Every change that frees a doctor's time (a cancellation, a move away, a hold released, a
//! declined offer), that could make more of it bookable (availability, time off, the doctor's
//! standing, visit types), and every entry that joins, marks the doctor **in the change's own
//! transaction**: an upsert into `waitlist_matches`, due now. A hold's or an offer's expiry is
//! known when it is written, so it marks the doctor due at its `expires_at`. A mark is kept only for
//! a doctor who has live entries (others have nobody to offer to), and a mark that is already due
//! sooner keeps its time; each mark grows the row's `version`, so that a match that began before
//! it leaves the row due (see `domain::waitlist`). The matcher of any process claims due rows;
//! the row is removed (or set due at the next expiry) only in the transaction that matched.
//!
//! Here, below `appointments`, `holds`, `accounts` and the others that call it; the matching
//! itself is `domain::waitlist`'s.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{
    db::{batch, entities::appointment},
    error::AppResult,
};

/// The upsert of a mark: `$1` doctor, `$2` due. Only for a doctor with live entries; the earlier
/// due wins; `version` grows.
const MARK_SQL: &str = "INSERT INTO waitlist_matches (doctor_id, due_at, version) SELECT $1, $2, 1 \
WHERE EXISTS (SELECT 1 FROM waitlist_entries e WHERE e.doctor_id = $1 AND e.status IN ('WAITING', 'OFFERED')) \
ON CONFLICT (doctor_id) DO UPDATE SET \
due_at = CASE WHEN excluded.due_at < waitlist_matches.due_at THEN excluded.due_at ELSE waitlist_matches.due_at END, \
version = waitlist_matches.version + 1";

/// The statement that marks `doctor` to be matched at `due`, for a caller that runs it with its
/// other writes.
pub fn mark(backend: DbBackend, doctor: Uuid, due: DateTime<Utc>) -> Statement {
    batch::numbered(backend, MARK_SQL, vec![doctor.into(), due.into()])
}

/// Marks `doctor` to be matched at `now`, inside the caller's transaction.
///
/// # Errors
/// Internal only.
pub async fn mark_now<C: ConnectionTrait>(txn: &C, doctor: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    txn.execute_raw(mark(txn.get_database_backend(), doctor, now)).await?;
    Ok(())
}

/// What an appointment's change means for the waitlist, as statements for the change's own
/// transaction (`appointments::events::record` runs them with its writes): when it stops being
/// active or moves (a cancellation, a reschedule), its doctor is marked (its time is free), and the
/// live entries that would replace it end (`LEFT`) with their offers withdrawn (the offer's hold
/// `RELEASED`), since there is nothing left for them to replace. An entry being accepted is
/// already `BOOKED` when its replaced appointment is cancelled.
pub fn on_appointment_change(
    backend: DbBackend,
    appt: &appointment::Model,
    freed: bool,
    at: DateTime<Utc>,
) -> Vec<Statement> {
    if !freed {
        return Vec::new();
    }
    let withdraw = batch::numbered(
        backend,
        "UPDATE slot_holds SET status = 'RELEASED', ended_at = $2 WHERE status = 'LIVE' AND waitlist_entry_id IN \
         (SELECT e.id FROM waitlist_entries e WHERE e.replaces_appointment_id = $1 AND e.status = 'OFFERED')",
        vec![appt.id.into(), at.into()],
    );
    let leave = batch::numbered(
        backend,
        "UPDATE waitlist_entries SET status = 'LEFT', offer_hold_id = NULL, offer_starts_at = NULL, \
         offer_ends_at = NULL, offer_expires_at = NULL, updated_at = $2 \
         WHERE replaces_appointment_id = $1 AND status IN ('WAITING', 'OFFERED')",
        vec![appt.id.into(), at.into()],
    );
    vec![withdraw, leave, mark(backend, appt.doctor_id, at)]
}

/// Ends every live entry of `user` (as patient or as doctor: `LEFT`, offers withdrawn), and
/// marks the doctors of the live holds of the patient or placed by `user` for someone else at
/// another doctor's calendar, inside the caller's transaction, before those
/// holds are released (`accounts::release_holds_of`: a deactivation, a role change, a doctor no
/// longer verified).
///
/// # Errors
/// Internal only.
pub async fn user_left<C: ConnectionTrait>(txn: &C, user: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let mark_doctors = "INSERT INTO waitlist_matches (doctor_id, due_at, version) \
        SELECT DISTINCT h.doctor_id, $2, 1 FROM slot_holds h WHERE h.status = 'LIVE' AND (h.patient_id = $1 \
        OR (h.placed_by = $1 AND h.waitlist_entry_id IS NULL AND h.doctor_id <> $1)) \
        AND EXISTS (SELECT 1 FROM waitlist_entries e WHERE e.doctor_id = h.doctor_id AND e.status IN ('WAITING', 'OFFERED')) \
        ON CONFLICT (doctor_id) DO UPDATE SET \
        due_at = CASE WHEN excluded.due_at < waitlist_matches.due_at THEN excluded.due_at ELSE waitlist_matches.due_at END, \
        version = waitlist_matches.version + 1";
    txn.execute_raw(batch::numbered(backend, mark_doctors, vec![user.into(), now.into()])).await?;
    txn.execute_raw(batch::numbered(
        backend,
        "UPDATE slot_holds SET status = 'RELEASED', ended_at = $2 WHERE status = 'LIVE' AND waitlist_entry_id IN \
         (SELECT e.id FROM waitlist_entries e WHERE (e.patient_id = $1 OR e.doctor_id = $1) AND e.status = 'OFFERED')",
        vec![user.into(), now.into()],
    ))
    .await?;
    txn.execute_raw(batch::numbered(
        backend,
        "UPDATE waitlist_entries SET status = 'LEFT', offer_hold_id = NULL, offer_starts_at = NULL, \
         offer_ends_at = NULL, offer_expires_at = NULL, updated_at = $2 \
         WHERE (patient_id = $1 OR doctor_id = $1) AND status IN ('WAITING', 'OFFERED')",
        vec![user.into(), now.into()],
    ))
    .await?;
    Ok(())
}
