import type { Series } from '@/lib/api-types';
import { formatCount, formatPercent } from '@/lib/format';

import { useGaps } from '../api/get-gaps';
import { parseContinuous } from '../lib/query-params';

/** Per-series facts: bars, base resolution, VWAP source, completeness and gaps, rolls. */
export function SeriesMetadata({ series, loadedOlder }: { series: Series[]; loadedOlder: Record<string, number> }) {
  return (
    <table className="metadata" aria-label="Series metadata">
      <thead>
        <tr>
          <th scope="col">Series</th>
          <th scope="col">Bars</th>
          <th scope="col">Frequency</th>
          <th scope="col">Base</th>
          <th scope="col">Session</th>
          <th scope="col">VWAP source</th>
          <th scope="col">Range (UTC)</th>
          <th scope="col">Completeness</th>
          <th scope="col">Incomplete</th>
          <th scope="col">Rolls</th>
        </tr>
      </thead>
      <tbody>
        {series.map((s) => (
          <SeriesRow key={s.symbol} s={s} older={loadedOlder[s.symbol] ?? 0} />
        ))}
      </tbody>
    </table>
  );
}

function SeriesRow({ s, older }: { s: Series; older: number }) {
  const gaps = useGaps(s);
  const incomplete = s.bars.filter((b) => !b.complete).length;
  const filled = s.bars.filter((b) => b.filled).length;
  let completeness: string;
  if (parseContinuous(s.symbol)) completeness = 'per contract (continuous)';
  else if (gaps.isPending) completeness = 'checking…';
  else if (gaps.isError) completeness = 'not available';
  else completeness = `${formatPercent(gaps.data!.completeness, 1)} · ${formatCount(gaps.data!.gaps.length)} gaps (${formatCount(gaps.data!.expected - gaps.data!.present)} of ${formatCount(gaps.data!.expected)} ${s.base_frequency} bars missing)`;
  return (
    <tr>
      <th scope="row">
        {s.symbol}
        {s.contract ? <span className="muted"> {s.contract}</span> : null}
        <span className="muted"> {s.asset_class}</span>
      </th>
      <td>
        {formatCount(s.count)}
        {older ? <span className="muted"> +{formatCount(older)} older</span> : null}
        {filled ? <span className="muted"> ({formatCount(filled)} filled)</span> : null}
      </td>
      <td>{s.frequency}</td>
      <td>{s.base_frequency}</td>
      <td>{s.session}</td>
      <td>{s.vwap_source === 'vendor' ? 'vendor VWAP' : 'typical price (H+L+C)/3'}</td>
      <td>
        {s.start.replace('T00:00:00Z', '')} → {s.end.replace('T00:00:00Z', '')}
      </td>
      <td>{completeness}</td>
      <td>{formatCount(incomplete)}</td>
      <td>
        {s.rolls ? formatCount(s.rolls.length) : '—'}
        {s.warnings?.length ? <span className="warning" title={s.warnings.join('\n')}> ⚠ {s.warnings.length}</span> : null}
      </td>
    </tr>
  );
}
