//! Schema assembly: the merged root types, document limits, and per-deployment switches.
use async_graphql::{MergedObject, SDLExportOptions, Schema, ValidationMode};

use super::{
    accounts::{AccountsMutation, AccountsQuery},
    appointments::{AppointmentsMutation, AppointmentsQuery, AppointmentsSubscription, SeriesMutation},
    audit::AuditQuery,
    calendar::CalendarMutation,
    holds::{HoldsMutation, HoldsQuery},
    limits::DocumentLimits,
    nulls::Nulls,
    outbox::OutboxQuery,
    profiles::{ProfilesMutation, ProfilesQuery},
    scalars::Described,
    visit_types::{VisitTypesMutation, VisitTypesQuery},
    waitlist::{WaitlistMutation, WaitlistQuery},
    webhooks::{WebhooksMutation, WebhooksQuery},
};
use crate::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    AccountsQuery,
    ProfilesQuery,
    VisitTypesQuery,
    HoldsQuery,
    WaitlistQuery,
    WebhooksQuery,
    AppointmentsQuery,
    AuditQuery,
    OutboxQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AccountsMutation,
    ProfilesMutation,
    AppointmentsMutation,
    VisitTypesMutation,
    HoldsMutation,
    SeriesMutation,
    WaitlistMutation,
    WebhooksMutation,
    CalendarMutation,
);

/// The query root is [`Described`], so that the scalars carry their descriptions and URLs.
pub type CyberSchema = Schema<Described<Query>, Mutation, AppointmentsSubscription>;

/// Directives allowed on one field.
pub const MAX_DIRECTIVES: usize = 5;
/// Complexity budget; list fields cost `first × child`.
pub const MAX_COMPLEXITY: usize = 1000;
/// async-graphql's own parse-time recursion bound: only a backstop against pathological documents
/// (the contract's depth and recursion bounds are [`DocumentLimits`], which spare introspection).
const PARSER_RECURSION_BACKSTOP: usize = 64;

/// Builds the schema. `state` is `None` only for printing the SDL.
/// With `limits`, the schema is the one for operations that arrive over WebSocket: the document
/// bounds run inside it as an extension, and so does each operation's login check, request id and
/// log line ([`super::socket_operation::SocketOperations`]); without, the caller must apply
/// [`DocumentLimits::prepare`] first. Likewise with `nulls`, field errors are placed as the spec
/// says inside the schema; without, the caller applies [`Nulls::fix`] to each response.
pub fn build_schema(state: Option<AppState>, limits: Option<DocumentLimits>, nulls: Option<Nulls>) -> CyberSchema {
    build(state, limits, nulls, ValidationMode::Strict)
}

/// The HTTP schema for a request whose document, operation and variables are known to have passed
/// [`build_schema`]'s validation ([`DocumentLimits::was_validated`]): it runs only the part of
/// validation that is not a rule, the complexity and depth bounds and the fragment-cycle check
/// (async-graphql's `ValidationMode::Fast`), which give the same answer for the same request.
/// Validation is a pure function of the schema, the document, the operation's name and the
/// variables (the variables' values are checked against the arguments they fill), so nothing is
/// let through that the full rules would refuse; it costs the screen's query a quarter of what
/// the full rules cost (BENCHMARKS.md, "The floor").
pub fn build_revalidating_schema(state: AppState) -> CyberSchema {
    build(Some(state), None, None, ValidationMode::Fast)
}

fn build(
    state: Option<AppState>,
    limits: Option<DocumentLimits>,
    nulls: Option<Nulls>,
    validation: ValidationMode,
) -> CyberSchema {
    let introspection = state.as_ref().is_none_or(|s| s.config.graphiql);
    let suggestions = state.as_ref().is_none_or(|s| !s.config.is_production());
    let mut builder = Schema::build(Described(Query::default()), Mutation::default(), AppointmentsSubscription)
        .validation_mode(validation)
        .limit_recursive_depth(PARSER_RECURSION_BACKSTOP)
        .limit_directives(MAX_DIRECTIVES)
        .limit_complexity(MAX_COMPLEXITY);
    if !introspection {
        builder = builder.disable_introspection();
    }
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    // The limits last: they answer a document from their cache without calling the extensions
    // after them, so the operation's own extension (its name is the log line's and the metric's)
    // and the nulls (the root's key order) come first and see every document.
    if limits.is_some() {
        builder = builder.extension(super::socket_operation::SocketOperations);
    }
    if let Some(nulls) = nulls {
        builder = builder.extension(nulls);
    }
    if let Some(limits) = limits {
        builder = builder.extension(limits);
    }
    if let Some(state) = state {
        builder = builder.data(state.plain_stats.clone()).data(state);
    }
    builder.finish()
}

/// The SDL, as committed in `schema.graphql`: with each scalar's `@specifiedBy` URL.
pub fn sdl() -> String {
    build_schema(None, None, None).sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// An object type answered on the plain path ([`super::plain`]): its name, the fields tried in
/// place, and the fields that always wait.
pub struct PlainDeclaration {
    pub type_name: String,
    pub plain: Vec<&'static str>,
    pub waits: Vec<&'static str>,
}

/// Every object type that is answered on the plain path where it appears.
pub fn plain_objects() -> Vec<PlainDeclaration> {
    use super::{
        accounts::UserConnection,
        appointments::{Appointment, AppointmentConnection, AppointmentSeries},
        audit::{AuditEntry, AuditEntryConnection},
        holds::SlotHold,
        objects::DoctorProfile,
        objects::User,
        outbox::{OutboxEmail, OutboxEmailConnection, OutboxSms, OutboxSmsConnection},
        pagination::PageEdge,
        plain::PlainObject,
        visit_types::VisitType,
        waitlist::{WaitlistEntry, WaitlistEntryConnection, WaitlistOffer},
        webhooks::{WebhookDelivery, WebhookDeliveryConnection, WebhookEndpoint},
    };
    use cybermed_core::domain::{appointments::AppointmentCursor, webhooks::DeliveryKey};

    fn of<T: PlainObject>() -> PlainDeclaration {
        let (plain, waits) = T::declared();
        PlainDeclaration { type_name: T::type_name().into_owned(), plain, waits }
    }
    vec![
        of::<User>(),
        of::<DoctorProfile>(),
        of::<Appointment>(),
        of::<AppointmentSeries>(),
        of::<AppointmentConnection>(),
        of::<PageEdge<AppointmentCursor, Appointment>>(),
        of::<UserConnection>(),
        of::<PageEdge<uuid::Uuid, User>>(),
        of::<AuditEntry>(),
        of::<AuditEntryConnection>(),
        of::<PageEdge<uuid::Uuid, AuditEntry>>(),
        of::<OutboxEmail>(),
        of::<OutboxEmailConnection>(),
        of::<PageEdge<uuid::Uuid, OutboxEmail>>(),
        of::<OutboxSms>(),
        of::<OutboxSmsConnection>(),
        of::<PageEdge<uuid::Uuid, OutboxSms>>(),
        of::<async_graphql::connection::PageInfo>(),
        of::<VisitType>(),
        of::<SlotHold>(),
        of::<WaitlistEntry>(),
        of::<WaitlistEntryConnection>(),
        of::<PageEdge<uuid::Uuid, WaitlistEntry>>(),
        of::<WaitlistOffer>(),
        of::<WebhookEndpoint>(),
        of::<WebhookDelivery>(),
        of::<WebhookDeliveryConnection>(),
        of::<PageEdge<DeliveryKey, WebhookDelivery>>(),
    ]
}

/// Object types resolved the usual way only: the roots, one-off payloads, and types read rarely
/// or behind the database (each field a future). A new object type goes here or into
/// [`plain_objects`]; the registry test (`tests/api/plain.rs`) fails until it does.
pub const ASYNC_OBJECTS: &[&str] = &[
    "Query",
    "Mutation",
    "Subscription",
    "AuthPayload",
    "MessagePayload",
    "AppointmentEvent",
    "CalendarFeed",
    "CalendarFeedInfo",
    "WebhookSecretPayload",
    "PatientProfile",
    "AvailabilityRule",
    "TimeOff",
    "Slot",
];
