//! The engine's error type.

use tradeassist_model::{Resolution, Timeframe};

/// Why the engine refused a request. The engine does no I/O, so every error is about input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// No calendar template has this id.
    #[error("unknown trading calendar `{0}`")]
    UnknownCalendar(String),
    /// The embedded calendar data file is malformed (a build defect, caught by tests).
    #[error("calendar data: {0}")]
    CalendarData(String),
    /// Base bars must be strictly increasing in time.
    #[error("base bars are not strictly increasing in time at index {index} (ts {ts})")]
    Unsorted { index: usize, ts: i64 },
    /// The timeframe cannot be derived from the base resolution.
    #[error("cannot derive {timeframe} bars from {base} base bars")]
    TimeframeNotDerivable {
        timeframe: Timeframe,
        base: Resolution,
    },
    /// A bar specification string (e.g. `volume:50000`) was malformed.
    #[error(
        "`{0}` is not a bar specification (a frequency like 5m, or volume:N, tick:N, dollar:N)"
    )]
    BadBarSpec(String),
    /// Filling would produce more bars than the caller allows
    /// ([`crate::Aggregator::fill_bounded`]).
    #[error("filling the range would produce {bars} bars, more than the {max} allowed")]
    TooManyBars { bars: u64, max: u64 },
    /// A numeric option outside its bounds; `option` names it (`origin`, `offset`).
    #[error("{option} {value} is out of range (allowed: {allowed})")]
    OutOfRange {
        option: &'static str,
        value: String,
        allowed: String,
    },
}
