//! Stored inputs and results of price adjustments: equity corporate-action factors (LEAN
//! factor-file rows) and the roll history of continuous futures specs.
//!
//! Both are plain records here; the engine interprets them (`FactorFile`, `RollEvent`).

use chrono::NaiveDate;
use tradeassist_model::{Adjust, Resolution, RollAnchor, RollCycle, RollPrice, RollRule};

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
    /// The rule, with the dates of a fixed rule.
    pub rule: RollRule,
    pub roll_offset: u32,
    pub anchor: RollAnchor,
    /// 0 = front.
    pub rank: u32,
    pub roll_price: RollPrice,
    /// The adjustment the events were computed with (it decides errors and warnings).
    pub adjust: Adjust,
    /// The contract months rolled through (`None`: the root's default).
    pub cycle: Option<RollCycle>,
    pub grace_sessions: Option<u32>,
    pub skip_to_most_active: bool,
    pub base: Resolution,
}

/// A [`RollHistoryKey`] as the text columns both backends store.
pub(crate) struct KeyColumns {
    pub root: String,
    pub rule: &'static str,
    /// The dates of a `fixed` rule, `YYYY-MM-DD` comma-separated; empty otherwise.
    pub fixed_dates: String,
    pub roll_offset: u32,
    pub anchor: &'static str,
    pub rank: u32,
    pub roll_price: &'static str,
    pub adjust: &'static str,
    /// Roll cycle, grace window and skip flag: `months=HMUZ grace=7 skip=false`.
    pub options: String,
    pub base: i64,
}

impl RollHistoryKey {
    pub(crate) fn columns(&self) -> KeyColumns {
        KeyColumns {
            root: self.root.clone(),
            rule: self.rule.as_str(),
            fixed_dates: match &self.rule {
                RollRule::Fixed(dates) => dates
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            },
            roll_offset: self.roll_offset,
            anchor: self.anchor.as_str(),
            rank: self.rank,
            roll_price: self.roll_price.as_str(),
            adjust: self.adjust.as_str(),
            options: format!(
                "months={} grace={} skip={}",
                self.cycle
                    .map_or_else(|| "default".into(), |c| c.to_string()),
                self.grace_sessions
                    .map_or_else(|| "none".into(), |g| g.to_string()),
                self.skip_to_most_active
            ),
            base: self.base.seconds(),
        }
    }
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
    /// What decided the roll, in the engine's stable encoded form (opaque to the store).
    pub trigger: String,
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
