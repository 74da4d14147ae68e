#!/usr/bin/env bash
# API fuzzing: schemathesis (pinned, in a venv) against /api/openapi.json of the real server
# (debug build, demo data, open mode on loopback, temporary database, free port). Passes when
# there are 0 server errors, 0 undocumented status codes, 0 responses that break their schema
# and 0 wrong content types. Usage: bash scripts/api_fuzz.sh [MAX_EXAMPLES_PER_OPERATION]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
examples=${1:-30}
venv=${TRADEASSIST_VENV:-$root/target/venv-api-fuzz}

if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
cargo build --quiet -p tradeassist-server --bin tradeassist

. scripts/demo_server.sh
# Generous limits: the fuzzer sends bursts; the rate limits have their own tests.
start_demo_server TRADEASSIST_LIMITS__RATE_PER_IP_PER_MINUTE=0 TRADEASSIST_LOG=warn,audit=off

status=0
# From the temporary directory: schemathesis keeps its example database in the working directory.
(cd "$tmp" && "$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" --seed "${TRADEASSIST_FUZZ_SEED:-20261204}" --workers 2 --request-timeout 60 \
  --phases examples,coverage,fuzzing --no-color --suppress-health-check all \
  --report-dir "$tmp/report") || status=$?
if ! kill -0 "$server" 2>/dev/null; then
  echo "api fuzz: FAIL (the server died)" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
if grep -q "panicked" "$tmp/server.log"; then
  echo "api fuzz: FAIL (a handler panicked)" >&2
  grep -A3 "panicked" "$tmp/server.log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "api fuzz: FAIL (schemathesis exit $status)" >&2
  exit "$status"
fi
echo "api fuzz: PASS (0 server errors, 0 undocumented statuses, 0 schema violations)"
