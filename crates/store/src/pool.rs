//! Connection-pool bounds and metrics shared by both backends.
//!
//! Each backend keeps at most [`PoolOptions::max_connections`] connections for reads (SQLite's
//! single writer connection is not counted); a read that finds them all busy waits in a FIFO
//! queue instead of opening another. Series (see `docs/metrics.md`), labelled `backend`:
//! - `tradeassist_store_pool_max_connections` gauge: the bound;
//! - `tradeassist_store_pool_connections{state = idle | busy}` gauge: connections open;
//! - `tradeassist_store_pool_waits_total` counter: acquisitions that had to queue;
//! - `tradeassist_store_pool_wait_seconds` histogram: time spent queued by those.

use std::time::Duration;

/// Gauge of the pool bound.
pub const POOL_MAX: &str = "tradeassist_store_pool_max_connections";
/// Gauge of open pooled connections, by `state`.
pub const POOL_CONNECTIONS: &str = "tradeassist_store_pool_connections";
/// Counter of acquisitions that found every connection busy.
pub const POOL_WAITS: &str = "tradeassist_store_pool_waits_total";
/// Histogram of the queueing time of those acquisitions.
pub const POOL_WAIT: &str = "tradeassist_store_pool_wait_seconds";

/// How many connections a store may open for reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Upper bound of pooled connections (at least 1).
    pub max_connections: usize,
}

impl PoolOptions {
    /// The default bound: four connections per core, at least 4 and at most 32. Measured with
    /// `tradeassist bench serve --pool N` on 2 cores, uncached mix: 1 connection 21-22 req/s
    /// at 50 and 200 clients, 2, 4, 8 and 16 connections 31-33 req/s (the CPU is the limit),
    /// so the bound only has to keep a short read from queueing behind a few long ones, and
    /// every extra SQLite reader holds its own page cache (up to 64 MiB).
    pub fn for_this_machine() -> PoolOptions {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PoolOptions {
            max_connections: (4 * cores).clamp(4, 32),
        }
    }

    /// `max_connections`, or the default when `None`; 0 is refused.
    pub fn with_max(max_connections: Option<usize>) -> Result<PoolOptions, String> {
        match max_connections {
            None => Ok(PoolOptions::for_this_machine()),
            Some(0) => Err("the connection pool needs at least 1 connection".into()),
            Some(n) => Ok(PoolOptions { max_connections: n }),
        }
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions::for_this_machine()
    }
}

/// Record the pool's bound and occupancy.
pub(crate) fn report(backend: &'static str, max: usize, idle: usize, busy: usize) {
    metrics::gauge!(POOL_MAX, "backend" => backend).set(max as f64);
    metrics::gauge!(POOL_CONNECTIONS, "backend" => backend, "state" => "idle").set(idle as f64);
    metrics::gauge!(POOL_CONNECTIONS, "backend" => backend, "state" => "busy").set(busy as f64);
}

/// Record one acquisition that had to queue for `waited`.
pub(crate) fn waited(backend: &'static str, waited: Duration) {
    metrics::counter!(POOL_WAITS, "backend" => backend).increment(1);
    metrics::histogram!(POOL_WAIT, "backend" => backend).record(waited.as_secs_f64());
}
