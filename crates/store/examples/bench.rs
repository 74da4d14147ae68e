//! Store benchmark: ingest speed and read latency of both backends on generated minute bars.
//!
//! ```text
//! cargo run --release -p tradeassist-store --example bench -- [SYMBOLS] [DAYS]
//! ```
//! Defaults: 10 symbols x 365 days of 1-minute bars (24h a day, 5.26 M bars). PostgreSQL is
//! reached through `TRADEASSIST_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! in a scratch schema that is dropped at the end. Prints ingest bars/s, p50/p95 of a
//! "1 day of 1m" read and of a naive SQL aggregate "1 year of 1d from 1m".

use std::time::{Duration, Instant};

use tradeassist_model::{AssetClass, Bar, NewInstrument, Resolution, TimeRange};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{BarQuery, IngestBatch, Maintenance, SeriesBatch, Store};

const START: i64 = 1_356_998_400; // 2013-01-01
const READS: usize = 200;
const AGGREGATES: usize = 10;

fn symbols(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("SYM{i}")).collect()
}

fn series(symbol: &str, k: usize, days: usize) -> SeriesBatch {
    let bars = (0..days * 1440)
        .map(|i| {
            let p = 100.0 + ((i * 7 + k * 13) % 1009) as f64 / 16.0;
            Bar::new(
                START + i as i64 * 60,
                p,
                p + 0.25,
                p - 0.25,
                p + 0.125,
                (i % 500) as f64,
            )
            .unwrap()
        })
        .collect();
    SeriesBatch {
        symbol: symbol.into(),
        resolution: Resolution::Minute,
        bars,
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A deterministic spread of (symbol index, day) pairs.
fn picks(n: usize, symbols: usize, days: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).map(move |i| ((i * 7919) % symbols, (i * 104_729) % days))
}

async fn run<S: Store + Maintenance>(
    name: &str,
    store: &S,
    n_symbols: usize,
    days: usize,
    aggregate: impl AsyncFn(i64, i64, i64) -> usize,
) {
    let names = symbols(n_symbols);
    let instruments = names
        .iter()
        .map(|s| NewInstrument::equity(s, AssetClass::Stock).unwrap())
        .collect();
    store
        .ingest(IngestBatch {
            instruments,
            source: "file".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ingest_time = Duration::ZERO;
    let mut total = 0u64;
    for (k, s) in names.iter().enumerate() {
        let batch = IngestBatch {
            series: vec![series(s, k, days)],
            source: "file".into(),
            ..Default::default()
        };
        let t = Instant::now();
        total += store.ingest(batch).await.unwrap().bars_written;
        ingest_time += t.elapsed();
    }
    println!(
        "{name}: ingest {total} bars in {:.1} s = {:.0} bars/s (one transaction per symbol-year)",
        ingest_time.as_secs_f64(),
        total as f64 / ingest_time.as_secs_f64()
    );
    store.analyze().await.unwrap();

    let mut ids = Vec::new();
    for s in &names {
        ids.push(store.instrument(s).await.unwrap().unwrap().id);
    }
    let mut samples = Vec::new();
    for (k, day) in picks(READS, n_symbols, days) {
        let start = START + day as i64 * 86_400;
        let q = BarQuery {
            instrument_id: ids[k],
            resolution: Resolution::Minute,
            range: TimeRange::new(start, start + 86_400).unwrap(),
            last: None,
            max_rows: 100_000,
        };
        let t = Instant::now();
        let got = store.read_bars(q).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(got.len(), 1440);
    }
    println!(
        "{name}: read 1 day of 1m (1440 bars): p50 {} p95 {}",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95))
    );
    let mut samples = Vec::new();
    for (k, _) in picks(AGGREGATES, n_symbols, days) {
        let t = Instant::now();
        let rows = aggregate(ids[k], START, START + days as i64 * 86_400).await;
        samples.push(t.elapsed());
        assert_eq!(rows, days);
    }
    println!(
        "{name}: naive SQL aggregate {days} x 1d from 1m: p50 {} p95 {}",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95))
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let n_symbols = args.first().copied().unwrap_or(10);
    let days = args.get(1).copied().unwrap_or(365);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let sqlite = SqliteStore::open(&db).await.unwrap();
    let conn = std::sync::Mutex::new(rusqlite::Connection::open(&db).unwrap());
    run(
        "sqlite",
        &sqlite,
        n_symbols,
        days,
        async |id, start, end| {
            let conn = conn.lock().unwrap();
            // SQLite returns the row of MIN(ts) / MAX(ts) for bare columns: first open, last close.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT d.day, o.open, d.high, d.low, c.close, d.volume FROM (
                     SELECT ts / 86400 AS day, MIN(ts) AS first, MAX(ts) AS last, MAX(high) AS high,
                            MIN(low) AS low, SUM(volume) AS volume
                     FROM bars WHERE instrument_id = ?1 AND resolution = 60 AND ts >= ?2 AND ts < ?3
                     GROUP BY day) d
                 JOIN bars o ON o.instrument_id = ?1 AND o.resolution = 60 AND o.ts = d.first
                 JOIN bars c ON c.instrument_id = ?1 AND c.resolution = 60 AND c.ts = d.last
                 ORDER BY d.day",
                )
                .unwrap();
            stmt.query_map([id, start, end], |r| r.get::<_, i64>(0))
                .unwrap()
                .count()
        },
    )
    .await;
    drop(sqlite);

    let url = std::env::var("TRADEASSIST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("ta_bench_{}", std::process::id());
    let pg = PostgresStore::connect(&url, &schema).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let sql = format!(
        "SELECT ts / 86400 AS day, (array_agg(open ORDER BY ts))[1], MAX(high), MIN(low),
                (array_agg(close ORDER BY ts DESC))[1], SUM(volume)
         FROM {schema}.bars WHERE instrument_id = $1 AND resolution = 60 AND ts >= $2 AND ts < $3
         GROUP BY day ORDER BY day"
    );
    run("postgres", &pg, n_symbols, days, async |id, start, end| {
        client
            .query(&sql, &[&id, &start, &end])
            .await
            .unwrap()
            .len()
    })
    .await;
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
