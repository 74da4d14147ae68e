//! Time ranges and the user's ways of naming them (absolute bounds or presets).
//!
//! All ranges are half-open `[start, end)` in UTC epoch seconds. A bound given as a bare date
//! is resolved per series: in the exchange timezone for intraday series, and as the date key
//! itself for daily series (daily bars are keyed by their trading date at 00:00 UTC). A date
//! used as `end` includes that whole day.
//!
//! User input is limited to the supported span [`FIRST_DATE`]..=[`LAST_DATE`]
//! (1900-01-01..2100-12-31): dates outside it, and instants outside
//! `[FIRST_TS, END_TS)`, are refused by [`TimeBound::from_str`] with
//! [`TimeRangeError::OutOfSpan`], so no year ever prints as `+10000` and no New York time
//! falls into the local-mean-time era before 1883. Presets never start before 1900-01-01.
//!
//! ```
//! use tradeassist_model::{TimeBound, TimeRangeError};
//!
//! assert!("2100-12-31".parse::<TimeBound>().is_ok());
//! let e = "10000-01-01".parse::<TimeBound>().unwrap_err();
//! assert!(matches!(e, TimeRangeError::OutOfSpan(_)));
//! assert_eq!(e.to_string(), "`10000-01-01` is outside the supported dates 1900-01-01..2100-12-31");
//! assert!("1850-06-01T12:00:00-04:56".parse::<TimeBound>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::bar::Resolution;

/// First date of the supported span (inclusive).
pub const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
/// Last date of the supported span (inclusive).
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2100, 12, 31).expect("valid date");
/// UTC seconds of 1900-01-01T00:00:00Z, the first supported instant.
pub const FIRST_TS: i64 = -2_208_988_800;
/// UTC seconds of 2101-01-01T00:00:00Z, the end (exclusive) of the supported instants.
pub const END_TS: i64 = 4_133_980_800;
/// Largest `N` of the presets `last_N_days`, `last_N_months` and `last_N_bars`.
pub const MAX_PRESET_COUNT: u32 = 1_000_000;

/// Why a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeRangeError {
    #[error("end {end} is not after start {start}")]
    EndBeforeStart { start: String, end: String },
    #[error("`{0}` is not a date (YYYY-MM-DD) or an RFC 3339 timestamp")]
    BadInstant(String),
    #[error("`{0}` is not a preset (ytd, last_N_days, last_N_months, last_N_bars)")]
    BadPreset(String),
    #[error("`{0}`: the count of a preset must be 1..=1000000")]
    PresetOutOfRange(String),
    #[error("`{0}` is outside the supported dates 1900-01-01..2100-12-31")]
    OutOfSpan(String),
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
    /// A date `YYYY-MM-DD` in 1900-01-01..=2100-12-31 or an RFC 3339 timestamp in
    /// `[1900-01-01T00:00:00Z, 2101-01-01T00:00:00Z)`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bound = match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) => TimeBound::Date(d),
            Err(_) => match DateTime::parse_from_rfc3339(t) {
                Ok(dt) => TimeBound::Instant(dt.timestamp()),
                // Years beyond 9999 or before 0 are not RFC 3339, but they are dates the
                // user meant: say that they are out of span rather than malformed.
                Err(_) if looks_like_far_year(t) => {
                    return Err(TimeRangeError::OutOfSpan(s.to_string()));
                }
                Err(_) => return Err(TimeRangeError::BadInstant(s.to_string())),
            },
        };
        if bound.in_span() {
            Ok(bound)
        } else {
            Err(TimeRangeError::OutOfSpan(s.to_string()))
        }
    }
}

/// `[+-]YYYYY-...`: a date-like text whose year has a sign or more than four digits.
fn looks_like_far_year(t: &str) -> bool {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 4 || (digits > 0 && body.len() < t.len()))
        && body.as_bytes().get(digits) == Some(&b'-')
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
    /// True when the bound lies in the supported span: a date in
    /// [`FIRST_DATE`]..=[`LAST_DATE`], an instant in `[FIRST_TS, END_TS)`.
    pub fn in_span(&self) -> bool {
        match *self {
            TimeBound::Date(d) => (FIRST_DATE..=LAST_DATE).contains(&d),
            TimeBound::Instant(ts) => (FIRST_TS..END_TS).contains(&ts),
        }
    }

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
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n = match n.parse::<u32>() {
            Ok(n) if (1..=MAX_PRESET_COUNT).contains(&n) => n,
            _ => return Err(TimeRangeError::PresetOutOfRange(s.to_string())),
        };
        if !matches!(unit, "days" | "day" | "months" | "month" | "bars" | "bar") {
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
        let e = end.map_or(now.saturating_add(1), |e| e.resolve(tz, resolution, true));
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
                    // Outside the supported span a bound is never local: clamp first, so
                    // the local time is always representable.
                    let ts = ts.clamp(FIRST_TS, END_TS);
                    tz.timestamp_opt(ts, 0).single().map_or_else(
                        || NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"),
                        |t| t.date_naive(),
                    )
                };
                let (local, end) = match as_of {
                    Some(TimeBound::Date(d)) => (d, TimeBound::Date(d)),
                    Some(TimeBound::Instant(t)) => {
                        (local_date(t), TimeBound::Instant(t.saturating_add(1)))
                    }
                    None => (local_date(now), TimeBound::Instant(now.saturating_add(1))),
                };
                let start_date = match preset {
                    Preset::YearToDate => NaiveDate::from_ymd_opt(local.year(), 1, 1),
                    // `last_1_days` is today: N calendar days including the as-of day.
                    Preset::LastDays(n) => {
                        local.checked_sub_days(chrono::Days::new(u64::from(n - 1)))
                    }
                    Preset::LastMonths(n) => local.checked_sub_months(Months::new(n)),
                    Preset::LastBars(_) => Some(FIRST_DATE),
                }
                .map_or(FIRST_DATE, |d| d.max(FIRST_DATE));
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
    fn year_10000_is_refused_instead_of_printing_plus_10000() {
        for bad in [
            "10000-01-01",
            "+10000-01-01",
            "10000-01-01T00:00:00Z",
            "-0001-01-01",
            "0000-01-01",
            "2101-01-01",
            "2101-01-01T00:00:00Z",
            "1899-12-31",
            "1899-12-31T23:59:59Z",
        ] {
            let e = bad.parse::<TimeBound>().unwrap_err();
            assert_eq!(e, TimeRangeError::OutOfSpan(bad.to_string()), "{bad}");
            assert!(e.to_string().contains("1900-01-01..2100-12-31"), "{e}");
        }
        let e = RangeSpec::from_parts(Some("2013-01-01"), Some("10000-01-01"), None, None, 0)
            .unwrap_err();
        assert_eq!(e, TimeRangeError::OutOfSpan("10000-01-01".into()));
    }

    #[test]
    fn pre_1883_new_york_local_mean_times_are_refused() {
        // Before 1883-11-18 New York kept local mean time (UTC-4:56:02): such instants are
        // outside the span, so no offset like -04:56 is ever printed.
        for bad in [
            "1850-06-01T12:00:00-04:56",
            "1883-01-01",
            "1700-01-01T00:00:00Z",
        ] {
            assert!(matches!(
                bad.parse::<TimeBound>(),
                Err(TimeRangeError::OutOfSpan(_))
            ));
        }
    }

    #[test]
    fn span_edges_are_accepted() {
        assert_eq!(
            "1900-01-01".parse::<TimeBound>(),
            Ok(TimeBound::Date(FIRST_DATE))
        );
        assert_eq!(
            "2100-12-31".parse::<TimeBound>(),
            Ok(TimeBound::Date(LAST_DATE))
        );
        assert_eq!(
            "1900-01-01T00:00:00Z".parse::<TimeBound>(),
            Ok(TimeBound::Instant(FIRST_TS))
        );
        assert_eq!(
            "2100-12-31T23:59:59Z".parse::<TimeBound>(),
            Ok(TimeBound::Instant(END_TS - 1))
        );
        assert_eq!(rfc3339(FIRST_TS), "1900-01-01T00:00:00Z");
        assert_eq!(rfc3339(END_TS), "2101-01-01T00:00:00Z");
        assert_eq!((LAST_DATE - FIRST_DATE).num_days() + 1, 73_414);
        // Garbage is still malformed, not out of span.
        assert!(matches!(
            "2013-1x-01".parse::<TimeBound>(),
            Err(TimeRangeError::BadInstant(_))
        ));
    }

    #[test]
    fn presets_never_start_before_1900() {
        let spec =
            RangeSpec::from_parts(None, None, Some("last_1000000_days"), Some("2013-10-31"), 0)
                .unwrap();
        assert_eq!(spec.bounds(New_York, 0).0, TimeBound::Date(FIRST_DATE));
        let spec = RangeSpec::from_parts(None, None, Some("last_3_months"), Some("1900-02-01"), 0)
            .unwrap();
        assert_eq!(spec.bounds(New_York, 0).0, TimeBound::Date(FIRST_DATE));
        assert_eq!(
            "last_1000001_days".parse::<Preset>(),
            Err(TimeRangeError::PresetOutOfRange("last_1000001_days".into()))
        );
        assert_eq!(
            "last_99999999999_bars".parse::<Preset>(),
            Err(TimeRangeError::PresetOutOfRange(
                "last_99999999999_bars".into()
            ))
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_range_input_never_panics(
            start in proptest::option::of(".{0,30}"),
            end in proptest::option::of("[0-9+-]{1,6}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?"),
            preset in proptest::option::of("(ytd|last_[0-9]{1,12}_(days|months|bars))"),
            as_of in proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2}"),
            now in proptest::prelude::any::<i64>(),
        ) {
            if let Ok(spec) = RangeSpec::from_parts(start.as_deref(), end.as_deref(), preset.as_deref(), as_of.as_deref(), now) {
                for res in [Resolution::Minute, Resolution::Day] {
                    if let Ok(w) = spec.window(New_York, res, now) {
                        proptest::prop_assert!(w.range.start() < w.range.end());
                    }
                }
            }
        }
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
