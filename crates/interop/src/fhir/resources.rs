//! The handful of FHIR R4 (4.0.1) resources this server answers with, as plain serde structs.
//!
//! FHIR JSON has no `null`s and no empty arrays or objects: every optional element is skipped when
//! absent, every list when empty. The structs hold only what the server fills in; the official R4
//! JSON schema (tests/fixtures/fhir) checks every response in the tests.
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use cybermed_core::{
    db::entities::{appointment, doctor_profile, patient_profile, user},
    domain::{
        Gender,
        appointments::AppointmentStatus,
        privacy::{Access, PrivateField},
        schedule,
    },
};

/// The FHIR version of every resource here.
pub const FHIR_VERSION: &str = "4.0.1";

/// A FHIR `instant`: UTC, seconds always, fractions only when there are some.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub last_updated: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Reference {
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// `Kind/<id>`, without a display.
    pub fn to(kind: &str, id: uuid::Uuid) -> Self {
        Self { reference: format!("{kind}/{id}"), display: None }
    }
}

/// A `CodeableConcept` with text only (no coding system of ours to name).
#[derive(Serialize, Debug, Clone)]
pub struct Text {
    pub text: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub text: String,
    pub family: String,
    pub given: Vec<String>,
}

impl HumanName {
    fn of(u: &user::Model) -> Self {
        Self {
            use_: "official",
            text: format!("{} {}", u.first_name, u.last_name),
            family: u.last_name.clone(),
            given: vec![u.first_name.clone()],
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct ContactPoint {
    pub system: &'static str,
    pub value: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Address {
    pub text: String,
}

/// `telecom`: the email, then the phone if any, each where `access` reads it.
fn telecom(u: &user::Model, access: Access) -> Vec<ContactPoint> {
    let email = access.show(PrivateField::Email, || ContactPoint { system: "email", value: u.email.clone() });
    let phone = access
        .show(PrivateField::Phone, || u.phone.as_deref().filter(|p| !p.trim().is_empty()))
        .flatten()
        .map(|phone| ContactPoint { system: "phone", value: phone.to_owned() });
    email.into_iter().chain(phone).collect()
}

/// FHIR `AdministrativeGender`: an undisclosed gender is `unknown`.
pub fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Female => "female",
        Gender::Male => "male",
        Gender::Other => "other",
        Gender::Undisclosed => "unknown",
    }
}

/// `address`, where `access` reads it.
fn address(u: &user::Model, access: Access) -> Vec<Address> {
    access
        .show(PrivateField::Address, || u.address.as_deref().filter(|a| !a.trim().is_empty()))
        .flatten()
        .map(|a| vec![Address { text: a.to_owned() }])
        .unwrap_or_default()
}

/// `gender`, where `access` reads it.
fn gender_of(u: &user::Model, access: Access) -> Option<&'static str> {
    access.show(PrivateField::Gender, || u.gender.map(gender)).flatten()
}

/// The status mapping of API.md.
pub fn appointment_status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Pending => "pending",
        AppointmentStatus::Confirmed => "booked",
        AppointmentStatus::Completed => "fulfilled",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::NoShow => "noshow",
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Participant {
    pub actor: Reference,
    pub status: &'static str,
}

/// A `Coding`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Coding {
    pub system: String,
    pub code: String,
    pub display: String,
}

/// A `CodeableConcept` with a coding and its text.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    pub coding: Vec<Coding>,
    pub text: String,
}

/// The code system of visit types: `<PUBLIC_URL>/fhir/visit-type`, whose codes are visit type ids.
pub fn visit_type_system(public_url: &str) -> String {
    format!("{}/fhir/visit-type", public_url.trim_end_matches('/'))
}

impl Concept {
    /// A visit type as an Appointment's `serviceType`: coded in `system` ([`visit_type_system`]) by
    /// its id, displayed and told by its name.
    pub fn visit_type(system: &str, id: uuid::Uuid, name: &str) -> Self {
        Self {
            coding: vec![Coding { system: system.to_owned(), code: id.to_string(), display: name.to_owned() }],
            text: name.to_owned(),
        }
    }
}

/// An Appointment: a stored one ([`Appointment::stored`]), or one `$find` proposes
/// ([`Appointment::proposed`]: no `id`, `meta` or `created`, since it is not stored).
#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Appointment", rename_all = "camelCase")]
pub struct Appointment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelation_reason: Option<Text>,
    /// The visit type, when there is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_type: Vec<Concept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<Text>,
    pub start: String,
    pub end: String,
    pub minutes_duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub participant: Vec<Participant>,
}

impl Appointment {
    /// A stored appointment; `service_type`: its visit type's ([`Concept::visit_type`]), if it has
    /// one.
    pub fn stored(a: &appointment::Model, service_type: Option<Concept>) -> Self {
        let practitioner = if a.status == AppointmentStatus::Pending { "needs-action" } else { "accepted" };
        Self {
            id: Some(a.id.to_string()),
            meta: Some(Meta { last_updated: instant(a.updated_at) }),
            status: appointment_status(a.status),
            cancelation_reason: a
                .cancellation_reason
                .as_deref()
                .filter(|r| !r.trim().is_empty() && a.status == AppointmentStatus::Cancelled)
                .map(|r| Text { text: r.to_owned() }),
            service_type: service_type.into_iter().collect(),
            reason_code: Some(&a.reason_for_visit)
                .filter(|r| !r.trim().is_empty())
                .map(|r| vec![Text { text: r.clone() }])
                .unwrap_or_default(),
            start: instant(a.starts_at),
            end: instant(a.ends_at),
            minutes_duration: (a.ends_at - a.starts_at).num_minutes(),
            created: Some(instant(a.created_at)),
            participant: vec![
                Participant { actor: Reference::to("Patient", a.patient_id), status: "accepted" },
                Participant { actor: Reference::to("Practitioner", a.doctor_id), status: practitioner },
            ],
        }
    }

    /// What `$find` proposes: a visit with `doctor` at `slot` (with the visit type of
    /// `service_type`, if any), status `proposed`, the practitioner's participation `needs-action`.
    pub fn proposed(doctor: uuid::Uuid, slot: schedule::Slot, service_type: Option<Concept>) -> Self {
        Self {
            id: None,
            meta: None,
            status: "proposed",
            cancelation_reason: None,
            service_type: service_type.into_iter().collect(),
            reason_code: Vec::new(),
            start: instant(slot.start),
            end: instant(slot.end),
            minutes_duration: (slot.end - slot.start).num_minutes(),
            created: None,
            participant: vec![Participant { actor: Reference::to("Practitioner", doctor), status: "needs-action" }],
        }
    }
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Patient", rename_all = "camelCase")]
pub struct Patient {
    pub id: String,
    pub meta: Meta,
    pub active: bool,
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
}

impl Patient {
    /// A patient as a viewer with `access` sees them: the private fields only where it reads them
    /// (the caller audited such a read). `profile`: their patient profile, if they have one.
    pub fn new(u: &user::Model, access: Access, profile: Option<&patient_profile::Model>) -> Self {
        Self {
            id: u.id.to_string(),
            meta: Meta { last_updated: instant(u.updated_at) },
            active: u.is_active,
            name: vec![HumanName::of(u)],
            telecom: telecom(u, access),
            gender: gender_of(u, access),
            birth_date: access.show(PrivateField::PatientProfile, || profile.map(|p| p.date_of_birth)).flatten(),
            address: address(u, access),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Qualification {
    pub code: Text,
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Practitioner", rename_all = "camelCase")]
pub struct Practitioner {
    pub id: String,
    pub meta: Meta,
    pub active: bool,
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qualification: Vec<Qualification>,
}

impl Practitioner {
    /// A doctor as a viewer with `access` sees them: the private fields only where it reads them.
    pub fn new(u: &user::Model, profile: Option<&doctor_profile::Model>, access: Access) -> Self {
        Self {
            id: u.id.to_string(),
            meta: Meta { last_updated: instant(u.updated_at) },
            active: u.is_active,
            name: vec![HumanName::of(u)],
            telecom: telecom(u, access),
            gender: gender_of(u, access),
            qualification: profile
                .filter(|p| !p.specialty.trim().is_empty())
                .map(|p| vec![Qualification { code: Text { text: p.specialty.clone() } }])
                .unwrap_or_default(),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Schedule", rename_all = "camelCase")]
pub struct Schedule {
    pub id: String,
    pub active: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub specialty: Vec<Text>,
    pub actor: Vec<Reference>,
    pub planning_horizon: Period,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Schedule {
    /// A doctor's bookable calendar from `now` to the booking horizon.
    pub fn new(cal: &schedule::DoctorCalendar, now: DateTime<Utc>, horizon: chrono::TimeDelta) -> Self {
        let d = &cal.doctor;
        Self {
            id: d.id.to_string(),
            active: cal.profile.as_ref().is_some_and(|p| p.verified),
            specialty: cal
                .profile
                .as_ref()
                .filter(|p| !p.specialty.trim().is_empty())
                .map(|p| vec![Text { text: p.specialty.clone() }])
                .unwrap_or_default(),
            actor: vec![Reference {
                reference: format!("Practitioner/{}", d.id),
                display: Some(format!("Dr {} {}", d.first_name, d.last_name)),
            }],
            planning_horizon: Period { start: instant(now), end: instant(now + horizon) },
            comment: Some(format!("Slots of {} minutes; availability in time zone {}", cal.slot_minutes(), cal.tz)),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Slot", rename_all = "camelCase")]
pub struct Slot {
    pub schedule: Reference,
    pub status: &'static str,
    pub start: String,
    pub end: String,
}

impl Slot {
    /// A free slot of the doctor's schedule (`Schedule/<doctor id>`).
    pub fn free(doctor: uuid::Uuid, s: schedule::Slot) -> Self {
        Self {
            schedule: Reference::to("Schedule", doctor),
            status: "free",
            start: instant(s.start),
            end: instant(s.end),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct BundleLink {
    pub relation: &'static str,
    pub url: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct EntrySearch {
    pub mode: &'static str,
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry<R> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    pub resource: R,
    pub search: EntrySearch,
}

impl<R> BundleEntry<R> {
    /// An entry that matched the search (`search.mode` `match`).
    pub fn matched(full_url: Option<String>, resource: R) -> Self {
        Self { full_url, resource, search: EntrySearch { mode: "match" } }
    }
}

/// An entry of a search Bundle: a match, or the `OperationOutcome` that says what the search
/// ignored (`search.mode` `outcome`).
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum SearchEntry<R> {
    Match(BundleEntry<R>),
    Outcome(BundleEntry<OperationOutcome>),
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "Bundle", rename_all = "camelCase")]
pub struct Bundle<R> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub timestamp: String,
    /// Every match; left out when the search asked for none (`_total=none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<SearchEntry<R>>,
}

impl<R> Bundle<R> {
    /// A `searchset` Bundle: `total` counts every match, `entry` holds this page's.
    pub fn searchset(
        now: DateTime<Utc>,
        total: Option<u64>,
        link: Vec<BundleLink>,
        entry: Vec<BundleEntry<R>>,
    ) -> Self {
        let entry = entry.into_iter().map(SearchEntry::Match).collect();
        Self { kind: "searchset", timestamp: instant(now), total, link, entry }
    }

    /// Says, in an `OperationOutcome` entry, which parameters the search ignored (lenient
    /// handling); nothing when none were.
    #[must_use]
    pub fn ignoring(mut self, ignored: &[String]) -> Self {
        if !ignored.is_empty() {
            let issue = ignored
                .iter()
                .map(|name| Issue {
                    severity: "warning",
                    code: "not-supported",
                    diagnostics: format!("Ignored unknown or unsupported search parameter '{name}'"),
                })
                .collect();
            self.entry.push(SearchEntry::Outcome(BundleEntry {
                full_url: None,
                resource: OperationOutcome { issue },
                search: EntrySearch { mode: "outcome" },
            }));
        }
        self
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Issue {
    pub severity: &'static str,
    pub code: &'static str,
    pub diagnostics: String,
}

#[derive(Serialize, Debug, Clone)]
#[serde(tag = "resourceType", rename = "OperationOutcome")]
pub struct OperationOutcome {
    pub issue: Vec<Issue>,
}

impl OperationOutcome {
    /// One error: `code` from FHIR's IssueType (`not-found`, `invalid`, `login`, …).
    pub fn error(code: &'static str, diagnostics: impl Into<String>) -> Self {
        Self { issue: vec![Issue { severity: "error", code, diagnostics: diagnostics.into() }] }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cybermed_core::domain::{Role, privacy::PRIVATE_FIELDS};

    use super::*;

    /// Someone with every field filled in.
    fn person(role: Role) -> user::Model {
        let now = Utc::now();
        user::Model {
            id: uuid::Uuid::now_v7(),
            email: "x@example.com".into(),
            password_hash: String::new(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: Some("+1 555 0100".into()),
            address: Some("1 Elm St".into()),
            bio: Some("Bio".into()),
            gender: Some(Gender::Female),
            role,
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: now,
            updated_at: now,
            email_reminders: false,
            sms_reminders: false,
        }
    }

    fn profile(u: &user::Model) -> patient_profile::Model {
        patient_profile::Model {
            user_id: u.id,
            date_of_birth: NaiveDate::from_ymd_opt(1990, 4, 1).unwrap_or_default(),
            emergency_contact_name: "Kim".into(),
            emergency_contact_phone: "+1 555 0101".into(),
            created_at: u.date_joined,
            updated_at: u.updated_at,
        }
    }

    /// A resource's elements, as `Resource.element`.
    fn elements(resource: &impl Serialize) -> BTreeSet<String> {
        let v = serde_json::to_value(resource).unwrap_or_default();
        let kind = v["resourceType"].as_str().unwrap_or_default().to_owned();
        v.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "resourceType")
            .map(|(k, _)| format!("{kind}.{k}"))
            .collect()
    }

    /// What a viewer with `access` gets of a patient and a doctor with every field filled in.
    fn seen(access: Access) -> BTreeSet<String> {
        let (patient, doctor) = (person(Role::Patient), person(Role::Doctor));
        let mut out = elements(&Patient::new(&patient, access, Some(&profile(&patient))));
        out.extend(elements(&Practitioner::new(&doctor, None, access)));
        out
    }

    #[test]
    fn fhir_holds_back_exactly_the_elements_of_the_declared_private_fields() {
        let declared: BTreeSet<String> =
            PRIVATE_FIELDS.iter().flat_map(|f| f.fhir()).map(|e| (*e).to_owned()).collect();
        let public = seen(Access::Public);
        for access in [Access::Own, Access::Admin, Access::Party] {
            let full = seen(access);
            let withheld: BTreeSet<String> = full.difference(&public).cloned().collect();
            assert_eq!(withheld, declared, "{access:?}: what FHIR withholds is what privacy declares");
        }
        assert!(public.contains("Patient.name") && public.contains("Practitioner.name"), "{public:?}");
    }
}
