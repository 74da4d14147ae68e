//! Fetching bars: validate a request, resolve symbols and ranges, read the stored series.

use tradeassist_model::{Bar, Instrument, RangeSpec, Resolution, SeriesWindow, TimeUnit, Timeframe, instrument::normalize_symbol};
use tradeassist_store::BarQuery;

use crate::{Service, ServiceError};

/// A validated fetch request.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    pub symbols: Vec<String>,
    pub frequency: Timeframe,
    pub range: RangeSpec,
    /// The instant open ranges and presets are measured against.
    pub now: i64,
}

impl FetchRequest {
    /// Validate raw request fields. Symbols are normalised and de-duplicated (order kept).
    pub fn parse(
        symbols: &[String],
        frequency: &str,
        start: Option<&str>,
        end: Option<&str>,
        preset: Option<&str>,
        as_of: Option<&str>,
        now: i64,
    ) -> Result<Self, ServiceError> {
        if symbols.is_empty() {
            return Err(ServiceError::invalid("symbols", "give at least one symbol"));
        }
        let mut normalized: Vec<String> = Vec::with_capacity(symbols.len());
        for s in symbols {
            let n = normalize_symbol(s).map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
            if !normalized.contains(&n) {
                normalized.push(n);
            }
        }
        let frequency: Timeframe =
            frequency.parse().map_err(|e: tradeassist_model::TimeframeError| ServiceError::invalid("frequency", e.to_string()))?;
        let range = RangeSpec::from_parts(start, end, preset, as_of, now).map_err(|e| {
            let field = match e {
                tradeassist_model::TimeRangeError::BadPreset(_) => "preset",
                tradeassist_model::TimeRangeError::EndBeforeStart { .. } => "end",
                _ => "start",
            };
            ServiceError::invalid(field, e.to_string())
        })?;
        Ok(FetchRequest { symbols: normalized, frequency, range, now })
    }
}

/// Bars of one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesResult {
    pub instrument: Instrument,
    pub frequency: Timeframe,
    /// The stored resolution the bars come from.
    pub base: Resolution,
    pub window: SeriesWindow,
    pub bars: Vec<Bar>,
}

/// Bars of every requested symbol, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResult {
    pub series: Vec<SeriesResult>,
}

/// A frequency the API knows about.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyInfo {
    pub frequency: Timeframe,
    pub label: String,
    /// Fixed length in seconds (`None` for months).
    pub seconds: Option<i64>,
    /// Whether bars at this frequency can be served now.
    pub available: bool,
}

/// The standard frequencies and whether each can be served.
pub fn frequencies() -> Vec<FrequencyInfo> {
    Timeframe::STANDARD
        .iter()
        .map(|tf| FrequencyInfo {
            frequency: *tf,
            label: tf.label(),
            seconds: tf.fixed_seconds(),
            available: stored_resolution(*tf).is_some(),
        })
        .collect()
}

/// The stored resolution that serves a frequency directly.
fn stored_resolution(tf: Timeframe) -> Option<Resolution> {
    match (tf.count(), tf.unit()) {
        (1, TimeUnit::Minute) => Some(Resolution::Minute),
        (1, TimeUnit::Day) => Some(Resolution::Day),
        _ => None,
    }
}

impl Service {
    /// Read the bars of every symbol of a request.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchResult, ServiceError> {
        if req.symbols.len() > self.limits.max_symbols {
            return Err(ServiceError::invalid(
                "symbols",
                format!("{} symbols requested; at most {} per request", req.symbols.len(), self.limits.max_symbols),
            ));
        }
        let resolution = stored_resolution(req.frequency).ok_or_else(|| {
            ServiceError::UnsupportedFrequency(format!(
                "frequency {} is not served yet: stored series are 1m and 1d",
                req.frequency
            ))
        })?;
        let mut instruments = Vec::with_capacity(req.symbols.len());
        let mut unknown = Vec::new();
        for symbol in &req.symbols {
            match self.store.instrument(symbol).await? {
                Some(i) => instruments.push(i),
                None => unknown.push(symbol.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(ServiceError::UnknownSymbols(unknown));
        }
        let mut series = Vec::with_capacity(instruments.len());
        let mut total = 0usize;
        for instrument in instruments {
            let stored = self.store.series(instrument.id).await?;
            if !stored.iter().any(|s| s.resolution == resolution) {
                let have: Vec<&str> = stored.iter().map(|s| s.resolution.as_str()).collect();
                return Err(ServiceError::UnsupportedFrequency(format!(
                    "{} has no {} series (stored: {})",
                    instrument.symbol,
                    resolution,
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                )));
            }
            let window = req
                .range
                .window(instrument.timezone, resolution, req.now)
                .map_err(|e| ServiceError::invalid("end", e.to_string()))?;
            let allowed = self.limits.max_bars_per_response - total;
            let bars = self
                .store
                .read_bars(BarQuery {
                    instrument_id: instrument.id,
                    resolution,
                    range: window.range,
                    last: window.last_bars,
                    max_rows: allowed + 1,
                })
                .await?;
            if bars.len() > allowed {
                return Err(ServiceError::TooLarge(format!(
                    "the result exceeds {} bars per response; narrow the range or use export",
                    self.limits.max_bars_per_response
                )));
            }
            total += bars.len();
            series.push(SeriesResult { instrument, frequency: req.frequency, base: resolution, window, bars });
        }
        Ok(FetchResult { series })
    }
}
