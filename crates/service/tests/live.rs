//! Live updates: bars arriving through ingest reach subscribers as incremental bars equal to
//! the batch path.

use std::sync::Arc;

use tradeassist_engine::{AggSpec, UpdateKind};
use tradeassist_model::Resolution;
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::{ImportFile, Limits, Query, Service};
use tradeassist_store::sqlite::SqliteStore;

fn csv_file(name: &str, body: String) -> ImportFile {
    ImportFile {
        name: name.into(),
        reader: Box::new(std::io::Cursor::new(body.into_bytes())),
        options: CsvOptions::default(),
    }
}

/// Minute bars of SPY on 2013-10-07 from 09:30 ET (13:30Z) for `n` minutes starting at `from`.
fn minutes(from: u32, n: u32) -> String {
    let mut s = String::from("ts,symbol,open,high,low,close,volume\n");
    let open = 1_381_152_600i64; // 2013-10-07T13:30:00Z
    for i in from..from + n {
        let p = 100.0 + f64::from(i % 7) - f64::from(i % 3) * 0.5;
        s.push_str(&format!(
            "{},SPY,{p},{},{},{p},{}\n",
            open + 60 * i64::from(i),
            p + 1.0,
            p - 1.0,
            100 + i
        ));
    }
    s
}

#[tokio::test]
async fn ingested_bars_reach_subscribers_as_the_batch_bars() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("live.db")).await.unwrap();
    let service = Service::new(Arc::new(store), Limits::default());
    service
        .import(vec![csv_file("seed", minutes(0, 1))])
        .await
        .unwrap();

    let spec = AggSpec::new("5m".parse().unwrap());
    let mut sub = service
        .subscribe("spy", Resolution::Minute, spec)
        .await
        .unwrap();
    // 12 more minutes arrive in three imports.
    for (from, n) in [(1, 4), (5, 3), (8, 5)] {
        service
            .import(vec![csv_file("live", minutes(from, n))])
            .await
            .unwrap();
    }
    let mut finals = Vec::new();
    let mut partials = 0;
    while let Ok(u) = sub.updates.try_recv() {
        assert_eq!(u.symbol, "SPY");
        match u.update.kind {
            UpdateKind::Final => finals.push(u.update.bar),
            UpdateKind::Partial => partials += 1,
        }
    }
    assert_eq!(partials, 12, "one partial update per new base bar");
    assert_eq!(sub.dropped(), 0);

    // The two closed buckets equal the batch path over whole buckets: the subscription was
    // seeded with minute 0, stored before it joined, so the 13:30 bar holds all five minutes.
    let query: Query =
        "symbols=SPY&frequency=5m&start=2013-10-07T13:30:00Z&end=2013-10-07T13:45:00Z"
            .parse()
            .unwrap();
    let batch = service.fetch(&query, 1_900_000_000).await.unwrap();
    let batch_bars = &batch.series[0].bars;
    assert_eq!(finals.len(), 2, "13:30 and 13:35 buckets closed");
    for (live, batch) in finals.iter().zip(batch_bars) {
        assert_eq!(live.start, batch.start);
        assert_eq!(live.ohlc, batch.ohlc);
        assert_eq!(live.volume, batch.volume);
        assert_eq!(live.count, batch.count);
    }
    assert_eq!(finals[0].count, 5);
}

#[tokio::test]
async fn unknown_symbols_cannot_be_subscribed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("live.db")).await.unwrap();
    let service = Service::new(Arc::new(store), Limits::default());
    let err = service
        .subscribe(
            "NOPE",
            Resolution::Minute,
            AggSpec::new("5m".parse().unwrap()),
        )
        .await;
    assert!(matches!(
        err,
        Err(tradeassist_service::ServiceError::UnknownSymbols(_))
    ));
}
