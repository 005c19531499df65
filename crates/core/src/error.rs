//! The one boundary between domain failures and what a GraphQL client sees (`extensions.code`).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display` error
//! into a client-visible message, so the only way out of a resolver is through `From<AppError>` below
//! (with the `graphql` feature, which the GraphQL crate turns on).
//!
//! It holds what the rules decide, nothing of a transport's: a subscription that missed events and
//! a field that would wait while polled in place are the GraphQL crate's own signals.
use std::borrow::Cow;

use sea_orm::DbErr;

/// Every failure a resolver can report.
#[derive(Clone, Debug)]
pub enum AppError {
    /// `UNAUTHENTICATED`: no, invalid, expired or revoked token; bad credentials; inactive user.
    Unauthenticated(&'static str),
    /// `FORBIDDEN`: signed in, but the role or ownership does not allow it.
    Forbidden,
    /// `FORBIDDEN` with `extensions.reason`: allowed in general, refused by a rule that names its
    /// cause.
    Refused(Refusal),
    /// `NOT_FOUND`: does not exist, or the viewer may not know it exists.
    NotFound(&'static str),
    /// `NOT_FOUND` with `extensions.field`: an id given as input names nothing this viewer may know
    /// (`visitTypeId`, `holdId`).
    NotFoundAt { what: &'static str, field: &'static str },
    /// `BAD_USER_INPUT` with `extensions.field` (a schema name, or one taken from the document).
    BadInput { field: Cow<'static, str>, message: String },
    /// `CONFLICT` with `extensions.field`.
    Conflict { field: Cow<'static, str>, message: String },
    /// `CONFLICT` with `extensions.field` and `extensions.reason`.
    ConflictFor { field: &'static str, why: Clash },
    /// `RATE_LIMITED` with `extensions.retryAfter` (seconds).
    RateLimited { retry_after: u64 },
    /// `INTERNAL_SERVER_ERROR`: logged here with an id; the client gets only the id.
    Internal(String),
    /// The error of one occurrence of a recurring series: `error`'s code, message and extensions,
    /// plus `extensions.occurrence` (1-based) and `extensions.startsAt`.
    InOccurrence { occurrence: u32, starts_at: chrono::DateTime<chrono::Utc>, error: Box<AppError> },
}

pub type AppResult<T> = Result<T, AppError>;

/// Why a [`AppError::Refused`] action was refused: its `extensions.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The patient already holds the most upcoming appointments allowed, in all or with this
    /// doctor (`MAX_UPCOMING_PER_PATIENT`, `MAX_UPCOMING_PER_DOCTOR_PAIR`).
    TooManyUpcoming,
    /// A patient cancelling later than their appointment's `patientCancelCutoffMinutes` allow.
    CancellationWindowClosed,
    /// A patient moving an appointment later than its `patientRescheduleCutoffMinutes` allow.
    RescheduleWindowClosed,
}

impl Refusal {
    /// The `extensions.reason` value.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooManyUpcoming => "TOO_MANY_UPCOMING",
            Self::CancellationWindowClosed => "CANCELLATION_WINDOW_CLOSED",
            Self::RescheduleWindowClosed => "RESCHEDULE_WINDOW_CLOSED",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::TooManyUpcoming => "The patient already has as many upcoming appointments as allowed",
            Self::CancellationWindowClosed => "It is too late to cancel this appointment; please contact the clinic",
            Self::RescheduleWindowClosed => "It is too late to reschedule this appointment; please contact the clinic",
        }
    }
}

/// Why a [`AppError::ConflictFor`] clash happened: its `extensions.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clash {
    /// The hold named is no longer live (expired, released or consumed).
    HoldExpired,
}

impl Clash {
    /// The `extensions.reason` value.
    pub fn reason(self) -> &'static str {
        match self {
            Self::HoldExpired => "HOLD_EXPIRED",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::HoldExpired => "The hold has expired or was already used or released",
        }
    }
}

impl AppError {
    pub fn bad_input(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }

    pub fn conflict(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Conflict { field: field.into(), message: message.into() }
    }

    /// An unexpected failure. `what` must hold no SQL, secret or personal data: it goes to the log.
    pub fn internal(what: impl Into<String>) -> Self {
        Self::Internal(what.into())
    }

    /// The message a client is shown, on every front door (GraphQL, FHIR, the calendar feeds). An
    /// internal failure is logged here, and the message carries only its reference.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(msg) => (*msg).to_owned(),
            Self::Forbidden => "You are not allowed to do this".to_owned(),
            Self::Refused(why) => why.message().to_owned(),
            Self::NotFound(what) | Self::NotFoundAt { what, .. } => format!("{what} not found"),
            Self::ConflictFor { why, .. } => why.message().to_owned(),
            Self::BadInput { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::RateLimited { .. } => "Too many attempts, try again later".to_owned(),
            Self::Internal(what) => internal_reference(what),
            Self::InOccurrence { error, .. } => error.message(),
        }
    }

    /// The `extensions.code` this error is reported with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden | Self::Refused(_) => "FORBIDDEN",
            Self::NotFound(_) | Self::NotFoundAt { .. } => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } | Self::ConflictFor { .. } => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
            Self::InOccurrence { error, .. } => error.code(),
        }
    }
}

/// A description of a database error that is safe to log: the kind and SQLSTATE, never the
/// statement, its parameters or the server's message (which can quote row values).
pub fn describe_db_err(err: &DbErr) -> String {
    if let Some(e) = sqlx_error(err) {
        return match e {
            sea_orm::sqlx::Error::Database(db) => match db.code().as_deref() {
                // SQLITE_CANTOPEN: a missing folder, or no permission.
                Some("14") => "unable to open the database file (SQLite code 14)".to_owned(),
                Some("28P01") => "password authentication failed (PostgreSQL code 28P01)".to_owned(),
                Some("3D000") => "the database does not exist (PostgreSQL code 3D000)".to_owned(),
                code => format!("database error, code {}", code.unwrap_or("unknown")),
            },
            sea_orm::sqlx::Error::PoolTimedOut => "database pool timed out".to_owned(),
            // The kind only ("connection refused"): never a path or an address of the error's own.
            sea_orm::sqlx::Error::Io(e) => format!("database i/o error ({})", e.kind()),
            other => format!("database driver error ({})", sqlx_kind(other)),
        };
    }
    match err {
        DbErr::ConnectionAcquire(e) => format!("database connection acquire failed: {e}"),
        DbErr::RecordNotFound(_) => "record not found".to_owned(),
        DbErr::RecordNotInserted => "record not inserted".to_owned(),
        DbErr::RecordNotUpdated => "record not updated".to_owned(),
        DbErr::Type(_) | DbErr::Json(_) | DbErr::TryIntoErr { .. } => "database value conversion error".to_owned(),
        _ => "database error".to_owned(),
    }
}

fn sqlx_kind(e: &sea_orm::sqlx::Error) -> &'static str {
    use sea_orm::sqlx::Error as E;
    match e {
        E::Configuration(_) => "configuration",
        E::Tls(_) => "tls",
        E::Protocol(_) => "protocol",
        E::RowNotFound => "row not found",
        E::ColumnDecode { .. } | E::Decode(_) => "decode",
        E::PoolClosed => "pool closed",
        E::WorkerCrashed => "worker crashed",
        _ => "other",
    }
}

/// The driver's error inside a SeaORM error, if there is one.
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// The database's own error (as opposed to a driver or pool failure), if any.
fn database_error(err: &DbErr) -> Option<&dyn sea_orm::sqlx::error::DatabaseError> {
    match sqlx_error(err)? {
        sea_orm::sqlx::Error::Database(db) => Some(&**db),
        _ => None,
    }
}

/// The SQLSTATE (PostgreSQL) or extended result code (SQLite) of a database error, if any.
pub fn db_error_code(err: &DbErr) -> Option<String> {
    database_error(err)?.code().map(|c| c.into_owned())
}

/// True for a unique-constraint violation (either database).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        Self::Internal(describe_db_err(&err))
    }
}

#[cfg(feature = "graphql")]
impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        use async_graphql::ErrorExtensions;
        let (err, occurrence) = match err {
            AppError::InOccurrence { occurrence, starts_at, error } => (*error, Some((occurrence, starts_at))),
            other => (other, None),
        };
        async_graphql::Error::new(err.message()).extend_with(|_, e| {
            e.set("code", code);
            if let Some((occurrence, starts_at)) = occurrence {
                e.set("occurrence", occurrence);
                e.set("startsAt", starts_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            }
            match &err {
                AppError::BadInput { field, .. } | AppError::Conflict { field, .. } => e.set("field", field.as_ref()),
                AppError::RateLimited { retry_after } => e.set("retryAfter", *retry_after),
                AppError::Refused(why) => e.set("reason", why.reason()),
                AppError::NotFoundAt { field, .. } => e.set("field", *field),
                AppError::ConflictFor { field, why } => {
                    e.set("field", *field);
                    e.set("reason", why.reason());
                }
                _ => {}
            }
        })
    }
}

/// Logs an unexpected failure under a new reference and returns what the client is told instead:
/// the reference alone (every front door answers internal failures this way).
pub fn internal_reference(what: &str) -> String {
    let id = uuid::Uuid::new_v4();
    tracing::error!(error_id = %id, error = %what, "internal error");
    format!("Internal server error (reference {id})")
}

/// The constraint name and message of a database error, for telling constraint refusals apart
/// (never shown to clients or logged).
pub fn db_error_names(err: &DbErr) -> Vec<String> {
    let Some(db) = database_error(err) else { return Vec::new() };
    let mut names = vec![db.message().to_owned()];
    if let Some(c) = db.constraint() {
        names.push(c.to_owned());
    }
    names
}
