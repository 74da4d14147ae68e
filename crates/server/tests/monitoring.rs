//! Black-box tests of monitoring: `/metrics` after a scripted workload against the real
//! `tradeassist serve` process (exact counter increases per route and status; every metric the
//! alert rules and the dashboard use is exported), the JSON log with request ids and the audit
//! line, readiness per component (Redis killed and restarted, store down, schema behind), and
//! `promtool check rules` on the shipped rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_testkit::redis::RedisServer;
use tradeassist_testkit::server::Server;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Samples of a Prometheus text scrape: `name{labels}` (labels as written) -> value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("sample line");
            (series.to_string(), value.parse().expect("sample value"))
        })
        .collect()
}

/// Sample names of a scrape (`tradeassist_x_bucket`, `tradeassist_x_count`, ...).
fn names(samples: &BTreeMap<String, f64>) -> BTreeSet<String> {
    samples
        .keys()
        .map(|k| k.split('{').next().unwrap_or(k).to_string())
        .collect()
}

/// Labels of a series key as a map.
fn labels(series: &str) -> BTreeMap<String, String> {
    let Some(inner) = series.split_once('{').map(|(_, l)| l.trim_end_matches('}')) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let mut rest = inner;
    while let Some((key, tail)) = rest.split_once("=\"") {
        let end = tail.find('"').expect("closing quote");
        out.insert(
            key.trim_start_matches(',').to_string(),
            tail[..end].to_string(),
        );
        rest = &tail[end + 1..];
    }
    out
}

/// `tradeassist_http_requests_total` per (method, route, status).
fn request_counts(samples: &BTreeMap<String, f64>) -> BTreeMap<(String, String, String), f64> {
    samples
        .iter()
        .filter(|(k, _)| k.starts_with("tradeassist_http_requests_total{"))
        .map(|(k, v)| {
            let l = labels(k);
            (
                (l["method"].clone(), l["route"].clone(), l["status"].clone()),
                *v,
            )
        })
        .collect()
}

async fn scrape(client: &Client, server: &Server) -> BTreeMap<String, f64> {
    let resp = client.get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    samples(&resp.text().await.unwrap())
}

/// `tradeassist_*` metric names used by the PromQL expressions of a file (comment lines of the
/// YAML rules skipped). Recording-rule names (`tradeassist:...`) do not match.
fn referenced_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("tradeassist_") {
            let tail = &rest[at..];
            let len = tail
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            let name = &tail[..len];
            if name.len() > "tradeassist_".len() {
                out.insert(name.to_string());
            }
            rest = &tail[len..];
        }
    }
    out
}

#[tokio::test]
async fn a_scripted_workload_shows_in_metrics_logs_and_audit() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_tradeassist"),
        &["--demo"],
        &[("TRADEASSIST_LOG_FORMAT", "json")],
    );
    let client = Client::new();
    let before = scrape(&client, &server).await;

    // The workload: known routes, several statuses, a raw path that must not become a label.
    let api = "/api/v1/historical-data";
    for _ in 0..3 {
        let r = client.get(server.api("frequencies")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    for symbol in ["AAPL", "SPY"] {
        let r = client
            .get(server.api(&format!("instruments/{symbol}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = client
        .get(server.api("instruments/NOPE"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client.get(server.at("/no/such/path")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let fetch = client
        .post(server.api("fetch"))
        .header("x-request-id", "audit-test-1")
        .json(&json!({"symbols": ["AAPL"], "frequency": "1w", "start": "2013-01-01", "end": "2013-12-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fetch.status(), StatusCode::OK);
    assert_eq!(fetch.headers()["x-request-id"], "audit-test-1");
    let fetched: Value = fetch.json().await.unwrap();
    let bars = fetched["metadata"]["total_bars"].as_u64().unwrap();
    assert!(bars > 40, "{bars}");
    let r = client.get(server.at("/health/ready")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let after = scrape(&client, &server).await;

    // (a) Exact counter increases per (method, route, status); nothing else moved.
    let (b, a) = (request_counts(&before), request_counts(&after));
    let delta: BTreeMap<_, _> = a
        .iter()
        .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d != 0.0)
        .collect();
    let key = |m: &str, r: &str, s: &str| (m.to_string(), r.to_string(), s.to_string());
    let expected = BTreeMap::from([
        (key("GET", &format!("{api}/frequencies"), "200"), 3.0),
        (
            key("GET", &format!("{api}/instruments/{{symbol}}"), "200"),
            2.0,
        ),
        (
            key("GET", &format!("{api}/instruments/{{symbol}}"), "404"),
            1.0,
        ),
        (key("GET", "unmatched", "404"), 1.0),
        (key("POST", &format!("{api}/fetch"), "200"), 1.0),
        (key("GET", "/health/ready", "200"), 1.0),
        // The first scrape is counted once it has been answered.
        (key("GET", "/metrics", "200"), 1.0),
    ]);
    assert_eq!(delta, expected);
    // The latency histogram counted the same requests.
    let fetch_count = format!(
        "tradeassist_http_request_duration_seconds_count{{method=\"POST\",route=\"{api}/fetch\",status=\"200\"}}"
    );
    assert_eq!(after[&fetch_count], 1.0, "{fetch_count}");
    // Nothing is in flight but the scrape being answered.
    assert_eq!(after["tradeassist_http_requests_in_flight"], 1.0);

    // Store, ingest, import, freshness and build series are there with sane values.
    let ok_reads = |s: &BTreeMap<String, f64>, op: &str| {
        s.get(&format!(
            "tradeassist_store_operation_duration_seconds_count{{operation=\"{op}\",outcome=\"ok\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
    };
    assert!(ok_reads(&after, "instrument") > ok_reads(&before, "instrument"));
    let demo_bars = after
        .iter()
        .filter(|(k, _)| k.starts_with("tradeassist_ingest_bars_total{"))
        .map(|(_, v)| v)
        .sum::<f64>();
    assert!(demo_bars > 80_000.0, "{demo_bars}");
    assert_eq!(
        after["tradeassist_import_duration_seconds_count{outcome=\"ok\"}"],
        1.0
    );
    for class in ["future", "index", "stock"] {
        let age =
            after[&format!("tradeassist_data_newest_bar_age_seconds{{asset_class=\"{class}\"}}")];
        // The demo data is years old.
        assert!(age > 365.0 * 86_400.0, "{class}: {age}");
    }
    let build: Vec<_> = after
        .iter()
        .filter(|(k, _)| k.starts_with("tradeassist_build_info{"))
        .collect();
    assert_eq!(build.len(), 1, "{build:?}");
    let build_labels = labels(build[0].0);
    assert_eq!(build_labels["version"], env!("CARGO_PKG_VERSION"));
    assert!(!build_labels["git_sha"].is_empty());

    // (b) Every metric the alert rules and the dashboard use exists in the scrape.
    let exported = names(&after);
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/tradeassist.json",
    ] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        let used = referenced_names(&text);
        assert!(!used.is_empty(), "{file} uses no tradeassist_ metric");
        let missing: Vec<_> = used.difference(&exported).collect();
        assert!(missing.is_empty(), "{file} uses unexported {missing:?}");
    }

    // JSON logs: every line is an object; the audit line of the fetch carries who, what, how
    // much, how long, and the request id of its request span.
    let log = server.log_text();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "serving"));
    let audit: Vec<&Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    assert_eq!(audit.len(), 1, "one data access was served:\n{log}");
    let line = audit[0];
    let f = &line["fields"];
    assert_eq!(f["message"], "data access");
    assert_eq!(f["endpoint"], "fetch");
    assert_eq!(f["symbols"], "AAPL");
    assert_eq!(f["bars"].as_u64(), Some(bars));
    assert!(
        f["client"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{line}"
    );
    // A fetch may be answered from the cache: its range is logged as asked.
    assert_eq!(f["ranges"], "2013-01-01..2013-12-31", "{line}");
    assert!(f["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["span"]["request_id"], "audit-test-1", "{line}");
    assert_eq!(line["span"]["path"], format!("{api}/fetch"));
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let rules = repo().join("deploy/prometheus/alerts.yml");
    let out = std::process::Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .expect("promtool (Debian package `prometheus`; .ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

async fn ready(app: &TestApp) -> (StatusCode, Value) {
    let resp = Client::new()
        .get(app.at("/health/ready"))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// Poll readiness until `accept` holds (Redis reconnects take a probe or two).
async fn ready_until(app: &TestApp, accept: impl Fn(StatusCode, &Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = ready(app).await;
        if accept(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "last readiness: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn app(redis_url: Option<String>) -> TestApp {
    spawn_app_with(AppOptions {
        redis_url,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn readiness_reports_each_component() {
    let app = app(None).await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], "sqlite");
    let c = &body["components"];
    assert_eq!(c["store"]["status"], "ok");
    assert!(c["store"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(c["migrations"]["status"], "ok");
    assert_eq!(c["migrations"]["applied"], c["migrations"]["expected"]);
    assert!(c.get("redis").is_none(), "Redis is not configured: {body}");
    let (status, live) = {
        let r = Client::new()
            .get(app.at("/health/live"))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!((status, live), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn readiness_degrades_while_redis_is_down_and_recovers() {
    let mut redis = RedisServer::start();
    let app = app(Some(redis.url())).await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["components"]["redis"]["status"], "ok", "{body}");

    redis.kill();
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK, "Redis down is not a 503: {body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["components"]["redis"]["status"], "down", "{body}");
    assert!(body["components"]["redis"]["error"].is_string(), "{body}");
    assert_eq!(body["components"]["store"]["status"], "ok");

    redis.restart();
    let body = ready_until(&app, |s, b| s == StatusCode::OK && b["status"] == "ok").await;
    assert_eq!(body["components"]["redis"]["status"], "ok", "{body}");
}

#[tokio::test]
async fn readiness_pings_the_shared_redis() {
    let app = app(Some("redis://127.0.0.1:6379".into())).await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["components"]["redis"]["status"], "ok", "{body}");
}

#[tokio::test]
async fn readiness_is_degraded_behind_the_schema_and_503_without_a_store() {
    let app = app(None).await;
    let db = rusqlite::Connection::open(&app.db_path).unwrap();
    db.execute(
        "DELETE FROM schema_version WHERE version = (SELECT MAX(version) FROM schema_version)",
        [],
    )
    .unwrap();
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    let m = &body["components"]["migrations"];
    assert_eq!(m["status"], "degraded", "{body}");
    assert_eq!(
        m["applied"].as_i64().unwrap() + 1,
        m["expected"].as_i64().unwrap()
    );

    // The store no longer answers the readiness query: down, 503, same document shape.
    db.execute("DROP TABLE schema_version", []).unwrap();
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "down", "{body}");
    assert_eq!(body["components"]["store"]["status"], "down", "{body}");
    assert!(body["components"]["store"]["error"].is_string(), "{body}");
    assert_eq!(body["components"]["migrations"]["status"], "down", "{body}");
}
