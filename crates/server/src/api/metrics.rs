//! Prometheus metrics: the process-wide recorder, the HTTP middleware and `GET /metrics`.
//!
//! The `metrics` facade is used everywhere (the service's store decorator records store and
//! ingest series); this module installs the Prometheus recorder once per process and renders
//! its text format. Every series is listed in `docs/metrics.md`.
//!
//! HTTP series are labelled by the route *pattern* (`MatchedPath`, e.g.
//! `/api/v1/historical-data/instruments/{symbol}`), never the raw path, so label cardinality
//! stays bounded; requests no route matched are `route="unmatched"`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tradeassist_service::now;

use super::AppState;

/// Counter of answered requests, labelled `method`, `route`, `status`.
pub const HTTP_REQUESTS: &str = "tradeassist_http_requests_total";
/// Histogram of request latency, labelled `method`, `route`, `status`.
pub const HTTP_DURATION: &str = "tradeassist_http_request_duration_seconds";
/// Gauge of requests being handled.
pub const HTTP_IN_FLIGHT: &str = "tradeassist_http_requests_in_flight";
/// Gauge: seconds since the newest stored bar's interval start, per `asset_class`.
pub const DATA_AGE: &str = "tradeassist_data_newest_bar_age_seconds";
/// Gauge: interval start (epoch seconds) of the newest stored bar, per `asset_class`.
pub const DATA_NEWEST: &str = "tradeassist_data_newest_bar_timestamp_seconds";
/// Gauge fixed at 1, labelled `version` and `git_sha`.
pub const BUILD_INFO: &str = "tradeassist_build_info";
/// Gauge of the provider's circuit: 0 closed, 1 half-open, 2 open; labelled `provider`.
pub const PROVIDER_CIRCUIT: &str = "tradeassist_provider_circuit_state";
/// Counters of the provider's vendor requests, labelled `provider`.
pub const PROVIDER_CALLS: &str = "tradeassist_provider_calls_total";
pub const PROVIDER_FAILURES: &str = "tradeassist_provider_failures_total";
pub const PROVIDER_REJECTED: &str = "tradeassist_provider_rejected_total";
pub const PROVIDER_RETRIES: &str = "tradeassist_provider_retries_total";
pub const PROVIDER_TIMEOUTS: &str = "tradeassist_provider_timeouts_total";
/// Gauge: requests of the provider's rate budget not used in the last minute.
pub const PROVIDER_RATE_REMAINING: &str = "tradeassist_provider_rate_remaining";
/// Gauge: open WebSocket connections.
pub const WS_CONNECTIONS: &str = "tradeassist_ws_connections";
/// Counter: WebSocket messages queued to clients, by `message_type`.
pub const WS_MESSAGES: &str = "tradeassist_ws_messages_sent_total";
/// Counter: WebSocket clients dropped as slow consumers.
pub const WS_SLOW: &str = "tradeassist_ws_slow_consumers_total";
/// Gauge: jobs queued or running.
pub const JOBS_ACTIVE: &str = "tradeassist_jobs_active";
/// Counter: finished jobs, by `state` (`done`, `failed`, `cancelled`).
pub const JOBS_FINISHED: &str = "tradeassist_jobs_finished_total";

/// Histogram buckets (seconds) of every `*_seconds` histogram; the latency SLO of the alert
/// rules (500 ms) is one of the boundaries.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The commit the binary was built from (`unknown` without git at build time).
pub const GIT_SHA: &str = env!("TRADEASSIST_GIT_SHA");

/// The process's recorder handle, installing the recorder on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("bucket list is not empty")
        };
        let handle = builder().install_recorder().unwrap_or_else(|e| {
            // Another recorder owns the process (an embedding program): render an empty one.
            tracing::warn!(error = %e, "metrics recorder already installed elsewhere");
            builder().build_recorder().handle()
        });
        describe();
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "git_sha" => GIT_SHA)
            .set(1.0);
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use tradeassist_service::metered;
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency, by route pattern and status"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled");
    describe_histogram!(
        metered::STORE_DURATION,
        Unit::Seconds,
        "Store call latency, by operation and outcome"
    );
    describe_counter!(
        metered::INGEST_BARS,
        "Bars written by ingests, by data source"
    );
    describe_histogram!(
        metered::IMPORT_DURATION,
        Unit::Seconds,
        "Duration of whole imports, by outcome"
    );
    describe_gauge!(
        DATA_AGE,
        Unit::Seconds,
        "Seconds since the interval start of the newest stored bar, by asset class"
    );
    describe_gauge!(
        DATA_NEWEST,
        Unit::Seconds,
        "Interval start (epoch seconds) of the newest stored bar, by asset class"
    );
    describe_gauge!(BUILD_INFO, "Build of the running binary (always 1)");
    describe_gauge!(WS_CONNECTIONS, "Open WebSocket connections");
    describe_counter!(
        WS_MESSAGES,
        "WebSocket messages queued to clients, by message type"
    );
    describe_counter!(WS_SLOW, "WebSocket clients dropped as slow consumers");
    describe_gauge!(JOBS_ACTIVE, "Query jobs queued or running");
    describe_counter!(JOBS_FINISHED, "Finished query jobs, by end state");
    describe_gauge!(
        PROVIDER_CIRCUIT,
        "Circuit of the provider: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(PROVIDER_CALLS, "Vendor requests let through the breaker");
    describe_counter!(
        PROVIDER_FAILURES,
        "Vendor requests that failed after retries"
    );
    describe_counter!(
        PROVIDER_REJECTED,
        "Requests refused while the circuit was open"
    );
    describe_counter!(
        PROVIDER_RETRIES,
        "Attempts repeated after a transient error"
    );
    describe_counter!(PROVIDER_TIMEOUTS, "Attempts that ran into the timeout");
    describe_gauge!(
        PROVIDER_RATE_REMAINING,
        "Requests of the rate budget not used in the last minute"
    );
}

/// The provider's breaker and counters, read at the scrape (exact, no double counting).
fn report_provider(provider: &dyn tradeassist_service::SourceProvider) {
    use tradeassist_providers::resilience::CircuitState;
    let stats = provider.status();
    let name = provider.name().to_string();
    let state = match stats.circuit.state {
        CircuitState::Closed => 0.0,
        CircuitState::HalfOpen => 1.0,
        CircuitState::Open => 2.0,
    };
    metrics::gauge!(PROVIDER_CIRCUIT, "provider" => name.clone()).set(state);
    for (series, value) in [
        (PROVIDER_CALLS, stats.circuit.calls),
        (PROVIDER_FAILURES, stats.circuit.failures),
        (PROVIDER_REJECTED, stats.circuit.rejected),
        (PROVIDER_RETRIES, stats.retries),
        (PROVIDER_TIMEOUTS, stats.timeouts),
    ] {
        metrics::counter!(series, "provider" => name.clone()).absolute(value);
    }
    if let Some(left) = stats.remaining_this_minute {
        metrics::gauge!(PROVIDER_RATE_REMAINING, "provider" => name).set(f64::from(left));
    }
}

/// Decrements the in-flight gauge however the request ends (answered, cancelled, panicked).
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        metrics::gauge!(HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// A bounded method label: the standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: count and time every request by route pattern and status.
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = InFlight::enter();
    let response = next.run(req).await;
    drop(in_flight);
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status),
    ];
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    response
}

/// `GET /metrics`: every series in the Prometheus text format (0.0.4). The data-freshness
/// gauges are refreshed from the store's series extents at each scrape.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let handle = handle();
    match state.service.newest_bars().await {
        Ok(newest) => {
            let now = now();
            for bar in newest {
                let class = bar.asset_class.as_str();
                metrics::gauge!(DATA_AGE, "asset_class" => class).set((now - bar.ts) as f64);
                metrics::gauge!(DATA_NEWEST, "asset_class" => class).set(bar.ts as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "data freshness unavailable for this scrape"),
    }
    if let Some(provider) = state.service.provider() {
        report_provider(provider.as_ref());
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
