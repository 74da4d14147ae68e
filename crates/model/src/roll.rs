//! The options of continuous futures and of equity price adjustment, as plain data: roll rule,
//! anchor, roll price, futures adjustment, equity adjustment and the roll cycle (contract-month
//! filter). The engine (`tradeassist_engine::continuous`) interprets them; stores use them as
//! typed keys. Each has a string round-trip (`FromStr` / `Display`) with one name table.
//!
//! ```
//! use tradeassist_model::roll::{Adjust, RollCycle, RollRule};
//! use chrono::NaiveDate;
//!
//! assert_eq!("v".parse::<RollRule>().unwrap(), RollRule::Volume);
//! let fixed: RollRule = "fixed:2013-12-16,2014-03-17".parse().unwrap();
//! assert_eq!(fixed, RollRule::Fixed(vec![
//!     NaiveDate::from_ymd_opt(2013, 12, 16).unwrap(),
//!     NaiveDate::from_ymd_opt(2014, 3, 17).unwrap(),
//! ]));
//! assert_eq!(fixed.to_string(), "fixed:2013-12-16,2014-03-17");
//!
//! let cycle: RollCycle = "zumh".parse().unwrap();
//! assert_eq!(cycle.to_string(), "HMUZ");
//! assert!(cycle.contains(12) && !cycle.contains(1));
//!
//! assert_eq!("Difference_Back".parse::<Adjust>().unwrap(), Adjust::DifferenceBack);
//! assert_eq!(
//!     "panama".parse::<Adjust>().unwrap_err().to_string(),
//!     "`panama` is not one of none, difference_back, ratio_back, difference_forward, ratio_forward"
//! );
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::OptionError;
use crate::contract::MONTH_CODES;

/// The kind of a [`RollRule`], without the dates of a fixed rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RollRuleKind {
    Calendar,
    Volume,
    OpenInterest,
    Fixed,
}

crate::named_options!(
    RollRuleKind,
    "roll rule",
    [
        Calendar = "calendar",
        Volume = "volume",
        OpenInterest = "open_interest",
        Fixed = "fixed",
    ],
    aliases ["c" => Calendar, "v" => Volume, "n" => OpenInterest]
);

/// When the front contract rolls to the next one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RollRule {
    /// `roll_offset` trading days before the anchor date (last trade or first notice).
    Calendar,
    /// When a later contract's volume on the previous session exceeds the front's.
    Volume,
    /// When a later contract's open interest (forward-filled) on the previous session
    /// exceeds the front's.
    OpenInterest,
    /// On these dates (each moved to the next trading day if needed). A date rolls out of the
    /// contract that is the front on it: the first date in `(previous contract's last trade
    /// date, contract's last trade date]` is that contract's roll date; a contract without
    /// one rolls after its last trade date, and dates outside every window are ignored.
    Fixed(Vec<NaiveDate>),
}

/// Why a roll rule string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollRuleError {
    #[error(transparent)]
    Name(#[from] OptionError),
    #[error("`{0}`: a fixed roll needs its dates, e.g. fixed:2013-12-16,2014-03-17")]
    FixedWithoutDates(String),
    #[error("`{0}` is not a date (YYYY-MM-DD) of a fixed roll")]
    BadFixedDate(String),
}

impl RollRule {
    /// The rule's kind.
    pub fn kind(&self) -> RollRuleKind {
        match self {
            RollRule::Calendar => RollRuleKind::Calendar,
            RollRule::Volume => RollRuleKind::Volume,
            RollRule::OpenInterest => RollRuleKind::OpenInterest,
            RollRule::Fixed(_) => RollRuleKind::Fixed,
        }
    }

    /// `calendar`, `volume`, `open_interest` or `fixed` (the kind; see `Display` for the
    /// dates of a fixed rule).
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}

impl fmt::Display for RollRule {
    /// `calendar`, `volume`, `open_interest` or `fixed:YYYY-MM-DD,YYYY-MM-DD,...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollRule::Fixed(dates) => {
                f.write_str("fixed:")?;
                for (i, d) in dates.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            _ => f.write_str(self.as_str()),
        }
    }
}

impl FromStr for RollRule {
    type Err = RollRuleError;
    /// `calendar` / `c`, `volume` / `v`, `open_interest` / `n`, or `fixed:` + comma-separated
    /// `YYYY-MM-DD` dates (the `Display` form).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (head, dates) = match t.split_once(':') {
            Some((h, d)) => (h, Some(d)),
            None => (t, None),
        };
        let kind: RollRuleKind = head.parse().map_err(|e: OptionError| OptionError {
            value: s.to_string(),
            ..e
        })?;
        match (kind, dates) {
            (RollRuleKind::Fixed, Some(d)) if d.trim().is_empty() => {
                Ok(RollRule::Fixed(Vec::new()))
            }
            (RollRuleKind::Fixed, Some(d)) => d
                .split(',')
                .map(|x| {
                    NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d")
                        .map_err(|_| RollRuleError::BadFixedDate(x.trim().to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(RollRule::Fixed),
            (RollRuleKind::Fixed, None) => Err(RollRuleError::FixedWithoutDates(s.to_string())),
            (_, Some(_)) => Err(RollRuleError::Name(OptionError {
                what: "roll rule",
                value: s.to_string(),
                accepted: RollRuleKind::NAMES.iter().map(|(n, _)| *n).collect(),
            })),
            (RollRuleKind::Calendar, None) => Ok(RollRule::Calendar),
            (RollRuleKind::Volume, None) => Ok(RollRule::Volume),
            (RollRuleKind::OpenInterest, None) => Ok(RollRule::OpenInterest),
        }
    }
}

/// The date a calendar roll counts back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum RollAnchor {
    /// The last trade date.
    #[default]
    LastTrade,
    /// The first notice date (the last trade date for products without notice days).
    FirstNotice,
}

crate::named_options!(
    RollAnchor,
    "roll anchor",
    [LastTrade = "last_trade", FirstNotice = "first_notice"],
    aliases ["expiry" => LastTrade]
);

/// The two prices that set the gap at a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum RollPrice {
    /// Both contracts' closes on the last session before the roll (each contract's last bar
    /// before the boundary).
    #[default]
    LastCloseBoth,
    /// The old contract's last close before the roll and the new contract's first open.
    LastOldFirstNew,
}

crate::named_options!(
    RollPrice,
    "roll price",
    [
        LastCloseBoth = "last_close_both",
        LastOldFirstNew = "last_old_first_new"
    ]
);

/// How futures prices are adjusted across rolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Adjust {
    /// Raw prices (gaps at rolls stay).
    #[default]
    None,
    /// Panama: add the roll differences to older segments; the newest segment is raw.
    DifferenceBack,
    /// Multiply older segments by the roll ratios; the newest segment is raw.
    RatioBack,
    /// Subtract the roll differences from newer segments; the oldest segment is raw.
    DifferenceForward,
    /// Divide newer segments by the roll ratios; the oldest segment is raw.
    RatioForward,
}

crate::named_options!(
    Adjust,
    "futures adjustment",
    [
        None = "none",
        DifferenceBack = "difference_back",
        RatioBack = "ratio_back",
        DifferenceForward = "difference_forward",
        RatioForward = "ratio_forward",
    ]
);

impl Adjust {
    /// True for the two ratio modes (which need positive prices).
    pub const fn is_ratio(self) -> bool {
        matches!(self, Adjust::RatioBack | Adjust::RatioForward)
    }
}

/// Which corporate actions an equity series is adjusted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum PriceAdjustment {
    /// Raw prices as traded.
    #[default]
    None,
    /// Splits only: `raw * split_factor`.
    Split,
    /// Splits and dividends: `raw * price_factor * split_factor`.
    All,
}

crate::named_options!(
    PriceAdjustment,
    "equity adjustment",
    [None = "none", Split = "split", All = "all"],
    aliases ["raw" => None, "split_dividend" => All]
);

/// A set of contract months (a roll cycle): the months a continuous series rolls through,
/// written as CME month codes in calendar order (`HMUZ` = March, June, September,
/// December). Contracts of other months are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollCycle {
    /// Bit `m - 1` set for month `m`.
    bits: u16,
}

/// Why a roll cycle string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollCycleError {
    #[error("empty roll cycle: give month codes such as HMUZ (F G H J K M N Q U V X Z) or `all`")]
    Empty,
    #[error("`{cycle}`: `{code}` is not a month code (F G H J K M N Q U V X Z)")]
    BadCode { cycle: String, code: char },
    #[error("`{cycle}`: month code `{code}` is given twice")]
    Repeated { cycle: String, code: char },
}

impl RollCycle {
    /// Every month (`FGHJKMNQUVXZ`).
    pub const ALL: RollCycle = RollCycle { bits: 0x0fff };
    /// March, June, September, December (`HMUZ`), e.g. ES, NQ, ZN.
    pub const QUARTERLY: RollCycle = RollCycle {
        bits: 1 << 2 | 1 << 5 | 1 << 8 | 1 << 11,
    };

    /// The cycle of these months (1..=12); `None` when a month is out of range or the set
    /// is empty.
    pub fn from_months(months: impl IntoIterator<Item = u32>) -> Option<RollCycle> {
        let mut bits = 0u16;
        for m in months {
            if !(1..=12).contains(&m) {
                return None;
            }
            bits |= 1 << (m - 1);
        }
        (bits != 0).then_some(RollCycle { bits })
    }

    /// True when month `month` (1..=12) is in the cycle.
    pub fn contains(self, month: u32) -> bool {
        (1..=12).contains(&month) && self.bits & (1 << (month - 1)) != 0
    }

    /// The months of the cycle, ascending.
    pub fn months(self) -> impl Iterator<Item = u32> {
        (1..=12).filter(move |m| self.contains(*m))
    }

    /// True for the cycle of all twelve months.
    pub fn is_all(self) -> bool {
        self == RollCycle::ALL
    }
}

impl fmt::Display for RollCycle {
    /// Month codes in calendar order, e.g. `GJMQVZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in self.months() {
            write!(f, "{}", MONTH_CODES[(m - 1) as usize])?;
        }
        Ok(())
    }
}

impl FromStr for RollCycle {
    type Err = RollCycleError;
    /// Month codes in any order and case (`HMUZ`, `zumh`), or `all`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(RollCycle::ALL);
        }
        let mut bits = 0u16;
        for c in t.chars() {
            let code = c.to_ascii_uppercase();
            let m = MONTH_CODES.iter().position(|x| *x == code).ok_or_else(|| {
                RollCycleError::BadCode {
                    cycle: s.to_string(),
                    code: c,
                }
            })?;
            if bits & (1 << m) != 0 {
                return Err(RollCycleError::Repeated {
                    cycle: s.to_string(),
                    code,
                });
            }
            bits |= 1 << m;
        }
        if bits == 0 {
            return Err(RollCycleError::Empty);
        }
        Ok(RollCycle { bits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn option_names_round_trip_and_old_spellings_parse() {
        for a in Adjust::ALL {
            assert_eq!(a.to_string().parse::<Adjust>(), Ok(a));
        }
        for p in PriceAdjustment::ALL {
            assert_eq!(p.to_string().parse::<PriceAdjustment>(), Ok(p));
        }
        for p in RollPrice::ALL {
            assert_eq!(p.to_string().parse::<RollPrice>(), Ok(p));
        }
        for a in RollAnchor::ALL {
            assert_eq!(a.to_string().parse::<RollAnchor>(), Ok(a));
        }
        for k in RollRuleKind::ALL {
            assert_eq!(k.to_string().parse::<RollRuleKind>(), Ok(k));
        }
        assert_eq!("raw".parse::<PriceAdjustment>(), Ok(PriceAdjustment::None));
        assert_eq!(
            "split_dividend".parse::<PriceAdjustment>(),
            Ok(PriceAdjustment::All)
        );
        assert_eq!("expiry".parse::<RollAnchor>(), Ok(RollAnchor::LastTrade));
        assert_eq!("N".parse::<RollRule>(), Ok(RollRule::OpenInterest));
        assert_eq!(
            "split".parse::<Adjust>().unwrap_err().to_string(),
            "`split` is not one of none, difference_back, ratio_back, difference_forward, ratio_forward"
        );
        assert_eq!(
            "panama".parse::<PriceAdjustment>().unwrap_err().to_string(),
            "`panama` is not one of none, split, all"
        );
    }

    #[test]
    fn roll_rules_round_trip_with_fixed_dates() {
        for r in [
            RollRule::Calendar,
            RollRule::Volume,
            RollRule::OpenInterest,
            RollRule::Fixed(vec![NaiveDate::from_ymd_opt(2013, 12, 16).unwrap()]),
            RollRule::Fixed(Vec::new()),
        ] {
            assert_eq!(r.to_string().parse::<RollRule>(), Ok(r));
        }
        assert_eq!(
            "fixed".parse::<RollRule>(),
            Err(RollRuleError::FixedWithoutDates("fixed".into()))
        );
        assert_eq!(
            "fixed:2013-13-01".parse::<RollRule>(),
            Err(RollRuleError::BadFixedDate("2013-13-01".into()))
        );
        let e = "weekly".parse::<RollRule>().unwrap_err().to_string();
        assert_eq!(
            e,
            "`weekly` is not one of calendar, volume, open_interest, fixed"
        );
        assert!("volume:3".parse::<RollRule>().is_err());
    }

    #[test]
    fn roll_cycles_parse_month_codes() {
        let gc: RollCycle = "GJMQVZ".parse().unwrap();
        assert_eq!(gc.months().collect::<Vec<_>>(), [2, 4, 6, 8, 10, 12]);
        assert_eq!("all".parse::<RollCycle>(), Ok(RollCycle::ALL));
        assert_eq!(RollCycle::ALL.to_string(), "FGHJKMNQUVXZ");
        assert_eq!("hmuz".parse::<RollCycle>(), Ok(RollCycle::QUARTERLY));
        assert_eq!("".parse::<RollCycle>(), Err(RollCycleError::Empty));
        assert!(matches!(
            "HMAZ".parse::<RollCycle>(),
            Err(RollCycleError::BadCode { code: 'A', .. })
        ));
        assert!(matches!(
            "HMHZ".parse::<RollCycle>(),
            Err(RollCycleError::Repeated { code: 'H', .. })
        ));
        assert_eq!(RollCycle::from_months([0]), None);
        assert_eq!(RollCycle::from_months([]), None);
        assert!(!gc.contains(13) && !gc.contains(0));
    }

    proptest! {
        #[test]
        fn every_month_set_round_trips(bits in 1u16..0x1000) {
            let cycle = RollCycle::from_months((1..=12).filter(|m| bits & (1 << (m - 1)) != 0)).unwrap();
            prop_assert_eq!(cycle.to_string().parse::<RollCycle>(), Ok(cycle));
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<RollCycle>();
            let _ = s.parse::<RollRule>();
            let _ = s.parse::<Adjust>();
        }
    }
}
