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

/// Type name → its field, input field and enum value names, sorted.
type Shape = std::collections::BTreeMap<String, Vec<String>>;

/// What `schema.graphql` describes: its types, and the built-in scalars it refers to (SDL omits
/// built-in scalars; introspection lists those the schema uses).
fn committed_shape() -> Shape {
    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
    fn named(ty: &Type) -> &str {
        match &ty.base {
            BaseType::Named(n) => n.as_str(),
            BaseType::List(inner) => named(inner),
        }
    }
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let doc = async_graphql::parser::parse_schema(&sdl).unwrap();
    let mut shape = Shape::new();
    let mut referenced = Vec::new();
    for def in &doc.definitions {
        match def {
            TypeSystemDefinition::Type(t) => {
                let mut names: Vec<String> = match &t.node.kind {
                    TypeKind::Object(o) => o
                        .fields
                        .iter()
                        .inspect(|f| {
                            referenced.push(named(&f.node.ty.node).to_owned());
                            referenced.extend(f.node.arguments.iter().map(|a| named(&a.node.ty.node).to_owned()));
                        })
                        .map(|f| f.node.name.node.to_string())
                        .collect(),
                    TypeKind::InputObject(i) => i
                        .fields
                        .iter()
                        .inspect(|f| referenced.push(named(&f.node.ty.node).to_owned()))
                        .map(|f| f.node.name.node.to_string())
                        .collect(),
                    TypeKind::Enum(e) => e.values.iter().map(|v| v.node.value.node.to_string()).collect(),
                    _ => Vec::new(),
                };
                names.sort();
                shape.insert(t.node.name.node.to_string(), names);
            }
            TypeSystemDefinition::Directive(d) => {
                referenced.extend(d.node.arguments.iter().map(|a| named(&a.node.ty.node).to_owned()));
            }
            TypeSystemDefinition::Schema(_) => {}
        }
    }
    for builtin in ["Boolean", "Float", "ID", "Int", "String"] {
        if referenced.iter().any(|r| r == builtin) {
            shape.insert(builtin.to_owned(), Vec::new());
        }
    }
    shape
}

// Fails today: async-graphql always lists the built-in scalars Float and ID in `__schema.types`
// (its registry treats them as system types), though nothing in this schema uses them, and the
// spec says an unreferenced built-in scalar must not be listed; print-schema rightly omits them.
// Enable once the served introspection hides them (issue 10, item 11e).
#[tokio::test]
async fn the_served_introspection_describes_the_same_types_as_schema_graphql() {
    let app = crate::helpers::TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "{ __schema { types { name fields(includeDeprecated: true) { name } inputFields { name }
               enumValues(includeDeprecated: true) { name } } } }",
            serde_json::json!({}),
        )
        .await;
    let mut served = Shape::new();
    for ty in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        let mut names: Vec<String> = ["fields", "inputFields", "enumValues"]
            .iter()
            .filter_map(|k| ty[*k].as_array())
            .flatten()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        served.insert(name.to_owned(), names);
    }
    let committed = committed_shape();
    let only_served: Vec<_> = served.keys().filter(|k| !committed.contains_key(*k)).collect();
    let only_committed: Vec<_> = committed.keys().filter(|k| !served.contains_key(*k)).collect();
    assert!(
        only_served.is_empty() && only_committed.is_empty(),
        "served only: {only_served:?}; schema.graphql only: {only_committed:?}"
    );
    assert_eq!(served, committed);
}

#[tokio::test]
async fn built_in_scalars_the_schema_does_not_use_are_not_served_by_introspection() {
    let app = crate::helpers::TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "query($t: String!) { float: __type(name: \"Float\") { name } id: __type(name: $t) { name }
               int: __type(name: \"Int\") { name } __schema { all: types { n: name } } }",
            serde_json::json!({ "t": "ID" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["float"].is_null() && body["data"]["id"].is_null(), "{body}");
    assert_eq!(body["data"]["int"]["name"], "Int");
    let names: Vec<&str> =
        body["data"]["__schema"]["all"].as_array().unwrap().iter().map(|t| t["n"].as_str().unwrap()).collect();
    assert!(names.contains(&"Int") && names.contains(&"String") && names.contains(&"Appointment"), "{names:?}");
    assert!(!names.contains(&"Float") && !names.contains(&"ID"), "{names:?}");
}
