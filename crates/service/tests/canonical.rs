//! The canonical form of a query: two requests that mean the same thing plan to equal
//! canonical queries (the future cache key); requests that differ in meaning do not.

use std::sync::Arc;

use tradeassist_model::AssetClass;
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::{CanonicalQuery, ImportFile, Limits, Query, Service};
use tradeassist_store::sqlite::SqliteStore;

const NOW: i64 = 1_900_000_000;

fn file(name: &str, body: &str, asset_class: Option<AssetClass>) -> ImportFile {
    ImportFile {
        name: name.into(),
        reader: Box::new(std::io::Cursor::new(body.as_bytes().to_vec())),
        options: CsvOptions {
            asset_class,
            ..CsvOptions::default()
        },
    }
}

async fn service() -> (Service, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("c.db")).await.unwrap();
    let service = Service::new(Arc::new(store), Limits::default());
    let daily = "date,symbol,open,high,low,close,volume\n\
        2013-01-02,AAPL,10,11,9,10.5,100\n2013-01-03,AAPL,10.5,11,10,10.7,120\n";
    let minutes = "ts,symbol,open,high,low,close,volume\n\
        2024-02-05T14:30:00Z,6EH4,1.1,1.2,1.0,1.15,10\n2024-02-05T14:31:00Z,6EH4,1.1,1.2,1.0,1.15,10\n\
        2013-10-07T14:30:00Z,ESZ13,1700,1701,1699,1700.5,10\n2013-10-07T14:30:00Z,ESH14,1695,1696,1694,1695.5,5\n";
    service
        .import(vec![file("daily", daily, None)])
        .await
        .unwrap();
    service
        .import(vec![file("minutes", minutes, Some(AssetClass::Future))])
        .await
        .unwrap();
    (service, dir)
}

async fn canonical(service: &Service, text: &str) -> CanonicalQuery {
    let query: Query = text.parse().unwrap();
    service.plan(&query, NOW).await.unwrap().canonical()
}

#[tokio::test]
async fn requests_that_mean_the_same_have_equal_canonical_forms() {
    let (service, _dir) = service().await;
    let groups: [&[&str]; 4] = [
        &[
            "symbols=aapl&frequency=1d&start=2013-01-01&end=2013-12-31",
            "symbols=AAPL&frequency=1d&start=2013-01-01T00:00:00Z&end=2014-01-01T00:00:00Z\
             &session=regular&align=session&label=start&fill=none&adjust=none&base=1d",
            "symbols=AAPL,aapl&frequency=1d&start=2013-01-01&end=2013-12-31&adjust=none",
        ],
        &[
            "symbols=6EH4&frequency=5m&start=2024-02-05&end=2024-02-05",
            "symbols=6eh24&frequency=5m&start=2024-02-05&end=2024-02-05&session=all",
            "symbols=6EH2024&frequency=5m&start=2024-02-05&end=2024-02-05&base=1m",
        ],
        &[
            "symbols=ES.v.0&frequency=1h&start=2013-10-07&end=2013-10-07",
            "symbols=es.v.0&frequency=1h&start=2013-10-07&end=2013-10-07&rank=0&adjust=none\
             &roll_anchor=last_trade&roll_price=last_close_both&grace_sessions=7",
            // ES rolls through HMUZ by default.
            "symbols=ES.v.0&frequency=1h&start=2013-10-07&end=2013-10-07&months=ZUMH",
        ],
        &[
            "symbols=ES.c.0&frequency=1h&start=2013-10-07&end=2013-10-07",
            "symbols=ES.c.0&frequency=1h&start=2013-10-07&end=2013-10-07&roll=calendar&roll_offset=0\
             &skip_to_most_active=false",
        ],
    ];
    for group in groups {
        let first = canonical(&service, group[0]).await;
        for other in &group[1..] {
            assert_eq!(
                canonical(&service, other).await,
                first,
                "{other} vs {}",
                group[0]
            );
            assert_eq!(
                canonical(&service, other).await.to_string(),
                first.to_string()
            );
        }
    }
}

#[tokio::test]
async fn requests_that_differ_in_meaning_have_different_canonical_forms() {
    let (service, _dir) = service().await;
    let base = "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31";
    let reference = canonical(&service, base).await;
    for other in [
        "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-30",
        "symbols=AAPL&frequency=1w&start=2013-01-01&end=2013-12-31",
        "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31&fill=prev",
        "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31&label=end",
        "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31&session=extended",
        "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31&session_vwap=true",
    ] {
        assert_ne!(canonical(&service, other).await, reference, "{other}");
    }
    let volume = canonical(&service, "symbols=ES.v.0&frequency=1h&start=2013-10-07").await;
    for other in [
        "symbols=ES.v.0&frequency=1h&start=2013-10-07&grace_sessions=3",
        "symbols=ES.v.0&frequency=1h&start=2013-10-07&skip_to_most_active=true",
        "symbols=ES.v.0&frequency=1h&start=2013-10-07&months=HZ",
        "symbols=ES.v.0&frequency=1h&start=2013-10-07&adjust=ratio_back",
    ] {
        assert_ne!(canonical(&service, other).await, volume, "{other}");
    }
}

#[tokio::test]
async fn an_open_range_keeps_its_end_open_in_the_canonical_form() {
    let (service, _dir) = service().await;
    let c = canonical(&service, "symbols=AAPL&frequency=1d&start=2013-01-01").await;
    assert_eq!(c.series[0].end, None);
    let c = canonical(&service, "symbols=AAPL&frequency=1d&preset=last_10_bars").await;
    assert_eq!(c.series[0].end, None);
    assert_eq!(c.series[0].last_bars, Some(10));
}
