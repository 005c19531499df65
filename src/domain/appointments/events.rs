//! An appointment's history: each change records an event, its audit entry, its emails and its
//! notice for live subscribers, in the change's transaction.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait, Set, Statement};
use uuid::Uuid;

use super::{AppointmentEventKind, Failure};
use crate::{
    db::{
        batch,
        entities::{appointment, appointment_event},
    },
    domain::{Store, audit},
    error::AppResult,
    events::EventNotice,
    outbox::{self, appointments::Parties},
};

fn event(
    id: Uuid,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> appointment_event::ActiveModel {
    appointment_event::ActiveModel {
        id: Set(id),
        appointment_id: Set(appt.id),
        kind: Set(kind),
        status: Set(appt.status),
        starts_at: Set(appt.starts_at),
        actor_id: Set(actor),
        at: Set(at),
    }
}

/// Records an event, writes its emails to the outbox (see [`outbox::appointments::on_event`];
/// `moved_from` is the start before a move; `parties` the two people when the caller read them
/// already) and queues its notice, inside `txn`. `change` is the change's own write when the
/// caller has not run it yet (a booking's `INSERT`): it runs first, in the same round trip as the
/// event's rows. Every transaction here records exactly one event, so this is its one
/// `notify_in`; one that recorded several would collect their notices and call `notify_in` once.
///
/// Statements: the writes of `change`, the event, its audit entry and its emails in one round
/// trip on SQLite (see [`crate::db::batch`]; nothing read back), after what `on_event` reads or
/// deletes; on PostgreSQL, the notice and the senders' wake-up in one more.
#[expect(clippy::too_many_arguments, reason = "one event's facts, each needed")]
pub(super) async fn record<C: ConnectionTrait>(
    store: &Store,
    txn: &C,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    moved_from: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    parties: Option<&Parties>,
    change: Option<Statement>,
) -> Result<EventNotice, Failure> {
    let backend = txn.get_database_backend();
    let action = match kind {
        AppointmentEventKind::Created => "appointment.create",
        AppointmentEventKind::Confirmed => "appointment.confirm",
        AppointmentEventKind::Rescheduled => "appointment.reschedule",
        AppointmentEventKind::Cancelled => "appointment.cancel",
        AppointmentEventKind::Completed => "appointment.complete",
        AppointmentEventKind::NoShow => "appointment.no_show",
    };
    let emails = outbox::appointments::on_event(store, txn, appt, kind, moved_from, at, parties).await?;
    let event_id = Uuid::now_v7();
    let mut writes = Vec::with_capacity(4);
    writes.extend(change);
    writes.push(appointment_event::Entity::insert(event(event_id, appt, kind, actor, at)).build(backend));
    writes.extend(audit::insert_statement(backend, actor, action, [Some(appt.id)], at));
    let wake = emails.is_some();
    writes.extend(emails);
    batch::execute_all(txn, writes).await?;
    let notice =
        EventNotice { event_id, appointment_id: appt.id, doctor_id: appt.doctor_id, patient_id: appt.patient_id };
    if wake {
        store.events.notify_in_and_outbox(txn, &[notice]).await?;
    } else {
        store.events.notify_in(txn, &[notice]).await?;
    }
    Ok(notice)
}

/// One event by id.
///
/// # Errors
/// Internal only.
pub async fn event_by_id(store: &Store, id: Uuid) -> AppResult<Option<appointment_event::Model>> {
    Ok(appointment_event::Entity::find_by_id(id).one(&store.db).await?)
}
