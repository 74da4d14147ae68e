//! Moving averages of a series: simple, exponential, linearly weighted.

use crate::rolling::{convergence_bars, mask_before, rolling_moments, rolling_wma, seeded_smooth};

/// Simple moving average over `n` values; `None` for the first `n - 1`.
pub fn sma(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    let means = rolling_moments(xs, n)
        .into_iter()
        .map(|m| m.map(|m| m.mean))
        .collect();
    mask_before(means, n.saturating_sub(1))
}

/// EMA smoothing factor `2 / (n + 1)`.
pub fn ema_alpha(n: usize) -> f64 {
    2.0 / (n as f64 + 1.0)
}

/// Warm-up of [`ema`]: the seed (SMA of the first `n` values) lands at `n - 1`, then
/// `m(2/(n+1))` more bars make its weight at most 1e-12.
pub fn ema_warmup(n: usize) -> usize {
    n.saturating_sub(1)
        .saturating_add(convergence_bars(ema_alpha(n)))
}

/// Exponential moving average, `alpha = 2/(n+1)`, seeded with the SMA of the first `n`
/// values (TA-Lib); `None` before [`ema_warmup`].
pub fn ema(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    mask_before(seeded_smooth(xs, 0, n, ema_alpha(n)), ema_warmup(n))
}

/// Linearly weighted moving average over `n` values (weights `1..=n`, newest heaviest).
pub fn wma(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    mask_before(rolling_wma(xs, n), n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn sma_by_hand() {
        assert_close(
            &sma(&[1.0, 2.0, 3.0, 4.0], 2),
            &[None, Some(1.5), Some(2.5), Some(3.5)],
        );
        assert_close(&sma(&[1.0, 2.0], 3), &[None, None]);
        assert_close(&sma(&[5.0], 1), &[Some(5.0)]);
    }

    #[test]
    fn ema_by_hand_after_its_warmup() {
        // n = 1: alpha = 1, the EMA is the series itself, no warm-up.
        assert_eq!(ema_warmup(1), 0);
        assert_close(&ema(&[1.0, 4.0], 1), &[Some(1.0), Some(4.0)]);
        // n = 3: alpha = 0.5, seed = mean of the first 3; warm-up 2 + 40 (0.5^40 < 1e-12).
        assert_eq!(ema_warmup(3), 2 + 40);
        let mut xs = vec![1.0, 2.0, 3.0];
        xs.extend(std::iter::repeat_n(10.0, 40));
        xs.push(20.0);
        let out = ema(&xs, 3);
        assert!(out[..42].iter().all(Option::is_none));
        // seed 2 at index 2, then y -> 10 - 8 * 0.5^k; at index 42: 10 - 8 * 0.5^40
        let y42 = 10.0 - 8.0 * 0.5f64.powi(40);
        assert_close(&out[42..], &[Some(y42), Some(y42 + 0.5 * (20.0 - y42))]);
    }

    #[test]
    fn wma_by_hand() {
        assert_close(
            &wma(&[1.0, 2.0, 3.0], 2),
            &[None, Some(5.0 / 3.0), Some(8.0 / 3.0)],
        );
    }

    #[test]
    fn huge_periods_give_none_without_allocating() {
        let xs = [1.0, 2.0, 3.0];
        for n in [0, 4, usize::MAX] {
            assert!(sma(&xs, n).iter().all(Option::is_none));
            assert!(ema(&xs, n).iter().all(Option::is_none));
            assert!(wma(&xs, n).iter().all(Option::is_none));
        }
    }
}
