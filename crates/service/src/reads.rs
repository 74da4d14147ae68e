//! Counting store reads: the service wraps its store in [`CountingStore`], which forwards
//! every call and counts the reads by kind, so that the cache's effect is measurable (tests,
//! `bench serve`, the `tradeassist_store_bar_reads_total` metric).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tradeassist_model::{
    Bar, DataSource, Instrument, NewSavedQuery, Resolution, SavedQuery, TimeRange,
};
use tradeassist_store::{
    BarQuery, ChangeRecord, FactorRecord, FactorSet, IngestBatch, IngestMessage, IngestStats,
    InstrumentFilter, OpenInterestReading, Result, RollHistory, RollHistoryKey, RollupBacklog,
    RollupKey, RollupSet, RollupWrite, SeriesInfo, Store,
};

/// Reads made through the service's store so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreReads {
    /// Reads of bar data: bars, rollups, bar before, open interest, counts, factors, stored
    /// roll tables.
    pub bars: u64,
    /// Reads of metadata: instruments, series extents, saved queries, sources, backlog,
    /// change-log entries.
    pub metadata: u64,
    /// Change-log position checks ([`Store::change_seq`]; on SQLite a `PRAGMA data_version`).
    pub change_checks: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    bars: AtomicU64,
    metadata: AtomicU64,
    change_checks: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> StoreReads {
        StoreReads {
            bars: self.bars.load(Ordering::Relaxed),
            metadata: self.metadata.load(Ordering::Relaxed),
            change_checks: self.change_checks.load(Ordering::Relaxed),
        }
    }

    fn bar(&self) {
        self.bars.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tradeassist_store_bar_reads_total").increment(1);
    }

    fn meta(&self) {
        self.metadata.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tradeassist_store_metadata_reads_total").increment(1);
    }
}

/// A store that forwards everything to `inner` and counts the reads.
pub(crate) struct CountingStore {
    pub(crate) inner: Arc<dyn Store>,
    pub(crate) counters: Arc<Counters>,
}

#[async_trait]
impl Store for CountingStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ingest(&self, batch: IngestBatch) -> Result<IngestStats> {
        self.inner.ingest(batch).await
    }
    async fn ingest_stream(
        &self,
        source: String,
        chunks: tokio::sync::mpsc::Receiver<IngestMessage>,
    ) -> Result<IngestStats> {
        self.inner.ingest_stream(source, chunks).await
    }
    async fn instrument(&self, symbol: &str) -> Result<Option<Instrument>> {
        self.counters.meta();
        self.inner.instrument(symbol).await
    }
    async fn search_instruments(&self, filter: &InstrumentFilter) -> Result<Vec<Instrument>> {
        self.counters.meta();
        self.inner.search_instruments(filter).await
    }
    async fn series(&self, instrument_id: i64) -> Result<Vec<SeriesInfo>> {
        self.counters.meta();
        self.inner.series(instrument_id).await
    }
    async fn read_bars(&self, query: BarQuery) -> Result<Vec<Bar>> {
        self.counters.bar();
        self.inner.read_bars(query).await
    }
    async fn count_bars(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        range: TimeRange,
        cap: u64,
    ) -> Result<u64> {
        self.counters.bar();
        self.inner
            .count_bars(instrument_id, resolution, range, cap)
            .await
    }
    async fn bar_before(
        &self,
        instrument_id: i64,
        resolution: Resolution,
        ts: i64,
    ) -> Result<Option<Bar>> {
        self.counters.bar();
        self.inner.bar_before(instrument_id, resolution, ts).await
    }
    async fn read_open_interest(
        &self,
        instrument_id: i64,
        range: TimeRange,
    ) -> Result<Vec<OpenInterestReading>> {
        self.counters.bar();
        self.inner.read_open_interest(instrument_id, range).await
    }
    async fn create_saved_query(&self, query: NewSavedQuery, now: i64) -> Result<SavedQuery> {
        self.inner.create_saved_query(query, now).await
    }
    async fn saved_query(&self, id: i64) -> Result<Option<SavedQuery>> {
        self.counters.meta();
        self.inner.saved_query(id).await
    }
    async fn list_saved_queries(&self, search: Option<&str>) -> Result<Vec<SavedQuery>> {
        self.counters.meta();
        self.inner.list_saved_queries(search).await
    }
    async fn update_saved_query(
        &self,
        id: i64,
        query: NewSavedQuery,
        now: i64,
    ) -> Result<SavedQuery> {
        self.inner.update_saved_query(id, query, now).await
    }
    async fn delete_saved_query(&self, id: i64) -> Result<()> {
        self.inner.delete_saved_query(id).await
    }
    async fn mark_saved_query_run(&self, id: i64, now: i64) -> Result<()> {
        self.inner.mark_saved_query_run(id, now).await
    }
    async fn data_sources(&self) -> Result<Vec<DataSource>> {
        self.counters.meta();
        self.inner.data_sources().await
    }
    async fn rollup_backlog(&self) -> Result<Vec<RollupBacklog>> {
        self.counters.meta();
        self.inner.rollup_backlog().await
    }
    async fn write_rollups(&self, write: RollupWrite) -> Result<()> {
        self.inner.write_rollups(write).await
    }
    async fn read_rollups(
        &self,
        instrument_id: i64,
        key: &RollupKey,
        range: TimeRange,
    ) -> Result<RollupSet> {
        self.counters.bar();
        self.inner.read_rollups(instrument_id, key, range).await
    }
    async fn write_factors(&self, sets: Vec<FactorSet>) -> Result<u64> {
        self.inner.write_factors(sets).await
    }
    async fn factors(&self, instrument_id: i64) -> Result<Vec<FactorRecord>> {
        self.counters.bar();
        self.inner.factors(instrument_id).await
    }
    async fn roll_history(
        &self,
        key: &RollHistoryKey,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>> {
        self.counters.bar();
        self.inner.roll_history(key, fingerprint).await
    }
    async fn write_roll_history(&self, key: &RollHistoryKey, history: RollHistory) -> Result<()> {
        self.inner.write_roll_history(key, history).await
    }
    async fn change_seq(&self) -> Result<i64> {
        self.counters.change_checks.fetch_add(1, Ordering::Relaxed);
        self.inner.change_seq().await
    }
    async fn changes_since(&self, after: i64) -> Result<Vec<ChangeRecord>> {
        self.counters.meta();
        self.inner.changes_since(after).await
    }
    async fn schema_status(&self) -> Result<tradeassist_store::SchemaStatus> {
        self.inner.schema_status().await
    }
    async fn newest_bars(&self) -> Result<Vec<tradeassist_store::NewestBar>> {
        self.counters.meta();
        self.inner.newest_bars().await
    }
}
