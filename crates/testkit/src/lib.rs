//! Test support shared by the black-box tests.
//!
//! [`spawn_app`] starts the real HTTP application on a random local port over a fresh
//! temporary SQLite database (optionally seeded with the bundled demo data) and returns its
//! address; the database lives as long as the returned [`TestApp`].

pub mod cli;
pub mod redis;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
/// The fake Schwab API (real HTTP on a random port, scriptable faults, request counts).
pub use tradeassist_providers::schwab::fake as schwab;

use tradeassist_service::Service;
use tradeassist_service::health::RedisProbe;
use tradeassist_store::sqlite::SqliteStore;

/// Request limits and cache settings of the service, re-exported for [`AppOptions`].
pub use tradeassist_service::{CacheSettings, Limits};

/// A running server over a temporary database.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    pub service: Service,
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// URL of a REST endpoint, `path` relative to `/api/v1/historical-data/`
    /// (e.g. `"fetch"`, `"instruments?search=AA"`).
    pub fn api(&self, path: &str) -> String {
        format!(
            "{}/api/v1/historical-data/{}",
            self.url,
            path.trim_start_matches('/')
        )
    }

    /// URL of any path of the server (e.g. `"/health/live"`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

/// Options of [`spawn_app_with`].
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub demo: bool,
    pub limits: Limits,
    pub max_body_bytes: usize,
    /// Redis server readiness reports (`redis://127.0.0.1:PORT`); none by default.
    pub redis_url: Option<String>,
    /// The response cache (off when `None`).
    pub cache: Option<CacheSettings>,
    /// Serve this database instead of a fresh temporary one (e.g. two apps over one file).
    pub db: Option<PathBuf>,
    /// The provider backfills fetch from (none by default).
    pub provider: Option<Arc<dyn tradeassist_service::SourceProvider>>,
    /// WebSocket settings (`/ws`).
    pub ws: tradeassist_server::ws::WsSettings,
    /// Job runner settings.
    pub jobs: tradeassist_server::jobs::JobSettings,
    /// Follow the store's change log for live bars every this often (off when `None`).
    pub follow_live: Option<std::time::Duration>,
    /// Timeouts, rate and concurrency limits of the server loop.
    pub server_limits: tradeassist_server::http::ServerLimits,
    /// Access control: open mode by default (the tests of tokens set `AuthMode::Token`).
    pub auth: tradeassist_server::auth::AuthSettings,
    /// CORS origins (none by default).
    pub cors_origins: Vec<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            demo: false,
            limits: Limits::default(),
            max_body_bytes: 64 * 1024,
            redis_url: None,
            cache: None,
            db: None,
            provider: None,
            ws: Default::default(),
            jobs: Default::default(),
            follow_live: None,
            server_limits: Default::default(),
            auth: tradeassist_server::auth::AuthSettings::open(),
            cors_origins: Vec::new(),
        }
    }
}

/// Spawn the app with the demo data loaded.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions {
        demo: true,
        ..Default::default()
    })
    .await
}

/// Spawn the app with explicit options.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    tradeassist_server::api::metrics::handle();
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = options
        .db
        .clone()
        .unwrap_or_else(|| dir.path().join("test.db"));
    let store = SqliteStore::open(&db_path).await.expect("open store");
    let mut service = Service::new(Arc::new(store), options.limits);
    if let Some(url) = &options.redis_url {
        service = service.with_redis(RedisProbe::new(url).expect("valid Redis URL"));
    }
    if let Some(settings) = &options.cache {
        service = service.with_cache(settings).expect("cache settings");
    }
    if let Some(provider) = &options.provider {
        service = service.with_provider(provider.clone());
    }
    if options.demo {
        tradeassist_server::demo::seed_if_empty(&service)
            .await
            .expect("demo import");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    if let Some(every) = options.follow_live {
        tokio::spawn(service.clone().follow_live(every));
    }
    let settings = tradeassist_server::api::HttpSettings {
        max_body_bytes: options.max_body_bytes,
        ws: options.ws.clone(),
        jobs: options.jobs.clone(),
        auth: options.auth.clone(),
        cors_origins: options.cors_origins.clone(),
    };
    let app = tradeassist_server::api::router_with(service.clone(), settings).expect("router");
    let limits = options.server_limits.clone();
    tokio::spawn(async move {
        tradeassist_server::http::serve(listener, app, &limits, std::future::pending())
            .await
            .expect("server")
    });
    TestApp {
        url: format!("http://{addr}"),
        service,
        db_path,
        _dir: dir,
    }
}

/// The repository's demo data folder (real Lean sample data with its NOTICE).
pub fn demo_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo")
}
