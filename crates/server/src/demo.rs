//! The bundled demo data (real QuantConnect Lean sample bars, Apache-2.0; see
//! `data/demo/NOTICE`), compiled into the binary so `serve --demo` needs nothing else.

use tradeassist_model::AssetClass;
use tradeassist_providers::file::CsvOptions;
use tradeassist_service::{FactorImportFile, ImportFile, ImportReport, Service, ServiceError};

struct DemoFile {
    name: &'static str,
    bytes: &'static [u8],
    futures_root: Option<&'static str>,
    /// The vendor file holds known-bad rows (mis-scaled SPX prices); skip and report them.
    skip_invalid: bool,
}

const FILES: &[DemoFile] = &[
    DemoFile {
        name: "us_equity_daily_lean_sample.csv",
        bytes: include_bytes!("../../../data/demo/us_equity_daily_lean_sample.csv"),
        futures_root: None,
        skip_invalid: false,
    },
    DemoFile {
        name: "us_1m_lean_sample.csv",
        bytes: include_bytes!("../../../data/demo/us_1m_lean_sample.csv"),
        futures_root: None,
        skip_invalid: true,
    },
    DemoFile {
        name: "spy_1m_lean_sample.csv",
        bytes: include_bytes!("../../../data/demo/spy_1m_lean_sample.csv"),
        futures_root: None,
        skip_invalid: false,
    },
    DemoFile {
        name: "es_minute_long.csv.gz",
        bytes: include_bytes!("../../../data/demo/es_minute_long.csv.gz"),
        futures_root: Some("ES"),
        skip_invalid: false,
    },
    DemoFile {
        name: "es_daily_long.csv",
        bytes: include_bytes!("../../../data/demo/es_daily_long.csv"),
        futures_root: Some("ES"),
        skip_invalid: false,
    },
];

/// LEAN factor files of the demo stocks (`date,price_factor,split_factor,reference_price`).
const FACTOR_FILES: &[(&str, &[u8])] = &[
    (
        "aapl.csv",
        include_bytes!("../../../data/demo/lean_factor_files/aapl.csv"),
    ),
    (
        "aig.csv",
        include_bytes!("../../../data/demo/lean_factor_files/aig.csv"),
    ),
    (
        "bac.csv",
        include_bytes!("../../../data/demo/lean_factor_files/bac.csv"),
    ),
    (
        "eem.csv",
        include_bytes!("../../../data/demo/lean_factor_files/eem.csv"),
    ),
    (
        "goog.csv",
        include_bytes!("../../../data/demo/lean_factor_files/goog.csv"),
    ),
    (
        "ibm.csv",
        include_bytes!("../../../data/demo/lean_factor_files/ibm.csv"),
    ),
    (
        "iwm.csv",
        include_bytes!("../../../data/demo/lean_factor_files/iwm.csv"),
    ),
    (
        "qqq.csv",
        include_bytes!("../../../data/demo/lean_factor_files/qqq.csv"),
    ),
];

/// The demo factor files as import jobs (the symbol is the file stem: aapl.csv -> AAPL).
pub fn factor_files() -> Vec<FactorImportFile> {
    FACTOR_FILES
        .iter()
        .map(|(name, bytes)| FactorImportFile {
            name: format!("demo/lean_factor_files/{name}"),
            symbol: None,
            reader: Box::new(*bytes),
        })
        .collect()
}

/// The demo files as import jobs.
pub fn files() -> Vec<ImportFile> {
    FILES
        .iter()
        .map(|f| ImportFile {
            name: format!("demo/{}", f.name),
            reader: Box::new(f.bytes),
            options: CsvOptions {
                symbol: f.futures_root.map(str::to_string),
                asset_class: f.futures_root.map(|_| AssetClass::Future),
                skip_invalid: f.skip_invalid,
                ..Default::default()
            },
        })
        .collect()
}

/// Import the demo data when the store is empty. Returns the report when it imported.
pub async fn seed_if_empty(service: &Service) -> Result<Option<ImportReport>, ServiceError> {
    if !service.is_empty().await? {
        return Ok(None);
    }
    let report = service.import(files()).await?;
    let factors = service.import_factors(factor_files()).await?;
    tracing::info!(
        instruments = factors.instruments.len(),
        rows = factors.rows(),
        "demo corporate-action factors imported"
    );
    Ok(Some(report))
}
