//! Work counts for progress reports of long queries (jobs, WebSocket queries): the stored
//! base bars each series of a plan will read, counted exactly before reading them.

use tradeassist_model::TimeRange;

use crate::plan::{LOOKBACK_DAYS, Plan, SeriesTarget};
use crate::{Service, ServiceError};

impl Service {
    /// Stored base bars each series of `plan` reads (in plan order; continuous series count
    /// every contract over the window and its roll look-back).
    pub async fn expected_reads(&self, plan: &Plan) -> Result<Vec<u64>, ServiceError> {
        let mut counts = Vec::with_capacity(plan.series.len());
        for sp in &plan.series {
            let window = sp.window.range;
            let n = match &sp.target {
                SeriesTarget::Instrument { instrument, .. } => {
                    self.store
                        .count_bars(instrument.id, sp.base, window, u64::MAX)
                        .await?
                }
                SeriesTarget::Continuous { contracts, .. } => {
                    let read = TimeRange::new(
                        window.start().saturating_sub(LOOKBACK_DAYS * 86_400),
                        window.end(),
                    )
                    .unwrap_or(window);
                    let mut n = 0u64;
                    for c in contracts {
                        n += self.store.count_bars(c.id, sp.base, read, u64::MAX).await?;
                    }
                    n
                }
            };
            counts.push(n);
        }
        Ok(counts)
    }
}
