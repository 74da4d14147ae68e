//! `tradeassist maintain ...` over real data: statistics, vacuum, retention, a Parquet archive
//! and its restore (the same rows back), query plans on PostgreSQL, and clear refusals.

use tradeassist_testkit::cli::Db;
use tradeassist_testkit::demo_data_dir;

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

/// Stored bars (all, and those before `ts`).
fn counts(db: &Db, before: i64) -> (i64, i64) {
    let c = rusqlite::Connection::open(&db.path).unwrap();
    let all = c
        .query_row("SELECT count(*) FROM bars", [], |r| r.get(0))
        .unwrap();
    let old = c
        .query_row("SELECT count(*) FROM bars WHERE ts < ?1", [before], |r| {
            r.get(0)
        })
        .unwrap();
    (all, old)
}

fn daily(db: &Db) {
    db.import(
        &[],
        &demo_data_dir().join("us_equity_daily_lean_sample.csv"),
    );
}

const Y2005: i64 = 1_104_537_600; // 2005-01-01
const Y2000: i64 = 946_684_800; // 2000-01-01

#[test]
fn archive_restore_retention_and_statistics_on_sqlite() {
    let db = Db::new(BIN);
    daily(&db);
    let (all, old) = counts(&db, Y2005);
    assert!(old > 1_000 && all > old, "{all} {old}");

    assert!(
        db.ok(&["maintain", "analyze"])
            .1
            .contains("statistics refreshed")
    );
    assert!(
        db.ok(&["maintain", "optimize"])
            .1
            .contains("database optimized")
    );

    let dir = db.dir.path().join("archive");
    let to = dir.display().to_string();
    let (files, said) = db.ok(&["maintain", "archive", "--before", "2005-01-01", "--to", &to]);
    assert!(said.contains(&format!("{old} bars archived")), "{said}");
    assert!(
        files.lines().count() >= 1 && files.lines().all(|f| f.ends_with(".parquet")),
        "{files}"
    );
    assert_eq!(counts(&db, Y2005), (all - old, 0));

    let said = db.ok(&["maintain", "restore", &to]).1;
    assert!(said.contains(&format!("{old} bars restored")), "{said}");
    assert_eq!(counts(&db, Y2005), (all, old));

    let (_, before_2000) = counts(&db, Y2000);
    let said = db
        .ok(&["maintain", "retention", "--older-than", "2000-01-01"])
        .1;
    assert!(
        said.contains(&format!("{before_2000} bars older than")),
        "{said}"
    );
    assert_eq!(counts(&db, Y2000), (all - before_2000, 0));

    // Refusals change nothing.
    let now = counts(&db, Y2005);
    assert!(
        db.fails(&["maintain", "retention", "--older-than", "yesterday"])
            .contains("--older-than")
    );
    assert!(
        db.fails(&["maintain", "restore", "/nonexistent/archive"])
            .contains("is not a directory")
    );
    assert!(
        db.fails(&["maintain", "explain"])
            .contains("PostgreSQL plans")
    );
    assert_eq!(counts(&db, Y2005), now);
}

#[test]
fn explain_prints_the_plans_of_the_hot_queries_on_postgresql() {
    let schema = format!("ta_maintain_{}", std::process::id());
    let url = std::env::var("TRADEASSIST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = Db::new(BIN);
    let run = |args: &[&str]| {
        db.command(args)
            .env("TRADEASSIST_STORE", "postgres")
            .env("TRADEASSIST_POSTGRES__URL", &url)
            .env("TRADEASSIST_POSTGRES__SCHEMA", &schema)
            .output()
            .unwrap()
    };
    let file = demo_data_dir().join("us_equity_daily_lean_sample.csv");
    let import = run(&["import", file.to_str().unwrap()]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let plans = run(&["maintain", "explain", "--symbol", "AAPL"]);
    let text = String::from_utf8_lossy(&plans.stdout);
    assert!(
        plans.status.success(),
        "{}",
        String::from_utf8_lossy(&plans.stderr)
    );
    assert!(text.starts_with("# AAPL 1d "), "{text}");
    assert!(
        text.matches("\n## ").count() + usize::from(text.contains("## ")) >= 2,
        "{text}"
    );
    assert!(text.contains("Index"), "plans use the primary key:\n{text}");
    let unknown = run(&["maintain", "explain", "--symbol", "NOPE"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown symbol NOPE"));
    let analyze = run(&["maintain", "analyze"]);
    assert!(analyze.status.success());
    let drop = std::process::Command::new("psql")
        .args([&url, "-qc", &format!("DROP SCHEMA {schema} CASCADE")])
        .output()
        .unwrap();
    assert!(
        drop.status.success(),
        "{}",
        String::from_utf8_lossy(&drop.stderr)
    );
}
