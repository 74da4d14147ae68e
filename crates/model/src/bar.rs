//! A single OHLCV bar whose invariants hold by construction.

/// Resolution a base series is stored at. Higher timeframes are derived, never stored as base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resolution {
    /// One bar per minute (intraday markets).
    Minute,
    /// One bar per trading day (where intraday data is missing).
    Day,
}

impl Resolution {
    /// Length of one bar in seconds (a day bar is keyed by its date at 00:00 UTC).
    pub const fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Day => 86_400,
        }
    }

    /// Inverse of [`Resolution::seconds`].
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        match seconds {
            60 => Some(Resolution::Minute),
            86_400 => Some(Resolution::Day),
            _ => None,
        }
    }
}

// The frequency string of a resolution: `1m` or `1d` (`as_str`, `Display`, `FromStr`).
crate::named_options!(Resolution, "stored resolution", [Minute = "1m", Day = "1d"]);

/// Why a bar was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarError {
    #[error("price is not a finite number")]
    NonFinite,
    #[error("high {high} is below low {low}")]
    HighBelowLow { high: f64, low: f64 },
    #[error("open {open} is outside low..high ({low}..{high})")]
    OpenOutsideRange { open: f64, low: f64, high: f64 },
    #[error("close {close} is outside low..high ({low}..{high})")]
    CloseOutsideRange { close: f64, low: f64, high: f64 },
    #[error("volume {0} is negative or not finite")]
    BadVolume(f64),
    #[error("open interest {0} is negative or not finite")]
    BadOpenInterest(f64),
    #[error("vwap {0} is not a positive finite number")]
    BadVwap(f64),
}

/// An OHLCV bar: `low <= open, close <= high`, `volume >= 0`, all finite.
///
/// Fields are private so a bar that breaks its invariants cannot exist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    ts: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    open_interest: Option<f64>,
    trade_count: Option<u64>,
    vwap: Option<f64>,
}

impl Bar {
    /// A checked bar; `ts` is the interval start in UTC epoch seconds.
    pub fn new(
        ts: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) -> Result<Self, BarError> {
        if ![open, high, low, close].iter().all(|p| p.is_finite()) {
            return Err(BarError::NonFinite);
        }
        if high < low {
            return Err(BarError::HighBelowLow { high, low });
        }
        if open < low || open > high {
            return Err(BarError::OpenOutsideRange { open, low, high });
        }
        if close < low || close > high {
            return Err(BarError::CloseOutsideRange { close, low, high });
        }
        if !volume.is_finite() || volume < 0.0 {
            return Err(BarError::BadVolume(volume));
        }
        Ok(Bar {
            ts,
            open,
            high,
            low,
            close,
            volume,
            open_interest: None,
            trade_count: None,
            vwap: None,
        })
    }

    /// Attach an open-interest reading (last value of the interval).
    pub fn with_open_interest(mut self, oi: Option<f64>) -> Result<Self, BarError> {
        if let Some(v) = oi
            && (!v.is_finite() || v < 0.0)
        {
            return Err(BarError::BadOpenInterest(v));
        }
        self.open_interest = oi;
        Ok(self)
    }

    /// Attach the vendor's trade count.
    pub fn with_trade_count(mut self, count: Option<u64>) -> Self {
        self.trade_count = count;
        self
    }

    /// Attach the vendor's VWAP for the interval.
    pub fn with_vwap(mut self, vwap: Option<f64>) -> Result<Self, BarError> {
        if let Some(v) = vwap
            && (!v.is_finite() || v <= 0.0)
        {
            return Err(BarError::BadVwap(v));
        }
        self.vwap = vwap;
        Ok(self)
    }

    pub fn ts(&self) -> i64 {
        self.ts
    }
    pub fn open(&self) -> f64 {
        self.open
    }
    pub fn high(&self) -> f64 {
        self.high
    }
    pub fn low(&self) -> f64 {
        self.low
    }
    pub fn close(&self) -> f64 {
        self.close
    }
    pub fn volume(&self) -> f64 {
        self.volume
    }
    pub fn open_interest(&self) -> Option<f64> {
        self.open_interest
    }
    pub fn trade_count(&self) -> Option<u64> {
        self.trade_count
    }
    pub fn vwap(&self) -> Option<f64> {
        self.vwap
    }

    /// Typical price `(high + low + close) / 3`.
    pub fn typical_price(&self) -> f64 {
        (self.high + self.low + self.close) / 3.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_well_formed_bar() {
        let b = Bar::new(60, 10.0, 12.0, 9.0, 11.0, 5.0).unwrap();
        assert_eq!(
            (b.ts(), b.open(), b.high(), b.low(), b.close(), b.volume()),
            (60, 10.0, 12.0, 9.0, 11.0, 5.0)
        );
        assert_eq!(b.typical_price(), (12.0 + 9.0 + 11.0) / 3.0);
    }

    #[test]
    fn a_flat_bar_is_valid() {
        assert!(Bar::new(0, 5.0, 5.0, 5.0, 5.0, 0.0).is_ok());
    }

    #[test]
    fn rejects_broken_invariants() {
        assert_eq!(
            Bar::new(0, 10.0, 9.0, 11.0, 10.0, 1.0),
            Err(BarError::HighBelowLow {
                high: 9.0,
                low: 11.0
            })
        );
        assert!(matches!(
            Bar::new(0, 13.0, 12.0, 9.0, 11.0, 1.0),
            Err(BarError::OpenOutsideRange { .. })
        ));
        assert!(matches!(
            Bar::new(0, 10.0, 12.0, 9.0, 8.0, 1.0),
            Err(BarError::CloseOutsideRange { .. })
        ));
        assert_eq!(
            Bar::new(0, 10.0, 12.0, 9.0, 11.0, -1.0),
            Err(BarError::BadVolume(-1.0))
        );
        assert_eq!(
            Bar::new(0, f64::NAN, 12.0, 9.0, 11.0, 1.0),
            Err(BarError::NonFinite)
        );
        assert!(matches!(
            Bar::new(0, 10.0, f64::INFINITY, 9.0, 11.0, 1.0),
            Err(BarError::NonFinite)
        ));
    }

    #[test]
    fn optional_fields_are_checked() {
        let b = Bar::new(0, 10.0, 12.0, 9.0, 11.0, 5.0).unwrap();
        assert!(b.with_open_interest(Some(-3.0)).is_err());
        assert_eq!(
            b.with_open_interest(Some(7.0)).unwrap().open_interest(),
            Some(7.0)
        );
        assert!(b.with_vwap(Some(0.0)).is_err());
        assert_eq!(b.with_vwap(Some(10.5)).unwrap().vwap(), Some(10.5));
        assert_eq!(b.with_trade_count(Some(3)).trade_count(), Some(3));
    }

    #[test]
    fn resolution_round_trips_seconds() {
        for r in [Resolution::Minute, Resolution::Day] {
            assert_eq!(Resolution::from_seconds(r.seconds()), Some(r));
        }
        assert_eq!(Resolution::from_seconds(300), None);
    }
}
