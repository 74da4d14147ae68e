//! Futures expiry rules: last trade and first notice dates derived from root + contract month.
//!
//! The rules are data (`expiry_rules.toml`, embedded at build time) read by a small
//! interpreter: an anchor in some month (the n-th weekday, a calendar day or the last business
//! day), optionally moved to the preceding business day, then stepped back a number of
//! business days. Business days come from the engine's trading calendars (the product's CME
//! template, minus the US exchange holidays on which CME assigns no trade date). An explicit
//! date on a [`FuturesContract`] always wins over a rule ([`ExpiryRules::resolve`]).
//!
//! ```
//! use chrono::NaiveDate;
//! use tradeassist_engine::{DateSource, ExpiryRules};
//! use tradeassist_model::{ContractMonth, FuturesContract, RollCycle};
//!
//! let rules = ExpiryRules::builtin().unwrap();
//! let dec13 = ContractMonth::new(2013, 12).unwrap();
//! // ES: third Friday of the contract month.
//! let es = rules.last_trade_date("ES", dec13).unwrap();
//! assert_eq!(es, NaiveDate::from_ymd_opt(2013, 12, 20).unwrap());
//! // GC: third last business day; first notice = last business day of the month before.
//! assert_eq!(rules.first_notice_date("GC", dec13).unwrap(), NaiveDate::from_ymd_opt(2013, 11, 29));
//!
//! // An explicit date in the data wins.
//! let contract = FuturesContract {
//!     root: "ES".into(),
//!     month: dec13,
//!     last_trade_date: NaiveDate::from_ymd_opt(2013, 12, 19),
//!     first_notice_date: None,
//! };
//! let dates = rules.resolve(&contract).unwrap();
//! assert_eq!(dates.last_trade.to_string(), "2013-12-19");
//! assert_eq!(dates.last_trade_source, DateSource::Explicit);
//! assert!(rules.last_trade_date("XYZ", dec13).is_err()); // unknown root: a typed error
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;
use tradeassist_model::{ContractMonth, FuturesContract, RollCycle};

use crate::Calendar;

/// The expiry rule data file, embedded at build time.
const EXPIRY_DATA: &str = include_str!("../expiry_rules.toml");

/// Why an expiry date could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    /// No expiry rule covers this root (and the contract carries no explicit date).
    #[error("no expiry rule for futures root `{0}`; give the contract an explicit last trade date")]
    UnknownRoot(String),
    /// The rule data is malformed (a build defect for the embedded file, caught by tests).
    #[error("expiry rule data: {0}")]
    RuleData(String),
}

/// Where a contract date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateSource {
    /// Given on the contract (vendor / instrument definition).
    Explicit,
    /// Derived from the product's expiry rule.
    Rule,
}

/// A contract's dates after [`ExpiryRules::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractDates {
    /// Last trade date (expiry).
    pub last_trade: NaiveDate,
    pub last_trade_source: DateSource,
    /// First notice date; `None` for products without notice days (cash settled, FX, energy
    /// where the notice period follows the last trade date).
    pub first_notice: Option<NaiveDate>,
    pub first_notice_source: Option<DateSource>,
}

/// One product group of the rule table (e.g. ES, NQ, YM, RTY).
#[derive(Debug, Clone)]
pub struct ProductRule {
    roots: Vec<String>,
    name: String,
    calendar: &'static Calendar,
    rule_text: String,
    last_trade: DateRule,
    first_notice: Option<DateRule>,
    /// Default roll cycle per root (`None`: every month).
    cycles: Vec<Option<RollCycle>>,
}

impl ProductRule {
    /// The default roll cycle of `root` (one of [`ProductRule::roots`]): the months a
    /// continuous series rolls through unless its spec says otherwise; `None` = every month.
    pub fn cycle(&self, root: &str) -> Option<RollCycle> {
        let root = root.trim().to_ascii_uppercase();
        self.roots
            .iter()
            .position(|r| *r == root)
            .and_then(|i| self.cycles[i])
    }

    /// The roots this rule covers.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }
    /// Human name of the product group.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The trading calendar of the product (sessions and holidays).
    pub fn calendar(&self) -> &'static Calendar {
        self.calendar
    }
    /// The exchange's wording of the rule.
    pub fn rule_text(&self) -> &str {
        &self.rule_text
    }
}

#[derive(Debug, Clone, Copy)]
enum Anchor {
    NthWeekday { weekday: Weekday, nth: i32 },
    Day(u32),
    LastBusinessDay,
}

#[derive(Debug, Clone, Copy)]
struct DateRule {
    anchor: Anchor,
    month_offset: i32,
    preceding: bool,
    business_days_before: u32,
}

/// The expiry rule table. [`ExpiryRules::builtin`] is the embedded one.
#[derive(Debug, Clone)]
pub struct ExpiryRules {
    products: Vec<ProductRule>,
    extra_holidays: Vec<&'static Calendar>,
}

static BUILTIN: OnceLock<Result<ExpiryRules, ExpiryError>> = OnceLock::new();

impl ExpiryRules {
    /// The embedded rule table (`expiry_rules.toml`).
    pub fn builtin() -> Result<&'static ExpiryRules, ExpiryError> {
        BUILTIN
            .get_or_init(|| ExpiryRules::parse(EXPIRY_DATA))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parse a rule table in the format of `expiry_rules.toml`.
    pub fn parse(text: &str) -> Result<ExpiryRules, ExpiryError> {
        let file: FileDef = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let extra_holidays = file
            .extra_holiday_calendars
            .iter()
            .map(|id| calendar(id))
            .collect::<Result<_, _>>()?;
        let mut products: Vec<ProductRule> = Vec::new();
        for p in file.product {
            if p.roots.is_empty() {
                return Err(bad(format!("product `{}` has no roots", p.name)));
            }
            let roots: Vec<String> = p.roots.iter().map(|r| r.to_ascii_uppercase()).collect();
            if let Some(dup) = roots
                .iter()
                .find(|r| products.iter().any(|q| q.roots.contains(r)))
            {
                return Err(bad(format!("root `{dup}` is defined twice")));
            }
            let parse_cycle = |text: &str| {
                text.parse::<RollCycle>()
                    .map_err(|e| bad(format!("{}: cycle: {e}", p.name)))
            };
            let default = p.cycle.as_deref().map(parse_cycle).transpose()?;
            if let Some(r) = p
                .root_cycles
                .keys()
                .find(|r| !roots.contains(&r.to_ascii_uppercase()))
            {
                return Err(bad(format!(
                    "{}: root_cycles names `{r}`, not one of its roots",
                    p.name
                )));
            }
            let mut cycles = Vec::with_capacity(roots.len());
            for r in &roots {
                let own = p
                    .root_cycles
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(r))
                    .map(|(_, v)| parse_cycle(v))
                    .transpose()?;
                cycles.push(own.or(default).filter(|c| !c.is_all()));
            }
            products.push(ProductRule {
                cycles,
                roots,
                calendar: calendar(&p.calendar)?,
                last_trade: p.last_trade.parse(&p.name)?,
                first_notice: p.first_notice.map(|r| r.parse(&p.name)).transpose()?,
                name: p.name,
                rule_text: p.rule_text,
            });
        }
        Ok(ExpiryRules {
            products,
            extra_holidays,
        })
    }

    /// The product rule covering `root` (case-insensitive).
    pub fn product(&self, root: &str) -> Result<&ProductRule, ExpiryError> {
        let root = root.trim().to_ascii_uppercase();
        self.products
            .iter()
            .find(|p| p.roots.contains(&root))
            .ok_or(ExpiryError::UnknownRoot(root))
    }

    /// The default roll cycle of `root` (`cycle` / `root_cycles` in the table); `None` for
    /// roots that roll through every month and for roots without a rule.
    pub fn default_cycle(&self, root: &str) -> Option<RollCycle> {
        self.product(root).ok().and_then(|p| p.cycle(root))
    }

    /// Every root the table covers, in table order.
    pub fn roots(&self) -> Vec<&str> {
        self.products
            .iter()
            .flat_map(|p| p.roots.iter().map(String::as_str))
            .collect()
    }

    /// True when `date` is a business day of `root`'s product: its calendar trades and no
    /// extra holiday calendar is closed.
    pub fn is_business_day(&self, root: &str, date: NaiveDate) -> Result<bool, ExpiryError> {
        Ok(self.business_day(self.product(root)?, date))
    }

    /// The rule-derived last trade date of `root` + `month`.
    pub fn last_trade_date(
        &self,
        root: &str,
        month: ContractMonth,
    ) -> Result<NaiveDate, ExpiryError> {
        let p = self.product(root)?;
        Ok(self.eval(p, &p.last_trade, month))
    }

    /// The rule-derived first notice date, `None` when the product has no notice days.
    pub fn first_notice_date(
        &self,
        root: &str,
        month: ContractMonth,
    ) -> Result<Option<NaiveDate>, ExpiryError> {
        let p = self.product(root)?;
        Ok(p.first_notice.as_ref().map(|r| self.eval(p, r, month)))
    }

    /// A contract's dates: its explicit dates where present, the rules for the rest. A
    /// contract with an explicit last trade date needs no rule for its root.
    pub fn resolve(&self, contract: &FuturesContract) -> Result<ContractDates, ExpiryError> {
        let product = self.product(&contract.root);
        let (last_trade, last_trade_source) = match contract.last_trade_date {
            Some(d) => (d, DateSource::Explicit),
            None => {
                let p = product.clone()?;
                (
                    self.eval(p, &p.last_trade, contract.month),
                    DateSource::Rule,
                )
            }
        };
        let (first_notice, first_notice_source) = match contract.first_notice_date {
            Some(d) => (Some(d), Some(DateSource::Explicit)),
            None => match product
                .ok()
                .and_then(|p| Some((p, p.first_notice.as_ref()?)))
            {
                Some((p, r)) => (
                    Some(self.eval(p, r, contract.month)),
                    Some(DateSource::Rule),
                ),
                None => (None, None),
            },
        };
        Ok(ContractDates {
            last_trade,
            last_trade_source,
            first_notice,
            first_notice_source,
        })
    }

    /// The contract with missing dates filled in from the rules (explicit dates kept).
    pub fn complete(&self, contract: &FuturesContract) -> Result<FuturesContract, ExpiryError> {
        let dates = self.resolve(contract)?;
        Ok(FuturesContract {
            last_trade_date: Some(dates.last_trade),
            first_notice_date: dates.first_notice,
            ..contract.clone()
        })
    }

    fn business_day(&self, p: &ProductRule, d: NaiveDate) -> bool {
        p.calendar.is_trading_day(d) && self.extra_holidays.iter().all(|c| c.is_trading_day(d))
    }

    fn prev_business_day(&self, p: &ProductRule, d: NaiveDate) -> NaiveDate {
        let mut d = d - Duration::days(1);
        while !self.business_day(p, d) {
            d -= Duration::days(1);
        }
        d
    }

    fn eval(&self, p: &ProductRule, rule: &DateRule, month: ContractMonth) -> NaiveDate {
        let (year, m) = shift_month(month.year(), month.month(), rule.month_offset);
        let first = NaiveDate::from_ymd_opt(year, m, 1).expect("valid month");
        let next_first = {
            let (ny, nm) = shift_month(year, m, 1);
            NaiveDate::from_ymd_opt(ny, nm, 1).expect("valid month")
        };
        let mut d = match rule.anchor {
            Anchor::NthWeekday { weekday, nth } => nth_weekday(first, next_first, weekday, nth),
            Anchor::Day(day) => {
                // Clamp to the month's length (a day 31 rule in a 30-day month).
                let last = next_first.pred_opt().expect("valid").day();
                first.with_day(day.min(last)).expect("valid day")
            }
            Anchor::LastBusinessDay => self.prev_business_day(p, next_first),
        };
        if !self.business_day(p, d) && (rule.preceding || rule.business_days_before == 0) {
            d = self.prev_business_day(p, d);
        }
        for _ in 0..rule.business_days_before {
            d = self.prev_business_day(p, d);
        }
        d
    }
}

fn shift_month(year: i32, month: u32, offset: i32) -> (i32, u32) {
    let idx = year * 12 + month as i32 - 1 + offset;
    (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
}

/// The `nth` `weekday` of the month starting at `first` (`nth < 0` counts from the end).
fn nth_weekday(first: NaiveDate, next_first: NaiveDate, weekday: Weekday, nth: i32) -> NaiveDate {
    if nth > 0 {
        let ahead =
            (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
        first + Duration::days(i64::from(ahead) + 7 * i64::from(nth - 1))
    } else {
        let last = next_first.pred_opt().expect("valid");
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        last - Duration::days(i64::from(back) + 7 * i64::from(-nth - 1))
    }
}

fn calendar(id: &str) -> Result<&'static Calendar, ExpiryError> {
    Calendar::get(id).map_err(|e| bad(e.to_string()))
}

fn bad(msg: impl Into<String>) -> ExpiryError {
    ExpiryError::RuleData(msg.into())
}

// ---------------------------------------------------------------------------------------
// Data file
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    extra_holiday_calendars: Vec<String>,
    product: Vec<ProductDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductDef {
    roots: Vec<String>,
    name: String,
    calendar: String,
    rule_text: String,
    last_trade: DateRuleDef,
    first_notice: Option<DateRuleDef>,
    /// Default roll cycle of the product's roots (month codes, e.g. `HMUZ`).
    cycle: Option<String>,
    /// Per-root overrides of `cycle`.
    #[serde(default)]
    root_cycles: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DateRuleDef {
    anchor: String,
    weekday: Option<String>,
    nth: Option<i32>,
    day: Option<u32>,
    #[serde(default)]
    month_offset: i32,
    if_not_business_day: Option<String>,
    #[serde(default)]
    business_days_before: u32,
}

impl DateRuleDef {
    fn parse(&self, product: &str) -> Result<DateRule, ExpiryError> {
        let err = |m: &str| bad(format!("{product}: {m}"));
        let anchor = match (self.anchor.as_str(), &self.weekday, self.nth, self.day) {
            ("nth_weekday", Some(w), Some(nth), None) if nth != 0 && (-5..=5).contains(&nth) => {
                Anchor::NthWeekday {
                    weekday: Weekday::from_str(w).map_err(|_| err("bad weekday"))?,
                    nth,
                }
            }
            ("day", None, None, Some(day)) if (1..=31).contains(&day) => Anchor::Day(day),
            ("last_business_day", None, None, None) => Anchor::LastBusinessDay,
            _ => {
                return Err(err(
                    "anchor must be nth_weekday (weekday, nth), day (day) or last_business_day",
                ));
            }
        };
        let preceding = match self.if_not_business_day.as_deref() {
            None | Some("keep") => false,
            Some("preceding") => true,
            Some(_) => return Err(err("if_not_business_day must be keep or preceding")),
        };
        if !(-12..=12).contains(&self.month_offset) || self.business_days_before > 60 {
            return Err(err("month_offset or business_days_before out of range"));
        }
        Ok(DateRule {
            anchor,
            month_offset: self.month_offset,
            preceding,
            business_days_before: self.business_days_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn month(y: i32, m: u32) -> ContractMonth {
        ContractMonth::new(y, m).unwrap()
    }

    #[test]
    fn embedded_table_parses_and_covers_the_common_products() {
        let rules = ExpiryRules::builtin().unwrap();
        for root in [
            "ES", "NQ", "YM", "RTY", "CL", "NG", "RB", "HO", "GC", "SI", "HG", "ZN", "ZB", "ZF",
            "ZC", "ZS", "ZW", "6E", "6J", "6B",
        ] {
            let p = rules.product(root).unwrap();
            assert!(!p.rule_text().is_empty() && !p.name().is_empty(), "{root}");
        }
        assert_eq!(rules.product("es").unwrap().calendar().id(), "cme_equity");
        assert_eq!(rules.roots().len(), 20);
    }

    #[test]
    fn default_roll_cycles_per_root() {
        let rules = ExpiryRules::builtin().unwrap();
        let cycle = |root| rules.default_cycle(root).map(|c| c.to_string());
        for root in ["ES", "NQ", "YM", "RTY", "ZN", "ZB", "ZF", "6E", "6J", "6B"] {
            assert_eq!(cycle(root).as_deref(), Some("HMUZ"), "{root}");
        }
        assert_eq!(cycle("GC").as_deref(), Some("GJMQVZ"));
        for root in ["SI", "HG", "ZC", "ZW"] {
            assert_eq!(cycle(root).as_deref(), Some("HKNUZ"), "{root}");
        }
        assert_eq!(cycle("ZS").as_deref(), Some("FHKNQUX"));
        for root in ["CL", "NG", "RB", "HO", "XYZ"] {
            assert_eq!(cycle(root), None, "{root}: every month");
        }
        assert_eq!(cycle("es").as_deref(), Some("HMUZ"));
    }

    #[test]
    fn malformed_cycles_are_refused() {
        let product = "[[product]]\nroots=[\"XX\"]\nname=\"x\"\ncalendar=\"cme_globex\"\nrule_text=\"t\"\nlast_trade = { anchor = \"last_business_day\" }\n";
        for bad_cycle in [
            "cycle = \"HMAZ\"",
            "cycle = \"\"",
            "root_cycles = { YY = \"HMUZ\" }",
        ] {
            let text = format!("{product}{bad_cycle}\n");
            assert!(
                matches!(ExpiryRules::parse(&text), Err(ExpiryError::RuleData(_))),
                "{bad_cycle}"
            );
        }
        let ok =
            ExpiryRules::parse(&format!("{product}root_cycles = {{ xx = \"FN\" }}\n")).unwrap();
        assert_eq!(ok.default_cycle("XX").unwrap().to_string(), "FN");
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        assert_eq!(shift_month(2014, 1, -1), (2013, 12));
        assert_eq!(shift_month(2013, 12, 1), (2014, 1));
        assert_eq!(shift_month(2013, 6, 0), (2013, 6));
    }

    #[test]
    fn nth_weekday_from_both_ends() {
        let (f, n) = (d(2013, 12, 1), d(2014, 1, 1));
        assert_eq!(nth_weekday(f, n, Weekday::Fri, 3), d(2013, 12, 20));
        assert_eq!(nth_weekday(f, n, Weekday::Wed, 3), d(2013, 12, 18));
        assert_eq!(nth_weekday(f, n, Weekday::Tue, -1), d(2013, 12, 31));
        assert_eq!(nth_weekday(f, n, Weekday::Sun, 1), d(2013, 12, 1));
    }

    #[test]
    fn malformed_rule_data_is_refused() {
        let ok_product =
            "[[product]]\nroots=[\"XX\"]\nname=\"x\"\ncalendar=\"cme_globex\"\nrule_text=\"t\"\n";
        for bad_rule in [
            "last_trade = { anchor = \"nth_weekday\", weekday = \"Fri\" }",
            "last_trade = { anchor = \"day\", day = 32 }",
            "last_trade = { anchor = \"someday\" }",
            "last_trade = { anchor = \"day\", day = 3, if_not_business_day = \"following\" }",
            "last_trade = { anchor = \"last_business_day\", month_offset = 40 }",
        ] {
            let text = format!("{ok_product}{bad_rule}\n");
            assert!(
                matches!(ExpiryRules::parse(&text), Err(ExpiryError::RuleData(_))),
                "{bad_rule}"
            );
        }
        let twice = format!(
            "{ok_product}last_trade = {{ anchor = \"last_business_day\" }}\n{ok_product}last_trade = {{ anchor = \"last_business_day\" }}\n"
        );
        assert!(matches!(
            ExpiryRules::parse(&twice),
            Err(ExpiryError::RuleData(_))
        ));
        let unknown_calendar = ok_product.replace("cme_globex", "lse")
            + "last_trade = { anchor = \"last_business_day\" }\n";
        assert!(matches!(
            ExpiryRules::parse(&unknown_calendar),
            Err(ExpiryError::RuleData(_))
        ));
        let parsed = ExpiryRules::parse(
            &(ok_product.to_string() + "last_trade = { anchor = \"day\", day = 31 }\n"),
        )
        .unwrap();
        // Day 31 in a 30-day month clamps to the 30th (a business day in Sep 2013).
        assert_eq!(
            parsed.last_trade_date("XX", month(2013, 9)).unwrap(),
            d(2013, 9, 30)
        );
    }

    #[test]
    fn explicit_dates_win_and_unknown_roots_need_them() {
        let rules = ExpiryRules::builtin().unwrap();
        let explicit = FuturesContract {
            root: "QQ".into(),
            month: month(2013, 12),
            last_trade_date: Some(d(2013, 12, 2)),
            first_notice_date: None,
        };
        let dates = rules.resolve(&explicit).unwrap();
        assert_eq!(dates.last_trade, d(2013, 12, 2));
        assert_eq!(dates.first_notice, None);
        let missing = FuturesContract {
            last_trade_date: None,
            ..explicit
        };
        assert_eq!(
            rules.resolve(&missing).unwrap_err(),
            ExpiryError::UnknownRoot("QQ".into())
        );
        let gc = FuturesContract {
            root: "GC".into(),
            month: month(2013, 12),
            last_trade_date: None,
            first_notice_date: Some(d(2013, 11, 27)),
        };
        let c = rules.complete(&gc).unwrap();
        assert_eq!(c.last_trade_date, Some(d(2013, 12, 27)));
        assert_eq!(c.first_notice_date, Some(d(2013, 11, 27)));
        let dates = rules.resolve(&gc).unwrap();
        assert_eq!(dates.first_notice_source, Some(DateSource::Explicit));
        assert_eq!(dates.last_trade_source, DateSource::Rule);
    }
}
