#!/usr/bin/env bash
# Aggregation throughput of tradeassist-engine against Polars group_by_dynamic.
#
# Generates 10 symbols x 1 year of 1-minute bars once (target/bench-aggregate/bars.csv),
# aggregates them to 5m / 1h / 1d with the engine (cargo bench, release build) and with
# Polars in a local venv (target/.venv-bench), and prints rows/s and the ratio per timeframe.
# Parsing (and the engine's input checks) are excluded on both sides; both keep the best of 7
# runs. The engine is measured from rows (&[Bar]) and from columns (BarColumns), on one thread
# and with the symbols split over two threads; Polars uses its whole thread pool. Load on the
# machine moves both sides: `uptime` is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/bench-aggregate
venv=target/.venv-bench
mkdir -p "$out"
export BENCH_DATA="$PWD/$out/bars.csv"

if ! "$venv/bin/python" -c 'import polars, pyarrow' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check polars pyarrow
fi

uptime
cargo bench -p tradeassist-engine --bench aggregate | tee "$out/engine.txt"
"$venv/bin/python" scripts/bench_aggregate_polars.py "$BENCH_DATA" "$out/engine.txt"
uptime
