//! Black-box tests of the `tradeassist` binary on the real files of `data/demo/`, each with its
//! own database in a temporary directory.
//!
//! Row counts written down here were counted in the files with awk, e.g.
//! `awk -F, 'NR>1{c[$2]++} END{for(k in c) print k, c[k]}' us_equity_daily_lean_sample.csv`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::demo_data_dir;

/// Bars per symbol of `us_equity_daily_lean_sample.csv` (42032 rows, no duplicates).
const DAILY: [(&str, usize); 8] = [
    ("AAPL", 5849),
    ("AIG", 5849),
    ("BAC", 5849),
    ("EEM", 5245),
    ("GOOG", 4183),
    ("IBM", 5849),
    ("IWM", 5244),
    ("QQQ", 3964),
];

/// Minute bars per contract of `es_minute_long.csv.gz` (23948 rows).
const ES_MINUTES: [(&str, usize); 8] = [
    ("ESZ13", 16673),
    ("ESH14", 5116),
    ("ESM14", 442),
    ("ESU14", 6),
    ("ESZ14", 9),
    ("ESH20", 1425),
    ("ESM20", 272),
    ("ESU20", 5),
];

/// Daily bars per contract of `es_daily_long.csv`: (contract, priced rows, trading days).
/// 203 priced rows in all; the 15 rows with empty prices carry open interest only (two of them
/// for ESZ20 and ESH21, which have no bars). The vendor labels bars by New York date, so a short
/// Sunday-evening bar belongs to Monday's Globex trading day (counted with Python: Sunday dates
/// moved to Monday, distinct days per contract).
const ES_DAILY: [(&str, usize, usize); 8] = [
    ("ESZ13", 61, 55),
    ("ESH14", 61, 58),
    ("ESM14", 54, 53),
    ("ESU14", 10, 10),
    ("ESZ14", 10, 10),
    ("ESH20", 5, 5),
    ("ESM20", 1, 1),
    ("ESU20", 1, 1),
];

/// File line numbers (header = line 1) of the 20 SPX rows of `us_1m_lean_sample.csv` whose
/// prices violate `low <= open, close <= high`.
const US_1M_BAD_LINES: [u64; 20] = [
    9457, 9559, 9614, 9699, 9742, 9744, 9803, 9807, 9809, 9851, 10002, 10045, 10098, 10132, 10141,
    10173, 10174, 10214, 10269, 10353,
];

fn demo(file: &str) -> PathBuf {
    demo_data_dir().join(file)
}

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

/// Queries of this file over a [`Db`].
trait DbExt {
    fn query_all(&self, symbols: &[&str], frequency: &str) -> String;
    fn count(&self, symbol: &str, frequency: &str) -> usize;
    fn instruments(&self, extra: &[&str]) -> Vec<String>;
}

impl DbExt for Db {
    /// CSV of every stored bar of the symbols at a frequency (all sessions: equities default to
    /// regular hours, the minute files hold extended hours too).
    fn query_all(&self, symbols: &[&str], frequency: &str) -> String {
        let mut args = vec![
            "query",
            "--frequency",
            frequency,
            "--session",
            "all",
            "--start",
            "1990-01-01",
            "--end",
            "2030-01-01",
        ];
        for s in symbols {
            args.extend(["--symbol", s]);
        }
        self.ok(&args).0
    }

    fn count(&self, symbol: &str, frequency: &str) -> usize {
        let csv = self.query_all(&[symbol], frequency);
        csv.lines().count() - 1
    }

    /// Symbols listed by `tradeassist instruments` (CSV), in output order.
    fn instruments(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["instruments"];
        args.extend(extra);
        let (stdout, _) = self.ok(&args);
        let mut lines = stdout.lines();
        assert_eq!(
            lines.next(),
            Some("symbol,asset_class,exchange,timezone,description")
        );
        lines
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names<const N: usize>(table: &[(&str, usize); N]) -> Vec<String> {
    sorted(table.iter().map(|(s, _)| s.to_string()).collect())
}

/// Parse a CSV document into (header, rows).
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

// ---------------------------------------------------------------------------------------------
// Imports of the real files

#[test]
fn import_daily_equities_stores_every_row() {
    let db = Db::new(BIN);
    let stderr = db.import(&[], &demo("us_equity_daily_lean_sample.csv"));
    assert!(stderr.contains("42032 bars"), "{stderr}");
    assert!(stderr.contains("8 new instruments"), "{stderr}");
    assert!(stderr.contains("0 skipped"), "{stderr}");

    assert_eq!(db.instruments(&[]), names(&DAILY));
    let mut total = 0;
    for (symbol, expected) in DAILY {
        assert_eq!(db.count(symbol, "1d"), expected, "{symbol}");
        total += expected;
    }
    assert_eq!(total, 42032);

    // Every stored value equals the file (prices printed without trailing zeros).
    let symbols: Vec<&str> = DAILY.iter().map(|(s, _)| *s).collect();
    let (header, rows) = parse_csv(&db.query_all(&symbols, "1d"));
    assert_eq!(
        header,
        ["symbol", "ts", "open", "high", "low", "close", "volume"]
    );
    assert_eq!(rows.len(), 42032);
    let mut raw = csv::Reader::from_path(demo("us_equity_daily_lean_sample.csv")).unwrap();
    let mut expected: Vec<(String, String, Vec<f64>)> = raw
        .records()
        .map(|r| {
            let r = r.unwrap();
            let nums = (2..7).map(|i| r[i].parse::<f64>().unwrap()).collect();
            (r[1].to_string(), r[0].to_string(), nums)
        })
        .collect();
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut got: Vec<(String, String, Vec<f64>)> = rows
        .into_iter()
        .map(|r| {
            let nums = r[2..7].iter().map(|v| v.parse::<f64>().unwrap()).collect();
            // The day of the bar: `ts` is its interval start (the session open, same UTC date).
            (r[0].clone(), r[1][..10].to_string(), nums)
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert!(got == expected, "stored daily bars differ from the file");
}

#[test]
fn reimport_is_idempotent() {
    let db = Db::new(BIN);
    let file = demo("us_equity_daily_lean_sample.csv");
    db.import(&[], &file);
    let symbols: Vec<&str> = DAILY.iter().map(|(s, _)| *s).collect();
    let before = db.query_all(&symbols, "1d");
    let instruments_before = db.instruments(&[]);
    assert_eq!(before.lines().count(), 42032 + 1);

    let stderr = db.import(&[], &file);
    assert!(stderr.contains("0 new instruments"), "{stderr}");
    let after = db.query_all(&symbols, "1d");
    assert_eq!(after.lines().count(), 42032 + 1);
    assert!(after == before, "query output changed after a re-import");
    assert_eq!(db.instruments(&[]), instruments_before);
    for (symbol, expected) in DAILY {
        assert_eq!(db.count(symbol, "1d"), expected, "{symbol}");
    }
}

#[test]
fn import_es_minutes_creates_one_instrument_per_contract() {
    let db = Db::new(BIN);
    let stderr = db.import(
        &["--symbol", "ES", "--asset-class", "future"],
        &demo("es_minute_long.csv.gz"),
    );
    assert!(stderr.contains("23948 bars"), "{stderr}");
    assert!(stderr.contains("8 new instruments"), "{stderr}");
    assert_eq!(
        db.instruments(&["--asset-class", "future"]),
        names(&ES_MINUTES)
    );
    for (symbol, expected) in ES_MINUTES {
        assert_eq!(db.count(symbol, "1m"), expected, "{symbol}");
    }
    let (header, rows) = parse_csv(&db.query_all(&["ESZ13"], "1m"));
    assert_eq!(header, ["ts", "open", "high", "low", "close", "volume"]);
    // First row of contract 201312 in the file.
    assert_eq!(
        rows[0],
        [
            "2013-10-06T22:00:00Z",
            "1676.75",
            "1677.25",
            "1673.5",
            "1675.25",
            "1884"
        ]
    );
}

#[test]
fn import_es_daily_keeps_open_interest() {
    let db = Db::new(BIN);
    let stderr = db.import(
        &["--symbol", "ES", "--asset-class", "future"],
        &demo("es_daily_long.csv"),
    );
    assert!(stderr.contains("218 rows read"), "{stderr}");
    assert!(stderr.contains("203 bars"), "{stderr}");
    assert!(stderr.contains("15 open-interest readings"), "{stderr}");
    let mut contracts: Vec<String> = ES_DAILY.iter().map(|(s, ..)| s.to_string()).collect();
    contracts.extend(["ESZ20".to_string(), "ESH21".to_string()]);
    assert_eq!(
        db.instruments(&["--asset-class", "future"]),
        sorted(contracts)
    );
    assert_eq!(ES_DAILY.iter().map(|(_, rows, _)| rows).sum::<usize>(), 203);
    for (symbol, _, days) in ES_DAILY {
        assert_eq!(db.count(symbol, "1d"), days, "{symbol}");
    }
    let (header, rows) = parse_csv(&db.query_all(&["ESZ13"], "1d"));
    assert_eq!(
        header,
        [
            "ts",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "open_interest"
        ]
    );
    // Sunday 2013-10-06 (21573 lots, OI 2691941) and Monday 2013-10-07 (1669 1679.5 1667 1668,
    // 1374818 lots, OI 2674467) make the trading day 2013-10-07, which opens on Sunday at
    // 17:00 Chicago; its open interest is the day's last reading.
    assert_eq!(
        rows[0],
        [
            "2013-10-06T22:00:00Z",
            "1676.75",
            "1679.5",
            "1667",
            "1668",
            "1396391",
            "2674467"
        ]
    );
    // A priced row without open interest leaves the column empty (ESU14, 2013-10-17).
    let (_, esu14) = parse_csv(&db.query_all(&["ESU14"], "1d"));
    assert_eq!(
        esu14[1],
        [
            "2013-10-16T22:00:00Z",
            "1700",
            "1700",
            "1700",
            "1700",
            "1",
            ""
        ]
    );
    // Contracts with open interest only hold no bars.
    let stderr = db.fails(&[
        "query",
        "--symbol",
        "ESZ20",
        "--frequency",
        "1d",
        "--start",
        "2013-01-01",
    ]);
    assert!(stderr.contains("ESZ20"), "{stderr}");
}

#[test]
fn import_spy_minutes() {
    let db = Db::new(BIN);
    let stderr = db.import(&[], &demo("spy_1m_lean_sample.csv"));
    assert!(stderr.contains("5786 bars"), "{stderr}");
    assert_eq!(db.instruments(&[]), ["SPY"]);
    assert_eq!(db.count("SPY", "1m"), 5786);
}

#[test]
fn vendor_file_with_invalid_rows_is_refused_whole() {
    let db = Db::new(BIN);
    db.import(&[], &demo("us_equity_daily_lean_sample.csv"));
    let instruments_before = db.instruments(&[]);
    let ibm_before = db.query_all(&["IBM"], "1d");

    let stderr = db.fails(&["import", demo("us_1m_lean_sample.csv").to_str().unwrap()]);
    for line in US_1M_BAD_LINES {
        assert!(
            stderr.contains(&format!("line {line}:")),
            "line {line} not reported:\n{stderr}"
        );
    }
    assert!(stderr.contains("20 invalid row(s)"), "{stderr}");

    // Nothing written: no SPX, and the valid IBM/BAC/AIG minutes of the file are not stored.
    let instruments = db.instruments(&[]);
    assert_eq!(instruments, instruments_before);
    assert!(!instruments.contains(&"SPX".to_string()));
    let stderr = db.fails(&[
        "query",
        "--symbol",
        "IBM",
        "--frequency",
        "1m",
        "--start",
        "2013-10-01",
    ]);
    assert!(stderr.contains("no 1m series"), "{stderr}");
    assert_eq!(db.query_all(&["IBM"], "1d"), ibm_before);
}

#[test]
fn vendor_file_imports_with_skip_invalid_and_reports_the_skipped_rows() {
    let db = Db::new(BIN);
    let stderr = db.import(&["--skip-invalid"], &demo("us_1m_lean_sample.csv"));
    assert!(stderr.contains("10402 rows read"), "{stderr}");
    assert!(stderr.contains("10382 bars"), "{stderr}");
    assert!(stderr.contains("20 skipped"), "{stderr}");
    for line in US_1M_BAD_LINES {
        assert!(
            stderr.contains(&format!("line {line}:")),
            "line {line} not reported:\n{stderr}"
        );
    }
    assert_eq!(db.instruments(&[]), ["SPX", "AIG", "BAC", "IBM"]);
    assert_eq!(db.instruments(&["--asset-class", "index"]), ["SPX"]);
    for (symbol, expected) in [
        ("IBM", 2566),
        ("AIG", 2558),
        ("BAC", 3466),
        ("SPX", 1812 - 20),
    ] {
        assert_eq!(db.count(symbol, "1m"), expected, "{symbol}");
    }
}

/// A copy of the SPY file with a non-numeric price on line 100 and high < low on line 200.
fn corrupted_spy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(demo("spy_1m_lean_sample.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let fields =
        |line: usize| -> Vec<String> { lines[line - 1].split(',').map(String::from).collect() };
    let mut l100 = fields(100);
    l100[2] = "abc".into(); // open
    let mut l200 = fields(200);
    l200[3] = "1.0000".into(); // high, far below low
    lines[99] = l100.join(",");
    lines[199] = l200.join(",");
    let path = dir.join("spy_corrupted.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn corrupted_file_is_refused_with_line_numbers_and_writes_nothing() {
    let db = Db::new(BIN);
    let bad = corrupted_spy(db.dir.path());
    let stderr = db.fails(&["import", bad.to_str().unwrap()]);
    assert!(stderr.contains("line 100"), "{stderr}");
    assert!(stderr.contains("line 200"), "{stderr}");
    assert!(
        !stderr.contains("line 101"),
        "only the broken lines are reported:\n{stderr}"
    );

    assert_eq!(db.instruments(&[]), Vec::<String>::new());
    let stderr = db.fails(&[
        "query",
        "--symbol",
        "SPY",
        "--frequency",
        "1m",
        "--start",
        "2013-10-01",
    ]);
    assert!(stderr.contains("SPY"), "{stderr}");
}

#[test]
fn one_bad_file_refuses_the_whole_import() {
    let db = Db::new(BIN);
    let bad = corrupted_spy(db.dir.path());
    let good = demo("us_equity_daily_lean_sample.csv");
    let stderr = db.fails(&["import", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert!(stderr.contains("line 100"), "{stderr}");
    assert_eq!(
        db.instruments(&[]),
        Vec::<String>::new(),
        "the valid file was written"
    );

    let missing = db.dir.path().join("does_not_exist.csv");
    let stderr = db.fails(&["import", good.to_str().unwrap(), missing.to_str().unwrap()]);
    assert!(stderr.contains("does_not_exist.csv"), "{stderr}");
    assert_eq!(
        db.instruments(&[]),
        Vec::<String>::new(),
        "the valid file was written"
    );
}

// ---------------------------------------------------------------------------------------------
// Query output and bad input

#[test]
fn query_prints_csv_json_and_ndjson() {
    let db = Db::new(BIN);
    db.import(&[], &demo("us_equity_daily_lean_sample.csv"));
    let range = [
        "--frequency",
        "1d",
        "--start",
        "2013-01-01",
        "--end",
        "2013-12-31",
    ];
    let with = |format: &str| -> String {
        let mut args = vec!["query", "--symbol", "AAPL"];
        args.extend(range);
        args.extend(["--format", format]);
        db.ok(&args).0
    };

    let csv_text = with("csv");
    assert_eq!(
        csv_text.lines().next(),
        Some("ts,open,high,low,close,volume")
    );
    let (_, rows) = parse_csv(&csv_text);
    assert_eq!(rows.len(), 252);
    assert!(rows[0][0].starts_with("2013-01-02T"), "{:?}", rows[0]);
    assert_eq!(rows[0][1..], ["554", "555", "541.65", "549.03", "18991235"]);
    assert!(rows[251][0].starts_with("2013-12-31T"), "{:?}", rows[251]);
    // The default format is CSV.
    let mut args = vec!["query", "--symbol", "AAPL"];
    args.extend(range);
    assert_eq!(db.ok(&args).0, csv_text);

    let json: Value = serde_json::from_str(&with("json")).expect("--format json is JSON");
    assert_eq!(json["data"][0]["symbol"], "AAPL");
    assert_eq!(json["data"][0]["count"], 252);
    assert_eq!(json["metadata"]["total_bars"], 252);
    let bars = json["data"][0]["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 252);

    let ndjson = with("ndjson");
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 252);
    for ((line, bar), row) in lines.iter().zip(bars).zip(&rows) {
        assert!(line.is_object(), "{line}");
        assert_eq!(line["symbol"], "AAPL");
        assert_eq!(line["ts"], bar["ts"]);
        assert_eq!(line["ts"], row[0].as_str());
        for (i, k) in ["open", "high", "low", "close", "volume"]
            .iter()
            .enumerate()
        {
            assert_eq!(line[k], bar[k], "{k} of {line}");
            assert_eq!(
                line[k].as_f64(),
                Some(row[i + 1].parse::<f64>().unwrap()),
                "{k}"
            );
        }
    }
}

#[test]
fn query_by_rfc3339_bounds_excludes_the_end() {
    let db = Db::new(BIN);
    db.import(&[], &demo("spy_1m_lean_sample.csv"));
    let (stdout, _) = db.ok(&[
        "query",
        "--symbol",
        "SPY",
        "--frequency",
        "1m",
        "--start",
        "2013-10-07T13:30:00Z",
        "--end",
        "2013-10-07T14:00:00Z",
    ]);
    let (_, rows) = parse_csv(&stdout);
    assert_eq!(rows.len(), 30);
    assert_eq!(rows[0][0], "2013-10-07T13:30:00Z");
    assert_eq!(rows[29][0], "2013-10-07T13:59:00Z");
}

#[test]
fn bad_query_input_fails_with_a_message_and_writes_nothing() {
    let db = Db::new(BIN);
    db.import(&[], &demo("us_equity_daily_lean_sample.csv"));
    let instruments = db.instruments(&[]);
    let aapl = db.query_all(&["AAPL"], "1d");

    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "query",
                "--symbol",
                "AAPL",
                "--frequency",
                "7x",
                "--start",
                "2013-01-01",
            ],
            "7x",
        ),
        (
            &[
                "query",
                "--symbol",
                "AAPL",
                "--start",
                "2013-12-31",
                "--end",
                "2013-01-01",
            ],
            "not after",
        ),
        (
            &["query", "--symbol", "NOPE", "--start", "2013-01-01"],
            "NOPE",
        ),
        (
            &["query", "--symbol", "AAPL", "--start", "yesterday-ish"],
            "yesterday-ish",
        ),
        (&["instruments", "--asset-class", "bond"], "bond"),
    ];
    for (args, needle) in cases {
        let stderr = db.fails(args);
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in\n{stderr}"
        );
    }
    let missing = db.dir.path().join("missing.csv");
    let stderr = db.fails(&["import", missing.to_str().unwrap()]);
    assert!(stderr.contains("missing.csv"), "{stderr}");
    let headless = db.dir.path().join("no_prices.csv");
    std::fs::write(&headless, "when,what\n2013-01-02,1\n").unwrap();
    db.fails(&["import", "--symbol", "XYZ", headless.to_str().unwrap()]);

    assert_eq!(db.instruments(&[]), instruments);
    assert!(db.query_all(&["AAPL"], "1d") == aapl, "AAPL bars changed");
}

#[test]
fn instruments_search_and_json() {
    let db = Db::new(BIN);
    db.import(&[], &demo("us_equity_daily_lean_sample.csv"));
    db.import(&[], &demo("spy_1m_lean_sample.csv"));
    assert_eq!(db.instruments(&["--search", "AA"]), ["AAPL"]);
    assert_eq!(db.instruments(&["--search", "aa"]), ["AAPL"]);
    assert_eq!(db.instruments(&["--search", "emerging"]), ["EEM"]);
    assert_eq!(
        db.instruments(&["--search", "NOSUCH"]),
        Vec::<String>::new()
    );

    let (stdout, _) = db.ok(&["instruments", "--asset-class", "stock", "--format", "json"]);
    let list: Value = serde_json::from_str(&stdout).expect("JSON list");
    let symbols: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(
        symbols,
        [
            "AAPL", "AIG", "BAC", "EEM", "GOOG", "IBM", "IWM", "QQQ", "SPY"
        ]
    );
    assert_eq!(list[0]["description"], "Apple Inc.");
    assert_eq!(list[0]["timezone"], "America/New_York");
}
