//! Continuous futures (`ES.c.0`, `ES.v.0`, `ES.n.1`): gather the contracts of a root, stitch
//! them at trading-session boundaries with the engine's roll rules and adjustments, then derive
//! the requested frequency from the stitched base bars.

use std::sync::Arc;

use chrono::NaiveDate;
use tradeassist_engine::{
    Adjust, Adjustment, AggBar, BarSpec, Calendar, ContinuousBuilder, ContinuousSpec,
    ContinuousSymbol, ContinuousWarning, ContractData, DailyStat, ExpiryRules, RollDetail,
    RollEvent, VwapSource, daily_stats,
};
use tradeassist_model::{Bar, Instrument, Resolution, TimeRange};
use tradeassist_store::{BarQuery, RollHistory, RollHistoryKey, SeriesInfo, StoredRoll};

use crate::derive::derive_bars;
use crate::error::continuous_error;
use crate::plan::{LOOKBACK_DAYS, Plan, SeriesPlan, SeriesTarget};
use crate::result::{ContinuousInfo, Roll, SeriesResult};
use crate::{Query, Service, ServiceError};

/// Daily volume / open interest of a contract from its daily bars and open-interest-only readings.
fn daily_from(cal: &Calendar, day_bars: &[Bar], readings: &[(i64, f64)]) -> Vec<DailyStat> {
    let mut stats = daily_stats(cal, Resolution::Day, day_bars);
    for (ts, value) in readings {
        let date = cal.next_trading_day(tradeassist_model::time::utc_date(*ts));
        match stats.iter_mut().find(|s| s.date == date) {
            Some(s) => s.open_interest = s.open_interest.or(Some(*value)),
            None => stats.push(DailyStat {
                date,
                volume: 0.0,
                open_interest: Some(*value),
            }),
        }
    }
    stats.sort_by_key(|s| s.date);
    stats
}

impl Service {
    /// Base bars and daily volume / open interest of every contract over `read`; contracts
    /// without data there are left out. Also returns the number of base bars read.
    async fn contract_data(
        &self,
        contracts: &[Instrument],
        calendar: &Calendar,
        base: Resolution,
        read: TimeRange,
        budget: usize,
    ) -> Result<(Vec<ContractData>, usize), ServiceError> {
        let mut data = Vec::with_capacity(contracts.len());
        let mut read_bars = 0usize;
        for c in contracts {
            let contract = c.contract.clone().expect("futures carry contracts");
            let query = BarQuery {
                instrument_id: c.id,
                resolution: base,
                range: read,
                last: None,
                max_rows: 0,
            };
            // The budget holds for all contracts of the series together.
            let bars = self.read_base(query, budget - read_bars).await?;
            read_bars += bars.len();
            let day_bars = match base {
                Resolution::Day => bars.clone(),
                Resolution::Minute => {
                    self.store
                        .read_bars(BarQuery {
                            resolution: Resolution::Day,
                            max_rows: self.limits.max_base_bars.saturating_add(1),
                            ..query
                        })
                        .await?
                }
            };
            let readings: Vec<(i64, f64)> = self
                .store
                .read_open_interest(c.id, read)
                .await?
                .into_iter()
                .map(|r| (r.ts, r.value))
                .collect();
            let daily = if day_bars.is_empty() && readings.is_empty() {
                daily_stats(calendar, base, &bars)
            } else {
                daily_from(calendar, &day_bars, &readings)
            };
            if bars.is_empty() && daily.is_empty() {
                continue;
            }
            data.push(ContractData::new(contract, bars).with_daily(daily));
        }
        Ok((data, read_bars))
    }

    /// The bars of a continuous series, reading at most `budget` stored base bars.
    pub(crate) async fn fetch_continuous(
        &self,
        plan: &Plan,
        sp: &SeriesPlan,
        budget: usize,
    ) -> Result<SeriesResult, ServiceError> {
        let SeriesTarget::Continuous {
            symbol,
            contracts,
            spec,
        } = &sp.target
        else {
            unreachable!("fetch_continuous serves continuous symbols");
        };
        let req = &plan.query;
        let first = contracts.first().expect("plans carry contracts");
        let (calendar, base, session, window) = (sp.calendar, sp.base, sp.session, sp.window);
        let read = TimeRange::new(
            window.range.start().saturating_sub(LOOKBACK_DAYS * 86_400),
            window.range.end(),
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let (data, read_bars) = self
            .contract_data(contracts, calendar, base, read, budget)
            .await?;
        let series = ContinuousBuilder::new(calendar, base)
            .map_err(continuous_error)?
            .with_rules(ExpiryRules::builtin().map_err(|e| ServiceError::Internal(e.to_string()))?)
            .build(&data, spec)
            .map_err(continuous_error)?;
        // Derive per segment when unadjusted, so no bucket mixes two contracts' raw prices.
        // Daily windows are in date keys; bars of a day or longer carry their trading date.
        let first_day = tradeassist_model::time::utc_date(window.range.start());
        let in_window = |b: &AggBar| match (base, b.date) {
            (Resolution::Day, Some(d)) => d >= first_day,
            _ => b.start >= window.range.start(),
        };
        let mut bars = Vec::new();
        let mut bar_contracts = Vec::new();
        let mut vwap_source = VwapSource::TypicalPrice;
        let groups: Vec<(Arc<str>, Vec<Bar>)> = if spec.adjust == Adjust::None {
            let mut groups: Vec<(Arc<str>, Vec<Bar>)> = Vec::new();
            for cb in &series.bars {
                match groups.last_mut() {
                    Some((c, g)) if *c == cb.contract => g.push(cb.bar),
                    _ => groups.push((cb.contract.clone(), vec![cb.bar])),
                }
            }
            groups
        } else {
            let last = series
                .bars
                .last()
                .map(|b| b.contract.clone())
                .unwrap_or_else(|| Arc::from(""));
            vec![(last, series.bars.iter().map(|b| b.bar).collect())]
        };
        let no_last = tradeassist_model::SeriesWindow {
            last_bars: None,
            ..window
        };
        for (contract, base_bars) in &groups {
            let (derived, source) = derive_bars(
                req, plan.now, calendar, base, session, &no_last, base_bars, None,
            )?;
            vwap_source = source;
            for b in derived.into_iter().filter(in_window) {
                // The contract of the bucket's last base bar.
                let tag = if spec.adjust == Adjust::None {
                    contract.clone()
                } else {
                    let k = series.bars.partition_point(|cb| cb.bar.ts() < b.end);
                    series.bars[k.saturating_sub(1)].contract.clone()
                };
                bars.push(b);
                bar_contracts.push(tag);
            }
        }
        if let Some(n) = window.last_bars {
            let skip = bars.len().saturating_sub(n as usize);
            bars.drain(..skip);
            bar_contracts.drain(..skip);
        }
        let start_day = calendar.local_date(window.range.start());
        // A roll takes effect at the open of its trading day's session.
        let rolls = series
            .rolls
            .iter()
            .zip(&series.roll_details)
            .filter(|(r, _)| r.date >= start_day && r.ts < window.range.end())
            .map(|(r, detail)| Roll {
                event: RollEvent {
                    ts: calendar.session(r.date, session).map_or(r.ts, |s| s.open()),
                    ..r.clone()
                },
                detail: detail.clone(),
            })
            .collect();
        let warnings = series.warnings.iter().map(ToString::to_string).collect();
        let mut instrument = first.clone();
        instrument.id = -1;
        instrument.def.symbol = symbol.to_string();
        instrument.def.description = format!(
            "{} continuous ({})",
            first.description.split(' ').next().unwrap_or(""),
            spec.rule.as_str()
        );
        instrument.def.contract = None;
        Ok(SeriesResult {
            instrument,
            bars_spec: req.bars,
            base,
            session,
            window,
            vwap_source,
            bars,
            base_bars: read_bars,
            continuous: Some(ContinuousInfo {
                symbol: symbol.clone(),
                spec: spec.clone(),
                bar_contracts,
                rolls,
                warnings,
            }),
        })
    }
}

/// A stored contract of a root with its resolved dates and stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractInfo {
    pub instrument: Instrument,
    /// Last trade / first notice dates: explicit ones from the data win, else the expiry rules.
    pub dates: Option<tradeassist_engine::ContractDates>,
    pub series: Vec<tradeassist_store::SeriesInfo>,
}

impl Service {
    /// The stored contracts of a futures root with their dates; `UnknownSymbols` when none.
    pub async fn futures_contracts(&self, root: &str) -> Result<Vec<ContractInfo>, ServiceError> {
        let contracts = self.contracts_of(root).await?;
        if contracts.is_empty() {
            return Err(ServiceError::UnknownSymbols(vec![
                root.to_ascii_uppercase(),
            ]));
        }
        let rules = ExpiryRules::builtin().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut out = Vec::with_capacity(contracts.len());
        for instrument in contracts {
            let dates = instrument
                .contract
                .as_ref()
                .and_then(|c| rules.resolve(c).ok());
            let series = self.store.series(instrument.id).await?;
            out.push(ContractInfo {
                instrument,
                dates,
                series,
            });
        }
        Ok(out)
    }

    /// The roll table of a continuous symbol over a range (decided on daily bars when stored).
    ///
    /// Roll events are kept in the store's roll history per spec (root, rule incl. fixed
    /// dates, offset, anchor, rank, roll price, adjustment, base resolution), computed over
    /// all stored data of the root's contracts. They are served from there while the
    /// fingerprint of those inputs (per contract: dates and the extent and size of the series
    /// used, its open-interest readings) is unchanged, else recomputed and stored again.
    /// `from_history` says which happened. Cumulative adjustments are relative to the window,
    /// as in a fetch.
    pub async fn rolls(&self, query: &Query, now: i64) -> Result<RollsResult, ServiceError> {
        let [symbol] = query.symbols.as_slice() else {
            return Err(ServiceError::invalid(
                "symbols",
                "give one continuous symbol such as ES.v.0",
            ));
        };
        if crate::resolve::parse_continuous(symbol).is_none() {
            return Err(ServiceError::invalid(
                "symbols",
                format!("`{symbol}` is not a continuous symbol such as ES.v.0"),
            ));
        }
        // Rolls are decided on trading days: plan the series as daily bars.
        let query = Query {
            bars: BarSpec::Time("1d".parse().expect("valid")),
            ..query.clone()
        };
        let plan = self.plan(&query, now).await?;
        let sp = &plan.series[0];
        let SeriesTarget::Continuous {
            symbol: continuous,
            contracts,
            spec,
        } = &sp.target
        else {
            unreachable!("a continuous symbol plans as one");
        };
        let (calendar, base, session, window) = (sp.calendar, sp.base, sp.session, sp.window);
        let mut stored = Vec::with_capacity(contracts.len());
        for c in contracts {
            stored.push(self.store.series(c.id).await?);
        }
        let read_start = window.range.start().saturating_sub(LOOKBACK_DAYS * 86_400);
        // Contracts with data around the window: a rank beyond them (or no data at all) is
        // decided on the window alone, exactly as a fetch decides it.
        let around = stored
            .iter()
            .filter(|series| {
                series.iter().any(|s| {
                    s.resolution == base
                        && s.first_ts < window.range.end()
                        && s.last_ts >= read_start
                })
            })
            .count();
        let key = history_key(&continuous.root, spec, base);
        let fingerprint = self.fingerprint(contracts, &stored, base).await?;
        let history = match spec.rank < around {
            true => self.store.roll_history(&key, &fingerprint).await?,
            false => None,
        };
        let (history, from_history) = match history {
            Some(h) => (h, true),
            None if spec.rank >= around => {
                return self.window_rolls(&plan).await;
            }
            None => match self
                .compute_history(contracts, &stored, calendar, base, spec, &fingerprint)
                .await
            {
                Ok(Some(h)) => {
                    if let Err(e) = self.store.write_roll_history(&key, h.clone()).await {
                        tracing::warn!(error = %e, "storing the roll history failed");
                    }
                    (h, false)
                }
                // Too much data for one pass, or the whole history cannot be built (e.g. a
                // ratio adjustment over negative prices outside the window): decide on the
                // window alone, as a fetch does, and store nothing.
                Ok(None) | Err(_) => return self.window_rolls(&plan).await,
            },
        };
        let rolls = history
            .events
            .iter()
            .map(roll_of)
            .collect::<Result<Vec<_>, _>>()?;
        // The rolls a fetch of the window sees: from the lookback before the window to its end.
        let (mut seen, details): (Vec<RollEvent>, Vec<RollDetail>) = rolls
            .into_iter()
            .filter(|r| r.event.ts >= read_start && r.event.ts < window.range.end())
            .map(|r| (r.event, r.detail))
            .unzip();
        tradeassist_engine::apply_cumulative(spec.adjust, &mut seen);
        let start_day = calendar.local_date(window.range.start());
        let end_day = tradeassist_model::time::utc_date(window.range.end() - 1);
        let rolls = seen
            .into_iter()
            .zip(details)
            .filter(|(r, _)| r.date >= start_day)
            .map(|(r, detail)| Roll {
                event: RollEvent {
                    ts: calendar.session(r.date, session).map_or(r.ts, |s| s.open()),
                    ..r
                },
                detail,
            })
            .collect();
        let warnings = history
            .warnings
            .iter()
            .filter_map(|w| {
                let (date, text) = w.split_once('\t')?;
                let date = date.parse::<NaiveDate>().ok()?;
                let warning = ContinuousWarning::decode(text).ok()?;
                (date >= start_day && date <= end_day).then(|| warning.to_string())
            })
            .collect();
        Ok(RollsResult {
            symbol: continuous.clone(),
            rolls,
            warnings,
            from_history,
        })
    }

    /// The roll table as a fetch of the window computes it (nothing stored).
    async fn window_rolls(&self, plan: &Plan) -> Result<RollsResult, ServiceError> {
        let result = self
            .fetch_continuous(plan, &plan.series[0], self.limits.max_base_bars)
            .await?;
        let info = result
            .continuous
            .expect("continuous results carry their rolls");
        Ok(RollsResult {
            symbol: info.symbol,
            rolls: info.rolls,
            warnings: info.warnings,
            from_history: false,
        })
    }

    /// Digest of everything the roll events of a root depend on besides the spec.
    async fn fingerprint(
        &self,
        contracts: &[Instrument],
        stored: &[Vec<SeriesInfo>],
        base: Resolution,
    ) -> Result<String, ServiceError> {
        let mut text = format!("v2 {}\n", env!("CARGO_PKG_VERSION"));
        for (c, series) in contracts.iter().zip(stored) {
            let k = c.contract.as_ref().expect("futures carry contracts");
            text.push_str(&format!(
                "{} {:?} {:?}",
                c.symbol, k.last_trade_date, k.first_notice_date
            ));
            for s in series
                .iter()
                .filter(|s| s.resolution == base || s.resolution == Resolution::Day)
            {
                text.push_str(&format!(
                    " {}:{}:{}:{}",
                    s.resolution.seconds(),
                    s.count,
                    s.first_ts,
                    s.last_ts
                ));
            }
            let readings = self.store.read_open_interest(c.id, everything()).await?;
            let mut h = Fnv::default();
            for r in &readings {
                h.write(&r.ts.to_le_bytes());
                h.write(&r.value.to_bits().to_le_bytes());
            }
            text.push_str(&format!(" oi:{}:{:016x}\n", readings.len(), h.0));
        }
        let mut h = Fnv::default();
        h.write(text.as_bytes());
        Ok(format!("{}-{:016x}", contracts.len(), h.0))
    }

    /// The roll events of `spec` over all stored data of the contracts; `None` when that is
    /// more than one request may read.
    async fn compute_history(
        &self,
        contracts: &[Instrument],
        stored: &[Vec<SeriesInfo>],
        calendar: &Calendar,
        base: Resolution,
        spec: &ContinuousSpec,
        fingerprint: &str,
    ) -> Result<Option<RollHistory>, ServiceError> {
        let used: Vec<&SeriesInfo> = stored
            .iter()
            .flatten()
            .filter(|s| s.resolution == base)
            .collect();
        let total: u64 = used.iter().map(|s| s.count).sum();
        let (Some(first), Some(last)) = (
            used.iter().map(|s| s.first_ts).min(),
            used.iter().map(|s| s.last_ts).max(),
        ) else {
            return Ok(None);
        };
        if total > self.limits.max_base_bars as u64 {
            return Ok(None);
        }
        let read =
            TimeRange::new(first, last + 1).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let (data, _) = self
            .contract_data(contracts, calendar, base, read, self.limits.max_base_bars)
            .await?;
        let rules = ExpiryRules::builtin().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let series = ContinuousBuilder::new(calendar, base)
            .map_err(continuous_error)?
            .with_rules(rules)
            .build(&data, spec)
            .map_err(continuous_error)?;
        let warnings = series
            .warnings
            .iter()
            .map(|w| {
                let date = match w {
                    ContinuousWarning::NonPositiveAdjusted { first_ts, .. } => {
                        calendar.local_date(*first_ts)
                    }
                    ContinuousWarning::RollPriceFallback { date, .. }
                    | ContinuousWarning::RankExhausted { date } => *date,
                };
                format!("{date}\t{}", w.encode())
            })
            .collect();
        Ok(Some(RollHistory {
            fingerprint: fingerprint.to_string(),
            computed_at: crate::now(),
            events: series
                .rolls
                .iter()
                .zip(&series.roll_details)
                .map(|(r, d)| stored_roll(r, d))
                .collect(),
            warnings,
        }))
    }
}

/// The result of [`Service::rolls`].
#[derive(Debug, Clone, PartialEq)]
pub struct RollsResult {
    pub symbol: ContinuousSymbol,
    /// Rolls that take effect inside the window.
    pub rolls: Vec<Roll>,
    pub warnings: Vec<String>,
    /// True when the events came from the stored roll history (inputs unchanged since they
    /// were computed), false when they were computed for this call.
    pub from_history: bool,
}

fn everything() -> TimeRange {
    TimeRange::new(i64::from(i32::MIN), 1 << 40).expect("ordered")
}

/// 64-bit FNV-1a: a digest that stays the same across builds and platforms.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The roll-history key of a spec.
fn history_key(root: &str, spec: &ContinuousSpec, base: Resolution) -> RollHistoryKey {
    RollHistoryKey {
        root: root.to_ascii_uppercase(),
        rule: spec.rule.clone(),
        roll_offset: spec.roll_offset,
        anchor: spec.anchor,
        rank: u32::try_from(spec.rank).unwrap_or(u32::MAX),
        roll_price: spec.roll_price,
        adjust: spec.adjust,
        cycle: spec.cycle,
        grace_sessions: spec.grace_sessions,
        skip_to_most_active: spec.skip_to_most_active,
        base,
    }
}

fn stored_roll(r: &RollEvent, detail: &RollDetail) -> StoredRoll {
    StoredRoll {
        date: r.date,
        ts: r.ts,
        from: r.from.to_string(),
        to: r.to.to_string(),
        from_price: r.from_price,
        to_price: r.to_price,
        trigger: detail.encode(),
    }
}

fn roll_of(r: &StoredRoll) -> Result<Roll, ServiceError> {
    let detail = RollDetail::decode(&r.trigger).map_err(|e| {
        ServiceError::Internal(format!(
            "stored roll {} {} -> {} is unreadable: {e}",
            r.date, r.from, r.to
        ))
    })?;
    Ok(Roll {
        event: RollEvent {
            date: r.date,
            ts: r.ts,
            from: Arc::from(r.from.as_str()),
            to: Arc::from(r.to.as_str()),
            from_price: r.from_price,
            to_price: r.to_price,
            difference: r.to_price - r.from_price,
            ratio: (r.from_price > 0.0 && r.to_price > 0.0).then(|| r.to_price / r.from_price),
            cumulative: Adjustment::None,
            trigger: detail.trigger.clone(),
        },
        detail,
    })
}
