//! Who may see what of whom, declared in one place.
//!
//! Every way a person or an appointment is read goes through here:
//! - **appointments**: [`appointment_part`] answers for one appointment (its `get`, its changes, a
//!   live event's subscribers), and [`visible_appointments`] is the same rule as an SQL condition
//!   (lists, counts, calendar feeds, FHIR searches); both are built from one declaration
//!   ([`AppointmentPart`]'s `held`);
//! - **people**: the GraphQL `User` fields (both resolution paths run the same resolvers, which ask
//!   [`access`]), `user(id)` ([`existence`]), the searches of the doctor directory and the admins'
//!   user list ([`SearchIn`]), and the audit of reads of patients' private fields
//!   ([`Access::audited_read`]);
//! - **private fields**: which they are ([`PRIVATE_FIELDS`]), with the GraphQL field and the FHIR
//!   elements each one feeds; GraphQL's `User` resolvers and FHIR's `Patient` and `Practitioner`
//!   serve them only through [`Access::show`];
//! - **time off**: who sees a doctor's ([`sees_time_off`]).
//!
//! Calendar feeds and FHIR resources call it too.
//!
//! The rules (docs/privacy.md):
//! - an appointment to admins, and to its doctor and its patient; to nobody else;
//! - public fields of anyone the viewer may know exists: names, role, bio, doctor profile;
//! - private fields ([`PRIVATE_FIELDS`]: email, phone, address, gender, patient profile, reminder
//!   choice) to the user themself, to admins, and to the other party of an appointment they share
//!   (any status);
//! - a doctor's time off to the doctor themself and admins;
//! - a doctor exists for everyone; a patient or admin only for themself, admins, and (patients)
//!   the doctors they share an appointment with;
//! - every read of a patient's private fields by someone else is audited as `patient.read`.
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::Role;
use crate::{
    db::entities::{appointment, appointment_series, user},
    events::EventNotice,
};

/// Who is looking: a signed-in user's id and role, or nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Looker {
    pub id: Uuid,
    pub role: Role,
}

impl From<&crate::auth::viewer::Viewer> for Looker {
    fn from(v: &crate::auth::viewer::Viewer) -> Self {
        Self { id: v.id(), role: v.role() }
    }
}

/// What a viewer may read of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Public fields only.
    Public,
    /// Everything: it is the viewer's own account.
    Own,
    /// Everything: the viewer is an admin.
    Admin,
    /// Everything: the two share an appointment.
    Party,
}

impl Access {
    /// Whether the private fields are visible.
    pub fn private(self) -> bool {
        !matches!(self, Self::Public)
    }

    /// Whether this access reads the private `field`. One rule for them all today (every arm
    /// names its fields, so that a new one is decided here).
    pub fn reads(self, field: PrivateField) -> bool {
        use PrivateField::*;
        match field {
            Email | Phone | Address | Gender | PatientProfile | EmailReminders | SmsReminders => self.private(),
        }
    }

    /// `value` where this access reads the private `field`, else `None`: how every door serves
    /// a private field.
    pub fn show<T>(self, field: PrivateField, value: impl FnOnce() -> T) -> Option<T> {
        self.reads(field).then(value)
    }

    /// The `(viewer, patient)` pair to audit when `viewer` reads `target`'s private fields with
    /// this access: a patient's, read by someone else. `None`: nothing to audit (or nothing read).
    pub fn audited_read(self, viewer: Uuid, target: &user::Model) -> Option<(Uuid, Uuid)> {
        (self.private() && target.role == Role::Patient && viewer != target.id).then_some((viewer, target.id))
    }
}

/// [`access`] before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Settled by who the two are.
    Known(Access),
    /// [`Access::Party`] if the two share an appointment, else [`Access::Public`]: ask the
    /// database (`appointments::sharing_with`).
    IfSharingAnAppointment,
}

/// What `looker` may read of `target`, as far as it can be told without the database.
pub fn access(looker: Option<Looker>, target: &user::Model) -> Decision {
    let Some(looker) = looker else { return Decision::Known(Access::Public) };
    if looker.id == target.id {
        Decision::Known(Access::Own)
    } else if looker.role == Role::Admin {
        Decision::Known(Access::Admin)
    } else if may_share_appointments(looker.role, target.role) {
        Decision::IfSharingAnAppointment
    } else {
        Decision::Known(Access::Public)
    }
}

/// [`access`] once it is known whether the two share an appointment.
pub fn access_given(looker: Option<Looker>, target: &user::Model, sharing: bool) -> Access {
    match access(looker, target) {
        Decision::Known(access) => access,
        Decision::IfSharingAnAppointment if sharing => Access::Party,
        Decision::IfSharingAnAppointment => Access::Public,
    }
}

/// Whether two roles can be the two parties of an appointment.
pub fn may_share_appointments(a: Role, b: Role) -> bool {
    matches!((a, b), (Role::Doctor, Role::Patient) | (Role::Patient, Role::Doctor))
}

/// Whether a viewer may know a user exists (`user(id)`), before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existence {
    Visible,
    /// Only if they share an appointment (a doctor looking at a patient).
    IfSharingAnAppointment,
    Hidden,
}

/// Whether `looker` may know `target` exists: themself, admins, anyone for a doctor, and a
/// patient to the doctors they share an appointment with.
pub fn existence(looker: Looker, target: &user::Model) -> Existence {
    if looker.id == target.id || looker.role == Role::Admin || target.role == Role::Doctor {
        Existence::Visible
    } else if looker.role == Role::Doctor && target.role == Role::Patient {
        Existence::IfSharingAnAppointment
    } else {
        Existence::Hidden
    }
}

/// The fields a list's `search` matches: only fields every viewer of that list may read.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub enum SearchIn {
    /// The doctor directory (`doctors`, anyone): first name, last name, specialty. Never the
    /// email, which most viewers may not read.
    #[default]
    Directory,
    /// The admins' `users` list: first name, last name, email (admins read every private field).
    Accounts,
}

impl SearchIn {
    /// The user columns a search may match.
    pub fn user_columns(self) -> &'static [user::Column] {
        match self {
            Self::Directory => &[user::Column::FirstName, user::Column::LastName],
            Self::Accounts => &[user::Column::FirstName, user::Column::LastName, user::Column::Email],
        }
    }

    /// Whether a search also matches the doctor profile's specialty.
    pub fn specialty(self) -> bool {
        matches!(self, Self::Directory)
    }
}

/// A user's private field: read only with an [`Access`] that [`Access::reads`] it, `null` (GraphQL)
/// or absent (FHIR) for anyone else. [`PRIVATE_FIELDS`] is the one list of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrivateField {
    Email,
    Phone,
    Address,
    Gender,
    /// The patient profile as a whole: date of birth, emergency contact.
    PatientProfile,
    /// The choice of appointment reminders by email.
    EmailReminders,
    /// The consent to appointment reminders and notices by SMS.
    SmsReminders,
}

/// Every private field of a user: what GraphQL's `User`, the live events' look-ahead (which
/// audits a subscription's reads) and FHIR's `Patient` and `Practitioner` hold back.
pub const PRIVATE_FIELDS: &[PrivateField] = &[
    PrivateField::Email,
    PrivateField::Phone,
    PrivateField::Address,
    PrivateField::Gender,
    PrivateField::PatientProfile,
    PrivateField::EmailReminders,
    PrivateField::SmsReminders,
];

impl PrivateField {
    /// The field of GraphQL's `User` that serves it.
    pub const fn graphql(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Address => "address",
            Self::Gender => "gender",
            Self::PatientProfile => "patientProfile",
            Self::EmailReminders => "emailReminders",
            Self::SmsReminders => "smsReminders",
        }
    }

    /// The FHIR elements it feeds, as `Resource.element` (none: FHIR does not show it).
    pub const fn fhir(self) -> &'static [&'static str] {
        match self {
            Self::Email | Self::Phone => &["Patient.telecom", "Practitioner.telecom"],
            Self::Address => &["Patient.address"],
            Self::Gender => &["Patient.gender", "Practitioner.gender"],
            Self::PatientProfile => &["Patient.birthDate"],
            Self::EmailReminders | Self::SmsReminders => &[],
        }
    }

    /// The columns of `users` that hold it (none: it is a table of its own).
    pub const fn columns(self) -> &'static [user::Column] {
        match self {
            Self::Email => &[user::Column::Email],
            Self::Phone => &[user::Column::Phone],
            Self::Address => &[user::Column::Address],
            Self::Gender => &[user::Column::Gender],
            Self::PatientProfile => &[],
            Self::EmailReminders => &[user::Column::EmailReminders],
            Self::SmsReminders => &[user::Column::SmsReminders],
        }
    }

    /// The declared field a GraphQL `User` field name serves, if it is private.
    pub fn of_graphql(name: &str) -> Option<Self> {
        PRIVATE_FIELDS.iter().copied().find(|f| f.graphql() == name)
    }
}

/// The columns of `users` anyone who may know the user exists may read: names, bio, role and
/// flags, when they joined and last changed. With the private fields' [`PrivateField::columns`]
/// and [`UNSHOWN_USER_COLUMNS`], every column (a test checks it, so a new column must be placed).
pub const PUBLIC_USER_COLUMNS: &[user::Column] = &[
    user::Column::Id,
    user::Column::FirstName,
    user::Column::LastName,
    user::Column::Bio,
    user::Column::Role,
    user::Column::IsActive,
    user::Column::IsStaff,
    user::Column::IsSuperuser,
    user::Column::DateJoined,
    user::Column::UpdatedAt,
];

/// The columns of `users` no door shows anyone.
pub const UNSHOWN_USER_COLUMNS: &[user::Column] = &[user::Column::PasswordHash];

/// Whether `looker` may see the time off of the doctor `doctor_id` (`DoctorProfile.timeOff`): the
/// doctor themself and admins; nobody else (reasons can be personal).
pub fn sees_time_off(looker: Option<Looker>, doctor_id: Uuid) -> bool {
    looker.is_some_and(|l| l.id == doctor_id || l.role == Role::Admin)
}

/// A looker's part in an appointment: why they may see it. Whoever holds none may not know the
/// appointment exists (`NOT_FOUND`, never `FORBIDDEN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentPart {
    /// Admins see every appointment.
    Admin,
    /// The appointment's doctor.
    Doctor,
    /// The appointment's patient.
    Patient,
}

/// The two people of an appointment: of a row, or of a live event's notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppointmentParties {
    pub doctor_id: Uuid,
    pub patient_id: Uuid,
}

impl From<&appointment::Model> for AppointmentParties {
    fn from(a: &appointment::Model) -> Self {
        Self { doctor_id: a.doctor_id, patient_id: a.patient_id }
    }
}

/// A recurring series has its appointments' two people: who may know it is who may see them.
impl From<&appointment_series::Model> for AppointmentParties {
    fn from(s: &appointment_series::Model) -> Self {
        Self { doctor_id: s.doctor_id, patient_id: s.patient_id }
    }
}

impl From<&EventNotice> for AppointmentParties {
    fn from(n: &EventNotice) -> Self {
        Self { doctor_id: n.doctor_id, patient_id: n.patient_id }
    }
}

/// How a part is held: the declaration [`appointment_part`] and [`visible_appointments`] are both
/// built from.
enum Held {
    /// By the looker alone, of every appointment.
    Always,
    Never,
    /// By the looker whose id is in this column of the appointment (`id` reads the same of its
    /// parties).
    Through(appointment::Column, fn(AppointmentParties) -> Uuid),
}

impl AppointmentPart {
    /// The parts, in the order they are tried.
    const ALL: [Self; 3] = [Self::Admin, Self::Doctor, Self::Patient];

    /// The rule: admins hold [`Self::Admin`] of every appointment; the doctor and the patient of
    /// an appointment hold theirs.
    fn held(self, looker: Looker) -> Held {
        match self {
            Self::Admin if looker.role == Role::Admin => Held::Always,
            Self::Admin => Held::Never,
            Self::Doctor => Held::Through(appointment::Column::DoctorId, |p| p.doctor_id),
            Self::Patient => Held::Through(appointment::Column::PatientId, |p| p.patient_id),
        }
    }
}

/// `looker`'s part in the appointment of `parties`, or `None` when they may not see it: for one
/// appointment (`appointment(id)`, a change, FHIR's `Appointment/<id>`) and for the subscribers of
/// its live events.
pub fn appointment_part(looker: Looker, parties: impl Into<AppointmentParties>) -> Option<AppointmentPart> {
    let parties = parties.into();
    AppointmentPart::ALL.into_iter().find(|part| match part.held(looker) {
        Held::Always => true,
        Held::Never => false,
        Held::Through(_, id) => id(parties) == looker.id,
    })
}

/// [`appointment_part`] as a condition on the `appointments` table: the appointments `looker` may
/// see; `None` when that is every one (an admin). For lists, counts and calendar feeds.
pub fn visible_appointments(looker: Looker) -> Option<Condition> {
    let mut any = Condition::any();
    for part in AppointmentPart::ALL {
        match part.held(looker) {
            Held::Always => return None,
            Held::Never => {}
            Held::Through(column, _) => any = any.add(column.eq(looker.id)),
        }
    }
    Some(any)
}

/// Which of `others` share an appointment (any status) with `viewer_id` (who may know whom: sharing an appointment makes a doctor and a patient known to each
/// other; for `user(id)` and the DataLoader).
///
/// # Errors
/// Internal only.
pub async fn sharing_with<C: sea_orm::ConnectionTrait>(
    db: &C,
    viewer_id: Uuid,
    others: &[Uuid],
) -> crate::error::AppResult<Vec<Uuid>> {
    let as_doctor: Vec<Uuid> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::PatientId)
        .distinct()
        .filter(appointment::Column::DoctorId.eq(viewer_id))
        .filter(appointment::Column::PatientId.is_in(others.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let as_patient: Vec<Uuid> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::DoctorId)
        .distinct()
        .filter(appointment::Column::PatientId.eq(viewer_id))
        .filter(appointment::Column::DoctorId.is_in(others.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(as_doctor.into_iter().chain(as_patient).collect())
}

/// Whose waitlist entries `looker` may see (and answer): a patient their own, a doctor those for
/// them, an admin all. Anyone else's entry is `NOT_FOUND`. An entry shares nothing: through it a
/// doctor sees the patient's public fields only (see [`access`]), and `user(id)` stays
/// `NOT_FOUND` until an appointment exists.
pub fn sees_waitlist_entry(looker: Looker, patient_id: Uuid, doctor_id: Uuid) -> bool {
    match looker.role {
        Role::Admin => true,
        Role::Patient => looker.id == patient_id,
        Role::Doctor => looker.id == doctor_id,
    }
}

/// [`sees_waitlist_entry`] as a condition on `waitlist_entries`; `None` for an admin (all).
pub fn visible_waitlist_entries(looker: Looker) -> Option<Condition> {
    use crate::db::entities::waitlist_entry::Column;
    match looker.role {
        Role::Admin => None,
        Role::Patient => Some(Condition::all().add(Column::PatientId.eq(looker.id))),
        Role::Doctor => Some(Condition::all().add(Column::DoctorId.eq(looker.id))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> user::Model {
        let now = chrono::Utc::now();
        user::Model {
            id: Uuid::now_v7(),
            email: "x@example.com".into(),
            password_hash: String::new(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: None,
            address: None,
            bio: None,
            gender: None,
            role,
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: now,
            updated_at: now,
            email_reminders: true,
            sms_reminders: false,
        }
    }

    fn looker(u: &user::Model) -> Option<Looker> {
        Some(Looker { id: u.id, role: u.role })
    }

    #[test]
    fn every_pair_of_roles_has_one_answer() {
        let (doctor, patient, admin, other_patient, other_doctor) =
            (user(Role::Doctor), user(Role::Patient), user(Role::Admin), user(Role::Patient), user(Role::Doctor));
        use Decision::*;
        assert_eq!(access(None, &patient), Known(Access::Public));
        assert_eq!(access(looker(&patient), &patient), Known(Access::Own));
        assert_eq!(access(looker(&admin), &patient), Known(Access::Admin));
        assert_eq!(access(looker(&doctor), &patient), IfSharingAnAppointment);
        assert_eq!(access(looker(&patient), &doctor), IfSharingAnAppointment);
        assert_eq!(access(looker(&patient), &other_patient), Known(Access::Public));
        assert_eq!(access(looker(&doctor), &other_doctor), Known(Access::Public));
        assert_eq!(access(looker(&doctor), &admin), Known(Access::Public));
        assert_eq!(access_given(looker(&doctor), &patient, true), Access::Party);
        assert_eq!(access_given(looker(&doctor), &patient, false), Access::Public);
        // Sharing never lifts a pair that cannot share.
        assert_eq!(access_given(looker(&patient), &other_patient, true), Access::Public);
    }

    #[test]
    fn only_reads_of_patients_by_others_are_audited() {
        let (doctor, patient, admin) = (user(Role::Doctor), user(Role::Patient), user(Role::Admin));
        assert_eq!(Access::Party.audited_read(doctor.id, &patient), Some((doctor.id, patient.id)));
        assert_eq!(Access::Admin.audited_read(admin.id, &patient), Some((admin.id, patient.id)));
        assert_eq!(Access::Own.audited_read(patient.id, &patient), None);
        assert_eq!(Access::Public.audited_read(doctor.id, &patient), None);
        assert_eq!(Access::Party.audited_read(patient.id, &doctor), None);
    }

    #[test]
    fn existence_follows_the_roles() {
        let (doctor, patient, admin, other_patient) =
            (user(Role::Doctor), user(Role::Patient), user(Role::Admin), user(Role::Patient));
        let l = |u: &user::Model| Looker { id: u.id, role: u.role };
        assert_eq!(existence(l(&patient), &doctor), Existence::Visible);
        assert_eq!(existence(l(&patient), &other_patient), Existence::Hidden);
        assert_eq!(existence(l(&patient), &admin), Existence::Hidden);
        assert_eq!(existence(l(&doctor), &patient), Existence::IfSharingAnAppointment);
        assert_eq!(existence(l(&admin), &patient), Existence::Visible);
        assert_eq!(existence(l(&patient), &patient), Existence::Visible);
    }

    #[test]
    fn an_appointment_is_seen_by_admins_and_its_two_people_only() {
        let (doctor, patient, admin, other_patient, other_doctor) =
            (user(Role::Doctor), user(Role::Patient), user(Role::Admin), user(Role::Patient), user(Role::Doctor));
        let parties = AppointmentParties { doctor_id: doctor.id, patient_id: patient.id };
        let part = |u: &user::Model| appointment_part(Looker { id: u.id, role: u.role }, parties);
        assert_eq!(part(&admin), Some(AppointmentPart::Admin));
        assert_eq!(part(&doctor), Some(AppointmentPart::Doctor));
        assert_eq!(part(&patient), Some(AppointmentPart::Patient));
        assert_eq!(part(&other_patient), None);
        assert_eq!(part(&other_doctor), None);
        // The role does not make a part: a patient who is (oddly) the doctor of a row is its
        // doctor, and a doctor who is its patient is its patient.
        let swapped = AppointmentParties { doctor_id: patient.id, patient_id: doctor.id };
        assert_eq!(
            appointment_part(Looker { id: patient.id, role: patient.role }, swapped),
            Some(AppointmentPart::Doctor)
        );
        assert_eq!(
            appointment_part(Looker { id: doctor.id, role: doctor.role }, swapped),
            Some(AppointmentPart::Patient)
        );
    }

    #[test]
    fn the_condition_of_visible_appointments_is_the_same_rule() {
        use sea_orm::sea_query::{Query, SqliteQueryBuilder};
        let sql = |looker: Looker| {
            visible_appointments(looker).map(|c| {
                Query::select()
                    .column(appointment::Column::Id)
                    .from(appointment::Entity)
                    .cond_where(c)
                    .to_string(SqliteQueryBuilder)
            })
        };
        let (doctor, patient, admin) = (user(Role::Doctor), user(Role::Patient), user(Role::Admin));
        assert_eq!(sql(Looker { id: admin.id, role: Role::Admin }), None, "admins: every appointment");
        for u in [&doctor, &patient] {
            let id = u.id;
            assert_eq!(
                sql(Looker { id, role: u.role }).as_deref(),
                Some(
                    format!(
                        r#"SELECT "id" FROM "appointments" WHERE "appointments"."doctor_id" = '{id}' OR "appointments"."patient_id" = '{id}'"#
                    )
                    .as_str()
                ),
                "as doctor or as patient, whatever the role"
            );
        }
    }

    #[test]
    fn time_off_is_the_doctors_and_the_admins() {
        let (doctor, patient, admin, other_doctor) =
            (user(Role::Doctor), user(Role::Patient), user(Role::Admin), user(Role::Doctor));
        assert!(sees_time_off(looker(&doctor), doctor.id));
        assert!(sees_time_off(looker(&admin), doctor.id));
        assert!(!sees_time_off(looker(&other_doctor), doctor.id));
        assert!(!sees_time_off(looker(&patient), doctor.id));
        assert!(!sees_time_off(None, doctor.id));
    }

    #[test]
    fn the_private_fields_are_declared_once_with_both_doors_names() {
        use std::collections::HashSet;
        // Every variant is listed (the match fails to compile when one is added without a place).
        for f in PRIVATE_FIELDS {
            match f {
                PrivateField::Email
                | PrivateField::Phone
                | PrivateField::Address
                | PrivateField::Gender
                | PrivateField::PatientProfile
                | PrivateField::EmailReminders
                | PrivateField::SmsReminders => {}
            }
        }
        assert_eq!(PRIVATE_FIELDS.len(), 7);
        assert_eq!(PRIVATE_FIELDS.iter().collect::<HashSet<_>>().len(), PRIVATE_FIELDS.len());
        let names: HashSet<&str> = PRIVATE_FIELDS.iter().map(|f| f.graphql()).collect();
        assert_eq!(names.len(), PRIVATE_FIELDS.len(), "one GraphQL field each");
        for f in PRIVATE_FIELDS {
            assert_eq!(PrivateField::of_graphql(f.graphql()), Some(*f));
            for element in f.fhir() {
                assert!(
                    element.starts_with("Patient.") || element.starts_with("Practitioner."),
                    "{f:?}: FHIR shows people as Patient and Practitioner, not {element}"
                );
            }
        }
        assert_eq!(PrivateField::of_graphql("firstName"), None);
    }

    #[test]
    fn every_column_of_users_is_public_private_or_never_shown() {
        use sea_orm::{IdenStatic, Iterable};
        let name = |c: &user::Column| c.as_str().to_owned();
        let private: Vec<String> = PRIVATE_FIELDS.iter().flat_map(|f| f.columns()).map(name).collect();
        let public: Vec<String> = PUBLIC_USER_COLUMNS.iter().map(name).collect();
        let unshown: Vec<String> = UNSHOWN_USER_COLUMNS.iter().map(name).collect();
        for column in user::Column::iter() {
            let c = name(&column);
            let places = [&private, &public, &unshown].iter().filter(|list| list.contains(&c)).count();
            assert_eq!(places, 1, "users.{c} must be in exactly one of: a private field, public, never shown");
        }
        let all = private.len() + public.len() + unshown.len();
        assert_eq!(all, user::Column::iter().count(), "no column is listed twice");
    }

    #[test]
    fn private_fields_are_shown_to_private_access_only() {
        for f in PRIVATE_FIELDS {
            assert_eq!(Access::Public.show(*f, || 1), None, "{f:?}");
            for access in [Access::Own, Access::Admin, Access::Party] {
                assert_eq!(access.show(*f, || 1), Some(1), "{f:?} {access:?}");
                assert!(access.reads(*f));
            }
        }
    }

    #[test]
    fn the_directory_never_searches_emails() {
        let has_email = |s: SearchIn| s.user_columns().iter().any(|c| matches!(c, user::Column::Email));
        assert!(!has_email(SearchIn::Directory));
        assert!(has_email(SearchIn::Accounts));
    }
}
