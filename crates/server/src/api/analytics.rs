//! Analytics endpoints under `/api/v1/analytics/`: indicators aligned with the bars, and a
//! feature matrix (JSON or Parquet) for ML consumers.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use parquet::arrow::ArrowWriter;
use serde::Serialize;
use std::collections::BTreeMap;
use tradeassist_service::{IndicatorQuery, IndicatorResult, ServiceError, now};
use utoipa::{IntoParams, ToSchema};

use super::audit::{Access, Client};
use super::dto::{SeriesDto, query_and};
use super::error::ErrorBody;
use super::{ApiError, AppState};

const TAG: &str = "analytics";

/// Indicators of the feature matrix when the request names none.
pub const DEFAULT_FEATURES: &str = "ret,logret,vol:20";

/// Parameters of the analytics endpoints (documentation; parsed by [`indicator_query`]):
/// `indicators` and `format`, plus every fetch option of the same name (`symbol`,
/// `frequency`, `start`, `end`, `preset`, `session`, roll options, `adjust`, ...).
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorParams {
    /// One symbol (any spelling; continuous futures such as `ES.v.0` too).
    pub symbol: String,
    /// Bar frequency, e.g. `1d`, `5m`.
    pub frequency: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub preset: Option<String>,
    /// Comma list: `sma:20,ema:20,wma:20,rsi:14,macd:12:26:9,bb:20:2,atr:14,stoch:14:3:3,
    /// willr:14,adx:14,obv,vwap:1,vol:20,ret,logret,zscore:20` (parameters optional).
    pub indicators: Option<String>,
    /// Features only: `json` (default) or `parquet`.
    pub format: Option<String>,
}

/// One output of an indicator, aligned with the bars (null where not fully warmed).
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorDto {
    /// The indicator in its canonical text form, e.g. `macd:12:26:9`.
    pub name: String,
    /// Output name -> values (`value`; or `macd`/`signal`/`histogram`, `middle`/`upper`/
    /// `lower`, `k`/`d`, `adx`/`plus_di`/`minus_di`, `vwap`/`upper`/`lower`).
    pub outputs: BTreeMap<String, Vec<Option<f64>>>,
}

/// Indicators over one series.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorResponse {
    /// The bars the values are aligned with (as `fetch` returns them).
    pub series: SeriesDto,
    /// Bars of history the indicators need before the first bar.
    pub warmup_bars_required: usize,
    /// Bars of history read before the first bar (fewer when the stored history is shorter;
    /// values are then null until warmed).
    pub warmup_bars_read: usize,
    /// Bars per year used to annualise volatility (from the trading calendar).
    pub periods_per_year: f64,
    pub indicators: Vec<IndicatorDto>,
}

/// One column of the feature matrix.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureColumn {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Feature matrix: bar columns and indicator columns aligned with `ts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureMatrix {
    pub symbol: String,
    pub frequency: String,
    /// Bar start times, RFC 3339 UTC.
    pub ts: Vec<String>,
    pub warmup_bars_read: usize,
    /// `open`, `high`, `low`, `close`, `volume`, then one column per indicator output
    /// (`rsi:14`, `macd:12:26:9.signal`).
    pub columns: Vec<FeatureColumn>,
}

/// The request of an analytics endpoint: `indicators` (default `default`, when given) and
/// `format` are taken out, every other parameter is the fetch option of that name.
pub fn indicator_query(
    raw: Option<&str>,
    default: Option<&str>,
) -> Result<(IndicatorQuery, Option<String>), ServiceError> {
    let ([indicators, format], query) = query_and(raw, ["indicators", "format"])?;
    let list = match (indicators, default) {
        (Some(list), _) => list,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(ServiceError::invalid(
                "indicators",
                "name the indicators, e.g. indicators=sma:20,rsi:14",
            ));
        }
    };
    Ok((IndicatorQuery::new(query, &list)?, format))
}

impl From<&IndicatorResult> for IndicatorResponse {
    fn from(r: &IndicatorResult) -> Self {
        IndicatorResponse {
            series: SeriesDto::from(&r.series),
            warmup_bars_required: r.warmup_required,
            warmup_bars_read: r.warmup_read,
            periods_per_year: r.periods_per_year,
            indicators: r
                .indicators
                .iter()
                .map(|i| IndicatorDto {
                    name: i.name(),
                    outputs: i
                        .outputs()
                        .iter()
                        .map(|o| (o.name().to_string(), o.values().to_vec()))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Bar and indicator columns of a result, in matrix order.
pub fn feature_columns(r: &IndicatorResult) -> Vec<(String, Vec<Option<f64>>)> {
    let bars = &r.series.bars;
    let price = |f: fn(&tradeassist_engine::Ohlc) -> f64| -> Vec<Option<f64>> {
        bars.iter().map(|b| b.ohlc.as_ref().map(f)).collect()
    };
    let mut columns = vec![
        ("open".to_string(), price(|o| o.open)),
        ("high".to_string(), price(|o| o.high)),
        ("low".to_string(), price(|o| o.low)),
        ("close".to_string(), price(|o| o.close)),
        (
            "volume".to_string(),
            bars.iter().map(|b| Some(b.volume)).collect(),
        ),
    ];
    columns.extend(r.columns().into_iter().map(|(n, v)| (n, v.to_vec())));
    columns
}

/// The feature matrix as one Parquet file: `ts` (timestamp in milliseconds, UTC: Parquet's
/// own `TIMESTAMP(MILLIS)`, which pyarrow and Polars read as a timestamp) and one nullable
/// float64 column per feature.
pub fn features_parquet(r: &IndicatorResult) -> Result<Vec<u8>, ServiceError> {
    let columns = feature_columns(r);
    let mut fields = vec![Field::new(
        "ts",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from(
            r.series
                .bars
                .iter()
                .map(|b| b.start.saturating_mul(1000))
                .collect::<Vec<_>>(),
        )
        .with_timezone("UTC"),
    )];
    for (name, values) in columns {
        fields.push(Field::new(name, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(values)));
    }
    let internal = |e: &dyn std::fmt::Display| ServiceError::Internal(format!("parquet: {e}"));
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| internal(&e))?;
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, batch.schema(), None).map_err(|e| internal(&e))?;
    writer.write(&batch).map_err(|e| internal(&e))?;
    writer.close().map_err(|e| internal(&e))?;
    Ok(out)
}

/// Technical indicators over one symbol's bars, warmed with history read before the window.
#[utoipa::path(get, path = "/api/v1/analytics/indicators", tag = TAG, params(IndicatorParams),
    responses((status = 200, body = IndicatorResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn indicators(
    State(state): State<AppState>,
    client: Client,
    RawQuery(raw): RawQuery,
) -> Result<Json<IndicatorResponse>, ApiError> {
    let access = Access::start("analytics/indicators", client);
    let (request, _) = indicator_query(raw.as_deref(), None)?;
    let result = state.service.indicators(&request, now()).await?;
    access.served_series(std::slice::from_ref(&result.series));
    Ok(Json(IndicatorResponse::from(&result)))
}

/// Feature matrix (bars, returns, volatility, indicator columns) as JSON or Parquet.
#[utoipa::path(get, path = "/api/v1/analytics/features", tag = TAG, params(IndicatorParams),
    responses((status = 200, body = FeatureMatrix, description = "JSON, or a Parquet file with format=parquet"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn features(
    State(state): State<AppState>,
    client: Client,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let access = Access::start("analytics/features", client);
    let (request, format) = indicator_query(raw.as_deref(), Some(DEFAULT_FEATURES))?;
    let parquet = match format.as_deref() {
        None | Some("json") => false,
        Some("parquet") => true,
        Some(other) => {
            return Err(ServiceError::invalid(
                "format",
                format!(
                    "unknown format `{}`: json or parquet",
                    other.chars().take(32).collect::<String>()
                ),
            )
            .into());
        }
    };
    let result = state.service.indicators(&request, now()).await?;
    access.served_series(std::slice::from_ref(&result.series));
    if parquet {
        let file = format!(
            "{}_{}_features.parquet",
            result
                .series
                .instrument
                .symbol
                .replace(['/', '\\', '"'], "_"),
            result.series.bars_spec
        );
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.apache.parquet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}\""),
                ),
            ],
            features_parquet(&result)?,
        )
            .into_response());
    }
    let matrix = FeatureMatrix {
        symbol: result.series.instrument.symbol.clone(),
        frequency: result.series.bars_spec.to_string(),
        ts: result
            .series
            .bars
            .iter()
            .map(|b| tradeassist_model::rfc3339(b.start))
            .collect(),
        warmup_bars_read: result.warmup_read,
        columns: feature_columns(&result)
            .into_iter()
            .map(|(name, values)| FeatureColumn { name, values })
            .collect(),
    };
    Ok(Json(matrix).into_response())
}
