//! Incremental aggregation for live data: push base bars one by one, get bar updates.
//!
//! Feeding a series bar by bar and keeping the [`UpdateKind::Final`] updates (including the
//! one from [`IncrementalAggregator::finish`]) yields exactly the bars of the batch path
//! ([`Aggregator::aggregate`] with `now = None`), given the same [`VwapSource`].
//!
//! ```
//! use tradeassist_engine::{AggSpec, Aggregator, Calendar, IncrementalAggregator, UpdateKind, VwapSource};
//! use tradeassist_model::{Bar, Resolution};
//!
//! let cal = Calendar::get("us_equity").unwrap();
//! let agg = Aggregator::new(cal, Resolution::Minute, AggSpec::new("5m".parse().unwrap())).unwrap();
//! let mut live = IncrementalAggregator::new(agg, VwapSource::TypicalPrice);
//! let open = 1_381_152_600; // 2013-10-07 09:30 ET
//! let u = live.push(&Bar::new(open, 10.0, 10.0, 10.0, 10.0, 1.0).unwrap()).unwrap();
//! assert_eq!(u.len(), 1);
//! assert_eq!(u[0].kind, UpdateKind::Partial);
//! let u = live.push(&Bar::new(open + 300, 11.0, 11.0, 11.0, 11.0, 1.0).unwrap()).unwrap();
//! assert_eq!(u[0].kind, UpdateKind::Final); // the 09:30 bucket closed
//! assert!(u[0].bar.complete);
//! assert_eq!(u[1].kind, UpdateKind::Partial);
//! ```

use tradeassist_model::Bar;

use crate::EngineError;
use crate::aggregate::{AggBar, Aggregator, Bucketer, Located, State, VwapSource};

/// Whether an update may still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// The bucket is still open; a later update for the same `start` replaces this one.
    Partial,
    /// The bucket is closed; no further update for it will follow.
    Final,
}

/// One bar update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    pub kind: UpdateKind,
    pub bar: AggBar,
}

/// Keeps the running bucket of one instrument and one [`crate::AggSpec`].
pub struct IncrementalAggregator<'c> {
    agg: Aggregator<'c>,
    bucketer: Bucketer<'c>,
    state: State,
    source: VwapSource,
    last_ts: Option<i64>,
    data_end: Option<i64>,
}

impl<'c> IncrementalAggregator<'c> {
    /// `source` decides the VWAP price up front (a live feed cannot know whether all future
    /// bars will carry a vendor VWAP); with `Vendor`, a bar without one uses its typical price.
    pub fn new(agg: Aggregator<'c>, source: VwapSource) -> Self {
        IncrementalAggregator {
            bucketer: Bucketer::new(&agg),
            state: State::new(*agg.spec()),
            source,
            agg,
            last_ts: None,
            data_end: None,
        }
    }

    /// Add the next base bar (its `ts` must be after the previous one). Returns the final
    /// update of a bucket this bar closed, if any, then the partial update of the bucket the
    /// bar went into (nothing for a bar outside the session filter).
    pub fn push(&mut self, bar: &Bar) -> Result<Vec<Update>, EngineError> {
        if let Some(last) = self.last_ts
            && bar.ts() <= last
        {
            return Err(EngineError::Unsorted {
                index: 0,
                ts: bar.ts(),
            });
        }
        self.last_ts = Some(bar.ts());
        self.data_end = self.agg.data_end(std::slice::from_ref(bar));
        let mut out = Vec::with_capacity(2);
        match self.bucketer.locate(bar.ts()) {
            Located::Out { .. } => {
                if let Some(a) = self.state.acc
                    && a.b.end <= bar.ts()
                {
                    self.state.acc = None;
                    out.push(self.final_update(a, true));
                }
            }
            Located::In {
                bucket, session, ..
            } => {
                if let Some(done) = self.state.take_if_other(bucket.key) {
                    out.push(self.final_update(done, true));
                }
                let mut prev = i64::MIN;
                let fed = self.state.feed_until(
                    std::slice::from_ref(bar),
                    i64::MAX,
                    bucket,
                    session,
                    &mut prev,
                );
                debug_assert_eq!(fed, Ok(1));
                if let Some(a) = self.state.acc {
                    out.push(Update {
                        kind: UpdateKind::Partial,
                        bar: self.state.finish(a, false, self.source),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Declare that no base bar before `now` will arrive any more (the feed's clock passed
    /// it): closes the running bucket when it ends at or before `now`, marked complete.
    pub fn close_until(&mut self, now: i64) -> Option<Update> {
        match self.state.acc {
            Some(a) if a.b.end <= now => {
                self.state.acc = None;
                Some(self.final_update(a, true))
            }
            _ => None,
        }
    }

    /// End of input: close the running bucket; it is complete only when the last base bar
    /// reached its end (as in the batch path).
    pub fn finish(&mut self) -> Option<Update> {
        let a = self.state.acc.take()?;
        let complete = crate::aggregate::complete(a.b.end, self.data_end, None);
        Some(self.final_update(a, complete))
    }

    fn final_update(&self, a: crate::aggregate::Acc, complete: bool) -> Update {
        Update {
            kind: UpdateKind::Final,
            bar: self.state.finish(a, complete, self.source),
        }
    }
}
