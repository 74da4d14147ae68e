//! Aggregation throughput: `cargo bench -p tradeassist-engine --bench aggregate`.
//!
//! Reads (and on first use writes) a CSV of synthetic 1-minute bars, 10 symbols x one year
//! of CME Globex sessions (`ts,symbol,open,high,low,close,volume`, `ts` in UTC epoch
//! seconds), the same file `scripts/bench_aggregate_polars.py` reads, then aggregates every
//! symbol to 5m, 1h and 1d and prints `ENGINE,<tf>,<rows>,<seconds>` (best of 5 runs,
//! parsing excluded). `BENCH_DATA` overrides the file path. Run
//! `scripts/bench_aggregate.sh` for the side-by-side comparison with Polars.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use tradeassist_engine::{AggSpec, Aggregator, Calendar, SessionFilter};
use tradeassist_model::{Bar, Resolution};

const SYMBOLS: usize = 10;
const CALENDAR: &str = "cme_equity";

fn data_path() -> PathBuf {
    std::env::var_os("BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-aggregate/bars.csv")
        })
}

/// Deterministic random walk over every minute of every Globex session of 2023.
fn generate(path: &PathBuf) {
    let cal = Calendar::get(CALENDAR).unwrap();
    let sessions = cal.sessions_between(
        NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(),
        SessionFilter::All,
    );
    let mut out = String::from("ts,symbol,open,high,low,close,volume\n");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for sym in 0..SYMBOLS {
        let mut price = 100.0 + sym as f64 * 10.0;
        for s in &sessions {
            for ts in (s.open()..s.close()).step_by(60) {
                if !s.is_open_at(ts) {
                    continue;
                }
                let open = price;
                price = (price + (rnd() - 0.5) * 0.2).max(1.0);
                let close = price;
                let high = open.max(close) + rnd() * 0.05;
                let low = open.min(close) - rnd() * 0.05;
                let volume = (rnd() * 1000.0).floor();
                writeln!(
                    out,
                    "{ts},SYM{sym},{open:.4},{high:.4},{low:.4},{close:.4},{volume}"
                )
                .unwrap();
            }
        }
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, out).unwrap();
}

/// Bars per symbol, in file order.
fn read(path: &PathBuf) -> Vec<Vec<Bar>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut series: Vec<(String, Vec<Bar>)> = Vec::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let f = |i: usize| c[i].parse::<f64>().unwrap();
        let bar = Bar::new(c[0].parse().unwrap(), f(2), f(3), f(4), f(5), f(6)).unwrap();
        match series.last_mut() {
            Some((sym, bars)) if sym == c[1] => bars.push(bar),
            _ => series.push((c[1].to_string(), vec![bar])),
        }
    }
    series.into_iter().map(|(_, b)| b).collect()
}

fn main() {
    let path = data_path();
    if !path.exists() {
        eprintln!("generating {}", path.display());
        generate(&path);
    }
    let series = read(&path);
    let rows: usize = series.iter().map(Vec::len).sum();
    eprintln!("{rows} rows, {} symbols, calendar {CALENDAR}", series.len());
    // Floor: one pass that only reads every bar (the engine's loop is memory-bound above it).
    let mut floor = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let total: f64 = series.iter().flatten().map(|b| b.volume() + b.high()).sum();
        black_box(total);
        floor = floor.min(t.elapsed().as_secs_f64());
    }
    eprintln!(
        "read floor: {:.1} ms, {:.1} M rows/s ({} bytes per Bar)",
        floor * 1e3,
        rows as f64 / floor / 1e6,
        std::mem::size_of::<Bar>()
    );
    let cal = Calendar::get(CALENDAR).unwrap();
    for tf in ["5m", "1h", "1d"] {
        let mut spec = AggSpec::new(tf.parse().unwrap());
        spec.sessions = SessionFilter::All;
        let agg = Aggregator::new(cal, Resolution::Minute, spec).unwrap();
        let mut best = f64::MAX;
        let mut out_bars = 0;
        for _ in 0..5 {
            let t = Instant::now();
            out_bars = 0;
            for bars in &series {
                out_bars += black_box(agg.aggregate(black_box(bars), None).unwrap())
                    .bars
                    .len();
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        eprintln!(
            "engine {tf:>3}: {out_bars} bars out, {:.1} ms, {:.1} M rows/s",
            best * 1e3,
            rows as f64 / best / 1e6
        );
        println!("ENGINE,{tf},{rows},{best:.6}");
        // The same work split by symbol over two threads (what a service does per request).
        let mut best2 = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            std::thread::scope(|scope| {
                let (a, b) = series.split_at(series.len() / 2);
                for half in [a, b] {
                    scope.spawn(move || {
                        for bars in half {
                            black_box(agg.aggregate(black_box(bars), None).unwrap());
                        }
                    });
                }
            });
            best2 = best2.min(t.elapsed().as_secs_f64());
        }
        eprintln!(
            "engine {tf:>3} on 2 threads: {:.1} ms, {:.1} M rows/s",
            best2 * 1e3,
            rows as f64 / best2 / 1e6
        );
        println!("ENGINE2,{tf},{rows},{best2:.6}");
    }
}
