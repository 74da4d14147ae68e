//! Trading calendars: session templates kept as data (`calendars.toml`) plus a small rule
//! interpreter.
//!
//! A [`Calendar`] knows, for every date, whether it is a trading day and what its session is
//! in UTC seconds, computed from local exchange times through the IANA timezone database
//! (DST is never a fixed offset). The trading day of a CME Globex session is the day it
//! closes: trading day `D` runs from 17:00 CT on `D-1` to 16:00 CT on `D`.
//!
//! ```
//! use chrono::NaiveDate;
//! use tradeassist_engine::{Calendar, SessionFilter};
//!
//! let nyse = Calendar::get("us_equity").unwrap();
//! let thanksgiving = NaiveDate::from_ymd_opt(2013, 11, 28).unwrap();
//! assert!(!nyse.is_trading_day(thanksgiving));
//! let friday = nyse.session(thanksgiving.succ_opt().unwrap(), SessionFilter::Regular).unwrap();
//! assert_eq!(friday.close() - friday.open(), 3 * 3600 + 30 * 60); // 09:30-13:00 ET
//!
//! let es = Calendar::get("cme_equity").unwrap();
//! let monday = NaiveDate::from_ymd_opt(2013, 10, 7).unwrap();
//! let s = es.session(monday, SessionFilter::All).unwrap();
//! assert_eq!(s.open(), 1_381_096_800); // Sunday 2013-10-06 17:00 CDT = 22:00 UTC
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use tradeassist_model::TimeRange;

use crate::EngineError;

/// The calendar data file, embedded at build time.
const CALENDAR_DATA: &str = include_str!("../calendars.toml");

/// First and last year for which rule-based closures are precomputed.
const FIRST_YEAR: i32 = 1950;
const LAST_YEAR: i32 = 2100;

/// Which part of the trading day a request covers (defined in the model, where stores use it
/// as a key; re-exported here at its old path).
pub use tradeassist_model::SessionFilter;

/// One trading session in UTC seconds: `[open, close)` minus its breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    date: NaiveDate,
    open: i64,
    close: i64,
    breaks: Vec<TimeRange>,
}

impl Session {
    /// The trading day this session belongs to.
    pub fn date(&self) -> NaiveDate {
        self.date
    }
    /// UTC seconds of the open (inclusive).
    pub fn open(&self) -> i64 {
        self.open
    }
    /// UTC seconds of the close (exclusive).
    pub fn close(&self) -> i64 {
        self.close
    }
    /// Intra-session breaks (halts) in which no trading happens, ascending.
    pub fn breaks(&self) -> &[TimeRange] {
        &self.breaks
    }
    /// True when `ts` is inside the session and not in a break.
    pub fn is_open_at(&self, ts: i64) -> bool {
        self.open <= ts && ts < self.close && !self.breaks.iter().any(|b| b.contains(ts))
    }
}

/// A trading calendar (session template). Obtain one with [`Calendar::get`].
#[derive(Debug)]
pub struct Calendar {
    id: String,
    name: String,
    aliases: Vec<String>,
    tz: Tz,
    weekdays: [bool; 7],
    curated_years: (i32, i32),
    eras: Vec<Hours>,
    /// Full-day closures on otherwise trading weekdays, ascending.
    closed: Vec<NaiveDate>,
    early: BTreeMap<NaiveDate, EarlyClose>,
}

#[derive(Debug, Clone)]
struct Window {
    open: NaiveTime,
    open_previous_day: bool,
    close: NaiveTime,
}

#[derive(Debug, Clone)]
struct Hours {
    from: NaiveDate,
    regular: Window,
    extended: Option<Window>,
    breaks: Vec<(NaiveTime, NaiveTime)>,
}

#[derive(Debug, Clone, Copy)]
struct EarlyClose {
    close: NaiveTime,
    extended_close: Option<NaiveTime>,
}

static CALENDARS: OnceLock<Result<Vec<Calendar>, EngineError>> = OnceLock::new();

fn all() -> Result<&'static [Calendar], EngineError> {
    CALENDARS
        .get_or_init(|| parse_calendars(CALENDAR_DATA))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

impl Calendar {
    /// The calendar template with this id or alias (e.g. `us_equity`, `cme_equity`, `cme_fx`).
    pub fn get(id: &str) -> Result<&'static Calendar, EngineError> {
        all()?
            .iter()
            .find(|c| c.id == id || c.aliases.iter().any(|a| a == id))
            .ok_or_else(|| EngineError::UnknownCalendar(id.to_string()))
    }

    /// Every id (and alias) that [`Calendar::get`] accepts.
    pub fn ids() -> Vec<&'static str> {
        all()
            .map(|cals| {
                cals.iter()
                    .flat_map(|c| {
                        std::iter::once(c.id.as_str()).chain(c.aliases.iter().map(String::as_str))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Template id (the canonical one, not an alias).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Human name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The exchange timezone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }
    /// Years (inclusive) whose one-off closures and early closes were curated; outside them
    /// only the rules apply.
    pub fn curated_years(&self) -> (i32, i32) {
        self.curated_years
    }

    /// True when `date` has a session (early-close days are trading days).
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        self.weekdays[date.weekday().num_days_from_monday() as usize]
            && self.closed.binary_search(&date).is_err()
    }

    /// The first trading day on or after `date`; `NaiveDate::MAX` when there is none before
    /// the end of the representable dates (never panics).
    pub fn next_trading_day(&self, date: NaiveDate) -> NaiveDate {
        self.checked_next_trading_day(date)
            .unwrap_or(NaiveDate::MAX)
    }

    /// The last trading day on or before `date`; `NaiveDate::MIN` when there is none after
    /// the start of the representable dates (never panics).
    pub fn prev_trading_day(&self, date: NaiveDate) -> NaiveDate {
        self.checked_prev_trading_day(date)
            .unwrap_or(NaiveDate::MIN)
    }

    /// The first trading day on or after `date`, `None` past the last representable date.
    pub fn checked_next_trading_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        while !self.is_trading_day(d) {
            d = d.succ_opt()?;
        }
        Some(d)
    }

    /// The last trading day on or before `date`, `None` before the first representable date.
    pub fn checked_prev_trading_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        while !self.is_trading_day(d) {
            d = d.pred_opt()?;
        }
        Some(d)
    }

    /// The last trading day strictly before `date` (saturating like
    /// [`Calendar::prev_trading_day`]).
    pub fn trading_day_before(&self, date: NaiveDate) -> NaiveDate {
        date.pred_opt()
            .map_or(NaiveDate::MIN, |d| self.prev_trading_day(d))
    }

    /// The first trading day strictly after `date` (saturating like
    /// [`Calendar::next_trading_day`]).
    pub fn trading_day_after(&self, date: NaiveDate) -> NaiveDate {
        date.succ_opt()
            .map_or(NaiveDate::MAX, |d| self.next_trading_day(d))
    }

    /// The trading day `n` trading days before trading day `date` (`n = 0`: `date` itself),
    /// in `O(n)`; `None` when that lies before the first representable date.
    pub fn trading_days_back(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        let mut d = self.checked_prev_trading_day(date)?;
        for _ in 0..n {
            d = self.checked_prev_trading_day(d.pred_opt()?)?;
        }
        Some(d)
    }

    /// The trading day with [`Calendar::trading_day_index`] `index` (the first trading day
    /// `d` with `trading_day_index(d) == index`), found by bisection in `O(log)` steps.
    /// Saturates at the ends of the representable dates.
    pub fn trading_day_at_index(&self, index: i64) -> NaiveDate {
        // trading_day_index is non-decreasing in the date and grows by one after each
        // trading day: the wanted day is the last date whose index is <= `index`, moved to
        // the trading day on or before it.
        let (mut lo, mut hi) = (
            i64::from(NaiveDate::MIN.num_days_from_ce()),
            i64::from(NaiveDate::MAX.num_days_from_ce()),
        );
        let date = |n: i64| {
            i32::try_from(n)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .unwrap_or(NaiveDate::MAX)
        };
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            if self.trading_day_index(date(mid)) <= index {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        self.prev_trading_day(date(lo))
    }

    /// Number of trading days in `[1970-01-05, date)` (negative before it). Used to group
    /// `Nd` bars by a fixed origin so that results do not depend on the query range.
    pub fn trading_day_index(&self, date: NaiveDate) -> i64 {
        let days = (date - index_epoch()).num_days();
        let per_week = self.weekdays.iter().filter(|w| **w).count() as i64;
        let weeks = days.div_euclid(7);
        let rem = days.rem_euclid(7) as usize; // epoch is a Monday
        let weekdays =
            weeks * per_week + self.weekdays[..rem].iter().filter(|w| **w).count() as i64;
        let epoch_pos = self.closed.partition_point(|d| *d < index_epoch()) as i64;
        let date_pos = self.closed.partition_point(|d| *d < date) as i64;
        weekdays - (date_pos - epoch_pos)
    }

    /// The session of trading day `date` for `filter`, or `None` on a non-trading day.
    pub fn session(&self, date: NaiveDate, filter: SessionFilter) -> Option<Session> {
        if !self.is_trading_day(date) {
            return None;
        }
        let hours = self.hours_for(date);
        let early = self.early.get(&date);
        let (window, close) = match (filter, &hours.extended) {
            (SessionFilter::Extended | SessionFilter::All, Some(ext)) => {
                let close = early.map_or(ext.close, |e| e.extended_close.unwrap_or(ext.close));
                (ext, close)
            }
            _ => (
                &hours.regular,
                early.map_or(hours.regular.close, |e| e.close),
            ),
        };
        let open_day = if window.open_previous_day {
            date.pred_opt()?
        } else {
            date
        };
        let open = self.instant(open_day.and_time(window.open));
        let close = self.instant(date.and_time(close));
        let breaks = hours
            .breaks
            .iter()
            .filter_map(|(s, e)| {
                let (s, e) = (
                    self.instant(date.and_time(*s)),
                    self.instant(date.and_time(*e)),
                );
                let e = e.min(close);
                (s > open && s < e)
                    .then(|| TimeRange::new(s, e).ok())
                    .flatten()
            })
            .collect();
        (open < close).then_some(Session {
            date,
            open,
            close,
            breaks,
        })
    }

    /// Sessions overlapping the UTC range, in order (trading days of 1900-01-01..=2100-12-31
    /// only, see [`Calendar::sessions_in`]).
    pub fn sessions(&self, range: TimeRange, filter: SessionFilter) -> Vec<Session> {
        self.sessions_in(range, filter).collect()
    }

    /// Sessions overlapping the UTC range, in order, one at a time: [`Calendar::sessions`]
    /// without holding them all (constant memory per session). Like every range-driven walk
    /// of the engine, only trading days of the supported span 1900-01-01..=2100-12-31 are
    /// visited, so the work is bounded whatever the range.
    pub fn sessions_in(
        &self,
        range: TimeRange,
        filter: SessionFilter,
    ) -> impl Iterator<Item = Session> + '_ {
        let first = clamp_to_span(shift_days(self.local_date(range.start()), -1));
        let last = clamp_to_span(shift_days(self.local_date(range.end()), 1));
        self.sessions_iter(first, last, filter)
            .filter(move |s| s.close > range.start() && s.open < range.end())
    }

    /// Sessions of the trading days in `[first, last]`, in order, one at a time.
    pub fn sessions_iter(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        filter: SessionFilter,
    ) -> impl Iterator<Item = Session> + '_ {
        first
            .iter_days()
            .take_while(move |d| *d <= last)
            .filter_map(move |d| self.session(d, filter))
    }

    /// Sessions of the trading days in `[first, last]`, in order.
    pub fn sessions_between(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        filter: SessionFilter,
    ) -> Vec<Session> {
        self.sessions_iter(first, last, filter).collect()
    }

    /// The exchange-local calendar date of a UTC instant.
    ///
    /// Instants within a day of the ends of chrono's dates (where the local time would not
    /// be representable) map to their UTC date.
    pub fn local_date(&self, ts: i64) -> NaiveDate {
        if !(-LOCAL_SAFE_SECONDS..=LOCAL_SAFE_SECONDS).contains(&ts) {
            return utc_date(ts);
        }
        self.tz
            .timestamp_opt(ts, 0)
            .single()
            .map_or_else(|| utc_date(ts), |t| t.date_naive())
    }

    fn hours_for(&self, date: NaiveDate) -> &Hours {
        let i = self.eras.partition_point(|h| h.from <= date);
        &self.eras[i.saturating_sub(1)]
    }

    /// UTC seconds of a local wall-clock time: the earlier instant when ambiguous, one hour
    /// later when it falls into a spring-forward gap.
    fn instant(&self, local: NaiveDateTime) -> i64 {
        match self.tz.from_local_datetime(&local).earliest() {
            Some(t) => t.timestamp(),
            None => local
                .checked_add_signed(Duration::hours(1))
                .and_then(|later| self.tz.from_local_datetime(&later).earliest())
                .map_or_else(|| local.and_utc().timestamp(), |t| t.timestamp()),
        }
    }
}

/// Instants with a representable local date in every timezone (chrono's dates end about
/// 8.2e12 s from the epoch; a day of margin is left for the offset).
const LOCAL_SAFE_SECONDS: i64 = 8_200_000_000_000;

/// Monday 1970-01-05, origin of [`Calendar::trading_day_index`].
pub(crate) fn index_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("valid")
}

/// `d` clamped to the supported span 1900-01-01..=2100-12-31: range-driven walks (sessions
/// of a range, expected buckets and slots, gap detection) visit no day outside it.
pub(crate) fn clamp_to_span(d: NaiveDate) -> NaiveDate {
    d.clamp(
        tradeassist_model::time::FIRST_DATE,
        tradeassist_model::time::LAST_DATE,
    )
}

/// `d` moved by `days`, saturating at the ends of the representable dates (never panics).
pub(crate) fn shift_days(d: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        d.checked_add_days(chrono::Days::new(days.unsigned_abs()))
    } else {
        d.checked_sub_days(chrono::Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(if days >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

/// The UTC date of epoch seconds (the date a daily bar's key names), saturating at the ends
/// of the representable dates.
pub(crate) fn utc_date(ts: i64) -> NaiveDate {
    let days = ts.div_euclid(86_400) + 719_163;
    match i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
    {
        Some(d) => d,
        None if days < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

// ---------------------------------------------------------------------------------------
// Data file and rule interpreter
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    calendar: Vec<CalendarDef>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct CalendarDef {
    id: String,
    name: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    extends: Option<String>,
    timezone: Option<String>,
    weekdays: Option<Vec<String>>,
    curated_years: Option<(i32, i32)>,
    closures: Option<Vec<RuleDef>>,
    early_closes: Option<Vec<RuleDef>>,
    hours: Option<Vec<HoursDef>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct HoursDef {
    from: String,
    regular: WindowDef,
    extended: Option<WindowDef>,
    #[serde(default)]
    breaks: Vec<BreakDef>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct WindowDef {
    open: String,
    #[serde(default)]
    open_previous_day: bool,
    close: String,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct BreakDef {
    start: String,
    end: String,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: String,
    date: Option<String>,
    observe: Option<String>,
    month: Option<u32>,
    weekday: Option<String>,
    nth: Option<i32>,
    easter: Option<i64>,
    dates: Option<Vec<String>>,
    #[serde(default)]
    offset: i64,
    only_on: Option<Vec<String>>,
    from_year: Option<i32>,
    until_year: Option<i32>,
    #[serde(default)]
    except: Vec<String>,
    close: Option<String>,
    extended_close: Option<String>,
}

/// How a fixed-date holiday moves when it falls on a weekend.
#[derive(Debug, Clone, Copy)]
enum Observance {
    None,
    SundayToMonday,
    NearestWeekday,
}

#[derive(Debug, Clone)]
enum RuleKind {
    Fixed {
        month: u32,
        day: u32,
        observe: Observance,
    },
    NthWeekday {
        month: u32,
        weekday: Weekday,
        nth: i32,
    },
    Easter(i64),
    Dates(Vec<NaiveDate>),
}

#[derive(Debug, Clone)]
struct Rule {
    kind: RuleKind,
    offset: i64,
    only_on: Option<Vec<Weekday>>,
    years: (i32, i32),
    except: Vec<NaiveDate>,
}

impl Rule {
    /// The dates this rule produces in `year`.
    fn dates_in(&self, year: i32) -> Vec<NaiveDate> {
        if year < self.years.0 || year > self.years.1 {
            return Vec::new();
        }
        let base: Vec<NaiveDate> = match &self.kind {
            RuleKind::Fixed {
                month,
                day,
                observe,
            } => NaiveDate::from_ymd_opt(year, *month, *day)
                .map(|d| observed(d, *observe))
                .into_iter()
                .collect(),
            RuleKind::NthWeekday {
                month,
                weekday,
                nth,
            } => nth_weekday(year, *month, *weekday, *nth)
                .into_iter()
                .collect(),
            RuleKind::Easter(off) => vec![easter_sunday(year) + Duration::days(*off)],
            RuleKind::Dates(ds) => ds.iter().copied().filter(|d| d.year() == year).collect(),
        };
        base.into_iter()
            .map(|d| d + Duration::days(self.offset))
            .filter(|d| {
                self.only_on
                    .as_ref()
                    .is_none_or(|w| w.contains(&d.weekday()))
            })
            .filter(|d| !self.except.contains(d))
            .collect()
    }
}

fn observed(d: NaiveDate, o: Observance) -> NaiveDate {
    match (o, d.weekday()) {
        (Observance::SundayToMonday | Observance::NearestWeekday, Weekday::Sun) => {
            d + Duration::days(1)
        }
        (Observance::NearestWeekday, Weekday::Sat) => d - Duration::days(1),
        _ => d,
    }
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, nth: i32) -> Option<NaiveDate> {
    if nth > 0 {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth as u8)
    } else {
        let next_month = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        let last = next_month.pred_opt()?;
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let d = last - Duration::days(i64::from(back)) - Duration::weeks(i64::from(-nth - 1));
        (d.month() == month).then_some(d)
    }
}

/// Western (Gregorian) Easter Sunday, anonymous Gregorian algorithm.
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("easter is a valid date")
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::CalendarData(msg.into())
}

fn parse_time(s: &str) -> Result<NaiveTime, EngineError> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad(format!("bad time `{s}` (HH:MM)")))
}

fn parse_date(s: &str) -> Result<NaiveDate, EngineError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(format!("bad date `{s}`")))
}

fn parse_weekday(s: &str) -> Result<Weekday, EngineError> {
    Weekday::from_str(s).map_err(|_| bad(format!("bad weekday `{s}`")))
}

fn parse_rule(def: &RuleDef) -> Result<Rule, EngineError> {
    let kind = match (
        &def.date,
        def.month,
        &def.weekday,
        def.nth,
        def.easter,
        &def.dates,
    ) {
        (Some(md), None, None, None, None, None) => {
            let (m, d) = md
                .split_once('-')
                .and_then(|(m, d)| Some((m.parse().ok()?, d.parse().ok()?)))
                .ok_or_else(|| bad(format!("{}: bad date `{md}` (MM-DD)", def.name)))?;
            let observe = match def.observe.as_deref() {
                None | Some("none") => Observance::None,
                Some("sunday_to_monday") => Observance::SundayToMonday,
                Some("nearest_weekday") => Observance::NearestWeekday,
                Some(o) => return Err(bad(format!("{}: bad observance `{o}`", def.name))),
            };
            NaiveDate::from_ymd_opt(2000, m, d)
                .ok_or_else(|| bad(format!("{}: bad date `{md}`", def.name)))?;
            RuleKind::Fixed {
                month: m,
                day: d,
                observe,
            }
        }
        (None, Some(month), Some(wd), Some(nth), None, None)
            if nth != 0 && (1..=12).contains(&month) =>
        {
            RuleKind::NthWeekday {
                month,
                weekday: parse_weekday(wd)?,
                nth,
            }
        }
        (None, None, None, None, Some(off), None) => RuleKind::Easter(off),
        (None, None, None, None, None, Some(ds)) => {
            RuleKind::Dates(ds.iter().map(|d| parse_date(d)).collect::<Result<_, _>>()?)
        }
        _ => {
            return Err(bad(format!(
                "{}: give exactly one of date, month+weekday+nth, easter, dates",
                def.name
            )));
        }
    };
    if def.observe.is_some() && !matches!(kind, RuleKind::Fixed { .. }) {
        return Err(bad(format!(
            "{}: observe only applies to a fixed date",
            def.name
        )));
    }
    Ok(Rule {
        kind,
        offset: def.offset,
        only_on: def
            .only_on
            .as_ref()
            .map(|ws| {
                ws.iter()
                    .map(|w| parse_weekday(w))
                    .collect::<Result<_, _>>()
            })
            .transpose()?,
        years: (
            def.from_year.unwrap_or(i32::MIN),
            def.until_year.unwrap_or(i32::MAX),
        ),
        except: def
            .except
            .iter()
            .map(|d| parse_date(d))
            .collect::<Result<_, _>>()?,
    })
}

fn parse_window(w: &WindowDef) -> Result<Window, EngineError> {
    Ok(Window {
        open: parse_time(&w.open)?,
        open_previous_day: w.open_previous_day,
        close: parse_time(&w.close)?,
    })
}

fn merge_extends(def: &CalendarDef, parent: &CalendarDef) -> CalendarDef {
    CalendarDef {
        id: def.id.clone(),
        name: def.name.clone().or_else(|| parent.name.clone()),
        aliases: def.aliases.clone(),
        extends: None,
        timezone: def.timezone.clone().or_else(|| parent.timezone.clone()),
        weekdays: def.weekdays.clone().or_else(|| parent.weekdays.clone()),
        curated_years: def.curated_years.or(parent.curated_years),
        closures: def.closures.clone().or_else(|| parent.closures.clone()),
        early_closes: def
            .early_closes
            .clone()
            .or_else(|| parent.early_closes.clone()),
        hours: def.hours.clone().or_else(|| parent.hours.clone()),
    }
}

fn build_calendar(def: &CalendarDef) -> Result<Calendar, EngineError> {
    let id = &def.id;
    let need = |what: &str| bad(format!("calendar {id}: missing `{what}`"));
    let tz: Tz = def
        .timezone
        .as_deref()
        .ok_or_else(|| need("timezone"))?
        .parse()
        .map_err(|_| bad(format!("calendar {id}: unknown timezone")))?;
    let mut weekdays = [false; 7];
    for w in def.weekdays.as_ref().ok_or_else(|| need("weekdays"))? {
        weekdays[parse_weekday(w)?.num_days_from_monday() as usize] = true;
    }
    let mut eras = def
        .hours
        .as_ref()
        .ok_or_else(|| need("hours"))?
        .iter()
        .map(|h| {
            Ok(Hours {
                from: parse_date(&h.from)?,
                regular: parse_window(&h.regular)?,
                extended: h.extended.as_ref().map(parse_window).transpose()?,
                breaks: h
                    .breaks
                    .iter()
                    .map(|b| Ok((parse_time(&b.start)?, parse_time(&b.end)?)))
                    .collect::<Result<_, EngineError>>()?,
            })
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    if eras.is_empty() {
        return Err(need("hours"));
    }
    eras.sort_by_key(|h| h.from);

    let closure_rules = def
        .closures
        .iter()
        .flatten()
        .map(parse_rule)
        .collect::<Result<Vec<_>, _>>()?;
    let mut closed: Vec<NaiveDate> = (FIRST_YEAR..=LAST_YEAR)
        .flat_map(|y| closure_rules.iter().flat_map(move |r| r.dates_in(y)))
        .filter(|d| weekdays[d.weekday().num_days_from_monday() as usize])
        .collect();
    closed.sort();
    closed.dedup();

    let mut early = BTreeMap::new();
    for def in def.early_closes.iter().flatten() {
        let rule = parse_rule(def)?;
        let close = parse_time(
            def.close
                .as_deref()
                .ok_or_else(|| bad(format!("{}: early close needs `close`", def.name)))?,
        )?;
        let extended_close = def.extended_close.as_deref().map(parse_time).transpose()?;
        for y in FIRST_YEAR..=LAST_YEAR {
            for d in rule.dates_in(y) {
                if closed.binary_search(&d).is_err() {
                    early.insert(
                        d,
                        EarlyClose {
                            close,
                            extended_close,
                        },
                    );
                }
            }
        }
    }
    Ok(Calendar {
        id: id.clone(),
        name: def.name.clone().unwrap_or_else(|| id.clone()),
        aliases: def.aliases.clone(),
        tz,
        weekdays,
        curated_years: def.curated_years.unwrap_or((FIRST_YEAR, LAST_YEAR)),
        eras,
        closed,
        early,
    })
}

fn parse_calendars(text: &str) -> Result<Vec<Calendar>, EngineError> {
    let file: FileDef = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut defs: Vec<CalendarDef> = Vec::with_capacity(file.calendar.len());
    for def in &file.calendar {
        let resolved = match &def.extends {
            Some(parent) => {
                let p = defs
                    .iter()
                    .find(|d| &d.id == parent)
                    .ok_or_else(|| bad(format!("{} extends unknown `{parent}`", def.id)))?;
                merge_extends(def, p)
            }
            None => def.clone(),
        };
        defs.push(resolved);
    }
    defs.iter().map(build_calendar).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn hm(ts: i64, tz: Tz) -> String {
        tz.timestamp_opt(ts, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    #[test]
    fn data_file_parses_and_ids_resolve() {
        for id in [
            "us_equity",
            "cme_equity",
            "cme_fx",
            "cme_energy",
            "cme_metals",
            "cme_rates",
            "cme_grains",
            "cme_globex",
            "xetra",
        ] {
            assert!(Calendar::get(id).is_ok(), "{id}");
        }
        assert_eq!(Calendar::get("cme_fx").unwrap().id(), "cme_globex");
        assert_eq!(
            Calendar::get("lse").unwrap_err(),
            EngineError::UnknownCalendar("lse".into())
        );
        assert!(Calendar::ids().contains(&"cme_grains"));
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2013), d(2013, 3, 31));
        assert_eq!(easter_sunday(2019), d(2019, 4, 21));
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2000), d(2000, 4, 23));
    }

    #[test]
    fn nth_weekday_rules() {
        assert_eq!(
            nth_weekday(2013, 11, Weekday::Thu, 4),
            Some(d(2013, 11, 28))
        );
        assert_eq!(nth_weekday(2013, 5, Weekday::Mon, -1), Some(d(2013, 5, 27)));
        assert_eq!(nth_weekday(2024, 5, Weekday::Mon, -1), Some(d(2024, 5, 27)));
        assert_eq!(nth_weekday(2021, 5, Weekday::Mon, -1), Some(d(2021, 5, 31)));
    }

    #[test]
    fn nyse_holidays() {
        let c = Calendar::get("us_equity").unwrap();
        let closed = [
            d(2013, 1, 1),
            d(2013, 1, 21),
            d(2013, 2, 18),
            d(2013, 3, 29), // Good Friday
            d(2013, 5, 27),
            d(2013, 7, 4),
            d(2013, 9, 2),
            d(2013, 11, 28),
            d(2013, 12, 25),
            d(2001, 9, 11),
            d(2001, 9, 14),
            d(2004, 6, 11),
            d(2007, 1, 2),
            d(2012, 10, 29),
            d(2012, 10, 30),
            d(2018, 12, 5),
            d(2025, 1, 9),
            d(2022, 6, 20),  // Juneteenth observed on Monday
            d(2021, 12, 24), // Christmas on Saturday -> Friday
            d(2017, 1, 2),   // New Year on Sunday -> Monday
            d(2015, 7, 3),   // July 4 on Saturday -> Friday
        ];
        for day in closed {
            assert!(!c.is_trading_day(day), "{day} should be closed");
        }
        for day in [
            d(2021, 6, 18),
            d(2010, 12, 31),
            d(2022, 12, 30),
            d(2013, 11, 29),
        ] {
            assert!(c.is_trading_day(day), "{day} should be open");
        }
    }

    #[test]
    fn nyse_early_closes_at_13() {
        let c = Calendar::get("us_equity").unwrap();
        let ny = c.timezone();
        for day in [
            d(2013, 11, 29),
            d(2013, 12, 24),
            d(2013, 7, 3),
            d(2019, 7, 3),
            d(2002, 7, 5),
        ] {
            let s = c.session(day, SessionFilter::Regular).unwrap();
            assert_eq!(hm(s.close(), ny), format!("{day} 13:00"));
            let e = c.session(day, SessionFilter::Extended).unwrap();
            assert_eq!(hm(e.close(), ny), format!("{day} 17:00"));
        }
        // July 3 on a Friday is the observed Independence Day, not an early close.
        assert!(c.session(d(2015, 7, 3), SessionFilter::Regular).is_none());
        let normal = c.session(d(2013, 12, 23), SessionFilter::Regular).unwrap();
        assert_eq!(hm(normal.open(), ny), "2013-12-23 09:30");
        assert_eq!(hm(normal.close(), ny), "2013-12-23 16:00");
    }

    #[test]
    fn us_dst_weekend_keeps_local_hours() {
        let c = Calendar::get("us_equity").unwrap();
        let fri = c.session(d(2013, 3, 8), SessionFilter::Regular).unwrap();
        let mon = c.session(d(2013, 3, 11), SessionFilter::Regular).unwrap();
        assert_eq!(fri.open(), 1_362_753_000); // 14:30 UTC (EST)
        assert_eq!(mon.open(), 1_363_008_600); // 13:30 UTC (EDT)
        let nov = c.session(d(2013, 11, 4), SessionFilter::Regular).unwrap();
        assert_eq!(hm(nov.open(), c.timezone()), "2013-11-04 09:30");
        assert_eq!(nov.open() % 86_400, 14 * 3600 + 1800);
    }

    #[test]
    fn eu_dst_weekend_keeps_local_hours() {
        let c = Calendar::get("xetra").unwrap();
        let fri = c.session(d(2013, 3, 29), SessionFilter::Regular);
        assert!(fri.is_none(), "Good Friday");
        let thu = c.session(d(2013, 3, 28), SessionFilter::Regular).unwrap();
        let tue = c.session(d(2013, 4, 2), SessionFilter::Regular).unwrap();
        assert_eq!(thu.open() % 86_400, 8 * 3600); // 09:00 CET
        assert_eq!(tue.open() % 86_400, 7 * 3600); // 09:00 CEST
        let oct = c.session(d(2013, 10, 28), SessionFilter::All).unwrap();
        assert_eq!(oct.open() % 86_400, 8 * 3600);
        assert_eq!(oct.close() - oct.open(), 8 * 3600 + 1800);
    }

    #[test]
    fn globex_day_runs_from_previous_evening() {
        let c = Calendar::get("cme_equity").unwrap();
        let ct = c.timezone();
        let mon = c.session(d(2013, 10, 7), SessionFilter::Regular).unwrap();
        assert_eq!(hm(mon.open(), ct), "2013-10-06 17:00");
        assert_eq!(hm(mon.close(), ct), "2013-10-07 16:15");
        assert_eq!(mon.breaks().len(), 1);
        assert_eq!(hm(mon.breaks()[0].start(), ct), "2013-10-07 15:15");
        // 22:00 UTC on Sunday belongs to Monday's trading day.
        let sunday_22utc = 1_381_096_800;
        assert!(mon.is_open_at(sunday_22utc));
        let after = c.session(d(2021, 6, 28), SessionFilter::Regular).unwrap();
        assert_eq!(hm(after.close(), ct), "2021-06-28 16:00");
        assert!(after.breaks().is_empty());
        let energy = Calendar::get("cme_energy").unwrap();
        let s = energy
            .session(d(2013, 10, 7), SessionFilter::Extended)
            .unwrap();
        assert_eq!(hm(s.close(), ct), "2013-10-07 16:00");
    }

    #[test]
    fn globex_holidays_and_early_halts() {
        let c = Calendar::get("cme_equity").unwrap();
        let ct = c.timezone();
        assert!(!c.is_trading_day(d(2013, 12, 25)));
        assert!(!c.is_trading_day(d(2013, 3, 29)));
        assert!(!c.is_trading_day(d(2013, 1, 1)));
        let tg = c.session(d(2013, 11, 28), SessionFilter::All).unwrap();
        assert_eq!(hm(tg.close(), ct), "2013-11-28 12:00");
        assert!(tg.breaks().is_empty());
        let fri = c.session(d(2013, 11, 29), SessionFilter::All).unwrap();
        assert_eq!(hm(fri.open(), ct), "2013-11-28 17:00");
        assert_eq!(hm(fri.close(), ct), "2013-11-29 12:15");
        let thu_after_xmas = c.session(d(2013, 12, 26), SessionFilter::All).unwrap();
        assert_eq!(hm(thu_after_xmas.open(), ct), "2013-12-25 17:00");
    }

    #[test]
    fn sessions_in_range_and_trading_day_index() {
        let c = Calendar::get("us_equity").unwrap();
        let r = TimeRange::new(1_385_337_600, 1_385_942_400).unwrap(); // 2013-11-25..12-02 UTC
        let s = c.sessions(r, SessionFilter::Regular);
        let dates: Vec<_> = s.iter().map(|s| s.date()).collect();
        assert_eq!(
            dates,
            vec![
                d(2013, 11, 25),
                d(2013, 11, 26),
                d(2013, 11, 27),
                d(2013, 11, 29)
            ]
        );
        let i = c.trading_day_index(d(2013, 11, 27));
        assert_eq!(c.trading_day_index(d(2013, 11, 28)), i + 1);
        assert_eq!(c.trading_day_index(d(2013, 11, 29)), i + 1);
        assert_eq!(c.trading_day_index(d(2013, 12, 2)), i + 2);
        assert_eq!(c.trading_day_index(index_epoch()), 0);
        assert_eq!(c.next_trading_day(d(2013, 11, 28)), d(2013, 11, 29));
        assert_eq!(c.prev_trading_day(d(2013, 12, 1)), d(2013, 11, 29));
    }

    #[test]
    fn date_stepping_saturates_at_the_ends_of_the_dates() {
        let c = Calendar::get("us_equity").unwrap();
        // NaiveDate::MAX is a Friday in no year the rules close: whatever it is, no panic.
        let next = c.next_trading_day(NaiveDate::MAX);
        assert!(next == NaiveDate::MAX || c.is_trading_day(next));
        assert_eq!(c.trading_day_after(NaiveDate::MAX), NaiveDate::MAX);
        let prev = c.prev_trading_day(NaiveDate::MIN);
        assert!(prev == NaiveDate::MIN || c.is_trading_day(prev));
        assert_eq!(c.trading_day_before(NaiveDate::MIN), NaiveDate::MIN);
        assert_eq!(c.trading_days_back(NaiveDate::MIN, 10), None);
        assert_eq!(
            c.trading_days_back(d(2013, 12, 20), 5),
            Some(d(2013, 12, 13))
        );
        assert_eq!(
            c.trading_days_back(d(2013, 12, 22), 0),
            Some(d(2013, 12, 20))
        );
        assert_eq!(c.local_date(i64::MAX), NaiveDate::MAX);
        assert_eq!(c.local_date(i64::MIN), NaiveDate::MIN);
        assert_eq!(utc_date(i64::MAX), NaiveDate::MAX);
        assert_eq!(shift_days(NaiveDate::MAX, 1), NaiveDate::MAX);
        assert_eq!(shift_days(NaiveDate::MIN, -1), NaiveDate::MIN);
        assert_eq!(shift_days(d(2013, 12, 31), 1), d(2014, 1, 1));
    }

    #[test]
    fn trading_day_at_index_inverts_the_index() {
        let c = Calendar::get("cme_equity").unwrap();
        for day in [
            d(1900, 1, 2),
            d(1970, 1, 5),
            d(2013, 11, 29),
            d(2100, 12, 31),
        ] {
            let td = c.prev_trading_day(day);
            assert_eq!(c.trading_day_at_index(c.trading_day_index(td)), td, "{td}");
        }
        // Non-trading days share the index of the next trading day.
        let saturday = d(2013, 11, 30);
        assert_eq!(
            c.trading_day_at_index(c.trading_day_index(saturday)),
            d(2013, 12, 2)
        );
    }

    #[test]
    fn range_walks_stay_inside_the_supported_span() {
        let c = Calendar::get("us_equity").unwrap();
        let all = TimeRange::new(i64::MIN, i64::MAX).unwrap();
        let mut sessions = c.sessions_in(all, SessionFilter::Regular);
        let first = sessions.next().unwrap();
        // Holiday rules start in 1950: 1900-01-01, a Monday, trades.
        assert_eq!(first.date(), d(1900, 1, 1));
        assert_eq!(sessions.last().unwrap().date(), d(2100, 12, 31));
    }

    #[test]
    fn malformed_data_is_reported() {
        let err = parse_calendars("[[calendar]]\nid = \"x\"\n").unwrap_err();
        assert!(matches!(err, EngineError::CalendarData(_)));
        let rule = RuleDef {
            name: "bad".into(),
            date: Some("01-01".into()),
            easter: Some(1),
            ..RuleDef::default()
        };
        assert!(parse_rule(&rule).is_err());
    }
}
