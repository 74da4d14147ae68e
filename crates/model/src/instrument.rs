//! Instruments: stocks, indexes and futures contracts, with their exchange, timezone and
//! trading-session template.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::contract::{ContractMonth, ContractSymbol};

/// What kind of instrument a symbol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetClass {
    Stock,
    Index,
    Future,
}

impl AssetClass {
    pub const ALL: [AssetClass; 3] = [AssetClass::Stock, AssetClass::Index, AssetClass::Future];

    pub const fn as_str(self) -> &'static str {
        match self {
            AssetClass::Stock => "stock",
            AssetClass::Index => "index",
            AssetClass::Future => "future",
        }
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetClass {
    type Err = InstrumentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stock" | "equity" => Ok(AssetClass::Stock),
            "index" => Ok(AssetClass::Index),
            "future" | "futures" => Ok(AssetClass::Future),
            _ => Err(InstrumentError::BadAssetClass(s.to_string())),
        }
    }
}

/// Why an instrument definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("`{0}` is not an asset class (stock, index or future)")]
    BadAssetClass(String),
    #[error("`{0}` is not a valid symbol (1-32 characters: letters, digits, . - _ ^ /)")]
    BadSymbol(String),
    #[error("`{0}` is not an IANA timezone")]
    BadTimezone(String),
    #[error("a futures contract needs a contract definition; {0} has none")]
    MissingContract(String),
    #[error("{0} is not a future but carries a contract definition")]
    UnexpectedContract(String),
}

/// Contract details of one futures contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesContract {
    pub root: String,
    pub month: ContractMonth,
    /// Last trade date (expiry). `None` when unknown; derived from expiry rules later.
    pub last_trade_date: Option<NaiveDate>,
    pub first_notice_date: Option<NaiveDate>,
}

impl FuturesContract {
    /// Canonical symbol of the contract, e.g. `ESZ13`.
    pub fn symbol(&self) -> String {
        ContractSymbol::new(&self.root, self.month)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }
}

/// An instrument definition that has not been stored yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstrument {
    pub symbol: String,
    pub asset_class: AssetClass,
    pub exchange: String,
    pub timezone: Tz,
    /// Trading-session template id (see the calendars of the engine), e.g. `us_equity`.
    pub calendar: String,
    pub currency: String,
    pub tick_size: f64,
    pub multiplier: f64,
    pub description: String,
    pub contract: Option<FuturesContract>,
}

/// A stored instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    pub id: i64,
    pub def: NewInstrument,
}

impl std::ops::Deref for Instrument {
    type Target = NewInstrument;
    fn deref(&self) -> &NewInstrument {
        &self.def
    }
}

/// Normalise and check a ticker symbol (upper case; letters, digits and `. - _ ^ /`).
pub fn normalize_symbol(symbol: &str) -> Result<String, InstrumentError> {
    let s = symbol.trim().to_ascii_uppercase();
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-^/".contains(&b));
    if ok {
        Ok(s)
    } else {
        Err(InstrumentError::BadSymbol(symbol.to_string()))
    }
}

/// Reference data for well-known roots: (root, exchange, calendar, tick size, multiplier, name).
const FUTURE_ROOTS: &[(&str, &str, &str, f64, f64, &str)] = &[
    ("ES", "CME", "cme_equity", 0.25, 50.0, "E-mini S&P 500"),
    ("NQ", "CME", "cme_equity", 0.25, 20.0, "E-mini Nasdaq-100"),
    ("YM", "CBOT", "cme_equity", 1.0, 5.0, "E-mini Dow"),
    ("RTY", "CME", "cme_equity", 0.1, 50.0, "E-mini Russell 2000"),
    ("CL", "NYMEX", "cme_energy", 0.01, 1000.0, "Crude Oil"),
    ("NG", "NYMEX", "cme_energy", 0.001, 10000.0, "Natural Gas"),
    (
        "RB",
        "NYMEX",
        "cme_energy",
        0.0001,
        42000.0,
        "RBOB Gasoline",
    ),
    ("HO", "NYMEX", "cme_energy", 0.0001, 42000.0, "Heating Oil"),
    ("GC", "COMEX", "cme_metals", 0.1, 100.0, "Gold"),
    ("SI", "COMEX", "cme_metals", 0.005, 5000.0, "Silver"),
    ("HG", "COMEX", "cme_metals", 0.0005, 25000.0, "Copper"),
    (
        "ZN",
        "CBOT",
        "cme_rates",
        0.015625,
        1000.0,
        "10-Year T-Note",
    ),
    ("ZB", "CBOT", "cme_rates", 0.03125, 1000.0, "30-Year T-Bond"),
    (
        "ZF",
        "CBOT",
        "cme_rates",
        0.0078125,
        1000.0,
        "5-Year T-Note",
    ),
    ("ZC", "CBOT", "cme_grains", 0.25, 50.0, "Corn"),
    ("ZS", "CBOT", "cme_grains", 0.25, 50.0, "Soybeans"),
    ("ZW", "CBOT", "cme_grains", 0.25, 50.0, "Wheat"),
    ("6E", "CME", "cme_fx", 0.00005, 125000.0, "Euro FX"),
    ("6J", "CME", "cme_fx", 0.0000005, 12500000.0, "Japanese Yen"),
    ("6B", "CME", "cme_fx", 0.0001, 62500.0, "British Pound"),
];

/// Reference data for well-known equities and indexes: (symbol, class, exchange, name).
const EQUITIES: &[(&str, AssetClass, &str, &str)] = &[
    ("AAPL", AssetClass::Stock, "NASDAQ", "Apple Inc."),
    ("GOOG", AssetClass::Stock, "NASDAQ", "Alphabet Inc. Class C"),
    ("QQQ", AssetClass::Stock, "NASDAQ", "Invesco QQQ Trust"),
    (
        "IBM",
        AssetClass::Stock,
        "NYSE",
        "International Business Machines",
    ),
    ("BAC", AssetClass::Stock, "NYSE", "Bank of America"),
    (
        "AIG",
        AssetClass::Stock,
        "NYSE",
        "American International Group",
    ),
    ("SPY", AssetClass::Stock, "ARCA", "SPDR S&P 500 ETF"),
    ("IWM", AssetClass::Stock, "ARCA", "iShares Russell 2000 ETF"),
    (
        "EEM",
        AssetClass::Stock,
        "ARCA",
        "iShares MSCI Emerging Markets ETF",
    ),
    ("SPX", AssetClass::Index, "CBOE", "S&P 500 Index"),
    ("NDX", AssetClass::Index, "NASDAQ", "Nasdaq-100 Index"),
    (
        "DJI",
        AssetClass::Index,
        "NYSE",
        "Dow Jones Industrial Average",
    ),
    ("VIX", AssetClass::Index, "CBOE", "CBOE Volatility Index"),
    ("RUT", AssetClass::Index, "NYSE", "Russell 2000 Index"),
];

/// The asset class reference data knows for a symbol, if any (`SPX` is an index).
pub fn known_asset_class(symbol: &str) -> Option<AssetClass> {
    EQUITIES.iter().find(|e| e.0 == symbol).map(|e| e.1)
}

impl NewInstrument {
    /// A US-listed stock or index with reference defaults (New York time, US equity calendar).
    pub fn equity(symbol: &str, asset_class: AssetClass) -> Result<Self, InstrumentError> {
        let symbol = normalize_symbol(symbol)?;
        if asset_class == AssetClass::Future {
            return Err(InstrumentError::MissingContract(symbol));
        }
        let known = EQUITIES.iter().find(|e| e.0 == symbol);
        Ok(NewInstrument {
            exchange: known.map_or("US", |e| e.2).to_string(),
            description: known.map_or("", |e| e.3).to_string(),
            timezone: chrono_tz::America::New_York,
            calendar: "us_equity".to_string(),
            currency: "USD".to_string(),
            tick_size: 0.01,
            multiplier: 1.0,
            contract: None,
            symbol,
            asset_class,
        })
    }

    /// A futures contract with reference defaults for its root (CME Globex calendar).
    pub fn future(contract: FuturesContract) -> Result<Self, InstrumentError> {
        let root = normalize_symbol(&contract.root)?;
        let symbol = ContractSymbol::new(&root, contract.month)
            .map_err(|_| InstrumentError::BadSymbol(root.clone()))?
            .to_string();
        let known = FUTURE_ROOTS.iter().find(|r| r.0 == root);
        Ok(NewInstrument {
            exchange: known.map_or("CME", |r| r.1).to_string(),
            calendar: known.map_or("cme_equity", |r| r.2).to_string(),
            tick_size: known.map_or(0.01, |r| r.3),
            multiplier: known.map_or(1.0, |r| r.4),
            description: known.map_or(String::new(), |r| format!("{} {}", r.5, contract.month)),
            timezone: chrono_tz::America::Chicago,
            currency: "USD".to_string(),
            asset_class: AssetClass::Future,
            contract: Some(FuturesContract { root, ..contract }),
            symbol,
        })
    }

    /// Check the cross-field invariants (used where definitions enter from outside).
    pub fn validate(&self) -> Result<(), InstrumentError> {
        normalize_symbol(&self.symbol)?;
        match (self.asset_class, &self.contract) {
            (AssetClass::Future, None) => {
                Err(InstrumentError::MissingContract(self.symbol.clone()))
            }
            (AssetClass::Stock | AssetClass::Index, Some(_)) => {
                Err(InstrumentError::UnexpectedContract(self.symbol.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// Parse an IANA timezone name.
pub fn parse_timezone(name: &str) -> Result<Tz, InstrumentError> {
    name.parse::<Tz>()
        .map_err(|_| InstrumentError::BadTimezone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equity_defaults() {
        let i = NewInstrument::equity("aapl", AssetClass::Stock).unwrap();
        assert_eq!(i.symbol, "AAPL");
        assert_eq!(i.exchange, "NASDAQ");
        assert_eq!(i.timezone, chrono_tz::America::New_York);
        assert!(i.validate().is_ok());
        assert_eq!(known_asset_class("SPX"), Some(AssetClass::Index));
    }

    #[test]
    fn futures_get_root_defaults_and_canonical_symbol() {
        let c = FuturesContract {
            root: "es".into(),
            month: ContractMonth::new(2013, 12).unwrap(),
            last_trade_date: NaiveDate::from_ymd_opt(2013, 12, 20),
            first_notice_date: None,
        };
        let i = NewInstrument::future(c).unwrap();
        assert_eq!(i.symbol, "ESZ13");
        assert_eq!((i.tick_size, i.multiplier), (0.25, 50.0));
        assert_eq!(i.timezone, chrono_tz::America::Chicago);
        assert_eq!(i.contract.as_ref().unwrap().root, "ES");
        assert!(i.validate().is_ok());
    }

    #[test]
    fn invariants() {
        assert!(NewInstrument::equity("ES", AssetClass::Future).is_err());
        assert!(normalize_symbol("").is_err());
        assert!(normalize_symbol("A B").is_err());
        assert_eq!(normalize_symbol(" brk.b ").unwrap(), "BRK.B");
        let mut i = NewInstrument::equity("SPX", AssetClass::Index).unwrap();
        i.asset_class = AssetClass::Future;
        assert!(matches!(
            i.validate(),
            Err(InstrumentError::MissingContract(_))
        ));
        assert!("bond".parse::<AssetClass>().is_err());
        assert_eq!("Futures".parse::<AssetClass>().unwrap(), AssetClass::Future);
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert_eq!(
            parse_timezone("Europe/Berlin").unwrap(),
            chrono_tz::Europe::Berlin
        );
    }
}
