//! Finding users: one the viewer may know exists, filtered pages and counts, and users by id.
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use uuid::Uuid;

use crate::{
    auth::viewer::Viewer,
    db::entities::{doctor_profile, user},
    domain::{
        Role,
        privacy::{self, Access, Decision, Existence, Looker, SearchIn},
    },
    error::{AppError, AppResult},
    page::{Keyset, KeysetPage},
};

/// Loads a user the viewer may know exists (see [`privacy::existence`]).
///
/// # Errors
/// `NOT_FOUND` when it does not exist or the viewer may not know it exists.
pub async fn find_visible_user<C: ConnectionTrait>(db: &C, viewer: &Viewer, id: Uuid) -> AppResult<user::Model> {
    let user = user::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("User"))?;
    let visible = match privacy::existence(viewer.into(), &user) {
        Existence::Visible => true,
        Existence::IfSharingAnAppointment => !privacy::sharing_with(db, viewer.id(), &[user.id]).await?.is_empty(),
        Existence::Hidden => false,
    };
    if visible { Ok(user) } else { Err(AppError::NotFound("User")) }
}

/// What `viewer` may read of `target` ([`privacy::access`]), asking the database whether the two
/// share an appointment when that decides it. For readers that hold one user rather than a page
/// (FHIR); GraphQL batches the same question in a DataLoader.
///
/// # Errors
/// Internal only.
pub async fn access_of<C: ConnectionTrait>(db: &C, viewer: &Viewer, target: &user::Model) -> AppResult<Access> {
    let looker = Some(Looker::from(viewer));
    Ok(match privacy::access(looker, target) {
        Decision::Known(access) => access,
        Decision::IfSharingAnAppointment => {
            let sharing = !privacy::sharing_with(db, viewer.id(), &[target.id]).await?.is_empty();
            privacy::access_given(looker, target, sharing)
        }
    })
}

/// Filter for listing users.
#[derive(Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub search: Option<String>,
    pub active_only: bool,
    /// Only users with a verified doctor profile.
    pub verified_doctors_only: bool,
    /// Only users whose doctor profile's specialty contains this, ignoring case.
    pub specialty: Option<String>,
    /// Which fields `search` looks in.
    pub search_in: SearchIn,
}

impl UserFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(role) = self.role {
            cond = cond.add(user::Column::Role.eq(role));
        }
        if self.active_only {
            cond = cond.add(user::Column::IsActive.eq(true));
        }
        let specialty = self.specialty.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if self.verified_doctors_only || specialty.is_some() {
            let mut profiles = Query::select();
            profiles.column(doctor_profile::Column::UserId).from(doctor_profile::Entity);
            if self.verified_doctors_only {
                profiles.and_where(doctor_profile::Column::Verified.eq(true));
            }
            if let Some(term) = specialty {
                profiles.and_where(contains_ignoring_case(doctor_profile::Column::Specialty, term));
            }
            cond = cond.add(user::Column::Id.in_subquery(profiles));
        }
        if let Some(term) = self.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let mut any = Condition::any();
            for col in self.search_in.user_columns() {
                any = any.add(contains_ignoring_case(*col, term));
            }
            if self.search_in.specialty() {
                let mut specialties = Query::select();
                specialties
                    .column(doctor_profile::Column::UserId)
                    .from(doctor_profile::Entity)
                    .and_where(contains_ignoring_case(doctor_profile::Column::Specialty, term));
                any = any.add(user::Column::Id.in_subquery(specialties));
            }
            cond = cond.add(any);
        }
        cond
    }
}

/// Users in creation order: by id (time-ordered UUIDv7), the cursor the id itself.
const SIGN_UP_ORDER: Keyset<user::Entity, Uuid> = Keyset::ascending(&[user::Column::Id], |u: &user::Model| u.id);

/// One page of at most `limit` users in creation order, after the user `after`.
///
/// # Errors
/// Internal only.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    filter: &UserFilter,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<KeysetPage<Uuid, user::Model>> {
    SIGN_UP_ORDER.fetch(db, user::Entity::find().filter(filter.condition()), after, limit).await
}

/// How many users match the filter.
///
/// # Errors
/// Internal only.
pub async fn count_users<C: ConnectionTrait>(db: &C, filter: &UserFilter) -> AppResult<u64> {
    Ok(user::Entity::find().filter(filter.condition()).count(db).await?)
}

/// `LOWER(col) LIKE '%term%'` with the term's wildcards escaped: the same on both databases.
fn contains_ignoring_case(col: impl sea_orm::sea_query::IntoColumnRef, term: &str) -> sea_orm::sea_query::SimpleExpr {
    let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Users by id (for the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn users_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, (user::Model, Option<doctor_profile::Model>)>> {
    // With their doctor profiles in the same statement: lists of appointments show both.
    // Read by position: the hot path of every page of appointments.
    let select = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .find_also_related(doctor_profile::Entity);
    let rows = db.query_all(&sea_orm::QueryTrait::into_query(select)).await?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        let (u, p) = crate::db::by_position::user_with_profile(row)?;
        out.insert(u.id, (u, p));
    }
    Ok(out)
}
