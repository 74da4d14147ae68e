//! The one error shape of the API: `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
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
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let (code, status) = match &r {
            JsonRejection::JsonDataError(_) => {
                ("invalid_request", StatusCode::UNPROCESSABLE_ENTITY)
            }
            JsonRejection::JsonSyntaxError(_) => ("malformed_json", StatusCode::BAD_REQUEST),
            JsonRejection::MissingJsonContentType(_) => ("unsupported_media_type", status),
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", status),
            _ => ("bad_request", status),
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text())
    }
}
