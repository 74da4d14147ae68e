//! Black-box tests of the analytics endpoints and the `indicators` command over the demo data:
//! values aligned with the bars, the warm-up reported, the feature matrix as JSON and as a
//! Parquet file read back, and bad input refused with the error shape.

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, demo_data_dir, spawn_app_with};

async fn demo() -> TestApp {
    spawn_app_with(AppOptions {
        demo: true,
        ..AppOptions::default()
    })
    .await
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let resp = Client::new()
        .get(app.at(&format!("/api/v1/analytics/{path}")))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn indicators_are_aligned_with_the_bars_and_warmed() {
    let app = demo().await;
    let (status, body) = get(
        &app,
        "indicators?symbol=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31\
         &indicators=sma:20,rsi:14,macd:12:26:9,bb:20:2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bars = body["series"]["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 252);
    assert_eq!(body["series"]["count"], 252);
    assert!(body["warmup_bars_read"].as_u64().unwrap() >= 517);
    assert_eq!(body["warmup_bars_read"], body["warmup_bars_required"]);
    let inds = body["indicators"].as_array().unwrap();
    let names: Vec<&str> = inds.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sma:20", "rsi:14", "macd:12:26:9", "bb:20:2"]);
    let macd = &inds[2]["outputs"];
    for out in ["macd", "signal", "histogram"] {
        let values = macd[out].as_array().unwrap();
        assert_eq!(values.len(), 252);
        assert!(
            values.iter().all(Value::is_f64),
            "{out} is warmed on every bar"
        );
    }
    // The SMA of the first bar is the mean of the 20 closes ending with it (warm-up read).
    let (status, hist) = Client::new()
        .post(app.api("fetch"))
        .json(&serde_json::json!({"symbols": ["AAPL"], "frequency": "1d",
            "start": "2012-11-01", "end": "2013-01-02"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let hist: Value = hist.json().await.unwrap();
    let closes: Vec<f64> = hist["data"][0]["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["close"].as_f64().unwrap())
        .collect();
    let mean: f64 = closes[closes.len() - 20..].iter().sum::<f64>() / 20.0;
    let sma0 = inds[0]["outputs"]["value"][0].as_f64().unwrap();
    assert!((sma0 - mean).abs() < 1e-9 * mean, "{sma0} vs {mean}");
}

#[tokio::test]
async fn features_as_parquet_read_back_equal_the_json_matrix() {
    let app = demo().await;
    let q = "features?symbol=SPY&frequency=15m&start=2013-10-07&end=2013-10-07&indicators=rsi:14,vwap:2";
    let (status, json) = get(&app, q).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let names: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "open",
            "high",
            "low",
            "close",
            "volume",
            "rsi:14",
            "vwap:2.vwap",
            "vwap:2.upper",
            "vwap:2.lower"
        ]
    );
    assert_eq!(json["ts"].as_array().unwrap().len(), 26);
    let resp = Client::new()
        .get(app.at(&format!("/api/v1/analytics/{q}&format=parquet")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("SPY_15m_features.parquet")
    );
    let bytes = resp.bytes().await.unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 26);
    let schema = batches[0].schema();
    let fields: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(fields[0], "ts");
    assert_eq!(
        schema.field(0).data_type(),
        &arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, Some("UTC".into()))
    );
    let ts = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(
        tradeassist_model::rfc3339(ts.value(0) / 1000),
        json["ts"][0].as_str().unwrap()
    );
    assert_eq!(&fields[1..], &names[..]);
    let close = batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap();
    let json_close = json["columns"][3]["values"][0].as_f64().unwrap();
    assert_eq!(close.value(0), json_close);
}

#[tokio::test]
async fn bad_analytics_requests_are_422_with_the_field() {
    let app = demo().await;
    for (q, field) in [
        (
            "indicators?symbol=AAPL&frequency=1d&start=2013-01-01&indicators=sma:0",
            "indicators",
        ),
        (
            "indicators?symbol=AAPL&frequency=1d&start=2013-01-01&indicators=sma:99999999999999",
            "indicators",
        ),
        (
            "indicators?symbol=AAPL&frequency=1d&start=2013-01-01",
            "indicators",
        ),
        (
            "indicators?symbol=AAPL,IBM&frequency=1d&start=2013-01-01&indicators=sma:5",
            "symbol",
        ),
        (
            "indicators?symbol=AAPL&frequency=1d&start=2013-01-01&indicators=vwap",
            "indicators",
        ),
        (
            "features?symbol=AAPL&frequency=1d&start=2013-01-01&format=xlsx",
            "format",
        ),
        (
            "indicators?symbol=AAPL&frequency=1d&start=2013-01-01&indicators=sma:5&bogus=1",
            "query",
        ),
    ] {
        let (status, body) = get(&app, q).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{q}: {body}");
    }
    let (status, body) = get(
        &app,
        "indicators?symbol=NOPE&frequency=1d&start=2013-01-01&indicators=sma:5",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[test]
fn cli_indicators_print_csv_columns() {
    let db = Db::new(env!("CARGO_BIN_EXE_tradeassist"));
    db.import(
        &[],
        &demo_data_dir().join("us_equity_daily_lean_sample.csv"),
    );
    let (out, _) = db.ok(&[
        "indicators",
        "--symbol",
        "IBM",
        "--frequency",
        "1w",
        "--start",
        "2012-01-01",
        "--end",
        "2012-12-31",
        "--indicators",
        "ema:10,stoch",
    ]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ts,open,high,low,close,volume,ema:10,stoch:14:3:3.k,stoch:14:3:3.d"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len(),
        53,
        "weeks of 2012, the last one starting Monday Dec 31"
    );
    assert!(
        rows.iter().all(|r| r.split(',').all(|f| !f.is_empty())),
        "warmed"
    );
    let err = db.fails(&[
        "indicators",
        "--symbol",
        "IBM",
        "--frequency",
        "1d",
        "--start",
        "2012-01-01",
        "--indicators",
        "macd:26:12",
    ]);
    assert!(err.contains("macd"), "{err}");
}
