//! The benchmark commands at toy sizes: each runs to its end, prints its figures and verdicts,
//! and the checks it makes itself (export files read back against `fetch`, no failed request
//! under load) hold. Speed is not asserted here: the benchmarks measure it on demand.

use tradeassist_testkit::cli::Db;

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

/// stdout of a successful `tradeassist ARGS` (PostgreSQL at the test URL).
fn bench(args: &[&str]) -> String {
    let db = Db::new(BIN);
    let out = db
        .command(args)
        .env(
            "TRADEASSIST_POSTGRES__URL",
            std::env::var("TRADEASSIST_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn bench_export_reads_both_files_back_equal_to_fetch() {
    let out = bench(&["bench", "export", "--symbols", "2", "--days", "3"]);
    for format in ["csv", "parquet"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("sqlite: {format} read back:")))
            .unwrap_or_else(|| panic!("no {format} read-back line:\n{out}"));
        assert!(line.ends_with("PASS"), "{line}");
        assert!(
            out.contains(&format!("`tradeassist export --format {format}`")),
            "{out}"
        );
    }
    assert!(out.contains("peak RSS"), "{out}");
}

#[test]
fn bench_ingest_and_query_cover_both_backends() {
    let ingest = bench(&["bench", "ingest", "--symbols", "2", "--days", "2"]);
    for backend in ["sqlite", "postgres"] {
        assert!(
            ingest.contains(&format!("{backend}: ingest 5760 bars")),
            "{ingest}"
        );
    }
    assert!(ingest.contains("tradeassist import"), "{ingest}");
    let query = bench(&["bench", "query", "--symbols", "2", "--days", "2"]);
    assert_eq!(
        query.matches("1 year of 1d p50 target").count(),
        2,
        "{query}"
    );
    assert!(query.contains("naive SQL aggregate"), "{query}");
}

#[test]
fn bench_serve_runs_the_mix_without_errors() {
    let out = bench(&[
        "bench",
        "serve",
        "--symbols",
        "10",
        "--days",
        "2",
        "--per-client",
        "1",
        "--per-client-uncached",
        "1",
    ]);
    assert!(out.contains("targets: cached p99 at 200 clients"), "{out}");
    assert!(out.contains("errors 0 (0)"), "{out}");
}

#[test]
fn bench_soak_sends_mixed_load_without_a_failed_request() {
    let db = Db::new(BIN);
    let out = db
        .command(&[
            "bench",
            "soak",
            "--seconds",
            "4",
            "--days",
            "2",
            "--clients",
            "4",
            "--load",
            "0.5",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The verdict also weighs RSS growth and whether the server kept up with the offered load,
    // which a 4-second run beside other tests cannot judge: look at failed requests.
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("soak: "))
        .unwrap_or_else(|| {
            panic!(
                "no summary:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(summary.contains(" 0 errors (0)"), "{summary}");
    assert!(summary.contains("server alive"), "{summary}");
    assert!(stdout.contains("capacity "), "{stdout}");
}
