//! FHIR search parameters: references, dates with prefixes, token lists, `_count`, the paging
//! cursor, and the links that carry them. Every failure is `BAD_USER_INPUT` naming the parameter.
use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use cybermed_core::{
    domain::appointments::{AppointmentCursor, AppointmentStatus},
    error::{AppError, AppResult},
};

/// Entries per page when `_count` is absent.
pub const DEFAULT_COUNT: u64 = 20;
/// The most entries a page holds; a larger `_count` is lowered to this (a FHIR server may return
/// fewer entries than asked for).
pub const MAX_COUNT: u64 = 100;
/// The query parameter of the opaque paging cursor in `next` links.
pub const CURSOR: &str = "_cursor";

/// The query string's `(name, value)` pairs, in order, decoded.
pub type Pairs = [(String, String)];

/// Whether the request asks for lenient handling of search parameters (`Prefer: handling=lenient`,
/// FHIR R4 search 3.1.1.3.1): unknown parameters are then ignored, and said so, instead of refused.
pub fn lenient(headers: &axum::http::HeaderMap) -> bool {
    headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split([',', ';'])).any(|p| {
        let p = p.trim();
        p.eq_ignore_ascii_case("handling=lenient") || p.eq_ignore_ascii_case("handling=\"lenient\"")
    })
}

/// Refuses a parameter this search does not know (FHIR lets a server ignore them; this one says
/// so, rather than answer a different question than the one asked), unless `lenient`: then the
/// unknown ones are taken out of `pairs` (so that the links do not carry them) and their names
/// returned, for an `OperationOutcome` entry that says they were ignored.
///
/// # Errors
/// `BAD_USER_INPUT` naming the first unknown parameter (strict), or a `_format` that is not JSON.
pub fn check_known(pairs: &mut Vec<(String, String)>, known: &[&str], lenient: bool) -> AppResult<Vec<String>> {
    let unknown = |name: &str| !known.contains(&name) && name != "_format";
    let mut ignored = Vec::new();
    if lenient {
        for (name, _) in pairs.iter().filter(|(name, _)| unknown(name)) {
            if !ignored.contains(name) {
                ignored.push(name.clone());
            }
        }
        pairs.retain(|(name, _)| !unknown(name));
    }
    only_known(pairs, known)?;
    Ok(ignored)
}

/// `_total`: whether the Bundle counts every match (`accurate`, `estimate` or absent: yes; `none`:
/// no, and the count is not made).
///
/// # Errors
/// `BAD_USER_INPUT` naming `_total` for another value.
pub fn wants_total(pairs: &Pairs) -> AppResult<bool> {
    match single(pairs, "_total")? {
        None | Some("accurate" | "estimate") => Ok(true),
        Some("none") => Ok(false),
        Some(v) => {
            Err(AppError::bad_input("_total", format!("_total: expected none, estimate or accurate, got '{v}'")))
        }
    }
}

/// `_sort` of appointments: `date` (oldest first) or `-date` (newest first, also when absent).
/// Returns whether the oldest come first.
///
/// # Errors
/// `BAD_USER_INPUT` naming `_sort` for any other sort.
pub fn oldest_first(pairs: &Pairs) -> AppResult<bool> {
    match single(pairs, "_sort")? {
        None | Some("-date") => Ok(false),
        Some("date") => Ok(true),
        Some(v) => Err(AppError::bad_input("_sort", format!("_sort: only date and -date are supported, got '{v}'"))),
    }
}

fn only_known(pairs: &Pairs, known: &[&str]) -> AppResult<()> {
    match pairs.iter().find(|(name, _)| !known.contains(&name.as_str()) && name != "_format") {
        Some((name, _)) => {
            Err(AppError::bad_input(name.clone(), format!("Unknown or unsupported search parameter '{name}'")))
        }
        None => match pairs.iter().find(|(name, _)| name == "_format") {
            Some((_, v)) if !matches!(v.as_str(), "json" | "application/json" | "application/fhir+json") => {
                Err(AppError::bad_input("_format", "_format: only json is supported"))
            }
            _ => Ok(()),
        },
    }
}

/// The values of one parameter, in order.
pub fn values<'a>(pairs: &'a Pairs, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The one value of a parameter that may not repeat.
///
/// # Errors
/// `BAD_USER_INPUT` when it is given more than once.
pub fn single<'a>(pairs: &'a Pairs, name: &'static str) -> AppResult<Option<&'a str>> {
    let mut it = values(pairs, name);
    let first = it.next();
    if it.next().is_some() {
        return Err(AppError::bad_input(name, format!("{name}: give it at most once")));
    }
    Ok(first)
}

/// `Kind/<id>` or a bare id.
///
/// # Errors
/// `BAD_USER_INPUT` naming `param` for anything else.
pub fn reference(param: &'static str, kind: &str, value: &str) -> AppResult<Uuid> {
    let id = value.strip_prefix(kind).and_then(|rest| rest.strip_prefix('/')).unwrap_or(value);
    Uuid::parse_str(id.trim())
        .map_err(|_| AppError::bad_input(param, format!("{param}: expected {kind}/<id> or an id, got '{value}'")))
}

/// A half-open range `[from, to)` of instants; `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    /// Whether nothing can lie in the range.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.to), (Some(f), Some(t)) if f >= t)
    }

    fn raise_from(&mut self, t: DateTime<Utc>) {
        self.from = Some(self.from.map_or(t, |f| f.max(t)));
    }

    fn lower_to(&mut self, t: DateTime<Utc>) {
        self.to = Some(self.to.map_or(t, |f| f.min(t)));
    }

    /// Narrows the range by one FHIR date search value: `[prefix]value`, the prefix one of `eq`
    /// (also no prefix), `ge`, `gt`, `le`, `lt`; the value a date (`2026`, `2026-12`,
    /// `2026-12-01`, UTC days) or a date-time with a time zone (`2026-12-01T09:00Z`,
    /// `2026-12-01T09:00:00+01:00`), which stands for its whole minute or second. Repeated values
    /// all apply (AND).
    ///
    /// The instant a value bounds the range by (its period's start for `ge` and `lt`, its end for
    /// `gt` and `le`, both for `eq`) must be one this server stores: in a four-digit year. So
    /// `gt9999` (after the end of 9999) is refused, on both databases alike, rather than compared
    /// (SQLite compares instants as text, where `10000-…` sorts before `2026-…`; PostgreSQL
    /// would compare it as a time).
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming `param` for another prefix, a value that is not a FHIR date or
    /// date-time, or a bound past the last instant of the year 9999.
    pub fn narrow(&mut self, param: &'static str, value: &str) -> AppResult<()> {
        let (prefix, rest) = match value.get(..2) {
            Some(p) if p.bytes().all(|b| b.is_ascii_lowercase()) => (p, &value[2..]),
            _ => ("eq", value),
        };
        let (lo, hi) = period(param, rest)?;
        let (from, to) = match prefix {
            "eq" => (Some(lo), Some(hi)),
            "ge" => (Some(lo), None),
            "gt" => (Some(hi), None),
            "le" => (None, Some(hi)),
            "lt" => (None, Some(lo)),
            other => {
                return Err(AppError::bad_input(
                    param,
                    format!("{param}: prefix '{other}' is not supported (use eq, ge, gt, le or lt)"),
                ));
            }
        };
        if from.into_iter().chain(to).any(|t| !(first_instant()..=last_instant()).contains(&t)) {
            return Err(AppError::bad_input(
                param,
                format!("{param}: '{value}' reaches past the instants this server stores (years 0000 to 9999, UTC)"),
            ));
        }
        if let Some(t) = from {
            self.raise_from(t);
        }
        if let Some(t) = to {
            self.lower_to(t);
        }
        Ok(())
    }
}

/// A bound of an operation's time window (`$find`'s `start` and `end`): a FHIR date or date-time as
/// a search takes it ([`Range::narrow`]'s values, without a prefix). A date-time is that instant; a
/// date is the start of its period as a lower bound (`upper` false), its end as an upper one, so that
/// `end=2027-03-04` includes that UTC day.
///
/// # Errors
/// `BAD_USER_INPUT` naming `param` for a value that is not a FHIR date or date-time, or a bound
/// past the instants this server stores.
pub fn window_bound(param: &'static str, value: &str, upper: bool) -> AppResult<DateTime<Utc>> {
    let (lo, hi) = period(param, value)?;
    let t = if upper && !value.contains('T') { hi } else { lo };
    if !(first_instant()..=last_instant()).contains(&t) {
        return Err(AppError::bad_input(
            param,
            format!("{param}: '{value}' reaches past the instants this server stores (years 0000 to 9999, UTC)"),
        ));
    }
    Ok(t)
}

/// A FHIR `instant` (`YYYY-MM-DDThh:mm:ss[.fraction]` with `Z` or `±hh:mm`), to the microsecond
/// (the precision both databases keep; a finer fraction is refused rather than rounded).
///
/// # Errors
/// `BAD_USER_INPUT` naming `param` for anything else.
pub fn instant(param: &'static str, value: &str) -> AppResult<DateTime<Utc>> {
    let bad = || {
        AppError::bad_input(
            param,
            format!("{param}: expected an instant (YYYY-MM-DDThh:mm:ss with Z or an offset), got '{value}'"),
        )
    };
    let with_seconds = value.as_bytes().get(16) == Some(&b':');
    if !fhir_shape(value) || !with_seconds {
        return Err(bad());
    }
    let t = DateTime::parse_from_rfc3339(value).map_err(|_| bad())?;
    if t.timestamp_subsec_nanos() % 1_000 != 0 || t.timestamp_subsec_nanos() >= 1_000_000_000 {
        return Err(bad());
    }
    Ok(t.to_utc())
}

/// The code of a token `[system|]code` (FHIR search's token form) whose system, when one is
/// given, is `system`.
///
/// # Errors
/// `BAD_USER_INPUT` naming `param` for another system.
pub fn token<'a>(param: &'static str, system: &str, value: &'a str) -> AppResult<&'a str> {
    match value.split_once('|') {
        None => Ok(value.trim()),
        Some((s, code)) if s.is_empty() || s == system => Ok(code.trim()),
        Some((s, _)) => {
            Err(AppError::bad_input(param, format!("{param}: codes of system '{s}' are unknown here (use {system})")))
        }
    }
}

/// The first instant stored: both databases hold and compare four-digit years alike.
fn first_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(0, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// The last instant stored (to the microsecond, the precision both databases keep).
fn last_instant() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// Whether `value` has the shape of a FHIR `date` or `dateTime` as a search takes it: `YYYY`,
/// `YYYY-MM`, `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm[:ss[.fraction]]` with `Z` or `±hh:mm`; four
/// digits of year, not `0000` (FHIR's years start at 1), two of everything else. What the digits
/// say (month 13, 30 February) is checked when it is read.
fn fhir_shape(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |from: usize, n: usize| b.get(from..from + n).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !digits(0, 4) || value.starts_with("0000") {
        return false;
    }
    let date = match b.len() {
        4 => return true,
        7 => return at(4, b'-') && digits(5, 2),
        10 => return at(4, b'-') && digits(5, 2) && at(7, b'-') && digits(8, 2),
        _ => at(4, b'-') && digits(5, 2) && at(7, b'-') && digits(8, 2),
    };
    if !date || !at(10, b'T') || !digits(11, 2) || !at(13, b':') || !digits(14, 2) {
        return false;
    }
    let mut i = 16;
    if at(i, b':') {
        if !digits(i + 1, 2) {
            return false;
        }
        i += 3;
        if at(i, b'.') {
            let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&n) {
                return false;
            }
            i += 1 + n;
        }
    }
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', ..] => b.len() == i + 6 && digits(i + 1, 2) && at(i + 3, b':') && digits(i + 4, 2),
        _ => false,
    }
}

/// The instants a FHIR date or date-time stands for, `[lo, hi)`.
fn period(param: &'static str, value: &str) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let bad = || {
        AppError::bad_input(
            param,
            format!("{param}: expected YYYY, YYYY-MM, YYYY-MM-DD or a date-time with a time zone, got '{value}'"),
        )
    };
    // A `+` of an offset arrives as a space when the client did not percent-encode it.
    let value = value.trim().replace(' ', "+");
    if !fhir_shape(&value) {
        return Err(bad());
    }
    let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let (lo, hi) = match value.len() {
        4 if value.bytes().all(|b| b.is_ascii_digit()) => {
            let y = value.parse::<i32>().map_err(|_| bad())?;
            let start = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?;
            (start, start.checked_add_months(Months::new(12)).ok_or_else(bad)?)
        }
        7 => {
            let start = date(&format!("{value}-01")).ok_or_else(bad)?;
            (start, start.checked_add_months(Months::new(1)).ok_or_else(bad)?)
        }
        10 => {
            let start = date(&value).ok_or_else(bad)?;
            (start, start.succ_opt().ok_or_else(bad)?)
        }
        _ => return date_time(&value).ok_or_else(bad),
    };
    Ok((day_start(lo).ok_or_else(bad)?, day_start(hi).ok_or_else(bad)?))
}

/// A date-time with a time zone and the span its precision covers (a minute, a second, or a
/// microsecond when it has a fraction).
fn date_time(value: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        // A leap second (`:60`) is not an instant this server stores.
        if t.timestamp_subsec_nanos() >= 1_000_000_000 {
            return None;
        }
        let t = t.to_utc();
        let span = if value.contains('.') { TimeDelta::microseconds(1) } else { TimeDelta::seconds(1) };
        return Some((t, t + span));
    }
    // `YYYY-MM-DDThh:mm` and a zone: the whole minute.
    let (head, zone) = (value.get(..16)?, value.get(16..)?);
    if zone.is_empty() || zone.starts_with(':') {
        return None;
    }
    let t = DateTime::parse_from_rfc3339(&format!("{head}:00{zone}")).ok()?.to_utc();
    Some((t, t + TimeDelta::minutes(1)))
}

/// `_count`: how many entries a page holds (default 20; more than 100 is lowered to 100; 0 asks
/// for the total only).
///
/// # Errors
/// `BAD_USER_INPUT` naming `_count` for anything but a non-negative integer.
pub fn count(pairs: &Pairs) -> AppResult<u64> {
    match single(pairs, "_count")? {
        None => Ok(DEFAULT_COUNT),
        Some(v) => {
            v.trim().parse::<u64>().map(|n| n.min(MAX_COUNT)).map_err(|_| {
                AppError::bad_input("_count", format!("_count: expected a whole number 0..=100, got '{v}'"))
            })
        }
    }
}

/// Appointment statuses of a `status` parameter: each value a comma-separated list of FHIR codes
/// (any of them), repeated values all apply. `None`: no filter. An empty set: nothing can match
/// (e.g. `proposed`, a FHIR status no appointment here has).
///
/// # Errors
/// `BAD_USER_INPUT` naming `status` for a code that is not a FHIR `AppointmentStatus`.
pub fn appointment_statuses(pairs: &Pairs) -> AppResult<Option<Vec<AppointmentStatus>>> {
    const OURS: [AppointmentStatus; 5] = [
        AppointmentStatus::Pending,
        AppointmentStatus::Confirmed,
        AppointmentStatus::Completed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ];
    const OTHER_FHIR: [&str; 5] = ["proposed", "arrived", "checked-in", "waitlist", "entered-in-error"];
    let mut allowed: Option<Vec<AppointmentStatus>> = None;
    for value in values(pairs, "status") {
        let mut any = Vec::new();
        for code in value.split(',').map(str::trim) {
            if let Some(s) = OURS.iter().find(|s| super::resources::appointment_status(**s) == code) {
                any.push(*s);
            } else if !OTHER_FHIR.contains(&code) {
                return Err(AppError::bad_input(
                    "status",
                    format!(
                        "status: '{code}' is not an appointment status (pending, booked, fulfilled, cancelled, noshow, …)"
                    ),
                ));
            }
        }
        allowed = Some(match allowed {
            None => any,
            Some(before) => before.into_iter().filter(|s| any.contains(s)).collect(),
        });
    }
    Ok(allowed)
}

/// Reads the `_cursor` of a `next` link: the cursor codec the GraphQL lists use
/// ([`cybermed_core::page::encode_cursor`]), which the link was made with.
///
/// # Errors
/// `BAD_USER_INPUT` naming `_cursor` for anything else.
pub fn decode_cursor(pairs: &Pairs) -> AppResult<Option<AppointmentCursor>> {
    let Some(v) = single(pairs, CURSOR)? else { return Ok(None) };
    cybermed_core::page::decode_cursor(Some(v.trim()))
        .map_err(|_| AppError::bad_input(CURSOR, "_cursor: not a cursor of this server (take the next link as it is)"))
}

/// `base?name=value&…` with every pair percent-encoded, `_count` and `_cursor` replaced by the
/// given ones.
pub fn link(base: &str, pairs: &Pairs, count: Option<u64>, cursor: Option<&str>) -> String {
    let mut out = String::from(base);
    let mut sep = '?';
    let kept = pairs.iter().filter(|(n, _)| n != "_count" && n != CURSOR).map(|(n, v)| (n.as_str(), v.clone()));
    let count = count.map(|c| ("_count", c.to_string()));
    let cursor = cursor.map(|c| (CURSOR, c.to_owned()));
    for (name, value) in kept.chain(count).chain(cursor) {
        out.push(sep);
        sep = '&';
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, &value);
    }
    out
}

/// Percent-encodes all but RFC 3986's unreserved characters and the `:`, `/` and `,` a FHIR
/// query reads better with.
fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/,".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.to_utc()).unwrap_or_default()
    }

    fn narrowed(values: &[&str]) -> AppResult<Range> {
        let mut r = Range::default();
        for v in values {
            r.narrow("date", v)?;
        }
        Ok(r)
    }

    #[test]
    fn a_day_without_prefix_is_that_whole_utc_day() {
        let r = narrowed(&["2027-03-04"]).ok();
        assert_eq!(r, Some(Range { from: Some(utc("2027-03-04T00:00:00Z")), to: Some(utc("2027-03-05T00:00:00Z")) }));
    }

    #[test]
    fn prefixes_bound_by_the_start_or_the_end_of_the_value() {
        let r = narrowed(&["gt2027-03", "le2027-05-01T10:00+02:00"]).ok();
        assert_eq!(r, Some(Range { from: Some(utc("2027-04-01T00:00:00Z")), to: Some(utc("2027-05-01T08:01:00Z")) }));
        let r = narrowed(&["ge2027", "lt2027-06-01T00:00:00Z", "lt2027-07-01"]).ok();
        assert_eq!(r, Some(Range { from: Some(utc("2027-01-01T00:00:00Z")), to: Some(utc("2027-06-01T00:00:00Z")) }));
    }

    #[test]
    fn an_unencoded_plus_of_an_offset_still_reads() {
        let r = narrowed(&["ge2027-05-01T10:00:00 02:00"]).ok();
        assert_eq!(r.and_then(|r| r.from), Some(utc("2027-05-01T08:00:00Z")));
    }

    #[test]
    fn bad_dates_and_prefixes_name_the_parameter() {
        for v in ["ne2027-01-01", "2027-13-01", "2027-01-01T10:00", "yesterday", "ge", "2027-02-30"] {
            match narrowed(&[v]) {
                Err(AppError::BadInput { field, .. }) => assert_eq!(field, "date", "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_fhir_dates_and_date_times_are_read() {
        for v in [
            "9999",
            "0001",
            "2027-03",
            "2027-03-04",
            "2027-03-04T09:00Z",
            "2027-03-04T09:00:00Z",
            "2027-03-04T09:00:00.123456789-05:30",
            "2027-03-04T09:00+14:00",
        ] {
            assert!(fhir_shape(v), "{v}");
        }
        for v in [
            "0000",
            "99999",
            "+2027",
            "-999",
            "2027-3",
            "2027-3-04",
            "20261-1-01",
            "2027-03-4",
            "2027-03-04T09Z",
            "2027-03-04t09:00:00Z",
            "2027-03-04 09:00:00Z",
            "2027-03-04T09:00:00z",
            "2027-03-04T09:00:00",
            "2027-03-04T09:00:00.Z",
            "2027-03-04T09:00:00.1234567890Z",
            "2027-03-04T09:00:00+0100",
            "2027-03-04T09:00:00+01:00:00",
            "２０２７",
        ] {
            assert!(!fhir_shape(v), "{v}");
            assert!(narrowed(&[v]).is_err(), "{v}");
        }
    }

    #[test]
    fn a_bound_past_the_year_9999_is_refused_whatever_the_database() {
        for v in [
            "gt9999",
            "le9999",
            "9999",
            "eq9999-12",
            "gt9999-12-31",
            "le9999-12-31T23:59:59Z",
            "ge9999-12-31T23:00:00-02:00",
        ] {
            match narrowed(&[v]) {
                Err(AppError::BadInput { field, .. }) => assert_eq!(field, "date", "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
        let r = narrowed(&["ge9999", "lt9999-12-31T23:59:59Z"]).ok();
        assert_eq!(r, Some(Range { from: Some(utc("9999-01-01T00:00:00Z")), to: Some(utc("9999-12-31T23:59:59Z")) }));
        let r = narrowed(&["ge0001-01-01T00:00:00+01:00"]).ok();
        assert_eq!(r.and_then(|r| r.from).map(|t| t.to_rfc3339()), Some("0000-12-31T23:00:00+00:00".to_owned()));
    }

    #[test]
    fn window_bounds_take_a_date_whole_at_the_upper_end() {
        assert_eq!(window_bound("start", "2027-03-04", false).ok(), Some(utc("2027-03-04T00:00:00Z")));
        assert_eq!(window_bound("end", "2027-03-04", true).ok(), Some(utc("2027-03-05T00:00:00Z")));
        assert_eq!(window_bound("end", "2027-03-04T10:00:00+01:00", true).ok(), Some(utc("2027-03-04T09:00:00Z")));
        assert!(window_bound("end", "9999", true).is_err());
        assert!(window_bound("start", "soon", false).is_err());
    }

    #[test]
    fn instants_need_seconds_and_a_zone_and_at_most_microseconds() {
        assert_eq!(instant("start", "2027-03-04T10:00:00+01:00").ok(), Some(utc("2027-03-04T09:00:00Z")));
        assert_eq!(instant("start", "2027-03-04T09:00:00.25Z").ok(), Some(utc("2027-03-04T09:00:00.25Z")));
        for v in [
            "2027-03-04",
            "2027-03-04T09:00Z",
            "2027-03-04T09:00:00",
            "2027-03-04 09:00:00Z",
            "2027-03-04T09:00:00.0000001Z",
        ] {
            assert!(instant("start", v).is_err(), "{v}");
        }
    }

    #[test]
    fn tokens_take_our_system_or_none() {
        assert_eq!(token("t", "http://x/s", "abc").ok(), Some("abc"));
        assert_eq!(token("t", "http://x/s", "http://x/s|abc").ok(), Some("abc"));
        assert_eq!(token("t", "http://x/s", "|abc").ok(), Some("abc"));
        assert!(token("t", "http://x/s", "http://other|abc").is_err());
    }

    #[test]
    fn links_encode_what_needs_it() {
        let pairs = vec![("date".to_owned(), "ge2027-01-01T00:00:00+01:00".to_owned()), ("_count".into(), "5".into())];
        assert_eq!(
            link("http://x/fhir/r4/Appointment", &pairs, Some(5), Some("abc")),
            "http://x/fhir/r4/Appointment?date=ge2027-01-01T00:00:00%2B01:00&_count=5&_cursor=abc"
        );
    }
}
