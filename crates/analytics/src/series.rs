//! Computing a list of [`IndicatorSpec`]s over bars: [`Context`], [`compute`], the
//! [`IndicatorSeries`] results and the warm-up helpers the service uses.

use tradeassist_model::Bar;

use crate::indicators::{average, momentum, returns, trend, volatility, volume};
use crate::spec::IndicatorSpec;

pub use crate::indicators::volume::FirstSession;

/// Largest `periods_per_year` a [`Context`] accepts (more than the seconds in a year).
pub const MAX_PERIODS_PER_YEAR: f64 = 1e8;

/// Why a computation was refused (before any work is done).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ComputeError {
    /// `periods_per_year` is not a finite number in `(0, MAX_PERIODS_PER_YEAR]`.
    #[error("periods per year {0} must be above 0 and at most {MAX_PERIODS_PER_YEAR}")]
    PeriodsPerYear(f64),
    /// A session indicator was requested without session keys.
    #[error("{indicator} needs a session key per bar")]
    MissingSessions {
        /// The first indicator of the list that needs them.
        indicator: String,
    },
    /// The session keys do not line up with the bars.
    #[error("{keys} session keys given for {bars} bars")]
    SessionLength {
        /// Session keys given.
        keys: usize,
        /// Bars given.
        bars: usize,
    },
}

/// What the indicators need besides the bars: the annualisation factor of `vol` and, for
/// `vwap`, one session key per bar (any number that changes exactly when a new trading
/// session starts, e.g. the trading date as `yyyymmdd`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context<'a> {
    periods_per_year: f64,
    sessions: Option<(&'a [i64], FirstSession)>,
}

impl<'a> Context<'a> {
    /// A context with the bars-per-year of the series' frequency (252 for daily bars of a
    /// 252-session calendar, 252 * 390 for regular-hours minutes, ...).
    pub fn new(periods_per_year: f64) -> Result<Self, ComputeError> {
        if periods_per_year.is_finite()
            && periods_per_year > 0.0
            && periods_per_year <= MAX_PERIODS_PER_YEAR
        {
            Ok(Context {
                periods_per_year,
                sessions: None,
            })
        } else {
            Err(ComputeError::PeriodsPerYear(periods_per_year))
        }
    }

    /// Attach one session key per bar; `first` says whether the first bar opens its session.
    pub fn with_sessions(self, keys: &'a [i64], first: FirstSession) -> Self {
        Context {
            sessions: Some((keys, first)),
            ..self
        }
    }

    /// The annualisation factor.
    pub fn periods_per_year(&self) -> f64 {
        self.periods_per_year
    }
}

/// One named output of an indicator, aligned 1:1 with the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    name: &'static str,
    values: Vec<Option<f64>>,
}

impl Output {
    /// `value` for single-output indicators, else `macd`, `signal`, `upper`, `k`, ...
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// One value per bar; `None` where not fully warmed or not a finite number.
    pub fn values(&self) -> &[Option<f64>] {
        &self.values
    }
    /// The values, by value.
    pub fn into_values(self) -> Vec<Option<f64>> {
        self.values
    }
}

/// The outputs of one indicator over one bar series (every output as long as the bars).
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorSeries {
    spec: IndicatorSpec,
    outputs: Vec<Output>,
}

impl IndicatorSeries {
    fn new(spec: IndicatorSpec, values: Vec<Vec<Option<f64>>>) -> Self {
        let outputs = spec
            .output_names()
            .iter()
            .zip(values)
            .map(|(&name, values)| Output { name, values })
            .collect();
        IndicatorSeries { spec, outputs }
    }

    /// The indicator.
    pub fn spec(&self) -> &IndicatorSpec {
        &self.spec
    }
    /// The indicator's canonical text form (`rsi:14`), its name in answers.
    pub fn name(&self) -> String {
        self.spec.to_string()
    }
    /// The outputs, in the order of [`IndicatorSpec::output_names`].
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }
    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
    /// Number of rows (bars).
    pub fn len(&self) -> usize {
        self.outputs.first().map_or(0, |o| o.values.len())
    }
    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop the first `rows` rows (the warm-up bars read before the window). OBV is
    /// re-anchored at the last dropped bar, so the answer's OBV is cumulative from its first
    /// bar whatever the amount of history read: the result equals computing over the bars
    /// from index `rows - 1` on and dropping one row.
    pub fn drop_warmup(mut self, rows: usize) -> Self {
        let rows = rows.min(self.len());
        let anchor = match (self.spec, rows.checked_sub(1)) {
            (IndicatorSpec::Obv, Some(last)) => self.outputs[0].values[last].unwrap_or(0.0),
            _ => 0.0,
        };
        for out in &mut self.outputs {
            out.values.drain(..rows);
            if anchor != 0.0 {
                for v in out.values.iter_mut().flatten() {
                    *v -= anchor;
                }
            }
        }
        self
    }
}

/// The largest [`IndicatorSpec::warmup_bars`] of a list: how many bars to read before the
/// window so that every indicator's first value in the window is fully warmed.
pub fn max_warmup_bars(specs: &[IndicatorSpec]) -> usize {
    specs
        .iter()
        .map(IndicatorSpec::warmup_bars)
        .max()
        .unwrap_or(0)
}

/// True when some indicator of the list needs the computation to start at a session start.
pub fn needs_session_start(specs: &[IndicatorSpec]) -> bool {
    specs.iter().any(IndicatorSpec::needs_session_start)
}

/// Index of the first bar of the session holding bar `index` (keys as in [`Context`]);
/// `index` past the end is clamped to the last key.
pub fn session_start(keys: &[i64], index: usize) -> usize {
    let Some(last) = keys.len().checked_sub(1) else {
        return 0;
    };
    let index = index.min(last);
    let key = keys[index];
    keys[..index]
        .iter()
        .rposition(|&k| k != key)
        .map_or(0, |i| i + 1)
}

/// The bar columns the indicators read.
struct Columns {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

impl Columns {
    fn of(bars: &[Bar]) -> Self {
        Columns {
            high: bars.iter().map(Bar::high).collect(),
            low: bars.iter().map(Bar::low).collect(),
            close: bars.iter().map(Bar::close).collect(),
            volume: bars.iter().map(Bar::volume).collect(),
        }
    }
}

/// Compute every indicator over `bars` (oldest first). Each result holds one vector per
/// output, aligned 1:1 with `bars`. Refused before any work when a session indicator has no
/// (or misaligned) session keys.
///
/// To answer a window, read [`max_warmup_bars`] bars before it (and back to the session
/// start if [`needs_session_start`]), compute over warm-up + window, then
/// [`drop_warmup`] the number of warm-up bars actually read; values that history was too
/// short to warm are `None`.
pub fn compute(
    specs: &[IndicatorSpec],
    bars: &[Bar],
    ctx: &Context<'_>,
) -> Result<Vec<IndicatorSeries>, ComputeError> {
    let sessions = match ctx.sessions {
        Some((keys, _)) if keys.len() != bars.len() => {
            return Err(ComputeError::SessionLength {
                keys: keys.len(),
                bars: bars.len(),
            });
        }
        s => s,
    };
    if let Some(spec) = specs.iter().find(|s| s.needs_session_start())
        && sessions.is_none()
    {
        return Err(ComputeError::MissingSessions {
            indicator: spec.to_string(),
        });
    }
    let cols = Columns::of(bars);
    Ok(specs
        .iter()
        .map(|&spec| IndicatorSeries::new(spec, one(spec, &cols, ctx.periods_per_year, sessions)))
        .collect())
}

/// [`IndicatorSeries::drop_warmup`] over every series.
pub fn drop_warmup(series: Vec<IndicatorSeries>, rows: usize) -> Vec<IndicatorSeries> {
    series.into_iter().map(|s| s.drop_warmup(rows)).collect()
}

/// The outputs of one indicator (order of [`IndicatorSpec::output_names`]).
fn one(
    spec: IndicatorSpec,
    c: &Columns,
    periods_per_year: f64,
    sessions: Option<(&[i64], FirstSession)>,
) -> Vec<Vec<Option<f64>>> {
    let (h, l, cl) = (&c.high[..], &c.low[..], &c.close[..]);
    match spec {
        IndicatorSpec::Sma(n) => vec![average::sma(cl, n.get())],
        IndicatorSpec::Ema(n) => vec![average::ema(cl, n.get())],
        IndicatorSpec::Wma(n) => vec![average::wma(cl, n.get())],
        IndicatorSpec::Rsi(n) => vec![momentum::rsi(cl, n.get())],
        IndicatorSpec::Macd(p) => {
            let m = momentum::macd(cl, p.fast().get(), p.slow().get(), p.signal().get());
            vec![m.macd, m.signal, m.histogram]
        }
        IndicatorSpec::Bollinger { period, k } => {
            volatility::bollinger(cl, period.get(), k.get()).into()
        }
        IndicatorSpec::Atr(n) => vec![volatility::atr(h, l, cl, n.get())],
        IndicatorSpec::Stochastic(p) => {
            let (k, d) = momentum::stochastic(
                h,
                l,
                cl,
                p.k_period.get(),
                p.k_smoothing.get(),
                p.d_smoothing.get(),
            );
            vec![k, d]
        }
        IndicatorSpec::WilliamsR(n) => vec![momentum::williams_r(h, l, cl, n.get())],
        IndicatorSpec::Adx(n) => {
            let a = trend::adx(h, l, cl, n.get());
            vec![a.adx, a.plus_di, a.minus_di]
        }
        IndicatorSpec::Obv => vec![volume::obv(cl, &c.volume)],
        IndicatorSpec::Vwap(k) => match sessions {
            Some((keys, first)) => {
                let v = volume::session_vwap(h, l, cl, &c.volume, keys, first, k.get());
                vec![v.vwap, v.upper, v.lower]
            }
            // `compute` refuses a session indicator without sessions before getting here.
            None => vec![vec![None; cl.len()]; 3],
        },
        IndicatorSpec::Volatility(n) => vec![returns::volatility(cl, n.get(), periods_per_year)],
        IndicatorSpec::Returns => vec![returns::simple_returns(cl)],
        IndicatorSpec::LogReturns => vec![returns::log_returns(cl)],
        IndicatorSpec::ZScore(n) => vec![returns::zscore(cl, n.get())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar::new(i as i64 * 60, c, c + 1.0, c - 1.0, c, 10.0).unwrap())
            .collect()
    }

    fn specs(text: &str) -> Vec<IndicatorSpec> {
        crate::parse_indicator_list(text).unwrap()
    }

    #[test]
    fn outputs_are_named_and_aligned() {
        let b = bars(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let keys = [1, 1, 1, 2, 2];
        let ctx = Context::new(252.0)
            .unwrap()
            .with_sessions(&keys, FirstSession::Complete);
        let all = "sma:2,ema:2,wma:2,rsi:2,macd:2:3:2,bb:2:2,atr:2,stoch:2:2:2,willr:2,adx:2,obv,vwap:2,vol:2,ret,logret,zscore:2";
        let out = compute(&specs(all), &b, &ctx).unwrap();
        assert_eq!(out.len(), 16);
        for s in &out {
            assert_eq!(s.outputs().len(), s.spec().output_names().len());
            assert!(
                s.outputs().iter().all(|o| o.values().len() == 5),
                "{}",
                s.name()
            );
        }
        let macd = &out[4];
        assert_eq!(macd.name(), "macd:2:3:2");
        let names: Vec<&str> = macd.outputs().iter().map(Output::name).collect();
        assert_eq!(names, ["macd", "signal", "histogram"]);
        assert_eq!(out[0].output("value").unwrap().values()[1], Some(1.5));
        assert!(out[0].output("nope").is_none());
    }

    #[test]
    fn refusals_come_before_any_work() {
        let b = bars(&[1.0, 2.0]);
        assert_eq!(Context::new(0.0), Err(ComputeError::PeriodsPerYear(0.0)));
        assert!(Context::new(f64::NAN).is_err());
        assert!(Context::new(1e9).is_err());
        let ctx = Context::new(252.0).unwrap();
        let err = compute(&specs("sma,vwap:2"), &b, &ctx).unwrap_err();
        assert_eq!(err.to_string(), "vwap:2 needs a session key per bar");
        let keys = [1];
        let ctx = ctx.with_sessions(&keys, FirstSession::Complete);
        assert_eq!(
            compute(&specs("sma"), &b, &ctx),
            Err(ComputeError::SessionLength { keys: 1, bars: 2 })
        );
    }

    #[test]
    fn dropping_the_warmup_reanchors_obv() {
        let b = bars(&[1.0, 2.0, 1.0, 3.0, 4.0]);
        let ctx = Context::new(252.0).unwrap();
        let full = compute(&specs("obv,sma:2"), &b, &ctx).unwrap();
        // OBV over the bars: None, 10, 0, 10, 20
        assert_eq!(
            full[0].outputs()[0].values(),
            [None, Some(10.0), Some(0.0), Some(10.0), Some(20.0)]
        );
        let dropped = drop_warmup(full.clone(), 3);
        assert_eq!(dropped[0].outputs()[0].values(), [Some(10.0), Some(20.0)]);
        assert_eq!(dropped[1].outputs()[0].values(), [Some(2.0), Some(3.5)]);
        // the same as computing from the last dropped bar on
        let direct = compute(&specs("obv"), &b[2..], &ctx).unwrap();
        assert_eq!(direct[0].clone().drop_warmup(1), dropped[0]);
        assert_eq!(drop_warmup(full.clone(), 0), full);
        assert!(drop_warmup(full, 99).iter().all(IndicatorSeries::is_empty));
    }

    #[test]
    fn session_starts() {
        let keys = [5, 5, 6, 6, 6, 7];
        assert_eq!(session_start(&keys, 0), 0);
        assert_eq!(session_start(&keys, 1), 0);
        assert_eq!(session_start(&keys, 4), 2);
        assert_eq!(session_start(&keys, 5), 5);
        assert_eq!(session_start(&keys, 99), 5);
        assert_eq!(session_start(&[], 3), 0);
    }

    #[test]
    fn warmup_helpers_over_lists() {
        assert_eq!(max_warmup_bars(&specs("sma:20,ret")), 19);
        assert_eq!(max_warmup_bars(&[]), 0);
        assert!(needs_session_start(&specs("sma,vwap")));
        assert!(!needs_session_start(&specs("sma,obv")));
    }
}
