//! Visit types: a doctor's kinds of visit, each with its length, the buffers it keeps free around
//! it, and the policy that applies when a patient books it (notice, horizon, cancel and reschedule
//! cutoffs, whether patients may book it at all).
//!
//! Who sees which type is decided here once ([`visible_to`]): a type's doctor and admins see all of
//! that doctor's types (inactive ones when they ask), everyone else the active, patient-bookable
//! ones. A type someone may not see is `NOT_FOUND` (field `visitTypeId`) wherever they name it.
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{Role, Store, audit, validation};
use crate::{
    auth::viewer::Viewer,
    db::{begin_write, entities::visit_type},
    error::{AppError, AppResult, is_unique_violation},
};

/// Longest name, characters (after trimming).
pub const MAX_NAME_CHARS: usize = 60;

/// What `createVisitType` and `updateVisitType` receive: every setting (an omitted optional one
/// takes its default).
#[derive(Clone, Debug)]
pub struct VisitTypeSettings {
    pub name: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    pub patient_cancel_cutoff_minutes: Option<i32>,
    pub patient_reschedule_cutoff_minutes: Option<i32>,
    pub patient_bookable: Option<bool>,
}

/// The settings once checked, defaults applied.
struct Checked {
    name: String,
    duration: i32,
    before: i32,
    after: i32,
    notice: i32,
    horizon: i32,
    cancel_cutoff: i32,
    reschedule_cutoff: i32,
    bookable: bool,
}

fn in_range(value: Option<i32>, default: i32, field: &'static str, min: i32, max: i32) -> AppResult<i32> {
    let v = value.unwrap_or(default);
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(AppError::bad_input(field, format!("{field} must be between {min} and {max}")))
    }
}

impl VisitTypeSettings {
    fn check(&self) -> AppResult<Checked> {
        Ok(Checked {
            name: validation::name_like(&self.name, "name", MAX_NAME_CHARS)?,
            duration: in_range(Some(self.duration_minutes), 0, "durationMinutes", 5, 480)?,
            before: in_range(self.buffer_before_minutes, 0, "bufferBeforeMinutes", 0, 120)?,
            after: in_range(self.buffer_after_minutes, 0, "bufferAfterMinutes", 0, 120)?,
            notice: in_range(self.min_notice_minutes, 0, "minNoticeMinutes", 0, 43_200)?,
            horizon: in_range(self.horizon_days, 365, "horizonDays", 1, 365)?,
            cancel_cutoff: in_range(self.patient_cancel_cutoff_minutes, 0, "patientCancelCutoffMinutes", 0, 20_160)?,
            reschedule_cutoff: in_range(
                self.patient_reschedule_cutoff_minutes,
                0,
                "patientRescheduleCutoffMinutes",
                0,
                20_160,
            )?,
            bookable: self.patient_bookable.unwrap_or(true),
        })
    }
}

/// Whether `viewer` may see `t` (and so name it): its doctor and admins always; anyone else an
/// active, patient-bookable type only.
pub fn visible_to(viewer: &Viewer, t: &visit_type::Model) -> bool {
    manages(viewer, t.doctor_id) || (t.active && t.patient_bookable)
}

/// Whether `viewer` manages `doctor_id`'s types: the doctor themself, or an admin.
fn manages(viewer: &Viewer, doctor_id: Uuid) -> bool {
    viewer.is_admin() || viewer.id() == doctor_id
}

/// `NOT_FOUND` on `visitTypeId`: a type that does not exist, is not the doctor's, or that the
/// viewer may not see.
pub fn not_found() -> AppError {
    AppError::NotFoundAt { what: "Visit type", field: "visitTypeId" }
}

fn name_taken() -> AppError {
    AppError::conflict("name", "This doctor already has a visit type with that name")
}

/// The visit type `id` as `viewer` may know it.
///
/// # Errors
/// `NOT_FOUND` (field `visitTypeId`) when it does not exist or `viewer` may not see it.
pub async fn get_visible<C: ConnectionTrait>(db: &C, viewer: &Viewer, id: Uuid) -> AppResult<visit_type::Model> {
    visit_type::Entity::find_by_id(id).one(db).await?.filter(|t| visible_to(viewer, t)).ok_or_else(not_found)
}

/// Types by id (for the DataLoader), whoever may see them: a party always sees the type of their
/// own appointment, hold or entry.
///
/// # Errors
/// Internal only.
pub async fn by_ids<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<visit_type::Model>> {
    Ok(visit_type::Entity::find().filter(visit_type::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// `visitTypes(doctorId, includeInactive)`: the doctor's types `viewer` may see, by name. The
/// doctor and admins get the active ones, and the inactive ones too with `include_inactive`;
/// everyone else the active, patient-bookable ones.
///
/// # Errors
/// Internal only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    doctor_id: Uuid,
    include_inactive: bool,
) -> AppResult<Vec<visit_type::Model>> {
    let mut q = visit_type::Entity::find().filter(visit_type::Column::DoctorId.eq(doctor_id));
    if manages(viewer, doctor_id) {
        if !include_inactive {
            q = q.filter(visit_type::Column::Active.eq(true));
        }
    } else {
        q = q.filter(visit_type::Column::Active.eq(true)).filter(visit_type::Column::PatientBookable.eq(true));
    }
    Ok(q.order_by_asc(visit_type::Column::NameKey).order_by_asc(visit_type::Column::Id).all(db).await?)
}

/// `createVisitType`: a doctor for themself (`doctor_id` absent or their own), an admin for the
/// doctor `doctor_id` names.
///
/// # Errors
/// `FORBIDDEN` for a patient, or a doctor naming another doctor; `BAD_USER_INPUT` naming the field
/// (an admin without `doctorId`, a `doctorId` that is no doctor, a setting out of range);
/// `CONFLICT` (field `name`) when the doctor already has a type of that name (ignoring case).
pub async fn create(
    store: &Store,
    viewer: &Viewer,
    doctor_id: Option<Uuid>,
    settings: &VisitTypeSettings,
) -> AppResult<visit_type::Model> {
    let doctor_id = match viewer.role() {
        Role::Patient => return Err(AppError::Forbidden),
        Role::Doctor => match doctor_id {
            Some(d) if d != viewer.id() => return Err(AppError::Forbidden),
            _ => viewer.id(),
        },
        Role::Admin => doctor_id.ok_or_else(|| AppError::bad_input("doctorId", "doctorId is required"))?,
    };
    let s = settings.check()?;
    let txn = begin_write(&store.writer).await?;
    let doctor = crate::db::entities::user::Entity::find_by_id(doctor_id).one(&txn).await?;
    if !doctor.is_some_and(|d| d.role == Role::Doctor) {
        return Err(AppError::bad_input("doctorId", "No doctor has this id"));
    }
    let now = store.clock.now();
    let model = visit_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        doctor_id: Set(doctor_id),
        name_key: Set(s.name.to_lowercase()),
        name: Set(s.name),
        duration_minutes: Set(s.duration),
        buffer_before_minutes: Set(s.before),
        buffer_after_minutes: Set(s.after),
        min_notice_minutes: Set(s.notice),
        horizon_days: Set(s.horizon),
        patient_cancel_cutoff_minutes: Set(s.cancel_cutoff),
        patient_reschedule_cutoff_minutes: Set(s.reschedule_cutoff),
        patient_bookable: Set(s.bookable),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let created =
        model.insert(&txn).await.map_err(|e| if is_unique_violation(&e) { name_taken() } else { e.into() })?;
    audit::record(&txn, Some(viewer.id()), "visit_type.create", Some(created.id), now).await?;
    txn.commit().await?;
    Ok(created)
}

/// The type `id` for a change by `viewer`, inside `txn`.
async fn load_for_change<C: ConnectionTrait>(txn: &C, viewer: &Viewer, id: Uuid) -> AppResult<visit_type::Model> {
    let t = visit_type::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|t| visible_to(viewer, t))
        .ok_or(AppError::NotFound("Visit type"))?;
    if !manages(viewer, t.doctor_id) {
        return Err(AppError::Forbidden);
    }
    Ok(t)
}

/// `updateVisitType`: replaces every setting with `settings`' (an omitted optional one takes its
/// default). Appointments already made with the type keep what they copied.
///
/// # Errors
/// `NOT_FOUND` when `viewer` may not see the type; `FORBIDDEN` when they see it but it is not
/// theirs to manage; as [`create`] for the settings.
pub async fn update(
    store: &Store,
    viewer: &Viewer,
    id: Uuid,
    settings: &VisitTypeSettings,
) -> AppResult<visit_type::Model> {
    let s = settings.check()?;
    let txn = begin_write(&store.writer).await?;
    let t = load_for_change(&txn, viewer, id).await?;
    let now = store.clock.now();
    let mut model: visit_type::ActiveModel = t.into();
    model.name_key = Set(s.name.to_lowercase());
    model.name = Set(s.name);
    model.duration_minutes = Set(s.duration);
    model.buffer_before_minutes = Set(s.before);
    model.buffer_after_minutes = Set(s.after);
    model.min_notice_minutes = Set(s.notice);
    model.horizon_days = Set(s.horizon);
    model.patient_cancel_cutoff_minutes = Set(s.cancel_cutoff);
    model.patient_reschedule_cutoff_minutes = Set(s.reschedule_cutoff);
    model.patient_bookable = Set(s.bookable);
    model.updated_at = Set(now);
    let updated =
        model.update(&txn).await.map_err(|e| if is_unique_violation(&e) { name_taken() } else { e.into() })?;
    audit::record(&txn, Some(viewer.id()), "visit_type.update", Some(id), now).await?;
    super::waitlist_marks::mark_now(&txn, updated.doctor_id, now).await?;
    txn.commit().await?;
    Ok(updated)
}

/// `setVisitTypeActive`: an inactive type cannot be booked; appointments made with it stay.
///
/// # Errors
/// As [`update`].
pub async fn set_active(store: &Store, viewer: &Viewer, id: Uuid, active: bool) -> AppResult<visit_type::Model> {
    let txn = begin_write(&store.writer).await?;
    let t = load_for_change(&txn, viewer, id).await?;
    let now = store.clock.now();
    visit_type::Entity::update_many()
        .col_expr(visit_type::Column::Active, Expr::value(active))
        .col_expr(visit_type::Column::UpdatedAt, Expr::value(now))
        .filter(visit_type::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(&txn, Some(viewer.id()), "visit_type.activate", Some(id), now).await?;
    super::waitlist_marks::mark_now(&txn, t.doctor_id, now).await?;
    txn.commit().await?;
    Ok(visit_type::Model { active, updated_at: now, ..t })
}

/// What a booking takes from its visit type (copied onto the appointment), or the doctor's plain
/// slot when it has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The visit's length, and the grid's step.
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    /// The patient policy; `None` without a visit type.
    pub policy: Option<Policy>,
}

/// The patient policy a booking copies from its visit type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub min_notice_minutes: i32,
    pub horizon_days: i32,
    pub cancel_cutoff_minutes: i32,
    pub reschedule_cutoff_minutes: i32,
}

impl Terms {
    /// A visit of the doctor's `slot_minutes`, no buffers, no policy.
    pub fn plain(slot_minutes: i32) -> Self {
        Self { duration_minutes: slot_minutes, buffer_before_minutes: 0, buffer_after_minutes: 0, policy: None }
    }

    /// The terms of a visit type.
    pub fn of(t: &visit_type::Model) -> Self {
        Self {
            duration_minutes: t.duration_minutes,
            buffer_before_minutes: t.buffer_before_minutes,
            buffer_after_minutes: t.buffer_after_minutes,
            policy: Some(Policy {
                min_notice_minutes: t.min_notice_minutes,
                horizon_days: t.horizon_days,
                cancel_cutoff_minutes: t.patient_cancel_cutoff_minutes,
                reschedule_cutoff_minutes: t.patient_reschedule_cutoff_minutes,
            }),
        }
    }

    /// The doctor's time a visit starting at `starts_at` blocks: `(visit end, blocked from, blocked
    /// until)`.
    pub fn blocks(&self, starts_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
        let ends_at = starts_at + TimeDelta::minutes(i64::from(self.duration_minutes));
        (
            ends_at,
            starts_at - TimeDelta::minutes(i64::from(self.buffer_before_minutes)),
            ends_at + TimeDelta::minutes(i64::from(self.buffer_after_minutes)),
        )
    }
}

impl Policy {
    /// Whether a patient may book a visit starting at `starts_at` now: `now + notice ≤ starts_at ≤
    /// now + horizon` (a day of the horizon is 24 hours).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` on `startsAt`.
    pub fn check_start(&self, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
        if starts_at < now + TimeDelta::minutes(i64::from(self.min_notice_minutes)) {
            return Err(AppError::bad_input(
                "startsAt",
                format!("This visit must be booked at least {} minutes ahead", self.min_notice_minutes),
            ));
        }
        // Checked: a horizon stored past chrono's range (only SQL can write one) limits nothing.
        if now.checked_add_signed(TimeDelta::days(i64::from(self.horizon_days))).is_some_and(|h| starts_at > h) {
            return Err(AppError::bad_input(
                "startsAt",
                format!("This visit can be booked at most {} days ahead", self.horizon_days),
            ));
        }
        Ok(())
    }
}

/// The terms an appointment copied when it was booked.
pub fn terms_of(appt: &crate::db::entities::appointment::Model) -> Terms {
    let minutes = |d: TimeDelta| i32::try_from(d.num_minutes()).unwrap_or(i32::MAX);
    let policy = match (appt.min_notice_minutes, appt.horizon_days) {
        (Some(notice), Some(horizon)) => Some(Policy {
            min_notice_minutes: notice,
            horizon_days: horizon,
            cancel_cutoff_minutes: appt.patient_cancel_cutoff_minutes.unwrap_or(0),
            reschedule_cutoff_minutes: appt.patient_reschedule_cutoff_minutes.unwrap_or(0),
        }),
        _ => None,
    };
    Terms {
        duration_minutes: minutes(appt.ends_at - appt.starts_at),
        buffer_before_minutes: minutes(appt.starts_at - appt.blocked_from),
        buffer_after_minutes: minutes(appt.blocked_until - appt.ends_at),
        policy,
    }
}
