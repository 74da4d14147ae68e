//! Symbol resolution: every spelling a user may type names the same stored instrument.
//!
//! A stored symbol matches exactly (case-insensitive). A futures contract may also be typed
//! with a one-, two- or four-digit year (`6EH4`, `6EH24`, `6EH2024`): it resolves to the
//! stored contract of that root and month whose year ends in those digits. A short form that
//! fits several stored contracts (`ESZ3` with 2013 and 2023 stored) is an error listing them.
//! Continuous symbols (`ES.v.0`) name a root's stored contracts.

use tradeassist_engine::{Calendar, ContinuousSymbol};
use tradeassist_model::{AssetClass, ContractSymbol, Instrument};
use tradeassist_store::InstrumentFilter;

use crate::{Service, ServiceError};

/// What a requested symbol names.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Instrument(Instrument),
    /// A continuous symbol with the root's stored contracts, by contract month.
    Continuous(ContinuousSymbol, Vec<Instrument>),
}

/// `ROOT.RULE.RANK`, if the symbol is one.
pub(crate) fn parse_continuous(symbol: &str) -> Option<ContinuousSymbol> {
    symbol.contains('.').then(|| symbol.parse().ok()).flatten()
}

/// A contract symbol split into root, month (1..=12) and the year digits as typed.
fn contract_parts(symbol: &str) -> Option<(String, u32, &str)> {
    let digits = symbol.bytes().rev().take_while(u8::is_ascii_digit).count();
    if !matches!(digits, 1 | 2 | 4) || symbol.len() < digits + 2 {
        return None;
    }
    let (head, year) = symbol.split_at(symbol.len() - digits);
    let code = head.chars().last()?;
    let root = &head[..head.len() - code.len_utf8()];
    let month = (1..=12).find(|m| {
        tradeassist_model::ContractMonth::new(2000, *m).is_ok_and(|cm| cm.code() == code)
    })?;
    ContractSymbol::new(
        root,
        tradeassist_model::ContractMonth::new(2000, month).ok()?,
    )
    .ok()?;
    Some((root.to_ascii_uppercase(), month, year))
}

/// The trading calendar of an instrument. An instrument whose calendar is not known to this
/// build cannot be served: the same 422 everywhere.
pub(crate) fn calendar_of(instrument: &Instrument) -> Result<&'static Calendar, ServiceError> {
    Calendar::get(&instrument.calendar).map_err(|e| ServiceError::UnknownCalendar {
        symbol: instrument.symbol.clone(),
        message: e.to_string(),
    })
}

impl Service {
    /// Stored contracts of a futures root, by contract month.
    pub async fn contracts_of(&self, root: &str) -> Result<Vec<Instrument>, ServiceError> {
        let filter = InstrumentFilter {
            text: Some(root.to_string()),
            asset_class: Some(AssetClass::Future),
            limit: Some(1000),
        };
        let mut contracts: Vec<Instrument> = self
            .store
            .search_instruments(&filter)
            .await?
            .into_iter()
            .filter(|i| {
                i.contract
                    .as_ref()
                    .is_some_and(|c| c.root.eq_ignore_ascii_case(root))
            })
            .collect();
        contracts.sort_by_key(|i| i.contract.as_ref().map(|c| c.month));
        Ok(contracts)
    }

    /// The stored instrument a (normalised) plain symbol names, `None` when none does;
    /// `AmbiguousSymbol` when a short contract form fits several.
    pub(crate) async fn find_instrument(
        &self,
        symbol: &str,
    ) -> Result<Option<Instrument>, ServiceError> {
        if let Some(i) = self.store.instrument(symbol).await? {
            return Ok(Some(i));
        }
        let Some((root, month, year)) = contract_parts(symbol) else {
            return Ok(None);
        };
        let matches_year = |y: i32| match year.len() {
            1 => y.rem_euclid(10) == year.parse::<i32>().unwrap_or(-1),
            2 => y.rem_euclid(100) == year.parse::<i32>().unwrap_or(-1),
            _ => y == year.parse::<i32>().unwrap_or(-1),
        };
        let mut found: Vec<Instrument> = self
            .contracts_of(&root)
            .await?
            .into_iter()
            .filter(|i| {
                i.contract
                    .as_ref()
                    .is_some_and(|c| c.month.month() == month && matches_year(c.month.year()))
            })
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(ServiceError::AmbiguousSymbol {
                symbol: symbol.to_string(),
                candidates: found
                    .iter()
                    .map(|i| {
                        let month = i.contract.as_ref().map(|c| c.month.to_string());
                        format!("{} ({})", i.symbol, month.unwrap_or_default())
                    })
                    .collect(),
            }),
        }
    }

    /// The stored instrument a plain symbol names, or `UnknownSymbols`.
    pub async fn resolve_instrument(&self, symbol: &str) -> Result<Instrument, ServiceError> {
        let normalized =
            crate::query::normalize_symbols(std::slice::from_ref(&symbol.to_string()))?.remove(0);
        self.find_instrument(&normalized)
            .await?
            .ok_or_else(|| ServiceError::UnknownSymbols(vec![normalized]))
    }

    /// What each symbol names, in order; every unknown one is reported at once.
    pub(crate) async fn resolve_all(
        &self,
        symbols: &[String],
    ) -> Result<Vec<Target>, ServiceError> {
        let mut targets = Vec::with_capacity(symbols.len());
        let mut unknown = Vec::new();
        for symbol in symbols {
            if let Some(continuous) = parse_continuous(symbol) {
                match self.contracts_of(&continuous.root).await? {
                    contracts if contracts.is_empty() => unknown.push(symbol.clone()),
                    contracts => targets.push(Target::Continuous(continuous, contracts)),
                }
                continue;
            }
            match self.find_instrument(symbol).await? {
                Some(i) => targets.push(Target::Instrument(i)),
                None => unknown.push(symbol.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(ServiceError::UnknownSymbols(unknown));
        }
        Ok(targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_spellings_split_into_root_month_and_year_digits() {
        assert_eq!(contract_parts("6EH4"), Some(("6E".into(), 3, "4")));
        assert_eq!(contract_parts("6EH24"), Some(("6E".into(), 3, "24")));
        assert_eq!(contract_parts("ESZ2013"), Some(("ES".into(), 12, "2013")));
        assert_eq!(contract_parts("AAPL"), None);
        assert_eq!(contract_parts("X1"), None);
        assert_eq!(contract_parts("ESA13"), None);
        assert_eq!(contract_parts("ESZ123"), None);
    }
}
