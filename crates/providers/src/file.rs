//! CSV import with header-based column mapping.
//!
//! Columns are found by header name (case-insensitive, common aliases such as `ts_utc`,
//! `time_utc`, `date`, `o`/`h`/`l`/`c`), or named explicitly with [`CsvOptions::columns`].
//! Timestamps may be RFC 3339, epoch seconds / milliseconds / microseconds / nanoseconds
//! (told apart by magnitude), or a `YYYY-MM-DD` date for daily bars. Futures files carry a
//! `contract_month` (and optional `expiry`) column: each row then belongs to the contract
//! `ROOT` + month, with `ROOT` from `--symbol`. Rows with empty prices but an open interest are
//! open-interest-only readings.
//!
//! Every row is checked (numbers, bar invariants, time) before anything is returned; invalid
//! rows are reported with their line numbers.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use chrono::{DateTime, NaiveDate};
use tradeassist_model::{
    AssetClass, Bar, ContractMonth, ContractSymbol, FuturesContract, NewInstrument, Resolution,
    instrument::{known_asset_class, normalize_symbol},
    time::date_key,
};

/// A column the importer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Ts,
    Symbol,
    Open,
    High,
    Low,
    Close,
    Volume,
    OpenInterest,
    TradeCount,
    Vwap,
    ContractMonth,
    Expiry,
    FirstNotice,
}

impl Field {
    const ALL: [Field; 13] = [
        Field::Ts,
        Field::Symbol,
        Field::Open,
        Field::High,
        Field::Low,
        Field::Close,
        Field::Volume,
        Field::OpenInterest,
        Field::TradeCount,
        Field::Vwap,
        Field::ContractMonth,
        Field::Expiry,
        Field::FirstNotice,
    ];

    /// Header names recognised for this field (lower case); the first is the canonical name.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Ts => &[
                "ts",
                "ts_utc",
                "time",
                "time_utc",
                "timestamp",
                "datetime",
                "date",
            ],
            Field::Symbol => &["symbol", "ticker"],
            Field::Open => &["open", "o"],
            Field::High => &["high", "h"],
            Field::Low => &["low", "l"],
            Field::Close => &["close", "c"],
            Field::Volume => &["volume", "vol", "v"],
            Field::OpenInterest => &["open_interest", "oi", "openinterest"],
            Field::TradeCount => &["trade_count", "trades", "num_trades"],
            Field::Vwap => &["vwap"],
            Field::ContractMonth => &["contract_month", "contract"],
            Field::Expiry => &["expiry", "last_trade_date", "expiration"],
            Field::FirstNotice => &["first_notice", "first_notice_date"],
        }
    }

    /// Parse a field name as used in `--column FIELD=HEADER`.
    pub fn parse(name: &str) -> Option<Field> {
        let n = name.trim().to_ascii_lowercase();
        Field::ALL.into_iter().find(|f| f.aliases()[0] == n)
    }

    pub fn name(self) -> &'static str {
        self.aliases()[0]
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Symbol for every row (files without a symbol column), or the root for futures files.
    pub symbol: Option<String>,
    /// Asset class of instruments the file creates. Default: known reference data, else stock.
    pub asset_class: Option<AssetClass>,
    /// Stored resolution; inferred when absent (dates or all-midnight stamps mean daily).
    pub resolution: Option<Resolution>,
    /// Explicit header name per field, overriding the aliases.
    pub columns: Vec<(Field, String)>,
    /// Import the valid rows and report the rest instead of refusing the file.
    pub skip_invalid: bool,
}

/// One invalid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("header: {0}")]
    Header(String),
    #[error("{} invalid row(s); nothing imported. {}", .0.len(), summarize(.0))]
    InvalidRows(Vec<RowError>),
    #[error("the file has no data rows")]
    Empty,
}

fn summarize(errors: &[RowError]) -> String {
    let shown: Vec<String> = errors.iter().take(10).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(10);
    if more > 0 {
        format!("{}; and {more} more", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

/// Bars of one instrument at one resolution, ascending by time, no duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSeries {
    pub instrument: NewInstrument,
    pub resolution: Resolution,
    pub bars: Vec<Bar>,
    /// Open-interest-only readings `(ts, value)`, ascending.
    pub open_interest: Vec<(i64, f64)>,
}

/// What a file contained.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    pub series: Vec<ImportedSeries>,
    pub rows_read: u64,
    /// Rows skipped (only with `skip_invalid`).
    pub invalid: Vec<RowError>,
    /// Rows that repeated an earlier (instrument, time); the later row wins.
    pub duplicates: u64,
}

impl ParsedFile {
    pub fn bar_count(&self) -> usize {
        self.series.iter().map(|s| s.bars.len()).sum()
    }
    pub fn open_interest_count(&self) -> usize {
        self.series.iter().map(|s| s.open_interest.len()).sum()
    }
}

/// Wrap a reader, transparently gunzipping when the data starts with the gzip magic bytes.
pub fn maybe_gunzip<R: Read + 'static>(reader: R) -> std::io::Result<Box<dyn Read>> {
    let mut buffered = BufReader::new(reader);
    let magic = std::io::BufRead::fill_buf(&mut buffered)?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// A time value as written in the file.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    Date(NaiveDate),
    Instant(i64),
}

fn parse_stamp(s: &str) -> Result<Stamp, String> {
    let t = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Stamp::Date(d));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(Stamp::Instant(dt.timestamp()));
    }
    if let Ok(n) = t.parse::<i64>() {
        let a = n.unsigned_abs();
        let secs = if a < 100_000_000_000 {
            n
        } else if a < 100_000_000_000_000 {
            n.div_euclid(1_000)
        } else if a < 100_000_000_000_000_000 {
            n.div_euclid(1_000_000)
        } else {
            n.div_euclid(1_000_000_000)
        };
        return Ok(Stamp::Instant(secs));
    }
    Err(format!(
        "unparseable time `{t}` (expected RFC 3339, epoch seconds/ms/us/ns, or YYYY-MM-DD)"
    ))
}

fn parse_num(field: Field, s: &str) -> Result<Option<f64>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("{} `{t}` is not a number", field.name())),
    }
}

/// A row that passed field-level checks, before resolution inference.
struct Row {
    line: u64,
    key: String,
    stamp: Stamp,
    prices: Option<[f64; 5]>,
    open_interest: Option<f64>,
    trade_count: Option<u64>,
    vwap: Option<f64>,
}

/// Resolve header positions: explicit overrides first, then aliases.
fn map_columns(
    headers: &csv::StringRecord,
    opts: &CsvOptions,
) -> Result<BTreeMap<Field, usize>, ImportError> {
    let lower: Vec<String> = headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut map = BTreeMap::new();
    for (field, header) in &opts.columns {
        let want = header.trim().to_ascii_lowercase();
        let idx = lower.iter().position(|h| *h == want).ok_or_else(|| {
            ImportError::Header(format!(
                "column `{header}` (for {}) is not in the header",
                field.name()
            ))
        })?;
        map.insert(*field, idx);
    }
    for field in Field::ALL {
        if map.contains_key(&field) {
            continue;
        }
        if let Some(idx) = field
            .aliases()
            .iter()
            .find_map(|a| lower.iter().position(|h| h == a))
            && !map.values().any(|v| *v == idx)
        {
            map.insert(field, idx);
        }
    }
    let missing: Vec<&str> = [
        Field::Ts,
        Field::Open,
        Field::High,
        Field::Low,
        Field::Close,
    ]
    .into_iter()
    .filter(|f| !map.contains_key(f))
    .map(Field::name)
    .collect();
    if !missing.is_empty() {
        return Err(ImportError::Header(format!(
            "missing column(s) {} (header: {})",
            missing.join(", "),
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    }
    if !map.contains_key(&Field::Symbol) && opts.symbol.is_none() {
        return Err(ImportError::Header(
            "the file has no symbol column; pass --symbol".into(),
        ));
    }
    Ok(map)
}

/// Per-instrument definition derived from a row.
fn instrument_for(
    map: &BTreeMap<Field, usize>,
    rec: &csv::StringRecord,
    opts: &CsvOptions,
    reference: NaiveDate,
) -> Result<NewInstrument, String> {
    let cell = |f: Field| {
        map.get(&f)
            .and_then(|i| rec.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let raw_symbol = opts
        .symbol
        .as_deref()
        .or_else(|| cell(Field::Symbol))
        .ok_or("empty symbol")?;
    let symbol = normalize_symbol(raw_symbol).map_err(|e| e.to_string())?;
    let contract_month = cell(Field::ContractMonth);
    let class = opts
        .asset_class
        .or(contract_month.map(|_| AssetClass::Future))
        .or_else(|| known_asset_class(&symbol))
        .unwrap_or(AssetClass::Stock);
    if class != AssetClass::Future {
        return NewInstrument::equity(&symbol, class).map_err(|e| e.to_string());
    }
    let date = |f: Field| {
        cell(f)
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| format!("{} `{s}` is not a date", f.name()))
            })
            .transpose()
    };
    let (root, month) = match contract_month {
        Some(m) => (
            symbol,
            m.parse::<ContractMonth>().map_err(|e| e.to_string())?,
        ),
        None => {
            let c = ContractSymbol::parse(&symbol, reference).map_err(|e| e.to_string())?;
            (c.root().to_string(), c.month())
        }
    };
    NewInstrument::future(FuturesContract {
        root,
        month,
        last_trade_date: date(Field::Expiry)?,
        first_notice_date: date(Field::FirstNotice)?,
    })
    .map_err(|e| e.to_string())
}

fn parse_row(
    map: &BTreeMap<Field, usize>,
    rec: &csv::StringRecord,
    line: u64,
    opts: &CsvOptions,
    instruments: &mut BTreeMap<String, NewInstrument>,
) -> Result<Row, String> {
    let cell = |f: Field| map.get(&f).and_then(|i| rec.get(*i)).unwrap_or("");
    let stamp = parse_stamp(cell(Field::Ts))?;
    let day = match stamp {
        Stamp::Date(d) => d,
        Stamp::Instant(ts) => DateTime::from_timestamp(ts, 0)
            .ok_or("time out of range")?
            .date_naive(),
    };
    let def = instrument_for(map, rec, opts, day)?;
    let key = def.symbol.clone();
    match instruments.get(&key) {
        Some(existing) if existing.contract != def.contract => {
            return Err(format!(
                "{key}: contract details differ from an earlier row"
            ));
        }
        Some(_) => {}
        None => {
            instruments.insert(key.clone(), def);
        }
    }
    let o = parse_num(Field::Open, cell(Field::Open))?;
    let h = parse_num(Field::High, cell(Field::High))?;
    let l = parse_num(Field::Low, cell(Field::Low))?;
    let c = parse_num(Field::Close, cell(Field::Close))?;
    let v = parse_num(Field::Volume, cell(Field::Volume))?;
    let open_interest = parse_num(Field::OpenInterest, cell(Field::OpenInterest))?;
    let vwap = parse_num(Field::Vwap, cell(Field::Vwap))?;
    let trade_count = match cell(Field::TradeCount).trim() {
        "" => None,
        t => Some(
            t.parse::<u64>()
                .map_err(|_| format!("trade_count `{t}` is not a whole number"))?,
        ),
    };
    let prices = match (o, h, l, c) {
        (Some(o), Some(h), Some(l), Some(c)) => Some([o, h, l, c, v.unwrap_or(0.0)]),
        (None, None, None, None) if open_interest.is_some() && v.is_none() => None,
        _ => return Err(
            "open, high, low and close must all be present (or all empty with an open interest)"
                .into(),
        ),
    };
    Ok(Row {
        line,
        key,
        stamp,
        prices,
        open_interest,
        trade_count,
        vwap,
    })
}

/// Bars by time and open-interest-only readings by time, of one instrument.
type SeriesRows = (BTreeMap<i64, Bar>, BTreeMap<i64, f64>);

/// Parse and validate a whole CSV file.
pub fn parse_csv(reader: impl Read, opts: &CsvOptions) -> Result<ParsedFile, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| ImportError::Header(e.to_string()))?
        .clone();
    let map = map_columns(&headers, opts)?;
    let mut instruments = BTreeMap::new();
    let mut rows = Vec::new();
    let mut invalid = Vec::new();
    let mut rows_read = 0u64;
    let mut rec = csv::StringRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        return Err(ImportError::Io(std::io::Error::other(e.to_string())));
                    }
                    _ => {
                        invalid.push(RowError {
                            line,
                            message: e.to_string(),
                        });
                        rows_read += 1;
                        continue;
                    }
                }
            }
        }
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows_read += 1;
        let line = rec.position().map_or(line, |p| p.line());
        if rec.len() != headers.len() {
            invalid.push(RowError {
                line,
                message: format!("{} fields, header has {}", rec.len(), headers.len()),
            });
            continue;
        }
        match parse_row(&map, &rec, line, opts, &mut instruments) {
            Ok(row) => rows.push(row),
            Err(message) => invalid.push(RowError { line, message }),
        }
    }
    if rows_read == 0 {
        return Err(ImportError::Empty);
    }
    let resolution = opts.resolution.unwrap_or_else(|| infer_resolution(&rows));
    let mut series: BTreeMap<String, SeriesRows> = BTreeMap::new();
    let mut duplicates = 0;
    for row in rows {
        let ts = match (row.stamp, resolution) {
            (Stamp::Date(d), Resolution::Day) => date_key(d),
            (Stamp::Date(_), Resolution::Minute) => {
                invalid.push(RowError {
                    line: row.line,
                    message: "a date without time in a 1-minute file".into(),
                });
                continue;
            }
            (Stamp::Instant(ts), res) if ts.rem_euclid(res.seconds()) != 0 => {
                let unit = if res == Resolution::Day {
                    "a day (00:00 UTC)"
                } else {
                    "a minute"
                };
                invalid.push(RowError {
                    line: row.line,
                    message: format!("time {ts} is not on {unit} boundary"),
                });
                continue;
            }
            (Stamp::Instant(ts), _) => ts,
        };
        let entry = series.entry(row.key).or_default();
        let Some([o, h, l, c, v]) = row.prices else {
            duplicates += u64::from(
                entry
                    .1
                    .insert(ts, row.open_interest.unwrap_or(0.0))
                    .is_some(),
            );
            continue;
        };
        let bar = Bar::new(ts, o, h, l, c, v)
            .and_then(|b| b.with_open_interest(row.open_interest))
            .and_then(|b| b.with_vwap(row.vwap))
            .map(|b| b.with_trade_count(row.trade_count));
        match bar {
            Ok(bar) => duplicates += u64::from(entry.0.insert(ts, bar).is_some()),
            Err(e) => invalid.push(RowError {
                line: row.line,
                message: e.to_string(),
            }),
        }
    }
    if !invalid.is_empty() && !opts.skip_invalid {
        invalid.sort_by_key(|e| e.line);
        return Err(ImportError::InvalidRows(invalid));
    }
    invalid.sort_by_key(|e| e.line);
    let series = series
        .into_iter()
        .filter(|(_, (bars, oi))| !bars.is_empty() || !oi.is_empty())
        .map(|(key, (bars, oi))| ImportedSeries {
            instrument: instruments
                .remove(&key)
                .expect("every row registered its instrument"),
            resolution,
            bars: bars.into_values().collect(),
            open_interest: oi.into_iter().collect(),
        })
        .collect();
    Ok(ParsedFile {
        series,
        rows_read,
        invalid,
        duplicates,
    })
}

/// Dates, or instants all at 00:00 UTC, mean a daily file; anything else is 1-minute.
fn infer_resolution(rows: &[Row]) -> Resolution {
    let daily = rows.iter().all(|r| match r.stamp {
        Stamp::Date(_) => true,
        Stamp::Instant(ts) => ts.rem_euclid(86_400) == 0,
    });
    if daily && !rows.is_empty() {
        Resolution::Day
    } else {
        Resolution::Minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &str, opts: &CsvOptions) -> Result<ParsedFile, ImportError> {
        parse_csv(csv.as_bytes(), opts)
    }

    #[test]
    fn daily_file_with_symbol_column() {
        let p = parse(
            "date,symbol,open,high,low,close,volume\n2013-01-02,AAPL,1,2,0.5,1.5,100\n2013-01-03,IBM,5,6,4,5,7\n",
            &CsvOptions::default(),
        )
        .unwrap();
        assert_eq!(p.series.len(), 2);
        assert_eq!(p.series[0].resolution, Resolution::Day);
        assert_eq!(p.series[0].bars[0].ts(), 1_357_084_800);
        assert_eq!(p.series[1].instrument.symbol, "IBM");
    }

    #[test]
    fn epoch_units_are_told_apart() {
        let rows = "ts,open,high,low,close,volume\n1381152600,1,1,1,1,1\n1381152660000,1,1,1,1,1\n1381152720000000000,1,1,1,1,1\n";
        let p = parse(
            rows,
            &CsvOptions {
                symbol: Some("spy".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let ts: Vec<i64> = p.series[0].bars.iter().map(Bar::ts).collect();
        assert_eq!(ts, vec![1_381_152_600, 1_381_152_660, 1_381_152_720]);
        assert_eq!(p.series[0].resolution, Resolution::Minute);
    }

    #[test]
    fn invalid_rows_are_reported_by_line() {
        let rows = "ts,symbol,open,high,low,close,volume\n\
                    2013-10-07T13:30:00Z,SPY,1,2,0.5,1.5,100\n\
                    2013-10-07T13:31:00Z,SPY,1,0.5,2,1.5,100\n\
                    2013-10-07T13:32:00Z,SPY,x,2,0.5,1.5,100\n\
                    yesterday,SPY,1,2,0.5,1.5,100\n";
        let Err(ImportError::InvalidRows(errs)) = parse(rows, &CsvOptions::default()) else {
            panic!("accepted")
        };
        assert_eq!(
            errs.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert!(errs[0].message.contains("below low"), "{}", errs[0]);
        let skip = parse(
            rows,
            &CsvOptions {
                skip_invalid: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(skip.bar_count(), 1);
        assert_eq!(skip.invalid.len(), 3);
    }

    #[test]
    fn futures_rows_map_to_contracts_and_open_interest() {
        let rows = "time_utc,contract_month,expiry,open,high,low,close,volume,open_interest\n\
                    2013-10-06T00:00:00Z,201312,2013-12-20,1676.75,1678.25,1673.25,1676.5,21573,2691941\n\
                    2013-10-06T00:00:00Z,201406,2014-06-20,,,,,,967\n";
        let opts = CsvOptions {
            symbol: Some("ES".into()),
            asset_class: Some(AssetClass::Future),
            ..Default::default()
        };
        let p = parse(rows, &opts).unwrap();
        let by = |s: &str| p.series.iter().find(|x| x.instrument.symbol == s).unwrap();
        let z = by("ESZ13");
        assert_eq!(z.instrument.symbol, "ESZ13");
        assert_eq!(
            z.instrument.contract.as_ref().unwrap().last_trade_date,
            NaiveDate::from_ymd_opt(2013, 12, 20)
        );
        assert_eq!(z.bars[0].open_interest(), Some(2_691_941.0));
        assert_eq!(z.resolution, Resolution::Day);
        let m = by("ESM14");
        assert!(m.bars.is_empty());
        assert_eq!(m.open_interest, vec![(1_381_017_600, 967.0)]);
    }

    #[test]
    fn contract_symbols_in_the_symbol_column() {
        let rows =
            "ts,symbol,open,high,low,close,volume\n2013-10-07T13:30:00Z,ESZ3,1,2,0.5,1.5,100\n";
        let opts = CsvOptions {
            asset_class: Some(AssetClass::Future),
            ..Default::default()
        };
        let p = parse(rows, &opts).unwrap();
        assert_eq!(p.series[0].instrument.symbol, "ESZ13");
    }

    #[test]
    fn header_problems() {
        assert!(matches!(
            parse("ts,open,high\n1,2,3\n", &CsvOptions::default()),
            Err(ImportError::Header(_))
        ));
        assert!(matches!(
            parse("ts,open,high,low,close\n1,2,3,1,2\n", &CsvOptions::default()),
            Err(ImportError::Header(m)) if m.contains("--symbol")
        ));
        let opts = CsvOptions {
            columns: vec![(Field::Close, "Last".into())],
            symbol: Some("X".into()),
            ..Default::default()
        };
        let p = parse("time,open,high,low,last\n2013-01-02,1,2,0.5,1.5\n", &opts).unwrap();
        assert_eq!(p.series[0].bars[0].close(), 1.5);
        assert!(matches!(
            parse("ts,open,high,low,close,volume\n", &CsvOptions::default()),
            Err(ImportError::Empty | ImportError::Header(_))
        ));
    }

    #[test]
    fn duplicate_rows_keep_the_last() {
        let rows = "date,symbol,open,high,low,close\n2013-01-02,A,1,1,1,1\n2013-01-02,A,2,2,2,2\n";
        let p = parse(rows, &CsvOptions::default()).unwrap();
        assert_eq!(p.duplicates, 1);
        assert_eq!(p.series[0].bars[0].close(), 2.0);
    }

    #[test]
    fn off_boundary_minute_is_invalid() {
        let rows = "ts,symbol,open,high,low,close\n2013-10-07T13:30:30Z,SPY,1,1,1,1\n";
        assert!(matches!(
            parse(rows, &CsvOptions::default()),
            Err(ImportError::InvalidRows(_))
        ));
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"date,symbol,open,high,low,close\n2013-01-02,A,1,1,1,1\n")
            .unwrap();
        let bytes = gz.finish().unwrap();
        let p = parse_csv(
            maybe_gunzip(std::io::Cursor::new(bytes)).unwrap(),
            &CsvOptions::default(),
        )
        .unwrap();
        assert_eq!(p.bar_count(), 1);
    }
}
