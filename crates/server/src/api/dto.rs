//! Wire types of the REST API. Domain types are converted here, at the edge.

use serde::{Deserialize, Serialize};
use tradeassist_model::{Bar, DataSource, Instrument, SavedQuery, time::rfc3339};
use tradeassist_service::{FetchRequest, FrequencyInfo, SeriesResult, ServiceError};
use tradeassist_store::SeriesInfo;
use utoipa::{IntoParams, ToSchema};

/// Parameters of a fetch. Give `start` (and optionally `end`), or a `preset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchRequestDto {
    /// Symbols to fetch, e.g. `["AAPL", "IBM"]`.
    #[schema(example = json!(["AAPL"]))]
    pub symbols: Vec<String>,
    /// Frequency: `1m 5m 10m 15m 30m 1h 2h 4h 1d 2d 1w 1M` or custom `N{s,m,h,d,w,M}`.
    #[schema(example = "1d")]
    pub frequency: String,
    /// Inclusive start: `YYYY-MM-DD` (exchange-local day for intraday series) or RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2013-01-01")]
    pub start: Option<String>,
    /// End: a date includes that whole day; an RFC 3339 instant is exclusive. Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2013-12-31")]
    pub end: Option<String>,
    /// Relative range instead of start/end: `ytd`, `last_N_days`, `last_N_months`, `last_N_bars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The instant presets are measured from (date or RFC 3339). Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl FetchRequestDto {
    pub fn validate(&self, now: i64) -> Result<FetchRequest, ServiceError> {
        FetchRequest::parse(
            &self.symbols,
            &self.frequency,
            self.start.as_deref(),
            self.end.as_deref(),
            self.preset.as_deref(),
            self.as_of.as_deref(),
            now,
        )
    }
}

/// One bar. `ts` is the interval start in RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BarDto {
    #[schema(example = "2013-10-07T13:30:00Z")]
    pub ts: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_interest: Option<f64>,
}

impl From<&Bar> for BarDto {
    fn from(b: &Bar) -> Self {
        BarDto {
            ts: rfc3339(b.ts()),
            open: b.open(),
            high: b.high(),
            low: b.low(),
            close: b.close(),
            volume: b.volume(),
            open_interest: b.open_interest(),
        }
    }
}

/// Bars of one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesDto {
    pub symbol: String,
    pub asset_class: String,
    pub timezone: String,
    pub frequency: String,
    /// Stored resolution the bars were read from (`1m` or `1d`).
    pub base_frequency: String,
    /// Resolved range, RFC 3339 UTC, half-open `[start, end)`.
    pub start: String,
    pub end: String,
    pub count: usize,
    pub bars: Vec<BarDto>,
}

impl From<&SeriesResult> for SeriesDto {
    fn from(s: &SeriesResult) -> Self {
        SeriesDto {
            symbol: s.instrument.symbol.clone(),
            asset_class: s.instrument.asset_class.to_string(),
            timezone: s.instrument.timezone.name().to_string(),
            frequency: s.frequency.to_string(),
            base_frequency: s.base.to_string(),
            start: rfc3339(s.window.range.start()),
            end: rfc3339(s.window.range.end()),
            count: s.bars.len(),
            bars: s.bars.iter().map(BarDto::from).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FetchResponse {
    pub data: Vec<SeriesDto>,
    pub metadata: FetchMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FetchMetadata {
    /// Total bars over all series.
    pub total_bars: usize,
    /// When the response was produced (RFC 3339 UTC).
    pub generated_at: String,
}

/// Futures contract details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContractDto {
    pub root: String,
    /// `YYYY-MM`.
    pub month: String,
    pub last_trade_date: Option<String>,
    pub first_notice_date: Option<String>,
}

/// A stored series of an instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesInfoDto {
    pub frequency: String,
    pub first: String,
    pub last: String,
    pub count: u64,
}

impl From<&SeriesInfo> for SeriesInfoDto {
    fn from(s: &SeriesInfo) -> Self {
        SeriesInfoDto {
            frequency: s.resolution.to_string(),
            first: rfc3339(s.first_ts),
            last: rfc3339(s.last_ts),
            count: s.count,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstrumentDto {
    pub symbol: String,
    /// `stock`, `index` or `future`.
    pub asset_class: String,
    pub exchange: String,
    /// IANA timezone of the exchange.
    pub timezone: String,
    /// Trading-session template.
    pub calendar: String,
    pub currency: String,
    pub tick_size: f64,
    pub multiplier: f64,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractDto>,
    /// Stored series (only on the single-instrument endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<SeriesInfoDto>>,
}

impl From<&Instrument> for InstrumentDto {
    fn from(i: &Instrument) -> Self {
        InstrumentDto {
            symbol: i.symbol.clone(),
            asset_class: i.asset_class.to_string(),
            exchange: i.exchange.clone(),
            timezone: i.timezone.name().to_string(),
            calendar: i.calendar.clone(),
            currency: i.currency.clone(),
            tick_size: i.tick_size,
            multiplier: i.multiplier,
            description: i.description.clone(),
            contract: i.contract.as_ref().map(|c| ContractDto {
                root: c.root.clone(),
                month: c.month.to_string(),
                last_trade_date: c.last_trade_date.map(|d| d.to_string()),
                first_notice_date: c.first_notice_date.map(|d| d.to_string()),
            }),
            series: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstrumentList {
    pub data: Vec<InstrumentDto>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstrumentQuery {
    /// Symbol prefix or description text (case-insensitive).
    pub search: Option<String>,
    /// `stock`, `index` or `future`.
    pub asset_class: Option<String>,
    /// At most this many (1..=1000, default 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FrequencyDto {
    /// e.g. `5m`.
    pub name: String,
    /// e.g. `5 minutes`.
    pub label: String,
    /// Fixed length in seconds; null for months.
    pub seconds: Option<i64>,
    /// Whether this frequency can be served now.
    pub available: bool,
}

impl From<&FrequencyInfo> for FrequencyDto {
    fn from(f: &FrequencyInfo) -> Self {
        FrequencyDto { name: f.frequency.to_string(), label: f.label.clone(), seconds: f.seconds, available: f.available }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FrequencyList {
    pub data: Vec<FrequencyDto>,
    /// Grammar of custom frequencies.
    #[schema(example = "N{s,m,h,d,w,M}")]
    pub custom: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceDto {
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    /// `closed`, `open` or `half_open`.
    pub circuit_state: String,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub bars_ingested: u64,
}

impl From<&DataSource> for SourceDto {
    fn from(s: &DataSource) -> Self {
        SourceDto {
            name: s.name.clone(),
            kind: s.kind.clone(),
            enabled: s.enabled,
            circuit_state: s.circuit_state.clone(),
            last_success_at: s.last_success_at.map(rfc3339),
            last_error: s.last_error.clone(),
            bars_ingested: s.bars_ingested,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceList {
    pub data: Vec<SourceDto>,
}

/// A query to save (or the new content of a saved query).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveQueryRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub parameters: FetchRequestDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedQueryDto {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub parameters: FetchRequestDto,
    pub created_at: String,
    pub updated_at: String,
    pub last_run_at: Option<String>,
}

impl SavedQueryDto {
    /// Convert a stored query; its parameters were validated when saved.
    pub fn from_saved(q: &SavedQuery) -> Result<Self, ServiceError> {
        let parameters = serde_json::from_str(&q.parameters_json)
            .map_err(|e| ServiceError::invalid("parameters", format!("stored parameters of query {} are unreadable: {e}", q.id)))?;
        Ok(SavedQueryDto {
            id: q.id,
            name: q.name.clone(),
            description: q.description.clone(),
            parameters,
            created_at: rfc3339(q.created_at),
            updated_at: rfc3339(q.updated_at),
            last_run_at: q.last_run_at.map(rfc3339),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedQueryList {
    pub data: Vec<SavedQueryDto>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueryListParams {
    /// Case-insensitive text in name or description.
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthDto {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}
