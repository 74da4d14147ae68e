//! Cached fetches: [`Service::fetch_encoded`] answers a [`Query`] with encoded bytes from the
//! response cache ([`tradeassist_cache`]), computing (plan, execute, encode) only on a miss.
//!
//! - **Key**: the encoder's format and the plan's [`CanonicalQuery`](crate::CanonicalQuery)
//!   text, so two requests that mean the same thing share one entry. The plan itself is
//!   memoised by the query's text form (valid at one change-log position only, and for the
//!   entry's TTL), so a hit does not touch the store's metadata either.
//! - **Dependencies** ([`Plan::dependencies`]): a plain or rollup-served series depends on its
//!   instrument's bars in the window (from the beginning of time when gap filling or
//!   `last_N_bars` may read before it); an adjusted equity also on the stock's factors; a
//!   continuous series on every contract of its root over the window plus the roll look-back.
//! - **Following the store** ([`Service::sync_changes`]): before each cached request the
//!   service asks the store for its change-log position ([`Store::change_seq`]: SQLite
//!   `PRAGMA data_version` on a dedicated connection, PostgreSQL one `max(seq)`); when it moved,
//!   the new entries are read and applied: affected entries are evicted, plans forgotten. Writes
//!   by another process (a CLI import) are therefore visible in the next response.
//! - **TTL**: closed answers (explicit end in the past, and stored data beyond the window)
//!   live `ttl_closed`; anything touching the newest stored bar or now lives `ttl_open`.
//!
//! [`Store::change_seq`]: tradeassist_store::Store::change_seq

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tradeassist_cache::{
    CacheConfig, Change, ChangeKind, Dependency, Entry, L2Config, Memo, RedisL2, ResponseCache,
    Source, Span,
};
use tradeassist_engine::FillMethod;
use tradeassist_model::RangeSpec;
use tradeassist_store::ChangeRecord;

use crate::plan::{LOOKBACK_DAYS, Plan, SeriesTarget};
use crate::result::FetchResult;
use crate::{Query, Service, ServiceError};

/// Turns a fetch result into response bytes (the server's JSON lives there, not here).
pub trait Encoder: Send + Sync {
    /// Name of the format, part of the cache key (e.g. `json`).
    fn format(&self) -> &str;
    fn encode(&self, result: &FetchResult) -> Result<Vec<u8>, ServiceError>;
}

/// An encoded answer and where it came from.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub entry: Arc<Entry>,
    pub source: Source,
}

/// Settings of the service's response cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSettings {
    pub cache: CacheConfig,
    /// The shared Redis L2, when configured.
    pub l2: Option<L2Config>,
    /// Most query plans kept.
    pub max_plans: u64,
    /// Most distinct queries whose request counts are kept for warming.
    pub tracked_queries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            cache: CacheConfig::default(),
            l2: None,
            max_plans: 10_000,
            tracked_queries: 1_000,
        }
    }
}

/// The response cache, the plan memo and the change-log follower of one service.
pub(crate) struct CacheLayer {
    pub(crate) responses: Arc<ResponseCache>,
    plans: Memo<(Arc<Plan>, i64)>,
    sync: tokio::sync::Mutex<()>,
    started: AtomicBool,
    /// Request counts per query, for warming.
    pub(crate) popular: Popular,
    /// Answers by where they came from: L1, L2, computed, waited.
    sources: [AtomicU64; 4],
}

/// Counts of cached requests since start ([`Service::cache_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Answered from the in-process cache.
    pub l1_hits: u64,
    /// Answered from Redis.
    pub l2_hits: u64,
    /// Computed by the request.
    pub misses: u64,
    /// Computed by a concurrent identical request this one waited for.
    pub shared: u64,
}

impl CacheStats {
    /// Every request counted.
    pub fn requests(&self) -> u64 {
        self.l1_hits + self.l2_hits + self.misses + self.shared
    }

    /// Share of requests answered without computing (L1, L2 or shared), 0 without requests.
    pub fn hit_rate(&self) -> f64 {
        let n = self.requests();
        if n == 0 {
            0.0
        } else {
            (n - self.misses) as f64 / n as f64
        }
    }
}

impl CacheLayer {
    pub(crate) fn new(settings: &CacheSettings) -> Result<CacheLayer, ServiceError> {
        let mut responses = ResponseCache::new(settings.cache.clone());
        let mut l2 = None;
        if let Some(config) = &settings.l2 {
            let redis = RedisL2::new(config.clone())
                .map_err(|e| ServiceError::invalid("redis.url", format!("bad Redis URL: {e}")))?;
            responses = responses.with_l2(redis.clone());
            l2 = Some(redis);
        }
        let responses = Arc::new(responses);
        if let Some(l2) = l2 {
            l2.subscribe(Arc::downgrade(&responses));
        }
        Ok(CacheLayer {
            responses,
            plans: Memo::new(settings.max_plans),
            sync: tokio::sync::Mutex::new(()),
            started: AtomicBool::new(false),
            popular: Popular::new(settings.tracked_queries),
            sources: Default::default(),
        })
    }

    fn ttl(&self, closed: bool) -> Duration {
        let c = self.responses.config();
        if closed { c.ttl_closed } else { c.ttl_open }
    }
}

fn change_of(r: &ChangeRecord) -> Change {
    Change {
        seq: r.seq,
        instrument: r.instrument_id,
        root: r.root.clone(),
        kind: match r.kind {
            tradeassist_store::ChangeKind::Bars => ChangeKind::Bars,
            tradeassist_store::ChangeKind::Factors => ChangeKind::Factors,
            tradeassist_store::ChangeKind::Instrument => ChangeKind::Instrument,
        },
        span: Span::new(r.first_ts, r.end_ts),
    }
}

impl Plan {
    /// What the answer of this plan depends on in the store (see the module docs).
    pub fn dependencies(&self) -> Vec<Dependency> {
        let reads_before = self.query.options.fill != FillMethod::None
            || self.series.iter().any(|s| s.window.last_bars.is_some());
        let mut deps = Vec::with_capacity(self.series.len() + 1);
        for s in &self.series {
            let range = s.window.range;
            match &s.target {
                SeriesTarget::Instrument { instrument, adjust } => {
                    let start = if reads_before {
                        i64::MIN
                    } else {
                        range.start()
                    };
                    deps.push(Dependency::Bars {
                        instrument: instrument.id,
                        span: Span::new(start, range.end()),
                    });
                    if *adjust != tradeassist_engine::PriceAdjustment::None {
                        deps.push(Dependency::Factors {
                            instrument: instrument.id,
                        });
                    }
                }
                SeriesTarget::Continuous { symbol, .. } => {
                    let start = if reads_before {
                        i64::MIN
                    } else {
                        range.start().saturating_sub(LOOKBACK_DAYS * 86_400)
                    };
                    deps.push(Dependency::Root {
                        root: symbol.root.clone(),
                        span: Span::new(start, range.end()),
                    });
                }
            }
        }
        deps
    }

    /// True when the answer cannot change with the clock or with appended bars: the range has
    /// an explicit end in the past and every series has stored data at or beyond its window end.
    pub fn is_closed(&self) -> bool {
        let explicit_end = !matches!(
            self.query.range,
            RangeSpec::Absolute { end: None, .. } | RangeSpec::Preset { as_of: None, .. }
        );
        explicit_end
            && self.series.iter().all(|s| {
                s.window.range.end() <= self.now
                    && s.last_stored
                        .is_some_and(|last| last >= s.window.range.end())
            })
    }
}

impl Service {
    /// Turn the response cache on (L1, plus the L2 when `settings.l2` is set).
    pub fn with_cache(mut self, settings: &CacheSettings) -> Result<Service, ServiceError> {
        self.cache = Some(Arc::new(CacheLayer::new(settings)?));
        Ok(self)
    }

    /// Requests answered through the response cache since start, by source (`None` when the
    /// cache is off).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        let c = self.cache.as_ref()?;
        let n = |i: usize| c.sources[i].load(Ordering::Relaxed);
        Some(CacheStats {
            l1_hits: n(0),
            l2_hits: n(1),
            misses: n(2),
            shared: n(3),
        })
    }

    /// True when the cache shares answers through Redis (its L2).
    pub fn cache_has_l2(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.responses.l2().is_some())
    }

    /// The response cache, when on.
    pub fn response_cache(&self) -> Option<&Arc<ResponseCache>> {
        self.cache.as_ref().map(|c| &c.responses)
    }

    /// Follow the store's change log: apply every entry written since the last look (by this
    /// or any other process) to the cache. One cheap store call when nothing changed.
    pub async fn sync_changes(&self) -> Result<(), ServiceError> {
        let Some(cache) = &self.cache else {
            return Ok(());
        };
        let latest = self.store.change_seq().await?;
        if !cache.started.load(Ordering::Acquire) {
            let _guard = cache.sync.lock().await;
            if !cache.started.load(Ordering::Acquire) {
                // Nothing is cached yet: older changes cannot matter.
                cache.responses.start_at(latest);
                cache.started.store(true, Ordering::Release);
                return Ok(());
            }
        }
        if latest <= cache.responses.applied_seq() {
            return Ok(());
        }
        let _guard = cache.sync.lock().await;
        while cache.responses.applied_seq() < latest {
            let records = self
                .store
                .changes_since(cache.responses.applied_seq())
                .await?;
            if records.is_empty() {
                break;
            }
            let changes: Vec<Change> = records.iter().map(change_of).collect();
            cache.plans.clear();
            cache.responses.apply(&changes).await;
        }
        Ok(())
    }

    /// A query's answer as bytes made by `encoder`: from the cache when it holds a fresh one,
    /// else planned, executed and encoded (once for concurrent identical requests). Counted
    /// as a request for warming ([`Service::warm`]).
    pub async fn fetch_encoded(
        &self,
        query: &Query,
        now: i64,
        encoder: &dyn Encoder,
    ) -> Result<Encoded, ServiceError> {
        let Some(cache) = &self.cache else {
            let plan = self.plan(query, now).await?;
            let result = self.execute(&plan).await?;
            let entry = Entry::new(
                encoder.encode(&result)?,
                plan.dependencies(),
                plan.is_closed(),
            );
            return Ok(Encoded {
                entry: Arc::new(entry),
                source: Source::Computed,
            });
        };
        let text = query.to_string();
        cache.popular.record(encoder.format(), &text, query);
        let (key, plan, seq) = self.cache_key(cache, query, &text, now, encoder).await?;
        self.compute_cached(cache, &key, seq, &plan, encoder).await
    }

    /// The cache key of a query (`text` is its text form) at `now`, its (memoised) plan and
    /// the change-log position both are valid at.
    pub(crate) async fn cache_key(
        &self,
        cache: &CacheLayer,
        query: &Query,
        text: &str,
        now: i64,
        encoder: &dyn Encoder,
    ) -> Result<(String, Arc<Plan>, i64), ServiceError> {
        self.sync_changes().await?;
        let seq = cache.responses.applied_seq();
        let plan = match cache.plans.get(text).filter(|(_, s)| *s == seq) {
            Some((plan, _)) => plan,
            None => {
                let plan = Arc::new(self.plan(query, now).await?);
                cache
                    .plans
                    .insert(text, (plan.clone(), seq), cache.ttl(plan.is_closed()));
                plan
            }
        };
        let key = format!("{}|{}", encoder.format(), plan.canonical());
        Ok((key, plan, seq))
    }

    /// The entry under `key`, computed from `plan` on a miss.
    pub(crate) async fn compute_cached(
        &self,
        cache: &CacheLayer,
        key: &str,
        seq: i64,
        plan: &Plan,
        encoder: &dyn Encoder,
    ) -> Result<Encoded, ServiceError> {
        let computed = cache
            .responses
            .get_or_compute(key, seq, async {
                let result = self.execute(plan).await?;
                Ok::<_, ServiceError>(Entry::new(
                    encoder.encode(&result)?,
                    plan.dependencies(),
                    plan.is_closed(),
                ))
            })
            .await;
        match computed {
            Ok((entry, source)) => {
                let slot = match source {
                    Source::L1 => 0,
                    Source::L2 => 1,
                    Source::Computed => 2,
                    Source::Waited => 3,
                };
                cache.sources[slot].fetch_add(1, Ordering::Relaxed);
                Ok(Encoded { entry, source })
            }
            Err(shared) => Err(Arc::try_unwrap(shared).unwrap_or_else(|e| e.replay())),
        }
    }
}

/// Request counts per (format, query text), at most `capacity` of them.
pub(crate) struct Popular {
    counts: Mutex<HashMap<(String, String), (Query, u64)>>,
    capacity: usize,
}

impl Popular {
    pub(crate) fn new(capacity: usize) -> Popular {
        Popular {
            counts: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Count one request of `query` (text form `text`) answered in `format`.
    pub(crate) fn record(&self, format: &str, text: &str, query: &Query) {
        if self.capacity == 0 {
            return;
        }
        let key = (format.to_string(), text.to_string());
        let mut counts = self.counts.lock().expect("request counts");
        if let Some((_, n)) = counts.get_mut(&key) {
            *n += 1;
            return;
        }
        if counts.len() >= self.capacity {
            let least = counts
                .iter()
                .min_by_key(|(_, (_, n))| *n)
                .map(|(k, _)| k.clone());
            if let Some(k) = least {
                counts.remove(&k);
            }
        }
        counts.insert(key, (query.clone(), 1));
    }

    /// The `n` most requested queries in `format`, most requested first (ties by text).
    pub(crate) fn top(&self, format: &str, n: usize) -> Vec<Query> {
        let counts = self.counts.lock().expect("request counts");
        let mut found: Vec<(&String, &Query, u64)> = counts
            .iter()
            .filter(|((f, _), _)| f == format)
            .map(|((_, text), (q, c))| (text, q, *c))
            .collect();
        found.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
        found
            .into_iter()
            .take(n)
            .map(|(_, q, _)| q.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Query {
        text.parse().unwrap()
    }

    #[test]
    fn the_most_requested_come_first_and_the_count_is_bounded() {
        let p = Popular::new(3);
        let (a, b, c, d) = (
            q("symbols=A&frequency=1d&start=2013-01-01"),
            q("symbols=B&frequency=1d&start=2013-01-01"),
            q("symbols=C&frequency=1d&start=2013-01-01"),
            q("symbols=D&frequency=1d&start=2013-01-01"),
        );
        for _ in 0..3 {
            p.record("json", &b.to_string(), &b);
        }
        p.record("json", &a.to_string(), &a);
        p.record("json", &a.to_string(), &a);
        p.record("json", &c.to_string(), &c);
        p.record("csv", &c.to_string(), &c);
        // Full (3 entries): D replaces the least requested, C in json or csv.
        p.record("json", &d.to_string(), &d);
        let top = p.top("json", 10);
        assert_eq!(top[..2], [b.clone(), a.clone()]);
        assert_eq!(p.top("json", 1), [b]);
        assert_eq!(p.counts.lock().unwrap().len(), 3);
    }
}
