//! Command-line interface of the `tradeassist` binary.

pub mod backfill;
mod bench;
mod bench_serve;
mod bench_soak;
mod maintain;
mod token;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use tradeassist_engine::SessionFilter;
use tradeassist_model::{AssetClass, RangeSpec, Resolution, TimeBound};
use tradeassist_providers::file::{CsvOptions, Field};
use tradeassist_service::query::range_from;
use tradeassist_service::{GapQuery, ImportFile, IndicatorQuery, Service, ServiceError, now};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{InstrumentFilter, Maintenance, Store};

use crate::api;
use crate::api::dto::FetchRequestDto;
use crate::config::{Config, StoreKind};
use crate::output::{self, Format};

/// TradeAssist Historical Data: store, derive and serve OHLCV bars.
#[derive(Debug, Parser)]
#[command(name = "tradeassist", version, about)]
pub struct Cli {
    /// SQLite database file [env: TRADEASSIST_DB; default: the platform data directory].
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// TOML configuration file (default: ./tradeassist.toml when present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, docs and start page).
    Serve(ServeArgs),
    /// Import CSV files (plain or .gz); all files are validated before anything is written.
    Import(ImportArgs),
    /// Print bars of one or more symbols.
    Query(Box<QueryArgs>),
    /// Write every bar of a query to a file (CSV, NDJSON or Parquet), computed in chunks
    /// without the per-response limit.
    Export(Box<ExportArgs>),
    /// List instruments.
    Instruments(InstrumentsArgs),
    /// Report gaps of a stored series against the trading calendar.
    Gaps(GapsArgs),
    /// Fill the gaps of stored series from a provider (`[providers.schwab]`): only the
    /// ranges gap detection reports missing are fetched; re-running stores nothing new.
    Backfill(backfill::BackfillArgs),
    /// Database maintenance: statistics, vacuum, retention, Parquet archive and restore, plans.
    Maintain(maintain::MaintainArgs),
    /// Roll table of a continuous futures symbol (ES.c.0, ES.v.0, ES.n.1).
    Rolls(RollsArgs),
    /// Import equity corporate-action factor files (LEAN layout
    /// `date,price_factor,split_factor[,reference_price]`); all files are validated first.
    ImportFactors(ImportFactorsArgs),
    /// Technical indicators over one symbol's bars (warm-up read before the window).
    Indicators(Box<IndicatorsArgs>),
    /// API tokens: create (the secret printed once), list, revoke.
    Token(token::TokenArgs),
    /// Storage benchmarks on generated data in scratch databases (see also scripts/bench_aggregate.sh).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest rate (bars/s) into each backend.
    Ingest(bench::BenchArgs),
    /// Ingest, then p50/p95 of "1 day of 1m" and "1 year of 1d built from 1m" via rollups,
    /// on the fly and as a naive SQL aggregate, on each backend.
    Query(bench::BenchArgs),
    /// HTTP serving on loopback: the request mix at 1, 50 and 200 clients, cache on and off.
    Serve(bench_serve::ServeBenchArgs),
    /// `tradeassist export` of generated 1m bars from SQLite to CSV and Parquet: bars/s and
    /// peak RSS, files read back against fetch (`--symbols 10 --days 1510` is about 10 M bars).
    Export(bench::BenchArgs),
    /// Mixed load at a share of the measured capacity for a while against a `serve` child:
    /// errors, p50/p99 and RSS per minute, PASS/FAIL.
    Soak(bench_soak::SoakArgs),
}

#[derive(Debug, Args)]
pub struct ImportFactorsArgs {
    /// Factor files (plain or .gz), e.g. data/demo/lean_factor_files/aapl.csv.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The stock the factors belong to (default: each file's name without extension,
    /// upper-cased: aapl.csv -> AAPL). With --symbol, give one file.
    #[arg(long)]
    pub symbol: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollsArgs {
    /// The continuous symbol (`--symbol ES.v.0`), its range and roll options, as for `query`
    /// (the frequency is ignored: rolls are decided on trading days).
    #[command(flatten)]
    pub query: FetchRequestDto,
    /// csv prints `date,from,to,from_price,to_price,difference,ratio,trigger`; json the full table.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct GapsArgs {
    #[arg(long)]
    pub symbol: String,
    /// Stored base series to check: 1m or 1d.
    #[arg(long, default_value = "1m")]
    pub frequency: Resolution,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Equities: regular (default), extended or all.
    #[arg(long)]
    pub session: Option<SessionFilter>,
    /// csv prints `start,end,missing`; json the whole report with completeness.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
}

/// An absolute range: a start and an optional end.
#[derive(Debug, Args, Clone)]
pub struct RangeArgs {
    /// Start: YYYY-MM-DD or RFC 3339 (1900-01-01 to 2100-12-31).
    #[arg(long)]
    pub start: TimeBound,
    /// End: a date includes that day; an RFC 3339 instant is exclusive. Default: now.
    #[arg(long)]
    pub end: Option<TimeBound>,
}

impl RangeArgs {
    fn range(&self) -> Result<RangeSpec, ServiceError> {
        range_from(Some(self.start), self.end, None, None)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Import the bundled demo data on first start (empty database). On a loopback address
    /// the demo runs in open mode (no tokens).
    #[arg(long)]
    pub demo: bool,
    /// Open mode: no API tokens needed (as `[auth] mode = "open"`); refused unless the server
    /// listens on a loopback address.
    #[arg(long)]
    pub open: bool,
    /// Listen address, e.g. 127.0.0.1:8080 (overrides the configuration).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Play these symbols' stored base bars as a live market (`market_data` and
    /// `bar_update` over WebSocket), e.g. `--replay SPY,AAPL`.
    #[arg(long, value_delimiter = ',')]
    pub replay: Vec<String>,
    /// Replay speed: `60x` plays one minute bar per second; `max` as fast as possible.
    #[arg(long, default_value = "60x", value_parser = tradeassist_service::parse_speed, requires = "replay")]
    pub speed: f64,
    /// First day replayed (`YYYY-MM-DD`, 00:00 UTC) or RFC 3339 instant; default: the first
    /// stored bar.
    #[arg(long, value_parser = parse_instant, requires = "replay")]
    pub from: Option<i64>,
}

/// `YYYY-MM-DD` (00:00 UTC) or an RFC 3339 instant, as epoch seconds.
fn parse_instant(s: &str) -> Result<i64, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| format!("`{s}` is neither YYYY-MM-DD nor an RFC 3339 instant"))
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Symbol of every row (files without a symbol column), or the futures root.
    #[arg(long)]
    pub symbol: Option<String>,
    /// Asset class of new instruments: stock, index or future.
    #[arg(long, value_parser = parse_asset_class)]
    pub asset_class: Option<AssetClass>,
    /// Stored resolution (1m or 1d); inferred from the timestamps when absent.
    #[arg(long)]
    pub resolution: Option<Resolution>,
    /// Explicit column mapping FIELD=HEADER, e.g. --column close="Adj Close". Repeatable.
    #[arg(long = "column", value_parser = parse_column)]
    pub columns: Vec<(Field, String)>,
    /// Import the valid rows and report the invalid ones instead of refusing the file.
    #[arg(long)]
    pub skip_invalid: bool,
    /// With --symbol on a file that has a symbol column: relabel every row as --symbol (by
    /// default rows of any other symbol refuse the import, so symbols are never merged).
    #[arg(long, requires = "symbol")]
    pub override_symbol: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The fetch options (the HTTP fetch document's fields as flags).
    #[command(flatten)]
    pub query: FetchRequestDto,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// CSV: also print date, vwap and complete columns.
    #[arg(long)]
    pub detail: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The fetch options, as for `query`.
    #[command(flatten)]
    pub query: FetchRequestDto,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::export::ExportFormat,
    /// Output file (written to a temporary file beside it, renamed when complete), or `-`
    /// for stdout.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct IndicatorsArgs {
    /// The bars (`--symbol`, `--frequency`, range and every fetch option, as for `query`).
    #[command(flatten)]
    pub query: FetchRequestDto,
    /// Comma list, e.g. `sma:20,rsi:14,macd:12:26:9,bb:20:2` (see the README for all).
    #[arg(long)]
    pub indicators: String,
    /// csv prints `ts,open,high,low,close,volume` and one column per indicator output; json
    /// the HTTP answer.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct InstrumentsArgs {
    /// Symbol prefix or description text.
    #[arg(long)]
    pub search: Option<String>,
    #[arg(long, value_parser = parse_asset_class)]
    pub asset_class: Option<AssetClass>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Csv,
    Json,
}

fn parse_asset_class(s: &str) -> Result<AssetClass, String> {
    s.parse()
        .map_err(|e: tradeassist_model::InstrumentError| e.to_string())
}

fn parse_column(s: &str) -> Result<(Field, String), String> {
    let (field, header) = s.split_once('=').ok_or("expected FIELD=HEADER")?;
    let field = Field::parse(field).ok_or_else(|| format!("unknown field `{field}`"))?;
    if header.trim().is_empty() {
        return Err("empty header name".into());
    }
    Ok((field, header.to_string()))
}

impl Cli {
    /// Effective configuration: file and environment, then command-line overrides.
    pub fn config(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref()).context("invalid configuration")?;
        if let Some(db) = &self.db {
            config.db = db.clone();
        }
        Ok(config)
    }
}

/// The configured backend, concrete so maintenance can reach backend-specific operations.
#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Backend {
    pub async fn open(config: &Config) -> Result<Backend> {
        let pool = config.pool.options().map_err(anyhow::Error::msg)?;
        Ok(match config.store {
            StoreKind::Sqlite => Backend::Sqlite(
                SqliteStore::open_with(&config.db, pool)
                    .await
                    .with_context(|| format!("cannot open database {}", config.db.display()))?,
            ),
            StoreKind::Postgres => Backend::Postgres(
                PostgresStore::connect_tls(
                    &config.postgres.url,
                    &config.postgres.schema,
                    pool,
                    &tradeassist_store::postgres::TlsOptions {
                        ca_file: config.postgres.ca_file.clone(),
                    },
                )
                .await
                .with_context(|| {
                    format!(
                        "cannot connect to PostgreSQL at {}",
                        crate::config::redact_url(&config.postgres.url)
                    )
                })?,
            ),
        })
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => Arc::new(s.clone()),
            Backend::Postgres(p) => Arc::new(p.clone()),
        }
    }

    pub fn maintenance(&self) -> &dyn Maintenance {
        match self {
            Backend::Sqlite(s) => s,
            Backend::Postgres(p) => p,
        }
    }
}

async fn open_service(config: &Config) -> Result<Service> {
    let backend = Backend::open(config).await?;
    Ok(Service::new(
        backend.store(),
        config.limits.service_limits(),
    ))
}

/// Run a parsed command line with its configuration ([`Cli::config`]).
pub async fn run(cli: Cli, config: Config) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(config, args).await,
        Command::Import(args) => import(config, args).await,
        Command::Query(args) => query(config, *args).await,
        Command::Export(args) => export(config, *args).await,
        Command::Instruments(args) => instruments(config, args).await,
        Command::Gaps(args) => gaps(config, args).await,
        Command::Backfill(args) => {
            let service = open_service(&config).await?;
            backfill::run(config, args, service).await
        }
        Command::Maintain(args) => maintain::run(config, args).await,
        Command::Rolls(args) => rolls(config, args).await,
        Command::Indicators(args) => indicators(config, *args).await,
        Command::ImportFactors(args) => import_factors(config, args).await,
        Command::Token(args) => token::run(config, args).await,
        Command::Bench(BenchCommand::Ingest(args)) => bench::run(&config, args, false).await,
        Command::Bench(BenchCommand::Query(args)) => bench::run(&config, args, true).await,
        Command::Bench(BenchCommand::Serve(args)) => bench_serve::run_bench(args).await,
        Command::Bench(BenchCommand::Export(args)) => bench::run_export(args).await,
        Command::Bench(BenchCommand::Soak(args)) => bench_soak::run(args).await,
    }
}

/// glibc gives every thread that allocates its own arena (up to 8 per core); a server's
/// worker and blocking threads then spread large response buffers over many arenas, whose
/// freed pages are rarely returned. Measured with `bench soak` (2 cores): RSS 533 -> 675 MiB
/// over 10 min with the default, 295 -> 328 MiB and flat with 2 arenas, at the same capacity.
/// Two arenas per core, unless `MALLOC_ARENA_MAX` says otherwise.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = i32::try_from(2 * cores).unwrap_or(i32::MAX);
        // SAFETY: mallopt only sets an allocator parameter (arenas made later obey it).
        unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
    }
}

async fn serve(mut config: Config, args: ServeArgs) -> Result<()> {
    bound_malloc_arenas();
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let open = args.open || config.auth.mode == crate::auth::AuthMode::Open;
    if open && !config.listen.ip().is_loopback() {
        anyhow::bail!(
            "open mode (no API tokens) is refused on {}: listen on a loopback address, or use tokens (`tradeassist token create`)",
            config.listen
        );
    }
    if open || (args.demo && config.listen.ip().is_loopback()) {
        config.auth.mode = crate::auth::AuthMode::Open;
    }
    // The recorder first, so the demo import and the rollup refresh are measured too.
    api::metrics::handle();
    let mut service = open_service(&config).await?;
    if let Some(provider) = backfill::provider_of(&config)? {
        tracing::info!(
            provider = provider.name(),
            "provider configured for backfills"
        );
        service = service.with_provider(provider);
    }
    if let Some(url) = &config.redis.url {
        let probe =
            tradeassist_service::health::RedisProbe::new(url).context("invalid configuration")?;
        service = service.with_redis(probe);
    }
    if let Some(settings) = config
        .cache_settings()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?
    {
        service = service.with_cache(&settings)?;
        tracing::info!(
            max_bytes = settings.cache.max_bytes,
            l2 = settings.l2.is_some(),
            "response cache on"
        );
    }
    if args.demo
        && let Some(report) = crate::demo::seed_if_empty(&service)
            .await
            .context("demo import failed")?
    {
        tracing::info!(
            bars = report.bars_written,
            instruments = report.instruments_created,
            "demo data imported"
        );
    }
    // Rollups left pending by an earlier process (crash, another writer) are built before serving.
    let rollups = service
        .refresh_rollups()
        .await
        .context("rollup refresh failed")?;
    tracing::info!(
        rows = rollups.rows_written,
        instruments = rollups.instruments,
        "rollups up to date"
    );
    // A replay is checked before listening (unknown symbols refuse the start).
    let replay = if !args.replay.is_empty() {
        let spec = tradeassist_service::ReplaySpec {
            symbols: args.replay.clone(),
            speed: args.speed,
            from: args.from,
        };
        let replay = service.replay(spec).await.context("cannot replay")?;
        Some(async move {
            match replay.run().await {
                Ok(r) => {
                    tracing::info!(bars = r.bars, clock = %tradeassist_model::rfc3339(r.clock), "replay finished")
                }
                Err(e) => tracing::error!(error = %e, "replay failed"),
            }
        })
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = %config.db.display(), "serving");
    eprintln!("TradeAssist listening on http://{addr}/ (API docs: http://{addr}/api/docs/)");
    if config.auth.mode == crate::auth::AuthMode::Open {
        tracing::warn!(%addr, "open mode: no API token is needed (loopback only)");
        eprintln!("open mode: no API token is needed on this loopback address");
    } else {
        tracing::info!(
            "API tokens required (create one with `tradeassist token create --role read`)"
        );
    }
    if config.cache.enabled && config.cache.warm_interval_secs > 0 {
        tokio::spawn(api::cached::warm_forever(
            service.clone(),
            config.cache.warm_top,
            std::time::Duration::from_secs(config.cache.warm_interval_secs),
        ));
    }
    let settings = config
        .http_settings()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    let server_limits = config
        .limits
        .server_limits()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    tokio::spawn(
        service
            .clone()
            .follow_live(std::time::Duration::from_millis(config.ws.live_poll_ms)),
    );
    if let Some(replay) = replay {
        tracing::info!(symbols = %args.replay.join(","), speed = args.speed, "replaying stored bars as live");
        tokio::spawn(replay);
    }
    let app = api::router_with(service, settings).context("cannot create the job directory")?;
    crate::http::serve(listener, app, &server_limits, shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM (systemd, Kubernetes, `kill`): stop accepting, finish the
/// requests in flight.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

/// A byte-based progress bar on stderr, hidden until the import has run for a second (and
/// never drawn when stderr is not a terminal).
fn import_progress(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "importing {bar:40} {bytes}/{total_bytes} {msg} ({eta} left)",
        )
        .expect("valid template"),
    );
    bar
}

async fn import(config: Config, args: ImportArgs) -> Result<()> {
    let options = CsvOptions {
        symbol: args.symbol,
        asset_class: args.asset_class,
        resolution: args.resolution,
        columns: args.columns,
        skip_invalid: args.skip_invalid,
        override_symbol: args.override_symbol,
    };
    let files = args
        .files
        .iter()
        .map(|p| ImportFile::open(p, options.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let total: u64 = args
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let service = open_service(&config).await?;
    let progress = import_progress(total);
    let bar = progress.clone();
    let started = std::time::Instant::now();
    let outcome = service
        .import_with_progress(files, move |p| {
            // Only imports that take longer than a second show a bar.
            if started.elapsed() >= std::time::Duration::from_secs(1) {
                if bar.is_hidden() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                bar.set_position(p.bytes);
                bar.set_message(format!("{} rows", p.rows));
            }
        })
        .await;
    progress.finish_and_clear();
    let report = match outcome {
        Ok(r) => r,
        Err(e) => {
            for row in e.row_errors().iter().take(50) {
                eprintln!("  {row}");
            }
            return Err(e.into());
        }
    };
    for (file, row) in &report.skipped {
        eprintln!("skipped {file}: {row}");
    }
    eprintln!(
        "imported {} file(s): {} rows read, {} bars, {} open-interest readings, {} new instruments, {} duplicate rows (the later row won), {} skipped",
        report.files,
        report.rows_read,
        report.bars_written,
        report.open_interest_written,
        report.instruments_created,
        report.duplicates,
        report.skipped.len()
    );
    Ok(())
}

async fn query(config: Config, args: QueryArgs) -> Result<()> {
    let query = args.query.into_query()?;
    let service = open_service(&config).await?;
    let result = service.fetch(&query, now()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Csv => output::write_csv(&mut out, &result, args.detail)?,
        Format::Json => output::write_json(&mut out, &api::fetch_response(&result))?,
        Format::Ndjson => output::write_ndjson(&mut out, &result)?,
    }
    out.flush()?;
    Ok(())
}

/// A bar-count progress bar on stderr, shown after a second and only on a terminal.
fn export_progress() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template("exporting {spinner} {pos} bars {msg} ({per_sec})")
            .expect("valid template"),
    );
    bar
}

async fn export(config: Config, args: ExportArgs) -> Result<()> {
    let query = args.query.into_query()?;
    let service = open_service(&config).await?;
    let mut export = service.export(&query, now()).await?;
    let mut encoder = crate::export::ExportEncoder::new(args.format, export.series())?;
    let to_stdout = args.out.as_os_str() == "-";
    let (mut out, temp): (Box<dyn Write>, Option<tempfile::NamedTempFile>) = if to_stdout {
        (Box::new(std::io::BufWriter::new(std::io::stdout())), None)
    } else {
        let dir = match args.out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".tradeassist-export-")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        let file = temp.reopen()?;
        (Box::new(std::io::BufWriter::new(file)), Some(temp))
    };
    let progress = export_progress();
    let started = std::time::Instant::now();
    let mut bars = 0u64;
    out.write_all(&encoder.header()?)?;
    // On any error the temporary file is dropped (deleted): no half-written output.
    while let Some(chunk) = export.next_chunk().await? {
        bars += chunk.result.bars.len() as u64;
        out.write_all(&encoder.chunk(&chunk)?)?;
        if started.elapsed() >= std::time::Duration::from_secs(1) {
            if progress.is_hidden() {
                progress.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            progress.set_position(bars);
            progress.set_message(export.series()[chunk.series].symbol.clone());
        }
    }
    out.write_all(&encoder.finish()?)?;
    out.flush()?;
    drop(out);
    progress.finish_and_clear();
    if let Some(temp) = temp {
        temp.persist(&args.out)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        eprintln!("exported {bars} bars to {}", args.out.display());
    }
    Ok(())
}

async fn indicators(config: Config, args: IndicatorsArgs) -> Result<()> {
    let request = IndicatorQuery::new(args.query.into_query()?, &args.indicators)?;
    let service = open_service(&config).await?;
    let result = service.indicators(&request, now()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Json => {
            output::write_json(&mut out, &api::analytics::IndicatorResponse::from(&result))?
        }
        ListFormat::Csv => output::write_features_csv(
            &mut out,
            &result.series.bars,
            &api::analytics::feature_columns(&result),
        )?,
    }
    out.flush()?;
    Ok(())
}

async fn instruments(config: Config, args: InstrumentsArgs) -> Result<()> {
    let service = open_service(&config).await?;
    let searched = args.search.is_some() || args.asset_class.is_some();
    let filter = InstrumentFilter {
        text: args.search,
        asset_class: args.asset_class,
        limit: None,
    };
    let found = service.instruments(&filter).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Json => {
            let dtos: Vec<_> = found.iter().map(api::dto::InstrumentDto::from).collect();
            serde_json::to_writer_pretty(&mut out, &dtos)?;
            writeln!(out)?;
        }
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "symbol",
                "asset_class",
                "exchange",
                "timezone",
                "description",
            ])?;
            for i in &found {
                w.write_record([
                    &i.symbol,
                    i.asset_class.as_str(),
                    &i.exchange,
                    i.timezone.name(),
                    &i.description,
                ])?;
            }
            w.flush()?;
        }
    }
    if found.is_empty() && !searched {
        eprintln!(
            "the database holds no instruments yet; run `tradeassist import FILE` or `tradeassist serve --demo`"
        );
    }
    Ok(())
}

async fn gaps(config: Config, args: GapsArgs) -> Result<()> {
    let query = GapQuery {
        symbol: args.symbol,
        base: args.frequency,
        range: args.range.range()?,
        session: args.session,
    };
    let service = open_service(&config).await?;
    let result = service.gaps(&query, now()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Csv => output::write_gaps_csv(&mut out, &result)?,
        ListFormat::Json => output::write_json(&mut out, &api::dto::GapReportDto::from(&result))?,
    }
    out.flush()?;
    if result.report.truncated {
        eprintln!(
            "listing the first {} of {} gaps",
            result.report.gaps.len(),
            result.report.total_gaps
        );
    }
    eprintln!(
        "{} gap(s); {} of {} expected bars present (completeness {:.4})",
        result.report.total_gaps,
        result.report.present,
        result.report.expected,
        result.report.completeness()
    );
    Ok(())
}

async fn rolls(config: Config, args: RollsArgs) -> Result<()> {
    let query = args.query.into_query()?;
    let service = open_service(&config).await?;
    let tradeassist_service::RollsResult {
        symbol,
        rolls,
        warnings,
        from_history,
    } = service.rolls(&query, now()).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "date",
                "from",
                "to",
                "from_price",
                "to_price",
                "difference",
                "ratio",
                "trigger",
            ])?;
            for r in &rolls {
                w.write_record([
                    r.event.date.to_string(),
                    r.event.from.to_string(),
                    r.event.to.to_string(),
                    r.event.from_price.to_string(),
                    r.event.to_price.to_string(),
                    r.event.difference.to_string(),
                    r.event.ratio.map(|x| x.to_string()).unwrap_or_default(),
                    r.detail.as_str().to_string(),
                ])?;
            }
            w.flush()?;
        }
        ListFormat::Json => {
            let table = api::dto::RollTable {
                symbol: symbol.to_string(),
                data: rolls.iter().map(api::dto::RollDto::from).collect(),
                warnings: warnings.clone(),
                from_history,
            };
            output::write_json(&mut out, &table)?;
        }
    }
    out.flush()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

async fn import_factors(config: Config, args: ImportFactorsArgs) -> Result<()> {
    if args.symbol.is_some() && args.files.len() > 1 {
        anyhow::bail!("--symbol names the stock of one file; give one file or leave --symbol out");
    }
    let files = args
        .files
        .iter()
        .map(|p| tradeassist_service::FactorImportFile::open(p, args.symbol.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let service = open_service(&config).await?;
    let report = service.import_factors(files).await?;
    for (symbol, rows) in &report.instruments {
        eprintln!("{symbol}: {rows} factor rows");
    }
    eprintln!(
        "imported factors of {} instrument(s): {} rows",
        report.instruments.len(),
        report.rows()
    );
    Ok(())
}
