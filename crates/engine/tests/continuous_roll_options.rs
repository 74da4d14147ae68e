//! The zipline-level roll options on synthetic series: the roll cycle (contract-month
//! filter), the grace window of the volume / open-interest rules and skipping to the most
//! active contract; what each roll's detail says; the bounds of every numeric option; the
//! stored text forms; the public cumulative-adjustment maths.
//!
//! Data: daily bars on the trading days `day(t)`, t = 0.. of the `cme_globex` calendar from
//! 2014-01-02. A contract closes at `base + t` on day t and carries an explicit last trade
//! date (except the GC test, which uses the expiry rules). Daily volumes are given per day.

use chrono::NaiveDate;
use tradeassist_engine::{
    Adjust, Adjustment, Calendar, ContinuousBuilder, ContinuousError, ContinuousSeries,
    ContinuousSpec, ContinuousWarning, ContractData, DailyStat, DecodeError, ExpiryRules,
    GraceWindow, MAX_FIXED_DATES, MAX_GRACE_SESSIONS, MAX_RANK, MAX_ROLL_OFFSET, RollCycle,
    RollDetail, RollRule, RollTrigger, apply_cumulative,
};
use tradeassist_model::{Bar, ContractMonth, FuturesContract, Resolution, date_key};

fn cal() -> &'static Calendar {
    Calendar::get("cme_globex").unwrap()
}

/// The first `n` trading days from 2014-01-02.
fn days(n: usize) -> Vec<NaiveDate> {
    cal()
        .sessions_iter(
            NaiveDate::from_ymd_opt(2014, 1, 2).unwrap(),
            NaiveDate::from_ymd_opt(2015, 12, 31).unwrap(),
            tradeassist_engine::SessionFilter::All,
        )
        .map(|s| s.date())
        .take(n)
        .collect()
}

/// `root` + month, closes `base + t` on the days `0..=last`, last trade date `day(last)`
/// (or from the expiry rules when `explicit` is false).
fn contract(
    root: &str,
    year: i32,
    month: u32,
    base: f64,
    last: usize,
    explicit: bool,
) -> ContractData {
    let days = days(last + 1);
    let bars = days
        .iter()
        .enumerate()
        .map(|(t, d)| {
            let c = base + t as f64;
            Bar::new(date_key(*d), c, c + 1.0, c - 1.0, c, 10.0).unwrap()
        })
        .collect();
    ContractData::new(
        FuturesContract {
            root: root.into(),
            month: ContractMonth::new(year, month).unwrap(),
            last_trade_date: explicit.then(|| days[last]),
            first_notice_date: None,
        },
        bars,
    )
}

/// Daily volumes `f(t)` for the days `0..n` (open interest when `oi`).
fn activity(c: ContractData, n: usize, oi: bool, f: impl Fn(usize) -> f64) -> ContractData {
    let stats = days(n)
        .into_iter()
        .enumerate()
        .map(|(t, date)| DailyStat {
            date,
            volume: if oi { 0.0 } else { f(t) },
            open_interest: oi.then(|| f(t)),
        })
        .collect();
    c.with_daily(stats)
}

fn build(
    contracts: &[ContractData],
    spec: &ContinuousSpec,
) -> Result<ContinuousSeries, ContinuousError> {
    ContinuousBuilder::new(cal(), Resolution::Day)
        .unwrap()
        .build(contracts, spec)
}

fn symbols(s: &ContinuousSeries) -> Vec<&str> {
    s.segments.iter().map(|g| &*g.contract).collect()
}

fn rolls(s: &ContinuousSeries) -> Vec<(NaiveDate, &str, &str)> {
    s.rolls.iter().map(|r| (r.date, &*r.from, &*r.to)).collect()
}

// ---------------------------------------------------------------------------------------
// Roll cycle

/// XX F G H J K M 2014 (months 1..6), contract i trading days 0..=10 (i + 1) and expiring
/// on the last of them.
fn monthly() -> Vec<ContractData> {
    (0..6)
        .map(|i| {
            contract(
                "XX",
                2014,
                i as u32 + 1,
                100.0 + 10.0 * i as f64,
                10 * (i + 1),
                true,
            )
        })
        .collect()
}

#[test]
fn roll_cycle_rolls_only_through_its_months() {
    let d = days(61);
    // No default cycle for XX: every month.
    let all = build(&monthly(), &ContinuousSpec::new(RollRule::Calendar)).unwrap();
    assert_eq!(
        symbols(&all),
        ["XXF14", "XXG14", "XXH14", "XXJ14", "XXK14", "XXM14"]
    );
    assert_eq!(all.cycle, RollCycle::ALL);
    assert!(all.excluded.is_empty());

    // HM: the F, G, J, K contracts are left out; H rolls straight into M on H's last
    // trade date.
    let mut spec = ContinuousSpec::new(RollRule::Calendar);
    spec.cycle = Some("HM".parse().unwrap());
    let hm = build(&monthly(), &spec).unwrap();
    assert_eq!(symbols(&hm), ["XXH14", "XXM14"]);
    assert_eq!(rolls(&hm), [(d[30], "XXH14", "XXM14")]);
    let excluded: Vec<&str> = hm.excluded.iter().map(|s| &**s).collect();
    assert_eq!(excluded, ["XXF14", "XXG14", "XXJ14", "XXK14"]);
    // Contracts outside the cycle were skipped by the cycle, not by the roll.
    assert!(hm.roll_details[0].skipped.is_empty());
    assert!(hm.bars.iter().all(|b| &*b.contract != "XXF14"));
    assert_eq!(hm.bars.len(), 61);

    // Rank 1 counts within the cycle.
    spec.rank = 1;
    spec.cycle = Some("FHK".parse().unwrap());
    let second = build(&monthly(), &spec).unwrap();
    assert_eq!(symbols(&second)[0], "XXH14");

    spec.rank = 0;
    spec.cycle = Some("Z".parse().unwrap());
    let e = build(&monthly(), &spec).unwrap_err();
    assert_eq!(
        e,
        ContinuousError::NoContractsInCycle {
            root: "XX".into(),
            cycle: "Z".parse().unwrap(),
            contracts: 6
        }
    );
    assert_eq!(e.option(), Some("cycle"));
}

#[test]
fn gc_rolls_through_its_default_cycle_gjmqvz() {
    let rules = ExpiryRules::builtin().unwrap();
    let ltd = |m| {
        rules
            .last_trade_date("GC", ContractMonth::new(2014, m).unwrap())
            .unwrap()
    };
    // GCG14, GCH14, GCJ14 with dates from the rules (third last business day), bars on
    // every day of the first 75 sessions of 2014.
    let gc: Vec<ContractData> = [2, 3, 4]
        .into_iter()
        .map(|m| contract("GC", 2014, m, 1200.0 + m as f64, 74, false))
        .collect();
    let spec = ContinuousSpec::new(RollRule::Calendar);
    let series = build(&gc, &spec).unwrap();
    assert_eq!(series.cycle.to_string(), "GJMQVZ");
    assert_eq!(
        series.excluded.iter().map(|s| &**s).collect::<Vec<_>>(),
        ["GCH14"]
    );
    assert_eq!(rolls(&series), [(ltd(2), "GCG14", "GCJ14")]);
    assert_eq!(ltd(2), NaiveDate::from_ymd_opt(2014, 2, 26).unwrap());

    // All months on request: G -> H -> J.
    let mut every = spec.clone();
    every.cycle = Some(RollCycle::ALL);
    let series = build(&gc, &every).unwrap();
    assert_eq!(
        rolls(&series),
        [(ltd(2), "GCG14", "GCH14"), (ltd(3), "GCH14", "GCJ14")]
    );
}

// ---------------------------------------------------------------------------------------
// Grace window

/// XXH14 (expires day 20) trading 100 a day and XXM14 (expires day 40) trading `next(t)`.
fn pair(next: impl Fn(usize) -> f64, oi: bool) -> Vec<ContractData> {
    vec![
        activity(contract("XX", 2014, 3, 100.0, 20, true), 41, oi, |_| 100.0),
        activity(contract("XX", 2014, 6, 200.0, 40, true), 41, oi, next),
    ]
}

fn volume_spec(grace: Option<u32>) -> ContinuousSpec {
    let mut spec = ContinuousSpec::new(RollRule::Volume);
    spec.grace_sessions = grace;
    spec
}

#[test]
fn crossover_before_the_grace_window_is_ignored_until_the_window_opens() {
    let d = days(41);
    // XXM14 out-trades XXH14 from day 5 on, 15 sessions before XXH14 expires on day 20.
    let input = pair(|t| if t >= 5 { 150.0 } else { 50.0 }, false);

    // No window: the roll follows the crossover on the next session.
    let s = build(&input, &volume_spec(None)).unwrap();
    assert_eq!(rolls(&s), [(d[6], "XXH14", "XXM14")]);
    assert_eq!(s.roll_details[0].grace, None);

    // Default window of 7 sessions: it opens on day 13 (7 sessions before day 20); the
    // first session inside it on which XXM14 still leads is day 13, so the roll is day 14.
    let spec = ContinuousSpec::new(RollRule::Volume);
    assert_eq!(spec.grace_sessions, Some(7));
    let s = build(&input, &spec).unwrap();
    assert_eq!(rolls(&s), [(d[14], "XXH14", "XXM14")]);
    let detail = &s.roll_details[0];
    assert_eq!(
        detail.trigger,
        RollTrigger::Volume {
            session: d[13],
            front: 100.0,
            next: 150.0
        }
    );
    assert_eq!(detail.trigger, s.rolls[0].trigger);
    assert_eq!(
        detail.grace,
        Some(GraceWindow {
            sessions: 7,
            opens: d[13],
            ignored_since: Some(d[5])
        })
    );
    assert_eq!(
        detail.to_string(),
        format!(
            "volume crossover on {}: 150 > front 100; grace window of 7 sessions from {} (crossover of {} ignored)",
            d[13], d[13], d[5]
        )
    );

    // Window 0: only the last trade date's own session counts (its crossover rolls on the
    // next session, the one the expiry would roll on anyway).
    let s = build(&input, &volume_spec(Some(0))).unwrap();
    assert_eq!(s.rolls[0].date, d[21]);
    assert_eq!(
        s.rolls[0].trigger,
        RollTrigger::Volume {
            session: d[20],
            front: 100.0,
            next: 150.0
        }
    );
}

#[test]
fn double_volume_switch_rolls_on_the_crossover_inside_the_window() {
    let d = days(41);
    // zipline's "double switch": XXM14 leads on day 5 only, falls back, and leads again from
    // day 16 on. Without a window the first switch rolls (and the roll never goes back);
    // with the window the early switch is ignored.
    let input = pair(|t| if t == 5 || t >= 16 { 150.0 } else { 50.0 }, false);
    let s = build(&input, &volume_spec(None)).unwrap();
    assert_eq!(rolls(&s), [(d[6], "XXH14", "XXM14")]);
    assert!(s.bars[7..].iter().all(|b| &*b.contract == "XXM14"));

    let s = build(&input, &volume_spec(Some(7))).unwrap();
    assert_eq!(rolls(&s), [(d[17], "XXH14", "XXM14")]);
    assert_eq!(s.roll_details[0].grace.unwrap().ignored_since, Some(d[5]));

    // Open interest follows the same window.
    let input = pair(|t| if t == 5 || t >= 16 { 150.0 } else { 50.0 }, true);
    let mut oi = volume_spec(Some(7));
    oi.rule = RollRule::OpenInterest;
    let s = build(&input, &oi).unwrap();
    assert_eq!(rolls(&s), [(d[17], "XXH14", "XXM14")]);
    assert_eq!(s.rolls[0].trigger.as_str(), "open_interest");
}

#[test]
fn crossover_that_never_reaches_the_window_rolls_at_expiry() {
    let d = days(41);
    let input = pair(|t| if (3..8).contains(&t) { 150.0 } else { 50.0 }, false);
    let s = build(&input, &volume_spec(Some(7))).unwrap();
    assert_eq!(rolls(&s), [(d[21], "XXH14", "XXM14")]);
    let detail = &s.roll_details[0];
    assert_eq!(detail.trigger, RollTrigger::Expired { last_trade: d[20] });
    assert_eq!(detail.grace.unwrap().ignored_since, Some(d[3]));
    assert_eq!(detail.as_str(), "expired");
}

// ---------------------------------------------------------------------------------------
// Skip to the most active

/// CLK17 (expires day 20), CLM17 (day 40), CLN17 (day 60) with daily volumes.
fn crude(
    k: impl Fn(usize) -> f64,
    m: impl Fn(usize) -> f64,
    n: impl Fn(usize) -> f64,
) -> Vec<ContractData> {
    vec![
        activity(contract("CL", 2017, 5, 50.0, 20, true), 61, false, k),
        activity(contract("CL", 2017, 6, 51.0, 40, true), 61, false, m),
        activity(contract("CL", 2017, 7, 52.0, 60, true), 61, false, n),
    ]
}

fn skip_spec(skip: bool) -> ContinuousSpec {
    let mut spec = volume_spec(None);
    spec.skip_to_most_active = skip;
    spec
}

#[test]
fn skip_to_most_active_rolls_clk17_straight_to_cln17() {
    let d = days(61);
    // CLM17 never trades (10 a day); CLN17 takes over from CLK17 on day 10.
    let input = crude(
        |t| if t < 10 { 1000.0 } else { 100.0 },
        |_| 10.0,
        |t| if t < 10 { 50.0 } else { 800.0 },
    );
    let s = build(&input, &skip_spec(true)).unwrap();
    assert_eq!(rolls(&s), [(d[11], "CLK17", "CLN17")]);
    let detail = &s.roll_details[0];
    assert_eq!(
        detail.trigger,
        RollTrigger::Volume {
            session: d[10],
            front: 100.0,
            next: 800.0
        }
    );
    assert_eq!(
        detail.skipped.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["CLM17"]
    );
    assert_eq!(
        detail.to_string(),
        format!(
            "volume crossover on {}: 800 > front 100; skipped CLM17",
            d[10]
        )
    );
    // A roll never goes back: CLM17 is never used.
    assert!(s.bars.iter().all(|b| &*b.contract != "CLM17"));

    // One contract at a time (the default): CLK17 holds until it expires, CLM17 takes the
    // next session, and CLN17 out-trades it the session after.
    assert!(!ContinuousSpec::new(RollRule::Volume).skip_to_most_active);
    let s = build(&input, &skip_spec(false)).unwrap();
    assert_eq!(
        rolls(&s),
        [(d[21], "CLK17", "CLM17"), (d[22], "CLM17", "CLN17")]
    );
    assert_eq!(
        s.roll_details[0].trigger,
        RollTrigger::Expired { last_trade: d[20] }
    );
    assert!(s.roll_details.iter().all(|r| r.skipped.is_empty()));
}

#[test]
fn skip_to_most_active_also_applies_when_the_front_expires() {
    let d = days(61);
    // CLK17 is never out-traded; when it expires, CLN17 (500) is more active than CLM17.
    let input = crude(|_| 1000.0, |_| 10.0, |_| 500.0);
    let s = build(&input, &skip_spec(true)).unwrap();
    assert_eq!(rolls(&s), [(d[21], "CLK17", "CLN17")]);
    let detail = &s.roll_details[0];
    assert_eq!(detail.trigger, RollTrigger::Expired { last_trade: d[20] });
    assert_eq!(&*detail.skipped[0], "CLM17");
    // From the first session on: straight to the most active, or one at a time.
    let input = crude(|_| 10.0, |_| 20.0, |_| 500.0);
    let s = build(&input, &skip_spec(true)).unwrap();
    assert_eq!(rolls(&s), [(d[1], "CLK17", "CLN17")]);
    let s = build(&input, &skip_spec(false)).unwrap();
    assert_eq!(
        rolls(&s),
        [(d[1], "CLK17", "CLM17"), (d[2], "CLM17", "CLN17")]
    );
}

// ---------------------------------------------------------------------------------------
// Bounds

#[test]
fn huge_roll_offset_is_an_error_not_a_panic() {
    let input = monthly();
    let mut spec = ContinuousSpec::new(RollRule::Calendar);
    spec.roll_offset = 100_000_000;
    let e = build(&input, &spec).unwrap_err();
    assert_eq!(
        e,
        ContinuousError::OutOfRange {
            option: "roll_offset",
            value: "100000000".into(),
            allowed: "0..=250 trading days".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "roll_offset 100000000 is out of range (allowed: 0..=250 trading days)"
    );
    assert_eq!(e.option(), Some("roll_offset"));
    // The bound itself builds (every roll date lies before the data: the last contract).
    spec.roll_offset = MAX_ROLL_OFFSET;
    let s = build(&input, &spec).unwrap();
    assert_eq!(symbols(&s), ["XXM14"]);
}

#[test]
fn every_numeric_option_has_a_named_bound() {
    let input = monthly();
    let check = |spec: ContinuousSpec, option: &str| {
        let e = build(&input, &spec).unwrap_err();
        assert_eq!(e.option(), Some(option), "{e}");
        assert!(matches!(e, ContinuousError::OutOfRange { .. }), "{e}");
        assert!(e.to_string().starts_with(option), "{e}");
    };
    let mut s = ContinuousSpec::new(RollRule::Calendar);
    s.rank = usize::MAX;
    check(s.clone(), "rank");
    s.rank = MAX_RANK + 1;
    check(s, "rank");
    let mut s = ContinuousSpec::new(RollRule::Volume);
    s.grace_sessions = Some(MAX_GRACE_SESSIONS + 1);
    check(s.clone(), "grace_sessions");
    s.grace_sessions = Some(u32::MAX);
    check(s, "grace_sessions");
    for far in [
        NaiveDate::from_ymd_opt(2200, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(1800, 1, 1).unwrap(),
        NaiveDate::MAX,
        NaiveDate::MIN,
    ] {
        check(ContinuousSpec::new(RollRule::Fixed(vec![far])), "rule");
    }
    let many = days(1)
        .into_iter()
        .cycle()
        .take(MAX_FIXED_DATES + 1)
        .collect();
    check(ContinuousSpec::new(RollRule::Fixed(many)), "rule");
    // Rank at the bound is only limited by the contracts.
    let mut s = ContinuousSpec::new(RollRule::Calendar);
    s.rank = MAX_RANK;
    assert!(matches!(
        build(&input, &s),
        Err(ContinuousError::RankUnavailable { rank: 36, .. })
    ));
}

#[test]
fn bars_outside_the_supported_span_are_refused() {
    let mut input = monthly();
    let far = date_key(NaiveDate::from_ymd_opt(2300, 1, 1).unwrap());
    input[1]
        .bars
        .push(Bar::new(far, 1.0, 1.0, 1.0, 1.0, 1.0).unwrap());
    assert_eq!(
        build(&input, &ContinuousSpec::new(RollRule::Calendar)).unwrap_err(),
        ContinuousError::BarOutOfSpan {
            contract: "XXG14".into(),
            ts: far
        }
    );
}

// ---------------------------------------------------------------------------------------
// Text forms and cumulative maths

#[test]
fn roll_triggers_have_stable_names_displays_and_stored_forms() {
    let d = NaiveDate::from_ymd_opt(2013, 12, 13).unwrap();
    let cases = [
        (
            RollTrigger::Calendar { anchor: d },
            "calendar",
            "v1 calendar anchor=2013-12-13",
            "calendar roll counted back from 2013-12-13",
        ),
        (
            RollTrigger::Volume {
                session: d,
                front: 347_764.0,
                next: 868_208.5,
            },
            "volume",
            "v1 volume session=2013-12-13 front=347764 next=868208.5",
            "volume crossover on 2013-12-13: 868208.5 > front 347764",
        ),
        (
            RollTrigger::OpenInterest {
                session: d,
                front: 0.1,
                next: 0.1 + 0.2,
            },
            "open_interest",
            "v1 open_interest session=2013-12-13 front=0.1 next=0.30000000000000004",
            "open-interest crossover on 2013-12-13: 0.30000000000000004 > front 0.1",
        ),
        (
            RollTrigger::Fixed { date: d },
            "fixed",
            "v1 fixed date=2013-12-13",
            "fixed roll date 2013-12-13",
        ),
        (
            RollTrigger::Expired { last_trade: d },
            "expired",
            "v1 expired last_trade=2013-12-13",
            "front expired (last trade date 2013-12-13)",
        ),
    ];
    for (trigger, name, stored, shown) in cases {
        assert_eq!(trigger.as_str(), name);
        assert_eq!(trigger.encode(), stored);
        assert_eq!(trigger.to_string(), shown);
        assert_eq!(RollTrigger::decode(stored), Ok(trigger.clone()));
        // A bare trigger reads as a detail without extras.
        let detail = RollDetail::decode(stored).unwrap();
        assert_eq!(
            (detail.trigger, detail.skipped.len(), detail.grace),
            (trigger, 0, None)
        );
    }
    let detail = RollDetail {
        trigger: RollTrigger::Volume {
            session: d,
            front: 10.0,
            next: 500.0,
        },
        skipped: vec!["CLM17".into(), "odd sym,=%".into()],
        grace: Some(GraceWindow {
            sessions: 7,
            opens: d,
            ignored_since: Some(NaiveDate::from_ymd_opt(2013, 12, 2).unwrap()),
        }),
    };
    let stored = detail.encode();
    assert_eq!(
        stored,
        "v1 volume session=2013-12-13 front=10 next=500 skipped=CLM17,odd%20sym%2C%3D%25 grace=7 opens=2013-12-13 ignored_since=2013-12-02"
    );
    assert_eq!(RollDetail::decode(&stored), Ok(detail));
    for bad in [
        "",
        "v2 volume session=2013-12-13 front=1 next=2",
        "v1 volume session=2013-12-13 front=1",
        "v1 volume session=someday front=1 next=2",
        "v1 weekly",
        "v1 fixed date",
        "v1 fixed date=2013-12-13 skipped=%G1",
    ] {
        let e: DecodeError = RollDetail::decode(bad).unwrap_err();
        assert!(e.to_string().contains("roll detail"), "{e}");
    }
}

#[test]
fn warnings_have_a_display_and_a_stored_form() {
    let d = NaiveDate::from_ymd_opt(2020, 4, 20).unwrap();
    let cases = [
        (
            ContinuousWarning::NonPositiveAdjusted {
                segment: 2,
                contract: "CLK20".into(),
                bars: 3,
                first_ts: date_key(d),
            },
            "v1 non_positive_adjusted segment=2 contract=CLK20 bars=3 first_ts=1587340800",
            "the adjustment makes prices of CLK20 (segment 2) zero or negative on 3 bar(s) from 2020-04-20T00:00:00Z",
        ),
        (
            ContinuousWarning::RollPriceFallback {
                date: d,
                contract: "CLM20".into(),
            },
            "v1 roll_price_fallback date=2020-04-20 contract=CLM20",
            "CLM20 has no bar before the roll on 2020-04-20: its first open sets the roll gap",
        ),
        (
            ContinuousWarning::RankExhausted { date: d },
            "v1 rank_exhausted date=2020-04-20",
            "from 2020-04-20 on the requested rank has no contract: the series ends before it",
        ),
    ];
    for (w, stored, shown) in cases {
        assert_eq!(w.encode(), stored);
        assert_eq!(w.to_string(), shown);
        assert_eq!(ContinuousWarning::decode(stored), Ok(w));
    }
    assert_eq!(
        ContinuousWarning::RankExhausted { date: d }.as_str(),
        "rank_exhausted"
    );
    assert!(ContinuousWarning::decode("RankExhausted { date: 2020-04-20 }").is_err());
    assert!(ContinuousWarning::decode("v1 rank_exhausted").is_err());
}

#[test]
fn apply_cumulative_matches_the_builder_for_every_mode() {
    let input = monthly();
    for adjust in Adjust::ALL {
        let mut spec = ContinuousSpec::new(RollRule::Calendar);
        spec.adjust = adjust;
        let s = build(&input, &spec).unwrap();
        assert_eq!(s.rolls.len(), 5);
        let mut again = s.rolls.clone();
        for r in &mut again {
            r.cumulative = Adjustment::None;
        }
        apply_cumulative(adjust, &mut again);
        assert_eq!(again, s.rolls, "{adjust}");
        // And the cumulative value of each roll is the adjustment of the segment it shifts.
        for (k, r) in s.rolls.iter().enumerate() {
            let segment = match adjust {
                Adjust::DifferenceBack | Adjust::RatioBack => k,
                _ => k + 1,
            };
            assert_eq!(
                r.cumulative, s.segments[segment].adjustment,
                "{adjust} roll {k}"
            );
        }
    }
    // A window of the rolls (as a roll history serves it) gets the window's cumulative.
    let mut spec = ContinuousSpec::new(RollRule::Calendar);
    spec.adjust = Adjust::DifferenceBack;
    let s = build(&input, &spec).unwrap();
    let mut tail = s.rolls[3..].to_vec();
    apply_cumulative(Adjust::DifferenceBack, &mut tail);
    assert_eq!(
        tail[0].cumulative,
        Adjustment::Add(s.rolls[3].difference + s.rolls[4].difference)
    );
}
