//! Ingest and query benchmark of one backend (what `tradeassist bench` runs).
//!
//! ```text
//! cargo run --release -p tradeassist-service --example bench_query -- sqlite|postgres [SYMBOLS] [DAYS]
//! ```
//! SQLite uses a temporary file; PostgreSQL `TRADEASSIST_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) in a scratch schema whose tables are dropped at
//! the end.

use std::sync::Arc;

use tradeassist_service::bench::{QueryBenchReport, bench_query};
use tradeassist_service::{Limits, Service};
use tradeassist_store::bench::{Latency, NaiveQueries, bench_ingest};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;

fn line(what: &str, l: &Latency) {
    println!(
        "  {what:<44} p50 {:>8.2} ms  p95 {:>8.2} ms  (n={})",
        l.p50_ms, l.p95_ms, l.samples
    );
}

async fn run<S: NaiveQueries + Clone>(store: S, symbols: usize, days: usize) {
    let ingest = bench_ingest(&store, symbols, days).await.unwrap();
    println!(
        "{}: ingest {} bars in {:.2} s = {:.0} bars/s",
        ingest.backend, ingest.bars, ingest.seconds, ingest.bars_per_second
    );
    let service = Service::new(Arc::new(store.clone()), Limits::default());
    let r: QueryBenchReport = bench_query(&service, &store, symbols, days).await.unwrap();
    println!(
        "{}: rollup refresh after ingest {:.2} s",
        r.backend, r.rollup_refresh_seconds
    );
    line("1 day of 1m, service fetch", &r.day_of_1m);
    line("1 day of 1m, naive range read", &r.day_of_1m_naive);
    line(
        "1 year of 1d from 1m, service (rollups)",
        &r.year_of_1d_rollup,
    );
    line(
        "1 year of 1d from 1m, on the fly (engine)",
        &r.year_of_1d_on_the_fly,
    );
    line(
        "1 year of 1d from 1m, naive SQL aggregate",
        &r.year_of_1d_naive,
    );
    println!(
        "  rollup hits {}/{}",
        r.rollup_hits, r.year_of_1d_rollup.samples
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let n: Vec<usize> = args.map(|a| a.parse().expect("numbers")).collect();
    let (symbols, days) = (
        n.first().copied().unwrap_or(10),
        n.get(1).copied().unwrap_or(365),
    );
    match backend.as_str() {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            run(
                SqliteStore::open(dir.path().join("bench.db"))
                    .await
                    .unwrap(),
                symbols,
                days,
            )
            .await;
        }
        "postgres" => {
            let url = std::env::var("TRADEASSIST_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let store = PostgresStore::connect(&url, &format!("ta_bench_{}", std::process::id()))
                .await
                .unwrap();
            run(store.clone(), symbols, days).await;
            store.migrate_down(0).await.unwrap();
        }
        other => panic!("unknown backend {other}: sqlite or postgres"),
    }
}
