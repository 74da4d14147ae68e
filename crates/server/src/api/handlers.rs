//! Route handlers.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tradeassist_service::{
    FetchResult, Query, ServiceError, frequencies as known_frequencies, now,
};
use tradeassist_store::InstrumentFilter;

use super::audit::{Access, Client};
use super::cached::{JsonFetch, respond};
use super::dto::*;
use super::error::ErrorBody;
use super::{ApiError, ApiJson, ApiPath, ApiQuery, AppState};

const TAG: &str = "historical-data";

pub fn fetch_response(result: &FetchResult) -> FetchResponse {
    let data: Vec<SeriesDto> = result.series.iter().map(SeriesDto::from).collect();
    FetchResponse {
        metadata: FetchMetadata {
            total_bars: data.iter().map(|s| s.count).sum(),
            generated_at: tradeassist_model::rfc3339(now()),
            stale: None,
            newest_stored_bar: None,
            stale_reason: None,
        },
        data,
    }
}

/// Fetch bars for one or more symbols.
#[utoipa::path(post, path = "/api/v1/historical-data/fetch", tag = TAG, request_body = FetchRequestDto,
    responses(
        (status = 200, body = FetchResponse),
        (status = 400, description = "Malformed JSON or query", body = ErrorBody),
        (status = 404, description = "Unknown symbol", body = ErrorBody),
        (status = 413, description = "Request body too large", body = ErrorBody),
        (status = 422, description = "Invalid parameters, unsupported frequency or result too large", body = ErrorBody),
    ))]
pub async fn fetch(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ApiJson(req): ApiJson<FetchRequestDto>,
) -> Result<Response, ApiError> {
    let access = Access::start("fetch", client);
    let fetch_missing = req.fetch_missing;
    let query = req.into_query()?;
    if fetch_missing && let Some(stale) = state.service.fill_missing(&query, now()).await? {
        return stale_answer(&state, &query, stale, access).await;
    }
    let encoded = state
        .service
        .fetch_encoded(&query, now(), &JsonFetch)
        .await?;
    access.served_query(&query, &encoded);
    Ok(respond(&state.service, &headers, encoded, false))
}

/// The answer of a `fetch_missing` fetch whose gaps the provider could not fill: the stored
/// data, uncached, marked stale with the newest stored bar and the provider's error. (When
/// the provider did fill them, the normal cached path answers and sees the new bars through
/// the change log.)
async fn stale_answer(
    state: &AppState,
    query: &Query,
    stale: tradeassist_service::Staleness,
    access: Access,
) -> Result<Response, ApiError> {
    let result = state.service.fetch(query, now()).await?;
    access.served(&result);
    let mut body = fetch_response(&result);
    body.metadata.stale = Some(true);
    body.metadata.newest_stored_bar = stale.newest_stored.map(tradeassist_model::rfc3339);
    body.metadata.stale_reason = Some(stale.reason);
    Ok(Json(body).into_response())
}

/// Fetch bars with the query in the URL: the text form of the fetch document (the same names,
/// e.g. `?symbols=AAPL&frequency=1d&start=2013-01-01&end=2013-12-31`). Answers carry an
/// `ETag` (a matching `If-None-Match` gets 304) and `Cache-Control` (closed ranges immutable).
#[utoipa::path(get, path = "/api/v1/historical-data/fetch", tag = TAG,
    params(
        ("symbols" = String, Query, description = "Comma-separated symbols, e.g. AAPL or ES.c.0"),
        ("frequency" = Option<String>, Query, description = "Time frequency, e.g. 1m, 5m, 1d, 1w"),
        ("start" = Option<String>, Query, description = "Date or RFC 3339 instant"),
        ("end" = Option<String>, Query, description = "Date (inclusive) or RFC 3339 instant (exclusive)"),
        ("preset" = Option<String>, Query, description = "ytd, last_N_days, last_N_months, last_N_bars; every other field of the POST document is accepted by the same name"),
        ("fetch_missing" = Option<bool>, Query, description = "Fill gaps from the configured provider before answering; metadata.stale when it could not"),
    ),
    responses(
        (status = 200, body = FetchResponse),
        (status = 304, description = "Not modified (If-None-Match matched the ETag)"),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 404, description = "Unknown symbol", body = ErrorBody),
        (status = 422, description = "Invalid parameters, unsupported frequency or result too large", body = ErrorBody),
    ))]
pub async fn fetch_get(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let access = Access::start("fetch", client);
    let ([fetch_missing], query) = query_and(raw.as_deref(), ["fetch_missing"])?;
    let fetch_missing = match fetch_missing.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ServiceError::invalid(
                "fetch_missing",
                format!("expected true or false, not `{other}`"),
            )
            .into());
        }
    };
    if fetch_missing && let Some(stale) = state.service.fill_missing(&query, now()).await? {
        return stale_answer(&state, &query, stale, access).await;
    }
    let encoded = state
        .service
        .fetch_encoded(&query, now(), &JsonFetch)
        .await?;
    access.served_query(&query, &encoded);
    Ok(respond(&state.service, &headers, encoded, true))
}

/// The frequencies the API knows.
#[utoipa::path(get, path = "/api/v1/historical-data/frequencies", tag = TAG, responses((status = 200, body = FrequencyList)))]
pub async fn frequencies() -> Json<FrequencyList> {
    Json(FrequencyList {
        data: known_frequencies().iter().map(FrequencyDto::from).collect(),
        custom: "N{s,m,h,d,w,M}".into(),
        activity: "volume:N | tick:N | dollar:N".into(),
    })
}

/// Data sources and their status.
#[utoipa::path(get, path = "/api/v1/historical-data/sources", tag = TAG, responses((status = 200, body = SourceList)))]
pub async fn sources(State(state): State<AppState>) -> Result<Json<SourceList>, ApiError> {
    let sources = state.service.sources().await?;
    let provider = state.service.provider();
    let data = sources
        .iter()
        .map(|s| SourceDto {
            live: provider
                .filter(|p| p.name() == s.name)
                .map(|p| ProviderLiveDto::from(&p.status())),
            ..SourceDto::from(s)
        })
        .collect();
    Ok(Json(SourceList { data }))
}

/// Search instruments.
#[utoipa::path(get, path = "/api/v1/historical-data/instruments", tag = TAG, params(InstrumentQuery),
    responses((status = 200, body = InstrumentList), (status = 400, body = ErrorBody)))]
pub async fn instruments(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InstrumentQuery>,
) -> Result<Json<InstrumentList>, ApiError> {
    let filter = InstrumentFilter {
        text: q.search.filter(|s| !s.trim().is_empty()),
        asset_class: q.asset_class,
        limit: q.limit,
    };
    let found = state.service.instruments(&filter).await?;
    Ok(Json(InstrumentList {
        data: found.iter().map(InstrumentDto::from).collect(),
    }))
}

/// One instrument with its stored series.
#[utoipa::path(get, path = "/api/v1/historical-data/instruments/{symbol}", tag = TAG,
    params(("symbol" = String, Path, description = "Symbol, e.g. AAPL or ESZ13")),
    responses((status = 200, body = InstrumentDto), (status = 404, body = ErrorBody)))]
pub async fn instrument(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
) -> Result<Json<InstrumentDto>, ApiError> {
    let info = state.service.instrument_info(&symbol).await?;
    let mut dto = InstrumentDto::from(&info.instrument);
    dto.series = Some(info.series.iter().map(SeriesInfoDto::from).collect());
    Ok(Json(dto))
}

/// Save a query under a unique name.
#[utoipa::path(post, path = "/api/v1/historical-data/queries/save", tag = TAG, request_body = SaveQueryRequest,
    responses((status = 201, body = SavedQueryDto), (status = 409, description = "Name taken", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn save_query(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SaveQueryRequest>,
) -> Result<(StatusCode, Json<SavedQueryDto>), ApiError> {
    let saved = state.service.save_query(req.into_input()?).await?;
    Ok((
        StatusCode::CREATED,
        Json(SavedQueryDto::from_entry(&saved)?),
    ))
}

/// Load a saved query.
#[utoipa::path(get, path = "/api/v1/historical-data/queries/load/{id}", tag = TAG, params(("id" = i64, Path)),
    responses((status = 200, body = SavedQueryDto), (status = 404, body = ErrorBody)))]
pub async fn load_query(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SavedQueryDto>, ApiError> {
    let q = state.service.load_query(id).await?;
    Ok(Json(SavedQueryDto::from_entry(&q)?))
}

/// List saved queries.
#[utoipa::path(get, path = "/api/v1/historical-data/queries", tag = TAG, params(QueryListParams),
    responses((status = 200, body = SavedQueryList)))]
pub async fn list_queries(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<QueryListParams>,
) -> Result<Json<SavedQueryList>, ApiError> {
    let list = state.service.list_queries(p.search.as_deref()).await?;
    Ok(Json(SavedQueryList::from(list.as_slice())))
}

/// Replace a saved query's name, description and parameters.
#[utoipa::path(put, path = "/api/v1/historical-data/queries/{id}", tag = TAG, params(("id" = i64, Path)),
    request_body = SaveQueryRequest,
    responses((status = 200, body = SavedQueryDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_query(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SaveQueryRequest>,
) -> Result<Json<SavedQueryDto>, ApiError> {
    let saved = state.service.update_query(id, req.into_input()?).await?;
    Ok(Json(SavedQueryDto::from_entry(&saved)?))
}

/// Delete a saved query.
#[utoipa::path(delete, path = "/api/v1/historical-data/queries/{id}", tag = TAG, params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_query(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_query(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a saved query now (records the run time).
#[utoipa::path(post, path = "/api/v1/historical-data/queries/{id}/run", tag = TAG, params(("id" = i64, Path)),
    responses((status = 200, body = FetchResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn run_query(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let access = Access::start("queries/run", client);
    let (query, encoded) = state.service.run_saved_query(id, now(), &JsonFetch).await?;
    access.served_query(&query, &encoded);
    Ok(respond(&state.service, &headers, encoded, false))
}

/// Gaps of a stored base series against the instrument's trading calendar.
#[utoipa::path(get, path = "/api/v1/historical-data/gaps", tag = TAG, params(GapParams),
    responses((status = 200, body = GapReportDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn gaps(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<GapParams>,
) -> Result<Json<GapReportDto>, ApiError> {
    let result = state.service.gaps(&q.into_query()?, now()).await?;
    Ok(Json(GapReportDto::from(&result)))
}

/// Stored contracts of a futures root with last trade / first notice dates.
#[utoipa::path(get, path = "/api/v1/historical-data/futures/{root}/contracts", tag = TAG,
    params(("root" = String, Path, description = "Futures root, e.g. ES")),
    responses((status = 200, body = ContractList), (status = 404, body = ErrorBody)))]
pub async fn futures_contracts(
    State(state): State<AppState>,
    ApiPath(root): ApiPath<String>,
) -> Result<Json<ContractList>, ApiError> {
    let contracts = state.service.futures_contracts(&root).await?;
    Ok(Json(ContractList {
        data: contracts.iter().map(ContractInfoDto::from).collect(),
    }))
}

/// Roll table of a continuous series of a root.
#[utoipa::path(get, path = "/api/v1/historical-data/futures/{root}/rolls", tag = TAG,
    params(("root" = String, Path, description = "Futures root, e.g. ES"), RollsQuery),
    responses((status = 200, body = RollTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn futures_rolls(
    State(state): State<AppState>,
    ApiPath(root): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RollTable>, ApiError> {
    let result = state
        .service
        .rolls(&rolls_query(&root, raw.as_deref())?, now())
        .await?;
    Ok(Json(RollTable {
        symbol: result.symbol.to_string(),
        data: result.rolls.iter().map(RollDto::from).collect(),
        warnings: result.warnings,
        from_history: result.from_history,
    }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = HealthDto)))]
pub async fn live() -> Json<HealthDto> {
    Json(HealthDto {
        status: HealthStatus::Ok,
        store: None,
        components: None,
    })
}

/// Readiness per component: store (reachable, latency), migrations, Redis when configured.
/// 503 only when the store is down; otherwise 200 with `ok` or `degraded`.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, description = "Ready (`ok`) or `degraded`", body = HealthDto),
        (status = 503, description = "The store is down", body = HealthDto)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthDto>) {
    let health = HealthDto::from(&state.service.readiness().await);
    let status = if health.status == HealthStatus::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(health))
}

/// Parameters of the export endpoints (documentation; GET parses them with the fetch
/// query-string form): `format`, plus every fetch parameter (`symbols`, `frequency`, `start`,
/// `end`, `preset`, `session`, roll options, `adjust`, ...).
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documentation only: GET parses the raw query string"
)]
pub struct ExportParams {
    /// `csv` (default), `ndjson` or `parquet`.
    pub format: Option<String>,
    /// GET only: comma list of symbols (any spelling; continuous futures such as `ES.c.0`).
    pub symbols: Option<String>,
    /// GET only: bar frequency, e.g. `1d`, `5m`.
    pub frequency: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub preset: Option<String>,
}

/// The `format` of the POST export (the fetch document is the body).
#[derive(Debug, serde::Deserialize)]
pub struct ExportFormatParam {
    pub format: Option<String>,
}

fn export_format(format: Option<&str>) -> Result<crate::export::ExportFormat, ApiError> {
    format
        .unwrap_or("csv")
        .parse()
        .map_err(|e: String| tradeassist_service::ServiceError::invalid("format", e).into())
}

/// Stream the bars of a query as a file: every bar `fetch` would return, without the
/// per-response limit (each piece still reads at most `max_base_bars`).
#[utoipa::path(get, path = "/api/v1/historical-data/export", tag = TAG, params(ExportParams),
    responses(
        (status = 200, description = "The bars as a file (chunked): CSV, NDJSON or Parquet (one row group per chunk)",
            content((String = "text/csv"), (String = "application/x-ndjson"), (Vec<u8> = "application/vnd.apache.parquet"))),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 404, description = "Unknown symbol", body = ErrorBody),
        (status = 422, description = "Invalid parameters or format", body = ErrorBody),
    ))]
pub async fn export_get(
    State(state): State<AppState>,
    client: Client,
    RawQuery(raw): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    let access = Access::start("export", client);
    let ([format], query) = query_and(raw.as_deref(), ["format"])?;
    let format = export_format(format.as_deref())?;
    super::export::respond(state.service, query, format, access).await
}

/// [`export_get`] with the fetch document as the JSON body.
#[utoipa::path(post, path = "/api/v1/historical-data/export", tag = TAG,
    params(("format" = Option<String>, Query, description = "`csv` (default), `ndjson` or `parquet`")),
    request_body = FetchRequestDto,
    responses(
        (status = 200, description = "The bars as a file (chunked): CSV, NDJSON or Parquet (one row group per chunk)",
            content((String = "text/csv"), (String = "application/x-ndjson"), (Vec<u8> = "application/vnd.apache.parquet"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "Unknown symbol", body = ErrorBody),
        (status = 422, description = "Invalid parameters or format", body = ErrorBody),
    ))]
pub async fn export_post(
    State(state): State<AppState>,
    client: Client,
    ApiQuery(p): ApiQuery<ExportFormatParam>,
    ApiJson(req): ApiJson<FetchRequestDto>,
) -> Result<axum::response::Response, ApiError> {
    let access = Access::start("export", client);
    let format = export_format(p.format.as_deref())?;
    super::export::respond(state.service, req.into_query()?, format, access).await
}
