//! GraphQL over HTTP, by hand rather than with the stock service: it must refuse batches,
//! non-JSON posts (no cross-site form posts) and mutations over GET.
//!
//! Works around async-graphql-axum 7.2.1's extractor (any non-multipart body read as JSON,
//! mutations run over GET, a body without `query` read as an empty document); no upstream issue
//! found, 8.0.0-rc.5 unchanged. See docs/async-graphql.md.
use std::net::SocketAddr;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use serde::Deserialize;

use std::sync::Arc;

use super::{ClientAddr, CyberSchema, limits::DocumentLimits, nulls::Nulls, reads::PrivateReads};
use crate::{AppState, metrics::Validity};
use cybermed_core::login::RequestAuth;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// What the GraphQL routes need.
#[derive(Clone)]
pub struct GraphqlState {
    /// For HTTP: documents are checked before they reach it.
    pub schema: CyberSchema,
    /// For HTTP requests that passed `schema`'s validation before, exactly as they are now: the
    /// same schema without validation's rules ([`crate::build_revalidating_schema`]).
    pub revalidating_schema: CyberSchema,
    /// For WebSocket operations: checks the documents itself.
    pub ws_schema: CyberSchema,
    pub limits: DocumentLimits,
    /// Places field errors' nulls in HTTP responses (the WebSocket schema does it itself).
    pub nulls: Nulls,
    /// Keeps introspection over HTTP to the types the printed SDL describes.
    pub unused_scalars: super::introspection::UnusedScalars,
    pub app: AppState,
}

/// `POST /graphql`: one operation as `application/json`.
pub async fn post(
    State(st): State<GraphqlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let wants_gql_json = accepts_graphql_response_json(&headers);
    if !is_json_content_type(&headers) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
            wants_gql_json,
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return request_error(StatusCode::BAD_REQUEST, "The body is not valid JSON", wants_gql_json);
        }
    };
    if value.is_array() {
        return request_error(StatusCode::BAD_REQUEST, "Batch requests are not supported", wants_gql_json);
    }
    // GraphQL over HTTP: a request without `query` is malformed (async-graphql would read it as an
    // empty document and answer 200 with a parse error).
    if value.get("query").is_none() {
        return request_error(StatusCode::BAD_REQUEST, "The body has no `query`", wants_gql_json);
    }
    let request: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(_) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "The body is not a GraphQL request (query, variables, operationName)",
                wants_gql_json,
            );
        }
    };
    execute(&st, request, &headers, peer, wants_gql_json).await
}

/// The query string of a GET request, as GraphQL over HTTP names it.
#[derive(Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    fn into_request(self) -> Option<async_graphql::Request> {
        let mut request = async_graphql::Request::new(self.query?);
        if let Some(name) = self.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        if let Some(vars) = self.variables.filter(|v| !v.is_empty()) {
            let json: serde_json::Value = serde_json::from_str(&vars).ok()?;
            request = request.variables(async_graphql::Variables::from_json(json));
        }
        if let Some(ext) = self.extensions.filter(|v| !v.is_empty()) {
            request.extensions = serde_json::from_str(&ext).ok()?;
        }
        Some(request)
    }
}

/// `GET /graphql?query=…`: queries only; a mutation is refused with 405.
pub async fn get(
    State(st): State<GraphqlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let wants_gql_json = accepts_graphql_response_json(&headers);
    let Some(request) = params.ok().and_then(|Query(p)| p.into_request()) else {
        return request_error(
            StatusCode::BAD_REQUEST,
            "Invalid GraphQL query string (`query` is required; `variables` and `extensions` must be JSON)",
            wants_gql_json,
        );
    };
    if let Ok(doc) = st.limits.prepare(&request.query)
        && let Some(op) = super::selected_operation(&doc, request.operation_name.as_deref())
        && op.node.ty != OperationType::Query
    {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only queries may be sent with GET; use POST",
            wants_gql_json,
        );
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    execute(&st, request, &headers, peer, wants_gql_json).await
}

async fn execute(
    st: &GraphqlState,
    request: async_graphql::Request,
    headers: &HeaderMap,
    peer: SocketAddr,
    wants_gql_json: bool,
) -> Response {
    // A document nested too deep is refused before anything parses it (the parser recurses).
    if let Err(e) = super::limits::prescan(&request.query) {
        return request_error(StatusCode::BAD_REQUEST, &e.message, wants_gql_json);
    }
    let auth = RequestAuth::from_headers(headers);
    let mut operation = request.operation_name.clone();
    // Junk must not claim metrics labels: a name counts as one only once its document validated.
    let mut validity = Validity::Invalid;
    let prepared = st
        .limits
        .prepare(&request.query)
        .inspect(|doc| {
            if super::names_an_operation(doc, request.operation_name.as_deref()) {
                validity = Validity::Unchecked;
            }
        })
        .and_then(|doc| super::limits::check_inputs(&doc, &request.variables).map(|()| doc))
        .inspect(|doc| {
            operation = operation.take().or_else(|| only_operation_name(doc));
        });
    let response = match prepared {
        Ok(doc) => {
            // A token that was sent must authenticate, whatever the operation: never silently
            // anonymous (only `refreshToken`/`logout` let a genuine but expired one pass).
            if let Err(e) = auth.check(&st.app, only_session_mutations(&doc, request.operation_name.as_deref())).await {
                let error = crate::errors::request_error(e);
                return respond(
                    &async_graphql::Response::from_errors(vec![error]),
                    operation,
                    validity,
                    wants_gql_json,
                );
            }
            let client = cybermed_core::net::client_ip(peer.ip(), headers, &st.app.config.trusted_proxies);
            let mut request =
                request.data(auth).data(ClientAddr(client.to_string())).data(super::loaders::for_request(&st.app));
            let root_order = super::order::RootOrder::of(&doc, request.operation_name.as_deref());
            request.set_parsed_query(doc);
            // The schema runs the parsed document (and has no extension that reads the text):
            // the text is kept, without a copy, to place field errors' nulls if there are any.
            let query = std::mem::take(&mut request.query);
            let operation_name = request.operation_name.clone();
            let introspects = query.contains("__schema") || query.contains("__type");
            let validated = st.limits.was_validated(&query, operation_name.as_deref(), &request.variables);
            // Kept for after the execution: to remember them as validated, to hide unused scalars.
            let to_mark = (!validated).then(|| request.variables.clone());
            let variables = if introspects { request.variables.clone() } else { async_graphql::Variables::default() };
            let reads = Arc::new(PrivateReads::default());
            let schema = if validated { &st.revalidating_schema } else { &st.schema };
            let mut response = schema.execute(request.data(reads.clone())).await;
            // Validation is the schema's first step: an answer without data whose errors name no
            // field is its refusal (or a refusal after it).
            let refused = crate::errors::is_request_error(&response);
            if let Some(variables) = to_mark
                && !refused
            {
                st.limits.mark_validated(&query, operation_name.as_deref(), variables);
            }
            root_order.apply(&mut response.data);
            if validity == Validity::Unchecked {
                validity = if refused { Validity::Invalid } else { Validity::Valid };
            }
            if (introspects || !response.errors.is_empty())
                && let Ok(doc) = st.limits.prepare(&query)
            {
                st.nulls.fix(&doc, operation_name.as_deref(), &mut response);
                if introspects {
                    st.unused_scalars.hide(&doc, operation_name.as_deref(), &variables, &mut response);
                }
            }
            // Reads of patients' private fields are audited before anything leaves; if that
            // fails, the data is withheld.
            match reads.flush(&st.app).await {
                Ok(()) => response,
                Err(e) => async_graphql::Response::from_errors(vec![crate::errors::request_error(e)]),
            }
        }
        Err(e) => async_graphql::Response::from_errors(vec![e]),
    };
    respond(&response, operation, validity, wants_gql_json)
}

/// The name of the document's one operation, when it has exactly one and it is named.
fn only_operation_name(doc: &ExecutableDocument) -> Option<String> {
    let mut ops = doc.operations.iter();
    match (ops.next(), ops.next()) {
        (Some((name, _)), None) => name.map(ToString::to_string),
        _ => None,
    }
}

/// Whether the operation to run selects nothing but `refreshToken`, `logout` (and `__typename`):
/// they authenticate with the refresh token in their arguments.
fn only_session_mutations(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let Some(op) = super::selected_operation(doc, operation_name) else { return false };
    op.node.ty == OperationType::Mutation
        && op.node.selection_set.node.items.iter().all(|sel| {
            matches!(&sel.node, Selection::Field(f)
                if matches!(f.node.name.node.as_str(), "refreshToken" | "logout" | "__typename"))
        })
}

/// What the request log line says of a GraphQL request (see [`crate::app`]'s request log).
#[derive(Clone, Debug)]
pub struct GraphqlOutcome {
    /// The operation's name, never its text or variables.
    pub operation: Option<String>,
    /// `ok`, `error` (some field failed) or `refused` (nothing ran).
    pub outcome: crate::metrics::Outcome,
    /// Whether `operation` may be a metrics label.
    pub validity: Validity,
}

/// Serializes a GraphQL response.
fn respond(
    response: &async_graphql::Response,
    operation: Option<String>,
    validity: Validity,
    wants_gql_json: bool,
) -> Response {
    // A request error (the document did not parse or validate) never reached execution: per
    // GraphQL over HTTP it has no `data`, and with the newer media type it is a 400.
    let request_failed = crate::errors::is_request_error(response);
    // Serialized straight from the response (no intermediate JSON tree: that doubled the cost of
    // a large answer).
    let body = if request_failed {
        serde_json::to_string(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(response)
    };
    let Ok(body) = body else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let status = if request_failed && wants_gql_json { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let outcome = match (request_failed, response.errors.is_empty()) {
        (true, _) => crate::metrics::Outcome::Refused,
        (false, true) => crate::metrics::Outcome::Ok,
        (false, false) => crate::metrics::Outcome::Error,
    };
    let mut resp = json_response(status, body, wants_gql_json);
    resp.extensions_mut().insert(GraphqlOutcome { operation, outcome, validity });
    resp
}

fn json_response(status: StatusCode, body: String, gql_json: bool) -> Response {
    let content_type = if gql_json { GRAPHQL_RESPONSE_JSON } else { "application/json" };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An HTTP-level refusal (nothing parsed or ran): `{"errors":[{"message":…}]}` with `status`,
/// counted as a `refused` operation labelled `invalid`, and logged as `anonymous`.
fn request_error(status: StatusCode, message: &str, gql_json: bool) -> Response {
    let mut resp =
        json_response(status, serde_json::json!({ "errors": [{ "message": message }] }).to_string(), gql_json);
    resp.extensions_mut().insert(GraphqlOutcome {
        operation: None,
        outcome: crate::metrics::Outcome::Refused,
        validity: Validity::Invalid,
    });
    resp
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m == GRAPHQL_RESPONSE_JSON)
}

fn accepts_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)))
}

/// `GET /graphiql`: the GraphiQL playground, with every asset served from this binary so that it
/// works without internet access.
pub async fn graphiql() -> Html<&'static str> {
    Html(include_str!("../static/index.html"))
}

/// `GET /graphiql/assets/{file}`: GraphiQL's scripts and styles (MIT-licensed, see `crates/graphql/static`).
pub async fn graphiql_asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (include_bytes!("../static/graphiql.min.js"), "text/javascript"),
        "graphiql.min.css" => (include_bytes!("../static/graphiql.min.css"), "text/css"),
        "react.production.min.js" => (include_bytes!("../static/react.production.min.js"), "text/javascript"),
        "react-dom.production.min.js" => (include_bytes!("../static/react-dom.production.min.js"), "text/javascript"),
        "init.js" => (include_bytes!("../static/init.js"), "text/javascript"),
        "page.css" => (include_bytes!("../static/page.css"), "text/css"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /health`: the process is alive.
pub async fn health() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#).into_response()
}

/// `GET /ready`: 200 only when the database answers.
pub async fn ready(State(st): State<GraphqlState>) -> Response {
    match st.app.db.ping().await {
        Ok(()) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ready"}"#).into_response()
        }
        Err(e) => {
            tracing::warn!(reason = %cybermed_core::error::describe_db_err(&e), "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"unavailable"}"#,
            )
                .into_response()
        }
    }
}
