//! Wire types of the REST API. Domain types are converted here, at the edge.

use serde::{Deserialize, Serialize};
use tradeassist_engine::{
    AggBar, DateSource, FillKind, RollEvent, RollTrigger, SessionFilter, VwapSource,
};
use tradeassist_model::{DataSource, Instrument, SavedQuery, time::rfc3339};
use tradeassist_service::{
    ContractInfo, FetchInput, FetchRequest, FrequencyInfo, GapResult, SeriesResult, ServiceError,
};

/// Wire name of a session filter.
pub fn session_name(s: SessionFilter) -> &'static str {
    match s {
        SessionFilter::Regular => "regular",
        SessionFilter::Extended => "extended",
        SessionFilter::All => "all",
    }
}
use tradeassist_store::SeriesInfo;
use utoipa::{IntoParams, ToSchema};

/// Parameters of a fetch. Give `start` (and optionally `end`), or a `preset`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// Equities: `regular` (default, 09:30-16:00 ET), `extended` (04:00-20:00) or `all`.
    /// Futures always use the full exchange session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Intraday bucket alignment: `session` (default, buckets start at the session open) or `clock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<String>,
    /// With `align=clock`: origin instant or date (default 1970-01-01T00:00:00Z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// With `align=clock`: offset added to the origin, e.g. `15m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// Bar label: `start` (default) or `end` of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Gap filling: `none` (default), `null`, `prev` (last close, zero volume) or `linear`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    /// Also return the session-anchored cumulative VWAP of every bar.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session_vwap: bool,
    /// Force the stored base series (`1m` or `1d`). Default: daily bars for 1d and longer
    /// frequencies when the instrument has them, else 1-minute bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Continuous futures (`ES.c.0`, `ES.v.0`, `ES.n.1`): override the symbol's roll rule with
    /// `calendar`, `volume`, `open_interest` or `fixed` (with `roll_dates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll: Option<String>,
    /// Calendar rule: roll this many trading days before the anchor date (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_offset: Option<u32>,
    /// Calendar rule anchor: `last_trade` (default) or `first_notice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_anchor: Option<String>,
    /// Prices that set the roll gap: `last_close_both` (default: both closes on the last session
    /// before the roll) or `last_old_first_new`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_price: Option<String>,
    /// With `roll=fixed`: roll dates, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roll_dates: Vec<String>,
    /// Rank override for continuous symbols (0 = front month).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Price adjustment. Continuous futures: `none` (default), `difference_back`, `ratio_back`,
    /// `difference_forward`, `ratio_forward`. Stocks: `none` (default; raw vendor prices),
    /// `split` or `all` (splits and dividends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjust: Option<String>,
}

impl FetchRequestDto {
    pub fn validate(&self, now: i64) -> Result<FetchRequest, ServiceError> {
        let input = FetchInput {
            symbols: self.symbols.clone(),
            frequency: self.frequency.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
            preset: self.preset.clone(),
            as_of: self.as_of.clone(),
            session: self.session.clone(),
            align: self.align.clone(),
            origin: self.origin.clone(),
            offset: self.offset.clone(),
            label: self.label.clone(),
            fill: self.fill.clone(),
            session_vwap: self.session_vwap,
            base: self.base.clone(),
            roll: self.roll.clone(),
            roll_offset: self.roll_offset,
            roll_anchor: self.roll_anchor.clone(),
            roll_price: self.roll_price.clone(),
            roll_dates: self.roll_dates.clone(),
            rank: self.rank,
            adjust: self.adjust.clone(),
        };
        FetchRequest::parse(&input, now)
    }
}

/// One bar. `ts` is the interval start (or end with `label=end`) in RFC 3339 UTC. Prices are
/// null only on bars created by `fill=null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BarDto {
    #[schema(example = "2013-10-07T13:30:00Z")]
    pub ts: String,
    /// Trading day (exchange calendar) for 1d and longer bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    pub volume: f64,
    /// Last open interest of the interval (futures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_interest: Option<f64>,
    /// Volume-weighted average price of the interval (null when volume is zero).
    pub vwap: Option<f64>,
    /// Session-anchored cumulative VWAP (only with `session_vwap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_vwap: Option<f64>,
    /// False while the interval is still open (it ends after the last stored bar or after now).
    pub complete: bool,
    /// Number of stored base bars in the interval.
    pub base_bars: u32,
    /// `null`, `prev` or `linear` for bars created by gap filling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filled: Option<String>,
    /// Continuous futures: the contract of the bar (of its last base bar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
}

impl From<&AggBar> for BarDto {
    fn from(b: &AggBar) -> Self {
        BarDto {
            ts: rfc3339(b.ts),
            date: b.date.map(|d| d.to_string()),
            open: b.ohlc.map(|p| p.open),
            high: b.ohlc.map(|p| p.high),
            low: b.ohlc.map(|p| p.low),
            close: b.ohlc.map(|p| p.close),
            volume: b.volume,
            open_interest: b.open_interest,
            vwap: b.vwap,
            session_vwap: b.session_vwap,
            complete: b.complete,
            base_bars: b.count,
            filled: b.filled.map(|f| {
                match f {
                    FillKind::Null => "null",
                    FillKind::Prev => "prev",
                    FillKind::Linear => "linear",
                }
                .to_string()
            }),
            contract: None,
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
    /// Stored resolution the bars were derived from (`1m` or `1d`).
    pub base_frequency: String,
    /// Session filter applied: `regular`, `extended` or `all`.
    pub session: String,
    /// Price the VWAPs are computed from: `vendor` (vendor VWAP of every base bar) or
    /// `typical_price` ((H+L+C)/3).
    pub vwap_source: String,
    /// Futures: the contract the bars belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// Resolved range, RFC 3339 UTC, half-open `[start, end)`.
    pub start: String,
    pub end: String,
    pub count: usize,
    pub bars: Vec<BarDto>,
    /// Continuous futures: the rolls inside the range (the roll table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls: Option<Vec<RollDto>>,
    /// Things the caller should know (e.g. back-adjusted prices at or below zero).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One roll of a continuous series. Adjusted values trace back to raw ones through
/// `cumulative`: backward modes add/multiply the old contract's segment by it, forward modes
/// the new contract's segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RollDto {
    /// First trading day of the new contract.
    pub date: String,
    /// Instant the new contract takes over (its session open), RFC 3339 UTC.
    pub ts: String,
    pub from: String,
    pub to: String,
    /// Prices that set the gap (by default both closes on the last session before the roll).
    pub from_price: f64,
    pub to_price: f64,
    /// `to_price - from_price`.
    pub difference: f64,
    /// `to_price / from_price` (null when a price is not positive).
    pub ratio: Option<f64>,
    /// Cumulative adjustment of the adjusted segment: an addend (difference modes) or a factor
    /// (ratio modes); 0 / 1 without adjustment.
    pub cumulative: f64,
    /// `calendar`, `volume`, `open_interest`, `fixed` or `expired`.
    pub trigger: String,
}

impl From<&RollEvent> for RollDto {
    fn from(r: &RollEvent) -> Self {
        RollDto {
            date: r.date.to_string(),
            ts: rfc3339(r.ts),
            from: r.from.to_string(),
            to: r.to.to_string(),
            from_price: r.from_price,
            to_price: r.to_price,
            difference: r.difference,
            ratio: r.ratio,
            cumulative: r.cumulative.value(),
            trigger: match r.trigger {
                RollTrigger::Calendar { .. } => "calendar",
                RollTrigger::Volume { .. } => "volume",
                RollTrigger::OpenInterest { .. } => "open_interest",
                RollTrigger::Fixed { .. } => "fixed",
                RollTrigger::Expired { .. } => "expired",
            }
            .into(),
        }
    }
}

impl From<&SeriesResult> for SeriesDto {
    fn from(s: &SeriesResult) -> Self {
        SeriesDto {
            symbol: s.instrument.symbol.clone(),
            asset_class: s.instrument.asset_class.to_string(),
            timezone: s.instrument.timezone.name().to_string(),
            frequency: s.bars_spec.to_string(),
            base_frequency: s.base.to_string(),
            session: session_name(s.session).into(),
            vwap_source: match s.vwap_source {
                VwapSource::Vendor => "vendor",
                VwapSource::TypicalPrice => "typical_price",
            }
            .into(),
            contract: s.instrument.contract.as_ref().map(|c| c.symbol()),
            start: rfc3339(s.window.range.start()),
            end: rfc3339(s.window.range.end()),
            count: s.bars.len(),
            bars: match &s.continuous {
                Some(c) => s
                    .bars
                    .iter()
                    .zip(&c.bar_contracts)
                    .map(|(b, contract)| BarDto {
                        contract: Some(contract.to_string()),
                        ..BarDto::from(b)
                    })
                    .collect(),
                None => s.bars.iter().map(BarDto::from).collect(),
            },
            rolls: s
                .continuous
                .as_ref()
                .map(|c| c.rolls.iter().map(RollDto::from).collect()),
            warnings: s
                .continuous
                .as_ref()
                .map(|c| c.warnings.clone())
                .unwrap_or_default(),
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
    /// Stored resolutions this frequency is derived from (`1m`, `1d`).
    pub bases: Vec<String>,
}

impl From<&FrequencyInfo> for FrequencyDto {
    fn from(f: &FrequencyInfo) -> Self {
        FrequencyDto {
            name: f.frequency.to_string(),
            label: f.label.clone(),
            seconds: f.seconds,
            bases: f.bases.iter().map(|b| b.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FrequencyList {
    pub data: Vec<FrequencyDto>,
    /// Grammar of custom frequencies.
    #[schema(example = "N{s,m,h,d,w,M}")]
    pub custom: String,
    /// Grammar of activity bars.
    #[schema(example = "volume:N | tick:N | dollar:N")]
    pub activity: String,
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
        let parameters = serde_json::from_str(&q.parameters_json).map_err(|e| {
            ServiceError::invalid(
                "parameters",
                format!("stored parameters of query {} are unreadable: {e}", q.id),
            )
        })?;
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

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GapQuery {
    pub symbol: String,
    /// Stored base series to check: `1m` (default) or `1d`.
    pub frequency: Option<String>,
    /// Start: date or RFC 3339.
    pub start: String,
    /// End: a date includes that day; an instant is exclusive. Default: now.
    pub end: Option<String>,
    /// Equities: `regular` (default), `extended` or `all`.
    pub session: Option<String>,
}

/// A span where the calendar expects bars and none are stored, half-open `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GapDto {
    pub start: String,
    pub end: String,
    /// Expected base bars missing.
    pub missing: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GapReportDto {
    pub symbol: String,
    pub frequency: String,
    pub session: String,
    pub start: String,
    pub end: String,
    /// Base bars the calendar expects in the range.
    pub expected: u64,
    /// Expected slots that hold a bar.
    pub present: u64,
    /// `present / expected` (1 when nothing is expected).
    pub completeness: f64,
    pub gaps: Vec<GapDto>,
}

impl From<&GapResult> for GapReportDto {
    fn from(g: &GapResult) -> Self {
        GapReportDto {
            symbol: g.instrument.symbol.clone(),
            frequency: g.base.to_string(),
            session: session_name(g.session).into(),
            start: rfc3339(g.window.range.start()),
            end: rfc3339(g.window.range.end()),
            expected: g.report.expected,
            present: g.report.present,
            completeness: g.report.completeness(),
            gaps: g
                .report
                .gaps
                .iter()
                .map(|x| GapDto {
                    start: rfc3339(x.start),
                    end: rfc3339(x.end),
                    missing: x.missing,
                })
                .collect(),
        }
    }
}

/// A stored futures contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContractInfoDto {
    pub symbol: String,
    pub root: String,
    /// `YYYY-MM`.
    pub month: String,
    pub last_trade_date: Option<String>,
    /// `explicit` (from imported data) or `rule` (derived from the exchange's expiry rule).
    pub last_trade_date_source: Option<String>,
    pub first_notice_date: Option<String>,
    pub first_notice_date_source: Option<String>,
    pub series: Vec<SeriesInfoDto>,
}

impl From<&ContractInfo> for ContractInfoDto {
    fn from(c: &ContractInfo) -> Self {
        let contract = c.instrument.contract.as_ref();
        let source = |s: DateSource| match s {
            DateSource::Explicit => "explicit".to_string(),
            DateSource::Rule => "rule".to_string(),
        };
        ContractInfoDto {
            symbol: c.instrument.symbol.clone(),
            root: contract.map(|k| k.root.clone()).unwrap_or_default(),
            month: contract.map(|k| k.month.to_string()).unwrap_or_default(),
            last_trade_date: c.dates.as_ref().map(|d| d.last_trade.to_string()),
            last_trade_date_source: c.dates.as_ref().map(|d| source(d.last_trade_source)),
            first_notice_date: c
                .dates
                .as_ref()
                .and_then(|d| d.first_notice.map(|x| x.to_string())),
            first_notice_date_source: c
                .dates
                .as_ref()
                .and_then(|d| d.first_notice_source.map(source)),
            series: c.series.iter().map(SeriesInfoDto::from).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContractList {
    pub data: Vec<ContractInfoDto>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RollsQuery {
    /// `calendar`, `volume` (default) or `open_interest`.
    pub rule: Option<String>,
    /// 0 = front month (default).
    pub rank: Option<usize>,
    /// Calendar rule: trading days before the anchor date.
    pub roll_offset: Option<u32>,
    /// `last_trade` (default) or `first_notice`.
    pub roll_anchor: Option<String>,
    /// `last_close_both` (default) or `last_old_first_new`.
    pub roll_price: Option<String>,
    /// Adjustment whose cumulative values the table shows (default `none`).
    pub adjust: Option<String>,
    pub start: String,
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RollTable {
    /// The continuous symbol the table belongs to, e.g. `ES.v.0`.
    pub symbol: String,
    pub data: Vec<RollDto>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// True when the events came from the stored roll history (the contracts' stored data is
    /// unchanged since they were computed); false when they were computed for this request.
    #[serde(default)]
    pub from_history: bool,
}
