//! Time as the resilience layer and the Schwab client see it: a monotonic instant for
//! durations (cool-downs, token expiry, rate-limit pacing), the wall clock for reports and
//! vendor history limits, and sleeping. [`SystemClock`] is the real thing; [`ManualClock`]
//! only moves when told to (or when something sleeps on it), so tests of state transitions
//! and backoff never wait.
//!
//! ```
//! use std::time::Duration;
//! use tradeassist_providers::resilience::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let t0 = clock.now();
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(clock.now() - t0, Duration::from_secs(30));
//! ```

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

/// A source of time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic now, for durations.
    fn now(&self) -> Instant;
    /// Wall-clock now, UTC epoch milliseconds.
    fn unix_ms(&self) -> i64;
    /// Wait for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The operating system's clocks and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn unix_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: starts at the real time of its creation and moves only by
/// [`ManualClock::advance`] or by sleeping on it, which advances it at once and records the
/// duration ([`ManualClock::sleeps`]).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_unix_ms: i64,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            start_unix_ms: SystemClock.unix_ms(),
            state: Mutex::new(ManualState::default()),
        }
    }

    /// Move time forward.
    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// Every duration slept on this clock so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.lock().elapsed
    }
    fn unix_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.lock().elapsed.as_millis()).unwrap_or(i64::MAX);
        self.start_unix_ms.saturating_add(elapsed)
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let mut state = self.lock();
        state.elapsed += duration;
        state.sleeps.push(duration);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleeping_on_a_manual_clock_moves_it_without_waiting() {
        let clock = ManualClock::new();
        let (t0, w0) = (clock.now(), clock.unix_ms());
        clock.sleep(Duration::from_secs(3600)).await;
        clock.advance(Duration::from_millis(500));
        assert_eq!(clock.now() - t0, Duration::from_millis(3_600_500));
        assert_eq!(clock.unix_ms() - w0, 3_600_500);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(3600)]);
    }

    #[test]
    fn the_system_clock_is_near_the_epoch_now() {
        // 2020-01-01 .. 2100-01-01: the wall clock is read in milliseconds.
        let ms = SystemClock.unix_ms();
        assert!((1_577_836_800_000..4_102_444_800_000).contains(&ms), "{ms}");
    }
}
