#!/usr/bin/env bash
# Soak test: the release binary's `bench soak` — generated data, `tradeassist serve` as a child
# process on loopback, mixed load (fetches of every kind, an export, gaps, indicators,
# instruments) at 70 % of the capacity it measures first, for MINUTES (default 10). Prints
# requests, errors, p50/p99 and the server's RSS per minute, then PASS when no request failed
# and the RSS grew less than 10 %. Usage: bash scripts/soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
cargo build --release --quiet -p tradeassist-server --bin tradeassist
exec target/release/tradeassist bench soak --minutes "$minutes"
