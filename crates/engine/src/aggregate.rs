//! Aggregation of base bars (1m or 1d) to any [`Timeframe`], following the trading calendar.
//!
//! Buckets are half-open `[start, end)`:
//! - **intraday** (`s m h`): fixed-size buckets inside each session, aligned to the session
//!   open ([`Align::Session`]) or to a clock origin ([`Align::Clock`], like TimescaleDB
//!   `time_bucket(period, ts, origin) + offset`). A bucket never spans two sessions: the first
//!   bucket of a session starts at the open and the last ends at the close, so clock-aligned
//!   buckets are clipped to the session. Intra-session breaks do not restart buckets; bars
//!   inside breaks and outside the session filter are ignored.
//! - **`1d`**: one trading session in the exchange timezone (a CME Globex day runs 17:00 CT on
//!   the previous day to the close). From a daily base, a bar keyed by date `D` belongs to the
//!   first trading day on or after `D` (a vendor's Sunday-evening futures bar joins Monday).
//! - **`Nd`**: `N` consecutive trading days counted from a fixed origin
//!   ([`Calendar::trading_day_index`]); with [`Align::Clock`], `N` calendar days from the
//!   origin's local date. **`Nw`**: ISO weeks (Monday-based) of trading days, `N` at a time
//!   from 1970-01-05. **`NM`**: calendar months of trading days (`3M` = quarters).
//!
//! Day-and-longer buckets start at the open of their first trading session and end at the
//! close of their last (per the session filter); `date` is the first trading day.
//!
//! ```
//! use tradeassist_engine::{Aggregator, AggSpec, Calendar};
//! use tradeassist_model::{Bar, Resolution};
//!
//! let cal = Calendar::get("us_equity").unwrap();
//! let open = 1_381_152_600; // 2013-10-07 09:30 ET
//! let bars: Vec<Bar> = (0..10)
//!     .map(|i| Bar::new(open + 60 * i, 10.0, 11.0, 9.0, 10.5, 100.0).unwrap())
//!     .collect();
//! let agg = Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
//! let out = agg.aggregate(&bars, None).unwrap();
//! assert_eq!(out.bars.len(), 2);
//! assert_eq!(out.bars[1].start, open + 300);
//! assert_eq!(out.bars[1].volume, 500.0);
//! assert!(out.bars[1].complete);
//! ```

use chrono::{Datelike, NaiveDate};
use tradeassist_model::time::{END_TS, FIRST_TS};
use tradeassist_model::{Bar, Resolution, TimeRange, TimeUnit, Timeframe, date_key};

use crate::EngineError;
use crate::calendar::{
    Calendar, Session, SessionFilter, clamp_to_span, index_epoch, shift_days, utc_date,
};
use crate::columns::BarColumns;

/// Largest `|offset|` of [`Align::Clock`]: 366 days in seconds (an offset only shifts the
/// bucket grid, so a year covers every useful value).
pub const MAX_CLOCK_OFFSET: i64 = 366 * 86_400;

/// How intraday buckets are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Align {
    /// Buckets start at each session open (default).
    #[default]
    Session,
    /// Buckets start at `origin + offset + k * period` (UTC seconds), clipped to the session.
    /// For `Nd` bars, the origin's local date starts the first group of `N` calendar days.
    /// [`Aggregator::new`] requires `origin` in the supported span (1900-01-01T00:00:00Z up to
    /// 2101-01-01T00:00:00Z, exclusive) and `|offset| <= MAX_CLOCK_OFFSET`.
    Clock { origin: i64, offset: i64 },
}

impl Align {
    /// `session` or `clock`, without the clock's origin and offset.
    pub fn kind(self) -> AlignKind {
        match self {
            Align::Session => AlignKind::Session,
            Align::Clock { .. } => AlignKind::Clock,
        }
    }
}

/// The kind of an [`Align`]: `session` or `clock` (the words a request uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum AlignKind {
    #[default]
    Session,
    Clock,
}

tradeassist_model::named_options!(
    AlignKind,
    "alignment",
    [Session = "session", Clock = "clock"]
);

/// Which instant labels a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Label {
    /// The bucket start (default).
    #[default]
    Start,
    /// The bucket end (exclusive end of the interval).
    End,
}

tradeassist_model::named_options!(Label, "bar label", [Start = "start", End = "end"]);

/// What an aggregation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AggSpec {
    pub timeframe: Timeframe,
    pub align: Align,
    pub label: Label,
    /// Applied to base bars before bucketing.
    pub sessions: SessionFilter,
    /// Also compute the session-anchored cumulative VWAP ([`AggBar::session_vwap`]).
    pub session_vwap: bool,
}

impl AggSpec {
    /// Defaults: session alignment, start labels, regular hours, no session VWAP.
    pub fn new(timeframe: Timeframe) -> Self {
        AggSpec {
            timeframe,
            align: Align::Session,
            label: Label::Start,
            sessions: SessionFilter::Regular,
            session_vwap: false,
        }
    }
}

/// Which price the VWAP of a result is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VwapSource {
    /// Every base bar carried the vendor's VWAP.
    Vendor,
    /// At least one base bar had none, so `(high + low + close) / 3` was used throughout.
    TypicalPrice,
}

/// Prices of an output bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// How a gap-filled bar got its values (see [`crate::FillMethod`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillKind {
    /// No prices (`ohlc` is `None`).
    Null,
    /// Previous close repeated as O=H=L=C, zero volume.
    Prev,
    /// Close interpolated linearly between neighbours, O=H=L=C, zero volume.
    Linear,
}

/// One aggregated bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggBar {
    /// The label: `start` or `end` per [`Label`].
    pub ts: i64,
    /// Bucket start (UTC seconds, inclusive).
    pub start: i64,
    /// Bucket end (UTC seconds, exclusive; clipped to the session close).
    pub end: i64,
    /// Trading day (first of the bucket) for `1d` and longer; `None` intraday.
    pub date: Option<NaiveDate>,
    /// `None` only for [`FillKind::Null`] bars.
    pub ohlc: Option<Ohlc>,
    pub volume: f64,
    /// Last non-null open interest of the bucket.
    pub open_interest: Option<f64>,
    /// `Σ(price·volume)/Σ(volume)`; `None` when the volume is zero.
    pub vwap: Option<f64>,
    /// Cumulative VWAP from the open of the session of the bucket's last base bar through
    /// that bar (only when [`AggSpec::session_vwap`] is set and volume is non-zero).
    pub session_vwap: Option<f64>,
    /// False when the bucket end lies after the end of the last base bar or after `now`.
    pub complete: bool,
    /// Number of base bars aggregated.
    pub count: u32,
    /// `Some` for bars created by gap filling.
    pub filled: Option<FillKind>,
}

/// The result of [`Aggregator::aggregate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    pub bars: Vec<AggBar>,
    pub vwap_source: VwapSource,
    /// End of the last base bar (UTC seconds; for a daily base, the close of its session).
    pub data_end: Option<i64>,
    /// The `now` the completeness flags were computed against.
    pub now: Option<i64>,
}

/// A bucket the calendar expects, whether or not data exists for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start: i64,
    pub end: i64,
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Intraday(i64),
    Days(u32),
    Weeks(u32),
    Months(u32),
}

/// Aggregates base bars of one instrument for one [`AggSpec`]. Cheap to build; reusable.
#[derive(Debug, Clone, Copy)]
pub struct Aggregator<'c> {
    cal: &'c Calendar,
    base: Resolution,
    spec: AggSpec,
    kind: Kind,
}

impl<'c> Aggregator<'c> {
    /// Check that `spec.timeframe` can be derived from `base` (intraday frequencies need a
    /// minute base and a whole number of minutes) and that a clock alignment's origin and
    /// offset are in bounds ([`Align::Clock`]).
    pub fn new(cal: &'c Calendar, base: Resolution, spec: AggSpec) -> Result<Self, EngineError> {
        if let Align::Clock { origin, offset } = spec.align {
            if !(FIRST_TS..END_TS).contains(&origin) {
                return Err(EngineError::OutOfRange {
                    option: "origin",
                    value: origin.to_string(),
                    allowed: "1900-01-01T00:00:00Z..2101-01-01T00:00:00Z (UTC seconds)".into(),
                });
            }
            if offset.unsigned_abs() > MAX_CLOCK_OFFSET as u64 {
                return Err(EngineError::OutOfRange {
                    option: "offset",
                    value: format!("{offset} s"),
                    allowed: format!("-{MAX_CLOCK_OFFSET}..={MAX_CLOCK_OFFSET} s (366 days)"),
                });
            }
        }
        let tf = spec.timeframe;
        let refuse = || EngineError::TimeframeNotDerivable {
            timeframe: tf,
            base,
        };
        let kind = match tf.unit() {
            TimeUnit::Second | TimeUnit::Minute | TimeUnit::Hour => {
                let secs = tf.fixed_seconds().ok_or_else(refuse)?;
                if base != Resolution::Minute || secs % 60 != 0 {
                    return Err(refuse());
                }
                Kind::Intraday(secs)
            }
            TimeUnit::Day => Kind::Days(tf.count()),
            TimeUnit::Week => Kind::Weeks(tf.count()),
            TimeUnit::Month => Kind::Months(tf.count()),
        };
        Ok(Aggregator {
            cal,
            base,
            spec,
            kind,
        })
    }

    pub fn spec(&self) -> &AggSpec {
        &self.spec
    }
    pub fn calendar(&self) -> &'c Calendar {
        self.cal
    }
    pub fn base(&self) -> Resolution {
        self.base
    }

    /// Aggregate `bars` (strictly increasing `ts`, each above `i64::MIN`). `now` (UTC
    /// seconds), when given, marks buckets ending after it incomplete.
    pub fn aggregate(&self, bars: &[Bar], now: Option<i64>) -> Result<Aggregation, EngineError> {
        self.aggregate_rows(bars, now)
            .map_err(|i| EngineError::Unsorted {
                index: i,
                ts: bars[i].ts(),
            })
    }

    /// [`Aggregator::aggregate`] over a columnar base series: the same bars, bit for bit, as
    /// aggregating the rows of `cols` as [`Bar`]s. Cannot fail: [`BarColumns`] are checked
    /// when built.
    pub fn aggregate_columns(&self, cols: &BarColumns<'_>, now: Option<i64>) -> Aggregation {
        self.aggregate_rows(cols, now)
            .unwrap_or_else(|i| unreachable!("BarColumns are sorted by construction (row {i})"))
    }

    /// The batch path over any row layout; `Err` holds the index of the first row that is
    /// not after its predecessor.
    fn aggregate_rows<R: Rows + ?Sized>(
        &self,
        rows: &R,
        now: Option<i64>,
    ) -> Result<Aggregation, usize> {
        let n = rows.len();
        let data_end = n.checked_sub(1).map(|i| self.data_end_at(rows.ts(i)));
        let mut out: Vec<AggBar> = Vec::with_capacity(self.estimate_len(n));
        // Vendor-VWAP numerators of the finished bars, kept while every bar so far had one;
        // bars are written with typical-price VWAPs and patched at the end if all had one.
        let mut vendor: Vec<(Option<f64>, Option<f64>)> = Vec::new();
        let mut state = State::new(self.spec);
        let mut bk = Bucketer::new(self);
        let spacing = self.base.seconds();
        let mut prev_ts = i64::MIN;
        let mut i = 0;
        while i < n {
            let ts = rows.ts(i);
            if ts <= prev_ts {
                return Err(i);
            }
            match bk.locate(ts) {
                Located::Out { until } => {
                    let next = rows.skip(i, until, spacing, &mut prev_ts)?;
                    // `until` is after `ts` except for bars beyond the last representable
                    // date (`until == i64::MAX`): step over this one row then.
                    i = if next > i {
                        next
                    } else {
                        prev_ts = ts;
                        i + 1
                    };
                }
                Located::In {
                    bucket,
                    seg_end,
                    session,
                } => {
                    if let Some(a) = state.take_if_other(bucket.key) {
                        let c = complete(a.b.end, data_end, now);
                        out.push(state.finish(a, c, VwapSource::TypicalPrice));
                        if state.all_vendor {
                            let v = state.finish(a, c, VwapSource::Vendor);
                            vendor.push((v.vwap, v.session_vwap));
                        }
                    }
                    let fed = Feed {
                        bucket,
                        session,
                        until: seg_end,
                        spacing,
                    };
                    i = rows.feed(i, fed, &mut state, &mut prev_ts)?;
                }
            }
        }
        if let Some(a) = state.acc.take() {
            let c = complete(a.b.end, data_end, now);
            out.push(state.finish(a, c, VwapSource::TypicalPrice));
            let v = state.finish(a, c, VwapSource::Vendor);
            vendor.push((v.vwap, v.session_vwap));
        }
        let vwap_source = if n > 0 && state.all_vendor {
            VwapSource::Vendor
        } else {
            VwapSource::TypicalPrice
        };
        if vwap_source == VwapSource::Vendor {
            for (bar, (vwap, session_vwap)) in out.iter_mut().zip(vendor) {
                bar.vwap = vwap;
                bar.session_vwap = session_vwap;
            }
        }
        Ok(Aggregation {
            bars: out,
            vwap_source,
            data_end,
            now,
        })
    }

    /// Every bucket the calendar expects that overlaps `range` (for a daily base: that
    /// contains a trading day whose date key lies in `range`), in order. Buckets lying
    /// entirely inside a break are not expected, nor any before 1900-01-01 or after
    /// 2100-12-31 (the supported span). See [`Aggregator::bucket_count`] for its length.
    pub fn buckets(&self, range: TimeRange) -> Vec<Bucket> {
        let filter = self.spec.sessions;
        let mut out: Vec<Bucket> = Vec::new();
        let push_group = |out: &mut Vec<Bucket>, g: GroupInfo| {
            if out.last().is_none_or(|b| b.start != g.bucket.start) {
                out.push(Bucket {
                    start: g.bucket.start,
                    end: g.bucket.end,
                    date: g.bucket.date,
                });
            }
        };
        if self.base == Resolution::Day {
            let first = clamp_to_span(utc_date(range.start()));
            let last = clamp_to_span(utc_date(range.end() - 1));
            for d in first.iter_days().take_while(|d| *d <= last) {
                if self.cal.is_trading_day(d) {
                    push_group(&mut out, self.group(d));
                }
            }
            return out;
        }
        for s in self.cal.sessions(range, filter) {
            match self.kind {
                Kind::Intraday(p) => {
                    let mut t = s.open();
                    while t < s.close() {
                        let (start, end) = self.intraday_bucket(&s, t, p);
                        let in_break = s
                            .breaks()
                            .iter()
                            .any(|b| b.start() <= start && end <= b.end());
                        if !in_break && start < range.end() && end > range.start() {
                            out.push(Bucket {
                                start,
                                end,
                                date: None,
                            });
                        }
                        t = end;
                    }
                }
                _ => push_group(&mut out, self.group(s.date())),
            }
        }
        out
    }

    /// The number of buckets [`Aggregator::buckets`] returns for `range`: the number of bars
    /// [`Aggregator::fill`] produces for that range (every expected bucket of every session,
    /// plus any bar with data outside them). Computed from the calendar alone in
    /// `O(sessions)` time with constant memory per session (no bucket is materialised), so
    /// a caller can refuse a fill before building it.
    pub fn bucket_count(&self, range: TimeRange) -> u64 {
        let filter = self.spec.sessions;
        // Day-or-longer groups: count distinct groups, jumping to the end of each one.
        let count_groups = |days: &mut dyn Iterator<Item = NaiveDate>| {
            let mut n = 0u64;
            let mut last_start = None;
            let mut group_last: Option<NaiveDate> = None;
            for d in days {
                if group_last.is_some_and(|l| d <= l) {
                    continue;
                }
                let g = self.group(d);
                if last_start != Some(g.bucket.start) {
                    n += 1;
                    last_start = Some(g.bucket.start);
                }
                group_last = Some(g.last);
            }
            n
        };
        if self.base == Resolution::Day {
            let first = clamp_to_span(utc_date(range.start()));
            let last = clamp_to_span(utc_date(range.end() - 1));
            let mut days = first
                .iter_days()
                .take_while(|d| *d <= last)
                .filter(|d| self.cal.is_trading_day(*d));
            return count_groups(&mut days);
        }
        match self.kind {
            Kind::Intraday(p) => self
                .cal
                .sessions_in(range, filter)
                .map(|s| self.intraday_count(&s, p, range))
                .sum(),
            _ => {
                let mut days = self.cal.sessions_in(range, filter).map(|s| s.date());
                count_groups(&mut days)
            }
        }
    }

    /// The intraday buckets of session `s` that overlap `range` and do not lie inside a
    /// break, counted by arithmetic on the bucket grid (the cells `j = 0..` are
    /// `[max(base + j p, open), min(base + (j + 1) p, close))`).
    fn intraday_count(&self, s: &Session, p: i64, range: TimeRange) -> u64 {
        let (open, close) = (s.open(), s.close());
        if close <= range.start() || open >= range.end() {
            return 0;
        }
        let base = match self.spec.align {
            Align::Session => open,
            Align::Clock { origin, offset } => {
                let o = origin + offset;
                o + (open - o).div_euclid(p) * p
            }
        };
        let ceil_div = |a: i64| a.div_euclid(p) + i64::from(a.rem_euclid(p) != 0);
        let cells = ceil_div(close - base);
        let lo = (range.start() - base).div_euclid(p).max(0);
        let hi = (ceil_div(range.end() - base) - 1).min(cells - 1);
        if hi < lo {
            return 0;
        }
        let mut count = hi - lo + 1;
        for b in s.breaks() {
            let first = ceil_div(b.start() - base);
            let last = if close <= b.end() {
                cells - 1
            } else {
                (b.end() - base).div_euclid(p) - 1
            };
            let (a, z) = (first.max(lo), last.min(hi));
            if z >= a {
                count -= z - a + 1;
            }
        }
        count as u64
    }

    /// End of the data: last minute bar's end, or the close of the last daily bar's session.
    pub(crate) fn data_end(&self, bars: &[Bar]) -> Option<i64> {
        bars.last().map(|b| self.data_end_at(b.ts()))
    }

    /// [`Aggregator::data_end`] of a series whose last bar starts at `last`.
    fn data_end_at(&self, last: i64) -> i64 {
        match self.base {
            Resolution::Minute => last.saturating_add(60),
            Resolution::Day => {
                let td = self.cal.next_trading_day(utc_date(last));
                self.cal
                    .session(td, self.spec.sessions)
                    .map_or(last.saturating_add(86_400), |s| s.close())
            }
        }
    }

    fn estimate_len(&self, rows: usize) -> usize {
        match self.kind {
            Kind::Intraday(p) if rows > 0 => rows / (p as usize / 60) + 16,
            _ => 16,
        }
    }

    /// `(start, end)` of the intraday bucket of `ts` in session `s`.
    #[inline]
    fn intraday_bucket(&self, s: &Session, ts: i64, p: i64) -> (i64, i64) {
        match self.spec.align {
            Align::Session => {
                let since = ts - s.open();
                // Most bars fall in one of the next few buckets: skip the division.
                let start = if since < 4 * p {
                    let mut k = 0;
                    while k + p <= since {
                        k += p;
                    }
                    s.open() + k
                } else {
                    s.open() + since / p * p
                };
                (start, (start + p).min(s.close()))
            }
            Align::Clock { origin, offset } => {
                let o = origin + offset;
                let clock = o + (ts - o).div_euclid(p) * p;
                (clock.max(s.open()), (clock + p).min(s.close()))
            }
        }
    }

    /// The day-or-longer group containing trading day `td`.
    pub(crate) fn group(&self, td: NaiveDate) -> GroupInfo {
        let (lo, hi) = match self.kind {
            Kind::Days(1) | Kind::Intraday(_) => (td, td),
            Kind::Days(n) => match self.spec.align {
                Align::Session => {
                    // Trading days with index in [g n, (g + 1) n), found by bisection.
                    let n = i64::from(n);
                    let g = self.cal.trading_day_index(td).div_euclid(n);
                    let lo = self.cal.trading_day_at_index(g * n);
                    let hi = self.cal.trading_day_at_index(g * n + n - 1);
                    (lo.min(td), hi.max(td))
                }
                Align::Clock { origin, offset } => {
                    let o = self.cal.local_date(origin + offset);
                    let n = i64::from(n);
                    let k = (td - o).num_days().div_euclid(n);
                    let lo = shift_days(o, k * n);
                    (lo, shift_days(lo, n - 1))
                }
            },
            Kind::Weeks(n) => {
                let n = i64::from(n);
                let monday = shift_days(td, -i64::from(td.weekday().num_days_from_monday()));
                let w = (monday - index_epoch()).num_days() / 7;
                let lo = shift_days(index_epoch(), 7 * (w.div_euclid(n) * n));
                (lo, shift_days(lo, 7 * n - 1))
            }
            Kind::Months(n) => {
                let n = i64::from(n);
                let m = i64::from(td.year()) * 12 + i64::from(td.month0());
                let g = m.div_euclid(n) * n;
                let lo = month_start(g);
                let hi = shift_days(month_start(g + n), -1);
                (lo, hi)
            }
        };
        let first = self.cal.next_trading_day(lo);
        let last = self.cal.prev_trading_day(hi);
        let filter = self.spec.sessions;
        let start = self
            .cal
            .session(first, filter)
            .map_or(date_key(first), |s| s.open());
        let end = self
            .cal
            .session(last, filter)
            .map_or(date_key(last) + 86_400, |s| s.close());
        GroupInfo {
            bucket: BucketInfo {
                key: start,
                start,
                end,
                date: Some(first),
            },
            last,
        }
    }
}

/// The first day of month `month_index` (`year * 12 + month0`), saturating at the ends of
/// the representable dates.
fn month_start(month_index: i64) -> NaiveDate {
    let year = month_index.div_euclid(12);
    i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month_index.rem_euclid(12) as u32 + 1, 1))
        .unwrap_or(if year < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// `Vendor` when every bar carries a vendor VWAP (and there is at least one bar).
pub fn vwap_source(bars: &[Bar]) -> VwapSource {
    if !bars.is_empty() && bars.iter().all(|b| b.vwap().is_some()) {
        VwapSource::Vendor
    } else {
        VwapSource::TypicalPrice
    }
}

pub(crate) fn check_sorted(bars: &[Bar]) -> Result<(), EngineError> {
    match bars.windows(2).position(|w| w[1].ts() <= w[0].ts()) {
        Some(i) => Err(EngineError::Unsorted {
            index: i + 1,
            ts: bars[i + 1].ts(),
        }),
        None => Ok(()),
    }
}

#[inline]
pub(crate) fn complete(end: i64, data_end: Option<i64>, now: Option<i64>) -> bool {
    data_end.is_some_and(|d| end <= d) && now.is_none_or(|n| end <= n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BucketInfo {
    pub key: i64,
    pub start: i64,
    pub end: i64,
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupInfo {
    pub bucket: BucketInfo,
    /// Last trading day of the group.
    pub last: NaiveDate,
}

pub(crate) enum Located {
    /// `ts` belongs to `bucket`; so do all following bars with `ts < seg_end`.
    In {
        bucket: BucketInfo,
        seg_end: i64,
        session: i64,
    },
    /// `ts` is outside every session of the filter; so are bars with `ts < until`.
    Out { until: i64 },
}

/// Maps increasing timestamps to buckets, walking the calendar's sessions forward.
pub(crate) struct Bucketer<'a> {
    agg: Aggregator<'a>,
    sessions: Vec<Session>,
    idx: usize,
    next_date: Option<NaiveDate>,
    group: Option<GroupInfo>,
}

const SESSION_CHUNK_DAYS: i64 = 32;

impl<'a> Bucketer<'a> {
    pub(crate) fn new(agg: &Aggregator<'a>) -> Self {
        Bucketer {
            agg: *agg,
            sessions: Vec::new(),
            idx: 0,
            next_date: None,
            group: None,
        }
    }

    /// The first session closing after `ts`; `None` when no representable date has one.
    fn session_after(&mut self, ts: i64) -> Option<&Session> {
        loop {
            while self.idx < self.sessions.len() && self.sessions[self.idx].close() <= ts {
                self.idx += 1;
            }
            if self.idx < self.sessions.len() {
                return Some(&self.sessions[self.idx]);
            }
            let local = shift_days(self.agg.cal.local_date(ts), -1);
            let from = self.next_date.map_or(local, |d| d.max(local));
            if from == NaiveDate::MAX {
                return None;
            }
            let to = shift_days(from, SESSION_CHUNK_DAYS);
            self.sessions = self
                .agg
                .cal
                .sessions_between(from, to, self.agg.spec.sessions);
            self.idx = 0;
            self.next_date = Some(shift_days(to, 1));
        }
    }

    fn group(&mut self, td: NaiveDate) -> GroupInfo {
        match self.group {
            Some(g) if g.bucket.date.is_some_and(|f| f <= td) && td <= g.last => g,
            _ => {
                let g = self.agg.group(td);
                self.group = Some(g);
                g
            }
        }
    }

    #[inline]
    pub(crate) fn locate(&mut self, ts: i64) -> Located {
        if self.agg.base == Resolution::Day {
            let td = self.agg.cal.next_trading_day(utc_date(ts));
            let seg_end = date_key(td).saturating_add(86_400);
            if ts >= seg_end {
                // Beyond the last representable date: no trading day holds this bar.
                return Located::Out { until: i64::MAX };
            }
            let g = self.group(td);
            // Later bars dated up to `td` map to `td` too (one session per segment).
            return Located::In {
                bucket: g.bucket,
                seg_end,
                session: date_key(td),
            };
        }
        let kind = self.agg.kind;
        let agg = self.agg;
        let Some(s) = self.session_after(ts) else {
            return Located::Out { until: i64::MAX };
        };
        if ts < s.open() {
            return Located::Out { until: s.open() };
        }
        let (open, close, date) = (s.open(), s.close(), s.date());
        let mut seg_end = close;
        for b in s.breaks() {
            if b.contains(ts) {
                return Located::Out { until: b.end() };
            }
            if b.start() > ts {
                seg_end = seg_end.min(b.start());
                break;
            }
        }
        let bucket = match kind {
            Kind::Intraday(p) => {
                let (start, end) = agg.intraday_bucket(s, ts, p);
                seg_end = seg_end.min(end);
                BucketInfo {
                    key: start,
                    start,
                    end,
                    date: None,
                }
            }
            // One session per bucket: the group of a trading day is its own session.
            Kind::Days(1) => BucketInfo {
                key: open,
                start: open,
                end: close,
                date: Some(date),
            },
            _ => self.group(date).bucket,
        };
        Located::In {
            bucket,
            seg_end,
            session: open,
        }
    }
}

/// Running OHLCV state of one bucket, with the session sums as of its last bar.
///
/// Both VWAP numerators are kept (vendor VWAP, falling back to the typical price per bar,
/// and typical price) so that the batch path decides the [`VwapSource`] after its single
/// pass over the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acc {
    pub b: BucketInfo,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    pv: [f64; 2],
    oi: Option<f64>,
    count: u32,
    sess_pv: [f64; 2],
    sess_v: f64,
}

/// Accumulation state shared by the batch and the incremental paths (so both produce the
/// same floating-point sums in the same order).
pub(crate) struct State {
    pub acc: Option<Acc>,
    spec: AggSpec,
    session: i64,
    sess_pv: [f64; 2],
    sess_v: f64,
    /// True while every bar fed so far carried a vendor VWAP.
    pub all_vendor: bool,
    /// Column buffers of [`State::feed_until`], allocated on first use and kept (filling
    /// fresh ones per bucket would cost more than the bucket).
    chunk: Option<Box<Chunk>>,
}

impl State {
    pub(crate) fn new(spec: AggSpec) -> Self {
        State {
            acc: None,
            spec,
            session: i64::MIN,
            sess_pv: [0.0; 2],
            sess_v: 0.0,
            all_vendor: true,
            chunk: None,
        }
    }

    /// Take the running bucket if it is not `key`.
    #[inline]
    pub(crate) fn take_if_other(&mut self, key: i64) -> Option<Acc> {
        match self.acc {
            Some(a) if a.b.key != key => self.acc.take(),
            _ => None,
        }
    }

    /// Add leading bars of `bars` while `ts < seg_end`; all belong to `bucket` and `session`.
    /// Returns how many were added, or the index of the first bar that is not after its
    /// predecessor (`prev_ts` carries the last `ts`). The bars are copied into columns a
    /// chunk at a time and reduced by [`State::feed`], the one accumulation of both layouts.
    pub(crate) fn feed_until(
        &mut self,
        bars: &[Bar],
        seg_end: i64,
        bucket: BucketInfo,
        session: i64,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        let mut chunk = self.chunk.take().unwrap_or_else(|| Box::new(Chunk::new()));
        let result = self.feed_chunks(&mut chunk, bars, seg_end, bucket, session, prev_ts);
        self.chunk = Some(chunk);
        result
    }

    fn feed_chunks(
        &mut self,
        chunk: &mut Chunk,
        bars: &[Bar],
        seg_end: i64,
        bucket: BucketInfo,
        session: i64,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        let mut used = 0;
        loop {
            let rest = &bars[used..bars.len().min(used + CHUNK)];
            let mut len = 0;
            let mut unsorted = false;
            for bar in rest {
                let ts = bar.ts();
                if ts >= seg_end {
                    break;
                }
                if ts <= *prev_ts {
                    unsorted = true;
                    break;
                }
                *prev_ts = ts;
                chunk.push(len, bar);
                len += 1;
            }
            let run = chunk.run(&rest[..len]);
            // Also called for an empty first chunk: entering the session is part of feeding.
            if len > 0 || used == 0 {
                self.feed(&run, bucket, session);
            }
            used += len;
            if unsorted {
                return Err(used);
            }
            if len < CHUNK {
                return Ok(used);
            }
        }
    }

    /// Add a run of rows that all belong to `bucket` and `session`, in order. The sums are
    /// sequential (one addition per row, in input order, as in the reference); prices are
    /// computed and highs and lows reduced in loops the compiler vectorizes.
    #[inline]
    pub(crate) fn feed(&mut self, run: &Run<'_>, bucket: BucketInfo, session: i64) {
        if session != self.session {
            self.session = session;
            self.sess_pv = [0.0; 2];
            self.sess_v = 0.0;
        }
        let n = run.high.len();
        if n == 0 {
            return;
        }
        let mut a = self.acc.unwrap_or(Acc {
            b: bucket,
            open: run.open[0],
            high: run.high[0],
            low: run.low[0],
            close: run.close[0],
            volume: 0.0,
            pv: [0.0; 2],
            oi: None,
            count: 0,
            sess_pv: [0.0; 2],
            sess_v: 0.0,
        });
        let mut sums = Running {
            high: [a.high; LANES],
            low: [a.low; LANES],
            volume: a.volume,
            pv: a.pv,
            sess_v: self.sess_v,
            sess_pv: self.sess_pv,
        };
        // Without vendor prices both numerators add the same terms: while they are equal, one
        // sum serves both.
        let one_pv = run.vendor.is_none()
            && a.pv[0].to_bits() == a.pv[1].to_bits()
            && self.sess_pv[0].to_bits() == self.sess_pv[1].to_bits();
        match (one_pv, self.spec.session_vwap) {
            (true, false) => sums.reduce::<true, false>(run),
            (true, true) => sums.reduce::<true, true>(run),
            (false, false) => sums.reduce::<false, false>(run),
            (false, true) => sums.reduce::<false, true>(run),
        }
        (a.high, a.low) = sums.high_low();
        a.volume = sums.volume;
        a.pv = sums.pv;
        (self.sess_v, self.sess_pv) = (sums.sess_v, sums.sess_pv);
        (a.sess_v, a.sess_pv) = (sums.sess_v, sums.sess_pv);
        a.close = run.close[n - 1];
        a.count += n as u32;
        if run.oi.is_some() {
            a.oi = run.oi;
        }
        self.all_vendor &= run.all_vendor;
        self.acc = Some(a);
    }

    /// The output bar of an accumulated bucket.
    pub(crate) fn finish(&self, a: Acc, complete: bool, source: VwapSource) -> AggBar {
        let src = match source {
            VwapSource::Vendor => 0,
            VwapSource::TypicalPrice => 1,
        };
        AggBar {
            ts: match self.spec.label {
                Label::Start => a.b.start,
                Label::End => a.b.end,
            },
            start: a.b.start,
            end: a.b.end,
            date: a.b.date,
            ohlc: Some(Ohlc {
                open: a.open,
                high: a.high,
                low: a.low,
                close: a.close,
            }),
            volume: a.volume,
            open_interest: a.oi,
            vwap: (a.volume > 0.0).then(|| a.pv[src] / a.volume),
            session_vwap: (self.spec.session_vwap && a.sess_v > 0.0)
                .then(|| a.sess_pv[src] / a.sess_v),
            complete,
            count: a.count,
            filled: None,
        }
    }
}

/// Where a run of rows goes: everything [`Rows::feed`] needs besides the rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Feed {
    pub bucket: BucketInfo,
    pub session: i64,
    /// Rows from `ts >= until` on belong elsewhere.
    pub until: i64,
    /// Base resolution in seconds (a hint for searching timestamps).
    pub spacing: i64,
}

/// A base series in some memory layout: all the batch path needs to know about it.
pub(crate) trait Rows {
    fn len(&self) -> usize;
    fn ts(&self, i: usize) -> i64;
    /// The first row at or after `from` with `ts >= until` (rows before it are skipped), or
    /// the index of a row that is not after its predecessor (`prev_ts`: the last `ts` seen).
    fn skip(
        &self,
        from: usize,
        until: i64,
        spacing: i64,
        prev_ts: &mut i64,
    ) -> Result<usize, usize>;
    /// Like [`Rows::skip`], but the rows are added to `state`.
    fn feed(
        &self,
        from: usize,
        feed: Feed,
        state: &mut State,
        prev_ts: &mut i64,
    ) -> Result<usize, usize>;
}

impl Rows for [Bar] {
    fn len(&self) -> usize {
        <[Bar]>::len(self)
    }

    #[inline]
    fn ts(&self, i: usize) -> i64 {
        self[i].ts()
    }

    fn skip(
        &self,
        from: usize,
        until: i64,
        _spacing: i64,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        let mut i = from;
        while i < self.len() && self[i].ts() < until {
            if self[i].ts() <= *prev_ts {
                return Err(i);
            }
            *prev_ts = self[i].ts();
            i += 1;
        }
        Ok(i)
    }

    #[inline]
    fn feed(
        &self,
        from: usize,
        f: Feed,
        state: &mut State,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        state
            .feed_until(&self[from..], f.until, f.bucket, f.session, prev_ts)
            .map(|used| from + used)
            .map_err(|k| from + k)
    }
}

impl Rows for BarColumns<'_> {
    fn len(&self) -> usize {
        self.ts.len()
    }

    #[inline]
    fn ts(&self, i: usize) -> i64 {
        self.ts[i]
    }

    // Sorted by construction: `prev_ts` only follows along.
    fn skip(
        &self,
        from: usize,
        until: i64,
        spacing: i64,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        let end = self.end_before(from, until, spacing);
        if end > from {
            *prev_ts = self.ts[end - 1];
        }
        Ok(end)
    }

    #[inline]
    fn feed(
        &self,
        from: usize,
        f: Feed,
        state: &mut State,
        prev_ts: &mut i64,
    ) -> Result<usize, usize> {
        let end = self.skip(from, f.until, f.spacing, prev_ts)?;
        let run = Run {
            open: &self.open[from..end],
            high: &self.high[from..end],
            low: &self.low[from..end],
            close: &self.close[from..end],
            volume: &self.volume[from..end],
            vendor: self.vwap.map(|p| &p[from..end]),
            all_vendor: self.vwap.is_some(),
            oi: self
                .open_interest
                .and_then(|oi| oi[from..end].iter().rev().find_map(|x| *x)),
        };
        state.feed(&run, f.bucket, f.session);
        Ok(end)
    }
}

/// Consecutive rows of one bucket and one session as columns of equal length.
pub(crate) struct Run<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    /// Price of each row's vendor-VWAP numerator (its vendor VWAP, else its typical price);
    /// `None` when that is the typical price of every row.
    pub vendor: Option<&'a [f64]>,
    /// Every row carried a vendor VWAP.
    pub all_vendor: bool,
    /// The last open interest of the run.
    pub oi: Option<f64>,
}

/// Rows [`State::feed_until`] copies out of [`Bar`]s at a time (and [`State::feed`] sums at
/// a time): small enough for the stack and L1.
const CHUNK: usize = 64;

/// Column buffers for up to [`CHUNK`] bars.
struct Chunk {
    open: [f64; CHUNK],
    high: [f64; CHUNK],
    low: [f64; CHUNK],
    close: [f64; CHUNK],
    volume: [f64; CHUNK],
    /// Vendor VWAPs (0 for a bar without one until [`Chunk::run`]).
    vendor: [f64; CHUNK],
    /// Bars pushed with a vendor VWAP.
    vendors: usize,
    /// Last open interest pushed.
    oi: Option<f64>,
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            open: [0.0; CHUNK],
            high: [0.0; CHUNK],
            low: [0.0; CHUNK],
            close: [0.0; CHUNK],
            volume: [0.0; CHUNK],
            vendor: [0.0; CHUNK],
            vendors: 0,
            oi: None,
        }
    }

    /// Store `bar` as row `i`; row 0 starts a new run.
    #[inline]
    fn push(&mut self, i: usize, bar: &Bar) {
        if i == 0 {
            self.vendors = 0;
            self.oi = None;
        }
        self.open[i] = bar.open();
        self.high[i] = bar.high();
        self.low[i] = bar.low();
        self.close[i] = bar.close();
        self.volume[i] = bar.volume();
        self.vendor[i] = bar.vwap().unwrap_or(0.0);
        self.vendors += usize::from(bar.vwap().is_some());
        if bar.open_interest().is_some() {
            self.oi = bar.open_interest();
        }
    }

    /// The run of the first `bars.len()` rows, which were pushed from `bars`.
    fn run(&mut self, bars: &[Bar]) -> Run<'_> {
        let len = bars.len();
        let all_vendor = self.vendors == len;
        if len == 0 {
            self.oi = None;
        } else if !all_vendor && self.vendors > 0 {
            for (out, b) in self.vendor.iter_mut().zip(bars) {
                *out = b.vwap().unwrap_or_else(|| b.typical_price());
            }
        }
        Run {
            open: &self.open[..len],
            high: &self.high[..len],
            low: &self.low[..len],
            close: &self.close[..len],
            volume: &self.volume[..len],
            vendor: (len > 0 && self.vendors > 0).then_some(&self.vendor[..len]),
            all_vendor,
            oi: self.oi,
        }
    }
}

/// Rows reduced at a time by [`State::feed`]: each becomes a lane of a vector register.
const LANES: usize = 4;

/// The running reductions of [`State::feed`]: high and low per lane, bucket volume and VWAP
/// numerators, and the session's volume and numerators.
struct Running {
    high: [f64; LANES],
    low: [f64; LANES],
    volume: f64,
    pv: [f64; 2],
    sess_v: f64,
    sess_pv: [f64; 2],
}

impl Running {
    /// Add all rows of `run`. `ONE_PV`: both numerators are equal and stay so (no vendor
    /// prices), so one is summed. `SESSION`: the session sums are wanted.
    #[inline(always)]
    fn reduce<const ONE_PV: bool, const SESSION: bool>(&mut self, run: &Run<'_>) {
        let n = run.high.len();
        // Blocks of a fixed size (which the compiler vectorizes), then the rest.
        let mut start = 0;
        while start + LANES <= n {
            self.add::<ONE_PV, SESSION>(run, start..start + LANES);
            start += LANES;
        }
        self.add::<ONE_PV, SESSION>(run, start..n);
        if ONE_PV {
            self.pv[0] = self.pv[1];
            self.sess_pv[0] = self.sess_pv[1];
        }
    }

    /// Add rows `range` (at most [`LANES`]) of `run`: sums with one addition per row, in
    /// order; highs and lows lane by lane (inputs are finite: no NaN handling).
    #[inline(always)]
    fn add<const ONE_PV: bool, const SESSION: bool>(
        &mut self,
        run: &Run<'_>,
        range: std::ops::Range<usize>,
    ) {
        let len = range.len();
        let v = &run.volume[range.clone()];
        let (h, l, c) = (
            &run.high[range.clone()],
            &run.low[range.clone()],
            &run.close[range.clone()],
        );
        for k in 0..len {
            self.high[k] = if h[k] > self.high[k] {
                h[k]
            } else {
                self.high[k]
            };
            self.low[k] = if l[k] < self.low[k] {
                l[k]
            } else {
                self.low[k]
            };
        }
        // Numerators of the block, computed in vector registers.
        let mut tpv = [0.0; LANES];
        for k in 0..len {
            // `Bar::typical_price() * volume`, operation for operation.
            tpv[k] = (h[k] + l[k] + c[k]) / 3.0 * v[k];
        }
        let mut vpv = tpv;
        if !ONE_PV && let Some(p) = run.vendor {
            let p = &p[range];
            for k in 0..len {
                vpv[k] = p[k] * v[k];
            }
        }
        for k in 0..len {
            self.volume += v[k];
            if !ONE_PV {
                self.pv[0] += vpv[k];
            }
            self.pv[1] += tpv[k];
        }
        if SESSION {
            for k in 0..len {
                self.sess_v += v[k];
                if !ONE_PV {
                    self.sess_pv[0] += vpv[k];
                }
                self.sess_pv[1] += tpv[k];
            }
        }
    }

    /// The high and the low over all lanes.
    fn high_low(&self) -> (f64, f64) {
        let high = self
            .high
            .iter()
            .fold(self.high[0], |m, &x| if x > m { x } else { m });
        let low = self
            .low
            .iter()
            .fold(self.low[0], |m, &x| if x < m { x } else { m });
        (high, low)
    }
}
