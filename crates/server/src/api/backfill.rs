//! `POST /api/v1/historical-data/backfill`: fill gaps from the configured provider (until the
//! jobs endpoint takes backfills, the request runs to the end and answers the summary).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tradeassist_model::{AssetClass, Resolution, TimeBound, TimeRange, time::rfc3339};
use tradeassist_service::query::range_from;
use tradeassist_service::{BackfillReport, BackfillRequest, ServiceError, SymbolBackfill, now};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{ApiError, ApiJson, AppState};

/// What to backfill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequestDto {
    /// Our notation (`AAPL`, `ESZ24`) or Schwab's futures notation (`/ESZ24`).
    pub symbols: Vec<String>,
    /// Stored resolution to fill: `1m` (default) or `1d`.
    #[serde(default)]
    pub frequency: Option<String>,
    /// `YYYY-MM-DD` (UTC day) or RFC 3339.
    pub start: String,
    /// Inclusive date or exclusive RFC 3339 instant; default now.
    #[serde(default)]
    pub end: Option<String>,
    /// Asset class of symbols not stored yet: stock, index or future (default: futures
    /// for contract symbols, stocks otherwise).
    #[serde(default)]
    pub asset_class: Option<String>,
}

/// A time span `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpanDto {
    pub start: String,
    pub end: String,
}

/// What the backfill did for one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SymbolBackfillDto {
    pub symbol: String,
    /// The instrument was created from the provider's answer.
    pub created: bool,
    /// Missing ranges gap detection reported.
    pub missing: Vec<SpanDto>,
    /// Provider requests made (close gaps share one).
    pub requests: usize,
    pub bars_stored: u64,
    /// Asked-for ranges the provider had no bars for.
    pub no_data: Vec<SpanDto>,
    /// Missing ranges older than the provider's history (not asked for).
    pub unavailable: Vec<SpanDto>,
    /// Why the symbol stopped, e.g. unknown to the provider or the provider down.
    pub error: Option<String>,
}

/// Summary of a backfill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BackfillReportDto {
    pub provider: String,
    pub bars_stored: u64,
    pub symbols: Vec<SymbolBackfillDto>,
}

fn spans(ranges: &[TimeRange]) -> Vec<SpanDto> {
    ranges
        .iter()
        .map(|r| SpanDto {
            start: rfc3339(r.start()),
            end: rfc3339(r.end()),
        })
        .collect()
}

impl From<&SymbolBackfill> for SymbolBackfillDto {
    fn from(s: &SymbolBackfill) -> Self {
        SymbolBackfillDto {
            symbol: s.symbol.clone(),
            created: s.created,
            missing: spans(&s.missing),
            requests: s.requests,
            bars_stored: s.bars_stored,
            no_data: spans(&s.no_data),
            unavailable: spans(&s.unavailable),
            error: s.error.clone(),
        }
    }
}

impl From<&BackfillReport> for BackfillReportDto {
    fn from(r: &BackfillReport) -> Self {
        BackfillReportDto {
            provider: r.provider.clone(),
            bars_stored: r.bars_stored(),
            symbols: r.symbols.iter().map(SymbolBackfillDto::from).collect(),
        }
    }
}

impl BackfillRequestDto {
    fn into_request(self) -> Result<BackfillRequest, ServiceError> {
        let bound = |field: &'static str, text: &str| {
            text.parse::<TimeBound>()
                .map_err(|e| ServiceError::invalid(field, e.to_string()))
        };
        let start = bound("start", &self.start)?;
        let end = self.end.as_deref().map(|e| bound("end", e)).transpose()?;
        let range = BackfillRequest::utc_range(&range_from(Some(start), end, None, None)?, now())?;
        let resolution = match self.frequency.as_deref().unwrap_or("1m") {
            "1m" => Resolution::Minute,
            "1d" => Resolution::Day,
            other => {
                return Err(ServiceError::invalid(
                    "frequency",
                    format!("backfill stores 1m or 1d bars, not `{other}`"),
                ));
            }
        };
        let asset_class = self
            .asset_class
            .as_deref()
            .map(|a| {
                a.parse::<AssetClass>()
                    .map_err(|e| ServiceError::invalid("asset_class", e.to_string()))
            })
            .transpose()?;
        Ok(BackfillRequest {
            symbols: self.symbols,
            resolution,
            range,
            asset_class,
        })
    }
}

/// Fill the gaps of stored series from the configured provider: only the ranges gap
/// detection reports missing are fetched, and re-running stores nothing new.
#[utoipa::path(post, path = "/api/v1/historical-data/backfill", tag = "historical-data",
    request_body = BackfillRequestDto,
    responses(
        (status = 200, body = BackfillReportDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 413, description = "Request body too large", body = ErrorBody),
        (status = 422, description = "Invalid parameters or no provider configured", body = ErrorBody),
    ))]
pub async fn backfill(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BackfillRequestDto>,
) -> Result<Json<BackfillReportDto>, ApiError> {
    let request = req.into_request()?;
    let report = state.service.backfill(&request, &|_| {}).await?;
    Ok(Json(BackfillReportDto::from(&report)))
}
