//! Store metrics: [`MeteredStore`] wraps any [`Store`] and records, through the `metrics`
//! facade, the latency and outcome of every call, and the bars each ingest wrote. Without an
//! installed recorder (the CLI) the calls are no-ops.
//!
//! Series (see `docs/metrics.md`):
//! - `tradeassist_store_operation_duration_seconds{operation, outcome}` histogram; its
//!   `_count` is the number of calls per operation and outcome (`ok` | `error`);
//! - `tradeassist_ingest_bars_total{source}` counter of bars written by ingests;
//! - `tradeassist_import_duration_seconds{outcome}` histogram of whole imports (recorded by
//!   [`crate::Service::import_with_progress`]).
//!
//! ```
//! # use std::sync::Arc;
//! # async fn demo(store: Arc<dyn tradeassist_store::Store>) {
//! use tradeassist_service::metered::MeteredStore;
//! use tradeassist_store::Store;
//! let metered = MeteredStore::wrap(store);
//! assert_eq!(metered.backend(), metered.inner().backend());
//! # }
//! ```

use std::sync::Arc;
use std::time::Instant;

use crate::reads::Counters;
use async_trait::async_trait;
use tradeassist_model::{
    Bar, DataSource, Instrument, NewSavedQuery, Resolution, SavedQuery, TimeRange,
};
use tradeassist_store::{
    BarQuery, FactorRecord, FactorSet, IngestBatch, IngestMessage, IngestStats, InstrumentFilter,
    NewestBar, OpenInterestReading, Result, RollHistory, RollHistoryKey, RollupBacklog, RollupKey,
    RollupSet, RollupWrite, SchemaStatus, SeriesInfo, Store,
};

/// Histogram of store calls, labelled `operation` and `outcome`.
pub const STORE_DURATION: &str = "tradeassist_store_operation_duration_seconds";
/// Counter of bars written by ingests, labelled `source`.
pub const INGEST_BARS: &str = "tradeassist_ingest_bars_total";
/// Histogram of whole imports, labelled `outcome`.
pub const IMPORT_DURATION: &str = "tradeassist_import_duration_seconds";

/// A [`Store`] that measures every call of the store it wraps and counts its reads by kind
/// ([`crate::StoreReads`]).
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    reads: Arc<Counters>,
}

impl MeteredStore {
    /// Wrap `store`.
    pub fn wrap(store: Arc<dyn Store>) -> Arc<MeteredStore> {
        Self::counting(store, Arc::default())
    }

    /// Wrap `store`, counting its reads into `reads`.
    pub(crate) fn counting(store: Arc<dyn Store>, reads: Arc<Counters>) -> Arc<MeteredStore> {
        Arc::new(MeteredStore {
            inner: store,
            reads,
        })
    }

    /// Run `call`, counting it as a read of its kind and recording its latency.
    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        self.reads.count(operation);
        timed(operation, call).await
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }
}

fn outcome<T>(result: &Result<T>) -> &'static str {
    if result.is_ok() { "ok" } else { "error" }
}

/// Run `call`, recording its latency under `operation`.
async fn timed<T>(operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
    let started = Instant::now();
    let result = call.await;
    metrics::histogram!(STORE_DURATION, "operation" => operation, "outcome" => outcome(&result))
        .record(started.elapsed().as_secs_f64());
    result
}

fn count_ingested(source: &str, result: &Result<IngestStats>) {
    if let Ok(stats) = result {
        metrics::counter!(INGEST_BARS, "source" => source.to_string())
            .increment(stats.bars_written);
    }
}

#[async_trait]
impl Store for MeteredStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        self.timed("schema_status", self.inner.schema_status())
            .await
    }

    async fn newest_bars(&self) -> Result<Vec<NewestBar>> {
        self.timed("newest_bars", self.inner.newest_bars()).await
    }

    async fn create_token(
        &self,
        name: &str,
        role: tradeassist_model::Role,
        secret_hash: &str,
        now: i64,
    ) -> Result<tradeassist_model::ApiToken> {
        self.timed(
            "create_token",
            self.inner.create_token(name, role, secret_hash, now),
        )
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<tradeassist_model::ApiToken>> {
        self.timed("list_tokens", self.inner.list_tokens()).await
    }

    async fn revoke_token(&self, id: i64, now: i64) -> Result<tradeassist_model::ApiToken> {
        self.timed("revoke_token", self.inner.revoke_token(id, now))
            .await
    }

    async fn token_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<tradeassist_model::ApiToken>> {
        self.timed("token_by_hash", self.inner.token_by_hash(secret_hash))
            .await
    }

    async fn change_seq(&self) -> Result<i64> {
        self.timed("change_seq", self.inner.change_seq()).await
    }

    async fn changes_since(&self, after: i64) -> Result<Vec<tradeassist_store::ChangeRecord>> {
        self.timed("changes_since", self.inner.changes_since(after))
            .await
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<IngestStats> {
        let source = batch.source.clone();
        let result = self.timed("ingest", self.inner.ingest(batch)).await;
        count_ingested(&source, &result);
        result
    }

    async fn ingest_stream(
        &self,
        source: String,
        chunks: tokio::sync::mpsc::Receiver<IngestMessage>,
    ) -> Result<IngestStats> {
        let result = self
            .timed(
                "ingest_stream",
                self.inner.ingest_stream(source.clone(), chunks),
            )
            .await;
        count_ingested(&source, &result);
        result
    }

    async fn instrument(&self, symbol: &str) -> Result<Option<Instrument>> {
        self.timed("instrument", self.inner.instrument(symbol))
            .await
    }

    async fn search_instruments(&self, filter: &InstrumentFilter) -> Result<Vec<Instrument>> {
        self.timed("search_instruments", self.inner.search_instruments(filter))
            .await
    }

    async fn series(&self, instrument_id: i64) -> Result<Vec<SeriesInfo>> {
        self.timed("series", self.inner.series(instrument_id)).await
    }

    async fn read_bars(&self, query: BarQuery) -> Result<Vec<Bar>> {
        self.timed("read_bars", self.inner.read_bars(query)).await
    }

    async fn count_bars(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        range: TimeRange,
        cap: u64,
    ) -> Result<u64> {
        self.timed(
            "count_bars",
            self.inner.count_bars(instrument_id, resolution, range, cap),
        )
        .await
    }

    async fn bar_before(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        ts: i64,
    ) -> Result<Option<Bar>> {
        self.timed(
            "bar_before",
            self.inner.bar_before(instrument_id, resolution, ts),
        )
        .await
    }

    async fn read_open_interest(
        &self,
        instrument_id: i64,
        range: TimeRange,
    ) -> Result<Vec<OpenInterestReading>> {
        self.timed(
            "read_open_interest",
            self.inner.read_open_interest(instrument_id, range),
        )
        .await
    }

    async fn create_saved_query(&self, query: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        self.timed(
            "create_saved_query",
            self.inner.create_saved_query(query, now),
        )
        .await
    }

    async fn saved_query(&self, id: i64) -> Result<Option<SavedQuery>> {
        self.timed("saved_query", self.inner.saved_query(id)).await
    }

    async fn list_saved_queries(&self, search: Option<&str>) -> Result<Vec<SavedQuery>> {
        self.timed("list_saved_queries", self.inner.list_saved_queries(search))
            .await
    }

    async fn update_saved_query(
        &self,
        id: i64,
        query: NewSavedQuery,
        now: i64,
    ) -> Result<SavedQuery> {
        self.timed(
            "update_saved_query",
            self.inner.update_saved_query(id, query, now),
        )
        .await
    }

    async fn delete_saved_query(&self, id: i64) -> Result<()> {
        self.timed("delete_saved_query", self.inner.delete_saved_query(id))
            .await
    }

    async fn mark_saved_query_run(&self, id: i64, now: i64) -> Result<()> {
        self.timed(
            "mark_saved_query_run",
            self.inner.mark_saved_query_run(id, now),
        )
        .await
    }

    async fn data_sources(&self) -> Result<Vec<DataSource>> {
        self.timed("data_sources", self.inner.data_sources()).await
    }

    async fn rollup_backlog(&self) -> Result<Vec<RollupBacklog>> {
        self.timed("rollup_backlog", self.inner.rollup_backlog())
            .await
    }

    async fn write_rollups(&self, write: RollupWrite) -> Result<()> {
        self.timed("write_rollups", self.inner.write_rollups(write))
            .await
    }

    async fn read_rollups(
        &self,
        instrument_id: i64,
        key: &RollupKey,
        range: TimeRange,
    ) -> Result<RollupSet> {
        self.timed(
            "read_rollups",
            self.inner.read_rollups(instrument_id, key, range),
        )
        .await
    }

    async fn write_factors(&self, sets: Vec<FactorSet>) -> Result<u64> {
        self.timed("write_factors", self.inner.write_factors(sets))
            .await
    }

    async fn factors(&self, instrument_id: i64) -> Result<Vec<FactorRecord>> {
        self.timed("factors", self.inner.factors(instrument_id))
            .await
    }

    async fn roll_history(
        &self,
        key: &RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>> {
        self.timed("roll_history", self.inner.roll_history(key, fingerprint))
            .await
    }

    async fn write_roll_history(&self, key: &RollHistoryKey, history: RollHistory) -> Result<()> {
        self.timed(
            "write_roll_history",
            self.inner.write_roll_history(key, history),
        )
        .await
    }
}
