//! CyberMed: an appointment backend for clinics, served as one GraphQL API.
//!
//! This crate is the top layer: it assembles the core and the front doors into a server and runs
//! what every process runs beside it. The layers below are crates of their own (see
//! `docs/README.md`): [`cybermed_core`] (storage, rules, privacy, the outbox and event writers),
//! [`cybermed_graphql`] and [`cybermed_interop`] (FHIR R4, iCalendar feeds) over it. Their
//! modules are re-exported here under the names they had, for the binary and the tests.
//!
//! Modules in layer order, each importing only those above it: `telemetry`, `mail`, `sms`, `metrics`,
//! `pages`, `sender`, `webhooks`, `matcher`, `jobs`, `server`, `app`.

pub use cybermed_core::{auth, config, db, domain, error, events, login, net, outbox, page};
pub use cybermed_graphql as graphql;
pub use cybermed_interop::{calendar, fhir};

/// Application assembly: the state, the router and a bindable `Application`.
pub mod app;
/// Background loops of every process (both senders, housekeeping), started and stopped with the server.
pub mod jobs;
/// Outgoing email over SMTP or into an outbox folder.
pub mod mail;
/// The waitlist's matcher: claims the doctors due to be matched with a lease and makes offers.
pub mod matcher;
/// Prometheus metrics: the process's recorder, what it describes, and the `/metrics` listener.
pub mod metrics;
/// Pages for people: the password-reset form the reset email links to.
pub mod pages;
/// The outbox's sender: claims due emails and SMS with a lease and delivers them through the
/// mailer or the SMS transport.
pub mod sender;
/// The HTTP server loop: head, idle and body timeouts, and open connections per client address.
pub mod server;
/// Outgoing SMS: JSON files in a folder, or an HTTP gateway.
pub mod sms;
/// Logging setup.
pub mod telemetry;
/// The webhook sender: claims due deliveries with a lease and POSTs them signed.
pub mod webhooks;
