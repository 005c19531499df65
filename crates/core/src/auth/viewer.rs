//! The signed-in user a request acts as (resolved from a bearer token by [`crate::login`]).
use uuid::Uuid;

use crate::db::entities::user::{self, Role};

/// A signed-in, active user and the login their token belongs to.
#[derive(Debug)]
pub struct Viewer {
    pub user: user::Model,
    pub session_id: Uuid,
}

impl Viewer {
    pub fn id(&self) -> Uuid {
        self.user.id
    }
    pub fn role(&self) -> Role {
        self.user.role
    }
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

/// The token of an `Authorization: Bearer <token>` value; `None` for anything else, including a
/// value that is not visible ASCII (as HTTP headers are read, and as a `connection_init` payload
/// is read too: the same value is refused the same way whichever door it came through).
pub fn bearer_token(value: &str) -> Option<&str> {
    if !value.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
        return None;
    }
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Some(token.trim())
        }
        _ => None,
    }
}
