//! Gap detection against the calendar, and gap filling of aggregated output.
//!
//! A gap is a span where the calendar expects base bars (each minute of each session in the
//! filter, outside breaks; for a daily base, each trading day) and none exist. Closed
//! sessions, breaks, holidays and weekends are never gaps, and a gap never crosses a
//! session boundary or a break. Only the supported span 1900-01-01..=2100-12-31 is
//! searched, and [`detect_gaps_bounded`] holds at most a caller-chosen number of gap spans
//! (counts stay exact), so neither time nor memory grows beyond the span's ~73,000 days.
//!
//! ```
//! use tradeassist_engine::{detect_gaps, Calendar, SessionFilter};
//! use tradeassist_model::{Bar, Resolution, TimeRange};
//!
//! let cal = Calendar::get("us_equity").unwrap();
//! let open = 1_381_152_600; // 2013-10-07 09:30 ET
//! let bars: Vec<Bar> = (0..390)
//!     .filter(|i| *i != 7)
//!     .map(|i| Bar::new(open + 60 * i, 1.0, 1.0, 1.0, 1.0, 1.0).unwrap())
//!     .collect();
//! let range = TimeRange::new(open - 3600, open + 86_400).unwrap();
//! let report = detect_gaps(&bars, Resolution::Minute, cal, SessionFilter::Regular, range).unwrap();
//! assert_eq!(report.gaps.len(), 1);
//! assert_eq!(report.gaps[0].missing, 1);
//! assert_eq!(report.expected, 390);
//! ```

use tradeassist_model::{Bar, Resolution, TimeRange, date_key};

use crate::EngineError;
use crate::aggregate::{
    AggBar, Aggregation, Aggregator, Bucket, FillKind, Ohlc, check_sorted, complete,
};
use crate::calendar::{Calendar, Session, SessionFilter, clamp_to_span, utc_date};

/// A span without base bars where the calendar expects some: `[start, end)` UTC seconds.
/// For a daily base, `start`/`end` are date keys (00:00 UTC) and `missing` counts days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub start: i64,
    pub end: i64,
    /// Number of expected base bars missing.
    pub missing: u64,
}

/// Result of [`detect_gaps`] / [`detect_gaps_bounded`].
#[derive(Debug, Clone, PartialEq)]
pub struct GapReport {
    /// The first gaps in time order: all of them, or the first `max_gaps` when
    /// [`GapReport::truncated`].
    pub gaps: Vec<Gap>,
    /// Base bars the calendar expects in the range (exact, also when truncated).
    pub expected: u64,
    /// Expected slots that have a bar (exact).
    pub present: u64,
    /// Number of gaps in the range (exact; more than `gaps.len()` when truncated).
    pub total_gaps: u64,
    /// True when gaps were left out of `gaps` because of the cap.
    pub truncated: bool,
}

impl GapReport {
    fn new() -> Self {
        GapReport {
            gaps: Vec::new(),
            expected: 0,
            present: 0,
            total_gaps: 0,
            truncated: false,
        }
    }

    /// `present / expected` (1.0 when nothing is expected).
    pub fn completeness(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.present as f64 / self.expected as f64
        }
    }

    /// Missing expected slots (`expected - present`).
    pub fn missing(&self) -> u64 {
        self.expected - self.present
    }
}

/// Collects gaps up to a cap while counting all of them.
struct Sink {
    report: GapReport,
    max_gaps: usize,
}

impl Sink {
    fn push(&mut self, g: Gap) {
        self.report.total_gaps += 1;
        if self.report.gaps.len() < self.max_gaps {
            self.report.gaps.push(g);
        } else {
            self.report.truncated = true;
        }
    }
}

/// Find the gaps of a base series (strictly increasing `ts`) within `range`, keeping every
/// gap span. Prefer [`detect_gaps_bounded`] for user-chosen ranges.
pub fn detect_gaps(
    bars: &[Bar],
    base: Resolution,
    cal: &Calendar,
    filter: SessionFilter,
    range: TimeRange,
) -> Result<GapReport, EngineError> {
    detect_gaps_bounded(bars, base, cal, filter, range, usize::MAX)
}

/// Find the gaps of a base series (strictly increasing `ts`) within `range`, holding at most
/// `max_gaps` gap spans (the first ones); `expected`, `present` and `total_gaps` stay exact
/// and `truncated` says spans were left out. Work is `O(sessions + bars)` and memory
/// `O(max_gaps)`: no per-slot list is ever built, so a 200-year minute range with no bars
/// costs one pass over its ~50,000 sessions.
pub fn detect_gaps_bounded(
    bars: &[Bar],
    base: Resolution,
    cal: &Calendar,
    filter: SessionFilter,
    range: TimeRange,
    max_gaps: usize,
) -> Result<GapReport, EngineError> {
    check_sorted(bars)?;
    let mut sink = Sink {
        report: GapReport::new(),
        max_gaps,
    };
    match base {
        Resolution::Minute => {
            let mut i = 0;
            for s in cal.sessions_in(range, filter) {
                for_each_segment(&s, range, |a, b| {
                    scan_segment(bars, &mut i, a, b, 60, &mut sink)
                });
            }
        }
        Resolution::Day => {
            let mut i = 0;
            let mut open_gap: Option<Gap> = None;
            for d in trading_days_in(cal, range) {
                let key = date_key(d);
                sink.report.expected += 1;
                // Bars dated after the previous trading day and up to `d` map to `d`.
                let mut found = false;
                while i < bars.len() && cal.next_trading_day(utc_date(bars[i].ts())) <= d {
                    found |= cal.next_trading_day(utc_date(bars[i].ts())) == d;
                    i += 1;
                }
                if found {
                    sink.report.present += 1;
                    if let Some(g) = open_gap.take() {
                        sink.push(g);
                    }
                } else {
                    match &mut open_gap {
                        Some(g) => {
                            g.end = key + 86_400;
                            g.missing += 1;
                        }
                        None => {
                            open_gap = Some(Gap {
                                start: key,
                                end: key + 86_400,
                                missing: 1,
                            })
                        }
                    }
                }
            }
            if let Some(g) = open_gap {
                sink.push(g);
            }
        }
    }
    Ok(sink.report)
}

/// The number of base bars the calendar expects in `range` (what [`GapReport::expected`]
/// reports, without looking at bars): each minute of each session in the filter outside
/// breaks, or each trading day for a daily base. `O(sessions)` time, constant memory.
pub fn expected_slots(
    base: Resolution,
    cal: &Calendar,
    filter: SessionFilter,
    range: TimeRange,
) -> u64 {
    match base {
        Resolution::Minute => {
            let mut n = 0;
            for s in cal.sessions_in(range, filter) {
                for_each_segment(&s, range, |a, b| n += ((b - a + 59) / 60) as u64);
            }
            n
        }
        Resolution::Day => trading_days_in(cal, range).count() as u64,
    }
}

/// Trading days whose date key lies in `range`.
fn trading_days_in(
    cal: &Calendar,
    range: TimeRange,
) -> impl Iterator<Item = chrono::NaiveDate> + '_ {
    let first = clamp_to_span(utc_date(range.start()));
    let last = clamp_to_span(utc_date(range.end() - 1));
    first
        .iter_days()
        .take_while(move |d| *d <= last)
        .filter(move |d| cal.is_trading_day(*d) && range.contains(date_key(*d)))
}

/// Call `f(a, b)` for each part `[a, b)` of session `s` between its breaks, clipped to
/// `range` and started on the session's minute grid.
fn for_each_segment(s: &Session, range: TimeRange, mut f: impl FnMut(i64, i64)) {
    let mut clip = |lo: i64, hi: i64| {
        if range.start() >= hi || range.end() <= lo {
            return;
        }
        // `range.start()` lies below `hi` here, so the grid arithmetic cannot overflow.
        let a = if range.start() <= lo {
            lo
        } else {
            align_up(range.start(), lo)
        };
        let b = hi.min(range.end());
        if a < b {
            f(a, b);
        }
    };
    let mut start = s.open();
    for b in s.breaks() {
        clip(start, b.start());
        start = b.end();
    }
    clip(start, s.close());
}

/// The first instant `>= ts` on the minute grid anchored at `anchor`.
fn align_up(ts: i64, anchor: i64) -> i64 {
    anchor + (ts - anchor + 59).div_euclid(60) * 60
}

/// Walk the expected slots `a, a+step, .. < b`, advancing `i` through `bars`.
fn scan_segment(bars: &[Bar], i: &mut usize, a: i64, b: i64, step: i64, sink: &mut Sink) {
    let mut t = a;
    while t < b {
        while *i < bars.len() && bars[*i].ts() < t {
            *i += 1;
        }
        if *i < bars.len() && bars[*i].ts() == t {
            sink.report.present += 1;
            *i += 1;
            t += step;
            continue;
        }
        // Missing run up to the grid slot of the next bar (or the segment end).
        let end = match bars.get(*i) {
            Some(next) if next.ts() < b => a + (next.ts() - a + step - 1).div_euclid(step) * step,
            _ => b,
        }
        .min(b);
        sink.push(Gap {
            start: t,
            end,
            missing: ((end - t + step - 1) / step) as u64,
        });
        t = end;
    }
    sink.report.expected += ((b - a + step - 1) / step) as u64;
}

/// How missing buckets are filled (`none`, `null`, `prev` or `linear`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum FillMethod {
    /// Only buckets with data (default).
    #[default]
    None,
    /// Empty buckets appear with no prices.
    Null,
    /// Empty buckets repeat the previous close (O=H=L=C), zero volume.
    Prev,
    /// Empty buckets take the close interpolated linearly between the previous and the next
    /// bar with data, by bucket position (O=H=L=C), zero volume.
    Linear,
}

tradeassist_model::named_options!(
    FillMethod,
    "fill method",
    [
        None = "none",
        Null = "null",
        Prev = "prev",
        Linear = "linear"
    ]
);

impl Aggregator<'_> {
    /// [`Aggregator::fill`], refused before anything is built when the filled series would
    /// have more than `max_bars` bars ([`Aggregator::bucket_count`] of `range`, computed
    /// from the calendar alone): [`EngineError::TooManyBars`].
    pub fn fill_bounded(
        &self,
        agg: &Aggregation,
        range: TimeRange,
        method: FillMethod,
        seed: Option<&Bar>,
        max_bars: u64,
    ) -> Result<Vec<AggBar>, EngineError> {
        if method != FillMethod::None {
            let bars = self.bucket_count(range);
            if bars > max_bars {
                return Err(EngineError::TooManyBars {
                    bars,
                    max: max_bars,
                });
            }
        }
        Ok(self.fill(agg, range, method, seed))
    }

    /// Fill the empty expected buckets of `range` in an aggregation of that range.
    ///
    /// `seed` is the last base bar before the window (supplied by the caller): buckets before
    /// the first bar with data take their previous value from it. A bucket that cannot be
    /// filled (no previous value, or no next value for `Linear`) is emitted as a
    /// [`FillKind::Null`] bar, so the output always has every expected bucket.
    pub fn fill(
        &self,
        agg: &Aggregation,
        range: TimeRange,
        method: FillMethod,
        seed: Option<&Bar>,
    ) -> Vec<AggBar> {
        if method == FillMethod::None {
            return agg.bars.clone();
        }
        let expected = self.buckets(range);
        let label_end = self.spec().label == crate::Label::End;
        let empty = |b: &Bucket| AggBar {
            ts: if label_end { b.end } else { b.start },
            start: b.start,
            end: b.end,
            date: b.date,
            ohlc: None,
            volume: 0.0,
            open_interest: None,
            vwap: None,
            session_vwap: None,
            complete: complete(b.end, agg.data_end, agg.now),
            count: 0,
            filled: Some(FillKind::Null),
        };
        // Merge the real bars into the expected grid.
        let mut out: Vec<AggBar> = Vec::with_capacity(expected.len().max(agg.bars.len()));
        let mut real = agg.bars.iter().peekable();
        for b in &expected {
            while let Some(r) = real.peek()
                && r.start < b.start
            {
                out.push(**r);
                real.next();
            }
            match real.peek() {
                Some(r) if r.start == b.start => {
                    out.push(**r);
                    real.next();
                }
                _ => out.push(empty(b)),
            }
        }
        out.extend(real.copied());

        let flat = |bar: &mut AggBar, price: f64, kind: FillKind| {
            bar.ohlc = Some(Ohlc {
                open: price,
                high: price,
                low: price,
                close: price,
            });
            bar.filled = Some(kind);
        };
        let close_of = |b: &AggBar| b.ohlc.map(|o| o.close);
        match method {
            FillMethod::None | FillMethod::Null => {}
            FillMethod::Prev => {
                let mut prev = seed.map(Bar::close);
                for bar in &mut out {
                    if bar.filled.is_none() {
                        prev = close_of(bar);
                    } else if let Some(p) = prev {
                        flat(bar, p, FillKind::Prev);
                    }
                }
            }
            FillMethod::Linear => {
                // (position, close) of the previous known value; the seed sits at -1.
                let mut prev: Option<(i64, f64)> = seed.map(|s| (-1, s.close()));
                let n = out.len();
                let mut i = 0;
                while i < n {
                    if out[i].filled.is_none() {
                        prev = close_of(&out[i]).map(|c| (i as i64, c));
                        i += 1;
                        continue;
                    }
                    let j = (i..n).find(|k| out[*k].filled.is_none());
                    let next = j.and_then(|j| close_of(&out[j]).map(|c| (j as i64, c)));
                    if let (Some((p0, c0)), Some((p1, c1))) = (prev, next) {
                        for (k, bar) in out.iter_mut().enumerate().take(j.unwrap_or(n)).skip(i) {
                            let t = (k as i64 - p0) as f64 / (p1 - p0) as f64;
                            flat(bar, c0 + (c1 - c0) * t, FillKind::Linear);
                        }
                    }
                    i = j.unwrap_or(n);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: i64, c: f64) -> Bar {
        Bar::new(ts, c, c, c, c, 1.0).unwrap()
    }

    #[test]
    fn segment_scan_counts_runs() {
        let bars = vec![
            bar(0, 1.0),
            bar(60, 1.0),
            bar(240, 1.0),
            bar(250, 1.0),
            bar(300, 1.0),
        ];
        let mut sink = Sink {
            report: GapReport::new(),
            max_gaps: usize::MAX,
        };
        let mut i = 0;
        scan_segment(&bars, &mut i, 0, 420, 60, &mut sink);
        let r = sink.report;
        assert_eq!(r.total_gaps, 2);
        assert_eq!(r.expected, 7);
        assert_eq!(r.present, 4);
        assert_eq!(
            r.gaps,
            vec![
                Gap {
                    start: 120,
                    end: 240,
                    missing: 2
                },
                Gap {
                    start: 360,
                    end: 420,
                    missing: 1
                }
            ]
        );
    }

    #[test]
    fn empty_report_is_complete() {
        assert_eq!(GapReport::new().completeness(), 1.0);
    }
}
