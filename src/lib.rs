//! CyberMed: an appointment backend for clinics, served as one GraphQL API.

/// Shared state, the HTTP router and a bindable `Application`.
pub mod app;
/// Authentication: argon2id passwords, JWT access/refresh tokens, the request's viewer, guards.
pub mod auth;
/// iCalendar feeds: `GET /calendar/<token>.ics` over the domain layer.
pub mod calendar;
/// Configuration from the environment; the only place variables are read.
pub mod config;
/// Database pool, migrations, write transactions, and the SeaORM entities.
pub mod db;
/// Business rules per area, independent of GraphQL.
pub mod domain;
/// The one boundary that turns failures into `extensions.code`.
pub mod error;
/// Appointment events fanned out to subscribers (LISTEN/NOTIFY across replicas on PostgreSQL).
pub mod events;
/// A read-only FHIR R4 view (`/fhir/r4`) over the same domain functions and privacy rules.
pub mod fhir;
/// The GraphQL schema, its resolvers and the HTTP handlers that serve it.
pub mod graphql;
/// Background loops of every process (housekeeping), started and stopped with the server.
pub mod jobs;
/// Outgoing email over SMTP or into an outbox folder.
pub mod mail;
/// Prometheus metrics: the process's recorder, what records into it, and the `/metrics` listener.
pub mod metrics;
/// Client addresses: CIDR blocks and who the client is behind trusted proxies.
pub mod net;
/// Durable email: the outbox table's writer, its sender, and the emails' texts.
pub mod outbox;
/// Pages for people: the password-reset form the reset email links to.
pub mod pages;
/// The HTTP server loop: head, idle and body timeouts, and open connections per client address.
pub mod server;
/// Logging setup.
pub mod telemetry;
