import { useCallback, useEffect, useMemo, useState } from 'react';

import type { FetchRequest, FetchResponse } from '@/lib/api-types';

import { useGaps } from '../api/get-gaps';
import { useOlderBars } from '../hooks/use-older-bars';
import { BarsChart } from './bars-chart';
import { BarsTable } from './bars-table';
import { RollTable } from './roll-table';
import { SeriesMetadata } from './series-metadata';

interface ResultsPanelProps {
  result: FetchResponse;
  request: FetchRequest;
  /** A run is in flight: the old result stays visible (dimmed) until the new one arrives. */
  stale: boolean;
}

const DAILY = /^[1-9]\d*(d|w|M)$/;

/** Chart, roll table, metadata and table of a result; one series at a time, picked by its symbol. */
export function ResultsPanel({ result, request, stale }: ResultsPanelProps) {
  const [selected, setSelected] = useState(0);
  const [roll, setRoll] = useState<number | null>(null);
  useEffect(() => {
    setSelected(0);
    setRoll(null);
  }, [result]);
  const series = result.data[Math.min(selected, result.data.length - 1)];
  const older = useOlderBars(series, request);
  const gaps = useGaps(series);
  const bars = useMemo(() => (series ? (older.older.length ? [...older.older, ...series.bars] : series.bars) : []), [series, older.older]);
  const rolls = useMemo(() => series?.rolls ?? [], [series]);
  const { loadOlder } = older;
  const onReachStart = useCallback(() => loadOlder(), [loadOlder]);
  const loadedOlder = useMemo(() => (series ? { [series.symbol]: older.older.length } : {}), [series, older.older]);

  if (!series) return <p className="muted">The query returned no series.</p>;
  const daily = DAILY.test(series.frequency) && bars.every((b) => b.date);

  return (
    <div className={`results${stale ? ' results--stale' : ''}`}>
      {result.data.length > 1 ? (
        <div className="series-picker" role="radiogroup" aria-label="Series shown">
          {result.data.map((s, i) => (
            <label key={s.symbol} className={i === selected ? 'active' : undefined}>
              <input type="radio" name="series" checked={i === selected} onChange={() => setSelected(i)} /> {s.symbol}
            </label>
          ))}
        </div>
      ) : null}
      <SeriesMetadata series={result.data} loadedOlder={loadedOlder} />
      <BarsChart
        symbol={series.symbol}
        frequency={series.frequency}
        timezone={series.timezone}
        bars={bars}
        rolls={rolls}
        gaps={gaps.data}
        onReachStart={onReachStart}
        onRollSelect={setRoll}
        loadingOlder={older.loading}
      />
      {rolls.length ? <RollTable symbol={series.symbol} rolls={rolls} selected={roll} /> : null}
      {series.warnings?.length ? (
        <ul className="warnings" aria-label="Warnings">
          {series.warnings.map((w) => (
            <li key={w}>⚠ {w}</li>
          ))}
        </ul>
      ) : null}
      <BarsTable bars={bars} timezone={series.timezone} daily={daily} />
    </div>
  );
}
