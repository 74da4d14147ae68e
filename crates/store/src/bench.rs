//! Store benchmarks behind `tradeassist bench ingest` (and the `bench` example): generated
//! 24-hour minute bars, timed ingest, and naive SQL reference queries that the service's
//! query benchmark (`tradeassist_service::bench`) compares against.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeassist_store::StoreError> {
//! use tradeassist_store::{bench, sqlite::SqliteStore};
//! let store = SqliteStore::open("/tmp/bench.db").await?;
//! let report = bench::bench_ingest(&store, 10, 365).await?;
//! println!("{:.0} bars/s", report.bars_per_second);
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tradeassist_model::{AssetClass, Bar, NewInstrument, Resolution, TimeRange};

use crate::{IngestBatch, Result, SeriesBatch, Store, StoreError};

/// First bar of the generated series: 2013-01-01 00:00 UTC.
pub const BENCH_START: i64 = 1_356_998_400;

/// Symbols of the generated instruments (`BENCH0`, `BENCH1`, ...).
pub fn bench_symbols(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("BENCH{i}")).collect()
}

/// `days` x 1440 minute bars of symbol number `k` from [`BENCH_START`], deterministic.
pub fn bench_series(symbol: &str, k: usize, days: usize) -> SeriesBatch {
    let bars = (0..days * 1440)
        .map(|i| {
            let p = 100.0 + ((i * 7 + k * 13) % 1009) as f64 / 16.0;
            Bar::new(
                BENCH_START + i as i64 * 60,
                p,
                p + 0.25,
                p - 0.25,
                p + 0.125,
                (i % 500) as f64,
            )
            .expect("valid generated bar")
        })
        .collect();
    SeriesBatch {
        symbol: symbol.into(),
        resolution: Resolution::Minute,
        bars,
    }
}

/// Result of [`bench_ingest`].
#[derive(Debug, Clone, PartialEq)]
pub struct IngestBenchReport {
    pub backend: &'static str,
    pub symbols: usize,
    pub days: usize,
    pub bars: u64,
    /// Time spent inside `Store::ingest` (generation excluded).
    pub seconds: f64,
    pub bars_per_second: f64,
    /// CPU time (user + system) this process spent inside `Store::ingest`, when the platform
    /// tells (Linux). On a busy machine it is steadier than `seconds`; a database server's
    /// own CPU time is not included.
    pub cpu_seconds: Option<f64>,
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, in clock ticks of
/// 1/100 s).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Ingest `symbols` x `days` of generated minute bars, one transaction per symbol-year (the
/// shape of a bulk import), and time it. The instruments are created first (not timed).
/// Running it twice measures the re-ingest (upsert) path.
pub async fn bench_ingest(
    store: &dyn Store,
    symbols: usize,
    days: usize,
) -> Result<IngestBenchReport> {
    let names = bench_symbols(symbols);
    let instruments = names
        .iter()
        .map(|s| {
            NewInstrument::equity(s, AssetClass::Stock)
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    store
        .ingest(IngestBatch {
            instruments,
            source: "file".into(),
            ..Default::default()
        })
        .await?;
    let mut elapsed = Duration::ZERO;
    let mut cpu = Some(0.0);
    let mut bars = 0;
    for (k, s) in names.iter().enumerate() {
        let batch = IngestBatch {
            series: vec![bench_series(s, k, days)],
            source: "file".into(),
            ..Default::default()
        };
        let (t, cpu0) = (Instant::now(), process_cpu_seconds());
        bars += store.ingest(batch).await?.bars_written;
        elapsed += t.elapsed();
        cpu = cpu
            .zip(cpu0.zip(process_cpu_seconds()))
            .map(|(c, (a, b))| c + b - a);
    }
    let seconds = elapsed.as_secs_f64();
    Ok(IngestBenchReport {
        backend: store.backend(),
        symbols,
        days,
        bars,
        seconds,
        bars_per_second: bars as f64 / seconds.max(1e-9),
        cpu_seconds: cpu,
    })
}

/// Percentiles of a set of timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Latency {
    /// p50 and p95 (nearest rank) of `samples`; zeros when there are none.
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let pick = |p: f64| {
            if samples.is_empty() {
                0.0
            } else {
                samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
            }
        };
        Latency {
            samples: samples.len(),
            p50_ms: pick(0.5),
            p95_ms: pick(0.95),
        }
    }
}

/// The "how would you do it in plain SQL" reference of the query benchmark.
#[async_trait]
pub trait NaiveQueries: Store {
    /// Daily OHLCV of a minute series by UTC day (`ts / 86400`), computed by the database in
    /// one aggregate query over the base bars; returns the number of days.
    async fn naive_daily_bars(&self, instrument_id: i64, range: TimeRange) -> Result<usize>;
}

#[async_trait]
impl NaiveQueries for crate::sqlite::SqliteStore {
    async fn naive_daily_bars(&self, instrument_id: i64, range: TimeRange) -> Result<usize> {
        self.naive_daily(instrument_id, range).await
    }
}

#[async_trait]
impl NaiveQueries for crate::postgres::PostgresStore {
    async fn naive_daily_bars(&self, instrument_id: i64, range: TimeRange) -> Result<usize> {
        self.naive_daily(instrument_id, range).await
    }
}
