//! Counting store reads by kind, so that the cache's effect is measurable (tests, `bench
//! serve`, the `tradeassist_store_bar_reads_total` metric); the service's
//! [`crate::metered::MeteredStore`] counts every call it forwards.

use std::sync::atomic::{AtomicU64, Ordering};

/// Reads made through the service's store so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreReads {
    /// Reads of bar data: bars, rollups, bar before, open interest, counts, factors, stored
    /// roll tables.
    pub bars: u64,
    /// Reads of metadata: instruments, series extents, saved queries, sources, backlog,
    /// change-log entries.
    pub metadata: u64,
    /// Change-log position checks ([`tradeassist_store::Store::change_seq`]; on SQLite a `PRAGMA data_version`).
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

    /// Count one call of the store operation `operation` (a [`Store`] method name).
    pub(crate) fn count(&self, operation: &str) {
        match operation {
            "read_bars" | "count_bars" | "bar_before" | "read_open_interest" | "read_rollups"
            | "factors" | "roll_history" => self.bar(),
            "instrument" | "search_instruments" | "series" | "saved_query"
            | "list_saved_queries" | "data_sources" | "rollup_backlog" | "changes_since"
            | "newest_bars" => self.meta(),
            "change_seq" => {
                self.change_checks.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
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
