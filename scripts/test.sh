#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit/property/conformance/black-box tests
# and doc tests. Needs PostgreSQL on 127.0.0.1:5432 (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --doc --quiet
# Web UI: typecheck, component tests, build, browser end-to-end tests.
bash scripts/test_web.sh
# API fuzzing: schemathesis against the OpenAPI document of the running server.
bash scripts/api_fuzz.sh 50
# Last, so its summary line is the run's closing line.
cargo nextest run --workspace --no-fail-fast
