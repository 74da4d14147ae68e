//! Connection-pool bounds of both backends: many more concurrent reads than connections all
//! get their answer, and the store never opens more connections than its bound.

mod common;

use std::sync::Arc;

use common::*;
use tradeassist_model::{AssetClass, NewInstrument, Resolution, TimeRange};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{BarQuery, PoolOptions, Store};

const DAY: i64 = 1_380_585_600; // 2013-10-01
const READS: usize = 48;

async fn load(store: &dyn Store) -> i64 {
    let spy = NewInstrument::equity("SPY", AssetClass::Stock).unwrap();
    let s = series("SPY", Resolution::Minute, bars(DAY, 60, 1_440, 1));
    store.ingest(batch(vec![spy], vec![s])).await.unwrap();
    store.instrument("SPY").await.unwrap().unwrap().id
}

/// `READS` concurrent reads of the same day: every one sees all 1440 bars.
async fn read_concurrently(store: Arc<dyn Store>, id: i64) {
    let query = BarQuery {
        instrument_id: id,
        resolution: Resolution::Minute,
        range: TimeRange::new(DAY, DAY + 86_400).unwrap(),
        last: None,
        max_rows: 10_000,
    };
    let tasks: Vec<_> = (0..READS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.read_bars(query).await.unwrap().len() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 1_440);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_queue_for_a_bounded_number_of_connections() {
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolOptions { max_connections: 2 };
    let store = SqliteStore::open_with(dir.path().join("p.db"), pool)
        .await
        .unwrap();
    let id = load(&store).await;
    read_concurrently(Arc::new(store.clone()), id).await;
    let open = store.reader_connections();
    assert!(
        (1..=2).contains(&open),
        "{open} reader connections for a bound of 2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_calls_queue_for_a_bounded_number_of_connections() {
    let schema = fresh_schema();
    let _guard = SchemaGuard(schema.clone());
    let pool = PoolOptions { max_connections: 2 };
    let store = PostgresStore::connect_with(&pg_url(), &schema, pool)
        .await
        .unwrap();
    let id = load(&store).await;
    read_concurrently(Arc::new(store.clone()), id).await;
    let open = store.connections();
    assert!(
        (1..=2).contains(&open),
        "{open} connections for a bound of 2"
    );
}

#[test]
fn a_pool_of_zero_connections_is_refused_and_the_default_is_bounded() {
    assert!(PoolOptions::with_max(Some(0)).is_err());
    assert_eq!(PoolOptions::with_max(Some(3)).unwrap().max_connections, 3);
    let default = PoolOptions::with_max(None).unwrap().max_connections;
    assert!((4..=32).contains(&default), "default {default}");
}
