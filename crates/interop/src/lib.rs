//! The doors other systems use, over the core's rules and privacy: a FHIR R4 API (`/fhir/r4`) and
//! iCalendar feeds (`/calendar/<token>.ics`). Independent of the GraphQL crate: each door asks the
//! core, never another door.
//!
//! Modules in layer order (`tests/layers.rs` checks it): `calendar`, `fhir`. Neither imports the other.

/// iCalendar feeds: `GET /calendar/<token>.ics` over the domain layer.
pub mod calendar;
/// A FHIR R4 view (`/fhir/r4`) over the same domain functions and privacy rules.
pub mod fhir;
