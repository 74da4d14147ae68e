//! Indicators through the service on real demo data: the warm-up is read before the window so
//! the first returned value equals the value computed from the whole stored history; a window
//! with too little history before it answers null, never a half-warmed number.

use std::path::PathBuf;
use std::sync::Arc;

use tradeassist_analytics::{Context, compute, parse_indicator_list};
use tradeassist_model::Bar;
use tradeassist_service::{IndicatorQuery, IndicatorResult, Limits, Query, Service, ServiceError};
use tradeassist_store::sqlite::SqliteStore;

const NOW: i64 = 1_900_000_000;
const SPECS: &str = "sma:20,ema:20,rsi:14,macd:12:26:9,bb:20:2,atr:14,stoch:14:3:3,willr:14,\
                     adx:14,obv,vol:20,ret,logret,zscore:20,wma:10";

fn demo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/demo")
        .join(name)
}

async fn service() -> (Service, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("i.db")).await.unwrap();
    let service = Service::new(Arc::new(store), Limits::default());
    let files = ["us_equity_daily_lean_sample.csv", "spy_1m_lean_sample.csv"]
        .iter()
        .map(|f| tradeassist_service::ImportFile::open(&demo(f), Default::default()).unwrap())
        .collect();
    service.import(files).await.unwrap();
    (service, dir)
}

async fn indicators(service: &Service, query: &str, specs: &str) -> IndicatorResult {
    let query: Query = query.parse().unwrap();
    let request = IndicatorQuery::new(query, specs).unwrap();
    service.indicators(&request, NOW).await.unwrap()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) + 1e-10,
        (None, None) => true,
        _ => false,
    }
}

/// Values of the whole stored history, computed directly by the analytics crate.
async fn full_history(
    service: &Service,
    query: &str,
    specs: &str,
    ppy: f64,
) -> (Vec<i64>, Vec<Vec<Vec<Option<f64>>>>) {
    let query: Query = query.parse().unwrap();
    let series = service.fetch(&query, NOW).await.unwrap().series.remove(0);
    let bars: Vec<Bar> = series
        .bars
        .iter()
        .map(|b| {
            let o = b.ohlc.unwrap();
            Bar::new(b.start, o.open, o.high, o.low, o.close, b.volume).unwrap()
        })
        .collect();
    let specs = parse_indicator_list(specs).unwrap();
    let values = compute(&specs, &bars, &Context::new(ppy).unwrap())
        .unwrap()
        .into_iter()
        .map(|s| s.outputs().iter().map(|o| o.values().to_vec()).collect())
        .collect();
    (bars.iter().map(Bar::ts).collect(), values)
}

#[tokio::test]
async fn warmed_window_values_equal_the_full_history_values() {
    let (service, _dir) = service().await;
    let window = indicators(
        &service,
        "symbols=IBM&frequency=1d&start=2010-01-01&end=2010-12-31",
        SPECS,
    )
    .await;
    assert_eq!(window.series.bars.len(), 252);
    assert!(
        window.warmup_required >= 773,
        "adx:14 needs {}",
        window.warmup_required
    );
    assert_eq!(window.warmup_read, window.warmup_required);
    // Rolling volatility of daily bars is annualised by the calendar's trading days.
    assert!((250.0..=253.0).contains(&window.periods_per_year));
    let (ts, full) = full_history(
        &service,
        "symbols=IBM&frequency=1d&start=1998-01-01&end=2010-12-31",
        SPECS,
        window.periods_per_year,
    )
    .await;
    let offset = ts
        .iter()
        .position(|t| *t == window.series.bars[0].start)
        .unwrap();
    for (i, ind) in window.indicators.iter().enumerate() {
        for (j, out) in ind.outputs().iter().enumerate() {
            let expected = &full[i][j][offset..];
            // OBV counts from the bar before the answer's first bar (0 there).
            if ind.name() == "obv" {
                let base = full[i][j][offset - 1].unwrap();
                for (a, b) in out.values().iter().zip(expected) {
                    assert!(close(*a, b.map(|v| v - base)), "obv {a:?} {b:?}");
                }
                continue;
            }
            assert_eq!(out.values().len(), expected.len());
            for (k, (a, b)) in out.values().iter().zip(expected).enumerate() {
                assert!(
                    a.is_some(),
                    "{} {} at {k} is not warmed",
                    ind.name(),
                    out.name()
                );
                assert!(
                    close(*a, *b),
                    "{} {} at {k}: {a:?} vs {b:?}",
                    ind.name(),
                    out.name()
                );
            }
        }
    }
}

#[tokio::test]
async fn short_history_gives_nulls_not_half_warmed_values() {
    let (service, _dir) = service().await;
    // AAPL's stored history starts 1998-01-02: a window in January 1998 has none before it.
    let r = indicators(
        &service,
        "symbols=AAPL&frequency=1d&start=1998-01-01&end=1998-03-31",
        "sma:20,rsi:14",
    )
    .await;
    assert_eq!(r.warmup_read, 0);
    let sma = r.indicators[0].outputs()[0].values();
    assert!(sma[..19].iter().all(Option::is_none));
    assert!(sma[19].is_some());
    // RSI is Wilder-smoothed: null until its whole warm-up (here longer than the window).
    assert!(
        r.indicators[1].outputs()[0]
            .values()
            .iter()
            .all(Option::is_none)
    );
}

#[tokio::test]
async fn intraday_session_vwap_resets_at_each_session_open() {
    let (service, _dir) = service().await;
    let r = indicators(
        &service,
        "symbols=SPY&frequency=5m&start=2013-10-07&end=2013-10-07",
        "vwap:2,sma:5",
    )
    .await;
    assert_eq!(r.series.bars.len(), 78);
    let vwap = r.indicators[0].output("vwap").unwrap().values();
    let first = r.series.bars[0].ohlc.unwrap();
    let typical = (first.high + first.low + first.close) / 3.0;
    assert!(close(vwap[0], Some(typical)), "{:?} vs {typical}", vwap[0]);
    assert!(vwap.iter().all(Option::is_some));
    // The SMA of the first bars of the day is warmed by the previous session's bars.
    assert!(r.warmup_read >= 4);
    assert!(r.indicators[1].outputs()[0].values()[0].is_some());
}

#[tokio::test]
async fn bad_indicator_requests_are_invalid_input() {
    let (service, _dir) = service().await;
    let q = |s: &str| -> Query { s.parse().unwrap() };
    let daily = "symbols=IBM&frequency=1d&start=2010-01-01&end=2010-12-31";
    for (query, specs, field) in [
        (daily, "sma:0", "indicators"),
        (daily, "nosuch:3", "indicators"),
        (&format!("{daily}&fill=null") as &str, "sma:5", "fill"),
        (
            "symbols=IBM,AAPL&frequency=1d&start=2010-01-01",
            "sma:5",
            "symbol",
        ),
    ] {
        match IndicatorQuery::new(q(query), specs) {
            Err(ServiceError::InvalidInput { field: f, .. }) => {
                assert_eq!(f, field, "{query} {specs}")
            }
            other => panic!("{query} {specs}: {other:?}"),
        }
    }
    let vwap_daily = IndicatorQuery::new(q(daily), "vwap").unwrap();
    assert!(matches!(
        service.indicators(&vwap_daily, NOW).await,
        Err(ServiceError::InvalidInput {
            field: "indicators",
            ..
        })
    ));
    // A warm-up longer than the stored history reads all of it and answers nulls.
    let huge = IndicatorQuery::new(q(daily), "adx:10000").unwrap();
    let r = service.indicators(&huge, NOW).await.unwrap();
    assert!(r.warmup_read < r.warmup_required);
    assert!(
        r.warmup_read > 2900,
        "IBM daily since 1998: {}",
        r.warmup_read
    );
    assert!(
        r.indicators[0]
            .outputs()
            .iter()
            .all(|o| o.values().iter().all(Option::is_none))
    );
}

/// `last_N_bars` counts bars of the session: pre-market base bars before the as-of instant
/// must not leave the answer short (found while building the indicator warm-up).
#[tokio::test]
async fn last_n_bars_reach_past_base_bars_outside_the_session() {
    let (service, _dir) = service().await;
    let query: Query = "symbols=SPY&frequency=5m&preset=last_3_bars&as_of=2013-10-07T13:29:59Z"
        .parse()
        .unwrap();
    let series = service.fetch(&query, NOW).await.unwrap().series.remove(0);
    let starts: Vec<String> = series
        .bars
        .iter()
        .map(|b| tradeassist_model::rfc3339(b.start))
        .collect();
    assert_eq!(
        starts,
        [
            "2013-10-04T19:45:00Z",
            "2013-10-04T19:50:00Z",
            "2013-10-04T19:55:00Z"
        ]
    );
}
