//! What the GraphQL door records: operations by name and outcome, their durations, open WebSockets.
//!
//! Recorded through the `metrics` facade into the process's recorder, which the binary installs
//! (and describes) before it serves; [`register`] then makes this door's handles at once, so that
//! `/metrics` lists them before anything happened. Hot paths record through those handles: a
//! request costs a read lock, a hash lookup of its operation name and a few atomic additions, no
//! allocation.
//!
//! Labels are bounded: `operation` is the operation's name when it is a GraphQL name of at most
//! [`MAX_NAME_LEN`] characters, among the first [`MAX_OPERATIONS`] distinct names seen; else
//! `other`; `anonymous` when it has no name; `invalid` when the request or its document did not
//! parse or validate (see [`Validity`]): only a valid document's name can claim a label, so junk
//! cannot use them up. A document or a variable never becomes a label.
use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
    time::Duration,
};

use metrics::{Counter, Gauge, Histogram};

/// Distinct operation names given a label of their own; later ones count as `other`.
pub const MAX_OPERATIONS: usize = 100;
/// Longest operation name given a label of its own.
pub const MAX_NAME_LEN: usize = 64;
/// GraphQL operations (HTTP and WebSocket) by `operation` and `outcome`.
pub const REQUESTS: &str = "cybermed_graphql_requests_total";
/// Time to answer a GraphQL query or mutation, by `operation` (a histogram, in seconds).
pub const DURATION: &str = "cybermed_graphql_request_duration_seconds";
/// Open GraphQL WebSocket connections.
pub const WS_CONNECTIONS: &str = "cybermed_ws_connections";

/// How a GraphQL operation ended, as its `outcome` label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran without an error.
    Ok,
    /// It ran, and some field failed (including authorization errors).
    Error,
    /// Nothing ran: the request or the document was refused (malformed, invalid, over a bound).
    Refused,
}

impl Outcome {
    /// The label value: `ok`, `error` or `refused` (the same words as the request log line).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Refused => "refused",
        }
    }
}

/// What is known of an operation's document, which decides whether its name may be a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Its document parsed and validated and names the operation that ran: its name may claim a
    /// label of its own.
    Valid,
    /// Refused before its document was validated (a bad token, a socket without a login, an
    /// input refused before execution): counted under its name when that name already has a
    /// label, else as `invalid`.
    Unchecked,
    /// The request was malformed, its document did not parse or validate, or `operationName`
    /// names no operation of it: counted as `invalid`, whatever name it gave.
    Invalid,
}

/// The handles of one operation label.
struct OperationInstruments {
    ok: Counter,
    error: Counter,
    refused: Counter,
    duration: Histogram,
}

impl OperationInstruments {
    fn new(operation: &str) -> Self {
        let counter = |outcome: Outcome| metrics::counter!(REQUESTS, "operation" => operation.to_owned(), "outcome" => outcome.as_str());
        Self {
            ok: counter(Outcome::Ok),
            error: counter(Outcome::Error),
            refused: counter(Outcome::Refused),
            duration: metrics::histogram!(DURATION, "operation" => operation.to_owned()),
        }
    }

    fn record(&self, outcome: Outcome, duration: Option<Duration>) {
        match outcome {
            Outcome::Ok => self.ok.increment(1),
            Outcome::Error => self.error.increment(1),
            Outcome::Refused => self.refused.increment(1),
        }
        if let Some(d) = duration {
            self.duration.record(d);
        }
    }
}

/// This door's handles, made once per process (after the recorder is installed).
struct Instruments {
    operations: RwLock<HashMap<Box<str>, OperationInstruments>>,
    anonymous: OperationInstruments,
    other: OperationInstruments,
    invalid: OperationInstruments,
    ws_connections: Gauge,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

fn instruments() -> &'static Instruments {
    INSTRUMENTS.get_or_init(|| Instruments {
        operations: RwLock::new(HashMap::new()),
        anonymous: OperationInstruments::new("anonymous"),
        other: OperationInstruments::new("other"),
        invalid: OperationInstruments::new("invalid"),
        ws_connections: metrics::gauge!(WS_CONNECTIONS),
    })
}

/// Makes this door's handles in the process's recorder: call once the recorder is installed (a
/// handle made before would record nowhere).
pub fn register() {
    let _ = instruments();
}

/// Whether `name` may be a label value: a GraphQL name of at most [`MAX_NAME_LEN`] characters.
fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_NAME_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Counts one GraphQL operation (over HTTP or a WebSocket) and, when given, times it.
///
/// `operation` is the operation's name (`None`: `anonymous`); a name that is not a GraphQL name of
/// at most [`MAX_NAME_LEN`] characters, or that comes after [`MAX_OPERATIONS`] others, is counted
/// as `other`; as [`Validity`] says, an invalid request is `invalid`, and only a valid one's name
/// may become a new label. Never fails.
pub fn operation(operation: Option<&str>, validity: Validity, outcome: Outcome, duration: Option<Duration>) {
    let ins = instruments();
    if validity == Validity::Invalid {
        ins.invalid.record(outcome, duration);
        return;
    }
    let Some(name) = operation else {
        ins.anonymous.record(outcome, duration);
        return;
    };
    if let Ok(ops) = ins.operations.read()
        && let Some(op) = ops.get(name)
    {
        op.record(outcome, duration);
        return;
    }
    if validity == Validity::Unchecked {
        ins.invalid.record(outcome, duration);
        return;
    }
    if !is_label_name(name) {
        ins.other.record(outcome, duration);
        return;
    }
    let Ok(mut ops) = ins.operations.write() else {
        ins.other.record(outcome, duration);
        return;
    };
    if !ops.contains_key(name) && ops.len() >= MAX_OPERATIONS {
        drop(ops);
        ins.other.record(outcome, duration);
        return;
    }
    ops.entry(name.into()).or_insert_with(|| OperationInstruments::new(name)).record(outcome, duration);
}

/// An open WebSocket connection: counted in `cybermed_ws_connections` from [`WsConnection::open`]
/// until it is dropped, however the connection ends (a close, an error, a panic unwinding).
pub struct WsConnection(());

impl WsConnection {
    /// Counts a connection as open until the returned guard is dropped.
    pub fn open() -> Self {
        instruments().ws_connections.increment(1.0);
        Self(())
    }
}

impl Drop for WsConnection {
    fn drop(&mut self) {
        instruments().ws_connections.decrement(1.0);
    }
}

/// Longest operation name written to a log line or a metric label, in characters.
pub const MAX_OPERATION_NAME_CHARS: usize = 100;

/// How an operation is named in logs: its name, `anonymous` when it has none, and a name longer
/// than [`MAX_OPERATION_NAME_CHARS`] characters cut there with `…` (a client chooses the name: a
/// 60 KB name must not make a 60 KB log line).
pub fn operation_name(name: Option<&str>) -> std::borrow::Cow<'_, str> {
    match name {
        None | Some("") => std::borrow::Cow::Borrowed("anonymous"),
        Some(n) => match n.char_indices().nth(MAX_OPERATION_NAME_CHARS) {
            None => std::borrow::Cow::Borrowed(n),
            Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &n[..cut])),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{is_label_name, operation_name};

    #[test]
    fn only_short_graphql_names_become_labels() {
        for ok in ["Login", "_x", "a1_B2", &"a".repeat(64)] {
            assert!(is_label_name(ok), "{ok}");
        }
        for bad in ["", "1abc", "a-b", "a b", "é", "query { me }", &"a".repeat(65)] {
            assert!(!is_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn operation_names_are_anonymous_or_cut_at_100_characters() {
        assert_eq!(operation_name(None), "anonymous");
        assert_eq!(operation_name(Some("")), "anonymous");
        assert_eq!(operation_name(Some("Me")), "Me");
        let exact = "é".repeat(100);
        assert_eq!(operation_name(Some(&exact)), exact.as_str());
        let long = "x".repeat(60_000);
        let cut = operation_name(Some(&long));
        assert_eq!(cut.chars().count(), 101);
        assert!(cut.ends_with('…'));
    }
}
