//! Activity-driven bars: a new bar every N units of volume, base bars (ticks), or traded
//! value, instead of every N minutes.
//!
//! Base bars are indivisible: a bar closes with the base bar that makes its running total
//! reach the threshold, so totals can overshoot. Activity bars run across sessions; the last
//! bar is incomplete when it has not reached the threshold.
//!
//! ```
//! use tradeassist_engine::{activity_bars, Activity, BarSpec};
//! use tradeassist_model::{Bar, Resolution};
//!
//! let spec: BarSpec = "volume:250".parse().unwrap();
//! assert_eq!(spec, BarSpec::Activity(Activity::Volume(250.0)));
//! let bars: Vec<Bar> = (0..5).map(|i| Bar::new(60 * i, 1.0, 1.0, 1.0, 1.0, 100.0).unwrap()).collect();
//! let out = activity_bars(&bars, Resolution::Minute, Activity::Volume(250.0)).unwrap();
//! assert_eq!(out.len(), 2);
//! assert_eq!((out[0].count, out[0].volume, out[0].complete), (3, 300.0, true));
//! assert_eq!((out[1].count, out[1].complete), (2, false));
//! ```

use std::fmt;
use std::str::FromStr;

use tradeassist_model::{Bar, Resolution, Timeframe};

use crate::EngineError;
use crate::aggregate::{AggBar, Ohlc, VwapSource, check_sorted, vwap_source};

/// The threshold of an activity bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activity {
    /// Close a bar once its volume reaches this.
    Volume(f64),
    /// Close a bar after this many base bars.
    Tick(u32),
    /// Close a bar once `Σ price·volume` reaches this (price as for VWAP).
    Dollar(f64),
}

/// Any bar specification: a time frequency or an activity threshold.
///
/// Parses `5m`, `1d`, ... (see [`Timeframe`]) and `volume:50000`, `tick:100`, `dollar:1e6`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BarSpec {
    Time(Timeframe),
    Activity(Activity),
}

impl FromStr for BarSpec {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || EngineError::BadBarSpec(s.to_string());
        let Some((kind, value)) = s.split_once(':') else {
            return s.parse().map(BarSpec::Time).map_err(|_| bad());
        };
        let positive = |v: f64| (v.is_finite() && v > 0.0).then_some(v).ok_or_else(bad);
        let activity = match kind {
            "volume" => Activity::Volume(positive(value.parse().map_err(|_| bad())?)?),
            "dollar" => Activity::Dollar(positive(value.parse().map_err(|_| bad())?)?),
            "tick" => match value.parse::<u32>() {
                Ok(n) if n > 0 => Activity::Tick(n),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        };
        Ok(BarSpec::Activity(activity))
    }
}

impl fmt::Display for BarSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarSpec::Time(tf) => write!(f, "{tf}"),
            BarSpec::Activity(Activity::Volume(v)) => write!(f, "volume:{v}"),
            BarSpec::Activity(Activity::Tick(n)) => write!(f, "tick:{n}"),
            BarSpec::Activity(Activity::Dollar(v)) => write!(f, "dollar:{v}"),
        }
    }
}

/// Build activity bars from base bars (strictly increasing `ts`). Each bar's `start` is its
/// first base bar's `ts`, `end` the end of its last base bar; the label is the start.
pub fn activity_bars(
    bars: &[Bar],
    base: Resolution,
    activity: Activity,
) -> Result<Vec<AggBar>, EngineError> {
    check_sorted(bars)?;
    let vendor = vwap_source(bars) == VwapSource::Vendor;
    let price = |b: &Bar| match b.vwap() {
        Some(p) if vendor => p,
        _ => b.typical_price(),
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < bars.len() {
        let first = &bars[i];
        let mut bar = AggBar {
            ts: first.ts(),
            start: first.ts(),
            end: first.ts() + base.seconds(),
            date: None,
            ohlc: Some(Ohlc {
                open: first.open(),
                high: first.high(),
                low: first.low(),
                close: first.close(),
            }),
            volume: 0.0,
            open_interest: None,
            vwap: None,
            session_vwap: None,
            complete: false,
            count: 0,
            filled: None,
        };
        let mut pv = 0.0;
        let ohlc = bar.ohlc.as_mut().expect("set above");
        while i < bars.len() {
            let b = &bars[i];
            i += 1;
            ohlc.high = ohlc.high.max(b.high());
            ohlc.low = ohlc.low.min(b.low());
            ohlc.close = b.close();
            bar.volume += b.volume();
            pv += price(b) * b.volume();
            bar.count += 1;
            if b.open_interest().is_some() {
                bar.open_interest = b.open_interest();
            }
            bar.end = b.ts() + base.seconds();
            let reached = match activity {
                Activity::Volume(v) => bar.volume >= v,
                Activity::Tick(n) => bar.count >= n,
                Activity::Dollar(v) => pv >= v,
            };
            if reached {
                bar.complete = true;
                break;
            }
        }
        bar.vwap = (bar.volume > 0.0).then(|| pv / bar.volume);
        out.push(bar);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_specs() {
        for (s, spec) in [
            (
                "volume:50000",
                BarSpec::Activity(Activity::Volume(50_000.0)),
            ),
            ("tick:100", BarSpec::Activity(Activity::Tick(100))),
            ("dollar:1e6", BarSpec::Activity(Activity::Dollar(1e6))),
            ("5m", BarSpec::Time("5m".parse().unwrap())),
        ] {
            assert_eq!(s.parse::<BarSpec>().unwrap(), spec, "{s}");
            assert_eq!(spec.to_string().parse::<BarSpec>().unwrap(), spec);
        }
        for bad in [
            "volume:",
            "volume:-1",
            "tick:0",
            "tick:1.5",
            "dollar:x",
            "range:5",
            "5x",
            "volume:inf",
        ] {
            assert!(bad.parse::<BarSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn nan_zero_and_huge_thresholds_are_refused_or_harmless() {
        for bad in [
            "dollar:NaN",
            "volume:nan",
            "tick:0",
            "volume:0",
            "dollar:-1e308",
            "tick:99999999999",
        ] {
            assert_eq!(
                bad.parse::<BarSpec>(),
                Err(EngineError::BadBarSpec(bad.into())),
                "{bad}"
            );
        }
        // A huge but finite threshold is valid: one bar that never completes.
        let spec: BarSpec = "volume:1e308".parse().unwrap();
        let BarSpec::Activity(a) = spec else {
            panic!("{spec}")
        };
        let bars: Vec<Bar> = (0..3)
            .map(|i| Bar::new(60 * i, 1.0, 1.0, 1.0, 1.0, 1.0).unwrap())
            .collect();
        let out = activity_bars(&bars, Resolution::Minute, a).unwrap();
        assert_eq!((out.len(), out[0].complete), (1, false));
    }

    #[test]
    fn tick_and_dollar_bars() {
        let bars: Vec<Bar> = (0..7)
            .map(|i| Bar::new(60 * i, 10.0, 12.0, 9.0, 11.0 - i as f64 * 0.1, 10.0).unwrap())
            .collect();
        let ticks = activity_bars(&bars, Resolution::Minute, Activity::Tick(3)).unwrap();
        assert_eq!(
            ticks.iter().map(|b| b.count).collect::<Vec<_>>(),
            vec![3, 3, 1]
        );
        assert_eq!(ticks[1].start, 180);
        assert_eq!(ticks[1].end, 360);
        assert_eq!(ticks[1].ohlc.unwrap().close, bars[5].close());
        assert!(!ticks[2].complete);
        // Each bar trades ~10 * 10.6 = 106 dollars; 200 needs two bars.
        let dollars = activity_bars(&bars, Resolution::Minute, Activity::Dollar(200.0)).unwrap();
        assert_eq!(dollars[0].count, 2);
        assert!(activity_bars(&[bars[1], bars[0]], Resolution::Minute, Activity::Tick(1)).is_err());
    }
}
