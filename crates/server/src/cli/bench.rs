//! `tradeassist bench ingest|query`: the storage benchmarks on generated data (10 symbols x 1
//! year of 1-minute bars by default), on scratch databases so real data is never touched.
//! SQLite uses a temporary file; PostgreSQL the configured URL in a scratch schema whose
//! tables are dropped afterwards.

use std::sync::Arc;

use anyhow::Result;
use clap::{Args, ValueEnum};
use tradeassist_service::bench::bench_query;
use tradeassist_service::{Limits, Service};
use tradeassist_store::bench::{Latency, NaiveQueries, bench_ingest};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;

use crate::config::Config;

/// Targets the numbers are reported against.
const SQLITE_INGEST_TARGET: f64 = 1_000_000.0;
const POSTGRES_INGEST_TARGET: f64 = 400_000.0;
const YEAR_OF_1D_P50_TARGET_MS: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    Sqlite,
    Postgres,
    All,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backends to measure.
    #[arg(long, value_enum, default_value = "all")]
    pub backend: Which,
    /// Generated symbols.
    #[arg(long, default_value_t = 10)]
    pub symbols: usize,
    /// Generated days of 1-minute bars per symbol.
    #[arg(long, default_value_t = 365)]
    pub days: usize,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets target" } else { "BELOW TARGET" }
}

fn line(what: &str, l: &Latency) {
    println!(
        "  {what:<46} p50 {:>8.2} ms  p95 {:>8.2} ms  (n={})",
        l.p50_ms, l.p95_ms, l.samples
    );
}

async fn run_one<S: NaiveQueries + Clone>(
    store: S,
    args: &BenchArgs,
    queries: bool,
    target: f64,
) -> Result<()> {
    let ingest = bench_ingest(&store, args.symbols, args.days).await?;
    println!(
        "{}: ingest {} bars in {:.2} s = {:.0} bars/s (target {:.0}: {})",
        ingest.backend,
        ingest.bars,
        ingest.seconds,
        ingest.bars_per_second,
        target,
        verdict(ingest.bars_per_second >= target)
    );
    if !queries {
        return Ok(());
    }
    let service = Service::new(Arc::new(store.clone()), Limits::default());
    let r = bench_query(&service, &store, args.symbols, args.days).await?;
    println!(
        "{}: rollup refresh after ingest {:.2} s",
        r.backend, r.rollup_refresh_seconds
    );
    line("1 day of 1m, service fetch", &r.day_of_1m);
    line("1 day of 1m, naive range read", &r.day_of_1m_naive);
    line(
        "1 year of 1d from 1m, service (rollups)",
        &r.year_of_1d_rollup,
    );
    line(
        "1 year of 1d from 1m, on the fly (engine)",
        &r.year_of_1d_on_the_fly,
    );
    line(
        "1 year of 1d from 1m, naive SQL aggregate",
        &r.year_of_1d_naive,
    );
    println!(
        "  1 year of 1d p50 target {YEAR_OF_1D_P50_TARGET_MS} ms: {}; naive SQL / rollup p50 = {:.0}x; rollup hits {}/{}",
        verdict(r.year_of_1d_rollup.p50_ms < YEAR_OF_1D_P50_TARGET_MS),
        r.year_of_1d_naive.p50_ms / r.year_of_1d_rollup.p50_ms.max(1e-9),
        r.rollup_hits,
        r.year_of_1d_rollup.samples
    );
    Ok(())
}

/// Run the ingest benchmark, and with `queries` the read benchmark after it.
pub async fn run(config: &Config, args: BenchArgs, queries: bool) -> Result<()> {
    if matches!(args.backend, Which::Sqlite | Which::All) {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(dir.path().join("bench.db")).await?;
        run_one(store, &args, queries, SQLITE_INGEST_TARGET).await?;
    }
    if matches!(args.backend, Which::Postgres | Which::All) {
        let schema = format!("tradeassist_bench_{}", std::process::id());
        let store = PostgresStore::connect(&config.postgres.url, &schema).await?;
        let outcome = run_one(store.clone(), &args, queries, POSTGRES_INGEST_TARGET).await;
        store.migrate_down(0).await?;
        outcome?;
    }
    Ok(())
}
