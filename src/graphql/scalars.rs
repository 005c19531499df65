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
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<ChronoDateTime<Utc>> for DateTime {
    fn from(d: ChronoDateTime<Utc>) -> Self {
        Self(d)
    }
}
