//! Machine-readable output of the CLI: CSV, JSON and NDJSON on stdout.

use std::io::{self, Write};

use tradeassist_model::time::rfc3339;
use tradeassist_service::{FetchResult, GapResult, SeriesResult};

use crate::api::dto::BarDto;

/// Output formats of `tradeassist query` and `gaps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Ndjson,
}

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The columns of a bar CSV: `ts,open,high,low,close,volume[,open_interest]`, with a
/// leading `symbol` column when the result holds more than one symbol; `detail` appends
/// `date,vwap,complete`; continuous futures add the `contract` of each bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvLayout {
    pub multi: bool,
    pub open_interest: bool,
    pub detail: bool,
    pub contract: bool,
}

impl CsvLayout {
    /// The layout of a whole result.
    pub fn of(result: &FetchResult, detail: bool) -> Self {
        CsvLayout {
            multi: result.series.len() > 1,
            open_interest: result
                .series
                .iter()
                .flat_map(|s| &s.bars)
                .any(|b| b.open_interest.is_some()),
            detail,
            contract: result.series.iter().any(|s| s.continuous.is_some()),
        }
    }

    /// Write the header line.
    pub fn write_header<W: Write>(&self, w: &mut csv::Writer<W>) -> io::Result<()> {
        let mut header = vec!["ts", "open", "high", "low", "close", "volume"];
        if self.multi {
            header.insert(0, "symbol");
        }
        if self.open_interest {
            header.push("open_interest");
        }
        if self.detail {
            header.extend(["date", "vwap", "complete"]);
        }
        if self.contract {
            header.push("contract");
        }
        Ok(w.write_record(&header)?)
    }

    /// Write one row per bar of a series (or of a piece of it).
    pub fn write_series<W: Write>(
        &self,
        w: &mut csv::Writer<W>,
        s: &SeriesResult,
    ) -> io::Result<()> {
        let contracts = s.continuous.as_ref().map(|c| &c.bar_contracts);
        for (i, b) in s.bars.iter().enumerate() {
            let p = b.ohlc;
            let mut rec = vec![
                rfc3339(b.ts),
                num(p.map(|p| p.open)),
                num(p.map(|p| p.high)),
                num(p.map(|p| p.low)),
                num(p.map(|p| p.close)),
                b.volume.to_string(),
            ];
            if self.multi {
                rec.insert(0, s.instrument.symbol.clone());
            }
            if self.open_interest {
                rec.push(num(b.open_interest));
            }
            if self.detail {
                rec.extend([
                    b.date.map(|d| d.to_string()).unwrap_or_default(),
                    num(b.vwap),
                    b.complete.to_string(),
                ]);
            }
            if self.contract {
                rec.push(
                    contracts
                        .and_then(|c| c.get(i))
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                );
            }
            w.write_record(&rec)?;
        }
        Ok(())
    }
}

/// A whole result as CSV (see [`CsvLayout`]).
pub fn write_csv(out: &mut impl Write, result: &FetchResult, detail: bool) -> io::Result<()> {
    let layout = CsvLayout::of(result, detail);
    let mut w = csv::Writer::from_writer(out);
    layout.write_header(&mut w)?;
    for s in &result.series {
        layout.write_series(&mut w, s)?;
    }
    w.flush()
}

/// The same document as the REST `fetch` response.
pub fn write_json<T: serde::Serialize>(out: &mut impl Write, doc: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

/// One JSON object per bar, with its symbol.
pub fn write_ndjson(out: &mut impl Write, result: &FetchResult) -> io::Result<()> {
    for s in &result.series {
        write_ndjson_series(out, s)?;
    }
    Ok(())
}

/// The NDJSON lines of one series (or of a piece of it).
pub fn write_ndjson_series(out: &mut impl Write, s: &SeriesResult) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        symbol: &'a str,
        #[serde(flatten)]
        bar: BarDto,
    }
    for b in &s.bars {
        serde_json::to_writer(
            &mut *out,
            &Line {
                symbol: &s.instrument.symbol,
                bar: BarDto::from(b),
            },
        )?;
        writeln!(out)?;
    }
    Ok(())
}

/// CSV `start,end,missing` of a gap report.
pub fn write_gaps_csv(out: &mut impl Write, gaps: &GapResult) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["start", "end", "missing"])?;
    for g in &gaps.report.gaps {
        w.write_record([rfc3339(g.start), rfc3339(g.end), g.missing.to_string()])?;
    }
    w.flush()
}

/// A feature matrix as CSV: `ts` (RFC 3339 bar start), then one column per feature (empty
/// where the value is null).
pub fn write_features_csv(
    out: &mut impl Write,
    bars: &[tradeassist_engine::AggBar],
    columns: &[(String, Vec<Option<f64>>)],
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["ts".to_string()];
    header.extend(columns.iter().map(|(n, _)| n.clone()));
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for (i, b) in bars.iter().enumerate() {
        row.clear();
        row.push(tradeassist_model::rfc3339(b.start));
        row.extend(columns.iter().map(|(_, v)| num(v[i])));
        w.write_record(&row)?;
    }
    w.flush()
}
