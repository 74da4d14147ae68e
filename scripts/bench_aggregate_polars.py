"""Polars side of scripts/bench_aggregate.sh: the same OHLCV + VWAP aggregation with
group_by_dynamic on the same CSV the engine bench reads, then the engine/Polars ratio.

usage: bench_aggregate_polars.py BARS_CSV ENGINE_RESULTS
ENGINE_RESULTS holds the engine bench's `ENGINE,<tf>,<rows>,<seconds>` lines.
"""

import sys
import time

import polars as pl

# Polars buckets by UTC offset, not by trading session: 1d uses a fixed -2h offset
# (22:00 UTC, the Globex open in CDT), which ignores DST; 5m/1h align to the clock.
FREQS = {"5m": ("5m", "0m"), "1h": ("1h", "0m"), "1d": ("1d", "-2h")}


def main() -> None:
    data, engine_file = sys.argv[1], sys.argv[2]
    df = pl.read_csv(data, schema_overrides={"ts": pl.Int64}).with_columns(
        pl.from_epoch("ts", time_unit="s").dt.replace_time_zone("UTC").alias("ts")
    )
    df = df.sort(["symbol", "ts"])
    rows = df.height
    engine, engine2 = {}, {}
    for line in open(engine_file):
        kind, _, rest = line.strip().partition(",")
        if kind in ("ENGINE", "ENGINE2"):
            tf, n, secs = rest.split(",")
            (engine if kind == "ENGINE" else engine2)[tf] = int(n) / float(secs)
    print(f"{rows} rows, {df['symbol'].n_unique()} symbols, polars {pl.__version__}, "
          f"threads {pl.thread_pool_size()}")
    print(f"{'tf':>4} {'engine rows/s':>15} {'polars rows/s':>15} {'ratio':>8} "
          f"{'engine 2 thr':>15} {'ratio':>8}")
    for tf, (every, offset) in FREQS.items():
        best = float("inf")
        for _ in range(3):
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
        e = engine.get(tf)
        e2 = engine2.get(tf)
        ratio = f"{e / polars_rate:7.1f}x" if e else "n/a"
        ratio2 = f"{e2 / polars_rate:7.1f}x" if e2 else "n/a"
        print(f"{tf:>4} {e or 0:15,.0f} {polars_rate:15,.0f} {ratio:>8} {e2 or 0:15,.0f} {ratio2:>8}"
              f"   ({out.height} polars bars)")


if __name__ == "__main__":
    main()
