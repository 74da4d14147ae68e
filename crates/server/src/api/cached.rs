//! HTTP side of cached fetches: the JSON [`Encoder`] the service caches with, and the
//! mapping of an [`Encoded`] answer to a response — a strong `ETag`, `304 Not Modified` for a
//! matching `If-None-Match` (GET), `Cache-Control` (closed ranges `immutable` for the closed
//! TTL, open ranges the short TTL, `no-cache` while the server cache is off), and the gzip
//! form kept with the cache entry when the client accepts gzip (other encodings, br among
//! them, are left to the compression layer).

use std::io::Write;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tradeassist_service::{Encoded, Encoder, FetchResult, Service, ServiceError};

use super::handlers::fetch_response;

/// Responses smaller than this are sent uncompressed.
const COMPRESS_MIN_BYTES: usize = 1024;

/// The fetch response document as JSON.
pub struct JsonFetch;

impl Encoder for JsonFetch {
    fn format(&self) -> &str {
        "json"
    }

    fn encode(&self, result: &FetchResult) -> Result<Vec<u8>, ServiceError> {
        serde_json::to_vec(&fetch_response(result))
            .map_err(|e| ServiceError::Internal(format!("cannot encode the response: {e}")))
    }
}

/// Warm the cache with the JSON answers of the `top` most requested and every saved query:
/// once now (the listener is already up, so start-up does not wait) and then every
/// `interval`. Runs for the life of the process.
pub async fn warm_forever(service: Service, top: usize, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match service.warm(&JsonFetch, top).await {
            Ok(r) => tracing::info!(
                queries = r.queries,
                computed = r.computed,
                fresh = r.fresh,
                failed = r.failed,
                "cache warmed"
            ),
            Err(e) => tracing::warn!(error = %e, "cache warming failed"),
        }
    }
}

fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            name.eq_ignore_ascii_case(coding) && !q_zero
        })
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(level),
    );
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The gzip form of an answer. A freshly computed one is compressed fast for this response
/// only (the client is already waiting for the computation); the form kept with a cache
/// entry is made on its first hit, at level 6: a third fewer bytes than level 1 (a month of
/// ES 1m bars: 134 KB instead of 200 KB of 1.9 MB JSON), paid once and saved on every later
/// hit (`tradeassist bench serve`: +30 % cached throughput at 200 clients).
fn gzipped(encoded: &Encoded) -> std::sync::Arc<[u8]> {
    use tradeassist_service::cache::Source;
    match encoded.source {
        Source::Computed | Source::Waited => gzip(encoded.entry.body(), 1).into(),
        Source::L1 | Source::L2 => encoded.entry.compressed(|b| gzip(b, 6)),
    }
}

/// The HTTP response of a cached answer; `conditional` when `If-None-Match` applies (GET).
pub fn respond(
    service: &Service,
    headers: &HeaderMap,
    encoded: Encoded,
    conditional: bool,
) -> Response {
    let entry = &encoded.entry;
    let cache_control = match service.response_cache().map(|c| c.config()) {
        None => "no-cache".to_string(),
        Some(c) if entry.closed() => {
            format!("public, max-age={}, immutable", c.ttl_closed.as_secs())
        }
        Some(c) => format!("public, max-age={}", c.ttl_open.as_secs()),
    };
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(entry.etag()) {
        out.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        out.insert(header::CACHE_CONTROL, v);
    }
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let source = match encoded.source {
        tradeassist_service::cache::Source::L1 => "hit-l1",
        tradeassist_service::cache::Source::L2 => "hit-l2",
        tradeassist_service::cache::Source::Computed => "miss",
        tradeassist_service::cache::Source::Waited => "shared",
    };
    out.insert("x-cache", HeaderValue::from_static(source));
    if conditional && matches_etag(headers, entry.etag()) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = if entry.body().len() >= COMPRESS_MIN_BYTES && accepts(headers, "gzip") {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        Body::from(bytes_of(gzipped(&encoded)))
    } else {
        Body::from(bytes_of(entry.body_shared()))
    };
    (StatusCode::OK, out, body).into_response()
}

fn bytes_of(shared: std::sync::Arc<[u8]>) -> axum::body::Bytes {
    axum::body::Bytes::from_owner(ArcBytes(shared))
}

/// Shares the cached bytes with the response body instead of copying them.
struct ArcBytes(std::sync::Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_and_if_none_match_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br;q=1.0, gzip;q=0.5"),
        );
        assert!(accepts(&h, "gzip") && accepts(&h, "br") && !accepts(&h, "zstd"));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts(&h, "gzip"));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(matches_etag(&h, "\"b\"") && !matches_etag(&h, "\"c\""));
    }
}
