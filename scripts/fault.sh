#!/usr/bin/env bash
# Fault tests (bounded, loopback only; PostgreSQL on 127.0.0.1:5432; root, for the tmpfs
# mounts): an import dying at a fail point before its commit (SQLite through the CLI, both
# backends through the store), a full and a read-only file system under the SQLite database,
# PostgreSQL lost under a running server (fast 503, recovery without a restart), a private
# Redis killed under load (0 failed requests). Prints each test's figures and PASS/FAIL.
# The same tests run in `scripts/test.sh`. Usage: bash scripts/fault.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo nextest run --workspace --no-fail-fast --success-output final \
    -E 'binary(faults) | binary(cache_redis) | binary(crash)'; then
  echo "fault tests: PASS"
else
  echo "fault tests: FAIL"
  exit 1
fi
