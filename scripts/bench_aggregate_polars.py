"""Polars side of scripts/bench_aggregate.sh: the same OHLCV + VWAP aggregation with
group_by_dynamic on the same CSV the engine bench reads, then the engine/Polars ratio for
each engine configuration (rows or columns input, one or two threads).

usage: bench_aggregate_polars.py BARS_CSV ENGINE_RESULTS
ENGINE_RESULTS holds the engine bench's `<KIND>,<tf>,<rows>,<seconds>` lines.
"""

import sys
import time

import polars as pl

# Polars buckets by UTC offset, not by trading session: 1d uses a fixed -2h offset
# (22:00 UTC, the Globex open in CDT), which ignores DST; 5m/1h align to the clock.
FREQS = {"5m": ("5m", "0m"), "1h": ("1h", "0m"), "1d": ("1d", "-2h")}


# Engine result kinds (scripts/bench_aggregate.sh): input layout x threads.
KINDS = {
    "ENGINE": "rows, 1 thread",
    "ENGINE2": "rows, 2 threads",
    "COLUMNS": "columns, 1 thread",
    "COLUMNS2": "columns, 2 threads",
}
# Timed repetitions, best kept: the same number as the engine bench (RUNS).
RUNS = 7
TARGET = 10.0


def main() -> None:
    data, engine_file = sys.argv[1], sys.argv[2]
    df = pl.read_csv(data, schema_overrides={"ts": pl.Int64}).with_columns(
        pl.from_epoch("ts", time_unit="s").dt.replace_time_zone("UTC").alias("ts")
    )
    df = df.sort(["symbol", "ts"])
    rows = df.height
    engine: dict[str, dict[str, float]] = {k: {} for k in KINDS}
    for line in open(engine_file):
        kind, _, rest = line.strip().partition(",")
        if kind in KINDS:
            tf, n, secs = rest.split(",")
            engine[kind][tf] = int(n) / float(secs)
    print(f"{rows} rows, {df['symbol'].n_unique()} symbols, polars {pl.__version__}, "
          f"threads {pl.thread_pool_size()}, best of {RUNS}")
    print(f"{'tf':>4} {'polars rows/s':>15}  " + "  ".join(f"{v:>27}" for v in KINDS.values()))
    verdict = []
    for tf, (every, offset) in FREQS.items():
        best = float("inf")
        for _ in range(RUNS):
            t = time.perf_counter()
            out = (
                df.group_by_dynamic(
                    "ts", every=every, offset=offset, group_by="symbol",
                    closed="left", label="left", start_by="window",
                )
                .agg(
                    pl.col("open").first(),
                    pl.col("high").max(),
                    pl.col("low").min(),
                    pl.col("close").last(),
                    pl.col("volume").sum(),
                    (((pl.col("high") + pl.col("low") + pl.col("close")) / 3 * pl.col("volume")).sum()
                     / pl.col("volume").sum()).alias("vwap"),
                )
            )
            best = min(best, time.perf_counter() - t)
        polars_rate = rows / best
        cells = []
        for kind in KINDS:
            e = engine[kind].get(tf)
            cells.append(f"{e:15,.0f} {e / polars_rate:7.1f}x" if e else f"{'n/a':>27}")
        print(f"{tf:>4} {polars_rate:15,.0f}  " + "  ".join(f"{c:>27}" for c in cells)
              + f"   ({out.height} polars bars)")
        best_kind = max(KINDS, key=lambda k: engine[k].get(tf, 0.0))
        ratio = engine[best_kind].get(tf, 0.0) / polars_rate
        verdict.append(f"{tf} {ratio:.1f}x ({KINDS[best_kind]})"
                       + ("" if ratio >= TARGET else f" BELOW {TARGET:.0f}x"))
    print("best engine/polars: " + ", ".join(verdict))


if __name__ == "__main__":
    main()
