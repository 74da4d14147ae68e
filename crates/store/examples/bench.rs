//! Store benchmark: ingest speed of both backends on generated minute bars
//! ([`tradeassist_store::bench`]).
//!
//! ```text
//! cargo run --release -p tradeassist-store --example bench -- [SYMBOLS] [DAYS]
//! ```
//! Defaults: 10 symbols x 365 days of 1-minute bars (24h a day, 5.26 M bars). PostgreSQL is
//! reached through `TRADEASSIST_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! in a scratch schema that is dropped at the end. Each backend is ingested twice: into an
//! empty store, then the same bars again (the idempotent re-ingest / upsert path). Query
//! latencies (rollups vs. on the fly vs. naive SQL) are measured by `tradeassist bench query`
//! (`tradeassist_service::bench`).

use tradeassist_store::Store;
use tradeassist_store::bench::{IngestBenchReport, bench_ingest};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;

fn print(what: &str, r: &IngestBenchReport) {
    println!(
        "{}: {what}: {} bars in {:.2} s = {:.0} bars/s (one transaction per symbol-year)",
        r.backend, r.bars, r.seconds, r.bars_per_second
    );
}

async fn run(store: &dyn Store, symbols: usize, days: usize) {
    print("ingest", &bench_ingest(store, symbols, days).await.unwrap());
    print(
        "re-ingest",
        &bench_ingest(store, symbols, days).await.unwrap(),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let symbols = args.first().copied().unwrap_or(10);
    let days = args.get(1).copied().unwrap_or(365);

    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.db"))
        .await
        .unwrap();
    run(&sqlite, symbols, days).await;
    drop(sqlite);

    let url = std::env::var("TRADEASSIST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("ta_bench_{}", std::process::id());
    let pg = PostgresStore::connect(&url, &schema).await.unwrap();
    run(&pg, symbols, days).await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
