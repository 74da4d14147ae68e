//! Export file formats: the chunks of a [`tradeassist_service::Export`] encoded as CSV,
//! NDJSON (the rows of `tradeassist query --format csv|ndjson`, written by `output`) or
//! Parquet (one row group per chunk). Shared by the HTTP export endpoint and the CLI.

use std::io::{self, Write};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tradeassist_model::Resolution;
use tradeassist_service::{ExportChunk, ExportSeries};

use crate::output::{CsvLayout, write_ndjson_series};

/// Formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Ndjson,
    Parquet,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "ndjson" => Ok(ExportFormat::Ndjson),
            "parquet" => Ok(ExportFormat::Parquet),
            other => Err(format!("unknown format `{other}`: csv, ndjson or parquet")),
        }
    }
}

impl ExportFormat {
    /// File name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Parquet => "parquet",
        }
    }

    /// HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// `<symbols>_<frequency>.<ext>`, with characters outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn file_name(symbols: &[String], frequency: &str, format: ExportFormat) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}_{}.{}",
        clean(&symbols.join("-")),
        clean(frequency),
        format.extension()
    )
}

/// A `Write` into a shared buffer, so the Parquet writer's output can be taken piece by piece.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes the chunks of one export; each call returns the bytes to send next.
pub struct ExportEncoder {
    kind: Kind,
}

enum Kind {
    Csv(CsvLayout),
    Ndjson,
    Parquet {
        writer: Box<ArrowWriter<SharedBuf>>,
        buf: SharedBuf,
        schema: Arc<Schema>,
        symbols: Vec<String>,
    },
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl ExportEncoder {
    /// An encoder for the series of an export. The CSV columns are fixed before any bar is
    /// read: `symbol` when several series, `contract` when any is continuous, and
    /// `open_interest` for futures derived from daily bars (the only stored bars that carry it).
    pub fn new(format: ExportFormat, series: &[ExportSeries]) -> io::Result<Self> {
        let kind = match format {
            ExportFormat::Csv => Kind::Csv(CsvLayout {
                multi: series.len() > 1,
                open_interest: series.iter().any(|s| s.future && s.base == Resolution::Day),
                detail: false,
                contract: series.iter().any(|s| s.continuous),
            }),
            ExportFormat::Ndjson => Kind::Ndjson,
            ExportFormat::Parquet => {
                let schema = Arc::new(parquet_schema());
                let buf = SharedBuf::default();
                let writer = ArrowWriter::try_new(buf.clone(), schema.clone(), Some(props()))
                    .map_err(io_err)?;
                Kind::Parquet {
                    writer: Box::new(writer),
                    buf,
                    schema,
                    symbols: series.iter().map(|s| s.symbol.clone()).collect(),
                }
            }
        };
        Ok(ExportEncoder { kind })
    }

    /// The bytes before the first chunk (the CSV header).
    pub fn header(&mut self) -> io::Result<Vec<u8>> {
        match &self.kind {
            Kind::Csv(layout) => {
                let mut out = Vec::new();
                layout.write_header(&mut out);
                Ok(out)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The bytes of one chunk (Parquet: one row group).
    pub fn chunk(&mut self, chunk: &ExportChunk) -> io::Result<Vec<u8>> {
        match &mut self.kind {
            Kind::Csv(layout) => {
                let mut out = Vec::with_capacity(chunk.result.bars.len() * 64);
                layout.write_series(&mut out, &chunk.result);
                Ok(out)
            }
            Kind::Ndjson => {
                let mut out = Vec::new();
                write_ndjson_series(&mut out, &chunk.result)?;
                Ok(out)
            }
            Kind::Parquet {
                writer,
                buf,
                schema,
                symbols,
            } => {
                let batch = record_batch(schema.clone(), &symbols[chunk.series], chunk)?;
                writer.write(&batch).map_err(io_err)?;
                writer.flush().map_err(io_err)?;
                Ok(buf.take())
            }
        }
    }

    /// The bytes after the last chunk (the Parquet footer).
    pub fn finish(self) -> io::Result<Vec<u8>> {
        match self.kind {
            Kind::Parquet { writer, buf, .. } => {
                writer.close().map_err(io_err)?;
                Ok(buf.take())
            }
            _ => Ok(Vec::new()),
        }
    }
}

/// Parquet writer settings: Snappy pages; dictionaries only for the repeated strings (symbol,
/// contract), since prices and times rarely repeat and a dictionary that overflows costs a
/// second encoding; statistics per column chunk (one per row group), enough for readers to
/// skip row groups by time.
fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled(ColumnPath::from("symbol"), true)
        .set_column_dictionary_enabled(ColumnPath::from("contract"), true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build()
}

/// Columns of an exported Parquet file.
fn parquet_schema() -> Schema {
    let f = |name: &str| Field::new(name, DataType::Float64, true);
    Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new(
            "ts",
            // Milliseconds: Parquet's own TIMESTAMP(MILLIS), read as a timestamp by pyarrow
            // and Polars (second-unit columns come back as plain integers there).
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        f("open"),
        f("high"),
        f("low"),
        f("close"),
        Field::new("volume", DataType::Float64, false),
        f("open_interest"),
        f("vwap"),
        Field::new("date", DataType::Date32, true),
        Field::new("complete", DataType::Boolean, false),
        Field::new("contract", DataType::Utf8, true),
    ])
}

fn record_batch(schema: Arc<Schema>, symbol: &str, chunk: &ExportChunk) -> io::Result<RecordBatch> {
    let s = &chunk.result;
    let bars = &s.bars;
    let price = |f: fn(&tradeassist_engine::Ohlc) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            bars.iter().map(|b| b.ohlc.as_ref().map(f)),
        ))
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let contracts = s.continuous.as_ref().map(|c| &c.bar_contracts);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(bars.iter().map(|_| symbol))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(
                bars.iter().map(|b| b.ts.saturating_mul(1000)),
            )
            .with_timezone("UTC"),
        ),
        price(|o| o.open),
        price(|o| o.high),
        price(|o| o.low),
        price(|o| o.close),
        Arc::new(Float64Array::from_iter_values(
            bars.iter().map(|b| b.volume),
        )),
        Arc::new(Float64Array::from_iter(
            bars.iter().map(|b| b.open_interest),
        )),
        Arc::new(Float64Array::from_iter(bars.iter().map(|b| b.vwap))),
        Arc::new(Date32Array::from_iter(bars.iter().map(|b| {
            b.date
                .map(|d| i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX))
        }))),
        Arc::new(BooleanArray::from_iter(
            bars.iter().map(|b| Some(b.complete)),
        )),
        Arc::new(StringArray::from_iter((0..bars.len()).map(|i| {
            contracts.and_then(|c| c.get(i)).map(|c| c.to_string())
        }))),
    ];
    RecordBatch::try_new(schema, columns).map_err(io_err)
}
