//! Weekly availability, time off and free slots, in the doctor's time zone.
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, email, every_day, field, upcoming};

const SLOTS: &str = "query($d: UUID!, $from: DateTime!, $to: DateTime!) { availableSlots(doctorId: $d, from: $from, to: $to) { startsAt endsAt } }";
const SET: &str =
    "mutation($r: [AvailabilityRuleInput!]!) { setAvailability(rules: $r) { weekday startTime endTime } }";
const ADD_OFF: &str = "mutation($i: TimeOffInput!) { addTimeOff(input: $i) { id startsAt endsAt reason } }";

fn starts(body: &Value) -> Vec<String> {
    body["data"]["availableSlots"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn set_availability_replaces_the_whole_week() {
    let app = TestApp::spawn().await;
    let doc = app.doctor("GP", "UTC", 30, None).await;
    let body = app
        .gql(
            Some(&doc.access),
            SET,
            json!({ "r": [
                { "weekday": "WED", "startTime": "14:00:00", "endTime": "17:00:00" },
                { "weekday": "MON", "startTime": "09:00:00", "endTime": "12:00:00" },
                { "weekday": "MON", "startTime": "12:00:00", "endTime": "13:00:00" }
            ] }),
        )
        .await;
    let rules = body["data"]["setAvailability"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[0],
        json!({ "weekday": "MON", "startTime": "09:00:00", "endTime": "12:00:00" }),
        "ordered by day and start"
    );

    app.gql(
        Some(&doc.access),
        SET,
        json!({ "r": [{ "weekday": "FRI", "startTime": "08:00:00", "endTime": "09:00:00" }] }),
    )
    .await;
    let me = app.gql(Some(&doc.access), "{ me { doctorProfile { availability { weekday } } } }", json!({})).await;
    assert_eq!(me["data"]["me"]["doctorProfile"]["availability"], json!([{ "weekday": "FRI" }]));
    assert_eq!(app.count_rows("availability_rules").await, 1);
}

#[tokio::test]
async fn invalid_availability_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let doc = app.doctor("GP", "UTC", 30, None).await;
    app.set_rules(&doc, every_day("09:00:00", "10:00:00")).await;
    let cases = [
        json!([{ "weekday": "MON", "startTime": "10:00:00", "endTime": "10:00:00" }]),
        json!([{ "weekday": "MON", "startTime": "11:00:00", "endTime": "10:00:00" }]),
        json!([
            { "weekday": "TUE", "startTime": "08:00:00", "endTime": "12:00:00" },
            { "weekday": "TUE", "startTime": "11:00:00", "endTime": "13:00:00" }
        ]),
    ];
    for rules in cases {
        let body = app.gql(Some(&doc.access), SET, json!({ "r": rules })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("rules")), "{rules}");
    }
    assert_eq!(app.count_rows("availability_rules").await, 7, "the old week stands");
    let empty = app.gql(Some(&doc.access), SET, json!({ "r": [] })).await;
    assert_eq!(empty["data"]["setAvailability"], json!([]), "an empty week clears it");
}

#[tokio::test]
async fn only_doctors_manage_availability_and_time_off() {
    let app = TestApp::spawn().await;
    let pat = app.register(&email("p"), "PATIENT").await;
    assert_eq!(code(&app.gql(Some(&pat.access), SET, json!({ "r": [] })).await), Some("FORBIDDEN"));
    let day = upcoming(0, 30);
    let off = json!({ "i": { "startsAt": format!("{day}T00:00:00Z"), "endsAt": format!("{}T00:00:00Z", day + chrono::Days::new(1)) } });
    assert_eq!(code(&app.gql(Some(&pat.access), ADD_OFF, off.clone()).await), Some("FORBIDDEN"));
    assert_eq!(code(&app.gql(None, ADD_OFF, off).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn time_off_is_added_shown_to_its_doctor_and_removed_by_its_doctor_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    let other = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    // A month ahead, whatever today is.
    let (day, next) = (upcoming(0, 30), upcoming(0, 30) + chrono::Days::new(1));
    let body = app
        .gql(Some(&doc.access), ADD_OFF, json!({ "i": { "startsAt": format!("{day}T10:00:00+02:00"), "endsAt": format!("{next}T00:00:00Z"), "reason": "Congress" } }))
        .await;
    let off = &body["data"]["addTimeOff"];
    assert_eq!(off["startsAt"], format!("{day}T08:00:00Z"), "inputs take any offset, outputs are UTC: {body}");
    let id = off["id"].as_str().unwrap();

    let q = "query($id: UUID!) { user(id: $id) { doctorProfile { timeOff { id reason } } } }";
    let own = app.gql(Some(&doc.access), q, json!({ "id": doc.id })).await;
    assert_eq!(own["data"]["user"]["doctorProfile"]["timeOff"][0]["reason"], "Congress");
    let pat = app.register(&email("p"), "PATIENT").await;
    let seen = app.gql(Some(&pat.access), q, json!({ "id": doc.id })).await;
    assert!(seen["data"]["user"]["doctorProfile"]["timeOff"].is_null(), "not for patients: {seen}");

    let remove = "mutation($id: UUID!) { removeTimeOff(id: $id) }";
    assert_eq!(code(&app.gql(Some(&other.access), remove, json!({ "id": id })).await), Some("NOT_FOUND"));
    assert_eq!(app.gql(Some(&doc.access), remove, json!({ "id": id })).await["data"]["removeTimeOff"], true);
    assert_eq!(code(&app.gql(Some(&doc.access), remove, json!({ "id": id })).await), Some("NOT_FOUND"));
}

#[tokio::test]
async fn time_off_must_end_after_it_starts_and_in_the_future() {
    let app = TestApp::spawn().await;
    let doc = app.doctor("GP", "UTC", 30, None).await;
    let (day, next) = (upcoming(0, 30), upcoming(0, 30) + chrono::Days::new(1));
    let (day, next) = (format!("{day}T00:00:00Z"), format!("{next}T00:00:00Z"));
    for (s, e) in
        [(next.as_str(), day.as_str()), (day.as_str(), day.as_str()), ("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")]
    {
        let body = app.gql(Some(&doc.access), ADD_OFF, json!({ "i": { "startsAt": s, "endsAt": e } })).await;
        assert_eq!((code(&body), field(&body)), (Some("BAD_USER_INPUT"), Some("endsAt")), "{s} {e}");
    }
    assert_eq!(app.count_rows("time_off").await, 0);
}

#[tokio::test]
async fn slots_follow_the_grid_and_skip_time_off() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "UTC", 30, Some(&admin)).await;
    app.set_rules(&doc, json!([{ "weekday": "MON", "startTime": "09:00:00", "endTime": "11:10:00" }])).await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let monday = upcoming(0, 7);
    let range = json!({ "d": doc.id, "from": format!("{monday}T00:00:00Z"), "to": format!("{monday}T23:59:59Z") });
    let body = app.gql(Some(&pat.access), SLOTS, range.clone()).await;
    assert_eq!(
        starts(&body),
        ["09:00", "09:30", "10:00", "10:30"].map(|t| format!("{monday}T{t}:00Z")),
        "the last slot ends by the rule's end"
    );
    assert_eq!(body["data"]["availableSlots"][0]["endsAt"], format!("{monday}T09:30:00Z"));

    app.gql(
        Some(&doc.access),
        ADD_OFF,
        json!({ "i": { "startsAt": format!("{monday}T09:15:00Z"), "endsAt": format!("{monday}T10:30:00Z") } }),
    )
    .await;
    let body = app.gql(Some(&pat.access), SLOTS, range).await;
    assert_eq!(starts(&body), [format!("{monday}T10:30:00Z")], "any overlap with time off removes a slot");

    let narrow = app
        .gql(
            Some(&pat.access),
            SLOTS,
            json!({ "d": doc.id, "from": format!("{monday}T10:30:00Z"), "to": format!("{monday}T10:30:01Z") }),
        )
        .await;
    assert_eq!(starts(&narrow).len(), 1, "[from, to) holds a slot starting at from");
}

#[tokio::test]
async fn slots_are_never_in_the_past() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "UTC", 15, Some(&admin)).await;
    app.set_rules(&doc, every_day("00:00:00", "23:45:00")).await;
    let now = chrono::Utc::now();
    let body = app
        .gql(Some(&admin.access), SLOTS, json!({ "d": doc.id, "from": (now - chrono::Duration::days(2)).to_rfc3339(), "to": (now + chrono::Duration::days(1)).to_rfc3339() }))
        .await;
    let slots = starts(&body);
    assert!(!slots.is_empty());
    for s in &slots {
        assert!(chrono::DateTime::parse_from_rfc3339(s).unwrap() > now, "{s} is past");
    }
}

#[tokio::test]
async fn slots_of_unverified_doctors_are_empty_and_ranges_are_bounded() {
    let app = TestApp::spawn().await;
    let doc = app.doctor("GP", "UTC", 30, None).await;
    app.set_rules(&doc, every_day("09:00:00", "17:00:00")).await;
    let pat = app.register(&email("p"), "PATIENT").await;
    let day = upcoming(2, 3);
    let body = app
        .gql(
            Some(&pat.access),
            SLOTS,
            json!({ "d": doc.id, "from": format!("{day}T00:00:00Z"), "to": format!("{day}T23:00:00Z") }),
        )
        .await;
    assert_eq!(body["data"]["availableSlots"], json!([]));

    let too_long = app
        .gql(
            Some(&pat.access),
            SLOTS,
            json!({ "d": doc.id, "from": format!("{day}T00:00:00Z"), "to": format!("{}T00:00:01Z", day + chrono::Days::new(31)) }),
        )
        .await;
    assert_eq!((code(&too_long), field(&too_long)), (Some("BAD_USER_INPUT"), Some("to")));
    let backwards = app
        .gql(
            Some(&pat.access),
            SLOTS,
            json!({ "d": doc.id, "from": format!("{}T00:00:00Z", day + chrono::Days::new(1)), "to": format!("{day}T00:00:00Z") }),
        )
        .await;
    assert_eq!((code(&backwards), field(&backwards)), (Some("BAD_USER_INPUT"), Some("to")));
    let unknown = app
        .gql(
            Some(&pat.access),
            SLOTS,
            json!({ "d": uuid::Uuid::new_v4(), "from": format!("{day}T00:00:00Z"), "to": format!("{day}T23:00:00Z") }),
        )
        .await;
    assert_eq!(code(&unknown), Some("NOT_FOUND"));
    let anonymous = app
        .gql(None, SLOTS, json!({ "d": doc.id, "from": format!("{day}T00:00:00Z"), "to": format!("{day}T23:00:00Z") }))
        .await;
    assert_eq!(code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_berlin_nine_oclock_is_eight_utc_in_winter_and_seven_in_summer() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "Europe/Berlin", 30, Some(&admin)).await;
    app.set_rules(&doc, every_day("09:00:00", "10:00:00")).await;
    let (winter, summer) = (next_date(1, 12), next_date(7, 13));
    for (day, first) in [(winter, format!("{winter}T08:00:00Z")), (summer, format!("{summer}T07:00:00Z"))] {
        let body = app
            .gql(
                Some(&admin.access),
                SLOTS,
                json!({ "d": doc.id, "from": format!("{day}T00:00:00Z"), "to": format!("{day}T23:00:00Z") }),
            )
            .await;
        assert_eq!(starts(&body).first(), Some(&first), "{day}");
        assert_eq!(starts(&body).len(), 2);
    }
}

#[tokio::test]
async fn the_spring_and_autumn_changes_neither_lose_nor_repeat_a_slot() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doc = app.doctor("GP", "Europe/Berlin", 30, Some(&admin)).await;
    // Sunday 01:00–04:00 local spans the change both times.
    app.set_rules(&doc, json!([{ "weekday": "SUN", "startTime": "01:00:00", "endTime": "04:00:00" }])).await;
    // The EU changes on the last Sunday of March and of October: the next of each.
    let (spring, autumn) = (next_last_sunday(3), next_last_sunday(10));
    let noon_before = |d: chrono::NaiveDate| format!("{}T12:00:00Z", d.pred_opt().unwrap());
    let noon = |d: chrono::NaiveDate| format!("{d}T12:00:00Z");
    for (from, to, expected) in [
        // 02:00 local is skipped, so the window is 2 real hours: 00:00Z–02:00Z.
        (noon_before(spring), noon(spring), vec!["00:00", "00:30", "01:00", "01:30"]),
        // 02:00–03:00 local repeats, so the window is 4 real hours: 23:00Z–03:00Z.
        (
            noon_before(autumn),
            noon(autumn),
            vec!["23:00", "23:30", "00:00", "00:30", "01:00", "01:30", "02:00", "02:30"],
        ),
    ] {
        let body = app.gql(Some(&admin.access), SLOTS, json!({ "d": doc.id, "from": from, "to": to })).await;
        let got: Vec<String> = starts(&body).iter().map(|s| s[11..16].to_owned()).collect();
        assert_eq!(got, expected, "{from}");
        let slots = body["data"]["availableSlots"].as_array().unwrap();
        for pair in slots.windows(2) {
            assert_eq!(pair[0]["endsAt"], pair[1]["startsAt"], "contiguous, no gap, no repeat");
        }
    }
}

/// The next `month`/`day` at least two days from today (so that none of its slots has passed).
fn next_date(month: u32, day: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let soonest = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    (soonest.year()..=soonest.year() + 1)
        .map(|y| chrono::NaiveDate::from_ymd_opt(y, month, day).unwrap())
        .find(|d| *d >= soonest)
        .unwrap()
}

/// The next last Sunday of `month` at least two days from today.
fn next_last_sunday(month: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let soonest = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    (soonest.year()..=soonest.year() + 1)
        .map(|y| {
            let mut d = chrono::NaiveDate::from_ymd_opt(y, month + 1, 1).unwrap().pred_opt().unwrap();
            while d.weekday() != chrono::Weekday::Sun {
                d = d.pred_opt().unwrap();
            }
            d
        })
        .find(|d| *d >= soonest)
        .unwrap()
}
