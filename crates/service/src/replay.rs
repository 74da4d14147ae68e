//! The replay feed: stored base bars played back as a live market, for demos and for testing
//! live consumers. Bars of every replayed symbol are merged in time order and published to the
//! live hub (`market_data` subscribers get them, `bars` subscribers get incremental bars); the
//! store is only read.
//!
//! Pacing: the feed's clock advances by the time between consecutive bars, except that a
//! longer pause (a night, a weekend) counts as one bar interval; `speed` divides it (60 plays
//! one minute bar per second). After each bar the clock stands at the bar's end, so a bucket
//! closes as soon as its last base bar is played and the final bars equal a batch fetch.

use std::time::{Duration, Instant};

use tradeassist_model::{Bar, Instrument, Resolution, TimeRange};
use tradeassist_store::BarQuery;

use crate::{Service, ServiceError};

/// Stored time read per step (one day of every replayed series).
const STEP_SECS: i64 = 86_400;
/// Bars one series may hold in a day (a full day of minutes).
const STEP_MAX_ROWS: usize = 1_441;

/// What to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySpec {
    pub symbols: Vec<String>,
    /// Feed seconds per wall-clock second (`f64::INFINITY`: as fast as possible).
    pub speed: f64,
    /// First instant replayed (default: the first stored bar).
    pub from: Option<i64>,
}

/// Parse a replay speed: `60x`, `60` or `max`.
pub fn parse_speed(s: &str) -> Result<f64, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(f64::INFINITY);
    }
    let n = s.strip_suffix(['x', 'X']).unwrap_or(s);
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "invalid speed `{s}`: a positive factor such as 60x, or max"
        )),
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Base bars published.
    pub bars: u64,
    /// The feed's clock at the end.
    pub clock: i64,
}

struct Played {
    instrument: Instrument,
    base: Resolution,
    last_ts: i64,
}

impl Service {
    /// Check a replay before it starts: every symbol is known and has stored bars. Returns the
    /// series and the first instant to play.
    async fn replay_series(&self, spec: &ReplaySpec) -> Result<(Vec<Played>, i64), ServiceError> {
        if spec.symbols.is_empty() {
            return Err(ServiceError::invalid("replay", "name at least one symbol"));
        }
        if spec.speed.is_nan() || spec.speed <= 0.0 {
            return Err(ServiceError::invalid("speed", "the speed must be positive"));
        }
        let mut played = Vec::new();
        let mut first = i64::MAX;
        for symbol in &spec.symbols {
            let (instrument, _) = self.instrument_with_calendar(symbol).await?;
            let stored = self.store.series(instrument.id).await?;
            let base = crate::live::live_base(&instrument, &stored)?;
            let Some(info) = stored.iter().find(|s| s.resolution == base) else {
                continue;
            };
            first = first.min(info.first_ts);
            played.push(Played {
                instrument,
                base,
                last_ts: info.last_ts,
            });
        }
        Ok((played, spec.from.unwrap_or(first)))
    }

    /// A replay of stored bars as live ones until the newest stored bar (see the module doc),
    /// ready to [`Replay::run`]. Refuses unknown symbols and symbols without bars.
    pub async fn replay(&self, spec: ReplaySpec) -> Result<Replay, ServiceError> {
        let (played, from) = self.replay_series(&spec).await?;
        Ok(Replay {
            service: self.clone(),
            spec,
            played,
            from,
        })
    }
}

/// A checked replay ([`Service::replay`]).
pub struct Replay {
    service: Service,
    spec: ReplaySpec,
    played: Vec<Played>,
    from: i64,
}

impl Replay {
    /// Play it to the end.
    pub async fn run(self) -> Result<ReplayReport, ServiceError> {
        let Replay {
            service,
            spec,
            played,
            from,
        } = self;
        service.play(spec, played, from).await
    }
}

impl Service {
    async fn play(
        &self,
        spec: ReplaySpec,
        played: Vec<Played>,
        from: i64,
    ) -> Result<ReplayReport, ServiceError> {
        let end = played.iter().map(|p| p.last_ts).max().unwrap_or(from);
        for p in &played {
            let first_day = self.replay_read(p, from).await?;
            let source = tradeassist_engine::vwap_source(&first_day);
            self.start_replay(&p.instrument, p.base, from, source);
        }
        let started = Instant::now();
        let mut feed_elapsed = 0.0f64;
        let mut prev: Option<i64> = None;
        let mut bars = 0u64;
        let mut clock = from;
        let mut day = from;
        while day <= end {
            // One day of every series, merged by time.
            let mut step: Vec<(i64, usize, Bar)> = Vec::new();
            for (i, p) in played.iter().enumerate() {
                for bar in self.replay_read(p, day).await? {
                    step.push((bar.ts(), i, bar));
                }
            }
            step.sort_by_key(|(ts, i, _)| (*ts, *i));
            for (ts, i, bar) in step {
                let p = &played[i];
                let interval = p.base.seconds();
                if let Some(prev) = prev {
                    feed_elapsed += (ts - prev).clamp(0, interval) as f64;
                }
                prev = Some(ts);
                if spec.speed.is_finite() {
                    let due = started + Duration::from_secs_f64(feed_elapsed / spec.speed);
                    if due > Instant::now() + Duration::from_millis(2) {
                        tokio::time::sleep_until(due.into()).await;
                    }
                }
                clock = ts + interval;
                self.replay_bars((p.instrument.id, p.base), &[bar], clock);
                bars += 1;
            }
            if !spec.speed.is_finite() {
                tokio::task::yield_now().await;
            }
            day = day.saturating_add(STEP_SECS);
        }
        for p in &played {
            self.end_replay((p.instrument.id, p.base), clock);
        }
        Ok(ReplayReport { bars, clock })
    }

    /// One day of a replayed series from `start`.
    async fn replay_read(&self, p: &Played, start: i64) -> Result<Vec<Bar>, ServiceError> {
        let range = TimeRange::new(start, start.saturating_add(STEP_SECS))
            .map_err(|e| ServiceError::Internal(format!("replay: {e}")))?;
        let max_rows = match p.base {
            Resolution::Minute => STEP_MAX_ROWS,
            Resolution::Day => 2,
        };
        Ok(self
            .store
            .read_bars(BarQuery {
                instrument_id: p.instrument.id,
                resolution: p.base,
                range,
                last: None,
                max_rows,
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_speed;

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("60x"), Ok(60.0));
        assert_eq!(parse_speed("2.5"), Ok(2.5));
        assert!(parse_speed("max").unwrap().is_infinite());
        for bad in ["0x", "-1", "fast", "", "NaNx", "infx"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }
}
