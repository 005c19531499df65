//! The audit of reads of patients' private fields: one `patient.read` per patient per operation
//! (an HTTP request, a WebSocket operation), written before the response leaves; once per patient
//! for a subscription.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use async_graphql::Context;
use uuid::Uuid;

use crate::{AppState, ContextExt};
use cybermed_core::{domain::audit, error::AppResult};

/// Patients whose private fields one request read, recorded in the audit log once per request
/// (one statement, whatever the page size) before the response leaves.
#[derive(Default)]
pub struct PrivateReads(Mutex<HashSet<(Uuid, Uuid)>>);

impl PrivateReads {
    /// Notes that `viewer` read private fields of `patient`.
    pub fn note(&self, viewer: Uuid, patient: Uuid) {
        if let Ok(mut set) = self.0.lock() {
            set.insert((viewer, patient));
        }
    }

    /// Writes what was noted.
    ///
    /// # Errors
    /// Internal only; the caller withholds the response then.
    pub async fn flush(&self, state: &AppState) -> AppResult<()> {
        let reads: Vec<(Uuid, Uuid)> = match self.0.lock() {
            Ok(mut set) => set.drain().collect(),
            Err(_) => return Err(cybermed_core::error::AppError::internal("private read log poisoned")),
        };
        let Some(viewer) = reads.first().map(|r| r.0) else { return Ok(()) };
        let now = state.clock.now();
        audit::record_many(&state.writer, Some(viewer), "patient.read", reads.iter().map(|r| Some(r.1)), now).await
    }
}

/// Records a read of a patient's private fields (`(viewer, patient)`, as
/// [`cybermed_core::domain::privacy::Access::audited_read`] names it): on a subscription, recorded once
/// per patient for the operation (usually by the live feed, for all subscribers of an event in one
/// statement: see [`super::live`]); else noted for the single write of the request (HTTP) or of
/// the WebSocket operation, made before its answer leaves; else (no such set) written at once.
///
/// # Errors
/// Internal only: the field is then not served.
pub async fn note_private_read(ctx: &Context<'_>, (viewer, patient): (Uuid, Uuid)) -> AppResult<()> {
    let subscription = ctx
        .data_opt::<super::loaders::Loaders>()
        .and_then(|l| l.loader().live_operation())
        .and_then(|op| op.registration());
    if subscription.is_none()
        && let Some(reads) = ctx.data_opt::<Arc<PrivateReads>>()
    {
        reads.note(viewer, patient);
        return Ok(());
    }
    super::plain::not_probing().await;
    let state = ctx.state()?;
    if let Some(reg) = subscription {
        if reg.has_audited(patient) {
            return Ok(());
        }
        let _permit = reg.permit().await;
        audit::record(&state.writer, Some(viewer), "patient.read", Some(patient), state.clock.now()).await?;
        reg.audited(patient);
        return Ok(());
    }
    audit::record(&state.writer, Some(viewer), "patient.read", Some(patient), state.clock.now()).await
}
