//! Futures contract months and symbols (`ESZ13`, `ESZ2013`, `ESZ3`).
//!
//! A symbol is `ROOT` + month code (`F G H J K M N Q U V X Z`) + a 1-, 2- or 4-digit year.
//! One- and two-digit years are resolved against a reference date: the year with those
//! trailing digits that lies closest to the reference year (window `-5..=+4` years for one
//! digit, `-50..=+49` for two). The canonical form is `ROOT` + code + two-digit year.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

pub(crate) const MONTH_CODES: [char; 12] =
    ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z'];

/// Why a contract symbol or month was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error(
        "`{0}` is not a futures contract symbol (expected ROOT + month code + year, e.g. ESZ13)"
    )]
    Malformed(String),
    #[error("`{0}` is not a contract month (expected YYYYMM or YYYY-MM)")]
    BadMonth(String),
}

/// A delivery month: year and month (1..=12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContractMonth {
    year: i32,
    month: u32,
}

impl ContractMonth {
    pub fn new(year: i32, month: u32) -> Result<Self, ContractError> {
        if !(1..=12).contains(&month) || !(1900..=2999).contains(&year) {
            return Err(ContractError::BadMonth(format!("{year:04}-{month:02}")));
        }
        Ok(ContractMonth { year, month })
    }
    pub fn year(&self) -> i32 {
        self.year
    }
    pub fn month(&self) -> u32 {
        self.month
    }
    /// The CME month code (`Z` for December).
    pub fn code(&self) -> char {
        MONTH_CODES[(self.month - 1) as usize]
    }
    /// First calendar day of the month.
    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }
}

impl fmt::Display for ContractMonth {
    /// `YYYY-MM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for ContractMonth {
    type Err = ContractError;
    /// Accepts `YYYYMM` (vendor files) and `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ContractError::BadMonth(s.to_string());
        let digits: String = s.trim().chars().filter(|c| *c != '-').collect();
        let dash_ok = matches!(s.trim().len(), 6) || s.trim().as_bytes().get(4) == Some(&b'-');
        if digits.len() != 6 || !dash_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year = digits[..4].parse().map_err(|_| bad())?;
        let month = digits[4..].parse().map_err(|_| bad())?;
        ContractMonth::new(year, month).map_err(|_| bad())
    }
}

/// A parsed contract symbol: root + delivery month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContractSymbol {
    root: String,
    month: ContractMonth,
}

impl ContractSymbol {
    pub fn new(root: &str, month: ContractMonth) -> Result<Self, ContractError> {
        let root = root.trim().to_ascii_uppercase();
        if root.is_empty() || root.len() > 8 || !root.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ContractError::Malformed(root));
        }
        Ok(ContractSymbol { root, month })
    }

    /// Parse `ESZ13`, `ESZ2013` or `ESZ3`; short years resolve against `reference`.
    pub fn parse(symbol: &str, reference: NaiveDate) -> Result<Self, ContractError> {
        let bad = || ContractError::Malformed(symbol.to_string());
        let s = symbol.trim().to_ascii_uppercase();
        let digits = s.bytes().rev().take_while(|b| b.is_ascii_digit()).count();
        if !matches!(digits, 1 | 2 | 4) || s.len() < digits + 2 {
            return Err(bad());
        }
        let (head, year_digits) = s.split_at(s.len() - digits);
        let code = head.chars().last().ok_or_else(bad)?;
        // The code may be any character of the input, several bytes long.
        let root = &head[..head.len() - code.len_utf8()];
        let month = MONTH_CODES
            .iter()
            .position(|c| *c == code)
            .ok_or_else(bad)? as u32
            + 1;
        let y: i32 = year_digits.parse().map_err(|_| bad())?;
        let year = match digits {
            4 => y,
            1 => resolve_year(y, 10, 5, reference.year()),
            _ => resolve_year(y, 100, 50, reference.year()),
        };
        ContractSymbol::new(root, ContractMonth::new(year, month).map_err(|_| bad())?)
    }

    pub fn root(&self) -> &str {
        &self.root
    }
    pub fn month(&self) -> ContractMonth {
        self.month
    }
}

/// The year ending in `tail` (mod `modulus`) within `[reference - back, reference - back + modulus)`.
fn resolve_year(tail: i32, modulus: i32, back: i32, reference: i32) -> i32 {
    let lowest = reference - back;
    lowest + (tail - lowest).rem_euclid(modulus)
}

impl fmt::Display for ContractSymbol {
    /// Canonical `ROOT` + code + two-digit year, e.g. `ESZ13`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{:02}",
            self.root,
            self.month.code(),
            self.month.year.rem_euclid(100)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn parses_the_three_year_forms() {
        let r = day(2013, 10, 1);
        for s in ["ESZ13", "ESZ2013", "ESZ3", "esz13"] {
            let c = ContractSymbol::parse(s, r).unwrap();
            assert_eq!(
                (c.root(), c.month()),
                ("ES", ContractMonth::new(2013, 12).unwrap()),
                "{s}"
            );
            assert_eq!(c.to_string(), "ESZ13");
        }
    }

    /// Found by `scripts/fuzz.sh` (target `parsers`): a multi-byte character where the month
    /// code goes sliced the string inside that character, a panic. (The HTTP and CLI paths
    /// refuse non-ASCII symbols before parsing, so no request reached it.)
    #[test]
    fn a_multi_byte_month_code_is_refused_not_a_panic() {
        let r = day(2013, 10, 1);
        for s in [
            "EES4ZSZ\u{76e}26",
            "ES\u{e9}13",
            "\u{1f600}\u{1f600}13",
            "E\u{e9}Z13",
        ] {
            assert!(ContractSymbol::parse(s, r).is_err(), "{s}");
        }
    }

    #[test]
    fn roots_may_contain_digits() {
        let c = ContractSymbol::parse("6EH14", day(2013, 10, 1)).unwrap();
        assert_eq!(c.root(), "6E");
        assert_eq!(c.month().month(), 3);
        assert_eq!(c.month().year(), 2014);
    }

    #[test]
    fn single_digit_years_resolve_to_the_nearest_decade() {
        // Reference 2026: window 2021..=2030.
        assert_eq!(
            ContractSymbol::parse("CLF7", day(2026, 11, 28))
                .unwrap()
                .month()
                .year(),
            2027
        );
        assert_eq!(
            ContractSymbol::parse("CLF1", day(2026, 11, 28))
                .unwrap()
                .month()
                .year(),
            2021
        );
        assert_eq!(
            ContractSymbol::parse("CLF0", day(2026, 11, 28))
                .unwrap()
                .month()
                .year(),
            2030
        );
        // Reference 2019 -> ESH0 is March 2020.
        assert_eq!(
            ContractSymbol::parse("ESH0", day(2019, 12, 1))
                .unwrap()
                .month()
                .year(),
            2020
        );
    }

    #[test]
    fn two_digit_years_resolve_within_a_century() {
        assert_eq!(
            ContractSymbol::parse("ZNU98", day(2013, 1, 1))
                .unwrap()
                .month()
                .year(),
            1998
        );
        assert_eq!(
            ContractSymbol::parse("ZNU62", day(2013, 1, 1))
                .unwrap()
                .month()
                .year(),
            2062
        );
    }

    #[test]
    fn refuses_malformed_symbols() {
        for bad in [
            "", "ES", "Z13", "ESA13", "ES13", "ESZ123", "ESZ", "E-Z13", "ESZ13X",
        ] {
            assert!(
                ContractSymbol::parse(bad, day(2013, 1, 1)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn contract_months_from_vendor_files() {
        assert_eq!(
            "201312".parse::<ContractMonth>().unwrap(),
            ContractMonth::new(2013, 12).unwrap()
        );
        assert_eq!(
            "2014-03".parse::<ContractMonth>().unwrap().to_string(),
            "2014-03"
        );
        for bad in ["2013", "201313", "2013-1", "20131a", "13-12"] {
            assert!(bad.parse::<ContractMonth>().is_err(), "{bad}");
        }
    }
}
