//! Time ranges and the user's ways of naming them (absolute bounds or presets).
//!
//! All ranges are half-open `[start, end)` in UTC epoch seconds. A bound given as a bare date
//! is resolved per series: in the exchange timezone for intraday series, and as the date key
//! itself for daily series (daily bars are keyed by their trading date at 00:00 UTC). A date
//! used as `end` includes that whole day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::bar::Resolution;

/// Why a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeRangeError {
    #[error("end {end} is not after start {start}")]
    EndBeforeStart { start: String, end: String },
    #[error("`{0}` is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")]
    BadInstant(String),
    #[error("`{0}` is not a preset (ytd, last_N_days, last_N_months, last_N_bars)")]
    BadPreset(String),
    #[error("give either start/end or a preset, not both")]
    PresetAndBounds,
    #[error("give a start (or a preset)")]
    MissingStart,
}

/// A checked half-open UTC range `[start, end)`, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    start: i64,
    end: i64,
}

impl TimeRange {
    pub fn new(start: i64, end: i64) -> Result<Self, TimeRangeError> {
        if end <= start {
            return Err(TimeRangeError::EndBeforeStart {
                start: rfc3339(start),
                end: rfc3339(end),
            });
        }
        Ok(TimeRange { start, end })
    }
    pub fn start(&self) -> i64 {
        self.start
    }
    pub fn end(&self) -> i64 {
        self.end
    }
    pub fn contains(&self, ts: i64) -> bool {
        self.start <= ts && ts < self.end
    }
}

/// Format epoch seconds as RFC 3339 UTC (`2013-10-07T13:30:00Z`).
pub fn rfc3339(ts: i64) -> String {
    match DateTime::<Utc>::from_timestamp(ts, 0) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => ts.to_string(),
    }
}

/// One end of a user range: an instant or a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    Instant(i64),
    Date(NaiveDate),
}

impl FromStr for TimeBound {
    type Err = TimeRangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(TimeBound::Date(d));
        }
        DateTime::parse_from_rfc3339(t)
            .map(|dt| TimeBound::Instant(dt.timestamp()))
            .map_err(|_| TimeRangeError::BadInstant(s.to_string()))
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::Instant(ts) => f.write_str(&rfc3339(*ts)),
            TimeBound::Date(d) => write!(f, "{d}"),
        }
    }
}

impl TimeBound {
    /// UTC seconds of the start of this bound for a series (`end_of_day` moves a date to the next midnight).
    fn resolve(self, tz: Tz, resolution: Resolution, end_of_day: bool) -> i64 {
        match self {
            TimeBound::Instant(ts) => ts,
            TimeBound::Date(d) => {
                let d = if end_of_day {
                    d.succ_opt().unwrap_or(d)
                } else {
                    d
                };
                match resolution {
                    Resolution::Day => date_key(d),
                    Resolution::Minute => local_midnight(tz, d),
                }
            }
        }
    }
}

/// The key of a daily bar: its date at 00:00 UTC.
pub fn date_key(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

/// The UTC calendar date of epoch seconds (the date of a daily bar's key).
pub fn utc_date(ts: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(ts, 0).map_or(NaiveDate::MIN, |t| t.date_naive())
}

/// UTC seconds of local midnight of `d` in `tz` (the first valid instant of that day).
pub fn local_midnight(tz: Tz, d: NaiveDate) -> i64 {
    let naive = d.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.timestamp(),
        // Midnight skipped by a DST jump: the day starts one hour later.
        None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map_or_else(|| naive.and_utc().timestamp(), |t| t.timestamp()),
    }
}

/// A relative range, resolved against an `as_of` instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// From January 1 (exchange time) of the `as_of` year.
    YearToDate,
    LastDays(u32),
    LastMonths(u32),
    /// The last N bars at or before `as_of`.
    LastBars(u32),
}

impl FromStr for Preset {
    type Err = TimeRangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "ytd" {
            return Ok(Preset::YearToDate);
        }
        let bad = || TimeRangeError::BadPreset(s.to_string());
        let mut parts = t.split('_');
        let (Some("last"), Some(n), Some(unit), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let n: u32 = n.parse().map_err(|_| bad())?;
        if n == 0 || n > 1_000_000 {
            return Err(bad());
        }
        match unit {
            "days" | "day" => Ok(Preset::LastDays(n)),
            "months" | "month" => Ok(Preset::LastMonths(n)),
            "bars" | "bar" => Ok(Preset::LastBars(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::YearToDate => f.write_str("ytd"),
            Preset::LastDays(n) => write!(f, "last_{n}_days"),
            Preset::LastMonths(n) => write!(f, "last_{n}_months"),
            Preset::LastBars(n) => write!(f, "last_{n}_bars"),
        }
    }
}

/// How a request names its range: absolute bounds or a preset, plus the instant presets are
/// measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    Absolute {
        start: TimeBound,
        end: Option<TimeBound>,
    },
    Preset {
        preset: Preset,
        /// `None`: the request's `now`.
        as_of: Option<TimeBound>,
    },
}

/// A range resolved for one series: the UTC range to read and, for `last_N_bars`, a bar limit
/// counted back from the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesWindow {
    pub range: TimeRange,
    pub last_bars: Option<u32>,
}

impl RangeSpec {
    /// Build from the optional request fields; `now` is used when neither `end` nor `as_of` is given.
    pub fn from_parts(
        start: Option<&str>,
        end: Option<&str>,
        preset: Option<&str>,
        as_of: Option<&str>,
        now: i64,
    ) -> Result<Self, TimeRangeError> {
        let as_of = as_of.map(str::parse::<TimeBound>).transpose()?;
        match (preset, start) {
            (Some(_), Some(_)) => Err(TimeRangeError::PresetAndBounds),
            (Some(_), None) if end.is_some() => Err(TimeRangeError::PresetAndBounds),
            (Some(p), None) => Ok(RangeSpec::Preset {
                preset: p.parse()?,
                as_of,
            }),
            (None, Some(s)) => {
                let spec = RangeSpec::Absolute {
                    start: s.parse()?,
                    end: end.map(str::parse).transpose()?,
                };
                // Check ordering once, independent of timezone, so bad input fails early; the
                // message names the bounds as the user wrote them.
                spec.window(chrono_tz::UTC, Resolution::Minute, now)
                    .map_err(|_| TimeRangeError::EndBeforeStart {
                        start: s.trim().to_string(),
                        end: end.map_or_else(|| "now".to_string(), |e| e.trim().to_string()),
                    })?;
                Ok(spec)
            }
            (None, None) => Err(TimeRangeError::MissingStart),
        }
    }

    /// Resolve for a series in `tz` stored at `resolution`.
    pub fn window(
        &self,
        tz: Tz,
        resolution: Resolution,
        now: i64,
    ) -> Result<SeriesWindow, TimeRangeError> {
        let (start, end) = self.bounds(tz, now);
        let s = start.resolve(tz, resolution, false);
        let e = end.map_or(now + 1, |e| e.resolve(tz, resolution, true));
        let last_bars = match self {
            RangeSpec::Preset {
                preset: Preset::LastBars(n),
                ..
            } => Some(*n),
            _ => None,
        };
        Ok(SeriesWindow {
            range: TimeRange::new(s, e)?,
            last_bars,
        })
    }

    /// The range as two bounds for a series in `tz`: presets become a start date and their
    /// `as_of` (a date includes that whole day; an instant is inclusive). `None` ends at `now`.
    pub fn bounds(&self, tz: Tz, now: i64) -> (TimeBound, Option<TimeBound>) {
        match *self {
            RangeSpec::Absolute { start, end } => (start, end),
            RangeSpec::Preset { preset, as_of } => {
                let local_date = |ts: i64| {
                    tz.timestamp_opt(ts, 0).single().map_or_else(
                        || NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"),
                        |t| t.date_naive(),
                    )
                };
                let (local, end) = match as_of {
                    Some(TimeBound::Date(d)) => (d, TimeBound::Date(d)),
                    Some(TimeBound::Instant(t)) => (local_date(t), TimeBound::Instant(t + 1)),
                    None => (local_date(now), TimeBound::Instant(now + 1)),
                };
                let start_date = match preset {
                    Preset::YearToDate => NaiveDate::from_ymd_opt(local.year(), 1, 1),
                    // `last_1_days` is today: N calendar days including the as-of day.
                    Preset::LastDays(n) => {
                        local.checked_sub_days(chrono::Days::new(u64::from(n - 1)))
                    }
                    Preset::LastMonths(n) => local.checked_sub_months(Months::new(n)),
                    Preset::LastBars(_) => NaiveDate::from_ymd_opt(1900, 1, 1),
                }
                .unwrap_or(NaiveDate::MIN);
                (TimeBound::Date(start_date), Some(end))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn dates_resolve_per_series() {
        let spec =
            RangeSpec::from_parts(Some("2013-01-01"), Some("2013-12-31"), None, None, 0).unwrap();
        let daily = spec.window(New_York, Resolution::Day, 0).unwrap().range;
        assert_eq!(
            (daily.start(), daily.end()),
            (ts("2013-01-01T00:00:00Z"), ts("2014-01-01T00:00:00Z"))
        );
        let minute = spec.window(New_York, Resolution::Minute, 0).unwrap().range;
        assert_eq!(
            (minute.start(), minute.end()),
            (ts("2013-01-01T05:00:00Z"), ts("2014-01-01T05:00:00Z"))
        );
    }

    #[test]
    fn instants_are_taken_as_given() {
        let spec = RangeSpec::from_parts(
            Some("2013-10-07T13:30:00Z"),
            Some("2013-10-07T14:00:00-04:00"),
            None,
            None,
            0,
        )
        .unwrap();
        let r = spec.window(New_York, Resolution::Minute, 0).unwrap().range;
        assert_eq!(
            (r.start(), r.end()),
            (ts("2013-10-07T13:30:00Z"), ts("2013-10-07T18:00:00Z"))
        );
    }

    #[test]
    fn refuses_end_before_start_and_garbage() {
        assert!(matches!(
            RangeSpec::from_parts(Some("2013-12-31"), Some("2013-01-01"), None, None, 0),
            Err(TimeRangeError::EndBeforeStart { .. })
        ));
        assert!(matches!(
            RangeSpec::from_parts(Some("yesterday"), None, None, None, 0),
            Err(TimeRangeError::BadInstant(_))
        ));
        assert_eq!(
            RangeSpec::from_parts(None, None, None, None, 0),
            Err(TimeRangeError::MissingStart)
        );
        assert_eq!(
            RangeSpec::from_parts(Some("2013-01-01"), None, Some("ytd"), None, 0),
            Err(TimeRangeError::PresetAndBounds)
        );
        assert!(TimeRange::new(5, 5).is_err());
    }

    #[test]
    fn presets_parse_and_display() {
        for s in ["ytd", "last_30_days", "last_6_months", "last_500_bars"] {
            assert_eq!(s.parse::<Preset>().unwrap().to_string(), s);
        }
        for bad in [
            "last_0_days",
            "last_x_days",
            "last_3_weeks",
            "next_3_days",
            "last_3",
            "",
        ] {
            assert!(bad.parse::<Preset>().is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_resolve_against_as_of() {
        let spec = RangeSpec::from_parts(None, None, Some("ytd"), Some("2013-06-30T20:00:00Z"), 0)
            .unwrap();
        let w = spec.window(New_York, Resolution::Day, 0).unwrap();
        assert_eq!(w.range.start(), ts("2013-01-01T00:00:00Z"));
        assert_eq!(w.range.end(), ts("2013-06-30T20:00:01Z"));
        // As-of a date includes that whole day.
        let spec =
            RangeSpec::from_parts(None, None, Some("last_30_days"), Some("2013-10-31"), 0).unwrap();
        let w = spec.window(New_York, Resolution::Day, 0).unwrap();
        assert_eq!(w.range.start(), ts("2013-10-02T00:00:00Z"));
        let spec = RangeSpec::from_parts(
            None,
            None,
            Some("last_10_bars"),
            None,
            ts("2020-01-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            spec.window(New_York, Resolution::Day, 0).unwrap().last_bars,
            Some(10)
        );
    }

    #[test]
    fn dst_spring_forward_midnight() {
        // America/Sao_Paulo skipped midnight on 2018-11-04; the day starts at 01:00 local.
        let d = NaiveDate::from_ymd_opt(2018, 11, 4).unwrap();
        assert_eq!(
            local_midnight(chrono_tz::America::Sao_Paulo, d),
            ts("2018-11-04T01:00:00-02:00")
        );
    }
}
