//! `cybermed seed-demo`: a small demo clinic on an empty database.
//!
//! It registers people as `register` does, so besides the [`Store`] it is handed the password
//! hasher, the token keys and the login cache ([`Seeder`]), as everywhere in the domain.
use chrono::{Datelike, Days, NaiveTime, TimeDelta, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use super::{
    Gender, Role, Store,
    accounts::{self, NewUser},
    appointments::{
        self, AppointmentEventKind, AppointmentStatus, NewAppointment, Recurrence, Transition, UpcomingLimits,
    },
    profiles::{self, DoctorProfileChanges, PatientProfileChanges},
    schedule::{self, Rule, Weekday},
    visit_types::{self, VisitTypeSettings},
    waitlist,
};
use crate::{
    auth::{jwt::TokenKeys, password::Passwords, random_token, sessions::SessionCache, viewer::Viewer},
    db::{
        begin_write,
        entities::{appointment, appointment_event, user},
    },
    error::{AppError, AppResult},
};

/// One login the demo created.
pub struct DemoLogin {
    pub role: Role,
    pub email: String,
    pub password: String,
}

/// What seeding works with: the [`Store`] and the services registering a person needs.
#[derive(Clone, Copy)]
pub struct Seeder<'a> {
    pub store: &'a Store,
    pub passwords: &'a Passwords,
    pub keys: &'a TokenKeys,
    pub sessions: &'a SessionCache,
}

fn as_viewer(u: user::Model) -> Viewer {
    Viewer { user: u, session_id: Uuid::nil() }
}

async fn person(
    state: Seeder<'_>,
    logins: &mut Vec<DemoLogin>,
    role: Role,
    email: &str,
    first: &str,
    last: &str,
    gender: Gender,
) -> AppResult<Viewer> {
    let password = format!("Demo-{}", random_token(9));
    let user = if role == Role::Admin {
        accounts::create_admin(state.store, state.passwords, state.sessions, email, first, last, password.clone())
            .await?
    } else {
        let new = NewUser {
            email: email.to_owned(),
            password: password.clone(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            role,
            gender: Some(gender),
            phone: Some("+1 555 0100".to_owned()),
        };
        accounts::register(state.store, state.passwords, state.keys, None, new, None).await?.user
    };
    logins.push(DemoLogin { role, email: email.to_owned(), password });
    Ok(as_viewer(user))
}

/// Fills an empty database with a demo clinic: an admin, verified doctors in two time zones with
/// weekly availability, patients with profiles, and appointments in every status.
///
/// # Errors
/// `BAD_USER_INPUT` (field `database`) when the database already has users.
pub async fn seed(state: Seeder<'_>) -> AppResult<Vec<DemoLogin>> {
    if user::Entity::find().count(&state.store.db).await? > 0 {
        return Err(AppError::bad_input("database", "seed-demo needs an empty database"));
    }
    // Its people are fictional: no notification or reminder is written for them (a `serve` after
    // `seed-demo` would send them).
    let muted = Store { outbox: state.store.outbox.muted(), ..state.store.clone() };
    let state = Seeder { store: &muted, ..state };
    let mut logins = Vec::new();
    let admin = person(state, &mut logins, Role::Admin, "admin@clinic.example", "Ada", "Admin", Gender::Female).await?;

    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
    let t = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let mut doctors = Vec::new();
    let mut consultations = Vec::new();
    for (email, first, last, gender, specialty, tz, slot) in [
        ("grace.berlin@clinic.example", "Grace", "Hopper", Gender::Female, "Cardiology", "Europe/Berlin", 30),
        ("james.newyork@clinic.example", "James", "Watson", Gender::Male, "Dermatology", "America/New_York", 20),
        ("lena.berlin@clinic.example", "Lena", "Meitner", Gender::Female, "General practice", "Europe/Berlin", 15),
    ] {
        let doctor = person(state, &mut logins, Role::Doctor, email, first, last, gender).await?;
        let changes = DoctorProfileChanges {
            specialty: specialty.to_owned(),
            experience_years: 12,
            time_zone: Some(tz.to_owned()),
            slot_minutes: Some(slot),
        };
        profiles::upsert_doctor_profile(state.store, &doctor, changes).await?;
        profiles::verify_doctor(state.store, Some(admin.id()), doctor.id(), true).await?;
        let rules = weekdays
            .iter()
            .flat_map(|d| {
                [Rule { weekday: *d, start: t(9), end: t(12) }, Rule { weekday: *d, start: t(13), end: t(17) }]
            })
            .collect();
        schedule::set_availability(state.store, &doctor, rules).await?;
        // Two visit types each: a consultation of the doctor's slot with ten minutes after it, and a
        // short follow-up that patients book a day ahead at most 60 days out.
        let mut types = Vec::new();
        for (name, duration, after, notice, horizon, cutoff) in
            [("Consultation", slot, 10, 120, 90, 1440), ("Follow-up", 15, 5, 1440, 60, 720)]
        {
            let settings = VisitTypeSettings {
                name: name.to_owned(),
                duration_minutes: duration,
                buffer_before_minutes: None,
                buffer_after_minutes: Some(after),
                min_notice_minutes: Some(notice),
                horizon_days: Some(horizon),
                patient_cancel_cutoff_minutes: Some(cutoff),
                patient_reschedule_cutoff_minutes: Some(cutoff),
                patient_bookable: Some(true),
            };
            types.push(visit_types::create(state.store, &doctor, None, &settings).await?.id);
        }
        consultations.push(types[0]);
        doctors.push(doctor);
    }

    let mut patients = Vec::new();
    for (email, first, last, gender, born) in [
        ("mary.patient@clinic.example", "Mary", "Shelley", Gender::Female, (1985, 4, 12)),
        ("omar.patient@clinic.example", "Omar", "Khayyam", Gender::Male, (1972, 9, 3)),
        ("kim.patient@clinic.example", "Kim", "Lee", Gender::Other, (1999, 1, 28)),
    ] {
        let patient = person(state, &mut logins, Role::Patient, email, first, last, gender).await?;
        let changes = PatientProfileChanges {
            date_of_birth: chrono::NaiveDate::from_ymd_opt(born.0, born.1, born.2).unwrap_or_default(),
            emergency_contact_name: "Alex Doe".to_owned(),
            emergency_contact_phone: "+1 555 0199".to_owned(),
        };
        profiles::upsert_patient_profile(state.store, &patient, changes).await?;
        patients.push(patient);
    }

    // Upcoming: the first free slots of each doctor next week, booked in several ways.
    let now = state.store.clock.now();
    let mut monday = now.date_naive() + Days::new(7);
    while monday.weekday() != chrono::Weekday::Mon {
        monday = monday + Days::new(1);
    }
    let from = Utc.from_utc_datetime(&monday.and_time(t(0)));
    let mut upcoming = Vec::new();
    for doctor in &doctors {
        let slots =
            schedule::available_slots(state.store, &admin, doctor.id(), from, from + TimeDelta::days(5), None).await?;
        upcoming.push(slots);
    }
    let book = |who: &Viewer, doctor: &Viewer, patient: &Viewer, at, reason: &str, visit_type_id| {
        let input = NewAppointment {
            doctor_id: (who.role() != Role::Doctor).then_some(doctor.id()),
            patient_id: (who.role() != Role::Patient).then_some(patient.id()),
            starts_at: at,
            reason_for_visit: reason.to_owned(),
            visit_type_id,
            hold_id: None,
            ends_at: None,
        };
        let who = Viewer { user: who.user.clone(), session_id: who.session_id };
        // A handful of bookings: the default limits never refuse them.
        async move { appointments::create(state.store, &who, input, UpcomingLimits::default()).await }
    };
    let slot = |d: usize, i: usize| upcoming.get(d).and_then(|s| s.get(i)).map(|s| s.start);
    if let (Some(a), Some(b), Some(c), Some(d), Some(e)) = (slot(0, 0), slot(1, 2), slot(2, 4), slot(0, 8), slot(1, 6))
    {
        book(&patients[0], &doctors[0], &patients[0], a, "Chest pain when climbing stairs", None).await?;
        book(&doctors[1], &doctors[1], &patients[1], b, "Follow-up on a rash", None).await?;
        let pending = book(&patients[2], &doctors[2], &patients[2], c, "Annual check-up", None).await?;
        appointments::transition(state.store, &doctors[2], pending.id, Transition::Confirm, None).await?;
        book(&admin, &doctors[0], &patients[1], d, "Blood pressure review", None).await?;
        let cancelled = book(&patients[2], &doctors[1], &patients[2], e, "Mole check", None).await?;
        appointments::transition(
            state.store,
            &patients[2],
            cancelled.id,
            Transition::Cancel,
            Some("Travelling".to_owned()),
        )
        .await?;
        // A consultation booked with its visit type, by the patient, late in the week.
        let typed = schedule::available_slots(
            state.store,
            &patients[0],
            doctors[2].id(),
            from + TimeDelta::days(4),
            from + TimeDelta::days(5),
            Some(consultations[2]),
        )
        .await?;
        if let Some(last) = typed.last() {
            let (doctor, patient) = (&doctors[2], &patients[0]);
            book(patient, doctor, patient, last.start, "Persistent cough", Some(consultations[2])).await?;
        }
    }

    // A recurring series: six weekly visits, scheduled by the doctor from the Wednesday of the
    // week after next (its last free slot that day), each occurrence an ordinary appointment.
    let series_day = from + TimeDelta::days(9);
    let free = schedule::available_slots(
        state.store,
        &admin,
        doctors[0].id(),
        series_day,
        series_day + TimeDelta::days(1),
        None,
    )
    .await?;
    if let Some(last) = free.last() {
        let input = NewAppointment {
            doctor_id: None,
            patient_id: Some(patients[1].id()),
            starts_at: last.start,
            reason_for_visit: "Back exercises".to_owned(),
            visit_type_id: None,
            hold_id: None,
            ends_at: None,
        };
        let weekly = Recurrence { interval_weeks: 1, count: 6 };
        appointments::create_series(state.store, &doctors[0], input, weekly, UpcomingLimits::default()).await?;
    }

    // The waitlist: Omar, then Kim, wait for the time Mary booked with Dr Hopper next week (the
    // first slot of her week, so nothing is free to offer them yet): when Mary cancels, Omar is
    // offered it; when he declines, Kim is.
    if let Some(wanted) = slot(0, 0) {
        for patient in [&patients[1], &patients[2]] {
            let entry = waitlist::NewEntry {
                doctor_id: doctors[0].id(),
                patient_id: None,
                visit_type_id: None,
                earliest: wanted,
                latest: wanted + TimeDelta::minutes(30),
                replaces_appointment_id: None,
            };
            waitlist::join(state.store, patient, entry).await?;
        }
    }

    // Past visits (completed, missed) are history: written as they would have happened.
    let last_week = from - TimeDelta::days(14);
    for (doctor, patient, days, hour, status, reason) in [
        (&doctors[0], &patients[0], 1, 10, AppointmentStatus::Completed, "Palpitations"),
        (&doctors[2], &patients[1], 2, 14, AppointmentStatus::NoShow, "Flu symptoms"),
        (&doctors[1], &patients[2], 3, 9, AppointmentStatus::Completed, "Skin check"),
    ] {
        past_visit(
            state.store,
            doctor,
            patient,
            last_week + TimeDelta::days(days) + TimeDelta::hours(hour),
            status,
            reason,
        )
        .await?;
    }
    Ok(logins)
}

async fn past_visit(
    store: &Store,
    doctor: &Viewer,
    patient: &Viewer,
    starts_at: chrono::DateTime<Utc>,
    status: AppointmentStatus,
    reason: &str,
) -> AppResult<()> {
    let booked_at = starts_at - TimeDelta::days(7);
    let txn = begin_write(&store.writer).await?;
    let appt = appointment::ActiveModel {
        id: Set(Uuid::now_v7()),
        doctor_id: Set(doctor.id()),
        patient_id: Set(patient.id()),
        starts_at: Set(starts_at),
        ends_at: Set(starts_at + TimeDelta::minutes(30)),
        reason_for_visit: Set(reason.to_owned()),
        status: Set(status),
        cancellation_reason: Set(None),
        created_at: Set(booked_at),
        updated_at: Set(starts_at + TimeDelta::hours(1)),
        visit_type_id: Set(None),
        blocked_from: Set(starts_at),
        blocked_until: Set(starts_at + TimeDelta::minutes(30)),
        min_notice_minutes: Set(None),
        horizon_days: Set(None),
        patient_cancel_cutoff_minutes: Set(None),
        patient_reschedule_cutoff_minutes: Set(None),
        cancelled_at: Set(None),
        series_id: Set(None),
        occurrence: Set(None),
    }
    .insert(&txn)
    .await?;
    let final_kind = if status == AppointmentStatus::NoShow {
        AppointmentEventKind::NoShow
    } else {
        AppointmentEventKind::Completed
    };
    for (kind, st, at) in [
        (AppointmentEventKind::Created, AppointmentStatus::Confirmed, booked_at),
        (final_kind, status, starts_at + TimeDelta::hours(1)),
    ] {
        appointment_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            appointment_id: Set(appt.id),
            kind: Set(kind),
            status: Set(st),
            starts_at: Set(starts_at),
            actor_id: Set(Some(doctor.id())),
            at: Set(at),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
