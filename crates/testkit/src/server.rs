//! The real `tradeassist serve` process in black-box tests: its own temporary database and
//! working directory, no `TRADEASSIST_*` settings leaking in, stderr (the log) captured to a
//! file, killed when dropped. Use it where the process itself matters: its log subscriber, the
//! global metrics recorder, its configuration.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `tradeassist serve`.
pub struct Server {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The process's stderr.
    pub log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Start `BIN --db TMP serve --listen 127.0.0.1:0 ARGS...` with `env` added (and
    /// `TRADEASSIST_AUTH=open` unless `env` sets it), and wait (up
    /// to 5 minutes: `--demo` imports first) until it says where it listens.
    pub fn start<S: AsRef<OsStr>>(
        bin: impl AsRef<Path>,
        args: &[S],
        env: &[(&str, &str)],
    ) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr.log");
        let mut cmd = Command::new(bin.as_ref());
        cmd.arg("--db")
            .arg(dir.path().join("server.db"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("TRADEASSIST_") {
                cmd.env_remove(var);
            }
        }
        // Open mode unless the test sets TRADEASSIST_AUTH itself (the tests of tokens do).
        cmd.env("TRADEASSIST_AUTH", "open");
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start tradeassist serve");
        let deadline = Instant::now() + Duration::from_secs(300);
        let url = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().expect("address");
                break format!("http://{addr}");
            }
            if let Some(status) = child.try_wait().expect("poll child") {
                panic!("tradeassist serve exited ({status}) before listening:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "tradeassist serve did not listen in time:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Server {
            url,
            log,
            child,
            _dir: dir,
        }
    }

    /// URL of any path of the server (e.g. `"/metrics"`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// URL of a REST endpoint, `path` relative to `/api/v1/historical-data/`.
    pub fn api(&self, path: &str) -> String {
        format!(
            "{}/api/v1/historical-data/{}",
            self.url,
            path.trim_start_matches('/')
        )
    }

    /// Everything the process has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).expect("read log")
    }
}

impl Drop for Server {
    /// SIGTERM first (the server finishes and exits, writing e.g. coverage data), SIGKILL
    /// after 5 s.
    fn drop(&mut self) {
        tradeassist_server::child::terminate(&mut self.child, Duration::from_secs(5));
    }
}
