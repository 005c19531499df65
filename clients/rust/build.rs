//! The client's types are derived from the schema and the operations at build time: rebuild when
//! either changes (the derive itself tells cargo nothing).
fn main() {
    println!("cargo:rerun-if-changed=../../schema.graphql");
    println!("cargo:rerun-if-changed=../operations");
}
