//! The process's log subscriber: `text` (human-readable) or `json` (one object per line, with
//! the fields of the enclosing spans, so every line of a request carries its `request_id`),
//! written to stderr and filtered by `TRADEASSIST_LOG` (default `info,tokio_postgres=warn`).
//!
//! Targets: the program's own modules, and `audit` for the data-access audit log
//! ([`crate::api::audit`]); `TRADEASSIST_LOG=info,audit=off` silences the latter.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Install the global subscriber (once, at start).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TRADEASSIST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
