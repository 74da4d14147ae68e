//! Gap detection against the calendar, and gap filling of aggregated output.
//!
//! A gap is a span where the calendar expects base bars (each minute of each session in the
//! filter, outside breaks; for a daily base, each trading day) and none exist. Closed
//! sessions, breaks, holidays and weekends are never gaps, and a gap never crosses a
//! session boundary or a break.
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
use crate::calendar::{Calendar, SessionFilter, utc_date};

/// A span without base bars where the calendar expects some: `[start, end)` UTC seconds.
/// For a daily base, `start`/`end` are date keys (00:00 UTC) and `missing` counts days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub start: i64,
    pub end: i64,
    /// Number of expected base bars missing.
    pub missing: u64,
}

/// Result of [`detect_gaps`].
#[derive(Debug, Clone, PartialEq)]
pub struct GapReport {
    pub gaps: Vec<Gap>,
    /// Base bars the calendar expects in the range.
    pub expected: u64,
    /// Expected slots that have a bar.
    pub present: u64,
}

impl GapReport {
    /// `present / expected` (1.0 when nothing is expected).
    pub fn completeness(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.present as f64 / self.expected as f64
        }
    }
}

/// Find the gaps of a base series (strictly increasing `ts`) within `range`.
pub fn detect_gaps(
    bars: &[Bar],
    base: Resolution,
    cal: &Calendar,
    filter: SessionFilter,
    range: TimeRange,
) -> Result<GapReport, EngineError> {
    check_sorted(bars)?;
    let mut report = GapReport {
        gaps: Vec::new(),
        expected: 0,
        present: 0,
    };
    match base {
        Resolution::Minute => {
            let mut i = 0;
            for s in cal.sessions(range, filter) {
                // Segments of the session between its breaks, clipped to the range.
                let mut cuts = vec![s.open()];
                for b in s.breaks() {
                    cuts.push(b.start());
                    cuts.push(b.end());
                }
                cuts.push(s.close());
                for seg in cuts.chunks(2) {
                    let a = seg[0].max(align_up(range.start(), seg[0]));
                    let b = seg[1].min(range.end());
                    if a < b {
                        scan_segment(bars, &mut i, a, b, 60, &mut report);
                    }
                }
            }
        }
        Resolution::Day => {
            let first = utc_date(range.start());
            let last = utc_date(range.end() - 1);
            let mut i = 0;
            let mut open_gap: Option<Gap> = None;
            for d in first.iter_days().take_while(|d| *d <= last) {
                if !cal.is_trading_day(d) {
                    continue;
                }
                let key = date_key(d);
                if !range.contains(key) {
                    continue;
                }
                report.expected += 1;
                // Bars dated after the previous trading day and up to `d` map to `d`.
                let mut found = false;
                while i < bars.len() && cal.next_trading_day(utc_date(bars[i].ts())) <= d {
                    found |= cal.next_trading_day(utc_date(bars[i].ts())) == d;
                    i += 1;
                }
                if found {
                    report.present += 1;
                    if let Some(g) = open_gap.take() {
                        report.gaps.push(g);
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
            report.gaps.extend(open_gap);
        }
    }
    Ok(report)
}

/// The first instant `>= ts` on the minute grid anchored at `anchor`.
fn align_up(ts: i64, anchor: i64) -> i64 {
    anchor + (ts - anchor + 59).div_euclid(60) * 60
}

/// Walk the expected slots `a, a+step, .. < b`, advancing `i` through `bars`.
fn scan_segment(bars: &[Bar], i: &mut usize, a: i64, b: i64, step: i64, r: &mut GapReport) {
    let mut t = a;
    while t < b {
        while *i < bars.len() && bars[*i].ts() < t {
            *i += 1;
        }
        if *i < bars.len() && bars[*i].ts() == t {
            r.present += 1;
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
        r.gaps.push(Gap {
            start: t,
            end,
            missing: ((end - t + step - 1) / step) as u64,
        });
        t = end;
    }
    r.expected += ((b - a + step - 1) / step) as u64;
}

/// How missing buckets are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
        let mut r = GapReport {
            gaps: vec![],
            expected: 0,
            present: 0,
        };
        let mut i = 0;
        scan_segment(&bars, &mut i, 0, 420, 60, &mut r);
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
        let r = GapReport {
            gaps: vec![],
            expected: 0,
            present: 0,
        };
        assert_eq!(r.completeness(), 1.0);
    }
}
