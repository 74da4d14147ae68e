//! Streaming export: a query's bars in chunks, without holding the whole result.
//!
//! Each series of the plan is split into pieces whose buckets never straddle a piece
//! boundary, and every piece is derived by the same code as `fetch` (rollups included), so
//! the concatenated chunks equal `fetch`'s bars exactly. The rule:
//!
//! - 1-minute base, intraday frequencies or `1d`: pieces of whole trading sessions (a bucket
//!   never spans two sessions, see the engine's aggregation). A piece starts at the window
//!   start or at the open of a session and ends at the open of a later session.
//! - daily base, `1d`: pieces of whole trading days; a piece ends at the day after a trading
//!   day, so a vendor's weekend bar stays with the trading day it joins.
//! - everything else is one piece per series, bounded by `max_base_bars` like a fetch:
//!   `Nd`/`w`/`M` (buckets span many days), activity bars (buckets span sessions), gap filling
//!   (linear fill looks across the gap), `last_N_bars`, equity corporate-action adjustment, and
//!   continuous futures (roll decisions and back-adjustment depend on the whole window).
//!
//! Completeness is the one flag that depends on what else was read (a bucket ending after the
//! last base bar read is incomplete): a piece followed by more stored data in the window marks
//! its buckets by `now` alone, as the whole read of a fetch would.
//!
//! `max_bars_per_response` does not apply; each piece reads at most `max_base_bars` bars.
//! The export is pulled chunk by chunk ([`Export::next_chunk`]); dropping it cancels.

use chrono::Days;
use tradeassist_model::{AssetClass, Resolution, TimeRange};

use crate::plan::{Plan, SeriesPlan, SeriesTarget, chunked};
use crate::result::SeriesResult;
use crate::{Query, Service, ServiceError};

/// Base bars a piece reads at most by default (the real bound is also `max_base_bars`).
pub const EXPORT_PIECE_BARS: usize = 50_000;

/// Stored 1-minute bars a trading day can hold at most (for sizing pieces).
const MINUTES_PER_DAY: usize = 1_440;

/// One series of an export, known before any bar is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSeries {
    /// The symbol as the result names it (resolved; continuous symbols as written).
    pub symbol: String,
    /// A futures contract or a continuous futures series.
    pub future: bool,
    /// A continuous futures series (its bars carry contracts).
    pub continuous: bool,
    /// The stored resolution the bars are derived from.
    pub base: Resolution,
}

/// Bars of one piece of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportChunk {
    /// Index of the series in [`Export::series`].
    pub series: usize,
    /// The piece's bars; `window` is the whole series window, `base_bars` the piece's reads.
    pub result: SeriesResult,
}

/// A running export: pull chunks with [`Export::next_chunk`] until `None`.
///
/// While the caller encodes a chunk, the next one is already being read and derived on a
/// task of its own (one chunk ahead, so memory stays bounded): the store's reads and the
/// caller's encoding run side by side. Dropping the export aborts that task.
pub struct Export {
    plan: Plan,
    series: Vec<ExportSeries>,
    /// The pieces still to compute, when no task holds them.
    pieces: Option<Pieces>,
    /// The task computing the next chunk, holding the pieces until it ends.
    ahead: Option<Ahead>,
}

/// Where an export is: which series and where in it the next piece starts.
struct Pieces {
    service: Service,
    plan: Plan,
    piece_bars: usize,
    /// Index of the current series.
    current: usize,
    /// Start of the next piece of the current series (`None`: not started).
    cursor: Option<i64>,
}

type Step = (Pieces, Result<Option<ExportChunk>, ServiceError>);

/// A task computing the next chunk, aborted when dropped.
struct Ahead(tokio::task::JoinHandle<Step>);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Service {
    /// Start exporting a query at `now`: plans it (refusing bad parameters and unknown
    /// symbols before any bar is read) and returns the export to pull chunks from.
    pub async fn export(&self, query: &Query, now: i64) -> Result<Export, ServiceError> {
        self.export_with(query, now, EXPORT_PIECE_BARS).await
    }

    /// [`Service::export`] with pieces of at most about `piece_bars` base bars.
    pub async fn export_with(
        &self,
        query: &Query,
        now: i64,
        piece_bars: usize,
    ) -> Result<Export, ServiceError> {
        let plan = self.plan_for(query, now, true).await?;
        let series = plan
            .series
            .iter()
            .map(|sp| match &sp.target {
                SeriesTarget::Instrument { instrument, .. } => ExportSeries {
                    symbol: instrument.symbol.clone(),
                    future: instrument.asset_class == AssetClass::Future,
                    continuous: false,
                    base: sp.base,
                },
                SeriesTarget::Continuous { symbol, .. } => ExportSeries {
                    symbol: symbol.to_string(),
                    future: true,
                    continuous: true,
                    base: sp.base,
                },
            })
            .collect();
        Ok(Export {
            pieces: Some(Pieces {
                service: self.clone(),
                plan: plan.clone(),
                piece_bars: piece_bars.min(self.limits.max_base_bars).max(1),
                current: 0,
                cursor: None,
            }),
            plan,
            series,
            ahead: None,
        })
    }
}

impl Export {
    /// The plan being exported.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The series of the export, in request order.
    pub fn series(&self) -> &[ExportSeries] {
        &self.series
    }

    /// The next non-empty chunk, or `None` when every series is done (or after an error).
    pub async fn next_chunk(&mut self) -> Result<Option<ExportChunk>, ServiceError> {
        let (mut pieces, step) = match self.ahead.take() {
            Some(mut ahead) => (&mut ahead.0)
                .await
                .map_err(|e| ServiceError::Internal(format!("export task: {e}")))?,
            None => match self.pieces.take() {
                Some(mut pieces) => {
                    let step = pieces.next().await;
                    (pieces, step)
                }
                None => return Ok(None),
            },
        };
        if matches!(step, Ok(Some(_))) {
            self.ahead = Some(Ahead(tokio::spawn(async move {
                let step = pieces.next().await;
                (pieces, step)
            })));
        }
        step
    }
}

impl Pieces {
    /// Compute the next non-empty chunk.
    async fn next(&mut self) -> Result<Option<ExportChunk>, ServiceError> {
        let service = self.service.clone();
        let budget = service.limits.max_base_bars;
        loop {
            let Some(sp) = self.plan.series.get(self.current) else {
                return Ok(None);
            };
            let series = self.current;
            if !chunked(&self.plan.query, sp) {
                self.current += 1;
                self.cursor = None;
                let result = match &sp.target {
                    SeriesTarget::Instrument { instrument, .. } => {
                        service
                            .fetch_one(&self.plan, sp, instrument, budget)
                            .await?
                    }
                    SeriesTarget::Continuous { .. } => {
                        service.fetch_continuous(&self.plan, sp, budget).await?
                    }
                };
                if result.bars.is_empty() {
                    continue;
                }
                return Ok(Some(ExportChunk { series, result }));
            }
            let SeriesTarget::Instrument { instrument, .. } = &sp.target else {
                unreachable!("only plain instruments are chunked");
            };
            let window = sp.window.range;
            let start = match self.cursor {
                Some(c) => c,
                None => {
                    // Skip to the stored data: the piece starts at a boundary at or before the
                    // first stored bar.
                    let stored = service.store.series(instrument.id).await?;
                    let Some(info) = stored.iter().find(|s| s.resolution == sp.base) else {
                        self.current += 1;
                        continue;
                    };
                    if info.last_ts < window.start() || info.first_ts >= window.end() {
                        self.current += 1;
                        continue;
                    }
                    boundary_at_or_before(sp, info.first_ts).max(window.start())
                }
            };
            if start >= window.end() {
                self.current += 1;
                self.cursor = None;
                continue;
            }
            let end = piece_end(sp, start, self.piece_bars).min(window.end());
            self.cursor = Some(end);
            let mut piece = sp.clone();
            piece.window.range = TimeRange::new(start, end)
                .map_err(|e| ServiceError::Internal(format!("export piece: {e}")))?;
            let mut result = service
                .fetch_one(&self.plan, &piece, instrument, budget)
                .await?;
            // Is there stored data after the piece (inside the window)?
            let more = match TimeRange::new(end, window.end()) {
                Ok(rest) => !service
                    .store
                    .read_bars(tradeassist_store::BarQuery {
                        instrument_id: instrument.id,
                        resolution: sp.base,
                        range: rest,
                        last: None,
                        max_rows: 1,
                    })
                    .await?
                    .is_empty(),
                Err(_) => false,
            };
            if !more {
                self.current += 1;
                self.cursor = None;
            }
            if result.bars.is_empty() {
                continue;
            }
            if more {
                // A bucket is complete when it ends by the end of the data read and by `now`.
                // Alone, a piece would see its data end at its own last bar; the whole read
                // of a fetch ends after the piece, so only `now` decides.
                let now = self.plan.now;
                for b in &mut result.bars {
                    b.complete = b.end <= now;
                }
            }
            result.window = sp.window;
            return Ok(Some(ExportChunk { series, result }));
        }
    }
}

/// The latest piece boundary at or before `ts` (a session open, or the day after a trading
/// day), or `ts` itself when none is found nearby.
fn boundary_at_or_before(sp: &SeriesPlan, ts: i64) -> i64 {
    let cal = sp.calendar;
    match sp.base {
        Resolution::Minute => {
            let from = ts.saturating_sub(7 * 86_400);
            let Ok(range) = TimeRange::new(from, ts.saturating_add(1)) else {
                return ts;
            };
            cal.sessions_in(range, sp.session)
                .map(|s| s.open())
                .filter(|o| *o <= ts)
                .last()
                .unwrap_or(ts)
        }
        Resolution::Day => {
            let day = tradeassist_model::time::utc_date(ts);
            let prev = cal.trading_day_before(day);
            prev.checked_add_days(Days::new(1))
                .map_or(ts, |d| midnight(d).min(ts))
        }
    }
}

/// End of the piece starting at `start`: after about `piece_bars` base bars of whole
/// sessions (minute base) or trading days (daily base).
fn piece_end(sp: &SeriesPlan, start: i64, piece_bars: usize) -> i64 {
    let cal = sp.calendar;
    match sp.base {
        Resolution::Minute => {
            let sessions = (piece_bars / MINUTES_PER_DAY).max(1);
            let first = cal.local_date(start).pred_opt().unwrap_or_default();
            let last = cal.local_date(sp.window.range.end()).succ_opt();
            let last = last.unwrap_or(first);
            cal.sessions_iter(first, last, sp.session)
                .map(|s| s.open())
                .filter(|o| *o > start)
                .nth(sessions - 1)
                .unwrap_or(i64::MAX)
        }
        Resolution::Day => {
            let mut day = tradeassist_model::time::utc_date(start);
            let last = tradeassist_model::time::utc_date(sp.window.range.end());
            for _ in 0..piece_bars {
                let Some(td) = cal.checked_next_trading_day(day) else {
                    return i64::MAX;
                };
                let Some(after) = td.checked_add_days(Days::new(1)) else {
                    return i64::MAX;
                };
                day = after;
                if day > last {
                    return i64::MAX;
                }
            }
            midnight(day)
        }
    }
}

fn midnight(d: chrono::NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(i64::MAX, |t| t.and_utc().timestamp())
}
