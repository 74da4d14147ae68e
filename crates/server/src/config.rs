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
    /// SQLite database file.
    pub db: PathBuf,
    /// Address the server listens on.
    pub listen: SocketAddr,
    pub limits: LimitsConfig,
}

/// Top-level keys read from `TRADEASSIST_*` variables (others, such as `TRADEASSIST_LOG`, belong
/// to other parts of the program).
const ENV_KEYS: [&str; 3] = ["db", "listen", "limits"];

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
            db: default_db_path(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            limits: LimitsConfig {
                max_symbols: limits.max_symbols,
                max_bars_per_response: limits.max_bars_per_response,
                max_base_bars: limits.max_base_bars,
                max_body_bytes: 64 * 1024,
            },
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
    dirs::data_dir().map_or_else(|| PathBuf::from("tradeassist.db"), |d| d.join("tradeassist").join("tradeassist.db"))
}

impl Config {
    /// Load defaults, then `file` (or `./tradeassist.toml` when present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, figment::Error> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(figment::Error::from(format!("config file {} does not exist", path.display())));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("tradeassist.toml")),
        }
        let env = Env::prefixed("TRADEASSIST_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            ENV_KEYS.contains(&top)
        });
        fig.merge(env).extract()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "listen = \"127.0.0.1:9999\"\n[limits]\nmax_symbols = 3\n")?;
            jail.set_env("TRADEASSIST_DB", "/tmp/x.db");
            jail.set_env("TRADEASSIST_LOG", "debug"); // not a config key: ignored
            jail.set_env("TRADEASSIST_LIMITS__MAX_BARS_PER_RESPONSE", "77");
            let c = Config::load(Some(Path::new("custom.toml")))?;
            assert_eq!(c.listen.port(), 9999);
            assert_eq!(c.limits.max_symbols, 3);
            assert_eq!(c.limits.max_bars_per_response, 77);
            assert_eq!(c.db, PathBuf::from("/tmp/x.db"));
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
