//! Driving the `tradeassist` binary in black-box tests: a database in its own temporary
//! directory, no `./tradeassist.toml` and no `TRADEASSIST_*` settings leaking in.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A database in its own temporary directory, driven through the binary at `bin`
/// (pass `env!("CARGO_BIN_EXE_tradeassist")`).
pub struct Db {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    bin: PathBuf,
}

/// stdout and stderr of a run as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Db {
    pub fn new(bin: impl AsRef<Path>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cli.db");
        Db {
            dir,
            path,
            bin: bin.as_ref().to_path_buf(),
        }
    }

    /// `tradeassist --db DB ARGS...` in the temporary directory, without the caller's
    /// `TRADEASSIST_*` settings (add your own with `Command::env`).
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--db").arg(&self.path).args(args);
        cmd.current_dir(self.dir.path());
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("TRADEASSIST_") {
                cmd.env_remove(var);
            }
        }
        cmd
    }

    /// Run `tradeassist --db DB ARGS...` in the temporary directory.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().expect("run tradeassist")
    }

    /// Run, assert success, return (stdout, stderr).
    pub fn ok<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        assert!(
            out.status.success(),
            "tradeassist {args:?} failed ({}):\n{stderr}",
            out.status
        );
        (stdout, stderr)
    }

    /// Run, assert an orderly failure (exit code 1, not a panic's 101) with a message on
    /// stderr; return stderr.
    pub fn fails<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = texts(&out);
        assert!(
            !out.status.success(),
            "tradeassist {args:?} should fail; stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert_ne!(
            out.status.code(),
            Some(101),
            "tradeassist {args:?} panicked:\n{stderr}"
        );
        assert!(
            !stderr.trim().is_empty(),
            "no message for a failure of {args:?}"
        );
        stderr
    }

    /// `tradeassist import EXTRA... FILE`, asserting success; returns stderr.
    pub fn import(&self, extra: &[&str], file: &Path) -> String {
        let mut args: Vec<String> = vec!["import".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(file.display().to_string());
        self.ok(&args).1
    }

    /// Write a file into the temporary directory; returns its path as text.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write fixture");
        path.display().to_string()
    }
}
