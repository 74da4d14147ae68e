//! Technical indicators over bar series for TradeAssist Historical Data.
//!
//! Pure functions, no I/O: the caller hands over bars (oldest first, any series the service
//! produces: aggregated timeframes, continuous futures, adjusted equities) and gets one
//! vector per indicator output, aligned 1:1 with the bars. A value is `None` where it is not
//! fully warmed or not a finite number; never a half-warmed number.
//!
//! - [`spec`]: [`IndicatorSpec`], its text form (`sma:20`, `macd:12:26:9`, `bb:20:2`, ...,
//!   defaults and bounds), [`parse_indicator_list`] and the warm-up contract
//!   ([`IndicatorSpec::warmup_bars`], [`IndicatorSpec::needs_session_start`]).
//! - [`series`]: [`compute`] with its [`Context`] (periods per year, session keys), the
//!   [`IndicatorSeries`] results and [`drop_warmup`].
//! - [`indicators`]: the indicators as functions over `f64` columns.
//! - [`rolling`]: rolling moments and extremes, seeded recursive smoothing.
//!
//! The warm-up contract: to answer a window, read [`max_warmup_bars`] bars before it (and
//! back to the session start when [`needs_session_start`]), compute over warm-up + window
//! and drop the warm-up rows actually read. Finite-window indicators are then exact;
//! recursive ones (EMA, MACD, Wilder's RSI/ATR/ADX) carry a seed weight below 1e-12, so they
//! equal the full-history values to about 1e-12 relative. With less history than the
//! warm-up, the first values are `None`.
//!
//! ```
//! use tradeassist_analytics::{compute, drop_warmup, max_warmup_bars, parse_indicator_list, Context};
//! use tradeassist_model::Bar;
//!
//! let bars: Vec<Bar> = (0..30)
//!     .map(|i| {
//!         let c = 100.0 + (i % 7) as f64;
//!         Bar::new(i * 86_400, c, c + 1.0, c - 1.0, c, 1_000.0).unwrap()
//!     })
//!     .collect();
//! let specs = parse_indicator_list("sma:5,bb:5:2,ret").unwrap();
//! let warmup = max_warmup_bars(&specs); // 4: sma:5 and bb:5 need the 4 bars before
//! let ctx = Context::new(252.0).unwrap();
//! let series = drop_warmup(compute(&specs, &bars, &ctx).unwrap(), warmup);
//! assert_eq!(series[0].name(), "sma:5");
//! assert_eq!(series[0].len(), 26);
//! assert!(series[1].outputs()[1].values().iter().all(|v| v.is_some())); // bb upper
//! ```

#![warn(missing_docs)]

pub mod indicators;
pub mod rolling;
pub mod series;
pub mod spec;

pub use series::{
    ComputeError, Context, FirstSession, IndicatorSeries, MAX_PERIODS_PER_YEAR, Output, compute,
    drop_warmup, max_warmup_bars, needs_session_start, session_start,
};
pub use spec::{
    IndicatorSpec, MAX_INDICATORS, MAX_MULTIPLIER, MAX_PERIOD, MacdParams, Multiplier, Period,
    SpecError, StochParams, parse_indicator_list,
};
