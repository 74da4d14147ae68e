//! Parquet archive of old bars: one file per series (instrument and resolution) and archive run.
//!
//! A file holds the columns `ts, open, high, low, close, volume, open_interest, trade_count,
//! vwap` (nullable where the bar field is optional) and names its series in the Arrow schema
//! metadata (`tradeassist.symbol`, `tradeassist.resolution_seconds`). Values are stored as
//! written (PLAIN/dictionary encoding, Snappy), so a restore gives back the same `f64` bits.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tradeassist_store::StoreError> {
//! use tradeassist_store::{sqlite::SqliteStore, Maintenance};
//! let store = SqliteStore::open("/tmp/demo.db").await?;
//! let report = store.archive(1_388_534_400, "/tmp/archive".as_ref()).await?; // before 2014
//! println!("{} bars in {} files", report.bars, report.files.len());
//! store.restore("/tmp/archive".as_ref()).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tradeassist_model::{Bar, Resolution};

use crate::{IngestBatch, Result, SeriesBatch, Store, StoreError};

/// What an archive run wrote (the bars are deleted from the store afterwards).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveReport {
    pub files: Vec<PathBuf>,
    pub bars: u64,
}

const SYMBOL_KEY: &str = "tradeassist.symbol";
const RESOLUTION_KEY: &str = "tradeassist.resolution_seconds";
/// Name of the data source a restore is credited to (none is seeded, so no counter moves).
pub const RESTORE_SOURCE: &str = "archive";

fn io_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{}: {e}", path.display()))
}

fn schema(symbol: &str, resolution: Resolution) -> Arc<Schema> {
    let f = |name: &str, t: DataType, nullable: bool| Field::new(name, t, nullable);
    let metadata = HashMap::from([
        (SYMBOL_KEY.to_string(), symbol.to_string()),
        (RESOLUTION_KEY.to_string(), resolution.seconds().to_string()),
    ]);
    Arc::new(
        Schema::new(vec![
            f("ts", DataType::Int64, false),
            f("open", DataType::Float64, false),
            f("high", DataType::Float64, false),
            f("low", DataType::Float64, false),
            f("close", DataType::Float64, false),
            f("volume", DataType::Float64, false),
            f("open_interest", DataType::Float64, true),
            f("trade_count", DataType::Int64, true),
            f("vwap", DataType::Float64, true),
        ])
        .with_metadata(metadata),
    )
}

/// A file name safe on every file system: symbol characters outside `[A-Za-z0-9._-]` are hex.
fn file_name(symbol: &str, resolution: Resolution, bars: &[Bar]) -> String {
    let safe: String = symbol
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect();
    let first = bars.first().map_or(0, Bar::ts);
    let last = bars.last().map_or(0, Bar::ts);
    format!("{safe}_{resolution}_{first}_{last}.parquet")
}

/// Write the bars of one series (ascending) to a new Parquet file in `dir`; returns its path.
/// Refuses to overwrite an existing file. The file is synced before this returns.
pub fn write_series(
    dir: &Path,
    symbol: &str,
    resolution: Resolution,
    bars: &[Bar],
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let path = dir.join(file_name(symbol, resolution, bars));
    if path.exists() {
        return Err(StoreError::Conflict(format!(
            "archive file {} already exists",
            path.display()
        )));
    }
    let f64s = |get: fn(&Bar) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(bars.iter().map(get)))
    };
    let opt = |get: fn(&Bar) -> Option<f64>| -> ArrayRef {
        Arc::new(bars.iter().map(get).collect::<Float64Array>())
    };
    let schema = schema(symbol, resolution);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(bars.iter().map(Bar::ts))),
            f64s(Bar::open),
            f64s(Bar::high),
            f64s(Bar::low),
            f64s(Bar::close),
            f64s(Bar::volume),
            opt(Bar::open_interest),
            Arc::new(
                bars.iter()
                    .map(|b| b.trade_count().map(|t| t as i64))
                    .collect::<Int64Array>(),
            ),
            opt(Bar::vwap),
        ],
    )
    .map_err(|e| io_error(&path, e))?;
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| io_error(&tmp, e))?;
    writer.write(&batch).map_err(|e| io_error(&tmp, e))?;
    let file = writer.into_inner().map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
    Ok(path)
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| io_error(path, format!("column `{name}` is missing or mistyped")))
}

/// Read one archive file back into its series.
pub fn read_series(path: &Path) -> Result<SeriesBatch> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_error(path, e))?;
    let metadata = builder.schema().metadata().clone();
    let symbol = metadata
        .get(SYMBOL_KEY)
        .ok_or_else(|| io_error(path, "not a TradeAssist archive (no symbol)"))?
        .clone();
    let resolution = metadata
        .get(RESOLUTION_KEY)
        .and_then(|s| s.parse().ok())
        .and_then(Resolution::from_seconds)
        .ok_or_else(|| io_error(path, "not a TradeAssist archive (no resolution)"))?;
    let mut bars = Vec::new();
    for batch in builder.build().map_err(|e| io_error(path, e))? {
        let batch = batch.map_err(|e| io_error(path, e))?;
        let ts = column::<Int64Array>(&batch, "ts", path)?;
        let [open, high, low, close, volume, oi, vwap] = [
            "open",
            "high",
            "low",
            "close",
            "volume",
            "open_interest",
            "vwap",
        ]
        .map(|name| column::<Float64Array>(&batch, name, path));
        let (open, high, low, close, volume, oi, vwap) =
            (open?, high?, low?, close?, volume?, oi?, vwap?);
        let trades = column::<Int64Array>(&batch, "trade_count", path)?;
        let opt = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..batch.num_rows() {
            let bar = Bar::new(
                ts.value(i),
                open.value(i),
                high.value(i),
                low.value(i),
                close.value(i),
                volume.value(i),
            )
            .and_then(|b| b.with_open_interest(opt(oi, i)))
            .and_then(|b| b.with_vwap(opt(vwap, i)))
            .map_err(|e| io_error(path, format!("bar at {}: {e}", ts.value(i))))?;
            let count = (!trades.is_null(i)).then(|| trades.value(i) as u64);
            bars.push(bar.with_trade_count(count));
        }
    }
    Ok(SeriesBatch {
        symbol,
        resolution,
        bars,
    })
}

/// Re-ingest every `*.parquet` archive file of `dir` (one atomic ingest per file, in file-name
/// order); the instruments must still exist. Returns the number of bars restored.
pub async fn restore<S: Store + ?Sized>(store: &S, dir: &Path) -> Result<u64> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    paths.sort();
    let mut restored = 0;
    for path in paths {
        let series = tokio::task::spawn_blocking(move || read_series(&path))
            .await
            .map_err(|e| StoreError::Backend(format!("restore task failed: {e}")))??;
        let stats = store
            .ingest(IngestBatch {
                series: vec![series],
                source: RESTORE_SOURCE.to_string(),
                ..Default::default()
            })
            .await?;
        restored += stats.bars_written;
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_round_trips_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let bars = vec![
            Bar::new(60, 0.1 + 0.2, 1.0e300, 1.0e-300, 0.5, 0.0)
                .unwrap()
                .with_trade_count(Some(u32::MAX as u64 + 7)),
            Bar::new(120, 3.0, 3.5, 2.5, 3.25, 12.5)
                .unwrap()
                .with_open_interest(Some(42.0))
                .unwrap()
                .with_vwap(Some(f64::MIN_POSITIVE))
                .unwrap(),
        ];
        let path = write_series(dir.path(), "ES.c/0", Resolution::Minute, &bars).unwrap();
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("ES.c%2F0_1m_60_120")
        );
        let back = read_series(&path).unwrap();
        assert_eq!(back.symbol, "ES.c/0");
        assert_eq!(back.resolution, Resolution::Minute);
        assert_eq!(back.bars, bars);
        assert_eq!(back.bars[0].open().to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(matches!(
            write_series(dir.path(), "ES.c/0", Resolution::Minute, &bars),
            Err(StoreError::Conflict(_))
        ));
    }
}
