//! Rollups built while an import streams (for series that are new to the store) equal the
//! rollups the refresh computes from the stored bars, row for row.

use std::sync::Arc;

use tradeassist_model::{AssetClass, Resolution, SessionFilter, TimeRange};
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::{ImportFile, Limits, Service};
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{RollupKey, Store};

/// 2013-10-07 (a Monday) 00:00 UTC.
const DAY0: i64 = 1_381_104_000;

/// A deterministic, irregular minute series as CSV: 40 days around the clock (weekends
/// included, the calendar drops what is outside its sessions), missing hours and minutes,
/// vendor VWAP on most bars, open interest on some.
fn csv(symbol: &str) -> String {
    let mut s = String::from("ts,symbol,open,high,low,close,volume,vwap,open_interest\n");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for m in 0..40 * 1440 {
        let r = next();
        if r % 7 == 0 || (m / 60) % 23 == 5 {
            continue;
        }
        let p = 100.0 + (r % 1000) as f64 / 37.0;
        let vwap = if r % 5 == 0 {
            String::new()
        } else {
            format!("{}", p + 0.1)
        };
        let oi = if r % 11 == 0 {
            format!("{}", r % 5000)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "{},{symbol},{p},{},{},{},{},{vwap},{oi}\n",
            DAY0 + m * 60,
            p + 0.5,
            p - 0.5,
            p + 0.25,
            r % 900
        ));
    }
    s
}

fn file(symbol: &str, class: AssetClass) -> ImportFile {
    ImportFile {
        name: format!("{symbol}.csv"),
        reader: Box::new(std::io::Cursor::new(csv(symbol).into_bytes())),
        options: CsvOptions {
            asset_class: Some(class),
            ..Default::default()
        },
    }
}

async fn rollups(store: &SqliteStore, symbol: &str) -> Vec<String> {
    let id = store.instrument(symbol).await.unwrap().unwrap().id;
    let mut out = Vec::new();
    for (timeframe, sessions) in [
        ("1h", SessionFilter::Regular),
        ("1d", SessionFilter::Regular),
        ("1h", SessionFilter::All),
        ("1d", SessionFilter::All),
    ] {
        let key = RollupKey {
            base: Resolution::Minute,
            timeframe: timeframe.parse().unwrap(),
            sessions,
        };
        let set = store
            .read_rollups(id, &key, TimeRange::new(0, i64::MAX / 2).unwrap())
            .await
            .unwrap();
        out.push(format!(
            "{timeframe} {sessions} {:?} {:?}",
            set.covered_until, set.pending
        ));
        out.extend(set.rows.iter().map(|r| format!("{r:?}")));
    }
    out
}

#[tokio::test]
async fn rollups_built_during_an_import_equal_the_refreshed_ones() {
    let dir = tempfile::tempdir().unwrap();
    // Built on the way: the series are new to this store.
    let streamed = SqliteStore::open(dir.path().join("a.db")).await.unwrap();
    let a = Service::new(Arc::new(streamed.clone()), Limits::default());
    for (symbol, class) in [("SPY", AssetClass::Stock), ("ESZ13", AssetClass::Future)] {
        let report = a.import(vec![file(symbol, class)]).await.unwrap();
        assert_eq!(report.rollups_built, 1, "{symbol} built on the way");
    }
    assert!(streamed.rollup_backlog().await.unwrap().is_empty());

    // Refreshed from the store: the same bars written by the store directly, then a refresh.
    let written = SqliteStore::open(dir.path().join("b.db")).await.unwrap();
    let b = Service::new(Arc::new(written.clone()), Limits::default());
    for (symbol, class) in [("SPY", AssetClass::Stock), ("ESZ13", AssetClass::Future)] {
        let parsed = tradeassist_providers::file::parse_csv(
            csv(symbol).as_bytes(),
            &CsvOptions {
                asset_class: Some(class),
                ..Default::default()
            },
        )
        .unwrap();
        let s = parsed.series.into_iter().next().unwrap();
        written
            .ingest(tradeassist_store::IngestBatch {
                instruments: vec![s.instrument.clone()],
                series: vec![tradeassist_store::SeriesBatch {
                    symbol: s.instrument.symbol.clone(),
                    resolution: s.resolution,
                    bars: s.bars,
                }],
                source: "file".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    b.refresh_rollups().await.unwrap();

    for symbol in ["SPY", "ESZ13"] {
        let (x, y) = (
            rollups(&streamed, symbol).await,
            rollups(&written, symbol).await,
        );
        assert!(x.len() > 50, "{symbol}: {} rows", x.len());
        assert_eq!(x, y, "{symbol}");
    }
}

#[tokio::test]
async fn a_series_with_stored_bars_is_refreshed_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("c.db")).await.unwrap();
    let service = Service::new(Arc::new(store.clone()), Limits::default());
    service
        .import(vec![file("SPY", AssetClass::Stock)])
        .await
        .unwrap();
    let first = rollups(&store, "SPY").await;
    // Importing the same file again goes through the refresh (the series is not new) and
    // leaves the same rollups.
    let again = service
        .import(vec![file("SPY", AssetClass::Stock)])
        .await
        .unwrap();
    assert_eq!(again.rollups_built, 0);
    assert!(store.rollup_backlog().await.unwrap().is_empty());
    assert_eq!(rollups(&store, "SPY").await, first);
}
