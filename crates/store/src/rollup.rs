//! Materialized higher-timeframe bars ("rollups") as plain rows.
//!
//! The store keeps them and knows nothing about how they are computed: the service aggregates
//! base bars with the engine and hands the store finished rows ([`RollupRow`]) keyed by a
//! typed [`RollupKey`]. What the store guarantees:
//!
//! - **Backlog.** Every ingest records, in its own transaction, the `[first, last]` range of
//!   each series it wrote ([`RollupBacklog`]). A crash between an ingest and the refresh of its
//!   rollups therefore cannot go unnoticed: readers see `pending` and fall back to base bars.
//! - **Atomic refresh.** [`RollupWrite`] replaces the rows of whole ranges, moves coverage
//!   marks and resolves backlog entries in one transaction.
//! - **Retention.** Deleting or archiving bars before a cut also deletes every rollup row
//!   starting before the cut (a row that straddles the cut no longer matches its bars).

use chrono::NaiveDate;
use tradeassist_model::{Resolution, SessionFilter, TimeRange, Timeframe};

/// Identifies one rollup series of an instrument.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    /// The stored resolution the rows are derived from.
    pub base: Resolution,
    /// The rollup's timeframe, e.g. `1h`, `1d`.
    pub timeframe: Timeframe,
    /// The sessions the rows aggregate.
    pub sessions: SessionFilter,
}

impl RollupKey {
    /// The key's stored columns `(timeframe, sessions)`: the timeframe's label (`1 hour`, the
    /// form databases written so far hold) and the
    /// session filter's name (`regular`).
    pub fn columns(&self) -> (String, &'static str) {
        (self.timeframe.label(), self.sessions.as_str())
    }
}

/// One materialized bucket `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollupRow {
    pub start: i64,
    pub end: i64,
    /// Trading day of day-and-longer buckets.
    pub date: Option<NaiveDate>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub open_interest: Option<f64>,
    /// VWAP from typical prices; `None` when the volume is zero.
    pub vwap_typical: Option<f64>,
    /// VWAP from vendor prices; only meaningful when `all_vendor`.
    pub vwap_vendor: Option<f64>,
    /// Every base bar of the bucket carried a vendor VWAP.
    pub all_vendor: bool,
    /// Number of base bars aggregated.
    pub count: u32,
    /// Timestamp of the last base bar aggregated.
    pub last_ts: i64,
}

/// Rows of one key in a range, and how far they can be trusted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupSet {
    /// Rows exist for every bucket with data that ends at or before this instant (except
    /// that rows before the first one may have been removed by retention). `None`: never
    /// refreshed.
    pub covered_until: Option<i64>,
    /// The base series has unresolved [`RollupBacklog`] entries: rows may be stale.
    pub pending: bool,
    pub rows: Vec<RollupRow>,
}

/// Replace the rows of one key inside a range.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupSlice {
    pub key: RollupKey,
    /// Existing rows with `start >= replace.start` and `end <= replace.end` are deleted;
    /// every row of `rows` must lie in this range too.
    pub replace: TimeRange,
    /// Ascending by `start`, no duplicates.
    pub rows: Vec<RollupRow>,
    /// New coverage mark of the key (see [`RollupSet::covered_until`]).
    pub covered_until: i64,
}

/// One atomic refresh of an instrument's rollups. Fails with [`crate::StoreError::Conflict`]
/// and writes nothing when an entry of `resolved` no longer exists (a concurrent refresh
/// handled it, possibly with newer data).
#[derive(Debug, Clone, PartialEq)]
pub struct RollupWrite {
    pub instrument_id: i64,
    pub slices: Vec<RollupSlice>,
    /// Backlog entries ([`RollupBacklog::seq`]) this refresh has taken into account.
    pub resolved: Vec<i64>,
}

/// A base-series range written by an ingest and not yet reflected in rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupBacklog {
    /// Increasing id; later ingests get larger ones.
    pub seq: i64,
    pub instrument_id: i64,
    pub symbol: String,
    pub resolution: Resolution,
    /// First and last `ts` written (both inclusive).
    pub first_ts: i64,
    pub last_ts: i64,
}

/// The error of a write whose backlog entry another refresh resolved first: that refresh saw
/// data at least as new, so this one's rows may be stale and nothing is written.
pub(crate) fn already_resolved(seq: i64) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "rollup backlog entry {seq} was resolved by another refresh"
    ))
}

/// Checks shared by both backends before a write.
pub(crate) fn check_write(write: &RollupWrite) -> crate::Result<()> {
    for slice in &write.slices {
        let mut prev = i64::MIN;
        for r in &slice.rows {
            let ok = r.start >= slice.replace.start()
                && r.end <= slice.replace.end()
                && r.start < r.end
                && r.start > prev;
            if !ok {
                return Err(crate::StoreError::Backend(format!(
                    "rollup row [{}, {}) of {} {} is out of order or outside [{}, {})",
                    r.start,
                    r.end,
                    slice.key.timeframe,
                    slice.key.sessions,
                    slice.replace.start(),
                    slice.replace.end()
                )));
            }
            prev = r.start;
        }
    }
    Ok(())
}
