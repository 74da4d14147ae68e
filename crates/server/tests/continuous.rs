//! Black-box tests of continuous futures, the roll history and equity price adjustments: the
//! real router over the demo data (`testkit::spawn_app`), and the `tradeassist` binary.
//!
//! Expected values come from the raw files in `data/demo/` (ES contracts with explicit
//! expiries, LEAN factor files) or from small synthetic files written here.

use std::collections::BTreeSet;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_model::AssetClass;
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::ImportFile;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{TestApp, demo_data_dir, spawn_app};

// ---------------------------------------------------------------------------------------------
// Helpers

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request reaches the server");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, body)
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    send(Client::new().get(app.api(path))).await
}

async fn post(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    send(Client::new().post(app.api("fetch")).json(body)).await
}

/// POST `fetch`, assert 200, return the one series.
async fn series(app: &TestApp, body: Value) -> Value {
    let (status, doc) = post(app, &body).await;
    assert_eq!(status, StatusCode::OK, "fetch {body} -> {doc}");
    doc["data"][0].clone()
}

/// ES December 2013, daily, with extra request fields.
fn es_dec(symbol: &str, extra: Value) -> Value {
    let mut body = json!({
        "symbols": [symbol], "frequency": "1d", "start": "2013-12-01", "end": "2013-12-31",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// The error shape `{"error":{"code","message","details"}}`; returns the message.
fn error_message(body: &Value) -> String {
    let top = body.as_object().expect("error body is an object");
    assert_eq!(top.keys().collect::<Vec<_>>(), vec!["error"], "{body}");
    let error = top["error"].as_object().expect("error object");
    let keys: BTreeSet<&str> = error.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["code", "details", "message"]),
        "{body}"
    );
    assert!(error["details"].is_object(), "{body}");
    let message = error["message"].as_str().expect("message").to_string();
    assert!(!message.trim().is_empty(), "{body}");
    message
}

async fn expect_error(app: &TestApp, body: Value, status: StatusCode) -> String {
    let (got, doc) = post(app, &body).await;
    assert_eq!(got, status, "fetch {body} -> {doc}");
    error_message(&doc)
}

fn rolls(series: &Value) -> Vec<Value> {
    series["rolls"].as_array().expect("roll table").clone()
}

fn roll_dates(series: &Value) -> Vec<String> {
    rolls(series)
        .iter()
        .map(|r| r["date"].as_str().unwrap().to_string())
        .collect()
}

/// `(date, contract, close)` of every bar.
fn bars(series: &Value) -> Vec<(String, String, f64)> {
    series["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .map(|b| {
            (
                b["date"].as_str().unwrap_or_default().to_string(),
                b["contract"].as_str().unwrap_or_default().to_string(),
                b["close"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn close_on(series: &Value, date: &str) -> f64 {
    bars(series)
        .into_iter()
        .find(|b| b.0 == date)
        .unwrap_or_else(|| panic!("no bar on {date}"))
        .2
}

/// Close of a contract month on a UTC date in `es_daily_long.csv` (raw vendor row).
fn raw_es_close(date: &str, contract_month: &str) -> f64 {
    let text = std::fs::read_to_string(demo_data_dir().join("es_daily_long.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ts, month, close) = (col("time_utc"), col("contract_month"), col("close"));
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[ts].starts_with(date) && r[month] == contract_month && !r[close].is_empty())
        .map(|r| r[close].parse().unwrap())
        .unwrap_or_else(|| panic!("no {contract_month} row on {date}"))
}

/// Import a CSV text through the service, as `tradeassist import --symbol ROOT
/// --asset-class future` does.
async fn import_futures(app: &TestApp, root: &str, csv: &'static str) {
    let file = ImportFile {
        name: format!("{root}.csv"),
        reader: Box::new(csv.as_bytes()),
        options: CsvOptions {
            symbol: Some(root.into()),
            asset_class: Some(AssetClass::Future),
            ..Default::default()
        },
    };
    app.service.import(vec![file]).await.expect("import");
}

// ---------------------------------------------------------------------------------------------
// Continuous futures over HTTP

#[tokio::test]
async fn volume_rule_rolls_from_esz13_to_esh14_on_december_16() {
    let app = spawn_app().await;
    let s = series(&app, es_dec("ES.v.0", json!({}))).await;
    assert_eq!(s["symbol"], "ES.v.0");
    let contracts: Vec<String> = bars(&s).into_iter().map(|b| b.1).collect();
    let first_h = contracts
        .iter()
        .position(|c| c == "ESH14")
        .expect("ESH14 bars");
    assert!(first_h > 0, "{contracts:?}");
    assert!(
        contracts[..first_h].iter().all(|c| c == "ESZ13"),
        "{contracts:?}"
    );
    assert!(
        contracts[first_h..].iter().all(|c| c == "ESH14"),
        "{contracts:?}"
    );
    assert_eq!(bars(&s)[first_h].0, "2013-12-16");
    let table = rolls(&s);
    assert_eq!(table.len(), 1, "{table:?}");
    let r = &table[0];
    assert_eq!(
        (&r["date"], &r["from"], &r["to"], &r["trigger"]),
        (
            &json!("2013-12-16"),
            &json!("ESZ13"),
            &json!("ESH14"),
            &json!("volume")
        )
    );
    assert_eq!(r["from_price"].as_f64(), Some(1775.0));
    assert_eq!(r["to_price"].as_f64(), Some(1768.75));
    assert_eq!(r["difference"].as_f64(), Some(-6.25));
    assert!((r["ratio"].as_f64().unwrap() - 1768.75 / 1775.0).abs() < 1e-12);
}

#[tokio::test]
async fn open_interest_and_calendar_rules() {
    let app = spawn_app().await;
    let s = series(&app, es_dec("ES.n.0", json!({}))).await;
    assert_eq!(roll_dates(&s), ["2013-12-23"]);
    assert_eq!(rolls(&s)[0]["trigger"], "open_interest");
    // ESZ13's last trade date is 2013-12-20: offset N rolls N trading days before it.
    for (offset, date) in [(0, "2013-12-20"), (1, "2013-12-19"), (2, "2013-12-18")] {
        let s = series(&app, es_dec("ES.c.0", json!({ "roll_offset": offset }))).await;
        assert_eq!(roll_dates(&s), [date], "roll_offset {offset}");
        assert_eq!(rolls(&s)[0]["trigger"], "calendar");
        assert_eq!(bars(&s).iter().find(|b| b.0 == date).unwrap().1, "ESH14");
    }
}

#[tokio::test]
async fn difference_back_shifts_esz13_by_the_roll_gap() {
    let app = spawn_app().await;
    let raw = series(&app, es_dec("ES.v.0", json!({}))).await;
    let adjusted = series(
        &app,
        es_dec("ES.v.0", json!({ "adjust": "difference_back" })),
    )
    .await;
    let r = &rolls(&adjusted)[0];
    assert_eq!(r["cumulative"].as_f64(), Some(-6.25));
    // A mid-week ESZ13 session: raw close from the vendor file, adjusted = raw - 6.25.
    let vendor = raw_es_close("2013-12-04", "201312");
    assert_eq!(close_on(&raw, "2013-12-04"), vendor);
    assert_eq!(close_on(&adjusted, "2013-12-04"), vendor - 6.25);
    // Every ESZ13 bar moves by the gap, ESH14 (the newest segment) stays raw.
    for ((d, c, a), (_, _, x)) in bars(&adjusted).into_iter().zip(bars(&raw)) {
        let shift = if c == "ESZ13" { -6.25 } else { 0.0 };
        assert!((a - (x + shift)).abs() < 1e-9, "{d} {c}: {a} vs raw {x}");
    }
}

#[tokio::test]
async fn contracts_and_rolls_endpoints() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "futures/ES/contracts").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let z = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["symbol"] == "ESZ13")
        .expect("ESZ13 listed")
        .clone();
    assert_eq!(z["last_trade_date"], "2013-12-20");
    assert_eq!(z["last_trade_date_source"], "explicit");

    let path = "futures/ES/rolls?rule=volume&start=2013-10-01&end=2013-12-31";
    let (status, doc) = get(&app, path).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["symbol"], "ES.v.0");
    let data = doc["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{doc}");
    assert_eq!(
        (&data[0]["date"], &data[0]["from"], &data[0]["to"]),
        (&json!("2013-12-16"), &json!("ESZ13"), &json!("ESH14"))
    );
    assert_eq!(data[0]["from_price"].as_f64(), Some(1775.0));
    assert_eq!(data[0]["to_price"].as_f64(), Some(1768.75));
    // The roll table of the endpoint and the one a fetch returns agree.
    let fetched = series(
        &app,
        json!({"symbols": ["ES.v.0"], "frequency": "1d", "start": "2013-10-01", "end": "2013-12-31"}),
    )
    .await;
    assert_eq!(fetched["rolls"], doc["data"]);
}

#[tokio::test]
async fn roll_history_is_served_until_the_inputs_change() {
    let app = spawn_app().await;
    let path = "futures/ES/rolls?rule=volume&start=2013-10-01&end=2013-12-31";
    let call = || async {
        let (status, doc) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        doc
    };
    let first = call().await;
    assert_eq!(first["from_history"], false, "computed on the first call");
    let second = call().await;
    assert_eq!(second["from_history"], true, "served from the roll history");
    assert_eq!(second["data"], first["data"]);

    // Another adjustment is another spec: computed once, then served.
    let diff = format!("{path}&adjust=difference_back");
    let (_, d1) = get(&app, &diff).await;
    let (_, d2) = get(&app, &diff).await;
    assert_eq!(
        (&d1["from_history"], &d2["from_history"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(d2["data"][0]["cumulative"].as_f64(), Some(-6.25));
    assert_eq!(d2["data"], d1["data"]);

    // One new daily bar of ESH14 (after its stored ones) changes the inputs' fingerprint.
    import_futures(
        &app,
        "ES",
        "time_utc,contract_month,expiry,open,high,low,close,volume\n\
         2013-12-27T00:00:00Z,201403,2014-03-21,1836.75,1840,1835,1839.5,250000\n",
    )
    .await;
    let third = call().await;
    assert_eq!(third["from_history"], false, "recomputed after the import");
    assert_eq!(
        third["data"], first["data"],
        "the new bar does not move the roll"
    );
    assert_eq!(call().await["from_history"], true);
}

#[tokio::test]
async fn invalid_continuous_requests_are_refused_in_the_error_shape() {
    let app = spawn_app().await;
    let m = expect_error(&app, es_dec("XX.v.0", json!({})), StatusCode::NOT_FOUND).await;
    assert!(m.to_ascii_uppercase().contains("XX.V.0"), "{m}");
    let (status, doc) = get(&app, "futures/XX/rolls?start=2013-10-01").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{doc}");
    error_message(&doc);
    let (status, doc) = get(&app, "futures/XX/contracts").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{doc}");
    error_message(&doc);

    let m = expect_error(
        &app,
        es_dec("ES.v.9", json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(m.contains("rank 9"), "{m}");
    let (status, doc) = get(
        &app,
        "futures/ES/rolls?rank=9&start=2013-10-01&end=2013-12-31",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doc}");
    error_message(&doc);

    // Roll options and futures adjustments belong to continuous symbols.
    let stock = |extra: Value| {
        let mut body = json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-12-01", "end": "2013-12-31"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let m = expect_error(&app, stock(json!({"roll": "volume"})), unprocessable).await;
    assert!(m.contains("AAPL"), "{m}");
    expect_error(&app, stock(json!({"roll_offset": 2})), unprocessable).await;
    expect_error(&app, stock(json!({"rank": 1})), unprocessable).await;
    let m = expect_error(
        &app,
        stock(json!({"adjust": "difference_back"})),
        unprocessable,
    )
    .await;
    assert!(m.contains("futures adjustment"), "{m}");
    // ... and equity adjustments to stocks.
    let m = expect_error(
        &app,
        es_dec("ES.v.0", json!({"adjust": "split"})),
        unprocessable,
    )
    .await;
    assert!(m.contains("equity adjustment"), "{m}");
    let m = expect_error(
        &app,
        json!({"symbols": ["ESZ13"], "frequency": "1d", "start": "2013-12-01", "end": "2013-12-31", "adjust": "ratio_back"}),
        unprocessable,
    )
    .await;
    assert!(m.contains("single futures contract"), "{m}");
    expect_error(
        &app,
        es_dec("ES.v.0", json!({"adjust": "panama"})),
        unprocessable,
    )
    .await;
}

/// CL-like contracts through April 2020: the May contract settles below zero on the 20th.
const CL_APRIL_2020: &str = "date,contract_month,expiry,open,high,low,close,volume
2020-04-14,202005,2020-04-22,20.10,20.50,19.80,20.11,300000
2020-04-15,202005,2020-04-22,20.00,20.20,19.20,19.87,310000
2020-04-16,202005,2020-04-22,19.80,20.30,19.20,19.87,320000
2020-04-17,202005,2020-04-22,19.90,20.00,18.10,18.27,330000
2020-04-20,202005,2020-04-22,17.73,17.85,-40.32,-37.63,250000
2020-04-21,202005,2020-04-22,-14.00,13.86,-16.74,10.01,150000
2020-04-14,202006,2020-05-19,24.50,25.00,24.00,24.40,200000
2020-04-15,202006,2020-05-19,24.00,24.30,23.10,23.50,210000
2020-04-16,202006,2020-05-19,23.40,23.80,22.80,23.05,220000
2020-04-17,202006,2020-05-19,23.00,23.20,21.90,22.00,230000
2020-04-20,202006,2020-05-19,21.90,22.10,20.00,20.43,400000
2020-04-21,202006,2020-05-19,20.00,20.50,6.50,11.57,500000
2020-04-22,202006,2020-05-19,11.70,14.20,11.00,13.78,450000
2020-04-23,202006,2020-05-19,14.00,17.20,13.80,16.50,420000
2020-04-24,202006,2020-05-19,16.60,17.50,15.90,16.94,400000
";

#[tokio::test]
async fn ratio_adjustment_over_negative_prices_is_refused_difference_warns() {
    let app = spawn_app().await;
    import_futures(&app, "CL", CL_APRIL_2020).await;
    let body = |adjust: &str| json!({"symbols": ["CL.c.0"], "frequency": "1d", "start": "2020-04-01", "end": "2020-04-30", "adjust": adjust});
    let raw = series(&app, body("none")).await;
    assert_eq!(roll_dates(&raw), ["2020-04-22"]);
    assert_eq!(close_on(&raw, "2020-04-20"), -37.63);

    let m = expect_error(&app, body("ratio_back"), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(m.contains("positive") && m.contains("CLK20"), "{m}");
    expect_error(
        &app,
        body("ratio_forward"),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let diff = series(&app, body("difference_back")).await;
    let gap = 11.57 - 10.01;
    assert!((rolls(&diff)[0]["difference"].as_f64().unwrap() - gap).abs() < 1e-9);
    assert!((close_on(&diff, "2020-04-20") - (-37.63 + gap)).abs() < 1e-9);
    let warnings = diff["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("zero or negative")),
        "{warnings:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Equity corporate actions over HTTP

fn aapl(adjust: Option<&str>) -> Value {
    let mut body =
        json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2014-06-02", "end": "2014-06-13"});
    if let Some(a) = adjust {
        body["adjust"] = json!(a);
    }
    body
}

/// `(open, close, volume)` of the bar on a date.
fn ocv(series: &Value, date: &str) -> (f64, f64, f64) {
    let b = series["bars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["date"] == date)
        .unwrap_or_else(|| panic!("no bar on {date}"));
    (
        b["open"].as_f64().unwrap(),
        b["close"].as_f64().unwrap(),
        b["volume"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn split_adjusted_aapl_is_continuous_over_the_2014_split() {
    let app = spawn_app().await;
    // Default and `none`: raw vendor prices, the 7:1 split is a jump.
    let raw = series(&app, aapl(None)).await;
    assert_eq!(series(&app, aapl(Some("none"))).await["bars"], raw["bars"]);
    let (_, raw_fri, _) = ocv(&raw, "2014-06-06");
    let (_, raw_mon, _) = ocv(&raw, "2014-06-09");
    assert_eq!((raw_fri, raw_mon), (645.57, 93.70));
    assert!((raw_fri / raw_mon - 7.0).abs() < 0.2, "raw closes jump ~7x");

    let split = series(&app, aapl(Some("split"))).await;
    let (_, fri, fri_volume) = ocv(&split, "2014-06-06");
    let (mon_open, mon, _) = ocv(&split, "2014-06-09");
    // LEAN rows 20140606 (split factor 0.0357143 = 1/28) and 20140806 (0.25 = 1/4).
    assert!((fri - 645.57 * 0.0357143).abs() < 1e-9, "{fri}");
    assert!((mon - 93.70 * 0.25).abs() < 1e-9, "{mon}");
    assert!((fri_volume - 12_116_671.0 / 0.0357143).abs() < 1e-3);
    // No split gap: Friday's close and Monday's open within 1%; the close-to-close move is
    // the market's own +1.6% (645.57 -> 93.70 * 7 = 655.90), not a 7x jump.
    assert!(
        (mon_open / fri - 1.0).abs() < 0.01,
        "{fri} -> open {mon_open}"
    );
    assert!((mon / fri - 1.0).abs() < 0.02, "{fri} -> {mon}");

    // `all` adds the dividend factor of the same rows (0.9011818 on both days).
    let all = series(&app, aapl(Some("all"))).await;
    let (_, all_fri, _) = ocv(&all, "2014-06-06");
    assert!(
        (all_fri - 645.57 * 0.9011818 * 0.0357143).abs() < 1e-9,
        "{all_fri}"
    );

    // Weekly bars are aggregated from the adjusted base bars.
    let mut weekly = aapl(Some("split"));
    weekly["frequency"] = json!("1w");
    let w = series(&app, weekly).await;
    let highs: Vec<f64> = w["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["high"].as_f64().unwrap())
        .collect();
    assert!(highs.iter().all(|h| *h < 30.0), "{highs:?}");
}

#[tokio::test]
async fn equity_adjustment_needs_stored_factors() {
    let app = spawn_app().await;
    // SPY has minute bars but no factor file in the demo data.
    let body = json!({"symbols": ["SPY"], "frequency": "1d", "start": "2013-10-07", "end": "2013-10-08", "adjust": "split"});
    let m = expect_error(&app, body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(m.contains("SPY") && m.contains("factors"), "{m}");
    let body = json!({"symbols": ["SPY"], "frequency": "1d", "start": "2013-10-07", "end": "2013-10-08", "adjust": "none"});
    series(&app, body).await;
}

// ---------------------------------------------------------------------------------------------
// CLI

fn demo(file: &str) -> String {
    demo_data_dir().join(file).display().to_string()
}

#[test]
fn cli_rolls_prints_the_roll_table() {
    let db = Db::new(env!("CARGO_BIN_EXE_tradeassist"));
    db.ok(&[
        "import",
        "--symbol",
        "ES",
        "--asset-class",
        "future",
        &demo("es_minute_long.csv.gz"),
        &demo("es_daily_long.csv"),
    ]);
    let args = [
        "rolls",
        "--symbol",
        "ES.v.0",
        "--start",
        "2013-10-01",
        "--end",
        "2013-12-31",
        "--format",
        "csv",
    ];
    let (stdout, _) = db.ok(&args);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "date,from,to,from_price,to_price,difference,ratio,trigger"
    );
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[1].starts_with("2013-12-16,ESZ13,ESH14,1775,1768.75,-6.25,0.99647")
            && lines[1].ends_with(",volume"),
        "{stdout}"
    );
    // The second run is served from the roll history with the same table.
    assert_eq!(db.ok(&args).0, stdout);
    let (json, _) = db.ok(&[
        "rolls",
        "--symbol",
        "ES.v.0",
        "--start",
        "2013-10-01",
        "--end",
        "2013-12-31",
        "--format",
        "json",
    ]);
    let table: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(table["from_history"], true);
}

#[test]
fn cli_import_factors_validates_everything_first() {
    let db = Db::new(env!("CARGO_BIN_EXE_tradeassist"));
    let daily = db.write(
        "daily.csv",
        "date,symbol,open,high,low,close,volume\n\
         2014-06-06,AAPL,650.00,651.25,644.48,645.57,12116671\n\
         2014-06-09,AAPL,92.69,93.88,91.75,93.70,72875948\n",
    );
    db.ok(&["import", &daily]);
    let query = [
        "query",
        "--symbol",
        "AAPL",
        "--frequency",
        "1d",
        "--start",
        "2014-06-06",
        "--end",
        "2014-06-09",
        "--adjust",
        "split",
    ];
    let err = db.fails(&query);
    assert!(err.contains("factors"), "{err}");

    // Unknown symbol (from the file name): nothing written.
    let msft = db.write("msft.csv", "20140606,1,0.5,1\n");
    let aapl = demo("lean_factor_files/aapl.csv");
    let err = db.fails(&["import-factors", &aapl, &msft]);
    assert!(err.contains("MSFT"), "{err}");
    // An invalid row: rejected with its line number, nothing written.
    let bad = db.write(
        "bad.csv",
        "20140606,0.9,0.0357143,645.57\n20140806,0.9,x,94.97\n",
    );
    let err = db.fails(&["import-factors", "--symbol", "AAPL", &bad]);
    assert!(err.contains("line 2"), "{err}");
    let err = db.fails(&query);
    assert!(err.contains("factors"), "nothing was written: {err}");

    let (_, stderr) = db.ok(&["import-factors", &aapl]);
    assert!(stderr.contains("AAPL"), "{stderr}");
    let (stdout, _) = db.ok(&query);
    let closes: Vec<f64> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert_eq!(closes.len(), 2, "{stdout}");
    assert!((closes[0] - 645.57 * 0.0357143).abs() < 1e-9, "{stdout}");
    assert!((closes[1] - 93.70 * 0.25).abs() < 1e-9, "{stdout}");
}
