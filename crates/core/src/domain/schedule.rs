//! Scheduling: weekly availability, time off, and the free-slot grid.
//!
//! A doctor's availability rules are local wall-clock windows in the doctor's IANA time zone. Each
//! window is turned into a UTC interval for each date (the start at its earliest meaning, the end at
//! its latest when the clock repeats an hour; a time the clock skips means the instant of the jump),
//! and cut into slots of `slot_minutes` from the window's start, the last one ending by its end.
//! So a 09:00 Europe/Berlin rule starts at 08:00Z in winter and 07:00Z in summer, and the days the
//! clocks change neither lose nor repeat a slot: the real time covered is cut without gaps.
use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{
    Role, Store, audit,
    profiles::parse_time_zone,
    validation,
    visit_types::{self, Terms},
};
use crate::{
    auth::viewer::Viewer,
    db::{
        begin_write,
        entities::{availability_rule, doctor_profile, time_off, user},
    },
    error::{AppError, AppResult},
};

/// Day of the week, Monday first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    const ALL: [Self; 7] = [Self::Mon, Self::Tue, Self::Wed, Self::Thu, Self::Fri, Self::Sat, Self::Sun];

    /// 0 = Monday … 6 = Sunday, as stored.
    pub fn index(self) -> i16 {
        match self {
            Self::Mon => 0,
            Self::Tue => 1,
            Self::Wed => 2,
            Self::Thu => 3,
            Self::Fri => 4,
            Self::Sat => 5,
            Self::Sun => 6,
        }
    }

    pub fn from_index(i: i16) -> Option<Self> {
        usize::try_from(i).ok().and_then(|i| Self::ALL.get(i).copied())
    }

    pub fn of(date: NaiveDate) -> Self {
        Self::ALL[date.weekday().num_days_from_monday() as usize]
    }
}

/// One weekly window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl From<&availability_rule::Model> for Rule {
    fn from(m: &availability_rule::Model) -> Self {
        Self { weekday: Weekday::from_index(m.weekday).unwrap_or(Weekday::Mon), start: m.start_time, end: m.end_time }
    }
}

/// A bookable interval `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The longest range `availableSlots` answers for.
pub const MAX_SLOT_RANGE_DAYS: i64 = 31;

/// The local wall-clock time `local` in `tz` as an instant. When the clock repeats it, `earliest`
/// picks which; when the clock skips it, the instant of the jump.
fn resolve(tz: Tz, local: NaiveDateTime, earliest: bool) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(if earliest { a } else { b }.with_timezone(&Utc)),
        LocalResult::None => (1..=24 * 60).find_map(|m| {
            let later = local + TimeDelta::minutes(m);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
                LocalResult::None => None,
            }
        }),
    }
}

/// Every grid slot of `rules` in `tz` whose start lies in `[from, to)`, in order.
pub fn grid(tz: Tz, rules: &[Rule], slot_minutes: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
    let mut out = Vec::new();
    if slot_minutes <= 0 || from >= to {
        return out;
    }
    let step = TimeDelta::minutes(slot_minutes);
    for (start, end) in windows(tz, rules, from, to) {
        let mut t = start;
        while t + step <= end {
            if t >= from && t < to {
                out.push(Slot { start: t, end: t + step });
            }
            t += step;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `at` starts one of [`grid`]'s slots, without listing them (a booking's check).
pub fn starts_slot(tz: Tz, rules: &[Rule], slot_minutes: i64, at: DateTime<Utc>) -> bool {
    if slot_minutes <= 0 {
        return false;
    }
    let step = TimeDelta::minutes(slot_minutes);
    windows(tz, rules, at, at + TimeDelta::seconds(1))
        .any(|(start, end)| at >= start && at + step <= end && (at - start).num_seconds() % step.num_seconds() == 0)
}

/// The windows of `rules` in `tz` as UTC intervals, on every local date that can hold a slot
/// starting in `[from, to)` (a date either side too: a window may cross midnight in UTC).
fn windows(
    tz: Tz,
    rules: &[Rule],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
    let first_day = from.with_timezone(&tz).date_naive() - Days::new(1);
    let last_day = to.with_timezone(&tz).date_naive() + Days::new(1);
    first_day.iter_days().take_while(move |day| *day <= last_day).flat_map(move |day| {
        let weekday = Weekday::of(day);
        rules.iter().filter(move |r| r.weekday == weekday).filter_map(move |rule| {
            Some((resolve(tz, day.and_time(rule.start), true)?, resolve(tz, day.and_time(rule.end), false)?))
        })
    })
}

/// Checks and stores a whole week of rules, replacing the old ones in one transaction.
///
/// # Errors
/// `FORBIDDEN` for non-doctors; `BAD_USER_INPUT` on `rules` for a window that does not start before
/// it ends or overlaps another window of the same day.
pub async fn set_availability(store: &Store, viewer: &Viewer, rules: Vec<Rule>) -> AppResult<Vec<Rule>> {
    if viewer.role() != Role::Doctor {
        return Err(AppError::Forbidden);
    }
    if rules.len() > 7 * 48 {
        return Err(AppError::bad_input("rules", "Too many availability rules"));
    }
    for (i, r) in rules.iter().enumerate() {
        if r.start >= r.end {
            return Err(AppError::bad_input("rules", format!("rules[{i}]: startTime must be before endTime")));
        }
    }
    let mut sorted = rules.clone();
    sorted.sort_by_key(|r| (r.weekday, r.start));
    for pair in sorted.windows(2) {
        if pair[0].weekday == pair[1].weekday && pair[1].start < pair[0].end {
            return Err(AppError::bad_input(
                "rules",
                format!(
                    "Availability rules overlap on {:?} ({}–{} and {}–{})",
                    pair[0].weekday, pair[0].start, pair[0].end, pair[1].start, pair[1].end
                ),
            ));
        }
    }
    let txn = begin_write(&store.writer).await?;
    availability_rule::Entity::delete_many()
        .filter(availability_rule::Column::DoctorId.eq(viewer.id()))
        .exec(&txn)
        .await?;
    if !sorted.is_empty() {
        availability_rule::Entity::insert_many(sorted.iter().map(|r| availability_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            doctor_id: Set(viewer.id()),
            weekday: Set(r.weekday.index()),
            start_time: Set(r.start),
            end_time: Set(r.end),
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    audit::record(&txn, Some(viewer.id()), "availability.set", Some(viewer.id()), store.clock.now()).await?;
    super::waitlist_marks::mark_now(&txn, viewer.id(), store.clock.now()).await?;
    txn.commit().await?;
    Ok(sorted)
}

/// Availability rules of several doctors at once, each list ordered by weekday and start.
///
/// # Errors
/// Internal only.
pub async fn rules_of<C: ConnectionTrait>(db: &C, doctor_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<Rule>>> {
    let rows = availability_rule::Entity::find()
        .filter(availability_rule::Column::DoctorId.is_in(doctor_ids.iter().copied()))
        .order_by_asc(availability_rule::Column::Weekday)
        .order_by_asc(availability_rule::Column::StartTime)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Rule>> = HashMap::new();
    for r in &rows {
        out.entry(r.doctor_id).or_default().push(r.into());
    }
    Ok(out)
}

/// What `addTimeOff` receives.
pub struct NewTimeOff {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Adds a period of time off for the viewer (a doctor).
///
/// # Errors
/// `FORBIDDEN` for non-doctors; `BAD_USER_INPUT` on `endsAt` (not after `startsAt`, in the past,
/// or longer than a year) or `reason` (over 500 characters).
pub async fn add_time_off(store: &Store, viewer: &Viewer, input: NewTimeOff) -> AppResult<time_off::Model> {
    if viewer.role() != Role::Doctor {
        return Err(AppError::Forbidden);
    }
    let now = store.clock.now();
    if input.ends_at <= input.starts_at {
        return Err(AppError::bad_input("endsAt", "endsAt must be after startsAt"));
    }
    if input.ends_at <= now {
        return Err(AppError::bad_input("endsAt", "endsAt must be in the future"));
    }
    if input.ends_at - input.starts_at > TimeDelta::days(366) {
        return Err(AppError::bad_input("endsAt", "Time off can last at most 366 days"));
    }
    let reason = validation::optional_text(input.reason.as_deref(), "reason", 500)?;
    let txn = begin_write(&store.writer).await?;
    let row = time_off::ActiveModel {
        id: Set(Uuid::now_v7()),
        doctor_id: Set(viewer.id()),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        reason: Set(reason),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, Some(viewer.id()), "time_off.add", Some(viewer.id()), now).await?;
    txn.commit().await?;
    Ok(row)
}

/// Removes one of the viewer's periods of time off.
///
/// # Errors
/// `FORBIDDEN` for non-doctors; `NOT_FOUND` when it does not exist or is another doctor's.
pub async fn remove_time_off(store: &Store, viewer: &Viewer, id: Uuid) -> AppResult<()> {
    if viewer.role() != Role::Doctor {
        return Err(AppError::Forbidden);
    }
    let txn = begin_write(&store.writer).await?;
    let deleted = time_off::Entity::delete_many()
        .filter(time_off::Column::Id.eq(id))
        .filter(time_off::Column::DoctorId.eq(viewer.id()))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::NotFound("Time off"));
    }
    audit::record(&txn, Some(viewer.id()), "time_off.remove", Some(viewer.id()), store.clock.now()).await?;
    super::waitlist_marks::mark_now(&txn, viewer.id(), store.clock.now()).await?;
    txn.commit().await?;
    Ok(())
}

/// Time off of several doctors that has not ended by `after`, each ordered by start.
///
/// # Errors
/// Internal only.
pub async fn time_off_of<C: ConnectionTrait>(
    db: &C,
    doctor_ids: &[Uuid],
    after: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, Vec<time_off::Model>>> {
    let rows = time_off::Entity::find()
        .filter(time_off::Column::DoctorId.is_in(doctor_ids.iter().copied()))
        .filter(time_off::Column::EndsAt.gt(after))
        .order_by_asc(time_off::Column::StartsAt)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<time_off::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.doctor_id).or_default().push(r);
    }
    Ok(out)
}

/// Time off of one doctor overlapping `[from, to)`.
async fn time_off_overlapping<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let rows = time_off::Entity::find()
        .filter(time_off::Column::DoctorId.eq(doctor_id))
        .filter(time_off::Column::StartsAt.lt(to))
        .filter(time_off::Column::EndsAt.gt(from))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.starts_at, r.ends_at)).collect())
}

/// The doctor's time blocked by active appointments and live holds (`calendar_blocks`: each its
/// blocked range, buffers included) overlapping `[from, to)`. A hold whose `expires_at` has passed
/// blocks nothing, even before a booking or hold ends it.
async fn blocked_overlapping<C: ConnectionTrait>(
    db: &C,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    use sea_orm::Statement;
    let sql = "SELECT b.blocked_from, b.blocked_until FROM calendar_blocks b \
               LEFT JOIN slot_holds h ON h.id = b.id \
               WHERE b.doctor_id = $1 AND b.blocked_until > $2 AND b.blocked_from < $3 \
               AND (h.id IS NULL OR h.expires_at > $4)";
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [doctor_id.into(), from.into(), to.into(), now.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Everything slot computations need about one doctor.
pub struct DoctorCalendar {
    pub doctor: user::Model,
    pub profile: Option<doctor_profile::Model>,
    pub tz: Tz,
    pub rules: Vec<Rule>,
}

impl DoctorCalendar {
    /// Loads a doctor's calendar.
    ///
    /// # Errors
    /// `NOT_FOUND` when `id` is not a doctor.
    pub async fn load<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Self> {
        let doctor = user::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.role == Role::Doctor)
            .ok_or(AppError::NotFound("Doctor"))?;
        let profile = doctor_profile::Entity::find_by_id(id).one(db).await?;
        let tz = profile.as_ref().map_or(Ok(Tz::UTC), |p| parse_time_zone(&p.time_zone))?;
        let rules = rules_of(db, &[id]).await?.remove(&id).unwrap_or_default();
        Ok(Self { doctor, profile, tz, rules })
    }

    /// Active, with a verified profile: may be listed to patients and booked.
    pub fn bookable(&self) -> bool {
        self.doctor.is_active && self.profile.as_ref().is_some_and(|p| p.verified)
    }

    pub fn slot_minutes(&self) -> i64 {
        self.profile.as_ref().map_or(i64::from(super::profiles::DEFAULT_SLOT_MINUTES), |p| i64::from(p.slot_minutes))
    }

    /// The terms of a visit booked without a type: the doctor's slot as it is now, no buffers, no
    /// policy.
    pub fn plain_terms(&self) -> Terms {
        Terms::plain(i32::try_from(self.slot_minutes()).unwrap_or(i32::MAX))
    }
}

/// Free slots of a doctor with a start in `[from, to)`, as a booking by a patient would accept
/// them: on the grid (stepping by the visit type's duration, or the doctor's `slotMinutes`), in the
/// future, the visit outside time off, its blocked range (buffers included) clear of every other
/// appointment's and live hold's, and, with a visit type, within its notice and horizon. Empty for
/// a doctor who is not bookable.
///
/// # Errors
/// `BAD_USER_INPUT` on `to` when the range is empty or longer than 31 days; `NOT_FOUND` when
/// `doctor_id` is not a doctor, or (field `visitTypeId`) when `visit_type` is not this doctor's or
/// `viewer` may not see it.
pub async fn available_slots(
    store: &Store,
    viewer: &Viewer,
    doctor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    visit_type: Option<Uuid>,
) -> AppResult<Vec<Slot>> {
    if to <= from {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    if to - from > TimeDelta::days(MAX_SLOT_RANGE_DAYS) {
        return Err(AppError::bad_input("to", format!("The range can span at most {MAX_SLOT_RANGE_DAYS} days")));
    }
    let cal = DoctorCalendar::load(&store.reads, doctor_id).await?;
    let terms = match visit_type {
        Some(id) => {
            let t = visit_types::get_visible(&store.reads, viewer, id).await?;
            if t.doctor_id != doctor_id {
                return Err(visit_types::not_found());
            }
            if !(t.active && t.patient_bookable) {
                // No patient could book it: nothing to offer.
                return Ok(Vec::new());
            }
            Terms::of(&t)
        }
        None => cal.plain_terms(),
    };
    if !cal.bookable() {
        return Ok(Vec::new());
    }
    free_starts(&store.reads, &cal, terms, from, to, store.clock.now()).await
}

/// The free starts of `cal`'s doctor in `[from, to)` for a visit on `terms`, as a patient's
/// booking would accept them (the computation of [`available_slots`], which the waitlist's matcher
/// shares): on the grid, after `now`, the visit outside time off, its blocked range clear of every
/// active appointment's and live hold's, within the terms' notice and horizon. Three statements
/// at most (none when the grid is empty). The caller has checked that the doctor is bookable.
///
/// # Errors
/// Internal only.
pub async fn free_starts<C: ConnectionTrait>(
    db: &C,
    cal: &DoctorCalendar,
    terms: Terms,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Slot>> {
    let doctor_id = cal.doctor.id;
    let mut earliest = from.max(now);
    let mut latest = to;
    if let Some(policy) = terms.policy {
        earliest = earliest.max(now + TimeDelta::minutes(i64::from(policy.min_notice_minutes)));
        // Checked: a horizon stored past chrono's range (only SQL can write one) limits nothing.
        if let Some(horizon) = now.checked_add_signed(TimeDelta::days(i64::from(policy.horizon_days))) {
            latest = latest.min(horizon + TimeDelta::microseconds(1));
        }
    }
    if earliest >= latest {
        return Ok(Vec::new());
    }
    let slots = grid(cal.tz, &cal.rules, i64::from(terms.duration_minutes), earliest, latest);
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return Ok(slots);
    };
    let away = time_off_overlapping(db, doctor_id, first.start, last.end).await?;
    let (_, first_blocked, _) = terms.blocks(first.start);
    let (_, _, last_blocked) = terms.blocks(last.start);
    let blocked = blocked_overlapping(db, doctor_id, first_blocked, last_blocked, now).await?;
    Ok(slots
        .into_iter()
        .filter(|s| {
            let (_, b_from, b_until) = terms.blocks(s.start);
            s.start > now
                && !away.iter().any(|(a, b)| s.start < *b && *a < s.end)
                && !blocked.iter().any(|(a, b)| b_from < *b && *a < b_until)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    #[test]
    fn a_berlin_morning_rule_moves_in_utc_with_daylight_saving() {
        let rules = [Rule { weekday: Weekday::Mon, start: t(9, 0), end: t(10, 0) }];
        let winter =
            grid(chrono_tz::Europe::Berlin, &rules, 30, utc("2027-01-04T00:00:00Z"), utc("2027-01-05T00:00:00Z"));
        assert_eq!(winter.first().map(|s| s.start), Some(utc("2027-01-04T08:00:00Z")));
        let summer =
            grid(chrono_tz::Europe::Berlin, &rules, 30, utc("2027-07-05T00:00:00Z"), utc("2027-07-06T00:00:00Z"));
        assert_eq!(summer.first().map(|s| s.start), Some(utc("2027-07-05T07:00:00Z")));
        assert_eq!(summer.len(), 2);
    }

    #[test]
    fn a_start_is_a_slot_exactly_when_the_grid_lists_it() {
        // Berlin across both clock changes, with a window crossing the skipped and the repeated hour.
        let rules: Vec<Rule> = Weekday::ALL
            .iter()
            .flat_map(|&weekday| {
                [(1, 30, 4, 0), (9, 0, 12, 0), (13, 15, 18, 0)].map(|(h1, m1, h2, m2)| Rule {
                    weekday,
                    start: t(h1, m1),
                    end: t(h2, m2),
                })
            })
            .collect();
        for (day, minutes) in [("2027-03-28", 30), ("2027-10-31", 45), ("2027-01-04", 20)] {
            let from = utc(&format!("{day}T00:00:00Z")) - TimeDelta::hours(6);
            let to = from + TimeDelta::hours(36);
            let listed: Vec<_> =
                grid(chrono_tz::Europe::Berlin, &rules, minutes, from, to).iter().map(|s| s.start).collect();
            assert!(listed.len() > 10, "{day}: {listed:?}");
            let mut t = from;
            while t < to {
                let is = starts_slot(chrono_tz::Europe::Berlin, &rules, minutes, t);
                assert_eq!(is, listed.contains(&t), "{day} {t}");
                t += TimeDelta::minutes(5);
            }
        }
    }

    #[test]
    fn the_skipped_and_repeated_hours_cut_real_time_without_gaps_or_repeats() {
        // 2027-03-28: Berlin skips 02:00–03:00. 2027-10-31: it repeats 02:00–03:00. Both Sundays.
        let rules = [Rule { weekday: Weekday::Sun, start: t(1, 0), end: t(4, 0) }];
        for (day, next, hours) in [("2027-03-28", "2027-03-29", 2), ("2027-10-31", "2027-11-01", 4)] {
            let slots = grid(
                chrono_tz::Europe::Berlin,
                &rules,
                30,
                utc(&format!("{day}T00:00:00Z")).checked_sub_signed(TimeDelta::hours(3)).unwrap_or_default(),
                utc(&format!("{next}T00:00:00Z")),
            );
            assert_eq!(slots.len(), hours * 2, "{day}: {slots:?}");
            for pair in slots.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "{day}: contiguous, no gap, no repeat");
            }
        }
    }
}
