//! The Redis L2, black-box: two app instances over one database share answers through a real
//! Redis (127.0.0.1:6379, a prefix of their own), an import evicts on both (pub/sub), and a
//! private redis-server killed mid-run costs speed, never a request.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_service::CacheSettings;
use tradeassist_service::cache::L2Config;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cache-test-{}-{nanos}:", std::process::id())
}

fn import_rows(db: &Db, symbol: &str, rows: &[String]) {
    let path = db.dir.path().join(format!("{symbol}-{}.csv", rows.len()));
    let mut text = String::from("ts_utc,open,high,low,close,volume\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    db.ok(&[
        "import".as_ref(),
        "--symbol".as_ref(),
        symbol.as_ref(),
        path.as_os_str(),
    ]);
}

fn rows(day: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (h, m) = (14 + (30 + i) / 60, (30 + i) % 60);
            let p = 50.0 + (i % 5) as f64;
            format!(
                "{day}T{h:02}:{m:02}:00Z,{p},{},{},{p},{}",
                p + 1.0,
                p - 1.0,
                10 + i
            )
        })
        .collect()
}

fn seeded() -> Db {
    let db = Db::new(BIN);
    let mut all = rows("2024-03-04", 90);
    all.extend(rows("2024-03-05", 90));
    import_rows(&db, "XA", &all);
    db
}

async fn app(db: &Db, url: &str, prefix: &str) -> TestApp {
    let mut l2 = L2Config::new(url, prefix);
    l2.timeout = Duration::from_millis(200);
    l2.backoff = Duration::from_millis(300);
    spawn_app_with(AppOptions {
        cache: Some(CacheSettings {
            l2: Some(l2),
            ..Default::default()
        }),
        db: Some(db.path.clone()),
        ..Default::default()
    })
    .await
}

async fn post(app: &TestApp, body: &Value) -> (StatusCode, String, Vec<u8>) {
    let r = Client::new()
        .post(app.api("fetch"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let source = r
        .headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, source, r.bytes().await.unwrap().to_vec())
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn monday() -> Value {
    json!({"symbols": ["XA"], "frequency": "5m", "start": "2024-03-04", "end": "2024-03-04"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_answers_and_invalidations_through_redis() {
    let url = "redis://127.0.0.1:6379";
    let prefix = unique_prefix();
    let db = seeded();
    let a = app(&db, url, &prefix).await;
    let b = app(&db, url, &prefix).await;
    let client = redis::Client::open(url).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("{prefix}invalidate");
    wait_for("both instances to subscribe", async || {
        let (_, n): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async::<(String, i64)>(&mut redis)
            .await
            .unwrap();
        n >= 2
    })
    .await;

    let (status, source, first) = post(&a, &monday()).await;
    assert_eq!((status, source.as_str()), (StatusCode::OK, "miss"));
    wait_for("the entry to reach Redis", async || {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut redis)
            .await
            .unwrap();
        !keys.is_empty()
    })
    .await;
    let reads = b.service.store_reads().bars;
    let (status, source, shared) = post(&b, &monday()).await;
    assert_eq!((status, source.as_str()), (StatusCode::OK, "hit-l2"));
    assert_eq!(
        b.service.store_reads().bars,
        reads,
        "an L2 hit reads no bars"
    );
    assert_eq!(shared, first);
    assert_eq!(post(&b, &monday()).await.1, "hit-l1");

    // A changes the data (an import into the shared database) and learns it on its next
    // request; B evicts its copy from the broadcast, without a request of its own.
    import_rows(
        &db,
        "XA",
        &["2024-03-04T15:00:00Z,50,90,49,50,1".to_string()],
    );
    let (_, source, changed) = post(&a, &monday()).await;
    assert_eq!(source, "miss");
    assert_ne!(changed, first);
    let cache_b = b.service.response_cache().unwrap().clone();
    wait_for("B to evict the invalidated answer", async || {
        cache_b.entry_count().await == 0
    })
    .await;
    // B's next answer is the new one (never the stale L2 value).
    let (status, _, fresh) = post(&b, &monday()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fresh, changed);

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
}

struct RedisServer(Child);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_keep_succeeding_when_redis_dies_mid_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = RedisServer(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH"),
    );
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).unwrap();
    wait_for("the private redis-server", async || {
        client.get_multiplexed_async_connection().await.is_ok()
    })
    .await;
    let db = seeded();
    let a = app(&db, &url, &unique_prefix()).await;
    let ready = |app: &TestApp| {
        let url = app.at("/health/ready");
        async move {
            let v: Value = Client::new()
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["status"].as_str().unwrap().to_string()
        }
    };
    let queries: Vec<Value> = ["1m", "5m", "15m", "30m", "1h", "2h", "1d"]
        .iter()
        .map(|f| json!({"symbols": ["XA"], "frequency": f, "start": "2024-03-04", "end": "2024-03-05"}))
        .collect();
    for q in &queries[..3] {
        assert_eq!(post(&a, q).await.0, StatusCode::OK);
    }
    assert_eq!(ready(&a).await, "ok");

    server.0.kill().unwrap();
    server.0.wait().unwrap();
    for round in 0..3 {
        for q in &queries {
            let (status, _, _) = post(&a, q).await;
            assert_eq!(status, StatusCode::OK, "round {round}, {q}");
        }
    }
    assert_eq!(ready(&a).await, "degraded");
    // Cached answers still come from L1.
    assert_eq!(post(&a, &queries[0]).await.1, "hit-l1");
}
