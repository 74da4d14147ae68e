import { useMemo, useState, type FormEvent } from 'react';

import { useNotify } from '@/components/ui/notifications';
import { apiRequest, apiUrl, ApiError } from '@/lib/api-client';
import type { FetchRequest, FetchResponse, Series } from '@/lib/api-types';
import { formatCount, formatPercent, formatPrice } from '@/lib/format';

import { seriesStats } from '../lib/compare-stats';
import { normalizeSymbol, parseDateOrInstant } from '../lib/query-params';
import { CompareChart, type CompareLine } from './compare-chart';

type Mode = 'symbols' | 'periods';

interface ComparePanelProps {
  /** The query form's current fetch document (symbol, frequency, range and options). */
  base: FetchRequest | undefined;
}

const COLORS = ['#2563eb', '#db2777'];

interface Compared {
  mode: Mode;
  lines: CompareLine[];
  series: { label: string; s: Series }[];
}

/** Two periods of one symbol, or two symbols over one period, normalised to 100, with statistics. */
export function ComparePanel({ base }: ComparePanelProps) {
  const [mode, setMode] = useState<Mode>('symbols');
  const [second, setSecond] = useState('');
  const [from2, setFrom2] = useState('');
  const [to2, setTo2] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Compared | null>(null);
  const notify = useNotify();
  const first = base?.symbols[0];

  const run = async (e: FormEvent) => {
    e.preventDefault();
    e.stopPropagation();
    if (!base || !first) {
      setError('Fill in the query form first: its first symbol, frequency and range are compared');
      return;
    }
    const requests: { label: string; req: FetchRequest }[] = [];
    if (mode === 'symbols') {
      const other = normalizeSymbol(second);
      if (!other) {
        setError('Enter the symbol to compare with');
        return;
      }
      requests.push({ label: first, req: { ...base, symbols: [first] } }, { label: other, req: { ...base, symbols: [other] } });
    } else {
      if (parseDateOrInstant(from2) === null) {
        setError('Enter the second period’s start as YYYY-MM-DD');
        return;
      }
      if (to2 && parseDateOrInstant(to2) === null) {
        setError('Enter the second period’s end as YYYY-MM-DD');
        return;
      }
      const a = { ...base, symbols: [first] };
      const b: FetchRequest = { ...base, symbols: [first], start: from2, end: to2 || undefined };
      delete b.preset;
      delete b.as_of;
      if (!b.end) delete b.end;
      const rangeA = base.preset ? base.preset.replace(/_/g, ' ') : `${base.start} → ${base.end ?? 'now'}`;
      requests.push({ label: `${first} ${rangeA}`, req: a }, { label: `${first} ${from2} → ${to2 || 'now'}`, req: b });
    }
    setError(null);
    setBusy(true);
    try {
      const answers = await Promise.all(requests.map((r) => apiRequest<FetchResponse>(apiUrl('fetch'), { method: 'POST', body: r.req })));
      const series = answers.map((ans, i) => ({ label: requests[i]!.label, s: ans.data[0]! }));
      if (series.some((x) => !x.s || x.s.bars.length === 0)) {
        setError('One of the series has no bars in its range');
        setResult(null);
        return;
      }
      setResult({
        mode,
        series,
        lines: series.map((x, i) => ({ label: x.label, bars: x.s.bars, timezone: x.s.timezone, color: COLORS[i % COLORS.length]! })),
      });
    } catch (err) {
      const msg = err instanceof ApiError ? err.message : String(err);
      setError(msg);
      notify({ kind: 'error', title: 'Compare failed', message: msg });
    } finally {
      setBusy(false);
    }
  };

  const stats = useMemo(() => result?.series.map((x) => ({ label: x.label, st: seriesStats(x.s.bars) })) ?? [], [result]);

  return (
    <section className="compare" aria-labelledby="compare-heading">
      <h2 id="compare-heading">Compare</h2>
      <form className="compare__form" onSubmit={run} noValidate aria-label="Compare form">
        <fieldset className="segmented">
          <legend className="sr-only">Compare mode</legend>
          <label>
            <input type="radio" name="compare-mode" checked={mode === 'symbols'} onChange={() => setMode('symbols')} /> Symbol vs symbol
          </label>
          <label>
            <input type="radio" name="compare-mode" checked={mode === 'periods'} onChange={() => setMode('periods')} /> Period vs period
          </label>
        </fieldset>
        <span className="muted">{first ? `${first} · ${base?.frequency} · the query form’s range` : 'uses the query form'}</span>
        {mode === 'symbols' ? (
          <label>
            Compare with <input aria-label="Compare with" placeholder="e.g. IBM" value={second} onChange={(e) => setSecond(e.target.value)} />
          </label>
        ) : (
          <>
            <label>
              Second period from <input aria-label="Second period from" placeholder="YYYY-MM-DD" value={from2} onChange={(e) => setFrom2(e.target.value)} />
            </label>
            <label>
              Second period to <input aria-label="Second period to" placeholder="YYYY-MM-DD" value={to2} onChange={(e) => setTo2(e.target.value)} />
            </label>
          </>
        )}
        <button type="submit" disabled={busy}>
          Compare
        </button>
        {error ? (
          <small className="field__error" role="alert">
            {error}
          </small>
        ) : null}
      </form>
      {result ? (
        <>
          <CompareChart lines={result.lines} byIndex={result.mode === 'periods'} />
          <table className="metadata" aria-label="Comparison statistics">
            <thead>
              <tr>
                <th scope="col">Series</th>
                <th scope="col">Bars</th>
                <th scope="col">Return</th>
                <th scope="col">Range (high − low) / first close</th>
                <th scope="col">Low – high</th>
                <th scope="col">Volatility (per bar)</th>
                <th scope="col">Total volume</th>
                <th scope="col">Average volume</th>
              </tr>
            </thead>
            <tbody>
              {stats.map(({ label, st }) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  <td>{formatCount(st.bars)}</td>
                  <td>{formatPercent(st.return)}</td>
                  <td>{formatPercent(st.range)}</td>
                  <td>
                    {formatPrice(st.low)} – {formatPrice(st.high)}
                  </td>
                  <td>{formatPercent(st.volatility, 3)}</td>
                  <td>{formatCount(st.totalVolume)}</td>
                  <td>{formatCount(st.averageVolume)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
