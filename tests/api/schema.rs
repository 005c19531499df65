//! The committed SDL matches what the code serves.
#[test]
fn schema_graphql_matches_the_served_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    let current = cybermed::graphql::schema::sdl();
    assert!(
        committed.trim() == current.trim(),
        "schema.graphql is out of date: regenerate it with `cargo run -- print-schema > schema.graphql`"
    );
}

#[tokio::test]
async fn the_root_types_are_named_query_mutation_and_subscription() {
    let app = crate::helpers::TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }",
            serde_json::json!({}),
        )
        .await;
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query", "{body}");
    assert_eq!(schema["mutationType"]["name"], "Mutation", "{body}");
    assert_eq!(schema["subscriptionType"]["name"], "Subscription", "{body}");
}
