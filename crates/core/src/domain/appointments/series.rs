//! Recurring series: `count` appointments `interval_weeks` apart at the same local wall time,
//! booked all or none, and cancelled from one occurrence on.
//!
//! A series is booked by the booking path itself ([`booking::book`]), once per occurrence, all in
//! one write job (one transaction; on SQLite one savepoint of a group): any occurrence refused, by
//! a rule or by the database's overlap constraints (`calendar_blocks`), rolls the whole job back,
//! the series row with it. Under concurrency the database decides, as for a single booking: a
//! series racing a single booking of one of its times ends whole or absent. Each occurrence counts
//! toward the upcoming limits of the next ones (they are read in the same transaction).
//!
//! Each occurrence is an ordinary appointment (event, history, audit, live notice, reminders); its
//! notifications are left out ([`Mail::RemindersOnly`]) and each party gets one email for the
//! whole series instead, with the series id (`X-CyberMed-Series`) and occurrence 1's id.
use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{
    AppointmentStatus, Failure, MAX_REASON_CHARS, NewAppointment, Transition, UpcomingLimits,
    booking::{self, InSeries},
    lifecycle,
    notices::{self, Mail, Parties, Person},
    overlap_conflict, sms_notices, with_retries,
};
use crate::{
    auth::viewer::Viewer,
    db::{
        batch, begin_write,
        entities::{appointment, appointment_series, doctor_profile},
    },
    domain::{Store, audit, privacy, profiles::parse_time_zone, validation},
    error::{AppError, AppResult, Refusal},
    events::EventNotice,
    outbox::{Channel, EmailKind, NewEmail, insert_statement_for_series, render},
};

const BOOKED: &str = include_str!("../../../templates/email/appointment_series.txt");
const CANCELLED: &str = include_str!("../../../templates/email/appointment_series_cancelled.txt");

/// How often a series repeats: every `interval_weeks` weeks (1..=4), `count` times (2..=26).
#[derive(Clone, Copy, Debug)]
pub struct Recurrence {
    pub interval_weeks: i32,
    pub count: i32,
}

/// Shortest and longest gap between occurrences, weeks.
pub const INTERVAL_WEEKS: std::ops::RangeInclusive<i32> = 1..=4;
/// Fewest and most occurrences of a series.
pub const OCCURRENCES: std::ops::RangeInclusive<i32> = 2..=26;

/// Books a recurring series: occurrence k starts at the local wall time of `input.starts_at` in
/// the doctor's time zone, `interval_weeks × (k − 1)` weeks later (across a DST change 09:00
/// stays 09:00; a time that occurs twice takes the earlier instant). Who may book it and every
/// occurrence's checks are those of [`super::create`] by `viewer`.
///
/// # Errors
/// First the series' own input: `BAD_USER_INPUT` on `holdId` (a series is never booked from a
/// hold), `intervalWeeks` or `count` out of range; then `create`'s errors about the series as a
/// whole (role, people, visit type, reason). An occurrence that fails (`CONFLICT`,
/// `BAD_USER_INPUT` on `startsAt`, e.g. a local time that does not exist that day or one past the
/// 365-day limit, `FORBIDDEN` with a reason) fails the whole series, nothing written, as
/// [`AppError::InOccurrence`] naming it.
pub async fn create_series(
    store: &Store,
    viewer: &Viewer,
    input: NewAppointment,
    recurrence: Recurrence,
    limits: UpcomingLimits,
) -> AppResult<appointment_series::Model> {
    if input.hold_id.is_some() {
        return Err(AppError::bad_input("holdId", "A series cannot be booked from a hold"));
    }
    if !INTERVAL_WEEKS.contains(&recurrence.interval_weeks) {
        return Err(AppError::bad_input("intervalWeeks", "intervalWeeks must be between 1 and 4"));
    }
    if !OCCURRENCES.contains(&recurrence.count) {
        return Err(AppError::bad_input("count", "count must be between 2 and 26"));
    }
    let first = booking::prepare(viewer, &input, limits)?;
    let (series, notices) = with_retries(|| {
        let (owned, first) = (store.clone(), first.clone());
        store.writes.run(move |txn| {
            let (store, first) = (owned.clone(), first.clone());
            Box::pin(async move { book_series(&store, txn, &first, recurrence).await })
        })
    })
    .await?;
    store.events.committed(&notices);
    Ok(series)
}

/// One run of a series' booking inside `txn`.
async fn book_series(
    store: &Store,
    txn: &DatabaseTransaction,
    first: &booking::Booking,
    recurrence: Recurrence,
) -> Result<(appointment_series::Model, Vec<EventNotice>), Failure> {
    let (Some(doctor_id), Some(patient_id)) = (first.doctor_id, first.patient_id) else {
        return Err(AppError::internal("series without its people").into());
    };
    let now = store.clock.now();
    // The zone the occurrences keep their wall time in; an unknown doctor (no profile) is refused
    // by occurrence 1's checks, as a single booking would be.
    let tz = doctor_profile::Entity::find_by_id(doctor_id)
        .one(txn)
        .await?
        .and_then(|p| parse_time_zone(&p.time_zone).ok())
        .unwrap_or(Tz::UTC);
    let series = appointment_series::Model {
        id: Uuid::now_v7(),
        doctor_id,
        patient_id,
        interval_weeks: recurrence.interval_weeks,
        count: recurrence.count,
        created_at: now,
        created_by: first.actor,
    };
    appointment_series::Entity::insert(appointment_series::ActiveModel::from(series.clone())).exec(txn).await?;

    let wall = first.starts_at.with_timezone(&tz).naive_local();
    let mut notices = Vec::new();
    let mut booked = Vec::new();
    let mut parties = None;
    for k in 1..=recurrence.count {
        let occurrence = u32::try_from(k).unwrap_or(u32::MAX);
        let local = wall + TimeDelta::weeks(i64::from(recurrence.interval_weeks) * i64::from(k - 1));
        let starts_at = match instant(tz, local) {
            Ok(at) => at,
            Err(gap) => {
                let error =
                    AppError::bad_input("startsAt", "That local time does not exist on that day (a clock change)");
                return Err(in_occurrence(occurrence, gap, error).into());
            }
        };
        let b = first.occurrence(starts_at, InSeries { id: series.id, occurrence: k });
        let (appt, notice, people) =
            booking::book(store, txn, &b).await.map_err(|f| of_occurrence(f, occurrence, starts_at))?;
        notices.push(notice);
        booked.push(appt);
        parties.get_or_insert(people);
    }
    let (Some(parties), Some(first_appt)) = (parties, booked.first()) else {
        return Err(AppError::internal("series without occurrences").into());
    };
    let state = if first.status == AppointmentStatus::Pending { "requested" } else { "confirmed" };
    let emails = series_emails(&parties, &booked, |to, values| NewEmail {
        channel: Channel::Email,
        kind: EmailKind::AppointmentSeries,
        to: to.email.clone(),
        subject: "Appointment series booked".to_owned(),
        body: render(BOOKED, &[values, &[("state", state)]].concat()),
        appointment_id: Some(first_appt.id),
        recipient_id: Some(to.id),
        starts_at: None,
        due_at: now,
    });
    let backend = txn.get_database_backend();
    let wake = !emails.is_empty();
    let mut writes = Vec::with_capacity(2);
    writes.extend(insert_statement_for_series(&store.outbox, now, backend, emails, series.id));
    writes.extend(audit::insert_statement(
        backend,
        Some(first.actor),
        "appointment_series.create",
        [Some(series.id)],
        now,
    ));
    batch::execute_all(txn, writes).await?;
    if wake {
        store.events.outbox_written(txn).await?;
    }
    Ok((series, notices))
}

/// The instant of local wall time `local` in `tz`: the earlier one when it occurs twice; when it
/// does not occur (a clock moved forward over it), `Err` with the instant it would have had at
/// the offset before the change (what the error reports as `startsAt`).
fn instant(tz: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>, DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).with_timezone(&Utc)),
        LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(local - TimeDelta::days(1)));
            Err(local.and_utc() - TimeDelta::seconds(i64::from(chrono::Offset::fix(&before).local_minus_utc())))
        }
    }
}

/// Whether `e` is about one occurrence (its time, a clash, a limit it would pass), as opposed to
/// the series as a whole (role, people, visit type, reason), which carries no occurrence.
fn belongs_to_occurrence(e: &AppError) -> bool {
    match e {
        AppError::Conflict { .. } | AppError::ConflictFor { .. } | AppError::Refused(_) => true,
        AppError::BadInput { field, .. } => field == "startsAt",
        _ => false,
    }
}

fn in_occurrence(occurrence: u32, starts_at: DateTime<Utc>, error: AppError) -> AppError {
    AppError::InOccurrence { occurrence, starts_at, error: Box::new(error) }
}

/// A failure of occurrence `occurrence` (at `starts_at`) as the series reports it: a rule about
/// that occurrence, or the database's refusal of its time, names it; a database error that is
/// worth a retry stays one (the whole series is tried again).
fn of_occurrence(f: Failure, occurrence: u32, starts_at: DateTime<Utc>) -> Failure {
    match f {
        Failure::App(e) if belongs_to_occurrence(&e) => in_occurrence(occurrence, starts_at, e).into(),
        Failure::Db(e) => match overlap_conflict(&e) {
            Some(conflict) => in_occurrence(occurrence, starts_at, conflict).into(),
            None => Failure::Db(e),
        },
        other => other,
    }
}

/// One email to each party of a series about `appointments` (every date listed in the doctor's
/// zone), built by `email` from the recipient and the template's values. No health data: the
/// texts name the people and the dates only.
fn series_emails(
    parties: &Parties,
    appointments: &[appointment::Model],
    email: impl Fn(&Person, &[(&str, &str)]) -> NewEmail,
) -> Vec<NewEmail> {
    let dates: String = appointments
        .iter()
        .map(|a| format!("  {}. {}", a.occurrence.unwrap_or_default(), notices::local_time(a.starts_at, parties.tz)))
        .collect::<Vec<_>>()
        .join("\n");
    let count = appointments.len().to_string();
    let (doctor, patient) = (notices::full_name(&parties.doctor), notices::full_name(&parties.patient));
    [&parties.patient, &parties.doctor]
        .into_iter()
        .map(|to| {
            let name = notices::full_name(to);
            let values: [(&str, &str); 5] =
                [("name", &name), ("doctor", &doctor), ("patient", &patient), ("count", &count), ("dates", &dates)];
            email(to, &values)
        })
        .collect()
}

/// Series `id` as `viewer` may know it: `NOT_FOUND` unless they are one of its two people or an
/// admin (the rule of its appointments, [`privacy::appointment_part`]).
///
/// # Errors
/// `NOT_FOUND`; internal.
pub async fn get_series<C: ConnectionTrait>(db: &C, viewer: &Viewer, id: Uuid) -> AppResult<appointment_series::Model> {
    let not_found = || AppError::NotFound("Appointment series");
    let series = appointment_series::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)?;
    privacy::appointment_part(viewer.into(), &series).ok_or_else(not_found)?;
    Ok(series)
}

/// Series by id (no privacy: the caller shows only those of appointments the viewer sees).
///
/// # Errors
/// Internal only.
pub async fn series_by_ids<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<appointment_series::Model>> {
    Ok(appointment_series::Entity::find()
        .filter(appointment_series::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Every occurrence of each of `series`, in occurrence order: one statement. No privacy: a caller
/// shows only those its viewer may see ([`privacy::appointment_part`]).
///
/// # Errors
/// Internal only.
pub async fn occurrences_of<C: ConnectionTrait>(
    db: &C,
    series: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<appointment::Model>>> {
    let rows = appointment::Entity::find()
        .filter(appointment::Column::SeriesId.is_in(series.iter().copied()))
        .order_by_asc(appointment::Column::SeriesId)
        .order_by_asc(appointment::Column::Occurrence)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<appointment::Model>> = std::collections::HashMap::new();
    for a in rows {
        if let Some(s) = a.series_id {
            out.entry(s).or_default().push(a);
        }
    }
    Ok(out)
}

/// Cancels the `PENDING` and `CONFIRMED` occurrences of series `id` numbered `from_occurrence`
/// and later, each under the rules of `cancelAppointment` by `viewer`, in one transaction: an
/// occurrence inside a patient's cancellation cutoff stays as it is. Each party gets one
/// `APPOINTMENT_CANCELLED` email listing the cancelled dates (none when nothing was cancelled);
/// events, history, audit and notices stay per occurrence. Returns the series.
///
/// # Errors
/// `NOT_FOUND` for a series the viewer may not know; `BAD_USER_INPUT` on `fromOccurrence` outside
/// `1..=count` and on a bad `reason`; an occurrence's other refusal, naming it.
pub async fn cancel_series(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    from_occurrence: i32,
    reason: Option<String>,
) -> AppResult<appointment_series::Model> {
    let reason = validation::optional_text(reason.as_deref(), "reason", MAX_REASON_CHARS)?;
    let (series, notices) = with_retries(|| {
        let reason = reason.clone();
        async move {
            let txn = begin_write(&store.writer).await?;
            let now = store.clock.now();
            let series = get_series(&txn, viewer, id).await?;
            if !(1..=series.count).contains(&from_occurrence) {
                return Err(AppError::bad_input(
                    "fromOccurrence",
                    format!("fromOccurrence must be between 1 and {}", series.count),
                )
                .into());
            }
            let all = appointment::Entity::find()
                .filter(appointment::Column::SeriesId.eq(series.id))
                .order_by_asc(appointment::Column::Occurrence)
                .all(&txn)
                .await?;
            let first_id = all.first().map(|a| a.id);
            let mut notices = Vec::new();
            let mut cancelled = Vec::new();
            for appt in all {
                if appt.occurrence.is_none_or(|k| k < from_occurrence) || !appt.status.is_active() {
                    continue;
                }
                let Some(who) = privacy::appointment_part(viewer.into(), &appt) else { continue };
                let (occurrence, starts_at) =
                    (appt.occurrence.and_then(|k| u32::try_from(k).ok()).unwrap_or(0), appt.starts_at);
                let applied = lifecycle::apply(
                    store,
                    &txn,
                    viewer,
                    appt,
                    who,
                    Transition::Cancel,
                    reason.clone(),
                    now,
                    Mail::RemindersOnly,
                )
                .await;
                match applied {
                    Ok((appt, notice)) => {
                        notices.push(notice);
                        cancelled.push(appt);
                    }
                    // A patient's cutoff leaves that occurrence as it is.
                    Err(Failure::App(AppError::Refused(Refusal::CancellationWindowClosed))) => {}
                    Err(f) => return Err(of_occurrence(f, occurrence, starts_at)),
                }
            }
            let mut writes = Vec::with_capacity(2);
            if let Some(one) = cancelled.first() {
                let parties = Parties::load(&txn, one).await?;
                let emails = series_emails(&parties, &cancelled, |to, values| NewEmail {
                    channel: Channel::Email,
                    kind: EmailKind::AppointmentCancelled,
                    to: to.email.clone(),
                    subject: "Appointment cancelled".to_owned(),
                    body: render(CANCELLED, values),
                    appointment_id: first_id,
                    recipient_id: Some(to.id),
                    starts_at: None,
                    due_at: now,
                });
                // And the patient's one SMS for the whole cancellation (when they turned SMS on).
                let doctor = notices::full_name(&parties.doctor);
                let sms = sms_notices::series_cancelled(
                    &store.outbox,
                    &cancelled,
                    (&doctor, parties.tz),
                    parties.patient.sms(),
                    now,
                );
                writes.extend(insert_statement_for_series(
                    &store.outbox,
                    now,
                    txn.get_database_backend(),
                    emails.into_iter().chain(sms).collect(),
                    series.id,
                ));
            }
            let wake = !writes.is_empty();
            writes.extend(audit::insert_statement(
                txn.get_database_backend(),
                Some(viewer.id()),
                "appointment_series.cancel",
                [Some(series.id)],
                now,
            ));
            batch::execute_all(&txn, writes).await?;
            if wake {
                store.events.outbox_written(&txn).await?;
            }
            txn.commit().await?;
            Ok((series, notices))
        }
    })
    .await?;
    store.events.committed(&notices);
    Ok(series)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(h, min, 0)).unwrap()
    }

    #[test]
    fn a_wall_time_keeps_its_local_time_across_a_clock_change() {
        let tz = chrono_tz::Europe::Berlin;
        assert_eq!(instant(tz, at(2026, 3, 24, 9, 0)).unwrap().to_rfc3339(), "2026-03-24T08:00:00+00:00");
        assert_eq!(instant(tz, at(2026, 3, 31, 9, 0)).unwrap().to_rfc3339(), "2026-03-31T07:00:00+00:00");
    }

    #[test]
    fn a_missing_wall_time_is_refused_and_a_doubled_one_takes_the_earlier_instant() {
        let tz = chrono_tz::Europe::Berlin;
        assert_eq!(instant(tz, at(2026, 3, 29, 2, 30)).unwrap_err().to_rfc3339(), "2026-03-29T01:30:00+00:00");
        assert_eq!(instant(tz, at(2026, 10, 25, 2, 30)).unwrap().to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }
}
