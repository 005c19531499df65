//! DataLoaders: nested fields of a page of N items cost one query per kind, not N.
//!
//! One loader per request (its cache must not outlive the viewer's permissions), fed by the
//! batch functions of the domain layer.
use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context,
    dataloader::{DataLoader, HashMapCache, Loader},
};
use uuid::Uuid;

pub use super::live::UserRow;
use super::live::{EventRows, LiveOperation};
use crate::AppState;
use cybermed_core::{
    db::entities::{
        appointment, appointment_event, appointment_series, doctor_profile, patient_profile, time_off, visit_type,
        webhook_endpoint,
    },
    domain::{Role, accounts, appointments, profiles, schedule, visit_types, webhooks},
    error::{AppError, AppResult},
};

/// The per-request loader, caching what it loaded for the rest of the request.
pub type Loaders = DataLoader<DbLoader, HashMapCache>;

/// Builds the loader of one request.
pub fn for_request(state: &AppState) -> Loaders {
    DataLoader::with_cache(DbLoader { state: state.clone(), live: None }, tokio::spawn, HashMapCache::default())
}

/// Builds the loader of one WebSocket operation. A subscription turns its cache off (it lives
/// long: it loads fresh for every event) and answers from the rows of the event it resolves
/// ([`LiveOperation`]); what it still loads shares the fan-out's bound on database work.
pub fn for_socket_operation(state: &AppState) -> Loaders {
    let loader = DbLoader { state: state.clone(), live: Some(Arc::new(LiveOperation::default())) };
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

/// Loads, in one batch per kind, what the selection under `node` will ask of these users.
///
/// Batching by delay alone can split a large page into several batches when resolving it takes
/// longer than the delay; loading up front makes a page's query count independent of its size.
///
/// Returns the doctor profiles it loaded (when the selection asks for them), by doctor; a doctor
/// without one is absent.
///
/// # Errors
/// Internal only.
pub async fn prefetch_users(
    ctx: &Context<'_>,
    node: async_graphql::Lookahead<'_>,
    users: &[(Uuid, Role)],
) -> AppResult<Option<HashMap<DoctorProfileOf, Arc<doctor_profile::Model>>>> {
    let loaders = super::ContextExt::loaders(ctx).await?;
    let doctors: Vec<Uuid> = users.iter().filter(|(_, r)| *r == Role::Doctor).map(|(id, _)| *id).collect();
    let patients: Vec<Uuid> = users.iter().filter(|(_, r)| *r == Role::Patient).map(|(id, _)| *id).collect();
    let doctor_profile = node.field("doctorProfile");
    let mut profiles = None;
    if doctor_profile.exists() && !doctors.is_empty() {
        profiles = Some(loaders.load_many(doctors.iter().copied().map(DoctorProfileOf)).await?);
        if doctor_profile.field("availability").exists() {
            loaders.load_many(doctors.iter().copied().map(AvailabilityOf)).await?;
        }
    }
    if node.field("patientProfile").exists() && !patients.is_empty() {
        loaders.load_many(patients.iter().copied().map(PatientProfileOf)).await?;
    }
    Ok(profiles)
}

/// Loads rows by key in batches.
pub struct DbLoader {
    state: AppState,
    /// On a WebSocket operation: what it knows of live events.
    live: Option<Arc<LiveOperation>>,
}

impl DbLoader {
    /// On a WebSocket operation: what it knows of live events.
    pub fn live_operation(&self) -> Option<&Arc<LiveOperation>> {
        self.live.as_ref()
    }

    /// The values of `keys` the event being resolved answers, and the keys left to load. `find`
    /// says what the rows know of a key: nothing (`None`), or its value (`Some(None)`: it has none).
    fn preloaded<K: Copy + Eq + std::hash::Hash, V>(
        &self,
        keys: &[K],
        find: impl Fn(&EventRows, K) -> Option<Option<V>>,
    ) -> (HashMap<K, V>, Vec<K>) {
        let Some(rows) = self.live.as_ref().and_then(|l| l.event()) else { return (HashMap::new(), keys.to_vec()) };
        let mut found = HashMap::new();
        let mut rest = Vec::new();
        for k in keys {
            match find(&rows, *k) {
                Some(Some(v)) => {
                    found.insert(*k, v);
                }
                Some(None) => {}
                None => rest.push(*k),
            }
        }
        (found, rest)
    }

    /// A share of the fan-out's database work, when this loader serves a subscription.
    async fn permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match &self.live {
            Some(live) => live.permit().await,
            None => None,
        }
    }
}

/// A doctor's profile, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DoctorProfileOf(pub Uuid);

/// A patient's profile, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PatientProfileOf(pub Uuid);

/// A doctor's weekly availability, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AvailabilityOf(pub Uuid);

/// A doctor's time off that has not ended, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpcomingTimeOffOf(pub Uuid);

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

impl Loader<DoctorProfileOf> for DbLoader {
    type Value = Arc<doctor_profile::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[DoctorProfileOf]) -> Result<HashMap<DoctorProfileOf, Self::Value>, AppError> {
        let (mut out, rest) =
            self.preloaded(keys, |rows, k| (rows.doctor.user.id == k.0).then(|| rows.doctor.doctor_profile.clone()));
        if rest.is_empty() {
            return Ok(out);
        }
        let _permit = self.permit().await;
        let rows = profiles::doctor_profiles_of(&self.state.reads, &ids(&rest, |k| k.0)).await?;
        out.extend(rows.into_iter().map(|(id, p)| (DoctorProfileOf(id), Arc::new(p))));
        Ok(out)
    }
}

impl Loader<PatientProfileOf> for DbLoader {
    type Value = Arc<patient_profile::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[PatientProfileOf]) -> Result<HashMap<PatientProfileOf, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let rows = profiles::patient_profiles_of(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|(id, p)| (PatientProfileOf(id), Arc::new(p))).collect())
    }
}

impl Loader<AvailabilityOf> for DbLoader {
    type Value = Arc<Vec<schedule::Rule>>;
    type Error = AppError;

    async fn load(&self, keys: &[AvailabilityOf]) -> Result<HashMap<AvailabilityOf, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let mut rows = schedule::rules_of(&self.state.reads, &ids(keys, |k| k.0)).await?;
        // Every key gets an answer, so doctors without rules are not asked for again.
        Ok(keys.iter().map(|k| (*k, Arc::new(rows.remove(&k.0).unwrap_or_default()))).collect())
    }
}

impl Loader<UpcomingTimeOffOf> for DbLoader {
    type Value = Arc<Vec<time_off::Model>>;
    type Error = AppError;

    async fn load(&self, keys: &[UpcomingTimeOffOf]) -> Result<HashMap<UpcomingTimeOffOf, Self::Value>, AppError> {
        let now = self.state.clock.now();
        let _permit = self.permit().await;
        let mut rows = schedule::time_off_of(&self.state.reads, &ids(keys, |k| k.0), now).await?;
        Ok(keys.iter().map(|k| (*k, Arc::new(rows.remove(&k.0).unwrap_or_default()))).collect())
    }
}

/// A user, by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserById(pub Uuid);

/// An appointment, by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppointmentById(pub Uuid);

/// The history of an appointment, oldest first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub Uuid);

/// A visit type, by id (whoever may see it: a party always sees the type of their own appointment).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitTypeById(pub Uuid);

/// Whether the first user shares an appointment with the second (viewer, other).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharesAppointment(pub Uuid, pub Uuid);

impl Loader<UserById> for DbLoader {
    type Value = Arc<UserRow>;
    type Error = AppError;

    async fn load(&self, keys: &[UserById]) -> Result<HashMap<UserById, Self::Value>, AppError> {
        let (mut out, rest) = self.preloaded(keys, |rows, k| rows.user(k.0).map(|u| Some(u.clone())));
        if rest.is_empty() {
            return Ok(out);
        }
        // People pages show are kept by the process (see `db::people`): a page whose people were
        // seen reads none of them again.
        let people = &self.state.people;
        let generation = people.generation();
        let missing = people.take(rest.iter().map(|k| k.0), |row| {
            out.insert(UserById(row.user.id), row);
        });
        if missing.is_empty() {
            return Ok(out);
        }
        let _permit = self.permit().await;
        let rows = accounts::users_by_ids(&self.state.reads, &missing).await?;
        out.extend(people.keep(generation, rows.into_values()).into_iter().map(|row| (UserById(row.user.id), row)));
        Ok(out)
    }
}

impl Loader<AppointmentById> for DbLoader {
    type Value = Arc<appointment::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[AppointmentById]) -> Result<HashMap<AppointmentById, Self::Value>, AppError> {
        let (mut out, rest) =
            self.preloaded(keys, |rows, k| (rows.appointment.id == k.0).then(|| Some(rows.appointment.clone())));
        if rest.is_empty() {
            return Ok(out);
        }
        let _permit = self.permit().await;
        let rows = appointments::by_ids(&self.state.reads, &ids(&rest, |k| k.0)).await?;
        out.extend(rows.into_iter().map(|(id, a)| (AppointmentById(id), Arc::new(a))));
        Ok(out)
    }
}

/// A recurring series, by id (shown through an appointment the viewer sees: same two people).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesById(pub Uuid);

/// Every occurrence of a series, in occurrence order (the resolver keeps those the viewer sees).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OccurrencesOf(pub Uuid);

impl Loader<SeriesById> for DbLoader {
    type Value = Arc<appointment_series::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[SeriesById]) -> Result<HashMap<SeriesById, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let rows = appointments::series_by_ids(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|s| (SeriesById(s.id), Arc::new(s))).collect())
    }
}

impl Loader<OccurrencesOf> for DbLoader {
    type Value = Arc<Vec<appointment::Model>>;
    type Error = AppError;

    async fn load(&self, keys: &[OccurrencesOf]) -> Result<HashMap<OccurrencesOf, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let mut rows = appointments::occurrences_of(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(keys.iter().map(|k| (*k, Arc::new(rows.remove(&k.0).unwrap_or_default()))).collect())
    }
}

impl Loader<VisitTypeById> for DbLoader {
    type Value = Arc<visit_type::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[VisitTypeById]) -> Result<HashMap<VisitTypeById, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let rows = visit_types::by_ids(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|t| (VisitTypeById(t.id), Arc::new(t))).collect())
    }
}

/// A webhook endpoint, by id (admins only read them).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WebhookEndpointById(pub Uuid);

impl Loader<WebhookEndpointById> for DbLoader {
    type Value = Arc<webhook_endpoint::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[WebhookEndpointById]) -> Result<HashMap<WebhookEndpointById, Self::Value>, AppError> {
        let rows = webhooks::endpoints_by_ids(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|e| (WebhookEndpointById(e.id), Arc::new(e))).collect())
    }
}

impl Loader<HistoryOf> for DbLoader {
    type Value = Arc<Vec<appointment_event::Model>>;
    type Error = AppError;

    async fn load(&self, keys: &[HistoryOf]) -> Result<HashMap<HistoryOf, Self::Value>, AppError> {
        let _permit = self.permit().await;
        let mut rows = appointments::history_of(&self.state.reads, &ids(keys, |k| k.0)).await?;
        Ok(keys.iter().map(|k| (*k, Arc::new(rows.remove(&k.0).unwrap_or_default()))).collect())
    }
}

impl Loader<SharesAppointment> for DbLoader {
    type Value = bool;
    type Error = AppError;

    async fn load(&self, keys: &[SharesAppointment]) -> Result<HashMap<SharesAppointment, bool>, AppError> {
        let (mut out, rest) = self.preloaded(keys, |rows, k| rows.shares(k.0, k.1).then_some(Some(true)));
        if rest.is_empty() {
            return Ok(out);
        }
        let _permit = self.permit().await;
        let mut by_viewer: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for k in &rest {
            by_viewer.entry(k.0).or_default().push(k.1);
        }
        out.extend(rest.iter().map(|k| (*k, false)));
        for (viewer, others) in by_viewer {
            for other in cybermed_core::domain::privacy::sharing_with(&self.state.reads, viewer, &others).await? {
                out.insert(SharesAppointment(viewer, other), true);
            }
        }
        Ok(out)
    }
}
