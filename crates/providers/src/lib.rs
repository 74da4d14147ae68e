//! Sources of bars: file import ([`file`]), which turns vendor CSV files into checked domain
//! bars grouped per instrument and resolution; the [`Provider`] trait for sources that are
//! asked for a symbol and a range, with the Schwab price-history API ([`schwab`]); and
//! [`resilience`], which puts any provider behind a timeout, retries with jittered backoff,
//! a client-side rate limit and a circuit breaker.
//!
//! ```
//! use tradeassist_providers::file::{parse_csv, CsvOptions};
//!
//! let csv = "date,symbol,open,high,low,close,volume\n2013-01-02,AAPL,553.82,555,541.63,549.03,20018500\n";
//! let parsed = parse_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
//! assert_eq!(parsed.series[0].instrument.symbol, "AAPL");
//! assert_eq!(parsed.series[0].bars.len(), 1);
//! ```
//!
//! Every provider answers a [`BarRequest`] with the whole checked batch or a
//! [`ProviderError`], never a part of it.

pub mod file;
pub mod provider;
pub mod resilience;
pub mod schwab;

pub use provider::{BarRequest, DataProblem, Provider, ProviderError};
