//! A base series as borrowed columns (struct of arrays), checked once when built.
//!
//! [`BarColumns`] holds the same data as a slice of [`Bar`]s — one row per base bar — with
//! the same invariants, checked by [`BarColumns::new`] (every row is a valid [`Bar`], `ts`
//! strictly increasing). [`Aggregator::aggregate_columns`] aggregates it with the same
//! bucketing and the same accumulation as [`Aggregator::aggregate`], so both produce
//! identical bars; the columnar layout only lets the engine read less memory (the timestamps
//! of whole buckets are skipped by search, prices are reduced in tight vectorizable loops).
//!
//! ```
//! use tradeassist_engine::{AggSpec, Aggregator, BarColumns, Calendar};
//! use tradeassist_model::{Bar, Resolution};
//!
//! let cal = Calendar::get("us_equity").unwrap();
//! let open = 1_381_152_600; // 2013-10-07 09:30 ET
//! let ts: Vec<i64> = (0..10).map(|i| open + 60 * i).collect();
//! let (o, h, l, c, v) = ([10.0; 10], [11.0; 10], [9.0; 10], [10.5; 10], [100.0; 10]);
//! let cols = BarColumns::new(&ts, &o, &h, &l, &c, &v).unwrap();
//! let agg = Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
//! let out = agg.aggregate_columns(&cols, None);
//!
//! let bars: Vec<Bar> = ts.iter().map(|t| Bar::new(*t, 10.0, 11.0, 9.0, 10.5, 100.0).unwrap()).collect();
//! assert_eq!(out, agg.aggregate(&bars, None).unwrap());
//! assert_eq!(out.bars[1].volume, 500.0);
//! ```
//!
//! [`Aggregator::aggregate_columns`]: crate::Aggregator::aggregate_columns
//! [`Aggregator::aggregate`]: crate::Aggregator::aggregate

use tradeassist_model::{Bar, BarError};

/// Why columns were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ColumnsError {
    /// A column's length differs from the length of `ts`.
    #[error("column `{column}` has {len} rows, `ts` has {expected}")]
    Length {
        column: &'static str,
        len: usize,
        expected: usize,
    },
    /// Timestamps must be strictly increasing.
    #[error("timestamps are not strictly increasing at row {index} (ts {ts})")]
    Unsorted { index: usize, ts: i64 },
    /// A row is not a valid [`Bar`].
    #[error("row {index}: {source}")]
    Bar {
        index: usize,
        #[source]
        source: BarError,
    },
}

/// A base series of one instrument as columns: row `i` is the bar
/// `(ts[i], open[i], high[i], low[i], close[i], volume[i])`, optionally with a vendor VWAP
/// (for every row or none) and open interest.
///
/// Fields are private: every row satisfies the [`Bar`] invariants and `ts` is strictly
/// increasing, so aggregation cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct BarColumns<'a> {
    pub(crate) ts: &'a [i64],
    pub(crate) open: &'a [f64],
    pub(crate) high: &'a [f64],
    pub(crate) low: &'a [f64],
    pub(crate) close: &'a [f64],
    pub(crate) volume: &'a [f64],
    pub(crate) vwap: Option<&'a [f64]>,
    pub(crate) open_interest: Option<&'a [Option<f64>]>,
}

impl<'a> BarColumns<'a> {
    /// Checked columns: equal lengths, strictly increasing `ts`, every row a valid [`Bar`].
    pub fn new(
        ts: &'a [i64],
        open: &'a [f64],
        high: &'a [f64],
        low: &'a [f64],
        close: &'a [f64],
        volume: &'a [f64],
    ) -> Result<Self, ColumnsError> {
        let cols = BarColumns {
            ts,
            open,
            high,
            low,
            close,
            volume,
            vwap: None,
            open_interest: None,
        };
        for (column, c) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
        ] {
            cols.check_len(column, c.len())?;
        }
        if let Some(i) = ts.windows(2).position(|w| w[1] <= w[0]) {
            return Err(ColumnsError::Unsorted {
                index: i + 1,
                ts: ts[i + 1],
            });
        }
        for i in 0..ts.len() {
            cols.bar(i)
                .map_err(|source| ColumnsError::Bar { index: i, source })?;
        }
        Ok(cols)
    }

    /// Attach the vendor's VWAP of every row.
    pub fn with_vwap(mut self, vwap: &'a [f64]) -> Result<Self, ColumnsError> {
        self.check_len("vwap", vwap.len())?;
        self.vwap = Some(vwap);
        self.check_rows()
    }

    /// Attach open-interest readings (`None` where a row has none).
    pub fn with_open_interest(mut self, oi: &'a [Option<f64>]) -> Result<Self, ColumnsError> {
        self.check_len("open_interest", oi.len())?;
        self.open_interest = Some(oi);
        self.check_rows()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn ts(&self) -> &'a [i64] {
        self.ts
    }

    /// Row `i` as a [`Bar`] (panics when `i` is out of range).
    pub fn bar(&self, i: usize) -> Result<Bar, BarError> {
        Bar::new(
            self.ts[i],
            self.open[i],
            self.high[i],
            self.low[i],
            self.close[i],
            self.volume[i],
        )?
        .with_vwap(self.vwap.map(|v| v[i]))?
        .with_open_interest(self.open_interest.and_then(|oi| oi[i]))
    }

    fn check_len(&self, column: &'static str, len: usize) -> Result<(), ColumnsError> {
        if len == self.ts.len() {
            Ok(())
        } else {
            Err(ColumnsError::Length {
                column,
                len,
                expected: self.ts.len(),
            })
        }
    }

    fn check_rows(self) -> Result<Self, ColumnsError> {
        for i in 0..self.len() {
            self.bar(i)
                .map_err(|source| ColumnsError::Bar { index: i, source })?;
        }
        Ok(self)
    }

    /// The first row at or after `from` whose `ts` is at least `until`, found by search:
    /// most rows are never read. `spacing` (the base resolution in seconds) guesses the
    /// answer for regular series; any strictly increasing series gives the right answer.
    #[inline]
    pub(crate) fn end_before(&self, from: usize, until: i64, spacing: i64) -> usize {
        let ts = self.ts;
        let n = ts.len();
        if from >= n || ts[from] >= until {
            return from;
        }
        // Rows from..guess are all before `until` when the series has no holes.
        let rows = until.saturating_sub(ts[from]).div_euclid(spacing).max(1);
        let guess = from
            .saturating_add(usize::try_from(rows).unwrap_or(usize::MAX))
            .min(n);
        if ts[guess - 1] >= until {
            // A hole-free series would have reached `until` later: the answer is before.
            return from + 1 + ts[from + 1..guess - 1].partition_point(|&t| t < until);
        }
        if guess == n || ts[guess] >= until {
            return guess;
        }
        // ts[guess] < until: gallop forward.
        let mut lo = guess + 1;
        let mut step = 1;
        loop {
            let hi = lo.saturating_add(step).min(n);
            if hi == n || ts[hi] >= until {
                return lo + ts[lo..hi].partition_point(|&t| t < until);
            }
            lo = hi + 1;
            step *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(n: usize) -> Vec<f64> {
        vec![1.0; n]
    }

    #[test]
    fn refuses_what_a_bar_refuses() {
        let ts = [0, 60, 120];
        let one = flat(3);
        let high = [1.0, 0.5, 1.0];
        assert_eq!(
            BarColumns::new(&ts, &one, &high, &one, &one, &one).unwrap_err(),
            ColumnsError::Bar {
                index: 1,
                source: BarError::HighBelowLow {
                    high: 0.5,
                    low: 1.0
                }
            }
        );
        let cols = BarColumns::new(&ts, &one, &one, &one, &one, &one).unwrap();
        assert!(matches!(
            cols.with_vwap(&[1.0, 0.0, 1.0]),
            Err(ColumnsError::Bar { index: 1, .. })
        ));
        assert!(matches!(
            cols.with_open_interest(&[None, None, Some(f64::NAN)]),
            Err(ColumnsError::Bar { index: 2, .. })
        ));
        assert_eq!(
            cols.with_vwap(&[1.0]).unwrap_err(),
            ColumnsError::Length {
                column: "vwap",
                len: 1,
                expected: 3
            }
        );
    }

    #[test]
    fn refuses_unsorted_timestamps() {
        let one = flat(3);
        assert_eq!(
            BarColumns::new(&[0, 60, 60], &one, &one, &one, &one, &one).unwrap_err(),
            ColumnsError::Unsorted { index: 2, ts: 60 }
        );
    }

    #[test]
    fn end_before_matches_a_linear_scan() {
        // Regular minutes, holes, and rows closer together than the spacing.
        let mut ts: Vec<i64> = (0..50).map(|i| i * 60).collect();
        ts.extend((60..90).map(|i| i * 60));
        ts.extend((5400..5460).step_by(7));
        ts.extend((100..140).map(|i| i * 60));
        let one = flat(ts.len());
        let cols = BarColumns::new(&ts, &one, &one, &one, &one, &one).unwrap();
        for from in 0..ts.len() {
            for until in (ts[from] - 61..ts[ts.len() - 1] + 70).step_by(13) {
                let expected = from + ts[from..].iter().take_while(|&&t| t < until).count();
                assert_eq!(cols.end_before(from, until, 60), expected, "{from} {until}");
            }
            assert_eq!(cols.end_before(from, i64::MAX, 60), ts.len());
        }
    }
}
