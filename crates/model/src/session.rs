//! Which part of a trading day a request covers.

/// Which part of the trading day a request covers (`regular`, `extended` or `all`).
///
/// For calendars without extended hours (CME Globex, Xetra) all three mean the full session.
/// For `us_equity`, `Extended` and `All` are both 04:00-20:00 ET (the widest session the
/// calendar defines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SessionFilter {
    /// Regular trading hours (09:30-16:00 ET for US equities).
    #[default]
    Regular,
    /// Pre-market, regular and after-hours trading.
    Extended,
    /// Everything the calendar defines as a session.
    All,
}

crate::named_options!(
    SessionFilter,
    "session filter",
    [Regular = "regular", Extended = "extended", All = "all"]
);
