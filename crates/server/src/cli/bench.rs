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

/// A finished child process: exit status, stderr, wall-clock seconds and peak RSS.
struct ChildRun {
    status: std::process::ExitStatus,
    stderr: String,
    seconds: f64,
    peak_rss_mb: Option<f64>,
}

/// Run `cmd` (stdout discarded, stderr captured) and measure its wall clock and peak RSS.
/// The peak is the child's own `VmHWM` (Linux `/proc/PID/status`), sampled every 5 ms until
/// it exits: `getrusage(RUSAGE_CHILDREN)` would count the pages a child shares with this
/// process between fork and exec, i.e. this process's own size.
fn run_child(cmd: &mut std::process::Command) -> Result<ChildRun> {
    use std::io::Read;
    let started = Instant::now();
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let mut peak_kib: Option<u64> = None;
    let status = loop {
        if let Some(kib) = proc_status_kib(child.id(), "VmHWM") {
            peak_kib = Some(peak_kib.map_or(kib, |p: u64| p.max(kib)));
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let seconds = started.elapsed().as_secs_f64();
    Ok(ChildRun {
        status,
        stderr: reader.join().unwrap_or_default(),
        seconds,
        peak_rss_mb: peak_kib.map(|k| k as f64 / 1024.0),
    })
}

/// A `kB` field (`VmHWM`, `VmRSS`) of a process's `/proc/PID/status` (Linux), in KiB.
pub(super) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    })
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
        let run = run_child(
            std::process::Command::new(&exe)
                .arg("--db")
                .arg(&db)
                .arg("import")
                .arg(&file),
        )?;
        anyhow::ensure!(
            run.status.success(),
            "tradeassist import {name} failed: {}: {}",
            run.status,
            run.stderr
        );
        let (seconds, rss) = (run.seconds, run.peak_rss_mb);
        let rate = rows as f64 / seconds;
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

/// `tradeassist bench export`: generated 1-minute bars of US stocks, stored only inside the
/// calendar's sessions (pre-market to after-hours on trading days, as stock data comes), are
/// ingested into a scratch SQLite database; then the whole `tradeassist export` command
/// (every symbol, 1m, all sessions, so every stored bar is exported) runs as a child process
/// to CSV and to Parquet: wall-clock bars/s and the child's peak RSS. Each file is then read
/// back and compared bar for bar with `fetch` of each symbol (PASS/FAIL).
/// `--symbols 10 --days 1510` exports about 10 M bars.
pub async fn run_export(args: BenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("export.db");
    let store = SqliteStore::open(&db).await?;
    let names = bench_symbols(args.symbols);
    let stored = ingest_session_bars(&store, &names, args.days).await?;
    println!(
        "sqlite: stored {stored} 1m bars of {} stocks, sessions only",
        names.len()
    );
    let service = Service::new(
        Arc::new(store),
        Limits {
            max_symbols: names.len().max(1),
            max_bars_per_response: 1 << 40,
            max_base_bars: 1 << 40,
        },
    );
    let exe = std::env::current_exe()?;
    let start = tradeassist_model::rfc3339(tradeassist_store::bench::BENCH_START);
    let mut failed = false;
    for format in ["csv", "parquet"] {
        let out = dir.path().join(format!("export.{format}"));
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("--db").arg(&db).arg("export");
        for s in &names {
            cmd.arg("--symbol").arg(s);
        }
        cmd.args(["--frequency", "1m", "--session", "all", "--start", &start])
            .args(["--format", format, "--out"])
            .arg(&out);
        let run = tokio::task::block_in_place(|| run_child(&mut cmd))?;
        let (seconds, rss, stderr) = (run.seconds, run.peak_rss_mb, run.stderr);
        anyhow::ensure!(
            run.status.success(),
            "tradeassist export --format {format} failed: {stderr}"
        );
        // "exported N bars to FILE"
        let bars: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("exported ")?.split(' ').next()?.parse().ok())
            .unwrap_or(0);
        let size_mb = std::fs::metadata(&out)?.len() as f64 / 1e6;
        let rate = bars as f64 / seconds;
        println!(
            "sqlite: `tradeassist export --format {format}` ({bars} bars, {size_mb:.0} MB): {seconds:.2} s = {rate:.0} bars/s (target {EXPORT_TARGET:.0}: {}); peak RSS {} (target < {EXPORT_RSS_TARGET_MB:.0} MiB: {})",
            verdict(rate >= EXPORT_TARGET),
            rss.map_or_else(|| "unknown".into(), |r| format!("{r:.0} MiB")),
            verdict(rss.is_some_and(|r| r < EXPORT_RSS_TARGET_MB)),
        );
        let rows: Box<dyn Iterator<Item = Result<ExportedRow>>> = match format {
            "csv" => Box::new(csv_rows(&out)?),
            _ => Box::new(parquet_rows(&out)?),
        };
        let checked = round_trip(&service, &names, &start, rows).await;
        match &checked {
            Ok(n) => {
                let pass = *n == stored && *n == bars;
                failed |= !pass;
                println!(
                    "sqlite: {format} read back: {n} bars equal to `fetch` of every symbol (of {stored} stored): {}",
                    if pass { "PASS" } else { "FAIL" }
                )
            }
            Err(e) => {
                failed = true;
                println!("sqlite: {format} read back: FAIL: {e}")
            }
        }
        std::fs::remove_file(&out)?;
    }
    anyhow::ensure!(!failed, "an exported file differs from `fetch`");
    Ok(())
}

/// Ingest the bench series of `names`, keeping the bars inside the US equity calendar's
/// sessions (all of them: pre-market, regular, after-hours); returns the bars stored.
async fn ingest_session_bars(store: &SqliteStore, names: &[String], days: usize) -> Result<u64> {
    use tradeassist_model::{AssetClass, NewInstrument, SessionFilter, TimeRange};
    use tradeassist_store::{IngestBatch, Store};
    let instruments = names
        .iter()
        .map(|s| NewInstrument::equity(s, AssetClass::Stock))
        .collect::<Result<Vec<_>, _>>()?;
    store
        .ingest(IngestBatch {
            instruments,
            source: "file".into(),
            ..Default::default()
        })
        .await?;
    let cal = tradeassist_engine::Calendar::get("us_equity")?;
    let mut stored = 0;
    for (k, s) in names.iter().enumerate() {
        let mut series = bench_series(s, k, days);
        let (first, last) = match (series.bars.first(), series.bars.last()) {
            (Some(f), Some(l)) => (f.ts(), l.ts() + 60),
            _ => continue,
        };
        let sessions = cal.sessions(TimeRange::new(first, last)?, SessionFilter::All);
        let mut open = sessions.iter().peekable();
        series.bars.retain(|b| {
            while open.next_if(|s| s.close() <= b.ts()).is_some() {}
            open.peek().is_some_and(|s| s.open() <= b.ts())
        });
        stored += store
            .ingest(IngestBatch {
                series: vec![series],
                source: "file".into(),
                ..Default::default()
            })
            .await?
            .bars_written;
    }
    Ok(stored)
}

/// One bar of an exported file: symbol, time, open, high, low, close, volume.
type ExportedRow = (String, i64, [f64; 5]);

/// The rows of an exported CSV file (`symbol,ts,open,high,low,close,volume`).
fn csv_rows(path: &Path) -> Result<impl Iterator<Item = Result<ExportedRow>> + use<>> {
    let reader = csv::Reader::from_path(path)?;
    Ok(reader.into_records().map(|r| {
        let r = r?;
        let num = |i: usize| -> Result<f64> { Ok(r.get(i).unwrap_or_default().parse()?) };
        let ts = chrono::DateTime::parse_from_rfc3339(r.get(1).unwrap_or_default())?;
        Ok((
            r.get(0).unwrap_or_default().to_string(),
            ts.timestamp(),
            [num(2)?, num(3)?, num(4)?, num(5)?, num(6)?],
        ))
    }))
}

/// The rows of an exported Parquet file (columns symbol, ts in ms, open..volume).
fn parquet_rows(path: &Path) -> Result<impl Iterator<Item = Result<ExportedRow>> + use<>> {
    use arrow_array::{Array, Float64Array, StringArray, TimestampMillisecondArray};
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(path)?,
    )?
    .build()?;
    Ok(
        reader.flat_map(|batch| -> Box<dyn Iterator<Item = Result<ExportedRow>>> {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => return Box::new(std::iter::once(Err(e.into()))),
            };
            let column = |i: usize| batch.column(i).clone();
            let (symbol, ts) = (column(0), column(1));
            let prices: Vec<_> = (2..7).map(column).collect();
            let rows = (0..batch.num_rows()).map(move |i| {
                let symbol = symbol
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| anyhow::anyhow!("symbol is not a string column"))?;
                let ts = ts
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(|| anyhow::anyhow!("ts is not a millisecond timestamp"))?;
                let mut v = [0.0; 5];
                for (slot, col) in v.iter_mut().zip(&prices) {
                    let col = col
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .ok_or_else(|| anyhow::anyhow!("prices are not float columns"))?;
                    *slot = if col.is_null(i) {
                        f64::NAN
                    } else {
                        col.value(i)
                    };
                }
                Ok((symbol.value(i).to_string(), ts.value(i) / 1000, v))
            });
            Box::new(rows)
        }),
    )
}

/// Compare the exported rows with `fetch` of each symbol in turn (the same query, one symbol
/// at a time); returns the bars compared.
async fn round_trip(
    service: &Service,
    names: &[String],
    start: &str,
    mut rows: Box<dyn Iterator<Item = Result<ExportedRow>>>,
) -> Result<u64> {
    let mut n = 0u64;
    for symbol in names {
        let query = format!("symbols={symbol}&frequency=1m&session=all&start={start}").parse()?;
        let fetched = service.fetch(&query, tradeassist_service::now()).await?;
        for bar in fetched.series.iter().flat_map(|s| &s.bars) {
            let (sym, ts, v) = rows
                .next()
                .ok_or_else(|| anyhow::anyhow!("the file ends before {symbol} {}", bar.ts))??;
            let p = bar
                .ohlc
                .ok_or_else(|| anyhow::anyhow!("{symbol} {}: no prices", bar.ts))?;
            let want = [p.open, p.high, p.low, p.close, bar.volume];
            anyhow::ensure!(
                sym == *symbol && ts == bar.ts && v.map(f64::to_bits) == want.map(f64::to_bits),
                "bar {n}: the file has {sym} {ts} {v:?}, fetch has {symbol} {} {want:?}",
                bar.ts
            );
            n += 1;
        }
    }
    let extra = rows.count();
    anyhow::ensure!(
        extra == 0,
        "the file has {extra} bars after the {n} of fetch"
    );
    Ok(n)
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
