//! AAPL's 7:1 split on 2014-06-09 with its real LEAN factor file (fixtures/NOTICE).
//!
//! Raw closes: 2014-06-06 645.57, 2014-06-09 93.70 (open 92.69). Factor rows: 20140606
//! (price 0.9011818, split 0.0357143) covers bars up to 06-06; 20140806 (0.9011818, 0.25)
//! covers 06-09. Split-adjusted: 645.57 * 0.0357143 = 23.0561 and 93.70 * 0.25 = 23.425,
//! open 92.69 * 0.25 = 23.1725: the overnight gap is +0.50% instead of the raw -85.6%, and the
//! close-to-close change is AAPL's real return that day, 93.70 / (645.57 / 7) - 1 = +1.60%.

use chrono::NaiveDate;
use tradeassist_engine::{Calendar, FactorFile, PriceAdjustment, adjust_equity_bars};
use tradeassist_model::{Bar, Resolution, date_key};

mod common;
use common::{d, fixture};

fn aapl() -> Vec<Bar> {
    fixture("aapl_daily_2012_2014.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let f = |i: usize| c[i].parse::<f64>().unwrap();
            Bar::new(
                date_key(c[0].parse().unwrap()),
                f(2),
                f(3),
                f(4),
                f(5),
                f(6),
            )
            .unwrap()
        })
        .collect()
}

fn on(bars: &[Bar], day: NaiveDate) -> Bar {
    *bars.iter().find(|b| b.ts() == date_key(day)).unwrap()
}

#[test]
fn split_adjusted_aapl_is_continuous_across_the_7_for_1_split() {
    let factors = FactorFile::parse(&fixture("aapl_factors.csv")).unwrap();
    let cal = Calendar::get("us_equity").unwrap();
    let raw = aapl();
    let (fri, mon) = (d(2014, 6, 6), d(2014, 6, 9));
    assert!(on(&raw, mon).close() / on(&raw, fri).close() < 0.15); // the raw jump

    for mode in [PriceAdjustment::Split, PriceAdjustment::All] {
        let adj = adjust_equity_bars(cal, Resolution::Day, &raw, &factors, mode).unwrap();
        let (a, b) = (on(&adj, fri), on(&adj, mon));
        // Overnight gap within 1%.
        let gap = b.open() / a.close() - 1.0;
        assert!(gap.abs() < 0.01, "{mode}: gap {gap}");
        // Close to close: the real return, 93.70 * 7 / 645.57 - 1.
        let ret = b.close() / a.close() - 1.0;
        assert!(
            (ret - (93.70 * 7.0 / 645.57 - 1.0)).abs() < 1e-5,
            "{mode}: {ret}"
        );
        // No day of June 2014 moves more than 3% once adjusted.
        let june: Vec<&Bar> = adj
            .iter()
            .filter(|x| (date_key(d(2014, 6, 1))..date_key(d(2014, 7, 1))).contains(&x.ts()))
            .collect();
        assert_eq!(june.len(), 21);
        for w in june.windows(2) {
            assert!((w[1].close() / w[0].close() - 1.0).abs() < 0.03, "{mode}");
        }
        // Volume in post-split shares: 12,116,671 / 0.0357143 = 339.3 M vs 72.9 M / 0.25 = 291.5 M.
        assert!((a.volume() - 12_116_671.0 / 0.0357143).abs() < 1.0);
        assert_eq!(b.volume(), 72_875_948.0 / 0.25);
    }

    let split =
        adjust_equity_bars(cal, Resolution::Day, &raw, &factors, PriceAdjustment::Split).unwrap();
    assert!((on(&split, fri).close() - 645.57 * 0.0357143).abs() < 1e-9);
    assert!((on(&split, mon).close() - 93.70 * 0.25).abs() < 1e-9);
    let all =
        adjust_equity_bars(cal, Resolution::Day, &raw, &factors, PriceAdjustment::All).unwrap();
    assert!((on(&all, mon).close() - 93.70 * 0.25 * 0.9011818).abs() < 1e-9);
    // After the last split (2020-08-31, split factor 1 from 20201105) nothing is left to
    // adjust; in 2014 the later 4:1 split still applies (factor 0.25 = 1/4).
    assert_eq!(factors.factors_on(d(2014, 6, 9)), (0.9011818, 0.25));
    assert_eq!(factors.factors_on(d(2021, 3, 1)), (1.0, 1.0));
}
