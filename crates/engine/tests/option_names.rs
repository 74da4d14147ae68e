//! Every option word a request can carry round-trips through `FromStr` / `Display` with one
//! name table, keeps its older spellings, and refuses anything else with an error that lists
//! the accepted names.

use std::fmt::Display;
use std::str::FromStr;

use tradeassist_engine::{
    Adjust, AlignKind, FillMethod, Label, PriceAdjustment, RollAnchor, RollPrice, RollRuleKind,
    SessionFilter,
};
use tradeassist_model::{OptionError, Resolution};

/// `all` round-trip; each `(alias, value)` parses; `bad` is refused with `names` listed.
fn check<T>(all: &[T], aliases: &[(&str, T)], bad: &str, names: &str)
where
    T: FromStr<Err = OptionError> + Display + PartialEq + std::fmt::Debug + Copy,
{
    for v in all {
        let name = v.to_string();
        assert_eq!(name.parse::<T>(), Ok(*v), "{name}");
        assert_eq!(
            name.to_uppercase().parse::<T>(),
            Ok(*v),
            "{name} in upper case"
        );
        assert_eq!(
            format!("  {name} ").parse::<T>(),
            Ok(*v),
            "{name} with spaces"
        );
    }
    for (alias, v) in aliases {
        assert_eq!(alias.parse::<T>(), Ok(*v), "{alias}");
    }
    let e = bad.parse::<T>().unwrap_err();
    assert_eq!(e.to_string(), format!("`{bad}` is not one of {names}"));
    assert_eq!(e.value, bad);
}

#[test]
fn query_options_round_trip_and_list_their_names() {
    check(&SessionFilter::ALL, &[], "night", "regular, extended, all");
    check(&Label::ALL, &[], "middle", "start, end");
    check(&FillMethod::ALL, &[], "x", "none, null, prev, linear");
    check(&AlignKind::ALL, &[], "calendar", "session, clock");
    check(
        &Resolution::ALL,
        &[("1M", Resolution::Minute), ("1D", Resolution::Day)],
        "5m",
        "1m, 1d",
    );
}

#[test]
fn roll_and_adjustment_options_round_trip_and_list_their_names() {
    check(
        &RollRuleKind::ALL,
        &[
            ("c", RollRuleKind::Calendar),
            ("V", RollRuleKind::Volume),
            ("n", RollRuleKind::OpenInterest),
        ],
        "weekly",
        "calendar, volume, open_interest, fixed",
    );
    check(
        &RollAnchor::ALL,
        &[("expiry", RollAnchor::LastTrade)],
        "soon",
        "last_trade, first_notice",
    );
    check(
        &RollPrice::ALL,
        &[],
        "mid",
        "last_close_both, last_old_first_new",
    );
    check(
        &Adjust::ALL,
        &[],
        "panama",
        "none, difference_back, ratio_back, difference_forward, ratio_forward",
    );
    check(
        &PriceAdjustment::ALL,
        &[
            ("raw", PriceAdjustment::None),
            ("split_dividend", PriceAdjustment::All),
        ],
        "dividend",
        "none, split, all",
    );
}

#[test]
fn the_model_and_engine_paths_name_the_same_types() {
    // Moved to the model; the engine's old paths still work.
    let a: tradeassist_engine::Adjust = tradeassist_model::roll::Adjust::RatioBack;
    let s: tradeassist_engine::calendar::SessionFilter = tradeassist_model::SessionFilter::All;
    let p: tradeassist_engine::corporate::PriceAdjustment =
        tradeassist_model::PriceAdjustment::Split;
    let r: tradeassist_engine::continuous::RollRule = tradeassist_model::RollRule::Volume;
    assert_eq!(
        (a.as_str(), s.as_str(), p.as_str(), r.as_str()),
        ("ratio_back", "all", "split", "volume")
    );
    assert_eq!(
        tradeassist_engine::Align::Session.kind(),
        AlignKind::Session
    );
}
