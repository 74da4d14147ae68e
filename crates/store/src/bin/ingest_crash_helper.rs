//! Test helper for the crash-safety tests (`tests/crash.rs`): ingests one large generated batch
//! and tells its parent on stdout when the database is being written, so the parent can
//! SIGKILL it in the middle of the transaction.
//!
//! ```text
//! ingest_crash_helper sqlite <db-file> <bars>
//! ingest_crash_helper postgres <url> <schema> <bars>
//! ```
//!
//! Lines printed: `writing` once the batch's transaction has put data into the database (SQLite:
//! the WAL, truncated before the ingest, has grown, so the page cache is spilling dirty pages;
//! PostgreSQL: the server's `COPY` progress for this process's connection is above zero), then
//! `committed <bars>` when the ingest returned.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tradeassist_model::{AssetClass, Bar, NewInstrument, Resolution};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{IngestBatch, Maintenance, SeriesBatch, Store};

/// How often the watcher looks at the database's progress.
const POLL: Duration = Duration::from_millis(2);

/// The batch: `n` minute bars split over four stocks, the same for every run.
fn batch(n: usize) -> IngestBatch {
    let symbols = ["SPY", "QQQ", "IWM", "AAPL"];
    let per = n.div_ceil(symbols.len());
    let series = symbols
        .iter()
        .enumerate()
        .map(|(k, s)| SeriesBatch {
            symbol: s.to_string(),
            resolution: Resolution::Minute,
            bars: (0..per)
                .map(|i| {
                    let p = 100.0 + (i % 977) as f64 / 7.0 + k as f64;
                    Bar::new(
                        1_380_585_600 + i as i64 * 60,
                        p,
                        p + 0.5,
                        p - 0.5,
                        p + 0.25,
                        i as f64,
                    )
                    .expect("valid bar")
                })
                .collect(),
        })
        .collect();
    IngestBatch {
        instruments: symbols
            .iter()
            .map(|s| NewInstrument::equity(s, AssetClass::Stock).expect("valid symbol"))
            .collect(),
        series,
        open_interest: vec![],
        source: "file".into(),
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .expect("stdout");
}

fn wal_len(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

async fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    match args {
        [kind, db, n] if kind == "sqlite" => {
            let n: usize = n.parse()?;
            let db = PathBuf::from(db);
            let store = SqliteStore::open(&db).await?;
            store.optimize().await?; // checkpoints and truncates the WAL
            let batch = batch(n);
            let watched = db.clone();
            let watcher = tokio::spawn(async move {
                while wal_len(&watched) == 0 {
                    tokio::time::sleep(POLL).await;
                }
                say("writing");
            });
            let stats = store.ingest(batch).await?;
            watcher.abort();
            say(&format!("committed {}", stats.bars_written));
        }
        [kind, url, schema, n] if kind == "postgres" => {
            let n: usize = n.parse()?;
            let tag = format!("crash_{}", std::process::id());
            let sep = if url.contains('?') { '&' } else { '?' };
            let store =
                PostgresStore::connect(&format!("{url}{sep}application_name={tag}"), schema)
                    .await?;
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let batch = batch(n);
            let watcher = tokio::spawn(async move {
                loop {
                    let row = client
                        .query_opt(
                            "SELECT p.tuples_processed FROM pg_stat_progress_copy p
                             JOIN pg_stat_activity a ON a.pid = p.pid WHERE a.application_name = $1",
                            &[&tag],
                        )
                        .await
                        .expect("progress query");
                    if row.is_some_and(|r| r.get::<_, i64>(0) > 0) {
                        break;
                    }
                    tokio::time::sleep(POLL).await;
                }
                say("writing");
            });
            let stats = store.ingest(batch).await?;
            watcher.abort();
            say(&format!("committed {}", stats.bars_written));
        }
        _ => {
            return Err(
                "usage: ingest_crash_helper sqlite <db> <bars> | postgres <url> <schema> <bars>"
                    .into(),
            );
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args).await {
        eprintln!("ingest_crash_helper: {e}");
        std::process::exit(1);
    }
}
