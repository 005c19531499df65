//! Logging setup: every line to stderr (stdout is for what a command prints, such as
//! `seed-demo`'s logins), as text or as JSON (`LOG_FORMAT`).
use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global logger: `RUST_LOG` (default `info`) filters; [`LogFormat::Json`] writes one
/// JSON object per line (the event's fields under `fields`, its spans under `span`/`spans`),
/// [`LogFormat::Text`] human-readable lines, coloured only when stderr is a terminal. A second call
/// does nothing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => {
            let _ = registry.with(fmt::layer().json().with_current_span(true).with_writer(std::io::stderr)).try_init();
        }
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal();
            let _ = registry.with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init();
        }
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
    use super::*;

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
