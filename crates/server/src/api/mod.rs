//! REST API under `/api/v1/historical-data/`, health checks, `/metrics`, OpenAPI document and
//! docs page.
//! Handlers are thin: extract, call one service function, map the result.

pub mod analytics;
pub mod audit;
pub mod backfill;
pub mod cached;
pub mod dto;
pub mod error;
mod export;
mod handlers;
pub mod jobs;
pub mod metrics;
mod openapi;
mod page;
pub mod request_id;
mod text;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use tradeassist_service::Service;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use handlers::fetch_response;
use openapi::LayerStatuses;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub auth: std::sync::Arc<crate::auth::Auth>,
    pub jobs: crate::jobs::Jobs,
    pub ws: std::sync::Arc<crate::ws::WsHub>,
}

/// Settings of the HTTP application beyond the service.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    pub ws: crate::ws::WsSettings,
    pub jobs: crate::jobs::JobSettings,
    pub auth: crate::auth::AuthSettings,
    /// Browser origins allowed to call the API from other sites (CORS); none by default.
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 64 * 1024,
            ws: Default::default(),
            jobs: Default::default(),
            auth: Default::default(),
            cors_origins: Vec::new(),
        }
    }
}

/// JSON body extractor whose rejections use the API error shape; a value that does not fit
/// its field is a 422 naming the field (`details.field`, e.g. `fill` or `symbols[2]`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a request body with `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                let status = r.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "bad_request"
                };
                ApiError::new(status, code, r.body_text())
            })?;
        let malformed = |e: serde_json::Error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    format!("{field}: {inner}"),
                )
                .with_details(serde_json::json!({ "field": field }))
            } else {
                malformed(inner)
            }
        })?;
        de.end().map_err(malformed)?;
        Ok(ApiJson(value))
    }
}

/// Query-string extractor whose rejections use the API error shape (400 naming the field).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("query parameter {field}: {}", e.into_inner()),
                )
                .with_details(serde_json::json!({ "field": field }))
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// Path extractor whose rejections use the API error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[derive(OpenApi)]
#[openapi(
    info(title = "TradeAssist Historical Data", description = "Historical OHLCV bars for stocks, indexes and futures."),
    paths(
        handlers::fetch,
        handlers::fetch_get,
        handlers::export_get,
        handlers::export_post,
        handlers::frequencies,
        handlers::sources,
        handlers::instruments,
        handlers::instrument,
        handlers::save_query,
        handlers::load_query,
        handlers::list_queries,
        handlers::update_query,
        handlers::delete_query,
        handlers::run_query,
        jobs::create,
        jobs::list,
        jobs::status,
        jobs::cancel,
        jobs::result,
        handlers::gaps,
        backfill::backfill,
        handlers::futures_contracts,
        handlers::futures_rolls,
        handlers::live,
        handlers::ready,
        analytics::indicators,
        analytics::features,
    ),
    modifiers(&LayerStatuses),
    tags((name = "historical-data", description = "Bars, instruments, saved queries"), (name = "analytics", description = "Indicators and feature matrices over any series"), (name = "health"))
)]
pub struct ApiDoc;

/// The whole HTTP application in open mode (no tokens: benchmarks) with default settings and
/// `max_body_bytes`.
pub fn router(service: Service, max_body_bytes: usize) -> Router {
    router_with(
        service,
        HttpSettings {
            max_body_bytes,
            auth: crate::auth::AuthSettings::open(),
            ..Default::default()
        },
    )
    .expect("the job directory can be created")
}

/// The whole HTTP application. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the audit log and the job owners
/// know the client. Fails when the job result directory cannot be created.
pub fn router_with(service: Service, settings: HttpSettings) -> std::io::Result<Router> {
    metrics::handle();
    let max_body_bytes = settings.max_body_bytes;
    let cors = cors_layer(&settings.cors_origins)?;
    let state = AppState {
        service,
        auth: std::sync::Arc::new(crate::auth::Auth::new(settings.auth)),
        jobs: crate::jobs::Jobs::new(settings.jobs)?,
        ws: std::sync::Arc::new(crate::ws::WsHub::new(settings.ws)),
    };
    let api = Router::new()
        .route("/fetch", post(handlers::fetch).get(handlers::fetch_get))
        .route(
            "/export",
            get(handlers::export_get).post(handlers::export_post),
        )
        .route("/frequencies", get(handlers::frequencies))
        .route("/sources", get(handlers::sources))
        .route("/instruments", get(handlers::instruments))
        .route("/instruments/{symbol}", get(handlers::instrument))
        .route("/queries", get(handlers::list_queries))
        .route("/queries/save", post(handlers::save_query))
        .route("/queries/load/{id}", get(handlers::load_query))
        .route(
            "/queries/{id}",
            put(handlers::update_query).delete(handlers::delete_query),
        )
        .route("/queries/{id}/run", post(handlers::run_query))
        .route("/jobs", post(jobs::create).get(jobs::list))
        .route("/jobs/{id}", get(jobs::status).delete(jobs::cancel))
        .route("/jobs/{id}/result", get(jobs::result))
        .route("/gaps", get(handlers::gaps))
        .route("/backfill", post(backfill::backfill))
        .route(
            "/futures/{root}/contracts",
            get(handlers::futures_contracts),
        )
        .route("/futures/{root}/rolls", get(handlers::futures_rolls));
    let analytics = Router::new()
        .route("/indicators", get(analytics::indicators))
        .route("/features", get(analytics::features));
    let app = Router::new()
        .nest("/api/v1/historical-data", api)
        .nest("/api/v1/analytics", analytics)
        .route("/health/live", get(handlers::live))
        .route("/health/ready", get(handlers::ready))
        .route("/metrics", get(metrics::scrape))
        .route("/ws", get(crate::ws::handler))
        .merge(page::routes())
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::check,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // gzip / br when the client asks; responses that already carry an encoding (the
        // cached gzip form of fetch answers) pass through untouched.
        .layer(tower_http::compression::CompressionLayer::new())
        // Spans name the path only: a query string may carry a WebSocket token.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
        .layer(axum::middleware::from_fn(request_id::layer))
        .layer(axum::middleware::from_fn(metrics::track));
    // CORS outside the token check: a browser's preflight carries no token.
    Ok(match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
    .with_state(state))
}

/// CORS for the configured origins (exact `scheme://host[:port]`), none when the list is empty.
fn cors_layer(origins: &[String]) -> std::io::Result<Option<tower_http::cors::CorsLayer>> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            axum::http::HeaderValue::from_str(o.trim_end_matches('/')).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("[http] cors_origins: `{o}` is not a valid origin"),
                )
            })
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                axum::http::Method::GET,
                axum::http::Method::POST,
                axum::http::Method::PUT,
                axum::http::Method::DELETE,
            ])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
            ])
            .expose_headers([
                axum::http::header::CONTENT_DISPOSITION,
                axum::http::header::RETRY_AFTER,
            ]),
    ))
}
