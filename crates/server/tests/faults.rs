//! Fault tests against the real binary: an import that dies before its commit, a full and a
//! read-only file system under the SQLite database, and PostgreSQL lost under a running server.
//! The file-system tests mount small tmpfs file systems (root, as on our machines and in CI).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradeassist_testkit::cli::Db;
use tradeassist_testkit::demo_data_dir;
use tradeassist_testkit::server::Server;

const BIN: &str = env!("CARGO_BIN_EXE_tradeassist");

fn demo(name: &str) -> String {
    demo_data_dir().join(name).display().to_string()
}

/// Every stored bar and instrument of the database, in order, as text.
fn rows(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut out: Vec<String> = c
        .prepare("SELECT symbol, asset_class FROM instruments ORDER BY symbol")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = c
        .prepare(
            "SELECT i.symbol, b.resolution, b.ts, b.open, b.high, b.low, b.close, b.volume
             FROM bars b JOIN instruments i ON i.id = b.instrument_id ORDER BY 1, 2, 3",
        )
        .unwrap();
    out.extend(
        stmt.query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, f64>(6)?,
                r.get::<_, f64>(7)?
            ))
        })
        .unwrap()
        .map(Result::unwrap),
    );
    out
}

#[test]
fn an_import_killed_before_its_commit_changes_nothing_and_a_rerun_matches_a_clean_import() {
    let db = Db::new(BIN);
    db.import(&[], Path::new(&demo("us_equity_daily_lean_sample.csv")));
    let before = rows(&db.path);
    let minutes = demo("us_1m_lean_sample.csv");

    let out = db
        .command(&["import", "--skip-invalid", &minutes])
        .env("TRADEASSIST_FAILPOINT", "ingest_before_commit")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(6),
        "the import did not die at the fail point: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&db.path), before, "the dead import left rows behind");

    db.import(&["--skip-invalid"], Path::new(&minutes));
    let after = rows(&db.path);
    assert!(after.len() > before.len() + 10_000);
    let clean = Db::new(BIN);
    clean.import(&[], Path::new(&demo("us_equity_daily_lean_sample.csv")));
    clean.import(&["--skip-invalid"], Path::new(&minutes));
    assert_eq!(
        after,
        rows(&clean.path),
        "re-import differs from a clean import"
    );
    db.import(&["--skip-invalid"], Path::new(&minutes));
    assert_eq!(rows(&db.path), after, "importing again changed rows");
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
struct Mount(tempfile::TempDir);

impl Mount {
    fn new(size: &str) -> Mount {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: the fault tests need root"
        );
        Mount(dir)
    }

    fn remount(&self, options: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.0.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// `tradeassist --db DB ARGS`; asserts an orderly failure and returns stderr.
/// (The minute sample holds 20 vendor rows with impossible prices: `--skip-invalid`.)
fn fails(db: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("TRADEASSIST_FAILPOINT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

fn ok(db: &Path, args: &[&str]) {
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_full_or_read_only_file_system_gives_a_clear_error_and_keeps_the_database() {
    let mount = Mount::new("32m");
    let db = mount.0.path().join("full.db");
    ok(&db, &["import", &demo("us_equity_daily_lean_sample.csv")]);
    let before = rows(&db);
    // Fill most of what is left, so the next import runs out of space mid-transaction.
    let free = fs_free(mount.0.path());
    std::fs::write(
        mount.0.path().join("ballast"),
        vec![0u8; free.saturating_sub(512 * 1024) as usize],
    )
    .unwrap();
    let err = fails(
        &db,
        &["import", "--skip-invalid", &demo("us_1m_lean_sample.csv")],
    );
    assert!(
        err.contains("full") || err.contains("space"),
        "no clear message for a full disk: {err}"
    );
    std::fs::remove_file(mount.0.path().join("ballast")).unwrap();
    assert_eq!(rows(&db), before, "a failed import left rows behind");
    // With space again the import goes through.
    ok(
        &db,
        &["import", "--skip-invalid", &demo("us_1m_lean_sample.csv")],
    );
    let after = rows(&db);
    assert!(after.len() > before.len());

    mount.remount("ro");
    let err = fails(&db, &["import", &demo("spy_1m_lean_sample.csv")]);
    assert!(
        err.contains("read-only") || err.contains("readonly") || err.contains("Read-only"),
        "no clear message for a read-only file system: {err}"
    );
    mount.remount("rw");
    assert_eq!(rows(&db), after, "the refused import changed rows");
}

/// Free bytes of the file system at `path` (`df`).
fn fs_free(path: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A TCP proxy to PostgreSQL on loopback that can be cut (listener closed, every connection
/// dropped) and restored on the same port.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(conn.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_lost_mid_run_gives_fast_503s_and_recovers_without_a_restart() {
    let schema = format!("ta_fault_{}", std::process::id());
    let direct = "postgres://postgres@127.0.0.1:5432/test";
    let import = std::process::Command::new(BIN)
        .args(["import", &demo("us_equity_daily_lean_sample.csv")])
        .env("TRADEASSIST_STORE", "postgres")
        .env("TRADEASSIST_POSTGRES__URL", direct)
        .env("TRADEASSIST_POSTGRES__SCHEMA", &schema)
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let proxy = Proxy::start().await;
    let url = format!("postgres://postgres@127.0.0.1:{}/test", proxy.port);
    let server = Server::start(
        BIN,
        &[] as &[&str],
        &[
            ("TRADEASSIST_STORE", "postgres"),
            ("TRADEASSIST_POSTGRES__URL", &url),
            ("TRADEASSIST_POSTGRES__SCHEMA", &schema),
            ("TRADEASSIST_CACHE__ENABLED", "false"),
        ],
    );
    let client = reqwest::Client::new();
    let fetch = server.api("fetch?symbols=AAPL&frequency=1w&start=2013-01-01&end=2013-12-31");
    let r = client.get(&fetch).send().await.unwrap();
    assert_eq!(r.status(), 200);

    proxy.cut();
    for _ in 0..5 {
        let t = Instant::now();
        let r = client.get(&fetch).send().await.unwrap();
        let took = t.elapsed();
        assert_eq!(r.status(), 503, "{}", r.text().await.unwrap());
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "store_unavailable");
        assert!(took < Duration::from_secs(3), "a 503 took {took:?}");
    }
    let ready = client.get(server.at("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = client.get(&fetch).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !server.log_text().contains("panicked"),
        "{}",
        server.log_text()
    );
    drop(server);
    let (c, conn) = tokio_postgres::connect(direct, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
}
