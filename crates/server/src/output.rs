//! Machine-readable output of the CLI: CSV, JSON and NDJSON on stdout.

use std::io::{self, Write};

use tradeassist_model::time::rfc3339;
use tradeassist_service::FetchResult;

use crate::api::dto::{BarDto, FetchResponse};

/// Output formats of `tradeassist query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Ndjson,
}

/// CSV `ts,open,high,low,close,volume[,open_interest]`, with a leading `symbol` column when
/// the result holds more than one symbol.
pub fn write_csv(out: &mut impl Write, result: &FetchResult) -> io::Result<()> {
    let multi = result.series.len() > 1;
    let with_oi = result.series.iter().flat_map(|s| &s.bars).any(|b| b.open_interest().is_some());
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["ts", "open", "high", "low", "close", "volume"];
    if multi {
        header.insert(0, "symbol");
    }
    if with_oi {
        header.push("open_interest");
    }
    w.write_record(&header)?;
    for s in &result.series {
        for b in &s.bars {
            let mut rec = vec![
                rfc3339(b.ts()),
                b.open().to_string(),
                b.high().to_string(),
                b.low().to_string(),
                b.close().to_string(),
                b.volume().to_string(),
            ];
            if multi {
                rec.insert(0, s.instrument.symbol.clone());
            }
            if with_oi {
                rec.push(b.open_interest().map(|v| v.to_string()).unwrap_or_default());
            }
            w.write_record(&rec)?;
        }
    }
    w.flush()
}

/// The same document as the REST `fetch` response.
pub fn write_json(out: &mut impl Write, response: &FetchResponse) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, response)?;
    writeln!(out)
}

/// One JSON object per bar, with its symbol.
pub fn write_ndjson(out: &mut impl Write, result: &FetchResult) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        symbol: &'a str,
        #[serde(flatten)]
        bar: BarDto,
    }
    for s in &result.series {
        for b in &s.bars {
            serde_json::to_writer(&mut *out, &Line { symbol: &s.instrument.symbol, bar: BarDto::from(b) })?;
            writeln!(out)?;
        }
    }
    Ok(())
}
