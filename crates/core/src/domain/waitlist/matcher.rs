//! Matching: turning a doctor's free time into offers, first in first out, exactly once.
//!
//! A doctor to match is a row of `waitlist_matches` (written by [`waitlist_marks`] in the
//! transaction of the change that freed the time). The background matcher of every process
//! [`claim`]s due rows under a lease (one `UPDATE … RETURNING`; on PostgreSQL over a
//! `FOR UPDATE SKIP LOCKED` subquery, so processes take disjoint doctors), then [`match_doctor`]
//! runs each in one write transaction:
//!
//! 1. offers whose time ran out go back in line (`WAITING`, the start remembered; `waitlist.expire`),
//!    then `WAITING` entries whose `latest` passed end (`EXPIRED`), and the doctor's expired holds
//!    end (their blocks go);
//! 2. the doctor's free starts are computed once per visit type (`schedule::free_starts`, the
//!    computation of `availableSlots`), and for each `WAITING` entry, oldest first, the earliest
//!    start in its window that it has not declined is checked as a booking by its patient would
//!    be (`appointments::clear`: grid, availability, time off, visit type policy, the upcoming
//!    limits, an active patient, a bookable doctor) and written as an offer ([`write_offer`]) in a
//!    savepoint; a start the database refuses (the patient's own overlap) is skipped for the next;
//! 3. the mark is removed, or set due at the next expiry (a live hold's or an entry's `latest`),
//!    unless a newer mark came meanwhile (its `version` grew): then it stays due.
//!
//! Everything of one doctor commits together or not at all: a crash mid-way loses nothing (the
//! mark stays, and its lease runs out), and the hold's place in `calendar_blocks` makes a second
//! offer of one time impossible whatever runs at once.
use std::{
    collections::{HashMap, hash_map::Entry},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::{OFFERS, WaitlistRules, remember_declined, set_status};
use crate::{
    db::{
        batch, begin_write,
        entities::{
            slot_hold::{self, HoldStatus},
            waitlist_entry::{self, WaitlistStatus},
        },
        lock_person,
    },
    domain::{
        Store,
        appointments::{self, Cleared, Failure, Request, UpcomingLimits, overlap_conflict, with_retries},
        audit,
        schedule::{DoctorCalendar, Slot, free_starts},
        visit_types::{self, Terms},
        webhooks::{self, WaitlistOffered},
    },
    error::{AppError, AppResult, Refusal},
    outbox::{Channel, EmailKind, NewEmail, insert_statement, render},
};

const OFFER_EMAIL: &str = include_str!("../../../templates/email/waitlist_offer.txt");
/// The offer email's subject.
pub const OFFER_SUBJECT: &str = "An earlier appointment is available";
/// How long a claim holds: longer than any match takes.
pub const LEASE: Duration = Duration::from_secs(30);
/// Doctors claimed at once.
pub const BATCH: u64 = 8;
/// How long a doctor whose match failed waits before any process tries again: a failure that
/// outlived the match's own retries is likely to repeat (a stored time zone no longer known, a
/// batch too big for the database), and retried at once it would keep the writer busy.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// Starts tried for one entry in one match (each a savepoint) before the next entry's turn.
const TRIES_PER_ENTRY: usize = 8;
/// How far ahead starts are looked for (a booking's limit, 365 days).
const HORIZON_DAYS: i64 = 365;

/// A doctor claimed for matching, and the mark's version when claimed.
#[derive(Clone, Copy, Debug)]
pub struct Claimed {
    pub doctor_id: Uuid,
    pub version: i64,
}

/// What one match did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Matched {
    pub offers_made: u32,
    pub offers_expired: u32,
    pub entries_expired: u32,
}

/// Claims up to [`BATCH`] doctors whose mark is due at `now` and not leased by another, under a
/// lease of [`LEASE`] for `owner`: one statement.
///
/// # Errors
/// Internal only.
pub async fn claim(store: &Store, owner: &str) -> AppResult<Vec<Claimed>> {
    let now = store.clock.now();
    let lease_until = now + TimeDelta::from_std(LEASE).unwrap_or(TimeDelta::seconds(30));
    let backend = store.writer.get_database_backend();
    let skip_locked = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE waitlist_matches SET lease_until = $1, lease_owner = $2 WHERE doctor_id IN \
         (SELECT m.doctor_id FROM waitlist_matches m WHERE m.due_at <= $3 \
         AND (m.lease_until IS NULL OR m.lease_until < $3) ORDER BY m.due_at LIMIT {BATCH}{skip_locked}) \
         RETURNING doctor_id, version"
    );
    let rows = store
        .writer
        .query_all_raw(batch::numbered(backend, &sql, vec![lease_until.into(), owner.into(), now.into()]))
        .await?;
    rows.iter()
        .map(|r| Ok(Claimed { doctor_id: r.try_get_by_index(0)?, version: r.try_get_by_index(1)? }))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Keeps `owner`'s claim of `doctor`, whose match failed, for [`RETRY_AFTER_FAILURE`] from now:
/// then any process may claim it again (the mark is untouched, so nothing is lost).
///
/// # Errors
/// Internal only.
pub async fn retry_later(store: &Store, owner: &str, doctor: Uuid) -> AppResult<()> {
    let backend = store.writer.get_database_backend();
    let until = store.clock.now() + TimeDelta::from_std(RETRY_AFTER_FAILURE).unwrap_or(TimeDelta::seconds(10));
    store
        .writer
        .execute_raw(batch::numbered(
            backend,
            "UPDATE waitlist_matches SET lease_until = $3 WHERE lease_owner = $1 AND doctor_id = $2",
            vec![owner.into(), doctor.into(), until.into()],
        ))
        .await?;
    Ok(())
}

/// Gives back `owner`'s claim of `doctor` untouched (a process stopping): it is due again at
/// once.
///
/// # Errors
/// Internal only.
pub async fn release(store: &Store, owner: &str, doctor: Option<Uuid>) -> AppResult<()> {
    let backend = store.writer.get_database_backend();
    let (sql, values): (&str, Vec<sea_orm::Value>) = match doctor {
        Some(d) => (
            "UPDATE waitlist_matches SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1 AND doctor_id = $2",
            vec![owner.into(), d.into()],
        ),
        None => (
            "UPDATE waitlist_matches SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1",
            vec![owner.into()],
        ),
    };
    store.writer.execute_raw(batch::numbered(backend, sql, values)).await?;
    Ok(())
}

/// When the next mark falls due (any doctor's), for the matcher's sleep.
///
/// # Errors
/// Internal only.
pub async fn next_due(store: &Store) -> AppResult<Option<DateTime<Utc>>> {
    let backend = store.db.get_database_backend();
    let row =
        store.db.query_one_raw(Statement::from_string(backend, "SELECT MIN(due_at) FROM waitlist_matches")).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<Option<DateTime<Utc>>>(0)?,
        None => None,
    })
}

/// Matches one claimed doctor in one write transaction (see the module's text), and settles the
/// mark in it.
///
/// # Errors
/// Internal only (a database failure: nothing of this match is kept, and the mark stays).
pub async fn match_doctor(store: &Store, rules: WaitlistRules, owner: &str, c: Claimed) -> AppResult<Matched> {
    let done = with_retries(|| async move {
        let txn = begin_write(&store.writer).await?;
        let now = store.clock.now();
        lock_person(&txn, c.doctor_id).await?;
        let mut done = expire(&txn, c.doctor_id, now).await?;
        done.offers_made = offer_free_time(store, &txn, rules, c.doctor_id, now).await?;
        settle(&txn, owner, c, now).await?;
        if done.offers_made > 0 {
            store.events.outbox_written(&txn).await?;
        }
        txn.commit().await?;
        Ok(done)
    })
    .await?;
    if done.offers_made > 0 {
        metrics::counter!(OFFERS, "outcome" => "made").increment(u64::from(done.offers_made));
    }
    if done.offers_expired > 0 {
        metrics::counter!(OFFERS, "outcome" => "expired").increment(u64::from(done.offers_expired));
    }
    Ok(done)
}

/// Step 1: expired offers back in line, entries past `latest` ended, the doctor's expired holds
/// ended. Audited as `waitlist.expire` (system), one entry per entry.
async fn expire(txn: &DatabaseTransaction, doctor: Uuid, now: DateTime<Utc>) -> Result<Matched, Failure> {
    let backend = txn.get_database_backend();
    let lapsed = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::DoctorId.eq(doctor))
        .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Offered))
        .filter(waitlist_entry::Column::OfferExpiresAt.lte(now))
        .all(txn)
        .await?;
    let ended = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::DoctorId.eq(doctor))
        .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Waiting))
        .filter(waitlist_entry::Column::Latest.lte(now))
        .all(txn)
        .await?;
    let mut writes = Vec::new();
    for e in &lapsed {
        if let Some(starts_at) = e.offer_starts_at {
            writes.push(remember_declined(backend, e.id, starts_at));
        }
        // Back in line, or over when its window has passed too.
        let to = if e.latest <= now { WaitlistStatus::Expired } else { WaitlistStatus::Waiting };
        writes.push(set_status(to, now).filter(waitlist_entry::Column::Id.eq(e.id)).build(backend));
    }
    if !ended.is_empty() {
        let ids = ended.iter().map(|e| e.id);
        writes.push(
            set_status(WaitlistStatus::Expired, now).filter(waitlist_entry::Column::Id.is_in(ids)).build(backend),
        );
    }
    writes.push(batch::numbered(
        backend,
        "UPDATE slot_holds SET status = 'EXPIRED', ended_at = $2 WHERE doctor_id = $1 AND status = 'LIVE' AND expires_at <= $2",
        vec![doctor.into(), now.into()],
    ));
    writes.extend(audit::insert_statement(
        backend,
        None,
        "waitlist.expire",
        lapsed.iter().chain(&ended).map(|e| Some(e.id)),
        now,
    ));
    batch::execute_all(txn, writes).await?;
    Ok(Matched {
        offers_made: 0,
        offers_expired: u32::try_from(lapsed.len()).unwrap_or(u32::MAX),
        entries_expired: u32::try_from(ended.len()).unwrap_or(u32::MAX),
    })
}

/// Step 2: offers the doctor's free starts to the `WAITING` entries, oldest first. Returns how
/// many offers were made.
async fn offer_free_time(
    store: &Store,
    txn: &DatabaseTransaction,
    rules: WaitlistRules,
    doctor: Uuid,
    now: DateTime<Utc>,
) -> Result<u32, Failure> {
    let waiting = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::DoctorId.eq(doctor))
        .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Waiting))
        .order_by_asc(waitlist_entry::Column::Id)
        .all(txn)
        .await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let cal = match DoctorCalendar::load(txn, doctor).await {
        Ok(cal) if cal.bookable() => cal,
        Ok(_) | Err(AppError::NotFound(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let declined = declined_starts(txn, doctor).await?;
    let type_ids: Vec<Uuid> = waiting.iter().filter_map(|e| e.visit_type_id).collect();
    let types: HashMap<Uuid, _> = visit_types::by_ids(txn, &type_ids).await?.into_iter().map(|t| (t.id, t)).collect();
    let until = waiting.iter().map(|e| e.latest).max().unwrap_or(now).min(now + TimeDelta::days(HORIZON_DAYS));
    // The free starts per visit type (none: the doctor's plain slot), computed once each; the
    // doctor's time offered in this match is taken out as it goes.
    let mut free: HashMap<Option<Uuid>, (Terms, Vec<Slot>)> = HashMap::new();
    let mut taken: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut made = 0;
    for entry in &waiting {
        let terms = match entry.visit_type_id {
            None => cal.plain_terms(),
            Some(id) => match types.get(&id) {
                Some(t) if t.active && t.patient_bookable => Terms::of(t),
                _ => continue,
            },
        };
        let (terms, slots) = match free.entry(entry.visit_type_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert((terms, free_starts(txn, &cal, terms, now, until, now).await?)),
        };
        let no = declined.get(&entry.id);
        let candidates = slots.iter().filter(|s| {
            let (_, from, until) = terms.blocks(s.start);
            s.start >= entry.earliest
                && s.start < entry.latest
                && !no.is_some_and(|d| d.contains(&s.start))
                && !taken.iter().any(|(a, b)| from < *b && *a < until)
        });
        for slot in candidates.take(TRIES_PER_ENTRY) {
            match try_offer(store, txn, rules, entry, slot.start, now).await? {
                Try::Offered(hold) => {
                    taken.push((hold.blocked_from, hold.blocked_until));
                    made += 1;
                    break;
                }
                Try::NextStart => {}
                Try::NextEntry => break,
                Try::Stop => return Ok(made),
            }
        }
    }
    Ok(made)
}

/// The starts each `WAITING` entry of `doctor` declined or let expire.
async fn declined_starts(
    txn: &DatabaseTransaction,
    doctor: Uuid,
) -> Result<HashMap<Uuid, Vec<DateTime<Utc>>>, Failure> {
    let rows = txn
        .query_all_raw(batch::numbered(
            txn.get_database_backend(),
            "SELECT d.entry_id, d.starts_at FROM waitlist_declined d JOIN waitlist_entries e ON e.id = d.entry_id \
             WHERE e.doctor_id = $1 AND e.status = 'WAITING'",
            vec![doctor.into()],
        ))
        .await?;
    let mut out: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for r in &rows {
        out.entry(r.try_get_by_index(0)?).or_default().push(r.try_get_by_index(1)?);
    }
    Ok(out)
}

/// What one try at a start came to.
enum Try {
    Offered(slot_hold::Model),
    /// This start is not for this patient (their own overlap, say): the next one may be.
    NextStart,
    /// Nothing is for this patient now (inactive, at their limits): the next entry's turn.
    NextEntry,
    /// The doctor cannot be booked: nobody gets an offer.
    Stop,
}

/// Checks `starts_at` as a booking by the entry's patient would be, and writes the offer, in a
/// savepoint of `txn`: a refusal undoes only this try.
async fn try_offer(
    store: &Store,
    txn: &DatabaseTransaction,
    rules: WaitlistRules,
    entry: &waitlist_entry::Model,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Try, Failure> {
    // The appointment an accepted offer replaces is cancelled then: it does not count now.
    let limits = if entry.replaces_appointment_id.is_some() {
        UpcomingLimits {
            per_patient: rules.upcoming.per_patient.saturating_add(1),
            per_pair: rules.upcoming.per_pair.saturating_add(1),
        }
    } else {
        rules.upcoming
    };
    let request = Request {
        doctor_id: entry.doctor_id,
        patient_id: entry.patient_id,
        starts_at,
        visit_type_id: entry.visit_type_id,
        on_grid: true,
        by_the_doctor: false,
        by_the_patient: false,
        for_the_patient: true,
        judge_policy: true,
        limits,
        ends_at: None,
    };
    let savepoint = txn.begin().await?;
    let outcome = match appointments::clear(&savepoint, &request, now).await {
        Ok(cleared) => write_offer(store, &savepoint, rules, entry, &request, cleared, now).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(hold) => {
            savepoint.commit().await?;
            Ok(Try::Offered(hold))
        }
        Err(f) => {
            savepoint.rollback().await?;
            Ok(match f {
                Failure::Db(e) if overlap_conflict(&e).is_some() => Try::NextStart,
                Failure::Db(e) => return Err(Failure::Db(e)),
                Failure::App(AppError::Refused(Refusal::TooManyUpcoming)) => Try::NextEntry,
                Failure::App(AppError::BadInput { field, .. }) if field == "patientId" => Try::NextEntry,
                Failure::App(AppError::BadInput { field, .. }) if field == "doctorId" => Try::Stop,
                Failure::App(AppError::Forbidden) => Try::Stop,
                Failure::App(_) => Try::NextStart,
            })
        }
    }
}

/// Writes one offer inside `txn`: the offer's hold (for the entry's patient, living
/// `WAITLIST_OFFER_TTL_SECS`; the database refuses it if its time is no longer free), the entry
/// `OFFERED` with the offer's times, the `WAITLIST_OFFER` email to the patient, and the audit entry
/// `waitlist.offer` (system) and the `waitlist.offered` webhook deliveries. **Everything an offer
/// causes is written here**, in the offer's transaction (whose caller wakes the senders).
///
/// # Errors
/// The database's refusal of the hold's time (the patient's own overlap); internal ones.
pub(crate) async fn write_offer(
    store: &Store,
    txn: &DatabaseTransaction,
    rules: WaitlistRules,
    entry: &waitlist_entry::Model,
    request: &Request,
    cleared: Cleared,
    now: DateTime<Utc>,
) -> Result<slot_hold::Model, Failure> {
    let backend = txn.get_database_backend();
    let ttl = TimeDelta::from_std(rules.offer_ttl).unwrap_or(TimeDelta::seconds(900));
    let hold = slot_hold::Model {
        id: Uuid::now_v7(),
        doctor_id: request.doctor_id,
        patient_id: request.patient_id,
        visit_type_id: request.visit_type_id,
        starts_at: request.starts_at,
        ends_at: cleared.ends_at,
        blocked_from: cleared.blocked_from,
        blocked_until: cleared.blocked_until,
        expires_at: now + ttl,
        placed_by: entry.created_by,
        status: HoldStatus::Live,
        created_at: now,
        ended_at: None,
        waitlist_entry_id: Some(entry.id),
    };
    let insert = slot_hold::Entity::insert(slot_hold::ActiveModel::from(hold.clone()).reset_all()).build(backend);
    let offered = waitlist_entry::Entity::update_many()
        .col_expr(waitlist_entry::Column::Status, sea_orm::sea_query::Expr::value(WaitlistStatus::Offered))
        .col_expr(waitlist_entry::Column::OfferHoldId, sea_orm::sea_query::Expr::value(Some(hold.id)))
        .col_expr(waitlist_entry::Column::OfferStartsAt, sea_orm::sea_query::Expr::value(Some(hold.starts_at)))
        .col_expr(waitlist_entry::Column::OfferEndsAt, sea_orm::sea_query::Expr::value(Some(hold.ends_at)))
        .col_expr(waitlist_entry::Column::OfferExpiresAt, sea_orm::sea_query::Expr::value(Some(hold.expires_at)))
        .col_expr(waitlist_entry::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
        .filter(waitlist_entry::Column::Id.eq(entry.id))
        .filter(waitlist_entry::Column::Status.eq(WaitlistStatus::Waiting))
        .build(backend);
    let patient = &cleared.parties.patient;
    let doctor = &cleared.parties.doctor;
    let tz = cleared.parties.tz;
    let body = render(
        OFFER_EMAIL,
        &[
            ("name", &format!("{} {}", patient.first_name, patient.last_name)),
            ("doctor", &format!("{} {}", doctor.first_name, doctor.last_name)),
            ("when", &local_time(hold.starts_at, tz)),
            ("expires", &local_time(hold.expires_at, tz)),
        ],
    );
    let email = NewEmail {
        channel: Channel::Email,
        kind: EmailKind::WaitlistOffer,
        to: patient.email.clone(),
        subject: OFFER_SUBJECT.to_owned(),
        body,
        appointment_id: None,
        recipient_id: Some(patient.id),
        starts_at: None,
        due_at: now,
    };
    // The hold first: a time the database refuses stops the offer before anything else is written.
    let mut writes = vec![insert, offered];
    writes.extend(insert_statement(&store.outbox, now, backend, vec![email]));
    writes.extend(audit::insert_statement(backend, None, "waitlist.offer", [Some(entry.id)], now));
    let offer = WaitlistOffered {
        waitlist_entry_id: entry.id,
        doctor_id: hold.doctor_id,
        patient_id: hold.patient_id,
        starts_at: hold.starts_at,
        ends_at: hold.ends_at,
        expires_at: hold.expires_at,
    };
    writes.extend(webhooks::waitlist_offered_statement(txn, offer, now).await?);
    batch::execute_all(txn, writes).await?;
    Ok(hold)
}

/// `Tuesday 8 December 2026, 09:00 (Europe/Berlin)`, as the appointment emails say it.
fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", at.with_timezone(&tz).format("%A %-d %B %Y, %H:%M"), tz.name())
}

/// Step 3: the mark of `c` is removed (no live entries), or due again at the next expiry (a live
/// hold's, an offer's, a waiting entry's `latest`), and its lease ends; when it was marked again
/// since the claim (`version` grew), it only loses its lease and stays due.
async fn settle(txn: &DatabaseTransaction, owner: &str, c: Claimed, now: DateTime<Utc>) -> Result<(), Failure> {
    let backend = txn.get_database_backend();
    let row = txn
        .query_one_raw(batch::numbered(
            backend,
            "SELECT (SELECT MIN(h.expires_at) FROM slot_holds h WHERE h.doctor_id = $1 AND h.status = 'LIVE' \
             AND h.expires_at > $2), (SELECT MIN(e.latest) FROM waitlist_entries e WHERE e.doctor_id = $1 \
             AND e.status = 'WAITING'), EXISTS (SELECT 1 FROM waitlist_entries e WHERE e.doctor_id = $1 \
             AND e.status IN ('WAITING', 'OFFERED'))",
            vec![c.doctor_id.into(), now.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal("no row"))?;
    let hold: Option<DateTime<Utc>> = row.try_get_by_index(0)?;
    let latest: Option<DateTime<Utc>> = row.try_get_by_index(1)?;
    let live: bool = row.try_get_by_index(2)?;
    let next = [hold, latest].into_iter().flatten().min();
    let settled = match (live, next) {
        (true, Some(due)) => txn.execute_raw(batch::numbered(
            backend,
            "UPDATE waitlist_matches SET due_at = $4, lease_until = NULL, lease_owner = NULL \
             WHERE doctor_id = $1 AND version = $2 AND lease_owner = $3",
            vec![c.doctor_id.into(), c.version.into(), owner.into(), due.into()],
        )),
        _ => txn.execute_raw(batch::numbered(
            backend,
            "DELETE FROM waitlist_matches WHERE doctor_id = $1 AND version = $2 AND lease_owner = $3",
            vec![c.doctor_id.into(), c.version.into(), owner.into()],
        )),
    }
    .await?
    .rows_affected();
    if settled == 0 {
        txn.execute_raw(batch::numbered(
            backend,
            "UPDATE waitlist_matches SET lease_until = NULL, lease_owner = NULL WHERE doctor_id = $1 AND lease_owner = $2",
            vec![c.doctor_id.into(), owner.into()],
        ))
        .await?;
    }
    Ok(())
}
