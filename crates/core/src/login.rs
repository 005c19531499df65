//! A request's and a WebSocket's login: the bearer token of an `Authorization` header or of a
//! `connection_init`, checked and resolved to the [`Viewer`] it acts as, at most once per request.
use std::sync::Arc;

use sea_orm::EntityTrait;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    Services,
    auth::{
        jwt::{Claims, TokenType},
        viewer::{Viewer, bearer_token},
    },
    db::entities::{session, user},
    error::{AppError, AppResult},
};

/// What the request's `Authorization` header said.
enum Bearer {
    Missing,
    Token(String),
    Malformed,
}

/// Per-request authentication: the header, and the viewer once it has been looked up (at most
/// once per request, and only if an operation needs it).
pub struct RequestAuth {
    bearer: Bearer,
    resolved: OnceCell<Result<Option<Arc<Viewer>>, AppError>>,
}

impl RequestAuth {
    /// Reads the request's `Authorization` header. Anything but `Bearer <token>` in visible ASCII
    /// (a value with other bytes included) is an invalid credential, never anonymous.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        match headers.get(http::header::AUTHORIZATION) {
            None => Self::from_header(None),
            // Not visible ASCII: present, so never anonymous; "" is no `Bearer <token>`.
            Some(v) => Self::from_header(Some(v.to_str().unwrap_or(""))),
        }
    }

    /// Reads an `Authorization` header value. Anything but `Bearer <token>` is an invalid
    /// credential, never anonymous.
    pub fn from_header(value: Option<&str>) -> Self {
        let bearer = match value {
            None => Bearer::Missing,
            Some(v) => bearer_token(v).map_or(Bearer::Malformed, |t| Bearer::Token(t.to_owned())),
        };
        Self { bearer, resolved: OnceCell::new() }
    }

    /// The viewer, `None` when no header was sent.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` when a header was sent but the token is malformed, expired, of the wrong
    /// type, revoked, or its user is inactive.
    pub async fn viewer(&self, state: &Services) -> AppResult<Option<Arc<Viewer>>> {
        self.resolved
            .get_or_init(|| async {
                match &self.bearer {
                    Bearer::Missing => Ok(None),
                    Bearer::Malformed => Err(AppError::Unauthenticated("Invalid or expired token")),
                    Bearer::Token(token) => authenticate(state, token).await.map(|v| Some(Arc::new(v))),
                }
            })
            .await
            .clone()
    }

    /// Fails when a header was sent and does not authenticate, so that a bad token is never
    /// silently anonymous. With `expired_may_pass` (an operation of only `refreshToken` and
    /// `logout`, which authenticate with their argument) a genuine but expired access token passes.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` as [`RequestAuth::viewer`].
    pub async fn check(&self, state: &Services, expired_may_pass: bool) -> AppResult<()> {
        match self.viewer(state).await {
            Ok(_) => Ok(()),
            Err(e) => match &self.bearer {
                Bearer::Token(t)
                    if expired_may_pass
                        && state.keys.is_expired_but_genuine(t, TokenType::Access, state.clock.now()) =>
                {
                    Ok(())
                }
                _ => Err(e),
            },
        }
    }

    /// The viewer, required.
    ///
    /// # Errors
    /// As [`RequestAuth::viewer`], and `UNAUTHENTICATED` when anonymous.
    pub async fn require(&self, state: &Services) -> AppResult<Arc<Viewer>> {
        self.viewer(state).await?.ok_or(AppError::Unauthenticated("Authentication required"))
    }
}

/// A login and its user, in one statement whose SQL is built once per process: this runs on every
/// authenticated request, and building the query each time cost more than running it.
async fn session_with_user(state: &Services, sid: Uuid) -> AppResult<Option<(session::Model, Option<user::Model>)>> {
    use std::sync::OnceLock;

    use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, SelectTwoModel, SelectorTrait, Statement, Values};
    static SQL: OnceLock<(String, String)> = OnceLock::new();
    let backend = state.reads.get_database_backend();
    let (sqlite, postgres) = SQL.get_or_init(|| {
        let query = session::Entity::find_by_id(Uuid::nil()).find_also_related(user::Entity);
        (query.build(DbBackend::Sqlite).sql, query.build(DbBackend::Postgres).sql)
    });
    let sql = if backend == DbBackend::Postgres { postgres } else { sqlite };
    let stmt = Statement { sql: sql.clone(), values: Some(Values(vec![sid.into()])), db_backend: backend };
    let Some(row) = state.reads.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(SelectTwoModel::<session::Model, user::Model>::from_raw_query_result(row)?))
}

/// Checks an access token and loads its login and user in one statement.
async fn authenticate(state: &Services, token: &str) -> AppResult<Viewer> {
    let claims = state.keys.verify(token, TokenType::Access, state.clock.now())?;
    let found = match state.sessions.get(claims.sid) {
        Some((s, u)) => Some((s, Some(u))),
        None => {
            let generation = state.sessions.generation();
            let found = session_with_user(state, claims.sid).await?;
            if let Some((s, Some(u))) = &found {
                state.sessions.put(generation, s.clone(), u.clone());
            }
            found
        }
    };
    let now = state.clock.now();
    match found {
        Some((s, Some(u)))
            if s.user_id == claims.sub && s.revoked_at.is_none() && s.expires_at > now && u.is_active =>
        {
            Ok(Viewer { user: u, session_id: s.id })
        }
        _ => Err(AppError::Unauthenticated("Invalid or expired token")),
    }
}

/// Logins and their users as they are now, in one statement however many (for the live events'
/// fan-out, when the login cache does not hold them): each one found is put in the login cache.
/// A login missing from the answer does not exist.
///
/// # Errors
/// Internal only.
pub async fn logins_now(
    state: &Services,
    sids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, (session::Model, user::Model)>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let generation = state.sessions.generation();
    let rows = session::Entity::find()
        .filter(session::Column::Id.is_in(sids.iter().copied()))
        .find_also_related(user::Entity)
        .all(&state.reads)
        .await?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for (s, u) in rows {
        if let Some(u) = u {
            state.sessions.put(generation, s.clone(), u.clone());
            found.insert(s.id, (s, u));
        }
    }
    Ok(found)
}

/// A WebSocket's login: the access token of its `connection_init`. Every operation on the socket
/// acts as that login *as it is now* ([`SocketLogin::current`]), and the socket is closed once
/// [`SocketLogin::holds`] says it ended: logout, password change or reset, deactivation, a role
/// change, or the expiry of the token.
pub struct SocketLogin {
    token: String,
    claims: Claims,
    /// One check at a time per socket: when the login cache does not hold the login, the first
    /// operation asks the database and the others find it cached, instead of all asking at once.
    checking: tokio::sync::Mutex<()>,
}

impl SocketLogin {
    /// Checks the token and its login.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` as [`RequestAuth::viewer`].
    pub async fn open(state: &Services, token: String) -> AppResult<(Self, Viewer)> {
        let viewer = authenticate(state, &token).await?;
        let claims = state.keys.verify(&token, TokenType::Access, state.clock.now())?;
        let login = Self { token, claims, checking: tokio::sync::Mutex::new(()) };
        login.check_role(&viewer)?;
        Ok((login, viewer))
    }

    /// The viewer for an operation starting now.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` when the login has ended.
    pub async fn current(&self, state: &Services) -> AppResult<Viewer> {
        let _turn = self.checking.lock().await;
        let viewer = authenticate(state, &self.token).await?;
        self.check_role(&viewer)?;
        Ok(viewer)
    }

    /// A role change ends a socket's login: it was opened as the role its token names.
    fn check_role(&self, viewer: &Viewer) -> AppResult<()> {
        if viewer.role() == self.claims.role { Ok(()) } else { Err(AppError::Unauthenticated(ENDED)) }
    }

    /// The user signed in.
    pub fn user_id(&self) -> Uuid {
        self.claims.sub
    }

    /// When the access token expires, and with it the socket's login.
    pub fn valid_until(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.claims.exp, 0).unwrap_or_default()
    }

    /// Whether the login still holds, asked of the database (not of the login cache).
    ///
    /// # Errors
    /// The database could not tell (the caller asks again later).
    pub async fn holds(&self, state: &Services) -> AppResult<bool> {
        let now = state.clock.now();
        // The token's own expiry, without the leeway that verification allows for clock skew.
        if now >= self.valid_until() {
            return Ok(false);
        }
        let found = session_with_user(state, self.claims.sid).await?;
        Ok(matches!(found, Some((s, Some(u)))
            if s.user_id == self.claims.sub
                && s.revoked_at.is_none()
                && s.expires_at > now
                && u.is_active
                && u.role == self.claims.role))
    }
}

const ENDED: &str = "Invalid or expired token";

impl RequestAuth {
    /// Authentication already done (a WebSocket's `connection_init`).
    pub fn resolved(viewer: Arc<Viewer>) -> Self {
        let resolved = OnceCell::new();
        let _ = resolved.set(Ok(Some(viewer)));
        Self { bearer: Bearer::Missing, resolved }
    }
}
