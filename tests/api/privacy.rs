//! Who sees whom: `me`, `user(id)`, `users`, and private fields.
use std::collections::{BTreeMap, BTreeSet};

use cybermed::domain::privacy::{PRIVATE_FIELDS, PrivateField};
use serde_json::{Value, json};

use crate::{
    appointments::{Clinic, at},
    fhir::{ok as fhir_ok, refused as fhir_refused},
    helpers::{TestApp, code, email, field},
};

const USER: &str = "query($id: UUID!) { user(id: $id) { id role firstName email phone address gender } }";

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let anonymous = app.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
    for bad in ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", ""] {
        assert_eq!(app.me(bad).await, Err("UNAUTHENTICATED".to_owned()), "token {bad:?}");
    }
    // A header that is not a Bearer credential is an error, never anonymous.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(code(&resp), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn_with(&[("JWT_SECRET", "another-secret-another-secret-another-0")]).await;
    let user = other.register(&email("x"), "PATIENT").await;
    assert_eq!(app.me(&user.access).await, Err("UNAUTHENTICATED".to_owned()));
}

#[tokio::test]
async fn anyone_signed_in_sees_a_doctor_but_not_their_private_fields() {
    let app = TestApp::spawn().await;
    let doctor = app.register(&email("doc"), "DOCTOR").await;
    app.gql(Some(&doctor.access), "mutation { updateMe(input: { phone: \"555\", gender: MALE }) { id } }", json!({}))
        .await;
    let patient = app.register(&email("pat"), "PATIENT").await;
    let body = app.gql(Some(&patient.access), USER, json!({ "id": doctor.id })).await;
    let u = &body["data"]["user"];
    assert_eq!(u["role"], "DOCTOR");
    assert!(u["email"].is_null() && u["phone"].is_null() && u["gender"].is_null(), "{body}");

    let own = app.gql(Some(&doctor.access), USER, json!({ "id": doctor.id })).await;
    assert_eq!(own["data"]["user"]["phone"], "555");
    assert_eq!(own["data"]["user"]["email"], doctor.email.as_str());
}

#[tokio::test]
async fn a_patient_is_not_found_by_other_patients_or_unrelated_doctors() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("p1"), "PATIENT").await;
    let other = app.register(&email("p2"), "PATIENT").await;
    let doctor = app.register(&email("d"), "DOCTOR").await;
    for viewer in [&other, &doctor] {
        let body = app.gql(Some(&viewer.access), USER, json!({ "id": patient.id })).await;
        assert_eq!(code(&body), Some("NOT_FOUND"));
        assert!(body["data"]["user"].is_null());
    }
    let missing = app.gql(Some(&other.access), USER, json!({ "id": uuid::Uuid::new_v4() })).await;
    assert_eq!(code(&missing), Some("NOT_FOUND"), "unknown and hidden look the same");
    let anonymous = app.gql(None, USER, json!({ "id": patient.id })).await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_admin_sees_everyone_with_private_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let patient = app.register(&email("p"), "PATIENT").await;
    let body = app.gql(Some(&admin.access), USER, json!({ "id": patient.id })).await;
    assert_eq!(body["data"]["user"]["email"], patient.email.as_str());
}

const USERS: &str = "query($first: Int, $after: String, $role: Role, $search: String) {
  users(first: $first, after: $after, role: $role, search: $search) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id email role } }
  } }";

#[tokio::test]
async fn users_lists_pages_with_role_and_case_insensitive_search() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.register(&format!("patient{i}@example.com"), "PATIENT").await.id);
    }
    app.register("Dr.Who@Example.com", "DOCTOR").await;

    let page1 = app.gql(Some(&admin.access), USERS, json!({ "first": 2, "role": "PATIENT" })).await;
    let c = &page1["data"]["users"];
    assert_eq!(c["totalCount"], 5);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    let got: Vec<&str> = c["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()], "sign-up order");

    let after = c["pageInfo"]["endCursor"].as_str().unwrap();
    let page2 = app.gql(Some(&admin.access), USERS, json!({ "first": 10, "role": "PATIENT", "after": after })).await;
    let c2 = &page2["data"]["users"];
    assert_eq!(c2["edges"].as_array().unwrap().len(), 3);
    assert_eq!(c2["pageInfo"]["hasNextPage"], false);
    assert_eq!(c2["edges"][0]["node"]["id"], ids[2].as_str());

    let search = app.gql(Some(&admin.access), USERS, json!({ "search": "WHO" })).await;
    assert_eq!(search["data"]["users"]["totalCount"], 1);
    assert_eq!(search["data"]["users"]["edges"][0]["node"]["role"], "DOCTOR");
    let by_name = app.gql(Some(&admin.access), USERS, json!({ "search": "test" })).await;
    assert_eq!(by_name["data"]["users"]["totalCount"], 6, "first name `Test` matches every registered user");
    let wildcard = app.gql(Some(&admin.access), USERS, json!({ "search": "%" })).await;
    assert_eq!(wildcard["data"]["users"]["totalCount"], 0, "LIKE wildcards are matched literally");
}

#[tokio::test]
async fn users_bounds_first_and_rejects_foreign_cursors() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let big = app
        .gql(
            Some(&admin.access),
            "query($first: Int) { users(first: $first) { edges { node { id } } } }",
            json!({ "first": 101 }),
        )
        .await;
    assert_eq!((code(&big), field(&big)), (Some("BAD_USER_INPUT"), Some("first")), "{big}");
    let ok =
        app.gql(Some(&admin.access), "{ users(first: 100) { totalCount edges { node { id } } } }", json!({})).await;
    assert!(ok["data"]["users"].is_object());
    let bad = app.gql(Some(&admin.access), USERS, json!({ "after": "not-a-cursor" })).await;
    assert_eq!((code(&bad), field(&bad)), (Some("BAD_USER_INPUT"), Some("after")));
}

#[tokio::test]
async fn users_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let patient = app.register(&email("p"), "PATIENT").await;
    let doctor = app.register(&email("d"), "DOCTOR").await;
    for s in [&patient, &doctor] {
        assert_eq!(code(&app.gql(Some(&s.access), USERS, json!({})).await), Some("FORBIDDEN"));
    }
    assert_eq!(code(&app.gql(None, USERS, json!({})).await), Some("UNAUTHENTICATED"));
}

// ---------------------------------------------------------------------------------------------
// The private fields are declared once (`privacy::PRIVATE_FIELDS`): GraphQL and FHIR hold back the
// same ones.

/// The schema's object types: name → fields (name → the named type it returns, lists and
/// non-null unwrapped), from introspection. Fields that take a required argument are left out.
async fn object_types(app: &TestApp, token: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    const Q: &str = "{ __schema { types { name kind fields { name args { type { kind } }
        type { name ofType { name ofType { name ofType { name } } } } } } } }";
    let body = app.gql(Some(token), Q, json!({})).await;
    let types = body["data"]["__schema"]["types"].as_array().unwrap_or_else(|| panic!("{body}"));
    let named = |mut t: &Value| {
        while t["name"].is_null() {
            t = &t["ofType"];
        }
        t["name"].as_str().unwrap().to_owned()
    };
    types
        .iter()
        .filter(|t| t["kind"] == "OBJECT" && !t["name"].as_str().unwrap().starts_with("__"))
        .map(|t| {
            let fields = t["fields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["args"].as_array().unwrap().iter().all(|a| a["type"]["kind"] != "NON_NULL"))
                .map(|f| (f["name"].as_str().unwrap().to_owned(), named(&f["type"])))
                .collect();
            (t["name"].as_str().unwrap().to_owned(), fields)
        })
        .collect()
}

/// A selection of every field of `type_name`, and of the objects under it (none of which leads
/// back to a `User`).
fn every_field(types: &BTreeMap<String, BTreeMap<String, String>>, type_name: &str) -> String {
    let fields = &types[type_name];
    let inner: Vec<String> = fields
        .iter()
        .map(|(name, ty)| {
            assert_ne!(ty, "User", "{type_name}.{name} leads back to a User");
            if types.contains_key(ty) { format!("{name} {{ {} }}", every_field(types, ty)) } else { name.clone() }
        })
        .collect();
    inner.join(" ")
}

/// Every leaf of `v` by its path (`doctorProfile.timeOff.0.reason`); `null` is a leaf.
fn leaves(v: &Value, at: &str, out: &mut BTreeMap<String, Value>) {
    let path = |k: &str| if at.is_empty() { k.to_owned() } else { format!("{at}.{k}") };
    match v {
        Value::Object(map) => map.iter().for_each(|(k, x)| leaves(x, &path(k), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| leaves(x, &path(&i.to_string()), out)),
        other => {
            out.insert(at.to_owned(), other.clone());
        }
    }
}

/// The paths whose values differ between two views of one user.
fn differences(a: &Value, b: &Value) -> BTreeSet<String> {
    let (mut la, mut lb) = (BTreeMap::new(), BTreeMap::new());
    leaves(a, "", &mut la);
    leaves(b, "", &mut lb);
    la.keys().chain(lb.keys()).filter(|k| la.get(*k) != lb.get(*k)).cloned().collect()
}

#[tokio::test]
async fn the_declared_private_fields_are_withheld_alike_by_graphql_and_fhir() {
    let c = Clinic::open("UTC").await;
    // Every private field filled in, for a doctor and a patient (who also has a patient profile).
    let fill = "mutation { updateMe(input: { phone: \"+1 555 0142\", address: \"9 Private Rd\",
        bio: \"Public bio\", gender: FEMALE, emailReminders: false }) { id } }";
    for who in [&c.doctor, &c.patient] {
        let body = c.app.gql(Some(&who.access), fill, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let body = c
        .app
        .gql(
            Some(&c.doctor.access),
            "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id } }",
            json!({ "i": { "startsAt": at("06:00"), "endsAt": at("07:00"), "reason": "Personal" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // A viewer without access to the doctor's private fields, and one without access to the
    // patient at all (a patient is seen only by whom may read their private fields).
    let stranger = c.app.patient().await;
    let other_doctor = c.app.doctor("Dermatology", "UTC", 30, Some(&c.admin)).await;

    let types = object_types(&c.app, &c.admin.access).await;
    let user_fields = &types["User"];
    // The declaration names fields that exist, and a PatientProfile is reached only through the
    // declared `User.patientProfile`.
    for f in PRIVATE_FIELDS {
        assert!(user_fields.contains_key(f.graphql()), "{f:?}: User has no field {}", f.graphql());
    }
    for (ty, fields) in &types {
        for (name, returns) in fields {
            if returns == "PatientProfile" {
                assert_eq!(
                    PrivateField::of_graphql(name).filter(|_| ty == "User"),
                    Some(PrivateField::PatientProfile),
                    "{ty}.{name} gives a PatientProfile (private) outside the declaration"
                );
            }
        }
    }
    let selection = every_field(&types, "User");
    let one = format!("query($id: UUID!) {{ user(id: $id) {{ {selection} }} }}");
    let listed = format!("{{ doctors(first: 10) {{ nodes {{ {selection} }} }} }}");

    // GraphQL, the doctor: with access (an admin) every declared field has a value; without (a
    // patient who shares no appointment), every one is null, in `user` and in the `doctors` list.
    let full = c.app.gql(Some(&c.admin.access), &one, json!({ "id": c.doctor.id })).await;
    let full = &full["data"]["user"];
    let seen = c.app.gql(Some(&stranger.access), &one, json!({ "id": c.doctor.id })).await;
    assert!(seen["errors"].is_null(), "{seen}");
    let public = &seen["data"]["user"];
    let list = c.app.gql(Some(&stranger.access), &listed, json!({})).await;
    let in_list = list["data"]["doctors"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .find(|u| u["id"] == c.doctor.id.as_str())
        .unwrap_or_else(|| panic!("the doctor is listed: {list}"));
    for f in PRIVATE_FIELDS {
        let name = f.graphql();
        if *f != PrivateField::PatientProfile {
            assert!(!full[name].is_null(), "{name} is filled in for the test: {full}");
        }
        assert!(public[name].is_null(), "{name} is private (declared), yet GraphQL `user` shows it: {public}");
        assert!(in_list[name].is_null(), "{name} is private (declared), yet GraphQL `doctors` shows it: {in_list}");
    }
    // And whatever differs between the two views is declared private (or is the time off, whose
    // rule is `privacy::sees_time_off`): no field carries a private value undeclared.
    for view in [public, in_list] {
        for path in differences(full, view) {
            let top = path.split('.').next().unwrap_or_default();
            assert!(
                PrivateField::of_graphql(top).is_some() || path.starts_with("doctorProfile.timeOff"),
                "User.{path} differs between an admin and a stranger but is not declared private"
            );
        }
    }

    // GraphQL, the patient: every declared field has a value for an admin; to others the patient
    // does not exist, and nothing of theirs leaves.
    let full_patient = c.app.gql(Some(&c.admin.access), &one, json!({ "id": c.patient.id })).await;
    let full_patient = &full_patient["data"]["user"];
    for f in PRIVATE_FIELDS {
        assert!(!full_patient[f.graphql()].is_null(), "{} is filled in: {full_patient}", f.graphql());
    }
    let secrets = [c.patient.email.as_str(), "+1 555 0142", "9 Private Rd", "1990-04-01", "Kim"];
    for viewer in [&stranger, &other_doctor] {
        let body = c.app.gql(Some(&viewer.access), &one, json!({ "id": c.patient.id })).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
        let text = body.to_string();
        assert!(secrets.iter().all(|s| !text.contains(s)), "{text}");
    }

    // FHIR: the elements each declared field feeds.
    let elements = |kind: &str| -> BTreeSet<String> {
        PRIVATE_FIELDS
            .iter()
            .flat_map(|f| f.fhir())
            .filter_map(|e| e.strip_prefix(&format!("{kind}.")).map(str::to_owned))
            .collect()
    };
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let practitioner = format!("/fhir/r4/Practitioner/{}", c.doctor.id);
    let full = fhir_ok(&c.app, &c.admin.access, &practitioner).await;
    let public = fhir_ok(&c.app, &stranger.access, &practitioner).await;
    for e in elements("Practitioner") {
        assert!(full.get(&e).is_some(), "Practitioner.{e} is filled in: {full}");
        assert!(public.get(&e).is_none(), "Practitioner.{e} is private (declared), yet FHIR shows it: {public}");
    }
    let withheld: BTreeSet<String> = keys(&full).difference(&keys(&public)).cloned().collect();
    assert_eq!(withheld, elements("Practitioner"), "FHIR withholds exactly the declared elements");
    let patient = format!("/fhir/r4/Patient/{}", c.patient.id);
    let full = fhir_ok(&c.app, &c.admin.access, &patient).await;
    for e in elements("Patient") {
        assert!(full.get(&e).is_some(), "Patient.{e} is filled in: {full}");
    }
    for viewer in [&stranger, &other_doctor] {
        let (code, diagnostics) = fhir_refused(&c.app, Some(&viewer.access), &patient, 404).await;
        assert_eq!(code, "not-found");
        assert!(secrets.iter().all(|s| !diagnostics.contains(s)), "{diagnostics}");
    }
}
