//! The optional shared L2: encoded entries in Redis under their own key prefix, written in the
//! background after a computation, read on an L1 miss; and the invalidation channel
//! (`{prefix}invalidate`, pub/sub) over which instances tell each other what their change
//! log sync evicted.
//!
//! Redis is an optimisation: every call has a short timeout, a failure marks the L2 down for
//! a back-off period (during which it is skipped), and nothing here ever fails a request.
//! Entries carry the change sequence number they were computed from, and the reader judges
//! them against its own change window exactly as L1 entries (see the crate docs), so a
//! stale L2 value is never served even when an invalidation message was lost. All instances
//! sharing an L2 must serve the same database (one change-log numbering).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::{Change, Entry, ResponseCache, wire};

/// Where the L2 lives.
#[derive(Debug, Clone, PartialEq)]
pub struct L2Config {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// Prefix of every key and of the invalidation channel.
    pub prefix: String,
    /// Longest wait for one Redis call before the L2 is skipped.
    pub timeout: Duration,
    /// How long the L2 is skipped after a failure.
    pub backoff: Duration,
}

impl L2Config {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> L2Config {
        L2Config {
            url: url.into(),
            prefix: prefix.into(),
            timeout: Duration::from_millis(250),
            backoff: Duration::from_secs(1),
        }
    }
}

/// A Redis L2 with lazy connection, timeouts and back-off.
pub struct RedisL2 {
    client: redis::Client,
    config: L2Config,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    down_until: Mutex<Option<Instant>>,
    healthy: AtomicBool,
}

impl RedisL2 {
    /// Parse the URL; the connection is made on first use.
    pub fn new(config: L2Config) -> Result<Arc<RedisL2>, redis::RedisError> {
        Ok(Arc::new(RedisL2 {
            client: redis::Client::open(config.url.as_str())?,
            config,
            conn: tokio::sync::Mutex::new(None),
            down_until: Mutex::new(None),
            healthy: AtomicBool::new(true),
        }))
    }

    /// False after the last Redis call failed (until one succeeds again).
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn key(&self, key: &str) -> String {
        format!("{}r:{key}", self.config.prefix)
    }

    fn channel(&self) -> String {
        format!("{}invalidate", self.config.prefix)
    }

    fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %e, "redis L2 {what} failed; serving without it");
        }
        metrics::counter!("tradeassist_cache_l2_errors_total").increment(1);
        *self.down_until.lock().expect("l2 state") = Some(Instant::now() + self.config.backoff);
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        if let Some(until) = *self.down_until.lock().expect("l2 state")
            && Instant::now() < until
        {
            return None;
        }
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(self.config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(self.config.backoff);
        let made = tokio::time::timeout(
            self.config.timeout * 2,
            self.client.get_connection_manager_with_config(config),
        )
        .await;
        match made {
            Ok(Ok(c)) => {
                *guard = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.failed("connect", &e);
                None
            }
            Err(e) => {
                self.failed("connect", &e);
                None
            }
        }
    }

    async fn call<T, F>(&self, what: &str, f: impl FnOnce(ConnectionManager) -> F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(self.config.timeout, f(conn)).await {
            Ok(Ok(v)) => {
                self.healthy.store(true, Ordering::Relaxed);
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(what, &e);
                None
            }
            Err(e) => {
                self.failed(what, &e);
                None
            }
        }
    }

    /// The entry stored under `key`, if Redis answers and the value is readable.
    pub async fn get(&self, key: &str) -> Option<Entry> {
        let k = self.key(key);
        let bytes: Option<Vec<u8>> = self
            .call("get", |mut c| async move { c.get(k).await })
            .await?;
        wire::decode_entry(&bytes?)
    }

    /// Store `entry` under `key` for `ttl`, in the background (never delays the caller).
    pub fn put(self: &Arc<Self>, key: Arc<str>, entry: Arc<Entry>, ttl: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let k = this.key(&key);
            let value = wire::encode_entry(&entry);
            let secs = ttl.as_secs().max(1);
            this.call("set", |mut c| async move {
                c.set_ex::<_, _, ()>(k, value, secs).await
            })
            .await;
        });
    }

    /// Tell the other instances which changes this one applied.
    pub async fn publish(&self, changes: &[Change]) {
        let payload = wire::encode_changes(changes);
        let channel = self.channel();
        self.call("publish", |mut c| async move {
            c.publish::<_, _, ()>(channel, payload).await
        })
        .await;
    }

    /// Follow the invalidation channel in the background, evicting what other instances
    /// announce from `cache`'s L1; reconnects after failures; ends with the cache.
    pub fn subscribe(self: &Arc<Self>, cache: Weak<ResponseCache>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if cache.strong_count() == 0 {
                    return;
                }
                let pubsub =
                    tokio::time::timeout(this.config.timeout * 2, this.client.get_async_pubsub())
                        .await;
                let mut pubsub = match pubsub {
                    Ok(Ok(p)) => p,
                    _ => {
                        tokio::time::sleep(this.config.backoff).await;
                        continue;
                    }
                };
                if pubsub.subscribe(this.channel()).await.is_err() {
                    tokio::time::sleep(this.config.backoff).await;
                    continue;
                }
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let Some(cache) = cache.upgrade() else { return };
                    if let Some(changes) = wire::decode_changes(msg.get_payload_bytes()) {
                        cache.apply_remote(&changes).await;
                    }
                }
                tokio::time::sleep(this.config.backoff).await;
            }
        })
    }
}
