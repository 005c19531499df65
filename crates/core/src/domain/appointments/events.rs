//! An appointment's history: each change records an event, its audit entry, its emails and its
//! notice for live subscribers, in the change's transaction.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait, Set, Statement};
use uuid::Uuid;

use super::notices::{self, Mail, Parties};
use super::{AppointmentEventKind, Failure};
use crate::{
    db::{
        batch,
        by_position::FromPosition,
        entities::{appointment, appointment_event, doctor_profile, user},
    },
    domain::{Store, audit, waitlist_marks, webhooks},
    error::AppResult,
    events::{EventNotice, Written},
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

/// Records an event, writes its emails to the outbox (see [`notices::on_event`];
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
    record_with(store, txn, appt, kind, moved_from, actor, at, parties, change, Mail::All, webhooks::Endpoints::Unknown)
        .await
}

/// [`record`], writing only `mail`'s emails of the event: an occurrence of a recurring series
/// keeps its reminders, while its parties get one email about the whole series.
#[expect(clippy::too_many_arguments, reason = "one event's facts, each needed")]
pub(super) async fn record_with<C: ConnectionTrait>(
    store: &Store,
    txn: &C,
    appt: &appointment::Model,
    kind: AppointmentEventKind,
    moved_from: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    parties: Option<&Parties>,
    change: Option<Statement>,
    mail: Mail,
    endpoints: webhooks::Endpoints,
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
    let emails = notices::on_event(store, txn, appt, kind, moved_from, at, parties, mail).await?;
    let event_id = Uuid::now_v7();
    let mut writes = Vec::with_capacity(4);
    writes.extend(change);
    writes.push(appointment_event::Entity::insert(event(event_id, appt, kind, actor, at)).build(backend));
    writes.extend(audit::insert_statement(backend, actor, action, [Some(appt.id)], at));
    let freed = matches!(kind, AppointmentEventKind::Cancelled | AppointmentEventKind::Rescheduled);
    writes.extend(waitlist_marks::on_appointment_change(backend, appt, freed, at));
    let deliveries = webhooks::deliveries_for_appointment(txn, appt, kind, at, endpoints).await?;
    let written = Written { emails: emails.is_some(), deliveries: deliveries.is_some() };
    writes.extend(emails);
    writes.extend(deliveries);
    // Nothing runs after them here on SQLite (the notices are PostgreSQL's): a booking may hand
    // them over to its group (see `batch::execute_last`).
    batch::execute_last(txn, writes).await?;
    let notice =
        EventNotice { event_id, appointment_id: appt.id, doctor_id: appt.doctor_id, patient_id: appt.patient_id };
    if written.emails || written.deliveries {
        store.events.notify_in_and_outbox(txn, &[notice], written).await?;
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
    Ok(appointment_event::Entity::find_by_id(id).one(&store.reads).await?)
}

/// An event with everything a live subscriber's usual selection reads: its appointment, the two
/// people (the doctor with their profile) and the actor when that is someone else.
#[derive(Clone, Debug)]
pub struct EventWithParties {
    pub event: appointment_event::Model,
    pub appointment: appointment::Model,
    pub doctor: (user::Model, Option<doctor_profile::Model>),
    pub patient: user::Model,
    /// The actor's row, when there is an actor (also when it is one of the two people).
    pub actor: Option<user::Model>,
}

/// One event with its appointment and people, in one statement (the fan-out to live subscribers
/// reads each event once, whatever the number of subscribers). `None`: no such event.
///
/// # Errors
/// Internal only.
pub async fn event_with_parties<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<EventWithParties>> {
    use sea_orm::{
        Iterable,
        sea_query::{Expr, ExprTrait, JoinType, Query},
    };
    let mut q = Query::select();
    q.columns(appointment_event::Column::iter().map(|c| ("e", c)))
        .columns(appointment::Column::iter().map(|c| ("a", c)))
        .columns(user::Column::iter().map(|c| ("d", c)))
        .columns(doctor_profile::Column::iter().map(|c| ("dp", c)))
        .columns(user::Column::iter().map(|c| ("p", c)))
        .columns(user::Column::iter().map(|c| ("x", c)))
        .from_as(appointment_event::Entity, "e")
        .join_as(
            JoinType::InnerJoin,
            appointment::Entity,
            "a",
            Expr::col(("a", appointment::Column::Id)).equals(("e", appointment_event::Column::AppointmentId)),
        )
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "d",
            Expr::col(("d", user::Column::Id)).equals(("a", appointment::Column::DoctorId)),
        )
        .join_as(
            JoinType::LeftJoin,
            doctor_profile::Entity,
            "dp",
            Expr::col(("dp", doctor_profile::Column::UserId)).equals(("d", user::Column::Id)),
        )
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "p",
            Expr::col(("p", user::Column::Id)).equals(("a", appointment::Column::PatientId)),
        )
        .join_as(
            JoinType::LeftJoin,
            user::Entity,
            "x",
            Expr::col(("x", user::Column::Id)).equals(("e", appointment_event::Column::ActorId)),
        )
        .and_where(Expr::col(("e", appointment_event::Column::Id)).eq(id));
    let stmt = db.get_database_backend().build(&q);
    let Some(row) = db.query_one_raw(stmt).await? else { return Ok(None) };
    let mut at = 0;
    let mut next = |width: usize| {
        let here = at;
        at += width;
        here
    };
    let event = appointment_event::Model::from_position(&row, next(appointment_event::Model::COLUMNS.len()))?;
    let appointment = appointment::Model::from_position(&row, next(appointment::Model::COLUMNS.len()))?;
    let doctor = user::Model::from_position(&row, next(user::Model::COLUMNS.len()))?;
    let profile_at = next(doctor_profile::Model::COLUMNS.len());
    let profile = match row.try_get_by_index::<Option<Uuid>>(profile_at)? {
        Some(_) => Some(doctor_profile::Model::from_position(&row, profile_at)?),
        None => None,
    };
    let patient = user::Model::from_position(&row, next(user::Model::COLUMNS.len()))?;
    let actor_at = next(user::Model::COLUMNS.len());
    let actor = match row.try_get_by_index::<Option<Uuid>>(actor_at)? {
        Some(_) => Some(user::Model::from_position(&row, actor_at)?),
        None => None,
    };
    Ok(Some(EventWithParties { event, appointment, doctor: (doctor, profile), patient, actor }))
}
