//! CyberMed's core: everything the front doors share and nothing of theirs.
//!
//! Modules in layer order, each importing only those above it in this list (a test,
//! `tests/layers.rs`, fails on an import cycle between modules of any crate):
//! `net`, `error`, `db`, `auth`, `config`, `events`, `page`, `outbox`, `sms`, `domain`, `services`, `login`.

/// Authentication's parts: argon2id passwords, JWT access/refresh tokens, the login cache, the viewer.
pub mod auth;
/// Configuration from the environment; the only place variables are read.
pub mod config;
/// Database pool, migrations, write transactions, and the SeaORM entities.
pub mod db;
/// Business rules per area, independent of any front door.
pub mod domain;
/// The one boundary that turns failures into `extensions.code` (and FHIR's and the feeds' answers).
pub mod error;
/// Appointment events fanned out to subscribers (LISTEN/NOTIFY across replicas on PostgreSQL).
pub mod events;
/// A request's and a WebSocket's login: resolving a bearer token to the viewer.
pub mod login;
/// Client addresses: CIDR blocks and who the client is behind trusted proxies.
pub mod net;
/// Durable email: the outbox table's writer and its texts' rendering.
pub mod outbox;
/// Keyset pages: the opaque cursor every front door pages with, and the one keyset reader every list
/// pages with.
pub mod page;
/// What a front door holds: the store and the services built once per process.
pub mod services;
/// SMS texts (GSM-7, 160 characters), E.164 numbers and their masks, quiet hours.
pub mod sms;

pub use services::{Core, Services};
