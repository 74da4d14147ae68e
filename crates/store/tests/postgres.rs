//! PostgreSQL-only behaviour: query plans, partitions, the SQL view, concurrent ingest.
//! Everything the backends share is in `conformance.rs`.

mod common;

use common::*;
use tradeassist_model::{AssetClass, NewInstrument, Resolution, TimeRange};
use tradeassist_store::postgres::PostgresStore;
use tradeassist_store::{BarQuery, Maintenance, Store};

const OCT: i64 = 1_380_585_600; // 2013-10-01
const NOV: i64 = 1_383_264_000; // 2013-11-01
const DEC: i64 = 1_385_856_000; // 2013-12-01
const JAN: i64 = 1_388_534_400; // 2014-01-01

fn stocks() -> Vec<NewInstrument> {
    ["SPY", "QQQ", "IWM", "AAPL"]
        .map(|s| NewInstrument::equity(s, AssetClass::Stock).unwrap())
        .to_vec()
}

/// Three months (Oct-Dec 2013) of 5-minute bars for four instruments.
async fn load_three_months(store: &PostgresStore) {
    let n = ((JAN - OCT) / 300) as usize;
    let series = stocks()
        .iter()
        .enumerate()
        .map(|(i, d)| series(&d.symbol, Resolution::Minute, bars(OCT, 300, n, i as u64)))
        .collect();
    store.ingest(batch(stocks(), series)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_queries_use_the_primary_key_and_prune_partitions() {
    let h = postgres().await;
    load_three_months(&h.store).await;
    h.store.analyze().await.unwrap();
    let id = h.store.instrument("QQQ").await.unwrap().unwrap().id;
    let nov15 = NOV + 14 * 86_400;
    let query = BarQuery {
        instrument_id: id,
        resolution: Resolution::Minute,
        range: TimeRange::new(nov15, nov15 + 86_400).unwrap(),
        last: Some(100),
        max_rows: 50_001,
    };
    let plans = h.store.explain_hot_queries(query).await.unwrap();
    let names: Vec<_> = plans.iter().map(|p| p.name).collect();
    assert_eq!(names, ["range", "last_n", "bar_before"]);
    for p in &plans {
        let uses_pk = ["Index Scan", "Index Only Scan", "Bitmap Index Scan"]
            .iter()
            .any(|s| p.plan.contains(s))
            && p.plan.contains("bars_p201311_pkey");
        assert!(
            uses_pk,
            "{} does not use the primary key:\n{}",
            p.name, p.plan
        );
        assert!(
            !p.plan.contains("Seq Scan"),
            "{} scans sequentially:\n{}",
            p.name,
            p.plan
        );
        assert!(
            !p.plan.contains("bars_p201312"),
            "{} reads December:\n{}",
            p.name,
            p.plan
        );
    }
    // Range reads touch only the month of the range; bar_before may need the months before it.
    for p in &plans[..2] {
        assert!(
            !p.plan.contains("bars_p201310"),
            "{} reads October:\n{}",
            p.name,
            p.plan
        );
    }
    // The same reads give the rows the plans promise.
    let got = h
        .store
        .read_bars(BarQuery {
            last: None,
            ..query
        })
        .await
        .unwrap();
    assert_eq!(got.len(), 288);
    assert!(got.iter().all(|b| query.range.contains(b.ts())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_made_on_demand_and_retention_drops_whole_months() {
    let h = postgres().await;
    assert!(h.store.partitions().await.unwrap().is_empty());
    load_three_months(&h.store).await;
    assert_eq!(
        h.store.partitions().await.unwrap(),
        ["bars_p201310", "bars_p201311", "bars_p201312"]
    );
    let per_month = |days: i64| days * 288 * 4;
    assert_eq!(
        h.store.retention(DEC).await.unwrap() as i64,
        per_month(31 + 30)
    );
    assert_eq!(h.store.partitions().await.unwrap(), ["bars_p201312"]);
    // A cut inside a month deletes rows and keeps the partition.
    assert_eq!(
        h.store.retention(DEC + 86_400).await.unwrap() as i64,
        per_month(1)
    );
    assert_eq!(h.store.partitions().await.unwrap(), ["bars_p201312"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_view_shows_bars_with_symbols_and_utc_times() {
    let h = postgres().await;
    h.store
        .ingest(batch(
            vec![spy()],
            vec![series("SPY", Resolution::Minute, bars(NOV, 60, 3, 1))],
        ))
        .await
        .unwrap();
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            &format!(
                "SELECT symbol, resolution, to_char(ts_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM {}.bars_view ORDER BY ts_utc",
                h.store.schema()
            ),
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, i32, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        [
            ("SPY".to_string(), 60, "2013-11-01 00:00".to_string()),
            ("SPY".to_string(), 60, "2013-11-01 00:01".to_string()),
            ("SPY".to_string(), 60, "2013-11-01 00:02".to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_into_a_new_month_all_land() {
    let h = postgres().await;
    h.store.ingest(batch(stocks(), vec![])).await.unwrap();
    let tasks: Vec<_> = stocks()
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let store = h.store.clone();
            tokio::spawn(async move {
                store
                    .ingest(batch(
                        vec![],
                        vec![series(
                            &d.symbol,
                            Resolution::Minute,
                            bars(DEC, 60, 2_000, i as u64),
                        )],
                    ))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(h.store.partitions().await.unwrap(), ["bars_p201312"]);
    for d in stocks() {
        let id = h.store.instrument(&d.symbol).await.unwrap().unwrap().id;
        assert_eq!(h.store.series(id).await.unwrap()[0].count, 2_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_to_an_existing_schema_keeps_its_data() {
    let h = postgres().await;
    h.store.ingest(batch(vec![spy()], vec![])).await.unwrap();
    let again = PostgresStore::connect(&pg_url(), h.store.schema())
        .await
        .unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 6);
    assert!(again.instrument("SPY").await.unwrap().is_some());
    assert!(
        PostgresStore::connect(&pg_url(), "Robert'); DROP TABLE students;--")
            .await
            .is_err()
    );
}

/// The server's certificate on our machines (Debian's snakeoil, `CN = localhost`).
const SERVER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_encrypts_when_asked_and_verifies_against_a_ca_file() {
    use tradeassist_store::PoolOptions;
    use tradeassist_store::postgres::TlsOptions;
    let h = postgres().await;
    let schema = h.store.schema();
    assert!(
        !h.store.connection_encrypted().await.unwrap(),
        "plain without an sslmode"
    );
    let sep = if pg_url().contains('?') { '&' } else { '?' };
    let required = PostgresStore::connect(&format!("{}{sep}sslmode=require", pg_url()), schema)
        .await
        .unwrap();
    assert!(required.connection_encrypted().await.unwrap());

    // Verified: the CA file is the server's self-signed certificate, issued to `localhost`.
    let localhost = pg_url().replace("127.0.0.1", "localhost");
    let verified = PostgresStore::connect_tls(
        &localhost,
        schema,
        PoolOptions::default(),
        &TlsOptions {
            ca_file: Some(SERVER_CERT.into()),
        },
    )
    .await
    .unwrap();
    assert!(verified.connection_encrypted().await.unwrap());
    assert!(verified.instrument("SPY").await.is_ok());

    // The same CA but another host name, and a CA that did not sign the certificate: refused.
    let wrong_ca = std::fs::read_dir("/etc/ssl/certs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "pem")
                && !p.ends_with("ssl-cert-snakeoil.pem")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("BEGIN CERTIFICATE"))
        })
        .expect("a system CA certificate");
    for (url, ca) in [(pg_url(), SERVER_CERT.into()), (localhost, wrong_ca)] {
        let refused = PostgresStore::connect_tls(
            &url,
            schema,
            PoolOptions::default(),
            &TlsOptions { ca_file: Some(ca) },
        )
        .await;
        assert!(
            refused.is_err(),
            "{url} connected with an unverifiable certificate"
        );
    }
    let missing = PostgresStore::connect_tls(
        &pg_url(),
        schema,
        PoolOptions::default(),
        &TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
        },
    )
    .await;
    assert!(
        missing
            .err()
            .unwrap()
            .to_string()
            .contains("cannot read the CA file"),
        "a missing CA file is named"
    );
}
