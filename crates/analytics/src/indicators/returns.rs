//! Returns, rolling volatility of log returns and the rolling z-score.

use crate::rolling::{mask_before, rolling_moments};

/// Simple returns `c / c_prev - 1`; `None` on the first bar and where undefined.
pub fn simple_returns(close: &[f64]) -> Vec<Option<f64>> {
    ratio(close, |r| r - 1.0)
}

/// Log returns `ln(c / c_prev)`; `None` on the first bar and where undefined (a price <= 0).
pub fn log_returns(close: &[f64]) -> Vec<Option<f64>> {
    ratio(close, f64::ln)
}

fn ratio(close: &[f64], f: impl Fn(f64) -> f64) -> Vec<Option<f64>> {
    let out = (0..close.len())
        .map(|i| i.checked_sub(1).map(|p| f(close[i] / close[p])))
        .collect();
    mask_before(out, 1)
}

/// Warm-up of [`volatility`]: `n` (n log returns need n + 1 closes).
pub fn volatility_warmup(n: usize) -> usize {
    n
}

/// Annualised volatility: the sample standard deviation (n - 1 denominator) of the last `n`
/// log returns times `sqrt(periods_per_year)`. `None` for the first `n` bars, where a log
/// return in the window is undefined, and for `n < 2`.
pub fn volatility(close: &[f64], n: usize, periods_per_year: f64) -> Vec<Option<f64>> {
    let lr: Vec<f64> = log_returns(close)
        .iter()
        .map(|r| r.unwrap_or(f64::NAN))
        .collect();
    let scale = periods_per_year.sqrt();
    let out = rolling_moments(&lr, n)
        .into_iter()
        .map(|m| m.map(|m| (m.m2 / (n as f64 - 1.0)).sqrt() * scale))
        .collect();
    mask_before(out, volatility_warmup(n))
}

/// Rolling z-score `(x - SMA n) / population std n` (the Bollinger statistics, so `|z| <= k`
/// exactly when `x` lies inside `bb:n:k`). `None` for the first `n - 1` values and where the
/// window is flat.
pub fn zscore(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    let out = rolling_moments(xs, n)
        .into_iter()
        .zip(xs)
        .map(|(m, x)| m.map(|m| (x - m.mean) / (m.m2 / n as f64).sqrt()))
        .collect();
    mask_before(out, n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn returns_by_hand() {
        let close = [2.0, 3.0, 1.5, 0.0, 1.0];
        assert_close(
            &simple_returns(&close),
            &[None, Some(0.5), Some(-0.5), Some(-1.0), None],
        );
        let lr = log_returns(&close);
        assert_close(&lr[..3], &[None, Some(1.5f64.ln()), Some(0.5f64.ln())]);
        assert_eq!(lr[3..], [None, None]);
    }

    #[test]
    fn volatility_by_hand() {
        // log returns ln2, -ln2, ln2: sample std of (ln2, -ln2) = sqrt(2) ln2
        let close = [1.0, 2.0, 1.0, 2.0];
        let v = volatility(&close, 2, 4.0);
        let want = 2.0 * 2f64.sqrt() * 2f64.ln();
        assert_close(&v, &[None, None, Some(want), Some(want)]);
        assert!(volatility(&close, 1, 4.0).iter().all(Option::is_none));
        // a zero price breaks the windows holding its returns
        let v = volatility(&[1.0, 2.0, 0.0, 2.0, 4.0, 8.0], 2, 1.0);
        assert_close(&v, &[None, None, None, None, None, Some(0.0)]);
    }

    #[test]
    fn zscore_by_hand() {
        assert_close(
            &zscore(&[1.0, 3.0, 3.0, 3.0], 2),
            &[None, Some(1.0), None, None],
        );
        assert_close(
            &zscore(&[1.0, 2.0, 6.0], 3),
            &[None, None, Some(3.0 / 14f64.sqrt() * 3f64.sqrt())],
        );
    }
}
