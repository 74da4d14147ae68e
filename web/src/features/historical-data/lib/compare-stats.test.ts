import type { Bar } from '@/lib/api-types';

import { normalise, seriesStats } from './compare-stats';

const mk = (close: number, high: number, low: number, volume: number): Bar => ({ ts: `t${close}`, open: close, high, low, close, volume, vwap: close, complete: true, base_bars: 1 });

describe('compare statistics', () => {
  const bars = [mk(100, 101, 99, 10), mk(110, 112, 100, 20), mk(99, 111, 95, 30)];

  it('normalises closes to 100 at the first bar', () => {
    expect(normalise(bars).map((p) => p.value)).toEqual([100, 110, 99.00000000000001].map((v) => expect.closeTo(v, 9)));
  });

  it('computes return, range, volatility and volume', () => {
    const s = seriesStats(bars);
    expect(s.return).toBeCloseTo(-0.01, 12);
    expect(s.range).toBeCloseTo((112 - 95) / 100, 12);
    const r = [Math.log(1.1), Math.log(99 / 110)];
    const mean = (r[0]! + r[1]!) / 2;
    expect(s.volatility).toBeCloseTo(Math.sqrt(((r[0]! - mean) ** 2 + (r[1]! - mean) ** 2) / 1), 12);
    expect(s.totalVolume).toBe(60);
    expect(s.averageVolume).toBe(20);
  });

  it('has no return for a series without prices', () => {
    expect(seriesStats([]).return).toBeNull();
  });
});
