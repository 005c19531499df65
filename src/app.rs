//! Application assembly: shared state, the router, and a buildable, bindable server.
use std::{future::Future, time::Duration};

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
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use uuid::Uuid;

use crate::{
    config::Config,
    db,
    graphql::{
        self,
        http::GraphqlState,
        limits::{DocumentLimits, Limits},
        nulls::Nulls,
    },
    mail::Mailer,
    sender::Transports,
    sms::SmsTransport,
};

/// Largest request body accepted, bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// A request's whole body must arrive within this long after its head (else 408).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

pub use cybermed_graphql::AppState;

/// Connects to the database (migrating it up) and builds the state every front door shares, and
/// the transports (the mailer, the SMS transport) the outbox's sender delivers through.
///
/// # Errors
/// Database unreachable, a migration failing, or bad mail or SMS settings.
pub async fn build(config: Config) -> anyhow::Result<(AppState, Transports)> {
    let pools = db::open(config.database_url.expose(), config.database_max_connections).await?;
    with_db(config, pools).await
}

/// Builds the state and the transports around an open, migrated database.
///
/// # Errors
/// Bad mail or SMS settings.
pub async fn with_db(config: Config, pools: db::Pools) -> anyhow::Result<(AppState, Transports)> {
    let transports = Transports { mail: Mailer::from_config(&config)?, sms: SmsTransport::from_config(&config)? };
    let core = cybermed_core::Core::new(config, pools).await?;
    Ok((AppState::new(core), transports))
}

/// The HTTP router with every route and layer.
pub fn router(state: AppState) -> Router {
    let limits = DocumentLimits::new(Limits { introspection: state.config.graphiql, ..Limits::default() });
    let schema = graphql::build_schema(Some(state.clone()), None, None);
    let revalidating_schema = graphql::build_revalidating_schema(state.clone());
    let sdl = schema.sdl();
    let nulls = Nulls::from_sdl(&sdl);
    let unused_scalars = graphql::introspection::UnusedScalars::from_sdl(&sdl);
    let ws_schema = graphql::build_schema(Some(state.clone()), Some(limits.clone()), Some(nulls.clone()));
    let graphiql_on = state.config.graphiql;
    let request_timeout = state.config.request_timeout;
    let cors_origins = state.config.cors_allowed_origins.clone();
    let feeds = crate::calendar::routes(state.core.clone());
    let state_for_fhir = state.core.clone();
    let st = GraphqlState { schema, revalidating_schema, ws_schema, limits, nulls, unused_scalars, app: state };

    let mut router = Router::new()
        .route("/graphql", get(graphql::http::get).post(graphql::http::post))
        .route("/graphql/ws", get(graphql::socket::ws))
        .route("/health", get(graphql::http::health))
        .route("/ready", get(graphql::http::ready))
        .route("/reset-password", get(crate::pages::reset_password))
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
        .layer(axum::middleware::from_fn(whole_body))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        // Only the calendar feeds choose their own (`private, no-cache`, so that ETags work).
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.extensions().get::<RequestId>().map_or("-", |r| r.0.as_str());
            let path = crate::domain::calendar_feeds::loggable_path(req.uri().path());
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
    /// What the outbox's sender delivers through.
    transports: Transports,
    timeouts: crate::server::Timeouts,
}

impl Application {
    /// Builds the state and binds `config.bind_addr` (port 0 picks a free port), and
    /// `config.metrics_bind_addr` when set.
    ///
    /// # Errors
    /// As [`build`], or an address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let addr = config.bind_addr.clone();
        let (state, transports) = build(config).await?;
        Self::with_state(state, transports, &addr).await
    }

    /// Binds `addr` (and the state's `metrics_bind_addr`, when set) for an already built state.
    ///
    /// # Errors
    /// An address cannot be bound.
    pub async fn with_state(state: AppState, transports: Transports, addr: &str) -> anyhow::Result<Self> {
        crate::metrics::install();
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let metrics = match &state.config.metrics_bind_addr {
            Some(addr) => Some(crate::metrics::bind(addr).await?),
            None => None,
        };
        Ok(Self {
            listener,
            metrics,
            router: router(state.clone()),
            state,
            transports,
            timeouts: crate::server::Timeouts::default(),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port `/metrics` is served on, when `METRICS_BIND_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    /// Serves with other head and idle timeouts than the contract's (tests shorten them).
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: crate::server::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The shared state (tests use it to move the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves, with the background loops ([`crate::jobs`]) running, until `shutdown` completes;
    /// then finishes in-flight requests and stops the loops. Connections are served as
    /// [`crate::server`] says (head, body and idle timeouts, a cap per client address).
    ///
    /// # Errors
    /// None today (accept errors are retried); kept for the caller's `?`.
    ///
    /// The background work of every process runs beside it ([`crate::jobs`]): the outbox sender
    /// and housekeeping. After the server stopped, they finish what they have in hand and stop.
    ///
    /// `/metrics` (when `METRICS_BIND_ADDR` is set) is served beside it and stops with it.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let shutdown = futures_util::FutureExt::shared(Box::pin(shutdown));
        let jobs = crate::jobs::start(&self.state.store, &self.state.config, self.transports);
        let upkeep = tokio::spawn(crate::metrics::upkeep(shutdown.clone()));
        let metrics = self
            .metrics
            .map(|listener| tokio::spawn(crate::metrics::serve(listener, self.state.store.clone(), shutdown.clone())));
        let settings = crate::server::Settings {
            timeouts: self.timeouts,
            max_connections_per_address: self.state.config.max_connections_per_address,
            trusted_proxies: self.state.config.trusted_proxies.clone(),
        };
        crate::server::serve(self.listener, self.router, settings, shutdown).await;
        jobs.stop().await;
        let _ = upkeep.await;
        if let Some(metrics) = metrics
            && let Ok(Err(e)) = metrics.await
        {
            tracing::warn!(reason = %e, "the metrics listener failed");
        }
        Ok(())
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

/// Reads the whole request body within [`BODY_TIMEOUT`] of its head, before anything else sees
/// it: a body that trickles in slower is answered 408 and its connection closed (a per-chunk
/// timeout, as tower-http's, would let a body take forever one byte at a time). Bodies are small
/// (at most [`MAX_BODY_BYTES`], checked outside this layer), so reading them first costs nothing.
async fn whole_body(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::{http::StatusCode, response::IntoResponse};
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(Err(e)) => {
            let too_large = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| e.source())
                .any(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, "The request body is larger than 64 KiB").into_response()
            } else {
                (StatusCode::BAD_REQUEST, [(header::CONNECTION, "close")], "The request body could not be read")
                    .into_response()
            }
        }
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "The request body did not arrive within 10 seconds",
        )
            .into_response(),
    }
}

/// The server's id of the request being served, in the request's extensions (the log span reads it).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Gives every request an id of the server's own (a new UUID): echoed in the response's
/// `x-request-id`, named in the request's log span and line, and recorded with every audit entry
/// the request writes. A client's `x-request-id` never replaces it (an audit trail names only ids
/// the server made); when it is a short token (letters, digits, `-`, `_`, `.`) it is logged beside
/// as `client_request_id`, so that a client's id can still be matched to the server's. Writes the
/// request's one log line at `info`: id, method, path, status, GraphQL operation name and outcome,
/// duration; never the document, variables or headers.
async fn request_id(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let header = HeaderName::from_static("x-request-id");
    let client_id = req
        .headers()
        .get(&header)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned);
    let id = Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = std::time::Instant::now();
    let (method, path) =
        (req.method().clone(), crate::domain::calendar_feeds::loggable_path(req.uri().path()).into_owned());
    // The route's pattern (`/fhir/r4/Appointment/{id}`), never the path: a bounded label.
    // (A shared string: cloning it copies nothing.)
    let route = req.extensions().get::<axum::extract::MatchedPath>().cloned();
    let mut resp = db::REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(header, value);
    }
    let graphql = resp.extensions().get::<graphql::http::GraphqlOutcome>();
    let elapsed = started.elapsed();
    match (graphql, route.as_ref().map(axum::extract::MatchedPath::as_str)) {
        (Some(g), _) => graphql::metrics::operation(g.operation.as_deref(), g.validity, g.outcome, Some(elapsed)),
        // The GraphQL routes are counted by operation, above (a refused one carries its outcome too).
        (None, Some("/graphql" | "/graphql/ws")) => {}
        (None, route) => crate::metrics::http_request(route.unwrap_or("unmatched"), resp.status().as_u16(), elapsed),
    }
    // A WebSocket upgrade (101) is a success like any 2xx.
    let fine = resp.status().is_success()
        || resp.status().is_redirection()
        || resp.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS;
    tracing::info!(
        request_id = %id,
        client_request_id = client_id.as_deref(),
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        operation = %graphql.map_or(std::borrow::Cow::Borrowed("-"), |g| graphql::metrics::operation_name(g.operation.as_deref())),
        outcome = graphql.map_or_else(|| if fine { "ok" } else { "refused" }, |g| g.outcome.as_str()),
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}
