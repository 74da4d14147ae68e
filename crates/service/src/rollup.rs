//! Materialized rollups: `1h` and `1d` bars of every minute series, for the instrument's
//! default session filter, kept in the store so that long ranges of hourly and daily bars are
//! read instead of re-aggregated from minute bars.
//!
//! **Refresh.** Every ingest leaves a backlog entry (the range it wrote) in the store, in the
//! ingest's own transaction. [`Service::refresh_rollups`] turns the backlog into rollup rows:
//! for each instrument it re-aggregates, with the engine, the buckets the written ranges
//! touch (plus a margin of whole sessions, and the previously incomplete last buckets), and
//! replaces those rows atomically while resolving the backlog entries. Only *complete*
//! buckets are stored (ending at or before the end of the stored data and `now`); the
//! incomplete end of a series is always aggregated live. A crash between ingest and refresh
//! leaves the entry pending, and reads fall back to base bars until a refresh runs.
//!
//! **Read.** [`read`] serves a time-bar request of `1h` or `1d` with default alignment and
//! label, no gap filling and no session VWAP, on a minute base and the default session
//! filter: stored rows inside the window, plus live aggregation of the base bars before the
//! first row and after the last one. The result equals the on-the-fly path bar for bar,
//! including VWAP (source decided over the whole window) and completeness flags (recomputed
//! against the window's data end and `now`).
//!
//! Exactness rests on two facts of the engine: a `1h` or `1d` session-aligned bucket never
//! spans two sessions, so its values depend only on its own base bars, which the engine sums
//! in the same order whether it aggregates one bucket or a year; and a bucket is shorter than
//! [`MARGIN`].

use std::collections::BTreeMap;

use tradeassist_engine::{
    AggBar, AggSpec, Aggregator, Align, BarSpec, Calendar, FillMethod, Label, Ohlc, SessionFilter,
    VwapSource,
};
use tradeassist_model::{
    Bar, Instrument, Resolution, SeriesWindow, TimeRange, TimeUnit, Timeframe,
};
use tradeassist_store::{
    BarQuery, RollupBacklog, RollupKey, RollupRow, RollupSlice, RollupWrite, StoreError,
};

use crate::Query;
use crate::derive::default_session;
use crate::{Service, ServiceError};

/// Timeframes kept as rollups.
pub const ROLLUP_TIMEFRAMES: [&str; 2] = ["1h", "1d"];
/// Longer than any bucket of [`ROLLUP_TIMEFRAMES`] (a session is shorter than a day).
const MARGIN: i64 = 2 * 86_400;
/// Base bars are re-aggregated in windows of this length (bounded memory on long histories).
const CHUNK: i64 = 60 * 86_400;

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Instruments whose rollups were rewritten.
    pub instruments: usize,
    /// Rollup rows written (all timeframes).
    pub rows_written: u64,
    /// Backlog entries resolved.
    pub resolved: usize,
}

fn key(timeframe: Timeframe, sessions: SessionFilter) -> RollupKey {
    RollupKey {
        base: Resolution::Minute,
        timeframe,
        sessions,
    }
}

fn timeframes() -> impl Iterator<Item = Timeframe> {
    ROLLUP_TIMEFRAMES
        .iter()
        .map(|t| t.parse().expect("valid timeframe"))
}

fn aggregator(
    cal: &Calendar,
    tf: Timeframe,
    sessions: SessionFilter,
) -> Result<Aggregator<'_>, ServiceError> {
    let mut spec = AggSpec::new(tf);
    spec.sessions = sessions;
    Aggregator::new(cal, Resolution::Minute, spec)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

fn engine_error(e: tradeassist_engine::EngineError) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// The rows of every bucket with data in `bars` (strictly increasing minute bars). Buckets at
/// the edges of `bars` may be partial; the caller keeps only those it read whole.
fn compute_rows(agg: &Aggregator<'_>, bars: &[Bar]) -> Result<Vec<RollupRow>, ServiceError> {
    let any_vendor = bars.iter().any(|b| b.vwap().is_some());
    let all_vendor = bars.iter().all(|b| b.vwap().is_some());
    let map = |f: &dyn Fn(&Bar) -> Bar| bars.iter().map(f).collect::<Vec<_>>();
    // Typical-price pass: everything but the vendor VWAP.
    let typical = if any_vendor {
        agg.aggregate(
            &map(&|b| b.with_vwap(None).expect("no vwap is valid")),
            None,
        )
    } else {
        agg.aggregate(bars, None)
    }
    .map_err(engine_error)?;
    // Vendor pass: the engine's vendor sums, valid for buckets whose bars all carry a vendor
    // VWAP (a placeholder stands in for missing ones; such buckets are marked below).
    let vendor = match (any_vendor, all_vendor) {
        (false, _) => None,
        (true, true) => Some(agg.aggregate(bars, None).map_err(engine_error)?),
        (true, false) => {
            let filled = map(&|b| {
                if b.vwap().is_some() {
                    *b
                } else {
                    b.with_vwap(Some(1.0)).expect("positive vwap")
                }
            });
            Some(agg.aggregate(&filled, None).map_err(engine_error)?)
        }
    };
    // Marker pass: the volume of each bucket counts its in-session bars without a vendor VWAP.
    let missing = if any_vendor && !all_vendor {
        let markers = map(&|b| {
            let missing = if b.vwap().is_none() { 1.0 } else { 0.0 };
            Bar::new(b.ts(), 1.0, 1.0, 1.0, 1.0, missing).expect("valid marker bar")
        });
        Some(agg.aggregate(&markers, None).map_err(engine_error)?)
    } else {
        None
    };
    let mut rows = Vec::with_capacity(typical.bars.len());
    for (i, t) in typical.bars.iter().enumerate() {
        let ohlc = t
            .ohlc
            .ok_or_else(|| ServiceError::Internal("aggregated bar without prices".into()))?;
        let bucket_all_vendor = match &missing {
            Some(m) => m.bars[i].volume == 0.0,
            None => all_vendor,
        };
        let last = bars.partition_point(|b| b.ts() < t.end);
        rows.push(RollupRow {
            start: t.start,
            end: t.end,
            date: t.date,
            open: ohlc.open,
            high: ohlc.high,
            low: ohlc.low,
            close: ohlc.close,
            volume: t.volume,
            open_interest: t.open_interest,
            vwap_typical: t.vwap,
            vwap_vendor: if bucket_all_vendor {
                vendor.as_ref().and_then(|v| v.bars[i].vwap)
            } else {
                None
            },
            all_vendor: bucket_all_vendor,
            count: t.count,
            last_ts: bars[last - 1].ts(),
        });
    }
    Ok(rows)
}

impl Service {
    /// Bring the rollups up to date with every ingest recorded in the store's backlog. Called
    /// after each import; call it also after writing bars through the store directly, and at
    /// start-up (a crash may have left a backlog). Until it runs, reads of affected series are
    /// served from base bars, so it is never a correctness problem to call it late.
    pub async fn refresh_rollups(&self) -> Result<RollupReport, ServiceError> {
        let mut by_instrument: BTreeMap<i64, Vec<RollupBacklog>> = BTreeMap::new();
        for entry in self.store.rollup_backlog().await? {
            by_instrument
                .entry(entry.instrument_id)
                .or_default()
                .push(entry);
        }
        let mut report = RollupReport::default();
        for (instrument_id, entries) in by_instrument {
            let resolved: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            let minute: Vec<&RollupBacklog> = entries
                .iter()
                .filter(|e| e.resolution == Resolution::Minute)
                .collect();
            let slices = match minute.first() {
                None => Vec::new(),
                Some(first) => {
                    let lo = minute.iter().map(|e| e.first_ts).min().expect("non-empty");
                    let hi = minute.iter().map(|e| e.last_ts).max().expect("non-empty");
                    self.rollup_slices(instrument_id, &first.symbol, lo, hi)
                        .await?
                }
            };
            let rows: u64 = slices.iter().map(|s| s.rows.len() as u64).sum();
            let n = resolved.len();
            match self
                .store
                .write_rollups(RollupWrite {
                    instrument_id,
                    slices,
                    resolved,
                })
                .await
            {
                Ok(()) => {
                    report.instruments += 1;
                    report.rows_written += rows;
                    report.resolved += n;
                }
                // A concurrent refresh resolved these entries with data at least as new.
                Err(StoreError::Conflict(message)) => {
                    tracing::debug!(instrument_id, message, "rollup refresh skipped")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }

    /// New rows of every rollup key of an instrument after minute bars in `[lo, hi]` changed.
    async fn rollup_slices(
        &self,
        id: i64,
        symbol: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<RollupSlice>, ServiceError> {
        let Some(instrument) = self.store.instrument(symbol).await? else {
            return Ok(Vec::new());
        };
        let Ok(cal) = Calendar::get(&instrument.calendar) else {
            tracing::warn!(
                symbol,
                calendar = instrument.calendar,
                "no rollups: unknown calendar"
            );
            return Ok(Vec::new());
        };
        let Some(series) = self
            .store
            .series(id)
            .await?
            .into_iter()
            .find(|s| s.resolution == Resolution::Minute)
        else {
            return Ok(Vec::new());
        };
        let sessions = default_session(&instrument);
        let cutoff = (series.last_ts + 60).min(crate::now());
        let mut slices = Vec::new();
        for tf in timeframes() {
            let key = key(tf, sessions);
            let probe = TimeRange::new(0, 1).expect("non-empty");
            let covered = self
                .store
                .read_rollups(id, &key, probe)
                .await?
                .covered_until;
            // Never refreshed: the whole series. Otherwise the changed range plus the buckets
            // that were still incomplete at the last refresh.
            let from = match covered {
                None => series.first_ts,
                Some(c) => lo.min(c),
            };
            let start = from - MARGIN;
            // A change inside covered history rewrites the buckets around it only: rows past
            // `hi + MARGIN` hold no changed bar and stay. Otherwise everything up to the
            // cutoff (or the old coverage mark, if the data now ends before it) is rewritten.
            let (limit, covered_until, replace_end) = match covered {
                Some(c) if hi + MARGIN < c => (hi + MARGIN, c, hi + MARGIN),
                _ => {
                    let mark = cutoff.max(covered.unwrap_or(i64::MIN));
                    (cutoff, mark, mark)
                }
            };
            let agg = aggregator(cal, tf, sessions)?;
            let mut rows = Vec::new();
            let mut a = start;
            while a < limit {
                let b = a + CHUNK;
                let read_end = (b + MARGIN).min(limit);
                let range = TimeRange::new(a, read_end).expect("a < limit");
                let query = BarQuery {
                    instrument_id: id,
                    resolution: Resolution::Minute,
                    range,
                    last: None,
                    max_rows: usize::MAX,
                };
                let bars = self.store.read_bars(query).await?;
                rows.extend(
                    compute_rows(&agg, &bars)?
                        .into_iter()
                        .filter(|r| r.start >= a && r.start < b && r.end <= limit),
                );
                a = b;
            }
            let replace = TimeRange::new(start, replace_end.max(start + 1)).expect("start < end");
            slices.push(RollupSlice {
                key,
                replace,
                rows,
                covered_until,
            });
        }
        Ok(slices)
    }
}

/// Rollups built during an import for one new series, with the extent it wrote
/// `(first_ts, last_ts, count)`.
pub(crate) struct BuiltRollups {
    pub(crate) symbol: String,
    pub(crate) slices: Vec<RollupSlice>,
    pub(crate) extent: (i64, i64, u64),
}

/// Bars a builder holds before it aggregates up to the last session boundary among them.
const BUILD_PENDING: usize = 16_384;

/// Rollups of a series built from the bars of an import as they stream by, for a series that
/// had no stored minute bars before it (so every touched session holds only these bars). The
/// rows equal what [`Service::refresh_rollups`] computes from the stored bars afterwards
/// (same engine, same session-aligned slices), without reading them back.
pub(crate) struct RollupBuilder {
    calendar: &'static Calendar,
    sessions: SessionFilter,
    pending: Vec<Bar>,
    rows: Vec<(Timeframe, Vec<RollupRow>)>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    count: u64,
    /// A bar went backwards in time (an unsorted file): the builder gives up and the regular
    /// refresh reads the stored bars instead.
    unordered: bool,
}

impl RollupBuilder {
    pub(crate) fn new(calendar: &'static Calendar, sessions: SessionFilter) -> Self {
        RollupBuilder {
            calendar,
            sessions,
            pending: Vec::new(),
            rows: timeframes().map(|tf| (tf, Vec::new())).collect(),
            first_ts: None,
            last_ts: None,
            count: 0,
            unordered: false,
        }
    }

    /// Feed the next bars of the series (ascending).
    pub(crate) fn push(&mut self, bars: &[Bar]) -> Result<(), ServiceError> {
        let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
            return Ok(());
        };
        if self.unordered || self.last_ts.is_some_and(|l| first.ts() <= l) {
            self.unordered = true;
            self.pending.clear();
            return Ok(());
        }
        self.first_ts.get_or_insert(first.ts());
        self.last_ts = Some(last.ts());
        self.count += bars.len() as u64;
        self.pending.extend_from_slice(bars);
        if self.pending.len() >= BUILD_PENDING {
            // Aggregate everything before the open of the last session seen: no 1h or 1d
            // bucket spans two sessions, so these buckets are final.
            let range = TimeRange::new(self.pending[0].ts(), last.ts() + 1).expect("ordered");
            let cut = self
                .calendar
                .sessions(range, self.sessions)
                .last()
                .map(|s| s.open())
                .filter(|open| *open > self.pending[0].ts());
            if let Some(open) = cut {
                let k = self.pending.partition_point(|b| b.ts() < open);
                self.aggregate(k)?;
            }
        }
        Ok(())
    }

    fn aggregate(&mut self, k: usize) -> Result<(), ServiceError> {
        if k == 0 {
            return Ok(());
        }
        for (tf, rows) in &mut self.rows {
            let agg = aggregator(self.calendar, *tf, self.sessions)?;
            rows.extend(compute_rows(&agg, &self.pending[..k])?);
        }
        self.pending.drain(..k);
        Ok(())
    }

    /// The slices a refresh right after the import would write (`None` when the builder
    /// gave up or saw no bar).
    pub(crate) fn finish(
        mut self,
        symbol: String,
        now: i64,
    ) -> Result<Option<BuiltRollups>, ServiceError> {
        let (Some(first), Some(last)) = (self.first_ts, self.last_ts) else {
            return Ok(None);
        };
        if self.unordered {
            return Ok(None);
        }
        self.aggregate(self.pending.len())?;
        let cutoff = (last + 60).min(now);
        let start = first - MARGIN;
        let replace = TimeRange::new(start, cutoff.max(start + 1)).expect("start < end");
        let sessions = self.sessions;
        let slices = self
            .rows
            .into_iter()
            .map(|(tf, rows)| RollupSlice {
                key: key(tf, sessions),
                replace,
                rows: rows.into_iter().filter(|r| r.end <= cutoff).collect(),
                covered_until: cutoff,
            })
            .collect();
        Ok(Some(BuiltRollups {
            symbol,
            slices,
            extent: (first, last, self.count),
        }))
    }
}

impl Service {
    /// Write rollups built during an import for series that were new, resolving their
    /// backlog entries; returns how many series were written. Series another writer touched
    /// meanwhile are left to the refresh.
    pub(crate) async fn write_built_rollups(
        &self,
        built: Vec<BuiltRollups>,
    ) -> Result<usize, ServiceError> {
        let mut written = 0;
        if built.is_empty() {
            return Ok(0);
        }
        let backlog = self.store.rollup_backlog().await?;
        for b in built {
            let entries: Vec<&RollupBacklog> =
                backlog.iter().filter(|e| e.symbol == b.symbol).collect();
            let Some(first) = entries.first() else {
                continue;
            };
            // Only this import wrote the series (no other writer since): else the refresh
            // reads the stored bars.
            let stored = self.store.series(first.instrument_id).await?;
            let minute = stored.iter().find(|s| s.resolution == Resolution::Minute);
            if minute.map(|s| (s.first_ts, s.last_ts, s.count)) != Some(b.extent) {
                continue;
            }
            let slices = b.slices;
            let write = RollupWrite {
                instrument_id: first.instrument_id,
                slices,
                resolved: entries.iter().map(|e| e.seq).collect(),
            };
            match self.store.write_rollups(write).await {
                Ok(()) => written += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(written)
    }
}

/// The stored rollup a timeframe is derived from: itself for `1h` and `1d`; `1h` for
/// multiples of an hour (a session-aligned `Nh` bucket is the union of the `N` whole `1h`
/// buckets of the same session from its open, both clipped at the close, so this holds on
/// every calendar, whatever minute the session opens at); `1d` for `Nd`, `w` and `M` (a
/// group of trading days is the union of its days' sessions).
fn source_timeframe(tf: Timeframe) -> Option<Timeframe> {
    let [hour, day] = ROLLUP_TIMEFRAMES.map(|t| t.parse::<Timeframe>().expect("valid timeframe"));
    match tf.unit() {
        _ if tf == hour || tf == day => Some(tf),
        TimeUnit::Minute | TimeUnit::Hour => tf
            .fixed_seconds()
            .is_some_and(|s| s % 3_600 == 0)
            .then_some(hour),
        TimeUnit::Day | TimeUnit::Week | TimeUnit::Month => Some(day),
        TimeUnit::Second => None,
    }
}

/// Whether `fetch_one` may serve a request from rollups: the asked timeframe and the stored
/// one it is derived from.
fn eligible(
    req: &Query,
    instrument: &Instrument,
    base: Resolution,
    session: SessionFilter,
    window: &SeriesWindow,
) -> Option<(Timeframe, Timeframe)> {
    let BarSpec::Time(tf) = req.bars else {
        return None;
    };
    let o = &req.options;
    let ok = base == Resolution::Minute
        && o.align == Align::Session
        && o.label == Label::Start
        && o.fill == FillMethod::None
        && !o.session_vwap
        && window.last_bars.is_none()
        && session == default_session(instrument);
    ok.then(|| source_timeframe(tf).map(|stored| (tf, stored)))
        .flatten()
}

/// Aggregated base bars of one part of the window: bars, and whether they could use vendor VWAP.
struct Part {
    base: Vec<Bar>,
    bars: Vec<AggBar>,
    vendor: bool,
}

/// Derived bars of a request from rollups plus live aggregation of the edges, or `None` when
/// the request or the stored rollups do not allow it (the caller aggregates base bars then).
/// Returns the bars, the VWAP source and the number of base bars read.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn read(
    service: &Service,
    req: &Query,
    now: i64,
    instrument: &Instrument,
    base: Resolution,
    calendar: &Calendar,
    session: SessionFilter,
    window: &SeriesWindow,
) -> Result<Option<(Vec<AggBar>, VwapSource, usize)>, ServiceError> {
    let Some((asked, stored)) = eligible(req, instrument, base, session, window) else {
        return Ok(None);
    };
    let Some(read) =
        read_stored(service, now, instrument, calendar, session, window, stored).await?
    else {
        return Ok(None);
    };
    if asked == stored {
        return Ok(Some((read.bars, read.source, read.base_read)));
    }
    let target = aggregator(calendar, asked, session)?;
    Ok(merge(&target, window.range, &read, now).map(|bars| (bars, read.source, read.base_read)))
}

/// Bars of a stored rollup timeframe over a window (rows plus live edges).
struct StoredRead {
    bars: Vec<AggBar>,
    source: VwapSource,
    base_read: usize,
    /// End of the last base bar of the window's data.
    data_end: i64,
}

/// Bars of a longer timeframe made of whole bars of the stored one (see [`source_timeframe`]):
/// prices, volume, open interest and counts exactly as aggregating the base bars gives them;
/// the VWAP is the volume-weighted mean of the parts' VWAPs, equal to the base-bar VWAP up to
/// floating-point summation order (about 1e-15 relative). `None` when a part does not fall
/// inside one bucket of the target (never expected; the caller then reads base bars).
fn merge(
    target: &Aggregator<'_>,
    range: TimeRange,
    read: &StoredRead,
    now: i64,
) -> Option<Vec<AggBar>> {
    let buckets = target.buckets(range);
    let mut out: Vec<AggBar> = Vec::with_capacity(buckets.len());
    // Σ vwap·volume and Σ volume of the parts with a VWAP, per output bar.
    let mut pv: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    let mut j = 0;
    for part in &read.bars {
        while buckets.get(j).is_some_and(|b| b.end <= part.start) {
            j += 1;
        }
        let bucket = buckets.get(j)?;
        if part.start < bucket.start || part.end > bucket.end {
            return None;
        }
        let ohlc = part.ohlc?;
        let weighted = part
            .vwap
            .map_or((0.0, 0.0), |v| (v * part.volume, part.volume));
        match out.last_mut() {
            Some(o) if o.start == bucket.start => {
                let acc = o.ohlc.as_mut().expect("merged bars have prices");
                acc.high = acc.high.max(ohlc.high);
                acc.low = acc.low.min(ohlc.low);
                acc.close = ohlc.close;
                o.volume += part.volume;
                if part.open_interest.is_some() {
                    o.open_interest = part.open_interest;
                }
                o.count += part.count;
                let last = pv.last_mut().expect("one sum per bar");
                last.0 += weighted.0;
                last.1 += weighted.1;
            }
            _ => {
                out.push(AggBar {
                    ts: bucket.start,
                    start: bucket.start,
                    end: bucket.end,
                    date: bucket.date,
                    ..*part
                });
                pv.push(weighted);
            }
        }
    }
    for (bar, (pv, v)) in out.iter_mut().zip(pv) {
        bar.vwap = (v > 0.0).then(|| pv / v);
        bar.complete = bar.end <= read.data_end && bar.end <= now;
    }
    Some(out)
}

/// [`StoredRead`] of one stored rollup timeframe, or `None` when the rollups cannot serve the
/// window (never refreshed, pending backlog, no rows inside, too many base bars at the edges).
async fn read_stored(
    service: &Service,
    now: i64,
    instrument: &Instrument,
    calendar: &Calendar,
    session: SessionFilter,
    window: &SeriesWindow,
    tf: Timeframe,
) -> Result<Option<StoredRead>, ServiceError> {
    let base = Resolution::Minute;
    let store = service.store();
    let set = store
        .read_rollups(instrument.id, &key(tf, session), window.range)
        .await?;
    let Some(covered) = set.covered_until.filter(|_| !set.pending) else {
        return Ok(None);
    };
    let rows: Vec<RollupRow> = set.rows.into_iter().filter(|r| r.end <= covered).collect();
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    let agg = aggregator(calendar, tf, session)?;
    let max_base = service.limits().max_base_bars;
    let mut parts = Vec::with_capacity(2);
    for (start, end) in [
        (window.range.start(), first.start),
        (last.end, window.range.end()),
    ] {
        let Ok(range) = TimeRange::new(start, end) else {
            parts.push(Part {
                base: Vec::new(),
                bars: Vec::new(),
                vendor: true,
            });
            continue;
        };
        // Without an expected bucket, the base bars of an edge are all outside the sessions:
        // they add no bar, and only the last one matters (it may end the data).
        let in_sessions = !agg.buckets(range).is_empty();
        if !in_sessions && start == window.range.start() {
            parts.push(Part {
                base: Vec::new(),
                bars: Vec::new(),
                vendor: true,
            });
            continue;
        }
        let query = BarQuery {
            instrument_id: instrument.id,
            resolution: base,
            range,
            last: (!in_sessions).then_some(1),
            max_rows: max_base.saturating_add(1),
        };
        let bars = store.read_bars(query).await?;
        if bars.len() > max_base {
            return Ok(None);
        }
        let out = agg.aggregate(&bars, None).map_err(engine_error)?;
        let vendor = bars.is_empty() || out.vwap_source == VwapSource::Vendor;
        parts.push(Part {
            base: bars,
            bars: out.bars,
            vendor,
        });
    }
    let vendor = parts.iter().all(|p| p.vendor) && rows.iter().all(|r| r.all_vendor);
    let source = if vendor {
        VwapSource::Vendor
    } else {
        VwapSource::TypicalPrice
    };
    for part in parts
        .iter_mut()
        .filter(|p| p.vendor && !vendor && !p.base.is_empty())
    {
        let typical: Vec<Bar> = part
            .base
            .iter()
            .map(|b| b.with_vwap(None).expect("no vwap is valid"))
            .collect();
        part.bars = agg.aggregate(&typical, None).map_err(engine_error)?.bars;
    }
    let data_end = match parts[1].base.last() {
        Some(b) => b.ts() + 60,
        None => last.last_ts + 60,
    };
    let [head, tail] = <[Part; 2]>::try_from(parts).ok().expect("two parts");
    let base_read = head.base.len() + tail.base.len();
    let mut bars = head.bars;
    bars.reserve(rows.len() + tail.bars.len());
    bars.extend(rows.iter().map(|r| AggBar {
        ts: r.start,
        start: r.start,
        end: r.end,
        date: r.date,
        ohlc: Some(Ohlc {
            open: r.open,
            high: r.high,
            low: r.low,
            close: r.close,
        }),
        volume: r.volume,
        open_interest: r.open_interest,
        vwap: if vendor {
            r.vwap_vendor
        } else {
            r.vwap_typical
        },
        session_vwap: None,
        complete: false,
        count: r.count,
        filled: None,
    }));
    bars.extend(tail.bars);
    for b in &mut bars {
        b.complete = b.end <= data_end && b.end <= now;
    }
    Ok(Some(StoredRead {
        bars,
        source,
        base_read,
        data_end,
    }))
}
