//! Continuous ES from real vendor data (QuantConnect LEAN sample data, see fixtures/NOTICE):
//! the ESZ13 -> ESH14 roll under each rule, with the numbers from the data that justify it.
//!
//! Fixtures: `es_daily_z13_h14.csv` (vendor daily bars, labelled by New York date at 00:00Z,
//! with a short Sunday-evening bar; open interest on a few days) and
//! `es_1m_z13_h14_dec2013.csv.gz` (minute bars of both contracts on the UTC days 2013-12-18
//! and 2013-12-20). Daily volume per trading day = sum of the vendor bars mapped to it (the
//! Sunday bar counts toward Monday); open interest is forward-filled between readings.
//!
//! Per trading day (ESZ13 / ESH14), from the daily file:
//!
//! | day        | Z13 volume | H14 volume | Z13 close | H14 close | Z13 OI    | H14 OI    |
//! |------------|-----------:|-----------:|----------:|----------:|----------:|----------:|
//! | 2013-12-02 |  1,149,514 |      2,853 |   1800.00 |   1793.50 | 2,798,054 |   105,989 |
//! | 2013-12-11 |  1,514,064 |     64,855 |   1780.75 |   1774.75 |           |           |
//! | 2013-12-12 |  1,113,344 |    354,874 |   1773.75 |   1767.50 |           |           |
//! | 2013-12-13 |    347,764 |    868,208 |   1775.00 |   1768.75 |           |           |
//! | 2013-12-16 |    202,043 |  1,013,308 |   1785.25 |   1779.00 | 1,701,691 | 1,445,598 |
//! | 2013-12-17 |    155,199 |  1,099,174 |   1778.25 |   1772.00 |           |           |
//! | 2013-12-18 |    258,842 |  2,107,664 |   1810.00 |   1803.75 |           |           |
//! | 2013-12-19 |    106,656 |  1,028,379 |   1808.00 |   1801.75 |           |           |
//! | 2013-12-20 |     19,810 |  1,134,383 |   1810.25 |   1816.50 |   782,646 | 2,658,894 |
//!
//! (2013-12-02 OI is the reading on the Sunday 2013-12-01 bar; 2013-12-16 volume of Z13
//! includes the Sunday 2013-12-15 bar's 1,828.) Checked with awk/python over the fixture.

use chrono::{DateTime, NaiveDate};
use tradeassist_engine::{
    Adjust, Adjustment, Calendar, ContinuousBuilder, ContinuousSeries, ContinuousSpec,
    ContractData, DailyStat, GraceWindow, RollPrice, RollRule, RollTrigger,
};
use tradeassist_model::{Bar, ContractMonth, FuturesContract, Resolution, date_key};

mod common;
use common::{d, fixture};

fn ts(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

fn es(month: &str) -> FuturesContract {
    FuturesContract {
        root: "ES".into(),
        month: month.parse::<ContractMonth>().unwrap(),
        last_trade_date: None, // derived: third Friday
        first_notice_date: None,
    }
}

/// Rows `time_utc,contract_month,expiry,o,h,l,c,volume[,open_interest]` of one contract:
/// bars (rows with prices) and daily stats (every row, keyed by the label's date).
fn load(name: &str, month: &str) -> (Vec<Bar>, Vec<DailyStat>) {
    let mut bars = Vec::new();
    let mut stats = Vec::new();
    for line in fixture(name).lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        if c[1] != month {
            continue;
        }
        let t = ts(c[0]);
        let num = |i: usize| {
            c.get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().unwrap())
        };
        if let (Some(o), Some(h), Some(l), Some(cl)) = (num(3), num(4), num(5), num(6)) {
            bars.push(Bar::new(t, o, h, l, cl, num(7).unwrap_or(0.0)).unwrap());
        }
        stats.push(DailyStat {
            date: DateTime::from_timestamp(t, 0).unwrap().date_naive(),
            volume: num(7).unwrap_or(0.0),
            open_interest: num(8),
        });
    }
    (bars, stats)
}

fn daily_contracts() -> Vec<ContractData> {
    ["201312", "201403"]
        .iter()
        .map(|m| {
            let (bars, stats) = load("es_daily_z13_h14.csv", m);
            ContractData::new(es(m), bars).with_daily(stats)
        })
        .collect()
}

fn build(contracts: &[ContractData], res: Resolution, spec: &ContinuousSpec) -> ContinuousSeries {
    let cal = Calendar::get("cme_equity").unwrap();
    ContinuousBuilder::new(cal, res)
        .unwrap()
        .build(contracts, spec)
        .unwrap()
}

fn spec(rule: RollRule, offset: u32, adjust: Adjust) -> ContinuousSpec {
    let mut s = ContinuousSpec::new(rule);
    s.roll_offset = offset;
    s.adjust = adjust;
    s
}

fn close_on(series: &ContinuousSeries, day: NaiveDate) -> (f64, &str) {
    let b = series
        .bars
        .iter()
        .find(|b| b.bar.ts() == date_key(day))
        .unwrap_or_else(|| panic!("no bar on {day}"));
    (b.bar.close(), &b.contract)
}

fn assert_close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn volume_rule_rolls_on_the_session_after_h14_outtrades_z13() {
    let s = build(
        &daily_contracts(),
        Resolution::Day,
        &spec(RollRule::Volume, 0, Adjust::None),
    );
    // On 2013-12-12 ESZ13 still traded more (1,113,344 > 354,874); on 2013-12-13 ESH14
    // traded 868,208 > ESZ13 347,764, so the roll takes effect on the next session,
    // Monday 2013-12-16 (its Sunday-evening bar of 2013-12-15 already comes from ESH14).
    assert_eq!(s.rolls.len(), 1);
    let r = &s.rolls[0];
    assert_eq!(
        (r.date, &*r.from, &*r.to),
        (d(2013, 12, 16), "ESZ13", "ESH14")
    );
    assert_eq!(
        r.trigger,
        RollTrigger::Volume {
            session: d(2013, 12, 13),
            front: 347_764.0,
            next: 868_208.0
        }
    );
    // Roll prices: both closes of 2013-12-13, 1775.00 and 1768.75.
    assert_eq!(
        (r.from_price, r.to_price, r.difference),
        (1775.0, 1768.75, -6.25)
    );
    assert_close(r.ratio.unwrap(), 1768.75 / 1775.0);
    assert_eq!(r.ts, date_key(d(2013, 12, 14))); // the Sunday bar is on the new side
    assert_eq!(close_on(&s, d(2013, 12, 13)), (1775.0, "ESZ13"));
    // The vendor's Sunday 2013-12-15 bar exists only for ESZ13 and belongs to the 12-16
    // session, which comes from ESH14: the series has no bar that evening.
    assert!(
        s.bars
            .iter()
            .all(|b| b.bar.ts() != date_key(d(2013, 12, 15)))
    );
    assert_eq!(close_on(&s, d(2013, 12, 16)), (1779.0, "ESH14"));
    assert_eq!(s.segments.len(), 2);
    assert_eq!(s.segments[0].last_day, d(2013, 12, 13));
    assert_eq!(s.segments[1].first_day, d(2013, 12, 16));
    assert!(s.warnings.is_empty());
}

#[test]
fn open_interest_rule_waits_for_h14_open_interest_to_exceed_z13() {
    let s = build(
        &daily_contracts(),
        Resolution::Day,
        &spec(RollRule::OpenInterest, 0, Adjust::None),
    );
    // Readings (forward-filled): 12-02 Z13 2,798,054 > H14 105,989 and 12-16 Z13 1,701,691 >
    // H14 1,445,598 keep ESZ13; the 12-20 reading H14 2,658,894 > Z13 782,646 rolls on the
    // next session, Monday 2013-12-23.
    assert_eq!(s.rolls.len(), 1);
    let r = &s.rolls[0];
    assert_eq!(
        (r.date, &*r.from, &*r.to),
        (d(2013, 12, 23), "ESZ13", "ESH14")
    );
    assert_eq!(
        r.trigger,
        RollTrigger::OpenInterest {
            session: d(2013, 12, 20),
            front: 782_646.0,
            next: 2_658_894.0
        }
    );
    // Closes of 2013-12-20: ESZ13 1810.25 (it expired that morning), ESH14 1816.50.
    assert_eq!(
        (r.from_price, r.to_price, r.difference),
        (1810.25, 1816.5, 6.25)
    );
    assert_eq!(close_on(&s, d(2013, 12, 20)), (1810.25, "ESZ13"));
    assert_eq!(close_on(&s, d(2013, 12, 23)), (1822.75, "ESH14"));
}

#[test]
fn calendar_rule_rolls_offset_days_before_the_last_trade_date() {
    // ESZ13's last trade date is 2013-12-20 (third Friday; the vendor's expiry column agrees).
    // Offset N: the new contract is used from the N-th trading day before it on.
    // (offset, roll date, ESZ13 close, ESH14 close of the session before the roll)
    for (offset, date, from, to) in [
        (0, d(2013, 12, 20), 1808.0, 1801.75), // closes of Thu 12-19
        (1, d(2013, 12, 19), 1810.0, 1803.75), // closes of Wed 12-18
        (2, d(2013, 12, 18), 1778.25, 1772.0), // closes of Tue 12-17
    ] {
        let s = build(
            &daily_contracts(),
            Resolution::Day,
            &spec(RollRule::Calendar, offset, Adjust::None),
        );
        assert_eq!(s.rolls.len(), 1, "offset {offset}");
        let r = &s.rolls[0];
        assert_eq!(
            (r.date, &*r.from, &*r.to),
            (date, "ESZ13", "ESH14"),
            "offset {offset}"
        );
        assert_eq!(
            r.trigger,
            RollTrigger::Calendar {
                anchor: d(2013, 12, 20)
            }
        );
        assert_eq!((r.from_price, r.to_price), (from, to), "offset {offset}");
        assert_eq!(close_on(&s, date).1, "ESH14");
    }
}

#[test]
fn back_adjusted_z13_bars_match_hand_computation() {
    let contracts = daily_contracts();
    let raw_z13 = &contracts[0].bars;
    // Volume roll on 2013-12-16; gap set by the 12-13 closes 1775.00 (Z13) and 1768.75 (H14).
    let diff = 1768.75 - 1775.0; // -6.25
    let ratio = 1768.75 / 1775.0;

    let back = build(
        &contracts,
        Resolution::Day,
        &spec(RollRule::Volume, 0, Adjust::DifferenceBack),
    );
    assert_eq!(back.segments[0].adjustment, Adjustment::Add(-6.25));
    assert_eq!(back.segments[1].adjustment, Adjustment::Add(0.0));
    // First Z13 bar: Sunday 2013-10-06, close 1676.50 -> 1670.25.
    let first = &back.bars[0];
    assert_eq!(
        (first.bar.ts(), &*first.contract),
        (date_key(d(2013, 10, 6)), "ESZ13")
    );
    assert_eq!(first.bar.close(), 1670.25);
    assert_eq!(first.bar.open(), 1676.75 + diff);
    assert_eq!(first.bar.volume(), 21_573.0); // volume is never adjusted
    assert_eq!(close_on(&back, d(2013, 12, 13)).0, 1768.75); // = ESH14's close that day
    assert_eq!(close_on(&back, d(2013, 12, 16)).0, 1779.0); // newest segment raw
    let z13_in_series = back.bars.iter().filter(|b| &*b.contract == "ESZ13").count();
    for (a, r) in back.bars.iter().zip(raw_z13).take(z13_in_series) {
        assert_eq!(a.bar.ts(), r.ts());
        assert_close(a.bar.high(), r.high() - 6.25);
        assert_close(a.bar.low(), r.low() - 6.25);
    }

    let back_ratio = build(
        &contracts,
        Resolution::Day,
        &spec(RollRule::Volume, 0, Adjust::RatioBack),
    );
    assert_close(back_ratio.bars[0].bar.close(), 1676.5 * ratio);
    assert_close(close_on(&back_ratio, d(2013, 12, 13)).0, 1768.75);
    assert_eq!(close_on(&back_ratio, d(2013, 12, 16)).0, 1779.0);
    match back_ratio.rolls[0].cumulative {
        Adjustment::Multiply(f) => assert_close(f, ratio),
        other => panic!("{other:?}"),
    }

    // Round trip: removing each segment's adjustment gives the raw bars back.
    for series in [&back, &back_ratio] {
        let raw = series.raw_bars().unwrap();
        for (r, b) in raw.iter().zip(&series.bars) {
            let source = &contracts[usize::from(&*b.contract == "ESH14")].bars;
            let orig = source.iter().find(|x| x.ts() == r.ts()).unwrap();
            assert_close(r.close(), orig.close());
            assert_close(r.open(), orig.open());
        }
    }
}

#[test]
fn forward_adjusted_h14_bars_match_hand_computation() {
    let contracts = daily_contracts();
    let fwd = build(
        &contracts,
        Resolution::Day,
        &spec(RollRule::Volume, 0, Adjust::DifferenceForward),
    );
    // Oldest segment raw; ESH14 shifted by -(1768.75 - 1775.00) = +6.25.
    assert_eq!(fwd.bars[0].bar.close(), 1676.5);
    assert_eq!(close_on(&fwd, d(2013, 12, 16)).0, 1779.0 + 6.25);
    assert_eq!(close_on(&fwd, d(2013, 12, 26)).0, 1836.75 + 6.25); // last H14 bar (raw 1836.75)
    assert_eq!(fwd.rolls[0].cumulative, Adjustment::Add(6.25));

    let fwd_ratio = build(
        &contracts,
        Resolution::Day,
        &spec(RollRule::Volume, 0, Adjust::RatioForward),
    );
    assert_eq!(fwd_ratio.bars[0].bar.close(), 1676.5);
    assert_close(
        close_on(&fwd_ratio, d(2013, 12, 16)).0,
        1779.0 * 1775.0 / 1768.75,
    );
}

fn minute_contracts() -> Vec<ContractData> {
    ["201312", "201403"]
        .iter()
        .map(|m| ContractData::new(es(m), load("es_1m_z13_h14_dec2013.csv.gz", m).0))
        .collect()
}

#[test]
fn minute_series_rolls_at_the_globex_session_open() {
    // Calendar offset 1: roll date 2013-12-19, whose Globex session opens Wednesday 12-18 at
    // 17:00 CST = 23:00 UTC. ESZ13 supplies every minute before it (its last one 22:14 UTC,
    // i.e. 16:14 CST before the 16:15 close), ESH14 every minute from 23:00 UTC on.
    let s = build(
        &minute_contracts(),
        Resolution::Minute,
        &spec(RollRule::Calendar, 1, Adjust::DifferenceBack),
    );
    let boundary = ts("2013-12-18T23:00:00Z");
    let r = &s.rolls[0];
    assert_eq!((r.date, r.ts), (d(2013, 12, 19), boundary));
    // Both closes of the 22:14 UTC minute: ESZ13 1810.25, ESH14 1804.00.
    assert_eq!(
        (r.from_price, r.to_price, r.difference),
        (1810.25, 1804.0, -6.25)
    );
    let (z, h): (Vec<_>, Vec<_>) = s.bars.iter().partition(|b| &*b.contract == "ESZ13");
    assert_eq!((z.len(), h.len()), (1094, 1367));
    assert!(z.iter().all(|b| b.bar.ts() < boundary));
    assert!(h.iter().all(|b| b.bar.ts() >= boundary));
    assert_eq!(z.last().unwrap().bar.ts(), ts("2013-12-18T22:14:00Z"));
    assert_eq!(h[0].bar.ts(), boundary);
    // First ESZ13 minute (00:00 UTC 12-18) closed at 1780.00 -> 1773.75 back-adjusted.
    assert_eq!(z[0].bar.close(), 1773.75);
    assert_eq!(h[0].bar.open(), 1804.0);

    // Using ESH14's first open after the roll instead: also 1804.00 at 23:00 UTC.
    let mut first_new = spec(RollRule::Calendar, 1, Adjust::DifferenceBack);
    first_new.roll_price = RollPrice::LastOldFirstNew;
    let s2 = build(&minute_contracts(), Resolution::Minute, &first_new);
    assert_eq!(
        (s2.rolls[0].from_price, s2.rolls[0].to_price),
        (1810.25, 1804.0)
    );

    // Offset 0: roll date 12-20, session open 12-19 23:00 UTC. The 23:00-23:59 UTC minutes of
    // 12-18 belong to the 12-19 session and stay ESZ13; the last closes before the boundary
    // are those of 23:59 UTC: 1811.25 and 1805.00.
    let s0 = build(
        &minute_contracts(),
        Resolution::Minute,
        &spec(RollRule::Calendar, 0, Adjust::None),
    );
    let r0 = &s0.rolls[0];
    assert_eq!(
        (r0.date, r0.ts),
        (d(2013, 12, 20), ts("2013-12-19T23:00:00Z"))
    );
    assert_eq!((r0.from_price, r0.to_price), (1811.25, 1805.0));
    let z0 = s0.bars.iter().filter(|b| &*b.contract == "ESZ13").count();
    assert_eq!((z0, s0.bars.len() - z0), (1138, 1308));
}

#[test]
fn wave_one_roll_dates_hold_under_the_default_grace_window_and_cycle() {
    // The defaults: ES rolls through HMUZ, and volume / open-interest crossovers count only
    // from 7 sessions before ESZ13's last trade date (2013-12-20) on, i.e. from 2013-12-11.
    // The volume crossover of 2013-12-13 (5 sessions before) and the open-interest reading
    // of 2013-12-20 (0 sessions before) are both inside the window, so the wave-1 dates hold.
    let defaults = ContinuousSpec::new(RollRule::Volume);
    assert_eq!(defaults.grace_sessions, Some(7));
    assert!(!defaults.skip_to_most_active && defaults.cycle.is_none());
    let window = Some(GraceWindow {
        sessions: 7,
        opens: d(2013, 12, 11),
        ignored_since: None,
    });
    for (rule, date) in [
        (RollRule::Volume, d(2013, 12, 16)),
        (RollRule::OpenInterest, d(2013, 12, 23)),
    ] {
        let s = build(
            &daily_contracts(),
            Resolution::Day,
            &spec(rule.clone(), 0, Adjust::None),
        );
        assert_eq!(s.cycle.to_string(), "HMUZ");
        assert_eq!(s.rolls.len(), 1, "{rule}");
        assert_eq!(s.rolls[0].date, date, "{rule}");
        assert_eq!(s.roll_details[0].grace, window, "{rule}");
        assert!(s.roll_details[0].skipped.is_empty());
        // Without a window, and skipping to the most active (only two contracts), the same.
        let mut other = spec(rule.clone(), 0, Adjust::None);
        other.grace_sessions = None;
        other.skip_to_most_active = true;
        let t = build(&daily_contracts(), Resolution::Day, &other);
        assert_eq!(t.rolls, s.rolls, "{rule}");
    }
    // A window of 4 sessions opens on 2013-12-16: the 12-13 crossover is ignored and the
    // volume roll waits for the first session inside the window (12-16: H14 still leads).
    let mut narrow = spec(RollRule::Volume, 0, Adjust::None);
    narrow.grace_sessions = Some(4);
    let s = build(&daily_contracts(), Resolution::Day, &narrow);
    assert_eq!(s.rolls[0].date, d(2013, 12, 17));
    assert_eq!(
        s.roll_details[0].grace.unwrap().ignored_since,
        Some(d(2013, 12, 13))
    );
}
