//! The text parsers of user input: timeframes, bar specs, time bounds and presets, contract
//! and continuous symbols, roll rules, option names. Each parses or refuses; what parses
//! prints back to a form that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeassist_engine::{BarSpec, ContinuousSymbol};
use tradeassist_model::{AssetClass, Preset, Resolution, RollRule, TimeBound, Timeframe};

fn round_trip<T>(s: &str)
where
    T: std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = s.parse::<T>() {
        let again: T = v
            .to_string()
            .parse()
            .unwrap_or_else(|_| panic!("{v:?} printed as {v} does not parse"));
        assert_eq!(again, v, "{s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<Timeframe>(s);
    round_trip::<BarSpec>(s);
    round_trip::<Preset>(s);
    round_trip::<Resolution>(s);
    round_trip::<AssetClass>(s);
    let _ = s.parse::<TimeBound>();
    let _ = s.parse::<ContinuousSymbol>();
    let _ = s.parse::<RollRule>();
    let reference = chrono::NaiveDate::from_ymd_opt(2013, 6, 1).expect("valid date");
    let _ = tradeassist_model::ContractSymbol::parse(s, reference);
});
