//! The warm-up contract on real data: computing over `[warmup bars + window]` and dropping
//! the warm-up gives the full-history values of the window (1e-9 relative); with fewer bars
//! than an output's warm-up its first values are `None`, and its first value after the
//! warm-up is already there.

mod common;

use common::{Fixture, assert_series_close, load};
use tradeassist_analytics::{
    Context, FirstSession, IndicatorSeries, IndicatorSpec, compute, drop_warmup, max_warmup_bars,
    parse_indicator_list, session_start,
};

const SPECS: &str = "sma:20,ema:20,wma:20,rsi:14,macd:12:26:9,bb:20:2,atr:14,stoch:14:3:3,\
                     willr:14,adx:14,obv,vwap:2,vol:20,ret,logret,zscore:20";
const MORE: &str = "ema:5,rsi:2,macd:5:35:5,atr:1,adx:5,bb:100:2,zscore:100,sma:300,wma:100";

fn specs() -> Vec<IndicatorSpec> {
    let mut all = parse_indicator_list(SPECS).unwrap();
    all.extend(parse_indicator_list(MORE).unwrap());
    all
}

/// Compute over `fx.bars[start..]` (its session keys with it).
fn run(
    fx: &Fixture,
    specs: &[IndicatorSpec],
    start: usize,
    first: FirstSession,
) -> Vec<IndicatorSeries> {
    let ctx = Context::new(252.0)
        .unwrap()
        .with_sessions(&fx.sessions[start..], first);
    compute(specs, &fx.bars[start..], &ctx).unwrap()
}

fn assert_same(what: &str, got: &IndicatorSeries, want: &IndicatorSeries) -> f64 {
    assert_eq!(got.name(), want.name());
    let mut worst = 0.0f64;
    for (g, w) in got.outputs().iter().zip(want.outputs()) {
        let what = format!("{what} {}.{}", got.name(), g.name());
        worst = worst.max(assert_series_close(&what, g.values(), w.values()));
    }
    worst
}

/// Window starts to try: right at the warm-up, a little later, near the end.
fn window_starts(warmup: usize, len: usize) -> Vec<usize> {
    [warmup, warmup + 37, len.saturating_sub(150)]
        .into_iter()
        .filter(|&w0| w0 >= warmup && w0 < len)
        .collect()
}

#[test]
fn a_warmed_window_equals_the_full_history() {
    let mut worst = 0.0f64;
    for file in ["ibm_daily.csv", "spy_1m.csv"] {
        let fx = load(file);
        let len = fx.bars.len();
        for spec in specs() {
            let one = [spec];
            let full = run(&fx, &one, 0, FirstSession::Complete).remove(0);
            let warmup = spec.warmup_bars();
            let starts = window_starts(warmup, len);
            assert!(
                !starts.is_empty(),
                "{file}: {spec} warm-up {warmup} fits the fixture"
            );
            for w0 in starts {
                // a session indicator starts at the session holding the window's first bar
                let from = if spec.needs_session_start() {
                    session_start(&fx.sessions, w0).min(w0 - warmup)
                } else {
                    w0 - warmup
                };
                let warmed = run(&fx, &one, from, FirstSession::Complete).remove(0);
                let what = format!("{file} from {w0}");
                let got = warmed.drop_warmup(w0 - from);
                worst = worst.max(assert_same(&what, &got, &full.clone().drop_warmup(w0)));
            }
        }
    }
    eprintln!("largest relative difference: {worst:e}");
}

#[test]
fn one_warmup_for_a_whole_list() {
    // What the service does: read the largest warm-up of the list (here more than the OBV
    // and session-VWAP needs), compute once, drop it.
    let fx = load("spy_1m.csv");
    let specs = specs();
    let warmup = max_warmup_bars(&specs);
    assert_eq!(warmup, 773, "adx:14");
    let full = run(&fx, &specs, 0, FirstSession::Complete);
    let w0 = fx.bars.len() - 200;
    let warmed = drop_warmup(
        run(&fx, &specs, w0 - warmup, FirstSession::Complete),
        warmup,
    );
    for (got, want) in warmed.iter().zip(drop_warmup(full, w0)) {
        assert_same("list", got, &want);
    }
}

#[test]
fn a_partial_first_session_stays_null_until_the_next_session() {
    let fx = load("spy_1m.csv");
    let spec = ["vwap:2".parse::<IndicatorSpec>().unwrap()];
    let full = run(&fx, &spec, 0, FirstSession::Complete).remove(0);
    let w0 = 300; // mid-session
    let next = (w0..fx.sessions.len())
        .find(|&i| fx.sessions[i] != fx.sessions[w0])
        .unwrap();
    let partial = run(&fx, &spec, w0, FirstSession::Partial).remove(0);
    for out in partial.outputs() {
        assert!(out.values()[..next - w0].iter().all(Option::is_none));
    }
    assert_same(
        "partial",
        &partial.drop_warmup(next - w0),
        &full.drop_warmup(next),
    );
}

#[test]
fn with_too_little_history_the_first_values_are_null() {
    let fx = load("ibm_daily.csv");
    let w0 = 775; // every warm-up fits before it
    for spec in specs() {
        let warmups = spec.output_warmups();
        let warmup = spec.warmup_bars();
        for read in [0, warmup / 2, warmup.saturating_sub(1)] {
            let series = run(&fx, &[spec], w0 - read, FirstSession::Complete).remove(0);
            for (out, &w) in series.outputs().iter().zip(&warmups) {
                let v = out.values();
                let what = format!("{spec}.{} with {read} bars before", out.name());
                assert!(v.len() > 700, "{what}");
                let w_in = w.min(v.len());
                assert!(
                    v[..w_in].iter().all(Option::is_none),
                    "{what}: None before {w}"
                );
                if w < v.len() {
                    assert!(v[w].is_some(), "{what}: value at {w}");
                }
            }
            let answer = series.drop_warmup(read);
            let first = answer.outputs().iter().map(|o| o.values()[0]);
            if read < warmup && !spec.needs_session_start() {
                assert!(
                    first.clone().any(|v| v.is_none()),
                    "{spec}: first row not warmed"
                );
            }
        }
    }
}
