//! A FHIR R4 API under `/fhir/r4`, beside `/graphql`: the same bearer token, the same domain
//! functions and the same privacy module, answered as FHIR resources. Reads and searches, and the
//! scheduling operations `Appointment/$find` and `Appointment/$book` ([`operations`]); nothing else
//! writes.
//!
//! Every handler is thin: authenticate ([`authenticate`], the GraphQL handler's `RequestAuth`),
//! read through the domain layer (`appointments::get`/`list_counted`, `accounts::find_visible_user`
//! and `access_of`, `schedule::available_slots`) or book through it (`appointments::create`), shape
//! the answer ([`resources`]). Failures leave as an `OperationOutcome` ([`FhirError`]).
pub mod operations;
pub mod resources;
pub mod search;

use std::{collections::HashMap, sync::Arc};

use axum::{
    Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::TimeDelta;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use self::{
    resources::{Bundle, BundleEntry, BundleLink, Concept, OperationOutcome},
    search::{Pairs, Range},
};
use cybermed_core::page::KeysetPage;
use cybermed_core::{
    Core,
    auth::viewer::Viewer,
    db::entities::appointment,
    domain::{
        Role, accounts,
        appointments::{self, AppointmentCursor, AppointmentFilter},
        audit,
        privacy::PrivateField,
        profiles,
        schedule::{self, DoctorCalendar},
        visit_types,
    },
    error::AppError,
    login::RequestAuth,
};

/// The media type of every answer, errors included.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// The routes under `/fhir/r4` (nested there by [`crate::app::router`], inside its layers: request
/// id, log line, `Cache-Control: no-store`, body and time limits).
pub fn router(state: Core) -> Router {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/Appointment", get(search_appointments))
        // The operations' `$` is sent as it is by FHIR clients, percent-encoded by some others;
        // a path is matched before it is decoded, so both spellings are routes.
        .route("/Appointment/$find", find())
        .route("/Appointment/%24find", find())
        .route("/Appointment/$book", book())
        .route("/Appointment/%24book", book())
        .route("/Appointment/{id}", get(read_appointment))
        .route("/Patient/{id}", get(read_patient))
        .route("/Practitioner/{id}", get(read_practitioner))
        .route("/Schedule/{id}", get(read_schedule))
        .route("/Slot", get(search_slots))
        .fallback(unknown_path)
        .method_not_allowed_fallback(read_only)
        .with_state(state)
}

/// `Appointment/$find`: GET or POST.
fn find() -> axum::routing::MethodRouter<Core> {
    get(operations::find_get).post(operations::find_post).fallback(|| async { not_allowed("GET, POST") })
}

/// `Appointment/$book`: POST.
fn book() -> axum::routing::MethodRouter<Core> {
    post(operations::book).fallback(|| async { not_allowed("POST") })
}

/// A failure, answered as an `OperationOutcome` with its HTTP status.
#[derive(Debug)]
pub enum FhirError {
    /// A domain failure: `NOT_FOUND` 404, `BAD_USER_INPUT` 400, internal 500 (logged, no detail).
    App(AppError),
    /// 401: no `Authorization` header.
    NoToken,
    /// 401: a token that does not authenticate (bad, expired, revoked, inactive user).
    BadToken,
    /// 405: the path answers only the methods named (an `Allow` value).
    MethodNotAllowed(&'static str),
    /// 400 `invalid`: a body that is not the resource asked for, or lacks an element it needs.
    Invalid(String),
    /// 415: a body that is not FHIR JSON.
    UnsupportedMediaType,
}

impl From<AppError> for FhirError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

type FhirResult<T> = Result<T, FhirError>;

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        const NO_TOKEN: &str = "Bearer";
        const BAD_TOKEN: &str = r#"Bearer error="invalid_token""#;
        let (status, code, diagnostics, challenge) = match self {
            Self::NoToken => (
                StatusCode::UNAUTHORIZED,
                "login",
                "Authentication required: send Authorization: Bearer <access token>".to_owned(),
                Some(NO_TOKEN),
            ),
            Self::BadToken => {
                (StatusCode::UNAUTHORIZED, "login", "Invalid or expired token".to_owned(), Some(BAD_TOKEN))
            }
            Self::MethodNotAllowed(allow) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "not-supported",
                if allow == "GET" {
                    "This path is read-only: GET only".to_owned()
                } else {
                    format!("This operation takes {allow} only")
                },
                None,
            ),
            Self::Invalid(diagnostics) => (StatusCode::BAD_REQUEST, "invalid", diagnostics, None),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "not-supported",
                "Send the body as application/fhir+json".to_owned(),
                None,
            ),
            Self::App(e) => {
                let (status, code, diagnostics) = outcome_of(&e);
                let challenge = (status == StatusCode::UNAUTHORIZED).then_some(BAD_TOKEN);
                (status, code, diagnostics, challenge)
            }
        };
        let mut resp = fhir_json(status, &OperationOutcome::error(code, diagnostics));
        if let Some(challenge) = challenge {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        resp
    }
}

/// The HTTP status, FHIR issue code and diagnostics of a domain failure; an internal one is
/// logged with a reference and answered with nothing but that reference.
fn outcome_of(e: &AppError) -> (StatusCode, &'static str, String) {
    let (status, code) = match e {
        AppError::InOccurrence { error, .. } => return outcome_of(error),
        AppError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "login"),
        AppError::Forbidden | AppError::Refused(_) => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::NotFound(_) | AppError::NotFoundAt { .. } => (StatusCode::NOT_FOUND, "not-found"),
        AppError::BadInput { .. } => (StatusCode::BAD_REQUEST, "value"),
        AppError::Conflict { .. } | AppError::ConflictFor { .. } => (StatusCode::CONFLICT, "conflict"),
        AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "exception"),
    };
    let diagnostics = e.message();
    (status, code, diagnostics)
}

/// `body` as `application/fhir+json`.
fn fhir_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], bytes).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"Internal server error"}]}"#,
        )
            .into_response(),
    }
}

/// The signed-in viewer of the `Authorization: Bearer` header, checked as for GraphQL (signature,
/// expiry, type, revoked logins, inactive users).
///
/// # Errors
/// [`FhirError::NoToken`] without a header, [`FhirError::BadToken`] for one that does not
/// authenticate; internal when the database cannot tell.
async fn authenticate(state: &Core, headers: &HeaderMap) -> FhirResult<Arc<Viewer>> {
    match RequestAuth::from_headers(headers).viewer(state).await {
        Ok(Some(viewer)) => Ok(viewer),
        Ok(None) => Err(FhirError::NoToken),
        Err(AppError::Unauthenticated(_)) => Err(FhirError::BadToken),
        Err(e) => Err(e.into()),
    }
}

/// Query pairs, or a 400 for a query string that does not decode.
fn pairs(query: Result<Query<Vec<(String, String)>>, QueryRejection>) -> FhirResult<Vec<(String, String)>> {
    query.map(|Query(p)| p).map_err(|_| AppError::bad_input("query", "The query string could not be read").into())
}

/// An id in a path: anything but a UUID is an id nothing has (404).
fn path_id(id: &str, what: &'static str) -> FhirResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound(what).into())
}

/// Renames `NOT_FOUND` to the resource asked for (the domain says "User" or "Doctor").
fn not_found_as(what: &'static str) -> impl Fn(AppError) -> FhirError {
    move |e| match e {
        AppError::NotFound(_) => AppError::NotFound(what).into(),
        other => other.into(),
    }
}

/// `<PUBLIC_URL>/fhir/r4`.
fn base(state: &Core) -> String {
    format!("{}/fhir/r4", state.config.public_url.trim_end_matches('/'))
}

/// The `serviceType` of each visit type the appointments name, by type id: one query for them all
/// (none when none has a type). A party sees the type of their own appointment whatever its state.
async fn service_types<'a>(
    state: &Core,
    appts: impl IntoIterator<Item = &'a appointment::Model>,
) -> FhirResult<HashMap<Uuid, Concept>> {
    let mut ids: Vec<Uuid> = appts.into_iter().filter_map(|a| a.visit_type_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let system = resources::visit_type_system(&state.config.public_url);
    Ok(visit_types::by_ids(&state.reads, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, Concept::visit_type(&system, t.id, &t.name)))
        .collect())
}

/// An appointment as a resource, with its visit type's `serviceType` out of `types`.
fn appointment_resource(a: &appointment::Model, types: &HashMap<Uuid, Concept>) -> resources::Appointment {
    resources::Appointment::stored(a, a.visit_type_id.and_then(|id| types.get(&id).cloned()))
}

/// `GET /fhir/r4/metadata`: what this server does (anonymous).
async fn metadata(State(state): State<Core>) -> Response {
    let param = |name: &str, kind: &str, doc: &str| json!({ "name": name, "type": kind, "documentation": doc });
    let read_search = json!([{ "code": "read" }, { "code": "search-type" }]);
    let capability = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": resources::instant(state.clock.now()),
        "publisher": "CyberMed",
        "kind": "instance",
        "software": { "name": "CyberMed", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "CyberMed clinic appointments: a FHIR R4 view of the GraphQL API's data, with the IHE ITI Scheduling operations $find and $book",
            "url": base(&state),
        },
        "fhirVersion": resources::FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every request but metadata needs Authorization: Bearer <access token> (from the GraphQL login). The privacy rules are those of the GraphQL API. Unknown search parameters are refused with 400.",
            "security": {
                "description": "Bearer access tokens (JWT) issued by the GraphQL login mutation",
            },
            "resource": [
                {
                    "type": "Appointment",
                    "interaction": read_search,
                    "searchParam": [
                        param("patient", "reference", "Patient/<id> or an id"),
                        param("practitioner", "reference", "Practitioner/<id> or an id"),
                        param("date", "date", "The start; prefixes eq (default), ge, gt, le, lt; may repeat (all apply); dates are UTC days"),
                        param("status", "token", "pending, booked, fulfilled, cancelled, noshow; a comma list matches any"),
                        param("_count", "number", "Entries per page, default 20, at most 100 (more is lowered to 100)"),
                    ],
                    "operation": [
                        {
                            "name": "find",
                            "definition": operations::FIND_DEFINITION,
                            "documentation": "GET or POST Appointment/$find?start=&end=&practitioner=[&service-type=]: proposed appointments, one per start availableSlots lists (range at most 31 days)",
                        },
                        {
                            "name": "book",
                            "definition": operations::BOOK_DEFINITION,
                            "documentation": "POST Appointment/$book with a Parameters body whose appointment-resource is a pending Appointment: books it as createAppointment (201 with Location)",
                        },
                    ],
                },
                { "type": "Patient", "interaction": [{ "code": "read" }] },
                { "type": "Practitioner", "interaction": [{ "code": "read" }] },
                { "type": "Schedule", "interaction": [{ "code": "read" }] },
                {
                    "type": "Slot",
                    "interaction": [{ "code": "search-type" }],
                    "searchParam": [
                        param("schedule", "reference", "Schedule/<doctor id> or an id (required)"),
                        param("start", "date", "A lower (ge/gt) and an upper (le/lt) bound, at most 31 days apart (required)"),
                        param("status", "token", "free (the only status listed)"),
                    ],
                },
            ],
        }],
    });
    fhir_json(StatusCode::OK, &capability)
}

/// `GET /fhir/r4/Appointment/<id>`: one appointment the viewer may see (else 404).
async fn read_appointment(
    State(state): State<Core>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let id = path_id(&id, "Appointment")?;
    let appt = appointments::get(&state, &viewer, id).await.map_err(not_found_as("Appointment"))?;
    let types = service_types(&state, std::slice::from_ref(&appt)).await?;
    Ok(fhir_json(StatusCode::OK, &appointment_resource(&appt, &types)))
}

/// `GET /fhir/r4/Appointment?…`: the viewer's appointments (admins: all), newest start first, as
/// a `searchset` Bundle with `total` and a `next` link while more remain.
async fn search_appointments(
    State(state): State<Core>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let mut pairs = pairs(query)?;
    let known = ["patient", "practitioner", "date", "status", "_count", "_total", "_sort", search::CURSOR];
    let ignored = search::check_known(&mut pairs, &known, search::lenient(&headers))?;
    let with_total = search::wants_total(&pairs)?;
    let oldest_first = search::oldest_first(&pairs)?;
    let patient_id =
        search::single(&pairs, "patient")?.map(|v| search::reference("patient", "Patient", v)).transpose()?;
    let doctor_id = search::single(&pairs, "practitioner")?
        .map(|v| search::reference("practitioner", "Practitioner", v))
        .transpose()?;
    let mut range = Range::default();
    for v in search::values(&pairs, "date") {
        range.narrow("date", v)?;
    }
    let statuses = search::appointment_statuses(&pairs)?;
    let count = search::count(&pairs)?;
    let after = search::decode_cursor(&pairs)?;
    let here = format!("{}/Appointment", base(&state));
    let self_link = BundleLink {
        relation: "self",
        url: search::link(&here, &pairs, Some(count), search::single(&pairs, search::CURSOR)?),
    };
    let now = state.clock.now();
    if range.is_empty() || statuses.as_ref().is_some_and(Vec::is_empty) {
        let bundle: Bundle<resources::Appointment> =
            Bundle::searchset(now, with_total.then_some(0), vec![self_link], Vec::new()).ignoring(&ignored);
        return Ok(fhir_json(StatusCode::OK, &bundle));
    }
    let filter = AppointmentFilter {
        status: statuses.unwrap_or_default(),
        from: range.from,
        to: range.to,
        doctor_id,
        patient_id,
    };
    // The `next` link's cursor is the last appointment's position, as GraphQL's cursors are.
    let (page, total): (KeysetPage<AppointmentCursor, _>, Option<u64>) = match (count, with_total) {
        (0, true) => (KeysetPage::empty(after.is_some()), Some(appointments::count(&state, &viewer, &filter).await?)),
        (0, false) => (KeysetPage::empty(after.is_some()), None),
        _ => appointments::list_counted(&state, &viewer, &filter, after, count, with_total, oldest_first).await?,
    };
    let mut link = vec![self_link];
    if page.has_next
        && let Some(last) = page.last_key()
    {
        let cursor = cybermed_core::page::encode_cursor(last);
        link.push(BundleLink { relation: "next", url: search::link(&here, &pairs, Some(count), Some(&cursor)) });
    }
    let types = service_types(&state, page.rows()).await?;
    let entry = page
        .rows()
        .map(|a| BundleEntry::matched(Some(format!("{here}/{}", a.id)), appointment_resource(a, &types)))
        .collect();
    let total = if with_total { Some(total.unwrap_or(0)) } else { None };
    Ok(fhir_json(StatusCode::OK, &Bundle::searchset(now, total, link, entry).ignoring(&ignored)))
}

/// `GET /fhir/r4/Patient/<id>`: a patient the viewer may know exists (as GraphQL `user(id)`),
/// private fields only where the privacy rules allow, such a read by anyone but the patient
/// audited as `patient.read`.
async fn read_patient(State(state): State<Core>, headers: HeaderMap, Path(id): Path<String>) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let id = path_id(&id, "Patient")?;
    let user = accounts::find_visible_user(&state.reads, &viewer, id).await.map_err(not_found_as("Patient"))?;
    if user.role != Role::Patient {
        return Err(AppError::NotFound("Patient").into());
    }
    let access = accounts::access_of(&state.reads, &viewer, &user).await?;
    let profile = if access.reads(PrivateField::PatientProfile) {
        profiles::patient_profiles_of(&state.reads, &[user.id]).await?.remove(&user.id)
    } else {
        None
    };
    // Audited before anything leaves; if that fails, nothing is answered.
    if let Some((reader, patient)) = access.audited_read(viewer.id(), &user) {
        audit::record(&state.writer, Some(reader), "patient.read", Some(patient), state.clock.now()).await?;
    }
    Ok(fhir_json(StatusCode::OK, &resources::Patient::new(&user, access, profile.as_ref())))
}

/// `GET /fhir/r4/Practitioner/<id>`: any doctor, to anyone signed in; private fields only where
/// the privacy rules allow.
async fn read_practitioner(
    State(state): State<Core>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let id = path_id(&id, "Practitioner")?;
    let user = accounts::find_visible_user(&state.reads, &viewer, id).await.map_err(not_found_as("Practitioner"))?;
    if user.role != Role::Doctor {
        return Err(AppError::NotFound("Practitioner").into());
    }
    let access = accounts::access_of(&state.reads, &viewer, &user).await?;
    let profile = profiles::doctor_profiles_of(&state.reads, &[user.id]).await?.remove(&user.id);
    Ok(fhir_json(StatusCode::OK, &resources::Practitioner::new(&user, profile.as_ref(), access)))
}

/// `GET /fhir/r4/Schedule/<doctor id>`: a doctor's bookable calendar (`active` = verified).
async fn read_schedule(State(state): State<Core>, headers: HeaderMap, Path(id): Path<String>) -> FhirResult<Response> {
    authenticate(&state, &headers).await?;
    let id = path_id(&id, "Schedule")?;
    let cal = DoctorCalendar::load(&state.reads, id).await.map_err(not_found_as("Schedule"))?;
    let horizon = TimeDelta::days(appointments::MAX_DAYS_AHEAD);
    Ok(fhir_json(StatusCode::OK, &resources::Schedule::new(&cal, state.clock.now(), horizon)))
}

/// `GET /fhir/r4/Slot?schedule=…&start=ge…&start=lt…`: the free slots `availableSlots` gives, as
/// `Slot`s with status `free`, all in one Bundle (the range is at most 31 days).
async fn search_slots(
    State(state): State<Core>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let mut pairs = pairs(query)?;
    let ignored = search::check_known(&mut pairs, &["schedule", "start", "status"], search::lenient(&headers))?;
    let doctor = search::single(&pairs, "schedule")?
        .ok_or_else(|| AppError::bad_input("schedule", "schedule: required (Schedule/<doctor id>)"))
        .and_then(|v| search::reference("schedule", "Schedule", v))?;
    let mut range = Range::default();
    for v in search::values(&pairs, "start") {
        range.narrow("start", v)?;
    }
    let (Some(from), Some(to)) = (range.from, range.to) else {
        return Err(AppError::bad_input(
            "start",
            "start: give a lower (ge/gt) and an upper (le/lt) bound, at most 31 days apart",
        )
        .into());
    };
    let free_wanted = free_status(&pairs)?;
    let now = state.clock.now();
    let slots = if !free_wanted || from >= to {
        Vec::new()
    } else {
        match schedule::available_slots(&state.store, &viewer, doctor, from, to, None).await {
            Ok(slots) => slots,
            // A search that names no doctor finds nothing (a read of it would be 404).
            Err(AppError::NotFound(_)) => Vec::new(),
            Err(AppError::BadInput { message, .. }) => {
                return Err(AppError::bad_input("start", format!("start: {message}")).into());
            }
            Err(e) => return Err(e.into()),
        }
    };
    let here = format!("{}/Slot", base(&state));
    let link = vec![BundleLink { relation: "self", url: search::link(&here, &pairs, None, None) }];
    let total = u64::try_from(slots.len()).unwrap_or(u64::MAX);
    let entry = slots.into_iter().map(|s| BundleEntry::matched(None, resources::Slot::free(doctor, s))).collect();
    Ok(fhir_json(StatusCode::OK, &Bundle::searchset(now, Some(total), link, entry).ignoring(&ignored)))
}

/// Whether a Slot search's `status` admits free slots (the only ones listed).
fn free_status(pairs: &Pairs) -> FhirResult<bool> {
    const SLOT_STATUSES: [&str; 5] = ["busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"];
    let mut free = true;
    for value in search::values(pairs, "status") {
        let codes: Vec<&str> = value.split(',').map(str::trim).collect();
        if let Some(bad) = codes.iter().find(|c| !SLOT_STATUSES.contains(c)) {
            return Err(AppError::bad_input("status", format!("status: '{bad}' is not a slot status")).into());
        }
        free &= codes.contains(&"free");
    }
    Ok(free)
}

/// Any other path under `/fhir/r4`: 404 as an `OperationOutcome`.
async fn unknown_path() -> FhirError {
    FhirError::App(AppError::NotFound("Resource type or interaction"))
}

/// A method other than GET (on every path but the operations'): 405.
async fn read_only() -> Response {
    not_allowed("GET")
}

/// 405, with `Allow: <allow>`.
fn not_allowed(allow: &'static str) -> Response {
    let mut resp = FhirError::MethodNotAllowed(allow).into_response();
    resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}
