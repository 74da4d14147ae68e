//! Equity corporate actions: factor files in the QuantConnect LEAN layout and split /
//! dividend adjustment of a bar series.
//!
//! A factor file has one row per corporate-action boundary, ascending by date:
//! `date,price_factor,split_factor[,reference_price]` (date `YYYYMMDD` or `YYYY-MM-DD`). For a
//! bar on day `D` the first row whose date is `>= D` applies; after the last row the factors
//! are 1. Split adjustment multiplies prices by `split_factor`, full adjustment by
//! `price_factor * split_factor`; both divide volume by `split_factor` (a 7:1 split turns one
//! share traded at 645 into seven at about 92). The parser works on `&str`: no I/O.
//!
//! ```
//! use chrono::NaiveDate;
//! use tradeassist_engine::{Calendar, FactorFile, PriceAdjustment, adjust_equity_bars};
//! use tradeassist_model::{Bar, Resolution, date_key};
//!
//! // AAPL's 7:1 split on 2014-06-09 (rows from its LEAN factor file).
//! let factors = FactorFile::parse("20140606,0.9011818,0.0357143,645.57\n20140806,0.9011818,0.25,94.97\n20501231,1,1,0\n").unwrap();
//! let day = |d| date_key(NaiveDate::from_ymd_opt(2014, 6, d).unwrap());
//! let raw = [
//!     Bar::new(day(6), 650.0, 651.25, 644.48, 645.57, 12_116_671.0).unwrap(),
//!     Bar::new(day(9), 92.69, 93.88, 91.75, 93.70, 72_875_948.0).unwrap(),
//! ];
//! let cal = Calendar::get("us_equity").unwrap();
//! let adj = adjust_equity_bars(cal, Resolution::Day, &raw, &factors, PriceAdjustment::Split).unwrap();
//! assert!((adj[0].close() - 645.57 * 0.0357143).abs() < 1e-9);
//! assert!((adj[1].close() - 93.70 * 0.25).abs() < 1e-9);
//! assert!((adj[0].volume() - 12_116_671.0 / 0.0357143).abs() < 1e-3);
//! ```

use chrono::NaiveDate;
use tradeassist_model::{Bar, BarError, Resolution};

use crate::Calendar;
use crate::calendar::utc_date;

/// Why a factor file or an adjustment was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CorporateError {
    #[error("factor file line {line}: {message}")]
    Malformed { line: usize, message: String },
    #[error("factor file line {line}: dates must be strictly increasing")]
    Unordered { line: usize },
    #[error("adjusting the bar at ts {ts}: {source}")]
    AdjustedBar { ts: i64, source: BarError },
}

/// One row of a factor file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactorRow {
    /// Last day (inclusive) to which these factors apply, counted from the previous row.
    pub date: NaiveDate,
    /// Cumulative dividend factor.
    pub price_factor: f64,
    /// Cumulative split factor.
    pub split_factor: f64,
    /// The vendor's reference close (0 when absent).
    pub reference_price: f64,
}

/// A parsed factor file, ascending by date.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FactorFile {
    rows: Vec<FactorRow>,
}

impl FactorFile {
    /// Parse `date,price_factor,split_factor[,reference_price]` rows. Blank lines, `#`
    /// comments and a header line are skipped.
    pub fn parse(text: &str) -> Result<FactorFile, CorporateError> {
        let mut rows: Vec<FactorRow> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split(',').map(str::trim).collect();
            let date = parse_date(cols[0]);
            if date.is_none() && rows.is_empty() && cols[0].eq_ignore_ascii_case("date") {
                continue; // header
            }
            let bad = |message: &str| CorporateError::Malformed {
                line: line_no,
                message: message.to_string(),
            };
            let date = date.ok_or_else(|| bad("bad date (YYYYMMDD or YYYY-MM-DD)"))?;
            if !(3..=4).contains(&cols.len()) {
                return Err(bad(
                    "expected date,price_factor,split_factor[,reference_price]",
                ));
            }
            let num = |s: &str, what: &str| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(&format!("bad {what} `{s}`")))
            };
            let row = FactorRow {
                date,
                price_factor: num(cols[1], "price factor")?,
                split_factor: num(cols[2], "split factor")?,
                reference_price: cols.get(3).map_or(Ok(0.0), |s| num(s, "reference price"))?,
            };
            if row.price_factor <= 0.0 || row.split_factor <= 0.0 {
                return Err(bad("factors must be positive"));
            }
            if rows.last().is_some_and(|r| r.date >= row.date) {
                return Err(CorporateError::Unordered { line: line_no });
            }
            rows.push(row);
        }
        Ok(FactorFile { rows })
    }

    /// The rows, ascending by date.
    pub fn rows(&self) -> &[FactorRow] {
        &self.rows
    }

    /// `(price_factor, split_factor)` for a bar on `date`: the first row dated `>= date`,
    /// `(1, 1)` after the last row.
    pub fn factors_on(&self, date: NaiveDate) -> (f64, f64) {
        let i = self.rows.partition_point(|r| r.date < date);
        self.rows
            .get(i)
            .map_or((1.0, 1.0), |r| (r.price_factor, r.split_factor))
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

/// Which corporate actions an equity series is adjusted for (defined in the model, where
/// stores use it as a key; re-exported here at its old path).
pub use tradeassist_model::PriceAdjustment;

/// Adjust an equity bar series for corporate actions. Prices (OHLC and vendor VWAP) are
/// multiplied by the factor of the bar's day; volume is divided by the split factor for
/// `Split` and `All`. A minute bar's day is its exchange-local date in `cal`; a daily bar's
/// is its date key.
pub fn adjust_equity_bars(
    cal: &Calendar,
    resolution: Resolution,
    bars: &[Bar],
    factors: &FactorFile,
    mode: PriceAdjustment,
) -> Result<Vec<Bar>, CorporateError> {
    if mode == PriceAdjustment::None {
        return Ok(bars.to_vec());
    }
    bars.iter()
        .map(|b| {
            let day = match resolution {
                Resolution::Day => utc_date(b.ts()),
                Resolution::Minute => cal.local_date(b.ts()),
            };
            let (price, split) = factors.factors_on(day);
            let m = match mode {
                PriceAdjustment::All => price * split,
                _ => split,
            };
            let err = |source| CorporateError::AdjustedBar { ts: b.ts(), source };
            Ok(Bar::new(
                b.ts(),
                b.open() * m,
                b.high() * m,
                b.low() * m,
                b.close() * m,
                b.volume() / split,
            )
            .and_then(|x| x.with_open_interest(b.open_interest()))
            .and_then(|x| x.with_vwap(b.vwap().map(|v| v * m)))
            .map_err(err)?
            .with_trade_count(b.trade_count()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_lean_rows_with_and_without_header() {
        let f = FactorFile::parse("date,price_factor,split_factor,reference_price\n2014-03-27,1,0.997307,1\n\n20150424,1,0.997307,565.06\n20501231,1,1,0").unwrap();
        assert_eq!(f.rows().len(), 3);
        assert_eq!(f.rows()[1].reference_price, 565.06);
        assert_eq!(f.factors_on(d(2014, 1, 1)), (1.0, 0.997307));
        assert_eq!(f.factors_on(d(2014, 3, 27)), (1.0, 0.997307)); // the row's own date
        assert_eq!(f.factors_on(d(2014, 3, 28)), (1.0, 0.997307));
        assert_eq!(f.factors_on(d(2051, 1, 1)), (1.0, 1.0)); // after the last row
        let three_columns = FactorFile::parse("20100101,0.5,0.25").unwrap();
        assert_eq!(three_columns.rows()[0].reference_price, 0.0);
        assert!(FactorFile::parse("").unwrap().rows().is_empty());
    }

    #[test]
    fn malformed_factor_files_are_refused() {
        for (text, line) in [
            ("20140101,1", 1),
            ("20140101,1,x,1", 1),
            ("20140101,1,1,1\n2014-13-01,1,1,1", 2),
            ("20140101,0,1,1", 1),
            ("20140101,1,-1,1", 1),
            ("20140101,1,1,1,1", 1),
            ("20140101,1,1,1\nfoo,1,1,1", 2),
        ] {
            match FactorFile::parse(text) {
                Err(CorporateError::Malformed { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            FactorFile::parse("20140102,1,1,1\n20140101,1,1,1"),
            Err(CorporateError::Unordered { line: 2 })
        );
    }

    #[test]
    fn adjustment_modes_scale_prices_and_volume() {
        let f = FactorFile::parse("20140101,0.9,0.5,0\n20501231,1,1,0").unwrap();
        let bar = Bar::new(1_388_448_000, 10.0, 12.0, 8.0, 11.0, 100.0) // 2013-12-31
            .unwrap()
            .with_vwap(Some(10.5))
            .unwrap()
            .with_trade_count(Some(7));
        let cal = Calendar::get("us_equity").unwrap();
        let run = |m| adjust_equity_bars(cal, Resolution::Day, &[bar], &f, m).unwrap()[0];
        assert_eq!(run(PriceAdjustment::None), bar);
        let s = run(PriceAdjustment::Split);
        assert_eq!(
            (s.open(), s.high(), s.low(), s.close()),
            (5.0, 6.0, 4.0, 5.5)
        );
        assert_eq!(
            (s.volume(), s.vwap(), s.trade_count()),
            (200.0, Some(5.25), Some(7))
        );
        let a = run(PriceAdjustment::All);
        assert!((a.close() - 11.0 * 0.45).abs() < 1e-12);
        assert_eq!(a.volume(), 200.0);
        assert_eq!(
            "split".parse::<PriceAdjustment>().unwrap(),
            PriceAdjustment::Split
        );
        assert_eq!("ALL".parse::<PriceAdjustment>().unwrap().to_string(), "all");
        assert!("dividend".parse::<PriceAdjustment>().is_err());
    }

    #[test]
    fn minute_bars_use_the_exchange_date() {
        // 2014-06-09 00:30 UTC is still 2014-06-08 (Sunday) 20:30 in New York.
        let f = FactorFile::parse("20140608,1,0.5,0\n20501231,1,1,0").unwrap();
        let bar = Bar::new(1_402_273_800, 10.0, 10.0, 10.0, 10.0, 1.0).unwrap();
        let cal = Calendar::get("us_equity").unwrap();
        let m = adjust_equity_bars(cal, Resolution::Minute, &[bar], &f, PriceAdjustment::Split)
            .unwrap();
        assert_eq!(m[0].close(), 5.0);
        let day =
            adjust_equity_bars(cal, Resolution::Day, &[bar], &f, PriceAdjustment::Split).unwrap();
        assert_eq!(day[0].close(), 10.0); // UTC date 2014-06-09: after the row
    }
}
