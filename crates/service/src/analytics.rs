//! Indicators over any series a query can produce (aggregated timeframes, continuous futures
//! with adjustment, adjusted equities), computed by `tradeassist-analytics`.
//!
//! Warm-up is counted in bars, through the calendar: the service finds the bars that precede
//! the requested window with a `last_N_bars` query ending just before the window's first bar,
//! then computes over one series from the first warm-up bar to the window's end (one query,
//! so back-adjusted prices share the window's reference) and drops the warm-up rows. Where
//! the stored history is shorter than the warm-up, values stay null.

use tradeassist_analytics::{
    Context, FirstSession, IndicatorSeries, IndicatorSpec, compute, drop_warmup, max_warmup_bars,
    needs_session_start, parse_indicator_list,
};
use tradeassist_engine::{AggBar, BarSpec, FillMethod, Label};
use tradeassist_model::{Bar, Preset, RangeSpec, TimeBound, TimeRange};

use crate::derive::expected_buckets;
use crate::result::SeriesResult;
use crate::{Query, Service, ServiceError};

/// Indicators of one symbol's bars.
#[derive(Debug, Clone)]
pub struct IndicatorQuery {
    /// The bars (one symbol; every fetch option applies).
    pub query: Query,
    pub indicators: Vec<IndicatorSpec>,
}

impl IndicatorQuery {
    /// A query plus the indicator list in its text form (`sma:20,rsi:14,macd:12:26:9`).
    pub fn new(query: Query, indicators: &str) -> Result<Self, ServiceError> {
        if query.symbols.len() != 1 {
            return Err(ServiceError::invalid(
                "symbol",
                "indicators are computed for one symbol at a time",
            ));
        }
        let indicators = parse_indicator_list(indicators)
            .map_err(|e| ServiceError::invalid("indicators", e.to_string()))?;
        if query.options.fill == FillMethod::Null {
            return Err(ServiceError::invalid(
                "fill",
                "indicators need a price on every bar: use fill=none or fill=prev",
            ));
        }
        if query.options.label == Label::End {
            return Err(ServiceError::invalid(
                "label",
                "indicator series are labelled by bar start: use label=start",
            ));
        }
        Ok(IndicatorQuery { query, indicators })
    }
}

/// Indicator values aligned with the window's bars.
#[derive(Debug, Clone)]
pub struct IndicatorResult {
    /// The window's bars (what `fetch` returns for the query).
    pub series: SeriesResult,
    /// Bars of history the indicators need before the window's first bar.
    pub warmup_required: usize,
    /// Bars of history read before the window (fewer when the stored history is shorter).
    pub warmup_read: usize,
    /// Periods per year used to annualise volatility (from the calendar).
    pub periods_per_year: f64,
    /// One entry per requested indicator, each output aligned with `series.bars`.
    pub indicators: Vec<IndicatorSeries>,
}

impl IndicatorResult {
    /// The values as named columns aligned with `series.bars`: the indicator's text
    /// (`sma:20`) for single-output indicators, `text.output` (`macd:12:26:9.signal`) for
    /// the others.
    pub fn columns(&self) -> Vec<(String, &[Option<f64>])> {
        let mut out = Vec::new();
        for ind in &self.indicators {
            let name = ind.name();
            let single = ind.outputs().len() == 1;
            for o in ind.outputs() {
                let column = if single {
                    name.clone()
                } else {
                    format!("{name}.{}", o.name())
                };
                out.push((column, o.values()));
            }
        }
        out
    }
}

impl Service {
    /// Compute indicators over a query's bars with enough history read before the window that
    /// every returned value is fully warmed (or null where history is too short).
    pub async fn indicators(
        &self,
        request: &IndicatorQuery,
        now: i64,
    ) -> Result<IndicatorResult, ServiceError> {
        let query = &request.query;
        let specs = &request.indicators;
        let window_plan = self.plan(query, now).await?;
        let window = self.execute(&window_plan).await?.series.remove(0);
        let required = max_warmup_bars(specs);
        let sp = &window_plan.series[0];
        let intraday = match query.bars {
            BarSpec::Time(tf) => tf.is_intraday(),
            BarSpec::Activity(_) => true,
        };
        if needs_session_start(specs) && !intraday {
            return Err(ServiceError::invalid(
                "indicators",
                "session VWAP needs intraday bars (a daily bar is a whole session)",
            ));
        }
        let periods_per_year = periods_per_year(query, &window_plan, specs)?;
        let Some((first, first_date)) = window.bars.first().map(|b| (b.start, b.date)) else {
            return Ok(IndicatorResult {
                indicators: compute_on(specs, &[], &[], periods_per_year, FirstSession::Complete)?,
                series: window,
                warmup_required: required,
                warmup_read: 0,
                periods_per_year,
            });
        };
        // History before the window: the `required` bars ending just before its first bar.
        let mut full = window.clone();
        if required > 0 {
            let probe = Query {
                range: RangeSpec::Preset {
                    preset: Preset::LastBars(u32::try_from(required).unwrap_or(u32::MAX)),
                    // Bars of a trading day or longer end with the day before the window's
                    // first day; intraday bars just before its first instant.
                    as_of: Some(match first_date.and_then(|d| d.pred_opt()) {
                        Some(day) => TimeBound::Date(day),
                        None => TimeBound::Instant(first - 1),
                    }),
                },
                ..query.clone()
            };
            let before = self.fetch(&probe, now).await?.series.remove(0);
            if let Some(start) = before.bars.first() {
                let (_, end) = query.range.bounds(sp.timezone(), now);
                let extended = Query {
                    range: RangeSpec::Absolute {
                        start: match start.date {
                            Some(d) => TimeBound::Date(d),
                            None => TimeBound::Instant(start.start),
                        },
                        end,
                    },
                    ..query.clone()
                };
                full = self.fetch(&extended, now).await?.series.remove(0);
            }
        }
        let read = full.bars.iter().take_while(|b| b.start < first).count();
        let bars = to_bars(&full.bars)?;
        let keys = session_keys(&full, sp.calendar, sp.session);
        // Values before the first complete session stay null (the crate's `Partial`) unless
        // the series starts at a session open.
        let first_session = match (full.bars.first(), keys.first()) {
            (Some(b), Some(open)) if b.start == *open => FirstSession::Complete,
            _ => FirstSession::Partial,
        };
        let computed = compute_on(specs, &bars, &keys, periods_per_year, first_session)?;
        let indicators = drop_warmup(computed, read);
        // The answer is the extended series' window part: its prices are the ones the values
        // were computed on (forward adjustment is relative to the series' first contract).
        let window_bars = full.bars.len() - read;
        if window_bars != window.bars.len() {
            return Err(ServiceError::Internal(format!(
                "indicator read holds {window_bars} window bars, the window {}",
                window.bars.len()
            )));
        }
        let mut series = full;
        series.bars.drain(..read);
        series.window = window.window;
        if let Some(info) = series.continuous.as_mut() {
            info.bar_contracts
                .drain(..read.min(info.bar_contracts.len()));
            info.rolls.retain(|r| r.event.ts >= first);
        }
        Ok(IndicatorResult {
            series,
            warmup_required: required,
            warmup_read: read,
            periods_per_year,
            indicators,
        })
    }
}

fn compute_on(
    specs: &[IndicatorSpec],
    bars: &[Bar],
    keys: &[i64],
    periods_per_year: f64,
    first: FirstSession,
) -> Result<Vec<IndicatorSeries>, ServiceError> {
    let ctx = Context::new(periods_per_year)
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .with_sessions(keys, first);
    compute(specs, bars, &ctx).map_err(|e| ServiceError::invalid("indicators", e.to_string()))
}

/// Derived bars as checked bars (filled bars carry the previous close, so every bar has prices).
fn to_bars(bars: &[AggBar]) -> Result<Vec<Bar>, ServiceError> {
    bars.iter()
        .map(|b| {
            let o = b.ohlc.as_ref().ok_or_else(|| {
                ServiceError::Internal("a bar without prices reached the indicators".into())
            })?;
            Bar::new(b.start, o.open, o.high, o.low, o.close, b.volume)
                .map_err(|e| ServiceError::Internal(format!("derived bar refused: {e}")))
        })
        .collect()
}

/// The open of the trading session each bar belongs to (intraday), for session VWAP.
fn session_keys(
    series: &SeriesResult,
    calendar: &tradeassist_engine::Calendar,
    filter: tradeassist_engine::SessionFilter,
) -> Vec<i64> {
    let (Some(first), Some(last)) = (series.bars.first(), series.bars.last()) else {
        return Vec::new();
    };
    let Ok(range) = TimeRange::new(first.start - 2 * 86_400, last.start + 2 * 86_400) else {
        return Vec::new();
    };
    let sessions = calendar.sessions(range, filter);
    let mut k = 0;
    series
        .bars
        .iter()
        .map(|b| {
            while k + 1 < sessions.len() && sessions[k + 1].open() <= b.start {
                k += 1;
            }
            sessions.get(k).map_or(b.start, |s| s.open())
        })
        .collect()
}

/// Bars per year of the query's frequency on the series' calendar (the buckets of the year
/// before the window's end); 252 when no volatility is asked (the value is then unused).
fn periods_per_year(
    query: &Query,
    plan: &crate::Plan,
    specs: &[IndicatorSpec],
) -> Result<f64, ServiceError> {
    let wants = specs
        .iter()
        .any(|s| matches!(s, IndicatorSpec::Volatility(_)));
    if !wants {
        return Ok(252.0);
    }
    let BarSpec::Time(_) = query.bars else {
        return Err(ServiceError::invalid(
            "indicators",
            "rolling volatility is annualised by bars per year: it needs time bars, not activity bars",
        ));
    };
    let sp = &plan.series[0];
    let end = sp.window.range.end();
    let year = TimeRange::new(end - 365 * 86_400, end)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let n = expected_buckets(query, sp.calendar, sp.base, sp.session, year);
    if n == 0 {
        return Err(ServiceError::invalid(
            "frequency",
            "this frequency has no bars in a year of the calendar",
        ));
    }
    Ok(n as f64)
}
