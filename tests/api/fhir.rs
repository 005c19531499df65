//! The FHIR R4 view's reads and searches for every role, privacy, paging, the status
//! mapping, and every response checked against the official R4 JSON schema.
use std::{io::Read, sync::OnceLock, time::Duration};

use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{PASSWORD, Session, TestApp, email, upcoming, utc_of_local},
};

// ---------------------------------------------------------------------------------------------
// The validator: the official FHIR 4.0.1 JSON schema (tests/fixtures/fhir), compiled once.

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir/fhir.schema.json.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema["id"], "http://hl7.org/fhir/json-schema/4.0");
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-06/schema#");
        schema
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::draft6::options().build(schema()).unwrap())
}

/// Why `resource` is not valid FHIR R4 JSON: the schema's errors (against the schema as a whole,
/// which picks the definition by `resourceType`; then against that definition, whose errors say
/// more), and the rules of FHIR's JSON format that a JSON schema does not state: no `null`, no
/// empty array, no empty object, no empty string.
fn fhir_errors(resource: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    json_rules("", resource, &mut errors);
    if !validator().is_valid(resource) {
        errors.push(format!("not valid against the FHIR R4 schema: {resource}"));
        if let Some(kind) = resource["resourceType"].as_str().filter(|k| schema()["definitions"].get(*k).is_some()) {
            let one = json!({ "$ref": format!("#/definitions/{kind}"), "definitions": schema()["definitions"] });
            let v = jsonschema::draft6::options().build(&one).unwrap();
            errors.extend(v.iter_errors(resource).map(|e| format!("{}: {e}", e.instance_path())));
        }
    }
    for entry in resource["entry"].as_array().into_iter().flatten() {
        errors.extend(fhir_errors(&entry["resource"]).into_iter().map(|e| format!("entry: {e}")));
    }
    errors
}

fn json_rules(at: &str, v: &Value, errors: &mut Vec<String>) {
    match v {
        Value::Null => errors.push(format!("{at}: null")),
        Value::String(s) if s.is_empty() => errors.push(format!("{at}: empty string")),
        Value::Array(items) if items.is_empty() => errors.push(format!("{at}: empty array")),
        Value::Object(map) if map.is_empty() => errors.push(format!("{at}: empty object")),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| json_rules(&format!("{at}/{i}"), x, errors)),
        Value::Object(map) => map.iter().for_each(|(k, x)| json_rules(&format!("{at}/{k}"), x, errors)),
        _ => {}
    }
}

#[track_caller]
pub fn assert_valid(resource: &Value) {
    let errors = fhir_errors(resource);
    assert!(errors.is_empty(), "invalid FHIR:\n{}", errors.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Requests: every FHIR answer is checked (media type, no-store, the schema) before a test reads it.

/// A FHIR answer: status, `WWW-Authenticate`, body.
struct Answer {
    status: u16,
    challenge: Option<String>,
    request_id: String,
    body: Value,
}

/// GETs `path` (absolute links of the server's own, under PUBLIC_URL, too).
async fn get(app: &TestApp, token: Option<&str>, path: &str) -> Answer {
    let path = path.strip_prefix("http://clinic.test").unwrap_or(path);
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/fhir+json"), "{path}: content type {content_type}");
    assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{path}");
    let request_id = header("x-request-id").unwrap_or_else(|| panic!("{path}: no request id"));
    let challenge = header("www-authenticate");
    let body: Value = resp.json().await.unwrap();
    assert_valid(&body);
    Answer { status, challenge, request_id, body }
}

/// A 200 answer's body.
pub async fn ok(app: &TestApp, token: &str, path: &str) -> Value {
    let a = get(app, Some(token), path).await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    a.body
}

/// The issue code and diagnostics of an `OperationOutcome` with `status`.
pub async fn refused(app: &TestApp, token: Option<&str>, path: &str, status: u16) -> (String, String) {
    let a = get(app, token, path).await;
    assert_eq!(a.status, status, "{path}: {}", a.body);
    assert_eq!(a.body["resourceType"], "OperationOutcome", "{path}");
    let issue = &a.body["issue"][0];
    assert_eq!(issue["severity"], "error");
    (issue["code"].as_str().unwrap().to_owned(), issue["diagnostics"].as_str().unwrap_or_default().to_owned())
}

/// Ids of a searchset's entries, checking each entry's shape.
fn ids(bundle: &Value) -> Vec<String> {
    assert_eq!((&bundle["resourceType"], &bundle["type"]), (&json!("Bundle"), &json!("searchset")));
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    assert_eq!(e["search"]["mode"], "match");
                    let id = e["resource"]["id"].as_str().unwrap().to_owned();
                    assert_eq!(e["fullUrl"], format!("http://clinic.test/fhir/r4/Appointment/{id}"));
                    id
                })
                .collect()
        })
        .unwrap_or_default()
}

fn link<'a>(bundle: &'a Value, relation: &str) -> Option<&'a str> {
    bundle["link"].as_array()?.iter().find(|l| l["relation"] == relation)?["url"].as_str()
}

/// An appointment the doctor schedules (CONFIRMED) for `patient` at `starts_at`; its id.
async fn scheduled(c: &Clinic, patient: &Session, starts_at: &str) -> String {
    let body = c.book(&c.doctor, json!({ "patientId": patient.id, "startsAt": starts_at })).await;
    body["data"]["createAppointment"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn the_validator_rejects_what_fhir_forbids_so_a_valid_answer_means_something() {
    let good = json!({
        "resourceType": "Appointment", "id": "a1", "status": "booked",
        "start": "2021-01-01T09:00:00Z", "end": "2021-01-01T09:30:00Z",
        "participant": [{ "actor": { "reference": "Patient/p1" }, "status": "accepted" }]
    });
    assert_valid(&good);
    let broken = |path: &str, value: Value| {
        let mut v = good.clone();
        match v.pointer_mut(path) {
            Some(x) => *x = value,
            None => v[path.trim_start_matches('/')] = value,
        }
        assert!(!fhir_errors(&v).is_empty(), "{path} = {v} passed");
    };
    broken("/status", json!("confirmed")); // not an AppointmentStatus code
    broken("/status", Value::Null);
    broken("/participant/0/status", json!("needs_action"));
    broken("/start", json!("2021-01-01T09:00")); // an instant needs seconds and a zone
    broken("/minutesDuration", json!("30"));
    broken("/colour", json!("blue")); // no such element
    broken("/reasonCode", json!([]));
    broken("/resourceType", json!("Appointmnet"));
    // A resource inside a Bundle is checked too.
    let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "total": 1,
        "entry": [{ "resource": good, "search": { "mode": "match" } }] });
    assert_valid(&bundle);
    bundle["entry"][0]["resource"]["status"] = json!("done");
    assert!(!fhir_errors(&bundle).is_empty());
}

#[tokio::test]
async fn metadata_is_an_anonymous_capability_statement_of_what_is_served() {
    let app = TestApp::spawn().await;
    let a = get(&app, None, "/fhir/r4/metadata").await;
    assert_eq!(a.status, 200);
    let cs = &a.body;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(
        (&cs["status"], &cs["kind"], &cs["fhirVersion"]),
        (&json!("active"), &json!("instance"), &json!("4.0.1"))
    );
    assert_eq!(cs["format"], json!(["json"]));
    assert_eq!(cs["implementation"]["url"], "http://clinic.test/fhir/r4");
    let rest = &cs["rest"][0];
    assert_eq!(rest["mode"], "server");
    let types: Vec<&str> = rest["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Appointment", "Patient", "Practitioner", "Schedule", "Slot"]);
    let params: Vec<&str> =
        rest["resource"][0]["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["patient", "practitioner", "date", "status", "_count"]);
}

#[tokio::test]
async fn without_a_valid_token_everything_but_metadata_is_401_with_a_bearer_challenge() {
    let c = Clinic::open("UTC").await;
    let id = scheduled(&c, &c.patient, &at("10:00")).await;
    for path in [
        format!("/fhir/r4/Appointment/{id}"),
        "/fhir/r4/Appointment".to_owned(),
        format!("/fhir/r4/Patient/{}", c.patient.id),
        format!("/fhir/r4/Practitioner/{}", c.doctor.id),
        format!("/fhir/r4/Schedule/{}", c.doctor.id),
        format!("/fhir/r4/Slot?schedule={}&start={}", c.doctor.id, upcoming(2, 7)),
    ] {
        let none = get(&c.app, None, &path).await;
        assert_eq!((none.status, none.challenge.as_deref()), (401, Some("Bearer")), "{path}");
        assert_eq!(none.body["issue"][0]["code"], "login");
        let bad = get(&c.app, Some("not-a-token"), &path).await;
        assert_eq!((bad.status, bad.challenge.as_deref()), (401, Some(r#"Bearer error="invalid_token""#)), "{path}");
    }
    // A refresh token is not an access token; a login that ended ends its access token at once.
    let refresh = get(&c.app, Some(&c.patient.refresh), &format!("/fhir/r4/Appointment/{id}")).await;
    assert_eq!(refresh.status, 401);
    assert_eq!(ok(&c.app, &c.patient.access, &format!("/fhir/r4/Appointment/{id}")).await["id"], id.as_str());
    let out = c
        .app
        .gql(
            Some(&c.patient.access),
            "mutation($r: String!) { logout(refreshToken: $r) }",
            json!({ "r": c.patient.refresh }),
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let ended = get(&c.app, Some(&c.patient.access), &format!("/fhir/r4/Appointment/{id}")).await;
    assert_eq!((ended.status, ended.challenge.as_deref()), (401, Some(r#"Bearer error="invalid_token""#)));
    // A deactivated account's token stops working at once.
    assert_eq!(ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Appointment/{id}")).await["id"], id.as_str());
    let off = c
        .app
        .gql(
            Some(&c.admin.access),
            "mutation($id: UUID!) { setUserActive(id: $id, isActive: false) { isActive } }",
            json!({ "id": c.doctor.id }),
        )
        .await;
    assert_eq!(off["data"]["setUserActive"]["isActive"], false, "{off}");
    assert_eq!(get(&c.app, Some(&c.doctor.access), &format!("/fhir/r4/Appointment/{id}")).await.status, 401);
}

#[tokio::test]
async fn each_role_reads_and_searches_only_the_appointments_it_may_see() {
    let c = Clinic::open("UTC").await;
    let other = c.app.patient().await;
    let day = upcoming(2, 7);
    let starts = utc_of_local(day, "10:00", "UTC");
    let mine =
        c.book(&c.patient, json!({ "doctorId": c.doctor.id, "startsAt": starts, "reasonForVisit": "Sore knee" })).await;
    let mine = mine["data"]["createAppointment"]["id"].as_str().unwrap().to_owned();
    let theirs = scheduled(&c, &other, &utc_of_local(day, "11:00", "UTC")).await;

    // The patient's own appointment, with every mapped element.
    let a = ok(&c.app, &c.patient.access, &format!("/fhir/r4/Appointment/{mine}")).await;
    assert_eq!(a["resourceType"], "Appointment");
    assert_eq!(a["status"], "pending");
    assert_eq!(a["start"], starts.as_str());
    assert_eq!(a["end"], utc_of_local(day, "10:30", "UTC").as_str());
    assert_eq!(a["minutesDuration"], 30);
    assert_eq!(a["reasonCode"], json!([{ "text": "Sore knee" }]));
    assert!(a["created"].is_string() && a["meta"]["lastUpdated"].is_string(), "{a}");
    assert_eq!(
        a["participant"],
        json!([
            { "actor": { "reference": format!("Patient/{}", c.patient.id) }, "status": "accepted" },
            { "actor": { "reference": format!("Practitioner/{}", c.doctor.id) }, "status": "needs-action" },
        ])
    );
    // The doctor and an admin read it too; another patient may not know it exists.
    assert_eq!(ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Appointment/{mine}")).await, a);
    assert_eq!(ok(&c.app, &c.admin.access, &format!("/fhir/r4/Appointment/{mine}")).await["id"], mine.as_str());
    let (code, _) = refused(&c.app, Some(&other.access), &format!("/fhir/r4/Appointment/{mine}"), 404).await;
    assert_eq!(code, "not-found");
    refused(&c.app, Some(&other.access), "/fhir/r4/Appointment/not-a-uuid", 404).await;
    refused(&c.app, Some(&other.access), &format!("/fhir/r4/Appointment/{}", uuid::Uuid::now_v7()), 404).await;

    // Searches: each sees their own; a filter on someone else is an empty Bundle, not their data.
    let search = |token: &str, q: &str| {
        let (app, token, q) = (&c.app, token.to_owned(), q.to_owned());
        async move { ok(app, &token, &format!("/fhir/r4/Appointment{q}")).await }
    };
    let b = search(&c.patient.access, "").await;
    assert_eq!((ids(&b), &b["total"]), (vec![mine.clone()], &json!(1)));
    let b = search(&other.access, "").await;
    assert_eq!((ids(&b), &b["total"]), (vec![theirs.clone()], &json!(1)));
    let b = search(&other.access, &format!("?patient=Patient/{}", c.patient.id)).await;
    assert_eq!((ids(&b), &b["total"]), (vec![], &json!(0)));
    assert!(b.get("entry").is_none());
    let b = search(&c.doctor.access, &format!("?practitioner=Practitioner/{}", c.doctor.id)).await;
    assert_eq!(ids(&b), vec![theirs.clone(), mine.clone()], "newest start first");
    let b = search(&c.doctor.access, &format!("?patient={}", other.id)).await;
    assert_eq!(ids(&b), vec![theirs.clone()]);
    let b = search(&c.admin.access, &format!("?practitioner={}&patient=Patient/{}", c.doctor.id, c.patient.id)).await;
    assert_eq!(ids(&b), vec![mine.clone()]);
    let b = search(&c.admin.access, "").await;
    assert_eq!(b["total"], 2);
    // A doctor who shares nothing with them sees none of it.
    let stranger = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    let b = search(&stranger.access, &format!("?practitioner={}", c.doctor.id)).await;
    assert_eq!(b["total"], 0);
    refused(&c.app, Some(&stranger.access), &format!("/fhir/r4/Appointment/{theirs}"), 404).await;
}

#[tokio::test]
async fn every_status_maps_to_its_fhir_code() {
    let mut c = Clinic::open("UTC").await;
    let pending = c.booked(&c.patient, &at("09:00")).await["id"].as_str().unwrap().to_owned();
    let confirmed = c.booked(&c.patient, &at("09:30")).await["id"].as_str().unwrap().to_owned();
    assert!(c.act(&c.doctor, "confirmAppointment", &confirmed).await["errors"].is_null());
    let cancelled = scheduled(&c, &c.patient, &at("10:00")).await;
    let body = c
        .app
        .gql(
            Some(&c.patient.access),
            "mutation($id: UUID!) { cancelAppointment(id: $id, reason: \"Feeling better\") { status } }",
            json!({ "id": cancelled }),
        )
        .await;
    assert_eq!(body["data"]["cancelAppointment"]["status"], "CANCELLED", "{body}");
    let completed = scheduled(&c, &c.patient, &at("10:30")).await;
    let no_show = scheduled(&c, &c.patient, &at("11:00")).await;
    c.advance(Duration::from_secs(15 * 86_400)).await;
    assert!(c.act(&c.doctor, "completeAppointment", &completed).await["errors"].is_null());
    assert!(c.act(&c.doctor, "markNoShow", &no_show).await["errors"].is_null());

    let read = |id: String| {
        let (app, token) = (&c.app, c.patient.access.clone());
        async move { ok(app, &token, &format!("/fhir/r4/Appointment/{id}")).await }
    };
    let practitioner_status = |a: &Value| a["participant"][1]["status"].as_str().unwrap().to_owned();
    let a = read(pending.clone()).await;
    assert_eq!((a["status"].as_str(), practitioner_status(&a).as_str()), (Some("pending"), "needs-action"));
    let a = read(confirmed.clone()).await;
    assert_eq!((a["status"].as_str(), practitioner_status(&a).as_str()), (Some("booked"), "accepted"));
    let a = read(cancelled.clone()).await;
    assert_eq!(a["status"], "cancelled");
    assert_eq!(a["cancelationReason"], json!({ "text": "Feeling better" }));
    let a = read(completed.clone()).await;
    assert_eq!(a["status"], "fulfilled");
    assert!(a.get("cancelationReason").is_none());
    assert_eq!(read(no_show.clone()).await["status"], "noshow");

    // The status search takes the FHIR codes; a comma list matches any of them.
    let search = |q: &str| {
        let (app, token, q) = (&c.app, c.patient.access.clone(), q.to_owned());
        async move { ids(&ok(app, &token, &format!("/fhir/r4/Appointment?status={q}")).await) }
    };
    assert_eq!(search("noshow").await, vec![no_show.clone()]);
    assert_eq!(search("fulfilled").await, vec![completed.clone()]);
    let mut any = search("pending,booked").await;
    any.sort();
    let mut expected = vec![pending.clone(), confirmed.clone()];
    expected.sort();
    assert_eq!(any, expected);
    assert_eq!(search("cancelled&status=cancelled,noshow").await, vec![cancelled.clone()]);
    assert!(search("proposed").await.is_empty(), "a FHIR status no appointment here has");
}

#[tokio::test]
async fn paging_follows_next_links_to_the_end_without_duplicates_and_with_the_total() {
    let c = Clinic::open("UTC").await;
    let day = upcoming(2, 7);
    let mut booked = Vec::new();
    for hhmm in ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"] {
        booked.push(scheduled(&c, &c.patient, &utc_of_local(day, hhmm, "UTC")).await);
    }
    booked.reverse(); // newest start first

    let mut seen = Vec::new();
    let mut next = Some("/fhir/r4/Appointment?_count=3".to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let page = ok(&c.app, &c.patient.access, &url).await;
        assert_eq!(page["total"], 7, "the count of all matches, on every page");
        assert!(link(&page, "self").is_some_and(|s| s.starts_with("http://clinic.test/fhir/r4/Appointment?")));
        let got = ids(&page);
        assert!(got.len() <= 3);
        seen.extend(got);
        next = link(&page, "next").map(str::to_owned);
        if let Some(n) = &next {
            assert!(n.contains("_count=3") && n.contains("_cursor="), "{n}");
        }
        pages += 1;
        assert!(pages <= 3, "the last page has no next link");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, booked, "every appointment once, in order");

    // A filter is kept in the next link; _count=0 gives the total alone; over 100 is lowered.
    let first = ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Appointment?patient={}&_count=5", c.patient.id)).await;
    let second = ok(&c.app, &c.doctor.access, link(&first, "next").unwrap()).await;
    assert_eq!(ids(&second), booked[5..].to_vec());
    assert!(link(&second, "self").unwrap().contains(&format!("patient={}", c.patient.id)));
    let only_total = ok(&c.app, &c.doctor.access, "/fhir/r4/Appointment?_count=0").await;
    assert_eq!((only_total["total"].as_u64(), only_total.get("entry")), (Some(7), None));
    assert!(link(&only_total, "next").is_none());
    let many = ok(&c.app, &c.doctor.access, "/fhir/r4/Appointment?_count=500").await;
    assert_eq!(ids(&many).len(), 7);
    assert!(link(&many, "self").unwrap().contains("_count=100"));
}

#[tokio::test]
async fn date_prefixes_bound_the_start_of_the_appointments() {
    let c = Clinic::open("UTC").await;
    let d1 = upcoming(2, 7);
    let (d2, d3) = (d1.succ_opt().unwrap(), d1.succ_opt().unwrap().succ_opt().unwrap());
    let a1 = scheduled(&c, &c.patient, &utc_of_local(d1, "10:00", "UTC")).await;
    let a2 = scheduled(&c, &c.patient, &utc_of_local(d2, "10:00", "UTC")).await;
    let a3 = scheduled(&c, &c.patient, &utc_of_local(d3, "10:00", "UTC")).await;
    let search = |q: String| {
        let (app, token) = (&c.app, c.patient.access.clone());
        async move { ids(&ok(app, &token, &format!("/fhir/r4/Appointment?{q}")).await) }
    };
    assert_eq!(search(format!("date={d2}")).await, vec![a2.clone()], "no prefix: that UTC day");
    assert_eq!(search(format!("date=eq{d2}")).await, vec![a2.clone()]);
    assert_eq!(search(format!("date=ge{d2}")).await, vec![a3.clone(), a2.clone()]);
    assert_eq!(search(format!("date=gt{d2}")).await, vec![a3.clone()]);
    assert_eq!(search(format!("date=le{d2}")).await, vec![a2.clone(), a1.clone()]);
    assert_eq!(search(format!("date=lt{d2}")).await, vec![a1.clone()]);
    assert_eq!(search(format!("date=ge{d1}&date=lt{d3}")).await, vec![a2.clone(), a1.clone()], "repeats all apply");
    // Instants: to the second, in any offset (percent-encoded or not).
    assert_eq!(search(format!("date=ge{d2}T10:00:00Z")).await, vec![a3.clone(), a2.clone()]);
    assert_eq!(search(format!("date=gt{d2}T10:00:00Z")).await, vec![a3.clone()]);
    assert_eq!(search(format!("date=le{d2}T11:00:00%2B01:00")).await, vec![a2.clone(), a1.clone()]);
    assert_eq!(search(format!("date=lt{d2}T11:00+01:00")).await, vec![a1.clone()]);
    assert_eq!(search(format!("date={d2}T10:00:00Z")).await, vec![a2.clone()]);
    assert!(search(format!("date=gt{d3}&date=lt{d1}")).await.is_empty());
}

#[tokio::test]
async fn a_date_that_is_not_a_fhir_date_or_reaches_past_the_year_9999_is_400_and_the_extremes_agree_on_both_databases()
{
    let c = Clinic::open("UTC").await;
    let a1 = scheduled(&c, &c.patient, &at("10:00")).await;
    let a2 = scheduled(&c, &c.patient, &at("11:00")).await;
    let token = Some(c.patient.access.as_str());
    // Was: every appointment on SQLite (a text comparison with `10000-01-01`), none on PostgreSQL.
    for bad in [
        "gt9999",
        "le9999",
        "9999",
        "gt9999-12-31T23:59:59Z",
        "ge99999",
        "ge20261-1-01",
        "ge2026-1",
        "lt0000",
        "ge-999-01-01",
        "ge2027-03-04t10:00:00Z",
    ] {
        let (code, diagnostics) = refused(&c.app, token, &format!("/fhir/r4/Appointment?date={bad}"), 400).await;
        assert_eq!(code, "value", "{bad}");
        assert!(diagnostics.starts_with("date:"), "{bad}: {diagnostics}");
    }
    let search = |q: &str| {
        let (app, token, q) = (&c.app, c.patient.access.clone(), q.to_owned());
        async move { ids(&ok(app, &token, &format!("/fhir/r4/Appointment?{q}")).await) }
    };
    let both = vec![a2.clone(), a1.clone()];
    assert_eq!(search("date=lt9999").await, both);
    assert_eq!(search("date=ge0001").await, both);
    assert_eq!(search("date=lt9999-12-31T23:59:59Z").await, both);
    assert!(search("date=ge9999").await.is_empty());
    assert!(search("date=ge9999-12-31T23:59:59Z").await.is_empty());
    assert!(search("date=lt0001-01-01T00:00:00%2B01:00").await.is_empty());
}

#[tokio::test]
async fn a_patient_shows_private_fields_only_to_whom_privacy_allows_and_such_reads_are_audited() {
    let c = Clinic::open("UTC").await;
    let body = c
        .app
        .gql(
            Some(&c.patient.access),
            "mutation { updateMe(input: { gender: UNDISCLOSED, phone: \"+1 555 0199\", address: \"1 Elm St\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    scheduled(&c, &c.patient, &at("10:00")).await;
    let stranger_doctor = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;
    let other_patient = c.app.patient().await;
    let path = format!("/fhir/r4/Patient/{}", c.patient.id);
    let audited = || async {
        let q = "query($s: UUID!) { auditLog(subjectId: $s, first: 100) { edges { node { action actor { id } } } } }";
        let body = c.app.gql(Some(&c.admin.access), q, json!({ "s": c.patient.id })).await;
        let mut reads: Vec<String> = body["data"]["auditLog"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|e| e["node"]["action"] == "patient.read")
            .map(|e| e["node"]["actor"]["id"].as_str().unwrap().to_owned())
            .collect();
        reads.sort();
        reads
    };

    // Themself: everything, and nothing audited.
    let own = ok(&c.app, &c.patient.access, &path).await;
    assert_eq!(own["resourceType"], "Patient");
    assert_eq!(own["name"][0]["family"], "User");
    assert_eq!(own["name"][0]["given"], json!(["Test"]));
    assert_eq!(own["gender"], "unknown", "UNDISCLOSED is unknown");
    assert_eq!(own["birthDate"], "1990-04-01");
    assert_eq!(
        own["telecom"],
        json!([{ "system": "email", "value": c.patient.email }, { "system": "phone", "value": "+1 555 0199" }])
    );
    assert!(audited().await.is_empty());

    // Their doctor: everything, audited as patient.read by that doctor, with the request's id.
    let by_doctor = get(&c.app, Some(&c.doctor.access), &path).await;
    assert_eq!((by_doctor.status, &by_doctor.body), (200, &own));
    assert_eq!(audited().await, vec![c.doctor.id.clone()]);
    let q = "query($s: UUID!) { auditLog(subjectId: $s, first: 1) { edges { node { action requestId } } } }";
    let newest = c.app.gql(Some(&c.admin.access), q, json!({ "s": c.patient.id })).await;
    assert_eq!(newest["data"]["auditLog"]["edges"][0]["node"]["action"], "patient.read", "{newest}");
    assert_eq!(newest["data"]["auditLog"]["edges"][0]["node"]["requestId"], by_doctor.request_id.as_str());
    // Another doctor and another patient may not know the patient exists.
    assert_eq!(refused(&c.app, Some(&stranger_doctor.access), &path, 404).await.0, "not-found");
    refused(&c.app, Some(&other_patient.access), &path, 404).await;
    // An admin: everything, audited too.
    assert_eq!(ok(&c.app, &c.admin.access, &path).await["birthDate"], "1990-04-01");
    let mut both = vec![c.doctor.id.clone(), c.admin.id.clone()];
    both.sort();
    assert_eq!(audited().await, both);
    // A doctor is no Patient, a patient no Practitioner.
    refused(&c.app, Some(&c.admin.access), &format!("/fhir/r4/Patient/{}", c.doctor.id), 404).await;
    refused(&c.app, Some(&c.admin.access), &format!("/fhir/r4/Practitioner/{}", c.patient.id), 404).await;

    // A doctor is a Practitioner to anyone signed in; contact details only to their patients.
    let doc_path = format!("/fhir/r4/Practitioner/{}", c.doctor.id);
    let public = ok(&c.app, &other_patient.access, &doc_path).await;
    assert_eq!(public["resourceType"], "Practitioner");
    assert_eq!(public["qualification"], json!([{ "code": { "text": "General practice" } }]));
    assert!(public.get("telecom").is_none(), "{public}");
    let theirs = ok(&c.app, &c.patient.access, &doc_path).await;
    assert_eq!(theirs["telecom"][0]["value"], c.doctor.email.as_str());
    // No patient's private fields were read there.
    assert_eq!(audited().await, both);
}

#[tokio::test]
async fn a_schedule_and_its_free_slots_are_those_of_available_slots() {
    let c = Clinic::open("Europe/Berlin").await;
    let day = upcoming(2, 7);
    let from = utc_of_local(day, "00:00", "Europe/Berlin");
    let to = utc_of_local(day.succ_opt().unwrap(), "00:00", "Europe/Berlin");
    scheduled(&c, &c.patient, &utc_of_local(day, "09:00", "Europe/Berlin")).await;

    let s = ok(&c.app, &c.patient.access, &format!("/fhir/r4/Schedule/{}", c.doctor.id)).await;
    assert_eq!(s["resourceType"], "Schedule");
    assert_eq!(s["active"], true);
    assert_eq!(s["actor"][0]["reference"], format!("Practitioner/{}", c.doctor.id));
    let unverified = c.app.doctor("Dermatology", "UTC", 30, None).await;
    assert_eq!(ok(&c.app, &c.patient.access, &format!("/fhir/r4/Schedule/{}", unverified.id)).await["active"], false);
    refused(&c.app, Some(&c.patient.access), &format!("/fhir/r4/Schedule/{}", c.patient.id), 404).await;

    let q = "query($d: UUID!, $f: DateTime!, $t: DateTime!) { availableSlots(doctorId: $d, from: $f, to: $t) { startsAt endsAt } }";
    let gql = c.app.gql(Some(&c.patient.access), q, json!({ "d": c.doctor.id, "f": from, "t": to })).await;
    let expected: Vec<(String, String)> = gql["data"]["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["startsAt"].as_str().unwrap().to_owned(), s["endsAt"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(expected.len(), 19, "08:00–18:00 in 30-minute slots, less the one booked");
    let enc = |t: &str| t.replace('+', "%2B");
    let path = format!("/fhir/r4/Slot?schedule=Schedule/{}&start=ge{}&start=lt{}", c.doctor.id, enc(&from), enc(&to));
    let b = ok(&c.app, &c.patient.access, &path).await;
    assert_eq!(b["total"], 19);
    let got: Vec<(String, String)> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let slot = &e["resource"];
            assert_eq!((&slot["resourceType"], &slot["status"]), (&json!("Slot"), &json!("free")));
            assert_eq!(slot["schedule"]["reference"], format!("Schedule/{}", c.doctor.id));
            (slot["start"].as_str().unwrap().to_owned(), slot["end"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(got, expected);
    // A day without prefix works as a range; busy slots are never listed.
    let b =
        ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Slot?schedule={}&start={day}&status=busy", c.doctor.id)).await;
    assert_eq!(b["total"], 0);
    let b = ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Slot?schedule={}&start={day}", c.patient.id)).await;
    assert_eq!((b["total"].as_u64(), b.get("entry")), (Some(0), None), "a schedule that is no doctor's finds nothing");
    let b = ok(&c.app, &c.doctor.access, &format!("/fhir/r4/Slot?schedule={}&start={day}", c.doctor.id)).await;
    assert_eq!(b["total"], 19, "a day without prefix is that UTC day");

    // The range is required and at most 31 days.
    let long = format!("/fhir/r4/Slot?schedule={}&start=ge{day}&start=lt{}", c.doctor.id, day + chrono::Days::new(40));
    let (code, diagnostics) = refused(&c.app, Some(&c.patient.access), &long, 400).await;
    assert_eq!(code, "value");
    assert!(diagnostics.starts_with("start:") && diagnostics.contains("31 days"), "{diagnostics}");
    let open_ended = format!("/fhir/r4/Slot?schedule={}&start=ge{day}", c.doctor.id);
    assert!(refused(&c.app, Some(&c.patient.access), &open_ended, 400).await.1.starts_with("start:"));
    let no_schedule = format!("/fhir/r4/Slot?start={day}");
    assert!(refused(&c.app, Some(&c.patient.access), &no_schedule, 400).await.1.starts_with("schedule:"));
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter_and_writes_are_refused() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("pat"), "PATIENT").await;
    let t = Some(patient.access.as_str());
    for (query, param) in [
        ("colour=blue", "colour"),
        ("_sort=status", "_sort"),
        ("_total=exact", "_total"),
        ("date=ne2021-01-01", "date"),
        ("date=2021-01-01T10:00", "date"),
        ("date=soon", "date"),
        ("status=done", "status"),
        ("_count=-1", "_count"),
        ("_count=ten", "_count"),
        ("patient=Practitioner/abc", "patient"),
        ("practitioner=42", "practitioner"),
        ("_cursor=garbage", "_cursor"),
        ("patient=a&patient=b", "patient"),
        ("_format=xml", "_format"),
    ] {
        let (code, diagnostics) = refused(&app, t, &format!("/fhir/r4/Appointment?{query}"), 400).await;
        assert_eq!(code, "value", "{query}");
        assert!(diagnostics.contains(param), "{query}: {diagnostics}");
    }
    assert_eq!(ok(&app, &patient.access, "/fhir/r4/Appointment?_format=json").await["total"], 0);
    assert_eq!(refused(&app, t, "/fhir/r4/Observation/1", 404).await.0, "not-found");

    let resp =
        app.client.post(app.url("/fhir/r4/Appointment")).bearer_auth(&patient.access).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET");
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/fhir+json"));
    assert_valid(&resp.json().await.unwrap());

    // The login still works after all that (none of it was a failed sign-in).
    assert!(app.login(&patient.email, PASSWORD).await.access.len() > 10);
}

/// GETs `path` with `Prefer: handling=lenient`; the status and the (valid) body.
async fn get_lenient(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let resp =
        app.client.get(app.url(path)).bearer_auth(token).header("Prefer", "handling=lenient").send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_valid(&body);
    (status, body)
}

#[tokio::test]
async fn lenient_handling_ignores_unknown_parameters_and_says_so_in_an_outcome_entry() {
    let c = Clinic::open("UTC").await;
    scheduled(&c, &c.patient, &utc_of_local(upcoming(2, 7), "09:00", "UTC")).await;
    let path = "/fhir/r4/Appointment?_totalMethod=count&_elements=id&_count=5";
    // Strict by default: the first unknown parameter is named.
    let (code, diagnostics) = refused(&c.app, Some(&c.patient.access), path, 400).await;
    assert_eq!(code, "value");
    assert!(diagnostics.contains("_totalMethod"), "{diagnostics}");

    let (status, bundle) = get_lenient(&c.app, &c.patient.access, path).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["total"], 1);
    let entries = bundle["entry"].as_array().unwrap();
    let matches = entries.iter().filter(|e| e["search"]["mode"] == "match").count();
    assert_eq!(matches, 1);
    let outcome = entries.iter().find(|e| e["search"]["mode"] == "outcome").expect("an outcome entry");
    assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
    let said: Vec<&str> =
        outcome["resource"]["issue"].as_array().unwrap().iter().map(|i| i["diagnostics"].as_str().unwrap()).collect();
    assert!(
        said.iter().any(|d| d.contains("'_totalMethod'")) && said.iter().any(|d| d.contains("'_elements'")),
        "{said:?}"
    );
    assert!(!link(&bundle, "self").unwrap().contains("_totalMethod"), "the self link holds what was used");
    // A known parameter with a bad value is still refused.
    let (status, body) = get_lenient(&c.app, &c.patient.access, "/fhir/r4/Appointment?_count=ten&foo=1").await;
    assert_eq!((status, body["resourceType"].as_str()), (400, Some("OperationOutcome")));
    // Slots too.
    let slots = format!(
        "/fhir/r4/Slot?schedule=Schedule/{}&start=ge{}T00:00:00Z&start=lt{}T00:00:00Z&_totalMethod=count",
        c.doctor.id,
        upcoming(2, 7),
        upcoming(2, 7).succ_opt().unwrap()
    );
    let (status, bundle) = get_lenient(&c.app, &c.patient.access, &slots).await;
    assert_eq!(status, 200, "{bundle}");
    assert!(bundle["entry"].as_array().unwrap().iter().any(|e| e["search"]["mode"] == "outcome"));
}

#[tokio::test]
async fn total_none_leaves_the_count_out_and_sort_by_date_orders_and_pages_both_ways() {
    let c = Clinic::open("UTC").await;
    let day = upcoming(2, 7);
    let mut booked = Vec::new();
    for hhmm in ["08:00", "09:00", "10:00", "11:00", "12:00"] {
        booked.push(scheduled(&c, &c.patient, &utc_of_local(day, hhmm, "UTC")).await);
    }
    let token = &c.patient.access;
    let none = ok(&c.app, token, "/fhir/r4/Appointment?_total=none&_count=2").await;
    assert!(none.get("total").is_none(), "{none}");
    assert_eq!(ids(&none).len(), 2);
    for accurate in ["_total=accurate", "_total=estimate", ""] {
        assert_eq!(ok(&c.app, token, &format!("/fhir/r4/Appointment?{accurate}")).await["total"], 5);
    }
    let (code, diagnostics) = refused(&c.app, Some(token), "/fhir/r4/Appointment?_total=some", 400).await;
    assert_eq!(code, "value");
    assert!(diagnostics.contains("_total"), "{diagnostics}");

    // Oldest first with _sort=date, across pages; newest first with -date (and by default).
    let mut seen = Vec::new();
    let mut next = Some("/fhir/r4/Appointment?_sort=date&_count=2".to_owned());
    while let Some(url) = next {
        let page = ok(&c.app, token, &url).await;
        seen.extend(ids(&page));
        next = link(&page, "next").map(str::to_owned);
        if let Some(n) = &next {
            assert!(n.contains("_sort=date"), "the sort is kept in the next link: {n}");
        }
    }
    assert_eq!(seen, booked);
    let mut newest_first = booked.clone();
    newest_first.reverse();
    assert_eq!(ids(&ok(&c.app, token, "/fhir/r4/Appointment?_sort=-date").await), newest_first);
    assert_eq!(ids(&ok(&c.app, token, "/fhir/r4/Appointment").await), newest_first);
    let (_, diagnostics) = refused(&c.app, Some(token), "/fhir/r4/Appointment?_sort=status", 400).await;
    assert!(diagnostics.contains("_sort"), "{diagnostics}");
}
