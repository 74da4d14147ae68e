//! Crash safety: a process SIGKILLed in the middle of a large ingest leaves the whole batch or
//! none of it, and running the ingest again gives the same rows as an uninterrupted one.
//!
//! The ingest runs in `ingest_crash_helper` (src/bin), which prints `writing` once its
//! transaction has put data into the database; the test kills it as soon as it reads that line.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use common::*;
use tradeassist_model::{Bar, Resolution, TimeRange};
use tradeassist_store::{BarQuery, Store};

const HELPER: &str = env!("CARGO_BIN_EXE_ingest_crash_helper");
const SYMBOLS: [&str; 4] = ["SPY", "QQQ", "IWM", "AAPL"];

/// Run the helper and SIGKILL it once it reports writing; fails if it finished first.
fn kill_while_writing(args: &[&str]) {
    let mut child = Command::new(HELPER)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn helper");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .expect("helper said nothing")
        .expect("helper stdout");
    assert_eq!(
        first, "writing",
        "the ingest finished before it could be killed: use a larger batch"
    );
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "helper was not killed: {status:?}"
    );
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

/// The state after the kill: nothing at all, or exactly the full batch.
fn assert_all_or_nothing(after_kill: &[Option<Vec<Bar>>], full: &[Option<Vec<Bar>>]) {
    let nothing = after_kill.iter().all(Option::is_none);
    let whole = after_kill.len() == full.len()
        && after_kill.iter().zip(full).all(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => bits(a) == bits(b),
            _ => false,
        });
    let counts: Vec<_> = after_kill
        .iter()
        .map(|s| s.as_ref().map(Vec::len))
        .collect();
    assert!(
        nothing || whole,
        "partial batch after the crash: {counts:?}"
    );
    eprintln!(
        "after the kill the store held {}",
        if nothing {
            "nothing"
        } else {
            "the whole batch"
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_mid_ingest_keeps_all_or_nothing() {
    const BARS: usize = 1_500_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let path = db.to_str().unwrap();
    let n = BARS.to_string();
    kill_while_writing(&["sqlite", path, &n]);

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
    assert_all_or_nothing(&after_kill, &first);
    drop(store);

    ingest_fully(&["sqlite", path, &n], BARS);
    let store = tradeassist_store::sqlite::SqliteStore::open(&db)
        .await
        .unwrap();
    let again = contents(&store).await;
    assert_eq!(again, first, "re-running the ingest changed rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_copy_keeps_all_or_nothing() {
    const BARS: usize = 400_000;
    let h = postgres().await;
    let url = pg_url();
    let schema = h.store.schema().to_string();
    let n = BARS.to_string();
    kill_while_writing(&["postgres", &url, &schema, &n]);
    // The killed backend may still be finishing its statement; whatever it did is invisible
    // until it commits, and it can no longer commit.
    let after_kill = contents(&h.store).await;

    ingest_fully(&["postgres", &url, &schema, &n], BARS);
    let first = contents(&h.store).await;
    assert_eq!(first.iter().flatten().map(Vec::len).sum::<usize>(), BARS);
    assert_all_or_nothing(&after_kill, &first);

    ingest_fully(&["postgres", &url, &schema, &n], BARS);
    assert_eq!(
        contents(&h.store).await,
        first,
        "re-running the ingest changed rows"
    );
}
