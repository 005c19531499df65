//! Reminders written back when a patient turns `emailReminders` or `smsReminders` on: those of
//! their active appointments still to come whose leads have not passed, as a booking would have
//! written them, inside the transaction of that change (`accounts::update_me` calls
//! [`queue_reminders`], handed to it by the door: accounts sit below appointments).
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{
    AppointmentStatus,
    notices::{self, Parties},
    sms_notices,
};
use crate::{
    db::entities::appointment,
    domain::{Store, accounts},
    error::AppResult,
    outbox::{Channel, NewEmail},
};

/// Rows per `INSERT` (a patient may hold many appointments; both databases bound the parameters
/// of one statement).
const CHUNK: usize = 200;

/// Writes, inside `txn`, the `channel` reminders of `patient`'s active appointments that start
/// after now, one per lead whose time has not passed (none when the preference is off in `txn`'s
/// view, or the patient has no usable number for SMS). The caller has just turned the preference
/// on (it was off, so none of them is pending).
///
/// Two `SELECT`s (the appointments; their doctors with their profiles and the patient), then one
/// `INSERT` per [`CHUNK`] reminders and the senders' wake-up.
///
/// # Errors
/// Internal only.
pub fn queue_reminders<'a>(
    store: &'a Store,
    txn: &'a DatabaseTransaction,
    patient: Uuid,
    channel: Channel,
) -> BoxFuture<'a, AppResult<()>> {
    Box::pin(queue(store, txn, patient, channel, store.clock.now()))
}

async fn queue(
    store: &Store,
    txn: &DatabaseTransaction,
    patient: Uuid,
    channel: Channel,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let appointments = appointment::Entity::find()
        .filter(appointment::Column::PatientId.eq(patient))
        .filter(appointment::Column::Status.is_in([AppointmentStatus::Pending, AppointmentStatus::Confirmed]))
        .filter(appointment::Column::StartsAt.gt(now))
        .order_by_asc(appointment::Column::StartsAt)
        .all(txn)
        .await?;
    if appointments.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = appointments.iter().map(|a| a.doctor_id).chain([patient]).collect();
    ids.sort_unstable();
    ids.dedup();
    let people = accounts::users_by_ids(txn, &ids).await?;
    let Some((patient_row, _)) = people.get(&patient) else { return Ok(()) };
    let mut rows: Vec<NewEmail> = Vec::new();
    for appt in &appointments {
        let Some((doctor, profile)) = people.get(&appt.doctor_id) else { continue };
        let parties = Parties::new(doctor, profile.as_ref(), patient_row);
        rows.extend(match channel {
            Channel::Email => notices::email_reminders(store, appt, &parties, now),
            Channel::Sms => {
                let doctor = (notices::full_name(&parties.doctor), parties.tz);
                sms_notices::reminders(&store.outbox, appt, (&doctor.0, doctor.1), parties.patient.sms(), now)
            }
        });
    }
    for chunk in rows.chunks(CHUNK) {
        store.enqueue_emails(txn, chunk.to_vec()).await?;
    }
    Ok(())
}
