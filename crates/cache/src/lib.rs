//! Response cache of TradeAssist: encoded responses (opaque bytes) keyed by text, each tagged
//! with what its answer depends on, in an in-process L1 ([moka], bounded in bytes, per-entry
//! TTL, single-flight) and an optional shared L2 in Redis ([`l2`]).
//!
//! The crate knows nothing of HTTP, JSON or the store: the caller supplies the key (the
//! canonical query and the output format), the bytes, the [`Dependency`] tags and whether the
//! answer is *closed* (cannot change except through a logged [`Change`]).
//!
//! Correctness does not hang on eviction timing. Every entry carries the change sequence
//! number its computation started from; [`ResponseCache::apply`] records changes (from the
//! store's change log) in a window, and an entry is served only when no recorded change
//! newer than its sequence number touches one of its dependencies. Eviction of affected
//! entries keeps memory honest and the metrics exact, but a racing computation that read old
//! data cannot be served after the change that made it stale.
//!
//! ```
//! # tokio_test_shim::block_on(async {
//! use std::time::Duration;
//! use tradeassist_cache::{CacheConfig, Change, ChangeKind, Dependency, Entry, ResponseCache, Span};
//!
//! let cache = ResponseCache::new(CacheConfig::default());
//! let deps = vec![Dependency::Bars { instrument: 7, span: Span::new(100, 200) }];
//! let (e, _) = cache
//!     .get_or_compute("json|q", cache.applied_seq(), async {
//!         Ok::<_, ()>(Entry::new(b"[1,2]".to_vec(), deps, true))
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(e.body(), b"[1,2]");
//! // Bars of instrument 7 changed in [150, 160): the entry is evicted.
//! cache.apply(&[Change { seq: 1, instrument: 7, root: None, kind: ChangeKind::Bars, span: Span::new(150, 160) }]).await;
//! assert!(cache.peek("json|q").await.is_none());
//! # });
//! # mod tokio_test_shim { pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f) } }
//! ```

pub mod l2;
mod memo;
mod wire;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

pub use l2::{L2Config, RedisL2};
pub use memo::Memo;

/// A half-open span `[start, end)` of UTC epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    /// `[start, end)`; an empty or reversed span is kept as given and overlaps nothing.
    pub const fn new(start: i64, end: i64) -> Span {
        Span { start, end }
    }

    /// Every instant.
    pub const ALL: Span = Span::new(i64::MIN, i64::MAX);

    /// True when the two spans share an instant.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// What one cached answer was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// Stored bars (and open interest) of one instrument in a span.
    Bars { instrument: i64, span: Span },
    /// Stored bars of every instrument of a futures root in a span (a continuous series:
    /// the contracts it reads, including contracts stored after the answer was computed).
    Root { root: String, span: Span },
    /// The corporate-action factors of one instrument.
    Factors { instrument: i64 },
}

/// What kind of stored data a [`Change`] touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Bars or open-interest readings written or deleted in the change's span.
    Bars,
    /// The instrument's corporate-action factors were replaced.
    Factors,
    /// The instrument's definition changed (e.g. a last trade date): everything derived from it.
    Instrument,
}

/// One entry of the store's change log, as the cache sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the change log (strictly increasing).
    pub seq: i64,
    pub instrument: i64,
    /// The futures root of the instrument, when it is a contract.
    pub root: Option<String>,
    pub kind: ChangeKind,
    pub span: Span,
}

impl Dependency {
    /// True when `change` may alter an answer computed from this dependency.
    pub fn affected_by(&self, change: &Change) -> bool {
        let data = |span: &Span| match change.kind {
            ChangeKind::Bars => span.overlaps(&change.span),
            ChangeKind::Instrument => true,
            ChangeKind::Factors => false,
        };
        match self {
            Dependency::Bars { instrument, span } => *instrument == change.instrument && data(span),
            Dependency::Root { root, span } => {
                change.root.as_deref() == Some(root.as_str()) && data(span)
            }
            Dependency::Factors { instrument } => {
                *instrument == change.instrument
                    && matches!(change.kind, ChangeKind::Factors | ChangeKind::Instrument)
            }
        }
    }
}

/// One cached answer: the encoded bytes, their entity tag, and what they depend on.
#[derive(Debug)]
pub struct Entry {
    body: Arc<[u8]>,
    etag: String,
    deps: Vec<Dependency>,
    closed: bool,
    /// The change sequence number the computation started from (set by the cache).
    seq: AtomicI64,
    gzip: OnceLock<Arc<[u8]>>,
}

impl Entry {
    /// An answer of `body` depending on `deps`; `closed` when it can change only through a
    /// logged change (a historical range), not with the clock.
    pub fn new(body: Vec<u8>, deps: Vec<Dependency>, closed: bool) -> Entry {
        let etag = etag_of(&body);
        Entry::from_parts(body.into(), etag, deps, closed, 0)
    }

    fn from_parts(
        body: Arc<[u8]>,
        etag: String,
        deps: Vec<Dependency>,
        closed: bool,
        seq: i64,
    ) -> Entry {
        Entry {
            body,
            etag,
            deps,
            closed,
            seq: AtomicI64::new(seq),
            gzip: OnceLock::new(),
        }
    }

    /// The encoded answer.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The encoded answer, shared.
    pub fn body_shared(&self) -> Arc<[u8]> {
        self.body.clone()
    }

    /// A strong entity tag of the bytes (quoted, as HTTP wants it).
    pub fn etag(&self) -> &str {
        &self.etag
    }

    pub fn dependencies(&self) -> &[Dependency] {
        &self.deps
    }

    /// True for answers that change only through a logged change (long TTL).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The change sequence number this answer was computed from.
    pub fn seq(&self) -> i64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// The compressed form made by `compress` the first time it is asked for, then kept.
    pub fn compressed(&self, compress: impl FnOnce(&[u8]) -> Vec<u8>) -> Arc<[u8]> {
        self.gzip
            .get_or_init(|| compress(&self.body).into())
            .clone()
    }

    /// Bytes this entry holds in memory (the weigher of the byte bound).
    pub fn weight(&self) -> usize {
        self.body.len()
            + self.gzip.get().map_or(0, |g| g.len())
            + self.etag.len()
            + self.deps.len() * 32
            + 96
    }
}

/// A strong entity tag: two 64-bit SipHash digests (fixed keys) of the bytes, quoted.
pub fn etag_of(bytes: &[u8]) -> String {
    use std::hash::Hasher;
    let mut a = std::hash::DefaultHasher::new();
    a.write(bytes);
    let mut b = std::hash::DefaultHasher::new();
    b.write_u64(0x5441_4341_4348_4531);
    b.write(bytes);
    format!("\"{:016x}{:016x}\"", a.finish(), b.finish())
}

/// Settings of the response cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// Upper bound of the bytes L1 holds (sum of [`Entry::weight`] plus keys).
    pub max_bytes: u64,
    /// Lifetime of closed answers (historical ranges).
    pub ttl_closed: Duration,
    /// Lifetime of open answers (ranges touching the newest stored bar or now).
    pub ttl_open: Duration,
    /// Changes kept to judge entries computed before them (older entries are recomputed).
    pub change_window: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: 256 * 1024 * 1024,
            ttl_closed: Duration::from_secs(6 * 3600),
            ttl_open: Duration::from_secs(5),
            change_window: 100_000,
        }
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// In-process cache.
    L1,
    /// Shared Redis cache.
    L2,
    /// Computed by this call.
    Computed,
    /// Computed by a concurrent identical call this one waited for (single-flight).
    Waited,
}

struct Expiry {
    closed: Duration,
    open: Duration,
}

impl moka::Expiry<Arc<str>, Arc<Entry>> for Expiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(if value.closed { self.closed } else { self.open })
    }
}

/// Changes applied so far, newest last, bounded; `floor` is the newest seq no longer held.
#[derive(Default)]
struct ChangeWindow {
    changes: VecDeque<Change>,
    floor: i64,
}

/// The L1 response cache (plus the L2 when configured).
pub struct ResponseCache {
    l1: moka::future::Cache<Arc<str>, Arc<Entry>>,
    config: CacheConfig,
    applied: AtomicI64,
    window: RwLock<ChangeWindow>,
    l2: Option<Arc<RedisL2>>,
}

impl ResponseCache {
    /// An L1-only cache.
    pub fn new(config: CacheConfig) -> ResponseCache {
        let l1 = moka::future::Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|k: &Arc<str>, v: &Arc<Entry>| {
                u32::try_from(k.len() + v.weight()).unwrap_or(u32::MAX)
            })
            .expire_after(Expiry {
                closed: config.ttl_closed,
                open: config.ttl_open,
            })
            .eviction_listener(|_k, _v, cause| {
                if cause.was_evicted() {
                    metrics::counter!("tradeassist_cache_evictions_total").increment(1);
                }
            })
            .build();
        ResponseCache {
            l1,
            config,
            applied: AtomicI64::new(0),
            window: RwLock::new(ChangeWindow::default()),
            l2: None,
        }
    }

    /// Attach a shared L2 (see [`RedisL2`]).
    pub fn with_l2(mut self, l2: Arc<RedisL2>) -> ResponseCache {
        self.l2 = Some(l2);
        self
    }

    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    pub fn l2(&self) -> Option<&Arc<RedisL2>> {
        self.l2.as_ref()
    }

    /// The newest change sequence number applied.
    pub fn applied_seq(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Start from `seq` without a window (at start-up: nothing is cached yet, so older
    /// changes cannot matter; entries computed before it are never served).
    pub fn start_at(&self, seq: i64) {
        let mut w = self.window.write().expect("change window");
        if seq > self.applied_seq() {
            w.floor = w.floor.max(seq);
            self.applied.store(seq, Ordering::Release);
        }
    }

    /// Record changes of the store's change log (ignoring ones already applied), evict every
    /// L1 entry they affect and tell the L2's other instances; returns the entries evicted.
    pub async fn apply(&self, changes: &[Change]) -> usize {
        let fresh: Vec<Change> = {
            let mut w = self.window.write().expect("change window");
            let applied = self.applied_seq();
            let fresh: Vec<Change> = changes
                .iter()
                .filter(|c| c.seq > applied)
                .cloned()
                .collect();
            for c in &fresh {
                w.changes.push_back(c.clone());
            }
            while w.changes.len() > self.config.change_window {
                let old = w.changes.pop_front().expect("non-empty");
                w.floor = old.seq;
            }
            if let Some(last) = fresh.last() {
                self.applied.store(last.seq, Ordering::Release);
            }
            fresh
        };
        if fresh.is_empty() {
            return 0;
        }
        let evicted = self.evict(&fresh).await;
        if let Some(l2) = &self.l2 {
            l2.publish(&fresh).await;
        }
        evicted
    }

    /// Evict the L1 entries that changes announced by another instance affect. Only evicts:
    /// which answers may be served is decided by this instance's own change log sync, so a
    /// lost or reordered message cannot make a stale answer servable.
    pub async fn apply_remote(&self, changes: &[Change]) -> usize {
        self.evict(changes).await
    }

    async fn evict(&self, changes: &[Change]) -> usize {
        let affected: Vec<Arc<str>> = self
            .l1
            .iter()
            .filter(|(_, e)| {
                changes
                    .iter()
                    .any(|c| e.deps.iter().any(|d| d.affected_by(c)))
            })
            .map(|(k, _)| Arc::clone(&*k))
            .collect();
        for k in &affected {
            self.l1.invalidate(k).await;
        }
        metrics::counter!("tradeassist_cache_invalidations_total").increment(affected.len() as u64);
        self.report_size();
        affected.len()
    }

    /// True when no applied change newer than the entry touches its dependencies.
    pub fn is_fresh(&self, entry: &Entry) -> bool {
        let seq = entry.seq();
        if seq >= self.applied_seq() {
            return true;
        }
        let w = self.window.read().expect("change window");
        if seq < w.floor {
            return false;
        }
        !w.changes
            .iter()
            .rev()
            .take_while(|c| c.seq > seq)
            .any(|c| entry.deps.iter().any(|d| d.affected_by(c)))
    }

    /// The L1 entry of `key` without touching the L2 or the statistics.
    pub async fn peek(&self, key: &str) -> Option<Arc<Entry>> {
        self.l1.get(key).await
    }

    /// The cached answer of `key`, or the one `compute` makes (stamped with `seq`, the change
    /// sequence number observed before computing). Concurrent calls for one key run
    /// `compute` once; the others wait for it ([`Source::Waited`]). Errors are not cached;
    /// waiters share the error of the computation they waited for.
    pub async fn get_or_compute<F, E>(
        &self,
        key: &str,
        seq: i64,
        compute: F,
    ) -> Result<(Arc<Entry>, Source), Arc<E>>
    where
        F: Future<Output = Result<Entry, E>>,
        E: Send + Sync + 'static,
    {
        if let Some(e) = self.l1.get(key).await {
            if self.is_fresh(&e) {
                metrics::counter!("tradeassist_cache_hits_total", "layer" => "l1").increment(1);
                return Ok((e, Source::L1));
            }
            self.l1.invalidate(key).await;
            metrics::counter!("tradeassist_cache_invalidations_total").increment(1);
        }
        metrics::counter!("tradeassist_cache_misses_total", "layer" => "l1").increment(1);
        let ran = AtomicBool::new(false);
        let from_l2 = AtomicBool::new(false);
        let key: Arc<str> = Arc::from(key);
        let init = async {
            ran.store(true, Ordering::Relaxed);
            if let Some(l2) = &self.l2 {
                match l2.get(&key).await {
                    Some(e) if self.is_fresh(&e) => {
                        metrics::counter!("tradeassist_cache_hits_total", "layer" => "l2")
                            .increment(1);
                        from_l2.store(true, Ordering::Relaxed);
                        return Ok(Arc::new(e));
                    }
                    _ => metrics::counter!("tradeassist_cache_misses_total", "layer" => "l2")
                        .increment(1),
                }
            }
            let entry = compute.await?;
            entry.seq.store(seq, Ordering::Relaxed);
            let entry = Arc::new(entry);
            if let Some(l2) = &self.l2 {
                let ttl = if entry.closed {
                    self.config.ttl_closed
                } else {
                    self.config.ttl_open
                };
                l2.put(key.clone(), entry.clone(), ttl);
            }
            Ok(entry)
        };
        let entry = self.l1.try_get_with(key.clone(), init).await?;
        self.report_size();
        let source = match (ran.load(Ordering::Relaxed), from_l2.load(Ordering::Relaxed)) {
            (true, true) => Source::L2,
            (true, false) => Source::Computed,
            (false, _) => {
                metrics::counter!("tradeassist_cache_singleflight_waits_total").increment(1);
                Source::Waited
            }
        };
        Ok((entry, source))
    }

    /// Entries held (after pending maintenance).
    pub async fn entry_count(&self) -> u64 {
        self.l1.run_pending_tasks().await;
        self.l1.entry_count()
    }

    /// Bytes held (after pending maintenance).
    pub async fn weighted_size(&self) -> u64 {
        self.l1.run_pending_tasks().await;
        self.l1.weighted_size()
    }

    /// Drop every L1 entry.
    pub async fn clear(&self) {
        self.l1.invalidate_all();
        self.l1.run_pending_tasks().await;
        self.report_size();
    }

    fn report_size(&self) {
        metrics::gauge!("tradeassist_cache_entries").set(self.l1.entry_count() as f64);
        metrics::gauge!("tradeassist_cache_bytes").set(self.l1.weighted_size() as f64);
    }
}

#[cfg(test)]
mod tests;
