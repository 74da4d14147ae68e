//! REST API under `/api/v1/historical-data/`, health checks, OpenAPI document and docs page.
//! Handlers are thin: extract, call one service function, map the result.

pub mod dto;
pub mod error;
mod handlers;
mod page;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use tradeassist_service::Service;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use handlers::fetch_response;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
}

/// JSON body extractor whose rejections use the API error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query-string extractor whose rejections use the API error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path extractor whose rejections use the API error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[derive(OpenApi)]
#[openapi(
    info(title = "TradeAssist Historical Data", description = "Historical OHLCV bars for stocks, indexes and futures."),
    paths(
        handlers::fetch,
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
        handlers::gaps,
        handlers::futures_contracts,
        handlers::futures_rolls,
        handlers::live,
        handlers::ready,
    ),
    tags((name = "historical-data", description = "Bars, instruments, saved queries"), (name = "health"))
)]
pub struct ApiDoc;

/// The whole HTTP application.
pub fn router(service: Service, max_body_bytes: usize) -> Router {
    let state = AppState { service };
    let api = Router::new()
        .route("/fetch", post(handlers::fetch))
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
        .route("/gaps", get(handlers::gaps))
        .route(
            "/futures/{root}/contracts",
            get(handlers::futures_contracts),
        )
        .route("/futures/{root}/rolls", get(handlers::futures_rolls));
    Router::new()
        .nest("/api/v1/historical-data", api)
        .route("/health/live", get(handlers::live))
        .route("/health/ready", get(handlers::ready))
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
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
