import type { Bar } from '@/lib/api-types';

import { NO_FILTER, rowOrder } from './table-model';

function bar(ts: string, close: number | null, volume: number, complete = true): Bar {
  return { ts, open: close, high: close, low: close, close, volume, vwap: close, complete, base_bars: 1 };
}

const bars = [bar('2013-01-02T14:30:00Z', 10, 300), bar('2013-01-03T14:30:00Z', null, 0), bar('2013-01-04T14:30:00Z', 30, 100), bar('2013-01-07T14:30:00Z', 20, 200, false)];
const times = Float64Array.from(bars.map((b) => Date.parse(b.ts)));

describe('rowOrder', () => {
  it('keeps time order by default and reverses it on descending time', () => {
    expect(Array.from(rowOrder(bars, times, NO_FILTER, { key: 'ts', dir: 'asc' }))).toEqual([0, 1, 2, 3]);
    expect(Array.from(rowOrder(bars, times, NO_FILTER, { key: 'ts', dir: 'desc' }))).toEqual([3, 2, 1, 0]);
  });

  it('sorts by value with nulls last in both directions', () => {
    expect(Array.from(rowOrder(bars, times, NO_FILTER, { key: 'close', dir: 'asc' }))).toEqual([0, 3, 2, 1]);
    expect(Array.from(rowOrder(bars, times, NO_FILTER, { key: 'close', dir: 'desc' }))).toEqual([2, 3, 0, 1]);
  });

  it('filters by date range, thresholds and completeness', () => {
    const from = Date.parse('2013-01-03T00:00:00Z');
    const to = Date.parse('2013-01-05T00:00:00Z');
    expect(Array.from(rowOrder(bars, times, { ...NO_FILTER, from, to }, { key: 'ts', dir: 'asc' }))).toEqual([1, 2]);
    expect(Array.from(rowOrder(bars, times, { ...NO_FILTER, minClose: 15 }, { key: 'ts', dir: 'asc' }))).toEqual([2, 3]);
    expect(Array.from(rowOrder(bars, times, { ...NO_FILTER, minVolume: 150, maxClose: 25 }, { key: 'ts', dir: 'asc' }))).toEqual([0, 3]);
    expect(Array.from(rowOrder(bars, times, { ...NO_FILTER, incompleteOnly: true }, { key: 'ts', dir: 'asc' }))).toEqual([3]);
  });
});
