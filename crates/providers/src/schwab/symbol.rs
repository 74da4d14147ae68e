//! Our symbols in Schwab's notation and back.
//!
//! | ours | asset class | Schwab |
//! | --- | --- | --- |
//! | `AAPL` | stock | `AAPL` |
//! | `SPX` | index | `$SPX` |
//! | `ESZ24`, `ESZ2024`, `ESZ4` (contract) | future | `/ESZ24` |
//! | `ES` (root: front month) | future | `/ES` |
//!
//! Contract symbols are parsed by the model ([`ContractSymbol`]): root + month code + a 1-,
//! 2- or 4-digit year; Schwab always gets the two-digit year. Coming back, `/ESZ24` is our
//! canonical `ESZ24`.
//!
//! ```
//! use tradeassist_model::AssetClass;
//! use tradeassist_providers::schwab::{from_schwab, to_schwab};
//!
//! assert_eq!(to_schwab("ESZ2024", AssetClass::Future).unwrap(), "/ESZ24");
//! assert_eq!(to_schwab("SPX", AssetClass::Index).unwrap(), "$SPX");
//! assert_eq!(from_schwab("/ESZ24").unwrap(), ("ESZ24".to_string(), AssetClass::Future));
//! ```

use chrono::{NaiveDate, Utc};
use tradeassist_model::instrument::normalize_symbol;
use tradeassist_model::{AssetClass, ContractSymbol};

use crate::provider::ProviderError;

/// Schwab's notation of `symbol`; one-digit contract years resolve against today (UTC).
pub fn to_schwab(symbol: &str, asset_class: AssetClass) -> Result<String, ProviderError> {
    to_schwab_on(symbol, asset_class, Utc::now().date_naive())
}

/// [`to_schwab`] with the reference date for one-digit contract years.
pub fn to_schwab_on(
    symbol: &str,
    asset_class: AssetClass,
    today: NaiveDate,
) -> Result<String, ProviderError> {
    let unsupported = |reason: &str| ProviderError::UnsupportedSymbol {
        symbol: symbol.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = symbol.trim();
    let prefix = match asset_class {
        AssetClass::Stock => None,
        AssetClass::Index => Some('$'),
        AssetClass::Future => Some('/'),
    };
    let name = prefix
        .and_then(|p| trimmed.strip_prefix(p))
        .unwrap_or(trimmed);
    let name = normalize_symbol(name).map_err(|e| unsupported(&e.to_string()))?;
    match asset_class {
        AssetClass::Stock => {
            if name.starts_with('/') {
                return Err(unsupported("a stock symbol starts with a letter or digit"));
            }
            Ok(name)
        }
        AssetClass::Index => {
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
                return Err(unsupported(
                    "an index symbol is letters and digits, e.g. SPX",
                ));
            }
            Ok(format!("${name}"))
        }
        AssetClass::Future => {
            if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(unsupported(
                    "a futures symbol is a root (ES) or a contract (ESZ24, ESZ2024)",
                ));
            }
            if let Ok(contract) = ContractSymbol::parse(&name, today) {
                return Ok(format!("/{contract}"));
            }
            if name.len() <= 8 && !name.ends_with(|c: char| c.is_ascii_digit()) {
                Ok(format!("/{name}"))
            } else {
                Err(unsupported(
                    "a futures symbol is a root (ES) or a contract (ESZ24, ESZ2024)",
                ))
            }
        }
    }
}

/// Our symbol and asset class of a Schwab symbol; one-digit years resolve against today.
pub fn from_schwab(symbol: &str) -> Result<(String, AssetClass), ProviderError> {
    from_schwab_on(symbol, Utc::now().date_naive())
}

/// [`from_schwab`] with the reference date for one-digit contract years.
pub fn from_schwab_on(
    symbol: &str,
    today: NaiveDate,
) -> Result<(String, AssetClass), ProviderError> {
    let s = symbol.trim().to_ascii_uppercase();
    let (class, name) = if let Some(rest) = s.strip_prefix('/') {
        (AssetClass::Future, rest)
    } else if let Some(rest) = s.strip_prefix('$') {
        (AssetClass::Index, rest)
    } else {
        (AssetClass::Stock, s.as_str())
    };
    let name = match class {
        AssetClass::Future if name.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            match ContractSymbol::parse(name, today) {
                Ok(contract) => contract.to_string(),
                Err(_) => name.to_string(),
            }
        }
        _ => name.to_string(),
    };
    let ours = normalize_symbol(&name)
        .ok()
        .filter(|n| !n.starts_with(['/', '$']))
        .ok_or_else(|| ProviderError::UnsupportedSymbol {
            symbol: symbol.to_string(),
            reason: "not a Schwab symbol we can map".to_string(),
        })?;
    // Round trip: the mapping back must give the vendor symbol again.
    to_schwab_on(&ours, class, today)?;
    Ok((ours, class))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ours_to_schwab() {
        let today = day(2024, 10, 1);
        let cases = [
            ("AAPL", AssetClass::Stock, "AAPL"),
            ("brk.b", AssetClass::Stock, "BRK.B"),
            ("SPX", AssetClass::Index, "$SPX"),
            ("$DJI", AssetClass::Index, "$DJI"),
            ("ESZ24", AssetClass::Future, "/ESZ24"),
            ("ESZ2024", AssetClass::Future, "/ESZ24"),
            ("ESZ4", AssetClass::Future, "/ESZ24"),
            ("esz13", AssetClass::Future, "/ESZ13"),
            ("ESZ2013", AssetClass::Future, "/ESZ13"),
            ("/ESH25", AssetClass::Future, "/ESH25"),
            ("6EH25", AssetClass::Future, "/6EH25"),
            ("ES", AssetClass::Future, "/ES"),
            ("/NQ", AssetClass::Future, "/NQ"),
            ("6E", AssetClass::Future, "/6E"),
        ];
        for (ours, class, schwab) in cases {
            assert_eq!(
                to_schwab_on(ours, class, today).unwrap(),
                schwab,
                "{ours} {class}"
            );
        }
    }

    #[test]
    fn schwab_to_ours() {
        let today = day(2024, 10, 1);
        let cases = [
            ("AAPL", "AAPL", AssetClass::Stock),
            ("$SPX", "SPX", AssetClass::Index),
            ("/ESZ24", "ESZ24", AssetClass::Future),
            ("/ESZ2024", "ESZ24", AssetClass::Future),
            ("/esz13", "ESZ13", AssetClass::Future),
            ("/ES", "ES", AssetClass::Future),
            ("/6EH25", "6EH25", AssetClass::Future),
        ];
        for (schwab, ours, class) in cases {
            assert_eq!(
                from_schwab_on(schwab, today).unwrap(),
                (ours.to_string(), class),
                "{schwab}"
            );
        }
    }

    #[test]
    fn round_trips_both_ways() {
        let today = day(2024, 10, 1);
        for (ours, class) in [
            ("AAPL", AssetClass::Stock),
            ("SPX", AssetClass::Index),
            ("ESZ24", AssetClass::Future),
            ("CLF25", AssetClass::Future),
            ("ZNU98", AssetClass::Future),
            ("ES", AssetClass::Future),
        ] {
            let schwab = to_schwab_on(ours, class, today).unwrap();
            assert_eq!(
                from_schwab_on(&schwab, today).unwrap(),
                (ours.to_string(), class)
            );
        }
    }

    #[test]
    fn refuses_what_cannot_be_mapped() {
        let today = day(2024, 10, 1);
        for (symbol, class) in [
            ("", AssetClass::Stock),
            ("A B", AssetClass::Stock),
            ("/ES", AssetClass::Stock),
            ("$SPX", AssetClass::Stock),
            ("$", AssetClass::Index),
            ("S/PX", AssetClass::Index),
            ("ESZ123", AssetClass::Future),
            ("ES.Z24", AssetClass::Future),
            ("/", AssetClass::Future),
        ] {
            let e = to_schwab_on(symbol, class, today).unwrap_err();
            assert!(
                matches!(e, ProviderError::UnsupportedSymbol { .. }),
                "{symbol} {class}: {e}"
            );
        }
        for bad in ["", "/", "$", "/ES Z24", "//ES"] {
            assert!(from_schwab_on(bad, today).is_err(), "{bad}");
        }
    }
}
