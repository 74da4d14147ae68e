//! Black-box tests of the REST API: the real router on a random port over a temporary SQLite
//! database seeded with the bundled demo data (`testkit::spawn_app`).
//!
//! Expected values come from the raw files in `data/demo/` (read here, or counted with awk when
//! the number is written down).

use std::collections::BTreeSet;

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tradeassist_testkit::{AppOptions, Limits, TestApp, demo_data_dir, spawn_app, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// Helpers

/// All bars imported by the demo: 42032 daily equities + (10402 - 20 invalid) SPX/IBM/BAC/AIG
/// minutes + 5786 SPY minutes + 23948 ES minutes + 203 ES daily bars.
const DEMO_BARS: u64 = 42_032 + 10_382 + 5_786 + 23_948 + 203;

async fn send(req: RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.expect("request reaches the server");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"))
    };
    (status, body)
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    send(Client::new().get(app.api(path))).await
}

async fn post(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    send(Client::new().post(app.api(path)).json(body)).await
}

/// POST `fetch`, asserting 200, and return the response document.
async fn fetch(app: &TestApp, body: Value) -> Value {
    let (status, doc) = post(app, "fetch", &body).await;
    assert_eq!(status, StatusCode::OK, "fetch {body} -> {doc}");
    doc
}

/// Asserts the one error shape `{"error":{"code":string,"message":string,"details":object}}`
/// (no other keys) and returns the code.
fn assert_error_shape(body: &Value) -> String {
    let top = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        vec!["error"],
        "top-level keys of {body}"
    );
    let error = top["error"]
        .as_object()
        .unwrap_or_else(|| panic!("`error` is not an object: {body}"));
    let keys: BTreeSet<&str> = error.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["code", "details", "message"]),
        "keys of {body}"
    );
    let code = error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("code is not a string: {body}"));
    assert!(!code.is_empty(), "empty code: {body}");
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("message is not a string: {body}"));
    assert!(!message.trim().is_empty(), "empty message: {body}");
    assert!(
        error["details"].is_object(),
        "details is not an object: {body}"
    );
    code.to_string()
}

/// Everything a request could write: saved queries, source counters, instruments.
async fn stored_state(app: &TestApp) -> Value {
    let (s1, queries) = get(app, "queries").await;
    let (s2, sources) = get(app, "sources").await;
    let (s3, instruments) = get(app, "instruments").await;
    assert_eq!(
        (s1, s2, s3),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK)
    );
    json!({ "queries": queries, "sources": sources, "instruments": instruments })
}

/// Sends a request that must be refused: checks status, error shape and code, and that nothing
/// was written. Returns the error body.
async fn assert_refused(
    app: &TestApp,
    req: RequestBuilder,
    status: StatusCode,
    code: &str,
) -> Value {
    let before = stored_state(app).await;
    let (got, body) = send(req).await;
    assert_eq!(got, status, "status of refused request, body {body}");
    assert_eq!(assert_error_shape(&body), code, "code in {body}");
    assert_eq!(
        stored_state(app).await,
        before,
        "a refused request changed the store"
    );
    body
}

fn fetch_req(app: &TestApp, body: Value) -> RequestBuilder {
    Client::new().post(app.api("fetch")).json(&body)
}

fn series<'a>(doc: &'a Value, symbol: &str) -> &'a Value {
    doc["data"]
        .as_array()
        .expect("data array")
        .iter()
        .find(|s| s["symbol"] == symbol)
        .unwrap_or_else(|| panic!("no series {symbol} in {doc}"))
}

fn bars(series: &Value) -> &Vec<Value> {
    series["bars"].as_array().expect("bars array")
}

fn symbols_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|i| i["symbol"].as_str().expect("symbol").to_string())
        .collect()
}

/// One raw CSV row of a demo file: `ts` (as written), OHLCV.
#[derive(Debug, Clone, PartialEq)]
struct RawRow {
    ts: String,
    symbol: String,
    ohlcv: [f64; 5],
}

/// Rows of a demo file with a `date|ts_utc,symbol,open,high,low,close,volume` layout.
fn raw_rows(file: &str) -> Vec<RawRow> {
    let mut rdr = csv::Reader::from_path(demo_data_dir().join(file)).expect("demo file");
    rdr.records()
        .map(|r| {
            let r = r.expect("csv record");
            let num = |i: usize| r[i].parse::<f64>().expect("number");
            RawRow {
                ts: r[0].to_string(),
                symbol: r[1].to_string(),
                ohlcv: [num(2), num(3), num(4), num(5), num(6)],
            }
        })
        .collect()
}

/// The day a bar belongs to: its trading `date` when the response carries one, else the date
/// of its `ts`.
fn day_of(bar: &Value) -> String {
    match bar["date"].as_str() {
        Some(d) => d.to_string(),
        None => bar["ts"].as_str().expect("ts")[..10].to_string(),
    }
}

fn ts_of(bar: &Value) -> String {
    bar["ts"].as_str().expect("ts").to_string()
}

fn ohlcv(bar: &Value) -> [f64; 5] {
    ["open", "high", "low", "close", "volume"].map(|k| {
        bar[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} is not a number in {bar}"))
    })
}

/// Assert that bars equal raw rows: `key` of each bar (its day or its ts) equals the row's
/// time column, prices and volume are exact.
fn assert_bars_equal_rows(bars: &[Value], rows: &[RawRow], key: impl Fn(&Value) -> String) {
    assert_eq!(bars.len(), rows.len(), "bar count");
    for (bar, row) in bars.iter().zip(rows) {
        assert_eq!(key(bar), row.ts, "time of {bar} vs {row:?}");
        assert_eq!(ohlcv(bar), row.ohlcv, "values of {bar} vs {row:?}");
    }
}

fn save_body(name: &str, parameters: Value) -> Value {
    json!({ "name": name, "description": "", "parameters": parameters })
}

fn aapl_2013() -> Value {
    json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-12-31"})
}

// ---------------------------------------------------------------------------------------------
// Start page, fetch

#[tokio::test]
async fn start_page_lists_the_demo_instruments() {
    let app = spawn_app().await;
    let resp = Client::new().get(app.at("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "content type {ct}");
    let html = resp.text().await.unwrap();
    for symbol in ["AAPL", "ESZ13", "SPY", "SPX", "IBM"] {
        assert!(
            html.contains(&format!("<td>{symbol}</td>")),
            "{symbol} missing from the start page"
        );
    }
    assert!(html.contains("/api/docs/"), "link to the API docs");
}

#[tokio::test]
async fn fetch_aapl_daily_2013_returns_the_raw_rows_of_the_file() {
    let app = spawn_app().await;
    let doc = fetch(&app, aapl_2013()).await;
    let rows: Vec<RawRow> = raw_rows("us_equity_daily_lean_sample.csv")
        .into_iter()
        .filter(|r| {
            r.symbol == "AAPL" && r.ts.as_str() >= "2013-01-01" && r.ts.as_str() <= "2013-12-31"
        })
        .collect();
    assert_eq!(rows.len(), 252, "trading days of 2013 in the file");

    let s = series(&doc, "AAPL");
    let got = bars(s);
    assert_eq!(got.len(), 252);
    assert_eq!(s["count"], 252);
    assert_eq!(doc["metadata"]["total_bars"], 252);
    assert_eq!(s["frequency"], "1d");
    assert_eq!(s["base_frequency"], "1d");
    assert_eq!(s["asset_class"], "stock");
    assert_eq!(s["timezone"], "America/New_York");
    // First and last bar, spelled out: 2013-01-02 and 2013-12-31 of the vendor file.
    assert_eq!(day_of(&got[0]), "2013-01-02");
    assert_eq!(ohlcv(&got[0]), [554.0, 555.0, 541.65, 549.03, 18_991_235.0]);
    assert_eq!(day_of(&got[251]), "2013-12-31");
    assert_eq!(
        ohlcv(&got[251]),
        [554.17, 561.28, 554.0, 561.11, 7_737_963.0]
    );
    // And every bar in between.
    assert_bars_equal_rows(got, &rows, day_of);
}

#[tokio::test]
async fn fetch_several_symbols_keeps_request_order_and_merges_duplicates() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["IBM", "aapl", "AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-12-31"}),
    )
    .await;
    let order: Vec<&str> = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["IBM", "AAPL"]);
    let raw = raw_rows("us_equity_daily_lean_sample.csv");
    for symbol in ["IBM", "AAPL"] {
        let rows: Vec<RawRow> = raw
            .iter()
            .filter(|r| {
                r.symbol == symbol && r.ts.as_str() >= "2013-01-01" && r.ts.as_str() <= "2013-12-31"
            })
            .cloned()
            .collect();
        assert_eq!(rows.len(), 252);
        assert_bars_equal_rows(bars(series(&doc, symbol)), &rows, day_of);
    }
    assert_eq!(doc["metadata"]["total_bars"], 504);
}

#[tokio::test]
async fn fetch_spy_minutes_with_rfc3339_bounds_excludes_the_end_instant() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["SPY"], "frequency": "1m", "start": "2013-10-07T13:30:00Z", "end": "2013-10-07T14:00:00Z"}),
    )
    .await;
    let raw = raw_rows("spy_1m_lean_sample.csv");
    assert!(
        raw.iter().any(|r| r.ts == "2013-10-07T14:00:00Z"),
        "the file has a bar at the (exclusive) end instant"
    );
    let rows: Vec<RawRow> = raw
        .into_iter()
        .filter(|r| {
            r.ts.as_str() >= "2013-10-07T13:30:00Z" && r.ts.as_str() < "2013-10-07T14:00:00Z"
        })
        .collect();
    assert_eq!(rows.len(), 30);
    let s = series(&doc, "SPY");
    assert_eq!(s["base_frequency"], "1m");
    assert_eq!(s["start"], "2013-10-07T13:30:00Z");
    assert_eq!(s["end"], "2013-10-07T14:00:00Z");
    let got = bars(s);
    assert_eq!(got.first().unwrap()["ts"], "2013-10-07T13:30:00Z");
    assert_eq!(got.last().unwrap()["ts"], "2013-10-07T13:59:00Z");
    assert_bars_equal_rows(got, &rows, ts_of);
}

#[tokio::test]
async fn fetch_minutes_by_date_covers_the_trading_day() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["SPY"], "frequency": "1m", "start": "2013-10-07", "end": "2013-10-07"}),
    )
    .await;
    let s = series(&doc, "SPY");
    // Regular hours of 2013-10-07, 09:30-16:00 New York (EDT).
    assert_eq!(s["start"], "2013-10-07T13:30:00Z");
    assert_eq!(s["end"], "2013-10-07T20:00:00Z");
    let rows: Vec<RawRow> = raw_rows("spy_1m_lean_sample.csv")
        .into_iter()
        .filter(|r| {
            r.ts.as_str() >= "2013-10-07T13:30:00Z" && r.ts.as_str() < "2013-10-07T20:00:00Z"
        })
        .collect();
    assert_eq!(rows.len(), 390);
    assert_bars_equal_rows(bars(s), &rows, ts_of);
}

#[tokio::test]
async fn preset_last_10_bars_counts_back_from_as_of() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["AAPL"], "frequency": "1d", "preset": "last_10_bars", "as_of": "2013-12-31"}),
    )
    .await;
    let rows: Vec<RawRow> = raw_rows("us_equity_daily_lean_sample.csv")
        .into_iter()
        .filter(|r| r.symbol == "AAPL" && r.ts.as_str() <= "2013-12-31")
        .collect();
    let last10 = &rows[rows.len() - 10..];
    assert_eq!(last10[0].ts, "2013-12-17");
    let got = bars(series(&doc, "AAPL"));
    assert_eq!(got.len(), 10);
    assert_bars_equal_rows(got, last10, day_of);

    // An RFC 3339 as_of counts back from that instant (bars starting at or before it).
    let doc = fetch(
        &app,
        json!({"symbols": ["AAPL"], "frequency": "1d", "preset": "last_3_bars", "as_of": "2013-01-03T23:00:00Z"}),
    )
    .await;
    let days: Vec<String> = bars(series(&doc, "AAPL")).iter().map(day_of).collect();
    assert_eq!(days, ["2012-12-31", "2013-01-02", "2013-01-03"]);
}

#[tokio::test]
async fn preset_ytd_runs_from_january_first_to_as_of() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["AAPL"], "frequency": "1d", "preset": "ytd", "as_of": "2013-06-30"}),
    )
    .await;
    let rows: Vec<RawRow> = raw_rows("us_equity_daily_lean_sample.csv")
        .into_iter()
        .filter(|r| {
            r.symbol == "AAPL" && r.ts.as_str() >= "2013-01-01" && r.ts.as_str() <= "2013-06-30"
        })
        .collect();
    assert_eq!(rows.len(), 124);
    let got = bars(series(&doc, "AAPL"));
    assert_eq!(day_of(got.first().unwrap()), "2013-01-02");
    assert_eq!(day_of(got.last().unwrap()), "2013-06-28");
    assert_bars_equal_rows(got, &rows, day_of);
}

/// An `as_of` date names a whole day, like an `end` date: `last_1_days` as of a date must cover
/// the same bars as `start` = `end` = that date. For an intraday series that is the trading day
/// of the exchange (ES: Globex day 2013-10-07 runs 2013-10-06T22:00Z..2013-10-07T21:15Z), not
/// the UTC calendar day.
#[tokio::test]
async fn preset_as_of_date_covers_the_whole_exchange_day_of_an_intraday_series() {
    let app = spawn_app().await;
    let by_dates = fetch(
        &app,
        json!({"symbols": ["ESZ13"], "frequency": "1m", "start": "2013-10-07", "end": "2013-10-07"}),
    )
    .await;
    let by_preset = fetch(
        &app,
        json!({"symbols": ["ESZ13"], "frequency": "1m", "preset": "last_1_days", "as_of": "2013-10-07"}),
    )
    .await;
    // awk: ESZ13 (201312) minutes in [2013-10-06T22:00Z, 2013-10-07T21:15Z) = 1348.
    let dates = series(&by_dates, "ESZ13");
    assert_eq!(dates["count"], 1348);
    let preset = series(&by_preset, "ESZ13");
    assert_eq!(
        (&preset["start"], &preset["end"], &preset["count"]),
        (&dates["start"], &dates["end"], &dates["count"]),
        "last_1_days as of 2013-10-07 should equal start=end=2013-10-07"
    );
}

#[tokio::test]
async fn futures_daily_bars_carry_open_interest() {
    let app = spawn_app().await;
    let doc = fetch(
        &app,
        json!({"symbols": ["ESZ13"], "frequency": "1d", "start": "2013-10-01", "end": "2013-10-08"}),
    )
    .await;
    let s = series(&doc, "ESZ13");
    assert_eq!(s["asset_class"], "future");
    assert_eq!(s["timezone"], "America/Chicago");
    let got: Vec<(String, [f64; 5], f64)> = bars(s)
        .iter()
        .map(|b| {
            (
                day_of(b),
                ohlcv(b),
                b["open_interest"].as_f64().expect("open_interest"),
            )
        })
        .collect();
    // es_daily_long.csv, contract_month 201312: the vendor's short Sunday-evening bar
    // (2013-10-06: 1676.75 1678.25 1673.25 1676.5, volume 21573, OI 2691941) belongs to the
    // Globex trading day 2013-10-07 (1669 1679.5 1667 1668, volume 1374818, OI 2674467);
    // 2013-10-08 is a bar of its own. Open interest is the last reading of the day.
    assert_eq!(
        got,
        [
            (
                "2013-10-07".to_string(),
                [1676.75, 1679.5, 1667.0, 1668.0, 21_573.0 + 1_374_818.0],
                2_674_467.0
            ),
            (
                "2013-10-08".to_string(),
                [1669.0, 1671.25, 1646.5, 1646.5, 2_109_007.0],
                2_692_235.0
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Frequencies, sources, instruments

#[tokio::test]
async fn frequencies_lists_the_standard_set_and_the_custom_grammar() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "frequencies").await;
    assert_eq!(status, StatusCode::OK);
    let data = doc["data"].as_array().unwrap();
    let names: Vec<&str> = data.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "1m", "5m", "10m", "15m", "30m", "1h", "2h", "4h", "1d", "2d", "1w", "1M"
        ]
    );
    let by_name = |n: &str| data.iter().find(|f| f["name"] == n).unwrap();
    assert_eq!(by_name("1m")["seconds"], 60);
    assert_eq!(by_name("1m")["label"], "1 minute");
    assert_eq!(by_name("5m")["seconds"], 300);
    assert_eq!(by_name("1h")["seconds"], 3_600);
    assert_eq!(by_name("1d")["seconds"], 86_400);
    assert_eq!(by_name("1d")["label"], "1 day");
    assert_eq!(by_name("1w")["seconds"], 604_800);
    assert_eq!(
        by_name("1M")["seconds"],
        Value::Null,
        "months have no fixed length"
    );
    for f in data {
        assert!(f["label"].as_str().is_some_and(|l| !l.is_empty()), "{f}");
    }
    assert_eq!(doc["custom"], "N{s,m,h,d,w,M}");
}

#[tokio::test]
async fn sources_report_the_file_import_and_schwab() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "sources").await;
    assert_eq!(status, StatusCode::OK);
    let data = doc["data"].as_array().unwrap();
    let names: BTreeSet<&str> = data.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["file", "schwab"]));
    let file = data.iter().find(|s| s["name"] == "file").unwrap();
    assert_eq!(file["bars_ingested"], DEMO_BARS);
    assert!(file["last_success_at"].is_string(), "{file}");
    assert_eq!(file["last_error"], Value::Null);
    let schwab = data.iter().find(|s| s["name"] == "schwab").unwrap();
    assert_eq!(schwab["bars_ingested"], 0);
    for s in data {
        assert!(
            s["enabled"].is_boolean() && s["circuit_state"].is_string(),
            "{s}"
        );
    }
}

#[tokio::test]
async fn instruments_search_by_symbol_prefix_and_description_text() {
    let app = spawn_app().await;
    let (status, doc) = get(&app, "instruments?search=AA").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(symbols_of(&doc), ["AAPL"]);
    let (_, lower) = get(&app, "instruments?search=aa").await;
    assert_eq!(symbols_of(&lower), ["AAPL"], "search is case-insensitive");

    let (_, es) = get(&app, "instruments?search=ESZ").await;
    assert_eq!(symbols_of(&es), ["ESZ13", "ESZ14", "ESZ20"]);

    let (_, emerging) = get(&app, "instruments?search=emerging").await;
    assert_eq!(symbols_of(&emerging), ["EEM"]);
    let (_, apple) = get(&app, "instruments?search=Apple").await;
    assert_eq!(symbols_of(&apple), ["AAPL"]);
    assert_eq!(apple["data"][0]["description"], "Apple Inc.");

    let (_, none) = get(&app, "instruments?search=NOSUCHTHING").await;
    assert_eq!(symbols_of(&none), Vec::<String>::new());
}

#[tokio::test]
async fn instruments_filter_by_asset_class_and_limit() {
    let app = spawn_app().await;
    let (_, index) = get(&app, "instruments?asset_class=index").await;
    assert_eq!(symbols_of(&index), ["SPX"]);

    let (_, futures) = get(&app, "instruments?asset_class=future").await;
    let futures: BTreeSet<String> = symbols_of(&futures).into_iter().collect();
    // Contract months of es_minute_long.csv.gz and es_daily_long.csv (ESZ20 and ESH21 carry
    // open interest only).
    let expected: BTreeSet<String> = [
        "ESZ13", "ESH14", "ESM14", "ESU14", "ESZ14", "ESH20", "ESM20", "ESU20", "ESZ20", "ESH21",
    ]
    .map(String::from)
    .into();
    assert_eq!(futures, expected);

    let (_, stocks) = get(&app, "instruments?asset_class=stock").await;
    let stocks: BTreeSet<String> = symbols_of(&stocks).into_iter().collect();
    let expected: BTreeSet<String> = [
        "AAPL", "AIG", "BAC", "EEM", "GOOG", "IBM", "IWM", "QQQ", "SPY",
    ]
    .map(String::from)
    .into();
    assert_eq!(stocks, expected);

    let (_, all) = get(&app, "instruments").await;
    assert_eq!(symbols_of(&all).len(), 20);
    let (_, two) = get(&app, "instruments?limit=2").await;
    assert_eq!(symbols_of(&two).len(), 2);
    let (_, es_two) = get(&app, "instruments?asset_class=future&search=ES&limit=3").await;
    let es_two = symbols_of(&es_two);
    assert_eq!(es_two.len(), 3);
    assert!(es_two.iter().all(|s| s.starts_with("ES")), "{es_two:?}");
}

#[tokio::test]
async fn instrument_detail_shows_its_stored_series() {
    let app = spawn_app().await;
    let (status, aapl) = get(&app, "instruments/AAPL").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(aapl["symbol"], "AAPL");
    assert_eq!(aapl["asset_class"], "stock");
    assert_eq!(
        aapl["series"],
        json!([{"frequency": "1d", "first": "1998-01-02T00:00:00Z", "last": "2021-03-31T00:00:00Z", "count": 5849}])
    );

    let (status, es) = get(&app, "instruments/ESZ13").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(es["asset_class"], "future");
    assert_eq!(es["contract"]["root"], "ES");
    assert_eq!(es["contract"]["month"], "2013-12");
    assert_eq!(es["contract"]["last_trade_date"], "2013-12-20");
    let series = es["series"].as_array().unwrap();
    let of = |f: &str| series.iter().find(|s| s["frequency"] == f).cloned();
    assert_eq!(series.len(), 2, "{series:?}");
    assert_eq!(
        of("1m"),
        Some(
            json!({"frequency": "1m", "first": "2013-10-06T22:00:00Z", "last": "2013-12-20T14:29:00Z", "count": 16673})
        )
    );
    assert_eq!(
        of("1d"),
        Some(
            json!({"frequency": "1d", "first": "2013-10-06T00:00:00Z", "last": "2013-12-20T00:00:00Z", "count": 61})
        )
    );

    let (status, spy) = get(&app, "instruments/spy").await;
    assert_eq!(status, StatusCode::OK, "symbols are case-insensitive");
    assert_eq!(spy["series"][0]["count"], 5786);

    let (status, body) = get(&app, "instruments/NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(assert_error_shape(&body), "unknown_symbol");
}

// ---------------------------------------------------------------------------------------------
// Saved queries

#[tokio::test]
async fn saved_query_lifecycle_save_load_list_update_run_delete() {
    let app = spawn_app().await;
    let client = Client::new();

    // Save.
    let (status, saved) = post(
        &app,
        "queries/save",
        &json!({"name": "AAPL 2013", "description": "daily bars of a year", "parameters": aapl_2013()}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = saved["id"].as_i64().expect("id");
    assert_eq!(saved["name"], "AAPL 2013");
    assert_eq!(saved["description"], "daily bars of a year");
    assert_eq!(saved["parameters"], aapl_2013());
    assert_eq!(saved["last_run_at"], Value::Null);
    assert!(saved["created_at"].is_string() && saved["updated_at"].is_string());

    // Load.
    let (status, loaded) = get(&app, &format!("queries/load/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(loaded, saved);

    // List and search.
    let (_, other) = post(
        &app,
        "queries/save",
        &save_body("SPY open", json!({"symbols": ["SPY"], "frequency": "1m", "start": "2013-10-07T13:30:00Z", "end": "2013-10-07T14:00:00Z"})),
    )
    .await;
    let other_id = other["id"].as_i64().unwrap();
    let names = |doc: &Value| -> Vec<String> {
        doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, list) = get(&app, "queries").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&list), ["AAPL 2013", "SPY open"]);
    let (_, found) = get(&app, "queries?search=spy").await;
    assert_eq!(names(&found), ["SPY open"]);
    let (_, by_description) = get(&app, "queries?search=YEAR").await;
    assert_eq!(names(&by_description), ["AAPL 2013"]);

    // Update.
    let new_params = json!({"symbols": ["IBM"], "frequency": "1d", "preset": "last_5_bars", "as_of": "2013-12-31"});
    let (status, updated) =
        send(client.put(app.api(&format!("queries/{id}"))).json(
            &json!({"name": "IBM tail", "description": "five bars", "parameters": new_params}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], id);
    assert_eq!(updated["name"], "IBM tail");
    assert_eq!(updated["description"], "five bars");
    assert_eq!(updated["parameters"], new_params);
    assert_eq!(updated["created_at"], saved["created_at"]);
    let (_, loaded) = get(&app, &format!("queries/load/{id}")).await;
    assert_eq!(loaded, updated);
    // Keeping its own name is not a conflict.
    let (status, same) =
        send(client.put(app.api(&format!("queries/{id}"))).json(
            &json!({"name": "IBM tail", "description": "five bars", "parameters": new_params}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");

    // Run: returns the bars and records the run.
    let (status, run) = send(client.post(app.api(&format!("queries/{id}/run")))).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let ibm = series(&run, "IBM");
    let days: Vec<String> = bars(ibm).iter().map(day_of).collect();
    assert_eq!(
        days,
        [
            "2013-12-24",
            "2013-12-26",
            "2013-12-27",
            "2013-12-30",
            "2013-12-31"
        ]
    );
    assert_eq!(run["metadata"]["total_bars"], 5);
    let (_, loaded) = get(&app, &format!("queries/load/{id}")).await;
    assert!(
        loaded["last_run_at"].is_string(),
        "run sets last_run_at: {loaded}"
    );
    let (_, untouched) = get(&app, &format!("queries/load/{other_id}")).await;
    assert_eq!(untouched["last_run_at"], Value::Null);

    // Delete.
    let resp = client
        .delete(app.api(&format!("queries/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.bytes().await.unwrap().is_empty());
    let (status, body) = get(&app, &format!("queries/load/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(assert_error_shape(&body), "not_found");
    let (_, list) = get(&app, "queries").await;
    assert_eq!(names(&list), ["SPY open"]);
    let (status, body) = send(client.delete(app.api(&format!("queries/{id}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting twice");
    assert_eq!(assert_error_shape(&body), "not_found");
}

#[tokio::test]
async fn running_a_saved_query_that_fails_does_not_record_a_run() {
    let app = spawn_app().await;
    // Parameters are checked for form when saved; the symbol is looked up when run.
    let (status, saved) = post(
        &app,
        "queries/save",
        &save_body(
            "ghost",
            json!({"symbols": ["NOPE"], "frequency": "1d", "start": "2013-01-01"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = saved["id"].as_i64().unwrap();
    let body = assert_refused(
        &app,
        Client::new().post(app.api(&format!("queries/{id}/run"))),
        StatusCode::NOT_FOUND,
        "unknown_symbol",
    )
    .await;
    assert_eq!(body["error"]["details"]["symbols"], json!(["NOPE"]));
    let (_, loaded) = get(&app, &format!("queries/load/{id}")).await;
    assert_eq!(loaded["last_run_at"], Value::Null);
}

#[tokio::test]
async fn saving_a_taken_name_conflicts_and_writes_nothing() {
    let app = spawn_app().await;
    let (status, _) = post(&app, "queries/save", &save_body("mine", aapl_2013())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, other) = post(&app, "queries/save", &save_body("other", aapl_2013())).await;
    assert_eq!(status, StatusCode::CREATED);

    let client = Client::new();
    assert_refused(
        &app,
        client
            .post(app.api("queries/save"))
            .json(&save_body("mine", aapl_2013())),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // Renaming another query to a taken name conflicts too.
    let other_id = other["id"].as_i64().unwrap();
    assert_refused(
        &app,
        client
            .put(app.api(&format!("queries/{other_id}")))
            .json(&save_body("mine", aapl_2013())),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn unknown_saved_query_ids_are_404() {
    let app = spawn_app().await;
    let client = Client::new();
    for req in [
        client.get(app.api("queries/load/999")),
        client
            .put(app.api("queries/999"))
            .json(&save_body("x", aapl_2013())),
        client.delete(app.api("queries/999")),
        client.post(app.api("queries/999/run")),
    ] {
        assert_refused(&app, req, StatusCode::NOT_FOUND, "not_found").await;
    }
}

// ---------------------------------------------------------------------------------------------
// Health, OpenAPI, docs

#[tokio::test]
async fn health_checks_answer() {
    let app = spawn_app().await;
    let (status, live) = send(Client::new().get(app.at("/health/live"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(live["status"], "ok");
    let (status, ready) = send(Client::new().get(app.at("/health/ready"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["store"], "sqlite");
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let (status, doc) = send(Client::new().get(app.at("/api/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{}",
        doc["openapi"]
    );
    let p = "/api/v1/historical-data";
    let expected = [
        (format!("{p}/fetch"), "post"),
        (format!("{p}/frequencies"), "get"),
        (format!("{p}/sources"), "get"),
        (format!("{p}/instruments"), "get"),
        (format!("{p}/instruments/{{symbol}}"), "get"),
        (format!("{p}/queries/save"), "post"),
        (format!("{p}/queries/load/{{id}}"), "get"),
        (format!("{p}/queries"), "get"),
        (format!("{p}/queries/{{id}}"), "put"),
        (format!("{p}/queries/{{id}}"), "delete"),
        (format!("{p}/queries/{{id}}/run"), "post"),
        ("/health/live".to_string(), "get"),
        ("/health/ready".to_string(), "get"),
    ];
    for (path, method) in &expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from /api/openapi.json"
        );
    }
    for schema in ["ErrorBody", "FetchRequestDto", "FetchResponse", "BarDto"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    // The served document is the one built in code (the snapshot test pins that one).
    use utoipa::OpenApi;
    let built = serde_json::to_value(tradeassist_server::api::ApiDoc::openapi()).unwrap();
    assert_eq!(doc, built);
}

#[tokio::test]
async fn docs_page_is_served_from_vendored_assets() {
    let app = spawn_app().await;
    let client = Client::new();
    let resp = client.get(app.at("/api/docs/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "content type {ct}");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("swagger-ui"),
        "not the Swagger UI page: {html}"
    );
    let lower = html.to_ascii_lowercase();
    for cdn in ["unpkg", "cdn", "http://", "https://"] {
        assert!(!lower.contains(cdn), "docs page references `{cdn}`: {html}");
    }
    // The scripts it loads are served by us.
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        let resp = client
            .get(app.at(&format!("/api/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
        let body = resp.text().await.unwrap();
        assert!(!body.is_empty(), "{asset} is empty");
        if asset == "swagger-initializer.js" {
            assert!(body.contains("/api/openapi.json"), "{body}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invalid input: 4xx, the error shape, nothing written

#[tokio::test]
async fn unknown_symbol_is_404() {
    let app = spawn_app().await;
    let body = assert_refused(
        &app,
        fetch_req(
            &app,
            json!({"symbols": ["AAPL", "NOPE"], "frequency": "1d", "start": "2013-01-01"}),
        ),
        StatusCode::NOT_FOUND,
        "unknown_symbol",
    )
    .await;
    assert_eq!(body["error"]["details"]["symbols"], json!(["NOPE"]));
}

#[tokio::test]
async fn end_before_start_is_422() {
    let app = spawn_app().await;
    for (start, end) in [
        ("2013-12-31", "2013-01-01"),
        ("2013-01-02", "2013-01-01"),
        ("2013-10-07T14:00:00Z", "2013-10-07T13:00:00Z"),
        ("2013-10-07T14:00:00Z", "2013-10-07T14:00:00Z"),
    ] {
        let body = assert_refused(
            &app,
            fetch_req(
                &app,
                json!({"symbols": ["AAPL"], "frequency": "1d", "start": start, "end": end}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        )
        .await;
        assert_eq!(body["error"]["details"]["field"], "end", "{start}..{end}");
    }
}

#[tokio::test]
async fn unknown_frequency_is_422() {
    let app = spawn_app().await;
    let body = assert_refused(
        &app,
        fetch_req(
            &app,
            json!({"symbols": ["AAPL"], "frequency": "7x", "start": "2013-01-01"}),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "frequency");
    assert!(body["error"]["message"].as_str().unwrap().contains("7x"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let client = Client::new();
    let cases = [
        ("fetch", r#"{]"#),
        ("fetch", ""),
        ("fetch", r#"{"symbols": ["AAPL"], "frequency": "#),
        ("fetch", r#"{"symbols": ["AAPL"] "frequency": "1d"}"#),
        ("queries/save", r#"{]"#),
        ("queries/save", ""),
        (
            "queries/save",
            r#"{"name": "q", "parameters": {"symbols": ["AAPL"]"#,
        ),
        ("queries/save", r#"{"name": "q" "parameters": {}}"#),
    ];
    for (path, body) in cases {
        assert_refused(
            &app,
            client
                .post(app.api(path))
                .header("content-type", "application/json")
                .body(body),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        )
        .await;
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app().await;
    let client = Client::new();
    let limit = AppOptions::default().max_body_bytes;
    assert_eq!(limit, 64 * 1024);
    // A valid fetch padded with whitespace to `len` bytes.
    let padded = |len: usize| {
        let json = aapl_2013().to_string();
        format!("{json}{}", " ".repeat(len - json.len()))
    };
    for path in ["fetch", "queries/save"] {
        assert_refused(
            &app,
            client
                .post(app.api(path))
                .header("content-type", "application/json")
                .body(padded(limit + 1)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;
    }
    let mut big_save = save_body("big", aapl_2013()).to_string();
    big_save.push_str(&" ".repeat(100 * 1024));
    assert_refused(
        &app,
        client
            .post(app.api("queries/save"))
            .header("content-type", "application/json")
            .body(big_save),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Exactly at the limit is accepted.
    let (status, doc) = send(
        client
            .post(app.api("fetch"))
            .header("content-type", "application/json")
            .body(padded(limit)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["metadata"]["total_bars"], 252);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let client = Client::new();
    for path in ["fetch", "queries/save"] {
        assert_refused(
            &app,
            client
                .post(app.api(path))
                .header("content-type", "text/plain")
                .body(save_body("q", aapl_2013()).to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        assert_refused(
            &app,
            client
                .post(app.api(path))
                .body(save_body("q", aapl_2013()).to_string()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // A charset parameter is fine.
    let (status, doc) = send(
        client
            .post(app.api("fetch"))
            .header("content-type", "application/json; charset=utf-8")
            .body(aapl_2013().to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
}

#[tokio::test]
async fn unknown_json_field_is_422() {
    let app = spawn_app().await;
    let mut body = aapl_2013();
    body["bogus"] = json!(1);
    let refused = assert_refused(
        &app,
        fetch_req(&app, body.clone()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bogus")
    );
    // In saved-query parameters and at the top level of a save.
    let client = Client::new();
    assert_refused(
        &app,
        client
            .post(app.api("queries/save"))
            .json(&save_body("q", body)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    let mut save = save_body("q", aapl_2013());
    save["owner"] = json!("me");
    assert_refused(
        &app,
        client.post(app.api("queries/save")).json(&save),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn empty_symbols_is_422() {
    let app = spawn_app().await;
    for symbols in [json!([]), json!([""]), json!(["AAPL", "  "])] {
        let body = assert_refused(
            &app,
            fetch_req(
                &app,
                json!({"symbols": symbols, "frequency": "1d", "start": "2013-01-01"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        )
        .await;
        assert_eq!(body["error"]["details"]["field"], "symbols", "{symbols}");
    }
}

#[tokio::test]
async fn too_many_symbols_is_422() {
    let app = spawn_app_with(AppOptions {
        demo: true,
        limits: Limits {
            max_symbols: 2,
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let body = assert_refused(
        &app,
        fetch_req(&app, json!({"symbols": ["AAPL", "IBM", "BAC"], "frequency": "1d", "start": "2013-01-01", "end": "2013-01-31"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "symbols");
    // At the limit (duplicates count once) is fine.
    let doc = fetch(
        &app,
        json!({"symbols": ["AAPL", "IBM", "aapl"], "frequency": "1d", "start": "2013-01-01", "end": "2013-01-31"}),
    )
    .await;
    assert_eq!(doc["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn result_beyond_max_bars_per_response_is_422() {
    let app = spawn_app_with(AppOptions {
        demo: true,
        limits: Limits {
            max_bars_per_response: 100,
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    assert_refused(
        &app,
        fetch_req(&app, aapl_2013()),
        StatusCode::UNPROCESSABLE_ENTITY,
        "result_too_large",
    )
    .await;
    // The limit holds over all symbols of a request: 2 x 60 > 100.
    assert_refused(
        &app,
        fetch_req(
            &app,
            json!({"symbols": ["AAPL", "IBM"], "frequency": "1d", "preset": "last_60_bars", "as_of": "2013-12-31"}),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "result_too_large",
    )
    .await;
    // Exactly the limit is served.
    let doc = fetch(
        &app,
        json!({"symbols": ["AAPL", "IBM"], "frequency": "1d", "preset": "last_50_bars", "as_of": "2013-12-31"}),
    )
    .await;
    assert_eq!(doc["metadata"]["total_bars"], 100);
}

#[tokio::test]
async fn bad_path_id_is_400() {
    let app = spawn_app().await;
    let client = Client::new();
    for req in [
        client.get(app.api("queries/load/abc")),
        client.delete(app.api("queries/abc")),
        client.post(app.api("queries/abc/run")),
        client
            .put(app.api("queries/abc"))
            .json(&save_body("x", aapl_2013())),
    ] {
        assert_refused(&app, req, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test]
async fn bad_query_param_is_400() {
    let app = spawn_app().await;
    let client = Client::new();
    for path in [
        "instruments?asset_class=bond",
        "instruments?limit=abc",
        "instruments?color=red",
        "queries?color=red",
    ] {
        assert_refused(
            &app,
            client.get(app.api(path)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    // Well-formed but out of range: 422 naming the parameter.
    let body = assert_refused(
        &app,
        client.get(app.api("instruments?limit=0")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "limit");
}

#[tokio::test]
async fn saving_invalid_parameters_is_422_and_saves_nothing() {
    let app = spawn_app().await;
    let client = Client::new();
    let cases = [
        save_body(
            "freq",
            json!({"symbols": ["AAPL"], "frequency": "7x", "start": "2013-01-01"}),
        ),
        save_body(
            "order",
            json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-12-31", "end": "2013-01-01"}),
        ),
        save_body(
            "empty",
            json!({"symbols": [], "frequency": "1d", "start": "2013-01-01"}),
        ),
        save_body("nostart", json!({"symbols": ["AAPL"], "frequency": "1d"})),
        save_body(
            "preset",
            json!({"symbols": ["AAPL"], "frequency": "1d", "preset": "last_week"}),
        ),
        save_body(
            "both",
            json!({"symbols": ["AAPL"], "frequency": "1d", "preset": "ytd", "start": "2013-01-01"}),
        ),
        save_body("   ", aapl_2013()),
    ];
    for body in cases {
        assert_refused(
            &app,
            client.post(app.api("queries/save")).json(&body),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        )
        .await;
    }
    let (_, list) = get(&app, "queries").await;
    assert_eq!(list["data"], json!([]));

    // Updating a saved query with invalid parameters leaves it as it was.
    let (status, saved) = post(&app, "queries/save", &save_body("good", aapl_2013())).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = saved["id"].as_i64().unwrap();
    assert_refused(
        &app,
        client
            .put(app.api(&format!("queries/{id}")))
            .json(&save_body(
                "good",
                json!({"symbols": ["AAPL"], "frequency": "7x", "start": "2013-01-01"}),
            )),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
    )
    .await;
    let (_, loaded) = get(&app, &format!("queries/load/{id}")).await;
    assert_eq!(loaded, saved);
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let app = spawn_app().await;
    let client = Client::new();
    for url in [
        app.at("/nope"),
        app.api("nope"),
        app.at("/api/v2/historical-data/fetch"),
    ] {
        assert_refused(&app, client.get(&url), StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let app = spawn_app().await;
    let client = Client::new();
    for req in [
        client.put(app.api("fetch")),
        client.delete(app.api("instruments")),
        client.post(app.at("/health/live")),
        client.get(app.api("queries/save")),
        client.get(app.api("queries/1")),
    ] {
        assert_refused(
            &app,
            req,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
}
