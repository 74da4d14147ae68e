//! Backfill from Schwab, black-box against the fake Schwab API on loopback: the CLI
//! (`tradeassist backfill`, configured through `tradeassist.toml`) creates the instrument from
//! the provider's answer, stores its bars, fetches only what gap detection reports missing on
//! the next run and nothing on a repeat; the REST endpoint answers the same summary; the
//! sources report the provider's circuit; errors are clear.

use std::sync::Arc;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_model::{Bar, Resolution};
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::schwab::{FakeSchwab, Fault};
use tradeassist_testkit::{AppOptions, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");
const DAY: i64 = 86_400;

/// UTC midnight `days` days before today.
fn days_ago(days: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    now - now.rem_euclid(DAY) - days * DAY
}

fn date(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

/// Minute bars of every US regular session (New York; holidays, early closes and daylight
/// saving time as the calendar has them) of the days in `[from, to)`.
fn weekday_minutes(from: i64, to: i64) -> Vec<Bar> {
    let calendar = tradeassist_engine::Calendar::get("us_equity").unwrap();
    let mut bars = Vec::new();
    let mut day = from;
    while day < to {
        let d = chrono::DateTime::from_timestamp(day, 0)
            .unwrap()
            .date_naive();
        if let Some(session) = calendar.session(d, tradeassist_engine::SessionFilter::Regular) {
            for (m, ts) in (session.open()..session.close()).step_by(60).enumerate() {
                let p = 100.0 + (m % 17) as f64 * 0.25;
                bars.push(Bar::new(ts, p, p + 0.5, p - 0.5, p + 0.25, 1_000.0).unwrap());
            }
        }
        day += DAY;
    }
    bars
}

fn write_config(db: &Db, fake: &FakeSchwab) {
    let c = fake.config();
    let toml = format!(
        "[providers.schwab]\nenabled = true\nbase_url = \"{}\"\nclient_id = \"{}\"\n\
         client_secret = \"{}\"\nrefresh_token = \"{}\"\n[providers.schwab.retry]\n\
         max_attempts = 2\nbase_delay_ms = 1\n",
        c.base_url,
        c.client_id,
        c.client_secret.expose(),
        c.refresh_token.expose()
    );
    std::fs::write(db.dir.path().join("tradeassist.toml"), toml).unwrap();
}

fn stored_bars(db: &Db, symbol: &str, start: &str, end: &str) -> usize {
    let (out, _) = db.ok(&[
        "query",
        "--symbol",
        symbol,
        "--frequency",
        "1m",
        "--start",
        start,
        "--end",
        end,
        "--format",
        "csv",
    ]);
    out.lines().skip(1).filter(|l| !l.is_empty()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_backfill_creates_stores_then_fetches_only_the_missing_ranges() {
    let fake = FakeSchwab::start().await.unwrap();
    let (from, to) = (days_ago(20), days_ago(2));
    let offered = weekday_minutes(from, to);
    fake.insert_bars("XYZ", Resolution::Minute, offered.clone());
    let db = Db::new(BIN);
    write_config(&db, &fake);
    let (first_day, mid, last_day) = (date(from), date(from + 9 * DAY), date(to - DAY));

    // First half: the symbol is new, everything the provider has is stored.
    let (out, _) = db.ok(&[
        "backfill", "--symbol", "XYZ", "--start", &first_day, "--end", &mid,
    ]);
    let first_half = offered.iter().filter(|b| b.ts() < from + 10 * DAY).count();
    assert!(out.contains("instrument created"), "{out}");
    assert!(
        out.contains(&format!("{first_half} bars stored for 1 symbol")),
        "{out}"
    );
    assert_eq!(stored_bars(&db, "XYZ", &first_day, &mid), first_half);
    let after_first = fake.history_queries().len();

    // The whole range: only the second half is missing, so only it is asked for.
    let (out, _) = db.ok(&[
        "backfill", "--symbol", "XYZ", "--start", &first_day, "--end", &last_day,
    ]);
    let queries = fake.history_queries();
    assert!(queries.len() > after_first, "{out}");
    for q in &queries[after_first..] {
        let start = q.start_date.unwrap() / 1000;
        assert!(
            start >= from + 10 * DAY,
            "asked for stored data: {q:?}\n{out}"
        );
    }
    let total = stored_bars(&db, "XYZ", &first_day, &last_day);
    assert!(total > first_half, "{out}");

    // A repeat stores nothing; the stored bars are unchanged.
    let (out, _) = db.ok(&[
        "backfill", "--symbol", "XYZ", "--start", &first_day, "--end", &last_day,
    ]);
    assert!(out.contains("backfill from schwab: 0 bars stored"), "{out}");
    assert_eq!(stored_bars(&db, "XYZ", &first_day, &last_day), total);

    // Minutes older than the provider keeps are reported, not asked for.
    let old = date(days_ago(90));
    let before = fake.history_queries().len();
    let (out, _) = db.ok(&[
        "backfill",
        "--symbol",
        "XYZ",
        "--start",
        &old,
        "--end",
        &date(days_ago(80)),
    ]);
    assert!(out.contains("before schwab's history, not asked"), "{out}");
    assert_eq!(fake.history_queries().len(), before);

    // A symbol the provider does not know: a clear per-symbol error, non-zero exit.
    let err = db.run(&[
        "backfill", "--symbol", "NOPE", "--start", &first_day, "--end", &mid,
    ]);
    let out = String::from_utf8_lossy(&err.stdout);
    assert!(!err.status.success());
    assert!(
        out.contains("NOPE") && out.contains("unknown symbol"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_backfill_without_a_provider_is_a_clear_error() {
    let db = Db::new(BIN);
    let err = db.fails(&["backfill", "--symbol", "XYZ", "--start", "2026-01-02"]);
    assert!(err.contains("no provider is configured"), "{err}");
    let err = db.fails(&[
        "backfill",
        "--symbol",
        "XYZ",
        "--start",
        "2026-01-02",
        "--source",
        "acme",
    ]);
    assert!(err.contains("unknown source"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_backfill_answers_the_summary_and_sources_show_the_circuit() {
    let fake = FakeSchwab::start().await.unwrap();
    let (from, to) = (days_ago(9), days_ago(2));
    let offered = weekday_minutes(from, to);
    fake.insert_bars("/ESZ26", Resolution::Minute, offered.clone());
    let app = app_over_fake(&fake, None).await;
    let client = Client::new();
    let body = json!({"symbols": ["/ESZ26"], "start": date(from), "end": date(to - DAY)});
    let r = client
        .post(app.api("backfill"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["provider"], "schwab");
    assert_eq!(report["symbols"][0]["symbol"], "ESZ26");
    assert_eq!(report["symbols"][0]["created"], true);
    assert_eq!(report["bars_stored"], offered.len());
    let found = get_json(&client, app.api("instruments/ESZ26")).await.1;
    assert_eq!(found["asset_class"], "future", "{found}");

    // The provider fails: the symbol's entry says so and the breaker opens, visible in sources.
    fake.fail_next(1, Fault::Status(500));
    let body = json!({"symbols": ["AAA"], "start": date(from), "end": date(to - DAY)});
    let report: Value = client
        .post(app.api("backfill"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report["symbols"][0]["error"].is_string(), "{report}");
    let sources = get_json(&client, app.api("sources")).await.1;
    let schwab = sources["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "schwab")
        .unwrap();
    assert_eq!(schwab["circuit_state"], "open", "{schwab}");
    assert!(
        schwab["bars_ingested"].as_u64().unwrap() >= offered.len() as u64,
        "{schwab}"
    );
    assert!(schwab["last_error"].is_string(), "{schwab}");
    assert!(
        schwab["live"]["failures"].as_u64().unwrap() >= 1,
        "{schwab}"
    );
    assert!(schwab["live"]["calls"].as_u64().unwrap() >= 2, "{schwab}");
    assert_eq!(schwab["live"]["requests_per_minute"], 120, "{schwab}");
    let left = schwab["live"]["remaining_this_minute"].as_u64().unwrap();
    assert!((1..120).contains(&left), "{schwab}");
    // The same in the Prometheus text.
    let text = client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}{{provider=\"schwab\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert_eq!(series("tradeassist_provider_circuit_state"), 2.0);
    assert!(series("tradeassist_provider_failures_total") >= 1.0);
    assert!(series("tradeassist_provider_calls_total") >= 2.0);
    assert_eq!(series("tradeassist_provider_rate_remaining"), left as f64);

    // While open: refused fast, the fake sees no request.
    let seen = fake.counts().price_history;
    let body = json!({"symbols": ["AAB"], "start": date(from), "end": date(to - DAY)});
    let report: Value = post_json(&client, &app.api("backfill"), &body).await;
    assert!(
        report["symbols"][0]["error"]
            .as_str()
            .unwrap()
            .contains("circuit"),
        "{report}"
    );
    assert_eq!(fake.counts().price_history, seen);
    // After the cool-down: half-open; a good answer closes it.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let metrics = |client: Client, url: String| async move {
        client.get(url).send().await.unwrap().text().await.unwrap()
    };
    let circuit = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("tradeassist_provider_circuit_state{provider=\"schwab\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    let text = metrics(client.clone(), format!("{}/metrics", app.url)).await;
    assert_eq!(circuit(&text).as_deref(), Some("1"), "half-open");
    let body = json!({"symbols": ["ESZ26"], "start": date(from), "end": date(to - DAY)});
    let report: Value = post_json(&client, &app.api("backfill"), &body).await;
    assert!(report["symbols"][0]["error"].is_null(), "{report}");
    // A gap-free series asks for nothing; probe with a new symbol the fake knows.
    fake.insert_bars("XYZ", Resolution::Minute, offered.clone());
    let body = json!({"symbols": ["XYZ"], "start": date(from), "end": date(to - DAY)});
    let report: Value = post_json(&client, &app.api("backfill"), &body).await;
    assert_eq!(report["bars_stored"], offered.len(), "{report}");
    let text = metrics(client.clone(), format!("{}/metrics", app.url)).await;
    assert_eq!(circuit(&text).as_deref(), Some("0"), "closed again");

    // A truncated answer: the batch is rejected, nothing of it stored.
    fake.insert_bars("XYC", Resolution::Minute, offered.clone());
    fake.fail_next(1, Fault::TruncatedJson);
    let body = json!({"symbols": ["XYC"], "start": date(from), "end": date(to - DAY)});
    let report: Value = post_json(&client, &app.api("backfill"), &body).await;
    assert_eq!(report["bars_stored"], 0, "{report}");
    assert!(report["symbols"][0]["error"].is_string(), "{report}");
    let found = client.get(app.api("instruments/XYC")).send().await.unwrap();
    assert_eq!(found.status(), StatusCode::NOT_FOUND, "nothing was created");
    // Readiness: degraded (200), the provider named; never down for a provider.
    let (status, health) = get_json(&client, format!("{}/health/ready", app.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        health["components"]["provider"]["status"], "degraded",
        "{health}"
    );
    // Stored data is still served while the provider is down.
    let url = app.api(&format!(
        "fetch?symbols=ESZ26&frequency=1h&start={}",
        date(from)
    ));
    assert_eq!(get_json(&client, url).await.0, StatusCode::OK);

    // Bad input: 422 in the error shape, nothing written.
    for bad in [
        json!({"symbols": ["XYZ"], "start": "2026-13-01"}),
        json!({"symbols": ["XYZ"], "start": date(from), "frequency": "5m"}),
        json!({"symbols": [], "start": date(from)}),
    ] {
        let r = client
            .post(app.api("backfill"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].is_object(), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_backfill_without_a_provider_is_422() {
    let app = spawn_app_with(AppOptions::default()).await;
    let body = json!({"symbols": ["XYZ"], "start": "2026-01-02"});
    let r = Client::new()
        .post(app.api("backfill"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert!(e.to_string().contains("no provider is configured"), "{e}");
}

/// Bars deleted from the database (here with SQL, as an operator's mistake would) come back
/// exactly from a backfill, and the provider is asked for that range only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_after_deleting_a_range_restores_exactly_the_deleted_bars() {
    let fake = FakeSchwab::start().await.unwrap();
    let (from, to) = (days_ago(16), days_ago(2));
    let offered = weekday_minutes(from, to);
    fake.insert_bars("XYZ", Resolution::Minute, offered.clone());
    let db = Db::new(BIN);
    write_config(&db, &fake);
    let (first, last) = (date(from), date(to - DAY));
    let query = [
        "query",
        "--symbol",
        "XYZ",
        "--frequency",
        "1m",
        "--start",
        &first,
        "--end",
        &last,
    ];
    db.ok(&[
        "backfill", "--symbol", "XYZ", "--start", &first, "--end", &last,
    ]);
    let (before, _) = db.ok(&query);

    // Delete the first two hours of the first session a week in.
    let open = offered
        .iter()
        .map(|b| b.ts())
        .find(|&t| t >= from + 7 * DAY)
        .unwrap();
    let (cut_from, cut_to) = (open, open + 2 * 3_600);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let deleted = conn
        .execute(
            "DELETE FROM bars WHERE ts >= ?1 AND ts < ?2",
            rusqlite::params![cut_from, cut_to],
        )
        .unwrap();
    assert_eq!(deleted, 120);
    drop(conn);

    let asked = fake.history_queries().len();
    let (out, _) = db.ok(&[
        "backfill", "--symbol", "XYZ", "--start", &first, "--end", &last,
    ]);
    assert!(out.contains("120 bars stored"), "{out}");
    let queries = &fake.history_queries()[asked..];
    assert_eq!(queries.len(), 1, "{queries:?}");
    let (s, e) = (
        queries[0].start_date.unwrap() / 1000,
        queries[0].end_date.unwrap() / 1000,
    );
    assert!(
        s >= cut_from && e <= cut_to,
        "asked {s}..{e} for {cut_from}..{cut_to}"
    );
    let (after, _) = db.ok(&query);
    assert_eq!(after, before, "the restored bars equal the deleted ones");
}

/// A backfill with trace logging writes no credential anywhere in its output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_logged_backfill_shows_no_secret() {
    let fake = FakeSchwab::start().await.unwrap();
    fake.rotate_refresh_tokens(true);
    let (from, to) = (days_ago(5), days_ago(2));
    fake.insert_bars("XYZ", Resolution::Minute, weekday_minutes(from, to));
    let db = Db::new(BIN);
    write_config(&db, &fake);
    let config = fake.config();
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(&db.path)
        .args(["backfill", "--symbol", "XYZ", "--start", &date(from)])
        .args(["--end", &date(to - DAY)])
        .current_dir(db.dir.path())
        .env("TRADEASSIST_LOG", "trace")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("TRACE") || text.contains("DEBUG"), "{text}");
    assert!(fake.counts().token >= 1);
    for secret in [
        config.client_secret.expose().to_string(),
        config.refresh_token.expose().to_string(),
        fake.refresh_token(),
        "fake-access-".to_string(),
    ] {
        assert!(!text.contains(&secret), "{secret} in the output:\n{text}");
    }
}

/// `fetch_missing=true` fills the gaps before answering (the answer holds the provider's
/// bars, also when the same query was cached before); with the provider down the stored data
/// is answered with `stale: true` and the newest stored bar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_missing_fills_gaps_first_and_says_stale_when_the_provider_is_down() {
    let fake = FakeSchwab::start().await.unwrap();
    let (from, to) = (days_ago(9), days_ago(2));
    let offered = weekday_minutes(from, to);
    let app = app_over_fake(&fake, Some(tradeassist_service::CacheSettings::default())).await;
    let client = Client::new();
    // The first half of the days is stored (a backfill), the provider then gets the rest.
    let half = offered.len() / 2;
    fake.insert_bars("XYZ", Resolution::Minute, offered[..half].to_vec());
    let cut = offered[half].ts();
    let body = json!({"symbols": ["XYZ"], "start": date(from), "end": rfc3339(cut)});
    let r = client
        .post(app.api("backfill"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    fake.insert_bars("XYZ", Resolution::Minute, offered[half..].to_vec());

    let url = |missing: bool| {
        app.api(&format!(
            "fetch?symbols=XYZ&frequency=1m&start={}&end={}&fetch_missing={missing}",
            date(from),
            date(to - DAY)
        ))
    };
    let count = |v: &Value| v["data"][0]["count"].as_u64().unwrap() as usize;
    let plain = get_json(&client, url(false)).await.1;
    assert_eq!(count(&plain), half, "{}", plain["metadata"]);
    let filled = get_json(&client, url(true)).await.1;
    assert_eq!(count(&filled), offered.len(), "{}", filled["metadata"]);
    assert!(filled["metadata"]["stale"].is_null());

    // Provider down: the stored bars, stale, the newest stored bar named.
    fake.fail_next(10, Fault::Status(503));
    let later = date(to + DAY);
    let url = app.api(&format!(
        "fetch?symbols=XYZ&frequency=1m&start={}&end={later}&fetch_missing=true",
        date(from)
    ));
    let (status, stale) = get_json(&client, url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stale["metadata"]["stale"], true, "{}", stale["metadata"]);
    assert_eq!(count(&stale), offered.len());
    assert_eq!(
        stale["metadata"]["newest_stored_bar"],
        rfc3339(offered.last().unwrap().ts()),
        "{}",
        stale["metadata"]
    );
    let bad = client
        .get(app.api("fetch?symbols=XYZ&frequency=1m&start=2026-01-02&fetch_missing=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

fn rfc3339(ts: i64) -> String {
    tradeassist_model::rfc3339(ts)
}

async fn post_json(client: &Client, url: &str, body: &Value) -> Value {
    let r = client.post(url).json(body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn get_json(client: &Client, url: impl reqwest::IntoUrl) -> (StatusCode, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The HTTP app with a Schwab provider over `fake`: one attempt per request, a breaker that
/// opens on the first failure and half-opens after 300 ms.
async fn app_over_fake(
    fake: &FakeSchwab,
    cache: Option<tradeassist_service::CacheSettings>,
) -> tradeassist_testkit::TestApp {
    let mut config = fake.config();
    config.retry.base_delay_ms = 1;
    config.retry.max_attempts = 1;
    config.breaker.failure_threshold = 1;
    config.breaker.cool_down_ms = 300;
    let provider = Arc::new(tradeassist_providers::schwab::resilient(&config).unwrap());
    spawn_app_with(AppOptions {
        provider: Some(provider),
        cache,
        ..Default::default()
    })
    .await
}
