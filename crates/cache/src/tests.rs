use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

fn bars(instrument: i64, start: i64, end: i64) -> Dependency {
    Dependency::Bars {
        instrument,
        span: Span::new(start, end),
    }
}

fn change(seq: i64, instrument: i64, root: Option<&str>, kind: ChangeKind, span: Span) -> Change {
    Change {
        seq,
        instrument,
        root: root.map(str::to_string),
        kind,
        span,
    }
}

async fn put(cache: &ResponseCache, key: &str, body: &[u8], deps: Vec<Dependency>, closed: bool) {
    let body = body.to_vec();
    cache
        .get_or_compute(key, cache.applied_seq(), async move {
            Ok::<_, ()>(Entry::new(body, deps, closed))
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn open_entries_expire_after_their_short_ttl_closed_ones_stay() {
    let cache = ResponseCache::new(CacheConfig {
        ttl_open: Duration::from_millis(100),
        ..CacheConfig::default()
    });
    put(&cache, "open", b"1", vec![], false).await;
    put(&cache, "closed", b"2", vec![], true).await;
    assert!(cache.peek("open").await.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        cache.peek("open").await.is_none(),
        "the open entry outlived its TTL"
    );
    assert!(cache.peek("closed").await.is_some());
}

#[tokio::test]
async fn the_byte_bound_holds() {
    let cache = ResponseCache::new(CacheConfig {
        max_bytes: 20_000,
        ..CacheConfig::default()
    });
    for i in 0..100 {
        put(&cache, &format!("k{i}"), &[b'x'; 1000], vec![], true).await;
    }
    let size = cache.weighted_size().await;
    let count = cache.entry_count().await;
    assert!(size <= 20_000, "held {size} bytes");
    assert!(count > 5 && count < 100, "held {count} entries");
}

#[tokio::test]
async fn invalidation_evicts_exactly_the_overlapping_entries() {
    let cache = ResponseCache::new(CacheConfig::default());
    put(&cache, "x-jan", b"a", vec![bars(1, 0, 100)], true).await;
    put(&cache, "x-feb", b"b", vec![bars(1, 100, 200)], true).await;
    put(&cache, "y-jan", b"c", vec![bars(2, 0, 100)], true).await;
    put(
        &cache,
        "es-cont",
        b"d",
        vec![Dependency::Root {
            root: "ES".into(),
            span: Span::new(0, 100),
        }],
        true,
    )
    .await;
    put(
        &cache,
        "nq-cont",
        b"e",
        vec![Dependency::Root {
            root: "NQ".into(),
            span: Span::new(0, 100),
        }],
        true,
    )
    .await;
    put(
        &cache,
        "x-adj",
        b"f",
        vec![bars(1, 100, 200), Dependency::Factors { instrument: 1 }],
        true,
    )
    .await;
    // Bars of instrument 1 in [50, 60): x-jan only (half-open: x-feb starts at 100).
    assert_eq!(
        cache
            .apply(&[change(1, 1, None, ChangeKind::Bars, Span::new(50, 60))])
            .await,
        1
    );
    assert!(cache.peek("x-jan").await.is_none());
    for k in ["x-feb", "y-jan", "es-cont", "nq-cont", "x-adj"] {
        assert!(cache.peek(k).await.is_some(), "{k} was evicted");
    }
    // A contract of ES (instrument 9, not known to the entry) in [90, 95): the ES series.
    assert_eq!(
        cache
            .apply(&[change(
                2,
                9,
                Some("ES"),
                ChangeKind::Bars,
                Span::new(90, 95)
            )])
            .await,
        1
    );
    assert!(cache.peek("es-cont").await.is_none());
    assert!(cache.peek("nq-cont").await.is_some());
    // New factors of instrument 1: the adjusted entry only.
    assert_eq!(
        cache
            .apply(&[change(3, 1, None, ChangeKind::Factors, Span::ALL)])
            .await,
        1
    );
    assert!(cache.peek("x-adj").await.is_none());
    assert!(cache.peek("x-feb").await.is_some());
    // Re-applying an old change does nothing.
    assert_eq!(
        cache
            .apply(&[change(1, 1, None, ChangeKind::Bars, Span::ALL)])
            .await,
        0
    );
    assert!(cache.peek("x-feb").await.is_some());
    // A definition change of instrument 1: everything of it.
    assert_eq!(
        cache
            .apply(&[change(4, 1, None, ChangeKind::Instrument, Span::ALL)])
            .await,
        1
    );
    assert!(cache.peek("y-jan").await.is_some());
}

#[tokio::test]
async fn an_answer_computed_before_a_change_is_not_served_after_it() {
    let cache = Arc::new(ResponseCache::new(CacheConfig::default()));
    let seq = cache.applied_seq();
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel::<()>();
    let c2 = cache.clone();
    // A computation that read the old data and finishes after the change was applied.
    let slow = tokio::spawn(async move {
        c2.get_or_compute("k", seq, async move {
            gate_rx.await.ok();
            Ok::<_, ()>(Entry::new(b"old".to_vec(), vec![bars(1, 0, 10)], true))
        })
        .await
        .unwrap()
    });
    tokio::task::yield_now().await;
    cache
        .apply(&[change(1, 1, None, ChangeKind::Bars, Span::new(5, 6))])
        .await;
    gate_tx.send(()).unwrap();
    assert_eq!(slow.await.unwrap().0.body(), b"old");
    let (e, source) = cache
        .get_or_compute("k", cache.applied_seq(), async {
            Ok::<_, ()>(Entry::new(b"new".to_vec(), vec![bars(1, 0, 10)], true))
        })
        .await
        .unwrap();
    assert_eq!((e.body(), source), (&b"new"[..], Source::Computed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_misses_compute_once() {
    let cache = Arc::new(ResponseCache::new(CacheConfig::default()));
    let runs = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (cache, runs, barrier) = (cache.clone(), runs.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let (_, source) = cache
                    .get_or_compute("same", 0, async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>(Entry::new(b"v".to_vec(), vec![], true))
                    })
                    .await
                    .unwrap();
                source
            })
        })
        .collect();
    let mut sources = Vec::new();
    for t in tasks {
        sources.push(t.await.unwrap());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        sources.iter().filter(|s| **s == Source::Computed).count(),
        1
    );
    assert!(
        sources
            .iter()
            .all(|s| matches!(s, Source::Computed | Source::Waited | Source::L1))
    );
}

#[tokio::test]
async fn errors_are_not_cached() {
    let cache = ResponseCache::new(CacheConfig::default());
    let e = cache
        .get_or_compute("k", 0, async { Err::<Entry, _>("boom") })
        .await
        .unwrap_err();
    assert_eq!(*e, "boom");
    assert!(cache.peek("k").await.is_none());
}

#[test]
fn etags_differ_for_different_bytes() {
    assert_eq!(etag_of(b"a"), etag_of(b"a"));
    assert_ne!(etag_of(b"a"), etag_of(b"b"));
    assert!(etag_of(b"").starts_with('"'));
}
