//! The indicators as pure functions over price and volume columns.
//!
//! Every function returns vectors aligned 1:1 with its input, `None` where the value is not
//! fully warmed (see [`crate::IndicatorSpec::output_warmups`]) or not a finite number. No
//! function panics or allocates more than a few vectors of the input's length, whatever
//! the parameters.

pub mod average;
pub mod momentum;
pub mod returns;
pub mod trend;
pub mod volatility;
pub mod volume;

#[cfg(test)]
pub(crate) mod testing {
    /// Compare optional series to 1e-12 relative (absolute near 0).
    pub fn assert_close(got: &[Option<f64>], want: &[Option<f64>]) {
        assert_eq!(got.len(), want.len(), "length: {got:?} vs {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-12 * g.abs().max(w.abs()).max(1.0),
                    "index {i}: {g} vs {w} in {got:?}"
                ),
                _ => panic!("index {i}: {g:?} vs {w:?} in {got:?}"),
            }
        }
    }
}
