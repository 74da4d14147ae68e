//! Fail points for crash tests. With `TRADEASSIST_FAILPOINT=NAME` in its environment the
//! process aborts when it reaches the point `NAME`, as `kill -9` would stop it there: no
//! destructor runs, no transaction is rolled back or committed, nothing is flushed. Points:
//! `ingest_before_commit` (an ingest has written every row of its transaction but not committed).

use std::sync::OnceLock;

/// Aborts the process when `name` is the configured fail point.
pub fn hit(name: &str) {
    static CHOSEN: OnceLock<Option<String>> = OnceLock::new();
    let chosen = CHOSEN.get_or_init(|| std::env::var("TRADEASSIST_FAILPOINT").ok());
    if chosen.as_deref() == Some(name) {
        eprintln!("fail point {name}: aborting the process");
        std::process::abort();
    }
}
