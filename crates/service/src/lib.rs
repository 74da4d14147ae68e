//! Use cases of TradeAssist Historical Data. The server and the CLI call these; they in turn
//! call the store and the providers. Nothing here knows HTTP or argv; JSON appears only as
//! the stored form of saved queries.
//!
//! Every bar request is one typed [`Query`]; [`Service::plan`] resolves it (symbols,
//! defaults, windows, work estimates) and [`Service::execute`] runs the plan.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tradeassist_service::{Limits, Query, Service};
//! use tradeassist_store::sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("/tmp/demo.db").await?;
//! let service = Service::new(Arc::new(store), Limits::default());
//! let query: Query = "symbols=AAPL&frequency=1w&start=2013-01-01&end=2013-12-31".parse()?;
//! let result = service.fetch(&query, tradeassist_service::now()).await?;
//! println!("{} bars", result.series[0].bars.len());
//! # Ok(()) }
//! ```

mod analytics;
mod backfill;
pub mod bench;
mod cached;
mod continuous;
mod corporate;
mod derive;
mod error;
mod export;
mod fetch;
mod gaps;
pub mod health;
mod import;
mod live;
pub mod metered;
mod plan;
mod progress;
mod queries;
pub mod query;
mod reads;
mod replay;
mod resolve;
mod result;
mod rollup;
mod tokens;
mod warm;

use std::sync::Arc;

pub use analytics::{IndicatorQuery, IndicatorResult};
pub use backfill::{
    BackfillProgress, BackfillReport, BackfillRequest, JOIN_GAPS, SourceProvider, Staleness,
    SymbolBackfill,
};
pub use cached::{CacheSettings, CacheStats, Encoded, Encoder};
pub use continuous::{ContractInfo, RollsResult};
pub use corporate::{FactorImportFile, FactorImportReport};
pub use derive::{FrequencyInfo, default_session, frequencies};
pub use error::{ServiceError, error_chain};
pub use export::{EXPORT_PIECE_BARS, Export, ExportChunk, ExportSeries};
pub use gaps::{GapQuery, GapResult, MAX_GAPS_LISTED};
pub use import::{ImportFile, ImportProgress, ImportReport};
pub use live::{BaseBar, LiveUpdate, Subscription};
pub use plan::Plan;
pub use queries::{SavedEntry, SavedQueryInput};
pub use query::{AdjustRequest, AlignKind, CanonicalQuery, Query, QueryOptions, RollOptions};
pub use reads::StoreReads;
pub use replay::{Replay, ReplayReport, ReplaySpec, parse_speed};
pub use result::{ContinuousInfo, FetchResult, Roll, SeriesResult};
pub use rollup::{ROLLUP_TIMEFRAMES, RollupReport};
pub use tokens::{TOKEN_PREFIX, token_hash};
pub use tradeassist_cache as cache;
use tradeassist_model::Instrument;
use tradeassist_store::{InstrumentFilter, NewestBar, SeriesInfo, Store};
pub use warm::WarmReport;

/// Longest instrument search text.
pub const MAX_SEARCH_TEXT: usize = 64;

/// Request limits; larger results belong in streaming export or jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_symbols: usize,
    /// Derived bars per response, over all symbols.
    pub max_bars_per_response: usize,
    /// Stored base bars one request may read (over all its series).
    pub max_base_bars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_symbols: 20,
            max_bars_per_response: 250_000,
            max_base_bars: 1_500_000,
        }
    }
}

/// The application's use cases over one store.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    limits: Limits,
    live: Arc<live::LiveHub>,
    redis: Option<Arc<health::RedisProbe>>,
    reads: Arc<reads::Counters>,
    cache: Option<Arc<cached::CacheLayer>>,
    provider: Option<Arc<dyn backfill::SourceProvider>>,
}

/// An instrument with the extent of its stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentInfo {
    pub instrument: Instrument,
    pub series: Vec<SeriesInfo>,
}

impl Service {
    /// The use cases over `store`, which they wrap to count reads (see
    /// [`Service::store_reads`]) and measure every call ([`metered::MeteredStore`]; a no-op
    /// without a metrics recorder); without a response cache (see [`Service::with_cache`]).
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        let reads = Arc::new(reads::Counters::default());
        Service {
            store: metered::MeteredStore::counting(store, reads.clone()),
            limits,
            live: Arc::default(),
            redis: None,
            reads,
            cache: None,
            provider: None,
        }
    }

    /// Also report the Redis server behind `probe` in [`Service::readiness`].
    pub fn with_redis(mut self, probe: health::RedisProbe) -> Self {
        self.redis = Some(Arc::new(probe));
        self
    }

    /// Newest stored base bar per asset class (from the series extents; cheap).
    pub async fn newest_bars(&self) -> Result<Vec<NewestBar>, ServiceError> {
        Ok(self.store.newest_bars().await?)
    }

    /// The store reads this service (and its clones) made so far.
    pub fn store_reads(&self) -> StoreReads {
        self.reads.snapshot()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Instruments matching a filter; the search text is bounded (at most 64 characters).
    pub async fn instruments(
        &self,
        filter: &InstrumentFilter,
    ) -> Result<Vec<Instrument>, ServiceError> {
        if let Some(text) = &filter.text
            && text.trim().chars().count() > MAX_SEARCH_TEXT
        {
            return Err(ServiceError::invalid(
                "search",
                format!("search text of at most {MAX_SEARCH_TEXT} characters"),
            ));
        }
        if let Some(limit) = filter.limit
            && !(1..=1000).contains(&limit)
        {
            return Err(ServiceError::invalid(
                "limit",
                "limit must be between 1 and 1000",
            ));
        }
        Ok(self.store.search_instruments(filter).await?)
    }

    /// One instrument (any spelling of its symbol) with its stored series.
    pub async fn instrument_info(&self, symbol: &str) -> Result<InstrumentInfo, ServiceError> {
        let instrument = self.resolve_instrument(symbol).await?;
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
                max_rows: budget.saturating_add(1),
                ..query
            })
            .await?;
        if bars.len() > budget {
            return Err(ServiceError::TooLarge(format!(
                "the request reads more than {} stored bars; narrow the range or use export",
                self.limits.max_base_bars
            )));
        }
        Ok(bars)
    }

    /// A stored instrument (any spelling of its symbol) and its trading calendar.
    pub(crate) async fn instrument_with_calendar(
        &self,
        symbol: &str,
    ) -> Result<(Instrument, &'static tradeassist_engine::Calendar), ServiceError> {
        let instrument = self.resolve_instrument(symbol).await?;
        let calendar = resolve::calendar_of(&instrument)?;
        Ok((instrument, calendar))
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
