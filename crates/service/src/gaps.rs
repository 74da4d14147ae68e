//! Gap detection of a stored base series against the instrument's trading calendar.

use tradeassist_engine::{GapReport, SessionFilter, detect_gaps};
use tradeassist_model::{Instrument, RangeSpec, Resolution, SeriesWindow};
use tradeassist_store::BarQuery;

use crate::{Service, ServiceError, default_session};

/// Gaps of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct GapResult {
    pub instrument: Instrument,
    pub base: Resolution,
    pub session: SessionFilter,
    pub window: SeriesWindow,
    pub report: GapReport,
}

impl Service {
    /// Spans of `range` where the calendar expects `base` bars of `symbol` and none are stored.
    pub async fn gaps(
        &self,
        symbol: &str,
        base: Resolution,
        range: &RangeSpec,
        session: Option<SessionFilter>,
        now: i64,
    ) -> Result<GapResult, ServiceError> {
        let (instrument, calendar) = self.instrument_with_calendar(symbol).await?;
        let session = session.unwrap_or_else(|| default_session(&instrument));
        let window = crate::fetch::trading_day_window(
            range,
            calendar,
            session,
            base,
            instrument.timezone,
            now,
        )?;
        if window.last_bars.is_some() {
            return Err(ServiceError::invalid(
                "preset",
                "gap detection needs a time range, not last_N_bars",
            ));
        }
        let query = BarQuery {
            instrument_id: instrument.id,
            resolution: base,
            range: window.range,
            last: None,
            max_rows: 0,
        };
        let bars = self.read_base(query, self.limits.max_base_bars).await?;
        let report = detect_gaps(&bars, base, calendar, session, window.range)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(GapResult {
            instrument,
            base,
            session,
            window,
            report,
        })
    }
}
