//! Scalars whose wire format the contract fixes.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, SecondsFormat, Timelike, Utc};

/// RFC 3339 instant. Inputs may carry any offset (a leap second, `:60`, is refused); outputs are
/// UTC with `Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

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
    use chrono::Datelike;
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

impl async_graphql::OutputType for Id {
    fn type_name() -> std::borrow::Cow<'static, str> {
        <uuid::Uuid as async_graphql::OutputType>::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        <uuid::Uuid as async_graphql::OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _: &async_graphql::ContextSelectionSet<'_>,
        _: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<Value> {
        Ok(Value::String(self.0.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()))
    }
}

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
