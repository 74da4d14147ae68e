//! Property tests: the fast batch path equals a deliberately naive reference implementation
//! bar for bar, and the incremental path equals the batch path.
//!
//! The reference finds each bar's session by asking the calendar for the sessions of the
//! surrounding dates, finds its bucket by stepping from the session open (or the clock
//! origin) one period at a time, groups with a `BTreeMap`, and sums in input order.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use proptest::prelude::*;
use tradeassist_engine::{
    AggBar, AggSpec, Aggregator, Align, BarColumns, Calendar, IncrementalAggregator, Label, Ohlc,
    Session, SessionFilter, UpdateKind, VwapSource, vwap_source,
};
use tradeassist_model::{Bar, Resolution, TimeUnit, Timeframe, date_key};

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).unwrap()
}

fn utc_date(ts: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .date_naive()
}

/// "Is this trading day in the same group?"
type SameGroup<'c> = Box<dyn Fn(&mut Reference<'c>, NaiveDate) -> bool>;

struct Reference<'c> {
    cal: &'c Calendar,
    spec: AggSpec,
    base: Resolution,
    index_memo: BTreeMap<NaiveDate, i64>,
    group_memo: BTreeMap<NaiveDate, (NaiveDate, NaiveDate)>,
}

impl<'c> Reference<'c> {
    fn session_of(&self, ts: i64) -> Option<Session> {
        let local = self.cal.local_date(ts);
        (-1..=2)
            .filter_map(|k| {
                self.cal
                    .session(local + Duration::days(k), self.spec.sessions)
            })
            .find(|s| s.is_open_at(ts))
    }

    /// Trading days from the 1970-01-05 epoch, counted one day at a time.
    fn index(&mut self, d: NaiveDate) -> i64 {
        if let Some(i) = self.index_memo.get(&d) {
            return *i;
        }
        // Count forward from the closest date already counted (or the epoch).
        let (mut day, mut n) = self
            .index_memo
            .range(..d)
            .next_back()
            .map_or((epoch(), 0), |(k, v)| (*k, *v));
        while day < d {
            n += i64::from(self.cal.is_trading_day(day));
            day = day.succ_opt().unwrap();
        }
        self.index_memo.insert(d, n);
        n
    }

    /// (first, last) trading day of the day-or-longer bucket of trading day `td`.
    fn group(&mut self, td: NaiveDate) -> (NaiveDate, NaiveDate) {
        if let Some(g) = self.group_memo.get(&td) {
            return *g;
        }
        let g = self.group_uncached(td);
        self.group_memo.insert(td, g);
        g
    }

    fn group_uncached(&mut self, td: NaiveDate) -> (NaiveDate, NaiveDate) {
        let tf = self.spec.timeframe;
        let n = i64::from(tf.count());
        let same: SameGroup<'c> = match tf.unit() {
            TimeUnit::Day => match self.spec.align {
                Align::Session => {
                    let g = self.index(td).div_euclid(n);
                    Box::new(move |r: &mut Self, d| r.index(d).div_euclid(n) == g)
                }
                Align::Clock { origin, offset } => {
                    let o = self.cal.local_date(origin + offset);
                    let g = (td - o).num_days().div_euclid(n);
                    Box::new(move |_: &mut Self, d| (d - o).num_days().div_euclid(n) == g)
                }
            },
            TimeUnit::Week => {
                let week = move |d: NaiveDate| {
                    let monday = d - Duration::days(d.weekday().num_days_from_monday() as i64);
                    ((monday - epoch()).num_days() / 7).div_euclid(n)
                };
                let g = week(td);
                Box::new(move |_: &mut Self, d| week(d) == g)
            }
            TimeUnit::Month => {
                let month =
                    move |d: NaiveDate| (d.year() as i64 * 12 + d.month0() as i64).div_euclid(n);
                let g = month(td);
                Box::new(move |_: &mut Self, d| month(d) == g)
            }
            _ => unreachable!(),
        };
        let span = 31 * n + 10;
        let mut days: Vec<NaiveDate> = Vec::new();
        for k in -span..=span {
            let d = td + Duration::days(k);
            if self.cal.is_trading_day(d) && same(self, d) {
                days.push(d);
            }
        }
        (days[0], *days.last().unwrap())
    }

    /// (start, end, date, session key) of a bar's bucket, or None when filtered out.
    fn bucket(&mut self, bar: &Bar) -> Option<(i64, i64, Option<NaiveDate>, i64)> {
        let filter = self.spec.sessions;
        let (td, session_key, session) = match self.base {
            Resolution::Minute => {
                let s = self.session_of(bar.ts())?;
                (s.date(), s.open(), Some(s))
            }
            Resolution::Day => {
                let mut d = utc_date(bar.ts());
                while !self.cal.is_trading_day(d) {
                    d = d.succ_opt().unwrap();
                }
                (d, date_key(d), None)
            }
        };
        let tf = self.spec.timeframe;
        if tf.is_intraday() {
            let s = session.unwrap();
            let p = tf.fixed_seconds().unwrap();
            let (start, end) = match self.spec.align {
                Align::Session => {
                    let mut t = s.open();
                    while t + p <= bar.ts() {
                        t += p;
                    }
                    (t, (t + p).min(s.close()))
                }
                Align::Clock { origin, offset } => {
                    let mut c = origin + offset;
                    while c > bar.ts() {
                        c -= p;
                    }
                    while c + p <= bar.ts() {
                        c += p;
                    }
                    (c.max(s.open()), (c + p).min(s.close()))
                }
            };
            return Some((start, end, None, session_key));
        }
        let (first, last) = self.group(td);
        let start = self.cal.session(first, filter).unwrap().open();
        let end = self.cal.session(last, filter).unwrap().close();
        Some((start, end, Some(first), session_key))
    }

    fn aggregate(&mut self, bars: &[Bar], now: Option<i64>) -> Vec<AggBar> {
        let vendor = vwap_source(bars) == VwapSource::Vendor;
        let data_end = bars.last().map(|b| match self.base {
            Resolution::Minute => b.ts() + 60,
            Resolution::Day => {
                let mut d = utc_date(b.ts());
                while !self.cal.is_trading_day(d) {
                    d = d.succ_opt().unwrap();
                }
                self.cal.session(d, self.spec.sessions).unwrap().close()
            }
        });
        struct G {
            end: i64,
            date: Option<NaiveDate>,
            bars: Vec<Bar>,
            session_vwap: Option<f64>,
        }
        let mut groups: BTreeMap<i64, G> = BTreeMap::new();
        let mut session_sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for bar in bars {
            let Some((start, end, date, session)) = self.bucket(bar) else {
                continue;
            };
            let price = if vendor {
                bar.vwap().unwrap()
            } else {
                bar.typical_price()
            };
            let sums = session_sums.entry(session).or_insert((0.0, 0.0));
            sums.0 += price * bar.volume();
            sums.1 += bar.volume();
            let sv = (sums.1 > 0.0 && self.spec.session_vwap).then(|| sums.0 / sums.1);
            let g = groups.entry(start).or_insert(G {
                end,
                date,
                bars: vec![],
                session_vwap: None,
            });
            assert_eq!(g.end, end);
            g.bars.push(*bar);
            g.session_vwap = sv;
        }
        groups
            .into_iter()
            .map(|(start, g)| {
                let mut volume = 0.0;
                let mut pv = 0.0;
                let mut oi = None;
                for b in &g.bars {
                    let price = if vendor {
                        b.vwap().unwrap()
                    } else {
                        b.typical_price()
                    };
                    volume += b.volume();
                    pv += price * b.volume();
                    if b.open_interest().is_some() {
                        oi = b.open_interest();
                    }
                }
                AggBar {
                    ts: if self.spec.label == Label::End {
                        g.end
                    } else {
                        start
                    },
                    start,
                    end: g.end,
                    date: g.date,
                    ohlc: Some(Ohlc {
                        open: g.bars[0].open(),
                        high: g.bars.iter().map(|b| b.high()).fold(f64::MIN, f64::max),
                        low: g.bars.iter().map(|b| b.low()).fold(f64::MAX, f64::min),
                        close: g.bars.last().unwrap().close(),
                    }),
                    volume,
                    open_interest: oi,
                    vwap: (volume > 0.0).then(|| pv / volume),
                    session_vwap: g.session_vwap,
                    complete: data_end.is_some_and(|d| g.end <= d)
                        && now.is_none_or(|n| g.end <= n),
                    count: g.bars.len() as u32,
                    filled: None,
                }
            })
            .collect()
    }
}

/// Feed bars one by one; return the final bars, checking each final against its partials.
fn incremental(agg: Aggregator<'_>, source: VwapSource, bars: &[Bar]) -> Vec<AggBar> {
    let mut inc = IncrementalAggregator::new(agg, source);
    let mut finals = Vec::new();
    let mut last_partial: Option<AggBar> = None;
    let mut take = |u: tradeassist_engine::Update, finals: &mut Vec<AggBar>| match u.kind {
        UpdateKind::Partial => last_partial = Some(u.bar),
        UpdateKind::Final => {
            let p = last_partial.take().expect("a partial precedes every final");
            assert_eq!(
                AggBar {
                    complete: u.bar.complete,
                    ..p
                },
                u.bar
            );
            finals.push(u.bar);
        }
    };
    for b in bars {
        for u in inc.push(b).unwrap() {
            take(u, &mut finals);
        }
    }
    if let Some(u) = inc.finish() {
        take(u, &mut finals);
    }
    finals
}

/// The columns of `bars` (every bar or none carries a vendor VWAP).
struct Columns {
    ts: Vec<i64>,
    o: Vec<f64>,
    h: Vec<f64>,
    l: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    vwap: Option<Vec<f64>>,
    oi: Vec<Option<f64>>,
}

impl Columns {
    fn of(bars: &[Bar]) -> Self {
        let col = |f: fn(&Bar) -> f64| bars.iter().map(f).collect::<Vec<f64>>();
        let vwap: Option<Vec<f64>> = bars.iter().map(Bar::vwap).collect();
        assert!(vwap.is_some() || bars.iter().all(|b| b.vwap().is_none()));
        Columns {
            ts: bars.iter().map(Bar::ts).collect(),
            o: col(Bar::open),
            h: col(Bar::high),
            l: col(Bar::low),
            c: col(Bar::close),
            v: col(Bar::volume),
            vwap,
            oi: bars.iter().map(Bar::open_interest).collect(),
        }
    }

    fn view(&self) -> BarColumns<'_> {
        let cols = BarColumns::new(&self.ts, &self.o, &self.h, &self.l, &self.c, &self.v)
            .unwrap()
            .with_open_interest(&self.oi)
            .unwrap();
        match &self.vwap {
            Some(vwap) if !self.ts.is_empty() => cols.with_vwap(vwap).unwrap(),
            _ => cols,
        }
    }
}

/// A bar with a random shape around `price`.
fn make_bar(ts: i64, price: f64, r: [f64; 4], vwap: bool, oi: bool) -> Bar {
    let open = price + r[0] - 0.5;
    let close = price + r[1] - 0.5;
    let high = open.max(close) + r[2];
    let low = open.min(close) - r[3];
    let volume = ((r[0] * 1000.0).floor() - 100.0).max(0.0); // ~10% zero volume
    let b = Bar::new(ts, open, high, low, close, volume).unwrap();
    let b = b
        .with_vwap(vwap.then_some((high + low + close) / 3.0 + r[2] * 0.1))
        .unwrap();
    b.with_open_interest((oi && r[3] < 0.5).then_some((r[1] * 1e5).floor()))
        .unwrap()
}

fn minute_series(start: i64, minutes: usize, keep: f64, seed: u64, vwap: bool) -> Vec<Bar> {
    let mut rng = Lcg(seed);
    let mut price = 100.0;
    let mut out = Vec::new();
    for i in 0..minutes {
        let keep_it = rng.next() < keep;
        price += rng.next() - 0.5;
        if keep_it {
            let r = [rng.next(), rng.next(), rng.next(), rng.next()];
            out.push(make_bar(
                start + 60 * i as i64,
                price.max(5.0),
                r,
                vwap,
                true,
            ));
        }
    }
    out
}

/// A tiny deterministic generator so series are reproducible from the proptest seed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// DST weekends: US 2013-03-10 / 2013-11-03, EU 2013-03-31 / 2013-10-27.
const SCENARIOS: &[(&str, &str)] = &[
    ("us_equity", "2013-03-07"),
    ("us_equity", "2013-10-31"),
    ("cme_equity", "2013-03-07"),
    ("cme_equity", "2013-10-31"),
    ("cme_energy", "2013-11-26"), // Thanksgiving early halt
    ("us_equity", "2013-11-26"),  // Thanksgiving + early close
    ("xetra", "2013-03-27"),      // Good Friday, Easter Monday, DST
    ("xetra", "2013-10-24"),
];

fn timeframe() -> impl Strategy<Value = Timeframe> {
    prop_oneof![
        prop::sample::select(vec![
            "1m", "2m", "3m", "5m", "7m", "10m", "13m", "15m", "30m", "45m", "1h", "90m", "2h",
            "3h", "4h", "120s", "1d", "2d", "3d", "1w", "2w", "1M"
        ])
        .prop_map(|s| s.parse().unwrap()),
        (1u32..=300).prop_map(|n| Timeframe::new(n, TimeUnit::Minute).unwrap()),
    ]
}

fn spec_strategy() -> impl Strategy<Value = (Timeframe, bool, i64, i64, bool, usize, bool)> {
    (
        timeframe(),
        any::<bool>(),        // clock alignment
        -172_800i64..172_800, // origin relative to the series start
        0i64..7_200,          // offset
        any::<bool>(),        // label end
        0usize..3,            // session filter
        any::<bool>(),        // session vwap
    )
}

fn build_spec(s: (Timeframe, bool, i64, i64, bool, usize, bool), base_start: i64) -> AggSpec {
    let (tf, clock, origin, offset, end, filter, sv) = s;
    AggSpec {
        timeframe: tf,
        align: if clock {
            Align::Clock {
                origin: base_start + origin,
                offset,
            }
        } else {
            Align::Session
        },
        label: if end { Label::End } else { Label::Start },
        sessions: [
            SessionFilter::Regular,
            SessionFilter::Extended,
            SessionFilter::All,
        ][filter],
        session_vwap: sv,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn minute_base_matches_reference(
        scenario in 0..SCENARIOS.len(),
        spec in spec_strategy(),
        keep in 0.05f64..1.0,
        seed in any::<u64>(),
        vwap in any::<bool>(),
        now_at in prop::option::of(0i64..7 * 86_400),
    ) {
        let (cal_id, day) = SCENARIOS[scenario];
        let cal = Calendar::get(cal_id).unwrap();
        let start = date_key(day.parse().unwrap());
        let bars = minute_series(start, 6 * 1440, keep, seed, vwap);
        let spec = build_spec(spec, start);
        let agg = Aggregator::new(cal, Resolution::Minute, spec).unwrap();
        let now = now_at.map(|n| start + n);
        let fast = agg.aggregate(&bars, now).unwrap();
        let mut reference = Reference { cal, spec, base: Resolution::Minute, index_memo: BTreeMap::new(), group_memo: BTreeMap::new() };
        let expected = reference.aggregate(&bars, now);
        // Every scenario has several sessions in its six days: the comparison is never vacuous.
        prop_assert!(!expected.is_empty());
        prop_assert_eq!(fast.bars.len(), expected.len());
        for (f, e) in fast.bars.iter().zip(&expected) {
            prop_assert_eq!(f, e);
        }
        // The columnar path gives the same bars, VWAP source and completeness.
        let columns = Columns::of(&bars);
        prop_assert_eq!(&agg.aggregate_columns(&columns.view(), now), &fast);
        let batch = agg.aggregate(&bars, None).unwrap();
        let inc = incremental(agg, batch.vwap_source, &bars);
        prop_assert_eq!(inc, batch.bars);
    }

    #[test]
    fn daily_base_matches_reference(
        cal_id in prop::sample::select(vec!["us_equity", "cme_equity", "xetra"]),
        tf in prop::sample::select(vec!["1d", "2d", "3d", "5d", "1w", "2w", "1M", "2M", "3M", "12M"]),
        clock in any::<bool>(),
        origin in -400i64..400,
        label_end in any::<bool>(),
        first in 0i64..3000,
        days in 1usize..900,
        keep in 0.2f64..1.0,
        seed in any::<u64>(),
    ) {
        let cal = Calendar::get(cal_id).unwrap();
        let start = date_key(NaiveDate::from_ymd_opt(2005, 1, 1).unwrap() + Duration::days(first));
        let mut rng = Lcg(seed);
        let mut bars = Vec::new();
        for i in 0..days as i64 {
            let ts = start + i * 86_400;
            // Mostly trading days; sometimes a bar on a weekend or holiday (maps forward).
            let keep_it = rng.next() < keep && (cal.is_trading_day(utc_date(ts)) || rng.next() < 0.1);
            let r = [rng.next(), rng.next(), rng.next(), rng.next()];
            if keep_it {
                bars.push(make_bar(ts, 50.0 + i as f64 * 0.01, r, false, true));
            }
        }
        let spec = AggSpec {
            timeframe: tf.parse().unwrap(),
            align: if clock { Align::Clock { origin: start + origin * 86_400, offset: 0 } } else { Align::Session },
            label: if label_end { Label::End } else { Label::Start },
            sessions: SessionFilter::Regular,
            session_vwap: true,
        };
        let agg = Aggregator::new(cal, Resolution::Day, spec).unwrap();
        let fast = agg.aggregate(&bars, None).unwrap();
        let mut reference = Reference { cal, spec, base: Resolution::Day, index_memo: BTreeMap::new(), group_memo: BTreeMap::new() };
        prop_assert_eq!(&fast.bars, &reference.aggregate(&bars, None));
        let columns = Columns::of(&bars);
        prop_assert_eq!(&agg.aggregate_columns(&columns.view(), None), &fast);
        let inc = incremental(agg, fast.vwap_source, &bars);
        prop_assert_eq!(inc, fast.bars);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Base bars closer together than a minute, and long holes: the columnar path's search
    /// for bucket ends must not rely on one bar per minute.
    #[test]
    fn irregular_timestamps_match_reference(
        scenario in 0..SCENARIOS.len(),
        spec in spec_strategy(),
        gaps in prop::collection::vec(prop_oneof![1i64..60, 60i64..61, 61i64..20_000], 1..3000),
        seed in any::<u64>(),
        vwap in any::<bool>(),
    ) {
        let (cal_id, day) = SCENARIOS[scenario];
        let cal = Calendar::get(cal_id).unwrap();
        let start = date_key(day.parse().unwrap());
        let mut rng = Lcg(seed);
        let mut ts = start;
        let bars: Vec<Bar> = gaps
            .iter()
            .map(|g| {
                ts += g;
                let r = [rng.next(), rng.next(), rng.next(), rng.next()];
                make_bar(ts, 100.0 + rng.next(), r, vwap, true)
            })
            .collect();
        let spec = build_spec(spec, start);
        let agg = Aggregator::new(cal, Resolution::Minute, spec).unwrap();
        let mut reference = Reference { cal, spec, base: Resolution::Minute, index_memo: BTreeMap::new(), group_memo: BTreeMap::new() };
        let expected = reference.aggregate(&bars, None);
        let fast = agg.aggregate(&bars, None).unwrap();
        prop_assert_eq!(&fast.bars, &expected);
        let columns = Columns::of(&bars);
        prop_assert_eq!(&agg.aggregate_columns(&columns.view(), None), &fast);
    }
}

#[test]
fn columns_of_no_bars_aggregate_to_nothing() {
    let cal = Calendar::get("us_equity").unwrap();
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("1h".parse().unwrap())).unwrap();
    let columns = Columns::of(&[]);
    assert_eq!(
        agg.aggregate_columns(&columns.view(), None),
        agg.aggregate(&[], None).unwrap()
    );
}

#[test]
fn intraday_from_daily_base_is_refused() {
    let cal = Calendar::get("us_equity").unwrap();
    let spec = AggSpec::new("5m".parse().unwrap());
    assert!(Aggregator::new(cal, Resolution::Day, spec).is_err());
    let spec = AggSpec::new("90s".parse().unwrap());
    assert!(Aggregator::new(cal, Resolution::Minute, spec).is_err());
}
