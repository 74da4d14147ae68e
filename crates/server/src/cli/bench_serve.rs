//! `tradeassist bench serve`: the serving benchmark. Generated data (the storage benchmark's
//! minute bars, four quarterly `ES` contracts of 2013 in minute bars, 25 years of daily bars)
//! in a scratch SQLite database, two servers on loopback over it — response cache on and off —
//! and a Rust HTTP client running the request mix at 1, 50 and 200 concurrent clients. The
//! client asks for gzip like a browser (and reads the compressed bytes). Prints p50/p95/p99,
//! req/s, errors, hit ratio and store bar reads per 1000 requests, and the targets' figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use serde_json::{Value, json};
use tradeassist_model::{
    AssetClass, Bar, ContractMonth, FuturesContract, NewInstrument, Resolution,
};
use tradeassist_service::{CacheSettings, Limits, Service};
use tradeassist_store::bench::{BENCH_START, bench_ingest, bench_symbols};
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{IngestBatch, PoolOptions, SeriesBatch, Store};

#[derive(Debug, Args)]
pub struct ServeBenchArgs {
    /// Generated symbols (at least 10: the mix asks for 10 at once).
    #[arg(long, default_value_t = 10)]
    pub symbols: usize,
    /// Generated days of 1-minute bars per symbol (from 2013-01-01).
    #[arg(long, default_value_t = 365)]
    pub days: usize,
    /// Requests per client with the cache on.
    #[arg(long, default_value_t = 40)]
    pub per_client: usize,
    /// Requests per client with the cache off (uncached requests are slow).
    #[arg(long, default_value_t = 2)]
    pub per_client_uncached: usize,
    /// SQLite reader connections of both servers (default: the server's default bound).
    #[arg(long)]
    pub pool: Option<usize>,
    /// Run the cache-on server only (e.g. to profile hits).
    #[arg(long)]
    pub cached_only: bool,
}

/// Symbol of the generated daily series (1998-2022; the mix asks for 24 years, ~1 MB of JSON).
const DAILY: &str = "DAILY24Y";

/// Minute bars with the storage benchmark's shape over `[start, start + days)`.
fn minute_bars(start: i64, days: i64, base: f64) -> Vec<Bar> {
    (0..days * 1440)
        .map(|i| {
            let p = base + ((i * 7) % 1009) as f64 / 16.0;
            Bar::new(
                start + i * 60,
                p,
                p + 0.25,
                p - 0.25,
                p + 0.125,
                (i % 500) as f64,
            )
            .expect("valid generated bar")
        })
        .collect()
}

/// ES contracts H/M/U/Z 2013, each with minute bars over the ~100 days before its expiry
/// (overlapping, as real quarterly contracts trade), and 25 years of daily bars of `DAILY`.
pub(super) async fn extra_data(store: &dyn Store) -> Result<u64> {
    let mut instruments = vec![NewInstrument::equity(DAILY, AssetClass::Stock)?];
    let mut series = Vec::new();
    for (q, month) in [3u32, 6, 9, 12].into_iter().enumerate() {
        let contract = FuturesContract {
            root: "ES".into(),
            month: ContractMonth::new(2013, month)?,
            last_trade_date: None,
            first_notice_date: None,
        };
        let c = NewInstrument::future(contract)?;
        let expiry = BENCH_START + (q as i64 + 1) * 91 * 86_400;
        let start = (expiry - 100 * 86_400).max(BENCH_START);
        series.push(SeriesBatch {
            symbol: c.symbol.clone(),
            resolution: Resolution::Minute,
            bars: minute_bars(start, (expiry - start) / 86_400, 1500.0 + 10.0 * q as f64),
        });
        instruments.push(c);
    }
    let days_1998 = 5_479; // 1998-01-01 .. 2013-01-01
    let daily: Vec<Bar> = (0..25 * 365)
        .map(|d| {
            let p = 20.0 + (d % 400) as f64 / 4.0;
            let ts = BENCH_START + (d - days_1998) * 86_400;
            Bar::new(ts, p, p + 1.0, p - 1.0, p + 0.5, 1e6 + d as f64).expect("valid bar")
        })
        .collect();
    series.push(SeriesBatch {
        symbol: DAILY.into(),
        resolution: Resolution::Day,
        bars: daily,
    });
    let batch = IngestBatch {
        instruments,
        series,
        source: "file".into(),
        ..Default::default()
    };
    Ok(store.ingest(batch).await?.bars_written)
}

/// The request mix: (name, fetch document).
pub(super) fn mix(symbols: &[String]) -> Vec<(&'static str, Value)> {
    let q = |s: &str, f: &str, start: &str, end: &str| json!({"symbols": [s], "frequency": f, "start": start, "end": end});
    vec![
        (
            "1 day of 1m",
            q(&symbols[0], "1m", "2013-06-03", "2013-06-03"),
        ),
        (
            "1 month of 5m",
            q(&symbols[1], "5m", "2013-05-01", "2013-05-31"),
        ),
        (
            "1 year of 1d",
            q(&symbols[2], "1d", "2013-01-01", "2013-12-30"),
        ),
        (
            "1 year of 1w",
            q(&symbols[3], "1w", "2013-01-01", "2013-12-30"),
        ),
        (
            "1 year of 4h",
            q(&symbols[5], "4h", "2013-01-01", "2013-12-30"),
        ),
        (
            "1 year of 5m",
            q(&symbols[4], "5m", "2013-01-01", "2013-12-30"),
        ),
        (
            "ES.v.0 1h ratio_back 2013",
            json!({
                "symbols": ["ES.v.0"], "frequency": "1h", "start": "2013-01-01", "end": "2013-12-30",
                "adjust": "ratio_back"
            }),
        ),
        (
            "24 years of 1d (~1 MB)",
            q(DAILY, "1d", "1998-01-01", "2021-12-31"),
        ),
        (
            "10 symbols x 1 year of 1h",
            json!({
                "symbols": &symbols[..10], "frequency": "1h", "start": "2013-01-01", "end": "2013-12-30"
            }),
        ),
    ]
}

struct Run {
    latencies: Vec<Duration>,
    per_query: Vec<Vec<Duration>>,
    errors: usize,
    hits: usize,
    seconds: f64,
    bar_reads: u64,
}

pub(super) fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// An HTTP client keeping up to `clients` connections open.
fn http_client(clients: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("http client")
}

async fn run(
    client: &reqwest::Client,
    url: &str,
    service: &Service,
    mix: &[(&'static str, Value)],
    clients: usize,
    per_client: usize,
) -> Run {
    let reads = service.store_reads().bars;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, url, mix) = (client.clone(), url.to_string(), mix.to_vec());
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let k = (c + i) % mix.len();
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
                        .json(&mix[k].1)
                        .send()
                        .await;
                    let (ok, hit) = match r {
                        Ok(r) => {
                            let hit = r
                                .headers()
                                .get("x-cache")
                                .is_some_and(|v| v.as_bytes().starts_with(b"hit"));
                            let ok = r.status().is_success();
                            (ok && r.bytes().await.is_ok(), hit)
                        }
                        Err(_) => (false, false),
                    };
                    out.push((k, t.elapsed(), ok, hit));
                }
                out
            })
        })
        .collect();
    let mut run = Run {
        latencies: Vec::new(),
        per_query: vec![Vec::new(); mix.len()],
        errors: 0,
        hits: 0,
        seconds: 0.0,
        bar_reads: 0,
    };
    for t in tasks {
        for (k, d, ok, hit) in t.await.expect("client task") {
            run.latencies.push(d);
            run.per_query[k].push(d);
            run.errors += usize::from(!ok);
            run.hits += usize::from(hit);
        }
    }
    run.seconds = start.elapsed().as_secs_f64();
    run.bar_reads = service.store_reads().bars - reads;
    run.latencies.sort();
    for q in &mut run.per_query {
        q.sort();
    }
    run
}

/// Serve `service` on loopback from a runtime of its own (two worker threads on their own OS
/// threads, like a separate server process), so the client's tasks never queue in the
/// server's scheduler.
async fn spawn(service: Service) -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = crate::api::router(service, 64 * 1024);
            axum::serve(listener, app).await
        })
    });
    Ok(format!("http://{addr}/api/v1/historical-data/fetch"))
}

/// Run the serving benchmark.
pub async fn run_bench(args: ServeBenchArgs) -> Result<()> {
    anyhow::ensure!(args.symbols >= 10, "--symbols must be at least 10");
    let dir = tempfile::tempdir()?;
    let pool = PoolOptions::with_max(args.pool).map_err(anyhow::Error::msg)?;
    let store = Arc::new(SqliteStore::open_with(dir.path().join("serve-bench.db"), pool).await?);
    let ingest = bench_ingest(store.as_ref(), args.symbols, args.days).await?;
    let extra = extra_data(store.as_ref()).await?;
    println!(
        "generated {} bars ({} symbols x {} days of 1m) in {:.1} s, plus {extra} bars (ES 2013 \
         contracts in 1m, 25 years of 1d); {} SQLite reader connections at most",
        ingest.bars, args.symbols, args.days, ingest.seconds, pool.max_connections
    );
    let plain = Service::new(store.clone(), Limits::default());
    plain.refresh_rollups().await?;
    let cached =
        Service::new(store.clone(), Limits::default()).with_cache(&CacheSettings::default())?;
    let mix = mix(&bench_symbols(args.symbols));
    let urls = [
        (
            "cache on ",
            spawn(cached.clone()).await?,
            &cached,
            args.per_client,
        ),
        (
            "cache off",
            spawn(plain.clone()).await?,
            &plain,
            args.per_client_uncached,
        ),
    ];
    // Warm-up: one pass of the mix on each (fills the cache, the OS page cache, connections).
    for (_, url, service, _) in &urls {
        run(&http_client(1), url, service, &mix, 1, mix.len()).await;
    }
    println!(
        "{:<9} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>12}",
        "",
        "clients",
        "requests",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "req/s",
        "errors",
        "hits",
        "reads/1000"
    );
    let mut cached_runs = Vec::new();
    let mut uncached_runs = Vec::new();
    for clients in [1, 50, 200] {
        for (name, url, service, per_client) in &urls {
            if args.cached_only && !name.starts_with("cache on") {
                continue;
            }
            let per = if clients == 1 {
                per_client * 5
            } else {
                *per_client
            };
            let client = http_client(clients);
            if name.starts_with("cache on") {
                // Open the clients' connections first (keep-alive clients, as browsers are).
                run(&client, url, service, &mix, clients, 1).await;
            }
            let r = run(&client, url, service, &mix, clients, per).await;
            let n = r.latencies.len();
            println!(
                "{name:<9} {clients:>7} {n:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.0} {:>7} {:>6.1}% {:>12.1}",
                pct(&r.latencies, 0.5),
                pct(&r.latencies, 0.95),
                pct(&r.latencies, 0.99),
                n as f64 / r.seconds,
                r.errors,
                100.0 * r.hits as f64 / n as f64,
                1000.0 * r.bar_reads as f64 / n as f64
            );
            if name.starts_with("cache on") {
                cached_runs.push((clients, r));
            } else {
                println!("{:<9} per query p50 (cache off, {clients} clients):", "");
                for (k, (q, _)) in mix.iter().enumerate() {
                    println!("{:<12} {q:<28} {:>9.2} ms", "", pct(&r.per_query[k], 0.5));
                }
                uncached_runs.push(r);
            }
        }
    }
    let (_, one) = &cached_runs[0];
    println!("per query p50 (cache on, 1 client):");
    for (k, (q, _)) in mix.iter().enumerate() {
        println!("  {q:<28} {:>9.3} ms", pct(&one.per_query[k], 0.5));
    }
    let p50 = |run: &Run, name: &str| {
        let k = mix
            .iter()
            .position(|(q, _)| *q == name)
            .expect("query of the mix");
        pct(&run.per_query[k], 0.5)
    };
    println!(
        "targets: cached p50 (1 client) 1 day of 1m {:.3} ms (< 1), 24 years of 1d {:.3} ms (< 3)",
        p50(one, "1 day of 1m"),
        p50(one, "24 years of 1d (~1 MB)"),
    );
    if let Some(uncached) = uncached_runs.first() {
        println!(
            "targets: uncached p50 (1 client) 1 year of 1w {:.2} ms, 1 year of 4h {:.2} ms (< 5)",
            p50(uncached, "1 year of 1w"),
            p50(uncached, "1 year of 4h"),
        );
    }
    let (_, many) = &cached_runs[2];
    println!("per query p50 / p99 (cache on, 200 clients):");
    for (k, (q, _)) in mix.iter().enumerate() {
        println!(
            "  {q:<28} {:>9.2} / {:>7.2} ms",
            pct(&many.per_query[k], 0.5),
            pct(&many.per_query[k], 0.99)
        );
    }
    println!(
        "targets: cached p99 at 200 clients {:.2} ms (< 50), errors {} (0); bar reads per 1000 cached requests {:.1} (<= 20)",
        pct(&many.latencies, 0.99),
        many.errors,
        1000.0 * cached_runs.iter().map(|(_, r)| r.bar_reads).sum::<u64>() as f64
            / cached_runs
                .iter()
                .map(|(_, r)| r.latencies.len())
                .sum::<usize>() as f64
    );
    Ok(())
}
