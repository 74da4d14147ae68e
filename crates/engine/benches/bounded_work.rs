//! Cost of the work estimates and of bounded gap detection over the whole supported span:
//! `cargo bench -p tradeassist-engine --bench bounded_work`.
//!
//! Over 1900-01-01..2100-12-31 on `us_equity` regular hours at a 1-minute base (about 50,000
//! sessions, 19.6 M expected minutes) it times, best of 5 runs:
//! `Aggregator::bucket_count` (1m and 1d), `expected_slots`, and `detect_gaps_bounded` on an
//! empty series and on a one-day series with a cap of 1,000 gap spans, then prints the peak
//! resident memory of the process (`VmHWM`). Lines: `<what>,<seconds>,<result>`.

use std::hint::black_box;
use std::time::Instant;

use tradeassist_engine::{
    AggSpec, Aggregator, Calendar, SessionFilter, detect_gaps_bounded, expected_slots,
};
use tradeassist_model::time::{END_TS, FIRST_TS};
use tradeassist_model::{Bar, Resolution, TimeRange};

const RUNS: usize = 5;

fn best<T>(what: &str, mut f: impl FnMut() -> T, show: impl Fn(&T) -> String) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    println!("{what},{best:.4},{}", show(last.as_ref().expect("ran")));
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let cal = Calendar::get("us_equity").expect("calendar");
    let span = TimeRange::new(FIRST_TS, END_TS).expect("span");
    let minute = Aggregator::new(cal, Resolution::Minute, AggSpec::new("1m".parse().unwrap()))
        .expect("aggregator");
    let daily = Aggregator::new(cal, Resolution::Minute, AggSpec::new("1d".parse().unwrap()))
        .expect("aggregator");
    best(
        "bucket_count_1m",
        || minute.bucket_count(span),
        |n| n.to_string(),
    );
    best(
        "bucket_count_1d",
        || daily.bucket_count(span),
        |n| n.to_string(),
    );
    best(
        "expected_slots_1m",
        || expected_slots(Resolution::Minute, cal, SessionFilter::Regular, span),
        |n| n.to_string(),
    );
    let report = |r: &tradeassist_engine::GapReport| {
        format!(
            "expected={} present={} total_gaps={} kept={} truncated={}",
            r.expected,
            r.present,
            r.total_gaps,
            r.gaps.len(),
            r.truncated
        )
    };
    best(
        "gaps_empty_series_1m",
        || {
            detect_gaps_bounded(
                &[],
                Resolution::Minute,
                cal,
                SessionFilter::Regular,
                span,
                1_000,
            )
            .expect("sorted")
        },
        report,
    );
    // One regular session of minutes (2013-10-07 09:30 ET on).
    let open = 1_381_152_600;
    let day: Vec<Bar> = (0..390)
        .map(|i| Bar::new(open + 60 * i, 1.0, 1.0, 1.0, 1.0, 1.0).expect("bar"))
        .collect();
    best(
        "gaps_one_day_series_1m",
        || {
            detect_gaps_bounded(
                &day,
                Resolution::Minute,
                cal,
                SessionFilter::Regular,
                span,
                1_000,
            )
            .expect("sorted")
        },
        report,
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak_rss_kib,{kib}"),
        None => println!("peak_rss_kib,unknown"),
    }
}
