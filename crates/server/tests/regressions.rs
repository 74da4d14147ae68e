//! Regression tests of defects found in the hostile review of wave 1, each named after the
//! defect it pins, through the real HTTP server and the real binary.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

/// Two 1-minute bars of a contract per row symbol, on a Globex morning of the contract's year.
fn contract_file(db: &Db, name: &str, rows: &[(&str, &str)]) -> String {
    let mut text = String::from("ts,symbol,open,high,low,close,volume\n");
    for (symbol, day) in rows {
        for minute in ["14:30", "14:31"] {
            text.push_str(&format!(
                "{day}T{minute}:00Z,{symbol},1.1,1.2,1.0,1.15,10\n"
            ));
        }
    }
    db.write(name, &text)
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let r = Client::new()
        .post(app.api(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = reqwest::get(app.api(path)).await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn symbol_typed_at_import_6eh4_resolves_everywhere() {
    let db = Db::new(BIN);
    let file = contract_file(&db, "6e.csv", &[("6EH4", "2024-02-05")]);
    db.ok(&["import", "--asset-class", "future", &file]);
    for spelling in ["6EH4", "6eh4", "6EH24", "6EH2024"] {
        let (csv, _) = db.ok(&[
            "query",
            "--symbol",
            spelling,
            "--frequency",
            "1m",
            "--start",
            "2024-02-05T14:30:00Z",
            "--end",
            "2024-02-05T14:32:00Z",
        ]);
        assert_eq!(csv.lines().count(), 3, "{spelling}: {csv}");
        db.ok(&[
            "gaps",
            "--symbol",
            spelling,
            "--start",
            "2024-02-05",
            "--end",
            "2024-02-05",
        ]);
    }
}

#[test]
fn short_contract_year_matching_two_contracts_lists_both() {
    let db = Db::new(BIN);
    let file = contract_file(
        &db,
        "es.csv",
        &[("ESZ2013", "2013-10-07"), ("ESZ2023", "2023-10-09")],
    );
    db.ok(&["import", "--asset-class", "future", &file]);
    let err = db.fails(&[
        "query",
        "--symbol",
        "ESZ3",
        "--frequency",
        "1m",
        "--start",
        "2013-10-07",
    ]);
    assert!(
        err.contains("ambiguous") && err.contains("ESZ13") && err.contains("ESZ23"),
        "{err}"
    );
    // The full year picks one.
    db.ok(&[
        "query",
        "--symbol",
        "ESZ2023",
        "--frequency",
        "1m",
        "--start",
        "2023-10-09",
    ]);
}

#[tokio::test]
async fn ambiguous_contract_symbol_is_422_with_candidates_over_http() {
    let app = spawn_app().await;
    // The demo holds ESZ13 only: ESZ3 resolves to it, ESZ2013 too.
    for spelling in ["ESZ3", "esz2013", "ESZ13"] {
        let (status, body) = get(&app, &format!("instruments/{spelling}")).await;
        assert_eq!(status, StatusCode::OK, "{spelling}: {body}");
        assert_eq!(body["symbol"], "ESZ13");
    }
    let (status, body) = get(&app, "instruments/ESZ2033").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn huge_roll_offset_is_422_naming_the_field_not_a_dropped_connection() {
    let app = spawn_app().await;
    for (field, value) in [
        ("roll_offset", json!(100_000_000u64)),
        ("rank", json!(1_000_000u64)),
        ("grace_sessions", json!(4_000_000_000u64)),
        ("roll_offset", json!(1e30)),
        ("rank", json!(-1)),
    ] {
        let mut body = json!({
            "symbols": ["ES.c.0"], "frequency": "1d", "start": "2013-10-01", "end": "2013-12-31",
        });
        body[field] = value.clone();
        let (status, err) = post(&app, "fetch", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {err}"
        );
        assert_eq!(err["error"]["details"]["field"], field, "{err}");
    }
    let (status, err) = get(
        &app,
        "futures/ES/rolls?rule=calendar&roll_offset=100000000&start=2013-10-01",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["field"], "roll_offset");
}

#[test]
fn huge_roll_offset_in_the_cli_is_an_error_not_a_panic() {
    let db = Db::new(BIN);
    let err = db.fails(&[
        "rolls",
        "--symbol",
        "ES.c.0",
        "--start",
        "2013-10-01",
        "--roll-offset",
        "100000000",
    ]);
    assert!(err.contains("roll_offset"), "{err}");
}

#[tokio::test]
async fn fill_prev_over_two_centuries_is_refused_before_building() {
    let app = spawn_app().await;
    let (status, err) = post(
        &app,
        "fetch",
        json!({"symbols": ["SPY"], "frequency": "1m", "start": "1900-01-01", "end": "2100-12-31", "fill": "prev"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["code"], "result_too_large");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("export"), "{message}");
}

#[tokio::test]
async fn gaps_over_the_whole_supported_span_are_capped() {
    let app = spawn_app().await;
    let (status, body) = get(&app, "gaps?symbol=SPY&start=1900-01-01&end=2100-12-31").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["gaps"].as_array().unwrap().len();
    assert_eq!(listed, tradeassist_service::MAX_GAPS_LISTED);
    assert_eq!(body["truncated"], true);
    assert!(
        body["total_gaps"].as_u64().unwrap() > listed as u64,
        "{}",
        body["total_gaps"]
    );
    // Year 0000 is refused at input.
    let (status, err) = get(&app, "gaps?symbol=SPY&start=0000-01-01&end=9999-12-31").await;
    assert!(status.is_client_error(), "{status} {err}");
    assert_eq!(err["error"]["details"]["field"], "start", "{err}");
}

#[tokio::test]
async fn fifty_thousand_character_search_is_422_not_500() {
    let app = spawn_app().await;
    let long = "%_".repeat(25_000);
    let (status, err) = get(&app, &format!("instruments?search={long}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["details"]["field"], "search");
    // Wildcards are matched literally.
    let (status, found) = get(&app, "instruments?search=%25").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["data"], json!([]), "{found}");
}

#[tokio::test]
async fn dates_outside_1900_2100_are_refused_at_input() {
    let app = spawn_app().await;
    for (start, end) in [
        ("10000-01-01", "10000-12-31"),
        ("1850-01-01", "1851-01-01"),
        ("1899-12-31T23:59:59Z", "1900-01-02"),
    ] {
        let (status, err) = post(
            &app,
            "fetch",
            json!({"symbols": ["AAPL"], "frequency": "1d", "start": start, "end": end}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{start}: {err}");
        let field = &err["error"]["details"]["field"];
        assert!(field == "start" || field == "end", "{err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1900-01-01..2100-12-31"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn saved_query_ids_are_never_reused_after_a_delete() {
    let app = spawn_app().await;
    let save = |name: &str| json!({"name": name, "parameters": {"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01"}});
    let (_, a) = post(&app, "queries/save", save("a")).await;
    let (_, b) = post(&app, "queries/save", save("b")).await;
    let b_id = b["id"].as_i64().unwrap();
    let r = Client::new()
        .delete(app.api(&format!("queries/{b_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, c) = post(&app, "queries/save", save("c")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(c["id"].as_i64().unwrap() > b_id, "{a} {b} {c}");
    // The deleted id stays gone.
    let (status, _) = get(&app, &format!("queries/load/{b_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_unreadable_saved_query_does_not_fail_the_list() {
    let app = spawn_app().await;
    let (_, good) = post(
        &app,
        "queries/save",
        json!({"name": "good", "parameters": {"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01"}}),
    )
    .await;
    // A row written by some other version, with a field this build does not know.
    let store = app.service.store();
    let bad = store
        .create_saved_query(
            tradeassist_model::NewSavedQuery {
                name: "from the future".into(),
                description: String::new(),
                parameters_json: r#"{"version":7,"query":"whatever"}"#.into(),
            },
            1,
        )
        .await
        .unwrap();
    let (status, list) = get(&app, "queries").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "good");
    assert_eq!(rows[0]["parameters"]["symbols"], json!(["AAPL"]));
    let unreadable = list["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0]["name"], "from the future");
    assert!(
        unreadable[0]["error"]
            .as_str()
            .unwrap()
            .contains("version 7")
    );
    // Loading it says why; deleting it works.
    let (status, err) = get(&app, &format!("queries/load/{}", bad.id)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    // Running it is a clear 422; the good one runs.
    let (status, err) = post(&app, &format!("queries/{}/run", bad.id), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, _) = post(&app, &format!("queries/{}/run", good["id"]), json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn legacy_saved_queries_stored_as_the_wire_document_stay_readable() {
    let app = spawn_app().await;
    let legacy = app
        .service
        .store()
        .create_saved_query(
            tradeassist_model::NewSavedQuery {
                name: "wave 1".into(),
                description: String::new(),
                parameters_json: r#"{"symbols":["AAPL"],"frequency":"1w","start":"2013-01-01","end":"2013-12-31","fill":"none"}"#.into(),
            },
            1,
        )
        .await
        .unwrap();
    let (status, body) = post(&app, &format!("queries/{}/run", legacy.id), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["count"], 53, "53 weeks touch 2013");
}

#[tokio::test]
async fn server_error_shows_a_request_id_and_no_database_text() {
    let app = spawn_app_with(AppOptions::default()).await;
    // Break the database behind the server's back.
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    conn.execute_batch("DROP TABLE saved_queries").unwrap();
    let r = Client::new()
        .get(app.api("queries"))
        .header("x-request-id", "test-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.headers()["x-request-id"], "test-req-42");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["details"]["request_id"], "test-req-42");
    let text = body.to_string().to_ascii_lowercase();
    assert!(
        !text.contains("saved_queries") && !text.contains("sqlite") && !text.contains("table"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_word_values_name_the_field() {
    let app = spawn_app().await;
    for (field, value) in [
        ("fill", "forward"),
        ("session", "night"),
        ("label", "middle"),
        ("align", "moon"),
        ("adjust", "sideways"),
        ("roll", "weekly"),
        ("months", "HMXQ1"),
        ("frequency", "7x"),
    ] {
        let mut body = json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01"});
        body[field] = json!(value);
        let (status, err) = post(&app, "fetch", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {err}");
        assert_eq!(err["error"]["details"]["field"], field, "{err}");
    }
}
