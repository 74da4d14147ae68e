//! Behaviour at the edges: DST, Globex day boundaries, holidays, early closes, fills,
//! completeness, VWAP sources and the incremental path's clock.

use chrono::DateTime;
use chrono_tz::Tz;
use tradeassist_engine::{
    AggSpec, Aggregator, Align, Calendar, FillKind, FillMethod, IncrementalAggregator, Label,
    SessionFilter, UpdateKind, VwapSource, detect_gaps,
};
use tradeassist_model::{Bar, Resolution, TimeRange, date_key};

mod common;
use common::d;

fn hm(ts: i64, tz: Tz) -> String {
    DateTime::from_timestamp(ts, 0)
        .unwrap()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn flat(ts: i64, price: f64, volume: f64) -> Bar {
    Bar::new(ts, price, price, price, price, volume).unwrap()
}

/// One bar per minute over `[from, to)`.
fn minutes(from: i64, to: i64) -> Vec<Bar> {
    (from..to)
        .step_by(60)
        .map(|t| flat(t, 100.0 + ((t / 60) % 7) as f64, 10.0))
        .collect()
}

fn spec(tf: &str, filter: SessionFilter) -> AggSpec {
    let mut s = AggSpec::new(tf.parse().unwrap());
    s.sessions = filter;
    s
}

fn run(
    cal: &str,
    tf: &str,
    filter: SessionFilter,
    bars: &[Bar],
) -> Vec<tradeassist_engine::AggBar> {
    Aggregator::new(
        Calendar::get(cal).unwrap(),
        Resolution::Minute,
        spec(tf, filter),
    )
    .unwrap()
    .aggregate(bars, None)
    .unwrap()
    .bars
}

#[test]
fn us_dst_weekend_hourly_bars_keep_local_session_times() {
    let ny = chrono_tz::America::New_York;
    // Fri 2013-03-08 .. Tue 2013-03-12, every minute.
    let bars = minutes(date_key(d(2013, 3, 8)), date_key(d(2013, 3, 12)));
    let out = run("us_equity", "1h", SessionFilter::Regular, &bars);
    let labels: Vec<String> = out.iter().map(|b| hm(b.start, ny)).collect();
    assert_eq!(labels.len(), 14);
    assert_eq!(labels[0], "2013-03-08 09:30");
    assert_eq!(labels[6], "2013-03-08 15:30");
    assert_eq!(labels[7], "2013-03-11 09:30");
    assert_eq!(out[7].start - out[0].start, 3 * 86_400 - 3600); // one hour shorter in UTC
    assert_eq!(hm(out[13].end, ny), "2013-03-11 16:00");
    assert_eq!(out[6].count, 30); // last bucket of the session is clipped at the close
}

#[test]
fn eu_dst_weekend_daily_and_clock_bars() {
    let berlin = chrono_tz::Europe::Berlin;
    // Thu 2013-10-24 .. Tue 2013-10-29 (Europe switches back on Sunday 2013-10-27).
    let bars = minutes(date_key(d(2013, 10, 24)), date_key(d(2013, 10, 30)));
    let days = run("xetra", "1d", SessionFilter::Regular, &bars);
    let dates: Vec<_> = days.iter().map(|b| b.date.unwrap()).collect();
    assert_eq!(
        dates,
        vec![
            d(2013, 10, 24),
            d(2013, 10, 25),
            d(2013, 10, 28),
            d(2013, 10, 29)
        ]
    );
    for b in &days {
        assert_eq!(b.count, 510); // 09:00-17:30 whatever the UTC offset
        assert!(hm(b.start, berlin).ends_with("09:00"));
    }
    // Clock-aligned 4h buckets from UTC midnight are clipped to the session.
    let mut s = spec("4h", SessionFilter::Regular);
    s.align = Align::Clock {
        origin: 0,
        offset: 0,
    };
    let cal = Calendar::get("xetra").unwrap();
    let out = Aggregator::new(cal, Resolution::Minute, s)
        .unwrap()
        .aggregate(&bars, None)
        .unwrap();
    let fri: Vec<String> = out
        .bars
        .iter()
        .filter(|b| hm(b.start, berlin).starts_with("2013-10-25"))
        .map(|b| hm(b.start, berlin))
        .collect();
    assert_eq!(
        fri,
        vec!["2013-10-25 09:00", "2013-10-25 10:00", "2013-10-25 14:00"]
    ); // CEST
    let mon: Vec<String> = out
        .bars
        .iter()
        .filter(|b| hm(b.start, berlin).starts_with("2013-10-28"))
        .map(|b| hm(b.start, berlin))
        .collect();
    assert_eq!(
        mon,
        vec!["2013-10-28 09:00", "2013-10-28 13:00", "2013-10-28 17:00"]
    ); // CET
}

#[test]
fn sunday_evening_globex_bar_belongs_to_monday() {
    let sunday_22utc = 1_381_096_800; // 2013-10-06 22:00 UTC = 17:00 CDT
    let bars = vec![
        flat(sunday_22utc, 1.0, 1.0),
        flat(sunday_22utc + 60, 2.0, 1.0),
    ];
    let out = run("cme_equity", "1d", SessionFilter::All, &bars);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].date, Some(d(2013, 10, 7)));
    assert_eq!(out[0].start, sunday_22utc);
    assert!(!out[0].complete);
    // A bar in the 16:15-17:00 CT maintenance window belongs to no session.
    let maintenance = sunday_22utc + 86_400 - 1800; // Monday 16:30 CDT
    assert!(
        run(
            "cme_equity",
            "1d",
            SessionFilter::All,
            &[flat(maintenance, 1.0, 1.0)]
        )
        .is_empty()
    );
}

#[test]
fn thanksgiving_has_no_session_and_christmas_eve_closes_early() {
    let ny = chrono_tz::America::New_York;
    let bars = minutes(date_key(d(2013, 11, 27)), date_key(d(2013, 11, 30)));
    let days = run("us_equity", "1d", SessionFilter::Regular, &bars);
    let dates: Vec<_> = days.iter().map(|b| b.date.unwrap()).collect();
    assert_eq!(dates, vec![d(2013, 11, 27), d(2013, 11, 29)]);
    let eve = minutes(date_key(d(2013, 12, 24)), date_key(d(2013, 12, 25)));
    let day = &run("us_equity", "1d", SessionFilter::Regular, &eve)[0];
    assert_eq!(hm(day.end, ny), "2013-12-24 13:00");
    assert_eq!(day.count, 210);
    let ext = run("us_equity", "1d", SessionFilter::Extended, &eve);
    let ext = ext
        .iter()
        .find(|b| b.date == Some(d(2013, 12, 24)))
        .unwrap();
    assert_eq!(hm(ext.end, ny), "2013-12-24 17:00");
}

#[test]
fn holidays_and_weekends_are_never_gaps() {
    let cal = Calendar::get("us_equity").unwrap();
    // Regular minutes of Wed 2013-11-27 and Mon 2013-12-02, nothing in between.
    let mut bars = minutes(1_385_562_600, 1_385_562_600 + 390 * 60);
    bars.extend(minutes(1_385_994_600, 1_385_994_600 + 390 * 60));
    // Friday 2013-11-29 (early close) is missing: 210 minutes, one gap.
    let range = TimeRange::new(date_key(d(2013, 11, 27)), date_key(d(2013, 12, 3))).unwrap();
    let r = detect_gaps(
        &bars,
        Resolution::Minute,
        cal,
        SessionFilter::Regular,
        range,
    )
    .unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].missing, 210);
    assert_eq!(hm(r.gaps[0].start, cal.timezone()), "2013-11-29 09:30");
    assert_eq!(r.expected, 390 * 2 + 210);
    assert_eq!(r.present, 390 * 2);
    assert!((r.completeness() - 780.0 / 990.0).abs() < 1e-12);
    // Daily base: Thanksgiving and the weekend are no gaps.
    let daily = vec![
        flat(date_key(d(2013, 11, 27)), 1.0, 1.0),
        flat(date_key(d(2013, 11, 29)), 1.0, 1.0),
        flat(date_key(d(2013, 12, 2)), 1.0, 1.0),
    ];
    let r = detect_gaps(&daily, Resolution::Day, cal, SessionFilter::Regular, range).unwrap();
    assert_eq!((r.gaps.len(), r.expected, r.present), (0, 3, 3));
}

#[test]
fn a_deleted_minute_is_a_gap_of_one() {
    let cal = Calendar::get("cme_equity").unwrap();
    let open = 1_381_096_800;
    let mut bars = minutes(open, open + 3600);
    bars.remove(17);
    let range = TimeRange::new(open, open + 3600).unwrap();
    let r = detect_gaps(&bars, Resolution::Minute, cal, SessionFilter::All, range).unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(
        (r.gaps[0].start, r.gaps[0].end, r.gaps[0].missing),
        (open + 17 * 60, open + 18 * 60, 1)
    );
    assert_eq!((r.expected, r.present), (60, 59));
}

#[test]
fn fills_null_prev_and_linear_with_a_seed() {
    let cal = Calendar::get("us_equity").unwrap();
    let open = 1_381_152_600; // 2013-10-07 09:30 ET
    let window = TimeRange::new(open, open + 3600).unwrap();
    // Data only in the 09:45 and 10:15 buckets (15m bars); seed close 90 just before the window.
    let bars = vec![
        flat(open + 15 * 60, 100.0, 5.0),
        flat(open + 45 * 60, 130.0, 5.0),
    ];
    let seed = flat(open - 60, 90.0, 1.0);
    let agg = Aggregator::new(
        cal,
        Resolution::Minute,
        AggSpec::new("15m".parse().unwrap()),
    )
    .unwrap();
    let out = agg.aggregate(&bars, None).unwrap();
    assert_eq!(out.bars.len(), 2);

    let null = agg.fill(&out, window, FillMethod::Null, Some(&seed));
    assert_eq!(null.len(), 4);
    assert_eq!((null[0].ohlc, null[0].filled), (None, Some(FillKind::Null)));
    assert!(null[1].filled.is_none());

    let prev = agg.fill(&out, window, FillMethod::Prev, Some(&seed));
    let closes: Vec<f64> = prev.iter().map(|b| b.ohlc.unwrap().close).collect();
    assert_eq!(closes, vec![90.0, 100.0, 100.0, 130.0]);
    assert_eq!(prev[2].filled, Some(FillKind::Prev));
    assert_eq!(
        (prev[2].volume, prev[2].count, prev[2].vwap),
        (0.0, 0, None)
    );
    let o = prev[2].ohlc.unwrap();
    assert_eq!((o.open, o.high, o.low), (100.0, 100.0, 100.0));

    let unseeded = agg.fill(&out, window, FillMethod::Prev, None);
    assert_eq!(unseeded[0].filled, Some(FillKind::Null));

    let linear = agg.fill(&out, window, FillMethod::Linear, Some(&seed));
    let closes: Vec<f64> = linear.iter().map(|b| b.ohlc.unwrap().close).collect();
    assert_eq!(closes, vec![95.0, 100.0, 115.0, 130.0]);
    assert_eq!(linear[2].filled, Some(FillKind::Linear));
    // After the last bar there is no right neighbour: Linear leaves a null bar.
    let longer = TimeRange::new(open, open + 5400).unwrap();
    let tail = agg.fill(&out, longer, FillMethod::Linear, Some(&seed));
    assert_eq!(tail.len(), 6);
    assert_eq!(tail[5].filled, Some(FillKind::Null));
    assert_eq!(agg.fill(&out, window, FillMethod::None, None), out.bars);
}

#[test]
fn completeness_follows_the_data_end_and_now() {
    let cal = Calendar::get("us_equity").unwrap();
    let open = 1_381_152_600;
    let bars = minutes(open, open + 12 * 60); // 09:30..09:42
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
    let out = agg.aggregate(&bars, None).unwrap();
    assert_eq!(
        out.bars.iter().map(|b| b.complete).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    let out = agg.aggregate(&bars, Some(open + 7 * 60)).unwrap();
    assert_eq!(
        out.bars.iter().map(|b| b.complete).collect::<Vec<_>>(),
        vec![true, false, false]
    );
    let mut s = AggSpec::new("5m".parse().unwrap());
    s.label = Label::End;
    let ends = Aggregator::new(cal, Resolution::Minute, s)
        .unwrap()
        .aggregate(&bars, None)
        .unwrap();
    assert_eq!(ends.bars[0].ts, open + 300);
}

#[test]
fn vwap_source_and_zero_volume() {
    let cal = Calendar::get("us_equity").unwrap();
    let open = 1_381_152_600;
    let b1 = Bar::new(open, 10.0, 12.0, 9.0, 11.0, 100.0).unwrap();
    let b2 = Bar::new(open + 60, 11.0, 13.0, 10.0, 12.0, 300.0).unwrap();
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
    let typical = agg.aggregate(&[b1, b2], None).unwrap();
    assert_eq!(typical.vwap_source, VwapSource::TypicalPrice);
    let expect = (b1.typical_price() * 100.0 + b2.typical_price() * 300.0) / 400.0;
    assert_eq!(typical.bars[0].vwap, Some(expect));
    let v1 = b1.with_vwap(Some(10.5)).unwrap();
    let v2 = b2.with_vwap(Some(11.5)).unwrap();
    let vendor = agg.aggregate(&[v1, v2], None).unwrap();
    assert_eq!(vendor.vwap_source, VwapSource::Vendor);
    assert_eq!(
        vendor.bars[0].vwap,
        Some((10.5 * 100.0 + 11.5 * 300.0) / 400.0)
    );
    // One bar without a vendor VWAP switches the whole result to typical prices.
    assert_eq!(
        agg.aggregate(&[v1, b2], None).unwrap().vwap_source,
        VwapSource::TypicalPrice
    );
    let zero = agg.aggregate(&[flat(open, 10.0, 0.0)], None).unwrap();
    assert_eq!(zero.bars[0].vwap, None);
    assert!(agg.aggregate(&[b2, b1], None).is_err());
}

#[test]
fn session_vwap_resets_at_each_open() {
    let cal = Calendar::get("us_equity").unwrap();
    let mon = 1_381_152_600;
    let tue = mon + 86_400;
    let bars = vec![
        flat(mon, 10.0, 1.0),
        flat(mon + 60, 20.0, 1.0),
        flat(tue, 50.0, 2.0),
        flat(tue + 600, 80.0, 1.0),
    ];
    let mut s = AggSpec::new("5m".parse().unwrap());
    s.session_vwap = true;
    let out = Aggregator::new(cal, Resolution::Minute, s)
        .unwrap()
        .aggregate(&bars, None)
        .unwrap();
    let sv: Vec<Option<f64>> = out.bars.iter().map(|b| b.session_vwap).collect();
    assert_eq!(sv, vec![Some(15.0), Some(50.0), Some(60.0)]);
}

#[test]
fn incremental_close_until_and_out_of_order() {
    let cal = Calendar::get("us_equity").unwrap();
    let open = 1_381_152_600;
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
    let mut live = IncrementalAggregator::new(agg, VwapSource::TypicalPrice);
    let u = live.push(&flat(open + 60, 10.0, 1.0)).unwrap();
    assert_eq!(
        (u.len(), u[0].kind, u[0].bar.complete),
        (1, UpdateKind::Partial, false)
    );
    assert!(live.push(&flat(open, 10.0, 1.0)).is_err());
    assert!(live.close_until(open + 299).is_none());
    let fin = live.close_until(open + 300).unwrap();
    assert_eq!(
        (fin.kind, fin.bar.complete, fin.bar.count),
        (UpdateKind::Final, true, 1)
    );
    assert!(live.finish().is_none());
    // A bar outside the session closes the running bucket without opening one.
    live.push(&flat(open + 3600, 10.0, 1.0)).unwrap();
    let after_close = open + 7 * 3600; // 16:30 ET
    let u = live.push(&flat(after_close, 10.0, 1.0)).unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].kind, UpdateKind::Final);
}
