//! Domain types of TradeAssist Historical Data.
//!
//! Everything here is plain data with checked constructors; nothing does I/O, nothing is
//! async, nothing knows SQL or HTTP. Timestamps are UTC epoch **seconds** (`i64`), the start
//! of the interval a bar covers.
//!
//! ```
//! use tradeassist_model::{Bar, Timeframe};
//!
//! let tf: Timeframe = "15m".parse().unwrap();
//! assert_eq!(tf.to_string(), "15m");
//! let bar = Bar::new(0, 10.0, 11.0, 9.5, 10.5, 1200.0).unwrap();
//! assert_eq!(bar.high(), 11.0);
//! assert!(Bar::new(0, 10.0, 9.0, 9.5, 10.5, 1.0).is_err()); // high below open
//! ```

pub mod auth;
pub mod bar;
pub mod contract;
pub mod instrument;
pub mod names;
pub mod query;
pub mod roll;
pub mod session;
pub mod time;
pub mod timeframe;

pub use auth::{ApiToken, Role};
pub use bar::{Bar, BarError, Resolution};
pub use contract::{ContractError, ContractMonth, ContractSymbol};
pub use instrument::{AssetClass, FuturesContract, Instrument, InstrumentError, NewInstrument};
pub use names::OptionError;
pub use query::{DataSource, NewSavedQuery, QuerySpec, SavedQuery};
pub use roll::{
    Adjust, PriceAdjustment, RollAnchor, RollCycle, RollCycleError, RollPrice, RollRule,
    RollRuleError, RollRuleKind,
};
pub use session::SessionFilter;
pub use time::{
    Preset, RangeSpec, SeriesWindow, TimeBound, TimeRange, TimeRangeError, date_key,
    local_midnight, rfc3339,
};
pub use timeframe::{TimeUnit, Timeframe, TimeframeError};
