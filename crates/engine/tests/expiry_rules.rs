//! Expiry rules per product, with dates checked by hand from the exchange rule texts.
//!
//! Business days are CME days minus US exchange holidays (see expiry_rules.toml). Holidays that
//! matter below: 2013-11-28 Thanksgiving, 2013-12-25 Christmas, 2008-03-21 Good Friday,
//! 2015-02-16 Presidents' Day, 2021-11-25 Thanksgiving.

use chrono::NaiveDate;
use tradeassist_engine::{DateSource, ExpiryError, ExpiryRules};
use tradeassist_model::{ContractSymbol, FuturesContract};

mod common;
use common::d;

fn contract(symbol: &str) -> ContractSymbol {
    ContractSymbol::parse(symbol, d(2013, 10, 1)).unwrap()
}

/// Year, month, day.
type Ymd = (i32, u32, u32);

/// (symbol, last trade date, first notice date); the comment above each says how it was
/// checked.
const CASES: &[(&str, Ymd, Option<Ymd>)] = &[
    // ES/NQ/YM/RTY: third Friday of the contract month.
    // ESZ13: Fridays of Dec 2013 are 6, 13, 20 -> 2013-12-20; matches the vendor `expiry`
    // column of es_daily_z13_h14.csv and es_1m_z13_h14_dec2013.csv.gz (checked below too).
    ("ESZ13", (2013, 12, 20), None),
    // ESH14: Fridays of Mar 2014 are 7, 14, 21 -> 2014-03-21 (vendor column: 2014-03-21).
    ("ESH14", (2014, 3, 21), None),
    // ESH08: the third Friday 2008-03-21 was Good Friday (closed) -> preceding business day
    // Thursday 2008-03-20.
    ("ESH2008", (2008, 3, 20), None),
    // NQZ13 shares the ES rule: 2013-12-20.
    ("NQZ13", (2013, 12, 20), None),
    // YMH20: Fridays of Mar 2020 are 6, 13, 20 -> 2020-03-20.
    ("YMH20", (2020, 3, 20), None),
    // RTYM20: Fridays of Jun 2020 are 5, 12, 19 -> 2020-06-19.
    ("RTYM20", (2020, 6, 19), None),
    // CL: 3 business days before the 25th of the month before the contract month.
    // CLZ13: 2013-11-25 is a Monday (business day); 3 business days before it are Fri 22,
    // Thu 21, Wed 20 -> 2013-11-20. (The brief suggested 2013-11-19; the rule gives the 20th.)
    ("CLZ13", (2013, 11, 20), None),
    // CLF14: 2013-12-25 is Christmas -> last business day before it is Tue 24; 3 business
    // days before that: Mon 23, Fri 20, Thu 19 -> 2013-12-19.
    ("CLF14", (2013, 12, 19), None),
    // CLK14: 2014-04-25 is a Friday; 3 before: Thu 24, Wed 23, Tue 22 -> 2014-04-22.
    ("CLK14", (2014, 4, 22), None),
    // CLZ21: 2021-11-25 is Thanksgiving -> last business day before it is Wed 24; 3 before
    // that: Tue 23, Mon 22, Fri 19 -> 2021-11-19.
    ("CLZ21", (2021, 11, 19), None),
    // NG: 3 business days before the first calendar day of the delivery month.
    // NGZ13: before 2013-12-01: Fri Nov 29 (1), Thu 28 is Thanksgiving, Wed 27 (2), Tue 26 (3)
    // -> 2013-11-26.
    ("NGZ13", (2013, 11, 26), None),
    // NGF14: before 2014-01-01: Tue Dec 31, Mon 30, Fri 27 -> 2013-12-27.
    ("NGF14", (2013, 12, 27), None),
    // RB/HO: last business day of the month before the contract month.
    // RBZ13: last business day of Nov 2013 = Fri 2013-11-29.
    ("RBZ13", (2013, 11, 29), None),
    // HOF14: last business day of Dec 2013 = Tue 2013-12-31.
    ("HOF14", (2013, 12, 31), None),
    // GC/SI/HG: third last business day of the contract month; FND = last business day of
    // the month before.
    // GCZ13: Dec 2013 business days end Tue 31, Mon 30, Fri 27 -> 2013-12-27;
    // FND: Fri 2013-11-29.
    ("GCZ13", (2013, 12, 27), Some((2013, 11, 29))),
    // SIH14: Mar 2014 ends Mon 31, Fri 28, Thu 27 -> 2014-03-27; FND Fri 2014-02-28.
    ("SIH14", (2014, 3, 27), Some((2014, 2, 28))),
    // HGK14: May 2014 ends Fri 30, Thu 29, Wed 28 -> 2014-05-28; FND Wed 2014-04-30.
    ("HGK14", (2014, 5, 28), Some((2014, 4, 30))),
    // ZN/ZB: 7th business day before the last business day of the delivery month.
    // ZNZ13: last business day Tue Dec 31; 7 before: 30, 27, 26, 24, 23, 20, 19 (25 is
    // Christmas) -> 2013-12-19; FND Fri 2013-11-29.
    ("ZNZ13", (2013, 12, 19), Some((2013, 11, 29))),
    // ZBH14: last business day Mon Mar 31; 7 before: 28, 27, 26, 25, 24, 21, 20 ->
    // 2014-03-20; FND Fri 2014-02-28.
    ("ZBH14", (2014, 3, 20), Some((2014, 2, 28))),
    // ZF: last business day of the contract month. ZFZ13 -> Tue 2013-12-31; FND 2013-11-29.
    ("ZFZ13", (2013, 12, 31), Some((2013, 11, 29))),
    // ZC/ZS/ZW: business day before the 15th of the contract month.
    // ZCZ13: 2013-12-15 is a Sunday; the business day before it is Fri 2013-12-13;
    // FND Fri 2013-11-29.
    ("ZCZ13", (2013, 12, 13), Some((2013, 11, 29))),
    // ZSF14: 2014-01-15 is a Wednesday -> Tue 2014-01-14; FND Tue 2013-12-31.
    ("ZSF14", (2014, 1, 14), Some((2013, 12, 31))),
    // ZWN14: 2014-07-15 is a Tuesday -> Mon 2014-07-14; FND Mon 2014-06-30.
    ("ZWN14", (2014, 7, 14), Some((2014, 6, 30))),
    // 6E/6J/6B: 2 business days before the third Wednesday of the contract month.
    // 6EZ13: Wednesdays of Dec 2013 are 4, 11, 18; 2 business days before the 18th: Tue 17,
    // Mon 16 -> 2013-12-16.
    ("6EZ13", (2013, 12, 16), None),
    // 6JH14: Wednesdays of Mar 2014 are 5, 12, 19 -> Tue 18, Mon 17 -> 2014-03-17.
    ("6JH14", (2014, 3, 17), None),
    // 6BM14: Wednesdays of Jun 2014 are 4, 11, 18 -> Tue 17, Mon 16 -> 2014-06-16.
    ("6BM14", (2014, 6, 16), None),
    // 6EG15: third Wednesday 2015-02-18; Tue 17 (1), Mon 16 is Presidents' Day, Fri 13 (2)
    // -> 2015-02-13.
    ("6EG15", (2015, 2, 13), None),
];

#[test]
fn last_trade_and_first_notice_dates_per_product() {
    let rules = ExpiryRules::builtin().unwrap();
    for &(symbol, (y, m, day), fnd) in CASES {
        let c = contract(symbol);
        assert_eq!(
            rules.last_trade_date(c.root(), c.month()).unwrap(),
            d(y, m, day),
            "{symbol} last trade"
        );
        assert_eq!(
            rules.first_notice_date(c.root(), c.month()).unwrap(),
            fnd.map(|(y, m, day)| d(y, m, day)),
            "{symbol} first notice"
        );
    }
}

#[test]
fn rule_dates_are_business_days() {
    let rules = ExpiryRules::builtin().unwrap();
    for &(symbol, (y, m, day), _) in CASES {
        let root = contract(symbol).root().to_string();
        assert!(
            rules.is_business_day(&root, d(y, m, day)).unwrap(),
            "{symbol}"
        );
    }
    // Thanksgiving has an abbreviated Globex session but is no CME business day.
    assert!(!rules.is_business_day("NG", d(2013, 11, 28)).unwrap());
    assert!(rules.is_business_day("NG", d(2013, 11, 29)).unwrap());
}

#[test]
fn vendor_expiry_column_matches_the_es_rule() {
    // Every (contract_month, expiry) pair of the real ES fixtures.
    let rules = ExpiryRules::builtin().unwrap();
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/es_daily_z13_h14.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut checked = std::collections::BTreeSet::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let month = cols[1].parse().unwrap();
        let expiry: NaiveDate = cols[2].parse().unwrap();
        assert_eq!(
            rules.last_trade_date("ES", month).unwrap(),
            expiry,
            "{line}"
        );
        checked.insert(cols[1].to_string());
    }
    assert_eq!(checked.len(), 2);
}

#[test]
fn explicit_contract_dates_win_over_rules() {
    let rules = ExpiryRules::builtin().unwrap();
    let c = contract("CLZ13");
    let with_date = FuturesContract {
        root: "CL".into(),
        month: c.month(),
        last_trade_date: Some(d(2013, 11, 19)),
        first_notice_date: None,
    };
    let dates = rules.resolve(&with_date).unwrap();
    assert_eq!(dates.last_trade, d(2013, 11, 19));
    assert_eq!(dates.last_trade_source, DateSource::Explicit);
    let without = FuturesContract {
        last_trade_date: None,
        ..with_date
    };
    let dates = rules.resolve(&without).unwrap();
    assert_eq!(dates.last_trade, d(2013, 11, 20));
    assert_eq!(dates.last_trade_source, DateSource::Rule);
}

#[test]
fn unknown_root_is_a_typed_error() {
    let rules = ExpiryRules::builtin().unwrap();
    let m = contract("ESZ13").month();
    assert_eq!(
        rules.last_trade_date("FDAX", m),
        Err(ExpiryError::UnknownRoot("FDAX".into()))
    );
    assert_eq!(
        rules.first_notice_date("FDAX", m),
        Err(ExpiryError::UnknownRoot("FDAX".into()))
    );
    assert!(rules.is_business_day("FDAX", d(2013, 12, 2)).is_err());
    let c = FuturesContract {
        root: "FDAX".into(),
        month: m,
        last_trade_date: None,
        first_notice_date: None,
    };
    assert_eq!(
        rules.resolve(&c),
        Err(ExpiryError::UnknownRoot("FDAX".into()))
    );
}
