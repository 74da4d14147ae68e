//! `tradeassist bench ingest|query`: the storage benchmarks on generated data (10 symbols x 1
//! year of 1-minute bars by default), on scratch databases so real data is never touched.
//! `bench ingest` also writes the same bars as a CSV file (and a gzipped one) and times the
//! whole `tradeassist import` command on it, with the child's peak RSS.
//! SQLite uses a temporary file; PostgreSQL the configured URL in a scratch schema whose
//! tables are dropped afterwards.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, ValueEnum};
use tradeassist_service::bench::bench_query;
use tradeassist_service::{Limits, Service};
use tradeassist_store::bench::{Latency, NaiveQueries, bench_ingest, bench_series, bench_symbols};
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

/// Target of a whole `tradeassist import` of a CSV file into SQLite.
const CSV_IMPORT_TARGET: f64 = 1_500_000.0;
/// Peak resident memory target of that command, whatever the file size.
const CSV_IMPORT_RSS_TARGET_MB: f64 = 300.0;

/// Write the generated bars (the same as the store benchmark's) as one CSV file, symbol after
/// symbol, `ts,symbol,open,high,low,close,volume` with RFC 3339 times; returns the row count.
fn write_csv(path: &Path, symbols: usize, days: usize, gzip: bool) -> Result<u64> {
    let file = std::fs::File::create(path)?;
    let sink: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, sink);
    writeln!(out, "ts,symbol,open,high,low,close,volume")?;
    let mut rows = 0u64;
    for (k, symbol) in bench_symbols(symbols).iter().enumerate() {
        let series = bench_series(symbol, k, days);
        for b in &series.bars {
            writeln!(
                out,
                "{},{symbol},{},{},{},{},{}",
                tradeassist_model::rfc3339(b.ts()),
                b.open(),
                b.high(),
                b.low(),
                b.close(),
                b.volume()
            )?;
            rows += 1;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.flush()?;
    Ok(rows)
}

/// Peak resident set size of the largest finished child process, in MiB (Linux: KiB units).
fn children_peak_rss_mb() -> Option<f64> {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage struct for the duration of the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    (rc == 0).then(|| usage.ru_maxrss as f64 / 1024.0)
}

/// The whole `tradeassist import FILE` command, run as a child process into a fresh SQLite
/// database: wall-clock bars/s and the child's peak RSS (what a user runs and waits for).
fn bench_csv_import(args: &BenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    for gzip in [false, true] {
        let name = if gzip { "bars.csv.gz" } else { "bars.csv" };
        let file = dir.path().join(name);
        let rows = write_csv(&file, args.symbols, args.days, gzip)?;
        let size_mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
        let db = dir.path().join(format!("{name}.db"));
        // The file is measured as a user has it: written out, not still in the page cache's
        // write-back queue competing with the import's own writes.
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
        let started = Instant::now();
        let status = std::process::Command::new(&exe)
            .arg("--db")
            .arg(&db)
            .arg("import")
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            status.success(),
            "tradeassist import {name} failed: {status}"
        );
        let rate = rows as f64 / seconds;
        let rss = children_peak_rss_mb();
        println!(
            "sqlite: `tradeassist import {name}` ({rows} rows, {size_mb:.0} MB): {seconds:.2} s = {rate:.0} bars/s (target {CSV_IMPORT_TARGET:.0}: {}); peak RSS {} (target < {CSV_IMPORT_RSS_TARGET_MB:.0} MiB: {})",
            verdict(rate >= CSV_IMPORT_TARGET),
            rss.map_or_else(|| "unknown".into(), |r| format!("{r:.0} MiB")),
            verdict(rss.is_some_and(|r| r < CSV_IMPORT_RSS_TARGET_MB)),
        );
        std::fs::remove_file(&file)?;
        std::fs::remove_file(&db)?;
    }
    Ok(())
}

/// Target of `tradeassist export` from SQLite (1-minute bars, CSV and Parquet).
const EXPORT_TARGET: f64 = 2_000_000.0;
/// Peak resident memory target of an export, whatever its size.
const EXPORT_RSS_TARGET_MB: f64 = 200.0;

/// `tradeassist bench export`: generated 1-minute bars ingested into a scratch SQLite
/// database, then the whole `tradeassist export` command (every symbol, 1m, all sessions) run
/// as a child process to CSV and to Parquet: wall-clock bars/s and the child's peak RSS.
/// `--symbols 20 --days 730` exports about 10 M bars.
pub async fn run_export(args: BenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("export.db");
    let store = SqliteStore::open(&db).await?;
    let ingest = bench_ingest(&store, args.symbols, args.days).await?;
    println!(
        "sqlite: ingested {} bars in {:.2} s",
        ingest.bars, ingest.seconds
    );
    drop(store);
    let exe = std::env::current_exe()?;
    let start = tradeassist_model::rfc3339(tradeassist_store::bench::BENCH_START);
    for format in ["csv", "parquet"] {
        let out = dir.path().join(format!("export.{format}"));
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("--db").arg(&db).arg("export");
        for s in bench_symbols(args.symbols) {
            cmd.arg("--symbol").arg(s);
        }
        cmd.args(["--frequency", "1m", "--session", "all", "--start", &start])
            .args(["--format", format, "--out"])
            .arg(&out)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let started = Instant::now();
        let output = tokio::task::block_in_place(|| cmd.output())?;
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        anyhow::ensure!(
            output.status.success(),
            "tradeassist export --format {format} failed: {stderr}"
        );
        // "exported N bars to FILE"
        let bars: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("exported ")?.split(' ').next()?.parse().ok())
            .unwrap_or(0);
        let size_mb = std::fs::metadata(&out)?.len() as f64 / 1e6;
        let rate = bars as f64 / seconds;
        let rss = children_peak_rss_mb();
        println!(
            "sqlite: `tradeassist export --format {format}` ({bars} bars, {size_mb:.0} MB): {seconds:.2} s = {rate:.0} bars/s (target {EXPORT_TARGET:.0}: {}); peak RSS of the children so far {} (target < {EXPORT_RSS_TARGET_MB:.0} MiB: {})",
            verdict(rate >= EXPORT_TARGET),
            rss.map_or_else(|| "unknown".into(), |r| format!("{r:.0} MiB")),
            verdict(rss.is_some_and(|r| r < EXPORT_RSS_TARGET_MB)),
        );
        std::fs::remove_file(&out)?;
    }
    Ok(())
}

/// Run the ingest benchmark, and with `queries` the read benchmark after it.
pub async fn run(config: &Config, args: BenchArgs, queries: bool) -> Result<()> {
    if !queries && matches!(args.backend, Which::Sqlite | Which::All) {
        tokio::task::block_in_place(|| bench_csv_import(&args))?;
    }
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
