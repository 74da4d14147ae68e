//! Access control: API tokens with roles (`read` < `write` < `admin`), or explicit open mode.
//!
//! Every request passes [`check`] before routing. Health probes, the API docs, the web UI and
//! its assets need no token; `/metrics` needs `read` unless `[auth] metrics_open`; every other
//! `/api/...` route and `/ws` needs at least `read`, saving/updating/deleting saved queries
//! `write`, and backfills `admin` (imports, maintenance and token management are CLI-only and
//! so admin by construction). The token comes as `Authorization: Bearer ...`, or for `/ws` (a
//! browser cannot set headers on a WebSocket) as a `token` query parameter. Lookups are cached
//! for [`LOOKUP_TTL`], so a revoked token is refused within that time. 401 without or with a
//! bad token, 403 with too weak a role, 429 past the per-token rate: all in the JSON error
//! shape. The request then carries a [`Principal`] (jobs belong to it).

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tradeassist_model::{ApiToken, Role};

use crate::api::{ApiError, AppState};

/// How long a token lookup (found, unknown or revoked) is reused.
pub const LOOKUP_TTL: Duration = Duration::from_secs(2);

/// Tokens required, or everything open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every API route needs a token (the default).
    #[default]
    Token,
    /// No token needed anywhere (loopback only; announced at start).
    Open,
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    fn from_str(s: &str) -> Result<AuthMode, String> {
        match s {
            "token" => Ok(AuthMode::Token),
            "open" => Ok(AuthMode::Open),
            other => Err(format!("unknown auth mode `{other}`: token or open")),
        }
    }
}

/// Settings of access control.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// `/metrics` without a token.
    pub metrics_open: bool,
    /// Requests per token and minute; 0 turns the limit off.
    pub rate_per_token_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            mode: AuthMode::Token,
            metrics_open: false,
            rate_per_token_per_minute: 6_000,
        }
    }
}

impl AuthSettings {
    /// Open mode (tests, benchmarks, `serve --demo` on loopback).
    pub fn open() -> Self {
        AuthSettings {
            mode: AuthMode::Open,
            ..Default::default()
        }
    }
}

/// Who sent a request: a token, or anyone (open mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (`None` in open mode).
    pub token: Option<i64>,
    pub role: Role,
}

/// The access checker of one server.
pub struct Auth {
    settings: AuthSettings,
    /// Token lookups by secret hash (`None`: unknown or revoked).
    lookups: moka::sync::Cache<String, Option<ApiToken>>,
    limiter: Option<DefaultKeyedRateLimiter<i64>>,
}

impl Auth {
    pub fn new(settings: AuthSettings) -> Auth {
        Auth {
            lookups: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOOKUP_TTL)
                .build(),
            limiter: NonZeroU32::new(settings.rate_per_token_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            settings,
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }
}

/// The role a request needs (`None`: no token needed).
pub fn required_role(method: &Method, path: &str, metrics_open: bool) -> Option<Role> {
    if path == "/metrics" {
        return (!metrics_open).then_some(Role::Read);
    }
    if path == "/ws" {
        return Some(Role::Read);
    }
    if path.starts_with("/api/docs") || path == "/api/openapi.json" {
        return None;
    }
    let rest = path.strip_prefix("/api/")?;
    let data = rest.strip_prefix("v1/historical-data/");
    Some(match (method, data) {
        (&Method::POST, Some("queries/save")) => Role::Write,
        (&Method::PUT | &Method::DELETE, Some(q))
            if q.strip_prefix("queries/")
                .is_some_and(|id| !id.contains('/')) =>
        {
            Role::Write
        }
        (&Method::POST, Some("backfill")) => Role::Admin,
        _ => Role::Read,
    })
}

/// The secret a request carries: the bearer token, or for `/ws` the `token` query parameter.
fn secret_of(req: &Request) -> Result<Option<String>, &'static str> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| "the Authorization header is not text")?;
        let (scheme, secret) = value
            .split_once(' ')
            .ok_or("send the token as `Authorization: Bearer <token>`")?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err("send the token as `Authorization: Bearer <token>`");
        }
        return Ok(Some(secret.trim().to_string()));
    }
    if req.uri().path() == "/ws" {
        let query = req.uri().query().unwrap_or_default();
        return Ok(form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned()));
    }
    Ok(None)
}

fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message.to_string(),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// The middleware: authenticate, authorise, rate-limit per token, then run the request with
/// its [`Principal`].
pub async fn check(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = &state.auth;
    if auth.settings.mode == AuthMode::Open {
        req.extensions_mut().insert(Principal {
            token: None,
            role: Role::Admin,
        });
        return next.run(req).await;
    }
    let Some(needed) = required_role(req.method(), req.uri().path(), auth.settings.metrics_open)
    else {
        return next.run(req).await;
    };
    let secret = match secret_of(&req) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return unauthorized("this route needs an API token (Authorization: Bearer ...)");
        }
        Err(message) => return unauthorized(message),
    };
    let hash = tradeassist_service::token_hash(&secret);
    let token = match auth.lookups.get(&hash) {
        Some(found) => found,
        None => match state.service.authenticate(&secret).await {
            Ok(found) => {
                auth.lookups.insert(hash, found.clone());
                found
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let Some(token) = token else {
        return unauthorized("the API token is unknown or revoked");
    };
    if token.role < needed {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this route needs a {needed} token; token {} has the role {}",
                token.id, token.role
            ),
        )
        .into_response();
    }
    if let Some(limiter) = &auth.limiter
        && let Err(not_until) = limiter.check_key(&token.id)
    {
        return crate::http::rate_limited(
            &format!("token {}", token.id),
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            )),
        );
    }
    req.extensions_mut().insert(Principal {
        token: Some(token.id),
        role: token.role,
    });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_documented_roles() {
        let api = |p: &str| format!("/api/v1/historical-data/{p}");
        let cases = [
            (Method::GET, "/health/live".to_string(), None),
            (Method::GET, "/health/ready".to_string(), None),
            (Method::GET, "/api/openapi.json".to_string(), None),
            (Method::GET, "/api/docs/".to_string(), None),
            (Method::GET, "/".to_string(), None),
            (Method::GET, "/assets/index.js".to_string(), None),
            (Method::GET, "/metrics".to_string(), Some(Role::Read)),
            (Method::GET, "/ws".to_string(), Some(Role::Read)),
            (Method::GET, api("fetch"), Some(Role::Read)),
            (Method::POST, api("fetch"), Some(Role::Read)),
            (Method::GET, api("export"), Some(Role::Read)),
            (Method::POST, api("jobs"), Some(Role::Read)),
            (Method::DELETE, api("jobs/abc"), Some(Role::Read)),
            (Method::POST, api("queries/4/run"), Some(Role::Read)),
            (Method::GET, api("queries"), Some(Role::Read)),
            (
                Method::GET,
                "/api/v1/analytics/indicators".to_string(),
                Some(Role::Read),
            ),
            (Method::POST, api("queries/save"), Some(Role::Write)),
            (Method::PUT, api("queries/4"), Some(Role::Write)),
            (Method::DELETE, api("queries/4"), Some(Role::Write)),
            (Method::POST, api("backfill"), Some(Role::Admin)),
            (Method::GET, "/api/v2/unknown".to_string(), Some(Role::Read)),
        ];
        for (method, path, role) in cases {
            assert_eq!(
                required_role(&method, &path, false),
                role,
                "{method} {path}"
            );
        }
        assert_eq!(required_role(&Method::GET, "/metrics", true), None);
    }
}
