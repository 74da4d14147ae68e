//! Request ids: every request gets one (the client's `x-request-id` when it sends a sane one),
//! echoed in the `x-request-id` response header, and every log line written while the request
//! is handled lies in a `request` span carrying it (`request_id`, with `method` and `path`), so
//! a 500 shown to a client as "internal, request id X" can be found in the log without the
//! response ever carrying database text.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Header carrying the id both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn fresh() -> String {
    // Process start (seconds) + a counter: unique per process and readable in logs.
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| tradeassist_service::now().max(0) as u64);
    format!("{start:x}-{:06x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Middleware: assign the id, run the request inside its scope and its `request` span, echo it.
pub async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(fresh, str::to_string);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    let mut response = CURRENT
        .scope(id.clone(), next.run(req))
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_clients() {
        assert!(sane("abc-123_X"));
        assert!(!sane(""));
        assert!(!sane("a b"));
        assert!(!sane(&"x".repeat(65)));
        assert_ne!(fresh(), fresh());
    }
}
