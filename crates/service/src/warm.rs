//! Cache warming: [`Service::warm`] computes, ahead of the next request, the answers of the
//! most requested queries and of every saved query that the cache does not hold fresh.
//!
//! Requests are counted per format and query text (`Popular` in `cached`, bounded: when full, a new
//! query replaces the least requested one). Queries are kept as asked, not as resolved, so a
//! relative window (`last_5_days`) is warmed for the day it is warmed on. Warming runs the
//! queries one after the other and yields between them: it holds at most one store
//! connection and one blocking thread at a time, so live requests keep the rest of the pool.
//! The server runs it in the background at start (after the listener is up, so start-up does
//! not wait) and then on the `[cache] warm_interval_secs` schedule.

use std::collections::HashSet;

use crate::cached::Encoder;
use crate::{Service, ServiceError, now};

/// What one warming pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarmReport {
    /// Distinct queries looked at (top requested plus saved).
    pub queries: usize,
    /// Answers computed and stored in the cache.
    pub computed: usize,
    /// Answers the cache already held fresh.
    pub fresh: usize,
    /// Queries that failed (e.g. a saved query naming a symbol no longer stored).
    pub failed: usize,
}

impl Service {
    /// Warm the cache with the `top` most requested queries answered by `encoder` and every
    /// saved query; a no-op without a cache. Failures are counted, not returned: warming must
    /// never stop because one saved query went bad.
    pub async fn warm(
        &self,
        encoder: &dyn Encoder,
        top: usize,
    ) -> Result<WarmReport, ServiceError> {
        let Some(cache) = &self.cache else {
            return Ok(WarmReport::default());
        };
        let mut queries = cache.popular.top(encoder.format(), top);
        queries.extend(
            self.list_queries(None)
                .await?
                .into_iter()
                .filter_map(|saved| saved.query.ok()),
        );
        let mut seen = HashSet::new();
        queries.retain(|q| seen.insert(q.to_string()));
        let mut report = WarmReport {
            queries: queries.len(),
            ..WarmReport::default()
        };
        for query in &queries {
            let text = query.to_string();
            match self.cache_key(cache, query, &text, now(), encoder).await {
                Err(_) => report.failed += 1,
                Ok((key, plan, seq)) => {
                    let held = cache.responses.peek(&key).await;
                    if held.is_some_and(|e| cache.responses.is_fresh(&e)) {
                        report.fresh += 1;
                    } else if self
                        .compute_cached(cache, &key, seq, &plan, encoder)
                        .await
                        .is_ok()
                    {
                        report.computed += 1;
                    } else {
                        report.failed += 1;
                    }
                }
            }
            tokio::task::yield_now().await;
        }
        metrics::counter!("tradeassist_cache_warmed_total").increment(report.computed as u64);
        Ok(report)
    }
}
