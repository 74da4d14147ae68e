//! Fetching bars: validate a request, resolve symbols and ranges, read the stored base series
//! and derive the requested frequency with the engine.

use std::str::FromStr;

use tradeassist_engine::{
    Activity, AggBar, AggSpec, Aggregator, Align, BarSpec, Calendar, FillMethod, Label,
    SessionFilter, VwapSource, activity_bars,
};
use tradeassist_model::{
    AssetClass, Bar, Instrument, RangeSpec, Resolution, SeriesWindow, TimeBound, TimeRange,
    Timeframe, instrument::normalize_symbol,
};
use tradeassist_store::{BarQuery, SeriesInfo};

use crate::{Service, ServiceError};

/// Raw fetch parameters as the API and the CLI receive them (all text, all optional but
/// `symbols` and `frequency`); [`FetchRequest::parse`] validates them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchInput {
    pub symbols: Vec<String>,
    /// `5m`, `1d`, ... or an activity bar `volume:50000`, `tick:100`, `dollar:1e6`.
    pub frequency: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub preset: Option<String>,
    pub as_of: Option<String>,
    /// `regular`, `extended` or `all` (equities; futures always use the full session).
    pub session: Option<String>,
    /// `session` (default) or `clock`.
    pub align: Option<String>,
    /// Clock alignment origin (date or RFC 3339; default 1970-01-01T00:00:00Z).
    pub origin: Option<String>,
    /// Clock alignment offset, a frequency such as `15m`.
    pub offset: Option<String>,
    /// `start` (default) or `end`.
    pub label: Option<String>,
    /// `none` (default), `null`, `prev` or `linear`.
    pub fill: Option<String>,
    /// Also compute the session-anchored cumulative VWAP.
    pub session_vwap: bool,
    /// Force the stored base series: `1m` or `1d` (default: `1d` for daily and longer bars
    /// when the instrument has daily bars, else `1m`).
    pub base: Option<String>,
    /// Continuous futures: roll rule override `calendar`, `volume`, `open_interest` or `fixed`.
    pub roll: Option<String>,
    /// Continuous futures: trading days before the anchor date (calendar rule).
    pub roll_offset: Option<u32>,
    /// Continuous futures: `last_trade` (default) or `first_notice`.
    pub roll_anchor: Option<String>,
    /// Continuous futures: `last_close_both` (default) or `last_old_first_new`.
    pub roll_price: Option<String>,
    /// Continuous futures with `roll=fixed`: the roll dates (YYYY-MM-DD), ascending.
    pub roll_dates: Vec<String>,
    /// Continuous futures: rank override (0 = front).
    pub rank: Option<usize>,
    /// Price adjustment. Futures: `none` (default), `difference_back`, `ratio_back`,
    /// `difference_forward`, `ratio_forward`. Stocks: `none` (default), `split`, `all`.
    pub adjust: Option<String>,
}

/// Options of the derivation, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DeriveOptions {
    /// `None`: the default for the asset class (regular hours for equities).
    pub session: Option<SessionFilter>,
    pub align: Align,
    pub label: Label,
    pub fill: FillMethod,
    pub session_vwap: bool,
    pub base: Option<Resolution>,
    pub continuous: crate::continuous::ContinuousOverrides,
}

/// A validated fetch request.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    pub symbols: Vec<String>,
    pub bars: BarSpec,
    pub range: RangeSpec,
    pub options: DeriveOptions,
    /// The instant open ranges, presets and completeness are measured against.
    pub now: i64,
}

fn choice<T: Copy>(
    field: &'static str,
    value: Option<&str>,
    default: T,
    options: &[(&str, T)],
) -> Result<T, ServiceError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    options
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            ServiceError::invalid(field, format!("`{v}` is not one of {}", names.join(", ")))
        })
}

/// Parse a stored-resolution name.
pub fn parse_resolution(field: &'static str, value: &str) -> Result<Resolution, ServiceError> {
    choice(
        field,
        Some(value),
        Resolution::Minute,
        &[("1m", Resolution::Minute), ("1d", Resolution::Day)],
    )
}

/// Parse a session filter name.
pub fn parse_session(value: Option<&str>) -> Result<Option<SessionFilter>, ServiceError> {
    choice(
        "session",
        value,
        None,
        &[
            ("regular", Some(SessionFilter::Regular)),
            ("extended", Some(SessionFilter::Extended)),
            ("all", Some(SessionFilter::All)),
        ],
    )
}

fn parse_range(input: &FetchInput, now: i64) -> Result<RangeSpec, ServiceError> {
    RangeSpec::from_parts(
        input.start.as_deref(),
        input.end.as_deref(),
        input.preset.as_deref(),
        input.as_of.as_deref(),
        now,
    )
    .map_err(|e| {
        let field = match e {
            tradeassist_model::TimeRangeError::BadPreset(_) => "preset",
            tradeassist_model::TimeRangeError::EndBeforeStart { .. } => "end",
            _ => "start",
        };
        ServiceError::invalid(field, e.to_string())
    })
}

/// Validate and normalise a list of symbols (de-duplicated, order kept).
pub fn parse_symbols(symbols: &[String]) -> Result<Vec<String>, ServiceError> {
    if symbols.is_empty() {
        return Err(ServiceError::invalid("symbols", "give at least one symbol"));
    }
    let mut normalized: Vec<String> = Vec::with_capacity(symbols.len());
    for s in symbols {
        let n = normalize_symbol(s).map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
        if !normalized.contains(&n) {
            normalized.push(n);
        }
    }
    Ok(normalized)
}

impl FetchRequest {
    /// Validate raw request fields.
    pub fn parse(input: &FetchInput, now: i64) -> Result<Self, ServiceError> {
        let symbols = parse_symbols(&input.symbols)?;
        let bars = BarSpec::from_str(&input.frequency).map_err(|_| {
            ServiceError::invalid(
                "frequency",
                format!(
                    "frequency `{}` must be N followed by s m h d w M (e.g. 5m, 1h, 1d, 1M) or volume:N, tick:N, dollar:N",
                    input.frequency
                ),
            )
        })?;
        let range = parse_range(input, now)?;
        let align = match choice(
            "align",
            input.align.as_deref(),
            "session",
            &[("session", "session"), ("clock", "clock")],
        )? {
            "clock" => {
                let origin = match input.origin.as_deref() {
                    None => 0,
                    Some(o) => match o.parse::<TimeBound>() {
                        Ok(TimeBound::Instant(t)) => t,
                        Ok(TimeBound::Date(d)) => tradeassist_model::date_key(d),
                        Err(e) => return Err(ServiceError::invalid("origin", e.to_string())),
                    },
                };
                let offset = match input.offset.as_deref() {
                    None => 0,
                    Some(o) => o
                        .parse::<Timeframe>()
                        .ok()
                        .and_then(|t| t.fixed_seconds())
                        .ok_or_else(|| {
                            ServiceError::invalid(
                                "offset",
                                format!("`{o}` is not a fixed duration such as 15m"),
                            )
                        })?,
                };
                Align::Clock { origin, offset }
            }
            _ if input.origin.is_some() || input.offset.is_some() => {
                return Err(ServiceError::invalid(
                    "align",
                    "origin and offset need align=clock",
                ));
            }
            _ => Align::Session,
        };
        let options = DeriveOptions {
            session: parse_session(input.session.as_deref())?,
            align,
            label: choice(
                "label",
                input.label.as_deref(),
                Label::Start,
                &[("start", Label::Start), ("end", Label::End)],
            )?,
            fill: choice(
                "fill",
                input.fill.as_deref(),
                FillMethod::None,
                &[
                    ("none", FillMethod::None),
                    ("null", FillMethod::Null),
                    ("prev", FillMethod::Prev),
                    ("linear", FillMethod::Linear),
                ],
            )?,
            session_vwap: input.session_vwap,
            base: input
                .base
                .as_deref()
                .map(|b| parse_resolution("base", b))
                .transpose()?,
            continuous: crate::continuous::ContinuousOverrides::parse(input)?,
        };
        if matches!(bars, BarSpec::Activity(_)) && options.fill != FillMethod::None {
            return Err(ServiceError::invalid(
                "fill",
                "gap filling applies to time bars only",
            ));
        }
        Ok(FetchRequest {
            symbols,
            bars,
            range,
            options,
            now,
        })
    }
}

/// Derived bars of one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesResult {
    pub instrument: Instrument,
    pub bars_spec: BarSpec,
    /// The stored resolution the bars are derived from.
    pub base: Resolution,
    pub session: SessionFilter,
    pub window: SeriesWindow,
    pub vwap_source: VwapSource,
    pub bars: Vec<AggBar>,
    /// Number of stored base bars read.
    pub base_bars: usize,
    /// For continuous futures symbols: contracts per bar, roll table and warnings.
    pub continuous: Option<crate::continuous::ContinuousInfo>,
}

/// What a requested symbol names.
enum Target {
    Instrument(Instrument),
    Continuous(tradeassist_engine::ContinuousSymbol, Vec<Instrument>),
}

/// Bars of every requested symbol, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResult {
    pub series: Vec<SeriesResult>,
}

/// A frequency the API knows about.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyInfo {
    pub frequency: Timeframe,
    pub label: String,
    /// Fixed length in seconds (`None` for months).
    pub seconds: Option<i64>,
    /// The stored resolutions it can be derived from.
    pub bases: Vec<Resolution>,
}

/// The standard frequencies and the stored resolutions each derives from.
pub fn frequencies() -> Vec<FrequencyInfo> {
    Timeframe::STANDARD
        .iter()
        .map(|tf| FrequencyInfo {
            frequency: *tf,
            label: tf.label(),
            seconds: tf.fixed_seconds(),
            bases: if tf.is_intraday() {
                vec![Resolution::Minute]
            } else {
                vec![Resolution::Minute, Resolution::Day]
            },
        })
        .collect()
}

/// The default session filter of an instrument.
pub fn default_session(instrument: &Instrument) -> SessionFilter {
    match instrument.asset_class {
        AssetClass::Future => SessionFilter::All,
        AssetClass::Stock | AssetClass::Index => SessionFilter::Regular,
    }
}

/// Which stored series serves a request for an instrument.
fn choose_base(
    spec: BarSpec,
    forced: Option<Resolution>,
    stored: &[SeriesInfo],
    symbol: &str,
) -> Result<Resolution, ServiceError> {
    let has = |r: Resolution| stored.iter().any(|s| s.resolution == r);
    let wanted = match (forced, spec) {
        (Some(r), _) => r,
        (None, BarSpec::Time(tf)) if !tf.is_intraday() && has(Resolution::Day) => Resolution::Day,
        (None, BarSpec::Time(tf)) if !tf.is_intraday() && !has(Resolution::Minute) => {
            Resolution::Day
        }
        _ => Resolution::Minute,
    };
    if !has(wanted) {
        let have: Vec<&str> = stored.iter().map(|s| s.resolution.as_str()).collect();
        return Err(ServiceError::UnsupportedFrequency(format!(
            "{symbol} has no {wanted} series to derive {spec} bars from (stored: {})",
            if have.is_empty() {
                "none".to_string()
            } else {
                have.join(", ")
            }
        )));
    }
    Ok(wanted)
}

/// Base bars per output bar, used to size reads for `last_N_bars`.
fn base_per_output(spec: BarSpec, base: Resolution) -> u64 {
    let Some(seconds) = (match spec {
        BarSpec::Time(tf) => tf
            .fixed_seconds()
            .or(Some(i64::from(tf.count()) * 31 * 86_400)),
        BarSpec::Activity(_) => None,
    }) else {
        return 1_000;
    };
    match base {
        Resolution::Minute => (seconds / 60).max(1) as u64,
        Resolution::Day => (seconds / 86_400).max(1) as u64,
    }
}

impl Service {
    /// Read and derive the bars of every symbol of a request.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchResult, ServiceError> {
        if req.symbols.len() > self.limits.max_symbols {
            return Err(ServiceError::invalid(
                "symbols",
                format!(
                    "{} symbols requested; at most {} per request",
                    req.symbols.len(),
                    self.limits.max_symbols
                ),
            ));
        }
        let mut targets = Vec::with_capacity(req.symbols.len());
        let mut unknown = Vec::new();
        for symbol in &req.symbols {
            if let Some(continuous) = crate::continuous::parse_continuous(symbol) {
                match self.contracts_of(&continuous.root).await? {
                    contracts if contracts.is_empty() => unknown.push(symbol.clone()),
                    contracts => targets.push(Target::Continuous(continuous, contracts)),
                }
                continue;
            }
            match self.store.instrument(symbol).await? {
                Some(i) => targets.push(Target::Instrument(i)),
                None => unknown.push(symbol.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(ServiceError::UnknownSymbols(unknown));
        }
        let mut series = Vec::with_capacity(targets.len());
        let mut total = 0usize;
        for target in targets {
            let result = match target {
                Target::Instrument(instrument) => {
                    if req.options.continuous.any_roll_option() {
                        return Err(ServiceError::invalid(
                            "roll",
                            format!(
                                "roll options apply to continuous futures symbols such as ES.v.0, not {}",
                                instrument.symbol
                            ),
                        ));
                    }
                    self.fetch_one(req, instrument).await?
                }
                Target::Continuous(symbol, contracts) => {
                    self.fetch_continuous(req, &symbol, contracts).await?
                }
            };
            total += result.bars.len();
            if total > self.limits.max_bars_per_response {
                return Err(ServiceError::TooLarge(format!(
                    "the result exceeds {} bars per response; narrow the range, pick a longer frequency or use export",
                    self.limits.max_bars_per_response
                )));
            }
            series.push(result);
        }
        Ok(FetchResult { series })
    }

    async fn fetch_one(
        &self,
        req: &FetchRequest,
        instrument: Instrument,
    ) -> Result<SeriesResult, ServiceError> {
        let stored = self.store.series(instrument.id).await?;
        let base = choose_base(req.bars, req.options.base, &stored, &instrument.symbol)?;
        let calendar = Calendar::get(&instrument.calendar)
            .map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
        let session = req
            .options
            .session
            .unwrap_or_else(|| default_session(&instrument));
        let window = trading_day_window(
            &req.range,
            calendar,
            session,
            base,
            instrument.timezone,
            req.now,
        )?;
        // Equity corporate actions (`adjust=split|all`) change the base bars: no raw rollups then.
        let adjust = crate::corporate::equity_adjustment(&req.options.continuous, &instrument)?;
        let adjuster = self.equity_adjuster(&instrument, adjust).await?;
        if adjust == tradeassist_engine::PriceAdjustment::None
            && let Some((bars, vwap_source, base_bars)) =
                crate::rollup::read(self, req, &instrument, base, calendar, session, &window)
                    .await?
        {
            let bars_spec = req.bars;
            return Ok(SeriesResult {
                instrument,
                bars_spec,
                base,
                session,
                window,
                vwap_source,
                bars,
                base_bars,
                continuous: None,
            });
        }
        // `last_N_bars` counts output bars: read enough base bars for N of them (+1 partial).
        let last = window.last_bars.map(|n| {
            let per = base_per_output(req.bars, base);
            (u64::from(n) + 1)
                .saturating_mul(per)
                .min(u64::from(u32::MAX)) as u32
        });
        let query = BarQuery {
            instrument_id: instrument.id,
            resolution: base,
            range: window.range,
            last,
            max_rows: 0,
        };
        let base_bars = self.read_base(query, self.limits.max_base_bars).await?;
        let seed = match req.options.fill {
            FillMethod::None => None,
            _ => {
                let range = fill_range(window.range, &base_bars, window.last_bars.is_some());
                self.store
                    .bar_before(instrument.id, base, range.start())
                    .await?
            }
        };
        let base_bars = adjuster.apply(calendar, base, base_bars)?;
        let seed = match seed {
            Some(b) => adjuster.apply(calendar, base, vec![b])?.pop(),
            None => None,
        };
        let (bars, vwap_source) = derive_bars(
            req,
            calendar,
            base,
            session,
            &window,
            &base_bars,
            seed.as_ref(),
        )?;
        Ok(SeriesResult {
            instrument,
            bars_spec: req.bars,
            base,
            session,
            window,
            vwap_source,
            bars,
            base_bars: base_bars.len(),
            continuous: None,
        })
    }
}

/// Derive the requested bars from base bars (ascending) of one series: activity bars, or time
/// bars with optional gap filling (`seed` = the last base bar before the window), trimmed to
/// the last N for `last_N_bars`.
pub(crate) fn derive_bars(
    req: &FetchRequest,
    calendar: &Calendar,
    base: Resolution,
    session: SessionFilter,
    window: &SeriesWindow,
    base_bars: &[Bar],
    seed: Option<&Bar>,
) -> Result<(Vec<AggBar>, VwapSource), ServiceError> {
    let (mut bars, vwap_source) = match req.bars {
        BarSpec::Activity(activity) => {
            let bars = derive_activity(base_bars, base, activity, calendar, session)?;
            (bars, tradeassist_engine::vwap_source(base_bars))
        }
        BarSpec::Time(tf) => {
            let mut spec = AggSpec::new(tf);
            spec.align = req.options.align;
            spec.label = req.options.label;
            spec.sessions = session;
            spec.session_vwap = req.options.session_vwap;
            let aggregator = Aggregator::new(calendar, base, spec)
                .map_err(|e| ServiceError::UnsupportedFrequency(e.to_string()))?;
            let agg = aggregator
                .aggregate(base_bars, Some(req.now))
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let bars = if req.options.fill == FillMethod::None {
                agg.bars.clone()
            } else {
                let range = fill_range(window.range, base_bars, window.last_bars.is_some());
                aggregator.fill(&agg, range, req.options.fill, seed)
            };
            (bars, agg.vwap_source)
        }
    };
    if let Some(n) = window.last_bars {
        let skip = bars.len().saturating_sub(n as usize);
        bars.drain(..skip);
    }
    Ok((bars, vwap_source))
}

/// Resolve the request range for one series. Date bounds of an intraday (1-minute) series mean
/// trading days of the instrument's calendar: from the open of the first trading day on or
/// after `start` to the close of the last one on or before `end` (a Globex day starts the
/// evening before its date). Instants are taken as given.
pub(crate) fn trading_day_window(
    range: &RangeSpec,
    calendar: &Calendar,
    session: SessionFilter,
    base: Resolution,
    tz: chrono_tz::Tz,
    now: i64,
) -> Result<SeriesWindow, ServiceError> {
    let mut window = range
        .window(tz, base, now)
        .map_err(|e| ServiceError::invalid("end", e.to_string()))?;
    let (start, end) = range.bounds(tz, now);
    if base != Resolution::Minute {
        return Ok(window);
    }
    let in_calendar = |d: chrono::NaiveDate| (1951..=2099).contains(&chrono::Datelike::year(&d));
    let mut s = window.range.start();
    let mut e = window.range.end();
    if let TimeBound::Date(d) = start
        && in_calendar(d)
    {
        let day = calendar.next_trading_day(d);
        if let Some(session) = calendar.session(day, session) {
            s = session.open();
        }
    }
    if let Some(TimeBound::Date(d)) = end
        && in_calendar(d)
    {
        let day = calendar.prev_trading_day(d);
        if let Some(session) = calendar.session(day, session) {
            e = session.close();
        }
    }
    if let Ok(r) = TimeRange::new(s, e) {
        window.range = r;
    }
    Ok(window)
}

/// The range over which gaps are filled: the window, or (for `last_N_bars`) from the first bar read.
fn fill_range(window: TimeRange, bars: &[Bar], last_n: bool) -> TimeRange {
    match (last_n, bars.first()) {
        (true, Some(first)) => TimeRange::new(first.ts(), window.end()).unwrap_or(window),
        _ => window,
    }
}

/// Activity bars over the base bars inside the session filter.
fn derive_activity(
    bars: &[Bar],
    base: Resolution,
    activity: Activity,
    calendar: &Calendar,
    session: SessionFilter,
) -> Result<Vec<AggBar>, ServiceError> {
    let inside: Vec<Bar> = match base {
        Resolution::Day => bars.to_vec(),
        Resolution::Minute => {
            let Some((first, last)) = bars.first().zip(bars.last()) else {
                return Ok(Vec::new());
            };
            let range = TimeRange::new(first.ts() - 86_400, last.ts() + 86_400).expect("ordered");
            let sessions = calendar.sessions(range, session);
            let mut k = 0;
            bars.iter()
                .filter(|b| {
                    while k < sessions.len() && sessions[k].close() <= b.ts() {
                        k += 1;
                    }
                    k < sessions.len() && sessions[k].is_open_at(b.ts())
                })
                .copied()
                .collect()
        }
    };
    activity_bars(&inside, base, activity)
        .map_err(|e| ServiceError::invalid("frequency", e.to_string()))
}
