//! Client-side pacing of vendor requests: `requests_per_minute`, spread evenly (one request
//! every `60 s / requests_per_minute`, no burst), so no minute ever sees more than the
//! vendor's budget however many tasks ask at once. A GCRA limiter from `governor`, driven by
//! our [`Clock`] so tests can pace without waiting.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tradeassist_providers::resilience::{ManualClock, RateLimiter};
//!
//! let clock = Arc::new(ManualClock::new());
//! let limiter = RateLimiter::per_minute(NonZeroU32::new(120).unwrap(), clock.clone());
//! assert!(limiter.try_acquire());
//! assert!(!limiter.try_acquire()); // the next request may go in 500 ms
//! clock.advance(Duration::from_millis(500));
//! assert!(limiter.try_acquire());
//! ```

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Gcra};

use super::clock::Clock;

/// Our clock as governor sees it: time since the limiter was made.
#[derive(Clone)]
struct Elapsed {
    clock: Arc<dyn Clock>,
    origin: Instant,
}

impl GovernorClock for Elapsed {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
}

/// Paces requests to a budget per minute.
pub struct RateLimiter {
    per_minute: NonZeroU32,
    clock: Elapsed,
    gcra: Gcra<NotKeyed, InMemoryState, Elapsed, NoOpMiddleware<Duration>>,
    /// When the permits of the last minute were granted (for the remaining budget).
    granted: std::sync::Mutex<std::collections::VecDeque<Duration>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_minute", &self.per_minute)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// At most `per_minute` requests a minute, evenly spaced.
    pub fn per_minute(per_minute: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let period = (Duration::from_secs(60) / per_minute.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(NonZeroU32::MIN);
        let clock = Elapsed {
            origin: clock.now(),
            clock,
        };
        RateLimiter {
            per_minute,
            gcra: Gcra::direct_with_clock(quota, clock.clone()),
            clock,
            granted: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Permits of the budget not used in the last minute.
    pub fn remaining_this_minute(&self) -> u32 {
        let mut granted = self.granted.lock().expect("rate limiter");
        self.forget_old(&mut granted);
        self.per_minute.get().saturating_sub(granted.len() as u32)
    }

    fn forget_old(&self, granted: &mut std::collections::VecDeque<Duration>) {
        let now = self.clock.now();
        while granted
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= Duration::from_secs(60))
        {
            granted.pop_front();
        }
    }

    fn record(&self) {
        let mut granted = self.granted.lock().expect("rate limiter");
        self.forget_old(&mut granted);
        granted.push_back(self.clock.now());
    }

    /// The budget.
    pub fn per_minute_budget(&self) -> NonZeroU32 {
        self.per_minute
    }

    /// Take a permit now if one is free.
    pub fn try_acquire(&self) -> bool {
        let ok = self.gcra.check().is_ok();
        if ok {
            self.record();
        }
        ok
    }

    /// Wait (on the clock) until a permit is free and take it; returns the time waited.
    pub async fn acquire(&self) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            match self.gcra.check() {
                Ok(()) => {
                    self.record();
                    return waited;
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    self.clock.clock.sleep(wait).await;
                    waited += wait;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::ManualClock;

    #[tokio::test]
    async fn the_remaining_budget_counts_the_permits_of_the_last_minute() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::per_minute(NonZeroU32::new(6).unwrap(), clock.clone());
        assert_eq!(limiter.remaining_this_minute(), 6);
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(limiter.remaining_this_minute(), 3);
        clock.advance(Duration::from_secs(61));
        assert_eq!(limiter.remaining_this_minute(), 6);
    }

    #[tokio::test]
    async fn requests_are_spaced_evenly_at_the_budget() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::per_minute(NonZeroU32::new(60).unwrap(), clock.clone());
        let t0 = clock.now();
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(limiter.acquire().await);
        }
        // The first goes at once, each next one a second after the one before.
        assert_eq!(
            waits,
            [0, 1, 1, 1, 1].map(Duration::from_secs).to_vec(),
            "waited"
        );
        assert_eq!(clock.now() - t0, Duration::from_secs(4));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 4]);
    }

    #[test]
    fn no_more_than_the_budget_in_any_minute() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::per_minute(NonZeroU32::new(120).unwrap(), clock.clone());
        // Ask every 100 ms for three minutes; count the permits granted per minute.
        let mut granted = [0u32; 3];
        for tick in 0..1_800 {
            if limiter.try_acquire() {
                granted[tick / 600] += 1;
            }
            clock.advance(Duration::from_millis(100));
        }
        assert_eq!(granted, [120, 120, 120]);
        assert_eq!(limiter.per_minute_budget().get(), 120);
    }

    #[test]
    fn an_idle_limiter_does_not_save_up_a_burst() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::per_minute(NonZeroU32::new(6).unwrap(), clock.clone());
        clock.advance(Duration::from_secs(3600));
        assert!(limiter.try_acquire());
        assert!(!limiter.try_acquire());
        clock.advance(Duration::from_secs(9));
        assert!(!limiter.try_acquire());
        clock.advance(Duration::from_secs(1));
        assert!(limiter.try_acquire());
    }
}
