//! The GraphQL enums: the domain's enums as the schema shows them (same names, values and
//! descriptions), converted both ways with `.into()`. The domain keeps its own types free of GraphQL.
use async_graphql::Enum;

/// What a user is in the clinic. Stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::Role")]
pub enum Role {
    Doctor,
    Patient,
    Admin,
}

/// Gender as the user chose to state it (a private field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::Gender")]
pub enum Gender {
    Female,
    Male,
    Other,
    Undisclosed,
}

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::appointments::AppointmentStatus")]
pub enum AppointmentStatus {
    Pending,
    Confirmed,
    Completed,
    Cancelled,
    NoShow,
}

/// What happened to an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::appointments::AppointmentEventKind")]
pub enum AppointmentEventKind {
    Created,
    Confirmed,
    Rescheduled,
    Cancelled,
    Completed,
    NoShow,
}

/// Day of the week, Monday first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::schedule::Weekday")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// What an email is about. Stored as its name; sent as the `X-CyberMed-Kind` header in lower case
/// with dashes (`appointment-confirmed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::outbox::EmailKind")]
pub enum EmailKind {
    PasswordReset,
    AppointmentRequested,
    AppointmentConfirmed,
    AppointmentRescheduled,
    AppointmentCancelled,
    AppointmentReminder,
    AppointmentSeries,
    WaitlistOffer,
    WebhookDisabled,
    EmailChanged,
}

/// Where an email is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::outbox::EmailStatus")]
pub enum EmailStatus {
    Pending,
    Sent,
    Failed,
}

/// Where a waitlist entry is in its life: `WAITING` and `OFFERED` are live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::db::entities::waitlist_entry::WaitlistStatus")]
pub enum WaitlistStatus {
    Waiting,
    Offered,
    Booked,
    Expired,
    Left,
}

/// What a webhook tells of; sent as the body's `type` (`appointment.created`, `ping`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::webhooks::WebhookEvent")]
pub enum WebhookEvent {
    AppointmentCreated,
    AppointmentConfirmed,
    AppointmentRescheduled,
    AppointmentCancelled,
    AppointmentCompleted,
    AppointmentNoShow,
    WaitlistOffered,
    Ping,
}

/// Where a webhook delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "cybermed_core::domain::webhooks::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}
