//! A small memo of derived values (e.g. query plans) with per-entry lifetimes, dropped as a
//! whole when the data they were derived from changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Values by text key, each with its own lifetime, bounded by entry count.
#[derive(Clone)]
pub struct Memo<V: Clone + Send + Sync + 'static> {
    inner: moka::sync::Cache<Arc<str>, (V, Duration)>,
}

struct MemoExpiry;

impl<V> moka::Expiry<Arc<str>, (V, Duration)> for MemoExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &(V, Duration),
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.1)
    }
}

impl<V: Clone + Send + Sync + 'static> Memo<V> {
    /// A memo of at most `capacity` values.
    pub fn new(capacity: u64) -> Memo<V> {
        Memo {
            inner: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(MemoExpiry)
                .build(),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.inner.get(key).map(|(v, _)| v)
    }

    /// Keep `value` under `key` for `ttl`.
    pub fn insert(&self, key: &str, value: V, ttl: Duration) {
        self.inner.insert(Arc::from(key), (value, ttl));
    }

    /// Forget everything.
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}
