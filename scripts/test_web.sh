#!/usr/bin/env bash
# Tests of the web UI (web/): API types against the OpenAPI document, typecheck, Vitest
# component tests, production build, then end-to-end tests in headless Chromium against the
# real server (debug build, demo data, temporary database, free port). Needs Node 20.19+ and
# Debian's chromium (`.ci/run` installs it). Screenshots: web/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

(
  cd web
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent api:check
  npm run --silent typecheck
  npm run --silent test:coverage
  npm run --silent build -- --logLevel warn
)

cargo build --quiet -p tradeassist-server --bin tradeassist
. scripts/demo_server.sh
start_demo_server

BASE_URL="http://127.0.0.1:$port" node web/e2e/run.mjs
