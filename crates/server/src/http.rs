//! The HTTP server loop and its limits (`[limits]`): a client that does not finish its request
//! headers within `header_timeout` is dropped (hyper's header read timeout: a half-sent request
//! or headers trickled a byte at a time), a request body must arrive within `body_timeout`, a
//! handler must produce its response head within `request_timeout` (504), at most
//! `max_concurrent` requests are handled at once (503 beyond), and each client IP may send
//! `rate_per_ip_per_minute` requests (429 with `Retry-After`). Every refusal is the API's JSON
//! error shape. Health checks are exempt from the rate and concurrency limits.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::api::ApiError;

/// Limits of the HTTP server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    /// Requests per client IP and minute; 0 turns the limit off.
    pub rate_per_ip_per_minute: u32,
    pub max_concurrent: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            rate_per_ip_per_minute: 6_000,
            max_concurrent: 512,
        }
    }
}

/// Paths outside the rate and concurrency limits (probes must see an overloaded server).
fn exempt(path: &str) -> bool {
    path.starts_with("/health/")
}

struct Guards {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    slots: Semaphore,
    request_timeout: Duration,
}

/// `app` with the per-request limits of `limits` (rate, concurrency, body and request
/// timeouts). The header timeout belongs to the connection: see [`serve`].
pub fn with_limits(app: Router, limits: &ServerLimits) -> Router {
    let guards = Arc::new(Guards {
        limiter: NonZeroU32::new(limits.rate_per_ip_per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        slots: Semaphore::new(limits.max_concurrent.max(1)),
        request_timeout: limits.request_timeout,
    });
    app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ))
    .layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let guards = guards.clone();
            async move { guard(&guards, req, next).await }
        },
    ))
}

/// 429 `rate_limited` for `who` (an IP address, a token), with `Retry-After` in whole seconds.
pub(crate) fn rate_limited(who: &str, wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests from {who}; retry in {secs} s"),
    )
    .with_details(serde_json::json!({ "retry_after_secs": secs }))
    .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).expect("digits"),
    );
    resp
}

async fn guard(guards: &Guards, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if exempt(&path) {
        return next.run(req).await;
    }
    if let Some(limiter) = &guards.limiter {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        if let Err(not_until) = limiter.check_key(&ip) {
            return rate_limited(
                &ip.to_string(),
                not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                )),
            );
        }
    }
    let Ok(_permit) = guards.slots.try_acquire() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is handling its limit of concurrent requests; retry shortly",
        )
        .into_response();
    };
    // A WebSocket upgrade answers at once; the connection lives on outside the handler.
    match tokio::time::timeout(guards.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "the request took longer than {} ms",
                guards.request_timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then let open requests finish (at
/// most 10 s). Requests carry the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let app = with_limits(app, limits);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let svc =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(svc),
            );
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within 10 s of the shutdown");
    }
    Ok(())
}
