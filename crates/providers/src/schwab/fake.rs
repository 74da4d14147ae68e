//! A fake Schwab API for tests (feature `fake`): an axum server on `127.0.0.1:0` with the
//! token endpoint and price history, scriptable faults and request counters.
//!
//! * `POST /v1/oauth/token` checks HTTP Basic `client_id:client_secret` and the refresh
//!   token, and issues `fake-access-N` tokens living [`FakeSchwab::set_token_lifetime`]
//!   (default 1800 s, Schwab's). With [`FakeSchwab::rotate_refresh_tokens`] every answer
//!   carries a new refresh token and the old one stops working.
//! * `GET /marketdata/v1/pricehistory` checks the bearer token (401 when unknown or
//!   expired), validates the parameter combination like Schwab (400 otherwise; minute
//!   windows of at most 10 days), and serves the bars given to [`FakeSchwab::insert_bars`]
//!   whose candle time lies in `[startDate, endDate]` (both ends included, as a vendor may:
//!   clients must cut windows themselves). Minute bars can be served at `frequency` 5, 10,
//!   15 or 30 (aggregated); daily candles are stamped at midnight US Central, as Schwab does.
//!   A symbol without bars gets a 400 naming the symbol.
//! * [`FakeSchwab::fail_next`] scripts the next price-history answers ([`Fault`]).
//! * [`FakeSchwab::counts`] and [`FakeSchwab::history_queries`] tell what was asked.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use tradeassist_model::{AssetClass, Bar, Resolution, TimeRange};
//! use tradeassist_providers::schwab::fake::FakeSchwab;
//! use tradeassist_providers::{BarRequest, Provider, schwab::SchwabClient};
//!
//! let fake = FakeSchwab::start().await.unwrap();
//! fake.insert_bars("AAPL", Resolution::Day, [Bar::new(1_704_153_600, 1.0, 2.0, 0.5, 1.5, 10.0).unwrap()]);
//! let client = SchwabClient::new(&fake.config()).unwrap();
//! let range = TimeRange::new(1_704_067_200, 1_704_326_400).unwrap();
//! let bars = client
//!     .fetch_bars(&BarRequest::new("AAPL", AssetClass::Stock, Resolution::Day, range))
//!     .await
//!     .unwrap();
//! assert_eq!(bars.len(), 1);
//! assert_eq!((fake.counts().token, fake.counts().price_history), (1, 1));
//! # }
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::json;
use tradeassist_model::time::utc_date;
use tradeassist_model::{Bar, Resolution, local_midnight};

use super::config::SchwabConfig;

/// Credentials the fake accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

impl Default for FakeCredentials {
    fn default() -> Self {
        FakeCredentials {
            client_id: "fake-client-id".to_string(),
            client_secret: "fake-client-secret".to_string(),
            refresh_token: "fake-refresh-token-0".to_string(),
        }
    }
}

/// One scripted price-history answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally (to script a fault for a later request: `Normal`, then the fault).
    Normal,
    /// That HTTP status with a JSON error body.
    Status(u16),
    /// 429 with `Retry-After: <secs>`.
    TooManyRequests { retry_after_secs: u64 },
    /// Wait this long, then answer normally (to run into the client's timeout).
    Delay(Duration),
    /// A 200 whose JSON stops in the middle.
    TruncatedJson,
    /// Candle 1 (candle 0 when there is one; an extra one when there is none) gets a high
    /// below its low.
    InvalidCandle,
    /// Candle 0 repeated as candle 1.
    DuplicateCandle,
    /// Candles 0 and 1 swapped.
    OutOfOrderCandle,
    /// 200 `{"symbol", "empty": true, "error": "..."}`: how Schwab may say "no such symbol".
    UnknownSymbol,
    /// 401 whatever the token.
    Unauthorized,
}

/// Requests seen, per endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Token requests (answered or refused).
    pub token: u64,
    /// Price-history requests (answered, faulted or refused).
    pub price_history: u64,
    /// Price-history requests refused with 401.
    pub unauthorized: u64,
}

/// One price-history request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub symbol: String,
    pub period_type: Option<String>,
    pub period: Option<u32>,
    pub frequency_type: Option<String>,
    pub frequency: Option<u32>,
    /// Epoch milliseconds.
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub need_extended_hours_data: Option<bool>,
    pub need_previous_close: Option<bool>,
}

struct State_ {
    credentials: FakeCredentials,
    rotate: bool,
    token_lifetime: Duration,
    token_seq: u64,
    /// Access token -> expiry.
    access: HashMap<String, Instant>,
    series: HashMap<(String, Resolution), BTreeMap<i64, Bar>>,
    faults: VecDeque<Fault>,
    token_faults: VecDeque<u16>,
    counts: Counts,
    queries: Vec<HistoryQuery>,
}

type Shared = Arc<Mutex<State_>>;

/// A running fake Schwab API; stops when dropped.
pub struct FakeSchwab {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeSchwab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSchwab")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeSchwab {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSchwab {
    /// Start with [`FakeCredentials::default`] on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<FakeSchwab> {
        FakeSchwab::start_with(FakeCredentials::default()).await
    }

    /// Start accepting `credentials`.
    pub async fn start_with(credentials: FakeCredentials) -> std::io::Result<FakeSchwab> {
        let state: Shared = Arc::new(Mutex::new(State_ {
            credentials,
            rotate: false,
            token_lifetime: Duration::from_secs(1800),
            token_seq: 0,
            access: HashMap::new(),
            series: HashMap::new(),
            faults: VecDeque::new(),
            token_faults: VecDeque::new(),
            counts: Counts::default(),
            queries: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/oauth/token", post(token))
            .route("/marketdata/v1/pricehistory", get(price_history))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeSchwab { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A valid, enabled config pointing at this server with its credentials (everything else
    /// at the defaults; tests usually shorten the retry delays).
    pub fn config(&self) -> SchwabConfig {
        let state = self.lock();
        SchwabConfig {
            enabled: true,
            base_url: self.base_url(),
            client_id: state.credentials.client_id.clone(),
            client_secret: state.credentials.client_secret.clone().into(),
            refresh_token: state.credentials.refresh_token.clone().into(),
            ..SchwabConfig::default()
        }
    }

    /// Serve `bars` for `schwab_symbol` (Schwab's notation: `AAPL`, `$SPX`, `/ESZ24`) at
    /// `resolution`; a bar at an existing time replaces it.
    pub fn insert_bars(
        &self,
        schwab_symbol: &str,
        resolution: Resolution,
        bars: impl IntoIterator<Item = Bar>,
    ) {
        let mut state = self.lock();
        let series = state
            .series
            .entry((schwab_symbol.to_ascii_uppercase(), resolution))
            .or_default();
        for bar in bars {
            series.insert(bar.ts(), bar);
        }
    }

    /// Answer the next `n` price-history requests with `fault` (after faults queued before).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.lock();
        state.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Answer the next `n` token requests with HTTP `status` (a JSON OAuth error body).
    pub fn fail_next_token(&self, n: usize, status: u16) {
        self.lock()
            .token_faults
            .extend(std::iter::repeat_n(status, n));
    }

    /// `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Issue a new refresh token with every token answer (the old one stops working).
    pub fn rotate_refresh_tokens(&self, rotate: bool) {
        self.lock().rotate = rotate;
    }

    /// Make every access token issued so far invalid (the next use gets a 401).
    pub fn expire_access_tokens(&self) {
        self.lock().access.clear();
    }

    /// The refresh token the token endpoint accepts now.
    pub fn refresh_token(&self) -> String {
        self.lock().credentials.refresh_token.clone()
    }

    /// Requests seen so far.
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    /// Every price-history request so far, in order.
    pub fn history_queries(&self) -> Vec<HistoryQuery> {
        self.lock().queries.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State_> {
        lock(&self.state)
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, State_> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": format!("fake: {code}")})),
    )
        .into_response()
}

fn api_error(status: StatusCode, detail: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{
            "id": "fake",
            "status": status.as_u16().to_string(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "detail": detail,
        }]})),
    )
        .into_response()
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    s.counts.token += 1;
    if let Some(status) = s.token_faults.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return oauth_error(status, "server_error");
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            s.credentials.client_id, s.credentials.client_secret
        ))
    );
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization != Some(expected.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if form.get("refresh_token") != Some(&s.credentials.refresh_token) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    s.token_seq += 1;
    let access = format!("fake-access-{}", s.token_seq);
    let lifetime = s.token_lifetime;
    s.access.insert(access.clone(), Instant::now() + lifetime);
    if s.rotate {
        s.credentials.refresh_token = format!("fake-refresh-token-{}", s.token_seq);
    }
    Json(json!({
        "access_token": access,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
        "scope": "api",
        "refresh_token": s.credentials.refresh_token,
        "id_token": "fake-id-token",
    }))
    .into_response()
}

/// Parse a query parameter; `Err` names it.
fn param<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, String> {
    q.get(key)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| format!("invalid value of {key}: {v}"))
        })
        .transpose()
}

fn history_query(q: &HashMap<String, String>) -> Result<HistoryQuery, String> {
    Ok(HistoryQuery {
        symbol: q.get("symbol").cloned().unwrap_or_default(),
        period_type: q.get("periodType").cloned(),
        period: param(q, "period")?,
        frequency_type: q.get("frequencyType").cloned(),
        frequency: param(q, "frequency")?,
        start_date: param(q, "startDate")?,
        end_date: param(q, "endDate")?,
        need_extended_hours_data: param(q, "needExtendedHoursData")?,
        need_previous_close: param(q, "needPreviousClose")?,
    })
}

/// Schwab's valid combinations; `Ok((resolution, minutes per candle))`.
fn check_combination(q: &HistoryQuery) -> Result<(Resolution, u32), String> {
    let period_type = q.period_type.as_deref().unwrap_or("day");
    let (periods, frequency_types): (&[u32], &[&str]) = match period_type {
        "day" => (&[1, 2, 3, 4, 5, 10], &["minute"]),
        "month" => (&[1, 2, 3, 6], &["daily", "weekly"]),
        "year" => (&[1, 2, 3, 5, 10, 15, 20], &["daily", "weekly", "monthly"]),
        "ytd" => (&[1], &["daily", "weekly"]),
        other => return Err(format!("invalid periodType: {other}")),
    };
    if let Some(p) = q.period
        && !periods.contains(&p)
    {
        return Err(format!("invalid period {p} for periodType {period_type}"));
    }
    let frequency_type = q.frequency_type.as_deref().unwrap_or(frequency_types[0]);
    if !frequency_types.contains(&frequency_type) {
        return Err(format!(
            "invalid frequencyType {frequency_type} for periodType {period_type}"
        ));
    }
    let frequency = q.frequency.unwrap_or(1);
    match frequency_type {
        "minute" if [1, 5, 10, 15, 30].contains(&frequency) => Ok((Resolution::Minute, frequency)),
        "daily" if frequency == 1 => Ok((Resolution::Day, 1)),
        "weekly" | "monthly" => Err(format!("the fake serves no {frequency_type} candles")),
        _ => Err(format!(
            "invalid frequency {frequency} for frequencyType {frequency_type}"
        )),
    }
}

fn candle(bar: &Bar, datetime: i64) -> serde_json::Value {
    json!({
        "open": bar.open(),
        "high": bar.high(),
        "low": bar.low(),
        "close": bar.close(),
        "volume": bar.volume(),
        "datetime": datetime,
    })
}

/// Minute bars merged into candles of `n` minutes (labelled by their start).
fn aggregate(bars: &[(i64, Bar)], n: u32) -> Vec<serde_json::Value> {
    let width = i64::from(n) * 60_000;
    let mut out: Vec<(i64, [f64; 5])> = Vec::new();
    for (ms, b) in bars {
        let start = ms.div_euclid(width) * width;
        match out.last_mut() {
            Some((s, v)) if *s == start => {
                v[1] = v[1].max(b.high());
                v[2] = v[2].min(b.low());
                v[3] = b.close();
                v[4] += b.volume();
            }
            _ => out.push((start, [b.open(), b.high(), b.low(), b.close(), b.volume()])),
        }
    }
    out.into_iter()
        .map(|(s, v)| {
            json!({"open": v[0], "high": v[1], "low": v[2], "close": v[3], "volume": v[4], "datetime": s})
        })
        .collect()
}

const DAY_MS: i64 = 86_400_000;

async fn price_history(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let fault = {
        let mut s = lock(&state);
        s.counts.price_history += 1;
        s.faults.pop_front()
    };
    match &fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return api_error(status, "fake: scripted failure");
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = api_error(StatusCode::TOO_MANY_REQUESTS, "fake: too many requests");
            r.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after_secs.to_string().parse().expect("digits"),
            );
            return r;
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let mut s = lock(&state);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|t| s.access.get(t))
        .is_some_and(|expiry| Instant::now() < *expiry);
    if !valid || fault == Some(Fault::Unauthorized) {
        s.counts.unauthorized += 1;
        return api_error(
            StatusCode::UNAUTHORIZED,
            "fake: access token missing, unknown or expired",
        );
    }
    let q = match history_query(&raw) {
        Ok(q) => q,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, &e),
    };
    s.queries.push(q.clone());
    let (resolution, minutes) = match check_combination(&q) {
        Ok(c) => c,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, &e),
    };
    let symbol = q.symbol.to_ascii_uppercase();
    if symbol.is_empty() {
        return api_error(StatusCode::BAD_REQUEST, "fake: symbol is required");
    }
    let end = q.end_date.unwrap_or_else(now_ms);
    let days = i64::from(q.period.unwrap_or(match resolution {
        Resolution::Minute => 10,
        Resolution::Day => 365,
    }));
    let start = q.start_date.unwrap_or(end - days * DAY_MS);
    if resolution == Resolution::Minute && end - start > 10 * DAY_MS {
        return api_error(
            StatusCode::BAD_REQUEST,
            "fake: minute history is served in windows of at most 10 days",
        );
    }
    let Some(series) = s.series.get(&(symbol.clone(), resolution)) else {
        let known = s.series.keys().any(|(k, _)| *k == symbol);
        return if known {
            Json(json!({"symbol": symbol, "empty": true, "candles": []})).into_response()
        } else {
            api_error(
                StatusCode::BAD_REQUEST,
                &format!("fake: invalid symbol {symbol}"),
            )
        };
    };
    let stamped: Vec<(i64, Bar)> = series
        .values()
        .map(|b| {
            let ms = match resolution {
                Resolution::Minute => b.ts() * 1000,
                Resolution::Day => {
                    local_midnight(chrono_tz::America::Chicago, utc_date(b.ts())) * 1000
                }
            };
            (ms, *b)
        })
        .filter(|(ms, _)| (start..=end).contains(ms))
        .collect();
    drop(s);
    let mut candles: Vec<serde_json::Value> = if minutes > 1 {
        aggregate(&stamped, minutes)
    } else {
        stamped.iter().map(|(ms, b)| candle(b, *ms)).collect()
    };
    match fault {
        Some(Fault::InvalidCandle) => {
            if candles.is_empty() {
                candles.push(json!({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0, "datetime": start}));
            }
            let i = candles.len().min(2) - 1;
            let low = candles[i]["low"].as_f64().unwrap_or(1.0);
            candles[i]["high"] = json!(low - 1.0);
        }
        Some(Fault::DuplicateCandle) if !candles.is_empty() => {
            let first = candles[0].clone();
            candles.insert(1, first);
        }
        Some(Fault::OutOfOrderCandle) if candles.len() >= 2 => candles.swap(0, 1),
        Some(Fault::UnknownSymbol) => {
            return Json(json!({"symbol": symbol, "empty": true, "error": "Symbol not found"}))
                .into_response();
        }
        _ => {}
    }
    let body = json!({"symbol": symbol, "empty": candles.is_empty(), "candles": candles});
    let mut bytes = serde_json::to_vec(&body).expect("serializable");
    if fault == Some(Fault::TruncatedJson) {
        bytes.truncate((bytes.len() * 2 / 3).max(1));
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
