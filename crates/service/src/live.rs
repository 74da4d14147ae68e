//! Live bars: subscribers follow a symbol's base bars (`market_data`) or bars of a frequency
//! derived from them (`bars`). Base bars reach the hub from three sources: an in-process
//! import, the store's change log (any other writer: another process's import, a provider
//! backfill; see [`Service::follow_live`]) and the replay feed ([`Service::replay`]).
//!
//! Invariants:
//! - Per series the hub keeps a cursor, the newest bar published; a bar at or before it is
//!   never published again, so the sources may overlap (an import seen in-process and then
//!   again through the change log).
//! - Each bar subscription owns an engine [`IncrementalAggregator`]; a new subscription is
//!   seeded with the series' recent base bars (up to two days), so a bucket that opened before
//!   the subscriber joined is still built from all its base bars and equals the batch bar.
//! - Queues are bounded: a subscriber that does not keep up loses updates (counted, see
//!   [`Subscription::dropped`]); publishing never waits for a subscriber.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tradeassist_engine::{
    AggSpec, Aggregator, BarSpec, Calendar, IncrementalAggregator, Update, VwapSource,
};
use tradeassist_model::{Bar, Instrument, Resolution, TimeRange, Timeframe};
use tradeassist_store::{BarQuery, ChangeKind, SeriesInfo};

use crate::derive::{choose_base, default_session};

/// The base series live bars of `instrument` come from: minutes when stored, else days.
pub(crate) fn live_base(
    instrument: &Instrument,
    stored: &[SeriesInfo],
) -> Result<Resolution, ServiceError> {
    if stored.iter().any(|s| s.resolution == Resolution::Minute) {
        Ok(Resolution::Minute)
    } else if stored.iter().any(|s| s.resolution == Resolution::Day) {
        Ok(Resolution::Day)
    } else {
        Err(ServiceError::UnsupportedFrequency(format!(
            "{} has no stored bars to follow",
            instrument.symbol
        )))
    }
}
use crate::{Service, ServiceError};

/// Updates queued per subscriber before new ones are dropped.
const QUEUE: usize = 1_024;
/// Published base bars kept per series to seed new subscriptions: this long before the
/// newest one, at most [`RECENT_MAX`] of them.
const RECENT_SECS: i64 = 2 * 86_400;
const RECENT_MAX: usize = 4_096;
/// Most bars one change-log entry is read back for (larger writes are bulk loads, not live).
const FOLLOW_MAX_ROWS: usize = 100_000;

/// A bar update of one `bars` subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUpdate {
    pub symbol: String,
    pub update: Update,
}

/// A new base bar of one `market_data` subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseBar {
    pub symbol: String,
    pub resolution: Resolution,
    pub bar: Bar,
}

/// The receiving end of a subscription; dropping it ends the subscription.
pub struct Subscription<T> {
    pub updates: mpsc::Receiver<T>,
    /// The stored resolution the subscription follows.
    pub base: Resolution,
    dropped: Arc<AtomicU64>,
}

impl<T> Subscription<T> {
    /// Updates dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

struct BarSub {
    calendar: &'static Calendar,
    spec: AggSpec,
    aggregator: IncrementalAggregator<'static>,
    tx: mpsc::Sender<LiveUpdate>,
    dropped: Arc<AtomicU64>,
}

struct BaseSub {
    tx: mpsc::Sender<BaseBar>,
    dropped: Arc<AtomicU64>,
}

fn offer<T>(tx: &mpsc::Sender<T>, dropped: &AtomicU64, msg: T) {
    if tx.try_send(msg).is_err() {
        dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// One followed base series.
struct Series {
    symbol: String,
    base: Resolution,
    /// Newest bar published.
    cursor: i64,
    /// The feed's clock: no base bar before it will arrive any more.
    clock: i64,
    recent: VecDeque<Bar>,
    /// Played by the replay feed: the change-log follower leaves it alone.
    replaying: bool,
    bar_subs: Vec<BarSub>,
    base_subs: Vec<BaseSub>,
}

impl Series {
    fn new(instrument: &Instrument, base: Resolution, cursor: i64, recent: Vec<Bar>) -> Series {
        Series {
            symbol: instrument.symbol.clone(),
            base,
            cursor,
            clock: cursor.saturating_add(base.seconds()),
            recent: recent.into(),
            replaying: false,
            bar_subs: Vec::new(),
            base_subs: Vec::new(),
        }
    }

    fn followed(&self) -> bool {
        self.bar_subs.iter().any(|s| !s.tx.is_closed())
            || self.base_subs.iter().any(|s| !s.tx.is_closed())
    }

    fn vwap_source(&self) -> VwapSource {
        let recent: Vec<Bar> = self.recent.iter().copied().collect();
        tradeassist_engine::vwap_source(&recent)
    }

    /// An aggregator for `spec` that has seen the recent bars and the clock.
    fn seeded(
        &self,
        calendar: &'static Calendar,
        spec: AggSpec,
    ) -> Result<IncrementalAggregator<'static>, ServiceError> {
        let agg = Aggregator::new(calendar, self.base, spec)
            .map_err(|e| ServiceError::UnsupportedFrequency(e.to_string()))?;
        let mut inc = IncrementalAggregator::new(agg, self.vwap_source());
        for bar in &self.recent {
            let _ = inc.push(bar);
        }
        inc.close_until(self.clock);
        Ok(inc)
    }

    /// Publish `bars` (ascending; those at or before the cursor are skipped), then advance
    /// the clock to `clock` when given, closing buckets that end by then.
    fn push(&mut self, bars: &[Bar], clock: Option<i64>) {
        self.bar_subs.retain(|s| !s.tx.is_closed());
        self.base_subs.retain(|s| !s.tx.is_closed());
        for bar in bars {
            if bar.ts() <= self.cursor {
                continue;
            }
            self.cursor = bar.ts();
            self.recent.push_back(*bar);
            while self.recent.len() > RECENT_MAX
                || self
                    .recent
                    .front()
                    .is_some_and(|f| f.ts() < bar.ts() - RECENT_SECS)
            {
                self.recent.pop_front();
            }
            for sub in &self.base_subs {
                let msg = BaseBar {
                    symbol: self.symbol.clone(),
                    resolution: self.base,
                    bar: *bar,
                };
                offer(&sub.tx, &sub.dropped, msg);
            }
            for sub in &mut self.bar_subs {
                let Ok(updates) = sub.aggregator.push(bar) else {
                    continue;
                };
                for update in updates {
                    let msg = LiveUpdate {
                        symbol: self.symbol.clone(),
                        update,
                    };
                    offer(&sub.tx, &sub.dropped, msg);
                }
            }
        }
        if let Some(clock) = clock {
            self.advance(clock);
        }
    }

    fn advance(&mut self, clock: i64) {
        if clock <= self.clock {
            return;
        }
        self.clock = clock;
        for sub in &mut self.bar_subs {
            if let Some(update) = sub.aggregator.close_until(clock) {
                let msg = LiveUpdate {
                    symbol: self.symbol.clone(),
                    update,
                };
                offer(&sub.tx, &sub.dropped, msg);
            }
        }
    }
}

/// All followed series of a service.
#[derive(Default)]
pub(crate) struct LiveHub {
    series: Mutex<HashMap<(i64, Resolution), Series>>,
}

impl LiveHub {
    /// True when some open subscription follows `symbol` at `base`.
    pub(crate) fn wants(&self, symbol: &str, base: Resolution) -> bool {
        self.series
            .lock()
            .expect("live series")
            .values()
            .any(|s| s.symbol == symbol && s.base == base && s.followed())
    }

    /// Feed newly stored base bars of `symbol` (ascending) to every matching subscription.
    pub(crate) fn publish(&self, symbol: &str, base: Resolution, bars: &[Bar]) {
        let mut all = self.series.lock().expect("live series");
        if let Some(series) = all
            .values_mut()
            .find(|s| s.symbol == symbol && s.base == base && !s.replaying)
        {
            series.push(bars, None);
        }
    }

    fn with_series<R>(
        &self,
        key: (i64, Resolution),
        f: impl FnOnce(&mut Series) -> R,
    ) -> Option<R> {
        self.series
            .lock()
            .expect("live series")
            .get_mut(&key)
            .map(f)
    }

    /// Series the change-log follower feeds: followed and not replaying, with their cursors.
    fn followed(&self) -> Vec<((i64, Resolution), i64)> {
        let mut all = self.series.lock().expect("live series");
        all.retain(|_, s| s.followed() || s.replaying);
        all.iter()
            .filter(|(_, s)| !s.replaying)
            .map(|(k, s)| (*k, s.cursor))
            .collect()
    }
}

impl Service {
    /// Subscribe to live `frequency` bars of `symbol`, derived like a fetch with default
    /// options: the base a fetch would choose, the instrument's default session, session
    /// alignment and start labels.
    pub async fn subscribe_bars(
        &self,
        symbol: &str,
        frequency: Timeframe,
    ) -> Result<Subscription<LiveUpdate>, ServiceError> {
        let (instrument, calendar) = self.instrument_with_calendar(symbol).await?;
        let stored = self.store.series(instrument.id).await?;
        let base = choose_base(BarSpec::Time(frequency), None, &stored, &instrument.symbol)?;
        let mut spec = AggSpec::new(frequency);
        spec.sessions = default_session(&instrument);
        self.subscribe_to(&instrument, calendar, base, spec, &stored)
            .await
    }

    /// Subscribe to live `spec` bars of `symbol` derived from its `base` series.
    pub async fn subscribe(
        &self,
        symbol: &str,
        base: Resolution,
        spec: AggSpec,
    ) -> Result<Subscription<LiveUpdate>, ServiceError> {
        let (instrument, calendar) = self.instrument_with_calendar(symbol).await?;
        let stored = self.store.series(instrument.id).await?;
        self.subscribe_to(&instrument, calendar, base, spec, &stored)
            .await
    }

    /// [`Service::subscribe`] once the instrument and its stored series are known.
    async fn subscribe_to(
        &self,
        instrument: &Instrument,
        calendar: &'static Calendar,
        base: Resolution,
        spec: AggSpec,
        stored: &[SeriesInfo],
    ) -> Result<Subscription<LiveUpdate>, ServiceError> {
        // Check the spec before touching the hub.
        Aggregator::new(calendar, base, spec)
            .map_err(|e| ServiceError::UnsupportedFrequency(e.to_string()))?;
        let seed = self.live_seed(instrument, base, stored).await?;
        let (tx, updates) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut all = self.live.series.lock().expect("live series");
        let series = all.entry((instrument.id, base)).or_insert(seed);
        let aggregator = series.seeded(calendar, spec)?;
        series.bar_subs.push(BarSub {
            calendar,
            spec,
            aggregator,
            tx,
            dropped: dropped.clone(),
        });
        Ok(Subscription {
            updates,
            base,
            dropped,
        })
    }

    /// Subscribe to the base bars of `symbol` as they arrive (its minute series when it has
    /// one, else its daily series).
    pub async fn subscribe_base(
        &self,
        symbol: &str,
    ) -> Result<Subscription<BaseBar>, ServiceError> {
        let (instrument, _) = self.instrument_with_calendar(symbol).await?;
        let stored = self.store.series(instrument.id).await?;
        let base = live_base(&instrument, &stored)?;
        let seed = self.live_seed(&instrument, base, &stored).await?;
        let (tx, updates) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut all = self.live.series.lock().expect("live series");
        let series = all.entry((instrument.id, base)).or_insert(seed);
        series.base_subs.push(BaseSub {
            tx,
            dropped: dropped.clone(),
        });
        Ok(Subscription {
            updates,
            base,
            dropped,
        })
    }

    /// A new followed series: its cursor at the newest stored bar, seeded with the stored
    /// bars of the two days before it.
    async fn live_seed(
        &self,
        instrument: &Instrument,
        base: Resolution,
        stored: &[SeriesInfo],
    ) -> Result<Series, ServiceError> {
        let Some(info) = stored.iter().find(|s| s.resolution == base) else {
            return Ok(Series::new(instrument, base, i64::MIN, Vec::new()));
        };
        let range = TimeRange::new(
            info.last_ts.saturating_sub(RECENT_SECS),
            info.last_ts.saturating_add(1),
        )
        .map_err(|e| ServiceError::Internal(format!("live seed: {e}")))?;
        let mut recent = self
            .store
            .read_bars(BarQuery {
                instrument_id: instrument.id,
                resolution: base,
                range,
                last: Some(RECENT_MAX as u32),
                max_rows: RECENT_MAX,
            })
            .await?;
        recent.sort_by_key(|b| b.ts());
        Ok(Series::new(instrument, base, info.last_ts, recent))
    }

    /// Start replaying `instrument`'s `base` series from `from`: the series restarts there,
    /// and every bar subscription restarts its aggregator.
    pub(crate) fn start_replay(
        &self,
        instrument: &Instrument,
        base: Resolution,
        from: i64,
        source: VwapSource,
    ) {
        let mut all = self.live.series.lock().expect("live series");
        let fresh = Series::new(instrument, base, from.saturating_sub(1), Vec::new());
        let series = all.entry((instrument.id, base)).or_insert(fresh);
        series.cursor = from.saturating_sub(1);
        series.clock = from;
        series.recent.clear();
        series.replaying = true;
        for sub in &mut series.bar_subs {
            if let Ok(agg) = Aggregator::new(sub.calendar, base, sub.spec) {
                sub.aggregator = IncrementalAggregator::new(agg, source);
            }
        }
    }

    /// Publish replayed bars of one series with the replay clock.
    pub(crate) fn replay_bars(&self, key: (i64, Resolution), bars: &[Bar], clock: i64) {
        self.live.with_series(key, |s| s.push(bars, Some(clock)));
    }

    /// The replay of a series ended at `clock`: close what ended by then and hand the series
    /// back to the change-log follower.
    pub(crate) fn end_replay(&self, key: (i64, Resolution), clock: i64) {
        self.live.with_series(key, |s| {
            s.advance(clock);
            s.replaying = false;
        });
    }

    /// Follow the store's change log forever: every `interval`, bars written by anyone (this
    /// or another process: imports, backfills) to a followed series are published; in a
    /// real-time series (newest bar less than a day old) a bucket whose end passed more than
    /// two base bars ago by the wall clock is closed.
    pub async fn follow_live(self, interval: Duration) {
        let mut seq = match self.store.change_seq().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "live: cannot read the change log; live bars only from this process");
                return;
            }
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.follow_once(seq).await {
                Ok(next) => seq = next,
                Err(e) => tracing::warn!(error = %e, "live: following the change log failed"),
            }
        }
    }

    /// One look at the change log after `seq`; returns the new position.
    async fn follow_once(&self, mut seq: i64) -> Result<i64, ServiceError> {
        let latest = self.store.change_seq().await?;
        let followed = self.live.followed();
        while seq < latest {
            let records = self.store.changes_since(seq).await?;
            let Some(last) = records.last() else { break };
            seq = last.seq;
            for r in records.iter().filter(|r| r.kind == ChangeKind::Bars) {
                for (key, cursor) in followed.iter().filter(|(k, _)| k.0 == r.instrument_id) {
                    let start = r.first_ts.max(cursor.saturating_add(1));
                    let Ok(range) = TimeRange::new(start, r.end_ts) else {
                        continue;
                    };
                    let bars = self
                        .store
                        .read_bars(BarQuery {
                            instrument_id: key.0,
                            resolution: key.1,
                            range,
                            last: None,
                            max_rows: FOLLOW_MAX_ROWS,
                        })
                        .await?;
                    self.live.with_series(*key, |s| {
                        if !s.replaying {
                            s.push(&bars, None)
                        }
                    });
                }
            }
        }
        // Real-time series (newest bar within a day) close buckets by the wall clock too;
        // buckets of older data close only when a later bar arrives.
        let now = crate::now();
        for (key, _) in &followed {
            let grace = 2 * key.1.seconds();
            self.live.with_series(*key, |s| {
                if !s.replaying && s.cursor >= now - 86_400 {
                    s.advance(now - grace)
                }
            });
        }
        Ok(seq)
    }
}
