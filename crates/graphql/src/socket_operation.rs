//! What runs around each operation of a WebSocket (an extension of the socket's schema): the
//! login checked again before it runs (an operation started after the login ended does not run),
//! a request id of its own (in its audit entries and its log line), one set of private reads
//! flushed when it ends, its metrics and one log line.
use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Instant,
};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextSubscribe,
        NextValidation,
    },
    futures_util::stream::BoxStream,
    parser::types::{ExecutableDocument, OperationType},
};
use futures_util::{Stream, StreamExt};

use crate::AppState;
use cybermed_core::{
    db::REQUEST_ID,
    login::{RequestAuth, SocketLogin},
};

/// Why every operation of a socket without a login is refused (`UNAUTHENTICATED`): put in the
/// socket's data by its `connection_init`.
pub struct Refusal(pub &'static str);

/// Per operation on a socket: the login checked again (an operation started after the login
/// ended does not run), a request id of its own (in its audit entries and its log line), and one
/// log line when it ends.
pub struct SocketOperations;

impl ExtensionFactory for SocketOperations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SocketOperation { request_id: uuid::Uuid::new_v4().to_string(), info: Arc::default() })
    }
}

struct SocketOperation {
    request_id: String,
    info: Arc<Mutex<OperationInfo>>,
}

/// What an operation's log line and metrics say of it, learnt as it is prepared and parsed.
struct OperationInfo {
    /// Its name (the one asked for, or the document's only operation's); never its text.
    name: Option<String>,
    /// A subscription lasts as long as the client wants: it is counted but not timed.
    subscription: bool,
    /// Whether `name` may be a metrics label: `Valid` once the document validated, `Invalid` when
    /// it did not parse or validate or names no operation, `Unchecked` when refused before.
    validity: crate::metrics::Validity,
}

impl Default for OperationInfo {
    fn default() -> Self {
        Self { name: None, subscription: false, validity: crate::metrics::Validity::Unchecked }
    }
}

#[async_trait::async_trait]
impl Extension for SocketOperation {
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let span = tracing::info_span!("operation", transport = "websocket", request_id = %self.request_id);
        Box::pin(Operation {
            inner: next.run(ctx, stream),
            request_id: self.request_id.clone(),
            info: self.info.clone(),
            span,
            started: Instant::now(),
            outcome: crate::metrics::Outcome::Ok,
        })
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await;
        let Ok(doc) = doc else {
            if let Ok(mut info) = self.info.lock() {
                info.validity = crate::metrics::Validity::Invalid;
            }
            return doc;
        };
        if let Ok(mut info) = self.info.lock() {
            if !super::names_an_operation(&doc, info.name.as_deref()) {
                info.validity = crate::metrics::Validity::Invalid;
            }
            let op = super::selected_operation(&doc, info.name.as_deref());
            info.subscription = op.is_some_and(|op| op.node.ty == OperationType::Subscription);
            if info.name.is_none() && doc.operations.iter().count() == 1 {
                info.name = doc.operations.iter().next().and_then(|(n, _)| n).map(ToString::to_string);
            }
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if let Ok(mut info) = self.info.lock()
            && info.validity == crate::metrics::Validity::Unchecked
        {
            info.validity =
                if result.is_ok() { crate::metrics::Validity::Valid } else { crate::metrics::Validity::Invalid };
        }
        result
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut info) = self.info.lock() {
            info.name.clone_from(&request.operation_name);
        }
        let refused =
            |why: &'static str| crate::errors::request_error(cybermed_core::error::AppError::Unauthenticated(why));
        let (Ok(state), Ok(login)) = (ctx.data::<AppState>(), ctx.data::<Arc<SocketLogin>>()) else {
            return Err(refused(ctx.data::<Refusal>().map_or("Invalid or expired token", |r| r.0)));
        };
        let viewer = login.current(state).await.map_err(crate::errors::request_error)?;
        let request = request.data(RequestAuth::resolved(Arc::new(viewer)));
        // A query or mutation notes its reads of patients' private fields here, written in one
        // statement before its answer leaves (`execute`); a subscription audits per event.
        let request = request.data(Arc::new(super::reads::PrivateReads::default()));
        next.run(ctx, request.data(super::loaders::for_socket_operation(state))).await
    }

    /// A query or mutation (subscriptions do not come here): one `patient.read` per patient it
    /// read, written before the answer leaves; if that fails, the data is withheld, as over HTTP.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let (Ok(state), Ok(reads)) = (ctx.data::<AppState>(), ctx.data::<Arc<super::reads::PrivateReads>>()) else {
            return response;
        };
        match reads.flush(state).await {
            Ok(()) => response,
            Err(e) => Response::from_errors(vec![crate::errors::request_error(e)]),
        }
    }
}

/// An operation's responses, each produced inside its request id's scope and log span.
struct Operation<'s> {
    inner: BoxStream<'s, Response>,
    request_id: String,
    info: Arc<Mutex<OperationInfo>>,
    span: tracing::Span,
    started: Instant,
    /// The worst seen so far: refused (nothing ran) or error (some field failed).
    outcome: crate::metrics::Outcome,
}

impl Stream for Operation<'_> {
    type Item = Response;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let this = self.get_mut();
        let polled =
            this.span.in_scope(|| REQUEST_ID.sync_scope(this.request_id.clone(), || this.inner.poll_next_unpin(cx)));
        if let Poll::Ready(Some(response)) = &polled
            && response.is_err()
            && this.outcome == crate::metrics::Outcome::Ok
        {
            // As over HTTP: a request error is a refusal.
            let refused = crate::errors::is_request_error(response);
            this.outcome = if refused { crate::metrics::Outcome::Refused } else { crate::metrics::Outcome::Error };
        }
        polled
    }
}

impl Drop for Operation<'_> {
    fn drop(&mut self) {
        let (name, subscription, validity) = self
            .info
            .lock()
            .map(|i| (i.name.clone(), i.subscription, i.validity))
            .unwrap_or((None, false, crate::metrics::Validity::Unchecked));
        let elapsed = self.started.elapsed();
        crate::metrics::operation(name.as_deref(), validity, self.outcome, (!subscription).then_some(elapsed));
        tracing::info!(
            parent: &self.span,
            // A field of the line itself, as in the HTTP request line (in JSON: under `fields`).
            request_id = %self.request_id,
            operation = %crate::metrics::operation_name(name.as_deref()),
            outcome = self.outcome.as_str(),
            duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "websocket operation"
        );
    }
}
