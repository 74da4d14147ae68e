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
    /// With `symbol` and a file that has a symbol column: relabel every row as `symbol`
    /// instead of refusing rows of other symbols.
    pub override_symbol: bool,
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// The common shapes without chrono: `YYYY-MM-DD` and `YYYY-MM-DDTHH:MM:SS` followed by `Z`
/// or `+00:00` (also with a space for `T`). `None` means "ask the general parser".
fn fast_stamp(t: &[u8]) -> Option<Stamp> {
    if t.len() < 10 || t[4] != b'-' || t[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&t[0..4])?, digits(&t[5..7])?, digits(&t[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    if t.len() == 10 {
        return NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32).map(Stamp::Date);
    }
    let rest = &t[10..];
    let utc_tail = |tail: &[u8]| tail == b"Z" || tail == b"+00:00" || tail == b"z";
    if rest.len() < 9 || !(rest[0] == b'T' || rest[0] == b' ') || rest[3] != b':' || rest[6] != b':'
    {
        return None;
    }
    if !utc_tail(&rest[9..]) {
        return None;
    }
    let (hh, mm, ss) = (
        digits(&rest[1..3])?,
        digits(&rest[4..6])?,
        digits(&rest[7..9])?,
    );
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Reject impossible dates (Feb 30) exactly as the general parser would.
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)?;
    Some(Stamp::Instant(
        days_from_civil(y, m, d) * 86_400 + hh * 3_600 + mm * 60 + ss,
    ))
}

fn parse_stamp(s: &str) -> Result<Stamp, String> {
    let t = s.trim();
    if let Some(stamp) = fast_stamp(t.as_bytes()) {
        return Ok(stamp);
    }
    let epoch = t
        .strip_prefix('-')
        .unwrap_or(t)
        .bytes()
        .all(|b| b.is_ascii_digit());
    if !epoch {
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(Stamp::Date(d));
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Ok(Stamp::Instant(dt.timestamp()));
        }
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

/// Rows that passed field-level checks, and the rows that did not.
type Checked = (Vec<Row>, Vec<RowError>);

/// A row that passed field-level checks, before resolution inference: plain data, no strings.
#[derive(Debug, Clone, Copy)]
struct Row {
    line: u64,
    /// Index of the row's instrument in [`CsvReader::instruments`].
    series: usize,
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

/// The cells of one record, by field.
struct Cells<'a> {
    columns: &'a [Option<usize>; Field::ALL.len()],
    rec: &'a csv::ByteRecord,
}

impl Cells<'_> {
    fn get(&self, f: Field) -> &str {
        self.columns[f as usize]
            .and_then(|i| self.rec.get(i))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map_or("", str::trim)
    }

    fn opt(&self, f: Field) -> Option<&str> {
        Some(self.get(f)).filter(|s| !s.is_empty())
    }
}

/// Per-instrument definition derived from a row.
fn instrument_for(
    cells: &Cells<'_>,
    opts: &CsvOptions,
    reference: NaiveDate,
) -> Result<NewInstrument, String> {
    let raw_symbol = opts
        .symbol
        .as_deref()
        .or_else(|| cells.opt(Field::Symbol))
        .ok_or("empty symbol")?;
    let symbol = normalize_symbol(raw_symbol).map_err(|e| e.to_string())?;
    let contract_month = cells.opt(Field::ContractMonth);
    let class = opts
        .asset_class
        .or(contract_month.map(|_| AssetClass::Future))
        .or_else(|| known_asset_class(&symbol))
        .unwrap_or(AssetClass::Stock);
    if class != AssetClass::Future {
        return NewInstrument::equity(&symbol, class).map_err(|e| e.to_string());
    }
    let date = |f: Field| {
        cells
            .opt(f)
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

/// Rows per chunk of [`CsvReader::next_chunk`] unless asked otherwise: memory per chunk stays
/// in the low megabytes.
pub const CHUNK_ROWS: usize = 65_536;
/// Invalid rows kept for the report of a refused file (the count stays exact).
const MAX_REPORTED_ERRORS: usize = 10_000;

/// The part of a file that [`CsvReader::next_chunk`] read: every series with bars in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedChunk {
    /// Bars and readings per instrument, each ascending by time with no duplicate time (the
    /// later row wins).
    pub series: Vec<ImportedSeries>,
    pub rows_read: u64,
    /// Rows skipped (only with `skip_invalid`).
    pub invalid: Vec<RowError>,
    /// Rows that repeated an earlier (instrument, time) of the chunk, or the last one of the
    /// previous chunk; the later row wins.
    pub duplicates: u64,
}

/// A CSV file read in chunks of bounded size: the importer's streaming reader. Memory stays
/// flat whatever the file size. Rows are validated as they are read; without
/// `skip_invalid` the first invalid row makes the reader scan the rest of the file for the
/// report and fail with every invalid row ([`ImportError::InvalidRows`]), so a caller that
/// has written earlier chunks in a transaction rolls it back.
pub struct CsvReader<R: Read> {
    rdr: csv::Reader<R>,
    columns: [Option<usize>; Field::ALL.len()],
    width: usize,
    opts: CsvOptions,
    /// `--symbol` upper-cased, checked against a symbol column.
    expected_symbol: Option<String>,
    resolution: Option<Resolution>,
    instruments: Vec<NewInstrument>,
    by_key: std::collections::HashMap<String, usize>,
    by_symbol: std::collections::HashMap<String, usize>,
    last_ts: Vec<Option<i64>>,
    key: String,
    rec: csv::ByteRecord,
    rows_read: u64,
    any_row: bool,
}

impl<R: Read> CsvReader<R> {
    /// Read the header and map the columns.
    pub fn new(reader: R, opts: &CsvOptions) -> Result<Self, ImportError> {
        // Cells are trimmed when read ([`Cells::get`]), so the reader does not trim.
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::Headers)
            .from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| ImportError::Header(e.to_string()))?
            .clone();
        let map = map_columns(&headers, opts)?;
        let mut columns = [None; Field::ALL.len()];
        for (field, idx) in map {
            columns[field as usize] = Some(idx);
        }
        let expected_symbol = match (&opts.symbol, columns[Field::Symbol as usize]) {
            (Some(s), Some(_)) if !opts.override_symbol => Some(s.trim().to_ascii_uppercase()),
            _ => None,
        };
        Ok(CsvReader {
            rdr,
            columns,
            width: headers.len(),
            opts: opts.clone(),
            expected_symbol,
            resolution: opts.resolution,
            instruments: Vec::new(),
            by_key: Default::default(),
            by_symbol: Default::default(),
            last_ts: Vec::new(),
            key: String::new(),
            rec: csv::ByteRecord::new(),
            rows_read: 0,
            any_row: false,
        })
    }

    /// The stored resolution of the file (known after the first chunk).
    pub fn resolution(&self) -> Option<Resolution> {
        self.resolution
    }

    /// The next chunk of at most `max_rows` rows; `Ok(None)` at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<ParsedChunk>, ImportError> {
        let start_rows = self.rows_read;
        let (rows, mut invalid) = self.next_rows(max_rows.max(1))?.unwrap_or_default();
        let rows_read = self.rows_read - start_rows;
        if rows_read == 0 {
            if !self.any_row {
                return Err(ImportError::Empty);
            }
            return Ok(None);
        }
        let resolution = *self
            .resolution
            .get_or_insert_with(|| infer_resolution(&rows));
        let mut chunk = self.assemble(rows, resolution, &mut invalid);
        if !invalid.is_empty() && !self.opts.skip_invalid {
            return Err(self.refuse(invalid));
        }
        invalid.sort_by_key(|e| e.line);
        chunk.rows_read = rows_read;
        chunk.invalid = invalid;
        Ok(Some(chunk))
    }

    /// Scan the rest of the file for the report of a refused file (up to 10,000 invalid rows
    /// are listed).
    fn refuse(&mut self, mut invalid: Vec<RowError>) -> ImportError {
        while invalid.len() < MAX_REPORTED_ERRORS {
            let (rows, mut errors) = match self.next_rows(CHUNK_ROWS) {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(e) => return e,
            };
            let resolution = self.resolution.unwrap_or(Resolution::Minute);
            let _ = self.assemble(rows, resolution, &mut errors);
            invalid.extend(errors);
        }
        invalid.sort_by_key(|e| e.line);
        invalid.truncate(MAX_REPORTED_ERRORS);
        ImportError::InvalidRows(invalid)
    }

    /// Up to `max` more rows, checked (`None` at the end of the file).
    fn next_rows(&mut self, max: usize) -> Result<Option<Checked>, ImportError> {
        let (mut rows, mut errors) = (Vec::with_capacity(max.min(CHUNK_ROWS)), Vec::new());
        let start = self.rows_read;
        // One record buffer for the whole batch (it is reused row after row).
        let mut rec = std::mem::take(&mut self.rec);
        let outcome = loop {
            if rows.len() + errors.len() >= max {
                break Ok(());
            }
            match self.read_row(&mut rec) {
                Err(e) => break Err(e),
                Ok(None) => break Ok(()),
                Ok(Some(Ok(r))) => rows.push(r),
                Ok(Some(Err(e))) => errors.push(e),
            }
        };
        self.rec = rec;
        outcome?;
        Ok((self.rows_read > start).then_some((rows, errors)))
    }

    /// The next data row: `None` at the end, `Some(Err)` for an invalid row.
    fn read_row(
        &mut self,
        rec: &mut csv::ByteRecord,
    ) -> Result<Option<Result<Row, RowError>>, ImportError> {
        loop {
            let line = self.rdr.position().line();
            match self.rdr.read_byte_record(rec) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        return Err(ImportError::Io(std::io::Error::other(e.to_string())));
                    }
                    self.rows_read += 1;
                    self.any_row = true;
                    return Ok(Some(Err(RowError {
                        line,
                        message: e.to_string(),
                    })));
                }
            }
            if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            self.rows_read += 1;
            self.any_row = true;
            let line = rec.position().map_or(line, |p| p.line());
            if rec.len() != self.width {
                return Ok(Some(Err(RowError {
                    line,
                    message: format!("{} fields, header has {}", rec.len(), self.width),
                })));
            }
            return Ok(Some(
                self.parse_record(rec, line)
                    .map_err(|message| RowError { line, message }),
            ));
        }
    }

    fn parse_record(&mut self, rec: &csv::ByteRecord, line: u64) -> Result<Row, String> {
        let columns = self.columns;
        let cells = Cells {
            columns: &columns,
            rec,
        };
        let stamp = parse_stamp(cells.get(Field::Ts))?;
        let day = match stamp {
            Stamp::Date(d) => d,
            Stamp::Instant(ts) => DateTime::from_timestamp(ts, 0)
                .ok_or("time out of range")?
                .date_naive(),
        };
        if let Some(expected) = &self.expected_symbol {
            let cell = cells.get(Field::Symbol);
            if !cell.eq_ignore_ascii_case(expected) {
                return Err(format!(
                    "the symbol column holds `{cell}`, but --symbol {expected} was given: refusing to merge other symbols into {expected} (pass --override-symbol to relabel every row as {expected}, or leave --symbol out)"
                ));
            }
        }
        let series = self.series_of(&cells, day)?;
        let o = parse_num(Field::Open, cells.get(Field::Open))?;
        let h = parse_num(Field::High, cells.get(Field::High))?;
        let l = parse_num(Field::Low, cells.get(Field::Low))?;
        let c = parse_num(Field::Close, cells.get(Field::Close))?;
        let v = parse_num(Field::Volume, cells.get(Field::Volume))?;
        let open_interest = parse_num(Field::OpenInterest, cells.get(Field::OpenInterest))?;
        let vwap = parse_num(Field::Vwap, cells.get(Field::Vwap))?;
        let trade_count = match cells.get(Field::TradeCount) {
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
            series,
            stamp,
            prices,
            open_interest,
            trade_count,
            vwap,
        })
    }

    /// The instrument of a row, from a cache keyed by the cells that define it (the symbol,
    /// contract cells and, for symbols ending in a digit, the year that resolves short
    /// contract years).
    fn series_of(&mut self, cells: &Cells<'_>, day: NaiveDate) -> Result<usize, String> {
        use std::fmt::Write as _;
        let symbol = self
            .opts
            .symbol
            .as_deref()
            .unwrap_or_else(|| cells.get(Field::Symbol));
        self.key.clear();
        self.key.push_str(symbol);
        for f in [Field::ContractMonth, Field::Expiry, Field::FirstNotice] {
            self.key.push('\u{1f}');
            self.key.push_str(cells.get(f));
        }
        if symbol.ends_with(|c: char| c.is_ascii_digit()) {
            let _ = write!(self.key, "\u{1f}{}", chrono::Datelike::year(&day));
        }
        if let Some(&i) = self.by_key.get(self.key.as_str()) {
            return Ok(i);
        }
        let def = instrument_for(cells, &self.opts, day)?;
        let i = match self.by_symbol.get(&def.symbol) {
            Some(&i) if self.instruments[i].contract != def.contract => {
                return Err(format!(
                    "{}: contract details differ from an earlier row",
                    def.symbol
                ));
            }
            Some(&i) => i,
            None => {
                self.instruments.push(def);
                self.last_ts.push(None);
                let i = self.instruments.len() - 1;
                self.by_symbol.insert(self.instruments[i].symbol.clone(), i);
                i
            }
        };
        self.by_key.insert(self.key.clone(), i);
        Ok(i)
    }

    /// Turn checked rows into per-series bars, ascending and without duplicate times.
    fn assemble(
        &mut self,
        rows: Vec<Row>,
        resolution: Resolution,
        invalid: &mut Vec<RowError>,
    ) -> ParsedChunk {
        let mut bars: Vec<Vec<Bar>> = vec![Vec::new(); self.instruments.len()];
        let mut oi: Vec<Vec<(i64, f64)>> = vec![Vec::new(); self.instruments.len()];
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
                        "a day (00:00 UTC; pass --resolution 1m for intraday data)"
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
            let Some([o, h, l, c, v]) = row.prices else {
                oi[row.series].push((ts, row.open_interest.unwrap_or(0.0)));
                continue;
            };
            let bar = Bar::new(ts, o, h, l, c, v)
                .and_then(|b| b.with_open_interest(row.open_interest))
                .and_then(|b| b.with_vwap(row.vwap))
                .map(|b| b.with_trade_count(row.trade_count));
            match bar {
                Ok(bar) => bars[row.series].push(bar),
                Err(e) => invalid.push(RowError {
                    line: row.line,
                    message: e.to_string(),
                }),
            }
        }
        let mut duplicates = 0;
        let mut series = Vec::new();
        for (i, (b, r)) in bars.into_iter().zip(oi).enumerate() {
            if b.is_empty() && r.is_empty() {
                continue;
            }
            let (b, dup_b) = last_wins(b, Bar::ts);
            let (r, dup_r) = last_wins(r, |(ts, _)| *ts);
            duplicates += dup_b + dup_r;
            if let (Some(prev), Some(first)) = (self.last_ts[i], b.first())
                && first.ts() == prev
            {
                duplicates += 1;
            }
            if let Some(last) = b.last() {
                let last = last.ts();
                self.last_ts[i] = Some(self.last_ts[i].map_or(last, |p| p.max(last)));
            }
            series.push(ImportedSeries {
                instrument: self.instruments[i].clone(),
                resolution,
                bars: b,
                open_interest: r,
            });
        }
        ParsedChunk {
            series,
            rows_read: 0,
            invalid: Vec::new(),
            duplicates,
        }
    }
}

/// Sort by time (stable) and keep the last value of each time; returns the duplicates dropped.
fn last_wins<T>(mut v: Vec<T>, ts: impl Fn(&T) -> i64) -> (Vec<T>, u64) {
    if v.windows(2).all(|w| ts(&w[0]) < ts(&w[1])) {
        return (v, 0);
    }
    v.sort_by_key(&ts);
    let before = v.len();
    let mut out: Vec<T> = Vec::with_capacity(before);
    for item in v {
        match out.last_mut() {
            Some(last) if ts(last) == ts(&item) => *last = item,
            _ => out.push(item),
        }
    }
    let dropped = (before - out.len()) as u64;
    (out, dropped)
}

/// A series being merged by [`parse_csv`]: its definition, bars and readings by time.
type Merged = (ImportedSeries, BTreeMap<i64, Bar>, BTreeMap<i64, f64>);

/// Parse and validate a whole CSV file into memory (small files and tests; the importer
/// streams with [`CsvReader`]).
pub fn parse_csv(reader: impl Read, opts: &CsvOptions) -> Result<ParsedFile, ImportError> {
    let mut reader = CsvReader::new(reader, opts)?;
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    let mut file = ParsedFile {
        series: Vec::new(),
        rows_read: 0,
        invalid: Vec::new(),
        duplicates: 0,
    };
    while let Some(chunk) = reader.next_chunk(CHUNK_ROWS)? {
        file.rows_read += chunk.rows_read;
        file.duplicates += chunk.duplicates;
        file.invalid.extend(chunk.invalid);
        for s in chunk.series {
            let entry = merged
                .entry(s.instrument.symbol.clone())
                .or_insert_with(|| {
                    (
                        ImportedSeries {
                            bars: Vec::new(),
                            open_interest: Vec::new(),
                            ..s.clone()
                        },
                        BTreeMap::new(),
                        BTreeMap::new(),
                    )
                });
            for b in s.bars {
                file.duplicates += u64::from(entry.1.insert(b.ts(), b).is_some());
            }
            for (ts, v) in s.open_interest {
                file.duplicates += u64::from(entry.2.insert(ts, v).is_some());
            }
        }
    }
    file.series = merged
        .into_values()
        .map(|(s, bars, oi)| ImportedSeries {
            bars: bars.into_values().collect(),
            open_interest: oi.into_iter().collect(),
            ..s
        })
        .collect();
    Ok(file)
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
    fn import_symbol_aapl_on_a_multi_symbol_file_is_refused_not_merged() {
        let rows =
            "date,symbol,open,high,low,close\n2013-01-02,AAPL,1,1,1,1\n2013-01-02,MSFT,2,2,2,2\n";
        let aapl = CsvOptions {
            symbol: Some("aapl".into()),
            ..Default::default()
        };
        let Err(ImportError::InvalidRows(errs)) = parse(rows, &aapl) else {
            panic!("merged two symbols into AAPL")
        };
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("MSFT") && errs[0].message.contains("--override-symbol"));
        // A column holding exactly that symbol is fine; the override relabels on purpose.
        let only = "date,symbol,open,high,low,close\n2013-01-02,aapl,1,1,1,1\n";
        assert_eq!(parse(only, &aapl).unwrap().bar_count(), 1);
        let relabel = CsvOptions {
            override_symbol: true,
            ..aapl
        };
        let p = parse(rows, &relabel).unwrap();
        assert_eq!(p.series.len(), 1);
        assert_eq!(p.series[0].instrument.symbol, "AAPL");
        assert_eq!(
            p.duplicates, 1,
            "the MSFT row lands on AAPL's 2013-01-02 and wins"
        );
        assert_eq!(p.series[0].bars[0].close(), 2.0);
    }

    #[test]
    fn fast_timestamps_equal_the_general_parser() {
        for t in [
            "2013-10-07T13:30:00Z",
            "2013-10-07 13:30:00Z",
            "2024-02-29T23:59:59+00:00",
            "1900-01-01T00:00:00Z",
            "2100-12-31T23:59:00Z",
        ] {
            let Some(Stamp::Instant(fast)) = fast_stamp(t.as_bytes()) else {
                panic!("{t}")
            };
            let general = DateTime::parse_from_rfc3339(&t.replace(' ', "T")).unwrap();
            assert_eq!(fast, general.timestamp(), "{t}");
        }
        for t in [
            "2013-02-30T00:00:00Z",
            "2013-10-07T24:00:00Z",
            "2013-10-07T13:30:00-04:00",
        ] {
            assert!(fast_stamp(t.as_bytes()).is_none(), "{t}");
        }
        // Offsets other than UTC still parse through the general path.
        let Ok(Stamp::Instant(t)) = parse_stamp("2013-10-07T09:30:00-04:00") else {
            panic!()
        };
        assert_eq!(t, 1_381_152_600);
    }

    #[test]
    fn chunks_keep_the_last_row_of_a_time_across_chunk_boundaries() {
        let mut rows = String::from("ts,symbol,open,high,low,close\n");
        for i in 0..10 {
            rows.push_str(&format!("{},A,{i},{i},{i},{i}\n", 1_381_152_600 + 60 * i));
        }
        rows.push_str("1381152600,A,9,9,9,9\n");
        let mut reader = CsvReader::new(rows.as_bytes(), &CsvOptions::default()).unwrap();
        let mut chunks = Vec::new();
        while let Some(c) = reader.next_chunk(4).unwrap() {
            chunks.push(c);
        }
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.iter().map(|c| c.rows_read).sum::<u64>(), 11);
        // The merged view keeps the later row of 13:30.
        let p = parse_csv(rows.as_bytes(), &CsvOptions::default()).unwrap();
        assert_eq!(p.series[0].bars.len(), 10);
        assert_eq!(p.series[0].bars[0].close(), 9.0);
        assert_eq!(p.duplicates, 1);
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
