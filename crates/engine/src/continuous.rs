//! Continuous futures: stitch one root's contracts into a single series with explicit roll
//! rules and price adjustments, and report every roll so each adjusted value can be traced
//! back to raw data.
//!
//! The input is, per contract, its [`FuturesContract`] definition, its base bars (1-minute or
//! 1-day, strictly increasing `ts`) and optionally its daily volume / open interest
//! ([`DailyStat`]; derived from the bars when left empty). A [`ContinuousSpec`] chooses
//!
//! - the roll rule ([`RollRule`]): `calendar` (N trading days before the last trade date or,
//!   with [`RollAnchor::FirstNotice`], the first notice date), `volume` / `open_interest`
//!   (roll when the next contract's value on the previous session exceeds the front's),
//!   or `fixed` dates;
//! - the rank (0 = front, 1 = second, ...), the adjustment ([`Adjust`]) and the prices that
//!   set the gap at a roll ([`RollPrice`]).
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
//!   rank-`r` series uses the contract `r` places after the front (by contract month).
//! - Adjustments change open, high, low, close and vendor VWAP, never volume or open interest.
//!   Backward modes keep the newest segment raw, forward modes the oldest; the adjustment of a
//!   segment is cumulative over all rolls between it and the raw segment
//!   ([`Segment::adjustment`]), and [`Adjustment::remove`] undoes it.
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
//! let closes: Vec<f64> = series.bars.iter().map(|b| b.bar.close()).collect();
//! assert_eq!(closes, [103.0, 103.0, 103.0, 103.0]); // ESU13 lifted by 3, ESZ13 raw
//! assert_eq!(series.segments[0].adjustment.remove(closes[0]), 100.0);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use tradeassist_model::{Bar, BarError, FuturesContract, Resolution, date_key};

use crate::aggregate::check_sorted;
use crate::calendar::utc_date;
use crate::expiry::{ContractDates, ExpiryError, ExpiryRules};
use crate::{Calendar, SessionFilter};

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
    #[error("`{value}` is not a {what} (expected one of: {expected})")]
    BadOption {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
}

// ---------------------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------------------

/// When the front contract rolls to the next one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RollRule {
    /// `roll_offset` trading days before the anchor date (last trade or first notice).
    Calendar,
    /// When the next contract's volume on the previous session exceeds the front's.
    Volume,
    /// When the next contract's open interest (forward-filled) on the previous session
    /// exceeds the front's.
    OpenInterest,
    /// On these dates (each moved to the next trading day if needed). A date rolls out of the
    /// contract that is the front on it: the first date in `(previous contract's last trade
    /// date, contract's last trade date]` is that contract's roll date; a contract without
    /// one rolls after its last trade date, and dates outside every window are ignored.
    Fixed(Vec<NaiveDate>),
}

impl RollRule {
    /// `calendar`, `volume`, `open_interest` or `fixed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RollRule::Calendar => "calendar",
            RollRule::Volume => "volume",
            RollRule::OpenInterest => "open_interest",
            RollRule::Fixed(_) => "fixed",
        }
    }
}

impl FromStr for RollRule {
    type Err = ContinuousError;
    /// `calendar` / `c`, `volume` / `v`, `open_interest` / `n` (fixed needs dates).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "calendar" | "c" => Ok(RollRule::Calendar),
            "volume" | "v" => Ok(RollRule::Volume),
            "open_interest" | "n" => Ok(RollRule::OpenInterest),
            _ => Err(ContinuousError::BadOption {
                what: "roll rule",
                value: s.to_string(),
                expected: "calendar, volume, open_interest",
            }),
        }
    }
}

/// The date a calendar roll counts back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RollAnchor {
    /// The last trade date.
    #[default]
    LastTrade,
    /// The first notice date (the last trade date for products without notice days).
    FirstNotice,
}

impl FromStr for RollAnchor {
    type Err = ContinuousError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "last_trade" | "expiry" => Ok(RollAnchor::LastTrade),
            "first_notice" => Ok(RollAnchor::FirstNotice),
            _ => Err(ContinuousError::BadOption {
                what: "roll anchor",
                value: s.to_string(),
                expected: "last_trade, first_notice",
            }),
        }
    }
}

/// How prices are adjusted across rolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Adjust {
    /// Raw prices (gaps at rolls stay).
    #[default]
    None,
    /// Panama: add the roll differences to older segments; the newest segment is raw.
    DifferenceBack,
    /// Multiply older segments by the roll ratios; the newest segment is raw.
    RatioBack,
    /// Subtract the roll differences from newer segments; the oldest segment is raw.
    DifferenceForward,
    /// Divide newer segments by the roll ratios; the oldest segment is raw.
    RatioForward,
}

impl Adjust {
    pub const ALL: [Adjust; 5] = [
        Adjust::None,
        Adjust::DifferenceBack,
        Adjust::RatioBack,
        Adjust::DifferenceForward,
        Adjust::RatioForward,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Adjust::None => "none",
            Adjust::DifferenceBack => "difference_back",
            Adjust::RatioBack => "ratio_back",
            Adjust::DifferenceForward => "difference_forward",
            Adjust::RatioForward => "ratio_forward",
        }
    }

    /// True for the two ratio modes (which need positive prices).
    pub const fn is_ratio(self) -> bool {
        matches!(self, Adjust::RatioBack | Adjust::RatioForward)
    }
}

impl fmt::Display for Adjust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Adjust {
    type Err = ContinuousError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s_l = s.trim().to_ascii_lowercase();
        Adjust::ALL
            .into_iter()
            .find(|a| a.as_str() == s_l)
            .ok_or_else(|| ContinuousError::BadOption {
                what: "price adjustment",
                value: s.to_string(),
                expected: "none, difference_back, ratio_back, difference_forward, ratio_forward",
            })
    }
}

/// The two prices that set the gap at a roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RollPrice {
    /// Both contracts' closes on the last session before the roll (each contract's last bar
    /// before the boundary).
    #[default]
    LastCloseBoth,
    /// The old contract's last close before the roll and the new contract's first open.
    LastOldFirstNew,
}

impl FromStr for RollPrice {
    type Err = ContinuousError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "last_close_both" => Ok(RollPrice::LastCloseBoth),
            "last_old_first_new" => Ok(RollPrice::LastOldFirstNew),
            _ => Err(ContinuousError::BadOption {
                what: "roll price",
                value: s.to_string(),
                expected: "last_close_both, last_old_first_new",
            }),
        }
    }
}

/// Everything that defines a continuous series besides its data.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousSpec {
    pub rule: RollRule,
    /// Calendar rule: roll this many trading days before the anchor (0 = on the anchor day:
    /// the new contract is used from the anchor day's session on).
    pub roll_offset: u32,
    pub anchor: RollAnchor,
    /// 0 = front, 1 = second, ...
    pub rank: usize,
    pub adjust: Adjust,
    pub roll_price: RollPrice,
}

impl ContinuousSpec {
    /// A spec with this rule and the defaults: offset 0, last-trade anchor, rank 0, no
    /// adjustment, both closes before the roll.
    pub fn new(rule: RollRule) -> Self {
        ContinuousSpec {
            rule,
            roll_offset: 0,
            anchor: RollAnchor::LastTrade,
            rank: 0,
            adjust: Adjust::None,
            roll_price: RollPrice::LastCloseBoth,
        }
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

/// Why the front moved on.
#[derive(Debug, Clone, PartialEq)]
pub enum RollTrigger {
    /// Calendar rule: `roll_offset` trading days before `anchor` (the old front's last trade
    /// or first notice date).
    Calendar { anchor: NaiveDate },
    /// On `session` the next contract traded `next` > the front's `front`.
    Volume {
        session: NaiveDate,
        front: f64,
        next: f64,
    },
    /// On `session` the next contract's open interest `next` > the front's `front`
    /// (readings forward-filled).
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
    /// contract's segment (this roll and every earlier one).
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

/// A stitched series with its roll table.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousSeries {
    pub root: String,
    pub adjust: Adjust,
    pub bars: Vec<ContinuousBar>,
    pub segments: Vec<Segment>,
    pub rolls: Vec<RollEvent>,
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

/// A move of the front chain: roll date, index of the new front, why.
type Switch = (NaiveDate, usize, RollTrigger);

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

impl<'c> ContinuousBuilder<'c> {
    /// A builder using the embedded expiry rules.
    pub fn new(cal: &'c Calendar, resolution: Resolution) -> Result<Self, ContinuousError> {
        Ok(ContinuousBuilder {
            cal,
            resolution,
            rules: ExpiryRules::builtin()?,
        })
    }

    /// Use another expiry rule table.
    pub fn with_rules(mut self, rules: &'c ExpiryRules) -> Self {
        self.rules = rules;
        self
    }

    /// Stitch `contracts` (one root, any order) following `spec`.
    pub fn build(
        &self,
        contracts: &[ContractData],
        spec: &ContinuousSpec,
    ) -> Result<ContinuousSeries, ContinuousError> {
        let cs = self.prepare(contracts)?;
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

        // The front chain: (roll date, new front, trigger) after the initial front.
        let (start_front, switches) = self.front_chain(&cs, spec, &days)?;
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
        let mut triggers = Vec::new();
        let mut end_ts = i64::MAX;
        let mut end_day = last_day;
        for (date, front, trigger) in switches {
            let ts = self.boundary(date);
            if front + spec.rank >= n {
                warnings.push(ContinuousWarning::RankExhausted { date });
                end_ts = ts;
                end_day = self.cal.prev_trading_day(date - Duration::days(1));
                break;
            }
            plan.push((front + spec.rank, date, ts));
            triggers.push(trigger);
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
                trigger: triggers[k - 1].clone(),
            });
        }

        // Cumulative adjustment per segment.
        let adjustments = cumulative(spec.adjust, &rolls);
        for (k, roll) in rolls.iter_mut().enumerate() {
            roll.cumulative = match spec.adjust {
                Adjust::DifferenceBack | Adjust::RatioBack => adjustments[k],
                _ => adjustments[k + 1],
            };
        }

        // Stitch.
        let mut bars = Vec::new();
        let mut segments = Vec::new();
        for (s, &(ci, first, start)) in plan.iter().enumerate() {
            let c = &cs[ci];
            let (stop, last) = match plan.get(s + 1) {
                Some(&(_, next_day, next_ts)) => (
                    next_ts,
                    self.cal.prev_trading_day(next_day - Duration::days(1)),
                ),
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
            warnings,
        })
    }

    /// Validate, order by contract month and resolve dates.
    fn prepare<'a>(
        &self,
        contracts: &'a [ContractData],
    ) -> Result<Vec<Prepared<'a>>, ContinuousError> {
        let first = contracts.first().ok_or(ContinuousError::NoContracts)?;
        let root = first.contract.root.trim().to_ascii_uppercase();
        let mut out: Vec<Prepared<'a>> = Vec::with_capacity(contracts.len());
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
        out.sort_by_key(|c| c.data.contract.month);
        if let Some(w) = out
            .windows(2)
            .find(|w| w[0].data.contract.month == w[1].data.contract.month)
        {
            return Err(ContinuousError::DuplicateContract(w[0].symbol.to_string()));
        }
        Ok(out)
    }

    /// The initial front and every later (roll date, new front, trigger).
    fn front_chain(
        &self,
        cs: &[Prepared],
        spec: &ContinuousSpec,
        days: &[NaiveDate],
    ) -> Result<(usize, Vec<Switch>), ContinuousError> {
        let n = cs.len();
        let expired = |i: usize, d: NaiveDate| d > cs[i].dates.last_trade;
        let mut switches = Vec::new();
        match &spec.rule {
            RollRule::Calendar | RollRule::Fixed(_) => {
                let plan = self.roll_dates(cs, spec)?;
                let mut front = (0..n).find(|&i| days[0] < plan[i].0).unwrap_or(n - 1);
                let start = front;
                for &d in &days[1..] {
                    let old = front;
                    while front + 1 < n && d >= plan[front].0 {
                        front += 1;
                    }
                    if front != old {
                        switches.push((d, front, plan[old].1.clone()));
                    }
                }
                Ok((start, switches))
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
                let mut front = (0..n).find(|&i| !expired(i, days[0])).unwrap_or(n - 1);
                let before_start = self.cal.prev_trading_day(days[0] - Duration::days(1));
                while front + 1 < n && value(front + 1, before_start) > value(front, before_start) {
                    front += 1;
                }
                let start = front;
                for k in 1..days.len() {
                    let (d, prev) = (days[k], days[k - 1]);
                    let old = front;
                    let mut trigger = None;
                    if front + 1 < n {
                        let (a, b) = (value(front, prev), value(front + 1, prev));
                        if b > a {
                            front += 1;
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
                        }
                    }
                    // A contract is never used after its last trade date.
                    while front + 1 < n && expired(front, d) {
                        trigger.get_or_insert(RollTrigger::Expired {
                            last_trade: cs[front].dates.last_trade,
                        });
                        front += 1;
                    }
                    if let (true, Some(t)) = (front != old, trigger) {
                        switches.push((d, front, t));
                    }
                }
                Ok((start, switches))
            }
        }
    }

    /// Calendar and fixed rules: each contract's roll-out date (first trading day of the next
    /// contract) and its trigger.
    fn roll_dates(
        &self,
        cs: &[Prepared],
        spec: &ContinuousSpec,
    ) -> Result<Vec<(NaiveDate, RollTrigger)>, ContinuousError> {
        let after_expiry = |c: &Prepared| {
            (
                self.cal
                    .next_trading_day(c.dates.last_trade + Duration::days(1)),
                RollTrigger::Expired {
                    last_trade: c.dates.last_trade,
                },
            )
        };
        match &spec.rule {
            RollRule::Fixed(dates) => {
                if let Some(w) = dates.windows(2).find(|w| w[0] >= w[1]) {
                    return Err(ContinuousError::FixedDatesUnordered(w[1]));
                }
                let mut prev_ltd = NaiveDate::MIN;
                Ok(cs
                    .iter()
                    .map(|c| {
                        let ltd = c.dates.last_trade;
                        let listed = dates.iter().find(|d| prev_ltd < **d && **d <= ltd);
                        prev_ltd = ltd;
                        match listed {
                            Some(&d) => {
                                (self.cal.next_trading_day(d), RollTrigger::Fixed { date: d })
                            }
                            None => after_expiry(c),
                        }
                    })
                    .collect())
            }
            _ => Ok(cs
                .iter()
                .map(|c| {
                    let anchor = match spec.anchor {
                        RollAnchor::FirstNotice => {
                            c.dates.first_notice.unwrap_or(c.dates.last_trade)
                        }
                        RollAnchor::LastTrade => c.dates.last_trade,
                    };
                    let mut d = self.cal.prev_trading_day(anchor);
                    for _ in 0..spec.roll_offset {
                        d = self.cal.prev_trading_day(d - Duration::days(1));
                    }
                    (d, RollTrigger::Calendar { anchor })
                })
                .collect()),
        }
    }

    /// First instant that belongs to trading day `date` (a trading day).
    fn boundary(&self, date: NaiveDate) -> i64 {
        match self.resolution {
            Resolution::Day => {
                date_key(self.cal.prev_trading_day(date - Duration::days(1)) + Duration::days(1))
            }
            Resolution::Minute => self
                .cal
                .session(date, SessionFilter::All)
                .map_or_else(|| date_key(date), |s| s.open()),
        }
    }
}

/// Per-segment cumulative adjustments for `rolls` (segment `k` follows roll `k - 1`).
fn cumulative(adjust: Adjust, rolls: &[RollEvent]) -> Vec<Adjustment> {
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
            d += Duration::days(1);
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
