//! Application assembly: shared state, the router, and a buildable, bindable server.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, header},
    response::Redirect,
    routing::get,
};
use tokio::net::TcpListener;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    set_header::SetResponseHeaderLayer,
    timeout::{RequestBodyTimeoutLayer, TimeoutLayer},
    trace::TraceLayer,
};
use uuid::Uuid;

use crate::{
    auth::{jwt::TokenKeys, password::Passwords, sessions::SessionCache},
    config::Config,
    db,
    domain::{Clock, Store},
    events::EventHub,
    graphql::{
        self,
        http::GraphqlState,
        limits::{DocumentLimits, Limits},
        nulls::Nulls,
    },
    mail::Mailer,
};

/// Largest request body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Services shared by every request: one allocation, cloned by reference count (a request clones
/// it several times; a deep clone was a measurable share of a small request's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Services {
    /// What domain functions work with: database, clock, events (see [`Store`]).
    pub store: Store,
    /// SQL statements run so far (tests and the benchmark read it).
    pub statements: db::StatementCounter,
    pub config: Arc<Config>,
    pub keys: TokenKeys,
    pub passwords: Passwords,
    pub mailer: Mailer,
    /// Logins recently checked against the database; account changes forget them.
    pub sessions: Arc<SessionCache>,
    /// Objects answered in place or the usual way (tests and the benchmark read it).
    pub plain_stats: graphql::plain::PlainStats,
    /// Live events for subscribers (read once per event), and the open WebSockets per user.
    pub live: graphql::live::Live,
}

/// `state.db`, `state.clock`, `state.events`… read the [`Store`]: the front doors and the
/// background jobs, which hold the whole state, read them so, and `&AppState` coerces to the
/// `&Store` a domain function takes.
impl std::ops::Deref for Services {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl AppState {
    /// What `seed-demo` works with.
    pub fn seeder(&self) -> crate::domain::demo::Seeder<'_> {
        crate::domain::demo::Seeder {
            store: &self.store,
            passwords: &self.passwords,
            keys: &self.keys,
            sessions: &self.sessions,
        }
    }

    /// Connects to the database (migrating it up) and builds every service.
    ///
    /// # Errors
    /// Database unreachable, a migration failing, or bad mail settings.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pools = db::connect(config.database_url.expose(), config.database_max_connections)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database: {}", crate::error::describe_db_err(&e)))?;
        db::migrate(&pools.writer)
            .await
            .map_err(|e| anyhow::anyhow!("database migration failed: {}", crate::error::describe_db_err(&e)))?;
        Self::with_db(config, pools).await
    }

    /// Builds every service around an open, migrated database.
    ///
    /// # Errors
    /// Bad mail settings.
    pub async fn with_db(config: Config, pools: db::Pools) -> anyhow::Result<Self> {
        let db::Pools { db, writer, statements } = pools;
        let keys =
            TokenKeys::new(config.jwt_secret.expose().as_bytes(), config.access_token_ttl, config.refresh_token_ttl);
        let mailer = Mailer::from_config(&config)?;
        let passwords = Passwords::new().await.map_err(|_| anyhow::anyhow!("password hasher failed to start"))?;
        let sessions = Arc::new(SessionCache::default());
        let events = EventHub::start(&db, sessions.clone());
        let writes = db::group_commit::WriteQueue::start(&writer);
        let live = graphql::live::Live::new(graphql::live::fan_out_permits(&db));
        let store = Store {
            db,
            writer,
            writes,
            clock: Clock::default(),
            events,
            outbox: crate::outbox::Settings::from_config(&config),
        };
        Ok(Self(Arc::new(Services {
            store,
            statements,
            config: Arc::new(config),
            keys,
            passwords,
            mailer,
            sessions,
            plain_stats: graphql::plain::PlainStats::default(),
            live,
        })))
    }
}

/// The HTTP router with every route and layer.
pub fn router(state: AppState) -> Router {
    let limits = DocumentLimits::new(Limits { introspection: state.config.graphiql, ..Limits::default() });
    let schema = graphql::build_schema(Some(state.clone()), None, None);
    let sdl = schema.sdl();
    let nulls = Nulls::from_sdl(&sdl);
    let unused_scalars = graphql::introspection::UnusedScalars::from_sdl(&sdl);
    let ws_schema = graphql::build_schema(Some(state.clone()), Some(limits.clone()), Some(nulls.clone()));
    let graphiql_on = state.config.graphiql;
    let request_timeout = state.config.request_timeout;
    let cors_origins = state.config.cors_allowed_origins.clone();
    let feeds = crate::calendar::routes(state.clone());
    let state_for_fhir = state.clone();
    let st = GraphqlState { schema, ws_schema, limits, nulls, unused_scalars, app: state };

    let mut router = Router::new()
        .route("/graphql", get(graphql::http::get).post(graphql::http::post))
        .route("/graphql/ws", get(graphql::socket::ws))
        .route("/health", get(graphql::http::health))
        .route("/ready", get(graphql::http::ready))
        .merge(feeds);
    if graphiql_on {
        router = router
            .route("/graphiql", get(graphql::http::graphiql))
            .route("/graphiql/assets/{file}", get(graphql::http::graphiql_asset))
            .route("/", get(|| async { Redirect::temporary("/graphiql") }));
    }
    let mut router = router
        .with_state(st)
        .nest("/fhir/r4", crate::fhir::router(state_for_fhir))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(10)))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        // Only the calendar feeds choose their own (`private, no-cache`, so that ETags work).
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            let path = crate::calendar::loggable_path(req.uri().path());
            tracing::info_span!("request", method = %req.method(), path = %path, request_id = %id)
        }))
        .layer(axum::middleware::from_fn(request_id));
    if !cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
                .max_age(Duration::from_secs(600)),
        );
    }
    router
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    /// `METRICS_BIND_ADDR`'s listener, when set.
    metrics: Option<TcpListener>,
    router: Router,
    state: AppState,
}

impl Application {
    /// Builds the state and binds `config.bind_addr` (port 0 picks a free port), and
    /// `config.metrics_bind_addr` when set.
    ///
    /// # Errors
    /// As [`AppState::build`], or an address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let addr = config.bind_addr.clone();
        let state = AppState::build(config).await?;
        Self::with_state(state, &addr).await
    }

    /// Binds `addr` (and the state's `metrics_bind_addr`, when set) for an already built state.
    ///
    /// # Errors
    /// An address cannot be bound.
    pub async fn with_state(state: AppState, addr: &str) -> anyhow::Result<Self> {
        crate::metrics::install();
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let metrics = match &state.config.metrics_bind_addr {
            Some(addr) => Some(crate::metrics::bind(addr).await?),
            None => None,
        };
        Ok(Self { listener, metrics, router: router(state.clone()), state })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port `/metrics` is served on, when `METRICS_BIND_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    /// The shared state (tests use it to move the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves, with the background loops ([`crate::jobs`]) running, until `shutdown` completes;
    /// then finishes in-flight requests and stops the loops.
    ///
    /// # Errors
    /// An I/O failure of the listener.
    ///
    /// The background work of every process runs beside it ([`crate::jobs`]): the outbox sender
    /// and housekeeping. After the server stopped, they finish what they have in hand and stop.
    ///
    /// `/metrics` (when `METRICS_BIND_ADDR` is set) is served beside it and stops with it.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let shutdown = futures_util::FutureExt::shared(Box::pin(shutdown));
        let jobs = crate::jobs::start(&self.state);
        let upkeep = tokio::spawn(crate::metrics::upkeep(shutdown.clone()));
        let metrics = self
            .metrics
            .map(|listener| tokio::spawn(crate::metrics::serve(listener, self.state.clone(), shutdown.clone())));
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        jobs.stop().await;
        let _ = upkeep.await;
        if let Some(metrics) = metrics
            && let Ok(Err(e)) = metrics.await
        {
            tracing::warn!(reason = %e, "the metrics listener failed");
        }
        served.context("server failed")
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Gives every request an id: the client's `x-request-id` when it is a short token (letters,
/// digits, `-`, `_`, `.`), else a new UUID. The id is echoed in the response header, named in the
/// request's log span, and recorded with every audit entry the request writes. Writes the
/// request's one log line at `info`: id, method, path, status, GraphQL operation name and outcome,
/// duration; never the document, variables or headers.
async fn request_id(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let header = HeaderName::from_static("x-request-id");
    let id = req
        .headers()
        .get(&header)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(header.clone(), value.clone());
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), crate::calendar::loggable_path(req.uri().path()).into_owned());
    let mut resp = crate::domain::audit::REQUEST_ID.scope(id.clone(), next.run(req)).await;
    resp.headers_mut().insert(header, value);
    let graphql = resp.extensions().get::<graphql::http::GraphqlOutcome>();
    let elapsed = started.elapsed();
    if let Some(g) = graphql {
        crate::metrics::graphql_operation(g.operation.as_deref(), g.outcome, Some(elapsed));
    }
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        operation = %graphql.map_or(std::borrow::Cow::Borrowed("-"), |g| crate::telemetry::operation_name(g.operation.as_deref())),
        outcome = graphql.map_or_else(|| if resp.status().is_success() || resp.status().is_redirection() { "ok" } else { "refused" }, |g| g.outcome.as_str()),
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}
