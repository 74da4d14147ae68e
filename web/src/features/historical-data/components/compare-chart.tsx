import { createChart, LineSeries, type IChartApi, type Time, type UTCTimestamp } from 'lightweight-charts';
import { memo, useEffect, useRef } from 'react';

import type { Bar } from '@/lib/api-types';
import { makeZoneShifter, parseInstant } from '@/lib/format';

import { normalise } from '../lib/compare-stats';

export interface CompareLine {
  label: string;
  bars: Bar[];
  timezone: string;
  color: string;
}

/** Two (or more) series normalised to 100 at their first bar; `byIndex` overlays periods bar by bar. */
export const CompareChart = memo(function CompareChart({ lines, byIndex }: { lines: CompareLine[]; byIndex: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const chart = createChart(el, {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1f2937', fontSize: 12 },
      grid: { vertLines: { color: '#f1f5f9' }, horzLines: { color: '#f1f5f9' } },
      timeScale: byIndex
        ? { tickMarkFormatter: (t: Time) => `#${Number(t)}` }
        : { timeVisible: true },
      localization: byIndex ? { timeFormatter: (t: Time) => `bar ${Number(t)}` } : {},
    });
    chartRef.current = chart;
    for (const line of lines) {
      const series = chart.addSeries(LineSeries, { color: line.color, lineWidth: 2, title: line.label });
      const points = normalise(line.bars);
      const daily = line.bars.every((b) => b.date);
      const shift = makeZoneShifter(line.timezone);
      const dates = new Map(line.bars.map((b) => [b.ts, b.date]));
      series.setData(
        points.map((p, i) => ({
          time: byIndex ? (i as UTCTimestamp) : daily ? (dates.get(p.ts) as string) : (shift(parseInstant(p.ts)) as UTCTimestamp),
          value: p.value,
        })),
      );
    }
    chart.timeScale().fitContent();
    return () => {
      chartRef.current = null;
      chart.remove();
    };
  }, [lines, byIndex]);

  return (
    <div>
      <div className="compare__legend">
        {lines.map((l) => (
          <span key={l.label} className="compare__swatch">
            <span style={{ background: l.color }} aria-hidden="true" /> {l.label}
          </span>
        ))}
        <span className="muted"> · close, normalised to 100 at the first bar{byIndex ? ', aligned by bar number' : ''}</span>
      </div>
      <div ref={host} className="chart__canvas chart__canvas--compare" role="img" aria-label={`Comparison chart: ${lines.map((l) => l.label).join(' vs ')}`} data-testid="compare-chart" data-series={lines.length} />
    </div>
  );
});
