//! No numeric input panics: arbitrary numbers thrown at every public constructor and parser
//! a request reaches (timeframes, bar specs and activity thresholds, aggregation specs with
//! clock alignment, continuous specs and the builder, presets and ranges, gap detection and
//! the work estimates). Each either answers or returns an error; the test fails on a panic.

use chrono::NaiveDate;
use proptest::prelude::*;
use tradeassist_engine::{
    Activity, AggSpec, Aggregator, Align, BarSpec, Calendar, ContinuousBuilder, ContinuousSpec,
    ContractData, FillMethod, Label, RollAnchor, RollCycle, RollPrice, RollRule, SessionFilter,
    activity_bars, detect_gaps_bounded, expected_slots,
};
use tradeassist_model::{
    Adjust, Bar, ContractMonth, FuturesContract, Preset, RangeSpec, Resolution, TimeRange,
    TimeUnit, Timeframe, date_key,
};

const CALENDARS: [&str; 4] = ["us_equity", "cme_equity", "cme_globex", "xetra"];

/// Instants near the interesting places: the supported span, the epoch, the ends of i64 and
/// of chrono's dates.
fn instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -2_300_000_000i64..4_200_000_000,
        1_380_000_000i64..1_390_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MAX - 59),
        Just(8_210_266_876_799i64),  // chrono's last second
        Just(-8_334_601_228_800i64), // chrono's first second
    ]
}

fn unit() -> impl Strategy<Value = TimeUnit> {
    prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Minute),
        Just(TimeUnit::Hour),
        Just(TimeUnit::Day),
        Just(TimeUnit::Week),
        Just(TimeUnit::Month),
    ]
}

/// Bars at these instants, sorted (`i64::MIN` moved up by one: the batch path's first
/// comparison is against `i64::MIN`, so a bar there reads as out of order).
fn bars(ts: Vec<i64>) -> Vec<Bar> {
    let mut ts: Vec<i64> = ts.into_iter().map(|t| t.max(i64::MIN + 1)).collect();
    ts.sort_unstable();
    ts.dedup();
    ts.into_iter()
        .map(|t| Bar::new(t, 10.0, 11.0, 9.0, 10.5, 5.0).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn timeframes_and_bar_specs_parse_or_refuse(
        count in any::<u64>(),
        suffix in "[smhdwMx]",
        value in prop_oneof![any::<f64>().prop_map(|v| v.to_string()), "[-+0-9.e]{0,12}", Just("NaN".to_string()), Just("1e308".to_string()), Just("inf".to_string())],
        kind in "(volume|tick|dollar|range)",
    ) {
        let _ = format!("{count}{suffix}").parse::<Timeframe>();
        let _ = format!("{kind}:{value}").parse::<BarSpec>();
        let _ = Timeframe::new(count as u32, TimeUnit::Month);
        if let Ok(BarSpec::Activity(a)) = format!("{kind}:{value}").parse::<BarSpec>() {
            // Only finite positive thresholds get through.
            match a {
                Activity::Volume(v) | Activity::Dollar(v) => prop_assert!(v.is_finite() && v > 0.0),
                Activity::Tick(n) => prop_assert!(n > 0),
            }
            let input = bars(vec![0, 60, 120]);
            let out = activity_bars(&input, Resolution::Minute, a).unwrap();
            prop_assert!(!out.is_empty());
        }
    }

    #[test]
    fn aggregation_with_any_clock_and_timeframe_never_panics(
        cal in 0usize..4,
        count in 1u32..=100_000,
        unit in unit(),
        origin in instant(),
        offset in instant(),
        daily in any::<bool>(),
        label_end in any::<bool>(),
        ts in proptest::collection::vec(instant(), 0..6),
        start in instant(),
        len in 1i64..(86_400 * 10),
    ) {
        let cal = Calendar::get(CALENDARS[cal]).unwrap();
        let mut spec = AggSpec::new(Timeframe::new(count, unit).unwrap());
        spec.align = Align::Clock { origin, offset };
        spec.label = if label_end { Label::End } else { Label::Start };
        spec.sessions = SessionFilter::All;
        let base = if daily { Resolution::Day } else { Resolution::Minute };
        for align in [spec.align, Align::Session] {
            spec.align = align;
            let Ok(agg) = Aggregator::new(cal, base, spec) else { continue };
            let input = bars(ts.clone());
            let out = agg.aggregate(&input, Some(start)).unwrap();
            let range = TimeRange::new(start, start.saturating_add(len)).unwrap_or(TimeRange::new(0, 1).unwrap());
            if agg.bucket_count(range) < 100_000 {
                let filled = agg.fill(&out, range, FillMethod::Linear, input.first());
                prop_assert!(filled.len() as u64 >= agg.bucket_count(range));
            }
        }
    }

    #[test]
    fn continuous_specs_with_any_numbers_never_panic(
        roll_offset in any::<u32>(),
        rank in prop_oneof![any::<usize>(), 0usize..4],
        grace in proptest::option::of(prop_oneof![any::<u32>(), 0u32..30]),
        skip in any::<bool>(),
        cycle_bits in 0u16..0x1000,
        rule in 0usize..4,
        fixed in proptest::collection::vec(-200_000i32..3_000_000, 0..4),
        adjust in 0usize..5,
        anchor in any::<bool>(),
        first_new in any::<bool>(),
        ltd_days in proptest::collection::vec(-100_000i32..2_900_000, 3),
    ) {
        let day = |n: i32| NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MAX);
        let mut spec = ContinuousSpec::new(match rule {
            0 => RollRule::Calendar,
            1 => RollRule::Volume,
            2 => RollRule::OpenInterest,
            _ => RollRule::Fixed(fixed.iter().map(|n| day(*n)).collect()),
        });
        spec.roll_offset = roll_offset;
        spec.rank = rank;
        spec.grace_sessions = grace;
        spec.skip_to_most_active = skip;
        spec.cycle = RollCycle::from_months((1..=12).filter(|m| cycle_bits & (1 << (m - 1)) != 0));
        spec.adjust = Adjust::ALL[adjust];
        spec.anchor = if anchor { RollAnchor::FirstNotice } else { RollAnchor::LastTrade };
        spec.roll_price = if first_new { RollPrice::LastOldFirstNew } else { RollPrice::LastCloseBoth };
        let cal = Calendar::get("cme_equity").unwrap();
        let start = NaiveDate::from_ymd_opt(2013, 9, 2).unwrap();
        let contracts: Vec<ContractData> = [9u32, 12, 3]
            .iter()
            .zip(&ltd_days)
            .enumerate()
            .map(|(i, (m, ltd))| {
                let bars = (0..60)
                    .map(|t| {
                        let p = 100.0 + i as f64 + t as f64;
                        Bar::new(date_key(start + chrono::Duration::days(t)), p, p, p, p, 1.0 + t as f64 * i as f64).unwrap()
                    })
                    .collect();
                ContractData::new(
                    FuturesContract {
                        root: "ES".into(),
                        month: ContractMonth::new(2013 + i32::from(*m == 3), *m).unwrap(),
                        last_trade_date: (i != 1).then(|| day(*ltd)),
                        first_notice_date: (i == 2).then(|| day(-*ltd)),
                    },
                    bars,
                )
            })
            .collect();
        let built = ContinuousBuilder::new(cal, Resolution::Day).unwrap().build(&contracts, &spec);
        if let Err(e) = &built {
            let _ = e.to_string();
        }
        if spec.validate().is_err() {
            prop_assert!(built.is_err());
        }
    }

    #[test]
    fn presets_and_ranges_with_any_numbers_never_panic(
        n in any::<u64>(),
        unit in "(days|months|bars|weeks)",
        year in -300_000i64..300_000,
        now in instant(),
        daily in any::<bool>(),
    ) {
        let preset = format!("last_{n}_{unit}");
        let _ = preset.parse::<Preset>();
        let date = format!("{year:04}-06-15");
        let base = if daily { Resolution::Day } else { Resolution::Minute };
        for (start, end, p, as_of) in [
            (Some(date.as_str()), None, None, None),
            (None, None, Some(preset.as_str()), Some(date.as_str())),
            (None, None, Some(preset.as_str()), None),
            (Some("2013-01-01"), Some(date.as_str()), None, None),
        ] {
            if let Ok(spec) = RangeSpec::from_parts(start, end, p, as_of, now) {
                let _ = spec.window(chrono_tz::America::New_York, base, now);
            }
        }
    }
}

proptest! {
    // Each case may walk the whole 200-year span: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn gap_detection_and_estimates_over_any_range_never_panic(
        cal in 0usize..4,
        a in instant(),
        b in instant(),
        ts in proptest::collection::vec(instant(), 0..6),
        daily in any::<bool>(),
        max_gaps in 0usize..4,
    ) {
        let cal = Calendar::get(CALENDARS[cal]).unwrap();
        let Ok(range) = TimeRange::new(a.min(b), a.max(b)) else { return Ok(()) };
        let base = if daily { Resolution::Day } else { Resolution::Minute };
        let input = bars(ts);
        let r = detect_gaps_bounded(&input, base, cal, SessionFilter::Regular, range, max_gaps).unwrap();
        prop_assert!(r.gaps.len() <= max_gaps);
        prop_assert_eq!(r.expected, expected_slots(base, cal, SessionFilter::Regular, range));
    }
}
