//! Access control against the real router and the real binary: tokens and roles, open mode,
//! per-token rate limits, the WebSocket handshake, the token CLI.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tradeassist_model::Role;
use tradeassist_server::auth::{AuthMode, AuthSettings};
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

async fn token_app(auth: AuthSettings) -> TestApp {
    spawn_app_with(AppOptions {
        demo: true,
        auth,
        ..Default::default()
    })
    .await
}

fn tokens() -> AuthSettings {
    AuthSettings {
        mode: AuthMode::Token,
        ..Default::default()
    }
}

async fn call(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const FETCH: &str = "fetch?symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-02-01";

fn save_body(name: &str) -> Value {
    json!({"name": name, "parameters": {"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-02-01"}})
}

#[tokio::test]
async fn every_route_needs_a_token_with_the_right_role() {
    let app = token_app(tokens()).await;
    let (_, read) = app
        .service
        .create_token("reader", Role::Read)
        .await
        .unwrap();
    let (_, write) = app
        .service
        .create_token("writer", Role::Write)
        .await
        .unwrap();
    let (_, admin) = app.service.create_token("ops", Role::Admin).await.unwrap();

    // No token, a malformed one, an unknown one, another scheme: 401 in the JSON shape.
    let resp = Client::new().get(app.api(FETCH)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let unknown = format!("ta_{}", "0".repeat(64));
    for bad in ["nonsense", unknown.as_str()] {
        let (status, body) = call(Method::GET, &app.api(FETCH), Some(bad), None).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let basic = Client::new()
        .get(app.api(FETCH))
        .basic_auth("user", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    // Unknown API paths are not revealed without a token.
    let (status, _) = call(
        Method::GET,
        &app.at("/api/v1/historical-data/nope"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);

    // Open to anyone: probes, the API docs, the UI.
    for path in ["/health/live", "/health/ready", "/api/openapi.json", "/"] {
        let (status, _) = call(Method::GET, &app.at(path), None, None).await;
        assert_eq!(status, 200, "{path}");
    }
    // Metrics need a read token.
    assert_eq!(
        call(Method::GET, &app.at("/metrics"), None, None).await.0,
        401
    );
    assert_eq!(
        call(Method::GET, &app.at("/metrics"), Some(&read), None)
            .await
            .0,
        200
    );

    // Read: data routes yes, saved-query changes and backfills no.
    let (status, body) = call(Method::GET, &app.api(FETCH), Some(&read), None).await;
    assert_eq!(status, 200, "{body}");
    // January 2013 has 21 sessions; the end date is included.
    assert_eq!(body["data"][0]["bars"].as_array().unwrap().len(), 22);
    for path in [
        "instruments",
        "frequencies",
        "queries",
        "gaps?symbol=AAPL&frequency=1d&start=2013-01-01&end=2013-02-01",
    ] {
        let (status, body) = call(Method::GET, &app.api(path), Some(&read), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let forbidden = [
        (Method::POST, "queries/save", Some(save_body("read"))),
        (Method::PUT, "queries/1", Some(save_body("read"))),
        (Method::DELETE, "queries/1", None),
        (Method::POST, "backfill", Some(json!({"symbols": ["AAPL"]}))),
    ];
    for (method, path, body) in forbidden.clone() {
        let (status, answer) = call(method.clone(), &app.api(path), Some(&read), body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    // Nothing was saved by the refused request.
    let (_, listed) = call(Method::GET, &app.api("queries"), Some(&read), None).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");

    // Write: saved queries yes, backfills no.
    let (status, saved) = call(
        Method::POST,
        &app.api("queries/save"),
        Some(&write),
        Some(save_body("w")),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_i64().unwrap();
    let (status, _) = call(
        Method::PUT,
        &app.api(&format!("queries/{id}")),
        Some(&write),
        Some(save_body("w2")),
    )
    .await;
    assert_eq!(status, 200);
    // A read token runs it.
    let (status, ran) = call(
        Method::POST,
        &app.api(&format!("queries/{id}/run")),
        Some(&read),
        None,
    )
    .await;
    assert_eq!(status, 200, "{ran}");
    let (status, _) = call(
        Method::POST,
        &app.api("backfill"),
        Some(&write),
        Some(json!({"symbols": ["AAPL"]})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        Method::DELETE,
        &app.api(&format!("queries/{id}")),
        Some(&write),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Admin passes the check (this app has no provider: the backfill itself is refused).
    let (status, body) = call(
        Method::POST,
        &app.api("backfill"),
        Some(&admin),
        Some(json!({"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-02-01"})),
    )
    .await;
    assert!(status != 401 && status != 403, "{status} {body}");
}

#[tokio::test]
async fn jobs_belong_to_their_token() {
    let app = token_app(tokens()).await;
    let (_, alice) = app.service.create_token("alice", Role::Read).await.unwrap();
    let (_, bob) = app.service.create_token("bob", Role::Read).await.unwrap();
    let job = json!({"format": "csv", "query": {"symbols": ["AAPL"], "frequency": "1d", "start": "2013-01-01", "end": "2013-02-01"}});
    let (status, created) = call(Method::POST, &app.api("jobs"), Some(&alice), Some(job)).await;
    assert!(status.is_success(), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        Method::GET,
        &app.api(&format!("jobs/{id}")),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        Method::GET,
        &app.api(&format!("jobs/{id}")),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, listed) = call(Method::GET, &app.api("jobs"), Some(&bob), None).await;
    assert!(listed["jobs"].as_array().unwrap().is_empty(), "{listed}");
    let (status, _) = call(
        Method::DELETE,
        &app.api(&format!("jobs/{id}")),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_revoked_token_is_refused_within_seconds() {
    let app = token_app(tokens()).await;
    let (token, secret) = app
        .service
        .create_token("leaked", Role::Read)
        .await
        .unwrap();
    assert_eq!(
        call(Method::GET, &app.api(FETCH), Some(&secret), None)
            .await
            .0,
        200
    );
    app.service.revoke_token(token.id).await.unwrap();
    let revoked = Instant::now();
    loop {
        let (status, _) = call(Method::GET, &app.api(FETCH), Some(&secret), None).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after revocation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked.elapsed() <= tradeassist_server::auth::LOOKUP_TTL + Duration::from_secs(1));
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    let app = token_app(AuthSettings {
        rate_per_token_per_minute: 3,
        ..tokens()
    })
    .await;
    let (_, busy) = app.service.create_token("busy", Role::Read).await.unwrap();
    let (_, calm) = app.service.create_token("calm", Role::Read).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            call(Method::GET, &app.api("frequencies"), Some(&busy), None)
                .await
                .0,
            200
        );
    }
    let resp = Client::new()
        .get(app.api("frequencies"))
        .bearer_auth(&busy)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        call(Method::GET, &app.api("frequencies"), Some(&calm), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_websocket_needs_a_token_and_an_allowed_origin() {
    let app = token_app(tokens()).await;
    let (_, read) = app.service.create_token("ws", Role::Read).await.unwrap();
    let url = app.url.replace("http://", "ws://") + "/ws";
    let status_of = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Ok(_) => 101,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(&url).await.map(|_| ())),
        401
    );
    let bad = format!("{url}?token=ta_{}", "1".repeat(64));
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(&bad).await.map(|_| ())),
        401
    );
    // A browser's way: the token as a query parameter.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}?token={read}"))
        .await
        .expect("a token in the query connects");
    use futures::StreamExt;
    let first = ws.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("connection_established"));
    // A client's way: the Authorization header.
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {read}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("a bearer header connects");
    // A good token from a foreign page: refused.
    let mut req = format!("{url}?token={read}").into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(
        status_of(tokio_tungstenite::connect_async(req).await.map(|_| ())),
        403
    );
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = spawn_app_with(AppOptions {
        cors_origins: vec!["https://app.example".into()],
        ..Default::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        Client::new()
            .request(Method::OPTIONS, app.api("fetch"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // No CORS configured: no CORS headers at all (not a wildcard).
    let plain = spawn_app_with(AppOptions::default()).await;
    let resp = Client::new()
        .get(plain.api("frequencies"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

fn tradeassist(db: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tradeassist"));
    cmd.arg("--db").arg(db).args(args);
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("TRADEASSIST_") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn open_mode_is_refused_on_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    for (args, env) in [
        (vec!["serve", "--open", "--listen", "0.0.0.0:0"], vec![]),
        (
            vec!["serve", "--listen", "0.0.0.0:0"],
            vec![("TRADEASSIST_AUTH", "open")],
        ),
    ] {
        let out = tradeassist(&db, &args, &env);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("open mode") && stderr.contains("refused"),
            "{stderr}"
        );
        assert!(!stderr.contains("listening on"), "{stderr}");
    }
    let bad = tradeassist(&db, &["serve"], &[("TRADEASSIST_AUTH", "sometimes")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("TRADEASSIST_AUTH"));
}

#[test]
fn tokens_are_created_listed_and_revoked_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = tradeassist(
        &db,
        &["token", "create", "--role", "read", "--name", "ci"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.lines().last().unwrap().to_string();
    assert!(secret.starts_with("ta_") && secret.len() == 67, "{stdout}");
    let list = tradeassist(&db, &["token", "list"], &[]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(
        listed.contains("\tread\tci\t") && listed.contains("active"),
        "{listed}"
    );
    // Never the secret, not even its hash.
    assert!(!listed.contains(&secret[3..]), "{listed}");
    let id = listed.split('\t').next().unwrap();
    let revoke = tradeassist(&db, &["token", "revoke", id], &[]);
    assert!(revoke.status.success());
    let listed = String::from_utf8(tradeassist(&db, &["token", "list"], &[]).stdout).unwrap();
    assert!(listed.contains("revoked"), "{listed}");
    // Bad input: a clear message and a non-zero exit.
    let bad_role = tradeassist(&db, &["token", "create", "--role", "root"], &[]);
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("read, write or admin"));
    let unknown = tradeassist(&db, &["token", "revoke", "999"], &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("999"));
}
