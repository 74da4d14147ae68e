//! Gap detection of a stored base series against the instrument's trading calendar.

use tradeassist_engine::{GapReport, SessionFilter, detect_gaps_bounded};
use tradeassist_model::{Instrument, RangeSpec, Resolution, SeriesWindow, TimeRange};
use tradeassist_store::BarQuery;

use crate::derive::{default_session, trading_day_window};
use crate::resolve::calendar_of;
use crate::{Service, ServiceError};

/// Most gap spans one report lists; the counts always cover the whole range.
pub const MAX_GAPS_LISTED: usize = 10_000;

/// A gap-detection request.
#[derive(Debug, Clone, PartialEq)]
pub struct GapQuery {
    pub symbol: String,
    /// The stored base series to check.
    pub base: Resolution,
    pub range: RangeSpec,
    /// `None`: the asset class's default session.
    pub session: Option<SessionFilter>,
}

/// Gaps of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct GapResult {
    pub instrument: Instrument,
    pub base: Resolution,
    pub session: SessionFilter,
    pub window: SeriesWindow,
    /// Counts over the whole window; `gaps` holds the first [`MAX_GAPS_LISTED`] spans
    /// (`report.truncated` says some were left out, `report.total_gaps` counts them all).
    pub report: GapReport,
}

impl Service {
    /// Spans of the range where the calendar expects base bars of the symbol and none are
    /// stored.
    pub async fn gaps(&self, query: &GapQuery, now: i64) -> Result<GapResult, ServiceError> {
        let instrument = self.resolve_instrument(&query.symbol).await?;
        let calendar = calendar_of(&instrument)?;
        let session = query
            .session
            .unwrap_or_else(|| default_session(&instrument));
        let window = trading_day_window(
            &query.range,
            calendar,
            session,
            query.base,
            instrument.timezone,
            now,
        )?;
        if window.last_bars.is_some() {
            return Err(ServiceError::invalid(
                "preset",
                "gap detection needs a time range, not last_N_bars",
            ));
        }
        let report = self
            .gap_report(
                &instrument,
                query.base,
                session,
                window.range,
                MAX_GAPS_LISTED,
            )
            .await?;
        Ok(GapResult {
            instrument,
            base: query.base,
            session,
            window,
            report,
        })
    }

    /// Gaps of the stored `base` series of `instrument` over `range` against its calendar
    /// and `session`, listing at most `max_gaps`.
    pub(crate) async fn gap_report(
        &self,
        instrument: &Instrument,
        base: Resolution,
        session: SessionFilter,
        range: TimeRange,
        max_gaps: usize,
    ) -> Result<GapReport, ServiceError> {
        let calendar = calendar_of(instrument)?;
        let read = BarQuery {
            instrument_id: instrument.id,
            resolution: base,
            range,
            last: None,
            max_rows: 0,
        };
        let bars = self.read_base(read, self.limits.max_base_bars).await?;
        detect_gaps_bounded(&bars, base, calendar, session, range, max_gaps)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}
