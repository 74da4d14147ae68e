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
# The Rust tests, last. With cargo-llvm-cov (`.ci/run` installs it) they run once, instrumented
# (server processes the tests start included): the workspace's line coverage is printed and
# the run fails under 90 %. TRADEASSIST_COVERAGE=0 runs them plain.
if command -v cargo-llvm-cov >/dev/null && [ "${TRADEASSIST_COVERAGE:-1}" != 0 ]; then
  cargo llvm-cov nextest --workspace --no-fail-fast --no-report
  cargo llvm-cov report --summary-only --fail-under-lines 90 >target/coverage-summary.txt || {
    cat target/coverage-summary.txt
    echo "coverage: FAIL (line coverage under 90 %)"
    exit 1
  }
  grep '^TOTAL' target/coverage-summary.txt |
    awk '{ print "coverage: lines " $10 " (" $8 " lines, " $9 " missed; >= 90 %), regions " $4 ", functions " $7 }'
else
  cargo nextest run --workspace --no-fail-fast
fi
