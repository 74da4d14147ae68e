//! Black-box tests of the WebSocket protocol (`/ws`, docs/websocket.md) and of query jobs,
//! with a real WebSocket client against the real server.

use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;
use tradeassist_server::jobs::JobSettings;
use tradeassist_server::ws::WsSettings;
use tradeassist_service::Limits;
use tradeassist_store::Store;
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app, spawn_app_with};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp) -> String {
    format!("{}/ws", app.url.replace("http://", "ws://"))
}

/// Connect and read the `connection_established` greeting.
async fn connect(app: &TestApp) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(app))
        .await
        .expect("WebSocket handshake");
    let hello = recv(&mut ws).await;
    assert_eq!(hello["message_type"], "connection_established", "{hello}");
    (ws, hello)
}

async fn send(ws: &mut Ws, message_type: &str, data: Value) {
    let text = json!({"message_type": message_type, "version": "1.0", "data": data}).to_string();
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// The next text message (within 60 s), heartbeats included.
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("a message within 60 s")
            .expect("connection open")
            .expect("a frame");
        match frame {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON message"),
            Message::Close(c) => panic!("closed by the server: {c:?}"),
            _ => continue,
        }
    }
}

/// The next message of `message_type`, skipping others.
async fn recv_type(ws: &mut Ws, message_type: &str) -> Value {
    loop {
        let m = recv(ws).await;
        if m["message_type"] == message_type {
            return m;
        }
    }
}

fn check_envelope(m: &Value) {
    assert_eq!(m["version"], "1.0", "{m}");
    let ts = m["timestamp"].as_str().expect("timestamp");
    assert!(ts.ends_with('Z'), "{ts}");
    chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 timestamp");
    assert!(m["data"].is_object(), "{m}");
}

#[tokio::test]
async fn base_messages_ping_subscribe_errors_and_heartbeat() {
    let app = spawn_app_with(AppOptions {
        demo: true,
        ws: WsSettings {
            heartbeat: Duration::from_secs(1),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let (mut ws, hello) = connect(&app).await;
    check_envelope(&hello);
    assert!(
        hello["data"]["connection_id"]
            .as_str()
            .unwrap()
            .starts_with("ws-")
    );
    assert!(
        hello["data"]["server_time"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    send(
        &mut ws,
        "ping",
        json!({"sequence": 7, "client_time": "2026-01-01T00:00:00Z"}),
    )
    .await;
    let pong = recv_type(&mut ws, "pong").await;
    check_envelope(&pong);
    assert_eq!(pong["data"]["sequence"], 7);
    assert_eq!(pong["data"]["client_time"], "2026-01-01T00:00:00Z");
    assert!(pong["data"]["server_time"].is_string());

    // Errors do not close the connection.
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "malformed_json", "{e}");
    send(&mut ws, "dance", json!({})).await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "unknown_message_type", "{e}");
    send(&mut ws, "subscribe", json!({"channel": "weather"})).await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "invalid_message", "{e}");
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "bars", "symbol": "NOPE", "frequency": "5m"}),
    )
    .await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "unknown_symbol", "{e}");
    send(
        &mut ws,
        "historical_query_cancel",
        json!({"query_id": "nope"}),
    )
    .await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "unknown_query", "{e}");

    // Subscribe, acknowledge, receive, unsubscribe.
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "cache_performance"}),
    )
    .await;
    let ack = recv_type(&mut ws, "subscription_acknowledged").await;
    assert_eq!(ack["data"]["status"], "subscribed");
    assert_eq!(ack["data"]["subscribed_to"]["channel"], "cache_performance");
    let perf = recv_type(&mut ws, "cache_performance").await;
    assert!(perf["data"]["cache_hit_rate"].is_number(), "{perf}");
    assert_eq!(perf["data"]["redis_available"], false);
    send(
        &mut ws,
        "unsubscribe",
        json!({"channel": "cache_performance"}),
    )
    .await;
    let ack = recv_type(&mut ws, "subscription_acknowledged").await;
    assert_eq!(ack["data"]["status"], "unsubscribed");
    send(
        &mut ws,
        "unsubscribe",
        json!({"channel": "cache_performance"}),
    )
    .await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "not_subscribed", "{e}");

    let beat = recv_type(&mut ws, "health_status").await;
    assert_eq!(beat["data"]["status"], "ok");
    assert!(beat["data"]["connections"].as_u64().unwrap() >= 1);

    send(&mut ws, "ping", json!({"sequence": 8})).await;
    assert_eq!(recv_type(&mut ws, "pong").await["data"]["sequence"], 8);
    let metrics = reqwest::get(app.at("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tradeassist_ws_messages_sent_total{message_type=\"pong\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tradeassist_ws_connections"), "{metrics}");
}

#[tokio::test]
async fn handshakes_are_checked() {
    let app = spawn_app_with(AppOptions {
        ws: WsSettings {
            max_connections: 1,
            allowed_origins: vec!["https://allowed.example".into()],
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    // Not a WebSocket request: a JSON error.
    let resp = reqwest::get(app.at("/ws")).await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "websocket_required");

    let with_origin = |origin: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = ws_url(&app).into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    let refused = tokio_tungstenite::connect_async(with_origin("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
        }
        other => panic!("a foreign origin must be refused: {other:?}"),
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(with_origin("https://allowed.example"))
        .await
        .expect("an allowed origin connects");
    assert_eq!(
        recv(&mut ws).await["message_type"],
        "connection_established"
    );
    // The limit is one connection.
    match tokio_tungstenite::connect_async(ws_url(&app)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("over the limit must be refused: {other:?}"),
    }
}

/// A database with `days` of generated minute bars of BENCH0 (1440 a day).
async fn bench_db(days: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(&path).await.unwrap();
    tradeassist_store::bench::bench_ingest(&store as &dyn Store, 1, days)
        .await
        .unwrap();
    (dir, path)
}

/// 1 008 000 stored minute bars of BENCH0, read as 5m bars over the whole day.
fn big_query() -> Value {
    json!({"symbols": ["BENCH0"], "frequency": "5m", "start": "2013-01-01", "end": "2014-11-30", "session": "all"})
}

/// Every stored minute of BENCH0 as 1m bars.
fn minute_query() -> Value {
    json!({"symbols": ["BENCH0"], "frequency": "1m", "start": "2013-01-01", "end": "2014-11-30", "session": "all"})
}

const BIG_QUERY_GET: &str =
    "symbols=BENCH0&frequency=5m&start=2013-01-01&end=2014-11-30&session=all";

async fn big_app(extra: impl FnOnce(&mut AppOptions)) -> (TestApp, tempfile::TempDir) {
    let (dir, path) = bench_db(700).await;
    let mut options = AppOptions {
        db: Some(path),
        limits: Limits::default(),
        ..Default::default()
    };
    extra(&mut options);
    (spawn_app_with(options).await, dir)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_million_bar_query_streams_in_order_and_its_checksum_matches_the_export() {
    let (app, _dir) = big_app(|_| {}).await;
    let (mut ws, _) = connect(&app).await;
    send(
        &mut ws,
        "historical_query",
        json!({"request_id": "r1", "query": big_query(), "chunk_size": 10000}),
    )
    .await;
    let mut chunks = Vec::new();
    let mut percents = Vec::new();
    let mut steps = Vec::new();
    let mut bars: Vec<Value> = Vec::new();
    let mut pinged = false;
    let mut pong = None;
    let complete = loop {
        let m = recv(&mut ws).await;
        let data = &m["data"];
        match m["message_type"].as_str().unwrap() {
            "historical_data_progress" => {
                assert_eq!(data["request_id"], "r1");
                percents.push(data["progress_percent"].as_f64().unwrap());
                steps.push(data["current_step"].as_str().unwrap().to_string());
                assert!(data["bars_expected"].as_u64().unwrap() >= 1_000_000 || steps.len() == 1);
            }
            "historical_data_chunk" => {
                assert_eq!(data["symbol"], "BENCH0");
                chunks.push((
                    data["chunk_number"].as_u64().unwrap(),
                    data["is_final_chunk"].as_bool().unwrap(),
                    data["total_chunks"].clone(),
                ));
                let part = data["bars"].as_array().unwrap();
                assert!(!part.is_empty() && part.len() <= 10_000);
                bars.extend(part.iter().cloned());
                if !pinged {
                    // Base messages behave the same while chunks flow.
                    send(&mut ws, "ping", json!({"sequence": 42})).await;
                    pinged = true;
                }
            }
            "pong" => pong = Some(data["sequence"].clone()),
            "historical_data_complete" => break m,
            "health_status" | "aggregation_progress" | "aggregation_complete" => {}
            other => panic!("unexpected {other}: {m}"),
        }
    };
    assert_eq!(pong, Some(json!(42)), "the ping was answered mid-stream");
    let n = chunks.len() as u64;
    // Pieces of ~34 days, one chunk each.
    assert!(n >= 10, "{n} chunks");
    for (i, (number, last, total)) in chunks.iter().enumerate() {
        assert_eq!(*number, i as u64 + 1, "chunks in order");
        assert_eq!(*last, i as u64 + 1 == n);
        if *last {
            assert_eq!(total, &json!(n));
        }
    }
    assert_eq!(steps[0], "resolving");
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert_eq!(*percents.last().unwrap(), 100.0);
    let data = &complete["data"];
    assert_eq!(data["symbol"], "BENCH0");
    assert_eq!(data["status"], "completed");
    assert_eq!(data["request_id"], "r1");
    assert_eq!(data["bars_retrieved"].as_u64().unwrap(), bars.len() as u64);
    assert_eq!(data["total_chunks"].as_u64().unwrap(), n);

    // The checksum is the SHA-256 of the NDJSON export, whose lines are the chunks' bars.
    let export = reqwest::get(app.api(&format!("export?format=ndjson&{BIG_QUERY_GET}")))
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let body = export.bytes().await.unwrap();
    assert_eq!(data["checksum"], sha256_hex(&body));
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), bars.len());
    // About 480 trading days of 192 bars (04:00 to 20:00).
    assert!(bars.len() > 90_000, "{}", bars.len());
    for i in [0, 1, bars.len() / 2, bars.len() - 1] {
        let mut line: Value = serde_json::from_slice(lines[i]).unwrap();
        line.as_object_mut().unwrap().remove("symbol");
        assert_eq!(line, bars[i], "bar {i}");
    }

    // The same query as a REST job, followed over the socket: the result has that checksum.
    let job: Value = reqwest::Client::new()
        .post(app.api("jobs"))
        .json(&json!({"format": "ndjson", "query": big_query()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let expected = job["bars_expected"].as_u64().unwrap();
    assert!(expected > 1_000_000, "{job}");
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "job", "job_id": id}),
    )
    .await;
    assert_eq!(
        recv_type(&mut ws, "subscription_acknowledged").await["data"]["status"],
        "subscribed"
    );
    let done = recv_type(&mut ws, "historical_data_complete").await;
    assert_eq!(done["data"]["query_id"], id.as_str());
    let url = done["data"]["result_url"].as_str().unwrap();
    let status: Value = reqwest::get(app.at(&format!("/api/v1/historical-data/jobs/{id}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["percent"], 100.0);
    assert_eq!(status["bars_done"].as_u64().unwrap(), expected);
    let result = reqwest::get(app.at(url)).await.unwrap();
    assert_eq!(result.status(), 200);
    assert_eq!(sha256_hex(&result.bytes().await.unwrap()), data["checksum"]);
}

#[tokio::test]
async fn cancel_stops_the_stream_and_jobs_are_bounded_and_private() {
    let (app, _dir) = big_app(|o| {
        o.jobs = JobSettings {
            max_running: 1,
            max_queued: 1,
            ..Default::default()
        };
    })
    .await;
    let (mut ws, _) = connect(&app).await;
    let query = minute_query();
    send(
        &mut ws,
        "historical_query",
        json!({"query": query, "chunk_size": 1000}),
    )
    .await;
    let mut received = 0u64;
    let mut chunks = 0;
    let query_id = loop {
        let m = recv(&mut ws).await;
        if m["message_type"] == "historical_data_chunk" {
            received += m["data"]["bars"].as_array().unwrap().len() as u64;
            chunks += 1;
            if chunks == 3 {
                break m["data"]["query_id"].as_str().unwrap().to_string();
            }
        }
    };
    send(
        &mut ws,
        "historical_query_cancel",
        json!({"query_id": query_id}),
    )
    .await;
    let cancelled = loop {
        let m = recv(&mut ws).await;
        match m["message_type"].as_str().unwrap() {
            "historical_data_chunk" => {
                received += m["data"]["bars"].as_array().unwrap().len() as u64
            }
            "historical_query_cancelled" => break m,
            "historical_data_complete" => panic!("the query ran to its end: {m}"),
            _ => {}
        }
    };
    assert_eq!(cancelled["data"]["query_id"], query_id.as_str());
    assert_eq!(cancelled["data"]["bars_sent"].as_u64().unwrap(), received);
    // Nothing of the query follows its cancel: the next message is the pong.
    send(&mut ws, "ping", json!({"sequence": 1})).await;
    loop {
        let m = recv(&mut ws).await;
        assert_ne!(m["message_type"], "historical_data_chunk", "{m}");
        if m["message_type"] == "pong" {
            break;
        }
    }

    // Jobs: one runs, one waits, the third is refused; cancel is visible; others see nothing.
    let client = reqwest::Client::new();
    let create = || {
        client
            .post(app.api("jobs"))
            .json(&json!({"format": "csv", "query": query}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second = create().await.unwrap();
    assert_eq!(second.status(), 202);
    let third = create().await.unwrap();
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_jobs");
    let id = first["id"].as_str().unwrap();
    let result = client
        .get(app.api(&format!("jobs/{id}/result")))
        .send()
        .await
        .unwrap();
    assert_eq!(result.status(), 409);
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let hidden = stranger
        .get(app.api(&format!("jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    let listed: Value = stranger
        .get(app.api("jobs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["jobs"], json!([]));
    let deleted = client
        .delete(app.api(&format!("jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let mut state = Value::Null;
    for _ in 0..100 {
        let s: Value = client
            .get(app.api(&format!("jobs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state = s["state"].clone();
        if state == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "cancelled");
    // Bad parameters are refused when the job is created.
    let bad = client
        .post(app.api("jobs"))
        .json(&json!({"query": {"symbols": ["NOPE"], "frequency": "1d", "start": "2013-01-01"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
    let bad = client
        .post(app.api("jobs"))
        .json(&json!({"format": "xls", "query": query}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn a_slow_consumer_is_dropped_while_others_keep_receiving() {
    let (app, _dir) = big_app(|o| {
        o.ws = WsSettings {
            queue_messages: 4,
            slow_consumer: Duration::from_millis(500),
            ..Default::default()
        };
    })
    .await;
    let (mut slow, _) = connect(&app).await;
    let query = minute_query();
    send(
        &mut slow,
        "historical_query",
        json!({"query": query, "chunk_size": 5000}),
    )
    .await;
    // The slow client reads nothing; meanwhile another client is served normally.
    let (mut normal, _) = connect(&app).await;
    let small = json!({"symbols": ["BENCH0"], "frequency": "1h", "start": "2013-01-01", "end": "2013-01-31"});
    send(&mut normal, "historical_query", json!({"query": small})).await;
    let done = recv_type(&mut normal, "historical_data_complete").await;
    assert!(done["data"]["bars_retrieved"].as_u64().unwrap() > 100);
    // Until the server gave up on it (the socket buffers, tens of MB on loopback, fill at the
    // speed the export runs, so wait for the drop rather than a fixed time).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let metrics = reqwest::get(app.at("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let dropped = metrics
            .lines()
            .find_map(|l| l.strip_prefix("tradeassist_ws_slow_consumers_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if dropped >= 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slow client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send(&mut normal, "ping", json!({"sequence": 5})).await;
    assert_eq!(recv_type(&mut normal, "pong").await["data"]["sequence"], 5);

    // The slow client finds the buffered chunks, then `slow_consumer`, then the close.
    let mut saw_error = false;
    let mut chunks = 0;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), slow.next())
            .await
            .expect("the server ends the connection");
        match frame {
            Some(Ok(Message::Text(t))) => {
                let m: Value = serde_json::from_str(t.as_str()).unwrap();
                match m["message_type"].as_str().unwrap() {
                    "historical_data_chunk" => chunks += 1,
                    "error" => {
                        assert_eq!(m["data"]["error_code"], "slow_consumer", "{m}");
                        saw_error = true;
                    }
                    "historical_data_complete" => panic!("a slow consumer got everything"),
                    _ => {}
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert!(
        saw_error,
        "slow_consumer error before the close ({chunks} chunks)"
    );
    assert!(
        chunks < 200,
        "{chunks} of ~202 chunks reached the slow client"
    );
    // The server is fine.
    let (mut again, _) = connect(&app).await;
    send(&mut again, "ping", json!({"sequence": 1})).await;
    assert_eq!(recv_type(&mut again, "pong").await["data"]["sequence"], 1);
}

/// Minute bars of SPY on 2013-10-07 from 09:30 ET for `n` minutes from minute `from`.
fn spy_minutes(from: u32, n: u32) -> String {
    let mut s = String::from("ts,symbol,open,high,low,close,volume\n");
    let open = 1_381_152_600i64;
    for i in from..from + n {
        let p = 100.0 + f64::from(i % 7) - f64::from(i % 3) * 0.5;
        s.push_str(&format!(
            "{},SPY,{p},{},{},{p},{}\n",
            open + 60 * i64::from(i),
            p + 1.0,
            p - 1.0,
            100 + i
        ));
    }
    s
}

#[tokio::test]
async fn bars_imported_by_another_process_reach_subscribers() {
    let app = spawn_app_with(AppOptions {
        follow_live: Some(Duration::from_millis(100)),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let import = |path: PathBuf| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tradeassist"))
            .arg("--db")
            .arg(&app.db_path)
            .arg("import")
            .arg(path)
            .env_remove("TRADEASSIST_DB")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    import(file("seed.csv", spy_minutes(0, 2)));
    let (mut ws, _) = connect(&app).await;
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "bars", "symbol": "SPY", "frequency": "5m"}),
    )
    .await;
    assert_eq!(
        recv_type(&mut ws, "subscription_acknowledged").await["data"]["status"],
        "subscribed"
    );
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "market_data", "symbol": "SPY"}),
    )
    .await;
    recv_type(&mut ws, "subscription_acknowledged").await;
    // Minutes 2..=11 arrive through another process: the 13:30 bucket closes with all five
    // of its minutes (two of them from before the subscription).
    import(file("live.csv", spy_minutes(2, 10)));
    let mut base = 0;
    let final_bar = loop {
        let m = recv(&mut ws).await;
        match m["message_type"].as_str().unwrap() {
            "market_data" => {
                assert_eq!(m["data"]["resolution"], "1m");
                base += 1;
            }
            "bar_update" if m["data"]["complete"] == true => break m,
            _ => {}
        }
    };
    let batch: Value =
        reqwest::get(app.api(
            "fetch?symbols=SPY&frequency=5m&start=2013-10-07T13:30:00Z&end=2013-10-07T13:35:00Z",
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = &batch["data"][0]["bars"][0];
    let got = &final_bar["data"]["bar"];
    for field in ["ts", "open", "high", "low", "close", "volume", "base_bars"] {
        assert_eq!(got[field], expected[field], "{field}: {got} vs {expected}");
    }
    assert_eq!(got["base_bars"], 5);
    assert_eq!(final_bar["data"]["frequency"], "5m");
    assert!(
        base >= 3,
        "{base} market_data messages before the final bar"
    );
}

#[tokio::test]
async fn replayed_bars_give_the_batch_bars() {
    let server = tradeassist_testkit::server::Server::start(
        env!("CARGO_BIN_EXE_tradeassist"),
        &["--demo", "--replay", "SPY", "--speed", "3000x"],
        &[],
    );
    let url = format!("{}/ws", server.url.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(
        recv(&mut ws).await["message_type"],
        "connection_established"
    );
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "bars", "symbol": "SPY", "frequency": "5m"}),
    )
    .await;
    recv_type(&mut ws, "subscription_acknowledged").await;
    send(
        &mut ws,
        "subscribe",
        json!({"channel": "market_data", "symbol": "SPY"}),
    )
    .await;
    recv_type(&mut ws, "subscription_acknowledged").await;
    let mut finals: Vec<Value> = Vec::new();
    let mut partials = 0;
    let mut base = 0;
    let (mut pongs, mut perf) = (0, 0);
    while finals.len() < 60 {
        let m = recv(&mut ws).await;
        match m["message_type"].as_str().unwrap() {
            "bar_update" if m["data"]["complete"] == true => {
                finals.push(m["data"]["bar"].clone());
                if finals.len() % 20 == 1 {
                    // Base messages behave the same while live messages flow.
                    send(&mut ws, "ping", json!({"sequence": finals.len()})).await;
                    send(&mut ws, "cache_performance", json!({})).await;
                }
            }
            "bar_update" => partials += 1,
            "market_data" => base += 1,
            "pong" => {
                pongs += 1;
                assert_eq!(m["data"]["sequence"], 20 * (pongs - 1) + 1);
            }
            "cache_performance" => perf += 1,
            _ => {}
        }
    }
    assert!(partials > 0 && base > 0);
    assert!(
        pongs >= 2 && perf >= 2,
        "{pongs} pongs, {perf} cache_performance"
    );
    let first = finals[0]["ts"].as_str().unwrap();
    let last = finals.last().unwrap()["ts"].as_str().unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(last).unwrap() + chrono::Duration::minutes(5);
    let batch: Value = reqwest::get(format!(
        "{}/api/v1/historical-data/fetch?symbols=SPY&frequency=5m&start={first}&end={}",
        server.url,
        end.to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let expected = batch["data"][0]["bars"].as_array().unwrap();
    assert_eq!(
        expected.len(),
        finals.len(),
        "one final live bar per batch bar"
    );
    for (live, batch) in finals.iter().zip(expected) {
        assert_eq!(live, batch, "live {live} vs batch {batch}");
    }
}

#[tokio::test]
async fn a_websocket_query_refuses_bad_parameters_with_an_error_message() {
    let app = spawn_app().await;
    let (mut ws, _) = connect(&app).await;
    send(
        &mut ws,
        "historical_query",
        json!({"request_id": "x", "query": {"symbols": ["NOPE"], "frequency": "1d", "start": "2013-01-01"}}),
    )
    .await;
    let e = recv_type(&mut ws, "historical_data_error").await;
    assert_eq!(e["data"]["error_type"], "unknown_symbol", "{e}");
    assert_eq!(e["data"]["request_id"], "x");
    send(
        &mut ws,
        "historical_query",
        json!({"query": {"symbols": ["SPY"], "frequency": "1d"}, "chunk_size": 0}),
    )
    .await;
    let e = recv_type(&mut ws, "historical_data_error").await;
    assert_eq!(e["data"]["error_type"], "invalid_message", "{e}");
    send(
        &mut ws,
        "historical_query",
        json!({"query": {"symbols": ["SPY"], "frequncy": "1d"}}),
    )
    .await;
    let e = recv_type(&mut ws, "error").await;
    assert_eq!(e["data"]["error_code"], "invalid_message", "{e}");
    // A small query over demo data: complete with one chunk and per-symbol counts.
    send(
        &mut ws,
        "historical_query",
        json!({"query": {"symbols": ["SPY", "AAPL"], "frequency": "1d", "start": "2013-10-01", "end": "2013-10-31"}}),
    )
    .await;
    let done = recv_type(&mut ws, "historical_data_complete").await;
    assert_eq!(done["data"]["symbol"], "ALL");
    let counts = done["data"]["symbols"].as_array().unwrap();
    assert_eq!(counts.len(), 2);
    assert!(
        counts.iter().all(|c| c["bars"].as_u64().unwrap() > 0),
        "{counts:?}"
    );
    assert_eq!(
        done["data"]["bars_retrieved"].as_u64().unwrap(),
        counts
            .iter()
            .map(|c| c["bars"].as_u64().unwrap())
            .sum::<u64>()
    );
}

#[test]
fn serve_refuses_a_bad_replay_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tradeassist"))
            .arg("--db")
            .arg(dir.path().join("empty.db"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("TRADEASSIST_DB")
            .output()
            .unwrap()
    };
    let unknown = run(&["--replay", "NOPE"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("NOPE"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    for speed in ["0x", "fast", "-2"] {
        let bad = run(&["--replay", "SPY", &format!("--speed={speed}")]);
        assert!(!bad.status.success(), "{speed}");
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("speed"),
            "{speed}"
        );
    }
    let bad_from = run(&["--replay", "SPY", "--from", "yesterday"]);
    assert!(!bad_from.status.success());
}
