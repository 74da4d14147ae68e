#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (CSV importer, timeframe/symbol/range parsers, the
# fetch request in both wire forms, WebSocket client messages) with cargo-fuzz (libFuzzer,
# nightly toolchain) for SECONDS each (default 60), then prints executions and crashes per
# target and PASS/FAIL. Crash inputs are kept in fuzz/artifacts/<target>/; turn each into a
# regression test. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
per_target="${1:-60}"
targets=(csv_import parsers fetch_request ws_message)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cd fuzz
# Release build with debug assertions (overflow checks) and no sanitizer: the targets are safe
# Rust, so panics, aborts, timeouts and out-of-memory are the findings.
flags=(-O -a -s none)
cargo +nightly fuzz build "${flags[@]}"
status=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  log=$(mktemp)
  # Seeds in seeds/<target>/ are read, new inputs go to corpus/<target>/.
  if cargo +nightly fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$per_target" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      >"$log" 2>&1; then
    ok=PASS
  else
    ok=FAIL
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
  [ "$crashes" -gt 0 ] && { ok=FAIL; status=1; tail -40 "$log"; }
  summary+=("$t: ${runs:-0} executions in ${per_target} s, $crashes crash(es): $ok")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
if [ "$status" -eq 0 ]; then echo "fuzz: PASS"; else echo "fuzz: FAIL"; fi
exit "$status"
