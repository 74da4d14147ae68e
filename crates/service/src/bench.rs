//! Query benchmark behind `tradeassist bench query`: read latency of the bench data written by
//! [`tradeassist_store::bench::bench_ingest`], through the service (rollups) and, in the same
//! run, the same queries done naively.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use tradeassist_service::{Limits, Service, bench::bench_query};
//! use tradeassist_store::{bench::bench_ingest, sqlite::SqliteStore};
//!
//! let store = SqliteStore::open("/tmp/bench.db").await?;
//! bench_ingest(&store, 10, 365).await?;
//! let service = Service::new(Arc::new(store.clone()), Limits::default());
//! let report = bench_query(&service, &store, 10, 365).await?;
//! println!("1y of 1d via rollups: p50 {:.2} ms", report.year_of_1d_rollup.p50_ms);
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use tradeassist_engine::{AggSpec, Aggregator, Calendar, SessionFilter};
use tradeassist_model::{Resolution, TimeRange, rfc3339};
use tradeassist_store::BarQuery;
use tradeassist_store::bench::{BENCH_START, Latency, NaiveQueries, bench_symbols};

use crate::{Query, Service, ServiceError};

/// Reads of "1 day of 1m" per variant.
const DAY_READS: usize = 200;
/// Reads of "1 year of 1d" per variant.
const YEAR_READS: usize = 20;

/// Result of [`bench_query`]; latencies are per request for one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryBenchReport {
    pub backend: &'static str,
    pub symbols: usize,
    pub days: usize,
    /// Time [`Service::refresh_rollups`] took before the reads (all pending ingests).
    pub rollup_refresh_seconds: f64,
    /// `Service::fetch` of one day at `1m`.
    pub day_of_1m: Latency,
    /// The same day as a plain range read of the stored minute bars (`Store::read_bars`).
    pub day_of_1m_naive: Latency,
    /// `Service::fetch` of the whole range at `1d` (regular sessions), served from rollups.
    pub year_of_1d_rollup: Latency,
    /// The same bars aggregated on the fly: read every minute bar, aggregate with the engine.
    pub year_of_1d_on_the_fly: Latency,
    /// Daily bars by UTC day in one SQL aggregate over the minute bars (the database's naive
    /// answer; UTC days, not sessions).
    pub year_of_1d_naive: Latency,
    /// How many of the `1d` fetches the rollups served (all of them unless something is off).
    pub rollup_hits: usize,
}

fn request(symbol: &str, frequency: &str, range: TimeRange) -> Result<Query, ServiceError> {
    format!(
        "symbols={symbol}&frequency={frequency}&start={}&end={}",
        rfc3339(range.start()),
        rfc3339(range.end())
    )
    .parse()
}

/// Time `f` once.
async fn timed<T, F: Future<Output = Result<T, ServiceError>>>(
    samples: &mut Vec<Duration>,
    f: F,
) -> Result<T, ServiceError> {
    let t = Instant::now();
    let out = f.await?;
    samples.push(t.elapsed());
    Ok(out)
}

/// Measure reads of the bench data (`symbols` x `days` from `tradeassist_store::bench`, already
/// ingested into the service's store; `naive` is the same store). Refreshes pending rollups first.
pub async fn bench_query(
    service: &Service,
    naive: &dyn NaiveQueries,
    symbols: usize,
    days: usize,
) -> Result<QueryBenchReport, ServiceError> {
    let store = service.store();
    let t = Instant::now();
    service.refresh_rollups().await?;
    let rollup_refresh_seconds = t.elapsed().as_secs_f64();
    let names = bench_symbols(symbols);
    let mut ids = Vec::with_capacity(names.len());
    for s in &names {
        let i = store
            .instrument(s)
            .await?
            .ok_or_else(|| ServiceError::UnknownSymbols(vec![s.clone()]))?;
        ids.push(i.id);
    }
    if ids.is_empty() || days == 0 {
        return Err(ServiceError::invalid(
            "symbols",
            "the benchmark needs at least one symbol and one day",
        ));
    }
    let now = crate::now();
    let day = |i: usize| {
        let start = BENCH_START + ((i * 104_729) % days) as i64 * 86_400;
        TimeRange::new(start, start + 86_400).expect("non-empty")
    };
    let pick = |i: usize| (i * 7_919) % ids.len();

    let (mut fetched, mut naive_day) = (Vec::new(), Vec::new());
    for i in 0..DAY_READS {
        let (k, range) = (pick(i), day(i));
        timed(
            &mut fetched,
            service.fetch(&request(&names[k], "1m", range)?, now),
        )
        .await?;
        let q = BarQuery {
            instrument_id: ids[k],
            resolution: Resolution::Minute,
            range,
            last: None,
            max_rows: 100_000,
        };
        timed(&mut naive_day, async { Ok(store.read_bars(q).await?) }).await?;
    }

    let year = TimeRange::new(BENCH_START, BENCH_START + days as i64 * 86_400).expect("non-empty");
    let cal = Calendar::get("us_equity").map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut spec = AggSpec::new("1d".parse().expect("valid"));
    spec.sessions = SessionFilter::Regular;
    let agg = Aggregator::new(cal, Resolution::Minute, spec)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (mut rollup, mut on_the_fly, mut naive_year) = (Vec::new(), Vec::new(), Vec::new());
    let mut rollup_hits = 0;
    for i in 0..YEAR_READS {
        let k = pick(i);
        let got = timed(
            &mut rollup,
            service.fetch(&request(&names[k], "1d", year)?, now),
        )
        .await?;
        let q = BarQuery {
            instrument_id: ids[k],
            resolution: Resolution::Minute,
            range: year,
            last: None,
            max_rows: usize::MAX,
        };
        let reference = timed(&mut on_the_fly, async {
            let bars = store.read_bars(q).await?;
            agg.aggregate(&bars, Some(now))
                .map_err(|e| ServiceError::Internal(e.to_string()))
        })
        .await?;
        let series = &got.series[0];
        rollup_hits += usize::from(series.base_bars < days * 1_440);
        if series.bars != reference.bars {
            return Err(ServiceError::Internal(format!(
                "{}: rollup bars differ from on-the-fly bars",
                names[k]
            )));
        }
        timed(&mut naive_year, async {
            Ok(naive.naive_daily_bars(ids[k], year).await?)
        })
        .await?;
    }
    Ok(QueryBenchReport {
        backend: store.backend(),
        symbols,
        days,
        rollup_refresh_seconds,
        day_of_1m: Latency::of(fetched),
        day_of_1m_naive: Latency::of(naive_day),
        year_of_1d_rollup: Latency::of(rollup),
        year_of_1d_on_the_fly: Latency::of(on_the_fly),
        year_of_1d_naive: Latency::of(naive_year),
        rollup_hits,
    })
}
