//! Numeric building blocks shared by the indicators: rolling moments, rolling extremes,
//! seeded recursive smoothing and the convergence length of a recursive filter.
//!
//! Everything works on plain `f64` slices; a non-finite input poisons exactly the windows
//! that contain it (their value is `None`), never the values after it has left the window.

use std::collections::VecDeque;

/// Weight below which the seed of a recursive filter counts as forgotten.
pub const SEED_RESIDUAL: f64 = 1e-12;

/// Bars a recursive filter with smoothing factor `alpha` must run after its seed so that
/// the seed's residual weight `(1 - alpha)^m` is at most [`SEED_RESIDUAL`]:
/// `m = ceil(ln(1e-12) / ln(1 - alpha))`, and `0` when `alpha >= 1` (no memory).
pub fn convergence_bars(alpha: f64) -> usize {
    if alpha >= 1.0 {
        return 0;
    }
    if alpha.is_nan() || alpha <= 0.0 || 1.0 - alpha == 1.0 {
        return usize::MAX; // never forgets (only reachable with absurd periods)
    }
    // Positive and finite here; `as` saturates for the absurd cases.
    (SEED_RESIDUAL.ln() / (1.0 - alpha).ln()).ceil() as usize
}

/// Mean and population sum of squared deviations (`m2`) of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Arithmetic mean of the window.
    pub mean: f64,
    /// `sum((x - mean)^2)` over the window (never negative).
    pub m2: f64,
}

impl Moments {
    fn exact(window: &[f64]) -> Self {
        let n = window.len() as f64;
        let mean = window.iter().sum::<f64>() / n;
        let m2 = window.iter().map(|x| (x - mean) * (x - mean)).sum();
        Moments { mean, m2 }
    }

    /// Replace `old` by `new` in a window of `n` values (exact algebra; rounding is reset by
    /// a periodic [`Moments::exact`]).
    fn slide(self, old: f64, new: f64, n: f64) -> Self {
        let delta = new - old;
        let mean = self.mean + delta / n;
        let m2 = (self.m2 + delta * (new - mean + old - self.mean)).max(0.0);
        Moments { mean, m2 }
    }
}

/// Windows up to this length are computed exactly (two-pass) at every index; longer ones
/// slide in O(1) per index.
pub const EXACT_WINDOW: usize = 64;

/// Moments of every full window of `n` values ending at each index (`None` before the first
/// full window and for windows holding a non-finite value). `n == 0` gives all `None`.
///
/// Windows of up to [`EXACT_WINDOW`] values are computed by an exact two-pass sum at every
/// index (so a flat window has exactly zero deviation, which matters under a square root).
/// Longer windows slide in O(1) and are re-anchored by the exact computation every `n`
/// steps, so rounding never accumulates over more than one window length; their `m2` carries
/// an absolute error of about `n * f64::EPSILON * mean^2`.
pub fn rolling_moments(xs: &[f64], n: usize) -> Vec<Option<Moments>> {
    let nf = n as f64;
    rolling(xs, n, n > EXACT_WINDOW, Moments::exact, |m, old, new| {
        m.slide(old, new, nf)
    })
}

/// Linearly weighted mean of every full window of `n` values (weights `1..=n`, the newest
/// value weighs `n`), `None` where the window is not full or holds a non-finite value.
pub fn rolling_wma(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    let nf = n as f64;
    let denom = nf * (nf + 1.0) / 2.0;
    let exact = |w: &[f64]| -> (f64, f64) {
        let sum = w.iter().sum();
        let wsum = w.iter().zip(1..).map(|(x, k)| x * f64::from(k)).sum();
        (sum, wsum)
    };
    // Every old value loses one unit of weight, the new one enters with n.
    let slide =
        |(sum, wsum): (f64, f64), old: f64, new: f64| (sum - old + new, wsum - sum + nf * new);
    rolling(xs, n, true, exact, slide)
        .into_iter()
        .map(|s| s.map(|(_, wsum)| wsum / denom))
        .collect()
}

/// A state over every full window of `n` values: `exact` computes it from a window; when
/// `slides`, `slide(state, leaving, entering)` moves it by one value, with an exact
/// recomputation at least every `n` slides to bound drift. `None` where the window is not
/// full or holds a non-finite value.
fn rolling<S: Copy>(
    xs: &[f64],
    n: usize,
    slides: bool,
    exact: impl Fn(&[f64]) -> S,
    slide: impl Fn(S, f64, f64) -> S,
) -> Vec<Option<S>> {
    let mut out = vec![None; xs.len()];
    if n == 0 || xs.len() < n {
        return out;
    }
    let mut bad = 0usize;
    let mut state: Option<S> = None;
    let mut since_exact = 0usize;
    for i in 0..xs.len() {
        if !xs[i].is_finite() {
            bad += 1;
        }
        if i >= n && !xs[i - n].is_finite() {
            bad -= 1;
        }
        if i + 1 < n {
            continue;
        }
        if bad > 0 {
            state = None;
            continue;
        }
        let next = match state {
            Some(m) if slides && since_exact < n => {
                since_exact += 1;
                slide(m, xs[i - n], xs[i])
            }
            _ => {
                since_exact = 0;
                exact(&xs[i + 1 - n..=i])
            }
        };
        state = Some(next);
        out[i] = state;
    }
    out
}

/// Which extreme [`rolling_extreme`] tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    /// Highest value of the window.
    Max,
    /// Lowest value of the window.
    Min,
}

/// Highest or lowest of every full window of `n` values (monotonic deque, O(len)).
/// Inputs are bar prices, which are always finite.
pub fn rolling_extreme(xs: &[f64], n: usize, which: Extreme) -> Vec<Option<f64>> {
    let mut out = vec![None; xs.len()];
    if n == 0 {
        return out;
    }
    let dominated = |kept: f64, new: f64| match which {
        Extreme::Max => kept <= new,
        Extreme::Min => kept >= new,
    };
    let mut deque: VecDeque<usize> = VecDeque::new();
    for (i, &x) in xs.iter().enumerate() {
        while deque.back().is_some_and(|&j| dominated(xs[j], x)) {
            deque.pop_back();
        }
        deque.push_back(i);
        while deque.front().is_some_and(|&j| j + n <= i) {
            deque.pop_front();
        }
        if i + 1 >= n {
            out[i] = deque.front().map(|&j| xs[j]);
        }
    }
    out
}

/// Recursive smoothing `y = y_prev + alpha * (x - y_prev)` seeded with the mean of the first
/// `seed_len` inputs from `first` on (the TA-Lib convention for EMA and Wilder averages).
///
/// The seed lands at index `first + seed_len - 1`; earlier indices are `None`. The values are
/// *raw*: the caller masks those that are not yet converged. A non-finite input makes that
/// output and every later one `None` (a recursive filter cannot forget it).
pub fn seeded_smooth(xs: &[f64], first: usize, seed_len: usize, alpha: f64) -> Vec<Option<f64>> {
    let mut out = vec![None; xs.len()];
    if seed_len == 0 {
        return out;
    }
    let Some(seed_end) = first.checked_add(seed_len) else {
        return out;
    };
    if seed_end > xs.len() {
        return out;
    }
    let seed = xs[first..seed_end].iter().sum::<f64>() / seed_len as f64;
    if !seed.is_finite() {
        return out;
    }
    let mut y = seed;
    out[seed_end - 1] = Some(y);
    for i in seed_end..xs.len() {
        y += alpha * (xs[i] - y);
        if !y.is_finite() {
            break;
        }
        out[i] = Some(y);
    }
    out
}

/// Values from index `from` on, with `None` where the input is `None` or not finite.
pub fn mask_before(values: Vec<Option<f64>>, from: usize) -> Vec<Option<f64>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.filter(|x| i >= from && x.is_finite()))
        .collect()
}

/// `NaN` for `None`, so that optional series can feed the slice-based helpers.
pub fn or_nan(values: &[Option<f64>]) -> Vec<f64> {
    values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn convergence_bars_matches_the_formula() {
        assert_eq!(convergence_bars(1.0), 0);
        // EMA 20: alpha = 2/21, ln(1e-12)/ln(19/21) = 276.09.. -> 277
        assert_eq!(convergence_bars(2.0 / 21.0), 277);
        // Wilder 14: alpha = 1/14 -> ln(1e-12)/ln(13/14) = 372.8.. -> 373
        assert_eq!(convergence_bars(1.0 / 14.0), 373);
        let m = convergence_bars(0.5);
        assert!(0.5f64.powi(m as i32) <= SEED_RESIDUAL);
        assert!(0.5f64.powi(m as i32 - 1) > SEED_RESIDUAL);
    }

    #[test]
    fn rolling_moments_of_a_small_series() {
        let m = rolling_moments(&[1.0, 2.0, 3.0, 4.0, 10.0], 3);
        assert_eq!(m[..2], [None, None]);
        let got: Vec<Moments> = m[2..].iter().map(|m| m.unwrap()).collect();
        // windows 1,2,3 and 2,3,4: mean 2 and 3, m2 2; window 3,4,10: mean 17/3,
        // m2 = sum x^2 - n mean^2 = 125 - 289/3 = 86/3
        assert!(close(got[0].mean, 2.0) && close(got[0].m2, 2.0));
        assert!(close(got[1].mean, 3.0) && close(got[1].m2, 2.0));
        assert!(close(got[2].mean, 17.0 / 3.0) && close(got[2].m2, 86.0 / 3.0));
    }

    #[test]
    fn a_non_finite_value_poisons_only_its_windows() {
        let m = rolling_moments(&[1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0], 2);
        let means: Vec<Option<f64>> = m.iter().map(|m| m.map(|m| m.mean)).collect();
        assert_eq!(means, [None, None, None, Some(3.5), Some(4.5), Some(5.5)]);
    }

    #[test]
    fn long_series_stay_accurate() {
        let xs: Vec<f64> = (0..5000)
            .map(|i| 1e6 + ((i * 7919) % 101) as f64 * 0.01)
            .collect();
        let n = EXACT_WINDOW + 37; // the sliding path
        let m = rolling_moments(&xs, n);
        for i in [n - 1, 1000, 4999] {
            let exact = Moments::exact(&xs[i + 1 - n..=i]);
            let got = m[i].unwrap();
            assert!(close(got.mean, exact.mean));
            assert!((got.m2 - exact.m2).abs() <= 1e-9 * exact.m2.max(1e-9));
        }
        let w = rolling_wma(&xs, 37);
        let exact: f64 = xs[5000 - 37..]
            .iter()
            .zip(1..)
            .map(|(x, k)| x * k as f64)
            .sum::<f64>()
            / (37.0 * 38.0 / 2.0);
        assert!(close(w[4999].unwrap(), exact));
    }

    #[test]
    fn wma_weights_the_newest_value_most() {
        let w = rolling_wma(&[1.0, 2.0, 3.0, 6.0], 3);
        assert_eq!(w[..2], [None, None]);
        assert!(close(w[2].unwrap(), (1.0 + 4.0 + 9.0) / 6.0));
        assert!(close(w[3].unwrap(), (2.0 + 6.0 + 18.0) / 6.0));
    }

    #[test]
    fn rolling_extremes() {
        let xs = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
        let hi = rolling_extreme(&xs, 3, Extreme::Max);
        let lo = rolling_extreme(&xs, 3, Extreme::Min);
        assert_eq!(
            hi,
            [
                None,
                None,
                Some(4.0),
                Some(4.0),
                Some(5.0),
                Some(9.0),
                Some(9.0)
            ]
        );
        assert_eq!(
            lo,
            [
                None,
                None,
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(2.0)
            ]
        );
    }

    #[test]
    fn seeded_smooth_starts_from_the_mean() {
        let y = seeded_smooth(&[9.0, 2.0, 4.0, 8.0], 1, 2, 0.5);
        assert_eq!(y, [None, None, Some(3.0), Some(5.5)]);
        assert_eq!(seeded_smooth(&[1.0], 0, 2, 0.5), [None]);
        assert_eq!(seeded_smooth(&[1.0], usize::MAX, 2, 0.5), [None]);
    }
}
