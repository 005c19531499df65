//! Appointments: booking, lifecycle, lists, history, and live events.
use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context, InputObject, Object, Subscription,
    futures_util::{Stream, stream},
};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    live::{EventRows, Next, PrivateSelection},
    loaders::{
        AppointmentById, DoctorProfileOf, HistoryOf, OccurrencesOf, SeriesById, SharesAppointment, UserById, UserRow,
        VisitTypeById, prefetch_users,
    },
    objects::User,
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::{self, Fast, FastList},
    scalars::{Date, DateTime, Id, Time},
    visit_types::VisitType,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    auth::viewer::Viewer,
    db::entities::{appointment, appointment_event, appointment_series, doctor_profile},
    domain::{
        appointments::{
            self, AppointmentCursor, AppointmentFilter as Filter, NewAppointment, Recurrence, Transition,
            UpcomingLimits,
        },
        privacy::{self, Existence, Looker},
        profiles::parse_time_zone,
    },
    error::{AppError, AppResult},
};

/// A booked time between a doctor and a patient.
pub struct Appointment {
    model: Arc<appointment::Model>,
    /// Its two people, when they were loaded with the page for a viewer allowed to see it.
    parties: Option<Parties>,
}

struct Parties {
    doctor: Arc<UserRow>,
    patient: Arc<UserRow>,
    looker: Looker,
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

fn local_start(
    a: &appointment::Model,
    profile: Option<&doctor_profile::Model>,
) -> AppResult<chrono::DateTime<chrono_tz::Tz>> {
    let tz = profile.map_or(Ok(chrono_tz::Tz::UTC), |p| parse_time_zone(&p.time_zone))?;
    Ok(a.starts_at.with_timezone(&tz))
}

impl Appointment {
    async fn local(&self, ctx: &Context<'_>) -> AppResult<chrono::DateTime<chrono_tz::Tz>> {
        let profile = match &self.parties {
            Some(parties) => parties.doctor.doctor_profile.clone(),
            None => ctx.load_one(DoctorProfileOf(self.model.doctor_id)).await?,
        };
        local_start(&self.model, profile.as_deref())
    }

    /// One of the two people: from the page, or loaded for the viewer.
    async fn party(&self, ctx: &Context<'_>, doctor: bool) -> AppResult<Fast<User>> {
        if let Some(p) = &self.parties {
            let row = if doctor { &p.doctor } else { &p.patient };
            return Ok(Fast(User::party_of_visible_appointment(row, p.looker)));
        }
        let viewer = ctx.viewer().await?;
        let id = if doctor { self.model.doctor_id } else { self.model.patient_id };
        let row = ctx
            .loaders()
            .await?
            .load_one(UserById(id))
            .await?
            .ok_or_else(|| AppError::internal("appointment party missing"))?;
        Ok(Fast(User::party_of_visible_appointment(&row, Looker::from(&*viewer))))
    }
}

#[Object]
impl Appointment {
    async fn id(&self) -> Id {
        Id(self.model.id)
    }
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        self.party(ctx, true).await
    }
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        self.party(ctx, false).await
    }
    async fn starts_at(&self) -> DateTime {
        self.model.starts_at.into()
    }
    async fn ends_at(&self) -> DateTime {
        self.model.ends_at.into()
    }
    /// Local date in the doctor's time zone.
    async fn date(&self, ctx: &Context<'_>) -> AppResult<Date> {
        Ok(self.local(ctx).await?.date_naive().into())
    }
    /// Local time in the doctor's time zone.
    async fn time(&self, ctx: &Context<'_>) -> AppResult<Time> {
        Ok(self.local(ctx).await?.time().into())
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
    /// The visit type it was booked with (null when booked without one); it kept that type's
    /// length, buffers and policy as they were then.
    async fn visit_type(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<VisitType>>> {
        let Some(id) = self.model.visit_type_id else { return Ok(None) };
        Ok(ctx.load_one(VisitTypeById(id)).await?.map(|t| Fast(VisitType(t))))
    }
    /// Cancelled (by anyone) less than `LATE_CANCEL_HOURS` before `startsAt`.
    async fn late_cancellation(&self, ctx: &Context<'_>) -> AppResult<bool> {
        let hours = ctx.state()?.config.late_cancel_hours;
        Ok(appointments::is_late_cancellation(&self.model, hours))
    }
    /// Every change, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> AppResult<FastList<AppointmentEvent>> {
        let events = ctx.load_one(HistoryOf(self.model.id)).await?.unwrap_or_default();
        Ok(FastList(events.iter().cloned().map(AppointmentEvent::from).collect()))
    }
    /// The recurring series it belongs to (null for a single appointment).
    async fn series(&self, ctx: &Context<'_>) -> AppResult<Option<Fast<AppointmentSeries>>> {
        let Some(id) = self.model.series_id else { return Ok(None) };
        Ok(ctx.load_one(SeriesById(id)).await?.map(|s| Fast(AppointmentSeries(s))))
    }
    /// Its 1-based position in its series (null for a single appointment).
    async fn occurrence(&self) -> Option<i32> {
        self.model.occurrence
    }
}

crate::plain_object!(Appointment {
    plain: [
        "id",
        "doctor",
        "patient",
        "startsAt",
        "endsAt",
        "date",
        "time",
        "reasonForVisit",
        "status",
        "cancellationReason",
        "createdAt",
        "updatedAt",
        "lateCancellation",
        "occurrence",
    ],
    waits: ["history", "visitType", "series"],
});

/// A recurring series: `count` appointments `intervalWeeks` apart at the same local time, booked
/// together. Each occurrence is an ordinary appointment.
pub struct AppointmentSeries(Arc<appointment_series::Model>);

#[Object]
impl AppointmentSeries {
    async fn id(&self) -> Id {
        Id(self.0.id)
    }
    async fn interval_weeks(&self) -> i32 {
        self.0.interval_weeks
    }
    async fn count(&self) -> i32 {
        self.0.count
    }
    /// Its occurrences the viewer may see, in occurrence order (a cancelled or moved one stays).
    async fn appointments(&self, ctx: &Context<'_>) -> AppResult<FastList<Appointment>> {
        let viewer = ctx.viewer().await?;
        let looker = Looker::from(&*viewer);
        let rows = ctx.load_one(OccurrencesOf(self.0.id)).await?.unwrap_or_default();
        let visible: Vec<Arc<appointment::Model>> = rows
            .iter()
            .filter(|a| privacy::appointment_part(looker, *a).is_some())
            .map(|a| Arc::new(a.clone()))
            .collect();
        let users = prefetch_appointments(ctx, &[ctx.look_ahead()], &visible).await?;
        Ok(FastList(visible.into_iter().map(|a| with_parties(a, &users, looker)).collect()))
    }
}

crate::plain_object!(AppointmentSeries { plain: ["id", "intervalWeeks", "count"], waits: ["appointments"] });

/// One change of an appointment; a live one comes with its appointment and people, read once for
/// all its subscribers.
pub struct AppointmentEvent(appointment_event::Model, Option<Arc<EventRows>>);

impl From<appointment_event::Model> for AppointmentEvent {
    fn from(m: appointment_event::Model) -> Self {
        Self(m, None)
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
    /// Who did it; null when done by the system, or when the viewer may not see that user.
    //
    // "May not see": the rule of `user(id)` (a patient never sees the admin who acted).
    // The one resolver of the page, of `appointment(id).history` and of the subscription's
    // events. Whether the viewer may know the actor exists is `privacy::existence`'s answer;
    // the one lookup it may need (does a doctor share an appointment with this patient) goes
    // through the DataLoader, which a page of appointments has already primed for its parties.
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = self.0.actor_id else { return Ok(None) };
        let Some(row) = ctx.load_one(UserById(id)).await? else { return Ok(None) };
        let viewer = ctx.viewer().await?;
        let known = match privacy::existence(Looker::from(&*viewer), &row.user) {
            Existence::Visible => true,
            Existence::IfSharingAnAppointment => {
                ctx.load_one(SharesAppointment(viewer.id(), id)).await?.unwrap_or(false)
            }
            Existence::Hidden => false,
        };
        Ok(known.then(|| User::from_row(&row)))
    }
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
    async fn appointment(&self, ctx: &Context<'_>) -> AppResult<Appointment> {
        if let Some(rows) = &self.1 {
            // A subscriber sees only appointments they are a party of (admins: all).
            let looker = Looker::from(&*ctx.viewer().await?);
            let parties = Parties { doctor: rows.doctor.clone(), patient: rows.patient.clone(), looker };
            return Ok(Appointment { model: rows.appointment.clone(), parties: Some(parties) });
        }
        let appt = ctx
            .loaders()
            .await?
            .load_one(AppointmentById(self.0.appointment_id))
            .await?
            .ok_or(AppError::NotFound("Appointment"))?;
        Ok(Appointment::from(appt))
    }
}

// Its people and appointment are loaded, so an event is answered the usual way; as a `Fast`
// object its keys come back in the selection's order.
crate::plain_object!(AppointmentEvent { plain: ["kind", "status", "startsAt", "at"], waits: ["actor", "appointment"] });

#[derive(InputObject)]
pub struct CreateAppointmentInput {
    pub doctor_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub starts_at: DateTime,
    pub reason_for_visit: String,
    /// Length, buffers and policy of that type; absent: the doctor's `slotMinutes`, no buffers, no
    /// policy.
    pub visit_type_id: Option<Uuid>,
    /// Book the time a live hold of this patient keeps (and consume the hold): the doctor, the
    /// patient and the visit type default to the hold's and must match it when given, as
    /// `startsAt` must.
    pub hold_id: Option<Uuid>,
}

impl From<CreateAppointmentInput> for NewAppointment {
    fn from(input: CreateAppointmentInput) -> Self {
        Self {
            doctor_id: input.doctor_id,
            patient_id: input.patient_id,
            starts_at: input.starts_at.0,
            reason_for_visit: input.reason_for_visit,
            visit_type_id: input.visit_type_id,
            hold_id: input.hold_id,
            ends_at: None,
        }
    }
}

/// How a series repeats: every `intervalWeeks` weeks (1..=4), `count` times (2..=26).
#[derive(InputObject)]
pub struct RecurrenceInput {
    /// Weeks between occurrences (null: 1).
    #[graphql(default_with = "Some(1)")]
    pub interval_weeks: Option<i32>,
    pub count: i32,
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

/// `totalCount` of an appointment list: counted by the page's own statement when the selection
/// asks for it.
pub enum AppointmentListTotal {
    Counted(u64),
    /// Not in the selection as the page was loaded (e.g. behind a fragment's condition).
    Later(Arc<Viewer>, Filter),
}

#[Object]
impl AppointmentListTotal {
    /// How many appointments match the filter, on all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        let n = match self {
            Self::Counted(n) => *n,
            Self::Later(viewer, filter) => {
                plain::not_probing().await;
                Box::pin(appointments::count(ctx.state()?, viewer, filter)).await?
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

crate::plain_object!(AppointmentListTotal { plain: ["totalCount"], waits: [] });

pub type AppointmentConnection = Page<AppointmentCursor, Appointment, AppointmentListTotal>;

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
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let (page, total) =
            appointments::list_counted(state, &viewer, &filter, cursor, limit, with_total, false).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        let nodes = ctx.look_ahead().field("nodes");
        // Shared from here on: the loaders keep the same rows the page shows, not copies.
        let page = page.map(Arc::new);
        let rows: Vec<_> = page.rows().cloned().collect();
        let users = prefetch_appointments(ctx, &[node, nodes], &rows).await?;
        let looker = Looker::from(&*viewer);
        let total = match total {
            Some(n) => AppointmentListTotal::Counted(n),
            None => AppointmentListTotal::Later(viewer, filter),
        };
        Ok(Fast(Page::of(page.map(|a| with_parties(a, &users, looker)), total)))
    }

    /// One appointment of the viewer's (admins: any); someone else's is `NOT_FOUND`.
    async fn appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Fast<Appointment>>> {
        let viewer = ctx.viewer().await?;
        let appt = appointments::get(ctx.state()?, &viewer, id).await?;
        let appt = Arc::new(appt);
        let users = prefetch_appointments(ctx, &[ctx.look_ahead()], std::slice::from_ref(&appt)).await?;
        Ok(Some(Fast(with_parties(appt, &users, Looker::from(&*viewer)))))
    }
}

/// The appointment with its two people when both were loaded.
fn with_parties(a: Arc<appointment::Model>, users: &HashMap<UserById, Arc<UserRow>>, looker: Looker) -> Appointment {
    let parties = match (users.get(&UserById(a.doctor_id)), users.get(&UserById(a.patient_id))) {
        (Some(doctor), Some(patient)) => Some(Parties { doctor: doctor.clone(), patient: patient.clone(), looker }),
        _ => None,
    };
    Appointment { model: a, parties }
}

/// Loads up front, one query per kind, what the selections (`nodes`: where appointments appear
/// in it) will ask of a page of appointments; and records that the viewer shares each of them
/// with its other party (no query needed). Returns the people it loaded.
async fn prefetch_appointments(
    ctx: &Context<'_>,
    nodes: &[async_graphql::Lookahead<'_>],
    rows: &[Arc<appointment::Model>],
) -> AppResult<HashMap<UserById, Arc<UserRow>>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let loaders = ctx.loaders().await?;
    loaders
        .feed_many(rows.iter().flat_map(|a| {
            [(SharesAppointment(a.doctor_id, a.patient_id), true), (SharesAppointment(a.patient_id, a.doctor_id), true)]
        }))
        .await;
    loaders.feed_many(rows.iter().map(|a| (AppointmentById(a.id), a.clone()))).await;
    let any = |f: &dyn Fn(&async_graphql::Lookahead<'_>) -> bool| nodes.iter().any(f);
    let wants_people = any(&|n| {
        n.field("doctor").exists()
            || n.field("patient").exists()
            || n.field("date").exists()
            || n.field("time").exists()
    });
    let mut users = HashMap::new();
    if wants_people {
        // Both people of every appointment, whichever is selected, in one statement: an
        // appointment whose two people are in hand is answered on the plain path. The doctors'
        // rows bring their profiles (and so their zones) along.
        users = loaders.load_many(rows.iter().flat_map(|a| [UserById(a.doctor_id), UserById(a.patient_id)])).await?;
        loaders
            .feed_many(users.values().filter_map(|u| u.doctor_profile.clone().map(|p| (DoctorProfileOf(u.user.id), p))))
            .await;
        let keys: Vec<_> = users.values().map(|u| (u.user.id, u.user.role)).collect();
        for node in nodes {
            for person in [node.field("doctor"), node.field("patient")] {
                if person.exists() {
                    prefetch_users(ctx, person, &keys).await?;
                }
            }
        }
    }
    if any(&|n| n.field("history").exists()) {
        loaders.load_many(rows.iter().map(|a| HistoryOf(a.id))).await?;
    }
    if any(&|n| n.field("series").exists()) {
        let series: Vec<_> = rows.iter().filter_map(|a| a.series_id.map(SeriesById)).collect();
        if !series.is_empty() {
            loaders.load_many(series).await?;
        }
    }
    Ok(users)
}

#[derive(Default)]
pub struct AppointmentsMutation;

#[Object]
impl AppointmentsMutation {
    /// Books an appointment: a patient with `doctorId`, a doctor with `patientId`, an admin with both;
    /// or, with `holdId`, the time a hold keeps.
    async fn create_appointment(
        &self,
        ctx: &Context<'_>,
        input: CreateAppointmentInput,
    ) -> AppResult<Fast<Appointment>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let appt = appointments::create(state, &viewer, input.into(), UpcomingLimits::from(&*state.config)).await?;
        answer(ctx, &viewer, appt).await
    }

    /// `PENDING → CONFIRMED` (doctor, admin).
    async fn confirm_appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<Appointment>> {
        transition(ctx, id, Transition::Confirm, None).await
    }

    /// Moves an active appointment; every booking check runs again.
    async fn reschedule_appointment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        starts_at: DateTime,
    ) -> AppResult<Fast<Appointment>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let limits = UpcomingLimits::from(&*state.config);
        let appt = appointments::reschedule(state, &viewer, id, starts_at.0, limits).await?;
        answer(ctx, &viewer, appt).await
    }

    /// `PENDING|CONFIRMED → CANCELLED` (either party, admin).
    async fn cancel_appointment(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        reason: Option<String>,
    ) -> AppResult<Fast<Appointment>> {
        transition(ctx, id, Transition::Cancel, reason).await
    }

    /// `CONFIRMED → COMPLETED` once it has started (doctor, admin).
    async fn complete_appointment(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<Appointment>> {
        transition(ctx, id, Transition::Complete, None).await
    }

    /// `CONFIRMED → NO_SHOW` once it has started (doctor, admin).
    async fn mark_no_show(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Fast<Appointment>> {
        transition(ctx, id, Transition::NoShow, None).await
    }
}

/// Recurring series: booked all or none, cancelled from one occurrence on. Single occurrences
/// are moved and cancelled with the appointment mutations.
#[derive(Default)]
pub struct SeriesMutation;

#[Object]
impl SeriesMutation {
    /// Books `recurrence.count` appointments `recurrence.intervalWeeks` weeks apart at the local
    /// time of `input.startsAt` in the doctor's zone, each checked as `createAppointment` would;
    /// all or none (the error of a failing occurrence names it in `extensions.occurrence` and
    /// `extensions.startsAt`).
    async fn create_appointment_series(
        &self,
        ctx: &Context<'_>,
        input: CreateAppointmentInput,
        recurrence: RecurrenceInput,
    ) -> AppResult<Fast<AppointmentSeries>> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        let recurrence = Recurrence { interval_weeks: recurrence.interval_weeks.unwrap_or(1), count: recurrence.count };
        let limits = UpcomingLimits::from(&*state.config);
        let series = appointments::create_series(state, &viewer, input.into(), recurrence, limits).await?;
        Ok(Fast(AppointmentSeries(Arc::new(series))))
    }

    /// Cancels the active occurrences numbered `fromOccurrence` and later, each as
    /// `cancelAppointment` would (a patient's cutoff leaves those inside it as they are).
    async fn cancel_appointment_series(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default_with = "Some(1)")] from_occurrence: Option<i32>,
        reason: Option<String>,
    ) -> AppResult<Fast<AppointmentSeries>> {
        let viewer = ctx.viewer().await?;
        let from = from_occurrence.unwrap_or(1);
        let series = appointments::cancel_series(ctx.state()?, &viewer, id, from, reason).await?;
        Ok(Fast(AppointmentSeries(Arc::new(series))))
    }
}

async fn transition(
    ctx: &Context<'_>,
    id: Uuid,
    what: Transition,
    reason: Option<String>,
) -> AppResult<Fast<Appointment>> {
    let viewer = ctx.viewer().await?;
    let appt = appointments::transition(ctx.state()?, &viewer, id, what, reason).await?;
    answer(ctx, &viewer, appt).await
}

/// A changed appointment as a mutation answers it: what the selection asks of it loaded up front
/// (its people in one statement, its history in one), then answered in place like a page's.
pub(crate) async fn answer(
    ctx: &Context<'_>,
    viewer: &Viewer,
    appt: appointment::Model,
) -> AppResult<Fast<Appointment>> {
    let appt = Arc::new(appt);
    let users = prefetch_appointments(ctx, &[ctx.look_ahead()], std::slice::from_ref(&appt)).await?;
    Ok(Fast(with_parties(appt, &users, Looker::from(viewer))))
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
    // listener reconnected (`Heard::Gap`), or an event could not be read. Each event is read once
    // for all subscribers of this process, with its appointment and people (`graphql::live`):
    // the usual selections resolve from those rows, and the login is checked by the feed.
    #[graphql(guard = "RoleGuard::signed_in()")]
    async fn appointment_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Fast<AppointmentEvent>>> + use<>, AppError> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?.clone();
        let op = ctx.data_opt::<super::loaders::Loaders>().and_then(|l| {
            // A subscription lives long: it loads fresh for every event.
            l.enable_all_cache(false);
            l.loader().live_operation().cloned()
        });
        let selection = ctx.look_ahead();
        let reads = PrivateSelection {
            patient: PrivateSelection::reads(&selection.field("appointment").field("patient")),
            actor: PrivateSelection::reads(&selection.field("actor")),
        };
        let valid_until = ctx
            .data_opt::<Arc<cybermed_core::login::SocketLogin>>()
            .map_or(chrono::DateTime::<chrono::Utc>::MAX_UTC, |l| l.valid_until());
        let request_id = cybermed_core::domain::audit::current_request_id();
        let sub = state.live.subscribe(&state.core, &viewer, request_id, reads, valid_until);
        if let Some(op) = &op {
            op.set_registration(sub.registration().clone());
        }
        // The state is `None` once the stream has reported missed events: it then ends.
        let stream = stream::unfold(Some((sub, op)), |following| async move {
            let (mut sub, op) = following?;
            match sub.next().await {
                Next::Event(rows) => {
                    if let Some(op) = &op {
                        op.set_event(rows.clone());
                    }
                    let event = AppointmentEvent(rows.event.clone(), Some(rows));
                    Some((Ok(Fast(event)), Some((sub, op))))
                }
                // A login revoked (or a user deactivated, or demoted) since the subscription
                // began ends it.
                Next::Ended => None,
                Next::Missed => Some((Err(crate::errors::events_missed()), None)),
            }
        });
        Ok(stream)
    }
}
