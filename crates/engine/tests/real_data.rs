//! Real vendor bars (QuantConnect LEAN sample data, see fixtures/NOTICE) through the engine,
//! checked against the raw rows.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike};
use chrono_tz::Tz;
use tradeassist_engine::{
    AggBar, AggSpec, Aggregator, Calendar, FillMethod, SessionFilter, detect_gaps,
};
use tradeassist_model::{Bar, Resolution, TimeRange, date_key};

mod common;
use common::{d, fixture};

/// Parse `ts,<skip>..,o,h,l,c,volume` rows: `ts` is RFC 3339 or a date; the last five
/// columns are OHLCV. `keep` filters on the raw columns.
fn parse(name: &str, keep: impl Fn(&[&str]) -> bool) -> Vec<Bar> {
    fixture(name)
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| keep(c))
        .map(|c| {
            let ts = DateTime::parse_from_rfc3339(c[0])
                .map(|t| t.timestamp())
                .unwrap_or_else(|_| date_key(c[0].parse().unwrap()));
            let n = c.len();
            let f = |i: usize| c[i].parse::<f64>().unwrap();
            Bar::new(ts, f(n - 5), f(n - 4), f(n - 3), f(n - 2), f(n - 1)).unwrap()
        })
        .collect()
}

fn local(ts: i64, tz: Tz) -> chrono::DateTime<Tz> {
    DateTime::from_timestamp(ts, 0).unwrap().with_timezone(&tz)
}

fn aggregate(
    cal: &str,
    base: Resolution,
    tf: &str,
    filter: SessionFilter,
    bars: &[Bar],
) -> Vec<AggBar> {
    let mut spec = AggSpec::new(tf.parse().unwrap());
    spec.sessions = filter;
    Aggregator::new(Calendar::get(cal).unwrap(), base, spec)
        .unwrap()
        .aggregate(bars, None)
        .unwrap()
        .bars
}

/// Regular-session daily bars equal the raw 09:30 open, 15:59 close, max/min/sum in between.
fn check_equity_daily(bars: &[Bar], expected_days: &[NaiveDate]) {
    let ny = chrono_tz::America::New_York;
    let daily = aggregate(
        "us_equity",
        Resolution::Minute,
        "1d",
        SessionFilter::Regular,
        bars,
    );
    let dates: Vec<_> = daily.iter().map(|b| b.date.unwrap()).collect();
    assert_eq!(dates, expected_days);
    for day in &daily {
        let date = day.date.unwrap();
        let rows: Vec<&Bar> = bars
            .iter()
            .filter(|b| {
                let t = local(b.ts(), ny);
                let minutes = t.hour() * 60 + t.minute();
                t.date_naive() == date && (570..960).contains(&minutes)
            })
            .collect();
        let first = rows[0];
        let last = rows[rows.len() - 1];
        assert_eq!(
            local(first.ts(), ny).format("%H:%M").to_string(),
            "09:30",
            "{date}"
        );
        assert_eq!(
            local(last.ts(), ny).format("%H:%M").to_string(),
            "15:59",
            "{date}"
        );
        let ohlc = day.ohlc.unwrap();
        assert_eq!(ohlc.open, first.open(), "{date}");
        assert_eq!(ohlc.close, last.close(), "{date}");
        assert_eq!(
            ohlc.high,
            rows.iter().map(|b| b.high()).fold(f64::MIN, f64::max)
        );
        assert_eq!(
            ohlc.low,
            rows.iter().map(|b| b.low()).fold(f64::MAX, f64::min)
        );
        assert_eq!(day.volume, rows.iter().map(|b| b.volume()).sum::<f64>());
        assert_eq!(day.count as usize, rows.len());
        assert_eq!(local(day.start, ny).format("%H:%M").to_string(), "09:30");
        assert_eq!(local(day.end, ny).format("%H:%M").to_string(), "16:00");
        assert!(day.complete);
    }
}

#[test]
fn spy_minutes_to_regular_session_days() {
    let spy = parse("spy_1m.csv.gz", |_| true);
    let days = [
        d(2013, 10, 4),
        d(2013, 10, 7),
        d(2013, 10, 8),
        d(2013, 10, 9),
        d(2013, 10, 10),
        d(2013, 10, 11),
        d(2023, 8, 3),
    ];
    check_equity_daily(&spy, &days);
}

#[test]
fn ibm_minutes_to_regular_session_days() {
    let ibm = parse("ibm_1m.csv.gz", |_| true);
    let days = [
        d(2013, 10, 4),
        d(2013, 10, 7),
        d(2013, 10, 8),
        d(2013, 10, 9),
        d(2013, 10, 10),
        d(2013, 10, 11),
    ];
    check_equity_daily(&ibm, &days);
}

#[test]
fn spy_extended_session_days_include_pre_and_post_market() {
    let spy = parse("spy_1m.csv.gz", |_| true);
    let ext = aggregate(
        "us_equity",
        Resolution::Minute,
        "1d",
        SessionFilter::Extended,
        &spy,
    );
    let reg = aggregate(
        "us_equity",
        Resolution::Minute,
        "1d",
        SessionFilter::Regular,
        &spy,
    );
    assert_eq!(ext.len(), reg.len());
    let total: u32 = ext.iter().map(|b| b.count).sum();
    assert_eq!(total as usize, spy.len()); // every SPY row is inside 04:00-20:00 ET
    assert!(ext.iter().zip(&reg).all(|(e, r)| e.volume > r.volume));
}

#[test]
fn es_minutes_to_globex_days() {
    let es = parse("esz13_1m.csv.gz", |_| true);
    let ct = chrono_tz::America::Chicago;
    let daily = aggregate(
        "cme_equity",
        Resolution::Minute,
        "1d",
        SessionFilter::All,
        &es,
    );
    let by_date: BTreeMap<NaiveDate, &AggBar> =
        daily.iter().map(|b| (b.date.unwrap(), b)).collect();

    // Monday 2013-10-07 starts with Sunday's 17:00 CT (22:00 UTC) bar.
    let mon = by_date[&d(2013, 10, 7)];
    assert_eq!(
        local(mon.start, ct).to_rfc3339(),
        "2013-10-06T17:00:00-05:00"
    );
    let sunday_first = es
        .iter()
        .find(|b| b.ts() == mon.start)
        .expect("22:00 UTC Sunday bar");
    assert_eq!(mon.ohlc.unwrap().open, sunday_first.open());
    let rows: Vec<&Bar> = es
        .iter()
        .filter(|b| mon.start <= b.ts() && b.ts() < mon.end)
        .collect();
    assert_eq!(mon.count as usize, rows.len());
    assert_eq!(mon.ohlc.unwrap().close, rows.last().unwrap().close());
    assert_eq!(
        local(rows.last().unwrap().ts(), ct)
            .format("%H:%M")
            .to_string(),
        "16:14"
    );
    assert_eq!(mon.volume, rows.iter().map(|b| b.volume()).sum::<f64>());
    assert_eq!(
        mon.count,
        118 + rows
            .iter()
            .filter(|b| b.ts() >= date_key(d(2013, 10, 7)))
            .count() as u32
    );

    // Every contiguous day of the first week follows the Globex day: 17:00 CT on the day
    // before to 16:15 CT (the 2013 close), in CDT.
    for day in 8..=11 {
        let bar = by_date[&d(2013, 10, day)];
        assert_eq!(
            local(bar.start, ct).format("%d %H:%M").to_string(),
            format!("{:02} 17:00", day - 1)
        );
        let first = es.iter().find(|b| b.ts() >= bar.start).unwrap();
        assert_eq!(bar.ohlc.unwrap().open, first.open());
        assert_eq!(local(first.ts(), ct).format("%H:%M").to_string(), "17:00");
    }
    // After the DST change (CST) the Monday 2013-11-18 day ends at 16:15 CST = 22:15 UTC.
    let nov = by_date[&d(2013, 11, 18)];
    let last = es.iter().rfind(|b| b.ts() < nov.end).unwrap();
    assert_eq!(
        DateTime::from_timestamp(last.ts(), 0)
            .unwrap()
            .format("%H:%M")
            .to_string(),
        "22:14"
    );
    assert_eq!(nov.ohlc.unwrap().close, last.close());
    // No bar lands outside a Globex session in this file (halts and maintenance are empty).
    let total: u32 = daily.iter().map(|b| b.count).sum();
    assert_eq!(total as usize, es.len());
}

#[test]
fn es_gaps_ignore_halts_and_the_weekend() {
    let es = parse("esz13_1m.csv.gz", |_| true);
    let cal = Calendar::get("cme_equity").unwrap();
    // Friday 2013-10-11 close (21:15 UTC) to Sunday 2013-10-13 17:00 CT: closed, no gaps.
    let weekend = TimeRange::new(1_381_526_100, 1_381_701_600).unwrap();
    let r = detect_gaps(&es, Resolution::Minute, cal, SessionFilter::All, weekend).unwrap();
    assert_eq!((r.expected, r.gaps.len()), (0, 0));
    // The trading week 2013-10-07..11 is nearly complete; the daily halt is not a gap.
    let week = TimeRange::new(1_381_096_800, 1_381_526_100).unwrap();
    let r = detect_gaps(&es, Resolution::Minute, cal, SessionFilter::All, week).unwrap();
    assert_eq!(r.expected, 5 * (23 * 60 + 15 - 15));
    assert!(r.completeness() > 0.98, "{}", r.completeness());
    let halt = |ts: i64| {
        let t = local(ts, cal.timezone());
        (t.hour(), t.minute()) >= (15, 15) && (t.hour(), t.minute()) < (15, 30)
    };
    assert!(r.gaps.iter().all(|g| !halt(g.start)));
}

#[test]
fn spy_gaps_on_real_minutes() {
    let spy = parse("spy_1m.csv.gz", |_| true);
    let cal = Calendar::get("us_equity").unwrap();
    // Regular hours of 2013-10-07..11 are complete in the vendor data.
    let week = TimeRange::new(1_381_104_000, 1_381_536_000).unwrap(); // 10-07 00:00 .. 10-12 00:00 UTC
    let full = detect_gaps(&spy, Resolution::Minute, cal, SessionFilter::Regular, week).unwrap();
    assert_eq!(full.expected, 5 * 390);
    assert_eq!(full.present, 5 * 390);
    assert!(full.gaps.is_empty());
    // Deleting one minute makes exactly one gap of one bar.
    let deleted = 1_381_240_800; // 2013-10-08 14:00 UTC (10:00 ET)
    let holed: Vec<Bar> = spy.iter().copied().filter(|b| b.ts() != deleted).collect();
    let r = detect_gaps(
        &holed,
        Resolution::Minute,
        cal,
        SessionFilter::Regular,
        week,
    )
    .unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(
        (r.gaps[0].start, r.gaps[0].end, r.gaps[0].missing),
        (deleted, deleted + 60, 1)
    );
    assert_eq!(r.completeness(), (5.0 * 390.0 - 1.0) / (5.0 * 390.0));
    // The weekend between is never a gap.
    let weekend = TimeRange::new(1_380_916_800, 1_381_152_600).unwrap(); // Fri 16:00 .. Mon 09:30 ET
    let r = detect_gaps(
        &spy,
        Resolution::Minute,
        cal,
        SessionFilter::Regular,
        weekend,
    )
    .unwrap();
    assert_eq!((r.expected, r.gaps.len()), (0, 0));
    // Pre-market is thin: the extended session has many gaps.
    let ext = detect_gaps(&spy, Resolution::Minute, cal, SessionFilter::Extended, week).unwrap();
    assert_eq!(ext.expected, 5 * 960);
    assert!(ext.completeness() < 0.95 && ext.completeness() > 0.5);
}

#[test]
fn aapl_daily_matches_the_calendar_exactly() {
    let aapl = parse("aapl_daily_2012_2014.csv", |_| true);
    let cal = Calendar::get("us_equity").unwrap();
    // Every vendor day is a trading day and every trading day has a bar (incl. Sandy 2012).
    for b in &aapl {
        let date = DateTime::from_timestamp(b.ts(), 0).unwrap().date_naive();
        assert!(cal.is_trading_day(date), "{date} is not a trading day");
    }
    let range = TimeRange::new(date_key(d(2012, 1, 1)), date_key(d(2015, 1, 1))).unwrap();
    let r = detect_gaps(&aapl, Resolution::Day, cal, SessionFilter::Regular, range).unwrap();
    assert_eq!(r.gaps, vec![]);
    assert_eq!(r.expected as usize, aapl.len());
    assert_eq!(r.completeness(), 1.0);
    // Removing the day before Thanksgiving makes one gap of one day, not four.
    let wed = date_key(d(2013, 11, 27));
    let holed: Vec<Bar> = aapl.iter().copied().filter(|b| b.ts() != wed).collect();
    let r = detect_gaps(&holed, Resolution::Day, cal, SessionFilter::Regular, range).unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert_eq!((r.gaps[0].start, r.gaps[0].missing), (wed, 1));
}

#[test]
fn aapl_daily_to_weeks_and_months() {
    let aapl = parse("aapl_daily_2012_2014.csv", |_| true);
    let in_range = |a: NaiveDate, b: NaiveDate| -> Vec<Bar> {
        aapl.iter()
            .copied()
            .filter(|x| date_key(a) <= x.ts() && x.ts() <= date_key(b))
            .collect()
    };
    let check = |bar: &AggBar, rows: &[Bar]| {
        let o = bar.ohlc.unwrap();
        assert_eq!(o.open, rows[0].open());
        assert_eq!(o.close, rows[rows.len() - 1].close());
        assert_eq!(
            o.high,
            rows.iter().map(|b| b.high()).fold(f64::MIN, f64::max)
        );
        assert_eq!(o.low, rows.iter().map(|b| b.low()).fold(f64::MAX, f64::min));
        assert_eq!(bar.volume, rows.iter().map(|b| b.volume()).sum::<f64>());
        assert_eq!(bar.count as usize, rows.len());
    };
    let weeks = aggregate(
        "us_equity",
        Resolution::Day,
        "1w",
        SessionFilter::Regular,
        &aapl,
    );
    assert_eq!(weeks.len(), 157);
    // Thanksgiving week 2013: Mon-Wed + Friday's early close.
    let tg = weeks
        .iter()
        .find(|w| w.date == Some(d(2013, 11, 25)))
        .unwrap();
    let rows = in_range(d(2013, 11, 25), d(2013, 11, 29));
    assert_eq!(rows.len(), 4);
    check(tg, &rows);
    let ny = chrono_tz::America::New_York;
    assert_eq!(local(tg.end, ny).to_rfc3339(), "2013-11-29T13:00:00-05:00");
    // A week starting on a holiday (MLK 2014-01-20) starts on Tuesday.
    let mlk = weeks
        .iter()
        .find(|w| w.date == Some(d(2014, 1, 21)))
        .unwrap();
    check(mlk, &in_range(d(2014, 1, 20), d(2014, 1, 24)));

    let months = aggregate(
        "us_equity",
        Resolution::Day,
        "1M",
        SessionFilter::Regular,
        &aapl,
    );
    assert_eq!(months.len(), 36);
    for (m, first) in [
        (0usize, d(2012, 1, 3)),
        (22, d(2013, 11, 1)),
        (35, d(2014, 12, 1)),
    ] {
        assert_eq!(months[m].date, Some(first));
    }
    check(&months[22], &in_range(d(2013, 11, 1), d(2013, 11, 30)));
    check(&months[9], &in_range(d(2012, 10, 1), d(2012, 10, 31))); // Sandy month
    let quarters = aggregate(
        "us_equity",
        Resolution::Day,
        "3M",
        SessionFilter::Regular,
        &aapl,
    );
    assert_eq!(quarters.len(), 12);
    check(&quarters[7], &in_range(d(2013, 10, 1), d(2013, 12, 31)));
}

#[test]
fn prev_fill_on_real_minutes_is_seeded_from_the_bar_before_the_window() {
    let spy = parse("spy_1m.csv.gz", |_| true);
    let cal = Calendar::get("us_equity").unwrap();
    let window = TimeRange::new(1_381_152_600, 1_381_153_800).unwrap(); // 2013-10-07 09:30..09:50 ET
    // Drop the first 7 minutes of the window from the data.
    let bars: Vec<Bar> = spy
        .iter()
        .copied()
        .filter(|b| window.contains(b.ts()) && b.ts() >= window.start() + 420)
        .collect();
    let seed = spy
        .iter()
        .copied()
        .rfind(|b| b.ts() < window.start())
        .unwrap();
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
    let out = agg.aggregate(&bars, None).unwrap();
    let filled = agg.fill(&out, window, FillMethod::Prev, Some(&seed));
    assert_eq!(filled.len(), 4);
    assert_eq!(filled[0].ohlc.unwrap().close, seed.close());
    assert_eq!(filled[0].volume, 0.0);
    assert!(filled[1].filled.is_none());
    assert_eq!(filled[1].ohlc.unwrap().close, bars[2].close()); // 09:35-09:39 bucket
}
