//! An admin's standing, decided when an admin's change commits, not when its request started.
//!
//! A request is authorized against the login as it was when the request began; an admin being
//! demoted or deactivated meanwhile could otherwise still commit a change (even "make me admin"
//! again) after the demotion committed. So every admin change (`setUserRole`, `setUserActive`,
//! `verifyDoctor`, an admin's `register`) first re-reads the actor's row inside its own write
//! transaction, under a lock that a concurrent change of that row waits for:
//! - PostgreSQL: `SELECT … FOR NO KEY UPDATE`, the lock an `UPDATE` of the row takes. Whichever of
//!   a demotion and the actor's change locks the row first commits first; the later one reads the
//!   row as the earlier left it. The actor's row and the target's are locked in one statement in id
//!   order, so two admins changing each other wait in line instead of deadlocking.
//! - SQLite: the write transaction is `BEGIN IMMEDIATE` on the one writer connection, so no other
//!   write commits between this read and the commit (SQLite has no row locks; the clause is left
//!   out).
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::LockType};
use uuid::Uuid;

use crate::{
    db::entities::user,
    domain::Role,
    error::{AppError, AppResult},
};

/// Locks, until the transaction `txn` ends, the rows of `actor` and of `target` (when given), and
/// checks that `actor` is still an active admin. Returns the target's row as it is now (`None`
/// when it does not exist, or when no target was given).
///
/// `txn` must be a write transaction (`db::begin_write`).
///
/// # Errors
/// `FORBIDDEN` when the actor is no longer an active admin (or no longer exists); internal
/// otherwise.
pub async fn lock_admin<C: ConnectionTrait>(
    txn: &C,
    actor: Uuid,
    target: Option<Uuid>,
) -> AppResult<Option<user::Model>> {
    let mut ids = vec![actor];
    ids.extend(target.filter(|t| *t != actor));
    let rows = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .order_by_asc(user::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .all(txn)
        .await?;
    let still_admin = rows.iter().any(|u| u.id == actor && u.is_active && u.role == Role::Admin);
    if !still_admin {
        return Err(AppError::Forbidden);
    }
    Ok(target.and_then(|t| rows.into_iter().find(|u| u.id == t)))
}
