//! Aggregation throughput: `cargo bench -p tradeassist-engine --bench aggregate`.
//!
//! Reads (and on first use writes) a CSV of synthetic 1-minute bars, 10 symbols x one year
//! of CME Globex sessions (`ts,symbol,open,high,low,close,volume`, `ts` in UTC epoch
//! seconds), the same file `scripts/bench_aggregate_polars.py` reads, then aggregates every
//! symbol to 5m, 1h and 1d, from rows (`&[Bar]`) and from columns ([`BarColumns`]), on one
//! and on two threads, and prints `<KIND>,<tf>,<rows>,<seconds>` (best of 7 runs, as on the Polars side; parsing
//! and checking excluded; KIND is ENGINE, ENGINE2, COLUMNS or COLUMNS2). `BENCH_DATA`
//! overrides the file path, `BENCH_TF=1h` runs one timeframe. Run
//! `scripts/bench_aggregate.sh` for the side-by-side comparison with Polars.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use tradeassist_engine::{AggSpec, Aggregator, BarColumns, Calendar, SessionFilter};
use tradeassist_model::{Bar, Resolution};

const SYMBOLS: usize = 10;
/// Timed repetitions per measurement (the Polars script uses the same number).
const RUNS: usize = 7;
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

/// One symbol's series, as rows and as columns (both parsed from the same CSV lines).
struct Series {
    bars: Vec<Bar>,
    ts: Vec<i64>,
    cols: [Vec<f64>; 5],
}

impl Series {
    /// The checked columnar view (checking is not part of the timed work, as `Bar::new` is
    /// not: the store hands the engine checked data).
    fn columns(&self) -> BarColumns<'_> {
        let [o, h, l, c, v] = &self.cols;
        BarColumns::new(&self.ts, o, h, l, c, v).unwrap()
    }
}

/// Series per symbol, in file order.
fn read(path: &PathBuf) -> Vec<Series> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut series: Vec<(String, Series)> = Vec::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let f = |i: usize| c[i].parse::<f64>().unwrap();
        let ts: i64 = c[0].parse().unwrap();
        let row = [f(2), f(3), f(4), f(5), f(6)];
        let bar = Bar::new(ts, row[0], row[1], row[2], row[3], row[4]).unwrap();
        if series.last().is_none_or(|(sym, _)| sym != c[1]) {
            let empty = Series {
                bars: Vec::new(),
                ts: Vec::new(),
                cols: Default::default(),
            };
            series.push((c[1].to_string(), empty));
        }
        let s = &mut series.last_mut().unwrap().1;
        s.bars.push(bar);
        s.ts.push(ts);
        for (col, x) in s.cols.iter_mut().zip(row) {
            col.push(x);
        }
    }
    series.into_iter().map(|(_, s)| s).collect()
}

/// Best of [`RUNS`] wall-clock times of `work`, in seconds.
fn best_of(mut work: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..RUNS {
        let t = Instant::now();
        work();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// Run `work` on every series, the series split by symbol over two threads (what a
/// service does with concurrent requests; Polars uses its thread pool too).
fn on_two_threads<T: Sync>(items: &[T], work: impl Fn(&T) + Sync) {
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|scope| {
        for half in [a, b] {
            let work = &work;
            scope.spawn(move || half.iter().for_each(work));
        }
    });
}

fn report(label: &str, tag: &str, tf: &str, rows: usize, secs: f64) {
    eprintln!(
        "{label:<24} {tf:>3}: {:6.2} ms, {:6.1} M rows/s",
        secs * 1e3,
        rows as f64 / secs / 1e6
    );
    println!("{tag},{tf},{rows},{secs:.6}");
}

fn main() {
    let path = data_path();
    if !path.exists() {
        eprintln!("generating {}", path.display());
        generate(&path);
    }
    let series = read(&path);
    let rows: usize = series.iter().map(|s| s.bars.len()).sum();
    eprintln!("{rows} rows, {} symbols, calendar {CALENDAR}", series.len());
    // Floors: one pass that only reads what aggregation must read.
    let floor = best_of(|| {
        let total: f64 = series
            .iter()
            .flat_map(|s| &s.bars)
            .map(|b| b.volume() + b.high())
            .sum();
        black_box(total);
    });
    eprintln!(
        "read floor, rows:    {:6.2} ms, {:6.1} M rows/s ({} bytes per Bar)",
        floor * 1e3,
        rows as f64 / floor / 1e6,
        std::mem::size_of::<Bar>()
    );
    let floor = best_of(|| {
        for s in &series {
            let [_, h, l, c, v] = &s.cols;
            let mut acc = [0.0; 8];
            for (((h, l), c), v) in h
                .chunks(8)
                .zip(l.chunks(8))
                .zip(c.chunks(8))
                .zip(v.chunks(8))
            {
                for k in 0..h.len() {
                    acc[k] += h[k] + l[k] + c[k] + v[k];
                }
            }
            black_box(acc);
        }
    });
    eprintln!(
        "read floor, columns: {:6.2} ms, {:6.1} M rows/s (high, low, close, volume)",
        floor * 1e3,
        rows as f64 / floor / 1e6
    );
    let check = best_of(|| {
        for s in &series {
            black_box(s.columns());
        }
    });
    eprintln!(
        "BarColumns::new (checks, not timed below): {:.2} ms",
        check * 1e3
    );
    let columns: Vec<BarColumns<'_>> = series.iter().map(Series::columns).collect();
    let cal = Calendar::get(CALENDAR).unwrap();
    let only = std::env::var("BENCH_TF").ok();
    for tf in ["5m", "1h", "1d"] {
        if only.as_deref().is_some_and(|o| o != tf) {
            continue;
        }
        let mut spec = AggSpec::new(tf.parse().unwrap());
        spec.sessions = SessionFilter::All;
        let agg = Aggregator::new(cal, Resolution::Minute, spec).unwrap();
        // Both layouts give the same bars.
        let mut out_bars = 0;
        for (s, c) in series.iter().zip(&columns) {
            let by_rows = agg.aggregate(&s.bars, None).unwrap();
            assert_eq!(agg.aggregate_columns(c, None), by_rows);
            out_bars += by_rows.bars.len();
        }
        eprintln!("{tf}: {out_bars} bars out");
        let rows_1 = best_of(|| {
            for s in &series {
                black_box(agg.aggregate(black_box(&s.bars), None).unwrap());
            }
        });
        report("engine rows", "ENGINE", tf, rows, rows_1);
        let rows_2 = best_of(|| {
            on_two_threads(&series, |s| {
                black_box(agg.aggregate(black_box(&s.bars), None).unwrap());
            })
        });
        report("engine rows, 2 threads", "ENGINE2", tf, rows, rows_2);
        let cols_1 = best_of(|| {
            for c in &columns {
                black_box(agg.aggregate_columns(black_box(c), None));
            }
        });
        report("engine columns", "COLUMNS", tf, rows, cols_1);
        let cols_2 = best_of(|| {
            on_two_threads(&columns, |c| {
                black_box(agg.aggregate_columns(black_box(c), None));
            })
        });
        report("engine columns, 2 thr", "COLUMNS2", tf, rows, cols_2);
    }
}
