//! Limits of the HTTP server loop (`[limits]`): the per-IP rate limit, and clients that never
//! finish their request head or body.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tradeassist_server::http::ServerLimits;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

async fn app(limits: ServerLimits) -> TestApp {
    spawn_app_with(AppOptions {
        server_limits: limits,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn past_the_rate_limit_requests_get_429_with_retry_after() {
    let app = app(ServerLimits {
        rate_per_ip_per_minute: 5,
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let r = client.get(app.api("frequencies")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = client.get(app.api("frequencies")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["details"]["retry_after_secs"], retry);
    // Probes are not limited.
    let r = client.get(app.at("/health/live")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Connect, send `parts` with `pause` between them, and return how long until the server
/// closed the connection, and what it sent.
async fn closed_after(app: &TestApp, parts: &[&[u8]], pause: Duration) -> (Duration, String) {
    let addr = app.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    for part in parts {
        if stream.write_all(part).await.is_err() {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept the connection open for 20 s");
    (
        started.elapsed(),
        String::from_utf8_lossy(&got).into_owned(),
    )
}

#[tokio::test]
async fn half_sent_and_trickled_requests_are_dropped() {
    let app = app(ServerLimits {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    // Half a request head, then silence.
    let (after, _) = closed_after(
        &app,
        &[b"GET /api/v1/historical-data/frequencies HTTP/1.1\r\nHost: x\r\n"],
        Duration::ZERO,
    )
    .await;
    assert!(after < Duration::from_secs(5), "{after:?}");
    // The head trickled a byte every 100 ms: the timeout counts from its first byte.
    let head = b"GET /api/v1/historical-data/frequencies HTTP/1.1\r\nHost: trickle\r\n\r\n";
    let bytes: Vec<&[u8]> = head.chunks(1).collect();
    let (after, got) = closed_after(&app, &bytes, Duration::from_millis(100)).await;
    assert!(after < Duration::from_secs(5), "{after:?}");
    assert!(!got.contains("200 OK"), "{got}");
    // A body that never arrives: a JSON error, then the close.
    let (after, got) = closed_after(
        &app,
        &[b"POST /api/v1/historical-data/fetch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"symbols\""],
        Duration::ZERO,
    )
    .await;
    assert!(after < Duration::from_secs(5), "{after:?}");
    let status = got.lines().next().unwrap_or_default();
    assert!(status.contains(" 4"), "{got}");
    assert!(got.contains("\"error\""), "{got}");
    // A whole request is still served.
    let r = reqwest::get(app.api("frequencies")).await.unwrap();
    assert_eq!(r.status(), 200);
}
