//! `[providers.schwab]`: plain, deserializable settings; secrets that do not print.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use crate::provider::ProviderError;
use crate::resilience::{BreakerConfig, ResiliencePolicy, RetryConfig};

/// A credential. `Debug` shows `[redacted]` (or `[empty]`); there is no `Display` and no
/// `Serialize`, so a secret cannot end up in a log line, an error or a response by accident.
/// Read it with [`Secret::expose`] where it is sent, and nowhere else.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "[empty]"
        } else {
            "[redacted]"
        })
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://api.schwabapi.com";

/// `[providers.schwab]`.
///
/// ```toml
/// [providers.schwab]
/// enabled = true
/// base_url = "https://api.schwabapi.com"   # token: {base_url}/v1/oauth/token ; bars: {base_url}/marketdata/v1/pricehistory
/// client_id = "..."
/// client_secret = "..."
/// refresh_token = "..."
/// requests_per_minute = 120
/// timeout_ms = 10000
/// [providers.schwab.retry]
/// max_attempts = 4
/// base_delay_ms = 250
/// max_delay_ms = 30000     # cap of every wait, also of Retry-After
/// [providers.schwab.breaker]
/// failure_threshold = 5
/// cool_down_ms = 30000
/// half_open_probes = 1
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchwabConfig {
    pub enabled: bool,
    /// Scheme, host and optional port, no trailing path (`http://` only for tests).
    pub base_url: String,
    /// The app key (OAuth client id).
    pub client_id: String,
    pub client_secret: Secret,
    /// The long-lived refresh token; a rotated one replaces it in memory.
    pub refresh_token: Secret,
    /// Client-side budget of price-history requests per minute.
    pub requests_per_minute: u32,
    /// Per request.
    pub timeout_ms: u64,
    pub retry: RetryConfig,
    pub breaker: BreakerConfig,
}

impl Default for SchwabConfig {
    fn default() -> Self {
        SchwabConfig {
            enabled: false,
            base_url: DEFAULT_BASE_URL.to_string(),
            client_id: String::new(),
            client_secret: Secret::default(),
            refresh_token: Secret::default(),
            requests_per_minute: 120,
            timeout_ms: 10_000,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

impl SchwabConfig {
    /// Check the settings a client needs (credentials present, limits positive, a URL).
    pub fn validate(&self) -> Result<(), ProviderError> {
        let bad = |what: &str| Err(ProviderError::Config(format!("providers.schwab: {what}")));
        let url = self.base_url.trim_end_matches('/');
        let Some((scheme, host)) = url.split_once("://") else {
            return bad("base_url must start with https:// (or http:// for a local test server)");
        };
        if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains('/') {
            return bad("base_url must be scheme://host[:port] without a path");
        }
        if self.client_id.trim().is_empty() {
            return bad("client_id is empty");
        }
        if self.client_secret.is_empty() {
            return bad("client_secret is empty");
        }
        if self.refresh_token.is_empty() {
            return bad("refresh_token is empty");
        }
        if self.requests_per_minute == 0 {
            return bad("requests_per_minute must be at least 1");
        }
        if self.timeout_ms == 0 {
            return bad("timeout_ms must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return bad("retry.max_attempts must be at least 1");
        }
        if self.breaker.failure_threshold == 0 || self.breaker.half_open_probes == 0 {
            return bad(
                "breaker.failure_threshold and breaker.half_open_probes must be at least 1",
            );
        }
        Ok(())
    }

    /// `base_url` without a trailing slash.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Timeout, rate limit, retry and breaker settings for [`crate::resilience::Resilient`].
    pub fn resilience_policy(&self) -> ResiliencePolicy {
        ResiliencePolicy {
            timeout: self.timeout(),
            requests_per_minute: NonZeroU32::new(self.requests_per_minute),
            retry: self.retry.clone(),
            breaker: self.breaker.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> SchwabConfig {
        SchwabConfig {
            enabled: true,
            client_id: "app".into(),
            client_secret: "s3cr3t".into(),
            refresh_token: "r3fr3sh".into(),
            ..SchwabConfig::default()
        }
    }

    #[test]
    fn defaults_match_the_documented_config() {
        let c = SchwabConfig::default();
        assert!(!c.enabled);
        assert_eq!(c.base_url, "https://api.schwabapi.com");
        assert_eq!((c.requests_per_minute, c.timeout_ms), (120, 10_000));
        assert_eq!(
            (
                c.retry.max_attempts,
                c.retry.base_delay_ms,
                c.retry.max_delay_ms
            ),
            (4, 250, 30_000)
        );
        assert_eq!(
            (
                c.breaker.failure_threshold,
                c.breaker.cool_down_ms,
                c.breaker.half_open_probes
            ),
            (5, 30_000, 1)
        );
        let p = valid().resilience_policy();
        assert_eq!(p.timeout, Duration::from_secs(10));
        assert_eq!(p.requests_per_minute, NonZeroU32::new(120));
    }

    #[test]
    fn deserializes_from_json_with_partial_tables() {
        let c: SchwabConfig = serde_json::from_str(
            r#"{"enabled": true, "client_id": "app", "client_secret": "s", "refresh_token": "r",
                "retry": {"max_attempts": 2}, "breaker": {"cool_down_ms": 5}}"#,
        )
        .unwrap();
        assert_eq!(c.retry.max_attempts, 2);
        assert_eq!(c.retry.base_delay_ms, 250);
        assert_eq!(c.breaker.cool_down_ms, 5);
        assert_eq!(c.breaker.failure_threshold, 5);
        assert_eq!(c.client_secret.expose(), "s");
        assert!(serde_json::from_str::<SchwabConfig>(r#"{"client_secrte": "typo"}"#).is_err());
    }

    #[test]
    fn debug_redacts_the_secrets() {
        let text = format!("{:?} {:#?}", valid(), valid());
        assert!(
            !text.contains("s3cr3t") && !text.contains("r3fr3sh"),
            "{text}"
        );
        assert!(text.contains("[redacted]"));
        assert_eq!(format!("{:?}", Secret::default()), "[empty]");
    }

    #[test]
    fn validation_names_the_setting() {
        assert!(valid().validate().is_ok());
        let cases: Vec<(SchwabConfig, &str)> = vec![
            (
                SchwabConfig {
                    base_url: "api.schwabapi.com".into(),
                    ..valid()
                },
                "base_url",
            ),
            (
                SchwabConfig {
                    base_url: "https://host/v1".into(),
                    ..valid()
                },
                "base_url",
            ),
            (
                SchwabConfig {
                    client_id: " ".into(),
                    ..valid()
                },
                "client_id",
            ),
            (
                SchwabConfig {
                    client_secret: Secret::default(),
                    ..valid()
                },
                "client_secret",
            ),
            (
                SchwabConfig {
                    refresh_token: Secret::default(),
                    ..valid()
                },
                "refresh_token",
            ),
            (
                SchwabConfig {
                    requests_per_minute: 0,
                    ..valid()
                },
                "requests_per_minute",
            ),
            (
                SchwabConfig {
                    timeout_ms: 0,
                    ..valid()
                },
                "timeout_ms",
            ),
            (
                SchwabConfig {
                    retry: RetryConfig {
                        max_attempts: 0,
                        ..RetryConfig::default()
                    },
                    ..valid()
                },
                "max_attempts",
            ),
            (
                SchwabConfig {
                    breaker: BreakerConfig {
                        failure_threshold: 0,
                        ..BreakerConfig::default()
                    },
                    ..valid()
                },
                "failure_threshold",
            ),
        ];
        for (config, field) in cases {
            let e = config.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert_eq!(
            SchwabConfig {
                base_url: "http://127.0.0.1:8080/".into(),
                ..valid()
            }
            .base(),
            "http://127.0.0.1:8080"
        );
    }
}
