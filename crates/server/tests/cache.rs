//! The response cache, black-box: single-flight, HTTP caching (ETag / 304, Cache-Control,
//! gzip), exact invalidation of plain, continuous and adjusted series by imports run from the
//! CLI in another process, and a randomised comparison of cached and uncached answers.

use std::io::Write;
use std::sync::Arc;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tradeassist_server::api::cached::JsonFetch;
use tradeassist_service::{CacheSettings, Limits, Query, Service};
use tradeassist_store::sqlite::SqliteStore;
use tradeassist_testkit::cli::Db;
use tradeassist_testkit::{AppOptions, TestApp, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

/// Minute bars `14:30..14:30+n` UTC of `day` (a March 2024 weekday: 09:30 New York).
fn minute_rows(day: &str, n: usize, base: f64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (h, m) = (14 + (30 + i) / 60, (30 + i) % 60);
            let p = base + (i % 7) as f64 * 0.25;
            format!(
                "{day}T{h:02}:{m:02}:00Z,{p},{},{},{p},{}",
                p + 0.5,
                p - 0.5,
                100 + i
            )
        })
        .collect()
}

fn write_file(db: &Db, name: &str, header: &str, rows: &[String]) -> std::path::PathBuf {
    let path = db.dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{header}").unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    path
}

fn import_stock(db: &Db, symbol: &str, rows: &[String]) {
    let path = write_file(
        db,
        &format!("{symbol}-{}.csv", rows.len()),
        "ts_utc,open,high,low,close,volume",
        rows,
    );
    db.ok(&[
        "import".as_ref(),
        "--symbol".as_ref(),
        symbol.as_ref(),
        path.as_os_str(),
    ]);
}

/// Futures rows of contract month `month` (e.g. 202403) expiring on `expiry`.
fn import_future(db: &Db, month: &str, expiry: &str, rows: &[String]) {
    let rows: Vec<String> = rows
        .iter()
        .map(|r| {
            let (ts, rest) = r.split_once(',').unwrap();
            format!("{ts},{month},{expiry},{rest}")
        })
        .collect();
    let path = write_file(
        db,
        &format!("es-{month}-{}.csv", rows.len()),
        "time_utc,contract_month,expiry,open,high,low,close,volume",
        &rows,
    );
    db.ok(&[
        "import".as_ref(),
        "--symbol".as_ref(),
        "ES".as_ref(),
        "--asset-class".as_ref(),
        "future".as_ref(),
        path.as_os_str(),
    ]);
}

fn daily_rows(n: usize) -> Vec<String> {
    let mut d = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        if chrono::Datelike::weekday(&d).number_from_monday() <= 5 {
            let p = 100.0 + out.len() as f64;
            out.push(format!("{d},{p},{},{},{p},1000", p + 1.0, p - 1.0));
        }
        d = d.succ_opt().unwrap();
    }
    out
}

/// A database with stocks XA, XB (minute bars on 4-6 March 2024), XD (daily bars of 2024),
/// and ES March / June 2024 contracts (minute bars on the same days).
fn seeded_db() -> Db {
    let db = Db::new(BIN);
    let mut xa = Vec::new();
    let mut es_h = Vec::new();
    let mut es_m = Vec::new();
    for day in ["2024-03-04", "2024-03-05", "2024-03-06"] {
        xa.extend(minute_rows(day, 90, 50.0));
        es_h.extend(minute_rows(day, 90, 5000.0));
        es_m.extend(minute_rows(day, 90, 5050.0));
    }
    import_stock(&db, "XA", &xa);
    import_stock(&db, "XB", &xa);
    let path = write_file(
        &db,
        "xd.csv",
        "date,open,high,low,close,volume",
        &daily_rows(60),
    );
    db.ok(&[
        "import".as_ref(),
        "--symbol".as_ref(),
        "XD".as_ref(),
        path.as_os_str(),
    ]);
    let factors = write_file(
        &db,
        "xd_factors0.csv",
        "date,price_factor,split_factor,reference_price",
        &[
            "20240115,1,0.5,100".to_string(),
            "20501231,1,1,0".to_string(),
        ],
    );
    db.ok(&[
        "import-factors".as_ref(),
        "--symbol".as_ref(),
        "XD".as_ref(),
        factors.as_os_str(),
    ]);
    import_future(&db, "202403", "2024-03-15", &es_h);
    import_future(&db, "202406", "2024-06-21", &es_m);
    db
}

async fn app_over(db: &Db, cache: Option<CacheSettings>) -> TestApp {
    spawn_app_with(AppOptions {
        cache,
        db: Some(db.path.clone()),
        ..Default::default()
    })
    .await
}

struct Answer {
    status: StatusCode,
    cache: String,
    etag: String,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        let mut v: Value = serde_json::from_slice(&self.body).unwrap();
        // The only part of an answer that legitimately differs between two computations.
        v["metadata"]["generated_at"] = Value::Null;
        v
    }
}

async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    let headers = r.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    Answer {
        status: r.status(),
        cache: header("x-cache"),
        etag: header("etag"),
        headers: headers.clone(),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

async fn post(app: &TestApp, body: &Value) -> Answer {
    let a = answer(Client::new().post(app.api("fetch")).json(body)).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{body}: {}",
        String::from_utf8_lossy(&a.body)
    );
    a
}

fn q(symbol: &str, frequency: &str, start: &str, end: &str) -> Value {
    json!({"symbols": [symbol], "frequency": frequency, "start": start, "end": end})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_requests_read_the_store_once() {
    let db = seeded_db();
    let app = app_over(&db, Some(CacheSettings::default())).await;
    let body = q("XA", "5m", "2024-03-04", "2024-03-04");
    // The bar reads of one computation.
    let before = app.service.store_reads().bars;
    assert_eq!(post(&app, &body).await.cache, "miss");
    let one = app.service.store_reads().bars - before;
    assert!(one >= 1);
    app.service.response_cache().unwrap().clear().await;

    let before = app.service.store_reads().bars;
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (url, body, barrier) = (app.api("fetch"), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                answer(Client::new().post(url).json(&body)).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(
        app.service.store_reads().bars - before,
        one,
        "bar reads under 50 concurrent requests"
    );
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(answers.iter().filter(|a| a.cache == "miss").count(), 1);
    assert!(answers.windows(2).all(|w| w[0].body == w[1].body));

    // 1000 repeated requests: no bar read at all.
    let before = app.service.store_reads();
    for _ in 0..200 {
        assert_eq!(post(&app, &body).await.cache, "hit-l1");
    }
    let after = app.service.store_reads();
    assert_eq!(after.bars, before.bars);
    assert_eq!(after.metadata, before.metadata);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_not_modified_cache_control_and_gzip() {
    let db = seeded_db();
    let app = app_over(&db, Some(CacheSettings::default())).await;
    let closed = format!(
        "{}?symbols=XA&frequency=1m&start=2024-03-04&end=2024-03-04",
        app.api("fetch")
    );
    let first = answer(Client::new().get(&closed)).await;
    assert_eq!(
        first.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert!(first.etag.starts_with('"') && first.etag.len() > 10);
    let cc = first.headers["cache-control"].to_str().unwrap();
    assert!(
        cc.contains("immutable") && cc.contains("max-age=21600"),
        "{cc}"
    );
    // POST of the same meaning: the same entry, the same tag.
    let posted = post(&app, &q("XA", "1m", "2024-03-04", "2024-03-04")).await;
    assert_eq!(
        (posted.cache.as_str(), &posted.etag),
        ("hit-l1", &first.etag)
    );
    let again = answer(
        Client::new()
            .get(&closed)
            .header("if-none-match", &first.etag),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = answer(
        Client::new()
            .get(&closed)
            .header("if-none-match", "\"nope\""),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // Gzip when asked: the stored compressed form, decoding to the same bytes.
    let zipped = answer(Client::new().get(&closed).header("accept-encoding", "gzip")).await;
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut plain,
    )
    .unwrap();
    assert_eq!(plain, first.body);
    assert!(zipped.body.len() < first.body.len());
    let br = answer(Client::new().get(&closed).header("accept-encoding", "br")).await;
    assert_eq!(br.headers["content-encoding"], "br");
    // An open range (up to now) gets the short lifetime.
    let open = answer(Client::new().get(format!(
        "{}?symbols=XA&frequency=1h&start=2024-03-04",
        app.api("fetch")
    )))
    .await;
    assert_eq!(open.status, StatusCode::OK);
    assert_eq!(open.headers["cache-control"], "public, max-age=5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_imports_in_another_process_evict_exactly_the_overlapping_answers() {
    let db = seeded_db();
    let app = app_over(&db, Some(CacheSettings::default())).await;
    let queries = [
        ("xa-mon", q("XA", "5m", "2024-03-04", "2024-03-04")),
        ("xa-tue", q("XA", "5m", "2024-03-05", "2024-03-05")),
        ("xa-1d", q("XA", "1d", "2024-03-05", "2024-03-06")),
        ("xb-mon", q("XB", "5m", "2024-03-04", "2024-03-04")),
        ("es-cont", q("ES.c.0", "1h", "2024-03-05", "2024-03-05")),
        ("xd-raw", q("XD", "1w", "2024-01-01", "2024-03-01")),
        ("xd-split", {
            let mut v = q("XD", "1w", "2024-01-01", "2024-03-01");
            v["adjust"] = json!("split");
            v
        }),
    ];
    let mut bodies = std::collections::HashMap::new();
    for (name, body) in &queries {
        let a = post(&app, body).await;
        assert_eq!(a.cache, "miss", "{name}");
        assert_eq!(post(&app, body).await.cache, "hit-l1", "{name}");
        bodies.insert(*name, a.json());
    }
    let check = |evicted: &'static [&'static str]| {
        let app = &app;
        let queries = &queries;
        async move {
            let mut out = Vec::new();
            for (name, body) in queries {
                let a = post(app, body).await;
                let want = if evicted.contains(name) {
                    "miss"
                } else {
                    "hit-l1"
                };
                assert_eq!(a.cache, want, "{name} after an import evicting {evicted:?}");
                out.push((*name, a.json()));
            }
            out
        }
    };

    // A corrected XA bar on Monday 15:00 UTC, from another process.
    import_stock(
        &db,
        "XA",
        &["2024-03-04T15:00:00Z,50,80,49,77.5,1".to_string()],
    );
    let after = check(&["xa-mon"]).await;
    let mon = &after.iter().find(|(n, _)| *n == "xa-mon").unwrap().1;
    assert_ne!(mon, &bodies["xa-mon"]);
    assert!(
        mon.to_string().contains("\"high\":80.0"),
        "the new bar is served: {mon}"
    );

    // A bar of the June contract on Tuesday: the continuous series (which reads every
    // contract of the root) and nothing else.
    import_future(
        &db,
        "202406",
        "2024-06-21",
        &["2024-03-05T15:10:00Z,5060,5061,5059,5060.5,7".to_string()],
    );
    check(&["es-cont"]).await;
    // A contract stored for the first time, inside the window: again the continuous series.
    import_future(
        &db,
        "202409",
        "2024-09-20",
        &["2024-03-05T15:20:00Z,5100,5101,5099,5100,1".to_string()],
    );
    check(&["es-cont"]).await;
    // ...outside the window and its look-back: nothing.
    import_future(
        &db,
        "202412",
        "2024-12-20",
        &["2024-06-03T15:20:00Z,5100,5101,5099,5100,1".to_string()],
    );
    check(&[]).await;

    // New factors of XD: the split-adjusted series only.
    let factors = write_file(
        &db,
        "xd_factors.csv",
        "date,price_factor,split_factor,reference_price",
        &[
            "20240201,1,0.25,100".to_string(),
            "20501231,1,1,0".to_string(),
        ],
    );
    db.ok(&[
        "import-factors".as_ref(),
        "--symbol".as_ref(),
        "XD".as_ref(),
        factors.as_os_str(),
    ]);
    check(&["xd-split"]).await;

    // A Wednesday bar of XA: the daily query over Tue-Wed only.
    import_stock(
        &db,
        "XA",
        &["2024-03-06T15:00:00Z,50,51,49,50.5,1".to_string()],
    );
    check(&["xa-1d"]).await;
}

/// A small deterministic generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn encoded(service: &Service, query: &Query) -> Value {
    let e = service
        .fetch_encoded(query, tradeassist_service::now(), &JsonFetch)
        .await
        .unwrap();
    let mut v: Value = serde_json::from_slice(e.entry.body()).unwrap();
    v["metadata"]["generated_at"] = Value::Null;
    // An open range ends "now": the cached answer shows the instant it was computed at
    // (at most the open TTL ago); the bars are what must agree.
    if !query.to_string().contains("end=") {
        for s in v["data"].as_array_mut().unwrap() {
            s["end"] = Value::Null;
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomised_ingests_and_fetches_cached_answers_equal_uncached_ones() {
    let db = seeded_db();
    let store = Arc::new(SqliteStore::open(&db.path).await.unwrap());
    let cached = Service::new(store.clone(), Limits::default())
        .with_cache(&CacheSettings::default())
        .unwrap();
    let plain = Service::new(store, Limits::default());
    let queries: Vec<Query> = [
        "symbols=XA&frequency=5m&start=2024-03-04&end=2024-03-04",
        "symbols=XA&frequency=1h&start=2024-03-04&end=2024-03-06",
        "symbols=XA&frequency=1d&start=2024-03-01&end=2024-03-08",
        "symbols=XA&frequency=15m&start=2024-03-05&end=2024-03-05&fill=prev",
        "symbols=XA&frequency=30m&start=2024-03-05",
        "symbols=XA,XB&frequency=1h&start=2024-03-04&end=2024-03-05",
        "symbols=XA&frequency=5m&preset=last_20_bars&as_of=2024-03-06",
        "symbols=ES.c.0&frequency=1h&start=2024-03-04&end=2024-03-06",
        "symbols=ES.v.0&frequency=30m&start=2024-03-05&end=2024-03-06&adjust=ratio_back",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    let mut rng = Lcg(9);
    let mut imports = 0;
    for step in 0..120 {
        if rng.next(6) == 0 {
            let day =
                ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"][rng.next(4) as usize];
            let minute = 30 + rng.next(90);
            let p = 40.0 + rng.next(40) as f64;
            let (h, m) = (14 + minute / 60, minute % 60);
            let volume = 1 + rng.next(500);
            let row = |p: f64| {
                format!(
                    "{day}T{h:02}:{m:02}:00Z,{p},{},{},{p},{volume}",
                    p + 1.0,
                    p - 1.0
                )
            };
            match rng.next(3) {
                0 => import_stock(&db, "XA", &[row(p)]),
                1 => import_stock(&db, "XB", &[row(p)]),
                _ => import_future(&db, "202406", "2024-06-21", &[row(p + 5000.0)]),
            }
            imports += 1;
        }
        let query = &queries[rng.next(queries.len() as u64) as usize];
        let got = encoded(&cached, query).await;
        let want = encoded(&plain, query).await;
        assert_eq!(got, want, "step {step}: {query}");
    }
    assert!(imports > 5);
}

/// Warming computes the most requested and every saved query ahead of the next request: after
/// the cache is emptied, a warming pass puts them back, so the next requests (and the run of
/// the saved query, which shares the entry of the same query fetched directly) are hits that
/// read no bars; a query asked once ranks below the top one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warming_restores_the_top_and_saved_queries() {
    let db = seeded_db();
    let app = app_over(&db, Some(CacheSettings::default())).await;
    let top = q("XA", "5m", "2024-03-04", "2024-03-05");
    let once = q("XB", "15m", "2024-03-04", "2024-03-04");
    let saved = q("XD", "1w", "2024-01-01", "2024-03-01");
    for _ in 0..3 {
        post(&app, &top).await;
    }
    post(&app, &once).await;
    let created = Client::new()
        .post(app.api("queries/save"))
        .json(&json!({"name": "weekly XD", "description": "", "parameters": saved}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let cache = app.service.response_cache().unwrap();
    cache.clear().await;
    let report = app.service.warm(&JsonFetch, 1).await.unwrap();
    assert_eq!((report.queries, report.computed, report.failed), (2, 2, 0));
    assert_eq!(cache.entry_count().await, 2);
    // A second pass finds both fresh and computes nothing.
    let again = app.service.warm(&JsonFetch, 1).await.unwrap();
    assert_eq!((again.computed, again.fresh), (0, 2));

    let before = app.service.store_reads().bars;
    assert_eq!(post(&app, &top).await.cache, "hit-l1");
    let run = answer(Client::new().post(app.api(&format!("queries/{id}/run")))).await;
    assert_eq!(run.status, StatusCode::OK);
    assert_eq!(run.cache, "hit-l1");
    assert_eq!(run.json(), post(&app, &saved).await.json());
    assert_eq!(app.service.store_reads().bars, before, "hits read no bars");
    assert_eq!(post(&app, &once).await.cache, "miss", "not among the top 1");
}
