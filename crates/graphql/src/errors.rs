//! GraphQL's own errors, beside the core's `AppError` (whose conversion gives `extensions.code`):
//! an error of the whole request, and the signal that ends a subscription that missed events.
use cybermed_core::error::AppError;

/// An error of the whole request (a refused token, an audit that could not be written), not of a
/// field: as a GraphQL error without `locations` (async-graphql would give it line 0, column 0,
/// which no document has).
pub fn request_error(e: AppError) -> async_graphql::ServerError {
    let mut error = async_graphql::Error::from(e).into_server_error(async_graphql::Pos::default());
    error.locations.clear();
    error
}

/// `EVENTS_MISSED`: a subscription may have missed events (it fell behind, or the server lost its
/// PostgreSQL listener for a moment) and ends; the client fetches again and resubscribes.
pub fn events_missed() -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new("Some events may have been missed: fetch the appointments again, then subscribe again")
        .extend_with(|_, e| e.set("code", "EVENTS_MISSED"))
}

/// Whether `response` is a request error: nothing ran (no data), and no error names a field.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
