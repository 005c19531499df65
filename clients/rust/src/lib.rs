//! A typed client for the CyberMed GraphQL API.
//!
//! Each operation in `clients/operations/*.graphql` (shared with the TypeScript client) is a type
//! here, generated at build time by `graphql_client` from the committed `schema.graphql`: its
//! `Variables` and `ResponseData` are plain Rust structs, and an operation that no longer matches
//! the schema is a compile error. The custom scalars map to the types below.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cybermed_client::Error> {
//! use cybermed_client::{Client, Login, login};
//! let client = Client::new("http://127.0.0.1:8000/graphql");
//! let auth = client
//!     .run::<Login>(login::Variables { email: "ann@example.com".into(), password: "…".into() })
//!     .await?
//!     .login;
//! let client = client.with_token(&auth.access_token);
//! # Ok(()) }
//! ```
use std::fmt;

pub use graphql_client::{GraphQLQuery, Response};

/// `DateTime`: an RFC 3339 instant; the server answers in UTC.
pub type DateTime = chrono::DateTime<chrono::Utc>;
/// `UUID`: an RFC 9562 UUID.
pub type UUID = uuid::Uuid;
/// `NaiveDate`: an ISO 8601 calendar date, `YYYY-MM-DD`.
pub type NaiveDate = chrono::NaiveDate;
/// `NaiveTime`: an ISO 8601 time of day, `HH:MM:SS`.
pub type NaiveTime = chrono::NaiveTime;

/// `login`: tokens and the signed-in user.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/login.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct Login;

/// `me`: the signed-in user with their profile.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/me.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct Me;

/// `doctors`: the directory, with each doctor's weekly availability.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/doctors.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct Doctors;

/// `setAvailability`: a doctor's whole week.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/set_availability.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct SetAvailability;

/// `webhookEndpoints`: admins' list of webhook endpoints.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/webhook_endpoints.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct WebhookEndpoints;

/// `createWebhookEndpoint`: an endpoint and its secret, shown only here.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/create_webhook_endpoint.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct CreateWebhookEndpoint;

/// `webhookDeliveries`: deliveries newest first, by endpoint and status.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/webhook_deliveries.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct WebhookDeliveries;

/// `availableSlots`: a doctor's free slots in `[from, to)`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/available_slots.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct AvailableSlots;

/// `visitTypes`: a doctor's visit types.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/visit_types.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct VisitTypes;

/// `createVisitType`: a doctor's new visit type.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/create_visit_type.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct CreateVisitType;

/// `createAppointment`: books a slot.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/create_appointment.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct CreateAppointment;

/// `holdSlot`: a free time kept for one patient for a few minutes; book it with `holdId`.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/holds.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct HoldSlot;

/// `releaseHold`: a live hold's time given back at once.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/holds.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct ReleaseHold;

/// `myHolds`: the viewer's live holds.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/holds.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct MyHolds;

/// `appointments`: the appointments page.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/appointments.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct Appointments;

/// `updateMe` with the reminder choices (email, SMS, the phone SMS go to). A field left `None` is
/// not sent, so it stays as it is (`null` would clear it, or be refused for a reminder choice).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/update_reminders.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq",
    skip_serializing_none
)]
pub struct UpdateReminders;

/// `appointmentEvents` (a subscription: send it over `/graphql/ws` with graphql-transport-ws).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema.graphql",
    query_path = "../operations/appointment_events.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct AppointmentEvents;

/// What can go wrong with one operation.
#[derive(Debug)]
pub enum Error {
    /// The request did not complete or the answer was not a GraphQL response.
    Transport(reqwest::Error),
    /// The server answered with errors (see [`Error::code`]).
    GraphQl(Vec<graphql_client::Error>),
    /// The server answered with neither data nor errors.
    NoData,
}

impl Error {
    /// The first error's `extensions.code` (`UNAUTHENTICATED`, `CONFLICT`, …), if any.
    pub fn code(&self) -> Option<&str> {
        self.extension("code")
    }

    /// The first error's `extensions.field`: the input field a `BAD_USER_INPUT` or `CONFLICT` names.
    pub fn field(&self) -> Option<&str> {
        self.extension("field")
    }

    fn extension(&self, key: &str) -> Option<&str> {
        match self {
            Self::GraphQl(errors) => errors.first()?.extensions.as_ref()?.get(key)?.as_str(),
            Self::Transport(_) | Self::NoData => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::GraphQl(errors) => match errors.first() {
                Some(first) => write!(f, "{} ({})", first.message, self.code().unwrap_or("no code")),
                None => f.write_str("an empty error list"),
            },
            Self::NoData => f.write_str("a response without data"),
        }
    }
}

impl std::error::Error for Error {}

/// Sends queries and mutations to one endpoint as `POST` JSON, signed in or not.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Client {
    /// An anonymous client for `url` (the `/graphql` endpoint).
    pub fn new(url: impl Into<String>) -> Self {
        Self { http: reqwest::Client::new(), url: url.into(), token: None }
    }

    /// The same client, sending `Authorization: Bearer <access_token>`.
    #[must_use]
    pub fn with_token(&self, access_token: &str) -> Self {
        Self { token: Some(access_token.to_owned()), ..self.clone() }
    }

    /// Runs operation `Q` with `variables`.
    ///
    /// # Errors
    /// [`Error::GraphQl`] when the answer carries errors (even with partial data),
    /// [`Error::Transport`] when the request fails, [`Error::NoData`] for an empty answer.
    pub async fn run<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData, Error> {
        let mut request = self.http.post(&self.url).json(&Q::build_query(variables));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response: Response<Q::ResponseData> =
            request.send().await.map_err(Error::Transport)?.json().await.map_err(Error::Transport)?;
        match (response.data, response.errors) {
            (_, Some(errors)) if !errors.is_empty() => Err(Error::GraphQl(errors)),
            (Some(data), _) => Ok(data),
            (None, _) => Err(Error::NoData),
        }
    }
}
