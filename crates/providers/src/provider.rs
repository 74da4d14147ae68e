//! The [`Provider`] trait: one source of bars that can be asked for a symbol, a stored
//! resolution and a time range, and the [`ProviderError`] every provider answers with.
//!
//! A provider returns either the whole, checked batch (ascending, no duplicates, every bar
//! inside the range) or an error; never a part. The resilience layer
//! ([`crate::resilience::Resilient`]) wraps any provider and decides from the error alone
//! what to retry ([`ProviderError::is_transient`]) and what counts against the provider's
//! health ([`ProviderError::is_provider_fault`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tradeassist_model::{AssetClass, Bar, BarError, Resolution, TimeRange, rfc3339};

/// What to fetch: one symbol (our notation, e.g. `AAPL`, `SPX`, `ESZ24`), its asset class,
/// the stored resolution and a half-open UTC range `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarRequest {
    pub symbol: String,
    pub asset_class: AssetClass,
    pub resolution: Resolution,
    pub range: TimeRange,
}

impl BarRequest {
    pub fn new(
        symbol: impl Into<String>,
        asset_class: AssetClass,
        resolution: Resolution,
        range: TimeRange,
    ) -> Self {
        BarRequest {
            symbol: symbol.into(),
            asset_class,
            resolution,
            range,
        }
    }

    /// The same request over another range (one window of a split request).
    pub fn with_range(&self, range: TimeRange) -> Self {
        BarRequest {
            range,
            ..self.clone()
        }
    }
}

/// A source of bars.
///
/// `fetch_bars` answers with every bar of the request, ascending by time, without
/// duplicates, each inside `request.range`; or with an error and nothing.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Short stable name, e.g. `schwab` (the data source's name in status reports).
    fn name(&self) -> &str;

    /// Fetch the bars of `request`.
    async fn fetch_bars(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError>;

    /// The ranges the provider serves `request` in, one vendor request each, ascending and
    /// contiguous. The resilience layer times out, retries and counts each piece on its own,
    /// so a failure in the third window does not refetch the first two. Splitting a piece
    /// again must give the piece back. Default: the whole range.
    fn split(&self, request: &BarRequest) -> Vec<TimeRange> {
        vec![request.range]
    }

    /// The earliest bar time (UTC seconds) the provider can serve at `resolution` right now,
    /// when its history is limited (Schwab keeps about 48 days of minutes). Callers clamp
    /// backfills to it; a request that starts earlier fails with
    /// [`ProviderError::OutOfHistory`]. Default: no limit.
    fn history_start(&self, resolution: Resolution) -> Option<i64> {
        let _ = resolution;
        None
    }
}

#[async_trait::async_trait]
impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn fetch_bars(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError> {
        (**self).fetch_bars(request).await
    }
    fn split(&self, request: &BarRequest) -> Vec<TimeRange> {
        (**self).split(request)
    }
    fn history_start(&self, resolution: Resolution) -> Option<i64> {
        (**self).history_start(resolution)
    }
}

/// Why a provider gave no bars. No variant ever carries a credential: messages that come
/// from the vendor are shortened and scrubbed of the secrets the client knows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The vendor does not know the symbol (our notation).
    #[error("unknown symbol {0}")]
    UnknownSymbol(String),
    /// The symbol cannot be expressed in the vendor's notation.
    #[error("`{symbol}` cannot be requested from this provider: {reason}")]
    UnsupportedSymbol { symbol: String, reason: String },
    /// The request reaches back further than the vendor keeps history at this resolution.
    #[error(
        "{} history of {symbol} is available from {} on; the request starts at {}. Nothing was fetched",
        history_word(*resolution),
        rfc3339(*earliest),
        rfc3339(*requested_start)
    )]
    OutOfHistory {
        symbol: String,
        resolution: Resolution,
        requested_start: i64,
        /// Earliest available bar time, UTC seconds.
        earliest: i64,
    },
    /// The answer broke the contract (malformed, oversized, invalid or unordered candles).
    /// The whole batch is refused.
    #[error(
        "invalid data for {symbol} in {}..{}: {problem}; nothing was returned",
        rfc3339(window.start()),
        rfc3339(window.end())
    )]
    InvalidData {
        symbol: String,
        /// The requested window whose answer was refused.
        window: TimeRange,
        problem: DataProblem,
    },
    /// HTTP 429.
    #[error("rate limited by the vendor (HTTP 429){}", RetryAfter(*retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// Any other unexpected HTTP status; retried when it is a 5xx.
    #[error("the vendor answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// No answer within the per-call timeout.
    #[error("no answer within {} ms", after.as_millis())]
    Timeout { after: Duration },
    /// The connection failed or broke (refused, reset, DNS).
    #[error("connection failed: {0}")]
    Connection(String),
    /// The vendor refused our credentials (token refresh refused, or 401 right after a refresh).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The circuit breaker is open: the provider failed repeatedly and is not called.
    /// `retry_after` is zero while a half-open circuit's trial calls are running.
    #[error(
        "provider unavailable (circuit open after repeated failures); {}",
        NextTry(*retry_after)
    )]
    CircuitOpen { retry_after: Duration },
    /// The provider is configured wrongly.
    #[error("provider configuration: {0}")]
    Config(String),
}

struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "; retry after {} s", d.as_secs()),
            None => Ok(()),
        }
    }
}

struct NextTry(Duration);

impl fmt::Display for NextTry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            f.write_str("a trial call is running, try again shortly")
        } else {
            write!(f, "next try in {} ms", self.0.as_millis())
        }
    }
}

impl ProviderError {
    /// Worth another attempt: 5xx, 429, timeouts and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::RateLimited { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::Connection(_) => true,
            ProviderError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// How long the vendor asked us to wait (429 `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The provider misbehaved or is unreachable, as opposed to a request it cannot serve by
    /// design (unknown symbol, history limit) or a local refusal. Only faults count against
    /// the circuit breaker and the provider's health.
    pub fn is_provider_fault(&self) -> bool {
        match self {
            ProviderError::InvalidData { .. }
            | ProviderError::RateLimited { .. }
            | ProviderError::Status { .. }
            | ProviderError::Timeout { .. }
            | ProviderError::Connection(_)
            | ProviderError::Auth(_) => true,
            ProviderError::UnknownSymbol(_)
            | ProviderError::UnsupportedSymbol { .. }
            | ProviderError::OutOfHistory { .. }
            | ProviderError::CircuitOpen { .. }
            | ProviderError::Config(_) => false,
        }
    }
}

/// What was wrong with a vendor answer, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataProblem {
    /// Not the expected JSON document (also: cut off in the middle).
    #[error("malformed JSON at line {line} column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// The body exceeded the size cap; reading stopped there.
    #[error("the response body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// A candle that is not a valid bar.
    #[error("candle {index} at {}: {reason}", ms_time(*datetime))]
    InvalidCandle {
        index: usize,
        /// Vendor time of the candle, epoch milliseconds.
        datetime: i64,
        reason: BarError,
    },
    /// A candle whose time is not the start of an interval of the resolution.
    #[error("candle {index} at {}: not at the start of a {resolution} interval", ms_time(*datetime))]
    Misaligned {
        index: usize,
        datetime: i64,
        resolution: Resolution,
    },
    /// A candle with the same interval as the candle before it.
    #[error("candle {index} at {}: duplicate of the candle before it", ms_time(*datetime))]
    Duplicate { index: usize, datetime: i64 },
    /// A candle earlier than the candle before it.
    #[error(
        "candle {index} at {}: earlier than the candle before it ({})",
        ms_time(*datetime),
        ms_time(*previous)
    )]
    OutOfOrder {
        index: usize,
        datetime: i64,
        previous: i64,
    },
}

fn history_word(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Minute => "minute",
        Resolution::Day => "daily",
    }
}

/// RFC 3339 of epoch milliseconds, with the milliseconds when there are any.
fn ms_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    match ms.rem_euclid(1000) {
        0 => rfc3339(secs),
        rest => format!("{} (+{rest} ms)", rfc3339(secs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_errors() {
        let transient = [
            ProviderError::RateLimited { retry_after: None },
            ProviderError::Timeout {
                after: Duration::from_secs(1),
            },
            ProviderError::Connection("reset".into()),
            ProviderError::Status {
                status: 503,
                message: String::new(),
            },
        ];
        for e in &transient {
            assert!(e.is_transient(), "{e}");
            assert!(e.is_provider_fault(), "{e}");
        }
        let final_faults = [
            ProviderError::Status {
                status: 403,
                message: String::new(),
            },
            ProviderError::Auth("refused".into()),
        ];
        for e in &final_faults {
            assert!(!e.is_transient(), "{e}");
            assert!(e.is_provider_fault(), "{e}");
        }
        let not_faults = [
            ProviderError::UnknownSymbol("XYZ".into()),
            ProviderError::OutOfHistory {
                symbol: "SPY".into(),
                resolution: Resolution::Minute,
                requested_start: 0,
                earliest: 60,
            },
            ProviderError::CircuitOpen {
                retry_after: Duration::ZERO,
            },
        ];
        for e in &not_faults {
            assert!(!e.is_transient(), "{e}");
            assert!(!e.is_provider_fault(), "{e}");
        }
        assert_eq!(
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            }
            .retry_after(),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn problems_say_where() {
        let e = ProviderError::InvalidData {
            symbol: "ESZ24".into(),
            window: TimeRange::new(0, 86_400).unwrap(),
            problem: DataProblem::Duplicate {
                index: 3,
                datetime: 180_000,
            },
        };
        assert_eq!(
            e.to_string(),
            "invalid data for ESZ24 in 1970-01-01T00:00:00Z..1970-01-02T00:00:00Z: candle 3 at \
             1970-01-01T00:03:00Z: duplicate of the candle before it; nothing was returned"
        );
        assert_eq!(ms_time(1_500), "1970-01-01T00:00:01Z (+500 ms)");
        let open = |ms| ProviderError::CircuitOpen {
            retry_after: Duration::from_millis(ms),
        };
        assert!(open(1500).to_string().ends_with("next try in 1500 ms"));
        assert!(
            open(0)
                .to_string()
                .ends_with("a trial call is running, try again shortly")
        );
    }
}
