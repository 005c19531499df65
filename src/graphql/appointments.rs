//! Appointments: booking, lifecycle, lists, history, and live events.
use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context, InputObject, Object, Subscription, Value,
    connection::{Connection, CursorType, Edge},
    futures_util::{Stream, stream},
};
use base64::Engine;
use chrono::{NaiveDate, NaiveTime};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    loaders::{AppointmentById, DoctorProfileOf, HistoryOf, SharesAppointment, UserById, UserRow, prefetch_users},
    objects::User,
    pagination::{page_complexity, page_size},
    plain::{self, Fast, Plain, leaf, nested},
    scalars::DateTime,
};
use crate::{
    auth::{guard::RoleGuard, viewer::Viewer},
    db::entities::{appointment, appointment_event, doctor_profile},
    domain::{
        appointments::{self, AppointmentCursor, AppointmentFilter as Filter, NewAppointment, Transition},
        profiles::parse_time_zone,
    },
    error::{AppError, AppResult},
    events::{EventNotice, Heard},
};

/// A booked time between a doctor and a patient.
pub struct Appointment {
    model: Arc<appointment::Model>,
    /// Its two people, when they were loaded with the page, for the viewer of that id.
    parties: Option<(Arc<UserRow>, Arc<UserRow>, Uuid)>,
}

impl From<appointment::Model> for Appointment {
    fn from(m: appointment::Model) -> Self {
        Self::from(Arc::new(m))
    }
}

impl From<Arc<appointment::Model>> for Appointment {
    fn from(model: Arc<appointment::Model>) -> Self {
        Self { model, parties: None }
    }
}

async fn user(ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<User>> {
    let viewer = ctx.viewer().await?;
    let user =
        ctx.loaders()?.load_one(UserById(id)).await?.ok_or_else(|| AppError::internal("appointment party missing"))?;
    Ok(Fast(User::party_of_visible_appointment(&user, viewer.id())))
}

fn local_start(
    a: &appointment::Model,
    profile: Option<&doctor_profile::Model>,
) -> AppResult<chrono::DateTime<chrono_tz::Tz>> {
    let tz = profile.map_or(Ok(chrono_tz::Tz::UTC), |p| parse_time_zone(&p.time_zone))?;
    Ok(a.starts_at.with_timezone(&tz))
}

impl Appointment {
    async fn local(&self, ctx: &Context<'_>) -> AppResult<chrono::DateTime<chrono_tz::Tz>> {
        let profile = ctx.loaders()?.load_one(DoctorProfileOf(self.model.doctor_id)).await?;
        local_start(&self.model, profile.as_deref())
    }
}

impl Plain for Appointment {
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value> {
        let a = &*self.model;
        match ctx.item.node.name.node.as_str() {
            "id" => Some(plain::uuid_value(&a.id)),
            "startsAt" => leaf(ctx, &DateTime::from(a.starts_at)),
            "endsAt" => leaf(ctx, &DateTime::from(a.ends_at)),
            "createdAt" => leaf(ctx, &DateTime::from(a.created_at)),
            "updatedAt" => leaf(ctx, &DateTime::from(a.updated_at)),
            "reasonForVisit" => leaf(ctx, &a.reason_for_visit.as_str()),
            "status" => leaf(ctx, &enums::AppointmentStatus::from(a.status)),
            "cancellationReason" => leaf(ctx, &a.cancellation_reason.as_deref()),
            "doctor" | "patient" => {
                let (doctor, patient, viewer) = self.parties.as_ref()?;
                let row = if ctx.item.node.name.node == "doctor" { doctor } else { patient };
                nested(ctx, &User::party_of_visible_appointment(row, *viewer))
            }
            "date" | "time" => {
                let (doctor, _, _) = self.parties.as_ref()?;
                let local = local_start(a, doctor.doctor_profile.as_deref()).ok()?;
                if ctx.item.node.name.node == "date" {
                    leaf(ctx, &local.date_naive())
                } else {
                    leaf(ctx, &local.time())
                }
            }
            _ => None,
        }
    }
}

#[Object]
impl Appointment {
    async fn id(&self) -> Uuid {
        self.model.id
    }
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        user(ctx, self.model.doctor_id).await
    }
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        user(ctx, self.model.patient_id).await
    }
    async fn starts_at(&self) -> DateTime {
        self.model.starts_at.into()
    }
    async fn ends_at(&self) -> DateTime {
        self.model.ends_at.into()
    }
    /// Local date in the doctor's time zone.
    async fn date(&self, ctx: &Context<'_>) -> AppResult<NaiveDate> {
        Ok(self.local(ctx).await?.date_naive())
    }
    /// Local time in the doctor's time zone.
    async fn time(&self, ctx: &Context<'_>) -> AppResult<NaiveTime> {
        Ok(self.local(ctx).await?.time())
    }
    async fn reason_for_visit(&self) -> &str {
        &self.model.reason_for_visit
    }
    async fn status(&self) -> enums::AppointmentStatus {
        self.model.status.into()
    }
    async fn cancellation_reason(&self) -> Option<&str> {
        self.model.cancellation_reason.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.model.updated_at.into()
    }
    /// Every change, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> AppResult<Vec<AppointmentEvent>> {
        let events = ctx.loaders()?.load_one(HistoryOf(self.model.id)).await?.unwrap_or_default();
        Ok(events.iter().cloned().map(AppointmentEvent::from).collect())
    }
}

/// One change of an appointment.
pub struct AppointmentEvent(appointment_event::Model);

impl From<appointment_event::Model> for AppointmentEvent {
    fn from(m: appointment_event::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl AppointmentEvent {
    async fn kind(&self) -> enums::AppointmentEventKind {
        self.0.kind.into()
    }
    /// Status after the event.
    async fn status(&self) -> enums::AppointmentStatus {
        self.0.status.into()
    }
    /// Start time after the event.
    async fn starts_at(&self) -> DateTime {
        self.0.starts_at.into()
    }
    /// Who did it; null when done by the system.
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        Ok(ctx.loaders()?.load_one(UserById(id)).await?.map(|r| User::from_row(&r)))
    }
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
    async fn appointment(&self, ctx: &Context<'_>) -> AppResult<Appointment> {
        let appt = ctx
            .loaders()?
            .load_one(AppointmentById(self.0.appointment_id))
            .await?
            .ok_or(AppError::NotFound("Appointment"))?;
        Ok(Appointment::from(appt))
    }
}

#[derive(InputObject)]
pub struct CreateAppointmentInput {
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub starts_at: DateTime,
    pub reason_for_visit: String,
}

#[derive(InputObject, Default)]
pub struct AppointmentFilter {
    /// Any of these statuses (empty or omitted: any status).
    pub status: Option<Vec<enums::AppointmentStatus>>,
    /// `startsAt` at or after this.
    pub from: Option<DateTime>,
    /// `startsAt` before this.
    pub to: Option<DateTime>,
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
}

/// `totalCount` of an appointment list, counted only when asked for.
pub struct AppointmentListTotal(Arc<Viewer>, Filter);

#[Object]
impl AppointmentListTotal {
    /// How many appointments match the filter, on all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        let n = appointments::count(ctx.state()?, &self.0, &self.1).await?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

pub type AppointmentConnection = Connection<Cursor, Fast<Appointment>, AppointmentListTotal>;

/// An edge's position in the list, encoded only when a client asks for `cursor`.
pub struct Cursor(AppointmentCursor);

impl Cursor {
    fn of(a: &appointment::Model) -> Self {
        Self(AppointmentCursor { starts_at: a.starts_at, id: a.id })
    }
}

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bad = "Invalid cursor";
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| bad)?;
        let text = String::from_utf8(raw).map_err(|_| bad)?;
        let (micros, id) = text.split_once('|').ok_or(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad)?;
        let starts_at = chrono::DateTime::from_timestamp_micros(micros).ok_or(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad)?;
        Ok(Self(AppointmentCursor { starts_at, id }))
    }

    fn encode_cursor(&self) -> String {
        let c = &self.0;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", c.starts_at.timestamp_micros(), c.id))
    }
}

fn decode_cursor(cursor: Option<&str>) -> AppResult<Option<AppointmentCursor>> {
    cursor.map(|c| Cursor::decode_cursor(c).map(|c| c.0).map_err(|e| AppError::bad_input("after", e))).transpose()
}

#[derive(Default)]
pub struct AppointmentsQuery;

#[Object]
impl AppointmentsQuery {
    /// The viewer's appointments, as patient or doctor (admins: all), newest `startsAt` first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn appointments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AppointmentFilter>,
    ) -> AppResult<Fast<AppointmentConnection>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let limit = page_size(first)?;
        let cursor = decode_cursor(after.as_deref())?;
        let f = filter.unwrap_or_default();
        let filter = Filter {
            status: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
            from: f.from.map(|d| d.0),
            to: f.to.map(|d| d.0),
            doctor_id: f.doctor_id,
            patient_id: f.patient_id,
        };
        let mut rows = appointments::list(state, &viewer, &filter, cursor, limit + 1).await?;
        let has_next = u64::try_from(rows.len()).unwrap_or(u64::MAX) > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let users = prefetch_appointments(ctx, ctx.look_ahead().field("edges").field("node"), &rows).await?;
        let mut conn: AppointmentConnection = Connection::with_additional_fields(
            cursor.is_some(),
            has_next,
            AppointmentListTotal(viewer.clone(), filter),
        );
        conn.edges
            .extend(rows.into_iter().map(|a| Edge::new(Cursor::of(&a), Fast(with_parties(a, &users, viewer.id())))));
        Ok(Fast(conn))
    }

    /// One appointment of the viewer's (admins: any); someone else's is `NOT_FOUND`.
    async fn appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Fast<Appointment>>> {
        let viewer = ctx.viewer().await?;
        let appt = appointments::get(ctx.state()?, &viewer, id).await?;
        let users = prefetch_appointments(ctx, ctx.look_ahead(), std::slice::from_ref(&appt)).await?;
        Ok(Some(Fast(with_parties(appt, &users, viewer.id()))))
    }
}

/// The appointment with its two people when both were loaded.
fn with_parties(a: appointment::Model, users: &HashMap<UserById, Arc<UserRow>>, viewer: Uuid) -> Appointment {
    let parties = match (users.get(&UserById(a.doctor_id)), users.get(&UserById(a.patient_id))) {
        (Some(doctor), Some(patient)) => Some((doctor.clone(), patient.clone(), viewer)),
        _ => None,
    };
    Appointment { model: Arc::new(a), parties }
}

/// Loads up front, one query per kind, what the selection will ask of a page of appointments; and
/// records that the viewer shares each of them with its other party (no query needed). Returns
/// the people it loaded.
async fn prefetch_appointments(
    ctx: &Context<'_>,
    node: async_graphql::Lookahead<'_>,
    rows: &[appointment::Model],
) -> AppResult<HashMap<UserById, Arc<UserRow>>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let loaders = ctx.loaders()?;
    loaders
        .feed_many(rows.iter().flat_map(|a| {
            [(SharesAppointment(a.doctor_id, a.patient_id), true), (SharesAppointment(a.patient_id, a.doctor_id), true)]
        }))
        .await;
    loaders.feed_many(rows.iter().map(|a| (AppointmentById(a.id), Arc::new(a.clone())))).await;
    let (doctor, patient) = (node.field("doctor"), node.field("patient"));
    let mut ids: Vec<Uuid> = Vec::new();
    if doctor.exists() {
        ids.extend(rows.iter().map(|a| a.doctor_id));
    }
    if patient.exists() {
        ids.extend(rows.iter().map(|a| a.patient_id));
    }
    let wants_zone = node.field("date").exists() || node.field("time").exists();
    if wants_zone {
        // The doctors' rows bring their profiles (and so their zones) along.
        ids.extend(rows.iter().map(|a| a.doctor_id));
    }
    let mut users = HashMap::new();
    if !ids.is_empty() {
        users = loaders.load_many(ids.iter().copied().map(UserById)).await?;
        loaders
            .feed_many(users.values().filter_map(|u| u.doctor_profile.clone().map(|p| (DoctorProfileOf(u.user.id), p))))
            .await;
        let keys: Vec<_> = users.values().map(|u| (u.user.id, u.user.role)).collect();
        if doctor.exists() {
            prefetch_users(ctx, doctor, &keys).await?;
        }
        if patient.exists() {
            prefetch_users(ctx, patient, &keys).await?;
        }
    }
    if node.field("history").exists() {
        loaders.load_many(rows.iter().map(|a| HistoryOf(a.id))).await?;
    }
    Ok(users)
}

#[derive(Default)]
pub struct AppointmentsMutation;

#[Object]
impl AppointmentsMutation {
    /// Books an appointment: a patient with `doctorId`, a doctor with `patientId`, an admin with both.
    async fn create_appointment(&self, ctx: &Context<'_>, input: CreateAppointmentInput) -> AppResult<Appointment> {
        let viewer = ctx.viewer().await?;
        let new = NewAppointment {
            doctor_id: input.doctor_id,
            patient_id: input.patient_id,
            starts_at: input.starts_at.0,
            reason_for_visit: input.reason_for_visit,
        };
        Ok(appointments::create(ctx.state()?, &viewer, new).await?.into())
    }

    /// `PENDING → CONFIRMED` (doctor, admin).
    async fn confirm_appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Appointment> {
        transition(ctx, id, Transition::Confirm, None).await
    }

    /// Moves an active appointment; every booking check runs again.
    async fn reschedule_appointment(&self, ctx: &Context<'_>, id: Uuid, starts_at: DateTime) -> AppResult<Appointment> {
        let viewer = ctx.viewer().await?;
        Ok(appointments::reschedule(ctx.state()?, &viewer, id, starts_at.0).await?.into())
    }

    /// `PENDING|CONFIRMED → CANCELLED` (either party, admin).
    async fn cancel_appointment(&self, ctx: &Context<'_>, id: Uuid, reason: Option<String>) -> AppResult<Appointment> {
        transition(ctx, id, Transition::Cancel, reason).await
    }

    /// `CONFIRMED → COMPLETED` once it has started (doctor, admin).
    async fn complete_appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Appointment> {
        transition(ctx, id, Transition::Complete, None).await
    }

    /// `CONFIRMED → NO_SHOW` once it has started (doctor, admin).
    async fn mark_no_show(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Appointment> {
        transition(ctx, id, Transition::NoShow, None).await
    }
}

async fn transition(ctx: &Context<'_>, id: Uuid, what: Transition, reason: Option<String>) -> AppResult<Appointment> {
    let viewer = ctx.viewer().await?;
    Ok(appointments::transition(ctx.state()?, &viewer, id, what, reason).await?.into())
}

#[derive(Default)]
pub struct AppointmentsSubscription;

// Named `Subscription`, as the contract names the three roots (not after this struct).
#[Subscription(name = "Subscription")]
impl AppointmentsSubscription {
    /// Every event of the viewer's own appointments (admins: all), as it happens. When events may
    /// have been missed, the stream ends with one `EVENTS_MISSED` error: fetch again, then
    /// subscribe again.
    //
    // Missed: this subscriber fell more than `events::EVENT_BUFFER` behind, the PostgreSQL
    // listener reconnected (`Heard::Gap`), or an event could not be read.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn appointment_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<AppointmentEvent, AppError>> + use<>, AppError> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?.clone();
        let rx = state.events.subscribe();
        // The state is `None` once the stream has reported missed events: it then ends.
        let stream = stream::unfold(Some((rx, state, viewer)), |following| async move {
            let (mut rx, state, viewer) = following?;
            let missed = Some((Err(AppError::EventsMissed), None));
            loop {
                let notice: EventNotice = match rx.recv().await {
                    Ok(Heard::Notice(n)) => n,
                    Ok(Heard::Gap) => return missed,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(dropped)) => {
                        tracing::warn!(dropped, "a subscriber fell behind; its subscription ends with EVENTS_MISSED");
                        return missed;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                let mine = viewer.is_admin() || notice.doctor_id == viewer.id() || notice.patient_id == viewer.id();
                if !mine {
                    continue;
                }
                // A login revoked (or a user deactivated) since the subscription began ends it.
                if !crate::auth::viewer::still_valid(&state, &viewer).await {
                    return None;
                }
                match appointments::event_by_id(&state, notice.event_id).await {
                    Ok(Some(ev)) => return Some((Ok(AppointmentEvent(ev)), Some((rx, state, viewer)))),
                    Ok(None) => continue,
                    Err(e) => {
                        // Internal errors carry a database error's kind and code only.
                        tracing::warn!(error = ?e, "could not read an event for a subscriber");
                        return missed;
                    }
                }
            }
        });
        Ok(stream)
    }
}
