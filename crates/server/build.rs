//! Builds the web UI (`web/`, React + Vite) with npm and embeds its `dist/` into the binary,
//! so `cargo run -p tradeassist-server -- serve` shows the UI on a fresh clone.
//!
//! - Runs `npm ci` when `web/node_modules` is missing or older than `package-lock.json`, then
//!   `npm run build` into `$OUT_DIR/web-dist`; reruns only when web sources change.
//! - Without npm on the PATH (or with `TRADEASSIST_SKIP_WEB=1`) the binary embeds a small
//!   placeholder page instead and cargo prints a warning: `cargo build` never needs Node.
//! - A failing npm build fails the cargo build, with npm's output.
//! - Sets `TRADEASSIST_GIT_SHA` for the build-info metric: the variable of that name when set
//!   (release pipelines), else `git rev-parse --short=12 HEAD` when git and a checkout are
//!   there, else `unknown`. Taken when the script runs (a fresh build, a web change); commits
//!   alone do not rerun it, since that would rebuild the web UI after every commit.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WATCHED: &[&str] = &[
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // Only existing paths: cargo reruns the script on every build for a missing one.
    for p in WATCHED.iter().map(|p| web.join(p)).filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-env-changed=TRADEASSIST_SKIP_WEB");
    println!("cargo:rerun-if-env-changed=TRADEASSIST_GIT_SHA");
    println!("cargo:rustc-env=TRADEASSIST_GIT_SHA={}", git_sha(&manifest));

    let dist = out.join("web-dist");
    let built = if env::var_os("TRADEASSIST_SKIP_WEB").is_some_and(|v| v == "1") {
        println!(
            "cargo:warning=TRADEASSIST_SKIP_WEB=1: the web UI is not built; `/` serves a placeholder"
        );
        false
    } else if !web.join("package.json").exists() {
        println!("cargo:warning=web/ not found: `/` serves a placeholder");
        false
    } else if !npm_available() {
        println!(
            "cargo:warning=npm not found: the web UI is not built; install Node.js 20.19+ and rebuild to serve it"
        );
        false
    } else {
        build_web(&web, &dist);
        true
    };
    generate(&out, built.then_some(dist.as_path()));
}

fn git_sha(dir: &Path) -> String {
    if let Some(sha) = env::var("TRADEASSIST_GIT_SHA")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return sha;
    }
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".into())
}

fn npm() -> Command {
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

fn npm_available() -> bool {
    npm()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn run(mut cmd: Command, what: &str) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start npm: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn build_web(web: &Path, dist: &Path) {
    let stamp = web.join("node_modules/.package-lock.json");
    let stale = match (modified(&stamp), modified(&web.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    };
    if stale {
        let mut cmd = npm();
        cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(web);
        run(cmd, "npm ci (web/)");
    }
    let mut cmd = npm();
    cmd.args(["run", "build"])
        .current_dir(web)
        .env("TRADEASSIST_WEB_OUT", dist);
    run(cmd, "npm run build (web/)");
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).expect("under dist");
            let url = format!(
                "/{}",
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            );
            out.push((url, p));
        }
    }
}

fn gzip(bytes: &[u8], to: &Path) {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip");
    fs::write(to, enc.finish().expect("gzip")).expect("write gzip");
}

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>TradeAssist Historical Data</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>TradeAssist Historical Data</h1>
<p>The web UI was not built into this binary (npm was not available when it was compiled, or
<code>TRADEASSIST_SKIP_WEB=1</code>). Install Node.js 20.19+ and rebuild to get it.
<a href="/api/docs/">API documentation</a> &middot; <a href="/api/openapi.json">OpenAPI document</a></p>
<!--tradeassist:instruments-->
</body></html>
"#;

fn generate(out: &Path, dist: Option<&Path>) {
    let mut code = String::from("// Generated by build.rs: the embedded web UI.\n");
    let gz_dir = out.join("web-gz");
    fs::create_dir_all(&gz_dir).expect("create web-gz");
    match dist {
        Some(dist) => {
            let index = dist.join("index.html");
            assert!(index.exists(), "the web build wrote no index.html");
            writeln!(
                code,
                "#[allow(dead_code)]\npub const BUILT: bool = true;\npub const INDEX_HTML: &str = include_str!({:?});",
                index.display().to_string()
            )
            .unwrap();
            let mut list = Vec::new();
            files(dist, dist, &mut list);
            code.push_str("pub static ASSETS: &[Asset] = &[\n");
            for (i, (url, path)) in list.iter().enumerate() {
                if url == "/index.html" {
                    continue;
                }
                let bytes = fs::read(path).expect("read asset");
                let compressible = mime(url).starts_with("text/")
                    || url.ends_with(".json")
                    || url.ends_with(".svg");
                let gz = if compressible && bytes.len() > 1024 {
                    let to = gz_dir.join(format!("{i}.gz"));
                    gzip(&bytes, &to);
                    format!("Some(include_bytes!({:?}))", to.display().to_string())
                } else {
                    "None".into()
                };
                writeln!(
                    code,
                    "    Asset {{ path: {url:?}, mime: {:?}, body: include_bytes!({:?}), gzip: {gz} }},",
                    mime(url),
                    path.display().to_string()
                )
                .unwrap();
            }
            code.push_str("];\n");
        }
        None => {
            writeln!(
                code,
                "#[allow(dead_code)]\npub const BUILT: bool = false;\npub const INDEX_HTML: &str = {PLACEHOLDER:?};\npub static ASSETS: &[Asset] = &[];"
            )
            .unwrap();
        }
    }
    fs::write(out.join("web_assets.rs"), code).expect("write web_assets.rs");
}
