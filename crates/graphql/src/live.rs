//! Live appointment events for WebSocket subscribers, and the WebSocket limits per user.
//!
//! One feed per process takes the event notices ([`cybermed_core::events::EventHub`]) and, for each notice
//! some subscription here wants, reads the event once with its appointment and people (one
//! statement), checks every interested subscriber's login in the login cache (one statement for
//! those it does not hold), writes the `patient.read` entries of all of them in one insert, and
//! fans the loaded rows out: a subscriber resolves its usual selection from them without asking the
//! database. Subscriptions hold no database connection while they wait, and everything the
//! fan-out asks of the database (the feed, and what unusual selections of subscribers load) goes
//! through one semaphore smaller than the pool ([`fan_out_permits`]), so that requests always find
//! a connection, however many subscriptions there are.
//!
//! The feed runs only while some subscription is open: the first starts it, and it stops once the
//! last one ends.
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, broadcast::error::RecvError};
use uuid::Uuid;

use cybermed_core::{
    Core,
    auth::viewer::Viewer,
    db::entities::{appointment, appointment_event, session, user},
    domain::{
        Role, appointments, audit,
        privacy::{self, Looker},
    },
    events::{EVENT_BUFFER, EventNotice, Heard},
};

pub use cybermed_core::db::people::UserRow;

/// An event as its live subscribers receive it, read once for all of them.
pub struct EventRows {
    pub event: appointment_event::Model,
    pub appointment: Arc<appointment::Model>,
    pub doctor: Arc<UserRow>,
    pub patient: Arc<UserRow>,
    /// The actor's row when it is not one of the two people (and not a doctor, whose profile was
    /// not read with it).
    other_actor: Option<Arc<UserRow>>,
}

impl EventRows {
    fn new(e: appointments::EventWithParties) -> Self {
        let (doctor, profile) = e.doctor;
        let doctor = Arc::new(UserRow { user: Arc::new(doctor), doctor_profile: profile.map(Arc::new) });
        let patient = Arc::new(UserRow { user: Arc::new(e.patient), doctor_profile: None });
        let other_actor = e
            .actor
            .filter(|a| a.id != doctor.user.id && a.id != patient.user.id && a.role != Role::Doctor)
            .map(|a| Arc::new(UserRow { user: Arc::new(a), doctor_profile: None }));
        Self { event: e.event, appointment: Arc::new(e.appointment), doctor, patient, other_actor }
    }

    /// A person of the event (either party, or the actor), as the `UserById` loader gives it.
    pub fn user(&self, id: Uuid) -> Option<&Arc<UserRow>> {
        [Some(&self.doctor), Some(&self.patient), self.other_actor.as_ref()]
            .into_iter()
            .flatten()
            .find(|u| u.user.id == id)
    }

    /// Whether the two are this appointment's doctor and patient (either way round): they share
    /// an appointment.
    pub fn shares(&self, a: Uuid, b: Uuid) -> bool {
        let (d, p) = (self.doctor.user.id, self.patient.user.id);
        (a, b) == (d, p) || (a, b) == (p, d)
    }
}

/// Which patients' private fields a subscription's selection reads, as its look-ahead tells.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrivateSelection {
    /// Under `appointment { patient { … } }`.
    pub patient: bool,
    /// Under `actor { … }` (a patient's, when the patient acted).
    pub actor: bool,
}

impl PrivateSelection {
    /// Whether the selection under `user` reads a private field ([`privacy::PRIVATE_FIELDS`]):
    /// reading one of a patient's is audited.
    pub fn reads(user: &async_graphql::Lookahead<'_>) -> bool {
        privacy::PRIVATE_FIELDS.iter().any(|f| user.field(f.graphql()).exists())
    }
}

/// One open subscription, as the feed knows it.
pub struct Registration {
    id: u64,
    user_id: Uuid,
    role: Role,
    session_id: Uuid,
    /// When the socket's access token expires (the login ends then).
    valid_until: DateTime<Utc>,
    /// The operation's request id, for its audit entries.
    request_id: String,
    reads: PrivateSelection,
    /// Patients whose `patient.read` this operation has recorded (one per patient per operation).
    audited: Mutex<HashSet<Uuid>>,
    gate: Arc<Semaphore>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registration {
    fn looker(&self) -> Looker {
        Looker { id: self.user_id, role: self.role }
    }

    /// Whether this subscriber may see the event's appointment ([`privacy::appointment_part`]).
    fn wants(&self, n: &EventNotice) -> bool {
        privacy::appointment_part(self.looker(), n).is_some()
    }

    /// Whether the login still holds, role included (a demoted admin's stream must not keep
    /// receiving every patient's events).
    fn judge(&self, s: &session::Model, u: &user::Model, now: DateTime<Utc>) -> Verdict {
        let holds = s.user_id == self.user_id
            && s.revoked_at.is_none()
            && s.expires_at > now
            && now < self.valid_until
            && u.is_active
            && u.role == self.role;
        if holds { Verdict::Deliver } else { Verdict::Ended }
    }

    /// The patient whose private fields this subscription reads in `rows` and must audit, if any.
    fn audited_read(&self, rows: &EventRows) -> Option<Uuid> {
        let patient = &rows.patient.user;
        let reads = self.reads.patient || (self.reads.actor && rows.event.actor_id == Some(patient.id));
        if !reads {
            return None;
        }
        privacy::access_given(Some(self.looker()), patient, true).audited_read(self.user_id, patient).map(|(_, p)| p)
    }

    /// Whether this operation recorded a read of `patient` already.
    pub fn has_audited(&self, patient: Uuid) -> bool {
        locked(&self.audited).contains(&patient)
    }

    /// Notes that this operation's read of `patient` is recorded.
    pub fn audited(&self, patient: Uuid) {
        locked(&self.audited).insert(patient);
    }

    /// A share of the fan-out's database work, for a read this subscription makes itself (`None`
    /// only if the semaphore were closed, which it never is).
    pub async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        self.gate.clone().acquire_owned().await.ok()
    }
}

/// What the feed decided for one subscriber of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Deliver,
    /// The login ended: the subscription ends.
    Ended,
    /// The event could not be read (or the login not checked): it ends with `EVENTS_MISSED`.
    Missed,
}

/// One event for the subscribers it concerns.
struct Delivery {
    rows: Option<Arc<EventRows>>,
    to: HashMap<u64, Verdict>,
}

#[derive(Clone)]
enum Fanned {
    Event(Arc<Delivery>),
    /// Notices may have been lost (see [`Heard::Gap`]), or the feed fell behind: every
    /// subscription ends with `EVENTS_MISSED`.
    Gap,
}

/// What a subscription hears next.
pub enum Next {
    Event(Arc<EventRows>),
    /// Its login ended: it ends.
    Ended,
    /// Events may have been missed: it ends with `EVENTS_MISSED`.
    Missed,
}

struct Registry {
    subs: HashMap<u64, Arc<Registration>>,
    /// Whether the feed task runs.
    feeding: bool,
}

struct Inner {
    registry: Mutex<Registry>,
    deliveries: broadcast::Sender<Fanned>,
    /// Bounds the database work of the fan-out (see the module documentation).
    gate: Arc<Semaphore>,
    /// Woken when the last subscription ended: the feed stops.
    idle: Notify,
    next_id: AtomicU64,
    /// Open sockets by user.
    sockets: Mutex<HashMap<Uuid, u32>>,
}

/// The live events of this process, and its WebSocket counts. Cheap to clone.
#[derive(Clone)]
pub struct Live(Arc<Inner>);

/// How many database connections the fan-out may use at once: a quarter of the pool's (at least
/// one), so that requests always find one.
pub fn fan_out_permits(db: &DatabaseConnection) -> usize {
    let pool = match db.get_database_backend() {
        DbBackend::Postgres => db.get_postgres_connection_pool().options().get_max_connections(),
        _ => db.get_sqlite_connection_pool().options().get_max_connections(),
    };
    usize::try_from(pool / 4).unwrap_or(1).max(1)
}

impl Live {
    /// With `permits` database connections for the fan-out (see [`fan_out_permits`]).
    pub fn new(permits: usize) -> Self {
        let (deliveries, _) = broadcast::channel(EVENT_BUFFER);
        Self(Arc::new(Inner {
            registry: Mutex::new(Registry { subs: HashMap::new(), feeding: false }),
            deliveries,
            gate: Arc::new(Semaphore::new(permits.max(1))),
            idle: Notify::new(),
            next_id: AtomicU64::new(0),
            sockets: Mutex::new(HashMap::new()),
        }))
    }

    /// A place for one more open socket of `user`, held until the returned slot is dropped;
    /// `None` when the user holds `max` already.
    pub fn open_socket(&self, user: Uuid, max: u32) -> Option<SocketSlot> {
        let mut sockets = locked(&self.0.sockets);
        let open = sockets.entry(user).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(SocketSlot { live: self.0.clone(), user })
    }

    /// Follows the events `viewer` may see from now on (`request_id`: the subscription's
    /// operation; `valid_until`: when its login's token expires).
    pub fn subscribe(
        &self,
        state: &Core,
        viewer: &Viewer,
        request_id: String,
        reads: PrivateSelection,
        valid_until: DateTime<Utc>,
    ) -> Subscription {
        let reg = Arc::new(Registration {
            id: self.0.next_id.fetch_add(1, Ordering::Relaxed),
            user_id: viewer.id(),
            role: viewer.role(),
            session_id: viewer.session_id,
            valid_until,
            request_id,
            reads,
            audited: Mutex::default(),
            gate: self.0.gate.clone(),
        });
        let rx = self.0.deliveries.subscribe();
        let start = {
            let mut registry = locked(&self.0.registry);
            registry.subs.insert(reg.id, reg.clone());
            !std::mem::replace(&mut registry.feeding, true)
        };
        if start {
            // Listening before the task starts: no notice after this subscription is lost.
            let events = state.events.subscribe();
            tokio::spawn(feed(self.0.clone(), state.clone(), events));
        }
        Subscription { reg, rx, live: self.0.clone() }
    }
}

/// One open socket of a user (see [`Live::open_socket`]); its place is given back on drop,
/// however the socket ended.
pub struct SocketSlot {
    live: Arc<Inner>,
    user: Uuid,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut sockets = locked(&self.live.sockets);
        if let Some(open) = sockets.get_mut(&self.user) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                sockets.remove(&self.user);
            }
        }
    }
}

/// An open subscription: registered with the feed until dropped.
pub struct Subscription {
    reg: Arc<Registration>,
    rx: broadcast::Receiver<Fanned>,
    live: Arc<Inner>,
}

impl Subscription {
    pub fn registration(&self) -> &Arc<Registration> {
        &self.reg
    }

    /// The next event for this subscription, or why it ends.
    pub async fn next(&mut self) -> Next {
        loop {
            match self.rx.recv().await {
                Ok(Fanned::Event(d)) => match d.to.get(&self.reg.id) {
                    Some(Verdict::Deliver) => {
                        if let Some(rows) = &d.rows {
                            return Next::Event(rows.clone());
                        }
                    }
                    Some(Verdict::Ended) => return Next::Ended,
                    Some(Verdict::Missed) => return Next::Missed,
                    None => {}
                },
                Ok(Fanned::Gap) => return Next::Missed,
                Err(RecvError::Lagged(dropped)) => {
                    tracing::warn!(dropped, "a subscriber fell behind; its subscription ends with EVENTS_MISSED");
                    return Next::Missed;
                }
                Err(RecvError::Closed) => return Next::Ended,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut registry = locked(&self.live.registry);
        registry.subs.remove(&self.reg.id);
        if registry.subs.is_empty() {
            self.live.idle.notify_one();
        }
    }
}

/// The feed: runs while some subscription is open.
async fn feed(live: Arc<Inner>, state: Core, mut events: broadcast::Receiver<Heard>) {
    loop {
        let heard = tokio::select! {
            heard = events.recv() => heard,
            () = live.idle.notified() => {
                let mut registry = locked(&live.registry);
                if registry.subs.is_empty() {
                    registry.feeding = false;
                    return;
                }
                continue;
            }
        };
        let fanned = match heard {
            Ok(Heard::Notice(n)) => match deliver(&live, &state, n).await {
                Some(d) => Fanned::Event(Arc::new(d)),
                None => continue,
            },
            Ok(Heard::Gap) => Fanned::Gap,
            Err(RecvError::Lagged(dropped)) => {
                tracing::warn!(dropped, "the live event feed fell behind; open subscriptions end with EVENTS_MISSED");
                Fanned::Gap
            }
            Err(RecvError::Closed) => {
                locked(&live.registry).feeding = false;
                return;
            }
        };
        // No subscriber left is not an error.
        let _ = live.deliveries.send(fanned);
    }
}

/// What one notice becomes for the subscriptions that want it; `None` when none does (nothing is
/// read then) or the event is gone.
async fn deliver(live: &Inner, state: &Core, n: EventNotice) -> Option<Delivery> {
    let recipients: Vec<Arc<Registration>> =
        locked(&live.registry).subs.values().filter(|r| r.wants(&n)).cloned().collect();
    if recipients.is_empty() {
        return None;
    }
    let missed = |recipients: &[Arc<Registration>]| Delivery {
        rows: None,
        to: recipients.iter().map(|r| (r.id, Verdict::Missed)).collect(),
    };
    let Ok(_permit) = live.gate.acquire().await else { return Some(missed(&recipients)) };
    let rows = match appointments::event_with_parties(&state.reads, n.event_id).await {
        Ok(Some(e)) => Arc::new(EventRows::new(e)),
        Ok(None) => return None,
        Err(e) => {
            // Internal errors carry a database error's kind and code only.
            tracing::warn!(error = ?e, "could not read an event for its subscribers");
            return Some(missed(&recipients));
        }
    };
    let now = state.clock.now();
    let mut to = HashMap::with_capacity(recipients.len());
    let mut unknown = Vec::new();
    for r in &recipients {
        match state.sessions.get(r.session_id) {
            Some((s, u)) => {
                to.insert(r.id, r.judge(&s, &u, now));
            }
            None => unknown.push(r),
        }
    }
    if !unknown.is_empty() {
        let sids: Vec<Uuid> = unknown.iter().map(|r| r.session_id).collect::<HashSet<_>>().into_iter().collect();
        match cybermed_core::login::logins_now(state, &sids).await {
            Ok(found) => {
                for r in unknown {
                    let verdict = found.get(&r.session_id).map_or(Verdict::Ended, |(s, u)| r.judge(s, u, now));
                    to.insert(r.id, verdict);
                }
            }
            Err(e) => {
                tracing::warn!(error = ?e, "could not check the logins of an event's subscribers");
                for r in unknown {
                    to.insert(r.id, Verdict::Missed);
                }
            }
        }
    }
    let mut reads = Vec::new();
    let mut readers = Vec::new();
    for r in &recipients {
        if to.get(&r.id) != Some(&Verdict::Deliver) {
            continue;
        }
        if let Some(patient) = r.audited_read(&rows)
            && !r.has_audited(patient)
        {
            reads.push((r.user_id, patient, r.request_id.clone()));
            readers.push((r, patient));
        }
    }
    if !reads.is_empty() {
        match audit::record_reads(&state.writer, &reads, now).await {
            Ok(()) => {
                for (r, patient) in readers {
                    r.audited(patient);
                }
            }
            // Each subscriber then records its own read before the field is served.
            Err(e) => tracing::warn!(error = ?e, "could not record the reads of an event's subscribers"),
        }
    }
    Some(Delivery { rows: Some(rows), to })
}

/// What a WebSocket operation's loaders know of live events: once the operation is a
/// subscription, its registration and the event being resolved (whose rows answer the loaders).
#[derive(Default)]
pub struct LiveOperation {
    registration: OnceLock<Arc<Registration>>,
    event: Mutex<Option<Arc<EventRows>>>,
}

impl LiveOperation {
    /// The subscription this operation runs, if it is one.
    pub fn registration(&self) -> Option<&Arc<Registration>> {
        self.registration.get()
    }

    pub fn set_registration(&self, reg: Arc<Registration>) {
        let _ = self.registration.set(reg);
    }

    /// The event being resolved.
    pub fn event(&self) -> Option<Arc<EventRows>> {
        locked(&self.event).clone()
    }

    pub fn set_event(&self, rows: Arc<EventRows>) {
        *locked(&self.event) = Some(rows);
    }

    /// A share of the fan-out's database work when this operation is a subscription.
    pub async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        match self.registration.get() {
            Some(reg) => reg.permit().await,
            None => None,
        }
    }
}
