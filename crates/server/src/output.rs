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

    /// The header line.
    pub fn write_header(&self, out: &mut Vec<u8>) {
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
        out.extend_from_slice(header.join(",").as_bytes());
        out.push(b'\n');
    }

    /// One row per bar of a series (or of a piece of it), appended to `out`. Written by hand
    /// (the export's hot loop): the same bytes as the `csv` crate's writer would produce.
    pub fn write_series(&self, out: &mut Vec<u8>, s: &SeriesResult) {
        let contracts = s.continuous.as_ref().map(|c| &c.bar_contracts);
        let mut symbol = Vec::new();
        field(&mut symbol, &s.instrument.symbol);
        let mut day = DayPrefix::default();
        for (i, b) in s.bars.iter().enumerate() {
            if self.multi {
                out.extend_from_slice(&symbol);
                out.push(b',');
            }
            day.write_ts(out, b.ts);
            let p = b.ohlc;
            for v in [
                p.map(|p| p.open),
                p.map(|p| p.high),
                p.map(|p| p.low),
                p.map(|p| p.close),
                Some(b.volume),
            ] {
                out.push(b',');
                number(out, v);
            }
            if self.open_interest {
                out.push(b',');
                number(out, b.open_interest);
            }
            if self.detail {
                out.push(b',');
                if let Some(d) = b.date {
                    let _ = write!(out, "{d}");
                }
                out.push(b',');
                number(out, b.vwap);
                out.push(b',');
                out.extend_from_slice(if b.complete { b"true" } else { b"false" });
            }
            if self.contract {
                out.push(b',');
                if let Some(c) = contracts.and_then(|c| c.get(i)) {
                    field(out, c.as_ref());
                }
            }
            out.push(b'\n');
        }
    }
}

/// A number as Rust prints it (shortest text that reads back exactly), nothing for `None`.
fn number(out: &mut Vec<u8>, v: Option<f64>) {
    if let Some(v) = v
        && !short_decimal(out, v)
    {
        let _ = write!(out, "{v}");
    }
}

/// Powers of ten a price's decimals are tried with.
const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];

/// The text of `v` for the common case of a price or volume with at most six decimals and
/// less than 10^9 in size, written without the float formatter; `false` (nothing written)
/// otherwise. The same text as `Display`: the fewest decimals `k` such that the decimal
/// `m / 10^k` reads back as `v` (checked exactly: both are integers below 2^53, so the
/// division is correctly rounded like a parse). With `|v| < 10^9` and `k <= 6` the spacing of
/// such decimals exceeds the float's, so exactly one of them reads back as `v`: the shortest
/// text is unique.
fn short_decimal(out: &mut Vec<u8>, v: f64) -> bool {
    let a = v.abs();
    if a.is_nan() || a >= 1e9 {
        return false;
    }
    let Some((k, m)) = POW10.iter().enumerate().find_map(|(k, p)| {
        let m = (a * p).round();
        (m / p == a).then_some((k, m as u64))
    }) else {
        return false;
    };
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let mut digits = [0u8; 24];
    let mut n = 0;
    let mut rest = m;
    while rest > 0 || n <= k {
        digits[n] = b'0' + (rest % 10) as u8;
        rest /= 10;
        n += 1;
    }
    for i in (0..n).rev() {
        out.push(digits[i]);
        if i == k && k > 0 {
            out.push(b'.');
        }
    }
    true
}

/// A CSV field, quoted (quotes doubled) when it holds a comma, a quote or a line break.
fn field(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// RFC 3339 timestamps (`2024-01-02T14:30:00Z`, as [`rfc3339`]) with the date part
/// formatted once per UTC day.
#[derive(Default)]
struct DayPrefix {
    day: Option<i64>,
    prefix: String,
}

impl DayPrefix {
    fn write_ts(&mut self, out: &mut Vec<u8>, ts: i64) {
        let day = ts.div_euclid(86_400);
        if self.day != Some(day) {
            let text = rfc3339(day * 86_400);
            if text.len() != 20 {
                // Outside the years 0000-9999: the plain formatter.
                self.day = None;
                out.extend_from_slice(rfc3339(ts).as_bytes());
                return;
            }
            self.prefix = text[..11].to_string();
            self.day = Some(day);
        }
        let secs = ts.rem_euclid(86_400);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        out.extend_from_slice(self.prefix.as_bytes());
        for (v, sep) in [(h, b':'), (m, b':'), (s, b'Z')] {
            out.push(b'0' + (v / 10) as u8);
            out.push(b'0' + (v % 10) as u8);
            out.push(sep);
        }
    }
}

/// A whole result as CSV (see [`CsvLayout`]).
pub fn write_csv(out: &mut impl Write, result: &FetchResult, detail: bool) -> io::Result<()> {
    let layout = CsvLayout::of(result, detail);
    let mut buf = Vec::new();
    layout.write_header(&mut buf);
    for s in &result.series {
        layout.write_series(&mut buf, s);
        out.write_all(&buf)?;
        buf.clear();
    }
    out.write_all(&buf)?;
    out.flush()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_timestamps_equal_the_formatter() {
        let mut day = DayPrefix::default();
        // Minutes through several days, both sides of 1970, leap days and year ends, and
        // jumps back and forth (the cached date must follow).
        let mut stamps: Vec<i64> = (0..5_000).map(|i| 1_709_164_800 + i * 61).collect();
        stamps.extend([
            -1,
            -86_400,
            -86_401,
            0,
            86_399,
            86_400,
            951_782_400,
            253_402_300_799,
        ]);
        stamps.extend((0..2_000).map(|i| (i * 7_919_311_i64) % 4_000_000_000 - 1_000_000_000));
        stamps.push(253_402_300_800); // year 10000: the plain formatter
        stamps.push(1_709_164_800);
        for ts in stamps {
            let mut out = Vec::new();
            day.write_ts(&mut out, ts);
            assert_eq!(String::from_utf8(out).unwrap(), rfc3339(ts), "ts {ts}");
        }
    }

    #[test]
    fn fields_are_quoted_like_the_csv_crate() {
        for text in [
            "ES",
            "BRK.B",
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "cr\r",
            "",
            "x y",
        ] {
            let mut ours = Vec::new();
            field(&mut ours, text);
            ours.extend_from_slice(b",1\n");
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([text, "1"]).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(w.into_inner().unwrap()).unwrap()
            );
        }
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [
            0.1,
            90_366.050_048_828_12,
            1e21,
            1e-7,
            -0.0,
            4_321.25,
            f64::MAX,
        ] {
            let mut out = Vec::new();
            number(&mut out, Some(v));
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text, v.to_string());
            assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits());
        }
        let mut out = Vec::new();
        number(&mut out, None);
        assert!(out.is_empty());
    }

    #[test]
    fn fast_decimals_equal_the_float_formatter() {
        // Decimals of every scale and size around the fast path's edges, plus random bit
        // patterns (mostly handled by the formatter itself).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut values = vec![0.0, -0.0, 1e9, 999_999_999.999_999, 1e-6, 5e-7, 0.1 + 0.2];
        for _ in 0..200_000 {
            let r = next();
            let scale = 10f64.powi((r % 9) as i32);
            let m = (next() % 2_000_000_000_000) as f64;
            let sign = if r & 1 << 40 == 0 { 1.0 } else { -1.0 };
            values.push(sign * m / scale);
            values.push(f64::from_bits(next()));
        }
        for v in values {
            let mut out = Vec::new();
            number(&mut out, Some(v));
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string(), "{v:?}");
        }
    }
}
