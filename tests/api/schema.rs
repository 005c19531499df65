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
