//! FHIR scheduling operations: `Appointment/$find` proposes exactly what `availableSlots` lists
//! (GET and POST), `Appointment/$book` books as `createAppointment` does (roles, rules, audit,
//! emails), appointments carry their visit type as `serviceType`, and every body is valid R4.
use serde_json::{Value, json};

use crate::{
    appointments::Clinic,
    fhir::{assert_valid, ok, refused},
    helpers::{Session, TestApp, upcoming, utc_of_local},
};

const SYSTEM: &str = "http://clinic.test/fhir/visit-type";

/// A FHIR answer: status, `Location`, `Allow`, the (valid) body.
struct Answer {
    status: u16,
    location: Option<String>,
    allow: Option<String>,
    body: Value,
}

/// Sends `method` to `path` with `body` (JSON, as `application/fhir+json`) and checks what every
/// FHIR answer must be (media type, no-store, valid R4).
async fn send(app: &TestApp, method: &str, token: Option<&str>, path: &str, body: Option<&Value>) -> Answer {
    let mut req = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/fhir+json").body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/fhir+json"), "{method} {path}: content type {content_type}");
    assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{path}");
    let (location, allow) = (header("location"), header("allow"));
    let body: Value = resp.json().await.unwrap();
    assert_valid(&body);
    Answer { status, location, allow, body }
}

/// POSTs `body` to `path`; the answer.
async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Answer {
    send(app, "POST", Some(token), path, Some(body)).await
}

/// The issue code and diagnostics of an `OperationOutcome` answered with `status`.
#[track_caller]
fn outcome(a: &Answer, status: u16) -> (String, String) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome", "{}", a.body);
    let issue = &a.body["issue"][0];
    (issue["code"].as_str().unwrap().to_owned(), issue["diagnostics"].as_str().unwrap_or_default().to_owned())
}

/// A visit type of `doctor`'s; its id.
async fn visit_type(app: &TestApp, doctor: &Session, name: &str, minutes: i32, buffer_after: i32) -> String {
    let body = app
        .gql(
            Some(&doctor.access),
            "mutation($i: VisitTypeInput!) { createVisitType(input: $i) { id name } }",
            json!({ "i": { "name": name, "durationMinutes": minutes, "bufferAfterMinutes": buffer_after } }),
        )
        .await;
    body["data"]["createVisitType"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// `availableSlots` of the clinic's doctor in `[from, to)` (with a visit type), as `who` sees them.
async fn available(c: &Clinic, who: &Session, from: &str, to: &str, visit_type: Option<&str>) -> Vec<(String, String)> {
    let q = "query($d: UUID!, $f: DateTime!, $t: DateTime!, $v: UUID) {
      availableSlots(doctorId: $d, from: $f, to: $t, visitTypeId: $v) { startsAt endsAt } }";
    let body = c.app.gql(Some(&who.access), q, json!({ "d": c.doctor.id, "f": from, "t": to, "v": visit_type })).await;
    body["data"]["availableSlots"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| (s["startsAt"].as_str().unwrap().to_owned(), s["endsAt"].as_str().unwrap().to_owned()))
        .collect()
}

/// The proposed appointments of a `$find` Bundle as `(start, end)`, checking each one's shape:
/// proposed, not stored, the practitioner's participation, and the visit type's `serviceType`.
#[track_caller]
fn proposed(bundle: &Value, doctor: &str, service_type: Option<&Value>) -> Vec<(String, String)> {
    assert_eq!((&bundle["resourceType"], &bundle["type"]), (&json!("Bundle"), &json!("searchset")), "{bundle}");
    let entries = bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert_eq!(bundle["total"].as_u64(), Some(entries.len() as u64), "{bundle}");
    entries
        .iter()
        .map(|e| {
            assert_eq!(e["search"]["mode"], "match");
            assert!(e.get("fullUrl").is_none(), "a proposal is not stored: {e}");
            let a = &e["resource"];
            assert_eq!((&a["resourceType"], &a["status"]), (&json!("Appointment"), &json!("proposed")));
            assert!(a.get("id").is_none() && a.get("meta").is_none() && a.get("created").is_none(), "{a}");
            assert_eq!(
                a["participant"],
                json!([{ "actor": { "reference": format!("Practitioner/{doctor}") }, "status": "needs-action" }])
            );
            assert_eq!(a.get("serviceType"), service_type, "{a}");
            let (start, end) = (a["start"].as_str().unwrap(), a["end"].as_str().unwrap());
            let minutes = (chrono::DateTime::parse_from_rfc3339(end).unwrap()
                - chrono::DateTime::parse_from_rfc3339(start).unwrap())
            .num_minutes();
            assert_eq!(a["minutesDuration"], minutes);
            (start.to_owned(), end.to_owned())
        })
        .collect()
}

/// `serviceType` of a visit type, as every Appointment carries it.
fn service_type(id: &str, name: &str) -> Value {
    json!([{ "coding": [{ "system": SYSTEM, "code": id, "display": name }], "text": name }])
}

/// `start`/`end` query values (a `+` of an offset encoded).
fn enc(t: &str) -> String {
    t.replace('+', "%2B")
}

/// A `$book` body: a pending Appointment of `doctor` and `patient` at `start`–`end`.
fn booking(doctor: &str, patient: &str, start: &str, end: &str) -> Value {
    json!({
        "resourceType": "Parameters",
        "parameter": [{
            "name": "appointment-resource",
            "resource": {
                "resourceType": "Appointment",
                "status": "pending",
                "start": start,
                "end": end,
                "participant": [
                    { "actor": { "reference": format!("Practitioner/{doctor}") }, "status": "needs-action" },
                    { "actor": { "reference": format!("Patient/{patient}") }, "status": "accepted" },
                ],
                "reasonCode": [{ "text": "Persistent cough" }],
            },
        }],
    })
}

/// The Appointment inside a `$book` body, to change.
fn resource_of(body: &mut Value) -> &mut Value {
    &mut body["parameter"][0]["resource"]
}

/// A day's window in UTC: `[day 00:00, next day 00:00)`.
fn day_window() -> (String, String) {
    let day = upcoming(2, 7);
    (utc_of_local(day, "00:00", "UTC"), utc_of_local(day.succ_opt().unwrap(), "00:00", "UTC"))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_capability_statement_lists_find_and_book_with_the_ihe_definitions() {
    let app = TestApp::spawn().await;
    let a = send(&app, "GET", None, "/fhir/r4/metadata", None).await;
    assert_eq!(a.status, 200);
    let appointment = &a.body["rest"][0]["resource"][0];
    assert_eq!(appointment["type"], "Appointment");
    let ops: Vec<(&str, &str)> = appointment["operation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["definition"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("find", "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find"),
            ("book", "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book"),
        ]
    );
}

#[tokio::test]
async fn find_proposes_exactly_the_starts_of_available_slots_by_get_and_by_post() {
    let c = Clinic::open("Europe/Berlin").await;
    let day = upcoming(2, 7);
    let (from, to) =
        (utc_of_local(day, "00:00", "Europe/Berlin"), utc_of_local(day.succ_opt().unwrap(), "00:00", "Europe/Berlin"));
    // A booked slot, so that the list has a hole.
    c.booked(&c.patient, &utc_of_local(day, "09:00", "Europe/Berlin")).await;
    let long = visit_type(&c.app, &c.doctor, "Long consultation", 45, 15).await;
    let doctor = c.doctor.id.as_str();

    // Without a visit type: the doctor's slots.
    let expected = available(&c, &c.patient, &from, &to, None).await;
    assert_eq!(expected.len(), 19, "08:00–18:00 in 30-minute slots, less the one booked");
    let path =
        format!("/fhir/r4/Appointment/$find?start={}&end={}&practitioner=Practitioner/{doctor}", enc(&from), enc(&to));
    let got = ok(&c.app, &c.patient.access, &path).await;
    assert_eq!(proposed(&got, doctor, None), expected);
    assert!(got["link"][0]["url"].as_str().unwrap().starts_with("http://clinic.test/fhir/r4/Appointment/$find?"));
    // A bare id, a doctor and an admin asking: the same.
    let bare = format!("/fhir/r4/Appointment/$find?start={}&end={}&practitioner={doctor}", enc(&from), enc(&to));
    assert_eq!(proposed(&ok(&c.app, &c.doctor.access, &bare).await, doctor, None), expected);
    assert_eq!(proposed(&ok(&c.app, &c.admin.access, &bare).await, doctor, None), expected);
    // `$` percent-encoded by the client.
    let encoded = bare.replace('$', "%24");
    assert_eq!(proposed(&ok(&c.app, &c.patient.access, &encoded).await, doctor, None), expected);

    // POST with a Parameters body, the same names.
    let params = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": from },
        { "name": "end", "valueDateTime": to },
        { "name": "practitioner", "valueReference": { "reference": format!("Practitioner/{doctor}") } },
    ] });
    let a = post(&c.app, &c.patient.access, "/fhir/r4/Appointment/$find", &params).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(proposed(&a.body, doctor, None), expected);

    // With a visit type: its grid, length and buffer; each proposal names it.
    let typed = available(&c, &c.patient, &from, &to, Some(&long)).await;
    assert!(!typed.is_empty() && typed.len() < expected.len(), "{typed:?}");
    assert!(typed.iter().all(|(s, e)| {
        let minutes =
            chrono::DateTime::parse_from_rfc3339(e).unwrap() - chrono::DateTime::parse_from_rfc3339(s).unwrap();
        minutes.num_minutes() == 45
    }));
    let st = service_type(&long, "Long consultation");
    let got = ok(&c.app, &c.patient.access, &format!("{path}&service-type={long}")).await;
    assert_eq!(proposed(&got, doctor, Some(&st)), typed);
    let token = format!("{path}&service-type={}%7C{long}", SYSTEM);
    assert_eq!(proposed(&ok(&c.app, &c.patient.access, &token).await, doctor, Some(&st)), typed);
    let mut params = params;
    params["parameter"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "service-type", "valueCoding": { "system": SYSTEM, "code": long } }));
    let a = post(&c.app, &c.patient.access, "/fhir/r4/Appointment/$find", &params).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(proposed(&a.body, doctor, Some(&st)), typed);

    // Dates: `end` as a date takes that whole UTC day.
    let utc_day = format!("/fhir/r4/Appointment/$find?start={day}&end={day}&practitioner={doctor}");
    let whole_day = available(
        &c,
        &c.patient,
        &utc_of_local(day, "00:00", "UTC"),
        &utc_of_local(day.succ_opt().unwrap(), "00:00", "UTC"),
        None,
    )
    .await;
    assert_eq!(proposed(&ok(&c.app, &c.patient.access, &utc_day).await, doctor, None), whole_day);
}

#[tokio::test]
async fn find_refuses_bad_parameters_and_answers_only_signed_in_users() {
    let c = Clinic::open("UTC").await;
    let (from, to) = day_window();
    let doctor = c.doctor.id.as_str();
    let t = Some(c.patient.access.as_str());
    let base = format!("/fhir/r4/Appointment/$find?start={from}&end={to}&practitioner={doctor}");
    let far = upcoming(2, 7) + chrono::Days::new(40);
    for (query, param) in [
        (format!("end={to}&practitioner={doctor}"), "start"),
        (format!("start={from}&practitioner={doctor}"), "end"),
        (format!("start={from}&end={to}"), "practitioner"),
        (format!("start=soon&end={to}&practitioner={doctor}"), "start"),
        (format!("start={from}&end={far}&practitioner={doctor}"), "end"),
        (format!("start={to}&end={from}&practitioner={doctor}"), "end"),
        (format!("start={from}&end={to}&practitioner=Patient/{doctor}"), "practitioner"),
        (format!("start={from}&end={to}&practitioner={doctor}&service-type=long"), "service-type"),
        (format!("start={from}&end={to}&practitioner={doctor}&service-type=http://other%7C{doctor}"), "service-type"),
        (format!("start={from}&end={to}&practitioner={doctor}&colour=blue"), "colour"),
        (format!("start={from}&start={from}&end={to}&practitioner={doctor}"), "start"),
    ] {
        let (code, diagnostics) = refused(&c.app, t, &format!("/fhir/r4/Appointment/$find?{query}"), 400).await;
        assert_eq!(code, "value", "{query}");
        let named = diagnostics.starts_with(param) || diagnostics.contains(&format!("'{param}'"));
        assert!(named, "{query}: {diagnostics}");
    }
    // Over 31 days is refused as availableSlots refuses it.
    let q = "query($d: UUID!, $f: DateTime!, $t: DateTime!) { availableSlots(doctorId: $d, from: $f, to: $t) { startsAt } }";
    let far_utc = utc_of_local(far, "00:00", "UTC");
    let body = c.app.gql(t, q, json!({ "d": doctor, "f": from, "t": far_utc })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");

    // An unknown visit type (or another doctor's) is NOT_FOUND, as on GraphQL; so is a
    // practitioner that is no doctor.
    let (code, _) = refused(&c.app, t, &format!("{base}&service-type={}", uuid::Uuid::now_v7()), 404).await;
    assert_eq!(code, "not-found");
    let other = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    let theirs = visit_type(&c.app, &other, "Skin check", 20, 0).await;
    refused(&c.app, t, &format!("{base}&service-type={theirs}"), 404).await;
    let q = "query($d: UUID!, $f: DateTime!, $t: DateTime!, $v: UUID) { availableSlots(doctorId: $d, from: $f, to: $t, visitTypeId: $v) { startsAt } }";
    let body = c.app.gql(t, q, json!({ "d": doctor, "f": from, "t": to, "v": theirs })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let patient_as_doctor = format!("/fhir/r4/Appointment/$find?start={from}&end={to}&practitioner={}", c.patient.id);
    refused(&c.app, t, &patient_as_doctor, 404).await;

    // No token: 401, by GET and by POST.
    let (code, _) = refused(&c.app, None, &base, 401).await;
    assert_eq!(code, "login");
    let a =
        send(&c.app, "POST", None, "/fhir/r4/Appointment/$find", Some(&json!({ "resourceType": "Parameters" }))).await;
    assert_eq!(outcome(&a, 401).0, "login");

    // A body that is not Parameters, or not JSON.
    let a =
        post(&c.app, &c.patient.access, "/fhir/r4/Appointment/$find", &json!({ "resourceType": "Appointment" })).await;
    assert_eq!(outcome(&a, 400).0, "invalid");
    let resp = c
        .app
        .client
        .post(c.app.url("/fhir/r4/Appointment/$find"))
        .bearer_auth(&c.patient.access)
        .header("content-type", "text/plain")
        .body("start=now")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_valid(&resp.json().await.unwrap());
    let params = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": from }, { "name": "end", "valueDateTime": to },
        { "name": "practitioner", "resource": { "resourceType": "Practitioner" } },
    ] });
    let a = post(&c.app, &c.patient.access, "/fhir/r4/Appointment/$find", &params).await;
    let (code, diagnostics) = outcome(&a, 400);
    assert_eq!(code, "invalid");
    assert!(diagnostics.starts_with("practitioner"), "{diagnostics}");

    // Other methods: 405 naming those allowed; the rest of the view stays read-only.
    let a = send(&c.app, "PUT", t, "/fhir/r4/Appointment/$find", Some(&json!({}))).await;
    assert_eq!((a.status, a.allow.as_deref()), (405, Some("GET, POST")));
    let a = send(&c.app, "GET", t, "/fhir/r4/Appointment/$book", None).await;
    assert_eq!((a.status, a.allow.as_deref()), (405, Some("POST")));
    let a = send(&c.app, "POST", t, "/fhir/r4/Slot", Some(&json!({}))).await;
    assert_eq!((a.status, a.allow.as_deref()), (405, Some("GET")));
}

#[tokio::test]
async fn book_creates_the_appointment_as_create_appointment_does() {
    let c = Clinic::open("UTC").await;
    let (from, to) = day_window();
    let long = visit_type(&c.app, &c.doctor, "Long consultation", 45, 15).await;
    let slots = available(&c, &c.patient, &from, &to, Some(&long)).await;
    let (start, end) = slots[0].clone();

    // The patient books a proposal of $find: pending, with its visit type.
    let find =
        format!("/fhir/r4/Appointment/$find?start={from}&end={to}&practitioner={}&service-type={long}", c.doctor.id);
    let proposal = ok(&c.app, &c.patient.access, &find).await["entry"][0]["resource"].clone();
    assert_eq!((proposal["start"].as_str(), proposal["end"].as_str()), (Some(start.as_str()), Some(end.as_str())));
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body)["serviceType"] = proposal["serviceType"].clone();
    let a = post(&c.app, &c.patient.access, "/fhir/r4/Appointment/$book", &body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let stored = a.body;
    let id = stored["id"].as_str().unwrap().to_owned();
    assert_eq!(a.location.as_deref(), Some(format!("http://clinic.test/fhir/r4/Appointment/{id}").as_str()));
    assert_eq!(stored["resourceType"], "Appointment");
    assert_eq!(stored["status"], "pending");
    assert_eq!((stored["start"].as_str(), stored["end"].as_str()), (Some(start.as_str()), Some(end.as_str())));
    assert_eq!(stored["minutesDuration"], 45);
    assert_eq!(stored["serviceType"], service_type(&long, "Long consultation"));
    assert_eq!(stored["reasonCode"], json!([{ "text": "Persistent cough" }]));
    assert_eq!(
        stored["participant"],
        json!([
            { "actor": { "reference": format!("Patient/{}", c.patient.id) }, "status": "accepted" },
            { "actor": { "reference": format!("Practitioner/{}", c.doctor.id) }, "status": "needs-action" },
        ])
    );
    // Readable at its Location, the same; and in GraphQL's appointments, with its history.
    assert_eq!(ok(&c.app, &c.patient.access, a.location.as_deref().unwrap()).await, stored);
    assert_eq!(ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Appointment/{id}")).await, stored);
    let q = "{ appointments(first: 10) { edges { node { id status startsAt reasonForVisit visitType { id }
      history { kind actor { id } } } } } }";
    let body = c.app.gql(Some(&c.patient.access), q, json!({})).await;
    let node = &body["data"]["appointments"]["edges"][0]["node"];
    assert_eq!(node["id"], id.as_str(), "{body}");
    assert_eq!((&node["status"], &node["startsAt"]), (&json!("PENDING"), &json!(start)));
    assert_eq!((&node["reasonForVisit"], &node["visitType"]["id"]), (&json!("Persistent cough"), &json!(long)));
    assert_eq!(node["history"], json!([{ "kind": "CREATED", "actor": { "id": c.patient.id } }]));
    // Audited, and the doctor is told, as for createAppointment.
    let q = "query($s: UUID!) { auditLog(subjectId: $s, first: 10) { edges { node { action actor { id } } } } }";
    let audit = c.app.gql(Some(&c.admin.access), q, json!({ "s": id })).await;
    assert_eq!(
        audit["data"]["auditLog"]["edges"][0]["node"],
        json!({ "action": "appointment.create", "actor": { "id": c.patient.id } }),
        "{audit}"
    );
    let emails = c.app.outbox_emails(1).await;
    assert!(emails.iter().any(|e| e.contains("Appointment requested")), "{emails:?}");

    // The same time again (another patient, whose booking it would otherwise be): 409 conflict.
    let other = c.app.patient().await;
    let mut again = booking(&c.doctor.id, &other.id, &start, &end);
    resource_of(&mut again)["serviceType"] = proposal["serviceType"].clone();
    let a = post(&c.app, &other.access, "/fhir/r4/Appointment/$book", &again).await;
    let (code, diagnostics) = outcome(&a, 409);
    assert_eq!(code, "conflict");
    assert!(diagnostics.starts_with("start:"), "{diagnostics}");
    assert_eq!(c.app.count_rows("appointments").await, 1);

    // A doctor's and an admin's bookings are booked (confirmed).
    let plain = available(&c, &c.patient, &from, &to, None).await;
    let (s2, e2) = plain.last().unwrap().clone();
    let a =
        post(&c.app, &c.doctor.access, "/fhir/r4/Appointment/$book", &booking(&c.doctor.id, &other.id, &s2, &e2)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!((&a.body["status"], a.body.get("serviceType")), (&json!("booked"), None));
    assert_eq!(a.body["participant"][1]["status"], "accepted");
    let (s3, e3) = plain[plain.len() - 2].clone();
    let a =
        post(&c.app, &c.admin.access, "/fhir/r4/Appointment/$book", &booking(&c.doctor.id, &c.patient.id, &s3, &e3))
            .await;
    assert_eq!((a.status, &a.body["status"]), (201, &json!("booked")), "{}", a.body);
    let id3 = a.body["id"].as_str().unwrap();
    assert_eq!(ok(&c.app, &c.patient.access, &format!("/fhir/r4/Appointment/{id3}")).await, a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn book_judges_the_end_in_its_transaction_when_the_length_changes_meanwhile() {
    // Bookings that each claim the visit type's length, fired at once beside a change of that
    // length: each is booked with the end it claimed, or refused naming `end` and the new length;
    // never booked with an end it did not ask for.
    let c = Clinic::open("UTC").await;
    let vt = visit_type(&c.app, &c.doctor, "Consultation", 30, 0).await;
    let day = upcoming(2, 7);
    let update =
        "mutation($id: UUID!, $i: VisitTypeInput!) { updateVisitType(id: $id, input: $i) { durationMinutes } }";
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let (mut minutes, mut booked, mut refused) = (30, 0, 0);
    for round in 0..3 {
        let next = if minutes == 30 { 45 } else { 30 };
        let claims: Vec<(String, String)> = (0..8)
            .map(|i| {
                let start = utc_of_local(day, &format!("{:02}:00", round * 8 + i), "UTC");
                let end = (at(&start) + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
                (start, end)
            })
            .collect();
        let books = claims.iter().map(|(start, end)| {
            let mut body = booking(&c.doctor.id, &c.patient.id, start, end);
            resource_of(&mut body)["serviceType"] = service_type(&vt, "Consultation");
            let (app, token) = (&c.app, c.doctor.access.clone());
            async move { post(app, &token, "/fhir/r4/Appointment/$book", &body).await }
        });
        let change = c.app.gql(
            Some(&c.doctor.access),
            update,
            json!({ "id": vt, "i": { "name": "Consultation", "durationMinutes": next } }),
        );
        let (answers, changed) = tokio::join!(futures_util::future::join_all(books), change);
        assert_eq!(changed["data"]["updateVisitType"]["durationMinutes"], next, "{changed}");
        for ((start, end), a) in claims.iter().zip(answers) {
            if a.status == 201 {
                assert_eq!(
                    (at(a.body["start"].as_str().unwrap()), at(a.body["end"].as_str().unwrap())),
                    (at(start), at(end))
                );
                booked += 1;
            } else {
                let (code, diagnostics) = outcome(&a, 400);
                assert_eq!(code, "value");
                assert!(
                    diagnostics.starts_with("end:") && diagnostics.contains(&format!("{next} minutes")),
                    "{diagnostics}"
                );
                refused += 1;
            }
        }
        minutes = next;
    }
    assert_eq!(booked + refused, 24);
}

#[tokio::test]
async fn book_refuses_as_create_appointment_refuses() {
    let c = Clinic::open("UTC").await;
    let (from, to) = day_window();
    let slots = available(&c, &c.patient, &from, &to, None).await;
    let (start, end) = slots[3].clone();
    let book = |who: &Session, body: Value| {
        let (app, token) = (&c.app, who.access.clone());
        async move { post(app, &token, "/fhir/r4/Appointment/$book", &body).await }
    };

    // An end that is not the booking's own length.
    let (code, diagnostics) =
        outcome(&book(&c.patient, booking(&c.doctor.id, &c.patient.id, &start, &slots[4].1)).await, 400);
    assert_eq!(code, "value");
    assert!(
        diagnostics.starts_with("end:") && diagnostics.contains("30 minutes") && diagnostics.contains(&end),
        "{diagnostics}"
    );
    let long = visit_type(&c.app, &c.doctor, "Long consultation", 45, 0).await;
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body)["serviceType"] = service_type(&long, "Long consultation");
    let (_, diagnostics) = outcome(&book(&c.patient, body).await, 400);
    assert!(diagnostics.starts_with("end:") && diagnostics.contains("45 minutes"), "{diagnostics}");

    // A patient booking for another patient: what GraphQL answers (FORBIDDEN), as 403.
    let other = c.app.patient().await;
    let (code, _) = outcome(&book(&c.patient, booking(&c.doctor.id, &other.id, &start, &end)).await, 403);
    assert_eq!(code, "forbidden");
    let gql = c.book(&c.patient, json!({ "doctorId": c.doctor.id, "patientId": other.id, "startsAt": start })).await;
    assert_eq!(gql["errors"][0]["extensions"]["code"], "FORBIDDEN", "{gql}");
    // A doctor booking for another doctor: the same.
    let stranger = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    let (code, _) = outcome(&book(&stranger, booking(&c.doctor.id, &c.patient.id, &start, &end)).await, 403);
    assert_eq!(code, "forbidden");

    // A start off the patient's grid; an unknown visit type (404, as NOT_FOUND on GraphQL).
    let off_grid = |t: &str| {
        let t = chrono::DateTime::parse_from_rfc3339(t).unwrap() + chrono::TimeDelta::minutes(10);
        t.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let (code, diagnostics) =
        outcome(&book(&c.patient, booking(&c.doctor.id, &c.patient.id, &off_grid(&start), &off_grid(&end))).await, 400);
    assert_eq!(code, "value");
    assert!(diagnostics.starts_with("start:"), "{diagnostics}");
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body)["serviceType"] = service_type(&uuid::Uuid::now_v7().to_string(), "Nothing");
    assert_eq!(outcome(&book(&c.patient, body).await, 404).0, "not-found");

    // What the Appointment lacks or gets wrong: 400, naming the element.
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body).as_object_mut().unwrap().remove("reasonCode");
    let (code, diagnostics) = outcome(&book(&c.patient, body).await, 400);
    assert_eq!(code, "invalid");
    assert!(diagnostics.starts_with("reasonCode:"), "{diagnostics}");
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body)["status"] = json!("booked");
    let (code, diagnostics) = outcome(&book(&c.patient, body).await, 400);
    assert_eq!(code, "value");
    assert!(diagnostics.starts_with("status:"), "{diagnostics}");
    let mut body = booking(&c.doctor.id, &c.patient.id, &start, &end);
    resource_of(&mut body)["reasonCode"] = json!([{ "text": "x".repeat(1001) }]);
    let (code, diagnostics) = outcome(&book(&c.patient, body).await, 400);
    assert_eq!(code, "value");
    assert!(diagnostics.starts_with("reasonCode:"), "{diagnostics}");
    let empty = json!({ "resourceType": "Parameters" });
    let (code, diagnostics) = outcome(&book(&c.patient, empty).await, 400);
    assert_eq!(code, "invalid");
    assert!(diagnostics.starts_with("appointment-resource:"), "{diagnostics}");
    let by_reference = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "appointment-reference", "valueReference": { "reference": "Appointment/1" } } ] });
    assert!(outcome(&book(&c.patient, by_reference).await, 400).1.starts_with("appointment-reference:"));

    // No token: 401. Nothing was booked by any of it.
    let a = send(
        &c.app,
        "POST",
        None,
        "/fhir/r4/Appointment/$book",
        Some(&booking(&c.doctor.id, &c.patient.id, &start, &end)),
    )
    .await;
    assert_eq!(outcome(&a, 401).0, "login");
    assert_eq!(c.app.count_rows("appointments").await, 0);
    // And the right request still books.
    let a = book(&c.patient, booking(&c.doctor.id, &c.patient.id, &start, &end)).await;
    assert_eq!(a.status, 201, "{}", a.body);
}

#[tokio::test]
async fn read_and_search_carry_the_visit_type_with_one_query_per_page() {
    let c = Clinic::open("UTC").await;
    let (from, to) = day_window();
    let names = ["Short visit", "Follow-up", "Vaccination", "Long consultation"];
    let mut types = Vec::new();
    for (i, name) in names.iter().enumerate() {
        types.push(visit_type(&c.app, &c.doctor, name, 30, 0).await);
        let slots = available(&c, &c.patient, &from, &to, Some(&types[i])).await;
        let body = c
            .book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": slots[i * 2].0, "visitTypeId": types[i] }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let plain = available(&c, &c.patient, &from, &to, None).await;
    c.booked(&c.patient, &plain.last().unwrap().0).await;

    let search = ok(&c.app, &c.patient.access, "/fhir/r4/Appointment?_sort=date").await;
    let entries = search["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    for (i, e) in entries.iter().enumerate() {
        let a = &e["resource"];
        match names.get(i) {
            Some(name) => assert_eq!(a["serviceType"], service_type(&types[i], name)),
            None => assert!(a.get("serviceType").is_none(), "{a}"),
        }
        let id = a["id"].as_str().unwrap();
        assert_eq!(&ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Appointment/{id}")).await, a);
    }

    // The names of a page's types come in one query, whatever their number: a page of one
    // typed appointment and a page of four cost the same statements.
    let statements = |path: &'static str| {
        let c = &c;
        async move {
            ok(&c.app, &c.patient.access, path).await; // the login, checked and kept a while
            let before = c.app.state.statements.get();
            let page = ok(&c.app, &c.patient.access, path).await;
            (c.app.state.statements.get() - before, page)
        }
    };
    let (one, page) = statements("/fhir/r4/Appointment?_sort=date&_count=1").await;
    assert_eq!(page["entry"].as_array().unwrap().len(), 1);
    let (four, page) = statements("/fhir/r4/Appointment?_sort=date&_count=4").await;
    assert_eq!(page["entry"].as_array().unwrap().len(), 4);
    assert_eq!(one, four, "one query for the types of a page");
}
