//! Importing files: parse and validate every file first, then write everything in one
//! transaction, so a bad file leaves the store untouched.

use std::io::Read;

use tradeassist_providers::file::{CsvOptions, ParsedFile, RowError, maybe_gunzip, parse_csv};
use tradeassist_store::{IngestBatch, OpenInterestReading, SeriesBatch};

use crate::{Service, ServiceError};

/// A file to import.
pub struct ImportFile {
    /// Name used in messages (usually the path).
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    pub options: CsvOptions,
}

impl ImportFile {
    /// Open a file on disk (plain or gzip).
    pub fn open(path: &std::path::Path, options: CsvOptions) -> Result<Self, ServiceError> {
        let file = std::fs::File::open(path).map_err(|e| ServiceError::Import {
            file: path.display().to_string(),
            error: e.into(),
        })?;
        Ok(ImportFile {
            name: path.display().to_string(),
            reader: Box::new(file),
            options,
        })
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    pub files: usize,
    pub rows_read: u64,
    pub bars_written: u64,
    pub open_interest_written: u64,
    pub instruments_created: u64,
    pub duplicates: u64,
    /// Rows skipped with `skip_invalid`, per file.
    pub skipped: Vec<(String, RowError)>,
}

fn parse_one(file: ImportFile) -> Result<(String, ParsedFile), ServiceError> {
    let name = file.name;
    let fail = |error| ServiceError::Import {
        file: name.clone(),
        error,
    };
    let reader = maybe_gunzip(file.reader).map_err(|e| fail(e.into()))?;
    let parsed = parse_csv(reader, &file.options).map_err(fail)?;
    Ok((name, parsed))
}

impl Service {
    /// Import files atomically: all of them, or (on any invalid file) none.
    pub async fn import(&self, files: Vec<ImportFile>) -> Result<ImportReport, ServiceError> {
        let parsed = tokio::task::spawn_blocking(move || {
            files
                .into_iter()
                .map(parse_one)
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ServiceError::invalid("files", format!("import task failed: {e}")))??;
        let mut report = ImportReport {
            files: parsed.len(),
            ..Default::default()
        };
        let mut batch = IngestBatch {
            source: "file".into(),
            ..Default::default()
        };
        for (name, file) in parsed {
            report.rows_read += file.rows_read;
            report.duplicates += file.duplicates;
            report
                .skipped
                .extend(file.invalid.into_iter().map(|e| (name.clone(), e)));
            for s in file.series {
                let symbol = s.instrument.symbol.clone();
                batch.instruments.push(s.instrument);
                if !s.open_interest.is_empty() {
                    let readings = s
                        .open_interest
                        .into_iter()
                        .map(|(ts, value)| OpenInterestReading { ts, value });
                    batch
                        .open_interest
                        .push((symbol.clone(), readings.collect()));
                }
                if !s.bars.is_empty() {
                    batch.series.push(SeriesBatch {
                        symbol,
                        resolution: s.resolution,
                        bars: s.bars,
                    });
                }
            }
        }
        // Live subscribers see the new bars once they are stored.
        let live = (!self.live.is_empty()).then(|| batch.series.clone());
        let stats = self.store.ingest(batch).await?;
        // The import is committed; a failed refresh only leaves the backlog for the next one.
        if let Err(e) = self.refresh_rollups().await {
            tracing::warn!(error = %e, "rollup refresh after import failed");
        }
        for series in live.iter().flatten() {
            self.live
                .publish(&series.symbol, series.resolution, &series.bars);
        }
        report.bars_written = stats.bars_written;
        report.open_interest_written = stats.open_interest_written;
        report.instruments_created = stats.instruments_created;
        tracing::info!(
            files = report.files,
            bars = report.bars_written,
            "import finished"
        );
        Ok(report)
    }
}
