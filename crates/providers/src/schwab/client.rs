//! [`SchwabClient`]: the price-history API as a [`Provider`].
//!
//! It keeps an OAuth2 access token got from the refresh token (HTTP Basic with the client
//! id and secret), refreshes it before it expires (a margin of 60 s, or half the lifetime of
//! short-lived tokens) and once when the API answers 401, then repeats the request. A
//! refresh token the token endpoint rotates replaces the old one in memory
//! ([`SchwabClient::refresh_token`] reads it, so the caller may persist it).
//!
//! The client itself does not retry, time out whole calls or pace requests: wrap it in
//! [`crate::resilience::Resilient`] (see [`super::resilient`]).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::DateTime;
use serde::Deserialize;
use tradeassist_model::{Bar, Resolution, TimeRange};

use super::config::{SchwabConfig, Secret};
use super::history::{self, BODY_LIMIT, MINUTE_HISTORY_DAYS, Parsed};
use super::symbol::to_schwab_on;
use crate::provider::{BarRequest, DataProblem, Provider, ProviderError};
use crate::resilience::{Clock, SystemClock};

/// Largest token answer read.
const TOKEN_BODY_LIMIT: usize = 1 << 20;
/// Largest error body read (the rest is ignored).
const ERROR_BODY_LIMIT: usize = 64 << 10;
/// Refresh this long before the access token expires (at most half its lifetime).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// A minute request may start this much before [`Provider::history_start`] without being
/// refused, so a caller that clamped to it a moment ago is not refused as time moves on.
const HISTORY_GRACE: i64 = 3_600;

/// The Schwab market-data price-history API.
pub struct SchwabClient {
    http: reqwest::Client,
    token_url: String,
    history_url: String,
    client_id: String,
    client_secret: Secret,
    timeout: Duration,
    body_limit: usize,
    clock: Arc<dyn Clock>,
    tokens: tokio::sync::Mutex<Tokens>,
    token_refreshes: AtomicU64,
}

struct Tokens {
    refresh: Secret,
    access: Option<Access>,
}

struct Access {
    token: Secret,
    /// Refresh when this is reached (expiry minus the margin).
    refresh_at: Instant,
}

impl fmt::Debug for SchwabClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchwabClient")
            .field("token_url", &self.token_url)
            .field("history_url", &self.history_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    token_type: Option<String>,
    refresh_token: Option<String>,
}

impl SchwabClient {
    /// A client for `config` (validated) on the real clock.
    pub fn new(config: &SchwabConfig) -> Result<Self, ProviderError> {
        SchwabClient::with_clock(config, Arc::new(SystemClock))
    }

    /// A client whose token expiry and minute-history limit follow `clock`.
    pub fn with_clock(config: &SchwabConfig, clock: Arc<dyn Clock>) -> Result<Self, ProviderError> {
        config.validate()?;
        let base = config.base();
        if base.starts_with("https://") && !cfg!(feature = "tls") {
            return Err(ProviderError::Config(
                "providers.schwab: base_url is https but this build has no TLS (enable the \
                 `tls` feature of tradeassist-providers)"
                    .to_string(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .build()
            .map_err(|e| {
                ProviderError::Config(format!("providers.schwab: HTTP client: {}", chain(&e)))
            })?;
        Ok(SchwabClient {
            http,
            token_url: format!("{base}/v1/oauth/token"),
            history_url: format!("{base}/marketdata/v1/pricehistory"),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            timeout: config.timeout(),
            body_limit: BODY_LIMIT,
            clock,
            tokens: tokio::sync::Mutex::new(Tokens {
                refresh: config.refresh_token.clone(),
                access: None,
            }),
            token_refreshes: AtomicU64::new(0),
        })
    }

    /// Cap price-history bodies at `bytes` instead of [`BODY_LIMIT`].
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The refresh token in use (a rotated one once the token endpoint sent it).
    pub async fn refresh_token(&self) -> Secret {
        self.tokens.lock().await.refresh.clone()
    }

    /// Access tokens got so far.
    pub fn token_refreshes(&self) -> u64 {
        self.token_refreshes.load(Ordering::Relaxed)
    }

    /// The earliest minute (UTC seconds) the API serves now.
    pub fn earliest_minute(&self) -> i64 {
        let t = self.clock.unix_ms().div_euclid(1000) - MINUTE_HISTORY_DAYS * 86_400;
        t + (60 - t.rem_euclid(60)) % 60
    }

    /// A valid access token: the kept one, or a fresh one (one refresh at a time).
    async fn access_token(&self) -> Result<Secret, ProviderError> {
        let mut tokens = self.tokens.lock().await;
        if let Some(access) = &tokens.access
            && self.clock.now() < access.refresh_at
        {
            return Ok(access.token.clone());
        }
        tokens.access = None;
        let answer = self.request_token(&tokens.refresh).await?;
        let lifetime = Duration::from_secs(answer.expires_in);
        let margin = EXPIRY_MARGIN.min(lifetime / 2);
        let token = Secret::new(answer.access_token);
        tokens.access = Some(Access {
            token: token.clone(),
            refresh_at: self.clock.now() + lifetime - margin,
        });
        if let Some(rotated) = answer.refresh_token.filter(|r| !r.is_empty())
            && rotated != tokens.refresh.expose()
        {
            tracing::info!(
                provider = "schwab",
                "refresh token rotated by the token endpoint"
            );
            tokens.refresh = Secret::new(rotated);
        }
        self.token_refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            provider = "schwab",
            expires_in = answer.expires_in,
            "access token refreshed"
        );
        Ok(token)
    }

    /// Forget `used` if it is still the kept access token (the API refused it).
    async fn invalidate(&self, used: &Secret) {
        let mut tokens = self.tokens.lock().await;
        if tokens.access.as_ref().is_some_and(|a| a.token == *used) {
            tokens.access = None;
        }
    }

    async fn request_token(&self, refresh: &Secret) -> Result<TokenAnswer, ProviderError> {
        let secrets = [self.client_secret.expose(), refresh.expose()];
        let response = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
            ])
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        if status == 200 {
            let body = read_capped(response, TOKEN_BODY_LIMIT)
                .await
                .map_err(|e| self.read_error(e, "token answer"))?;
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
                // serde's message may quote the document, i.e. a token: position only.
                ProviderError::Auth(format!(
                    "malformed token answer at line {} column {}",
                    e.line(),
                    e.column()
                ))
            })?;
            if answer.access_token.is_empty() {
                return Err(ProviderError::Auth(
                    "the token endpoint answered without an access token".to_string(),
                ));
            }
            if let Some(kind) = &answer.token_type
                && !kind.eq_ignore_ascii_case("bearer")
            {
                return Err(ProviderError::Auth(format!(
                    "the token endpoint issued a token of type `{}`, not a bearer token",
                    history::scrub(kind, &secrets)
                )));
            }
            return Ok(answer);
        }
        let body = read_capped(response, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        match status {
            400 | 401 | 403 => Err(ProviderError::Auth(format!(
                "the token endpoint refused the client credentials or the refresh token (HTTP {status}{})",
                oauth_error(&body)
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default()
            ))),
            429 => Err(ProviderError::RateLimited { retry_after }),
            _ => Err(ProviderError::Status {
                status,
                message: format!(
                    "token endpoint: {}",
                    history::error_message(&body, &secrets)
                ),
            }),
        }
    }

    /// One window of `request`: bars inside `window`, checked.
    async fn fetch_window(
        &self,
        request: &BarRequest,
        schwab_symbol: &str,
        window: TimeRange,
    ) -> Result<Vec<Bar>, ProviderError> {
        let query = history::query(schwab_symbol, request.resolution, window);
        let mut refreshed = false;
        loop {
            let token = self.access_token().await?;
            let refresh = self.tokens.lock().await.refresh.clone();
            let secrets = [
                token.expose(),
                refresh.expose(),
                self.client_secret.expose(),
            ];
            tracing::debug!(
                provider = "schwab",
                symbol = schwab_symbol,
                start = window.start(),
                end = window.end(),
                "price history request"
            );
            let response = self
                .http
                .get(&self.history_url)
                .query(&query)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| self.transport(&e))?;
            let status = response.status().as_u16();
            if status == 401 && !refreshed {
                tracing::debug!(
                    provider = "schwab",
                    "access token refused (401); refreshing once"
                );
                self.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            if status == 200 {
                let body = read_capped(response, self.body_limit)
                    .await
                    .map_err(|e| match e {
                        ReadError::TooLarge(limit) => ProviderError::InvalidData {
                            symbol: request.symbol.clone(),
                            window,
                            problem: DataProblem::TooLarge { limit },
                        },
                        ReadError::Transport(e) => self.transport(&e),
                    })?;
                return match history::parse(
                    &body,
                    &request.symbol,
                    request.resolution,
                    window,
                    &secrets,
                )? {
                    Parsed::Bars(bars) => Ok(bars),
                    Parsed::UnknownSymbol => {
                        Err(ProviderError::UnknownSymbol(request.symbol.clone()))
                    }
                };
            }
            let retry_after = retry_after(&response);
            let body = read_capped(response, ERROR_BODY_LIMIT)
                .await
                .unwrap_or_default();
            let message = history::error_message(&body, &secrets);
            return Err(match status {
                401 => ProviderError::Auth(
                    "the API refused a freshly refreshed access token (HTTP 401)".to_string(),
                ),
                404 => ProviderError::UnknownSymbol(request.symbol.clone()),
                400 if message.to_ascii_lowercase().contains("symbol") => {
                    ProviderError::UnknownSymbol(request.symbol.clone())
                }
                429 => ProviderError::RateLimited { retry_after },
                _ => ProviderError::Status { status, message },
            });
        }
    }

    fn transport(&self, e: &reqwest::Error) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Timeout {
                after: self.timeout,
            }
        } else {
            ProviderError::Connection(chain(e))
        }
    }

    fn read_error(&self, e: ReadError, what: &str) -> ProviderError {
        match e {
            ReadError::TooLarge(limit) => {
                ProviderError::Auth(format!("{what} larger than {limit} bytes"))
            }
            ReadError::Transport(e) => self.transport(&e),
        }
    }
}

#[async_trait::async_trait]
impl Provider for SchwabClient {
    fn name(&self) -> &str {
        "schwab"
    }

    async fn fetch_bars(&self, request: &BarRequest) -> Result<Vec<Bar>, ProviderError> {
        let today = DateTime::from_timestamp_millis(self.clock.unix_ms())
            .map_or_else(|| chrono::Utc::now().date_naive(), |t| t.date_naive());
        let schwab_symbol = to_schwab_on(&request.symbol, request.asset_class, today)?;
        if request.resolution == Resolution::Minute {
            let earliest = self.earliest_minute();
            if request.range.start() < earliest - HISTORY_GRACE {
                return Err(ProviderError::OutOfHistory {
                    symbol: request.symbol.clone(),
                    resolution: request.resolution,
                    requested_start: request.range.start(),
                    earliest,
                });
            }
        }
        let mut bars = Vec::new();
        for window in history::windows(request.resolution, request.range) {
            bars.extend(self.fetch_window(request, &schwab_symbol, window).await?);
        }
        Ok(bars)
    }

    fn split(&self, request: &BarRequest) -> Vec<TimeRange> {
        history::windows(request.resolution, request.range)
    }

    fn history_start(&self, resolution: Resolution) -> Option<i64> {
        (resolution == Resolution::Minute).then(|| self.earliest_minute())
    }
}

enum ReadError {
    TooLarge(usize),
    Transport(reqwest::Error),
}

/// The body, refusing to read past `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The OAuth `error` code of a token error body, when it looks like one (`invalid_grant`).
fn oauth_error(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = v.get("error")?.as_str()?;
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plausible.then(|| code.to_string())
}

/// An error and its sources, without the URL.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_codes_only_when_plausible() {
        assert_eq!(
            oauth_error(br#"{"error":"invalid_grant","error_description":"x"}"#).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(oauth_error(br#"{"error":"Token abc.def is bad"}"#), None);
        assert_eq!(oauth_error(b"not json"), None);
    }

    #[test]
    fn https_needs_tls_and_debug_shows_no_secret() {
        let config = SchwabConfig {
            enabled: true,
            base_url: "http://127.0.0.1:9".into(),
            client_id: "app".into(),
            client_secret: "very-secret-value".into(),
            refresh_token: "refresh-secret-value".into(),
            ..SchwabConfig::default()
        };
        let client = SchwabClient::new(&config).unwrap();
        let text = format!("{client:?}");
        assert!(
            !text.contains("very-secret-value") && !text.contains("refresh-secret"),
            "{text}"
        );
        let https = SchwabConfig {
            base_url: "https://api.schwabapi.com".into(),
            ..config
        };
        assert_eq!(SchwabClient::new(&https).is_ok(), cfg!(feature = "tls"));
    }

    /// With TLS, an https base URL is really spoken to (here: a closed local port, so the
    /// answer is a connection error, not "scheme not supported").
    #[cfg(feature = "tls")]
    #[tokio::test]
    async fn https_requests_go_out_over_tls() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = SchwabConfig {
            enabled: true,
            base_url: format!("https://127.0.0.1:{port}"),
            client_id: "app".into(),
            client_secret: "secret".into(),
            refresh_token: "refresh".into(),
            ..SchwabConfig::default()
        };
        let client = SchwabClient::new(&config).unwrap();
        let request = BarRequest::new(
            "AAPL",
            tradeassist_model::AssetClass::Stock,
            Resolution::Day,
            TimeRange::new(0, 86_400).unwrap(),
        );
        let e = client.fetch_bars(&request).await.unwrap_err();
        assert!(matches!(e, ProviderError::Connection(_)), "{e}");
        assert!(e.is_transient());
    }
}
