//! SeaORM entities: storage rows, and the enumerations they store by name (roles, statuses, kinds).
//! GraphQL objects live in the GraphQL crate and never derive from these.
pub mod appointment;
pub mod appointment_event;
pub mod appointment_series;
pub mod audit_entry;
pub mod availability_rule;
pub mod calendar_block;
pub mod calendar_feed;
pub mod doctor_profile;
pub mod login_failure;
pub mod outbox_email;
pub mod password_reset_token;
pub mod patient_profile;
pub mod refresh_token;
pub mod session;
pub mod slot_hold;
pub mod time_off;
pub mod user;
pub mod visit_type;
pub mod waitlist_entry;
pub mod webhook_delivery;
pub mod webhook_endpoint;
