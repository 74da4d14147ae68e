//! Equity corporate actions: importing factor files (LEAN layout
//! `date,price_factor,split_factor[,reference_price]`) into the store, and adjusting an
//! equity's base bars for splits (`adjust=split`) or splits and dividends (`adjust=all`)
//! before aggregation. The default, `none`, serves the raw vendor prices.

use std::io::Read;
use std::path::Path;

use tradeassist_engine::{Calendar, FactorFile, PriceAdjustment, adjust_equity_bars};
use tradeassist_model::{AssetClass, Bar, Instrument, Resolution};
use tradeassist_providers::file::maybe_gunzip;
use tradeassist_store::{FactorRecord, FactorSet};

use crate::{Service, ServiceError};

/// A factor file to import.
pub struct FactorImportFile {
    /// Name used in messages (usually the path); its stem names the symbol by default.
    pub name: String,
    /// The instrument the factors belong to; default: the file stem upper-cased
    /// (`aapl.csv` -> `AAPL`).
    pub symbol: Option<String>,
    pub reader: Box<dyn Read + Send>,
}

impl FactorImportFile {
    /// Open a factor file on disk (plain or gzip).
    pub fn open(path: &Path, symbol: Option<String>) -> Result<Self, ServiceError> {
        let file = std::fs::File::open(path)
            .map_err(|e| ServiceError::invalid("files", format!("{}: {e}", path.display())))?;
        Ok(FactorImportFile {
            name: path.display().to_string(),
            symbol,
            reader: Box::new(file),
        })
    }

    /// The symbol the factors are stored under.
    pub fn target_symbol(&self) -> Result<String, ServiceError> {
        let symbol = match &self.symbol {
            Some(s) => s.trim().to_string(),
            None => {
                let file_name = Path::new(&self.name)
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or("");
                file_name.split('.').next().unwrap_or("").to_string()
            }
        };
        tradeassist_model::instrument::normalize_symbol(&symbol).map_err(|e| {
            ServiceError::invalid(
                "symbol",
                format!(
                    "{}: cannot name the instrument (`{symbol}`): {e}; give --symbol",
                    self.name
                ),
            )
        })
    }
}

/// What a factor import wrote: `(symbol, rows)` per file, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactorImportReport {
    pub instruments: Vec<(String, usize)>,
}

impl FactorImportReport {
    pub fn rows(&self) -> usize {
        self.instruments.iter().map(|(_, n)| n).sum()
    }
}

fn to_record(r: &tradeassist_engine::FactorRow) -> FactorRecord {
    FactorRecord {
        date: r.date,
        price_factor: r.price_factor,
        split_factor: r.split_factor,
        reference_price: r.reference_price,
    }
}

/// Stored rows as the engine's factor file. The rows are re-validated on the way out (as the
/// store re-checks bars): positive factors, strictly increasing dates.
fn factor_file(symbol: &str, rows: &[FactorRecord]) -> Result<FactorFile, ServiceError> {
    let text: String = rows
        .iter()
        .map(|r| {
            format!(
                "{},{},{},{}\n",
                r.date.format("%Y%m%d"),
                r.price_factor,
                r.split_factor,
                r.reference_price
            )
        })
        .collect();
    FactorFile::parse(&text)
        .map_err(|e| ServiceError::Internal(format!("stored factors of {symbol}: {e}")))
}

/// Corporate-action factors of an instrument prepared for one request.
pub(crate) struct EquityAdjuster {
    mode: PriceAdjustment,
    factors: FactorFile,
}

impl EquityAdjuster {
    /// Adjust bars of `resolution` (unchanged for `none`).
    pub(crate) fn apply(
        &self,
        calendar: &Calendar,
        resolution: Resolution,
        bars: Vec<Bar>,
    ) -> Result<Vec<Bar>, ServiceError> {
        if self.mode == PriceAdjustment::None {
            return Ok(bars);
        }
        adjust_equity_bars(calendar, resolution, &bars, &self.factors, self.mode)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

impl Service {
    /// The factors `mode` needs for `instrument`; refused (422) when none are stored.
    pub(crate) async fn equity_adjuster(
        &self,
        instrument: &Instrument,
        mode: PriceAdjustment,
    ) -> Result<EquityAdjuster, ServiceError> {
        if mode == PriceAdjustment::None {
            return Ok(EquityAdjuster {
                mode,
                factors: FactorFile::default(),
            });
        }
        let rows = self.store.factors(instrument.id).await?;
        if rows.is_empty() {
            return Err(ServiceError::invalid(
                "adjust",
                format!(
                    "adjust={mode} needs corporate-action factors, and none are stored for {}; import them with `tradeassist import-factors` or use adjust=none",
                    instrument.symbol
                ),
            ));
        }
        Ok(EquityAdjuster {
            mode,
            factors: factor_file(&instrument.symbol, &rows)?,
        })
    }

    /// Import factor files atomically: every file is parsed and its instrument checked first
    /// (a stored stock or index); then each instrument's factors are replaced in one
    /// transaction. Any invalid row (reported with its line number) or unknown symbol writes
    /// nothing.
    pub async fn import_factors(
        &self,
        files: Vec<FactorImportFile>,
    ) -> Result<FactorImportReport, ServiceError> {
        let mut sets: Vec<FactorSet> = Vec::with_capacity(files.len());
        let mut report = FactorImportReport::default();
        for file in files {
            let symbol = file.target_symbol()?;
            let name = file.name.clone();
            let text = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
                let mut text = String::new();
                maybe_gunzip(file.reader)?.read_to_string(&mut text)?;
                Ok(text)
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("factor import task failed: {e}")))?
            .map_err(|e| ServiceError::invalid("files", format!("{name}: {e}")))?;
            let parsed = FactorFile::parse(&text)
                .map_err(|e| ServiceError::invalid("files", format!("{name}: {e}")))?;
            if parsed.rows().is_empty() {
                return Err(ServiceError::invalid(
                    "files",
                    format!("{name}: no factor rows"),
                ));
            }
            let instrument = self.find_instrument(&symbol).await?.ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "{name}: no instrument {symbol} is stored; import its bars first or name another symbol with --symbol"
                ))
            })?;
            if instrument.asset_class == AssetClass::Future {
                return Err(ServiceError::invalid(
                    "symbol",
                    format!(
                        "{name}: {symbol} is a futures contract; corporate-action factors apply to stocks and indexes"
                    ),
                ));
            }
            if sets.iter().any(|s| s.symbol == instrument.symbol) {
                return Err(ServiceError::invalid(
                    "symbol",
                    format!("{name}: a second factor file for {symbol}"),
                ));
            }
            report
                .instruments
                .push((instrument.symbol.clone(), parsed.rows().len()));
            sets.push(FactorSet {
                symbol: instrument.symbol.clone(),
                rows: parsed.rows().iter().map(to_record).collect(),
            });
        }
        self.store.write_factors(sets).await?;
        tracing::info!(
            instruments = report.instruments.len(),
            rows = report.rows(),
            "factor import finished"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_default_to_the_file_stem() {
        let file = |name: &str, symbol: Option<&str>| FactorImportFile {
            name: name.into(),
            symbol: symbol.map(str::to_string),
            reader: Box::new(std::io::empty()),
        };
        assert_eq!(
            file("data/demo/lean_factor_files/aapl.csv", None)
                .target_symbol()
                .unwrap(),
            "AAPL"
        );
        assert_eq!(
            file("/tmp/brk.csv.gz", None).target_symbol().unwrap(),
            "BRK"
        );
        assert_eq!(file("x.csv", Some("msft")).target_symbol().unwrap(), "MSFT");
        assert!(file("/tmp/.csv", None).target_symbol().is_err());
    }

    #[test]
    fn stored_rows_round_trip_through_the_factor_file() {
        let rows = vec![
            FactorRecord {
                date: "2014-06-06".parse().unwrap(),
                price_factor: 0.9011818,
                split_factor: 1.0 / 28.0,
                reference_price: 645.57,
            },
            FactorRecord {
                date: "2050-12-31".parse().unwrap(),
                price_factor: 1.0,
                split_factor: 1.0,
                reference_price: 0.0,
            },
        ];
        let f = factor_file("AAPL", &rows).unwrap();
        assert_eq!(f.rows().iter().map(to_record).collect::<Vec<_>>(), rows);
    }
}
