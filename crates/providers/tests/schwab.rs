//! The Schwab provider behind the resilience layer, against the fake Schwab server.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tradeassist_model::{AssetClass, Bar, Resolution, TimeRange, rfc3339};
use tradeassist_providers::resilience::{CircuitState, Clock, ManualClock, Resilient};
use tradeassist_providers::schwab::fake::{FakeCredentials, FakeSchwab, Fault};
use tradeassist_providers::schwab::{self, SchwabClient, SchwabConfig};
use tradeassist_providers::{BarRequest, DataProblem, Provider, ProviderError};

const DAY: i64 = 86_400;

/// The fake's config with fast retries and a generous rate limit.
fn config(fake: &FakeSchwab) -> SchwabConfig {
    let mut c = fake.config();
    c.requests_per_minute = 60_000;
    c.timeout_ms = 2_000;
    c.retry.base_delay_ms = 1;
    c.retry.max_delay_ms = 50;
    c
}

fn now_minute() -> i64 {
    let now = chrono::Utc::now().timestamp();
    now - now.rem_euclid(60)
}

/// A deterministic valid bar at `ts`.
fn bar(ts: i64, i: i64) -> Bar {
    let base = 100.0 + (i % 97) as f64 * 0.25;
    Bar::new(
        ts,
        base,
        base + 1.0,
        base - 0.5,
        base + 0.5,
        (i % 13) as f64 * 10.0,
    )
    .unwrap()
}

fn minute_bars(start: i64, count: i64) -> Vec<Bar> {
    (0..count).map(|i| bar(start + 60 * i, i)).collect()
}

/// Weekday daily bars keyed 00:00 UTC over `[start, end)`.
fn daily_bars(start: i64, end: i64) -> Vec<Bar> {
    (0..)
        .map(|d| start + d * DAY)
        .take_while(|t| *t < end)
        .filter(|t| (t / DAY + 4).rem_euclid(7) < 5) // 1970-01-01 was a Thursday
        .enumerate()
        .map(|(i, t)| bar(t, i as i64))
        .collect()
}

fn range(start: i64, end: i64) -> TimeRange {
    TimeRange::new(start, end).unwrap()
}

fn daily(symbol: &str, start: i64, end: i64) -> BarRequest {
    BarRequest::new(
        symbol,
        AssetClass::Stock,
        Resolution::Day,
        range(start, end),
    )
}

/// 2024-01-01 .. 2024-02-01.
const JAN_2024: (i64, i64) = (1_704_067_200, 1_706_745_600);

async fn fake_with_aapl() -> FakeSchwab {
    let fake = FakeSchwab::start().await.unwrap();
    fake.insert_bars("AAPL", Resolution::Day, daily_bars(JAN_2024.0, JAN_2024.1));
    fake
}

fn aapl_january() -> BarRequest {
    daily("AAPL", JAN_2024.0, JAN_2024.1)
}

#[tokio::test]
async fn the_access_token_is_refreshed_before_it_expires_without_a_401() {
    let fake = fake_with_aapl().await;
    let clock = Arc::new(ManualClock::new());
    let p = schwab::resilient_with_clock(&config(&fake), clock.clone()).unwrap();
    let first = p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(fake.counts().token, 1);
    // 1800 s tokens: still used after 28 minutes, replaced within the last minute.
    clock.advance(Duration::from_secs(28 * 60));
    p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(fake.counts().token, 1);
    clock.advance(Duration::from_secs(90));
    assert_eq!(p.fetch_bars(&aapl_january()).await.unwrap(), first);
    let counts = fake.counts();
    assert_eq!((counts.token, counts.price_history), (2, 3));
    assert_eq!(
        counts.unauthorized, 0,
        "the new token came before the old expired"
    );
    assert_eq!(p.inner().token_refreshes(), 2);
}

#[tokio::test]
async fn a_401_gets_exactly_one_token_refresh_and_the_request_succeeds() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    let first = p.fetch_bars(&aapl_january()).await.unwrap();
    fake.expire_access_tokens();
    assert_eq!(p.fetch_bars(&aapl_january()).await.unwrap(), first);
    let counts = fake.counts();
    assert_eq!(counts.token, 2, "one extra token call");
    assert_eq!(counts.unauthorized, 1);
    assert_eq!(counts.price_history, 3);
    assert_eq!(p.stats().retries, 0, "the refresh is not a retry");
}

#[tokio::test]
async fn a_401_after_a_fresh_token_is_an_auth_error_not_a_loop() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next(2, Fault::Unauthorized);
    let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Auth(_)), "{e}");
    let counts = fake.counts();
    assert_eq!((counts.token, counts.price_history), (2, 2));
    assert_eq!(p.stats().circuit.failures, 1);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_used_next_time() {
    let fake = fake_with_aapl().await;
    fake.rotate_refresh_tokens(true);
    let original = fake.refresh_token();
    let client = SchwabClient::new(&config(&fake)).unwrap();
    client.fetch_bars(&aapl_january()).await.unwrap();
    let rotated = fake.refresh_token();
    assert_ne!(rotated, original);
    assert_eq!(client.refresh_token().await.expose(), rotated);
    // The next refresh must use the rotated token: the original is refused now.
    fake.expire_access_tokens();
    client.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(fake.counts().token, 2);
    assert_eq!(client.refresh_token().await.expose(), fake.refresh_token());
}

#[tokio::test]
async fn concurrent_calls_share_one_token_refresh() {
    let fake = fake_with_aapl().await;
    let p = Arc::new(schwab::resilient(&config(&fake)).unwrap());
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move { p.fetch_bars(&aapl_january()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(fake.counts().token, 1);
    assert_eq!(fake.counts().price_history, 5);
}

#[tokio::test]
async fn a_30_day_minute_range_is_fetched_in_10_day_windows_exactly_once_each() {
    let fake = FakeSchwab::start().await.unwrap();
    let start = now_minute() - 31 * DAY;
    let end = start + 30 * DAY;
    let stored = minute_bars(start, 30 * 24 * 60);
    fake.insert_bars("SPY", Resolution::Minute, stored.clone());
    let p = schwab::resilient(&config(&fake)).unwrap();
    let request = BarRequest::new(
        "SPY",
        AssetClass::Stock,
        Resolution::Minute,
        range(start, end),
    );
    let bars = p.fetch_bars(&request).await.unwrap();
    assert_eq!(bars.len(), stored.len());
    assert!(
        bars == stored,
        "the concatenated windows are the stored bars"
    );
    assert!(bars.windows(2).all(|w| w[0].ts() < w[1].ts()));

    let queries = fake.history_queries();
    assert_eq!(queries.len(), 3);
    let mut expected_start = start * 1000;
    for q in &queries {
        assert_eq!(q.symbol, "SPY");
        assert_eq!(q.period_type.as_deref(), Some("day"));
        assert_eq!(q.frequency_type.as_deref(), Some("minute"));
        assert_eq!(q.frequency, Some(1));
        assert_eq!(q.need_extended_hours_data, Some(true));
        assert_eq!(q.period, None);
        let (s, e) = (q.start_date.unwrap(), q.end_date.unwrap());
        assert_eq!(s, expected_start, "windows are contiguous");
        assert!(e - s <= 10 * DAY * 1000);
        expected_start = e;
    }
    assert_eq!(expected_start, end * 1000);
    // The fake includes the candle at endDate, so each edge candle came twice and was kept once.
    assert_eq!(p.split(&request).len(), 3);
}

#[tokio::test]
async fn a_25_year_daily_range_is_two_requests_keyed_by_date() {
    let fake = FakeSchwab::start().await.unwrap();
    let (start, end) = (946_684_800, 1_735_689_600); // 2000-01-01 .. 2025-01-01
    let stored = daily_bars(start, end);
    fake.insert_bars("AAPL", Resolution::Day, stored.clone());
    let p = schwab::resilient(&config(&fake)).unwrap();
    let bars = p.fetch_bars(&daily("AAPL", start, end)).await.unwrap();
    assert!(
        bars == stored,
        "{} bars vs {} stored",
        bars.len(),
        stored.len()
    );
    assert!(
        bars.iter().all(|b| b.ts().rem_euclid(DAY) == 0),
        "date keys at 00:00 UTC"
    );
    let queries = fake.history_queries();
    assert_eq!(queries.len(), 2);
    assert!(
        queries
            .iter()
            .all(|q| q.period_type.as_deref() == Some("year")
                && q.frequency_type.as_deref() == Some("daily")
                && q.need_extended_hours_data == Some(false))
    );
}

#[tokio::test]
async fn a_range_without_data_is_zero_bars_not_an_error() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    let bars = p
        .fetch_bars(&daily("AAPL", 1_000 * DAY, 1_010 * DAY))
        .await
        .unwrap();
    assert!(bars.is_empty());
    assert_eq!(p.circuit(), CircuitState::Closed);
}

#[tokio::test]
async fn minutes_older_than_48_days_are_refused_naming_the_earliest_time() {
    let fake = FakeSchwab::start().await.unwrap();
    let p = schwab::resilient(&config(&fake)).unwrap();
    let now = now_minute();
    let request = BarRequest::new(
        "SPY",
        AssetClass::Stock,
        Resolution::Minute,
        range(now - 60 * DAY, now - 50 * DAY),
    );
    let e = p.fetch_bars(&request).await.unwrap_err();
    let ProviderError::OutOfHistory {
        earliest,
        requested_start,
        ref symbol,
        ..
    } = e
    else {
        panic!("expected OutOfHistory, got {e}");
    };
    assert_eq!(symbol, "SPY");
    assert_eq!(requested_start, now - 60 * DAY);
    assert!((earliest - (now - 48 * DAY)).abs() <= 120, "{earliest}");
    assert!(e.to_string().contains(&rfc3339(earliest)), "{e}");
    assert_eq!(fake.counts().price_history, 0, "nothing was fetched");
    assert_eq!(fake.counts().token, 0);
    // The limit callers clamp to.
    let start = p.history_start(Resolution::Minute).unwrap();
    assert!((start - earliest).abs() <= 60);
    assert_eq!(p.history_start(Resolution::Day), None);
    assert_eq!(p.circuit(), CircuitState::Closed);
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next(2, Fault::Status(500));
    fake.fail_next(1, Fault::Status(503));
    let bars = p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(bars.len(), 23);
    assert_eq!(fake.counts().price_history, 4);
    assert_eq!(p.stats().retries, 3);
    assert_eq!(p.stats().circuit.failures, 0);
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next(10, Fault::Status(502));
    let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::Status { status: 502, .. }),
        "{e}"
    );
    assert_eq!(fake.counts().price_history, 4, "max_attempts = 4");
}

#[tokio::test]
async fn too_many_requests_waits_as_retry_after_says() {
    let fake = fake_with_aapl().await;
    let clock = Arc::new(ManualClock::new());
    let mut c = config(&fake);
    c.retry.max_delay_ms = 60_000;
    let p = schwab::resilient_with_clock(&c, clock.clone()).unwrap();
    fake.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 2,
        },
    );
    p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
    assert_eq!(fake.counts().price_history, 2);

    // A Retry-After beyond the cap waits the cap (after the limiter's 1 ms pacing wait:
    // the clock stood still since the last request).
    fake.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after_secs: 3600,
        },
    );
    p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(
        clock.sleeps()[1..],
        [Duration::from_millis(1), Duration::from_secs(60)]
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_retry_succeeds() {
    let fake = fake_with_aapl().await;
    let mut c = config(&fake);
    c.timeout_ms = 200;
    let p = schwab::resilient(&c).unwrap();
    fake.fail_next(1, Fault::Delay(Duration::from_secs(5)));
    let bars = p.fetch_bars(&aapl_january()).await.unwrap();
    assert_eq!(bars.len(), 23);
    assert_eq!(fake.counts().price_history, 2);
    assert_eq!(p.stats().retries, 1);
}

#[tokio::test]
async fn client_errors_other_than_401_and_429_are_not_retried() {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    for status in [400, 403, 405, 422] {
        let before = fake.counts().price_history;
        fake.fail_next(1, Fault::Status(status));
        let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
        assert_eq!(
            e,
            ProviderError::Status {
                status,
                message: "fake: scripted failure".into()
            }
        );
        assert_eq!(fake.counts().price_history, before + 1, "{status}");
    }
    assert_eq!(p.stats().retries, 0);
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_half_opens_reopens_and_closes() {
    let fake = fake_with_aapl().await;
    let clock = Arc::new(ManualClock::new());
    let mut c = config(&fake);
    c.retry.max_attempts = 2;
    c.breaker.failure_threshold = 2;
    c.breaker.cool_down_ms = 30_000;
    c.breaker.half_open_probes = 1;
    let p = schwab::resilient_with_clock(&c, clock.clone()).unwrap();

    fake.fail_next(4, Fault::Status(500));
    assert!(p.fetch_bars(&aapl_january()).await.is_err());
    assert_eq!(p.circuit(), CircuitState::Closed);
    assert!(p.fetch_bars(&aapl_january()).await.is_err());
    assert_eq!(p.circuit(), CircuitState::Open);
    assert_eq!(fake.counts().price_history, 4);

    // Open: fail fast, the fake sees nothing.
    let before = fake.counts();
    for _ in 0..3 {
        let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
        let ProviderError::CircuitOpen { retry_after } = e else {
            panic!("expected CircuitOpen, got {e}");
        };
        assert!(retry_after <= Duration::from_secs(30) && retry_after > Duration::ZERO);
    }
    assert_eq!(fake.counts(), before);

    // Half-open after the cool-down; a failed probe opens it again.
    clock.advance(Duration::from_secs(30));
    assert_eq!(p.circuit(), CircuitState::HalfOpen);
    fake.fail_next(2, Fault::Status(500));
    assert!(p.fetch_bars(&aapl_january()).await.is_err());
    assert_eq!(p.circuit(), CircuitState::Open);
    assert!(matches!(
        p.fetch_bars(&aapl_january()).await,
        Err(ProviderError::CircuitOpen { .. })
    ));

    // A successful probe closes it.
    clock.advance(Duration::from_secs(30));
    assert_eq!(p.fetch_bars(&aapl_january()).await.unwrap().len(), 23);
    assert_eq!(p.circuit(), CircuitState::Closed);
    let stats = p.stats().circuit;
    assert_eq!(stats.failures, 3);
    assert_eq!(stats.rejected, 4);
    assert_eq!(stats.calls, 4);
    assert!(stats.last_success_at.unwrap() >= stats.last_error_at.unwrap());
    assert_eq!(
        stats.last_error.as_deref(),
        Some("the vendor answered HTTP 500: fake: scripted failure")
    );
}

#[tokio::test]
async fn price_history_requests_are_paced_by_the_rate_limit() {
    let fake = fake_with_aapl().await;
    let clock = Arc::new(ManualClock::new());
    let mut c = config(&fake);
    c.requests_per_minute = 60;
    let p = schwab::resilient_with_clock(&c, clock.clone()).unwrap();
    let t0 = clock.now();
    for _ in 0..3 {
        p.fetch_bars(&aapl_january()).await.unwrap();
    }
    // One request a second: the second and third waited a second each (on the clock).
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 2]);
    assert_eq!(clock.now() - t0, Duration::from_secs(2));
    assert_eq!(p.stats().requests_per_minute, Some(60));
}

/// Run `request` with `fault` on the answer of window `window_index`.
async fn rejected(fault: Fault) -> (ProviderError, FakeSchwab) {
    let fake = fake_with_aapl().await;
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next(1, fault);
    let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
    (e, fake)
}

#[tokio::test]
async fn a_broken_answer_rejects_the_whole_batch_naming_symbol_and_candle() {
    let second = rfc3339(JAN_2024.0 + DAY); // Jan 2: the second weekday bar
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::InvalidCandle, "candle 1 at"),
        (Fault::DuplicateCandle, "candle 1 at"),
        (Fault::OutOfOrderCandle, "candle 1 at"),
        (Fault::TruncatedJson, "malformed JSON at line 1"),
    ];
    for (fault, where_) in cases {
        let (e, fake) = rejected(fault.clone()).await;
        let ProviderError::InvalidData {
            ref symbol,
            window,
            ref problem,
        } = e
        else {
            panic!("{fault:?}: expected InvalidData, got {e}");
        };
        assert_eq!(symbol, "AAPL");
        assert_eq!(window, range(JAN_2024.0, JAN_2024.1));
        let text = e.to_string();
        assert!(
            text.contains("AAPL") && text.contains(where_),
            "{fault:?}: {text}"
        );
        assert!(text.contains("nothing was returned"), "{text}");
        match fault {
            Fault::InvalidCandle => {
                assert!(matches!(
                    problem,
                    DataProblem::InvalidCandle { index: 1, .. }
                ));
            }
            Fault::DuplicateCandle => {
                assert!(matches!(problem, DataProblem::Duplicate { index: 1, .. }));
            }
            Fault::OutOfOrderCandle => {
                assert!(matches!(problem, DataProblem::OutOfOrder { index: 1, .. }));
                assert!(text.contains(&second[..10]), "{text}");
            }
            _ => assert!(matches!(problem, DataProblem::Malformed { .. })),
        }
        assert_eq!(fake.counts().price_history, 1, "{fault:?}: not retried");
    }
}

#[tokio::test]
async fn a_bad_later_window_returns_nothing_of_the_good_ones() {
    let fake = FakeSchwab::start().await.unwrap();
    let start = now_minute() - 25 * DAY;
    fake.insert_bars("SPY", Resolution::Minute, minute_bars(start, 24 * 24 * 60));
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next(1, Fault::Normal);
    fake.fail_next(1, Fault::DuplicateCandle);
    let request = BarRequest::new(
        "SPY",
        AssetClass::Stock,
        Resolution::Minute,
        range(start, start + 24 * DAY),
    );
    let e = p.fetch_bars(&request).await.unwrap_err();
    let ProviderError::InvalidData { window, .. } = e else {
        panic!("{e}");
    };
    assert_eq!(
        window,
        range(start + 10 * DAY, start + 20 * DAY),
        "the second window"
    );
    assert_eq!(
        fake.counts().price_history,
        2,
        "the third window was not asked for"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_reading_it_all() {
    let fake = fake_with_aapl().await;
    let client = SchwabClient::new(&config(&fake))
        .unwrap()
        .with_body_limit(1024);
    let e = client.fetch_bars(&aapl_january()).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::InvalidData {
                problem: DataProblem::TooLarge { limit: 1024 },
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn unknown_symbols_are_a_per_symbol_error_that_does_not_trip_the_breaker() {
    let fake = fake_with_aapl().await;
    let mut c = config(&fake);
    c.breaker.failure_threshold = 1;
    let p = schwab::resilient(&c).unwrap();
    // The fake's 400 naming the symbol, Schwab's empty answer with an error, and a 404.
    let e = p
        .fetch_bars(&daily("NOPE", JAN_2024.0, JAN_2024.1))
        .await
        .unwrap_err();
    assert_eq!(e, ProviderError::UnknownSymbol("NOPE".into()));
    assert_eq!(e.to_string(), "unknown symbol NOPE");
    fake.fail_next(1, Fault::UnknownSymbol);
    assert_eq!(
        p.fetch_bars(&aapl_january()).await.unwrap_err(),
        ProviderError::UnknownSymbol("AAPL".into())
    );
    fake.fail_next(1, Fault::Status(404));
    assert_eq!(
        p.fetch_bars(&aapl_january()).await.unwrap_err(),
        ProviderError::UnknownSymbol("AAPL".into())
    );
    assert_eq!(fake.counts().price_history, 3, "not retried");
    assert_eq!(p.circuit(), CircuitState::Closed);
    assert_eq!(p.fetch_bars(&aapl_january()).await.unwrap().len(), 23);
}

#[tokio::test]
async fn futures_and_indexes_are_requested_in_schwab_notation() {
    let fake = FakeSchwab::start().await.unwrap();
    let start = now_minute() - 2 * DAY;
    fake.insert_bars("/ESZ24", Resolution::Minute, minute_bars(start, 120));
    fake.insert_bars("/ES", Resolution::Minute, minute_bars(start, 60));
    fake.insert_bars("$SPX", Resolution::Day, daily_bars(JAN_2024.0, JAN_2024.1));
    let p = schwab::resilient(&config(&fake)).unwrap();
    let minutes = |symbol: &str| {
        BarRequest::new(
            symbol,
            AssetClass::Future,
            Resolution::Minute,
            range(start, start + DAY),
        )
    };
    for ours in ["ESZ24", "ESZ2024", "ESZ4"] {
        assert_eq!(
            p.fetch_bars(&minutes(ours)).await.unwrap().len(),
            120,
            "{ours}"
        );
    }
    assert_eq!(p.fetch_bars(&minutes("ES")).await.unwrap().len(), 60);
    let spx = BarRequest::new(
        "SPX",
        AssetClass::Index,
        Resolution::Day,
        range(JAN_2024.0, JAN_2024.1),
    );
    assert_eq!(p.fetch_bars(&spx).await.unwrap().len(), 23);
    let symbols: Vec<String> = fake
        .history_queries()
        .into_iter()
        .map(|q| q.symbol)
        .collect();
    assert_eq!(symbols, ["/ESZ24", "/ESZ24", "/ESZ24", "/ES", "$SPX"]);
    // A symbol Schwab cannot express fails before any request.
    let e = p.fetch_bars(&minutes("ES.Z24")).await.unwrap_err();
    assert!(matches!(e, ProviderError::UnsupportedSymbol { .. }), "{e}");
    assert_eq!(fake.counts().price_history, 5);
}

#[tokio::test]
async fn token_endpoint_failures() {
    // Wrong client secret: an auth error, not retried, counted against the provider.
    let fake = fake_with_aapl().await;
    let mut c = config(&fake);
    c.client_secret = "not-the-secret".into();
    let p = schwab::resilient(&c).unwrap();
    let e = p.fetch_bars(&aapl_january()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Auth(_)), "{e}");
    assert!(e.to_string().contains("HTTP 401, invalid_client"), "{e}");
    assert_eq!(fake.counts().token, 1);
    assert_eq!(fake.counts().price_history, 0);
    assert_eq!(p.stats().circuit.failures, 1);

    // A revoked refresh token.
    let mut c = config(&fake);
    c.refresh_token = "revoked".into();
    let e = SchwabClient::new(&c)
        .unwrap()
        .fetch_bars(&aapl_january())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid_grant"), "{e}");

    // A token endpoint hiccup is retried like any 5xx.
    let p = schwab::resilient(&config(&fake)).unwrap();
    fake.fail_next_token(1, 503);
    let before = fake.counts().token;
    assert_eq!(p.fetch_bars(&aapl_january()).await.unwrap().len(), 23);
    assert_eq!(fake.counts().token, before + 2);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_appear_in_errors_debug_output_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let credentials = FakeCredentials {
        client_id: "app-key-1".into(),
        client_secret: "SECRET-client-7f3a".into(),
        refresh_token: "SECRET-refresh-91bc".into(),
    };
    let fake = FakeSchwab::start_with(credentials).await.unwrap();
    fake.insert_bars("AAPL", Resolution::Day, daily_bars(JAN_2024.0, JAN_2024.1));
    fake.rotate_refresh_tokens(true);
    let mut c = config(&fake);
    c.retry.max_attempts = 2;
    c.breaker.failure_threshold = 2;
    let p: Resilient<SchwabClient> = schwab::resilient(&c).unwrap();

    let mut outputs = vec![format!("{c:?}"), format!("{c:#?}"), format!("{p:?}")];
    let mut errors = Vec::new();
    p.fetch_bars(&aapl_january()).await.unwrap();
    let rotated = fake.refresh_token();
    fake.expire_access_tokens();
    p.fetch_bars(&aapl_january()).await.unwrap();
    for fault in [
        Fault::Status(500),
        Fault::Status(400),
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Fault::TruncatedJson,
        Fault::InvalidCandle,
        Fault::DuplicateCandle,
        Fault::OutOfOrderCandle,
        Fault::UnknownSymbol,
    ] {
        fake.fail_next(2, fault);
        errors.extend(p.fetch_bars(&aapl_january()).await.err());
        // Drain a leftover fault so each case starts clean.
        let _ = p.fetch_bars(&aapl_january()).await;
    }
    errors.extend(
        p.fetch_bars(&daily("NOPE", JAN_2024.0, JAN_2024.1))
            .await
            .err(),
    );
    fake.fail_next(4, Fault::Unauthorized);
    errors.extend(p.fetch_bars(&aapl_january()).await.err());
    fake.fail_next(10, Fault::Status(502));
    for _ in 0..3 {
        errors.extend(p.fetch_bars(&aapl_january()).await.err());
    }
    let mut wrong = config(&fake);
    wrong.client_secret = "SECRET-wrong-55aa".into();
    errors.extend(
        SchwabClient::new(&wrong)
            .unwrap()
            .fetch_bars(&aapl_january())
            .await
            .err(),
    );
    let mut bad = config(&fake);
    bad.refresh_token = "".into();
    errors.extend(SchwabClient::new(&bad).err());
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, ProviderError::CircuitOpen { .. }))
    );
    assert!(errors.iter().any(|e| matches!(e, ProviderError::Auth(_))));
    assert!(errors.len() >= 12, "{errors:?}");
    for e in &errors {
        outputs.push(format!("{e}"));
        outputs.push(format!("{e:?}"));
    }
    outputs.push(format!("{:?}", p.stats()));
    outputs.push(format!("{:?}", p.inner().refresh_token().await));

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "the logs were captured");
    outputs.push(logs);
    let all = outputs.join("\n");
    for secret in [
        "SECRET-",
        "fake-access-",
        rotated.as_str(),
        "fake-refresh-token-",
    ] {
        assert!(!all.contains(secret), "`{secret}` leaked:\n{all}");
    }
}
