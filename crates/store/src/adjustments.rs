//! Stored inputs and results of price adjustments: equity corporate-action factors (LEAN
//! factor-file rows) and the roll history of continuous futures specs.
//!
//! Both are plain records here; the engine interprets them (`FactorFile`, `RollEvent`).

use chrono::NaiveDate;
use tradeassist_model::Resolution;

/// One corporate-action factor row of an equity: for a bar on day `D` the first row dated
/// `>= D` applies (after the last row the factors are 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactorRecord {
    pub date: NaiveDate,
    /// Cumulative dividend factor (> 0).
    pub price_factor: f64,
    /// Cumulative split factor (> 0).
    pub split_factor: f64,
    /// The vendor's reference close (0 when absent).
    pub reference_price: f64,
}

/// The complete factor table of one instrument; writing it replaces the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorSet {
    pub symbol: String,
    /// Ascending by date, dates unique.
    pub rows: Vec<FactorRecord>,
}

/// What identifies the roll history of a continuous series: everything of the spec that
/// changes the roll events, and the stored resolution they were decided on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RollHistoryKey {
    /// Futures root, upper case (`ES`).
    pub root: String,
    /// `calendar`, `volume`, `open_interest` or `fixed`.
    pub rule: String,
    /// The dates of a `fixed` rule, `YYYY-MM-DD` comma-separated; empty otherwise.
    pub fixed_dates: String,
    pub roll_offset: u32,
    /// `last_trade` or `first_notice`.
    pub anchor: String,
    /// 0 = front.
    pub rank: u32,
    /// `last_close_both` or `last_old_first_new`.
    pub roll_price: String,
    /// The adjustment the events were computed with (it decides errors and warnings).
    pub adjust: String,
    pub base: Resolution,
}

/// One stored roll event (the adjustment-independent part of the engine's `RollEvent`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRoll {
    /// First trading day of the new contract.
    pub date: NaiveDate,
    /// First instant of the new contract (UTC seconds).
    pub ts: i64,
    pub from: String,
    pub to: String,
    pub from_price: f64,
    pub to_price: f64,
    /// `calendar`, `volume`, `open_interest`, `fixed` or `expired`.
    pub trigger: String,
    /// Date of the trigger: anchor, decision session, fixed date or last trade date.
    pub trigger_date: Option<NaiveDate>,
    /// Volume / open-interest rules: the front's and the next contract's values.
    pub trigger_front: Option<f64>,
    pub trigger_next: Option<f64>,
}

/// The roll events of one [`RollHistoryKey`] as computed from inputs with `fingerprint`.
#[derive(Debug, Clone, PartialEq)]
pub struct RollHistory {
    /// Digest of the inputs the events were computed from; a lookup only matches it.
    pub fingerprint: String,
    /// When the events were computed (UTC seconds).
    pub computed_at: i64,
    /// Ascending by date.
    pub events: Vec<StoredRoll>,
    /// Warnings of the computation, as text.
    pub warnings: Vec<String>,
}

/// Warnings as one text column: one per line.
pub(crate) fn join_warnings(warnings: &[String]) -> String {
    warnings
        .iter()
        .map(|w| w.replace('\n', " "))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn split_warnings(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
