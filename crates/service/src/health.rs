//! Readiness of the service's dependencies: the store (reachable, how fast, schema current)
//! and, when configured, Redis. Each component is `ok`, `degraded` or `down`; the service is
//! down only when its store is, and degraded when anything else is not ok.
//!
//! ```
//! use std::time::Duration;
//! use tradeassist_service::health::{Check, Status};
//! let slow = Check::measured(Duration::from_secs(2), Ok(()));
//! assert_eq!(slow.status, Status::Degraded);
//! ```

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tradeassist_store::SchemaStatus;

use crate::{Service, ServiceError, error_chain};

/// A store answering slower than this is degraded.
pub const SLOW: Duration = Duration::from_secs(1);
/// A store check that takes longer than this counts as down.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a Redis PING (including a reconnect) may take.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// State of one component (or of the whole service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Degraded,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Down => "down",
        }
    }
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub status: Status,
    /// How long the probe took.
    pub latency: Duration,
    /// Why it is not ok.
    pub error: Option<String>,
}

impl Check {
    /// `ok` (or `degraded` when slower than [`SLOW`]) for a success, `down` for a failure.
    pub fn measured(latency: Duration, result: Result<(), String>) -> Check {
        match result {
            Ok(()) if latency > SLOW => Check {
                status: Status::Degraded,
                latency,
                error: Some(format!("answered in {} ms", latency.as_millis())),
            },
            Ok(()) => Check {
                status: Status::Ok,
                latency,
                error: None,
            },
            Err(error) => Check {
                status: Status::Down,
                latency,
                error: Some(error),
            },
        }
    }
}

/// What `/health/ready` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    /// Store backend name (`sqlite`, `postgres`).
    pub backend: &'static str,
    pub store: Check,
    /// Applied and expected schema version; `None` when the store did not answer.
    pub schema: Option<SchemaStatus>,
    /// `None` when Redis is not configured.
    pub redis: Option<Check>,
    /// The backfill provider's circuit: `degraded` while open or half-open, never `down`
    /// (stored data is served without it); `None` when no provider is configured.
    pub provider: Option<Check>,
}

impl Readiness {
    /// `ok` when the applied schema is the expected one, `degraded` when not (another
    /// process migrated the database), `down` when unknown (the store is down).
    pub fn migrations(&self) -> Status {
        match self.schema {
            Some(s) if s.current() => Status::Ok,
            Some(_) => Status::Degraded,
            None => Status::Down,
        }
    }

    /// Down when the store is down; else degraded when any component is not ok.
    pub fn status(&self) -> Status {
        if self.store.status == Status::Down {
            return Status::Down;
        }
        let worst = [
            Some(self.store.status),
            Some(self.migrations()),
            self.redis.as_ref().map(|r| r.status),
            self.provider.as_ref().map(|p| p.status),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(Status::Ok);
        worst.min(Status::Degraded)
    }
}

/// PINGs a Redis server through a tokio connection manager. A failed probe drops the
/// connection, so the next one reconnects from scratch (Redis restarted, failed over).
pub struct RedisProbe {
    client: redis::Client,
    manager: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl RedisProbe {
    /// A probe of the server at `url` (`redis://host:port/db`); nothing is connected yet.
    pub fn new(url: &str) -> Result<RedisProbe, ServiceError> {
        let client = redis::Client::open(url)
            .map_err(|e| ServiceError::invalid("redis.url", format!("invalid Redis URL: {e}")))?;
        Ok(RedisProbe {
            client,
            manager: tokio::sync::Mutex::new(None),
        })
    }

    /// One PING within [`REDIS_TIMEOUT`].
    pub async fn check(&self) -> Check {
        let started = Instant::now();
        let result = tokio::time::timeout(REDIS_TIMEOUT, self.ping())
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} ms", REDIS_TIMEOUT.as_millis())));
        if result.is_err() {
            *self.manager.lock().await = None;
        }
        Check::measured(started.elapsed(), result)
    }

    async fn ping(&self) -> Result<(), String> {
        let mut guard = self.manager.lock().await;
        let manager = match guard.as_mut() {
            Some(m) => m,
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(0)
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT));
                let m = self
                    .client
                    .get_connection_manager_with_config(config)
                    .await
                    .map_err(|e| format!("cannot connect: {e}"))?;
                guard.insert(m)
            }
        };
        let reply: String = redis::cmd("PING")
            .query_async(manager)
            .await
            .map_err(|e| format!("PING failed: {e}"))?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(format!("unexpected PING reply {reply:?}"))
        }
    }
}

impl Service {
    /// Probe the store (schema version query: reachability, latency, migrations) and Redis
    /// when configured, concurrently.
    pub async fn readiness(&self) -> Readiness {
        let store = async {
            let started = Instant::now();
            let result = tokio::time::timeout(STORE_TIMEOUT, self.store.schema_status()).await;
            let latency = started.elapsed();
            match result {
                Ok(Ok(schema)) => (Check::measured(latency, Ok(())), Some(schema)),
                Ok(Err(e)) => {
                    // The cause (database text) goes to the log; the answer names the failure.
                    tracing::warn!(error = %error_chain(&e), "readiness: the store failed");
                    (Check::measured(latency, Err(e.to_string())), None)
                }
                Err(_) => (
                    Check::measured(
                        latency,
                        Err(format!("no answer within {} s", STORE_TIMEOUT.as_secs())),
                    ),
                    None,
                ),
            }
        };
        let redis = async {
            match (&self.redis, self.response_cache().and_then(|c| c.l2())) {
                (Some(probe), _) => Some(probe.check().await),
                // The cache's L2 tracks its own connection: report what it last saw.
                (None, Some(l2)) => Some(Check::measured(
                    Duration::ZERO,
                    if l2.is_healthy() {
                        Ok(())
                    } else {
                        Err("the response cache's Redis (L2) is unreachable".into())
                    },
                )),
                (None, None) => None,
            }
        };
        let ((store, schema), redis) = tokio::join!(store, redis);
        Readiness {
            backend: self.store.backend(),
            store,
            schema,
            redis,
            provider: self.provider.as_ref().map(|p| provider_check(p.as_ref())),
        }
    }
}

/// The provider's circuit as a readiness check (no probe request: the breaker knows).
fn provider_check(p: &dyn crate::SourceProvider) -> Check {
    let stats = p.status().circuit;
    let status = match stats.state {
        tradeassist_providers::resilience::CircuitState::Closed => Status::Ok,
        _ => Status::Degraded,
    };
    let error = (status != Status::Ok).then(|| {
        format!(
            "{} circuit {}: {}",
            p.name(),
            stats.state.as_str(),
            stats.last_error.as_deref().unwrap_or("failing")
        )
    });
    Check {
        status,
        latency: Duration::ZERO,
        error,
    }
}

impl Service {
    /// True when a Redis server is configured and answers a PING now.
    pub async fn redis_available(&self) -> bool {
        match &self.redis {
            Some(probe) => probe.check().await.status != Status::Down,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Check {
        Check::measured(Duration::from_millis(1), Ok(()))
    }

    fn down() -> Check {
        Check::measured(Duration::from_millis(1), Err("gone".into()))
    }

    fn readiness(store: Check, applied: Option<i64>, redis: Option<Check>) -> Readiness {
        Readiness {
            backend: "sqlite",
            store,
            schema: applied.map(|applied| SchemaStatus {
                applied,
                expected: 4,
            }),
            redis,
            provider: None,
        }
    }

    #[test]
    fn only_a_down_store_makes_the_service_down() {
        assert_eq!(readiness(ok(), Some(4), None).status(), Status::Ok);
        assert_eq!(readiness(ok(), Some(4), Some(ok())).status(), Status::Ok);
        assert_eq!(
            readiness(ok(), Some(4), Some(down())).status(),
            Status::Degraded
        );
        assert_eq!(readiness(ok(), Some(3), None).status(), Status::Degraded);
        assert_eq!(
            readiness(ok(), Some(3), None).migrations(),
            Status::Degraded
        );
        assert_eq!(readiness(down(), None, Some(ok())).status(), Status::Down);
        let slow = Check::measured(SLOW * 2, Ok(()));
        assert_eq!(slow.status, Status::Degraded);
        assert_eq!(readiness(slow, Some(4), None).status(), Status::Degraded);
    }
}
