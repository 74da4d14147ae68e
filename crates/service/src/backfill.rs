//! Gap backfill from a provider: [`Service::backfill`] fetches exactly the ranges gap
//! detection reports missing and stores them idempotently, and [`Service::sources`] reports
//! the live state of the configured provider (circuit, last error, last success).
//!
//! Per symbol: the stored base series at the asked resolution is checked against the
//! instrument's calendar over the range ([`tradeassist_engine::detect_gaps_bounded`]); a
//! symbol the store does not know yet is missing over the whole range and is created from
//! the provider's answer (our contract notation or Schwab's `/ESZ24` are futures contracts,
//! anything else a stock unless an asset class is given). Gaps before the provider's
//! history start ([`Provider::history_start`], Schwab keeps ~48 days of minutes) are reported
//! as unavailable, not asked for. Gaps closer together than [`JOIN_GAPS`] are asked for in
//! one provider request (isolated missing minutes would otherwise cost one request each);
//! only the bars that fall inside a gap are stored, so stored ranges are never rewritten and
//! a second run over the same range stores nothing. Each request's bars land in one ingest
//! (atomic, credited to the provider's data source); rollups are refreshed at the end.

use std::sync::Arc;

use chrono::Utc;
use tradeassist_model::instrument::normalize_symbol;
use tradeassist_model::{
    AssetClass, Bar, ContractSymbol, DataSource, FuturesContract, NewInstrument, RangeSpec,
    Resolution, TimeRange,
};
use tradeassist_providers::resilience::{ResilienceStats, Resilient};
use tradeassist_providers::{BarRequest, Provider};
use tradeassist_store::{IngestBatch, SeriesBatch};

use crate::derive::default_session;
use crate::plan::SeriesTarget;
use crate::{Query, Service, ServiceError};

/// Gaps separated by less than this are fetched with one provider request.
pub const JOIN_GAPS: i64 = 6 * 3_600;
/// Most gaps one backfill of one symbol handles (a longer list: backfill in parts).
const MAX_GAPS: usize = 100_000;

/// A provider the service can fetch from and report the status of.
pub trait SourceProvider: Provider + std::fmt::Debug {
    /// Breaker, retry and rate-limit status.
    fn status(&self) -> ResilienceStats;
}

impl<P: Provider + std::fmt::Debug> SourceProvider for Resilient<P> {
    fn status(&self) -> ResilienceStats {
        self.stats()
    }
}

/// What to backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillRequest {
    pub symbols: Vec<String>,
    /// `Minute` or `Day`.
    pub resolution: Resolution,
    pub range: TimeRange,
    /// Asset class of symbols the store does not know yet (default: futures for contract
    /// symbols, stocks otherwise).
    pub asset_class: Option<AssetClass>,
}

/// What a backfill did for one symbol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolBackfill {
    pub symbol: String,
    /// The instrument was created from the provider's answer.
    pub created: bool,
    /// Missing ranges found by gap detection (asked for unless unavailable).
    pub missing: Vec<TimeRange>,
    /// Provider requests made (after joining close gaps).
    pub requests: usize,
    pub bars_stored: u64,
    /// Asked-for ranges the provider had no bars for.
    pub no_data: Vec<TimeRange>,
    /// Missing ranges before the provider's history start, not asked for.
    pub unavailable: Vec<TimeRange>,
    /// Why this symbol stopped (unknown to the provider, provider down, ...).
    pub error: Option<String>,
}

/// Progress of a backfill: symbol, requests done and planned for it, bars stored so far.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillProgress {
    pub symbol: String,
    pub requests_done: usize,
    pub requests_total: usize,
    pub bars_stored: u64,
}

/// What a whole backfill did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackfillReport {
    pub provider: String,
    pub symbols: Vec<SymbolBackfill>,
}

/// Why a fetch-through answer may be missing recent bars: the provider could not fill the
/// gaps (down, circuit open), so the stored data is served as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Staleness {
    /// Newest stored base bar (interval start) over the query's series.
    pub newest_stored: Option<i64>,
    /// The provider's error.
    pub reason: String,
}

impl BackfillRequest {
    /// The UTC range of a backfill's bounds: a start date is its UTC midnight, an end date
    /// includes that day, no end means now (the instrument's timezone is not used: the
    /// symbol may not be stored yet).
    pub fn utc_range(range: &RangeSpec, now: i64) -> Result<TimeRange, ServiceError> {
        range
            .window(chrono_tz::UTC, Resolution::Minute, now)
            .map(|w| w.range)
            .map_err(|e| ServiceError::invalid("end", e.to_string()))
    }
}

impl BackfillReport {
    pub fn bars_stored(&self) -> u64 {
        self.symbols.iter().map(|s| s.bars_stored).sum()
    }
}

impl Service {
    /// Use `provider` for backfills and report its status in [`Service::sources`].
    pub fn with_provider(mut self, provider: Arc<dyn SourceProvider>) -> Service {
        self.provider = Some(provider);
        self
    }

    /// The configured provider, if any.
    pub fn provider(&self) -> Option<&Arc<dyn SourceProvider>> {
        self.provider.as_ref()
    }

    /// Data sources with their live status: the stored counters, and for the configured
    /// provider its circuit state, last error and last success as it sees them now.
    pub async fn sources(&self) -> Result<Vec<DataSource>, ServiceError> {
        let mut sources = self.store.data_sources().await?;
        if let Some(p) = &self.provider {
            let stats = p.status().circuit;
            if let Some(s) = sources.iter_mut().find(|s| s.name == p.name()) {
                s.enabled = true;
                s.circuit_state = stats.state.as_str().to_string();
                s.last_error = stats.last_error.clone().or(s.last_error.take());
                s.last_success_at = match (stats.last_success_at, s.last_success_at) {
                    (Some(ms), stored) => Some((ms / 1000).max(stored.unwrap_or(i64::MIN))),
                    (None, stored) => stored,
                };
            }
        }
        Ok(sources)
    }

    /// Fill the gaps of every symbol in `request` from the configured provider; `progress`
    /// is called after each provider request. Per-symbol failures (a symbol the provider does
    /// not know, the provider down) are reported in the symbol's entry and do not stop the
    /// others; bad requests and store failures are errors.
    pub async fn backfill(
        &self,
        request: &BackfillRequest,
        progress: &(dyn Fn(&BackfillProgress) + Send + Sync),
    ) -> Result<BackfillReport, ServiceError> {
        let Some(provider) = self.provider.clone() else {
            return Err(ServiceError::invalid(
                "source",
                "no provider is configured: set [providers.schwab] enabled = true with its credentials",
            ));
        };
        if !matches!(request.resolution, Resolution::Minute | Resolution::Day) {
            return Err(ServiceError::invalid(
                "frequency",
                "backfill stores 1m or 1d bars",
            ));
        }
        if request.symbols.is_empty() || request.symbols.len() > self.limits.max_symbols {
            return Err(ServiceError::invalid(
                "symbols",
                format!("give 1 to {} symbols", self.limits.max_symbols),
            ));
        }
        let mut report = BackfillReport {
            provider: provider.name().to_string(),
            symbols: Vec::new(),
        };
        for raw in &request.symbols {
            let entry = self
                .backfill_symbol(provider.as_ref(), raw, request, progress)
                .await?;
            report.symbols.push(entry);
        }
        if report.bars_stored() > 0 {
            self.refresh_rollups().await?;
        }
        Ok(report)
    }

    async fn backfill_symbol(
        &self,
        provider: &dyn SourceProvider,
        raw: &str,
        request: &BackfillRequest,
        progress: &(dyn Fn(&BackfillProgress) + Send + Sync),
    ) -> Result<SymbolBackfill, ServiceError> {
        let (symbol, new, asset_class) = self.backfill_target(raw, request.asset_class).await?;
        let mut out = SymbolBackfill {
            symbol: symbol.clone(),
            ..Default::default()
        };
        out.missing = match self.store.instrument(&symbol).await? {
            Some(_) => self.missing_ranges(&symbol, request).await?,
            None => vec![request.range],
        };
        let earliest = provider.history_start(request.resolution);
        let mut asked = Vec::new();
        for gap in &out.missing {
            match earliest {
                Some(e) if gap.end() <= e => out.unavailable.push(*gap),
                Some(e) if gap.start() < e => {
                    out.unavailable
                        .push(TimeRange::new(gap.start(), e).expect("start < e"));
                    asked.push(TimeRange::new(e, gap.end()).expect("e < end"));
                }
                _ => asked.push(*gap),
            }
        }
        let groups = join_close(&asked, JOIN_GAPS);
        let total = groups.len();
        let mut created = false;
        for (done, group) in groups.iter().enumerate() {
            let span = TimeRange::new(group[0].start(), group[group.len() - 1].end())
                .expect("ascending gaps");
            let fetched = provider
                .fetch_bars(&BarRequest::new(
                    symbol.clone(),
                    asset_class,
                    request.resolution,
                    span,
                ))
                .await;
            out.requests += 1;
            let bars = match fetched {
                Ok(bars) => bars,
                Err(e) => {
                    out.error = Some(e.to_string());
                    break;
                }
            };
            let inside: Vec<Bar> = bars
                .into_iter()
                .filter(|b| group.iter().any(|g| g.contains(b.ts())))
                .collect();
            if inside.is_empty() {
                out.no_data.extend(group.iter().copied());
            } else {
                let instruments = match (&new, created) {
                    (Some(n), false) => vec![n.clone()],
                    _ => Vec::new(),
                };
                let batch = IngestBatch {
                    instruments,
                    series: vec![SeriesBatch {
                        symbol: symbol.clone(),
                        resolution: request.resolution,
                        bars: inside,
                    }],
                    source: provider.name().to_string(),
                    ..Default::default()
                };
                out.bars_stored += self.store.ingest(batch).await?.bars_written;
                created = true;
            }
            progress(&BackfillProgress {
                symbol: symbol.clone(),
                requests_done: done + 1,
                requests_total: total,
                bars_stored: out.bars_stored,
            });
        }
        out.created = new.is_some() && created;
        Ok(out)
    }

    /// Fetch-through (`fetch_missing=true`): backfill the gaps of every stored series of
    /// `query` over its window (up to now) from the configured provider, so the answer that
    /// follows includes them. Continuous series are read from their stored contracts as they
    /// are. `Some` when the provider failed: the caller serves the stored data, marked stale.
    pub async fn fill_missing(
        &self,
        query: &Query,
        now: i64,
    ) -> Result<Option<Staleness>, ServiceError> {
        if self.provider.is_none() {
            return Err(ServiceError::invalid(
                "fetch_missing",
                "fetch_missing needs a configured provider ([providers.schwab])",
            ));
        }
        let plan = self.plan(query, now).await?;
        let mut stale: Option<Staleness> = None;
        for series in &plan.series {
            let SeriesTarget::Instrument { instrument, .. } = &series.target else {
                continue;
            };
            let end = series.window.range.end().min(now);
            let Ok(range) = TimeRange::new(series.window.range.start(), end) else {
                continue;
            };
            let request = BackfillRequest {
                symbols: vec![instrument.symbol.clone()],
                resolution: series.base,
                range,
                asset_class: Some(instrument.asset_class),
            };
            let report = self.backfill(&request, &|_| {}).await?;
            if let Some(reason) = report.symbols.iter().find_map(|s| s.error.clone()) {
                let newest = match stale.as_ref().and_then(|s| s.newest_stored) {
                    Some(n) => Some(series.last_stored.map_or(n, |l| l.max(n))),
                    None => series.last_stored,
                };
                stale = Some(Staleness {
                    newest_stored: newest,
                    reason,
                });
            }
        }
        Ok(stale)
    }

    /// The stored symbol of `raw` (our notation or Schwab's `/ESZ24`), the instrument to
    /// create when the store does not know it, and its asset class.
    async fn backfill_target(
        &self,
        raw: &str,
        asset_class: Option<AssetClass>,
    ) -> Result<(String, Option<NewInstrument>, AssetClass), ServiceError> {
        let slash = raw.trim().starts_with('/');
        let symbol = normalize_symbol(raw.trim().trim_start_matches('/'))
            .map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
        if let Some(i) = self.store.instrument(&symbol).await? {
            return Ok((symbol, None, i.asset_class));
        }
        let today = Utc::now().date_naive();
        let as_future = slash || asset_class == Some(AssetClass::Future);
        let new = match ContractSymbol::parse(&symbol, today) {
            Ok(c) if as_future || asset_class.is_none() => NewInstrument::future(FuturesContract {
                root: c.root().to_string(),
                month: c.month(),
                last_trade_date: None,
                first_notice_date: None,
            }),
            _ if as_future => {
                return Err(ServiceError::invalid(
                    "symbols",
                    format!("{raw} is not a futures contract symbol (root, month code, year)"),
                ));
            }
            _ => NewInstrument::equity(&symbol, asset_class.unwrap_or(AssetClass::Stock)),
        }
        .map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
        let class = new.asset_class;
        Ok((new.symbol.clone(), Some(new), class))
    }

    /// Gaps of the stored series of `symbol` over the request's range.
    async fn missing_ranges(
        &self,
        symbol: &str,
        request: &BackfillRequest,
    ) -> Result<Vec<TimeRange>, ServiceError> {
        let instrument = self.resolve_instrument(symbol).await?;
        let session = default_session(&instrument);
        let report = self
            .gap_report(
                &instrument,
                request.resolution,
                session,
                request.range,
                MAX_GAPS,
            )
            .await?;
        if report.truncated {
            return Err(ServiceError::invalid(
                "start",
                format!(
                    "the range has {} gaps, more than {MAX_GAPS} in one backfill: backfill a shorter range",
                    report.total_gaps
                ),
            ));
        }
        Ok(report
            .gaps
            .iter()
            .filter_map(|g| TimeRange::new(g.start, g.end).ok())
            .collect())
    }
}

/// Ascending ranges grouped so that consecutive ranges of a group are less than `join` apart.
fn join_close(ranges: &[TimeRange], join: i64) -> Vec<Vec<TimeRange>> {
    let mut groups: Vec<Vec<TimeRange>> = Vec::new();
    for r in ranges {
        match groups.last_mut() {
            Some(g) if r.start() - g[g.len() - 1].end() < join => g.push(*r),
            _ => groups.push(vec![*r]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_gaps_share_a_request_and_far_ones_do_not() {
        let r = |a: i64, b: i64| TimeRange::new(a, b).unwrap();
        let gaps = [r(0, 60), r(120, 180), r(100_000, 100_060)];
        let groups = join_close(&gaps, JOIN_GAPS);
        assert_eq!(
            groups,
            vec![vec![r(0, 60), r(120, 180)], vec![r(100_000, 100_060)]]
        );
        assert!(join_close(&[], JOIN_GAPS).is_empty());
    }
}
