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
