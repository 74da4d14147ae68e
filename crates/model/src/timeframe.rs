//! Bar frequencies: `1m 5m 10m 15m 30m 1h 2h 4h 1d 2d 1w 1M` and any custom `N{s,m,h,d,w,M}`.
//!
//! Units are case-sensitive: `m` is minutes, `M` is months. `Display` writes back exactly the
//! canonical string, so `parse` and `to_string` round-trip.

use std::{fmt, str::FromStr};

/// The unit of a [`Timeframe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl TimeUnit {
    pub const fn suffix(self) -> char {
        match self {
            TimeUnit::Second => 's',
            TimeUnit::Minute => 'm',
            TimeUnit::Hour => 'h',
            TimeUnit::Day => 'd',
            TimeUnit::Week => 'w',
            TimeUnit::Month => 'M',
        }
    }

    fn from_suffix(c: char) -> Option<Self> {
        Some(match c {
            's' => TimeUnit::Second,
            'm' => TimeUnit::Minute,
            'h' => TimeUnit::Hour,
            'd' => TimeUnit::Day,
            'w' => TimeUnit::Week,
            'M' => TimeUnit::Month,
            _ => return None,
        })
    }

    /// Human name, singular.
    pub const fn name(self) -> &'static str {
        match self {
            TimeUnit::Second => "second",
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
        }
    }
}

/// Why a frequency string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeframeError {
    #[error("empty frequency")]
    Empty,
    #[error(
        "frequency `{0}` must be a positive count followed by one of s m h d w M (e.g. 5m, 1h, 1d, 1M)"
    )]
    Malformed(String),
    #[error("frequency `{0}` has a count of zero")]
    Zero(String),
    #[error("frequency `{0}` is too large")]
    TooLarge(String),
}

/// A bar frequency: a positive count of a [`TimeUnit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeframe {
    count: u32,
    unit: TimeUnit,
}

/// Largest count accepted for any unit (keeps every fixed-length frequency below ~100 years).
const MAX_COUNT: u32 = 100_000;

impl Timeframe {
    /// The standard frequencies, in ascending order.
    pub const STANDARD: [Timeframe; 12] = [
        Timeframe::of(1, TimeUnit::Minute),
        Timeframe::of(5, TimeUnit::Minute),
        Timeframe::of(10, TimeUnit::Minute),
        Timeframe::of(15, TimeUnit::Minute),
        Timeframe::of(30, TimeUnit::Minute),
        Timeframe::of(1, TimeUnit::Hour),
        Timeframe::of(2, TimeUnit::Hour),
        Timeframe::of(4, TimeUnit::Hour),
        Timeframe::of(1, TimeUnit::Day),
        Timeframe::of(2, TimeUnit::Day),
        Timeframe::of(1, TimeUnit::Week),
        Timeframe::of(1, TimeUnit::Month),
    ];

    const fn of(count: u32, unit: TimeUnit) -> Self {
        Timeframe { count, unit }
    }

    /// A checked timeframe (`count` in `1..=100000`).
    pub fn new(count: u32, unit: TimeUnit) -> Result<Self, TimeframeError> {
        let tf = Timeframe { count, unit };
        match count {
            0 => Err(TimeframeError::Zero(tf.to_string())),
            c if c > MAX_COUNT => Err(TimeframeError::TooLarge(tf.to_string())),
            _ => Ok(tf),
        }
    }

    pub fn count(&self) -> u32 {
        self.count
    }
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// Fixed length in seconds for `s m h d w`; `None` for months (calendar length varies).
    /// Day and week are nominal lengths; real daily bars follow trading sessions.
    pub fn fixed_seconds(&self) -> Option<i64> {
        let per = match self.unit {
            TimeUnit::Second => 1,
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3_600,
            TimeUnit::Day => 86_400,
            TimeUnit::Week => 7 * 86_400,
            TimeUnit::Month => return None,
        };
        Some(per * i64::from(self.count))
    }

    /// True for frequencies shorter than a day (bucketed within sessions).
    pub fn is_intraday(&self) -> bool {
        matches!(
            self.unit,
            TimeUnit::Second | TimeUnit::Minute | TimeUnit::Hour
        )
    }

    /// Human label, e.g. `5 minutes`, `1 month`.
    pub fn label(&self) -> String {
        let plural = if self.count == 1 { "" } else { "s" };
        format!("{} {}{}", self.count, self.unit.name(), plural)
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.suffix())
    }
}

impl FromStr for Timeframe {
    type Err = TimeframeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TimeframeError::Empty);
        }
        let malformed = || TimeframeError::Malformed(s.to_string());
        let mut chars = s.chars();
        let unit = chars
            .next_back()
            .and_then(TimeUnit::from_suffix)
            .ok_or_else(malformed)?;
        let digits = chars.as_str();
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0') && digits.len() > 1
        {
            return Err(malformed());
        }
        let count: u32 = digits
            .parse()
            .map_err(|_| TimeframeError::TooLarge(s.to_string()))?;
        Timeframe::new(count, unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn standard_frequencies_parse_and_display() {
        let names = [
            "1m", "5m", "10m", "15m", "30m", "1h", "2h", "4h", "1d", "2d", "1w", "1M",
        ];
        for (name, tf) in names.iter().zip(Timeframe::STANDARD) {
            assert_eq!(name.parse::<Timeframe>().unwrap(), tf);
            assert_eq!(tf.to_string(), *name);
        }
    }

    #[test]
    fn minutes_and_months_differ_by_case() {
        let m: Timeframe = "1m".parse().unwrap();
        let mo: Timeframe = "1M".parse().unwrap();
        assert_eq!(m.fixed_seconds(), Some(60));
        assert_eq!(mo.fixed_seconds(), None);
        assert_eq!(mo.label(), "1 month");
        assert_eq!("90s".parse::<Timeframe>().unwrap().label(), "90 seconds");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "m",
            "5",
            "5x",
            "-5m",
            "5 m",
            "05m",
            "1.5h",
            "0m",
            "999999999999m",
            "1000001d",
            "m5",
        ] {
            assert!(bad.parse::<Timeframe>().is_err(), "{bad} should be refused");
        }
        assert_eq!(
            "0h".parse::<Timeframe>(),
            Err(TimeframeError::Zero("0h".into()))
        );
    }

    #[test]
    fn huge_and_zero_counts_are_errors_not_panics() {
        assert_eq!(
            "99999999999M".parse::<Timeframe>(),
            Err(TimeframeError::TooLarge("99999999999M".into()))
        );
        assert_eq!(
            "0m".parse::<Timeframe>(),
            Err(TimeframeError::Zero("0m".into()))
        );
        assert_eq!(
            Timeframe::new(100_001, TimeUnit::Week),
            Err(TimeframeError::TooLarge("100001w".into()))
        );
        // The largest count of every unit has a fixed length well inside i64.
        let w = Timeframe::new(100_000, TimeUnit::Week).unwrap();
        assert_eq!(w.fixed_seconds(), Some(100_000 * 7 * 86_400));
    }

    #[test]
    fn intraday_split() {
        assert!("4h".parse::<Timeframe>().unwrap().is_intraday());
        assert!(!"1d".parse::<Timeframe>().unwrap().is_intraday());
        assert!(!"1w".parse::<Timeframe>().unwrap().is_intraday());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(count in 1u32..=100_000, unit in 0usize..6) {
            let units = [TimeUnit::Second, TimeUnit::Minute, TimeUnit::Hour, TimeUnit::Day, TimeUnit::Week, TimeUnit::Month];
            let tf = Timeframe::new(count, units[unit]).unwrap();
            prop_assert_eq!(tf.to_string().parse::<Timeframe>().unwrap(), tf);
        }
    }
}
