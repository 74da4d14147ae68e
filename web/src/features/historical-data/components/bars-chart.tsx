import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { memo, useEffect, useMemo, useRef } from 'react';

import type { Bar, GapReport, Roll } from '@/lib/api-types';
import { formatCount, formatPrice, makeZoneShifter, parseInstant } from '@/lib/format';

interface BarsChartProps {
  symbol: string;
  frequency: string;
  timezone: string;
  /** Oldest first; older lazy-loaded bars come first. */
  bars: Bar[];
  rolls: Roll[];
  gaps: GapReport | undefined;
  /** The user scrolled past the first bar. */
  onReachStart?: () => void;
  onRollSelect?: (index: number) => void;
  loadingOlder?: boolean;
}

const MAX_GAP_MARKERS = 300;
/** Bars of empty space left of the first bar that trigger loading older bars. */
const REACH_START_BARS = 3;

type Marker = SeriesMarker<Time>;

export interface ChartData {
  times: Time[];
  markers: Marker[];
  counts: { rolls: number; gaps: number; incomplete: number };
}

/** Chart times (trading dates for daily bars, else exchange wall clock) and markers. */
export function chartData(bars: Bar[], rolls: Roll[], gaps: GapReport | undefined, timezone: string): ChartData {
  const daily = bars.length > 0 && bars.every((b) => b.date);
  const shift = makeZoneShifter(timezone);
  const epochs = bars.map((b) => parseInstant(b.ts));
  const times: Time[] = daily ? bars.map((b) => b.date as string) : epochs.map((t) => shift(t) as UTCTimestamp);
  // Index of the first bar at or after an instant (binary search; bars are in time order).
  const at = (t: number) => {
    let lo = 0;
    let hi = epochs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (epochs[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const markers: { i: number; m: Marker }[] = [];
  let incomplete = 0;
  bars.forEach((b, i) => {
    if (!b.complete) {
      incomplete++;
      markers.push({ i, m: { time: times[i]!, position: 'aboveBar', color: '#d97706', shape: 'circle', text: 'incomplete', id: `incomplete-${i}` } });
    }
  });
  let rollCount = 0;
  rolls.forEach((r, n) => {
    const i = at(parseInstant(r.ts));
    if (i >= bars.length) return;
    rollCount++;
    markers.push({ i, m: { time: times[i]!, position: 'aboveBar', color: '#2563eb', shape: 'arrowDown', text: `roll ${r.from}→${r.to}`, id: `roll-${n}` } });
  });
  let gapCount = 0;
  for (const g of gaps?.gaps ?? []) {
    if (gapCount >= MAX_GAP_MARKERS) break;
    const i = at(parseInstant(g.end));
    if (i >= bars.length) continue;
    gapCount++;
    markers.push({ i, m: { time: times[i]!, position: 'belowBar', color: '#dc2626', shape: 'square', text: `gap ${g.missing}`, id: `gap-${gapCount}` } });
  }
  markers.sort((a, b) => a.i - b.i);
  return { times, markers: markers.map((x) => x.m), counts: { rolls: rollCount, gaps: gapCount, incomplete } };
}

/**
 * Candlesticks + volume + VWAP of one series with markers for gaps, incomplete bars and rolls.
 * Memoised: progress ticks and form edits do not touch it; new bars update the series in place.
 */
export const BarsChart = memo(function BarsChart({ symbol, frequency, timezone, bars, rolls, gaps, onReachStart, onRollSelect, loadingOlder }: BarsChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const legend = useRef<HTMLDivElement>(null);
  const api = useRef<{ chart: IChartApi; candles: ISeriesApi<'Candlestick'>; volume: ISeriesApi<'Histogram'>; vwap: ISeriesApi<'Line'>; markers: ISeriesMarkersPluginApi<Time> } | null>(null);
  const callbacks = useRef({ onReachStart, onRollSelect });
  callbacks.current = { onReachStart, onRollSelect };
  const firstTs = useRef<string | null>(null);
  const count = useRef(0);
  const barsRef = useRef(bars);
  barsRef.current = bars;

  const data = useMemo(() => chartData(bars, rolls, gaps, timezone), [bars, rolls, gaps, timezone]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const chart = createChart(el, {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1f2937', fontSize: 12, attributionLogo: true },
      grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#cbd5e1' },
      rightPriceScale: { borderColor: '#cbd5e1' },
      crosshair: { mode: 0 },
    });
    const candles = chart.addSeries(CandlestickSeries, { upColor: '#16a34a', downColor: '#dc2626', wickUpColor: '#16a34a', wickDownColor: '#dc2626', borderVisible: false });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: 'volume', color: '#94a3b8' });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    const vwap = chart.addSeries(LineSeries, { color: '#f59e0b', lineWidth: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, title: 'VWAP' });
    const markers = createSeriesMarkers(candles, []);
    api.current = { chart, candles, volume, vwap, markers };

    chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (range && range.from < -REACH_START_BARS && count.current > 0) callbacks.current.onReachStart?.();
    });
    chart.subscribeClick((param) => {
      const id = typeof param.hoveredObjectId === 'string' ? param.hoveredObjectId : '';
      if (id.startsWith('roll-')) callbacks.current.onRollSelect?.(Number(id.slice(5)));
    });
    chart.subscribeCrosshairMove((param) => {
      const box = legend.current;
      if (!box) return;
      const i = param.logical === undefined ? -1 : Math.round(param.logical);
      const b = i >= 0 ? barsRef.current[i] : barsRef.current[barsRef.current.length - 1];
      box.textContent = b
        ? `O ${formatPrice(b.open)}  H ${formatPrice(b.high)}  L ${formatPrice(b.low)}  C ${formatPrice(b.close)}  V ${formatCount(b.volume)}  VWAP ${formatPrice(b.session_vwap ?? b.vwap)}${b.complete ? '' : '  (incomplete)'}${b.contract ? `  ${b.contract}` : ''}`
        : '';
    });
    return () => {
      api.current = null;
      chart.remove();
    };
  }, []);

  useEffect(() => {
    const a = api.current;
    if (!a) return;
    const { times, markers } = data;
    const prevFirst = firstTs.current;
    const prevCount = count.current;
    const prepended = prevFirst !== null && bars.length > prevCount ? bars.findIndex((b) => b.ts === prevFirst) : -1;
    const range = a.chart.timeScale().getVisibleLogicalRange();
    a.candles.setData(
      bars.map((b, i) =>
        b.open === null || b.open === undefined
          ? { time: times[i]! }
          : { time: times[i]!, open: b.open, high: b.high as number, low: b.low as number, close: b.close as number },
      ),
    );
    a.volume.setData(bars.map((b, i) => ({ time: times[i]!, value: b.volume, color: (b.close ?? 0) >= (b.open ?? 0) ? 'rgba(22,163,74,0.35)' : 'rgba(220,38,38,0.35)' })));
    a.vwap.setData(bars.map((b, i) => {
      const v = b.session_vwap ?? b.vwap;
      return v === null || v === undefined ? { time: times[i]! } : { time: times[i]!, value: v };
    }));
    a.markers.setMarkers(markers);
    if (prepended > 0 && range) {
      // Older bars were put in front: keep the view where the user was.
      a.chart.timeScale().setVisibleLogicalRange({ from: range.from + prepended, to: range.to + prepended });
    } else {
      a.chart.timeScale().fitContent();
    }
    firstTs.current = bars[0]?.ts ?? null;
    count.current = bars.length;
    const last = bars[bars.length - 1];
    if (legend.current) legend.current.textContent = last ? `C ${formatPrice(last.close)}  V ${formatCount(last.volume)}` : '';
  }, [bars, data]);

  return (
    <div className="chart">
      <div className="chart__title">
        <strong>{symbol}</strong> <span className="muted">{frequency} · {timezone} · candles, volume, VWAP</span>
        {loadingOlder ? <span className="muted"> · loading older bars…</span> : null}
        <div ref={legend} className="chart__legend" aria-hidden="true" />
      </div>
      <div
        ref={host}
        className="chart__canvas"
        role="img"
        aria-label={`Chart of ${symbol}: ${bars.length} bars, ${data.counts.rolls} rolls, ${data.counts.gaps} gaps, ${data.counts.incomplete} incomplete bars`}
        data-testid="chart"
        data-bars={bars.length}
        data-roll-markers={data.counts.rolls}
        data-gap-markers={data.counts.gaps}
        data-incomplete-markers={data.counts.incomplete}
      />
      <div className="chart__key muted">
        <span className="key key--roll">▼ roll</span> <span className="key key--gap">■ gap</span> <span className="key key--incomplete">● incomplete bar</span> · scroll left for older bars
      </div>
    </div>
  );
});
