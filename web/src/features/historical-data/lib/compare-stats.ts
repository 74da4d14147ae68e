// Statistics of the compare view: normalised closes (100 at the first bar) and, per series,
// return, range, volatility and volume.
import type { Bar } from '@/lib/api-types';

export interface SeriesStats {
  bars: number;
  /** last close / first close - 1. */
  return: number | null;
  /** (highest high - lowest low) / first close. */
  range: number | null;
  high: number | null;
  low: number | null;
  /** Standard deviation of log returns between consecutive closes, per bar. */
  volatility: number | null;
  totalVolume: number;
  averageVolume: number | null;
}

function priced(bars: readonly Bar[]): Bar[] {
  return bars.filter((b) => b.close !== null && b.close !== undefined && b.close > 0);
}

/** Closes scaled so the first priced bar is 100. */
export function normalise(bars: readonly Bar[]): { ts: string; value: number }[] {
  const p = priced(bars);
  const base = p[0]?.close;
  if (!base) return [];
  return p.map((b) => ({ ts: b.ts, value: ((b.close as number) / base) * 100 }));
}

export function seriesStats(bars: readonly Bar[]): SeriesStats {
  const p = priced(bars);
  const totalVolume = bars.reduce((s, b) => s + b.volume, 0);
  const first = p[0]?.close ?? null;
  const last = p[p.length - 1]?.close ?? null;
  let high = -Infinity;
  let low = Infinity;
  for (const b of p) {
    high = Math.max(high, b.high ?? -Infinity);
    low = Math.min(low, b.low ?? Infinity);
  }
  const rets: number[] = [];
  for (let i = 1; i < p.length; i++) rets.push(Math.log((p[i]!.close as number) / (p[i - 1]!.close as number)));
  let volatility: number | null = null;
  if (rets.length >= 2) {
    const mean = rets.reduce((s, r) => s + r, 0) / rets.length;
    volatility = Math.sqrt(rets.reduce((s, r) => s + (r - mean) ** 2, 0) / (rets.length - 1));
  }
  return {
    bars: bars.length,
    return: first && last ? last / first - 1 : null,
    range: first && Number.isFinite(high) && Number.isFinite(low) ? (high - low) / first : null,
    high: Number.isFinite(high) ? high : null,
    low: Number.isFinite(low) ? low : null,
    volatility,
    totalVolume,
    averageVolume: bars.length ? totalVolume / bars.length : null,
  };
}
