//! Wire types of the REST API. Domain types are converted here, at the edge.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tradeassist_engine::{
    AggBar, Align, BarSpec, DateSource, FillKind, FillMethod, Label, RollAnchor, RollCycle,
    RollPrice, RollRule, RollRuleKind, SessionFilter, VwapSource,
};
use tradeassist_model::{
    DataSource, Instrument, Preset, RangeSpec, Resolution, TimeBound, Timeframe, time::rfc3339,
};
use tradeassist_service::health;
use tradeassist_service::query::{align_from, range_from};
use tradeassist_service::{
    AdjustRequest, AlignKind, ContractInfo, FrequencyInfo, GapResult, Query, QueryOptions, Roll,
    RollOptions, SavedEntry, SeriesResult, ServiceError,
};
use tradeassist_store::SeriesInfo;
use utoipa::{IntoParams, ToSchema};

use super::text;

/// Parameters of a fetch. Give `start` (and optionally `end`), or a `preset`. Every word-valued
/// field is checked against its accepted names; an unknown one is a 422 naming the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct FetchRequestDto {
    /// Symbols to fetch, e.g. `["AAPL", "IBM"]`; contracts in any year spelling (`ESZ13`,
    /// `ESZ2013`, `ESZ3`) or continuous futures (`ES.v.0`).
    #[schema(example = json!(["AAPL"]))]
    #[arg(long = "symbol", required = true)]
    pub symbols: Vec<String>,
    /// Frequency: `1m 5m 10m 15m 30m 1h 2h 4h 1d 2d 1w 1M`, custom `N{s,m,h,d,w,M}`, or
    /// activity bars `volume:N`, `tick:N`, `dollar:N`.
    #[serde(with = "text")]
    #[schema(value_type = String, example = "1d")]
    #[arg(long, visible_alias = "bars", default_value = "1d")]
    pub frequency: BarSpec,
    /// Inclusive start: `YYYY-MM-DD` (exchange-local day for intraday series) or RFC 3339;
    /// 1900-01-01 to 2100-12-31.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "2013-01-01")]
    #[arg(long)]
    pub start: Option<TimeBound>,
    /// End: a date includes that whole day; an RFC 3339 instant is exclusive. Default: now.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "2013-12-31")]
    #[arg(long)]
    pub end: Option<TimeBound>,
    /// Relative range instead of start/end: `ytd`, `last_N_days`, `last_N_months`, `last_N_bars`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub preset: Option<Preset>,
    /// The instant presets are measured from (date or RFC 3339). Default: now.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub as_of: Option<TimeBound>,
    /// Equities: `regular` (default, 09:30-16:00 ET), `extended` (04:00-20:00) or `all`.
    /// Futures always use the full exchange session.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub session: Option<SessionFilter>,
    /// Intraday bucket alignment: `session` (default, buckets start at the session open) or `clock`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub align: Option<AlignKind>,
    /// With `align=clock`: origin instant or date (default 1970-01-01T00:00:00Z).
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub origin: Option<TimeBound>,
    /// With `align=clock`: offset added to the origin, e.g. `15m`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub offset: Option<Timeframe>,
    /// Bar label: `start` (default) or `end` of the interval.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub label: Option<Label>,
    /// Gap filling: `none` (default), `null`, `prev` (last close, zero volume) or `linear`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub fill: Option<FillMethod>,
    /// Also return the session-anchored cumulative VWAP of every bar.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[arg(long)]
    pub session_vwap: bool,
    /// Fetch-through: fill the gaps of the stored series over the window from the
    /// configured provider before answering (the CLI has `backfill` for this). When the
    /// provider is down the stored data is answered with `metadata.stale = true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[arg(skip)]
    pub fetch_missing: bool,
    /// Force the stored base series (`1m` or `1d`). Default: daily bars for 1d and longer
    /// frequencies when the instrument has them, else 1-minute bars.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub base: Option<Resolution>,
    /// Continuous futures (`ES.c.0`, `ES.v.0`, `ES.n.1`): override the symbol's roll rule with
    /// `calendar`, `volume`, `open_interest` or `fixed` (with `roll_dates`).
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub roll: Option<RollRuleKind>,
    /// Calendar rule: roll this many trading days before the anchor date (default 0, at most 250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub roll_offset: Option<u32>,
    /// Calendar rule anchor: `last_trade` (default) or `first_notice`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub roll_anchor: Option<RollAnchor>,
    /// Prices that set the roll gap: `last_close_both` (default: both closes on the last session
    /// before the roll) or `last_old_first_new`.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub roll_price: Option<RollPrice>,
    /// With `roll=fixed`: roll dates (`YYYY-MM-DD`), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    #[arg(long = "roll-date")]
    pub roll_dates: Vec<NaiveDate>,
    /// Rank override for continuous symbols (0 = front month).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub rank: Option<usize>,
    /// Continuous futures: the contract months to roll through, as month codes (`HMUZ`);
    /// default per root (e.g. GC `GJMQVZ`), every listed month otherwise.
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "HMUZ")]
    #[arg(long)]
    pub months: Option<RollCycle>,
    /// Volume / open-interest rolls: a crossover more than this many sessions before the
    /// front's last trade date is ignored (default 7, as zipline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long)]
    pub grace_sessions: Option<u32>,
    /// Volume / open-interest rolls: roll straight to the most active later contract instead
    /// of one contract at a time (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub skip_to_most_active: Option<bool>,
    /// Price adjustment. Continuous futures: `none` (default), `difference_back`, `ratio_back`,
    /// `difference_forward`, `ratio_forward`. Stocks: `none` (default; raw vendor prices),
    /// `split` or `all` (splits and dividends).
    #[serde(
        default,
        with = "text::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    #[arg(long)]
    pub adjust: Option<AdjustRequest>,
}

impl FetchRequestDto {
    /// The typed query this document asks for.
    pub fn into_query(self) -> Result<Query, ServiceError> {
        let options = QueryOptions {
            session: self.session,
            align: align_from(self.align, self.origin, self.offset)?,
            label: self.label.unwrap_or_default(),
            fill: self.fill.unwrap_or_default(),
            session_vwap: self.session_vwap,
            base: self.base,
            roll: RollOptions {
                rule: RollOptions::rule_from(self.roll, self.roll_dates)?,
                roll_offset: self.roll_offset,
                anchor: self.roll_anchor,
                roll_price: self.roll_price,
                rank: self.rank,
                months: self.months,
                grace_sessions: self.grace_sessions,
                skip_to_most_active: self.skip_to_most_active,
            },
            adjust: self.adjust,
        };
        let range = range_from(self.start, self.end, self.preset, self.as_of)?;
        Query::new(&self.symbols, self.frequency, range, options)
    }
}

impl From<&Query> for FetchRequestDto {
    fn from(q: &Query) -> Self {
        let (start, end, preset, as_of) = match q.range {
            RangeSpec::Absolute { start, end } => (Some(start), end, None, None),
            RangeSpec::Preset { preset, as_of } => (None, None, Some(preset), as_of),
        };
        let o = &q.options;
        let (align, origin, offset) = match o.align {
            Align::Session => (None, None, None),
            Align::Clock { origin, offset } => (
                Some(AlignKind::Clock),
                Some(TimeBound::Instant(origin)),
                format!("{offset}s").parse().ok().filter(|_| offset != 0),
            ),
        };
        let r = &o.roll;
        let (roll, roll_dates) = match &r.rule {
            None => (None, Vec::new()),
            Some(RollRule::Fixed(dates)) => (Some(RollRuleKind::Fixed), dates.clone()),
            Some(rule) => (Some(rule.kind()), Vec::new()),
        };
        FetchRequestDto {
            symbols: q.symbols.clone(),
            frequency: q.bars,
            start,
            end,
            preset,
            as_of,
            session: o.session,
            align,
            origin,
            offset,
            label: (o.label != Label::default()).then_some(o.label),
            fill: (o.fill != FillMethod::default()).then_some(o.fill),
            session_vwap: o.session_vwap,
            fetch_missing: false,
            base: o.base,
            roll,
            roll_offset: r.roll_offset,
            roll_anchor: r.anchor,
            roll_price: r.roll_price,
            roll_dates,
            rank: r.rank,
            months: r.months,
            grace_sessions: r.grace_sessions,
            skip_to_most_active: r.skip_to_most_active,
            adjust: o.adjust,
        }
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
    /// What decided the roll, in words: the anchor date, the session and values of a
    /// crossover, contracts skipped, a grace window applied.
    pub trigger_detail: String,
}

impl From<&Roll> for RollDto {
    fn from(roll: &Roll) -> Self {
        let r = &roll.event;
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
            trigger: roll.detail.as_str().into(),
            trigger_detail: roll.detail.to_string(),
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
            session: s.session.to_string(),
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
    /// Set with `fetch_missing` when the provider could not fill the gaps: the stored data
    /// is answered as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    /// With `stale`: the newest stored bar's interval start (RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_stored_bar: Option<String>,
    /// With `stale`: the provider's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_reason: Option<String>,
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
    #[serde(default, with = "text::option")]
    #[param(value_type = Option<String>)]
    pub asset_class: Option<tradeassist_model::AssetClass>,
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
    /// Live counters of the configured provider (absent for other sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<ProviderLiveDto>,
}

/// What the running provider has seen since the server started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProviderLiveDto {
    /// Vendor requests let through the breaker.
    pub calls: u64,
    /// Requests that failed (after retries).
    pub failures: u64,
    /// Requests refused while the circuit was open.
    pub rejected: u64,
    /// Failures in a row (the breaker opens at its threshold).
    pub consecutive_failures: u32,
    pub retries: u64,
    pub timeouts: u64,
    pub last_error_at: Option<String>,
    /// Seconds until an open circuit lets a probe through.
    pub retry_after_secs: Option<f64>,
    /// The client-side rate budget (requests per minute).
    pub requests_per_minute: Option<u32>,
    /// Of the budget, requests not used in the last minute.
    pub remaining_this_minute: Option<u32>,
}

impl From<&tradeassist_providers::resilience::ResilienceStats> for ProviderLiveDto {
    fn from(s: &tradeassist_providers::resilience::ResilienceStats) -> Self {
        let c = &s.circuit;
        ProviderLiveDto {
            calls: c.calls,
            failures: c.failures,
            rejected: c.rejected,
            consecutive_failures: c.consecutive_failures,
            retries: s.retries,
            timeouts: s.timeouts,
            last_error_at: c.last_error_at.map(|ms| rfc3339(ms.div_euclid(1000))),
            retry_after_secs: c.retry_after.map(|d| d.as_secs_f64()),
            requests_per_minute: s.requests_per_minute,
            remaining_this_minute: s.remaining_this_minute,
        }
    }
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
            live: None,
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

impl SaveQueryRequest {
    pub fn into_input(self) -> Result<tradeassist_service::SavedQueryInput, ServiceError> {
        Ok(tradeassist_service::SavedQueryInput {
            name: self.name,
            description: self.description,
            query: self.parameters.into_query()?,
        })
    }
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
    /// The wire form of a saved query whose parameters could be read.
    pub fn from_entry(q: &SavedEntry) -> Result<Self, ServiceError> {
        let query = q.query.as_ref().map_err(|e| {
            ServiceError::invalid(
                "parameters",
                format!(
                    "the stored parameters of query {} cannot be read: {e}",
                    q.id
                ),
            )
        })?;
        Ok(SavedQueryDto {
            id: q.id,
            name: q.name.clone(),
            description: q.description.clone(),
            parameters: FetchRequestDto::from(query),
            created_at: rfc3339(q.created_at),
            updated_at: rfc3339(q.updated_at),
            last_run_at: q.last_run_at.map(rfc3339),
        })
    }
}

/// A saved query whose stored parameters this version cannot read (written by another
/// version); it can be deleted or overwritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnreadableQueryDto {
    pub id: i64,
    pub name: String,
    /// Why the parameters cannot be read.
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedQueryList {
    pub data: Vec<SavedQueryDto>,
    /// Saved queries whose parameters cannot be read; they never fail the list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<UnreadableQueryDto>,
}

impl From<&[SavedEntry]> for SavedQueryList {
    fn from(entries: &[SavedEntry]) -> Self {
        let mut list = SavedQueryList {
            data: Vec::new(),
            unreadable: Vec::new(),
        };
        for e in entries {
            match SavedQueryDto::from_entry(e) {
                Ok(dto) => list.data.push(dto),
                Err(_) => list.unreadable.push(UnreadableQueryDto {
                    id: e.id,
                    name: e.name.clone(),
                    error: e.query.as_ref().err().cloned().unwrap_or_default(),
                }),
            }
        }
        list
    }
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueryListParams {
    /// Case-insensitive text in name or description.
    pub search: Option<String>,
}

/// Liveness or readiness. Readiness adds the store backend and every component's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthDto {
    /// `ok`; for readiness `degraded` when a component other than the store is not ok, `down`
    /// (HTTP 503) when the store is.
    pub status: HealthStatus,
    /// Store backend (`sqlite`, `postgres`); readiness only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Per-component state; readiness only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<HealthComponents>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

impl From<health::Status> for HealthStatus {
    fn from(s: health::Status) -> Self {
        match s {
            health::Status::Ok => HealthStatus::Ok,
            health::Status::Degraded => HealthStatus::Degraded,
            health::Status::Down => HealthStatus::Down,
        }
    }
}

/// The components readiness checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthComponents {
    /// The store answered a query (`degraded` when slower than 1 s).
    pub store: ComponentHealth,
    /// The applied schema version is the one this build expects.
    pub migrations: MigrationsHealth,
    /// PING of the configured Redis server; absent when Redis is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<ComponentHealth>,
    /// The backfill provider's circuit breaker (`degraded` while open or half-open); absent
    /// when no provider is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ComponentHealth>,
}

/// One probed component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentHealth {
    pub status: HealthStatus,
    /// How long the probe took, in milliseconds.
    pub latency_ms: f64,
    /// Why it is not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&health::Check> for ComponentHealth {
    fn from(c: &health::Check) -> Self {
        ComponentHealth {
            status: c.status.into(),
            latency_ms: c.latency.as_secs_f64() * 1000.0,
            error: c.error.clone(),
        }
    }
}

/// Schema migrations of the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MigrationsHealth {
    pub status: HealthStatus,
    /// Schema version applied in the database (absent when the store is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<i64>,
    /// Schema version this build migrates to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<i64>,
}

impl From<&health::Readiness> for HealthDto {
    fn from(r: &health::Readiness) -> Self {
        HealthDto {
            status: r.status().into(),
            store: Some(r.backend.to_string()),
            components: Some(HealthComponents {
                store: ComponentHealth::from(&r.store),
                migrations: MigrationsHealth {
                    status: r.migrations().into(),
                    applied: r.schema.map(|s| s.applied),
                    expected: r.schema.map(|s| s.expected),
                },
                redis: r.redis.as_ref().map(ComponentHealth::from),
                provider: r.provider.as_ref().map(ComponentHealth::from),
            }),
        }
    }
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GapParams {
    pub symbol: String,
    /// Stored base series to check: `1m` (default) or `1d`.
    #[serde(default, with = "text::option")]
    #[param(value_type = Option<String>)]
    pub frequency: Option<Resolution>,
    /// Start: date or RFC 3339.
    #[serde(with = "text")]
    #[param(value_type = String)]
    pub start: TimeBound,
    /// End: a date includes that day; an instant is exclusive. Default: now.
    #[serde(default, with = "text::option")]
    #[param(value_type = Option<String>)]
    pub end: Option<TimeBound>,
    /// Equities: `regular` (default), `extended` or `all`.
    #[serde(default, with = "text::option")]
    #[param(value_type = Option<String>)]
    pub session: Option<SessionFilter>,
}

impl GapParams {
    pub fn into_query(self) -> Result<tradeassist_service::GapQuery, ServiceError> {
        Ok(tradeassist_service::GapQuery {
            symbol: self.symbol,
            base: self.frequency.unwrap_or(Resolution::Minute),
            range: range_from(Some(self.start), self.end, None, None)?,
            session: self.session,
        })
    }
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
    /// Gaps in the range (the list holds at most the first 10,000).
    pub total_gaps: u64,
    /// True when `gaps` lists fewer than `total_gaps`.
    pub truncated: bool,
    pub gaps: Vec<GapDto>,
}

impl From<&GapResult> for GapReportDto {
    fn from(g: &GapResult) -> Self {
        GapReportDto {
            symbol: g.instrument.symbol.clone(),
            frequency: g.base.to_string(),
            session: g.session.to_string(),
            start: rfc3339(g.window.range.start()),
            end: rfc3339(g.window.range.end()),
            expected: g.report.expected,
            present: g.report.present,
            completeness: g.report.completeness(),
            total_gaps: g.report.total_gaps,
            truncated: g.report.truncated,
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

/// A GET query string read as the endpoint's own parameters `own` (their values, in that
/// order; `None` when absent) plus a fetch query of every other parameter (its text form).
pub fn query_and<const N: usize>(
    raw: Option<&str>,
    own: [&str; N],
) -> Result<([Option<String>; N], Query), ServiceError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match own.iter().position(|name| *name == k) {
            Some(i) => values[i] = Some(v.into_owned()),
            None => pairs.push((k.into_owned(), v.into_owned())),
        }
    }
    let query = Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok((values, query))
}

/// Parameters of the rolls endpoint (documentation; parsed by [`rolls_query`]): `rule` and
/// `rank` name the continuous series, the others are the fetch options of the same names.
#[derive(Debug, Clone, IntoParams)]
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
    /// Contract months to roll through (`HMUZ`); default per root.
    pub months: Option<String>,
    /// Volume / open-interest rules: grace window in sessions before the last trade date.
    pub grace_sessions: Option<u32>,
    /// Volume / open-interest rules: roll straight to the most active later contract.
    pub skip_to_most_active: Option<bool>,
    /// Adjustment whose cumulative values the table shows (default `none`).
    pub adjust: Option<String>,
    pub start: String,
    pub end: Option<String>,
}

/// The query of the continuous series `ROOT.RULE.RANK` a rolls request describes: `rule`
/// (default `volume`) and `rank` (default 0) name the series, every other parameter is read
/// as the fetch option of that name (the query's text form). Daily bars decide the rolls.
pub fn rolls_query(root: &str, raw: Option<&str>) -> Result<Query, ServiceError> {
    let mut rule = RollRuleKind::Volume;
    let mut rank = 0usize;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "rule" => {
                rule = v.parse().map_err(|e: tradeassist_model::OptionError| {
                    ServiceError::invalid("rule", e.to_string())
                })?
            }
            "rank" => {
                rank = v
                    .parse()
                    .map_err(|_| ServiceError::invalid("rank", format!("`{v}` is not a rank")))?
            }
            "symbols" | "symbol" | "frequency" | "roll" | "roll_dates" => {
                return Err(ServiceError::invalid(
                    "query",
                    format!("`{k}` is set by the endpoint (root, rule and rank)"),
                ));
            }
            _ => pairs.push((k.into_owned(), v.into_owned())),
        }
    }
    let rule = match rule {
        RollRuleKind::Calendar => RollRule::Calendar,
        RollRuleKind::Volume => RollRule::Volume,
        RollRuleKind::OpenInterest => RollRule::OpenInterest,
        RollRuleKind::Fixed => {
            return Err(ServiceError::invalid(
                "rule",
                "the rolls endpoint takes calendar, volume or open_interest",
            ));
        }
    };
    let symbol = tradeassist_engine::ContinuousSymbol {
        root: root.trim().to_ascii_uppercase(),
        rule,
        rank,
    };
    pairs.push(("symbols".into(), symbol.to_string()));
    pairs.push(("frequency".into(), "1d".into()));
    Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
