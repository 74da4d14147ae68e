//! The one error shape of the API: `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tradeassist_service::ServiceError;
use utoipa::ToSchema;

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

/// Body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_request`, `unknown_symbol`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Structured context (field names, offending values, row numbers); `{}` when none.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl ApiError {
    /// A server fault: the client learns only that it happened and the request id; the cause
    /// (with its source chain, e.g. the database's text) goes to the log under that id.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let id = super::request_id::current().unwrap_or_else(|| "none".into());
        let chain = tradeassist_service::error_chain(cause);
        tracing::error!(request_id = %id, error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; quote request id {id} when reporting it"),
        )
        .with_details(json!({ "request_id": id }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.code != "internal" {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        match e {
            ServiceError::InvalidInput { field, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
                    .with_details(json!({ "field": field }))
            }
            ServiceError::UnknownSymbols(symbols) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_symbol", message)
                    .with_details(json!({ "symbols": symbols }))
            }
            ServiceError::AmbiguousSymbol {
                symbol, candidates, ..
            } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ambiguous_symbol",
                message,
            )
            .with_details(
                json!({ "field": "symbols", "symbol": symbol, "candidates": candidates }),
            ),
            ServiceError::UnknownCalendar { symbol, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_calendar",
                message,
            )
            .with_details(json!({ "symbol": symbol })),
            ServiceError::NotFound(_) => ApiError::not_found(message),
            ServiceError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::TooLarge(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "result_too_large",
                message,
            ),
            ServiceError::UnsupportedFrequency(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_frequency",
                message,
            ),
            ServiceError::Import { .. } => {
                let rows: Vec<Value> = e
                    .row_errors()
                    .iter()
                    .take(100)
                    .map(|r| json!({ "line": r.line, "message": r.message }))
                    .collect();
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_file", message)
                    .with_details(json!({ "rows": rows }))
            }
            ServiceError::Unavailable(cause) => {
                let id = super::request_id::current().unwrap_or_else(|| "none".into());
                tracing::warn!(request_id = %id, error = %cause, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the database is unavailable; retry shortly",
                )
                .with_details(json!({ "request_id": id }))
            }
            ServiceError::Store(_) | ServiceError::Internal(_) => ApiError::internal(&e),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text())
    }
}
