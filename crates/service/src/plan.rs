//! Planning a query: resolve its symbols, choose each series' base, session and window, check
//! the options against each series' asset class, and estimate the work — all before a single
//! bar is read, so that an oversized request is refused early and cheaply. The plan's
//! [`CanonicalQuery`] is the query's meaning, equal for equal meanings.

use tradeassist_engine::{
    Adjust, Align, BarSpec, Calendar, ContinuousSpec, ContinuousSymbol, FillMethod,
    PriceAdjustment, SessionFilter,
};
use tradeassist_model::{AssetClass, Instrument, RangeSpec, Resolution, SeriesWindow, TimeRange};
use tradeassist_store::SeriesInfo;

use crate::derive::{
    base_per_output, choose_base, default_session, estimate_stored, expected_buckets,
    trading_day_window,
};
use crate::query::{AdjustRequest, CanonicalQuery, CanonicalSeries, Query, RollOptions};
use crate::resolve::{Target, calendar_of};
use crate::{Service, ServiceError};

/// Calendar days read before the window of a continuous series so roll decisions see the
/// sessions before it.
pub(crate) const LOOKBACK_DAYS: i64 = 45;

/// What one series of a plan reads and derives.
#[derive(Debug, Clone)]
pub(crate) enum SeriesTarget {
    Instrument {
        instrument: Instrument,
        adjust: PriceAdjustment,
    },
    Continuous {
        symbol: ContinuousSymbol,
        /// The root's stored contracts, by contract month.
        contracts: Vec<Instrument>,
        spec: ContinuousSpec,
    },
}

/// One series of a [`Plan`].
#[derive(Debug, Clone)]
pub(crate) struct SeriesPlan {
    pub(crate) target: SeriesTarget,
    pub(crate) calendar: &'static Calendar,
    pub(crate) base: Resolution,
    pub(crate) session: SessionFilter,
    pub(crate) window: SeriesWindow,
    /// Newest stored bar of the base series (over every contract for continuous series).
    pub(crate) last_stored: Option<i64>,
}

impl SeriesPlan {
    /// The exchange timezone of the series (of its first contract for continuous series).
    pub(crate) fn timezone(&self) -> chrono_tz::Tz {
        match &self.target {
            SeriesTarget::Instrument { instrument, .. } => instrument.timezone,
            SeriesTarget::Continuous { contracts, .. } => {
                contracts.first().map_or(chrono_tz::UTC, |c| c.timezone)
            }
        }
    }
}

/// A query resolved against the store and a clock, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) query: Query,
    pub(crate) now: i64,
    pub(crate) series: Vec<SeriesPlan>,
    /// Most bars one derivation may return: `max_bars_per_response` for a fetch, unbounded
    /// for an export (which streams its bars in pieces).
    pub(crate) max_output: usize,
}

impl Plan {
    /// The query as the user gave it.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The instant open ranges, presets and completeness are measured against.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The meaning of the query: resolved symbols, defaults filled, windows per series.
    pub fn canonical(&self) -> CanonicalQuery {
        let open_end = matches!(
            self.query.range,
            RangeSpec::Absolute { end: None, .. } | RangeSpec::Preset { as_of: None, .. }
        );
        let o = &self.query.options;
        CanonicalQuery {
            series: self
                .series
                .iter()
                .map(|s| CanonicalSeries {
                    symbol: match &s.target {
                        SeriesTarget::Instrument { instrument, .. } => instrument.symbol.clone(),
                        SeriesTarget::Continuous { symbol, .. } => symbol.to_string(),
                    },
                    base: s.base,
                    session: s.session,
                    start: s.window.range.start(),
                    end: (!open_end).then_some(s.window.range.end()),
                    last_bars: s.window.last_bars,
                    adjustment: match &s.target {
                        SeriesTarget::Instrument { adjust, .. } => adjust.to_string(),
                        SeriesTarget::Continuous { spec, .. } => spec_text(spec),
                    },
                })
                .collect(),
            bars: self.query.bars.to_string(),
            align: match o.align {
                Align::Session => "session".into(),
                Align::Clock { origin, offset } => format!("clock:{origin}:{offset}"),
            },
            label: o.label,
            fill: o.fill,
            session_vwap: o.session_vwap,
        }
    }
}

/// A stable text of every field of a continuous spec.
pub(crate) fn spec_text(spec: &ContinuousSpec) -> String {
    format!(
        "rule={} offset={} anchor={} rank={} adjust={} price={} months={} grace={} skip={}",
        spec.rule,
        spec.roll_offset,
        spec.anchor,
        spec.rank,
        spec.adjust,
        spec.roll_price,
        spec.cycle
            .map_or_else(|| "default".to_string(), |c| c.to_string()),
        spec.grace_sessions
            .map_or_else(|| "none".to_string(), |g| g.to_string()),
        spec.skip_to_most_active
    )
}

/// The spec of a continuous symbol with a query's roll options and adjustment applied.
pub(crate) fn continuous_spec(
    symbol: &ContinuousSymbol,
    roll: &RollOptions,
    adjust: Option<AdjustRequest>,
) -> Result<ContinuousSpec, ServiceError> {
    let mut spec = ContinuousSpec::new(roll.rule.clone().unwrap_or_else(|| symbol.rule.clone()));
    spec.rank = roll.rank.unwrap_or(symbol.rank);
    if let Some(o) = roll.roll_offset {
        spec.roll_offset = o;
    }
    if let Some(a) = roll.anchor {
        spec.anchor = a;
    }
    if let Some(p) = roll.roll_price {
        spec.roll_price = p;
    }
    // The root's default cycle made explicit, so that equal meanings compare equal.
    spec.cycle = match roll.months {
        Some(m) => Some(m),
        None => tradeassist_engine::ExpiryRules::builtin()
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .default_cycle(&symbol.root),
    };
    if let Some(g) = roll.grace_sessions {
        spec.grace_sessions = Some(g);
    }
    if let Some(s) = roll.skip_to_most_active {
        spec.skip_to_most_active = s;
    }
    spec.adjust = match adjust {
        None | Some(AdjustRequest::None) => Adjust::None,
        Some(AdjustRequest::Futures(a)) => a,
        Some(AdjustRequest::Equity(p)) => {
            return Err(ServiceError::invalid(
                "adjust",
                format!(
                    "`{p}` is an equity adjustment; continuous futures take {}",
                    Adjust::NAMES.map(|(n, _)| n).join(", ")
                ),
            ));
        }
    };
    spec.validate().map_err(crate::error::continuous_error)?;
    Ok(spec)
}

/// The corporate-action adjustment a query asks for on a plain instrument. Stocks and
/// indexes take `none`, `split` or `all`; a single futures contract only `none`.
fn equity_adjustment(
    adjust: Option<AdjustRequest>,
    instrument: &Instrument,
) -> Result<PriceAdjustment, ServiceError> {
    match (adjust, instrument.asset_class) {
        (None | Some(AdjustRequest::None), _) => Ok(PriceAdjustment::None),
        (Some(AdjustRequest::Equity(p)), AssetClass::Stock | AssetClass::Index) => Ok(p),
        (Some(AdjustRequest::Futures(a)), AssetClass::Stock | AssetClass::Index) => {
            Err(ServiceError::invalid(
                "adjust",
                format!(
                    "`{a}` is a futures adjustment; {} is a {} and takes none, split or all",
                    instrument.symbol, instrument.asset_class
                ),
            ))
        }
        (Some(_), AssetClass::Future) => Err(ServiceError::invalid(
            "adjust",
            format!(
                "{} is a single futures contract: its prices are not adjusted; use a continuous symbol such as {}.c.0 for roll adjustments",
                instrument.symbol,
                instrument
                    .contract
                    .as_ref()
                    .map_or("ES", |c| c.root.as_str())
            ),
        )),
    }
}

fn too_large(what: String) -> ServiceError {
    ServiceError::TooLarge(format!(
        "{what}; narrow the range, pick a longer frequency, or use the export endpoint or a job for large results"
    ))
}

impl Service {
    /// Resolve a query into a plan, refusing (`TooLarge`) what would exceed the limits before
    /// reading any bar: gap filling is sized from the calendar, reads from the stored extents.
    pub async fn plan(&self, query: &Query, now: i64) -> Result<Plan, ServiceError> {
        self.plan_for(query, now, false).await
    }

    /// [`Service::plan`], or (`export`) the plan of an export: no bound on the output, and
    /// the read bound checked only for series read in one piece (a chunked series is bounded
    /// per piece when it runs, see the `export` module).
    pub(crate) async fn plan_for(
        &self,
        query: &Query,
        now: i64,
        export: bool,
    ) -> Result<Plan, ServiceError> {
        if query.symbols.len() > self.limits.max_symbols {
            return Err(ServiceError::invalid(
                "symbols",
                format!(
                    "{} symbols requested; at most {} per request",
                    query.symbols.len(),
                    self.limits.max_symbols
                ),
            ));
        }
        let targets = self.resolve_all(&query.symbols).await?;
        let mut series = Vec::with_capacity(targets.len());
        let mut output = 0u64;
        let mut read = 0u64;
        for target in targets {
            let (plan, stored) = match target {
                Target::Instrument(instrument) => {
                    self.plan_instrument(query, now, instrument).await?
                }
                Target::Continuous(symbol, contracts) => {
                    self.plan_continuous(query, now, symbol, contracts).await?
                }
            };
            if export {
                if !chunked(query, &plan) {
                    let work = self.check_work(query, &plan, &stored);
                    self.check_reads(&work, &plan, &stored, 0).await?;
                }
                series.push(plan);
                continue;
            }
            let work = self.check_work(query, &plan, &stored);
            read = self.check_reads(&work, &plan, &stored, read).await?;
            output = output.saturating_add(work.certain_output);
            if output > self.limits.max_bars_per_response as u64 {
                return Err(too_large(format!(
                    "the result would hold about {output} bars, more than the {} bars one response may carry",
                    self.limits.max_bars_per_response
                )));
            }
            series.push(plan);
        }
        Ok(Plan {
            query: query.clone(),
            now,
            series,
            max_output: if export {
                usize::MAX
            } else {
                self.limits.max_bars_per_response
            },
        })
    }

    /// Add a series' reads to the `read` so far, refusing when the total exceeds
    /// `max_base_bars`. When the estimate says the budget is exceeded, count exactly (capped)
    /// before refusing: a dense stretch elsewhere must not refuse a sparse window.
    async fn check_reads(
        &self,
        work: &Work,
        plan: &SeriesPlan,
        stored: &[(i64, SeriesInfo)],
        read: u64,
    ) -> Result<u64, ServiceError> {
        let limit = self.limits.max_base_bars as u64;
        let mut reads = work.certain_reads;
        if reads == 0 && work.estimated_reads > limit.saturating_sub(read) {
            let cap = limit.saturating_sub(read);
            for (id, _) in stored {
                reads += self
                    .store
                    .count_bars(*id, plan.base, work.read, cap.saturating_sub(reads))
                    .await?;
                if reads > cap {
                    break;
                }
            }
        }
        let read = read.saturating_add(reads);
        if read > limit {
            return Err(too_large(format!(
                "the request reads {read} stored bars, more than the {} one request may read",
                self.limits.max_base_bars
            )));
        }
        Ok(read)
    }

    async fn plan_instrument(
        &self,
        query: &Query,
        now: i64,
        instrument: Instrument,
    ) -> Result<(SeriesPlan, Vec<(i64, SeriesInfo)>), ServiceError> {
        if query.options.roll.any() {
            return Err(ServiceError::invalid(
                "roll",
                format!(
                    "roll options apply to continuous futures symbols such as ES.v.0, not {}",
                    instrument.symbol
                ),
            ));
        }
        let adjust = equity_adjustment(query.options.adjust, &instrument)?;
        let stored = self.store.series(instrument.id).await?;
        let base = choose_base(query.bars, query.options.base, &stored, &instrument.symbol)?;
        let calendar = calendar_of(&instrument)?;
        let session = query
            .options
            .session
            .unwrap_or_else(|| default_session(&instrument));
        let window = trading_day_window(
            &query.range,
            calendar,
            session,
            base,
            instrument.timezone,
            now,
        )?;
        let stored: Vec<(i64, SeriesInfo)> = stored
            .into_iter()
            .filter(|s| s.resolution == base)
            .map(|s| (instrument.id, s))
            .collect();
        let last_stored = stored.iter().map(|(_, s)| s.last_ts).max();
        Ok((
            SeriesPlan {
                target: SeriesTarget::Instrument { instrument, adjust },
                calendar,
                base,
                session,
                window,
                last_stored,
            },
            stored,
        ))
    }

    async fn plan_continuous(
        &self,
        query: &Query,
        now: i64,
        symbol: ContinuousSymbol,
        contracts: Vec<Instrument>,
    ) -> Result<(SeriesPlan, Vec<(i64, SeriesInfo)>), ServiceError> {
        let spec = continuous_spec(&symbol, &query.options.roll, query.options.adjust)?;
        let first = contracts.first().expect("resolve gives contracts").clone();
        let calendar = calendar_of(&first)?;
        let session = query.options.session.unwrap_or(SessionFilter::All);
        let mut stored = Vec::new();
        let (mut has_day, mut has_minute) = (false, false);
        for c in &contracts {
            for s in self.store.series(c.id).await? {
                has_day |= s.resolution == Resolution::Day;
                has_minute |= s.resolution == Resolution::Minute;
                stored.push((c.id, s));
            }
        }
        let intraday = match query.bars {
            BarSpec::Time(tf) => tf.is_intraday(),
            BarSpec::Activity(_) => true,
        };
        let base = match query.options.base {
            Some(b) => b,
            None if !intraday && has_day => Resolution::Day,
            None => Resolution::Minute,
        };
        if (base == Resolution::Day && !has_day) || (base == Resolution::Minute && !has_minute) {
            return Err(ServiceError::UnsupportedFrequency(format!(
                "{symbol} has no {base} series"
            )));
        }
        let window =
            trading_day_window(&query.range, calendar, session, base, first.timezone, now)?;
        stored.retain(|(_, s)| s.resolution == base);
        let last_stored = stored.iter().map(|(_, s)| s.last_ts).max();
        Ok((
            SeriesPlan {
                target: SeriesTarget::Continuous {
                    symbol,
                    contracts,
                    spec,
                },
                calendar,
                base,
                session,
                window,
                last_stored,
            },
            stored,
        ))
    }

    /// The work one series of a plan will do, from the calendar and the stored extents.
    fn check_work(&self, query: &Query, plan: &SeriesPlan, stored: &[(i64, SeriesInfo)]) -> Work {
        let window = plan.window.range;
        let read = match plan.target {
            SeriesTarget::Continuous { .. } => TimeRange::new(
                window.start().saturating_sub(LOOKBACK_DAYS * 86_400),
                window.end(),
            )
            .unwrap_or(window),
            SeriesTarget::Instrument { .. } => window,
        };
        let last = plan.window.last_bars.map(u64::from);
        let mut base_bars: u64 = stored.iter().map(|(_, s)| estimate_stored(s, read)).sum();
        if let Some(n) = last {
            base_bars =
                base_bars.min((n + 1).saturating_mul(base_per_output(query.bars, plan.base)));
        }
        // The extents give an exact count when the read covers the whole stored series; in
        // between, the estimate assumes uniform density and only sizes the output (a read is
        // capped at the limit anyway).
        let covers_all = stored
            .iter()
            .all(|(_, s)| read.start() <= s.first_ts && s.last_ts < read.end());
        let buckets = expected_buckets(query, plan.calendar, plan.base, plan.session, window);
        let output = match (query.options.fill, query.bars) {
            (_, BarSpec::Activity(_)) => base_bars,
            (FillMethod::None, _) => base_bars.min(buckets),
            _ => buckets,
        };
        let certain = covers_all && last.is_none();
        let output = last.map_or(output, |n| output.min(n));
        Work {
            read,
            estimated_reads: if last.is_none() { base_bars } else { 0 },
            certain_reads: if certain { base_bars } else { 0 },
            // Filled output is counted from the calendar: certain whatever the stored data.
            certain_output: match query.options.fill {
                FillMethod::None if !certain => 0,
                _ => output,
            },
        }
    }
}

/// True when the series of a plan is exported in several pieces (see the `export` module doc).
pub(crate) fn chunked(query: &Query, sp: &SeriesPlan) -> bool {
    let plain = matches!(
        sp.target,
        SeriesTarget::Instrument {
            adjust: tradeassist_engine::PriceAdjustment::None,
            ..
        }
    );
    let BarSpec::Time(tf) = query.bars else {
        return false;
    };
    let one_day = tf.unit() == tradeassist_model::TimeUnit::Day && tf.count() == 1;
    let fits = match sp.base {
        Resolution::Minute => tf.is_intraday() || one_day,
        Resolution::Day => one_day,
    };
    plain
        && fits
        && query.options.fill == tradeassist_engine::FillMethod::None
        && sp.window.last_bars.is_none()
}

/// Estimated work of one series.
struct Work {
    /// The range the series reads (the window, with a look-back for continuous series).
    read: TimeRange,
    /// Stored bars the series reads, assuming uniform density between first and last bar.
    estimated_reads: u64,
    /// Stored bars the series will certainly read (0 when only an estimate is known).
    certain_reads: u64,
    /// Output bars the series will produce, when that is known before reading: from the
    /// calendar when filling, from the stored count when the read covers the whole series
    /// (0 when only an estimate is known).
    certain_output: u64,
}
