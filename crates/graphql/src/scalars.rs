//! Scalars whose wire format the contract fixes, each with a description and `@specifiedBy`.
//!
//! async-graphql keeps the first registration of a scalar name and ignores later ones (scalars
//! have no Rust type name to clash on). `uuid::Uuid` and chrono's types bring their own
//! registrations (chrono's descriptions, RFC 4122, no URL for dates and times), so [`Described`]
//! wraps the query root and registers this module's four scalars before anything else: whatever
//! Rust type a field uses for `UUID`, `NaiveDate` or `NaiveTime`, the SDL and introspection
//! describe the wire format here. Inputs are parsed by the field's own Rust type: `NaiveTime`
//! inputs use [`Time`] (which takes `HH:MM` too), `NaiveDate` inputs [`Date`].
//!
//! Works around the first-registration rule of async-graphql 7.2.1's registry, unchanged in
//! 8.0.0-rc.5; no upstream issue found. See docs/async-graphql.md.
use std::borrow::Cow;

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, InputValueError, InputValueResult, ObjectType, OutputType, Positioned,
    Scalar, ScalarType, ServerResult, Value, parser::types::Field, registry::Registry,
};
use chrono::{DateTime as ChronoDateTime, Datelike, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};

/// RFC 3339 instant. Inputs may carry any offset (a leap second, `:60`, is refused); outputs are
/// UTC with `Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

/// An instant, RFC 3339 `date-time`: `2026-12-01T09:00:00Z`. Inputs may carry any offset
/// (`2026-12-01T10:00:00+01:00`) and a fraction of a second; a leap second (`:60`) is refused.
/// Outputs are UTC with `Z`, with a fraction only when there is one.
#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => match ChronoDateTime::parse_from_rfc3339(s) {
                // chrono carries `:60` as a nanosecond past one second; nothing downstream expects it.
                Ok(d) if d.nanosecond() >= 1_000_000_000 => {
                    Err(InputValueError::custom("a leap second (:60) is not a valid time"))
                }
                Ok(d) => Ok(Self(d.with_timezone(&Utc))),
                Err(_) => Err(InputValueError::custom("expected an RFC 3339 date-time, e.g. 2026-12-01T09:00:00Z")),
            },
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(rfc3339(self.0))
    }
}

/// `to_rfc3339_opts(SecondsFormat::AutoSi, true)` without chrono's formatting machinery (a
/// page of appointments writes dozens of these): the same text for the years 0000–9999.
fn rfc3339(d: ChronoDateTime<Utc>) -> String {
    let Ok(year) = u32::try_from(d.year()) else { return d.to_rfc3339_opts(SecondsFormat::AutoSi, true) };
    if year > 9999 {
        return d.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    }
    let time = d.time();
    let nanos = time.nanosecond();
    let mut out = Vec::with_capacity(30);
    push_digits(&mut out, year, 4);
    for (value, before) in
        [(d.month(), b'-'), (d.day(), b'-'), (time.hour(), b'T'), (time.minute(), b':'), (time.second(), b':')]
    {
        out.push(before);
        push_digits(&mut out, value, 2);
    }
    // AutoSi: no fraction, or milli-, micro- or nanoseconds, whichever shows all of it.
    if nanos != 0 {
        out.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(&mut out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(&mut out, nanos / 1_000, 6);
        } else {
            push_digits(&mut out, nanos, 9);
        }
    }
    out.push(b'Z');
    String::from_utf8(out).unwrap_or_default()
}

fn push_digits(out: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
    }
}

/// A UUID written as the `UUID` scalar writes it (lower-case, hyphenated), without the
/// formatting machinery: the ids of a page's objects.
pub struct Id(pub uuid::Uuid);

impl OutputType for Id {
    fn type_name() -> Cow<'static, str> {
        <Uuid as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Uuid as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, _: &ContextSelectionSet<'_>, _: &Positioned<Field>) -> ServerResult<Value> {
        Ok(Uuid(self.0).to_value())
    }
}

/// A UUID as the `UUID` scalar reads and writes it. Fields may use `uuid::Uuid` itself (parsed by
/// the uuid crate); this type carries the description and URL that the schema shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Uuid(pub uuid::Uuid);

/// A UUID (RFC 9562), written in lower case with hyphens:
/// `0190b1a4-5c2e-7cc1-9d55-3f0c2a8e4b17`.
#[Scalar(name = "UUID", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc9562")]
impl ScalarType for Uuid {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => uuid::Uuid::parse_str(s)
                .map(Self)
                .map_err(|_| InputValueError::custom("expected a UUID, e.g. 0190b1a4-5c2e-7cc1-9d55-3f0c2a8e4b17")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned())
    }
}

/// A calendar date, the `NaiveDate` scalar: exactly `YYYY-MM-DD` both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, ISO 8601 `YYYY-MM-DD` (RFC 3339 `full-date`):
/// `2026-12-01`.
#[Scalar(name = "NaiveDate", specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_date(s)
                .map(Self)
                .ok_or_else(|| InputValueError::custom("expected a date as YYYY-MM-DD, e.g. 2026-12-01")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if parse_date(s).is_some())
    }

    fn to_value(&self) -> Value {
        let d = self.0;
        let Ok(year) = u32::try_from(d.year()) else { return Value::String(d.format("%Y-%m-%d").to_string()) };
        if year > 9999 {
            return Value::String(d.format("%Y-%m-%d").to_string());
        }
        let mut out = Vec::with_capacity(10);
        push_digits(&mut out, year, 4);
        out.push(b'-');
        push_digits(&mut out, d.month(), 2);
        out.push(b'-');
        push_digits(&mut out, d.day(), 2);
        Value::String(String::from_utf8(out).unwrap_or_default())
    }
}

/// A time of day, the `NaiveTime` scalar: `HH:MM` or `HH:MM:SS` in, `HH:MM:SS` out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub NaiveTime);

/// A time of day without a time zone, ISO 8601 extended format. Output `HH:MM:SS` (`09:00:00`);
/// input `HH:MM` or `HH:MM:SS` (`09:00`, `09:00:00`), two digits each, 00:00 to 23:59:59.
/// A leap second (`:60`) is refused, as in `DateTime`.
#[Scalar(name = "NaiveTime", specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html")]
impl ScalarType for Time {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if s.len() == 8 && s.ends_with(":60") => {
                Err(InputValueError::custom("a leap second (:60) is not a valid time"))
            }
            Value::String(s) => parse_time(s).map(Self).ok_or_else(|| {
                InputValueError::custom("expected a time of day as HH:MM or HH:MM:SS, e.g. 09:00 or 09:00:00")
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(s) if parse_time(s).is_some())
    }

    fn to_value(&self) -> Value {
        let t = self.0;
        let mut out = Vec::with_capacity(8);
        push_digits(&mut out, t.hour(), 2);
        out.push(b':');
        push_digits(&mut out, t.minute(), 2);
        out.push(b':');
        // A stored leap second (chrono's nanosecond past 59) is written as 59.
        push_digits(&mut out, t.second().min(59), 2);
        Value::String(String::from_utf8(out).unwrap_or_default())
    }
}

/// Two ASCII digits at `at`, as a number.
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    match (b.get(at), b.get(at + 1)) {
        (Some(h @ b'0'..=b'9'), Some(l @ b'0'..=b'9')) => Some(u32::from(h - b'0') * 10 + u32::from(l - b'0')),
        _ => None,
    }
}

/// `YYYY-MM-DD`, exactly: four-digit year, two-digit month and day, a real date.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(b, 0)? * 100 + two_digits(b, 2)?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two_digits(b, 5)?, two_digits(b, 8)?)
}

/// `HH:MM` or `HH:MM:SS`, exactly: two digits each, hour below 24, minute and second below 60.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    let second = match b.len() {
        5 => 0,
        8 if b[5] == b':' => two_digits(b, 6)?,
        _ => return None,
    };
    if b[2] != b':' || second > 59 {
        return None;
    }
    NaiveTime::from_hms_opt(two_digits(b, 0)?, two_digits(b, 3)?, second)
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Self(d)
    }
}

impl From<Date> for NaiveDate {
    fn from(d: Date) -> Self {
        d.0
    }
}

impl From<NaiveTime> for Time {
    fn from(t: NaiveTime) -> Self {
        Self(t)
    }
}

impl From<Time> for NaiveTime {
    fn from(t: Time) -> Self {
        t.0
    }
}

/// The query root `Q`, registering this module's scalars before any of its fields: the same
/// GraphQL type as `Q` (name, fields, resolution), with the scalars described as here.
pub struct Described<Q>(pub Q);

impl<Q: ObjectType> OutputType for Described<Q> {
    fn type_name() -> Cow<'static, str> {
        Q::type_name()
    }

    fn qualified_type_name() -> String {
        Q::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <DateTime as OutputType>::create_type_info(registry);
        <Uuid as OutputType>::create_type_info(registry);
        <Date as OutputType>::create_type_info(registry);
        <Time as OutputType>::create_type_info(registry);
        Q::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        self.0.resolve(ctx, field).await
    }
}

impl<Q: ObjectType> ContainerType for Described<Q> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        self.0.resolve_field(ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        self.0.find_entity(ctx, params).await
    }
}

impl<Q: ObjectType> ObjectType for Described<Q> {}

impl From<ChronoDateTime<Utc>> for DateTime {
    fn from(d: ChronoDateTime<Utc>) -> Self {
        Self(d)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{SecondsFormat, TimeZone, Utc};

    #[test]
    fn the_fast_format_is_chronos_autosi_format() {
        let base = Utc.with_ymd_and_hms(2026, 3, 29, 1, 2, 3).single().unwrap_or_default();
        for nanos in [0, 5_000_000, 123_000_000, 120_000, 123_456_000, 1, 999_999_999, 100] {
            for d in [base, Utc.with_ymd_and_hms(9, 12, 31, 23, 59, 59).single().unwrap_or_default()] {
                let d = d + chrono::TimeDelta::nanoseconds(nanos);
                assert_eq!(super::rfc3339(d), d.to_rfc3339_opts(SecondsFormat::AutoSi, true));
            }
        }
    }
}
