//! Use cases of TradeAssist Historical Data. The server and the CLI call these; they in turn
//! call the store and the providers. Nothing here knows HTTP, JSON or argv.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tradeassist_service::{FetchRequest, Limits, Service};
//! use tradeassist_store::sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("/tmp/demo.db").await?;
//! let service = Service::new(Arc::new(store), Limits::default());
//! let input = tradeassist_service::FetchInput {
//!     symbols: vec!["AAPL".into()],
//!     frequency: "1w".into(),
//!     start: Some("2013-01-01".into()),
//!     end: Some("2013-12-31".into()),
//!     ..Default::default()
//! };
//! let request = FetchRequest::parse(&input, tradeassist_service::now())?;
//! let result = service.fetch(&request).await?;
//! println!("{} bars", result.series[0].bars.len());
//! # Ok(()) }
//! ```

pub mod bench;
mod continuous;
mod corporate;
mod error;
mod fetch;
mod gaps;
mod import;
mod live;
mod queries;
mod rollup;

use std::sync::Arc;

pub use continuous::{ContinuousInfo, ContinuousOverrides, ContractInfo, RollsResult};
pub use corporate::{FactorImportFile, FactorImportReport};
pub use error::ServiceError;
pub use fetch::{
    DeriveOptions, FetchInput, FetchRequest, FetchResult, FrequencyInfo, SeriesResult,
    default_session, frequencies, parse_resolution, parse_session, parse_symbols,
};
pub use gaps::GapResult;
pub use import::{ImportFile, ImportReport};
pub use live::{LiveUpdate, Subscription};
pub use rollup::{ROLLUP_TIMEFRAMES, RollupReport};
use tradeassist_model::{DataSource, Instrument};
use tradeassist_store::{InstrumentFilter, SeriesInfo, Store};

/// Request limits; larger results belong in streaming export or jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_symbols: usize,
    /// Derived bars per response, over all symbols.
    pub max_bars_per_response: usize,
    /// Stored base bars one series of a request may read.
    pub max_base_bars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_symbols: 20,
            max_bars_per_response: 500_000,
            max_base_bars: 5_000_000,
        }
    }
}

/// The application's use cases over one store.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    limits: Limits,
    live: Arc<live::LiveHub>,
}

/// An instrument with the extent of its stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentInfo {
    pub instrument: Instrument,
    pub series: Vec<SeriesInfo>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        Service {
            store,
            limits,
            live: Arc::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Instruments matching a filter.
    pub async fn instruments(
        &self,
        filter: &InstrumentFilter,
    ) -> Result<Vec<Instrument>, ServiceError> {
        Ok(self.store.search_instruments(filter).await?)
    }

    /// One instrument with its stored series, or `UnknownSymbol`.
    pub async fn instrument_info(&self, symbol: &str) -> Result<InstrumentInfo, ServiceError> {
        let instrument = self
            .store
            .instrument(symbol)
            .await?
            .ok_or_else(|| ServiceError::UnknownSymbols(vec![symbol.to_string()]))?;
        let series = self.store.series(instrument.id).await?;
        Ok(InstrumentInfo { instrument, series })
    }

    /// Read stored base bars, refusing (`TooLarge`) more than `budget` of them: the per-series
    /// limit `max_base_bars`, or what is left of it.
    pub(crate) async fn read_base(
        &self,
        query: tradeassist_store::BarQuery,
        budget: usize,
    ) -> Result<Vec<tradeassist_model::Bar>, ServiceError> {
        let bars = self
            .store
            .read_bars(tradeassist_store::BarQuery {
                max_rows: budget + 1,
                ..query
            })
            .await?;
        if bars.len() > budget {
            return Err(ServiceError::TooLarge(format!(
                "the range holds more than {} stored bars; narrow it or use export",
                self.limits.max_base_bars
            )));
        }
        Ok(bars)
    }

    /// A stored instrument and its trading calendar, or `UnknownSymbols`.
    pub(crate) async fn instrument_with_calendar(
        &self,
        symbol: &str,
    ) -> Result<(Instrument, &'static tradeassist_engine::Calendar), ServiceError> {
        let instrument = self
            .store
            .instrument(symbol)
            .await?
            .ok_or_else(|| ServiceError::UnknownSymbols(vec![symbol.to_string()]))?;
        let calendar = tradeassist_engine::Calendar::get(&instrument.calendar)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((instrument, calendar))
    }

    /// Configured data sources and their status.
    pub async fn sources(&self) -> Result<Vec<DataSource>, ServiceError> {
        Ok(self.store.data_sources().await?)
    }

    /// True when the store holds no instrument yet (first start).
    pub async fn is_empty(&self) -> Result<bool, ServiceError> {
        let one = InstrumentFilter {
            limit: Some(1),
            ..Default::default()
        };
        Ok(self.store.search_instruments(&one).await?.is_empty())
    }
}

/// Current time in UTC epoch seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
