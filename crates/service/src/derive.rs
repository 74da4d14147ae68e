//! Deriving bars of one series from its stored base bars: the choice of base series, the
//! resolution of a range to trading days, time and activity bars, gap filling. Pure helpers
//! over the engine; the fetch, continuous and rollup paths share them.

use tradeassist_engine::{
    Activity, AggBar, AggSpec, Aggregator, BarSpec, Calendar, FillMethod, SessionFilter,
    VwapSource, activity_bars,
};
use tradeassist_model::{
    AssetClass, Bar, Instrument, RangeSpec, Resolution, SeriesWindow, TimeBound, TimeRange,
    Timeframe,
};
use tradeassist_store::SeriesInfo;

use crate::{Query, ServiceError};

/// A frequency the API knows about.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyInfo {
    pub frequency: Timeframe,
    pub label: String,
    /// Fixed length in seconds (`None` for months).
    pub seconds: Option<i64>,
    /// The stored resolutions it can be derived from.
    pub bases: Vec<Resolution>,
}

/// The standard frequencies and the stored resolutions each derives from.
pub fn frequencies() -> Vec<FrequencyInfo> {
    Timeframe::STANDARD
        .iter()
        .map(|tf| FrequencyInfo {
            frequency: *tf,
            label: tf.label(),
            seconds: tf.fixed_seconds(),
            bases: if tf.is_intraday() {
                vec![Resolution::Minute]
            } else {
                vec![Resolution::Minute, Resolution::Day]
            },
        })
        .collect()
}

/// The default session filter of an instrument.
pub fn default_session(instrument: &Instrument) -> SessionFilter {
    default_session_of(instrument.asset_class)
}

/// The default session filter of an asset class: the whole session for futures, regular
/// hours for equities and indexes.
pub(crate) fn default_session_of(class: AssetClass) -> SessionFilter {
    match class {
        AssetClass::Future => SessionFilter::All,
        AssetClass::Stock | AssetClass::Index => SessionFilter::Regular,
    }
}

/// Which stored series serves a request for an instrument.
pub(crate) fn choose_base(
    spec: BarSpec,
    forced: Option<Resolution>,
    stored: &[SeriesInfo],
    symbol: &str,
) -> Result<Resolution, ServiceError> {
    let has = |r: Resolution| stored.iter().any(|s| s.resolution == r);
    let wanted = match (forced, spec) {
        (Some(r), _) => r,
        (None, BarSpec::Time(tf)) if !tf.is_intraday() && has(Resolution::Day) => Resolution::Day,
        (None, BarSpec::Time(tf)) if !tf.is_intraday() && !has(Resolution::Minute) => {
            Resolution::Day
        }
        _ => Resolution::Minute,
    };
    if !has(wanted) {
        let have: Vec<&str> = stored.iter().map(|s| s.resolution.as_str()).collect();
        return Err(ServiceError::UnsupportedFrequency(format!(
            "{symbol} has no {wanted} series to derive {spec} bars from (stored: {})",
            if have.is_empty() {
                "none".to_string()
            } else {
                have.join(", ")
            }
        )));
    }
    Ok(wanted)
}

/// Base bars per output bar, used to size reads for `last_N_bars`.
pub(crate) fn base_per_output(spec: BarSpec, base: Resolution) -> u64 {
    let Some(seconds) = (match spec {
        BarSpec::Time(tf) => tf
            .fixed_seconds()
            .or(Some(i64::from(tf.count()) * 31 * 86_400)),
        BarSpec::Activity(_) => None,
    }) else {
        return 1_000;
    };
    match base {
        Resolution::Minute => (seconds / 60).max(1) as u64,
        Resolution::Day => (seconds / 86_400).max(1) as u64,
    }
}

/// Derive the requested bars from base bars (ascending) of one series: activity bars, or time
/// bars with optional gap filling (`seed` = the last base bar before the window), trimmed to
/// the last N for `last_N_bars`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn derive_bars(
    query: &Query,
    now: i64,
    calendar: &Calendar,
    base: Resolution,
    session: SessionFilter,
    window: &SeriesWindow,
    base_bars: &[Bar],
    seed: Option<&Bar>,
) -> Result<(Vec<AggBar>, VwapSource), ServiceError> {
    let (mut bars, vwap_source) = match query.bars {
        BarSpec::Activity(activity) => {
            let bars = derive_activity(base_bars, base, activity, calendar, session)?;
            (bars, tradeassist_engine::vwap_source(base_bars))
        }
        BarSpec::Time(tf) => {
            let mut spec = AggSpec::new(tf);
            spec.align = query.options.align;
            spec.label = query.options.label;
            spec.sessions = session;
            spec.session_vwap = query.options.session_vwap;
            let aggregator = Aggregator::new(calendar, base, spec)
                .map_err(|e| ServiceError::UnsupportedFrequency(e.to_string()))?;
            let agg = aggregator
                .aggregate(base_bars, Some(now))
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let source = agg.vwap_source;
            let bars = if query.options.fill == FillMethod::None {
                agg.bars
            } else {
                let range = fill_range(window.range, base_bars, window.last_bars.is_some());
                aggregator.fill(&agg, range, query.options.fill, seed)
            };
            (bars, source)
        }
    };
    if let Some(n) = window.last_bars {
        let skip = bars.len().saturating_sub(n as usize);
        bars.drain(..skip);
    }
    Ok((bars, vwap_source))
}

/// Resolve the request range for one series. Date bounds of an intraday (1-minute) series mean
/// trading days of the instrument's calendar: from the open of the first trading day on or
/// after `start` to the close of the last one on or before `end` (a Globex day starts the
/// evening before its date). Instants are taken as given.
pub(crate) fn trading_day_window(
    range: &RangeSpec,
    calendar: &Calendar,
    session: SessionFilter,
    base: Resolution,
    tz: chrono_tz::Tz,
    now: i64,
) -> Result<SeriesWindow, ServiceError> {
    let mut window = range
        .window(tz, base, now)
        .map_err(|e| ServiceError::invalid("end", e.to_string()))?;
    let (start, end) = range.bounds(tz, now);
    if base != Resolution::Minute {
        return Ok(window);
    }
    let in_calendar = |d: chrono::NaiveDate| (1951..=2099).contains(&chrono::Datelike::year(&d));
    let mut s = window.range.start();
    let mut e = window.range.end();
    if let TimeBound::Date(d) = start
        && in_calendar(d)
    {
        let day = calendar.next_trading_day(d);
        if let Some(session) = calendar.session(day, session) {
            s = session.open();
        }
    }
    if let Some(TimeBound::Date(d)) = end
        && in_calendar(d)
    {
        let day = calendar.prev_trading_day(d);
        if let Some(session) = calendar.session(day, session) {
            e = session.close();
        }
    }
    if let Ok(r) = TimeRange::new(s, e) {
        window.range = r;
    }
    Ok(window)
}

/// The range over which gaps are filled: the window, or (for `last_N_bars`) from the first bar read.
pub(crate) fn fill_range(window: TimeRange, bars: &[Bar], last_n: bool) -> TimeRange {
    match (last_n, bars.first()) {
        (true, Some(first)) => TimeRange::new(first.ts(), window.end()).unwrap_or(window),
        _ => window,
    }
}

/// Activity bars over the base bars inside the session filter.
fn derive_activity(
    bars: &[Bar],
    base: Resolution,
    activity: Activity,
    calendar: &Calendar,
    session: SessionFilter,
) -> Result<Vec<AggBar>, ServiceError> {
    let inside: Vec<Bar> = match base {
        Resolution::Day => bars.to_vec(),
        Resolution::Minute => {
            let Some((first, last)) = bars.first().zip(bars.last()) else {
                return Ok(Vec::new());
            };
            let range = TimeRange::new(first.ts() - 86_400, last.ts() + 86_400).expect("ordered");
            let sessions = calendar.sessions(range, session);
            let mut k = 0;
            bars.iter()
                .filter(|b| {
                    while k < sessions.len() && sessions[k].close() <= b.ts() {
                        k += 1;
                    }
                    k < sessions.len() && sessions[k].is_open_at(b.ts())
                })
                .copied()
                .collect()
        }
    };
    activity_bars(&inside, base, activity)
        .map_err(|e| ServiceError::invalid("frequency", e.to_string()))
}

/// The time buckets an aggregation of the query's bars produces over `range` when every
/// bucket is kept (gap filling), from the calendar alone (no bar is read or built); 0 for
/// activity bars or a frequency the base cannot serve.
pub(crate) fn expected_buckets(
    query: &Query,
    calendar: &Calendar,
    base: Resolution,
    session: SessionFilter,
    range: TimeRange,
) -> u64 {
    let BarSpec::Time(tf) = query.bars else {
        return 0;
    };
    let mut spec = AggSpec::new(tf);
    spec.align = query.options.align;
    spec.label = query.options.label;
    spec.sessions = session;
    Aggregator::new(calendar, base, spec).map_or(0, |a| a.bucket_count(range))
}

/// Estimated stored bars of a series inside `range`, from its extent and count (uniform
/// density between its first and last bar).
pub(crate) fn estimate_stored(info: &SeriesInfo, range: TimeRange) -> u64 {
    let span = (info.last_ts - info.first_ts).max(0) + info.resolution.seconds();
    let lo = range.start().max(info.first_ts);
    let hi = range.end().min(info.last_ts + info.resolution.seconds());
    if hi <= lo {
        return 0;
    }
    let share = (hi - lo) as f64 / span as f64;
    ((info.count as f64) * share.min(1.0)).ceil() as u64
}
