//! Keyset pages: the page size every list accepts and the one cursor codec, shared by every front
//! door (GraphQL's connections, FHIR's `next` links), so that a cursor means one thing everywhere.
use base64::Engine;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{AppError, AppResult};

/// A list's page size when `first` is not given.
pub const DEFAULT_FIRST: i32 = 20;
/// The largest page any list serves.
pub const MAX_FIRST: i32 = 100;

/// `first` with its default, checked to be 0..=100.
///
/// # Errors
/// `BAD_USER_INPUT` on field `first`.
pub fn page_size(first: Option<i32>) -> AppResult<u64> {
    let first = first.unwrap_or(DEFAULT_FIRST);
    if !(0..=MAX_FIRST).contains(&first) {
        return Err(AppError::bad_input("first", format!("first must be between 0 and {MAX_FIRST}")));
    }
    Ok(u64::try_from(first).unwrap_or(0))
}

/// The cursor of a position in a list: its sort key, opaque to clients (the key's JSON, base64url
/// without padding: the format of async-graphql's `OpaqueCursor`, which earlier cursors were made
/// with). Every list encodes its keys this way.
pub fn encode_cursor<K: Serialize>(key: K) -> String {
    let json = serde_json::to_vec(&key).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The sort key inside a cursor.
///
/// # Errors
/// `BAD_USER_INPUT` on field `after` for a cursor this server did not make.
pub fn decode_cursor<K: DeserializeOwned>(cursor: Option<&str>) -> AppResult<Option<K>> {
    let invalid = || AppError::bad_input("after", "Invalid cursor");
    cursor
        .map(|c| {
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| invalid())?;
            serde_json::from_slice(&json).map_err(|_| invalid())
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_its_key_and_garbage_names_after() {
        let c = encode_cursor(("2026-12-05T09:00:00Z", 7));
        assert_eq!(decode_cursor::<(String, i32)>(Some(&c)).ok().flatten(), Some(("2026-12-05T09:00:00Z".into(), 7)));
        assert!(
            matches!(decode_cursor::<(String, i32)>(Some("%%%")), Err(AppError::BadInput { field, .. }) if field == "after")
        );
        assert!(matches!(decode_cursor::<(String, i32)>(None), Ok(None)));
    }
}
