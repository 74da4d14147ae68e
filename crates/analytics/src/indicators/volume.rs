//! Volume indicators: on-balance volume and session VWAP with standard-deviation bands.

/// On-balance volume: `None` on the first bar (the anchor, OBV 0 there), then the running
/// sum of `+volume` on an up close, `-volume` on a down close, 0 on an unchanged close.
///
/// OBV is cumulative, so its level depends on the anchor; the service re-anchors it at the
/// bar before the answer with [`crate::IndicatorSeries::drop_warmup`].
pub fn obv(close: &[f64], volume: &[f64]) -> Vec<Option<f64>> {
    let mut total = 0.0;
    (0..close.len().min(volume.len()))
        .map(|i| {
            let p = i.checked_sub(1)?;
            if close[i] > close[p] {
                total += volume[i];
            } else if close[i] < close[p] {
                total -= volume[i];
            }
            Some(total)
        })
        .collect()
}

/// Whether the first bar handed to [`session_vwap`] opens its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSession {
    /// The first bar is the first bar of its session: every value is fully warmed.
    Complete,
    /// The series starts mid-session: values until the first session change are `None`.
    Partial,
}

/// The three session-VWAP outputs, aligned with the input.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionVwap {
    /// Volume-weighted mean typical price since the session start.
    pub vwap: Vec<Option<f64>>,
    /// `vwap + k * std`.
    pub upper: Vec<Option<f64>>,
    /// `vwap - k * std`.
    pub lower: Vec<Option<f64>>,
}

/// Running volume-weighted mean and sum of weighted squared deviations (weighted Welford).
#[derive(Default)]
struct Weighted {
    weight: f64,
    mean: f64,
    m2: f64,
}

impl Weighted {
    fn push(&mut self, x: f64, w: f64) {
        if w > 0.0 {
            self.weight += w;
            let d = x - self.mean;
            self.mean += d * (w / self.weight); // exactly x on the first push
            self.m2 += w * d * (x - self.mean);
        }
    }
}

/// Session VWAP of the typical price `(h + l + c) / 3`, reset whenever `session[i]` differs
/// from `session[i - 1]`, with bands `vwap ± k * sqrt(sum v (tp - vwap)^2 / sum v)`.
/// `None` while the session has no volume yet and, with [`FirstSession::Partial`], during
/// the first session. Extra trailing entries of the longer input are ignored.
pub fn session_vwap(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    session: &[i64],
    first: FirstSession,
    k: f64,
) -> SessionVwap {
    let len = [
        high.len(),
        low.len(),
        close.len(),
        volume.len(),
        session.len(),
    ]
    .into_iter()
    .min()
    .unwrap_or(0);
    let mut out = SessionVwap {
        vwap: Vec::with_capacity(len),
        upper: Vec::with_capacity(len),
        lower: Vec::with_capacity(len),
    };
    let mut acc = Weighted::default();
    let mut partial = first == FirstSession::Partial;
    for i in 0..len {
        if i > 0 && session[i] != session[i - 1] {
            acc = Weighted::default();
            partial = false;
        }
        acc.push((high[i] + low[i] + close[i]) / 3.0, volume[i]);
        let value = (!partial && acc.weight > 0.0).then(|| {
            let sd = (acc.m2 / acc.weight).max(0.0).sqrt();
            (acc.mean, acc.mean + k * sd, acc.mean - k * sd)
        });
        let finite = |x: f64| Some(x).filter(|x| x.is_finite());
        out.vwap.push(value.and_then(|v| finite(v.0)));
        out.upper.push(value.and_then(|v| finite(v.1)));
        out.lower.push(value.and_then(|v| finite(v.2)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::testing::assert_close;

    #[test]
    fn obv_by_hand() {
        let out = obv(&[10.0, 11.0, 11.0, 9.0, 12.0], &[5.0, 2.0, 7.0, 3.0, 1.0]);
        assert_close(&out, &[None, Some(2.0), Some(2.0), Some(-1.0), Some(0.0)]);
    }

    #[test]
    fn vwap_resets_per_session_with_bands() {
        // typical prices 10 (v 1), 13 (v 2) in session 1; then 20 (v 0), 30 (v 3) in session 2
        let high = [10.0, 13.0, 20.0, 30.0];
        let low = high;
        let close = high;
        let v = [1.0, 2.0, 0.0, 3.0];
        let s = [1, 1, 2, 2];
        let out = session_vwap(&high, &low, &close, &v, &s, FirstSession::Complete, 2.0);
        // session 1 after bar 2: vwap 12, var = (1*4 + 2*1)/3 = 2
        let sd = 2f64.sqrt();
        assert_close(&out.vwap, &[Some(10.0), Some(12.0), None, Some(30.0)]);
        assert_close(
            &out.upper,
            &[Some(10.0), Some(12.0 + 2.0 * sd), None, Some(30.0)],
        );
        assert_close(
            &out.lower,
            &[Some(10.0), Some(12.0 - 2.0 * sd), None, Some(30.0)],
        );
        let out = session_vwap(&high, &low, &close, &v, &s, FirstSession::Partial, 2.0);
        assert_close(&out.vwap, &[None, None, None, Some(30.0)]);
    }
}
