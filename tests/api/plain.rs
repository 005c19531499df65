//! Objects answered from data in hand (without a future per field) answer exactly as the usual
//! resolution does: the same selections, once plain and once with a field that needs the
//! database beside them (which sends that object down the usual path), give the same values,
//! and private reads are audited both ways.
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    helpers::{Session, TestApp, on_postgres, upcoming, utc_of_local},
};

/// The in-place path's counters: (objects answered in place, objects left to the usual path).
/// Only the outermost object of a request counts (one answered inside another is not counted),
/// and nothing else uses a test's server while it reads them.
fn plain_stats(app: &TestApp) -> (u64, u64) {
    let s = &app.state.plain_stats;
    (s.plain.load(std::sync::atomic::Ordering::Relaxed), s.fallback.load(std::sync::atomic::Ordering::Relaxed))
}

/// One GraphQL call, with how many objects it answered in place and how many it left to the
/// usual path.
async fn counted(app: &TestApp, token: &str, query: &str, variables: Value) -> (Value, (u64, u64)) {
    let before = plain_stats(app);
    let body = app.gql(Some(token), query, variables).await;
    let after = plain_stats(app);
    (body, (after.0 - before.0, after.1 - before.1))
}

const FRAGMENTS: &str = "
fragment Person on User { __typename id firstName lastName email bio role isActive isStaff isSuperuser dateJoined EXTRA_USER }
fragment Parties on Appointment { doctor { ...Person } patient { ...Person email phone address gender emailReminders } }";

/// Every plain field, through fragments, inline fragments, aliases and repeated keys; `EXTRA_*`
/// marks where the fallback variant adds a field that needs the database (in every occurrence of
/// an object: occurrences of one key are resolved apart and merged).
const NODE: &str = "
  __typename id startsAt endsAt date time status reasonForVisit cancellationReason createdAt updatedAt
  when: startsAt skipped: id @skip(if: true) included: id @include(if: true)
  ...Parties
  doctor { id EXTRA_USER } doctor { firstName EXTRA_USER doctorProfile { __typename specialty timeZone slotMinutes verified experienceYears EXTRA_PROFILE } }
  ... on Appointment { patient { ... on User { lastName EXTRA_USER } } }
  ... { theDoctor: doctor { email EXTRA_USER } }
  EXTRA_APPOINTMENT";

fn query(extra: bool) -> String {
    let conn = if extra { "totalCount" } else { "" };
    let node = if extra {
        NODE.replace("EXTRA_PROFILE", "availability { weekday }")
            .replace("EXTRA_USER", "patientProfile { dateOfBirth }")
            .replace("EXTRA_APPOINTMENT", "history { kind }")
    } else {
        NODE.replace("EXTRA_PROFILE", "").replace("EXTRA_USER", "").replace("EXTRA_APPOINTMENT", "")
    };
    format!(
        "query($id: UUID!) {{ appointments(first: 1) {{ __typename {conn} pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }}
           edges {{ __typename cursor node {{ {node} }} }} nodes {{ id status }} }} appointment(id: $id) {{ {node} }} }} {}",
        if extra {
            FRAGMENTS.replace("EXTRA_USER", "patientProfile { dateOfBirth }")
        } else {
            FRAGMENTS.replace("EXTRA_USER", "")
        }
    )
}

/// The answer without the fields the fallback variant added.
fn without_extras(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in ["history", "patientProfile", "availability", "totalCount"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

async fn reads_of(c: &Clinic, reader: &Session) -> usize {
    let body = c
        .app
        .gql(
            Some(&c.admin.access),
            "query($a: UUID) { auditLog(first: 100, actorId: $a) { edges { node { action subjectId } } } }",
            json!({ "a": reader.id }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "patient.read")
        .count()
}

#[tokio::test]
async fn plain_and_usual_resolution_give_the_same_answers_and_audit_the_same_reads() {
    let c = Clinic::open("America/New_York").await;
    // 09:00 in New York, whatever the season.
    let nine = utc_of_local(upcoming(2, 7), "09:00", "America/New_York");
    let first = c.booked(&c.patient, &nine).await;
    c.booked(&c.patient, &at("15:30")).await;
    let vars = json!({ "id": first["id"] });
    for viewer in [&c.patient, &c.doctor, &c.admin] {
        let (plain, plain_ran) = counted(&c.app, &viewer.access, &query(false), vars.clone()).await;
        let (usual, usual_ran) = counted(&c.app, &viewer.access, &query(true), vars.clone()).await;
        assert!(plain["errors"].is_null(), "{plain}");
        assert!(usual["errors"].is_null(), "{usual}");
        // The in-place path answered both root objects (`appointments` and `appointment`) with
        // every shape of NODE in them (fragments, inline fragments, aliases, repeated keys,
        // `@skip`/`@include`): nothing fell back, so the comparison below compares two paths.
        assert_eq!(plain_ran, (2, 0), "(in place, fallback) for the plain variant as {}", viewer.email);
        // And the variant with fields that wait was left to the usual path, both roots.
        assert!(usual_ran.1 >= 2, "(in place, fallback) for the usual variant: {usual_ran:?}");
        // The fallback really ran: the added fields are there.
        let node = &usual["data"]["appointment"];
        assert!(node["history"].is_array() && node["patient"]["patientProfile"].is_object(), "{usual}");
        assert!(node["doctor"]["doctorProfile"]["availability"].is_array(), "{usual}");
        assert_eq!(plain, without_extras(usual.clone()), "as {}", viewer.email);

        let a = &plain["data"]["appointment"];
        assert_eq!(a["__typename"], "Appointment");
        assert_eq!(a["when"], a["startsAt"]);
        assert_eq!((a.get("skipped"), &a["included"]), (None, &a["id"]), "{a}");
        assert_eq!((a["date"].as_str(), a["time"].as_str()), (Some(&nine[..10]), Some("09:00:00")), "{a}");
        assert_eq!(a["doctor"]["__typename"], "User");
        assert_eq!(a["doctor"]["id"], c.doctor.id.as_str());
        assert_eq!((&a["doctor"]["firstName"], &a["doctor"]["lastName"]), (&json!("Test"), &json!("User")));
        assert_eq!((&a["doctor"]["role"], &a["patient"]["role"]), (&json!("DOCTOR"), &json!("PATIENT")));
        assert_eq!(a["status"], "PENDING");
        assert_eq!(a["doctor"]["doctorProfile"]["timeZone"], "America/New_York");
        assert_eq!(a["theDoctor"]["email"], c.doctor.email.as_str());
        assert_eq!(a["patient"]["email"], c.patient.email.as_str());
        assert!(a["patient"]["lastName"].is_string() && a["cancellationReason"].is_null(), "{a}");
        let list = &plain["data"]["appointments"];
        assert_eq!(list["edges"].as_array().unwrap().len(), 1);
        assert_eq!(
            (&list["__typename"], &list["edges"][0]["__typename"]),
            (&json!("AppointmentConnection"), &json!("AppointmentEdge"))
        );
        assert_eq!(list["pageInfo"]["endCursor"], list["edges"][0]["cursor"]);
        assert_eq!(
            (&list["pageInfo"]["hasNextPage"], &list["nodes"][0]["id"]),
            (&json!(true), &list["edges"][0]["node"]["id"])
        );
        assert_eq!(usual["data"]["appointments"]["totalCount"], 2, "{usual}");
    }
    // The doctor read the patient's private fields twice (once each way): two audit entries,
    // one per request; the patient reading their own record is not audited.
    assert_eq!(reads_of(&c, &c.doctor).await, 2);
    assert_eq!(reads_of(&c, &c.patient).await, 0);
}

/// Each shape on its own: (selection on an appointment, fragments it uses). Each is answered in
/// place, and gives what the usual path gives for it.
const SHAPES: &[(&str, &str)] = &[
    ("__typename id status", ""),
    ("...A", "fragment A on Appointment { id startsAt doctor { ...P } } fragment P on User { id lastName }"),
    ("... on Appointment { id patient { ... on User { email } } }", ""),
    ("... { reasonForVisit }", ""),
    ("when: startsAt theDoctor: doctor { who: lastName } id", ""),
    ("doctor { id } doctor { firstName } doctor { doctorProfile { specialty } } id id", ""),
    ("doctor { id } ...D", "fragment D on Appointment { doctor { email } patient { id } }"),
    ("skipped: id @skip(if: true) included: id @include(if: true) gone: status @include(if: false)", ""),
];

#[tokio::test]
async fn each_shape_is_answered_in_place_and_as_the_usual_path_answers_it() {
    let c = Clinic::open("Europe/Berlin").await;
    let booked = c.booked(&c.patient, &at("10:00")).await;
    let vars = json!({ "id": booked["id"] });
    for (selection, fragments) in SHAPES {
        let plain_q = format!("query($id: UUID!) {{ appointment(id: $id) {{ {selection} }} }} {fragments}");
        let usual_q =
            format!("query($id: UUID!) {{ appointment(id: $id) {{ {selection} history {{ kind }} }} }} {fragments}");
        let (plain, plain_ran) = counted(&c.app, &c.doctor.access, &plain_q, vars.clone()).await;
        let (usual, usual_ran) = counted(&c.app, &c.doctor.access, &usual_q, vars.clone()).await;
        assert!(plain["errors"].is_null() && usual["errors"].is_null(), "{selection}: {plain} {usual}");
        assert!(plain["data"]["appointment"].is_object(), "{selection}: {plain}");
        assert_eq!(plain_ran, (1, 0), "{selection}: answered in place, (in place, fallback)");
        assert_eq!(usual_ran.1, 1, "{selection}: `history` sends it down the usual path, {usual_ran:?}");
        assert_eq!(plain, without_extras(usual), "{selection}");
    }
}

fn directory(extra: bool) -> String {
    let (conn, profile, user) =
        if extra { ("totalCount", "availability { weekday }", "patientProfile { dateOfBirth }") } else { ("", "", "") };
    format!(
        "{{ doctors(first: 5) {{ __typename {conn} pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ ...Doc }} }}
             nodes {{ id lastName }} }} }}
         fragment Doc on User {{ __typename id firstName lastName bio role isActive dateJoined {user}
           doctorProfile {{ __typename specialty timeZone slotMinutes verified experienceYears {profile} }} }}"
    )
}

#[tokio::test]
async fn the_doctor_directory_answers_the_same_both_ways() {
    let c = Clinic::open("Europe/Berlin").await;
    c.app.doctor("Dermatology", "Asia/Tokyo", 20, Some(&c.admin)).await;
    for viewer in [&c.patient, &c.admin] {
        let (plain, plain_ran) = counted(&c.app, &viewer.access, &directory(false), json!({})).await;
        let (usual, usual_ran) = counted(&c.app, &viewer.access, &directory(true), json!({})).await;
        assert!(plain["errors"].is_null() && usual["errors"].is_null(), "{plain} {usual}");
        // The page (through the `Doc` fragment) was answered in place, the variant with
        // `totalCount` and the waiting fields the usual way.
        assert_eq!(plain_ran, (1, 0), "(in place, fallback) for the plain directory as {}", viewer.email);
        assert!(usual_ran.1 >= 1, "(in place, fallback) for the usual directory: {usual_ran:?}");
        assert_eq!(usual["data"]["doctors"]["totalCount"], 2, "{usual}");
        assert_eq!(plain, without_extras(usual), "as {}", viewer.email);
        let edges = plain["data"]["doctors"]["edges"].as_array().unwrap();
        let mut specialties: Vec<&str> =
            edges.iter().map(|e| e["node"]["doctorProfile"]["specialty"].as_str().unwrap()).collect();
        specialties.sort_unstable();
        assert_eq!(specialties, ["Dermatology", "General practice"]);
        assert!(edges.iter().all(|e| e["node"]["firstName"] == "Test" && e["node"]["role"] == "DOCTOR"), "{plain}");
        assert_eq!(plain["data"]["doctors"]["pageInfo"]["endCursor"], edges[1]["cursor"]);
    }
}

/// Every object type of the served schema is declared: answered on the plain path (each of its
/// fields either tried in place or known to wait) or resolved the usual way. A new type or field
/// in neither fails here, so nobody adds one without deciding.
#[tokio::test]
async fn every_object_type_and_field_is_declared_plain_or_async() {
    use cybermed::graphql::schema::{ASYNC_OBJECTS, plain_objects};
    let app = TestApp::spawn().await;
    let body = app.gql(None, "{ __schema { types { name kind fields { name } } } }", json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let plain = plain_objects();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for ty in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if ty["kind"] != "OBJECT" || name.starts_with("__") {
            continue;
        }
        seen.push(name.to_owned());
        let fields: Vec<&str> = ty["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        let declared = plain.iter().find(|d| d.type_name == name);
        match (declared, ASYNC_OBJECTS.contains(&name)) {
            (Some(_), true) => problems.push(format!("{name} is declared both plain and async")),
            (None, false) => problems.push(format!("{name} is declared neither plain nor async")),
            (None, true) => {}
            (Some(d), false) => {
                for field in &fields {
                    match (d.plain.contains(field), d.waits.contains(field)) {
                        (true, true) => problems.push(format!("{name}.{field} is declared both plain and waiting")),
                        (false, false) => {
                            problems.push(format!("{name}.{field} is declared neither plain nor waiting"));
                        }
                        _ => {}
                    }
                }
                for stale in d.plain.iter().chain(&d.waits).filter(|f| !fields.contains(f)) {
                    problems.push(format!("{name}.{stale} is declared but not in the schema"));
                }
            }
        }
    }
    for d in &plain {
        if !seen.contains(&d.type_name) {
            problems.push(format!("{} is declared plain but not in the schema", d.type_name));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The walk saw the types the screens use.
    for name in ["Appointment", "AppointmentConnection", "User", "UserConnection", "PageInfo", "Query"] {
        assert!(seen.iter().any(|s| s == name), "{name} missing from {seen:?}");
    }
}

/// What a patient's list screen asks for.
const SCREEN: &str = "query($first: Int) { appointments(first: $first) { totalCount pageInfo { hasNextPage }
  edges { node { id startsAt status reasonForVisit
    doctor { id firstName lastName email doctorProfile { specialty } }
    patient { id firstName lastName email } } } } }";

#[tokio::test]
async fn the_screens_page_is_answered_on_the_plain_path_in_at_most_two_statements() {
    let c = Clinic::open("Europe/Paris").await;
    for hhmm in ["09:00", "10:30", "14:00", "15:30"] {
        c.booked(&c.patient, &at(hhmm)).await;
    }
    // Up to more rows than there are (the complexity budget refuses this query at 50).
    for first in [1, 2, 20, 30] {
        // Nobody kept by the process: the page and its people, two statements.
        c.app.state.people.clear();
        let mut bodies = Vec::new();
        for (round, most) in [("cold", 2), ("warm", 1)] {
            let before = plain_stats(&c.app);
            let inline = c.app.state.reads.inline_answered();
            let (statements, body) =
                c.app.statements_for(Some(&c.patient.access), SCREEN, json!({ "first": first })).await;
            let after = plain_stats(&c.app);
            // On SQLite the page's rows were read and decoded in the request's thread (`db::inline`).
            let expected = u64::from(!on_postgres());
            assert_eq!(c.app.state.reads.inline_answered() - inline, expected, "the page read in place: {round}");
            assert!(body["errors"].is_null(), "{body}");
            let list = &body["data"]["appointments"];
            assert_eq!(list["totalCount"], 4, "{body}");
            assert_eq!(list["pageInfo"]["hasNextPage"], first < 4, "{body}");
            let node = &list["edges"][0]["node"];
            assert_eq!(node["doctor"]["email"], c.doctor.email.as_str());
            assert_eq!(node["patient"]["email"], c.patient.email.as_str());
            assert_eq!(node["doctor"]["doctorProfile"]["specialty"], "General practice");
            // The whole page was answered in place (the connection, and the `me` that
            // `statements_for` asks first): nothing fell back.
            assert_eq!(after.1 - before.1, 0, "objects left to the usual path: {before:?} → {after:?}");
            assert_eq!(after.0 - before.0, 2, "the page and `me` answered in place: {before:?} → {after:?}");
            // Once its people were seen, the page is its own statement alone (counted wherever it
            // ran).
            assert_eq!(statements, most, "statements for first: {first}, {round}");
            bodies.push(body);
        }
        assert_eq!(bodies[0], bodies[1], "the people kept are the people read");
    }

    // The counter does see a fallback: `history` waits for the database.
    let before = plain_stats(&c.app);
    let body = c
        .app
        .gql(
            Some(&c.patient.access),
            "{ appointments(first: 2) { edges { node { id history { kind } } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(plain_stats(&c.app).1 > before.1, "a page with `history` is left to the usual path");
}

/// The empty list (a patient with no appointment) is one statement: the page's, whose emptiness is
/// the total of 0; past the end and `first: 0` still count.
#[tokio::test]
async fn an_empty_first_page_is_one_statement_and_a_total_of_zero() {
    let c = Clinic::open("Europe/Paris").await;
    let nobody = c.app.patient().await;
    let (_, warm) = c.app.statements_for(Some(&nobody.access), SCREEN, json!({ "first": 20 })).await;
    assert!(warm["errors"].is_null(), "{warm}");
    let (me_only, _) = c.app.statements_for(Some(&nobody.access), "{ __typename }", json!({})).await;
    let inline = c.app.state.reads.inline_answered();
    let (statements, body) = c.app.statements_for(Some(&nobody.access), SCREEN, json!({ "first": 20 })).await;
    assert_eq!(body["data"]["appointments"]["totalCount"], 0, "{body}");
    assert_eq!(body["data"]["appointments"]["edges"], json!([]), "{body}");
    assert_eq!(statements - me_only, 1, "the page alone: {statements} against {me_only}");
    // On SQLite that statement ran in the request's own thread (`db::inline`).
    let expected = u64::from(!on_postgres());
    assert_eq!(c.app.state.reads.inline_answered() - inline, expected, "the page read in the asking thread");

    // `first: 0` and a page past the end still know the total.
    c.booked(&c.patient, &at("09:00")).await;
    let body = c.app.gql(Some(&c.patient.access), SCREEN, json!({ "first": 0 })).await;
    assert_eq!(body["data"]["appointments"]["totalCount"], 1, "{body}");
    let first =
        c.app.gql(Some(&c.patient.access), "{ appointments(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let end = first["data"]["appointments"]["pageInfo"]["endCursor"].clone();
    let q = "query($a: String) { appointments(first: 5, after: $a) { totalCount edges { node { id } } } }";
    let past = c.app.gql(Some(&c.patient.access), q, json!({ "a": end })).await;
    assert_eq!(past["data"]["appointments"]["totalCount"], 1, "{past}");
    assert_eq!(past["data"]["appointments"]["edges"], json!([]), "{past}");
}
