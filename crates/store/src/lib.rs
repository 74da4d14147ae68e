//! Persistence for TradeAssist: the [`Store`] trait and its backends, SQLite (embedded default)
//! and PostgreSQL (production), plus operator [`Maintenance`] (statistics, vacuum, retention,
//! Parquet archive). Both backends pass the same conformance suite (`tests/conformance.rs`).
//!
//! The trait speaks domain types only (`Bar`, `Instrument`, ...); rows are converted at this
//! edge, so no SQL leaks upward. Every write that takes a batch is atomic: it lands whole or
//! not at all. Upserts are idempotent: writing the same bars twice leaves the same rows.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeassist_store::StoreError> {
//! use tradeassist_store::{sqlite::SqliteStore, Store};
//! let store = SqliteStore::open("/tmp/demo.db").await?;
//! let found = store.search_instruments(&Default::default()).await?;
//! println!("{} instruments", found.len());
//! # Ok(()) }
//! ```

mod adjustments;
pub mod archive;
pub mod bench;
mod failpoint;
pub mod pool;
pub mod postgres;
mod rollup;
pub mod sqlite;

use std::path::Path;

pub use adjustments::{FactorRecord, FactorSet, RollHistory, RollHistoryKey, StoredRoll};
use async_trait::async_trait;
pub use pool::PoolOptions;
pub use rollup::{RollupBacklog, RollupKey, RollupRow, RollupSet, RollupSlice, RollupWrite};
use tradeassist_model::{
    ApiToken, AssetClass, Bar, DataSource, Instrument, NewInstrument, NewSavedQuery, Resolution,
    Role, SavedQuery, TimeRange,
};

/// What went wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique name is taken (e.g. a saved query name).
    #[error("{0}")]
    Conflict(String),
    /// The addressed record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A streamed ingest ended without its commit message (the producer failed): nothing of
    /// it was written.
    #[error("the ingest was abandoned before it finished; nothing was written")]
    Aborted,
    /// A row in the database violates a domain invariant.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database itself failed (I/O, SQL, connection) in a way we describe ourselves.
    #[error("database error: {0}")]
    Backend(String),
    /// SQLite answered with an error; the driver's error is the source.
    #[error("SQLite error")]
    Sqlite(#[source] rusqlite::Error),
    /// PostgreSQL (or the connection to it) failed; the driver's error is the source.
    #[error("PostgreSQL error")]
    Postgres(#[source] tokio_postgres::Error),
    /// No PostgreSQL connection could be taken from the pool.
    #[error("PostgreSQL connection pool error")]
    Pool(#[source] deadpool_postgres::PoolError),
    /// A file the store reads or writes (database directory, archive) failed.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// The database could not be reached (connection refused, lost or closed, no pool
    /// connection): a condition that passes, unlike a bad statement or a corrupt row.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Postgres(e) => {
                if e.is_closed() {
                    return true;
                }
                match e.as_db_error() {
                    // SQLSTATE class 08 (connection exception), 57P01..57P03 (shutdown,
                    // cannot connect now).
                    Some(db) => {
                        let code = db.code().code();
                        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
                    }
                    None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
                }
            }
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Bars of one instrument at one stored resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBatch {
    pub symbol: String,
    pub resolution: Resolution,
    pub bars: Vec<Bar>,
}

/// A stand-alone open-interest reading (a day with open interest but no traded bar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenInterestReading {
    pub ts: i64,
    pub value: f64,
}

/// Everything one import writes, applied in a single transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestBatch {
    /// Instruments to create when missing (existing ones keep their definition, except that an
    /// explicit last trade / first notice date fills in or replaces the stored one).
    pub instruments: Vec<NewInstrument>,
    pub series: Vec<SeriesBatch>,
    /// Open-interest-only readings per symbol (daily).
    pub open_interest: Vec<(String, Vec<OpenInterestReading>)>,
    /// Name of the data source credited with the write (its counters and last success update).
    pub source: String,
}

/// One message of a streamed ingest ([`Store::ingest_stream`]).
#[derive(Debug, Clone, PartialEq)]
pub enum IngestMessage {
    /// More of the ingest: instruments to create, bars and readings (its `source` is ignored).
    Chunk(IngestBatch),
    /// The producer has sent everything: commit.
    Commit,
}

/// Counts of what an ingest wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub instruments_created: u64,
    pub bars_written: u64,
    pub open_interest_written: u64,
}

/// A read of one stored series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarQuery {
    pub instrument_id: i64,
    pub resolution: Resolution,
    pub range: TimeRange,
    /// Only the last N bars of the range.
    pub last: Option<u32>,
    /// Read at most this many bars (the caller asks for one more than it allows to detect overflow).
    pub max_rows: usize,
}

/// Extent of one stored series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesInfo {
    pub resolution: Resolution,
    pub first_ts: i64,
    pub last_ts: i64,
    pub count: u64,
}

/// Applied and expected schema version of a store ([`Store::schema_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest migration recorded in the database.
    pub applied: i64,
    /// Highest migration this build knows (what opening the store migrates to).
    pub expected: i64,
}

impl SchemaStatus {
    /// Every migration of this build is applied, and none unknown to it.
    pub fn current(&self) -> bool {
        self.applied == self.expected
    }
}

/// The newest stored bar of one asset class ([`Store::newest_bars`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewestBar {
    pub asset_class: AssetClass,
    /// Interval start (UTC epoch seconds) of the newest stored base bar of the class.
    pub ts: i64,
}

/// Filter for instrument search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstrumentFilter {
    /// Case-insensitive match on symbol prefix or description substring.
    pub text: Option<String>,
    pub asset_class: Option<AssetClass>,
    pub limit: Option<u32>,
}

/// What kind of stored data one change-log entry touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Bars or open-interest readings written or deleted in the entry's range.
    Bars,
    /// The instrument's corporate-action factors were replaced.
    Factors,
    /// The instrument's definition changed (an explicit last trade / first notice date).
    Instrument,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Bars => "bars",
            ChangeKind::Factors => "factors",
            ChangeKind::Instrument => "instrument",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<ChangeKind> {
        match s {
            "bars" => Ok(ChangeKind::Bars),
            "factors" => Ok(ChangeKind::Factors),
            "instrument" => Ok(ChangeKind::Instrument),
            other => Err(StoreError::Corrupt(format!("unknown change kind {other}"))),
        }
    }
}

/// One entry of the change log: every ingest, factor import and delete appends entries in its
/// own transaction, so another process (a server following the log) learns exactly what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Position in the log: strictly increasing in commit order.
    pub seq: i64,
    pub instrument_id: i64,
    /// The futures root of the instrument (contracts only).
    pub root: Option<String>,
    pub kind: ChangeKind,
    /// First instant touched.
    pub first_ts: i64,
    /// End of the touched range (exclusive).
    pub end_ts: i64,
}

/// Most entries [`Store::changes_since`] returns at once.
pub const MAX_CHANGES_PER_READ: usize = 10_000;

/// The persistence boundary. Implementations: [`sqlite::SqliteStore`] (embedded default) and
/// [`postgres::PostgresStore`] (production).
/// An [`ApiToken`] from its stored columns (the role as text).
pub(crate) fn api_token(
    id: i64,
    name: String,
    role: &str,
    created_at: i64,
    revoked_at: Option<i64>,
) -> Result<ApiToken> {
    Ok(ApiToken {
        id,
        name,
        role: role.parse().map_err(StoreError::Backend)?,
        created_at,
        revoked_at,
    })
}

/// The conflict message of a saved-query name that is taken (both backends).
pub(crate) fn saved_query_taken(name: &str) -> String {
    format!("a saved query named `{name}` already exists")
}

/// Columns of a token row, in [`api_token`]'s order.
pub(crate) const TOKEN_COLUMNS: &str = "id, name, role, created_at, revoked_at";

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short backend name for logs and health output (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// The applied schema version next to the one this build expects. One cheap query:
    /// readiness uses it as the store's ping.
    async fn schema_status(&self) -> Result<SchemaStatus>;
    /// Newest stored base bar per asset class, from the series extents (`series_stats`, no
    /// scan of the bars); classes without bars are absent.
    async fn newest_bars(&self) -> Result<Vec<NewestBar>>;

    /// Apply an import atomically. Idempotent for identical input.
    async fn ingest(&self, batch: IngestBatch) -> Result<IngestStats>;
    /// Apply the chunks received on `chunks` in ONE transaction, committed when
    /// [`IngestMessage::Commit`] arrives. If the channel closes before that (the producer
    /// failed or gave up), everything is rolled back and the result is
    /// [`StoreError::Aborted`]. Memory stays bounded by the chunks in flight; later chunks
    /// overwrite earlier bars of the same time (the later row wins).
    async fn ingest_stream(
        &self,
        source: String,
        chunks: tokio::sync::mpsc::Receiver<IngestMessage>,
    ) -> Result<IngestStats>;

    async fn instrument(&self, symbol: &str) -> Result<Option<Instrument>>;
    async fn search_instruments(&self, filter: &InstrumentFilter) -> Result<Vec<Instrument>>;
    /// Stored series of an instrument, finest first.
    async fn series(&self, instrument_id: i64) -> Result<Vec<SeriesInfo>>;

    /// Bars of a series in ascending time order.
    async fn read_bars(&self, query: BarQuery) -> Result<Vec<Bar>>;
    /// Number of stored bars of a series in `range`, counting at most `cap + 1` (so a caller
    /// learns "more than `cap`" without scanning further).
    async fn count_bars(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        range: TimeRange,
        cap: u64,
    ) -> Result<u64>;
    /// The last bar strictly before `ts` (seeds gap filling).
    async fn bar_before(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        ts: i64,
    ) -> Result<Option<Bar>>;
    /// Open-interest-only readings in a range, ascending.
    async fn read_open_interest(
        &self,
        instrument_id: i64,
        range: TimeRange,
    ) -> Result<Vec<OpenInterestReading>>;

    async fn create_saved_query(&self, query: NewSavedQuery, now: i64) -> Result<SavedQuery>;
    async fn saved_query(&self, id: i64) -> Result<Option<SavedQuery>>;
    async fn list_saved_queries(&self, search: Option<&str>) -> Result<Vec<SavedQuery>>;
    async fn update_saved_query(
        &self,
        id: i64,
        query: NewSavedQuery,
        now: i64,
    ) -> Result<SavedQuery>;
    async fn delete_saved_query(&self, id: i64) -> Result<()>;
    async fn mark_saved_query_run(&self, id: i64, now: i64) -> Result<()>;

    async fn data_sources(&self) -> Result<Vec<DataSource>>;

    /// Store a new API token by the hash of its secret (hex SHA-256; the secret itself is
    /// never stored). `Conflict` when the hash exists.
    async fn create_token(
        &self,
        name: &str,
        role: Role,
        secret_hash: &str,
        now: i64,
    ) -> Result<ApiToken>;
    /// Every token, revoked ones included, by id.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revoke a token (idempotent for a revoked one); `NotFound` for an unknown id.
    async fn revoke_token(&self, id: i64, now: i64) -> Result<ApiToken>;
    /// The token whose secret hashes to `secret_hash`, revoked or not.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>>;

    /// Base-series ranges written by ingests whose rollups have not been refreshed yet, oldest
    /// first. Every ingest appends one entry per non-empty series in its own transaction, so
    /// a crash between an ingest and the rollup refresh leaves the entry behind.
    async fn rollup_backlog(&self) -> Result<Vec<RollupBacklog>>;
    /// Apply one refresh of an instrument's rollups atomically (see [`RollupWrite`]).
    async fn write_rollups(&self, write: RollupWrite) -> Result<()>;
    /// Rollup rows of `key` lying inside `range` (`start >= range.start`, `end <= range.end`),
    /// ascending, with the key's coverage and whether the base series has a backlog.
    async fn read_rollups(
        &self,
        instrument_id: i64,
        key: &RollupKey,
        range: TimeRange,
    ) -> Result<RollupSet>;

    /// Replace the corporate-action factors of every instrument in `sets`, all in one
    /// transaction: each instrument's stored rows become exactly the given ones. Unknown
    /// symbols fail with [`StoreError::NotFound`] and nothing is written. Returns the rows
    /// written.
    async fn write_factors(&self, sets: Vec<FactorSet>) -> Result<u64>;
    /// Corporate-action factors of an instrument, ascending by date (empty when none).
    async fn factors(&self, instrument_id: i64) -> Result<Vec<FactorRecord>>;

    /// The stored roll history of `key` if it was computed from inputs with `fingerprint`.
    async fn roll_history(
        &self,
        key: &RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>>;
    /// Store the roll history of `key` atomically, replacing any earlier one (of any
    /// fingerprint).
    async fn write_roll_history(&self, key: &RollHistoryKey, history: RollHistory) -> Result<()>;

    /// The newest change-log sequence number (0 for an empty log), also after writes by other
    /// processes. Cheap enough to ask before every cached request: SQLite answers from
    /// `PRAGMA data_version` on a dedicated connection and reads the log only when the file
    /// changed; PostgreSQL runs one index-only `max(seq)`.
    async fn change_seq(&self) -> Result<i64>;
    /// Change-log entries with `seq > after`, ascending, at most [`MAX_CHANGES_PER_READ`].
    async fn changes_since(&self, after: i64) -> Result<Vec<ChangeRecord>>;
}

/// Operator maintenance of a store (the `maintain` command). Separate from [`Store`] because
/// request handling never needs it.
#[async_trait]
pub trait Maintenance: Store {
    /// Refresh planner statistics.
    async fn analyze(&self) -> Result<()>;
    /// Reclaim space and refresh statistics (SQLite: `PRAGMA optimize` + `VACUUM`; PostgreSQL:
    /// `VACUUM (ANALYZE)`).
    async fn optimize(&self) -> Result<()>;
    /// Delete every bar with `ts < older_than`; returns how many were removed. PostgreSQL drops
    /// whole monthly partitions the cut covers.
    async fn retention(&self, older_than: i64) -> Result<u64>;
    /// Write every bar with `ts < before` to Parquet files in `dir` (see [`archive`]), then delete
    /// them, in one transaction: when writing fails nothing is deleted.
    async fn archive(&self, before: i64, dir: &Path) -> Result<archive::ArchiveReport>;
    /// Re-ingest the archive files of `dir`; returns the number of bars restored.
    async fn restore(&self, dir: &Path) -> Result<u64> {
        archive::restore(self, dir).await
    }
}
