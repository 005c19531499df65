//! SMS: the texts (at most 160 GSM-7 characters, naming the doctor and the local date, time and
//! zone, never the patient or health data), E.164 numbers and their masked form, and quiet hours.
//!
//! An SMS is a row of the outbox like an email (`channel` `SMS`): written with [`message`] in the
//! transaction of the change that causes it, through the same `INSERT` as the change's emails,
//! and sent by the same sender under the same lease, backoff and attempts.
use chrono::{DateTime, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::{
    config::QuietHours,
    outbox::{Channel, EmailKind, NewEmail},
};

/// The longest text, in GSM-7 septets (one SMS).
pub const MAX_SEPTETS: usize = 160;

/// GSM 03.38's basic character set: one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Its extension table: two septets each (an escape, then the character).
const GSM7_EXTENDED: &str = "^{}\\[~]|€";

/// Whether `phone` is an E.164 number: `+` and 8 to 15 digits, nothing else.
pub fn is_e164(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A number as admins see it: `+`, its first two digits, a bullet for each hidden digit, and its
/// last four (`+49•••••••5678`). Anything that is not E.164 is all bullets.
pub fn mask(number: &str) -> String {
    match number.strip_prefix('+') {
        Some(digits) if is_e164(number) => {
            let hidden = digits.len() - 6;
            format!("+{}{}{}", &digits[..2], "•".repeat(hidden), &digits[digits.len() - 4..])
        }
        _ => "•".repeat(8),
    }
}

/// The septets `text` takes in GSM-7, or `None` when a character is outside it.
pub fn septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// `text` in GSM-7: a letter outside it loses its accents (`ł` excepted, which has none to lose,
/// becomes `?`), a typographic quote or dash becomes its plain form, and anything else (a control
/// character included) becomes `?`.
pub fn to_gsm7(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if GSM7_BASIC.contains(c) || GSM7_EXTENDED.contains(c) {
            out.push(c);
            continue;
        }
        let plain = match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '`' | '´' => Some('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' => Some('"'),
            '\u{2010}'..='\u{2015}' => Some('-'),
            '\t' | '\u{A0}' => Some(' '),
            _ => None,
        };
        if let Some(p) = plain {
            out.push(p);
            continue;
        }
        // The base letter of an accented one (`ł` has none and stays `?`).
        let base: String = c.nfd().filter(|d| GSM7_BASIC.contains(*d)).collect();
        match base.chars().next() {
            Some(b) if c.is_alphabetic() && b.is_alphabetic() => out.push(b),
            _ => out.push('?'),
        }
    }
    out
}

/// The text of an SMS about one or more appointments with `doctor` (several: a series), their
/// starts given in `tz` with the zone's name, at most [`MAX_SEPTETS`] GSM-7 characters:
/// characters outside GSM-7 are replaced ([`to_gsm7`]) and a long name is shortened to its
/// initial and last name, then cut, to fit. Never the patient's name, a reason or other health
/// data: only the doctor, the kind and the times.
///
/// `kind` is `APPOINTMENT_REMINDER`, `APPOINTMENT_RESCHEDULED` (the new time) or
/// `APPOINTMENT_CANCELLED`; `starts` in order (empty: the text names no time).
pub fn text(kind: EmailKind, doctor: &str, starts: &[DateTime<Utc>], tz: Tz) -> String {
    let when = |at: &DateTime<Utc>| format!("{} ({})", at.with_timezone(&tz).format("%a %-d %b %Y %H:%M"), tz.name());
    let (first, count) = (starts.first().map(when).unwrap_or_default(), starts.len());
    let build = |name: &str| {
        let dr = format!("Dr {name}");
        let t = match (kind, count) {
            (EmailKind::AppointmentCancelled, 2..) => {
                format!("CyberMed: your {count} appointments with {dr} from {first} are cancelled.")
            }
            (EmailKind::AppointmentCancelled, _) => {
                format!("CyberMed: your appointment with {dr} on {first} is cancelled.")
            }
            (EmailKind::AppointmentRescheduled, _) => {
                format!("CyberMed: your appointment with {dr} is moved to {first}.")
            }
            (_, 2..) => format!("CyberMed reminder: {count} appointments with {dr}, the first on {first}."),
            _ => format!("CyberMed reminder: appointment with {dr} on {first}."),
        };
        to_gsm7(&t)
    };
    let fits = |t: &str| septets(t).is_some_and(|n| n <= MAX_SEPTETS);
    let full = to_gsm7(doctor.trim());
    let whole = build(&full);
    if fits(&whole) {
        return whole;
    }
    // The initial and the last word, then fewer and fewer characters of that.
    let mut words = full.split_whitespace();
    let short = match (words.next(), words.last()) {
        (Some(f), Some(l)) => format!("{}. {l}", f.chars().next().unwrap_or(' ')),
        _ => full.clone(),
    };
    let mut name: Vec<char> = short.chars().collect();
    loop {
        let candidate = if name.len() < short.chars().count() {
            format!("{}.", name.iter().collect::<String>().trim_end())
        } else {
            short.clone()
        };
        let t = build(&candidate);
        if fits(&t) || name.is_empty() {
            return t;
        }
        name.pop();
    }
}

/// When a message due at `due` may go out: `due`, or the end of the quiet hours (in `tz`, the
/// doctor's zone) that hold it. A quiet end that falls in a daylight-saving gap is taken an hour
/// later; in a repeated hour, the first.
pub fn outside_quiet_hours(due: DateTime<Utc>, tz: Tz, quiet: Option<QuietHours>) -> DateTime<Utc> {
    let Some(end) = quiet.and_then(|q| q.end_after(due.with_timezone(&tz).naive_local())) else {
        return due;
    };
    let local = match tz.from_local_datetime(&end) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => tz.from_local_datetime(&(end + chrono::TimeDelta::hours(1))).earliest(),
    };
    local.map_or(due, |t| t.with_timezone(&Utc).max(due))
}

/// An SMS to write to the outbox with the change's emails (see [`crate::outbox::insert_statement`]):
/// to `number`, for the patient `recipient` about the appointment `appointment` starting at
/// `starts_at`, due at `due_at` (already moved out of the quiet hours).
pub fn message(
    kind: EmailKind,
    number: &str,
    body: String,
    (appointment, recipient, starts_at): (Uuid, Uuid, DateTime<Utc>),
    due_at: DateTime<Utc>,
) -> NewEmail {
    NewEmail {
        channel: Channel::Sms,
        kind,
        to: number.to_owned(),
        subject: String::new(),
        body,
        appointment_id: Some(appointment),
        recipient_id: Some(recipient),
        starts_at: Some(starts_at),
        due_at,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, m, 0).unwrap()
    }

    #[test]
    fn e164_is_a_plus_and_8_to_15_digits() {
        for ok in ["+4917012345678", "+12345678", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in ["4917012345678", "+1234567", "+1234567890123456", "+49 170 1234567", "+49-170", "", "+"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn a_masked_number_keeps_two_digits_and_the_last_four() {
        assert_eq!(mask("+4917012345678"), "+49•••••••5678");
        assert_eq!(mask("+12345678"), "+12••5678");
        assert_eq!(mask("not a number"), "••••••••");
    }

    #[test]
    fn texts_are_gsm7_name_the_doctor_and_the_local_time_with_its_zone() {
        let t = text(EmailKind::AppointmentReminder, "Zoë Łukasiewicz", &[at(8, 0)], chrono_tz::Europe::Berlin);
        assert_eq!(
            t,
            "CyberMed reminder: appointment with Dr Zoe ?ukasiewicz on Tue 8 Dec 2026 09:00 (Europe/Berlin)."
        );
        let t = text(EmailKind::AppointmentCancelled, "Ana “Ani” Núñez", &[at(8, 0)], chrono_tz::UTC);
        assert_eq!(
            t,
            "CyberMed: your appointment with Dr Ana \"Ani\" Nuñez on Tue 8 Dec 2026 08:00 (UTC) is cancelled."
        );
        let t = text(EmailKind::AppointmentRescheduled, "A B", &[at(8, 0)], chrono_tz::Asia::Tokyo);
        assert!(t.contains("moved to Tue 8 Dec 2026 17:00 (Asia/Tokyo)"), "{t}");
    }

    #[test]
    fn a_long_name_is_shortened_to_fit_one_sms() {
        let zone = chrono_tz::America::Argentina::Buenos_Aires;
        let long = format!("Maximiliana {} Fitzgerald-Montgomery", "Wolfeschlegelsteinhausen ".repeat(4));
        for kind in [EmailKind::AppointmentReminder, EmailKind::AppointmentCancelled, EmailKind::AppointmentRescheduled]
        {
            let t = text(kind, &long, &[at(8, 0), at(9, 0)], zone);
            assert!(septets(&t).unwrap() <= MAX_SEPTETS, "{t}");
            assert!(t.contains("Dr M. Fitzgerald"), "{t}");
            assert!(t.contains("(America/Argentina/Buenos_Aires)"), "{t}");
        }
        let huge = "X".repeat(400);
        let t = text(EmailKind::AppointmentReminder, &huge, &[at(8, 0)], zone);
        assert!(septets(&t).unwrap() <= MAX_SEPTETS && t.contains("Dr XXX"), "{t}");
    }

    #[test]
    fn a_series_is_one_text_from_its_first_date() {
        let t = text(EmailKind::AppointmentCancelled, "A B", &[at(8, 0), at(9, 0), at(10, 0)], chrono_tz::UTC);
        assert_eq!(t, "CyberMed: your 3 appointments with Dr A B from Tue 8 Dec 2026 08:00 (UTC) are cancelled.");
    }

    #[test]
    fn a_message_due_in_the_quiet_hours_waits_for_their_end_in_the_doctors_zone() {
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        // 22:30 in Berlin is 21:30 UTC: due at 08:00 Berlin the next morning (07:00 UTC).
        assert_eq!(outside_quiet_hours(at(21, 30), berlin, quiet), Utc.with_ymd_and_hms(2026, 12, 9, 7, 0, 0).unwrap());
        assert_eq!(outside_quiet_hours(at(12, 0), berlin, quiet), at(12, 0));
        assert_eq!(outside_quiet_hours(at(21, 30), berlin, None), at(21, 30));
    }
}
