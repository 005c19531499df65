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
