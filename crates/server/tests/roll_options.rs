//! The roll options zipline has (contract-month filter, volume grace window, skip to the most
//! active contract) through HTTP and the CLI, on a synthetic crude-oil series built so that
//! each option changes the roll table in a known way:
//!
//! - CLK17 (last trade 2017-04-20) trades 1,000 a day, CLM17 100, CLN17 50 until 2017-04-05
//!   and 5,000 from 2017-04-06 on; the data ends 2017-04-13, before CLK17 expires.
//! - One contract at a time, CLM17 never out-trades CLK17: no roll.
//! - Skipping to the most active, CLN17 leads from the 2017-04-06 session: with an unlimited
//!   grace window the series rolls CLK17 -> CLN17 at the next session (2017-04-07); with the
//!   default window (7 sessions before the last trade date) the crossover is ignored until the
//!   window opens, so the roll comes later.
//! - Rolling only through K and N months (`months=KN`), CLN17 is the next contract.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tradeassist_model::AssetClass;
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::ImportFile;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

const DAYS: [&str; 13] = [
    "2017-03-27",
    "2017-03-28",
    "2017-03-29",
    "2017-03-30",
    "2017-03-31",
    "2017-04-03",
    "2017-04-04",
    "2017-04-05",
    "2017-04-06",
    "2017-04-07",
    "2017-04-10",
    "2017-04-11",
    "2017-04-12",
];

fn csv() -> String {
    let mut s = String::from("date,contract_month,expiry,open,high,low,close,volume\n");
    for day in DAYS {
        for (month, expiry, price, volume) in [
            ("201705", "2017-04-20", 50.0, 1000),
            ("201706", "2017-05-22", 50.5, 100),
            (
                "201707",
                "2017-06-20",
                51.0,
                if day >= "2017-04-06" { 5000 } else { 50 },
            ),
        ] {
            s.push_str(&format!(
                "{day},{month},{expiry},{price},{},{},{price},{volume}\n",
                price + 0.5,
                price - 0.5
            ));
        }
    }
    s
}

async fn app() -> TestApp {
    let app = spawn_app_with(AppOptions::default()).await;
    let file = ImportFile {
        name: "cl.csv".into(),
        reader: Box::new(std::io::Cursor::new(csv().into_bytes())),
        options: CsvOptions {
            symbol: Some("CL".into()),
            asset_class: Some(AssetClass::Future),
            ..Default::default()
        },
    };
    app.service.import(vec![file]).await.expect("import");
    app
}

/// The roll table of `CL.v.0` fetched with `extra` options.
async fn rolls(app: &TestApp, extra: Value) -> Vec<Value> {
    let mut body = json!({"symbols": ["CL.v.0"], "frequency": "1d", "start": "2017-03-28", "end": "2017-04-12"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = reqwest::Client::new()
        .post(app.api("fetch"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let out: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}: {out}");
    out["data"][0]["rolls"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn summary(rolls: &[Value]) -> Vec<(String, String, String)> {
    rolls
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap().to_string(),
                r["from"].as_str().unwrap().to_string(),
                r["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn one_contract_at_a_time_never_rolls_here() {
    let app = app().await;
    assert!(rolls(&app, json!({})).await.is_empty());
    assert!(rolls(&app, json!({"grace_sessions": 250})).await.is_empty());
}

#[tokio::test]
async fn skip_to_most_active_rolls_straight_to_cln17() {
    let app = app().await;
    let got = rolls(
        &app,
        json!({"skip_to_most_active": true, "grace_sessions": 250}),
    )
    .await;
    assert_eq!(
        summary(&got),
        [("2017-04-07".into(), "CLK17".into(), "CLN17".into())]
    );
    assert_eq!(got[0]["trigger"], "volume");
    let detail = got[0]["trigger_detail"].as_str().unwrap();
    assert!(
        detail.contains("CLM17"),
        "the skipped contract is named: {detail}"
    );
}

#[tokio::test]
async fn the_grace_window_defers_an_early_crossover() {
    let app = app().await;
    let got = rolls(&app, json!({"skip_to_most_active": true})).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let (date, from, to) = summary(&got).remove(0);
    assert_eq!((from.as_str(), to.as_str()), ("CLK17", "CLN17"));
    assert!(
        date.as_str() > "2017-04-07",
        "the default 7-session window opens after the crossover: {date}"
    );
}

#[tokio::test]
async fn a_month_filter_skips_the_excluded_contract() {
    let app = app().await;
    let got = rolls(&app, json!({"months": "KN", "grace_sessions": 250})).await;
    assert_eq!(
        summary(&got),
        [("2017-04-07".into(), "CLK17".into(), "CLN17".into())]
    );
    // The contract list of the endpoint keeps all three.
    let body: Value = reqwest::get(app.api("futures/CL/contracts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_rolls_endpoint_takes_the_same_options() {
    let app = app().await;
    let body: Value = reqwest::get(app.api(
        "futures/CL/rolls?rule=volume&skip_to_most_active=true&grace_sessions=250&start=2017-03-28&end=2017-04-12",
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let data = body["data"].as_array().unwrap();
    assert_eq!(
        summary(data),
        [("2017-04-07".into(), "CLK17".into(), "CLN17".into())],
        "{body}"
    );
}

#[test]
fn the_cli_takes_the_same_options() {
    let db = Db::new(env!("CARGO_BIN_EXE_tradeassist"));
    let file = db.write("cl.csv", &csv());
    db.ok(&["import", "--symbol", "CL", "--asset-class", "future", &file]);
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "rolls",
            "--symbol",
            "CL.v.0",
            "--start",
            "2017-03-28",
            "--end",
            "2017-04-12",
        ];
        a.extend_from_slice(extra);
        a
    };
    let (plain, _) = db.ok(&args(&[]));
    assert_eq!(plain.lines().count(), 1, "header only: {plain}");
    let (skip, _) = db.ok(&args(&["--skip-to-most-active", "--grace-sessions", "250"]));
    let lines: Vec<&str> = skip.lines().collect();
    assert_eq!(lines.len(), 2, "{skip}");
    assert!(lines[1].starts_with("2017-04-07,CLK17,CLN17,"), "{skip}");
    let (months, _) = db.ok(&args(&["--months", "KN", "--grace-sessions", "250"]));
    assert!(
        months
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("2017-04-07,CLK17,CLN17,"),
        "{months}"
    );
    let err = db.fails(&args(&["--months", "KX1"]));
    assert!(err.contains("months") || err.contains("KX1"), "{err}");
}
