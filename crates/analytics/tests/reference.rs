//! Every indicator against the values made independently by `fixtures/make_reference.py`
//! (pandas/numpy from the published definitions) on real data (QuantConnect LEAN sample
//! data, see `fixtures/NOTICE`): equal `None` positions, values to 1e-9 relative.

mod common;

use common::{assert_series_close, fixtures_dir, load};
use serde_json::Value;
use tradeassist_analytics::{Context, FirstSession, IndicatorSpec, compute};

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join("reference.json")).expect("reference");
    serde_json::from_str(&text).expect("reference JSON")
}

fn values(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64())
        .collect()
}

#[test]
fn every_indicator_matches_the_reference_values() {
    let reference = reference();
    let fixtures = reference["fixtures"].as_array().expect("fixtures");
    assert_eq!(fixtures.len(), 2);
    let mut checked = 0;
    let mut worst_seen = 0.0f64;
    for case in fixtures {
        let fx = load(case["file"].as_str().expect("file"));
        assert_eq!(case["bars"].as_u64(), Some(fx.bars.len() as u64));
        let ppy = case["periods_per_year"].as_f64().expect("periods per year");
        let ctx = Context::new(ppy)
            .unwrap()
            .with_sessions(&fx.sessions, FirstSession::Complete);
        let indicators = case["indicators"].as_object().expect("indicators");
        let specs: Vec<IndicatorSpec> = indicators.keys().map(|k| k.parse().unwrap()).collect();
        let series = compute(&specs, &fx.bars, &ctx).unwrap();
        for (s, (text, outputs)) in series.iter().zip(indicators) {
            assert_eq!(&s.name(), text, "canonical names are the reference's keys");
            let outputs = outputs.as_object().expect("outputs");
            let names: Vec<&str> = s.outputs().iter().map(|o| o.name()).collect();
            let want_names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, want_names, "{text}: output names");
            for out in s.outputs() {
                let what = format!("{} {text}.{}", fx.name, out.name());
                let worst = assert_series_close(&what, out.values(), &values(&outputs[out.name()]));
                worst_seen = worst_seen.max(worst);
                checked += 1;
            }
        }
    }
    // 33 specs with 53 outputs, on 2 fixtures
    assert_eq!(checked, 106);
    eprintln!("largest relative difference: {worst_seen:e}");
}
