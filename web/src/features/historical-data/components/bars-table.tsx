import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useMemo, useRef, useState } from 'react';

import { useDebouncedValue } from '@/hooks/use-debounced-value';
import type { Bar } from '@/lib/api-types';
import { formatCount, formatInstant, formatPrice } from '@/lib/format';

import { parseDateOrInstant } from '../lib/query-params';
import { isFiltering, NO_FILTER, rowOrder, type RowFilter, type Sort, type SortKey } from '../lib/table-model';

export const FILTER_DEBOUNCE_MS = 250;
const ROW_HEIGHT = 28;

interface Column {
  key: SortKey;
  label: string;
  numeric: boolean;
  render: (b: Bar, timeText: string) => string;
}

interface BarsTableProps {
  bars: Bar[];
  timezone: string;
  /** Show dates only (1d and longer bars). */
  daily: boolean;
}

interface FilterText {
  from: string;
  to: string;
  minClose: string;
  maxClose: string;
  minVolume: string;
  incompleteOnly: boolean;
}

const EMPTY_TEXT: FilterText = { from: '', to: '', minClose: '', maxClose: '', minVolume: '', incompleteOnly: false };

function num(s: string): number | null {
  if (!s.trim()) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

export function parseFilter(t: FilterText): RowFilter {
  const from = t.from.trim() ? parseDateOrInstant(t.from) : null;
  let to = t.to.trim() ? parseDateOrInstant(t.to) : null;
  // A date as "to" includes that whole day.
  if (to !== null && /^\d{4}-\d{2}-\d{2}$/.test(t.to.trim())) to += 86_400_000;
  return { ...NO_FILTER, from, to, minClose: num(t.minClose), maxClose: num(t.maxClose), minVolume: num(t.minVolume), incompleteOnly: t.incompleteOnly };
}

/**
 * The bars as a virtual table: only the visible rows exist in the DOM, so 500 k rows scroll
 * like 50. Sorting and the (debounced) filters reorder an index array, never the bars.
 */
export const BarsTable = memo(function BarsTable({ bars, timezone, daily }: BarsTableProps) {
  const [sort, setSort] = useState<Sort>({ key: 'ts', dir: 'asc' });
  const [text, setText] = useState<FilterText>(EMPTY_TEXT);
  const filterText = useDebouncedValue(text, FILTER_DEBOUNCE_MS);
  const filter = useMemo(() => parseFilter(filterText), [filterText]);
  const times = useMemo(() => Float64Array.from(bars, (b) => Date.parse(b.ts)), [bars]);
  const order = useMemo(() => rowOrder(bars, times, filter, sort), [bars, times, filter, sort]);
  const scroller = useRef<HTMLDivElement>(null);

  const hasOi = useMemo(() => bars.some((b) => b.open_interest !== undefined && b.open_interest !== null), [bars]);
  const hasContract = useMemo(() => bars.some((b) => b.contract), [bars]);
  const hasSessionVwap = useMemo(() => bars.some((b) => b.session_vwap !== undefined && b.session_vwap !== null), [bars]);

  const columns: Column[] = useMemo(() => {
    const cols: Column[] = [
      { key: 'ts', label: daily ? 'Date' : `Time (${timezone})`, numeric: false, render: (_b, t) => t },
      { key: 'open', label: 'Open', numeric: true, render: (b) => formatPrice(b.open) },
      { key: 'high', label: 'High', numeric: true, render: (b) => formatPrice(b.high) },
      { key: 'low', label: 'Low', numeric: true, render: (b) => formatPrice(b.low) },
      { key: 'close', label: 'Close', numeric: true, render: (b) => formatPrice(b.close) },
      { key: 'volume', label: 'Volume', numeric: true, render: (b) => formatCount(b.volume) },
      { key: 'vwap', label: hasSessionVwap ? 'VWAP (bar / session)' : 'VWAP', numeric: true, render: (b) => (hasSessionVwap ? `${formatPrice(b.vwap)} / ${formatPrice(b.session_vwap)}` : formatPrice(b.vwap)) },
    ];
    if (hasOi) cols.push({ key: 'open_interest', label: 'Open interest', numeric: true, render: (b) => formatCount(b.open_interest) });
    cols.push({ key: 'base_bars', label: 'Base bars', numeric: true, render: (b) => String(b.base_bars) });
    cols.push({ key: 'complete', label: 'Complete', numeric: false, render: (b) => (b.complete ? 'yes' : 'no') + (b.filled ? ` (filled: ${b.filled})` : '') });
    if (hasContract) cols.push({ key: 'contract', label: 'Contract', numeric: false, render: (b) => b.contract ?? '' });
    return cols;
  }, [daily, timezone, hasOi, hasContract, hasSessionVwap]);

  const virtualizer = useVirtualizer({ count: order.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const template = `minmax(9.5rem, 1.4fr) repeat(${columns.length - 1}, minmax(5.5rem, 1fr))`;

  const toggleSort = (key: SortKey) => setSort((s) => (s.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'ts' ? 'asc' : 'desc' }));
  const timeText = (b: Bar) => (daily && b.date ? b.date : formatInstant(Date.parse(b.ts) / 1000, timezone));
  const filtering = isFiltering(filter);
  const countText = filtering ? `${formatCount(order.length)} of ${formatCount(bars.length)} bars` : `${formatCount(bars.length)} bars`;
  const edit = (k: keyof FilterText, v: string | boolean) => setText((t) => ({ ...t, [k]: v }));

  return (
    <section className="bars-table" aria-label="Bars">
      <div className="table-toolbar">
        <p className="count" id="bars-count" aria-live="polite">
          {countText}
        </p>
        <div className="filters" role="group" aria-label="Row filters">
          <label>
            From <input aria-label="Filter from" placeholder="YYYY-MM-DD" value={text.from} onChange={(e) => edit('from', e.target.value)} />
          </label>
          <label>
            To <input aria-label="Filter to" placeholder="YYYY-MM-DD" value={text.to} onChange={(e) => edit('to', e.target.value)} />
          </label>
          <label>
            Close ≥ <input aria-label="Min close" inputMode="decimal" className="input--short" value={text.minClose} onChange={(e) => edit('minClose', e.target.value)} />
          </label>
          <label>
            Close ≤ <input aria-label="Max close" inputMode="decimal" className="input--short" value={text.maxClose} onChange={(e) => edit('maxClose', e.target.value)} />
          </label>
          <label>
            Volume ≥ <input aria-label="Min volume" inputMode="decimal" className="input--short" value={text.minVolume} onChange={(e) => edit('minVolume', e.target.value)} />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={text.incompleteOnly} onChange={(e) => edit('incompleteOnly', e.target.checked)} /> Incomplete only
          </label>
          {filtering || text !== EMPTY_TEXT ? (
            <button type="button" onClick={() => setText(EMPTY_TEXT)}>
              Clear filters
            </button>
          ) : null}
        </div>
      </div>
      <div role="table" aria-label="Bars table" aria-describedby="bars-count" aria-rowcount={order.length + 1} className="grid">
        <div role="rowgroup" className="grid__head">
          <div role="row" aria-rowindex={1} className="grid__row" style={{ gridTemplateColumns: template }}>
            {columns.map((c) => (
              <div
                key={c.key}
                role="columnheader"
                aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                className={c.numeric ? 'grid__cell grid__cell--num' : 'grid__cell'}
              >
                <button type="button" className="sort" onClick={() => toggleSort(c.key)}>
                  {c.label}
                  <span aria-hidden="true">{sort.key === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </div>
            ))}
          </div>
        </div>
        <div ref={scroller} className="grid__body" tabIndex={0} aria-label="Bars, scrollable">
          <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const b = bars[order[v.index]!]!;
              const t = timeText(b);
              return (
                <div
                  key={v.key}
                  role="row"
                  aria-rowindex={v.index + 2}
                  className={`grid__row${b.complete ? '' : ' grid__row--incomplete'}${b.filled ? ' grid__row--filled' : ''}`}
                  style={{ gridTemplateColumns: template, position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}
                >
                  {columns.map((c) => (
                    <div key={c.key} role="cell" className={c.numeric ? 'grid__cell grid__cell--num' : 'grid__cell'}>
                      {c.render(b, t)}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
        {order.length === 0 ? <p className="muted empty">No bars match the filters.</p> : null}
      </div>
    </section>
  );
});
