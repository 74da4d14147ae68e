//! Continuous series on synthetic contracts with known prices: closed-form adjustments,
//! rank, fixed dates, volume rolls, warnings and typed errors.
//!
//! Five contracts of root `XX` (no expiry rule: every contract carries an explicit last trade
//! date), daily bars on the trading days `day(t)`, t = 0.. of the `cme_globex` calendar from
//! 2014-01-02. Contract i closes at `b[i] + t` on day t (open = close - 0.5, high = close + 1,
//! low = close - 1) and its last trade date is day(10 (i + 1)). With the calendar rule at
//! offset 0, roll k (k = 1..4, from contract k-1 to k) happens on day(10 k); both closes of
//! day(10 k - 1) set its gap: difference d_k = b[k] - b[k-1] and ratio
//! r_k = (b[k] + 10k - 1) / (b[k-1] + 10k - 1). Segment s holds contract s on days
//! 10 s .. 10 s + 9 (the last one up to day 59). Closed forms for a bar of segment s on day t:
//!
//! - none:                b[s] + t
//! - difference_back:     b[s] + t + sum_{k>s} d_k  = b[4] + t   (the sum telescopes)
//! - difference_forward:  b[s] + t - sum_{k<=s} d_k = b[0] + t
//! - ratio_back:          (b[s] + t) * prod_{k>s} r_k
//! - ratio_forward:       (b[s] + t) / prod_{k<=s} r_k

use chrono::{Duration, NaiveDate};
use tradeassist_engine::{
    Adjust, Adjustment, Calendar, ContinuousBuilder, ContinuousError, ContinuousSeries,
    ContinuousSpec, ContinuousSymbol, ContinuousWarning, ContractData, DailyStat, ExpiryError,
    RollAnchor, RollPrice, RollRule, RollTrigger,
};
use tradeassist_model::{Bar, ContractMonth, FuturesContract, Resolution, date_key};

const B: [f64; 5] = [100.0, 104.0, 101.0, 110.0, 108.0];

fn cal() -> &'static Calendar {
    Calendar::get("cme_globex").unwrap()
}

/// The first `n` trading days from 2014-01-02.
fn days(n: usize) -> Vec<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(2014, 1, 2).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        if cal().is_trading_day(d) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

fn bar(day: NaiveDate, close: f64) -> Bar {
    Bar::new(
        date_key(day),
        close - 0.5,
        close + 1.0,
        close - 1.0,
        close,
        10.0,
    )
    .unwrap()
}

fn contract(i: usize, last_trade: NaiveDate, bars: Vec<Bar>) -> ContractData {
    let month = ContractMonth::new(2014 + i as i32 / 4, (i as u32 % 4) * 3 + 3).unwrap();
    ContractData::new(
        FuturesContract {
            root: "XX".into(),
            month,
            last_trade_date: Some(last_trade),
            first_notice_date: None,
        },
        bars,
    )
}

/// The five contracts of the module docs, priced from `b`.
fn contracts(b: &[f64; 5]) -> Vec<ContractData> {
    let days = days(60);
    (0..5)
        .map(|i| {
            let last = if i < 4 { 10 * (i + 1) } else { 59 };
            let bars = (0..=last).map(|t| bar(days[t], b[i] + t as f64)).collect();
            contract(i, days[last], bars)
        })
        .collect()
}

fn build(
    contracts: &[ContractData],
    spec: &ContinuousSpec,
) -> Result<ContinuousSeries, ContinuousError> {
    ContinuousBuilder::new(cal(), Resolution::Day)
        .unwrap()
        .build(contracts, spec)
}

fn spec(rule: RollRule, adjust: Adjust) -> ContinuousSpec {
    let mut s = ContinuousSpec::new(rule);
    s.adjust = adjust;
    s
}

fn ratio(k: usize) -> f64 {
    let t = (10 * k - 1) as f64;
    (B[k] + t) / (B[k - 1] + t)
}

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn four_rolls_at_the_expected_dates_and_prices() {
    let days = days(60);
    let s = build(&contracts(&B), &spec(RollRule::Calendar, Adjust::None)).unwrap();
    assert_eq!(s.rolls.len(), 4);
    for (k, r) in (1..).zip(&s.rolls) {
        assert_eq!(r.date, days[10 * k]);
        assert_eq!(
            r.trigger,
            RollTrigger::Calendar {
                anchor: days[10 * k]
            }
        );
        let t = (10 * k - 1) as f64;
        assert_eq!((r.from_price, r.to_price), (B[k - 1] + t, B[k] + t));
        assert_eq!(r.difference, B[k] - B[k - 1]);
        assert!(close_enough(r.ratio.unwrap(), ratio(k)));
    }
    assert_eq!(s.bars.len(), 60);
    assert_eq!(
        s.segments.iter().map(|g| g.bars).collect::<Vec<_>>(),
        [10, 10, 10, 10, 20]
    );
    assert_eq!(s.segments[4].first_day, days[40]);
    assert_eq!(s.segments[3].last_day, days[39]);
    let symbols: Vec<&str> = s.segments.iter().map(|g| &*g.contract).collect();
    assert_eq!(symbols, ["XXH14", "XXM14", "XXU14", "XXZ14", "XXH15"]);
}

#[test]
fn all_adjustment_modes_equal_their_closed_forms() {
    let input = contracts(&B);
    for adjust in Adjust::ALL {
        let s = build(&input, &spec(RollRule::Calendar, adjust)).unwrap();
        assert_eq!(s.bars.len(), 60, "{adjust}");
        for (t, b) in s.bars.iter().enumerate() {
            let seg = (t / 10).min(4);
            assert_eq!(b.segment, seg);
            let raw = B[seg] + t as f64;
            let expected = match adjust {
                Adjust::None => raw,
                Adjust::DifferenceBack => B[4] + t as f64,
                Adjust::DifferenceForward => B[0] + t as f64,
                Adjust::RatioBack => raw * (seg + 1..5).map(ratio).product::<f64>(),
                Adjust::RatioForward => raw / (1..=seg).map(ratio).product::<f64>(),
            };
            assert!(
                close_enough(b.bar.close(), expected),
                "{adjust} t={t}: {} != {expected}",
                b.bar.close()
            );
            // High and low move with the close (same offset or factor).
            let adj = s.segments[seg].adjustment;
            assert!(
                close_enough(b.bar.high(), adj.apply(raw + 1.0)),
                "{adjust} t={t}"
            );
            assert_eq!(b.bar.volume(), 10.0);
        }
        // Round trip: raw = adjusted -/÷ cumulative factor.
        for (t, raw) in s.raw_bars().unwrap().iter().enumerate() {
            let seg = (t / 10).min(4);
            assert!(
                close_enough(raw.close(), B[seg] + t as f64),
                "{adjust} t={t}"
            );
            assert!(
                close_enough(raw.open(), B[seg] + t as f64 - 0.5),
                "{adjust} t={t}"
            );
        }
    }
}

#[test]
fn roll_table_carries_cumulative_factors() {
    let input = contracts(&B);
    let back = build(&input, &spec(RollRule::Calendar, Adjust::DifferenceBack)).unwrap();
    // Roll k shifts segment k-1 by the sum of d_j for j >= k.
    let cum: Vec<f64> = back.rolls.iter().map(|r| r.cumulative.value()).collect();
    assert_eq!(cum, [8.0, 4.0, 7.0, -2.0]); // d = [4, -3, 9, -2]
    assert_eq!(back.segments[4].adjustment, Adjustment::Add(0.0));
    let fwd = build(&input, &spec(RollRule::Calendar, Adjust::DifferenceForward)).unwrap();
    // Roll k shifts segment k by minus the sum of d_j for j <= k.
    let cum: Vec<f64> = fwd.rolls.iter().map(|r| r.cumulative.value()).collect();
    assert_eq!(cum, [-4.0, -1.0, -10.0, -8.0]);
    let rb = build(&input, &spec(RollRule::Calendar, Adjust::RatioBack)).unwrap();
    assert!(close_enough(
        rb.rolls[0].cumulative.value(),
        (1..5).map(ratio).product()
    ));
    assert!(close_enough(rb.rolls[3].cumulative.value(), ratio(4)));
    let rf = build(&input, &spec(RollRule::Calendar, Adjust::RatioForward)).unwrap();
    assert!(close_enough(rf.rolls[0].cumulative.value(), 1.0 / ratio(1)));
    let none = build(&input, &spec(RollRule::Calendar, Adjust::None)).unwrap();
    assert!(none.rolls.iter().all(|r| r.cumulative == Adjustment::None));
}

#[test]
fn calendar_offset_and_first_notice_anchor() {
    let days = days(60);
    let mut s = spec(RollRule::Calendar, Adjust::None);
    s.roll_offset = 3;
    let series = build(&contracts(&B), &s).unwrap();
    let dates: Vec<NaiveDate> = series.rolls.iter().map(|r| r.date).collect();
    assert_eq!(dates, [days[7], days[17], days[27], days[37]]);

    let mut input = contracts(&B);
    input[0].contract.first_notice_date = Some(days[4]);
    s.roll_offset = 1;
    s.anchor = RollAnchor::FirstNotice;
    let series = build(&input, &s).unwrap();
    // Contract 0 rolls one day before its first notice date; the others have none and fall
    // back to their last trade dates.
    let dates: Vec<NaiveDate> = series.rolls.iter().map(|r| r.date).collect();
    assert_eq!(dates, [days[3], days[19], days[29], days[39]]);
    assert_eq!(
        series.rolls[0].trigger,
        RollTrigger::Calendar { anchor: days[4] }
    );
}

#[test]
fn rank_one_follows_the_front_chain_and_ends_with_the_contracts() {
    let days = days(60);
    let mut s = spec(RollRule::Calendar, Adjust::None);
    s.rank = 1;
    let series = build(&contracts(&B), &s).unwrap();
    let symbols: Vec<&str> = series.segments.iter().map(|g| &*g.contract).collect();
    assert_eq!(symbols, ["XXM14", "XXU14", "XXZ14", "XXH15"]);
    assert_eq!(series.rolls.len(), 3);
    assert_eq!(series.rolls[0].date, days[10]);
    assert_eq!(
        (&*series.rolls[0].from, &*series.rolls[0].to),
        ("XXM14", "XXU14")
    );
    // When the front rolls into the last contract there is no second contract left.
    assert_eq!(
        series.warnings,
        [ContinuousWarning::RankExhausted { date: days[40] }]
    );
    assert_eq!(series.bars.len(), 40);
    assert_eq!(series.bars[0].bar.close(), B[1]);
    assert_eq!(series.segments[3].last_day, days[39]);
}

#[test]
fn rank_beyond_the_contracts_is_an_error() {
    let mut s = spec(RollRule::Calendar, Adjust::None);
    s.rank = 5;
    assert_eq!(
        build(&contracts(&B), &s).unwrap_err(),
        ContinuousError::RankUnavailable {
            rank: 5,
            available: 5
        }
    );
    // Contract 0 expired before the data starts: from the front on only 4 remain.
    let mut input = contracts(&B);
    input[0].bars.clear();
    for c in &mut input[1..] {
        c.bars.drain(..12);
    }
    s.rank = 4;
    assert_eq!(
        build(&input, &s).unwrap_err(),
        ContinuousError::RankUnavailable {
            rank: 4,
            available: 4
        }
    );
}

#[test]
fn fixed_dates_roll_out_of_the_contract_that_is_front_on_them() {
    let days = days(60);
    // day 5 lies in contract 0's window (.., day 10]; contract 1's window (day 10, day 20]
    // has no date so it rolls after its expiry, on day 21; day 25 is contract 2's; contract 3
    // again rolls after its expiry, on day 41.
    let s = spec(RollRule::Fixed(vec![days[5], days[25]]), Adjust::None);
    let series = build(&contracts(&B), &s).unwrap();
    let rolls: Vec<(NaiveDate, RollTrigger)> = series
        .rolls
        .iter()
        .map(|r| (r.date, r.trigger.clone()))
        .collect();
    assert_eq!(
        rolls,
        [
            (days[5], RollTrigger::Fixed { date: days[5] }),
            (
                days[21],
                RollTrigger::Expired {
                    last_trade: days[20]
                }
            ),
            (days[25], RollTrigger::Fixed { date: days[25] }),
            (
                days[41],
                RollTrigger::Expired {
                    last_trade: days[40]
                }
            ),
        ]
    );
    // A fixed date on a non-trading day takes effect on the next trading day.
    let saturday = NaiveDate::from_ymd_opt(2014, 1, 4).unwrap();
    let series = build(
        &contracts(&B),
        &spec(RollRule::Fixed(vec![saturday]), Adjust::None),
    )
    .unwrap();
    assert_eq!(
        series.rolls[0].date,
        NaiveDate::from_ymd_opt(2014, 1, 6).unwrap()
    );
    let unordered = spec(RollRule::Fixed(vec![days[5], days[5]]), Adjust::None);
    assert_eq!(
        build(&contracts(&B), &unordered).unwrap_err(),
        ContinuousError::FixedDatesUnordered(days[5])
    );
}

fn stats(days: &[NaiveDate], values: &[f64], oi: bool) -> Vec<DailyStat> {
    days.iter()
        .zip(values)
        .map(|(d, v)| DailyStat {
            date: *d,
            volume: if oi { 0.0 } else { *v },
            open_interest: oi.then_some(*v),
        })
        .collect()
}

#[test]
fn volume_roll_uses_the_previous_session_and_never_rolls_back() {
    let days = days(12);
    let two = || {
        let mut c = contracts(&B);
        c.truncate(2);
        c
    };
    // Front volume 100 every day; the next one trades 50, then 150 on day 5, then the front
    // surges back to 200 on day 7: the roll happens on day 6 and stays.
    let front = [
        100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 200.0, 200.0, 200.0,
    ];
    let next = [
        50.0, 50.0, 50.0, 50.0, 50.0, 150.0, 150.0, 150.0, 150.0, 150.0,
    ];
    let mut input = two();
    input[0].daily = stats(&days, &front, false);
    input[1].daily = stats(&days, &next, false);
    let series = build(&input, &spec(RollRule::Volume, Adjust::None)).unwrap();
    let rolls: Vec<_> = series
        .rolls
        .iter()
        .map(|r| (r.date, r.trigger.clone()))
        .collect();
    assert_eq!(
        rolls,
        [(
            days[6],
            RollTrigger::Volume {
                session: days[5],
                front: 100.0,
                next: 150.0
            }
        )]
    );
    // Equal values never roll; open interest is forward-filled between readings.
    let mut input = two();
    input[0].daily = stats(&[days[0], days[8]], &[100.0, 10.0], true);
    input[1].daily = stats(&[days[0], days[3]], &[100.0, 90.0], true);
    let series = build(&input, &spec(RollRule::OpenInterest, Adjust::None)).unwrap();
    // Day 8's reading (10) is the first below contract 1's forward-filled 90: roll on day 9.
    assert_eq!(series.rolls[0].date, days[9]);
    assert_eq!(
        series.rolls[0].trigger,
        RollTrigger::OpenInterest {
            session: days[8],
            front: 10.0,
            next: 90.0
        }
    );
    // Without daily stats the bars' volumes decide (equal: 10 each): only the expiry rolls.
    let series = build(&two(), &spec(RollRule::Volume, Adjust::None)).unwrap();
    let all = self::days(60);
    assert_eq!(series.rolls[0].date, all[11]);
    assert_eq!(
        series.rolls[0].trigger,
        RollTrigger::Expired {
            last_trade: all[10]
        }
    );
}

#[test]
fn back_difference_below_zero_is_reported() {
    let mut input = contracts(&[100.0, 0.5, 1.0, 2.0, 3.0]);
    input.truncate(2);
    let series = build(&input, &spec(RollRule::Calendar, Adjust::DifferenceBack)).unwrap();
    // Gap -99.5: contract 0's day-0 bar (low 99) becomes low -0.5.
    assert_eq!(series.rolls[0].difference, -99.5);
    assert_eq!(
        series.warnings,
        [ContinuousWarning::NonPositiveAdjusted {
            segment: 0,
            contract: "XXH14".into(),
            bars: 1,
            first_ts: series.bars[0].bar.ts(),
        }]
    );
    assert_eq!(series.bars[0].bar.low(), -0.5);
}

#[test]
fn ratio_modes_refuse_non_positive_raw_prices() {
    let mut input = contracts(&[-5.0, 100.0, 101.0, 102.0, 103.0]);
    input.truncate(2);
    for adjust in [Adjust::RatioBack, Adjust::RatioForward] {
        match build(&input, &spec(RollRule::Calendar, adjust)).unwrap_err() {
            ContinuousError::NonPositivePrice {
                contract, price, ..
            } => {
                assert_eq!(contract, "XXH14");
                assert!(price <= 0.0);
            }
            other => panic!("{other:?}"),
        }
    }
    // Difference modes handle negative prices.
    assert!(build(&input, &spec(RollRule::Calendar, Adjust::DifferenceBack)).is_ok());
}

#[test]
fn invalid_contract_sets_are_typed_errors() {
    assert_eq!(
        build(&[], &spec(RollRule::Calendar, Adjust::None)).unwrap_err(),
        ContinuousError::NoContracts
    );
    let mut unknown = contracts(&B);
    unknown[2].contract.last_trade_date = None;
    assert_eq!(
        build(&unknown, &spec(RollRule::Calendar, Adjust::None)).unwrap_err(),
        ContinuousError::Expiry(ExpiryError::UnknownRoot("XX".into()))
    );
    let mut mixed = contracts(&B);
    mixed[1].contract.root = "YY".into();
    assert!(matches!(
        build(&mixed, &spec(RollRule::Calendar, Adjust::None)),
        Err(ContinuousError::MixedRoots { .. })
    ));
    let mut dup = contracts(&B);
    dup[1].contract.month = dup[0].contract.month;
    assert_eq!(
        build(&dup, &spec(RollRule::Calendar, Adjust::None)).unwrap_err(),
        ContinuousError::DuplicateContract("XXH14".into())
    );
    let mut unsorted = contracts(&B);
    unsorted[1].bars.swap(0, 1);
    assert!(matches!(
        build(&unsorted, &spec(RollRule::Calendar, Adjust::None)),
        Err(ContinuousError::Unsorted { index: 1, .. })
    ));
    // No bars at all: an empty series, not an error.
    let mut empty = contracts(&B);
    empty.iter_mut().for_each(|c| c.bars.clear());
    let s = build(&empty, &spec(RollRule::Calendar, Adjust::None)).unwrap();
    assert!(s.bars.is_empty() && s.rolls.is_empty());
}

#[test]
fn input_order_does_not_matter_and_vwap_is_adjusted() {
    let mut input = contracts(&B);
    input.reverse();
    for c in &mut input {
        for b in &mut c.bars {
            *b = b
                .with_vwap(Some(b.close()))
                .unwrap()
                .with_open_interest(Some(7.0))
                .unwrap();
        }
    }
    let s = build(&input, &spec(RollRule::Calendar, Adjust::DifferenceBack)).unwrap();
    assert_eq!(s.rolls.len(), 4);
    for b in &s.bars {
        assert_eq!(b.bar.vwap(), Some(b.bar.close()));
        assert_eq!(b.bar.open_interest(), Some(7.0)); // never adjusted
    }
}

#[test]
fn missing_roll_prices_fall_back_or_fail() {
    let days = days(60);
    let mut input = contracts(&B);
    input.truncate(2);
    // Contract 1 starts trading on the roll day itself: its first open is used.
    input[1].bars.drain(..10);
    let s = build(&input, &spec(RollRule::Calendar, Adjust::None)).unwrap();
    assert_eq!(s.rolls[0].to_price, B[1] + 10.0 - 0.5);
    assert_eq!(
        s.warnings,
        [ContinuousWarning::RollPriceFallback {
            date: days[10],
            contract: "XXM14".into()
        }]
    );
    let mut first_new = spec(RollRule::Calendar, Adjust::None);
    first_new.roll_price = RollPrice::LastOldFirstNew;
    let s = build(&input, &first_new).unwrap();
    assert_eq!(
        (s.rolls[0].from_price, s.rolls[0].to_price),
        (B[0] + 9.0, B[1] + 9.5)
    );
    assert!(s.warnings.is_empty());
    // Contract 0 has no bar before the roll at all.
    let mut input = contracts(&B);
    input.truncate(2);
    input[0].bars.clear();
    input[1].bars.drain(..3);
    input[0].bars.push(bar(days[10], 1.0));
    assert!(matches!(
        build(&input, &spec(RollRule::Calendar, Adjust::None)),
        Err(ContinuousError::NoRollPrice { .. })
    ));
}

#[test]
fn symbols_and_options_parse() {
    let s: ContinuousSymbol = "es.v.0".parse().unwrap();
    assert_eq!(
        (s.root.as_str(), &s.rule, s.rank),
        ("ES", &RollRule::Volume, 0)
    );
    assert_eq!(s.to_string(), "ES.v.0");
    let n: ContinuousSymbol = "CL.n.2".parse().unwrap();
    assert_eq!((n.rule, n.rank), (RollRule::OpenInterest, 2));
    assert_eq!(
        "ES.c.1".parse::<ContinuousSymbol>().unwrap().rule,
        RollRule::Calendar
    );
    for bad in [
        "ES", "ES.c", "ES.x.0", "ES.c.-1", "ES.c.0.1", ".c.0", "ES.c.", "E$.c.0",
    ] {
        assert!(bad.parse::<ContinuousSymbol>().is_err(), "{bad}");
    }
    for a in Adjust::ALL {
        assert_eq!(a.as_str().parse::<Adjust>().unwrap(), a);
    }
    assert!("panama".parse::<Adjust>().is_err());
    assert_eq!(
        "open_interest".parse::<RollRule>().unwrap(),
        RollRule::OpenInterest
    );
    assert_eq!(RollRule::Fixed(vec![]).as_str(), "fixed");
    assert!("fixed".parse::<RollRule>().is_err());
    assert_eq!(
        "first_notice".parse::<RollAnchor>().unwrap(),
        RollAnchor::FirstNotice
    );
    assert!("soon".parse::<RollAnchor>().is_err());
    assert_eq!(
        "last_old_first_new".parse::<RollPrice>().unwrap(),
        RollPrice::LastOldFirstNew
    );
    assert!("mid".parse::<RollPrice>().is_err());
}
