//! The one typed query: what a user asks for when fetching bars, exporting, running a job or
//! saving a query. The edges parse into it once (serde at HTTP, clap at the CLI); everything
//! below works on these types only.
//!
//! A [`Query`] keeps what the user said (a preset stays relative, a symbol stays as typed but
//! normalised). [`Service::plan`](crate::Service::plan) resolves it against the store and a
//! clock into a [`Plan`](crate::Plan) whose [`CanonicalQuery`] is equal for two requests that
//! mean the same thing (symbols resolved, defaults filled, date bounds resolved per series).
//!
//! A query also has one text form, `key=value` pairs joined by `&` (the names of the HTTP
//! fetch document, values percent-encoded), used to store saved queries and as the query
//! string of GET endpoints:
//!
//! ```
//! use tradeassist_service::Query;
//!
//! let q: Query = "symbols=AAPL&frequency=1w&start=2013-01-01&end=2013-12-31&fill=prev".parse().unwrap();
//! assert_eq!(q.symbols, ["AAPL"]);
//! assert_eq!(q.to_string().parse::<Query>().unwrap(), q);
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
pub use tradeassist_engine::AlignKind;
use tradeassist_engine::{
    Adjust, Align, BarSpec, FillMethod, Label, PriceAdjustment, RollAnchor, RollPrice, RollRule,
    SessionFilter,
};
use tradeassist_model::{
    Preset, RangeSpec, Resolution, TimeBound, Timeframe, date_key, instrument::normalize_symbol,
};

use crate::ServiceError;

/// Largest `roll_offset` (trading days before the anchor date): about a year.
pub const MAX_ROLL_OFFSET: u32 = tradeassist_engine::MAX_ROLL_OFFSET;
/// Largest rank of a continuous symbol (0 = front).
pub const MAX_RANK: usize = tradeassist_engine::MAX_RANK;
/// Largest grace window of volume / open-interest rolls, in sessions.
pub const MAX_GRACE_SESSIONS: u32 = tradeassist_engine::MAX_GRACE_SESSIONS;
/// Most fixed roll dates one query may list.
pub const MAX_ROLL_DATES: usize = 1_000;
/// Longest symbol list one query may carry (the per-request limit is usually lower).
const MAX_SYMBOL_ENTRIES: usize = 1_000;

/// The `adjust` option: one word on the wire, two distinct kinds of adjustment. Futures
/// (continuous symbols) take a roll adjustment, stocks and indexes a corporate-action one;
/// `none` suits both. Which one applies is checked per series against its asset class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustRequest {
    None,
    Futures(Adjust),
    Equity(PriceAdjustment),
}

impl FromStr for AdjustRequest {
    type Err = ServiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match (s.parse::<Adjust>(), s.parse::<PriceAdjustment>()) {
            (Ok(Adjust::None), _) | (_, Ok(PriceAdjustment::None)) => Ok(AdjustRequest::None),
            (Ok(a), _) => Ok(AdjustRequest::Futures(a)),
            (_, Ok(p)) => Ok(AdjustRequest::Equity(p)),
            _ => Err(ServiceError::invalid(
                "adjust",
                format!(
                    "`{}` is not an adjustment (futures: {}; stocks: {})",
                    s.trim(),
                    Adjust::NAMES.map(|(n, _)| n).join(", "),
                    PriceAdjustment::NAMES.map(|(n, _)| n).join(", ")
                ),
            )),
        }
    }
}

impl fmt::Display for AdjustRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdjustRequest::None => f.write_str("none"),
            AdjustRequest::Futures(a) => write!(f, "{a}"),
            AdjustRequest::Equity(p) => write!(f, "{p}"),
        }
    }
}

/// Roll options of continuous futures symbols (`ES.v.0`); `None` keeps the symbol's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollOptions {
    /// Override of the symbol's rule (`fixed` carries its dates).
    pub rule: Option<RollRule>,
    /// Calendar rule: trading days before the anchor date (at most [`MAX_ROLL_OFFSET`]).
    pub roll_offset: Option<u32>,
    pub anchor: Option<RollAnchor>,
    pub roll_price: Option<RollPrice>,
    /// Rank override, 0 = front (at most [`MAX_RANK`]).
    pub rank: Option<usize>,
    /// Contract months the series rolls through (`HMUZ`); default per root.
    pub months: Option<tradeassist_engine::RollCycle>,
    /// Volume / open-interest rules: crossovers more than this many sessions before the
    /// front's last trade date are ignored.
    pub grace_sessions: Option<u32>,
    /// Volume / open-interest rules: roll straight to the most active later contract.
    pub skip_to_most_active: Option<bool>,
}

impl RollOptions {
    /// True when any option is set (they apply to continuous symbols only).
    pub fn any(&self) -> bool {
        *self != RollOptions::default()
    }

    /// The rule from its wire parts: a kind and, for `fixed`, its dates.
    pub fn rule_from(
        kind: Option<tradeassist_engine::RollRuleKind>,
        dates: Vec<NaiveDate>,
    ) -> Result<Option<RollRule>, ServiceError> {
        use tradeassist_engine::RollRuleKind as K;
        if dates.len() > MAX_ROLL_DATES {
            return Err(ServiceError::invalid(
                "roll_dates",
                format!("at most {MAX_ROLL_DATES} roll dates"),
            ));
        }
        match (kind, dates.is_empty()) {
            (None, true) => Ok(None),
            (Some(K::Fixed), false) => Ok(Some(RollRule::Fixed(dates))),
            (Some(K::Fixed), true) => Err(ServiceError::invalid(
                "roll_dates",
                "roll=fixed needs roll_dates",
            )),
            (_, false) => Err(ServiceError::invalid(
                "roll_dates",
                "roll_dates need roll=fixed",
            )),
            (Some(K::Calendar), true) => Ok(Some(RollRule::Calendar)),
            (Some(K::Volume), true) => Ok(Some(RollRule::Volume)),
            (Some(K::OpenInterest), true) => Ok(Some(RollRule::OpenInterest)),
        }
    }

    fn check(&self) -> Result<(), ServiceError> {
        if let Some(o) = self.roll_offset
            && o > MAX_ROLL_OFFSET
        {
            return Err(ServiceError::invalid(
                "roll_offset",
                format!("roll_offset {o} is out of range 0..={MAX_ROLL_OFFSET} trading days"),
            ));
        }
        if let Some(r) = self.rank
            && r > MAX_RANK
        {
            return Err(ServiceError::invalid(
                "rank",
                format!("rank {r} is out of range 0..={MAX_RANK}"),
            ));
        }
        if let Some(g) = self.grace_sessions
            && g > MAX_GRACE_SESSIONS
        {
            return Err(ServiceError::invalid(
                "grace_sessions",
                format!("grace_sessions {g} is out of range 0..={MAX_GRACE_SESSIONS}"),
            ));
        }
        Ok(())
    }
}

/// How bars are derived, beyond their frequency and range. Defaults: the asset class's
/// session, session alignment, start labels, no filling, the natural base series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    /// `None`: regular hours for equities, the whole session for futures.
    pub session: Option<SessionFilter>,
    pub align: Align,
    pub label: Label,
    pub fill: FillMethod,
    /// Also compute the session-anchored cumulative VWAP.
    pub session_vwap: bool,
    /// Force the stored base series (default: daily bars for daily and longer frequencies
    /// when stored, else 1-minute bars).
    pub base: Option<Resolution>,
    pub roll: RollOptions,
    pub adjust: Option<AdjustRequest>,
}

/// What a user asks for: symbols, a bar specification, a range and derivation options.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Normalised (trimmed, upper case), de-duplicated, in request order; plain symbols
    /// (`AAPL`, `ESZ13`, `6EH4`) or continuous ones (`ES.v.0`).
    pub symbols: Vec<String>,
    pub bars: BarSpec,
    pub range: RangeSpec,
    pub options: QueryOptions,
}

impl Query {
    /// A checked query: symbols normalised, options within their bounds, options that
    /// exclude each other refused.
    pub fn new(
        symbols: &[String],
        bars: BarSpec,
        range: RangeSpec,
        options: QueryOptions,
    ) -> Result<Query, ServiceError> {
        let symbols = normalize_symbols(symbols)?;
        options.roll.check()?;
        if matches!(bars, BarSpec::Activity(_)) && options.fill != FillMethod::None {
            return Err(ServiceError::invalid(
                "fill",
                "gap filling applies to time bars only",
            ));
        }
        Ok(Query {
            symbols,
            bars,
            range,
            options,
        })
    }
}

/// Validate and normalise a list of symbols (de-duplicated, order kept).
pub fn normalize_symbols(symbols: &[String]) -> Result<Vec<String>, ServiceError> {
    if symbols.is_empty() {
        return Err(ServiceError::invalid("symbols", "give at least one symbol"));
    }
    if symbols.len() > MAX_SYMBOL_ENTRIES {
        return Err(ServiceError::invalid(
            "symbols",
            format!("at most {MAX_SYMBOL_ENTRIES} symbols"),
        ));
    }
    let mut normalized: Vec<String> = Vec::with_capacity(symbols.len());
    for s in symbols {
        let n = normalize_symbol(s).map_err(|e| ServiceError::invalid("symbols", e.to_string()))?;
        if !normalized.contains(&n) {
            normalized.push(n);
        }
    }
    Ok(normalized)
}

/// The range from its wire parts: absolute bounds, or a preset measured from `as_of`.
pub fn range_from(
    start: Option<TimeBound>,
    end: Option<TimeBound>,
    preset: Option<Preset>,
    as_of: Option<TimeBound>,
) -> Result<RangeSpec, ServiceError> {
    match (preset, start, end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ServiceError::invalid(
            "preset",
            "give either start/end or a preset, not both",
        )),
        (Some(preset), None, None) => Ok(RangeSpec::Preset { preset, as_of }),
        (None, Some(start), end) => {
            if as_of.is_some() {
                return Err(ServiceError::invalid(
                    "as_of",
                    "as_of applies to presets; absolute ranges give start and end",
                ));
            }
            if let Some(end) = end
                && !in_order(start, end)
            {
                return Err(ServiceError::invalid(
                    "end",
                    format!("end {end} is not after start {start}"),
                ));
            }
            Ok(RangeSpec::Absolute { start, end })
        }
        (None, None, _) => Err(ServiceError::invalid("start", "give a start (or a preset)")),
    }
}

/// Whether two bounds can form a non-empty range in some timezone. Two dates: the end date
/// (which includes its whole day) is not before the start; two instants: the end is after the
/// start. A date and an instant are checked per series, once the timezone is known.
fn in_order(start: TimeBound, end: TimeBound) -> bool {
    match (start, end) {
        (TimeBound::Date(s), TimeBound::Date(e)) => e >= s,
        (TimeBound::Instant(s), TimeBound::Instant(e)) => e > s,
        _ => true,
    }
}

/// Alignment from its wire parts; `origin` and `offset` need `clock`.
pub fn align_from(
    kind: Option<AlignKind>,
    origin: Option<TimeBound>,
    offset: Option<Timeframe>,
) -> Result<Align, ServiceError> {
    match kind.unwrap_or_default() {
        AlignKind::Session if origin.is_some() || offset.is_some() => Err(ServiceError::invalid(
            "align",
            "origin and offset need align=clock",
        )),
        AlignKind::Session => Ok(Align::Session),
        AlignKind::Clock => {
            let origin = match origin {
                None => 0,
                Some(TimeBound::Instant(t)) => t,
                Some(TimeBound::Date(d)) => date_key(d),
            };
            let offset = match offset {
                None => 0,
                Some(tf) => tf.fixed_seconds().ok_or_else(|| {
                    ServiceError::invalid(
                        "offset",
                        format!("`{tf}` is not a fixed duration such as 15m"),
                    )
                })?,
            };
            Ok(Align::Clock { origin, offset })
        }
    }
}

/// Parse a bar specification (`5m`, `1d`, `volume:50000`, ...) naming the field on error.
pub fn parse_bars(s: &str) -> Result<BarSpec, ServiceError> {
    s.parse::<BarSpec>().map_err(|_| {
        ServiceError::invalid(
            "frequency",
            format!(
                "frequency `{}` must be N followed by s m h d w M (e.g. 5m, 1h, 1d, 1M) or volume:N, tick:N, dollar:N",
                s.trim()
            ),
        )
    })
}

// ---------------------------------------------------------------------------------------
// Text form
// ---------------------------------------------------------------------------------------

/// Parse one value of a named field with its type's `FromStr`.
fn value<T: FromStr>(field: &'static str, v: &str) -> Result<T, ServiceError>
where
    T::Err: fmt::Display,
{
    v.parse::<T>()
        .map_err(|e| ServiceError::invalid(field, e.to_string()))
}

fn flag(field: &'static str, v: &str) -> Result<bool, ServiceError> {
    match v.trim() {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ServiceError::invalid(
            field,
            format!("`{other}` is not true or false"),
        )),
    }
}

impl Query {
    /// The query as `(name, value)` pairs: only what differs from the defaults, symbols and
    /// fixed roll dates one pair each, in a fixed order.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for s in &self.symbols {
            out.push(("symbols", s.clone()));
        }
        out.push(("frequency", self.bars.to_string()));
        match self.range {
            RangeSpec::Absolute { start, end } => {
                out.push(("start", start.to_string()));
                if let Some(end) = end {
                    out.push(("end", end.to_string()));
                }
            }
            RangeSpec::Preset { preset, as_of } => {
                out.push(("preset", preset.to_string()));
                if let Some(as_of) = as_of {
                    out.push(("as_of", as_of.to_string()));
                }
            }
        }
        let o = &self.options;
        if let Some(s) = o.session {
            out.push(("session", s.to_string()));
        }
        if let Align::Clock { origin, offset } = o.align {
            out.push(("align", AlignKind::Clock.to_string()));
            out.push(("origin", tradeassist_model::rfc3339(origin)));
            if offset != 0 {
                out.push(("offset", format!("{offset}s")));
            }
        }
        if o.label != Label::default() {
            out.push(("label", o.label.to_string()));
        }
        if o.fill != FillMethod::default() {
            out.push(("fill", o.fill.to_string()));
        }
        if o.session_vwap {
            out.push(("session_vwap", "true".into()));
        }
        if let Some(b) = o.base {
            out.push(("base", b.to_string()));
        }
        let r = &o.roll;
        if let Some(rule) = &r.rule {
            out.push(("roll", rule.kind().to_string()));
            if let RollRule::Fixed(dates) = rule {
                out.extend(dates.iter().map(|d| ("roll_dates", d.to_string())));
            }
        }
        if let Some(v) = r.roll_offset {
            out.push(("roll_offset", v.to_string()));
        }
        if let Some(v) = r.anchor {
            out.push(("roll_anchor", v.to_string()));
        }
        if let Some(v) = r.roll_price {
            out.push(("roll_price", v.to_string()));
        }
        if let Some(v) = r.rank {
            out.push(("rank", v.to_string()));
        }
        if let Some(v) = r.months {
            out.push(("months", v.to_string()));
        }
        if let Some(v) = r.grace_sessions {
            out.push(("grace_sessions", v.to_string()));
        }
        if let Some(v) = r.skip_to_most_active {
            out.push(("skip_to_most_active", v.to_string()));
        }
        if let Some(a) = o.adjust {
            out.push(("adjust", a.to_string()));
        }
        out
    }

    /// Build from `(name, value)` pairs (see [`Query::to_pairs`]); `symbols` and `roll_dates`
    /// repeat or hold comma-separated lists. Unknown names are refused.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, ServiceError> {
        let mut symbols = Vec::new();
        let mut frequency = None;
        let (mut start, mut end, mut preset, mut as_of) = (None, None, None, None);
        let (mut align, mut origin, mut offset) = (None, None, None);
        let mut rule_kind = None;
        let mut roll_dates = Vec::new();
        let mut o = QueryOptions::default();
        for (name, v) in pairs {
            match name {
                "symbols" | "symbol" => {
                    symbols.extend(
                        v.split(',')
                            .filter(|s| !s.trim().is_empty())
                            .map(String::from),
                    );
                }
                "frequency" => frequency = Some(parse_bars(v)?),
                "start" => start = Some(value("start", v)?),
                "end" => end = Some(value("end", v)?),
                "preset" => preset = Some(value("preset", v)?),
                "as_of" => as_of = Some(value("as_of", v)?),
                "session" => o.session = Some(value("session", v)?),
                "align" => align = Some(value("align", v)?),
                "origin" => origin = Some(value("origin", v)?),
                "offset" => offset = Some(value("offset", v)?),
                "label" => o.label = value("label", v)?,
                "fill" => o.fill = value("fill", v)?,
                "session_vwap" => o.session_vwap = flag("session_vwap", v)?,
                "base" => o.base = Some(value("base", v)?),
                "roll" => rule_kind = Some(value("roll", v)?),
                "roll_dates" => {
                    for d in v.split(',').filter(|s| !s.trim().is_empty()) {
                        roll_dates.push(value::<NaiveDate>("roll_dates", d.trim())?);
                    }
                }
                "roll_offset" => o.roll.roll_offset = Some(value("roll_offset", v)?),
                "roll_anchor" => o.roll.anchor = Some(value("roll_anchor", v)?),
                "roll_price" => o.roll.roll_price = Some(value("roll_price", v)?),
                "rank" => o.roll.rank = Some(value("rank", v)?),
                "months" => o.roll.months = Some(value("months", v)?),
                "grace_sessions" => o.roll.grace_sessions = Some(value("grace_sessions", v)?),
                "skip_to_most_active" => {
                    o.roll.skip_to_most_active = Some(flag("skip_to_most_active", v)?)
                }
                "adjust" => o.adjust = Some(v.parse()?),
                other => {
                    return Err(ServiceError::invalid(
                        "query",
                        format!(
                            "unknown parameter `{}`",
                            other.chars().take(64).collect::<String>()
                        ),
                    ));
                }
            }
        }
        let bars = frequency
            .ok_or_else(|| ServiceError::invalid("frequency", "give a frequency such as 1d"))?;
        o.align = align_from(align, origin, offset)?;
        o.roll.rule = RollOptions::rule_from(rule_kind, roll_dates)?;
        let range = range_from(start, end, preset, as_of)?;
        Query::new(&symbols, bars, range, o)
    }
}

/// Percent-encode the few characters that would break the `&`/`=` text form.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | '&' | '=' | '+' | '#' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn decode(s: &str) -> Result<String, ServiceError> {
    let bad = || ServiceError::invalid("query", format!("`{s}` is not percent-encoded text"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.to_pairs().iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(f, "{k}={}", encode(v))?;
        }
        Ok(())
    }
}

impl FromStr for Query {
    type Err = ServiceError;
    /// The text form: `name=value` pairs joined by `&` (a URL query string).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut pairs = Vec::new();
        for part in s.trim().trim_start_matches('?').split('&') {
            if part.is_empty() {
                continue;
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

// ---------------------------------------------------------------------------------------
// Canonical form
// ---------------------------------------------------------------------------------------

/// One series of a [`CanonicalQuery`], fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalSeries {
    /// The stored symbol (`6EH24` for `6EH4`) or the continuous symbol (`ES.v.0`).
    pub symbol: String,
    pub base: Resolution,
    pub session: SessionFilter,
    /// Resolved window start (UTC seconds).
    pub start: i64,
    /// Resolved window end; `None` when the range runs up to "now".
    pub end: Option<i64>,
    pub last_bars: Option<u32>,
    /// Continuous series: the effective roll spec in its text form; equities: the
    /// corporate-action adjustment.
    pub adjustment: String,
}

/// The canonical form of a query: equal for two requests that mean the same thing, so it
/// serves as a cache key. Its `Display` is a stable text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalQuery {
    pub series: Vec<CanonicalSeries>,
    pub bars: String,
    pub align: String,
    pub label: Label,
    pub fill: FillMethod,
    pub session_vwap: bool,
}

impl fmt::Display for CanonicalQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v1|{}|{}|{}|{}|{}",
            self.bars, self.align, self.label, self.fill, self.session_vwap
        )?;
        for s in &self.series {
            write!(
                f,
                "|{} {} {} {}..{} {} {}",
                s.symbol,
                s.base,
                s.session,
                s.start,
                s.end.map_or_else(|| "now".to_string(), |e| e.to_string()),
                s.last_bars
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                s.adjustment
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_every_option() {
        let text = "symbols=ES.v.0&symbols=AAPL&frequency=15m&preset=last_30_days&as_of=2013-12-31\
            &session=extended&align=clock&origin=2013-01-01T00:00:00Z&offset=300s&label=end&fill=linear\
            &session_vwap=true&base=1m&roll=fixed&roll_dates=2013-12-16&roll_dates=2014-03-17\
            &roll_anchor=first_notice&roll_price=last_old_first_new&rank=1&months=HMUZ\
            &grace_sessions=7&skip_to_most_active=true&adjust=ratio_back";
        let q: Query = text.parse().unwrap();
        assert_eq!(q.symbols, ["ES.V.0", "AAPL"]);
        assert_eq!(q.to_string().parse::<Query>().unwrap(), q);
        assert_eq!(q.options.fill, FillMethod::Linear);
        assert_eq!(
            q.options.align,
            Align::Clock {
                origin: 1_356_998_400,
                offset: 300
            }
        );
    }

    #[test]
    fn unknown_and_conflicting_parameters_name_the_field() {
        let field = |t: &str| match t.parse::<Query>() {
            Err(ServiceError::InvalidInput { field, .. }) => field,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-01&colour=red"),
            "query"
        );
        assert_eq!(
            field("symbols=A&frequency=1x&start=2013-01-01"),
            "frequency"
        );
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-01&preset=ytd"),
            "preset"
        );
        assert_eq!(
            field("symbols=A&frequency=5m&start=2013-01-01&offset=15m"),
            "align"
        );
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-01&roll_dates=2013-12-16"),
            "roll_dates"
        );
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-01&roll=fixed"),
            "roll_dates"
        );
        assert_eq!(
            field("symbols=A&frequency=tick:5&start=2013-01-01&fill=prev"),
            "fill"
        );
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-01&adjust=sideways"),
            "adjust"
        );
        assert_eq!(
            field("symbols=A&frequency=1d&start=2013-01-02T00:00:00Z&end=2013-01-01T00:00:00Z"),
            "end"
        );
    }

    #[test]
    fn huge_roll_offset_is_refused_with_the_field_named() {
        let e = "symbols=ES.c.0&frequency=1d&start=2013-01-01&roll_offset=100000000"
            .parse::<Query>()
            .unwrap_err();
        assert!(
            matches!(
                e,
                ServiceError::InvalidInput {
                    field: "roll_offset",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = "symbols=ES.c.0&frequency=1d&start=2013-01-01&rank=18446744073709551615"
            .parse::<Query>()
            .unwrap_err();
        assert!(
            matches!(e, ServiceError::InvalidInput { field: "rank", .. }),
            "{e:?}"
        );
    }

    #[test]
    fn adjust_words_split_by_kind() {
        assert_eq!(
            "none".parse::<AdjustRequest>().unwrap(),
            AdjustRequest::None
        );
        assert_eq!(
            "split".parse::<AdjustRequest>().unwrap(),
            AdjustRequest::Equity(PriceAdjustment::Split)
        );
        assert_eq!(
            "Ratio_Back".parse::<AdjustRequest>().unwrap(),
            AdjustRequest::Futures(Adjust::RatioBack)
        );
    }

    #[test]
    fn percent_encoding_round_trips() {
        assert_eq!(decode(&encode("a&b=c %+#")).unwrap(), "a&b=c %+#");
        assert!(decode("%zz").is_err());
    }
}
