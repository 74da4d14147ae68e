//! Store benchmark: ingest speed of both backends on generated minute bars
//! ([`tradeassist_store::bench`]).
//!
//! ```text
//! cargo run --release -p tradeassist-store --example bench -- [SYMBOLS] [DAYS] [sqlite|postgres]
//! ```
//! Defaults: 10 symbols x 365 days of 1-minute bars (24h a day, 5.26 M bars), both backends. PostgreSQL is
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
    let cpu = r
        .cpu_seconds
        .map(|c| format!(", client CPU {c:.2} s"))
        .unwrap_or_default();
    println!(
        "{}: {what}: {} bars in {:.2} s = {:.0} bars/s (one transaction per symbol-year{cpu})",
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| {
        args.get(i).map_or(default, |a| {
            a.parse().expect("SYMBOLS and DAYS are numbers")
        })
    };
    let symbols = number(0, 10);
    let days = number(1, 365);
    let only = args.get(2).map(String::as_str);

    let dir = tempfile::tempdir().unwrap();
    if only.is_none_or(|b| b == "sqlite") {
        let sqlite = SqliteStore::open(dir.path().join("bench.db"))
            .await
            .unwrap();
        run(&sqlite, symbols, days).await;
    }
    if only.is_some_and(|b| b != "postgres") {
        return;
    }

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
