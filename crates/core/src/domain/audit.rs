//! The audit log: who did what to whom, in which request. Entries are written in the transaction of
//! the change they record, hold ids and action names only (no health data), and are never updated
//! or deleted by the service.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Set, Statement,
};
use uuid::Uuid;

use crate::{
    db::entities::audit_entry,
    error::{AppError, AppResult},
    page::{Keyset, KeysetPage},
};

pub use crate::db::{REQUEST_ID, current_request_id};

/// Appends one entry, inside the caller's transaction.
///
/// # Errors
/// Internal only.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: Option<Uuid>,
    action: &str,
    subject: Option<Uuid>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    record_many(db, actor, action, [subject], at).await
}

/// Appends one entry per subject in a single statement.
///
/// # Errors
/// Internal only.
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    actor: Option<Uuid>,
    action: &str,
    subjects: impl IntoIterator<Item = Option<Uuid>>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let Some(insert) = insert_statement(db.get_database_backend(), actor, action, subjects, at) else {
        return Ok(());
    };
    db.execute_raw(insert).await.map_err(AppError::from)?;
    Ok(())
}

/// The `INSERT` of one entry per subject (none without subjects), for a caller that runs it with
/// its other writes (see [`crate::db::batch`]), inside its transaction.
pub fn insert_statement(
    backend: DbBackend,
    actor: Option<Uuid>,
    action: &str,
    subjects: impl IntoIterator<Item = Option<Uuid>>,
    at: DateTime<Utc>,
) -> Option<Statement> {
    let request_id = current_request_id();
    let rows: Vec<audit_entry::ActiveModel> = subjects
        .into_iter()
        .map(|subject| audit_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            at: Set(at),
            actor_id: Set(actor),
            action: Set(action.to_owned()),
            subject_id: Set(subject),
            request_id: Set(request_id.clone()),
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(audit_entry::Entity::insert_many(rows).build(backend))
}

/// Appends one `patient.read` entry per `(reader, patient, request id)` in a single statement:
/// the reads of many live subscribers of one event, each under its own operation's request id.
///
/// # Errors
/// Internal only.
pub async fn record_reads<C: ConnectionTrait>(
    db: &C,
    reads: &[(Uuid, Uuid, String)],
    at: DateTime<Utc>,
) -> AppResult<()> {
    if reads.is_empty() {
        return Ok(());
    }
    let rows = reads.iter().map(|(reader, patient, request_id)| audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(at),
        actor_id: Set(Some(*reader)),
        action: Set("patient.read".to_owned()),
        subject_id: Set(Some(*patient)),
        request_id: Set(request_id.clone()),
    });
    let insert = audit_entry::Entity::insert_many(rows).build(db.get_database_backend());
    db.execute_raw(insert).await.map_err(AppError::from)?;
    Ok(())
}

/// Filter for reading the log.
#[derive(Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
}

impl AuditFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(a) = self.actor_id {
            cond = cond.add(audit_entry::Column::ActorId.eq(a));
        }
        if let Some(s) = self.subject_id {
            cond = cond.add(audit_entry::Column::SubjectId.eq(s));
        }
        cond
    }
}

/// Entries newest first: by id (time-ordered UUIDv7) descending, the cursor the id itself.
const NEWEST_FIRST: Keyset<audit_entry::Entity, Uuid> =
    Keyset::descending(&[audit_entry::Column::Id], |e: &audit_entry::Model| e.id);

/// One page of at most `limit` entries, newest first, before the entry `before`.
///
/// # Errors
/// Internal only.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: u64,
) -> AppResult<KeysetPage<Uuid, audit_entry::Model>> {
    NEWEST_FIRST.fetch(db, audit_entry::Entity::find().filter(filter.condition()), before, limit).await
}

/// How many entries match.
///
/// # Errors
/// Internal only.
pub async fn count<C: ConnectionTrait>(db: &C, filter: &AuditFilter) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(audit_entry::Entity::find().filter(filter.condition()).count(db).await?)
}
