//! Resilience around any [`Provider`](crate::Provider): a circuit breaker
//! ([`breaker`]), retries with jittered exponential backoff ([`retry`]), a per-call timeout
//! and a client-side rate limit ([`rate_limit`]), composed by [`Resilient`]. Time comes from
//! an injectable [`Clock`], so every transition is tested without sleeping.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use tradeassist_providers::resilience::{ResiliencePolicy, Resilient};
//! # use tradeassist_providers::{BarRequest, Provider, ProviderError};
//! # use tradeassist_model::Bar;
//! # struct Vendor;
//! # #[async_trait::async_trait]
//! # impl Provider for Vendor {
//! #     fn name(&self) -> &str { "vendor" }
//! #     async fn fetch_bars(&self, _: &BarRequest) -> Result<Vec<Bar>, ProviderError> { Ok(vec![]) }
//! # }
//!
//! let policy = ResiliencePolicy {
//!     timeout: Duration::from_secs(10),
//!     requests_per_minute: NonZeroU32::new(120),
//!     ..ResiliencePolicy::default()
//! };
//! let provider = Resilient::new(Vendor, policy);
//! assert_eq!(provider.circuit().as_str(), "closed");
//! ```

pub mod breaker;
pub mod clock;
pub mod rate_limit;
pub mod resilient;
pub mod retry;

pub use breaker::{BreakerConfig, CircuitBreaker, CircuitState, CircuitStats, Permit};
pub use clock::{Clock, ManualClock, SystemClock};
pub use rate_limit::RateLimiter;
pub use resilient::{ResiliencePolicy, ResilienceStats, Resilient};
pub use retry::RetryConfig;
