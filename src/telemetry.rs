use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global logger: `RUST_LOG` (default `info`), JSON lines in production.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        let _ = registry.with(fmt::layer().json().with_current_span(true)).try_init();
    } else {
        let _ = registry.with(fmt::layer()).try_init();
    }
}
