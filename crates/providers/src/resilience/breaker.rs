//! A circuit breaker: closed, open, half-open.
//!
//! * **Closed**: every call is let through. `failure_threshold` consecutive failed calls open
//!   the circuit; a success resets the count.
//! * **Open**: calls are refused at once (no network), with the time left of the cool-down.
//!   After `cool_down_ms` the circuit is half-open.
//! * **Half-open**: up to `half_open_probes` trial calls are let through (the rest are refused
//!   while they run). `half_open_probes` successes close the circuit; one failure opens it
//!   again for a new cool-down.
//!
//! A call holds a [`Permit`] and settles it with [`Permit::success`] or [`Permit::failure`];
//! a permit dropped unsettled (the call was cancelled) only frees its trial slot. Outcomes of
//! calls admitted before the last state change are counted in the statistics but do not move
//! the state (a slow call from before the circuit opened cannot close it).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tradeassist_providers::resilience::{BreakerConfig, CircuitBreaker, CircuitState, ManualClock};
//!
//! let clock = Arc::new(ManualClock::new());
//! let config = BreakerConfig { failure_threshold: 2, cool_down_ms: 1_000, half_open_probes: 1 };
//! let breaker = CircuitBreaker::new(config, clock.clone());
//! breaker.acquire().unwrap().failure("HTTP 503");
//! breaker.acquire().unwrap().failure("HTTP 503");
//! assert_eq!(breaker.state(), CircuitState::Open);
//! assert_eq!(breaker.acquire().unwrap_err(), Duration::from_secs(1));
//! clock.advance(Duration::from_secs(1));
//! assert_eq!(breaker.state(), CircuitState::HalfOpen);
//! breaker.acquire().unwrap().success();
//! assert_eq!(breaker.state(), CircuitState::Closed);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::clock::Clock;

/// `[providers.<name>.breaker]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failed calls (after retries) that open the circuit. At least 1.
    pub failure_threshold: u32,
    /// How long the circuit stays open before trial calls are let through.
    pub cool_down_ms: u64,
    /// Successful trial calls that close the circuit again. At least 1.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down_ms: 30_000,
            half_open_probes: 1,
        }
    }
}

/// The state of a circuit, as reported in status and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open` or `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters and timestamps of a breaker, for status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitStats {
    pub state: CircuitState,
    /// Failures since the last success (closed state).
    pub consecutive_failures: u32,
    /// Calls let through.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Calls refused because the circuit was open (or its trial slots were taken).
    pub rejected: u64,
    /// Message of the last failure (never contains credentials: it is a provider error).
    pub last_error: Option<String>,
    /// Wall time of the last failure, UTC epoch milliseconds.
    pub last_error_at: Option<i64>,
    /// Wall time of the last success, UTC epoch milliseconds.
    pub last_success_at: Option<i64>,
    /// While open: time left of the cool-down.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { successes: u32, in_flight: u32 },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every change of phase; permits of older generations do not move the state.
    generation: u64,
    calls: u64,
    failures: u64,
    rejected: u64,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    last_success_at: Option<i64>,
}

/// A thread-safe circuit breaker on an injectable clock.
#[derive(Debug)]
pub struct CircuitBreaker {
    failure_threshold: u32,
    cool_down: Duration,
    half_open_probes: u32,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

enum Outcome<'e> {
    Success,
    Failure(&'e dyn fmt::Display),
    Cancelled,
}

impl CircuitBreaker {
    /// A closed breaker. Thresholds of zero count as one.
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        CircuitBreaker {
            failure_threshold: config.failure_threshold.max(1),
            cool_down: Duration::from_millis(config.cool_down_ms),
            half_open_probes: config.half_open_probes.max(1),
            clock,
            inner: Mutex::new(Inner {
                phase: Phase::Closed { failures: 0 },
                generation: 0,
                calls: 0,
                failures: 0,
                rejected: 0,
                last_error: None,
                last_error_at: None,
                last_success_at: None,
            }),
        }
    }

    /// Ask to make a call. `Err(retry_after)` while the circuit is open (the time left of the
    /// cool-down), or `Err(Duration::ZERO)` while half-open with every trial slot taken.
    pub fn acquire(&self) -> Result<Permit<'_>, Duration> {
        let now = self.clock.now();
        let mut inner = self.lock(now);
        let generation = inner.generation;
        let probe = match inner.phase {
            Phase::Closed { .. } => false,
            Phase::Open { until } => {
                inner.rejected += 1;
                return Err(until.saturating_duration_since(now));
            }
            Phase::HalfOpen {
                successes,
                in_flight,
            } => {
                if successes + in_flight >= self.half_open_probes {
                    inner.rejected += 1;
                    return Err(Duration::ZERO);
                }
                inner.phase = Phase::HalfOpen {
                    successes,
                    in_flight: in_flight + 1,
                };
                true
            }
        };
        inner.calls += 1;
        Ok(Permit {
            breaker: self,
            generation,
            probe,
            settled: false,
        })
    }

    /// The current state (an open circuit whose cool-down is over is half-open).
    pub fn state(&self) -> CircuitState {
        let now = self.clock.now();
        state_of(&self.lock(now).phase)
    }

    /// Counters, timestamps and state.
    pub fn stats(&self) -> CircuitStats {
        let now = self.clock.now();
        let inner = self.lock(now);
        CircuitStats {
            state: state_of(&inner.phase),
            consecutive_failures: match inner.phase {
                Phase::Closed { failures } => failures,
                _ => 0,
            },
            calls: inner.calls,
            failures: inner.failures,
            rejected: inner.rejected,
            last_error: inner.last_error.clone(),
            last_error_at: inner.last_error_at,
            last_success_at: inner.last_success_at,
            retry_after: match inner.phase {
                Phase::Open { until } => Some(until.saturating_duration_since(now)),
                _ => None,
            },
        }
    }

    /// The lock, with the time-driven transition (open -> half-open) applied.
    fn lock(&self, now: Instant) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Phase::Open { until } = inner.phase
            && now >= until
        {
            inner.phase = Phase::HalfOpen {
                successes: 0,
                in_flight: 0,
            };
            inner.generation += 1;
        }
        inner
    }

    /// Record the outcome of a permit; `Some(state)` when the state changed.
    fn settle(&self, generation: u64, probe: bool, outcome: Outcome<'_>) -> Option<CircuitState> {
        let now = self.clock.now();
        let wall = self.clock.unix_ms();
        let mut inner = self.lock(now);
        match outcome {
            Outcome::Success => inner.last_success_at = Some(wall),
            Outcome::Failure(error) => {
                inner.failures += 1;
                inner.last_error = Some(error.to_string());
                inner.last_error_at = Some(wall);
            }
            Outcome::Cancelled => {}
        }
        if generation != inner.generation {
            return None;
        }
        let next = match (inner.phase, outcome) {
            (Phase::Closed { .. }, Outcome::Success) => Phase::Closed { failures: 0 },
            (Phase::Closed { failures }, Outcome::Failure(_)) => {
                if failures + 1 >= self.failure_threshold {
                    Phase::Open {
                        until: now + self.cool_down,
                    }
                } else {
                    Phase::Closed {
                        failures: failures + 1,
                    }
                }
            }
            (
                Phase::HalfOpen {
                    successes,
                    in_flight,
                },
                Outcome::Success,
            ) if probe => {
                if successes + 1 >= self.half_open_probes {
                    Phase::Closed { failures: 0 }
                } else {
                    Phase::HalfOpen {
                        successes: successes + 1,
                        in_flight: in_flight.saturating_sub(1),
                    }
                }
            }
            (Phase::HalfOpen { .. }, Outcome::Failure(_)) if probe => Phase::Open {
                until: now + self.cool_down,
            },
            (
                Phase::HalfOpen {
                    successes,
                    in_flight,
                },
                Outcome::Cancelled,
            ) if probe => Phase::HalfOpen {
                successes,
                in_flight: in_flight.saturating_sub(1),
            },
            (phase, _) => phase,
        };
        let before = state_of(&inner.phase);
        let changed = std::mem::discriminant(&next) != std::mem::discriminant(&inner.phase);
        inner.phase = next;
        if changed {
            inner.generation += 1;
        }
        let after = state_of(&inner.phase);
        (before != after).then_some(after)
    }
}

fn state_of(phase: &Phase) -> CircuitState {
    match phase {
        Phase::Closed { .. } => CircuitState::Closed,
        Phase::Open { .. } => CircuitState::Open,
        Phase::HalfOpen { .. } => CircuitState::HalfOpen,
    }
}

/// Leave to make one call. Settle it with [`Permit::success`] or [`Permit::failure`];
/// dropping it unsettled means the call was cancelled.
#[must_use = "settle the permit with success() or failure()"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    settled: bool,
}

impl Permit<'_> {
    /// Whether this is a trial call of a half-open circuit.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded. `Some(state)` when that changed the circuit's state.
    pub fn success(mut self) -> Option<CircuitState> {
        self.settled = true;
        self.breaker
            .settle(self.generation, self.probe, Outcome::Success)
    }

    /// The call failed with `error`. `Some(state)` when that changed the circuit's state.
    pub fn failure(mut self, error: impl fmt::Display) -> Option<CircuitState> {
        self.settled = true;
        self.breaker
            .settle(self.generation, self.probe, Outcome::Failure(&error))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker
                .settle(self.generation, self.probe, Outcome::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::ManualClock;

    const COOL: Duration = Duration::from_secs(10);

    /// The observable state: phase plus its counters.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum S {
        /// Closed with this many consecutive failures.
        C(u32),
        /// Open, cool-down running.
        O,
        /// Half-open: (successes, trial calls in flight).
        H(u32, u32),
    }

    fn observe(b: &CircuitBreaker) -> S {
        let now = b.clock.now();
        match b.lock(now).phase {
            Phase::Closed { failures } => S::C(failures),
            Phase::Open { .. } => S::O,
            Phase::HalfOpen {
                successes,
                in_flight,
            } => S::H(successes, in_flight),
        }
    }

    /// Threshold 3, two trial calls, 10 s cool-down.
    fn breaker() -> (Arc<ManualClock>, CircuitBreaker) {
        let clock = Arc::new(ManualClock::new());
        let config = BreakerConfig {
            failure_threshold: 3,
            cool_down_ms: 10_000,
            half_open_probes: 2,
        };
        (clock.clone(), CircuitBreaker::new(config, clock))
    }

    fn fail(b: &CircuitBreaker) {
        b.acquire().unwrap().failure("boom");
    }

    fn open(b: &CircuitBreaker) {
        for _ in 0..3 {
            fail(b);
        }
        assert_eq!(observe(b), S::O);
    }

    fn half_open(clock: &ManualClock, b: &CircuitBreaker) {
        open(b);
        clock.advance(COOL);
        assert_eq!(observe(b), S::H(0, 0));
    }

    /// One event of a transition row.
    #[derive(Debug, Clone, Copy)]
    enum Event {
        /// Ask for a permit and expect to get one (kept while the new state is checked).
        Admit,
        /// Ask for a permit and expect to be refused.
        Refuse,
        /// Settle a permit of the start state (a trial call when half-open) as a success.
        Success,
        /// ... as a failure.
        Failure,
        /// ... by dropping it (the call was cancelled).
        Cancel,
    }

    /// Every (state, event) pair: the start state is reached through the public API, then the
    /// event happens and the new state is checked.
    #[test]
    fn transition_table() {
        use Event::*;
        let rows: &[(S, Event, S)] = &[
            (S::C(0), Admit, S::C(0)),
            (S::C(0), Success, S::C(0)),
            (S::C(0), Failure, S::C(1)),
            (S::C(0), Cancel, S::C(0)),
            (S::C(1), Admit, S::C(1)),
            (S::C(1), Success, S::C(0)),
            (S::C(1), Failure, S::C(2)),
            (S::C(1), Cancel, S::C(1)),
            (S::C(2), Admit, S::C(2)),
            (S::C(2), Success, S::C(0)),
            (S::C(2), Failure, S::O),
            (S::C(2), Cancel, S::C(2)),
            (S::O, Refuse, S::O),
            (S::H(0, 0), Admit, S::H(0, 1)),
            (S::H(0, 1), Admit, S::H(0, 2)),
            (S::H(0, 2), Refuse, S::H(0, 2)),
            (S::H(1, 0), Admit, S::H(1, 1)),
            (S::H(1, 1), Refuse, S::H(1, 1)),
            (S::H(0, 0), Success, S::H(1, 0)),
            (S::H(0, 0), Failure, S::O),
            (S::H(0, 0), Cancel, S::H(0, 0)),
            (S::H(0, 1), Success, S::H(1, 1)),
            (S::H(0, 1), Failure, S::O),
            (S::H(0, 1), Cancel, S::H(0, 1)),
            (S::H(1, 0), Success, S::C(0)),
            (S::H(1, 0), Failure, S::O),
            (S::H(1, 0), Cancel, S::H(1, 0)),
        ];
        for &(start, event, expected) in rows {
            let (clock, b) = breaker();
            let mut held = Vec::new();
            match start {
                S::C(n) => (0..n).for_each(|_| fail(&b)),
                S::O => open(&b),
                S::H(successes, in_flight) => {
                    half_open(&clock, &b);
                    for _ in 0..successes {
                        b.acquire().unwrap().success();
                    }
                    for _ in 0..in_flight {
                        held.push(b.acquire().unwrap());
                    }
                }
            }
            assert_eq!(observe(&b), start, "setup of {start:?}");
            let label = format!("{start:?} --{event:?}-->");
            match event {
                Admit => {
                    let p = b.acquire().expect(&label);
                    assert_eq!(p.is_probe(), matches!(start, S::H(..)), "{label}");
                    held.push(p);
                }
                Refuse => assert!(b.acquire().is_err(), "{label}"),
                Success => {
                    let _ = b.acquire().expect(&label).success();
                }
                Failure => {
                    let _ = b.acquire().expect(&label).failure("boom");
                }
                Cancel => drop(b.acquire().expect(&label)),
            }
            assert_eq!(observe(&b), expected, "{label}");
            drop(held);
        }
    }

    #[test]
    fn open_refuses_with_the_time_left_and_half_opens_after_the_cool_down() {
        let (clock, b) = breaker();
        open(&b);
        assert_eq!(b.acquire().unwrap_err(), COOL);
        clock.advance(Duration::from_secs(4));
        assert_eq!(b.acquire().unwrap_err(), Duration::from_secs(6));
        assert_eq!(b.state(), CircuitState::Open);
        assert_eq!(b.stats().retry_after, Some(Duration::from_secs(6)));
        clock.advance(Duration::from_secs(6));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        assert_eq!(b.stats().retry_after, None);
    }

    #[test]
    fn a_full_half_open_circuit_refuses_without_a_wait() {
        let (clock, b) = breaker();
        half_open(&clock, &b);
        let p1 = b.acquire().unwrap();
        let p2 = b.acquire().unwrap();
        assert_eq!(b.acquire().unwrap_err(), Duration::ZERO);
        assert_eq!(p1.success(), None);
        assert_eq!(p2.success(), Some(CircuitState::Closed));
        assert!(b.acquire().is_ok());
    }

    #[test]
    fn a_failed_trial_call_reopens_for_a_whole_new_cool_down() {
        let (clock, b) = breaker();
        half_open(&clock, &b);
        clock.advance(Duration::from_secs(100));
        assert_eq!(
            b.acquire().unwrap().failure("still down"),
            Some(CircuitState::Open)
        );
        assert_eq!(b.acquire().unwrap_err(), COOL);
    }

    #[test]
    fn late_outcomes_from_before_a_state_change_are_counted_but_do_not_move_the_state() {
        let (clock, b) = breaker();
        // A slow call admitted while closed finishes after the circuit opened.
        let slow_success = b.acquire().unwrap();
        let slow_failure = b.acquire().unwrap();
        open(&b);
        slow_success.success();
        assert_eq!(observe(&b), S::O);
        clock.advance(COOL);
        slow_failure.failure("late");
        assert_eq!(observe(&b), S::H(0, 0));
        let stats = b.stats();
        assert_eq!((stats.calls, stats.failures), (5, 4));
        assert_eq!(stats.last_error.as_deref(), Some("late"));

        // A trial call from an earlier half-open period cannot close the current one.
        let (clock, b) = breaker();
        half_open(&clock, &b);
        let old_probe = b.acquire().unwrap();
        b.acquire().unwrap().failure("down"); // reopens
        clock.advance(COOL);
        assert_eq!(observe(&b), S::H(0, 0));
        assert_eq!(old_probe.success(), None);
        assert_eq!(observe(&b), S::H(0, 0));

        // A failure admitted before the circuit opened and closed again does not count
        // toward opening it anew.
        let (clock, b) = breaker();
        let stale = b.acquire().unwrap();
        open(&b);
        clock.advance(COOL);
        b.acquire().unwrap().success();
        b.acquire().unwrap().success();
        assert_eq!(observe(&b), S::C(0));
        assert_eq!(stale.failure("from long ago"), None);
        assert_eq!(observe(&b), S::C(0));
    }

    #[test]
    fn counters_and_timestamps() {
        let (clock, b) = breaker();
        let t0 = clock.unix_ms();
        b.acquire().unwrap().success();
        clock.advance(Duration::from_secs(1));
        fail(&b);
        let s = b.stats();
        assert_eq!(s.state, CircuitState::Closed);
        assert_eq!((s.calls, s.failures, s.rejected), (2, 1, 0));
        assert_eq!(s.consecutive_failures, 1);
        assert_eq!(s.last_success_at, Some(t0));
        assert_eq!(s.last_error_at, Some(t0 + 1_000));
        assert_eq!(s.last_error.as_deref(), Some("boom"));
        fail(&b);
        fail(&b);
        assert!(b.acquire().is_err());
        assert!(b.acquire().is_err());
        let s = b.stats();
        assert_eq!((s.calls, s.failures, s.rejected), (4, 3, 2));
        assert_eq!(s.state.as_str(), "open");
    }

    #[test]
    fn zero_thresholds_count_as_one() {
        let clock = Arc::new(ManualClock::new());
        let config = BreakerConfig {
            failure_threshold: 0,
            cool_down_ms: 0,
            half_open_probes: 0,
        };
        let b = CircuitBreaker::new(config, clock);
        fail(&b);
        // A zero cool-down: open and at once half-open; one trial success closes it.
        assert_eq!(b.state(), CircuitState::HalfOpen);
        b.acquire().unwrap().success();
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[test]
    fn state_names() {
        let names: Vec<_> = [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(names, ["closed", "open", "half_open"]);
    }
}
