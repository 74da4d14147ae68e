//! Volatility bands and ranges: Bollinger Bands, true range and Wilder's ATR.

use super::momentum::{wilder_alpha, wilder_warmup};
use crate::rolling::{mask_before, rolling_moments, seeded_smooth};

/// True range from the second bar on: `max(high - low, |high - prev close|, |low - prev
/// close|)`; the first bar has none (`NaN`), as in TA-Lib.
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    (0..close.len())
        .map(|i| match i.checked_sub(1) {
            None => f64::NAN,
            Some(p) => (high[i] - low[i])
                .max((high[i] - close[p]).abs())
                .max((low[i] - close[p]).abs()),
        })
        .collect()
}

/// Warm-up of [`atr`]: [`wilder_warmup`] (`n + m(1/n)`).
pub fn atr_warmup(n: usize) -> usize {
    wilder_warmup(n)
}

/// Wilder's ATR: the mean of the first `n` true ranges, then `ATR = ATR + (TR - ATR) / n`.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<Option<f64>> {
    let tr = true_range(high, low, close);
    mask_before(seeded_smooth(&tr, 1, n, wilder_alpha(n)), atr_warmup(n))
}

/// Bollinger Bands `(middle, upper, lower)`: SMA `n` ± `k` population standard deviations.
pub fn bollinger(xs: &[f64], n: usize, k: f64) -> [Vec<Option<f64>>; 3] {
    let m = rolling_moments(xs, n);
    let band = |sign: f64| -> Vec<Option<f64>> {
        let v = m
            .iter()
            .map(|m| m.map(|m| m.mean + sign * k * (m.m2 / n as f64).sqrt()))
            .collect();
        mask_before(v, n.saturating_sub(1))
    };
    [band(0.0), band(1.0), band(-1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn true_range_uses_the_previous_close() {
        let tr = true_range(&[5.0, 6.0, 4.0], &[4.0, 5.5, 3.0], &[4.5, 6.0, 3.5]);
        assert!(tr[0].is_nan());
        assert_eq!(tr[1..], [1.5, 3.0]);
    }

    #[test]
    fn atr_with_period_one_is_the_true_range() {
        assert_eq!(atr_warmup(1), 1);
        let out = atr(&[5.0, 6.0, 4.0], &[4.0, 5.5, 3.0], &[4.5, 6.0, 3.5], 1);
        assert_close(&out, &[None, Some(1.5), Some(3.0)]);
    }

    #[test]
    fn atr_by_hand_after_the_seed() {
        // n = 2: seed = mean(TR1, TR2) at index 2, alpha 1/2; warm-up 2 + 40.
        let mut high = vec![2.0, 3.0, 3.0];
        let mut low = vec![1.0, 2.0, 1.0];
        high.extend(std::iter::repeat_n(2.0, 41));
        low.extend(std::iter::repeat_n(2.0, 41));
        let close: Vec<f64> = high.iter().zip(&low).map(|(h, l)| (h + l) / 2.0).collect();
        // TR1 = max(1, 1.5, 0.5) = 1.5, TR2 = max(2, 0.5, 1.5) = 2, TR3 = |2 - 2| = 0, then 0.
        let out = atr(&high, &low, &close, 2);
        assert!(out[..42].iter().all(Option::is_none));
        assert_close(
            &out[42..],
            &[Some(1.75 * 0.5f64.powi(40)), Some(1.75 * 0.5f64.powi(41))],
        );
    }

    #[test]
    fn bollinger_by_hand() {
        let [mid, up, lo] = bollinger(&[1.0, 3.0, 5.0], 2, 2.0);
        // windows (1,3), (3,5): mean 2, 4; population std 1
        assert_close(&mid, &[None, Some(2.0), Some(4.0)]);
        assert_close(&up, &[None, Some(4.0), Some(6.0)]);
        assert_close(&lo, &[None, Some(0.0), Some(2.0)]);
    }
}
