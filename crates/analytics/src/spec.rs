//! [`IndicatorSpec`]: which indicator with which parameters, its text form, its outputs and
//! its warm-up.
//!
//! The text form is `name[:param[:param...]]`, lower case, parameters separated by `:`;
//! trailing parameters may be omitted and take their defaults. [`IndicatorSpec`]'s
//! `Display` always writes the canonical form with every parameter, so equal meanings print
//! equally (`rsi` and `rsi:14` both print `rsi:14`).
//!
//! | text | indicator | defaults |
//! | --- | --- | --- |
//! | `sma:N` | simple moving average of close | N = 20 |
//! | `ema:N` | exponential moving average of close, alpha = 2/(N+1) | N = 20 |
//! | `wma:N` | linearly weighted moving average of close | N = 20 |
//! | `rsi:N` | Wilder's RSI | N = 14 |
//! | `macd:F:S:G` | MACD (fast EMA F, slow EMA S, signal EMA G); F < S | 12:26:9 |
//! | `bb:N:K` | Bollinger Bands, SMA N ± K population standard deviations | 20:2 |
//! | `atr:N` | Wilder's average true range | N = 14 |
//! | `stoch:N:S:D` | slow stochastic: %K over N bars smoothed by SMA S, %D = SMA D of %K | 14:3:3 |
//! | `willr:N` | Williams %R | N = 14 |
//! | `adx:N` | Wilder's ADX with +DI and -DI | N = 14 |
//! | `obv` | on-balance volume | — |
//! | `vwap:K` | session VWAP of the typical price with ± K volume-weighted std bands | K = 1 |
//! | `vol:N` | annualised volatility of log returns over N returns (N >= 2) | N = 20 |
//! | `ret` | simple return `c/c_prev - 1` | — |
//! | `logret` | log return `ln(c/c_prev)` | — |
//! | `zscore:N` | `(close - SMA N) / population std N` (N >= 2) | N = 20 |
//!
//! Bounds: every period is a whole number in `1..=`[`MAX_PERIOD`]; a multiplier K is finite,
//! `> 0` and `<=` [`MAX_MULTIPLIER`]; a list holds at most [`MAX_INDICATORS`] items and no
//! item twice. Names are matched ignoring ASCII case and surrounding spaces.
//!
//! ```
//! use tradeassist_analytics::{parse_indicator_list, IndicatorSpec};
//!
//! let specs = parse_indicator_list("sma:20, rsi, macd:12:26:9,bb:20:2").unwrap();
//! let names: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
//! assert_eq!(names, ["sma:20", "rsi:14", "macd:12:26:9", "bb:20:2"]);
//! assert_eq!("sma:20".parse::<IndicatorSpec>().unwrap().warmup_bars(), 19);
//! let err = parse_indicator_list("sma:20,foo:3").unwrap_err();
//! assert!(err.to_string().contains("foo:3"));
//! ```

use std::fmt;
use std::str::FromStr;

use crate::indicators::{average, momentum, returns, trend, volatility};

/// Largest period any indicator accepts.
pub const MAX_PERIOD: usize = 10_000;
/// Largest band multiplier (`bb:N:K`, `vwap:K`).
pub const MAX_MULTIPLIER: f64 = 100.0;
/// Most indicators one list may name.
pub const MAX_INDICATORS: usize = 32;
/// Longest item text quoted back in an error message (longer items are cut).
const MAX_QUOTED: usize = 48;

/// Why an indicator spec or list was refused; every variant names the offending item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// The list is empty.
    #[error("no indicators given")]
    Empty,
    /// The list names more than [`MAX_INDICATORS`] items.
    #[error("{count} indicators given, at most {max} are allowed")]
    TooMany {
        /// Items in the list.
        count: usize,
        /// [`MAX_INDICATORS`].
        max: usize,
    },
    /// An item of a comma list is blank (`sma:20,,rsi`); `position` counts from 1.
    #[error("indicator #{position} is empty")]
    EmptyItem {
        /// 1-based position of the blank item.
        position: usize,
    },
    /// The name before the first `:` is not a known indicator.
    #[error(
        "unknown indicator {item:?} (known: sma, ema, wma, rsi, macd, bb, atr, stoch, willr, adx, obv, vwap, vol, ret, logret, zscore)"
    )]
    Unknown {
        /// The item as given (trimmed, cut when long).
        item: String,
    },
    /// More parameters than the indicator takes.
    #[error("{item:?}: {name} takes at most {max} parameter(s)")]
    TooManyParams {
        /// The item as given (trimmed, cut when long).
        item: String,
        /// The indicator's name.
        name: &'static str,
        /// Parameters it takes.
        max: usize,
    },
    /// A parameter is malformed or out of bounds.
    #[error("{item:?}: {param} {reason}")]
    BadParam {
        /// The item as given (trimmed, cut when long).
        item: String,
        /// Which parameter (`period`, `multiplier`, `slow period`, ...).
        param: &'static str,
        /// What it must be.
        reason: String,
    },
    /// Two items of one list mean the same indicator.
    #[error("{item:?} is requested twice (both mean {canonical})")]
    Duplicate {
        /// The later item as given (trimmed, cut when long).
        item: String,
        /// The canonical form both items mean.
        canonical: String,
    },
}

/// A period: a whole number of bars in `1..=`[`MAX_PERIOD`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period(usize);

impl Period {
    /// A checked period; `None` outside `1..=MAX_PERIOD`.
    pub fn new(n: usize) -> Option<Self> {
        (1..=MAX_PERIOD).contains(&n).then_some(Period(n))
    }

    /// The number of bars.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A band multiplier: finite, `> 0` and `<=` [`MAX_MULTIPLIER`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Multiplier(f64);

impl Multiplier {
    /// A checked multiplier; `None` when not finite, not positive or above the bound.
    pub fn new(k: f64) -> Option<Self> {
        (k.is_finite() && k > 0.0 && k <= MAX_MULTIPLIER).then_some(Multiplier(k))
    }

    /// The multiplier.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// MACD periods with `fast < slow` (checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacdParams {
    fast: Period,
    slow: Period,
    signal: Period,
}

impl MacdParams {
    /// Checked MACD periods; `None` unless `fast < slow`.
    pub fn new(fast: Period, slow: Period, signal: Period) -> Option<Self> {
        (fast < slow).then_some(MacdParams { fast, slow, signal })
    }
    /// Period of the fast EMA.
    pub fn fast(&self) -> Period {
        self.fast
    }
    /// Period of the slow EMA.
    pub fn slow(&self) -> Period {
        self.slow
    }
    /// Period of the signal EMA (over the MACD line).
    pub fn signal(&self) -> Period {
        self.signal
    }
}

/// Slow stochastic periods: `%K` lookback, `%K` smoothing, `%D` smoothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StochParams {
    /// Bars of the highest-high / lowest-low window of the fast %K.
    pub k_period: Period,
    /// SMA length turning the fast %K into the (slow) %K output.
    pub k_smoothing: Period,
    /// SMA length of %D over %K.
    pub d_smoothing: Period,
}

/// One indicator with its parameters. Parse with [`str::parse`] or
/// [`parse_indicator_list`]; `Display` prints the canonical text form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IndicatorSpec {
    /// Simple moving average of close.
    Sma(Period),
    /// Exponential moving average of close (alpha = 2/(N+1), seeded with the SMA of N).
    Ema(Period),
    /// Linearly weighted moving average of close.
    Wma(Period),
    /// Wilder's relative strength index.
    Rsi(Period),
    /// Moving average convergence/divergence.
    Macd(MacdParams),
    /// Bollinger Bands (population standard deviation, as TA-Lib).
    Bollinger {
        /// Window of the SMA and the standard deviation.
        period: Period,
        /// Standard deviations between the middle and each band.
        k: Multiplier,
    },
    /// Wilder's average true range.
    Atr(Period),
    /// Slow stochastic oscillator.
    Stochastic(StochParams),
    /// Williams %R.
    WilliamsR(Period),
    /// Wilder's average directional index with +DI / -DI.
    Adx(Period),
    /// On-balance volume, cumulative from the first bar of the answer.
    Obv,
    /// Session VWAP with ± k volume-weighted standard-deviation bands.
    Vwap(Multiplier),
    /// Annualised rolling volatility of log returns.
    Volatility(Period),
    /// Simple returns.
    Returns,
    /// Log returns.
    LogReturns,
    /// Rolling z-score of close.
    ZScore(Period),
}

/// Default period of `sma`, `ema`, `wma`, `vol`, `zscore` and `bb`.
pub const DEFAULT_AVERAGE_PERIOD: usize = 20;
/// Default period of `rsi`, `atr`, `willr`, `adx` and the `stoch` %K lookback.
pub const DEFAULT_OSCILLATOR_PERIOD: usize = 14;
/// Default MACD periods (fast, slow, signal).
pub const DEFAULT_MACD: (usize, usize, usize) = (12, 26, 9);
/// Default stochastic smoothings (%K, %D).
pub const DEFAULT_STOCH_SMOOTHING: (usize, usize) = (3, 3);
/// Default Bollinger multiplier.
pub const DEFAULT_BB_K: f64 = 2.0;
/// Default VWAP band multiplier.
pub const DEFAULT_VWAP_K: f64 = 1.0;

impl IndicatorSpec {
    /// The indicator's name in the text form (`sma`, `macd`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            IndicatorSpec::Sma(_) => "sma",
            IndicatorSpec::Ema(_) => "ema",
            IndicatorSpec::Wma(_) => "wma",
            IndicatorSpec::Rsi(_) => "rsi",
            IndicatorSpec::Macd(_) => "macd",
            IndicatorSpec::Bollinger { .. } => "bb",
            IndicatorSpec::Atr(_) => "atr",
            IndicatorSpec::Stochastic(_) => "stoch",
            IndicatorSpec::WilliamsR(_) => "willr",
            IndicatorSpec::Adx(_) => "adx",
            IndicatorSpec::Obv => "obv",
            IndicatorSpec::Vwap(_) => "vwap",
            IndicatorSpec::Volatility(_) => "vol",
            IndicatorSpec::Returns => "ret",
            IndicatorSpec::LogReturns => "logret",
            IndicatorSpec::ZScore(_) => "zscore",
        }
    }

    /// Names of the outputs, in the order [`crate::compute`] returns them.
    pub fn output_names(&self) -> &'static [&'static str] {
        match self {
            IndicatorSpec::Macd(_) => &["macd", "signal", "histogram"],
            IndicatorSpec::Bollinger { .. } => &["middle", "upper", "lower"],
            IndicatorSpec::Stochastic(_) => &["k", "d"],
            IndicatorSpec::Adx(_) => &["adx", "plus_di", "minus_di"],
            IndicatorSpec::Vwap(_) => &["vwap", "upper", "lower"],
            _ => &["value"],
        }
    }

    /// Warm-up of each output (same order as [`IndicatorSpec::output_names`]): the value at
    /// index `i` is `None` for `i <` its warm-up and is the fully warmed value from there on.
    ///
    /// With `m(alpha) = ceil(ln(1e-12) / ln(1 - alpha))` (bars after the seed until its weight
    /// is below 1e-12, [`crate::rolling::convergence_bars`]):
    /// - `sma`, `wma`, `bb`, `willr`, `zscore`: `N - 1` (exact);
    /// - `ema`: `N - 1 + m(2/(N+1))` (seed = SMA of the first N closes);
    /// - `rsi`, `atr`: `N + m(1/N)` (seed = mean of the first N changes / true ranges);
    /// - `macd`: line `max over F,S of (n - 1 + m(2/(n+1)))`; signal and histogram add
    ///   `G - 1 + m(2/(G+1))`;
    /// - `stoch`: %K `N - 1 + S - 1`, %D adds `D - 1` (exact);
    /// - `adx`: ±DI `N + m(1/N)`, ADX `2N - 1 + 2 m(1/N)`;
    /// - `obv`, `ret`, `logret`: 1 (the previous close); `vol`: N;
    /// - `vwap`: 0 bars, but see [`IndicatorSpec::needs_session_start`].
    pub fn output_warmups(&self) -> Vec<usize> {
        match *self {
            IndicatorSpec::Sma(n) | IndicatorSpec::Wma(n) | IndicatorSpec::WilliamsR(n) => {
                vec![n.get() - 1]
            }
            IndicatorSpec::ZScore(n) => vec![n.get() - 1],
            IndicatorSpec::Ema(n) => vec![average::ema_warmup(n.get())],
            IndicatorSpec::Rsi(n) => vec![momentum::rsi_warmup(n.get())],
            IndicatorSpec::Macd(p) => {
                let (line, signal) =
                    momentum::macd_warmups(p.fast.get(), p.slow.get(), p.signal.get());
                vec![line, signal, signal]
            }
            IndicatorSpec::Bollinger { period, .. } => vec![period.get() - 1; 3],
            IndicatorSpec::Atr(n) => vec![volatility::atr_warmup(n.get())],
            IndicatorSpec::Stochastic(p) => {
                let k = p.k_period.get() - 1 + p.k_smoothing.get() - 1;
                vec![k, k + p.d_smoothing.get() - 1]
            }
            IndicatorSpec::Adx(n) => {
                let (adx, di) = trend::adx_warmups(n.get());
                vec![adx, di, di]
            }
            IndicatorSpec::Obv | IndicatorSpec::Returns | IndicatorSpec::LogReturns => vec![1],
            IndicatorSpec::Vwap(_) => vec![0; 3],
            IndicatorSpec::Volatility(n) => vec![returns::volatility_warmup(n.get())],
        }
    }

    /// Bars needed before a point so that every output at that point equals the value
    /// computed from the full history (exactly for finite windows, to a seed residual below
    /// 1e-12 for recursive filters): the largest of [`IndicatorSpec::output_warmups`].
    ///
    /// OBV is the exception by nature: it is cumulative, so it is defined relative to an
    /// anchor; [`crate::IndicatorSeries::drop_warmup`] re-anchors it at the bar before the
    /// first kept row, which makes the answer independent of how much history was read.
    pub fn warmup_bars(&self) -> usize {
        self.output_warmups().into_iter().max().unwrap_or(0)
    }

    /// True when the values depend on the whole trading session up to the point (session
    /// VWAP): the caller must start the computation at the first bar of the session that
    /// contains the window's first bar (or pass [`crate::FirstSession::Partial`], which makes
    /// that first session `None`).
    pub fn needs_session_start(&self) -> bool {
        matches!(self, IndicatorSpec::Vwap(_))
    }
}

impl fmt::Display for IndicatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            IndicatorSpec::Sma(n)
            | IndicatorSpec::Ema(n)
            | IndicatorSpec::Wma(n)
            | IndicatorSpec::Rsi(n)
            | IndicatorSpec::Atr(n)
            | IndicatorSpec::WilliamsR(n)
            | IndicatorSpec::Adx(n)
            | IndicatorSpec::Volatility(n)
            | IndicatorSpec::ZScore(n) => write!(f, "{kind}:{}", n.get()),
            IndicatorSpec::Macd(p) => write!(
                f,
                "{kind}:{}:{}:{}",
                p.fast.get(),
                p.slow.get(),
                p.signal.get()
            ),
            IndicatorSpec::Bollinger { period, k } => {
                write!(f, "{kind}:{}:{}", period.get(), k.get())
            }
            IndicatorSpec::Stochastic(p) => write!(
                f,
                "{kind}:{}:{}:{}",
                p.k_period.get(),
                p.k_smoothing.get(),
                p.d_smoothing.get()
            ),
            IndicatorSpec::Vwap(k) => write!(f, "{kind}:{}", k.get()),
            IndicatorSpec::Obv | IndicatorSpec::Returns | IndicatorSpec::LogReturns => {
                f.write_str(kind)
            }
        }
    }
}

/// The item text as quoted in errors: trimmed and cut to a readable length.
fn quoted(item: &str) -> String {
    let item = item.trim();
    if item.chars().count() <= MAX_QUOTED {
        item.to_string()
    } else {
        let cut: String = item.chars().take(MAX_QUOTED).collect();
        format!("{cut}...")
    }
}

/// Parameters of one item, consumed left to right with defaults for missing ones.
struct Params<'a> {
    item: &'a str,
    rest: std::str::Split<'a, char>,
}

impl Params<'_> {
    fn bad(&self, param: &'static str, reason: impl Into<String>) -> SpecError {
        SpecError::BadParam {
            item: quoted(self.item),
            param,
            reason: reason.into(),
        }
    }

    fn next_text(&mut self, param: &'static str) -> Result<Option<&str>, SpecError> {
        match self.rest.next().map(str::trim) {
            None => Ok(None),
            Some("") => Err(self.bad(param, "is empty")),
            Some(text) => Ok(Some(text)),
        }
    }

    fn period(
        &mut self,
        param: &'static str,
        default: usize,
        min: usize,
    ) -> Result<Period, SpecError> {
        let reason = || format!("must be a whole number from {min} to {MAX_PERIOD}");
        let n = match self.next_text(param)? {
            None => default,
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| self.bad(param, reason()))?,
        };
        if n < min {
            return Err(self.bad(param, reason()));
        }
        Period::new(n).ok_or_else(|| self.bad(param, reason()))
    }

    fn multiplier(&mut self, param: &'static str, default: f64) -> Result<Multiplier, SpecError> {
        let reason = || format!("must be a number above 0 and at most {MAX_MULTIPLIER}");
        let k = match self.next_text(param)? {
            None => default,
            Some(text) => text.parse::<f64>().map_err(|_| self.bad(param, reason()))?,
        };
        Multiplier::new(k).ok_or_else(|| self.bad(param, reason()))
    }

    /// Refuse parameters beyond the `max` the indicator takes.
    fn finish(mut self, name: &'static str, max: usize) -> Result<(), SpecError> {
        match self.rest.next() {
            None => Ok(()),
            Some(_) => Err(SpecError::TooManyParams {
                item: quoted(self.item),
                name,
                max,
            }),
        }
    }
}

impl FromStr for IndicatorSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let item = text.trim();
        let mut parts = item.split(':');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut p = Params { item, rest: parts };
        let avg = DEFAULT_AVERAGE_PERIOD;
        let osc = DEFAULT_OSCILLATOR_PERIOD;
        let (spec, name, max) = match name.as_str() {
            "sma" => (IndicatorSpec::Sma(p.period("period", avg, 1)?), "sma", 1),
            "ema" => (IndicatorSpec::Ema(p.period("period", avg, 1)?), "ema", 1),
            "wma" => (IndicatorSpec::Wma(p.period("period", avg, 1)?), "wma", 1),
            "rsi" => (IndicatorSpec::Rsi(p.period("period", osc, 1)?), "rsi", 1),
            "atr" => (IndicatorSpec::Atr(p.period("period", osc, 1)?), "atr", 1),
            "willr" => (
                IndicatorSpec::WilliamsR(p.period("period", osc, 1)?),
                "willr",
                1,
            ),
            "adx" => (IndicatorSpec::Adx(p.period("period", osc, 1)?), "adx", 1),
            "vol" => (
                IndicatorSpec::Volatility(p.period("period", avg, 2)?),
                "vol",
                1,
            ),
            "zscore" => (
                IndicatorSpec::ZScore(p.period("period", avg, 2)?),
                "zscore",
                1,
            ),
            "macd" => {
                let (df, ds, dg) = DEFAULT_MACD;
                let fast = p.period("fast period", df, 1)?;
                let slow = p.period("slow period", ds, 1)?;
                let signal = p.period("signal period", dg, 1)?;
                let params = MacdParams::new(fast, slow, signal).ok_or_else(|| {
                    p.bad(
                        "fast period",
                        format!("must be below the slow period {}", slow.get()),
                    )
                })?;
                (IndicatorSpec::Macd(params), "macd", 3)
            }
            "bb" => {
                let period = p.period("period", avg, 1)?;
                let k = p.multiplier("multiplier", DEFAULT_BB_K)?;
                (IndicatorSpec::Bollinger { period, k }, "bb", 2)
            }
            "stoch" => {
                let (dk, dd) = DEFAULT_STOCH_SMOOTHING;
                let params = StochParams {
                    k_period: p.period("%K period", osc, 1)?,
                    k_smoothing: p.period("%K smoothing", dk, 1)?,
                    d_smoothing: p.period("%D smoothing", dd, 1)?,
                };
                (IndicatorSpec::Stochastic(params), "stoch", 3)
            }
            "vwap" => (
                IndicatorSpec::Vwap(p.multiplier("band multiplier", DEFAULT_VWAP_K)?),
                "vwap",
                1,
            ),
            "obv" => (IndicatorSpec::Obv, "obv", 0),
            "ret" => (IndicatorSpec::Returns, "ret", 0),
            "logret" => (IndicatorSpec::LogReturns, "logret", 0),
            _ => return Err(SpecError::Unknown { item: quoted(item) }),
        };
        p.finish(name, max)?;
        Ok(spec)
    }
}

/// Parse a comma-separated list (`sma:20,rsi:14,macd:12:26:9,bb:20:2`): at most
/// [`MAX_INDICATORS`] items, none blank, none meaning the same as an earlier one. The error
/// names the first bad item.
pub fn parse_indicator_list(text: &str) -> Result<Vec<IndicatorSpec>, SpecError> {
    if text.trim().is_empty() {
        return Err(SpecError::Empty);
    }
    let count = text.split(',').count();
    if count > MAX_INDICATORS {
        return Err(SpecError::TooMany {
            count,
            max: MAX_INDICATORS,
        });
    }
    let mut specs: Vec<IndicatorSpec> = Vec::with_capacity(count);
    for (i, item) in text.split(',').enumerate() {
        if item.trim().is_empty() {
            return Err(SpecError::EmptyItem { position: i + 1 });
        }
        let spec: IndicatorSpec = item.parse()?;
        if specs.contains(&spec) {
            return Err(SpecError::Duplicate {
                item: quoted(item),
                canonical: spec.to_string(),
            });
        }
        specs.push(spec);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        text.parse::<IndicatorSpec>().unwrap().to_string()
    }

    #[test]
    fn text_forms_round_trip_with_defaults_filled() {
        for (text, want) in [
            ("sma", "sma:20"),
            ("sma:5", "sma:5"),
            ("EMA:9", "ema:9"),
            ("wma", "wma:20"),
            ("rsi", "rsi:14"),
            ("macd", "macd:12:26:9"),
            ("macd:5", "macd:5:26:9"),
            ("macd:5:35:5", "macd:5:35:5"),
            ("bb", "bb:20:2"),
            ("bb:10:1.5", "bb:10:1.5"),
            ("atr", "atr:14"),
            ("stoch", "stoch:14:3:3"),
            ("stoch:5:1", "stoch:5:1:3"),
            ("willr", "willr:14"),
            ("adx:7", "adx:7"),
            ("obv", "obv"),
            ("vwap", "vwap:1"),
            ("vwap:2", "vwap:2"),
            ("vol", "vol:20"),
            ("ret", "ret"),
            ("logret", "logret"),
            (" zscore : 30 ", "zscore:30"),
        ] {
            assert_eq!(canon(text), want, "{text}");
            assert_eq!(canon(want), want, "{want} is canonical");
        }
    }

    #[test]
    fn bad_items_are_named() {
        for (text, needle) in [
            ("foo", "unknown indicator \"foo\""),
            ("sma:0", "period must be a whole number from 1 to 10000"),
            ("sma:10001", "10000"),
            ("sma:99999999999999999999999", "whole number"),
            ("sma:-3", "whole number"),
            ("sma:2.5", "whole number"),
            ("sma:", "period is empty"),
            ("sma:20:3", "sma takes at most 1 parameter"),
            ("obv:3", "obv takes at most 0"),
            ("macd:26:12", "fast period must be below the slow period 12"),
            ("macd:12:12", "below the slow period"),
            ("bb:20:0", "multiplier must be a number above 0"),
            ("bb:20:NaN", "multiplier"),
            ("bb:20:inf", "multiplier"),
            ("bb:20:101", "at most 100"),
            ("vwap:-1", "band multiplier"),
            ("vol:1", "from 2 to"),
            ("zscore:1", "from 2 to"),
        ] {
            let err = text.parse::<IndicatorSpec>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn lists_parse_and_refuse_with_the_item_named() {
        let specs = parse_indicator_list("sma:20,rsi:14,macd:12:26:9,bb:20:2").unwrap();
        assert_eq!(specs.len(), 4);
        assert_eq!(parse_indicator_list(""), Err(SpecError::Empty));
        assert_eq!(
            parse_indicator_list("sma,,rsi"),
            Err(SpecError::EmptyItem { position: 2 })
        );
        let err = parse_indicator_list("sma:20,rsi:x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"rsi:x\""), "{err}");
        let err = parse_indicator_list("rsi,sma,rsi:14")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"rsi:14\" is requested twice (both mean rsi:14)"),
            "{err}"
        );
        let many = vec!["ret"; MAX_INDICATORS + 1].join(",");
        assert!(matches!(
            parse_indicator_list(&many),
            Err(SpecError::TooMany { count: 33, .. })
        ));
        let long = format!("sma:{}", "9".repeat(500));
        let err = parse_indicator_list(&long).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn warmups_follow_the_documented_formulas() {
        let w = |t: &str| t.parse::<IndicatorSpec>().unwrap().warmup_bars();
        assert_eq!(w("sma:20"), 19);
        assert_eq!(w("wma:1"), 0);
        assert_eq!(w("bb:20:2"), 19);
        assert_eq!(w("willr:14"), 13);
        assert_eq!(w("zscore:20"), 19);
        assert_eq!(w("ema:20"), 19 + 277);
        assert_eq!(w("rsi:14"), 14 + 373);
        assert_eq!(w("atr:14"), 14 + 373);
        assert_eq!(w("stoch:14:3:3"), 13 + 2 + 2);
        assert_eq!(w("adx:14"), 27 + 2 * 373);
        assert_eq!(w("obv"), 1);
        assert_eq!(w("ret"), 1);
        assert_eq!(w("logret"), 1);
        assert_eq!(w("vol:20"), 20);
        assert_eq!(w("vwap"), 0);
        // macd 12:26:9: line 25 + m(2/27) = 25 + 360; signal adds 8 + m(0.2) = 8 + 124
        let slow_m = crate::rolling::convergence_bars(2.0 / 27.0);
        let sig_m = crate::rolling::convergence_bars(0.2);
        assert_eq!((slow_m, sig_m), (360, 124));
        assert_eq!(w("macd:12:26:9"), 25 + slow_m + 8 + sig_m);
        // the largest period stays a small number, computed without overflow
        assert!(w("adx:10000") < 1_000_000);
        assert!(
            "vwap"
                .parse::<IndicatorSpec>()
                .unwrap()
                .needs_session_start()
        );
        assert!(
            !"sma"
                .parse::<IndicatorSpec>()
                .unwrap()
                .needs_session_start()
        );
    }
}
