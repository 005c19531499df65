//! Who may see what of whom, decided in one place.
//!
//! Every way a person is read goes through here: the GraphQL `User` fields (both resolution paths
//! run the same resolvers, which ask [`access`]), `user(id)` ([`existence`]), the searches of the
//! doctor directory and the admins' user list ([`SearchIn`]), and the audit of reads of patients'
//! private fields ([`Access::audited_read`]). Calendar feeds and FHIR resources call it too.
//!
//! The rules (API.md, "Privacy"):
//! - public fields of anyone the viewer may know exists: names, role, bio, doctor profile;
//! - private fields (email, phone, address, gender, patient profile, reminder choice) to the user
//!   themself, to admins, and to the other party of an appointment they share (any status);
//! - a doctor exists for everyone; a patient or admin only for themself, admins, and (patients)
//!   the doctors they share an appointment with;
//! - every read of a patient's private fields by someone else is audited as `patient.read`.
use uuid::Uuid;

use super::Role;
use crate::db::entities::{appointment, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

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
    fn the_directory_never_searches_emails() {
        let has_email = |s: SearchIn| s.user_columns().iter().any(|c| matches!(c, user::Column::Email));
        assert!(!has_email(SearchIn::Directory));
        assert!(has_email(SearchIn::Accounts));
    }
}
