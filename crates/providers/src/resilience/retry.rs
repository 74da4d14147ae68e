//! Retry policy: how many attempts a call gets and how long to wait between them.
//!
//! The wait before retry `n` (0-based) is drawn uniformly from `0..=min(max_delay,
//! base_delay * 2^n)` ("full jitter", so many clients that failed together do not come back
//! together). A vendor's `Retry-After` replaces the drawn wait, capped at `max_delay`.
//!
//! ```
//! use std::time::Duration;
//! use tradeassist_providers::resilience::RetryConfig;
//!
//! let retry = RetryConfig { max_attempts: 4, base_delay_ms: 250, max_delay_ms: 30_000 };
//! assert!(retry.backoff(2) <= Duration::from_millis(1_000));
//! assert_eq!(retry.delay(0, Some(Duration::from_secs(90))), Duration::from_secs(30));
//! ```

use std::time::Duration;

use serde::Deserialize;

/// `[providers.<name>.retry]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per call in total (1 = no retry). At least 1.
    pub max_attempts: u32,
    /// The backoff unit: retry `n` waits up to `base_delay_ms * 2^n`.
    pub base_delay_ms: u64,
    /// Cap of every wait, also of a vendor's `Retry-After`.
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 4,
            base_delay_ms: 250,
            max_delay_ms: 30_000,
        }
    }
}

impl RetryConfig {
    /// Attempts per call, at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The upper bound of the jittered wait before retry `retry` (0-based).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u64.checked_shl(retry.min(63)).unwrap_or(u64::MAX);
        let ms = self
            .base_delay_ms
            .saturating_mul(factor)
            .min(self.max_delay_ms);
        Duration::from_millis(ms)
    }

    /// A full-jitter wait before retry `retry`: uniform in `0..=backoff_ceiling(retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(retry).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ceiling))
    }

    /// The wait before retry `retry`: the vendor's `Retry-After` when it sent one (capped at
    /// `max_delay_ms`), else [`RetryConfig::backoff`].
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(Duration::from_millis(self.max_delay_ms)),
            None => self.backoff(retry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RetryConfig {
        RetryConfig {
            max_attempts: 4,
            base_delay_ms: 250,
            max_delay_ms: 30_000,
        }
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let c = config();
        let ceilings: Vec<u128> = (0..10).map(|n| c.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        // No overflow for absurd retry numbers or delays.
        assert_eq!(c.backoff_ceiling(u32::MAX), Duration::from_secs(30));
        let huge = RetryConfig {
            base_delay_ms: u64::MAX,
            max_delay_ms: u64::MAX,
            ..c
        };
        assert_eq!(huge.backoff_ceiling(5), Duration::from_millis(u64::MAX));
    }

    #[test]
    fn jittered_waits_stay_under_the_ceiling_and_spread_out() {
        let c = config();
        let waits: Vec<Duration> = (0..200).map(|_| c.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        // Full jitter: the draws are not all the same (200 equal draws of 0..=2000 ms would
        // have probability 2001^-199).
        assert!(waits.iter().any(|w| *w != waits[0]));
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let c = config();
        assert_eq!(
            c.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            c.delay(3, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
        assert!(c.delay(1, None) <= Duration::from_millis(500));
    }

    #[test]
    fn at_least_one_attempt() {
        let c = RetryConfig {
            max_attempts: 0,
            ..config()
        };
        assert_eq!(c.attempts(), 1);
        assert_eq!(config().attempts(), 4);
    }
}
