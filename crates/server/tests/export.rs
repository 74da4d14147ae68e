//! Streaming export, black-box: the HTTP endpoint and the CLI against the demo data. Every
//! export must hold exactly the bars `fetch` (and `tradeassist query`) gives for the query.

use arrow_array::{Array, Float64Array, StringArray, TimestampMillisecondArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use tradeassist_service::{Limits, Query};
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app, spawn_app_with};

const NOW: i64 = 1_900_000_000;
const AAPL_2013: &str = "symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31";

fn cli(app: &TestApp) -> Db {
    let mut db = Db::new(env!("CARGO_BIN_EXE_tradeassist"));
    db.path = app.db_path.clone();
    db
}

async fn get(app: &TestApp, query: &str) -> reqwest::Response {
    reqwest::get(app.api(&format!("export?{query}")))
        .await
        .unwrap()
}

/// The pieces of an export (one session or trading day each) concatenated equal `fetch`.
#[tokio::test]
async fn chunks_concatenated_equal_fetch() {
    let app = spawn_app().await;
    let cases = [
        "symbols=BAC,SPY&frequency=1m&start=2013-10-01&end=2013-12-31",
        "symbols=BAC,SPY&frequency=5m&start=2013-10-01&end=2013-12-31",
        "symbols=SPY&frequency=1h&start=2013-10-01&end=2013-12-31",
        "symbols=SPY&frequency=1d&start=2013-10-01&end=2013-12-31&base=1m",
        "symbols=SPY&frequency=1m&start=2013-10-01&end=2013-12-31&session=extended",
        "symbols=AAPL,IBM&frequency=1d&start=2012-01-01&end=2013-12-31",
        "symbols=ESZ13&frequency=1m&start=2013-10-01&end=2013-12-31",
        "symbols=ESZ13&frequency=5m&start=2013-10-01&end=2013-12-31&align=clock",
        "symbols=ESZ13&frequency=1h&start=2013-10-01&end=2013-12-31",
        "symbols=ESZ13&frequency=1d&start=2013-10-01&end=2013-12-31&base=1m",
        "symbols=ESZ13&frequency=1d&start=2013-10-01&end=2013-12-31",
        "symbols=ES.c.0&frequency=1h&start=2013-10-01&end=2013-12-31",
        "symbols=ES.c.0&frequency=1d&start=2013-01-01&end=2020-12-31",
        "symbols=AAPL&frequency=1w&start=2010-01-01&end=2013-12-31",
    ];
    for text in cases {
        let query: Query = text.parse().unwrap();
        let fetched = app.service.fetch(&query, NOW).await.unwrap();
        let mut export = app.service.export_with(&query, NOW, 1).await.unwrap();
        let mut got: Vec<Vec<_>> = vec![Vec::new(); fetched.series.len()];
        let mut chunks = 0;
        while let Some(chunk) = export.next_chunk().await.unwrap() {
            chunks += 1;
            got[chunk.series].extend(chunk.result.bars);
        }
        let total: usize = fetched.series.iter().map(|s| s.bars.len()).sum();
        assert!(total > 0, "{text}: no bars in the demo data");
        for (s, bars) in fetched.series.iter().zip(&got) {
            assert_eq!(&s.bars, bars, "{text}: {}", s.instrument.symbol);
        }
        eprintln!("{text}: {total} bars in {chunks} chunks");
        if !text.contains(".c.0")
            && !text.contains("1w")
            && !text.contains("ESZ13&frequency=1d&start")
        {
            assert!(chunks > 1, "{text}: expected several chunks, got {chunks}");
        }
    }
}

#[tokio::test]
async fn csv_and_ndjson_equal_the_cli_query_output() {
    let app = spawn_app().await;
    let db = cli(&app);
    for (query, args) in [
        (
            AAPL_2013,
            vec![
                "--symbol",
                "AAPL",
                "--frequency",
                "1d",
                "--start",
                "2013-01-01",
                "--end",
                "2013-12-31",
            ],
        ),
        (
            "symbols=BAC,SPY&frequency=5m&start=2013-10-01&end=2013-12-31",
            vec![
                "--symbol",
                "BAC",
                "--symbol",
                "SPY",
                "--frequency",
                "5m",
                "--start",
                "2013-10-01",
                "--end",
                "2013-12-31",
            ],
        ),
        (
            "symbols=ES.c.0&frequency=1h&start=2013-10-01&end=2013-12-31",
            vec![
                "--symbol",
                "ES.c.0",
                "--frequency",
                "1h",
                "--start",
                "2013-10-01",
                "--end",
                "2013-12-31",
            ],
        ),
    ] {
        for format in ["csv", "ndjson"] {
            let resp = get(&app, &format!("format={format}&{query}")).await;
            assert_eq!(resp.status(), 200, "{query}");
            let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
            assert!(
                ct.starts_with(if format == "csv" {
                    "text/csv"
                } else {
                    "application/x-ndjson"
                }),
                "{ct}"
            );
            let cd = resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(cd.starts_with("attachment; filename=\""), "{cd}");
            assert!(cd.ends_with(&format!(".{format}\"")), "{cd}");
            let body = resp.text().await.unwrap();
            let mut a = args.clone();
            a.extend(["--format", format]);
            let mut full = vec!["query"];
            full.extend(a);
            let (stdout, _) = db.ok(&full);
            assert_eq!(body, stdout, "{query} {format}");
        }
    }
    let body = get(&app, &format!("format=csv&{AAPL_2013}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(body.lines().count(), 253, "252 trading days + header");
    let cd = get(&app, &format!("format=csv&{AAPL_2013}")).await;
    assert_eq!(
        cd.headers()["content-disposition"],
        "attachment; filename=\"AAPL_1d.csv\""
    );
}

#[tokio::test]
async fn parquet_reads_back_equal_to_fetch() {
    let app = spawn_app().await;
    let query = "symbols=BAC,SPY&frequency=5m&start=2013-10-01&end=2013-12-31";
    let resp = get(&app, &format!("format=parquet&{query}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apache.parquet"
    );
    let bytes = resp.bytes().await.unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "symbol",
            "ts",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "open_interest",
            "vwap",
            "date",
            "complete",
            "contract"
        ]
    );
    let fetched = app
        .service
        .fetch(&query.parse().unwrap(), NOW)
        .await
        .unwrap();
    let expected: Vec<_> = fetched
        .series
        .iter()
        .flat_map(|s| s.bars.iter().map(move |b| (s.instrument.symbol.clone(), b)))
        .collect();
    let mut rows = 0;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        let symbol = col("symbol");
        let symbol = symbol.as_any().downcast_ref::<StringArray>().unwrap();
        let ts = col("ts");
        let ts = ts
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        let close = col("close");
        let close = close.as_any().downcast_ref::<Float64Array>().unwrap();
        let volume = col("volume");
        let volume = volume.as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..batch.num_rows() {
            let (sym, bar) = &expected[rows];
            assert_eq!(symbol.value(i), sym);
            assert_eq!(ts.value(i), bar.ts * 1000);
            assert_eq!(close.value(i), bar.ohlc.unwrap().close);
            assert_eq!(volume.value(i), bar.volume);
            assert!(col("contract").is_null(i));
            rows += 1;
        }
    }
    assert_eq!(rows, expected.len());
}

#[tokio::test]
async fn post_takes_the_fetch_document() {
    let app = spawn_app().await;
    let resp = reqwest::Client::new()
        .post(app.api("export?format=csv"))
        .json(&json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-12-31"}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let get_body = get(&app, &format!("format=csv&{AAPL_2013}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(body, get_body);
}

#[tokio::test]
async fn errors_before_the_first_byte_are_json() {
    let app = spawn_app().await;
    let resp = get(&app, &format!("format=xlsx&{AAPL_2013}")).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["details"]["field"], "format", "{body}");
    let resp = get(
        &app,
        "format=csv&symbols=NOPE&frequency=1d&start=2013-01-01",
    )
    .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn export_is_not_bound_by_max_bars_per_response() {
    let small = spawn_app_with(AppOptions {
        demo: true,
        limits: Limits {
            max_bars_per_response: 100,
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let query = "symbols=SPY,BAC&frequency=1m&start=2013-10-01&end=2013-12-31";
    let refused = reqwest::Client::new()
        .post(small.api("fetch"))
        .json(&json!({"symbols": ["SPY", "BAC"], "frequency": "1m", "start": "2013-10-01", "end": "2013-12-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let resp = get(&small, &format!("format=ndjson&{query}")).await;
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let q: Query = query.parse().unwrap();
    let full = spawn_app().await;
    let expected: usize = full
        .service
        .fetch(&q, NOW)
        .await
        .unwrap()
        .series
        .iter()
        .map(|s| s.bars.len())
        .sum();
    assert!(expected > 100);
    assert_eq!(body.lines().count(), expected);
}

#[tokio::test]
async fn cli_export_writes_the_file_or_nothing() {
    let app = spawn_app().await;
    let db = cli(&app);
    let args = [
        "--symbol",
        "AAPL",
        "--frequency",
        "1d",
        "--start",
        "2013-01-01",
        "--end",
        "2013-12-31",
    ];
    let out = db.dir.path().join("aapl.csv");
    let mut export = vec!["export", "--format", "csv", "--out", out.to_str().unwrap()];
    export.extend(args);
    db.ok(&export);
    let mut query = vec!["query", "--format", "csv"];
    query.extend(args);
    let (stdout, _) = db.ok(&query);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), stdout);

    let pq = db.dir.path().join("aapl.parquet");
    let mut export = vec![
        "export",
        "--format",
        "parquet",
        "--out",
        pq.to_str().unwrap(),
    ];
    export.extend(args);
    db.ok(&export);
    let file = std::fs::File::open(&pq).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 252);

    let bad = db.dir.path().join("bad.csv");
    db.fails(&[
        "export",
        "--symbol",
        "NOPE",
        "--frequency",
        "1d",
        "--start",
        "2013-01-01",
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(!bad.exists());
    let leftovers: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("tradeassist-export")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Browsers ask for compressed bodies: the compressed stream of an export must end cleanly
/// (it once polled the body after its end, which panicked the handler and dropped the
/// connection with an empty reply).
#[tokio::test]
async fn compressed_exports_stream_to_the_end() {
    let app = spawn_app_with(AppOptions {
        demo: true,
        ..AppOptions::default()
    })
    .await;
    let url =
        app.api("export?format=csv&symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31");
    let plain = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(plain.lines().count(), 253);
    for coding in ["br", "gzip", "gzip, deflate, br, zstd"] {
        let resp = reqwest::Client::new()
            .get(&url)
            .header("accept-encoding", coding)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{coding}: {e}"));
        assert_eq!(resp.status(), 200, "{coding}");
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("AAPL_1d.csv")
        );
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{coding}: {e}"));
        assert!(!body.is_empty(), "{coding}: a body arrives");
    }
}

/// Found by schemathesis: a finished job's result, compressed, ended in a broken chunk (the
/// compression layer polled the file stream after its end, which panicked).
#[tokio::test]
async fn compressed_job_results_stream_to_the_end() {
    let app = spawn_app_with(AppOptions {
        demo: true,
        ..AppOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    let query =
        json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-12-31"});
    let job: Value = client
        .post(app.api("jobs"))
        .json(&json!({"format": "csv", "query": query}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status: Value = client
            .get(app.api(&format!("jobs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["state"] == "done" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job not done: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = app.api(&format!("jobs/{id}/result"));
    let plain = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(plain.lines().count(), 253);
    for coding in ["gzip", "br"] {
        let resp = client
            .get(&url)
            .header("accept-encoding", coding)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{coding}");
        assert_eq!(resp.headers()["content-encoding"], coding);
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{coding}: the body broke off: {e}"));
        assert!(!body.is_empty(), "{coding}");
    }
}
