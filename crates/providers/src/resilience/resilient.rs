//! [`Resilient`]: any [`Provider`] behind a circuit breaker, retries with jittered backoff,
//! a per-call timeout and a client-side rate limit.
//!
//! A request is cut into the pieces the inner provider serves ([`Provider::split`]); each
//! piece is one *call*:
//!
//! 1. the breaker admits it or refuses at once with [`ProviderError::CircuitOpen`];
//! 2. each attempt waits for the rate limiter, then runs under the timeout (the wait for the
//!    limiter does not eat into the timeout);
//! 3. a transient error ([`ProviderError::is_transient`]: 5xx, 429, timeout, connection) is
//!    retried after [`RetryConfig::delay`] (the vendor's `Retry-After` when given) until
//!    `max_attempts`; any other error ends the call at once;
//! 4. the call's outcome settles the breaker: a provider fault
//!    ([`ProviderError::is_provider_fault`]) counts as a failure, anything else (bars, an
//!    unknown symbol, a history limit) as a success, since the vendor answered.
//!
//! The request fails as a whole when any piece fails; nothing partial is returned.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tradeassist_model::{Bar, Resolution, TimeRange};

use super::breaker::{BreakerConfig, CircuitBreaker, CircuitState, CircuitStats};
use super::clock::{Clock, SystemClock};
use super::rate_limit::RateLimiter;
use super::retry::RetryConfig;
use crate::provider::{BarRequest, Provider, ProviderError};

/// How a [`Resilient`] provider treats its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResiliencePolicy {
    /// Per attempt.
    pub timeout: Duration,
    /// Client-side budget of attempts per minute; `None` for no limit.
    pub requests_per_minute: Option<NonZeroU32>,
    pub retry: RetryConfig,
    pub breaker: BreakerConfig,
}

impl Default for ResiliencePolicy {
    fn default() -> Self {
        ResiliencePolicy {
            timeout: Duration::from_secs(10),
            requests_per_minute: None,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

/// Status of a resilient provider, for `sources` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResilienceStats {
    /// Breaker state, calls, failures, refusals, last error and success.
    pub circuit: CircuitStats,
    /// Attempts repeated after a transient error.
    pub retries: u64,
    /// Attempts that ran into the timeout.
    pub timeouts: u64,
    /// The rate-limit budget, when there is one.
    pub requests_per_minute: Option<u32>,
    /// Of it, the requests not used in the last minute.
    pub remaining_this_minute: Option<u32>,
}

/// A provider behind breaker, retries, timeout and rate limit. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Resilient<P> {
    inner: P,
    timeout: Duration,
    retry: RetryConfig,
    limiter: Option<RateLimiter>,
    breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    retries: AtomicU64,
    timeouts: AtomicU64,
}

impl<P: Provider> Resilient<P> {
    /// Wrap `inner` with the real clock.
    pub fn new(inner: P, policy: ResiliencePolicy) -> Self {
        Resilient::with_clock(inner, policy, Arc::new(SystemClock))
    }

    /// Wrap `inner`; cool-downs, backoff sleeps and rate-limit pacing run on `clock` (the
    /// timeout always runs on tokio's timer).
    pub fn with_clock(inner: P, policy: ResiliencePolicy, clock: Arc<dyn Clock>) -> Self {
        Resilient {
            inner,
            timeout: policy.timeout,
            retry: policy.retry,
            limiter: policy
                .requests_per_minute
                .map(|n| RateLimiter::per_minute(n, clock.clone())),
            breaker: CircuitBreaker::new(policy.breaker, clock.clone()),
            clock,
            retries: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The breaker's state now.
    pub fn circuit(&self) -> CircuitState {
        self.breaker.state()
    }

    /// Counters and state.
    pub fn stats(&self) -> ResilienceStats {
        ResilienceStats {
            circuit: self.breaker.stats(),
            retries: self.retries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            requests_per_minute: self.limiter.as_ref().map(|l| l.per_minute_budget().get()),
            remaining_this_minute: self.limiter.as_ref().map(|l| l.remaining_this_minute()),
        }
    }

    /// One piece: breaker, then attempts under limiter and timeout.
    async fn call(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError> {
        let permit = self
            .breaker
            .acquire()
            .map_err(|retry_after| ProviderError::CircuitOpen { retry_after })?;
        let attempts = self.retry.attempts();
        let mut attempt = 0;
        let result = loop {
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            let result =
                match tokio::time::timeout(self.timeout, self.inner.fetch_bars(request)).await {
                    Ok(result) => result,
                    Err(_) => {
                        self.timeouts.fetch_add(1, Ordering::Relaxed);
                        Err(ProviderError::Timeout {
                            after: self.timeout,
                        })
                    }
                };
            match result {
                Err(e)
                    if e.is_transient()
                        && attempt + 1 < attempts
                        && self.breaker.state() != CircuitState::Open =>
                {
                    let delay = self.retry.delay(attempt, e.retry_after());
                    tracing::warn!(
                        provider = self.inner.name(),
                        symbol = %request.symbol,
                        attempt = attempt + 1,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %e,
                        "provider call failed; retrying"
                    );
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    self.clock.sleep(delay).await;
                    attempt += 1;
                }
                result => break result,
            }
        };
        let transition = match &result {
            Err(e) if e.is_provider_fault() => permit.failure(e),
            _ => permit.success(),
        };
        if let Some(state) = transition {
            match (state, &result) {
                (CircuitState::Open, Err(e)) => tracing::warn!(
                    provider = self.inner.name(),
                    error = %e,
                    "circuit opened; calls fail fast until the cool-down is over"
                ),
                _ => {
                    tracing::info!(provider = self.inner.name(), circuit = %state, "circuit state changed")
                }
            }
        }
        result
    }
}

#[async_trait::async_trait]
impl<P: Provider> Provider for Resilient<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn fetch_bars(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError> {
        let mut bars = Vec::new();
        for piece in self.inner.split(request) {
            bars.extend(self.call(&request.with_range(piece)).await?);
        }
        Ok(bars)
    }

    fn split(&self, request: &BarRequest) -> Vec<TimeRange> {
        self.inner.split(request)
    }

    fn history_start(&self, resolution: Resolution) -> Option<i64> {
        self.inner.history_start(resolution)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use tradeassist_model::AssetClass;

    use super::*;
    use crate::resilience::ManualClock;

    /// A scripted provider: answers from a queue (bars when empty), counts calls, serves
    /// requests in pieces of `piece` seconds.
    #[derive(Debug)]
    struct Scripted {
        answers: Mutex<VecDeque<Result<(), ProviderError>>>,
        calls: AtomicU64,
        piece: i64,
        hang: bool,
    }

    impl Scripted {
        fn new(answers: Vec<Result<(), ProviderError>>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into()),
                calls: AtomicU64::new(0),
                piece: i64::MAX,
                hang: false,
            }
        }
        fn calls(&self) -> u64 {
            self.calls.load(Ordering::Relaxed)
        }
    }

    #[async_trait::async_trait]
    impl Provider for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn fetch_bars(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.hang {
                std::future::pending::<()>().await;
            }
            let answer = self.answers.lock().unwrap().pop_front().unwrap_or(Ok(()));
            answer.map(|()| {
                let start = request.range.start();
                vec![Bar::new(start, 1.0, 1.0, 1.0, 1.0, 1.0).unwrap()]
            })
        }
        fn split(&self, request: &BarRequest) -> Vec<TimeRange> {
            let (mut s, end) = (request.range.start(), request.range.end());
            let mut out = Vec::new();
            while s < end {
                let e = s.saturating_add(self.piece).min(end);
                out.push(TimeRange::new(s, e).unwrap());
                s = e;
            }
            out
        }
    }

    fn request(start: i64, end: i64) -> BarRequest {
        BarRequest::new(
            "SPY",
            AssetClass::Stock,
            Resolution::Minute,
            TimeRange::new(start, end).unwrap(),
        )
    }

    fn policy() -> ResiliencePolicy {
        ResiliencePolicy {
            timeout: Duration::from_secs(5),
            requests_per_minute: None,
            retry: RetryConfig {
                max_attempts: 3,
                base_delay_ms: 100,
                max_delay_ms: 10_000,
            },
            breaker: BreakerConfig {
                failure_threshold: 2,
                cool_down_ms: 60_000,
                half_open_probes: 1,
            },
        }
    }

    fn status(code: u16) -> ProviderError {
        ProviderError::Status {
            status: code,
            message: "x".into(),
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_with_growing_jittered_waits() {
        let clock = Arc::new(ManualClock::new());
        let inner = Scripted::new(vec![Err(status(502)), Err(status(503))]);
        let p = Resilient::with_clock(inner, policy(), clock.clone());
        let bars = p.fetch_bars(&request(0, 60)).await.unwrap();
        assert_eq!(bars.len(), 1);
        assert_eq!(p.inner().calls(), 3);
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 2);
        assert!(sleeps[0] <= Duration::from_millis(100), "{sleeps:?}");
        assert!(sleeps[1] <= Duration::from_millis(200), "{sleeps:?}");
        let stats = p.stats();
        assert_eq!((stats.retries, stats.circuit.failures), (2, 0));
        assert_eq!(p.circuit(), CircuitState::Closed);
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_capped() {
        let clock = Arc::new(ManualClock::new());
        let inner = Scripted::new(vec![
            Err(ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            }),
            Err(ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(3600)),
            }),
        ]);
        let p = Resilient::with_clock(inner, policy(), clock.clone());
        p.fetch_bars(&request(0, 60)).await.unwrap();
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_secs(3), Duration::from_secs(10)]
        );
    }

    #[tokio::test]
    async fn final_errors_are_not_retried() {
        for error in [
            status(400),
            status(403),
            ProviderError::UnknownSymbol("SPY".into()),
            ProviderError::Auth("refused".into()),
        ] {
            let clock = Arc::new(ManualClock::new());
            let inner = Scripted::new(vec![Err(error.clone())]);
            let p = Resilient::with_clock(inner, policy(), clock.clone());
            assert_eq!(p.fetch_bars(&request(0, 60)).await.unwrap_err(), error);
            assert_eq!(p.inner().calls(), 1, "{error}");
            assert!(clock.sleeps().is_empty(), "{error}");
        }
    }

    #[tokio::test]
    async fn exhausted_retries_give_the_last_error_and_count_one_failed_call() {
        let clock = Arc::new(ManualClock::new());
        let inner = Scripted::new(vec![Err(status(500)), Err(status(501)), Err(status(502))]);
        let p = Resilient::with_clock(inner, policy(), clock);
        assert_eq!(
            p.fetch_bars(&request(0, 60)).await.unwrap_err(),
            status(502)
        );
        assert_eq!(p.inner().calls(), 3);
        let s = p.stats().circuit;
        assert_eq!((s.calls, s.failures, s.consecutive_failures), (1, 1, 1));
        assert_eq!(
            s.last_error.as_deref(),
            Some("the vendor answered HTTP 502: x")
        );
    }

    #[tokio::test]
    async fn the_breaker_opens_fails_fast_and_recovers_through_a_probe() {
        let clock = Arc::new(ManualClock::new());
        // Two calls of three failed attempts open the circuit; the first probe fails too.
        let answers = vec![Err(status(500)); 9];
        let p = Resilient::with_clock(Scripted::new(answers), policy(), clock.clone());
        for _ in 0..2 {
            assert!(p.fetch_bars(&request(0, 60)).await.is_err());
        }
        assert_eq!(p.circuit(), CircuitState::Open);
        assert_eq!(p.inner().calls(), 6);
        let e = p.fetch_bars(&request(0, 60)).await.unwrap_err();
        assert!(matches!(e, ProviderError::CircuitOpen { .. }), "{e}");
        assert_eq!(
            p.inner().calls(),
            6,
            "fail fast: the provider was not called"
        );

        clock.advance(Duration::from_secs(60));
        assert_eq!(p.circuit(), CircuitState::HalfOpen);
        // The probe is a call like any other (with its retries); it fails: open again.
        assert!(p.fetch_bars(&request(0, 60)).await.is_err());
        assert_eq!(p.circuit(), CircuitState::Open);

        clock.advance(Duration::from_secs(60));
        p.fetch_bars(&request(0, 60)).await.unwrap();
        assert_eq!(p.circuit(), CircuitState::Closed);
        let s = p.stats().circuit;
        assert_eq!(s.rejected, 1);
        assert!(s.last_success_at.is_some());
    }

    #[tokio::test]
    async fn answers_by_design_do_not_open_the_circuit() {
        let clock = Arc::new(ManualClock::new());
        let unknown = || Err(ProviderError::UnknownSymbol("NOPE".into()));
        let p = Resilient::with_clock(
            Scripted::new(vec![unknown(), unknown(), unknown()]),
            policy(),
            clock,
        );
        for _ in 0..3 {
            assert!(matches!(
                p.fetch_bars(&request(0, 60)).await,
                Err(ProviderError::UnknownSymbol(_))
            ));
        }
        assert_eq!(p.circuit(), CircuitState::Closed);
        assert_eq!(p.stats().circuit.failures, 0);
    }

    #[tokio::test]
    async fn each_piece_is_its_own_call_and_a_failed_piece_fails_the_request() {
        let clock = Arc::new(ManualClock::new());
        let mut inner = Scripted::new(vec![Ok(()), Err(status(500)), Ok(())]);
        inner.piece = 100;
        let p = Resilient::with_clock(inner, policy(), clock.clone());
        // Three pieces; the second fails once and is retried alone.
        let bars = p.fetch_bars(&request(0, 300)).await.unwrap();
        assert_eq!(bars.iter().map(Bar::ts).collect::<Vec<_>>(), [0, 100, 200]);
        assert_eq!(p.inner().calls(), 4);
        assert_eq!(p.stats().circuit.calls, 3);

        let mut inner = Scripted::new(vec![Ok(()), Err(status(404))]);
        inner.piece = 100;
        let p = Resilient::with_clock(inner, policy(), clock);
        assert_eq!(
            p.fetch_bars(&request(0, 300)).await.unwrap_err(),
            status(404)
        );
        assert_eq!(p.inner().calls(), 2, "the third piece was not asked for");
    }

    #[tokio::test]
    async fn a_hanging_call_times_out_and_is_retried() {
        let clock = Arc::new(ManualClock::new());
        let mut inner = Scripted::new(vec![]);
        inner.hang = true;
        let policy = ResiliencePolicy {
            timeout: Duration::from_millis(20),
            ..policy()
        };
        let p = Resilient::with_clock(inner, policy, clock);
        let e = p.fetch_bars(&request(0, 60)).await.unwrap_err();
        assert_eq!(
            e,
            ProviderError::Timeout {
                after: Duration::from_millis(20)
            }
        );
        assert_eq!(p.inner().calls(), 3);
        assert_eq!(p.stats().timeouts, 3);
    }

    #[tokio::test]
    async fn attempts_are_paced_by_the_rate_limit() {
        let clock = Arc::new(ManualClock::new());
        let mut inner = Scripted::new(vec![]);
        inner.piece = 60;
        let policy = ResiliencePolicy {
            requests_per_minute: NonZeroU32::new(30),
            ..policy()
        };
        let p = Resilient::with_clock(inner, policy, clock.clone());
        p.fetch_bars(&request(0, 240)).await.unwrap();
        // Four pieces at 30 a minute: one at once, then one every two seconds.
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(2); 3]);
        assert_eq!(p.stats().requests_per_minute, Some(30));
    }
}
