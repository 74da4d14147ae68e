//! What a fetch returns: derived bars per series, with the continuous-futures extras.

use std::sync::Arc;

use tradeassist_engine::{
    AggBar, BarSpec, ContinuousSpec, ContinuousSymbol, RollDetail, RollEvent, SessionFilter,
    VwapSource,
};
use tradeassist_model::{Instrument, Resolution, SeriesWindow};

/// Derived bars of one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesResult {
    pub instrument: Instrument,
    pub bars_spec: BarSpec,
    /// The stored resolution the bars are derived from.
    pub base: Resolution,
    pub session: SessionFilter,
    pub window: SeriesWindow,
    pub vwap_source: VwapSource,
    pub bars: Vec<AggBar>,
    /// Number of stored base bars read.
    pub base_bars: usize,
    /// For continuous futures symbols: contracts per bar, roll table and warnings.
    pub continuous: Option<ContinuousInfo>,
}

/// Bars of every requested symbol, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResult {
    pub series: Vec<SeriesResult>,
}

/// What a continuous result carries beyond its bars.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousInfo {
    pub symbol: ContinuousSymbol,
    pub spec: ContinuousSpec,
    /// Contract of each output bar (of its last base bar), parallel to the bars.
    pub bar_contracts: Vec<Arc<str>>,
    /// Rolls that take effect inside the window.
    pub rolls: Vec<Roll>,
    pub warnings: Vec<String>,
}

/// One roll of a continuous series: its prices and adjustment, and what decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    pub event: RollEvent,
    pub detail: RollDetail,
}
