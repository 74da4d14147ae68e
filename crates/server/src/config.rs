//! Typed configuration: defaults, then an optional TOML file, then `TRADEASSIST_*` variables
//! (nested keys with `__`, e.g. `TRADEASSIST_LIMITS__MAX_SYMBOLS=50`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tradeassist_service::Limits;

/// Everything the binary can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Storage backend: `sqlite` (embedded default) or `postgres`.
    pub store: StoreKind,
    /// SQLite database file.
    pub db: PathBuf,
    pub postgres: PostgresConfig,
    /// Address the server listens on.
    pub listen: SocketAddr,
    pub limits: LimitsConfig,
    /// Log lines as human-readable `text` (default) or one JSON object per line (`json`).
    pub log_format: LogFormat,
    pub cache: CacheConfig,
    pub redis: RedisConfig,
    pub pool: PoolConfig,
    pub ws: WsConfig,
    pub jobs: JobsConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    /// Providers of bars for backfills (`[providers.schwab]`); secrets inside are never
    /// serialised or logged.
    #[serde(default, skip_serializing)]
    pub providers: ProvidersConfig,
}

/// Providers (`[providers]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvidersConfig {
    /// Schwab Trader API price history (see `tradeassist_providers::schwab::SchwabConfig`).
    pub schwab: tradeassist_providers::schwab::SchwabConfig,
}

/// The store's connection pool (`[pool]`), either backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Connections the store may open for reads (SQLite readers, PostgreSQL connections);
    /// more concurrent reads wait for one. Default: 4 per core, between 4 and 32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
}

impl PoolConfig {
    /// The store's pool options; `max_connections = 0` is an error.
    pub fn options(&self) -> Result<tradeassist_store::PoolOptions, String> {
        tradeassist_store::PoolOptions::with_max(self.max_connections)
            .map_err(|e| format!("[pool] max_connections: {e}"))
    }
}

/// Top-level keys read from `TRADEASSIST_*` variables (others, such as `TRADEASSIST_LOG`, belong
/// to other parts of the program).
const ENV_KEYS: [&str; 13] = [
    "store",
    "db",
    "postgres",
    "listen",
    "limits",
    "log_format",
    "cache",
    "redis",
    "pool",
    "providers",
    "ws",
    "jobs",
    "http",
];

/// Access control (`[auth]`); `TRADEASSIST_AUTH=open|token` sets `mode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `token` (default: every API route needs an API token) or `open` (no tokens; refused on
    /// a non-loopback address).
    pub mode: crate::auth::AuthMode,
    /// Serve `/metrics` without a token.
    pub metrics_open: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: crate::auth::AuthMode::Token,
            metrics_open: false,
        }
    }
}

/// Browser access from other origins (`[http]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Origins allowed by CORS, e.g. `["https://app.example"]`; none by default (no
    /// wildcard).
    pub cors_origins: Vec<String>,
}

/// The WebSocket endpoint `/ws` (`[ws]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsConfig {
    /// Open connections at most (more are refused with 503).
    pub max_connections: usize,
    /// Browser origins allowed besides the server's own, e.g. `["https://app.example"]`;
    /// `["*"]` allows any.
    pub allowed_origins: Vec<String>,
    /// Messages queued per connection.
    pub queue_messages: usize,
    /// A client whose queue stays full this long is sent `slow_consumer` and closed.
    pub slow_consumer_ms: u64,
    /// Seconds between `health_status` heartbeats.
    pub heartbeat_secs: u64,
    /// Historical queries one connection may run at once.
    pub max_queries_per_connection: usize,
    /// Seconds between `cache_performance` messages of a subscription.
    pub cache_performance_secs: u64,
    /// Milliseconds between looks at the store's change log for live bars written by other
    /// processes (imports, backfills).
    pub live_poll_ms: u64,
}

impl Default for WsConfig {
    fn default() -> Self {
        let d = crate::ws::WsSettings::default();
        WsConfig {
            max_connections: d.max_connections,
            allowed_origins: d.allowed_origins,
            queue_messages: d.queue_messages,
            slow_consumer_ms: d.slow_consumer.as_millis() as u64,
            heartbeat_secs: d.heartbeat.as_secs(),
            max_queries_per_connection: d.max_queries,
            cache_performance_secs: d.cache_performance_every.as_secs(),
            live_poll_ms: 500,
        }
    }
}

/// Query jobs (`[jobs]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Jobs running at once.
    pub max_running: usize,
    /// Jobs waiting for a slot at most (more are refused with 429).
    pub max_queued: usize,
    /// Seconds a finished job and its result are kept.
    pub keep_secs: u64,
    /// Directory under which results are written (default: the system temp directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        let d = crate::jobs::JobSettings::default();
        JobsConfig {
            max_running: d.max_running,
            max_queued: d.max_queued,
            keep_secs: d.keep.as_secs(),
            dir: d.dir,
        }
    }
}

impl Config {
    /// Settings of the HTTP application; zero limits are errors.
    pub fn http_settings(&self) -> Result<crate::api::HttpSettings, String> {
        let w = &self.ws;
        let j = &self.jobs;
        for (name, v) in [
            ("[ws] max_connections", w.max_connections),
            ("[ws] queue_messages", w.queue_messages),
            ("[ws] slow_consumer_ms", w.slow_consumer_ms as usize),
            ("[ws] heartbeat_secs", w.heartbeat_secs as usize),
            (
                "[ws] max_queries_per_connection",
                w.max_queries_per_connection,
            ),
            (
                "[ws] cache_performance_secs",
                w.cache_performance_secs as usize,
            ),
            ("[ws] live_poll_ms", w.live_poll_ms as usize),
            ("[jobs] max_running", j.max_running),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        Ok(crate::api::HttpSettings {
            max_body_bytes: self.limits.max_body_bytes,
            ws: crate::ws::WsSettings {
                max_connections: w.max_connections,
                allowed_origins: w.allowed_origins.clone(),
                queue_messages: w.queue_messages,
                slow_consumer: std::time::Duration::from_millis(w.slow_consumer_ms),
                heartbeat: std::time::Duration::from_secs(w.heartbeat_secs),
                max_queries: w.max_queries_per_connection,
                cache_performance_every: std::time::Duration::from_secs(w.cache_performance_secs),
            },
            jobs: crate::jobs::JobSettings {
                max_running: j.max_running,
                max_queued: j.max_queued,
                keep: std::time::Duration::from_secs(j.keep_secs),
                dir: j.dir.clone(),
            },
            auth: crate::auth::AuthSettings {
                mode: self.auth.mode,
                metrics_open: self.auth.metrics_open,
                rate_per_token_per_minute: self.limits.rate_per_token_per_minute,
            },
            cors_origins: self.http.cors_origins.clone(),
        })
    }
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The response cache (`[cache]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Serve fetches through the response cache.
    pub enabled: bool,
    /// Bytes the in-process cache may hold.
    pub max_bytes: u64,
    /// Lifetime of closed (historical) answers, in seconds.
    pub ttl_closed_secs: u64,
    /// Lifetime of answers touching the newest stored bar or now, in seconds.
    pub ttl_open_secs: u64,
    /// Share answers through Redis (`[redis] url`) as a second level.
    pub l2: bool,
    /// Prefix of the L2's keys and invalidation channel.
    pub redis_prefix: String,
    /// Most requested queries warmed (with every saved query) at start and on the schedule.
    pub warm_top: usize,
    /// Seconds between warming passes; 0 turns warming off.
    pub warm_interval_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        let d = tradeassist_service::cache::CacheConfig::default();
        CacheConfig {
            enabled: true,
            max_bytes: d.max_bytes,
            ttl_closed_secs: d.ttl_closed.as_secs(),
            ttl_open_secs: d.ttl_open.as_secs(),
            l2: false,
            redis_prefix: "tradeassist:".into(),
            warm_top: 50,
            warm_interval_secs: 300,
        }
    }
}

/// Redis (`[redis]`), shared by the cache L2 and other users.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://host:port[/db]` (may carry a password: never logged); Redis is not used
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
    }
}

impl Config {
    /// The service's cache settings, or `None` when the cache is off. `[cache] l2 = true`
    /// without `[redis] url` is an error.
    pub fn cache_settings(&self) -> Result<Option<tradeassist_service::CacheSettings>, String> {
        let c = &self.cache;
        if !c.enabled {
            return Ok(None);
        }
        let l2 = match (c.l2, &self.redis.url) {
            (false, _) => None,
            (true, Some(url)) => Some(tradeassist_service::cache::L2Config::new(
                url.clone(),
                c.redis_prefix.clone(),
            )),
            (true, None) => return Err("[cache] l2 = true needs [redis] url".into()),
        };
        Ok(Some(tradeassist_service::CacheSettings {
            cache: tradeassist_service::cache::CacheConfig {
                max_bytes: c.max_bytes,
                ttl_closed: std::time::Duration::from_secs(c.ttl_closed_secs),
                ttl_open: std::time::Duration::from_secs(c.ttl_open_secs),
                ..Default::default()
            },
            l2,
            ..Default::default()
        }))
    }
}

/// Which store the binary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// Connection of the PostgreSQL backend.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connection URL, e.g. `postgres://user:secret@db:5432/market` (a secret: never logged).
    pub url: String,
    /// Schema holding the tables (created when missing).
    pub schema: String,
    /// PEM file of the CA the server's certificate must chain to (TLS with verification of
    /// the certificate and host name); without it TLS follows the URL's `sslmode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact_url(&self.url))
            .field("schema", &self.schema)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The connection string with any password replaced by `***`: the user-info password and a
/// `password=` query parameter of a URL, or the `password` of a libpq key=value string
/// (`host=db user=app password='se cret'`).
pub fn redact_url(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return redact_key_value(url);
    };
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.rfind('@') {
        Some(at) if at > scheme => {
            let userinfo = &base[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme + 3], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// libpq `key = value` pairs (values bare or in single quotes with `\` escapes) with the
/// password's value replaced.
fn redact_key_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    loop {
        while let Some(c) = chars.next_if(|c| c.is_whitespace()) {
            out.push(c);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        out.push_str(&key);
        while let Some(c) = chars.next_if(|c| c.is_whitespace()) {
            out.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            // Not a pair: keep the rest as it is.
            out.extend(chars);
            return out;
        }
        out.push('=');
        while let Some(c) = chars.next_if(|c| c.is_whitespace()) {
            out.push(c);
        }
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            value.push('\'');
            while let Some(c) = chars.next() {
                value.push(c);
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    _ => {}
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        if key.eq_ignore_ascii_case("password") {
            out.push_str("***");
        } else {
            out.push_str(&value);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_symbols: usize,
    pub max_bars_per_response: usize,
    /// Stored base bars one series of a request may read.
    pub max_base_bars: usize,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// A client must send its whole request head within this (else the connection is closed).
    pub header_timeout_ms: u64,
    /// A request body must arrive within this.
    pub body_timeout_ms: u64,
    /// A handler must produce the response head within this (else 504 `timeout`).
    pub request_timeout_ms: u64,
    /// Requests per client IP and minute (429 `rate_limited` with `Retry-After` beyond);
    /// 0 turns the limit off. Health checks are exempt.
    pub rate_per_ip_per_minute: u32,
    /// Requests per API token and minute (429 beyond); 0 turns the limit off.
    pub rate_per_token_per_minute: u32,
    /// Requests handled at once (503 `overloaded` beyond).
    pub max_concurrent_requests: usize,
}

impl Default for Config {
    fn default() -> Self {
        let limits = Limits::default();
        let server = crate::http::ServerLimits::default();
        Config {
            store: StoreKind::Sqlite,
            db: default_db_path(),
            postgres: PostgresConfig {
                url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
                schema: "tradeassist".into(),
                ca_file: None,
            },
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: LimitsConfig {
                max_symbols: limits.max_symbols,
                max_bars_per_response: limits.max_bars_per_response,
                max_base_bars: limits.max_base_bars,
                max_body_bytes: 64 * 1024,
                header_timeout_ms: server.header_timeout.as_millis() as u64,
                body_timeout_ms: server.body_timeout.as_millis() as u64,
                request_timeout_ms: server.request_timeout.as_millis() as u64,
                rate_per_ip_per_minute: server.rate_per_ip_per_minute,
                rate_per_token_per_minute: crate::auth::AuthSettings::default()
                    .rate_per_token_per_minute,
                max_concurrent_requests: server.max_concurrent,
            },
            log_format: LogFormat::Text,
            cache: CacheConfig::default(),
            redis: RedisConfig::default(),
            pool: PoolConfig::default(),
            ws: WsConfig::default(),
            jobs: JobsConfig::default(),
            auth: AuthConfig::default(),
            http: HttpConfig::default(),
            providers: ProvidersConfig::default(),
        }
    }
}

impl LimitsConfig {
    /// The HTTP server's limits; zero timeouts or concurrency are errors.
    pub fn server_limits(&self) -> Result<crate::http::ServerLimits, String> {
        for (name, v) in [
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            (
                "max_concurrent_requests",
                self.max_concurrent_requests as u64,
            ),
        ] {
            if v == 0 {
                return Err(format!("[limits] {name} must be at least 1"));
            }
        }
        let ms = std::time::Duration::from_millis;
        Ok(crate::http::ServerLimits {
            header_timeout: ms(self.header_timeout_ms),
            body_timeout: ms(self.body_timeout_ms),
            request_timeout: ms(self.request_timeout_ms),
            rate_per_ip_per_minute: self.rate_per_ip_per_minute,
            max_concurrent: self.max_concurrent_requests,
        })
    }

    pub fn service_limits(&self) -> Limits {
        Limits {
            max_symbols: self.max_symbols,
            max_bars_per_response: self.max_bars_per_response,
            max_base_bars: self.max_base_bars,
        }
    }
}

/// `$XDG_DATA_HOME/tradeassist/tradeassist.db` (or `./tradeassist.db` without a data dir).
pub fn default_db_path() -> PathBuf {
    dirs::data_dir().map_or_else(
        || PathBuf::from("tradeassist.db"),
        |d| d.join("tradeassist").join("tradeassist.db"),
    )
}

impl Config {
    /// Load defaults, then `file` (or `./tradeassist.toml` when present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(Box::new(figment::Error::from(format!(
                        "config file {} does not exist",
                        path.display()
                    ))));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("tradeassist.toml")),
        }
        let env = Env::prefixed("TRADEASSIST_").split("__").filter(|key| {
            // Depending on figment's order of operations the key may still carry the prefix
            // or the `__` separator; normalise both before comparing.
            let k = key.as_str().to_ascii_lowercase();
            let k = k.strip_prefix("tradeassist_").unwrap_or(&k);
            let top = k.split("__").next().unwrap_or_default();
            let top = top.split('.').next().unwrap_or_default();
            ENV_KEYS.contains(&top)
        });
        let mut config: Config = fig.merge(env).extract().map_err(Box::new)?;
        // `TRADEASSIST_AUTH=open|token` (a plain value, not a table like the other sections).
        if let Ok(mode) = std::env::var("TRADEASSIST_AUTH") {
            config.auth.mode = mode.parse().map_err(|e: String| {
                Box::new(figment::Error::from(format!("TRADEASSIST_AUTH: {e}")))
            })?;
        }
        Ok(config)
    }
}

#[cfg(test)]
// figment::Jail fixes its closures' error type to figment::Error.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"127.0.0.1:9999\"\n[limits]\nmax_symbols = 3\n",
            )?;
            jail.set_env("TRADEASSIST_DB", "/tmp/x.db");
            jail.set_env("TRADEASSIST_LOG", "debug"); // not a config key: ignored
            jail.set_env("TRADEASSIST_LIMITS__MAX_BARS_PER_RESPONSE", "77");
            let c = Config::load(Some(Path::new("custom.toml"))).map_err(|e| *e)?;
            assert_eq!(c.listen.port(), 9999);
            assert_eq!(c.limits.max_symbols, 3);
            assert_eq!(c.limits.max_bars_per_response, 77);
            assert_eq!(c.db, PathBuf::from("/tmp/x.db"));
            Ok(())
        });
    }

    #[test]
    fn postgres_selection_and_secret_redaction() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TRADEASSIST_STORE", "postgres");
            jail.set_env(
                "TRADEASSIST_POSTGRES__URL",
                "postgres://app:hunter2@db:5432/market",
            );
            let c = Config::load(None).map_err(|e| *e)?;
            assert_eq!(c.store, StoreKind::Postgres);
            let shown = format!("{c:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("app:***@db:5432/market"), "{shown}");
            jail.set_env("TRADEASSIST_STORE", "mysql");
            assert!(Config::load(None).is_err());
            Ok(())
        });
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=hunter2"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("host=db user=app password=hunter2 dbname=market"),
            "host=db user=app password=*** dbname=market"
        );
        assert_eq!(
            redact_url(r"host=db password = 'hun ter\'2' port=5432"),
            "host=db password = *** port=5432"
        );
        assert_eq!(redact_url("host=db user=app"), "host=db user=app");
    }

    #[test]
    fn log_format_and_redis_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None).map_err(|e| *e)?;
            assert_eq!((c.log_format, c.redis.url.clone()), (LogFormat::Text, None));
            jail.set_env("TRADEASSIST_LOG", "debug"); // the filter, not `log_format`
            jail.set_env("TRADEASSIST_LOG_FORMAT", "json");
            jail.set_env(
                "TRADEASSIST_REDIS__URL",
                "redis://:hunter2@127.0.0.1:6379/0",
            );
            let c = Config::load(None).map_err(|e| *e)?;
            assert_eq!(c.log_format, LogFormat::Json);
            assert_eq!(
                c.redis.url.as_deref(),
                Some("redis://:hunter2@127.0.0.1:6379/0")
            );
            assert!(!format!("{c:?}").contains("hunter2"));
            jail.set_env("TRADEASSIST_LOG_FORMAT", "xml");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn cache_and_redis_settings() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[cache]\nmax_bytes = 1000\nttl_open_secs = 2\nl2 = true\nredis_prefix = \"x:\"\n",
            )?;
            jail.set_env("TRADEASSIST_REDIS__URL", "redis://:pw@127.0.0.1:6379");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| *e)?;
            let s = c.cache_settings().unwrap().unwrap();
            assert_eq!(s.cache.max_bytes, 1000);
            assert_eq!(s.cache.ttl_open.as_secs(), 2);
            assert_eq!(s.l2.as_ref().unwrap().prefix, "x:");
            assert!(!format!("{c:?}").contains("pw@"));
            jail.set_env("TRADEASSIST_CACHE__ENABLED", "false");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| *e)?;
            assert_eq!(c.cache_settings().unwrap(), None);
            Ok(())
        });
        let mut c = Config::default();
        c.cache.l2 = true;
        assert!(c.cache_settings().is_err());
    }

    #[test]
    fn websocket_and_job_settings() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "w.toml",
                "[ws]\nqueue_messages = 8\nallowed_origins = [\"https://a.example\"]\n[jobs]\nmax_running = 3\nkeep_secs = 60\n",
            )?;
            jail.set_env("TRADEASSIST_WS__SLOW_CONSUMER_MS", "250");
            let c = Config::load(Some(Path::new("w.toml"))).map_err(|e| *e)?;
            let s = c.http_settings().unwrap();
            assert_eq!(s.ws.queue_messages, 8);
            assert_eq!(s.ws.allowed_origins, vec!["https://a.example".to_string()]);
            assert_eq!(s.ws.slow_consumer.as_millis(), 250);
            assert_eq!(s.jobs.max_running, 3);
            assert_eq!(s.jobs.keep.as_secs(), 60);
            jail.set_env("TRADEASSIST_WS__QUEUE_MESSAGES", "0");
            let c = Config::load(Some(Path::new("w.toml"))).map_err(|e| *e)?;
            assert!(c.http_settings().unwrap_err().contains("queue_messages"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listne = \"127.0.0.1:1\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            assert!(Config::load(Some(Path::new("nope.toml"))).is_err());
            Ok(())
        });
    }
}
