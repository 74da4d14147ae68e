//! Shared by the integration tests: the committed fixtures and the 1e-9 comparison.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;

use tradeassist_model::Bar;

/// Relative tolerance of every comparison.
pub const REL: f64 = 1e-9;
/// Absolute floor for values near 0 (oscillators crossing 0, returns, z-scores): far below
/// the rounding of one price in the fixtures, far above the rounding of the arithmetic.
pub const ABS: f64 = 1e-10;

/// One fixture file: bars, the session key of each bar.
pub struct Fixture {
    pub name: String,
    pub bars: Vec<Bar>,
    pub sessions: Vec<i64>,
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Read `ts,session,open,high,low,close,volume` (as written by make_reference.py).
pub fn load(name: &str) -> Fixture {
    let text = std::fs::read_to_string(fixtures_dir().join(name)).expect("fixture readable");
    let mut bars = Vec::new();
    let mut sessions = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 7, "{name}:{} has 7 fields", i + 1);
        let num = |k: usize| -> f64 { f[k].parse().expect("number") };
        let bar = Bar::new(
            f[0].parse().expect("ts"),
            num(2),
            num(3),
            num(4),
            num(5),
            num(6),
        )
        .expect("valid bar");
        bars.push(bar);
        sessions.push(f[1].parse().expect("session key"));
    }
    Fixture {
        name: name.to_string(),
        bars,
        sessions,
    }
}

/// True when `a` and `b` agree to [`REL`] relative with the [`ABS`] floor.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL * a.abs().max(b.abs()) + ABS
}

/// Assert equal `None` positions and values [`close`]; returns the largest relative error.
pub fn assert_series_close(what: &str, got: &[Option<f64>], want: &[Option<f64>]) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                assert!(close(*g, *w), "{what}[{i}]: got {g}, want {w}");
                let scale = g.abs().max(w.abs());
                if scale > 0.0 {
                    worst = worst.max((g - w).abs() / scale.max(1.0));
                }
            }
            _ => panic!("{what}[{i}]: got {g:?}, want {w:?}"),
        }
    }
    worst
}
