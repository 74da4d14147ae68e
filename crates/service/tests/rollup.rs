//! Rollups (materialized 1h / 1d bars) give the same bars as aggregating base bars on the fly.
//!
//! Each case ingests one random minute series in random, overlapping, revised chunks into two
//! stores: one refreshes its rollups after every chunk (the import path), the other never
//! does, so its backlog stays pending and every fetch aggregates base bars (the on-the-fly
//! path). Random windows, timeframes and `now`s must then give identical results: for the
//! stored timeframes (`1h`, `1d`) bar for bar, and for the ones derived from them (`2h`, `3h`,
//! `4h` from `1h`; `2d`, `1w`, `1M` from `1d`) with the VWAP equal up to summation order.
//! Series start in an ordinary week, in the week US daylight saving time ends, or in
//! Thanksgiving week (a holiday and an early close).

use std::sync::Arc;

use tradeassist_model::{
    AssetClass, Bar, ContractMonth, FuturesContract, NewInstrument, Resolution, TimeBound, rfc3339,
};
use tradeassist_service::{Limits, Query, SeriesResult, Service};
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_store::{IngestBatch, SeriesBatch};

/// 2013-10-07 (a Monday) 00:00 UTC.
const DAY0: i64 = 1_381_104_000;
/// First days of the random series: 2013-10-07, 2013-10-28 (DST ends on Sunday 2013-11-03),
/// 2013-11-25 (Thanksgiving 2013-11-28, early close on the 29th).
const STARTS: [i64; 3] = [DAY0, DAY0 + 21 * 86_400, DAY0 + 49 * 86_400];
const DAYS: i64 = 12;
const FAR_FUTURE: i64 = 4_000_000_000;

/// Small deterministic PRNG (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[derive(Clone, Copy, Debug)]
enum VwapMode {
    None,
    All,
    Mixed,
}

fn random_bar(rng: &mut Rng, ts: i64, mode: VwapMode) -> Bar {
    let base = 100.0 + rng.unit() * 10.0 + 1.0 / 3.0;
    let spread = rng.unit();
    let (low, high) = (base - spread, base + spread);
    let open = low + rng.unit() * (high - low);
    let close = low + rng.unit() * (high - low);
    let volume = if rng.chance(0.05) {
        0.0
    } else {
        (rng.below(1_000) as f64) * 1.5
    };
    let bar = Bar::new(ts, open, high, low, close, volume).unwrap();
    let vwap = match mode {
        VwapMode::None => None,
        VwapMode::All => Some(low + rng.unit() * (high - low)),
        VwapMode::Mixed => rng.chance(0.7).then(|| low + rng.unit() * (high - low)),
    };
    let oi = rng.chance(0.1).then(|| rng.below(100_000) as f64);
    bar.with_vwap(vwap).unwrap().with_open_interest(oi).unwrap()
}

/// Minute bars over `DAYS` days (weekends included: the calendar must drop them), with whole
/// missing days, missing hours and scattered missing minutes.
fn random_series(rng: &mut Rng, day0: i64, hours_utc: (i64, i64), mode: VwapMode) -> Vec<Bar> {
    let mut bars = Vec::new();
    for d in 0..DAYS {
        if rng.chance(0.1) {
            continue;
        }
        let keep = 0.6 + rng.unit() * 0.4;
        let hole = rng.below(24) as i64;
        for m in hours_utc.0 * 60..hours_utc.1 * 60 {
            if m / 60 == hole || !rng.chance(keep) {
                continue;
            }
            bars.push(random_bar(rng, day0 + d * 86_400 + m * 60, mode));
        }
    }
    bars
}

/// Split `bars` into overlapping chunks in random order; overlapping bars of a later chunk
/// are sometimes revised (so a re-ingest changes stored values).
fn random_chunks(rng: &mut Rng, bars: &[Bar], mode: VwapMode) -> Vec<Vec<Bar>> {
    let n = bars.len();
    let k = 1 + rng.below(6) as usize;
    let mut cuts: Vec<usize> = (0..k - 1).map(|_| rng.below(n as u64) as usize).collect();
    cuts.push(0);
    cuts.push(n);
    cuts.sort();
    let mut chunks: Vec<Vec<Bar>> = cuts
        .windows(2)
        .filter(|w| w[0] < w[1])
        .map(|w| {
            let from = w[0].saturating_sub(rng.below(500) as usize);
            bars[from..w[1]].to_vec()
        })
        .collect();
    for i in (1..chunks.len()).rev() {
        chunks.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // Re-send a random earlier range with revised values, then the original again: what is
    // stored in the end is the original series.
    if rng.chance(0.5) && n > 10 {
        let a = rng.below(n as u64 - 1) as usize;
        let b = (a + 1 + rng.below(2_000) as usize).min(n);
        let revised = bars[a..b]
            .iter()
            .map(|x| random_bar(rng, x.ts(), mode))
            .collect();
        let at = rng.below(chunks.len() as u64) as usize;
        chunks.insert(at, revised);
        chunks.push(bars[a..b].to_vec());
    }
    chunks
}

struct Pair {
    rollups: Service,
    reference: Service,
    _dirs: [tempfile::TempDir; 2],
}

async fn pair() -> Pair {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |d: &tempfile::TempDir| SqliteStore::open(d.path().join("t.db"));
    let (sa, sb) = (open(&a).await.unwrap(), open(&b).await.unwrap());
    Pair {
        rollups: Service::new(Arc::new(sa), Limits::default()),
        reference: Service::new(Arc::new(sb), Limits::default()),
        _dirs: [a, b],
    }
}

impl Pair {
    async fn ingest(&self, instrument: &NewInstrument, bars: Vec<Bar>, refresh: bool) {
        let batch = IngestBatch {
            instruments: vec![instrument.clone()],
            series: vec![SeriesBatch {
                symbol: instrument.symbol.clone(),
                resolution: Resolution::Minute,
                bars,
            }],
            open_interest: vec![],
            source: "file".into(),
        };
        self.rollups.store().ingest(batch.clone()).await.unwrap();
        self.reference.store().ingest(batch).await.unwrap();
        if refresh {
            self.rollups.refresh_rollups().await.unwrap();
        }
    }
}

fn bound(b: TimeBound) -> String {
    match b {
        TimeBound::Instant(t) => rfc3339(t),
        TimeBound::Date(d) => d.to_string(),
    }
}

/// A query and the `now` it runs at.
type Request = (Query, i64);

fn request(symbol: &str, tf: &str, start: TimeBound, end: TimeBound, now: i64) -> Request {
    let text = format!(
        "symbols={symbol}&frequency={tf}&start={}&end={}",
        bound(start),
        bound(end)
    );
    (text.parse().unwrap(), now)
}

async fn fetch(service: &Service, (query, now): &Request) -> SeriesResult {
    service.fetch(query, *now).await.unwrap().series.remove(0)
}

/// Compares one request on both services; returns whether the rollup path was taken (it
/// reads fewer base bars than the on-the-fly path).
async fn same(p: &Pair, req: &Request, context: &str) -> bool {
    let got = fetch(&p.rollups, req).await;
    let want = fetch(&p.reference, req).await;
    assert_eq!(got.bars.len(), want.bars.len(), "{context}: bar count");
    for (g, w) in got.bars.iter().zip(&want.bars) {
        // Derived timeframes sum the parts' VWAPs in another order than the base bars.
        let close = match (g.vwap, w.vwap) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * b.abs(),
            (a, b) => a == b,
        };
        assert!(close, "{context}: vwap {:?} vs {:?}", g.vwap, w.vwap);
        let (mut g, mut w) = (*g, *w);
        (g.vwap, w.vwap) = (None, None);
        assert_eq!(format!("{g:?}"), format!("{w:?}"), "{context}");
    }
    assert_eq!(got.vwap_source, want.vwap_source, "{context}: vwap source");
    assert_eq!(
        (got.base, got.session, got.window),
        (want.base, want.session, want.window),
        "{context}"
    );
    got.base_bars < want.base_bars
}

fn spy() -> NewInstrument {
    NewInstrument::equity("SPY", AssetClass::Stock).unwrap()
}

fn esz13() -> NewInstrument {
    NewInstrument::future(FuturesContract {
        root: "ES".into(),
        month: ContractMonth::new(2013, 12).unwrap(),
        last_trade_date: None,
        first_notice_date: None,
    })
    .unwrap()
}

fn random_instant(rng: &mut Rng, day0: i64) -> i64 {
    day0 - 86_400 + rng.below((DAYS as u64 + 2) * 1_440) as i64 * 60
}

async fn run_case(seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let future = rng.chance(0.4);
    let (instrument, hours) = if future {
        (esz13(), (0, 24))
    } else {
        (spy(), (8, 24))
    };
    let mode = [VwapMode::None, VwapMode::All, VwapMode::Mixed][rng.below(3) as usize];
    let day0 = STARTS[rng.below(STARTS.len() as u64) as usize];
    let bars = random_series(&mut rng, day0, hours, mode);
    let chunks = random_chunks(&mut rng, &bars, mode);
    let p = pair().await;
    for chunk in chunks {
        p.ingest(&instrument, chunk, true).await;
    }
    assert!(
        !p.reference
            .store()
            .rollup_backlog()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(p.rollups.store().rollup_backlog().await.unwrap().is_empty());
    let symbol = instrument.symbol.as_str();
    let (mut used, mut total) = (0, 0);
    for q in 0..16 {
        let tf = if q % 2 == 0 {
            ["1h", "1h", "2h", "3h", "4h"][rng.below(5) as usize]
        } else {
            ["1d", "1d", "2d", "1w", "1M"][rng.below(5) as usize]
        };
        let (start, end) = match q {
            0 | 1 => (
                TimeBound::Instant(day0 - 86_400),
                TimeBound::Instant(day0 + (DAYS + 1) * 86_400),
            ),
            2 | 3 => {
                let first = chrono::DateTime::from_timestamp(day0, 0)
                    .unwrap()
                    .date_naive();
                let a = first + chrono::Duration::days(rng.below(5) as i64);
                let b = a + chrono::Duration::days(rng.below(8) as i64);
                (TimeBound::Date(a), TimeBound::Date(b))
            }
            _ => {
                let (a, b) = (
                    random_instant(&mut rng, day0),
                    random_instant(&mut rng, day0),
                );
                if a == b {
                    continue;
                }
                (TimeBound::Instant(a.min(b)), TimeBound::Instant(a.max(b)))
            }
        };
        let now = if rng.chance(0.3) {
            random_instant(&mut rng, day0)
        } else {
            FAR_FUTURE
        };
        let req = request(symbol, tf, start, end, now);
        let context = format!("seed {seed} {symbol} {mode:?} {tf} {start:?}..{end:?} now {now}");
        total += 1;
        used += usize::from(same(&p, &req, &context).await);
    }
    (used, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_equal_on_the_fly_aggregation_on_random_series() {
    let (mut used, mut total) = (0, 0);
    for seed in 1..=24 {
        let (u, t) = run_case(seed).await;
        used += u;
        total += t;
    }
    // The comparison is only meaningful when the rollup path actually serves most requests.
    assert!(
        used * 2 > total,
        "rollups served only {used} of {total} requests"
    );
}

/// The refresh of a backfill far before the covered range (the "middle" refresh), a revision
/// of already rolled-up bars, and an append that completes the previously incomplete last
/// bucket all keep rollups equal to the on-the-fly bars.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingest_and_overlapping_ingest_keep_rollups_correct() {
    let mut rng = Rng(7);
    let spy = spy();
    let all = random_series(&mut rng, DAY0, (8, 24), VwapMode::Mixed);
    let p = pair().await;
    let cut = |from: i64, to: i64| -> Vec<Bar> {
        all.iter()
            .copied()
            .filter(|b| b.ts() >= DAY0 + from && b.ts() < DAY0 + to)
            .collect()
    };
    let check = |label: &'static str| {
        let p = &p;
        async move {
            for tf in ["1h", "1d"] {
                let req = request(
                    "SPY",
                    tf,
                    TimeBound::Instant(DAY0 - 86_400),
                    TimeBound::Instant(DAY0 + (DAYS + 1) * 86_400),
                    FAR_FUTURE,
                );
                assert!(
                    same(p, &req, label).await,
                    "{label}: rollups not used for {tf}"
                );
                // The stored rows cover the history: only an incomplete last session (at most
                // 16 h of minutes) is aggregated live, however the ingests were cut.
                let read = fetch(&p.rollups, &req).await.base_bars;
                assert!(read <= 16 * 60, "{label}: {read} base bars read for {tf}");
            }
        }
    };
    // Later days first, ending mid-session (incomplete last bucket), then the rest of that day.
    let mid = 5 * 86_400 + 16 * 3_600 + 7 * 60; // day 5, 12:07 ET
    p.ingest(&spy, cut(3 * 86_400, mid), true).await;
    check("first ingest").await;
    p.ingest(&spy, cut(mid, DAYS * 86_400), true).await;
    check("append completing the last bucket").await;
    // Backfill far before the covered range.
    p.ingest(&spy, cut(0, 3 * 86_400), true).await;
    check("backfill").await;
    // Revise a range in the middle, then re-send the original values.
    let revised: Vec<Bar> = cut(4 * 86_400, 4 * 86_400 + 30_000)
        .iter()
        .map(|b| random_bar(&mut rng, b.ts(), VwapMode::All))
        .collect();
    p.ingest(&spy, revised, true).await;
    check("revision").await;
    p.ingest(&spy, cut(4 * 86_400 - 3_600, 4 * 86_400 + 40_000), true)
        .await;
    check("revision undone").await;
    // An ingest whose refresh never ran (a crash in between) is served from base bars.
    p.ingest(
        &spy,
        cut(6 * 86_400, 7 * 86_400)
            .iter()
            .map(|b| random_bar(&mut rng, b.ts(), VwapMode::None))
            .collect(),
        false,
    )
    .await;
    let req = request(
        "SPY",
        "1d",
        TimeBound::Instant(DAY0),
        TimeBound::Instant(DAY0 + DAYS * 86_400),
        FAR_FUTURE,
    );
    assert!(
        !same(&p, &req, "pending backlog").await,
        "a pending backlog must bypass rollups"
    );
    assert_eq!(p.rollups.refresh_rollups().await.unwrap().resolved, 1);
    check("after the late refresh").await;
    // Nothing pending: a refresh is a no-op.
    assert_eq!(
        p.rollups.refresh_rollups().await.unwrap(),
        Default::default()
    );
}
