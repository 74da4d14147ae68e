//! Crash safety: a process that dies after writing every row of a large ingest but before its
//! commit leaves none of it, and running the ingest again gives the same rows as an
//! uninterrupted one, twice.
//!
//! The ingest runs in `ingest_crash_helper` (src/bin) with the fail point
//! `TRADEASSIST_FAILPOINT=ingest_before_commit`, which aborts the process right before the
//! commit: deterministic, unlike killing it after a timer.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use common::*;
use tradeassist_model::{Bar, Resolution, TimeRange};
use tradeassist_store::{BarQuery, Store};

const HELPER: &str = env!("CARGO_BIN_EXE_ingest_crash_helper");
const SYMBOLS: [&str; 4] = ["SPY", "QQQ", "IWM", "AAPL"];

/// Run the helper with the fail point before its commit: it must die there (SIGABRT, the
/// process stopped as by `kill -9`: no rollback, no destructor), having written every row.
fn die_before_commit(args: &[&str]) {
    let out = Command::new(HELPER)
        .args(args)
        .env("TRADEASSIST_FAILPOINT", "ingest_before_commit")
        .output()
        .expect("run helper");
    assert_eq!(
        out.status.signal(),
        Some(6),
        "the helper did not die at the fail point: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("fail point ingest_before_commit"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("committed"));
}

/// Run the helper to completion.
fn ingest_fully(args: &[&str], bars: usize) {
    let out = Command::new(HELPER)
        .args(args)
        .output()
        .expect("run helper");
    assert!(
        out.status.success(),
        "helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("committed {bars}")));
}

/// All bars of the helper's symbols, or `None` per symbol that is not stored.
async fn contents<S: Store>(store: &S) -> Vec<Option<Vec<Bar>>> {
    let mut out = Vec::new();
    for symbol in SYMBOLS {
        let Some(i) = store.instrument(symbol).await.unwrap() else {
            out.push(None);
            continue;
        };
        let q = BarQuery {
            instrument_id: i.id,
            resolution: Resolution::Minute,
            range: TimeRange::new(0, i64::MAX).unwrap(),
            last: None,
            max_rows: usize::MAX,
        };
        out.push(Some(store.read_bars(q).await.unwrap()));
    }
    out
}

/// The state after the crash: nothing of the batch.
fn assert_nothing(after_crash: &[Option<Vec<Bar>>]) {
    let counts: Vec<_> = after_crash
        .iter()
        .map(|s| s.as_ref().map(Vec::len))
        .collect();
    assert!(
        counts.iter().all(|c| c.unwrap_or(0) == 0),
        "rows of the uncommitted batch survived the crash: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dead_before_commit_keeps_nothing() {
    const BARS: usize = 400_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let path = db.to_str().unwrap();
    let n = BARS.to_string();
    die_before_commit(&["sqlite", path, &n]);

    let check = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = check
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(check);
    let store = tradeassist_store::sqlite::SqliteStore::open(&db)
        .await
        .unwrap();
    let after_kill = contents(&store).await;
    drop(store);

    ingest_fully(&["sqlite", path, &n], BARS);
    let store = tradeassist_store::sqlite::SqliteStore::open(&db)
        .await
        .unwrap();
    let first = contents(&store).await;
    assert_eq!(first.iter().flatten().map(Vec::len).sum::<usize>(), BARS);
    assert_nothing(&after_kill);
    drop(store);

    ingest_fully(&["sqlite", path, &n], BARS);
    let store = tradeassist_store::sqlite::SqliteStore::open(&db)
        .await
        .unwrap();
    let again = contents(&store).await;
    assert_eq!(again, first, "re-running the ingest changed rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dead_before_commit_keeps_nothing() {
    const BARS: usize = 200_000;
    let h = postgres().await;
    let url = pg_url();
    let schema = h.store.schema().to_string();
    let n = BARS.to_string();
    die_before_commit(&["postgres", &url, &schema, &n]);
    // The dead client's backend may still be finishing its statement; whatever it did is
    // invisible until it commits, and it can no longer commit.
    let after_kill = contents(&h.store).await;

    ingest_fully(&["postgres", &url, &schema, &n], BARS);
    let first = contents(&h.store).await;
    assert_eq!(first.iter().flatten().map(Vec::len).sum::<usize>(), BARS);
    assert_nothing(&after_kill);

    ingest_fully(&["postgres", &url, &schema, &n], BARS);
    assert_eq!(
        contents(&h.store).await,
        first,
        "re-running the ingest changed rows"
    );
}
