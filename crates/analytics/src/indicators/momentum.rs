//! Momentum oscillators: Wilder's RSI, MACD, the slow stochastic and Williams %R.

use super::average::{ema_alpha, ema_warmup};
use crate::rolling::{
    Extreme, convergence_bars, mask_before, or_nan, rolling_extreme, rolling_moments, seeded_smooth,
};

/// Wilder smoothing factor `1 / n`.
pub fn wilder_alpha(n: usize) -> f64 {
    1.0 / n as f64
}

/// Warm-up of a Wilder average over per-bar values that start at index 1 (changes, true
/// ranges): the seed (mean of the first `n` values) lands at `n`, then `m(1/n)` more bars.
pub fn wilder_warmup(n: usize) -> usize {
    n.saturating_add(convergence_bars(wilder_alpha(n)))
}

/// Warm-up of [`rsi`]: [`wilder_warmup`].
pub fn rsi_warmup(n: usize) -> usize {
    wilder_warmup(n)
}

/// Wilder's RSI over `n` changes of `close`: average gain `G` and loss `L` seeded with the
/// mean of the first `n` changes and smoothed with `alpha = 1/n`; `RSI = 100 G / (G + L)`.
/// `None` before [`rsi_warmup`] and where `G + L = 0` (no change over the whole memory).
pub fn rsi(close: &[f64], n: usize) -> Vec<Option<f64>> {
    let change = |i: usize| {
        if i == 0 {
            f64::NAN
        } else {
            close[i] - close[i - 1]
        }
    };
    let gains: Vec<f64> = (0..close.len()).map(|i| change(i).max(0.0)).collect();
    let losses: Vec<f64> = (0..close.len()).map(|i| (-change(i)).max(0.0)).collect();
    let alpha = wilder_alpha(n);
    let g = seeded_smooth(&gains, 1, n, alpha);
    let l = seeded_smooth(&losses, 1, n, alpha);
    let rsi = g
        .iter()
        .zip(&l)
        .map(|(g, l)| Some(100.0 * g.as_ref()? / (g.as_ref()? + l.as_ref()?)))
        .collect();
    mask_before(rsi, rsi_warmup(n))
}

/// The three MACD outputs, aligned with the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Macd {
    /// `EMA(fast) - EMA(slow)`.
    pub macd: Vec<Option<f64>>,
    /// EMA of the MACD line over `signal` values.
    pub signal: Vec<Option<f64>>,
    /// `macd - signal`.
    pub histogram: Vec<Option<f64>>,
}

/// Warm-ups of [`macd`]: `(line, signal)`; the histogram uses the signal's.
/// Line: the larger [`ema_warmup`] of `fast` and `slow`. Signal: the line's plus
/// `signal - 1 + m(2/(signal+1))`.
pub fn macd_warmups(fast: usize, slow: usize, signal: usize) -> (usize, usize) {
    let line = ema_warmup(fast).max(ema_warmup(slow));
    let sig = line
        .saturating_add(signal.saturating_sub(1))
        .saturating_add(convergence_bars(ema_alpha(signal)));
    (line, sig)
}

/// MACD: the line `EMA_fast - EMA_slow` (both TA-Lib-seeded [`super::average::ema`]s,
/// unmasked), its signal (an EMA over `signal` line values seeded with their SMA from the
/// first line value on) and the histogram.
pub fn macd(close: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let f = seeded_smooth(close, 0, fast, ema_alpha(fast));
    let s = seeded_smooth(close, 0, slow, ema_alpha(slow));
    let line: Vec<Option<f64>> = f.iter().zip(&s).map(|(f, s)| Some((*f)? - (*s)?)).collect();
    let first = fast.max(slow).saturating_sub(1);
    let sig = seeded_smooth(&or_nan(&line), first, signal, ema_alpha(signal));
    let hist = line
        .iter()
        .zip(&sig)
        .map(|(l, s)| Some((*l)? - (*s)?))
        .collect();
    let (line_w, sig_w) = macd_warmups(fast, slow, signal);
    Macd {
        macd: mask_before(line, line_w),
        signal: mask_before(sig, sig_w),
        histogram: mask_before(hist, sig_w),
    }
}

/// `100 (close - lowest low) / (highest high - lowest low)` over `n` bars (`NaN` while the
/// window is not full or when the range is 0).
fn fast_k(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<f64> {
    let hh = rolling_extreme(high, n, Extreme::Max);
    let ll = rolling_extreme(low, n, Extreme::Min);
    (0..close.len())
        .map(|i| match (hh[i], ll[i]) {
            (Some(h), Some(l)) => 100.0 * (close[i] - l) / (h - l),
            _ => f64::NAN,
        })
        .collect()
}

/// The slow stochastic: `%K` = SMA `k_smooth` of the fast %K over `n` bars, `%D` = SMA
/// `d_smooth` of `%K`. A window whose range is 0 has no fast %K, so the averages over it
/// are `None` too.
pub fn stochastic(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    n: usize,
    k_smooth: usize,
    d_smooth: usize,
) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let mean = |xs: &[f64], w: usize| -> Vec<Option<f64>> {
        rolling_moments(xs, w)
            .into_iter()
            .map(|m| m.map(|m| m.mean))
            .collect()
    };
    let k = mean(&fast_k(high, low, close, n), k_smooth);
    let d = mean(&or_nan(&k), d_smooth);
    let k_w = n
        .saturating_sub(1)
        .saturating_add(k_smooth.saturating_sub(1));
    let d_w = k_w.saturating_add(d_smooth.saturating_sub(1));
    (mask_before(k, k_w), mask_before(d, d_w))
}

/// Williams %R: `-100 (highest high - close) / (highest high - lowest low)` over `n` bars;
/// `None` for the first `n - 1` bars and where the range is 0.
pub fn williams_r(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<Option<f64>> {
    let r = fast_k(high, low, close, n)
        .into_iter()
        .map(|k| Some(k - 100.0))
        .collect();
    mask_before(r, n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn rsi_with_period_one_is_the_direction_of_each_change() {
        // alpha = 1: G and L are the last gain and loss; no warm-up beyond the first change.
        assert_eq!(rsi_warmup(1), 1);
        let out = rsi(&[1.0, 2.0, 1.5, 1.5, 3.0], 1);
        assert_close(&out, &[None, Some(100.0), Some(0.0), None, Some(100.0)]);
    }

    #[test]
    fn rsi_by_hand_after_the_seed() {
        // n = 2: seed at index 2 from changes +1, -1 (G = L = 0.5); warm-up 2 + 40.
        assert_eq!(rsi_warmup(2), 2 + 40);
        let mut close = vec![10.0, 11.0, 10.0];
        close.extend(std::iter::repeat_n(10.0, 40)); // no changes: G, L halve each bar
        close.push(13.0); // gain 3: G = 0.5^42 + 1.5, L = 0.5^42
        let out = rsi(&close, 2);
        assert!(out[..42].iter().all(Option::is_none));
        let tiny = 0.5f64.powi(40);
        assert_close(&out[42..43], &[Some(50.0)]);
        let (g, l) = (tiny / 4.0 + 1.5, tiny / 4.0);
        assert_close(&out[43..], &[Some(100.0 * g / (g + l))]);
    }

    #[test]
    fn macd_with_unit_periods() {
        // fast 1 is the close itself; slow 2 has alpha 2/3; signal 1 is the line.
        let close = [1.0, 4.0, 7.0, 1.0];
        let m = macd(&close, 1, 2, 1);
        let (line_w, sig_w) = macd_warmups(1, 2, 1);
        // slow: seed 2.5 at index 1, then 2.5 + 2/3 * 4.5 = 5.5, then 5.5 - 2/3 * 4.5 = 2.5
        // slow warm-up 1 + m(2/3) = 1 + 26 (3^-26 < 1e-12): every output is None here.
        assert_eq!((line_w, sig_w), (27, 27));
        assert!(
            m.macd
                .iter()
                .chain(&m.signal)
                .chain(&m.histogram)
                .all(Option::is_none)
        );
        let mut long = vec![1.0, 4.0];
        long.extend(std::iter::repeat_n(4.0, 30));
        let m = macd(&long, 1, 2, 1);
        assert!(m.macd[..27].iter().all(Option::is_none));
        // slow EMA -> 4 - 1.5 * 3^-k; line = 1.5 * 3^-k at index k + 1.
        let want = 1.5 * 3f64.powi(-26);
        // (the slow EMA sits next to 4, so its rounding is about 4 * f64::EPSILON)
        assert!((m.macd[27].unwrap() - want).abs() < 1e-14);
        assert_eq!(m.signal[27], m.macd[27]);
        assert_eq!(m.histogram[27], Some(0.0));
    }

    #[test]
    fn stochastic_and_williams_by_hand() {
        let high = [3.0, 4.0, 5.0, 6.0];
        let low = [1.0, 2.0, 2.0, 4.0];
        let close = [2.0, 3.0, 5.0, 4.0];
        // windows of 2: (h,l) = (4,1), (5,2), (6,2); fast %K = 2/3, 1, 1/2 (x100)
        let (k, d) = stochastic(&high, &low, &close, 2, 1, 2);
        assert_close(&k, &[None, Some(200.0 / 3.0), Some(100.0), Some(50.0)]);
        assert_close(&d, &[None, None, Some(250.0 / 3.0), Some(75.0)]);
        let (k, _) = stochastic(&high, &low, &close, 2, 2, 1);
        assert_close(&k, &[None, None, Some(250.0 / 3.0), Some(75.0)]);
        let r = williams_r(&high, &low, &close, 2);
        assert_close(&r, &[None, Some(-100.0 / 3.0), Some(0.0), Some(-50.0)]);
    }

    #[test]
    fn a_flat_window_has_no_stochastic() {
        let flat = [5.0; 4];
        let (k, d) = stochastic(&flat, &flat, &flat, 2, 1, 1);
        assert!(k.iter().chain(&d).all(Option::is_none));
        assert!(
            williams_r(&flat, &flat, &flat, 2)
                .iter()
                .all(Option::is_none)
        );
    }
}
