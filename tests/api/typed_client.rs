//! The typed Rust client (`clients/rust`, generated from `schema.graphql` and
//! `clients/operations/*.graphql`) against the real server: every operation it carries, with the
//! custom scalars decoded into chrono and uuid types.
use chrono::{Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use cybermed_client::{
    AppointmentEvents, Appointments, AvailableSlots, Client, CreateAppointment, CreateVisitType, Doctors, GraphQLQuery,
    HoldSlot, Login, Me, MyHolds, ReleaseHold, SetAvailability, UpdateReminders, VisitTypes, appointment_events,
    appointments, available_slots, create_appointment, create_visit_type, doctors, hold_slot, login, me, my_holds,
    release_hold, set_availability, update_reminders, visit_types,
};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::{
    appointments::Clinic,
    helpers::{PASSWORD, TestApp, email, upcoming},
    subscriptions,
};

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn every_day(start: NaiveTime, end: NaiveTime) -> Vec<set_availability::AvailabilityRuleInput> {
    use set_availability::Weekday::*;
    [MON, TUE, WED, THU, FRI, SAT, SUN]
        .into_iter()
        .map(|weekday| set_availability::AvailabilityRuleInput { weekday, start_time: start, end_time: end })
        .collect()
}

#[tokio::test]
async fn a_patient_signs_in_finds_a_doctor_books_a_free_slot_and_sees_it_on_the_appointments_page() {
    // Arrange: a verified doctor (UTC, 30-minute slots) and a patient with a profile.
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    let patient = app.patient().await;
    let anonymous = Client::new(app.url("/graphql"));
    let doctor_id: Uuid = doctor.id.parse().unwrap();

    // The doctor's week, given as HH:MM (the NaiveTime scalar's short input).
    let as_doctor = anonymous.with_token(&doctor.access);
    let week = as_doctor
        .run::<SetAvailability>(set_availability::Variables { rules: every_day(hm(9, 0), hm(12, 0)) })
        .await
        .unwrap()
        .set_availability;
    assert_eq!(week.len(), 7);
    assert!(week.iter().all(|r| (r.start_time, r.end_time) == (hm(9, 0), hm(12, 0))), "{week:?}");

    // login
    let auth = anonymous
        .run::<Login>(login::Variables { email: patient.email.clone(), password: PASSWORD.to_owned() })
        .await
        .unwrap()
        .login;
    assert_eq!(auth.token_type, "Bearer");
    assert!(auth.expires_in > 0);
    assert_eq!(auth.user.role, login::Role::PATIENT);
    assert_eq!(auth.user.email.as_deref(), Some(patient.email.as_str()));
    let client = anonymous.with_token(&auth.access_token);

    // me
    let me = client.run::<Me>(me::Variables).await.unwrap().me;
    assert_eq!(me.id, auth.user.id);
    assert_eq!(me.id.to_string(), patient.id);
    assert!(me.date_joined <= Utc::now());
    assert_eq!(me.patient_profile.map(|p| p.date_of_birth), NaiveDate::from_ymd_opt(1990, 4, 1));
    assert!(me.doctor_profile.is_none());

    // the doctor directory, with availability
    let directory = client
        .run::<Doctors>(doctors::Variables { first: Some(10), after: None, search: Some("cardio".into()) })
        .await
        .unwrap()
        .doctors;
    assert_eq!(directory.total_count, 1);
    assert!(!directory.page_info.has_next_page);
    let listed = &directory.edges[0].node;
    assert_eq!(listed.id, doctor_id);
    let profile = listed.doctor_profile.as_ref().unwrap();
    assert_eq!(
        (profile.specialty.as_str(), profile.time_zone.as_str(), profile.slot_minutes),
        ("Cardiology", "UTC", 30)
    );
    assert_eq!(profile.availability.len(), 7);
    assert_eq!(profile.availability[0].weekday, doctors::Weekday::MON);
    assert_eq!((profile.availability[0].start_time, profile.availability[0].end_time), (hm(9, 0), hm(12, 0)));

    // free slots on a Wednesday at least two days ahead (whatever today is)
    let day = upcoming(2, 2);
    let from = Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN));
    let slots = client
        .run::<AvailableSlots>(available_slots::Variables {
            doctor_id,
            from,
            to: from + Days::new(1),
            visit_type_id: None,
        })
        .await
        .unwrap()
        .available_slots;
    let starts: Vec<_> = slots.iter().map(|s| s.starts_at).collect();
    let expected: Vec<_> = (0..6).map(|i| from + TimeDelta::hours(9) + TimeDelta::minutes(30 * i)).collect();
    assert_eq!(starts, expected);
    assert!(slots.iter().all(|s| s.ends_at - s.starts_at == TimeDelta::minutes(30)));

    // booking
    let booked = client
        .run::<CreateAppointment>(create_appointment::Variables {
            input: create_appointment::CreateAppointmentInput {
                doctor_id: Some(doctor_id),
                patient_id: None,
                starts_at: slots[0].starts_at,
                reason_for_visit: "Check-up".into(),
                visit_type_id: None,
                hold_id: None,
            },
        })
        .await
        .unwrap()
        .create_appointment;
    assert_eq!(booked.status, create_appointment::AppointmentStatus::PENDING);
    assert_eq!((booked.starts_at, booked.ends_at), (slots[0].starts_at, slots[0].ends_at));
    assert_eq!((booked.date, booked.time), (day, hm(9, 0)));
    assert_eq!((booked.doctor.id, booked.patient.id), (doctor_id, me.id));

    // the appointments page
    let page = client
        .run::<Appointments>(appointments::Variables { first: Some(20), after: None })
        .await
        .unwrap()
        .appointments;
    assert_eq!(page.total_count, 1);
    assert!(!page.page_info.has_next_page);
    assert!(page.page_info.end_cursor.is_some());
    let row = &page.edges[0].node;
    assert_eq!((row.id, row.starts_at, row.reason_for_visit.as_str()), (booked.id, booked.starts_at, "Check-up"));
    assert_eq!(row.status, appointments::AppointmentStatus::PENDING);
    assert_eq!(row.doctor.doctor_profile.as_ref().map(|p| p.specialty.as_str()), Some("Cardiology"));
    assert_eq!(row.patient.id, me.id);
}

#[tokio::test]
async fn booking_a_taken_slot_through_the_typed_client_is_a_conflict_naming_starts_at() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Dermatology", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day("09:00", "10:00")).await;
    let client = Client::new(app.url("/graphql"));
    let starts_at = Utc.from_utc_datetime(&upcoming(3, 2).and_time(hm(9, 30)));
    let input = |doctor: &str| create_appointment::CreateAppointmentInput {
        doctor_id: Some(doctor.parse().unwrap()),
        patient_id: None,
        starts_at,
        reason_for_visit: "Rash".into(),
        visit_type_id: None,
        hold_id: None,
    };

    let first = app.patient().await;
    let second = app.patient().await;
    let ok = client
        .with_token(&first.access)
        .run::<CreateAppointment>(create_appointment::Variables { input: input(&doctor.id) })
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let taken = client
        .with_token(&second.access)
        .run::<CreateAppointment>(create_appointment::Variables { input: input(&doctor.id) })
        .await
        .unwrap_err();
    assert_eq!((taken.code(), taken.field()), (Some("CONFLICT"), Some("startsAt")), "{taken}");

    // Without a token the typed error carries UNAUTHENTICATED.
    let anonymous = client.run::<Me>(me::Variables).await.unwrap_err();
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"), "{anonymous}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_subscription_decodes_the_events_of_a_booking() {
    // A verified doctor in UTC, available 08:00–18:00 every day, and a patient.
    let c = Clinic::open("UTC").await;
    let client = Client::new(c.app.url("/graphql")).with_token(&c.patient.access);

    // The doctor listens with the operation's own document.
    let mut ws = subscriptions::connect(&c, &c.doctor.access).await;
    let ack = subscriptions::next_json(&mut ws, std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": appointment_events::QUERY } });
    ws.send(Message::text(subscribe.to_string())).await.unwrap();

    // A subscribe is not acknowledged: book successive slots until one event arrives.
    let day = upcoming(4, 2);
    for hour in 8..18 {
        let starts_at = Utc.from_utc_datetime(&day.and_time(hm(hour, 0)));
        let booked = client
            .run::<CreateAppointment>(create_appointment::Variables {
                input: create_appointment::CreateAppointmentInput {
                    doctor_id: Some(c.doctor.id.parse().unwrap()),
                    patient_id: None,
                    starts_at,
                    reason_for_visit: "Headache".into(),
                    visit_type_id: None,
                    hold_id: None,
                },
            })
            .await
            .unwrap()
            .create_appointment;
        let Some(msg) = subscriptions::next_json(&mut ws, std::time::Duration::from_millis(500)).await else {
            continue;
        };
        assert_eq!(msg["type"], "next", "{msg}");
        let data: <AppointmentEvents as GraphQLQuery>::ResponseData =
            serde_json::from_value(msg["payload"]["data"].clone()).unwrap();
        let event = data.appointment_events;
        assert_eq!(event.kind, appointment_events::AppointmentEventKind::CREATED);
        assert_eq!(event.status, appointment_events::AppointmentStatus::PENDING);
        assert_eq!((event.appointment.id, event.starts_at), (booked.id, starts_at));
        assert!(event.at <= Utc::now());
        return;
    }
    panic!("the subscription never delivered an event");
}

#[tokio::test]
async fn a_doctor_makes_a_visit_type_and_a_patient_books_its_slots_through_the_typed_client() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Physiotherapy", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day("09:00", "10:00")).await;
    let patient = app.patient().await;
    let doctor_id: Uuid = doctor.id.parse().unwrap();
    let as_doctor = Client::new(app.url("/graphql")).with_token(&doctor.access);
    let made = as_doctor
        .run::<CreateVisitType>(create_visit_type::Variables {
            doctor_id: None,
            input: create_visit_type::VisitTypeInput {
                name: "Session".into(),
                duration_minutes: 20,
                buffer_before_minutes: None,
                buffer_after_minutes: Some(10),
                min_notice_minutes: None,
                horizon_days: None,
                patient_cancel_cutoff_minutes: None,
                patient_reschedule_cutoff_minutes: None,
                patient_bookable: None,
            },
        })
        .await
        .unwrap()
        .create_visit_type;
    assert_eq!((made.duration_minutes, made.buffer_after_minutes, made.patient_bookable), (20, 10, true));

    let client = Client::new(app.url("/graphql")).with_token(&patient.access);
    let listed = client
        .run::<VisitTypes>(visit_types::Variables { doctor_id, include_inactive: None })
        .await
        .unwrap()
        .visit_types;
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [made.id]);
    let from = Utc.from_utc_datetime(&upcoming(1, 2).and_time(NaiveTime::MIN));
    let slots = client
        .run::<AvailableSlots>(available_slots::Variables {
            doctor_id,
            from,
            to: from + Days::new(1),
            visit_type_id: Some(made.id),
        })
        .await
        .unwrap()
        .available_slots;
    let nine = from + TimeDelta::hours(9);
    assert_eq!(
        slots.iter().map(|s| s.starts_at).collect::<Vec<_>>(),
        [nine, nine + TimeDelta::minutes(20), nine + TimeDelta::minutes(40)]
    );
    let booked = client
        .run::<CreateAppointment>(create_appointment::Variables {
            input: create_appointment::CreateAppointmentInput {
                doctor_id: Some(doctor_id),
                patient_id: None,
                starts_at: nine,
                reason_for_visit: "Knee".into(),
                visit_type_id: Some(made.id),
                hold_id: None,
            },
        })
        .await
        .unwrap()
        .create_appointment;
    assert_eq!(booked.ends_at, nine + TimeDelta::minutes(20));
    assert_eq!(booked.visit_type.map(|t| (t.id, t.name)), Some((made.id, "Session".to_owned())));
    assert!(!booked.late_cancellation);
}

#[tokio::test]
async fn a_patient_holds_two_times_books_one_with_its_hold_and_releases_the_other_through_the_typed_client() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("adm")).await;
    let doctor = app.doctor("Dermatology", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doctor, crate::helpers::every_day("09:00", "11:00")).await;
    let patient = app.patient().await;
    let doctor_id: Uuid = doctor.id.parse().unwrap();
    let client = Client::new(app.url("/graphql")).with_token(&patient.access);
    let nine = Utc.from_utc_datetime(&upcoming(1, 2).and_hms_opt(9, 0, 0).unwrap());
    let free = |from| {
        let client = client.clone();
        async move {
            let vars = available_slots::Variables { doctor_id, from, to: from + Days::new(1), visit_type_id: None };
            client.run::<AvailableSlots>(vars).await.unwrap().available_slots.into_iter().map(|s| s.starts_at)
        }
    };
    let hold = |starts_at| {
        let client = client.clone();
        async move {
            let vars = hold_slot::Variables { doctor_id, starts_at, visit_type_id: None, patient_id: None };
            client.run::<HoldSlot>(vars).await
        }
    };
    let day = nine - TimeDelta::hours(9);
    assert_eq!(free(day).await.count(), 4);

    // Two holds: both listed, both gone from the free slots.
    let first = hold(nine).await.unwrap().hold_slot;
    let second = hold(nine + TimeDelta::minutes(30)).await.unwrap().hold_slot;
    assert_eq!((first.starts_at, first.ends_at), (nine, nine + TimeDelta::minutes(30)));
    assert!(first.expires_at > Utc::now() && first.visit_type.is_none());
    assert_eq!((first.doctor.id, first.patient.id.to_string()), (doctor_id, patient.id.clone()));
    let mine = client.run::<MyHolds>(my_holds::Variables).await.unwrap().my_holds;
    let mut ids: Vec<Uuid> = mine.iter().map(|h| h.id).collect();
    ids.sort_unstable();
    let mut expected = vec![first.id, second.id];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(free(day).await.collect::<Vec<_>>(), [nine + TimeDelta::hours(1), nine + TimeDelta::minutes(90)]);
    // A third is one over the limit.
    let third = hold(nine + TimeDelta::hours(1)).await.unwrap_err();
    assert_eq!(third.code(), Some("RATE_LIMITED"), "{third}");

    // The first booked with its hold (consumed), the second released (false the second time).
    let booked = client
        .run::<CreateAppointment>(create_appointment::Variables {
            input: create_appointment::CreateAppointmentInput {
                doctor_id: None,
                patient_id: None,
                starts_at: nine,
                reason_for_visit: "Rash".into(),
                visit_type_id: None,
                hold_id: Some(first.id),
            },
        })
        .await
        .unwrap()
        .create_appointment;
    assert_eq!((booked.starts_at, booked.doctor.id), (nine, doctor_id));
    let release = || client.run::<ReleaseHold>(release_hold::Variables { id: second.id });
    assert!(release().await.unwrap().release_hold);
    assert!(!release().await.unwrap().release_hold);
    assert!(client.run::<MyHolds>(my_holds::Variables).await.unwrap().my_holds.is_empty());
    assert_eq!(
        free(day).await.collect::<Vec<_>>(),
        [nine + TimeDelta::minutes(30), nine + TimeDelta::hours(1), nine + TimeDelta::minutes(90)]
    );
}

#[tokio::test]
async fn a_patient_turns_sms_reminders_on_with_a_phone_and_the_fields_left_out_stay_as_they_are() {
    let app = TestApp::spawn().await;
    let patient = app.patient().await;
    let client = Client::new(app.url("/graphql")).with_token(&patient.access);
    let input = |sms: Option<bool>, phone: Option<&str>| update_reminders::Variables {
        input: update_reminders::UpdateMeInput {
            email: None,
            first_name: None,
            last_name: None,
            phone: phone.map(str::to_owned),
            address: None,
            bio: None,
            gender: None,
            email_reminders: None,
            sms_reminders: sms,
            current_password: None,
        },
    };

    let refused = client.run::<UpdateReminders>(input(Some(true), None)).await.unwrap_err();
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"), "no phone yet: {refused:?}");
    let on = client.run::<UpdateReminders>(input(Some(true), Some("+4917012345678"))).await.unwrap().update_me;
    assert_eq!(
        (on.phone.as_deref(), on.sms_reminders, on.email_reminders),
        (Some("+4917012345678"), Some(true), Some(true)),
        "the fields left out (None) were not sent as null"
    );
}
