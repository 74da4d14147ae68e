//! Test helper for the crash-safety tests (`tests/crash.rs`): ingests one large generated batch
//! and prints `committed <bars>` when the ingest returned. Run with
//! `TRADEASSIST_FAILPOINT=ingest_before_commit`, it dies after writing every row of the
//! transaction, just before the commit.
//!
//! ```text
//! ingest_crash_helper sqlite <db-file> <bars>
//! ingest_crash_helper postgres <url> <schema> <bars>
//! ```

use std::io::Write;
use std::path::PathBuf;

use tradeassist_model::{AssetClass, Bar, NewInstrument, Resolution};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{IngestBatch, SeriesBatch, Store};

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

async fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let stats = match args {
        [kind, db, n] if kind == "sqlite" => {
            let store = SqliteStore::open(PathBuf::from(db)).await?;
            store.ingest(batch(n.parse()?)).await?
        }
        [kind, url, schema, n] if kind == "postgres" => {
            let store = PostgresStore::connect(url, schema).await?;
            store.ingest(batch(n.parse()?)).await?
        }
        _ => {
            return Err(
                "usage: ingest_crash_helper sqlite <db> <bars> | postgres <url> <schema> <bars>"
                    .into(),
            );
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "committed {}", stats.bars_written)?;
    out.flush()?;
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
