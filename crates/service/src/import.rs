//! Importing files: every file is read as a stream of bounded chunks, validated row by row,
//! and written through [`Store::ingest_stream`](tradeassist_store::Store::ingest_stream) in
//! ONE transaction, committed only after the last row of the last file passed. An invalid
//! row (without `skip_invalid`), an unreadable file or a store error rolls everything back:
//! all files or none. Memory stays flat whatever the file size: at most a few chunks are in
//! flight between the parsing thread and the writer.
//!
//! When a file, or two files of one import, carry the same bar (instrument, resolution,
//! time) twice, the row read last wins: later rows of a file, later files of the command line.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tradeassist_model::{NewInstrument, Resolution};
use tradeassist_providers::file::{CHUNK_ROWS, CsvOptions, CsvReader, RowError, maybe_gunzip};
use tradeassist_store::{
    IngestBatch, IngestMessage, OpenInterestReading, SeriesBatch, Store, StoreError,
};

use crate::rollup::RollupBuilder;

use crate::{Service, ServiceError};

/// Chunks queued between the parser and the writer (the memory of an import in flight).
const IN_FLIGHT: usize = 2;

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
    /// Rows that repeated an earlier (instrument, time); the row read last won.
    pub duplicates: u64,
    /// Rows skipped with `skip_invalid`, per file.
    pub skipped: Vec<(String, RowError)>,
    /// Series whose rollups were built from the streamed bars (new series); the others are
    /// refreshed from the store after the import.
    pub rollups_built: usize,
}

/// How far an import has read, for progress reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Bytes read from the files so far (compressed bytes for `.gz`).
    pub bytes: u64,
    /// Data rows read so far.
    pub rows: u64,
}

/// A reader that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The parsing side of an import: what it read, the bars live subscribers want, and the
/// rollups of new series built on the way.
struct Parsed {
    report: ImportReport,
    live: Vec<SeriesBatch>,
    rollups: Vec<crate::rollup::BuiltRollups>,
}

/// What the parser needs to know about the store before writing: whether a series is new.
struct Context {
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
}

impl Context {
    /// A rollup builder for a minute series the store holds no minute bars of yet.
    fn builder_for(&self, def: &NewInstrument) -> Option<RollupBuilder> {
        let stored = self
            .runtime
            .block_on(self.store.instrument(&def.symbol))
            .ok()?;
        if let Some(i) = stored {
            let series = self.runtime.block_on(self.store.series(i.id)).ok()?;
            if series.iter().any(|s| s.resolution == Resolution::Minute) {
                return None;
            }
        }
        let calendar = tradeassist_engine::Calendar::get(&def.calendar).ok()?;
        Some(RollupBuilder::new(
            calendar,
            crate::derive::default_session_of(def.asset_class),
        ))
    }
}

/// Read every file in chunks and send them to the writer; `Err` when a file is refused.
fn parse_files(
    files: Vec<ImportFile>,
    context: &Context,
    tx: &tokio::sync::mpsc::Sender<IngestMessage>,
    live: &dyn Fn(&str, Resolution) -> bool,
    progress: &dyn Fn(ImportProgress),
) -> Result<Parsed, ServiceError> {
    let mut report = ImportReport {
        files: files.len(),
        ..Default::default()
    };
    let mut announced: HashSet<String> = HashSet::new();
    let mut live_bars: Vec<SeriesBatch> = Vec::new();
    let mut builders: HashMap<String, Option<RollupBuilder>> = HashMap::new();
    let bytes = Arc::new(AtomicU64::new(0));
    for file in files {
        let name = file.name;
        let fail = |error| ServiceError::Import {
            file: name.clone(),
            error,
        };
        let counted = Counting {
            inner: file.reader,
            count: bytes.clone(),
        };
        let reader = maybe_gunzip(counted).map_err(|e| fail(e.into()))?;
        let mut csv = CsvReader::new(reader, &file.options).map_err(fail)?;
        while let Some(chunk) = csv.next_chunk(CHUNK_ROWS).map_err(fail)? {
            report.rows_read += chunk.rows_read;
            report.duplicates += chunk.duplicates;
            report
                .skipped
                .extend(chunk.invalid.into_iter().map(|e| (name.clone(), e)));
            let mut batch = IngestBatch::default();
            for s in chunk.series {
                let symbol = s.instrument.symbol.clone();
                if !s.bars.is_empty() && s.resolution == Resolution::Minute {
                    let builder = builders
                        .entry(symbol.clone())
                        .or_insert_with(|| context.builder_for(&s.instrument));
                    if let Some(b) = builder {
                        b.push(&s.bars)?;
                    }
                }
                if announced.insert(symbol.clone()) {
                    batch.instruments.push(s.instrument);
                }
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
                    let series = SeriesBatch {
                        symbol,
                        resolution: s.resolution,
                        bars: s.bars,
                    };
                    if live(&series.symbol, series.resolution) {
                        live_bars.push(series.clone());
                    }
                    batch.series.push(series);
                }
            }
            progress(ImportProgress {
                bytes: bytes.load(Ordering::Relaxed),
                rows: report.rows_read,
            });
            // The writer stopped (it failed): its error is the import's.
            if tx.blocking_send(IngestMessage::Chunk(batch)).is_err() {
                return Ok(Parsed {
                    report,
                    live: live_bars,
                    rollups: Vec::new(),
                });
            }
        }
    }
    let now = crate::now();
    let mut rollups = Vec::new();
    for (symbol, builder) in builders {
        if let Some(built) = builder.and_then(|b| b.finish(symbol, now).transpose()) {
            rollups.push(built?);
        }
    }
    let _ = tx.blocking_send(IngestMessage::Commit);
    Ok(Parsed {
        report,
        live: live_bars,
        rollups,
    })
}

impl Service {
    /// Import files atomically: all of them, or (on any invalid file) none.
    pub async fn import(&self, files: Vec<ImportFile>) -> Result<ImportReport, ServiceError> {
        self.import_with_progress(files, |_| {}).await
    }

    /// [`Service::import`], calling `progress` after every chunk read. Its duration is
    /// recorded in `tradeassist_import_duration_seconds{outcome}`.
    pub async fn import_with_progress(
        &self,
        files: Vec<ImportFile>,
        progress: impl Fn(ImportProgress) + Send + 'static,
    ) -> Result<ImportReport, ServiceError> {
        let started = std::time::Instant::now();
        let result = self.import_unmetered(files, progress).await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::histogram!(crate::metered::IMPORT_DURATION, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn import_unmetered(
        &self,
        files: Vec<ImportFile>,
        progress: impl Fn(ImportProgress) + Send + 'static,
    ) -> Result<ImportReport, ServiceError> {
        let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT);
        let hub = self.live.clone();
        let context = Context {
            store: self.store.clone(),
            runtime: tokio::runtime::Handle::current(),
        };
        let parser = tokio::task::spawn_blocking(move || {
            let wants = |symbol: &str, res: Resolution| hub.wants(symbol, res);
            parse_files(files, &context, &tx, &wants, &progress)
        });
        let (stored, parsed) = tokio::join!(self.store.ingest_stream("file".into(), rx), parser);
        let parsed =
            parsed.map_err(|e| ServiceError::Internal(format!("import task failed: {e}")))?;
        let (stats, parsed) = match (stored, parsed) {
            // The parser refused a file: the writer rolled back; the file's error is the answer.
            (_, Err(e)) => return Err(e),
            (Err(StoreError::Aborted), Ok(_)) => {
                return Err(ServiceError::Internal(
                    "the import stopped before its last chunk".into(),
                ));
            }
            (Err(e), Ok(_)) => return Err(e.into()),
            (Ok(stats), Ok(parsed)) => (stats, parsed),
        };
        // The import is committed; rollups of new series were built on the way, the rest is
        // refreshed from the store. A failure only leaves the backlog for the next refresh.
        let built = match self.write_built_rollups(parsed.rollups).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "writing the import's rollups failed");
                0
            }
        };
        if let Err(e) = self.refresh_rollups().await {
            tracing::warn!(error = %e, "rollup refresh after import failed");
        }
        for series in &parsed.live {
            self.live
                .publish(&series.symbol, series.resolution, &series.bars);
        }
        let mut report = parsed.report;
        report.rollups_built = built;
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
