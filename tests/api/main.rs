//! Black-box tests through the real HTTP endpoint, each against its own fresh database
//! (SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set).
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected shapes")]

mod accounts;
mod appointments;
mod audit;
mod calendar;
mod cli;
mod email_delivery;
mod fhir;
mod fuzz;
mod group_commit;
mod hardening;
mod helpers;
mod housekeeping;
mod limits;
mod logs;
mod metrics;
mod nesting;
mod notifications;
mod nulls;
mod outbox;
mod password_reset;
mod passwords;
mod plain;
mod privacy;
mod profiles;
mod races;
mod scalars;
mod schedule;
mod schema;
mod socket_limits;
mod sockets;
mod subscriptions;
mod text_inputs;
mod throttle;
mod tokens;
mod transport;
mod typed_client;
mod unverified_doctors;
