//! Sources of bars. For now: file import ([`file`]), which turns vendor CSV files into
//! checked domain bars grouped per instrument and resolution, validating every row before
//! anything is handed on.
//!
//! ```
//! use tradeassist_providers::file::{parse_csv, CsvOptions};
//!
//! let csv = "date,symbol,open,high,low,close,volume\n2013-01-02,AAPL,553.82,555,541.63,549.03,20018500\n";
//! let parsed = parse_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
//! assert_eq!(parsed.series[0].instrument.symbol, "AAPL");
//! assert_eq!(parsed.series[0].bars.len(), 1);
//! ```

pub mod file;
