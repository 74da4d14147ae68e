//! Continuous futures: stitch one root's contracts into a single series with explicit roll
//! rules and price adjustments, and report every roll so each adjusted value can be traced
//! back to raw data.
//!
//! The input is, per contract, its [`FuturesContract`] definition, its base bars (1-minute or
//! 1-day, strictly increasing `ts`, inside 1900-01-01..2100-12-31) and optionally its daily
//! volume / open interest ([`DailyStat`]; derived from the bars when left empty). A
//! [`ContinuousSpec`] chooses (defaults are those of [`ContinuousSpec::new`]):
//!
//! - the roll rule ([`RollRule`]): `calendar` (N trading days before the last trade date or,
//!   with [`RollAnchor::FirstNotice`], the first notice date), `volume` / `open_interest`
//!   (roll when a later contract's value on the previous session exceeds the front's),
//!   or `fixed` dates;
//! - `roll_offset` for the calendar rule (default 0, at most [`MAX_ROLL_OFFSET`]), the
//!   `anchor` (default last trade), the `rank` (default 0 = front, at most [`MAX_RANK`]),
//!   the adjustment ([`Adjust`], default none) and the prices that set the gap at a roll
//!   ([`RollPrice`], default both closes of the last session before the roll);
//! - the **roll cycle** `cycle` ([`RollCycle`], e.g. `HMUZ`): only contracts of these months
//!   are rolled through; the others are left out of the series (listed in
//!   [`ContinuousSeries::excluded`]). Default `None`: the root's default cycle from the
//!   expiry rule table ([`ExpiryRules::default_cycle`]: `HMUZ` for ES, NQ, YM, RTY, ZN, ZB,
//!   ZF and the CME currencies, `GJMQVZ` for GC, `HKNUZ` for SI, HG, ZC and ZW, `FHKNQUX`
//!   for ZS), every month for roots without one (CL, NG, RB, HO and unknown roots).
//! - the **grace window** `grace_sessions` of the volume and open-interest rules: a
//!   crossover observed on a session more than N trading sessions before the front's last
//!   trade date is ignored; the front then rolls at the first session inside the window on
//!   which the later contract still leads (or when it expires). Default
//!   `Some(DEFAULT_GRACE_SESSIONS)` = 7 sessions, zipline's value (the wave-1 ES rolls, a
//!   volume crossover 5 sessions and an open-interest one 0 sessions before the last trade
//!   date, are inside it); `None` honours every crossover; at most [`MAX_GRACE_SESSIONS`].
//!   The window needs no look-ahead: an ignored crossover is not moved back to the day it
//!   happened (zipline's backward walk does that when the crossover lasts into the window).
//! - **skip to the most active** `skip_to_most_active` (volume and open-interest rules):
//!   compare the front with every later contract still trading, not only the next one, and
//!   roll straight to the one with the largest value (the earliest on ties), e.g. CLK17 ->
//!   CLN17 when CLM17 never trades more than CLK17; also when the front expires. Default
//!   `false`: one contract at a time, the rule of the product brief, which keeps earlier
//!   roll histories valid; with the default roll cycles the illiquid months that zipline
//!   skips are already left out.
//!
//! [`ContinuousSpec::validate`] (also run by [`ContinuousBuilder::build`]) refuses every
//! numeric option outside its documented bounds with [`ContinuousError::OutOfRange`], which
//! names the option; no option makes the builder panic or loop for long.
//!
//! Rules that hold for every spec:
//!
//! - A roll takes effect at a trading-session boundary: the roll date is the first trading day
//!   of the new contract, and all of that session comes from it. For intraday bars the boundary
//!   is the session open (for a Globex day, 17:00 CT of the previous evening); for daily bars
//!   it is the trading day a bar maps to (a Sunday-evening bar belongs to Monday).
//! - A roll never goes back to an earlier contract, and a contract is never used after its
//!   last trade date (whatever the rule, the front moves on at the next session).
//! - Contract dates come from the contract when given, else from the [`ExpiryRules`].
//! - Rank `r` follows the front chain: when the front rolls, every rank rolls with it, and the
//!   rank-`r` series uses the contract `r` places after the front (by contract month, among
//!   the contracts of the roll cycle).
//! - Adjustments change open, high, low, close and vendor VWAP, never volume or open interest.
//!   Backward modes keep the newest segment raw, forward modes the oldest; the adjustment of a
//!   segment is cumulative over all rolls between it and the raw segment
//!   ([`Segment::adjustment`], [`segment_adjustments`], [`apply_cumulative`]), and
//!   [`Adjustment::remove`] undoes it.
//! - Every roll has a [`RollDetail`] (in [`ContinuousSeries::roll_details`], same index as
//!   [`ContinuousSeries::rolls`]): the [`RollTrigger`] with its values, the contracts of the
//!   cycle it passed over, and the grace window it was decided under. Triggers, details and
//!   [`ContinuousWarning`]s have a human `Display` and a versioned text form for storage
//!   (`encode` / `decode`, `v1 ...`).
//!
//! ```
//! use chrono::NaiveDate;
//! use tradeassist_engine::{Adjust, Calendar, ContinuousBuilder, ContinuousSpec, ContractData, RollRule};
//! use tradeassist_model::{Bar, ContractMonth, FuturesContract, Resolution, date_key};
//!
//! let day = |m, d| NaiveDate::from_ymd_opt(2013, m, d).unwrap();
//! let contract = |month: u32, price: f64, days: &[NaiveDate]| ContractData::new(
//!     FuturesContract {
//!         root: "ES".into(),
//!         month: ContractMonth::new(2013, month).unwrap(),
//!         last_trade_date: None, // from the expiry rules: third Friday
//!         first_notice_date: None,
//!     },
//!     days.iter().map(|d| Bar::new(date_key(*d), price, price, price, price, 1.0).unwrap()).collect(),
//! );
//! let days = [day(9, 17), day(9, 18), day(9, 19), day(9, 20)];
//! let contracts = [contract(9, 100.0, &days), contract(12, 103.0, &days)];
//!
//! // Roll one trading day before ESU13's last trade date (2013-09-20), back-adjusted.
//! let mut spec = ContinuousSpec::new(RollRule::Calendar);
//! spec.roll_offset = 1;
//! spec.adjust = Adjust::DifferenceBack;
//! let cal = Calendar::get("cme_equity").unwrap();
//! let series = ContinuousBuilder::new(cal, Resolution::Day).unwrap().build(&contracts, &spec).unwrap();
//!
//! let roll = &series.rolls[0];
//! assert_eq!((roll.date, &*roll.from, &*roll.to), (day(9, 19), "ESU13", "ESZ13"));
//! assert_eq!(roll.difference, 3.0); // 103 - 100, both closes of 2013-09-18
//! assert_eq!(roll.trigger.as_str(), "calendar");
//! let closes: Vec<f64> = series.bars.iter().map(|b| b.bar.close()).collect();
//! assert_eq!(closes, [103.0, 103.0, 103.0, 103.0]); // ESU13 lifted by 3, ESZ13 raw
//! assert_eq!(series.segments[0].adjustment.remove(closes[0]), 100.0);
//!
//! // Out-of-range options are errors that name the option, never panics.
//! spec.roll_offset = 100_000_000;
//! let e = ContinuousBuilder::new(cal, Resolution::Day).unwrap().build(&contracts, &spec).unwrap_err();
//! assert_eq!(e.option(), Some("roll_offset"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use tradeassist_model::time::{END_TS, FIRST_DATE, FIRST_TS, LAST_DATE};
use tradeassist_model::{Bar, BarError, FuturesContract, Resolution, date_key, rfc3339};

pub use tradeassist_model::roll::{
    Adjust, RollAnchor, RollCycle, RollPrice, RollRule, RollRuleKind,
};

use crate::aggregate::check_sorted;
use crate::calendar::utc_date;
use crate::expiry::{ContractDates, ExpiryError, ExpiryRules};
use crate::{Calendar, SessionFilter};

/// Largest calendar-rule `roll_offset`: 250 trading days, about one year (no listed
/// contract is worth rolling out of earlier than a year before its anchor).
pub const MAX_ROLL_OFFSET: u32 = 250;
/// Largest `rank`: 36 (three years of monthly contracts after the front).
pub const MAX_RANK: usize = 36;
/// Default grace window of the volume and open-interest rules, in trading sessions before
/// the front's last trade date (zipline's `GRACE_DAYS`).
pub const DEFAULT_GRACE_SESSIONS: u32 = 7;
/// Largest grace window: 250 trading sessions (about one year).
pub const MAX_GRACE_SESSIONS: u32 = 250;
/// Most dates a fixed rule may list: 2400 (one roll a month for 200 years).
pub const MAX_FIXED_DATES: usize = 2_400;

/// Why a continuous series could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContinuousError {
    #[error("a continuous series needs at least one contract")]
    NoContracts,
    #[error("all contracts of a continuous series must share one root: `{expected}` and `{found}`")]
    MixedRoots { expected: String, found: String },
    #[error("contract {0} is given twice")]
    DuplicateContract(String),
    #[error("rank {rank} is not available: only {available} contract(s) from the front on")]
    RankUnavailable { rank: usize, available: usize },
    #[error(
        "ratio adjustment needs positive prices, but {contract} has {price} at ts {ts}; use a difference adjustment"
    )]
    NonPositivePrice {
        contract: String,
        ts: i64,
        price: f64,
    },
    #[error("no price of {contract} to roll on {date}")]
    NoRollPrice { date: NaiveDate, contract: String },
    #[error("bars of {contract} are not strictly increasing in time at index {index} (ts {ts})")]
    Unsorted {
        contract: String,
        index: usize,
        ts: i64,
    },
    #[error("fixed roll dates must be strictly increasing ({0} is out of order)")]
    FixedDatesUnordered(NaiveDate),
    #[error("adjusting a bar of {contract} at ts {ts}: {source}")]
    AdjustedBar {
        contract: String,
        ts: i64,
        source: BarError,
    },
    #[error(transparent)]
    Expiry(#[from] ExpiryError),
    #[error("`{0}` is not a continuous symbol (ROOT.RULE.RANK with RULE c, v or n, e.g. ES.c.0)")]
    BadSymbol(String),
    /// A numeric option (or a fixed date) outside its bounds. `option` is the
    /// [`ContinuousSpec`] field: `roll_offset`, `rank`, `grace_sessions` or `rule` (fixed
    /// dates).
    #[error("{option} {value} is out of range (allowed: {allowed})")]
    OutOfRange {
        option: &'static str,
        value: String,
        allowed: String,
    },
    #[error("none of the {contracts} contract(s) of {root} is in the roll cycle {cycle}")]
    NoContractsInCycle {
        root: String,
        cycle: RollCycle,
        contracts: usize,
    },
    #[error(
        "a bar of {contract} at ts {ts} lies outside the supported dates 1900-01-01..2100-12-31"
    )]
    BarOutOfSpan { contract: String, ts: i64 },
}

impl ContinuousError {
    /// The [`ContinuousSpec`] field at fault, when the spec (not the data) is: `roll_offset`,
    /// `rank`, `grace_sessions`, `rule` (fixed dates), `adjust` (ratio over non-positive
    /// prices) or `cycle`.
    pub fn option(&self) -> Option<&'static str> {
        match self {
            ContinuousError::OutOfRange { option, .. } => Some(option),
            ContinuousError::RankUnavailable { .. } => Some("rank"),
            ContinuousError::FixedDatesUnordered(_) => Some("rule"),
            ContinuousError::NonPositivePrice { .. } => Some("adjust"),
            ContinuousError::NoContractsInCycle { .. } => Some("cycle"),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------------------

/// Everything that defines a continuous series besides its data. Build with
/// [`ContinuousSpec::new`] and set fields; [`ContinuousSpec::validate`] checks the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContinuousSpec {
    pub rule: RollRule,
    /// Calendar rule: roll this many trading days before the anchor (0 = on the anchor day:
    /// the new contract is used from the anchor day's session on). `0..=MAX_ROLL_OFFSET`.
    pub roll_offset: u32,
    pub anchor: RollAnchor,
    /// 0 = front, 1 = second, ... `0..=MAX_RANK`.
    pub rank: usize,
    pub adjust: Adjust,
    pub roll_price: RollPrice,
    /// The contract months rolled through; `None` = the root's default cycle
    /// ([`ExpiryRules::default_cycle`]), every month for roots without one.
    pub cycle: Option<RollCycle>,
    /// Volume and open-interest rules: crossovers on sessions more than this many trading
    /// sessions before the front's last trade date are ignored; `None` = no window.
    /// Default `Some(DEFAULT_GRACE_SESSIONS)`; `0..=MAX_GRACE_SESSIONS`.
    pub grace_sessions: Option<u32>,
    /// Volume and open-interest rules: roll straight to the later contract with the largest
    /// value instead of only comparing with the next one. Default `false`.
    pub skip_to_most_active: bool,
}

impl ContinuousSpec {
    /// A spec with this rule and the defaults: offset 0, last-trade anchor, rank 0, no
    /// adjustment, both closes before the roll, the root's default roll cycle, a grace
    /// window of [`DEFAULT_GRACE_SESSIONS`], one contract at a time.
    pub fn new(rule: RollRule) -> Self {
        ContinuousSpec {
            rule,
            roll_offset: 0,
            anchor: RollAnchor::LastTrade,
            rank: 0,
            adjust: Adjust::None,
            roll_price: RollPrice::LastCloseBoth,
            cycle: None,
            grace_sessions: Some(DEFAULT_GRACE_SESSIONS),
            skip_to_most_active: false,
        }
    }

    /// Check every numeric option against its bound and the fixed dates against the
    /// supported span and order. [`ContinuousBuilder::build`] calls this first.
    pub fn validate(&self) -> Result<(), ContinuousError> {
        let out = |option, value: String, allowed: String| {
            Err(ContinuousError::OutOfRange {
                option,
                value,
                allowed,
            })
        };
        if self.roll_offset > MAX_ROLL_OFFSET {
            return out(
                "roll_offset",
                self.roll_offset.to_string(),
                format!("0..={MAX_ROLL_OFFSET} trading days"),
            );
        }
        if self.rank > MAX_RANK {
            return out("rank", self.rank.to_string(), format!("0..={MAX_RANK}"));
        }
        if let Some(g) = self.grace_sessions
            && g > MAX_GRACE_SESSIONS
        {
            return out(
                "grace_sessions",
                g.to_string(),
                format!("0..={MAX_GRACE_SESSIONS} sessions"),
            );
        }
        if let RollRule::Fixed(dates) = &self.rule {
            if dates.len() > MAX_FIXED_DATES {
                return out(
                    "rule",
                    format!("{} fixed dates", dates.len()),
                    format!("at most {MAX_FIXED_DATES} dates"),
                );
            }
            if let Some(d) = dates
                .iter()
                .find(|d| !(FIRST_DATE..=LAST_DATE).contains(*d))
            {
                return out(
                    "rule",
                    format!("fixed date {d}"),
                    format!("{FIRST_DATE}..={LAST_DATE}"),
                );
            }
            if let Some(w) = dates.windows(2).find(|w| w[0] >= w[1]) {
                return Err(ContinuousError::FixedDatesUnordered(w[1]));
            }
        }
        Ok(())
    }
}

/// A continuous symbol `ROOT.RULE.RANK`: `ES.c.0` (calendar, front), `ES.v.0` (volume),
/// `ES.n.1` (open interest, second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinuousSymbol {
    pub root: String,
    pub rule: RollRule,
    pub rank: usize,
}

impl FromStr for ContinuousSymbol {
    type Err = ContinuousError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ContinuousError::BadSymbol(s.to_string());
        let mut parts = s.trim().split('.');
        let (Some(root), Some(rule), Some(rank), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let root = root.to_ascii_uppercase();
        if root.is_empty() || root.len() > 8 || !root.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let rule = match rule {
            "c" | "C" => RollRule::Calendar,
            "v" | "V" => RollRule::Volume,
            "n" | "N" => RollRule::OpenInterest,
            _ => return Err(bad()),
        };
        if rank.is_empty() || !rank.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let rank = rank.parse().map_err(|_| bad())?;
        Ok(ContinuousSymbol { root, rule, rank })
    }
}

impl fmt::Display for ContinuousSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.rule {
            RollRule::Calendar | RollRule::Fixed(_) => 'c',
            RollRule::Volume => 'v',
            RollRule::OpenInterest => 'n',
        };
        write!(f, "{}.{}.{}", self.root, rule, self.rank)
    }
}

// ---------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------

/// Daily activity of one contract: volume traded and the open-interest reading (if any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyStat {
    /// The trading day. A date that is not a trading day counts toward the next trading day
    /// (a vendor's Sunday-evening Globex bar belongs to Monday's session), as the aggregator
    /// does for daily base bars; several entries of one trading day add their volumes and keep
    /// the last open interest.
    pub date: NaiveDate,
    pub volume: f64,
    pub open_interest: Option<f64>,
}

/// Daily stats from base bars: volume summed per trading day, the last open interest of the
/// day. Minute bars map to the session they fall in; daily bars to their date's trading day.
pub fn daily_stats(cal: &Calendar, resolution: Resolution, bars: &[Bar]) -> Vec<DailyStat> {
    let mut locator = DayLocator::new(cal, resolution);
    let mut out: Vec<DailyStat> = Vec::new();
    for b in bars {
        let date = locator.trading_day(b.ts());
        match out.last_mut() {
            Some(s) if s.date == date => {
                s.volume += b.volume();
                s.open_interest = b.open_interest().or(s.open_interest);
            }
            _ => out.push(DailyStat {
                date,
                volume: b.volume(),
                open_interest: b.open_interest(),
            }),
        }
    }
    out
}

/// One contract of a continuous series.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractData {
    pub contract: FuturesContract,
    /// Base bars, strictly increasing `ts`.
    pub bars: Vec<Bar>,
    /// Daily volume / open interest for the volume and open-interest rules; derived from
    /// `bars` with [`daily_stats`] when empty.
    pub daily: Vec<DailyStat>,
}

impl ContractData {
    /// A contract with its bars and no separate daily stats.
    pub fn new(contract: FuturesContract, bars: Vec<Bar>) -> Self {
        ContractData {
            contract,
            bars,
            daily: Vec::new(),
        }
    }

    /// Attach daily volume / open interest (e.g. the vendor's daily file).
    pub fn with_daily(mut self, daily: Vec<DailyStat>) -> Self {
        self.daily = daily;
        self
    }
}

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/// The adjustment applied to the raw prices of one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// Raw prices.
    None,
    /// `adjusted = raw + offset`.
    Add(f64),
    /// `adjusted = raw * factor`.
    Multiply(f64),
}

impl Adjustment {
    /// The adjusted price of a raw price.
    pub fn apply(self, raw: f64) -> f64 {
        match self {
            Adjustment::None => raw,
            Adjustment::Add(o) => raw + o,
            Adjustment::Multiply(f) => raw * f,
        }
    }

    /// The raw price of an adjusted price (`adjusted - offset` or `adjusted / factor`).
    pub fn remove(self, adjusted: f64) -> f64 {
        match self {
            Adjustment::None => adjusted,
            Adjustment::Add(o) => adjusted - o,
            Adjustment::Multiply(f) => adjusted / f,
        }
    }

    /// The additive offset or the multiplicative factor; 0 for [`Adjustment::None`].
    pub fn value(self) -> f64 {
        match self {
            Adjustment::None => 0.0,
            Adjustment::Add(v) | Adjustment::Multiply(v) => v,
        }
    }
}

/// Why the front moved on: the rule that fired and the values it fired on. The rest of what
/// happened at a roll (contracts passed over, grace window) is in its [`RollDetail`].
#[derive(Debug, Clone, PartialEq)]
pub enum RollTrigger {
    /// Calendar rule: `roll_offset` trading days before `anchor` (the old front's last trade
    /// or first notice date).
    Calendar { anchor: NaiveDate },
    /// On `session` the contract rolled to traded `next` > the front's `front`.
    Volume {
        session: NaiveDate,
        front: f64,
        next: f64,
    },
    /// On `session` the open interest of the contract rolled to, `next`, exceeded the
    /// front's `front` (readings forward-filled).
    OpenInterest {
        session: NaiveDate,
        front: f64,
        next: f64,
    },
    /// A listed fixed date.
    Fixed { date: NaiveDate },
    /// The front passed its last trade date before the rule fired.
    Expired { last_trade: NaiveDate },
}

impl RollTrigger {
    /// Stable name: `calendar`, `volume`, `open_interest`, `fixed` or `expired`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RollTrigger::Calendar { .. } => "calendar",
            RollTrigger::Volume { .. } => "volume",
            RollTrigger::OpenInterest { .. } => "open_interest",
            RollTrigger::Fixed { .. } => "fixed",
            RollTrigger::Expired { .. } => "expired",
        }
    }

    /// The stored form, e.g. `v1 volume session=2013-12-13 front=347764 next=868208`
    /// (read back by [`RollTrigger::decode`]; numbers round-trip exactly).
    pub fn encode(&self) -> String {
        let mut out = format!("{VERSION} ");
        self.encode_into(&mut out);
        out
    }

    /// Read the form written by [`RollTrigger::encode`].
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let rec = Record::parse(text, "roll trigger")?;
        rec.trigger()
    }

    fn encode_into(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = match self {
            RollTrigger::Calendar { anchor } => write!(out, "calendar anchor={anchor}"),
            RollTrigger::Volume {
                session,
                front,
                next,
            }
            | RollTrigger::OpenInterest {
                session,
                front,
                next,
            } => write!(
                out,
                "{} session={session} front={front} next={next}",
                self.as_str()
            ),
            RollTrigger::Fixed { date } => write!(out, "fixed date={date}"),
            RollTrigger::Expired { last_trade } => write!(out, "expired last_trade={last_trade}"),
        };
    }
}

impl fmt::Display for RollTrigger {
    /// e.g. `volume crossover on 2013-12-13: 868208 > front 347764`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollTrigger::Calendar { anchor } => {
                write!(f, "calendar roll counted back from {anchor}")
            }
            RollTrigger::Volume {
                session,
                front,
                next,
            } => write!(f, "volume crossover on {session}: {next} > front {front}"),
            RollTrigger::OpenInterest {
                session,
                front,
                next,
            } => write!(
                f,
                "open-interest crossover on {session}: {next} > front {front}"
            ),
            RollTrigger::Fixed { date } => write!(f, "fixed roll date {date}"),
            RollTrigger::Expired { last_trade } => {
                write!(f, "front expired (last trade date {last_trade})")
            }
        }
    }
}

/// The grace window a volume or open-interest roll was decided under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraceWindow {
    /// Its length: [`ContinuousSpec::grace_sessions`].
    pub sessions: u32,
    /// Its first session (the old front's last trade date minus `sessions` trading days);
    /// crossovers before it were ignored.
    pub opens: NaiveDate,
    /// The first session before the window on which a later contract led the old front
    /// (a crossover that was ignored), if any.
    pub ignored_since: Option<NaiveDate>,
}

/// Everything that happened at one roll of the front chain.
#[derive(Debug, Clone, PartialEq)]
pub struct RollDetail {
    /// Why the front moved on (the same value as [`RollEvent::trigger`]).
    pub trigger: RollTrigger,
    /// Contracts of the roll cycle between the old and the new front that the roll passed
    /// over (skipped to the most active one, or expired before they became front).
    pub skipped: Vec<Arc<str>>,
    /// Volume and open-interest rules with a grace window: the window of the old front.
    pub grace: Option<GraceWindow>,
}

impl RollDetail {
    /// The trigger's stable name ([`RollTrigger::as_str`]).
    pub const fn as_str(&self) -> &'static str {
        self.trigger.as_str()
    }

    /// The stored form: the trigger's fields, then `skipped=A,B`, `grace=N opens=DATE` and
    /// `ignored_since=DATE` when present, e.g.
    /// `v1 volume session=2017-04-07 front=10 next=500 skipped=CLM17 grace=7 opens=2017-04-10`.
    pub fn encode(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("{VERSION} ");
        self.trigger.encode_into(&mut out);
        if !self.skipped.is_empty() {
            let names: Vec<String> = self.skipped.iter().map(|s| escape(s)).collect();
            let _ = write!(out, " skipped={}", names.join(","));
        }
        if let Some(g) = &self.grace {
            let _ = write!(out, " grace={} opens={}", g.sessions, g.opens);
            if let Some(d) = g.ignored_since {
                let _ = write!(out, " ignored_since={d}");
            }
        }
        out
    }

    /// Read the form written by [`RollDetail::encode`] (a bare [`RollTrigger::encode`] text
    /// reads as a detail without skipped contracts or window).
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let rec = Record::parse(text, "roll detail")?;
        let trigger = rec.trigger()?;
        let skipped = match rec.opt("skipped") {
            Some(list) => list
                .split(',')
                .map(|s| {
                    unescape(s)
                        .map(Arc::from)
                        .ok_or_else(|| rec.err("bad contract"))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let grace = match rec.opt("grace") {
            Some(n) => Some(GraceWindow {
                sessions: n.parse().map_err(|_| rec.err("bad grace"))?,
                opens: rec.date("opens")?,
                ignored_since: rec
                    .opt("ignored_since")
                    .map(|_| rec.date("ignored_since"))
                    .transpose()?,
            }),
            None => None,
        };
        Ok(RollDetail {
            trigger,
            skipped,
            grace,
        })
    }
}

impl fmt::Display for RollDetail {
    /// The trigger, then e.g. `; skipped CLM17; grace window of 7 sessions from 2017-04-10
    /// (crossover of 2017-03-30 ignored)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.trigger)?;
        if !self.skipped.is_empty() {
            let names: Vec<&str> = self.skipped.iter().map(|s| &**s).collect();
            write!(f, "; skipped {}", names.join(", "))?;
        }
        if let Some(g) = &self.grace {
            write!(
                f,
                "; grace window of {} sessions from {}",
                g.sessions, g.opens
            )?;
            if let Some(d) = g.ignored_since {
                write!(f, " (crossover of {d} ignored)")?;
            }
        }
        Ok(())
    }
}

/// One roll of the series.
#[derive(Debug, Clone, PartialEq)]
pub struct RollEvent {
    /// First trading day of the new contract.
    pub date: NaiveDate,
    /// First instant (UTC seconds) that belongs to the new contract: the session open of
    /// `date` for intraday bars, the start of the day after the previous trading day for
    /// daily bars.
    pub ts: i64,
    pub from: Arc<str>,
    pub to: Arc<str>,
    /// Price of the old contract that sets the gap (see [`RollPrice`]).
    pub from_price: f64,
    /// Price of the new contract that sets the gap.
    pub to_price: f64,
    /// `to_price - from_price`.
    pub difference: f64,
    /// `to_price / from_price`; `None` unless both are positive.
    pub ratio: Option<f64>,
    /// The cumulative adjustment of the segment this roll shifts: for backward modes the old
    /// contract's segment (this roll and every later one), for forward modes the new
    /// contract's segment (this roll and every earlier one). See [`apply_cumulative`].
    pub cumulative: Adjustment,
    /// Why the front rolled (for rank > 0, the roll of the front chain).
    pub trigger: RollTrigger,
}

/// A run of the series taken from one contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub contract: Arc<str>,
    /// First trading day of the segment (the series start for the first one).
    pub first_day: NaiveDate,
    /// Last trading day of the segment (the series end for the last one).
    pub last_day: NaiveDate,
    /// Number of bars in the output taken from this segment.
    pub bars: usize,
    /// The adjustment applied to every price of the segment.
    pub adjustment: Adjustment,
}

/// A bar of the continuous series and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousBar {
    /// The (adjusted) bar.
    pub bar: Bar,
    /// The contract the raw bar belongs to, e.g. `ESZ13`.
    pub contract: Arc<str>,
    /// Index into [`ContinuousSeries::segments`].
    pub segment: usize,
}

/// Something the caller should know about a series that was still built.
#[derive(Debug, Clone, PartialEq)]
pub enum ContinuousWarning {
    /// A difference adjustment made prices of this segment zero or negative (its VWAP was
    /// dropped where it would be <= 0).
    NonPositiveAdjusted {
        segment: usize,
        contract: Arc<str>,
        bars: usize,
        first_ts: i64,
    },
    /// The new contract had no bar before the roll; its first open was used instead.
    RollPriceFallback { date: NaiveDate, contract: Arc<str> },
    /// From `date` on the requested rank has no contract; the series ends before it.
    RankExhausted { date: NaiveDate },
}

impl ContinuousWarning {
    /// Stable name: `non_positive_adjusted`, `roll_price_fallback` or `rank_exhausted`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ContinuousWarning::NonPositiveAdjusted { .. } => "non_positive_adjusted",
            ContinuousWarning::RollPriceFallback { .. } => "roll_price_fallback",
            ContinuousWarning::RankExhausted { .. } => "rank_exhausted",
        }
    }

    /// The stored form, e.g. `v1 rank_exhausted date=2014-03-03` or
    /// `v1 non_positive_adjusted segment=2 contract=CLK20 bars=2 first_ts=1587340800`
    /// (read back by [`ContinuousWarning::decode`]).
    pub fn encode(&self) -> String {
        match self {
            ContinuousWarning::NonPositiveAdjusted {
                segment,
                contract,
                bars,
                first_ts,
            } => format!(
                "{VERSION} non_positive_adjusted segment={segment} contract={} bars={bars} first_ts={first_ts}",
                escape(contract)
            ),
            ContinuousWarning::RollPriceFallback { date, contract } => format!(
                "{VERSION} roll_price_fallback date={date} contract={}",
                escape(contract)
            ),
            ContinuousWarning::RankExhausted { date } => {
                format!("{VERSION} rank_exhausted date={date}")
            }
        }
    }

    /// Read the form written by [`ContinuousWarning::encode`].
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let rec = Record::parse(text, "continuous warning")?;
        match rec.kind {
            "non_positive_adjusted" => Ok(ContinuousWarning::NonPositiveAdjusted {
                segment: rec.num("segment")?,
                contract: rec.contract("contract")?,
                bars: rec.num("bars")?,
                first_ts: rec.num("first_ts")?,
            }),
            "roll_price_fallback" => Ok(ContinuousWarning::RollPriceFallback {
                date: rec.date("date")?,
                contract: rec.contract("contract")?,
            }),
            "rank_exhausted" => Ok(ContinuousWarning::RankExhausted {
                date: rec.date("date")?,
            }),
            _ => Err(rec.err("unknown warning")),
        }
    }
}

impl fmt::Display for ContinuousWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContinuousWarning::NonPositiveAdjusted {
                segment,
                contract,
                bars,
                first_ts,
            } => write!(
                f,
                "the adjustment makes prices of {contract} (segment {segment}) zero or negative on {bars} bar(s) from {}",
                rfc3339(*first_ts)
            ),
            ContinuousWarning::RollPriceFallback { date, contract } => write!(
                f,
                "{contract} has no bar before the roll on {date}: its first open sets the roll gap"
            ),
            ContinuousWarning::RankExhausted { date } => write!(
                f,
                "from {date} on the requested rank has no contract: the series ends before it"
            ),
        }
    }
}

/// A stored roll trigger, roll detail or warning text that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a stored {what} ({VERSION}): {reason}")]
pub struct DecodeError {
    pub what: &'static str,
    pub text: String,
    pub reason: &'static str,
}

/// A stitched series with its roll table.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousSeries {
    pub root: String,
    pub adjust: Adjust,
    pub bars: Vec<ContinuousBar>,
    pub segments: Vec<Segment>,
    pub rolls: Vec<RollEvent>,
    /// What happened at each roll: `roll_details[k]` belongs to `rolls[k]`.
    pub roll_details: Vec<RollDetail>,
    /// The roll cycle used (the spec's, or the root's default).
    pub cycle: RollCycle,
    /// Contracts given but left out because their month is not in the cycle.
    pub excluded: Vec<Arc<str>>,
    pub warnings: Vec<ContinuousWarning>,
}

impl ContinuousSeries {
    /// The raw bars again (each segment's adjustment removed), for tracing and tests.
    pub fn raw_bars(&self) -> Result<Vec<Bar>, ContinuousError> {
        self.bars
            .iter()
            .map(|b| {
                let adj = self.segments[b.segment].adjustment;
                rebuild(&b.bar, &b.contract, |p| adj.remove(p)).map(|(bar, _)| bar)
            })
            .collect()
    }
}

/// The version tag of the stored text forms.
const VERSION: &str = "v1";

/// `%XX` for every byte outside `[A-Za-z0-9._-]`, so a value never holds a space, `,` or `=`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `v1 KIND key=value ...`, split.
struct Record<'a> {
    what: &'static str,
    text: &'a str,
    kind: &'a str,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Record<'a> {
    fn parse(text: &'a str, what: &'static str) -> Result<Self, DecodeError> {
        let err = |reason| DecodeError {
            what,
            text: text.to_string(),
            reason,
        };
        let mut tokens = text.split_whitespace();
        if tokens.next() != Some(VERSION) {
            return Err(err("unknown version"));
        }
        let kind = tokens.next().ok_or_else(|| err("no kind"))?;
        let fields = tokens
            .map(|t| {
                t.split_once('=')
                    .ok_or_else(|| err("a field is not key=value"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Record {
            what,
            text,
            kind,
            fields,
        })
    }

    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError {
            what: self.what,
            text: self.text.to_string(),
            reason,
        }
    }

    fn opt(&self, key: &str) -> Option<&'a str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn get(&self, key: &str) -> Result<&'a str, DecodeError> {
        self.opt(key).ok_or_else(|| self.err("a field is missing"))
    }

    fn date(&self, key: &str) -> Result<NaiveDate, DecodeError> {
        self.get(key)?
            .parse()
            .map_err(|_| self.err("a date is malformed"))
    }

    fn num<T: FromStr>(&self, key: &str) -> Result<T, DecodeError> {
        self.get(key)?
            .parse()
            .map_err(|_| self.err("a number is malformed"))
    }

    fn contract(&self, key: &str) -> Result<Arc<str>, DecodeError> {
        unescape(self.get(key)?)
            .map(Arc::from)
            .ok_or_else(|| self.err("a contract is malformed"))
    }

    fn trigger(&self) -> Result<RollTrigger, DecodeError> {
        Ok(match self.kind {
            "calendar" => RollTrigger::Calendar {
                anchor: self.date("anchor")?,
            },
            "volume" => RollTrigger::Volume {
                session: self.date("session")?,
                front: self.num("front")?,
                next: self.num("next")?,
            },
            "open_interest" => RollTrigger::OpenInterest {
                session: self.date("session")?,
                front: self.num("front")?,
                next: self.num("next")?,
            },
            "fixed" => RollTrigger::Fixed {
                date: self.date("date")?,
            },
            "expired" => RollTrigger::Expired {
                last_trade: self.date("last_trade")?,
            },
            _ => return Err(self.err("unknown trigger")),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------

/// Builds continuous series over one trading calendar and base resolution.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousBuilder<'c> {
    cal: &'c Calendar,
    resolution: Resolution,
    rules: &'c ExpiryRules,
}

/// A move of the front chain.
struct Switch {
    /// The roll date (first trading day of the new front).
    date: NaiveDate,
    /// Index of the new front.
    front: usize,
    detail: RollDetail,
}

/// A contract after validation, with its resolved dates.
struct Prepared<'a> {
    data: &'a ContractData,
    symbol: Arc<str>,
    dates: ContractDates,
    /// Trading day -> (volume, open interest reading).
    daily: BTreeMap<NaiveDate, (f64, Option<f64>)>,
}

impl Prepared<'_> {
    fn volume(&self, d: NaiveDate) -> f64 {
        self.daily.get(&d).map_or(0.0, |v| v.0)
    }
    /// The last open-interest reading on or before `d` (0 before the first).
    fn open_interest(&self, d: NaiveDate) -> f64 {
        self.daily
            .range(..=d)
            .rev()
            .find_map(|(_, v)| v.1)
            .unwrap_or(0.0)
    }
}

/// The contracts of the roll cycle, in month order, and those left out.
struct Chain<'a> {
    cs: Vec<Prepared<'a>>,
    cycle: RollCycle,
    excluded: Vec<Arc<str>>,
}

impl<'c> ContinuousBuilder<'c> {
    /// A builder using the embedded expiry rules.
    pub fn new(cal: &'c Calendar, resolution: Resolution) -> Result<Self, ContinuousError> {
        Ok(ContinuousBuilder {
            cal,
            resolution,
            rules: ExpiryRules::builtin()?,
        })
    }

    /// Use another expiry rule table (its default roll cycles included).
    pub fn with_rules(mut self, rules: &'c ExpiryRules) -> Self {
        self.rules = rules;
        self
    }

    /// Stitch `contracts` (one root, any order) following `spec` (validated first).
    pub fn build(
        &self,
        contracts: &[ContractData],
        spec: &ContinuousSpec,
    ) -> Result<ContinuousSeries, ContinuousError> {
        spec.validate()?;
        let Chain {
            cs,
            cycle,
            excluded,
        } = self.prepare(contracts, spec)?;
        let n = cs.len();
        let root = cs[0].data.contract.root.trim().to_ascii_uppercase();
        if spec.rank >= n {
            return Err(ContinuousError::RankUnavailable {
                rank: spec.rank,
                available: n,
            });
        }
        let empty = || ContinuousSeries {
            root: root.clone(),
            adjust: spec.adjust,
            bars: Vec::new(),
            segments: Vec::new(),
            rolls: Vec::new(),
            roll_details: Vec::new(),
            cycle,
            excluded: excluded.clone(),
            warnings: Vec::new(),
        };
        // The trading days the data covers.
        let mut locator = DayLocator::new(self.cal, self.resolution);
        let mut span: Option<(NaiveDate, NaiveDate)> = None;
        for c in &cs {
            if let (Some(f), Some(l)) = (c.data.bars.first(), c.data.bars.last()) {
                let (f, l) = (locator.trading_day(f.ts()), locator.trading_day(l.ts()));
                span = Some(span.map_or((f, l), |(a, b)| (a.min(f), b.max(l))));
            }
        }
        let Some((first_day, last_day)) = span else {
            return Ok(empty());
        };
        let days: Vec<NaiveDate> = first_day
            .iter_days()
            .take_while(|d| *d <= last_day)
            .filter(|d| self.cal.is_trading_day(*d))
            .collect();
        if days.is_empty() {
            return Ok(empty());
        }

        // The front chain: the initial front and every later move.
        let (start_front, switches) = self.front_chain(&cs, spec, &days);
        if start_front + spec.rank >= n {
            return Err(ContinuousError::RankUnavailable {
                rank: spec.rank,
                available: n - start_front,
            });
        }

        // Segments of the ranked series.
        let mut warnings = Vec::new();
        let mut plan: Vec<(usize, NaiveDate, i64)> =
            vec![(start_front + spec.rank, days[0], i64::MIN)];
        let mut details = Vec::new();
        let mut end_ts = i64::MAX;
        let mut end_day = last_day;
        for Switch {
            date,
            front,
            detail,
        } in switches
        {
            let ts = self.boundary(date);
            if front + spec.rank >= n {
                warnings.push(ContinuousWarning::RankExhausted { date });
                end_ts = ts;
                end_day = self.cal.trading_day_before(date);
                break;
            }
            plan.push((front + spec.rank, date, ts));
            details.push(detail);
        }

        // Roll prices.
        let mut rolls = Vec::new();
        for k in 1..plan.len() {
            let (old, new) = (&cs[plan[k - 1].0], &cs[plan[k].0]);
            let (date, ts) = (plan[k].1, plan[k].2);
            let last_before = |c: &Prepared| {
                let i = c.data.bars.partition_point(|b| b.ts() < ts);
                (i > 0).then(|| c.data.bars[i - 1].close())
            };
            let first_from = |c: &Prepared| {
                let i = c.data.bars.partition_point(|b| b.ts() < ts);
                c.data.bars.get(i).map(|b| b.open())
            };
            let no_price = |c: &Prepared| ContinuousError::NoRollPrice {
                date,
                contract: c.symbol.to_string(),
            };
            let from_price = last_before(old).ok_or_else(|| no_price(old))?;
            let to_price = match spec.roll_price {
                RollPrice::LastCloseBoth => match last_before(new) {
                    Some(p) => p,
                    None => {
                        warnings.push(ContinuousWarning::RollPriceFallback {
                            date,
                            contract: new.symbol.clone(),
                        });
                        first_from(new).ok_or_else(|| no_price(new))?
                    }
                },
                RollPrice::LastOldFirstNew => first_from(new).ok_or_else(|| no_price(new))?,
            };
            if spec.adjust.is_ratio() {
                for (c, p) in [(old, from_price), (new, to_price)] {
                    if p <= 0.0 {
                        return Err(ContinuousError::NonPositivePrice {
                            contract: c.symbol.to_string(),
                            ts,
                            price: p,
                        });
                    }
                }
            }
            rolls.push(RollEvent {
                date,
                ts,
                from: old.symbol.clone(),
                to: new.symbol.clone(),
                from_price,
                to_price,
                difference: to_price - from_price,
                ratio: (from_price > 0.0 && to_price > 0.0).then(|| to_price / from_price),
                cumulative: Adjustment::None,
                trigger: details[k - 1].trigger.clone(),
            });
        }

        // Cumulative adjustment per segment.
        let adjustments = segment_adjustments(spec.adjust, &rolls);
        apply_cumulative(spec.adjust, &mut rolls);

        // Stitch.
        let mut bars = Vec::new();
        let mut segments = Vec::new();
        for (s, &(ci, first, start)) in plan.iter().enumerate() {
            let c = &cs[ci];
            let (stop, last) = match plan.get(s + 1) {
                Some(&(_, next_day, next_ts)) => (next_ts, self.cal.trading_day_before(next_day)),
                None => (end_ts, end_day),
            };
            let lo = c.data.bars.partition_point(|b| b.ts() < start);
            let hi = c.data.bars.partition_point(|b| b.ts() < stop);
            let adj = adjustments[s];
            let mut non_positive = (0, 0);
            for raw in &c.data.bars[lo..hi] {
                if spec.adjust.is_ratio() {
                    let low = raw.low().min(raw.open()).min(raw.close());
                    if low <= 0.0 {
                        return Err(ContinuousError::NonPositivePrice {
                            contract: c.symbol.to_string(),
                            ts: raw.ts(),
                            price: low,
                        });
                    }
                }
                let (bar, dropped) = rebuild(raw, &c.symbol, |p| adj.apply(p))?;
                if adj != Adjustment::None && (bar.low() <= 0.0 || dropped) {
                    if non_positive.0 == 0 {
                        non_positive.1 = bar.ts();
                    }
                    non_positive.0 += 1;
                }
                bars.push(ContinuousBar {
                    bar,
                    contract: c.symbol.clone(),
                    segment: s,
                });
            }
            if non_positive.0 > 0 {
                warnings.push(ContinuousWarning::NonPositiveAdjusted {
                    segment: s,
                    contract: c.symbol.clone(),
                    bars: non_positive.0,
                    first_ts: non_positive.1,
                });
            }
            segments.push(Segment {
                contract: c.symbol.clone(),
                first_day: first,
                last_day: last,
                bars: hi.saturating_sub(lo),
                adjustment: adj,
            });
        }
        Ok(ContinuousSeries {
            root,
            adjust: spec.adjust,
            bars,
            segments,
            rolls,
            roll_details: details,
            cycle,
            excluded,
            warnings,
        })
    }

    /// Validate, keep the contracts of the roll cycle, order by contract month and resolve
    /// dates.
    fn prepare<'a>(
        &self,
        contracts: &'a [ContractData],
        spec: &ContinuousSpec,
    ) -> Result<Chain<'a>, ContinuousError> {
        let first = contracts.first().ok_or(ContinuousError::NoContracts)?;
        let root = first.contract.root.trim().to_ascii_uppercase();
        let cycle = spec
            .cycle
            .or_else(|| self.rules.default_cycle(&root))
            .unwrap_or(RollCycle::ALL);
        let mut out: Vec<Prepared<'a>> = Vec::with_capacity(contracts.len());
        let mut months = Vec::with_capacity(contracts.len());
        let mut excluded = Vec::new();
        for c in contracts {
            let this_root = c.contract.root.trim().to_ascii_uppercase();
            if this_root != root {
                return Err(ContinuousError::MixedRoots {
                    expected: root,
                    found: this_root,
                });
            }
            let symbol: Arc<str> = Arc::from(c.contract.symbol());
            if let Err(crate::EngineError::Unsorted { index, ts }) = check_sorted(&c.bars) {
                return Err(ContinuousError::Unsorted {
                    contract: symbol.to_string(),
                    index,
                    ts,
                });
            }
            if let Some(b) = [c.bars.first(), c.bars.last()]
                .into_iter()
                .flatten()
                .find(|b| !(FIRST_TS..END_TS).contains(&b.ts()))
            {
                return Err(ContinuousError::BarOutOfSpan {
                    contract: symbol.to_string(),
                    ts: b.ts(),
                });
            }
            months.push((c.contract.month, symbol.clone()));
            if !cycle.contains(c.contract.month.month()) {
                excluded.push(symbol);
                continue;
            }
            let mut stats = if c.daily.is_empty() {
                daily_stats(self.cal, self.resolution, &c.bars)
            } else {
                c.daily.clone()
            };
            let mut daily: BTreeMap<NaiveDate, (f64, Option<f64>)> = BTreeMap::new();
            stats.sort_by_key(|s| s.date);
            for s in stats {
                let e = daily
                    .entry(self.cal.next_trading_day(s.date))
                    .or_insert((0.0, None));
                e.0 += s.volume;
                e.1 = s.open_interest.or(e.1);
            }
            out.push(Prepared {
                data: c,
                symbol,
                dates: self.rules.resolve(&c.contract)?,
                daily,
            });
        }
        months.sort();
        if let Some(w) = months.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(ContinuousError::DuplicateContract(w[0].1.to_string()));
        }
        if out.is_empty() {
            return Err(ContinuousError::NoContractsInCycle {
                root,
                cycle,
                contracts: contracts.len(),
            });
        }
        out.sort_by_key(|c| c.data.contract.month);
        excluded.sort();
        Ok(Chain {
            cs: out,
            cycle,
            excluded,
        })
    }

    /// The initial front and every later move of the front chain.
    fn front_chain(
        &self,
        cs: &[Prepared],
        spec: &ContinuousSpec,
        days: &[NaiveDate],
    ) -> (usize, Vec<Switch>) {
        let n = cs.len();
        let skipped = |old: usize, new: usize| -> Vec<Arc<str>> {
            cs[old + 1..new].iter().map(|c| c.symbol.clone()).collect()
        };
        let mut switches = Vec::new();
        match &spec.rule {
            RollRule::Calendar | RollRule::Fixed(_) => {
                let plan = self.roll_dates(cs, spec);
                let mut front = (0..n).find(|&i| days[0] < plan[i].0).unwrap_or(n - 1);
                let start = front;
                for &d in &days[1..] {
                    let old = front;
                    while front + 1 < n && d >= plan[front].0 {
                        front += 1;
                    }
                    if front != old {
                        switches.push(Switch {
                            date: d,
                            front,
                            detail: RollDetail {
                                trigger: plan[old].1.clone(),
                                skipped: skipped(old, front),
                                grace: None,
                            },
                        });
                    }
                }
                (start, switches)
            }
            RollRule::Volume | RollRule::OpenInterest => {
                let by_oi = spec.rule == RollRule::OpenInterest;
                let value = |i: usize, d: NaiveDate| {
                    if by_oi {
                        cs[i].open_interest(d)
                    } else {
                        cs[i].volume(d)
                    }
                };
                let expired = |i: usize, d: NaiveDate| d > cs[i].dates.last_trade;
                // First session of each contract's grace window.
                let opens: Vec<Option<NaiveDate>> = cs
                    .iter()
                    .map(|c| {
                        spec.grace_sessions.map(|g| {
                            self.cal
                                .trading_days_back(c.dates.last_trade, g)
                                .unwrap_or(NaiveDate::MIN)
                        })
                    })
                    .collect();
                let counts = |front: usize, session: NaiveDate| {
                    opens[front].is_none_or(|open| session >= open)
                };
                // The contract the rule compares the front with on `session` for a roll on
                // `day`: the next one, or the most active later one still trading.
                let candidate = |front: usize, session: NaiveDate, day: NaiveDate| {
                    if !spec.skip_to_most_active {
                        return (front + 1 < n).then_some(front + 1);
                    }
                    let mut best: Option<(usize, f64)> = None;
                    for j in front + 1..n {
                        if expired(j, day) {
                            continue;
                        }
                        let v = value(j, session);
                        if best.is_none_or(|(_, b)| v > b) {
                            best = Some((j, v));
                        }
                    }
                    best.map(|(j, _)| j)
                };
                let mut front = (0..n).find(|&i| !expired(i, days[0])).unwrap_or(n - 1);
                let before_start = self.cal.trading_day_before(days[0]);
                while let Some(j) = candidate(front, before_start, days[0]) {
                    if value(j, before_start) > value(front, before_start)
                        && counts(front, before_start)
                    {
                        front = j;
                    } else {
                        break;
                    }
                }
                let start = front;
                let mut ignored_since: Option<NaiveDate> = None;
                for k in 1..days.len() {
                    let (d, prev) = (days[k], days[k - 1]);
                    let old = front;
                    let mut trigger = None;
                    if let Some(j) = candidate(front, prev, d) {
                        let (a, b) = (value(front, prev), value(j, prev));
                        if b > a {
                            if counts(front, prev) {
                                front = j;
                                trigger = Some(if by_oi {
                                    RollTrigger::OpenInterest {
                                        session: prev,
                                        front: a,
                                        next: b,
                                    }
                                } else {
                                    RollTrigger::Volume {
                                        session: prev,
                                        front: a,
                                        next: b,
                                    }
                                });
                            } else {
                                ignored_since.get_or_insert(prev);
                            }
                        }
                    }
                    // A contract is never used after its last trade date.
                    if front + 1 < n && expired(front, d) {
                        trigger.get_or_insert(RollTrigger::Expired {
                            last_trade: cs[front].dates.last_trade,
                        });
                        while front + 1 < n && expired(front, d) {
                            front += 1;
                        }
                        if spec.skip_to_most_active
                            && let Some(j) = candidate(front, prev, d)
                            && value(j, prev) > value(front, prev)
                        {
                            front = j;
                        }
                    }
                    if let (true, Some(trigger)) = (front != old, trigger) {
                        switches.push(Switch {
                            date: d,
                            front,
                            detail: RollDetail {
                                trigger,
                                skipped: skipped(old, front),
                                grace: spec.grace_sessions.map(|sessions| GraceWindow {
                                    sessions,
                                    opens: opens[old].unwrap_or(NaiveDate::MIN),
                                    ignored_since,
                                }),
                            },
                        });
                        ignored_since = None;
                    }
                }
                (start, switches)
            }
        }
    }

    /// Calendar and fixed rules: each contract's roll-out date (first trading day of the next
    /// contract) and its trigger. Fixed dates are validated by [`ContinuousSpec::validate`].
    fn roll_dates(&self, cs: &[Prepared], spec: &ContinuousSpec) -> Vec<(NaiveDate, RollTrigger)> {
        let after_expiry = |c: &Prepared| {
            (
                self.cal.trading_day_after(c.dates.last_trade),
                RollTrigger::Expired {
                    last_trade: c.dates.last_trade,
                },
            )
        };
        match &spec.rule {
            RollRule::Fixed(dates) => {
                let mut prev_ltd = NaiveDate::MIN;
                cs.iter()
                    .map(|c| {
                        let ltd = c.dates.last_trade;
                        // Dates are strictly increasing: the first one after `prev_ltd`.
                        let i = dates.partition_point(|d| *d <= prev_ltd);
                        let listed = dates.get(i).filter(|d| **d <= ltd);
                        prev_ltd = ltd;
                        match listed {
                            Some(&d) => {
                                (self.cal.next_trading_day(d), RollTrigger::Fixed { date: d })
                            }
                            None => after_expiry(c),
                        }
                    })
                    .collect()
            }
            _ => cs
                .iter()
                .map(|c| {
                    let anchor = match spec.anchor {
                        RollAnchor::FirstNotice => {
                            c.dates.first_notice.unwrap_or(c.dates.last_trade)
                        }
                        RollAnchor::LastTrade => c.dates.last_trade,
                    };
                    let d = self
                        .cal
                        .trading_days_back(anchor, spec.roll_offset)
                        .unwrap_or(NaiveDate::MIN);
                    (d, RollTrigger::Calendar { anchor })
                })
                .collect(),
        }
    }

    /// First instant that belongs to trading day `date` (a trading day).
    fn boundary(&self, date: NaiveDate) -> i64 {
        match self.resolution {
            Resolution::Day => {
                let prev = self.cal.trading_day_before(date);
                date_key(prev.succ_opt().unwrap_or(prev))
            }
            Resolution::Minute => self
                .cal
                .session(date, SessionFilter::All)
                .map_or_else(|| date_key(date), |s| s.open()),
        }
    }
}

/// The cumulative adjustment of every segment of a series with these `rolls` (segment `k`
/// follows roll `k - 1`, so there is one more segment than rolls): backward modes sum
/// (multiply) the rolls from the segment's end to the newest, forward modes from the
/// oldest to the segment's start.
pub fn segment_adjustments(adjust: Adjust, rolls: &[RollEvent]) -> Vec<Adjustment> {
    let n = rolls.len() + 1;
    let ratio = |r: &RollEvent| r.to_price / r.from_price;
    let mut out = vec![Adjustment::None; n];
    match adjust {
        Adjust::None => {}
        Adjust::DifferenceBack => {
            let mut acc = 0.0;
            out[n - 1] = Adjustment::Add(0.0);
            for k in (0..n - 1).rev() {
                acc += rolls[k].difference;
                out[k] = Adjustment::Add(acc);
            }
        }
        Adjust::RatioBack => {
            let mut acc = 1.0;
            out[n - 1] = Adjustment::Multiply(1.0);
            for k in (0..n - 1).rev() {
                acc *= ratio(&rolls[k]);
                out[k] = Adjustment::Multiply(acc);
            }
        }
        Adjust::DifferenceForward => {
            let mut acc = 0.0;
            out[0] = Adjustment::Add(0.0);
            for k in 1..n {
                acc -= rolls[k - 1].difference;
                out[k] = Adjustment::Add(acc);
            }
        }
        Adjust::RatioForward => {
            let mut acc = 1.0;
            out[0] = Adjustment::Multiply(1.0);
            for k in 1..n {
                acc /= ratio(&rolls[k - 1]);
                out[k] = Adjustment::Multiply(acc);
            }
        }
    }
    out
}

/// Set each roll's [`RollEvent::cumulative`] exactly as [`ContinuousBuilder::build`] does
/// for a series with exactly these rolls (in date order): backward modes the adjustment of
/// the old contract's segment (this roll and every later one), forward modes that of the new
/// contract's segment (this roll and every earlier one); [`Adjustment::None`] without an
/// adjustment. Uses each roll's `difference`, `from_price` and `to_price`.
///
/// ```
/// use tradeassist_engine::{Adjust, Adjustment, apply_cumulative};
/// # use tradeassist_engine::{RollEvent, RollTrigger};
/// # use chrono::NaiveDate;
/// # let roll = |from: f64, to: f64| RollEvent {
/// #     date: NaiveDate::from_ymd_opt(2013, 12, 16).unwrap(), ts: 0, from: "A".into(), to: "B".into(),
/// #     from_price: from, to_price: to, difference: to - from, ratio: Some(to / from),
/// #     cumulative: Adjustment::None, trigger: RollTrigger::Expired { last_trade: NaiveDate::MIN },
/// # };
/// let mut rolls = [roll(100.0, 103.0), roll(110.0, 108.0)];
/// apply_cumulative(Adjust::DifferenceBack, &mut rolls);
/// assert_eq!(rolls[0].cumulative, Adjustment::Add(1.0)); // 3 + (-2)
/// assert_eq!(rolls[1].cumulative, Adjustment::Add(-2.0));
/// ```
pub fn apply_cumulative(adjust: Adjust, rolls: &mut [RollEvent]) {
    let adjustments = segment_adjustments(adjust, rolls);
    for (k, roll) in rolls.iter_mut().enumerate() {
        roll.cumulative = match adjust {
            Adjust::DifferenceBack | Adjust::RatioBack => adjustments[k],
            _ => adjustments[k + 1],
        };
    }
}

/// `raw` with `f` applied to open, high, low, close and VWAP; the flag says a VWAP was
/// dropped because it would not be positive.
fn rebuild(
    raw: &Bar,
    contract: &str,
    f: impl Fn(f64) -> f64,
) -> Result<(Bar, bool), ContinuousError> {
    let err = |source| ContinuousError::AdjustedBar {
        contract: contract.to_string(),
        ts: raw.ts(),
        source,
    };
    let vwap = raw.vwap().map(&f);
    let dropped = vwap.is_some_and(|v| v <= 0.0 || !v.is_finite());
    let bar = Bar::new(
        raw.ts(),
        f(raw.open()),
        f(raw.high()),
        f(raw.low()),
        f(raw.close()),
        raw.volume(),
    )
    .and_then(|b| b.with_open_interest(raw.open_interest()))
    .and_then(|b| b.with_vwap(vwap.filter(|_| !dropped)))
    .map_err(err)?
    .with_trade_count(raw.trade_count());
    Ok((bar, dropped))
}

/// Maps bar timestamps to trading days (minute bars: the session they fall in, or the next
/// one; daily bars: their date's trading day), caching the current session.
struct DayLocator<'c> {
    cal: &'c Calendar,
    resolution: Resolution,
    cached: Option<(i64, i64, NaiveDate)>,
}

impl<'c> DayLocator<'c> {
    fn new(cal: &'c Calendar, resolution: Resolution) -> Self {
        DayLocator {
            cal,
            resolution,
            cached: None,
        }
    }

    fn trading_day(&mut self, ts: i64) -> NaiveDate {
        if self.resolution == Resolution::Day {
            return self.cal.next_trading_day(utc_date(ts));
        }
        if let Some((open, close, d)) = self.cached
            && open <= ts
            && ts < close
        {
            return d;
        }
        let mut d = self.cal.local_date(ts);
        loop {
            if let Some(s) = self.cal.session(d, SessionFilter::All)
                && ts < s.close()
            {
                self.cached = Some((s.open(), s.close(), d));
                return d;
            }
            match d.succ_opt() {
                Some(next) => d = next,
                None => return d,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn daily_stats_follow_globex_sessions() {
        let cal = Calendar::get("cme_equity").unwrap();
        let sunday_open = 1_381_096_800; // 2013-10-06 17:00 CDT, opens Monday's session
        let bar = |ts, v| {
            Bar::new(ts, 1.0, 1.0, 1.0, 1.0, v)
                .unwrap()
                .with_open_interest(Some(v))
                .unwrap()
        };
        let bars = [
            bar(sunday_open, 1.0),
            bar(sunday_open + 23 * 3600 + 14 * 60, 2.0), // Monday 16:14 CDT
            bar(sunday_open + 24 * 3600, 4.0),           // Monday 17:00 CDT: Tuesday
        ];
        let stats = daily_stats(cal, Resolution::Minute, &bars);
        assert_eq!(
            stats,
            [
                DailyStat {
                    date: d(2013, 10, 7),
                    volume: 3.0,
                    open_interest: Some(2.0)
                },
                DailyStat {
                    date: d(2013, 10, 8),
                    volume: 4.0,
                    open_interest: Some(4.0)
                },
            ]
        );
        // A vendor's Sunday daily bar counts toward Monday.
        let daily = daily_stats(cal, Resolution::Day, &[bar(date_key(d(2013, 10, 6)), 5.0)]);
        assert_eq!(daily[0].date, d(2013, 10, 7));
    }

    #[test]
    fn adjustments_apply_and_remove() {
        assert_eq!(Adjustment::Add(2.5).apply(10.0), 12.5);
        assert_eq!(Adjustment::Add(2.5).remove(12.5), 10.0);
        assert_eq!(Adjustment::Multiply(0.5).apply(10.0), 5.0);
        assert_eq!(Adjustment::Multiply(0.5).remove(5.0), 10.0);
        assert_eq!(Adjustment::None.apply(3.0), 3.0);
        assert_eq!(Adjustment::None.remove(3.0), 3.0);
        assert_eq!(Adjustment::None.value(), 0.0);
    }
}
