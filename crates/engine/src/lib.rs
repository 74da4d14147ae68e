//! The aggregation engine of TradeAssist Historical Data: pure functions over base bars.
//!
//! It turns a stored base series (1-minute or 1-day [`Bar`]s of one instrument, strictly
//! increasing `ts`) into any [`Timeframe`] following the instrument's trading calendar, with
//! VWAP, completeness flags, gap detection, gap filling, activity bars and an incremental
//! path for live data. It does no I/O, is not async and knows nothing about SQL, HTTP or
//! JSON; every error is an [`EngineError`] about its input.
//!
//! - [`calendar`]: trading sessions as data (`calendars.toml`, embedded) + rule interpreter.
//! - [`aggregate`]: the batch path ([`Aggregator::aggregate`]) and its output ([`AggBar`]);
//!   [`Aggregator::bucket_count`] says how many bars a fill would produce, from the calendar
//!   alone, before anything is built.
//! - [`columns`]: [`BarColumns`], a checked columnar base series for
//!   [`Aggregator::aggregate_columns`] (same bars, less memory traffic).
//! - [`gaps`]: [`detect_gaps_bounded`] against the calendar (exact counts, at most a chosen
//!   number of gap spans), [`expected_slots`] and [`Aggregator::fill`].
//! - [`incremental`]: [`IncrementalAggregator`], bar by bar, same bars as the batch path.
//! - [`activity`]: volume, tick-count and dollar-value bars ([`BarSpec`] parses them).
//! - [`expiry`]: futures expiry rules and default roll cycles as data (`expiry_rules.toml`,
//!   embedded) ([`ExpiryRules`]).
//! - [`continuous`]: continuous futures with roll rules, roll cycles, grace windows, skipping
//!   to the most active contract and adjustments ([`ContinuousBuilder`]).
//! - [`corporate`]: equity factor files and split / dividend adjustment ([`adjust_equity_bars`]).
//!
//! Bounds that hold everywhere: no input makes the engine panic. Numeric options have
//! documented limits ([`MAX_ROLL_OFFSET`], [`MAX_RANK`], [`MAX_GRACE_SESSIONS`],
//! [`MAX_FIXED_DATES`], [`MAX_CLOCK_OFFSET`]; timeframe counts and presets are bounded in
//! the model) and out-of-range values are errors naming the option. Walks over a time range
//! visit only the supported span 1900-01-01..2100-12-31 (about 73,000 days), so their work is
//! bounded whatever the range. The option enums a request names (session filter, label,
//! fill, alignment, roll rule, anchor, roll price, futures and equity adjustment,
//! resolution) parse and print with one name table each ([`tradeassist_model::names`]).
//!
//! ```
//! use tradeassist_engine::{AggSpec, Aggregator, Calendar, SessionFilter, VwapSource};
//! use tradeassist_model::{Bar, Resolution};
//!
//! // Two days of SPY-like minute bars, 04:00-20:00 ET, aggregated to regular-hours days.
//! let cal = Calendar::get("us_equity").unwrap();
//! let mut bars = Vec::new();
//! for day_start in [1_381_132_800, 1_381_219_200] { // 2013-10-07 and 08, 04:00 ET
//!     for i in 0..960 {
//!         let p = 100.0 + i as f64 / 100.0;
//!         bars.push(Bar::new(day_start + 60 * i, p, p + 0.05, p - 0.05, p, 10.0).unwrap());
//!     }
//! }
//! let mut spec = AggSpec::new("1d".parse().unwrap());
//! spec.sessions = SessionFilter::Regular;
//! let daily = Aggregator::new(cal, Resolution::Minute, spec).unwrap().aggregate(&bars, None).unwrap();
//! assert_eq!(daily.bars.len(), 2);
//! let day = &daily.bars[0];
//! assert_eq!(day.count, 390); // 09:30-16:00
//! assert_eq!(day.ohlc.unwrap().open, 100.0 + 330.0 / 100.0); // the 09:30 bar
//! assert_eq!(day.date.unwrap().to_string(), "2013-10-07");
//! assert_eq!(daily.vwap_source, VwapSource::TypicalPrice);
//! ```
//!
//! [`Bar`]: tradeassist_model::Bar
//! [`Timeframe`]: tradeassist_model::Timeframe

pub mod activity;
pub mod aggregate;
pub mod calendar;
pub mod columns;
pub mod continuous;
pub mod corporate;
mod error;
pub mod expiry;
pub mod gaps;
pub mod incremental;

pub use activity::{Activity, BarSpec, activity_bars};
pub use aggregate::{
    AggBar, AggSpec, Aggregation, Aggregator, Align, AlignKind, Bucket, FillKind, Label,
    MAX_CLOCK_OFFSET, Ohlc, VwapSource, vwap_source,
};
pub use calendar::{Calendar, Session, SessionFilter};
pub use columns::{BarColumns, ColumnsError};
pub use continuous::{
    Adjust, Adjustment, ContinuousBar, ContinuousBuilder, ContinuousError, ContinuousSeries,
    ContinuousSpec, ContinuousSymbol, ContinuousWarning, ContractData, DEFAULT_GRACE_SESSIONS,
    DailyStat, DecodeError, GraceWindow, MAX_FIXED_DATES, MAX_GRACE_SESSIONS, MAX_RANK,
    MAX_ROLL_OFFSET, RollAnchor, RollCycle, RollDetail, RollEvent, RollPrice, RollRule,
    RollRuleKind, RollTrigger, Segment, apply_cumulative, daily_stats, segment_adjustments,
};
pub use corporate::{CorporateError, FactorFile, FactorRow, PriceAdjustment, adjust_equity_bars};
pub use error::EngineError;
pub use expiry::{ContractDates, DateSource, ExpiryError, ExpiryRules, ProductRule};
pub use gaps::{FillMethod, Gap, GapReport, detect_gaps, detect_gaps_bounded, expected_slots};
pub use incremental::{IncrementalAggregator, Update, UpdateKind};
