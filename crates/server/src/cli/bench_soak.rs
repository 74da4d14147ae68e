//! `tradeassist bench soak`: mixed load against the real server for a while. Generated data
//! (the serving benchmark's) in a scratch SQLite database, `tradeassist serve --open` as a child
//! process on loopback, then: one warm-up pass, a capacity probe (closed loop, `--clients`
//! concurrent clients), and `--minutes` of open-loop load at `--load` (default 70 %) of that
//! capacity (or `--seconds`). Every minute it prints requests, errors, p50/p99 and the
//! server's RSS; at the end PASS when no request failed, none had to be held back, and the RSS
//! grew less than 10 % from the end of the first minute (the warm-up: the response cache and
//! the allocator fill) to the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tradeassist_store::bench::{bench_ingest, bench_symbols};
use tradeassist_store::sqlite::SqliteStore;

use super::bench::proc_status_kib;
use super::bench_serve::{extra_data, mix, pct};

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Minutes of load after the capacity probe.
    #[arg(long, default_value_t = 10)]
    pub minutes: u64,
    /// Seconds of load instead of `--minutes` (a short smoke run; figures per minute at most).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Fraction of the measured capacity to offer (open loop).
    #[arg(long, default_value_t = 0.7)]
    pub load: f64,
    /// Concurrent clients of the capacity probe.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Generated symbols (at least 10).
    #[arg(long, default_value_t = 10)]
    pub symbols: usize,
    /// Generated days of 1-minute bars per symbol.
    #[arg(long, default_value_t = 120)]
    pub days: usize,
}

/// Most requests in flight during the soak; a request due while this many are outstanding is
/// not sent and counted (`behind`): the server fell behind the offered load.
const MAX_IN_FLIGHT: usize = 512;
/// Allowed RSS growth from the end of the first minute of load (the response cache and the
/// allocator's arenas have filled by then; in a run of one period, from its start) to the end.
const RSS_GROWTH_LIMIT: f64 = 0.10;

/// One request of the mix.
#[derive(Clone)]
struct Req {
    path: String,
    body: Option<Value>,
}

/// The serving benchmark's fetch mix, fetches over 20 different days (so answers leave and
/// enter the cache), an export, a gap report, indicators and the instrument list.
fn requests(symbols: &[String]) -> Vec<Req> {
    let data = "/api/v1/historical-data";
    let mut out: Vec<Req> = mix(symbols)
        .into_iter()
        .map(|(_, body)| Req {
            path: format!("{data}/fetch"),
            body: Some(body),
        })
        .collect();
    for d in 0..20 {
        let day = format!("2013-03-{:02}", d + 4);
        out.push(Req {
            path: format!("{data}/fetch"),
            body: Some(json!({"symbols": [&symbols[d % symbols.len()]], "frequency": "15m", "start": day, "end": day})),
        });
    }
    let s = &symbols[0];
    out.extend(
        [
            format!("{data}/export?format=ndjson&symbols={s}&frequency=5m&start=2013-02-01&end=2013-02-07"),
            format!("{data}/gaps?symbol={s}&frequency=1m&start=2013-01-01&end=2013-03-31"),
            format!("/api/v1/analytics/indicators?symbol={s}&frequency=1h&start=2013-02-01&end=2013-02-28&indicators=rsi:14,sma:20"),
            format!("{data}/instruments"),
        ]
        .into_iter()
        .map(|path| Req { path, body: None }),
    );
    out
}

/// Sends `req`; true when the answer is a 2xx read to its end (else the failure is logged).
async fn send(client: &reqwest::Client, base: &str, req: &Req) -> bool {
    let url = format!("{base}{}", req.path);
    let builder = match &req.body {
        Some(body) => client.post(url).json(body),
        None => client.get(url),
    };
    match builder
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status();
            match r.bytes().await {
                Ok(_) if status.is_success() => true,
                Ok(body) => {
                    let body = String::from_utf8_lossy(&body);
                    tracing::warn!(path = %req.path, %status, body = %body.chars().take(300).collect::<String>(), "request failed");
                    false
                }
                Err(e) => {
                    tracing::warn!(path = %req.path, error = %e, "response broke off");
                    false
                }
            }
        }
        Err(e) => {
            tracing::warn!(path = %req.path, error = %e, "request failed");
            false
        }
    }
}

/// The server child; stopped (SIGTERM) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        crate::child::terminate(&mut self.0, Duration::from_secs(10));
    }
}

fn rss_mib(pid: u32) -> f64 {
    proc_status_kib(pid, "VmRSS").map_or(f64::NAN, |k| k as f64 / 1024.0)
}

/// Run the soak test; an error when it fails.
pub async fn run(args: SoakArgs) -> Result<()> {
    anyhow::ensure!(args.symbols >= 10, "--symbols must be at least 10");
    anyhow::ensure!(
        args.load > 0.0 && args.load <= 1.0,
        "--load must be in (0, 1]"
    );
    let total = Duration::from_secs(args.seconds.unwrap_or(args.minutes.saturating_mul(60)));
    anyhow::ensure!(
        total >= Duration::from_secs(2),
        "the soak must last at least 2 seconds"
    );
    let period = total.min(Duration::from_secs(60));
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("soak.db");
    {
        let store = SqliteStore::open(&db).await?;
        let ingest = bench_ingest(&store, args.symbols, args.days).await?;
        let extra = extra_data(&store).await?;
        println!(
            "generated {} bars ({} symbols x {} days of 1m) plus {extra} (ES contracts, 25 years of 1d)",
            ingest.bars, args.symbols, args.days
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = std::fs::File::create(dir.path().join("server.log"))?;
    let server = Child(
        std::process::Command::new(std::env::current_exe()?)
            .arg("--db")
            .arg(&db)
            .args(["serve", "--open", "--listen", &format!("127.0.0.1:{port}")])
            .env("TRADEASSIST_LIMITS__RATE_PER_IP_PER_MINUTE", "0")
            .env("TRADEASSIST_LOG", "warn,audit=off")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .context("start the server")?,
    );
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()?;
    let ready = Instant::now();
    while !client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(120),
            "the server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reqs = Arc::new(requests(&bench_symbols(args.symbols)));
    let mut warm_errors = 0;
    for r in reqs.iter() {
        warm_errors += usize::from(!send(&client, &base, r).await);
    }
    anyhow::ensure!(
        warm_errors == 0,
        "{warm_errors} requests of the warm-up failed (see the mix)"
    );

    // Capacity: closed loop for 15 s (less in a short run).
    let probe = Duration::from_secs(15).min(total / 2);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let (client, base, reqs) = (client.clone(), base.clone(), reqs.clone());
            tokio::spawn(async move {
                let (mut n, mut errors) = (0usize, 0usize);
                while started.elapsed() < probe {
                    errors += usize::from(!send(&client, &base, &reqs[(c + n) % reqs.len()]).await);
                    n += 1;
                }
                (n, errors)
            })
        })
        .collect();
    let (mut probed, mut probe_errors) = (0, 0);
    for t in tasks {
        let (n, e) = t.await?;
        probed += n;
        probe_errors += e;
    }
    let capacity = probed as f64 / started.elapsed().as_secs_f64();
    let rate = capacity * args.load;
    println!(
        "capacity {capacity:.0} req/s ({} clients, closed loop, {probe_errors} errors); soak at {rate:.0} req/s ({:.0} %) for {} s",
        args.clients,
        args.load * 100.0,
        total.as_secs()
    );
    println!(
        "{:>6} {:>9} {:>7} {:>7} {:>9} {:>9} {:>9}",
        "to s", "requests", "errors", "behind", "p50 ms", "p99 ms", "RSS MiB"
    );

    // Soak: open loop, request n is due at start + n / rate.
    let rss_start = rss_mib(pid);
    let mut rss_baseline = rss_start;
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Duration, bool)>();
    let soak_start = tokio::time::Instant::now();
    let mut errors_total = probe_errors;
    // Requests not sent because MAX_IN_FLIGHT were outstanding (the server fell behind).
    let mut shed_total = 0usize;
    let mut requests_total = 0usize;
    let mut n = 0u64;
    let mut period_start = Duration::ZERO;
    while period_start < total {
        let period_end = (period_start + period).min(total);
        let mut latencies = Vec::new();
        let mut errors = 0usize;
        let mut shed = 0usize;
        loop {
            let due = soak_start + Duration::from_secs_f64(n as f64 / rate);
            if due >= soak_start + period_end {
                break;
            }
            tokio::time::sleep_until(due).await;
            while let Ok((latency, ok)) = rx.try_recv() {
                latencies.push(latency);
                errors += usize::from(!ok);
            }
            match slots.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (client, base, reqs, tx) =
                        (client.clone(), base.clone(), reqs.clone(), tx.clone());
                    tokio::spawn(async move {
                        let t = Instant::now();
                        let ok = send(&client, &base, &reqs[n as usize % reqs.len()]).await;
                        let _ = tx.send((t.elapsed(), ok));
                        drop(permit);
                    });
                }
                // The server fell behind by MAX_IN_FLIGHT requests: a failure of the soak.
                Err(_) => shed += 1,
            }
            n += 1;
        }
        while let Ok((latency, ok)) = rx.try_recv() {
            latencies.push(latency);
            errors += usize::from(!ok);
        }
        latencies.sort();
        println!(
            "{:>6} {:>9} {:>7} {:>7} {:>9.2} {:>9.2} {:>9.1}",
            period_end.as_secs(),
            latencies.len(),
            errors,
            shed,
            pct(&latencies, 0.5),
            pct(&latencies, 0.99),
            rss_mib(pid)
        );
        errors_total += errors;
        shed_total += shed;
        requests_total += latencies.len();
        if period_start.is_zero() && period_end < total {
            rss_baseline = rss_mib(pid);
        }
        period_start = period_end;
    }
    // The requests still in flight.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await?;
    while let Ok((_, ok)) = rx.try_recv() {
        requests_total += 1;
        errors_total += usize::from(!ok);
    }
    let rss_end = rss_mib(pid);
    let growth = rss_end / rss_baseline - 1.0;
    let alive = std::fs::metadata(format!("/proc/{pid}")).is_ok();
    let pass = errors_total == 0 && shed_total == 0 && growth < RSS_GROWTH_LIMIT && alive;
    println!(
        "soak: {requests_total} requests, {errors_total} errors (0), {shed_total} not sent while {MAX_IN_FLIGHT} were in flight (0), RSS {rss_start:.1} MiB at the start, {rss_baseline:.1} after the first period, {rss_end:.1} at the end ({:+.1} % from the first period, < {:.0} %), server {}: {}",
        growth * 100.0,
        RSS_GROWTH_LIMIT * 100.0,
        if alive { "alive" } else { "gone" },
        if pass { "PASS" } else { "FAIL" }
    );
    drop(server);
    anyhow::ensure!(pass, "the soak test failed");
    Ok(())
}
