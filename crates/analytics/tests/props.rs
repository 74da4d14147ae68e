//! Property tests: no input panics, text forms round-trip, outputs stay aligned and finite,
//! warm-ups hold on random series, the rolling statistics match a naive reference.

use proptest::prelude::*;
use tradeassist_analytics::rolling::{EXACT_WINDOW, rolling_moments, rolling_wma};
use tradeassist_analytics::{
    Context, FirstSession, IndicatorSpec, compute, drop_warmup, parse_indicator_list,
};
use tradeassist_model::Bar;

const NAMES: [&str; 17] = [
    "sma", "ema", "wma", "rsi", "macd", "bb", "atr", "stoch", "willr", "adx", "obv", "vwap", "vol",
    "ret", "logret", "zscore", "nope",
];

/// `name[:p[:p...]]` with parameters from small to absurd.
fn spec_text() -> impl Strategy<Value = String> {
    let param = prop_oneof![
        (0u64..40).prop_map(|n| n.to_string()),
        Just("10000".to_string()),
        Just("10001".to_string()),
        Just("18446744073709551616".to_string()),
        (-5.0f64..5.0).prop_map(|k| k.to_string()),
        Just("nan".to_string()),
        Just("".to_string()),
        "[a-z:.,-]{0,4}",
    ];
    (
        prop::sample::select(NAMES.to_vec()),
        prop::collection::vec(param, 0..5),
    )
        .prop_map(|(name, params)| {
            std::iter::once(name.to_string())
                .chain(params)
                .collect::<Vec<_>>()
                .join(":")
        })
}

/// A valid spec with small periods (so that random series warm up).
fn small_spec() -> impl Strategy<Value = IndicatorSpec> {
    (
        prop::sample::select(NAMES[..16].to_vec()),
        1usize..12,
        1usize..6,
        1usize..6,
        0.1f64..4.0,
    )
        .prop_map(|(name, a, b, c, k)| {
            let text = match name {
                "macd" => format!("macd:{a}:{}:{c}", a + b),
                "bb" => format!("bb:{a}:{k}"),
                "vwap" => format!("vwap:{k}"),
                "stoch" => format!("stoch:{a}:{b}:{c}"),
                "vol" | "zscore" => format!("{name}:{}", a + 1),
                "obv" | "ret" | "logret" => name.to_string(),
                _ => format!("{name}:{a}"),
            };
            text.parse().expect("generated spec is valid")
        })
}

/// Valid bars: a random walk with flat stretches, zero volumes and equal sessions.
fn bars() -> impl Strategy<Value = (Vec<Bar>, Vec<i64>)> {
    bars_up_to(90)
}

/// [`bars`] with up to `max - 1` bars.
fn bars_up_to(max: usize) -> impl Strategy<Value = (Vec<Bar>, Vec<i64>)> {
    prop::collection::vec((-3i32..=3, 0u8..3, 0u32..50, 0u8..8), 0..max).prop_map(|steps| {
        let mut price = 100.0;
        let mut session = 0i64;
        let mut bars = Vec::new();
        let mut keys = Vec::new();
        for (i, (step, spread, vol, new_session)) in steps.into_iter().enumerate() {
            price = (price + f64::from(step) * 0.25).max(0.25);
            let half = f64::from(spread) * 0.125;
            let volume = if vol < 10 { 0.0 } else { f64::from(vol) };
            let bar = Bar::new(
                i as i64 * 60,
                price,
                price + half,
                price - half,
                price,
                volume,
            );
            bars.push(bar.expect("valid bar"));
            if new_session == 0 {
                session += 1;
            }
            keys.push(session);
        }
        (bars, keys)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_parses_or_fails_cleanly(text in "\\PC{0,40}") {
        let _ = text.parse::<IndicatorSpec>();
        let _ = parse_indicator_list(&text);
    }

    #[test]
    fn parsed_specs_round_trip(text in spec_text()) {
        let _ = parse_indicator_list(&text);
        if let Ok(spec) = text.parse::<IndicatorSpec>() {
            prop_assert_eq!(spec.to_string().parse::<IndicatorSpec>(), Ok(spec));
            prop_assert!(spec.warmup_bars() < 1_000_000);
        }
    }

    #[test]
    fn printed_lists_parse_back(specs in prop::collection::vec(small_spec(), 1..40)) {
        let text: Vec<String> = specs.iter().map(ToString::to_string).collect();
        let parsed = parse_indicator_list(&text.join(","));
        let distinct = text.iter().enumerate().all(|(i, t)| !text[..i].contains(t));
        if distinct && specs.len() <= 32 {
            prop_assert_eq!(parsed, Ok(specs));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn outputs_are_aligned_finite_and_null_before_their_warmup(
        (bars, keys) in bars(),
        specs in prop::collection::vec(small_spec(), 1..6),
        huge in any::<bool>(),
    ) {
        let mut specs = specs;
        if huge {
            specs.push("adx:10000".parse().unwrap());
            specs.push("macd:9999:10000:10000".parse().unwrap());
        }
        let ctx = Context::new(252.0).unwrap().with_sessions(&keys, FirstSession::Complete);
        let series = compute(&specs, &bars, &ctx).unwrap();
        for s in &series {
            for (out, w) in s.outputs().iter().zip(s.spec().output_warmups()) {
                prop_assert_eq!(out.values().len(), bars.len());
                prop_assert!(out.values().iter().flatten().all(|v| v.is_finite()));
                prop_assert!(out.values().iter().take(w).all(Option::is_none), "{} {}", s.name(), out.name());
            }
        }
        let n = bars.len() / 2;
        prop_assert!(drop_warmup(series, n).iter().all(|s| s.len() == bars.len() - n));
    }

    #[test]
    fn values_after_the_warmup_do_not_depend_on_older_history(
        (bars, keys) in bars_up_to(700),
        spec in small_spec(),
        offset in any::<usize>(),
    ) {
        // every small spec's warm-up (at most adx:11, 601 bars) fits in 700 bars
        let warmup = spec.warmup_bars();
        if bars.len() <= warmup {
            return Ok(());
        }
        let cut = warmup + offset % (bars.len() - warmup);
        let ctx = Context::new(252.0).unwrap().with_sessions(&keys, FirstSession::Complete);
        let full = compute(&[spec], &bars, &ctx).unwrap().remove(0).drop_warmup(cut);
        let from = if spec.needs_session_start() {
            tradeassist_analytics::session_start(&keys, cut).min(cut - warmup)
        } else {
            cut - warmup
        };
        let ctx = Context::new(252.0).unwrap().with_sessions(&keys[from..], FirstSession::Complete);
        let part = compute(&[spec], &bars[from..], &ctx).unwrap().remove(0).drop_warmup(cut - from);
        for (a, b) in part.outputs().iter().zip(full.outputs()) {
            for (x, y) in a.values().iter().zip(b.values()) {
                match (x, y) {
                    (Some(x), Some(y)) => prop_assert!((x - y).abs() <= 1e-9 * x.abs().max(y.abs()) + 1e-9,
                        "{}.{}: {} vs {}", part.name(), a.name(), x, y),
                    (None, None) => {}
                    _ => prop_assert!(false, "{}.{}: {:?} vs {:?}", part.name(), a.name(), x, y),
                }
            }
        }
    }

    #[test]
    fn rolling_statistics_match_a_naive_reference(
        xs in prop::collection::vec(-1e3f64..1e3, 0..300),
        n in 1usize..(EXACT_WINDOW + 40),
    ) {
        let moments = rolling_moments(&xs, n);
        let wma = rolling_wma(&xs, n);
        for i in 0..xs.len() {
            if i + 1 < n {
                prop_assert!(moments[i].is_none() && wma[i].is_none());
                continue;
            }
            let w = &xs[i + 1 - n..=i];
            let mean = w.iter().sum::<f64>() / n as f64;
            let m2: f64 = w.iter().map(|x| (x - mean).powi(2)).sum();
            let wm = w.iter().zip(1..).map(|(x, k)| x * f64::from(k)).sum::<f64>() / (n * (n + 1) / 2) as f64;
            let got = moments[i].unwrap();
            prop_assert!((got.mean - mean).abs() <= 1e-9 * 1e3);
            prop_assert!((got.m2 - m2).abs() <= 1e-9 * (m2 + 1e3));
            prop_assert!((wma[i].unwrap() - wm).abs() <= 1e-9 * 1e3);
        }
    }
}
