//! The scheduling operations, after IHE ITI Scheduling's Find Potential Appointments and Book
//! Appointment: `Appointment/$find` proposes the appointments `availableSlots` would offer, and
//! `Appointment/$book` books one exactly as `createAppointment` does (`appointments::create`: the
//! same roles, rules, audit, events and emails).
//!
//! Parameters come in the query string or, for POST, in a `Parameters` body under the same names;
//! a body's values are read as the query string's (a reference's `reference`, a coding's
//! `system|code`), so that both forms are one code path.
use axum::{
    body::Bytes,
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    FhirError, FhirResult, appointment_resource, authenticate, base, fhir_json, not_found_as, pairs,
    resources::{self, Bundle, BundleEntry, BundleLink, Concept},
    search, service_types,
};
use cybermed_core::{
    Core,
    auth::viewer::Viewer,
    domain::{
        appointments::{self, NewAppointment, UpcomingLimits},
        schedule, visit_types,
    },
    error::AppError,
};

/// The canonical URL of IHE ITI Scheduling's `$find`.
pub const FIND_DEFINITION: &str = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find";
/// The canonical URL of IHE ITI Scheduling's `$book`.
pub const BOOK_DEFINITION: &str = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book";

/// The parameters `$find` reads.
const FIND_PARAMETERS: [&str; 4] = ["start", "end", "practitioner", "service-type"];

/// The parameter of `$book` that holds the Appointment to book.
const APPOINTMENT_RESOURCE: &str = "appointment-resource";

// ---------------------------------------------------------------------------------------------
// Bodies

/// The `parameter`s of a `Parameters` body; none for an empty body.
///
/// # Errors
/// 415 for a body declared as something else than JSON; 400 `invalid` for a body that is not a
/// `Parameters` resource.
fn parameters_of(headers: &HeaderMap, body: &[u8]) -> FhirResult<Vec<Map<String, Value>>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let media = kind.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(media.as_str(), "application/fhir+json" | "application/json") {
            return Err(FhirError::UnsupportedMediaType);
        }
    }
    let invalid = || FhirError::Invalid("The body must be a FHIR Parameters resource (JSON)".to_owned());
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else { return Err(invalid()) };
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(invalid());
    }
    match body.get("parameter") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|p| match p {
                Value::Object(p) if p.get("name").and_then(Value::as_str).is_some() => Ok(p.clone()),
                _ => Err(FhirError::Invalid("parameter: each needs a name".to_owned())),
            })
            .collect(),
        Some(_) => Err(FhirError::Invalid("parameter: expected a list".to_owned())),
    }
}

/// A parameter's name.
fn name_of(p: &Map<String, Value>) -> &str {
    p.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// A `Parameters` entry's value as a query string would carry it: a primitive as it is, a
/// `Reference` by its `reference`, a `Coding` (or a `CodeableConcept`'s first) as `system|code`.
///
/// # Errors
/// 400 `invalid` for an entry with no value (a `resource`, `part`s) or more than one.
fn query_value(p: &Map<String, Value>) -> FhirResult<String> {
    let name = name_of(p);
    let invalid = |why: &str| FhirError::Invalid(format!("{name}: {why}"));
    let mut values = p.iter().filter(|(k, _)| k.starts_with("value"));
    let (Some((kind, value)), None) = (values.next(), values.next()) else {
        return Err(invalid("expected one value[x]"));
    };
    let coding = |c: &Value| -> Option<String> {
        let code = c.get("code")?.as_str()?;
        Some(c.get("system").and_then(Value::as_str).map_or_else(|| code.to_owned(), |s| format!("{s}|{code}")))
    };
    let text = match (kind.as_str(), value) {
        (_, Value::String(s)) => Some(s.clone()),
        (_, Value::Number(n)) => Some(n.to_string()),
        (_, Value::Bool(b)) => Some(b.to_string()),
        ("valueReference", v) => v.get("reference").and_then(Value::as_str).map(str::to_owned),
        ("valueCoding", v) => coding(v),
        ("valueCodeableConcept", v) => v.get("coding").and_then(|c| c.get(0)).and_then(coding),
        _ => None,
    };
    text.ok_or_else(|| invalid(&format!("{kind} is not a value this parameter takes")))
}

// ---------------------------------------------------------------------------------------------
// $find

/// `GET /fhir/r4/Appointment/$find?start=&end=&practitioner=[&service-type=]`.
pub(super) async fn find_get(
    State(state): State<Core>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let pairs = pairs(query)?;
    find(&state, &viewer, &headers, pairs).await
}

/// `POST /fhir/r4/Appointment/$find` with a `Parameters` body (and, or, a query string).
pub(super) async fn find_post(
    State(state): State<Core>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let mut pairs = pairs(query)?;
    for p in parameters_of(&headers, &body)? {
        pairs.push((name_of(&p).to_owned(), query_value(&p)?));
    }
    find(&state, &viewer, &headers, pairs).await
}

/// Proposed appointments of `practitioner` (and `service-type`) starting in `[start, end)`: one
/// per start `availableSlots` lists, in order, as a `searchset` Bundle with `total`.
async fn find(
    state: &Core,
    viewer: &Viewer,
    headers: &HeaderMap,
    mut pairs: Vec<(String, String)>,
) -> FhirResult<Response> {
    let ignored = search::check_known(&mut pairs, &FIND_PARAMETERS, search::lenient(headers))?;
    let required = |name: &'static str, what: &str| {
        search::single(&pairs, name)?
            .ok_or_else(|| FhirError::from(AppError::bad_input(name, format!("{name}: required ({what})"))))
    };
    let start = search::window_bound("start", required("start", "a dateTime")?, false)?;
    let end = search::window_bound("end", required("end", "a dateTime")?, true)?;
    let doctor = search::reference("practitioner", "Practitioner", required("practitioner", "Practitioner/<id>")?)?;
    let system = resources::visit_type_system(&state.config.public_url);
    let visit_type = search::single(&pairs, "service-type")?
        .map(|v| {
            let code = search::token("service-type", &system, v)?;
            Uuid::parse_str(code).map_err(|_| {
                AppError::bad_input("service-type", format!("service-type: expected a visit type id, got '{v}'"))
            })
        })
        .transpose()?;
    if end <= start {
        return Err(AppError::bad_input("end", "end: must be after start").into());
    }
    if end - start > TimeDelta::days(schedule::MAX_SLOT_RANGE_DAYS) {
        let days = schedule::MAX_SLOT_RANGE_DAYS;
        return Err(AppError::bad_input("end", format!("end: the range can span at most {days} days")).into());
    }
    let service_type = match visit_type {
        Some(id) => {
            let t = visit_types::get_visible(&state.reads, viewer, id).await?;
            Some(Concept::visit_type(&system, t.id, &t.name))
        }
        None => None,
    };
    let slots = schedule::available_slots(&state.store, viewer, doctor, start, end, visit_type)
        .await
        .map_err(not_found_as("Practitioner"))?;
    let here = format!("{}/Appointment/$find", base(state));
    let link = vec![BundleLink { relation: "self", url: search::link(&here, &pairs, None, None) }];
    let total = u64::try_from(slots.len()).unwrap_or(u64::MAX);
    let entry = slots
        .into_iter()
        .map(|s| BundleEntry::matched(None, resources::Appointment::proposed(doctor, s, service_type.clone())))
        .collect();
    let now = state.clock.now();
    Ok(fhir_json(StatusCode::OK, &Bundle::searchset(now, Some(total), link, entry).ignoring(&ignored)))
}

// ---------------------------------------------------------------------------------------------
// $book

/// What a `$book` request's Appointment asks for.
#[derive(Debug, PartialEq, Eq)]
struct Booking {
    doctor: Uuid,
    patient: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: String,
    visit_type: Option<Uuid>,
}

/// 400 `value` naming an element.
fn bad(element: &'static str, why: impl std::fmt::Display) -> FhirError {
    AppError::bad_input(element, format!("{element}: {why}")).into()
}

/// 400 `invalid`: an element the Appointment needs is missing or of the wrong shape.
fn invalid(element: &str, why: impl std::fmt::Display) -> FhirError {
    FhirError::Invalid(format!("{element}: {why}"))
}

impl Booking {
    /// Reads the Appointment of a `$book` request. `base`: `<PUBLIC_URL>/fhir/r4` (a reference may
    /// be absolute under it); `system`: the visit types' code system.
    fn read(appt: &Value, base: &str, system: &str) -> FhirResult<Self> {
        let Some(appt) =
            appt.as_object().filter(|a| a.get("resourceType").and_then(Value::as_str) == Some("Appointment"))
        else {
            return Err(invalid(APPOINTMENT_RESOURCE, "expected an Appointment resource"));
        };
        match appt.get("status") {
            None => return Err(invalid("status", "required (pending)")),
            Some(Value::String(s)) if s == "pending" => {}
            Some(other) => {
                return Err(bad("status", format!("a booking's Appointment has status pending, not {other}")));
            }
        }
        let instant = |element: &'static str| match appt.get(element) {
            Some(Value::String(s)) => Ok(search::instant(element, s)?),
            Some(_) => Err(invalid(element, "expected an instant")),
            None => Err(invalid(element, "required")),
        };
        let (start, end) = (instant("start")?, instant("end")?);
        if let Some(minutes) = appt.get("minutesDuration")
            && minutes.as_i64() != Some((end - start).num_minutes())
        {
            return Err(bad("minutesDuration", "must be the minutes from start to end"));
        }
        let (mut doctor, mut patient) = (None, None);
        let participants = match appt.get("participant") {
            Some(Value::Array(p)) => p.as_slice(),
            _ => return Err(invalid("participant", "required: Practitioner/<id> and Patient/<id>")),
        };
        for p in participants {
            let reference = p.pointer("/actor/reference").and_then(Value::as_str).unwrap_or_default();
            let local = reference.strip_prefix(base).and_then(|r| r.strip_prefix('/')).unwrap_or(reference);
            let (slot, id) = match local.split_once('/') {
                Some(("Practitioner", id)) => (&mut doctor, id),
                Some(("Patient", id)) => (&mut patient, id),
                _ => {
                    return Err(bad(
                        "participant",
                        format!("each actor must be Practitioner/<id> or Patient/<id>, not '{reference}'"),
                    ));
                }
            };
            let id = Uuid::parse_str(id).map_err(|_| bad("participant", format!("'{reference}' names no id")))?;
            if slot.replace(id).is_some() {
                return Err(bad("participant", "one Practitioner and one Patient"));
            }
        }
        let doctor = doctor.ok_or_else(|| invalid("participant", "a Practitioner/<id> actor is required"))?;
        let patient = patient.ok_or_else(|| invalid("participant", "a Patient/<id> actor is required"))?;
        let reason = appt
            .get("reasonCode")
            .and_then(|r| r.pointer("/0/text"))
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| invalid("reasonCode", "the reason for visit is required, as reasonCode[0].text"))?;
        let visit_type = match appt.get("serviceType") {
            None => None,
            Some(Value::Array(types)) if types.len() == 1 => {
                let ours: Vec<&str> = types[0]
                    .get("coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.get("system").and_then(Value::as_str) == Some(system))
                    .filter_map(|c| c.get("code").and_then(Value::as_str))
                    .collect();
                let [code] = ours[..] else {
                    return Err(bad("serviceType", format!("expected one coding of {system}, as $find gives")));
                };
                Some(Uuid::parse_str(code).map_err(|_| bad("serviceType", format!("'{code}' is no visit type id")))?)
            }
            Some(_) => return Err(bad("serviceType", "at most one (a visit type, as $find gives)")),
        };
        Ok(Self { doctor, patient, start, end, reason: reason.to_owned(), visit_type })
    }
}

/// The Appointment of a `$book` request's `appointment-resource`.
fn appointment_of(params: &[Map<String, Value>]) -> FhirResult<&Value> {
    let mut found = None;
    for p in params {
        match name_of(p) {
            APPOINTMENT_RESOURCE => {
                if found.replace(p).is_some() {
                    return Err(invalid(APPOINTMENT_RESOURCE, "give it once"));
                }
            }
            "appointment-reference" => {
                return Err(bad(
                    "appointment-reference",
                    "not supported (a proposed appointment is not stored): send appointment-resource",
                ));
            }
            other => {
                return Err(AppError::bad_input(
                    other.to_owned(),
                    format!("Unknown or unsupported parameter '{other}'"),
                )
                .into());
            }
        }
    }
    found.and_then(|p| p.get("resource")).ok_or_else(|| {
        invalid(APPOINTMENT_RESOURCE, "required: a Parameters body with the Appointment to book as its resource")
    })
}

/// A booking's refusal in the FHIR request's terms: the diagnostics name the element
/// (`participant`, `start`, `end`, `reasonCode`, `serviceType`) where GraphQL names the input field.
fn in_fhir_terms(e: AppError) -> FhirError {
    let element = |field: &str| match field {
        "doctorId" => Some("participant (Practitioner)"),
        "patientId" => Some("participant (Patient)"),
        "startsAt" => Some("start"),
        "endsAt" => Some("end"),
        "reasonForVisit" => Some("reasonCode"),
        "visitTypeId" => Some("serviceType"),
        _ => None,
    };
    match e {
        AppError::BadInput { field, message } => match element(&field) {
            Some(el) => AppError::bad_input(el, format!("{el}: {message}")),
            None => AppError::BadInput { field, message },
        },
        AppError::Conflict { field, message } => match element(&field) {
            Some(el) => AppError::conflict(el, format!("{el}: {message}")),
            None => AppError::Conflict { field, message },
        },
        other => other,
    }
    .into()
}

/// `POST /fhir/r4/Appointment/$book`: books the `pending` Appointment of the `Parameters` body's
/// `appointment-resource` as `createAppointment` would for the caller; `201` with `Location` and
/// the stored Appointment.
pub(super) async fn book(State(state): State<Core>, headers: HeaderMap, body: Bytes) -> FhirResult<Response> {
    let viewer = authenticate(&state, &headers).await?;
    let params = parameters_of(&headers, &body)?;
    let base = base(&state);
    let system = resources::visit_type_system(&state.config.public_url);
    let b = Booking::read(appointment_of(&params)?, &base, &system)?;
    let new = NewAppointment {
        doctor_id: Some(b.doctor),
        patient_id: Some(b.patient),
        starts_at: b.start,
        reason_for_visit: b.reason,
        visit_type_id: b.visit_type,
        hold_id: None,
        // The end is the booking's own (the type's length, or the doctor's slot), judged in its
        // transaction: one that says otherwise asks for another visit than the one booked.
        ends_at: Some(b.end),
    };
    let appt = appointments::create(&state.store, &viewer, new, UpcomingLimits::from(&*state.config))
        .await
        .map_err(in_fhir_terms)?;
    let types = service_types(&state, std::slice::from_ref(&appt)).await?;
    let location = HeaderValue::from_str(&format!("{base}/Appointment/{}", appt.id))
        .map_err(|_| AppError::internal("PUBLIC_URL makes no header value"))?;
    let mut resp = fhir_json(StatusCode::CREATED, &appointment_resource(&appt, &types));
    resp.headers_mut().insert(header::LOCATION, location);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BASE: &str = "http://x/fhir/r4";
    const SYSTEM: &str = "http://x/fhir/visit-type";

    fn appointment() -> Value {
        json!({
            "resourceType": "Appointment", "status": "pending",
            "start": "2027-03-04T09:00:00Z", "end": "2027-03-04T09:30:00+00:00",
            "participant": [
                { "actor": { "reference": "Practitioner/0190a000-0000-7000-8000-000000000001" }, "status": "needs-action" },
                { "actor": { "reference": "http://x/fhir/r4/Patient/0190a000-0000-7000-8000-000000000002" } },
            ],
            "reasonCode": [{ "text": "Check-up" }],
            "serviceType": [{ "coding": [
                { "system": "http://other", "code": "x" },
                { "system": SYSTEM, "code": "0190a000-0000-7000-8000-000000000003" },
            ] }],
        })
    }

    fn refusal(v: &Value) -> String {
        match Booking::read(v, BASE, SYSTEM) {
            Err(FhirError::Invalid(d)) => format!("invalid {d}"),
            Err(FhirError::App(e)) => format!("value {}", e.message()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_booking_reads_its_parties_times_reason_and_visit_type() {
        let b = Booking::read(&appointment(), BASE, SYSTEM).ok();
        let id = |s: &str| Uuid::parse_str(s).unwrap_or_default();
        assert_eq!(
            b,
            Some(Booking {
                doctor: id("0190a000-0000-7000-8000-000000000001"),
                patient: id("0190a000-0000-7000-8000-000000000002"),
                start: DateTime::parse_from_rfc3339("2027-03-04T09:00:00Z").map(|t| t.to_utc()).unwrap_or_default(),
                end: DateTime::parse_from_rfc3339("2027-03-04T09:30:00Z").map(|t| t.to_utc()).unwrap_or_default(),
                reason: "Check-up".to_owned(),
                visit_type: Some(id("0190a000-0000-7000-8000-000000000003")),
            })
        );
    }

    #[test]
    fn what_a_booking_lacks_or_gets_wrong_is_named() {
        let without = |key: &str| {
            let mut v = appointment();
            v.as_object_mut().map(|o| o.remove(key));
            v
        };
        let with = |key: &str, value: Value| {
            let mut v = appointment();
            v[key] = value;
            v
        };
        assert!(refusal(&without("status")).starts_with("invalid status:"));
        assert!(refusal(&with("status", json!("booked"))).starts_with("value status:"));
        assert!(refusal(&without("end")).starts_with("invalid end:"));
        assert!(refusal(&with("start", json!("2027-03-04T09:00"))).starts_with("value start:"));
        assert!(refusal(&without("reasonCode")).starts_with("invalid reasonCode:"));
        assert!(refusal(&with("reasonCode", json!([{ "text": "  " }]))).starts_with("invalid reasonCode:"));
        assert!(refusal(&with("minutesDuration", json!(45))).starts_with("value minutesDuration:"));
        assert!(refusal(&with("serviceType", json!([{ "text": "Long visit" }]))).starts_with("value serviceType:"));
        let one = json!([{ "actor": { "reference": "Practitioner/0190a000-0000-7000-8000-000000000001" } }]);
        assert!(refusal(&with("participant", one)).contains("Patient/<id>"));
        let location = json!([{ "actor": { "reference": "Location/1" } }]);
        assert!(refusal(&with("participant", location)).starts_with("value participant:"));
        assert!(refusal(&with("resourceType", json!("Slot"))).starts_with("invalid appointment-resource:"));
        let mut no_type = appointment();
        no_type.as_object_mut().map(|o| o.remove("serviceType"));
        assert_eq!(Booking::read(&no_type, BASE, SYSTEM).ok().and_then(|b| b.visit_type), None);
    }

    #[test]
    fn parameter_values_read_as_the_query_string_would() {
        let p = |v: Value| v.as_object().cloned().unwrap_or_default();
        let read = |v: Value| query_value(&p(v)).ok();
        assert_eq!(read(json!({ "name": "start", "valueDateTime": "2027-03-04" })), Some("2027-03-04".to_owned()));
        assert_eq!(
            read(json!({ "name": "practitioner", "valueReference": { "reference": "Practitioner/1" } })),
            Some("Practitioner/1".to_owned())
        );
        assert_eq!(
            read(json!({ "name": "service-type", "valueCoding": { "system": "http://s", "code": "7" } })),
            Some("http://s|7".to_owned())
        );
        assert_eq!(
            read(json!({ "name": "service-type", "valueCodeableConcept": { "coding": [{ "code": "7" }] } })),
            Some("7".to_owned())
        );
        assert_eq!(read(json!({ "name": "x", "resource": { "resourceType": "Patient" } })), None);
        assert_eq!(read(json!({ "name": "x", "valueString": "a", "valueCode": "b" })), None);
    }
}
