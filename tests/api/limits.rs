//! Document bounds: depth, recursion, aliases, directives, introspection.
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// graphql-js `getIntrospectionQuery()` as GraphiQL sends it.
pub const INTROSPECTION: &str = r"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}";

fn rejected(body: &Value) -> bool {
    body["errors"].is_array() && body["data"].is_null()
}

#[tokio::test]
async fn graphiqls_introspection_query_is_within_the_bounds() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, INTROSPECTION, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn circular_introspection_is_rejected() {
    let app = TestApp::spawn().await;
    let mut q = String::from("{ __schema { types { ");
    for _ in 0..10 {
        q.push_str("fields { type { ");
    }
    q.push_str("name");
    q.push_str(&" } } ".repeat(10));
    q.push_str(" } } }");
    let body = app.gql(None, &q, json!({})).await;
    assert!(rejected(&body), "{body}");
}

fn nested_inline_fragments(levels: usize) -> String {
    format!("{{ me {{ {} id {} }} }}", "... on User { ".repeat(levels), "} ".repeat(levels))
}

#[tokio::test]
async fn selections_nested_deeper_than_16_are_rejected_before_running() {
    let app = TestApp::spawn().await;
    // `me` adds one level; 15 inline fragments make 16.
    let ok = app.gql(None, &nested_inline_fragments(15), json!({})).await;
    assert_eq!(ok["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "ran (and needed a token): {ok}");
    let deep = app.gql(None, &nested_inline_fragments(16), json!({})).await;
    assert!(rejected(&deep), "{deep}");
    assert!(deep["errors"][0]["extensions"]["code"].is_null(), "nothing executed: {deep}");
}

#[tokio::test]
async fn more_than_30_aliases_are_rejected_even_through_fragments() {
    let app = TestApp::spawn().await;
    let aliases = |n: usize| (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ");
    let ok = app.gql(None, &format!("{{ {} }}", aliases(30)), json!({})).await;
    assert!(ok["errors"].is_null(), "{ok}");
    let over = app.gql(None, &format!("{{ {} }}", aliases(31)), json!({})).await;
    assert!(rejected(&over), "{over}");

    // 4 spreads of a fragment holding 8 aliases = 32.
    let q = format!("{{ ...F ...F b: __typename ...F ...F }} fragment F on Query {{ {} }}", aliases(8));
    let fan = app.gql(None, &q, json!({})).await;
    assert!(rejected(&fan), "{fan}");
}

/// Fragments that spread each other four times over ten levels make a kilobyte document of a
/// million selections: refused at once, before validation or execution walk them.
#[tokio::test]
async fn fragments_fanning_out_to_more_than_2000_selections_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let levels = 10;
    let mut q = String::from("{ ...F0 }");
    for i in 0..levels {
        let next = format!("...F{}", i + 1);
        q.push_str(&format!(" fragment F{i} on Query {{ __typename {next} {next} {next} {next} }}"));
    }
    q.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    assert!(q.len() < 1024, "{} bytes", q.len());
    let body = app.gql(None, &q, json!({})).await;
    assert!(rejected(&body), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("2000"), "refused by this bound: {body}");
    // A document of the same shape two levels deep (21 selections) is fine.
    let small =
        "{ ...F0 } fragment F0 on Query { __typename ...F1 ...F1 ...F1 ...F1 } fragment F1 on Query { __typename }";
    let ok = app.gql(None, small, json!({})).await;
    assert!(ok["errors"].is_null(), "{ok}");
}

#[tokio::test]
async fn an_aliased_login_flood_in_one_document_is_rejected() {
    let app = TestApp::spawn().await;
    let fields: Vec<String> = (0..50)
        .map(|i| format!("l{i}: login(email: \"victim@example.com\", password: \"guess{i}\") {{ accessToken }}"))
        .collect();
    let body = app.gql(None, &format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;
    assert!(rejected(&body), "{body}");
    assert_eq!(app.count_rows("login_failures").await, 0, "nothing executed");
}

#[tokio::test]
async fn more_than_5_directives_on_a_field_are_rejected() {
    let app = TestApp::spawn().await;
    let six = "{ __typename @include(if: true) @include(if: true) @include(if: true) @include(if: true) @include(if: true) @include(if: true) }";
    let body = app.gql(None, six, json!({})).await;
    assert!(rejected(&body), "{body}");
    // The limit's own error, not any other refusal of the document.
    assert_eq!(
        body["errors"][0]["message"], "The number of directives on the field `__typename` cannot be greater than `5`",
        "{body}"
    );
    // Five are allowed: the limit, not the repetition, refused six.
    let five = six.replacen(" @include(if: true)", "", 1);
    let body = app.gql(None, &five, json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[tokio::test]
async fn a_list_costs_first_times_its_children_against_a_budget_of_1000() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    // edges + node + 8 fields = 10 per item: 100 items cost 1,000 (allowed), 11 fields cost 1,100.
    let fields = ["id", "email", "firstName", "lastName", "role", "isActive", "isStaff", "isSuperuser", "dateJoined"];
    let q = |n: usize| format!("{{ users(first: 100) {{ edges {{ node {{ {} }} }} }} }}", fields[..n].join(" "));
    let ok = app.gql(Some(&admin.access), &q(8), json!({})).await;
    assert!(ok["errors"].is_null(), "{ok}");
    let over = app.gql(Some(&admin.access), &q(9), json!({})).await;
    assert!(rejected(&over), "{over}");
    // The default page is 20: the same 11-field selection fits.
    let default = app
        .gql(Some(&admin.access), &format!("{{ users {{ edges {{ node {{ {} }} }} }} }}", fields.join(" ")), json!({}))
        .await;
    assert!(default["errors"].is_null(), "{default}");
}

#[tokio::test]
async fn every_aliased_login_in_one_document_counts_against_the_throttle() {
    let app = TestApp::spawn().await;
    let victim = app.register("victim@example.com", "PATIENT").await;
    let fields: Vec<String> = (0..10)
        .map(|i| format!("l{i}: login(email: \"victim@example.com\", password: \"guess-{i}-wrong\") {{ accessToken }}"))
        .collect();
    let body = app.gql(None, &format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;
    let codes: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes.iter().filter(|c| **c == "UNAUTHENTICATED").count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "RATE_LIMITED").count(), 5, "{codes:?}");
    let real = app.login_raw(&victim.email, crate::helpers::PASSWORD).await;
    assert_eq!(real["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

/// `n` aliased `availableSlots` of `doctor` over `from`…`from + span`, in one query.
fn slot_queries(n: usize, doctor: &str, span: chrono::TimeDelta) -> String {
    let from = (chrono::Utc::now() + chrono::TimeDelta::days(2)).format("%Y-%m-%dT00:00:00Z").to_string();
    let to = (chrono::DateTime::parse_from_rfc3339(&from).unwrap() + span).to_rfc3339();
    (0..n)
        .map(|i| {
            format!(
                "s{i}: availableSlots(doctorId: \"{doctor}\", from: \"{from}\", to: \"{to}\") {{ startsAt endsAt }}"
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn available_slots_cost_10_per_day_so_four_month_long_ranges_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    let doctor = app.doctor("Cardiology", "UTC", 5, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day("00:00:00", "23:55:00")).await;
    let patient = app.patient().await;
    let month = chrono::TimeDelta::days(31);

    // 3 × 310 = 930: runs, every range answered in full.
    let three =
        app.gql(Some(&patient.access), &format!("{{ {} }}", slot_queries(3, &doctor.id, month)), json!({})).await;
    assert!(three["errors"].is_null(), "{three}");
    assert!(three["data"]["s2"].as_array().is_some_and(|s| s.len() > 8_000), "31 days of 5-minute slots");

    // 4 × 310 = 1,240: refused before anything runs.
    let four =
        app.gql(Some(&patient.access), &format!("{{ {} }}", slot_queries(4, &doctor.id, month)), json!({})).await;
    assert!(rejected(&four), "{four}");
    assert!(four["errors"][0]["message"].as_str().is_some_and(|m| m.contains("complex")), "{four}");
}

#[tokio::test]
async fn a_one_day_range_of_available_slots_costs_10() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root@example.com").await;
    let doctor = app.doctor("Cardiology", "UTC", 30, None).await;
    // A page of 99 users with 8 fields costs 990 (see the test above): 10 more fit the budget.
    let fields = "id email firstName lastName role isActive isStaff isSuperuser";
    let doc = |span| {
        format!("{{ users(first: 99) {{ edges {{ node {{ {fields} }} }} }} {} }}", slot_queries(1, &doctor.id, span))
    };
    let one_day = app.gql(Some(&admin.access), &doc(chrono::TimeDelta::days(1)), json!({})).await;
    assert!(one_day["errors"].is_null(), "{one_day}");
    let a_second_more = app.gql(Some(&admin.access), &doc(chrono::TimeDelta::seconds(86_401)), json!({})).await;
    assert!(rejected(&a_second_more), "a started day counts whole: {a_second_more}");
}

#[tokio::test]
async fn in_production_asking_for_the_schema_is_an_error_not_a_null() {
    let prod = TestApp::spawn_with(&[("APP_ENV", "production")]).await;
    let fragment = "{ ...F } fragment F on Query { __schema { queryType { name } } }";
    let inline = "{ ... on Query { t: __type(name: \"User\") { name } } }";
    for q in ["{ __schema { types { name } } }", "{ __type(name: \"User\") { name } }", fragment, inline] {
        let body = prod.gql(None, q, json!({})).await;
        assert!(rejected(&body), "{q}: {body}");
        assert_eq!(body["errors"][0]["message"], "Introspection is disabled", "{q}: {body}");
    }
    // `__typename` is not introspection of the schema.
    let body = prod.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    // Over GET too.
    let resp = prod
        .client
        .get(prod.url("/graphql"))
        .query(&[("query", "{ __schema { queryType { name } } }")])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "Introspection is disabled", "{body}");
}

/// A request that passed validation runs without the rules next time (issue 25), but only that
/// very request: the same document with other variables is validated in full again, and the
/// complexity bound, which depends on the variables, holds either way.
#[tokio::test]
async fn a_document_validated_before_is_validated_again_for_other_variables() {
    let app = TestApp::spawn().await;
    let patient = app.register(&crate::helpers::email("validated"), "PATIENT").await;
    let token = Some(patient.access.as_str());
    let query = "query Page($first: Int) { appointments(first: $first) { totalCount edges { node { id startsAt \
                 status reasonForVisit doctor { id firstName lastName email } patient { id firstName lastName email } } } } }";
    for _ in 0..3 {
        let body = app.gql(token, query, json!({"first": 5})).await;
        assert_eq!(body["data"]["appointments"]["totalCount"], 0, "{body}");
    }
    // Refused the same way on the first and the later attempts, after the valid ones.
    let wrong_type = app.gql(token, query, json!({"first": "five"})).await;
    assert!(rejected(&wrong_type), "{wrong_type}");
    assert!(crate::helpers::message(&wrong_type).contains("Invalid value for argument"), "{wrong_type}");
    assert_eq!(app.gql(token, query, json!({"first": "five"})).await, wrong_type);
    for _ in 0..2 {
        // 100 rows of 14 fields each: within `first`'s range, over the complexity budget of 1,000.
        let too_complex = app.gql(token, query, json!({"first": 100})).await;
        assert!(rejected(&too_complex), "{too_complex}");
        assert!(crate::helpers::message(&too_complex).contains("too complex"), "{too_complex}");
    }
    // An operation name that the document does not hold is refused however often the document ran.
    for _ in 0..2 {
        let body =
            app.gql_body(token, &json!({"query": query, "variables": {"first": 5}, "operationName": "Other"})).await;
        assert!(rejected(&body), "{body}");
    }
    let body = app.gql(token, query, json!({"first": 5})).await;
    assert_eq!(body["data"]["appointments"]["totalCount"], 0, "{body}");
}

/// Documents that walks without memory (validation's rules, the root's key order) find endless or
/// exponential, each refused at once by the bounds: a chain of fragments each spreading the next
/// (the bounds' own walk recursed down it, and 35 KB overflowed the stack and aborted the
/// process), a fragment spreading itself twice (53 bytes kept a worker busy for hours), fragments
/// fanning out to an unknown one (counted as nothing, 600 bytes cost minutes of validation), and
/// an unused fragment spreading a wide one from every field (validation's overlap rule took 20 s).
/// Run on the real binary, so that a crash is a failed request here, and with a client timeout,
/// so that a hang is one too.
#[tokio::test]
async fn documents_whose_fragments_nest_loop_fan_out_or_go_unused_are_refused_at_once_and_the_server_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::logs::serve(&dir, &[("GRAPHIQL", "true")]);
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let url = format!("http://127.0.0.1:{}", server.port);
    let chain = |root: &str, on: &str, leaf: &str, n: usize| {
        let links = (0..n).map(|i| format!("fragment f{i} on {on} {{ ...f{} }}", i + 1)).collect::<Vec<_>>();
        format!("{root} {} fragment f{n} on {on} {{ {leaf} }}", links.join(" "))
    };
    let (depth, width) = (10, 6);
    let fan_out = (0..depth)
        .map(|i| format!("fragment f{i} on User {{ {} }}", vec![format!("...f{}", i + 1); width].join(" ")))
        .collect::<Vec<_>>()
        .join(" ");
    let (spreads, fields) = (4560, 15_900);
    let unused = format!(
        "{{__typename}}fragment B on User{{{}}}fragment H on Query{{{}}}",
        "a ".repeat(fields),
        "a{...B}".repeat(spreads)
    );
    for (query, what, refusal) in [
        (chain("{ ...f0 }", "Query", "__typename", 1000), "a chain of fragments", "nested deeper than 64"),
        (
            chain("{ __schema { ...f0 } }", "__Schema", "description", 1500),
            "a chain in introspection",
            "nested deeper than 64",
        ),
        ("{ __typename ...A } fragment A on Query { ...A ...A }".to_owned(), "a cycle", "within itself"),
        (
            format!("{{ me {{ ...f0 }} }} {fan_out} fragment f{depth} on User {{ ...nope }}"),
            "a fan-out",
            "Unknown fragment",
        ),
        (unused, "an unused fragment", "is never used"),
        // Within the bounds: answered.
        (chain("{ __schema { ...f0 } }", "__Schema", "description", 60), "a short chain", ""),
    ] {
        let resp = client.post(format!("{url}/graphql")).json(&json!({ "query": query })).send().await;
        let body: Value =
            resp.unwrap_or_else(|e| panic!("{what}: the server answers at once: {e}")).json().await.unwrap();
        if refusal.is_empty() {
            assert!(body["errors"].is_null(), "{what}: {body}");
        } else {
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(rejected(&body) && message.contains(refusal), "{what}: {body}");
        }
    }
    let health = client.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    server.stop();
}
