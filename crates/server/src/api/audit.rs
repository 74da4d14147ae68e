//! Audit log of data access: one `info` line to the tracing target `audit` for every bar
//! request served (fetch, saved-query run), saying who (the client's socket address, or `-`
//! when unknown, and the API token's id when there is one), what (endpoint, symbols, the window read per series as half-open
//! `start..end` in RFC 3339, with `last=N` for a last-N-bars read),
//! how much (bars returned) and how long it took (ms). It lies in the request's span, so it
//! carries the `request_id` too.
//!
//! ```text
//! {"level":"INFO","target":"audit","fields":{"message":"data access","endpoint":"fetch",
//!  "client":"127.0.0.1:51234","symbols":"AAPL","ranges":"2013-01-01T14:30:00Z..2014-01-01T05:00:00Z",
//!  "bars":52,"duration_ms":3.1},"span":{"request_id":"..."}}
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tradeassist_model::rfc3339;
use tradeassist_service::{Encoded, FetchResult, Query, SeriesResult};

/// The tracing target of audit lines.
pub const TARGET: &str = "audit";

/// Who sent the request: its peer address when the server was started with connect info, and
/// the id of its API token (none in open mode).
#[derive(Debug, Clone)]
pub struct Client(pub Option<SocketAddr>, pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            parts
                .extensions
                .get::<crate::auth::Principal>()
                .and_then(|p| p.token),
        ))
    }
}

/// A data access being served: started when the handler begins, logged by [`Access::served`].
pub struct Access {
    endpoint: &'static str,
    client: Client,
    started: Instant,
}

impl Access {
    pub fn start(endpoint: &'static str, client: Client) -> Access {
        Access {
            endpoint,
            client,
            started: Instant::now(),
        }
    }

    /// Write the audit line for `result`.
    pub fn served(self, result: &FetchResult) {
        self.served_series(&result.series);
    }

    /// Write the audit line of a (possibly cached) fetch answer: the query's symbols and
    /// range as asked, the bars the answer holds.
    pub fn served_query(self, query: &Query, encoded: &Encoded) {
        self.asked(query, total_bars(encoded.entry.body()));
    }

    /// Write the audit line of an answer to `query` holding `bars` bars (range as asked).
    pub fn asked(self, query: &Query, bars: usize) {
        let pairs = query.to_pairs();
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        let range = match (field("preset"), field("start")) {
            (Some(p), _) => format!("{p}@{}", field("as_of").unwrap_or("now")),
            (None, start) => format!("{}..{}", start.unwrap_or(""), field("end").unwrap_or("now")),
        };
        let symbols: Vec<&str> = query.symbols.iter().map(String::as_str).collect();
        self.line(&symbols, &[range], bars);
    }

    /// Write the audit line for the series answered.
    pub fn served_series(self, series: &[SeriesResult]) {
        let symbols: Vec<&str> = series
            .iter()
            .map(|s| s.instrument.symbol.as_str())
            .collect();
        let ranges: Vec<String> = series
            .iter()
            .map(|s| {
                let r = s.window.range;
                let range = format!("{}..{}", rfc3339(r.start()), rfc3339(r.end()));
                match s.window.last_bars {
                    Some(n) => format!("{range} last={n}"),
                    None => range,
                }
            })
            .collect();
        let bars: usize = series.iter().map(|s| s.bars.len()).sum();
        self.line(&symbols, &ranges, bars);
    }

    fn line(self, symbols: &[&str], ranges: &[String], bars: usize) {
        let client = self
            .client
            .0
            .map_or_else(|| "-".to_string(), |a| a.to_string());
        tracing::info!(
            target: TARGET,
            endpoint = self.endpoint,
            client = %client,
            token = self.client.1,
            symbols = %symbols.join(","),
            ranges = %ranges.join(","),
            bars,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "data access"
        );
    }
}

/// `metadata.total_bars` of an encoded fetch answer, read from the tail of the body (the
/// server's JSON encoder writes the metadata last), so a cache hit is audited without
/// decoding the answer; 0 when it is not there.
fn total_bars(body: &[u8]) -> usize {
    const KEY: &[u8] = b"\"total_bars\":";
    let head = &body[body.len().saturating_sub(256)..];
    head.windows(KEY.len())
        .position(|w| w == KEY)
        .map_or(0, |at| {
            head[at + KEY.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0usize, |n, b| {
                    n.saturating_mul(10).saturating_add(usize::from(b - b'0'))
                })
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn total_bars_is_read_from_the_metadata_head() {
        assert_eq!(
            super::total_bars(br#"{"metadata":{"total_bars":252,"generated_at":"x"},"data":[]}"#),
            252
        );
        assert_eq!(super::total_bars(b"{}"), 0);
    }
}
