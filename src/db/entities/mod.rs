//! SeaORM entities: storage rows only. GraphQL objects live in `crate::graphql` and never derive from these.
pub mod login_failure;
pub mod password_reset_token;
pub mod refresh_token;
pub mod session;
pub mod user;
