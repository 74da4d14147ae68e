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
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$root/target/debug/tradeassist" --db "$tmp/e2e.db" serve --demo --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the server exited:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "server not ready" >&2; cat "$tmp/server.log" >&2; exit 1; }

BASE_URL="http://127.0.0.1:$port" node web/e2e/run.mjs
