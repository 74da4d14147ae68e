//! Shared fixtures of the store tests: fresh stores of both backends and generated bars.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::atomic::{AtomicU64, Ordering};

use tradeassist_model::{
    AssetClass, Bar, ContractMonth, FuturesContract, NewInstrument, Resolution,
};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{IngestBatch, SeriesBatch};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_url() -> String {
    std::env::var("TRADEASSIST_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// A schema name no other test (or test process) uses.
pub fn fresh_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "ta_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops its schema when the test ends, also when it panics.
pub struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let schema = self.0.clone();
        // Own thread and runtime: Drop cannot await, and may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) =
                    tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await?;
                let task = tokio::spawn(conn);
                let result = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
                drop(client);
                let _ = task.await;
                result
            })
        })
        .join();
        if !std::thread::panicking() {
            dropped.expect("drop thread").expect("drop test schema");
        }
    }
}

pub struct PgHarness {
    pub store: PostgresStore,
    _guard: SchemaGuard,
}

pub async fn postgres() -> PgHarness {
    let schema = fresh_schema();
    let guard = SchemaGuard(schema.clone());
    let store = PostgresStore::connect(&pg_url(), &schema)
        .await
        .expect("connect to PostgreSQL");
    PgHarness {
        store,
        _guard: guard,
    }
}

pub struct SqliteHarness {
    pub store: SqliteStore,
    pub dir: tempfile::TempDir,
}

pub async fn sqlite() -> SqliteHarness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db"))
        .await
        .unwrap();
    SqliteHarness { store, dir }
}

pub fn spy() -> NewInstrument {
    NewInstrument::equity("SPY", AssetClass::Stock).unwrap()
}

pub fn es(year: i32, month: u32, last_trade_date: Option<chrono::NaiveDate>) -> NewInstrument {
    NewInstrument::future(FuturesContract {
        root: "ES".into(),
        month: ContractMonth::new(year, month).unwrap(),
        last_trade_date,
        first_notice_date: None,
    })
    .unwrap()
}

/// `n` bars from `start`, `step` seconds apart, with awkward floats (no short binary
/// representation) and every optional field exercised.
pub fn bars(start: i64, step: i64, n: usize, seed: u64) -> Vec<Bar> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let f = (x >> 11) as f64 / (1u64 << 53) as f64;
            let base = 1000.0 + f * 100.0 + 1.0 / 3.0;
            let bar = Bar::new(
                start + i as i64 * step,
                base,
                base + f,
                base - 0.1 - f,
                base + f / 7.0,
                f * 1e4,
            )
            .unwrap();
            match i % 4 {
                0 => bar,
                1 => bar.with_open_interest(Some(f * 1e6)).unwrap(),
                2 => bar
                    .with_vwap(Some(base + f / 3.0))
                    .unwrap()
                    .with_trade_count(Some(i as u64 * 7)),
                _ => bar
                    .with_open_interest(Some(0.0))
                    .unwrap()
                    .with_vwap(Some(0.1 + 0.2))
                    .unwrap()
                    .with_trade_count(Some(0)),
            }
        })
        .collect()
}

/// Everything of a bar as exact bits, so `0.1 + 0.2` never compares equal to `0.3`.
pub type BarBits = (i64, [u64; 6], Option<u64>, Option<u64>, Option<u64>);

pub fn bits(bars: &[Bar]) -> Vec<BarBits> {
    bars.iter()
        .map(|b| {
            (
                b.ts(),
                [b.open(), b.high(), b.low(), b.close(), b.volume(), 0.0].map(f64::to_bits),
                b.open_interest().map(f64::to_bits),
                b.trade_count(),
                b.vwap().map(f64::to_bits),
            )
        })
        .collect()
}

pub fn series(symbol: &str, resolution: Resolution, bars: Vec<Bar>) -> SeriesBatch {
    SeriesBatch {
        symbol: symbol.into(),
        resolution,
        bars,
    }
}

pub fn batch(instruments: Vec<NewInstrument>, series: Vec<SeriesBatch>) -> IngestBatch {
    IngestBatch {
        instruments,
        series,
        open_interest: vec![],
        source: "file".into(),
    }
}
