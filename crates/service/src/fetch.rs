//! Running a plan: read each series' stored base bars (or its rollups) and derive the
//! requested bars with the engine. Continuous futures are stitched in `continuous`.

use tradeassist_engine::{BarSpec, FillMethod};
use tradeassist_model::Instrument;
use tradeassist_store::BarQuery;

use crate::derive::{base_per_output, derive_bars, fill_range};
use crate::plan::{Plan, SeriesPlan, SeriesTarget};
use crate::result::{FetchResult, SeriesResult};
use crate::{Query, Service, ServiceError};

impl Service {
    /// Plan and run a query at `now`.
    pub async fn fetch(&self, query: &Query, now: i64) -> Result<FetchResult, ServiceError> {
        let plan = self.plan(query, now).await?;
        self.execute(&plan).await
    }

    /// Read and derive the bars of every series of a plan. The whole request reads at most
    /// `max_base_bars` stored bars and returns at most `max_bars_per_response` bars.
    pub async fn execute(&self, plan: &Plan) -> Result<FetchResult, ServiceError> {
        let mut series = Vec::with_capacity(plan.series.len());
        let mut total = 0usize;
        let mut budget = self.limits.max_base_bars;
        for sp in &plan.series {
            let result = match &sp.target {
                SeriesTarget::Instrument { instrument, .. } => {
                    self.fetch_one(plan, sp, instrument, budget).await?
                }
                SeriesTarget::Continuous { .. } => self.fetch_continuous(plan, sp, budget).await?,
            };
            budget = budget.saturating_sub(result.base_bars);
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

    pub(crate) async fn fetch_one(
        &self,
        plan: &Plan,
        sp: &SeriesPlan,
        instrument: &Instrument,
        budget: usize,
    ) -> Result<SeriesResult, ServiceError> {
        let query = &plan.query;
        let SeriesTarget::Instrument { adjust, .. } = sp.target else {
            unreachable!("fetch_one serves plain instruments");
        };
        let (calendar, base, session, window) = (sp.calendar, sp.base, sp.session, sp.window);
        let result = |bars, vwap_source, base_bars| SeriesResult {
            instrument: instrument.clone(),
            bars_spec: query.bars,
            base,
            session,
            window,
            vwap_source,
            bars,
            base_bars,
            continuous: None,
        };
        // Equity corporate actions (`adjust=split|all`) change the base bars: no raw rollups then.
        let adjuster = self.equity_adjuster(instrument, adjust).await?;
        if adjust == tradeassist_engine::PriceAdjustment::None
            && let Some((bars, vwap_source, base_bars)) = crate::rollup::read(
                self, query, plan.now, instrument, base, calendar, session, &window,
            )
            .await?
        {
            return Ok(result(bars, vwap_source, base_bars));
        }
        // `last_N_bars` counts output bars: read enough base bars for N of them (+1 partial),
        // and more when base bars outside the session (pre-market, say) left fewer than N.
        let mut factor = 1u64;
        loop {
            let last = window.last_bars.map(|n| {
                let per = base_per_output(query.bars, base);
                (u64::from(n) + 1)
                    .saturating_mul(per)
                    .saturating_mul(factor)
                    .min(u64::from(u32::MAX)) as u32
            });
            let read = BarQuery {
                instrument_id: instrument.id,
                resolution: base,
                range: window.range,
                last,
                max_rows: 0,
            };
            let base_bars = self.read_base(read, budget).await?;
            let derived = self
                .derive_read(plan, sp, instrument, &adjuster, base_bars)
                .await?;
            let (bars, _, read_rows) = &derived;
            let short = match (window.last_bars, last) {
                (Some(n), Some(l)) => bars.len() < n as usize && *read_rows == l as usize,
                _ => false,
            };
            if !short || factor >= 64 || *read_rows >= budget {
                let (bars, vwap_source, read_rows) = derived;
                return Ok(result(bars, vwap_source, read_rows));
            }
            factor *= 4;
        }
    }

    /// Derive the query's bars of one plain series from the base bars read for it.
    async fn derive_read(
        &self,
        plan: &Plan,
        sp: &SeriesPlan,
        instrument: &Instrument,
        adjuster: &crate::corporate::EquityAdjuster,
        base_bars: Vec<tradeassist_model::Bar>,
    ) -> Result<
        (
            Vec<tradeassist_engine::AggBar>,
            tradeassist_engine::VwapSource,
            usize,
        ),
        ServiceError,
    > {
        let query = &plan.query;
        let (calendar, base, session, window) = (sp.calendar, sp.base, sp.session, sp.window);
        // Time bars without filling are at most one per base bar and per bucket: refuse before
        // deriving when even that bound exceeds the response limit.
        if query.options.fill == FillMethod::None && window.last_bars.is_none() {
            let bound = (base_bars.len() as u64).min(crate::derive::expected_buckets(
                query,
                calendar,
                base,
                session,
                window.range,
            ));
            if matches!(query.bars, BarSpec::Time(_)) && bound > plan.max_output as u64 {
                return Err(ServiceError::TooLarge(format!(
                    "the result would hold about {bound} bars, more than the {} one response may carry; narrow the range, pick a longer frequency or use export",
                    plan.max_output
                )));
            }
        }
        let seed = match query.options.fill {
            FillMethod::None => None,
            _ => {
                let range = fill_range(window.range, &base_bars, window.last_bars.is_some());
                self.store
                    .bar_before(instrument.id, base, range.start())
                    .await?
            }
        };
        let read_rows = base_bars.len();
        let base_bars = adjuster.apply(calendar, base, base_bars)?;
        let seed = match seed {
            Some(b) => adjuster.apply(calendar, base, vec![b])?.pop(),
            None => None,
        };
        let (bars, vwap_source) = derive_bars(
            query,
            plan.now,
            calendar,
            base,
            session,
            &window,
            &base_bars,
            seed.as_ref(),
        )?;
        Ok((bars, vwap_source, read_rows))
    }
}
