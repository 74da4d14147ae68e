//! Work estimates from the calendar alone, and gap detection with a bounded output:
//!
//! - [`Aggregator::bucket_count`] equals the length of [`Aggregator::buckets`] (which
//!   `fill` emits) for every timeframe, alignment, session filter, calendar and range;
//! - [`expected_slots`] equals the `expected` count of a gap report;
//! - [`detect_gaps_bounded`] keeps exact counts while holding at most `max_gaps` spans,
//!   and a 200-year minute range with no bars is answered from the sessions alone.
//!
//! (Speed is measured by the `tradeassist-engine` bench `bounded_work`, not asserted here.)

use chrono::NaiveDate;
use proptest::prelude::*;
use tradeassist_engine::{
    AggSpec, Aggregator, Align, Calendar, EngineError, FillMethod, SessionFilter, detect_gaps,
    detect_gaps_bounded, expected_slots,
};
use tradeassist_model::time::{END_TS, FIRST_TS};
use tradeassist_model::{Bar, Resolution, TimeRange, TimeUnit, Timeframe, date_key};

const CALENDARS: [&str; 4] = ["us_equity", "cme_equity", "cme_globex", "xetra"];
const FILTERS: [SessionFilter; 3] = [
    SessionFilter::Regular,
    SessionFilter::Extended,
    SessionFilter::All,
];

fn ts(y: i32, m: u32, d: u32) -> i64 {
    date_key(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn timeframe(intraday: bool) -> impl Strategy<Value = Timeframe> {
    let intraday_tf = prop_oneof![
        (1u32..=240).prop_map(|n| Timeframe::new(n, TimeUnit::Minute).unwrap()),
        (1u32..=6).prop_map(|n| Timeframe::new(n, TimeUnit::Hour).unwrap()),
        Just(Timeframe::new(7, TimeUnit::Minute).unwrap()),
    ];
    let long = prop_oneof![
        (1u32..=12).prop_map(|n| Timeframe::new(n, TimeUnit::Day).unwrap()),
        (1u32..=3).prop_map(|n| Timeframe::new(n, TimeUnit::Week).unwrap()),
        (1u32..=4).prop_map(|n| Timeframe::new(n, TimeUnit::Month).unwrap()),
    ];
    if intraday {
        intraday_tf.boxed()
    } else {
        long.boxed()
    }
}

fn align() -> impl Strategy<Value = Align> {
    prop_oneof![
        Just(Align::Session),
        (FIRST_TS..END_TS, -86_400i64 * 7..86_400 * 7)
            .prop_map(|(origin, offset)| Align::Clock { origin, offset }),
        (0i64..3_600).prop_map(|m| Align::Clock {
            origin: m * 60,
            offset: 0
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn bucket_count_equals_the_buckets_fill_would_emit(
        cal in 0usize..4,
        filter in 0usize..3,
        daily_base in any::<bool>(),
        tf in any::<bool>().prop_flat_map(timeframe),
        align in align(),
        start in ts(2012, 1, 1)..ts(2022, 1, 1),
        len in 1i64..(86_400 * 75),
    ) {
        let cal = Calendar::get(CALENDARS[cal]).unwrap();
        let mut spec = AggSpec::new(tf);
        spec.align = align;
        spec.sessions = FILTERS[filter];
        let base = if daily_base { Resolution::Day } else { Resolution::Minute };
        let Ok(agg) = Aggregator::new(cal, base, spec) else {
            // Intraday from a daily base is refused up front.
            prop_assert!(tf.is_intraday() && daily_base);
            return Ok(());
        };
        let range = TimeRange::new(start, start + len).unwrap();
        let n = agg.bucket_count(range);
        prop_assert_eq!(n, agg.buckets(range).len() as u64);
        let empty = agg.aggregate(&[], None).unwrap();
        let filled = agg.fill_bounded(&empty, range, FillMethod::Null, None, n).unwrap();
        prop_assert_eq!(filled.len() as u64, n);
    }

    #[test]
    fn expected_slots_equal_the_gap_report_count(
        cal in 0usize..4,
        filter in 0usize..3,
        daily_base in any::<bool>(),
        start in ts(2012, 1, 1)..ts(2022, 1, 1),
        len in 1i64..(86_400 * 40),
        keep in 1usize..50,
        max_gaps in 0usize..5,
    ) {
        let cal = Calendar::get(CALENDARS[cal]).unwrap();
        let base = if daily_base { Resolution::Day } else { Resolution::Minute };
        let range = TimeRange::new(start, start + len).unwrap();
        let step = base.seconds();
        // Every `keep`-th slot of the range has a bar.
        let bars: Vec<Bar> = (0..)
            .map(|k| start - start.rem_euclid(step) + k * step * keep as i64)
            .take_while(|t| *t < start + len)
            .map(|t| Bar::new(t, 1.0, 1.0, 1.0, 1.0, 1.0).unwrap())
            .collect();
        let full = detect_gaps(&bars, base, cal, FILTERS[filter], range).unwrap();
        prop_assert_eq!(expected_slots(base, cal, FILTERS[filter], range), full.expected);
        prop_assert_eq!(full.total_gaps, full.gaps.len() as u64);
        prop_assert!(!full.truncated);
        let missing: u64 = full.gaps.iter().map(|g| g.missing).sum();
        prop_assert_eq!(missing, full.expected - full.present);

        let capped = detect_gaps_bounded(&bars, base, cal, FILTERS[filter], range, max_gaps).unwrap();
        prop_assert_eq!(capped.expected, full.expected);
        prop_assert_eq!(capped.present, full.present);
        prop_assert_eq!(capped.total_gaps, full.total_gaps);
        prop_assert_eq!(&capped.gaps[..], &full.gaps[..full.gaps.len().min(max_gaps)]);
        prop_assert_eq!(capped.truncated, full.gaps.len() > max_gaps);
    }
}

#[test]
fn fill_prev_over_1900_to_2100_is_estimated_before_building() {
    // The defect: fill=prev over 1900..2100 on SPY 1m built every bucket (GBs) before it
    // could be refused. bucket_count answers from the sessions alone.
    let cal = Calendar::get("us_equity").unwrap();
    let range = TimeRange::new(FIRST_TS, END_TS).unwrap();
    let agg =
        Aggregator::new(cal, Resolution::Minute, AggSpec::new("1m".parse().unwrap())).unwrap();
    let n = agg.bucket_count(range);
    let empty = agg.aggregate(&[], None).unwrap();
    assert_eq!(
        agg.fill_bounded(&empty, range, FillMethod::Prev, None, 1_000_000),
        Err(EngineError::TooManyBars {
            bars: n,
            max: 1_000_000
        })
    );
    // Without a fill nothing is built, so nothing is refused.
    assert_eq!(
        agg.fill_bounded(&empty, range, FillMethod::None, None, 0),
        Ok(Vec::new())
    );
    // About 201 years x 252 sessions x 390 minutes (early closes and holidays make it less).
    assert!((19_000_000..20_000_000).contains(&n), "{n}");
    assert_eq!(
        n,
        expected_slots(Resolution::Minute, cal, SessionFilter::Regular, range)
    );
    let days = Aggregator::new(cal, Resolution::Day, AggSpec::new("1d".parse().unwrap()))
        .unwrap()
        .bucket_count(range);
    assert_eq!(
        days,
        expected_slots(Resolution::Day, cal, SessionFilter::Regular, range)
    );
    // Long groups: 100000-day bars over 200 years are one or two buckets, found quickly.
    let huge = Aggregator::new(
        cal,
        Resolution::Day,
        AggSpec::new("100000d".parse().unwrap()),
    )
    .unwrap();
    assert!(huge.bucket_count(range) <= 2);
}

#[test]
fn gaps_over_200_years_of_an_empty_minute_series_keep_counts_and_a_bounded_list() {
    let cal = Calendar::get("us_equity").unwrap();
    let range = TimeRange::new(FIRST_TS, END_TS).unwrap();
    let expected = expected_slots(Resolution::Minute, cal, SessionFilter::Regular, range);
    let r = detect_gaps_bounded(
        &[],
        Resolution::Minute,
        cal,
        SessionFilter::Regular,
        range,
        100,
    )
    .unwrap();
    assert_eq!(r.expected, expected);
    assert_eq!(r.present, 0);
    assert_eq!(r.gaps.len(), 100);
    assert!(r.truncated);
    // One gap per session (no bars anywhere): every trading day of the span.
    assert!(r.total_gaps > 50_000, "{}", r.total_gaps);
    assert_eq!(r.gaps[0].start, r.gaps[0].end - 390 * 60);
    assert_eq!(r.completeness(), 0.0);
}
