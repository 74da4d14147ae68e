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
    pub redis: RedisConfig,
}

/// Top-level keys read from `TRADEASSIST_*` variables (others, such as `TRADEASSIST_LOG`, belong
/// to other parts of the program).
const ENV_KEYS: [&str; 7] = [
    "store",
    "db",
    "postgres",
    "listen",
    "limits",
    "log_format",
    "redis",
];

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Optional Redis server (readiness reports it; the response cache will use it).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// e.g. `redis://127.0.0.1:6379/0`; Redis is not used when absent (a secret: never logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
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
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact_url(&self.url))
            .field("schema", &self.schema)
            .finish()
    }
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
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
}

impl Default for Config {
    fn default() -> Self {
        let limits = Limits::default();
        Config {
            store: StoreKind::Sqlite,
            db: default_db_path(),
            postgres: PostgresConfig {
                url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
                schema: "tradeassist".into(),
            },
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: LimitsConfig {
                max_symbols: limits.max_symbols,
                max_bars_per_response: limits.max_bars_per_response,
                max_base_bars: limits.max_base_bars,
                max_body_bytes: 64 * 1024,
            },
            log_format: LogFormat::Text,
            redis: RedisConfig::default(),
        }
    }
}

impl LimitsConfig {
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
        fig.merge(env).extract().map_err(Box::new)
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
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listne = \"127.0.0.1:1\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            assert!(Config::load(Some(Path::new("nope.toml"))).is_err());
            Ok(())
        });
    }
}
