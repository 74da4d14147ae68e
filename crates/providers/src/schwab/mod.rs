//! The Schwab market-data price-history API as a [`Provider`](crate::Provider):
//! OAuth2 token refresh ([`SchwabClient`]), windows the API serves and the ~48-day minute
//! history limit ([`history`]), symbol mapping ([`to_schwab`], [`from_schwab`]), checked
//! candles, and [`resilient`] to put it behind timeout, retries, rate limit and breaker.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeassist_providers::ProviderError> {
//! use tradeassist_model::{AssetClass, Resolution, TimeRange};
//! use tradeassist_providers::{BarRequest, Provider, schwab};
//!
//! let config = schwab::SchwabConfig {
//!     enabled: true,
//!     client_id: "app-key".into(),
//!     client_secret: "app-secret".into(),
//!     refresh_token: "refresh-token".into(),
//!     ..schwab::SchwabConfig::default()
//! };
//! let provider = schwab::resilient(&config)?;
//! let day = TimeRange::new(1_735_689_600, 1_735_776_000).unwrap();
//! let request = BarRequest::new("ESH25", AssetClass::Future, Resolution::Minute, day);
//! let bars = provider.fetch_bars(&request).await?;
//! println!("{} bars, circuit {}", bars.len(), provider.circuit());
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
#[cfg(feature = "fake")]
pub mod fake;
pub mod history;
pub mod symbol;

use std::sync::Arc;

pub use client::SchwabClient;
pub use config::{DEFAULT_BASE_URL, SchwabConfig, Secret};
pub use symbol::{from_schwab, from_schwab_on, to_schwab, to_schwab_on};

use crate::provider::ProviderError;
use crate::resilience::{Clock, Resilient, SystemClock};

/// A Schwab client behind the resilience layer configured by `config` (timeout, rate
/// limit, retries, breaker).
pub fn resilient(config: &SchwabConfig) -> Result<Resilient<SchwabClient>, ProviderError> {
    resilient_with_clock(config, Arc::new(SystemClock))
}

/// [`resilient`] on `clock` (token expiry, history limit, backoff, pacing, cool-down).
pub fn resilient_with_clock(
    config: &SchwabConfig,
    clock: Arc<dyn Clock>,
) -> Result<Resilient<SchwabClient>, ProviderError> {
    let client = SchwabClient::with_clock(config, clock.clone())?;
    Ok(Resilient::with_clock(
        client,
        config.resilience_policy(),
        clock,
    ))
}
