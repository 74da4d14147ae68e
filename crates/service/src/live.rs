//! Live bar updates: subscribers name a symbol and a bar spec; when new base bars of that
//! symbol arrive (ingest, later a live feed), each subscription's incremental aggregator turns
//! them into updated (partial) and closed (final) bars, pushed on a bounded queue. A subscriber
//! that does not keep up loses updates (counted), it never stalls ingest.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tradeassist_engine::{AggSpec, Aggregator, IncrementalAggregator, Update, VwapSource};
use tradeassist_model::{Bar, Resolution};

use crate::{Service, ServiceError};

/// Updates queued per subscriber before new ones are dropped.
const QUEUE: usize = 1_024;

/// A bar update for one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUpdate {
    pub symbol: String,
    pub update: Update,
}

/// The receiving end of a subscription; dropping it ends the subscription.
pub struct Subscription {
    pub updates: mpsc::Receiver<LiveUpdate>,
    dropped: Arc<Mutex<u64>>,
}

impl Subscription {
    /// Updates dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        *self.dropped.lock().expect("counter")
    }
}

struct Sub {
    symbol: String,
    base: Resolution,
    aggregator: IncrementalAggregator<'static>,
    tx: mpsc::Sender<LiveUpdate>,
    dropped: Arc<Mutex<u64>>,
}

/// All live subscriptions of a service.
#[derive(Default)]
pub(crate) struct LiveHub {
    subs: Mutex<Vec<Sub>>,
}

impl LiveHub {
    /// True when some open subscription follows `symbol` at `base`.
    pub(crate) fn wants(&self, symbol: &str, base: Resolution) -> bool {
        self.subs
            .lock()
            .expect("subs")
            .iter()
            .any(|s| !s.tx.is_closed() && s.symbol == symbol && s.base == base)
    }

    /// Feed newly stored base bars of `symbol` (ascending) to every matching subscription.
    pub(crate) fn publish(&self, symbol: &str, base: Resolution, bars: &[Bar]) {
        let mut subs = self.subs.lock().expect("subs");
        subs.retain(|s| !s.tx.is_closed());
        for sub in subs
            .iter_mut()
            .filter(|s| s.symbol == symbol && s.base == base)
        {
            for bar in bars {
                // Bars at or before the last one seen (backfill) do not move a live bar.
                let Ok(updates) = sub.aggregator.push(bar) else {
                    continue;
                };
                for update in updates {
                    let msg = LiveUpdate {
                        symbol: sub.symbol.clone(),
                        update,
                    };
                    if sub.tx.try_send(msg).is_err() {
                        *sub.dropped.lock().expect("counter") += 1;
                    }
                }
            }
        }
    }
}

impl Service {
    /// Subscribe to live `spec` bars of `symbol` derived from its `base` series.
    pub async fn subscribe(
        &self,
        symbol: &str,
        base: Resolution,
        spec: AggSpec,
    ) -> Result<Subscription, ServiceError> {
        let (instrument, calendar) = self.instrument_with_calendar(symbol).await?;
        let aggregator = Aggregator::new(calendar, base, spec)
            .map_err(|e| ServiceError::UnsupportedFrequency(e.to_string()))?;
        let (tx, updates) = mpsc::channel(QUEUE);
        let dropped = Arc::new(Mutex::new(0));
        self.live.subs.lock().expect("subs").push(Sub {
            symbol: instrument.symbol.clone(),
            base,
            aggregator: IncrementalAggregator::new(aggregator, VwapSource::TypicalPrice),
            tx,
            dropped: dropped.clone(),
        });
        Ok(Subscription { updates, dropped })
    }
}
