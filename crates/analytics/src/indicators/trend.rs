//! Trend strength: Wilder's directional movement system (+DI, -DI, ADX).

use super::momentum::{wilder_alpha, wilder_warmup};
use super::volatility::true_range;
use crate::rolling::{convergence_bars, mask_before, or_nan, seeded_smooth};

/// The three ADX outputs, aligned with the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Adx {
    /// Average directional index.
    pub adx: Vec<Option<f64>>,
    /// Positive directional indicator.
    pub plus_di: Vec<Option<f64>>,
    /// Negative directional indicator.
    pub minus_di: Vec<Option<f64>>,
}

/// Warm-ups of [`adx`]: `(adx, di)`. ±DI: `n + m(1/n)` ([`wilder_warmup`]); ADX, a Wilder
/// average of DX seeded over `n` DX values from index `n`: `2n - 1 + 2 m(1/n)`.
pub fn adx_warmups(n: usize) -> (usize, usize) {
    let m = convergence_bars(wilder_alpha(n));
    let adx = n
        .saturating_mul(2)
        .saturating_sub(1)
        .saturating_add(m.saturating_mul(2));
    (adx, wilder_warmup(n))
}

/// Wilder's ADX (TA-Lib's definitions). From the second bar on, `up = h - h_prev`,
/// `down = l_prev - l`; `+DM = up` if `up > down` and `up > 0`, else 0; `-DM` likewise.
/// +DM, -DM and the true range are Wilder-smoothed over `n` (seeded at index `n`);
/// `±DI = 100 smoothed ±DM / smoothed TR` (0 when the smoothed TR is 0);
/// `DX = 100 |+DI - -DI| / (+DI + -DI)` (0 when both are 0); ADX is the Wilder average of
/// DX seeded with the mean of the first `n` DX values (index `2n - 1`).
pub fn adx(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Adx {
    let len = close.len();
    let moves = |i: usize| -> (f64, f64) {
        let up = high[i] - high[i - 1];
        let down = low[i - 1] - low[i];
        let plus = if up > down && up > 0.0 { up } else { 0.0 };
        let minus = if down > up && down > 0.0 { down } else { 0.0 };
        (plus, minus)
    };
    let (plus_dm, minus_dm): (Vec<f64>, Vec<f64>) = (0..len)
        .map(|i| {
            if i == 0 {
                (f64::NAN, f64::NAN)
            } else {
                moves(i)
            }
        })
        .unzip();
    let alpha = wilder_alpha(n);
    let tr = seeded_smooth(&true_range(high, low, close), 1, n, alpha);
    let di = |dm: &[f64]| -> Vec<Option<f64>> {
        seeded_smooth(dm, 1, n, alpha)
            .iter()
            .zip(&tr)
            .map(|(dm, tr)| {
                let (dm, tr) = ((*dm)?, (*tr)?);
                Some(if tr == 0.0 { 0.0 } else { 100.0 * dm / tr })
            })
            .collect()
    };
    let plus_di = di(&plus_dm);
    let minus_di = di(&minus_dm);
    let dx: Vec<Option<f64>> = plus_di
        .iter()
        .zip(&minus_di)
        .map(|(p, m)| {
            let (p, m) = ((*p)?, (*m)?);
            Some(if p + m == 0.0 {
                0.0
            } else {
                100.0 * (p - m).abs() / (p + m)
            })
        })
        .collect();
    let adx = seeded_smooth(&or_nan(&dx), n, n, alpha);
    let (adx_w, di_w) = adx_warmups(n);
    Adx {
        adx: mask_before(adx, adx_w),
        plus_di: mask_before(plus_di, di_w),
        minus_di: mask_before(minus_di, di_w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn adx_with_period_one() {
        // n = 1: no smoothing memory, ±DI = 100 ±DM / TR, ADX = DX; warm-ups 1 and 1.
        assert_eq!(adx_warmups(1), (1, 1));
        let high = [10.0, 12.0, 11.0, 11.0];
        let low = [9.0, 10.0, 8.0, 11.0];
        let close = [9.5, 11.0, 9.0, 11.0];
        // bar 1: up 2, down -1 -> +DM 2; TR = max(2, 2.5, 0.5) = 2.5 -> +DI 80, -DI 0, DX 100
        // bar 2: up -1, down 2 -> -DM 2; TR = max(3, 0, 3) = 3 -> -DI 66.67, DX 100
        // bar 3: up 0, down -3 -> no DM; TR = max(0, 2, 2) = 2 -> DI 0, 0 -> DX 0
        let a = adx(&high, &low, &close, 1);
        assert_close(&a.plus_di, &[None, Some(80.0), Some(0.0), Some(0.0)]);
        assert_close(
            &a.minus_di,
            &[None, Some(0.0), Some(200.0 / 3.0), Some(0.0)],
        );
        assert_close(&a.adx, &[None, Some(100.0), Some(100.0), Some(0.0)]);
    }

    #[test]
    fn adx_by_hand_with_period_two() {
        // n = 2 (alpha 1/2, m = 40): ±DI warm-up 42, ADX 3 + 80 = 83. A steady rise of 1 per
        // bar with a range of 2: +DM 1, -DM 0, TR 2 -> +DI 50, -DI 0, DX 100, ADX 100.
        assert_eq!(adx_warmups(2), (83, 42));
        let high: Vec<f64> = (0..90).map(|i| i as f64 + 2.0).collect();
        let low: Vec<f64> = (0..90).map(|i| i as f64).collect();
        let close: Vec<f64> = (0..90).map(|i| i as f64 + 1.0).collect();
        let a = adx(&high, &low, &close, 2);
        let di_none = vec![None; 42];
        assert_close(&a.plus_di[..42], &di_none);
        assert_close(&a.plus_di[42..], &vec![Some(50.0); 48]);
        assert_close(&a.minus_di[42..], &vec![Some(0.0); 48]);
        assert_close(&a.adx[..83], &vec![None; 83]);
        assert_close(&a.adx[83..], &[Some(100.0); 7]);
    }

    #[test]
    fn flat_bars_give_zero_not_none() {
        let flat = [5.0; 6];
        let a = adx(&flat, &flat, &flat, 1);
        assert_close(
            &a.adx,
            &[None, Some(0.0), Some(0.0), Some(0.0), Some(0.0), Some(0.0)],
        );
    }
}
